/*
 * The Linux central transport over BlueZ's D-Bus API (sd-bus).
 *
 * How it works
 *
 * One struct miband_bluez owns a system bus connection and an epoll fd
 * that watches the bus fd and every notification socket acquired with
 * AcquireNotify; that epoll fd is what callers poll.  Nothing blocks and
 * nothing runs on its own: all work happens in miband_bluez_process(),
 * which reads the sockets, lets sd-bus dispatch replies and signals, fires
 * the internal timers and then feeds the attached session.
 *
 * Object cache.  At start one GetManagedObjects reads BlueZ's tree
 * (adapters, devices, GATT services and characteristics); from then on
 * the cache follows InterfacesAdded / InterfacesRemoved / PropertiesChanged
 * signals, so a reconnect never introspects again.  Signals from one
 * sender arrive in order with its method replies, so when
 * ServicesResolved is seen (by signal or by reading the property) every
 * characteristic object of the device is already in the cache.
 *
 * Connect.  Known and connected with services resolved: done at once.
 * Known: Device1.Connect.  Unknown: discovery (Transport le), restarted
 * every few seconds because an emulated controller reports an advertiser
 * only on the scan-enable edge, until the address appears.  After Connect
 * the Connected and ServicesResolved properties are read (the signal is
 * sometimes missed), and re-read every 500 ms until resolved or the
 * deadline.  Then each engine channel is mapped to the characteristic
 * whose UUID is miband_channel_uuid(), preferring the one inside the
 * channel's own service; never by handle.
 *
 * Session inputs.  Replies, notifications and disconnects are queued in
 * arrival order and fed to the session one at a time: the session's
 * contract is that the caller drains its actions after every input, so
 * without a ready callback process() feeds one input and get_timeout()
 * returns "now" while more are queued; with a ready callback it feeds
 * them all, calling ready after each.
 *
 * StartNotify and reads.  BlueZ updates the Value property (and emits
 * PropertiesChanged) when a ReadValue completes, just before the reply.
 * While a read runs on a channel notified through signals, that channel's
 * Value signals are held; when the reply comes the last held value equal
 * to it is dropped as the read's echo and the rest are released in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "miband/bluez.h"
#include "miband/session.h"

#define BLUEZ "org.bluez"
#define IF_ADAPTER "org.bluez.Adapter1"
#define IF_DEVICE "org.bluez.Device1"
#define IF_SERVICE "org.bluez.GattService1"
#define IF_CHR "org.bluez.GattCharacteristic1"
#define IF_PROPS "org.freedesktop.DBus.Properties"
#define IF_OM "org.freedesktop.DBus.ObjectManager"

#define UUID_FEE0 "0000fee0-0000-1000-8000-00805f9b34fb"
#define UUID_FEE1 "0000fee1-0000-1000-8000-00805f9b34fb"

#define USEC_PER_MSEC 1000ull
#define USEC_PER_SEC 1000000ull
#define NEVER UINT64_MAX

#define DEFAULT_CALL_TIMEOUT_MS 25000u
#define DEFAULT_CONNECT_TIMEOUT_MS 30000u
#define DISCOVERY_RESTART_USEC (3 * USEC_PER_SEC)
#define RESOLVE_POLL_USEC (500 * USEC_PER_MSEC)
#define CONNECT_RETRY_USEC (500 * USEC_PER_MSEC)
#define CONNECT_ATTEMPTS 3
#define SETTLE_USEC (2 * USEC_PER_SEC)
#define QUIET_USEC (100 * USEC_PER_MSEC)
#define NOTIFY_MAX 517 /* largest ATT value (512) plus slack */
#define EPOLL_TAG_BUS UINT64_MAX

enum obj_kind { OBJ_NONE = 0, OBJ_ADAPTER, OBJ_DEVICE, OBJ_SERVICE, OBJ_CHR };

/* One object of BlueZ's tree that we care about (one interface each). */
struct obj {
	char *path;
	char *parent; /* Adapter / Device / Service property */
	enum obj_kind kind;
	char address[18];
	char name[64];
	char uuid[37];
	int16_t rssi;
	bool has_rssi;
	bool connected;
	bool resolved;
	bool paired;
	bool powered;
	bool mi_uuid;  /* device offers FEE0/FEE1 */
	bool reported; /* scan: already reported in this scan */
	uint8_t props; /* characteristic: MIBAND_PROP_* */
};

enum notify_kind { NOTIFY_NONE = 0, NOTIFY_START, NOTIFY_ACQUIRED };

struct chan {
	struct miband_bluez *bz;
	enum miband_channel ch;
	char *path; /* characteristic object, NULL if absent */
	uint8_t props;
	enum notify_kind notify;
	int fd;		 /* acquired notification socket */
	sd_bus_slot *op; /* the GATT call in flight */
	enum miband_action_type op_type;
	bool op_secret;
	bool op_acquire; /* op is AcquireNotify (fallback on failure) */
	bool op_request; /* op is a write request (acknowledged) */
	bool reading;	 /* ReadValue in flight: hold Value signals */
};

enum input_type { IN_WRITE_DONE = 1, IN_READ, IN_NOTIFY, IN_DISCONNECT };

struct input {
	struct input *next;
	enum input_type type;
	enum miband_channel ch;
	int status;
	bool held;
	size_t len;
	uint8_t data[];
};

enum conn_state {
	C_IDLE = 0,
	C_WAIT_INIT,  /* object tree not read yet */
	C_FINDING,    /* discovery until the address shows up */
	C_CONNECTING, /* Device1.Connect in flight */
	C_RETRY_WAIT, /* Connect failed transiently: try again soon */
	C_RESOLVING,  /* connected; waiting for ServicesResolved */
	C_SETTLING,   /* resolved; waiting for the GATT objects */
	C_READY,
};

enum scan_state { S_OFF = 0, S_WAIT_INIT, S_STARTING, S_ON };

struct miband_bluez {
	unsigned n_ref;
	struct miband_bluez_config cfg;
	char *cfg_adapter;
	sd_bus *bus;
	bool bus_dead;
	int efd;
	uint32_t bus_events;
	sd_bus_slot *match_added, *match_removed, *match_props, *match_owner;
	sd_bus_slot *init_slot;
	int init_status; /* 1 pending, 0 done, < 0 error */

	struct obj **objs;
	size_t n_objs, cap_objs;
	char *adapter; /* chosen adapter path */

	/* connection */
	enum conn_state cstate;
	char address[18];
	char *dev_path;
	sd_bus_slot *conn_slot;
	uint64_t conn_deadline, conn_step_at;
	unsigned conn_attempts;
	bool conn_discovering;
	bool seen; /* the device showed up during this connect */
	miband_bluez_done_fn conn_done;
	void *conn_user_data;
	int link_error;
	sd_bus_slot *disc_slot; /* our Device1.Disconnect */
	bool disc_pending;	/* ... until its reply or Connected false */
	unsigned mtu;
	struct chan chans[MIBAND_CH_COUNT];

	/* scanning */
	enum scan_state sstate;
	char *scan_name;
	bool scan_any;
	uint64_t scan_restart_at;
	sd_bus_slot *scan_slot;
	miband_bluez_found_fn scan_found;
	miband_bluez_done_fn scan_failed;
	void *scan_user_data;

	/* session binding */
	struct miband_session *session;
	miband_bluez_ready_fn ready;
	void *ready_user_data;
	struct input *in_head, *in_tail;

	miband_bluez_trace_fn trace;
	void *trace_user_data;

	sd_event_source *ev_io, *ev_time;

	char last_error[256];
};

/* ------------------------------------------------------------------ */
/* small helpers */

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC +
	       (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t miband_bluez_now_ms(void)
{
	return now_usec() / USEC_PER_MSEC;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
bzlog(struct miband_bluez *bz, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!bz->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	bz->cfg.log(line, bz->cfg.log_user_data);
}

static const char *chan_name(enum miband_channel ch)
{
	const struct miband_channel_info *info = miband_channel_info(ch);

	return info && info->name ? info->name : "?";
}

/* Hex dump for logs; key material is never printed. */
static const char *hexdump(const uint8_t *p, size_t n, bool secret, char *buf,
			   size_t cap)
{
	size_t i, o = 0;

	if (secret) {
		snprintf(buf, cap, "<%zu bytes, redacted>", n);
		return buf;
	}
	buf[0] = '\0';
	for (i = 0; i < n && o + 4 < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, i ? " %02x" : "%02x",
				      p[i]);
	if (i < n && o + 4 < cap)
		snprintf(buf + o, cap - o, " ..");
	return buf;
}

static void set_error(struct miband_bluez *bz, const char *op,
		      const sd_bus_error *e)
{
	snprintf(bz->last_error, sizeof(bz->last_error), "%s: %s (%s)",
		 e && e->name ? e->name : "error",
		 e && e->message ? e->message : "no message", op);
	bzlog(bz, "%s", bz->last_error);
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
set_error_msg(struct miband_bluez *bz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(bz->last_error, sizeof(bz->last_error), fmt, ap);
	va_end(ap);
	bzlog(bz, "%s", bz->last_error);
}

static bool name_is(const sd_bus_error *e, const char *name)
{
	return e && e->name && strcmp(e->name, name) == 0;
}

int miband_bluez_map_error(const char *name, const char *message, int fallback)
{
	if (fallback >= 0)
		fallback = MIBAND_E_DBUS;
	if (!name)
		return fallback;
	if (!strcmp(name, "org.freedesktop.DBus.Error.ServiceUnknown") ||
	    !strcmp(name, "org.freedesktop.DBus.Error.NameHasNoOwner") ||
	    !strcmp(name, "org.freedesktop.DBus.Error.Disconnected"))
		return MIBAND_E_NO_BLUEZ;
	if (!strcmp(name, "org.freedesktop.DBus.Error.NoReply") ||
	    !strcmp(name, "org.freedesktop.DBus.Error.Timeout") ||
	    !strcmp(name, "org.freedesktop.DBus.Error.TimedOut"))
		return MIBAND_E_TIMEOUT;
	if (!strcmp(name, "org.freedesktop.DBus.Error.UnknownObject") ||
	    !strcmp(name, "org.freedesktop.DBus.Error.UnknownInterface") ||
	    !strcmp(name, "org.freedesktop.DBus.Error.UnknownMethod")) {
		/* The object is gone: an adapter unplugged, a temporary
		 * device expired, or a characteristic removed because the
		 * link dropped. */
		if (fallback == MIBAND_E_NO_ADAPTER)
			return MIBAND_E_NO_ADAPTER;
		if (fallback == MIBAND_E_CONNECT_FAILED ||
		    fallback == MIBAND_E_NOT_FOUND)
			return MIBAND_E_NOT_FOUND;
		if (fallback == MIBAND_E_DBUS)
			return MIBAND_E_DBUS;
		return MIBAND_E_DISCONNECTED;
	}
	if (!strcmp(name, "org.freedesktop.DBus.Error.NoMemory"))
		return MIBAND_E_IO;
	if (!strcmp(name, "org.bluez.Error.NotReady"))
		return MIBAND_E_NO_ADAPTER;
	if (!strcmp(name, "org.bluez.Error.NotConnected"))
		return MIBAND_E_DISCONNECTED;
	if (!strcmp(name, "org.bluez.Error.InProgress"))
		return MIBAND_E_BUSY;
	if (!strcmp(name, "org.bluez.Error.AlreadyConnected"))
		return MIBAND_E_STATE;
	if (!strcmp(name, "org.bluez.Error.DoesNotExist"))
		return MIBAND_E_NOT_FOUND;
	if (!strcmp(name, "org.bluez.Error.Failed") && message &&
	    (strstr(message, "Not connected") ||
	     strstr(message, "not connected")))
		return MIBAND_E_DISCONNECTED;
	/* org.bluez.Error.Failed, NotPermitted, NotAuthorized, NotSupported,
	 * InvalidValueLength, InvalidOffset, InvalidArguments, ATT errors,
	 * and anything else: the operation failed. */
	return fallback;
}

static int map_bus_error(const sd_bus_error *e, int fallback)
{
	return miband_bluez_map_error(e ? e->name : NULL, e ? e->message : NULL,
				      fallback);
}

int miband_bluez_parse_address(const char *s, char ret_address[18])
{
	static const char hex[] = "0123456789ABCDEF";
	char out[18];
	int i;

	if (!s || !ret_address || strlen(s) != 17)
		return MIBAND_E_BAD_ADDRESS;
	for (i = 0; i < 17; i++) {
		char c = s[i];

		if (i % 3 == 2) {
			if (c != ':')
				return MIBAND_E_BAD_ADDRESS;
			out[i] = ':';
			continue;
		}
		if (c >= 'a' && c <= 'f')
			c = (char)(c - 'a' + 'A');
		if (!strchr(hex, c) || c == '\0')
			return MIBAND_E_BAD_ADDRESS;
		out[i] = c;
	}
	out[17] = '\0';
	memcpy(ret_address, out, sizeof(out));
	return 0;
}

int miband_bluez_guess_model(const char *name, enum miband_model *ret_model)
{
	static const struct {
		const char *prefix;
		enum miband_model model;
	} names[] = {
		{"mi band 2", MIBAND_MODEL_MB2},
		{"mi band 3", MIBAND_MODEL_MB3},
		{"xiaomi band 3", MIBAND_MODEL_MB3},
		{"mi smart band 4", MIBAND_MODEL_MB4},
		{"mi band 4", MIBAND_MODEL_MB4},
		{"mi smart band 5", MIBAND_MODEL_MB5},
		{"mi band 5", MIBAND_MODEL_MB5},
		{"mi smart band 6", MIBAND_MODEL_MB6},
		{"mi band 6", MIBAND_MODEL_MB6},
	};
	size_t i;

	if (!name || !ret_model)
		return MIBAND_E_UNSUPPORTED;
	while (*name == ' ')
		name++;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i].prefix);

		if (strncasecmp(name, names[i].prefix, n) == 0) {
			*ret_model = names[i].model;
			return 0;
		}
	}
	return MIBAND_E_UNSUPPORTED;
}

void miband_bluez_config_init(struct miband_bluez_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->notify_mode = MIBAND_BLUEZ_NOTIFY_AUTO;
	cfg->call_timeout_ms = DEFAULT_CALL_TIMEOUT_MS;
}

static uint64_t call_timeout(struct miband_bluez *bz)
{
	return (uint64_t)bz->cfg.call_timeout_ms * USEC_PER_MSEC;
}

/* ------------------------------------------------------------------ */
/* object cache */

static struct obj *obj_find(struct miband_bluez *bz, const char *path)
{
	size_t i;

	for (i = 0; i < bz->n_objs; i++)
		if (strcmp(bz->objs[i]->path, path) == 0)
			return bz->objs[i];
	return NULL;
}

static struct obj *obj_get(struct miband_bluez *bz, const char *path,
			   enum obj_kind kind)
{
	struct obj *o = obj_find(bz, path);

	if (o) {
		if (o->kind == OBJ_NONE)
			o->kind = kind;
		return o->kind == kind ? o : NULL;
	}
	if (bz->n_objs == bz->cap_objs) {
		size_t cap = bz->cap_objs ? bz->cap_objs * 2 : 32;
		struct obj **v = realloc(bz->objs, cap * sizeof(*v));

		if (!v)
			return NULL;
		bz->objs = v;
		bz->cap_objs = cap;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->path = strdup(path);
	if (!o->path) {
		free(o);
		return NULL;
	}
	o->kind = kind;
	bz->objs[bz->n_objs++] = o;
	return o;
}

static void obj_free(struct obj *o)
{
	free(o->path);
	free(o->parent);
	free(o);
}

static void obj_remove(struct miband_bluez *bz, const char *path)
{
	size_t i;

	for (i = 0; i < bz->n_objs; i++) {
		if (strcmp(bz->objs[i]->path, path) == 0) {
			obj_free(bz->objs[i]);
			bz->objs[i] = bz->objs[--bz->n_objs];
			return;
		}
	}
}

static void objs_clear(struct miband_bluez *bz)
{
	size_t i;

	for (i = 0; i < bz->n_objs; i++)
		obj_free(bz->objs[i]);
	bz->n_objs = 0;
}

static bool path_under(const char *path, const char *parent)
{
	size_t n = strlen(parent);

	return strncmp(path, parent, n) == 0 && path[n] == '/';
}

static enum obj_kind iface_kind(const char *iface)
{
	if (!strcmp(iface, IF_ADAPTER))
		return OBJ_ADAPTER;
	if (!strcmp(iface, IF_DEVICE))
		return OBJ_DEVICE;
	if (!strcmp(iface, IF_SERVICE))
		return OBJ_SERVICE;
	if (!strcmp(iface, IF_CHR))
		return OBJ_CHR;
	return OBJ_NONE;
}

/* ---- property parsing: the message is positioned at a variant ---- */

static int variant_is(sd_bus_message *m, const char *sig)
{
	char type;
	const char *contents;
	int r = sd_bus_message_peek_type(m, &type, &contents);

	if (r < 0)
		return r;
	return r > 0 && type == 'v' && contents && strcmp(contents, sig) == 0;
}

static int prop_str(sd_bus_message *m, const char *sig, char *buf, size_t cap,
		    char **ret_dup)
{
	const char *s;
	int r = variant_is(m, sig);

	if (r <= 0)
		return r < 0 ? r : sd_bus_message_skip(m, "v");
	r = sd_bus_message_read(m, "v", sig, &s);
	if (r < 0)
		return r;
	if (buf)
		copy_str(buf, cap, s);
	if (ret_dup) {
		char *d = strdup(s);

		if (!d)
			return -ENOMEM;
		free(*ret_dup);
		*ret_dup = d;
	}
	return 1;
}

static int prop_bool(sd_bus_message *m, bool *ret)
{
	int b, r = variant_is(m, "b");

	if (r <= 0)
		return r < 0 ? r : sd_bus_message_skip(m, "v");
	r = sd_bus_message_read(m, "v", "b", &b);
	if (r < 0)
		return r;
	*ret = !!b;
	return 1;
}

static int prop_rssi(sd_bus_message *m, struct obj *o)
{
	int16_t v;
	int r = variant_is(m, "n");

	if (r <= 0)
		return r < 0 ? r : sd_bus_message_skip(m, "v");
	r = sd_bus_message_read(m, "v", "n", &v);
	if (r < 0)
		return r;
	o->rssi = v;
	o->has_rssi = true;
	return 1;
}

/* "as": device UUIDs (sets mi_uuid) or characteristic Flags. */
static int prop_strv(sd_bus_message *m, struct obj *o, bool flags)
{
	const char *s;
	int r = variant_is(m, "as");

	if (r <= 0)
		return r < 0 ? r : sd_bus_message_skip(m, "v");
	r = sd_bus_message_enter_container(m, 'v', "as");
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(m, 'a', "s");
	if (r < 0)
		return r;
	if (flags)
		o->props = 0;
	else
		o->mi_uuid = false;
	while ((r = sd_bus_message_read(m, "s", &s)) > 0) {
		if (!flags) {
			if (!strcasecmp(s, UUID_FEE0) ||
			    !strcasecmp(s, UUID_FEE1))
				o->mi_uuid = true;
		} else if (!strcmp(s, "read")) {
			o->props |= MIBAND_PROP_READ;
		} else if (!strcmp(s, "write-without-response")) {
			o->props |= MIBAND_PROP_WRITE_NR;
		} else if (!strcmp(s, "write")) {
			o->props |= MIBAND_PROP_WRITE;
		} else if (!strcmp(s, "notify")) {
			o->props |= MIBAND_PROP_NOTIFY;
		} else if (!strcmp(s, "indicate")) {
			o->props |= MIBAND_PROP_INDICATE;
		}
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/* Applies one property of o's interface; the variant is consumed. */
static int apply_prop(struct obj *o, sd_bus_message *m, const char *key)
{
	switch (o->kind) {
	case OBJ_ADAPTER:
		if (!strcmp(key, "Address"))
			return prop_str(m, "s", o->address, sizeof(o->address),
					NULL);
		if (!strcmp(key, "Powered"))
			return prop_bool(m, &o->powered);
		break;
	case OBJ_DEVICE:
		if (!strcmp(key, "Address"))
			return prop_str(m, "s", o->address, sizeof(o->address),
					NULL);
		if (!strcmp(key, "Name"))
			return prop_str(m, "s", o->name, sizeof(o->name), NULL);
		if (!strcmp(key, "Adapter"))
			return prop_str(m, "o", NULL, 0, &o->parent);
		if (!strcmp(key, "RSSI"))
			return prop_rssi(m, o);
		if (!strcmp(key, "Connected"))
			return prop_bool(m, &o->connected);
		if (!strcmp(key, "ServicesResolved"))
			return prop_bool(m, &o->resolved);
		if (!strcmp(key, "Paired"))
			return prop_bool(m, &o->paired);
		if (!strcmp(key, "UUIDs"))
			return prop_strv(m, o, false);
		break;
	case OBJ_SERVICE:
		if (!strcmp(key, "UUID"))
			return prop_str(m, "s", o->uuid, sizeof(o->uuid), NULL);
		if (!strcmp(key, "Device"))
			return prop_str(m, "o", NULL, 0, &o->parent);
		break;
	case OBJ_CHR:
		if (!strcmp(key, "UUID"))
			return prop_str(m, "s", o->uuid, sizeof(o->uuid), NULL);
		if (!strcmp(key, "Service"))
			return prop_str(m, "o", NULL, 0, &o->parent);
		if (!strcmp(key, "Flags"))
			return prop_strv(m, o, true);
		break;
	default:
		break;
	}
	return sd_bus_message_skip(m, "v");
}

/* Reads an a{sv} into o (o may be NULL: skipped). */
static int read_props(sd_bus_message *m, struct obj *o)
{
	int r;

	if (!o)
		return sd_bus_message_skip(m, "a{sv}");
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key;

		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		r = apply_prop(o, m, key);
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/* Reads a{sa{sv}} for path (InterfacesAdded, GetManagedObjects). */
static int read_ifaces(struct miband_bluez *bz, sd_bus_message *m,
		       const char *path, struct obj **ret_dev)
{
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
		const char *iface;
		enum obj_kind kind;
		struct obj *o = NULL;

		r = sd_bus_message_read(m, "s", &iface);
		if (r < 0)
			return r;
		kind = iface_kind(iface);
		if (kind != OBJ_NONE) {
			o = obj_get(bz, path, kind);
			if (!o)
				return -ENOMEM;
		}
		r = read_props(m, o);
		if (r < 0)
			return r;
		if (o && kind == OBJ_DEVICE && ret_dev)
			*ret_dev = o;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/* ------------------------------------------------------------------ */
/* session inputs */

static void trace(struct miband_bluez *bz, int dir, int kind,
		  enum miband_channel ch, const uint8_t *data, size_t len,
		  bool secret)
{
	if (bz->trace)
		bz->trace(dir, kind, ch, data, len, secret,
			  miband_bluez_now_ms(), bz->trace_user_data);
}

static struct input *input_push(struct miband_bluez *bz, enum input_type type,
				enum miband_channel ch, int status,
				const void *data, size_t len)
{
	struct input *in = malloc(sizeof(*in) + len);

	if (!in) {
		bzlog(bz, "out of memory: input lost");
		return NULL;
	}
	in->next = NULL;
	in->type = type;
	in->ch = ch;
	in->status = status;
	in->held = false;
	in->len = len;
	if (len)
		memcpy(in->data, data, len);
	if (bz->in_tail)
		bz->in_tail->next = in;
	else
		bz->in_head = in;
	bz->in_tail = in;
	return in;
}

static void inputs_clear(struct miband_bluez *bz)
{
	struct input *in = bz->in_head, *next;

	for (; in; in = next) {
		next = in->next;
		free(in);
	}
	bz->in_head = bz->in_tail = NULL;
}

static void push_done(struct miband_bluez *bz, enum miband_channel ch,
		      int status)
{
	input_push(bz, IN_WRITE_DONE, ch, status, NULL, 0);
}

static void push_notify(struct miband_bluez *bz, enum miband_channel ch,
			const uint8_t *data, size_t len)
{
	struct chan *c = &bz->chans[ch];
	struct input *in;
	char hex[128];

	trace(bz, 1, MIBAND_ACTION_EVENT, ch, data, len, false);
	bzlog(bz, "notify %s: %s", chan_name(ch),
	      hexdump(data, len, false, hex, sizeof(hex)));
	in = input_push(bz, IN_NOTIFY, ch, 0, data, len);
	if (in && c->reading && c->notify == NOTIFY_START)
		in->held = true;
}

/* The read on ch finished with value (or failed): drop the Value signal
 * BlueZ emitted for the read itself and release the others. */
static void release_held(struct miband_bluez *bz, enum miband_channel ch,
			 const uint8_t *value, size_t len, bool ok)
{
	struct input *in, *prev = NULL, *echo = NULL, *echo_prev = NULL;

	for (in = bz->in_head; in; prev = in, in = in->next) {
		if (in->type != IN_NOTIFY || in->ch != ch || !in->held)
			continue;
		in->held = false;
		if (ok && in->len == len &&
		    (len == 0 || memcmp(in->data, value, len) == 0)) {
			echo = in;
			echo_prev = prev;
		}
	}
	if (!echo)
		return;
	if (echo_prev)
		echo_prev->next = echo->next;
	else
		bz->in_head = echo->next;
	if (bz->in_tail == echo)
		bz->in_tail = echo_prev;
	free(echo);
}

static bool input_ready(const struct miband_bluez *bz)
{
	return bz->in_head && !bz->in_head->held;
}

/* Feeds the oldest input to the session.  Returns true if one was fed. */
static bool feed_one(struct miband_bluez *bz, uint64_t now)
{
	struct input *in = bz->in_head;
	struct miband_session *s = bz->session;

	if (!in || in->held)
		return false;
	bz->in_head = in->next;
	if (!bz->in_head)
		bz->in_tail = NULL;
	if (s) {
		switch (in->type) {
		case IN_WRITE_DONE:
			miband_session_on_write_done(s, in->ch, in->status,
						     now);
			break;
		case IN_READ:
			miband_session_on_read(s, in->ch, in->status, in->data,
					       in->len, now);
			break;
		case IN_NOTIFY:
			miband_session_on_notify(s, in->ch, in->data, in->len,
						 now);
			break;
		case IN_DISCONNECT:
			miband_session_on_disconnect(s, now);
			break;
		}
	}
	free(in);
	return s != NULL;
}

/* ------------------------------------------------------------------ */
/* epoll and sd-event plumbing */

static int bus_watch_update(struct miband_bluez *bz)
{
	struct epoll_event ev;
	int events, fd;

	if (bz->bus_dead)
		return 0;
	events = sd_bus_get_events(bz->bus);
	fd = sd_bus_get_fd(bz->bus);
	if (events < 0 || fd < 0)
		return 0;
	if ((uint32_t)events == bz->bus_events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = 0;
	if (events & POLLIN)
		ev.events |= EPOLLIN;
	if (events & POLLOUT)
		ev.events |= EPOLLOUT;
	ev.data.u64 = EPOLL_TAG_BUS;
	if (epoll_ctl(bz->efd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	bz->bus_events = (uint32_t)events;
	return 0;
}

static void rearm(struct miband_bluez *bz);

static void chan_close_fd(struct miband_bluez *bz, struct chan *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(bz->efd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

static void chan_reset(struct miband_bluez *bz, struct chan *c, bool path)
{
	c->op = sd_bus_slot_unref(c->op);
	chan_close_fd(bz, c);
	c->notify = NOTIFY_NONE;
	c->reading = false;
	if (path) {
		free(c->path);
		c->path = NULL;
		c->props = 0;
	}
}

/* ------------------------------------------------------------------ */
/* adapter and discovery */

static int pick_adapter(struct miband_bluez *bz)
{
	struct obj *best = NULL;
	const char *want = bz->cfg_adapter;
	size_t i;

	if (bz->adapter && obj_find(bz, bz->adapter))
		return 0;
	free(bz->adapter);
	bz->adapter = NULL;
	for (i = 0; i < bz->n_objs; i++) {
		struct obj *o = bz->objs[i];
		const char *base;

		if (o->kind != OBJ_ADAPTER)
			continue;
		base = strrchr(o->path, '/');
		base = base ? base + 1 : o->path;
		if (want) {
			if (strcmp(want, o->path) && strcmp(want, base) &&
			    strcasecmp(want, o->address))
				continue;
			if (!o->powered) {
				set_error_msg(bz, "adapter %s is not powered",
					      base);
				return MIBAND_E_NO_ADAPTER;
			}
			best = o;
			break;
		}
		if (o->powered && (!best || strcmp(o->path, best->path) < 0))
			best = o;
	}
	if (!best) {
		if (want)
			set_error_msg(bz, "no adapter %s", want);
		else
			set_error_msg(bz, "no powered adapter");
		return MIBAND_E_NO_ADAPTER;
	}
	bz->adapter = strdup(best->path);
	if (!bz->adapter)
		return MIBAND_E_IO;
	bzlog(bz, "adapter %s (%s)", best->path, best->address);
	return 0;
}

static int call_async(struct miband_bluez *bz, sd_bus_slot **slot,
		      sd_bus_message *m, sd_bus_message_handler_t cb, void *ud)
{
	int r = sd_bus_call_async(bz->bus, slot, m, cb, ud, call_timeout(bz));

	sd_bus_message_unref(m);
	return r;
}

/* Sends a call nobody waits for (StopDiscovery, Disconnect). */
static void send_noreply(struct miband_bluez *bz, const char *path,
			 const char *iface, const char *member)
{
	sd_bus_message *m = NULL;

	if (bz->bus_dead)
		return;
	if (sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, path, iface,
					   member) < 0)
		return;
	sd_bus_message_set_expect_reply(m, 0);
	sd_bus_send(bz->bus, m, NULL);
	sd_bus_message_unref(m);
}

/* SetDiscoveryFilter then StartDiscovery, pipelined: BlueZ handles one
 * client's calls in order, so the start sees the filter.  The reply of
 * StartDiscovery goes to cb. */
static int start_discovery(struct miband_bluez *bz, bool mi_only,
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
	return call_async(bz, slot, m, cb, bz);
}

static void stop_discovery(struct miband_bluez *bz)
{
	if (bz->adapter)
		send_noreply(bz, bz->adapter, IF_ADAPTER, "StopDiscovery");
}

/*
 * StopDiscovery whose reply goes to cb.  A restart must wait for it:
 * bluetoothd 5.66 finishes a stop asynchronously and then drops the
 * client's discovery session, including one started in the meantime.
 */
static int stop_discovery_then(struct miband_bluez *bz, sd_bus_slot **slot,
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
	return call_async(bz, slot, m, cb, bz);
}

/* ------------------------------------------------------------------ */
/* scanning */

static bool device_matches_scan(struct miband_bluez *bz, struct obj *o)
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

static void fill_info(const struct obj *o,
		      struct miband_bluez_device_info *info)
{
	memset(info, 0, sizeof(*info));
	copy_str(info->address, sizeof(info->address), o->address);
	copy_str(info->name, sizeof(info->name), o->name);
	info->rssi = o->rssi;
	info->has_rssi = o->has_rssi;
	info->connected = o->connected;
	info->paired = o->paired;
	info->has_model = miband_bluez_guess_model(o->name, &info->model) == 0;
}

static void scan_report(struct miband_bluez *bz, struct obj *o)
{
	struct miband_bluez_device_info info;
	bool first;

	if (bz->sstate != S_ON && bz->sstate != S_STARTING)
		return;
	if (!device_matches_scan(bz, o))
		return;
	first = !o->reported;
	o->reported = true;
	fill_info(o, &info);
	if (bz->scan_found)
		bz->scan_found(bz, &info, first, bz->scan_user_data);
}

static void scan_fail(struct miband_bluez *bz, int status)
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
	if (e && !name_is(e, "org.bluez.Error.InProgress")) {
		set_error(bz, "Adapter1.StartDiscovery", e);
		scan_fail(bz, map_bus_error(e, MIBAND_E_DBUS));
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
	if (start_discovery(bz, !bz->scan_any, &bz->scan_slot,
			    on_scan_started) < 0)
		scan_fail(bz, MIBAND_E_DBUS);
	return 0;
}

static void scan_begin(struct miband_bluez *bz)
{
	size_t i;
	int r;

	if (bz->init_status < 0) {
		scan_fail(bz, bz->init_status);
		return;
	}
	r = pick_adapter(bz);
	if (r < 0) {
		scan_fail(bz, r);
		return;
	}
	bz->sstate = S_STARTING;
	for (i = 0; i < bz->n_objs; i++)
		bz->objs[i]->reported = false;
	r = start_discovery(bz, !bz->scan_any, &bz->scan_slot, on_scan_started);
	if (r < 0) {
		set_error_msg(bz, "StartDiscovery: %s", strerror(-r));
		scan_fail(bz, MIBAND_E_DBUS);
		return;
	}
	bz->scan_restart_at = now_usec() + DISCOVERY_RESTART_USEC;
	bzlog(bz, "discovery started%s%s", bz->scan_any ? "" : " (FEE0/FEE1)",
	      bz->scan_name ? ", name filter" : "");
	/* what is already known and fresh (connected, or seen by a running
	 * discovery) is reported at once */
	for (i = 0; i < bz->n_objs && bz->sstate != S_OFF; i++)
		scan_report(bz, bz->objs[i]);
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
			return MIBAND_E_IO;
	}
	bz->scan_any = filter && filter->any_service;
	bz->scan_found = found;
	bz->scan_failed = failed;
	bz->scan_user_data = user_data;
	miband_bluez_ref(bz);
	if (bz->init_status > 0)
		bz->sstate = S_WAIT_INIT;
	else
		scan_begin(bz);
	rearm(bz);
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
		stop_discovery(bz);
	bz->sstate = S_OFF;
	bz->scan_slot = sd_bus_slot_unref(bz->scan_slot);
	free(bz->scan_name);
	bz->scan_name = NULL;
	rearm(bz);
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
	end = now_usec() + (uint64_t)duration_ms * USEC_PER_MSEC;
	for (;;) {
		uint64_t now = now_usec();

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

/* ------------------------------------------------------------------ */
/* connection */

static void link_down(struct miband_bluez *bz, int reason);
static void connect_step(struct miband_bluez *bz);

static struct obj *target_device(struct miband_bluez *bz)
{
	struct obj *o;
	size_t i;

	if (bz->dev_path) {
		o = obj_find(bz, bz->dev_path);
		if (o && o->kind == OBJ_DEVICE)
			return o;
	}
	if (!bz->adapter || !bz->address[0])
		return NULL;
	for (i = 0; i < bz->n_objs; i++) {
		o = bz->objs[i];
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

static void connect_finish(struct miband_bluez *bz, int status)
{
	miband_bluez_done_fn fn = bz->conn_done;
	void *ud = bz->conn_user_data;

	bz->conn_slot = sd_bus_slot_unref(bz->conn_slot);
	if (bz->conn_discovering) {
		stop_discovery(bz);
		bz->conn_discovering = false;
	}
	bz->conn_deadline = bz->conn_step_at = NEVER;
	bz->conn_done = NULL;
	if (status == 0) {
		bz->cstate = C_READY;
		bz->link_error = 0;
		bzlog(bz, "ready: %s", bz->address);
	} else {
		bz->cstate = C_IDLE;
		bzlog(bz, "connect failed: %s", miband_err_name(status));
	}
	if (fn)
		fn(bz, status, ud);
}

/* Maps ch to dev's characteristic with its UUID, preferring the one in
 * the channel's own service.  True if ch is mapped (now or before). */
static bool map_channel(struct miband_bluez *bz, struct obj *dev,
			enum miband_channel ch)
{
	struct chan *c = &bz->chans[ch];
	const struct miband_channel_info *info = miband_channel_info(ch);
	char uuid[37], svc_uuid[37];
	struct obj *pick = NULL;
	size_t i;

	if (c->path)
		return true;
	if (!info || miband_channel_uuid(ch, uuid, sizeof(uuid)) < 0 ||
	    miband_uuid16_str(info->service16, false, svc_uuid,
			      sizeof(svc_uuid)) < 0)
		return false;
	for (i = 0; i < bz->n_objs; i++) {
		struct obj *o = bz->objs[i], *svc;

		if (o->kind != OBJ_CHR || !path_under(o->path, dev->path) ||
		    strcasecmp(o->uuid, uuid))
			continue;
		svc = o->parent ? obj_find(bz, o->parent) : NULL;
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

static int map_all(struct miband_bluez *bz, struct obj *dev)
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
static void resolved(struct miband_bluez *bz, struct obj *dev)
{
	int ch, n;

	if (bz->cstate != C_SETTLING)
		for (ch = 0; ch < MIBAND_CH_COUNT; ch++)
			chan_reset(bz, &bz->chans[ch], true);
	n = map_all(bz, dev);
	if (!bz->chans[MIBAND_CH_AUTH].path) {
		if (bz->cstate != C_SETTLING) {
			bzlog(bz,
			      "services resolved, %d channels so far, no "
			      "auth yet: waiting for the objects",
			      n);
			bz->cstate = C_SETTLING;
			bz->conn_step_at = min_u64(now_usec() + SETTLE_USEC,
						   bz->conn_deadline);
		}
		return;
	}
	bzlog(bz, "%d of %d channels mapped", n, MIBAND_CH_COUNT);
	connect_finish(bz, 0);
}

static int on_device_props(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	struct obj *dev;

	(void)err;
	bz->conn_slot = sd_bus_slot_unref(bz->conn_slot);
	if (bz->cstate != C_RESOLVING)
		return 0;
	dev = target_device(bz);
	if (e) {
		set_error(bz, "Properties.GetAll(Device1)", e);
		if (!dev) {
			connect_finish(bz, MIBAND_E_NOT_FOUND);
			return 0;
		}
		return 0; /* try again at the next poll */
	}
	if (dev && read_props(m, dev) < 0)
		return 0;
	if (!dev)
		return 0;
	if (dev->connected && dev->resolved) {
		resolved(bz, dev);
	} else if (!dev->connected) {
		bzlog(bz, "not connected while resolving; connecting again");
		bz->cstate = C_RETRY_WAIT;
		bz->conn_step_at = now_usec() + CONNECT_RETRY_USEC;
	}
	return 0;
}

static void poll_resolved(struct miband_bluez *bz)
{
	sd_bus_message *m = NULL;
	int r;

	bz->conn_step_at = now_usec() + RESOLVE_POLL_USEC;
	if (bz->conn_slot || !bz->dev_path)
		return;
	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, bz->dev_path,
					   IF_PROPS, "GetAll");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", IF_DEVICE);
	if (r >= 0)
		r = call_async(bz, &bz->conn_slot, m, on_device_props, bz);
	else
		sd_bus_message_unref(m);
	if (r < 0)
		bzlog(bz, "GetAll(Device1): %s", strerror(-r));
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
	if (!e || name_is(e, "org.bluez.Error.AlreadyConnected") ||
	    name_is(e, "org.bluez.Error.InProgress")) {
		/* connected (or someone else is connecting it): read the
		 * properties instead of trusting the signals */
		bzlog(bz, "Device1.Connect: %s", e ? e->name : "ok");
		bz->cstate = C_RESOLVING;
		poll_resolved(bz);
		return 0;
	}
	set_error(bz, "Device1.Connect", e);
	code = map_bus_error(e, MIBAND_E_CONNECT_FAILED);
	if ((code == MIBAND_E_CONNECT_FAILED || code == MIBAND_E_BUSY) &&
	    bz->conn_attempts < CONNECT_ATTEMPTS &&
	    now_usec() + CONNECT_RETRY_USEC < bz->conn_deadline) {
		bz->cstate = C_RETRY_WAIT;
		bz->conn_step_at = now_usec() + CONNECT_RETRY_USEC;
		return 0;
	}
	if (code == MIBAND_E_BUSY)
		code = MIBAND_E_CONNECT_FAILED;
	connect_finish(bz, code);
	return 0;
}

static void do_connect(struct miband_bluez *bz)
{
	sd_bus_message *m = NULL;
	uint64_t now = now_usec(), left;
	int r;

	bz->cstate = C_CONNECTING;
	bz->conn_attempts++;
	bz->conn_step_at = NEVER;
	left = bz->conn_deadline > now ? bz->conn_deadline - now : 1;
	bzlog(bz, "Device1.Connect %s (attempt %u)", bz->dev_path,
	      bz->conn_attempts);
	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, bz->dev_path,
					   IF_DEVICE, "Connect");
	if (r >= 0) {
		r = sd_bus_call_async(bz->bus, &bz->conn_slot, m,
				      on_connect_reply, bz, left);
		sd_bus_message_unref(m);
	}
	if (r < 0) {
		set_error_msg(bz, "Device1.Connect: %s", strerror(-r));
		connect_finish(bz, MIBAND_E_DBUS);
	}
}

static int on_find_discovery(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	(void)err;
	bz->conn_slot = sd_bus_slot_unref(bz->conn_slot);
	if (e && !name_is(e, "org.bluez.Error.InProgress") &&
	    bz->cstate == C_FINDING) {
		set_error(bz, "Adapter1.StartDiscovery", e);
		bz->conn_discovering = false;
		connect_finish(bz, map_bus_error(e, MIBAND_E_DBUS));
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
	r = start_discovery(bz, false, &bz->conn_slot, on_find_discovery);
	if (r < 0) {
		set_error_msg(bz, "StartDiscovery: %s", strerror(-r));
		connect_finish(bz, MIBAND_E_DBUS);
	}
	return 0;
}

static void connect_step(struct miband_bluez *bz)
{
	struct obj *dev;
	int r;

	if (bz->init_status > 0) {
		bz->cstate = C_WAIT_INIT;
		return;
	}
	if (bz->init_status < 0) {
		connect_finish(bz, bz->init_status);
		return;
	}
	r = pick_adapter(bz);
	if (r < 0) {
		connect_finish(bz, r);
		return;
	}
	dev = target_device(bz);
	if (!dev) {
		if (bz->cstate == C_FINDING)
			return;
		bz->cstate = C_FINDING;
		bz->conn_discovering = true;
		bzlog(bz, "%s unknown: discovering", bz->address);
		r = start_discovery(bz, false, &bz->conn_slot,
				    on_find_discovery);
		if (r < 0) {
			set_error_msg(bz, "StartDiscovery: %s", strerror(-r));
			connect_finish(bz, MIBAND_E_DBUS);
			return;
		}
		bz->conn_step_at = now_usec() + DISCOVERY_RESTART_USEC;
		return;
	}
	bz->seen = true;
	if (bz->conn_discovering) {
		bz->conn_slot = sd_bus_slot_unref(bz->conn_slot);
		stop_discovery(bz);
		bz->conn_discovering = false;
	}
	if (dev->connected && dev->resolved) {
		bzlog(bz, "%s already connected and resolved", bz->address);
		bz->cstate = C_RESOLVING;
		resolved(bz, dev);
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
	bz->conn_deadline = now_usec() + (uint64_t)timeout_ms * USEC_PER_MSEC;
	bz->conn_step_at = NEVER;
	bz->conn_attempts = 0;
	bz->seen = false;
	bz->link_error = 0;
	bz->mtu = 23;
	bz->last_error[0] = '\0';
	miband_bluez_ref(bz);
	bz->cstate = C_WAIT_INIT;
	connect_step(bz);
	rearm(bz);
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
static void link_down(struct miband_bluez *bz, int reason)
{
	int ch;

	if (bz->cstate != C_READY)
		return;
	bzlog(bz, "link down: %s", miband_err_name(reason));
	for (ch = 0; ch < MIBAND_CH_COUNT; ch++) {
		struct chan *c = &bz->chans[ch];

		if (c->op && c->op_type == MIBAND_ACTION_READ)
			release_held(bz, c->ch, NULL, 0, false);
		chan_reset(bz, c, false);
	}
	bz->cstate = C_IDLE;
	bz->link_error = reason;
	input_push(bz, IN_DISCONNECT, MIBAND_CH_AUTH, reason, NULL, 0);
}

static int on_disconnected(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	(void)err;
	bz->disc_slot = sd_bus_slot_unref(bz->disc_slot);
	bz->disc_pending = false;
	if (e)
		set_error(bz, "Device1.Disconnect", e);
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
		r = call_async(bz, &bz->disc_slot, m, on_disconnected, bz);
	bz->disc_pending = r >= 0;
}

int miband_bluez_disconnect(struct miband_bluez *bz)
{
	if (!bz)
		return MIBAND_E_INVAL;
	miband_bluez_ref(bz);
	if (bz->cstate == C_READY) {
		send_disconnect(bz);
		link_down(bz, MIBAND_E_DISCONNECTED);
	} else if (bz->cstate != C_IDLE) {
		/* cancel a pending BlueZ connect too */
		if (bz->cstate == C_CONNECTING || bz->cstate == C_RESOLVING)
			send_disconnect(bz);
		connect_finish(bz, MIBAND_E_CANCELLED);
	}
	if (!bz->bus_dead)
		sd_bus_flush(bz->bus);
	rearm(bz);
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
	end = now_usec() + (uint64_t)timeout_ms * USEC_PER_MSEC;
	while (bz->disc_pending) {
		uint64_t now = now_usec();

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
	struct obj *dev;

	if (!bz || !ret)
		return MIBAND_E_INVAL;
	if (!bz->address[0])
		return MIBAND_E_STATE;
	dev = target_device(bz);
	if (!dev) {
		memset(ret, 0, sizeof(*ret));
		copy_str(ret->address, sizeof(ret->address), bz->address);
		return 0;
	}
	fill_info(dev, ret);
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

/* ------------------------------------------------------------------ */
/* signals */

static void device_changed(struct miband_bluez *bz, struct obj *o,
			   bool was_connected)
{
	bool target = bz->dev_path && !strcmp(o->path, bz->dev_path);

	if (bz->sstate == S_ON || bz->sstate == S_STARTING)
		scan_report(bz, o);
	if (bz->cstate == C_FINDING && bz->adapter && o->parent &&
	    !strcmp(o->parent, bz->adapter) &&
	    !strcasecmp(o->address, bz->address)) {
		bzlog(bz, "found %s (%s)", o->address, o->name);
		connect_step(bz);
		return;
	}
	if (!target)
		return;
	if (!o->connected)
		bz->disc_pending = false;
	if (bz->cstate == C_SETTLING && !o->connected) {
		set_error_msg(bz,
			      "%s disconnected while its services were "
			      "being read",
			      bz->address);
		connect_finish(bz, MIBAND_E_DISCONNECTED);
		return;
	}
	if (bz->cstate == C_READY && was_connected && !o->connected) {
		link_down(bz, MIBAND_E_DISCONNECTED);
		return;
	}
	if (bz->cstate == C_RESOLVING && o->connected && o->resolved)
		resolved(bz, o);
}

static int on_props_changed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const char *path = sd_bus_message_get_path(m), *iface;
	struct obj *o;
	bool was_connected;
	int r;

	(void)err;
	if (!path || sd_bus_message_read(m, "s", &iface) < 0)
		return 0;
	if (!strcmp(iface, IF_CHR)) {
		int ch;

		/* only the Value of characteristics we notify via signals */
		for (ch = 0; ch < MIBAND_CH_COUNT; ch++)
			if (bz->chans[ch].notify == NOTIFY_START &&
			    bz->chans[ch].path &&
			    !strcmp(bz->chans[ch].path, path))
				break;
		if (ch == MIBAND_CH_COUNT || bz->cstate != C_READY)
			return 0;
		r = sd_bus_message_enter_container(m, 'a', "{sv}");
		if (r < 0)
			return 0;
		while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
			const char *key;
			const void *p;
			size_t n;

			if (sd_bus_message_read(m, "s", &key) < 0)
				return 0;
			if (!strcmp(key, "Value") && variant_is(m, "ay") > 0) {
				if (sd_bus_message_enter_container(m, 'v',
								   "ay") < 0 ||
				    sd_bus_message_read_array(m, 'y', &p, &n) <
					    0 ||
				    sd_bus_message_exit_container(m) < 0)
					return 0;
				push_notify(bz, (enum miband_channel)ch, p, n);
			} else if (sd_bus_message_skip(m, "v") < 0) {
				return 0;
			}
			if (sd_bus_message_exit_container(m) < 0)
				return 0;
		}
		return 0;
	}
	o = obj_find(bz, path);
	if (!o || o->kind != iface_kind(iface))
		return 0;
	was_connected = o->connected;
	if (read_props(m, o) < 0)
		return 0;
	/* invalidated: RSSI goes away when discovery stops */
	if (sd_bus_message_enter_container(m, 'a', "s") > 0) {
		const char *s;

		while (sd_bus_message_read(m, "s", &s) > 0)
			if (!strcmp(s, "RSSI"))
				o->has_rssi = false;
		sd_bus_message_exit_container(m);
	}
	if (o->kind == OBJ_DEVICE)
		device_changed(bz, o, was_connected);
	return 0;
}

static int on_ifaces_added(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const char *path;
	struct obj *dev = NULL;

	(void)err;
	if (sd_bus_message_read(m, "o", &path) < 0)
		return 0;
	if (read_ifaces(bz, m, path, &dev) < 0) {
		bzlog(bz, "InterfacesAdded %s: unreadable", path);
		return 0;
	}
	if (dev)
		device_changed(bz, dev, dev->connected);
	/* a late GATT object of our band */
	if (bz->dev_path && path_under(path, bz->dev_path) &&
	    (bz->cstate == C_SETTLING || bz->cstate == C_READY)) {
		struct obj *d = target_device(bz);

		if (!d)
			return 0;
		map_all(bz, d);
		/* the rest of the burst follows at once: finish when it has
		 * been quiet for a moment */
		if (bz->cstate == C_SETTLING && bz->chans[MIBAND_CH_AUTH].path)
			bz->conn_step_at = min_u64(now_usec() + QUIET_USEC,
						   bz->conn_deadline);
	}
	return 0;
}

static int on_ifaces_removed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const char *path, *iface;
	struct obj *o;

	(void)err;
	if (sd_bus_message_read(m, "o", &path) < 0)
		return 0;
	o = obj_find(bz, path);
	if (!o)
		return 0;
	if (sd_bus_message_enter_container(m, 'a', "s") < 0)
		return 0;
	while (sd_bus_message_read(m, "s", &iface) > 0) {
		if (iface_kind(iface) != o->kind)
			continue;
		if (o->kind == OBJ_DEVICE && bz->dev_path &&
		    !strcmp(path, bz->dev_path))
			link_down(bz, MIBAND_E_DISCONNECTED);
		if (o->kind == OBJ_ADAPTER && bz->adapter &&
		    !strcmp(path, bz->adapter)) {
			link_down(bz, MIBAND_E_NO_ADAPTER);
			free(bz->adapter);
			bz->adapter = NULL;
		}
		obj_remove(bz, path);
		break;
	}
	return 0;
}

static int on_managed_objects(sd_bus_message *m, void *ud, sd_bus_error *err);

static int request_objects(struct miband_bluez *bz)
{
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, "/", IF_OM,
					   "GetManagedObjects");
	if (r < 0)
		return r;
	bz->init_status = 1;
	return call_async(bz, &bz->init_slot, m, on_managed_objects, bz);
}

/* bluetoothd went away (or came back). */
static int on_owner_changed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const char *name, *old_owner, *new_owner;

	(void)err;
	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 ||
	    strcmp(name, BLUEZ))
		return 0;
	if (old_owner && *old_owner) {
		bzlog(bz, "bluetoothd left the bus");
		link_down(bz, MIBAND_E_NO_BLUEZ);
		if (bz->cstate != C_IDLE)
			connect_finish(bz, MIBAND_E_NO_BLUEZ);
		if (bz->sstate != S_OFF)
			scan_fail(bz, MIBAND_E_NO_BLUEZ);
		objs_clear(bz);
		free(bz->adapter);
		bz->adapter = NULL;
		bz->init_status = MIBAND_E_NO_BLUEZ;
	}
	if (new_owner && *new_owner) {
		bzlog(bz, "bluetoothd is on the bus");
		bz->init_slot = sd_bus_slot_unref(bz->init_slot);
		objs_clear(bz);
		if (request_objects(bz) < 0)
			bz->init_status = MIBAND_E_DBUS;
	}
	return 0;
}

static int on_managed_objects(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	int r;

	(void)err;
	bz->init_slot = sd_bus_slot_unref(bz->init_slot);
	if (e) {
		set_error(bz, "ObjectManager.GetManagedObjects", e);
		bz->init_status = map_bus_error(e, MIBAND_E_DBUS);
	} else {
		r = sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}");
		while (r >= 0 && (r = sd_bus_message_enter_container(
					  m, 'e', "oa{sa{sv}}")) > 0) {
			const char *path;

			r = sd_bus_message_read(m, "o", &path);
			if (r >= 0)
				r = read_ifaces(bz, m, path, NULL);
			if (r >= 0)
				r = sd_bus_message_exit_container(m);
		}
		if (r < 0) {
			set_error_msg(bz, "GetManagedObjects: bad reply: %s",
				      strerror(-r));
			bz->init_status = MIBAND_E_DBUS;
		} else {
			bz->init_status = 0;
			bzlog(bz, "object tree: %zu objects", bz->n_objs);
		}
	}
	if (bz->cstate == C_WAIT_INIT)
		connect_step(bz);
	if (bz->sstate == S_WAIT_INIT)
		scan_begin(bz);
	return 0;
}

static int on_match_installed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	(void)err;
	if (e)
		set_error(bz, "AddMatch", e);
	return 0;
}

/* ------------------------------------------------------------------ */
/* object life */

int miband_bluez_new(const struct miband_bluez_config *cfg,
		     struct miband_bluez **ret)
{
	struct miband_bluez *bz;
	struct epoll_event ev;
	int r, ch;

	if (!ret)
		return MIBAND_E_INVAL;
	bz = calloc(1, sizeof(*bz));
	if (!bz)
		return MIBAND_E_IO;
	bz->n_ref = 1;
	bz->efd = -1;
	if (cfg)
		bz->cfg = *cfg;
	else
		miband_bluez_config_init(&bz->cfg);
	if (!bz->cfg.call_timeout_ms)
		bz->cfg.call_timeout_ms = DEFAULT_CALL_TIMEOUT_MS;
	bz->cfg.adapter = NULL;
	bz->conn_deadline = bz->conn_step_at = NEVER;
	bz->mtu = 23;
	for (ch = 0; ch < MIBAND_CH_COUNT; ch++) {
		bz->chans[ch].bz = bz;
		bz->chans[ch].ch = (enum miband_channel)ch;
		bz->chans[ch].fd = -1;
	}
	if (cfg && cfg->adapter) {
		bz->cfg_adapter = strdup(cfg->adapter);
		if (!bz->cfg_adapter) {
			r = MIBAND_E_IO;
			goto fail;
		}
	}
	bz->efd = epoll_create1(EPOLL_CLOEXEC);
	if (bz->efd < 0) {
		r = MIBAND_E_IO;
		goto fail;
	}
	r = sd_bus_open_system(&bz->bus);
	if (r < 0) {
		set_error_msg(bz, "cannot open the system bus: %s",
			      strerror(-r));
		r = (r == -ENOENT || r == -ECONNREFUSED || r == -EACCES)
			    ? MIBAND_E_NO_BLUEZ
			    : MIBAND_E_DBUS;
		goto fail;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.u64 = EPOLL_TAG_BUS;
	if (epoll_ctl(bz->efd, EPOLL_CTL_ADD, sd_bus_get_fd(bz->bus), &ev) <
	    0) {
		r = MIBAND_E_IO;
		goto fail;
	}
	bz->bus_events = POLLIN | POLLOUT;
	r = sd_bus_match_signal_async(bz->bus, &bz->match_added, BLUEZ, "/",
				      IF_OM, "InterfacesAdded", on_ifaces_added,
				      on_match_installed, bz);
	if (r >= 0)
		r = sd_bus_match_signal_async(
			bz->bus, &bz->match_removed, BLUEZ, "/", IF_OM,
			"InterfacesRemoved", on_ifaces_removed,
			on_match_installed, bz);
	if (r >= 0)
		r = sd_bus_add_match_async(
			bz->bus, &bz->match_props,
			"type='signal',sender='" BLUEZ "',"
			"interface='" IF_PROPS "',member='PropertiesChanged',"
			"path_namespace='/org/bluez'",
			on_props_changed, on_match_installed, bz);
	if (r >= 0)
		r = sd_bus_add_match_async(
			bz->bus, &bz->match_owner,
			"type='signal',sender='org.freedesktop.DBus',"
			"path='/org/freedesktop/DBus',"
			"interface='org.freedesktop.DBus',"
			"member='NameOwnerChanged',arg0='" BLUEZ "'",
			on_owner_changed, on_match_installed, bz);
	if (r >= 0)
		r = request_objects(bz);
	if (r < 0) {
		set_error_msg(bz, "D-Bus setup: %s", strerror(-r));
		r = MIBAND_E_DBUS;
		goto fail;
	}
	*ret = bz;
	return 0;
fail:
	miband_bluez_unref(bz);
	return r;
}

struct miband_bluez *miband_bluez_ref(struct miband_bluez *bz)
{
	if (bz)
		bz->n_ref++;
	return bz;
}

struct miband_bluez *miband_bluez_unref(struct miband_bluez *bz)
{
	int ch;

	if (!bz || --bz->n_ref > 0)
		return NULL;
	miband_bluez_detach_event(bz);
	for (ch = 0; ch < MIBAND_CH_COUNT; ch++)
		chan_reset(bz, &bz->chans[ch], true);
	sd_bus_slot_unref(bz->conn_slot);
	sd_bus_slot_unref(bz->disc_slot);
	sd_bus_slot_unref(bz->scan_slot);
	sd_bus_slot_unref(bz->init_slot);
	sd_bus_slot_unref(bz->match_added);
	sd_bus_slot_unref(bz->match_removed);
	sd_bus_slot_unref(bz->match_props);
	sd_bus_slot_unref(bz->match_owner);
	if (bz->bus)
		sd_bus_flush_close_unref(bz->bus);
	if (bz->efd >= 0)
		close(bz->efd);
	inputs_clear(bz);
	objs_clear(bz);
	free(bz->objs);
	free(bz->adapter);
	free(bz->cfg_adapter);
	free(bz->dev_path);
	free(bz->scan_name);
	free(bz);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* GATT operations */

static void chan_op_done(struct chan *c)
{
	c->op = sd_bus_slot_unref(c->op);
}

static int start_notify(struct miband_bluez *bz, struct chan *c);

static bool wants_acquire(struct miband_bluez *bz, enum miband_channel ch)
{
	if (ch == MIBAND_CH_AUTH ||
	    bz->cfg.notify_mode == MIBAND_BLUEZ_NOTIFY_START)
		return false;
	if (bz->cfg.notify_mode == MIBAND_BLUEZ_NOTIFY_ACQUIRE)
		return true;
	switch (ch) {
	case MIBAND_CH_HR_MEAS:
	case MIBAND_CH_STEPS:
	case MIBAND_CH_EVENTS:
	case MIBAND_CH_BATTERY:
	case MIBAND_CH_TIME:
	case MIBAND_CH_SENSOR_DATA:
		return true;
	default:
		return false;
	}
}

static int on_subscribed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct chan *c = ud;
	struct miband_bluez *bz = c->bz;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	bool acquire = c->op_acquire;

	(void)err;
	chan_op_done(c);
	if (e && acquire) {
		/* InProgress: another client notifies already;
		 * NotPermitted / NotSupported: no acquired fd here */
		bzlog(bz, "AcquireNotify %s: %s: %s; using StartNotify",
		      chan_name(c->ch), e->name, e->message ? e->message : "");
		if (start_notify(bz, c) < 0)
			push_done(bz, c->ch, MIBAND_E_SUBSCRIBE_FAILED);
		return 0;
	}
	if (e) {
		set_error(bz, "GattCharacteristic1.StartNotify", e);
		push_done(bz, c->ch,
			  map_bus_error(e, MIBAND_E_SUBSCRIBE_FAILED));
		return 0;
	}
	if (acquire) {
		int fd = -1, nfd;
		uint16_t mtu = 0;
		struct epoll_event ev;

		if (sd_bus_message_read(m, "hq", &fd, &mtu) < 0 || fd < 0) {
			set_error_msg(bz, "AcquireNotify %s: bad reply",
				      chan_name(c->ch));
			push_done(bz, c->ch, MIBAND_E_SUBSCRIBE_FAILED);
			return 0;
		}
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (nfd < 0 || fcntl(nfd, F_SETFL, O_NONBLOCK) < 0) {
			if (nfd >= 0)
				close(nfd);
			push_done(bz, c->ch, MIBAND_E_IO);
			return 0;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u64 = (uint64_t)c->ch;
		if (epoll_ctl(bz->efd, EPOLL_CTL_ADD, nfd, &ev) < 0) {
			close(nfd);
			push_done(bz, c->ch, MIBAND_E_IO);
			return 0;
		}
		c->fd = nfd;
		c->notify = NOTIFY_ACQUIRED;
		if (mtu >= 23)
			bz->mtu = mtu;
		bzlog(bz, "subscribed %s (AcquireNotify, mtu %u)",
		      chan_name(c->ch), (unsigned)mtu);
	} else {
		c->notify = NOTIFY_START;
		bzlog(bz, "subscribed %s (StartNotify)", chan_name(c->ch));
	}
	push_done(bz, c->ch, 0);
	return 0;
}

static int start_notify(struct miband_bluez *bz, struct chan *c)
{
	sd_bus_message *m = NULL;
	int r;

	c->op_acquire = false;
	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, c->path, IF_CHR,
					   "StartNotify");
	if (r < 0)
		return r;
	return call_async(bz, &c->op, m, on_subscribed, c);
}

static int acquire_notify(struct miband_bluez *bz, struct chan *c)
{
	sd_bus_message *m = NULL;
	int r;

	c->op_acquire = true;
	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, c->path, IF_CHR,
					   "AcquireNotify");
	if (r >= 0)
		r = sd_bus_message_append(m, "a{sv}", 0);
	if (r < 0) {
		sd_bus_message_unref(m);
		return r;
	}
	return call_async(bz, &c->op, m, on_subscribed, c);
}

static int on_unsubscribed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct chan *c = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	(void)err;
	chan_op_done(c);
	/* "No notify session started" means we are not subscribed: fine */
	if (e && !name_is(e, "org.bluez.Error.Failed")) {
		set_error(c->bz, "GattCharacteristic1.StopNotify", e);
		push_done(c->bz, c->ch,
			  map_bus_error(e, MIBAND_E_SUBSCRIBE_FAILED));
		return 0;
	}
	push_done(c->bz, c->ch, 0);
	return 0;
}

static int on_written(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct chan *c = ud;
	struct miband_bluez *bz = c->bz;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	(void)err;
	chan_op_done(c);
	if (e) {
		set_error(bz, "GattCharacteristic1.WriteValue", e);
		push_done(bz, c->ch, map_bus_error(e, MIBAND_E_WRITE_FAILED));
		return 0;
	}
	if (c->op_request)
		trace(bz, 1, MIBAND_ACTION_WRITE, c->ch, NULL, 0, false);
	push_done(bz, c->ch, 0);
	return 0;
}

static int on_read(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct chan *c = ud;
	struct miband_bluez *bz = c->bz;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	const void *p = NULL;
	size_t n = 0;
	char hex[128];

	(void)err;
	chan_op_done(c);
	c->reading = false;
	if (e) {
		set_error(bz, "GattCharacteristic1.ReadValue", e);
		release_held(bz, c->ch, NULL, 0, false);
		input_push(bz, IN_READ, c->ch,
			   map_bus_error(e, MIBAND_E_READ_FAILED), NULL, 0);
		return 0;
	}
	if (sd_bus_message_read_array(m, 'y', &p, &n) < 0) {
		release_held(bz, c->ch, NULL, 0, false);
		input_push(bz, IN_READ, c->ch, MIBAND_E_READ_FAILED, NULL, 0);
		return 0;
	}
	release_held(bz, c->ch, p, n, true);
	trace(bz, 1, MIBAND_ACTION_READ, c->ch, p, n, false);
	bzlog(bz, "read %s: %s", chan_name(c->ch),
	      hexdump(p, n, false, hex, sizeof(hex)));
	input_push(bz, IN_READ, c->ch, 0, p, n);
	return 0;
}

static int do_write(struct miband_bluez *bz, struct chan *c,
		    const struct miband_action *a)
{
	sd_bus_message *m = NULL;
	bool request = a->with_response;
	int r;

	/* the characteristic's properties win if it offers only one */
	if (request && !(c->props & MIBAND_PROP_WRITE) &&
	    (c->props & MIBAND_PROP_WRITE_NR))
		request = false;
	else if (!request && !(c->props & MIBAND_PROP_WRITE_NR) &&
		 (c->props & MIBAND_PROP_WRITE))
		request = true;
	c->op_request = request;
	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, c->path, IF_CHR,
					   "WriteValue");
	if (r >= 0)
		r = sd_bus_message_append_array(m, 'y', a->data, a->len);
	if (r >= 0)
		r = sd_bus_message_append(m, "a{sv}", 1, "type", "s",
					  request ? "request" : "command");
	if (r < 0) {
		sd_bus_message_unref(m);
		return r;
	}
	return call_async(bz, &c->op, m, on_written, c);
}

static int do_read(struct miband_bluez *bz, struct chan *c)
{
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, c->path, IF_CHR,
					   "ReadValue");
	if (r >= 0)
		r = sd_bus_message_append(m, "a{sv}", 0);
	if (r < 0) {
		sd_bus_message_unref(m);
		return r;
	}
	r = call_async(bz, &c->op, m, on_read, c);
	if (r >= 0)
		c->reading = true;
	return r;
}

static int do_unsubscribe(struct miband_bluez *bz, struct chan *c)
{
	sd_bus_message *m = NULL;
	int r;

	if (c->notify == NOTIFY_ACQUIRED) {
		/* closing the socket is BlueZ's "stop notify" for it */
		chan_close_fd(bz, c);
		c->notify = NOTIFY_NONE;
		push_done(bz, c->ch, 0);
		return 0;
	}
	if (c->notify == NOTIFY_NONE) {
		push_done(bz, c->ch, 0);
		return 0;
	}
	c->notify = NOTIFY_NONE;
	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, c->path, IF_CHR,
					   "StopNotify");
	if (r < 0)
		return r;
	return call_async(bz, &c->op, m, on_unsubscribed, c);
}

static void perform_failed(struct miband_bluez *bz,
			   const struct miband_action *a, int status)
{
	if (a->type == MIBAND_ACTION_READ)
		input_push(bz, IN_READ, a->channel, status, NULL, 0);
	else
		push_done(bz, a->channel, status);
}

int miband_bluez_perform(struct miband_bluez *bz, const struct miband_action *a)
{
	struct chan *c;
	char hex[128];
	int r = 0;

	if (!bz || !a)
		return MIBAND_E_INVAL;
	if (!bz->session)
		return MIBAND_E_STATE;
	switch (a->type) {
	case MIBAND_ACTION_SUBSCRIBE:
	case MIBAND_ACTION_UNSUBSCRIBE:
	case MIBAND_ACTION_WRITE:
	case MIBAND_ACTION_READ:
		if ((unsigned)a->channel >= MIBAND_CH_COUNT)
			return MIBAND_E_INVAL;
		break;
	case MIBAND_ACTION_DISCONNECT:
		bzlog(bz, "session asks to disconnect: %s",
		      miband_err_name(a->reason));
		return miband_bluez_disconnect(bz);
	default:
		return MIBAND_E_INVAL;
	}
	c = &bz->chans[a->channel];
	miband_bluez_ref(bz);
	if (a->type == MIBAND_ACTION_WRITE) {
		trace(bz, 0, a->type, a->channel, a->data, a->len, a->secret);
		bzlog(bz, "write %s%s: %s", chan_name(a->channel),
		      a->with_response ? "" : " (no response)",
		      hexdump(a->data, a->len, a->secret, hex, sizeof(hex)));
	} else {
		trace(bz, 0, a->type, a->channel, NULL, 0, false);
		bzlog(bz, "%s %s",
		      a->type == MIBAND_ACTION_SUBSCRIBE     ? "subscribe"
		      : a->type == MIBAND_ACTION_UNSUBSCRIBE ? "unsubscribe"
							     : "read",
		      chan_name(a->channel));
	}
	if (bz->cstate != C_READY) {
		perform_failed(bz, a, MIBAND_E_DISCONNECTED);
		goto out;
	}
	if (!c->path) {
		set_error_msg(bz, "the band has no %s characteristic",
			      chan_name(a->channel));
		perform_failed(bz, a, MIBAND_E_NO_SERVICE);
		goto out;
	}
	if (c->op) {
		perform_failed(bz, a, MIBAND_E_BUSY);
		goto out;
	}
	c->op_type = a->type;
	c->op_secret = a->secret;
	switch (a->type) {
	case MIBAND_ACTION_SUBSCRIBE:
		if (c->notify != NOTIFY_NONE) {
			push_done(bz, a->channel, 0);
			break;
		}
		if (!(c->props & (MIBAND_PROP_NOTIFY | MIBAND_PROP_INDICATE))) {
			set_error_msg(bz, "%s does not notify",
				      chan_name(a->channel));
			push_done(bz, a->channel, MIBAND_E_SUBSCRIBE_FAILED);
			break;
		}
		if (wants_acquire(bz, a->channel) &&
		    (c->props & MIBAND_PROP_NOTIFY))
			r = acquire_notify(bz, c);
		else
			r = start_notify(bz, c);
		break;
	case MIBAND_ACTION_UNSUBSCRIBE:
		r = do_unsubscribe(bz, c);
		break;
	case MIBAND_ACTION_WRITE:
		r = do_write(bz, c, a);
		break;
	case MIBAND_ACTION_READ:
		r = do_read(bz, c);
		break;
	default:
		break;
	}
	if (r < 0) {
		set_error_msg(bz, "%s: cannot send: %s", chan_name(a->channel),
			      strerror(-r));
		perform_failed(bz, a,
			       r == -ENOMEM ? MIBAND_E_IO : MIBAND_E_DBUS);
	}
out:
	rearm(bz);
	miband_bluez_unref(bz);
	return 0;
}

int miband_bluez_attach_session(struct miband_bluez *bz,
				struct miband_session *s,
				miband_bluez_ready_fn ready, void *user_data)
{
	if (!bz)
		return MIBAND_E_INVAL;
	bz->session = s;
	bz->ready = s ? ready : NULL;
	bz->ready_user_data = s ? user_data : NULL;
	rearm(bz);
	return 0;
}

void miband_bluez_set_trace(struct miband_bluez *bz, miband_bluez_trace_fn fn,
			    void *user_data)
{
	if (!bz)
		return;
	bz->trace = fn;
	bz->trace_user_data = user_data;
}

const char *miband_bluez_last_error(const struct miband_bluez *bz)
{
	return bz ? bz->last_error : "";
}

/* ------------------------------------------------------------------ */
/* the loop */

static void read_notify_fd(struct miband_bluez *bz, struct chan *c,
			   uint32_t events)
{
	uint8_t buf[NOTIFY_MAX];

	for (;;) {
		ssize_t n;

		if (c->fd < 0)
			return;
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			push_notify(bz, c->ch, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 && errno == EINTR)
			continue;
		/* EOF or error: BlueZ closed it, the link is gone */
		events |= EPOLLHUP;
		break;
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		bzlog(bz, "notification socket of %s closed", chan_name(c->ch));
		chan_close_fd(bz, c);
		c->notify = NOTIFY_NONE;
		link_down(bz, MIBAND_E_DISCONNECTED);
	}
}

static void bus_lost(struct miband_bluez *bz, int r)
{
	int fd = sd_bus_get_fd(bz->bus);

	set_error_msg(bz, "the system bus connection is lost: %s",
		      strerror(-r));
	bz->bus_dead = true;
	bz->disc_pending = false;
	if (fd >= 0)
		epoll_ctl(bz->efd, EPOLL_CTL_DEL, fd, NULL);
	link_down(bz, MIBAND_E_NO_BLUEZ);
	if (bz->cstate != C_IDLE && bz->cstate != C_READY)
		connect_finish(bz, MIBAND_E_NO_BLUEZ);
	if (bz->sstate != S_OFF)
		scan_fail(bz, MIBAND_E_NO_BLUEZ);
	bz->init_status = MIBAND_E_NO_BLUEZ;
}

static void run_timers(struct miband_bluez *bz, uint64_t now)
{
	if (bz->cstate != C_IDLE && bz->cstate != C_READY &&
	    now >= bz->conn_deadline) {
		int code = bz->seen ? MIBAND_E_TIMEOUT : MIBAND_E_NOT_FOUND;

		if (!bz->seen)
			set_error_msg(bz, "%s not found", bz->address);
		else if (!bz->last_error[0])
			set_error_msg(bz,
				      "%s: not connected and resolved "
				      "before the deadline",
				      bz->address);
		if (bz->dev_path &&
		    (bz->cstate == C_CONNECTING || bz->cstate == C_RESOLVING))
			send_noreply(bz, bz->dev_path, IF_DEVICE, "Disconnect");
		connect_finish(bz, code);
	} else if (now >= bz->conn_step_at) {
		switch (bz->cstate) {
		case C_FINDING:
			bzlog(bz, "nothing yet; restarting discovery");
			bz->conn_step_at = now + DISCOVERY_RESTART_USEC;
			if (stop_discovery_then(bz, &bz->conn_slot,
						on_find_stopped) < 0) {
				set_error_msg(bz, "StopDiscovery failed");
				connect_finish(bz, MIBAND_E_DBUS);
			}
			break;
		case C_RETRY_WAIT:
			bz->conn_step_at = NEVER;
			connect_step(bz);
			break;
		case C_RESOLVING:
			poll_resolved(bz);
			break;
		case C_SETTLING:
			if (bz->chans[MIBAND_CH_AUTH].path) {
				bzlog(bz, "%d of %d channels mapped",
				      count_mapped(bz), MIBAND_CH_COUNT);
				connect_finish(bz, 0);
				break;
			}
			set_error_msg(bz,
				      "%s has no Mi Band auth "
				      "characteristic",
				      bz->address);
			connect_finish(bz, MIBAND_E_NO_SERVICE);
			break;
		default:
			bz->conn_step_at = NEVER;
			break;
		}
	}
	if (bz->sstate == S_ON && now >= bz->scan_restart_at) {
		/* an emulated controller reports an advertiser only when
		 * scanning starts; restart so late arrivals show up */
		bz->sstate = S_STARTING;
		if (stop_discovery_then(bz, &bz->scan_slot, on_scan_stopped) <
		    0)
			scan_fail(bz, MIBAND_E_DBUS);
		bz->scan_restart_at = now + DISCOVERY_RESTART_USEC;
	}
}

int miband_bluez_process(struct miband_bluez *bz)
{
	struct epoll_event evs[MIBAND_CH_COUNT + 1];
	uint64_t now;
	int n, i, r = 0;

	if (!bz)
		return MIBAND_E_INVAL;
	miband_bluez_ref(bz);
	n = epoll_wait(bz->efd, evs, (int)(sizeof(evs) / sizeof(evs[0])), 0);
	for (i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;

		if (tag < MIBAND_CH_COUNT)
			read_notify_fd(bz, &bz->chans[tag], evs[i].events);
	}
	while (!bz->bus_dead) {
		r = sd_bus_process(bz->bus, NULL);
		if (r < 0) {
			bus_lost(bz, r);
			break;
		}
		if (r == 0)
			break;
	}
	now = now_usec();
	run_timers(bz, now);
	if (!bz->session) {
		/* nobody to tell: what came in is dropped */
		while (input_ready(bz))
			feed_one(bz, now / USEC_PER_MSEC);
	}
	/* one input per call unless a ready callback drains after each */
	while (bz->session && feed_one(bz, now / USEC_PER_MSEC)) {
		if (!bz->ready)
			break;
		bz->ready(bz, bz->ready_user_data);
	}
	if (!input_ready(bz) && bz->session &&
	    miband_session_deadline_ms(bz->session) <= now / USEC_PER_MSEC) {
		miband_session_on_timeout(bz->session, now / USEC_PER_MSEC);
		if (bz->ready)
			bz->ready(bz, bz->ready_user_data);
	}
	rearm(bz);
	r = bz->bus_dead ? MIBAND_E_NO_BLUEZ : 0;
	miband_bluez_unref(bz);
	return r;
}

int miband_bluez_get_fd(struct miband_bluez *bz)
{
	return bz ? bz->efd : MIBAND_E_INVAL;
}

int miband_bluez_get_timeout(struct miband_bluez *bz, uint64_t *ret_usec)
{
	uint64_t t = NEVER, bt;

	if (!bz || !ret_usec)
		return MIBAND_E_INVAL;
	if (input_ready(bz)) {
		*ret_usec = 0;
		return 0;
	}
	if (!bz->bus_dead && sd_bus_get_timeout(bz->bus, &bt) > 0)
		t = bt;
	if (bz->cstate != C_IDLE && bz->cstate != C_READY)
		t = min_u64(t, min_u64(bz->conn_deadline, bz->conn_step_at));
	if (bz->sstate == S_ON)
		t = min_u64(t, bz->scan_restart_at);
	if (bz->session) {
		uint64_t d = miband_session_deadline_ms(bz->session);

		if (d != NEVER)
			t = min_u64(t, d >= NEVER / USEC_PER_MSEC
					       ? NEVER
					       : d * USEC_PER_MSEC);
	}
	*ret_usec = t;
	return 0;
}

int miband_bluez_wait(struct miband_bluez *bz, uint64_t timeout_usec)
{
	struct pollfd p;
	uint64_t t, now;
	int ms;

	if (!bz)
		return MIBAND_E_INVAL;
	miband_bluez_get_timeout(bz, &t);
	now = now_usec();
	if (timeout_usec != NEVER)
		t = min_u64(t, now + timeout_usec);
	if (t == NEVER)
		ms = -1;
	else if (t <= now)
		ms = 0;
	else if (t - now > (uint64_t)INT32_MAX * USEC_PER_MSEC)
		ms = INT32_MAX;
	else /* round up: waking early only spins */
		ms = (int)((t - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC);
	p.fd = bz->efd;
	p.events = POLLIN;
	p.revents = 0;
	if (poll(&p, 1, ms) < 0 && errno == EINTR)
		return 1;
	return miband_bluez_process(bz);
}

/* ---- sd-event ---- */

static int on_event_io(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	(void)s;
	(void)fd;
	(void)revents;
	miband_bluez_process(ud);
	return 0;
}

static int on_event_time(sd_event_source *s, uint64_t usec, void *ud)
{
	(void)s;
	(void)usec;
	miband_bluez_process(ud);
	return 0;
}

static void rearm(struct miband_bluez *bz)
{
	uint64_t t;

	bus_watch_update(bz);
	if (!bz->ev_time)
		return;
	miband_bluez_get_timeout(bz, &t);
	if (t == NEVER) {
		sd_event_source_set_enabled(bz->ev_time, SD_EVENT_OFF);
		return;
	}
	sd_event_source_set_time(bz->ev_time, t);
	sd_event_source_set_enabled(bz->ev_time, SD_EVENT_ONESHOT);
}

int miband_bluez_attach_event(struct miband_bluez *bz, void *sd_event_ptr,
			      int64_t priority)
{
	sd_event *e = sd_event_ptr;
	int r;

	if (!bz)
		return MIBAND_E_INVAL;
	if (bz->ev_io)
		return MIBAND_E_BUSY;
	if (e)
		sd_event_ref(e);
	else if (sd_event_default(&e) < 0)
		return MIBAND_E_IO;
	r = sd_event_add_io(e, &bz->ev_io, bz->efd, EPOLLIN, on_event_io, bz);
	if (r >= 0)
		r = sd_event_add_time(e, &bz->ev_time, CLOCK_MONOTONIC, 0, 0,
				      on_event_time, bz);
	if (r >= 0)
		r = sd_event_source_set_priority(bz->ev_io, priority);
	if (r >= 0)
		r = sd_event_source_set_priority(bz->ev_time, priority);
	sd_event_unref(e);
	if (r < 0) {
		miband_bluez_detach_event(bz);
		return MIBAND_E_IO;
	}
	rearm(bz);
	return 0;
}

int miband_bluez_detach_event(struct miband_bluez *bz)
{
	if (!bz)
		return MIBAND_E_INVAL;
	bz->ev_io = sd_event_source_disable_unref(bz->ev_io);
	bz->ev_time = sd_event_source_disable_unref(bz->ev_time);
	return 0;
}
