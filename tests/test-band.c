/*
 * The band engine alone, driven the way a GATT server would drive it:
 * every branch of the auth state machine, silence before auth, the
 * unauthenticated-link drop, heart rate timers, chunk reassembly, the
 * history fetch against miband_history_sample(), and a ring that never
 * overflows.  Expected auth answers are computed with OpenSSL directly.
 */
#include "runner.h"

#include "miband/miband.h"

#define MAXREC 64

struct rec {
	enum miband_band_action_type type;
	enum miband_channel ch;
	uint8_t data[MIBAND_BAND_VALUE_MAX];
	size_t len;
	int reason;
	struct miband_band_event ev;
	uint8_t evdata[MIBAND_TEXT_MAX];
};

struct fx {
	struct miband_band b;
	struct miband_band_config cfg;
	struct miband_crypto_test ct;
	uint64_t now;
	struct rec r[MAXREC];
	int n;
};

static const uint8_t key_a[16] = {0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
				  0x36, 0x37, 0x38, 0x39, 0x40, 0x41,
				  0x42, 0x43, 0x44, 0x45};
static const uint8_t key_b[16] = {0xd8, 0x8c, 0xa0, 0xfe, 0xf5, 0x04,
				  0xcc, 0x82, 0x73, 0x5f, 0x15, 0xfe,
				  0xb6, 0xbf, 0x9b, 0x1f};

#define DO(x)                     \
	do {                      \
		x;                \
		if (test__failed) \
			return;   \
	} while (0)

static void fx_config(struct fx *f, enum miband_model m)
{
	memset(f, 0, sizeof(*f));
	miband_crypto_test_init(&f->ct, 11);
	miband_band_config_init(&f->cfg, m);
	f->cfg.crypto = &miband_crypto_test;
	f->cfg.crypto_ctx = &f->ct;
	f->cfg.start_unix = 1700000000; /* 2023-11-14 22:13:20 UTC */
	f->cfg.history_days = 3;
	f->now = 1000;
}

/* Drains every action into f->r (replacing what was there). */
static int drain(struct fx *f)
{
	struct miband_band_action a;

	f->n = 0;
	while (miband_band_next_action(&f->b, &a) != MIBAND_BAND_ACTION_DONE) {
		struct rec *r;

		if (f->n >= MAXREC)
			return -1;
		r = &f->r[f->n++];
		memset(r, 0, sizeof(*r));
		r->type = a.type;
		r->ch = a.channel;
		r->reason = a.reason;
		r->ev = a.event;
		if (a.type == MIBAND_BAND_ACTION_NOTIFY) {
			if (a.len > sizeof(r->data))
				return -1;
			memcpy(r->data, a.data, a.len);
			r->len = a.len;
		}
		if (a.type == MIBAND_BAND_ACTION_EVENT &&
		    (a.event.type == MIBAND_BAND_EV_TEXT ||
		     a.event.type == MIBAND_BAND_EV_CALL ||
		     a.event.type == MIBAND_BAND_EV_CONFIG ||
		     a.event.type == MIBAND_BAND_EV_USER)) {
			if (a.event.u.text.len > sizeof(r->evdata))
				return -1;
			memcpy(r->evdata, a.event.u.text.data,
			       a.event.u.text.len);
			r->ev.u.text.data = r->evdata;
		}
	}
	return f->n;
}

static void fx_start(struct fx *f, const uint8_t *key)
{
	CHECK_EQ(miband_band_init(&f->b, &f->cfg, key, f->now), 0);
	miband_band_on_connect(&f->b, f->now);
	CHECK_EQ(drain(f), 0);
}

static int wr(struct fx *f, enum miband_channel ch, const char *hex)
{
	uint8_t buf[64];
	int n = test_hex(hex, buf, sizeof(buf));

	if (n < 0)
		return -1;
	return miband_band_on_write(&f->b, ch, buf, (size_t)n, true, f->now);
}

static int wr_bytes(struct fx *f, enum miband_channel ch, const uint8_t *p,
		    size_t len)
{
	return miband_band_on_write(&f->b, ch, p, len, false, f->now);
}

static void advance(struct fx *f, uint64_t to)
{
	f->now = to;
	miband_band_on_timeout(&f->b, f->now);
}

/* Fires every deadline up to `to`, in order, draining after each. */
static int run_until(struct fx *f, uint64_t to, struct rec *out, int max)
{
	int got = 0, i;

	for (;;) {
		uint64_t d = miband_band_deadline_ms(&f->b);

		if (d > to)
			break;
		if (d > f->now)
			f->now = d;
		miband_band_on_timeout(&f->b, f->now);
		if (drain(f) < 0)
			return -1;
		for (i = 0; i < f->n; i++) {
			if (got >= max)
				return -1;
			out[got++] = f->r[i];
			if (out[got - 1].ev.u.text.data == f->r[i].evdata)
				out[got - 1].ev.u.text.data =
					out[got - 1].evdata;
		}
	}
	f->now = to;
	return got;
}

static const struct rec *find_notify(const struct fx *f, enum miband_channel ch)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (f->r[i].type == MIBAND_BAND_ACTION_NOTIFY &&
		    f->r[i].ch == ch)
			return &f->r[i];
	return NULL;
}

static const struct rec *find_event(const struct fx *f,
				    enum miband_band_event_type t)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (f->r[i].type == MIBAND_BAND_ACTION_EVENT &&
		    f->r[i].ev.type == t)
			return &f->r[i];
	return NULL;
}

static int notify_is(const struct fx *f, enum miband_channel ch,
		     const char *hex)
{
	uint8_t want[64];
	const struct rec *r = find_notify(f, ch);
	int n = test_hex(hex, want, sizeof(want));

	return r && n >= 0 && r->len == (size_t)n &&
	       !memcmp(r->data, want, r->len);
}

/* 02 <flags>: returns the random in rnd. */
static void get_random(struct fx *f, const char *req, uint8_t echo,
		       uint8_t rnd[16])
{
	const struct rec *r;

	CHECK_EQ(wr(f, MIBAND_CH_AUTH, req), MIBAND_ATT_OK);
	CHECK_EQ(drain(f), 1);
	r = find_notify(f, MIBAND_CH_AUTH);
	CHECK(r);
	CHECK_EQ(r->len, 19);
	CHECK_EQ(r->data[0], 0x10);
	CHECK_EQ(r->data[1], echo);
	CHECK_EQ(r->data[2], 0x01);
	memcpy(rnd, r->data + 3, 16);
}

static void answer(struct fx *f, uint8_t cmd, const uint8_t key[16],
		   const uint8_t rnd[16])
{
	uint8_t msg[18];

	msg[0] = cmd;
	msg[1] = 0x00;
	CHECK_EQ(miband_crypto_openssl.aes128_ecb(NULL, key, rnd, msg + 2), 0);
	CHECK_EQ(wr_bytes(f, MIBAND_CH_AUTH, msg, sizeof(msg)), MIBAND_ATT_OK);
	CHECK(drain(f) >= 0);
}

/* A paired band, a subscribed client, a full handshake. */
static void authed(struct fx *f, enum miband_model m)
{
	uint8_t rnd[16];

	fx_config(f, m);
	DO(fx_start(f, key_a));
	CHECK_EQ(miband_band_on_subscribe(&f->b, MIBAND_CH_AUTH, true, f->now),
		 0);
	DO(get_random(f, "02 00", 0x02, rnd));
	DO(answer(f, 0x03, key_a, rnd));
	CHECK(notify_is(f, MIBAND_CH_AUTH, "10 03 01"));
	CHECK(find_event(f, MIBAND_BAND_EV_AUTHED));
	CHECK(miband_band_is_authed(&f->b));
}

static void set_key_msg(uint8_t msg[18], uint8_t flags, const uint8_t k[16])
{
	msg[0] = 0x01;
	msg[1] = flags;
	memcpy(msg + 2, k, 16);
}

/* ---- auth ---- */

TEST(pair_accept_then_auth)
{
	struct fx f;
	uint8_t msg[18], rnd[16], got[16];

	fx_config(&f, MIBAND_MODEL_MB3);
	f.cfg.tap_delay_ms = 700;
	DO(fx_start(&f, NULL));
	CHECK_EQ(miband_band_get_key(&f.b, got), MIBAND_E_NO_KEY);
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_AUTH, true, f.now),
		 0);
	set_key_msg(msg, 0x00, key_b);
	CHECK_EQ(wr_bytes(&f, MIBAND_CH_AUTH, msg, 18), MIBAND_ATT_OK);
	CHECK_EQ(drain(&f), 1);
	CHECK(find_event(&f, MIBAND_BAND_EV_PAIR_PROMPT));
	/* Nothing until the wearer taps. */
	CHECK_EQ(miband_band_deadline_ms(&f.b), f.now + 700);
	advance(&f, f.now + 699);
	CHECK_EQ(drain(&f), 0);
	advance(&f, f.now + 1);
	CHECK_EQ(drain(&f), 2);
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 01 01"));
	CHECK(find_event(&f, MIBAND_BAND_EV_PAIRED));
	CHECK_EQ(miband_band_get_key(&f.b, got), 0);
	CHECK_MEM(got, key_b, 16);
	CHECK(!miband_band_is_authed(&f.b));
	DO(get_random(&f, "02 00", 0x02, rnd));
	DO(answer(&f, 0x03, key_b, rnd));
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 03 01"));
	CHECK(miband_band_is_authed(&f.b));
}

TEST(pair_flag08_accepted_unless_configured)
{
	struct fx f;
	uint8_t msg[18];

	fx_config(&f, MIBAND_MODEL_MB2);
	DO(fx_start(&f, NULL));
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_AUTH, true, f.now),
		 0);
	set_key_msg(msg, 0x08, key_a);
	CHECK_EQ(wr_bytes(&f, MIBAND_CH_AUTH, msg, 18), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK(find_event(&f, MIBAND_BAND_EV_PAIR_PROMPT));

	fx_config(&f, MIBAND_MODEL_MB3);
	f.cfg.reject_setkey_flag08 = true;
	DO(fx_start(&f, NULL));
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_AUTH, true, f.now),
		 0);
	CHECK_EQ(wr_bytes(&f, MIBAND_CH_AUTH, msg, 18), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 01 04"));
	CHECK(!f.b.prompt);
	/* 0x00 still works on that band. */
	set_key_msg(msg, 0x00, key_a);
	CHECK_EQ(wr_bytes(&f, MIBAND_CH_AUTH, msg, 18), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK(find_event(&f, MIBAND_BAND_EV_PAIR_PROMPT));
}

TEST(pair_unknown_flags_refused)
{
	struct fx f;
	uint8_t msg[18];

	fx_config(&f, MIBAND_MODEL_MB3);
	DO(fx_start(&f, NULL));
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_AUTH, true, f.now),
		 0);
	set_key_msg(msg, 0x05, key_a);
	CHECK_EQ(wr_bytes(&f, MIBAND_CH_AUTH, msg, 18), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 01 04"));
}

TEST(pair_decline)
{
	struct fx f;
	uint8_t msg[18], got[16];

	fx_config(&f, MIBAND_MODEL_MB3);
	f.cfg.pairing = MIBAND_PAIRING_DECLINE;
	f.cfg.tap_delay_ms = 200;
	DO(fx_start(&f, NULL));
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_AUTH, true, f.now),
		 0);
	set_key_msg(msg, 0x00, key_a);
	CHECK_EQ(wr_bytes(&f, MIBAND_CH_AUTH, msg, 18), 0);
	CHECK_EQ(drain(&f), 1);
	advance(&f, f.now + 200);
	CHECK_EQ(drain(&f), 2);
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 01 02"));
	CHECK(find_event(&f, MIBAND_BAND_EV_PAIR_DECLINED));
	CHECK_EQ(miband_band_get_key(&f.b, got), MIBAND_E_NO_KEY);
	/* Still no key: a random request is refused. */
	CHECK_EQ(wr(&f, MIBAND_CH_AUTH, "02 00"), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 02 04"));
}

TEST(pair_never_times_out)
{
	struct fx f;
	uint8_t msg[18];
	uint64_t t0;

	fx_config(&f, MIBAND_MODEL_MB3);
	f.cfg.pairing = MIBAND_PAIRING_NEVER;
	f.cfg.prompt_timeout_ms = 25000;
	f.cfg.unauth_drop_ms = 10000;
	DO(fx_start(&f, NULL));
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_AUTH, true, f.now),
		 0);
	set_key_msg(msg, 0x00, key_a);
	t0 = f.now;
	CHECK_EQ(wr_bytes(&f, MIBAND_CH_AUTH, msg, 18), 0);
	CHECK_EQ(drain(&f), 1);
	/* The open prompt holds off the unauthenticated-link drop. */
	CHECK_EQ(miband_band_deadline_ms(&f.b), t0 + 25000);
	advance(&f, t0 + 24999);
	CHECK_EQ(drain(&f), 0);
	advance(&f, t0 + 25000);
	CHECK_EQ(drain(&f), 2);
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 01 02"));
	CHECK(find_event(&f, MIBAND_BAND_EV_PAIR_DECLINED));
	/* Then the drop timer starts again from the prompt's end. */
	CHECK_EQ(miband_band_deadline_ms(&f.b), t0 + 25000 + 10000);
}

TEST(pair_manual_tap)
{
	struct fx f;
	uint8_t msg[18], got[16];

	fx_config(&f, MIBAND_MODEL_MB4);
	f.cfg.pairing = MIBAND_PAIRING_MANUAL;
	DO(fx_start(&f, NULL));
	CHECK_EQ(miband_band_tap(&f.b, true, f.now), MIBAND_E_STATE);
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_AUTH, true, f.now),
		 0);
	set_key_msg(msg, 0x08, key_b);
	CHECK_EQ(wr_bytes(&f, MIBAND_CH_AUTH, msg, 18), 0);
	CHECK_EQ(drain(&f), 1);
	/* A second key while the prompt is open is ignored (PROTOCOL 7.1). */
	set_key_msg(msg, 0x08, key_a);
	CHECK_EQ(wr_bytes(&f, MIBAND_CH_AUTH, msg, 18), 0);
	CHECK_EQ(drain(&f), 0);
	f.now += 5000;
	CHECK_EQ(miband_band_tap(&f.b, true, f.now), 0);
	CHECK_EQ(drain(&f), 2);
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 01 01"));
	CHECK_EQ(miband_band_get_key(&f.b, got), 0);
	CHECK_MEM(got, key_b, 16);
	CHECK_EQ(miband_band_tap(&f.b, false, f.now), MIBAND_E_STATE);

	/* Manual decline. */
	set_key_msg(msg, 0x08, key_a);
	CHECK_EQ(wr_bytes(&f, MIBAND_CH_AUTH, msg, 18), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK_EQ(miband_band_tap(&f.b, false, f.now), 0);
	CHECK_EQ(drain(&f), 2);
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 01 02"));
	CHECK_EQ(miband_band_get_key(&f.b, got), 0);
	CHECK_MEM(got, key_b, 16); /* the old key stays */
}

TEST(random_without_key)
{
	struct fx f;

	fx_config(&f, MIBAND_MODEL_MB3);
	DO(fx_start(&f, NULL));
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_AUTH, true, f.now),
		 0);
	CHECK_EQ(wr(&f, MIBAND_CH_AUTH, "02 00"), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 02 04"));
	/* An answer without a key or a random fails. */
	CHECK_EQ(wr(&f, MIBAND_CH_AUTH,
		    "03 00 00112233445566778899aabbccddeeff"),
		 0);
	CHECK_EQ(drain(&f), 2);
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 03 04"));
	CHECK(find_event(&f, MIBAND_BAND_EV_AUTH_FAILED));
}

TEST(crypt_variant)
{
	struct fx f;
	uint8_t rnd[16];

	fx_config(&f, MIBAND_MODEL_MB4);
	DO(fx_start(&f, key_a));
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_AUTH, true, f.now),
		 0);
	DO(get_random(&f, "82 08 02 01 00", 0x82, rnd));
	DO(answer(&f, 0x83, key_a, rnd));
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 83 01"));
	CHECK(miband_band_is_authed(&f.b));
	/* 82 flags alone is accepted too. */
	DO(get_random(&f, "82 08", 0x82, rnd));
	DO(answer(&f, 0x83, key_a, rnd));
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 83 01"));
}

TEST(wrong_key_and_single_use_random)
{
	struct fx f;
	uint8_t rnd[16], rnd2[16], msg[18];

	fx_config(&f, MIBAND_MODEL_MB3);
	DO(fx_start(&f, key_a));
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_AUTH, true, f.now),
		 0);
	DO(get_random(&f, "02 00", 0x02, rnd));
	DO(answer(&f, 0x03, key_b, rnd));
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 03 04"));
	CHECK(find_event(&f, MIBAND_BAND_EV_AUTH_FAILED));
	CHECK(!miband_band_is_authed(&f.b));
	/* The right answer to the spent random is refused too. */
	DO(answer(&f, 0x03, key_a, rnd));
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 03 04"));
	/* A fresh random differs and works. */
	DO(get_random(&f, "02 00", 0x02, rnd2));
	CHECK(memcmp(rnd, rnd2, 16) != 0);
	DO(answer(&f, 0x03, key_a, rnd2));
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 03 01"));
	/* Replaying the accepted answer fails: the random is gone. */
	msg[0] = 0x03;
	msg[1] = 0x00;
	CHECK_EQ(miband_crypto_openssl.aes128_ecb(NULL, key_a, rnd2, msg + 2),
		 0);
	CHECK_EQ(wr_bytes(&f, MIBAND_CH_AUTH, msg, 18), 0);
	CHECK_EQ(drain(&f), 2);
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 03 04"));
}

/* The real Mi Band 2 exchange of PROTOCOL.md 7.1, with the band's random
 * forced to the captured one. */
TEST(real_band_vector)
{
	struct fx f;
	uint8_t rnd[16];

	fx_config(&f, MIBAND_MODEL_MB2);
	DO(fx_start(&f, key_b));
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_AUTH, true, f.now),
		 0);
	DO(get_random(&f, "02 00", 0x02, rnd));
	CHECK_EQ(test_hex("689c1dd58a666f0f8c90a1a96e1ab3a3", f.b.random, 16),
		 16);
	CHECK_EQ(wr(&f, MIBAND_CH_AUTH,
		    "03 00 ce1c0135db39e61f1a27012fb907df3b"),
		 0);
	CHECK_EQ(drain(&f), 2);
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 03 01"));
}

TEST(malformed_auth_writes)
{
	struct fx f;

	fx_config(&f, MIBAND_MODEL_MB3);
	DO(fx_start(&f, key_a));
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_AUTH, true, f.now),
		 0);
	CHECK_EQ(miband_band_on_write(&f.b, MIBAND_CH_AUTH, NULL, 0, true,
				      f.now),
		 MIBAND_ATT_INVALID_LENGTH);
	CHECK_EQ(wr(&f, MIBAND_CH_AUTH, "01 00 0001020304050607080910111213"),
		 MIBAND_ATT_INVALID_LENGTH); /* 15-byte key */
	CHECK_EQ(wr(&f, MIBAND_CH_AUTH, "02"), MIBAND_ATT_INVALID_LENGTH);
	CHECK_EQ(wr(&f, MIBAND_CH_AUTH, "02 00 00"), MIBAND_ATT_INVALID_LENGTH);
	CHECK_EQ(wr(&f, MIBAND_CH_AUTH, "82 00 02"), MIBAND_ATT_INVALID_LENGTH);
	CHECK_EQ(wr(&f, MIBAND_CH_AUTH, "03 00 00112233445566778899aabbccddee"),
		 MIBAND_ATT_INVALID_LENGTH);
	CHECK_EQ(wr(&f, MIBAND_CH_AUTH, "04 00"), MIBAND_ATT_OK);
	CHECK_EQ(drain(&f), 0);
	CHECK(!f.b.prompt && !f.b.has_random);
}

TEST(crypto_failures_give_no_answer)
{
	struct fx f;
	uint8_t rnd[16];

	/* RNG fails on the first call: silence, then the next one works. */
	fx_config(&f, MIBAND_MODEL_MB3);
	f.ct.fail_at = 1;
	DO(fx_start(&f, key_a));
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_AUTH, true, f.now),
		 0);
	CHECK_EQ(wr(&f, MIBAND_CH_AUTH, "02 00"), 0);
	CHECK_EQ(drain(&f), 0);
	CHECK(!f.b.has_random);
	DO(get_random(&f, "02 00", 0x02, rnd));
	DO(answer(&f, 0x03, key_a, rnd));
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 03 01"));

	/* AES fails (call 2): silence, and the random is spent. */
	fx_config(&f, MIBAND_MODEL_MB3);
	f.ct.fail_at = 2;
	DO(fx_start(&f, key_a));
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_AUTH, true, f.now),
		 0);
	DO(get_random(&f, "02 00", 0x02, rnd));
	DO(answer(&f, 0x03, key_a, rnd));
	CHECK_EQ(f.n, 0);
	CHECK(!miband_band_is_authed(&f.b));
	DO(answer(&f, 0x03, key_a, rnd));
	CHECK(notify_is(&f, MIBAND_CH_AUTH, "10 03 04"));
}

TEST(no_notification_without_subscription)
{
	struct fx f;

	fx_config(&f, MIBAND_MODEL_MB3);
	DO(fx_start(&f, key_a));
	CHECK_EQ(wr(&f, MIBAND_CH_AUTH, "02 00"), 0);
	CHECK_EQ(drain(&f), 0);
	/* The band did issue it: the reply is readable. */
	CHECK(f.b.has_random);
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_AUTH, true, f.now),
		 0);
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_AUTH, false, f.now),
		 0);
	CHECK_EQ(wr(&f, MIBAND_CH_AUTH, "02 00"), 0);
	CHECK_EQ(drain(&f), 0);
	/* Channels that cannot notify have no CCCD. */
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_HR_CTL, true, f.now),
		 MIBAND_ATT_REQUEST_NOT_SUPPORTED);
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_DEVICE_NAME, true,
					  f.now),
		 MIBAND_ATT_REQUEST_NOT_SUPPORTED);
}

TEST(auth_reply_readable)
{
	struct fx f;
	uint8_t v[20];
	size_t n = 99;

	authed(&f, MIBAND_MODEL_MB2);
	if (test__failed)
		return;
	CHECK_EQ(
		miband_band_read(&f.b, MIBAND_CH_AUTH, f.now, v, sizeof(v), &n),
		0);
	CHECK_EQ(n, 3);
	CHECK_EQ(v[0], 0x10);
	CHECK_EQ(v[1], 0x03);
	CHECK_EQ(v[2], 0x01);
}

/* ---- before auth ---- */

TEST(silent_before_auth)
{
	static const enum miband_channel protected_reads[] = {
		MIBAND_CH_BATTERY,
		MIBAND_CH_STEPS,
		MIBAND_CH_TIME,
		MIBAND_CH_HR_CTL,
	};
	struct fx f;
	uint8_t v[32];
	size_t n, i;

	fx_config(&f, MIBAND_MODEL_MB3);
	DO(fx_start(&f, key_a));
	for (i = 0; i < MIBAND_CH_COUNT; i++)
		(void)miband_band_on_subscribe(&f.b, (enum miband_channel)i,
					       true, f.now);
	CHECK_EQ(wr(&f, MIBAND_CH_CONFIG, "06 0a 00 03"), 0);
	CHECK_EQ(wr(&f, MIBAND_CH_HR_CTL, "15 02 01"), 0);
	CHECK_EQ(wr(&f, MIBAND_CH_ALERT, "03"), 0);
	CHECK_EQ(wr(&f, MIBAND_CH_NEW_ALERT, "03 01 41 6c 69 63 65"), 0);
	CHECK_EQ(wr(&f, MIBAND_CH_USER, "20 00 00 02"), 0);
	CHECK_EQ(wr(&f, MIBAND_CH_FETCH_CTL, "01 01 e3 07 06 01 00 00 00 00"),
		 0);
	CHECK_EQ(wr(&f, MIBAND_CH_TIME, "e3 07 06 01 0c 00 00 06 00 00 00"), 0);
	CHECK_EQ(wr(&f, MIBAND_CH_CHUNKED, "00 c0 00 41 42"), 0);
	CHECK_EQ(miband_band_emit_event(&f.b, MIBAND_DEV_BUTTON, 0, f.now),
		 MIBAND_E_NOT_AUTHED);
	CHECK_EQ(drain(&f), 0);
	advance(&f, f.now + 5000);
	CHECK_EQ(drain(&f), 0);
	for (i = 0; i < sizeof(protected_reads) / sizeof(protected_reads[0]);
	     i++)
		CHECK_EQ(miband_band_read(&f.b, protected_reads[i], f.now, v,
					  sizeof(v), &n),
			 MIBAND_ATT_INSUFFICIENT_AUTHN);
	/* Device name and DIS are public. */
	CHECK_EQ(miband_band_read(&f.b, MIBAND_CH_DEVICE_NAME, f.now, v,
				  sizeof(v), &n),
		 0);
	CHECK_EQ(n, strlen("Mi Band 3"));
	CHECK_MEM(v, "Mi Band 3", n);
	CHECK_EQ(miband_band_read(&f.b, MIBAND_CH_DIS_SW_REV, f.now, v,
				  sizeof(v), &n),
		 0);
	CHECK_EQ(n, strlen("V2.4.0.32"));
	CHECK_MEM(v, "V2.4.0.32", n);
	CHECK_EQ(miband_band_read(&f.b, MIBAND_CH_DIS_SERIAL, f.now, v,
				  sizeof(v), &n),
		 0);
	CHECK_EQ(n, 12);
	CHECK_EQ(miband_band_read(&f.b, MIBAND_CH_DIS_HW_REV, f.now, v,
				  sizeof(v), &n),
		 0);
	CHECK(n > 1 && v[0] == 'V');
	CHECK_EQ(miband_band_read(&f.b, MIBAND_CH_DIS_SYSTEM_ID, f.now, v,
				  sizeof(v), &n),
		 0);
	CHECK_EQ(n, 8);
	CHECK_EQ(miband_band_read(&f.b, MIBAND_CH_DIS_PNP_ID, f.now, v,
				  sizeof(v), &n),
		 0);
	CHECK_EQ(n, 7);
	CHECK_EQ(v[1] | v[2] << 8, 0x0157);
	/* Not readable at all, authenticated or not. */
	CHECK_EQ(miband_band_read(&f.b, MIBAND_CH_HR_MEAS, f.now, v, sizeof(v),
				  &n),
		 MIBAND_ATT_READ_NOT_PERMITTED);
	CHECK_EQ(wr(&f, MIBAND_CH_BATTERY, "00"),
		 MIBAND_ATT_WRITE_NOT_PERMITTED);
}

TEST(device_names_per_model)
{
	static const struct {
		enum miband_model m;
		const char *name;
	} want[] = {
		{MIBAND_MODEL_MB2, "MI Band 2"},
		{MIBAND_MODEL_MB3, "Mi Band 3"},
		{MIBAND_MODEL_MB4, "Mi Smart Band 4"},
	};
	size_t i, n;
	uint8_t v[32];

	for (i = 0; i < 3; i++) {
		struct fx f;

		fx_config(&f, want[i].m);
		DO(fx_start(&f, NULL));
		CHECK_EQ(miband_band_read(&f.b, MIBAND_CH_DEVICE_NAME, f.now, v,
					  sizeof(v), &n),
			 0);
		CHECK_EQ(n, strlen(want[i].name));
		CHECK_MEM(v, want[i].name, n);
		/* A short buffer gets the start. */
		CHECK_EQ(miband_band_read(&f.b, MIBAND_CH_DEVICE_NAME, f.now, v,
					  4, &n),
			 0);
		CHECK_EQ(n, 4);
		CHECK_MEM(v, want[i].name, 4);
	}
}

TEST(unauth_drop)
{
	struct fx f;
	uint8_t v[32];
	size_t n;

	fx_config(&f, MIBAND_MODEL_MB3);
	f.cfg.unauth_drop_ms = 8000;
	DO(fx_start(&f, key_a));
	CHECK_EQ(miband_band_deadline_ms(&f.b), f.now + 8000);
	advance(&f, f.now + 7999);
	CHECK_EQ(drain(&f), 0);
	advance(&f, f.now + 1);
	CHECK_EQ(drain(&f), 2);
	CHECK(find_event(&f, MIBAND_BAND_EV_UNAUTH_DROP));
	CHECK_EQ(f.r[1].type, MIBAND_BAND_ACTION_DISCONNECT);
	CHECK(f.r[1].reason < 0);
	CHECK(!f.b.connected);
	CHECK_EQ(miband_band_deadline_ms(&f.b), UINT64_MAX);
	/* A dropped link answers nothing. */
	CHECK_EQ(wr(&f, MIBAND_CH_AUTH, "02 00"), MIBAND_ATT_UNLIKELY);
	CHECK_EQ(miband_band_read(&f.b, MIBAND_CH_DEVICE_NAME, f.now, v,
				  sizeof(v), &n),
		 0);

	/* An authenticated link is never dropped; 0 disables the drop. */
	authed(&f, MIBAND_MODEL_MB3);
	if (test__failed)
		return;
	CHECK_EQ(miband_band_deadline_ms(&f.b), UINT64_MAX);
	fx_config(&f, MIBAND_MODEL_MB3);
	f.cfg.unauth_drop_ms = 0;
	DO(fx_start(&f, key_a));
	CHECK_EQ(miband_band_deadline_ms(&f.b), UINT64_MAX);
}

TEST(reconnect_forgets_link_state)
{
	struct fx f;
	uint8_t v[32];
	size_t n;

	authed(&f, MIBAND_MODEL_MB3);
	if (test__failed)
		return;
	miband_band_on_disconnect(&f.b, f.now);
	miband_band_on_disconnect(&f.b, f.now); /* idempotent */
	miband_band_on_connect(&f.b, f.now);
	CHECK(!miband_band_is_authed(&f.b));
	CHECK_EQ(miband_band_read(&f.b, MIBAND_CH_BATTERY, f.now, v, sizeof(v),
				  &n),
		 MIBAND_ATT_INSUFFICIENT_AUTHN);
	/* Subscriptions are per connection. */
	CHECK_EQ(wr(&f, MIBAND_CH_AUTH, "02 00"), 0);
	CHECK_EQ(drain(&f), 0);
}

/* ---- after auth ---- */

TEST(battery_time_steps)
{
	struct fx f;
	struct miband_battery bat;
	struct miband_time t;
	struct miband_steps s;
	uint8_t v[32];
	size_t n;
	int64_t want;

	authed(&f, MIBAND_MODEL_MB3);
	if (test__failed)
		return;
	CHECK_EQ(miband_band_read(&f.b, MIBAND_CH_BATTERY, f.now, v, sizeof(v),
				  &n),
		 0);
	CHECK_EQ(n, 20);
	CHECK_EQ(miband_decode_battery(v, n, &bat), 0);
	CHECK_EQ(bat.level, 80);
	CHECK(!bat.charging);
	miband_band_set_battery(&f.b, 42, true);
	CHECK_EQ(miband_band_read(&f.b, MIBAND_CH_BATTERY, f.now, v, sizeof(v),
				  &n),
		 0);
	CHECK_EQ(miband_decode_battery(v, n, &bat), 0);
	CHECK_EQ(bat.level, 42);
	CHECK(bat.charging);

	/* The clock runs with virtual time from start_unix. */
	f.now += 90500;
	want = f.cfg.start_unix + (int64_t)(f.now - 1000) / 1000;
	CHECK_EQ(miband_band_clock(&f.b, f.now), want);
	CHECK_EQ(
		miband_band_read(&f.b, MIBAND_CH_TIME, f.now, v, sizeof(v), &n),
		0);
	CHECK_EQ(n, 11);
	CHECK_EQ(miband_decode_time(v, n, &t), 0);
	CHECK_EQ(miband_time_to_unix(&t), want);

	CHECK_EQ(miband_band_read(&f.b, MIBAND_CH_STEPS, f.now, v, sizeof(v),
				  &n),
		 0);
	CHECK_EQ(n, 13);
	CHECK_EQ(miband_decode_steps(v, n, &s), 0);
	CHECK_EQ(s.steps,
		 miband_history_steps_today(f.cfg.seed, want, f.cfg.tz));

	/* Setting the time moves the clock and tells the wearer. */
	CHECK_EQ(wr(&f, MIBAND_CH_TIME, "e6 07 0c 0f 14 26 35 04 00 00 04"), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK(find_event(&f, MIBAND_BAND_EV_TIME_SET));
	CHECK_EQ(f.r[0].ev.u.time.year, 2022);
	CHECK_EQ(f.r[0].ev.u.time.tz, 4);
	/* 2022-12-15 20:38:53 +01:00 = 19:38:53 UTC */
	want = (int64_t)miband_days_from_civil(2022, 12, 15) * 86400 +
	       19 * 3600 + 38 * 60 + 53;
	CHECK_EQ(miband_band_clock(&f.b, f.now), want);
	CHECK_EQ(miband_band_clock(&f.b, f.now + 61000), want + 61);
	CHECK_EQ(miband_band_read(&f.b, MIBAND_CH_TIME, f.now + 7000, v,
				  sizeof(v), &n),
		 0);
	CHECK_EQ(miband_decode_time(v, n, &t), 0);
	CHECK_EQ(t.tz, 4);
	CHECK_EQ(t.hour, 20);
	CHECK_EQ(t.second, 0);
	CHECK_EQ(wr(&f, MIBAND_CH_TIME, "e6 07 0d 0f 14 26 35 04 00 00 04"),
		 MIBAND_ATT_UNLIKELY); /* month 13 */
	CHECK_EQ(wr(&f, MIBAND_CH_TIME, "e6 07 0c 0f"),
		 MIBAND_ATT_INVALID_LENGTH);
}

TEST(steps_notify_on_change_each_minute)
{
	struct fx f;
	struct rec out[40];
	struct miband_steps s;
	int n, i, notes = 0;
	uint32_t last;

	authed(&f, MIBAND_MODEL_MB3);
	if (test__failed)
		return;
	/* Midday, when the wearer walks about. */
	CHECK_EQ(wr(&f, MIBAND_CH_TIME, "e7 07 0b 0e 0c 00 00 02 00 00 00"), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_STEPS, true, f.now),
		 0);
	last = miband_history_steps_today(f.cfg.seed,
					  miband_band_clock(&f.b, f.now), 0);
	/* 20 minutes of band time. */
	n = run_until(&f, f.now + 20 * 60000, out, 40);
	CHECK(n >= 0);
	for (i = 0; i < n; i++) {
		CHECK_EQ(out[i].type, MIBAND_BAND_ACTION_NOTIFY);
		CHECK_EQ(out[i].ch, MIBAND_CH_STEPS);
		CHECK_EQ(miband_decode_steps(out[i].data, out[i].len, &s), 0);
		CHECK(s.steps != last);
		CHECK(s.steps > last || s.steps < 200); /* or a new day */
		last = s.steps;
		notes++;
	}
	CHECK(notes > 0 && notes <= 20);
	CHECK_EQ(last, miband_history_steps_today(
			       f.cfg.seed, miband_band_clock(&f.b, f.now), 0));
	/* Unsubscribed: no more timer. */
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_STEPS, false, f.now),
		 0);
	CHECK_EQ(miband_band_deadline_ms(&f.b), UINT64_MAX);
}

TEST(hr_oneshot)
{
	struct fx f;
	uint8_t bpm;
	uint64_t t0;

	authed(&f, MIBAND_MODEL_MB3);
	if (test__failed)
		return;
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_HR_MEAS, true, f.now),
		 0);
	CHECK_EQ(wr(&f, MIBAND_CH_HR_CTL, "15 01 00"), 0);
	CHECK_EQ(wr(&f, MIBAND_CH_HR_CTL, "15 02 00"), 0);
	t0 = f.now;
	CHECK_EQ(wr(&f, MIBAND_CH_HR_CTL, "15 02 01"), 0);
	CHECK_EQ(drain(&f), 0);
	CHECK_EQ(miband_band_deadline_ms(&f.b), t0 + f.cfg.hr_measure_ms);
	advance(&f, t0 + f.cfg.hr_measure_ms);
	CHECK_EQ(drain(&f), 1);
	CHECK_EQ(f.r[0].ch, MIBAND_CH_HR_MEAS);
	CHECK_EQ(miband_decode_hr(f.r[0].data, f.r[0].len, &bpm), 0);
	CHECK(bpm >= 50 && bpm <= 150);
	CHECK_EQ(miband_band_deadline_ms(&f.b), UINT64_MAX);
	/* 14 NN is stored; malformed HR writes are refused. */
	CHECK_EQ(wr(&f, MIBAND_CH_HR_CTL, "14 1e"), 0);
	CHECK_EQ(f.b.hr_interval, 30);
	CHECK_EQ(wr(&f, MIBAND_CH_HR_CTL, "15 02"), MIBAND_ATT_INVALID_LENGTH);
}

TEST(hr_continuous_stops_without_keepalive)
{
	struct fx f;
	struct rec out[40];
	uint64_t t0;
	int n, i, meas = 0;

	authed(&f, MIBAND_MODEL_MB3);
	if (test__failed)
		return;
	f.cfg.hr_continuous_ms = 15000;
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_HR_MEAS, true, f.now),
		 0);
	t0 = f.now;
	CHECK_EQ(wr(&f, MIBAND_CH_HR_CTL, "15 01 01"), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK(find_event(&f, MIBAND_BAND_EV_HR_START));
	n = run_until(&f, t0 + 20000, out, 40);
	CHECK(n > 0);
	for (i = 0; i < n; i++) {
		if (out[i].type == MIBAND_BAND_ACTION_NOTIFY) {
			CHECK_EQ(out[i].ch, MIBAND_CH_HR_MEAS);
			meas++;
		}
	}
	/* One a second from t0 + 1 s until the stop at t0 + 15 s. */
	CHECK_EQ(meas, 14);
	CHECK_EQ(out[n - 1].type, MIBAND_BAND_ACTION_EVENT);
	CHECK_EQ(out[n - 1].ev.type, MIBAND_BAND_EV_HR_STOP);
	CHECK_EQ(miband_band_deadline_ms(&f.b), UINT64_MAX);
}

TEST(hr_continuous_keepalive_and_stop)
{
	struct fx f;
	struct rec out[64];
	uint64_t t0, t;
	int n, i, meas = 0;

	authed(&f, MIBAND_MODEL_MB3);
	if (test__failed)
		return;
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_HR_MEAS, true, f.now),
		 0);
	t0 = f.now;
	CHECK_EQ(wr(&f, MIBAND_CH_HR_CTL, "15 01 01"), 0);
	CHECK_EQ(drain(&f), 1);
	/* Keep-alive every 12 s for 40 s: well past the band's 15 s. */
	for (t = t0 + 12000; t <= t0 + 36000; t += 12000) {
		n = run_until(&f, t, out, 64);
		CHECK(n >= 0);
		for (i = 0; i < n; i++) {
			CHECK(out[i].type == MIBAND_BAND_ACTION_NOTIFY);
			meas++;
		}
		CHECK_EQ(wr(&f, MIBAND_CH_HR_CTL, "16"), 0);
	}
	n = run_until(&f, t0 + 40000, out, 64);
	for (i = 0; i < n; i++)
		meas += out[i].type == MIBAND_BAND_ACTION_NOTIFY;
	CHECK_EQ(meas, 40);
	CHECK(f.b.hr_continuous);
	CHECK_EQ(wr(&f, MIBAND_CH_HR_CTL, "15 01 00"), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK(find_event(&f, MIBAND_BAND_EV_HR_STOP));
	CHECK_EQ(miband_band_deadline_ms(&f.b), UINT64_MAX);
}

TEST(alerts_calls_text)
{
	struct fx f;

	authed(&f, MIBAND_MODEL_MB3);
	if (test__failed)
		return;
	CHECK_EQ(wr(&f, MIBAND_CH_ALERT, "03"), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK_EQ(f.r[0].ev.type, MIBAND_BAND_EV_ALERT);
	CHECK_EQ(f.r[0].ev.u.level, 3);
	CHECK_EQ(wr(&f, MIBAND_CH_NEW_ALERT, "03 01 41 6c 69 63 65"), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK_EQ(f.r[0].ev.type, MIBAND_BAND_EV_CALL);
	CHECK_EQ(f.r[0].ev.u.text.len, 5);
	CHECK_MEM(f.r[0].ev.u.text.data, "Alice", 5);
	CHECK_EQ(wr(&f, MIBAND_CH_NEW_ALERT, "03 00"), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK_EQ(f.r[0].ev.type, MIBAND_BAND_EV_CALL_STOP);
	CHECK_EQ(wr(&f, MIBAND_CH_NEW_ALERT, "05 01 68 69"), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK_EQ(f.r[0].ev.type, MIBAND_BAND_EV_TEXT);
	CHECK_EQ(f.r[0].ev.u.text.len, 2);
	CHECK_MEM(f.r[0].ev.u.text.data, "hi", 2);
	CHECK_EQ(wr(&f, MIBAND_CH_NEW_ALERT, "fa 01 07 79 6f"), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK_EQ(f.r[0].ev.u.text.len, 2);
	CHECK_MEM(f.r[0].ev.u.text.data, "yo", 2);
	CHECK_EQ(wr(&f, MIBAND_CH_NEW_ALERT, "03"), MIBAND_ATT_INVALID_LENGTH);
}

/* A long New Alert (bigger MTU) keeps its whole text. */
TEST(long_new_alert)
{
	struct fx f;
	uint8_t msg[60];
	size_t i;

	authed(&f, MIBAND_MODEL_MB3);
	if (test__failed)
		return;
	msg[0] = 0x05;
	msg[1] = 0x01;
	for (i = 2; i < sizeof(msg); i++)
		msg[i] = (uint8_t)('a' + i % 26);
	CHECK_EQ(wr_bytes(&f, MIBAND_CH_NEW_ALERT, msg, sizeof(msg)), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK_EQ(f.r[0].ev.u.text.len, sizeof(msg) - 2);
	CHECK_MEM(f.r[0].ev.u.text.data, msg + 2, sizeof(msg) - 2);
}

static void send_chunks(struct fx *f, const uint8_t *msg, size_t len,
			size_t skip_index)
{
	size_t i, n = miband_chunk_count(len, 17);
	uint8_t c[20];

	for (i = 0; i < n; i++) {
		int l = miband_encode_chunk(c, sizeof(c), 0, msg, len, i, 17);

		CHECK(l > 0);
		if (i == skip_index)
			continue;
		CHECK_EQ(wr_bytes(f, MIBAND_CH_CHUNKED, c, (size_t)l), 0);
	}
}

TEST(chunk_reassembly)
{
	struct fx f;
	uint8_t msg[MIBAND_TEXT_MAX];
	size_t i;

	authed(&f, MIBAND_MODEL_MB3);
	if (test__failed)
		return;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	/* Whole messages of several sizes, including the maximum. */
	{
		static const size_t sizes[] = {1, 17, 18, 60, MIBAND_TEXT_MAX};

		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			DO(send_chunks(&f, msg, sizes[i], (size_t)-1));
			CHECK_EQ(drain(&f), 1);
			CHECK_EQ(f.r[0].ev.type, MIBAND_BAND_EV_TEXT);
			CHECK_EQ(f.r[0].ev.u.text.len, sizes[i]);
			CHECK_MEM(f.r[0].ev.u.text.data, msg, sizes[i]);
		}
	}
	/* A lost middle chunk: the message is dropped, the next is fine. */
	DO(send_chunks(&f, msg, 60, 1));
	CHECK_EQ(drain(&f), 0);
	DO(send_chunks(&f, msg + 1, 40, (size_t)-1));
	CHECK_EQ(drain(&f), 1);
	CHECK_EQ(f.r[0].ev.u.text.len, 40);
	CHECK_MEM(f.r[0].ev.u.text.data, msg + 1, 40);
	/* A last chunk alone, or a middle without a first: nothing. */
	CHECK_EQ(wr(&f, MIBAND_CH_CHUNKED, "00 80 05 41"), 0);
	CHECK_EQ(wr(&f, MIBAND_CH_CHUNKED, "00 40 00 41"), 0);
	CHECK_EQ(drain(&f), 0);
	/* Too long for the band: dropped. */
	{
		uint8_t big[MIBAND_TEXT_MAX + 20];

		memset(big, 'x', sizeof(big));
		DO(send_chunks(&f, big, sizeof(big), (size_t)-1));
		CHECK_EQ(drain(&f), 0);
	}
	/* Other chunk types (weather...) are not texts. */
	CHECK_EQ(wr(&f, MIBAND_CH_CHUNKED, "00 c1 00 41"), 0);
	CHECK_EQ(drain(&f), 0);
}

TEST(config_user_events)
{
	struct fx f;

	authed(&f, MIBAND_MODEL_MB3);
	if (test__failed)
		return;
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_CONFIG, true, f.now),
		 0);
	CHECK_EQ(wr(&f, MIBAND_CH_CONFIG, "06 0a 00 03"), 0);
	CHECK_EQ(drain(&f), 2);
	CHECK(notify_is(&f, MIBAND_CH_CONFIG, "10 06 0a 00 01"));
	CHECK(find_event(&f, MIBAND_BAND_EV_CONFIG));
	CHECK_EQ(find_event(&f, MIBAND_BAND_EV_CONFIG)->ev.u.text.len, 4);
	CHECK_EQ(wr(&f, MIBAND_CH_CONFIG, "1a 01 16 00 07 00"), 0);
	CHECK_EQ(drain(&f), 2);
	CHECK(notify_is(&f, MIBAND_CH_CONFIG, "10 1a 01"));
	CHECK_EQ(wr(&f, MIBAND_CH_USER, "20 00 00 82"), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK_EQ(f.r[0].ev.type, MIBAND_BAND_EV_USER);
	CHECK_EQ(f.r[0].ev.u.text.len, 4);
	CHECK_EQ(f.r[0].ev.u.text.data[3], 0x82);

	/* Device events go out only when subscribed. */
	CHECK_EQ(miband_band_emit_event(&f.b, MIBAND_DEV_BUTTON, 0, f.now), 0);
	CHECK_EQ(drain(&f), 0);
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_EVENTS, true, f.now),
		 0);
	CHECK_EQ(miband_band_emit_event(&f.b, MIBAND_DEV_BUTTON, 0, f.now), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK(notify_is(&f, MIBAND_CH_EVENTS, "04"));
	CHECK_EQ(miband_band_emit_event(&f.b, MIBAND_DEV_MUSIC, 0x03, f.now),
		 0);
	CHECK_EQ(drain(&f), 1);
	CHECK(notify_is(&f, MIBAND_CH_EVENTS, "fe 03"));
	/* A workout start in the 4 bytes a client decodes (type in 3). */
	CHECK_EQ(miband_band_emit_event(&f.b, MIBAND_DEV_WORKOUT_START, 0x05,
					f.now),
		 0);
	CHECK_EQ(drain(&f), 1);
	CHECK(notify_is(&f, MIBAND_CH_EVENTS, "14 00 00 05"));
}

/* ---- history fetch ---- */

struct fetched {
	uint32_t count;
	struct miband_time first;
	uint8_t samples[4 * 2000];
	size_t nsamples;
	int packets;
	bool ended;
};

static void fetch_round(struct fx *f, const struct miband_time *since,
			struct fetched *out)
{
	uint8_t req[10];
	struct miband_fetch_reply rep;
	const struct rec *r;
	int guard = 0, i;

	memset(out, 0, sizeof(*out));
	CHECK_EQ(miband_encode_fetch_start(req, sizeof(req), 1, since), 10);
	CHECK_EQ(wr_bytes(f, MIBAND_CH_FETCH_CTL, req, 10), 0);
	CHECK_EQ(drain(f), 1);
	r = find_notify(f, MIBAND_CH_FETCH_CTL);
	CHECK(r);
	CHECK_EQ(miband_decode_fetch_reply(r->data, r->len, &rep), 0);
	CHECK_EQ(rep.cmd, 1);
	CHECK_EQ(rep.status, 1);
	out->count = rep.count;
	out->first = rep.first;
	if (!rep.count)
		return;
	CHECK_EQ(wr(f, MIBAND_CH_FETCH_CTL, "02"), 0);
	while (!out->ended) {
		uint64_t d = miband_band_deadline_ms(&f->b);

		CHECK(++guard < 5000);
		CHECK(d != UINT64_MAX);
		if (d > f->now)
			f->now = d;
		miband_band_on_timeout(&f->b, f->now);
		CHECK(drain(f) <= MIBAND_BAND_ACTION_QUEUE);
		for (i = 0; i < f->n; i++) {
			const struct rec *p = &f->r[i];

			CHECK_EQ(p->type, MIBAND_BAND_ACTION_NOTIFY);
			if (p->ch == MIBAND_CH_FETCH_CTL) {
				CHECK_EQ(p->len, 3);
				CHECK_MEM(p->data, "\x10\x02\x01", 3);
				out->ended = true;
				continue;
			}
			CHECK_EQ(p->ch, MIBAND_CH_FETCH_DATA);
			CHECK_EQ(p->data[0], (uint8_t)out->packets);
			CHECK(p->len >= 5 && p->len <= 17 &&
			      (p->len - 1) % 4 == 0);
			CHECK(out->nsamples + (p->len - 1) / 4 <= 2000);
			memcpy(out->samples + 4 * out->nsamples, p->data + 1,
			       p->len - 1);
			out->nsamples += (p->len - 1) / 4;
			out->packets++;
		}
	}
}

static void check_history(const struct fx *f, const struct fetched *got,
			  uint32_t first_minute)
{
	size_t i;

	CHECK_EQ(got->nsamples, got->count);
	CHECK_EQ(miband_time_to_unix(&got->first), (int64_t)first_minute * 60);
	for (i = 0; i < got->nsamples; i++) {
		struct miband_sample s;

		miband_history_sample(f->cfg.seed, first_minute + (uint32_t)i,
				      &s);
		CHECK_EQ(got->samples[4 * i], s.kind);
		CHECK_EQ(got->samples[4 * i + 1], s.intensity);
		CHECK_EQ(got->samples[4 * i + 2], s.steps);
		CHECK_EQ(got->samples[4 * i + 3], s.heart_rate);
	}
}

TEST(fetch_serves_exactly_the_history)
{
	static struct fetched got;
	struct fx f;
	struct miband_time since;
	uint32_t first, now_min;

	authed(&f, MIBAND_MODEL_MB3);
	if (test__failed)
		return;
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_FETCH_CTL, true,
					  f.now),
		 0);
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_FETCH_DATA, true,
					  f.now),
		 0);
	/* Two hours ago: everything up to the current minute. */
	first = (uint32_t)(miband_band_clock(&f.b, f.now) / 60) - 120;
	miband_time_from_unix((int64_t)first * 60, 0, &since);
	DO(fetch_round(&f, &since, &got));
	now_min = (uint32_t)(miband_band_clock(&f.b, f.now) / 60);
	CHECK_EQ(got.count, 120);
	/* The round ended a few milliseconds later, in the same minute. */
	CHECK_EQ(now_min, first + 120);
	DO(check_history(&f, &got, first));
	CHECK_EQ(got.packets, 30);
	/* Acknowledge. */
	CHECK_EQ(wr(&f, MIBAND_CH_FETCH_CTL, "03"), 0);
	CHECK_EQ(drain(&f), 2);
	CHECK(notify_is(&f, MIBAND_CH_FETCH_CTL, "10 03 01"));
	CHECK(find_event(&f, MIBAND_BAND_EV_FETCH_ACK));
}

TEST(fetch_clamps_and_batches)
{
	static struct fetched got;
	struct fx f;
	struct miband_time since;
	uint32_t start_min, end_min;

	authed(&f, MIBAND_MODEL_MB3);
	if (test__failed)
		return;
	f.b.cfg.fetch_batch_max = 1000;
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_FETCH_CTL, true,
					  f.now),
		 0);
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_FETCH_DATA, true,
					  f.now),
		 0);
	start_min = (uint32_t)(f.cfg.start_unix / 60) - 3 * 1440;
	/* A request from before the history: served from its start. */
	miband_time_from_unix((int64_t)start_min * 60 - 86400 * 30, 8, &since);
	DO(fetch_round(&f, &since, &got));
	CHECK_EQ(got.count, 1000);
	DO(check_history(&f, &got, start_min));
	/* Rounds continue until the band's current minute. */
	end_min = (uint32_t)(miband_band_clock(&f.b, f.now) / 60);
	{
		uint32_t m = start_min + 1000, total = 1000;

		while (m < end_min) {
			miband_time_from_unix((int64_t)m * 60, 0, &since);
			DO(fetch_round(&f, &since, &got));
			CHECK(got.count > 0 && got.count <= 1000);
			DO(check_history(&f, &got, m));
			m += got.count;
			total += got.count;
			end_min =
				(uint32_t)(miband_band_clock(&f.b, f.now) / 60);
		}
		CHECK_EQ(m, end_min);
		CHECK(total >= 3 * 1440);
	}
	/* In the future: nothing. */
	miband_time_from_unix((int64_t)(end_min + 10) * 60, 0, &since);
	DO(fetch_round(&f, &since, &got));
	CHECK_EQ(got.count, 0);
	/* 02 without a started round is refused. */
	CHECK_EQ(wr(&f, MIBAND_CH_FETCH_CTL, "02"), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK(notify_is(&f, MIBAND_CH_FETCH_CTL, "10 02 04"));
}

/* The transport drains rarely: the ring never holds more than its size,
 * replies to writes still fit, and the transfer completes intact. */
TEST(queue_never_overflows)
{
	static struct fetched got;
	struct fx f;
	struct miband_time since;
	uint8_t req[10];
	uint32_t first;
	int rounds = 0, i;
	bool ended = false;

	authed(&f, MIBAND_MODEL_MB3);
	if (test__failed)
		return;
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_FETCH_CTL, true,
					  f.now),
		 0);
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_FETCH_DATA, true,
					  f.now),
		 0);
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_CONFIG, true, f.now),
		 0);
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_HR_MEAS, true, f.now),
		 0);
	first = (uint32_t)(miband_band_clock(&f.b, f.now) / 60) - 600;
	miband_time_from_unix((int64_t)first * 60, 0, &since);
	CHECK_EQ(miband_encode_fetch_start(req, sizeof(req), 1, &since), 10);
	CHECK_EQ(wr_bytes(&f, MIBAND_CH_FETCH_CTL, req, 10), 0);
	CHECK_EQ(drain(&f), 1);
	CHECK_EQ(wr(&f, MIBAND_CH_FETCH_CTL, "02"), 0);
	CHECK_EQ(wr(&f, MIBAND_CH_HR_CTL, "15 01 01"), 0);
	memset(&got, 0, sizeof(got));
	while (!ended) {
		CHECK(++rounds < 2000);
		/* Time jumps; timers fire several times without a drain. */
		f.now += 1500;
		for (i = 0; i < 5; i++) {
			miband_band_on_timeout(&f.b, f.now);
			CHECK(f.b.qlen <= MIBAND_BAND_ACTION_QUEUE);
		}
		/* A write still gets its reply in. */
		CHECK_EQ(wr(&f, MIBAND_CH_CONFIG, "06 02 00 01"), 0);
		CHECK_EQ(wr(&f, MIBAND_CH_HR_CTL, "16"), 0);
		CHECK(f.b.qlen <= MIBAND_BAND_ACTION_QUEUE);
		CHECK(drain(&f) <= MIBAND_BAND_ACTION_QUEUE);
		CHECK(find_notify(&f, MIBAND_CH_CONFIG));
		for (i = 0; i < f.n; i++) {
			const struct rec *p = &f.r[i];

			if (p->type != MIBAND_BAND_ACTION_NOTIFY)
				continue;
			if (p->ch == MIBAND_CH_FETCH_CTL) {
				ended = true;
			} else if (p->ch == MIBAND_CH_FETCH_DATA) {
				CHECK_EQ(p->data[0], (uint8_t)got.packets);
				memcpy(got.samples + 4 * got.nsamples,
				       p->data + 1, p->len - 1);
				got.nsamples += (p->len - 1) / 4;
				got.packets++;
			}
		}
	}
	got.count = 600;
	miband_time_from_unix((int64_t)first * 60, 0, &got.first);
	DO(check_history(&f, &got, first));
}

/* ---- wipe, tables, history ---- */

/* What the band answers to writes its decoders refuse or do not know,
 * now that it parses through the codec: each as a band does. */
TEST(unknown_and_bad_writes)
{
	struct fx f;

	authed(&f, MIBAND_MODEL_MB3);
	if (test__failed)
		return;
	/* A crypt random request with another tail: no answer. */
	CHECK_EQ(wr(&f, MIBAND_CH_AUTH, "82 08 02 01 01"), MIBAND_ATT_OK);
	CHECK_EQ(drain(&f), 0);
	/* Unknown HR and fetch commands, a chunk of another transfer:
	 * accepted, nothing happens. */
	CHECK_EQ(wr(&f, MIBAND_CH_HR_CTL, "17 01"), MIBAND_ATT_OK);
	CHECK_EQ(miband_band_on_subscribe(&f.b, MIBAND_CH_FETCH_CTL, true,
					  f.now),
		 0);
	CHECK_EQ(wr(&f, MIBAND_CH_FETCH_CTL, "04"), MIBAND_ATT_OK);
	CHECK_EQ(wr(&f, MIBAND_CH_CHUNKED, "01 c0 00 41 42"), MIBAND_ATT_OK);
	CHECK_EQ(drain(&f), 0);
	/* A fetch start whose date is none: 10 01 04. */
	CHECK_EQ(wr(&f, MIBAND_CH_FETCH_CTL, "01 01 e3 07 0d 01 00 00 00 00"),
		 MIBAND_ATT_OK);
	CHECK_EQ(drain(&f), 1);
	CHECK(notify_is(&f, MIBAND_CH_FETCH_CTL, "10 01 04"));
	CHECK_EQ(wr(&f, MIBAND_CH_FETCH_CTL, "01 01 e3 07 06 01 00 00 00"),
		 MIBAND_ATT_INVALID_LENGTH);
	/* An ack may carry more; it is acknowledged all the same. */
	CHECK_EQ(wr(&f, MIBAND_CH_FETCH_CTL, "03 09"), MIBAND_ATT_OK);
	CHECK_EQ(drain(&f), 2);
	CHECK(notify_is(&f, MIBAND_CH_FETCH_CTL, "10 03 01"));
	CHECK(find_event(&f, MIBAND_BAND_EV_FETCH_ACK));
	/* Alert levels: the first byte counts. */
	CHECK_EQ(wr(&f, MIBAND_CH_ALERT, ""), MIBAND_ATT_INVALID_LENGTH);
	CHECK_EQ(wr(&f, MIBAND_CH_ALERT, "02 ff"), MIBAND_ATT_OK);
	CHECK_EQ(drain(&f), 1);
	CHECK_EQ(find_event(&f, MIBAND_BAND_EV_ALERT)->ev.u.level, 2);
}

TEST(wipe_zeroises_keys)
{
	struct fx f;
	uint8_t got[16];
	size_t i;

	authed(&f, MIBAND_MODEL_MB3);
	if (test__failed)
		return;
	miband_band_wipe(&f.b);
	CHECK_EQ(miband_band_get_key(&f.b, got), MIBAND_E_NO_KEY);
	CHECK(!miband_band_is_authed(&f.b));
	for (i = 0; i + 16 <= sizeof(f.b); i++)
		CHECK(memcmp((const uint8_t *)&f.b + i, key_a, 16) != 0);
}

TEST(gatt_tables)
{
	const struct miband_gatt_table *t2 =
		miband_gatt_table(MIBAND_MODEL_MB2);
	int m;
	size_t i;

	CHECK(t2);
	CHECK_STR(t2->device_name, "MI Band 2");
	/* The handles seen on a real Mi Band 2 (PROTOCOL.md 1.2, 7.1). */
	for (i = 0; i < t2->n_attrs; i++) {
		const struct miband_gatt_attr *a = &t2->attrs[i];

		if (a->channel == MIBAND_CH_AUTH) {
			CHECK_EQ(a->handle, 0x0054);
			CHECK_EQ(a->cccd_handle, 0x0055);
		}
		if (a->channel == MIBAND_CH_TIME)
			CHECK_EQ(a->handle, 0x002f);
		if (a->channel == MIBAND_CH_DIS_SW_REV)
			CHECK_EQ(a->handle, 0x0012);
		if (a->channel == MIBAND_CH_DEVICE_NAME)
			CHECK_EQ(a->handle, 0x0003);
		if (a->handle) {
			size_t s;
			int inside = 0;

			CHECK_EQ(a->decl_handle + 1, a->handle);
			for (s = 0; s < t2->n_services; s++)
				if (t2->services[s].uuid16 == a->service16 &&
				    a->decl_handle >
					    t2->services[s].start_handle &&
				    a->handle <= t2->services[s].end_handle)
					inside = 1;
			CHECK(inside);
		}
	}
	/* Every model serves every channel once, with its profile's
	 * properties. */
	for (m = 0; m < MIBAND_MODEL_COUNT; m++) {
		const struct miband_gatt_table *t =
			miband_gatt_table((enum miband_model)m);
		int ch;

		CHECK(t && t->device_name);
		for (ch = 0; ch < MIBAND_CH_COUNT; ch++) {
			int count = 0;

			for (i = 0; i < t->n_attrs; i++) {
				if (t->attrs[i].channel != ch)
					continue;
				count++;
				CHECK_EQ(t->attrs[i].uuid16,
					 miband_channel_info(
						 (enum miband_channel)ch)
						 ->uuid16);
				CHECK_EQ(t->attrs[i].service16,
					 miband_channel_info(
						 (enum miband_channel)ch)
						 ->service16);
			}
			CHECK_EQ(count, 1);
		}
	}
	CHECK(miband_gatt_table(MIBAND_MODEL_COUNT) == NULL);
}

TEST(history_plausible_and_deterministic)
{
	uint32_t base = 1700000000u / 60 / 1440 * 1440; /* a UTC midnight */
	uint32_t m, seed, kinds[16] = {0}, night_sleep = 0, steps_day = 0;

	for (seed = 1; seed <= 3; seed++) {
		for (m = base; m < base + 7 * 1440; m++) {
			struct miband_sample a, b;
			uint32_t mod = m % 1440;

			miband_history_sample(seed, m, &a);
			miband_history_sample(seed, m, &b);
			CHECK_MEM(&a, &b, sizeof(a));
			CHECK(a.kind < 16);
			kinds[a.kind]++;
			CHECK(a.heart_rate == 0xff ||
			      (a.heart_rate >= 50 && a.heart_rate <= 150));
			if (a.kind == 9 || a.kind == 11) {
				CHECK_EQ(a.steps, 0);
				CHECK(mod >= 1320 || mod < 480);
			}
			if (a.kind == 3 || a.kind == 6)
				CHECK(a.steps == 0 && a.heart_rate == 0xff);
			if (mod >= 120 && mod < 360)
				night_sleep += a.kind == 9 || a.kind == 11;
			steps_day += a.steps;
		}
	}
	/* 02:00-06:00 is always asleep; both sleep kinds occur. */
	CHECK_EQ(night_sleep, 3 * 7 * 240);
	CHECK(kinds[9] > 0 && kinds[11] > 0 && kinds[1] > 0);
	CHECK(kinds[3] > 0 && kinds[6] > 0);
	CHECK_EQ(kinds[1] + kinds[3] + kinds[6] + kinds[9] + kinds[11],
		 3 * 7 * 1440);
	/* A plausible 3,000..20,000 steps a day. */
	CHECK(steps_day / 21 > 3000 && steps_day / 21 < 20000);
	/* Different seeds, different days. */
	{
		struct miband_sample a, b;
		int diff = 0;

		for (m = base; m < base + 1440; m++) {
			miband_history_sample(1, m, &a);
			miband_history_sample(2, m, &b);
			diff += memcmp(&a, &b, sizeof(a)) != 0;
		}
		CHECK(diff > 100);
	}
}

TEST(history_steps_today_sums_the_day)
{
	/* 2023-11-14 15:30:10 UTC, zone +02:00 (8 quarter hours). */
	int64_t t = 1699975810;
	int8_t tz = 8;
	int64_t local_midnight = (t + tz * 900) / 86400 * 86400 - tz * 900;
	uint32_t m, sum = 0;
	struct miband_sample s;

	for (m = (uint32_t)(local_midnight / 60); m < (uint32_t)(t / 60); m++) {
		miband_history_sample(5, m, &s);
		sum += s.steps;
	}
	CHECK(sum > 0);
	CHECK_EQ(miband_history_steps_today(5, t, tz), sum);
	CHECK_EQ(miband_history_steps_today(5, local_midnight, tz), 0);
}

TEST_MAIN(T(pair_accept_then_auth), T(pair_flag08_accepted_unless_configured),
	  T(pair_unknown_flags_refused), T(pair_decline),
	  T(pair_never_times_out), T(pair_manual_tap), T(random_without_key),
	  T(crypt_variant), T(wrong_key_and_single_use_random),
	  T(real_band_vector), T(malformed_auth_writes),
	  T(crypto_failures_give_no_answer), T(unknown_and_bad_writes),
	  T(no_notification_without_subscription), T(auth_reply_readable),
	  T(silent_before_auth), T(device_names_per_model), T(unauth_drop),
	  T(reconnect_forgets_link_state), T(battery_time_steps),
	  T(steps_notify_on_change_each_minute), T(hr_oneshot),
	  T(hr_continuous_stops_without_keepalive),
	  T(hr_continuous_keepalive_and_stop), T(alerts_calls_text),
	  T(long_new_alert), T(chunk_reassembly), T(config_user_events),
	  T(fetch_serves_exactly_the_history), T(fetch_clamps_and_batches),
	  T(queue_never_overflows), T(wipe_zeroises_keys), T(gatt_tables),
	  T(history_plausible_and_deterministic),
	  T(history_steps_today_sums_the_day))
