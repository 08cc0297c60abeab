/*
 * bench-auth: what it costs to get to "authenticated", and to decode
 * history, measured on the in-process link (client engine <-> band engine,
 * virtual clock).
 *
 *   bench-auth                      table: ATT operations and round trips
 *                                   from connected to authenticated, per
 *                                   model, first pairing and reconnect
 *   bench-auth --handshakes N       N reconnect handshakes, silent (run
 *                                   under callgrind by bench/instr.sh)
 *   bench-auth --decode N           decode N history samples (N/4 packets)
 *                                   with the codec, silent
 *   bench-auth --fetch N            fetch N minutes of history over the
 *                                   link (client + band), silent
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "miband/miband.h"

struct counts {
	unsigned subscribe, write_req, write_cmd, read, notify, to_band;
	uint64_t first, last;
};

static void count(enum miband_link_dir dir, int kind, enum miband_channel ch,
		  const uint8_t *data, size_t len, bool secret, uint64_t now,
		  void *ud)
{
	struct counts *c = ud;

	(void)ch;
	(void)secret;
	(void)data;
	(void)len;
	(void)now;
	if (dir != MIBAND_LINK_TO_BAND) {
		if (kind == MIBAND_ACTION_EVENT)
			c->notify++;
		return;
	}
	c->to_band++;
	switch (kind) {
	case MIBAND_ACTION_SUBSCRIBE:
		c->subscribe++;
		break;
	case MIBAND_ACTION_READ:
		c->read++;
		break;
	case MIBAND_ACTION_WRITE:
		/* the link cannot tell; auth writes are commands */
		c->write_cmd++;
		break;
	default:
		break;
	}
}

static const uint8_t key[16] = { 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36,
				 0x37, 0x38, 0x39, 0x40, 0x41, 0x42, 0x43,
				 0x44, 0x45 };

struct rig {
	struct miband_session_config sc;
	struct miband_band_config bc;
	struct miband_link_config lc;
	struct miband_session s;
	struct miband_band b;
	struct miband_link l;
	struct counts c;
};

static void rig_init(struct rig *r, enum miband_model model, bool paired)
{
	memset(r, 0, sizeof(*r));
	miband_band_config_init(&r->bc, model);
	r->bc.crypto = &miband_crypto_openssl;
	r->bc.start_unix = 1764000000;
	r->bc.tap_delay_ms = 0;
	miband_band_init(&r->b, &r->bc, paired ? key : NULL, 0);
	miband_session_config_init(&r->sc, model);
	r->sc.crypto = &miband_crypto_openssl;
	miband_session_init(&r->s, &r->sc, key);
	miband_link_config_init(&r->lc);
	r->lc.trace = count;
	r->lc.user_data = &r->c;
	miband_link_init(&r->l, &r->lc, &r->s, &r->b, 0);
}

/* Runs until the request's final event; returns its error or 0. */
static int finish(struct miband_link *l, struct miband_event *ret)
{
	struct miband_link_output o;
	int n;

	for (;;) {
		n = miband_link_run(l, UINT64_MAX, &o);
		if (n <= 0)
			return n < 0 ? n : MIBAND_E_TIMEOUT;
		if (o.from_band || o.client.type == MIBAND_EV_AUTH_PROGRESS ||
		    o.client.type == MIBAND_EV_SAMPLES ||
		    o.client.type == MIBAND_EV_FETCH_START)
			continue;
		if (o.client.type == MIBAND_EV_FETCH_BATCH) {
			miband_session_fetch_stored(l->session,
						    miband_link_now(l));
			continue;
		}
		*ret = o.client;
		return o.client.type == MIBAND_EV_ERROR ? o.client.error : 0;
	}
}

static int auth(struct rig *r, enum miband_auth_mode mode)
{
	struct miband_event ev;

	if (miband_session_start_auth(&r->s, mode, miband_link_now(&r->l)))
		return MIBAND_E_INTERNAL;
	return finish(&r->l, &ev);
}

static void table(void)
{
	static const enum miband_model models[] = { MIBAND_MODEL_MB2,
						    MIBAND_MODEL_MB3,
						    MIBAND_MODEL_MB4 };
	size_t i;
	int pass;

	printf("| model | handshake | CCCD writes | writes | reads | "
	       "notifications | operations sent | virtual time, 15 ms one-way |\n");
	printf("|---|---|---|---|---|---|---|---|\n");
	for (i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		for (pass = 0; pass < 2; pass++) {
			struct rig *r = calloc(1, sizeof(*r));
			uint64_t t0;
			int err;

			rig_init(r, models[i], pass == 1);
			t0 = miband_link_now(&r->l);
			err = auth(r, pass ? MIBAND_AUTH_STORED
					   : MIBAND_AUTH_PAIR);
			if (err) {
				fprintf(stderr, "auth failed: %s\n",
					miband_err_name(err));
				exit(1);
			}
			/* every operation is one exchange on this link:
			 * to the band and back */
			printf("| %s | %s | %u | %u | %u | %u | %u | %" PRIu64
			       " ms%s |\n",
			       miband_model_display_name(models[i]),
			       pass ? "reconnect, stored key" : "first pairing",
			       r->c.subscribe, r->c.write_cmd, r->c.read,
			       r->c.notify, r->c.to_band,
			       miband_link_now(&r->l) - t0,
			       pass ? "" : " (tap at once)");
			free(r);
		}
	}
}

static int handshakes(long n)
{
	struct rig *r = calloc(1, sizeof(*r));
	long i;

	rig_init(r, MIBAND_MODEL_MB3, true);
	r->lc.trace = NULL;
	for (i = 0; i < n; i++) {
		miband_link_init(&r->l, &r->lc, &r->s, &r->b,
				 miband_link_now(&r->l));
		miband_session_init(&r->s, &r->sc, key);
		miband_band_on_disconnect(&r->b, miband_link_now(&r->l));
		miband_band_on_connect(&r->b, miband_link_now(&r->l));
		if (auth(r, MIBAND_AUTH_STORED))
			return 1;
	}
	free(r);
	return 0;
}

static int decode(long n)
{
	/* 1000 samples in 250 packets, built once (cancels out against the
	 * N = 0 run), then decoded n / 1000 times */
	static uint8_t pkts[250][1 + 4 * MIBAND_SAMPLE_LEN];
	struct miband_sample smp;
	unsigned long sum = 0;
	long i, j, round;

	for (i = 0; i < 250; i++) {
		pkts[i][0] = (uint8_t)i;
		for (j = 0; j < 4; j++) {
			miband_history_sample(1, (uint32_t)(29400000 + 4 * i + j),
					      &smp);
			pkts[i][1 + 4 * j] = smp.kind;
			pkts[i][2 + 4 * j] = smp.intensity;
			pkts[i][3 + 4 * j] = smp.steps;
			pkts[i][4 + 4 * j] = smp.heart_rate;
		}
	}
	for (round = 0; round < n / 1000; round++) {
		for (i = 0; i < 250; i++) {
			const uint8_t *samples;
			uint8_t ctr;
			int ns = miband_decode_fetch_packet(
				pkts[i], sizeof(pkts[i]), &ctr, &samples);

			for (j = 0; j < ns; j++) {
				miband_sample_decode(samples + 4 * j, &smp);
				sum += smp.steps;
			}
		}
	}
	return sum == (unsigned long)-1;
}

static int fetch(long n)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct miband_request req;
	struct miband_event ev;
	int err;

	rig_init(r, MIBAND_MODEL_MB3, true);
	r->lc.trace = NULL;
	miband_link_init(&r->l, &r->lc, &r->s, &r->b, 0);
	if (auth(r, MIBAND_AUTH_STORED))
		return 1;
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_FETCH;
	miband_time_from_unix(r->bc.start_unix - n * 60, 0, &req.u.time);
	if (miband_session_request(&r->s, &req, miband_link_now(&r->l)))
		return 1;
	err = finish(&r->l, &ev);
	free(r);
	return err != 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--handshakes"))
		return handshakes(atol(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "--decode"))
		return decode(atol(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "--fetch"))
		return fetch(atol(argv[2]));
	if (argc != 1) {
		fprintf(stderr, "usage: bench-auth [--handshakes N | --decode "
				"N | --fetch N]\n");
		return 2;
	}
	table();
	return 0;
}
