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
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "miband/band.h"
#include "miband/codec.h"

#define QMAX MIBAND_BAND_ACTION_QUEUE
#define NEVER UINT64_MAX

/* Slots history packets leave free for replies to writes. */
#define FETCH_RESERVE 2u
/* Samples per history packet at MTU 23: counter + 4 x 4 bytes. */
#define FETCH_PER_PACKET 4u
#define SAMPLE_LEN 4u
#define HR_PERIOD_MS 1000u

enum fetch_state {
	FETCH_IDLE = 0,
	FETCH_READY,   /* 10 01 01 sent, waiting for 02 */
	FETCH_SENDING, /* data packets going out */
	FETCH_DONE,    /* 10 02 01 sent, waiting for 03 or a new round */
};

enum chunk_flags {
	CHUNK_FIRST = 0x00,
	CHUNK_MIDDLE = 0x40,
	CHUNK_LAST = 0x80,
	CHUNK_SINGLE = 0xc0,
};

/* ---- defaults and names ---- */

void miband_band_config_init(struct miband_band_config *cfg,
			     enum miband_model model)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->model = model;
	cfg->crypto = NULL;
	cfg->pairing = MIBAND_PAIRING_ACCEPT;
	cfg->tap_delay_ms = 1500;
	cfg->prompt_timeout_ms = 30000;
	cfg->unauth_drop_ms = 30000;
	cfg->hr_continuous_ms = 15000;
	cfg->hr_measure_ms = 3000;
	cfg->reject_setkey_flag08 = false;
	cfg->seed = 1;
	cfg->start_unix = 1559390400; /* 2019-06-01 12:00 UTC: MB3 era */
	cfg->tz = 0;
	cfg->history_days = 100;
	cfg->fetch_batch_max = 1440;
	cfg->battery_level = 80;
}

const char *miband_band_event_name(enum miband_band_event_type type)
{
	switch (type) {
	case MIBAND_BAND_EV_PAIR_PROMPT:
		return "pair-prompt";
	case MIBAND_BAND_EV_PAIRED:
		return "paired";
	case MIBAND_BAND_EV_PAIR_DECLINED:
		return "pair-declined";
	case MIBAND_BAND_EV_AUTHED:
		return "authed";
	case MIBAND_BAND_EV_AUTH_FAILED:
		return "auth-failed";
	case MIBAND_BAND_EV_ALERT:
		return "alert";
	case MIBAND_BAND_EV_CALL:
		return "call";
	case MIBAND_BAND_EV_CALL_STOP:
		return "call-stop";
	case MIBAND_BAND_EV_TEXT:
		return "text";
	case MIBAND_BAND_EV_CONFIG:
		return "config";
	case MIBAND_BAND_EV_USER:
		return "user";
	case MIBAND_BAND_EV_TIME_SET:
		return "time-set";
	case MIBAND_BAND_EV_HR_START:
		return "hr-start";
	case MIBAND_BAND_EV_HR_STOP:
		return "hr-stop";
	case MIBAND_BAND_EV_FETCH_ACK:
		return "fetch-ack";
	case MIBAND_BAND_EV_UNAUTH_DROP:
		return "unauth-drop";
	}
	return "unknown";
}

/* ---- small helpers ---- */

static uint32_t mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	h *= 0x846ca68bu;
	h ^= h >> 16;
	return h;
}

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
static uint8_t channel_props(const struct miband_band *b,
			     enum miband_channel ch)
{
	const struct miband_gatt_table *t = miband_gatt_table(b->cfg.model);
	size_t i;

	if (!t)
		return 0;
	for (i = 0; i < t->n_attrs; i++)
		if (t->attrs[i].channel == (int)ch)
			return t->attrs[i].props;
	return 0;
}

static uint64_t add_ms(uint64_t now, uint32_t ms)
{
	return now > NEVER - ms ? NEVER : now + ms;
}

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
	return add_ms(now, (uint32_t)(60000 - rem));
}

/* ---- the action ring ---- */

static unsigned q_free(const struct miband_band *b)
{
	return (unsigned)QMAX - b->qlen;
}

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
static int notify(struct miband_band *b, enum miband_channel ch,
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

static struct miband_band_event *event(struct miband_band *b,
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

	buf[0] = MIBAND_AUTH_RESPONSE;
	buf[1] = cmd;
	buf[2] = status;
	if (len > 16)
		len = 16;
	if (len)
		memcpy(buf + 3, payload, len);
	memcpy(b->auth_last, buf, 3);
	(void)notify(b, MIBAND_CH_AUTH, buf, 3 + len);
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
		(void)event(b, MIBAND_BAND_EV_PAIRED);
	} else {
		auth_reply(b, MIBAND_AUTH_CMD_SET_KEY, 0x02, NULL, 0);
		(void)event(b, MIBAND_BAND_EV_PAIR_DECLINED);
	}
	close_prompt(b, now);
}

static int auth_set_key(struct miband_band *b, const uint8_t *data, size_t len,
			uint64_t now)
{
	uint8_t flags;

	if (len != 18)
		return MIBAND_ATT_INVALID_LENGTH;
	/* A second key while the prompt is open is ignored: the band keeps
	 * the first (PROTOCOL.md 7.1, the real log shows this). */
	if (b->prompt)
		return MIBAND_ATT_OK;
	if (q_free(b) < 2)
		return MIBAND_ATT_UNLIKELY;
	flags = data[1];
	if ((flags != 0x00 && flags != 0x08) ||
	    (flags == 0x08 && b->cfg.reject_setkey_flag08)) {
		auth_reply(b, MIBAND_AUTH_CMD_SET_KEY, 0x04, NULL, 0);
		return MIBAND_ATT_OK;
	}
	memcpy(b->pending_key, data + 2, 16);
	b->prompt = 1;
	switch (b->cfg.pairing) {
	case MIBAND_PAIRING_ACCEPT:
	case MIBAND_PAIRING_DECLINE:
		b->prompt_at = add_ms(now, b->cfg.tap_delay_ms);
		break;
	case MIBAND_PAIRING_NEVER:
	case MIBAND_PAIRING_MANUAL:
		b->prompt_at = b->cfg.prompt_timeout_ms
				       ? add_ms(now, b->cfg.prompt_timeout_ms)
				       : NEVER;
		break;
	}
	(void)event(b, MIBAND_BAND_EV_PAIR_PROMPT);
	return MIBAND_ATT_OK;
}

static int auth_random(struct miband_band *b, const uint8_t *data, size_t len)
{
	static const uint8_t crypt_tail[3] = {0x02, 0x01, 0x00};
	uint8_t cmd = data[0];

	if (cmd == MIBAND_AUTH_CMD_RANDOM) {
		if (len != 2)
			return MIBAND_ATT_INVALID_LENGTH;
	} else if (len == 5) {
		if (memcmp(data + 2, crypt_tail, 3))
			return MIBAND_ATT_OK; /* unknown variant: no answer */
	} else if (len != 2) {
		return MIBAND_ATT_INVALID_LENGTH;
	}
	if (q_free(b) < 1)
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
	uint8_t cmd = data[0], expect[16];
	int r;

	if (len != 18)
		return MIBAND_ATT_INVALID_LENGTH;
	if (q_free(b) < 2)
		return MIBAND_ATT_UNLIKELY;
	if (!b->has_key || !b->has_random) {
		auth_reply(b, cmd, 0x04, NULL, 0);
		(void)event(b, MIBAND_BAND_EV_AUTH_FAILED);
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
	r = miband_ct_memcmp(expect, data + 2, 16);
	miband_wipe(expect, sizeof(expect));
	if (r) {
		auth_reply(b, cmd, 0x04, NULL, 0);
		(void)event(b, MIBAND_BAND_EV_AUTH_FAILED);
		return MIBAND_ATT_OK;
	}
	b->authed = 1;
	auth_reply(b, cmd, MIBAND_AUTH_STATUS_OK, NULL, 0);
	(void)event(b, MIBAND_BAND_EV_AUTHED);
	return MIBAND_ATT_OK;
}

static int on_auth_write(struct miband_band *b, const uint8_t *data, size_t len,
			 uint64_t now)
{
	if (!len)
		return MIBAND_ATT_INVALID_LENGTH;
	switch (data[0]) {
	case MIBAND_AUTH_CMD_SET_KEY:
		return auth_set_key(b, data, len, now);
	case MIBAND_AUTH_CMD_RANDOM:
	case MIBAND_AUTH_CMD_RANDOM | 0x80:
		return auth_random(b, data, len);
	case MIBAND_AUTH_CMD_ANSWER:
	case MIBAND_AUTH_CMD_ANSWER | 0x80:
		return auth_answer(b, data, len);
	}
	return MIBAND_ATT_OK; /* unknown command: silence */
}

int miband_band_tap(struct miband_band *b, bool accept, uint64_t now)
{
	if (!b->prompt)
		return MIBAND_E_STATE;
	if (q_free(b) < 2)
		return MIBAND_E_NOSPACE;
	finish_prompt(b, accept, now);
	return 0;
}

/* ---- values the band reports ---- */

static int put_str(uint8_t *buf, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n > cap)
		n = cap;
	memcpy(buf, s, n);
	return (int)n;
}

static const char *sw_revision(enum miband_model m)
{
	switch (m) {
	case MIBAND_MODEL_MB2:
		return "V1.0.1.81"; /* the captured band (PROTOCOL.md 7.1) */
	case MIBAND_MODEL_MB3:
		return "V2.4.0.32"; /* last MB3 release (GB firmware list) */
	case MIBAND_MODEL_MB4:
		return "V1.0.9.66"; /* satcar77/miband4 #48 */
	default:
		return "V1.0.2.66"; /* plausible, not observed */
	}
}

static const char *hw_revision(enum miband_model m)
{
	/* Only the Mi Band 2 value is observed (PROTOCOL.md 1.1, MX). */
	return m == MIBAND_MODEL_MB2 ? "V0.1.3.2" : "V0.3.3.2";
}

static int read_serial(const struct miband_band *b, uint8_t *buf, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t s[12];
	uint32_t h1 = mix32(b->cfg.seed ^ 0x5e71a1u);
	uint32_t h2 = mix32(h1 ^ (uint32_t)b->cfg.model);
	unsigned i;

	for (i = 0; i < 12; i++) {
		uint32_t h = i < 8 ? h1 : h2;

		s[i] = (uint8_t)hex[h >> (4 * (i % 8)) & 0xfu];
	}
	if (cap > sizeof(s))
		cap = sizeof(s);
	memcpy(buf, s, cap);
	return (int)cap;
}

static int read_system_id(const struct miband_band *b, uint8_t *buf, size_t cap)
{
	uint8_t v[8];
	uint32_t h = mix32(b->cfg.seed ^ 0x51d0u);
	unsigned i;

	/* EUI-64 style as on the MB2 (xx xx xx ff fe xx xx xx). */
	for (i = 0; i < 3; i++)
		v[i] = (uint8_t)(h >> (8 * i));
	v[3] = 0xff;
	v[4] = 0xfe;
	h = mix32(h);
	for (i = 5; i < 8; i++)
		v[i] = (uint8_t)(h >> (8 * (i - 5)));
	if (cap > sizeof(v))
		cap = sizeof(v);
	memcpy(buf, v, cap);
	return (int)cap;
}

static int read_pnp_id(const struct miband_band *b, uint8_t *buf, size_t cap)
{
	/* Vendor 0x0157 (Huami, SIG source); product 0x0004 is the MB2's
	 * (observed); the others' product ids are made up. */
	uint8_t v[7] = {0x01, 0x57, 0x01, 0x00, 0x00, 0x00, 0x01};

	v[3] = (uint8_t)(4u + 3u * (unsigned)b->cfg.model);
	if (cap > sizeof(v))
		cap = sizeof(v);
	memcpy(buf, v, cap);
	return (int)cap;
}

static uint32_t steps_now(const struct miband_band *b, uint64_t now)
{
	return miband_history_steps_today(b->cfg.seed,
					  miband_band_clock(b, now), b->cfg.tz);
}

static int encode_steps(const struct miband_band *b, uint64_t now, uint8_t *buf,
			size_t cap)
{
	struct miband_steps s;

	s.steps = steps_now(b, now);
	s.meters = s.steps * 7u / 10u; /* a 70 cm stride */
	s.kcal = s.steps / 25u;
	s.has_distance = true;
	return miband_encode_steps(buf, cap, &s);
}

static int encode_battery(const struct miband_band *b, uint8_t *buf, size_t cap)
{
	struct miband_battery bat;
	int64_t start = b->cfg.start_unix;

	memset(&bat, 0, sizeof(bat));
	bat.level = b->battery_level;
	bat.charging = b->charging != 0;
	/* Taken off the charger two days before start, full. */
	miband_time_from_unix(start - 2 * 86400 + 3600, b->cfg.tz,
			      &bat.last_charge);
	miband_time_from_unix(start - 2 * 86400, b->cfg.tz, &bat.last_off);
	bat.last_charge.dow = 0;
	bat.last_off.dow = 0;
	bat.last_charge_level = 100;
	return miband_encode_battery(buf, cap, &bat);
}

static int encode_clock(const struct miband_band *b, uint64_t now, uint8_t *buf,
			size_t cap)
{
	struct miband_time t;

	miband_time_from_unix(miband_band_clock(b, now), b->cfg.tz, &t);
	return miband_encode_time(buf, cap, &t);
}

/* A plausible live heart rate for the band clock's second. */
static uint8_t live_bpm(const struct miband_band *b, uint64_t now)
{
	int64_t s = miband_band_clock(b, now);
	uint32_t slow = mix32(b->cfg.seed ^ (uint32_t)(s / 20));
	uint32_t fast = mix32(b->cfg.seed + (uint32_t)s * 0x9e3779b9u);

	return (uint8_t)(62u + slow % 25u + fast % 5u);
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
	if (q_free(b) < 1)
		return MIBAND_ATT_UNLIKELY;
	b->unix_origin = miband_time_to_unix(&t);
	b->clock_origin = now;
	b->cfg.tz = t.tz;
	if (b->steps_next_at != NEVER)
		b->steps_next_at = next_minute_at(b, now);
	ev = event(b, MIBAND_BAND_EV_TIME_SET);
	if (ev)
		ev->u.time = t;
	return MIBAND_ATT_OK;
}

static int on_hr_write(struct miband_band *b, const uint8_t *data, size_t len,
		       uint64_t now)
{
	if (!len)
		return MIBAND_ATT_INVALID_LENGTH;
	switch (data[0]) {
	case 0x15:
		if (len != 3)
			return MIBAND_ATT_INVALID_LENGTH;
		/* Room for the HR_START / HR_STOP event. */
		if (q_free(b) < 1)
			return MIBAND_ATT_UNLIKELY;
		if (data[1] == 0x02) { /* manual one-shot */
			b->hr_oneshot = data[2] ? 1 : 0;
			b->hr_oneshot_at =
				data[2] ? add_ms(now, b->cfg.hr_measure_ms)
					: NEVER;
		} else if (data[1] == 0x01) { /* continuous */
			if (data[2]) {
				if (!b->hr_continuous)
					(void)event(b, MIBAND_BAND_EV_HR_START);
				b->hr_continuous = 1;
				b->hr_next_at = add_ms(now, HR_PERIOD_MS);
				b->hr_stop_at =
					add_ms(now, b->cfg.hr_continuous_ms);
			} else if (b->hr_continuous) {
				b->hr_continuous = 0;
				b->hr_next_at = NEVER;
				b->hr_stop_at = NEVER;
				(void)event(b, MIBAND_BAND_EV_HR_STOP);
			}
		}
		/* 15 00 xx: measure during sleep; accepted, nothing to do. */
		return MIBAND_ATT_OK;
	case 0x14:
		if (len != 2)
			return MIBAND_ATT_INVALID_LENGTH;
		b->hr_interval = data[1];
		return MIBAND_ATT_OK;
	case 0x16:
		if (len != 1)
			return MIBAND_ATT_INVALID_LENGTH;
		if (b->hr_continuous)
			b->hr_stop_at = add_ms(now, b->cfg.hr_continuous_ms);
		return MIBAND_ATT_OK;
	}
	return MIBAND_ATT_OK;
}

static int on_new_alert(struct miband_band *b, const uint8_t *data, size_t len)
{
	size_t skip = 2;

	if (len < 2)
		return MIBAND_ATT_INVALID_LENGTH;
	if (q_free(b) < 1)
		return MIBAND_ATT_UNLIKELY;
	if (data[0] == MIBAND_CATEGORY_CALL) {
		if (data[1] == 0)
			(void)event(b, MIBAND_BAND_EV_CALL_STOP);
		else
			(void)event_bytes(b, MIBAND_BAND_EV_CALL, data + 2,
					  len - 2);
		return MIBAND_ATT_OK;
	}
	if (data[0] == MIBAND_CATEGORY_CUSTOM && len > 2)
		skip = 3; /* the app icon */
	(void)event_bytes(b, MIBAND_BAND_EV_TEXT, data + skip, len - skip);
	return MIBAND_ATT_OK;
}

/* Old chunked transfer H(0020): 00 <flags|type> <counter> data. */
static int on_chunk(struct miband_band *b, const uint8_t *data, size_t len)
{
	uint8_t flags, type, counter;
	size_t n;

	if (len < 3)
		return MIBAND_ATT_INVALID_LENGTH;
	if (data[0] != 0x00)
		return MIBAND_ATT_OK;
	flags = data[1] & 0xc0;
	type = data[1] & 0x3f;
	counter = data[2];
	n = len - 3;
	if (flags == CHUNK_FIRST || flags == CHUNK_SINGLE) {
		/* The previous message's event must be gone first. */
		if (text_in_use(b))
			return MIBAND_ATT_UNLIKELY;
		b->chunk_state = 1;
		b->chunk_type = type;
		b->text_len = 0;
	} else if (!b->chunk_state || type != b->chunk_type ||
		   counter != b->chunk_counter) {
		/* A lost or stray chunk: the message is discarded. */
		b->chunk_state = 0;
		b->text_len = 0;
		return MIBAND_ATT_OK;
	}
	if (n > sizeof(b->text) - b->text_len) {
		b->chunk_state = 0;
		b->text_len = 0;
		return MIBAND_ATT_OK;
	}
	if ((flags == CHUNK_LAST || flags == CHUNK_SINGLE) && q_free(b) < 1)
		return MIBAND_ATT_UNLIKELY;
	if (n)
		memcpy(b->text + b->text_len, data + 3, n);
	b->text_len = (uint16_t)(b->text_len + n);
	b->chunk_counter = (uint8_t)(counter + 1u);
	if (flags == CHUNK_LAST || flags == CHUNK_SINGLE) {
		b->chunk_state = 0;
		/* Only type 0 is a notification; weather, music... are
		 * accepted and dropped. */
		if (b->chunk_type == 0) {
			struct miband_band_event *ev =
				event(b, MIBAND_BAND_EV_TEXT);

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
	size_t n;

	if (!len)
		return MIBAND_ATT_INVALID_LENGTH;
	if (q_free(b) < 2)
		return MIBAND_ATT_UNLIKELY;
	(void)event_bytes(b, MIBAND_BAND_EV_CONFIG, data, len);
	/* 10 <cmd> 01; settings (06 xx 00) echo their 3-byte prefix. */
	n = data[0] == 0x06 ? (len < 3 ? len : 3) : 1;
	reply[0] = 0x10;
	memcpy(reply + 1, data, n);
	reply[1 + n] = 0x01;
	(void)notify(b, MIBAND_CH_CONFIG, reply, n + 2);
	return MIBAND_ATT_OK;
}

/* ---- history fetch (PROTOCOL.md 5) ---- */

static uint32_t history_first_minute(const struct miband_band *b)
{
	int64_t m =
		b->cfg.start_unix / 60 - (int64_t)b->cfg.history_days * 1440;

	return m < 0 ? 0u : (uint32_t)m;
}

/* First minute not yet complete on the band clock. */
static uint32_t history_end_minute(const struct miband_band *b, uint64_t now)
{
	int64_t m = miband_band_clock(b, now) / 60;

	if (m < 0)
		return 0;
	return m > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

static int fetch_start(struct miband_band *b, const uint8_t *data, size_t len,
		       uint64_t now)
{
	struct miband_time since, first;
	uint32_t m, start, end, count = 0;
	int64_t req;
	uint8_t reply[16];
	int n;

	if (len != 10)
		return MIBAND_ATT_INVALID_LENGTH;
	if (q_free(b) < 1)
		return MIBAND_ATT_UNLIKELY;
	if (miband_decode_datetime7(data + 2, 7, &since)) {
		reply[0] = 0x10;
		reply[1] = 0x01;
		reply[2] = 0x04;
		(void)notify(b, MIBAND_CH_FETCH_CTL, reply, 3);
		b->fetch_state = FETCH_IDLE;
		return MIBAND_ATT_OK;
	}
	since.tz = (int8_t)data[9];
	req = miband_time_to_unix(&since) / 60;
	start = history_first_minute(b);
	end = history_end_minute(b, now);
	if (req < 0)
		m = 0;
	else if (req > (int64_t)UINT32_MAX)
		m = UINT32_MAX;
	else
		m = (uint32_t)req;
	if (m < start)
		m = start;
	/* Only activity (type 01) is kept; other types have nothing. */
	if (data[1] == MIBAND_FETCH_TYPE_ACTIVITY && m < end)
		count = end - m < b->cfg.fetch_batch_max
				? end - m
				: b->cfg.fetch_batch_max;
	miband_time_from_unix((int64_t)m * 60, b->cfg.tz, &first);
	first.dow = 0;
	n = miband_encode_fetch_reply_start(reply, sizeof(reply), 0x01, count,
					    &first);
	if (n < 0)
		return MIBAND_ATT_UNLIKELY;
	(void)notify(b, MIBAND_CH_FETCH_CTL, reply, (size_t)n);
	/* Nothing to send ends the round: a following 02 is refused. */
	b->fetch_state = count ? FETCH_READY : FETCH_IDLE;
	b->fetch_pos = m;
	b->fetch_left = count;
	b->fetch_counter = 0;
	b->fetch_next_at = NEVER;
	return MIBAND_ATT_OK;
}

static int on_fetch_write(struct miband_band *b, const uint8_t *data,
			  size_t len, uint64_t now)
{
	static const uint8_t refused[3] = {0x10, 0x02, 0x04};
	static const uint8_t acked[3] = {0x10, 0x03, 0x01};

	if (!len)
		return MIBAND_ATT_INVALID_LENGTH;
	switch (data[0]) {
	case 0x01:
		return fetch_start(b, data, len, now);
	case 0x02:
		if (len != 1)
			return MIBAND_ATT_INVALID_LENGTH;
		if (b->fetch_state != FETCH_READY) {
			if (q_free(b) < 1)
				return MIBAND_ATT_UNLIKELY;
			(void)notify(b, MIBAND_CH_FETCH_CTL, refused, 3);
			return MIBAND_ATT_OK;
		}
		/* Packets (and the closing 10 02 01) go out from
		 * on_timeout, paced by fetch_next_at. */
		b->fetch_state = FETCH_SENDING;
		b->fetch_next_at = now;
		return MIBAND_ATT_OK;
	case 0x03:
		if (q_free(b) < 2)
			return MIBAND_ATT_UNLIKELY;
		(void)notify(b, MIBAND_CH_FETCH_CTL, acked, 3);
		(void)event(b, MIBAND_BAND_EV_FETCH_ACK);
		b->fetch_state = FETCH_IDLE;
		b->fetch_left = 0;
		b->fetch_next_at = NEVER;
		return MIBAND_ATT_OK;
	}
	return MIBAND_ATT_OK;
}

/* Sends history packets due by now while the ring has room. */
static void fetch_pump(struct miband_band *b, uint64_t now)
{
	static const uint8_t done[3] = {0x10, 0x02, 0x01};

	while (b->fetch_state == FETCH_SENDING && b->fetch_next_at <= now) {
		uint8_t pkt[1 + FETCH_PER_PACKET * SAMPLE_LEN];
		uint32_t i, n;

		if (!b->fetch_left) {
			if (q_free(b) < 1)
				return;
			(void)notify(b, MIBAND_CH_FETCH_CTL, done, 3);
			b->fetch_state = FETCH_DONE;
			b->fetch_next_at = NEVER;
			return;
		}
		if (q_free(b) <= FETCH_RESERVE)
			return;
		n = b->fetch_left < FETCH_PER_PACKET ? b->fetch_left
						     : FETCH_PER_PACKET;
		pkt[0] = b->fetch_counter;
		for (i = 0; i < n; i++) {
			struct miband_sample s;
			uint8_t *p = pkt + 1 + i * SAMPLE_LEN;

			miband_history_sample(b->cfg.seed, b->fetch_pos + i,
					      &s);
			p[0] = s.kind;
			p[1] = s.intensity;
			p[2] = s.steps;
			p[3] = s.heart_rate;
		}
		(void)notify(b, MIBAND_CH_FETCH_DATA, pkt, 1 + n * SAMPLE_LEN);
		b->fetch_counter++;
		b->fetch_pos += n;
		b->fetch_left -= n;
		/* One packet per millisecond of virtual time. */
		b->fetch_next_at = add_ms(b->fetch_next_at, 1);
	}
}

/* ---- the central's operations ---- */

int miband_band_on_subscribe(struct miband_band *b, enum miband_channel ch,
			     bool enable, uint64_t now)
{
	if ((unsigned)ch >= MIBAND_CH_COUNT)
		return MIBAND_ATT_REQUEST_NOT_SUPPORTED;
	if (!(channel_props(b, ch) &
	      (MIBAND_PROP_NOTIFY | MIBAND_PROP_INDICATE)))
		return MIBAND_ATT_REQUEST_NOT_SUPPORTED;
	if (!b->connected)
		return MIBAND_ATT_UNLIKELY;
	set_subscribed(b, ch, enable);
	if (ch == MIBAND_CH_STEPS) {
		if (enable) {
			b->steps_base = steps_now(b, now);
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
	props = channel_props(b, ch);
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

		if (len < 1)
			return MIBAND_ATT_INVALID_LENGTH;
		ev = event(b, MIBAND_BAND_EV_ALERT);
		if (!ev)
			return MIBAND_ATT_UNLIKELY;
		ev->u.level = data[0];
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
		return on_fetch_write(b, data, len, now);
	default:
		return MIBAND_ATT_OK; /* sensor control etc.: accepted */
	}
}

int miband_band_read(struct miband_band *b, enum miband_channel ch,
		     uint64_t now, uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t v[MIBAND_BAND_VALUE_MAX];
	int n;

	if ((unsigned)ch >= MIBAND_CH_COUNT || !channel_props(b, ch))
		return MIBAND_ATT_REQUEST_NOT_SUPPORTED;
	if (!(channel_props(b, ch) & MIBAND_PROP_READ))
		return MIBAND_ATT_READ_NOT_PERMITTED;
	if (!buf && cap)
		return MIBAND_ATT_UNLIKELY;
	switch (ch) {
	case MIBAND_CH_DEVICE_NAME:
		n = put_str(v, sizeof(v),
			    miband_gatt_table(b->cfg.model)->device_name);
		break;
	case MIBAND_CH_DIS_SERIAL:
		n = read_serial(b, v, sizeof(v));
		break;
	case MIBAND_CH_DIS_HW_REV:
		n = put_str(v, sizeof(v), hw_revision(b->cfg.model));
		break;
	case MIBAND_CH_DIS_SW_REV:
		n = put_str(v, sizeof(v), sw_revision(b->cfg.model));
		break;
	case MIBAND_CH_DIS_SYSTEM_ID:
		n = read_system_id(b, v, sizeof(v));
		break;
	case MIBAND_CH_DIS_PNP_ID:
		n = read_pnp_id(b, v, sizeof(v));
		break;
	case MIBAND_CH_AUTH:
		/* The last reply stays readable (MX read 10 03 01). */
		n = b->auth_last[0] ? 3 : 0;
		memcpy(v, b->auth_last, 3);
		break;
	default:
		if (!b->authed)
			return MIBAND_ATT_INSUFFICIENT_AUTHN;
		switch (ch) {
		case MIBAND_CH_BATTERY:
			n = encode_battery(b, v, sizeof(v));
			break;
		case MIBAND_CH_STEPS:
			n = encode_steps(b, now, v, sizeof(v));
			break;
		case MIBAND_CH_TIME:
			n = encode_clock(b, now, v, sizeof(v));
			break;
		default:
			n = 0; /* HR control point, chunked: empty */
			break;
		}
		break;
	}
	if (n < 0)
		return MIBAND_ATT_UNLIKELY;
	/* A short buffer gets the first bytes, as a plain ATT read. */
	if ((size_t)n > cap)
		n = (int)cap;
	if (n)
		memcpy(buf, v, (size_t)n);
	*ret_len = (size_t)n;
	return MIBAND_ATT_OK;
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
		t = min64(t, add_ms(b->connected_at, b->cfg.unauth_drop_ms));
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

	if (b->hr_oneshot && b->hr_oneshot_at <= now && q_free(b) >= 1) {
		b->last_bpm = live_bpm(b, now);
		if (miband_encode_hr(v, sizeof(v), b->last_bpm) == 2)
			(void)notify(b, MIBAND_CH_HR_MEAS, v, 2);
		b->hr_oneshot = 0;
		b->hr_oneshot_at = NEVER;
	}
	if (!b->hr_continuous)
		return;
	if (b->hr_stop_at <= now) {
		if (q_free(b) < 1)
			return;
		b->hr_continuous = 0;
		b->hr_next_at = NEVER;
		b->hr_stop_at = NEVER;
		(void)event(b, MIBAND_BAND_EV_HR_STOP);
		return;
	}
	if (b->hr_next_at <= now && q_free(b) >= 1) {
		b->last_bpm = live_bpm(b, now);
		if (miband_encode_hr(v, sizeof(v), b->last_bpm) == 2)
			(void)notify(b, MIBAND_CH_HR_MEAS, v, 2);
		/* A late call does not make up for lost seconds. */
		b->hr_next_at = add_ms(now, HR_PERIOD_MS);
	}
}

static void steps_timer(struct miband_band *b, uint64_t now)
{
	uint8_t v[MIBAND_BAND_VALUE_MAX];
	uint32_t steps;
	int n;

	if (!b->authed || !is_subscribed(b, MIBAND_CH_STEPS) ||
	    b->steps_next_at > now || q_free(b) < 1)
		return;
	steps = steps_now(b, now);
	if (steps != b->steps_base) {
		n = encode_steps(b, now, v, sizeof(v));
		if (n > 0)
			(void)notify(b, MIBAND_CH_STEPS, v, (size_t)n);
		b->steps_base = steps;
	}
	b->steps_next_at = next_minute_at(b, now);
}

void miband_band_on_timeout(struct miband_band *b, uint64_t now)
{
	if (b->prompt && b->prompt_at <= now && q_free(b) >= 2) {
		/* Tap policies answer after the tap delay; otherwise the
		 * prompt gave up: both end in 10 01 01 or 10 01 02. */
		finish_prompt(b, b->cfg.pairing == MIBAND_PAIRING_ACCEPT, now);
	}
	if (!b->connected)
		return;
	if (!b->authed && !b->prompt && b->cfg.unauth_drop_ms &&
	    add_ms(b->connected_at, b->cfg.unauth_drop_ms) <= now) {
		struct miband__band_queued *e;

		if (q_free(b) < 2)
			return;
		reset_link_state(b, now);
		b->connected = 0;
		(void)event(b, MIBAND_BAND_EV_UNAUTH_DROP);
		e = q_push(b, MIBAND_BAND_ACTION_DISCONNECT);
		if (e)
			e->reason = MIBAND_E_NOT_AUTHED;
		return;
	}
	hr_timers(b, now);
	fetch_pump(b, now);
	steps_timer(b, now);
}

/* ---- the embedding's controls ---- */

int miband_band_emit_event(struct miband_band *b, uint8_t code, uint8_t arg,
			   uint64_t now)
{
	uint8_t v[3];
	size_t n = 1;

	(void)now;
	if (!b->connected)
		return MIBAND_E_DISCONNECTED;
	if (!b->authed)
		return MIBAND_E_NOT_AUTHED;
	if (q_free(b) < 1)
		return MIBAND_E_NOSPACE;
	v[0] = code;
	switch (code) {
	case MIBAND_DEV_SILENT_MODE:
	case MIBAND_DEV_MUSIC:
		v[n++] = arg;
		break;
	case MIBAND_DEV_MTU: /* 16 lo hi */
		v[n++] = arg;
		v[n++] = 0;
		break;
	default:
		break;
	}
	return notify(b, MIBAND_CH_EVENTS, v, n);
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
