/*
 * Client session <-> band engine over the in-process link, on the virtual
 * clock: the auth matrix (model x mode x outcome), every request after
 * auth, a full history batch checked against miband_history_sample(),
 * link faults, and a crypto or RNG failure injected at every call index
 * on either side, which must end in a clean error and never a hang.
 */
#include "runner.h"

#include "crypto/testcrypto.h"
#include "miband/miband.h"

static const uint8_t key_s[16] = {0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
				  0x36, 0x37, 0x38, 0x39, 0x40, 0x41,
				  0x42, 0x43, 0x44, 0x45};
static const uint8_t key_other[16] = {0xd8, 0x8c, 0xa0, 0xfe, 0xf5, 0x04,
				      0xcc, 0x82, 0x73, 0x5f, 0x15, 0xfe,
				      0xb6, 0xbf, 0x9b, 0x1f};

#define MAX_BAND_EV 64
#define MAX_SAMPLES 4000

struct band_ev {
	enum miband_band_event_type type;
	uint8_t level;
	struct miband_time time;
	uint8_t data[MIBAND_TEXT_MAX];
	size_t len;
};

struct lx {
	struct miband_session s;
	struct miband_session_config scfg;
	struct miband_band b;
	struct miband_band_config bcfg;
	struct miband_link l;
	struct miband_link_config lcfg;
	struct miband_crypto_test sct, bct;
	/* what came out */
	struct band_ev bev[MAX_BAND_EV];
	int nbev;
	int progress[16];
	int hr_events, steps_events, dev_events;
	uint8_t last_bpm, last_dev;
	/* history */
	bool store_batches;
	uint8_t samples[4 * MAX_SAMPLES];
	size_t nsamples;
	struct miband_time fetch_first;
	int fetch_starts, batches;
	uint32_t fetch_counts;
};

#define DO(x)                     \
	do {                      \
		x;                \
		if (test__failed) \
			return;   \
	} while (0)

static void lx_config(struct lx *x, enum miband_model m)
{
	memset(x, 0, sizeof(*x));
	miband_crypto_test_init(&x->sct, 101);
	miband_crypto_test_init(&x->bct, 202);
	miband_session_config_init(&x->scfg, m);
	x->scfg.crypto = &miband_crypto_test;
	x->scfg.crypto_ctx = &x->sct;
	miband_band_config_init(&x->bcfg, m);
	x->bcfg.crypto = &miband_crypto_test;
	x->bcfg.crypto_ctx = &x->bct;
	x->bcfg.start_unix = 1700000000;
	x->bcfg.history_days = 3;
	miband_link_config_init(&x->lcfg);
	x->store_batches = true;
}

static void lx_start(struct lx *x, const uint8_t *session_key,
		     const uint8_t *band_key)
{
	CHECK_EQ(miband_band_init(&x->b, &x->bcfg, band_key, 0), 0);
	CHECK_EQ(miband_session_init(&x->s, &x->scfg, session_key), 0);
	CHECK_EQ(miband_link_init(&x->l, &x->lcfg, &x->s, &x->b, 0), 0);
}

static void record_band(struct lx *x, const struct miband_band_event *e)
{
	struct band_ev *r;

	if (x->nbev >= MAX_BAND_EV)
		return;
	r = &x->bev[x->nbev++];
	memset(r, 0, sizeof(*r));
	r->type = e->type;
	switch (e->type) {
	case MIBAND_BAND_EV_ALERT:
		r->level = e->u.level;
		break;
	case MIBAND_BAND_EV_TIME_SET:
		r->time = e->u.time;
		break;
	case MIBAND_BAND_EV_CALL:
	case MIBAND_BAND_EV_TEXT:
	case MIBAND_BAND_EV_CONFIG:
	case MIBAND_BAND_EV_USER:
		r->len = e->u.text.len < sizeof(r->data) ? e->u.text.len
							 : sizeof(r->data);
		memcpy(r->data, e->u.text.data, r->len);
		break;
	default:
		break;
	}
}

static const struct band_ev *band_event(const struct lx *x,
					enum miband_band_event_type t)
{
	int i;

	for (i = x->nbev - 1; i >= 0; i--)
		if (x->bev[i].type == t)
			return &x->bev[i];
	return NULL;
}

static int count_band(const struct lx *x, enum miband_band_event_type t)
{
	int i, n = 0;

	for (i = 0; i < x->nbev; i++)
		n += x->bev[i].type == t;
	return n;
}

/*
 * Runs the link until the session reports the final event of `req`
 * (its value, DONE or ERROR) within budget_ms of virtual time.  Returns
 * 0 with *ret filled, MIBAND_E_TIMEOUT when the budget ran out (a hang),
 * or the link's error.  Everything else is recorded in x.
 */
static int wait_final(struct lx *x, enum miband_request_type req,
		      struct miband_event *ret, uint64_t budget_ms)
{
	uint64_t until = miband_link_now(&x->l) + budget_ms;
	struct miband_link_output out;
	int r, guard = 0;

	for (;;) {
		if (++guard > 200000)
			return MIBAND_E_INTERNAL;
		r = miband_link_run(&x->l, until, &out);
		if (r < 0)
			return r;
		if (r == 0)
			return MIBAND_E_TIMEOUT;
		if (out.from_band) {
			record_band(x, &out.band);
			continue;
		}
		switch (out.client.type) {
		case MIBAND_EV_AUTH_PROGRESS:
			if ((unsigned)out.client.u.auth_step < 16)
				x->progress[out.client.u.auth_step]++;
			continue;
		case MIBAND_EV_HR:
			if (out.client.request != req) {
				x->hr_events++;
				x->last_bpm = out.client.u.bpm;
				continue;
			}
			break;
		case MIBAND_EV_STEPS:
			if (out.client.request != req) {
				x->steps_events++;
				continue;
			}
			break;
		case MIBAND_EV_DEVICE_EVENT:
			x->dev_events++;
			x->last_dev = out.client.u.device_event.code;
			if (out.client.request != req)
				continue;
			break;
		case MIBAND_EV_FETCH_START:
			if (!x->fetch_starts++)
				x->fetch_first = out.client.u.fetch.first;
			x->fetch_counts += out.client.u.fetch.count;
			continue;
		case MIBAND_EV_SAMPLES: {
			size_t n = out.client.u.samples.count;

			if (x->nsamples + n <= MAX_SAMPLES)
				memcpy(x->samples + 4 * x->nsamples,
				       out.client.u.samples.data, 4 * n);
			x->nsamples += n;
			continue;
		}
		case MIBAND_EV_FETCH_BATCH:
			x->batches++;
			if (x->store_batches)
				(void)miband_session_fetch_stored(
					&x->s, miband_link_now(&x->l));
			continue;
		default:
			break;
		}
		if (out.client.request != req &&
		    out.client.type != MIBAND_EV_ERROR)
			continue;
		*ret = out.client;
		return 0;
	}
}

/* ---- the auth matrix ---- */

enum outcome { OC_ACCEPT, OC_DECLINE, OC_NEVER, OC_WRONG_KEY, OC_NO_KEY };
enum mode { MD_PAIR, MD_STORED, MD_AUTO, MD_AUTO_FALLBACK };

static const char *const outcome_names[] = {"accept", "decline", "never",
					    "wrong-key", "no-key"};
static const char *const mode_names[] = {"pair", "stored", "auto",
					 "auto+fallback"};

/*
 * What the protocol says must happen (PROTOCOL.md 2, docs/PROTOCOL.md
 * part A): 0 = authenticated; else the error.  *ret_paired: a key was
 * set on the band.
 */
static int expected(enum mode md, enum outcome oc, bool *ret_paired)
{
	bool pairs = md == MD_PAIR;

	*ret_paired = false;
	switch (oc) {
	case OC_ACCEPT: /* the band holds our key and would accept a pairing */
		*ret_paired = pairs;
		return 0;
	case OC_DECLINE: /* no key; the wearer declines */
		if (md == MD_PAIR || md == MD_AUTO_FALLBACK)
			return MIBAND_E_PAIR_DECLINED;
		return MIBAND_E_RANDOM_FAILED;
	case OC_NEVER: /* no key; nobody taps */
		if (md == MD_PAIR || md == MD_AUTO_FALLBACK)
			return MIBAND_E_PAIR_TIMEOUT;
		return MIBAND_E_RANDOM_FAILED;
	case OC_WRONG_KEY: /* the band holds another key; taps accept */
		if (md == MD_STORED || md == MD_AUTO)
			return MIBAND_E_WRONG_KEY;
		*ret_paired = true;
		return 0;
	case OC_NO_KEY: /* no key; taps accept */
		if (md == MD_STORED || md == MD_AUTO)
			return MIBAND_E_RANDOM_FAILED;
		*ret_paired = true;
		return 0;
	}
	return MIBAND_E_INTERNAL;
}

static void auth_case(enum miband_model m, enum mode md, enum outcome oc)
{
	static struct lx x;
	struct miband_event ev;
	const uint8_t *band_key = NULL;
	enum miband_auth_mode am;
	bool paired;
	int want = expected(md, oc, &paired), r;
	uint8_t got[16];

	lx_config(&x, m);
	x.scfg.allow_pair_fallback = md == MD_AUTO_FALLBACK;
	switch (oc) {
	case OC_ACCEPT:
		band_key = key_s;
		break;
	case OC_DECLINE:
		x.bcfg.pairing = MIBAND_PAIRING_DECLINE;
		break;
	case OC_NEVER:
		/* The band's prompt outlives the client's patience. */
		x.bcfg.pairing = MIBAND_PAIRING_NEVER;
		x.bcfg.prompt_timeout_ms = x.scfg.pair_timeout_ms + 30000;
		break;
	case OC_WRONG_KEY:
		band_key = key_other;
		break;
	case OC_NO_KEY:
		break;
	}
	DO(lx_start(&x, key_s, band_key));
	am = md == MD_PAIR     ? MIBAND_AUTH_PAIR
	     : md == MD_STORED ? MIBAND_AUTH_STORED
			       : MIBAND_AUTH_AUTO;
	CHECK_EQ(miband_session_start_auth(&x.s, am, miband_link_now(&x.l)), 0);
	r = wait_final(&x, MIBAND_REQ_AUTH, &ev, 120000);
	if (r) {
		fprintf(stderr, "#   %s %s %s: wait %s\n", miband_model_name(m),
			mode_names[md], outcome_names[oc], miband_err_name(r));
		CHECK_EQ(r, 0);
	}
	if (want) {
		if (ev.type != MIBAND_EV_ERROR || ev.error != want)
			fprintf(stderr, "#   %s %s %s: got %s %s\n",
				miband_model_name(m), mode_names[md],
				outcome_names[oc], miband_event_name(ev.type),
				miband_err_name(ev.error));
		CHECK_EQ(ev.type, MIBAND_EV_ERROR);
		CHECK_EQ(ev.error, want);
		CHECK(!miband_session_is_authed(&x.s));
		CHECK(!miband_band_is_authed(&x.b));
		CHECK(!miband_session_is_busy(&x.s));
		if (oc == OC_WRONG_KEY) {
			CHECK_EQ(count_band(&x, MIBAND_BAND_EV_AUTH_FAILED), 1);
			CHECK_EQ(miband_band_get_key(&x.b, got), 0);
			CHECK_MEM(got, key_other, 16);
		} else {
			CHECK_EQ(miband_band_get_key(&x.b, got),
				 MIBAND_E_NO_KEY);
		}
		return;
	}
	if (ev.type != MIBAND_EV_AUTH_OK)
		fprintf(stderr, "#   %s %s %s: got %s %s\n",
			miband_model_name(m), mode_names[md], outcome_names[oc],
			miband_event_name(ev.type), miband_err_name(ev.error));
	CHECK_EQ(ev.type, MIBAND_EV_AUTH_OK);
	CHECK_EQ(ev.u.paired, paired);
	CHECK(miband_session_is_authed(&x.s));
	CHECK(miband_band_is_authed(&x.b));
	CHECK_EQ(count_band(&x, MIBAND_BAND_EV_AUTHED), 1);
	CHECK_EQ(count_band(&x, MIBAND_BAND_EV_PAIRED), paired ? 1 : 0);
	CHECK_EQ(count_band(&x, MIBAND_BAND_EV_PAIR_PROMPT), paired ? 1 : 0);
	CHECK_EQ(miband_band_get_key(&x.b, got), 0);
	CHECK_MEM(got, key_s, 16);
	/* The band keeps the link it authenticated. */
	CHECK_EQ(miband_band_deadline_ms(&x.b), UINT64_MAX);
}

TEST(auth_matrix)
{
	static const enum miband_model models[] = {
		MIBAND_MODEL_MB2, MIBAND_MODEL_MB3, MIBAND_MODEL_MB4};
	size_t mi;
	int md, oc;

	for (mi = 0; mi < 3; mi++)
		for (md = 0; md <= MD_AUTO_FALLBACK; md++)
			for (oc = 0; oc <= OC_NO_KEY; oc++) {
				auth_case(models[mi], (enum mode)md,
					  (enum outcome)oc);
				if (test__failed) {
					fprintf(stderr, "#   in %s %s %s\n",
						miband_model_name(models[mi]),
						mode_names[md],
						outcome_names[oc]);
					return;
				}
			}
}

/* The band drops a client that never authenticates; the session hears
 * of it and fails cleanly. */
TEST(unauth_drop_reaches_session)
{
	static struct lx x;
	struct miband_link_output out;
	int r, n = 0, errors = 0;

	lx_config(&x, MIBAND_MODEL_MB3);
	x.bcfg.unauth_drop_ms = 5000;
	DO(lx_start(&x, key_s, key_s));
	while ((r = miband_link_run(&x.l, 60000, &out)) > 0) {
		CHECK(++n < 100);
		if (out.from_band)
			record_band(&x, &out.band);
		else if (out.client.type == MIBAND_EV_ERROR)
			errors++;
	}
	CHECK_EQ(r, MIBAND_E_DISCONNECTED);
	CHECK_EQ(count_band(&x, MIBAND_BAND_EV_UNAUTH_DROP), 1);
	CHECK_EQ(miband_link_now(&x.l), 5000 + x.lcfg.latency_ms);
	CHECK(!miband_session_is_busy(&x.s));
	(void)errors;
	/* Auth on the dead link fails at once or with an error event,
	 * instead of hanging. */
	r = miband_session_start_auth(&x.s, MIBAND_AUTH_STORED,
				      miband_link_now(&x.l));
	if (r == 0) {
		struct miband_event ev;

		CHECK_EQ(wait_final(&x, MIBAND_REQ_AUTH, &ev, 60000), 0);
		CHECK_EQ(ev.type, MIBAND_EV_ERROR);
	} else {
		CHECK(r < 0);
	}
	CHECK(!miband_session_is_authed(&x.s));
}

/* ---- after auth ---- */

static void authed(struct lx *x, enum miband_model m)
{
	struct miband_event ev;

	lx_config(x, m);
	DO(lx_start(x, key_s, key_s));
	CHECK_EQ(miband_session_start_auth(&x->s, MIBAND_AUTH_STORED,
					   miband_link_now(&x->l)),
		 0);
	CHECK_EQ(wait_final(x, MIBAND_REQ_AUTH, &ev, 60000), 0);
	CHECK_EQ(ev.type, MIBAND_EV_AUTH_OK);
	CHECK(miband_band_is_authed(&x->b));
}

/* Lets packets still in flight land (a write command is done before the
 * band has seen it), recording what comes out. */
static int settle(struct lx *x)
{
	struct miband_link_output out;
	uint64_t until = miband_link_now(&x->l) + 4 * x->lcfg.latency_ms + 1;
	int r;

	while ((r = miband_link_run(&x->l, until, &out)) > 0) {
		if (out.from_band)
			record_band(x, &out.band);
		else if (out.client.type == MIBAND_EV_ERROR)
			return out.client.error;
	}
	return r;
}

static int request(struct lx *x, const struct miband_request *req,
		   struct miband_event *ev, uint64_t budget)
{
	int r = miband_session_request(&x->s, req, miband_link_now(&x->l));

	if (r)
		return r;
	r = wait_final(x, req->type, ev, budget);
	return r ? r : settle(x);
}

static void simple(struct lx *x, enum miband_request_type t,
		   struct miband_event *ev)
{
	struct miband_request req;

	memset(&req, 0, sizeof(req));
	req.type = t;
	CHECK_EQ(request(x, &req, ev, 30000), 0);
	if (ev->type == MIBAND_EV_ERROR)
		fprintf(stderr, "#   %s: %s\n", miband_request_name(t),
			miband_err_name(ev->error));
	CHECK(ev->type != MIBAND_EV_ERROR);
	CHECK_EQ(ev->request, t);
}

static void features(enum miband_model m)
{
	static struct lx x;
	struct miband_event ev;
	struct miband_request req;
	int64_t clock;
	uint8_t v[32];
	size_t n;
	int i;

	DO(authed(&x, m));

	/* Battery */
	miband_band_set_battery(&x.b, 57, true);
	DO(simple(&x, MIBAND_REQ_BATTERY, &ev));
	CHECK_EQ(ev.type, MIBAND_EV_BATTERY);
	CHECK_EQ(ev.u.battery.level, 57);
	CHECK(ev.u.battery.charging);

	/* Steps: what the history says for today at the band's clock. */
	DO(simple(&x, MIBAND_REQ_STEPS, &ev));
	CHECK_EQ(ev.type, MIBAND_EV_STEPS);
	clock = miband_band_clock(&x.b, miband_link_now(&x.l));
	CHECK(ev.u.steps.steps ==
		      miband_history_steps_today(x.bcfg.seed, clock, 0) ||
	      ev.u.steps.steps ==
		      miband_history_steps_today(x.bcfg.seed, clock - 1, 0));

	/* Time */
	DO(simple(&x, MIBAND_REQ_TIME_GET, &ev));
	CHECK_EQ(ev.type, MIBAND_EV_TIME);
	clock = miband_band_clock(&x.b, miband_link_now(&x.l));
	CHECK(miband_time_to_unix(&ev.u.time) <= clock &&
	      miband_time_to_unix(&ev.u.time) >= clock - 1);
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_TIME_SET;
	miband_time_from_unix(1577880000, 4, &req.u.time); /* 2020-01-01 */
	CHECK_EQ(request(&x, &req, &ev, 30000), 0);
	CHECK_EQ(ev.type, MIBAND_EV_DONE);
	CHECK(band_event(&x, MIBAND_BAND_EV_TIME_SET));
	clock = miband_band_clock(&x.b, miband_link_now(&x.l));
	CHECK(clock >= 1577880000 && clock <= 1577880001);
	CHECK_EQ(band_event(&x, MIBAND_BAND_EV_TIME_SET)->time.tz, 4);

	/* Device information: the same bytes the band serves. */
	for (i = 0; i < MIBAND_DEVINFO_COUNT; i++) {
		static const enum miband_channel chans[] = {
			MIBAND_CH_DIS_SERIAL, MIBAND_CH_DIS_HW_REV,
			MIBAND_CH_DIS_SW_REV, MIBAND_CH_DIS_SYSTEM_ID,
			MIBAND_CH_DIS_PNP_ID, MIBAND_CH_DEVICE_NAME,
		};

		memset(&req, 0, sizeof(req));
		req.type = MIBAND_REQ_DEVINFO;
		req.u.devinfo = (enum miband_devinfo)i;
		CHECK_EQ(request(&x, &req, &ev, 30000), 0);
		CHECK_EQ(ev.type, MIBAND_EV_DEVINFO);
		CHECK_EQ(ev.u.devinfo.field, i);
		CHECK_EQ(miband_band_read(&x.b, chans[i], 0, v, sizeof(v), &n),
			 0);
		CHECK_EQ(ev.u.devinfo.len, n);
		CHECK_MEM(ev.u.devinfo.value, v, n);
	}
	if (m == MIBAND_MODEL_MB3) {
		memset(&req, 0, sizeof(req));
		req.type = MIBAND_REQ_DEVINFO;
		req.u.devinfo = MIBAND_DEVINFO_SW_REV;
		CHECK_EQ(request(&x, &req, &ev, 30000), 0);
		CHECK_EQ(ev.u.devinfo.len, 9);
		CHECK_MEM(ev.u.devinfo.value, "V2.4.0.32", 9);
	}

	/* Heart rate, one shot: the value the band measured. */
	DO(simple(&x, MIBAND_REQ_HR_ONESHOT, &ev));
	CHECK_EQ(ev.type, MIBAND_EV_HR);
	CHECK_EQ(ev.u.bpm, x.b.last_bpm);
	CHECK(ev.u.bpm >= 50 && ev.u.bpm <= 150);

	/* Continuous, kept alive well past the band's own timeout. */
	x.hr_events = 0;
	DO(simple(&x, MIBAND_REQ_HR_START, &ev));
	CHECK_EQ(ev.type, MIBAND_EV_DONE);
	CHECK_EQ(count_band(&x, MIBAND_BAND_EV_HR_START), 1);
	{
		struct miband_link_output out;
		uint64_t until = miband_link_now(&x.l) +
				 3 * (uint64_t)x.bcfg.hr_continuous_ms;
		int r;

		while ((r = miband_link_run(&x.l, until, &out)) > 0) {
			if (out.from_band)
				record_band(&x, &out.band);
			else if (out.client.type == MIBAND_EV_HR)
				x.hr_events++;
			else
				CHECK(out.client.type != MIBAND_EV_ERROR);
		}
		CHECK_EQ(r, 0);
	}
	CHECK_EQ(count_band(&x, MIBAND_BAND_EV_HR_STOP), 0);
	CHECK(x.hr_events >= 3 * (int)x.bcfg.hr_continuous_ms / 1000 - 2);
	DO(simple(&x, MIBAND_REQ_HR_STOP, &ev));
	CHECK_EQ(ev.type, MIBAND_EV_DONE);
	CHECK_EQ(count_band(&x, MIBAND_BAND_EV_HR_STOP), 1);
	CHECK(!x.b.hr_continuous);

	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_HR_INTERVAL;
	req.u.minutes = 10;
	CHECK_EQ(request(&x, &req, &ev, 30000), 0);
	CHECK_EQ(ev.type, MIBAND_EV_DONE);
	CHECK_EQ(x.b.hr_interval, 10);

	/* Alerts, calls, texts */
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_ALERT;
	req.u.level = MIBAND_ALERT_VIBRATE;
	CHECK_EQ(request(&x, &req, &ev, 30000), 0);
	CHECK_EQ(ev.type, MIBAND_EV_DONE);
	CHECK(band_event(&x, MIBAND_BAND_EV_ALERT));
	CHECK_EQ(band_event(&x, MIBAND_BAND_EV_ALERT)->level,
		 MIBAND_ALERT_VIBRATE);

	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_CALL;
	req.u.text.data = "Alice";
	req.u.text.len = 5;
	CHECK_EQ(request(&x, &req, &ev, 30000), 0);
	CHECK_EQ(ev.type, MIBAND_EV_DONE);
	CHECK(band_event(&x, MIBAND_BAND_EV_CALL));
	CHECK_EQ(band_event(&x, MIBAND_BAND_EV_CALL)->len, 5);
	CHECK_MEM(band_event(&x, MIBAND_BAND_EV_CALL)->data, "Alice", 5);
	DO(simple(&x, MIBAND_REQ_CALL_STOP, &ev));
	CHECK(band_event(&x, MIBAND_BAND_EV_CALL_STOP));

	{
		static uint8_t msg[MIBAND_TEXT_MAX];
		int len = miband_encode_app_notification(
			msg, sizeof(msg), miband_text_limit(m),
			MIBAND_CATEGORY_SMS, 0, "Bob",
			"Dinner at eight? Bring the long story about the "
			"band emulator, and the cake.",
			NULL);

		/* Longer than one write, except on the MB2 (18 bytes). */
		CHECK(len > (m == MIBAND_MODEL_MB2 ? 0 : 20));
		memset(&req, 0, sizeof(req));
		req.type = MIBAND_REQ_TEXT;
		req.u.text.data = (const char *)msg;
		req.u.text.len = (size_t)len;
		CHECK_EQ(request(&x, &req, &ev, 30000), 0);
		CHECK_EQ(ev.type, MIBAND_EV_DONE);
		CHECK(band_event(&x, MIBAND_BAND_EV_TEXT));
		/* MB2: one New Alert with up to 18 bytes of text. */
		if (m == MIBAND_MODEL_MB2)
			CHECK(band_event(&x, MIBAND_BAND_EV_TEXT)->len > 0 &&
			      band_event(&x, MIBAND_BAND_EV_TEXT)->len <= 18);
		if (m != MIBAND_MODEL_MB2) {
			/* Chunked: the band reassembles the whole message. */
			CHECK_EQ(band_event(&x, MIBAND_BAND_EV_TEXT)->len,
				 (size_t)len);
			CHECK_MEM(band_event(&x, MIBAND_BAND_EV_TEXT)->data,
				  msg, (size_t)len);
		}
	}

	/* Configuration and user settings arrive byte for byte. */
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_CONFIG;
	req.u.raw.len = (uint8_t)miband_encode_config_date_display(
		req.u.raw.bytes, sizeof(req.u.raw.bytes), true);
	CHECK_EQ(request(&x, &req, &ev, 30000), 0);
	CHECK_EQ(ev.type, MIBAND_EV_DONE);
	CHECK(band_event(&x, MIBAND_BAND_EV_CONFIG));
	CHECK_EQ(band_event(&x, MIBAND_BAND_EV_CONFIG)->len, req.u.raw.len);
	CHECK_MEM(band_event(&x, MIBAND_BAND_EV_CONFIG)->data, req.u.raw.bytes,
		  req.u.raw.len);

	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_USER;
	req.u.raw.len = (uint8_t)miband_encode_step_goal(
		req.u.raw.bytes, sizeof(req.u.raw.bytes), 8000);
	CHECK_EQ(request(&x, &req, &ev, 30000), 0);
	CHECK_EQ(ev.type, MIBAND_EV_DONE);
	CHECK(band_event(&x, MIBAND_BAND_EV_USER));
	CHECK_EQ(band_event(&x, MIBAND_BAND_EV_USER)->len, req.u.raw.len);
	CHECK_MEM(band_event(&x, MIBAND_BAND_EV_USER)->data, req.u.raw.bytes,
		  req.u.raw.len);

	/* Device events */
	DO(simple(&x, MIBAND_REQ_EVENTS_FOLLOW, &ev));
	CHECK_EQ(ev.type, MIBAND_EV_DONE);
	x.dev_events = 0;
	CHECK_EQ(miband_band_emit_event(&x.b, MIBAND_DEV_FIND_PHONE_START, 0,
					miband_link_now(&x.l)),
		 0);
	{
		struct miband_link_output out;
		int r;

		while ((r = miband_link_run(&x.l, miband_link_now(&x.l) + 1000,
					    &out)) > 0)
			if (!out.from_band &&
			    out.client.type == MIBAND_EV_DEVICE_EVENT) {
				x.dev_events++;
				x.last_dev = out.client.u.device_event.code;
			}
		CHECK_EQ(r, 0);
	}
	CHECK_EQ(x.dev_events, 1);
	CHECK_EQ(x.last_dev, MIBAND_DEV_FIND_PHONE_START);
}

TEST(features_mb2)
{
	features(MIBAND_MODEL_MB2);
}

TEST(features_mb3)
{
	features(MIBAND_MODEL_MB3);
}

TEST(features_mb4)
{
	features(MIBAND_MODEL_MB4);
}

/* Requests before auth are refused locally, not sent. */
TEST(requests_need_auth)
{
	static struct lx x;
	struct miband_request req;

	lx_config(&x, MIBAND_MODEL_MB3);
	DO(lx_start(&x, key_s, key_s));
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_BATTERY;
	CHECK_EQ(miband_session_request(&x.s, &req, 0), MIBAND_E_NOT_AUTHED);
}

/* ---- history ---- */

/*
 * Fetches from minutes_back ago to now the way a client does: one round
 * per request, the next from the minute after the last sample, until a
 * round has nothing to send.  Every sample must be the band's history.
 */
static void fetch_case(enum miband_model m, uint32_t minutes_back)
{
	static struct lx x;
	struct miband_event ev;
	struct miband_request req;
	uint32_t first, end, i;
	int rounds = 0;
	size_t before;

	DO(authed(&x, m));
	first = (uint32_t)(miband_band_clock(&x.b, miband_link_now(&x.l)) /
			   60) -
		minutes_back;
	do {
		CHECK(++rounds < 10);
		before = x.nsamples;
		memset(&req, 0, sizeof(req));
		req.type = MIBAND_REQ_FETCH;
		miband_time_from_unix((int64_t)(first + x.nsamples) * 60, 0,
				      &req.u.time);
		CHECK_EQ(request(&x, &req, &ev, 600000), 0);
		if (ev.type == MIBAND_EV_ERROR)
			fprintf(stderr, "#   fetch: %s\n",
				miband_err_name(ev.error));
		CHECK_EQ(ev.type, MIBAND_EV_DONE);
		CHECK(x.nsamples - before <= x.bcfg.fetch_batch_max);
		if (rounds == 1) {
			CHECK_EQ(miband_time_to_unix(&x.fetch_first),
				 (int64_t)first * 60);
			/* A full batch when there is that much. */
			CHECK_EQ(x.nsamples,
				 minutes_back < x.bcfg.fetch_batch_max
					 ? minutes_back
					 : x.bcfg.fetch_batch_max);
		}
	} while (x.nsamples > before);
	CHECK_EQ(x.fetch_starts, rounds);
	CHECK_EQ(x.batches, rounds - 1);
	/* The band acknowledged each stored batch (fetch_ack). */
	if (x.scfg.fetch_ack)
		CHECK_EQ(count_band(&x, MIBAND_BAND_EV_FETCH_ACK), rounds - 1);
	end = (uint32_t)(miband_band_clock(&x.b, miband_link_now(&x.l)) / 60);
	/* Everything from the first minute to the last complete one. */
	CHECK(x.nsamples <= MAX_SAMPLES);
	CHECK_EQ(x.nsamples, end - first);
	CHECK_EQ(x.fetch_counts, x.nsamples);
	for (i = 0; i < x.nsamples; i++) {
		struct miband_sample s;

		miband_history_sample(x.bcfg.seed, first + i, &s);
		CHECK_EQ(x.samples[4 * i], s.kind);
		CHECK_EQ(x.samples[4 * i + 1], s.intensity);
		CHECK_EQ(x.samples[4 * i + 2], s.steps);
		CHECK_EQ(x.samples[4 * i + 3], s.heart_rate);
	}
}

TEST(fetch_full_batch_mb3)
{
	/* One full batch of 1440 and a second, shorter one. */
	fetch_case(MIBAND_MODEL_MB3, 1440 + 300);
}

TEST(fetch_mb2_mb4)
{
	fetch_case(MIBAND_MODEL_MB2, 200);
	if (test__failed)
		return;
	fetch_case(MIBAND_MODEL_MB4, 1440);
}

/* ---- faults ---- */

/* Every crypto or RNG call of either side fails in turn: the handshake
 * ends in AUTH_OK or a clean error, never a hang. */
static void crypto_failures(enum miband_model m, enum miband_auth_mode am,
			    bool fail_band)
{
	unsigned at;

	for (at = 1; at <= 12; at++) {
		static struct lx x;
		struct miband_event ev;
		struct miband_crypto_test *ct;
		int r;

		lx_config(&x, m);
		ct = fail_band ? &x.bct : &x.sct;
		ct->fail_at = at;
		DO(lx_start(&x, key_s, am == MIBAND_AUTH_PAIR ? NULL : key_s));
		CHECK_EQ(miband_session_start_auth(&x.s, am, 0), 0);
		r = wait_final(&x, MIBAND_REQ_AUTH, &ev, 120000);
		if (r == MIBAND_E_DISCONNECTED) {
			/* The band hung up on a stuck handshake; the session
			 * must have said so with an error first. */
			CHECK(!miband_session_is_busy(&x.s));
			CHECK(ct->calls >= at);
			continue;
		}
		CHECK_EQ(r, 0);
		if (ct->calls < at) {
			/* Nothing failed: a normal success. */
			CHECK_EQ(ev.type, MIBAND_EV_AUTH_OK);
			return;
		}
		CHECK_EQ(ev.type, MIBAND_EV_ERROR);
		CHECK(ev.error == MIBAND_E_CRYPTO || ev.error == MIBAND_E_RNG ||
		      ev.error == MIBAND_E_TIMEOUT);
		if (!fail_band)
			CHECK(ev.error != MIBAND_E_TIMEOUT);
		CHECK(!miband_session_is_authed(&x.s));
		CHECK(!miband_session_is_busy(&x.s));
	}
	CHECK(!"crypto calls never ran out");
}

TEST(crypto_failure_every_call_session)
{
	crypto_failures(MIBAND_MODEL_MB3, MIBAND_AUTH_STORED, false);
	if (test__failed)
		return;
	crypto_failures(MIBAND_MODEL_MB2, MIBAND_AUTH_PAIR, false);
	if (test__failed)
		return;
	crypto_failures(MIBAND_MODEL_MB4, MIBAND_AUTH_STORED, false);
}

TEST(crypto_failure_every_call_band)
{
	crypto_failures(MIBAND_MODEL_MB3, MIBAND_AUTH_STORED, true);
	if (test__failed)
		return;
	crypto_failures(MIBAND_MODEL_MB3, MIBAND_AUTH_PAIR, true);
	if (test__failed)
		return;
	crypto_failures(MIBAND_MODEL_MB4, MIBAND_AUTH_STORED, true);
}

/* Fault injection through the filter: drop the Nth packet, duplicate it,
 * or break the link there; the handshake always ends. */
struct fault {
	int target, seen;
	enum miband_link_verdict verdict;
};

static enum miband_link_verdict fault_filter(enum miband_link_dir dir, int kind,
					     enum miband_channel ch,
					     uint8_t *data, size_t *len,
					     void *user_data)
{
	struct fault *f = user_data;

	(void)dir;
	(void)kind;
	(void)ch;
	(void)data;
	(void)len;
	return ++f->seen == f->target ? f->verdict : MIBAND_LINK_PASS;
}

TEST(link_faults_every_packet)
{
	static const enum miband_link_verdict verdicts[] = {
		MIBAND_LINK_DROP,
		MIBAND_LINK_DUPLICATE,
		MIBAND_LINK_DISCONNECT,
	};
	size_t v;
	int target;

	for (v = 0; v < 3; v++) {
		for (target = 1; target < 40; target++) {
			static struct lx x;
			struct fault f = {target, 0, verdicts[v]};
			struct miband_event ev;
			int r;

			lx_config(&x, MIBAND_MODEL_MB3);
			x.lcfg.filter = fault_filter;
			x.lcfg.user_data = &f;
			DO(lx_start(&x, key_s, NULL));
			CHECK_EQ(miband_session_start_auth(&x.s,
							   MIBAND_AUTH_PAIR, 0),
				 0);
			r = wait_final(&x, MIBAND_REQ_AUTH, &ev, 200000);
			CHECK(r == 0 || r == MIBAND_E_DISCONNECTED);
			if (f.seen < target)
				break; /* fewer packets than the target */
			if (r == 0 && ev.type == MIBAND_EV_AUTH_OK)
				CHECK(miband_band_is_authed(&x.b));
			CHECK(!miband_session_is_busy(&x.s));
		}
		CHECK(target > 5);
	}
}

/* The trace hook sees both directions in time order with the latency. */
struct trace_log {
	int n;
	uint64_t last;
	bool ordered;
	int to_band, to_client;
	uint8_t first_write[20];
	size_t first_write_len;
	int secret, secret_answers; /* flagged secret; of them 03 answers */
};

static void trace_fn(enum miband_link_dir dir, int kind, enum miband_channel ch,
		     const uint8_t *data, size_t len, bool secret, uint64_t now,
		     void *user_data)
{
	struct trace_log *t = user_data;

	if (secret) {
		t->secret++;
		if (dir == MIBAND_LINK_TO_BAND && ch == MIBAND_CH_AUTH &&
		    len == 18 && (data[0] & 0x0f) == 0x03)
			t->secret_answers++;
	}
	if (now < t->last)
		t->ordered = false;
	t->last = now;
	t->n++;
	if (dir == MIBAND_LINK_TO_BAND) {
		t->to_band++;
		if (kind == MIBAND_ACTION_WRITE && !t->first_write_len &&
		    len <= sizeof(t->first_write)) {
			memcpy(t->first_write, data, len);
			t->first_write_len = len;
		}
	} else {
		t->to_client++;
	}
}

TEST(trace_sees_everything_in_order)
{
	static struct lx x;
	struct trace_log t;
	struct miband_event ev;

	memset(&t, 0, sizeof(t));
	t.ordered = true;
	lx_config(&x, MIBAND_MODEL_MB3);
	x.lcfg.trace = trace_fn;
	x.lcfg.user_data = &t;
	x.lcfg.latency_ms = 40;
	DO(lx_start(&x, key_s, key_s));
	CHECK_EQ(miband_session_start_auth(&x.s, MIBAND_AUTH_STORED, 0), 0);
	CHECK_EQ(wait_final(&x, MIBAND_REQ_AUTH, &ev, 60000), 0);
	CHECK_EQ(ev.type, MIBAND_EV_AUTH_OK);
	CHECK(t.ordered);
	CHECK_EQ((uint32_t)t.to_band, x.l.packets_to_band);
	CHECK_EQ((uint32_t)t.to_client, x.l.packets_to_client);
	/* subscribe, 02, 03 at least; each answered. */
	CHECK(t.to_band >= 3);
	CHECK(t.to_client >= 3);
	/* STORED starts with the random request, never a set-key. */
	CHECK(t.first_write_len >= 2);
	CHECK_EQ(t.first_write[0] & 0x0f, 0x02);
	/* The session's secret flag reaches the trace: the answer, only. */
	CHECK_EQ(t.secret, 1);
	CHECK_EQ(t.secret_answers, 1);
	/* Three round trips of 80 ms at least. */
	CHECK(miband_link_now(&x.l) >= 3 * 80);
}

/* The one redaction rule every trace and log uses (types.h). */
TEST(redact_rule)
{
	uint8_t p[20];

	memset(p, 0xaa, sizeof(p));
	p[0] = 0x01; /* set-key 01 00 <key> */
	p[1] = 0x00;
	CHECK_EQ(miband_redact_from(MIBAND_CH_AUTH, true, p, 18, false), 2);
	/* a longer set-key (more than the 16-byte key) too */
	CHECK_EQ(miband_redact_from(MIBAND_CH_AUTH, true, p, 19, false), 2);
	p[0] = 0x83; /* answer with crypt flags 83 08 <AES> */
	p[1] = 0x08;
	CHECK_EQ(miband_redact_from(MIBAND_CH_AUTH, true, p, 18, false), 2);
	/* the same bytes from the band are not key material */
	CHECK_EQ(miband_redact_from(MIBAND_CH_AUTH, false, p, 18, false), 18);
	p[0] = 0x02; /* random request: nothing secret */
	CHECK_EQ(miband_redact_from(MIBAND_CH_AUTH, true, p, 3, false), 3);
	p[0] = 0x00; /* old chunked, type 4: auth data */
	p[1] = 0xc4;
	p[2] = 0x00;
	CHECK_EQ(miband_redact_from(MIBAND_CH_CHUNKED, true, p, 20, false), 3);
	p[1] = 0xc0; /* type 0: a notification's text */
	CHECK_EQ(miband_redact_from(MIBAND_CH_CHUNKED, true, p, 20, false),
		 20);
	/* whatever the engine flagged secret, on any channel */
	CHECK_EQ(miband_redact_from(MIBAND_CH_CONFIG, true, p, 10, true), 2);
	CHECK_EQ(miband_redact_from(MIBAND_CH_CONFIG, true, p, 1, true), 1);
	CHECK_EQ(miband_redact_from(MIBAND_CH_AUTH, true, p, 0, true), 0);
	CHECK_EQ(miband_redact_from(MIBAND_CH_AUTH, true, NULL, 5, false), 0);
}

TEST(link_run_until_and_idle)
{
	static struct lx x;
	struct miband_link_output out;

	lx_config(&x, MIBAND_MODEL_MB3);
	x.bcfg.unauth_drop_ms = 0;
	DO(lx_start(&x, key_s, key_s));
	/* Nothing to do: returns 0 and time stays. */
	CHECK_EQ(miband_link_run(&x.l, 5000, &out), 0);
	CHECK_EQ(miband_link_now(&x.l), 0);
	/* With the drop timer, time advances to until_ms. */
	x.bcfg.unauth_drop_ms = 30000;
	DO(lx_start(&x, key_s, key_s));
	CHECK_EQ(miband_link_run(&x.l, 5000, &out), 0);
	CHECK_EQ(miband_link_now(&x.l), 5000);
	/* An explicit disconnect reaches both sides. */
	miband_link_disconnect(&x.l);
	while (miband_link_run(&x.l, UINT64_MAX, &out) > 0)
		;
	CHECK(!x.b.connected);
	CHECK_EQ(miband_link_run(&x.l, UINT64_MAX, &out),
		 MIBAND_E_DISCONNECTED);
	miband_link_reconnect(&x.l);
	CHECK(x.b.connected);
}

TEST_MAIN(T(auth_matrix), T(unauth_drop_reaches_session), T(features_mb2),
	  T(features_mb3), T(features_mb4), T(requests_need_auth),
	  T(fetch_full_batch_mb3), T(fetch_mb2_mb4),
	  T(crypto_failure_every_call_session),
	  T(crypto_failure_every_call_band), T(link_faults_every_packet),
	  T(trace_sees_everything_in_order), T(redact_rule),
	  T(link_run_until_and_idle))
