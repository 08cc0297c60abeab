/*
 * Times as mibandctl reads and writes them: ISO 8601 in, ISO 8601 (JSON)
 * or "YYYY-MM-DD HH:MM:SS +HH:MM" (people) out, and the host's local
 * time in the band's form (zone in quarter hours, DST included).
 */
#ifndef MB_TIMEFMT_H
#define MB_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "miband/miband.h"

/* n decimal digits (n > 0) to *ret; -1 if any is not a digit. */
int mb_parse_digits(const char *s, size_t n, unsigned *ret);

/* A zone in quarter hours as "+01:00". */
void mb_time_fmt_tz(int8_t tz, char *buf, size_t cap);
/* "2025-11-24T17:00:05+01:00" (iso) or "2025-11-24 17:00:05 +01:00". */
void mb_time_fmt(const struct miband_time *t, bool with_tz, bool iso, char *buf,
		 size_t cap);
/* "Monday" for 1 ... "Sunday" for 7; "?" otherwise. */
const char *mb_time_dow_name(unsigned dow);
/* Sets t->tz to the host zone's offset at local time t (for the band's
 * times that carry no zone: they are the host's, as the band's clock is
 * set from it). */
void mb_time_assume_local(struct miband_time *t);
/* Host local time now, as the band wants it. */
void mb_time_host_now(struct miband_time *t);
/* The same for the host clock reading unix_s (a device's host clock:
 * mb_device_host_time(), which the emulated world may pin). */
void mb_time_host_at(struct miband_time *t, int64_t unix_s);

/*
 * The one ISO 8601 grammar of mibandctl:
 *
 *   YYYY-MM-DD[(T|t| )HH:MM[:SS]][Z|z|(+|-)HH[[:]MM]]
 *
 * a calendar date, optionally a time of day, optionally a zone (hours
 * 0-14, minutes 0-59).  Years 1970-2099 (the library's range).  t gets
 * the date and time (dow set, tz 0); zone_min is the offset in minutes
 * east of UTC.  0 or MIBAND_E_BAD_TIME; *ret only written on success.
 */
struct mb_iso_time {
	struct miband_time t;
	bool has_time, has_zone;
	int zone_min;
};
int mb_time_parse_iso(const char *s, struct mb_iso_time *ret);

/*
 * Local times (no zone) that the host's zone skips (spring forward) or
 * passes twice (fall back) are refused: they name no single instant.
 *
 * A time for the band (`time --set`): the grammar above with a time of
 * day, years 2000-2099, a zone in quarter hours.  Without a zone: the
 * host's zone at that date (DST included).  On MIBAND_E_BAD_TIME,
 * *ret_why (if not NULL) says which rule the text broke.
 */
int mb_time_parse_band(const char *s, struct miband_time *ret,
		       const char **ret_why);

/* A time for a history range: the grammar above; a date alone is its
 * midnight; without a zone, local time (utc false) or UTC (utc true, as
 * `stats --utc` cuts days).  To unix seconds. */
int mb_time_parse_unix(const char *s, bool utc, int64_t *ret_unix);

#endif
