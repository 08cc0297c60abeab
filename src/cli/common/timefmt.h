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
/* Host local time now, as the band wants it. */
void mb_time_host_now(struct miband_time *t);

/*
 * A time for the band (`time --set`):
 * YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM|+HHMM|+HH] ('T' or a space).  Without a
 * zone: the host's zone at that date (DST included).  0 or
 * MIBAND_E_BAD_TIME; *ret only written on success.
 */
int mb_time_parse_band(const char *s, struct miband_time *ret);

#endif
