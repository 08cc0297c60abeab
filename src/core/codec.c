/*
 * Encoders and decoders of the Mi Band v1 wire formats (PROTOCOL.md 2, 4,
 * 5).  Pure functions over caller buffers, shared by the client engine,
 * the band engine and the host tools.
 *
 * How it works: every message goes through a bounded cursor (wire.h).
 * Encoders validate their arguments first, then write; a too-small
 * buffer turns into MIBAND_E_NOSPACE with nothing promised about its
 * contents.  Decoders read the whole message, check that nothing is left
 * over and that every field is in range, and only then copy the result to
 * ret_*: a truncated, over-long or out-of-range message is
 * MIBAND_E_MALFORMED and leaves the output untouched.
 *
 * Calendar arithmetic is done here without libc (days_from_civil and its
 * inverse, after Howard Hinnant's public-domain algorithms), so the core
 * needs no time.h on firmware.
 */
#include "miband/codec.h"
#include "miband/error.h"

#include <string.h>

#include "wire.h"

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

/* ---- calendar ---- */

int32_t miband_days_from_civil(int32_t y, unsigned m, unsigned d)
{
	int32_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400; /* [0, 399] */
	doy = (int32_t)((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d) - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

void miband_civil_from_days(int32_t z, int32_t *ret_y, unsigned *ret_m,
			    unsigned *ret_d)
{
	int32_t era, doe, yoe, y, doy, mp;
	unsigned m, d;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097; /* [0, 146096] */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100); /* [0, 365] */
	mp = (5 * doy + 2) / 153;		       /* [0, 11] */
	d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	if (ret_y)
		*ret_y = y + (m <= 2);
	if (ret_m)
		*ret_m = m;
	if (ret_d)
		*ret_d = d;
}

/* 1970-01-01 was a Thursday (4). */
static uint8_t dow_from_days(int32_t z)
{
	int32_t r = (z + 3) % 7; /* 0 = Monday */

	if (r < 0)
		r += 7;
	return (uint8_t)(r + 1);
}

uint8_t miband_day_of_week(int32_t y, unsigned m, unsigned d)
{
	return dow_from_days(miband_days_from_civil(y, m, d));
}

static bool is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const uint8_t dim[12] = {31, 28, 31, 30, 31, 30,
					31, 31, 30, 31, 30, 31};

	if (m < 1 || m > 12)
		return 0;
	return dim[m - 1] + (m == 2 && is_leap(y) ? 1u : 0u);
}

/* Band clocks plausibly run between these years; anything else is junk. */
#define YEAR_MIN 1970
#define YEAR_MAX 2099
/* UTC offsets from -12:00 to +14:00, in quarter hours. */
#define TZ_MIN (-48)
#define TZ_MAX 56

static bool date_ok(const struct miband_time *t)
{
	return t->year >= YEAR_MIN && t->year <= YEAR_MAX && t->day >= 1 &&
	       t->day <= days_in_month(t->year, t->month) && t->hour < 24 &&
	       t->minute < 60 && t->second < 60;
}

int miband_time_valid(const struct miband_time *t)
{
	if (!t || !date_ok(t) || t->dow > 7 || t->tz < TZ_MIN || t->tz > TZ_MAX)
		return MIBAND_E_INVAL;
	return 0;
}

int64_t miband_time_to_unix(const struct miband_time *t)
{
	int64_t days = miband_days_from_civil(t->year, t->month, t->day);

	return days * 86400 + (int64_t)t->hour * 3600 +
	       (int64_t)t->minute * 60 + t->second - (int64_t)t->tz * 900;
}

void miband_time_from_unix(int64_t unix_s, int8_t tz, struct miband_time *t)
{
	int64_t local = unix_s + (int64_t)tz * 900;
	int64_t days = local / 86400, secs = local % 86400;
	int32_t y;
	unsigned m, d;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	miband_civil_from_days((int32_t)days, &y, &m, &d);
	t->year = (uint16_t)y;
	t->month = (uint8_t)m;
	t->day = (uint8_t)d;
	t->hour = (uint8_t)(secs / 3600);
	t->minute = (uint8_t)(secs / 60 % 60);
	t->second = (uint8_t)(secs % 60);
	t->dow = dow_from_days((int32_t)days);
	t->tz = tz;
}

/* ---- date-time and time (PROTOCOL.md 4.3) ---- */

static void put_datetime7(struct miband__wr *w, const struct miband_time *t)
{
	miband__wr_u16le(w, t->year);
	miband__wr_u8(w, t->month);
	miband__wr_u8(w, t->day);
	miband__wr_u8(w, t->hour);
	miband__wr_u8(w, t->minute);
	miband__wr_u8(w, t->second);
}

static void get_datetime7(struct miband__rd *r, struct miband_time *t)
{
	memset(t, 0, sizeof(*t));
	t->year = miband__rd_u16le(r);
	t->month = miband__rd_u8(r);
	t->day = miband__rd_u8(r);
	t->hour = miband__rd_u8(r);
	t->minute = miband__rd_u8(r);
	t->second = miband__rd_u8(r);
}

int miband_encode_datetime7(uint8_t *buf, size_t cap,
			    const struct miband_time *t)
{
	struct miband__wr w;

	if (!t || !date_ok(t))
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	put_datetime7(&w, t);
	return miband__wr_result(&w);
}

int miband_decode_datetime7(const uint8_t *data, size_t len,
			    struct miband_time *ret)
{
	struct miband_time t;
	struct miband__rd r;

	if (!ret)
		return MIBAND_E_INVAL;
	miband__rd_init(&r, data, len);
	get_datetime7(&r, &t);
	if (!miband__rd_done(&r) || !date_ok(&t))
		return MIBAND_E_MALFORMED;
	*ret = t;
	return 0;
}

int miband_encode_time(uint8_t *buf, size_t cap, const struct miband_time *t)
{
	struct miband__wr w;
	uint8_t dow;

	if (miband_time_valid(t))
		return MIBAND_E_INVAL;
	dow = t->dow ? t->dow : miband_day_of_week(t->year, t->month, t->day);
	miband__wr_init(&w, buf, cap);
	put_datetime7(&w, t);
	miband__wr_u8(&w, dow);
	miband__wr_u8(&w, 0); /* fractions256 */
	miband__wr_u8(&w, 0); /* adjust reason */
	miband__wr_u8(&w, (uint8_t)t->tz);
	return miband__wr_result(&w);
}

int miband_decode_time(const uint8_t *data, size_t len, struct miband_time *ret)
{
	struct miband_time t;
	struct miband__rd r;

	if (!ret)
		return MIBAND_E_INVAL;
	miband__rd_init(&r, data, len);
	get_datetime7(&r, &t);
	t.dow = miband__rd_u8(&r);
	(void)miband__rd_u8(&r); /* fractions256 */
	(void)miband__rd_u8(&r); /* adjust reason */
	t.tz = (int8_t)miband__rd_u8(&r);
	if (!miband__rd_done(&r) || miband_time_valid(&t))
		return MIBAND_E_MALFORMED;
	*ret = t;
	return 0;
}

/* ---- battery (PROTOCOL.md 4.1) ---- */

static bool time_unset(const struct miband_time *t)
{
	return !t->year && !t->month && !t->day && !t->hour && !t->minute &&
	       !t->second;
}

/* A battery timestamp: 7 bytes and a tz byte; all zero on a new band. */
static bool get_stamp(struct miband__rd *r, struct miband_time *t)
{
	get_datetime7(r, t);
	t->tz = (int8_t)miband__rd_u8(r);
	if (r->err)
		return false;
	if (time_unset(t))
		return t->tz == 0;
	return date_ok(t) && t->tz >= TZ_MIN && t->tz <= TZ_MAX;
}

static bool put_stamp(struct miband__wr *w, const struct miband_time *t)
{
	if (time_unset(t)) {
		miband__wr_zero(w, 8);
		return true;
	}
	if (!date_ok(t) || t->tz < TZ_MIN || t->tz > TZ_MAX)
		return false;
	put_datetime7(w, t);
	miband__wr_u8(w, (uint8_t)t->tz);
	return true;
}

int miband_decode_battery(const uint8_t *data, size_t len,
			  struct miband_battery *ret)
{
	struct miband_battery b;
	struct miband__rd r;
	uint8_t charging;

	if (!ret)
		return MIBAND_E_INVAL;
	memset(&b, 0, sizeof(b));
	miband__rd_init(&r, data, len);
	(void)miband__rd_u8(&r); /* 0x0f on MB2; meaning unknown */
	b.level = miband__rd_u8(&r);
	charging = miband__rd_u8(&r);
	if (!get_stamp(&r, &b.last_off) || !get_stamp(&r, &b.last_charge))
		return MIBAND_E_MALFORMED;
	b.last_charge_level = miband__rd_u8(&r);
	if (!miband__rd_done(&r) || b.level > 100 || charging > 1 ||
	    b.last_charge_level > 100)
		return MIBAND_E_MALFORMED;
	b.charging = charging == 1;
	*ret = b;
	return 0;
}

int miband_encode_battery(uint8_t *buf, size_t cap,
			  const struct miband_battery *b)
{
	struct miband__wr w;

	if (!b || b->level > 100 || b->last_charge_level > 100)
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, 0x0f);
	miband__wr_u8(&w, b->level);
	miband__wr_u8(&w, b->charging ? 1 : 0);
	if (!put_stamp(&w, &b->last_off) || !put_stamp(&w, &b->last_charge))
		return MIBAND_E_INVAL;
	miband__wr_u8(&w, b->last_charge_level);
	return miband__wr_result(&w);
}

/* ---- realtime steps (PROTOCOL.md 4.2) ---- */

#define STEPS_HEADER 0x0c

int miband_decode_steps(const uint8_t *data, size_t len,
			struct miband_steps *ret)
{
	struct miband_steps s;
	struct miband__rd r;

	if (!ret)
		return MIBAND_E_INVAL;
	memset(&s, 0, sizeof(s));
	miband__rd_init(&r, data, len);
	if (miband__rd_u8(&r) != STEPS_HEADER)
		return MIBAND_E_MALFORMED;
	s.steps = miband__rd_u32le(&r);
	if (len == 13) {
		s.meters = miband__rd_u32le(&r);
		s.kcal = miband__rd_u32le(&r);
		s.has_distance = true;
	}
	if (!miband__rd_done(&r) || (len != 5 && len != 13))
		return MIBAND_E_MALFORMED;
	*ret = s;
	return 0;
}

int miband_encode_steps(uint8_t *buf, size_t cap, const struct miband_steps *s)
{
	struct miband__wr w;

	if (!s)
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, STEPS_HEADER);
	miband__wr_u32le(&w, s->steps);
	if (s->has_distance) {
		miband__wr_u32le(&w, s->meters);
		miband__wr_u32le(&w, s->kcal);
	}
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

/* ---- UTF-8 and alerts (PROTOCOL.md 4.6) ---- */

/* Length of the valid sequence at s[0..n), or 0 if it is not valid. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	size_t len, i;
	uint8_t lo = 0x80, hi = 0xbf; /* range of the second byte */

	if (c < 0x80)
		return 1;
	if (c < 0xc2) /* continuation byte, or overlong C0/C1 */
		return 0;
	if (c < 0xe0) {
		len = 2;
	} else if (c < 0xf0) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
	} else if (c < 0xf5) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

int miband_utf8_cut(const char *text, size_t len, size_t max)
{
	const uint8_t *s = (const uint8_t *)text;
	size_t off = 0, cut = 0;

	if (!text && len)
		return MIBAND_E_INVAL;
	if (max > 0x7fffffff)
		max = 0x7fffffff;
	while (off < len) {
		size_t n = utf8_seq(s + off, len - off);

		if (!n)
			return MIBAND_E_BAD_UTF8;
		off += n;
		if (off <= max)
			cut = off;
	}
	return (int)cut;
}

int miband_encode_new_alert(uint8_t *buf, size_t cap, uint8_t category,
			    uint8_t count, const char *text, size_t text_len)
{
	struct miband__wr w;
	int n;

	/* The custom category needs an icon byte this layout cannot carry:
	 * use miband_encode_app_notification for it. */
	if (category == MIBAND_CATEGORY_CUSTOM)
		return MIBAND_E_INVAL;
	if (!buf || cap < 2)
		return MIBAND_E_NOSPACE;
	n = miband_utf8_cut(text, text_len, cap - 2);
	if (n < 0)
		return n;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, category);
	miband__wr_u8(&w, count);
	miband__wr_bytes(&w, text, (size_t)n);
	return miband__wr_result(&w);
}

#define TITLE_MAX 32

int miband_encode_app_notification(uint8_t *buf, size_t cap, size_t max,
				   uint8_t category, uint8_t icon,
				   const char *title, const char *body,
				   const char *app)
{
	static const uint8_t fake_app[3] = {0x00, 0x20, 0x00};
	size_t title_len, body_len, app_len = 0, fixed, room;
	bool custom = category == MIBAND_CATEGORY_CUSTOM;
	bool has_suffix = custom || category == MIBAND_CATEGORY_SMS ||
			  category == MIBAND_CATEGORY_EMAIL;
	struct miband__wr w;
	int t, b;

	if (!title)
		title = "";
	if (!body || !*body)
		body = " "; /* the band shows nothing for an empty body */
	if (custom && app)
		app_len = strlen(app);
	title_len = strlen(title);
	body_len = strlen(body);
	if (miband_utf8_cut(app, app_len, app_len) < 0)
		return MIBAND_E_BAD_UTF8;

	/* prefix, the 00 after the title, suffix */
	fixed = 2u + custom + 1u +
		(custom	      ? app_len + 2u
		 : has_suffix ? 3u
			      : 0u);
	if (fixed > max)
		return MIBAND_E_NOSPACE;
	room = max - fixed;
	t = miband_utf8_cut(title, title_len,
			    room < TITLE_MAX ? room : TITLE_MAX);
	if (t < 0)
		return t;
	room -= (size_t)t;
	b = miband_utf8_cut(body, body_len, room);
	if (b < 0)
		return b;

	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, category);
	miband__wr_u8(&w, 0x01);
	if (custom)
		miband__wr_u8(&w, icon);
	miband__wr_bytes(&w, title, (size_t)t);
	miband__wr_u8(&w, 0x00);
	miband__wr_bytes(&w, body, (size_t)b);
	if (custom) {
		miband__wr_u8(&w, 0x00);
		miband__wr_bytes(&w, app, app_len);
		miband__wr_u8(&w, 0x00);
	} else if (has_suffix) {
		miband__wr_bytes(&w, fake_app, sizeof(fake_app));
	}
	return miband__wr_result(&w);
}

/* ---- old chunked transfer H(0020) (PROTOCOL.md 4.6.3) ---- */

#define CHUNK_FIRST 0x00
#define CHUNK_MIDDLE 0x40
#define CHUNK_LAST 0x80
#define CHUNK_SINGLE 0xc0

size_t miband_chunk_count(size_t msg_len, size_t chunk_max)
{
	if (!chunk_max)
		return 0;
	if (!msg_len)
		return 1;
	return (msg_len - 1) / chunk_max + 1;
}

int miband_encode_chunk(uint8_t *buf, size_t cap, uint8_t type,
			const uint8_t *msg, size_t msg_len, size_t index,
			size_t chunk_max)
{
	size_t n = miband_chunk_count(msg_len, chunk_max);
	size_t off, dlen;
	uint8_t flags;
	struct miband__wr w;

	if (!n || index >= n || (type & 0xc0) || (!msg && msg_len))
		return MIBAND_E_INVAL;
	if (n == 1)
		flags = CHUNK_SINGLE;
	else if (index == 0)
		flags = CHUNK_FIRST;
	else if (index == n - 1)
		flags = CHUNK_LAST;
	else
		flags = CHUNK_MIDDLE;
	off = index * chunk_max;
	dlen = msg_len - off < chunk_max ? msg_len - off : chunk_max;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, 0x00);
	miband__wr_u8(&w, (uint8_t)(flags | type));
	miband__wr_u8(&w, (uint8_t)(index & 0xffu));
	miband__wr_bytes(&w, msg ? msg + off : NULL, dlen);
	return miband__wr_result(&w);
}

/* ---- configuration H(0003) (PROTOCOL.md 4.7) ---- */

static int put_bytes(uint8_t *buf, size_t cap, const uint8_t *src, size_t n)
{
	struct miband__wr w;

	miband__wr_init(&w, buf, cap);
	miband__wr_bytes(&w, src, n);
	return miband__wr_result(&w);
}

/* 06 <what> 00 <value> */
static int put_setting(uint8_t *buf, size_t cap, uint8_t what, uint8_t v)
{
	const uint8_t cmd[4] = {0x06, what, 0x00, v};

	return put_bytes(buf, cap, cmd, sizeof(cmd));
}

int miband_encode_config_time_format(uint8_t *buf, size_t cap, bool h24)
{
	return put_setting(buf, cap, 0x02, h24 ? 0x01 : 0x00);
}

int miband_encode_config_date_display(uint8_t *buf, size_t cap, bool show_date)
{
	return put_setting(buf, cap, 0x0a, show_date ? 0x03 : 0x00);
}

int miband_encode_config_date_format(uint8_t *buf, size_t cap, const char *fmt)
{
	struct miband__wr w;
	size_t n, i;

	if (!fmt)
		return MIBAND_E_INVAL;
	n = strlen(fmt);
	if (n < 1 || n > 17) /* 20 - header */
		return MIBAND_E_INVAL;
	for (i = 0; i < n; i++)
		if (fmt[i] < 0x20 || fmt[i] > 0x7e)
			return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, 0x06);
	miband__wr_u8(&w, 0x1e);
	miband__wr_u8(&w, 0x00);
	miband__wr_bytes(&w, fmt, n);
	return miband__wr_result(&w);
}

int miband_encode_config_distance_unit(uint8_t *buf, size_t cap, bool imperial)
{
	return put_setting(buf, cap, 0x03, imperial ? 0x01 : 0x00);
}

int miband_encode_config_lift_wrist(uint8_t *buf, size_t cap, bool on)
{
	static const uint8_t on_cmd[] = {0x06, 0x05, 0x00, 0x01,
					 0x00, 0x00, 0x00, 0x00};

	if (on)
		return put_bytes(buf, cap, on_cmd, sizeof(on_cmd));
	return put_setting(buf, cap, 0x05, 0x00);
}

int miband_encode_config_goal_notification(uint8_t *buf, size_t cap, bool on)
{
	return put_setting(buf, cap, 0x06, on ? 0x01 : 0x00);
}

int miband_encode_config_rotate_wrist(uint8_t *buf, size_t cap, bool on)
{
	return put_setting(buf, cap, 0x0d, on ? 0x01 : 0x00);
}

int miband_encode_config_display_caller(uint8_t *buf, size_t cap, bool on)
{
	const uint8_t cmd[5] = {0x06, 0x10, 0x00, 0x00, on ? 0x01 : 0x00};

	return put_bytes(buf, cap, cmd, sizeof(cmd));
}

int miband_encode_config_screen_unlock(uint8_t *buf, size_t cap, bool on)
{
	return put_setting(buf, cap, 0x16, on ? 0x01 : 0x00);
}

static bool hm_ok(uint8_t sh, uint8_t sm, uint8_t eh, uint8_t em)
{
	return sh < 24 && sm < 60 && eh < 24 && em < 60;
}

/* <cmd> <mode byte> [sh sm eh em when scheduled] */
static int put_schedule(uint8_t *buf, size_t cap, uint8_t cmd, uint8_t mode,
			bool scheduled, uint8_t sh, uint8_t sm, uint8_t eh,
			uint8_t em)
{
	struct miband__wr w;

	if (scheduled && !hm_ok(sh, sm, eh, em))
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, cmd);
	miband__wr_u8(&w, mode);
	if (scheduled) {
		miband__wr_u8(&w, sh);
		miband__wr_u8(&w, sm);
		miband__wr_u8(&w, eh);
		miband__wr_u8(&w, em);
	}
	return miband__wr_result(&w);
}

int miband_encode_config_night_mode(uint8_t *buf, size_t cap, int mode,
				    uint8_t sh, uint8_t sm, uint8_t eh,
				    uint8_t em)
{
	switch (mode) {
	case 0:
		return put_schedule(buf, cap, 0x1a, 0x00, false, 0, 0, 0, 0);
	case 1:
		return put_schedule(buf, cap, 0x1a, 0x01, true, sh, sm, eh, em);
	case 2:
		return put_schedule(buf, cap, 0x1a, 0x02, false, 0, 0, 0, 0);
	default:
		return MIBAND_E_INVAL;
	}
}

int miband_encode_config_dnd(uint8_t *buf, size_t cap, int mode, uint8_t sh,
			     uint8_t sm, uint8_t eh, uint8_t em)
{
	switch (mode) {
	case 0:
		return put_schedule(buf, cap, 0x09, 0x82, false, 0, 0, 0, 0);
	case 1:
		return put_schedule(buf, cap, 0x09, 0x81, true, sh, sm, eh, em);
	case 2:
		return put_schedule(buf, cap, 0x09, 0x83, false, 0, 0, 0, 0);
	default:
		return MIBAND_E_INVAL;
	}
}

int miband_encode_config_display_items(uint8_t *buf, size_t cap, uint16_t mask)
{
	struct miband__wr w;
	uint8_t i;

	if (mask > 0x1ff)
		return MIBAND_E_INVAL;
	mask |= 0x0001; /* the clock is always shown */
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, 0x0a);
	miband__wr_u16le(&w, mask);
	miband__wr_u8(&w, 0x00); /* the clock's position */
	for (i = 1; i <= 8; i++)
		miband__wr_u8(&w, i);
	return miband__wr_result(&w);
}

int miband_decode_config_reply(const uint8_t *data, size_t len,
			       uint8_t *ret_cmd, uint8_t *ret_status)
{
	if (!data || len < 3 || len > 20 || data[0] != 0x10)
		return MIBAND_E_MALFORMED;
	if (ret_cmd)
		*ret_cmd = data[1];
	if (ret_status)
		*ret_status = data[len - 1];
	return 0;
}

/* ---- user settings H(0008) (PROTOCOL.md 4.8) ---- */

int miband_encode_user_info(uint8_t *buf, size_t cap,
			    const struct miband_user_info *u,
			    bool weight_times_200)
{
	struct miband__wr w;
	uint32_t weight;

	if (!u || u->birth_month < 1 || u->birth_month > 12 ||
	    u->birth_day < 1 || u->birth_day > 31 || u->sex > 2)
		return MIBAND_E_INVAL;
	weight =
		weight_times_200 ? (uint32_t)u->weight_kg * 200u : u->weight_kg;
	if (weight > 0xffff)
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, 0x4f);
	miband__wr_u8(&w, 0x00);
	miband__wr_u8(&w, 0x00);
	miband__wr_u16le(&w, u->birth_year);
	miband__wr_u8(&w, u->birth_month);
	miband__wr_u8(&w, u->birth_day);
	miband__wr_u8(&w, u->sex);
	miband__wr_u16le(&w, u->height_cm);
	miband__wr_u16le(&w, (uint16_t)weight);
	miband__wr_u32le(&w, u->user_id);
	return miband__wr_result(&w);
}

int miband_encode_step_goal(uint8_t *buf, size_t cap, uint16_t goal)
{
	struct miband__wr w;

	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, 0x10);
	miband__wr_u8(&w, 0x00);
	miband__wr_u8(&w, 0x00);
	miband__wr_u16le(&w, goal);
	miband__wr_u8(&w, 0x00);
	miband__wr_u8(&w, 0x00);
	return miband__wr_result(&w);
}

int miband_encode_wear_location(uint8_t *buf, size_t cap, bool right_wrist)
{
	const uint8_t cmd[4] = {0x20, 0x00, 0x00, right_wrist ? 0x82 : 0x02};

	return put_bytes(buf, cap, cmd, sizeof(cmd));
}

/* ---- activity fetch (PROTOCOL.md 5) ---- */

int miband_encode_fetch_start(uint8_t *buf, size_t cap, uint8_t type,
			      const struct miband_time *since)
{
	struct miband__wr w;

	if (miband_time_valid(since))
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, 0x01);
	miband__wr_u8(&w, type);
	miband__wr_u16le(&w, since->year);
	miband__wr_u8(&w, since->month);
	miband__wr_u8(&w, since->day);
	miband__wr_u8(&w, since->hour);
	miband__wr_u8(&w, since->minute);
	miband__wr_u8(&w, 0x00); /* minute precision (GB, MB2/MB3 era) */
	miband__wr_u8(&w, (uint8_t)since->tz);
	return miband__wr_result(&w);
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
	if (miband__rd_u8(&r) != 0x10)
		return MIBAND_E_MALFORMED;
	f.cmd = miband__rd_u8(&r);
	f.status = miband__rd_u8(&r);
	if (r.err || f.cmd < 0x01 || f.cmd > 0x03)
		return MIBAND_E_MALFORMED;
	if (f.cmd == 0x01 && f.status == 0x01) {
		f.count = miband__rd_u32le(&r);
		get_datetime7(&r, &f.first);
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
		put_datetime7(&w, first);
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

void miband_sample_decode(const uint8_t *p, struct miband_sample *ret)
{
	ret->kind = p[0];
	ret->intensity = p[1];
	ret->steps = p[2];
	ret->heart_rate = p[3];
}
