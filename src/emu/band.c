/*
 * The band engine: an emulated Mi Band, the peripheral side of the v1
 * protocol, sans-I/O like the client engine (include/miband/band.h).
 *
 * How it works
 *
 * A transport reports what the central did (connect, subscribe, write,
 * read, disconnect) and when time passes (on_timeout at deadline_ms()).
 * The engine answers writes and timers by queueing actions in a small
 * ring (MIBAND_BAND_ACTION_QUEUE): NOTIFY on a channel, DISCONNECT, or an
 * EVENT for the person wearing the band.  Reads are answered at once.
 *
 * Nothing is ever pushed into a full ring.  A handler that must answer
 * first checks that the ring has room for everything it will queue; if
 * not, it changes no state and reports ATT "unlikely error" (the central
 * may retry).  Work spread over time (heart rate every second, realtime
 * steps every minute, history packets) is driven by deadlines: when the
 * ring is too full the deadline stays due and the work continues on the
 * next on_timeout after the transport drained the ring.  History packets
 * leave two slots free so that replies to writes always fit.
 *
 * Auth (PROTOCOL.md 2.6): a set-key opens a prompt whose outcome comes
 * from the pairing policy (after tap_delay_ms), from miband_band_tap(),
 * or from the prompt timeout (10 01 02).  A random is issued for every
 * 02 request and is single-use; the answer is compared in constant time.
 * Until the client authenticates the band answers nothing but auth:
 * other writes are accepted and ignored, reads of protected values fail
 * with "insufficient authentication", and after unauth_drop_ms (not
 * counting an open prompt) it drops the link.
 *
 * The band clock is start_unix at init plus virtual time; writing Current
 * Time moves it.  Activity history is miband_history_sample() of the
 * seed, from history_days before start_unix up to the last complete
 * minute of the band clock.
 *
 * Notifications go out only on channels the client subscribed; a reply
 * on an unsubscribed channel is dropped exactly as a real band would.
 *
 * Every byte comes from the codec: the client's writes are decoded by
 * its band-side decoders (a wrong length is ATT "invalid length", an
 * unknown command is accepted silently), the replies encoded by it.
 * This file holds the ring, the lifecycle, auth, the writes and the
 * timers; band-values.c the values the band reports and reads;
 * history.c the history and its fetch (band-int.h joins them).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "miband/band.h"
#include "miband/codec.h"

#include "../core/wire.h"
#include "band-int.h"

#define QMAX MIBAND_BAND_ACTION_QUEUE

#define HR_PERIOD_MS 1000u

/* ---- small helpers ---- */

static bool is_subscribed(const struct miband_band *b, enum miband_channel ch)
{
	unsigned i = (unsigned)ch;

	return i < MIBAND_CH_COUNT &&
	       ((unsigned)b->subscribed[i / 8] >> (i % 8) & 1u);
}

static void set_subscribed(struct miband_band *b, enum miband_channel ch,
			   bool on)
{
	unsigned i = (unsigned)ch;
	uint8_t bit = (uint8_t)(1u << (i % 8));

	if (on)
		b->subscribed[i / 8] = (uint8_t)(b->subscribed[i / 8] | bit);
	else
		b->subscribed[i / 8] = (uint8_t)(b->subscribed[i / 8] & ~bit);
}

/* Properties of ch on this band's profile; 0 if the band lacks it. */
static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The band clock in milliseconds since the epoch. */
static int64_t band_ms(const struct miband_band *b, uint64_t now)
{
	uint64_t d = now > b->clock_origin ? now - b->clock_origin : 0;

	return b->unix_origin * 1000 + (int64_t)d;
}

/* Virtual time of the next minute boundary of the band clock after now. */
static uint64_t next_minute_at(const struct miband_band *b, uint64_t now)
{
	int64_t rem = band_ms(b, now) % 60000;

	if (rem < 0)
		rem += 60000;
	return miband__band_add_ms(now, (uint32_t)(60000 - rem));
}

/* ---- the action ring ---- */

static struct miband__band_queued *q_push(struct miband_band *b,
					  enum miband_band_action_type type)
{
	struct miband__band_queued *e;

	if (b->qlen >= QMAX)
		return NULL;
	e = &b->q[(b->qhead + b->qlen) % QMAX];
	b->qlen++;
	memset(e, 0, sizeof(*e));
	e->type = (uint8_t)type;
	return e;
}

/*
 * Queues a notification if the client subscribed ch.  Returns 0 when sent
 * or dropped for want of a subscription, MIBAND_E_NOSPACE when the ring is
 * full (callers check room first, so this is a safety net).
 */
int miband__band_notify(struct miband_band *b, enum miband_channel ch,
			const uint8_t *data, size_t len)
{
	struct miband__band_queued *e;

	if (!b->connected || !is_subscribed(b, ch))
		return 0;
	if (len > MIBAND_BAND_VALUE_MAX)
		len = MIBAND_BAND_VALUE_MAX;
	e = q_push(b, MIBAND_BAND_ACTION_NOTIFY);
	if (!e)
		return MIBAND_E_NOSPACE;
	e->channel = (uint8_t)ch;
	e->len = (uint8_t)len;
	if (len)
		memcpy(e->data, data, len);
	return 0;
}

struct miband_band_event *miband__band_event(struct miband_band *b,
					     enum miband_band_event_type type)
{
	struct miband__band_queued *e = q_push(b, MIBAND_BAND_ACTION_EVENT);

	if (!e)
		return NULL;
	e->event.type = type;
	return &e->event;
}

/* True while a queued TEXT-like event still points into b->text. */
static bool text_in_use(const struct miband_band *b)
{
	unsigned i;

	for (i = 0; i < b->qlen; i++) {
		const struct miband__band_queued *e =
			&b->q[(b->qhead + i) % QMAX];

		if (e->type == MIBAND_BAND_ACTION_EVENT &&
		    e->event.u.text.data == b->text &&
		    (e->event.type == MIBAND_BAND_EV_TEXT ||
		     e->event.type == MIBAND_BAND_EV_CALL ||
		     e->event.type == MIBAND_BAND_EV_CONFIG ||
		     e->event.type == MIBAND_BAND_EV_USER))
			return true;
	}
	return false;
}

/*
 * An event carrying bytes.  Short payloads live in the queue entry; a
 * longer one (a transport with a bigger MTU) borrows b->text when no
 * message is being reassembled there, else it is cut to the entry.
 */
static int event_bytes(struct miband_band *b, enum miband_band_event_type type,
		       const uint8_t *data, size_t len)
{
	struct miband__band_queued *e = q_push(b, MIBAND_BAND_ACTION_EVENT);

	if (!e)
		return MIBAND_E_NOSPACE;
	e->event.type = type;
	if (len > MIBAND_BAND_VALUE_MAX && !b->chunk_state && !text_in_use(b)) {
		if (len > sizeof(b->text))
			len = sizeof(b->text);
		memcpy(b->text, data, len);
		e->event.u.text.data = b->text;
	} else {
		if (len > MIBAND_BAND_VALUE_MAX)
			len = MIBAND_BAND_VALUE_MAX;
		if (len)
			memcpy(e->data, data, len);
		e->event.u.text.data = e->data;
	}
	e->event.u.text.len = len;
	return 0;
}

enum miband_band_action_type
miband_band_next_action(struct miband_band *b, struct miband_band_action *ret)
{
	struct miband__band_queued *e;

	if (!b->qlen) {
		ret->type = MIBAND_BAND_ACTION_DONE;
		return MIBAND_BAND_ACTION_DONE;
	}
	e = &b->q[b->qhead];
	b->qhead = (uint8_t)((b->qhead + 1u) % QMAX);
	b->qlen--;
	memset(ret, 0, sizeof(*ret));
	ret->type = (enum miband_band_action_type)e->type;
	ret->channel = (enum miband_channel)e->channel;
	ret->data = e->data;
	ret->len = e->len;
	ret->reason = e->reason;
	ret->event = e->event;
	return ret->type;
}

/* ---- lifecycle ---- */

int miband_band_init(struct miband_band *b,
		     const struct miband_band_config *cfg, const uint8_t *key,
		     uint64_t now)
{
	if (!b || !cfg || (unsigned)cfg->model >= MIBAND_MODEL_COUNT ||
	    !cfg->crypto || !cfg->crypto->aes128_ecb || !cfg->crypto->random ||
	    cfg->battery_level > 100 ||
	    (unsigned)cfg->pairing > MIBAND_PAIRING_MANUAL)
		return MIBAND_E_INVAL;
	memset(b, 0, sizeof(*b));
	b->cfg = *cfg;
	if (key) {
		memcpy(b->key, key, 16);
		b->has_key = 1;
	}
	b->battery_level = cfg->battery_level;
	b->clock_origin = now;
	b->unix_origin = cfg->start_unix;
	b->prompt_at = NEVER;
	b->hr_stop_at = NEVER;
	b->hr_next_at = NEVER;
	b->hr_oneshot_at = NEVER;
	b->fetch_next_at = NEVER;
	b->steps_next_at = NEVER;
	return 0;
}

static void close_prompt(struct miband_band *b, uint64_t now)
{
	b->prompt = 0;
	b->prompt_at = NEVER;
	miband_wipe(b->pending_key, sizeof(b->pending_key));
	/* The unauthenticated-link timer restarts when the prompt closes. */
	b->connected_at = now;
}

static void forget_random(struct miband_band *b)
{
	miband_wipe(b->random, sizeof(b->random));
	b->has_random = 0;
}

static void stop_hr(struct miband_band *b)
{
	b->hr_continuous = 0;
	b->hr_oneshot = 0;
	b->hr_next_at = NEVER;
	b->hr_stop_at = NEVER;
	b->hr_oneshot_at = NEVER;
}

/* Everything that lives only as long as a connection. */
static void reset_link_state(struct miband_band *b, uint64_t now)
{
	unsigned i, n = b->qlen, kept = 0;

	b->authed = 0;
	memset(b->subscribed, 0, sizeof(b->subscribed));
	if (b->prompt)
		close_prompt(b, now);
	forget_random(b);
	stop_hr(b);
	b->fetch_state = FETCH_IDLE;
	b->fetch_left = 0;
	b->fetch_next_at = NEVER;
	b->steps_next_at = NEVER;
	b->chunk_state = 0;
	b->text_len = 0;
	/* Notifications for the old link are void; events stay. */
	for (i = 0; i < n; i++) {
		struct miband__band_queued e = b->q[(b->qhead + i) % QMAX];

		if (e.type == MIBAND_BAND_ACTION_EVENT)
			b->q[(b->qhead + kept++) % QMAX] = e;
	}
	b->qlen = (uint8_t)kept;
}

void miband_band_on_connect(struct miband_band *b, uint64_t now)
{
	reset_link_state(b, now);
	b->connected = 1;
	b->connected_at = now;
	b->auth_last[0] = 0;
}

void miband_band_on_disconnect(struct miband_band *b, uint64_t now)
{
	if (!b->connected)
		return;
	reset_link_state(b, now);
	b->connected = 0;
}

void miband_band_wipe(struct miband_band *b)
{
	miband_wipe(b->key, sizeof(b->key));
	miband_wipe(b->pending_key, sizeof(b->pending_key));
	miband_wipe(b->random, sizeof(b->random));
	miband_wipe(b->text, sizeof(b->text));
	miband_wipe(b->q, sizeof(b->q));
	b->qlen = 0;
	b->has_key = 0;
	b->has_random = 0;
	b->authed = 0;
	b->prompt = 0;
	b->prompt_at = NEVER;
}

/* ---- auth (PROTOCOL.md 2) ---- */

static void auth_reply(struct miband_band *b, uint8_t cmd, uint8_t status,
		       const uint8_t *payload, size_t len)
{
	uint8_t buf[3 + 16];
	int n;

	if (len > 16)
		len = 16;
	n = miband_encode_auth_reply(buf, sizeof(buf), cmd, status, payload,
				     len);
	if (n < 0)
		return;
	memcpy(b->auth_last, buf, 3);
	(void)miband__band_notify(b, MIBAND_CH_AUTH, buf, (size_t)n);
	miband_wipe(buf, sizeof(buf));
}

/* The prompt ends: the wearer accepted, declined, or nobody answered. */
static void finish_prompt(struct miband_band *b, bool accept, uint64_t now)
{
	if (accept) {
		memcpy(b->key, b->pending_key, 16);
		b->has_key = 1;
		auth_reply(b, MIBAND_AUTH_CMD_SET_KEY, MIBAND_AUTH_STATUS_OK,
			   NULL, 0);
		(void)miband__band_event(b, MIBAND_BAND_EV_PAIRED);
	} else {
		auth_reply(b, MIBAND_AUTH_CMD_SET_KEY, 0x02, NULL, 0);
		(void)miband__band_event(b, MIBAND_BAND_EV_PAIR_DECLINED);
	}
	close_prompt(b, now);
}

static int auth_set_key(struct miband_band *b, const uint8_t *data, size_t len,
			uint64_t now)
{
	const uint8_t *key;
	uint8_t flags;

	if (miband_decode_auth_set_key(data, len, &flags, &key))
		return MIBAND_ATT_INVALID_LENGTH;
	/* A second key while the prompt is open is ignored: the band keeps
	 * the first (PROTOCOL.md 7.1, the real log shows this). */
	if (b->prompt)
		return MIBAND_ATT_OK;
	if (miband__band_q_free(b) < 2)
		return MIBAND_ATT_UNLIKELY;
	if ((flags != 0x00 && flags != 0x08) ||
	    (flags == 0x08 && b->cfg.reject_setkey_flag08)) {
		auth_reply(b, MIBAND_AUTH_CMD_SET_KEY, 0x04, NULL, 0);
		return MIBAND_ATT_OK;
	}
	memcpy(b->pending_key, key, 16);
	b->prompt = 1;
	switch (b->cfg.pairing) {
	case MIBAND_PAIRING_ACCEPT:
	case MIBAND_PAIRING_DECLINE:
		b->prompt_at = miband__band_add_ms(now, b->cfg.tap_delay_ms);
		break;
	case MIBAND_PAIRING_NEVER:
	case MIBAND_PAIRING_MANUAL:
		b->prompt_at = b->cfg.prompt_timeout_ms
				       ? miband__band_add_ms(
						 now, b->cfg.prompt_timeout_ms)
				       : NEVER;
		break;
	}
	(void)miband__band_event(b, MIBAND_BAND_EV_PAIR_PROMPT);
	return MIBAND_ATT_OK;
}

static int auth_random(struct miband_band *b, const uint8_t *data, size_t len)
{
	uint8_t flags, crypt, cmd;
	int r = miband_decode_auth_request_random(data, len, &flags, &crypt);

	if (r == MIBAND_E_UNSUPPORTED)
		return MIBAND_ATT_OK; /* unknown variant: no answer */
	if (r < 0)
		return MIBAND_ATT_INVALID_LENGTH;
	cmd = (uint8_t)(MIBAND_AUTH_CMD_RANDOM | crypt);
	if (miband__band_q_free(b) < 1)
		return MIBAND_ATT_UNLIKELY;
	forget_random(b);
	if (!b->has_key) {
		auth_reply(b, cmd, 0x04, NULL, 0);
		return MIBAND_ATT_OK;
	}
	/* A failing RNG leaves the client without an answer, as a band
	 * that cannot produce a challenge would. */
	if (b->cfg.crypto->random(b->cfg.crypto_ctx, b->random, 16))
		return MIBAND_ATT_OK;
	b->has_random = 1;
	b->random_cmd = cmd;
	auth_reply(b, cmd, MIBAND_AUTH_STATUS_OK, b->random, 16);
	return MIBAND_ATT_OK;
}

static int auth_answer(struct miband_band *b, const uint8_t *data, size_t len)
{
	const uint8_t *answer;
	uint8_t flags, crypt, cmd, expect[16];
	int r;

	if (miband_decode_auth_answer(data, len, &flags, &crypt, &answer))
		return MIBAND_ATT_INVALID_LENGTH;
	cmd = (uint8_t)(MIBAND_AUTH_CMD_ANSWER | crypt);
	if (miband__band_q_free(b) < 2)
		return MIBAND_ATT_UNLIKELY;
	if (!b->has_key || !b->has_random) {
		auth_reply(b, cmd, 0x04, NULL, 0);
		(void)miband__band_event(b, MIBAND_BAND_EV_AUTH_FAILED);
		return MIBAND_ATT_OK;
	}
	r = b->cfg.crypto->aes128_ecb(b->cfg.crypto_ctx, b->key, b->random,
				      expect);
	/* The challenge is single-use whatever happens next. */
	forget_random(b);
	if (r) {
		miband_wipe(expect, sizeof(expect));
		return MIBAND_ATT_OK;
	}
	r = miband_ct_memcmp(expect, answer, 16);
	miband_wipe(expect, sizeof(expect));
	if (r) {
		auth_reply(b, cmd, 0x04, NULL, 0);
		(void)miband__band_event(b, MIBAND_BAND_EV_AUTH_FAILED);
		return MIBAND_ATT_OK;
	}
	b->authed = 1;
	auth_reply(b, cmd, MIBAND_AUTH_STATUS_OK, NULL, 0);
	(void)miband__band_event(b, MIBAND_BAND_EV_AUTHED);
	return MIBAND_ATT_OK;
}

static int on_auth_write(struct miband_band *b, const uint8_t *data, size_t len,
			 uint64_t now)
{
	struct miband__rd r;
	uint8_t cmd;

	miband__rd_init(&r, data, len);
	cmd = miband__rd_u8(&r);
	if (r.err)
		return MIBAND_ATT_INVALID_LENGTH;
	switch (cmd) {
	case MIBAND_AUTH_CMD_SET_KEY:
		return auth_set_key(b, data, len, now);
	case MIBAND_AUTH_CMD_RANDOM:
	case MIBAND_AUTH_CMD_RANDOM | MIBAND_AUTH_CRYPT:
		return auth_random(b, data, len);
	case MIBAND_AUTH_CMD_ANSWER:
	case MIBAND_AUTH_CMD_ANSWER | MIBAND_AUTH_CRYPT:
		return auth_answer(b, data, len);
	}
	return MIBAND_ATT_OK; /* unknown command: silence */
}

int miband_band_tap(struct miband_band *b, bool accept, uint64_t now)
{
	if (!b->prompt)
		return MIBAND_E_STATE;
	if (miband__band_q_free(b) < 2)
		return MIBAND_E_NOSPACE;
	finish_prompt(b, accept, now);
	return 0;
}

/* ---- features after auth ---- */

static int on_time_write(struct miband_band *b, const uint8_t *data, size_t len,
			 uint64_t now)
{
	struct miband_band_event *ev;
	struct miband_time t;

	if (len == MIBAND_TIME_LEN) {
		if (miband_decode_time(data, len, &t))
			return MIBAND_ATT_UNLIKELY;
	} else if (len == 10 || len == 7) {
		/* SC/CR write Y M D h m s dow 0 0 0 without a zone. */
		if (miband_decode_datetime7(data, 7, &t))
			return MIBAND_ATT_UNLIKELY;
	} else {
		return MIBAND_ATT_INVALID_LENGTH;
	}
	if (miband__band_q_free(b) < 1)
		return MIBAND_ATT_UNLIKELY;
	b->unix_origin = miband_time_to_unix(&t);
	b->clock_origin = now;
	b->cfg.tz = t.tz;
	if (b->steps_next_at != NEVER)
		b->steps_next_at = next_minute_at(b, now);
	ev = miband__band_event(b, MIBAND_BAND_EV_TIME_SET);
	if (ev)
		ev->u.time = t;
	return MIBAND_ATT_OK;
}

static int on_hr_write(struct miband_band *b, const uint8_t *data, size_t len,
		       uint64_t now)
{
	struct miband_hr_control c;
	int r = miband_decode_hr_control(data, len, &c);

	if (r == MIBAND_E_UNSUPPORTED)
		return MIBAND_ATT_OK;
	if (r < 0)
		return MIBAND_ATT_INVALID_LENGTH;
	switch (c.cmd) {
	case MIBAND_HR_CMD_CONTROL:
		/* Room for the HR_START / HR_STOP event. */
		if (miband__band_q_free(b) < 1)
			return MIBAND_ATT_UNLIKELY;
		if (c.mode == MIBAND_HR_MODE_MANUAL) { /* one-shot */
			b->hr_oneshot = c.arg ? 1 : 0;
			b->hr_oneshot_at =
				c.arg ? miband__band_add_ms(
						now, b->cfg.hr_measure_ms)
				      : NEVER;
		} else if (c.mode == MIBAND_HR_MODE_CONTINUOUS) {
			if (c.arg) {
				if (!b->hr_continuous)
					(void)miband__band_event(
						b, MIBAND_BAND_EV_HR_START);
				b->hr_continuous = 1;
				b->hr_next_at =
					miband__band_add_ms(now, HR_PERIOD_MS);
				b->hr_stop_at = miband__band_add_ms(
					now, b->cfg.hr_continuous_ms);
			} else if (b->hr_continuous) {
				b->hr_continuous = 0;
				b->hr_next_at = NEVER;
				b->hr_stop_at = NEVER;
				(void)miband__band_event(
					b, MIBAND_BAND_EV_HR_STOP);
			}
		}
		/* 15 00 xx: measure during sleep; accepted, nothing to do. */
		return MIBAND_ATT_OK;
	case MIBAND_HR_CMD_INTERVAL:
		b->hr_interval = c.arg;
		return MIBAND_ATT_OK;
	case MIBAND_HR_CMD_PING:
		if (b->hr_continuous)
			b->hr_stop_at = miband__band_add_ms(
				now, b->cfg.hr_continuous_ms);
		return MIBAND_ATT_OK;
	}
	return MIBAND_ATT_OK;
}

static int on_new_alert(struct miband_band *b, const uint8_t *data, size_t len)
{
	struct miband_new_alert a;

	if (miband_decode_new_alert(data, len, &a))
		return MIBAND_ATT_INVALID_LENGTH;
	if (miband__band_q_free(b) < 1)
		return MIBAND_ATT_UNLIKELY;
	if (a.category == MIBAND_CATEGORY_CALL) {
		if (a.count == 0)
			(void)miband__band_event(b, MIBAND_BAND_EV_CALL_STOP);
		else
			(void)event_bytes(b, MIBAND_BAND_EV_CALL, a.text,
					  a.text_len);
		return MIBAND_ATT_OK;
	}
	(void)event_bytes(b, MIBAND_BAND_EV_TEXT, a.text, a.text_len);
	return MIBAND_ATT_OK;
}

/* Old chunked transfer H(0020): 00 <flags|type> <counter> data. */
static int on_chunk(struct miband_band *b, const uint8_t *data, size_t len)
{
	struct miband_chunk c;
	int r = miband_decode_chunk(data, len, &c);
	bool first, last;

	if (r == MIBAND_E_UNSUPPORTED)
		return MIBAND_ATT_OK;
	if (r < 0)
		return MIBAND_ATT_INVALID_LENGTH;
	first = c.flags == MIBAND_CHUNK_FIRST || c.flags == MIBAND_CHUNK_SINGLE;
	last = c.flags == MIBAND_CHUNK_LAST || c.flags == MIBAND_CHUNK_SINGLE;
	if (first) {
		/* The previous message's event must be gone first. */
		if (text_in_use(b))
			return MIBAND_ATT_UNLIKELY;
		b->chunk_state = 1;
		b->chunk_type = c.type;
		b->text_len = 0;
	} else if (!b->chunk_state || c.type != b->chunk_type ||
		   c.counter != b->chunk_counter) {
		/* A lost or stray chunk: the message is discarded. */
		b->chunk_state = 0;
		b->text_len = 0;
		return MIBAND_ATT_OK;
	}
	if (c.len > sizeof(b->text) - b->text_len) {
		b->chunk_state = 0;
		b->text_len = 0;
		return MIBAND_ATT_OK;
	}
	if (last && miband__band_q_free(b) < 1)
		return MIBAND_ATT_UNLIKELY;
	if (c.len)
		memcpy(b->text + b->text_len, c.data, c.len);
	b->text_len = (uint16_t)(b->text_len + c.len);
	b->chunk_counter = (uint8_t)(c.counter + 1u);
	if (last) {
		b->chunk_state = 0;
		/* Only type 0 is a notification; weather, music... are
		 * accepted and dropped. */
		if (b->chunk_type == 0) {
			struct miband_band_event *ev =
				miband__band_event(b, MIBAND_BAND_EV_TEXT);

			if (ev) {
				ev->u.text.data = b->text;
				ev->u.text.len = b->text_len;
			}
		}
	}
	return MIBAND_ATT_OK;
}

static int on_config(struct miband_band *b, const uint8_t *data, size_t len)
{
	uint8_t reply[5];
	int n;

	if (!len)
		return MIBAND_ATT_INVALID_LENGTH;
	if (miband__band_q_free(b) < 2)
		return MIBAND_ATT_UNLIKELY;
	(void)event_bytes(b, MIBAND_BAND_EV_CONFIG, data, len);
	n = miband_encode_config_reply(reply, sizeof(reply), data, len, 0x01);
	if (n > 0)
		(void)miband__band_notify(b, MIBAND_CH_CONFIG, reply,
					  (size_t)n);
	return MIBAND_ATT_OK;
}

/* ---- the central's operations ---- */

int miband_band_on_subscribe(struct miband_band *b, enum miband_channel ch,
			     bool enable, uint64_t now)
{
	if ((unsigned)ch >= MIBAND_CH_COUNT)
		return MIBAND_ATT_REQUEST_NOT_SUPPORTED;
	if (!(miband__band_props(b, ch) &
	      (MIBAND_PROP_NOTIFY | MIBAND_PROP_INDICATE)))
		return MIBAND_ATT_REQUEST_NOT_SUPPORTED;
	if (!b->connected)
		return MIBAND_ATT_UNLIKELY;
	set_subscribed(b, ch, enable);
	if (ch == MIBAND_CH_STEPS) {
		if (enable) {
			b->steps_base = miband__band_steps_now(b, now);
			b->steps_next_at = next_minute_at(b, now);
		} else {
			b->steps_next_at = NEVER;
		}
	}
	return MIBAND_ATT_OK;
}

int miband_band_on_write(struct miband_band *b, enum miband_channel ch,
			 const uint8_t *data, size_t len, bool with_response,
			 uint64_t now)
{
	uint8_t props;

	/* The write type is not checked: clients use whatever their stack
	 * picks for a write-without-response characteristic (2). */
	(void)with_response;
	if ((unsigned)ch >= MIBAND_CH_COUNT)
		return MIBAND_ATT_REQUEST_NOT_SUPPORTED;
	props = miband__band_props(b, ch);
	if (!props)
		return MIBAND_ATT_REQUEST_NOT_SUPPORTED;
	if (!(props & (MIBAND_PROP_WRITE | MIBAND_PROP_WRITE_NR)))
		return MIBAND_ATT_WRITE_NOT_PERMITTED;
	if (!b->connected)
		return MIBAND_ATT_UNLIKELY;
	if (!data && len)
		return MIBAND_ATT_UNLIKELY;
	if (ch == MIBAND_CH_AUTH)
		return on_auth_write(b, data, len, now);
	/* Before auth the band ignores everything else. */
	if (!b->authed)
		return MIBAND_ATT_OK;
	switch (ch) {
	case MIBAND_CH_TIME:
		return on_time_write(b, data, len, now);
	case MIBAND_CH_HR_CTL:
		return on_hr_write(b, data, len, now);
	case MIBAND_CH_ALERT: {
		struct miband_band_event *ev;
		uint8_t level;

		if (miband_decode_alert(data, len, &level))
			return MIBAND_ATT_INVALID_LENGTH;
		ev = miband__band_event(b, MIBAND_BAND_EV_ALERT);
		if (!ev)
			return MIBAND_ATT_UNLIKELY;
		ev->u.level = level;
		return MIBAND_ATT_OK;
	}
	case MIBAND_CH_NEW_ALERT:
		return on_new_alert(b, data, len);
	case MIBAND_CH_CHUNKED:
		return on_chunk(b, data, len);
	case MIBAND_CH_CONFIG:
		return on_config(b, data, len);
	case MIBAND_CH_USER:
		if (!len)
			return MIBAND_ATT_INVALID_LENGTH;
		if (event_bytes(b, MIBAND_BAND_EV_USER, data, len))
			return MIBAND_ATT_UNLIKELY;
		return MIBAND_ATT_OK;
	case MIBAND_CH_FETCH_CTL:
		return miband__band_fetch_write(b, data, len, now);
	default:
		return MIBAND_ATT_OK; /* sensor control etc.: accepted */
	}
}

/* ---- time ---- */

uint64_t miband_band_deadline_ms(const struct miband_band *b)
{
	uint64_t t = NEVER;

	if (b->prompt)
		t = min64(t, b->prompt_at);
	if (!b->connected)
		return t;
	if (!b->authed && !b->prompt && b->cfg.unauth_drop_ms)
		t = min64(t, miband__band_add_ms(b->connected_at,
						 b->cfg.unauth_drop_ms));
	if (b->hr_oneshot)
		t = min64(t, b->hr_oneshot_at);
	if (b->hr_continuous)
		t = min64(t, min64(b->hr_next_at, b->hr_stop_at));
	if (b->fetch_state == FETCH_SENDING)
		t = min64(t, b->fetch_next_at);
	if (b->authed && is_subscribed(b, MIBAND_CH_STEPS))
		t = min64(t, b->steps_next_at);
	return t;
}

static void hr_timers(struct miband_band *b, uint64_t now)
{
	uint8_t v[2];

	if (b->hr_oneshot && b->hr_oneshot_at <= now &&
	    miband__band_q_free(b) >= 1) {
		b->last_bpm = miband__band_live_bpm(b, now);
		if (miband_encode_hr(v, sizeof(v), b->last_bpm) == 2)
			(void)miband__band_notify(b, MIBAND_CH_HR_MEAS, v, 2);
		b->hr_oneshot = 0;
		b->hr_oneshot_at = NEVER;
	}
	if (!b->hr_continuous)
		return;
	if (b->hr_stop_at <= now) {
		if (miband__band_q_free(b) < 1)
			return;
		b->hr_continuous = 0;
		b->hr_next_at = NEVER;
		b->hr_stop_at = NEVER;
		(void)miband__band_event(b, MIBAND_BAND_EV_HR_STOP);
		return;
	}
	if (b->hr_next_at <= now && miband__band_q_free(b) >= 1) {
		b->last_bpm = miband__band_live_bpm(b, now);
		if (miband_encode_hr(v, sizeof(v), b->last_bpm) == 2)
			(void)miband__band_notify(b, MIBAND_CH_HR_MEAS, v, 2);
		/* A late call does not make up for lost seconds. */
		b->hr_next_at = miband__band_add_ms(now, HR_PERIOD_MS);
	}
}

static void steps_timer(struct miband_band *b, uint64_t now)
{
	uint8_t v[MIBAND_BAND_VALUE_MAX];
	uint32_t steps;
	int n;

	if (!b->authed || !is_subscribed(b, MIBAND_CH_STEPS) ||
	    b->steps_next_at > now || miband__band_q_free(b) < 1)
		return;
	steps = miband__band_steps_now(b, now);
	if (steps != b->steps_base) {
		n = miband__band_encode_steps(b, now, v, sizeof(v));
		if (n > 0)
			(void)miband__band_notify(b, MIBAND_CH_STEPS, v,
						  (size_t)n);
		b->steps_base = steps;
	}
	b->steps_next_at = next_minute_at(b, now);
}

void miband_band_on_timeout(struct miband_band *b, uint64_t now)
{
	if (b->prompt && b->prompt_at <= now && miband__band_q_free(b) >= 2) {
		/* Tap policies answer after the tap delay; otherwise the
		 * prompt gave up: both end in 10 01 01 or 10 01 02. */
		finish_prompt(b, b->cfg.pairing == MIBAND_PAIRING_ACCEPT, now);
	}
	if (!b->connected)
		return;
	if (!b->authed && !b->prompt && b->cfg.unauth_drop_ms &&
	    miband__band_add_ms(b->connected_at, b->cfg.unauth_drop_ms) <=
		    now) {
		struct miband__band_queued *e;

		if (miband__band_q_free(b) < 2)
			return;
		reset_link_state(b, now);
		b->connected = 0;
		(void)miband__band_event(b, MIBAND_BAND_EV_UNAUTH_DROP);
		e = q_push(b, MIBAND_BAND_ACTION_DISCONNECT);
		if (e)
			e->reason = MIBAND_E_NOT_AUTHED;
		return;
	}
	hr_timers(b, now);
	miband__band_fetch_pump(b, now);
	steps_timer(b, now);
}

/* ---- the embedding's controls ---- */

int miband_band_emit_event(struct miband_band *b, uint8_t code, uint8_t arg,
			   uint64_t now)
{
	uint8_t v[4];
	int n;

	(void)now;
	if (!b->connected)
		return MIBAND_E_DISCONNECTED;
	if (!b->authed)
		return MIBAND_E_NOT_AUTHED;
	if (miband__band_q_free(b) < 1)
		return MIBAND_E_NOSPACE;
	n = miband_encode_device_event(v, sizeof(v), code, arg);
	if (n < 0)
		return n;
	return miband__band_notify(b, MIBAND_CH_EVENTS, v, (size_t)n);
}

void miband_band_set_battery(struct miband_band *b, uint8_t level,
			     bool charging)
{
	b->battery_level = level > 100 ? 100 : level;
	b->charging = charging ? 1 : 0;
}

int64_t miband_band_clock(const struct miband_band *b, uint64_t now)
{
	int64_t ms = band_ms(b, now);

	/* Floor division, so the clock never jumps a second early. */
	return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

int miband_band_get_key(const struct miband_band *b, uint8_t ret_key[16])
{
	if (!b->has_key)
		return MIBAND_E_NO_KEY;
	memcpy(ret_key, b->key, 16);
	return 0;
}

bool miband_band_is_authed(const struct miband_band *b)
{
	return b->authed != 0;
}
