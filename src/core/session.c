/*
 * The client engine (include/miband/session.h): auth v1 in every variant
 * and every post-auth request, sans I/O.
 *
 * How it works
 *
 * Inputs (start_auth, request, on_notify, on_write_done, on_read,
 * on_timeout, on_disconnect) move a small state machine and push what
 * must happen next onto an action queue (s->q, MIBAND_ACTION_QUEUE
 * entries); next_action() pops it.  Nothing is ever called back.
 *
 * One request runs at a time: s->req.type is its kind (NONE when idle)
 * and s->state its step.  A request is a short const table of steps
 * (session-req.c; the history fetch's replies in session-fetch.c): a
 * step either issues one GATT operation (SUBSCRIBE, WRITE, READ) and
 * waits for its completion (F_WAIT_DONE), or waits for a notification,
 * or the request finishes with its one final event (a value, DONE or
 * ERROR).  A subscribe step is skipped when the channel is already
 * subscribed.  Auth (PROTOCOL.md 2, session-auth.c) has its own steps:
 * SUB, KEY (set-key written, waiting for the tap), RAND and ANS; those
 * advance on the band's notifications, not on write completions.  Steps
 * that inputs look at have names (session-int.h): a heart rate counts
 * from HR1_START on, a config reply from CFG_WRITE on.
 *
 * This file owns the queue, the inputs and outputs, and how requests
 * end (finish, fail, go_fatal); the other files reach them through
 * session-int.h.
 *
 * One GATT operation is in flight at a time.  An operation is marked in
 * flight when next_action() hands it out, and cleared by its completion.
 * A band may answer before the transport reports the write done (a
 * notification overtaking the ack); the engine then prepares the next
 * write at once but holds it at the head of the queue until the
 * completion arrives.  The queue is strictly FIFO, so events behind a
 * held write wait too.
 *
 * Data: writes are encoded into s->wbuf (one pending write at a time);
 * device information and history samples are copied into s->vbuf, so
 * event pointers never point into the caller's notification buffer.  A
 * key or an auth answer in wbuf is wiped on the next call after it was
 * handed out (F_WIPE) and whenever auth ends; the AES output lives on the
 * stack only for the moment it is encoded and is wiped there.
 *
 * Time: `now` comes with every input.  s->deadline bounds the running
 * step; s->hr_ping_at schedules the continuous-HR keep-alive, which is
 * sent only while the session is idle (deadline_ms() reports it then).
 * An operation still in flight when its request ends (the band answered
 * before the completion came, or the request was cancelled) is an
 * orphan: its completion, when it comes, only frees the way for the next
 * operation and never counts as the completion of a later request's
 * step; if it never comes, its deadline still stands, and the idle
 * session presumes it lost then.
 *
 * Failures: every error of a request is one MIBAND_EV_ERROR carrying the
 * request; the session returns to idle and stays usable.  Only a
 * disconnect (and an internal queue overflow, a bug) is fatal: the
 * session then emits its error event, drops everything else, answers
 * DONE forever and must be re-initialised.
 */
#include "miband/codec.h"
#include "miband/error.h"
#include "miband/session.h"

#include <string.h>

#include "session-int.h"

/* The RAM budget on 32-bit targets (Cortex-M) with the default limits:
 * 512 bytes per session (352 with arm-none-eabi-gcc today). */
#if MIBAND_ACTION_QUEUE == 4 && MIBAND_WRITE_MAX == 20 && MIBAND_VALUE_MAX == 32
typedef char miband__session_fits
	[sizeof(void *) > 4 || sizeof(struct miband_session) <= 512 ? 1 : -1];
#endif

/* ---- configuration ---- */

void miband_session_config_init(struct miband_session_config *cfg,
				enum miband_model model)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->model = model;
	cfg->auth_flags = -1;
	cfg->crypt_flags = -1;
	cfg->pair_timeout_ms = MIBAND_DEFAULT_PAIR_TIMEOUT_MS;
	cfg->reply_timeout_ms = MIBAND_DEFAULT_REPLY_TIMEOUT_MS;
	cfg->hr_timeout_ms = MIBAND_DEFAULT_HR_TIMEOUT_MS;
	cfg->hr_keepalive_ms = MIBAND_DEFAULT_HR_KEEPALIVE_MS;
	cfg->mtu = 23;
	cfg->fetch_ack = true;
	cfg->user_weight_x200 = true;
}

/* Largest value one write may carry. */
size_t miband__write_max(const struct miband_session *s)
{
	size_t m = (size_t)s->cfg.mtu - 3;

	return m < MIBAND_WRITE_MAX ? m : MIBAND_WRITE_MAX;
}

int miband_session_init(struct miband_session *s,
			const struct miband_session_config *cfg,
			const uint8_t *key)
{
	if (!s || !cfg || (unsigned)cfg->model >= MIBAND_MODEL_COUNT ||
	    cfg->auth_flags < -1 || cfg->auth_flags > 0xff ||
	    (cfg->crypt_flags != -1 && cfg->crypt_flags != 0x00 &&
	     cfg->crypt_flags != 0x80) ||
	    (cfg->mtu && cfg->mtu < 23))
		return MIBAND_E_INVAL;
	miband_wipe(s, sizeof(*s));
	s->cfg = *cfg;
	if (!s->cfg.mtu)
		s->cfg.mtu = 23;
	if (!s->cfg.pair_timeout_ms)
		s->cfg.pair_timeout_ms = MIBAND_DEFAULT_PAIR_TIMEOUT_MS;
	if (!s->cfg.reply_timeout_ms)
		s->cfg.reply_timeout_ms = MIBAND_DEFAULT_REPLY_TIMEOUT_MS;
	if (!s->cfg.hr_timeout_ms)
		s->cfg.hr_timeout_ms = MIBAND_DEFAULT_HR_TIMEOUT_MS;
	if (key) {
		memcpy(s->key, key, 16);
		s->has_key = 1;
	}
	s->req.type = MIBAND_REQ_NONE;
	s->deadline = NEVER;
	s->hr_ping_at = NEVER;
	return 0;
}

int miband_session_set_key(struct miband_session *s, const uint8_t key[16])
{
	if (!s || !key)
		return MIBAND_E_INVAL;
	if (s->req.type == MIBAND_REQ_AUTH)
		return MIBAND_E_BUSY;
	memcpy(s->key, key, 16);
	s->has_key = 1;
	return 0;
}

/* ---- the action queue ---- */

static bool is_op(uint8_t type)
{
	return type == MIBAND_ACTION_SUBSCRIBE ||
	       type == MIBAND_ACTION_UNSUBSCRIBE ||
	       type == MIBAND_ACTION_WRITE || type == MIBAND_ACTION_READ;
}

static bool q_has_op(const struct miband_session *s)
{
	unsigned i;

	for (i = 0; i < s->qlen; i++)
		if (is_op(s->q[(s->qhead + i) % MIBAND_ACTION_QUEUE].type))
			return true;
	return false;
}

/* Removes queued (not yet handed out) GATT operations, keeps events. */
static void q_drop_ops(struct miband_session *s)
{
	struct miband__queued keep[MIBAND_ACTION_QUEUE];
	unsigned i, n = 0;

	for (i = 0; i < s->qlen; i++)
		if (!is_op(miband__q_at(s, i)->type))
			keep[n++] = *miband__q_at(s, i);
	s->qhead = 0;
	s->qlen = (uint8_t)n;
	for (i = 0; i < n; i++)
		s->q[i] = keep[i];
}

static void go_fatal(struct miband_session *s, int err, bool disconnect);

struct miband__queued *miband__q_push(struct miband_session *s, uint8_t type)
{
	struct miband__queued *e;

	if (s->fatal)
		return NULL;
	if (s->qlen >= MIBAND_ACTION_QUEUE) {
		go_fatal(s, MIBAND_E_INTERNAL, true);
		return NULL;
	}
	e = &s->q[(s->qhead + s->qlen) % MIBAND_ACTION_QUEUE];
	s->qlen++;
	memset(e, 0, sizeof(*e));
	e->type = type;
	return e;
}

struct miband_event *miband__push_event(struct miband_session *s,
					enum miband_event_type type,
					enum miband_request_type req)
{
	struct miband__queued *e = miband__q_push(s, MIBAND_ACTION_EVENT);

	if (!e)
		return NULL;
	e->event.type = type;
	e->event.request = req;
	return &e->event;
}

/* Unsolicited events are dropped rather than overflow the queue. */
static struct miband_event *push_unsolicited(struct miband_session *s,
					     enum miband_event_type type)
{
	if (s->qlen >= MIBAND_ACTION_QUEUE)
		return NULL;
	return miband__push_event(s, type, MIBAND_REQ_NONE);
}

void miband__progress(struct miband_session *s, enum miband_auth_step step)
{
	struct miband_event *ev =
		miband__push_event(s, MIBAND_EV_AUTH_PROGRESS, MIBAND_REQ_AUTH);

	if (ev)
		ev->u.auth_step = step;
}

static void set_subscribed(struct miband_session *s, unsigned ch)
{
	if (ch < MIBAND_CH_COUNT)
		s->subscribed[ch / 8] =
			(uint8_t)(s->subscribed[ch / 8] | 1u << (ch % 8));
}

/* ---- ending requests ---- */

static void go_idle(struct miband_session *s)
{
	if (s->req.type == MIBAND_REQ_AUTH)
		miband_wipe(s->wbuf, sizeof(s->wbuf));
	s->req.type = MIBAND_REQ_NONE;
	s->state = 0;
	s->flags &= (uint8_t)~F_WAIT_DONE;
	if (s->inflight && !(s->inflight & INF_PING))
		s->inflight |= INF_ORPHAN;
	else
		s->deadline = NEVER;
}

/*
 * The request's final event (its value, or DONE); returns it to fill.
 * An operation of the request still held in the queue (the band answered
 * before it went out) goes with the request: sent later it would mix
 * into the next request, and the final event queued behind it would wait
 * for a completion that may never come, on an idle session that has no
 * deadline left to end the wait.
 */
struct miband_event *miband__finish(struct miband_session *s,
				    enum miband_event_type type)
{
	enum miband_request_type req = s->req.type;

	q_drop_ops(s);
	go_idle(s);
	return miband__push_event(s, type, req);
}

void miband__fail(struct miband_session *s, int err)
{
	struct miband_event *ev;
	enum miband_request_type req = s->req.type;

	if (req == MIBAND_REQ_AUTH)
		s->authed = 0;
	q_drop_ops(s);
	go_idle(s);
	ev = miband__push_event(s, MIBAND_EV_ERROR, req);
	if (ev)
		ev->error = err;
}

static void go_fatal(struct miband_session *s, int err, bool disconnect)
{
	struct miband__queued *e;
	enum miband_request_type req = s->req.type;

	if (s->fatal)
		return;
	s->fatal = 1;
	s->authed = 0;
	q_drop_ops(s);
	go_idle(s);
	miband_wipe(s->wbuf, sizeof(s->wbuf));
	s->hr_continuous = 0;
	s->hr_ping_at = NEVER;
	s->inflight = 0;
	/* Room for the error (and DISCONNECT): drop the oldest events. */
	while (s->qlen > MIBAND_ACTION_QUEUE - (disconnect ? 2 : 1)) {
		s->qhead = (uint8_t)((s->qhead + 1) % MIBAND_ACTION_QUEUE);
		s->qlen--;
	}
	e = &s->q[(s->qhead + s->qlen++) % MIBAND_ACTION_QUEUE];
	memset(e, 0, sizeof(*e));
	e->type = MIBAND_ACTION_EVENT;
	e->event.type = MIBAND_EV_ERROR;
	e->event.request = req;
	e->event.error = err;
	if (disconnect) {
		e = &s->q[(s->qhead + s->qlen++) % MIBAND_ACTION_QUEUE];
		memset(e, 0, sizeof(*e));
		e->type = MIBAND_ACTION_DISCONNECT;
		e->reason = (int16_t)err;
	}
}

/* ---- issuing operations ---- */

void miband__arm(struct miband_session *s, uint64_t now)
{
	s->deadline = miband__after(now, s->cfg.reply_timeout_ms);
}

/* Writes wbuf[0..len); the step then waits for the completion. */
bool miband__op_write(struct miband_session *s, enum miband_channel ch,
		      size_t len, bool response, bool secret, uint64_t now)
{
	struct miband__queued *e = miband__q_push(s, MIBAND_ACTION_WRITE);

	if (!e)
		return true;
	e->channel = (uint8_t)ch;
	e->len = (uint8_t)len;
	e->flags = (uint8_t)((response ? QF_RESPONSE : 0u) |
			     (secret ? QF_SECRET : 0u));
	s->wlen = (uint8_t)len;
	s->flags |= F_WAIT_DONE;
	miband__arm(s, now);
	return true;
}

/* A step that waits for a notification until now + ms (0: forever). */
bool miband__wait_notify(struct miband_session *s, uint64_t now, uint32_t ms)
{
	s->flags &= (uint8_t)~F_WAIT_DONE;
	s->deadline = ms ? miband__after(now, ms) : NEVER;
	return true;
}

/* ---- inputs ---- */

/* Every input starts here: a secret handed out last call is wiped. */
static void enter(struct miband_session *s)
{
	if (s->flags & F_WIPE) {
		miband_wipe(s->wbuf, sizeof(s->wbuf));
		s->flags &= (uint8_t)~F_WIPE;
	}
}

void miband_session_on_notify(struct miband_session *s, enum miband_channel ch,
			      const uint8_t *data, size_t len, uint64_t now)
{
	enum miband_request_type rt;
	struct miband_event *ev;
	union {
		struct miband_steps steps;
		struct miband_device_event dev;
	} v;
	uint8_t bpm, cmd, status;

	if (!s || s->fatal || (unsigned)ch >= MIBAND_CH_COUNT)
		return;
	enter(s);
	if (!data)
		len = 0;
	rt = s->req.type;
	switch (ch) {
	case MIBAND_CH_AUTH:
		if (rt == MIBAND_REQ_AUTH)
			miband__auth_notify(s, data, len, now);
		break;
	case MIBAND_CH_HR_MEAS:
		if (rt == MIBAND_REQ_HR_ONESHOT && s->state >= HR1_START) {
			if (miband_decode_hr(data, len, &bpm) < 0) {
				miband__fail(s, MIBAND_E_MALFORMED);
				break;
			}
			ev = miband__finish(s, MIBAND_EV_HR);
			if (ev)
				ev->u.bpm = bpm;
		} else if (s->hr_continuous &&
			   miband_decode_hr(data, len, &bpm) == 0) {
			ev = push_unsolicited(s, MIBAND_EV_HR);
			if (ev)
				ev->u.bpm = bpm;
		}
		break;
	case MIBAND_CH_STEPS:
		if (miband__subscribed(s, ch) &&
		    miband_decode_steps(data, len, &v.steps) == 0) {
			ev = push_unsolicited(s, MIBAND_EV_STEPS);
			if (ev)
				ev->u.steps = v.steps;
		}
		break;
#if MIBAND_FEATURE_EVENTS
	case MIBAND_CH_EVENTS:
		if (miband__subscribed(s, ch) &&
		    miband_decode_device_event(data, len, &v.dev) == 0) {
			ev = push_unsolicited(s, MIBAND_EV_DEVICE_EVENT);
			if (ev)
				ev->u.device_event = v.dev;
		}
		break;
#endif
	case MIBAND_CH_CONFIG:
		if (rt == MIBAND_REQ_CONFIG && s->state >= CFG_WRITE &&
		    miband_decode_config_reply(data, len, &cmd, &status) == 0 &&
		    cmd == s->req.u.raw.bytes[0]) {
			if (status == 0x01)
				miband__finish(s, MIBAND_EV_DONE);
			else
				miband__fail(s, MIBAND_E_REJECTED);
		}
		break;
#if MIBAND_FEATURE_FETCH
	case MIBAND_CH_FETCH_CTL:
		if (rt == MIBAND_REQ_FETCH && s->state >= FS_START)
			miband__fetch_ctl(s, data, len, now);
		break;
	case MIBAND_CH_FETCH_DATA:
		if (rt == MIBAND_REQ_FETCH &&
		    (s->state == FS_GO || s->state == FS_DATA))
			miband__fetch_data(s, data, len, now);
		break;
#endif
	default:
		break;
	}
}

void miband_session_on_write_done(struct miband_session *s,
				  enum miband_channel ch, int status,
				  uint64_t now)
{
	uint8_t kind;

	if (!s || s->fatal)
		return;
	enter(s);
	if (!s->inflight || (s->inflight & INF_OP) == INF_READ ||
	    s->inflight_ch != (uint8_t)ch)
		return; /* not the operation we are waiting for */
	kind = s->inflight;
	s->inflight = 0;
	if (s->req.type == MIBAND_REQ_NONE)
		s->deadline = NEVER;
	if (kind & INF_ORPHAN) {
		if ((kind & INF_OP) == INF_SUB && status >= 0)
			set_subscribed(s, ch);
		return; /* of an ended request: the next op may go */
	}
	if (kind & INF_PING) {
		struct miband_event *ev;

		if (status < 0 && (ev = push_unsolicited(s, MIBAND_EV_ERROR)))
			ev->error = MIBAND_E_WRITE_FAILED;
		return;
	}
	if (s->req.type == MIBAND_REQ_NONE)
		return; /* the request already ended (timeout, cancel) */
	if (status < 0) {
		miband__fail(s, kind == INF_SUB ? MIBAND_E_SUBSCRIBE_FAILED
						: MIBAND_E_WRITE_FAILED);
		return;
	}
	if (kind == INF_SUB)
		set_subscribed(s, ch);
	if (s->flags & F_WAIT_DONE)
		miband__advance(s, now);
}

void miband_session_on_read(struct miband_session *s, enum miband_channel ch,
			    int status, const uint8_t *data, size_t len,
			    uint64_t now)
{
	struct miband_event *ev;
	union {
		struct miband_battery battery;
		struct miband_steps steps;
		struct miband_time time;
	} v;
	int r = MIBAND_E_MALFORMED;
	uint8_t orphan;

	(void)now;
	if (!s || s->fatal)
		return;
	enter(s);
	if ((s->inflight & INF_OP) != INF_READ || s->inflight_ch != (uint8_t)ch)
		return;
	orphan = s->inflight & INF_ORPHAN;
	s->inflight = 0;
	if (s->req.type == MIBAND_REQ_NONE)
		s->deadline = NEVER;
	if (orphan || s->req.type == MIBAND_REQ_NONE)
		return;
	if (status < 0) {
		miband__fail(s, MIBAND_E_READ_FAILED);
		return;
	}
	if (!data)
		len = 0;
	switch (s->req.type) {
	case MIBAND_REQ_BATTERY:
		r = miband_decode_battery(data, len, &v.battery);
		if (r == 0 && (ev = miband__finish(s, MIBAND_EV_BATTERY)))
			ev->u.battery = v.battery;
		break;
	case MIBAND_REQ_STEPS:
		r = miband_decode_steps(data, len, &v.steps);
		if (r == 0 && (ev = miband__finish(s, MIBAND_EV_STEPS)))
			ev->u.steps = v.steps;
		break;
	case MIBAND_REQ_TIME_GET:
		r = miband_decode_time(data, len, &v.time);
		if (r == 0 && (ev = miband__finish(s, MIBAND_EV_TIME)))
			ev->u.time = v.time;
		break;
	case MIBAND_REQ_DEVINFO: {
		enum miband_devinfo field = s->req.u.devinfo;

		s->vlen = (uint8_t)(len < sizeof(s->vbuf) ? len
							  : sizeof(s->vbuf));
		if (s->vlen)
			memcpy(s->vbuf, data, s->vlen);
		r = 0;
		ev = miband__finish(s, MIBAND_EV_DEVINFO);
		if (ev) {
			ev->u.devinfo.field = field;
			ev->u.devinfo.value = s->vbuf;
			ev->u.devinfo.len = s->vlen;
		}
		break;
	}
	default:
		return;
	}
	if (r < 0)
		miband__fail(s, MIBAND_E_MALFORMED);
}

void miband_session_on_disconnect(struct miband_session *s, uint64_t now)
{
	(void)now;
	if (!s || s->fatal)
		return;
	enter(s);
	go_fatal(s, MIBAND_E_DISCONNECTED, false);
}

void miband_session_on_timeout(struct miband_session *s, uint64_t now)
{
	if (!s || s->fatal)
		return;
	enter(s);
	if (s->req.type != MIBAND_REQ_NONE) {
		if (now < s->deadline)
			return;
		/* An operation that never completed is presumed lost. */
		s->inflight = 0;
		if (s->req.type == MIBAND_REQ_AUTH && s->state == AUTH_KEY)
			miband__fail(s, MIBAND_E_PAIR_TIMEOUT);
		else if (s->req.type == MIBAND_REQ_CONFIG &&
			 s->state == CFG_WAIT && !s->cfg.config_reply_required)
			miband__finish(s, MIBAND_EV_DONE);
		else
			miband__fail(s, MIBAND_E_TIMEOUT);
		return;
	}
	/* Idle: an orphan whose completion never came is presumed lost. */
	if (s->inflight & INF_ORPHAN) {
		if (now >= s->deadline) {
			s->inflight = 0;
			s->deadline = NEVER;
		}
		return;
	}
	/* Idle: the continuous heart-rate keep-alive. */
	if (s->hr_continuous && s->hr_ping_at != NEVER &&
	    now >= s->hr_ping_at && !s->inflight && !q_has_op(s)) {
		struct miband__queued *e =
			miband__q_push(s, MIBAND_ACTION_WRITE);

		if (!e)
			return;
		s->wlen = (uint8_t)miband_encode_hr_ping(s->wbuf,
							 sizeof(s->wbuf));
		e->channel = MIBAND_CH_HR_CTL;
		e->len = s->wlen;
		e->flags = QF_RESPONSE | QF_PING;
		s->hr_ping_at = miband__after(now, s->cfg.hr_keepalive_ms);
	}
}

/* ---- output ---- */

enum miband_action_type miband_session_next_action(struct miband_session *s,
						   struct miband_action *ret)
{
	struct miband__queued *e;

	if (!s || !ret)
		return MIBAND_ACTION_DONE;
	enter(s);
	memset(ret, 0, sizeof(*ret));
	ret->type = MIBAND_ACTION_DONE;
	if (!s->qlen)
		return MIBAND_ACTION_DONE;
	e = miband__q_at(s, 0);
	if (is_op(e->type) && s->inflight)
		return MIBAND_ACTION_DONE; /* held until the completion */
	s->qhead = (uint8_t)((s->qhead + 1) % MIBAND_ACTION_QUEUE);
	s->qlen--;
	ret->type = (enum miband_action_type)e->type;
	ret->channel = (enum miband_channel)e->channel;
	ret->reason = e->reason;
	ret->event = e->event;
	switch (e->type) {
	case MIBAND_ACTION_WRITE:
		ret->data = s->wbuf;
		ret->len = e->len;
		ret->with_response = e->flags & QF_RESPONSE;
		ret->secret = e->flags & QF_SECRET;
		s->inflight = (uint8_t)(INF_WRITE |
					(e->flags & QF_PING ? INF_PING : 0u));
		s->inflight_ch = e->channel;
		if (e->flags & QF_SECRET)
			s->flags |= F_WIPE;
		break;
	case MIBAND_ACTION_SUBSCRIBE:
	case MIBAND_ACTION_UNSUBSCRIBE:
		s->inflight = INF_SUB;
		s->inflight_ch = e->channel;
		break;
	case MIBAND_ACTION_READ:
		s->inflight = INF_READ;
		s->inflight_ch = e->channel;
		break;
	default:
		break;
	}
	return ret->type;
}

uint64_t miband_session_deadline_ms(const struct miband_session *s)
{
	if (!s || s->fatal)
		return NEVER;
	if (s->req.type != MIBAND_REQ_NONE || (s->inflight & INF_ORPHAN))
		return s->deadline;
	if (s->hr_continuous && !s->inflight && !q_has_op(s))
		return s->hr_ping_at;
	return NEVER;
}

bool miband_session_is_authed(const struct miband_session *s)
{
	return s && s->authed;
}

bool miband_session_is_busy(const struct miband_session *s)
{
	return s && s->req.type != MIBAND_REQ_NONE;
}

void miband_session_wipe(struct miband_session *s)
{
	if (!s)
		return;
	/* All zero: no key, not authenticated, no crypto ops, so nothing
	 * works until miband_session_init() again. */
	miband_wipe(s, sizeof(*s));
}
