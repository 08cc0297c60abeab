/*
 * The central's GATT operations and the session's input queue.
 *
 * Session inputs.  Replies, notifications and disconnects are queued in
 * arrival order and fed to the session one at a time (loop.c decides when):
 * the session's contract is that the caller drains its actions after
 * every input.
 *
 * Notifications come through StartNotify (Value in PropertiesChanged,
 * ordered with the replies on the bus) or AcquireNotify (a socket of
 * their own, watched by the epoll fd); see enum miband_bluez_notify_mode.
 *
 * StartNotify and reads.  BlueZ updates the Value property (and emits
 * PropertiesChanged) when a ReadValue completes, just before the reply.
 * While a read runs on a channel notified through signals, that channel's
 * Value signals are held; when the reply comes the last held value equal
 * to it is dropped as the read's echo and the rest are released in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bluez/central.h"

static const char *hexdump(const uint8_t *p, size_t n, bool secret, char *buf,
			   size_t cap)
{
	size_t i, o = 0;

	if (secret) {
		snprintf(buf, cap, "<%zu bytes, redacted>", n);
		return buf;
	}
	buf[0] = '\0';
	for (i = 0; i < n && o + 4 < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, i ? " %02x" : "%02x",
				      p[i]);
	if (i < n && o + 4 < cap)
		snprintf(buf + o, cap - o, " ..");
	return buf;
}

static void trace(struct miband_bluez *bz, int dir, int kind,
		  enum miband_channel ch, const uint8_t *data, size_t len,
		  bool secret)
{
	if (bz->trace)
		bz->trace(dir, kind, ch, data, len, secret,
			  miband_bluez_now_ms(), bz->trace_user_data);
}

struct input *miband__input_push(struct miband_bluez *bz, enum input_type type,
				 enum miband_channel ch, int status,
				 const void *data, size_t len)
{
	struct input *in = malloc(sizeof(*in) + len);

	if (!in) {
		miband__bz_log(bz, "out of memory: input lost");
		return NULL;
	}
	*in = (struct input){
		.type = type, .ch = ch, .status = status, .len = len};
	if (len)
		memcpy(in->data, data, len);
	if (bz->in_tail)
		bz->in_tail->next = in;
	else
		bz->in_head = in;
	bz->in_tail = in;
	return in;
}

void miband__inputs_clear(struct miband_bluez *bz)
{
	struct input *in = bz->in_head, *next;

	for (; in; in = next) {
		next = in->next;
		free(in);
	}
	bz->in_head = bz->in_tail = NULL;
}

static void push_done(struct miband_bluez *bz, enum miband_channel ch,
		      int status)
{
	miband__input_push(bz, IN_WRITE_DONE, ch, status, NULL, 0);
}

void miband__push_notify(struct miband_bluez *bz, enum miband_channel ch,
			 const uint8_t *data, size_t len)
{
	struct chan *c = &bz->chans[ch];
	struct input *in;
	char hex[128];

	trace(bz, 1, MIBAND_ACTION_EVENT, ch, data, len, false);
	miband__bz_log(bz, "notify %s: %s", miband__chan_name(ch),
		       hexdump(data, len, false, hex, sizeof(hex)));
	in = miband__input_push(bz, IN_NOTIFY, ch, 0, data, len);
	if (in && c->reading && c->notify == NOTIFY_START)
		in->held = true;
}

/* The read on ch finished with value (or failed): drop the Value signal
 * BlueZ emitted for the read itself and release the others. */
void miband__release_held(struct miband_bluez *bz, enum miband_channel ch,
			  const uint8_t *value, size_t len, bool ok)
{
	struct input *in, *prev = NULL, *echo = NULL, *echo_prev = NULL;

	for (in = bz->in_head; in; prev = in, in = in->next) {
		if (in->type != IN_NOTIFY || in->ch != ch || !in->held)
			continue;
		in->held = false;
		if (ok && in->len == len &&
		    (len == 0 || memcmp(in->data, value, len) == 0)) {
			echo = in;
			echo_prev = prev;
		}
	}
	if (!echo)
		return;
	if (echo_prev)
		echo_prev->next = echo->next;
	else
		bz->in_head = echo->next;
	if (bz->in_tail == echo)
		bz->in_tail = echo_prev;
	free(echo);
}

bool miband__input_ready(const struct miband_bluez *bz)
{
	return bz->in_head && !bz->in_head->held;
}

/* Feeds the oldest input to the session.  Returns true if one was fed. */
bool miband__feed_one(struct miband_bluez *bz, uint64_t now)
{
	struct input *in = bz->in_head;
	struct miband_session *s = bz->session;

	if (!in || in->held)
		return false;
	bz->in_head = in->next;
	if (!bz->in_head)
		bz->in_tail = NULL;
	if (s) {
		switch (in->type) {
		case IN_WRITE_DONE:
			miband_session_on_write_done(s, in->ch, in->status,
						     now);
			break;
		case IN_READ:
			miband_session_on_read(s, in->ch, in->status, in->data,
					       in->len, now);
			break;
		case IN_NOTIFY:
			miband_session_on_notify(s, in->ch, in->data, in->len,
						 now);
			break;
		case IN_DISCONNECT:
			miband_session_on_disconnect(s, now);
			break;
		}
	}
	free(in);
	return s != NULL;
}

static void chan_close_fd(struct miband_bluez *bz, struct chan *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(bz->efd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

void miband__chan_reset(struct miband_bluez *bz, struct chan *c, bool path)
{
	c->op = sd_bus_slot_unref(c->op);
	chan_close_fd(bz, c);
	c->notify = NOTIFY_NONE;
	c->reading = false;
	if (path) {
		free(c->path);
		c->path = NULL;
		c->props = 0;
	}
}

/* ------------------------------------------------------------------ */
/* GATT operations */

static void chan_op_done(struct chan *c)
{
	c->op = sd_bus_slot_unref(c->op);
}

static int start_notify(struct miband_bluez *bz, struct chan *c);

static bool wants_acquire(struct miband_bluez *bz, enum miband_channel ch)
{
	if (ch == MIBAND_CH_AUTH ||
	    bz->cfg.notify_mode == MIBAND_BLUEZ_NOTIFY_START)
		return false;
	if (bz->cfg.notify_mode == MIBAND_BLUEZ_NOTIFY_ACQUIRE)
		return true;
	switch (ch) {
	case MIBAND_CH_HR_MEAS:
	case MIBAND_CH_STEPS:
	case MIBAND_CH_EVENTS:
	case MIBAND_CH_BATTERY:
	case MIBAND_CH_TIME:
	case MIBAND_CH_SENSOR_DATA:
		return true;
	default:
		return false;
	}
}

static int on_subscribed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct chan *c = ud;
	struct miband_bluez *bz = c->bz;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	bool acquire = c->op_acquire;

	(void)err;
	chan_op_done(c);
	if (e && acquire) {
		/* InProgress: another client notifies already;
		 * NotPermitted / NotSupported: no acquired fd here */
		miband__bz_log(bz,
			       "AcquireNotify %s: %s: %s; using StartNotify",
			       miband__chan_name(c->ch), e->name,
			       e->message ? e->message : "");
		if (start_notify(bz, c) < 0)
			push_done(bz, c->ch, MIBAND_E_SUBSCRIBE_FAILED);
		return 0;
	}
	if (e) {
		miband__bz_error(bz, "GattCharacteristic1.StartNotify", e);
		push_done(bz, c->ch,
			  miband__bus_error(e, MIBAND_E_SUBSCRIBE_FAILED));
		return 0;
	}
	if (acquire) {
		int fd = -1, nfd;
		uint16_t mtu = 0;
		struct epoll_event ev;

		if (sd_bus_message_read(m, "hq", &fd, &mtu) < 0 || fd < 0) {
			miband__bz_errorf(bz, "AcquireNotify %s: bad reply",
					  miband__chan_name(c->ch));
			push_done(bz, c->ch, MIBAND_E_SUBSCRIBE_FAILED);
			return 0;
		}
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (nfd < 0 || fcntl(nfd, F_SETFL, O_NONBLOCK) < 0) {
			if (nfd >= 0)
				close(nfd);
			push_done(bz, c->ch, MIBAND_E_IO);
			return 0;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u64 = (uint64_t)c->ch;
		if (epoll_ctl(bz->efd, EPOLL_CTL_ADD, nfd, &ev) < 0) {
			close(nfd);
			push_done(bz, c->ch, MIBAND_E_IO);
			return 0;
		}
		c->fd = nfd;
		c->notify = NOTIFY_ACQUIRED;
		if (mtu >= 23)
			bz->mtu = mtu;
		miband__bz_log(bz, "subscribed %s (AcquireNotify, mtu %u)",
			       miband__chan_name(c->ch), (unsigned)mtu);
	} else {
		c->notify = NOTIFY_START;
		miband__bz_log(bz, "subscribed %s (StartNotify)",
			       miband__chan_name(c->ch));
	}
	push_done(bz, c->ch, 0);
	return 0;
}

static int start_notify(struct miband_bluez *bz, struct chan *c)
{
	sd_bus_message *m = NULL;
	int r;

	c->op_acquire = false;
	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, c->path, IF_CHR,
					   "StartNotify");
	if (r < 0)
		return r;
	return miband__bz_call(bz, &c->op, m, on_subscribed, c);
}

static int acquire_notify(struct miband_bluez *bz, struct chan *c)
{
	sd_bus_message *m = NULL;
	int r;

	c->op_acquire = true;
	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, c->path, IF_CHR,
					   "AcquireNotify");
	if (r >= 0)
		r = sd_bus_message_append(m, "a{sv}", 0);
	if (r < 0) {
		sd_bus_message_unref(m);
		return r;
	}
	return miband__bz_call(bz, &c->op, m, on_subscribed, c);
}

static int on_unsubscribed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct chan *c = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	(void)err;
	chan_op_done(c);
	/* "No notify session started" means we are not subscribed: fine */
	if (e && !miband__error_is(e, "org.bluez.Error.Failed")) {
		miband__bz_error(c->bz, "GattCharacteristic1.StopNotify", e);
		push_done(c->bz, c->ch,
			  miband__bus_error(e, MIBAND_E_SUBSCRIBE_FAILED));
		return 0;
	}
	push_done(c->bz, c->ch, 0);
	return 0;
}

static int on_written(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct chan *c = ud;
	struct miband_bluez *bz = c->bz;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	(void)err;
	chan_op_done(c);
	if (e) {
		miband__bz_error(bz, "GattCharacteristic1.WriteValue", e);
		push_done(bz, c->ch,
			  miband__bus_error(e, MIBAND_E_WRITE_FAILED));
		return 0;
	}
	if (c->op_request)
		trace(bz, 1, MIBAND_ACTION_WRITE, c->ch, NULL, 0, false);
	push_done(bz, c->ch, 0);
	return 0;
}

static int on_read(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct chan *c = ud;
	struct miband_bluez *bz = c->bz;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	const void *p = NULL;
	size_t n = 0;
	char hex[128];

	(void)err;
	chan_op_done(c);
	c->reading = false;
	if (e) {
		miband__bz_error(bz, "GattCharacteristic1.ReadValue", e);
		miband__release_held(bz, c->ch, NULL, 0, false);
		miband__input_push(bz, IN_READ, c->ch,
				   miband__bus_error(e, MIBAND_E_READ_FAILED),
				   NULL, 0);
		return 0;
	}
	if (sd_bus_message_read_array(m, 'y', &p, &n) < 0) {
		miband__release_held(bz, c->ch, NULL, 0, false);
		miband__input_push(bz, IN_READ, c->ch, MIBAND_E_READ_FAILED,
				   NULL, 0);
		return 0;
	}
	miband__release_held(bz, c->ch, p, n, true);
	trace(bz, 1, MIBAND_ACTION_READ, c->ch, p, n, false);
	miband__bz_log(bz, "read %s: %s", miband__chan_name(c->ch),
		       hexdump(p, n, false, hex, sizeof(hex)));
	miband__input_push(bz, IN_READ, c->ch, 0, p, n);
	return 0;
}

static int do_write(struct miband_bluez *bz, struct chan *c,
		    const struct miband_action *a)
{
	sd_bus_message *m = NULL;
	bool request = a->with_response;
	int r;

	/* the characteristic's properties win if it offers only one */
	if (request && !(c->props & MIBAND_PROP_WRITE) &&
	    (c->props & MIBAND_PROP_WRITE_NR))
		request = false;
	else if (!request && !(c->props & MIBAND_PROP_WRITE_NR) &&
		 (c->props & MIBAND_PROP_WRITE))
		request = true;
	c->op_request = request;
	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, c->path, IF_CHR,
					   "WriteValue");
	if (r >= 0)
		r = sd_bus_message_append_array(m, 'y', a->data, a->len);
	if (r >= 0)
		r = sd_bus_message_append(m, "a{sv}", 1, "type", "s",
					  request ? "request" : "command");
	if (r < 0) {
		sd_bus_message_unref(m);
		return r;
	}
	return miband__bz_call(bz, &c->op, m, on_written, c);
}

static int do_read(struct miband_bluez *bz, struct chan *c)
{
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, c->path, IF_CHR,
					   "ReadValue");
	if (r >= 0)
		r = sd_bus_message_append(m, "a{sv}", 0);
	if (r < 0) {
		sd_bus_message_unref(m);
		return r;
	}
	r = miband__bz_call(bz, &c->op, m, on_read, c);
	if (r >= 0)
		c->reading = true;
	return r;
}

static int do_unsubscribe(struct miband_bluez *bz, struct chan *c)
{
	sd_bus_message *m = NULL;
	int r;

	if (c->notify == NOTIFY_ACQUIRED) {
		/* closing the socket is BlueZ's "stop notify" for it */
		chan_close_fd(bz, c);
		c->notify = NOTIFY_NONE;
		push_done(bz, c->ch, 0);
		return 0;
	}
	if (c->notify == NOTIFY_NONE) {
		push_done(bz, c->ch, 0);
		return 0;
	}
	c->notify = NOTIFY_NONE;
	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, c->path, IF_CHR,
					   "StopNotify");
	if (r < 0)
		return r;
	return miband__bz_call(bz, &c->op, m, on_unsubscribed, c);
}

static void perform_failed(struct miband_bluez *bz,
			   const struct miband_action *a, int status)
{
	if (a->type == MIBAND_ACTION_READ)
		miband__input_push(bz, IN_READ, a->channel, status, NULL, 0);
	else
		push_done(bz, a->channel, status);
}

int miband_bluez_perform(struct miband_bluez *bz, const struct miband_action *a)
{
	struct chan *c;
	char hex[128];
	int r = 0;

	if (!bz || !a)
		return MIBAND_E_INVAL;
	if (!bz->session)
		return MIBAND_E_STATE;
	switch (a->type) {
	case MIBAND_ACTION_SUBSCRIBE:
	case MIBAND_ACTION_UNSUBSCRIBE:
	case MIBAND_ACTION_WRITE:
	case MIBAND_ACTION_READ:
		if ((unsigned)a->channel >= MIBAND_CH_COUNT)
			return MIBAND_E_INVAL;
		break;
	case MIBAND_ACTION_DISCONNECT:
		miband__bz_log(bz, "session asks to disconnect: %s",
			       miband_err_name(a->reason));
		return miband_bluez_disconnect(bz);
	default:
		return MIBAND_E_INVAL;
	}
	c = &bz->chans[a->channel];
	miband_bluez_ref(bz);
	if (a->type == MIBAND_ACTION_WRITE) {
		trace(bz, 0, a->type, a->channel, a->data, a->len, a->secret);
		miband__bz_log(
			bz, "write %s%s: %s", miband__chan_name(a->channel),
			a->with_response ? "" : " (no response)",
			hexdump(a->data, a->len, a->secret, hex, sizeof(hex)));
	} else {
		trace(bz, 0, a->type, a->channel, NULL, 0, false);
		miband__bz_log(bz, "%s %s",
			       a->type == MIBAND_ACTION_SUBSCRIBE ? "subscribe"
			       : a->type == MIBAND_ACTION_UNSUBSCRIBE
				       ? "unsubscribe"
				       : "read",
			       miband__chan_name(a->channel));
	}
	if (bz->cstate != C_READY) {
		perform_failed(bz, a, MIBAND_E_DISCONNECTED);
		goto out;
	}
	if (!c->path) {
		miband__bz_errorf(bz, "the band has no %s characteristic",
				  miband__chan_name(a->channel));
		perform_failed(bz, a, MIBAND_E_NO_SERVICE);
		goto out;
	}
	if (c->op) {
		perform_failed(bz, a, MIBAND_E_BUSY);
		goto out;
	}
	c->op_type = a->type;
	c->op_secret = a->secret;
	switch (a->type) {
	case MIBAND_ACTION_SUBSCRIBE:
		if (c->notify != NOTIFY_NONE) {
			push_done(bz, a->channel, 0);
			break;
		}
		if (!(c->props & (MIBAND_PROP_NOTIFY | MIBAND_PROP_INDICATE))) {
			miband__bz_errorf(bz, "%s does not notify",
					  miband__chan_name(a->channel));
			push_done(bz, a->channel, MIBAND_E_SUBSCRIBE_FAILED);
			break;
		}
		if (wants_acquire(bz, a->channel) &&
		    (c->props & MIBAND_PROP_NOTIFY))
			r = acquire_notify(bz, c);
		else
			r = start_notify(bz, c);
		break;
	case MIBAND_ACTION_UNSUBSCRIBE:
		r = do_unsubscribe(bz, c);
		break;
	case MIBAND_ACTION_WRITE:
		r = do_write(bz, c, a);
		break;
	case MIBAND_ACTION_READ:
		r = do_read(bz, c);
		break;
	default:
		break;
	}
	if (r < 0) {
		miband__bz_errorf(bz, "%s: cannot send: %s",
				  miband__chan_name(a->channel), strerror(-r));
		perform_failed(bz, a,
			       r == -ENOMEM ? MIBAND_E_NOMEM : MIBAND_E_DBUS);
	}
out:
	miband__bz_rearm(bz);
	miband_bluez_unref(bz);
	return 0;
}

int miband_bluez_attach_session(struct miband_bluez *bz,
				struct miband_session *s,
				miband_bluez_ready_fn ready, void *user_data)
{
	if (!bz)
		return MIBAND_E_INVAL;
	bz->session = s;
	bz->ready = s ? ready : NULL;
	bz->ready_user_data = s ? user_data : NULL;
	miband__bz_rearm(bz);
	return 0;
}

void miband_bluez_set_trace(struct miband_bluez *bz, miband_bluez_trace_fn fn,
			    void *user_data)
{
	if (!bz)
		return;
	bz->trace = fn;
	bz->trace_user_data = user_data;
}

/* ------------------------------------------------------------------ */
/* the loop */

void miband__read_notify_fd(struct miband_bluez *bz, struct chan *c,
			    uint32_t events)
{
	uint8_t buf[NOTIFY_MAX];

	for (;;) {
		ssize_t n;

		if (c->fd < 0)
			return;
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			miband__push_notify(bz, c->ch, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 && errno == EINTR)
			continue;
		/* EOF or error: BlueZ closed it, the link is gone */
		events |= EPOLLHUP;
		break;
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		miband__bz_log(bz, "notification socket of %s closed",
			       miband__chan_name(c->ch));
		chan_close_fd(bz, c);
		c->notify = NOTIFY_NONE;
		miband__link_down(bz, MIBAND_E_DISCONNECTED);
	}
}
