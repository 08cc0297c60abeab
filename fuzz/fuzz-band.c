/*
 * The band engine under a script of central operations decoded from the
 * input.
 *
 * Input: a header byte (model, pairing policy, set-key flag policy,
 * paired or not), the crypto failure index, then operations, each an
 * opcode byte and its arguments:
 *
 *   0 write       CH FLAGS LEN BYTES  on_write (FLAGS bit 0: request)
 *   1 subscribe   CH FLAGS            on_subscribe (bit 0: enable)
 *   2 read        CH CAP              miband_band_read
 *   3 time        MS(u16)             time passes; on_timeout when due
 *   4 tap         FLAGS               the wearer (bit 0: accept)
 *   5 event       CODE ARG            miband_band_emit_event
 *   6 link        FLAGS               bit 0: disconnect, bit 1: connect
 *   7 battery     LEVEL FLAGS         miband_band_set_battery
 *   8 answer      FLAGS               writes the right answer to the
 *                                     band's random (FLAGS bit 0: with
 *                                     the crypt flag 0x80), so that the
 *                                     fuzzer reaches the states after
 *                                     auth without breaking AES
 *
 * scripts/seed-corpus.py writes this format from test transcripts.
 *
 * Invariants:
 *  - next_action() terminates; notifications fit the value limit, go
 *    out only while connected and only on channels the client
 *    subscribed on this connection;
 *  - the band authenticates a client only on an answer write that is
 *    AES-128(key, the random it issued); the random is single-use;
 *    authentication ends with the connection;
 *  - its key changes only with a PAIRED event (the wearer's consent);
 *  - before auth it answers nothing but auth: other writes cause no
 *    action at all, protected reads fail with "insufficient
 *    authentication";
 *  - read lengths fit the caller's buffer;
 *  - a due deadline is consumed (it moves past now after on_timeout
 *    calls, bounded, with the ring drained in between);
 *  - after wipe() no key byte remains.
 */
#include <string.h>

#include "fuzz.h"
#include "crypto/testcrypto.h"
#include "miband/miband.h"

static const uint8_t fuzz_key[16] = {0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
				     0x36, 0x37, 0x38, 0x39, 0x40, 0x41,
				     0x42, 0x43, 0x44, 0x45};

struct state {
	struct miband_band b;
	bool connected;
	uint8_t subscribed[MIBAND_CH_COUNT];
	int paired_events;
	int actions;
};

static void drain(struct state *st)
{
	struct miband_band_action a;
	int n = 0;

	while (miband_band_next_action(&st->b, &a) != MIBAND_BAND_ACTION_DONE) {
		FUZZ_ASSERT(++n < 256);
		st->actions++;
		switch (a.type) {
		case MIBAND_BAND_ACTION_NOTIFY:
			FUZZ_ASSERT(a.len > 0 &&
				    a.len <= MIBAND_BAND_VALUE_MAX);
			FUZZ_ASSERT((unsigned)a.channel < MIBAND_CH_COUNT);
			FUZZ_ASSERT(st->connected);
			FUZZ_ASSERT(st->subscribed[a.channel]);
			break;
		case MIBAND_BAND_ACTION_DISCONNECT:
			FUZZ_ASSERT(st->connected);
			st->connected = false;
			memset(st->subscribed, 0, sizeof(st->subscribed));
			FUZZ_ASSERT(!miband_band_is_authed(&st->b));
			break;
		case MIBAND_BAND_ACTION_EVENT:
			if (a.event.type == MIBAND_BAND_EV_PAIRED)
				st->paired_events++;
			if (a.event.type == MIBAND_BAND_EV_TEXT ||
			    a.event.type == MIBAND_BAND_EV_CALL ||
			    a.event.type == MIBAND_BAND_EV_CONFIG ||
			    a.event.type == MIBAND_BAND_EV_USER)
				FUZZ_ASSERT(a.event.u.text.len <=
					    MIBAND_TEXT_MAX);
			break;
		default:
			FUZZ_ASSERT(!"unknown action");
		}
	}
}

static bool protected_read(enum miband_channel ch)
{
	return ch == MIBAND_CH_BATTERY || ch == MIBAND_CH_STEPS ||
	       ch == MIBAND_CH_TIME;
}

static void do_write(struct state *st, struct fuzz_in *in, uint64_t now)
{
	struct miband_band *b = &st->b;
	enum miband_channel ch =
		(enum miband_channel)(fuzz_u8(in) % MIBAND_CH_COUNT);
	bool resp = fuzz_u8(in) & 1;
	uint8_t random[16], key[16], want[16];
	bool had_random = b->has_random, had_key = b->has_key;
	bool was_authed = b->authed;
	const uint8_t *p;
	size_t len = fuzz_bytes(in, &p, 24);
	int r;

	memcpy(random, b->random, 16);
	memcpy(key, b->key, 16);
	r = miband_band_on_write(b, ch, p, len, resp, now);
	FUZZ_ASSERT(r >= 0 && r <= 0xff);
	if (!was_authed && b->authed) {
		/* only a correct answer to the random it issued */
		FUZZ_ASSERT(ch == MIBAND_CH_AUTH && len == 18 &&
			    (p[0] & 0x7f) == MIBAND_AUTH_CMD_ANSWER);
		FUZZ_ASSERT(had_key && had_random);
		FUZZ_ASSERT(miband_crypto_openssl.aes128_ecb(NULL, key, random,
							     want) == 0);
		FUZZ_ASSERT(!memcmp(want, p + 2, 16));
	}
	if (ch == MIBAND_CH_AUTH && r == 0 && len == 18 &&
	    (p[0] & 0x7f) == MIBAND_AUTH_CMD_ANSWER)
		FUZZ_ASSERT(!b->has_random);
	st->actions = 0;
	drain(st);
	if (!was_authed && ch != MIBAND_CH_AUTH)
		FUZZ_ASSERT(st->actions == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state st;
	struct fuzz_in in = {data, size};
	struct miband_crypto_test ct;
	struct miband_band_config cfg;
	struct miband_band *b = &st.b;
	uint8_t buf[64], key[16];
	uint64_t now = 0;
	uint8_t sel = fuzz_u8(&in);
	size_t i;
	int steps = 0, r;

	memset(&st, 0, sizeof(st));
	miband_crypto_test_init(&ct, 7);
	ct.fail_at = fuzz_u8(&in) % 8;
	miband_band_config_init(&cfg,
				(enum miband_model)(sel % MIBAND_MODEL_COUNT));
	cfg.crypto = &miband_crypto_test;
	cfg.crypto_ctx = &ct;
	cfg.pairing = (enum miband_pairing_policy)((sel >> 3) % 4);
	cfg.reject_setkey_flag08 = sel & 0x20;
	cfg.start_unix = 1700000000;
	cfg.history_days = 2;
	cfg.unauth_drop_ms = sel & 0x40 ? 0 : 30000;
	if (miband_band_init(b, &cfg, sel & 0x80 ? fuzz_key : NULL, now) < 0)
		return 0;
	miband_band_on_connect(b, now);
	st.connected = true;
	drain(&st);

	while (in.n && steps++ < 512) {
		uint8_t op = fuzz_u8(&in);
		enum miband_channel ch;
		bool was_authed = b->authed;

		memcpy(key, b->key, 16);
		st.paired_events = 0;
		switch (op % 9) {
		case 0:
			do_write(&st, &in, now);
			break;
		case 1: {
			bool on;

			ch = (enum miband_channel)(fuzz_u8(&in) %
						   MIBAND_CH_COUNT);
			on = fuzz_u8(&in) & 1;
			r = miband_band_on_subscribe(b, ch, on, now);
			FUZZ_ASSERT(r >= 0 && r <= 0xff);
			if (r == 0)
				st.subscribed[ch] = on;
			break;
		}
		case 2: {
			size_t cap = fuzz_u8(&in) % sizeof(buf), got = 0;

			ch = (enum miband_channel)(fuzz_u8(&in) %
						   MIBAND_CH_COUNT);
			r = miband_band_read(b, ch, now, buf, cap, &got);
			FUZZ_ASSERT(r >= 0 && r <= 0xff);
			if (r == 0)
				FUZZ_ASSERT(got <= cap);
			if (!b->authed && protected_read(ch))
				FUZZ_ASSERT(r == MIBAND_ATT_INSUFFICIENT_AUTHN);
			break;
		}
		case 3:
			now += fuzz_u16(&in);
			for (i = 0;
			     i < 1000 && miband_band_deadline_ms(b) <= now;
			     i++) {
				miband_band_on_timeout(b, now);
				drain(&st);
				FUZZ_ASSERT(!b->authed || was_authed);
				FUZZ_ASSERT(!memcmp(key, b->key, 16) ||
					    st.paired_events);
			}
			FUZZ_ASSERT(miband_band_deadline_ms(b) > now);
			break;
		case 4:
			(void)miband_band_tap(b, fuzz_u8(&in) & 1, now);
			break;
		case 5: {
			uint8_t code = fuzz_u8(&in), arg = fuzz_u8(&in);

			(void)miband_band_emit_event(b, code, arg, now);
			break;
		}
		case 6: {
			uint8_t f = fuzz_u8(&in);

			if (f & 1) {
				miband_band_on_disconnect(b, now);
				st.connected = false;
				memset(st.subscribed, 0, sizeof(st.subscribed));
				FUZZ_ASSERT(!b->authed);
			}
			if (f & 2) {
				miband_band_on_connect(b, now);
				st.connected = true;
				memset(st.subscribed, 0, sizeof(st.subscribed));
				FUZZ_ASSERT(!b->authed);
			}
			break;
		}
		case 7: {
			uint8_t level = fuzz_u8(&in);

			miband_band_set_battery(b, level, fuzz_u8(&in) & 1);
			break;
		}
		case 8: {
			uint8_t w[18];

			w[0] = fuzz_u8(&in) & 1 ? 0x83 : 0x03;
			w[1] = 0x00;
			if (!b->has_random ||
			    miband_crypto_openssl.aes128_ecb(NULL, b->key,
							     b->random, w + 2))
				break;
			r = miband_band_on_write(b, MIBAND_CH_AUTH, w,
						 sizeof(w), false, now);
			FUZZ_ASSERT(r >= 0 && r <= 0xff);
			if (r == 0)
				FUZZ_ASSERT(!b->has_random);
			break;
		}
		}
		drain(&st);
		/* auth comes only from an answer write (checked there) */
		if (op % 9 != 0 && op % 9 != 8)
			FUZZ_ASSERT(!b->authed || was_authed);
		/* a new key only with the wearer's consent */
		FUZZ_ASSERT(!memcmp(key, b->key, 16) || st.paired_events);
	}
	miband_band_wipe(b);
	for (i = 0; i + sizeof(fuzz_key) <= sizeof(*b); i++)
		FUZZ_ASSERT(memcmp((const uint8_t *)b + i, fuzz_key,
				   sizeof(fuzz_key)));
	return 0;
}
