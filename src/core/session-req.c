/*
 * The client engine's requests other than auth (include/miband/session.h):
 * what each one writes, reads and waits for, and the loop that runs them.
 *
 * How it works: every request is a const table of steps
 * (struct miband__step, session-int.h), looked up by request type as
 * NimBLE's GATT client looks up its per-opcode handlers.  s->state is the
 * index of the running step.  miband__run() runs steps until one issues a
 * GATT operation or waits: a subscribe (skipped when the channel already
 * is), a read, a write of what the step's encoder put into s->wbuf, or a
 * wait for a notification with its deadline.  A completed operation moves
 * to the next step (miband__advance); the end of the table finishes the
 * request with DONE, unless a reply handler (a read value, a heart rate,
 * a config or fetch reply in session.c / session-fetch.c) finished it
 * first with its value.  Steps that others look at have names
 * (HR1_*, CFG_*, FS_* in session-int.h); the text request repeats its one
 * step once per chunk.
 *
 * Every byte written comes from the codec; requests are checked when they
 * are made (check_request), so an encoder cannot refuse later.
 */
#include "miband/codec.h"
#include "miband/error.h"
#include "miband/session.h"

#include <string.h>

#include "session-int.h"

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

/* ---- the step tables ---- */

/* What a write step encodes, or a STEP_DO does (struct miband__step.arg). */
enum {
	ENC_TIME = 1,
	ENC_RAW,
	ENC_ALERT,
	ENC_ONESHOT_STOP, /* stops continuous mode first */
	ENC_MANUAL_OFF,
	ENC_MANUAL_ON,
	ENC_CONTINUOUS_ON,
	ENC_CONTINUOUS_OFF,
	ENC_INTERVAL,
	ENC_CALL,
	ENC_CALL_STOP,
	ENC_TEXT_MB2,
	ENC_CHUNK,
	ENC_FETCH_START,
	ENC_FETCH_GO,
	ENC_FETCH_ACK,
	DO_HR_STARTED,
	DO_HR_STOPPED,
};

/* Where each request's steps start in the flat table below. */
enum {
	AT_BATTERY = 0,
	AT_STEPS = AT_BATTERY + 1,
	AT_STEPS_FOLLOW = AT_STEPS + 1,
	AT_TIME_GET = AT_STEPS_FOLLOW + 1,
	AT_TIME_SET = AT_TIME_GET + 1,
	AT_DEVINFO = AT_TIME_SET + 1,
	AT_HR_ONESHOT = AT_DEVINFO + 1,
	AT_HR_START = AT_HR_ONESHOT + HR1_WAIT + 1,
	AT_HR_STOP = AT_HR_START + 4,
	AT_HR_INTERVAL = AT_HR_STOP + 2,
	AT_ALERT = AT_HR_INTERVAL + 1,
	AT_CALL = AT_ALERT + 1,
	AT_CALL_STOP = AT_CALL + 1,
	AT_TEXT_MB2 = AT_CALL_STOP + 1,
	AT_TEXT = AT_TEXT_MB2 + 1,
	AT_EVENTS_FOLLOW = AT_TEXT + 1,
	AT_CONFIG = AT_EVENTS_FOLLOW + 1,
	AT_USER = AT_CONFIG + CFG_WAIT + 1,
	AT_FETCH = AT_USER + 1,
	AT_END = AT_FETCH + FS_ACK_WAIT + 1,
};

static const struct miband__step steps[AT_END] = {
	[AT_BATTERY] = {STEP_READ, MIBAND_CH_BATTERY, 0},
	[AT_STEPS] = {STEP_READ, MIBAND_CH_STEPS, 0},
	[AT_STEPS_FOLLOW] = {STEP_SUB, MIBAND_CH_STEPS, 0},
	[AT_TIME_GET] = {STEP_READ, MIBAND_CH_TIME, 0},
	[AT_TIME_SET] = {STEP_WRITE_RSP, MIBAND_CH_TIME, ENC_TIME},
	[AT_DEVINFO] = {STEP_READ_DEVINFO, 0, 0},
	[AT_HR_ONESHOT + HR1_SUB] = {STEP_SUB, MIBAND_CH_HR_MEAS, 0},
	[AT_HR_ONESHOT + HR1_STOP_CONTINUOUS] = {STEP_WRITE_RSP,
						 MIBAND_CH_HR_CTL,
						 ENC_ONESHOT_STOP},
	[AT_HR_ONESHOT + HR1_STOP_MANUAL] = {STEP_WRITE_RSP, MIBAND_CH_HR_CTL,
					     ENC_MANUAL_OFF},
	[AT_HR_ONESHOT +
		HR1_START] = {STEP_WRITE_RSP, MIBAND_CH_HR_CTL, ENC_MANUAL_ON},
	[AT_HR_ONESHOT + HR1_WAIT] = {STEP_WAIT, WAIT_HR, 0},
	[AT_HR_START] = {STEP_SUB, MIBAND_CH_HR_MEAS, 0},
	[AT_HR_START + 1] = {STEP_WRITE_RSP, MIBAND_CH_HR_CTL, ENC_MANUAL_OFF},
	[AT_HR_START + 2] = {STEP_WRITE_RSP, MIBAND_CH_HR_CTL,
			     ENC_CONTINUOUS_ON},
	[AT_HR_START + 3] = {STEP_DO, 0, DO_HR_STARTED},
	[AT_HR_STOP] = {STEP_WRITE_RSP, MIBAND_CH_HR_CTL, ENC_CONTINUOUS_OFF},
	[AT_HR_STOP + 1] = {STEP_DO, 0, DO_HR_STOPPED},
	[AT_HR_INTERVAL] = {STEP_WRITE_RSP, MIBAND_CH_HR_CTL, ENC_INTERVAL},
	[AT_ALERT] = {STEP_WRITE, MIBAND_CH_ALERT, ENC_ALERT},
	[AT_CALL] = {STEP_WRITE_RSP, MIBAND_CH_NEW_ALERT, ENC_CALL},
	[AT_CALL_STOP] = {STEP_WRITE_RSP, MIBAND_CH_NEW_ALERT, ENC_CALL_STOP},
	[AT_TEXT_MB2] = {STEP_WRITE_RSP, MIBAND_CH_NEW_ALERT, ENC_TEXT_MB2},
	[AT_TEXT] = {STEP_WRITE, MIBAND_CH_CHUNKED, ENC_CHUNK},
	[AT_EVENTS_FOLLOW] = {STEP_SUB, MIBAND_CH_EVENTS, 0},
	[AT_CONFIG + CFG_SUB] = {STEP_SUB, MIBAND_CH_CONFIG, 0},
	[AT_CONFIG + CFG_WRITE] = {STEP_WRITE, MIBAND_CH_CONFIG, ENC_RAW},
	[AT_CONFIG + CFG_WAIT] = {STEP_WAIT, WAIT_REPLY, 0},
	[AT_USER] = {STEP_WRITE_RSP, MIBAND_CH_USER, ENC_RAW},
	[AT_FETCH + FS_SUB_CTL] = {STEP_SUB, MIBAND_CH_FETCH_CTL, 0},
	[AT_FETCH + FS_SUB_DATA] = {STEP_SUB, MIBAND_CH_FETCH_DATA, 0},
	[AT_FETCH +
		FS_START] = {STEP_WRITE, MIBAND_CH_FETCH_CTL, ENC_FETCH_START},
	[AT_FETCH + FS_WAIT] = {STEP_WAIT, WAIT_REPLY, 0},
	[AT_FETCH + FS_GO] = {STEP_WRITE, MIBAND_CH_FETCH_CTL, ENC_FETCH_GO},
	[AT_FETCH + FS_DATA] = {STEP_WAIT, WAIT_REPLY, 0},
	[AT_FETCH + FS_STORED] = {STEP_WAIT, WAIT_FOREVER, 0},
	[AT_FETCH + FS_ACK] = {STEP_WRITE, MIBAND_CH_FETCH_CTL, ENC_FETCH_ACK},
	[AT_FETCH + FS_ACK_WAIT] = {STEP_WAIT, WAIT_REPLY, 0},
};

/* Each request's slice of steps[]; REPEAT: its last step runs until its
 * encoder has nothing left.  Auth has none: it advances on notifications. */
#define REPEAT 0x80u
static const struct {
	uint8_t at, n;
} defs[MIBAND_REQ_COUNT] = {
	[MIBAND_REQ_BATTERY] = {AT_BATTERY, 1},
	[MIBAND_REQ_STEPS] = {AT_STEPS, 1},
	[MIBAND_REQ_STEPS_FOLLOW] = {AT_STEPS_FOLLOW, 1},
	[MIBAND_REQ_TIME_GET] = {AT_TIME_GET, 1},
	[MIBAND_REQ_TIME_SET] = {AT_TIME_SET, 1},
	[MIBAND_REQ_DEVINFO] = {AT_DEVINFO, 1},
	[MIBAND_REQ_HR_ONESHOT] = {AT_HR_ONESHOT, AT_HR_START - AT_HR_ONESHOT},
	[MIBAND_REQ_HR_START] = {AT_HR_START, AT_HR_STOP - AT_HR_START},
	[MIBAND_REQ_HR_STOP] = {AT_HR_STOP, AT_HR_INTERVAL - AT_HR_STOP},
	[MIBAND_REQ_HR_INTERVAL] = {AT_HR_INTERVAL, 1},
	[MIBAND_REQ_ALERT] = {AT_ALERT, 1},
	[MIBAND_REQ_CALL] = {AT_CALL, 1},
	[MIBAND_REQ_CALL_STOP] = {AT_CALL_STOP, 1},
	[MIBAND_REQ_TEXT] = {AT_TEXT, 1 | REPEAT},
	[MIBAND_REQ_EVENTS_FOLLOW] = {AT_EVENTS_FOLLOW, 1},
	[MIBAND_REQ_CONFIG] = {AT_CONFIG, AT_USER - AT_CONFIG},
	[MIBAND_REQ_USER] = {AT_USER, 1},
	[MIBAND_REQ_FETCH] = {AT_FETCH, AT_END - AT_FETCH},
};

/* The step at s->state of the running request; NULL when none is left. */
static const struct miband__step *current_step(const struct miband_session *s)
{
	unsigned at, n;

	if ((unsigned)s->req.type >= MIBAND_REQ_COUNT)
		return NULL;
	at = defs[s->req.type].at;
	n = defs[s->req.type].n;
	if (s->req.type == MIBAND_REQ_TEXT && s->cfg.model == MIBAND_MODEL_MB2)
		at = AT_TEXT_MB2, n = 1; /* one New Alert, no chunks */
	if (s->state < (n & ~REPEAT))
		return &steps[at + s->state];
	return n & REPEAT ? &steps[at + (n & ~REPEAT) - 1u] : NULL;
}

static void hr_stopped(struct miband_session *s)
{
	s->hr_continuous = 0;
	s->hr_ping_at = NEVER;
}

/* Encodes what a write step writes into s->wbuf, or does a STEP_DO.
 * Returns the length; 0 or less when there is nothing (left) to write. */
static int encode(struct miband_session *s, uint8_t what, uint64_t now)
{
	const struct miband_request *r = &s->req;
	uint8_t *b = s->wbuf;
	size_t cap = sizeof(s->wbuf);

	switch (what) {
	case ENC_TIME:
		return miband_encode_time(b, cap, &r->u.time);
	case ENC_RAW:
		memcpy(b, r->u.raw.bytes, r->u.raw.len);
		return r->u.raw.len;
	case ENC_ALERT:
		return miband_encode_alert(b, cap, r->u.level);
	case ENC_ONESHOT_STOP:
		hr_stopped(s);
		return miband_encode_hr_control(
			b, cap, MIBAND_HR_MODE_CONTINUOUS, false);
	case ENC_MANUAL_OFF:
	case ENC_MANUAL_ON:
		return miband_encode_hr_control(b, cap, MIBAND_HR_MODE_MANUAL,
						what == ENC_MANUAL_ON);
	case ENC_CONTINUOUS_ON:
	case ENC_CONTINUOUS_OFF:
		return miband_encode_hr_control(b, cap,
						MIBAND_HR_MODE_CONTINUOUS,
						what == ENC_CONTINUOUS_ON);
	case ENC_INTERVAL:
		return miband_encode_hr_interval(b, cap, r->u.minutes);
	case DO_HR_STARTED:
		s->hr_continuous = 1;
		s->hr_ping_at =
			s->cfg.hr_keepalive_ms
				? miband__after(now, s->cfg.hr_keepalive_ms)
				: NEVER;
		return 0;
	case DO_HR_STOPPED:
		hr_stopped(s);
		return 0;
#if MIBAND_FEATURE_TEXT
	case ENC_CALL:
		return miband_encode_new_alert(b, miband__write_max(s),
					       MIBAND_CATEGORY_CALL, 1,
					       r->u.text.data, r->u.text.len);
	case ENC_CALL_STOP:
		return miband_encode_new_alert(b, cap, MIBAND_CATEGORY_CALL, 0,
					       NULL, 0);
	case ENC_TEXT_MB2:
		return mb2_alert((const uint8_t *)r->u.text.data, r->u.text.len,
				 b, miband__write_max(s));
	case ENC_CHUNK: { /* s->state is the chunk's index */
		size_t cmax = miband__write_max(s) - 3;

		if (s->state >= miband_chunk_count(r->u.text.len, cmax))
			return 0;
		s->chunk_index = s->state;
		return miband_encode_chunk(b, cap, 0,
					   (const uint8_t *)r->u.text.data,
					   r->u.text.len, s->state, cmax);
	}
#endif
#if MIBAND_FEATURE_FETCH
	case ENC_FETCH_START:
		return miband_encode_fetch_start(
			b, cap, MIBAND_FETCH_TYPE_ACTIVITY, &r->u.time);
	case ENC_FETCH_GO:
		return miband_encode_fetch_control(b, cap, MIBAND_FETCH_CMD_GO);
	case ENC_FETCH_ACK:
		/* Without fetch_ack the request ends once stored. */
		if (!s->cfg.fetch_ack)
			return 0;
		return miband_encode_fetch_control(b, cap,
						   MIBAND_FETCH_CMD_ACK);
#endif
	default:
		return 0;
	}
}

static bool op_subscribe(struct miband_session *s, enum miband_channel ch,
			 uint64_t now)
{
	struct miband__queued *e;

	if (miband__subscribed(s, ch))
		return false; /* skip the step */
	e = miband__q_push(s, MIBAND_ACTION_SUBSCRIBE);
	if (!e)
		return true;
	e->channel = (uint8_t)ch;
	s->flags |= F_WAIT_DONE;
	miband__arm(s, now);
	return true;
}

static bool op_read(struct miband_session *s, enum miband_channel ch,
		    uint64_t now)
{
	struct miband__queued *e = miband__q_push(s, MIBAND_ACTION_READ);

	if (!e)
		return true;
	e->channel = (uint8_t)ch;
	miband__arm(s, now);
	return true;
}

/* Runs the step at s->state.  Returns true when it issued something or
 * the request ended; false when it had nothing to do (run() goes on). */
static bool step(struct miband_session *s, uint64_t now)
{
	const struct miband__step *st = current_step(s);
	uint32_t ms;
	int n;

	if (!st)
		goto done;
	switch (st->op) {
	case STEP_SUB:
		return op_subscribe(s, (enum miband_channel)st->channel, now);
	case STEP_READ:
		return op_read(s, (enum miband_channel)st->channel, now);
	case STEP_READ_DEVINFO:
		return op_read(s, devinfo_channel(s->req.u.devinfo), now);
	case STEP_WRITE:
	case STEP_WRITE_RSP:
		n = encode(s, st->arg, now);
		if (n <= 0)
			break;
		return miband__op_write(s, (enum miband_channel)st->channel,
					(size_t)n, st->op == STEP_WRITE_RSP,
					false, now);
	case STEP_WAIT:
		ms = st->channel == WAIT_HR	 ? s->cfg.hr_timeout_ms
		     : st->channel == WAIT_REPLY ? s->cfg.reply_timeout_ms
						 : 0;
		return miband__wait_notify(s, now, ms);
	case STEP_DO:
		(void)encode(s, st->arg, now);
		return false;
	}
done:
	/* No step left (or an encoder refused what request() accepted,
	 * which cannot happen): the request is done. */
	miband__finish(s, MIBAND_EV_DONE);
	return true;
}

void miband__run(struct miband_session *s, uint64_t now)
{
	while (s->req.type != MIBAND_REQ_NONE && !s->fatal && !step(s, now))
		s->state++;
}

/* Moves past a step whose operation completed. */
void miband__advance(struct miband_session *s, uint64_t now)
{
	s->flags &= (uint8_t)~F_WAIT_DONE;
	if (s->req.type == MIBAND_REQ_AUTH) {
		if (s->state == AUTH_SUB)
			miband__auth_subscribed(s, now);
		return;
	}
	s->state++;
	miband__run(s, now);
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
				      r->u.text.len, tmp, miband__write_max(s));
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
		return r->u.raw.len >= 1 && r->u.raw.len <= miband__write_max(s)
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
	miband__run(s, now);
	return 0;
}

int miband_session_cancel(struct miband_session *s, uint64_t now)
{
	(void)now;
	if (!s)
		return MIBAND_E_INVAL;
	if (s->fatal || s->req.type == MIBAND_REQ_NONE)
		return MIBAND_E_STATE;
	miband__fail(s, MIBAND_E_CANCELLED);
	return 0;
}
