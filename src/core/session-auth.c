/*
 * The client engine's auth handshake (PROTOCOL.md 2), every variant:
 * stored key, pairing, and AUTO (a missing or different key turns into a
 * pairing once, when the config allows it).
 *
 * How it works: auth is the one request not run from a step table,
 * because its steps advance on the band's notifications, not on write
 * completions.  miband_session_start_auth() subscribes to the auth
 * channel (AUTH_SUB); its completion (miband__auth_subscribed) sends the
 * key (AUTH_KEY, pairing) or asks for a random (AUTH_RAND); each 10 xx yy
 * notification (miband__auth_notify) must answer the step we are at, and
 * moves on: key accepted -> ask for a random, random -> send the AES
 * answer (AUTH_ANS), answer accepted -> AUTH_OK.  Every status the band
 * can send maps to its own error (error.h).
 *
 * Secrets: the key and the answer are written through s->wbuf marked
 * secret, so session.c wipes them on the next call; the AES output lives
 * on the stack only while it is encoded.
 */
#include "miband/codec.h"
#include "miband/error.h"
#include "miband/session.h"

#include <string.h>

#include "session-int.h"

static uint8_t auth_flags(const struct miband_session *s)
{
	return s->cfg.auth_flags < 0 ? miband_model_auth_flags(s->cfg.model)
				     : (uint8_t)s->cfg.auth_flags;
}

static uint8_t crypt_flags(const struct miband_session *s)
{
	return s->cfg.crypt_flags < 0 ? miband_model_crypt_flags(s->cfg.model)
				      : (uint8_t)s->cfg.crypt_flags;
}

static void auth_send_key(struct miband_session *s, uint64_t now)
{
	int n = miband_encode_auth_set_key(s->wbuf, sizeof(s->wbuf),
					   auth_flags(s), s->key);

	if (n < 0) {
		miband__fail(s, MIBAND_E_INTERNAL);
		return;
	}
	s->state = AUTH_KEY;
	miband__op_write(s, MIBAND_CH_AUTH, (size_t)n, false, true, now);
	s->flags &= (uint8_t)~F_WAIT_DONE; /* advances on 10 01 xx */
	s->deadline = miband__after(now, s->cfg.pair_timeout_ms);
	miband__progress(s, MIBAND_AUTH_STEP_KEY_SENT);
}

static void auth_request_random(struct miband_session *s, uint64_t now)
{
	int n = miband_encode_auth_request_random(
		s->wbuf, sizeof(s->wbuf), auth_flags(s), crypt_flags(s));

	if (n < 0) {
		miband__fail(s, MIBAND_E_INTERNAL);
		return;
	}
	s->state = AUTH_RAND;
	miband__op_write(s, MIBAND_CH_AUTH, (size_t)n, false, false, now);
	s->flags &= (uint8_t)~F_WAIT_DONE;
	miband__progress(s, MIBAND_AUTH_STEP_RANDOM_REQUESTED);
}

static void auth_answer(struct miband_session *s, const uint8_t random[16],
			uint64_t now)
{
	uint8_t answer[16];
	int r, n;

	r = s->cfg.crypto->aes128_ecb(s->cfg.crypto_ctx, s->key, random,
				      answer);
	if (r < 0) {
		miband_wipe(answer, sizeof(answer));
		miband__fail(s, MIBAND_E_CRYPTO);
		return;
	}
	n = miband_encode_auth_answer(s->wbuf, sizeof(s->wbuf), auth_flags(s),
				      crypt_flags(s), answer);
	miband_wipe(answer, sizeof(answer));
	if (n < 0) {
		miband__fail(s, MIBAND_E_INTERNAL);
		return;
	}
	s->state = AUTH_ANS;
	miband__op_write(s, MIBAND_CH_AUTH, (size_t)n, false, true, now);
	s->flags &= (uint8_t)~F_WAIT_DONE;
	miband__progress(s, MIBAND_AUTH_STEP_ANSWER_SENT);
}

/* AUTO mode may turn a missing or different key into a pairing, once. */
static bool auth_fallback(struct miband_session *s, uint64_t now)
{
	if (s->auth_mode != MIBAND_AUTH_AUTO || !s->cfg.allow_pair_fallback)
		return false;
	s->auth_mode = MIBAND_AUTH_PAIR;
	miband__progress(s, MIBAND_AUTH_STEP_FALLBACK_PAIR);
	auth_send_key(s, now);
	return true;
}

void miband__auth_notify(struct miband_session *s, const uint8_t *data,
			 size_t len, uint64_t now)
{
	static const uint8_t expect[] = {[AUTH_SUB] = 0,
					 [AUTH_KEY] = 1,
					 [AUTH_RAND] = 2,
					 [AUTH_ANS] = 3};
	struct miband_auth_reply r;
	struct miband_event *ev;
	unsigned step;

	if (miband_decode_auth_reply(data, len, &r) < 0) {
		miband__fail(s, MIBAND_E_MALFORMED);
		return;
	}
	step = r.cmd & 0x0fu;
	/* The Mi Band 4 announces itself with 10 01 81 ... after the CCCD
	 * write (PROTOCOL.md 2.4); it is no answer to anything we sent. */
	if (step == 1 && r.status == 0x81 && expect[s->state] != 1)
		return;
	if (step != expect[s->state]) {
		miband__fail(s, MIBAND_E_UNEXPECTED);
		return;
	}
	switch (step) {
	case MIBAND_AUTH_CMD_SET_KEY:
		switch (r.status) {
		case MIBAND_AUTH_STATUS_OK:
			s->paired = 1;
			miband__progress(s, MIBAND_AUTH_STEP_KEY_ACCEPTED);
			auth_request_random(s, now);
			return;
		case 0x02:
			miband__fail(s, MIBAND_E_PAIR_DECLINED);
			return;
		case 0x04:
			miband__fail(s, MIBAND_E_SETKEY_FAILED);
			return;
		}
		break;
	case MIBAND_AUTH_CMD_RANDOM:
		switch (r.status) {
		case MIBAND_AUTH_STATUS_OK:
			miband__progress(s, MIBAND_AUTH_STEP_RANDOM_RECEIVED);
			auth_answer(s, r.payload, now);
			return;
		case 0x04:
			if (!auth_fallback(s, now))
				miband__fail(s, MIBAND_E_RANDOM_FAILED);
			return;
		}
		break;
	case MIBAND_AUTH_CMD_ANSWER:
		switch (r.status) {
		case MIBAND_AUTH_STATUS_OK:
			s->authed = 1;
			ev = miband__finish(s, MIBAND_EV_AUTH_OK);
			if (ev)
				ev->u.paired = s->paired;
			return;
		case 0x04:
			if (!auth_fallback(s, now))
				miband__fail(s, MIBAND_E_WRONG_KEY);
			return;
		case 0x08:
			miband__fail(s, MIBAND_E_AUTH_REJECTED);
			return;
		}
		break;
	}
	miband__fail(s, MIBAND_E_AUTH_STATUS);
}

int miband_session_start_auth(struct miband_session *s,
			      enum miband_auth_mode mode, uint64_t now)
{
	struct miband__queued *e;

	if (!s)
		return MIBAND_E_INVAL;
	if (s->fatal)
		return MIBAND_E_STATE;
	if (mode != MIBAND_AUTH_STORED && mode != MIBAND_AUTH_PAIR &&
	    mode != MIBAND_AUTH_AUTO)
		return MIBAND_E_INVAL;
	if (!s->cfg.crypto || !s->cfg.crypto->aes128_ecb)
		return MIBAND_E_INVAL;
	if (s->req.type != MIBAND_REQ_NONE)
		return MIBAND_E_BUSY;
	if (!s->has_key)
		return MIBAND_E_NO_KEY;
	s->authed = 0;
	s->paired = 0;
	s->auth_mode = (uint8_t)mode;
	s->req.type = MIBAND_REQ_AUTH;
	s->state = AUTH_SUB;
	/* Always (re-)enable the CCCD first: every client does. */
	e = miband__q_push(s, MIBAND_ACTION_SUBSCRIBE);
	if (!e)
		return MIBAND_E_INTERNAL;
	e->channel = MIBAND_CH_AUTH;
	s->flags |= F_WAIT_DONE;
	miband__arm(s, now);
	return 0;
}

void miband__auth_subscribed(struct miband_session *s, uint64_t now)
{
	miband__progress(s, MIBAND_AUTH_STEP_SUBSCRIBED);
	if (s->auth_mode == MIBAND_AUTH_PAIR)
		auth_send_key(s, now);
	else
		auth_request_random(s, now);
}
