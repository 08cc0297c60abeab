/*
 * Built by tests/core-features.test.sh with the client engine's optional
 * features off (MIBAND_FEATURE_FETCH/TEXT/EVENTS = 0): requests of those
 * features are refused with MIBAND_E_UNSUPPORTED and queue nothing, and
 * what is left (auth, battery, time) still works against the band engine.
 */
#include <stdio.h>
#include <string.h>

#include "miband/miband.h"
#include "runner.h"

static const uint8_t KEY[16] = {1, 2,  3,  4,  5,  6,  7,  8,
				9, 10, 11, 12, 13, 14, 15, 16};

/* A client session linked in process to the band engine. */
struct pair {
	struct miband_session s;
	struct miband_band b;
	struct miband_link l;
};

static int final_event(struct miband_link *l, struct miband_event *ret)
{
	struct miband_link_output o;

	for (;;) {
		int n = miband_link_run(l, UINT64_MAX, &o);

		if (n <= 0)
			return -1;
		if (o.from_band || o.client.type == MIBAND_EV_AUTH_PROGRESS)
			continue;
		*ret = o.client;
		return 0;
	}
}

/* Sets up the pair and authenticates with the stored key. */
static int pair_auth(struct pair *p)
{
	struct miband_session_config sc;
	struct miband_band_config bc;
	struct miband_link_config lc;
	struct miband_event ev;

	miband_band_config_init(&bc, MIBAND_MODEL_MB3);
	bc.crypto = &miband_crypto_openssl;
	bc.start_unix = 1764000000;
	miband_band_init(&p->b, &bc, KEY, 0);
	miband_session_config_init(&sc, MIBAND_MODEL_MB3);
	sc.crypto = &miband_crypto_openssl;
	miband_session_init(&p->s, &sc, KEY);
	miband_link_config_init(&lc);
	miband_link_init(&p->l, &lc, &p->s, &p->b, 0);
	if (miband_session_start_auth(&p->s, MIBAND_AUTH_STORED, 0) != 0)
		return -1;
	if (final_event(&p->l, &ev) != 0 || ev.type != MIBAND_EV_AUTH_OK)
		return -1;
	return 0;
}

TEST(features_are_off)
{
	CHECK(!MIBAND_FEATURE_FETCH && !MIBAND_FEATURE_TEXT &&
	      !MIBAND_FEATURE_EVENTS);
}

TEST(left_out_requests_are_unsupported)
{
	static const enum miband_request_type off[] = {
		MIBAND_REQ_FETCH, MIBAND_REQ_CALL, MIBAND_REQ_CALL_STOP,
		MIBAND_REQ_TEXT, MIBAND_REQ_EVENTS_FOLLOW};
	struct miband_request req;
	struct pair p;
	size_t i;

	CHECK_EQ(pair_auth(&p), 0);
	for (i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		memset(&req, 0, sizeof(req));
		req.type = off[i];
		req.u.text.data = "\x05\x01title\0body\0";
		req.u.text.len = 14;
		if (off[i] == MIBAND_REQ_FETCH)
			miband_time_from_unix(1763900000, 0, &req.u.time);
		CHECK(miband_session_request(&p.s, &req,
					     miband_link_now(&p.l)) ==
		      MIBAND_E_UNSUPPORTED);
		CHECK(!miband_session_is_busy(&p.s));
	}
}

TEST(battery_and_time_still_work)
{
	struct miband_request req;
	struct miband_event ev;
	struct pair p;

	CHECK_EQ(pair_auth(&p), 0);
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_BATTERY;
	CHECK(miband_session_request(&p.s, &req, miband_link_now(&p.l)) == 0);
	CHECK(final_event(&p.l, &ev) == 0 && ev.type == MIBAND_EV_BATTERY);
	req.type = MIBAND_REQ_TIME_GET;
	CHECK(miband_session_request(&p.s, &req, miband_link_now(&p.l)) == 0);
	CHECK(final_event(&p.l, &ev) == 0 && ev.type == MIBAND_EV_TIME &&
	      ev.u.time.year == 2025);
}

TEST_MAIN(T(features_are_off), T(left_out_requests_are_unsupported),
	  T(battery_and_time_still_work))
