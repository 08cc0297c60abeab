/*
 * The session plumbing of every band command.
 *
 * A command that talks to a band first resolves --device (an address,
 * `emu`, an alias, or by default the only band in the key store), opens
 * the device through common/device.h, and authenticates with the stored
 * key (MIBAND_AUTH_STORED: never a prompt on the band) unless it pairs.
 * Then each command is one or a few requests on the session: start the
 * request, pump the device until the request's final event, print it.
 *
 * Once the band is open, SIGINT, SIGTERM and SIGHUP only set a flag
 * (common/signals.h); the transports return from their waits on the
 * signal and the command ends cleanly (continuous heart rate stopped,
 * link closed): a --follow stream with status 0, as it does when the
 * reader of its output goes away, anything else with 130.  --follow
 * streams pace the emulated band to real time.
 *
 * Keys: the session holds its own copy; every other copy (parsed --key,
 * key store entries, generated keys) is wiped in mb_ctx_cleanup(), which
 * every path out of main() goes through.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/signals.h"
#include "mibandctl/mibandctl.h"

void mb_ctx_cleanup(struct ctx *c)
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

/*
 * Which band: --device, or the only band of the key store.  Fills spec
 * (address or "emu"), the key store entry (entry_err says how loading it
 * went) and the model.
 */
int mb_resolve_device(struct ctx *c)
{
	const char *d = c->device;
	char addr[MB_ADDRESS_LEN], names[256];
	int n;

	if (!d) {
		n = mb_keys_default(c->entry_name, names, sizeof(names));
		if (n < 0)
			return n;
		if (n == 0) {
			mb_error_detail(
				"no --device given and no band in the "
				"key store: pass --device ADDRESS (see "
				"`mibandctl scan`), or --device emu for "
				"the emulated band");
			return MIBAND_E_INVAL;
		}
		if (n > 1) {
			mb_error_detail(
				"no --device given and %d bands in the "
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
	c->use_model = c->has_model ? c->model
		       : c->entry_err == 0 && c->entry.has_model
			       ? c->entry.model
			       : MIBAND_MODEL_MB3;
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
	o.connect_timeout_ms =
		c->has_timeout ? c->timeout_ms : DEFAULT_CONNECT_MS;
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
			if (mb_signalled()) {
				mb_error_detail("interrupted by %s before the "
						"band answered: the link was "
						"closed cleanly",
						mb_signal_name(mb_signalled()));
				return MIBAND_E_CANCELLED;
			}
			if (mb_device_now(c->dev) < limit)
				continue;
			return MIBAND_E_TIMEOUT;
		}
		if (ev.type == MIBAND_EV_AUTH_PROGRESS) {
			auth_progress(c, &ev);
			continue;
		}
		if (ev.request == MIBAND_REQ_NONE &&
		    ev.type != MIBAND_EV_ERROR) {
			mb_print_event(c, &ev, true);
			continue;
		}
		*ret = ev;
		return ev.type == MIBAND_EV_ERROR ? ev.error : 0;
	}
}

/* One request to its final event. */
int mb_request(struct ctx *c, const struct miband_request *req,
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
			mb_print_event(c, &ev, true);
	}
	if (r < 0)
		return r;
	return await_final(c, ret);
}

int mb_simple_request(struct ctx *c, enum miband_request_type type,
		      struct miband_event *ret)
{
	struct miband_request req;

	memset(&req, 0, sizeof(req));
	req.type = type;
	return mb_request(c, &req, ret);
}

/*
 * Opens the band and authenticates: STORED with the stored (or --key)
 * key, or PAIR with key.  The key is copied into the session and the
 * caller's copy stays the caller's to wipe.
 */
int mb_start_session(struct ctx *c, enum miband_auth_mode mode,
		     const uint8_t *key)
{
	struct miband_session_config cfg;
	struct miband_event ev;
	int r;

	r = open_device(c);
	if (r < 0)
		return r;
	/* From here on SIGINT, SIGTERM and SIGHUP end a command with a
	 * clean stop; before, while connecting, they keep their default. */
	mb_signals_catch();
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
int mb_auth_stored(struct ctx *c)
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
	r = mb_start_session(c, MIBAND_AUTH_STORED, key);
	mb_key_entry_wipe(&c->entry); /* the session has its copy */
	miband_wipe(c->cli_key, sizeof(c->cli_key));
	if (r == MIBAND_E_WRONG_KEY || r == MIBAND_E_AUTH_REJECTED)
		mb_error_hint("if the band was paired with another phone or "
			      "reset, run `mibandctl pair --device %s`",
			      c->device ? c->device : c->spec);
	return r;
}

void mb_key_id(struct key_id *id, const uint8_t key[16])
{
	mb_key_prefix(key, id->prefix, sizeof(id->prefix));
	mb_key_fingerprint(key, id->fp, sizeof(id->fp));
	mb_key_describe(key, id->desc, sizeof(id->desc));
}

void mb_json_key_id(struct mb_json *j, const struct key_id *id)
{
	mb_json_str(j, "key_prefix", id->prefix);
	mb_json_str(j, "fingerprint", id->fp);
}

/*
 * Streams events until SIGINT, SIGTERM or SIGHUP, or until the reader of
 * stdout goes away.  keep: event types to print.
 */
int mb_follow(struct ctx *c, enum miband_event_type keep)
{
	struct miband_event ev;
	unsigned long printed = 0;
	int r;

	while (!mb_signalled() && !mb_output_closed()) {
		r = mb_device_run(c->dev, &c->s,
				  mb_device_now(c->dev) + FOLLOW_SLICE_MS, &ev);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		if (ev.type == MIBAND_EV_ERROR)
			return ev.error;
		if (ev.type == keep) {
			mb_print_event(c, &ev, true);
			printed++;
		} else {
			mb_verbose("event %s", miband_event_name(ev.type));
		}
	}
	mb_verbose("%s after %lu lines: stopping",
		   mb_output_closed() ? "output closed"
				      : mb_signal_name(mb_signalled()),
		   printed);
	return 0;
}

bool mb_name_model(const char *name, enum miband_model *ret)
{
	static const struct {
		const char *sub;
		enum miband_model m;
	} t[] = {{"band 2", MIBAND_MODEL_MB2},
		 {"band 3", MIBAND_MODEL_MB3},
		 {"band 4", MIBAND_MODEL_MB4},
		 {"band 5", MIBAND_MODEL_MB5},
		 {"band 6", MIBAND_MODEL_MB6}};
	char low[64];
	size_t i;

	for (i = 0; name[i] && i + 1 < sizeof(low); i++)
		low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z'
					? name[i] - 'A' + 'a'
					: name[i]);
	low[i] = 0;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strstr(low, t[i].sub)) {
			*ret = t[i].m;
			return true;
		}
	return false;
}
