/*
 * The host's time zone as segments of constant UTC offset, for cutting
 * days in local time across DST changes (miband_store_daily_zoned()).
 */
#ifndef MB_ZONE_H
#define MB_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "miband/store.h"

/*
 * The offsets of the local zone (TZ, as localtime_r() knows it) over the
 * unix minutes [from, to): z[0] holds from `from` on, each next segment
 * from the minute its offset starts.  Returns the number of segments
 * (at most cap), or MIBAND_E_NOSPACE if more changes than that.
 */
int mb_zone_segments(uint32_t from, uint32_t to, struct miband_store_zone *z,
		     size_t cap);

/*
 * miband_store_daily() with days cut in one zone, consistently: UTC
 * (utc), or the local zone with the offset each minute had (DST), so
 * that a day's row is the sum of export's lines of that local day.
 * Returns what the store returns, or MIBAND_E_NOSPACE (message set).
 */
int mb_zone_daily(struct miband_store *st, const struct miband_store_query *q,
		  bool utc, miband_store_day_fn fn, void *user_data);

#endif
