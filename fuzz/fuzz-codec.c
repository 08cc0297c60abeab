/*
 * Every decoder of include/miband/codec.h on arbitrary bytes; where a
 * decode succeeds, the value re-encodes and decodes to the same value.
 * The text paths against an independent UTF-8 reading: miband_utf8_cut()
 * accepts exactly the valid (RFC 3629) texts and cuts at the longest
 * character boundary within the limit; alerts and app notifications stay
 * within their limits as valid UTF-8; chunks of any message reassemble
 * to it.  Encoders never write past the capacity they are given.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "miband/codec.h"
#include "miband/error.h"

static void time_eq(const struct miband_time *a, const struct miband_time *b)
{
	FUZZ_ASSERT(a->year == b->year && a->month == b->month &&
		    a->day == b->day && a->hour == b->hour &&
		    a->minute == b->minute && a->second == b->second);
}

/* Strict UTF-8: length of the sequence at s, 0 if invalid. */
static size_t u8_seq(const uint8_t *s, size_t n)
{
	size_t len, i;
	uint32_t v;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		v = s[0] & 0x1fu;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		v = s[0] & 0x0fu;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		v = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3fu);
	}
	if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) ||
	    (len == 4 && v < 0x10000) || (v >= 0xd800 && v <= 0xdfff) ||
	    v > 0x10ffff)
		return 0;
	return len;
}

static bool u8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = u8_seq(s + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

static void check_utf8_cut(const uint8_t *data, size_t size, size_t max)
{
	int n = miband_utf8_cut((const char *)data, size, max);
	size_t i = 0, k, want = 0;

	if (!u8_valid(data, size)) {
		FUZZ_ASSERT(n == MIBAND_E_BAD_UTF8);
		return;
	}
	/* the longest prefix of whole characters within max */
	while (i < size && (k = u8_seq(data + i, size - i)) && i + k <= max) {
		i += k;
		want = i;
	}
	FUZZ_ASSERT(n >= 0 && (size_t)n == want);
}

static void check_text(const uint8_t *data, size_t size)
{
	char title[40], body[300];
	uint8_t msg[MIBAND_TEXT_MAX + 16], buf[64];
	size_t tl = size < sizeof(title) - 1 ? size : sizeof(title) - 1;
	size_t bl = size < sizeof(body) - 1 ? size : sizeof(body) - 1;
	size_t max = size ? 8 + data[0] % (MIBAND_TEXT_MAX - 7) : 230;
	uint8_t cat = size > 1 ? data[1] : MIBAND_CATEGORY_SMS;
	size_t cap = size > 2 ? 2 + data[2] % 19 : 20;
	int n;

	memcpy(title, data, tl);
	title[tl] = 0;
	memcpy(body, data, bl);
	body[bl] = 0;
	memset(msg, 0x5a, sizeof(msg));
	n = miband_encode_app_notification(msg, max, max, cat, 0x11, title,
					   body, cat == 0xfa ? title : NULL);
	FUZZ_ASSERT(n < 0 || (size_t)n <= max);
	FUZZ_ASSERT(msg[max] == 0x5a);
	if (n >= 0) {
		/* the title (after the 2 or 3 prefix bytes, up to the 00)
		 * is a whole-character prefix of the title given */
		size_t off = cat == 0xfa ? 3 : 2, e = off;

		FUZZ_ASSERT(msg[0] == cat && msg[1] == 0x01);
		while (e < (size_t)n && msg[e])
			e++;
		FUZZ_ASSERT(e < (size_t)n);
		FUZZ_ASSERT(e - off <= 32 &&
			    !memcmp(msg + off, title, e - off));
		FUZZ_ASSERT(u8_valid(msg + off, e - off));
	}

	memset(buf, 0x5a, sizeof(buf));
	n = miband_encode_new_alert(buf, cap, cat, 1, title, strlen(title));
	FUZZ_ASSERT(n < 0 || (size_t)n <= cap);
	FUZZ_ASSERT(buf[cap] == 0x5a);
	if (n >= 0)
		FUZZ_ASSERT(u8_valid(buf + 2, (size_t)n - 2) &&
			    !memcmp(buf + 2, title, (size_t)n - 2));
}

/* Any message in chunks of any size reassembles to itself. */
static void check_chunks(const uint8_t *data, size_t size)
{
	uint8_t out[512], chunk[64];
	size_t cmax, count, i, o = 0;
	int n;

	if (!size || size > sizeof(out))
		return;
	cmax = 1 + data[0] % 40;
	count = miband_chunk_count(size, cmax);
	FUZZ_ASSERT(count >= 1 && (count - 1) * cmax < size);
	for (i = 0; i < count; i++) {
		uint8_t flags;

		n = miband_encode_chunk(chunk, sizeof(chunk), 0x01, data, size,
					i, cmax);
		FUZZ_ASSERT(n >= 3 && (size_t)n <= 3 + cmax);
		flags = chunk[1] & 0xc0;
		FUZZ_ASSERT(chunk[0] == 0 && (chunk[1] & 0x3f) == 0x01);
		FUZZ_ASSERT(chunk[2] == (uint8_t)i);
		if (count == 1)
			FUZZ_ASSERT(flags == 0xc0);
		else if (i == 0)
			FUZZ_ASSERT(flags == 0x00);
		else if (i == count - 1)
			FUZZ_ASSERT(flags == 0x80);
		else
			FUZZ_ASSERT(flags == 0x40);
		memcpy(out + o, chunk + 3, (size_t)n - 3);
		o += (size_t)n - 3;
	}
	FUZZ_ASSERT(o == size && !memcmp(out, data, size));
	FUZZ_ASSERT(miband_encode_chunk(chunk, sizeof(chunk), 0x01, data, size,
					count, cmax) < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[64];
	struct miband_auth_reply ar;
	struct miband_time t, t2;
	struct miband_battery bat, bat2;
	struct miband_steps st, st2;
	struct miband_device_event de;
	struct miband_fetch_reply fr, fr2;
	const uint8_t *samples;
	uint8_t bpm, cmd, status, counter;
	int n;

	if (miband_decode_auth_reply(data, size, &ar) == 0) {
		FUZZ_ASSERT(size >= 3 && data[0] == MIBAND_AUTH_RESPONSE);
		FUZZ_ASSERT(ar.cmd == data[1] && ar.status == data[2]);
		FUZZ_ASSERT(ar.payload_len == size - 3);
		FUZZ_ASSERT(!ar.payload_len || ar.payload == data + 3);
	}
	if (miband_decode_time(data, size, &t) == 0) {
		FUZZ_ASSERT(miband_time_valid(&t) == 0);
		n = miband_encode_time(buf, sizeof(buf), &t);
		FUZZ_ASSERT(n == MIBAND_TIME_LEN);
		FUZZ_ASSERT(miband_decode_time(buf, (size_t)n, &t2) == 0);
		time_eq(&t, &t2);
		/* dow 0 ("not given") is filled in on encoding */
		FUZZ_ASSERT((t.dow == t2.dow || !t.dow) && t.tz == t2.tz);
		/* through unix seconds and back (dow recomputed) */
		miband_time_from_unix(miband_time_to_unix(&t), t.tz, &t2);
		time_eq(&t, &t2);
	}
	if (miband_decode_datetime7(data, size, &t) == 0) {
		n = miband_encode_datetime7(buf, sizeof(buf), &t);
		FUZZ_ASSERT(n == 7);
		FUZZ_ASSERT(miband_decode_datetime7(buf, 7, &t2) == 0);
		time_eq(&t, &t2);
	}
	if (miband_decode_battery(data, size, &bat) == 0) {
		n = miband_encode_battery(buf, sizeof(buf), &bat);
		FUZZ_ASSERT(n == MIBAND_BATTERY_LEN);
		FUZZ_ASSERT(miband_decode_battery(buf, (size_t)n, &bat2) == 0);
		FUZZ_ASSERT(bat.level == bat2.level &&
			    bat.charging == bat2.charging &&
			    bat.last_charge_level == bat2.last_charge_level);
		time_eq(&bat.last_off, &bat2.last_off);
		time_eq(&bat.last_charge, &bat2.last_charge);
	}
	if (miband_decode_steps(data, size, &st) == 0) {
		n = miband_encode_steps(buf, sizeof(buf), &st);
		FUZZ_ASSERT(n > 0);
		FUZZ_ASSERT(miband_decode_steps(buf, (size_t)n, &st2) == 0);
		FUZZ_ASSERT(st.steps == st2.steps &&
			    st.has_distance == st2.has_distance);
		if (st.has_distance)
			FUZZ_ASSERT(st.meters == st2.meters &&
				    st.kcal == st2.kcal);
	}
	if (miband_decode_hr(data, size, &bpm) == 0) {
		n = miband_encode_hr(buf, sizeof(buf), bpm);
		FUZZ_ASSERT(n == 2 && miband_decode_hr(buf, 2, &bpm) == 0);
	}
	if (miband_decode_device_event(data, size, &de) == 0) {
		FUZZ_ASSERT(de.name != NULL && size >= 1 && de.code == data[0]);
		FUZZ_ASSERT(
			!strcmp(de.name, miband_device_event_name(de.code)));
	}
	if (miband_decode_fetch_reply(data, size, &fr) == 0 && fr.cmd == 0x01 &&
	    fr.status == 0x01) {
		n = miband_encode_fetch_reply_start(buf, sizeof(buf), fr.status,
						    fr.count, &fr.first);
		FUZZ_ASSERT(n >= 15);
		FUZZ_ASSERT(miband_decode_fetch_reply(buf, (size_t)n, &fr2) ==
			    0);
		FUZZ_ASSERT(fr2.cmd == 0x01 && fr2.count == fr.count);
		time_eq(&fr.first, &fr2.first);
	}
	n = miband_decode_fetch_packet(data, size, &counter, &samples);
	if (n >= 0) {
		FUZZ_ASSERT(n >= 1 && size == 1 + 4 * (size_t)n);
		FUZZ_ASSERT(counter == data[0] && samples == data + 1);
	} else {
		FUZZ_ASSERT(size < 5 || size % 4 != 1);
	}
	if (miband_decode_config_reply(data, size, &cmd, &status) == 0)
		FUZZ_ASSERT(size >= 3 && data[0] == 0x10 && cmd == data[1] &&
			    status == data[size - 1]);

	check_utf8_cut(data, size, size);
	check_utf8_cut(data, size, size / 2);
	check_utf8_cut(data, size, size ? data[0] : 0);
	check_text(data, size);
	check_chunks(data, size);
	return 0;
}
