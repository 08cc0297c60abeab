/*
 * Fault injection over the in-process link, for every request type.
 *
 * Each scenario (a request after a clean auth, or an auth variant) runs
 * once cleanly to list the packets it exchanges; then once per fault,
 * each applied to one packet in turn (both directions):
 *
 *   drop        the packet is lost
 *   duplicate   it arrives twice
 *   reorder     it arrives one latency late: packets sent meanwhile
 *               overtake it (MIBAND_LINK_DELAY)
 *   truncate    it is cut to len - 1, len / 2 and 0 bytes
 *   corrupt     one byte is inverted, every byte in turn
 *   disconnect  the link breaks instead of delivering it (so: before
 *               each step, which is after the one before), and after the
 *               request's last packet
 *   stall       the band goes silent from this packet on for longer than
 *               any deadline (its packets arrive late): the deadline of
 *               each wait expires in turn
 *   crypto      the client's or the band's AES or RNG fails at each call
 *               (auth scenarios)
 *
 * Every case must end, within a bounded virtual time, in the request's
 * final event: its value, or an error the fault may cause on that packet
 * (allowed(): a drop, duplicate or late packet has one error per kind of
 * packet; truncation and corruption what the packet's channel and
 * operation can produce); stalls, disconnects and crypto failures in
 * exactly their documented error.  Values that arrive despite a fault
 * other than corruption or truncation must be exactly the band's: the
 * battery level and clock it was configured with, its software revision,
 * the heart rate and step count it sent (check_value()), and history
 * samples in order.
 * After the case, once the band's late packets have landed, the session
 * is either reusable -- the same request (or auth) then succeeds -- or
 * it ended cleanly: fatal, refusing everything with MIBAND_E_STATE and
 * emitting nothing, and a re-initialised session on the reconnected link
 * authenticates again.
 *
 * The band's unauthenticated-link timer is off here: a stalled handshake
 * must end by the session's own deadline, not by the band hanging up.
 */
#include "runner.h"

#include "miband/miband.h"

static const uint8_t key_s[16] = {0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
				  0x36, 0x37, 0x38, 0x39, 0x40, 0x41,
				  0x42, 0x43, 0x44, 0x45};
static const uint8_t key_other[16] = {0xd8, 0x8c, 0xa0, 0xfe, 0xf5, 0x04,
				      0xcc, 0x82, 0x73, 0x5f, 0x15, 0xfe,
				      0xb6, 0xbf, 0x9b, 0x1f};

#define MAX_PK 96
#define BUDGET_MS 200000u /* any request under any fault ends by then */
#define STALL_MS 90000u	  /* longer than every session deadline */
#define SETTLE_MS 100000u /* the band's late packets land meanwhile */
#define MAX_SAMPLES 64
#define BATTERY_LEVEL 57 /* not the default, so the value is the config's */
#define BAND_TZ 4	 /* UTC+1: the band's clock zone */

enum kind {
	K_NONE,
	K_DROP,
	K_DUP,
	K_REORDER,
	K_TRUNC,
	K_CORRUPT,
	K_DISC,
	K_DISC_AFTER,
	K_STALL,
	K_CRYPTO_CLIENT,
	K_CRYPTO_BAND,
	K_COUNT
};

static const char *const kind_names[K_COUNT] = {
	"none",	    "drop",	     "duplicate",   "reorder",
	"truncate", "corrupt",	     "disconnect",  "disconnect-after",
	"stall",    "crypto-client", "crypto-band",
};

struct pk {
	uint8_t dir, kind, ch;
	size_t len;
	uint8_t data[MIBAND_BAND_VALUE_MAX];
};

struct filt {
	bool armed, record;
	enum kind kind;
	int target;
	size_t arg;
	int seen;
	bool fired;
	struct pk fired_pk; /* the packet as it was before the fault */
	int band_bpm;	    /* the last heart rate the band sent, or -1 */
	int npk;
	struct pk pk[MAX_PK];
};

struct scenario {
	const char *name;
	enum miband_model model;
	enum miband_request_type req;	/* MIBAND_REQ_AUTH: auth under test */
	enum miband_auth_mode auth;	/* auth under test */
	const uint8_t *band_key;	/* the band's key at start */
	bool reply_required;		/* config_reply_required */
	enum miband_request_type setup; /* run cleanly first (or NONE) */
};

struct fx {
	struct miband_session s;
	struct miband_session_config scfg;
	struct miband_band b;
	struct miband_band_config bcfg;
	struct miband_link l;
	struct miband_link_config lcfg;
	struct miband_crypto_test sct, bct;
	struct filt f;
	/* history received in the running request */
	bool have_first;
	uint32_t first_minute;
	uint32_t nsamples;
	bool samples_ok;
	uint64_t started_ms; /* the running request's start */
};

/* Totals, printed at the end. */
static unsigned n_cases[K_COUNT], n_ok[K_COUNT], n_fatal[K_COUNT];
static unsigned n_total;

#define DO(x)                     \
	do {                      \
		x;                \
		if (test__failed) \
			return;   \
	} while (0)

/* ---- the filter ---- */

static enum miband_link_verdict filter(enum miband_link_dir dir, int kind,
				       enum miband_channel ch, uint8_t *data,
				       size_t *len, void *user_data)
{
	struct filt *f = user_data;
	int i;

	if (dir == MIBAND_LINK_TO_CLIENT && ch == MIBAND_CH_HR_MEAS &&
	    kind == MIBAND_ACTION_EVENT && *len == 2)
		f->band_bpm = data[1];
	if (!f->armed)
		return MIBAND_LINK_PASS;
	i = f->seen++;
	if (f->record && f->npk < MAX_PK) {
		struct pk *p = &f->pk[f->npk++];

		p->dir = (uint8_t)dir;
		p->kind = (uint8_t)kind;
		p->ch = (uint8_t)ch;
		p->len = *len;
		memcpy(p->data, data, *len);
	}
	if (f->kind == K_STALL) {
		if (i < f->target || dir != MIBAND_LINK_TO_CLIENT)
			return MIBAND_LINK_PASS;
	} else if (i != f->target) {
		return MIBAND_LINK_PASS;
	}
	if (!f->fired) {
		f->fired_pk.dir = (uint8_t)dir;
		f->fired_pk.kind = (uint8_t)kind;
		f->fired_pk.ch = (uint8_t)ch;
		f->fired_pk.len = *len;
		memcpy(f->fired_pk.data, data, *len);
	}
	f->fired = true;
	switch (f->kind) {
	case K_DROP:
		return MIBAND_LINK_DROP;
	case K_DUP:
		return MIBAND_LINK_DUPLICATE;
	case K_REORDER:
	case K_STALL:
		return MIBAND_LINK_DELAY;
	case K_TRUNC:
		*len = f->arg;
		return MIBAND_LINK_PASS;
	case K_CORRUPT:
		data[f->arg] ^= 0xff;
		return MIBAND_LINK_PASS;
	case K_DISC:
		return MIBAND_LINK_DISCONNECT;
	default:
		return MIBAND_LINK_PASS;
	}
}

/* ---- running ---- */

static void fx_init(struct fx *x, const struct scenario *sc, enum kind k)
{
	memset(x, 0, sizeof(*x));
	miband_crypto_test_init(&x->sct, 11);
	miband_crypto_test_init(&x->bct, 22);
	miband_session_config_init(&x->scfg, sc->model);
	x->scfg.crypto = &miband_crypto_test;
	x->scfg.crypto_ctx = &x->sct;
	x->scfg.config_reply_required = sc->reply_required;
	x->scfg.allow_pair_fallback = true;
	miband_band_config_init(&x->bcfg, sc->model);
	x->bcfg.crypto = &miband_crypto_test;
	x->bcfg.crypto_ctx = &x->bct;
	x->bcfg.start_unix = 1700000000;
	x->bcfg.history_days = 1;
	x->bcfg.fetch_batch_max = 10; /* three history packets */
	x->bcfg.unauth_drop_ms = 0;
	x->bcfg.battery_level = BATTERY_LEVEL;
	x->bcfg.tz = BAND_TZ;
	miband_link_config_init(&x->lcfg);
	x->lcfg.filter = filter;
	x->lcfg.user_data = &x->f;
	x->lcfg.delay_ms = k == K_STALL ? STALL_MS : 0;
	x->f.kind = k;
	x->f.band_bpm = -1;
}

static void record_samples(struct fx *x, const struct miband_event *ev)
{
	size_t i;

	if (ev->type == MIBAND_EV_FETCH_START) {
		x->have_first = true;
		x->first_minute =
			(uint32_t)(miband_time_to_unix(&ev->u.fetch.first) /
				   60);
		return;
	}
	/* consecutive minutes from the first, each the band's sample */
	if (!x->have_first || ev->u.samples.index != x->nsamples)
		x->samples_ok = false;
	for (i = 0; i < ev->u.samples.count; i++) {
		struct miband_sample s;
		const uint8_t *p = ev->u.samples.data + 4 * i;

		miband_history_sample(x->bcfg.seed,
				      x->first_minute + ev->u.samples.index +
					      (uint32_t)i,
				      &s);
		if (p[0] != s.kind || p[1] != s.intensity || p[2] != s.steps ||
		    p[3] != s.heart_rate)
			x->samples_ok = false;
	}
	x->nsamples += (uint32_t)ev->u.samples.count;
}

/*
 * Runs the link until the final event of req, or a fatal error, within
 * budget_ms of virtual time.  0 with *ret filled; MIBAND_E_TIMEOUT when
 * nothing final came (a hang); or the link's error.
 */
static int wait_final(struct fx *x, enum miband_request_type req,
		      struct miband_event *ret, uint64_t budget_ms)
{
	uint64_t until = miband_link_now(&x->l) + budget_ms;
	struct miband_link_output out;
	int r;

	for (;;) {
		r = miband_link_run(&x->l, until, &out);
		if (r < 0)
			return r;
		if (r == 0)
			return MIBAND_E_TIMEOUT;
		if (out.from_band)
			continue;
		switch (out.client.type) {
		case MIBAND_EV_FETCH_START:
		case MIBAND_EV_SAMPLES:
			if (out.client.request == req)
				record_samples(x, &out.client);
			continue;
		case MIBAND_EV_FETCH_BATCH:
			(void)miband_session_fetch_stored(
				&x->s, miband_link_now(&x->l));
			continue;
		case MIBAND_EV_ERROR:
			if (out.client.request == req ||
			    miband_is_fatal(out.client.error))
				break;
			continue;
		default:
			if (out.client.request != req ||
			    out.client.type == MIBAND_EV_AUTH_PROGRESS)
				continue;
			break;
		}
		*ret = out.client;
		return 0;
	}
}

/* Runs the link until the session's fatal error (after the request). */
static int wait_fatal(struct fx *x, struct miband_event *ret,
		      uint64_t budget_ms)
{
	uint64_t until = miband_link_now(&x->l) + budget_ms;
	struct miband_link_output out;
	int r;

	while ((r = miband_link_run(&x->l, until, &out)) > 0) {
		if (!out.from_band && out.client.type == MIBAND_EV_ERROR &&
		    miband_is_fatal(out.client.error)) {
			*ret = out.client;
			return 0;
		}
	}
	return r ? r : MIBAND_E_TIMEOUT;
}

/* Lets everything in flight land; events are dropped, but a fatal
 * error is returned (nothing may end the session while it idles). */
static int settle(struct fx *x, uint64_t ms)
{
	uint64_t until = miband_link_now(&x->l) + ms;
	struct miband_link_output out;
	int r;

	while ((r = miband_link_run(&x->l, until, &out)) > 0)
		if (!out.from_band && out.client.type == MIBAND_EV_ERROR &&
		    miband_is_fatal(out.client.error))
			return out.client.error;
	return r;
}

static char text_msg[MIBAND_TEXT_MAX];
static size_t text_len;

static void make_request(struct fx *x, enum miband_request_type t,
			 struct miband_request *req)
{
	static const uint8_t config[] = {0x06, 0x02, 0x00, 0x01};
	static const uint8_t user[] = {0x4f, 0x00, 0x00, 0xc8, 0x07, 0x05,
				       0x11, 0x00, 0xaf, 0x00, 0x50, 0x3e,
				       0x2a, 0x00, 0x00, 0x00};
	int64_t now_s = miband_band_clock(&x->b, miband_link_now(&x->l));
	int n;

	memset(req, 0, sizeof(*req));
	req->type = t;
	switch (t) {
	case MIBAND_REQ_TIME_SET:
		miband_time_from_unix(now_s + 3600, 4, &req->u.time);
		break;
	case MIBAND_REQ_FETCH:
		/* the last 10 minutes: one batch, three packets */
		miband_time_from_unix((now_s / 60 - 10) * 60, 0, &req->u.time);
		break;
	case MIBAND_REQ_DEVINFO:
		req->u.devinfo = MIBAND_DEVINFO_SW_REV;
		break;
	case MIBAND_REQ_HR_INTERVAL:
		req->u.minutes = 10;
		break;
	case MIBAND_REQ_ALERT:
		req->u.level = MIBAND_ALERT_VIBRATE;
		break;
	case MIBAND_REQ_CALL:
		req->u.text.data = "Alice \xe2\x98\x8e";
		req->u.text.len = strlen(req->u.text.data);
		break;
	case MIBAND_REQ_TEXT:
		n = miband_encode_app_notification(
			(uint8_t *)text_msg, sizeof(text_msg),
			miband_text_limit(x->scfg.model), MIBAND_CATEGORY_SMS,
			0, "Lunch",
			"Pizza at 12:30, table 4, bring \xc3\xa9"
			"clairs",
			NULL);
		text_len = n > 0 ? (size_t)n : 0;
		req->u.text.data = text_msg;
		req->u.text.len = text_len;
		break;
	case MIBAND_REQ_CONFIG:
		memcpy(req->u.raw.bytes, config, sizeof(config));
		req->u.raw.len = sizeof(config);
		break;
	case MIBAND_REQ_USER:
		memcpy(req->u.raw.bytes, user, sizeof(user));
		req->u.raw.len = sizeof(user);
		break;
	default:
		break;
	}
}

static enum miband_event_type success_type(enum miband_request_type t)
{
	switch (t) {
	case MIBAND_REQ_AUTH:
		return MIBAND_EV_AUTH_OK;
	case MIBAND_REQ_BATTERY:
		return MIBAND_EV_BATTERY;
	case MIBAND_REQ_STEPS:
		return MIBAND_EV_STEPS;
	case MIBAND_REQ_TIME_GET:
		return MIBAND_EV_TIME;
	case MIBAND_REQ_DEVINFO:
		return MIBAND_EV_DEVINFO;
	case MIBAND_REQ_HR_ONESHOT:
		return MIBAND_EV_HR;
	default:
		return MIBAND_EV_DONE;
	}
}

/* Starts the scenario's request (or auth) at the link's now. */
static int start(struct fx *x, const struct scenario *sc,
		 enum miband_request_type t, enum miband_auth_mode mode)
{
	struct miband_request req;
	uint64_t now = miband_link_now(&x->l);

	x->started_ms = now;
	if (t == MIBAND_REQ_AUTH)
		return miband_session_start_auth(&x->s, mode, now);
	(void)sc;
	make_request(x, t, &req);
	return miband_session_request(&x->s, &req, now);
}

/* ---- the values a success carries ---- */

static bool same_time(const struct miband_time *a, const struct miband_time *b)
{
	return a->year == b->year && a->month == b->month && a->day == b->day &&
	       a->hour == b->hour && a->minute == b->minute &&
	       a->second == b->second && a->dow == b->dow && a->tz == b->tz;
}

static bool same_steps(const struct miband_steps *a,
		       const struct miband_steps *b)
{
	return a->steps == b->steps && a->meters == b->meters &&
	       a->kcal == b->kcal && a->has_distance == b->has_distance;
}

/* What the band itself serves on a readable channel at virtual time t. */
static void band_value(struct fx *x, enum miband_channel ch, uint64_t t,
		       uint8_t *buf, size_t *ret_len)
{
	*ret_len = 0;
	CHECK_EQ(miband_band_read(&x->b, ch, t, buf, MIBAND_BAND_VALUE_MAX,
				  ret_len),
		 0);
}

/*
 * A success carries exactly the band's value: the battery level it was
 * configured with (and the rest of its battery record), its clock (set
 * by start_unix, in its zone) at a moment between the request's start
 * and now, its software revision, its step count at the start or now,
 * and the heart rate it last sent.  Called as the final event arrives.
 */
static void check_value(struct fx *x, const struct miband_event *ev)
{
	uint64_t now = miband_link_now(&x->l);
	uint8_t v[MIBAND_BAND_VALUE_MAX];
	struct miband_battery bat;
	struct miband_steps st[2];
	int64_t t;
	size_t n;

	switch (ev->type) {
	case MIBAND_EV_BATTERY:
		CHECK_EQ(ev->u.battery.level, BATTERY_LEVEL);
		DO(band_value(x, MIBAND_CH_BATTERY, now, v, &n));
		CHECK_EQ(miband_decode_battery(v, n, &bat), 0);
		CHECK_EQ(ev->u.battery.charging, bat.charging);
		CHECK_EQ(ev->u.battery.last_charge_level,
			 bat.last_charge_level);
		CHECK(same_time(&ev->u.battery.last_off, &bat.last_off));
		CHECK(same_time(&ev->u.battery.last_charge, &bat.last_charge));
		break;
	case MIBAND_EV_TIME:
		t = miband_time_to_unix(&ev->u.time);
		CHECK_EQ(ev->u.time.tz, BAND_TZ);
		CHECK(t >= miband_band_clock(&x->b, x->started_ms));
		CHECK(t <= miband_band_clock(&x->b, now));
		break;
	case MIBAND_EV_STEPS:
		DO(band_value(x, MIBAND_CH_STEPS, x->started_ms, v, &n));
		CHECK_EQ(miband_decode_steps(v, n, &st[0]), 0);
		DO(band_value(x, MIBAND_CH_STEPS, now, v, &n));
		CHECK_EQ(miband_decode_steps(v, n, &st[1]), 0);
		CHECK(same_steps(&ev->u.steps, &st[0]) ||
		      same_steps(&ev->u.steps, &st[1]));
		break;
	case MIBAND_EV_DEVINFO:
		CHECK_EQ(ev->u.devinfo.field, MIBAND_DEVINFO_SW_REV);
		DO(band_value(x, MIBAND_CH_DIS_SW_REV, now, v, &n));
		CHECK_EQ(ev->u.devinfo.len, n);
		CHECK_MEM(ev->u.devinfo.value, v, n);
		break;
	case MIBAND_EV_HR:
		CHECK(x->f.band_bpm >= 0);
		CHECK_EQ(ev->u.bpm, x->f.band_bpm);
		break;
	default:
		break;
	}
}

/* A request that must succeed (setup and follow-up). */
static void clean(struct fx *x, const struct scenario *sc,
		  enum miband_request_type t, enum miband_auth_mode mode)
{
	struct miband_event ev;

	x->have_first = false;
	x->nsamples = 0;
	x->samples_ok = true;
	CHECK_EQ(start(x, sc, t, mode), 0);
	CHECK_EQ(wait_final(x, t, &ev, BUDGET_MS), 0);
	if (ev.type == MIBAND_EV_ERROR)
		fprintf(stderr, "#   %s: clean %s: %s\n", sc->name,
			miband_request_name(t), miband_err_name(ev.error));
	CHECK_EQ(ev.type, success_type(t));
	DO(check_value(x, &ev));
	CHECK(x->samples_ok);
	if (t == MIBAND_REQ_FETCH)
		CHECK_EQ(x->nsamples, x->bcfg.fetch_batch_max);
	CHECK_EQ(settle(x, 2000), 0);
}

/* ---- what each fault may end in ---- */

static bool is_set_key_reply(const struct pk *p)
{
	return p->dir == MIBAND_LINK_TO_CLIENT && p->ch == MIBAND_CH_AUTH &&
	       p->kind == MIBAND_ACTION_EVENT && p->len >= 2 &&
	       (p->data[1] & 0x0f) == MIBAND_AUTH_CMD_SET_KEY;
}

/* The set-key write or its reply: the wait for that reply is the long
 * one of the pairing prompt. */
static bool is_set_key(const struct pk *p)
{
	return is_set_key_reply(p) ||
	       (p->dir == MIBAND_LINK_TO_BAND && p->ch == MIBAND_CH_AUTH &&
		p->kind == MIBAND_ACTION_WRITE && p->len >= 1 &&
		(p->data[0] & 0x0f) == MIBAND_AUTH_CMD_SET_KEY);
}

static bool is_config_reply(const struct pk *p)
{
	return p->dir == MIBAND_LINK_TO_CLIENT && p->ch == MIBAND_CH_CONFIG &&
	       p->kind == MIBAND_ACTION_EVENT;
}

static bool is_fetch(const struct pk *p)
{
	return p->ch == MIBAND_CH_FETCH_CTL || p->ch == MIBAND_CH_FETCH_DATA;
}

static bool is_history(const struct pk *p)
{
	return p->dir == MIBAND_LINK_TO_CLIENT &&
	       p->ch == MIBAND_CH_FETCH_DATA && p->kind == MIBAND_ACTION_EVENT;
}

/*
 * The one error a lost, doubled or late packet p can end its request in
 * (besides success, when the packet was not needed or came in time; 0:
 * success only).  A lost packet leaves its wait unanswered: TIMEOUT, or
 * PAIR_TIMEOUT for the set-key exchange; a lost history packet breaks
 * the counter: FETCH_GAP.  A doubled auth packet makes the band answer
 * twice (UNEXPECTED), a doubled fetch command makes it refuse the second
 * (FETCH_STATUS), a doubled history packet repeats a counter (FETCH_GAP).
 * A late packet arrives before any deadline: only a history packet
 * overtaken by the next one is noticed (FETCH_GAP).
 */
static int packet_error(enum kind k, const struct pk *p)
{
	switch (k) {
	case K_DROP:
		if (is_history(p))
			return MIBAND_E_FETCH_GAP;
		return is_set_key(p) ? MIBAND_E_PAIR_TIMEOUT : MIBAND_E_TIMEOUT;
	case K_DUP:
		if (p->ch == MIBAND_CH_AUTH)
			return MIBAND_E_UNEXPECTED;
		if (is_history(p))
			return MIBAND_E_FETCH_GAP;
		if (p->ch == MIBAND_CH_FETCH_CTL &&
		    p->dir == MIBAND_LINK_TO_BAND &&
		    p->kind == MIBAND_ACTION_WRITE)
			return MIBAND_E_FETCH_STATUS;
		return 0;
	case K_REORDER:
		return is_history(p) ? MIBAND_E_FETCH_GAP : 0;
	default:
		return 0;
	}
}

/*
 * The errors a truncated or corrupted packet p may end a request in:
 * what its channel and operation can produce.  Never INTERNAL, never
 * fatal; no auth error outside the auth channel, no fetch error outside
 * the fetch channels, no failed write, read or subscription but of that
 * operation.
 */
static bool mangled_allowed(const struct pk *p, int err)
{
	bool auth = p->ch == MIBAND_CH_AUTH;

	switch (err) {
	case MIBAND_E_TIMEOUT:
	case MIBAND_E_MALFORMED:
	case MIBAND_E_UNEXPECTED:
	case MIBAND_E_REJECTED:
		return true;
	case MIBAND_E_PAIR_TIMEOUT:
		return is_set_key(p);
	case MIBAND_E_FETCH_GAP:
	case MIBAND_E_FETCH_STATUS:
	case MIBAND_E_FETCH_SHORT:
		return is_fetch(p);
	case MIBAND_E_WRONG_KEY:
	case MIBAND_E_RANDOM_FAILED:
	case MIBAND_E_AUTH_STATUS:
	case MIBAND_E_PAIR_DECLINED:
	case MIBAND_E_SETKEY_FAILED:
	case MIBAND_E_AUTH_REJECTED:
		return auth;
	case MIBAND_E_WRITE_FAILED:
		return p->kind == MIBAND_ACTION_WRITE;
	case MIBAND_E_READ_FAILED:
		return p->kind == MIBAND_ACTION_READ;
	case MIBAND_E_SUBSCRIBE_FAILED:
		return p->kind == MIBAND_ACTION_SUBSCRIBE;
	default:
		return false;
	}
}

static bool allowed(enum kind k, int err, const struct pk *p)
{
	if (k == K_TRUNC || k == K_CORRUPT)
		return mangled_allowed(p, err);
	return err && err == packet_error(k, p);
}

/* ---- one case ---- */

struct outcome {
	bool success, fatal;
	int error;
};

static void report(const struct scenario *sc, enum kind k, int target,
		   size_t arg, const char *what)
{
	fprintf(stderr, "#   %s: %s at packet %d (arg %zu): %s\n", sc->name,
		kind_names[k], target, arg, what);
}

/* After a fatal error: the session refuses everything, emits nothing,
 * and a new session on the reconnected link authenticates again. */
static void check_ended(struct fx *x, const struct scenario *sc)
{
	struct miband_request req;
	struct miband_action a;
	uint64_t now = miband_link_now(&x->l);
	int r;

	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_BATTERY;
	CHECK_EQ(miband_session_request(&x->s, &req, now), MIBAND_E_STATE);
	CHECK_EQ(miband_session_start_auth(&x->s, MIBAND_AUTH_STORED, now),
		 MIBAND_E_STATE);
	CHECK_EQ(miband_session_next_action(&x->s, &a), MIBAND_ACTION_DONE);
	CHECK_EQ(miband_session_deadline_ms(&x->s), UINT64_MAX);
	CHECK(!miband_session_is_authed(&x->s));
	/* the link goes quiet */
	r = settle(x, SETTLE_MS);
	CHECK(r == 0 || r == MIBAND_E_DISCONNECTED);
	miband_link_reconnect(&x->l);
	CHECK_EQ(miband_session_init(&x->s, &x->scfg, key_s), 0);
	DO(clean(x, sc, MIBAND_REQ_AUTH, MIBAND_AUTH_AUTO));
	if (sc->req != MIBAND_REQ_AUTH)
		DO(clean(x, sc, sc->req, MIBAND_AUTH_STORED));
}

static void run_case(const struct scenario *sc, enum kind k, int target,
		     size_t arg, struct filt *rec, struct outcome *o)
{
	static struct fx x;
	struct miband_event ev;
	int r;

	memset(o, 0, sizeof(*o));
	if (getenv("MIBAND_FAULTS_VERBOSE"))
		fprintf(stderr, "# case %s: %s at %d (arg %zu)\n", sc->name,
			kind_names[k], target, arg);
	fx_init(&x, sc, k);
	CHECK_EQ(miband_band_init(&x.b, &x.bcfg, sc->band_key, 0), 0);
	CHECK_EQ(miband_session_init(&x.s, &x.scfg, key_s), 0);
	CHECK_EQ(miband_link_init(&x.l, &x.lcfg, &x.s, &x.b, 0), 0);
	if (sc->req != MIBAND_REQ_AUTH) {
		DO(clean(&x, sc, MIBAND_REQ_AUTH, MIBAND_AUTH_STORED));
		if (sc->setup != MIBAND_REQ_NONE)
			DO(clean(&x, sc, sc->setup, MIBAND_AUTH_STORED));
	}
	if (k == K_CRYPTO_CLIENT)
		x.sct.fail_at = x.sct.calls + (unsigned)target;
	if (k == K_CRYPTO_BAND)
		x.bct.fail_at = x.bct.calls + (unsigned)target;

	/* the request under fault */
	x.f.armed = true;
	x.f.record = k == K_NONE;
	x.f.target = k == K_CRYPTO_CLIENT || k == K_CRYPTO_BAND ? -1 : target;
	x.f.arg = arg;
	x.have_first = false;
	x.nsamples = 0;
	x.samples_ok = true;
	CHECK_EQ(start(&x, sc, sc->req, sc->auth), 0);
	r = wait_final(&x, sc->req, &ev, BUDGET_MS);
	x.f.armed = false;
	if (r) {
		report(sc, k, target, arg,
		       r == MIBAND_E_TIMEOUT ? "no final event (hang)"
					     : miband_err_name(r));
		CHECK_EQ(r, 0);
	}
	if (rec)
		*rec = x.f;
	if (getenv("MIBAND_FAULTS_VERBOSE"))
		fprintf(stderr, "#   -> %s%s\n", miband_event_name(ev.type),
			ev.type == MIBAND_EV_ERROR ? miband_err_name(ev.error)
						   : "");
	o->success = ev.type == success_type(sc->req);
	o->error = ev.type == MIBAND_EV_ERROR ? ev.error : 0;
	if (o->success && k != K_CORRUPT && k != K_TRUNC) {
		check_value(&x, &ev);
		if (test__failed) {
			report(sc, k, target, arg, "a wrong value");
			return;
		}
	}
	if (!o->success && ev.type != MIBAND_EV_ERROR) {
		report(sc, k, target, arg, miband_event_name(ev.type));
		CHECK(!"a final event of the wrong type");
	}
	if (k == K_DISC_AFTER && o->success)
		miband_link_disconnect(&x.l); /* once the request is done */
	o->fatal = o->error && miband_is_fatal(o->error);

	/* documented outcomes */
	if (k == K_DISC || k == K_DISC_AFTER) {
		/* The request ends in DISCONNECTED; or first, when an
		 * operation meets the dead link before the news of the break
		 * does, in success (a write command is done once queued) or
		 * that operation's failure; then the session ends. */
		if (!o->success && o->error != MIBAND_E_DISCONNECTED &&
		    o->error != MIBAND_E_WRITE_FAILED &&
		    o->error != MIBAND_E_READ_FAILED &&
		    o->error != MIBAND_E_SUBSCRIBE_FAILED)
			report(sc, k, target, arg, miband_err_name(o->error));
		CHECK(o->success || o->error == MIBAND_E_DISCONNECTED ||
		      o->error == MIBAND_E_WRITE_FAILED ||
		      o->error == MIBAND_E_READ_FAILED ||
		      o->error == MIBAND_E_SUBSCRIBE_FAILED);
		if (!o->fatal) {
			r = wait_fatal(&x, &ev, BUDGET_MS);
			if (r)
				report(sc, k, target, arg,
				       "not ended by the disconnect");
			CHECK_EQ(r, 0);
			CHECK_EQ(ev.error, MIBAND_E_DISCONNECTED);
			CHECK_EQ(ev.request, MIBAND_REQ_NONE);
			o->fatal = true;
		}
	} else if (o->fatal) {
		report(sc, k, target, arg, miband_err_name(o->error));
		CHECK(!"fatal without a disconnect");
	} else if (k == K_STALL) {
		const struct pk *p = &x.f.fired_pk;
		int want = MIBAND_E_TIMEOUT;

		CHECK(x.f.fired);
		if (is_set_key_reply(p))
			want = MIBAND_E_PAIR_TIMEOUT;
		if (is_config_reply(p) && !sc->reply_required)
			want = 0;
		if (want ? o->error != want : !o->success)
			report(sc, k, target, arg,
			       o->success ? "success"
					  : miband_err_name(o->error));
		if (want)
			CHECK_EQ(o->error, want);
		else
			CHECK(o->success);
	} else if (k == K_CRYPTO_CLIENT || k == K_CRYPTO_BAND) {
		/* the client's AES fails: CRYPTO; the band's RNG or AES:
		 * it cannot answer, so the client's wait expires */
		if (!o->success &&
		    o->error != (k == K_CRYPTO_CLIENT ? MIBAND_E_CRYPTO
						      : MIBAND_E_TIMEOUT))
			report(sc, k, target, arg, miband_err_name(o->error));
		if (!o->success)
			CHECK_EQ(o->error, k == K_CRYPTO_CLIENT
						   ? MIBAND_E_CRYPTO
						   : MIBAND_E_TIMEOUT);
	} else if (!o->success) {
		CHECK(x.f.fired);
		if (!allowed(k, o->error, &x.f.fired_pk))
			report(sc, k, target, arg, miband_err_name(o->error));
		CHECK(allowed(k, o->error, &x.f.fired_pk));
	}
	/* A whole history batch, unless a packet was lost: a lost last
	 * packet (or one overtaken by 10 02 01) goes unnoticed, since the
	 * v1 protocol has no count to check it against (PROTOCOL.md 5);
	 * only its samples are missing, and the next fetch starts after
	 * the last sample received, so they come again. */
	if (sc->req == MIBAND_REQ_FETCH && o->success &&
	    (k == K_DROP || k == K_DUP || k == K_REORDER || k == K_STALL)) {
		uint32_t want = x.bcfg.fetch_batch_max;
		const struct pk *p = &x.f.fired_pk;

		if ((k == K_DROP || k == K_REORDER) && x.f.fired &&
		    p->ch == MIBAND_CH_FETCH_DATA && p->len > 1)
			want -= (uint32_t)(p->len - 1) / 4;
		if (x.nsamples != want)
			report(sc, k, target, arg, "samples missing");
		CHECK_EQ(x.nsamples, want);
	}
	/* values that arrive despite a fault are right, bar corruption */
	if (k != K_CORRUPT && k != K_TRUNC && !x.samples_ok)
		report(sc, k, target, arg, "wrong history samples");
	CHECK(k == K_CORRUPT || k == K_TRUNC || x.samples_ok);

	/* reusable, or cleanly ended */
	if (o->fatal) {
		DO(check_ended(&x, sc));
		return;
	}
	x.sct.fail_at = 0;
	x.bct.fail_at = 0;
	r = settle(&x, SETTLE_MS);
	if (r)
		report(sc, k, target, arg, "the session died while idle");
	CHECK_EQ(r, 0);
	if (sc->req == MIBAND_REQ_AUTH)
		DO(clean(&x, sc, MIBAND_REQ_AUTH, sc->auth));
	else
		DO(clean(&x, sc, sc->req, MIBAND_AUTH_STORED));
}

static void count(enum kind k, const struct outcome *o)
{
	n_cases[k]++;
	n_total++;
	n_ok[k] += o->success;
	n_fatal[k] += o->fatal;
}

/* Every fault at every packet of one scenario. */
static void scenario(const struct scenario *sc)
{
	static struct filt clean_run;
	struct outcome o;
	int i, n;
	size_t b;

	DO(run_case(sc, K_NONE, -1, 0, &clean_run, &o));
	CHECK(o.success);
	n = clean_run.npk;
	CHECK(n > 0 && n < MAX_PK);
	for (i = 0; getenv("MIBAND_FAULTS_VERBOSE") && i < n; i++) {
		const struct pk *p = &clean_run.pk[i];

		fprintf(stderr, "# %s packet %d: %s %s %s", sc->name, i,
			p->dir == MIBAND_LINK_TO_BAND ? ">" : "<",
			p->kind == MIBAND_ACTION_EVENT ? "notify" : "op",
			miband_channel_info((enum miband_channel)p->ch)->name);
		for (b = 0; b < p->len; b++)
			fprintf(stderr, " %02x", p->data[b]);
		fprintf(stderr, " (kind %d)\n", p->kind);
	}
	for (i = 0; i < n; i++) {
		const struct pk *p = &clean_run.pk[i];
		size_t cuts[3] = {p->len - 1, p->len / 2, 0};
		int c;

		DO(run_case(sc, K_DROP, i, 0, NULL, &o));
		count(K_DROP, &o);
		DO(run_case(sc, K_DUP, i, 0, NULL, &o));
		count(K_DUP, &o);
		DO(run_case(sc, K_REORDER, i, 0, NULL, &o));
		count(K_REORDER, &o);
		DO(run_case(sc, K_DISC, i, 0, NULL, &o));
		count(K_DISC, &o);
		if (p->dir == MIBAND_LINK_TO_CLIENT) {
			DO(run_case(sc, K_STALL, i, 0, NULL, &o));
			count(K_STALL, &o);
		}
		for (c = 0; p->len && c < 3; c++) {
			if (c && cuts[c] == cuts[c - 1])
				continue;
			if (c == 2 && cuts[1] == 0)
				continue;
			DO(run_case(sc, K_TRUNC, i, cuts[c], NULL, &o));
			count(K_TRUNC, &o);
		}
		for (b = 0; b < p->len; b++) {
			DO(run_case(sc, K_CORRUPT, i, b, NULL, &o));
			count(K_CORRUPT, &o);
		}
	}
	DO(run_case(sc, K_DISC_AFTER, -1, 0, NULL, &o));
	count(K_DISC_AFTER, &o);
	if (sc->req == MIBAND_REQ_AUTH) {
		enum kind k;

		for (k = K_CRYPTO_CLIENT; k <= K_CRYPTO_BAND; k++) {
			for (i = 1; i < 16; i++) {
				DO(run_case(sc, k, i, 0, NULL, &o));
				count(k, &o);
				if (o.success)
					break; /* no call left to fail */
			}
			CHECK(i < 16);
		}
	}
}

/* ---- the scenarios ---- */

#define REQ(n, r)                                                         \
	{                                                                 \
		n, MIBAND_MODEL_MB3, r, MIBAND_AUTH_STORED, key_s, false, \
			MIBAND_REQ_NONE                                   \
	}

static const struct scenario auth_scenarios[] = {
	{"auth-pair-mb3", MIBAND_MODEL_MB3, MIBAND_REQ_AUTH, MIBAND_AUTH_PAIR,
	 NULL, false, MIBAND_REQ_NONE},
	{"auth-stored-mb3", MIBAND_MODEL_MB3, MIBAND_REQ_AUTH,
	 MIBAND_AUTH_STORED, key_s, false, MIBAND_REQ_NONE},
	{"auth-auto-fallback-mb3", MIBAND_MODEL_MB3, MIBAND_REQ_AUTH,
	 MIBAND_AUTH_AUTO, key_other, false, MIBAND_REQ_NONE},
	{"auth-pair-mb2", MIBAND_MODEL_MB2, MIBAND_REQ_AUTH, MIBAND_AUTH_PAIR,
	 NULL, false, MIBAND_REQ_NONE},
	{"auth-stored-mb4", MIBAND_MODEL_MB4, MIBAND_REQ_AUTH,
	 MIBAND_AUTH_STORED, key_s, false, MIBAND_REQ_NONE},
};

static const struct scenario request_scenarios[] = {
	REQ("battery", MIBAND_REQ_BATTERY),
	REQ("steps", MIBAND_REQ_STEPS),
	REQ("steps-follow", MIBAND_REQ_STEPS_FOLLOW),
	REQ("time-get", MIBAND_REQ_TIME_GET),
	REQ("time-set", MIBAND_REQ_TIME_SET),
	REQ("devinfo", MIBAND_REQ_DEVINFO),
	REQ("hr-oneshot", MIBAND_REQ_HR_ONESHOT),
	REQ("hr-start", MIBAND_REQ_HR_START),
	{"hr-stop", MIBAND_MODEL_MB3, MIBAND_REQ_HR_STOP, MIBAND_AUTH_STORED,
	 key_s, false, MIBAND_REQ_HR_START},
	REQ("hr-interval", MIBAND_REQ_HR_INTERVAL),
	REQ("alert", MIBAND_REQ_ALERT),
	REQ("call", MIBAND_REQ_CALL),
	REQ("call-stop", MIBAND_REQ_CALL_STOP),
	REQ("text", MIBAND_REQ_TEXT),
	{"text-mb2", MIBAND_MODEL_MB2, MIBAND_REQ_TEXT, MIBAND_AUTH_STORED,
	 key_s, false, MIBAND_REQ_NONE},
	REQ("events-follow", MIBAND_REQ_EVENTS_FOLLOW),
	REQ("config", MIBAND_REQ_CONFIG),
	{"config-reply-required", MIBAND_MODEL_MB3, MIBAND_REQ_CONFIG,
	 MIBAND_AUTH_STORED, key_s, true, MIBAND_REQ_NONE},
	REQ("user", MIBAND_REQ_USER),
	REQ("fetch", MIBAND_REQ_FETCH),
};

static void summary(const char *what)
{
	int k;

	printf("# %s: %u fault-injection cases so far\n", what, n_total);
	for (k = K_DROP; k < K_COUNT; k++)
		if (n_cases[k])
			printf("#   %-16s %5u cases, %5u ended in success, "
			       "%4u fatal\n",
			       kind_names[k], n_cases[k], n_ok[k], n_fatal[k]);
}

TEST(faults_auth)
{
	unsigned before = n_total;
	size_t i;

	for (i = 0; i < sizeof(auth_scenarios) / sizeof(auth_scenarios[0]); i++)
		DO(scenario(&auth_scenarios[i]));
	summary("auth");
	CHECK(n_total - before > 500);
}

TEST(faults_every_request)
{
	bool seen[MIBAND_REQ_COUNT] = {false};
	unsigned before = n_total;
	size_t i;
	int t;

	for (i = 0;
	     i < sizeof(request_scenarios) / sizeof(request_scenarios[0]);
	     i++) {
		DO(scenario(&request_scenarios[i]));
		seen[request_scenarios[i].req] = true;
	}
	/* every request type has its scenario */
	for (t = MIBAND_REQ_BATTERY; t < MIBAND_REQ_COUNT; t++) {
		if (!seen[t])
			fprintf(stderr, "#   no scenario for %s\n",
				miband_request_name(
					(enum miband_request_type)t));
		CHECK(seen[t]);
	}
	summary("requests");
	CHECK(n_total - before > 500);
}

/* The link's delay verdict: later packets overtake a delayed one. */
TEST(link_delay_reorders)
{
	static struct fx x;
	static const struct scenario sc = REQ("fetch", MIBAND_REQ_FETCH);
	struct miband_event ev;

	fx_init(&x, &sc, K_REORDER);
	CHECK_EQ(miband_band_init(&x.b, &x.bcfg, key_s, 0), 0);
	CHECK_EQ(miband_session_init(&x.s, &x.scfg, key_s), 0);
	CHECK_EQ(miband_link_init(&x.l, &x.lcfg, &x.s, &x.b, 0), 0);
	DO(clean(&x, &sc, MIBAND_REQ_AUTH, MIBAND_AUTH_STORED));
	/* subscribe ctl, ack, subscribe data, ack, start, reply, 02, then
	 * the first history packet (index 7): late, so the second one
	 * arrives first with counter 1 */
	x.f.armed = true;
	x.f.target = 7;
	x.samples_ok = true;
	CHECK_EQ(start(&x, &sc, MIBAND_REQ_FETCH, MIBAND_AUTH_STORED), 0);
	CHECK_EQ(wait_final(&x, MIBAND_REQ_FETCH, &ev, BUDGET_MS), 0);
	CHECK(x.f.fired);
	CHECK_EQ(x.f.fired_pk.ch, MIBAND_CH_FETCH_DATA);
	CHECK_EQ(x.f.fired_pk.data[0], 0);
	CHECK_EQ(ev.type, MIBAND_EV_ERROR);
	CHECK_EQ(ev.error, MIBAND_E_FETCH_GAP);
}

/* Drains the session; returns the first write's bytes in w (or 0). */
static size_t drain_write(struct miband_session *s, uint8_t *w,
			  struct miband_event *last)
{
	struct miband_action a;
	size_t n = 0;

	while (miband_session_next_action(s, &a) != MIBAND_ACTION_DONE) {
		if (a.type == MIBAND_ACTION_WRITE && !n) {
			memcpy(w, a.data, a.len);
			n = a.len;
		}
		if (a.type == MIBAND_ACTION_EVENT && last)
			*last = a.event;
	}
	return n;
}

/*
 * The band answers a one-shot heart-rate request before the ack of its
 * last write (15 02 01), and that ack comes only after the next request
 * has queued its first write (15 01 00).  The late ack belongs to the
 * ended request: it must not complete the new step, which would queue
 * the following write over the first one's bytes (one write buffer).
 */
/* A session through a stored-key handshake, driven by hand. */
static void authed_session(struct miband_session *s,
			   struct miband_crypto_test *ct)
{
	struct miband_session_config cfg;
	struct miband_event ev;
	static const uint8_t ok3[] = {0x10, 0x03, 0x01};
	uint8_t random[19] = {0x10, 0x02, 0x01}, w[20];

	miband_crypto_test_init(ct, 1);
	miband_session_config_init(&cfg, MIBAND_MODEL_MB3);
	cfg.crypto = &miband_crypto_test;
	cfg.crypto_ctx = ct;
	CHECK_EQ(miband_session_init(s, &cfg, key_s), 0);
	CHECK_EQ(miband_session_start_auth(s, MIBAND_AUTH_STORED, 0), 0);
	drain_write(s, w, NULL);
	miband_session_on_write_done(s, MIBAND_CH_AUTH, 0, 0);
	drain_write(s, w, NULL);
	miband_session_on_write_done(s, MIBAND_CH_AUTH, 0, 0);
	miband_session_on_notify(s, MIBAND_CH_AUTH, random, sizeof(random), 0);
	drain_write(s, w, NULL);
	miband_session_on_write_done(s, MIBAND_CH_AUTH, 0, 0);
	miband_session_on_notify(s, MIBAND_CH_AUTH, ok3, 3, 0);
	drain_write(s, w, &ev);
	CHECK_EQ(ev.type, MIBAND_EV_AUTH_OK);
}

TEST(late_ack_of_an_ended_request)
{
	static struct miband_session s;
	struct miband_crypto_test ct;
	struct miband_request req;
	struct miband_event ev;
	static const uint8_t hr[] = {0x00, 0x51};
	uint8_t w[20];
	uint64_t now = 0;
	size_t n;

	DO(authed_session(&s, &ct));
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_HR_ONESHOT;
	CHECK_EQ(miband_session_request(&s, &req, now), 0);
	drain_write(&s, w, NULL); /* subscribe */
	miband_session_on_write_done(&s, MIBAND_CH_HR_MEAS, 0, now);
	n = drain_write(&s, w, NULL); /* 15 01 00 */
	CHECK_EQ(n, 3);
	miband_session_on_write_done(&s, MIBAND_CH_HR_CTL, 0, now);
	drain_write(&s, w, NULL); /* 15 02 00 */
	miband_session_on_write_done(&s, MIBAND_CH_HR_CTL, 0, now);
	n = drain_write(&s, w, NULL); /* 15 02 01, its ack late */
	CHECK(n == 3 && w[0] == 0x15 && w[1] == 0x02 && w[2] == 0x01);
	miband_session_on_notify(&s, MIBAND_CH_HR_MEAS, hr, 2, now + 3000);
	drain_write(&s, w, &ev);
	CHECK_EQ(ev.type, MIBAND_EV_HR);
	CHECK_EQ(ev.u.bpm, 0x51);

	/* the next request's first write waits behind the ended one's */
	CHECK_EQ(miband_session_request(&s, &req, now + 3000), 0);
	CHECK_EQ(drain_write(&s, w, NULL), 0);
	/* the late ack frees the way: out comes 15 01 00, intact */
	miband_session_on_write_done(&s, MIBAND_CH_HR_CTL, 0, now + 3010);
	n = drain_write(&s, w, NULL);
	CHECK_EQ(n, 3);
	CHECK(w[0] == 0x15 && w[1] == 0x01 && w[2] == 0x00);
	/* and its own ack moves on to 15 02 00 */
	miband_session_on_write_done(&s, MIBAND_CH_HR_CTL, 0, now + 3020);
	n = drain_write(&s, w, NULL);
	CHECK(n == 3 && w[0] == 0x15 && w[1] == 0x02 && w[2] == 0x00);
}

/* An ack that never comes does not block the idle session forever: its
 * deadline stands, and the next request then runs. */
TEST(lost_ack_of_an_ended_request)
{
	static struct miband_session s;
	struct miband_crypto_test ct;
	struct miband_request req;
	uint8_t w[20];
	uint64_t t;

	DO(authed_session(&s, &ct));
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_BATTERY;
	CHECK_EQ(miband_session_request(&s, &req, 0), 0);
	drain_write(&s, w, NULL); /* the read goes out */
	CHECK_EQ(miband_session_cancel(&s, 100), 0);
	drain_write(&s, w, NULL);
	/* idle, the read in flight: a deadline to presume it lost */
	t = miband_session_deadline_ms(&s);
	CHECK(t != UINT64_MAX);
	miband_session_on_timeout(&s, t);
	CHECK_EQ(miband_session_deadline_ms(&s), UINT64_MAX);
	req.type = MIBAND_REQ_STEPS;
	CHECK_EQ(miband_session_request(&s, &req, t), 0);
	{
		struct miband_action a;

		CHECK_EQ(miband_session_next_action(&s, &a),
			 MIBAND_ACTION_READ);
		CHECK_EQ(a.channel, MIBAND_CH_STEPS);
	}
}

TEST_MAIN(T(late_ack_of_an_ended_request), T(lost_ack_of_an_ended_request),
	  T(link_delay_reorders), T(faults_auth), T(faults_every_request))
