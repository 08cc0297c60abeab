/*
 * The central's connection: find, connect, resolve, map, lose.
 *
 * Known and connected with services resolved: done at once.  Known:
 * Device1.Connect.  Unknown: discovery (Transport le), restarted every few
 * seconds, until the address appears.  After Connect the Connected and
 * ServicesResolved properties are read (the signal is sometimes missed),
 * and re-read every 500 ms until resolved or the deadline.  Then each
 * engine channel is mapped to the characteristic whose UUID is
 * miband_channel_uuid(), preferring the one inside the channel's own
 * service; never by handle.  A link that goes down releases every channel
 * and queues one disconnect input for the session.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bluez/central.h"

/* ------------------------------------------------------------------ */
/* connection */

struct miband__obj *miband__target_device(struct miband_bluez *bz)
{
	struct miband__obj *o;
	size_t i;

	if (bz->dev_path) {
		o = miband__objs_find(&bz->objs, bz->dev_path);
		if (o && o->kind == OBJ_DEVICE)
			return o;
	}
	if (!bz->adapter || !bz->address[0])
		return NULL;
	for (i = 0; i < bz->objs.n; i++) {
		o = bz->objs.v[i];
		if (o->kind == OBJ_DEVICE && o->parent &&
		    !strcmp(o->parent, bz->adapter) &&
		    !strcasecmp(o->address, bz->address)) {
			free(bz->dev_path);
			bz->dev_path = strdup(o->path);
			return bz->dev_path ? o : NULL;
		}
	}
	return NULL;
}

void miband__conn_finish(struct miband_bluez *bz, int status)
{
	miband_bluez_done_fn fn = bz->conn_done;
	void *ud = bz->conn_user_data;

	bz->conn_slot = sd_bus_slot_unref(bz->conn_slot);
	if (bz->conn_discovering) {
		miband__discovery_stop(bz);
		bz->conn_discovering = false;
	}
	bz->conn_deadline = bz->conn_step_at = NEVER;
	bz->conn_done = NULL;
	if (status == 0) {
		bz->cstate = C_READY;
		bz->link_error = 0;
		miband__bz_log(bz, "ready: %s", bz->address);
	} else {
		bz->cstate = C_IDLE;
		miband__bz_log(bz, "connect failed: %s",
			       miband_err_name(status));
	}
	if (fn)
		fn(bz, status, ud);
}

/* Maps ch to dev's characteristic with its UUID, preferring the one in
 * the channel's own service.  True if ch is mapped (now or before). */
static bool map_channel(struct miband_bluez *bz, struct miband__obj *dev,
			enum miband_channel ch)
{
	struct chan *c = &bz->chans[ch];
	const struct miband_channel_info *info = miband_channel_info(ch);
	char uuid[37], svc_uuid[37];
	struct miband__obj *pick = NULL;
	size_t i;

	if (c->path)
		return true;
	if (!info || miband_channel_uuid(ch, uuid, sizeof(uuid)) < 0 ||
	    miband_uuid16_str(info->service16, false, svc_uuid,
			      sizeof(svc_uuid)) < 0)
		return false;
	for (i = 0; i < bz->objs.n; i++) {
		struct miband__obj *o = bz->objs.v[i], *svc;

		if (o->kind != OBJ_CHR ||
		    !miband__path_under(o->path, dev->path) ||
		    strcasecmp(o->uuid, uuid))
			continue;
		svc = o->parent ? miband__objs_find(&bz->objs, o->parent)
				: NULL;
		if (svc && !strcasecmp(svc->uuid, svc_uuid)) {
			pick = o;
			break;
		}
		if (!pick)
			pick = o;
	}
	if (!pick)
		return false;
	c->path = strdup(pick->path);
	c->props = pick->props;
	return c->path != NULL;
}

static int count_mapped(const struct miband_bluez *bz)
{
	int ch, n = 0;

	for (ch = 0; ch < MIBAND_CH_COUNT; ch++)
		n += bz->chans[ch].path != NULL;
	return n;
}

int miband__map_all(struct miband_bluez *bz, struct miband__obj *dev)
{
	int ch, n = 0;

	for (ch = 0; ch < MIBAND_CH_COUNT; ch++)
		n += map_channel(bz, dev, (enum miband_channel)ch);
	return n;
}

/*
 * ServicesResolved is true: map the channels.  bluetoothd answers
 * property reads at once but sends InterfacesAdded from an idle handler,
 * so the characteristic objects can arrive just after, in one burst.
 * Without the auth characteristic, wait for them (C_SETTLING): done when
 * auth is there and no object came for QUIET_USEC; NO_SERVICE if auth
 * is still missing after SETTLE_USEC.
 */
void miband__resolved(struct miband_bluez *bz, struct miband__obj *dev)
{
	int ch, n;

	if (bz->cstate != C_SETTLING)
		for (ch = 0; ch < MIBAND_CH_COUNT; ch++)
			miband__chan_reset(bz, &bz->chans[ch], true);
	n = miband__map_all(bz, dev);
	if (!bz->chans[MIBAND_CH_AUTH].path) {
		if (bz->cstate != C_SETTLING) {
			miband__bz_log(
				bz,
				"services resolved, %d channels so far, no "
				"auth yet: waiting for the objects",
				n);
			bz->cstate = C_SETTLING;
			bz->conn_step_at =
				min_u64(miband__now_usec() + SETTLE_USEC,
					bz->conn_deadline);
		}
		return;
	}
	miband__bz_log(bz, "%d of %d channels mapped", n, MIBAND_CH_COUNT);
	miband__conn_finish(bz, 0);
}

static int on_device_props(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	struct miband__obj *dev;

	(void)err;
	bz->conn_slot = sd_bus_slot_unref(bz->conn_slot);
	if (bz->cstate != C_RESOLVING)
		return 0;
	dev = miband__target_device(bz);
	if (e) {
		miband__bz_error(bz, "Properties.GetAll(Device1)", e);
		if (!dev) {
			miband__conn_finish(bz, MIBAND_E_NOT_FOUND);
			return 0;
		}
		return 0; /* try again at the next poll */
	}
	if (dev && miband__obj_read_props(m, dev) < 0)
		return 0;
	if (!dev)
		return 0;
	if (dev->connected && dev->resolved) {
		miband__resolved(bz, dev);
	} else if (!dev->connected) {
		miband__bz_log(
			bz, "not connected while resolving; connecting again");
		bz->cstate = C_RETRY_WAIT;
		bz->conn_step_at = miband__now_usec() + CONNECT_RETRY_USEC;
	}
	return 0;
}

static void poll_resolved(struct miband_bluez *bz)
{
	sd_bus_message *m = NULL;
	int r;

	bz->conn_step_at = miband__now_usec() + RESOLVE_POLL_USEC;
	if (bz->conn_slot || !bz->dev_path)
		return;
	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, bz->dev_path,
					   IF_PROPS, "GetAll");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", IF_DEVICE);
	if (r >= 0)
		r = miband__bz_call(bz, &bz->conn_slot, m, on_device_props, bz);
	else
		sd_bus_message_unref(m);
	if (r < 0)
		miband__bz_log(bz, "GetAll(Device1): %s", strerror(-r));
}

static int on_connect_reply(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	int code;

	(void)err;
	bz->conn_slot = sd_bus_slot_unref(bz->conn_slot);
	if (bz->cstate != C_CONNECTING)
		return 0;
	if (!e || miband__error_is(e, "org.bluez.Error.AlreadyConnected") ||
	    miband__error_is(e, "org.bluez.Error.InProgress")) {
		/* connected (or someone else is connecting it): read the
		 * properties instead of trusting the signals */
		miband__bz_log(bz, "Device1.Connect: %s", e ? e->name : "ok");
		bz->cstate = C_RESOLVING;
		poll_resolved(bz);
		return 0;
	}
	miband__bz_error(bz, "Device1.Connect", e);
	code = miband__bus_error(e, MIBAND_E_CONNECT_FAILED);
	if ((code == MIBAND_E_CONNECT_FAILED || code == MIBAND_E_BUSY) &&
	    bz->conn_attempts < CONNECT_ATTEMPTS &&
	    miband__now_usec() + CONNECT_RETRY_USEC < bz->conn_deadline) {
		bz->cstate = C_RETRY_WAIT;
		bz->conn_step_at = miband__now_usec() + CONNECT_RETRY_USEC;
		return 0;
	}
	if (code == MIBAND_E_BUSY)
		code = MIBAND_E_CONNECT_FAILED;
	miband__conn_finish(bz, code);
	return 0;
}

static void do_connect(struct miband_bluez *bz)
{
	sd_bus_message *m = NULL;
	uint64_t now = miband__now_usec(), left;
	int r;

	bz->cstate = C_CONNECTING;
	bz->conn_attempts++;
	bz->conn_step_at = NEVER;
	left = bz->conn_deadline > now ? bz->conn_deadline - now : 1;
	miband__bz_log(bz, "Device1.Connect %s (attempt %u)", bz->dev_path,
		       bz->conn_attempts);
	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, bz->dev_path,
					   IF_DEVICE, "Connect");
	if (r >= 0) {
		r = sd_bus_call_async(bz->bus, &bz->conn_slot, m,
				      on_connect_reply, bz, left);
		sd_bus_message_unref(m);
	}
	if (r < 0) {
		miband__bz_errorf(bz, "Device1.Connect: %s", strerror(-r));
		miband__conn_finish(bz, MIBAND_E_DBUS);
	}
}

static int on_find_discovery(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	(void)err;
	bz->conn_slot = sd_bus_slot_unref(bz->conn_slot);
	if (e && !miband__error_is(e, "org.bluez.Error.InProgress") &&
	    bz->cstate == C_FINDING) {
		miband__bz_error(bz, "Adapter1.StartDiscovery", e);
		bz->conn_discovering = false;
		miband__conn_finish(bz, miband__bus_error(e, MIBAND_E_DBUS));
	}
	return 0;
}

static int on_find_stopped(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	int r;

	(void)m;
	(void)err;
	bz->conn_slot = sd_bus_slot_unref(bz->conn_slot);
	if (bz->cstate != C_FINDING)
		return 0;
	r = miband__discovery_start(bz, false, &bz->conn_slot,
				    on_find_discovery);
	if (r < 0) {
		miband__bz_errorf(bz, "StartDiscovery: %s", strerror(-r));
		miband__conn_finish(bz, MIBAND_E_DBUS);
	}
	return 0;
}

void miband__conn_step(struct miband_bluez *bz)
{
	struct miband__obj *dev;
	int r;

	if (bz->init_status > 0) {
		bz->cstate = C_WAIT_INIT;
		return;
	}
	if (bz->init_status < 0) {
		miband__conn_finish(bz, bz->init_status);
		return;
	}
	r = miband__pick_adapter(bz);
	if (r < 0) {
		miband__conn_finish(bz, r);
		return;
	}
	dev = miband__target_device(bz);
	if (!dev) {
		if (bz->cstate == C_FINDING)
			return;
		bz->cstate = C_FINDING;
		bz->conn_discovering = true;
		miband__bz_log(bz, "%s unknown: discovering", bz->address);
		r = miband__discovery_start(bz, false, &bz->conn_slot,
					    on_find_discovery);
		if (r < 0) {
			miband__bz_errorf(bz, "StartDiscovery: %s",
					  strerror(-r));
			miband__conn_finish(bz, MIBAND_E_DBUS);
			return;
		}
		bz->conn_step_at = miband__now_usec() + DISCOVERY_RESTART_USEC;
		return;
	}
	bz->seen = true;
	if (bz->conn_discovering) {
		bz->conn_slot = sd_bus_slot_unref(bz->conn_slot);
		miband__discovery_stop(bz);
		bz->conn_discovering = false;
	}
	if (dev->connected && dev->resolved) {
		miband__bz_log(bz, "%s already connected and resolved",
			       bz->address);
		bz->cstate = C_RESOLVING;
		miband__resolved(bz, dev);
		return;
	}
	if (dev->connected) {
		bz->cstate = C_RESOLVING;
		poll_resolved(bz);
		return;
	}
	do_connect(bz);
}

int miband_bluez_connect(struct miband_bluez *bz, const char *address,
			 uint32_t timeout_ms, miband_bluez_done_fn done,
			 void *user_data)
{
	char addr[18];
	int r;

	if (!bz || !address)
		return MIBAND_E_INVAL;
	r = miband_bluez_parse_address(address, addr);
	if (r < 0)
		return r;
	if (bz->cstate == C_READY)
		return MIBAND_E_STATE;
	if (bz->cstate != C_IDLE || bz->sstate != S_OFF)
		return MIBAND_E_BUSY;
	if (!timeout_ms)
		timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	if (strcasecmp(addr, bz->address)) {
		free(bz->dev_path);
		bz->dev_path = NULL;
	}
	memcpy(bz->address, addr, sizeof(addr));
	bz->conn_done = done;
	bz->conn_user_data = user_data;
	bz->conn_deadline =
		miband__now_usec() + (uint64_t)timeout_ms * USEC_PER_MSEC;
	bz->conn_step_at = NEVER;
	bz->conn_attempts = 0;
	bz->seen = false;
	bz->link_error = 0;
	bz->mtu = 23;
	bz->last_error[0] = '\0';
	miband_bluez_ref(bz);
	bz->cstate = C_WAIT_INIT;
	miband__conn_step(bz);
	miband__bz_rearm(bz);
	miband_bluez_unref(bz);
	return 0;
}

struct sync_state {
	bool done;
	int status;
};

static void sync_done(struct miband_bluez *bz, int status, void *ud)
{
	struct sync_state *st = ud;

	(void)bz;
	st->done = true;
	st->status = status;
}

int miband_bluez_connect_sync(struct miband_bluez *bz, const char *address,
			      uint32_t timeout_ms)
{
	struct sync_state st = {false, 0};
	int r;

	r = miband_bluez_connect(bz, address, timeout_ms, sync_done, &st);
	if (r < 0)
		return r;
	while (!st.done) {
		r = miband_bluez_wait(bz, NEVER); /* 1 (a signal): go on */
		if (r < 0 && !st.done && bz->cstate == C_IDLE)
			return r;
	}
	return st.status;
}

/* The link is gone (or we dropped it): release everything and tell the
 * session once. */
void miband__link_down(struct miband_bluez *bz, int reason)
{
	int ch;

	if (bz->cstate != C_READY)
		return;
	miband__bz_log(bz, "link down: %s", miband_err_name(reason));
	for (ch = 0; ch < MIBAND_CH_COUNT; ch++) {
		struct chan *c = &bz->chans[ch];

		if (c->op && c->op_type == MIBAND_ACTION_READ)
			miband__release_held(bz, c->ch, NULL, 0, false);
		miband__chan_reset(bz, c, false);
	}
	bz->cstate = C_IDLE;
	bz->link_error = reason;
	miband__input_push(bz, IN_DISCONNECT, MIBAND_CH_AUTH, reason, NULL, 0);
}

static int on_disconnected(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	(void)err;
	bz->disc_slot = sd_bus_slot_unref(bz->disc_slot);
	bz->disc_pending = false;
	if (e)
		miband__bz_error(bz, "Device1.Disconnect", e);
	return 0;
}

/* Device1.Disconnect; its reply (about 2 s later) ends disc_pending. */
static void send_disconnect(struct miband_bluez *bz)
{
	sd_bus_message *m = NULL;
	int r;

	if (bz->bus_dead || !bz->dev_path)
		return;
	bz->disc_slot = sd_bus_slot_unref(bz->disc_slot);
	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, bz->dev_path,
					   IF_DEVICE, "Disconnect");
	if (r >= 0)
		r = miband__bz_call(bz, &bz->disc_slot, m, on_disconnected, bz);
	bz->disc_pending = r >= 0;
}

int miband_bluez_disconnect(struct miband_bluez *bz)
{
	if (!bz)
		return MIBAND_E_INVAL;
	miband_bluez_ref(bz);
	if (bz->cstate == C_READY) {
		send_disconnect(bz);
		miband__link_down(bz, MIBAND_E_DISCONNECTED);
	} else if (bz->cstate != C_IDLE) {
		/* cancel a pending BlueZ connect too */
		if (bz->cstate == C_CONNECTING || bz->cstate == C_RESOLVING)
			send_disconnect(bz);
		miband__conn_finish(bz, MIBAND_E_CANCELLED);
	}
	if (!bz->bus_dead)
		sd_bus_flush(bz->bus);
	miband__bz_rearm(bz);
	miband_bluez_unref(bz);
	return 0;
}

int miband_bluez_disconnect_sync(struct miband_bluez *bz, uint32_t timeout_ms)
{
	uint64_t end;
	int r;

	r = miband_bluez_disconnect(bz);
	if (r < 0)
		return r;
	end = miband__now_usec() + (uint64_t)timeout_ms * USEC_PER_MSEC;
	while (bz->disc_pending) {
		uint64_t now = miband__now_usec();

		if (now >= end)
			return MIBAND_E_TIMEOUT;
		r = miband_bluez_wait(bz, end - now);
		if (r < 0)
			return r;
		if (r == 1)
			return MIBAND_E_CANCELLED;
	}
	return 0;
}

bool miband_bluez_is_connected(const struct miband_bluez *bz)
{
	return bz && bz->cstate == C_READY;
}

int miband_bluez_link_error(const struct miband_bluez *bz)
{
	return bz ? bz->link_error : MIBAND_E_INVAL;
}

int miband_bluez_get_device_info(struct miband_bluez *bz,
				 struct miband_bluez_device_info *ret)
{
	struct miband__obj *dev;

	if (!bz || !ret)
		return MIBAND_E_INVAL;
	if (!bz->address[0])
		return MIBAND_E_STATE;
	dev = miband__target_device(bz);
	if (!dev) {
		memset(ret, 0, sizeof(*ret));
		miband__copy_str(ret->address, sizeof(ret->address),
				 bz->address);
		return 0;
	}
	miband__fill_info(dev, ret);
	return 0;
}

bool miband_bluez_has_channel(const struct miband_bluez *bz,
			      enum miband_channel ch)
{
	return bz && bz->cstate == C_READY && (unsigned)ch < MIBAND_CH_COUNT &&
	       bz->chans[ch].path;
}

unsigned miband_bluez_get_mtu(const struct miband_bluez *bz)
{
	return bz && bz->mtu ? bz->mtu : 23;
}

void miband__conn_timers(struct miband_bluez *bz, uint64_t now)
{
	if (bz->cstate != C_IDLE && bz->cstate != C_READY &&
	    now >= bz->conn_deadline) {
		int code = bz->seen ? MIBAND_E_TIMEOUT : MIBAND_E_NOT_FOUND;

		if (!bz->seen)
			miband__bz_errorf(bz, "%s not found", bz->address);
		else if (!bz->last_error[0])
			miband__bz_errorf(bz,
					  "%s: not connected and resolved "
					  "before the deadline",
					  bz->address);
		if (bz->dev_path &&
		    (bz->cstate == C_CONNECTING || bz->cstate == C_RESOLVING))
			miband__bz_send_noreply(bz, bz->dev_path, IF_DEVICE,
						"Disconnect");
		miband__conn_finish(bz, code);
	} else if (now >= bz->conn_step_at) {
		switch (bz->cstate) {
		case C_FINDING:
			miband__bz_log(bz, "nothing yet; restarting discovery");
			bz->conn_step_at = now + DISCOVERY_RESTART_USEC;
			if (miband__discovery_stop_then(bz, &bz->conn_slot,
							on_find_stopped) < 0) {
				miband__bz_errorf(bz, "StopDiscovery failed");
				miband__conn_finish(bz, MIBAND_E_DBUS);
			}
			break;
		case C_RETRY_WAIT:
			bz->conn_step_at = NEVER;
			miband__conn_step(bz);
			break;
		case C_RESOLVING:
			poll_resolved(bz);
			break;
		case C_SETTLING:
			if (bz->chans[MIBAND_CH_AUTH].path) {
				miband__bz_log(bz, "%d of %d channels mapped",
					       count_mapped(bz),
					       MIBAND_CH_COUNT);
				miband__conn_finish(bz, 0);
				break;
			}
			miband__bz_errorf(bz,
					  "%s has no Mi Band auth "
					  "characteristic",
					  bz->address);
			miband__conn_finish(bz, MIBAND_E_NO_SERVICE);
			break;
		default:
			bz->conn_step_at = NEVER;
			break;
		}
	}
}
