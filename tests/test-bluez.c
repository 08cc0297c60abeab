/*
 * The BlueZ central transport (src/bluez/central.c) against a fake
 * bluetoothd (tests/lib/fake-bluetoothd.c) on a private D-Bus daemon
 * (tests/lib/dbus-daemon.c).
 *
 * Each test starts the fake with the knobs it needs (struct fake_cfg) and
 * drives a real client session through the transport against the band
 * engine the fake serves; fake_get() reads what the client made the fake
 * do.
 *
 * Without dbus-daemon only the pure tests run; the others are skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "dbus-daemon.h"
#include "fake-bluetoothd.h"
#include "runner.h"
#include "miband/bluez.h"
#include "miband/miband.h"

/* ------------------------------------------------------------------ */
/* client helpers */

static void log_line(const char *line, void *ud)
{
	(void)ud;
	printf("#   bluez: %s\n", line);
}

static struct miband_bluez *client(enum miband_bluez_notify_mode mode)
{
	struct miband_bluez_config cfg;
	struct miband_bluez *bz = NULL;

	miband_bluez_config_init(&cfg);
	cfg.notify_mode = mode;
	if (getenv("MIBAND_TEST_VERBOSE"))
		cfg.log = log_line;
	if (miband_bluez_new(&cfg, &bz) < 0)
		return NULL;
	return bz;
}

static void session_init(struct miband_session *s)
{
	struct miband_session_config sc;

	miband_session_config_init(&sc, MIBAND_MODEL_MB3);
	sc.crypto = &miband_crypto_openssl;
	miband_session_init(s, &sc, fake_key);
}

/*
 * The pump of dev-bluez.c: drain, perform, wait.  Returns 1 with the
 * next event, 0 at the deadline, or the link's error.
 */
static int pump(struct miband_bluez *bz, struct miband_session *s, uint32_t ms,
		struct miband_event *ev)
{
	uint64_t end = test_mono_ms() + ms;

	for (;;) {
		struct miband_action a;
		uint64_t now, t;

		while (miband_session_next_action(s, &a) !=
		       MIBAND_ACTION_DONE) {
			if (a.type == MIBAND_ACTION_EVENT) {
				*ev = a.event;
				return 1;
			}
			if (miband_bluez_perform(bz, &a) < 0)
				return MIBAND_E_INTERNAL;
		}
		if (!miband_bluez_is_connected(bz) &&
		    miband_bluez_get_timeout(bz, &t) == 0 && t != 0)
			return miband_bluez_link_error(bz);
		now = test_mono_ms();
		if (now >= end)
			return 0;
		if (miband_bluez_wait(bz, (end - now) * 1000u) < 0)
			return MIBAND_E_NO_BLUEZ;
	}
}

/* Pumps until an event of type (skipping progress), or fails. */
static int pump_for(struct miband_bluez *bz, struct miband_session *s,
		    enum miband_event_type type, struct miband_event *ev)
{
	for (;;) {
		int r = pump(bz, s, 5000, ev);

		if (r <= 0)
			return r == 0 ? MIBAND_E_TIMEOUT : r;
		if (ev->type == type)
			return 1;
		if (ev->type == MIBAND_EV_ERROR)
			return ev->error;
	}
}

static int authenticate(struct miband_bluez *bz, struct miband_session *s)
{
	struct miband_event ev;
	int r;

	session_init(s);
	miband_bluez_attach_session(bz, s, NULL, NULL);
	r = miband_session_start_auth(s, MIBAND_AUTH_STORED, test_mono_ms());
	if (r < 0)
		return r;
	r = pump_for(bz, s, MIBAND_EV_AUTH_OK, &ev);
	return r == 1 ? 0 : r;
}

/* ------------------------------------------------------------------ */
/* pure functions */

TEST(map_error)
{
	CHECK_EQ(miband_bluez_map_error(
			 "org.freedesktop.DBus.Error.ServiceUnknown", "x",
			 MIBAND_E_CONNECT_FAILED),
		 MIBAND_E_NO_BLUEZ);
	CHECK_EQ(miband_bluez_map_error(
			 "org.freedesktop.DBus.Error.NameHasNoOwner", NULL,
			 MIBAND_E_DBUS),
		 MIBAND_E_NO_BLUEZ);
	CHECK_EQ(miband_bluez_map_error("org.freedesktop.DBus.Error.NoReply",
					"Method call timed out",
					MIBAND_E_WRITE_FAILED),
		 MIBAND_E_TIMEOUT);
	CHECK_EQ(miband_bluez_map_error(
			 "org.freedesktop.DBus.Error.UnknownObject", NULL,
			 MIBAND_E_WRITE_FAILED),
		 MIBAND_E_DISCONNECTED);
	CHECK_EQ(miband_bluez_map_error(
			 "org.freedesktop.DBus.Error.UnknownObject", NULL,
			 MIBAND_E_CONNECT_FAILED),
		 MIBAND_E_NOT_FOUND);
	CHECK_EQ(miband_bluez_map_error(
			 "org.freedesktop.DBus.Error.UnknownObject", NULL,
			 MIBAND_E_NO_ADAPTER),
		 MIBAND_E_NO_ADAPTER);
	CHECK_EQ(miband_bluez_map_error("org.bluez.Error.NotReady",
					"Resource Not Ready", MIBAND_E_DBUS),
		 MIBAND_E_NO_ADAPTER);
	CHECK_EQ(miband_bluez_map_error("org.bluez.Error.NotConnected", NULL,
					MIBAND_E_READ_FAILED),
		 MIBAND_E_DISCONNECTED);
	CHECK_EQ(miband_bluez_map_error("org.bluez.Error.Failed",
					"Not connected", MIBAND_E_WRITE_FAILED),
		 MIBAND_E_DISCONNECTED);
	CHECK_EQ(miband_bluez_map_error("org.bluez.Error.Failed",
					"le-connection-abort-by-local",
					MIBAND_E_CONNECT_FAILED),
		 MIBAND_E_CONNECT_FAILED);
	CHECK_EQ(miband_bluez_map_error("org.bluez.Error.InProgress", NULL,
					MIBAND_E_SUBSCRIBE_FAILED),
		 MIBAND_E_BUSY);
	CHECK_EQ(miband_bluez_map_error("org.bluez.Error.NotPermitted",
					"Write not permitted",
					MIBAND_E_WRITE_FAILED),
		 MIBAND_E_WRITE_FAILED);
	CHECK_EQ(miband_bluez_map_error("org.bluez.Error.Failed",
					"Operation failed with ATT error: 0x05",
					MIBAND_E_READ_FAILED),
		 MIBAND_E_READ_FAILED);
	CHECK_EQ(miband_bluez_map_error("org.bluez.Error.DoesNotExist", NULL,
					MIBAND_E_CONNECT_FAILED),
		 MIBAND_E_NOT_FOUND);
	CHECK_EQ(miband_bluez_map_error("com.example.Whatever", NULL, 0),
		 MIBAND_E_DBUS);
	CHECK_EQ(miband_bluez_map_error(NULL, NULL, MIBAND_E_READ_FAILED),
		 MIBAND_E_READ_FAILED);
}

TEST(parse_address)
{
	char a[18];

	memset(a, 'x', sizeof(a));
	CHECK_EQ(miband_bluez_parse_address("c8:0f:10:12:34:5a", a), 0);
	CHECK_STR(a, "C8:0F:10:12:34:5A");
	memset(a, 'x', sizeof(a));
	CHECK_EQ(miband_bluez_parse_address("C8-0F-10-12-34-56", a),
		 MIBAND_E_BAD_ADDRESS);
	CHECK_EQ(a[0], 'x'); /* untouched on failure */
	CHECK_EQ(miband_bluez_parse_address("C8:0F:10:12:34", a),
		 MIBAND_E_BAD_ADDRESS);
	CHECK_EQ(miband_bluez_parse_address("C8:0F:10:12:34:567", a),
		 MIBAND_E_BAD_ADDRESS);
	CHECK_EQ(miband_bluez_parse_address("G8:0F:10:12:34:56", a),
		 MIBAND_E_BAD_ADDRESS);
	CHECK_EQ(miband_bluez_parse_address("C80F:1012:34:56::", a),
		 MIBAND_E_BAD_ADDRESS);
	CHECK_EQ(miband_bluez_parse_address("emu", a), MIBAND_E_BAD_ADDRESS);
	CHECK_EQ(miband_bluez_parse_address(NULL, a), MIBAND_E_BAD_ADDRESS);
}

TEST(guess_model)
{
	enum miband_model m = MIBAND_MODEL_COUNT;

	CHECK_EQ(miband_bluez_guess_model("MI Band 2", &m), 0);
	CHECK_EQ(m, MIBAND_MODEL_MB2);
	CHECK_EQ(miband_bluez_guess_model("Mi Band 3", &m), 0);
	CHECK_EQ(m, MIBAND_MODEL_MB3);
	CHECK_EQ(miband_bluez_guess_model("Xiaomi Band 3", &m), 0);
	CHECK_EQ(m, MIBAND_MODEL_MB3);
	CHECK_EQ(miband_bluez_guess_model("Mi Smart Band 4", &m), 0);
	CHECK_EQ(m, MIBAND_MODEL_MB4);
	CHECK_EQ(miband_bluez_guess_model("Mi Smart Band 5", &m), 0);
	CHECK_EQ(m, MIBAND_MODEL_MB5);
	CHECK_EQ(miband_bluez_guess_model("Mi Smart Band 6", &m), 0);
	CHECK_EQ(m, MIBAND_MODEL_MB6);
	m = MIBAND_MODEL_COUNT;
	CHECK_EQ(miband_bluez_guess_model("Amazfit Bip", &m),
		 MIBAND_E_UNSUPPORTED);
	CHECK_EQ(miband_bluez_guess_model("", &m), MIBAND_E_UNSUPPORTED);
	CHECK_EQ(miband_bluez_guess_model(NULL, &m), MIBAND_E_UNSUPPORTED);
	CHECK_EQ(m, MIBAND_MODEL_COUNT);
}

/* ------------------------------------------------------------------ */
/* against the fake */

TEST(no_bluez)
{
	struct miband_bluez *bz;
	int r;

	NEED_BUS();
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	r = miband_bluez_connect_sync(bz, BAND_ADDR, 3000);
	CHECK_EQ(r, MIBAND_E_NO_BLUEZ);
	CHECK(strstr(miband_bluez_last_error(bz),
		     "org.freedesktop.DBus.Error"));
	r = miband_bluez_scan_sync(bz, NULL, 100, NULL, NULL);
	CHECK_EQ(r, MIBAND_E_NO_BLUEZ);
	miband_bluez_unref(bz);
}

TEST(no_adapter)
{
	struct fake_cfg fc = {.unpowered = true, .device_known = true};
	struct fake *f;
	struct miband_bluez *bz;
	int r;

	NEED_BUS();
	f = fake_start(&fc);
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	r = miband_bluez_connect_sync(bz, BAND_ADDR, 3000);
	miband_bluez_unref(bz);
	fake_stop(f);
	CHECK_EQ(r, MIBAND_E_NO_ADAPTER);
}

TEST(bad_address)
{
	struct miband_bluez *bz;

	NEED_BUS();
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	CHECK_EQ(miband_bluez_connect(bz, "C8:0F:10:12:34", 1000, NULL, NULL),
		 MIBAND_E_BAD_ADDRESS);
	miband_bluez_unref(bz);
}

struct seen {
	int bands, others, firsts;
	char name[64];
	bool has_model;
	enum miband_model model;
	int16_t rssi;
};

static void on_found(struct miband_bluez *bz,
		     const struct miband_bluez_device_info *d, bool first,
		     void *ud)
{
	struct seen *s = ud;

	(void)bz;
	if (first)
		s->firsts++;
	if (!strcmp(d->address, BAND_ADDR)) {
		s->bands++;
		snprintf(s->name, sizeof(s->name), "%s", d->name);
		s->has_model = d->has_model;
		s->model = d->model;
		s->rssi = d->rssi;
	} else {
		s->others++;
	}
}

TEST(scan_filters)
{
	struct fake_cfg fc = {.other_device = true};
	struct miband_bluez_scan_filter flt;
	struct seen s;
	struct fake *f;
	struct miband_bluez *bz;
	int r;

	NEED_BUS();
	f = fake_start(&fc);
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	/* default: Mi Band services, the kettle is not reported */
	memset(&s, 0, sizeof(s));
	r = miband_bluez_scan_sync(bz, NULL, 400, on_found, &s);
	CHECK_EQ(r, 1);
	CHECK(s.bands >= 1);
	CHECK_EQ(s.others, 0);
	CHECK_STR(s.name, "Mi Band 3");
	CHECK(s.has_model);
	CHECK_EQ(s.model, MIBAND_MODEL_MB3);
	CHECK(s.rssi < 0);
	CHECK(fake_get(f, &f->filter_uuids));
	CHECK(fake_get(f, &f->n_start_discovery) >= 1);
	/* a name filter that matches nothing */
	memset(&flt, 0, sizeof(flt));
	flt.name = "band 4";
	memset(&s, 0, sizeof(s));
	r = miband_bluez_scan_sync(bz, &flt, 300, on_found, &s);
	CHECK_EQ(r, 0);
	CHECK_EQ(s.bands, 0);
	/* any service with a name filter: only what the name matches */
	flt.any_service = true;
	flt.name = "KETTLE";
	memset(&s, 0, sizeof(s));
	r = miband_bluez_scan_sync(bz, &flt, 300, on_found, &s);
	CHECK_EQ(r, 1);
	CHECK_EQ(s.others, 1);
	CHECK_EQ(s.bands, 0);
	CHECK(!fake_get(f, &f->filter_uuids));
	miband_bluez_unref(bz);
	fake_stop(f);
}

TEST(connect_discovers_unknown_band)
{
	struct fake *f;
	struct miband_bluez *bz;
	struct miband_bluez_device_info info;
	int r;

	NEED_BUS();
	f = fake_start(NULL);
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	r = miband_bluez_connect_sync(bz, "c8:0f:10:12:34:56", 5000);
	CHECK_EQ(r, 0);
	CHECK(miband_bluez_is_connected(bz));
	CHECK(fake_get(f, &f->n_start_discovery) >= 1);
	CHECK(fake_get(f, &f->n_stop_discovery) >= 1);
	CHECK_EQ(fake_get(f, &f->n_connect), 1);
	CHECK(miband_bluez_has_channel(bz, MIBAND_CH_AUTH));
	CHECK(miband_bluez_has_channel(bz, MIBAND_CH_HR_MEAS));
	CHECK(miband_bluez_has_channel(bz, MIBAND_CH_DIS_PNP_ID));
	CHECK_EQ(miband_bluez_get_device_info(bz, &info), 0);
	CHECK_STR(info.address, BAND_ADDR);
	CHECK(info.has_model);
	CHECK_EQ(info.model, MIBAND_MODEL_MB3);
	CHECK_EQ(miband_bluez_connect(bz, BAND_ADDR, 1000, NULL, NULL),
		 MIBAND_E_STATE);
	miband_bluez_unref(bz);
	fake_stop(f);
}

TEST(discovery_restart_waits_for_stop)
{
	/* the band is only reported from the second discovery on, and a
	 * stop ends a discovery started before it completed */
	struct fake_cfg fc = {.appear_on_start = 2, .slow_stop = true};
	struct fake *f;
	struct miband_bluez *bz;

	NEED_BUS();
	f = fake_start(&fc);
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	CHECK_EQ(miband_bluez_connect_sync(bz, BAND_ADDR, 8000), 0);
	CHECK_EQ(fake_get(f, &f->n_start_discovery), 2);
	miband_bluez_unref(bz);
	fake_stop(f);
}

TEST(connect_retries_and_reads_properties)
{
	/* Connect fails once; no Connected/ServicesResolved signals at all:
	 * the transport retries and reads the properties itself */
	struct fake_cfg fc = {
		.device_known = true, .connect_failures = 1, .quiet = true};
	struct fake *f;
	struct miband_bluez *bz;
	int r;

	NEED_BUS();
	f = fake_start(&fc);
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	r = miband_bluez_connect_sync(bz, BAND_ADDR, 5000);
	CHECK_EQ(r, 0);
	CHECK_EQ(fake_get(f, &f->n_connect), 2);
	CHECK_EQ(fake_get(f, &f->n_start_discovery), 0);
	miband_bluez_unref(bz);
	fake_stop(f);
}

TEST(objects_after_services_resolved)
{
	struct fake_cfg fc = {.device_known = true, .late_objects = true};
	struct fake_cfg fc2 = {
		.device_known = true, .late_objects = true, .quiet = true};
	struct miband_session s;
	struct fake *f;
	struct miband_bluez *bz;

	NEED_BUS();
	f = fake_start(&fc);
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	CHECK_EQ(miband_bluez_connect_sync(bz, BAND_ADDR, 5000), 0);
	CHECK(miband_bluez_has_channel(bz, MIBAND_CH_AUTH));
	CHECK(miband_bluez_has_channel(bz, MIBAND_CH_HR_MEAS));
	CHECK_EQ(authenticate(bz, &s), 0);
	miband_bluez_attach_session(bz, NULL, NULL, NULL);
	miband_bluez_unref(bz);
	fake_stop(f);
	/* the same when the transport reads ServicesResolved itself */
	f = fake_start(&fc2);
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	CHECK_EQ(miband_bluez_connect_sync(bz, BAND_ADDR, 5000), 0);
	CHECK(miband_bluez_has_channel(bz, MIBAND_CH_AUTH));
	miband_bluez_unref(bz);
	fake_stop(f);
}

TEST(connect_failure_keeps_dbus_error)
{
	struct fake_cfg fc = {.device_known = true, .connect_failures = 99};
	struct fake *f;
	struct miband_bluez *bz;
	int r;

	NEED_BUS();
	f = fake_start(&fc);
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	r = miband_bluez_connect_sync(bz, BAND_ADDR, 5000);
	CHECK_EQ(r, MIBAND_E_CONNECT_FAILED);
	CHECK(strstr(miband_bluez_last_error(bz),
		     "org.bluez.Error.Failed: le-connection-abort-by-local"));
	CHECK_EQ(fake_get(f, &f->n_connect), 3);
	miband_bluez_unref(bz);
	fake_stop(f);
}

TEST(already_connected_is_instant)
{
	struct fake_cfg fc = {.connected = true};
	struct fake *f;
	struct miband_bluez *bz;
	int r;

	NEED_BUS();
	f = fake_start(&fc);
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	r = miband_bluez_connect_sync(bz, BAND_ADDR, 5000);
	CHECK_EQ(r, 0);
	CHECK_EQ(fake_get(f, &f->n_connect), 0);
	CHECK_EQ(fake_get(f, &f->n_start_discovery), 0);
	/* a blocking disconnect returns once BlueZ dropped the link */
	CHECK_EQ(miband_bluez_disconnect_sync(bz, 3000), 0);
	CHECK_EQ(fake_get(f, &f->n_disconnect), 1);
	CHECK(!miband_bluez_is_connected(bz));
	CHECK_EQ(miband_bluez_disconnect_sync(bz, 3000), 0);
	CHECK_EQ(fake_get(f, &f->n_disconnect), 1);
	miband_bluez_unref(bz);
	fake_stop(f);
}

TEST(not_found_and_no_service)
{
	struct fake_cfg fc = {.never_appears = true};
	struct fake_cfg fc2 = {.device_known = true, .omit_auth = true};
	struct fake *f;
	struct miband_bluez *bz;
	uint64_t t0;
	int r;

	NEED_BUS();
	f = fake_start(&fc);
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	t0 = test_mono_ms();
	r = miband_bluez_connect_sync(bz, BAND_ADDR, 600);
	CHECK_EQ(r, MIBAND_E_NOT_FOUND);
	CHECK(test_mono_ms() - t0 >= 600);
	CHECK(test_mono_ms() - t0 < 3000);
	miband_bluez_unref(bz);
	fake_stop(f);

	f = fake_start(&fc2);
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	r = miband_bluez_connect_sync(bz, BAND_ADDR, 3000);
	CHECK_EQ(r, MIBAND_E_NO_SERVICE);
	CHECK(!miband_bluez_is_connected(bz));
	miband_bluez_unref(bz);
	fake_stop(f);
}

TEST(auth_and_requests)
{
	struct fake_cfg fc = {.device_known = true};
	struct miband_session s;
	struct miband_request req;
	struct miband_event ev;
	struct fake *f;
	struct miband_bluez *bz;
	int r;

	NEED_BUS();
	f = fake_start(&fc);
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	CHECK_EQ(miband_bluez_connect_sync(bz, BAND_ADDR, 5000), 0);
	r = authenticate(bz, &s);
	CHECK_EQ(r, 0);
	/* auth is notified through StartNotify, never an acquired fd */
	CHECK(fake_get(f, &f->n_start_notify) >= 1);
	CHECK_EQ(fake_get(f, &f->n_acquire), 0);
	CHECK(fake_get(f, &f->n_write_cmd) >= 2); /* 02.., 03.. */
	/* battery: a read */
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_BATTERY;
	CHECK_EQ(miband_session_request(&s, &req, test_mono_ms()), 0);
	r = pump_for(bz, &s, MIBAND_EV_BATTERY, &ev);
	CHECK_EQ(r, 1);
	CHECK_EQ(ev.u.battery.level, 80);
	/* one-shot heart rate: HR_MEAS through AcquireNotify */
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_HR_ONESHOT;
	CHECK_EQ(miband_session_request(&s, &req, test_mono_ms()), 0);
	r = pump_for(bz, &s, MIBAND_EV_HR, &ev);
	CHECK_EQ(r, 1);
	CHECK(ev.u.bpm > 0);
	CHECK(fake_get(f, &f->n_acquire) >= 1);
	CHECK(fake_get(f, &f->n_write_req) >= 1); /* 2A39 is W only */
	miband_bluez_attach_session(bz, NULL, NULL, NULL);
	miband_session_wipe(&s);
	miband_bluez_unref(bz);
	fake_stop(f);
}

TEST(reconnect_costs_only_the_handshake)
{
	/* issue 7: a band BlueZ knows, a stored key.  One object-tree read,
	 * no discovery, one Connect, one property read, notifications on
	 * auth enabled once, the two auth writes, nothing else. */
	struct fake_cfg fc = {.device_known = true};
	struct miband_session s;
	struct fake *f;
	struct miband_bluez *bz;

	NEED_BUS();
	f = fake_start(&fc);
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	CHECK_EQ(miband_bluez_connect_sync(bz, BAND_ADDR, 5000), 0);
	CHECK_EQ(authenticate(bz, &s), 0);
	CHECK_EQ(fake_get(f, &f->n_managed_objects), 1);
	CHECK_EQ(fake_get(f, &f->n_filter), 0);
	CHECK_EQ(fake_get(f, &f->n_start_discovery), 0);
	CHECK_EQ(fake_get(f, &f->n_connect), 1);
	CHECK_EQ(fake_get(f, &f->n_start_notify), 1);
	CHECK_EQ(fake_get(f, &f->n_acquire), 0);
	CHECK_EQ(fake_get(f, &f->n_write_cmd), 2);
	CHECK_EQ(fake_get(f, &f->n_write_req), 0);
	CHECK_EQ(fake_get(f, &f->n_read), 0);
	/* those five calls plus the one GetAll(Device1) after Connect */
	CHECK_EQ(fake_get(f, &f->n_calls), 6);
	miband_bluez_attach_session(bz, NULL, NULL, NULL);
	miband_session_wipe(&s);
	miband_bluez_unref(bz);
	fake_stop(f);
}

TEST(read_echo_is_not_a_notification)
{
	/* everything through StartNotify: steps are subscribed, then read;
	 * bluetoothd signals the read value as a Value change too, which
	 * must not reach the session as a notification */
	struct fake_cfg fc = {.device_known = true};
	struct miband_session s;
	struct miband_request req;
	struct miband_event ev;
	struct fake *f;
	struct miband_bluez *bz;
	int r, reads;

	NEED_BUS();
	f = fake_start(&fc);
	bz = client(MIBAND_BLUEZ_NOTIFY_START);
	CHECK(bz);
	CHECK_EQ(miband_bluez_connect_sync(bz, BAND_ADDR, 5000), 0);
	CHECK_EQ(authenticate(bz, &s), 0);
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_STEPS_FOLLOW;
	CHECK_EQ(miband_session_request(&s, &req, test_mono_ms()), 0);
	CHECK_EQ(pump_for(bz, &s, MIBAND_EV_DONE, &ev), 1);
	reads = fake_get(f, &f->n_read);
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_STEPS;
	CHECK_EQ(miband_session_request(&s, &req, test_mono_ms()), 0);
	CHECK_EQ(pump_for(bz, &s, MIBAND_EV_STEPS, &ev), 1);
	CHECK_EQ(ev.request, MIBAND_REQ_STEPS);
	CHECK(fake_get(f, &f->n_read) > reads); /* it was a read */
	/* nothing else: no unsolicited steps event made of the echo */
	r = pump(bz, &s, 300, &ev);
	CHECK_EQ(r, 0);
	CHECK_EQ(fake_get(f, &f->n_acquire), 0);
	miband_bluez_attach_session(bz, NULL, NULL, NULL);
	miband_bluez_unref(bz);
	fake_stop(f);
}

TEST(peer_drop_and_reconnect)
{
	struct fake_cfg fc = {.device_known = true};
	struct miband_session s;
	struct miband_event ev;
	struct fake *f;
	struct miband_bluez *bz;
	int r;

	NEED_BUS();
	f = fake_start(&fc);
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	CHECK_EQ(miband_bluez_connect_sync(bz, BAND_ADDR, 5000), 0);
	CHECK_EQ(authenticate(bz, &s), 0);
	fake_cmd(f, CMD_DROP);
	do
		r = pump(bz, &s, 3000, &ev);
	while (r == 1);
	CHECK_EQ(r, MIBAND_E_DISCONNECTED);
	CHECK(!miband_bluez_is_connected(bz));
	CHECK_EQ(miband_bluez_link_error(bz), MIBAND_E_DISCONNECTED);
	/* reconnect: known device, no discovery, a fresh auth */
	CHECK_EQ(miband_bluez_connect_sync(bz, BAND_ADDR, 5000), 0);
	CHECK_EQ(fake_get(f, &f->n_start_discovery), 0);
	CHECK_EQ(fake_get(f, &f->n_connect), 2);
	CHECK_EQ(authenticate(bz, &s), 0);
	miband_bluez_attach_session(bz, NULL, NULL, NULL);
	miband_bluez_unref(bz);
	fake_stop(f);
}

TEST(hup_on_acquired_socket)
{
	struct fake_cfg fc = {.device_known = true};
	struct miband_session s;
	struct miband_request req;
	struct miband_event ev;
	struct fake *f;
	struct miband_bluez *bz;
	int r;

	NEED_BUS();
	f = fake_start(&fc);
	bz = client(MIBAND_BLUEZ_NOTIFY_ACQUIRE);
	CHECK(bz);
	CHECK_EQ(miband_bluez_connect_sync(bz, BAND_ADDR, 5000), 0);
	CHECK_EQ(authenticate(bz, &s), 0);
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_EVENTS_FOLLOW;
	CHECK_EQ(miband_session_request(&s, &req, test_mono_ms()), 0);
	CHECK_EQ(pump_for(bz, &s, MIBAND_EV_DONE, &ev), 1);
	CHECK(fake_get(f, &f->n_acquire) >= 1);
	fake_cmd(f, CMD_HUP);
	do
		r = pump(bz, &s, 3000, &ev);
	while (r == 1);
	CHECK_EQ(r, MIBAND_E_DISCONNECTED);
	miband_bluez_attach_session(bz, NULL, NULL, NULL);
	miband_bluez_unref(bz);
	fake_stop(f);
}

TEST(bluetoothd_leaves)
{
	struct fake_cfg fc = {.device_known = true};
	struct miband_session s;
	struct miband_event ev;
	struct fake *f;
	struct miband_bluez *bz;
	int r;

	NEED_BUS();
	f = fake_start(&fc);
	bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(bz);
	CHECK_EQ(miband_bluez_connect_sync(bz, BAND_ADDR, 5000), 0);
	CHECK_EQ(authenticate(bz, &s), 0);
	fake_cmd(f, CMD_LEAVE);
	do
		r = pump(bz, &s, 3000, &ev);
	while (r == 1);
	CHECK_EQ(r, MIBAND_E_NO_BLUEZ);
	miband_bluez_attach_session(bz, NULL, NULL, NULL);
	miband_bluez_unref(bz);
	fake_stop(f);
}

/* sd-event drives the transport; the ready callback drains the session */
struct ev_state {
	struct miband_bluez *bz;
	struct miband_session *s;
	sd_event *e;
	int authed;
	int error;
};

static void on_ready(struct miband_bluez *bz, void *ud)
{
	struct ev_state *st = ud;
	struct miband_action a;

	while (miband_session_next_action(st->s, &a) != MIBAND_ACTION_DONE) {
		if (a.type != MIBAND_ACTION_EVENT) {
			miband_bluez_perform(bz, &a);
			continue;
		}
		if (a.event.type == MIBAND_EV_AUTH_OK)
			st->authed = 1;
		else if (a.event.type == MIBAND_EV_ERROR)
			st->error = a.event.error;
		else
			continue;
		sd_event_exit(st->e, 0);
	}
}

static void on_connected(struct miband_bluez *bz, int status, void *ud)
{
	struct ev_state *st = ud;

	if (status < 0) {
		st->error = status;
		sd_event_exit(st->e, 0);
		return;
	}
	session_init(st->s);
	miband_bluez_attach_session(bz, st->s, on_ready, st);
	miband_session_start_auth(st->s, MIBAND_AUTH_STORED, test_mono_ms());
	on_ready(bz, st);
}

static int on_guard(sd_event_source *src, uint64_t usec, void *ud)
{
	struct ev_state *st = ud;

	(void)src, (void)usec;
	st->error = MIBAND_E_TIMEOUT;
	return sd_event_exit(st->e, 0);
}

TEST(sd_event_attach)
{
	struct fake_cfg fc = {.device_known = true};
	struct miband_session s;
	struct ev_state st;
	struct fake *f;
	sd_event_source *guard = NULL;

	NEED_BUS();
	f = fake_start(&fc);
	memset(&st, 0, sizeof(st));
	st.s = &s;
	st.bz = client(MIBAND_BLUEZ_NOTIFY_AUTO);
	CHECK(st.bz);
	CHECK_EQ(sd_event_new(&st.e), 0);
	CHECK_EQ(miband_bluez_attach_event(st.bz, st.e, 0), 0);
	CHECK_EQ(miband_bluez_attach_event(st.bz, st.e, 0), MIBAND_E_BUSY);
	CHECK_EQ(
		miband_bluez_connect(st.bz, BAND_ADDR, 5000, on_connected, &st),
		0);
	sd_event_add_time_relative(st.e, &guard, CLOCK_MONOTONIC, 10 * 1000000u,
				   0, on_guard, &st);
	sd_event_loop(st.e);
	sd_event_source_unref(guard);
	CHECK_EQ(st.error, 0);
	CHECK_EQ(st.authed, 1);
	miband_bluez_attach_session(st.bz, NULL, NULL, NULL);
	miband_bluez_unref(st.bz); /* detaches from the loop */
	sd_event_unref(st.e);
	fake_stop(f);
}

TEST_MAIN(T(map_error), T(parse_address), T(guess_model), T(no_bluez),
	  T(no_adapter), T(bad_address), T(scan_filters),
	  T(connect_discovers_unknown_band),
	  T(discovery_restart_waits_for_stop),
	  T(connect_retries_and_reads_properties),
	  T(objects_after_services_resolved),
	  T(connect_failure_keeps_dbus_error), T(already_connected_is_instant),
	  T(not_found_and_no_service), T(auth_and_requests),
	  T(reconnect_costs_only_the_handshake),
	  T(read_echo_is_not_a_notification), T(peer_drop_and_reconnect),
	  T(hup_on_acquired_socket), T(bluetoothd_leaves), T(sd_event_attach))
