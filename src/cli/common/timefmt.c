/*
 * mibandctl's time formats (see timefmt.h).  The C library does the
 * zone arithmetic: mktime() with tm_isdst = -1 for a local time,
 * localtime_r()'s tm_gmtoff for the offset in force.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/timefmt.h"

int mb_parse_digits(const char *s, size_t n, unsigned *ret)
{
	unsigned v = 0;
	size_t i;

	if (!n)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*ret = v;
	return 0;
}

void mb_time_fmt_tz(int8_t tz, char *buf, size_t cap)
{
	int m = tz * 15;

	snprintf(buf, cap, "%c%02d:%02d", m < 0 ? '-' : '+', abs(m) / 60,
		 abs(m) % 60);
}

void mb_time_fmt(const struct miband_time *t, bool with_tz, bool iso, char *buf,
		 size_t cap)
{
	char tz[8] = "";

	if (with_tz)
		mb_time_fmt_tz(t->tz, tz, sizeof(tz));
	snprintf(buf, cap, "%04u-%02u-%02u%c%02u:%02u:%02u%s%s",
		 (unsigned)t->year, (unsigned)t->month, (unsigned)t->day,
		 iso ? 'T' : ' ', (unsigned)t->hour, (unsigned)t->minute,
		 (unsigned)t->second, with_tz && !iso ? " " : "", tz);
}

const char *mb_time_dow_name(unsigned dow)
{
	static const char *const names[] = {"?",	 "Monday",   "Tuesday",
					    "Wednesday", "Thursday", "Friday",
					    "Saturday",	 "Sunday"};

	return dow <= 7 ? names[dow] : "?";
}

void mb_time_host_now(struct miband_time *t)
{
	mb_time_host_at(t, (int64_t)time(NULL));
}

void mb_time_host_at(struct miband_time *t, int64_t unix_s)
{
	time_t now = (time_t)unix_s;
	struct tm tm;

	localtime_r(&now, &tm);
	memset(t, 0, sizeof(*t));
	t->year = (uint16_t)(tm.tm_year + 1900);
	t->month = (uint8_t)(tm.tm_mon + 1);
	t->day = (uint8_t)tm.tm_mday;
	t->hour = (uint8_t)tm.tm_hour;
	t->minute = (uint8_t)tm.tm_min;
	t->second = (uint8_t)(tm.tm_sec > 59 ? 59 : tm.tm_sec);
	t->dow = (uint8_t)(tm.tm_wday == 0 ? 7 : tm.tm_wday);
	t->tz = (int8_t)(tm.tm_gmtoff / 900);
}

int mb_time_parse_iso(const char *s, struct mb_iso_time *ret)
{
	struct mb_iso_time r;
	unsigned y, mo, d, h = 0, mi = 0, sec = 0, oh, om = 0;
	size_t n = s ? strlen(s) : 0, p = 10, z;

	memset(&r, 0, sizeof(r));
	if (n < 10 || s[4] != '-' || s[7] != '-' || mb_parse_digits(s, 4, &y) ||
	    mb_parse_digits(s + 5, 2, &mo) || mb_parse_digits(s + 8, 2, &d))
		return MIBAND_E_BAD_TIME;
	if (p < n && (s[p] == 'T' || s[p] == 't' || s[p] == ' ')) {
		if (n < p + 6 || s[p + 3] != ':' ||
		    mb_parse_digits(s + p + 1, 2, &h) ||
		    mb_parse_digits(s + p + 4, 2, &mi))
			return MIBAND_E_BAD_TIME;
		p += 6;
		if (p < n && s[p] == ':') {
			if (n < p + 3 || mb_parse_digits(s + p + 1, 2, &sec))
				return MIBAND_E_BAD_TIME;
			p += 3;
		}
		r.has_time = true;
	}
	z = n - p;
	if (z == 1 && (s[p] == 'Z' || s[p] == 'z')) {
		r.has_zone = true;
	} else if (z && (s[p] == '+' || s[p] == '-')) {
		if (mb_parse_digits(s + p + 1, 2, &oh) ||
		    (z == 6 &&
		     (s[p + 3] != ':' || mb_parse_digits(s + p + 4, 2, &om))) ||
		    (z == 5 && mb_parse_digits(s + p + 3, 2, &om)) ||
		    (z != 3 && z != 5 && z != 6) || oh > 14 || om > 59)
			return MIBAND_E_BAD_TIME;
		r.has_zone = true;
		r.zone_min = (s[p] == '-' ? -1 : 1) * (int)(oh * 60 + om);
	} else if (z) {
		return MIBAND_E_BAD_TIME;
	}
	if (y > 9999 || mo > 12 || d > 31 || h > 23 || mi > 59 || sec > 59)
		return MIBAND_E_BAD_TIME;
	r.t.year = (uint16_t)y;
	r.t.month = (uint8_t)mo;
	r.t.day = (uint8_t)d;
	r.t.hour = (uint8_t)h;
	r.t.minute = (uint8_t)mi;
	r.t.second = (uint8_t)sec;
	if (miband_time_valid(&r.t) < 0)
		return MIBAND_E_BAD_TIME;
	r.t.dow = miband_day_of_week((int32_t)y, mo, d);
	*ret = r;
	return 0;
}

/* t as a local time with DST off (isdst 0) or on (1), if that reading
 * exists: mktime() normalises what does not, so read it back. */
static bool local_try(const struct miband_time *t, int isdst, time_t *ret,
		      long *ret_gmtoff)
{
	struct tm tm;
	time_t tt;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)t->year - 1900;
	tm.tm_mon = (int)t->month - 1;
	tm.tm_mday = (int)t->day;
	tm.tm_hour = (int)t->hour;
	tm.tm_min = (int)t->minute;
	tm.tm_sec = (int)t->second;
	tm.tm_isdst = isdst;
	tt = mktime(&tm);
	if (tt == (time_t)-1 || !localtime_r(&tt, &tm) ||
	    tm.tm_year != (int)t->year - 1900 || tm.tm_mon != t->month - 1 ||
	    tm.tm_mday != t->day || tm.tm_hour != t->hour ||
	    tm.tm_min != t->minute || tm.tm_sec != t->second ||
	    tm.tm_isdst != isdst)
		return false;
	*ret = tt;
	*ret_gmtoff = tm.tm_gmtoff;
	return true;
}

/*
 * A local date and time to unix seconds and the offset in force then
 * (seconds east of UTC), DST as the C library knows it.  A time the
 * clocks skip (spring forward) does not exist, one they pass twice (fall
 * back) is ambiguous: both are refused, with why in *ret_why.
 */
static int local_to_unix(const struct miband_time *t, int64_t *ret_unix,
			 long *ret_gmtoff, const char **ret_why)
{
	time_t std, dst;
	long std_off, dst_off;
	bool has_std = local_try(t, 0, &std, &std_off);
	bool has_dst = local_try(t, 1, &dst, &dst_off);

	if (has_std && has_dst && std != dst) {
		if (ret_why)
			*ret_why = "that local time happens twice in the "
				   "host's zone (the clocks go back): give "
				   "its zone (+HH:MM) to say which";
		return MIBAND_E_BAD_TIME;
	}
	if (!has_std && !has_dst) {
		if (ret_why)
			*ret_why = "that local time does not exist in the "
				   "host's zone (the clocks skip it): give "
				   "the zone, or a time outside the change";
		return MIBAND_E_BAD_TIME;
	}
	*ret_unix = (int64_t)(has_std ? std : dst);
	*ret_gmtoff = has_std ? std_off : dst_off;
	return 0;
}

void mb_time_assume_local(struct miband_time *t)
{
	int64_t u;
	long off;
	struct tm tm;
	time_t tt;

	if (local_to_unix(t, &u, &off, NULL) == 0) {
		t->tz = (int8_t)(off / 900);
		return;
	}
	/* skipped or repeated: the offset mktime() settles on */
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)t->year - 1900;
	tm.tm_mon = (int)t->month - 1;
	tm.tm_mday = (int)t->day;
	tm.tm_hour = (int)t->hour;
	tm.tm_isdst = -1;
	tt = mktime(&tm);
	if (tt != (time_t)-1 && localtime_r(&tt, &tm))
		t->tz = (int8_t)(tm.tm_gmtoff / 900);
}

static int why(const char **ret_why, const char *msg)
{
	if (ret_why)
		*ret_why = msg;
	return MIBAND_E_BAD_TIME;
}

int mb_time_parse_band(const char *s, struct miband_time *ret,
		       const char **ret_why)
{
	struct mb_iso_time r;
	int64_t u;
	long off;
	int err;

	if (mb_time_parse_iso(s, &r) < 0)
		return why(ret_why, "a time is ISO 8601: "
				    "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]");
	if (!r.has_time)
		return why(ret_why, "the band needs a time of day: "
				    "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]");
	if (r.t.year < 2000 || r.t.year > 2099)
		return why(ret_why,
			   "the band's clock takes years 2000 to 2099");
	if (r.zone_min % 15)
		return why(ret_why, "the band keeps the zone in quarter hours "
				    "(+05:45 yes, +01:10 no)");
	if (r.has_zone) {
		r.t.tz = (int8_t)(r.zone_min / 15);
	} else {
		err = local_to_unix(&r.t, &u, &off, ret_why);
		if (err < 0)
			return err;
		if (off % 900)
			return why(ret_why, "the host's zone is not in quarter "
					    "hours then: give the zone");
		r.t.tz = (int8_t)(off / 900);
	}
	*ret = r.t;
	return 0;
}

int mb_time_parse_unix(const char *s, bool utc, int64_t *ret_unix)
{
	struct mb_iso_time r;
	int64_t u;
	long off;

	if (mb_time_parse_iso(s, &r) < 0)
		return MIBAND_E_BAD_TIME;
	if (r.has_zone || utc) {
		*ret_unix =
			miband_time_to_unix(&r.t) - (int64_t)r.zone_min * 60;
		return 0;
	}
	if (local_to_unix(&r.t, &u, &off, NULL) < 0)
		return MIBAND_E_BAD_TIME;
	*ret_unix = u;
	return 0;
}
