/*
 * Transcript parser (see transcript.h for the format).  Host-only test
 * code: plain stdio and malloc.
 */
#include "transcript.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "miband/codec.h"

static void errf(char *err, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (!err || !cap)
		return;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

int transcript_channel(const char *name, enum miband_channel *ret_ch)
{
	int i;

	for (i = 0; i < MIBAND_CH_COUNT; i++) {
		const struct miband_channel_info *ci =
			miband_channel_info((enum miband_channel)i);

		if (ci && !strcmp(ci->name, name)) {
			*ret_ch = (enum miband_channel)i;
			return 0;
		}
	}
	return -1;
}

/* Hex with optional spaces or colons; returns length or -1. */
static int parse_hex(const char *s, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (*s == ' ' || *s == '\t' || *s == ':')
			continue;
		if (!isxdigit((unsigned char)*s))
			return -1;
		v = isdigit((unsigned char)*s)
			    ? *s - '0'
			    : tolower((unsigned char)*s) - 'a' + 10;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= cap)
			return -1;
		buf[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi < 0 ? (int)n : -1;
}

/* Splits off the next space-separated word of *s into w; false if there
 * is none or it does not fit (never cut silently). */
static bool word(char **s, char *w, size_t cap)
{
	char *p = *s;
	size_t n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return false;
	while (*p && *p != ' ' && *p != '\t') {
		if (n + 1 >= cap) {
			w[0] = 0;
			return false; /* too long: no such word */
		}
		w[n++] = *p;
		p++;
	}
	w[n] = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	*s = p;
	return true;
}

static int parse_line(char *s, struct transcript_line *l, char *why,
		      size_t whycap)
{
	char mark = s[0], w[32], chname[32];
	char *p = s + 1;
	int n;

	if (mark == '@') {
		l->kind = TR_DIRECTIVE;
		if (!word(&p, l->word, sizeof(l->word))) {
			snprintf(why, whycap, "empty directive");
			return -1;
		}
		goto arg;
	}
	if (mark == '=') {
		if (!word(&p, w, sizeof(w)) || strcmp(w, "event") ||
		    !word(&p, l->word, sizeof(l->word))) {
			snprintf(why, whycap, "expected '= event NAME'");
			return -1;
		}
		l->kind = TR_EVENT;
		goto arg;
	}
	if (mark != '>' && mark != '<') {
		snprintf(why, whycap, "unknown line");
		return -1;
	}
	if (!word(&p, w, sizeof(w)) || !word(&p, chname, sizeof(chname))) {
		snprintf(why, whycap, "expected an operation and a channel");
		return -1;
	}
	if (transcript_channel(chname, &l->ch) < 0) {
		snprintf(why, whycap, "unknown channel '%s'", chname);
		return -1;
	}
	if (mark == '>' && !strcmp(w, "subscribe"))
		l->kind = TR_SUBSCRIBE;
	else if (mark == '>' && !strcmp(w, "write"))
		l->kind = TR_WRITE;
	else if (mark == '>' && !strcmp(w, "write-req"))
		l->kind = TR_WRITE_REQ;
	else if (mark == '>' && !strcmp(w, "read"))
		l->kind = TR_READ;
	else if (mark == '<' && !strcmp(w, "notify"))
		l->kind = TR_NOTIFY;
	else if (mark == '<' && !strcmp(w, "read"))
		l->kind = TR_READ_REPLY;
	else {
		snprintf(why, whycap, "unknown operation '%c %s'", mark, w);
		return -1;
	}
	if (l->kind == TR_SUBSCRIBE || l->kind == TR_READ) {
		if (*p) {
			snprintf(why, whycap, "trailing text");
			return -1;
		}
		return 0;
	}
	n = parse_hex(p, l->data, sizeof(l->data));
	if (n < 0) {
		snprintf(why, whycap, "bad hex");
		return -1;
	}
	l->len = (size_t)n;
	return 0;
arg:
	if (strlen(p) >= sizeof(l->arg)) {
		snprintf(why, whycap, "argument too long");
		return -1;
	}
	memcpy(l->arg, p, strlen(p) + 1);
	return 0;
}

int transcript_load(const char *path, struct transcript *t, char *err,
		    size_t errcap)
{
	FILE *f = fopen(path, "r");
	int r;

	if (!f) {
		memset(t, 0, sizeof(*t));
		snprintf(t->path, sizeof(t->path), "%s", path);
		errf(err, errcap, "%s: cannot open", path);
		return -1;
	}
	r = transcript_read(f, path, t, err, errcap);
	fclose(f);
	return r;
}

/*
 * One line without its newline into buf (NUL-terminated): its length, or
 * -1 at the end of the file, -2 for a line too long for buf, -3 for a
 * NUL byte (fgets() would split the first and cut the second silently).
 */
static int read_line(FILE *f, char *buf, size_t cap)
{
	size_t n = 0;
	int c, bad = 0;

	while ((c = getc(f)) != EOF && c != '\n') {
		if (!c)
			bad = -3;
		else if (n + 1 >= cap)
			bad = bad ? bad : -2;
		else
			buf[n++] = (char)c;
	}
	buf[n] = 0;
	if (c == EOF && !n && !bad)
		return -1;
	return bad ? bad : (int)n;
}

int transcript_read(FILE *f, const char *path, struct transcript *t,
		    char *err, size_t errcap)
{
	char buf[1024];
	size_t cap = 0;
	int lineno = 0, r;

	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", path);
	while ((r = read_line(f, buf, sizeof(buf))) != -1) {
		struct transcript_line *l;
		char why[96];
		char *s = buf;
		size_t len;

		lineno++;
		if (r < 0) {
			errf(err, errcap, "%s:%d: %s", path, lineno,
			     r == -2 ? "line too long" : "NUL byte");
			goto fail;
		}
		len = (size_t)r;
		while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
			       s[len - 1] == ' ' || s[len - 1] == '\t'))
			s[--len] = 0;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			continue;
		if (t->n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			void *nl = realloc(t->lines, ncap * sizeof(*t->lines));

			if (!nl) {
				errf(err, errcap, "%s: out of memory", path);
				goto fail;
			}
			t->lines = nl;
			cap = ncap;
		}
		l = &t->lines[t->n];
		memset(l, 0, sizeof(*l));
		l->lineno = lineno;
		if (parse_line(s, l, why, sizeof(why)) < 0) {
			errf(err, errcap, "%s:%d: %s", path, lineno, why);
			goto fail;
		}
		t->n++;
	}
	return 0;
fail:
	transcript_free(t);
	return -1;
}

void transcript_free(struct transcript *t)
{
	free(t->lines);
	t->lines = NULL;
	t->n = 0;
}

static const struct {
	const char *name;
	enum miband_request_type type;
} request_words[] = {
	{"battery", MIBAND_REQ_BATTERY},
	{"steps", MIBAND_REQ_STEPS},
	{"steps-follow", MIBAND_REQ_STEPS_FOLLOW},
	{"time-get", MIBAND_REQ_TIME_GET},
	{"time-set", MIBAND_REQ_TIME_SET},
	{"devinfo", MIBAND_REQ_DEVINFO},
	{"hr-oneshot", MIBAND_REQ_HR_ONESHOT},
	{"hr-start", MIBAND_REQ_HR_START},
	{"hr-stop", MIBAND_REQ_HR_STOP},
	{"hr-interval", MIBAND_REQ_HR_INTERVAL},
	{"alert", MIBAND_REQ_ALERT},
	{"call", MIBAND_REQ_CALL},
	{"call-stop", MIBAND_REQ_CALL_STOP},
	{"events-follow", MIBAND_REQ_EVENTS_FOLLOW},
	{"config", MIBAND_REQ_CONFIG},
	{"user", MIBAND_REQ_USER},
	{"fetch", MIBAND_REQ_FETCH},
};

static const char *const devinfo_words[MIBAND_DEVINFO_COUNT] = {
	"serial", "hw-rev", "sw-rev", "system-id", "pnp-id", "name",
};

int transcript_request(const struct transcript_line *l,
		       struct miband_request *req)
{
	char w[32];
	char *p = (char *)l->arg;
	const char *rest;
	size_t i;
	int n;

	memset(req, 0, sizeof(*req));
	if (!word(&p, w, sizeof(w)))
		return -1;
	rest = p;
	for (i = 0; i < sizeof(request_words) / sizeof(request_words[0]); i++)
		if (!strcmp(w, request_words[i].name))
			break;
	if (i == sizeof(request_words) / sizeof(request_words[0]))
		return -1;
	req->type = request_words[i].type;
	switch (req->type) {
	case MIBAND_REQ_TIME_SET: {
		uint8_t b[16];

		n = parse_hex(rest, b, sizeof(b));
		if (n < 0 || miband_decode_time(b, (size_t)n, &req->u.time))
			return -1;
		return 0;
	}
	case MIBAND_REQ_DEVINFO:
		for (i = 0; i < MIBAND_DEVINFO_COUNT; i++)
			if (!strcmp(rest, devinfo_words[i])) {
				req->u.devinfo = (enum miband_devinfo)i;
				return 0;
			}
		return -1;
	case MIBAND_REQ_HR_INTERVAL:
	case MIBAND_REQ_ALERT: {
		char *end;
		long v = strtol(rest, &end, 0);

		if (end == rest || *end || v < 0 || v > 255)
			return -1;
		if (req->type == MIBAND_REQ_ALERT)
			req->u.level = (uint8_t)v;
		else
			req->u.minutes = (uint8_t)v;
		return 0;
	}
	case MIBAND_REQ_CALL:
		req->u.text.data = rest;
		req->u.text.len = strlen(rest);
		return 0;
	case MIBAND_REQ_CONFIG:
	case MIBAND_REQ_USER:
		n = parse_hex(rest, req->u.raw.bytes, sizeof(req->u.raw.bytes));
		if (n <= 0)
			return -1;
		req->u.raw.len = (uint8_t)n;
		return 0;
	case MIBAND_REQ_FETCH: {
		unsigned y, mo, d, h, mi;
		int tz;

		if (sscanf(rest, "%u-%u-%uT%u:%u%d", &y, &mo, &d, &h, &mi,
			   &tz) != 6)
			return -1;
		req->u.time.year = (uint16_t)y;
		req->u.time.month = (uint8_t)mo;
		req->u.time.day = (uint8_t)d;
		req->u.time.hour = (uint8_t)h;
		req->u.time.minute = (uint8_t)mi;
		req->u.time.tz = (int8_t)tz;
		return 0;
	}
	default:
		return *rest ? -1 : 0;
	}
}

static void fmt_time(const struct miband_time *t, char *buf, size_t cap)
{
	snprintf(buf, cap, "%04u-%02u-%02uT%02u:%02u:%02u dow=%u tz=%d",
		 t->year, t->month, t->day, t->hour, t->minute, t->second,
		 t->dow, t->tz);
}

void transcript_event_summary(const struct miband_event *ev, char *buf,
			      size_t cap)
{
	size_t i;

	buf[0] = 0;
	switch (ev->type) {
	case MIBAND_EV_AUTH_PROGRESS:
		snprintf(buf, cap, "%s",
			 miband_auth_step_name(ev->u.auth_step));
		break;
	case MIBAND_EV_AUTH_OK:
		snprintf(buf, cap, "paired=%d", ev->u.paired ? 1 : 0);
		break;
	case MIBAND_EV_ERROR:
		snprintf(buf, cap, "%s", miband_err_name(ev->error));
		break;
	case MIBAND_EV_BATTERY:
		snprintf(buf, cap, "level=%u charging=%d", ev->u.battery.level,
			 ev->u.battery.charging ? 1 : 0);
		break;
	case MIBAND_EV_STEPS:
		if (ev->u.steps.has_distance)
			snprintf(buf, cap, "steps=%u meters=%u kcal=%u",
				 (unsigned)ev->u.steps.steps,
				 (unsigned)ev->u.steps.meters,
				 (unsigned)ev->u.steps.kcal);
		else
			snprintf(buf, cap, "steps=%u",
				 (unsigned)ev->u.steps.steps);
		break;
	case MIBAND_EV_TIME:
		fmt_time(&ev->u.time, buf, cap);
		break;
	case MIBAND_EV_DEVINFO:
		for (i = 0; i < ev->u.devinfo.len && i + 1 < cap; i++) {
			uint8_t c = ev->u.devinfo.value[i];

			buf[i] = (char)(c >= 0x20 && c < 0x7f ? c : '.');
		}
		buf[i] = 0;
		break;
	case MIBAND_EV_HR:
		snprintf(buf, cap, "bpm=%u", ev->u.bpm);
		break;
	case MIBAND_EV_DEVICE_EVENT:
		snprintf(buf, cap, "%s arg=%u", ev->u.device_event.name,
			 ev->u.device_event.arg);
		break;
	case MIBAND_EV_FETCH_START:
		snprintf(buf, cap, "count=%u", (unsigned)ev->u.fetch.count);
		break;
	case MIBAND_EV_SAMPLES:
		snprintf(buf, cap, "index=%u count=%zu",
			 (unsigned)ev->u.samples.index, ev->u.samples.count);
		break;
	default:
		break;
	}
}
