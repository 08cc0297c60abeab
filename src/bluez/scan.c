/*
 * The central's adapter choice, discovery and scanning.
 *
 * Discovery is SetDiscoveryFilter then StartDiscovery, pipelined; a scan
 * restarts it every DISCOVERY_RESTART_USEC because an emulated controller
 * reports an advertiser only on the scan-enable edge.  A restart waits for
 * StopDiscovery's reply (bluetoothd 5.66 finishes a stop asynchronously
 * and then drops the client's discovery session, including one started in
 * the meantime).  Devices are reported from the object mirror: at start
 * what is already known and fresh, then every change central.c passes on.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bluez/central.h"

/* ------------------------------------------------------------------ */
/* adapter and discovery */

int miband__pick_adapter(struct miband_bluez *bz)
{
	struct miband__obj *best = NULL;
	char why[128];
	int r;

	if (bz->adapter && miband__objs_find(&bz->objs, bz->adapter))
		return 0;
	free(bz->adapter);
	bz->adapter = NULL;
	r = miband__objs_pick_adapter(&bz->objs, bz->cfg_adapter, &best, why,
				      sizeof(why));
	if (r < 0) {
		miband__bz_errorf(bz, "%s", why);
		return r;
	}
	bz->adapter = strdup(best->path);
	if (!bz->adapter)
		return MIBAND_E_NOMEM;
	miband__bz_log(bz, "adapter %s (%s)", best->path, best->address);
	return 0;
}

/* SetDiscoveryFilter then StartDiscovery, pipelined: BlueZ handles one
 * client's calls in order, so the start sees the filter.  The reply of
 * StartDiscovery goes to cb. */
int miband__discovery_start(struct miband_bluez *bz, bool mi_only,
			    sd_bus_slot **slot, sd_bus_message_handler_t cb)
{
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, bz->adapter,
					   IF_ADAPTER, "SetDiscoveryFilter");
	if (r < 0)
		return r;
	if (mi_only)
		r = sd_bus_message_append(m, "a{sv}", 2, "Transport", "s", "le",
					  "UUIDs", "as", 2, UUID_FEE0,
					  UUID_FEE1);
	else
		r = sd_bus_message_append(m, "a{sv}", 1, "Transport", "s",
					  "le");
	if (r < 0) {
		sd_bus_message_unref(m);
		return r;
	}
	sd_bus_message_set_expect_reply(m, 0);
	r = sd_bus_send(bz->bus, m, NULL);
	sd_bus_message_unref(m);
	if (r < 0)
		return r;
	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, bz->adapter,
					   IF_ADAPTER, "StartDiscovery");
	if (r < 0)
		return r;
	sd_bus_slot_unref(*slot);
	*slot = NULL;
	return miband__bz_call(bz, slot, m, cb, bz);
}

void miband__discovery_stop(struct miband_bluez *bz)
{
	if (bz->adapter)
		miband__bz_send_noreply(bz, bz->adapter, IF_ADAPTER,
					"StopDiscovery");
}

/*
 * StopDiscovery whose reply goes to cb.  A restart must wait for it:
 * bluetoothd 5.66 finishes a stop asynchronously and then drops the
 * client's discovery session, including one started in the meantime.
 */
int miband__discovery_stop_then(struct miband_bluez *bz, sd_bus_slot **slot,
				sd_bus_message_handler_t cb)
{
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, bz->adapter,
					   IF_ADAPTER, "StopDiscovery");
	if (r < 0)
		return r;
	sd_bus_slot_unref(*slot);
	*slot = NULL;
	return miband__bz_call(bz, slot, m, cb, bz);
}

/* ------------------------------------------------------------------ */
/* scanning */

static bool device_matches_scan(struct miband_bluez *bz, struct miband__obj *o)
{
	enum miband_model model;

	if (o->kind != OBJ_DEVICE || !o->parent || !bz->adapter ||
	    strcmp(o->parent, bz->adapter))
		return false;
	if (!o->has_rssi && !o->connected)
		return false;
	if (!bz->scan_any && !o->mi_uuid &&
	    miband_bluez_guess_model(o->name, &model) < 0)
		return false;
	if (bz->scan_name && *bz->scan_name) {
		size_t n = strlen(bz->scan_name), i;
		bool hit = false;

		for (i = 0; o->name[i] && !hit; i++)
			hit = strncasecmp(o->name + i, bz->scan_name, n) == 0;
		if (!hit)
			return false;
	}
	return true;
}

void miband__fill_info(const struct miband__obj *o,
		       struct miband_bluez_device_info *info)
{
	memset(info, 0, sizeof(*info));
	miband__copy_str(info->address, sizeof(info->address), o->address);
	miband__copy_str(info->name, sizeof(info->name), o->name);
	info->rssi = o->rssi;
	info->has_rssi = o->has_rssi;
	info->connected = o->connected;
	info->paired = o->paired;
	info->has_model = miband_bluez_guess_model(o->name, &info->model) == 0;
}

void miband__scan_report(struct miband_bluez *bz, struct miband__obj *o)
{
	struct miband_bluez_device_info info;
	bool first;

	if (bz->sstate != S_ON && bz->sstate != S_STARTING)
		return;
	if (!device_matches_scan(bz, o))
		return;
	first = !o->reported;
	o->reported = true;
	miband__fill_info(o, &info);
	if (bz->scan_found)
		bz->scan_found(bz, &info, first, bz->scan_user_data);
}

void miband__scan_fail(struct miband_bluez *bz, int status)
{
	miband_bluez_done_fn fn = bz->scan_failed;

	bz->sstate = S_OFF;
	bz->scan_slot = sd_bus_slot_unref(bz->scan_slot);
	free(bz->scan_name);
	bz->scan_name = NULL;
	if (fn)
		fn(bz, status, bz->scan_user_data);
}

static int on_scan_started(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	(void)err;
	bz->scan_slot = sd_bus_slot_unref(bz->scan_slot);
	if (e && !miband__error_is(e, "org.bluez.Error.InProgress")) {
		miband__bz_error(bz, "Adapter1.StartDiscovery", e);
		miband__scan_fail(bz, miband__bus_error(e, MIBAND_E_DBUS));
		return 0;
	}
	if (bz->sstate == S_STARTING)
		bz->sstate = S_ON;
	return 0;
}

static int on_scan_stopped(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;

	(void)m;
	(void)err;
	bz->scan_slot = sd_bus_slot_unref(bz->scan_slot);
	if (bz->sstate != S_STARTING)
		return 0;
	if (miband__discovery_start(bz, !bz->scan_any, &bz->scan_slot,
				    on_scan_started) < 0)
		miband__scan_fail(bz, MIBAND_E_DBUS);
	return 0;
}

void miband__scan_begin(struct miband_bluez *bz)
{
	size_t i;
	int r;

	if (bz->init_status < 0) {
		miband__scan_fail(bz, bz->init_status);
		return;
	}
	r = miband__pick_adapter(bz);
	if (r < 0) {
		miband__scan_fail(bz, r);
		return;
	}
	bz->sstate = S_STARTING;
	for (i = 0; i < bz->objs.n; i++)
		bz->objs.v[i]->reported = false;
	r = miband__discovery_start(bz, !bz->scan_any, &bz->scan_slot,
				    on_scan_started);
	if (r < 0) {
		miband__bz_errorf(bz, "StartDiscovery: %s", strerror(-r));
		miband__scan_fail(bz, MIBAND_E_DBUS);
		return;
	}
	bz->scan_restart_at = miband__now_usec() + DISCOVERY_RESTART_USEC;
	miband__bz_log(bz, "discovery started%s%s",
		       bz->scan_any ? "" : " (FEE0/FEE1)",
		       bz->scan_name ? ", name filter" : "");
	/* what is already known and fresh (connected, or seen by a running
	 * discovery) is reported at once */
	for (i = 0; i < bz->objs.n && bz->sstate != S_OFF; i++)
		miband__scan_report(bz, bz->objs.v[i]);
}

int miband_bluez_scan_start(struct miband_bluez *bz,
			    const struct miband_bluez_scan_filter *filter,
			    miband_bluez_found_fn found,
			    miband_bluez_done_fn failed, void *user_data)
{
	if (!bz)
		return MIBAND_E_INVAL;
	if (bz->sstate != S_OFF ||
	    (bz->cstate != C_IDLE && bz->cstate != C_READY))
		return MIBAND_E_BUSY;
	bz->scan_name = NULL;
	if (filter && filter->name) {
		bz->scan_name = strdup(filter->name);
		if (!bz->scan_name)
			return MIBAND_E_NOMEM;
	}
	bz->scan_any = filter && filter->any_service;
	bz->scan_found = found;
	bz->scan_failed = failed;
	bz->scan_user_data = user_data;
	miband_bluez_ref(bz);
	if (bz->init_status > 0)
		bz->sstate = S_WAIT_INIT;
	else
		miband__scan_begin(bz);
	miband__bz_rearm(bz);
	miband_bluez_unref(bz);
	return 0;
}

int miband_bluez_scan_stop(struct miband_bluez *bz)
{
	if (!bz)
		return MIBAND_E_INVAL;
	if (bz->sstate == S_OFF)
		return 0;
	if (bz->sstate != S_WAIT_INIT)
		miband__discovery_stop(bz);
	bz->sstate = S_OFF;
	bz->scan_slot = sd_bus_slot_unref(bz->scan_slot);
	free(bz->scan_name);
	bz->scan_name = NULL;
	miband__bz_rearm(bz);
	return 0;
}

struct scan_sync {
	miband_bluez_found_fn found;
	void *user_data;
	int count;
	int status;
	bool failed;
};

static void scan_sync_found(struct miband_bluez *bz,
			    const struct miband_bluez_device_info *dev,
			    bool first, void *ud)
{
	struct scan_sync *st = ud;

	if (first)
		st->count++;
	if (st->found)
		st->found(bz, dev, first, st->user_data);
}

static void scan_sync_failed(struct miband_bluez *bz, int status, void *ud)
{
	struct scan_sync *st = ud;

	(void)bz;
	st->failed = true;
	st->status = status;
}

int miband_bluez_scan_sync(struct miband_bluez *bz,
			   const struct miband_bluez_scan_filter *filter,
			   uint32_t duration_ms, miband_bluez_found_fn found,
			   void *user_data)
{
	struct scan_sync st = {found, user_data, 0, 0, false};
	uint64_t end;
	int r;

	r = miband_bluez_scan_start(bz, filter, scan_sync_found,
				    scan_sync_failed, &st);
	if (r < 0)
		return r;
	end = miband__now_usec() + (uint64_t)duration_ms * USEC_PER_MSEC;
	for (;;) {
		uint64_t now = miband__now_usec();

		if (st.failed || now >= end)
			break;
		r = miband_bluez_wait(bz, end - now);
		if (r < 0 || r == 1)
			break;
	}
	miband_bluez_scan_stop(bz);
	if (st.failed)
		return st.status;
	if (r < 0)
		return r;
	return st.count;
}

void miband__scan_timers(struct miband_bluez *bz, uint64_t now)
{
	if (bz->sstate == S_ON && now >= bz->scan_restart_at) {
		/* an emulated controller reports an advertiser only when
		 * scanning starts; restart so late arrivals show up */
		bz->sstate = S_STARTING;
		if (miband__discovery_stop_then(bz, &bz->scan_slot,
						on_scan_stopped) < 0)
			miband__scan_fail(bz, MIBAND_E_DBUS);
		bz->scan_restart_at = now + DISCOVERY_RESTART_USEC;
	}
}
