/*
 * Encoders and decoders of the Mi Band v1 wire formats (PROTOCOL.md 2, 4,
 * 5).  Pure functions over caller buffers, shared by the client engine,
 * the band engine and the host tools.
 *
 * How it works: the codec owns every byte of every message in both
 * directions.  For each message the client writes there is an encoder
 * (used by the session) and a decoder (used by the band engine); for
 * each message the band sends, an encoder (band) and a decoder (session).
 * tests/test-codec.c round-trips every pair.  This file holds auth, heart
 * rate, device events and the activity fetch; codec-time.c the calendar,
 * time, battery and steps; codec-text.c UTF-8, alerts, chunks, settings.
 *
 * Every message goes through a bounded cursor (wire.h).  Encoders
 * validate their arguments first, then write; a too-small buffer turns
 * into MIBAND_E_NOSPACE with nothing promised about its contents.
 * Decoders read the whole message, check that nothing is left over and
 * that every field is in range, and only then copy the result to ret_*:
 * a truncated, over-long or out-of-range message is MIBAND_E_MALFORMED
 * and leaves the output untouched.  Band-side decoders tell apart what a
 * band answers differently: a wrong length (MALFORMED), a command it
 * does not know (UNSUPPORTED: it stays silent), a bad date (BAD_TIME).
 */
#include "miband/codec.h"
#include "miband/error.h"

#include <string.h>

#include "codec-int.h"

/* ---- auth (PROTOCOL.md 2.1) ---- */

int miband_encode_auth_set_key(uint8_t *buf, size_t cap, uint8_t auth_flags,
			       const uint8_t key[16])
{
	struct miband__wr w;

	if (!key)
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, MIBAND_AUTH_CMD_SET_KEY);
	miband__wr_u8(&w, auth_flags);
	miband__wr_bytes(&w, key, 16);
	return miband__wr_result(&w);
}

int miband_encode_auth_request_random(uint8_t *buf, size_t cap,
				      uint8_t auth_flags, uint8_t crypt_flags)
{
	struct miband__wr w;

	if (crypt_flags & 0x0f)
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, (uint8_t)(MIBAND_AUTH_CMD_RANDOM | crypt_flags));
	miband__wr_u8(&w, auth_flags);
	if (crypt_flags) {
		/* Meaning of 02 01 00 unknown; constant in every source. */
		miband__wr_u8(&w, 0x02);
		miband__wr_u8(&w, 0x01);
		miband__wr_u8(&w, 0x00);
	}
	return miband__wr_result(&w);
}

int miband_encode_auth_answer(uint8_t *buf, size_t cap, uint8_t auth_flags,
			      uint8_t crypt_flags, const uint8_t answer[16])
{
	struct miband__wr w;

	if (!answer || (crypt_flags & 0x0f))
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, (uint8_t)(MIBAND_AUTH_CMD_ANSWER | crypt_flags));
	miband__wr_u8(&w, auth_flags);
	miband__wr_bytes(&w, answer, 16);
	return miband__wr_result(&w);
}

int miband_decode_auth_reply(const uint8_t *data, size_t len,
			     struct miband_auth_reply *ret)
{
	struct miband_auth_reply r;
	struct miband__rd rd;
	unsigned step;

	if (!ret)
		return MIBAND_E_INVAL;
	miband__rd_init(&rd, data, len);
	if (miband__rd_u8(&rd) != MIBAND_AUTH_RESPONSE)
		return MIBAND_E_MALFORMED;
	r.cmd = miband__rd_u8(&rd);
	r.status = miband__rd_u8(&rd);
	if (rd.err)
		return MIBAND_E_MALFORMED;
	/* The echo is one of the three v1 steps, crypt flag 0x80 or not. */
	step = r.cmd & 0x0fu;
	if ((r.cmd & 0x70u) || step < MIBAND_AUTH_CMD_SET_KEY ||
	    step > MIBAND_AUTH_CMD_ANSWER)
		return MIBAND_E_MALFORMED;
	r.payload = NULL;
	r.payload_len = 0;
	if (step == MIBAND_AUTH_CMD_RANDOM &&
	    r.status == MIBAND_AUTH_STATUS_OK) {
		/* A successful random reply carries exactly 16 bytes. */
		r.payload = miband__rd_bytes(&rd, 16);
		r.payload_len = 16;
	} else if (r.status != MIBAND_AUTH_STATUS_OK && r.status != 0x02 &&
		   r.status != 0x04 && r.status != 0x08 &&
		   miband__rd_left(&rd)) {
		/* Known statuses are exactly 3 bytes; an unknown one may
		 * carry data (the Mi Band 4's 10 01 81 <17 bytes>). */
		r.payload_len = miband__rd_left(&rd);
		r.payload = miband__rd_bytes(&rd, r.payload_len);
	}
	if (!miband__rd_done(&rd))
		return MIBAND_E_MALFORMED;
	*ret = r;
	return 0;
}

/* ---- auth, the band's side (PROTOCOL.md 2.6) ---- */

int miband_decode_auth_set_key(const uint8_t *data, size_t len,
			       uint8_t *ret_auth_flags, const uint8_t **ret_key)
{
	struct miband__rd r;
	const uint8_t *key;
	uint8_t flags;

	miband__rd_init(&r, data, len);
	if (miband__rd_u8(&r) != MIBAND_AUTH_CMD_SET_KEY)
		return MIBAND_E_MALFORMED;
	flags = miband__rd_u8(&r);
	key = miband__rd_bytes(&r, 16);
	if (!miband__rd_done(&r))
		return MIBAND_E_MALFORMED;
	if (ret_auth_flags)
		*ret_auth_flags = flags;
	if (ret_key)
		*ret_key = key;
	return 0;
}

int miband_decode_auth_request_random(const uint8_t *data, size_t len,
				      uint8_t *ret_auth_flags,
				      uint8_t *ret_crypt_flags)
{
	static const uint8_t crypt_tail[3] = {0x02, 0x01, 0x00};
	struct miband__rd r;
	const uint8_t *tail;
	uint8_t cmd, flags;

	miband__rd_init(&r, data, len);
	cmd = miband__rd_u8(&r);
	flags = miband__rd_u8(&r);
	if (cmd != MIBAND_AUTH_CMD_RANDOM &&
	    cmd != (MIBAND_AUTH_CMD_RANDOM | MIBAND_AUTH_CRYPT))
		return MIBAND_E_MALFORMED;
	/* The crypt variant carries 02 01 00; bands take it without too. */
	if (cmd & MIBAND_AUTH_CRYPT && miband__rd_left(&r) == 3) {
		tail = miband__rd_bytes(&r, 3);
		if (memcmp(tail, crypt_tail, 3))
			return MIBAND_E_UNSUPPORTED;
	}
	if (!miband__rd_done(&r))
		return MIBAND_E_MALFORMED;
	if (ret_auth_flags)
		*ret_auth_flags = flags;
	if (ret_crypt_flags)
		*ret_crypt_flags = (uint8_t)(cmd & MIBAND_AUTH_CRYPT);
	return 0;
}

int miband_decode_auth_answer(const uint8_t *data, size_t len,
			      uint8_t *ret_auth_flags, uint8_t *ret_crypt_flags,
			      const uint8_t **ret_answer)
{
	struct miband__rd r;
	const uint8_t *answer;
	uint8_t cmd, flags;

	miband__rd_init(&r, data, len);
	cmd = miband__rd_u8(&r);
	flags = miband__rd_u8(&r);
	answer = miband__rd_bytes(&r, 16);
	if ((cmd & (uint8_t)~MIBAND_AUTH_CRYPT) != MIBAND_AUTH_CMD_ANSWER ||
	    !miband__rd_done(&r))
		return MIBAND_E_MALFORMED;
	if (ret_auth_flags)
		*ret_auth_flags = flags;
	if (ret_crypt_flags)
		*ret_crypt_flags = (uint8_t)(cmd & MIBAND_AUTH_CRYPT);
	if (ret_answer)
		*ret_answer = answer;
	return 0;
}

int miband_encode_auth_reply(uint8_t *buf, size_t cap, uint8_t cmd,
			     uint8_t status, const uint8_t *payload,
			     size_t payload_len)
{
	struct miband__wr w;

	if (!payload && payload_len)
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, MIBAND_AUTH_RESPONSE);
	miband__wr_u8(&w, cmd);
	miband__wr_u8(&w, status);
	miband__wr_bytes(&w, payload, payload_len);
	return miband__wr_result(&w);
}

/* ---- heart rate (PROTOCOL.md 4.5) ---- */

int miband_decode_hr(const uint8_t *data, size_t len, uint8_t *ret_bpm)
{
	if (!ret_bpm)
		return MIBAND_E_INVAL;
	/* Flags 0: one uint8 value, no contact/energy/RR fields. */
	if (!data || len != 2 || data[0] != 0x00)
		return MIBAND_E_MALFORMED;
	*ret_bpm = data[1];
	return 0;
}

int miband_encode_hr(uint8_t *buf, size_t cap, uint8_t bpm)
{
	struct miband__wr w;

	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, 0x00);
	miband__wr_u8(&w, bpm);
	return miband__wr_result(&w);
}

/* 15 <mode> <on>, 14 <minutes>, 16: the HR control point (2A39). */
int miband_encode_hr_control(uint8_t *buf, size_t cap, uint8_t mode, bool on)
{
	struct miband__wr w;

	if (mode > MIBAND_HR_MODE_MANUAL)
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, MIBAND_HR_CMD_CONTROL);
	miband__wr_u8(&w, mode);
	miband__wr_u8(&w, on ? 0x01 : 0x00);
	return miband__wr_result(&w);
}

int miband_encode_hr_interval(uint8_t *buf, size_t cap, uint8_t minutes)
{
	struct miband__wr w;

	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, MIBAND_HR_CMD_INTERVAL);
	miband__wr_u8(&w, minutes);
	return miband__wr_result(&w);
}

int miband_encode_hr_ping(uint8_t *buf, size_t cap)
{
	struct miband__wr w;

	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, MIBAND_HR_CMD_PING);
	return miband__wr_result(&w);
}

int miband_decode_hr_control(const uint8_t *data, size_t len,
			     struct miband_hr_control *ret)
{
	struct miband_hr_control c;
	struct miband__rd r;

	if (!ret)
		return MIBAND_E_INVAL;
	memset(&c, 0, sizeof(c));
	miband__rd_init(&r, data, len);
	c.cmd = miband__rd_u8(&r);
	if (r.err)
		return MIBAND_E_MALFORMED;
	switch (c.cmd) {
	case MIBAND_HR_CMD_CONTROL:
		c.mode = miband__rd_u8(&r);
		c.arg = miband__rd_u8(&r);
		break;
	case MIBAND_HR_CMD_INTERVAL:
		c.arg = miband__rd_u8(&r);
		break;
	case MIBAND_HR_CMD_PING:
		break;
	default:
		return MIBAND_E_UNSUPPORTED;
	}
	if (!miband__rd_done(&r))
		return MIBAND_E_MALFORMED;
	*ret = c;
	return 0;
}

/* ---- device events (PROTOCOL.md 4.9) ---- */

/*
 * Known codes with their exact lengths.  An argument sits in byte 1 (one
 * byte) or bytes 1..2 (MTU, little endian); the workout start carries
 * "needs GPS" in byte 2 and the workout type in byte 3, reported as
 * arg = gps << 8 | type.  Unknown codes are passed on with any length,
 * byte 1 (if present) as arg.
 */
struct event_entry {
	uint8_t code;
	uint8_t len;
	const char *name;
};

static const struct event_entry event_table[] = {
	{MIBAND_DEV_FELL_ASLEEP, 1, "fell-asleep"},
	{MIBAND_DEV_WOKE_UP, 1, "woke-up"},
	{MIBAND_DEV_GOAL_REACHED, 1, "goal-reached"},
	{MIBAND_DEV_BUTTON, 1, "button"},
	{MIBAND_DEV_NON_WEAR, 1, "non-wear"},
	{MIBAND_DEV_CALL_REJECTED, 1, "call-rejected"},
	{MIBAND_DEV_FIND_PHONE_START, 1, "find-phone-start"},
	{MIBAND_DEV_CALL_IGNORED, 1, "call-ignored"},
	{MIBAND_DEV_ALARM_TOGGLED, 1, "alarm-toggled"},
	{MIBAND_DEV_BUTTON_LONG, 1, "button-long"},
	{MIBAND_DEV_TICK_30MIN, 1, "tick-30min"},
	{MIBAND_DEV_FIND_PHONE_STOP, 1, "find-phone-stop"},
	{MIBAND_DEV_SILENT_MODE, 2, "silent-mode"},
	{MIBAND_DEV_WORKOUT_START, 4, "workout-start"},
	{MIBAND_DEV_MTU, 3, "mtu"},
	{MIBAND_DEV_ALARM_CHANGED, 1, "alarm-changed"},
	{MIBAND_DEV_MUSIC, 2, "music"},
};

static const struct event_entry *event_find(uint8_t code)
{
	size_t i;

	for (i = 0; i < sizeof(event_table) / sizeof(event_table[0]); i++)
		if (event_table[i].code == code)
			return &event_table[i];
	return NULL;
}

const char *miband_device_event_name(uint8_t code)
{
	const struct event_entry *e = event_find(code);

	return e ? e->name : "unknown";
}

int miband_decode_device_event(const uint8_t *data, size_t len,
			       struct miband_device_event *ret)
{
	const struct event_entry *e;
	struct miband_device_event ev;

	if (!ret)
		return MIBAND_E_INVAL;
	if (!data || len < 1)
		return MIBAND_E_MALFORMED;
	ev.code = data[0];
	ev.arg = 0;
	e = event_find(ev.code);
	if (e) {
		if (len != e->len)
			return MIBAND_E_MALFORMED;
		if (ev.code == MIBAND_DEV_MTU)
			ev.arg = (uint16_t)(data[1] | data[2] << 8);
		else if (ev.code == MIBAND_DEV_WORKOUT_START)
			ev.arg = (uint16_t)(data[2] << 8 | data[3]);
		else if (len == 2)
			ev.arg = data[1];
		ev.name = e->name;
	} else {
		if (len > 1)
			ev.arg = data[1];
		ev.name = "unknown";
	}
	*ret = ev;
	return 0;
}

int miband_encode_device_event(uint8_t *buf, size_t cap, uint8_t code,
			       uint16_t arg)
{
	const struct event_entry *e = event_find(code);
	size_t len = e ? e->len : (arg ? 2u : 1u);
	struct miband__wr w;

	if (arg > 0xff && len != 3 && len != 4)
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, code);
	if (len == 2) {
		miband__wr_u8(&w, (uint8_t)arg);
	} else if (len == 3) {
		miband__wr_u16le(&w, arg);
	} else if (len == 4) {
		miband__wr_u8(&w, 0x00);
		miband__wr_u8(&w, (uint8_t)(arg >> 8));
		miband__wr_u8(&w, (uint8_t)(arg & 0xffu));
	}
	return miband__wr_result(&w);
}

/* ---- activity fetch (PROTOCOL.md 5) ---- */

int miband_encode_fetch_start(uint8_t *buf, size_t cap, uint8_t type,
			      const struct miband_time *since)
{
	struct miband_time t;
	struct miband__wr w;

	if (miband_time_valid(since))
		return MIBAND_E_INVAL;
	t = *since;
	t.second = 0; /* minute precision (GB, MB2/MB3 era) */
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, MIBAND_FETCH_CMD_START);
	miband__wr_u8(&w, type);
	miband__wr_datetime7(&w, &t);
	miband__wr_u8(&w, (uint8_t)t.tz);
	return miband__wr_result(&w);
}

int miband_encode_fetch_control(uint8_t *buf, size_t cap, uint8_t cmd)
{
	struct miband__wr w;

	if (cmd != MIBAND_FETCH_CMD_GO && cmd != MIBAND_FETCH_CMD_ACK)
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, cmd);
	return miband__wr_result(&w);
}

int miband_decode_fetch_request(const uint8_t *data, size_t len,
				struct miband_fetch_request *ret)
{
	struct miband_fetch_request f;
	struct miband__rd r;

	if (!ret)
		return MIBAND_E_INVAL;
	memset(&f, 0, sizeof(f));
	miband__rd_init(&r, data, len);
	f.cmd = miband__rd_u8(&r);
	if (r.err)
		return MIBAND_E_MALFORMED;
	switch (f.cmd) {
	case MIBAND_FETCH_CMD_START:
		f.type = miband__rd_u8(&r);
		miband__rd_datetime7(&r, &f.since);
		f.since.tz = (int8_t)miband__rd_u8(&r);
		if (!miband__rd_done(&r))
			return MIBAND_E_MALFORMED;
		/* The zone is taken as sent; the date must be one. */
		if (!miband__date_ok(&f.since))
			return MIBAND_E_BAD_TIME;
		break;
	case MIBAND_FETCH_CMD_GO:
		if (!miband__rd_done(&r))
			return MIBAND_E_MALFORMED;
		break;
	case MIBAND_FETCH_CMD_ACK:
		break; /* bands take an ack with anything after it */
	default:
		return MIBAND_E_UNSUPPORTED;
	}
	*ret = f;
	return 0;
}

int miband_decode_fetch_reply(const uint8_t *data, size_t len,
			      struct miband_fetch_reply *ret)
{
	struct miband_fetch_reply f;
	struct miband__rd r;

	if (!ret)
		return MIBAND_E_INVAL;
	memset(&f, 0, sizeof(f));
	miband__rd_init(&r, data, len);
	if (miband__rd_u8(&r) != MIBAND_AUTH_RESPONSE)
		return MIBAND_E_MALFORMED;
	f.cmd = miband__rd_u8(&r);
	f.status = miband__rd_u8(&r);
	if (r.err || f.cmd < MIBAND_FETCH_CMD_START ||
	    f.cmd > MIBAND_FETCH_CMD_ACK)
		return MIBAND_E_MALFORMED;
	if (f.cmd == MIBAND_FETCH_CMD_START && f.status == 0x01) {
		f.count = miband__rd_u32le(&r);
		miband__rd_datetime7(&r, &f.first);
		f.first.tz = (int8_t)miband__rd_u8(&r);
		/* Mi Band 7 appends one 00 byte. */
		if (len == 16 && miband__rd_u8(&r) != 0x00)
			return MIBAND_E_MALFORMED;
		if (r.err || miband_time_valid(&f.first))
			return MIBAND_E_MALFORMED;
	}
	if (!miband__rd_done(&r))
		return MIBAND_E_MALFORMED;
	*ret = f;
	return 0;
}

int miband_encode_fetch_reply(uint8_t *buf, size_t cap, uint8_t cmd,
			      uint8_t status)
{
	struct miband__wr w;

	if (cmd < MIBAND_FETCH_CMD_START || cmd > MIBAND_FETCH_CMD_ACK ||
	    (cmd == MIBAND_FETCH_CMD_START && status == 0x01))
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, 0x10);
	miband__wr_u8(&w, cmd);
	miband__wr_u8(&w, status);
	return miband__wr_result(&w);
}

int miband_encode_fetch_reply_start(uint8_t *buf, size_t cap, uint8_t status,
				    uint32_t count,
				    const struct miband_time *first)
{
	struct miband__wr w;

	if (status == 0x01 && miband_time_valid(first))
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, 0x10);
	miband__wr_u8(&w, 0x01);
	miband__wr_u8(&w, status);
	if (status == 0x01) {
		miband__wr_u32le(&w, count);
		miband__wr_datetime7(&w, first);
		miband__wr_u8(&w, (uint8_t)first->tz);
	}
	return miband__wr_result(&w);
}

int miband_decode_fetch_packet(const uint8_t *data, size_t len,
			       uint8_t *ret_counter,
			       const uint8_t **ret_samples)
{
	size_t n;

	if (!data || len < 1 + MIBAND_SAMPLE_LEN ||
	    (len - 1) % MIBAND_SAMPLE_LEN)
		return MIBAND_E_MALFORMED;
	n = (len - 1) / MIBAND_SAMPLE_LEN;
	if (n > 0x7fff)
		return MIBAND_E_MALFORMED;
	if (ret_counter)
		*ret_counter = data[0];
	if (ret_samples)
		*ret_samples = data + 1;
	return (int)n;
}

static void put_sample(uint8_t *p, const struct miband_sample *s)
{
	p[0] = s->kind;
	p[1] = s->intensity;
	p[2] = s->steps;
	p[3] = s->heart_rate;
}

int miband_encode_fetch_packet(uint8_t *buf, size_t cap, uint8_t counter,
			       const struct miband_sample *samples, size_t n)
{
	size_t i, len = 1 + n * MIBAND_SAMPLE_LEN;

	if (!n || !samples || n > 0x7fff)
		return MIBAND_E_INVAL;
	/* Not through the cursor: the band sends a packet every
	 * millisecond of a fetch, and the length is known up front. */
	if (!buf || cap < len)
		return MIBAND_E_NOSPACE;
	buf[0] = counter;
	for (i = 0; i < n; i++)
		put_sample(buf + 1 + i * MIBAND_SAMPLE_LEN, &samples[i]);
	return (int)len;
}

void miband_sample_encode(const struct miband_sample *s, uint8_t *p)
{
	put_sample(p, s);
}

void miband_sample_decode(const uint8_t *p, struct miband_sample *ret)
{
	ret->kind = p[0];
	ret->intensity = p[1];
	ret->steps = p[2];
	ret->heart_rate = p[3];
}
