/*
 * Faults around the client engine's operations: a completion that comes
 * late, or never, for a request that has already ended.
 */
#include "runner.h"

#include "miband/miband.h"

static const uint8_t key_s[16] = {0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
				  0x36, 0x37, 0x38, 0x39, 0x40, 0x41,
				  0x42, 0x43, 0x44, 0x45};

#define DO(x)                     \
	do {                      \
		x;                \
		if (test__failed) \
			return;   \
	} while (0)

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

TEST_MAIN(T(late_ack_of_an_ended_request), T(lost_ack_of_an_ended_request))
