/*
 * Built by tests/features.test.sh with the client engine's optional
 * features off (MIBAND_FEATURE_FETCH/TEXT/EVENTS = 0): requests of those
 * features are refused with MIBAND_E_UNSUPPORTED and queue nothing, and
 * what is left (auth, battery, time) still works against the band engine.
 */
#include <stdio.h>
#include <string.h>

#include "miband/miband.h"

static int failures;

#define EXPECT(cond)                                                           \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("not ok - %s:%d: %s\n", __FILE__, __LINE__,      \
			       #cond);                                         \
			failures++;                                            \
		}                                                              \
	} while (0)

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

int main(void)
{
	static const uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8,
					 9, 10, 11, 12, 13, 14, 15, 16 };
	static const enum miband_request_type off[] = {
		MIBAND_REQ_FETCH, MIBAND_REQ_CALL, MIBAND_REQ_CALL_STOP,
		MIBAND_REQ_TEXT, MIBAND_REQ_EVENTS_FOLLOW
	};
	struct miband_session_config sc;
	struct miband_band_config bc;
	struct miband_link_config lc;
	struct miband_session s;
	struct miband_band b;
	struct miband_link l;
	struct miband_request req;
	struct miband_event ev;
	size_t i;

	EXPECT(!MIBAND_FEATURE_FETCH && !MIBAND_FEATURE_TEXT &&
	       !MIBAND_FEATURE_EVENTS);
	miband_band_config_init(&bc, MIBAND_MODEL_MB3);
	bc.crypto = &miband_crypto_openssl;
	bc.start_unix = 1764000000;
	miband_band_init(&b, &bc, key, 0);
	miband_session_config_init(&sc, MIBAND_MODEL_MB3);
	sc.crypto = &miband_crypto_openssl;
	miband_session_init(&s, &sc, key);
	miband_link_config_init(&lc);
	miband_link_init(&l, &lc, &s, &b, 0);

	EXPECT(miband_session_start_auth(&s, MIBAND_AUTH_STORED, 0) == 0);
	EXPECT(final_event(&l, &ev) == 0 && ev.type == MIBAND_EV_AUTH_OK);

	for (i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		memset(&req, 0, sizeof(req));
		req.type = off[i];
		req.u.text.data = "\x05\x01title\0body\0";
		req.u.text.len = 14;
		if (off[i] == MIBAND_REQ_FETCH)
			miband_time_from_unix(1763900000, 0, &req.u.time);
		EXPECT(miband_session_request(&s, &req, miband_link_now(&l)) ==
		       MIBAND_E_UNSUPPORTED);
		EXPECT(!miband_session_is_busy(&s));
	}
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_BATTERY;
	EXPECT(miband_session_request(&s, &req, miband_link_now(&l)) == 0);
	EXPECT(final_event(&l, &ev) == 0 && ev.type == MIBAND_EV_BATTERY);
	req.type = MIBAND_REQ_TIME_GET;
	EXPECT(miband_session_request(&s, &req, miband_link_now(&l)) == 0);
	EXPECT(final_event(&l, &ev) == 0 && ev.type == MIBAND_EV_TIME &&
	       ev.u.time.year == 2025);
	printf("%d passed, %d failed\n", failures ? 0 : 1, failures ? 1 : 0);
	return failures != 0;
}
