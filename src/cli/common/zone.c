/*
 * Local zone segments (contract in zone.h).
 * mb_zone_daily() first asks the store for the UTC days that hold data,
 * then for the totals with the segments of those days.  Offsets change at most
 * a few times a year, on whole minutes: the range is walked an hour at a time,
 * and a change found between two hours is narrowed down to its minute by
 * bisection.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "miband/miband.h"

#include "common/output.h"
#include "common/zone.h"

static int32_t offset_at(uint32_t minute)
{
	time_t t = (time_t)minute * 60;
	struct tm tm;

	localtime_r(&t, &tm);
	return (int32_t)(tm.tm_gmtoff / 60);
}

int mb_zone_segments(uint32_t from, uint32_t to, struct miband_store_zone *z,
		     size_t cap)
{
	uint32_t m = from, next, lo, hi, mid;
	int32_t cur = offset_at(from);
	size_t n = 0;

	if (cap < 1)
		return MIBAND_E_NOSPACE;
	z[n].from_minute = from;
	z[n++].offset_min = cur;
	while (m < to) {
		next = to - m > 60 ? m + 60 : to;
		if (offset_at(next) != cur) {
			/* the first minute of the new offset in (m, next] */
			lo = m;
			hi = next;
			while (hi - lo > 1) {
				mid = lo + (hi - lo) / 2;
				if (offset_at(mid) == cur)
					lo = mid;
				else
					hi = mid;
			}
			if (n == cap)
				return MIBAND_E_NOSPACE;
			cur = offset_at(hi);
			z[n].from_minute = hi;
			z[n++].offset_min = cur;
			next = hi;
		}
		m = next;
	}
	return (int)n;
}

static int day_range(const struct miband_store_day *d, void *user_data)
{
	int32_t *r = user_data,
		day = miband_days_from_civil(d->year, d->month, d->day);

	if (r[0] > day)
		r[0] = day;
	if (r[1] < day)
		r[1] = day;
	return 0;
}

int mb_zone_daily(struct miband_store *st, const struct miband_store_query *q,
		  bool utc, miband_store_day_fn fn, void *user_data)
{
	static struct miband_store_zone z[MIBAND_STORE_ZONE_MAX];
	int32_t range[2] = {INT32_MAX, INT32_MIN};
	int r, n = 1;

	memset(z, 0, sizeof(z));
	if (!utc) {
		/* the UTC days that hold data, one day wider each side */
		r = miband_store_daily(st, q, 0, day_range, range);
		if (r < 0 || range[0] > range[1])
			return r;
		n = mb_zone_segments((uint32_t)(range[0] - 1) * 1440u,
				     (uint32_t)(range[1] + 2) * 1440u, z,
				     MIBAND_STORE_ZONE_MAX);
		if (n < 0) {
			mb_error_detail("the time zone changes its offset more "
					"than %d times in that range: pass "
					"--from and --to, or --utc",
					MIBAND_STORE_ZONE_MAX);
			return n;
		}
	}
	return miband_store_daily_zoned(st, q, z, (size_t)n, fn, user_data);
}
