/*
 * The client engine under a script of events decoded from the input.
 *
 * Input: a header byte (model, options), the crypto failure index, then
 * operations, each an opcode byte and its arguments:
 *
 *   0 notify      CH LEN BYTES        on_notify
 *   1 write-done  CH STATUS           on_write_done (STATUS bit 0: ok)
 *   2 read        CH STATUS LEN BYTES on_read
 *   3 time        MS(u16)             time passes; on_timeout when due
 *   4 disconnect                      on_disconnect
 *   5 request     TYPE ARGS...        miband_session_request
 *   6 auth        MODE                miband_session_start_auth
 *   7 stored                          miband_session_fetch_stored
 *   8 cancel                          miband_session_cancel
 *   9 set-key                         miband_session_set_key (other key)
 *
 * scripts/seed-corpus.py writes this format from test transcripts.
 *
 * Invariants, checked after every input:
 *  - next_action() reaches DONE within a bounded number of calls;
 *  - writes are 1..MTU-3 bytes; set-key and answer writes are marked
 *    secret, and a secret write is wiped from the session by the next
 *    call (the drain's own closing call);
 *  - one GATT operation at a time: after a SUBSCRIBE, WRITE or READ no
 *    other operation comes out before its completion, a deadline that
 *    presumes it lost, or a fatal error;
 *  - every request that started ends in exactly one final event (its
 *    value, DONE or ERROR) carrying its type, and none other does;
 *    request() and start_auth() refuse while one runs;
 *  - after a fatal error only DISCONNECT comes out, and DISCONNECT only
 *    after a fatal error; errors are known codes;
 *  - a due deadline is consumed: a few on_timeout() calls move it past
 *    now (no busy loop for the transport);
 *  - after wipe() no key byte remains in the session.
 */
#include <string.h>

#include "fuzz.h"
#include "crypto/testcrypto.h"
#include "miband/miband.h"

static const uint8_t fuzz_key[16] = {0xd8, 0x8c, 0xa0, 0xfe, 0xf5, 0x04,
				     0xcc, 0x82, 0x73, 0x5f, 0x15, 0xfe,
				     0xb6, 0xbf, 0x9b, 0x1f};
static const uint8_t other_key[16] = {0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
				      0x36, 0x37, 0x38, 0x39, 0x40, 0x41,
				      0x42, 0x43, 0x44, 0x45};

struct state {
	struct miband_session s;
	bool fatal;
	enum miband_request_type running; /* started, final event not seen */
	int op; /* operation handed out, not completed: its type */
	enum miband_channel op_ch;
};

static bool is_final(const struct miband_event *ev)
{
	switch (ev->type) {
	case MIBAND_EV_AUTH_PROGRESS:
	case MIBAND_EV_FETCH_START:
	case MIBAND_EV_SAMPLES:
	case MIBAND_EV_FETCH_BATCH:
	case MIBAND_EV_DEVICE_EVENT:
		return false;
	default:
		/* HR and STEPS of a follow mode are unsolicited (NONE) */
		return ev->request != MIBAND_REQ_NONE;
	}
}

static void check_event(struct state *st, const struct miband_event *ev)
{
	if (ev->type == MIBAND_EV_ERROR) {
		FUZZ_ASSERT(ev->error < 0);
		FUZZ_ASSERT(strcmp(miband_err_name(ev->error), "UNKNOWN") &&
			    strcmp(miband_err_name(ev->error), "unknown"));
		if (miband_is_fatal(ev->error)) {
			st->fatal = true;
			st->op = 0;
		}
	}
	if (ev->type == MIBAND_EV_SAMPLES)
		FUZZ_ASSERT(ev->u.samples.count > 0 && ev->u.samples.data &&
			    ev->u.samples.count * 4 <= MIBAND_VALUE_MAX);
	if (ev->type == MIBAND_EV_DEVINFO)
		FUZZ_ASSERT(ev->u.devinfo.len <= MIBAND_VALUE_MAX);
	if (ev->type == MIBAND_EV_DEVICE_EVENT)
		FUZZ_ASSERT(ev->u.device_event.name != NULL);
	if (ev->type == MIBAND_EV_AUTH_PROGRESS ||
	    ev->type == MIBAND_EV_AUTH_OK)
		FUZZ_ASSERT(ev->request == MIBAND_REQ_AUTH);
	if (!is_final(ev))
		return;
	/* exactly one final event per request, for the running one */
	FUZZ_ASSERT(ev->request == st->running);
	st->running = MIBAND_REQ_NONE;
	FUZZ_ASSERT(!miband_session_is_busy(&st->s));
}

static void drain(struct state *st)
{
	struct miband_action a;
	bool secret = false;
	int n = 0;

	while (miband_session_next_action(&st->s, &a) != MIBAND_ACTION_DONE) {
		FUZZ_ASSERT(++n < 64);
		FUZZ_ASSERT(!st->fatal || a.type == MIBAND_ACTION_DISCONNECT);
		switch (a.type) {
		case MIBAND_ACTION_WRITE:
			FUZZ_ASSERT(a.len > 0 && a.len <= 20);
			FUZZ_ASSERT(a.data != NULL);
			if (a.channel == MIBAND_CH_AUTH &&
			    ((a.data[0] & 0x7f) == MIBAND_AUTH_CMD_SET_KEY ||
			     (a.data[0] & 0x7f) == MIBAND_AUTH_CMD_ANSWER))
				FUZZ_ASSERT(a.secret);
			secret |= a.secret;
			/* fall through */
		case MIBAND_ACTION_SUBSCRIBE:
		case MIBAND_ACTION_UNSUBSCRIBE:
		case MIBAND_ACTION_READ:
			FUZZ_ASSERT(!st->op);
			st->op = a.type;
			st->op_ch = a.channel;
			break;
		case MIBAND_ACTION_EVENT:
			check_event(st, &a.event);
			break;
		case MIBAND_ACTION_DISCONNECT:
			FUZZ_ASSERT(st->fatal);
			FUZZ_ASSERT(miband_is_fatal(a.reason));
			break;
		default:
			FUZZ_ASSERT(!"unknown action");
		}
	}
	if (secret) {
		size_t i;

		for (i = 0; i < sizeof(st->s.wbuf); i++)
			FUZZ_ASSERT(st->s.wbuf[i] == 0);
	}
}

static void read_time(struct fuzz_in *in, struct miband_time *t)
{
	t->year = fuzz_u16(in);
	t->month = fuzz_u8(in);
	t->day = fuzz_u8(in);
	t->hour = fuzz_u8(in);
	t->minute = fuzz_u8(in);
	t->second = fuzz_u8(in);
	t->dow = fuzz_u8(in);
	t->tz = (int8_t)fuzz_u8(in);
}

static void do_request(struct state *st, struct fuzz_in *in, uint64_t now)
{
	struct miband_request req;
	const uint8_t *p;
	size_t len;
	bool busy = miband_session_is_busy(&st->s);
	int r;

	memset(&req, 0, sizeof(req));
	req.type = (enum miband_request_type)(fuzz_u8(in) % MIBAND_REQ_COUNT);
	switch (req.type) {
	case MIBAND_REQ_TIME_SET:
	case MIBAND_REQ_FETCH:
		read_time(in, &req.u.time);
		break;
	case MIBAND_REQ_DEVINFO:
		req.u.devinfo = (enum miband_devinfo)(fuzz_u8(in) % 8);
		break;
	case MIBAND_REQ_ALERT:
		req.u.level = fuzz_u8(in);
		break;
	case MIBAND_REQ_HR_INTERVAL:
		req.u.minutes = fuzz_u8(in);
		break;
	case MIBAND_REQ_CALL:
	case MIBAND_REQ_TEXT:
		len = fuzz_bytes(in, &p, 255);
		req.u.text.data = (const char *)p;
		req.u.text.len = len;
		break;
	case MIBAND_REQ_CONFIG:
	case MIBAND_REQ_USER:
		len = fuzz_bytes(in, &p, MIBAND_WRITE_MAX + 1);
		memcpy(req.u.raw.bytes, p,
		       len < MIBAND_WRITE_MAX ? len : MIBAND_WRITE_MAX);
		req.u.raw.len = (uint8_t)len;
		break;
	default:
		break;
	}
	r = miband_session_request(&st->s, &req, now);
	if (r == 0) {
		FUZZ_ASSERT(!st->fatal && !busy);
		FUZZ_ASSERT(st->running == MIBAND_REQ_NONE);
		FUZZ_ASSERT(miband_session_is_authed(&st->s));
		st->running = req.type;
	} else {
		FUZZ_ASSERT(r < 0);
		if (st->running != MIBAND_REQ_NONE && !st->fatal)
			FUZZ_ASSERT(r == MIBAND_E_BUSY ||
				    (r == MIBAND_E_NOT_AUTHED &&
				     !miband_session_is_authed(&st->s)));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state st;
	struct fuzz_in in = {data, size};
	struct miband_crypto_test ct;
	struct miband_session_config cfg;
	const uint8_t *p;
	uint64_t now = 0;
	uint8_t sel = fuzz_u8(&in);
	size_t len, i;
	int steps = 0, r;

	memset(&st, 0, sizeof(st));
	miband_crypto_test_init(&ct, 1);
	ct.fail_at = fuzz_u8(&in) % 8; /* 0: never */
	miband_session_config_init(
		&cfg, (enum miband_model)(sel % MIBAND_MODEL_COUNT));
	cfg.crypto = &miband_crypto_test;
	cfg.crypto_ctx = &ct;
	cfg.allow_pair_fallback = sel & 0x08;
	cfg.config_reply_required = sel & 0x10;
	cfg.fetch_ack = !(sel & 0x20);
	cfg.hr_keepalive_ms = sel & 0x40 ? 0 : cfg.hr_keepalive_ms;
	if (miband_session_init(&st.s, &cfg, fuzz_key) < 0)
		return 0;

	while (in.n && steps++ < 512) {
		uint8_t op = fuzz_u8(&in);
		enum miband_channel ch;

		switch (op % 10) {
		case 0:
			ch = (enum miband_channel)(fuzz_u8(&in) %
						   MIBAND_CH_COUNT);
			len = fuzz_bytes(&in, &p, 24);
			miband_session_on_notify(&st.s, ch, p, len, now);
			break;
		case 1:
			ch = (enum miband_channel)(fuzz_u8(&in) %
						   MIBAND_CH_COUNT);
			r = fuzz_u8(&in) & 1 ? 0 : MIBAND_E_WRITE_FAILED;
			if ((st.op == MIBAND_ACTION_WRITE ||
			     st.op == MIBAND_ACTION_SUBSCRIBE ||
			     st.op == MIBAND_ACTION_UNSUBSCRIBE) &&
			    st.op_ch == ch)
				st.op = 0;
			miband_session_on_write_done(&st.s, ch, r, now);
			break;
		case 2:
			ch = (enum miband_channel)(fuzz_u8(&in) %
						   MIBAND_CH_COUNT);
			r = fuzz_u8(&in) & 1 ? 0 : MIBAND_E_READ_FAILED;
			len = fuzz_bytes(&in, &p, 24);
			if (st.op == MIBAND_ACTION_READ && st.op_ch == ch)
				st.op = 0;
			miband_session_on_read(&st.s, ch, r, p, len, now);
			break;
		case 3:
			now += fuzz_u16(&in);
			for (i = 0;
			     i < 4 && miband_session_deadline_ms(&st.s) <= now;
			     i++) {
				/* a due deadline presumes the operation in
				 * flight lost (a running request's, or an
				 * ended one's) */
				st.op = 0;
				miband_session_on_timeout(&st.s, now);
				drain(&st);
			}
			FUZZ_ASSERT(miband_session_deadline_ms(&st.s) > now);
			break;
		case 4:
			miband_session_on_disconnect(&st.s, now);
			break;
		case 5:
			do_request(&st, &in, now);
			break;
		case 6: {
			bool busy = miband_session_is_busy(&st.s);

			r = miband_session_start_auth(
				&st.s,
				(enum miband_auth_mode)(fuzz_u8(&in) % 4), now);
			if (r == 0) {
				FUZZ_ASSERT(!st.fatal && !busy);
				FUZZ_ASSERT(st.running == MIBAND_REQ_NONE);
				st.running = MIBAND_REQ_AUTH;
			} else if (st.running != MIBAND_REQ_NONE && !st.fatal) {
				FUZZ_ASSERT(r == MIBAND_E_BUSY ||
					    r == MIBAND_E_INVAL);
			}
			break;
		}
		case 7:
			(void)miband_session_fetch_stored(&st.s, now);
			break;
		case 8:
			r = miband_session_cancel(&st.s, now);
			FUZZ_ASSERT(r == 0 ? st.running != MIBAND_REQ_NONE
					   : r == MIBAND_E_STATE);
			break;
		case 9:
			(void)miband_session_set_key(&st.s, other_key);
			break;
		}
		drain(&st);
	}
	miband_session_wipe(&st.s);
	for (i = 0; i + sizeof(fuzz_key) <= sizeof(st.s); i++) {
		FUZZ_ASSERT(memcmp((const uint8_t *)&st.s + i, fuzz_key,
				   sizeof(fuzz_key)));
		FUZZ_ASSERT(memcmp((const uint8_t *)&st.s + i, other_key,
				   sizeof(other_key)));
	}
	return 0;
}
