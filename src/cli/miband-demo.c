/*
 * miband-demo: pairs with, authenticates to and talks to an emulated
 * Mi Band 3 in this process (client engine <-> band engine over the
 * in-process link, virtual clock).  Shows each protocol step.
 *
 *   miband-demo [--model mb2|mb3|mb4] [--decline] [--wrong-key] [--quiet]
 *
 * Exit status: 0 success, 1 the demo's band interaction failed, 2 usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "miband/miband.h"

static bool quiet;

static void hex(char *out, size_t cap, const uint8_t *d, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 4 < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%02x", i ? " " : "",
				      d[i]);
	out[o] = 0;
}

static const char *kind_name(enum miband_link_dir dir, int kind)
{
	bool up = dir == MIBAND_LINK_TO_BAND;

	switch (kind) {
	case MIBAND_ACTION_WRITE:
		return up ? "write" : "write-ok";
	case MIBAND_ACTION_SUBSCRIBE:
		return up ? "subscribe" : "subscribed";
	case MIBAND_ACTION_READ:
		return up ? "read" : "value";
	case MIBAND_ACTION_DISCONNECT:
		return "disconnect";
	default:
		return "notify";
	}
}

/* Prints every packet the link delivers, key material redacted. */
static void trace(enum miband_link_dir dir, int kind, enum miband_channel ch,
		  const uint8_t *data, size_t len, bool secret, uint64_t now,
		  void *user_data)
{
	const struct miband_channel_info *ci = miband_channel_info(ch);
	char buf[128];
	size_t shown;

	(void)user_data;
	if (quiet)
		return;
	shown = miband_redact_from(ch, dir == MIBAND_LINK_TO_BAND, data, len,
				   secret);
	hex(buf, sizeof(buf), data, shown);
	printf("  %6" PRIu64 " ms  %s %-8s %-10s %s", now,
	       dir == MIBAND_LINK_TO_BAND ? "phone>band" : "band>phone",
	       kind == MIBAND_ACTION_DISCONNECT ? "-" : ci ? ci->name : "?",
	       kind_name(dir, kind), buf);
	if (shown < len)
		printf(" <%zu bytes redacted>", len - shown);
	putchar('\n');
}

static void print_time(const char *label, const struct miband_time *t)
{
	int tzm = t->tz * 15;

	printf("%s%04u-%02u-%02u %02u:%02u:%02u %c%02d:%02d\n", label, t->year,
	       t->month, t->day, t->hour, t->minute, t->second,
	       tzm < 0 ? '-' : '+', abs(tzm) / 60, abs(tzm) % 60);
}

/* Runs until the request's final event; prints progress on the way. */
static int wait_final(struct miband_link *l, struct miband_event *ret)
{
	struct miband_link_output out;
	int r;

	for (;;) {
		r = miband_link_run(l, UINT64_MAX, &out);
		if (r < 0)
			return r;
		if (r == 0)
			return MIBAND_E_TIMEOUT;
		if (out.from_band) {
			if (out.band.type == MIBAND_BAND_EV_PAIR_PROMPT)
				printf("band: vibrates and shows \"tap to "
				       "pair\"\n");
			else if (out.band.type == MIBAND_BAND_EV_PAIRED)
				printf("band: the wearer tapped; key "
				       "stored\n");
			continue;
		}
		if (out.client.type == MIBAND_EV_AUTH_PROGRESS) {
			printf("auth: %s\n",
			       miband_auth_step_name(out.client.u.auth_step));
			continue;
		}
		*ret = out.client;
		return 0;
	}
}

static int step(struct miband_link *l, struct miband_session *s,
		const struct miband_request *req, struct miband_event *ev)
{
	int r = miband_session_request(s, req, miband_link_now(l));

	if (r < 0)
		return r;
	r = wait_final(l, ev);
	if (r < 0)
		return r;
	if (ev->type == MIBAND_EV_ERROR)
		return ev->error;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: miband-demo [--model mb2|mb3|mb4] [--decline] "
		"[--wrong-key] [--quiet]\n"
		"Pairs with, authenticates to and reads an emulated band in "
		"this process.\n"
		"  --model M     emulated model (default mb3)\n"
		"  --decline     the wearer declines the pairing prompt\n"
		"  --wrong-key   authenticate with a key the band does not "
		"hold\n"
		"  --quiet       do not print the GATT traffic\n"
		"exit status: 0 ok, 1 the band interaction failed, 2 usage\n");
}

int main(int argc, char **argv)
{
	static const uint8_t key[16] = { 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
					 0x36, 0x37, 0x38, 0x39, 0x40, 0x41,
					 0x42, 0x43, 0x44, 0x45 };
	uint8_t other[16];
	enum miband_model model = MIBAND_MODEL_MB3;
	bool decline = false, wrong = false;
	struct miband_session_config sc;
	struct miband_band_config bc;
	struct miband_link_config lc;
	struct miband_session s;
	struct miband_band b;
	struct miband_link l;
	struct miband_request req;
	struct miband_event ev;
	int i, r;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--model") && i + 1 < argc) {
			/* the emulated band serves mb2 to mb4 (src/emu) */
			if (miband_model_parse(argv[++i], &model) < 0 ||
			    model > MIBAND_MODEL_MB4) {
				fprintf(stderr,
					"miband-demo: unknown model '%s': "
					"use mb2, mb3 or mb4\n",
					argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--decline")) {
			decline = true;
		} else if (!strcmp(argv[i], "--wrong-key")) {
			wrong = true;
		} else if (!strcmp(argv[i], "--quiet")) {
			quiet = true;
		} else if (!strcmp(argv[i], "--help") ||
			   !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}

	miband_band_config_init(&bc, model);
	bc.crypto = &miband_crypto_openssl;
	bc.pairing = decline ? MIBAND_PAIRING_DECLINE : MIBAND_PAIRING_ACCEPT;
	bc.start_unix = 1764000000; /* 2025-11-24 16:00 UTC */
	bc.tz = 4;
	miband_band_init(&b, &bc, NULL, 0);

	miband_session_config_init(&sc, model);
	sc.crypto = &miband_crypto_openssl;
	miband_session_init(&s, &sc, key);

	miband_link_config_init(&lc);
	lc.trace = trace;
	miband_link_init(&l, &lc, &s, &b, 0);

	printf("demo: emulated %s, unpaired; pairing with a new key\n",
	       miband_model_display_name(model));
	miband_session_start_auth(&s, MIBAND_AUTH_PAIR, miband_link_now(&l));
	r = wait_final(&l, &ev);
	if (r == 0 && ev.type == MIBAND_EV_ERROR)
		r = ev.error;
	if (r < 0) {
		fprintf(stderr, "demo: pairing failed: %s (%s)\n",
			miband_strerror(r), miband_err_name(r));
		return 1;
	}
	printf("demo: paired and authenticated\n");

	/* A reconnect authenticates with the stored key: no prompt. */
	miband_link_disconnect(&l);
	{
		struct miband_link_output drop;

		while (miband_link_run(&l, miband_link_now(&l) + 100, &drop) > 0)
			;
	}
	miband_session_init(&s, &sc, key);
	if (wrong) {
		memcpy(other, key, sizeof(other));
		other[0] ^= 0xff;
		miband_session_set_key(&s, other);
	}
	miband_link_reconnect(&l);
	printf("demo: reconnected; authenticating with the stored key\n");
	miband_session_start_auth(&s, MIBAND_AUTH_STORED, miband_link_now(&l));
	r = wait_final(&l, &ev);
	if (r == 0 && ev.type == MIBAND_EV_ERROR)
		r = ev.error;
	if (r < 0) {
		fprintf(stderr, "demo: auth failed: %s (%s)\n",
			miband_strerror(r), miband_err_name(r));
		return 1;
	}
	printf("demo: authenticated without a prompt\n");

	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_BATTERY;
	if ((r = step(&l, &s, &req, &ev)) < 0)
		goto fail;
	printf("battery: %u%%%s\n", ev.u.battery.level,
	       ev.u.battery.charging ? " (charging)" : "");
	print_time("  last charge: ", &ev.u.battery.last_charge);

	req.type = MIBAND_REQ_STEPS;
	if ((r = step(&l, &s, &req, &ev)) < 0)
		goto fail;
	printf("steps: %" PRIu32 " (%" PRIu32 " m, %" PRIu32 " kcal)\n",
	       ev.u.steps.steps, ev.u.steps.meters, ev.u.steps.kcal);

	req.type = MIBAND_REQ_TIME_GET;
	if ((r = step(&l, &s, &req, &ev)) < 0)
		goto fail;
	print_time("time: ", &ev.u.time);

	req.type = MIBAND_REQ_DEVINFO;
	req.u.devinfo = MIBAND_DEVINFO_SW_REV;
	if ((r = step(&l, &s, &req, &ev)) < 0)
		goto fail;
	printf("firmware: %.*s\n", (int)ev.u.devinfo.len,
	       (const char *)ev.u.devinfo.value);

	miband_session_wipe(&s);
	miband_band_wipe(&b);
	printf("demo: done (%" PRIu64 " ms of virtual time)\n",
	       miband_link_now(&l));
	return 0;
fail:
	fprintf(stderr, "demo: %s failed: %s (%s)\n",
		miband_request_name(req.type), miband_strerror(r),
		miband_err_name(r));
	return 1;
}
