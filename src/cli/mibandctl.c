/*
 * mibandctl: the command-line tool over libmiband.
 *
 * How it works
 *
 * main() parses every option (global and per command; GNU getopt
 * permutes, so options may follow the command), finds the command in the
 * table below (the command table of BlueZ's tools/btgatt-client.c) and
 * runs it.  Commands that talk to a band first resolve --device (an
 * address, `emu`, an alias, or by default the only band in the key
 * store), validate their own arguments, open the device through
 * common/device.h, and authenticate with the stored key (MIBAND_AUTH_STORED:
 * never a prompt on the band) unless they are pair, scan or keys.  Then
 * each command is one or a few requests on the session: start the
 * request, pump the device until the request's final event, print it.
 *
 * --follow commands pace the emulated band to real time and stream until
 * SIGINT or SIGTERM; the handler only sets a flag, the transports return
 * from their waits on the signal, and the command then ends cleanly
 * (continuous heart rate stopped, link closed) with exit status 0.
 *
 * Output goes through common/output.h (human text or one JSON object per
 * line); errors become `mibandctl: <message> [ERR_NAME]` and the exit
 * status of their class.  Keys: the session holds its own copy; every
 * other copy (parsed --key, key store entries, generated keys) is wiped in
 * ctx_cleanup(), which every path out of main() goes through, and the
 * --key argument is overwritten in argv so `ps` does not show it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "miband/bluez.h"
#include "miband/miband.h"

#include "common/device.h"
#include "common/history.h"
#include "common/keys.h"
#include "common/output.h"

#define DEFAULT_SCAN_MS 10000u
#define DEFAULT_CONNECT_MS 30000u
#define FOLLOW_SLICE_MS 1000u

/* command options: which command accepts which */
enum {
	OPT_FOLLOW = 1u << 0,
	OPT_NEW_KEY = 1u << 1,
	OPT_SYNC = 1u << 2,
	OPT_SET = 1u << 3,
	OPT_ALIAS = 1u << 4,
	OPT_HISTORY = 1u << 5, /* any option of common/history.h */
	OPT_FORCE = 1u << 6,
};

struct ctx {
	/* global options */
	const char *device;
	const char *adapter;
	bool has_model;
	enum miband_model model;
	bool has_cli_key;
	uint8_t cli_key[16];
	bool json, verbose;
	bool has_timeout;
	uint32_t timeout_ms;
	const char *trace_path;
	bool trace_secrets;
	enum miband_pairing_policy emu_pairing;
	/* command options */
	unsigned given;     /* OPT_* seen on the command line */
	bool follow, new_key, sync;
	const char *set_time;
	const char *alias;
	bool force;
	struct mb_history_args hist; /* sync, export, stats */
	/* the band */
	char spec[MB_ADDRESS_LEN];   /* what mb_device_open gets */
	char entry_name[MB_KEY_NAME_MAX];
	int entry_err;               /* loading the key store entry */
	struct mb_key_entry entry;
	enum miband_model use_model;
	struct mb_device *dev;
	bool session_live;
	struct miband_session s;
	uint8_t text[512];           /* request bytes that must outlive it */
	char value[MIBAND_VALUE_MAX + 1];
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: waits return EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void ctx_cleanup(struct ctx *c)
{
	if (c->session_live)
		miband_session_wipe(&c->s);
	c->session_live = false;
	if (c->dev)
		mb_device_close(c->dev);
	c->dev = NULL;
	mb_key_entry_wipe(&c->entry);
	miband_wipe(c->cli_key, sizeof(c->cli_key));
	miband_wipe(c->text, sizeof(c->text));
	miband_wipe(&c->s, sizeof(c->s));
}

/* ---- time formatting ---- */

static void fmt_tz(int8_t tz, char *buf, size_t cap)
{
	int m = tz * 15;

	snprintf(buf, cap, "%c%02d:%02d", m < 0 ? '-' : '+', abs(m) / 60,
		 abs(m) % 60);
}

/* "2025-11-24T17:00:05+01:00" (iso) or "2025-11-24 17:00:05 +01:00". */
static void fmt_time(const struct miband_time *t, bool with_tz, bool iso,
		     char *buf, size_t cap)
{
	char tz[8] = "";

	if (with_tz)
		fmt_tz(t->tz, tz, sizeof(tz));
	snprintf(buf, cap, "%04u-%02u-%02u%c%02u:%02u:%02u%s%s",
		 (unsigned)t->year, (unsigned)t->month, (unsigned)t->day,
		 iso ? 'T' : ' ', (unsigned)t->hour, (unsigned)t->minute,
		 (unsigned)t->second, with_tz && !iso ? " " : "", tz);
}

static const char *dow_name(unsigned dow)
{
	static const char *const names[] = { "?",	 "Monday",   "Tuesday",
					     "Wednesday", "Thursday", "Friday",
					     "Saturday",  "Sunday" };

	return dow <= 7 ? names[dow] : "?";
}

/* Host local time now, as the band wants it (tz incl. DST). */
static void host_local_time(struct miband_time *t)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	memset(t, 0, sizeof(*t));
	t->year = (uint16_t)(tm.tm_year + 1900);
	t->month = (uint8_t)(tm.tm_mon + 1);
	t->day = (uint8_t)tm.tm_mday;
	t->hour = (uint8_t)tm.tm_hour;
	t->minute = (uint8_t)tm.tm_min;
	t->second = (uint8_t)(tm.tm_sec > 59 ? 59 : tm.tm_sec);
	t->dow = (uint8_t)(tm.tm_wday == 0 ? 7 : tm.tm_wday);
	t->tz = (int8_t)(tm.tm_gmtoff / 900);
}

static int parse_uint(const char *s, size_t n, unsigned *ret)
{
	unsigned v = 0;
	size_t i;

	if (!n)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*ret = v;
	return 0;
}

/*
 * ISO 8601: YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM|+HHMM|+HH] ('T' or a space).
 * Without a zone: the host's zone at that date (DST included).
 */
static int parse_iso_time(const char *s, struct miband_time *ret)
{
	struct miband_time t;
	unsigned y, mo, d, h, mi, sec = 0, oh = 0, om = 0;
	size_t n = strlen(s), p;
	int sign = 0;

	memset(&t, 0, sizeof(t));
	if (n < 16 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
	    parse_uint(s, 4, &y) || parse_uint(s + 5, 2, &mo) ||
	    parse_uint(s + 8, 2, &d) || parse_uint(s + 11, 2, &h) ||
	    parse_uint(s + 14, 2, &mi))
		return MIBAND_E_BAD_TIME;
	p = 16;
	if (p < n && s[p] == ':') {
		if (p + 3 > n || parse_uint(s + p + 1, 2, &sec))
			return MIBAND_E_BAD_TIME;
		p += 3;
	}
	if (p < n && (s[p] == 'Z' || s[p] == 'z')) {
		sign = 1;
		p++;
	} else if (p < n && (s[p] == '+' || s[p] == '-')) {
		sign = s[p] == '-' ? -1 : 1;
		p++;
		if (p + 2 > n || parse_uint(s + p, 2, &oh))
			return MIBAND_E_BAD_TIME;
		p += 2;
		if (p < n && s[p] == ':')
			p++;
		if (p < n) {
			if (p + 2 > n || parse_uint(s + p, 2, &om))
				return MIBAND_E_BAD_TIME;
			p += 2;
		}
	}
	if (p != n || y < 2000 || y > 2099 || sec > 59 || oh > 14 || om > 59 ||
	    om % 15)
		return MIBAND_E_BAD_TIME;
	t.year = (uint16_t)y;
	t.month = (uint8_t)mo;
	t.day = (uint8_t)d;
	t.hour = (uint8_t)h;
	t.minute = (uint8_t)mi;
	t.second = (uint8_t)sec;
	if (miband_time_valid(&t) < 0 || h > 23 || mi > 59)
		return MIBAND_E_BAD_TIME;
	t.dow = miband_day_of_week((int32_t)y, mo, d);
	if (sign) {
		t.tz = (int8_t)(sign * (int)(oh * 4 + om / 15));
	} else {
		struct tm tm;
		time_t tt;

		memset(&tm, 0, sizeof(tm));
		tm.tm_year = (int)y - 1900;
		tm.tm_mon = (int)mo - 1;
		tm.tm_mday = (int)d;
		tm.tm_hour = (int)h;
		tm.tm_min = (int)mi;
		tm.tm_sec = (int)sec;
		tm.tm_isdst = -1;
		tt = mktime(&tm);
		if (tt == (time_t)-1)
			return MIBAND_E_BAD_TIME;
		localtime_r(&tt, &tm);
		t.tz = (int8_t)(tm.tm_gmtoff / 900);
	}
	*ret = t;
	return 0;
}

/* ---- device, key and session ---- */

/*
 * Which band: --device, or the only band of the key store.  Fills spec
 * (address or "emu"), the key store entry (entry_err says how loading it
 * went) and the model.
 */
static int resolve_device(struct ctx *c)
{
	const char *d = c->device;
	char addr[MB_ADDRESS_LEN], names[256];
	int n;

	if (!d) {
		n = mb_keys_default(c->entry_name, names, sizeof(names));
		if (n < 0)
			return n;
		if (n == 0) {
			mb_error_detail("no --device given and no band in the "
					"key store: pass --device ADDRESS (see "
					"`mibandctl scan`), or --device emu for "
					"the emulated band");
			return MIBAND_E_INVAL;
		}
		if (n > 1) {
			mb_error_detail("no --device given and %d bands in the "
					"key store (%s): pass --device with one "
					"of them",
					n, names);
			return MIBAND_E_INVAL;
		}
		d = c->entry_name;
		mb_verbose("using %s, the only band in the key store", d);
	}
	if (!strcmp(d, "emu")) {
		strcpy(c->spec, "emu");
	} else if (mb_address_parse(d, addr) == 0) {
		strcpy(c->spec, addr);
	} else if (!strncmp(d, "unix:", 5)) {
		mb_error_detail("--device unix:PATH (a miband-emu over a local "
				"socket) is not supported yet; use --device "
				"emu");
		return MIBAND_E_UNSUPPORTED;
	} else if (!mb_key_name_valid(d)) {
		mb_error_detail("'%s' is not a Bluetooth address: %s; or `emu` "
				"for the emulated band, or an alias from "
				"`mibandctl keys list`",
				d, miband_strerror(MIBAND_E_BAD_ADDRESS));
		return MIBAND_E_BAD_ADDRESS;
	}
	c->entry_err = mb_keys_load(d, &c->entry);
	if (c->entry_err == MIBAND_E_NO_KEY && !c->spec[0]) {
		mb_error_detail("'%s' is neither a Bluetooth address nor an "
				"alias in the key store: %s; or `emu` for the "
				"emulated band",
				d, miband_strerror(MIBAND_E_BAD_ADDRESS));
		return MIBAND_E_BAD_ADDRESS;
	}
	if (c->entry_err == 0) {
		snprintf(c->entry_name, sizeof(c->entry_name), "%s",
			 c->entry.name);
		if (!c->spec[0]) { /* an alias */
			if (!strcmp(c->entry.address, "emu"))
				strcpy(c->spec, "emu");
			else if (mb_address_parse(c->entry.address, c->spec))
				return MIBAND_E_BAD_ADDRESS;
		}
	} else if (!c->spec[0]) {
		return c->entry_err; /* an alias we cannot read */
	}
	c->use_model = c->has_model ? c->model :
		       c->entry_err == 0 && c->entry.has_model ? c->entry.model :
								 MIBAND_MODEL_MB3;
	return 0;
}

static int open_device(struct ctx *c)
{
	struct mb_device_opts o;
	char state[4096];
	int r;

	memset(&o, 0, sizeof(o));
	o.adapter = c->adapter;
	o.model = c->use_model;
	o.connect_timeout_ms = c->has_timeout ? c->timeout_ms : DEFAULT_CONNECT_MS;
	o.verbose = c->verbose;
	o.trace_path = c->trace_path;
	o.trace_secrets = c->trace_secrets;
	o.emu_pairing = c->emu_pairing;
	o.realtime = c->follow;
	(void)state;
	o.state_dir = NULL; /* the XDG default */
	mb_verbose("opening %s (%s)", c->spec,
		   miband_model_display_name(c->use_model));
	r = mb_device_open(c->spec, &o, &c->dev);
	return r;
}

static void session_config(struct ctx *c, struct miband_session_config *cfg)
{
	miband_session_config_init(cfg, mb_device_model(c->dev));
	cfg->crypto = &miband_crypto_openssl;
	cfg->crypto_ctx = NULL;
	cfg->fetch_ack = mb_history_fetch_ack(&c->hist);
	if (c->has_timeout) {
		cfg->reply_timeout_ms = c->timeout_ms;
		cfg->pair_timeout_ms = c->timeout_ms;
		if (cfg->hr_timeout_ms < c->timeout_ms)
			cfg->hr_timeout_ms = c->timeout_ms;
	}
}

/* How long to wait, beyond the session's own deadlines, for anything. */
static uint64_t guard_deadline(struct ctx *c)
{
	uint32_t t = c->has_timeout ? c->timeout_ms : 0;

	if (t < MIBAND_DEFAULT_PAIR_TIMEOUT_MS)
		t = MIBAND_DEFAULT_PAIR_TIMEOUT_MS;
	return mb_device_now(c->dev) + 2u * (uint64_t)t + 10000u;
}

static void print_event(struct ctx *c, const struct miband_event *ev,
			bool stream);

static void auth_progress(struct ctx *c, const struct miband_event *ev)
{
	struct mb_json j;

	mb_verbose("auth: %s", miband_auth_step_name(ev->u.auth_step));
	if (ev->u.auth_step != MIBAND_AUTH_STEP_KEY_SENT)
		return;
	if (c->json) {
		mb_json_begin(&j, "pairing");
		mb_json_str(&j, "device", c->spec);
		mb_json_str(&j, "state", "tap-the-band");
		mb_json_end(&j);
	} else {
		mb_say("pairing: the band vibrates; tap it to confirm");
	}
}

/*
 * Pumps the device until the running request's final event.  Progress
 * and unsolicited events are handled on the way.  Returns 0 (*ret is the
 * final event), its error, or a link error.
 */
static int await_final(struct ctx *c, struct miband_event *ret)
{
	uint64_t limit = guard_deadline(c);
	struct miband_event ev;
	int r;

	for (;;) {
		r = mb_device_run(c->dev, &c->s, limit, &ev);
		if (r < 0)
			return r;
		if (r == 0) {
			if (interrupted)
				return MIBAND_E_CANCELLED;
			if (mb_device_now(c->dev) < limit)
				continue;
			return MIBAND_E_TIMEOUT;
		}
		if (ev.type == MIBAND_EV_AUTH_PROGRESS) {
			auth_progress(c, &ev);
			continue;
		}
		if (ev.request == MIBAND_REQ_NONE && ev.type != MIBAND_EV_ERROR) {
			print_event(c, &ev, true);
			continue;
		}
		*ret = ev;
		return ev.type == MIBAND_EV_ERROR ? ev.error : 0;
	}
}

/* One request to its final event. */
static int request(struct ctx *c, const struct miband_request *req,
		   struct miband_event *ret)
{
	struct miband_event ev;
	int r, tries = 0;

	for (;;) {
		r = miband_session_request(&c->s, req, mb_device_now(c->dev));
		if (r != MIBAND_E_BUSY || tries++ > 50)
			break;
		/* an internal operation (keep-alive) is in flight */
		r = mb_device_run(c->dev, &c->s, mb_device_now(c->dev) + 1000,
				  &ev);
		if (r < 0)
			return r;
		if (r > 0 && ev.type != MIBAND_EV_ERROR)
			print_event(c, &ev, true);
	}
	if (r < 0)
		return r;
	return await_final(c, ret);
}

static int simple_request(struct ctx *c, enum miband_request_type type,
			  struct miband_event *ret)
{
	struct miband_request req;

	memset(&req, 0, sizeof(req));
	req.type = type;
	return request(c, &req, ret);
}

/*
 * Opens the band and authenticates: STORED with the stored (or --key)
 * key, or PAIR with key.  The key is copied into the session and the
 * caller's copy stays the caller's to wipe.
 */
static int start_session(struct ctx *c, enum miband_auth_mode mode,
			 const uint8_t *key)
{
	struct miband_session_config cfg;
	struct miband_event ev;
	int r;

	r = open_device(c);
	if (r < 0)
		return r;
	/* From here on a stream ends on SIGINT/SIGTERM with a clean stop;
	 * before, while connecting, the signals keep their default. */
	if (c->follow)
		catch_signals();
	session_config(c, &cfg);
	r = miband_session_init(&c->s, &cfg, key);
	if (r < 0)
		return r;
	c->session_live = true;
	r = miband_session_start_auth(&c->s, mode, mb_device_now(c->dev));
	if (r < 0)
		return r;
	r = await_final(c, &ev);
	if (r < 0)
		return r;
	if (ev.type != MIBAND_EV_AUTH_OK)
		return MIBAND_E_UNEXPECTED;
	mb_verbose("authenticated%s", ev.u.paired ? " (new key set)" : "");
	return 0;
}

/* The key for STORED auth: --key, else the key store's. */
static int auth_stored(struct ctx *c)
{
	const uint8_t *key;
	int r;

	if (c->has_cli_key) {
		key = c->cli_key;
	} else if (c->entry_err == 0) {
		key = c->entry.key;
	} else if (c->entry_err == MIBAND_E_NO_KEY) {
		mb_error_detail("no key is stored for %s: pair first, or pass "
				"--key",
				c->device ? c->device : c->spec);
		mb_error_hint("mibandctl pair --device %s",
			      c->device ? c->device : c->spec);
		return MIBAND_E_NO_KEY;
	} else {
		return c->entry_err;
	}
	r = start_session(c, MIBAND_AUTH_STORED, key);
	mb_key_entry_wipe(&c->entry); /* the session has its copy */
	miband_wipe(c->cli_key, sizeof(c->cli_key));
	if (r == MIBAND_E_WRONG_KEY || r == MIBAND_E_AUTH_REJECTED)
		mb_error_hint("if the band was paired with another phone or "
			      "reset, run `mibandctl pair --device %s`",
			      c->device ? c->device : c->spec);
	return r;
}

/* How a key is shown: the first two bytes and a fingerprint, never more. */
struct key_id {
	char prefix[8];
	char fp[40];
	char desc[80];
};

static void key_id(struct key_id *id, const uint8_t key[16])
{
	mb_key_prefix(key, id->prefix, sizeof(id->prefix));
	mb_key_fingerprint(key, id->fp, sizeof(id->fp));
	mb_key_describe(key, id->desc, sizeof(id->desc));
}

static void json_key_id(struct mb_json *j, const struct key_id *id)
{
	mb_json_str(j, "key_prefix", id->prefix);
	mb_json_str(j, "fingerprint", id->fp);
}

/* ---- printing events ---- */

static void stream_time(struct mb_json *j, bool stream)
{
	struct miband_time t;
	char buf[40];

	if (!stream)
		return;
	host_local_time(&t);
	fmt_time(&t, true, true, buf, sizeof(buf));
	mb_json_str(j, "time", buf);
}

static const char *music_action(unsigned a)
{
	switch (a) {
	case 0x00:
		return "play";
	case 0x01:
		return "pause";
	case 0x03:
		return "next";
	case 0x04:
		return "previous";
	case 0x05:
		return "volume-up";
	case 0x06:
		return "volume-down";
	case 0xe0:
		return "music-screen-open";
	case 0xe1:
		return "music-screen-closed";
	default:
		return NULL;
	}
}

static void print_event(struct ctx *c, const struct miband_event *ev,
			bool stream)
{
	struct mb_json j;
	char buf[64], buf2[64];

	switch (ev->type) {
	case MIBAND_EV_HR:
		if (c->json) {
			mb_json_begin(&j, "heart-rate");
			mb_json_int(&j, "bpm", ev->u.bpm);
			stream_time(&j, stream);
			mb_json_end(&j);
		} else {
			mb_say("heart rate: %u bpm", ev->u.bpm);
		}
		break;
	case MIBAND_EV_STEPS:
		if (c->json) {
			mb_json_begin(&j, "steps");
			mb_json_int(&j, "steps", ev->u.steps.steps);
			if (ev->u.steps.has_distance) {
				mb_json_int(&j, "meters", ev->u.steps.meters);
				mb_json_int(&j, "kcal", ev->u.steps.kcal);
			}
			stream_time(&j, stream);
			mb_json_end(&j);
		} else if (ev->u.steps.has_distance) {
			mb_say("steps: %" PRIu32 ", distance: %" PRIu32
			       " m, calories: %" PRIu32 " kcal",
			       ev->u.steps.steps, ev->u.steps.meters,
			       ev->u.steps.kcal);
		} else {
			mb_say("steps: %" PRIu32, ev->u.steps.steps);
		}
		break;
	case MIBAND_EV_DEVICE_EVENT: {
		const struct miband_device_event *de = &ev->u.device_event;
		const char *name = de->name ? de->name : "unknown";
		const char *detail = NULL;

		buf2[0] = 0;
		if (de->code == MIBAND_DEV_MUSIC)
			detail = music_action(de->arg);
		else if (de->code == MIBAND_DEV_SILENT_MODE)
			detail = de->arg ? "on" : "off";
		else if (de->code == MIBAND_DEV_MTU)
			snprintf(buf2, sizeof(buf2), "%u", de->arg), detail = buf2;
		if (c->json) {
			mb_json_begin(&j, "event");
			mb_json_str(&j, "event", name);
			mb_json_int(&j, "code", de->code);
			if (de->code == MIBAND_DEV_MUSIC ||
			    de->code == MIBAND_DEV_SILENT_MODE ||
			    de->code == MIBAND_DEV_MTU)
				mb_json_int(&j, "arg", de->arg);
			if (detail)
				mb_json_str(&j, "detail", detail);
			stream_time(&j, stream);
			mb_json_end(&j);
		} else if (detail) {
			mb_say("event: %s %s", name, detail);
		} else if (!strcmp(name, "unknown")) {
			mb_say("event: unknown (0x%02x)", de->code);
		} else {
			mb_say("event: %s", name);
		}
		break;
	}
	case MIBAND_EV_TIME:
		fmt_time(&ev->u.time, true, true, buf, sizeof(buf));
		if (c->json) {
			mb_json_begin(&j, "time");
			mb_json_str(&j, "time", buf);
			mb_json_int(&j, "tz_quarter_hours", ev->u.time.tz);
			if (ev->u.time.dow)
				mb_json_str(&j, "day", dow_name(ev->u.time.dow));
			mb_json_end(&j);
		} else {
			fmt_time(&ev->u.time, true, false, buf, sizeof(buf));
			mb_say("time: %s%s%s%s", buf,
			       ev->u.time.dow ? " (" : "",
			       ev->u.time.dow ? dow_name(ev->u.time.dow) : "",
			       ev->u.time.dow ? ")" : "");
		}
		break;
	case MIBAND_EV_BATTERY: {
		const struct miband_battery *b = &ev->u.battery;

		if (c->json) {
			mb_json_begin(&j, "battery");
			mb_json_int(&j, "level", b->level);
			mb_json_bool(&j, "charging", b->charging);
			fmt_time(&b->last_charge, false, true, buf, sizeof(buf));
			mb_json_str(&j, "last_charge", buf);
			mb_json_int(&j, "last_charge_level",
				    b->last_charge_level);
			fmt_time(&b->last_off, false, true, buf, sizeof(buf));
			mb_json_str(&j, "last_off", buf);
			mb_json_end(&j);
		} else {
			mb_say("battery: %u%%%s", b->level,
			       b->charging ? " (charging)" : "");
			fmt_time(&b->last_charge, false, false, buf, sizeof(buf));
			mb_say("last charge: %s (%u%%)", buf,
			       b->last_charge_level);
			fmt_time(&b->last_off, false, false, buf, sizeof(buf));
			mb_say("last off charger: %s", buf);
		}
		break;
	}
	default:
		mb_verbose("event %s", miband_event_name(ev->type));
		break;
	}
}

/* ---- commands ---- */

struct command;
static int usage(const struct command *cmd, FILE *f);
static const struct command *find_command(const char *name);

static int need_args(const struct command *cmd, int argc, int min, int max)
{
	if (argc < min || argc > max) {
		mb_error_detail(argc < min ? "missing arguments" :
					     "too many arguments");
		usage(cmd, stderr);
		return MIBAND_E_INVAL;
	}
	return 0;
}

static int cmd_auth(struct ctx *c, const struct command *cmd, int argc,
		    char **argv)
{
	struct miband_request req;
	struct miband_event ev;
	struct mb_json j;
	struct key_id id;
	bool have_fw = false;
	int r;

	(void)argv;
	if ((r = need_args(cmd, argc, 0, 0)) < 0)
		return r;
	memset(&id, 0, sizeof(id));
	if (c->has_cli_key)
		key_id(&id, c->cli_key);
	else if (c->entry_err == 0)
		key_id(&id, c->entry.key);
	r = auth_stored(c);
	if (r < 0)
		return r;
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_DEVINFO;
	req.u.devinfo = MIBAND_DEVINFO_SW_REV;
	r = request(c, &req, &ev);
	if (r == 0 && ev.type == MIBAND_EV_DEVINFO) {
		mb_printable(c->value, sizeof(c->value), ev.u.devinfo.value,
			     ev.u.devinfo.len);
		have_fw = true;
	} else if (r == MIBAND_E_DISCONNECTED || r == MIBAND_E_TIMEOUT) {
		return r;
	}
	if (c->json) {
		mb_json_begin(&j, "auth");
		mb_json_str(&j, "device", c->spec);
		mb_json_bool(&j, "authenticated", true);
		mb_json_str(&j, "model", miband_model_name(mb_device_model(c->dev)));
		mb_json_str(&j, "model_name",
			    miband_model_display_name(mb_device_model(c->dev)));
		if (have_fw)
			mb_json_strn(&j, "firmware", ev.u.devinfo.value,
				     ev.u.devinfo.len);
		json_key_id(&j, &id);
		mb_json_end(&j);
	} else {
		mb_say("authenticated with %s (key %s)", c->spec, id.desc);
		mb_say("model: %s",
		       miband_model_display_name(mb_device_model(c->dev)));
		mb_say("firmware: %s", have_fw ? c->value : "unknown");
	}
	return 0;
}

static int cmd_pair(struct ctx *c, const struct command *cmd, int argc,
		    char **argv)
{
	struct mb_keys_txn txn = { 0 };
	char name[MB_KEY_NAME_MAX];
	enum miband_model model;
	struct mb_key_entry e;
	struct mb_json j;
	uint8_t key[16];
	struct key_id id;
	int r;

	(void)argv;
	if ((r = need_args(cmd, argc, 0, 0)) < 0)
		return r;
	if (c->has_cli_key && c->new_key)
		return mb_usage_error("pass either --key or --new-key");
	if (c->alias && !mb_key_alias_check(c->alias))
		return MIBAND_E_INVAL;
	if (c->has_cli_key) {
		memcpy(key, c->cli_key, 16);
	} else {
		r = miband_crypto_openssl.random(NULL, key, sizeof(key));
		if (r < 0)
			return r;
	}
	key_id(&id, key);
	/* The key store must be able to keep the key before the band gets
	 * it: a band whose key nobody has must be reset to pair again. */
	memset(&e, 0, sizeof(e));
	if (c->alias)
		snprintf(e.name, sizeof(e.name), "%s", c->alias);
	else if (c->entry_err == 0)
		snprintf(e.name, sizeof(e.name), "%s", c->entry_name);
	else
		snprintf(e.name, sizeof(e.name), "%s", c->spec);
	snprintf(e.address, sizeof(e.address), "%s", c->spec);
	e.has_model = true;
	e.model = c->use_model;
	e.has_key = true;
	memcpy(e.key, key, 16);
	r = mb_keys_prepare(&e, MB_KEYS_NEW_KEY, &txn);
	snprintf(name, sizeof(name), "%s", e.name);
	mb_key_entry_wipe(&e);
	if (r == 0)
		r = start_session(c, MIBAND_AUTH_PAIR, key);
	miband_wipe(key, sizeof(key));
	if (r < 0) {
		mb_keys_abort(&txn);
		return r;
	}
	model = mb_device_model(c->dev);
	r = mb_keys_commit(&txn, &model);
	if (r < 0) {
		mb_error_hint("the band now holds the new key (%s) but it could "
			      "not be stored: fix the key store and pair again",
			      id.desc);
		return r;
	}
	if (c->json) {
		mb_json_begin(&j, "paired");
		mb_json_str(&j, "device", c->spec);
		mb_json_str(&j, "name", name);
		mb_json_str(&j, "model", miband_model_name(mb_device_model(c->dev)));
		json_key_id(&j, &id);
		mb_json_end(&j);
	} else {
		mb_say("paired with %s; key %s stored", c->spec, id.desc);
	}
	return 0;
}

static int cmd_battery(struct ctx *c, const struct command *cmd, int argc,
		       char **argv)
{
	struct miband_event ev;
	int r;

	(void)argv;
	if ((r = need_args(cmd, argc, 0, 0)) < 0 || (r = auth_stored(c)) < 0)
		return r;
	r = simple_request(c, MIBAND_REQ_BATTERY, &ev);
	if (r < 0)
		return r;
	print_event(c, &ev, false);
	return 0;
}

/* Streams events until SIGINT/SIGTERM.  keep: event types to print. */
static int follow(struct ctx *c, enum miband_event_type keep)
{
	struct miband_event ev;
	int r;

	while (!interrupted) {
		r = mb_device_run(c->dev, &c->s,
				  mb_device_now(c->dev) + FOLLOW_SLICE_MS, &ev);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		if (ev.type == MIBAND_EV_ERROR)
			return ev.error;
		if (ev.type == keep)
			print_event(c, &ev, true);
		else
			mb_verbose("event %s", miband_event_name(ev.type));
	}
	mb_verbose("interrupted: stopping");
	return 0;
}

static int cmd_steps(struct ctx *c, const struct command *cmd, int argc,
		     char **argv)
{
	struct miband_event ev;
	int r;

	(void)argv;
	if ((r = need_args(cmd, argc, 0, 0)) < 0 || (r = auth_stored(c)) < 0)
		return r;
	r = simple_request(c, MIBAND_REQ_STEPS, &ev);
	if (r < 0)
		return r;
	print_event(c, &ev, c->follow);
	if (!c->follow)
		return 0;
	r = simple_request(c, MIBAND_REQ_STEPS_FOLLOW, &ev);
	if (r < 0)
		return r;
	return follow(c, MIBAND_EV_STEPS);
}

static int cmd_hr(struct ctx *c, const struct command *cmd, int argc,
		  char **argv)
{
	struct miband_event ev;
	int r, r2;

	(void)argv;
	if ((r = need_args(cmd, argc, 0, 0)) < 0 || (r = auth_stored(c)) < 0)
		return r;
	if (!c->follow) {
		mb_verbose("measuring: keep the band on your wrist");
		r = simple_request(c, MIBAND_REQ_HR_ONESHOT, &ev);
		if (r < 0)
			return r;
		print_event(c, &ev, false);
		return 0;
	}
	r = simple_request(c, MIBAND_REQ_HR_START, &ev);
	if (r < 0)
		return r;
	r = follow(c, MIBAND_EV_HR);
	if (r == MIBAND_E_DISCONNECTED || r == MIBAND_E_NO_BLUEZ)
		return r;
	/* Stop the measurement even after an error: the band would run
	 * its sensor until its own timeout otherwise. */
	interrupted = 0;
	r2 = simple_request(c, MIBAND_REQ_HR_STOP, &ev);
	if (r2 == 0)
		mb_verbose("continuous heart rate stopped");
	return r < 0 ? r : r2;
}

static int cmd_events(struct ctx *c, const struct command *cmd, int argc,
		      char **argv)
{
	struct miband_event ev;
	int r;

	(void)argv;
	if ((r = need_args(cmd, argc, 0, 0)) < 0)
		return r;
	if (!c->follow)
		return mb_usage_error("events streams the band's events: pass "
				      "--follow (stop with Ctrl-C)");
	if ((r = auth_stored(c)) < 0)
		return r;
	r = simple_request(c, MIBAND_REQ_EVENTS_FOLLOW, &ev);
	if (r < 0)
		return r;
	return follow(c, MIBAND_EV_DEVICE_EVENT);
}

static int cmd_time(struct ctx *c, const struct command *cmd, int argc,
		    char **argv)
{
	struct miband_request req;
	struct miband_event ev;
	struct mb_json j;
	char buf[48];
	int r;

	(void)argv;
	if ((r = need_args(cmd, argc, 0, 0)) < 0)
		return r;
	if (c->sync && c->set_time)
		return mb_usage_error("pass either --sync or --set");
	memset(&req, 0, sizeof(req));
	if (c->set_time) {
		r = parse_iso_time(c->set_time, &req.u.time);
		if (r < 0) {
			mb_error_detail("'%s' is not a time the band can take: "
					"%s",
					c->set_time, miband_strerror(r));
			return r;
		}
	}
	if ((r = auth_stored(c)) < 0)
		return r;
	if (!c->sync && !c->set_time) {
		r = simple_request(c, MIBAND_REQ_TIME_GET, &ev);
		if (r < 0)
			return r;
		print_event(c, &ev, false);
		return 0;
	}
	if (c->sync)
		host_local_time(&req.u.time);
	req.type = MIBAND_REQ_TIME_SET;
	r = request(c, &req, &ev);
	if (r < 0)
		return r;
	if (c->json) {
		fmt_time(&req.u.time, true, true, buf, sizeof(buf));
		mb_json_begin(&j, "time-set");
		mb_json_str(&j, "time", buf);
		mb_json_int(&j, "tz_quarter_hours", req.u.time.tz);
		mb_json_str(&j, "day", dow_name(req.u.time.dow));
		mb_json_str(&j, "source", c->sync ? "host" : "argument");
		mb_json_end(&j);
	} else {
		fmt_time(&req.u.time, true, false, buf, sizeof(buf));
		mb_say("time set: %s (%s)%s", buf, dow_name(req.u.time.dow),
		       c->sync ? ", the host's local time" : "");
	}
	return 0;
}

static const char *const devinfo_names[MIBAND_DEVINFO_COUNT] = {
	[MIBAND_DEVINFO_SERIAL] = "serial",
	[MIBAND_DEVINFO_HW_REV] = "hardware",
	[MIBAND_DEVINFO_SW_REV] = "firmware",
	[MIBAND_DEVINFO_SYSTEM_ID] = "system_id",
	[MIBAND_DEVINFO_PNP_ID] = "pnp_id",
	[MIBAND_DEVINFO_NAME] = "name",
};

/* A model guess from the advertised/GAP name. */
static bool name_model(const char *name, enum miband_model *ret)
{
	static const struct {
		const char *sub;
		enum miband_model m;
	} t[] = { { "band 2", MIBAND_MODEL_MB2 }, { "band 3", MIBAND_MODEL_MB3 },
		  { "band 4", MIBAND_MODEL_MB4 }, { "band 5", MIBAND_MODEL_MB5 },
		  { "band 6", MIBAND_MODEL_MB6 } };
	char low[64];
	size_t i;

	for (i = 0; name[i] && i + 1 < sizeof(low); i++)
		low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ?
					name[i] - 'A' + 'a' : name[i]);
	low[i] = 0;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strstr(low, t[i].sub)) {
			*ret = t[i].m;
			return true;
		}
	return false;
}

static int cmd_info(struct ctx *c, const struct command *cmd, int argc,
		    char **argv)
{
	static const enum miband_devinfo order[] = {
		MIBAND_DEVINFO_NAME,	  MIBAND_DEVINFO_SW_REV,
		MIBAND_DEVINFO_HW_REV,	  MIBAND_DEVINFO_SERIAL,
		MIBAND_DEVINFO_SYSTEM_ID, MIBAND_DEVINFO_PNP_ID,
	};
	struct miband_request req;
	struct miband_event ev;
	struct mb_json j;
	enum miband_model model, guess;
	char text[MIBAND_DEVINFO_COUNT][3 * MIBAND_VALUE_MAX + 8];
	uint8_t raw[MIBAND_DEVINFO_COUNT][MIBAND_VALUE_MAX];
	size_t rawlen[MIBAND_DEVINFO_COUNT];
	bool have[MIBAND_DEVINFO_COUNT] = { false };
	size_t i, k;
	int r;

	(void)argv;
	if ((r = need_args(cmd, argc, 0, 0)) < 0 || (r = auth_stored(c)) < 0)
		return r;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum miband_devinfo f = order[i];

		memset(&req, 0, sizeof(req));
		req.type = MIBAND_REQ_DEVINFO;
		req.u.devinfo = f;
		r = request(c, &req, &ev);
		if (r == MIBAND_E_DISCONNECTED || r == MIBAND_E_TIMEOUT ||
		    r == MIBAND_E_NO_BLUEZ || r == MIBAND_E_CANCELLED)
			return r;
		if (r < 0 || ev.type != MIBAND_EV_DEVINFO) {
			mb_verbose("%s: not available (%s)", devinfo_names[f],
				   miband_err_name(r));
			continue;
		}
		rawlen[f] = ev.u.devinfo.len < MIBAND_VALUE_MAX ?
				    ev.u.devinfo.len :
				    MIBAND_VALUE_MAX;
		memcpy(raw[f], ev.u.devinfo.value, rawlen[f]);
		have[f] = true;
		if (f == MIBAND_DEVINFO_SYSTEM_ID) {
			for (k = 0; k < rawlen[f]; k++)
				snprintf(text[f] + 2 * k, 3, "%02x", raw[f][k]);
			text[f][2 * rawlen[f]] = 0;
		} else if (f == MIBAND_DEVINFO_PNP_ID && rawlen[f] == 7) {
			snprintf(text[f], sizeof(text[f]),
				 "vendor 0x%04x (%s), product 0x%04x, version "
				 "0x%04x",
				 raw[f][1] | raw[f][2] << 8,
				 raw[f][0] == 1 ? "Bluetooth SIG" : "USB",
				 raw[f][3] | raw[f][4] << 8,
				 raw[f][5] | raw[f][6] << 8);
		} else {
			mb_printable(text[f], sizeof(text[f]), raw[f],
				     rawlen[f]);
		}
	}
	model = mb_device_model(c->dev);
	if (c->json) {
		mb_json_begin(&j, "info");
		mb_json_str(&j, "device", c->spec);
		mb_json_str(&j, "model", miband_model_name(model));
		mb_json_str(&j, "model_name", miband_model_display_name(model));
		for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
			enum miband_devinfo f = order[i];

			if (!have[f])
				continue;
			if (f == MIBAND_DEVINFO_SYSTEM_ID ||
			    f == MIBAND_DEVINFO_PNP_ID)
				mb_json_hex(&j, devinfo_names[f], raw[f],
					    rawlen[f]);
			else
				mb_json_strn(&j, devinfo_names[f], raw[f],
					     rawlen[f]);
		}
		mb_json_end(&j);
	} else {
		mb_say("model: %s (%s)", miband_model_display_name(model),
		       miband_model_name(model));
		if (have[MIBAND_DEVINFO_NAME])
			mb_say("name: %s", text[MIBAND_DEVINFO_NAME]);
		if (have[MIBAND_DEVINFO_SW_REV])
			mb_say("firmware: %s", text[MIBAND_DEVINFO_SW_REV]);
		if (have[MIBAND_DEVINFO_HW_REV])
			mb_say("hardware: %s", text[MIBAND_DEVINFO_HW_REV]);
		if (have[MIBAND_DEVINFO_SERIAL])
			mb_say("serial: %s", text[MIBAND_DEVINFO_SERIAL]);
		if (have[MIBAND_DEVINFO_SYSTEM_ID])
			mb_say("system id: %s", text[MIBAND_DEVINFO_SYSTEM_ID]);
		if (have[MIBAND_DEVINFO_PNP_ID])
			mb_say("pnp id: %s", text[MIBAND_DEVINFO_PNP_ID]);
	}
	if (have[MIBAND_DEVINFO_NAME] &&
	    name_model(text[MIBAND_DEVINFO_NAME], &guess) && guess != model)
		mb_note("%s: note: the band calls itself \"%s\": pass --model "
			"%s if it is one",
			MB_PROG, text[MIBAND_DEVINFO_NAME],
			miband_model_name(guess));
	return 0;
}

/* Valid UTF-8, or BAD_UTF8 naming the argument. */
static int check_utf8(const char *what, const char *s)
{
	if (miband_utf8_cut(s, strlen(s), strlen(s)) < 0) {
		mb_error_detail("the %s is not valid UTF-8 text", what);
		return MIBAND_E_BAD_UTF8;
	}
	return 0;
}

static int cmd_alert(struct ctx *c, const struct command *cmd, int argc,
		     char **argv)
{
	struct miband_request req;
	struct miband_event ev;
	struct mb_json j;
	const char *kind;
	int r, n = 0;

	if (argc < 1)
		return need_args(cmd, argc, 1, 3);
	kind = argv[0];
	memset(&req, 0, sizeof(req));
	if (!strcmp(kind, "call")) {
		if ((r = need_args(cmd, argc, 2, 2)) < 0 ||
		    (r = check_utf8("caller name", argv[1])) < 0)
			return r;
		n = (int)strlen(argv[1]);
		if ((size_t)n >= sizeof(c->text))
			n = miband_utf8_cut(argv[1], (size_t)n,
					    sizeof(c->text) - 1);
		memcpy(c->text, argv[1], (size_t)n);
		req.type = MIBAND_REQ_CALL;
		req.u.text.data = (const char *)c->text;
		req.u.text.len = (size_t)n;
	} else if (!strcmp(kind, "text")) {
		if ((r = need_args(cmd, argc, 3, 3)) < 0 ||
		    (r = check_utf8("title", argv[1])) < 0 ||
		    (r = check_utf8("body", argv[2])) < 0)
			return r;
		/* the model is known only once the band is open: encode
		 * after auth, but fail on bad input before connecting */
	} else if (!strcmp(kind, "vibrate")) {
		if ((r = need_args(cmd, argc, 1, 1)) < 0)
			return r;
		req.type = MIBAND_REQ_ALERT;
		req.u.level = MIBAND_ALERT_VIBRATE;
	} else if (!strcmp(kind, "stop")) {
		if ((r = need_args(cmd, argc, 1, 1)) < 0)
			return r;
		req.type = MIBAND_REQ_ALERT;
		req.u.level = MIBAND_ALERT_NONE;
	} else {
		return mb_usage_error("unknown alert '%s': use call NAME, text "
				      "TITLE BODY, vibrate or stop",
				      kind);
	}
	if ((r = auth_stored(c)) < 0)
		return r;
	if (!strcmp(kind, "text")) {
		enum miband_model m = mb_device_model(c->dev);

		n = miband_encode_app_notification(
			c->text, sizeof(c->text), miband_text_limit(m),
			MIBAND_CATEGORY_SMS, 0, argv[1], argv[2], NULL);
		if (n < 0)
			return n;
		req.type = MIBAND_REQ_TEXT;
		req.u.text.data = (const char *)c->text;
		req.u.text.len = (size_t)n;
	}
	r = request(c, &req, &ev);
	if (r < 0)
		return r;
	if (!strcmp(kind, "stop")) {
		/* also end an incoming-call screen */
		r = simple_request(c, MIBAND_REQ_CALL_STOP, &ev);
		if (r < 0)
			return r;
	}
	if (c->json) {
		mb_json_begin(&j, "alert");
		mb_json_str(&j, "alert", kind);
		if (!strcmp(kind, "text") || !strcmp(kind, "call"))
			mb_json_int(&j, "bytes", n);
		mb_json_bool(&j, "sent", true);
		mb_json_end(&j);
	} else if (!strcmp(kind, "call")) {
		mb_say("alert: incoming call from \"%s\" shown", argv[1]);
	} else if (!strcmp(kind, "text")) {
		mb_say("alert: text sent (%d bytes)", n);
	} else if (!strcmp(kind, "vibrate")) {
		mb_say("alert: the band vibrates");
	} else {
		mb_say("alert: stopped");
	}
	return 0;
}

/* ---- config ---- */

static int parse_onoff(const char *v, bool *ret)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "1") ||
	    !strcmp(v, "true")) {
		*ret = true;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "0") ||
	    !strcmp(v, "false")) {
		*ret = false;
		return 0;
	}
	return -1;
}

/* "HH:MM-HH:MM" */
static int parse_span(const char *v, uint8_t out[4])
{
	unsigned a, b, c2, d;

	if (strlen(v) != 11 || v[2] != ':' || v[5] != '-' || v[8] != ':' ||
	    parse_uint(v, 2, &a) || parse_uint(v + 3, 2, &b) ||
	    parse_uint(v + 6, 2, &c2) || parse_uint(v + 9, 2, &d) || a > 23 ||
	    b > 59 || c2 > 23 || d > 59)
		return -1;
	out[0] = (uint8_t)a;
	out[1] = (uint8_t)b;
	out[2] = (uint8_t)c2;
	out[3] = (uint8_t)d;
	return 0;
}

static const char *const display_items[] = {
	"clock", "notifications", "weather", "activity", "more",
	"status", "heart-rate", "timer", "nfc",
};

static int parse_items(const char *v, uint16_t *ret)
{
	char buf[256], *tok, *save = NULL;
	uint16_t mask = 1;
	size_t i;

	if (strlen(v) >= sizeof(buf))
		return -1;
	if (!strcmp(v, "none") || !strcmp(v, "clock")) {
		*ret = 1;
		return 0;
	}
	if (!strcmp(v, "all")) {
		*ret = 0x1ff;
		return 0;
	}
	strcpy(buf, v);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(display_items) / sizeof(*display_items);
		     i++)
			if (!strcmp(tok, display_items[i]))
				break;
		if (i == sizeof(display_items) / sizeof(*display_items))
			return -1;
		mask = (uint16_t)(mask | 1u << i);
	}
	*ret = mask;
	return 0;
}

/* born=YYYY-MM-DD,sex=male|female|other,height=CM,weight=KG[,id=N] */
static int parse_user(const char *v, struct miband_user_info *u)
{
	char buf[256], *tok, *save = NULL, *val;
	unsigned x, y, m, d;
	int seen = 0;

	memset(u, 0, sizeof(*u));
	if (strlen(v) >= sizeof(buf))
		return -1;
	strcpy(buf, v);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		val = strchr(tok, '=');
		if (!val)
			return -1;
		*val++ = 0;
		if (!strcmp(tok, "born")) {
			if (strlen(val) != 10 || val[4] != '-' || val[7] != '-' ||
			    parse_uint(val, 4, &y) || parse_uint(val + 5, 2, &m) ||
			    parse_uint(val + 8, 2, &d) || y < 1900 || y > 2100 ||
			    m < 1 || m > 12 || d < 1 || d > 31)
				return -1;
			u->birth_year = (uint16_t)y;
			u->birth_month = (uint8_t)m;
			u->birth_day = (uint8_t)d;
			seen |= 1;
		} else if (!strcmp(tok, "sex")) {
			if (!strcmp(val, "male") || !strcmp(val, "m"))
				u->sex = 0;
			else if (!strcmp(val, "female") || !strcmp(val, "f"))
				u->sex = 1;
			else if (!strcmp(val, "other"))
				u->sex = 2;
			else
				return -1;
			seen |= 2;
		} else if (!strcmp(tok, "height")) {
			if (parse_uint(val, strlen(val), &x) || x < 50 || x > 260)
				return -1;
			u->height_cm = (uint16_t)x;
			seen |= 4;
		} else if (!strcmp(tok, "weight")) {
			if (parse_uint(val, strlen(val), &x) || x < 10 || x > 300)
				return -1;
			u->weight_kg = (uint16_t)x;
			seen |= 8;
		} else if (!strcmp(tok, "id")) {
			if (parse_uint(val, strlen(val), &x))
				return -1;
			u->user_id = x;
		} else {
			return -1;
		}
	}
	return seen == 15 ? 0 : -1;
}

static const struct config_key {
	const char *name;
	const char *values;
} config_keys[] = {
	{ "display-items", "none|all|ITEM,... (notifications, weather, "
			   "activity, more, status, heart-rate, timer, nfc)" },
	{ "time-format", "12|24" },
	{ "date-format", "a pattern such as dd.MM.yyyy or MM/dd/yyyy" },
	{ "date-display", "on|off (the date on the clock screen)" },
	{ "wrist", "left|right" },
	{ "goal", "steps per day (1-65535)" },
	{ "goal-notification", "on|off" },
	{ "dnd", "off|auto|HH:MM-HH:MM" },
	{ "night-mode", "off|sunset|HH:MM-HH:MM" },
	{ "lift-to-wake", "on|off" },
	{ "rotate-wrist", "on|off" },
	{ "display-caller", "on|off" },
	{ "distance-unit", "metric|imperial" },
	{ "screen-unlock", "on|off" },
	{ "user", "born=YYYY-MM-DD,sex=male|female|other,height=CM,"
		  "weight=KG[,id=N]" },
};

static void config_usage(FILE *f)
{
	size_t i;

	fprintf(f, "config keys and values:\n");
	for (i = 0; i < sizeof(config_keys) / sizeof(*config_keys); i++)
		fprintf(f, "  %-18s %s\n", config_keys[i].name,
			config_keys[i].values);
}

/* Encodes KEY VALUE into req (CONFIG or USER); -1: bad value. */
static int encode_config(const char *k, const char *v, bool weight_x200,
			 struct miband_request *req)
{
	uint8_t *b = req->u.raw.bytes;
	size_t cap = sizeof(req->u.raw.bytes);
	uint8_t span[4] = { 0 };
	struct miband_user_info u;
	unsigned x;
	bool on;
	int n;

	req->type = MIBAND_REQ_CONFIG;
	if (!strcmp(k, "display-items")) {
		uint16_t mask;

		if (parse_items(v, &mask))
			return -1;
		n = miband_encode_config_display_items(b, cap, mask);
	} else if (!strcmp(k, "time-format")) {
		if (strcmp(v, "12") && strcmp(v, "24"))
			return -1;
		n = miband_encode_config_time_format(b, cap, !strcmp(v, "24"));
	} else if (!strcmp(k, "date-format")) {
		size_t i;

		if (!*v || strlen(v) > 10)
			return -1;
		for (i = 0; v[i]; i++)
			if (!strchr("dMy./- ", v[i]))
				return -1;
		n = miband_encode_config_date_format(b, cap, v);
	} else if (!strcmp(k, "date-display")) {
		if (parse_onoff(v, &on))
			return -1;
		n = miband_encode_config_date_display(b, cap, on);
	} else if (!strcmp(k, "wrist")) {
		if (strcmp(v, "left") && strcmp(v, "right"))
			return -1;
		req->type = MIBAND_REQ_USER;
		n = miband_encode_wear_location(b, cap, !strcmp(v, "right"));
	} else if (!strcmp(k, "goal")) {
		if (parse_uint(v, strlen(v), &x) || x < 1 || x > 65535)
			return -1;
		req->type = MIBAND_REQ_USER;
		n = miband_encode_step_goal(b, cap, (uint16_t)x);
	} else if (!strcmp(k, "goal-notification")) {
		if (parse_onoff(v, &on))
			return -1;
		n = miband_encode_config_goal_notification(b, cap, on);
	} else if (!strcmp(k, "dnd") || !strcmp(k, "night-mode")) {
		bool dnd = !strcmp(k, "dnd");
		int mode;

		if (!strcmp(v, "off"))
			mode = 0;
		else if (!strcmp(v, dnd ? "auto" : "sunset"))
			mode = 2;
		else if (parse_span(v, span) == 0)
			mode = 1;
		else
			return -1;
		n = dnd ? miband_encode_config_dnd(b, cap, mode, span[0],
						   span[1], span[2], span[3]) :
			  miband_encode_config_night_mode(b, cap, mode, span[0],
							  span[1], span[2],
							  span[3]);
	} else if (!strcmp(k, "lift-to-wake")) {
		if (parse_onoff(v, &on))
			return -1;
		n = miband_encode_config_lift_wrist(b, cap, on);
	} else if (!strcmp(k, "rotate-wrist")) {
		if (parse_onoff(v, &on))
			return -1;
		n = miband_encode_config_rotate_wrist(b, cap, on);
	} else if (!strcmp(k, "display-caller")) {
		if (parse_onoff(v, &on))
			return -1;
		n = miband_encode_config_display_caller(b, cap, on);
	} else if (!strcmp(k, "distance-unit")) {
		if (strcmp(v, "metric") && strcmp(v, "imperial"))
			return -1;
		n = miband_encode_config_distance_unit(b, cap,
						       !strcmp(v, "imperial"));
	} else if (!strcmp(k, "screen-unlock")) {
		if (parse_onoff(v, &on))
			return -1;
		n = miband_encode_config_screen_unlock(b, cap, on);
	} else if (!strcmp(k, "user")) {
		if (parse_user(v, &u))
			return -1;
		req->type = MIBAND_REQ_USER;
		n = miband_encode_user_info(b, cap, &u, weight_x200);
	} else {
		return -2;
	}
	if (n < 0)
		return -1;
	req->u.raw.len = (uint8_t)n;
	return 0;
}

static int cmd_config(struct ctx *c, const struct command *cmd, int argc,
		      char **argv)
{
	struct miband_session_config defaults;
	struct miband_request req;
	struct miband_event ev;
	struct mb_json j;
	size_t i;
	int r;

	if ((r = need_args(cmd, argc, 2, 2)) < 0)
		return r;
	memset(&req, 0, sizeof(req));
	/* validate before connecting; the model's weight unit is the
	 * session default of the model we will use */
	r = resolve_device(c);
	if (r < 0)
		return r;
	miband_session_config_init(&defaults, c->use_model);
	r = encode_config(argv[0], argv[1], defaults.user_weight_x200, &req);
	if (r == -2) {
		config_usage(stderr);
		return mb_usage_error("unknown config key '%s'", argv[0]);
	}
	if (r < 0) {
		for (i = 0; i < sizeof(config_keys) / sizeof(*config_keys); i++)
			if (!strcmp(config_keys[i].name, argv[0]))
				break;
		return mb_usage_error("bad value '%s' for %s: expected %s",
				      argv[1], argv[0], config_keys[i].values);
	}
	if ((r = auth_stored(c)) < 0)
		return r;
	r = request(c, &req, &ev);
	if (r < 0)
		return r;
	if (c->json) {
		mb_json_begin(&j, "config");
		mb_json_str(&j, "key", argv[0]);
		mb_json_str(&j, "value", argv[1]);
		mb_json_bool(&j, "ok", true);
		mb_json_end(&j);
	} else {
		mb_say("config: %s = %s", argv[0], argv[1]);
	}
	return 0;
}

/* ---- scan ---- */

static void scan_found(struct miband_bluez *bz,
		       const struct miband_bluez_device_info *dev, bool first,
		       void *user_data)
{
	struct ctx *c = user_data;
	struct mb_json j;
	enum miband_model m = MIBAND_MODEL_MB3;
	bool has_model = dev->has_model;
	char name[128];

	(void)bz;
	if (!first)
		return;
	if (has_model)
		m = dev->model;
	else
		has_model = name_model(dev->name, &m);
	mb_printable(name, sizeof(name), dev->name, strlen(dev->name));
	if (c->json) {
		mb_json_begin(&j, "band");
		mb_json_str(&j, "address", dev->address);
		mb_json_str(&j, "name", dev->name);
		if (dev->has_rssi)
			mb_json_int(&j, "rssi", dev->rssi);
		else
			mb_json_null(&j, "rssi");
		mb_json_str(&j, "model", has_model ? miband_model_name(m) : NULL);
		mb_json_bool(&j, "paired", dev->paired);
		mb_json_bool(&j, "connected", dev->connected);
		mb_json_end(&j);
	} else {
		char rssi[16] = "-";

		if (dev->has_rssi)
			snprintf(rssi, sizeof(rssi), "%d", dev->rssi);
		mb_say("%-17s  %5s  %-5s  %s", dev->address, rssi,
		       has_model ? miband_model_name(m) : "?", name);
	}
}

static int cmd_scan(struct ctx *c, const struct command *cmd, int argc,
		    char **argv)
{
	struct miband_bluez_config cfg;
	struct miband_bluez *bz = NULL;
	struct mb_json j;
	enum miband_model m = c->has_model ? c->model : MIBAND_MODEL_MB3;
	int r;

	(void)argv;
	if ((r = need_args(cmd, argc, 0, 0)) < 0)
		return r;
	if (c->device && strcmp(c->device, "emu"))
		return mb_usage_error("scan lists every band; --device only "
				      "takes `emu` here (the emulated band "
				      "alone)");
	if (!c->json)
		mb_say("%-17s  %5s  %-5s  %s", "ADDRESS", "RSSI", "MODEL",
		       "NAME");
	if (c->json) {
		mb_json_begin(&j, "band");
		mb_json_str(&j, "address", "emu");
		mb_json_str(&j, "name", miband_model_display_name(m));
		mb_json_null(&j, "rssi");
		mb_json_str(&j, "model", miband_model_name(m));
		mb_json_bool(&j, "emulated", true);
		mb_json_end(&j);
	} else {
		char name[64];

		snprintf(name, sizeof(name), "%s (emulated, in-process)",
			 miband_model_display_name(m));
		mb_say("%-17s  %5s  %-5s  %s", "emu", "-", miband_model_name(m),
		       name);
	}
	if (c->device)
		return 0;
	miband_bluez_config_init(&cfg);
	cfg.adapter = c->adapter;
	r = miband_bluez_new(&cfg, &bz);
	if (r == 0)
		r = miband_bluez_scan_sync(
			bz, NULL, c->has_timeout ? c->timeout_ms : DEFAULT_SCAN_MS,
			scan_found, c);
	if (r < 0 && bz && c->verbose && *miband_bluez_last_error(bz))
		mb_verbose("D-Bus: %s", miband_bluez_last_error(bz));
	miband_bluez_unref(bz);
	if (r < 0)
		mb_error_hint("`mibandctl --device emu ...` works without "
			      "Bluetooth");
	return r < 0 ? r : 0;
}

/* ---- keys ---- */

static void list_one(const struct mb_key_entry *e, int err, void *user_data)
{
	struct ctx *c = user_data;
	struct mb_json j;
	char fp[40] = "", pre[8] = "", desc[80] = "";

	if (err == 0) {
		mb_key_fingerprint(e->key, fp, sizeof(fp));
		mb_key_prefix(e->key, pre, sizeof(pre));
		mb_key_describe(e->key, desc, sizeof(desc));
	}
	if (c->json) {
		mb_json_begin(&j, "key");
		mb_json_str(&j, "name", e->name);
		if (err == 0) {
			mb_json_str(&j, "address", e->address[0] ? e->address : NULL);
			mb_json_str(&j, "model",
				    e->has_model ? miband_model_name(e->model) :
						   NULL);
			mb_json_str(&j, "key_prefix", pre);
			mb_json_str(&j, "fingerprint", fp);
		} else {
			mb_json_str(&j, "error", miband_err_name(err));
		}
		mb_json_end(&j);
	} else if (err == 0) {
		mb_say("%-20s %-17s  %-5s  %s", e->name,
		       e->address[0] ? e->address : "?",
		       e->has_model ? miband_model_name(e->model) : "?", desc);
	} else {
		mb_say("%-20s %-17s  %-5s  unusable: %s", e->name, "?", "?",
		       miband_err_name(err));
	}
	if (err)
		mb_note("%s: %s", MB_PROG, mb_keys_problem());
}

/*
 * Reads a key from standard input: its first line.  read(2), not stdio,
 * so no library buffer keeps a copy of the key.
 */
static int read_key_stdin(uint8_t key[16])
{
	char line[256];
	size_t len = 0;
	ssize_t n;
	int r;

	if (isatty(STDIN_FILENO))
		fprintf(stderr, "key (32 hex digits): ");
	while (len + 1 < sizeof(line)) {
		n = read(STDIN_FILENO, line + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || line[len] == '\n')
			break;
		len++;
	}
	line[len] = 0;
	if (len == 0) {
		mb_error_detail("no key on standard input: %s",
				miband_strerror(MIBAND_E_BAD_KEY));
		return MIBAND_E_BAD_KEY;
	}
	r = mb_key_parse(line, key);
	miband_wipe(line, sizeof(line));
	return r;
}

static int cmd_keys(struct ctx *c, const struct command *cmd, int argc,
		    char **argv)
{
	struct mb_key_entry e;
	struct mb_json j;
	char name[MB_KEY_NAME_MAX], dir[4200];
	struct key_id id;
	const char *target;
	int r;

	if (argc < 1)
		return need_args(cmd, argc, 1, 2);
	if (!strcmp(argv[0], "list")) {
		if ((r = need_args(cmd, argc, 1, 1)) < 0)
			return r;
		if (!c->json && mb_keys_dir(dir, sizeof(dir)) == 0)
			mb_verbose("key store: %s", dir);
		if (!c->json)
			mb_say("%-20s %-17s  %-5s  %s", "NAME", "ADDRESS",
			       "MODEL", "KEY");
		r = mb_keys_foreach(list_one, c);
		return r < 0 ? r : 0;
	}
	if (!strcmp(argv[0], "forget")) {
		if ((r = need_args(cmd, argc, 1, 2)) < 0)
			return r;
		target = argc == 2 ? argv[1] : c->device;
		if (!target)
			return mb_usage_error("keys forget: name the band "
					      "(ADDRESS, alias or emu)");
		r = mb_keys_forget(target, name);
		if (r == MIBAND_E_NO_KEY)
			mb_error_detail("no key is stored for %s", target);
		if (r < 0)
			return r;
		if (c->json) {
			mb_json_begin(&j, "key-forgotten");
			mb_json_str(&j, "name", name);
			mb_json_end(&j);
		} else {
			mb_say("forgot the key of %s", name);
		}
		return 0;
	}
	if (!strcmp(argv[0], "import")) {
		if ((r = need_args(cmd, argc, 1, 2)) < 0)
			return r;
		target = argc == 2 ? argv[1] : c->device;
		if (!target)
			return mb_usage_error("keys import: name the band with "
					      "--device ADDRESS|emu");
		memset(&e, 0, sizeof(e));
		if (!strcmp(target, "emu")) {
			strcpy(e.address, "emu");
		} else if (mb_address_parse(target, e.address) < 0) {
			mb_error_detail("'%s' is not a Bluetooth address: %s; "
					"or `emu` (use --alias to name it)",
					target,
					miband_strerror(MIBAND_E_BAD_ADDRESS));
			return MIBAND_E_BAD_ADDRESS;
		}
		if (c->alias && !mb_key_alias_check(c->alias))
			return MIBAND_E_INVAL;
		snprintf(e.name, sizeof(e.name), "%s",
			 c->alias ? c->alias : e.address);
		if (c->has_cli_key) {
			memcpy(e.key, c->cli_key, 16);
		} else {
			r = read_key_stdin(e.key);
			if (r < 0) {
				mb_key_entry_wipe(&e);
				return r;
			}
		}
		e.has_key = true;
		e.has_model = c->has_model;
		e.model = c->model;
		key_id(&id, e.key);
		r = mb_keys_save(&e, c->force ? MB_KEYS_NEW_KEY | MB_KEYS_REPLACE
					      : 0);
		if (r == 0) {
			if (c->json) {
				mb_json_begin(&j, "key-imported");
				mb_json_str(&j, "name", e.name);
				mb_json_str(&j, "address", e.address);
				json_key_id(&j, &id);
				mb_json_end(&j);
			} else {
				mb_say("imported key %s for %s as %s", id.desc,
				       e.address, e.name);
			}
		}
		mb_key_entry_wipe(&e);
		return r;
	}
	return mb_usage_error("unknown keys command '%s': use list, import or "
			      "forget",
			      argv[0]);
}

/* ---- the table ---- */

static int cmd_help(struct ctx *c, const struct command *cmd, int argc,
		    char **argv);

/* ---- history: common/history.c ---- */

static int cmd_sync(struct ctx *c, const struct command *cmd, int argc,
		    char **argv)
{
	int r = need_args(cmd, argc, 0, 0);

	(void)argv;
	if (r == 0)
		r = mb_history_sync_check(&c->hist);
	if (r == 0)
		r = auth_stored(c);
	if (r == 0)
		r = mb_history_sync(c->dev, &c->s, &c->hist, c->spec,
				    mb_device_model(c->dev),
				    isatty(STDERR_FILENO));
	return r;
}

static int cmd_export(struct ctx *c, const struct command *cmd, int argc,
		      char **argv)
{
	int r = need_args(cmd, argc, 0, 0);

	(void)argv;
	return r ? r : mb_history_export(&c->hist);
}

static int cmd_stats(struct ctx *c, const struct command *cmd, int argc,
		     char **argv)
{
	int r = need_args(cmd, argc, 0, 0);

	(void)argv;
	return r ? r : mb_history_stats(&c->hist);
}

struct command {
	const char *name;
	int (*fn)(struct ctx *c, const struct command *cmd, int argc,
		  char **argv);
	const char *args;
	const char *doc;
	unsigned opts; /* OPT_* it accepts */
	bool device;   /* talks to a band: --device etc. matter */
};

static const struct command commands[] = {
	{ "scan", cmd_scan, "[--timeout S]",
	  "List nearby bands: address, RSSI, model guess, name (the "
	  "emulated band first).",
	  0, false },
	{ "pair", cmd_pair, "--device D [--key HEX | --new-key] [--alias NAME]",
	  "Set a new key on the band (the wearer taps the band to confirm), "
	  "authenticate, and store the key.",
	  OPT_NEW_KEY | OPT_ALIAS, true },
	{ "auth", cmd_auth, "--device D [--key HEX]",
	  "Authenticate with the stored key (or --key); report model and "
	  "firmware.",
	  0, true },
	{ "info", cmd_info, "", "Device information: name, firmware, "
				"hardware, serial, system and PnP id, model.",
	  0, true },
	{ "battery", cmd_battery, "", "Battery level, charging state, last "
				      "charge.",
	  0, true },
	{ "steps", cmd_steps, "[--follow]", "Steps, distance and calories "
					    "today; --follow streams updates.",
	  OPT_FOLLOW, true },
	{ "time", cmd_time, "[--sync | --set ISO8601]",
	  "Read the band's clock; --sync sets it to the host's local time "
	  "(zone and DST included); --set sets YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM].",
	  OPT_SYNC | OPT_SET, true },
	{ "hr", cmd_hr, "[--follow]",
	  "Measure the heart rate once; --follow measures continuously "
	  "(kept alive) until Ctrl-C.",
	  OPT_FOLLOW, true },
	{ "alert", cmd_alert, "call NAME | text TITLE BODY | vibrate | stop",
	  "Show an incoming call, a text notification (UTF-8, cut to the "
	  "band's limit on a character boundary), vibrate, or stop.",
	  0, true },
	{ "events", cmd_events, "--follow",
	  "Stream the band's events (button, find phone, music, ...) until "
	  "Ctrl-C.",
	  OPT_FOLLOW, true },
	{ "config", cmd_config, "KEY VALUE",
	  "Change a band setting (`mibandctl config --help` lists them).", 0,
	  true },
	{ "keys", cmd_keys, "list | import [--device D] [--alias NAME] "
			    "[--force] | forget D",
	  "The key store: list keys (never shown in full), import one (from "
	  "--key or standard input; --force replaces another key), forget "
	  "one.",
	  OPT_ALIAS | OPT_FORCE, false },
	{ "sync", cmd_sync, "[--since DATE] [--keep-on-band] [--db FILE]",
	  "Fetch the activity history into the database (first time: 100 "
	  "days back, then from the last stored minute); --keep-on-band: "
	  "do not acknowledge, the band keeps its copy.",
	  OPT_HISTORY, true },
	{ "export", cmd_export, "[--format csv|jsonl] [--from T] [--to T] "
				"[--band B] [--db FILE]",
	  "Write the stored history, one line per minute (docs/SCHEMA.md).",
	  OPT_HISTORY, false },
	{ "stats", cmd_stats, "[--from T] [--to T] [--band B] [--utc] "
			      "[--db FILE]",
	  "Daily totals: steps, active minutes, heart rate, sleep.",
	  OPT_HISTORY, false },
	{ "help", cmd_help, "[COMMAND]", "Show help for mibandctl or a "
					 "command.",
	  0, false },
	{ NULL, NULL, NULL, NULL, 0, false }
};

static const struct command *find_command(const char *name)
{
	const struct command *cmd;

	for (cmd = commands; cmd->name; cmd++)
		if (!strcmp(cmd->name, name))
			return cmd;
	return NULL;
}

static const char global_help[] =
	"global options:\n"
	"  -d, --device D        the band: an address AA:BB:CC:DD:EE:FF, an "
	"alias\n"
	"                        from the key store, or `emu` (the emulated "
	"band);\n"
	"                        default: the only band in the key store\n"
	"      --adapter HCI     Bluetooth adapter (default: first powered)\n"
	"      --model M         mb2, mb3, mb4, mb5, mb6 (default: the key "
	"store's, mb3)\n"
	"      --key HEX         key for this command: 32 hex digits, 0x, "
	"spaces or\n"
	"                        colons allowed (prefer the key store: "
	"arguments show in ps)\n"
	"  -j, --json            one JSON object per line\n"
	"  -v, --verbose         show protocol steps and GATT operations "
	"(redacted)\n"
	"  -t, --timeout S       seconds to wait: scan length (10), connection "
	"(30),\n"
	"                        each reply (5), the tap when pairing (30)\n"
	"      --trace FILE      write a btsnoop trace of the GATT traffic "
	"(Wireshark)\n"
	"      --trace-secrets   do not redact key material in the trace\n"
	"      --emu-pairing P   the emulated wearer: accept (default), "
	"decline, never\n"
	"  -h, --help            help (also per command: mibandctl CMD "
	"--help)\n"
	"  -V, --version         version\n";

static const char exit_help[] =
	"exit status:\n"
	"  0  success\n"
	"  1  any other failure\n"
	"  2  usage: bad option or argument (key, address, time, UTF-8 text)\n"
	"  3  not found: no band, adapter, stored key or needed "
	"characteristic\n"
	"  4  connection: could not connect, the band disconnected, or did "
	"not\n"
	"     answer in time\n"
	"  5  authentication rejected: the band holds a different key\n"
	"  6  pairing declined on the band, or not confirmed in time\n"
	"  7  protocol: the band sent a malformed or unexpected reply, or "
	"refused\n"
	"  8  I/O or key store error (including unsafe key file "
	"permissions)\n";

static int usage(const struct command *cmd, FILE *f)
{
	const struct command *k;

	if (cmd) {
		fprintf(f, "usage: %s %s%s%s\n\n%s\n", MB_PROG, cmd->name,
			*cmd->args ? " " : "", cmd->args, cmd->doc);
		if (cmd->opts & OPT_FOLLOW)
			fprintf(f, "\n  -f, --follow          stream until "
				   "Ctrl-C (SIGINT), then stop cleanly\n");
		if (cmd->opts & OPT_NEW_KEY)
			fprintf(f, "\n      --new-key         a fresh random "
				   "key (the default)\n");
		if (cmd->opts & OPT_ALIAS)
			fprintf(f, "      --alias NAME      store the key under "
				   "NAME, usable as --device NAME\n");
		if (cmd->opts & OPT_SYNC)
			fprintf(f, "\n      --sync            set the host's "
				   "local time\n"
				   "      --set ISO8601     set this time\n");
		if (cmd->fn == cmd_config) {
			fputc('\n', f);
			config_usage(f);
		}
		fprintf(f, "\n%s", global_help);
		return 0;
	}
	fprintf(f,
		"usage: %s [OPTIONS] COMMAND [ARGS]\n\n"
		"Talk to a Xiaomi/Huami Mi Band over Bluetooth LE, or to the "
		"emulated band\n(--device emu).\n\ncommands:\n",
		MB_PROG);
	for (k = commands; k->name; k++)
		fprintf(f, "  %-8s %s\n", k->name, k->args);
	fprintf(f, "\n%s\n%s\nkeys are stored in $XDG_CONFIG_HOME/miband/keys/ "
		   "(0600 files, 0700 directory)\nand never printed in full.  "
		   "See mibandctl(1).\n",
		global_help, exit_help);
	return 0;
}

static int cmd_help(struct ctx *c, const struct command *cmd, int argc,
		    char **argv)
{
	const struct command *k;

	(void)c;
	(void)cmd;
	if (argc == 0)
		return usage(NULL, stdout);
	k = find_command(argv[0]);
	if (!k)
		return mb_usage_error("unknown command '%s'", argv[0]);
	return usage(k, stdout);
}

enum {
	LO_ADAPTER = 256,
	LO_MODEL,
	LO_KEY,
	LO_NEW_KEY,
	LO_TRACE,
	LO_TRACE_SECRETS,
	LO_EMU_PAIRING,
	LO_SYNC,
	LO_SET,
	LO_ALIAS,
	LO_FORCE,
};

static const struct option long_opts[] = {
	{ "device", required_argument, NULL, 'd' },
	{ "adapter", required_argument, NULL, LO_ADAPTER },
	{ "model", required_argument, NULL, LO_MODEL },
	{ "key", required_argument, NULL, LO_KEY },
	{ "new-key", no_argument, NULL, LO_NEW_KEY },
	{ "json", no_argument, NULL, 'j' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "timeout", required_argument, NULL, 't' },
	{ "trace", required_argument, NULL, LO_TRACE },
	{ "trace-secrets", no_argument, NULL, LO_TRACE_SECRETS },
	{ "emu-pairing", required_argument, NULL, LO_EMU_PAIRING },
	{ "follow", no_argument, NULL, 'f' },
	{ "sync", no_argument, NULL, LO_SYNC },
	{ "set", required_argument, NULL, LO_SET },
	{ "alias", required_argument, NULL, LO_ALIAS },
	{ "force", no_argument, NULL, LO_FORCE },
	MB_HISTORY_LONG_OPTS,
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static const char *opt_name(unsigned opt)
{
	switch (opt) {
	case OPT_FOLLOW:
		return "--follow";
	case OPT_NEW_KEY:
		return "--new-key";
	case OPT_SYNC:
		return "--sync";
	case OPT_SET:
		return "--set";
	case OPT_HISTORY:
		return "--since, --db, --format, ... (sync, export, stats)";
	case OPT_FORCE:
		return "--force";
	default:
		return "--alias";
	}
}

static int parse_timeout(const char *s, uint32_t *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 86400)
		return -1;
	*ret = (uint32_t)(v * 1000.0 + 0.5);
	if (*ret == 0)
		*ret = 1;
	return 0;
}

static int run(struct ctx *c, int argc, char **argv)
{
	const struct command *cmd;
	bool help = false;
	unsigned bad;
	int o, r;

	opterr = 0;
	while ((o = getopt_long(argc, argv, ":d:jvt:fhV", long_opts, NULL)) !=
	       -1) {
		switch (o) {
		case 'd':
			c->device = optarg;
			break;
		case LO_ADAPTER:
			c->adapter = optarg;
			break;
		case LO_MODEL:
			if (miband_model_parse(optarg, &c->model) < 0)
				return mb_usage_error("unknown model '%s': use "
						      "mb2, mb3, mb4, mb5 or "
						      "mb6",
						      optarg);
			c->has_model = true;
			break;
		case LO_KEY:
			r = mb_key_parse(optarg, c->cli_key);
			/* hide the key from ps and /proc/PID/cmdline */
			memset(optarg, 'x', strlen(optarg));
			if (r < 0)
				return mb_report_error(r, "--key");
			c->has_cli_key = true;
			break;
		case LO_NEW_KEY:
			c->new_key = true;
			c->given |= OPT_NEW_KEY;
			break;
		case 'j':
			c->json = true;
			mb_output_init(c->json, c->verbose);
			break;
		case 'v':
			c->verbose = true;
			mb_output_init(c->json, c->verbose);
			break;
		case 't':
			if (parse_timeout(optarg, &c->timeout_ms) < 0)
				return mb_usage_error("--timeout takes seconds "
						      "(> 0), not '%s'",
						      optarg);
			c->has_timeout = true;
			break;
		case LO_TRACE:
			c->trace_path = optarg;
			break;
		case LO_TRACE_SECRETS:
			c->trace_secrets = true;
			break;
		case LO_EMU_PAIRING:
			if (!strcmp(optarg, "accept"))
				c->emu_pairing = MIBAND_PAIRING_ACCEPT;
			else if (!strcmp(optarg, "decline"))
				c->emu_pairing = MIBAND_PAIRING_DECLINE;
			else if (!strcmp(optarg, "never"))
				c->emu_pairing = MIBAND_PAIRING_NEVER;
			else
				return mb_usage_error("--emu-pairing takes "
						      "accept, decline or "
						      "never");
			break;
		case 'f':
			c->follow = true;
			c->given |= OPT_FOLLOW;
			break;
		case LO_SYNC:
			c->sync = true;
			c->given |= OPT_SYNC;
			break;
		case LO_SET:
			c->set_time = optarg;
			c->given |= OPT_SET;
			break;
		case LO_ALIAS:
			c->alias = optarg;
			c->given |= OPT_ALIAS;
			break;
		case LO_FORCE:
			c->force = true;
			c->given |= OPT_FORCE;
			break;
		case 'h':
			help = true;
			break;
		case 'V':
			printf("%s %s (libmiband %s)\n", MB_PROG, MIBAND_VERSION,
			       miband_version());
			return 0;
		case ':':
			return mb_usage_error("option %s needs a value",
					      argv[optind - 1]);
		default:
			if (mb_history_is_option(o)) {
				mb_history_option(&c->hist, o, optarg);
				c->given |= OPT_HISTORY;
				break;
			}
			return mb_usage_error("unknown option '%s'",
					      argv[optind - 1]);
		}
	}
	mb_output_init(c->json, c->verbose);
	if (optind >= argc) {
		if (help) {
			usage(NULL, stdout);
			return 0;
		}
		usage(NULL, stderr);
		return mb_usage_error("no command given");
	}
	cmd = find_command(argv[optind]);
	if (!cmd)
		return mb_usage_error("unknown command '%s'", argv[optind]);
	if (help) {
		usage(cmd, stdout);
		return 0;
	}
	bad = c->given & ~cmd->opts;
	if (bad)
		return mb_usage_error("%s does not take %s", cmd->name,
				      opt_name(bad & -bad));
	if (cmd->device || cmd->fn == cmd_scan) {
		if (cmd->fn != cmd_scan && cmd->fn != cmd_config) {
			r = resolve_device(c);
			if (r < 0)
				return mb_report_error(r, NULL);
		}
	}
	r = cmd->fn(c, cmd, argc - optind - 1, argv + optind + 1);
	if (r == MIBAND_E_CANCELLED && interrupted)
		return 0; /* Ctrl-C before the stream began: a clean end */
	if (r < 0)
		return mb_report_error(r, NULL);
	return r;
}

int main(int argc, char **argv)
{
	static struct ctx c;
	int code;

	signal(SIGPIPE, SIG_DFL);
	mb_output_init(false, false);
	code = run(&c, argc, argv);
	ctx_cleanup(&c);
	if (fflush(stdout) != 0 && code == 0)
		code = mb_report_error(MIBAND_E_IO, "writing the output");
	return code;
}
