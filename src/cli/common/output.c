/*
 * mibandctl output: human text, JSON lines, error reports and exit codes
 * (contract in output.h).
 *
 * JSON objects are assembled in an open_memstream buffer and written to
 * stdout with a single fwrite and a flush, so a reader of a --follow
 * stream never sees half an object.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "miband/miband.h"

#include "common/output.h"

static bool json_mode;
static bool verbose_mode;
static char err_detail[512];
static char err_hint[512];

void mb_output_init(bool json, bool verbose)
{
	json_mode = json;
	verbose_mode = verbose;
}

bool mb_json_mode(void)
{
	return json_mode;
}

bool mb_verbose_mode(void)
{
	return verbose_mode;
}

int mb_exit_code(int err)
{
	switch (err) {
	case 0:
		return MB_EXIT_OK;
	case MIBAND_E_BAD_KEY:
	case MIBAND_E_BAD_ADDRESS:
	case MIBAND_E_BAD_UTF8:
	case MIBAND_E_BAD_TIME:
	case MIBAND_E_INVAL:
		return MB_EXIT_USAGE;
	case MIBAND_E_NOT_FOUND:
	case MIBAND_E_NO_ADAPTER:
	case MIBAND_E_NO_KEY:
	case MIBAND_E_NO_SERVICE:
		return MB_EXIT_NOT_FOUND;
	case MIBAND_E_TIMEOUT:
	case MIBAND_E_DISCONNECTED:
	case MIBAND_E_CONNECT_FAILED:
	case MIBAND_E_NO_BLUEZ:
	case MIBAND_E_DBUS:
		return MB_EXIT_CONNECT;
	case MIBAND_E_WRONG_KEY:
	case MIBAND_E_AUTH_REJECTED:
	case MIBAND_E_RANDOM_FAILED:
	case MIBAND_E_NOT_AUTHED:
		return MB_EXIT_AUTH;
	case MIBAND_E_PAIR_DECLINED:
	case MIBAND_E_PAIR_TIMEOUT:
	case MIBAND_E_SETKEY_FAILED:
		return MB_EXIT_PAIRING;
	case MIBAND_E_MALFORMED:
	case MIBAND_E_UNEXPECTED:
	case MIBAND_E_REJECTED:
	case MIBAND_E_WRITE_FAILED:
	case MIBAND_E_READ_FAILED:
	case MIBAND_E_SUBSCRIBE_FAILED:
	case MIBAND_E_AUTH_STATUS:
	case MIBAND_E_FETCH_STATUS:
	case MIBAND_E_FETCH_GAP:
	case MIBAND_E_FETCH_SHORT:
		return MB_EXIT_PROTOCOL;
	case MIBAND_E_CANCELLED:
		return MB_EXIT_INTERRUPTED;
	case MIBAND_E_IO:
	case MIBAND_E_NOMEM:
	case MIBAND_E_KEY_PERMS:
	case MIBAND_E_DB:
	case MIBAND_E_DB_SCHEMA:
		return MB_EXIT_IO;
	case MIBAND_E_BUSY:
	case MIBAND_E_UNSUPPORTED:
	case MIBAND_E_NOSPACE:
	case MIBAND_E_STATE:
	case MIBAND_E_INTERNAL:
	case MIBAND_E_CRYPTO:
	case MIBAND_E_RNG:
	default:
		return MB_EXIT_OTHER;
	}
}

/* ---- stdout ---- */

static bool out_closed;

/* Flushes stdout; a reader that went away (EPIPE: SIGPIPE is ignored)
 * is remembered for mb_output_closed(). */
static void flush_stdout(void)
{
	if (fflush(stdout) != 0 && errno == EPIPE)
		out_closed = true;
}

bool mb_output_closed(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };

	/* a pipe whose reader is gone polls as an error, written or not */
	if (!out_closed && poll(&p, 1, 0) == 1 && (p.revents & POLLERR))
		out_closed = true;
	return out_closed;
}

/* ---- errors ---- */

void mb_error_detail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_detail, sizeof(err_detail), fmt, ap);
	va_end(ap);
}

void mb_error_hint(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_hint, sizeof(err_hint), fmt, ap);
	va_end(ap);
}

void mb_error_clear(void)
{
	err_detail[0] = 0;
	err_hint[0] = 0;
}

/*
 * What the person can do about an error, in mibandctl's terms (the
 * library's messages name no option or command).  Printed when the caller
 * set no hint of its own with mb_error_hint().
 */
static const struct {
	int err;
	const char *hint;
} hints[] = {
	{MIBAND_E_WRONG_KEY,
	 "pass the right key with --key, or re-pair with `" MB_PROG " pair`"},
	{MIBAND_E_NO_KEY, "pair first (`" MB_PROG " pair`), or pass --key"},
	{MIBAND_E_KEY_PERMS,
	 "run chmod 600 on the file and chmod 700 on its directory"},
	{MIBAND_E_NO_ADAPTER, "check `bluetoothctl show`"},
};

static const char *hint_for(int err)
{
	size_t i;

	if (err_hint[0])
		return err_hint;
	for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (hints[i].err == err)
			return hints[i].hint;
	return NULL;
}

int mb_report_error(int err, const char *context)
{
	const char *msg = err_detail[0] ? err_detail : miband_strerror(err);
	const char *hint = hint_for(err);
	int code = mb_exit_code(err);

	fflush(stdout);
	fprintf(stderr, "%s: %s%s%s [%s]\n", MB_PROG, context ? context : "",
		context ? ": " : "", msg, miband_err_name(err));
	if (hint)
		fprintf(stderr, "%s: hint: %s\n", MB_PROG, hint);
	if (json_mode) {
		struct mb_json j;
		char full[768];

		snprintf(full, sizeof(full), "%s%s%s", context ? context : "",
			 context ? ": " : "", msg);
		mb_json_begin(&j, "error");
		mb_json_str(&j, "error", miband_err_name(err));
		mb_json_int(&j, "code", err);
		mb_json_str(&j, "message", full);
		if (hint)
			mb_json_str(&j, "hint", hint);
		mb_json_int(&j, "exit", code);
		mb_json_end(&j);
	}
	mb_error_clear();
	return code;
}

int mb_usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mb_error_detail("%s", msg);
	mb_error_hint("see `%s --help`", MB_PROG);
	return mb_report_error(MIBAND_E_INVAL, NULL);
}

/* ---- human output ---- */

void mb_say(const char *fmt, ...)
{
	va_list ap;

	if (json_mode)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	flush_stdout();
}

void mb_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void mb_verbose(const char *fmt, ...)
{
	va_list ap;

	if (!verbose_mode)
		return;
	fprintf(stderr, "%s: ", MB_PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Length of the valid UTF-8 sequence at s (n bytes left), or 0 if the
 * bytes there are not one: overlong forms, surrogates and values above
 * U+10FFFF are invalid (RFC 3629).
 */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

void mb_printable(char *out, size_t cap, const void *src, size_t len)
{
	const unsigned char *s = src;
	size_t i = 0, o = 0, n;

	if (!cap)
		return;
	while (i < len) {
		n = utf8_seq(s + i, len - i);
		if (n == 1 && s[i] >= 0x20 && s[i] != 0x7f) {
			if (o + 1 >= cap)
				break;
			out[o++] = (char)s[i++];
		} else if (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {
			/* C1 controls (U+0080..U+009F): U+009B is CSI to
			 * terminals, as ESC [ is */
			if (o + 6 >= cap)
				break;
			snprintf(out + o, cap - o, "\\u%04x", s[i + 1]);
			o += 6;
			i += 2;
		} else if (n > 1) {
			if (o + n >= cap)
				break;
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		} else {
			if (o + 4 >= cap)
				break;
			snprintf(out + o, cap - o, "\\x%02x", s[i++]);
			o += 4;
		}
	}
	out[o] = 0;
}

/* ---- JSON ---- */

void mb_json_escape(FILE *f, const void *src, size_t len)
{
	const unsigned char *s = src;
	size_t i = 0, n;

	while (i < len) {
		unsigned char c = s[i];

		n = utf8_seq(s + i, len - i);
		if (n == 0) {
			fputs("\\ufffd", f); /* one per invalid byte */
			i++;
			continue;
		}
		if (n > 1) {
			/* U+2028/2029 are valid JSON but break JavaScript
			 * parsers that eval lines; escape them too. */
			if (n == 3 && c == 0xe2 && s[i + 1] == 0x80 &&
			    (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
				fprintf(f, "\\u%04x", 0x2000 + s[i + 2] - 0x80);
			/* C1 controls, as C0: a terminal acts on them */
			else if (n == 2 && c == 0xc2 && s[i + 1] < 0xa0)
				fprintf(f, "\\u%04x", s[i + 1]);
			else
				fwrite(s + i, 1, n, f);
			i += n;
			continue;
		}
		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
		i++;
	}
}

void mb_json_begin(struct mb_json *j, const char *type)
{
	j->buf = NULL;
	j->len = 0;
	j->fields = false;
	j->f = open_memstream(&j->buf, &j->len);
	if (!j->f)
		return;
	fputc('{', j->f);
	if (type)
		mb_json_str(j, "type", type);
}

static void key(struct mb_json *j, const char *k)
{
	if (j->fields)
		fputc(',', j->f);
	j->fields = true;
	fputc('"', j->f);
	mb_json_escape(j->f, k, strlen(k));
	fputs("\":", j->f);
}

void mb_json_strn(struct mb_json *j, const char *k, const void *val,
		  size_t len)
{
	if (!j->f)
		return;
	key(j, k);
	fputc('"', j->f);
	mb_json_escape(j->f, val, len);
	fputc('"', j->f);
}

void mb_json_str(struct mb_json *j, const char *k, const char *val)
{
	if (!val) {
		mb_json_null(j, k);
		return;
	}
	mb_json_strn(j, k, val, strlen(val));
}

void mb_json_int(struct mb_json *j, const char *k, long long val)
{
	if (!j->f)
		return;
	key(j, k);
	fprintf(j->f, "%lld", val);
}

void mb_json_bool(struct mb_json *j, const char *k, bool val)
{
	if (!j->f)
		return;
	key(j, k);
	fputs(val ? "true" : "false", j->f);
}

void mb_json_null(struct mb_json *j, const char *k)
{
	if (!j->f)
		return;
	key(j, k);
	fputs("null", j->f);
}

void mb_json_hex(struct mb_json *j, const char *k, const uint8_t *val,
		 size_t len)
{
	size_t i;

	if (!j->f)
		return;
	key(j, k);
	fputc('"', j->f);
	for (i = 0; i < len; i++)
		fprintf(j->f, "%02x", val[i]);
	fputc('"', j->f);
}

void mb_json_raw(struct mb_json *j, const char *k, const char *val)
{
	if (!j->f)
		return;
	key(j, k);
	fputs(val, j->f);
}

char *mb_json_end_str(struct mb_json *j)
{
	if (!j->f)
		return NULL;
	fputc('}', j->f);
	if (fclose(j->f) != 0) {
		free(j->buf);
		j->f = NULL;
		return NULL;
	}
	j->f = NULL;
	return j->buf;
}

void mb_json_end(struct mb_json *j)
{
	size_t len;
	char *s = mb_json_end_str(j);

	if (!s)
		return;
	len = strlen(s);
	s[len] = 0;
	fwrite(s, 1, len, stdout);
	fputc('\n', stdout);
	flush_stdout();
	free(s);
}

/* ---- records ---- */

static void __attribute__((format(printf, 2, 0)))
rec_vtext(struct mb_rec *r, const char *fmt, va_list ap)
{
	int n;

	if (r->len >= sizeof(r->text))
		return;
	n = vsnprintf(r->text + r->len, sizeof(r->text) - r->len, fmt, ap);
	if (n > 0)
		r->len += (size_t)n;
	if (r->len >= sizeof(r->text))
		r->len = sizeof(r->text) - 1;
}

void mb_rec_text(struct mb_rec *r, const char *fmt, ...)
{
	va_list ap;

	if (r->json)
		return;
	va_start(ap, fmt);
	rec_vtext(r, fmt, ap);
	va_end(ap);
}

void mb_rec_begin(struct mb_rec *r, const char *type)
{
	r->json = mb_json_mode();
	r->len = 0;
	r->text[0] = 0;
	if (r->json)
		mb_json_begin(&r->j, type);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void mb_rec_int(struct mb_rec *r, const char *key, long long val,
		const char *text_fmt)
{
	if (r->json)
		mb_json_int(&r->j, key, val);
	else if (text_fmt)
		mb_rec_text(r, text_fmt, val);
}

void mb_rec_str(struct mb_rec *r, const char *key, const char *val,
		const char *text_fmt)
{
	if (r->json)
		mb_json_str(&r->j, key, val);
	else if (text_fmt)
		mb_rec_text(r, text_fmt, val);
}
#pragma GCC diagnostic pop

void mb_rec_bool(struct mb_rec *r, const char *key, bool val,
		 const char *text_if_true)
{
	if (r->json)
		mb_json_bool(&r->j, key, val);
	else if (val && text_if_true)
		mb_rec_text(r, "%s", text_if_true);
}

void mb_rec_end(struct mb_rec *r)
{
	if (r->json)
		mb_json_end(&r->j);
	else
		mb_say("%s", r->text);
}
