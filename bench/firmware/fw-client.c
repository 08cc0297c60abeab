/*
 * A minimal Cortex-M "firmware" that uses the client engine for what a
 * wrist-band companion needs: authenticate with a stored key, then read
 * battery, steps and time.  bench/footprint.sh links it with
 * --gc-sections against the portable library and subtracts an empty
 * firmware, which gives the engine's real cost in flash and RAM.  AES is
 * the platform's (hardware or mbedTLS), so a stub stands in for it here.
 * The transport is the platform's too: transport_perform() is a stub.
 */
#include <string.h>

#include "miband/miband.h"

static int aes_stub(void *ctx, const uint8_t key[16], const uint8_t in[16],
		    uint8_t out[16])
{
	(void)ctx;
	(void)key;
	memcpy(out, in, 16);
	return 0;
}

static int rng_stub(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	memset(buf, 0x5a, len);
	return 0;
}

static const struct miband_crypto_ops platform_crypto = {
	"platform", aes_stub, rng_stub
};

static struct miband_session session; /* RAM: the whole engine state */
volatile uint32_t sink;

void transport_perform(const struct miband_action *a);
void transport_perform(const struct miband_action *a)
{
	sink += (uint32_t)a->type + (uint32_t)a->len;
}

int fw_main(const uint8_t *key, uint64_t now);
int fw_main(const uint8_t *key, uint64_t now)
{
	struct miband_session_config cfg;
	struct miband_request req;
	struct miband_action a;
	static const enum miband_request_type reqs[] = {
		MIBAND_REQ_BATTERY, MIBAND_REQ_STEPS, MIBAND_REQ_TIME_GET
	};
	unsigned i;

	miband_session_config_init(&cfg, MIBAND_MODEL_MB3);
	cfg.crypto = &platform_crypto;
	miband_session_init(&session, &cfg, key);
	miband_session_start_auth(&session, MIBAND_AUTH_STORED, now);
	for (i = 0; i < 3; i++) {
		memset(&req, 0, sizeof(req));
		req.type = reqs[i];
		miband_session_request(&session, &req, now);
	}
	/* the platform's event loop feeds these */
	miband_session_on_notify(&session, MIBAND_CH_AUTH, key, 3, now);
	miband_session_on_write_done(&session, MIBAND_CH_AUTH, 0, now);
	miband_session_on_read(&session, MIBAND_CH_BATTERY, 0, key, 20, now);
	miband_session_on_timeout(&session, miband_session_deadline_ms(&session));
	while (miband_session_next_action(&session, &a) != MIBAND_ACTION_DONE)
		transport_perform(&a);
	miband_session_wipe(&session);
	return 0;
}
