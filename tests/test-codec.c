/*
 * Codec tests: known vectors from PROTOCOL.md (the real-band values of
 * 4.1, 4.2, 4.3, 5 and 7.2), round trips, every truncation and an
 * over-long copy of every valid message, and UTF-8 edge cases.
 */
#include "runner.h"

#include "miband/codec.h"
#include "miband/error.h"
#include "miband/session.h"

/* ---- helpers: one signature for every decoder ---- */

typedef int (*decode_fn)(const uint8_t *data, size_t len);

static int dec_auth(const uint8_t *d, size_t n)
{
	struct miband_auth_reply r;

	return miband_decode_auth_reply(d, n, &r);
}

static int dec_time(const uint8_t *d, size_t n)
{
	struct miband_time t;

	return miband_decode_time(d, n, &t);
}

static int dec_dt7(const uint8_t *d, size_t n)
{
	struct miband_time t;

	return miband_decode_datetime7(d, n, &t);
}

static int dec_battery(const uint8_t *d, size_t n)
{
	struct miband_battery b;

	return miband_decode_battery(d, n, &b);
}

static int dec_steps(const uint8_t *d, size_t n)
{
	struct miband_steps s;

	return miband_decode_steps(d, n, &s);
}

static int dec_hr(const uint8_t *d, size_t n)
{
	uint8_t bpm;

	return miband_decode_hr(d, n, &bpm);
}

static int dec_event(const uint8_t *d, size_t n)
{
	struct miband_device_event e;

	return miband_decode_device_event(d, n, &e);
}

static int dec_fetch(const uint8_t *d, size_t n)
{
	struct miband_fetch_reply f;

	return miband_decode_fetch_reply(d, n, &f);
}

static int dec_packet(const uint8_t *d, size_t n)
{
	int r = miband_decode_fetch_packet(d, n, NULL, NULL);

	return r < 0 ? r : 0;
}

static int dec_set_key(const uint8_t *d, size_t n)
{
	uint8_t flags;
	const uint8_t *key;

	return miband_decode_auth_set_key(d, n, &flags, &key);
}

static int dec_random_req(const uint8_t *d, size_t n)
{
	uint8_t flags, crypt;

	return miband_decode_auth_request_random(d, n, &flags, &crypt);
}

static int dec_answer(const uint8_t *d, size_t n)
{
	uint8_t flags, crypt;
	const uint8_t *ans;

	return miband_decode_auth_answer(d, n, &flags, &crypt, &ans);
}

static int dec_hr_control(const uint8_t *d, size_t n)
{
	struct miband_hr_control c;

	return miband_decode_hr_control(d, n, &c);
}

static int dec_fetch_request(const uint8_t *d, size_t n)
{
	struct miband_fetch_request f;

	return miband_decode_fetch_request(d, n, &f);
}

/*
 * Every strict prefix of msg is MALFORMED, except lengths listed in
 * allowed (a shorter valid form, e.g. the 5-byte steps record), and msg
 * with one byte appended is MALFORMED.  Returns the failing length or -1.
 */
static int bad_truncation(decode_fn fn, const uint8_t *msg, size_t len,
			  size_t allowed)
{
	uint8_t copy[64];
	size_t i;

	for (i = 0; i < len; i++) {
		/* A fresh copy of exactly i bytes so ASan sees overreads. */
		uint8_t *p = malloc(i ? i : 1);
		int r;

		memcpy(p, msg, i);
		r = fn(i ? p : NULL, i);
		free(p);
		if (i == allowed)
			continue;
		if (r != MIBAND_E_MALFORMED)
			return (int)i;
	}
	if (len + 1 <= sizeof(copy)) {
		memcpy(copy, msg, len);
		copy[len] = 0xa5;
		if (fn(copy, len + 1) != MIBAND_E_MALFORMED)
			return (int)len + 1;
	}
	return -1;
}

/* Every cap below the encoded length gives NOSPACE. */
#define CHECK_CAPS(call_with_cap, full_len)                                \
	do {                                                               \
		size_t cap_;                                               \
		for (cap_ = 0; cap_ < (size_t)(full_len); cap_++) {        \
			uint8_t *cb_ = malloc(cap_ ? cap_ : 1);            \
			int r_ = (call_with_cap);                          \
			free(cb_);                                         \
			if (r_ != MIBAND_E_NOSPACE) {                      \
				TEST_FAIL_AT(__FILE__, __LINE__,           \
					     "cap %zu gave %d", cap_, r_); \
				return;                                    \
			}                                                  \
		}                                                          \
	} while (0)

static const uint8_t key71[16] = {0xd8, 0x8c, 0xa0, 0xfe, 0xf5, 0x04,
				  0xcc, 0x82, 0x73, 0x5f, 0x15, 0xfe,
				  0xb6, 0xbf, 0x9b, 0x1f};

/* ---- auth ---- */

TEST(auth_set_key)
{
	uint8_t buf[32], want[32];

	CHECK_EQ(miband_encode_auth_set_key(buf, sizeof(buf), 0x00, key71), 18);
	CHECK_EQ(test_hex("01 00 d88ca0fef504cc82735f15feb6bf9b1f", want,
			  sizeof(want)),
		 18);
	CHECK_MEM(buf, want, 18);
	CHECK_EQ(miband_encode_auth_set_key(buf, sizeof(buf), 0x08, key71), 18);
	CHECK_EQ(buf[0], 0x01);
	CHECK_EQ(buf[1], 0x08);
	CHECK_CAPS(miband_encode_auth_set_key(cb_, cap_, 0x00, key71), 18);
	CHECK_EQ(miband_encode_auth_set_key(buf, 18, 0, NULL), MIBAND_E_INVAL);
}

TEST(auth_request_random)
{
	uint8_t buf[8], want[8];

	CHECK_EQ(miband_encode_auth_request_random(buf, sizeof(buf), 0, 0), 2);
	CHECK_EQ(buf[0], 0x02);
	CHECK_EQ(buf[1], 0x00);
	CHECK_EQ(miband_encode_auth_request_random(buf, sizeof(buf), 8, 0), 2);
	CHECK_EQ(buf[1], 0x08);
	CHECK_EQ(
		miband_encode_auth_request_random(buf, sizeof(buf), 0x08, 0x80),
		5);
	CHECK_EQ(test_hex("82 08 02 01 00", want, sizeof(want)), 5);
	CHECK_MEM(buf, want, 5);
	CHECK_CAPS(miband_encode_auth_request_random(cb_, cap_, 8, 0x80), 5);
	CHECK_CAPS(miband_encode_auth_request_random(cb_, cap_, 0, 0), 2);
	CHECK_EQ(miband_encode_auth_request_random(buf, 8, 0, 0x01),
		 MIBAND_E_INVAL);
}

TEST(auth_answer)
{
	uint8_t buf[32], want[32], ans[16];

	CHECK_EQ(test_hex("ce1c0135db39e61f1a27012fb907df3b", ans, 16), 16);
	CHECK_EQ(miband_encode_auth_answer(buf, sizeof(buf), 0, 0, ans), 18);
	CHECK_EQ(test_hex("03 00 ce1c0135db39e61f1a27012fb907df3b", want,
			  sizeof(want)),
		 18);
	CHECK_MEM(buf, want, 18);
	CHECK_EQ(miband_encode_auth_answer(buf, sizeof(buf), 8, 0x80, ans), 18);
	CHECK_EQ(buf[0], 0x83);
	CHECK_EQ(buf[1], 0x08);
	CHECK_MEM(buf + 2, ans, 16);
	CHECK_CAPS(miband_encode_auth_answer(cb_, cap_, 0, 0, ans), 18);
}

TEST(auth_reply_decode)
{
	uint8_t msg[32], rnd[16];
	struct miband_auth_reply r;
	int n;

	/* The base64 strings of the seed: EAEB EAEC EAMB EAME. */
	CHECK_EQ(test_hex("100101", msg, sizeof(msg)), 3);
	CHECK_EQ(miband_decode_auth_reply(msg, 3, &r), 0);
	CHECK_EQ(r.cmd, 1);
	CHECK_EQ(r.status, 1);
	CHECK(r.payload == NULL);
	CHECK_EQ(r.payload_len, 0);
	CHECK_EQ(bad_truncation(dec_auth, msg, 3, 99), -1);

	CHECK_EQ(test_hex("100304", msg, sizeof(msg)), 3);
	CHECK_EQ(miband_decode_auth_reply(msg, 3, &r), 0);
	CHECK_EQ(r.cmd, 3);
	CHECK_EQ(r.status, 4);

	n = test_hex("10 02 01 689c1dd58a666f0f8c90a1a96e1ab3a3", msg,
		     sizeof(msg));
	CHECK_EQ(n, 19);
	CHECK_EQ(test_hex("689c1dd58a666f0f8c90a1a96e1ab3a3", rnd, 16), 16);
	CHECK_EQ(miband_decode_auth_reply(msg, 19, &r), 0);
	CHECK_EQ(r.cmd, 2);
	CHECK_EQ(r.payload_len, 16);
	CHECK(r.payload == msg + 3);
	CHECK_MEM(r.payload, rnd, 16);
	CHECK_EQ(bad_truncation(dec_auth, msg, 19, 99), -1);

	/* crypt echo 0x82 */
	msg[1] = 0x82;
	CHECK_EQ(miband_decode_auth_reply(msg, 19, &r), 0);
	CHECK_EQ(r.cmd, 0x82);
	/* a failed random request has no payload */
	CHECK_EQ(test_hex("100204", msg, sizeof(msg)), 3);
	CHECK_EQ(miband_decode_auth_reply(msg, 3, &r), 0);
	CHECK_EQ(r.status, 4);
	CHECK_EQ(bad_truncation(dec_auth, msg, 3, 99), -1);

	/* an unknown status may carry data (Mi Band 4: 10 01 81 ...) */
	n = test_hex("10 01 81 01 18 63 c2 cc e5 d1 59 41 3b ed 92 c4 b1 63 "
		     "c2 79",
		     msg, sizeof(msg));
	CHECK_EQ(n, 20);
	CHECK_EQ(miband_decode_auth_reply(msg, 20, &r), 0);
	CHECK_EQ(r.status, 0x81);
	CHECK_EQ(r.payload_len, 17);
	CHECK(r.payload == msg + 3);
	/* ... a known status may not */
	CHECK_EQ(test_hex("10 03 04 00", msg, sizeof(msg)), 4);
	CHECK_EQ(miband_decode_auth_reply(msg, 4, &r), MIBAND_E_MALFORMED);
	CHECK_EQ(test_hex("10 03 01 00", msg, sizeof(msg)), 4);
	CHECK_EQ(miband_decode_auth_reply(msg, 4, &r), MIBAND_E_MALFORMED);

	/* garbage */
	r.cmd = 0x77;
	CHECK_EQ(test_hex("110301", msg, sizeof(msg)), 3);
	CHECK_EQ(miband_decode_auth_reply(msg, 3, &r), MIBAND_E_MALFORMED);
	CHECK_EQ(r.cmd, 0x77); /* untouched on failure */
	CHECK_EQ(test_hex("100501", msg, sizeof(msg)), 3);
	CHECK_EQ(miband_decode_auth_reply(msg, 3, &r), MIBAND_E_MALFORMED);
	CHECK_EQ(test_hex("104301", msg, sizeof(msg)), 3);
	CHECK_EQ(miband_decode_auth_reply(msg, 3, &r), MIBAND_E_MALFORMED);
	CHECK_EQ(test_hex("100001", msg, sizeof(msg)), 3);
	CHECK_EQ(miband_decode_auth_reply(msg, 3, &r), MIBAND_E_MALFORMED);
	CHECK_EQ(miband_decode_auth_reply(NULL, 0, &r), MIBAND_E_MALFORMED);
}

/* ---- calendar and time ---- */

TEST(calendar)
{
	int32_t y, z;
	unsigned m, d;

	/* expected values computed independently (Python datetime) */
	CHECK_EQ(miband_days_from_civil(1970, 1, 1), 0);
	CHECK_EQ(miband_days_from_civil(2022, 12, 15), 19341);
	CHECK_EQ(miband_days_from_civil(2000, 3, 1), 11017);
	CHECK_EQ(miband_days_from_civil(1900, 1, 1), -25567);
	CHECK_EQ(miband_day_of_week(2022, 12, 15), 4); /* Thursday */
	CHECK_EQ(miband_day_of_week(2018, 4, 15), 7);  /* Sunday (ZV) */
	CHECK_EQ(miband_day_of_week(2017, 5, 8), 1);   /* Monday (MX) */
	CHECK_EQ(miband_day_of_week(1969, 12, 31), 3); /* Wednesday */
	for (z = -800000; z <= 800000; z += 7) {
		miband_civil_from_days(z, &y, &m, &d);
		if (miband_days_from_civil(y, m, d) != z) {
			TEST_FAIL_AT(__FILE__, __LINE__, "day %d", (int)z);
			return;
		}
		CHECK(m >= 1 && m <= 12 && d >= 1 && d <= 31);
	}
	miband_civil_from_days(11016, &y, &m, &d);
	CHECK_EQ(y, 2000);
	CHECK_EQ(m, 2);
	CHECK_EQ(d, 29);
}

TEST(time_gb_vector)
{
	/* 2022-12-15 20:38:53 CET (PROTOCOL.md 7.2) */
	struct miband_time t = {2022, 12, 15, 20, 38, 53, 0, 4};
	uint8_t buf[16], want[16];
	struct miband_time back;

	CHECK_EQ(test_hex("e6 07 0c 0f 14 26 35 04 00 00 04", want,
			  sizeof(want)),
		 11);
	CHECK_EQ(miband_encode_time(buf, sizeof(buf), &t),
		 11); /* dow computed */
	CHECK_MEM(buf, want, 11);
	t.dow = 4;
	CHECK_EQ(miband_encode_time(buf, sizeof(buf), &t), 11);
	CHECK_MEM(buf, want, 11);
	CHECK_EQ(miband_decode_time(want, 11, &back), 0);
	CHECK_EQ(back.year, 2022);
	CHECK_EQ(back.month, 12);
	CHECK_EQ(back.day, 15);
	CHECK_EQ(back.hour, 20);
	CHECK_EQ(back.minute, 38);
	CHECK_EQ(back.second, 53);
	CHECK_EQ(back.dow, 4);
	CHECK_EQ(back.tz, 4);
	CHECK_EQ(miband_time_to_unix(&back), 1671133133);
	CHECK_EQ(bad_truncation(dec_time, want, 11, 99), -1);
	CHECK_CAPS(miband_encode_time(cb_, cap_, &t), 11);
}

TEST(time_real_reads)
{
	uint8_t msg[16];
	struct miband_time t;

	/* ZV (MB2): 2018-04-15 16:20:43, Sunday, +3 h */
	CHECK_EQ(test_hex("e2 07 04 0f 10 14 2b 07 00 00 0c", msg, sizeof(msg)),
		 11);
	CHECK_EQ(miband_decode_time(msg, 11, &t), 0);
	CHECK_EQ(t.year, 2018);
	CHECK_EQ(t.dow, 7);
	CHECK_EQ(t.tz, 12);
	CHECK_EQ(miband_time_to_unix(&t), 1523798443);
	/* MX: 2017-05-08 14:52:24 Monday +8 h */
	CHECK_EQ(test_hex("e1 07 05 08 0e 34 18 01 00 00 20", msg, sizeof(msg)),
		 11);
	CHECK_EQ(miband_decode_time(msg, 11, &t), 0);
	CHECK_EQ(t.hour, 14);
	CHECK_EQ(t.minute, 52);
	CHECK_EQ(t.second, 24);
	CHECK_EQ(t.tz, 32);
	/* negative zone: -5:45 is -23 quarter hours */
	CHECK_EQ(test_hex("e7 07 0b 0e 10 1c 14 02 00 00 e9", msg, sizeof(msg)),
		 11);
	CHECK_EQ(miband_decode_time(msg, 11, &t), 0);
	CHECK_EQ(t.tz, -23);
	CHECK_EQ(miband_time_to_unix(&t), 1700000000);
}

TEST(time_garbage)
{
	uint8_t msg[16];
	struct miband_time t = {2022, 12, 15, 20, 38, 53, 4, 4};
	uint8_t buf[16];

	CHECK_EQ(miband_encode_time(msg, sizeof(msg), &t), 11);
	msg[2] = 13; /* month */
	CHECK_EQ(dec_time(msg, 11), MIBAND_E_MALFORMED);
	msg[2] = 2;
	msg[3] = 29; /* 2022 is not a leap year */
	CHECK_EQ(dec_time(msg, 11), MIBAND_E_MALFORMED);
	msg[0] = 0xe8; /* 2024 is */
	CHECK_EQ(dec_time(msg, 11), 0);
	msg[4] = 24;
	CHECK_EQ(dec_time(msg, 11), MIBAND_E_MALFORMED);
	msg[4] = 23;
	msg[7] = 8; /* dow */
	CHECK_EQ(dec_time(msg, 11), MIBAND_E_MALFORMED);
	msg[7] = 1;
	msg[10] = 0x7f; /* tz +31:45 */
	CHECK_EQ(dec_time(msg, 11), MIBAND_E_MALFORMED);

	t.month = 0;
	CHECK_EQ(miband_encode_time(buf, sizeof(buf), &t), MIBAND_E_INVAL);
	t.month = 4;
	t.day = 31;
	CHECK_EQ(miband_encode_time(buf, sizeof(buf), &t), MIBAND_E_INVAL);
	t.day = 30;
	t.second = 60;
	CHECK_EQ(miband_encode_time(buf, sizeof(buf), &t), MIBAND_E_INVAL);
	CHECK_EQ(miband_time_valid(NULL), MIBAND_E_INVAL);
}

TEST(time_unix_round_trip)
{
	struct miband_time t;
	int64_t s;
	int tz;

	miband_time_from_unix(1700000000, -23, &t);
	CHECK_EQ(t.year, 2023);
	CHECK_EQ(t.month, 11);
	CHECK_EQ(t.day, 14);
	CHECK_EQ(t.hour, 16);
	CHECK_EQ(t.minute, 28);
	CHECK_EQ(t.second, 20);
	CHECK_EQ(t.dow, 2);
	miband_time_from_unix(0, -4, &t);
	CHECK_EQ(t.year, 1969);
	CHECK_EQ(t.month, 12);
	CHECK_EQ(t.day, 31);
	CHECK_EQ(t.hour, 23);
	CHECK_EQ(t.dow, 3);
	for (s = 0; s < 4102444800LL; s += 86400LL * 37 + 3671) {
		for (tz = -48; tz <= 56; tz += 13) {
			miband_time_from_unix(s, (int8_t)tz, &t);
			if (miband_time_to_unix(&t) != s ||
			    t.dow != miband_day_of_week(t.year, t.month,
							t.day)) {
				TEST_FAIL_AT(__FILE__, __LINE__, "%lld tz %d",
					     (long long)s, tz);
				return;
			}
		}
	}
}

TEST(datetime7)
{
	struct miband_time t = {2017, 4, 27, 2, 5, 7, 0, 0}, back;
	uint8_t buf[8], want[8];

	CHECK_EQ(miband_encode_datetime7(buf, sizeof(buf), &t), 7);
	CHECK_EQ(test_hex("e1 07 04 1b 02 05 07", want, sizeof(want)), 7);
	CHECK_MEM(buf, want, 7);
	CHECK_EQ(miband_decode_datetime7(want, 7, &back), 0);
	CHECK_EQ(back.year, 2017);
	CHECK_EQ(back.day, 27);
	CHECK_EQ(back.second, 7);
	CHECK_EQ(bad_truncation(dec_dt7, want, 7, 99), -1);
	CHECK_CAPS(miband_encode_datetime7(cb_, cap_, &t), 7);
}

/* ---- battery ---- */

TEST(battery_mx_example)
{
	uint8_t msg[24], buf[24];
	struct miband_battery b;

	CHECK_EQ(test_hex("0f 4f 00 e1 07 04 1b 02 05 07 20 e1 07 04 1b 06 32 "
			  "0a 20 64",
			  msg, sizeof(msg)),
		 20);
	CHECK_EQ(miband_decode_battery(msg, 20, &b), 0);
	CHECK_EQ(b.level, 79);
	CHECK(!b.charging);
	CHECK_EQ(b.last_off.year, 2017);
	CHECK_EQ(b.last_off.month, 4);
	CHECK_EQ(b.last_off.day, 27);
	CHECK_EQ(b.last_off.hour, 2);
	CHECK_EQ(b.last_off.minute, 5);
	CHECK_EQ(b.last_off.second, 7);
	CHECK_EQ(b.last_off.tz, 32);
	CHECK_EQ(b.last_charge.hour, 6);
	CHECK_EQ(b.last_charge.minute, 50);
	CHECK_EQ(b.last_charge.second, 10);
	CHECK_EQ(b.last_charge.tz, 32);
	CHECK_EQ(b.last_charge_level, 100);
	CHECK_EQ(bad_truncation(dec_battery, msg, 20, 99), -1);

	CHECK_EQ(miband_encode_battery(buf, sizeof(buf), &b), 20);
	CHECK_MEM(buf, msg, 20);
	CHECK_CAPS(miband_encode_battery(cb_, cap_, &b), 20);
}

TEST(battery_variants)
{
	uint8_t msg[24];
	struct miband_battery b, back;

	memset(&b, 0, sizeof(b));
	b.level = 100;
	b.charging = true;
	b.last_charge_level = 55;
	/* a new band: timestamps never set */
	CHECK_EQ(miband_encode_battery(msg, sizeof(msg), &b), 20);
	CHECK_EQ(msg[1], 100);
	CHECK_EQ(msg[2], 1);
	CHECK_EQ(miband_decode_battery(msg, 20, &back), 0);
	CHECK(back.charging);
	CHECK_EQ(back.last_off.year, 0);
	CHECK_EQ(back.last_charge_level, 55);
	msg[2] = 2; /* charging is 0 or 1 */
	CHECK_EQ(dec_battery(msg, 20), MIBAND_E_MALFORMED);
	msg[2] = 0;
	msg[1] = 101;
	CHECK_EQ(dec_battery(msg, 20), MIBAND_E_MALFORMED);
	msg[1] = 50;
	msg[10] = 4; /* tz without a date */
	CHECK_EQ(dec_battery(msg, 20), MIBAND_E_MALFORMED);
	msg[10] = 0;
	msg[13] = 13; /* month 13 in the charge stamp, year 0: not unset */
	CHECK_EQ(dec_battery(msg, 20), MIBAND_E_MALFORMED);
	b.level = 101;
	CHECK_EQ(miband_encode_battery(msg, sizeof(msg), &b), MIBAND_E_INVAL);
}

/* ---- steps ---- */

TEST(steps_examples)
{
	uint8_t msg[16], buf[16];
	struct miband_steps s;

	/* GB #428: 76 steps, 31 m, 1 kcal */
	CHECK_EQ(test_hex("0C 4C000000 1F000000 01000000", msg, sizeof(msg)),
		 13);
	CHECK_EQ(miband_decode_steps(msg, 13, &s), 0);
	CHECK_EQ(s.steps, 76);
	CHECK_EQ(s.meters, 31);
	CHECK_EQ(s.kcal, 1);
	CHECK(s.has_distance);
	/* the 5-byte prefix is the short form itself */
	CHECK_EQ(bad_truncation(dec_steps, msg, 13, 5), -1);
	CHECK_EQ(miband_encode_steps(buf, sizeof(buf), &s), 13);
	CHECK_MEM(buf, msg, 13);
	CHECK_CAPS(miband_encode_steps(cb_, cap_, &s), 13);

	/* MX: 204 steps, 138 m, 4 kcal */
	CHECK_EQ(test_hex("0C CC000000 8A000000 04000000", msg, sizeof(msg)),
		 13);
	CHECK_EQ(miband_decode_steps(msg, 13, &s), 0);
	CHECK_EQ(s.steps, 204);
	CHECK_EQ(s.meters, 138);
	CHECK_EQ(s.kcal, 4);

	/* short MB3 form */
	CHECK_EQ(test_hex("0c 10 27 01 00", msg, sizeof(msg)), 5);
	CHECK_EQ(miband_decode_steps(msg, 5, &s), 0);
	CHECK_EQ(s.steps, 75536);
	CHECK(!s.has_distance);
	CHECK_EQ(s.meters, 0);
	CHECK_EQ(miband_encode_steps(buf, sizeof(buf), &s), 5);
	CHECK_MEM(buf, msg, 5);
	CHECK_EQ(bad_truncation(dec_steps, msg, 5, 99), -1);

	msg[0] = 0x0d;
	CHECK_EQ(dec_steps(msg, 5), MIBAND_E_MALFORMED);
}

/* ---- heart rate ---- */

TEST(heart_rate)
{
	uint8_t msg[4], buf[4];
	uint8_t bpm = 0;

	CHECK_EQ(test_hex("00 48", msg, sizeof(msg)), 2);
	CHECK_EQ(miband_decode_hr(msg, 2, &bpm), 0);
	CHECK_EQ(bpm, 72);
	CHECK_EQ(bad_truncation(dec_hr, msg, 2, 99), -1);
	msg[0] = 0x01; /* 16-bit value flag: not what the band sends */
	CHECK_EQ(dec_hr(msg, 2), MIBAND_E_MALFORMED);
	CHECK_EQ(miband_encode_hr(buf, sizeof(buf), 61), 2);
	CHECK_EQ(buf[0], 0);
	CHECK_EQ(buf[1], 61);
	CHECK_CAPS(miband_encode_hr(cb_, cap_, 61), 2);
}

/* ---- device events ---- */

TEST(device_events)
{
	static const struct {
		const char *hex;
		uint8_t code;
		uint16_t arg;
		const char *name;
	} v[] = {
		{"01", 0x01, 0, "fell-asleep"},
		{"02", 0x02, 0, "woke-up"},
		{"03", 0x03, 0, "goal-reached"},
		{"04", 0x04, 0, "button"},
		{"06", 0x06, 0, "non-wear"},
		{"07", 0x07, 0, "call-rejected"},
		{"08", 0x08, 0, "find-phone-start"},
		{"09", 0x09, 0, "call-ignored"},
		{"0a", 0x0a, 0, "alarm-toggled"},
		{"0b", 0x0b, 0, "button-long"},
		{"0e", 0x0e, 0, "tick-30min"},
		{"0f", 0x0f, 0, "find-phone-stop"},
		{"10 01", 0x10, 1, "silent-mode"},
		{"14 00 01 05", 0x14, 0x0105, "workout-start"},
		{"16 f7 00", 0x16, 247, "mtu"},
		{"1a", 0x1a, 0, "alarm-changed"},
		{"fe 03", 0xfe, 3, "music"},
		{"fe e0", 0xfe, 0xe0, "music"},
	};
	struct miband_device_event e;
	uint8_t msg[8];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int n = test_hex(v[i].hex, msg, sizeof(msg));

		CHECK(n > 0);
		CHECK_EQ(miband_decode_device_event(msg, (size_t)n, &e), 0);
		CHECK_EQ(e.code, v[i].code);
		CHECK_EQ(e.arg, v[i].arg);
		CHECK_STR(e.name, v[i].name);
		CHECK_STR(miband_device_event_name(v[i].code), v[i].name);
		CHECK_EQ(bad_truncation(dec_event, msg, (size_t)n, 99), -1);
	}
	/* unknown codes pass through */
	CHECK_EQ(test_hex("55 07 08", msg, sizeof(msg)), 3);
	CHECK_EQ(miband_decode_device_event(msg, 3, &e), 0);
	CHECK_EQ(e.code, 0x55);
	CHECK_EQ(e.arg, 7);
	CHECK_STR(e.name, "unknown");
	CHECK_STR(miband_device_event_name(0x05), "unknown");
	CHECK_EQ(dec_event(NULL, 0), MIBAND_E_MALFORMED);
}

/* ---- UTF-8 ---- */

static int cut_hex(const char *hex, size_t max)
{
	uint8_t b[32];
	int n = test_hex(hex, b, sizeof(b));

	if (n < 0)
		return -1000;
	return miband_utf8_cut((const char *)b, (size_t)n, max);
}

TEST(utf8_cut)
{
	/* "é" = c3 a9, "€" = e2 82 ac, U+1F600 = f0 9f 98 80 */
	CHECK_EQ(miband_utf8_cut("hello", 5, 10), 5);
	CHECK_EQ(miband_utf8_cut("hello", 5, 3), 3);
	CHECK_EQ(miband_utf8_cut("hello", 5, 0), 0);
	CHECK_EQ(miband_utf8_cut("", 0, 5), 0);
	CHECK_EQ(cut_hex("61 c3 a9", 3), 3);
	CHECK_EQ(cut_hex("61 c3 a9", 2), 1);
	CHECK_EQ(cut_hex("e2 82 ac e2 82 ac", 5), 3);
	CHECK_EQ(cut_hex("e2 82 ac e2 82 ac", 4), 3);
	CHECK_EQ(cut_hex("e2 82 ac e2 82 ac", 2), 0);
	CHECK_EQ(cut_hex("f0 9f 98 80 41", 4), 4);
	CHECK_EQ(cut_hex("f0 9f 98 80 41", 3), 0);
	CHECK_EQ(cut_hex("f4 8f bf bf", 4), 4); /* U+10FFFF */
	CHECK_EQ(cut_hex("ed 9f bf", 3), 3);	/* U+D7FF */
	CHECK_EQ(cut_hex("ee 80 80", 3), 3);	/* U+E000 */
	CHECK_EQ(cut_hex("c2 80", 2), 2);	/* U+0080 */
	CHECK_EQ(cut_hex("e0 a0 80", 3), 3);	/* U+0800 */
	CHECK_EQ(cut_hex("f0 90 80 80", 4), 4); /* U+10000 */
	/* invalid anywhere in the text, even past max */
	CHECK_EQ(cut_hex("41 80", 1),
		 MIBAND_E_BAD_UTF8); /* lone continuation */
	CHECK_EQ(cut_hex("c0 80", 2), MIBAND_E_BAD_UTF8); /* overlong NUL */
	CHECK_EQ(cut_hex("c1 bf", 2), MIBAND_E_BAD_UTF8); /* overlong */
	CHECK_EQ(cut_hex("e0 80 80", 3), MIBAND_E_BAD_UTF8);
	CHECK_EQ(cut_hex("e0 9f bf", 3), MIBAND_E_BAD_UTF8);
	CHECK_EQ(cut_hex("f0 80 80 80", 4), MIBAND_E_BAD_UTF8);
	CHECK_EQ(cut_hex("f0 8f bf bf", 4), MIBAND_E_BAD_UTF8);
	CHECK_EQ(cut_hex("ed a0 80", 3), MIBAND_E_BAD_UTF8); /* D800 */
	CHECK_EQ(cut_hex("ed bf bf", 3), MIBAND_E_BAD_UTF8); /* DFFF */
	CHECK_EQ(cut_hex("f4 90 80 80", 4), MIBAND_E_BAD_UTF8);
	CHECK_EQ(cut_hex("f5 80 80 80", 4), MIBAND_E_BAD_UTF8);
	CHECK_EQ(cut_hex("ff", 1), MIBAND_E_BAD_UTF8);
	CHECK_EQ(cut_hex("fe", 1), MIBAND_E_BAD_UTF8);
	CHECK_EQ(cut_hex("e2 82", 2), MIBAND_E_BAD_UTF8); /* truncated */
	CHECK_EQ(cut_hex("41 e2 82", 1), MIBAND_E_BAD_UTF8);
	CHECK_EQ(cut_hex("e2 41 ac", 3), MIBAND_E_BAD_UTF8);
	CHECK_EQ(cut_hex("f0 9f 98 41", 4), MIBAND_E_BAD_UTF8);
	CHECK_EQ(cut_hex("c3 c3", 2), MIBAND_E_BAD_UTF8);
}

/* ---- New Alert ---- */

TEST(new_alert)
{
	uint8_t buf[32], want[32];
	const char *name = "J\xc3\xa9r\xc3\xb4me Dupont-Ex"; /* 18 bytes */

	CHECK_EQ(miband_encode_new_alert(buf, 20, MIBAND_CATEGORY_CALL, 1,
					 "Bob", 3),
		 5);
	CHECK_EQ(test_hex("03 01 42 6f 62", want, sizeof(want)), 5);
	CHECK_MEM(buf, want, 5);
	CHECK_EQ(miband_encode_new_alert(buf, 20, MIBAND_CATEGORY_CALL, 0, NULL,
					 0),
		 2);
	CHECK_EQ(buf[0], 0x03);
	CHECK_EQ(buf[1], 0x00);
	/* cut to fit: 20 bytes at most, not in the middle of "é" */
	CHECK_EQ(strlen(name), 18);
	CHECK_EQ(miband_encode_new_alert(buf, 20, 3, 1, name, 18), 20);
	CHECK_MEM(buf + 2, name, 18);
	CHECK_EQ(miband_encode_new_alert(buf, 4, 3, 1, name, 18), 3);
	CHECK_EQ(buf[2], 'J');
	CHECK_EQ(miband_encode_new_alert(buf, 5, 3, 1, name, 18), 5);
	CHECK_EQ(miband_encode_new_alert(buf, 20, MIBAND_CATEGORY_SMS, 1,
					 "\xed\xa0\x80", 3),
		 MIBAND_E_BAD_UTF8);
	CHECK_EQ(miband_encode_new_alert(buf, 20, MIBAND_CATEGORY_CUSTOM, 1,
					 "x", 1),
		 MIBAND_E_INVAL);
	CHECK_EQ(miband_encode_new_alert(buf, 1, 3, 1, "x", 1),
		 MIBAND_E_NOSPACE);
}

/* ---- app notification ---- */

TEST(app_notification_layout)
{
	uint8_t buf[256], want[64];
	int n;

	n = miband_encode_app_notification(buf, sizeof(buf), 230,
					   MIBAND_CATEGORY_SMS, 0, "Ann",
					   "Hi there", NULL);
	CHECK_EQ(test_hex("05 01 41 6e 6e 00 48 69 20 74 68 65 72 65 00 20 00",
			  want, sizeof(want)),
		 17);
	CHECK_EQ(n, 17);
	CHECK_MEM(buf, want, 17);

	n = miband_encode_app_notification(
		buf, sizeof(buf), 230, MIBAND_CATEGORY_EMAIL, 0, "A", "", NULL);
	CHECK_EQ(test_hex("01 01 41 00 20 00 20 00", want, sizeof(want)), 8);
	CHECK_EQ(n, 8);
	CHECK_MEM(buf, want, 8);

	n = miband_encode_app_notification(buf, sizeof(buf), 230,
					   MIBAND_CATEGORY_CUSTOM, 0x16, "T",
					   "b", "Signal");
	CHECK_EQ(test_hex("fa 01 16 54 00 62 00 53 69 67 6e 61 6c 00", want,
			  sizeof(want)),
		 14);
	CHECK_EQ(n, 14);
	CHECK_MEM(buf, want, 14);

	/* other categories carry no suffix */
	n = miband_encode_app_notification(buf, sizeof(buf), 230,
					   MIBAND_CATEGORY_SIMPLE, 0, "T", "b",
					   "ignored");
	CHECK_EQ(test_hex("00 01 54 00 62", want, sizeof(want)), 5);
	CHECK_EQ(n, 5);
	CHECK_MEM(buf, want, 5);
}

TEST(app_notification_cuts)
{
	uint8_t buf[256];
	char title[64], body[400];
	int n, i;

	/* title: 20 x "é" = 40 bytes, cut to 32 = 16 characters */
	for (i = 0; i < 20; i++) {
		title[2 * i] = (char)0xc3;
		title[2 * i + 1] = (char)0xa9;
	}
	title[40] = 0;
	n = miband_encode_app_notification(buf, sizeof(buf), 230,
					   MIBAND_CATEGORY_SMS, 0, title, "x",
					   NULL);
	CHECK_EQ(n, 2 + 32 + 1 + 1 + 3);
	CHECK_MEM(buf + 2, title, 32);
	CHECK_EQ(buf[34], 0x00);
	CHECK_EQ(buf[35], 'x');

	/* an odd title: "a" + 16 x "é" = 33 bytes, cut to 31 */
	title[0] = 'a';
	for (i = 0; i < 16; i++) {
		title[1 + 2 * i] = (char)0xc3;
		title[2 + 2 * i] = (char)0xa9;
	}
	title[33] = 0;
	n = miband_encode_app_notification(buf, sizeof(buf), 230,
					   MIBAND_CATEGORY_SMS, 0, title, "x",
					   NULL);
	CHECK_EQ(n, 2 + 31 + 1 + 1 + 3);
	CHECK_EQ(buf[33], 0x00);

	/* body of 300 x "€" capped at 230 in total, on a boundary */
	for (i = 0; i < 100; i++)
		memcpy(body + 3 * i, "\xe2\x82\xac", 3);
	body[300] = 0;
	n = miband_encode_app_notification(
		buf, sizeof(buf), 230, MIBAND_CATEGORY_SMS, 0, "T", body, NULL);
	/* fixed: 2 + 1 (T) + 1 + 3 = 7; 223 for the body -> 222 (74 x 3) */
	CHECK_EQ(n, 229);
	CHECK_EQ(miband_utf8_cut((const char *)buf + 4, 222, 222), 222);
	CHECK_EQ(buf[226], 0x00);
	CHECK_EQ(buf[227], 0x20);
	CHECK_EQ(buf[228], 0x00);
	/* the MB2 limit */
	n = miband_encode_app_notification(
		buf, sizeof(buf), miband_text_limit(MIBAND_MODEL_MB2),
		MIBAND_CATEGORY_SMS, 0, "T", body, NULL);
	CHECK(n > 0 && n <= 18);
	/* too small for even the fixed part */
	CHECK_EQ(miband_encode_app_notification(buf, sizeof(buf), 5,
						MIBAND_CATEGORY_SMS, 0, "T",
						"b", NULL),
		 MIBAND_E_NOSPACE);
	/* the buffer, not the limit, too small */
	CHECK_EQ(miband_encode_app_notification(
			 buf, 10, 230, MIBAND_CATEGORY_SMS, 0, "T", body, NULL),
		 MIBAND_E_NOSPACE);
	/* invalid UTF-8 in any part */
	CHECK_EQ(miband_encode_app_notification(buf, sizeof(buf), 230, 5, 0,
						"\xc0\x80", "b", NULL),
		 MIBAND_E_BAD_UTF8);
	CHECK_EQ(miband_encode_app_notification(buf, sizeof(buf), 230, 5, 0,
						"t", "b\xff", NULL),
		 MIBAND_E_BAD_UTF8);
	CHECK_EQ(miband_encode_app_notification(buf, sizeof(buf), 230,
						MIBAND_CATEGORY_CUSTOM, 0, "t",
						"b", "\xed\xb0\x80"),
		 MIBAND_E_BAD_UTF8);
	CHECK_EQ(miband_text_limit(MIBAND_MODEL_MB3), 230);
	CHECK_EQ(miband_text_limit(MIBAND_MODEL_MB4), 230);
	CHECK_EQ(miband_text_limit(MIBAND_MODEL_MB2), 18);
}

/* ---- chunked ---- */

TEST(chunks)
{
	uint8_t msg[64], buf[32], back[64];
	size_t i, total, n;
	int r;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 1);
	CHECK_EQ(miband_chunk_count(0, 17), 1);
	CHECK_EQ(miband_chunk_count(1, 17), 1);
	CHECK_EQ(miband_chunk_count(17, 17), 1);
	CHECK_EQ(miband_chunk_count(18, 17), 2);
	CHECK_EQ(miband_chunk_count(34, 17), 2);
	CHECK_EQ(miband_chunk_count(35, 17), 3);
	CHECK_EQ(miband_chunk_count(5, 0), 0);

	/* single */
	CHECK_EQ(miband_encode_chunk(buf, sizeof(buf), 0, msg, 5, 0, 17), 8);
	CHECK_EQ(buf[0], 0x00);
	CHECK_EQ(buf[1], 0xc0);
	CHECK_EQ(buf[2], 0x00);
	CHECK_MEM(buf + 3, msg, 5);
	/* type is or-ed in */
	CHECK_EQ(miband_encode_chunk(buf, sizeof(buf), 3, msg, 5, 0, 17), 8);
	CHECK_EQ(buf[1], 0xc3);

	/* 40 bytes: first, middle, last; reassembles */
	n = miband_chunk_count(40, 17);
	CHECK_EQ(n, 3);
	total = 0;
	for (i = 0; i < n; i++) {
		static const uint8_t flags[3] = {0x00, 0x40, 0x80};

		r = miband_encode_chunk(buf, 20, 0, msg, 40, i, 17);
		CHECK(r > 3);
		CHECK_EQ(buf[0], 0x00);
		CHECK_EQ(buf[1], flags[i]);
		CHECK_EQ(buf[2], i);
		memcpy(back + total, buf + 3, (size_t)r - 3);
		total += (size_t)r - 3;
	}
	CHECK_EQ(total, 40);
	CHECK_MEM(back, msg, 40);
	CHECK_EQ(miband_encode_chunk(buf, 20, 0, msg, 40, 1, 17), 20);
	CHECK_EQ(miband_encode_chunk(buf, 20, 0, msg, 40, 2, 17), 9);
	/* two chunks: first, last */
	CHECK_EQ(miband_encode_chunk(buf, 20, 0, msg, 18, 1, 17), 4);
	CHECK_EQ(buf[1], 0x80);
	CHECK_EQ(buf[2], 1);
	CHECK_EQ(buf[3], msg[17]);

	CHECK_EQ(miband_encode_chunk(buf, 20, 0, msg, 40, 3, 17),
		 MIBAND_E_INVAL);
	CHECK_EQ(miband_encode_chunk(buf, 20, 0x40, msg, 40, 0, 17),
		 MIBAND_E_INVAL);
	CHECK_CAPS(miband_encode_chunk(cb_, cap_, 0, msg, 40, 0, 17), 20);
}

/* ---- configuration ---- */

TEST(config_encoders)
{
	static const struct {
		int which;
		const char *hex;
	} v[] = {
		{0, "06 02 00 01"},
		{1, "06 02 00 00"},
		{2, "06 0a 00 03"},
		{3, "06 0a 00 00"},
		{4, "06 03 00 01"},
		{5, "06 03 00 00"},
		{6, "06 05 00 01 00 00 00 00"},
		{7, "06 05 00 00"},
		{8, "06 06 00 01"},
		{9, "06 0d 00 01"},
		{10, "06 10 00 00 01"},
		{11, "06 10 00 00 00"},
		{12, "06 16 00 01"},
		{13, "1a 00"},
		{14, "1a 01 16 1e 07 00"},
		{15, "1a 02"},
		{16, "09 82"},
		{17, "09 81 17 00 06 1e"},
		{18, "09 83"},
		{19, "0a 7f 00 00 01 02 03 04 05 06 07 08"},
		{20, "0a ff 01 00 01 02 03 04 05 06 07 08"},
		{21, "06 1e 00 64 64 2e 4d 4d 2e 79 79 79 79"},
	};
	uint8_t buf[32], want[32];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int n = test_hex(v[i].hex, want, sizeof(want)), r = -99;

		switch (v[i].which) {
		case 0:
			r = miband_encode_config_time_format(buf, 32, true);
			break;
		case 1:
			r = miband_encode_config_time_format(buf, 32, false);
			break;
		case 2:
			r = miband_encode_config_date_display(buf, 32, true);
			break;
		case 3:
			r = miband_encode_config_date_display(buf, 32, false);
			break;
		case 4:
			r = miband_encode_config_distance_unit(buf, 32, true);
			break;
		case 5:
			r = miband_encode_config_distance_unit(buf, 32, false);
			break;
		case 6:
			r = miband_encode_config_lift_wrist(buf, 32, true);
			break;
		case 7:
			r = miband_encode_config_lift_wrist(buf, 32, false);
			break;
		case 8:
			r = miband_encode_config_goal_notification(buf, 32,
								   true);
			break;
		case 9:
			r = miband_encode_config_rotate_wrist(buf, 32, true);
			break;
		case 10:
			r = miband_encode_config_display_caller(buf, 32, true);
			break;
		case 11:
			r = miband_encode_config_display_caller(buf, 32, false);
			break;
		case 12:
			r = miband_encode_config_screen_unlock(buf, 32, true);
			break;
		case 13:
			r = miband_encode_config_night_mode(buf, 32, 0, 1, 2, 3,
							    4);
			break;
		case 14:
			r = miband_encode_config_night_mode(buf, 32, 1, 22, 30,
							    7, 0);
			break;
		case 15:
			r = miband_encode_config_night_mode(buf, 32, 2, 0, 0, 0,
							    0);
			break;
		case 16:
			r = miband_encode_config_dnd(buf, 32, 0, 0, 0, 0, 0);
			break;
		case 17:
			r = miband_encode_config_dnd(buf, 32, 1, 23, 0, 6, 30);
			break;
		case 18:
			r = miband_encode_config_dnd(buf, 32, 2, 0, 0, 0, 0);
			break;
		case 19:
			r = miband_encode_config_display_items(buf, 32, 0x7e);
			break;
		case 20:
			r = miband_encode_config_display_items(buf, 32, 0x1ff);
			break;
		case 21:
			r = miband_encode_config_date_format(buf, 32,
							     "dd.MM.yyyy");
			break;
		}
		if (r != n || memcmp(buf, want, (size_t)n)) {
			TEST_FAIL_AT(__FILE__, __LINE__, "case %d", v[i].which);
			return;
		}
	}
	CHECK_EQ(miband_encode_config_night_mode(buf, 32, 1, 24, 0, 7, 0),
		 MIBAND_E_INVAL);
	CHECK_EQ(miband_encode_config_dnd(buf, 32, 1, 23, 60, 7, 0),
		 MIBAND_E_INVAL);
	CHECK_EQ(miband_encode_config_dnd(buf, 32, 3, 0, 0, 0, 0),
		 MIBAND_E_INVAL);
	CHECK_EQ(miband_encode_config_display_items(buf, 32, 0x200),
		 MIBAND_E_INVAL);
	CHECK_EQ(miband_encode_config_date_format(buf, 32, ""), MIBAND_E_INVAL);
	CHECK_EQ(miband_encode_config_date_format(buf, 32, "dd\n"),
		 MIBAND_E_INVAL);
	CHECK_EQ(
		miband_encode_config_date_format(buf, 32, "dddddddddddddddddd"),
		MIBAND_E_INVAL);
	CHECK_CAPS(miband_encode_config_lift_wrist(cb_, cap_, true), 8);
	CHECK_CAPS(miband_encode_config_dnd(cb_, cap_, 1, 1, 2, 3, 4), 6);
	CHECK_CAPS(miband_encode_config_display_items(cb_, cap_, 1), 12);
}

TEST(config_reply)
{
	uint8_t msg[8];
	uint8_t cmd = 0, status = 0;

	CHECK_EQ(test_hex("10 06 0a 00 01", msg, sizeof(msg)), 5);
	CHECK_EQ(miband_decode_config_reply(msg, 5, &cmd, &status), 0);
	CHECK_EQ(cmd, 0x06);
	CHECK_EQ(status, 0x01);
	CHECK_EQ(miband_decode_config_reply(msg, 3, &cmd, &status), 0);
	CHECK_EQ(status, 0x0a);
	CHECK_EQ(miband_decode_config_reply(msg, 2, &cmd, &status),
		 MIBAND_E_MALFORMED);
	msg[0] = 0x11;
	CHECK_EQ(miband_decode_config_reply(msg, 5, &cmd, &status),
		 MIBAND_E_MALFORMED);
}

/* ---- user settings ---- */

TEST(user_info)
{
	struct miband_user_info u = {1990, 6, 15, 1, 170, 60, 12345678};
	uint8_t buf[20], want[20];

	CHECK_EQ(miband_encode_user_info(buf, sizeof(buf), &u, true), 16);
	/* weight 60 kg * 200 = 12000 = 0x2ee0 */
	CHECK_EQ(test_hex("4f 00 00 c6 07 06 0f 01 aa 00 e0 2e 4e 61 bc 00",
			  want, sizeof(want)),
		 16);
	CHECK_MEM(buf, want, 16);
	CHECK_EQ(miband_encode_user_info(buf, sizeof(buf), &u, false), 16);
	CHECK_EQ(buf[10], 60);
	CHECK_EQ(buf[11], 0);
	CHECK_CAPS(miband_encode_user_info(cb_, cap_, &u, true), 16);
	u.weight_kg = 328; /* 65600 does not fit 16 bits */
	CHECK_EQ(miband_encode_user_info(buf, sizeof(buf), &u, true),
		 MIBAND_E_INVAL);
	CHECK_EQ(miband_encode_user_info(buf, sizeof(buf), &u, false), 16);
	u.sex = 3;
	CHECK_EQ(miband_encode_user_info(buf, sizeof(buf), &u, false),
		 MIBAND_E_INVAL);
	u.sex = 0;
	u.birth_month = 13;
	CHECK_EQ(miband_encode_user_info(buf, sizeof(buf), &u, false),
		 MIBAND_E_INVAL);

	CHECK_EQ(miband_encode_step_goal(buf, sizeof(buf), 8000), 7);
	CHECK_EQ(test_hex("10 00 00 40 1f 00 00", want, sizeof(want)), 7);
	CHECK_MEM(buf, want, 7);
	CHECK_EQ(miband_encode_wear_location(buf, sizeof(buf), false), 4);
	CHECK_EQ(test_hex("20 00 00 02", want, sizeof(want)), 4);
	CHECK_MEM(buf, want, 4);
	CHECK_EQ(miband_encode_wear_location(buf, sizeof(buf), true), 4);
	CHECK_EQ(buf[3], 0x82);
	CHECK_CAPS(miband_encode_step_goal(cb_, cap_, 1), 7);
}

/* ---- fetch ---- */

TEST(fetch_start)
{
	struct miband_time since = {2019, 6, 1, 10, 42, 17, 0, 8};
	uint8_t buf[16], want[16];

	CHECK_EQ(miband_encode_fetch_start(buf, sizeof(buf),
					   MIBAND_FETCH_TYPE_ACTIVITY, &since),
		 10);
	/* minute precision: the seconds go out as 00 */
	CHECK_EQ(test_hex("01 01 e3 07 06 01 0a 2a 00 08", want, sizeof(want)),
		 10);
	CHECK_MEM(buf, want, 10);
	CHECK_CAPS(miband_encode_fetch_start(cb_, cap_, 1, &since), 10);
	since.month = 0;
	CHECK_EQ(miband_encode_fetch_start(buf, sizeof(buf), 1, &since),
		 MIBAND_E_INVAL);
}

TEST(fetch_replies)
{
	struct miband_time first = {2019, 6, 1, 10, 43, 0, 0, 8};
	struct miband_fetch_reply f;
	uint8_t msg[20], buf[20];

	CHECK_EQ(test_hex("10 01 01 a0 05 00 00 e3 07 06 01 0a 2b 00 08", msg,
			  sizeof(msg)),
		 15);
	CHECK_EQ(miband_decode_fetch_reply(msg, 15, &f), 0);
	CHECK_EQ(f.cmd, 1);
	CHECK_EQ(f.status, 1);
	CHECK_EQ(f.count, 1440);
	CHECK_EQ(f.first.year, 2019);
	CHECK_EQ(f.first.minute, 43);
	CHECK_EQ(f.first.tz, 8);
	CHECK_EQ(bad_truncation(dec_fetch, msg, 15, 99), -1);
	/* the prefix 10 01 01 alone is not a valid start reply either */
	CHECK_EQ(dec_fetch(msg, 3), MIBAND_E_MALFORMED);
	CHECK_EQ(miband_encode_fetch_reply_start(buf, sizeof(buf), 1, 1440,
						 &first),
		 15);
	CHECK_MEM(buf, msg, 15);
	CHECK_CAPS(miband_encode_fetch_reply_start(cb_, cap_, 1, 1440, &first),
		   15);

	/* Mi Band 7: one trailing 00 */
	msg[15] = 0x00;
	CHECK_EQ(miband_decode_fetch_reply(msg, 16, &f), 0);
	msg[15] = 0x01;
	CHECK_EQ(dec_fetch(msg, 16), MIBAND_E_MALFORMED);

	/* a refusal: 10 01 04 */
	CHECK_EQ(miband_encode_fetch_reply_start(buf, sizeof(buf), 4, 0, NULL),
		 3);
	CHECK_EQ(miband_decode_fetch_reply(buf, 3, &f), 0);
	CHECK_EQ(f.cmd, 1);
	CHECK_EQ(f.status, 4);
	CHECK_EQ(bad_truncation(dec_fetch, buf, 3, 99), -1);

	CHECK_EQ(test_hex("10 02 01", msg, sizeof(msg)), 3);
	CHECK_EQ(miband_decode_fetch_reply(msg, 3, &f), 0);
	CHECK_EQ(f.cmd, 2);
	CHECK_EQ(f.status, 1);
	CHECK_EQ(bad_truncation(dec_fetch, msg, 3, 99), -1);
	CHECK_EQ(test_hex("10 03 01", msg, sizeof(msg)), 3);
	CHECK_EQ(miband_decode_fetch_reply(msg, 3, &f), 0);
	CHECK_EQ(f.cmd, 3);
	CHECK_EQ(test_hex("10 04 01", msg, sizeof(msg)), 3);
	CHECK_EQ(dec_fetch(msg, 3), MIBAND_E_MALFORMED);
	/* bad date in the start reply */
	CHECK_EQ(test_hex("10 01 01 a0 05 00 00 e3 07 0d 01 0a 2b 00 08", msg,
			  sizeof(msg)),
		 15);
	CHECK_EQ(dec_fetch(msg, 15), MIBAND_E_MALFORMED);
}

TEST(fetch_packet_mb2)
{
	/* Real Mi Band 2 packet (GB #691) */
	uint8_t msg[20];
	const uint8_t *p = NULL;
	struct miband_sample s;
	uint8_t counter = 0;
	int n;

	CHECK_EQ(test_hex("24 00 0c 00 ff 0a 14 00 ff 0a 14 00 ff 0a 14 00 ff",
			  msg, sizeof(msg)),
		 17);
	n = miband_decode_fetch_packet(msg, 17, &counter, &p);
	CHECK_EQ(n, 4);
	CHECK_EQ(counter, 0x24);
	CHECK(p == msg + 1);
	miband_sample_decode(p, &s);
	CHECK_EQ(s.kind, 0x00);
	CHECK_EQ(s.intensity, 0x0c);
	CHECK_EQ(s.steps, 0);
	CHECK_EQ(s.heart_rate, 0xff);
	miband_sample_decode(p + 3 * MIBAND_SAMPLE_LEN, &s);
	CHECK_EQ(s.kind & 0x0f, 10); /* "ignore" */
	CHECK_EQ(s.intensity, 0x14);
	CHECK_EQ(s.heart_rate, 0xff);
	/* truncations that are still whole packets: 13, 9, 5 bytes */
	CHECK_EQ(miband_decode_fetch_packet(msg, 13, NULL, NULL), 3);
	CHECK_EQ(miband_decode_fetch_packet(msg, 5, NULL, NULL), 1);
	CHECK_EQ(miband_decode_fetch_packet(msg, 16, NULL, NULL),
		 MIBAND_E_MALFORMED);
	CHECK_EQ(miband_decode_fetch_packet(msg, 1, NULL, NULL),
		 MIBAND_E_MALFORMED);
	CHECK_EQ(dec_packet(NULL, 0), MIBAND_E_MALFORMED);
}

/* ---- profile and errors ---- */

TEST(profile_channels)
{
	char uuid[40];
	enum miband_channel ch;
	const struct miband_channel_info *ci;
	int i;

	CHECK_EQ(miband_channel_uuid(MIBAND_CH_AUTH, uuid, sizeof(uuid)), 0);
	CHECK_STR(uuid, "00000009-0000-3512-2118-0009af100700");
	CHECK_EQ(miband_channel_uuid(MIBAND_CH_TIME, uuid, sizeof(uuid)), 0);
	CHECK_STR(uuid, "00002a2b-0000-1000-8000-00805f9b34fb");
	CHECK_EQ(miband_channel_uuid(MIBAND_CH_CHUNKED, uuid, sizeof(uuid)), 0);
	CHECK_STR(uuid, "00000020-0000-3512-2118-0009af100700");
	CHECK_EQ(miband_channel_uuid(MIBAND_CH_TIME, uuid, 36),
		 MIBAND_E_NOSPACE);
	CHECK_EQ(miband_uuid16_str(0xfee0, false, uuid, sizeof(uuid)), 0);
	CHECK_STR(uuid, "0000fee0-0000-1000-8000-00805f9b34fb");
	CHECK_EQ(miband_channel_from_uuid(
			 "00000009-0000-3512-2118-0009AF100700", &ch),
		 0);
	CHECK_EQ(ch, MIBAND_CH_AUTH);
	CHECK_EQ(miband_channel_from_uuid("2A37", &ch), 0);
	CHECK_EQ(ch, MIBAND_CH_HR_MEAS);
	CHECK_EQ(miband_channel_from_uuid(
			 "00000009-0000-1000-8000-00805f9b34fb", &ch),
		 MIBAND_E_INVAL);
	CHECK_EQ(miband_channel_from_uuid(
			 "00000099-0000-3512-2118-0009af100700", &ch),
		 MIBAND_E_INVAL);
	CHECK_EQ(miband_channel_from_uuid(
			 "0000000g-0000-3512-2118-0009af100700", &ch),
		 MIBAND_E_INVAL);
	for (i = 0; i < MIBAND_CH_COUNT; i++) {
		ci = miband_channel_info((enum miband_channel)i);
		CHECK(ci != NULL);
		CHECK_EQ(ci->channel, i);
		CHECK(ci->name != NULL);
		CHECK_EQ(miband_channel_uuid((enum miband_channel)i, uuid,
					     sizeof(uuid)),
			 0);
		CHECK_EQ(strlen(uuid), 36);
		CHECK_EQ(miband_channel_from_uuid(uuid, &ch), 0);
		CHECK_EQ(ch, i);
	}
	CHECK(miband_channel_info(MIBAND_CH_COUNT) == NULL);
	ci = miband_channel_info(MIBAND_CH_AUTH);
	CHECK_EQ(ci->service16, 0xfee1);
	CHECK_EQ(ci->props,
		 MIBAND_PROP_READ | MIBAND_PROP_WRITE_NR | MIBAND_PROP_NOTIFY);
	ci = miband_channel_info(MIBAND_CH_ALERT);
	CHECK_EQ(ci->props, MIBAND_PROP_WRITE_NR);
	ci = miband_channel_info(MIBAND_CH_NEW_ALERT);
	CHECK_EQ(ci->props, MIBAND_PROP_WRITE);
	CHECK_EQ(ci->service16, 0x1811);
	ci = miband_channel_info(MIBAND_CH_HR_CTL);
	CHECK_EQ(ci->props, MIBAND_PROP_READ | MIBAND_PROP_WRITE);
}

TEST(profile_models)
{
	enum miband_model m = MIBAND_MODEL_COUNT;

	CHECK_STR(miband_model_name(MIBAND_MODEL_MB3), "mb3");
	CHECK_STR(miband_model_display_name(MIBAND_MODEL_MB3), "Mi Band 3");
	CHECK(miband_model_name(MIBAND_MODEL_COUNT) == NULL);
	CHECK_EQ(miband_model_parse("mb3", &m), 0);
	CHECK_EQ(m, MIBAND_MODEL_MB3);
	CHECK_EQ(miband_model_parse("2", &m), 0);
	CHECK_EQ(m, MIBAND_MODEL_MB2);
	CHECK_EQ(miband_model_parse("miband4", &m), 0);
	CHECK_EQ(m, MIBAND_MODEL_MB4);
	CHECK_EQ(miband_model_parse("Mi Band 5", &m), 0);
	CHECK_EQ(m, MIBAND_MODEL_MB5);
	CHECK_EQ(miband_model_parse("MB6", &m), 0);
	CHECK_EQ(m, MIBAND_MODEL_MB6);
	m = MIBAND_MODEL_MB3;
	CHECK_EQ(miband_model_parse("mb7", &m), MIBAND_E_INVAL);
	CHECK_EQ(miband_model_parse("", &m), MIBAND_E_INVAL);
	CHECK_EQ(miband_model_parse("band3", &m), MIBAND_E_INVAL);
	CHECK_EQ(miband_model_parse("mb33", &m), MIBAND_E_INVAL);
	CHECK_EQ(m, MIBAND_MODEL_MB3);
	CHECK_EQ(miband_model_auth_flags(MIBAND_MODEL_MB2), 0x08);
	CHECK_EQ(miband_model_crypt_flags(MIBAND_MODEL_MB2), 0x00);
	CHECK_EQ(miband_model_auth_flags(MIBAND_MODEL_MB3), 0x00);
	CHECK_EQ(miband_model_crypt_flags(MIBAND_MODEL_MB3), 0x00);
	CHECK_EQ(miband_model_auth_flags(MIBAND_MODEL_MB4), 0x08);
	CHECK_EQ(miband_model_crypt_flags(MIBAND_MODEL_MB4), 0x80);
	CHECK_EQ(miband_model_crypt_flags(MIBAND_MODEL_MB6), 0x80);
}

TEST(errors)
{
	CHECK_STR(miband_err_name(MIBAND_E_WRONG_KEY), "WRONG_KEY");
	CHECK(strstr(miband_strerror(MIBAND_E_WRONG_KEY), "10 03 04") != NULL);
	CHECK_STR(miband_strerror(-9999), "unknown error");
	CHECK_STR(miband_err_name(-9999), "UNKNOWN");
	CHECK_STR(miband_err_name(0), "OK");
	CHECK(miband_is_fatal(MIBAND_E_DISCONNECTED));
	CHECK(miband_is_fatal(MIBAND_E_INTERNAL));
	CHECK(!miband_is_fatal(MIBAND_E_WRONG_KEY));
	CHECK(!miband_is_fatal(MIBAND_E_TIMEOUT));
	CHECK(!miband_is_fatal(-9999));
}

TEST(util)
{
	uint8_t a[16], b[16];

	memset(a, 0x5a, sizeof(a));
	memcpy(b, a, sizeof(b));
	CHECK_EQ(miband_ct_memcmp(a, b, 16), 0);
	b[15] ^= 1;
	CHECK(miband_ct_memcmp(a, b, 16) != 0);
	CHECK_EQ(miband_ct_memcmp(a, b, 15), 0);
	miband_wipe(a, sizeof(a));
	memset(b, 0, sizeof(b));
	CHECK_MEM(a, b, 16);
	miband_wipe(NULL, 4);
}

/* ---- the band's side: each encoder with its decoder ---- */

TEST(auth_band_side)
{
	uint8_t buf[32], rnd[16], flags = 0xff, crypt = 0xff;
	const uint8_t *p = NULL;
	struct miband_auth_reply r;
	int n;

	n = miband_encode_auth_set_key(buf, sizeof(buf), 0x08, key71);
	CHECK_EQ(miband_decode_auth_set_key(buf, (size_t)n, &flags, &p), 0);
	CHECK_EQ(flags, 0x08);
	CHECK(p == buf + 2);
	CHECK_EQ(bad_truncation(dec_set_key, buf, (size_t)n, 99), -1);
	buf[0] = 0x02;
	CHECK_EQ(dec_set_key(buf, (size_t)n), MIBAND_E_MALFORMED);

	n = miband_encode_auth_request_random(buf, sizeof(buf), 0x08, 0);
	CHECK_EQ(miband_decode_auth_request_random(buf, (size_t)n, &flags,
						   &crypt),
		 0);
	CHECK_EQ(flags, 0x08);
	CHECK_EQ(crypt, 0);
	CHECK_EQ(bad_truncation(dec_random_req, buf, (size_t)n, 99), -1);
	n = miband_encode_auth_request_random(buf, sizeof(buf), 0x00, 0x80);
	CHECK_EQ(miband_decode_auth_request_random(buf, (size_t)n, &flags,
						   &crypt),
		 0);
	CHECK_EQ(flags, 0x00);
	CHECK_EQ(crypt, 0x80);
	/* 82 00 alone is taken; 82 00 with another tail is unknown. */
	CHECK_EQ(bad_truncation(dec_random_req, buf, (size_t)n, 2), -1);
	buf[4] = 0x01;
	CHECK_EQ(dec_random_req(buf, 5), MIBAND_E_UNSUPPORTED);

	CHECK_EQ(test_hex("ce1c0135db39e61f1a27012fb907df3b", rnd, 16), 16);
	n = miband_encode_auth_answer(buf, sizeof(buf), 0x08, 0x80, rnd);
	CHECK_EQ(miband_decode_auth_answer(buf, (size_t)n, &flags, &crypt, &p),
		 0);
	CHECK_EQ(flags, 0x08);
	CHECK_EQ(crypt, 0x80);
	CHECK_MEM(p, rnd, 16);
	CHECK_EQ(bad_truncation(dec_answer, buf, (size_t)n, 99), -1);
	buf[0] = 0x02;
	CHECK_EQ(dec_answer(buf, (size_t)n), MIBAND_E_MALFORMED);

	n = miband_encode_auth_reply(buf, sizeof(buf), 0x82, 0x01, rnd, 16);
	CHECK_EQ(n, 19);
	CHECK_EQ(miband_decode_auth_reply(buf, (size_t)n, &r), 0);
	CHECK_EQ(r.cmd, 0x82);
	CHECK_EQ(r.status, 0x01);
	CHECK_EQ(r.payload_len, 16);
	CHECK_MEM(r.payload, rnd, 16);
	n = miband_encode_auth_reply(buf, sizeof(buf), 0x01, 0x02, NULL, 0);
	CHECK_EQ(n, 3);
	CHECK_EQ(miband_decode_auth_reply(buf, (size_t)n, &r), 0);
	CHECK_EQ(r.cmd, 0x01);
	CHECK_EQ(r.status, 0x02);
	CHECK_CAPS(miband_encode_auth_reply(cb_, cap_, 0x02, 1, rnd, 16), 19);
	CHECK_EQ(miband_encode_auth_reply(buf, sizeof(buf), 1, 1, NULL, 1),
		 MIBAND_E_INVAL);
}

TEST(hr_control)
{
	uint8_t buf[8], want[8];
	struct miband_hr_control c;

	CHECK_EQ(miband_encode_hr_control(buf, sizeof(buf),
					  MIBAND_HR_MODE_MANUAL, true),
		 3);
	CHECK_EQ(test_hex("15 02 01", want, sizeof(want)), 3);
	CHECK_MEM(buf, want, 3);
	CHECK_EQ(miband_decode_hr_control(buf, 3, &c), 0);
	CHECK_EQ(c.cmd, MIBAND_HR_CMD_CONTROL);
	CHECK_EQ(c.mode, MIBAND_HR_MODE_MANUAL);
	CHECK_EQ(c.arg, 1);
	CHECK_EQ(bad_truncation(dec_hr_control, buf, 3, 99), -1);
	CHECK_EQ(miband_encode_hr_control(buf, sizeof(buf),
					  MIBAND_HR_MODE_CONTINUOUS, false),
		 3);
	CHECK_EQ(test_hex("15 01 00", want, sizeof(want)), 3);
	CHECK_MEM(buf, want, 3);
	CHECK_CAPS(miband_encode_hr_control(cb_, cap_, 1, true), 3);
	CHECK_EQ(miband_encode_hr_control(buf, sizeof(buf), 3, true),
		 MIBAND_E_INVAL);

	CHECK_EQ(miband_encode_hr_interval(buf, sizeof(buf), 10), 2);
	CHECK_EQ(buf[0], 0x14);
	CHECK_EQ(buf[1], 10);
	CHECK_EQ(miband_decode_hr_control(buf, 2, &c), 0);
	CHECK_EQ(c.cmd, MIBAND_HR_CMD_INTERVAL);
	CHECK_EQ(c.arg, 10);
	CHECK_EQ(bad_truncation(dec_hr_control, buf, 2, 99), -1);
	CHECK_CAPS(miband_encode_hr_interval(cb_, cap_, 1), 2);

	CHECK_EQ(miband_encode_hr_ping(buf, sizeof(buf)), 1);
	CHECK_EQ(buf[0], 0x16);
	CHECK_EQ(miband_decode_hr_control(buf, 1, &c), 0);
	CHECK_EQ(c.cmd, MIBAND_HR_CMD_PING);
	CHECK_EQ(bad_truncation(dec_hr_control, buf, 1, 99), -1);
	CHECK_CAPS(miband_encode_hr_ping(cb_, cap_), 1);

	buf[0] = 0x17;
	CHECK_EQ(miband_decode_hr_control(buf, 1, &c), MIBAND_E_UNSUPPORTED);
	CHECK_EQ(miband_decode_hr_control(buf, 0, &c), MIBAND_E_MALFORMED);
}

TEST(fetch_band_side)
{
	struct miband_time since = {2019, 6, 1, 12, 34, 56, 0, 8};
	struct miband_sample in[3] = {
		{1, 2, 3, 4}, {5, 6, 7, 0xff}, {9, 0, 0, 0}};
	struct miband_fetch_request f;
	struct miband_fetch_reply fr;
	struct miband_sample out;
	uint8_t buf[32], counter;
	const uint8_t *p;
	int n, i;

	n = miband_encode_fetch_start(buf, sizeof(buf),
				      MIBAND_FETCH_TYPE_ACTIVITY, &since);
	CHECK_EQ(n, 10);
	CHECK_EQ(miband_decode_fetch_request(buf, (size_t)n, &f), 0);
	CHECK_EQ(f.cmd, MIBAND_FETCH_CMD_START);
	CHECK_EQ(f.type, MIBAND_FETCH_TYPE_ACTIVITY);
	CHECK_EQ(f.since.year, 2019);
	CHECK_EQ(f.since.month, 6);
	CHECK_EQ(f.since.day, 1);
	CHECK_EQ(f.since.hour, 12);
	CHECK_EQ(f.since.minute, 34);
	CHECK_EQ(f.since.second, 0); /* minute precision */
	CHECK_EQ(f.since.tz, 8);
	CHECK_EQ(bad_truncation(dec_fetch_request, buf, (size_t)n, 99), -1);
	buf[4] = 13; /* month 13 */
	CHECK_EQ(dec_fetch_request(buf, (size_t)n), MIBAND_E_BAD_TIME);

	CHECK_EQ(miband_encode_fetch_control(buf, sizeof(buf),
					     MIBAND_FETCH_CMD_GO),
		 1);
	CHECK_EQ(buf[0], 0x02);
	CHECK_EQ(miband_decode_fetch_request(buf, 1, &f), 0);
	CHECK_EQ(f.cmd, MIBAND_FETCH_CMD_GO);
	CHECK_EQ(bad_truncation(dec_fetch_request, buf, 1, 99), -1);
	CHECK_EQ(miband_encode_fetch_control(buf, sizeof(buf),
					     MIBAND_FETCH_CMD_ACK),
		 1);
	CHECK_EQ(buf[0], 0x03);
	CHECK_EQ(miband_decode_fetch_request(buf, 1, &f), 0);
	CHECK_EQ(f.cmd, MIBAND_FETCH_CMD_ACK);
	buf[1] = 0x09; /* an ack may carry more */
	CHECK_EQ(miband_decode_fetch_request(buf, 2, &f), 0);
	CHECK_CAPS(miband_encode_fetch_control(cb_, cap_, 2), 1);
	CHECK_EQ(miband_encode_fetch_control(buf, sizeof(buf), 1),
		 MIBAND_E_INVAL);
	buf[0] = 0x04;
	CHECK_EQ(miband_decode_fetch_request(buf, 1, &f), MIBAND_E_UNSUPPORTED);
	CHECK_EQ(miband_decode_fetch_request(buf, 0, &f), MIBAND_E_MALFORMED);

	for (i = 1; i <= 3; i++) {
		n = miband_encode_fetch_reply(buf, sizeof(buf), (uint8_t)i,
					      0x04);
		CHECK_EQ(n, 3);
		CHECK_EQ(miband_decode_fetch_reply(buf, 3, &fr), 0);
		CHECK_EQ(fr.cmd, i);
		CHECK_EQ(fr.status, 0x04);
	}
	CHECK_EQ(miband_encode_fetch_reply(buf, sizeof(buf), 2, 1), 3);
	CHECK_EQ(miband_decode_fetch_reply(buf, 3, &fr), 0);
	CHECK_EQ(fr.status, 0x01);
	CHECK_CAPS(miband_encode_fetch_reply(cb_, cap_, 3, 1), 3);
	/* A successful start carries a count: the other encoder. */
	CHECK_EQ(miband_encode_fetch_reply(buf, sizeof(buf), 1, 1),
		 MIBAND_E_INVAL);

	n = miband_encode_fetch_packet(buf, sizeof(buf), 7, in, 3);
	CHECK_EQ(n, 13);
	CHECK_EQ(miband_decode_fetch_packet(buf, (size_t)n, &counter, &p), 3);
	CHECK_EQ(counter, 7);
	for (i = 0; i < 3; i++) {
		miband_sample_decode(p + i * MIBAND_SAMPLE_LEN, &out);
		CHECK_EQ(out.kind, in[i].kind);
		CHECK_EQ(out.intensity, in[i].intensity);
		CHECK_EQ(out.steps, in[i].steps);
		CHECK_EQ(out.heart_rate, in[i].heart_rate);
	}
	CHECK_CAPS(miband_encode_fetch_packet(cb_, cap_, 0, in, 3), 13);
	CHECK_EQ(miband_encode_fetch_packet(buf, sizeof(buf), 0, in, 0),
		 MIBAND_E_INVAL);
}

TEST(alerts_band_side)
{
	struct miband_new_alert a;
	struct miband_chunk c;
	uint8_t buf[32], msg[40], level = 0xff, cmd = 0, status = 0;
	size_t i, k, got;
	int n;

	CHECK_EQ(miband_encode_alert(buf, sizeof(buf), MIBAND_ALERT_CALL), 1);
	CHECK_EQ(miband_decode_alert(buf, 1, &level), 0);
	CHECK_EQ(level, MIBAND_ALERT_CALL);
	CHECK_EQ(miband_decode_alert(buf, 0, &level), MIBAND_E_MALFORMED);
	CHECK_EQ(miband_encode_alert(buf, sizeof(buf), 4), MIBAND_E_INVAL);
	CHECK_CAPS(miband_encode_alert(cb_, cap_, 1), 1);

	n = miband_encode_new_alert(buf, sizeof(buf), MIBAND_CATEGORY_SMS, 1,
				    "hi there", 8);
	CHECK_EQ(n, 10);
	CHECK_EQ(miband_decode_new_alert(buf, (size_t)n, &a), 0);
	CHECK_EQ(a.category, MIBAND_CATEGORY_SMS);
	CHECK_EQ(a.count, 1);
	CHECK_EQ(a.text_len, 8);
	CHECK_MEM(a.text, "hi there", 8);
	for (i = 0; i < 2; i++)
		CHECK_EQ(miband_decode_new_alert(buf, i, &a),
			 MIBAND_E_MALFORMED);
	/* Call stop: 03 00, no text. */
	CHECK_EQ(miband_encode_new_alert(buf, sizeof(buf), MIBAND_CATEGORY_CALL,
					 0, NULL, 0),
		 2);
	CHECK_EQ(miband_decode_new_alert(buf, 2, &a), 0);
	CHECK_EQ(a.count, 0);
	CHECK_EQ(a.text_len, 0);
	/* A custom category's icon comes before the text. */
	CHECK_EQ(test_hex("fa 01 0b 41 42", buf, sizeof(buf)), 5);
	CHECK_EQ(miband_decode_new_alert(buf, 5, &a), 0);
	CHECK_EQ(a.icon, 0x0b);
	CHECK_EQ(a.text_len, 2);
	CHECK_MEM(a.text, "AB", 2);

	/* A 40-byte message in 17-byte chunks, reassembled. */
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)('a' + i % 26);
	got = 0;
	for (k = 0; k < miband_chunk_count(sizeof(msg), 17); k++) {
		n = miband_encode_chunk(buf, sizeof(buf), 0, msg, sizeof(msg),
					k, 17);
		CHECK(n > 3);
		CHECK_EQ(miband_decode_chunk(buf, (size_t)n, &c), 0);
		CHECK_EQ(c.flags, k == 0   ? MIBAND_CHUNK_FIRST
				  : k == 2 ? MIBAND_CHUNK_LAST
					   : MIBAND_CHUNK_MIDDLE);
		CHECK_EQ(c.type, 0);
		CHECK_EQ(c.counter, k);
		CHECK_MEM(c.data, msg + got, c.len);
		got += c.len;
		for (i = 0; i < 3; i++)
			CHECK_EQ(miband_decode_chunk(buf, i, &c),
				 MIBAND_E_MALFORMED);
	}
	CHECK_EQ(got, sizeof(msg));
	n = miband_encode_chunk(buf, sizeof(buf), 5, msg, 3, 0, 17);
	CHECK_EQ(miband_decode_chunk(buf, (size_t)n, &c), 0);
	CHECK_EQ(c.flags, MIBAND_CHUNK_SINGLE);
	CHECK_EQ(c.type, 5);
	buf[0] = 0x01;
	CHECK_EQ(miband_decode_chunk(buf, (size_t)n, &c), MIBAND_E_UNSUPPORTED);

	/* A setting echoes its 3-byte prefix, a command its byte. */
	n = miband_encode_config_lift_wrist(msg, sizeof(msg), true);
	n = miband_encode_config_reply(buf, sizeof(buf), msg, (size_t)n, 1);
	CHECK_EQ(n, 5);
	CHECK_EQ(miband_decode_config_reply(buf, (size_t)n, &cmd, &status), 0);
	CHECK_EQ(cmd, 0x06);
	CHECK_EQ(status, 1);
	CHECK_EQ(buf[2], 0x05);
	n = miband_encode_config_display_items(msg, sizeof(msg), 0x1ff);
	n = miband_encode_config_reply(buf, sizeof(buf), msg, (size_t)n, 2);
	CHECK_EQ(n, 3);
	CHECK_EQ(miband_decode_config_reply(buf, (size_t)n, &cmd, &status), 0);
	CHECK_EQ(cmd, 0x0a);
	CHECK_EQ(status, 2);
	CHECK_CAPS(miband_encode_config_reply(cb_, cap_, msg, 1, 1), 3);
	CHECK_EQ(miband_encode_config_reply(buf, sizeof(buf), msg, 0, 1),
		 MIBAND_E_INVAL);
}

TEST(device_event_encode)
{
	static const struct {
		uint8_t code;
		uint16_t arg;
		size_t len;
	} cases[] = {
		{MIBAND_DEV_BUTTON, 0, 1},
		{MIBAND_DEV_SILENT_MODE, 1, 2},
		{MIBAND_DEV_MUSIC, 0x03, 2},
		{MIBAND_DEV_MTU, 247, 3},
		{MIBAND_DEV_WORKOUT_START, 0x0105, 4},
		{0x77, 0, 1},
		{0x77, 9, 2},
	};
	struct miband_device_event ev;
	uint8_t buf[8];
	size_t i;
	int n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = miband_encode_device_event(buf, sizeof(buf), cases[i].code,
					       cases[i].arg);
		CHECK_EQ(n, cases[i].len);
		CHECK_EQ(miband_decode_device_event(buf, (size_t)n, &ev), 0);
		CHECK_EQ(ev.code, cases[i].code);
		CHECK_EQ(ev.arg, cases[i].arg);
		CHECK_CAPS(miband_encode_device_event(cb_, cap_, cases[i].code,
						      cases[i].arg),
			   cases[i].len);
	}
	CHECK_EQ(miband_encode_device_event(buf, sizeof(buf), MIBAND_DEV_MUSIC,
					    0x100),
		 MIBAND_E_INVAL);
}

TEST_MAIN(T(auth_set_key), T(auth_request_random), T(auth_answer),
	  T(auth_reply_decode), T(calendar), T(time_gb_vector),
	  T(time_real_reads), T(time_garbage), T(time_unix_round_trip),
	  T(datetime7), T(battery_mx_example), T(battery_variants),
	  T(steps_examples), T(heart_rate), T(device_events), T(utf8_cut),
	  T(new_alert), T(app_notification_layout), T(app_notification_cuts),
	  T(chunks), T(config_encoders), T(config_reply), T(user_info),
	  T(fetch_start), T(fetch_replies), T(fetch_packet_mb2),
	  T(profile_channels), T(profile_models), T(errors), T(util),
	  T(auth_band_side), T(hr_control), T(fetch_band_side),
	  T(alerts_band_side), T(device_event_encode))
