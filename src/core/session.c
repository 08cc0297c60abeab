/*
 * The client engine (include/miband/session.h): auth v1 in every variant
 * and every post-auth request, sans I/O.
 *
 * How it works
 *
 * Inputs (start_auth, request, on_notify, on_write_done, on_read,
 * on_timeout, on_disconnect) move a small state machine and push what
 * must happen next onto an action queue (s->q, MIBAND_ACTION_QUEUE
 * entries); next_action() pops it.  Nothing is ever called back.
 *
 * One request runs at a time: s->req.type is its kind (NONE when idle)
 * and s->state its step.  A request is a short list of steps, run by
 * run(): a step either issues one GATT operation (SUBSCRIBE, WRITE,
 * READ) and waits for its completion (F_WAIT_DONE), or waits for a
 * notification, or finishes the request with its one final event (a
 * value, DONE or ERROR).  A subscribe step is skipped when the channel is
 * already subscribed.  Auth (PROTOCOL.md 2) has its own steps: SUB, KEY
 * (set-key written, waiting for the tap), RAND and ANS; those advance on
 * the band's notifications, not on write completions.
 *
 * One GATT operation is in flight at a time.  An operation is marked in
 * flight when next_action() hands it out, and cleared by its completion.
 * A band may answer before the transport reports the write done (a
 * notification overtaking the ack); the engine then prepares the next
 * write at once but holds it at the head of the queue until the
 * completion arrives.  The queue is strictly FIFO, so events behind a
 * held write wait too.
 *
 * Data: writes are encoded into s->wbuf (one pending write at a time);
 * device information and history samples are copied into s->vbuf, so
 * event pointers never point into the caller's notification buffer.  A
 * key or an auth answer in wbuf is wiped on the next call after it was
 * handed out (F_WIPE) and whenever auth ends; the AES output lives on the
 * stack only for the moment it is encoded and is wiped there.
 *
 * Time: `now` comes with every input.  s->deadline bounds the running
 * step; s->hr_ping_at schedules the continuous-HR keep-alive, which is
 * sent only while the session is idle (deadline_ms() reports it then).
 * An operation still in flight when its request ends (the band answered
 * before the completion came, or the request was cancelled) is an
 * orphan: its completion, when it comes, only frees the way for the next
 * operation and never counts as the completion of a later request's
 * step; if it never comes, its deadline still stands, and the idle
 * session presumes it lost then.
 *
 * Failures: every error of a request is one MIBAND_EV_ERROR carrying the
 * request; the session returns to idle and stays usable.  Only a
 * disconnect (and an internal queue overflow, a bug) is fatal: the
 * session then emits its error event, drops everything else, answers
 * DONE forever and must be re-initialised.
 */
#include "miband/codec.h"
#include "miband/error.h"
#include "miband/session.h"

#include <string.h>

#define NEVER UINT64_MAX

/* The RAM budget on 32-bit targets (Cortex-M) with the default limits:
 * 512 bytes per session (352 with arm-none-eabi-gcc today). */
#if MIBAND_ACTION_QUEUE == 4 && MIBAND_WRITE_MAX == 20 && MIBAND_VALUE_MAX == 32
typedef char miband__session_fits
	[sizeof(void *) > 4 || sizeof(struct miband_session) <= 512 ? 1 : -1];
#endif

/* s->flags */
#define F_WAIT_DONE 0x01u /* the step advances on its op's completion */
#define F_WIPE 0x02u	  /* wbuf held a secret handed out last call */

/* s->inflight: what the outstanding operation is */
#define INF_SUB 1u
#define INF_WRITE 2u
#define INF_READ 3u
#define INF_OP 0x0fu	 /* which of the above */
#define INF_ORPHAN 0x40u /* its request has ended */
#define INF_PING 0x80u	 /* the HR keep-alive, not part of a request */

/* queued flags */
#define QF_RESPONSE 0x01u
#define QF_SECRET 0x02u
#define QF_PING 0x80u

/* auth steps (s->state while s->req.type == MIBAND_REQ_AUTH) */
enum { A_SUB = 0, A_KEY, A_RAND, A_ANS };

/* fetch steps */
enum {
	FS_SUB_CTL = 0,
	FS_SUB_DATA,
	FS_START,   /* start written */
	FS_WAIT,    /* waiting for 10 01 */
	FS_GO,	    /* 02 written */
	FS_DATA,    /* receiving */
	FS_STORED,  /* waiting for miband_session_fetch_stored() */
	FS_ACK,	    /* 03 written */
	FS_ACK_WAIT /* waiting for 10 03 */
};

/* ---- names ---- */

static const char *const request_names[MIBAND_REQ_COUNT] = {
	"none",	    "auth",	     "battery", "steps",      "steps-follow",
	"time-get", "time-set",	     "devinfo", "hr-oneshot", "hr-start",
	"hr-stop",  "hr-interval",   "alert",	"call",	      "call-stop",
	"text",	    "events-follow", "config",	"user",	      "fetch",
};

const char *miband_request_name(enum miband_request_type type)
{
	if ((unsigned)type >= MIBAND_REQ_COUNT)
		return "unknown";
	return request_names[type];
}

const char *miband_auth_step_name(enum miband_auth_step step)
{
	static const char *const names[] = {
		"subscribed",	    "key-sent",	       "key-accepted",
		"random-requested", "random-received", "answer-sent",
		"fallback-pair",
	};

	if (step < MIBAND_AUTH_STEP_SUBSCRIBED ||
	    step > MIBAND_AUTH_STEP_FALLBACK_PAIR)
		return "unknown";
	return names[step - MIBAND_AUTH_STEP_SUBSCRIBED];
}

const char *miband_event_name(enum miband_event_type type)
{
	static const char *const names[] = {
		"auth-progress", "auth-ok",	"done",
		"error",	 "battery",	"steps",
		"time",		 "devinfo",	"hr",
		"device-event",	 "fetch-start", "samples",
		"fetch-batch",
	};

	if (type < MIBAND_EV_AUTH_PROGRESS || type > MIBAND_EV_FETCH_BATCH)
		return "unknown";
	return names[type - MIBAND_EV_AUTH_PROGRESS];
}

/* ---- configuration ---- */

void miband_session_config_init(struct miband_session_config *cfg,
				enum miband_model model)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->model = model;
	cfg->auth_flags = -1;
	cfg->crypt_flags = -1;
	cfg->pair_timeout_ms = MIBAND_DEFAULT_PAIR_TIMEOUT_MS;
	cfg->reply_timeout_ms = MIBAND_DEFAULT_REPLY_TIMEOUT_MS;
	cfg->hr_timeout_ms = MIBAND_DEFAULT_HR_TIMEOUT_MS;
	cfg->hr_keepalive_ms = MIBAND_DEFAULT_HR_KEEPALIVE_MS;
	cfg->mtu = 23;
	cfg->fetch_ack = true;
	cfg->user_weight_x200 = true;
}

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

/* Largest value one write may carry. */
static size_t write_max(const struct miband_session *s)
{
	size_t m = (size_t)s->cfg.mtu - 3;

	return m < MIBAND_WRITE_MAX ? m : MIBAND_WRITE_MAX;
}

static uint64_t after(uint64_t now, uint32_t ms)
{
	return now > NEVER - ms ? NEVER : now + ms;
}

int miband_session_init(struct miband_session *s,
			const struct miband_session_config *cfg,
			const uint8_t *key)
{
	if (!s || !cfg || (unsigned)cfg->model >= MIBAND_MODEL_COUNT ||
	    cfg->auth_flags < -1 || cfg->auth_flags > 0xff ||
	    (cfg->crypt_flags != -1 && cfg->crypt_flags != 0x00 &&
	     cfg->crypt_flags != 0x80) ||
	    (cfg->mtu && cfg->mtu < 23))
		return MIBAND_E_INVAL;
	miband_wipe(s, sizeof(*s));
	s->cfg = *cfg;
	if (!s->cfg.mtu)
		s->cfg.mtu = 23;
	if (!s->cfg.pair_timeout_ms)
		s->cfg.pair_timeout_ms = MIBAND_DEFAULT_PAIR_TIMEOUT_MS;
	if (!s->cfg.reply_timeout_ms)
		s->cfg.reply_timeout_ms = MIBAND_DEFAULT_REPLY_TIMEOUT_MS;
	if (!s->cfg.hr_timeout_ms)
		s->cfg.hr_timeout_ms = MIBAND_DEFAULT_HR_TIMEOUT_MS;
	if (key) {
		memcpy(s->key, key, 16);
		s->has_key = 1;
	}
	s->req.type = MIBAND_REQ_NONE;
	s->deadline = NEVER;
	s->hr_ping_at = NEVER;
	return 0;
}

int miband_session_set_key(struct miband_session *s, const uint8_t key[16])
{
	if (!s || !key)
		return MIBAND_E_INVAL;
	if (s->req.type == MIBAND_REQ_AUTH)
		return MIBAND_E_BUSY;
	memcpy(s->key, key, 16);
	s->has_key = 1;
	return 0;
}

/* ---- the action queue ---- */

static bool is_op(uint8_t type)
{
	return type == MIBAND_ACTION_SUBSCRIBE ||
	       type == MIBAND_ACTION_UNSUBSCRIBE ||
	       type == MIBAND_ACTION_WRITE || type == MIBAND_ACTION_READ;
}

static struct miband__queued *q_at(struct miband_session *s, unsigned i)
{
	return &s->q[(s->qhead + i) % MIBAND_ACTION_QUEUE];
}

#if MIBAND_FEATURE_FETCH
static struct miband__queued *q_tail(struct miband_session *s)
{
	return s->qlen ? q_at(s, s->qlen - 1u) : NULL;
}
#endif

static bool q_has_op(const struct miband_session *s)
{
	unsigned i;

	for (i = 0; i < s->qlen; i++)
		if (is_op(s->q[(s->qhead + i) % MIBAND_ACTION_QUEUE].type))
			return true;
	return false;
}

/* Removes queued (not yet handed out) GATT operations, keeps events. */
static void q_drop_ops(struct miband_session *s)
{
	struct miband__queued keep[MIBAND_ACTION_QUEUE];
	unsigned i, n = 0;

	for (i = 0; i < s->qlen; i++)
		if (!is_op(q_at(s, i)->type))
			keep[n++] = *q_at(s, i);
	s->qhead = 0;
	s->qlen = (uint8_t)n;
	for (i = 0; i < n; i++)
		s->q[i] = keep[i];
}

static void go_fatal(struct miband_session *s, int err, bool disconnect);

static struct miband__queued *q_push(struct miband_session *s, uint8_t type)
{
	struct miband__queued *e;

	if (s->fatal)
		return NULL;
	if (s->qlen >= MIBAND_ACTION_QUEUE) {
		go_fatal(s, MIBAND_E_INTERNAL, true);
		return NULL;
	}
	e = &s->q[(s->qhead + s->qlen) % MIBAND_ACTION_QUEUE];
	s->qlen++;
	memset(e, 0, sizeof(*e));
	e->type = type;
	return e;
}

static struct miband_event *push_event(struct miband_session *s,
				       enum miband_event_type type,
				       enum miband_request_type req)
{
	struct miband__queued *e = q_push(s, MIBAND_ACTION_EVENT);

	if (!e)
		return NULL;
	e->event.type = type;
	e->event.request = req;
	return &e->event;
}

/* Unsolicited events are dropped rather than overflow the queue. */
static struct miband_event *push_unsolicited(struct miband_session *s,
					     enum miband_event_type type)
{
	if (s->qlen >= MIBAND_ACTION_QUEUE)
		return NULL;
	return push_event(s, type, MIBAND_REQ_NONE);
}

static void progress(struct miband_session *s, enum miband_auth_step step)
{
	struct miband_event *ev =
		push_event(s, MIBAND_EV_AUTH_PROGRESS, MIBAND_REQ_AUTH);

	if (ev)
		ev->u.auth_step = step;
}

static bool subscribed(const struct miband_session *s, enum miband_channel ch)
{
	return s->subscribed[ch / 8] & (1u << (ch % 8));
}

static void set_subscribed(struct miband_session *s, unsigned ch)
{
	if (ch < MIBAND_CH_COUNT)
		s->subscribed[ch / 8] =
			(uint8_t)(s->subscribed[ch / 8] | 1u << (ch % 8));
}

/* ---- ending requests ---- */

static void go_idle(struct miband_session *s)
{
	if (s->req.type == MIBAND_REQ_AUTH)
		miband_wipe(s->wbuf, sizeof(s->wbuf));
	s->req.type = MIBAND_REQ_NONE;
	s->state = 0;
	s->flags &= (uint8_t)~F_WAIT_DONE;
	if (s->inflight && !(s->inflight & INF_PING))
		s->inflight |= INF_ORPHAN;
	else
		s->deadline = NEVER;
}

/*
 * The request's final event (its value, or DONE); returns it to fill.
 * An operation of the request still held in the queue (the band answered
 * before it went out) goes with the request: sent later it would mix
 * into the next request, and the final event queued behind it would wait
 * for a completion that may never come, on an idle session that has no
 * deadline left to end the wait.
 */
static struct miband_event *finish(struct miband_session *s,
				   enum miband_event_type type)
{
	enum miband_request_type req = s->req.type;

	q_drop_ops(s);
	go_idle(s);
	return push_event(s, type, req);
}

static void fail(struct miband_session *s, int err)
{
	struct miband_event *ev;
	enum miband_request_type req = s->req.type;

	if (req == MIBAND_REQ_AUTH)
		s->authed = 0;
	q_drop_ops(s);
	go_idle(s);
	ev = push_event(s, MIBAND_EV_ERROR, req);
	if (ev)
		ev->error = err;
}

static void go_fatal(struct miband_session *s, int err, bool disconnect)
{
	struct miband__queued *e;
	enum miband_request_type req = s->req.type;

	if (s->fatal)
		return;
	s->fatal = 1;
	s->authed = 0;
	q_drop_ops(s);
	go_idle(s);
	miband_wipe(s->wbuf, sizeof(s->wbuf));
	s->hr_continuous = 0;
	s->hr_ping_at = NEVER;
	s->inflight = 0;
	/* Room for the error (and DISCONNECT): drop the oldest events. */
	while (s->qlen > MIBAND_ACTION_QUEUE - (disconnect ? 2 : 1)) {
		s->qhead = (uint8_t)((s->qhead + 1) % MIBAND_ACTION_QUEUE);
		s->qlen--;
	}
	e = &s->q[(s->qhead + s->qlen++) % MIBAND_ACTION_QUEUE];
	memset(e, 0, sizeof(*e));
	e->type = MIBAND_ACTION_EVENT;
	e->event.type = MIBAND_EV_ERROR;
	e->event.request = req;
	e->event.error = err;
	if (disconnect) {
		e = &s->q[(s->qhead + s->qlen++) % MIBAND_ACTION_QUEUE];
		memset(e, 0, sizeof(*e));
		e->type = MIBAND_ACTION_DISCONNECT;
		e->reason = (int16_t)err;
	}
}

/* ---- issuing operations ---- */

static void arm(struct miband_session *s, uint64_t now)
{
	s->deadline = after(now, s->cfg.reply_timeout_ms);
}

static bool op_subscribe(struct miband_session *s, enum miband_channel ch,
			 uint64_t now)
{
	struct miband__queued *e;

	if (subscribed(s, ch))
		return false; /* skip the step */
	e = q_push(s, MIBAND_ACTION_SUBSCRIBE);
	if (!e)
		return true;
	e->channel = (uint8_t)ch;
	s->flags |= F_WAIT_DONE;
	arm(s, now);
	return true;
}

/* Writes wbuf[0..len); the step then waits for the completion. */
static bool op_write(struct miband_session *s, enum miband_channel ch,
		     size_t len, bool response, bool secret, uint64_t now)
{
	struct miband__queued *e = q_push(s, MIBAND_ACTION_WRITE);

	if (!e)
		return true;
	e->channel = (uint8_t)ch;
	e->len = (uint8_t)len;
	e->flags = (uint8_t)((response ? QF_RESPONSE : 0u) |
			     (secret ? QF_SECRET : 0u));
	s->wlen = (uint8_t)len;
	s->flags |= F_WAIT_DONE;
	arm(s, now);
	return true;
}

static bool op_write_bytes(struct miband_session *s, enum miband_channel ch,
			   const uint8_t *b, size_t len, bool response,
			   uint64_t now)
{
	memcpy(s->wbuf, b, len);
	return op_write(s, ch, len, response, false, now);
}

static bool op_read(struct miband_session *s, enum miband_channel ch,
		    uint64_t now)
{
	struct miband__queued *e = q_push(s, MIBAND_ACTION_READ);

	if (!e)
		return true;
	e->channel = (uint8_t)ch;
	arm(s, now);
	return true;
}

/* A step that waits for a notification until now + ms (0: forever). */
static bool wait_notify(struct miband_session *s, uint64_t now, uint32_t ms)
{
	s->flags &= (uint8_t)~F_WAIT_DONE;
	s->deadline = ms ? after(now, ms) : NEVER;
	return true;
}

/* ---- auth (PROTOCOL.md 2) ---- */

static void auth_send_key(struct miband_session *s, uint64_t now)
{
	int n = miband_encode_auth_set_key(s->wbuf, sizeof(s->wbuf),
					   auth_flags(s), s->key);

	if (n < 0) {
		fail(s, MIBAND_E_INTERNAL);
		return;
	}
	s->state = A_KEY;
	op_write(s, MIBAND_CH_AUTH, (size_t)n, false, true, now);
	s->flags &= (uint8_t)~F_WAIT_DONE; /* advances on 10 01 xx */
	s->deadline = after(now, s->cfg.pair_timeout_ms);
	progress(s, MIBAND_AUTH_STEP_KEY_SENT);
}

static void auth_request_random(struct miband_session *s, uint64_t now)
{
	int n = miband_encode_auth_request_random(
		s->wbuf, sizeof(s->wbuf), auth_flags(s), crypt_flags(s));

	if (n < 0) {
		fail(s, MIBAND_E_INTERNAL);
		return;
	}
	s->state = A_RAND;
	op_write(s, MIBAND_CH_AUTH, (size_t)n, false, false, now);
	s->flags &= (uint8_t)~F_WAIT_DONE;
	progress(s, MIBAND_AUTH_STEP_RANDOM_REQUESTED);
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
		fail(s, MIBAND_E_CRYPTO);
		return;
	}
	n = miband_encode_auth_answer(s->wbuf, sizeof(s->wbuf), auth_flags(s),
				      crypt_flags(s), answer);
	miband_wipe(answer, sizeof(answer));
	if (n < 0) {
		fail(s, MIBAND_E_INTERNAL);
		return;
	}
	s->state = A_ANS;
	op_write(s, MIBAND_CH_AUTH, (size_t)n, false, true, now);
	s->flags &= (uint8_t)~F_WAIT_DONE;
	progress(s, MIBAND_AUTH_STEP_ANSWER_SENT);
}

/* AUTO mode may turn a missing or different key into a pairing, once. */
static bool auth_fallback(struct miband_session *s, uint64_t now)
{
	if (s->auth_mode != MIBAND_AUTH_AUTO || !s->cfg.allow_pair_fallback)
		return false;
	s->auth_mode = MIBAND_AUTH_PAIR;
	progress(s, MIBAND_AUTH_STEP_FALLBACK_PAIR);
	auth_send_key(s, now);
	return true;
}

static void auth_notify(struct miband_session *s, const uint8_t *data,
			size_t len, uint64_t now)
{
	static const uint8_t expect[] = {
		[A_SUB] = 0, [A_KEY] = 1, [A_RAND] = 2, [A_ANS] = 3};
	struct miband_auth_reply r;
	struct miband_event *ev;
	unsigned step;

	if (miband_decode_auth_reply(data, len, &r) < 0) {
		fail(s, MIBAND_E_MALFORMED);
		return;
	}
	step = r.cmd & 0x0fu;
	/* The Mi Band 4 announces itself with 10 01 81 ... after the CCCD
	 * write (PROTOCOL.md 2.4); it is no answer to anything we sent. */
	if (step == 1 && r.status == 0x81 && expect[s->state] != 1)
		return;
	if (step != expect[s->state]) {
		fail(s, MIBAND_E_UNEXPECTED);
		return;
	}
	switch (step) {
	case MIBAND_AUTH_CMD_SET_KEY:
		switch (r.status) {
		case MIBAND_AUTH_STATUS_OK:
			s->paired = 1;
			progress(s, MIBAND_AUTH_STEP_KEY_ACCEPTED);
			auth_request_random(s, now);
			return;
		case 0x02:
			fail(s, MIBAND_E_PAIR_DECLINED);
			return;
		case 0x04:
			fail(s, MIBAND_E_SETKEY_FAILED);
			return;
		}
		break;
	case MIBAND_AUTH_CMD_RANDOM:
		switch (r.status) {
		case MIBAND_AUTH_STATUS_OK:
			progress(s, MIBAND_AUTH_STEP_RANDOM_RECEIVED);
			auth_answer(s, r.payload, now);
			return;
		case 0x04:
			if (!auth_fallback(s, now))
				fail(s, MIBAND_E_RANDOM_FAILED);
			return;
		}
		break;
	case MIBAND_AUTH_CMD_ANSWER:
		switch (r.status) {
		case MIBAND_AUTH_STATUS_OK:
			s->authed = 1;
			ev = finish(s, MIBAND_EV_AUTH_OK);
			if (ev)
				ev->u.paired = s->paired;
			return;
		case 0x04:
			if (!auth_fallback(s, now))
				fail(s, MIBAND_E_WRONG_KEY);
			return;
		case 0x08:
			fail(s, MIBAND_E_AUTH_REJECTED);
			return;
		}
		break;
	}
	fail(s, MIBAND_E_AUTH_STATUS);
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
	s->state = A_SUB;
	/* Always (re-)enable the CCCD first: every client does. */
	e = q_push(s, MIBAND_ACTION_SUBSCRIBE);
	if (!e)
		return MIBAND_E_INTERNAL;
	e->channel = MIBAND_CH_AUTH;
	s->flags |= F_WAIT_DONE;
	arm(s, now);
	return 0;
}

static void auth_subscribed(struct miband_session *s, uint64_t now)
{
	progress(s, MIBAND_AUTH_STEP_SUBSCRIBED);
	if (s->auth_mode == MIBAND_AUTH_PAIR)
		auth_send_key(s, now);
	else
		auth_request_random(s, now);
}

/* ---- requests ---- */

static enum miband_channel devinfo_channel(enum miband_devinfo f)
{
	static const uint8_t map[MIBAND_DEVINFO_COUNT] = {
		[MIBAND_DEVINFO_SERIAL] = MIBAND_CH_DIS_SERIAL,
		[MIBAND_DEVINFO_HW_REV] = MIBAND_CH_DIS_HW_REV,
		[MIBAND_DEVINFO_SW_REV] = MIBAND_CH_DIS_SW_REV,
		[MIBAND_DEVINFO_SYSTEM_ID] = MIBAND_CH_DIS_SYSTEM_ID,
		[MIBAND_DEVINFO_PNP_ID] = MIBAND_CH_DIS_PNP_ID,
		[MIBAND_DEVINFO_NAME] = MIBAND_CH_DEVICE_NAME,
	};

	return (enum miband_channel)map[f];
}

/*
 * Mi Band 2 shows text through New Alert (SMS, 18 bytes of text): the
 * app-notification message [cat] 01 [icon] title 00 body 00 ... is turned
 * into "title\nbody" cut on a character boundary.  Writes the alert into
 * buf; returns its length or MIBAND_E_BAD_UTF8 / MIBAND_E_INVAL.
 */
#if MIBAND_FEATURE_TEXT
static int mb2_alert(const uint8_t *m, size_t len, uint8_t *buf, size_t cap)
{
	size_t off, t0, tlen, b0, blen, room, n;
	int t, b;

	if (len < 3 || cap < 3)
		return MIBAND_E_INVAL;
	off = m[0] == MIBAND_CATEGORY_CUSTOM ? 3 : 2;
	if (off > len)
		return MIBAND_E_INVAL;
	t0 = off;
	while (off < len && m[off])
		off++;
	tlen = off - t0;
	b0 = off < len ? off + 1 : len;
	off = b0;
	while (off < len && m[off])
		off++;
	blen = off - b0;
	if (blen == 1 && m[b0] == ' ')
		blen = 0; /* the placeholder for an empty body */
	room = cap - 2;
	buf[0] = MIBAND_CATEGORY_SMS;
	buf[1] = 0x01;
	t = miband_utf8_cut((const char *)m + t0, tlen, room);
	b = miband_utf8_cut((const char *)m + b0, blen, blen);
	if (t < 0 || b < 0)
		return MIBAND_E_BAD_UTF8;
	memcpy(buf + 2, m + t0, (size_t)t);
	n = 2 + (size_t)t;
	if ((size_t)t == tlen && blen && n + 1 < cap) {
		if (tlen)
			buf[n++] = '\n';
		b = miband_utf8_cut((const char *)m + b0, blen, cap - n);
		memcpy(buf + n, m + b0, (size_t)b);
		n += (size_t)b;
	}
	return (int)n;
}
#endif

/* Returns true when the step issued something or the request ended;
 * false when the step had nothing to do (run() goes on). */
static bool step(struct miband_session *s, uint64_t now)
{
	const struct miband_request *r = &s->req;
	uint8_t b[4];
	int n;

	switch (r->type) {
	case MIBAND_REQ_BATTERY:
		return op_read(s, MIBAND_CH_BATTERY, now);
	case MIBAND_REQ_STEPS:
		return op_read(s, MIBAND_CH_STEPS, now);
	case MIBAND_REQ_TIME_GET:
		return op_read(s, MIBAND_CH_TIME, now);
	case MIBAND_REQ_DEVINFO:
		return op_read(s, devinfo_channel(r->u.devinfo), now);
	case MIBAND_REQ_STEPS_FOLLOW:
	case MIBAND_REQ_EVENTS_FOLLOW:
		if (s->state == 0)
			return op_subscribe(s,
					    r->type == MIBAND_REQ_STEPS_FOLLOW
						    ? MIBAND_CH_STEPS
						    : MIBAND_CH_EVENTS,
					    now);
		break;
	case MIBAND_REQ_TIME_SET:
		if (s->state == 0) {
			n = miband_encode_time(s->wbuf, sizeof(s->wbuf),
					       &r->u.time);
			if (n < 0)
				break; /* validated by request() */
			return op_write(s, MIBAND_CH_TIME, (size_t)n, true,
					false, now);
		}
		break;
	case MIBAND_REQ_HR_ONESHOT:
		switch (s->state) {
		case 0:
			return op_subscribe(s, MIBAND_CH_HR_MEAS, now);
		case 1: /* stops continuous mode */
			s->hr_continuous = 0;
			s->hr_ping_at = NEVER;
			b[0] = 0x15, b[1] = 0x01, b[2] = 0x00;
			return op_write_bytes(s, MIBAND_CH_HR_CTL, b, 3, true,
					      now);
		case 2:
			b[0] = 0x15, b[1] = 0x02, b[2] = 0x00;
			return op_write_bytes(s, MIBAND_CH_HR_CTL, b, 3, true,
					      now);
		case 3:
			b[0] = 0x15, b[1] = 0x02, b[2] = 0x01;
			return op_write_bytes(s, MIBAND_CH_HR_CTL, b, 3, true,
					      now);
		case 4:
			return wait_notify(s, now, s->cfg.hr_timeout_ms);
		}
		break;
	case MIBAND_REQ_HR_START:
		switch (s->state) {
		case 0:
			return op_subscribe(s, MIBAND_CH_HR_MEAS, now);
		case 1:
			b[0] = 0x15, b[1] = 0x02, b[2] = 0x00;
			return op_write_bytes(s, MIBAND_CH_HR_CTL, b, 3, true,
					      now);
		case 2:
			b[0] = 0x15, b[1] = 0x01, b[2] = 0x01;
			return op_write_bytes(s, MIBAND_CH_HR_CTL, b, 3, true,
					      now);
		}
		s->hr_continuous = 1;
		s->hr_ping_at = s->cfg.hr_keepalive_ms
					? after(now, s->cfg.hr_keepalive_ms)
					: NEVER;
		break;
	case MIBAND_REQ_HR_STOP:
		if (s->state == 0) {
			b[0] = 0x15, b[1] = 0x01, b[2] = 0x00;
			return op_write_bytes(s, MIBAND_CH_HR_CTL, b, 3, true,
					      now);
		}
		s->hr_continuous = 0;
		s->hr_ping_at = NEVER;
		break;
	case MIBAND_REQ_HR_INTERVAL:
		if (s->state == 0) {
			b[0] = 0x14, b[1] = r->u.minutes;
			return op_write_bytes(s, MIBAND_CH_HR_CTL, b, 2, true,
					      now);
		}
		break;
	case MIBAND_REQ_ALERT:
		if (s->state == 0)
			return op_write_bytes(s, MIBAND_CH_ALERT, &r->u.level,
					      1, false, now);
		break;
#if MIBAND_FEATURE_TEXT
	case MIBAND_REQ_CALL:
		if (s->state == 0) {
			n = miband_encode_new_alert(
				s->wbuf, write_max(s), MIBAND_CATEGORY_CALL, 1,
				r->u.text.data, r->u.text.len);
			if (n < 0)
				break;
			return op_write(s, MIBAND_CH_NEW_ALERT, (size_t)n, true,
					false, now);
		}
		break;
	case MIBAND_REQ_CALL_STOP:
		if (s->state == 0) {
			b[0] = MIBAND_CATEGORY_CALL, b[1] = 0x00;
			return op_write_bytes(s, MIBAND_CH_NEW_ALERT, b, 2,
					      true, now);
		}
		break;
	case MIBAND_REQ_TEXT:
		if (s->cfg.model == MIBAND_MODEL_MB2) {
			if (s->state != 0)
				break;
			n = mb2_alert((const uint8_t *)r->u.text.data,
				      r->u.text.len, s->wbuf, write_max(s));
			if (n < 0)
				break;
			return op_write(s, MIBAND_CH_NEW_ALERT, (size_t)n, true,
					false, now);
		} else {
			size_t cmax = write_max(s) - 3;

			if (s->state >= miband_chunk_count(r->u.text.len, cmax))
				break;
			s->chunk_index = s->state;
			n = miband_encode_chunk(s->wbuf, sizeof(s->wbuf), 0,
						(const uint8_t *)r->u.text.data,
						r->u.text.len, s->state, cmax);
			if (n < 0)
				break;
			return op_write(s, MIBAND_CH_CHUNKED, (size_t)n, false,
					false, now);
		}
		break;
#endif
	case MIBAND_REQ_CONFIG:
		switch (s->state) {
		case 0:
			return op_subscribe(s, MIBAND_CH_CONFIG, now);
		case 1:
			return op_write_bytes(s, MIBAND_CH_CONFIG,
					      r->u.raw.bytes, r->u.raw.len,
					      false, now);
		case 2:
			return wait_notify(s, now, s->cfg.reply_timeout_ms);
		}
		break;
	case MIBAND_REQ_USER:
		if (s->state == 0)
			return op_write_bytes(s, MIBAND_CH_USER, r->u.raw.bytes,
					      r->u.raw.len, true, now);
		break;
#if MIBAND_FEATURE_FETCH
	case MIBAND_REQ_FETCH:
		switch (s->state) {
		case FS_SUB_CTL:
			return op_subscribe(s, MIBAND_CH_FETCH_CTL, now);
		case FS_SUB_DATA:
			return op_subscribe(s, MIBAND_CH_FETCH_DATA, now);
		case FS_START:
			n = miband_encode_fetch_start(
				s->wbuf, sizeof(s->wbuf),
				MIBAND_FETCH_TYPE_ACTIVITY, &r->u.time);
			if (n < 0)
				break;
			return op_write(s, MIBAND_CH_FETCH_CTL, (size_t)n,
					false, false, now);
		case FS_WAIT:
		case FS_DATA:
		case FS_ACK_WAIT:
			return wait_notify(s, now, s->cfg.reply_timeout_ms);
		case FS_GO:
			b[0] = 0x02;
			return op_write_bytes(s, MIBAND_CH_FETCH_CTL, b, 1,
					      false, now);
		case FS_STORED:
			return wait_notify(s, now, 0);
		case FS_ACK:
			if (!s->cfg.fetch_ack)
				break;
			b[0] = 0x03;
			return op_write_bytes(s, MIBAND_CH_FETCH_CTL, b, 1,
					      false, now);
		}
		break;
#endif
	default:
		break;
	}
	/* No step left (or an encoder refused what request() accepted,
	 * which cannot happen): the request is done. */
	finish(s, MIBAND_EV_DONE);
	return true;
}

static void run(struct miband_session *s, uint64_t now)
{
	while (s->req.type != MIBAND_REQ_NONE && !s->fatal && !step(s, now))
		s->state++;
}

/* Moves past a step whose operation completed. */
static void advance(struct miband_session *s, uint64_t now)
{
	s->flags &= (uint8_t)~F_WAIT_DONE;
	if (s->req.type == MIBAND_REQ_AUTH) {
		if (s->state == A_SUB)
			auth_subscribed(s, now);
		return;
	}
	s->state++;
	run(s, now);
}

static int check_request(const struct miband_session *s,
			 const struct miband_request *r)
{
	switch (r->type) {
	case MIBAND_REQ_BATTERY:
	case MIBAND_REQ_STEPS:
	case MIBAND_REQ_STEPS_FOLLOW:
	case MIBAND_REQ_TIME_GET:
	case MIBAND_REQ_HR_ONESHOT:
	case MIBAND_REQ_HR_START:
	case MIBAND_REQ_HR_STOP:
	case MIBAND_REQ_HR_INTERVAL:
		return 0;
	case MIBAND_REQ_CALL_STOP:
		return MIBAND_FEATURE_TEXT ? 0 : MIBAND_E_UNSUPPORTED;
	case MIBAND_REQ_EVENTS_FOLLOW:
		return MIBAND_FEATURE_EVENTS ? 0 : MIBAND_E_UNSUPPORTED;
	case MIBAND_REQ_TIME_SET:
		return miband_time_valid(&r->u.time);
	case MIBAND_REQ_FETCH:
		if (!MIBAND_FEATURE_FETCH)
			return MIBAND_E_UNSUPPORTED;
		return miband_time_valid(&r->u.time);
	case MIBAND_REQ_DEVINFO:
		return (unsigned)r->u.devinfo < MIBAND_DEVINFO_COUNT
			       ? 0
			       : MIBAND_E_INVAL;
	case MIBAND_REQ_ALERT:
		return r->u.level <= MIBAND_ALERT_VIBRATE ? 0 : MIBAND_E_INVAL;
#if MIBAND_FEATURE_TEXT
	case MIBAND_REQ_CALL: {
		int n;

		if (!r->u.text.data && r->u.text.len)
			return MIBAND_E_INVAL;
		n = miband_utf8_cut(r->u.text.data, r->u.text.len, 0);
		return n < 0 ? n : 0;
	}
	case MIBAND_REQ_TEXT: {
		uint8_t tmp[MIBAND_WRITE_MAX];
		int n;

		if (!r->u.text.data || r->u.text.len < 3)
			return MIBAND_E_INVAL;
		if (s->cfg.model == MIBAND_MODEL_MB2) {
			n = mb2_alert((const uint8_t *)r->u.text.data,
				      r->u.text.len, tmp, write_max(s));
			return n < 0 ? n : 0;
		}
		return r->u.text.len <= miband_text_limit(s->cfg.model)
			       ? 0
			       : MIBAND_E_INVAL;
	}
#else
	case MIBAND_REQ_CALL:
	case MIBAND_REQ_TEXT:
		return MIBAND_E_UNSUPPORTED;
#endif
	case MIBAND_REQ_CONFIG:
	case MIBAND_REQ_USER:
		return r->u.raw.len >= 1 && r->u.raw.len <= write_max(s)
			       ? 0
			       : MIBAND_E_INVAL;
	default:
		return MIBAND_E_INVAL;
	}
}

int miband_session_request(struct miband_session *s,
			   const struct miband_request *req, uint64_t now)
{
	int r;

	if (!s || !req)
		return MIBAND_E_INVAL;
	if (s->fatal)
		return MIBAND_E_STATE;
	if (!s->authed)
		return MIBAND_E_NOT_AUTHED;
	if (s->req.type != MIBAND_REQ_NONE)
		return MIBAND_E_BUSY;
	r = check_request(s, req);
	if (r < 0)
		return r;
	s->req = *req;
	s->state = 0;
	s->flags &= (uint8_t)~F_WAIT_DONE;
	s->fetch_counter = 0;
	s->fetch_index = 0;
	s->chunk_index = 0;
	run(s, now);
	return 0;
}

int miband_session_fetch_stored(struct miband_session *s, uint64_t now)
{
	if (!s)
		return MIBAND_E_INVAL;
	if (s->fatal || s->req.type != MIBAND_REQ_FETCH ||
	    s->state != FS_STORED)
		return MIBAND_E_STATE;
	s->state = FS_ACK;
	run(s, now);
	return 0;
}

int miband_session_cancel(struct miband_session *s, uint64_t now)
{
	(void)now;
	if (!s)
		return MIBAND_E_INVAL;
	if (s->fatal || s->req.type == MIBAND_REQ_NONE)
		return MIBAND_E_STATE;
	fail(s, MIBAND_E_CANCELLED);
	return 0;
}

/* ---- inputs ---- */

/* Every input starts here: a secret handed out last call is wiped. */
static void enter(struct miband_session *s)
{
	if (s->flags & F_WIPE) {
		miband_wipe(s->wbuf, sizeof(s->wbuf));
		s->flags &= (uint8_t)~F_WIPE;
	}
}

#if MIBAND_FEATURE_FETCH
static void fetch_ctl(struct miband_session *s, const uint8_t *data, size_t len,
		      uint64_t now)
{
	struct miband_fetch_reply f;
	struct miband_event *ev;

	if (miband_decode_fetch_reply(data, len, &f) < 0) {
		fail(s, MIBAND_E_MALFORMED);
		return;
	}
	if (f.cmd == 0x01 && (s->state == FS_START || s->state == FS_WAIT)) {
		if (f.status != 0x01) {
			fail(s, MIBAND_E_FETCH_STATUS);
			return;
		}
		ev = push_event(s, MIBAND_EV_FETCH_START, MIBAND_REQ_FETCH);
		if (!ev)
			return;
		ev->u.fetch.count = f.count;
		ev->u.fetch.first = f.first;
		if (f.count == 0) {
			finish(s, MIBAND_EV_DONE);
			return;
		}
		s->state = FS_GO;
		s->flags &= (uint8_t)~F_WAIT_DONE;
		run(s, now);
	} else if (f.cmd == 0x02 &&
		   (s->state == FS_GO || s->state == FS_DATA)) {
		if (f.status != 0x01) {
			fail(s, MIBAND_E_FETCH_STATUS);
			return;
		}
		if (!push_event(s, MIBAND_EV_FETCH_BATCH, MIBAND_REQ_FETCH))
			return;
		s->state = FS_STORED;
		wait_notify(s, now, 0);
	} else if (f.cmd == 0x03 &&
		   (s->state == FS_ACK || s->state == FS_ACK_WAIT)) {
		if (f.status != 0x01)
			fail(s, MIBAND_E_FETCH_STATUS);
		else
			finish(s, MIBAND_EV_DONE);
	} else if ((f.cmd == 0x01 && s->state > FS_WAIT) ||
		   (f.cmd == 0x02 && s->state >= FS_STORED)) {
		/* A repeat of a reply already handled: harmless, and the
		 * batch may be half stored, so do not abort for it. */
	} else {
		fail(s, MIBAND_E_UNEXPECTED);
	}
}

static void fetch_data(struct miband_session *s, const uint8_t *data,
		       size_t len, uint64_t now)
{
	struct miband__queued *tail = q_tail(s), *pending = NULL;
	struct miband_event *ev;
	unsigned i;
	const uint8_t *p;
	uint8_t counter;
	size_t bytes;
	int n;

	n = miband_decode_fetch_packet(data, len, &counter, &p);
	if (n < 0) {
		fail(s, MIBAND_E_FETCH_SHORT);
		return;
	}
	if (counter != s->fetch_counter) {
		fail(s, MIBAND_E_FETCH_GAP);
		return;
	}
	bytes = (size_t)n * MIBAND_SAMPLE_LEN;
	for (i = 0; i < s->qlen; i++)
		if (q_at(s, i)->type == MIBAND_ACTION_EVENT &&
		    q_at(s, i)->event.type == MIBAND_EV_SAMPLES)
			pending = q_at(s, i);
	if (pending && pending == tail && s->vlen + bytes <= sizeof(s->vbuf)) {
		/* The previous packet was not collected yet: extend its
		 * event rather than overwrite the buffer it points to. */
		memcpy(s->vbuf + s->vlen, p, bytes);
		s->vlen = (uint8_t)(s->vlen + bytes);
		tail->event.u.samples.count += (size_t)n;
	} else if (pending || bytes > sizeof(s->vbuf)) {
		fail(s, MIBAND_E_NOSPACE);
		return;
	} else {
		memcpy(s->vbuf, p, bytes);
		s->vlen = (uint8_t)bytes;
		ev = push_event(s, MIBAND_EV_SAMPLES, MIBAND_REQ_FETCH);
		if (!ev)
			return;
		ev->u.samples.data = s->vbuf;
		ev->u.samples.count = (size_t)n;
		ev->u.samples.index = s->fetch_index;
	}
	s->fetch_counter++;
	s->fetch_index += (uint32_t)n;
	if (s->state == FS_DATA)
		arm(s, now);
}
#endif

void miband_session_on_notify(struct miband_session *s, enum miband_channel ch,
			      const uint8_t *data, size_t len, uint64_t now)
{
	enum miband_request_type rt;
	struct miband_event *ev;
	union {
		struct miband_steps steps;
		struct miband_device_event dev;
	} v;
	uint8_t bpm, cmd, status;

	if (!s || s->fatal || (unsigned)ch >= MIBAND_CH_COUNT)
		return;
	enter(s);
	if (!data)
		len = 0;
	rt = s->req.type;
	switch (ch) {
	case MIBAND_CH_AUTH:
		if (rt == MIBAND_REQ_AUTH)
			auth_notify(s, data, len, now);
		break;
	case MIBAND_CH_HR_MEAS:
		if (rt == MIBAND_REQ_HR_ONESHOT && s->state >= 3) {
			if (miband_decode_hr(data, len, &bpm) < 0) {
				fail(s, MIBAND_E_MALFORMED);
				break;
			}
			ev = finish(s, MIBAND_EV_HR);
			if (ev)
				ev->u.bpm = bpm;
		} else if (s->hr_continuous &&
			   miband_decode_hr(data, len, &bpm) == 0) {
			ev = push_unsolicited(s, MIBAND_EV_HR);
			if (ev)
				ev->u.bpm = bpm;
		}
		break;
	case MIBAND_CH_STEPS:
		if (subscribed(s, ch) &&
		    miband_decode_steps(data, len, &v.steps) == 0) {
			ev = push_unsolicited(s, MIBAND_EV_STEPS);
			if (ev)
				ev->u.steps = v.steps;
		}
		break;
#if MIBAND_FEATURE_EVENTS
	case MIBAND_CH_EVENTS:
		if (subscribed(s, ch) &&
		    miband_decode_device_event(data, len, &v.dev) == 0) {
			ev = push_unsolicited(s, MIBAND_EV_DEVICE_EVENT);
			if (ev)
				ev->u.device_event = v.dev;
		}
		break;
#endif
	case MIBAND_CH_CONFIG:
		if (rt == MIBAND_REQ_CONFIG && s->state >= 1 &&
		    miband_decode_config_reply(data, len, &cmd, &status) == 0 &&
		    cmd == s->req.u.raw.bytes[0]) {
			if (status == 0x01)
				finish(s, MIBAND_EV_DONE);
			else
				fail(s, MIBAND_E_REJECTED);
		}
		break;
#if MIBAND_FEATURE_FETCH
	case MIBAND_CH_FETCH_CTL:
		if (rt == MIBAND_REQ_FETCH && s->state >= FS_START)
			fetch_ctl(s, data, len, now);
		break;
	case MIBAND_CH_FETCH_DATA:
		if (rt == MIBAND_REQ_FETCH &&
		    (s->state == FS_GO || s->state == FS_DATA))
			fetch_data(s, data, len, now);
		break;
#endif
	default:
		break;
	}
}

void miband_session_on_write_done(struct miband_session *s,
				  enum miband_channel ch, int status,
				  uint64_t now)
{
	uint8_t kind;

	if (!s || s->fatal)
		return;
	enter(s);
	if (!s->inflight || (s->inflight & INF_OP) == INF_READ ||
	    s->inflight_ch != (uint8_t)ch)
		return; /* not the operation we are waiting for */
	kind = s->inflight;
	s->inflight = 0;
	if (s->req.type == MIBAND_REQ_NONE)
		s->deadline = NEVER;
	if (kind & INF_ORPHAN) {
		if ((kind & INF_OP) == INF_SUB && status >= 0)
			set_subscribed(s, ch);
		return; /* of an ended request: the next op may go */
	}
	if (kind & INF_PING) {
		struct miband_event *ev;

		if (status < 0 && (ev = push_unsolicited(s, MIBAND_EV_ERROR)))
			ev->error = MIBAND_E_WRITE_FAILED;
		return;
	}
	if (s->req.type == MIBAND_REQ_NONE)
		return; /* the request already ended (timeout, cancel) */
	if (status < 0) {
		fail(s, kind == INF_SUB ? MIBAND_E_SUBSCRIBE_FAILED
					: MIBAND_E_WRITE_FAILED);
		return;
	}
	if (kind == INF_SUB)
		set_subscribed(s, ch);
	if (s->flags & F_WAIT_DONE)
		advance(s, now);
}

void miband_session_on_read(struct miband_session *s, enum miband_channel ch,
			    int status, const uint8_t *data, size_t len,
			    uint64_t now)
{
	struct miband_event *ev;
	union {
		struct miband_battery battery;
		struct miband_steps steps;
		struct miband_time time;
	} v;
	int r = MIBAND_E_MALFORMED;
	uint8_t orphan;

	(void)now;
	if (!s || s->fatal)
		return;
	enter(s);
	if ((s->inflight & INF_OP) != INF_READ ||
	    s->inflight_ch != (uint8_t)ch)
		return;
	orphan = s->inflight & INF_ORPHAN;
	s->inflight = 0;
	if (s->req.type == MIBAND_REQ_NONE)
		s->deadline = NEVER;
	if (orphan || s->req.type == MIBAND_REQ_NONE)
		return;
	if (status < 0) {
		fail(s, MIBAND_E_READ_FAILED);
		return;
	}
	if (!data)
		len = 0;
	switch (s->req.type) {
	case MIBAND_REQ_BATTERY:
		r = miband_decode_battery(data, len, &v.battery);
		if (r == 0 && (ev = finish(s, MIBAND_EV_BATTERY)))
			ev->u.battery = v.battery;
		break;
	case MIBAND_REQ_STEPS:
		r = miband_decode_steps(data, len, &v.steps);
		if (r == 0 && (ev = finish(s, MIBAND_EV_STEPS)))
			ev->u.steps = v.steps;
		break;
	case MIBAND_REQ_TIME_GET:
		r = miband_decode_time(data, len, &v.time);
		if (r == 0 && (ev = finish(s, MIBAND_EV_TIME)))
			ev->u.time = v.time;
		break;
	case MIBAND_REQ_DEVINFO: {
		enum miband_devinfo field = s->req.u.devinfo;

		s->vlen = (uint8_t)(len < sizeof(s->vbuf) ? len
							  : sizeof(s->vbuf));
		if (s->vlen)
			memcpy(s->vbuf, data, s->vlen);
		r = 0;
		ev = finish(s, MIBAND_EV_DEVINFO);
		if (ev) {
			ev->u.devinfo.field = field;
			ev->u.devinfo.value = s->vbuf;
			ev->u.devinfo.len = s->vlen;
		}
		break;
	}
	default:
		return;
	}
	if (r < 0)
		fail(s, MIBAND_E_MALFORMED);
}

void miband_session_on_disconnect(struct miband_session *s, uint64_t now)
{
	(void)now;
	if (!s || s->fatal)
		return;
	enter(s);
	go_fatal(s, MIBAND_E_DISCONNECTED, false);
}

void miband_session_on_timeout(struct miband_session *s, uint64_t now)
{
	if (!s || s->fatal)
		return;
	enter(s);
	if (s->req.type != MIBAND_REQ_NONE) {
		if (now < s->deadline)
			return;
		/* An operation that never completed is presumed lost. */
		s->inflight = 0;
		if (s->req.type == MIBAND_REQ_AUTH && s->state == A_KEY)
			fail(s, MIBAND_E_PAIR_TIMEOUT);
		else if (s->req.type == MIBAND_REQ_CONFIG && s->state == 2 &&
			 !s->cfg.config_reply_required)
			finish(s, MIBAND_EV_DONE);
		else
			fail(s, MIBAND_E_TIMEOUT);
		return;
	}
	/* Idle: an orphan whose completion never came is presumed lost. */
	if (s->inflight & INF_ORPHAN) {
		if (now >= s->deadline) {
			s->inflight = 0;
			s->deadline = NEVER;
		}
		return;
	}
	/* Idle: the continuous heart-rate keep-alive. */
	if (s->hr_continuous && s->hr_ping_at != NEVER &&
	    now >= s->hr_ping_at && !s->inflight && !q_has_op(s)) {
		struct miband__queued *e = q_push(s, MIBAND_ACTION_WRITE);

		if (!e)
			return;
		s->wbuf[0] = 0x16;
		s->wlen = 1;
		e->channel = MIBAND_CH_HR_CTL;
		e->len = 1;
		e->flags = QF_RESPONSE | QF_PING;
		s->hr_ping_at = after(now, s->cfg.hr_keepalive_ms);
	}
}

/* ---- output ---- */

enum miband_action_type miband_session_next_action(struct miband_session *s,
						   struct miband_action *ret)
{
	struct miband__queued *e;

	if (!s || !ret)
		return MIBAND_ACTION_DONE;
	enter(s);
	memset(ret, 0, sizeof(*ret));
	ret->type = MIBAND_ACTION_DONE;
	if (!s->qlen)
		return MIBAND_ACTION_DONE;
	e = q_at(s, 0);
	if (is_op(e->type) && s->inflight)
		return MIBAND_ACTION_DONE; /* held until the completion */
	s->qhead = (uint8_t)((s->qhead + 1) % MIBAND_ACTION_QUEUE);
	s->qlen--;
	ret->type = (enum miband_action_type)e->type;
	ret->channel = (enum miband_channel)e->channel;
	ret->reason = e->reason;
	ret->event = e->event;
	switch (e->type) {
	case MIBAND_ACTION_WRITE:
		ret->data = s->wbuf;
		ret->len = e->len;
		ret->with_response = e->flags & QF_RESPONSE;
		ret->secret = e->flags & QF_SECRET;
		s->inflight = (uint8_t)(INF_WRITE |
					(e->flags & QF_PING ? INF_PING : 0u));
		s->inflight_ch = e->channel;
		if (e->flags & QF_SECRET)
			s->flags |= F_WIPE;
		break;
	case MIBAND_ACTION_SUBSCRIBE:
	case MIBAND_ACTION_UNSUBSCRIBE:
		s->inflight = INF_SUB;
		s->inflight_ch = e->channel;
		break;
	case MIBAND_ACTION_READ:
		s->inflight = INF_READ;
		s->inflight_ch = e->channel;
		break;
	default:
		break;
	}
	return ret->type;
}

uint64_t miband_session_deadline_ms(const struct miband_session *s)
{
	if (!s || s->fatal)
		return NEVER;
	if (s->req.type != MIBAND_REQ_NONE || (s->inflight & INF_ORPHAN))
		return s->deadline;
	if (s->hr_continuous && !s->inflight && !q_has_op(s))
		return s->hr_ping_at;
	return NEVER;
}

bool miband_session_is_authed(const struct miband_session *s)
{
	return s && s->authed;
}

bool miband_session_is_busy(const struct miband_session *s)
{
	return s && s->req.type != MIBAND_REQ_NONE;
}

void miband_session_wipe(struct miband_session *s)
{
	if (!s)
		return;
	/* All zero: no key, not authenticated, no crypto ops, so nothing
	 * works until miband_session_init() again. */
	miband_wipe(s, sizeof(*s));
}
