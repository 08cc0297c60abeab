/*
 * The BlueZ central transport (src/bluez/central.c) against a fake
 * bluetoothd on a private D-Bus daemon.
 *
 * The suite starts its own dbus-daemon (allow-all policy) and points
 * DBUS_SYSTEM_BUS_ADDRESS at it.  Each test runs a fake org.bluez in a
 * thread of its own (its own sd-bus connection and sd-event loop): an
 * adapter, a band's Device1 object and, once "connected", a GATT tree
 * built from the channel table, all exported through an ObjectManager at
 * "/" with the signals BlueZ sends (InterfacesAdded/Removed,
 * PropertiesChanged, including BlueZ's Value echo after a ReadValue).  The
 * GATT side is the real band engine (src/emu), so the session
 * authenticates against it through the transport for real.  Knobs make the
 * fake misbehave the ways bluetoothd does: Connect failing
 * transiently, missing Connected/ServicesResolved signals, a band that
 * only shows up during discovery or never, no auth characteristic, the
 * peer dropping the link, an acquired socket closing, bluetoothd leaving
 * the bus.
 *
 * Without dbus-daemon only the pure tests run (the others say why).
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
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "runner.h"
#include "miband/bluez.h"
#include "miband/miband.h"

#define BAND_ADDR "C8:0F:10:12:34:56"
#define DEV_PATH "/org/bluez/hci0/dev_C8_0F_10_12_34_56"
#define HCI_PATH "/org/bluez/hci0"
#define IF_CHR "org.bluez.GattCharacteristic1"

static const uint8_t KEY[16] = {0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
				0x38, 0x39, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------------ */
/* the private bus */

static pid_t bus_pid;
static char bus_dir[64];
static int bus_state; /* 0: not tried, 1: running, -1: no dbus-daemon */

static void bus_stop(void)
{
	char p[128];

	if (bus_pid > 0) {
		kill(bus_pid, SIGTERM);
		waitpid(bus_pid, NULL, 0);
		bus_pid = 0;
	}
	if (bus_dir[0]) {
		snprintf(p, sizeof(p), "%s/bus", bus_dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/bus.conf", bus_dir);
		unlink(p);
		rmdir(bus_dir);
		bus_dir[0] = '\0';
	}
}

/* Starts dbus-daemon and waits for it through --print-address (no
 * sleeping: the daemon writes its address once it listens). */
static bool bus_start(void)
{
	static const char *daemons[] = {"/usr/bin/dbus-daemon",
					"/bin/dbus-daemon"};
	const char *daemon = NULL;
	char conf[128], line[512], arg[64];
	int pfd[2];
	size_t i, n = 0;
	FILE *f;

	for (i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++)
		if (access(daemons[i], X_OK) == 0)
			daemon = daemons[i];
	if (!daemon)
		return false;
	snprintf(bus_dir, sizeof(bus_dir), "/tmp/mb-bluez-test-XXXXXX");
	if (!mkdtemp(bus_dir))
		return false;
	snprintf(conf, sizeof(conf), "%s/bus.conf", bus_dir);
	f = fopen(conf, "w");
	if (!f)
		return false;
	fprintf(f,
		"<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus "
		"Configuration 1.0//EN\" \"http://www.freedesktop.org/"
		"standards/dbus/1.0/busconfig.dtd\">\n<busconfig>\n"
		"<listen>unix:path=%s/bus</listen><auth>EXTERNAL</auth>\n"
		"<policy context=\"default\"><allow user=\"*\"/>"
		"<allow own=\"*\"/><allow send_destination=\"*\"/>"
		"<allow receive_sender=\"*\"/></policy>\n</busconfig>\n",
		bus_dir);
	fclose(f);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return false;
	bus_pid = fork();
	if (bus_pid == 0) {
		snprintf(arg, sizeof(arg), "--print-address=%d", pfd[1]);
		int null = open("/dev/null", O_WRONLY);

		fcntl(pfd[1], F_SETFD, 0);
		if (null >= 0)
			dup2(null, 2); /* "Failed to set fd limit": noise */
		execl(daemon, daemon, "--nofork", "--nopidfile",
		      "--config-file", conf, arg, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (n < sizeof(line) - 1) {
		ssize_t r = read(pfd[0], line + n, sizeof(line) - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(line, '\n', n))
			break;
	}
	close(pfd[0]);
	line[n] = '\0';
	if (!n || !strchr(line, '\n'))
		return false;
	*strchr(line, '\n') = '\0';
	setenv("DBUS_SYSTEM_BUS_ADDRESS", line, 1);
	return true;
}

static bool need_bus(void)
{
	if (!bus_state) {
		bus_state = bus_start() ? 1 : -1;
		atexit(bus_stop);
	}
	return bus_state > 0;
}

/* ------------------------------------------------------------------ */
/* the fake bluetoothd */

struct fake_cfg {
	bool unpowered;	      /* the adapter is off */
	bool device_known;    /* the band is in the tree from the start */
	bool connected;	      /* ... and connected and resolved */
	bool never_appears;   /* discovery never finds it */
	int connect_failures; /* Connect fails this many times first */
	bool quiet;	      /* no Connected/ServicesResolved signals */
	bool omit_auth;	      /* no FEE1 auth characteristic */
	bool other_device;    /* a non-band LE device shows up too */
	bool late_objects;    /* ServicesResolved before InterfacesAdded */
	int appear_on_start;  /* seen only from the Nth StartDiscovery */
	bool slow_stop;	      /* StopDiscovery completes later and then
			       * ends any discovery (bluetoothd 5.66) */
	const char *name;     /* advertised name (default "Mi Band 3") */
};

struct fake;

struct fobj {
	struct fake *f;
	char path[160];
	sd_bus_slot *slot;
	const char *iface;
	/* Adapter1 / Device1 */
	char *address;
	char *name;
	char *adapter;
	int powered;
	int connected;
	int resolved;
	int paired;
	int16_t rssi;
	/* GattService1 / GattCharacteristic1 */
	char *uuid;
	char *parent;
	int primary;
	int ch;
	uint8_t props;
	uint8_t value[64];
	size_t vlen;
	int notifying;
	int nfd; /* acquired socket, our end */
};

enum fake_cmd { CMD_NONE, CMD_DROP, CMD_HUP, CMD_LEAVE, CMD_STOP };

struct fake {
	struct fake_cfg cfg;
	pthread_t thread;
	pthread_mutex_t lock;
	int cmd_fd;
	enum fake_cmd cmd;
	sd_event *ev;
	sd_bus *bus;
	sd_event_source *band_timer;
	sd_bus_slot *om_slot;
	struct fobj adapter, device, other;
	struct fobj svcs[8];
	size_t n_svcs;
	struct fobj chrs[MIBAND_CH_COUNT];
	bool gatt_exported;
	bool device_exported;
	struct miband_band band;
	/* what the client did (read under lock) */
	int n_connect, n_start_discovery, n_stop_discovery, n_filter;
	int n_start_notify, n_acquire, n_write_cmd, n_write_req, n_read;
	int n_disconnect;
	int n_calls, n_managed_objects; /* every method call; the tree */
	int discovering;
	sd_bus_message *stop_msg;
	int filter_uuids;
	char filter_transport[8];
	int ready;
	pthread_cond_t cond;
};

static void fake_count(struct fake *f, int *counter)
{
	pthread_mutex_lock(&f->lock);
	(*counter)++;
	pthread_mutex_unlock(&f->lock);
}

static int fake_get(struct fake *f, const int *counter)
{
	int v;

	pthread_mutex_lock(&f->lock);
	v = *counter;
	pthread_mutex_unlock(&f->lock);
	return v;
}

static int get_strv_uuids(sd_bus *bus, const char *path, const char *iface,
			  const char *prop, sd_bus_message *reply, void *ud,
			  sd_bus_error *e)
{
	struct fobj *o = ud;

	(void)bus, (void)path, (void)iface, (void)prop, (void)e;
	if (o == &o->f->other)
		return sd_bus_message_append(reply, "as", 0);
	return sd_bus_message_append(reply, "as", 2,
				     "0000fee0-0000-1000-8000-00805f9b34fb",
				     "0000fee1-0000-1000-8000-00805f9b34fb");
}

static int get_flags(sd_bus *bus, const char *path, const char *iface,
		     const char *prop, sd_bus_message *reply, void *ud,
		     sd_bus_error *e)
{
	struct fobj *o = ud;
	const char *v[5];
	int n = 0, r, i;

	(void)bus, (void)path, (void)iface, (void)prop, (void)e;
	if (o->props & MIBAND_PROP_READ)
		v[n++] = "read";
	if (o->props & MIBAND_PROP_WRITE_NR)
		v[n++] = "write-without-response";
	if (o->props & MIBAND_PROP_WRITE)
		v[n++] = "write";
	if (o->props & MIBAND_PROP_NOTIFY)
		v[n++] = "notify";
	r = sd_bus_message_open_container(reply, 'a', "s");
	for (i = 0; r >= 0 && i < n; i++)
		r = sd_bus_message_append(reply, "s", v[i]);
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int get_value(sd_bus *bus, const char *path, const char *iface,
		     const char *prop, sd_bus_message *reply, void *ud,
		     sd_bus_error *e)
{
	struct fobj *o = ud;

	(void)bus, (void)path, (void)iface, (void)prop, (void)e;
	return sd_bus_message_append_array(reply, 'y', o->value, o->vlen);
}

static void fake_pump_band(struct fake *f);
static void fake_drop(struct fake *f, bool signal_props);

/* ---- Adapter1 ---- */

static int m_set_filter(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct fobj *o = ud;
	struct fake *f = o->f;
	const char *key;
	int r;

	(void)e;
	fake_count(f, &f->n_filter);
	pthread_mutex_lock(&f->lock);
	f->filter_uuids = 0;
	f->filter_transport[0] = '\0';
	pthread_mutex_unlock(&f->lock);
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	while (r >= 0 && sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		sd_bus_message_read(m, "s", &key);
		if (!strcmp(key, "Transport")) {
			const char *t;

			sd_bus_message_read(m, "v", "s", &t);
			pthread_mutex_lock(&f->lock);
			snprintf(f->filter_transport,
				 sizeof(f->filter_transport), "%s", t);
			pthread_mutex_unlock(&f->lock);
		} else {
			if (!strcmp(key, "UUIDs")) {
				pthread_mutex_lock(&f->lock);
				f->filter_uuids = 1;
				pthread_mutex_unlock(&f->lock);
			}
			sd_bus_message_skip(m, "v");
		}
		sd_bus_message_exit_container(m);
	}
	return sd_bus_reply_method_return(m, "");
}

static void fake_export_device(struct fake *f, struct fobj *d);

static int on_appear(sd_event_source *s, uint64_t usec, void *ud)
{
	struct fake *f = ud;

	(void)s, (void)usec;
	if (!f->discovering)
		return 0; /* the report came while not discovering: lost */
	if (!f->device_exported)
		fake_export_device(f, &f->device);
	else
		f->device.rssi = -55; /* seen again */
	if (f->cfg.other_device && !f->other.slot)
		fake_export_device(f, &f->other);
	return 0;
}

static int m_start_discovery(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct fobj *o = ud;
	struct fake *f = o->f;

	(void)e;
	fake_count(f, &f->n_start_discovery);
	if (!o->powered)
		return sd_bus_reply_method_errorf(m, "org.bluez.Error.NotReady",
						  "Resource Not Ready");
	f->discovering = 1;
	if (!f->cfg.never_appears &&
	    fake_get(f, &f->n_start_discovery) >= f->cfg.appear_on_start)
		sd_event_add_time_relative(f->ev, NULL, CLOCK_MONOTONIC, 30000,
					   0, on_appear, f);
	return sd_bus_reply_method_return(m, "");
}

static int on_stop_done(sd_event_source *s, uint64_t usec, void *ud)
{
	struct fake *f = ud;

	(void)s, (void)usec;
	f->discovering = 0; /* also ends a discovery started meanwhile */
	sd_bus_reply_method_return(f->stop_msg, "");
	f->stop_msg = sd_bus_message_unref(f->stop_msg);
	return 0;
}

static int m_stop_discovery(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct fobj *o = ud;
	struct fake *f = o->f;

	(void)e;
	fake_count(f, &f->n_stop_discovery);
	if (!f->cfg.slow_stop || f->stop_msg) {
		f->discovering = 0;
		return sd_bus_reply_method_return(m, "");
	}
	f->stop_msg = sd_bus_message_ref(m);
	sd_event_add_time_relative(f->ev, NULL, CLOCK_MONOTONIC, 20000, 0,
				   on_stop_done, f);
	return 1;
}

static const sd_bus_vtable adapter_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Address", "s", NULL, offsetof(struct fobj, address),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Powered", "b", NULL, offsetof(struct fobj, powered),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_METHOD("SetDiscoveryFilter", "a{sv}", "", m_set_filter, 0),
	SD_BUS_METHOD("StartDiscovery", "", "", m_start_discovery, 0),
	SD_BUS_METHOD("StopDiscovery", "", "", m_stop_discovery, 0),
	SD_BUS_VTABLE_END};

/* ---- GATT objects ---- */

static struct fobj *fake_chr(struct fake *f, int ch)
{
	return ch >= 0 && ch < MIBAND_CH_COUNT && f->chrs[ch].slot
		       ? &f->chrs[ch]
		       : NULL;
}

/* The band notifies: through PropertiesChanged(Value) or the socket. */
static void fake_notify(struct fake *f, int ch, const uint8_t *d, size_t n)
{
	struct fobj *c = fake_chr(f, ch);

	if (!c || !c->notifying)
		return;
	if (c->nfd >= 0) {
		if (send(c->nfd, d, n, MSG_NOSIGNAL) < 0)
			perror("fake: send");
		return;
	}
	if (n > sizeof(c->value))
		n = sizeof(c->value);
	memcpy(c->value, d, n);
	c->vlen = n;
	sd_bus_emit_properties_changed(f->bus, c->path, IF_CHR, "Value", NULL);
}

static int on_band_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	struct fake *f = ud;

	(void)s, (void)usec;
	miband_band_on_timeout(&f->band, mono_ms());
	fake_pump_band(f);
	return 0;
}

static void fake_pump_band(struct fake *f)
{
	struct miband_band_action a;
	uint64_t d;

	while (miband_band_next_action(&f->band, &a) !=
	       MIBAND_BAND_ACTION_DONE) {
		if (a.type == MIBAND_BAND_ACTION_NOTIFY)
			fake_notify(f, a.channel, a.data, a.len);
		else if (a.type == MIBAND_BAND_ACTION_DISCONNECT)
			fake_drop(f, true);
	}
	d = miband_band_deadline_ms(&f->band);
	if (d == UINT64_MAX) {
		sd_event_source_set_enabled(f->band_timer, SD_EVENT_OFF);
	} else {
		sd_event_source_set_time(f->band_timer, d * 1000u);
		sd_event_source_set_enabled(f->band_timer, SD_EVENT_ONESHOT);
	}
}

static int m_read_value(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct fobj *c = ud;
	struct fake *f = c->f;
	sd_bus_message *reply = NULL;
	uint8_t buf[64];
	size_t n = 0;
	int att, r;

	(void)e;
	fake_count(f, &f->n_read);
	if (!f->device.connected)
		return sd_bus_reply_method_errorf(m, "org.bluez.Error.Failed",
						  "Not connected");
	if (!(c->props & MIBAND_PROP_READ))
		return sd_bus_reply_method_errorf(
			m, "org.bluez.Error.NotPermitted",
			"Read not permitted");
	att = miband_band_read(&f->band, c->ch, mono_ms(), buf, sizeof(buf),
			       &n);
	if (att)
		return sd_bus_reply_method_errorf(
			m, "org.bluez.Error.Failed",
			"Operation failed with ATT error: 0x%02x", att);
	memcpy(c->value, buf, n);
	c->vlen = n;
	sd_bus_emit_properties_changed(f->bus, c->path, IF_CHR, "Value", NULL);
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_append_array(reply, 'y', buf, n);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r;
}

static int m_write_value(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct fobj *c = ud;
	struct fake *f = c->f;
	const void *p;
	size_t n;
	const char *key, *type = "";
	int att, r;

	(void)e;
	r = sd_bus_message_read_array(m, 'y', &p, &n);
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	while (r >= 0 && sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		sd_bus_message_read(m, "s", &key);
		if (!strcmp(key, "type"))
			sd_bus_message_read(m, "v", "s", &type);
		else
			sd_bus_message_skip(m, "v");
		sd_bus_message_exit_container(m);
	}
	if (!strcmp(type, "request"))
		fake_count(f, &f->n_write_req);
	else if (!strcmp(type, "command"))
		fake_count(f, &f->n_write_cmd);
	if (!f->device.connected)
		return sd_bus_reply_method_errorf(m, "org.bluez.Error.Failed",
						  "Not connected");
	if (!(c->props & (MIBAND_PROP_WRITE | MIBAND_PROP_WRITE_NR)))
		return sd_bus_reply_method_errorf(
			m, "org.bluez.Error.NotPermitted",
			"Write not permitted");
	att = miband_band_on_write(&f->band, c->ch, p, n,
				   !strcmp(type, "request"), mono_ms());
	if (att)
		return sd_bus_reply_method_errorf(
			m, "org.bluez.Error.Failed",
			"Operation failed with ATT error: 0x%02x", att);
	r = sd_bus_reply_method_return(m, "");
	fake_pump_band(f); /* notifications after the write response */
	return r;
}

static int m_start_notify(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct fobj *c = ud;
	struct fake *f = c->f;

	(void)e;
	fake_count(f, &f->n_start_notify);
	if (c->nfd >= 0)
		return sd_bus_reply_method_errorf(
			m, "org.bluez.Error.NotPermitted", "Notify acquired");
	miband_band_on_subscribe(&f->band, c->ch, true, mono_ms());
	c->notifying = 1;
	return sd_bus_reply_method_return(m, "");
}

static int m_stop_notify(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct fobj *c = ud;

	(void)e;
	if (!c->notifying)
		return sd_bus_reply_method_errorf(m, "org.bluez.Error.Failed",
						  "No notify session started");
	miband_band_on_subscribe(&c->f->band, c->ch, false, mono_ms());
	c->notifying = 0;
	return sd_bus_reply_method_return(m, "");
}

static int m_acquire_notify(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct fobj *c = ud;
	struct fake *f = c->f;
	int sv[2], r;

	(void)e;
	fake_count(f, &f->n_acquire);
	if (c->notifying)
		return sd_bus_reply_method_errorf(
			m, "org.bluez.Error.InProgress", "In Progress");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	miband_band_on_subscribe(&f->band, c->ch, true, mono_ms());
	c->nfd = sv[0];
	c->notifying = 1;
	r = sd_bus_reply_method_return(m, "hq", sv[1], (uint16_t)23);
	close(sv[1]);
	return r;
}

static const sd_bus_vtable chr_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("UUID", "s", NULL, offsetof(struct fobj, uuid),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Service", "o", NULL, offsetof(struct fobj, parent),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Flags", "as", get_flags, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Value", "ay", get_value, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_METHOD("ReadValue", "a{sv}", "ay", m_read_value, 0),
	SD_BUS_METHOD("WriteValue", "aya{sv}", "", m_write_value, 0),
	SD_BUS_METHOD("StartNotify", "", "", m_start_notify, 0),
	SD_BUS_METHOD("StopNotify", "", "", m_stop_notify, 0),
	SD_BUS_METHOD("AcquireNotify", "a{sv}", "hq", m_acquire_notify, 0),
	SD_BUS_VTABLE_END};

static const sd_bus_vtable svc_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("UUID", "s", NULL, offsetof(struct fobj, uuid),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Device", "o", NULL, offsetof(struct fobj, parent),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Primary", "b", NULL, offsetof(struct fobj, primary),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END};

static void export(struct fake *f, struct fobj *o, const char *iface,
		   const sd_bus_vtable *vt)
{
	o->f = f;
	o->iface = iface;
	if (sd_bus_add_object_vtable(f->bus, &o->slot, o->path, iface, vt, o) <
	    0)
		fprintf(stderr, "fake: cannot export %s\n", o->path);
	sd_bus_emit_interfaces_added(f->bus, o->path, iface, NULL);
}

static void unexport(struct fake *f, struct fobj *o)
{
	if (!o->slot)
		return;
	sd_bus_emit_interfaces_removed(f->bus, o->path, o->iface, NULL);
	o->slot = sd_bus_slot_unref(o->slot);
	if (o->nfd >= 0)
		close(o->nfd);
	o->nfd = -1;
	o->notifying = 0;
}

/* One service per 16-bit service UUID, characteristics from the
 * channel table (with its Mi Band 3 properties). */
static void fake_export_gatt(struct fake *f)
{
	int ch;

	if (f->gatt_exported)
		return;
	f->n_svcs = 0;
	for (ch = 0; ch < MIBAND_CH_COUNT; ch++) {
		const struct miband_channel_info *ci = miband_channel_info(ch);
		struct fobj *s = NULL, *c = &f->chrs[ch];
		char uuid[37];
		size_t i;

		if (ch == MIBAND_CH_AUTH && f->cfg.omit_auth)
			continue;
		miband_uuid16_str(ci->service16, false, uuid, sizeof(uuid));
		for (i = 0; i < f->n_svcs; i++)
			if (!strcmp(f->svcs[i].uuid, uuid))
				s = &f->svcs[i];
		if (!s) {
			s = &f->svcs[f->n_svcs];
			memset(s, 0, sizeof(*s));
			s->nfd = -1;
			snprintf(s->path, sizeof(s->path), "%s/service%04zx",
				 DEV_PATH, 0x10 * (f->n_svcs + 1));
			free(s->uuid);
			s->uuid = strdup(uuid);
			s->parent = (char *)DEV_PATH;
			s->primary = 1;
			f->n_svcs++;
			export(f, s, "org.bluez.GattService1", svc_vtable);
		}
		memset(c, 0, sizeof(*c));
		c->nfd = -1;
		c->ch = ch;
		c->props = ci->props;
		snprintf(c->path, sizeof(c->path), "%.100s/char%04x", s->path,
			 0x100 + ch);
		miband_channel_uuid(ch, uuid, sizeof(uuid));
		c->uuid = strdup(uuid);
		c->parent = s->path;
		export(f, c, IF_CHR, chr_vtable);
	}
	f->gatt_exported = true;
}

static void fake_unexport_gatt(struct fake *f)
{
	size_t i;
	int ch;

	for (ch = 0; ch < MIBAND_CH_COUNT; ch++) {
		unexport(f, &f->chrs[ch]);
		free(f->chrs[ch].uuid);
		f->chrs[ch].uuid = NULL;
	}
	for (i = 0; i < f->n_svcs; i++) {
		unexport(f, &f->svcs[i]);
		free(f->svcs[i].uuid);
		f->svcs[i].uuid = NULL;
	}
	f->n_svcs = 0;
	f->gatt_exported = false;
}

/* ---- Device1 ---- */

static void set_dev(struct fake *f, int connected, int resolved, bool sig)
{
	struct fobj *d = &f->device;

	d->connected = connected;
	if (sig)
		sd_bus_emit_properties_changed(f->bus, d->path,
					       "org.bluez.Device1", "Connected",
					       NULL);
	d->resolved = resolved;
	if (sig)
		sd_bus_emit_properties_changed(f->bus, d->path,
					       "org.bluez.Device1",
					       "ServicesResolved", NULL);
}

static int on_late_objects(sd_event_source *s, uint64_t usec, void *ud)
{
	struct fake *f = ud;

	(void)s, (void)usec;
	if (f->device.connected)
		fake_export_gatt(f);
	return 0;
}

static int on_resolve(sd_event_source *s, uint64_t usec, void *ud)
{
	struct fake *f = ud;

	(void)s, (void)usec;
	if (!f->device.connected)
		return 0;
	if (f->cfg.late_objects) {
		/* bluetoothd answers properties at once but sends
		 * InterfacesAdded from an idle handler */
		set_dev(f, 1, 1, !f->cfg.quiet);
		sd_event_add_time_relative(f->ev, NULL, CLOCK_MONOTONIC, 50000,
					   0, on_late_objects, f);
		return 0;
	}
	fake_export_gatt(f);
	set_dev(f, 1, 1, !f->cfg.quiet);
	return 0;
}

static int m_connect(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct fobj *d = ud;
	struct fake *f = d->f;

	(void)e;
	fake_count(f, &f->n_connect);
	if (f->cfg.connect_failures > 0) {
		f->cfg.connect_failures--;
		return sd_bus_reply_method_errorf(
			m, "org.bluez.Error.Failed",
			"le-connection-abort-by-local");
	}
	if (d->connected)
		return sd_bus_reply_method_errorf(
			m, "org.bluez.Error.AlreadyConnected",
			"Already Connected");
	miband_band_on_connect(&f->band, mono_ms());
	set_dev(f, 1, 0, !f->cfg.quiet);
	sd_event_add_time_relative(f->ev, NULL, CLOCK_MONOTONIC, 20000, 0,
				   on_resolve, f);
	return sd_bus_reply_method_return(m, "");
}

static void fake_drop(struct fake *f, bool signal_props)
{
	if (!f->device.connected)
		return;
	fake_unexport_gatt(f);
	set_dev(f, 0, 0, signal_props);
	miband_band_on_disconnect(&f->band, mono_ms());
	fake_pump_band(f);
}

static int m_disconnect(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct fobj *d = ud;

	(void)e;
	fake_count(d->f, &d->f->n_disconnect);
	fake_drop(d->f, true);
	return sd_bus_reply_method_return(m, "");
}

static const sd_bus_vtable device_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Address", "s", NULL, offsetof(struct fobj, address),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Name", "s", NULL, offsetof(struct fobj, name),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Adapter", "o", NULL, offsetof(struct fobj, adapter),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("RSSI", "n", NULL, offsetof(struct fobj, rssi),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Connected", "b", NULL,
			offsetof(struct fobj, connected),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("ServicesResolved", "b", NULL,
			offsetof(struct fobj, resolved),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Paired", "b", NULL, offsetof(struct fobj, paired),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("UUIDs", "as", get_strv_uuids, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_METHOD("Connect", "", "", m_connect, 0),
	SD_BUS_METHOD("Disconnect", "", "", m_disconnect, 0),
	SD_BUS_VTABLE_END};

static void fake_export_device(struct fake *f, struct fobj *d)
{
	export(f, d, "org.bluez.Device1", device_vtable);
	if (d == &f->device)
		f->device_exported = true;
}

/* ---- thread ---- */

/* Counts every method call the fake gets, and GetManagedObjects (which
 * sd-bus's object manager answers without a handler of ours). */
static int on_filter(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct fake *f = ud;
	uint8_t type = 0;

	(void)e;
	if (sd_bus_message_get_type(m, &type) < 0 ||
	    type != SD_BUS_MESSAGE_METHOD_CALL)
		return 0;
	fake_count(f, &f->n_calls);
	if (sd_bus_message_is_method_call(m,
					  "org.freedesktop.DBus.ObjectManager",
					  "GetManagedObjects"))
		fake_count(f, &f->n_managed_objects);
	return 0;
}

static int on_cmd(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	struct fake *f = ud;
	uint64_t v;
	enum fake_cmd cmd;
	int ch;

	(void)s, (void)revents;
	if (read(fd, &v, sizeof(v)) < 0)
		return 0;
	pthread_mutex_lock(&f->lock);
	cmd = f->cmd;
	f->cmd = CMD_NONE;
	pthread_mutex_unlock(&f->lock);
	switch (cmd) {
	case CMD_DROP:
		fake_drop(f, true);
		break;
	case CMD_HUP:
		/* the acquired sockets close, no signal about it yet */
		for (ch = 0; ch < MIBAND_CH_COUNT; ch++) {
			if (f->chrs[ch].nfd >= 0) {
				close(f->chrs[ch].nfd);
				f->chrs[ch].nfd = -1;
				f->chrs[ch].notifying = 0;
			}
		}
		break;
	case CMD_LEAVE:
		sd_bus_release_name(f->bus, "org.bluez");
		break;
	case CMD_STOP:
		sd_event_exit(f->ev, 0);
		break;
	default:
		break;
	}
	pthread_mutex_lock(&f->lock);
	f->ready++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static void *fake_main(void *ud)
{
	struct fake *f = ud;
	struct miband_band_config bc;

	sd_event_new(&f->ev);
	sd_bus_open_system(&f->bus);
	sd_bus_add_filter(f->bus, NULL, on_filter, f);
	sd_bus_attach_event(f->bus, f->ev, 0);
	sd_event_add_io(f->ev, NULL, f->cmd_fd, EPOLLIN, on_cmd, f);
	sd_event_add_time(f->ev, &f->band_timer, CLOCK_MONOTONIC, UINT64_MAX, 0,
			  on_band_timer, f);
	sd_event_source_set_enabled(f->band_timer, SD_EVENT_OFF);

	miband_band_config_init(&bc, MIBAND_MODEL_MB3);
	bc.crypto = &miband_crypto_openssl;
	bc.unauth_drop_ms = 0;
	/* a whole minute: the band's own per-minute steps notification
	 * comes a minute after init, never during a test */
	bc.start_unix = 1700000040;
	miband_band_init(&f->band, &bc, KEY, mono_ms());

	sd_bus_add_object_manager(f->bus, &f->om_slot, "/");
	snprintf(f->adapter.path, sizeof(f->adapter.path), HCI_PATH);
	f->adapter.address = (char *)"00:11:22:33:44:55";
	f->adapter.powered = !f->cfg.unpowered;
	export(f, &f->adapter, "org.bluez.Adapter1", adapter_vtable);

	snprintf(f->device.path, sizeof(f->device.path), DEV_PATH);
	f->device.address = (char *)BAND_ADDR;
	f->device.name = (char *)(f->cfg.name ? f->cfg.name : "Mi Band 3");
	f->device.adapter = (char *)HCI_PATH;
	f->device.rssi = -60;
	f->device.nfd = -1;
	snprintf(f->other.path, sizeof(f->other.path),
		 "%s/dev_11_22_33_44_55_66", HCI_PATH);
	f->other.address = (char *)"11:22:33:44:55:66";
	f->other.name = (char *)"Kettle";
	f->other.adapter = (char *)HCI_PATH;
	f->other.rssi = -70;
	f->other.nfd = -1;
	if (f->cfg.device_known || f->cfg.connected)
		fake_export_device(f, &f->device);
	if (f->cfg.connected) {
		miband_band_on_connect(&f->band, mono_ms());
		f->device.connected = f->device.resolved = 1;
		fake_export_gatt(f);
	}
	sd_bus_request_name(f->bus, "org.bluez", 0);

	pthread_mutex_lock(&f->lock);
	f->ready++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	sd_event_loop(f->ev);

	f->stop_msg = sd_bus_message_unref(f->stop_msg);
	fake_unexport_gatt(f);
	unexport(f, &f->device);
	unexport(f, &f->other);
	unexport(f, &f->adapter);
	f->om_slot = sd_bus_slot_unref(f->om_slot);
	f->band_timer = sd_event_source_unref(f->band_timer);
	sd_bus_flush_close_unref(f->bus);
	sd_event_unref(f->ev);
	miband_band_wipe(&f->band);
	return NULL;
}

static void fake_wait_ready(struct fake *f, int n)
{
	pthread_mutex_lock(&f->lock);
	while (f->ready < n)
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
}

static struct fake *running_fake;
static void fake_stop(struct fake *f);

static struct fake *fake_start(const struct fake_cfg *cfg)
{
	struct fake *f;

	/* a failed CHECK returns early: stop what it left running */
	if (running_fake)
		fake_stop(running_fake);
	f = calloc(1, sizeof(*f));
	running_fake = f;

	if (cfg)
		f->cfg = *cfg;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->cmd_fd = eventfd(0, EFD_CLOEXEC);
	pthread_create(&f->thread, NULL, fake_main, f);
	fake_wait_ready(f, 1);
	return f;
}

/* Runs a command in the fake's thread and waits until it is done. */
static void fake_cmd(struct fake *f, enum fake_cmd cmd)
{
	uint64_t one = 1;
	int n;

	pthread_mutex_lock(&f->lock);
	f->cmd = cmd;
	n = f->ready + 1;
	pthread_mutex_unlock(&f->lock);
	if (write(f->cmd_fd, &one, sizeof(one)) < 0)
		return;
	fake_wait_ready(f, n);
}

static void fake_stop(struct fake *f)
{
	if (!f)
		return;
	if (f == running_fake)
		running_fake = NULL;
	fake_cmd(f, CMD_STOP);
	pthread_join(f->thread, NULL);
	close(f->cmd_fd);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f);
}

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
	miband_session_init(s, &sc, KEY);
}

/*
 * The pump of dev-bluez.c: drain, perform, wait.  Returns 1 with the
 * next event, 0 at the deadline, or the link's error.
 */
static int pump(struct miband_bluez *bz, struct miband_session *s, uint32_t ms,
		struct miband_event *ev)
{
	uint64_t end = mono_ms() + ms;

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
		now = mono_ms();
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
	r = miband_session_start_auth(s, MIBAND_AUTH_STORED, mono_ms());
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

#define NEED_BUS()                                                             \
	do {                                                                   \
		if (!need_bus())                                               \
			SKIP("needs dbus-daemon (Debian package dbus-daemon)"); \
	} while (0)

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
	t0 = mono_ms();
	r = miband_bluez_connect_sync(bz, BAND_ADDR, 600);
	CHECK_EQ(r, MIBAND_E_NOT_FOUND);
	CHECK(mono_ms() - t0 >= 600);
	CHECK(mono_ms() - t0 < 3000);
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
	CHECK_EQ(miband_session_request(&s, &req, mono_ms()), 0);
	r = pump_for(bz, &s, MIBAND_EV_BATTERY, &ev);
	CHECK_EQ(r, 1);
	CHECK_EQ(ev.u.battery.level, 80);
	/* one-shot heart rate: HR_MEAS through AcquireNotify */
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_HR_ONESHOT;
	CHECK_EQ(miband_session_request(&s, &req, mono_ms()), 0);
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
	CHECK_EQ(miband_session_request(&s, &req, mono_ms()), 0);
	CHECK_EQ(pump_for(bz, &s, MIBAND_EV_DONE, &ev), 1);
	reads = fake_get(f, &f->n_read);
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_STEPS;
	CHECK_EQ(miband_session_request(&s, &req, mono_ms()), 0);
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
	CHECK_EQ(miband_session_request(&s, &req, mono_ms()), 0);
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
	miband_session_start_auth(st->s, MIBAND_AUTH_STORED, mono_ms());
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
