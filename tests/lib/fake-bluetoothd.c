/*
 * The fake bluetoothd of fake-bluetoothd.h (what it exports and its knobs
 * are described there).
 *
 * How it works: the test thread and the fake share struct fake under its
 * lock; commands go to the fake's loop through an eventfd (fake_cmd), and
 * `ready` counts the commands done so that the caller can wait for them.
 */
#define _GNU_SOURCE
#include "fake-bluetoothd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runner.h"

const uint8_t fake_key[16] = {0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
			      0x38, 0x39, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45};

static void fake_count(struct fake *f, int *counter)
{
	pthread_mutex_lock(&f->lock);
	(*counter)++;
	pthread_mutex_unlock(&f->lock);
}

int fake_get(struct fake *f, const int *counter)
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
	miband_band_on_timeout(&f->band, test_mono_ms());
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
	att = miband_band_read(&f->band, c->ch, test_mono_ms(), buf,
			       sizeof(buf), &n);
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
				   !strcmp(type, "request"), test_mono_ms());
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
	miband_band_on_subscribe(&f->band, c->ch, true, test_mono_ms());
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
	miband_band_on_subscribe(&c->f->band, c->ch, false, test_mono_ms());
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
	miband_band_on_subscribe(&f->band, c->ch, true, test_mono_ms());
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
	miband_band_on_connect(&f->band, test_mono_ms());
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
	miband_band_on_disconnect(&f->band, test_mono_ms());
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
	miband_band_init(&f->band, &bc, fake_key, test_mono_ms());

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
		miband_band_on_connect(&f->band, test_mono_ms());
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
struct fake *fake_start(const struct fake_cfg *cfg)
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

void fake_cmd(struct fake *f, enum fake_cmd cmd)
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

void fake_stop(struct fake *f)
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
