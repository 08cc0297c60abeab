/*
 * The fake bluetoothd and the fake central of fake-central.h (what they
 * do is described there).
 *
 * How it works: the fake's thread and the test thread share struct
 * gatt_fake under its mutex; the test thread sends commands through an
 * eventfd (gatt_fake_cmd) and the fake's loop runs them.  The world keeps
 * what world_start() set up in `live`, so that a test that failed (and
 * returned early) is cleaned up by the next world_start() instead of
 * leaving a fake bluetoothd on the bus.
 */
#define _GNU_SOURCE
#include "fake-central.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "runner.h"

const uint8_t world_key[16] = {0x8e, 0x4a, 0x17, 0xc2, 0xd3, 0xb6, 0xf0, 0x5a,
			       0x19, 0xe2, 0x7c, 0x44, 0xb0, 0xd3, 0xa6, 0xf1};

static void flog(struct gatt_fake *f, const char *what)
{
	size_t n = strlen(f->log);

	snprintf(f->log + n, sizeof(f->log) - n, "%s%s", n ? "," : "", what);
}

static int om_root(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct gatt_fake *f = ud;
	sd_bus_message *r = NULL;

	(void)e;
	if (!sd_bus_message_is_method_call(m,
					   "org.freedesktop.DBus."
					   "ObjectManager",
					   "GetManagedObjects"))
		return 0;
	pthread_mutex_lock(&f->mu);
	sd_bus_message_new_method_return(m, &r);
	sd_bus_message_append(r, "a{oa{sa{sv}}}", 1, HCI, 3,
			      "org.bluez.Adapter1", 3, "Address", "s",
			      "00:AA:01:00:00:00", "Powered", "b", 1, "Alias",
			      "s", f->alias, "org.bluez.GattManager1", 0,
			      "org.bluez.LEAdvertisingManager1", 0);
	pthread_mutex_unlock(&f->mu);
	sd_bus_send(NULL, r, NULL);
	sd_bus_message_unref(r);
	return 1;
}

static int read_app_object(struct gatt_fake *f, sd_bus_message *m)
{
	struct robj *o = &f->objs[f->n_objs];
	const char *path, *iface, *k, *s;
	int r;

	r = sd_bus_message_read(m, "o", &path);
	if (r < 0)
		return r;
	memset(o, 0, sizeof(*o));
	snprintf(o->path, sizeof(o->path), "%s", path);
	r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
	while (r >= 0 &&
	       (r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
		sd_bus_message_read(m, "s", &iface);
		o->kind = strstr(iface, "Service")	    ? 0
			  : strstr(iface, "Characteristic") ? 1
							    : 2;
		r = sd_bus_message_enter_container(m, 'a', "{sv}");
		while (r >= 0 &&
		       (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
			sd_bus_message_read(m, "s", &k);
			if (!strcmp(k, "UUID")) {
				r = sd_bus_message_read(m, "v", "s", &s);
				snprintf(o->uuid, sizeof(o->uuid), "%s", s);
			} else if (!strcmp(k, "Handle")) {
				r = sd_bus_message_read(m, "v", "q",
							&o->handle);
				o->has_handle = true;
			} else if (!strcmp(k, "Flags")) {
				r = sd_bus_message_enter_container(m, 'v',
								   "as");
				r = sd_bus_message_enter_container(m, 'a', "s");
				while ((r = sd_bus_message_read(m, "s", &s)) >
				       0) {
					strcat(o->flags, s);
					strcat(o->flags, " ");
				}
				sd_bus_message_exit_container(m);
				r = sd_bus_message_exit_container(m);
			} else {
				if (!strcmp(k, "NotifyAcquired"))
					o->notify_acquired = true;
				if (!strcmp(k, "WriteAcquired"))
					o->write_acquired = true;
				r = sd_bus_message_skip(m, "v");
			}
			sd_bus_message_exit_container(m);
		}
		sd_bus_message_exit_container(m);
		sd_bus_message_exit_container(m);
	}
	sd_bus_message_exit_container(m);
	if (f->n_objs < MAX_OBJS - 1)
		f->n_objs++;
	return 0;
}

/* Allocates handles as bluetoothd does: pinned services where they ask
 * (refused when they overlap its own), the others after the highest
 * handle in use, in the order received; a characteristic takes a
 * declaration, its value and a CCCD when it notifies, then its
 * descriptors. */
static bool allocate(struct gatt_fake *f)
{
	int i, j, next, max_end = f->own_end;

	for (i = 0; i < f->n_objs; i++) {
		struct robj *s = &f->objs[i];

		if (s->kind != 0)
			continue;
		s->size = 1;
		for (j = 0; j < f->n_objs; j++) {
			struct robj *c = &f->objs[j];

			if (!strncmp(c->path, s->path, strlen(s->path)) &&
			    c->path[strlen(s->path)] == '/')
				c->parent = i;
			else
				continue;
			if (c->kind == 1)
				s->size += 2 +
					   (strstr(c->flags, "notify") ? 1 : 0);
			else
				s->size += 1;
		}
		if (s->handle && s->handle <= f->own_end)
			return false;
		if (s->handle && s->handle + s->size - 1 > max_end)
			max_end = s->handle + s->size - 1;
	}
	for (i = 0; i < f->n_objs; i++) {
		struct robj *s = &f->objs[i];

		if (s->kind != 0 || s->handle)
			continue;
		s->handle = (uint16_t)(max_end + 1);
		next = s->handle + 1;
		for (j = i + 1; j < f->n_objs; j++) {
			struct robj *c = &f->objs[j];
			size_t cl = strlen(c->path);
			int k;

			if (c->parent != i || c->kind != 1)
				continue;
			c->handle = (uint16_t)(next + 1);
			next += 2 + (strstr(c->flags, "notify") ? 1 : 0);
			for (k = 0; k < f->n_objs; k++)
				if (f->objs[k].kind == 2 &&
				    !strncmp(f->objs[k].path, c->path, cl) &&
				    f->objs[k].path[cl] == '/')
					f->objs[k].handle = (uint16_t)next++;
		}
		max_end = s->handle + s->size - 1;
	}
	return true;
}

static int on_app_objects(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct gatt_fake *f = ud;
	sd_bus_message *call;
	struct robj saved[MAX_OBJS];
	int i, r;

	(void)e;
	pthread_mutex_lock(&f->mu);
	call = f->pending;
	f->pending = NULL;
	f->n_objs = 0;
	r = sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}");
	while (r >= 0 &&
	       (r = sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}")) > 0) {
		read_app_object(f, m);
		sd_bus_message_exit_container(m);
	}
	memcpy(saved, f->objs, sizeof(saved));
	if (!allocate(f)) {
		flog(f, "refused");
		pthread_mutex_unlock(&f->mu);
		sd_bus_reply_method_errorf(
			call, "org.bluez.Error.Failed",
			"Failed to create entry in database");
		sd_bus_message_unref(call);
		return 0;
	}
	/* write back what was allocated, as bluetoothd's write_handle() */
	for (i = 0; i < f->n_objs; i++)
		if (!saved[i].handle && f->objs[i].has_handle)
			sd_bus_call_method_async(
				f->bus, NULL, f->app_owner, f->objs[i].path,
				IF_PROPS, "Set", NULL, NULL, "ssv",
				f->objs[i].kind == 0 ? "org.bluez.GattService1"
				: f->objs[i].kind == 1
					? IF_CHR
					: "org.bluez.GattDescriptor1",
				"Handle", "q", f->objs[i].handle);
	flog(f, "app");
	pthread_mutex_unlock(&f->mu);
	sd_bus_reply_method_return(call, "");
	sd_bus_message_unref(call);
	return 0;
}

static int on_adv_props(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct gatt_fake *f = ud;
	sd_bus_message *call;
	const char *k, *s;
	const void *d;
	size_t n;
	int r;

	(void)e;
	pthread_mutex_lock(&f->mu);
	call = f->pending;
	f->pending = NULL;
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	while (r >= 0 &&
	       (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		sd_bus_message_read(m, "s", &k);
		if (!strcmp(k, "LocalName")) {
			sd_bus_message_read(m, "v", "s", &s);
			snprintf(f->adv_name, sizeof(f->adv_name), "%s", s);
		} else if (!strcmp(k, "ServiceUUIDs")) {
			sd_bus_message_enter_container(m, 'v', "as");
			sd_bus_message_enter_container(m, 'a', "s");
			while (sd_bus_message_read(m, "s", &s) > 0 &&
			       f->n_adv_uuids < 2)
				snprintf(f->adv_uuids[f->n_adv_uuids++], 40,
					 "%s", s);
			sd_bus_message_exit_container(m);
			sd_bus_message_exit_container(m);
		} else if (!strcmp(k, "ManufacturerData")) {
			sd_bus_message_enter_container(m, 'v', "a{qv}");
			sd_bus_message_enter_container(m, 'a', "{qv}");
			sd_bus_message_enter_container(m, 'e', "qv");
			sd_bus_message_read(m, "q", &f->mfr_id);
			sd_bus_message_enter_container(m, 'v', "ay");
			sd_bus_message_read_array(m, 'y', &d, &n);
			f->mfr_len = n < sizeof(f->mfr) ? n : sizeof(f->mfr);
			memcpy(f->mfr, d, f->mfr_len);
			sd_bus_message_exit_container(m);
			sd_bus_message_exit_container(m);
			sd_bus_message_exit_container(m);
			sd_bus_message_exit_container(m);
		} else {
			sd_bus_message_skip(m, "v");
		}
		sd_bus_message_exit_container(m);
	}
	flog(f, "adv");
	pthread_mutex_unlock(&f->mu);
	sd_bus_reply_method_return(call, "");
	sd_bus_message_unref(call);
	return 0;
}

static int hci_obj(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct gatt_fake *f = ud;
	const char *path, *s, *iface, *prop;
	int r = 0;

	(void)e;
	if (sd_bus_message_is_method_call(m, "org.bluez.GattManager1",
					  "RegisterApplication")) {
		sd_bus_message_read(m, "o", &path);
		pthread_mutex_lock(&f->mu);
		f->registrations++;
		snprintf(f->app_owner, sizeof(f->app_owner), "%s",
			 sd_bus_message_get_sender(m));
		f->pending = sd_bus_message_ref(m);
		pthread_mutex_unlock(&f->mu);
		sd_bus_call_method_async(
			f->bus, NULL, sd_bus_message_get_sender(m), path,
			"org.freedesktop.DBus.ObjectManager",
			"GetManagedObjects", on_app_objects, f, "");
		return 1;
	}
	if (sd_bus_message_is_method_call(m, "org.bluez.LEAdvertisingManager1",
					  "RegisterAdvertisement")) {
		sd_bus_message_read(m, "o", &path);
		pthread_mutex_lock(&f->mu);
		f->pending = sd_bus_message_ref(m);
		pthread_mutex_unlock(&f->mu);
		sd_bus_call_method_async(f->bus, NULL,
					 sd_bus_message_get_sender(m), path,
					 IF_PROPS, "GetAll", on_adv_props, f,
					 "s", "org.bluez.LEAdvertisement1");
		return 1;
	}
	if (sd_bus_message_is_method_call(m, "org.bluez.GattManager1",
					  "UnregisterApplication") ||
	    sd_bus_message_is_method_call(m, "org.bluez.LEAdvertisingManager1",
					  "UnregisterAdvertisement")) {
		pthread_mutex_lock(&f->mu);
		flog(f, strstr(sd_bus_message_get_member(m), "Application")
				? "unapp"
				: "unadv");
		pthread_mutex_unlock(&f->mu);
		return sd_bus_reply_method_return(m, "");
	}
	if (sd_bus_message_is_method_call(m, IF_PROPS, "Get")) {
		sd_bus_message_read(m, "ss", &iface, &prop);
		pthread_mutex_lock(&f->mu);
		r = sd_bus_reply_method_return(m, "v", "s", f->alias);
		pthread_mutex_unlock(&f->mu);
		return r;
	}
	if (sd_bus_message_is_method_call(m, IF_PROPS, "Set")) {
		sd_bus_message_read(m, "ss", &iface, &prop);
		sd_bus_message_read(m, "v", "s", &s);
		pthread_mutex_lock(&f->mu);
		snprintf(f->alias, sizeof(f->alias), "%s", s);
		pthread_mutex_unlock(&f->mu);
		return sd_bus_reply_method_return(m, "");
	}
	return r;
}

static void emit_connected(struct gatt_fake *f, bool on)
{
	sd_bus_emit_signal(f->bus, DEV, IF_PROPS, "PropertiesChanged",
			   "sa{sv}as", "org.bluez.Device1", 1, "Connected", "b",
			   (int)on, 0);
}

static int dev_obj(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct gatt_fake *f = ud;

	(void)e;
	if (!sd_bus_message_is_method_call(m, "org.bluez.Device1",
					   "Disconnect"))
		return 0;
	pthread_mutex_lock(&f->mu);
	f->disconnects++;
	pthread_mutex_unlock(&f->mu);
	sd_bus_reply_method_return(m, "");
	emit_connected(f, false);
	return 1;
}

static int on_cmd(sd_event_source *s, int fd, uint32_t rev, void *ud)
{
	struct gatt_fake *f = ud;
	uint64_t v;
	int cmd;

	(void)s;
	(void)rev;
	if (read(fd, &v, sizeof(v)) < 0)
		return 0;
	pthread_mutex_lock(&f->mu);
	cmd = f->cmd;
	f->cmd = 0;
	pthread_mutex_unlock(&f->mu);
	if (cmd == 1 || cmd == 2)
		emit_connected(f, cmd == 1);
	else if (cmd == 3)
		sd_bus_release_name(f->bus, "org.bluez");
	else if (cmd == 4)
		sd_event_exit(f->ev, 0);
	return 0;
}

static void *gatt_fake_main(void *arg)
{
	struct gatt_fake *f = arg;

	sd_event_new(&f->ev);
	sd_bus_open_system(&f->bus);
	sd_bus_attach_event(f->bus, f->ev, 0);
	sd_bus_add_object(f->bus, NULL, "/", om_root, f);
	sd_bus_add_object(f->bus, NULL, HCI, hci_obj, f);
	sd_bus_add_object(f->bus, NULL, DEV, dev_obj, f);
	sd_event_add_io(f->ev, NULL, f->cmd_fd, EPOLLIN, on_cmd, f);
	sd_bus_request_name(f->bus, "org.bluez", 0);
	pthread_mutex_lock(&f->mu);
	f->ready = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->mu);
	sd_event_loop(f->ev);
	sd_bus_flush_close_unref(f->bus);
	sd_event_unref(f->ev);
	return NULL;
}

void gatt_fake_cmd(struct gatt_fake *f, int cmd)
{
	uint64_t one = 1;

	pthread_mutex_lock(&f->mu);
	f->cmd = cmd;
	pthread_mutex_unlock(&f->mu);
	if (write(f->cmd_fd, &one, sizeof(one)) < 0)
		perror("eventfd");
}

static struct gatt_fake *gatt_fake_start(uint16_t own_end)
{
	struct gatt_fake *f = calloc(1, sizeof(*f));

	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->own_end = own_end;
	snprintf(f->alias, sizeof(f->alias), "laptop");
	f->cmd_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_create(&f->thread, NULL, gatt_fake_main, f);
	pthread_mutex_lock(&f->mu);
	while (!f->ready)
		pthread_cond_wait(&f->cond, &f->mu);
	pthread_mutex_unlock(&f->mu);
	return f;
}

static void gatt_fake_stop(struct gatt_fake *f)
{
	gatt_fake_cmd(f, 4);
	pthread_join(f->thread, NULL);
	close(f->cmd_fd);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static void on_state(int err, void *ud)
{
	struct world *w = ud;

	w->state = err ? err : 1;
	w->have_state = true;
}

static void on_event(const struct miband_band_event *ev, void *ud)
{
	struct world *w = ud;

	if (w->n_events < 32)
		w->events[w->n_events++] = ev->type;
}

static void quiet(const char *line, void *ud)
{
	(void)line;
	(void)ud;
}

static int on_value(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct world *w = ud;
	const char *iface, *k;
	const void *d;
	size_t n;

	(void)e;
	if (sd_bus_message_read(m, "s", &iface) < 0 || strcmp(iface, IF_CHR))
		return 0;
	sd_bus_message_enter_container(m, 'a', "{sv}");
	while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		sd_bus_message_read(m, "s", &k);
		if (!strcmp(k, "Value") && w->n_notes < 16) {
			sd_bus_message_enter_container(m, 'v', "ay");
			sd_bus_message_read_array(m, 'y', &d, &n);
			if (n > 32)
				n = 32;
			memcpy(w->notes[w->n_notes], d, n);
			w->note_len[w->n_notes] = n;
			snprintf(w->note_path[w->n_notes], 96, "%s",
				 sd_bus_message_get_path(m));
			w->n_notes++;
			sd_bus_message_exit_container(m);
		} else {
			sd_bus_message_skip(m, "v");
		}
		sd_bus_message_exit_container(m);
	}
	return 0;
}

/* Runs the loop until cond(w) or ms pass. */
bool world_pump(struct world *w, bool (*cond)(struct world *, void *),
		void *arg, unsigned ms)
{
	uint64_t end = test_mono_ms() + ms;

	while (!cond(w, arg)) {
		if (test_mono_ms() >= end)
			return false;
		sd_event_run(w->ev, 20000);
	}
	return true;
}

static bool has_state(struct world *w, void *arg)
{
	(void)arg;
	return w->have_state;
}

/* What world_start() set up, so that a test that failed (and returned early)
 * is cleaned up by the next world_start() instead of leaving a fake bluetoothd
 * on the bus. */
static struct {
	struct gatt_fake *fake;
	struct miband__periph *p;
	sd_bus *tester;
	sd_event *ev;
} live;

void world_cleanup(void)
{
	miband__periph_free(live.p);
	sd_bus_flush_close_unref(live.tester);
	sd_event_unref(live.ev);
	if (live.fake)
		gatt_fake_stop(live.fake);
	memset(&live, 0, sizeof(live));
}

void world_finish(struct world *w)
{
	(void)w;
	world_cleanup();
}

int world_start(struct world *w, enum miband_model model, uint16_t own_end,
		bool acquire, uint32_t unauth_drop_ms)
{
	struct miband__periph_config cfg;
	char rule[256];
	int r;

	world_cleanup();
	memset(w, 0, sizeof(*w));
	w->fake = live.fake = gatt_fake_start(own_end);
	sd_event_new(&w->ev);
	live.ev = w->ev;
	miband__periph_config_init(&cfg, model);
	cfg.adapter = "hci0";
	cfg.band.crypto = &miband_crypto_openssl;
	cfg.band.unauth_drop_ms = unauth_drop_ms;
	cfg.band.pairing = MIBAND_PAIRING_NEVER;
	cfg.key = world_key;
	cfg.acquire = cfg.acquire_write = acquire;
	cfg.verbose = true;
	cfg.log = quiet;
	cfg.event = on_event;
	cfg.state = on_state;
	cfg.user_data = w;
	r = miband__periph_new(&cfg, w->ev, &w->p);
	if (r < 0)
		return r;
	live.p = w->p;
	r = miband__periph_start(w->p);
	if (r < 0)
		return r;
	sd_bus_open_system(&w->tester);
	live.tester = w->tester;
	sd_bus_attach_event(w->tester, w->ev, 0);
	snprintf(rule, sizeof(rule),
		 "type='signal',interface='" IF_PROPS "',member="
		 "'PropertiesChanged',path_namespace='" APP "'");
	sd_bus_add_match(w->tester, NULL, rule, on_value, w);
	if (!world_pump(w, has_state, NULL, 10000))
		return -ETIMEDOUT;
	return w->state < 0 ? w->state : 0;
}

/* A copy of what the fake recorded, taken under its lock (a failing CHECK
 * returns at once and must not leave the lock held). */
static struct gatt_fake snap;

struct gatt_fake *world_snapshot(struct world *w)
{
	pthread_mutex_lock(&w->fake->mu);
	memcpy(&snap, w->fake, sizeof(snap));
	pthread_mutex_unlock(&w->fake->mu);
	return &snap;
}

struct robj *find_obj(struct gatt_fake *f, const char *uuid, int kind)
{
	int i;

	for (i = 0; i < f->n_objs; i++)
		if (f->objs[i].kind == kind && !strcmp(f->objs[i].uuid, uuid))
			return &f->objs[i];
	return NULL;
}

static int on_reply(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct call *c = ud;
	const sd_bus_error *err = sd_bus_message_get_error(m);
	const void *d;
	size_t n;
	int fd;

	(void)e;
	c->done = true;
	c->fd = -1;
	if (err) {
		snprintf(c->error, sizeof(c->error), "%s", err->name);
		return 0;
	}
	if (!strcmp(sd_bus_message_get_signature(m, 1), "ay") &&
	    sd_bus_message_read_array(m, 'y', &d, &n) >= 0) {
		c->len = n < sizeof(c->data) ? n : sizeof(c->data);
		memcpy(c->data, d, c->len);
	} else if (!strcmp(sd_bus_message_get_signature(m, 1), "hq") &&
		   sd_bus_message_read(m, "hq", &fd, &c->mtu) >= 0) {
		c->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	}
	return 0;
}

static bool call_done(struct world *w, void *arg)
{
	(void)w;
	return ((struct call *)arg)->done;
}

/* Value handle (or service handle) of an object, -1 if missing. */
int handle_of(struct gatt_fake *f, const char *uuid, int kind)
{
	struct robj *o = find_obj(f, uuid, kind);

	return o ? o->handle : -1;
}

const char *chr_path(struct world *w, const char *uuid)
{
	static char path[96];
	struct robj *o;

	pthread_mutex_lock(&w->fake->mu);
	o = find_obj(w->fake, uuid, 1);
	snprintf(path, sizeof(path), "%s", o ? o->path : "");
	pthread_mutex_unlock(&w->fake->mu);
	return path[0] ? path : NULL;
}

/* method: ReadValue, WriteValue (data), StartNotify, AcquireNotify ... */
struct call app_call(struct world *w, const char *uuid, const char *method,
		     const uint8_t *data, size_t len)
{
	struct call c = {.fd = -1};
	const char *path = chr_path(w, uuid);
	sd_bus_message *m = NULL;

	if (!path) {
		snprintf(c.error, sizeof(c.error), "no object for %s", uuid);
		return c;
	}
	sd_bus_message_new_method_call(w->tester, &m, w->fake->app_owner, path,
				       IF_CHR, method);
	if (!strcmp(method, "WriteValue"))
		sd_bus_message_append_array(m, 'y', data, len);
	if (strcmp(method, "StartNotify") && strcmp(method, "StopNotify"))
		sd_bus_message_append(m, "a{sv}", 2, "device", "o", DEV, "mtu",
				      "q", 23);
	sd_bus_call_async(w->tester, NULL, m, on_reply, &c, 5000000);
	sd_bus_message_unref(m);
	if (!world_pump(w, call_done, &c, 5000))
		snprintf(c.error, sizeof(c.error), "no reply");
	return c;
}

bool notes_at_least(struct world *w, void *arg)
{
	return w->n_notes >= *(int *)arg;
}
