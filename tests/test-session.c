/*
 * The client engine alone, driven with scripted inputs: the exact bytes
 * of every write for each model's flags and the crypt variant, every auth
 * outcome (PROTOCOL.md 2.4, the seed's base64 replies, the real-band
 * exchange of 7.1), deadlines, disconnects, and every request type.
 *
 * The harness drains the engine after every input into a list and the
 * tests walk that list; it also checks the engine's promises on the way:
 * one GATT operation in flight, no write longer than mtu - 3, every write
 * carrying a key or an answer marked secret.
 */
#include "runner.h"

#include "crypto/testcrypto.h"
#include "miband/codec.h"
#include "miband/crypto.h"
#include "miband/error.h"
#include "miband/session.h"

#define MAXA 32

struct got {
	struct miband_action a;
	uint8_t data[64];
	uint8_t value[64]; /* event payload copies (devinfo, samples) */
};

struct h {
	struct miband_session s;
	struct miband_session_config cfg;
	uint64_t now;
	struct got got[MAXA];
	int n, pos;
	bool outstanding; /* a GATT op handed out, not completed */
	enum miband_channel out_ch;
	int violations;
};

static uint8_t k71[16], r71[16], a71[16];

static void load_vectors(void)
{
	test_hex("d88ca0fef504cc82735f15feb6bf9b1f", k71, 16);
	test_hex("689c1dd58a666f0f8c90a1a96e1ab3a3", r71, 16);
	test_hex("ce1c0135db39e61f1a27012fb907df3b", a71, 16);
}

/* Pulls every action the engine has now. */
static void drain(struct h *h)
{
	struct miband_action a;

	h->n = 0;
	h->pos = 0;
	while (miband_session_next_action(&h->s, &a) != MIBAND_ACTION_DONE) {
		struct got *g;

		if (h->n >= MAXA) {
			h->violations++;
			return;
		}
		g = &h->got[h->n++];
		g->a = a;
		if (a.type == MIBAND_ACTION_WRITE) {
			if (a.len > (size_t)h->s.cfg.mtu - 3 ||
			    a.len > sizeof(g->data))
				h->violations++;
			memcpy(g->data, a.data, a.len);
			g->a.data = g->data;
		}
		if (a.type == MIBAND_ACTION_SUBSCRIBE ||
		    a.type == MIBAND_ACTION_WRITE ||
		    a.type == MIBAND_ACTION_READ) {
			if (h->outstanding)
				h->violations++;
			h->outstanding = true;
			h->out_ch = a.channel;
		}
		if (a.type == MIBAND_ACTION_EVENT &&
		    a.event.type == MIBAND_EV_DEVINFO &&
		    a.event.u.devinfo.len <= sizeof(g->value)) {
			memcpy(g->value, a.event.u.devinfo.value,
			       a.event.u.devinfo.len);
			g->a.event.u.devinfo.value = g->value;
		}
		if (a.type == MIBAND_ACTION_EVENT &&
		    a.event.type == MIBAND_EV_SAMPLES &&
		    a.event.u.samples.count * 4 <= sizeof(g->value)) {
			memcpy(g->value, a.event.u.samples.data,
			       a.event.u.samples.count * 4);
			g->a.event.u.samples.data = g->value;
		}
	}
}

static void h_init(struct h *h, enum miband_model model, const uint8_t *key)
{
	memset(h, 0, sizeof(*h));
	miband_session_config_init(&h->cfg, model);
	h->cfg.crypto = &miband_crypto_openssl;
	h->now = 1000;
	if (!key)
		key = k71;
	if (miband_session_init(&h->s, &h->cfg, key) != 0)
		h->violations++;
}

static void h_reinit(struct h *h, const uint8_t *key)
{
	memset(&h->s, 0, sizeof(h->s));
	h->outstanding = false;
	if (miband_session_init(&h->s, &h->cfg, key ? key : k71) != 0)
		h->violations++;
}

/* ---- inputs ---- */

static void done(struct h *h, enum miband_channel ch, int status)
{
	if (h->outstanding && h->out_ch == ch)
		h->outstanding = false;
	miband_session_on_write_done(&h->s, ch, status, h->now);
	drain(h);
}

static void notify_hex(struct h *h, enum miband_channel ch, const char *hex)
{
	uint8_t b[64];
	int n = test_hex(hex, b, sizeof(b));

	if (n < 0)
		h->violations++;
	miband_session_on_notify(&h->s, ch, b, n < 0 ? 0 : (size_t)n, h->now);
	memset(b, 0xee, sizeof(b)); /* the engine must not keep pointers */
	drain(h);
}

static void notify_bytes(struct h *h, enum miband_channel ch, const uint8_t *b,
			 size_t len)
{
	miband_session_on_notify(&h->s, ch, b, len, h->now);
	drain(h);
}

static void read_hex(struct h *h, enum miband_channel ch, int status,
		     const char *hex)
{
	uint8_t b[64];
	int n = hex ? test_hex(hex, b, sizeof(b)) : 0;

	if (n < 0)
		h->violations++;
	if (h->outstanding && h->out_ch == ch)
		h->outstanding = false;
	miband_session_on_read(&h->s, ch, status, b, n < 0 ? 0 : (size_t)n,
			       h->now);
	memset(b, 0xee, sizeof(b));
	drain(h);
}

static void timeout_at(struct h *h, uint64_t t)
{
	h->now = t;
	miband_session_on_timeout(&h->s, t);
	drain(h);
}

/* ---- expectations: each consumes the next drained action ---- */

static const struct got *next(struct h *h)
{
	if (h->pos >= h->n) {
		fprintf(stderr, "#   expected another action, got DONE\n");
		return NULL;
	}
	return &h->got[h->pos++];
}

static bool x_sub(struct h *h, enum miband_channel ch)
{
	const struct got *g = next(h);

	if (!g || g->a.type != MIBAND_ACTION_SUBSCRIBE || g->a.channel != ch) {
		fprintf(stderr,
			"#   expected SUBSCRIBE %d, got type %d ch %d\n", ch,
			g ? (int)g->a.type : -1, g ? (int)g->a.channel : -1);
		return false;
	}
	return true;
}

static bool x_read(struct h *h, enum miband_channel ch)
{
	const struct got *g = next(h);

	if (!g || g->a.type != MIBAND_ACTION_READ || g->a.channel != ch) {
		fprintf(stderr, "#   expected READ %d, got type %d ch %d\n", ch,
			g ? (int)g->a.type : -1, g ? (int)g->a.channel : -1);
		return false;
	}
	return true;
}

/* resp: 1 write request, 0 command; secret as expected */
static bool x_write(struct h *h, enum miband_channel ch, const char *hex,
		    int resp, bool secret)
{
	const struct got *g = next(h);
	uint8_t want[64];
	int n = test_hex(hex, want, sizeof(want));

	if (!g || g->a.type != MIBAND_ACTION_WRITE || g->a.channel != ch ||
	    (int)g->a.len != n || memcmp(g->data, want, (size_t)n) ||
	    g->a.with_response != (resp == 1) || g->a.secret != secret) {
		size_t i;

		fprintf(stderr,
			"#   expected WRITE ch %d [%s] resp %d secret "
			"%d\n#   got type %d ch %d resp %d secret %d [",
			ch, hex, resp, secret, g ? (int)g->a.type : -1,
			g ? (int)g->a.channel : -1, g ? g->a.with_response : -1,
			g ? g->a.secret : -1);
		for (i = 0;
		     g && g->a.type == MIBAND_ACTION_WRITE && i < g->a.len; i++)
			fprintf(stderr, "%02x", g->data[i]);
		fprintf(stderr, "]\n");
		return false;
	}
	return true;
}

static const struct miband_event *x_event(struct h *h,
					  enum miband_event_type type)
{
	const struct got *g = next(h);

	if (!g || g->a.type != MIBAND_ACTION_EVENT || g->a.event.type != type) {
		fprintf(stderr, "#   expected event %s, got type %d %s",
			miband_event_name(type), g ? (int)g->a.type : -1,
			g && g->a.type == MIBAND_ACTION_EVENT
				? miband_event_name(g->a.event.type)
				: "");
		if (g && g->a.type == MIBAND_ACTION_EVENT &&
		    g->a.event.type == MIBAND_EV_ERROR)
			fprintf(stderr, " %s",
				miband_err_name(g->a.event.error));
		fprintf(stderr, "\n");
		return NULL;
	}
	return &g->a.event;
}

static bool x_progress(struct h *h, enum miband_auth_step step)
{
	const struct miband_event *ev = x_event(h, MIBAND_EV_AUTH_PROGRESS);

	if (!ev || ev->request != MIBAND_REQ_AUTH || ev->u.auth_step != step) {
		fprintf(stderr, "#   expected progress %s\n",
			miband_auth_step_name(step));
		return false;
	}
	return true;
}

static bool x_error(struct h *h, enum miband_request_type req, int err)
{
	const struct miband_event *ev = x_event(h, MIBAND_EV_ERROR);

	if (!ev || ev->request != req || ev->error != err) {
		fprintf(stderr, "#   expected error %s for %s, got %s for %s\n",
			miband_err_name(err), miband_request_name(req),
			ev ? miband_err_name(ev->error) : "-",
			ev ? miband_request_name(ev->request) : "-");
		return false;
	}
	return true;
}

static bool x_done_ev(struct h *h, enum miband_request_type req)
{
	const struct miband_event *ev = x_event(h, MIBAND_EV_DONE);

	return ev && ev->request == req;
}

static bool x_end(struct h *h)
{
	if (h->pos != h->n) {
		fprintf(stderr, "#   %d unexpected action(s), first type %d\n",
			h->n - h->pos, (int)h->got[h->pos].a.type);
		if (h->got[h->pos].a.type == MIBAND_ACTION_EVENT)
			fprintf(stderr, "#   event %s\n",
				miband_event_name(h->got[h->pos].a.event.type));
		return false;
	}
	return h->violations == 0;
}

/* ---- auth scripts ---- */

static void hexstr(const uint8_t *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = 0;
}

/* Up to the 02 write: subscribes and (PAIR) sends the key. */
static bool auth_to_random(struct h *h, enum miband_auth_mode mode,
			   const char *flags_hex, const char *rand_hex)
{
	char buf[80];

	if (miband_session_start_auth(&h->s, mode, h->now) != 0)
		return false;
	drain(h);
	if (!x_sub(h, MIBAND_CH_AUTH) || !x_end(h))
		return false;
	done(h, MIBAND_CH_AUTH, 0);
	if (!x_progress(h, MIBAND_AUTH_STEP_SUBSCRIBED))
		return false;
	if (mode == MIBAND_AUTH_PAIR) {
		char key[40];

		hexstr(h->s.key, 16, key);
		snprintf(buf, sizeof(buf), "01 %s %s", flags_hex, key);
		if (!x_write(h, MIBAND_CH_AUTH, buf, 0, true) ||
		    !x_progress(h, MIBAND_AUTH_STEP_KEY_SENT) || !x_end(h))
			return false;
		done(h, MIBAND_CH_AUTH, 0);
		if (!x_end(h))
			return false;
		notify_hex(h, MIBAND_CH_AUTH, "10 01 01");
		if (!x_progress(h, MIBAND_AUTH_STEP_KEY_ACCEPTED))
			return false;
	}
	if (!x_write(h, MIBAND_CH_AUTH, rand_hex, 0, false) ||
	    !x_progress(h, MIBAND_AUTH_STEP_RANDOM_REQUESTED) || !x_end(h))
		return false;
	done(h, MIBAND_CH_AUTH, 0);
	return x_end(h);
}

/* Random in, answer out (expected answer given), success reply. */
static bool auth_finish(struct h *h, const char *echo, const uint8_t *rnd,
			const char *answer_hex, bool paired)
{
	char buf[96], r[40];
	const struct miband_event *ev;

	hexstr(rnd, 16, r);
	snprintf(buf, sizeof(buf), "10 %s 01 %s", echo, r);
	notify_hex(h, MIBAND_CH_AUTH, buf);
	if (!x_progress(h, MIBAND_AUTH_STEP_RANDOM_RECEIVED) ||
	    !x_write(h, MIBAND_CH_AUTH, answer_hex, 0, true) ||
	    !x_progress(h, MIBAND_AUTH_STEP_ANSWER_SENT) || !x_end(h))
		return false;
	done(h, MIBAND_CH_AUTH, 0);
	snprintf(buf, sizeof(buf), "10 %s 01", echo[0] == '8' ? "83" : "03");
	notify_hex(h, MIBAND_CH_AUTH, buf);
	ev = x_event(h, MIBAND_EV_AUTH_OK);
	if (!ev || ev->request != MIBAND_REQ_AUTH || ev->u.paired != paired)
		return false;
	return x_end(h) && miband_session_is_authed(&h->s) &&
	       !miband_session_is_busy(&h->s);
}

/* An authenticated MB3 session (stored key, 7.1 vectors). */
static bool authed(struct h *h, enum miband_model model)
{
	h_init(h, model, k71);
	if (!auth_to_random(h, MIBAND_AUTH_STORED,
			    model == MIBAND_MODEL_MB3 ? "00" : "08",
			    model == MIBAND_MODEL_MB3	? "02 00"
			    : model == MIBAND_MODEL_MB2 ? "02 08"
							: "82 08 02 01 00"))
		return false;
	return auth_finish(h,
			   model == MIBAND_MODEL_MB3   ? "02"
			   : model == MIBAND_MODEL_MB2 ? "02"
						       : "82",
			   r71,
			   model == MIBAND_MODEL_MB3
				   ? "03 00 ce1c0135db39e61f1a27012fb907df3b"
			   : model == MIBAND_MODEL_MB2
				   ? "03 08 ce1c0135db39e61f1a27012fb907df3b"
				   : "83 08 ce1c0135db39e61f1a27012fb907df3b",
			   false);
}

/* True if the 16 bytes occur anywhere in the session struct. */
static bool struct_holds(const struct miband_session *s, const uint8_t *b)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i;

	for (i = 0; i + 16 <= sizeof(*s); i++)
		if (!memcmp(p + i, b, 16))
			return true;
	return false;
}

/* ---- auth tests ---- */

TEST(real_band_7_1)
{
	/* PROTOCOL.md 7.1: the real Mi Band 2 exchange (flags 00, as the
	 * logged client sent them; our MB3 default) byte for byte. */
	struct h h;

	load_vectors();
	h_init(&h, MIBAND_MODEL_MB3, k71);
	CHECK(auth_to_random(&h, MIBAND_AUTH_PAIR, "00", "02 00"));
	CHECK(auth_finish(&h, "02", r71,
			  "03 00 ce1c0135db39e61f1a27012fb907df3b", true));
	/* the random and the answer are gone; the key stays */
	CHECK(!struct_holds(&h.s, a71));
	CHECK(!struct_holds(&h.s, r71));
	CHECK(struct_holds(&h.s, k71));
}

TEST(mb2_pairing_flags_08)
{
	struct h h;

	load_vectors();
	h_init(&h, MIBAND_MODEL_MB2, k71);
	CHECK(auth_to_random(&h, MIBAND_AUTH_PAIR, "08", "02 08"));
	CHECK(auth_finish(&h, "02", r71,
			  "03 08 ce1c0135db39e61f1a27012fb907df3b", true));
}

TEST(mb3_stored)
{
	struct h h;

	load_vectors();
	CHECK(authed(&h, MIBAND_MODEL_MB3));
}

TEST(mb4_crypt_variant)
{
	struct h h;

	load_vectors();
	CHECK(authed(&h, MIBAND_MODEL_MB4));
	/* MB5 and MB6 (old protocol) are the same */
	CHECK(authed(&h, MIBAND_MODEL_MB6));
	/* the echo may come without the crypt bit: low nibble matches */
	h_init(&h, MIBAND_MODEL_MB5, k71);
	CHECK(auth_to_random(&h, MIBAND_AUTH_STORED, "08", "82 08 02 01 00"));
	CHECK(auth_finish(&h, "02", r71,
			  "83 08 ce1c0135db39e61f1a27012fb907df3b", false));
}

TEST(flag_overrides)
{
	struct h h;

	load_vectors();
	h_init(&h, MIBAND_MODEL_MB3, k71);
	h.cfg.auth_flags = 0x08;
	h.cfg.crypt_flags = 0x80;
	h_reinit(&h, k71);
	CHECK(auth_to_random(&h, MIBAND_AUTH_PAIR, "08", "82 08 02 01 00"));
	CHECK(auth_finish(&h, "82", r71,
			  "83 08 ce1c0135db39e61f1a27012fb907df3b", true));
	h.cfg.crypt_flags = 0x40;
	CHECK_EQ(miband_session_init(&h.s, &h.cfg, k71), MIBAND_E_INVAL);
	h.cfg.crypt_flags = -1;
	h.cfg.auth_flags = 0x100;
	CHECK_EQ(miband_session_init(&h.s, &h.cfg, k71), MIBAND_E_INVAL);
	h.cfg.auth_flags = -1;
	h.cfg.mtu = 22;
	CHECK_EQ(miband_session_init(&h.s, &h.cfg, k71), MIBAND_E_INVAL);
	h.cfg.mtu = 23;
	h.cfg.model = MIBAND_MODEL_COUNT;
	CHECK_EQ(miband_session_init(&h.s, &h.cfg, k71), MIBAND_E_INVAL);
}

TEST(gb_default_key_vectors)
{
	/* PROTOCOL.md 7.1, computed vectors with "0123456789@ABCDE" */
	static const uint8_t gbkey[16] = "0123456789@ABCDE";
	uint8_t rnd[16];
	struct h h;
	int i;

	load_vectors();
	for (i = 0; i < 16; i++)
		rnd[i] = (uint8_t)i;
	h_init(&h, MIBAND_MODEL_MB3, gbkey);
	CHECK(auth_to_random(&h, MIBAND_AUTH_STORED, "00", "02 00"));
	CHECK(auth_finish(&h, "02", rnd,
			  "03 00 f5003494346bffac69990bf7f317e5db", false));
	h_init(&h, MIBAND_MODEL_MB2, gbkey);
	CHECK(auth_to_random(&h, MIBAND_AUTH_STORED, "08", "02 08"));
	CHECK(auth_finish(&h, "02", r71,
			  "03 08 c956e66c1275359458666a8dcbf74845", false));
}

/* A tiny base64 decoder, enough for the seed's reply strings. */
static int b64(const char *in, uint8_t *out, size_t cap)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				    "qrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (; *in && *in != '='; in++) {
		const char *p = strchr(alpha, *in);

		if (!p)
			return -1;
		acc = acc << 6 | (uint32_t)(p - alpha);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)n;
}

TEST(seed_base64_replies)
{
	uint8_t m[8];
	struct h h;
	const struct miband_event *ev;

	load_vectors();
	/* the decoder itself, on a known string */
	CHECK_EQ(b64("TWFu", m, sizeof(m)), 3);
	CHECK_MEM(m, "Man", 3);

	/* EAEB = 10 01 01: the tap confirmed; on to the random */
	CHECK_EQ(b64("EAEB", m, sizeof(m)), 3);
	CHECK_EQ(m[0], 0x10);
	CHECK_EQ(m[1], 0x01);
	CHECK_EQ(m[2], 0x01);
	h_init(&h, MIBAND_MODEL_MB3, k71);
	CHECK_EQ(miband_session_start_auth(&h.s, MIBAND_AUTH_PAIR, h.now), 0);
	drain(&h);
	done(&h, MIBAND_CH_AUTH, 0);
	done(&h, MIBAND_CH_AUTH, 0);
	notify_bytes(&h, MIBAND_CH_AUTH, m, 3);
	CHECK(x_progress(&h, MIBAND_AUTH_STEP_KEY_ACCEPTED));
	CHECK(x_write(&h, MIBAND_CH_AUTH, "02 00", 0, false));

	/* EAEC = 10 01 02: pairing declined */
	CHECK_EQ(b64("EAEC", m, sizeof(m)), 3);
	CHECK_EQ(m[2], 0x02);
	h_init(&h, MIBAND_MODEL_MB3, k71);
	CHECK_EQ(miband_session_start_auth(&h.s, MIBAND_AUTH_PAIR, h.now), 0);
	drain(&h);
	done(&h, MIBAND_CH_AUTH, 0);
	done(&h, MIBAND_CH_AUTH, 0);
	notify_bytes(&h, MIBAND_CH_AUTH, m, 3);
	CHECK(x_error(&h, MIBAND_REQ_AUTH, MIBAND_E_PAIR_DECLINED));
	CHECK(x_end(&h));
	CHECK(!miband_session_is_authed(&h.s));

	/* EAMB = 10 03 01: authenticated */
	CHECK_EQ(b64("EAMB", m, sizeof(m)), 3);
	CHECK_EQ(m[1], 0x03);
	CHECK_EQ(m[2], 0x01);
	h_init(&h, MIBAND_MODEL_MB3, k71);
	CHECK(auth_to_random(&h, MIBAND_AUTH_STORED, "00", "02 00"));
	notify_hex(&h, MIBAND_CH_AUTH,
		   "10 02 01 689c1dd58a666f0f8c90a1a96e1ab3a3");
	done(&h, MIBAND_CH_AUTH, 0);
	notify_bytes(&h, MIBAND_CH_AUTH, m, 3);
	ev = x_event(&h, MIBAND_EV_AUTH_OK);
	CHECK(ev != NULL);
	CHECK(miband_session_is_authed(&h.s));

	/* EAME = 10 03 04: the band holds another key */
	CHECK_EQ(b64("EAME", m, sizeof(m)), 3);
	CHECK_EQ(m[2], 0x04);
	h_init(&h, MIBAND_MODEL_MB3, k71);
	CHECK(auth_to_random(&h, MIBAND_AUTH_STORED, "00", "02 00"));
	notify_hex(&h, MIBAND_CH_AUTH,
		   "10 02 01 689c1dd58a666f0f8c90a1a96e1ab3a3");
	done(&h, MIBAND_CH_AUTH, 0);
	notify_bytes(&h, MIBAND_CH_AUTH, m, 3);
	CHECK(x_error(&h, MIBAND_REQ_AUTH, MIBAND_E_WRONG_KEY));
	CHECK(x_end(&h));
	CHECK(!miband_session_is_authed(&h.s));
}

/* Stage of an auth run at which a reply is injected. */
enum stage { AT_KEY, AT_RANDOM, AT_ANSWER };

static bool run_to(struct h *h, enum miband_auth_mode mode, enum stage st)
{
	if (miband_session_start_auth(&h->s, mode, h->now) != 0)
		return false;
	drain(h);
	done(h, MIBAND_CH_AUTH, 0);
	done(h, MIBAND_CH_AUTH, 0); /* key or 02 */
	if (st == AT_KEY)
		return true;
	if (mode == MIBAND_AUTH_PAIR) {
		notify_hex(h, MIBAND_CH_AUTH, "10 01 01");
		done(h, MIBAND_CH_AUTH, 0);
	}
	if (st == AT_RANDOM)
		return true;
	notify_hex(h, MIBAND_CH_AUTH,
		   "10 02 01 689c1dd58a666f0f8c90a1a96e1ab3a3");
	done(h, MIBAND_CH_AUTH, 0);
	return true;
}

/* After any auth error the session is idle, not authenticated, and a
 * fresh stored-key auth works. */
static bool reusable(struct h *h)
{
	if (miband_session_is_busy(&h->s) || miband_session_is_authed(&h->s) ||
	    h->s.fatal || miband_session_deadline_ms(&h->s) != UINT64_MAX)
		return false;
	return auth_to_random(h, MIBAND_AUTH_STORED, "00", "02 00") &&
	       auth_finish(h, "02", r71,
			   "03 00 ce1c0135db39e61f1a27012fb907df3b", false);
}

TEST(auth_statuses)
{
	static const struct {
		enum miband_auth_mode mode;
		enum stage at;
		const char *reply;
		int err;
	} v[] = {
		{MIBAND_AUTH_PAIR, AT_KEY, "10 01 02", MIBAND_E_PAIR_DECLINED},
		{MIBAND_AUTH_PAIR, AT_KEY, "10 01 04", MIBAND_E_SETKEY_FAILED},
		{MIBAND_AUTH_PAIR, AT_KEY, "10 01 03", MIBAND_E_AUTH_STATUS},
		{MIBAND_AUTH_PAIR, AT_KEY,
		 "10 01 81 01 18 63 c2 cc e5 d1 59 "
		 "41 3b ed 92 c4 b1 63 c2 79",
		 MIBAND_E_AUTH_STATUS},
		{MIBAND_AUTH_STORED, AT_RANDOM, "10 02 04",
		 MIBAND_E_RANDOM_FAILED},
		{MIBAND_AUTH_STORED, AT_RANDOM, "10 02 07",
		 MIBAND_E_AUTH_STATUS},
		{MIBAND_AUTH_STORED, AT_ANSWER, "10 03 04", MIBAND_E_WRONG_KEY},
		{MIBAND_AUTH_STORED, AT_ANSWER, "10 83 04", MIBAND_E_WRONG_KEY},
		{MIBAND_AUTH_STORED, AT_ANSWER, "10 03 08",
		 MIBAND_E_AUTH_REJECTED},
		{MIBAND_AUTH_STORED, AT_ANSWER, "10 03 05",
		 MIBAND_E_AUTH_STATUS},
		{MIBAND_AUTH_AUTO, AT_ANSWER, "10 03 04", MIBAND_E_WRONG_KEY},
		{MIBAND_AUTH_AUTO, AT_RANDOM, "10 02 04",
		 MIBAND_E_RANDOM_FAILED},
		/* malformed: short, long, garbage */
		{MIBAND_AUTH_STORED, AT_ANSWER, "10 03", MIBAND_E_MALFORMED},
		{MIBAND_AUTH_STORED, AT_ANSWER, "10", MIBAND_E_MALFORMED},
		{MIBAND_AUTH_STORED, AT_ANSWER, "", MIBAND_E_MALFORMED},
		{MIBAND_AUTH_STORED, AT_ANSWER, "10 03 01 00",
		 MIBAND_E_MALFORMED},
		{MIBAND_AUTH_STORED, AT_ANSWER, "ff ff ff", MIBAND_E_MALFORMED},
		{MIBAND_AUTH_STORED, AT_ANSWER, "10 07 01", MIBAND_E_MALFORMED},
		{MIBAND_AUTH_STORED, AT_RANDOM,
		 "10 02 01 689c1dd58a666f0f8c90a1a96e1ab3", MIBAND_E_MALFORMED},
		{MIBAND_AUTH_STORED, AT_RANDOM,
		 "10 02 01 689c1dd58a666f0f8c90a1a96e1ab3a3 00",
		 MIBAND_E_MALFORMED},
		/* replies to steps not asked */
		{MIBAND_AUTH_STORED, AT_RANDOM, "10 03 01",
		 MIBAND_E_UNEXPECTED},
		{MIBAND_AUTH_STORED, AT_RANDOM, "10 01 01",
		 MIBAND_E_UNEXPECTED},
		{MIBAND_AUTH_PAIR, AT_KEY,
		 "10 02 01 689c1dd58a666f0f8c90a1a96e1ab3a3",
		 MIBAND_E_UNEXPECTED},
		{MIBAND_AUTH_PAIR, AT_KEY, "10 03 01", MIBAND_E_UNEXPECTED},
		{MIBAND_AUTH_STORED, AT_ANSWER,
		 "10 02 01 689c1dd58a666f0f8c90a1a96e1ab3a3",
		 MIBAND_E_UNEXPECTED},
		{MIBAND_AUTH_PAIR, AT_ANSWER, "10 01 01", MIBAND_E_UNEXPECTED},
	};
	struct h h;
	size_t i;

	load_vectors();
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		h_init(&h, MIBAND_MODEL_MB3, k71);
		CHECK(run_to(&h, v[i].mode, v[i].at));
		notify_hex(&h, MIBAND_CH_AUTH, v[i].reply);
		if (!x_error(&h, MIBAND_REQ_AUTH, v[i].err) || !x_end(&h)) {
			TEST_FAIL_AT(__FILE__, __LINE__, "case %zu: %s", i,
				     v[i].reply);
			return;
		}
		CHECK(!miband_is_fatal(v[i].err));
		if (!reusable(&h)) {
			TEST_FAIL_AT(__FILE__, __LINE__,
				     "case %zu not reusable", i);
			return;
		}
	}
}

TEST(mb4_announcement_ignored)
{
	struct h h;

	load_vectors();
	h_init(&h, MIBAND_MODEL_MB4, k71);
	CHECK(auth_to_random(&h, MIBAND_AUTH_STORED, "08", "82 08 02 01 00"));
	notify_hex(
		&h, MIBAND_CH_AUTH,
		"10 01 81 01 18 63 c2 cc e5 d1 59 41 3b ed 92 c4 b1 63 c2 79");
	CHECK(x_end(&h));
	CHECK(auth_finish(&h, "82", r71,
			  "83 08 ce1c0135db39e61f1a27012fb907df3b", false));
}

TEST(auto_fallback)
{
	struct h h;
	char key[40], buf[64];

	load_vectors();
	hexstr(k71, 16, key);
	snprintf(buf, sizeof(buf), "01 00 %s", key);

	/* wrong key: re-pair */
	h_init(&h, MIBAND_MODEL_MB3, k71);
	h.cfg.allow_pair_fallback = true;
	h_reinit(&h, k71);
	CHECK(run_to(&h, MIBAND_AUTH_AUTO, AT_ANSWER));
	notify_hex(&h, MIBAND_CH_AUTH, "10 03 04");
	CHECK(x_progress(&h, MIBAND_AUTH_STEP_FALLBACK_PAIR));
	CHECK(x_write(&h, MIBAND_CH_AUTH, buf, 0, true));
	CHECK(x_progress(&h, MIBAND_AUTH_STEP_KEY_SENT));
	CHECK(x_end(&h));
	CHECK_EQ(miband_session_deadline_ms(&h.s),
		 h.now + MIBAND_DEFAULT_PAIR_TIMEOUT_MS);
	done(&h, MIBAND_CH_AUTH, 0);
	notify_hex(&h, MIBAND_CH_AUTH, "10 01 01");
	CHECK(x_progress(&h, MIBAND_AUTH_STEP_KEY_ACCEPTED));
	CHECK(x_write(&h, MIBAND_CH_AUTH, "02 00", 0, false));
	CHECK(x_progress(&h, MIBAND_AUTH_STEP_RANDOM_REQUESTED));
	done(&h, MIBAND_CH_AUTH, 0);
	CHECK(auth_finish(&h, "02", r71,
			  "03 00 ce1c0135db39e61f1a27012fb907df3b", true));

	/* no key on the band: 10 02 04 */
	h_init(&h, MIBAND_MODEL_MB3, k71);
	h.cfg.allow_pair_fallback = true;
	h_reinit(&h, k71);
	CHECK(run_to(&h, MIBAND_AUTH_AUTO, AT_RANDOM));
	notify_hex(&h, MIBAND_CH_AUTH, "10 02 04");
	CHECK(x_progress(&h, MIBAND_AUTH_STEP_FALLBACK_PAIR));
	CHECK(x_write(&h, MIBAND_CH_AUTH, buf, 0, true));
	CHECK(x_progress(&h, MIBAND_AUTH_STEP_KEY_SENT));
	done(&h, MIBAND_CH_AUTH, 0);
	/* only once: a second failure is reported */
	notify_hex(&h, MIBAND_CH_AUTH, "10 01 01");
	done(&h, MIBAND_CH_AUTH, 0);
	notify_hex(&h, MIBAND_CH_AUTH, "10 02 04");
	CHECK(x_error(&h, MIBAND_REQ_AUTH, MIBAND_E_RANDOM_FAILED));
	CHECK(x_end(&h));

	/* STORED never falls back even when allowed */
	h_init(&h, MIBAND_MODEL_MB3, k71);
	h.cfg.allow_pair_fallback = true;
	h_reinit(&h, k71);
	CHECK(run_to(&h, MIBAND_AUTH_STORED, AT_ANSWER));
	notify_hex(&h, MIBAND_CH_AUTH, "10 03 04");
	CHECK(x_error(&h, MIBAND_REQ_AUTH, MIBAND_E_WRONG_KEY));
}

TEST(auth_deadlines)
{
	struct h h;
	uint64_t t;

	load_vectors();
	/* waiting for the tap: pair_timeout_ms, then PAIR_TIMEOUT */
	h_init(&h, MIBAND_MODEL_MB3, k71);
	h.cfg.pair_timeout_ms = 20000;
	h.cfg.reply_timeout_ms = 3000;
	h_reinit(&h, k71);
	CHECK_EQ(miband_session_deadline_ms(&h.s), UINT64_MAX);
	CHECK_EQ(miband_session_start_auth(&h.s, MIBAND_AUTH_PAIR, h.now), 0);
	CHECK_EQ(miband_session_deadline_ms(&h.s), h.now + 3000);
	drain(&h);
	h.now += 10;
	done(&h, MIBAND_CH_AUTH, 0);
	t = h.now + 20000;
	CHECK_EQ(miband_session_deadline_ms(&h.s), t);
	done(&h, MIBAND_CH_AUTH, 0);
	timeout_at(&h, t - 1); /* early calls change nothing */
	CHECK(x_end(&h));
	CHECK(miband_session_is_busy(&h.s));
	timeout_at(&h, t);
	CHECK(x_error(&h, MIBAND_REQ_AUTH, MIBAND_E_PAIR_TIMEOUT));
	CHECK(x_end(&h));
	CHECK(reusable(&h));

	/* waiting for the random / the verdict: TIMEOUT */
	h_init(&h, MIBAND_MODEL_MB3, k71);
	CHECK(run_to(&h, MIBAND_AUTH_STORED, AT_RANDOM));
	t = miband_session_deadline_ms(&h.s);
	CHECK_EQ(t, h.now + MIBAND_DEFAULT_REPLY_TIMEOUT_MS);
	timeout_at(&h, t + 5);
	CHECK(x_error(&h, MIBAND_REQ_AUTH, MIBAND_E_TIMEOUT));
	CHECK(reusable(&h));
	h_init(&h, MIBAND_MODEL_MB3, k71);
	CHECK(run_to(&h, MIBAND_AUTH_STORED, AT_ANSWER));
	timeout_at(&h, miband_session_deadline_ms(&h.s));
	CHECK(x_error(&h, MIBAND_REQ_AUTH, MIBAND_E_TIMEOUT));
	/* a late verdict after the timeout is ignored */
	notify_hex(&h, MIBAND_CH_AUTH, "10 03 01");
	CHECK(x_end(&h));
	CHECK(!miband_session_is_authed(&h.s));
	/* the subscribe never completes: TIMEOUT, and the lost op does not
	 * block the next attempt */
	h_init(&h, MIBAND_MODEL_MB3, k71);
	CHECK_EQ(miband_session_start_auth(&h.s, MIBAND_AUTH_STORED, h.now), 0);
	drain(&h);
	CHECK(x_sub(&h, MIBAND_CH_AUTH));
	timeout_at(&h, miband_session_deadline_ms(&h.s));
	CHECK(x_error(&h, MIBAND_REQ_AUTH, MIBAND_E_TIMEOUT));
	h.outstanding = false;
	CHECK(reusable(&h));
}

TEST(auth_disconnect)
{
	struct h h;
	struct miband_request req = {.type = MIBAND_REQ_BATTERY};
	int stage;

	load_vectors();
	for (stage = 0; stage < 4; stage++) {
		h_init(&h, MIBAND_MODEL_MB3, k71);
		if (stage == 0) {
			CHECK_EQ(miband_session_start_auth(
					 &h.s, MIBAND_AUTH_PAIR, h.now),
				 0);
			drain(&h);
		} else {
			CHECK(run_to(&h, MIBAND_AUTH_PAIR,
				     (enum stage)(stage - 1)));
		}
		miband_session_on_disconnect(&h.s, h.now);
		drain(&h);
		CHECK(x_error(&h, MIBAND_REQ_AUTH, MIBAND_E_DISCONNECTED));
		CHECK(x_end(&h)); /* and no DISCONNECT action */
		CHECK(miband_is_fatal(MIBAND_E_DISCONNECTED));
		/* dead: inputs are ignored, requests refused */
		notify_hex(&h, MIBAND_CH_AUTH, "10 03 01");
		done(&h, MIBAND_CH_AUTH, 0);
		timeout_at(&h, h.now + 100000);
		CHECK(x_end(&h));
		CHECK_EQ(miband_session_deadline_ms(&h.s), UINT64_MAX);
		CHECK(!miband_session_is_authed(&h.s));
		CHECK_EQ(miband_session_start_auth(&h.s, MIBAND_AUTH_STORED,
						   h.now),
			 MIBAND_E_STATE);
		CHECK_EQ(miband_session_request(&h.s, &req, h.now),
			 MIBAND_E_STATE);
		/* re-init brings it back */
		h_reinit(&h, k71);
		CHECK(reusable(&h));
	}
}

TEST(auth_crypto_failure)
{
	struct miband_crypto_test t;
	struct h h;

	load_vectors();
	h_init(&h, MIBAND_MODEL_MB3, k71);
	miband_crypto_test_init(&t, 1);
	t.fail_at = 1;
	h.cfg.crypto = &miband_crypto_test;
	h.cfg.crypto_ctx = &t;
	h_reinit(&h, k71);
	CHECK(run_to(&h, MIBAND_AUTH_STORED, AT_RANDOM));
	notify_hex(&h, MIBAND_CH_AUTH,
		   "10 02 01 689c1dd58a666f0f8c90a1a96e1ab3a3");
	CHECK(x_progress(&h, MIBAND_AUTH_STEP_RANDOM_RECEIVED));
	CHECK(x_error(&h, MIBAND_REQ_AUTH, MIBAND_E_CRYPTO));
	CHECK(x_end(&h));
	CHECK_EQ(t.aes_calls, 1);
	/* the next call works (fail_at was the first only) */
	CHECK(reusable(&h));
	CHECK_EQ(t.aes_calls, 2);
}

TEST(auth_misuse)
{
	struct h h;
	struct miband_request req = {.type = MIBAND_REQ_BATTERY};

	load_vectors();
	h_init(&h, MIBAND_MODEL_MB3, NULL);
	memset(&h.s, 0, sizeof(h.s));
	CHECK_EQ(miband_session_init(&h.s, &h.cfg, NULL), 0);
	CHECK_EQ(miband_session_start_auth(&h.s, MIBAND_AUTH_STORED, h.now),
		 MIBAND_E_NO_KEY);
	CHECK_EQ(miband_session_request(&h.s, &req, h.now),
		 MIBAND_E_NOT_AUTHED);
	drain(&h);
	CHECK_EQ(h.n, 0); /* nothing queued */
	CHECK_EQ(miband_session_set_key(&h.s, k71), 0);
	CHECK_EQ(miband_session_start_auth(&h.s, (enum miband_auth_mode)7,
					   h.now),
		 MIBAND_E_INVAL);
	CHECK_EQ(miband_session_start_auth(&h.s, MIBAND_AUTH_STORED, h.now), 0);
	drain(&h);
	CHECK(x_sub(&h, MIBAND_CH_AUTH));
	CHECK(x_end(&h));
	CHECK_EQ(miband_session_start_auth(&h.s, MIBAND_AUTH_STORED, h.now),
		 MIBAND_E_BUSY);
	CHECK_EQ(miband_session_set_key(&h.s, k71), MIBAND_E_BUSY);
	CHECK_EQ(miband_session_request(&h.s, &req, h.now),
		 MIBAND_E_NOT_AUTHED);
	CHECK_EQ(miband_session_cancel(&h.s, h.now), 0);
	drain(&h);
	CHECK(x_error(&h, MIBAND_REQ_AUTH, MIBAND_E_CANCELLED));
	CHECK(x_end(&h));
	CHECK_EQ(miband_session_cancel(&h.s, h.now), MIBAND_E_STATE);
	/* the stray completion of the cancelled subscribe is harmless */
	done(&h, MIBAND_CH_AUTH, 0);
	CHECK(x_end(&h));
	CHECK(reusable(&h));
	/* no crypto ops */
	h.cfg.crypto = NULL;
	h_reinit(&h, k71);
	CHECK_EQ(miband_session_start_auth(&h.s, MIBAND_AUTH_STORED, h.now),
		 MIBAND_E_INVAL);
}

TEST(auth_write_failures)
{
	struct h h;

	load_vectors();
	h_init(&h, MIBAND_MODEL_MB3, k71);
	CHECK_EQ(miband_session_start_auth(&h.s, MIBAND_AUTH_STORED, h.now), 0);
	drain(&h);
	done(&h, MIBAND_CH_AUTH, MIBAND_E_DBUS);
	CHECK(x_error(&h, MIBAND_REQ_AUTH, MIBAND_E_SUBSCRIBE_FAILED));
	CHECK(x_end(&h));
	CHECK(reusable(&h));

	h_init(&h, MIBAND_MODEL_MB3, k71);
	CHECK_EQ(miband_session_start_auth(&h.s, MIBAND_AUTH_PAIR, h.now), 0);
	drain(&h);
	done(&h, MIBAND_CH_AUTH, 0);
	done(&h, MIBAND_CH_AUTH, MIBAND_E_IO);
	CHECK(x_error(&h, MIBAND_REQ_AUTH, MIBAND_E_WRITE_FAILED));
	CHECK(x_end(&h));
	CHECK(reusable(&h));
}

TEST(auth_reply_before_write_done)
{
	/* The band's answer overtakes the transport's write completion:
	 * the next write is prepared but held until the completion. */
	struct h h;

	load_vectors();
	h_init(&h, MIBAND_MODEL_MB3, k71);
	CHECK_EQ(miband_session_start_auth(&h.s, MIBAND_AUTH_PAIR, h.now), 0);
	drain(&h);
	done(&h, MIBAND_CH_AUTH, 0);
	/* the set-key write is out, not completed */
	notify_hex(&h, MIBAND_CH_AUTH, "10 01 01");
	CHECK(x_progress(&h, MIBAND_AUTH_STEP_KEY_ACCEPTED));
	CHECK(x_end(&h)); /* 02 00 held */
	done(&h, MIBAND_CH_AUTH, 0);
	CHECK(x_write(&h, MIBAND_CH_AUTH, "02 00", 0, false));
	CHECK(x_progress(&h, MIBAND_AUTH_STEP_RANDOM_REQUESTED));
	CHECK(x_end(&h));
	notify_hex(&h, MIBAND_CH_AUTH,
		   "10 02 01 689c1dd58a666f0f8c90a1a96e1ab3a3");
	CHECK(x_progress(&h, MIBAND_AUTH_STEP_RANDOM_RECEIVED));
	CHECK(x_end(&h));
	done(&h, MIBAND_CH_AUTH, 0);
	CHECK(x_write(&h, MIBAND_CH_AUTH,
		      "03 00 ce1c0135db39e61f1a27012fb907df3b", 0, true));
	CHECK(x_progress(&h, MIBAND_AUTH_STEP_ANSWER_SENT));
	notify_hex(&h, MIBAND_CH_AUTH, "10 03 01");
	CHECK(x_event(&h, MIBAND_EV_AUTH_OK) != NULL);
	done(&h, MIBAND_CH_AUTH, 0);
	CHECK(x_end(&h));
	CHECK(miband_session_is_authed(&h.s));
}

TEST(queue_overflow_is_fatal)
{
	/* A caller that never drains: the engine cannot queue its next
	 * write, reports INTERNAL (fatal) and asks for a disconnect. */
	struct miband_action a;
	struct h h;
	int n = 0, last = -1, err = 0;

	load_vectors();
	h_init(&h, MIBAND_MODEL_MB3, k71);
	CHECK_EQ(miband_session_start_auth(&h.s, MIBAND_AUTH_PAIR, h.now), 0);
	drain(&h);
	miband_session_on_write_done(&h.s, MIBAND_CH_AUTH, 0, h.now);
	miband_session_on_notify(&h.s, MIBAND_CH_AUTH,
				 (const uint8_t *)"\x10\x01\x01", 3, h.now);
	while (miband_session_next_action(&h.s, &a) != MIBAND_ACTION_DONE) {
		n++;
		if (a.type == MIBAND_ACTION_EVENT &&
		    a.event.type == MIBAND_EV_ERROR)
			err = a.event.error;
		CHECK(a.type != MIBAND_ACTION_WRITE);
		last = a.type;
		if (a.type == MIBAND_ACTION_DISCONNECT)
			CHECK_EQ(a.reason, MIBAND_E_INTERNAL);
	}
	CHECK_EQ(err, MIBAND_E_INTERNAL);
	CHECK_EQ(last, MIBAND_ACTION_DISCONNECT);
	CHECK(n <= MIBAND_ACTION_QUEUE);
	CHECK(miband_is_fatal(MIBAND_E_INTERNAL));
	CHECK_EQ(miband_session_start_auth(&h.s, MIBAND_AUTH_PAIR, h.now),
		 MIBAND_E_STATE);
	CHECK_EQ(miband_session_deadline_ms(&h.s), UINT64_MAX);
}

TEST(session_size_and_wipe)
{
	struct h h;
	size_t i;
	const uint8_t *p;

	load_vectors();
	printf("# sizeof(struct miband_session) = %zu (host)\n",
	       sizeof(struct miband_session));
	CHECK(authed(&h, MIBAND_MODEL_MB3));
	miband_session_wipe(&h.s);
	p = (const uint8_t *)&h.s;
	for (i = 0; i < sizeof(h.s); i++)
		CHECK_EQ(p[i], 0);
	CHECK(!miband_session_is_authed(&h.s));
	CHECK_EQ(miband_session_start_auth(&h.s, MIBAND_AUTH_STORED, h.now),
		 MIBAND_E_INVAL);
	CHECK(miband_request_name(MIBAND_REQ_HR_ONESHOT) != NULL);
	CHECK_STR(miband_request_name(MIBAND_REQ_HR_ONESHOT), "hr-oneshot");
	CHECK_STR(miband_request_name(MIBAND_REQ_COUNT), "unknown");
	CHECK_STR(miband_event_name(MIBAND_EV_FETCH_BATCH), "fetch-batch");
	CHECK_STR(miband_auth_step_name(MIBAND_AUTH_STEP_KEY_SENT), "key-sent");
	CHECK_STR(miband_auth_step_name((enum miband_auth_step)0), "unknown");
}

/* ---- requests ---- */

static int req(struct h *h, const struct miband_request *r)
{
	int ret = miband_session_request(&h->s, r, h->now);

	drain(h);
	return ret;
}

TEST(req_battery_steps_time)
{
	struct miband_request r = {.type = MIBAND_REQ_BATTERY};
	const struct miband_event *ev;
	struct h h;

	load_vectors();
	CHECK(authed(&h, MIBAND_MODEL_MB3));
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_read(&h, MIBAND_CH_BATTERY));
	CHECK(x_end(&h));
	CHECK(miband_session_is_busy(&h.s));
	CHECK_EQ(miband_session_request(&h.s, &r, h.now), MIBAND_E_BUSY);
	read_hex(&h, MIBAND_CH_BATTERY, 0,
		 "0f 4f 00 e1 07 04 1b 02 05 07 20 e1 07 04 1b 06 32 0a 20 64");
	ev = x_event(&h, MIBAND_EV_BATTERY);
	CHECK(ev != NULL);
	CHECK_EQ(ev->request, MIBAND_REQ_BATTERY);
	CHECK_EQ(ev->u.battery.level, 79);
	CHECK_EQ(ev->u.battery.last_charge.minute, 50);
	CHECK(x_end(&h));
	/* malformed value, failed read */
	CHECK_EQ(req(&h, &r), 0);
	read_hex(&h, MIBAND_CH_BATTERY, 0, "0f 4f 00");
	CHECK(x_error(&h, MIBAND_REQ_BATTERY, MIBAND_E_MALFORMED));
	CHECK_EQ(req(&h, &r), 0);
	read_hex(&h, MIBAND_CH_BATTERY, MIBAND_E_IO, NULL);
	CHECK(x_error(&h, MIBAND_REQ_BATTERY, MIBAND_E_READ_FAILED));
	/* a read answer for another channel is not ours */
	CHECK_EQ(req(&h, &r), 0);
	read_hex(&h, MIBAND_CH_STEPS, 0, "0c 01 00 00 00");
	CHECK(x_end(&h));
	h.outstanding = true;
	read_hex(&h, MIBAND_CH_BATTERY, 0,
		 "0f 64 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 64");
	ev = x_event(&h, MIBAND_EV_BATTERY);
	CHECK(ev && ev->u.battery.charging && ev->u.battery.level == 100);

	r.type = MIBAND_REQ_STEPS;
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_read(&h, MIBAND_CH_STEPS));
	read_hex(&h, MIBAND_CH_STEPS, 0, "0C CC000000 8A000000 04000000");
	ev = x_event(&h, MIBAND_EV_STEPS);
	CHECK(ev && ev->u.steps.steps == 204 && ev->u.steps.meters == 138 &&
	      ev->u.steps.kcal == 4 && ev->request == MIBAND_REQ_STEPS);

	r.type = MIBAND_REQ_TIME_GET;
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_read(&h, MIBAND_CH_TIME));
	read_hex(&h, MIBAND_CH_TIME, 0, "e2 07 04 0f 10 14 2b 07 00 00 0c");
	ev = x_event(&h, MIBAND_EV_TIME);
	CHECK(ev && ev->u.time.year == 2018 && ev->u.time.dow == 7 &&
	      ev->u.time.tz == 12);

	r.type = MIBAND_REQ_TIME_SET;
	r.u.time = (struct miband_time){2022, 12, 15, 20, 38, 53, 0, 4};
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_write(&h, MIBAND_CH_TIME, "e6 07 0c 0f 14 26 35 04 00 00 04", 1,
		      false));
	CHECK(x_end(&h));
	done(&h, MIBAND_CH_TIME, 0);
	CHECK(x_done_ev(&h, MIBAND_REQ_TIME_SET));
	CHECK(x_end(&h));
	r.u.time.month = 13;
	CHECK_EQ(req(&h, &r), MIBAND_E_INVAL);
	CHECK_EQ(h.n, 0);
	CHECK(!miband_session_is_busy(&h.s));
}

TEST(req_devinfo)
{
	static const struct {
		enum miband_devinfo f;
		enum miband_channel ch;
	} v[] = {
		{MIBAND_DEVINFO_SERIAL, MIBAND_CH_DIS_SERIAL},
		{MIBAND_DEVINFO_HW_REV, MIBAND_CH_DIS_HW_REV},
		{MIBAND_DEVINFO_SW_REV, MIBAND_CH_DIS_SW_REV},
		{MIBAND_DEVINFO_SYSTEM_ID, MIBAND_CH_DIS_SYSTEM_ID},
		{MIBAND_DEVINFO_PNP_ID, MIBAND_CH_DIS_PNP_ID},
		{MIBAND_DEVINFO_NAME, MIBAND_CH_DEVICE_NAME},
	};
	struct miband_request r = {.type = MIBAND_REQ_DEVINFO};
	const struct miband_event *ev;
	struct h h;
	size_t i;

	load_vectors();
	CHECK(authed(&h, MIBAND_MODEL_MB3));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		r.u.devinfo = v[i].f;
		CHECK_EQ(req(&h, &r), 0);
		CHECK(x_read(&h, v[i].ch));
		read_hex(&h, v[i].ch, 0, "56 31 2e 30 2e 31 2e 38 31");
		ev = x_event(&h, MIBAND_EV_DEVINFO);
		CHECK(ev && ev->u.devinfo.field == v[i].f &&
		      ev->u.devinfo.len == 9);
		CHECK_MEM(ev->u.devinfo.value, "V1.0.1.81", 9);
	}
	/* a long value is cut to MIBAND_VALUE_MAX */
	r.u.devinfo = MIBAND_DEVINFO_NAME;
	CHECK_EQ(req(&h, &r), 0);
	read_hex(
		&h, MIBAND_CH_DEVICE_NAME, 0,
		"41414141414141414141414141414141414141414141414141414141414141"
		"41414141414141414141");
	ev = x_event(&h, MIBAND_EV_DEVINFO);
	CHECK(ev && ev->u.devinfo.len == MIBAND_VALUE_MAX);
	r.u.devinfo = MIBAND_DEVINFO_COUNT;
	CHECK_EQ(req(&h, &r), MIBAND_E_INVAL);
}

TEST(req_follow_steps_events)
{
	struct miband_request r = {.type = MIBAND_REQ_STEPS_FOLLOW};
	const struct miband_event *ev;
	struct h h;

	load_vectors();
	CHECK(authed(&h, MIBAND_MODEL_MB3));
	/* before subscribing, notifications are ignored */
	notify_hex(&h, MIBAND_CH_STEPS,
		   "0c 4c 00 00 00 1f 00 00 00 01 00 00 00");
	notify_hex(&h, MIBAND_CH_EVENTS, "04");
	CHECK(x_end(&h));
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_sub(&h, MIBAND_CH_STEPS));
	done(&h, MIBAND_CH_STEPS, 0);
	CHECK(x_done_ev(&h, MIBAND_REQ_STEPS_FOLLOW));
	notify_hex(&h, MIBAND_CH_STEPS,
		   "0c 4c 00 00 00 1f 00 00 00 01 00 00 00");
	ev = x_event(&h, MIBAND_EV_STEPS);
	CHECK(ev && ev->request == MIBAND_REQ_NONE && ev->u.steps.steps == 76);
	notify_hex(&h, MIBAND_CH_STEPS, "0c 4d 00 00 00");
	ev = x_event(&h, MIBAND_EV_STEPS);
	CHECK(ev && ev->u.steps.steps == 77 && !ev->u.steps.has_distance);
	notify_hex(&h, MIBAND_CH_STEPS, "0c 4d"); /* junk: ignored */
	CHECK(x_end(&h));
	/* already subscribed: done at once */
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_done_ev(&h, MIBAND_REQ_STEPS_FOLLOW));
	CHECK(x_end(&h));

	r.type = MIBAND_REQ_EVENTS_FOLLOW;
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_sub(&h, MIBAND_CH_EVENTS));
	done(&h, MIBAND_CH_EVENTS, MIBAND_E_IO);
	CHECK(x_error(&h, MIBAND_REQ_EVENTS_FOLLOW, MIBAND_E_SUBSCRIBE_FAILED));
	notify_hex(&h, MIBAND_CH_EVENTS, "04");
	CHECK(x_end(&h));
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_sub(&h, MIBAND_CH_EVENTS));
	done(&h, MIBAND_CH_EVENTS, 0);
	CHECK(x_done_ev(&h, MIBAND_REQ_EVENTS_FOLLOW));
	notify_hex(&h, MIBAND_CH_EVENTS, "04");
	ev = x_event(&h, MIBAND_EV_DEVICE_EVENT);
	CHECK(ev && ev->request == MIBAND_REQ_NONE &&
	      ev->u.device_event.code == MIBAND_DEV_BUTTON);
	CHECK_STR(ev->u.device_event.name, "button");
	notify_hex(&h, MIBAND_CH_EVENTS, "fe 03");
	ev = x_event(&h, MIBAND_EV_DEVICE_EVENT);
	CHECK(ev && ev->u.device_event.code == 0xfe &&
	      ev->u.device_event.arg == 3);
	notify_hex(&h, MIBAND_CH_EVENTS, "16 f7");
	CHECK(x_end(&h));
	/* unsolicited events do not disturb a running request */
	r.type = MIBAND_REQ_BATTERY;
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_read(&h, MIBAND_CH_BATTERY));
	notify_hex(&h, MIBAND_CH_EVENTS, "08");
	ev = x_event(&h, MIBAND_EV_DEVICE_EVENT);
	CHECK(ev && ev->u.device_event.code == MIBAND_DEV_FIND_PHONE_START);
	CHECK(miband_session_is_busy(&h.s));
}

TEST(req_hr_oneshot)
{
	struct miband_request r = {.type = MIBAND_REQ_HR_ONESHOT};
	const struct miband_event *ev;
	struct h h;
	uint64_t t;

	load_vectors();
	CHECK(authed(&h, MIBAND_MODEL_MB3));
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_sub(&h, MIBAND_CH_HR_MEAS));
	done(&h, MIBAND_CH_HR_MEAS, 0);
	CHECK(x_write(&h, MIBAND_CH_HR_CTL, "15 01 00", 1, false));
	done(&h, MIBAND_CH_HR_CTL, 0);
	CHECK(x_write(&h, MIBAND_CH_HR_CTL, "15 02 00", 1, false));
	/* a measurement before the start command is not the answer */
	notify_hex(&h, MIBAND_CH_HR_MEAS, "00 40");
	CHECK(x_end(&h));
	done(&h, MIBAND_CH_HR_CTL, 0);
	CHECK(x_write(&h, MIBAND_CH_HR_CTL, "15 02 01", 1, false));
	CHECK(x_end(&h));
	h.now += 7;
	done(&h, MIBAND_CH_HR_CTL, 0);
	CHECK(x_end(&h));
	CHECK_EQ(miband_session_deadline_ms(&h.s),
		 h.now + MIBAND_DEFAULT_HR_TIMEOUT_MS);
	notify_hex(&h, MIBAND_CH_HR_MEAS, "00 48");
	ev = x_event(&h, MIBAND_EV_HR);
	CHECK(ev && ev->request == MIBAND_REQ_HR_ONESHOT && ev->u.bpm == 72);
	CHECK(x_end(&h));

	/* subscribed already; no measurement: TIMEOUT after hr_timeout */
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_write(&h, MIBAND_CH_HR_CTL, "15 01 00", 1, false));
	done(&h, MIBAND_CH_HR_CTL, 0);
	done(&h, MIBAND_CH_HR_CTL, 0);
	done(&h, MIBAND_CH_HR_CTL, 0);
	t = miband_session_deadline_ms(&h.s);
	CHECK_EQ(t, h.now + MIBAND_DEFAULT_HR_TIMEOUT_MS);
	timeout_at(&h, t);
	CHECK(x_error(&h, MIBAND_REQ_HR_ONESHOT, MIBAND_E_TIMEOUT));
	/* a garbage measurement */
	CHECK_EQ(req(&h, &r), 0);
	done(&h, MIBAND_CH_HR_CTL, 0);
	done(&h, MIBAND_CH_HR_CTL, 0);
	done(&h, MIBAND_CH_HR_CTL, 0);
	notify_hex(&h, MIBAND_CH_HR_MEAS, "00 48 00");
	CHECK(x_error(&h, MIBAND_REQ_HR_ONESHOT, MIBAND_E_MALFORMED));
	/* cancelled while measuring */
	CHECK_EQ(req(&h, &r), 0);
	done(&h, MIBAND_CH_HR_CTL, 0);
	CHECK_EQ(miband_session_cancel(&h.s, h.now), 0);
	drain(&h);
	CHECK(x_error(&h, MIBAND_REQ_HR_ONESHOT, MIBAND_E_CANCELLED));
	CHECK(x_end(&h));
	done(&h, MIBAND_CH_HR_CTL, 0); /* the write in flight completes */
	CHECK(x_end(&h));
	notify_hex(&h, MIBAND_CH_HR_MEAS, "00 48");
	CHECK(x_end(&h));
}

TEST(req_hr_continuous)
{
	struct miband_request r = {.type = MIBAND_REQ_HR_START};
	const struct miband_event *ev;
	struct h h;
	uint64_t ping;

	load_vectors();
	CHECK(authed(&h, MIBAND_MODEL_MB3));
	notify_hex(&h, MIBAND_CH_HR_MEAS, "00 50"); /* not asked: ignored */
	CHECK(x_end(&h));
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_sub(&h, MIBAND_CH_HR_MEAS));
	done(&h, MIBAND_CH_HR_MEAS, 0);
	CHECK(x_write(&h, MIBAND_CH_HR_CTL, "15 02 00", 1, false));
	done(&h, MIBAND_CH_HR_CTL, 0);
	CHECK(x_write(&h, MIBAND_CH_HR_CTL, "15 01 01", 1, false));
	h.now += 3;
	done(&h, MIBAND_CH_HR_CTL, 0);
	CHECK(x_done_ev(&h, MIBAND_REQ_HR_START));
	CHECK(x_end(&h));
	ping = h.now + MIBAND_DEFAULT_HR_KEEPALIVE_MS;
	CHECK_EQ(miband_session_deadline_ms(&h.s), ping);
	notify_hex(&h, MIBAND_CH_HR_MEAS, "00 50");
	ev = x_event(&h, MIBAND_EV_HR);
	CHECK(ev && ev->request == MIBAND_REQ_NONE && ev->u.bpm == 80);
	timeout_at(&h, ping - 1);
	CHECK(x_end(&h));
	timeout_at(&h, ping);
	CHECK(x_write(&h, MIBAND_CH_HR_CTL, "16", 1, false));
	CHECK(x_end(&h));
	CHECK(!miband_session_is_busy(&h.s));
	CHECK_EQ(miband_session_deadline_ms(&h.s), UINT64_MAX);
	done(&h, MIBAND_CH_HR_CTL, 0);
	CHECK(x_end(&h));
	CHECK_EQ(miband_session_deadline_ms(&h.s),
		 ping + MIBAND_DEFAULT_HR_KEEPALIVE_MS);

	/* a request running at ping time: the ping waits until idle */
	ping += MIBAND_DEFAULT_HR_KEEPALIVE_MS;
	h.now = ping - 10;
	r.type = MIBAND_REQ_BATTERY;
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_read(&h, MIBAND_CH_BATTERY));
	CHECK_EQ(miband_session_deadline_ms(&h.s),
		 h.now + MIBAND_DEFAULT_REPLY_TIMEOUT_MS);
	h.now = ping + 20;
	read_hex(&h, MIBAND_CH_BATTERY, 0,
		 "0f 4f 00 e1 07 04 1b 02 05 07 20 e1 07 04 1b 06 32 0a 20 64");
	CHECK(x_event(&h, MIBAND_EV_BATTERY) != NULL);
	CHECK_EQ(miband_session_deadline_ms(&h.s), ping);
	timeout_at(&h, h.now);
	CHECK(x_write(&h, MIBAND_CH_HR_CTL, "16", 1, false));
	/* a request while the ping is in flight waits for it */
	r.type = MIBAND_REQ_HR_INTERVAL;
	r.u.minutes = 10;
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_end(&h));
	done(&h, MIBAND_CH_HR_CTL, 0);
	CHECK(x_write(&h, MIBAND_CH_HR_CTL, "14 0a", 1, false));
	done(&h, MIBAND_CH_HR_CTL, 0);
	CHECK(x_done_ev(&h, MIBAND_REQ_HR_INTERVAL));
	/* a failed ping is reported, unsolicited */
	timeout_at(&h, miband_session_deadline_ms(&h.s));
	CHECK(x_write(&h, MIBAND_CH_HR_CTL, "16", 1, false));
	done(&h, MIBAND_CH_HR_CTL, MIBAND_E_IO);
	CHECK(x_error(&h, MIBAND_REQ_NONE, MIBAND_E_WRITE_FAILED));

	r.type = MIBAND_REQ_HR_STOP;
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_write(&h, MIBAND_CH_HR_CTL, "15 01 00", 1, false));
	done(&h, MIBAND_CH_HR_CTL, 0);
	CHECK(x_done_ev(&h, MIBAND_REQ_HR_STOP));
	CHECK_EQ(miband_session_deadline_ms(&h.s), UINT64_MAX);
	notify_hex(&h, MIBAND_CH_HR_MEAS, "00 50");
	CHECK(x_end(&h));

	/* keep-alive off */
	h.s.cfg.hr_keepalive_ms = 0;
	r.type = MIBAND_REQ_HR_START;
	CHECK_EQ(req(&h, &r), 0);
	done(&h, MIBAND_CH_HR_CTL, 0);
	done(&h, MIBAND_CH_HR_CTL, 0);
	CHECK(x_done_ev(&h, MIBAND_REQ_HR_START));
	CHECK_EQ(miband_session_deadline_ms(&h.s), UINT64_MAX);
}

TEST(req_alert_call)
{
	struct miband_request r = {.type = MIBAND_REQ_ALERT};
	struct h h;
	static const char name[] = "Ren\xc3\xa9"
				   "e-Fran\xc3\xa7oise X"; /* 19 */

	load_vectors();
	CHECK(authed(&h, MIBAND_MODEL_MB3));
	r.u.level = MIBAND_ALERT_VIBRATE;
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_write(&h, MIBAND_CH_ALERT, "03", 0, false));
	done(&h, MIBAND_CH_ALERT, 0);
	CHECK(x_done_ev(&h, MIBAND_REQ_ALERT));
	r.u.level = 4;
	CHECK_EQ(req(&h, &r), MIBAND_E_INVAL);

	r.type = MIBAND_REQ_CALL;
	r.u.text.data = "Bob";
	r.u.text.len = 3;
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_write(&h, MIBAND_CH_NEW_ALERT, "03 01 42 6f 62", 1, false));
	done(&h, MIBAND_CH_NEW_ALERT, 0);
	CHECK(x_done_ev(&h, MIBAND_REQ_CALL));
	/* 19 bytes of name, 18 fit: "Renée-Françoise " */
	CHECK_EQ(strlen(name), 19);
	r.u.text.data = name;
	r.u.text.len = strlen(name);
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_write(
		&h, MIBAND_CH_NEW_ALERT,
		"03 01 52 65 6e c3 a9 65 2d 46 72 61 6e c3 a7 6f 69 73 65 "
		"20",
		1, false));
	done(&h, MIBAND_CH_NEW_ALERT, MIBAND_E_IO);
	CHECK(x_error(&h, MIBAND_REQ_CALL, MIBAND_E_WRITE_FAILED));
	/* "é" straddling byte 18 is left out whole */
	r.u.text.data = "abcdefghijklmnopq\xc3\xa9";
	r.u.text.len = 19;
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_write(
		&h, MIBAND_CH_NEW_ALERT,
		"03 01 61 62 63 64 65 66 67 68 69 6a 6b 6c 6d 6e 6f 70 71", 1,
		false));
	done(&h, MIBAND_CH_NEW_ALERT, 0);
	CHECK(x_done_ev(&h, MIBAND_REQ_CALL));
	r.u.text.data = "bad \xc0\xaf";
	r.u.text.len = 6;
	CHECK_EQ(req(&h, &r), MIBAND_E_BAD_UTF8);
	CHECK_EQ(h.n, 0);

	r.type = MIBAND_REQ_CALL_STOP;
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_write(&h, MIBAND_CH_NEW_ALERT, "03 00", 1, false));
	done(&h, MIBAND_CH_NEW_ALERT, 0);
	CHECK(x_done_ev(&h, MIBAND_REQ_CALL_STOP));
	CHECK(x_end(&h));
}

TEST(req_text_chunked)
{
	struct miband_request r = {.type = MIBAND_REQ_TEXT};
	uint8_t msg[MIBAND_TEXT_MAX];
	char want[128], hx[80];
	struct h h;
	int n, i;

	load_vectors();
	CHECK(authed(&h, MIBAND_MODEL_MB3));
	n = miband_encode_app_notification(
		msg, sizeof(msg), 230, MIBAND_CATEGORY_SMS, 0, "Ann",
		"Meet me at the station at five", NULL);
	CHECK_EQ(n, 2 + 3 + 1 + 30 + 3);
	r.u.text.data = (const char *)msg;
	r.u.text.len = (size_t)n;
	CHECK_EQ(req(&h, &r), 0);
	/* 39 bytes: 17 + 17 + 5 */
	for (i = 0; i < 3; i++) {
		static const char *const hdr[3] = {"00 00 00", "00 40 01",
						   "00 80 02"};
		size_t len = i < 2 ? 17 : 5;

		hexstr(msg + 17 * i, len, hx);
		snprintf(want, sizeof(want), "%s %s", hdr[i], hx);
		CHECK(x_write(&h, MIBAND_CH_CHUNKED, want, 0, false));
		CHECK(x_end(&h));
		done(&h, MIBAND_CH_CHUNKED, 0);
	}
	CHECK(x_done_ev(&h, MIBAND_REQ_TEXT));
	CHECK(x_end(&h));

	/* a single chunk */
	r.u.text.len = 10;
	CHECK_EQ(req(&h, &r), 0);
	hexstr(msg, 10, hx);
	snprintf(want, sizeof(want), "00 c0 00 %s", hx);
	CHECK(x_write(&h, MIBAND_CH_CHUNKED, want, 0, false));
	done(&h, MIBAND_CH_CHUNKED, 0);
	CHECK(x_done_ev(&h, MIBAND_REQ_TEXT));
	/* over the model's limit, or empty */
	r.u.text.len = 231;
	CHECK_EQ(req(&h, &r), MIBAND_E_INVAL);
	r.u.text.len = 0;
	CHECK_EQ(req(&h, &r), MIBAND_E_INVAL);

	/* Mi Band 2: New Alert SMS with 18 bytes of text */
	CHECK(authed(&h, MIBAND_MODEL_MB2));
	r.u.text.len = (size_t)n;
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_write(
		&h, MIBAND_CH_NEW_ALERT,
		"05 01 41 6e 6e 0a 4d 65 65 74 20 6d 65 20 61 74 20 74 68 "
		"65",
		1, false));
	done(&h, MIBAND_CH_NEW_ALERT, 0);
	CHECK(x_done_ev(&h, MIBAND_REQ_TEXT));
	n = miband_encode_app_notification(msg, sizeof(msg), 230,
					   MIBAND_CATEGORY_CUSTOM, 3, "Hi", "",
					   "Chat");
	r.u.text.len = (size_t)n;
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_write(&h, MIBAND_CH_NEW_ALERT, "05 01 48 69", 1, false));
	done(&h, MIBAND_CH_NEW_ALERT, 0);
	CHECK(x_done_ev(&h, MIBAND_REQ_TEXT));
}

TEST(req_config_user)
{
	struct miband_request r = {.type = MIBAND_REQ_CONFIG};
	struct h h;
	int n;

	load_vectors();
	CHECK(authed(&h, MIBAND_MODEL_MB3));
	n = miband_encode_config_date_display(r.u.raw.bytes,
					      sizeof(r.u.raw.bytes), true);
	CHECK_EQ(n, 4);
	r.u.raw.len = (uint8_t)n;
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_sub(&h, MIBAND_CH_CONFIG));
	done(&h, MIBAND_CH_CONFIG, 0);
	CHECK(x_write(&h, MIBAND_CH_CONFIG, "06 0a 00 03", 0, false));
	done(&h, MIBAND_CH_CONFIG, 0);
	CHECK(x_end(&h));
	notify_hex(&h, MIBAND_CH_CONFIG, "10 0d 01"); /* not ours */
	CHECK(x_end(&h));
	notify_hex(&h, MIBAND_CH_CONFIG, "10 06 0a 00 01");
	CHECK(x_done_ev(&h, MIBAND_REQ_CONFIG));
	CHECK(x_end(&h));
	/* subscribed once; a refusal */
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_write(&h, MIBAND_CH_CONFIG, "06 0a 00 03", 0, false));
	done(&h, MIBAND_CH_CONFIG, 0);
	notify_hex(&h, MIBAND_CH_CONFIG, "10 06 0a 00 02");
	CHECK(x_error(&h, MIBAND_REQ_CONFIG, MIBAND_E_REJECTED));
	/* no reply: done (default) */
	CHECK_EQ(req(&h, &r), 0);
	done(&h, MIBAND_CH_CONFIG, 0);
	timeout_at(&h, miband_session_deadline_ms(&h.s));
	CHECK(x_done_ev(&h, MIBAND_REQ_CONFIG));
	/* ... or TIMEOUT when a reply is required */
	h.s.cfg.config_reply_required = true;
	CHECK_EQ(req(&h, &r), 0);
	done(&h, MIBAND_CH_CONFIG, 0);
	timeout_at(&h, miband_session_deadline_ms(&h.s));
	CHECK(x_error(&h, MIBAND_REQ_CONFIG, MIBAND_E_TIMEOUT));
	r.u.raw.len = 0;
	CHECK_EQ(req(&h, &r), MIBAND_E_INVAL);
	r.u.raw.len = MIBAND_WRITE_MAX + 1;
	CHECK_EQ(req(&h, &r), MIBAND_E_INVAL);

	r.type = MIBAND_REQ_USER;
	n = miband_encode_step_goal(r.u.raw.bytes, sizeof(r.u.raw.bytes), 8000);
	r.u.raw.len = (uint8_t)n;
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_write(&h, MIBAND_CH_USER, "10 00 00 40 1f 00 00", 1, false));
	done(&h, MIBAND_CH_USER, 0);
	CHECK(x_done_ev(&h, MIBAND_REQ_USER));
	CHECK(x_end(&h));
}

/* The fetch up to the first data packet. */
static bool fetch_begin(struct h *h, bool fresh, const char *count_hex)
{
	struct miband_request r = {.type = MIBAND_REQ_FETCH};
	const struct miband_event *ev;
	char buf[80];

	r.u.time = (struct miband_time){2019, 6, 1, 10, 42, 0, 0, 8};
	if (req(h, &r) != 0)
		return false;
	if (fresh) {
		if (!x_sub(h, MIBAND_CH_FETCH_CTL))
			return false;
		done(h, MIBAND_CH_FETCH_CTL, 0);
		if (!x_sub(h, MIBAND_CH_FETCH_DATA))
			return false;
		done(h, MIBAND_CH_FETCH_DATA, 0);
	}
	if (!x_write(h, MIBAND_CH_FETCH_CTL, "01 01 e3 07 06 01 0a 2a 00 08", 0,
		     false) ||
	    !x_end(h))
		return false;
	done(h, MIBAND_CH_FETCH_CTL, 0);
	snprintf(buf, sizeof(buf), "10 01 01 %s e3 07 06 01 0a 2a 00 08",
		 count_hex);
	notify_hex(h, MIBAND_CH_FETCH_CTL, buf);
	ev = x_event(h, MIBAND_EV_FETCH_START);
	if (!ev || ev->u.fetch.first.minute != 42 || ev->u.fetch.first.tz != 8)
		return false;
	if (!strcmp(count_hex, "00 00 00 00"))
		return ev->u.fetch.count == 0 && x_done_ev(h, MIBAND_REQ_FETCH);
	if (ev->u.fetch.count != 8)
		return false;
	if (!x_write(h, MIBAND_CH_FETCH_CTL, "02", 0, false) || !x_end(h))
		return false;
	done(h, MIBAND_CH_FETCH_CTL, 0);
	return x_end(h);
}

TEST(req_fetch)
{
	const struct miband_event *ev;
	struct h h;

	load_vectors();
	CHECK(authed(&h, MIBAND_MODEL_MB3));
	CHECK(fetch_begin(&h, true, "08 00 00 00"));
	notify_hex(&h, MIBAND_CH_FETCH_DATA,
		   "00 00 0c 00 ff 0a 14 00 ff 0a 14 00 ff 0a 14 00 ff");
	ev = x_event(&h, MIBAND_EV_SAMPLES);
	CHECK(ev && ev->request == MIBAND_REQ_FETCH &&
	      ev->u.samples.count == 4 && ev->u.samples.index == 0);
	CHECK_EQ(ev->u.samples.data[1], 0x0c);
	CHECK_EQ(ev->u.samples.data[4], 0x0a);
	notify_hex(&h, MIBAND_CH_FETCH_DATA,
		   "01 01 20 05 48 01 21 06 49 01 22 07 4a 01 23 08 4b");
	ev = x_event(&h, MIBAND_EV_SAMPLES);
	CHECK(ev && ev->u.samples.count == 4 && ev->u.samples.index == 4);
	CHECK_EQ(ev->u.samples.data[15], 0x4b);
	/* data deadline refreshed per packet */
	CHECK_EQ(miband_session_deadline_ms(&h.s),
		 h.now + MIBAND_DEFAULT_REPLY_TIMEOUT_MS);
	notify_hex(&h, MIBAND_CH_FETCH_CTL, "10 02 01");
	CHECK(x_event(&h, MIBAND_EV_FETCH_BATCH) != NULL);
	CHECK(x_end(&h));
	/* waiting for the application: no deadline */
	CHECK_EQ(miband_session_deadline_ms(&h.s), UINT64_MAX);
	CHECK(miband_session_is_busy(&h.s));
	/* a repeated end-of-batch or start reply does not abort the batch;
	 * late data is ignored */
	notify_hex(&h, MIBAND_CH_FETCH_CTL, "10 02 01");
	notify_hex(&h, MIBAND_CH_FETCH_CTL,
		   "10 01 01 08 00 00 00 e3 07 06 01 0a 2a 00 08");
	notify_hex(&h, MIBAND_CH_FETCH_DATA, "02 00 0c 00 ff");
	CHECK(x_end(&h));
	CHECK(miband_session_is_busy(&h.s));
	CHECK_EQ(miband_session_fetch_stored(&h.s, h.now), 0);
	drain(&h);
	CHECK(x_write(&h, MIBAND_CH_FETCH_CTL, "03", 0, false));
	done(&h, MIBAND_CH_FETCH_CTL, 0);
	CHECK(x_end(&h));
	notify_hex(&h, MIBAND_CH_FETCH_CTL, "10 03 01");
	CHECK(x_done_ev(&h, MIBAND_REQ_FETCH));
	CHECK(x_end(&h));
	CHECK_EQ(miband_session_fetch_stored(&h.s, h.now), MIBAND_E_STATE);

	/* second round: subscriptions kept; nothing to send */
	CHECK(fetch_begin(&h, false, "00 00 00 00"));
	CHECK(x_end(&h));

	/* no ACK configured */
	h.s.cfg.fetch_ack = false;
	CHECK(fetch_begin(&h, false, "08 00 00 00"));
	notify_hex(&h, MIBAND_CH_FETCH_DATA, "00 00 0c 00 ff");
	CHECK(x_event(&h, MIBAND_EV_SAMPLES) != NULL);
	notify_hex(&h, MIBAND_CH_FETCH_CTL, "10 02 01");
	CHECK(x_event(&h, MIBAND_EV_FETCH_BATCH) != NULL);
	CHECK_EQ(miband_session_fetch_stored(&h.s, h.now), 0);
	drain(&h);
	CHECK(x_done_ev(&h, MIBAND_REQ_FETCH));
	CHECK(x_end(&h));
}

TEST(req_fetch_errors)
{
	struct h h;

	load_vectors();
	CHECK(authed(&h, MIBAND_MODEL_MB3));
	/* counter gap */
	CHECK(fetch_begin(&h, true, "08 00 00 00"));
	notify_hex(&h, MIBAND_CH_FETCH_DATA, "00 00 0c 00 ff");
	CHECK(x_event(&h, MIBAND_EV_SAMPLES) != NULL);
	notify_hex(&h, MIBAND_CH_FETCH_DATA, "02 00 0c 00 ff");
	CHECK(x_error(&h, MIBAND_REQ_FETCH, MIBAND_E_FETCH_GAP));
	notify_hex(&h, MIBAND_CH_FETCH_DATA, "03 00 0c 00 ff"); /* ignored */
	notify_hex(&h, MIBAND_CH_FETCH_CTL, "10 02 01");
	CHECK(x_end(&h));
	/* bad length */
	CHECK(fetch_begin(&h, false, "08 00 00 00"));
	notify_hex(&h, MIBAND_CH_FETCH_DATA, "00 00 0c 00 ff 01");
	CHECK(x_error(&h, MIBAND_REQ_FETCH, MIBAND_E_FETCH_SHORT));
	CHECK(fetch_begin(&h, false, "08 00 00 00"));
	notify_hex(&h, MIBAND_CH_FETCH_DATA, "00");
	CHECK(x_error(&h, MIBAND_REQ_FETCH, MIBAND_E_FETCH_SHORT));
	/* the band refuses */
	{
		struct miband_request r = {.type = MIBAND_REQ_FETCH};

		r.u.time = (struct miband_time){2019, 6, 1, 10, 42, 0, 0, 8};
		CHECK_EQ(req(&h, &r), 0);
		done(&h, MIBAND_CH_FETCH_CTL, 0);
		notify_hex(&h, MIBAND_CH_FETCH_CTL, "10 01 04");
		CHECK(x_error(&h, MIBAND_REQ_FETCH, MIBAND_E_FETCH_STATUS));
		CHECK_EQ(req(&h, &r), 0);
		done(&h, MIBAND_CH_FETCH_CTL, 0);
		notify_hex(&h, MIBAND_CH_FETCH_CTL, "10 01 01 08");
		CHECK(x_error(&h, MIBAND_REQ_FETCH, MIBAND_E_MALFORMED));
		CHECK_EQ(req(&h, &r), 0);
		done(&h, MIBAND_CH_FETCH_CTL, 0);
		notify_hex(&h, MIBAND_CH_FETCH_CTL, "10 02 01");
		CHECK(x_error(&h, MIBAND_REQ_FETCH, MIBAND_E_UNEXPECTED));
		CHECK_EQ(req(&h, &r), 0);
		done(&h, MIBAND_CH_FETCH_CTL, 0);
		timeout_at(&h, miband_session_deadline_ms(&h.s));
		CHECK(x_error(&h, MIBAND_REQ_FETCH, MIBAND_E_TIMEOUT));
		r.u.time.day = 31;
		r.u.time.month = 6;
		CHECK_EQ(req(&h, &r), MIBAND_E_INVAL);
	}
	/* an ACK reply in the middle of the data */
	CHECK(fetch_begin(&h, false, "08 00 00 00"));
	notify_hex(&h, MIBAND_CH_FETCH_CTL, "10 03 01");
	CHECK(x_error(&h, MIBAND_REQ_FETCH, MIBAND_E_UNEXPECTED));
	/* end of batch with an error status */
	CHECK(fetch_begin(&h, false, "08 00 00 00"));
	notify_hex(&h, MIBAND_CH_FETCH_CTL, "10 02 04");
	CHECK(x_error(&h, MIBAND_REQ_FETCH, MIBAND_E_FETCH_STATUS));
	/* ACK refused */
	CHECK(fetch_begin(&h, false, "08 00 00 00"));
	notify_hex(&h, MIBAND_CH_FETCH_CTL, "10 02 01");
	CHECK(x_event(&h, MIBAND_EV_FETCH_BATCH) != NULL);
	CHECK_EQ(miband_session_fetch_stored(&h.s, h.now), 0);
	drain(&h);
	done(&h, MIBAND_CH_FETCH_CTL, 0);
	notify_hex(&h, MIBAND_CH_FETCH_CTL, "10 03 04");
	CHECK(x_error(&h, MIBAND_REQ_FETCH, MIBAND_E_FETCH_STATUS));
	/* still usable */
	CHECK(fetch_begin(&h, false, "00 00 00 00"));
}

TEST(req_fetch_undrained_packets)
{
	/* Two packets delivered without draining in between (a transport
	 * that batches notifications): one event covers both. */
	const struct miband_event *ev;
	struct h h;
	uint8_t p0[5] = {0, 1, 2, 3, 4}, p1[5] = {1, 5, 6, 7, 8};

	load_vectors();
	CHECK(authed(&h, MIBAND_MODEL_MB3));
	CHECK(fetch_begin(&h, true, "08 00 00 00"));
	miband_session_on_notify(&h.s, MIBAND_CH_FETCH_DATA, p0, 5, h.now);
	memset(p0, 0xee, sizeof(p0));
	miband_session_on_notify(&h.s, MIBAND_CH_FETCH_DATA, p1, 5, h.now);
	drain(&h);
	ev = x_event(&h, MIBAND_EV_SAMPLES);
	CHECK(ev && ev->u.samples.count == 2 && ev->u.samples.index == 0);
	CHECK_EQ(ev->u.samples.data[0], 1);
	CHECK_EQ(ev->u.samples.data[7], 8);
	CHECK(x_end(&h));
}

TEST(req_misc)
{
	struct miband_request r = {.type = MIBAND_REQ_BATTERY};
	struct h h;
	uint8_t junk[3] = {1, 2, 3};

	load_vectors();
	CHECK(authed(&h, MIBAND_MODEL_MB3));
	/* notifications nobody asked about */
	notify_hex(&h, MIBAND_CH_FETCH_DATA, "00 00 0c 00 ff");
	notify_hex(&h, MIBAND_CH_FETCH_CTL, "10 02 01");
	notify_hex(&h, MIBAND_CH_CONFIG, "10 06 0a 00 01");
	notify_hex(&h, MIBAND_CH_AUTH, "10 03 04");
	notify_hex(&h, MIBAND_CH_CHUNKED, "00 c0 00 41");
	notify_bytes(&h, (enum miband_channel)99, junk, 3);
	notify_bytes(&h, MIBAND_CH_BATTERY, NULL, 0);
	done(&h, MIBAND_CH_TIME, 0);
	read_hex(&h, MIBAND_CH_TIME, 0, "00");
	timeout_at(&h, h.now + 1000000);
	CHECK(x_end(&h));
	CHECK(miband_session_is_authed(&h.s));
	/* invalid request types */
	r.type = MIBAND_REQ_NONE;
	CHECK_EQ(req(&h, &r), MIBAND_E_INVAL);
	r.type = MIBAND_REQ_AUTH;
	CHECK_EQ(req(&h, &r), MIBAND_E_INVAL);
	r.type = MIBAND_REQ_COUNT;
	CHECK_EQ(req(&h, &r), MIBAND_E_INVAL);
	CHECK_EQ(h.n, 0);
	/* disconnect during a request: fatal, one error, then nothing */
	r.type = MIBAND_REQ_BATTERY;
	CHECK_EQ(req(&h, &r), 0);
	CHECK(x_read(&h, MIBAND_CH_BATTERY));
	miband_session_on_disconnect(&h.s, h.now);
	drain(&h);
	CHECK(x_error(&h, MIBAND_REQ_BATTERY, MIBAND_E_DISCONNECTED));
	CHECK(x_end(&h));
	CHECK(!miband_session_is_authed(&h.s));
	CHECK_EQ(miband_session_request(&h.s, &r, h.now), MIBAND_E_STATE);
	miband_session_on_disconnect(&h.s, h.now);
	drain(&h);
	CHECK(x_end(&h));
	/* disconnect while idle */
	CHECK(authed(&h, MIBAND_MODEL_MB3));
	miband_session_on_disconnect(&h.s, h.now);
	drain(&h);
	CHECK(x_error(&h, MIBAND_REQ_NONE, MIBAND_E_DISCONNECTED));
	CHECK(x_end(&h));
	/* requests after a failed auth are refused */
	h_init(&h, MIBAND_MODEL_MB3, k71);
	CHECK(run_to(&h, MIBAND_AUTH_STORED, AT_ANSWER));
	notify_hex(&h, MIBAND_CH_AUTH, "10 03 04");
	CHECK(x_error(&h, MIBAND_REQ_AUTH, MIBAND_E_WRONG_KEY));
	CHECK_EQ(miband_session_request(&h.s, &r, h.now), MIBAND_E_NOT_AUTHED);
}

TEST(requests_over_mb4_mtu)
{
	/* a larger MTU: chunks grow, but never beyond MIBAND_WRITE_MAX */
	struct miband_request r = {.type = MIBAND_REQ_TEXT};
	uint8_t msg[MIBAND_TEXT_MAX];
	struct h h;
	int n, chunks = 0;

	load_vectors();
	h_init(&h, MIBAND_MODEL_MB4, k71);
	h.cfg.mtu = 247;
	h_reinit(&h, k71);
	CHECK(auth_to_random(&h, MIBAND_AUTH_STORED, "08", "82 08 02 01 00"));
	CHECK(auth_finish(&h, "82", r71,
			  "83 08 ce1c0135db39e61f1a27012fb907df3b", false));
	memset(msg, 'x', sizeof(msg));
	n = miband_encode_app_notification(
		msg, sizeof(msg), 230, MIBAND_CATEGORY_SMS, 0, "T",
		"0123456789012345678901234567890123", NULL);
	CHECK(n > 34);
	r.u.text.data = (const char *)msg;
	r.u.text.len = (size_t)n;
	CHECK_EQ(req(&h, &r), 0);
	while (h.n && h.got[0].a.type == MIBAND_ACTION_WRITE) {
		CHECK(h.got[0].a.len <= MIBAND_WRITE_MAX);
		chunks++;
		done(&h, MIBAND_CH_CHUNKED, 0);
	}
	CHECK_EQ(chunks, (n + 16) / 17);
	CHECK(x_done_ev(&h, MIBAND_REQ_TEXT));
}

TEST_MAIN(T(real_band_7_1), T(mb2_pairing_flags_08), T(mb3_stored),
	  T(mb4_crypt_variant), T(flag_overrides), T(gb_default_key_vectors),
	  T(seed_base64_replies), T(auth_statuses), T(mb4_announcement_ignored),
	  T(auto_fallback), T(auth_deadlines), T(auth_disconnect),
	  T(auth_crypto_failure), T(auth_misuse), T(auth_write_failures),
	  T(auth_reply_before_write_done), T(queue_overflow_is_fatal),
	  T(session_size_and_wipe), T(req_battery_steps_time), T(req_devinfo),
	  T(req_follow_steps_events), T(req_hr_oneshot), T(req_hr_continuous),
	  T(req_alert_call), T(req_text_chunked), T(req_config_user),
	  T(req_fetch), T(req_fetch_errors), T(req_fetch_undrained_packets),
	  T(req_misc), T(requests_over_mb4_mtu))
