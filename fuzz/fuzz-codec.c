/*
 * Every decoder of include/miband/codec.h on arbitrary bytes; where a
 * decode succeeds, the value re-encodes and decodes to the same value.
 * The text paths against an independent UTF-8 reading: miband_utf8_cut()
 * accepts exactly the valid (RFC 3629) texts and cuts at the longest
 * character boundary within the limit; alerts and app notifications stay
 * within their limits as valid UTF-8; chunks of any message reassemble
 * to it.  Encoders never write past the capacity they are given.
 * The band's side likewise: each request the band decodes (auth, HR
 * control, fetch, chunk, New Alert, alert level) and each reply it
 * encodes re-encodes to the same value, and to the same bytes where the
 * encoding is canonical.
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

/* The same bytes: the encoding is canonical. */
static void same_bytes(const uint8_t *a, int n, const uint8_t *b, size_t size)
{
	FUZZ_ASSERT(n >= 0 && (size_t)n == size && !memcmp(a, b, size));
}

/* The band's side of auth: the three requests decode and re-encode to
 * the same bytes (a crypt request for a random may lack its tail); a
 * reply re-encodes to itself. */
static void check_auth_band(const uint8_t *data, size_t size)
{
	uint8_t buf[64], flags, crypt, flags2, crypt2;
	const uint8_t *key, *key2;
	struct miband_auth_reply ar;
	int n;

	if (miband_decode_auth_set_key(data, size, &flags, &key) == 0) {
		FUZZ_ASSERT(size == 18 && key == data + 2);
		n = miband_encode_auth_set_key(buf, sizeof(buf), flags, key);
		same_bytes(buf, n, data, size);
		FUZZ_ASSERT(miband_decode_auth_set_key(buf, (size_t)n, &flags2,
						       &key2) == 0 &&
			    flags2 == flags && !memcmp(key2, key, 16));
	}
	if (miband_decode_auth_request_random(data, size, &flags, &crypt) ==
	    0) {
		n = miband_encode_auth_request_random(buf, sizeof(buf), flags,
						      crypt);
		FUZZ_ASSERT(n > 0);
		FUZZ_ASSERT(miband_decode_auth_request_random(
				    buf, (size_t)n, &flags2, &crypt2) == 0 &&
			    flags2 == flags && crypt2 == crypt);
		if (!crypt || size != 2)
			same_bytes(buf, n, data, size);
	}
	if (miband_decode_auth_answer(data, size, &flags, &crypt, &key) == 0) {
		FUZZ_ASSERT(size == 18 && key == data + 2);
		n = miband_encode_auth_answer(buf, sizeof(buf), flags, crypt,
					      key);
		same_bytes(buf, n, data, size);
		FUZZ_ASSERT(miband_decode_auth_answer(buf, (size_t)n, &flags2,
						      &crypt2, &key2) == 0 &&
			    flags2 == flags && crypt2 == crypt &&
			    !memcmp(key2, key, 16));
	}
	if (miband_decode_auth_reply(data, size, &ar) == 0 &&
	    size <= sizeof(buf)) {
		n = miband_encode_auth_reply(buf, sizeof(buf), ar.cmd,
					     ar.status, ar.payload,
					     ar.payload_len);
		same_bytes(buf, n, data, size);
	}
}

/* HR control point: what decodes and the encoders can say re-encodes to
 * the same bytes; a mode they cannot say is refused. */
static void check_hr_control(const uint8_t *data, size_t size)
{
	struct miband_hr_control c, c2;
	uint8_t buf[16];
	int n;

	if (miband_decode_hr_control(data, size, &c))
		return;
	switch (c.cmd) {
	case MIBAND_HR_CMD_CONTROL:
		n = miband_encode_hr_control(buf, sizeof(buf), c.mode,
					     c.arg != 0);
		if (c.mode > MIBAND_HR_MODE_MANUAL) {
			FUZZ_ASSERT(n == MIBAND_E_INVAL);
			return;
		}
		if (c.arg <= 1)
			same_bytes(buf, n, data, size);
		break;
	case MIBAND_HR_CMD_INTERVAL:
		n = miband_encode_hr_interval(buf, sizeof(buf), c.arg);
		same_bytes(buf, n, data, size);
		break;
	default:
		FUZZ_ASSERT(c.cmd == MIBAND_HR_CMD_PING);
		n = miband_encode_hr_ping(buf, sizeof(buf));
		same_bytes(buf, n, data, size);
		break;
	}
	FUZZ_ASSERT(miband_decode_hr_control(buf, (size_t)n, &c2) == 0);
	FUZZ_ASSERT(c2.cmd == c.cmd && c2.mode == c.mode &&
		    c2.arg == (c.cmd == MIBAND_HR_CMD_CONTROL ? c.arg != 0
							      : c.arg));
}

/* Fetch requests (the band's side) and the band's replies and packets. */
static void check_fetch_band(const uint8_t *data, size_t size)
{
	struct miband_fetch_request fq, fq2;
	struct miband_fetch_reply fr;
	struct miband_sample s[64];
	uint8_t buf[1 + 4 * 64], counter;
	const uint8_t *samples;
	size_t i;
	int n, k;

	if (miband_decode_fetch_request(data, size, &fq) == 0) {
		if (fq.cmd == MIBAND_FETCH_CMD_START) {
			n = miband_encode_fetch_start(buf, sizeof(buf), fq.type,
						      &fq.since);
			if (miband_time_valid(&fq.since)) {
				FUZZ_ASSERT(n == MIBAND_E_INVAL);
			} else {
				FUZZ_ASSERT(n == 10);
				FUZZ_ASSERT(miband_decode_fetch_request(
						    buf, 10, &fq2) == 0);
				FUZZ_ASSERT(fq2.cmd == fq.cmd &&
					    fq2.type == fq.type &&
					    fq2.since.tz == fq.since.tz &&
					    fq2.since.second == 0);
				fq2.since.second = fq.since.second;
				time_eq(&fq.since, &fq2.since);
				/* minute precision: seconds go on encoding */
				if (!fq.since.second)
					same_bytes(buf, n, data, size);
			}
		} else {
			n = miband_encode_fetch_control(buf, sizeof(buf),
							fq.cmd);
			FUZZ_ASSERT(n == 1 && buf[0] == data[0]);
			/* an ack may carry anything after it */
			FUZZ_ASSERT(size == 1 ||
				    fq.cmd == MIBAND_FETCH_CMD_ACK);
		}
	}
	if (miband_decode_fetch_reply(data, size, &fr) == 0) {
		if (fr.cmd == MIBAND_FETCH_CMD_START && fr.status == 0x01)
			n = miband_encode_fetch_reply_start(buf, sizeof(buf),
							    fr.status, fr.count,
							    &fr.first);
		else
			n = miband_encode_fetch_reply(buf, sizeof(buf), fr.cmd,
						      fr.status);
		/* the Mi Band 7's trailing 00 is not written */
		if (size != 16)
			same_bytes(buf, n, data, size);
		else
			FUZZ_ASSERT(n == 15 && !memcmp(buf, data, 15));
	}
	k = miband_decode_fetch_packet(data, size, &counter, &samples);
	if (k > 0 && (size_t)k <= sizeof(s) / sizeof(s[0])) {
		for (i = 0; i < (size_t)k; i++)
			miband_sample_decode(samples + 4 * i, &s[i]);
		n = miband_encode_fetch_packet(buf, sizeof(buf), counter, s,
					       (size_t)k);
		same_bytes(buf, n, data, size);
		miband_sample_encode(&s[0], buf);
		FUZZ_ASSERT(!memcmp(buf, samples, 4));
	}
}

/* A chunk re-encodes to itself from a message it can be part of; a New
 * Alert from its text when the category and text allow; an alert level. */
static void check_band_text(const uint8_t *data, size_t size)
{
	static uint8_t msg[258 * 16];
	struct miband_chunk c, c2;
	struct miband_new_alert na, na2;
	uint8_t buf[300], level;
	size_t idx, cmax, mlen = 0;
	bool ok = true;
	int n;

	if (miband_decode_chunk(data, size, &c) == 0) {
		FUZZ_ASSERT(size >= 3 && c.len == size - 3 &&
			    (c.len == 0 || c.data == data + 3));
		FUZZ_ASSERT(!(c.flags & 0x3f) && c.type < 0x40);
		idx = c.counter;
		cmax = c.len ? c.len : 1;
		switch (c.flags) {
		case MIBAND_CHUNK_SINGLE:
			ok = idx == 0;
			mlen = c.len;
			break;
		case MIBAND_CHUNK_FIRST:
			ok = idx == 0 && c.len;
			mlen = 2 * cmax;
			break;
		case MIBAND_CHUNK_MIDDLE:
			ok = idx >= 1 && c.len;
			mlen = (idx + 2) * cmax;
			break;
		default:
			ok = idx >= 1 && c.len;
			mlen = idx * cmax + c.len;
			break;
		}
		if (ok && c.len <= 16) {
			memset(msg, 0, mlen);
			if (c.len)
				memcpy(msg + idx * cmax, c.data, c.len);
			n = miband_encode_chunk(buf, sizeof(buf), c.type, msg,
						mlen, idx, cmax);
			same_bytes(buf, n, data, size);
			FUZZ_ASSERT(miband_decode_chunk(buf, (size_t)n, &c2) ==
					    0 &&
				    c2.flags == c.flags && c2.type == c.type &&
				    c2.counter == c.counter);
		}
	}
	if (miband_decode_new_alert(data, size, &na) == 0) {
		FUZZ_ASSERT(size >= 2 && na.category == data[0] &&
			    na.count == data[1]);
		n = miband_encode_new_alert(buf, sizeof(buf), na.category,
					    na.count, (const char *)na.text,
					    na.text_len);
		if (na.category == MIBAND_CATEGORY_CUSTOM) {
			FUZZ_ASSERT(n == MIBAND_E_INVAL);
		} else if (!u8_valid(na.text, na.text_len)) {
			FUZZ_ASSERT(n == MIBAND_E_BAD_UTF8);
		} else if (size <= sizeof(buf)) {
			same_bytes(buf, n, data, size);
			FUZZ_ASSERT(miband_decode_new_alert(buf, (size_t)n,
							    &na2) == 0 &&
				    na2.text_len == na.text_len);
		}
	}
	if (miband_decode_alert(data, size, &level) == 0) {
		FUZZ_ASSERT(size >= 1 && level == data[0]);
		n = miband_encode_alert(buf, sizeof(buf), level);
		if (level > MIBAND_ALERT_VIBRATE)
			FUZZ_ASSERT(n == MIBAND_E_INVAL);
		else
			FUZZ_ASSERT(n == 1 && buf[0] == level &&
				    miband_decode_alert(buf, 1, &level) == 0 &&
				    level == data[0]);
	}
}

/* The band's config replies and device events decode to what they say. */
static void check_band_replies(const uint8_t *data, size_t size)
{
	struct miband_device_event de, de2;
	uint8_t buf[64], cmd, status, cmd2, status2;
	int n;

	if (miband_decode_config_reply(data, size, &cmd, &status) == 0) {
		n = miband_encode_config_reply(buf, sizeof(buf), data + 1,
					       size - 2, status);
		FUZZ_ASSERT(n >= 3);
		FUZZ_ASSERT(miband_decode_config_reply(buf, (size_t)n, &cmd2,
						       &status2) == 0 &&
			    cmd2 == cmd && status2 == status);
		if (size == 3 || (cmd == 0x06 && size <= 5))
			same_bytes(buf, n, data, size);
	}
	if (miband_decode_device_event(data, size, &de) == 0) {
		n = miband_encode_device_event(buf, sizeof(buf), de.code,
					       de.arg);
		FUZZ_ASSERT(n >= 1);
		FUZZ_ASSERT(miband_decode_device_event(buf, (size_t)n, &de2) ==
				    0 &&
			    de2.code == de.code && de2.arg == de.arg);
		/* a known event has one layout (a workout start's byte 1
		 * is not kept); an unknown one drops what it does not use */
		if (strcmp(de.name, "unknown") && size != 4)
			same_bytes(buf, n, data, size);
	}
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
	check_auth_band(data, size);
	check_hr_control(data, size);
	check_fetch_band(data, size);
	check_band_text(data, size);
	check_band_replies(data, size);
	return 0;
}
