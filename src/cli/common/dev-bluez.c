/*
 * mb_device over BlueZ: the blocking pump the CLI uses on a real band
 * (or on miband-emu behind another controller).
 *
 * Opening connects (scan if BlueZ does not know the address yet, Connect,
 * ServicesResolved, channel map) within opts->connect_timeout_ms.  run()
 * is the session loop of include/miband/bluez.h made blocking: drain the
 * session's actions (transport actions go to miband_bluez_perform, the
 * first EVENT is returned), then poll() the transport's fd until it is
 * readable or the earliest of the caller's deadline, the transport's
 * timers and the session's deadline, then process.  The transport feeds
 * the session one input per process(), so the session is drained after
 * every input as its contract asks.
 *
 * A signal (SIGINT for --follow) interrupts poll(): run() returns 0 as if
 * the deadline had passed, so the caller can look at its flag and stop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/device.h"
#include "common/trace.h"
#include "miband/bluez.h"

struct dev_bluez {
	struct mb_device base; /* first: the common device object */
	struct miband_bluez *bz;
	struct miband_session *attached;
	struct mb_trace *trace;
	char address[18];
};

static void log_stderr(const char *line, void *user_data)
{
	(void)user_data;
	fprintf(stderr, "bluez: %s\n", line);
}

static uint64_t bz_now(struct mb_device *d)
{
	(void)d;
	return miband_bluez_now_ms();
}

static int bz_run(struct mb_device *d, struct miband_session *s,
		  uint64_t deadline_ms, struct miband_event *ret_ev)
{
	struct dev_bluez *db = (struct dev_bluez *)d;
	int r;

	if (!s || !ret_ev)
		return MIBAND_E_INVAL;
	if (db->attached != s) {
		r = miband_bluez_attach_session(db->bz, s, NULL, NULL);
		if (r < 0)
			return r;
		db->attached = s;
	}
	for (;;) {
		struct miband_action a;
		uint64_t now, t_us, wait_us;

		while (miband_session_next_action(s, &a) !=
		       MIBAND_ACTION_DONE) {
			if (a.type == MIBAND_ACTION_EVENT) {
				*ret_ev = a.event;
				return 1;
			}
			r = miband_bluez_perform(db->bz, &a);
			if (r < 0)
				return r;
		}
		/* the link is gone and everything it said has been fed */
		if (!miband_bluez_is_connected(db->bz) &&
		    miband_bluez_get_timeout(db->bz, &t_us) == 0 && t_us != 0) {
			r = miband_bluez_link_error(db->bz);
			return r < 0 ? r : MIBAND_E_DISCONNECTED;
		}
		now = miband_bluez_now_ms();
		if (now >= deadline_ms)
			return 0;
		wait_us = deadline_ms == UINT64_MAX
				  ? UINT64_MAX
				  : (deadline_ms - now) * 1000u;
		r = miband_bluez_wait(db->bz, wait_us);
		if (r < 0)
			return r;
		if (r > 0) /* a signal: let the caller look at its flags */
			return 0;
	}
}

static void bz_close(struct mb_device *d)
{
	struct dev_bluez *db = (struct dev_bluez *)d;

	if (!db)
		return;
	miband_bluez_attach_session(db->bz, NULL, NULL, NULL);
	/* wait for the link to be really down, so that the next command
	 * does not find bluetoothd half-way through disconnecting */
	miband_bluez_disconnect_sync(db->bz, 3000);
	if (db->trace)
		mb_trace_close(db->trace, miband_bluez_now_ms());
	miband_bluez_unref(db->bz);
	free(db);
}

static const struct mb_device_ops bz_ops = {
	.run = bz_run,
	.now = bz_now,
	.close = bz_close,
};

int mb_device_open_bluez(const char *address, const struct mb_device_opts *opts,
			 struct mb_device **ret)
{
	struct miband_bluez_config cfg;
	struct miband_bluez_device_info info;
	struct dev_bluez *db;
	const char *env;
	int r;

	if (!address || !opts || !ret)
		return MIBAND_E_INVAL;
	db = calloc(1, sizeof(*db));
	if (!db)
		return MIBAND_E_IO;
	r = miband_bluez_parse_address(address, db->address);
	if (r < 0)
		goto fail;
	miband_bluez_config_init(&cfg);
	cfg.adapter = opts->adapter;
	/* diagnostics: how notifications are enabled (bluez.h) */
	env = getenv("MIBAND_BLUEZ_NOTIFY");
	if (env && !strcmp(env, "start"))
		cfg.notify_mode = MIBAND_BLUEZ_NOTIFY_START;
	else if (env && !strcmp(env, "acquire"))
		cfg.notify_mode = MIBAND_BLUEZ_NOTIFY_ACQUIRE;
	if (opts->verbose)
		cfg.log = log_stderr;
	r = miband_bluez_new(&cfg, &db->bz);
	if (r < 0)
		goto fail;
	if (opts->trace_path) {
		r = mb_trace_open(opts->trace_path, db->address,
				  opts->trace_secrets, miband_bluez_now_ms(),
				  &db->trace);
		if (r < 0)
			goto fail;
		miband_bluez_set_trace(db->bz, mb_trace_packet, db->trace);
	}
	r = miband_bluez_connect_sync(db->bz, db->address,
				      opts->connect_timeout_ms);
	if (r < 0) {
		if (opts->verbose && *miband_bluez_last_error(db->bz))
			fprintf(stderr, "bluez: %s\n",
				miband_bluez_last_error(db->bz));
		goto fail;
	}
	db->base.ops = &bz_ops;
	/* the advertised name tells the model; else what the caller
	 * expects */
	db->base.model = opts->model;
	if (miband_bluez_get_device_info(db->bz, &info) == 0 && info.has_model)
		db->base.model = info.model;
	*ret = &db->base;
	return 0;
fail:
	if (db->trace)
		mb_trace_close(db->trace, miband_bluez_now_ms());
	miband_bluez_unref(db->bz);
	free(db);
	return r;
}
