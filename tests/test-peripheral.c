/*
 * The peripheral side of the BlueZ transport (src/bluez/peripheral.c)
 * against a fake bluetoothd and a fake central (tests/lib/fake-central.c)
 * on a private D-Bus daemon (tests/lib/dbus-daemon.c).
 *
 * Each test starts the peripheral with world_start() and plays the
 * central's side with app_call(); world_snapshot() shows what the fake
 * bluetoothd recorded.  Expected values come from PROTOCOL.md (handles,
 * message bytes) and from AES computed here with OpenSSL, never from the
 * code under test.
 *
 * Without dbus-daemon only the pure tests run; the others are skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bluez/peripheral.h"
#include "dbus-daemon.h"
#include "fake-central.h"
#include "miband/miband.h"
#include "runner.h"
static void aes(const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;

	EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, key, NULL);
	EVP_CIPHER_CTX_set_padding(c, 0);
	EVP_EncryptUpdate(c, out, &n, in, 16);
	EVP_CIPHER_CTX_free(c);
}
/* ------------------------------------------------------------------ */
/* pure */

TEST(format_redacts_key_material)
{
	uint8_t m[18] = {0x01, 0x00};
	char buf[128];

	memcpy(m + 2, world_key, 16);
	miband__periph_format_value(MIBAND_CH_AUTH, true, m, 18, buf,
				    sizeof(buf));
	CHECK_STR(buf, "01 00 [16 bytes redacted]");
	m[0] = 0x03;
	m[1] = 0x08;
	miband__periph_format_value(MIBAND_CH_AUTH, true, m, 18, buf,
				    sizeof(buf));
	CHECK_STR(buf, "03 08 [16 bytes redacted]");
	m[0] = 0x83; /* crypt-flag answer */
	miband__periph_format_value(MIBAND_CH_AUTH, true, m, 18, buf,
				    sizeof(buf));
	CHECK_STR(buf, "83 08 [16 bytes redacted]");
	/* Mi Fit's answer inside a chunked type-4 message */
	m[0] = 0x00;
	m[1] = 0x04;
	m[2] = 0x00;
	miband__periph_format_value(MIBAND_CH_CHUNKED, true, m, 18, buf,
				    sizeof(buf));
	CHECK_STR(buf, "00 04 00 [15 bytes redacted]");
}

TEST(format_shows_everything_else)
{
	static const uint8_t req[2] = {0x02, 0x00};
	static const uint8_t ok[3] = {0x10, 0x03, 0x01};
	uint8_t rnd[19] = {0x10, 0x02, 0x01, 0xaa};
	char buf[128];

	miband__periph_format_value(MIBAND_CH_AUTH, true, req, 2, buf,
				    sizeof(buf));
	CHECK_STR(buf, "02 00");
	miband__periph_format_value(MIBAND_CH_AUTH, false, ok, 3, buf,
				    sizeof(buf));
	CHECK_STR(buf, "10 03 01");
	/* the challenge travels in clear anyway */
	miband__periph_format_value(MIBAND_CH_AUTH, false, rnd, 4, buf,
				    sizeof(buf));
	CHECK_STR(buf, "10 02 01 aa");
	/* a set-key-looking write on another channel is just data */
	miband__periph_format_value(MIBAND_CH_CONFIG, true, req, 2, buf,
				    sizeof(buf));
	CHECK_STR(buf, "02 00");
	miband__periph_format_value(MIBAND_CH_CONFIG, true, req, 0, buf,
				    sizeof(buf));
	CHECK_STR(buf, "(empty)");
}

/* ------------------------------------------------------------------ */
/* against the fake bluetoothd */

TEST(registers_app_then_advertisement_mb3)
{
	struct world w;
	struct gatt_fake *f;
	struct robj *o;
	int i;

	NEED_BUS();
	CHECK_EQ(world_start(&w, MIBAND_MODEL_MB3, 0x0011, false, 0), 0);
	f = world_snapshot(&w);
	/* the GATT application is in place before anyone can connect */
	CHECK_STR(f->log, "app,adv");
	CHECK_EQ(f->registrations, 1);
	CHECK_STR(f->adv_name, "Mi Band 3");
	CHECK_EQ(f->n_adv_uuids, 2);
	CHECK_STR(f->adv_uuids[0], SIG16("fee0"));
	CHECK_STR(f->adv_uuids[1], SIG16("fee1"));
	CHECK_EQ(f->mfr_id, 0x0157);
	CHECK(f->mfr_len > 0 && f->mfr_len <= 8);
	/* bluetoothd's GAP serves the device name from the alias */
	CHECK_STR(f->alias, "Mi Band 3");
	/* GAP and GATT are bluetoothd's own: not exported */
	CHECK(find_obj(f, SIG16("1800"), 0) == NULL);
	CHECK(find_obj(f, SIG16("1801"), 0) == NULL);
	CHECK(find_obj(f, SIG16("180a"), 0) != NULL);
	o = find_obj(f, HUAMI("0009"), 1);
	CHECK(o != NULL);
	CHECK_STR(o->flags, "read write-without-response notify ");
	CHECK(!o->notify_acquired && !o->write_acquired);
	o = find_obj(f, SIG16("2a39"), 1);
	CHECK(o != NULL);
	CHECK_STR(o->flags, "read write ");
	/* every object got its handle from bluetoothd (no table handles) */
	for (i = 0; i < f->n_objs; i++)
		CHECK(f->objs[i].handle > 0x0011);

	miband__periph_stop(w.p);
	f = world_snapshot(&w);
	CHECK_STR(f->log, "app,adv,unadv,unapp");
	CHECK_STR(f->alias, "laptop");
	world_finish(&w);
}

TEST(mb2_serves_every_real_handle_when_allowed)
{
	struct world w;
	struct gatt_fake *f;
	struct robj *o;

	NEED_BUS();
	/* a bluetoothd whose own services end below the band's (none) */
	CHECK_EQ(world_start(&w, MIBAND_MODEL_MB2, 0, false, 0), 0);
	f = world_snapshot(&w);
	CHECK_EQ(f->registrations, 1);
	/* PROTOCOL.md 1.2: services and value handles */
	CHECK_EQ(handle_of(f, SIG16("180a"), 0), 0x000c);
	CHECK_EQ(handle_of(f, SIG16("fee0"), 0), 0x002d);
	CHECK_EQ(handle_of(f, SIG16("fee1"), 0), 0x0052);
	CHECK_EQ(handle_of(f, HUAMI("0009"), 1), 0x0054);
	CHECK_EQ(handle_of(f, HUAMI("0006"), 1), 0x0047);
	CHECK_EQ(handle_of(f, SIG16("2a2b"), 1), 0x002f);
	CHECK_EQ(handle_of(f, SIG16("2a46"), 1), 0x001f);
	/* the User Description of 2A46 sits at 0x0020 */
	CHECK_EQ(handle_of(f, SIG16("2901"), 2), 0x0020);
	/* the services span exactly the band's ranges */
	o = find_obj(f, SIG16("fee0"), 0);
	CHECK(o && o->size == 0x51 - 0x2d + 1);
	o = find_obj(f, SIG16("fee1"), 0);
	CHECK(o && o->size == 0x66 - 0x52 + 1);
	o = find_obj(f, SIG16("1811"), 0);
	CHECK(o && o->size == 0x23 - 0x1d + 1);
	world_finish(&w);
}

TEST(mb2_keeps_the_handles_above_bluetoothds_own)
{
	struct world w;
	struct gatt_fake *f;
	int i, i180a = -1, ifee1 = -1;

	NEED_BUS();
	/* bluez 5.66 with DeviceID=false: GAP + GATT up to 0x0011 */
	CHECK_EQ(world_start(&w, MIBAND_MODEL_MB2, 0x0011, false, 0), 0);
	f = world_snapshot(&w);
	/* refused, probed, registered with the services above 0x0011 */
	CHECK_STR(f->log, "refused,app,unapp,app,adv");
	CHECK_EQ(f->registrations, 3);
	CHECK_EQ(handle_of(f, SIG16("fee1"), 0), 0x0052);
	CHECK_EQ(handle_of(f, HUAMI("0009"), 1), 0x0054);
	CHECK_EQ(handle_of(f, HUAMI("0010"), 1), 0x0050);
	CHECK_EQ(handle_of(f, SIG16("1530"), 0), 0x0017);
	/* Device Information moves after the highest pinned handle */
	CHECK_EQ(handle_of(f, SIG16("180a"), 0), 0x0067);
	for (i = 0; i < f->n_objs; i++) {
		if (!strcmp(f->objs[i].uuid, SIG16("180a")))
			i180a = i;
		if (!strcmp(f->objs[i].uuid, SIG16("fee1")))
			ifee1 = i;
	}
	CHECK(i180a > ifee1); /* exported after the pinned services */
	world_finish(&w);
}

static bool auth_notes(struct world *w, int want)
{
	return world_pump(w, notes_at_least, &want, 3000);
}

TEST(auth_over_dbus_and_att_errors)
{
	static const uint8_t req[2] = {0x02, 0x00};
	uint8_t ans[18] = {0x03, 0x00};
	struct world w;
	struct call c;

	NEED_BUS();
	CHECK_EQ(world_start(&w, MIBAND_MODEL_MB3, 0x0011, false, 0), 0);
	gatt_fake_cmd(w.fake, 1); /* a central connects */
	/* before auth the battery is protected: 0x05 has no name in bluez
	 * 5.66, NotAuthorized is the closest */
	c = app_call(&w, HUAMI("0006"), "ReadValue", NULL, 0);
	CHECK_STR(c.error, "org.bluez.Error.NotAuthorized");
	c = app_call(&w, HUAMI("0009"), "StartNotify", NULL, 0);
	CHECK(c.done && !c.error[0]);
	c = app_call(&w, HUAMI("0009"), "WriteValue", req, 2);
	CHECK(c.done && !c.error[0]);
	CHECK(auth_notes(&w, 1));
	CHECK_EQ(w.note_len[0], 19);
	CHECK_MEM(w.notes[0], "\x10\x02\x01", 3);
	CHECK_STR(w.note_path[0], chr_path(&w, HUAMI("0009")));
	aes(world_key, w.notes[0] + 3, ans + 2);
	c = app_call(&w, HUAMI("0009"), "WriteValue", ans, 18);
	CHECK(c.done && !c.error[0]);
	CHECK(auth_notes(&w, 2));
	CHECK_EQ(w.note_len[1], 3);
	CHECK_MEM(w.notes[1], "\x10\x03\x01", 3);
	/* now the battery reads: 20 bytes, level <= 100 */
	c = app_call(&w, HUAMI("0006"), "ReadValue", NULL, 0);
	CHECK(!c.error[0]);
	CHECK_EQ(c.len, 20);
	CHECK(c.data[1] <= 100);
	/* a characteristic without read: NotPermitted (read not permitted) */
	c = app_call(&w, HUAMI("0010"), "ReadValue", NULL, 0);
	CHECK_STR(c.error, "org.bluez.Error.NotPermitted");
	CHECK(w.n_events > 0 &&
	      w.events[w.n_events - 1] == MIBAND_BAND_EV_AUTHED);
	world_finish(&w);
}

TEST(wrong_answer_gets_10_03_04)
{
	static const uint8_t req[2] = {0x02, 0x00};
	uint8_t ans[18] = {0x03, 0x00}, bad[16];
	struct world w;

	NEED_BUS();
	CHECK_EQ(world_start(&w, MIBAND_MODEL_MB3, 0x0011, false, 0), 0);
	/* bluetoothd calls StartNotify at once but signals Connected from an
	 * idle handler: the CCCD write can come first */
	app_call(&w, HUAMI("0009"), "StartNotify", NULL, 0);
	gatt_fake_cmd(w.fake, 1);
	app_call(&w, HUAMI("0009"), "WriteValue", req, 2);
	CHECK(auth_notes(&w, 1));
	memcpy(bad, world_key, 16);
	bad[15] ^= 1;
	aes(bad, w.notes[0] + 3, ans + 2);
	app_call(&w, HUAMI("0009"), "WriteValue", ans, 18);
	CHECK(auth_notes(&w, 2));
	CHECK_EQ(w.note_len[1], 3);
	CHECK_MEM(w.notes[1], "\x10\x03\x04", 3);
	world_finish(&w);
}

static bool readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1;
}

static bool fd_has_data(struct world *w, void *arg)
{
	(void)w;
	return readable(*(int *)arg, 0);
}

TEST(acquired_sockets_carry_writes_and_notifications)
{
	static const uint8_t req[2] = {0x02, 0x00};
	struct world w;
	struct gatt_fake *f;
	struct robj *o;
	struct call nt, wr, again;
	uint8_t buf[64];
	ssize_t n;

	NEED_BUS();
	CHECK_EQ(world_start(&w, MIBAND_MODEL_MB3, 0x0011, true, 0), 0);
	f = world_snapshot(&w);
	o = find_obj(f, HUAMI("0009"), 1);
	/* auth notifies and takes only write-without-response: both */
	CHECK(o && o->notify_acquired && o->write_acquired);
	/* 2A39 takes write requests: no write socket, errors must return */
	o = find_obj(f, SIG16("2a39"), 1);
	CHECK(o && !o->write_acquired && !o->notify_acquired);
	gatt_fake_cmd(w.fake, 1);
	nt = app_call(&w, HUAMI("0009"), "AcquireNotify", NULL, 0);
	CHECK(!nt.error[0] && nt.fd >= 0);
	CHECK_EQ(nt.mtu, 23);
	wr = app_call(&w, HUAMI("0009"), "AcquireWrite", NULL, 0);
	CHECK(!wr.error[0] && wr.fd >= 0);
	/* bluetoothd writes the client's 02 00 into the socket */
	CHECK_EQ(send(wr.fd, req, 2, 0), 2);
	CHECK(world_pump(&w, fd_has_data, &nt.fd, 3000));
	n = recv(nt.fd, buf, sizeof(buf), 0);
	CHECK_EQ(n, 19);
	CHECK_MEM(buf, "\x10\x02\x01", 3);
	CHECK_EQ(w.n_notes, 0); /* not also as PropertiesChanged */
	/* a second AcquireNotify while one is held is refused */
	again = app_call(&w, HUAMI("0009"), "AcquireNotify", NULL, 0);
	CHECK_STR(again.error, "org.bluez.Error.NotPermitted");
	close(nt.fd);
	close(wr.fd);
	world_finish(&w);
}

static bool disconnected(struct world *w, void *arg)
{
	int n;

	(void)arg;
	pthread_mutex_lock(&w->fake->mu);
	n = w->fake->disconnects;
	pthread_mutex_unlock(&w->fake->mu);
	return n > 0;
}

TEST(unauthenticated_link_is_dropped_on_the_engines_deadline)
{
	struct world w;
	uint64_t t0;

	NEED_BUS();
	CHECK_EQ(world_start(&w, MIBAND_MODEL_MB3, 0x0011, false, 300), 0);
	t0 = test_mono_ms();
	gatt_fake_cmd(w.fake, 1);
	/* the engine's DISCONNECT becomes Device1.Disconnect */
	CHECK(world_pump(&w, disconnected, NULL, 5000));
	CHECK(test_mono_ms() - t0 >= 250);
	CHECK(w.n_events > 0 &&
	      w.events[w.n_events - 1] == MIBAND_BAND_EV_UNAUTH_DROP);
	world_finish(&w);
}

TEST(stop_drops_the_link_then_unregisters)
{
	struct world w;
	struct gatt_fake *f;
	struct call c;

	NEED_BUS();
	CHECK_EQ(world_start(&w, MIBAND_MODEL_MB3, 0x0011, false, 0), 0);
	/* a read names the connected central */
	c = app_call(&w, SIG16("2a50"), "ReadValue", NULL, 0);
	CHECK(c.done && !c.error[0]);
	CHECK_EQ(c.len, 7);
	CHECK_EQ(c.data[1] | c.data[2] << 8, 0x0157); /* PnP: Huami */
	miband__periph_stop(w.p);
	f = world_snapshot(&w);
	/* Disconnect went out before the unregister calls, which returned */
	CHECK_EQ(f->disconnects, 1);
	CHECK_STR(f->log, "app,adv,unadv,unapp");
	/* the advertised payload is the product and version of that PnP ID */
	CHECK_EQ(f->mfr_len, 4);
	CHECK_MEM(f->mfr, c.data + 3, 4);
	world_finish(&w);
}

static bool state_error(struct world *w, void *arg)
{
	(void)arg;
	return w->state < 0;
}

TEST(bluetoothd_leaving_the_bus_is_reported)
{
	struct world w;

	NEED_BUS();
	CHECK_EQ(world_start(&w, MIBAND_MODEL_MB3, 0x0011, false, 0), 0);
	gatt_fake_cmd(w.fake, 3);
	CHECK(world_pump(&w, state_error, NULL, 5000));
	CHECK_EQ(w.state, MIBAND_E_NO_BLUEZ);
	world_finish(&w);
}

TEST(no_bluetoothd)
{
	struct miband__periph_config cfg;
	struct miband__periph *p = NULL;
	sd_event *ev = NULL;

	NEED_BUS();
	world_cleanup();
	sd_event_new(&ev);
	miband__periph_config_init(&cfg, MIBAND_MODEL_MB3);
	cfg.band.crypto = &miband_crypto_openssl;
	CHECK_EQ(miband__periph_new(&cfg, ev, &p), 0);
	CHECK_EQ(miband__periph_start(p), MIBAND_E_NO_BLUEZ);
	CHECK(strstr(miband__periph_error(p), "bluetoothd") != NULL);
	miband__periph_free(p);
	sd_event_unref(ev);
}

/* ------------------------------------------------------------------ */
/* a bluetoothd served from the test's own loop: the peripheral must
 * never wait for it, or the test cannot answer */

struct lone {
	sd_bus *bus;
	const char *objects_error; /* GetManagedObjects fails with this */
	int objects_calls, alias_gets, registrations, advertisements;
	char alias[64];
	char order[128]; /* the calls, in order */
	int state;	 /* 1 ready, negative error, 0 none yet */
};

static void lone_note(struct lone *l, const char *what)
{
	size_t n = strlen(l->order);

	snprintf(l->order + n, sizeof(l->order) - n, "%s%s", n ? "," : "",
		 what);
}

static int lone_root(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct lone *l = ud;

	(void)e;
	if (!sd_bus_message_is_method_call(m,
					   "org.freedesktop.DBus."
					   "ObjectManager",
					   "GetManagedObjects"))
		return 0;
	l->objects_calls++;
	lone_note(l, "objects");
	if (l->objects_error)
		return sd_bus_reply_method_errorf(m, l->objects_error,
						  "refused by the test");
	return sd_bus_reply_method_return(m, "a{oa{sa{sv}}}", 1, HCI, 3,
					  "org.bluez.Adapter1", 2, "Address",
					  "s", "00:AA:01:00:00:07", "Powered",
					  "b", 1, "org.bluez.GattManager1", 0,
					  "org.bluez.LEAdvertisingManager1", 0);
}

static int lone_hci(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct lone *l = ud;
	const char *iface, *prop, *v;

	(void)e;
	if (sd_bus_message_is_method_call(m, IF_PROPS, "Get")) {
		sd_bus_message_read(m, "ss", &iface, &prop);
		l->alias_gets++;
		lone_note(l, "get-alias");
		return sd_bus_reply_method_return(m, "v", "s", l->alias);
	}
	if (sd_bus_message_is_method_call(m, IF_PROPS, "Set")) {
		sd_bus_message_read(m, "ss", &iface, &prop);
		sd_bus_message_read(m, "v", "s", &v);
		snprintf(l->alias, sizeof(l->alias), "%s", v);
		lone_note(l, "set-alias");
		return sd_bus_reply_method_return(m, "");
	}
	if (sd_bus_message_is_method_call(m, "org.bluez.GattManager1",
					  "RegisterApplication")) {
		l->registrations++;
		lone_note(l, "app");
		return sd_bus_reply_method_return(m, "");
	}
	if (sd_bus_message_is_method_call(m, "org.bluez.LEAdvertisingManager1",
					  "RegisterAdvertisement")) {
		l->advertisements++;
		lone_note(l, "adv");
		return sd_bus_reply_method_return(m, "");
	}
	return 0;
}

static void lone_state(int err, void *ud)
{
	struct lone *l = ud;

	l->state = err ? err : 1;
}

/* Starts a peripheral against a lone bluetoothd on ev; returns start's
 * result.  The lone bluetoothd answers only while the test runs ev. */
static int lone_start(struct lone *l, sd_event *ev, struct miband__periph **p)
{
	struct miband__periph_config cfg;
	int r;

	world_cleanup();
	sd_bus_open_system(&l->bus);
	sd_bus_attach_event(l->bus, ev, 0);
	sd_bus_add_object(l->bus, NULL, "/", lone_root, l);
	sd_bus_add_object(l->bus, NULL, HCI, lone_hci, l);
	sd_bus_request_name(l->bus, "org.bluez", 0);
	snprintf(l->alias, sizeof(l->alias), "laptop");
	miband__periph_config_init(&cfg, MIBAND_MODEL_MB3);
	cfg.band.crypto = &miband_crypto_openssl;
	cfg.state = lone_state;
	cfg.user_data = l;
	r = miband__periph_new(&cfg, ev, p);
	if (r < 0)
		return r;
	return miband__periph_start(*p);
}

/* Runs ev until the peripheral reported, at most ms. */
static bool lone_wait(struct lone *l, sd_event *ev, unsigned ms)
{
	uint64_t end = test_mono_ms() + ms;

	while (!l->state && test_mono_ms() < end)
		sd_event_run(ev, 20000);
	return l->state != 0;
}

/* bluetoothd goes first: every blocking call of stop() then fails at once
 * (no owner) instead of waiting for a loop nobody runs. */
static void lone_end(struct lone *l, sd_event *ev, struct miband__periph *p)
{
	sd_bus_flush_close_unref(l->bus);
	miband__periph_free(p);
	sd_event_unref(ev);
}

TEST(start_waits_for_no_reply_from_bluetoothd)
{
	struct lone l;
	struct miband__periph *p = NULL;
	sd_event *ev = NULL;

	NEED_BUS();
	memset(&l, 0, sizeof(l));
	sd_event_new(&ev);
	/* nothing on this thread answers until the loop runs: a start that
	 * waited for GetManagedObjects or the alias would time out here */
	CHECK_EQ(lone_start(&l, ev, &p), 0);
	CHECK_EQ(l.objects_calls, 0);
	CHECK(lone_wait(&l, ev, 10000));
	CHECK_EQ(l.state, 1);
	CHECK_STR(l.order, "objects,get-alias,set-alias,app,adv");
	CHECK_STR(l.alias, "Mi Band 3");
	CHECK_STR(miband__periph_adapter(p), "hci0");
	CHECK_STR(miband__periph_address(p), "00:AA:01:00:00:07");
	lone_end(&l, ev, p);
}

/* bluetoothd's errors mean what they mean on the central's side
 * (miband_bluez_map_error, include/miband/bluez.h) */
TEST(start_errors_use_the_transports_error_map)
{
	static const struct {
		const char *name;
		int code;
	} cases[] = {
		{"org.freedesktop.DBus.Error.Disconnected", MIBAND_E_NO_BLUEZ},
		{"org.freedesktop.DBus.Error.ServiceUnknown",
		 MIBAND_E_NO_BLUEZ},
		{"org.freedesktop.DBus.Error.NoReply", MIBAND_E_TIMEOUT},
		{"org.bluez.Error.NotReady", MIBAND_E_NO_ADAPTER},
		{"org.bluez.Error.Failed", MIBAND_E_DBUS},
	};
	size_t i;

	NEED_BUS();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lone l;
		struct miband__periph *p = NULL;
		sd_event *ev = NULL;

		memset(&l, 0, sizeof(l));
		l.objects_error = cases[i].name;
		sd_event_new(&ev);
		CHECK_EQ(lone_start(&l, ev, &p), 0);
		CHECK(lone_wait(&l, ev, 10000));
		CHECK_EQ(l.state, cases[i].code);
		CHECK_STR(l.order, "objects");
		lone_end(&l, ev, p);
	}
}

TEST_MAIN(T(format_redacts_key_material), T(format_shows_everything_else),
	  T(registers_app_then_advertisement_mb3),
	  T(mb2_serves_every_real_handle_when_allowed),
	  T(mb2_keeps_the_handles_above_bluetoothds_own),
	  T(auth_over_dbus_and_att_errors), T(wrong_answer_gets_10_03_04),
	  T(acquired_sockets_carry_writes_and_notifications),
	  T(unauthenticated_link_is_dropped_on_the_engines_deadline),
	  T(stop_drops_the_link_then_unregisters),
	  T(bluetoothd_leaving_the_bus_is_reported), T(no_bluetoothd),
	  T(start_waits_for_no_reply_from_bluetoothd),
	  T(start_errors_use_the_transports_error_map))
