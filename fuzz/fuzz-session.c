/*
 * The client engine under a script of events decoded from the input:
 * notifications on any channel, write completions, read completions,
 * time passing, disconnects, new requests and auth starts.
 *
 * Invariants checked after every input:
 *  - next_action() reaches DONE within a bounded number of calls;
 *  - no write is longer than MTU - 3, nor empty;
 *  - after a fatal error the engine emits nothing but DONE;
 *  - a request never runs while another is reported busy;
 *  - after wipe() no key byte remains in the session.
 */
#include <string.h>

#include "fuzz.h"
#include "miband/miband.h"

static const uint8_t fuzz_key[16] = { 0xd8, 0x8c, 0xa0, 0xfe, 0xf5, 0x04,
				      0xcc, 0x82, 0x73, 0x5f, 0x15, 0xfe,
				      0xb6, 0xbf, 0x9b, 0x1f };

static int drain(struct miband_session *s, bool *fatal)
{
	struct miband_action a;
	int n = 0;

	while (miband_session_next_action(s, &a) != MIBAND_ACTION_DONE) {
		FUZZ_ASSERT(++n < 64);
		FUZZ_ASSERT(!*fatal || a.type == MIBAND_ACTION_DISCONNECT);
		if (a.type == MIBAND_ACTION_WRITE) {
			FUZZ_ASSERT(a.len > 0 && a.len <= 20);
			FUZZ_ASSERT(a.data != NULL);
		}
		if (a.type == MIBAND_ACTION_EVENT &&
		    a.event.type == MIBAND_EV_ERROR) {
			FUZZ_ASSERT(a.event.error < 0);
			FUZZ_ASSERT(miband_err_name(a.event.error) != NULL);
			if (miband_is_fatal(a.event.error))
				*fatal = true;
		}
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct miband_crypto_test ct;
	struct miband_session_config cfg;
	struct miband_session s;
	struct miband_request req;
	const uint8_t *p;
	uint64_t now = 0;
	bool fatal = false;
	uint8_t sel = fuzz_u8(&in);
	size_t len, i;
	int steps = 0;

	miband_crypto_test_init(&ct, 1);
	ct.fail_at = fuzz_u8(&in) % 8; /* 0: never */
	miband_session_config_init(&cfg, (enum miband_model)(sel % MIBAND_MODEL_COUNT));
	cfg.crypto = &miband_crypto_test;
	cfg.crypto_ctx = &ct;
	cfg.allow_pair_fallback = sel & 0x10;
	cfg.config_reply_required = sel & 0x20;
	cfg.fetch_ack = sel & 0x40;
	if (miband_session_init(&s, &cfg, fuzz_key) < 0)
		return 0;
	(void)miband_session_start_auth(&s, (enum miband_auth_mode)((sel >> 2) % 3), now);
	drain(&s, &fatal);

	while (in.n && steps++ < 256) {
		uint8_t op = fuzz_u8(&in);
		enum miband_channel ch = (enum miband_channel)(fuzz_u8(&in) % MIBAND_CH_COUNT);

		switch (op % 9) {
		case 0:
		case 1: /* notification: mostly on the channel in flight */
			len = fuzz_bytes(&in, &p, 24);
			miband_session_on_notify(&s, ch, p, len, now);
			break;
		case 2:
			miband_session_on_write_done(&s, ch,
						     fuzz_u8(&in) & 1 ? 0 : MIBAND_E_WRITE_FAILED,
						     now);
			break;
		case 3:
			len = fuzz_bytes(&in, &p, 24);
			miband_session_on_read(&s, ch, fuzz_u8(&in) & 1 ? 0 : MIBAND_E_READ_FAILED,
					       p, len, now);
			break;
		case 4:
			now += fuzz_u16(&in);
			if (miband_session_deadline_ms(&s) <= now)
				miband_session_on_timeout(&s, now);
			break;
		case 5:
			if (fuzz_u8(&in) < 16)
				miband_session_on_disconnect(&s, now);
			break;
		case 6:
			memset(&req, 0, sizeof(req));
			req.type = (enum miband_request_type)(fuzz_u8(&in) % MIBAND_REQ_COUNT);
			req.u.raw.len = (uint8_t)(fuzz_u8(&in) % (MIBAND_WRITE_MAX + 1));
			for (i = 0; i < req.u.raw.len; i++)
				req.u.raw.bytes[i] = fuzz_u8(&in);
			if (req.type == MIBAND_REQ_CALL || req.type == MIBAND_REQ_TEXT) {
				len = fuzz_bytes(&in, &p, 64);
				req.u.text.data = (const char *)p;
				req.u.text.len = len;
			}
			if (req.type == MIBAND_REQ_DEVINFO)
				req.u.devinfo = (enum miband_devinfo)(fuzz_u8(&in) % MIBAND_DEVINFO_COUNT);
			if (miband_session_request(&s, &req, now) == 0)
				FUZZ_ASSERT(!fatal);
			break;
		case 7:
			(void)miband_session_start_auth(&s, (enum miband_auth_mode)(fuzz_u8(&in) % 3), now);
			break;
		case 8:
			if (miband_session_is_busy(&s))
				(void)miband_session_fetch_stored(&s, now);
			(void)miband_session_cancel(&s, now);
			break;
		}
		drain(&s, &fatal);
	}
	miband_session_wipe(&s);
	for (i = 0; i + sizeof(fuzz_key) <= sizeof(s); i++)
		FUZZ_ASSERT(memcmp((const uint8_t *)&s + i, fuzz_key, sizeof(fuzz_key)));
	return 0;
}
