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
	time_t now = time(NULL);
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

int mb_time_parse_band(const char *s, struct miband_time *ret)
{
	struct miband_time t;
	unsigned y, mo, d, h, mi, sec = 0, oh = 0, om = 0;
	size_t n = strlen(s), p;
	int sign = 0;

	memset(&t, 0, sizeof(t));
	if (n < 16 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
	    mb_parse_digits(s, 4, &y) || mb_parse_digits(s + 5, 2, &mo) ||
	    mb_parse_digits(s + 8, 2, &d) || mb_parse_digits(s + 11, 2, &h) ||
	    mb_parse_digits(s + 14, 2, &mi))
		return MIBAND_E_BAD_TIME;
	p = 16;
	if (p < n && s[p] == ':') {
		if (p + 3 > n || mb_parse_digits(s + p + 1, 2, &sec))
			return MIBAND_E_BAD_TIME;
		p += 3;
	}
	if (p < n && (s[p] == 'Z' || s[p] == 'z')) {
		sign = 1;
		p++;
	} else if (p < n && (s[p] == '+' || s[p] == '-')) {
		sign = s[p] == '-' ? -1 : 1;
		p++;
		if (p + 2 > n || mb_parse_digits(s + p, 2, &oh))
			return MIBAND_E_BAD_TIME;
		p += 2;
		if (p < n && s[p] == ':')
			p++;
		if (p < n) {
			if (p + 2 > n || mb_parse_digits(s + p, 2, &om))
				return MIBAND_E_BAD_TIME;
			p += 2;
		}
	}
	if (p != n || y < 2000 || y > 2099 || sec > 59 || oh > 14 || om > 59 ||
	    om % 15)
		return MIBAND_E_BAD_TIME;
	t.year = (uint16_t)y;
	t.month = (uint8_t)mo;
	t.day = (uint8_t)d;
	t.hour = (uint8_t)h;
	t.minute = (uint8_t)mi;
	t.second = (uint8_t)sec;
	if (miband_time_valid(&t) < 0 || h > 23 || mi > 59)
		return MIBAND_E_BAD_TIME;
	t.dow = miband_day_of_week((int32_t)y, mo, d);
	if (sign) {
		t.tz = (int8_t)(sign * (int)(oh * 4 + om / 15));
	} else {
		struct tm tm;
		time_t tt;

		memset(&tm, 0, sizeof(tm));
		tm.tm_year = (int)y - 1900;
		tm.tm_mon = (int)mo - 1;
		tm.tm_mday = (int)d;
		tm.tm_hour = (int)h;
		tm.tm_min = (int)mi;
		tm.tm_sec = (int)sec;
		tm.tm_isdst = -1;
		tt = mktime(&tm);
		if (tt == (time_t)-1)
			return MIBAND_E_BAD_TIME;
		localtime_r(&tt, &tm);
		t.tz = (int8_t)(tm.tm_gmtoff / 900);
	}
	*ret = t;
	return 0;
}
