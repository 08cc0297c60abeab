/*
 * The commands that read the band or stream from it: auth, pair, info,
 * battery, steps, hr, events.  Each is a request or two on an
 * authenticated session (session.c); what they print is event.c's.
 */
#include <stdio.h>
#include <string.h>

#include "common/signals.h"
#include "mibandctl/mibandctl.h"

/* ---- --follow ---- */

const struct option mb_follow_opts[] = {
	{"follow", no_argument, NULL, 'f'},
	{NULL, 0, NULL, 0},
};

int mb_follow_opt(struct ctx *c, int code, const char *arg)
{
	(void)code;
	(void)arg;
	c->follow = true;
	return 0;
}

/* ---- auth and pair ---- */

static int auth_check(struct ctx *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (c->has_cli_key)
		mb_key_id(&c->id, c->cli_key);
	else if (c->entry_err == 0)
		mb_key_id(&c->id, c->entry.key);
	return 0;
}

static int auth_run(struct ctx *c, int argc, char **argv)
{
	struct miband_request req;
	struct miband_event ev;
	struct mb_json j;
	bool have_fw = false;
	int r;

	(void)argc;
	(void)argv;
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_DEVINFO;
	req.u.devinfo = MIBAND_DEVINFO_SW_REV;
	r = mb_request(c, &req, &ev);
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
		mb_json_str(&j, "model",
			    miband_model_name(mb_device_model(c->dev)));
		mb_json_str(&j, "model_name",
			    miband_model_display_name(mb_device_model(c->dev)));
		if (have_fw)
			mb_json_strn(&j, "firmware", ev.u.devinfo.value,
				     ev.u.devinfo.len);
		mb_json_key_id(&j, &c->id);
		mb_json_end(&j);
	} else {
		mb_say("authenticated with %s (key %s)", c->spec, c->id.desc);
		mb_say("model: %s",
		       miband_model_display_name(mb_device_model(c->dev)));
		mb_say("firmware: %s", have_fw ? c->value : "unknown");
	}
	return 0;
}

const struct command mb_cmd_auth = {
	.name = "auth",
	.args = "[--device D] [--key HEX]",
	.doc = "Authenticate with the stored key (or --key); report model and "
	       "firmware.",
	.flags = CMD_DEVICE | CMD_AUTH,
	.check = auth_check,
	.run = auth_run,
};

static const struct option pair_opts[] = {
	{"new-key", no_argument, NULL, 'n'},
	{"alias", required_argument, NULL, 'a'},
	{NULL, 0, NULL, 0},
};

static int pair_opt(struct ctx *c, int code, const char *arg)
{
	if (code == 'n')
		c->new_key = true;
	else
		c->alias = arg;
	return 0;
}

static int pair_run(struct ctx *c, int argc, char **argv)
{
	struct mb_keys_txn txn = {0};
	char name[MB_KEY_NAME_MAX];
	enum miband_model model;
	struct mb_key_entry e;
	struct mb_json j;
	uint8_t key[16];
	struct key_id id;
	int r;

	(void)argc;
	(void)argv;
	if (c->has_cli_key && c->new_key)
		return mb_usage_error("pass either --key or --new-key");
	if (c->alias && !mb_key_alias_check(c->alias))
		return MIBAND_E_INVAL;
	/* docs/PROTOCOL.md 2.2: the vendor's app never sets these models'
	 * key, it gets it from the vendor's server */
	if (c->use_model == MIBAND_MODEL_MB4 ||
	    c->use_model == MIBAND_MODEL_MB5 ||
	    c->use_model == MIBAND_MODEL_MB6)
		mb_note("%s: warning: a %s normally holds the key the vendor's "
			"app got from the vendor's server; pairing sets a new "
			"key, and the vendor's app then no longer connects to "
			"the band (until it pairs again, which replaces this "
			"key)",
			MB_PROG, miband_model_display_name(c->use_model));
	if (c->has_cli_key) {
		memcpy(key, c->cli_key, 16);
	} else {
		r = miband_crypto_openssl.random(NULL, key, sizeof(key));
		if (r < 0)
			return r;
	}
	mb_key_id(&id, key);
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
		r = mb_start_session(c, MIBAND_AUTH_PAIR, key);
	miband_wipe(key, sizeof(key));
	if (r < 0) {
		mb_keys_abort(&txn);
		return r;
	}
	model = mb_device_model(c->dev);
	r = mb_keys_commit(&txn, &model);
	if (r < 0) {
		mb_error_hint(
			"the band now holds the new key (%s) but it could "
			"not be stored: fix the key store and pair again",
			id.desc);
		return r;
	}
	if (c->json) {
		mb_json_begin(&j, "paired");
		mb_json_str(&j, "device", c->spec);
		mb_json_str(&j, "name", name);
		mb_json_str(&j, "model",
			    miband_model_name(mb_device_model(c->dev)));
		mb_json_key_id(&j, &id);
		mb_json_end(&j);
	} else {
		mb_say("paired with %s; key %s stored", c->spec, id.desc);
	}
	return 0;
}

const struct command mb_cmd_pair = {
	.name = "pair",
	.args = "--device D [--key HEX | --new-key] [--alias NAME]",
	.doc = "Set a new key on the band (the wearer taps the band to "
	       "confirm), authenticate, and store the key.",
	.opts_help = "      --new-key         a fresh random key (the "
		     "default)\n"
		     "      --alias NAME      store the key under NAME, usable "
		     "as --device NAME\n",
	.opts = pair_opts,
	.opt = pair_opt,
	.flags = CMD_DEVICE,
	.run = pair_run,
};

/* ---- info ---- */

static const char *const devinfo_names[MIBAND_DEVINFO_COUNT] = {
	[MIBAND_DEVINFO_SERIAL] = "serial",
	[MIBAND_DEVINFO_HW_REV] = "hardware",
	[MIBAND_DEVINFO_SW_REV] = "firmware",
	[MIBAND_DEVINFO_SYSTEM_ID] = "system_id",
	[MIBAND_DEVINFO_PNP_ID] = "pnp_id",
	[MIBAND_DEVINFO_NAME] = "name",
};

/* A company's name for the vendor ids of the bands. */
static const char *company_name(unsigned id)
{
	switch (id) {
	case 0x0157:
		return "Huami, ";
	case 0x038f:
		return "Xiaomi, ";
	default:
		return "";
	}
}

/* PnP ID 2A50: <source> <vendor> <product> <version>, little endian; the
 * source says whose list the vendor id is from (1 Bluetooth SIG company
 * ids, 2 USB-IF vendor ids). */
static void pnp_text(const uint8_t *p, char *buf, size_t cap)
{
	unsigned vendor = p[1] | p[2] << 8;

	snprintf(buf, cap,
		 "vendor 0x%04x (%s%s), product 0x%04x, version 0x%04x",
		 vendor, p[0] == 1 ? company_name(vendor) : "",
		 p[0] == 1 ? "Bluetooth SIG company id" :
		 p[0] == 2 ? "USB vendor id" :
			     "unknown id source",
		 (unsigned)(p[3] | p[4] << 8), (unsigned)(p[5] | p[6] << 8));
}

static int info_run(struct ctx *c, int argc, char **argv)
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
	bool have[MIBAND_DEVINFO_COUNT] = {false};
	size_t i, k;
	int r;

	(void)argc;
	(void)argv;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum miband_devinfo f = order[i];

		memset(&req, 0, sizeof(req));
		req.type = MIBAND_REQ_DEVINFO;
		req.u.devinfo = f;
		r = mb_request(c, &req, &ev);
		if (r == MIBAND_E_DISCONNECTED || r == MIBAND_E_TIMEOUT ||
		    r == MIBAND_E_NO_BLUEZ || r == MIBAND_E_CANCELLED)
			return r;
		if (r < 0 || ev.type != MIBAND_EV_DEVINFO) {
			mb_verbose("%s: not available (%s)", devinfo_names[f],
				   miband_err_name(r));
			continue;
		}
		rawlen[f] = ev.u.devinfo.len < MIBAND_VALUE_MAX
				    ? ev.u.devinfo.len
				    : MIBAND_VALUE_MAX;
		memcpy(raw[f], ev.u.devinfo.value, rawlen[f]);
		have[f] = true;
		if (f == MIBAND_DEVINFO_SYSTEM_ID) {
			for (k = 0; k < rawlen[f]; k++)
				snprintf(text[f] + 2 * k, 3, "%02x", raw[f][k]);
			text[f][2 * rawlen[f]] = 0;
		} else if (f == MIBAND_DEVINFO_PNP_ID && rawlen[f] == 7) {
			pnp_text(raw[f], text[f], sizeof(text[f]));
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
	    mb_name_model(text[MIBAND_DEVINFO_NAME], &guess) && guess != model)
		mb_note("%s: note: the band calls itself \"%s\": pass --model "
			"%s if it is one",
			MB_PROG, text[MIBAND_DEVINFO_NAME],
			miband_model_name(guess));
	return 0;
}

const struct command mb_cmd_info = {
	.name = "info",
	.args = "",
	.doc = "Device information: name, firmware, hardware, serial, system "
	       "and PnP id, model.",
	.flags = CMD_DEVICE | CMD_AUTH,
	.run = info_run,
};

/* ---- battery, steps, heart rate, events ---- */

static int battery_run(struct ctx *c, int argc, char **argv)
{
	struct miband_event ev;
	int r;

	(void)argc;
	(void)argv;
	r = mb_simple_request(c, MIBAND_REQ_BATTERY, &ev);
	if (r < 0)
		return r;
	mb_print_event(c, &ev, false);
	return 0;
}

const struct command mb_cmd_battery = {
	.name = "battery",
	.args = "",
	.doc = "Battery level, charging state, last charge.",
	.flags = CMD_DEVICE | CMD_AUTH,
	.run = battery_run,
};

static int steps_run(struct ctx *c, int argc, char **argv)
{
	struct miband_event ev;
	int r;

	(void)argc;
	(void)argv;
	r = mb_simple_request(c, MIBAND_REQ_STEPS, &ev);
	if (r < 0)
		return r;
	mb_print_event(c, &ev, c->follow);
	if (!c->follow)
		return 0;
	r = mb_simple_request(c, MIBAND_REQ_STEPS_FOLLOW, &ev);
	if (r < 0)
		return r;
	return mb_follow(c, MIBAND_EV_STEPS);
}

const struct command mb_cmd_steps = {
	.name = "steps",
	.args = "[--follow]",
	.doc = "Steps, distance and calories today; --follow streams updates.",
	MB_FOLLOW_OPTION,
	.flags = CMD_DEVICE | CMD_AUTH,
	.run = steps_run,
};

static int hr_run(struct ctx *c, int argc, char **argv)
{
	struct miband_event ev;
	int r, r2;

	(void)argc;
	(void)argv;
	if (!c->follow) {
		mb_verbose("measuring: keep the band on your wrist");
		r = mb_simple_request(c, MIBAND_REQ_HR_ONESHOT, &ev);
		if (r < 0)
			return r;
		mb_print_event(c, &ev, false);
		return 0;
	}
	r = mb_simple_request(c, MIBAND_REQ_HR_START, &ev);
	if (r < 0)
		return r;
	r = mb_follow(c, MIBAND_EV_HR);
	if (r == MIBAND_E_DISCONNECTED || r == MIBAND_E_NO_BLUEZ)
		return r;
	/* Stop the measurement even after an error: the band would run
	 * its sensor until its own timeout otherwise. */
	mb_signals_clear();
	r2 = mb_simple_request(c, MIBAND_REQ_HR_STOP, &ev);
	if (r2 == 0)
		mb_verbose("continuous heart rate stopped");
	return r < 0 ? r : r2;
}

const struct command mb_cmd_hr = {
	.name = "hr",
	.args = "[--follow]",
	.doc = "Measure the heart rate once; --follow measures continuously "
	       "(kept alive) until Ctrl-C.",
	MB_FOLLOW_OPTION,
	.flags = CMD_DEVICE | CMD_AUTH,
	.run = hr_run,
};

static int events_check(struct ctx *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (!c->follow)
		return mb_usage_error("events streams the band's events: pass "
				      "--follow (stop with Ctrl-C)");
	return 0;
}

static int events_run(struct ctx *c, int argc, char **argv)
{
	struct miband_event ev;
	int r;

	(void)argc;
	(void)argv;
	r = mb_simple_request(c, MIBAND_REQ_EVENTS_FOLLOW, &ev);
	if (r < 0)
		return r;
	return mb_follow(c, MIBAND_EV_DEVICE_EVENT);
}

const struct command mb_cmd_events = {
	.name = "events",
	.args = "--follow",
	.doc = "Stream the band's events (button, find phone, music, ...) "
	       "until Ctrl-C.",
	MB_FOLLOW_OPTION,
	.flags = CMD_DEVICE | CMD_AUTH,
	.check = events_check,
	.run = events_run,
};
