/*
 * The band engine under a script of central operations decoded from the
 * input: connect, subscribe, write, read, time passing, taps, events and
 * disconnects.
 *
 * Invariants: next_action() terminates; notifications fit the value
 * limit and go only to subscribed channels' bytes; read lengths fit the
 * caller's buffer; after wipe() no key byte remains.
 */
#include <string.h>

#include "fuzz.h"
#include "miband/miband.h"

static const uint8_t fuzz_key[16] = { 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
				      0x36, 0x37, 0x38, 0x39, 0x40, 0x41,
				      0x42, 0x43, 0x44, 0x45 };

static void drain(struct miband_band *b)
{
	struct miband_band_action a;
	int n = 0;

	while (miband_band_next_action(b, &a) != MIBAND_BAND_ACTION_DONE) {
		FUZZ_ASSERT(++n < 256);
		if (a.type == MIBAND_BAND_ACTION_NOTIFY)
			FUZZ_ASSERT(a.len > 0 && a.len <= MIBAND_BAND_VALUE_MAX);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct miband_crypto_test ct;
	struct miband_band_config cfg;
	struct miband_band b;
	uint8_t buf[64];
	const uint8_t *p;
	uint64_t now = 0;
	uint8_t sel = fuzz_u8(&in);
	size_t len, i;
	int steps = 0, r;

	miband_crypto_test_init(&ct, 7);
	ct.fail_at = fuzz_u8(&in) % 8;
	miband_band_config_init(&cfg, (enum miband_model)(sel % 3));
	cfg.crypto = &miband_crypto_test;
	cfg.crypto_ctx = &ct;
	cfg.pairing = (enum miband_pairing_policy)((sel >> 2) % 4);
	cfg.reject_setkey_flag08 = sel & 0x40;
	cfg.start_unix = 1700000000;
	cfg.history_days = 2;
	if (miband_band_init(&b, &cfg, sel & 0x80 ? fuzz_key : NULL, now) < 0)
		return 0;
	miband_band_on_connect(&b, now);
	drain(&b);

	while (in.n && steps++ < 256) {
		uint8_t op = fuzz_u8(&in);
		enum miband_channel ch = (enum miband_channel)(fuzz_u8(&in) % MIBAND_CH_COUNT);

		switch (op % 8) {
		case 0:
		case 1:
			len = fuzz_bytes(&in, &p, 24);
			r = miband_band_on_write(&b, ch, p, len, op & 0x10, now);
			FUZZ_ASSERT(r >= 0 && r <= 0xff);
			break;
		case 2:
			r = miband_band_on_subscribe(&b, ch, op & 0x10, now);
			FUZZ_ASSERT(r >= 0 && r <= 0xff);
			break;
		case 3: {
			size_t cap = fuzz_u8(&in) % sizeof(buf), got = 0;

			r = miband_band_read(&b, ch, now, buf, cap, &got);
			FUZZ_ASSERT(r >= 0 && r <= 0xff);
			if (r == 0)
				FUZZ_ASSERT(got <= cap);
			break;
		}
		case 4:
			now += fuzz_u16(&in);
			if (miband_band_deadline_ms(&b) <= now)
				miband_band_on_timeout(&b, now);
			break;
		case 5:
			(void)miband_band_tap(&b, op & 0x10, now);
			break;
		case 6:
			(void)miband_band_emit_event(&b, fuzz_u8(&in), fuzz_u8(&in), now);
			break;
		case 7:
			if (op & 0x10) {
				miband_band_on_disconnect(&b, now);
				miband_band_on_connect(&b, now);
			}
			break;
		}
		drain(&b);
	}
	miband_band_wipe(&b);
	for (i = 0; i + sizeof(fuzz_key) <= sizeof(b); i++)
		FUZZ_ASSERT(memcmp((const uint8_t *)&b + i, fuzz_key, sizeof(fuzz_key)));
	return 0;
}
