/*
 * Values the band reports and is told (PROTOCOL.md 4.1-4.3): the
 * calendar without libc, date-time and Current Time, battery, realtime
 * steps.  Part of the codec (see codec.c for the conventions).
 *
 * Calendar arithmetic follows Howard Hinnant's public-domain
 * days_from_civil and its inverse, so the core needs no time.h on
 * firmware.  A band time is only ever written or accepted when every
 * field is in range (date_ok, miband_time_valid); the 7-byte date-time
 * that several messages embed is read and written by
 * miband__rd_datetime7 / miband__wr_datetime7 (codec-int.h).
 */
#include "miband/codec.h"
#include "miband/error.h"

#include <string.h>

#include "codec-int.h"

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

bool miband__date_ok(const struct miband_time *t)
{
	return t->year >= YEAR_MIN && t->year <= YEAR_MAX && t->day >= 1 &&
	       t->day <= days_in_month(t->year, t->month) && t->hour < 24 &&
	       t->minute < 60 && t->second < 60;
}

int miband_time_valid(const struct miband_time *t)
{
	if (!t || !miband__date_ok(t) || t->dow > 7 || t->tz < TZ_MIN ||
	    t->tz > TZ_MAX)
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

void miband__wr_datetime7(struct miband__wr *w, const struct miband_time *t)
{
	miband__wr_u16le(w, t->year);
	miband__wr_u8(w, t->month);
	miband__wr_u8(w, t->day);
	miband__wr_u8(w, t->hour);
	miband__wr_u8(w, t->minute);
	miband__wr_u8(w, t->second);
}

void miband__rd_datetime7(struct miband__rd *r, struct miband_time *t)
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

	if (!t || !miband__date_ok(t))
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_datetime7(&w, t);
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
	miband__rd_datetime7(&r, &t);
	if (!miband__rd_done(&r) || !miband__date_ok(&t))
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
	miband__wr_datetime7(&w, t);
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
	miband__rd_datetime7(&r, &t);
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
	miband__rd_datetime7(r, t);
	t->tz = (int8_t)miband__rd_u8(r);
	if (r->err)
		return false;
	if (time_unset(t))
		return t->tz == 0;
	return miband__date_ok(t) && t->tz >= TZ_MIN && t->tz <= TZ_MAX;
}

static bool put_stamp(struct miband__wr *w, const struct miband_time *t)
{
	if (time_unset(t)) {
		miband__wr_zero(w, 8);
		return true;
	}
	if (!miband__date_ok(t) || t->tz < TZ_MIN || t->tz > TZ_MAX)
		return false;
	miband__wr_datetime7(w, t);
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
