/*
 * What mibandctl prints: human text by default, one JSON object per line
 * with --json, errors as `mibandctl: <message> [ERR_NAME]` on stderr, and
 * the exit status that goes with each error class.
 *
 * JSON objects are built in memory and written with one write per line,
 * flushed at once, so `--follow` streams are line-buffered even into a
 * pipe.  Strings are escaped for any input bytes: controls as \uXXXX,
 * valid UTF-8 passed through, every byte of an invalid sequence as
 * U+FFFD, so the output is always valid JSON.
 */
#ifndef MB_OUTPUT_H
#define MB_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MB_PROG "mibandctl"

/* Exit statuses (documented in --help and mibandctl(1)). */
enum mb_exit {
	MB_EXIT_OK = 0,
	MB_EXIT_OTHER = 1,
	MB_EXIT_USAGE = 2,     /* bad option, key, address, time, UTF-8 */
	MB_EXIT_NOT_FOUND = 3, /* no band, adapter, key or characteristic */
	MB_EXIT_CONNECT = 4,   /* connection failed or lost, timeout */
	MB_EXIT_AUTH = 5,      /* the band holds another key */
	MB_EXIT_PAIRING = 6,   /* pairing declined or not confirmed in time */
	MB_EXIT_PROTOCOL = 7,  /* malformed, unexpected or rejected reply */
	MB_EXIT_IO = 8,        /* I/O, key store (incl. unsafe permissions) */
	/* SIGINT, SIGTERM or SIGHUP ended a command (not a --follow
	 * stream): streams stopped, link closed, what was stored kept */
	MB_EXIT_INTERRUPTED = 130,
};

/* The exit status for a MIBAND_E_* code (0 for 0). */
int mb_exit_code(int err);

void mb_output_init(bool json, bool verbose);
/* True once a write to stdout failed because its reader went away. */
bool mb_output_closed(void);
bool mb_json_mode(void);
bool mb_verbose_mode(void);

/* ---- errors ---- */

/* A sentence for the next error report, replacing miband_strerror();
 * e.g. which file has which permissions. */
void mb_error_detail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* Extra line printed after the message ("hint: ..."); without one, the
 * report prints output.c's hint for the error code, if it has one. */
void mb_error_hint(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void mb_error_clear(void);
/*
 * Prints the error (detail, or miband_strerror) as
 * `mibandctl: <context: ><message> [ERR_NAME]` on stderr and, with
 * --json, {"type":"error",...} on stdout.  Clears the detail.
 * Returns mb_exit_code(err).
 */
int mb_report_error(int err, const char *context);
/* A usage error (exit 2) with a message of our own. */
int mb_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* ---- human output ---- */

/* A line on stdout in human mode; nothing with --json. */
void mb_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A note for the person on stderr (both modes): "tap the band". */
void mb_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* With --verbose only, on stderr. */
void mb_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Copies s[0..len) printable: C0 controls, DEL and invalid UTF-8 as \xNN,
 * C1 controls as \u00NN (terminals act on both); for
 * strings that come from a band and go to a terminal.  Always
 * NUL-terminates (cap > 0). */
void mb_printable(char *out, size_t cap, const void *s, size_t len);

/* ---- JSON ---- */

/* Escapes s[0..len) as the inside of a JSON string. */
void mb_json_escape(FILE *f, const void *s, size_t len);

struct mb_json {
	char *buf;
	size_t len;
	bool fields;
	FILE *f;
};
/* Starts {"type":"<type>" ...; with type NULL starts a bare object. */
void mb_json_begin(struct mb_json *j, const char *type);
void mb_json_str(struct mb_json *j, const char *key, const char *val);
void mb_json_strn(struct mb_json *j, const char *key, const void *val,
		  size_t len);
void mb_json_int(struct mb_json *j, const char *key, long long val);
void mb_json_bool(struct mb_json *j, const char *key, bool val);
void mb_json_null(struct mb_json *j, const char *key);
void mb_json_hex(struct mb_json *j, const char *key, const uint8_t *val,
		 size_t len);
/* val is already JSON (an array or object built by the caller). */
void mb_json_raw(struct mb_json *j, const char *key, const char *val);
/* Closes the object and writes it with a newline to stdout. */
void mb_json_end(struct mb_json *j);
/* Closes the object into a malloc'd string (caller frees). */
char *mb_json_end_str(struct mb_json *j);

/* ---- records: one description, rendered as text or JSON ---- */

/*
 * A record is a list of fields, each with its JSON key and the text it
 * adds to the human line (a printf format taking the value, or NULL for
 * a field only JSON shows).  mb_rec_text() adds text only ("\n" starts
 * another line).  With --json the record is one JSON object of its
 * fields; without, the concatenated text is printed with mb_say().
 */
struct mb_rec {
	struct mb_json j;
	bool json;
	char text[512];
	size_t len;
};
void mb_rec_begin(struct mb_rec *r, const char *type);
void mb_rec_int(struct mb_rec *r, const char *key, long long val,
		const char *text_fmt);
void mb_rec_str(struct mb_rec *r, const char *key, const char *val,
		const char *text_fmt);
void mb_rec_bool(struct mb_rec *r, const char *key, bool val,
		 const char *text_if_true);
void mb_rec_text(struct mb_rec *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mb_rec_end(struct mb_rec *r);

#endif
