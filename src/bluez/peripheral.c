/*
 * The peripheral side of the BlueZ transport: a band engine served to real
 * BLE centrals through bluetoothd's D-Bus API, with sd-bus.
 *
 * How it works
 *
 * Objects.  Under APP_PATH the band's GATT table becomes GattService1,
 * GattCharacteristic1 and GattDescriptor1 objects (sd-bus vtables, one per
 * object, userdata = our record).  bluetoothd reads them with one
 * GetManagedObjects on APP_PATH, which we answer ourselves (a plain object
 * callback, not sd-bus's object manager) so that objects come out in table
 * order: BlueZ inserts characteristics, and the CCCDs it adds itself, in
 * the order it receives them, and the Mi Band 2 handles only come out
 * right in that order.  Services 0x1800 and 0x1801 of the table are not
 * exported: bluetoothd serves GAP and GATT itself (the device name comes
 * from the adapter's Alias, which we set to the band's name while running).
 *
 * Handles.  Where the table has handles (Mi Band 2) each service and
 * characteristic carries a "Handle" property (bluez >= 5.58): services
 * their start handle, characteristics their value handle (BlueZ puts the
 * declaration just before it and a CCCD just after it), and the one User
 * Description descriptor of 2A46 its handle.  If bluetoothd refuses that
 * layout (its own GAP/GATT services overlap, an older bluez), the
 * application is registered again with every handle 0 and a warning.  With
 * handle 0 BlueZ chooses and writes the handle back through Properties.Set.
 *
 * Order.  RegisterApplication, and only when it succeeded
 * RegisterAdvertisement: a central that connects must find the services.
 * Both are asynchronous, because bluetoothd calls back into us
 * (GetManagedObjects) before it replies.
 *
 * Inputs.  ReadValue -> miband_band_read, WriteValue -> on_write,
 * StartNotify/StopNotify (or an acquired notify fd and its hang-up) ->
 * on_subscribe, Device1.Connected of a device of our adapter (signal, or
 * the "device" option of a read/write when the signal was missed) ->
 * on_connect / on_disconnect, the sd-event timer at deadline_ms ->
 * on_timeout.  After every input the engine's actions are drained:
 * NOTIFY goes out through the acquired fd when bluetoothd took one, else
 * as PropertiesChanged(Value), which bluetoothd turns into an ATT
 * notification; DISCONNECT calls Device1.Disconnect on the connected
 * device; EVENT goes to the caller.
 *
 * ATT errors of the engine become org.bluez.Error.* replies that bluez
 * 5.66 maps back: READ/WRITE_NOT_PERMITTED -> NotPermitted, REQUEST_NOT_
 * SUPPORTED -> NotSupported, INVALID_LENGTH -> InvalidValueLength,
 * INSUFFICIENT_AUTHN -> NotAuthorized (bluez has no name for 0x05, so the
 * central sees 0x08 "insufficient authorization"), others -> Failed.
 *
 * Time.  The engine's clock is milliseconds of CLOCK_MONOTONIC since
 * start; its band clock starts at the wall-clock time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bluez/peripheral.h"
#include "miband/codec.h"
#include "miband/types.h"

#define BLUEZ "org.bluez"
#define IF_ADAPTER "org.bluez.Adapter1"
#define IF_DEVICE "org.bluez.Device1"
#define IF_GATT_MGR "org.bluez.GattManager1"
#define IF_ADV_MGR "org.bluez.LEAdvertisingManager1"
#define IF_SERVICE "org.bluez.GattService1"
#define IF_CHR "org.bluez.GattCharacteristic1"
#define IF_DESC "org.bluez.GattDescriptor1"
#define IF_ADV "org.bluez.LEAdvertisement1"
#define IF_PROPS "org.freedesktop.DBus.Properties"
#define IF_OM "org.freedesktop.DBus.ObjectManager"
#define ERR_PREFIX "org.bluez.Error."

#define APP_PATH "/org/libmiband/emu"
#define ADV_PATH APP_PATH "/advertisement0"
#define HUAMI_COMPANY_ID 0x0157
#define UUID_CUD 0x2901
#define CALL_USEC (10 * 1000000ull)
/* a central we know is there but not yet which (see implicit_connect) */
#define UNKNOWN_DEVICE "?"

struct periph_desc;

struct periph_svc {
	struct miband__periph *p;
	const struct miband_gatt_service *svc;
	char path[48];
	char uuid[37];
	uint16_t handle; /* exported; BlueZ's choice when it was 0 */
	bool pinned;	 /* exported with the table's handles */
	sd_bus_slot *slot;
};

struct periph_chr {
	struct miband__periph *p;
	const struct miband_gatt_attr *attr;
	struct periph_svc *svc;
	char path[64];
	char uuid[37];
	uint16_t handle; /* value handle */
	bool notifying;	 /* StartNotify seen */
	int notify_fd, write_fd;
	sd_event_source *notify_src, *write_src;
	uint16_t mtu;
	uint8_t value[MIBAND_BAND_VALUE_MAX];
	size_t value_len;
	struct periph_desc *cud; /* User Description, or NULL */
	sd_bus_slot *slot;
};

struct periph_desc {
	struct miband__periph *p;
	struct periph_chr *chr;
	char path[80];
	char uuid[37];
	uint16_t handle;
	sd_bus_slot *slot;
};

struct miband__periph {
	struct miband__periph_config cfg;
	sd_event *event;
	sd_bus *bus;
	sd_event_source *timer;
	sd_bus_slot *root_slot, *adv_slot, *match_props, *match_added;
	sd_bus_slot *match_owner, *pending;
	struct miband_band band;
	const struct miband_gatt_table *table;
	uint64_t origin_usec;
	char adapter[16];
	char adapter_path[32];
	char address[18];
	char old_alias[249];
	bool alias_set;
	bool app_registered, adv_registered, stopped;
	enum pin_mode {
		PIN_ALL,     /* every handle of the table */
		PIN_PROBE,   /* none, to learn where bluetoothd's own end */
		PIN_PARTIAL, /* the services above bluetoothd's own */
		PIN_NONE,    /* none */
	} pin_mode;
	bool pinned;	/* some handle is pinned */
	char conn[128]; /* path of the connected device, "" if none */
	char error[256];
	uint8_t mfr[8]; /* manufacturer data payload */
	size_t mfr_len;
	struct periph_svc *svcs;
	size_t n_svcs;
	struct periph_chr *chrs;
	size_t n_chrs;
	struct periph_desc *descs;
	size_t n_descs;
};

/* ---- small helpers ---- */

static uint64_t mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t now_ms(const struct miband__periph *p)
{
	return (mono_usec() - p->origin_usec) / 1000;
}

static void plog(struct miband__periph *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void plog(struct miband__periph *p, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!p->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	p->cfg.log(line, p->cfg.user_data);
}

static void set_error(struct miband__periph *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_error(struct miband__periph *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
}

static bool path_under(const char *path, const char *parent)
{
	size_t n = strlen(parent);

	return path && strncmp(path, parent, n) == 0 && path[n] == '/';
}

static const char *chan_name(int ch)
{
	const struct miband_channel_info *ci;

	if (ch < 0)
		return "-";
	ci = miband_channel_info((enum miband_channel)ch);
	return ci ? ci->name : "?";
}

static const char *dev_addr(const char *path)
{
	const char *s = strrchr(path, '/');

	return s && strncmp(s, "/dev_", 5) == 0 ? s + 5 : path;
}

static int map_bus_error(const sd_bus_error *e, int fallback)
{
	if (!e || !e->name)
		return fallback;
	if (!strcmp(e->name, "org.freedesktop.DBus.Error.ServiceUnknown") ||
	    !strcmp(e->name, "org.freedesktop.DBus.Error.NameHasNoOwner"))
		return MIBAND_E_NO_BLUEZ;
	return fallback;
}

void miband__periph_format_value(enum miband_channel ch, bool from_client,
				 const uint8_t *data, size_t len, char *buf,
				 size_t cap)
{
	size_t shown = len, i, o = 0;
	bool redact = false;

	if (!buf || !cap)
		return;
	buf[0] = '\0';
	if (from_client && ch == MIBAND_CH_AUTH && len >= 2 &&
	    ((data[0] & 0x0f) == MIBAND_AUTH_CMD_SET_KEY ||
	     (data[0] & 0x0f) == MIBAND_AUTH_CMD_ANSWER)) {
		shown = 2;
		redact = true;
	} else if (from_client && ch == MIBAND_CH_CHUNKED && len >= 2 &&
		   (data[1] & 0x0f) == 4) {
		shown = 3 < len ? 3 : len;
		redact = true;
	}
	for (i = 0; i < shown && o + 4 < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%02x", i ? " " : "",
				      data[i]);
	if (redact && len > shown && o < cap)
		snprintf(buf + o, cap - o, " [%zu bytes redacted]",
			 len - shown);
	else if (!len)
		snprintf(buf, cap, "(empty)");
}

static void log_value(struct miband__periph *p, const char *what, int ch,
		      bool from_client, const uint8_t *data, size_t len,
		      const char *tail)
{
	char hex[160];

	if (!p->cfg.verbose)
		return;
	if (ch >= 0)
		miband__periph_format_value((enum miband_channel)ch,
					    from_client, data, len, hex,
					    sizeof(hex));
	else
		miband__periph_format_value(MIBAND_CH_COUNT, from_client, data,
					    len, hex, sizeof(hex));
	plog(p, "%s %s %s%s", what, chan_name(ch), hex, tail ? tail : "");
}

/* ---- the engine pump ---- */

static void drain(struct miband__periph *p);

static void rearm(struct miband__periph *p)
{
	uint64_t d = miband_band_deadline_ms(&p->band);

	if (!p->timer)
		return;
	if (d == UINT64_MAX) {
		sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
		return;
	}
	sd_event_source_set_time(p->timer, p->origin_usec + d * 1000ull);
	sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	struct miband__periph *p = ud;

	(void)s;
	(void)usec;
	miband_band_on_timeout(&p->band, now_ms(p));
	drain(p);
	return 0;
}

static struct periph_chr *chr_for_channel(struct miband__periph *p,
					  enum miband_channel ch)
{
	size_t i;

	for (i = 0; i < p->n_chrs; i++)
		if (p->chrs[i].attr->channel == (int)ch)
			return &p->chrs[i];
	return NULL;
}

static void notify(struct miband__periph *p, enum miband_channel ch,
		   const uint8_t *data, size_t len)
{
	struct periph_chr *c = chr_for_channel(p, ch);
	int r;

	if (!c) {
		log_value(p, "notify", (int)ch, false, data, len,
			  " (no such characteristic: dropped)");
		return;
	}
	if (len > sizeof(c->value))
		len = sizeof(c->value);
	memcpy(c->value, data, len);
	c->value_len = len;
	if (c->notify_fd >= 0) {
		if (send(c->notify_fd, data, len, MSG_NOSIGNAL) < 0) {
			log_value(p, "notify", (int)ch, false, data, len,
				  " (notify fd failed: dropped)");
			return;
		}
		log_value(p, "notify", (int)ch, false, data, len, " (fd)");
		return;
	}
	if (!c->notifying) {
		log_value(p, "notify", (int)ch, false, data, len,
			  " (not subscribed: dropped)");
		return;
	}
	r = sd_bus_emit_properties_changed(p->bus, c->path, IF_CHR, "Value",
					   NULL);
	if (r < 0)
		plog(p, "warning: PropertiesChanged on %s: %s", c->path,
		     strerror(-r));
	log_value(p, "notify", (int)ch, false, data, len, NULL);
}

static void disconnect_device(struct miband__periph *p, int reason)
{
	int r;

	if (!p->conn[0] || !strcmp(p->conn, UNKNOWN_DEVICE)) {
		plog(p,
		     "band drops the link (reason %d): no device to"
		     " disconnect",
		     reason);
		return;
	}
	plog(p, "band drops the link to %s (reason %d)", dev_addr(p->conn),
	     reason);
	r = sd_bus_call_method_async(p->bus, NULL, BLUEZ, p->conn, IF_DEVICE,
				     "Disconnect", NULL, NULL, "");
	if (r < 0)
		plog(p, "warning: Device1.Disconnect: %s", strerror(-r));
}

static void drain(struct miband__periph *p)
{
	struct miband_band_action a;

	while (miband_band_next_action(&p->band, &a) !=
	       MIBAND_BAND_ACTION_DONE) {
		switch (a.type) {
		case MIBAND_BAND_ACTION_NOTIFY:
			notify(p, a.channel, a.data, a.len);
			break;
		case MIBAND_BAND_ACTION_DISCONNECT:
			disconnect_device(p, a.reason);
			break;
		case MIBAND_BAND_ACTION_EVENT:
			if (p->cfg.event)
				p->cfg.event(&a.event, p->cfg.user_data);
			break;
		default:
			break;
		}
	}
	rearm(p);
}

void miband__periph_kick(struct miband__periph *p)
{
	if (p)
		drain(p);
}

static void device_connected(struct miband__periph *p, const char *path,
			     bool connected)
{
	if (connected) {
		if (!strcmp(p->conn, path))
			return;
		if (!strcmp(p->conn, UNKNOWN_DEVICE)) {
			/* the link the engine already serves: just name it */
			snprintf(p->conn, sizeof(p->conn), "%s", path);
			plog(p, "connected: %s", dev_addr(path));
			return;
		}
		if (p->conn[0]) {
			plog(p,
			     "%s connected while %s is: the band serves one"
			     " central, switching",
			     dev_addr(path), dev_addr(p->conn));
			miband_band_on_disconnect(&p->band, now_ms(p));
			drain(p);
		}
		snprintf(p->conn, sizeof(p->conn), "%s", path);
		plog(p, "connected: %s", dev_addr(path));
		miband_band_on_connect(&p->band, now_ms(p));
		drain(p);
	} else if (!strcmp(p->conn, path)) {
		plog(p, "disconnected: %s", dev_addr(path));
		p->conn[0] = '\0';
		miband_band_on_disconnect(&p->band, now_ms(p));
		drain(p);
	}
}

/* ---- options of ReadValue / WriteValue / Acquire* ---- */

struct gatt_opts {
	uint16_t offset;
	uint16_t mtu;
	int type; /* -1 not given, 0 command, 1 request */
	bool prepare;
	char device[128];
};

static int read_opts(sd_bus_message *m, struct gatt_opts *o)
{
	const char *k, *s;
	int r, b;

	memset(o, 0, sizeof(*o));
	o->type = -1;
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		r = sd_bus_message_read(m, "s", &k);
		if (r < 0)
			return r;
		if (!strcmp(k, "offset")) {
			r = sd_bus_message_read(m, "v", "q", &o->offset);
		} else if (!strcmp(k, "mtu")) {
			r = sd_bus_message_read(m, "v", "q", &o->mtu);
		} else if (!strcmp(k, "device")) {
			r = sd_bus_message_read(m, "v", "o", &s);
			if (r >= 0)
				snprintf(o->device, sizeof(o->device), "%s", s);
		} else if (!strcmp(k, "type")) {
			r = sd_bus_message_read(m, "v", "s", &s);
			if (r >= 0)
				o->type = strcmp(s, "command") ? 1 : 0;
		} else if (!strcmp(k, "prepare-authorize")) {
			r = sd_bus_message_read(m, "v", "b", &b);
			o->prepare = r >= 0 && b;
		} else {
			r = sd_bus_message_skip(m, "v");
		}
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

/*
 * bluetoothd sends property signals from an idle handler but method calls
 * at once, so a central's first CCCD write (StartNotify, AcquireNotify:
 * no device named) can arrive before Device1.Connected.  The engine must
 * be connected to take it: connect it now and let the signal name the
 * device later.
 */
static void implicit_connect(struct miband__periph *p)
{
	if (p->conn[0])
		return;
	snprintf(p->conn, sizeof(p->conn), UNKNOWN_DEVICE);
	plog(p, "connected: a central (not signalled yet)");
	miband_band_on_connect(&p->band, now_ms(p));
	drain(p);
}

/* A read or write names the device: a missed Connected signal is caught
 * here (bluez does not always signal it, docs/TESTING.md). */
static void seen_device(struct miband__periph *p, const char *path)
{
	if (path[0] && path_under(path, p->adapter_path) &&
	    strcmp(p->conn, path) != 0)
		device_connected(p, path, true);
}

static int reply_att_error(sd_bus_message *m, int att)
{
	switch (att) {
	case MIBAND_ATT_READ_NOT_PERMITTED:
	case MIBAND_ATT_WRITE_NOT_PERMITTED:
		return sd_bus_reply_method_errorf(m, ERR_PREFIX "NotPermitted",
						  "ATT error 0x%02x", att);
	case MIBAND_ATT_INSUFFICIENT_AUTHN:
		return sd_bus_reply_method_errorf(m, ERR_PREFIX "NotAuthorized",
						  "ATT error 0x%02x: not"
						  " authenticated",
						  att);
	case MIBAND_ATT_REQUEST_NOT_SUPPORTED:
		return sd_bus_reply_method_errorf(m, ERR_PREFIX "NotSupported",
						  "ATT error 0x%02x", att);
	case MIBAND_ATT_INVALID_LENGTH:
		return sd_bus_reply_method_errorf(
			m, ERR_PREFIX "InvalidValueLength", "ATT error 0x%02x",
			att);
	default:
		return sd_bus_reply_method_errorf(m, ERR_PREFIX "Failed",
						  "0x%02x ATT error", att);
	}
}

static int reply_bytes(sd_bus_message *m, const uint8_t *data, size_t len)
{
	sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_append_array(reply, 'y', data, len);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r;
}

/* Values of characteristics the engine does not use (channel -1). */
static size_t static_value(const struct miband_gatt_attr *a, uint8_t *buf)
{
	/* FEE0 carries a copy of the preferred connection parameters; a Mi
	 * Band 2 answers 27 00 27 00 00 00 f4 01 (PROTOCOL.md 6). */
	static const uint8_t ppcp[8] = {0x27, 0x00, 0x27, 0x00,
					0x00, 0x00, 0xf4, 0x01};

	if (!a->huami_base && a->uuid16 == 0x2a04) {
		memcpy(buf, ppcp, sizeof(ppcp));
		return sizeof(ppcp);
	}
	return 0;
}

/* ---- GattCharacteristic1 methods ---- */

static int chr_read(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct periph_chr *c = ud;
	struct miband__periph *p = c->p;
	uint8_t buf[MIBAND_BAND_VALUE_MAX];
	struct gatt_opts o;
	size_t len = 0;
	int r, att = 0, ch = c->attr->channel;

	(void)e;
	r = read_opts(m, &o);
	if (r < 0)
		return r;
	seen_device(p, o.device);
	if (ch >= 0) {
		att = miband_band_read(&p->band, (enum miband_channel)ch,
				       now_ms(p), buf, sizeof(buf), &len);
	} else {
		len = static_value(c->attr, buf);
	}
	if (att) {
		if (p->cfg.verbose)
			plog(p, "read %s -> ATT error 0x%02x", chan_name(ch),
			     att);
		r = reply_att_error(m, att);
	} else {
		log_value(p, "read", ch, false, buf, len, NULL);
		if (o.offset > len)
			r = sd_bus_reply_method_errorf(
				m, ERR_PREFIX "InvalidOffset", "offset %u",
				o.offset);
		else
			r = reply_bytes(m, buf + o.offset, len - o.offset);
	}
	drain(p);
	return r < 0 ? r : 1;
}

static void band_write(struct periph_chr *c, const uint8_t *data, size_t len,
		       bool with_response, int *ret_att)
{
	struct miband__periph *p = c->p;
	int ch = c->attr->channel, att = 0;

	log_value(p, "write", ch, true, data, len,
		  with_response ? NULL : " (no response)");
	if (ch >= 0)
		att = miband_band_on_write(&p->band, (enum miband_channel)ch,
					   data, len, with_response, now_ms(p));
	if (att && p->cfg.verbose)
		plog(p, "write %s -> ATT error 0x%02x", chan_name(ch), att);
	*ret_att = att;
	drain(p);
}

static int chr_write(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct periph_chr *c = ud;
	struct miband__periph *p = c->p;
	const void *data;
	size_t len;
	struct gatt_opts o;
	bool with_response;
	int r, att;

	(void)e;
	r = sd_bus_message_read_array(m, 'y', &data, &len);
	if (r < 0)
		return r;
	r = read_opts(m, &o);
	if (r < 0)
		return r;
	seen_device(p, o.device);
	if (o.prepare) /* authorising a prepared write: nothing to do yet */
		return sd_bus_reply_method_return(m, "");
	if (o.offset)
		return sd_bus_reply_method_errorf(m, ERR_PREFIX "InvalidOffset",
						  "offset %u: the band takes"
						  " whole values",
						  o.offset);
	if (o.type >= 0)
		with_response = o.type == 1;
	else
		with_response = !(c->attr->props & MIBAND_PROP_WRITE_NR);
	band_write(c, data, len, with_response, &att);
	if (att)
		return reply_att_error(m, att);
	return sd_bus_reply_method_return(m, "");
}

static int chr_start_notify(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct periph_chr *c = ud;
	struct miband__periph *p = c->p;
	int att = 0, ch = c->attr->channel;

	(void)e;
	implicit_connect(p);
	if (p->cfg.verbose)
		plog(p, "subscribe %s", chan_name(ch));
	if (ch >= 0)
		att = miband_band_on_subscribe(
			&p->band, (enum miband_channel)ch, true, now_ms(p));
	if (!c->notifying) {
		c->notifying = true;
		sd_bus_emit_properties_changed(p->bus, c->path, IF_CHR,
					       "Notifying", NULL);
	}
	drain(p);
	if (att)
		return reply_att_error(m, att);
	return sd_bus_reply_method_return(m, "");
}

static int chr_stop_notify(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct periph_chr *c = ud;
	struct miband__periph *p = c->p;
	int ch = c->attr->channel;

	(void)e;
	if (p->cfg.verbose)
		plog(p, "unsubscribe %s", chan_name(ch));
	if (ch >= 0)
		miband_band_on_subscribe(&p->band, (enum miband_channel)ch,
					 false, now_ms(p));
	if (c->notifying) {
		c->notifying = false;
		sd_bus_emit_properties_changed(p->bus, c->path, IF_CHR,
					       "Notifying", NULL);
	}
	drain(p);
	return sd_bus_reply_method_return(m, "");
}

static int chr_confirm(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	(void)ud;
	(void)e;
	return sd_bus_reply_method_return(m, "");
}

static void close_fd(struct periph_chr *c, bool notify_side)
{
	struct miband__periph *p = c->p;

	if (notify_side) {
		c->notify_src = sd_event_source_unref(c->notify_src);
		if (c->notify_fd >= 0)
			close(c->notify_fd);
		c->notify_fd = -1;
		sd_bus_emit_properties_changed(p->bus, c->path, IF_CHR,
					       "NotifyAcquired", NULL);
	} else {
		c->write_src = sd_event_source_unref(c->write_src);
		if (c->write_fd >= 0)
			close(c->write_fd);
		c->write_fd = -1;
		sd_bus_emit_properties_changed(p->bus, c->path, IF_CHR,
					       "WriteAcquired", NULL);
	}
}

/* bluetoothd writes each ATT write into the acquired socket: one packet
 * per write (SOCK_SEQPACKET). */
static int on_write_fd(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	struct periph_chr *c = ud;
	uint8_t buf[512];
	ssize_t n;
	int att;

	(void)s;
	if (revents & EPOLLIN) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			band_write(c, buf, (size_t)n, false, &att);
			return 0;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
	}
	if (c->p->cfg.verbose)
		plog(c->p, "write fd of %s closed",
		     chan_name(c->attr->channel));
	close_fd(c, false);
	return 0;
}

/* bluetoothd closes the notify socket when the last CCCD is cleared. */
static int on_notify_fd(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	struct periph_chr *c = ud;
	struct miband__periph *p = c->p;
	int ch = c->attr->channel;

	(void)s;
	(void)fd;
	if (!(revents & (EPOLLHUP | EPOLLERR)))
		return 0;
	if (p->cfg.verbose)
		plog(p, "unsubscribe %s (notify fd closed)", chan_name(ch));
	close_fd(c, true);
	if (ch >= 0) {
		miband_band_on_subscribe(&p->band, (enum miband_channel)ch,
					 false, now_ms(p));
		drain(p);
	}
	return 0;
}

static int chr_acquire(sd_bus_message *m, struct periph_chr *c, bool notify)
{
	struct miband__periph *p = c->p;
	struct gatt_opts o;
	int fds[2], r, ch = c->attr->channel, att = 0;
	uint16_t mtu;

	r = read_opts(m, &o);
	if (r < 0)
		return r;
	seen_device(p, o.device);
	if (notify)
		implicit_connect(p);
	if ((notify ? c->notify_fd : c->write_fd) >= 0)
		return sd_bus_reply_method_errorf(m, ERR_PREFIX "NotPermitted",
						  "already acquired");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0, fds) < 0)
		return sd_bus_reply_method_errorf(m, ERR_PREFIX "Failed",
						  "socketpair: %s",
						  strerror(errno));
	mtu = o.mtu ? o.mtu : 23;
	c->mtu = mtu;
	if (notify) {
		c->notify_fd = fds[0];
		r = sd_event_add_io(p->event, &c->notify_src, fds[0], 0,
				    on_notify_fd, c);
	} else {
		c->write_fd = fds[0];
		r = sd_event_add_io(p->event, &c->write_src, fds[0], EPOLLIN,
				    on_write_fd, c);
	}
	if (r < 0) {
		close(fds[1]);
		close_fd(c, notify);
		return r;
	}
	/* sd-bus duplicates the fd into the message */
	r = sd_bus_reply_method_return(m, "hq", fds[1], mtu);
	close(fds[1]);
	if (r < 0) {
		close_fd(c, notify);
		return r;
	}
	sd_bus_emit_properties_changed(
		p->bus, c->path, IF_CHR,
		notify ? "NotifyAcquired" : "WriteAcquired", NULL);
	if (p->cfg.verbose)
		plog(p, "%s %s (fd, mtu %u)",
		     notify ? "subscribe" : "acquire write", chan_name(ch),
		     mtu);
	if (notify && ch >= 0) {
		att = miband_band_on_subscribe(
			&p->band, (enum miband_channel)ch, true, now_ms(p));
		if (att && p->cfg.verbose)
			plog(p, "subscribe %s -> ATT error 0x%02x",
			     chan_name(ch), att);
		drain(p);
	}
	return 1;
}

static int chr_acquire_notify(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	(void)e;
	return chr_acquire(m, ud, true);
}

static int chr_acquire_write(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	(void)e;
	return chr_acquire(m, ud, false);
}

/* ---- properties ---- */

static int get_flags(sd_bus_message *reply, uint8_t props)
{
	int r;

	r = sd_bus_message_open_container(reply, 'a', "s");
	if (r >= 0 && (props & MIBAND_PROP_READ))
		r = sd_bus_message_append(reply, "s", "read");
	if (r >= 0 && (props & MIBAND_PROP_WRITE_NR))
		r = sd_bus_message_append(reply, "s", "write-without-response");
	if (r >= 0 && (props & MIBAND_PROP_WRITE))
		r = sd_bus_message_append(reply, "s", "write");
	if (r >= 0 && (props & MIBAND_PROP_NOTIFY))
		r = sd_bus_message_append(reply, "s", "notify");
	if (r >= 0 && (props & MIBAND_PROP_INDICATE))
		r = sd_bus_message_append(reply, "s", "indicate");
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r;
}

#define GETTER(fn)                                                       \
	static int fn(sd_bus *bus, const char *path, const char *iface,  \
		      const char *prop, sd_bus_message *reply, void *ud, \
		      sd_bus_error *e)
#define UNUSED_GETTER_ARGS   \
	do {                 \
		(void)bus;   \
		(void)path;  \
		(void)iface; \
		(void)prop;  \
		(void)e;     \
	} while (0)

GETTER(svc_uuid)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "s",
				     ((struct periph_svc *)ud)->uuid);
}

GETTER(svc_primary)
{
	UNUSED_GETTER_ARGS;
	(void)ud;
	return sd_bus_message_append(reply, "b", 1);
}

GETTER(svc_handle)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "q",
				     ((struct periph_svc *)ud)->handle);
}

/* bluetoothd writes back the handle it chose for an object with 0 */
static int set_handle(struct miband__periph *p, const char *path,
		      sd_bus_message *value, uint16_t *h)
{
	uint16_t v;
	int r;

	(void)p;
	r = sd_bus_message_read(value, "q", &v);
	if (r < 0)
		return r;
	(void)path;
	*h = v;
	return 0;
}

static int svc_set_handle(sd_bus *bus, const char *path, const char *iface,
			  const char *prop, sd_bus_message *value, void *ud,
			  sd_bus_error *e)
{
	struct periph_svc *s = ud;

	(void)bus;
	(void)iface;
	(void)prop;
	(void)e;
	return set_handle(s->p, path, value, &s->handle);
}

GETTER(chr_uuid)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "s",
				     ((struct periph_chr *)ud)->uuid);
}

GETTER(chr_service)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "o",
				     ((struct periph_chr *)ud)->svc->path);
}

GETTER(chr_flags)
{
	UNUSED_GETTER_ARGS;
	return get_flags(reply, ((struct periph_chr *)ud)->attr->props);
}

GETTER(chr_value)
{
	struct periph_chr *c = ud;

	UNUSED_GETTER_ARGS;
	return sd_bus_message_append_array(reply, 'y', c->value, c->value_len);
}

GETTER(chr_handle)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "q",
				     ((struct periph_chr *)ud)->handle);
}

static int chr_set_handle(sd_bus *bus, const char *path, const char *iface,
			  const char *prop, sd_bus_message *value, void *ud,
			  sd_bus_error *e)
{
	struct periph_chr *c = ud;

	(void)bus;
	(void)iface;
	(void)prop;
	(void)e;
	return set_handle(c->p, path, value, &c->handle);
}

GETTER(chr_notifying)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "b",
				     (int)((struct periph_chr *)ud)->notifying);
}

GETTER(chr_notify_acquired)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "b",
				     ((struct periph_chr *)ud)->notify_fd >= 0);
}

GETTER(chr_write_acquired)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "b",
				     ((struct periph_chr *)ud)->write_fd >= 0);
}

GETTER(desc_uuid)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "s",
				     ((struct periph_desc *)ud)->uuid);
}

GETTER(desc_chr)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "o",
				     ((struct periph_desc *)ud)->chr->path);
}

GETTER(desc_flags)
{
	UNUSED_GETTER_ARGS;
	(void)ud;
	return sd_bus_message_append(reply, "as", 1, "read");
}

GETTER(desc_value)
{
	UNUSED_GETTER_ARGS;
	(void)ud;
	return sd_bus_message_append_array(reply, 'y', "", 0);
}

GETTER(desc_handle)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "q",
				     ((struct periph_desc *)ud)->handle);
}

static int desc_set_handle(sd_bus *bus, const char *path, const char *iface,
			   const char *prop, sd_bus_message *value, void *ud,
			   sd_bus_error *e)
{
	struct periph_desc *d = ud;

	(void)bus;
	(void)iface;
	(void)prop;
	(void)e;
	return set_handle(d->p, path, value, &d->handle);
}

/* The User Description of 2A46: no source gives its text, so it is
 * served empty. */
static int desc_read(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct periph_desc *d = ud;
	struct gatt_opts o;
	int r;

	(void)e;
	r = read_opts(m, &o);
	if (r < 0)
		return r;
	seen_device(d->p, o.device);
	if (d->p->cfg.verbose)
		plog(d->p, "read descriptor %s of %s (empty)", d->uuid,
		     d->chr->uuid);
	return reply_bytes(m, (const uint8_t *)"", 0);
}

static int desc_write(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	(void)ud;
	(void)e;
	return sd_bus_reply_method_errorf(m, ERR_PREFIX "NotPermitted",
					  "read-only descriptor");
}

static const sd_bus_vtable svc_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("UUID", "s", svc_uuid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Primary", "b", svc_primary, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_WRITABLE_PROPERTY("Handle", "q", svc_handle, svc_set_handle, 0,
				 0),
	SD_BUS_VTABLE_END};

static const sd_bus_vtable chr_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("UUID", "s", chr_uuid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Service", "o", chr_service, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Flags", "as", chr_flags, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Value", "ay", chr_value, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_WRITABLE_PROPERTY("Handle", "q", chr_handle, chr_set_handle, 0,
				 0),
	SD_BUS_PROPERTY("Notifying", "b", chr_notifying, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("NotifyAcquired", "b", chr_notify_acquired, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("WriteAcquired", "b", chr_write_acquired, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_METHOD("ReadValue", "a{sv}", "ay", chr_read,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("WriteValue", "aya{sv}", "", chr_write,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("StartNotify", "", "", chr_start_notify,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("StopNotify", "", "", chr_stop_notify,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("Confirm", "", "", chr_confirm,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("AcquireNotify", "a{sv}", "hq", chr_acquire_notify,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("AcquireWrite", "a{sv}", "hq", chr_acquire_write,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END};

static const sd_bus_vtable desc_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("UUID", "s", desc_uuid, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Characteristic", "o", desc_chr, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Flags", "as", desc_flags, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Value", "ay", desc_value, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_WRITABLE_PROPERTY("Handle", "q", desc_handle, desc_set_handle, 0,
				 0),
	SD_BUS_METHOD("ReadValue", "a{sv}", "ay", desc_read,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("WriteValue", "aya{sv}", "", desc_write,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END};

/* ---- GetManagedObjects, in table order ---- */

/* Which of an object's vtable properties GetManagedObjects shows. */
typedef bool (*prop_filter_fn)(const void *obj, const char *name);

static bool chr_has_prop(const void *obj, const char *name)
{
	const struct periph_chr *c = obj;
	uint8_t pr = c->attr->props;
	bool notifies = pr & (MIBAND_PROP_NOTIFY | MIBAND_PROP_INDICATE);

	if (!strcmp(name, "Notifying"))
		return notifies;
	/* with these, bluetoothd uses AcquireNotify / AcquireWrite */
	if (!strcmp(name, "NotifyAcquired"))
		return c->p->cfg.acquire && notifies;
	if (!strcmp(name, "WriteAcquired"))
		/* only where a write never needs an ATT error back */
		return c->p->cfg.acquire_write && (pr & MIBAND_PROP_WRITE_NR) &&
		       !(pr & MIBAND_PROP_WRITE);
	return true;
}

static int append_object(sd_bus_message *reply, const char *path,
			 const char *iface, const sd_bus_vtable *vt, void *obj,
			 prop_filter_fn filter)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	const sd_bus_vtable *v;
	int r;

	r = sd_bus_message_open_container(reply, 'e', "oa{sa{sv}}");
	if (r >= 0)
		r = sd_bus_message_append(reply, "o", path);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "{sa{sv}}");
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'e', "sa{sv}");
	if (r >= 0)
		r = sd_bus_message_append(reply, "s", iface);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "{sv}");
	for (v = vt; r >= 0 && v->type != _SD_BUS_VTABLE_END; v++) {
		if (v->type != _SD_BUS_VTABLE_PROPERTY &&
		    v->type != _SD_BUS_VTABLE_WRITABLE_PROPERTY)
			continue;
		if (filter && !filter(obj, v->x.property.member))
			continue;
		r = sd_bus_message_open_container(reply, 'e', "sv");
		if (r >= 0)
			r = sd_bus_message_append(reply, "s",
						  v->x.property.member);
		if (r >= 0)
			r = sd_bus_message_open_container(
				reply, 'v', v->x.property.signature);
		if (r >= 0)
			r = v->x.property.get(NULL, path, iface,
					      v->x.property.member, reply, obj,
					      &e);
		if (r >= 0)
			r = sd_bus_message_close_container(reply);
		if (r >= 0)
			r = sd_bus_message_close_container(reply);
	}
	sd_bus_error_free(&e);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r;
}

static int on_root(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	sd_bus_message *reply = NULL;
	size_t i;
	int r;

	(void)e;
	if (!sd_bus_message_is_method_call(m, IF_OM, "GetManagedObjects"))
		return 0;
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "{oa{sa{sv}}}");
	/* services with pinned handles first: bluetoothd gives the others
	 * the handles after the highest one in use */
	for (i = 0; r >= 0 && i < 2 * p->n_svcs; i++) {
		struct periph_svc *sv = &p->svcs[i % p->n_svcs];

		if (sv->pinned != (i < p->n_svcs))
			continue;
		r = append_object(reply, sv->path, IF_SERVICE, svc_vtable, sv,
				  NULL);
	}
	for (i = 0; r >= 0 && i < p->n_chrs; i++)
		r = append_object(reply, p->chrs[i].path, IF_CHR, chr_vtable,
				  &p->chrs[i], chr_has_prop);
	for (i = 0; r >= 0 && i < p->n_descs; i++)
		r = append_object(reply, p->descs[i].path, IF_DESC, desc_vtable,
				  &p->descs[i], NULL);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	if (r < 0)
		plog(p, "warning: GetManagedObjects reply: %s", strerror(-r));
	return 1;
}

/* ---- LEAdvertisement1 ---- */

GETTER(adv_type)
{
	UNUSED_GETTER_ARGS;
	(void)ud;
	return sd_bus_message_append(reply, "s", "peripheral");
}

GETTER(adv_uuids)
{
	UNUSED_GETTER_ARGS;
	(void)ud;
	return sd_bus_message_append(reply, "as", 2,
				     "0000fee0-0000-1000-8000-00805f9b34fb",
				     "0000fee1-0000-1000-8000-00805f9b34fb");
}

GETTER(adv_mfr)
{
	struct miband__periph *p = ud;
	int r;

	UNUSED_GETTER_ARGS;
	r = sd_bus_message_open_container(reply, 'a', "{qv}");
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'e', "qv");
	if (r >= 0)
		r = sd_bus_message_append(reply, "q", HUAMI_COMPANY_ID);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'v', "ay");
	if (r >= 0)
		r = sd_bus_message_append_array(reply, 'y', p->mfr, p->mfr_len);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r;
}

GETTER(adv_name)
{
	struct miband__periph *p = ud;

	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "s", p->table->device_name);
}

GETTER(adv_discoverable)
{
	UNUSED_GETTER_ARGS;
	(void)ud;
	return sd_bus_message_append(reply, "b", 1);
}

static int adv_release(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;

	(void)e;
	plog(p, "bluetoothd released the advertisement");
	p->adv_registered = false;
	return sd_bus_reply_method_return(m, "");
}

static const sd_bus_vtable adv_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Type", "s", adv_type, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("ServiceUUIDs", "as", adv_uuids, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("ManufacturerData", "a{qv}", adv_mfr, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("LocalName", "s", adv_name, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Discoverable", "b", adv_discoverable, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_METHOD("Release", "", "", adv_release,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END};

/* ---- building the object tree from the table ---- */

static bool skip_service(uint16_t uuid16)
{
	/* bluetoothd serves GAP and GATT itself */
	return uuid16 == 0x1800 || uuid16 == 0x1801;
}

static bool has_cud(const struct miband_gatt_attr *a)
{
	/* PROTOCOL.md 1.1: 2A46 New Alert and H(000e) weather carry a
	 * Characteristic User Description (MB2 handle 0x0020). */
	return (!a->huami_base && a->uuid16 == 0x2a46) ||
	       (a->huami_base && a->uuid16 == 0x000e);
}

/*
 * Pins the table's handles of every service that starts at first_free or
 * above (0: all of them; UINT16_MAX: none).  The others get handle 0 and
 * are exported last.
 */
static void apply_pins(struct miband__periph *p, uint32_t first_free)
{
	size_t i;

	p->pinned = false;
	for (i = 0; i < p->n_svcs; i++) {
		struct periph_svc *s = &p->svcs[i];

		s->pinned = p->cfg.use_handles && s->svc->start_handle &&
			    s->svc->start_handle >= first_free;
		s->handle = s->pinned ? s->svc->start_handle : 0;
		p->pinned |= s->pinned;
	}
	for (i = 0; i < p->n_chrs; i++) {
		struct periph_chr *c = &p->chrs[i];

		c->handle = c->svc->pinned ? c->attr->handle : 0;
		if (c->cud)
			c->cud->handle = c->handle ? c->handle + 1 : 0;
	}
}

static int build_objects(struct miband__periph *p)
{
	const struct miband_gatt_table *t = p->table;
	size_t i, j, ns = 0, nc = 0, nd = 0;
	int r;

	p->svcs = calloc(t->n_services, sizeof(*p->svcs));
	p->chrs = calloc(t->n_attrs, sizeof(*p->chrs));
	p->descs = calloc(t->n_attrs, sizeof(*p->descs));
	if (!p->svcs || !p->chrs || !p->descs)
		return -ENOMEM;
	for (i = 0; i < t->n_services; i++) {
		const struct miband_gatt_service *gs = &t->services[i];
		struct periph_svc *s;

		if (skip_service(gs->uuid16))
			continue;
		s = &p->svcs[ns];
		s->p = p;
		s->svc = gs;
		snprintf(s->path, sizeof(s->path), APP_PATH "/service%02zu",
			 ns);
		miband_uuid16_str(gs->uuid16, false, s->uuid, sizeof(s->uuid));
		r = sd_bus_add_object_vtable(p->bus, &s->slot, s->path,
					     IF_SERVICE, svc_vtable, s);
		if (r < 0)
			return r;
		for (j = 0; j < t->n_attrs; j++) {
			const struct miband_gatt_attr *a = &t->attrs[j];
			struct periph_chr *c;

			if (a->service16 != gs->uuid16)
				continue;
			c = &p->chrs[nc];
			c->p = p;
			c->attr = a;
			c->svc = s;
			c->notify_fd = c->write_fd = -1;
			snprintf(c->path, sizeof(c->path), "%s/char%02zu",
				 s->path, nc);
			miband_uuid16_str(a->uuid16, a->huami_base, c->uuid,
					  sizeof(c->uuid));
			r = sd_bus_add_object_vtable(p->bus, &c->slot, c->path,
						     IF_CHR, chr_vtable, c);
			if (r < 0)
				return r;
			if (has_cud(a)) {
				struct periph_desc *d = &p->descs[nd++];

				d->p = p;
				d->chr = c;
				c->cud = d;
				snprintf(d->path, sizeof(d->path), "%s/desc00",
					 c->path);
				miband_uuid16_str(UUID_CUD, false, d->uuid,
						  sizeof(d->uuid));
				r = sd_bus_add_object_vtable(p->bus, &d->slot,
							     d->path, IF_DESC,
							     desc_vtable, d);
				if (r < 0)
					return r;
			}
			nc++;
		}
		ns++;
	}
	p->n_svcs = ns;
	p->n_chrs = nc;
	p->n_descs = nd;
	p->pin_mode = PIN_ALL;
	apply_pins(p, 0);
	return sd_bus_add_object(p->bus, &p->root_slot, APP_PATH, on_root, p);
}

/* ---- adapter ---- */

static int find_adapter(struct miband__periph *p)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	char want[32] = "";
	int r, found = 0;

	if (p->cfg.adapter)
		snprintf(want, sizeof(want), "/org/bluez/%s", p->cfg.adapter);
	r = sd_bus_call_method(p->bus, BLUEZ, "/", IF_OM, "GetManagedObjects",
			       &e, &reply, "");
	if (r < 0) {
		set_error(p, "cannot talk to bluetoothd: %s%s",
			  e.message ? e.message : strerror(-r),
			  sd_bus_error_has_name(&e, SD_BUS_ERROR_ACCESS_DENIED)
				  ? " (the D-Bus policy refuses this user: add"
				    " it to group bluetooth)"
				  : "");
		r = map_bus_error(&e, MIBAND_E_DBUS);
		sd_bus_error_free(&e);
		return r;
	}
	r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
	while (r >= 0 && !found &&
	       (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) >
		       0) {
		const char *path, *iface;
		bool is_adapter = false, gatt = false, adv = false;
		bool powered = false;
		char addr[18] = "";

		r = sd_bus_message_read(reply, "o", &path);
		if (r >= 0)
			r = sd_bus_message_enter_container(reply, 'a',
							   "{sa{sv}}");
		while (r >= 0 && (r = sd_bus_message_enter_container(
					  reply, 'e', "sa{sv}")) > 0) {
			r = sd_bus_message_read(reply, "s", &iface);
			if (r < 0)
				break;
			if (!strcmp(iface, IF_GATT_MGR))
				gatt = true;
			if (!strcmp(iface, IF_ADV_MGR))
				adv = true;
			if (strcmp(iface, IF_ADAPTER) != 0) {
				r = sd_bus_message_skip(reply, "a{sv}");
			} else {
				is_adapter = true;
				r = sd_bus_message_enter_container(reply, 'a',
								   "{sv}");
				while (r >= 0 &&
				       (r = sd_bus_message_enter_container(
						reply, 'e', "sv")) > 0) {
					const char *k, *s;
					int b;

					r = sd_bus_message_read(reply, "s", &k);
					if (r >= 0 && !strcmp(k, "Powered")) {
						r = sd_bus_message_read(
							reply, "v", "b", &b);
						powered = r >= 0 && b;
					} else if (r >= 0 &&
						   !strcmp(k, "Address")) {
						r = sd_bus_message_read(
							reply, "v", "s", &s);
						if (r >= 0)
							snprintf(addr,
								 sizeof(addr),
								 "%s", s);
					} else if (r >= 0) {
						r = sd_bus_message_skip(reply,
									"v");
					}
					if (r >= 0)
						r = sd_bus_message_exit_container(
							reply);
				}
				if (r >= 0)
					r = sd_bus_message_exit_container(
						reply);
			}
			if (r >= 0)
				r = sd_bus_message_exit_container(reply);
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
		if (r < 0 || !is_adapter)
			continue;
		if (want[0] && strcmp(path, want) != 0)
			continue;
		if (!want[0] && !powered)
			continue;
		if (!gatt || !adv) {
			set_error(p,
				  "%s offers no GATT server or LE"
				  " advertising (bluetoothd too old, or"
				  " not an LE adapter)",
				  path);
			sd_bus_message_unref(reply);
			return MIBAND_E_NO_ADAPTER;
		}
		if (!powered) {
			set_error(p,
				  "%s is not powered (bluetoothctl power"
				  " on)",
				  path);
			sd_bus_message_unref(reply);
			return MIBAND_E_NO_ADAPTER;
		}
		snprintf(p->adapter_path, sizeof(p->adapter_path), "%s", path);
		snprintf(p->adapter, sizeof(p->adapter), "%s",
			 path + strlen("/org/bluez/"));
		snprintf(p->address, sizeof(p->address), "%s", addr);
		found = 1;
	}
	sd_bus_message_unref(reply);
	if (r < 0) {
		set_error(p, "cannot parse bluetoothd's objects: %s",
			  strerror(-r));
		return MIBAND_E_DBUS;
	}
	if (!found) {
		if (want[0])
			set_error(p, "no adapter %s", p->cfg.adapter);
		else
			set_error(p, "no powered Bluetooth adapter");
		return MIBAND_E_NO_ADAPTER;
	}
	return 0;
}

static void set_alias(struct miband__periph *p, const char *alias)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_set_property(p->bus, BLUEZ, p->adapter_path, IF_ADAPTER,
				"Alias", &e, "s", alias);
	if (r < 0)
		plog(p, "warning: could not set the adapter's alias: %s",
		     e.message ? e.message : strerror(-r));
	sd_bus_error_free(&e);
}

static void take_alias(struct miband__periph *p)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char *old = NULL;
	int r;

	r = sd_bus_get_property_string(p->bus, BLUEZ, p->adapter_path,
				       IF_ADAPTER, "Alias", &e, &old);
	sd_bus_error_free(&e);
	if (r < 0)
		return;
	snprintf(p->old_alias, sizeof(p->old_alias), "%s", old);
	free(old);
	if (!strcmp(p->old_alias, p->table->device_name))
		return;
	set_alias(p, p->table->device_name);
	p->alias_set = true;
}

/* ---- signals ---- */

static int on_props_changed(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	const char *path = sd_bus_message_get_path(m), *iface, *k;
	int r, b;

	(void)e;
	if (!path_under(path, p->adapter_path))
		return 0;
	r = sd_bus_message_read(m, "s", &iface);
	if (r < 0 || strcmp(iface, IF_DEVICE) != 0)
		return 0;
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	while (r >= 0 &&
	       (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		r = sd_bus_message_read(m, "s", &k);
		if (r >= 0 && !strcmp(k, "Connected")) {
			r = sd_bus_message_read(m, "v", "b", &b);
			if (r >= 0)
				device_connected(p, path, b);
		} else if (r >= 0) {
			r = sd_bus_message_skip(m, "v");
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(m);
	}
	return 0;
}

static int on_ifaces_added(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	const char *path, *iface, *k;
	int r, b;

	(void)e;
	r = sd_bus_message_read(m, "o", &path);
	if (r < 0 || !path_under(path, p->adapter_path))
		return 0;
	r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
	while (r >= 0 &&
	       (r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
		r = sd_bus_message_read(m, "s", &iface);
		if (r >= 0 && strcmp(iface, IF_DEVICE) != 0) {
			r = sd_bus_message_skip(m, "a{sv}");
		} else if (r >= 0) {
			r = sd_bus_message_enter_container(m, 'a', "{sv}");
			while (r >= 0 && (r = sd_bus_message_enter_container(
						  m, 'e', "sv")) > 0) {
				r = sd_bus_message_read(m, "s", &k);
				if (r >= 0 && !strcmp(k, "Connected")) {
					r = sd_bus_message_read(m, "v", "b",
								&b);
					if (r >= 0 && b)
						device_connected(p, path, true);
				} else if (r >= 0) {
					r = sd_bus_message_skip(m, "v");
				}
				if (r >= 0)
					r = sd_bus_message_exit_container(m);
			}
			if (r >= 0)
				r = sd_bus_message_exit_container(m);
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(m);
	}
	return 0;
}

static void report(struct miband__periph *p, int err)
{
	if (p->cfg.state)
		p->cfg.state(err, p->cfg.user_data);
}

static int on_owner_changed(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	const char *name, *old, *new_owner;

	(void)e;
	if (sd_bus_message_read(m, "sss", &name, &old, &new_owner) < 0)
		return 0;
	if (strcmp(name, BLUEZ) != 0 || new_owner[0])
		return 0;
	set_error(p, "bluetoothd went away");
	p->app_registered = p->adv_registered = false;
	report(p, MIBAND_E_NO_BLUEZ);
	return 0;
}

/* ---- registration ---- */

static int register_app(struct miband__periph *p);

static int on_adv_registered(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	const sd_bus_error *err = sd_bus_message_get_error(m);

	(void)e;
	p->pending = sd_bus_slot_unref(p->pending);
	if (err) {
		set_error(p, "RegisterAdvertisement on %s failed: %s",
			  p->adapter, err->message ? err->message : err->name);
		report(p, MIBAND_E_DBUS);
		return 0;
	}
	p->adv_registered = true;
	report(p, 0);
	return 0;
}

static int register_adv(struct miband__periph *p)
{
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(p->bus, &m, BLUEZ, p->adapter_path,
					   IF_ADV_MGR, "RegisterAdvertisement");
	if (r >= 0)
		r = sd_bus_message_append(m, "oa{sv}", ADV_PATH, 0);
	if (r >= 0)
		r = sd_bus_call_async(p->bus, &p->pending, m, on_adv_registered,
				      p, CALL_USEC);
	sd_bus_message_unref(m);
	return r;
}

/* "handles: auth 0x0054, battery 0x0047, ...": the value handles of the
 * characteristics the engine uses, as a client will find them. */
static void log_handles(struct miband__periph *p)
{
	char line[480];
	size_t i, o = 0;

	for (i = 0; i < p->n_chrs && o < sizeof(line) - 24; i++) {
		if (p->chrs[i].attr->channel < 0)
			continue;
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s 0x%04x",
				      o ? ", " : "",
				      chan_name(p->chrs[i].attr->channel),
				      p->chrs[i].handle);
	}
	plog(p, "handles: %s", line);
}

static void registration_failed(struct miband__periph *p, const char *what,
				int r)
{
	set_error(p, "%s: %s", what, strerror(-r));
	report(p, MIBAND_E_DBUS);
}

/* After the probe: the lowest handle bluetoothd gave us is the first one
 * its own services leave free. */
static int on_probe_unregistered(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	uint16_t first = UINT16_MAX;
	size_t i;
	int r;

	(void)m;
	(void)e;
	p->pending = sd_bus_slot_unref(p->pending);
	for (i = 0; i < p->n_svcs; i++)
		if (p->svcs[i].handle && p->svcs[i].handle < first)
			first = p->svcs[i].handle;
	apply_pins(p, first);
	p->pin_mode = p->pinned ? PIN_PARTIAL : PIN_NONE;
	if (p->pinned)
		plog(p,
		     "bluetoothd's own services end at 0x%04x: keeping the"
		     " real handles of the services above it",
		     first - 1);
	r = register_app(p);
	if (r < 0)
		registration_failed(p, "RegisterApplication", r);
	return 0;
}

static int on_app_registered(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	const sd_bus_error *err = sd_bus_message_get_error(m);
	int r;

	(void)e;
	p->pending = sd_bus_slot_unref(p->pending);
	if (err && (p->pin_mode == PIN_ALL || p->pin_mode == PIN_PARTIAL)) {
		plog(p, "warning: bluetoothd refused the %s handles of %s (%s)",
		     p->pin_mode == PIN_ALL ? "real" : "remaining",
		     miband_model_display_name(p->cfg.band.model),
		     err->message ? err->message : err->name);
		p->pin_mode = p->pin_mode == PIN_ALL ? PIN_PROBE : PIN_NONE;
		apply_pins(p, UINT16_MAX);
		if (p->pin_mode == PIN_NONE)
			plog(p, "warning: serving with the handles bluetoothd"
				" chooses");
		r = register_app(p);
		if (r < 0)
			registration_failed(p, "RegisterApplication", r);
		return 0;
	}
	if (err) {
		set_error(p, "RegisterApplication on %s failed: %s", p->adapter,
			  err->message ? err->message : err->name);
		report(p, MIBAND_E_DBUS);
		return 0;
	}
	if (p->pin_mode == PIN_PROBE) {
		/* learnt where bluetoothd's services end: register again */
		r = sd_bus_call_method_async(
			p->bus, &p->pending, BLUEZ, p->adapter_path,
			IF_GATT_MGR, "UnregisterApplication",
			on_probe_unregistered, p, "o", APP_PATH);
		if (r < 0)
			registration_failed(p, "UnregisterApplication", r);
		return 0;
	}
	p->app_registered = true;
	if (p->cfg.verbose)
		log_handles(p);
	if (p->cfg.verbose || p->pinned)
		plog(p, "GATT application registered%s",
		     !p->pinned ? ""
		     : p->pin_mode == PIN_ALL
			     ? " with every handle of the table"
			     : " with the table's handles where possible");
	r = register_adv(p);
	if (r < 0)
		registration_failed(p, "RegisterAdvertisement", r);
	return 0;
}

static int register_app(struct miband__periph *p)
{
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(p->bus, &m, BLUEZ, p->adapter_path,
					   IF_GATT_MGR, "RegisterApplication");
	if (r >= 0)
		r = sd_bus_message_append(m, "oa{sv}", APP_PATH, 0);
	if (r >= 0)
		r = sd_bus_call_async(p->bus, &p->pending, m, on_app_registered,
				      p, CALL_USEC);
	sd_bus_message_unref(m);
	return r;
}

/* Manufacturer data: PROTOCOL.md names Huami's company id (0x0157, in the
 * PnP ID) but no payload.  We send the product id and version of the
 * band's PnP ID (4 bytes), so a scanner can tell the model. */
static void make_mfr(struct miband__periph *p)
{
	uint8_t pnp[MIBAND_BAND_VALUE_MAX];
	size_t len = 0;

	p->mfr_len = 0;
	if (miband_band_read(&p->band, MIBAND_CH_DIS_PNP_ID, now_ms(p), pnp,
			     sizeof(pnp), &len) == 0 &&
	    len == 7) {
		memcpy(p->mfr, pnp + 3, 4);
		p->mfr_len = 4;
	} else {
		p->mfr[0] = (uint8_t)p->cfg.band.model;
		p->mfr_len = 1;
	}
	drain(p);
}

void miband__periph_config_init(struct miband__periph_config *cfg,
				enum miband_model model)
{
	memset(cfg, 0, sizeof(*cfg));
	miband_band_config_init(&cfg->band, model);
	cfg->use_handles = true;
	cfg->set_alias = true;
}

static int add_matches(struct miband__periph *p)
{
	char rule[256];
	int r;

	snprintf(rule, sizeof(rule),
		 "type='signal',sender='" BLUEZ "',interface='" IF_PROPS
		 "',member='PropertiesChanged',arg0='" IF_DEVICE
		 "',path_namespace='%s'",
		 p->adapter_path);
	r = sd_bus_add_match(p->bus, &p->match_props, rule, on_props_changed,
			     p);
	if (r < 0)
		return r;
	r = sd_bus_add_match(p->bus, &p->match_added,
			     "type='signal',sender='" BLUEZ
			     "',interface='" IF_OM "',member='InterfacesAdded'",
			     on_ifaces_added, p);
	if (r < 0)
		return r;
	return sd_bus_add_match(p->bus, &p->match_owner,
				"type='signal',sender='org.freedesktop.DBus',"
				"interface='org.freedesktop.DBus',"
				"member='NameOwnerChanged',arg0='" BLUEZ "'",
				on_owner_changed, p);
}

int miband__periph_new(const struct miband__periph_config *cfg, sd_event *event,
		       struct miband__periph **ret)
{
	struct miband__periph *p;
	struct miband_band_config bc;
	int r;

	if (!cfg || !event || !ret)
		return MIBAND_E_INVAL;
	if (!miband_gatt_table(cfg->band.model))
		return MIBAND_E_UNSUPPORTED;
	p = calloc(1, sizeof(*p));
	if (!p)
		return MIBAND_E_INTERNAL;
	p->cfg = *cfg;
	p->event = sd_event_ref(event);
	p->origin_usec = mono_usec();
	p->table = miband_gatt_table(cfg->band.model);
	bc = cfg->band;
	r = miband_band_init(&p->band, &bc, cfg->key, 0);
	p->cfg.key = NULL; /* the engine holds its copy */
	if (r < 0) {
		miband__periph_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

int miband__periph_start(struct miband__periph *p)
{
	int r;

	r = sd_bus_open_system(&p->bus);
	if (r < 0) {
		set_error(p, "cannot connect to the system bus: %s",
			  strerror(-r));
		return MIBAND_E_DBUS;
	}
	r = find_adapter(p);
	if (r < 0)
		return r;
	r = sd_bus_attach_event(p->bus, p->event, SD_EVENT_PRIORITY_NORMAL);
	if (r >= 0)
		r = sd_event_add_time(p->event, &p->timer, CLOCK_MONOTONIC,
				      UINT64_MAX, 1000, on_timer, p);
	if (r >= 0)
		r = sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
	if (r >= 0)
		r = add_matches(p);
	if (r >= 0)
		r = build_objects(p);
	if (r >= 0)
		r = sd_bus_add_object_vtable(p->bus, &p->adv_slot, ADV_PATH,
					     IF_ADV, adv_vtable, p);
	if (r < 0) {
		set_error(p, "D-Bus setup failed: %s", strerror(-r));
		return MIBAND_E_DBUS;
	}
	make_mfr(p);
	if (p->cfg.set_alias)
		take_alias(p);
	r = register_app(p);
	if (r < 0) {
		set_error(p, "RegisterApplication: %s", strerror(-r));
		return MIBAND_E_DBUS;
	}
	return 0;
}

void miband__periph_stop(struct miband__periph *p)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	size_t i;

	if (!p || p->stopped)
		return;
	p->stopped = true;
	p->pending = sd_bus_slot_unref(p->pending);
	/* the band goes away: so does its link (fire and forget, bluetoothd
	 * takes about 2 s to answer a Disconnect) */
	if (p->bus && p->conn[0] && strcmp(p->conn, UNKNOWN_DEVICE) != 0) {
		plog(p, "dropping the link to %s", dev_addr(p->conn));
		sd_bus_call_method_async(p->bus, NULL, BLUEZ, p->conn,
					 IF_DEVICE, "Disconnect", NULL, NULL,
					 "");
		p->conn[0] = '\0';
	}
	if (p->bus && p->adv_registered) {
		if (sd_bus_call_method(p->bus, BLUEZ, p->adapter_path,
				       IF_ADV_MGR, "UnregisterAdvertisement",
				       &e, NULL, "o", ADV_PATH) < 0)
			plog(p, "warning: UnregisterAdvertisement: %s",
			     e.message ? e.message : e.name);
		sd_bus_error_free(&e);
		p->adv_registered = false;
	}
	if (p->bus && p->app_registered) {
		if (sd_bus_call_method(p->bus, BLUEZ, p->adapter_path,
				       IF_GATT_MGR, "UnregisterApplication", &e,
				       NULL, "o", APP_PATH) < 0)
			plog(p, "warning: UnregisterApplication: %s",
			     e.message ? e.message : e.name);
		sd_bus_error_free(&e);
		p->app_registered = false;
	}
	if (p->bus && p->alias_set) {
		set_alias(p, p->old_alias);
		p->alias_set = false;
	}
	for (i = 0; i < p->n_chrs; i++) {
		if (p->chrs[i].notify_fd >= 0 || p->chrs[i].notify_src) {
			p->chrs[i].notify_src =
				sd_event_source_unref(p->chrs[i].notify_src);
			if (p->chrs[i].notify_fd >= 0)
				close(p->chrs[i].notify_fd);
			p->chrs[i].notify_fd = -1;
		}
		if (p->chrs[i].write_fd >= 0 || p->chrs[i].write_src) {
			p->chrs[i].write_src =
				sd_event_source_unref(p->chrs[i].write_src);
			if (p->chrs[i].write_fd >= 0)
				close(p->chrs[i].write_fd);
			p->chrs[i].write_fd = -1;
		}
	}
	if (p->bus)
		sd_bus_flush(p->bus);
}

void miband__periph_free(struct miband__periph *p)
{
	size_t i;

	if (!p)
		return;
	miband__periph_stop(p);
	for (i = 0; i < p->n_descs; i++)
		sd_bus_slot_unref(p->descs[i].slot);
	for (i = 0; i < p->n_chrs; i++)
		sd_bus_slot_unref(p->chrs[i].slot);
	for (i = 0; i < p->n_svcs; i++)
		sd_bus_slot_unref(p->svcs[i].slot);
	sd_bus_slot_unref(p->root_slot);
	sd_bus_slot_unref(p->adv_slot);
	sd_bus_slot_unref(p->match_props);
	sd_bus_slot_unref(p->match_added);
	sd_bus_slot_unref(p->match_owner);
	sd_event_source_unref(p->timer);
	if (p->bus) {
		sd_bus_detach_event(p->bus);
		sd_bus_flush_close_unref(p->bus);
	}
	sd_event_unref(p->event);
	free(p->svcs);
	free(p->chrs);
	free(p->descs);
	miband_band_wipe(&p->band);
	miband_wipe(p, sizeof(*p));
	free(p);
}

const char *miband__periph_error(const struct miband__periph *p)
{
	return p ? p->error : "";
}

const char *miband__periph_adapter(const struct miband__periph *p)
{
	return p->adapter;
}

const char *miband__periph_address(const struct miband__periph *p)
{
	return p->address;
}

struct miband_band *miband__periph_band(struct miband__periph *p)
{
	return &p->band;
}
