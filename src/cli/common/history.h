/*
 * mibandctl's history commands (issue 5): sync, export, stats.
 *
 *   sync   --device D [--since DATE] [--keep-on-band] [--db FILE]
 *   export [--format csv|jsonl] [--from T] [--to T] [--band B] [--db FILE]
 *   stats  [--from T] [--to T] [--band B] [--utc] [--db FILE]
 *
 * The database is $XDG_DATA_HOME/miband/miband.db (default
 * ~/.local/share/miband/miband.db) unless --db names another file; its
 * schema is docs/SCHEMA.md.  Times are ISO 8601: YYYY-MM-DD, optionally
 * THH:MM[:SS], optionally Z or +HH:MM (without a zone: local time).
 *
 * mibandctl/history.c parses each command's options with getopt_long
 * (the MB_HISTORY_LO_* codes, mb_history_option() for them) into a
 * struct mb_history_args, and its command table calls the functions
 * below.
 */
#ifndef MB_HISTORY_H
#define MB_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/device.h"
#include "miband/miband.h"

/* getopt_long codes of the history options (above mibandctl's own). */
enum {
	MB_HISTORY_LO_SINCE = 0x400,
	MB_HISTORY_LO_KEEP,
	MB_HISTORY_LO_DB,
	MB_HISTORY_LO_FORMAT,
	MB_HISTORY_LO_FROM,
	MB_HISTORY_LO_TO,
	MB_HISTORY_LO_BAND,
	MB_HISTORY_LO_UTC,
	MB_HISTORY_LO_END
};

struct mb_history_args {
	unsigned given; /* 1 << (code - MB_HISTORY_LO_SINCE) */
	const char *since;
	bool keep_on_band;
	const char *db;
	const char *format;
	const char *from, *to;
	const char *band;
	bool utc;
};

/* Records option code (one of MB_HISTORY_LO_*) with its argument. */
void mb_history_option(struct mb_history_args *a, int code, const char *arg);
/* True for the codes above. */
bool mb_history_is_option(int code);

/*
 * The commands.  They return 0, or a negative MIBAND_E_* code whose
 * message was set with mb_error_detail() where the plain one is not
 * enough (the caller reports it), or a positive exit status after
 * reporting themselves.  An option the command does not take is a usage
 * error.
 *
 * sync runs over an authenticated session (fetch_ack in its config off
 * for --keep-on-band: mb_history_fetch_ack()); address names the band in
 * the database ("emu", "C8:0F:10:12:34:56").  progress: draw a bar on
 * stderr (it is a terminal).
 */
int mb_history_sync(struct mb_device *d, struct miband_session *s,
		    const struct mb_history_args *a, const char *address,
		    enum miband_model model, bool progress);
int mb_history_export(const struct mb_history_args *a);
int mb_history_stats(const struct mb_history_args *a);
/* Checks sync's options before connecting. */
int mb_history_sync_check(const struct mb_history_args *a);
/* What the session's fetch_ack must be for these options. */
bool mb_history_fetch_ack(const struct mb_history_args *a);

/* The default database path; with create, its directory is made (0700).
 * 0, MIBAND_E_IO (no $HOME, mkdir failed) or MIBAND_E_NOSPACE. */
int mb_history_db_path(char *buf, size_t cap, bool create);
/* ISO 8601 date or date-time to unix seconds; 0 or MIBAND_E_BAD_TIME. */
int mb_history_parse_time(const char *s, int64_t *ret_unix);

/* How far back the first sync of a band goes. */
#define MB_HISTORY_FIRST_DAYS 100

#endif
