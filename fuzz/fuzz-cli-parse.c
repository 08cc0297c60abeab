/*
 * What mibandctl parses from people and prints from bands: keys, BD
 * addresses, ISO 8601 times, key files, key names, and the escaping of
 * band strings for a terminal and for JSON.  The first input byte picks
 * the function, the rest is its text.
 *
 * Each parser is checked against an independent reading of its
 * documented grammar (accepts exactly what the grammar accepts, and
 * yields the same value); ret_ arguments stay untouched on failure.
 * The escapers must produce valid UTF-8 with no terminal control
 * characters (C0, DEL, C1) and, for JSON, a valid string body that
 * decodes back to the input with each invalid byte as U+FFFD.
 *
 * Times: one grammar (common/timefmt.h) read twice, for history ranges
 * (mb_history_parse_time) and for the band's clock (mb_time_parse_band,
 * a subset: a time of day, years 2000-2099, zones in quarter hours).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/history.h"
#include "common/keys.h"
#include "common/output.h"
#include "common/timefmt.h"
#include "fuzz.h"
#include "miband/miband.h"

#define TEXT_MAX 512

static int hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Strict UTF-8 (RFC 3629): the length of the sequence at s, 0 if bad;
 * *cp gets the code point. */
static size_t u8_seq(const uint8_t *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
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
	*cp = v;
	return len;
}

static size_t u8_put(uint8_t *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* A code point a terminal may act on: C0, DEL, C1. */
static bool is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* ---- keys ---- */

/* keys.h: 32 hex digits, optionally 0x, spaces or colons anywhere,
 * surrounding white space ignored. */
static bool key_grammar(const char *s, uint8_t key[16])
{
	const char *end;
	size_t n = 0;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && strchr(" \t\n\r", end[-1]))
		end--;
	if (end - s >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; s < end; s++) {
		if (*s == ' ' || *s == ':')
			continue;
		if (hexv((unsigned char)*s) < 0 || n >= 32)
			return false;
		if (n % 2 == 0)
			key[n / 2] = (uint8_t)(hexv((unsigned char)*s) << 4);
		else
			key[n / 2] |= (uint8_t)hexv((unsigned char)*s);
		n++;
	}
	return n == 32;
}

static void fuzz_key(const char *s)
{
	uint8_t key[16], want[16];
	bool ok = key_grammar(s, want);
	int r;

	memset(key, 0xa5, sizeof(key));
	r = mb_key_parse(s, key);
	FUZZ_ASSERT(r == 0 || r == MIBAND_E_BAD_KEY);
	FUZZ_ASSERT((r == 0) == ok);
	if (r == 0) {
		FUZZ_ASSERT(!memcmp(key, want, 16));
	} else {
		size_t i;

		for (i = 0; i < 16; i++)
			FUZZ_ASSERT(key[i] == 0xa5);
	}
}

/* ---- addresses ---- */

static void fuzz_address(const char *s)
{
	char out[MB_ADDRESS_LEN];
	bool ok = strlen(s) == 17;
	int i, r;

	for (i = 0; ok && i < 17; i++)
		ok = i % 3 == 2 ? s[i] == ':' : hexv((unsigned char)s[i]) >= 0;
	memset(out, 0x5a, sizeof(out));
	r = mb_address_parse(s, out);
	FUZZ_ASSERT(r == 0 || r == MIBAND_E_BAD_ADDRESS);
	FUZZ_ASSERT((r == 0) == ok);
	if (r < 0) {
		for (i = 0; i < MB_ADDRESS_LEN; i++)
			FUZZ_ASSERT(out[i] == 0x5a);
		return;
	}
	FUZZ_ASSERT(out[17] == 0);
	for (i = 0; i < 17; i++) {
		if (i % 3 == 2)
			FUZZ_ASSERT(out[i] == ':');
		else
			FUZZ_ASSERT(hexv((unsigned char)out[i]) ==
					    hexv((unsigned char)s[i]) &&
				    !(out[i] >= 'a' && out[i] <= 'z'));
	}
	/* the canonical form parses to itself */
	{
		char again[MB_ADDRESS_LEN];

		FUZZ_ASSERT(mb_address_parse(out, again) == 0);
		FUZZ_ASSERT(!strcmp(out, again));
	}
	FUZZ_ASSERT(mb_key_name_valid(out));
}

/* ---- times ---- */

static int num(const char *p, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

static int days_in_month(int y, int m)
{
	static const int d[12] = {31, 28, 31, 30, 31, 30,
				  31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : d[m - 1];
}

/*
 * timefmt.h: YYYY-MM-DD[(T|t| )HH:MM[:SS]][Z|z|(+|-)HH[[:]MM]], years
 * 1970..2099 (the library's range); without a zone, local time.
 */
static bool time_grammar(const char *s, struct tm *tm, bool *has_time,
			 bool *has_zone, long *offset)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, oh, om = 0;
	size_t n = strlen(s), p = 10;

	if (n < 10 || s[4] != '-' || s[7] != '-')
		return false;
	y = num(s, 4);
	mo = num(s + 5, 2);
	d = num(s + 8, 2);
	if (y < 1970 || y > 2099 || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo))
		return false;
	*has_time = false;
	if (p < n && (s[p] == 'T' || s[p] == 't' || s[p] == ' ')) {
		*has_time = true;
		if (n < p + 6 || s[p + 3] != ':')
			return false;
		h = num(s + p + 1, 2);
		mi = num(s + p + 4, 2);
		p += 6;
		if (p < n && s[p] == ':') {
			if (n < p + 3)
				return false;
			sec = num(s + p + 1, 2);
			if (sec < 0)
				return false;
			p += 3;
		}
	}
	if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec > 59)
		return false;
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = y - 1900;
	tm->tm_mon = mo - 1;
	tm->tm_mday = d;
	tm->tm_hour = h;
	tm->tm_min = mi;
	tm->tm_sec = sec;
	*has_zone = p < n;
	*offset = 0;
	if (p == n)
		return true;
	if (s[p] == 'Z' || s[p] == 'z')
		return p + 1 == n;
	if (s[p] != '+' && s[p] != '-')
		return false;
	oh = num(s + p + 1, 2);
	if (n - p == 6 && s[p + 3] == ':')
		om = num(s + p + 4, 2);
	else if (n - p == 5)
		om = num(s + p + 3, 2);
	else if (n - p != 3)
		return false;
	if (oh < 0 || oh > 14 || om < 0 || om > 59)
		return false;
	*offset = (s[p] == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
	return true;
}

/* The band's subset of the grammar, against mb_time_parse_band(). */
static void fuzz_band_time(const char *s, bool ok, const struct tm *tm,
			   bool has_time, bool zone, long offset)
{
	struct miband_time t;
	int r;

	memset(&t, 0x5a, sizeof(t));
	r = mb_time_parse_band(s, &t, NULL);
	FUZZ_ASSERT(r == 0 || r == MIBAND_E_BAD_TIME);
	if (r < 0) {
		FUZZ_ASSERT(t.year == 0x5a5a);
		/* outside the subset, or a local time mktime refuses */
		FUZZ_ASSERT(!ok || !has_time || tm->tm_year < 100 ||
			    tm->tm_year > 199 || offset % 900 || !zone);
		return;
	}
	FUZZ_ASSERT(ok && has_time && tm->tm_year >= 100 &&
		    tm->tm_year <= 199 && offset % 900 == 0);
	FUZZ_ASSERT(t.year == tm->tm_year + 1900 && t.month == tm->tm_mon + 1 &&
		    t.day == tm->tm_mday && t.hour == tm->tm_hour &&
		    t.minute == tm->tm_min && t.second == tm->tm_sec);
	if (zone)
		FUZZ_ASSERT(t.tz * 900L == offset);
}

static void fuzz_time(const char *s)
{
	struct tm tm;
	bool has_time = false, zone = false;
	long offset = 0;
	bool ok = time_grammar(s, &tm, &has_time, &zone, &offset);
	int64_t u = 0x5a5a5a5a5a5aLL;
	int r;

	fuzz_band_time(s, ok, &tm, has_time, zone, offset);
	r = mb_history_parse_time(s, &u);
	FUZZ_ASSERT(r == 0 || r == MIBAND_E_BAD_TIME);
	if (r < 0) {
		FUZZ_ASSERT(u == 0x5a5a5a5a5a5aLL);
		/* mktime may refuse what the grammar allows */
		FUZZ_ASSERT(!ok || !zone);
		return;
	}
	FUZZ_ASSERT(ok);
	if (zone) {
		FUZZ_ASSERT(u == (int64_t)timegm(&tm) - offset);
	} else {
		tm.tm_isdst = -1;
		FUZZ_ASSERT(u == (int64_t)mktime(&tm));
	}
}

/* ---- key files and names ---- */

static void fuzz_key_file(const char *s, size_t len)
{
	struct mb_key_entry e;
	char *text = malloc(len + 1);
	char name[MB_KEY_NAME_MAX];
	int r;

	FUZZ_ASSERT(text != NULL);
	memcpy(text, s, len + 1);
	snprintf(name, sizeof(name), "%s",
		 len && s[0] & 1 ? "C8:0F:10:12:34:56" : "emu");
	memset(&e, 0x5a, sizeof(e));
	r = mb_key_entry_parse(name, text, &e);
	FUZZ_ASSERT(r == 0 || r == MIBAND_E_BAD_KEY ||
		    r == MIBAND_E_BAD_ADDRESS);
	if (r == 0) {
		char again[MB_ADDRESS_LEN];

		FUZZ_ASSERT(e.has_key);
		FUZZ_ASSERT(!strcmp(e.name, name));
		FUZZ_ASSERT(memchr(e.address, 0, sizeof(e.address)));
		FUZZ_ASSERT(!strcmp(e.address, "emu") ||
			    (mb_address_parse(e.address, again) == 0 &&
			     !strcmp(again, e.address)));
		FUZZ_ASSERT(!e.has_model ||
			    (unsigned)e.model < MIBAND_MODEL_COUNT);
	} else {
		size_t i;

		for (i = 0; i < sizeof(e); i++)
			FUZZ_ASSERT(((uint8_t *)&e)[i] == 0x5a);
	}
	mb_key_entry_wipe(&e);
	free(text);
}

static void fuzz_key_name(const char *s)
{
	size_t n = strlen(s), i;
	bool ok = n > 0 && n < MB_KEY_NAME_MAX && s[0] != '.';

	for (i = 0; ok && i < n; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') ||
		     (s[i] >= 'A' && s[i] <= 'Z') || is_digit(s[i]) ||
		     strchr("._:-", s[i]);
	FUZZ_ASSERT(mb_key_name_valid(s) == ok);
	/* a valid name is a plain file name */
	if (ok)
		FUZZ_ASSERT(!strchr(s, '/') && strcmp(s, ".") &&
			    strcmp(s, ".."));
}

/* ---- escaping for a terminal and for JSON ---- */

static void fuzz_printable(const uint8_t *s, size_t len, size_t cap)
{
	char out[4 * TEXT_MAX + 8];
	size_t i, n;
	uint32_t cp;

	memset(out, 0x5a, sizeof(out));
	mb_printable(out, cap, s, len);
	n = strnlen(out, cap);
	FUZZ_ASSERT(n < cap);
	for (i = cap; i < sizeof(out); i++)
		FUZZ_ASSERT(out[i] == 0x5a);
	for (i = 0; i < n;) {
		size_t k = u8_seq((const uint8_t *)out + i, n - i, &cp);

		FUZZ_ASSERT(k > 0);
		FUZZ_ASSERT(!is_control(cp));
		i += k;
	}
	/* with room for everything, nothing is lost: every input byte is
	 * itself or a 4-character \xNN */
	if (cap > 4 * len)
		FUZZ_ASSERT(n >= len);
}

static void fuzz_json(const uint8_t *s, size_t len)
{
	char *buf = NULL;
	size_t blen = 0, i, o = 0, k;
	uint8_t *want = malloc(3 * len + 1), *got = malloc(4 * len + 16);
	uint32_t cp;
	FILE *f = open_memstream(&buf, &blen);

	FUZZ_ASSERT(f && want && got);
	mb_json_escape(f, s, len);
	fclose(f);
	/* what it should decode to */
	for (i = 0; i < len;) {
		k = u8_seq(s + i, len - i, &cp);
		if (!k) {
			memcpy(want + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(want + o, s + i, k);
			o += k;
			i += k;
		}
	}
	/* a JSON string body, decoded */
	for (i = 0, k = 0; i < blen;) {
		uint8_t c = (uint8_t)buf[i];
		size_t l;

		FUZZ_ASSERT(c >= 0x20 && c != '"');
		if (c != '\\') {
			l = u8_seq((const uint8_t *)buf + i, blen - i, &cp);
			FUZZ_ASSERT(l > 0);
			FUZZ_ASSERT(!is_control(cp));
			FUZZ_ASSERT(cp != 0x2028 && cp != 0x2029);
			memcpy(got + k, buf + i, l);
			k += l;
			i += l;
			continue;
		}
		FUZZ_ASSERT(i + 1 < blen);
		switch (buf[i + 1]) {
		case '"':
		case '\\':
		case '/':
			got[k++] = (uint8_t)buf[i + 1];
			i += 2;
			continue;
		case 'b':
			got[k++] = '\b';
			i += 2;
			continue;
		case 'f':
			got[k++] = '\f';
			i += 2;
			continue;
		case 'n':
			got[k++] = '\n';
			i += 2;
			continue;
		case 'r':
			got[k++] = '\r';
			i += 2;
			continue;
		case 't':
			got[k++] = '\t';
			i += 2;
			continue;
		case 'u': {
			int d, j;

			FUZZ_ASSERT(i + 6 <= blen);
			cp = 0;
			for (j = 2; j < 6; j++) {
				d = hexv((unsigned char)buf[i + j]);
				FUZZ_ASSERT(d >= 0);
				cp = cp << 4 | (uint32_t)d;
			}
			/* no surrogates: the escaper never splits pairs */
			FUZZ_ASSERT(cp < 0xd800 || cp > 0xdfff);
			k += u8_put(got + k, cp);
			i += 6;
			continue;
		}
		default:
			FUZZ_ASSERT(!"bad JSON escape");
		}
	}
	FUZZ_ASSERT(k == o && !memcmp(got, want, o));
	free(buf);
	free(want);
	free(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool tz_set;
	char text[TEXT_MAX + 1];
	size_t len;
	uint8_t sel;

	if (!tz_set) {
		/* a zone with DST, in POSIX form (no tzdata needed) */
		setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
		tzset();
		tz_set = true;
	}
	if (size < 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	len = size < TEXT_MAX ? size : TEXT_MAX;
	memcpy(text, data, len);
	text[len] = 0;
	switch (sel % 7) {
	case 0:
		fuzz_key(text);
		break;
	case 1:
		fuzz_address(text);
		break;
	case 2:
		fuzz_time(text);
		break;
	case 3:
		fuzz_key_file(text, strlen(text));
		break;
	case 4:
		fuzz_key_name(text);
		break;
	case 5:
		fuzz_printable(data, len, 1 + (size_t)(sel >> 3) * 16);
		break;
	case 6:
		fuzz_json(data, len);
		break;
	}
	return 0;
}
