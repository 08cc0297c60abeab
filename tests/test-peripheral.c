/*
 * The peripheral side of the BlueZ transport (src/bluez/peripheral.c)
 * against a fake bluetoothd on a private D-Bus daemon.
 *
 * The suite starts its own dbus-daemon (allow-all policy) and points
 * DBUS_SYSTEM_BUS_ADDRESS at it.  The fake org.bluez runs in a thread of
 * its own (own connection, own sd-event loop) because the peripheral's
 * stop is a blocking round trip: an adapter with GattManager1 and
 * LEAdvertisingManager1 that, like bluetoothd, reads the application back
 * with GetManagedObjects before it answers RegisterApplication, refuses
 * pinned handles that overlap its own GAP/GATT services, allocates the
 * others in the order it receives the objects and writes them back with
 * Properties.Set, reads the advertisement with GetAll, and signals a
 * central's Device1.Connected.  The test thread plays the central's side
 * of bluetoothd: it calls ReadValue/WriteValue/StartNotify/Acquire* on the
 * application and watches its PropertiesChanged(Value).  Expected values
 * come from PROTOCOL.md (handles, message bytes) and from AES computed
 * here with OpenSSL, never from the code under test.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "runner.h"
#include "bluez/peripheral.h"
#include "miband/miband.h"

#define HCI "/org/bluez/hci0"
#define DEV HCI "/dev_11_22_33_44_55_66"
#define APP "/org/libmiband/emu"
#define IF_CHR "org.bluez.GattCharacteristic1"
#define IF_PROPS "org.freedesktop.DBus.Properties"
#define HUAMI(x) "0000" x "-0000-3512-2118-0009af100700"
#define SIG16(x) "0000" x "-0000-1000-8000-00805f9b34fb"

static const uint8_t KEY[16] = {0x8e, 0x4a, 0x17, 0xc2, 0xd3, 0xb6, 0xf0, 0x5a,
				0x19, 0xe2, 0x7c, 0x44, 0xb0, 0xd3, 0xa6, 0xf1};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

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
/* a private system bus */

static pid_t bus_pid;
static char bus_dir[64];
static int bus_state; /* 0 untried, 1 up, -1 no dbus-daemon */

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
		snprintf(p, sizeof(p), "%s/conf", bus_dir);
		unlink(p);
		rmdir(bus_dir);
	}
}

/* dbus-daemon prints its address once it listens: no sleeping. */
static bool bus_start(void)
{
	const char *daemon = "/usr/bin/dbus-daemon";
	char conf[128], addr[512], fdarg[32];
	size_t n = 0;
	int pfd[2];
	FILE *f;

	if (access(daemon, X_OK) != 0)
		return false;
	snprintf(bus_dir, sizeof(bus_dir), "/tmp/mb-periph-XXXXXX");
	if (!mkdtemp(bus_dir))
		return false;
	snprintf(conf, sizeof(conf), "%s/conf", bus_dir);
	f = fopen(conf, "w");
	if (!f)
		return false;
	fprintf(f,
		"<busconfig><listen>unix:path=%s/bus</listen>"
		"<auth>EXTERNAL</auth><policy context=\"default\">"
		"<allow user=\"*\"/><allow own=\"*\"/>"
		"<allow send_destination=\"*\"/>"
		"<allow receive_sender=\"*\"/></policy></busconfig>\n",
		bus_dir);
	fclose(f);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return false;
	bus_pid = fork();
	if (bus_pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		fcntl(pfd[1], F_SETFD, 0);
		if (null >= 0)
			dup2(null, 2);
		snprintf(fdarg, sizeof(fdarg), "--print-address=%d", pfd[1]);
		execl(daemon, daemon, "--nofork", "--nopidfile",
		      "--config-file", conf, fdarg, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (n < sizeof(addr) - 1) {
		ssize_t r = read(pfd[0], addr + n, sizeof(addr) - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(addr, '\n', n))
			break;
	}
	close(pfd[0]);
	addr[n] = '\0';
	if (!strchr(addr, '\n'))
		return false;
	*strchr(addr, '\n') = '\0';
	setenv("DBUS_SYSTEM_BUS_ADDRESS", addr, 1);
	return true;
}

static bool need_bus(void)
{
	if (!bus_state) {
		bus_state = bus_start() ? 1 : -1;
		atexit(bus_stop);
	}
	if (bus_state < 0)
		printf("# no dbus-daemon: skipped\n");
	return bus_state > 0;
}

/* ------------------------------------------------------------------ */
/* the fake bluetoothd */

#define MAX_OBJS 80

struct robj { /* an object of the registered application */
	char path[96];
	int kind; /* 0 service, 1 characteristic, 2 descriptor */
	char uuid[40];
	uint16_t handle; /* as exported, then as allocated */
	bool has_handle;
	char flags[160];
	bool notify_acquired, write_acquired;
	int size;   /* handles a service takes (computed) */
	int parent; /* index of the service / characteristic */
};

struct fake {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	sd_event *ev;
	sd_bus *bus;
	int cmd_fd;
	bool ready;
	/* knobs */
	uint16_t own_end; /* bluetoothd's own services end here */
	/* what happened, in order */
	char log[1024];
	int registrations; /* RegisterApplication calls */
	int disconnects;   /* Device1.Disconnect calls */
	char app_owner[64];
	struct robj objs[MAX_OBJS];
	int n_objs;
	char adv_name[40];
	char adv_uuids[2][40];
	int n_adv_uuids;
	uint16_t mfr_id;
	uint8_t mfr[16];
	size_t mfr_len;
	char alias[64];
	/* commands from the test thread */
	int cmd;		 /* 1 connected, 2 disconnected, 3 leave */
	sd_bus_message *pending; /* RegisterApplication / Advertisement */
};

static void flog(struct fake *f, const char *what)
{
	size_t n = strlen(f->log);

	snprintf(f->log + n, sizeof(f->log) - n, "%s%s", n ? "," : "", what);
}

static int om_root(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct fake *f = ud;
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

static int read_app_object(struct fake *f, sd_bus_message *m)
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
static bool allocate(struct fake *f)
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
	struct fake *f = ud;
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
	struct fake *f = ud;
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
	struct fake *f = ud;
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

static void emit_connected(struct fake *f, bool on)
{
	sd_bus_emit_signal(f->bus, DEV, IF_PROPS, "PropertiesChanged",
			   "sa{sv}as", "org.bluez.Device1", 1, "Connected", "b",
			   (int)on, 0);
}

static int dev_obj(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct fake *f = ud;

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
	struct fake *f = ud;
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

static void *fake_main(void *arg)
{
	struct fake *f = arg;

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

static void fake_cmd(struct fake *f, int cmd)
{
	uint64_t one = 1;

	pthread_mutex_lock(&f->mu);
	f->cmd = cmd;
	pthread_mutex_unlock(&f->mu);
	if (write(f->cmd_fd, &one, sizeof(one)) < 0)
		perror("eventfd");
}

static struct fake *fake_start(uint16_t own_end)
{
	struct fake *f = calloc(1, sizeof(*f));

	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->own_end = own_end;
	snprintf(f->alias, sizeof(f->alias), "laptop");
	f->cmd_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_create(&f->thread, NULL, fake_main, f);
	pthread_mutex_lock(&f->mu);
	while (!f->ready)
		pthread_cond_wait(&f->cond, &f->mu);
	pthread_mutex_unlock(&f->mu);
	return f;
}

static void fake_stop(struct fake *f)
{
	fake_cmd(f, 4);
	pthread_join(f->thread, NULL);
	close(f->cmd_fd);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

/* ------------------------------------------------------------------ */
/* the peripheral and the test thread's side */

struct world {
	sd_event *ev;
	struct fake *fake;
	struct miband__periph *p;
	sd_bus *tester; /* plays the central side of bluetoothd */
	int state;	/* 1 ready, negative error */
	bool have_state;
	int events[32];
	int n_events;
	uint8_t notes[16][32]; /* PropertiesChanged(Value) seen */
	size_t note_len[16];
	char note_path[16][96];
	int n_notes;
};

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
static bool pump(struct world *w, bool (*cond)(struct world *, void *),
		 void *arg, unsigned ms)
{
	uint64_t end = mono_ms() + ms;

	while (!cond(w, arg)) {
		if (mono_ms() >= end)
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

/* What start() set up, so that a test that failed (and returned early)
 * is cleaned up by the next start() instead of leaving a fake bluetoothd
 * on the bus. */
static struct {
	struct fake *fake;
	struct miband__periph *p;
	sd_bus *tester;
	sd_event *ev;
} live;

static void cleanup(void)
{
	miband__periph_free(live.p);
	sd_bus_flush_close_unref(live.tester);
	sd_event_unref(live.ev);
	if (live.fake)
		fake_stop(live.fake);
	memset(&live, 0, sizeof(live));
}

static void finish(struct world *w)
{
	(void)w;
	cleanup();
}

static int start(struct world *w, enum miband_model model, uint16_t own_end,
		 bool acquire, uint32_t unauth_drop_ms)
{
	struct miband__periph_config cfg;
	char rule[256];
	int r;

	cleanup();
	memset(w, 0, sizeof(*w));
	w->fake = live.fake = fake_start(own_end);
	sd_event_new(&w->ev);
	live.ev = w->ev;
	miband__periph_config_init(&cfg, model);
	cfg.adapter = "hci0";
	cfg.band.crypto = &miband_crypto_openssl;
	cfg.band.unauth_drop_ms = unauth_drop_ms;
	cfg.band.pairing = MIBAND_PAIRING_NEVER;
	cfg.key = KEY;
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
	if (!pump(w, has_state, NULL, 10000))
		return -ETIMEDOUT;
	return w->state < 0 ? w->state : 0;
}

/* A copy of what the fake recorded, taken under its lock (a failing CHECK
 * returns at once and must not leave the lock held). */
static struct fake snap;

static struct fake *snapshot(struct world *w)
{
	pthread_mutex_lock(&w->fake->mu);
	memcpy(&snap, w->fake, sizeof(snap));
	pthread_mutex_unlock(&w->fake->mu);
	return &snap;
}

static struct robj *find_obj(struct fake *f, const char *uuid, int kind)
{
	int i;

	for (i = 0; i < f->n_objs; i++)
		if (f->objs[i].kind == kind && !strcmp(f->objs[i].uuid, uuid))
			return &f->objs[i];
	return NULL;
}

/* A method call on the application, as bluetoothd makes it. */
struct call {
	bool done;
	char error[128];
	uint8_t data[64];
	size_t len;
	int fd;
	uint16_t mtu;
};

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
static int handle_of(struct fake *f, const char *uuid, int kind)
{
	struct robj *o = find_obj(f, uuid, kind);

	return o ? o->handle : -1;
}

static const char *chr_path(struct world *w, const char *uuid)
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
static struct call app_call(struct world *w, const char *uuid,
			    const char *method, const uint8_t *data, size_t len)
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
	if (!pump(w, call_done, &c, 5000))
		snprintf(c.error, sizeof(c.error), "no reply");
	return c;
}

static bool notes_at_least(struct world *w, void *arg)
{
	return w->n_notes >= *(int *)arg;
}

/* ------------------------------------------------------------------ */
/* pure */

TEST(format_redacts_key_material)
{
	uint8_t m[18] = {0x01, 0x00};
	char buf[128];

	memcpy(m + 2, KEY, 16);
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
	struct fake *f;
	struct robj *o;
	int i;

	if (!need_bus())
		return;
	CHECK_EQ(start(&w, MIBAND_MODEL_MB3, 0x0011, false, 0), 0);
	f = snapshot(&w);
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
	f = snapshot(&w);
	CHECK_STR(f->log, "app,adv,unadv,unapp");
	CHECK_STR(f->alias, "laptop");
	finish(&w);
}

TEST(mb2_serves_every_real_handle_when_allowed)
{
	struct world w;
	struct fake *f;
	struct robj *o;

	if (!need_bus())
		return;
	/* a bluetoothd whose own services end below the band's (none) */
	CHECK_EQ(start(&w, MIBAND_MODEL_MB2, 0, false, 0), 0);
	f = snapshot(&w);
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
	finish(&w);
}

TEST(mb2_keeps_the_handles_above_bluetoothds_own)
{
	struct world w;
	struct fake *f;
	int i, i180a = -1, ifee1 = -1;

	if (!need_bus())
		return;
	/* bluez 5.66 with DeviceID=false: GAP + GATT up to 0x0011 */
	CHECK_EQ(start(&w, MIBAND_MODEL_MB2, 0x0011, false, 0), 0);
	f = snapshot(&w);
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
	finish(&w);
}

static bool auth_notes(struct world *w, int want)
{
	return pump(w, notes_at_least, &want, 3000);
}

TEST(auth_over_dbus_and_att_errors)
{
	static const uint8_t req[2] = {0x02, 0x00};
	uint8_t ans[18] = {0x03, 0x00};
	struct world w;
	struct call c;

	if (!need_bus())
		return;
	CHECK_EQ(start(&w, MIBAND_MODEL_MB3, 0x0011, false, 0), 0);
	fake_cmd(w.fake, 1); /* a central connects */
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
	aes(KEY, w.notes[0] + 3, ans + 2);
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
	finish(&w);
}

TEST(wrong_answer_gets_10_03_04)
{
	static const uint8_t req[2] = {0x02, 0x00};
	uint8_t ans[18] = {0x03, 0x00}, bad[16];
	struct world w;

	if (!need_bus())
		return;
	CHECK_EQ(start(&w, MIBAND_MODEL_MB3, 0x0011, false, 0), 0);
	/* bluetoothd calls StartNotify at once but signals Connected from an
	 * idle handler: the CCCD write can come first */
	app_call(&w, HUAMI("0009"), "StartNotify", NULL, 0);
	fake_cmd(w.fake, 1);
	app_call(&w, HUAMI("0009"), "WriteValue", req, 2);
	CHECK(auth_notes(&w, 1));
	memcpy(bad, KEY, 16);
	bad[15] ^= 1;
	aes(bad, w.notes[0] + 3, ans + 2);
	app_call(&w, HUAMI("0009"), "WriteValue", ans, 18);
	CHECK(auth_notes(&w, 2));
	CHECK_EQ(w.note_len[1], 3);
	CHECK_MEM(w.notes[1], "\x10\x03\x04", 3);
	finish(&w);
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
	struct fake *f;
	struct robj *o;
	struct call nt, wr, again;
	uint8_t buf[64];
	ssize_t n;

	if (!need_bus())
		return;
	CHECK_EQ(start(&w, MIBAND_MODEL_MB3, 0x0011, true, 0), 0);
	f = snapshot(&w);
	o = find_obj(f, HUAMI("0009"), 1);
	/* auth notifies and takes only write-without-response: both */
	CHECK(o && o->notify_acquired && o->write_acquired);
	/* 2A39 takes write requests: no write socket, errors must return */
	o = find_obj(f, SIG16("2a39"), 1);
	CHECK(o && !o->write_acquired && !o->notify_acquired);
	fake_cmd(w.fake, 1);
	nt = app_call(&w, HUAMI("0009"), "AcquireNotify", NULL, 0);
	CHECK(!nt.error[0] && nt.fd >= 0);
	CHECK_EQ(nt.mtu, 23);
	wr = app_call(&w, HUAMI("0009"), "AcquireWrite", NULL, 0);
	CHECK(!wr.error[0] && wr.fd >= 0);
	/* bluetoothd writes the client's 02 00 into the socket */
	CHECK_EQ(send(wr.fd, req, 2, 0), 2);
	CHECK(pump(&w, fd_has_data, &nt.fd, 3000));
	n = recv(nt.fd, buf, sizeof(buf), 0);
	CHECK_EQ(n, 19);
	CHECK_MEM(buf, "\x10\x02\x01", 3);
	CHECK_EQ(w.n_notes, 0); /* not also as PropertiesChanged */
	/* a second AcquireNotify while one is held is refused */
	again = app_call(&w, HUAMI("0009"), "AcquireNotify", NULL, 0);
	CHECK_STR(again.error, "org.bluez.Error.NotPermitted");
	close(nt.fd);
	close(wr.fd);
	finish(&w);
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

	if (!need_bus())
		return;
	CHECK_EQ(start(&w, MIBAND_MODEL_MB3, 0x0011, false, 300), 0);
	t0 = mono_ms();
	fake_cmd(w.fake, 1);
	/* the engine's DISCONNECT becomes Device1.Disconnect */
	CHECK(pump(&w, disconnected, NULL, 5000));
	CHECK(mono_ms() - t0 >= 250);
	CHECK(w.n_events > 0 &&
	      w.events[w.n_events - 1] == MIBAND_BAND_EV_UNAUTH_DROP);
	finish(&w);
}

TEST(stop_drops_the_link_then_unregisters)
{
	struct world w;
	struct fake *f;
	struct call c;

	if (!need_bus())
		return;
	CHECK_EQ(start(&w, MIBAND_MODEL_MB3, 0x0011, false, 0), 0);
	/* a read names the connected central */
	c = app_call(&w, SIG16("2a50"), "ReadValue", NULL, 0);
	CHECK(c.done && !c.error[0]);
	CHECK_EQ(c.len, 7);
	CHECK_EQ(c.data[1] | c.data[2] << 8, 0x0157); /* PnP: Huami */
	miband__periph_stop(w.p);
	f = snapshot(&w);
	/* Disconnect went out before the unregister calls, which returned */
	CHECK_EQ(f->disconnects, 1);
	CHECK_STR(f->log, "app,adv,unadv,unapp");
	/* the advertised payload is the product and version of that PnP ID */
	CHECK_EQ(f->mfr_len, 4);
	CHECK_MEM(f->mfr, c.data + 3, 4);
	finish(&w);
}

static bool state_error(struct world *w, void *arg)
{
	(void)arg;
	return w->state < 0;
}

TEST(bluetoothd_leaving_the_bus_is_reported)
{
	struct world w;

	if (!need_bus())
		return;
	CHECK_EQ(start(&w, MIBAND_MODEL_MB3, 0x0011, false, 0), 0);
	fake_cmd(w.fake, 3);
	CHECK(pump(&w, state_error, NULL, 5000));
	CHECK_EQ(w.state, MIBAND_E_NO_BLUEZ);
	finish(&w);
}

TEST(no_bluetoothd)
{
	struct miband__periph_config cfg;
	struct miband__periph *p = NULL;
	sd_event *ev = NULL;

	if (!need_bus())
		return;
	cleanup();
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

	cleanup();
	sd_bus_open_system(&l->bus);
	sd_bus_attach_event(l->bus, ev, 0);
	sd_bus_add_object(l->bus, NULL, "/", lone_root, l);
	sd_bus_add_object(l->bus, NULL, HCI, lone_hci, l);
	sd_bus_request_name(l->bus, "org.bluez", 0);
	snprintf(l->alias, sizeof(l->alias), "laptop");
	miband__periph_config_init(&cfg, MIBAND_MODEL_MB3);
	cfg.band.crypto = &miband_crypto_openssl;
	cfg.log = quiet;
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
	uint64_t end = mono_ms() + ms;

	while (!l->state && mono_ms() < end)
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

	if (!need_bus())
		return;
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

	if (!need_bus())
		return;
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
