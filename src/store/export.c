/*
 * Reading the store: the row walk, the CSV and JSON Lines exporters, and
 * daily statistics.
 *
 * Everything streams: rows come one at a time from sqlite3_step() (the
 * query plan walks the (band, minute) primary key, no sort), the
 * exporters format into a fixed 64 KiB buffer and hand it to the caller's
 * sink whenever it fills, so an export of years of minutes uses constant
 * memory.  A reader in WAL mode sees one consistent snapshot and never
 * blocks a running sync.
 *
 * Formats (docs/SCHEMA.md): times are ISO 8601 UTC, heart_rate is left
 * empty (CSV) or null (JSON) when the band measured nothing (0 or 0xff);
 * kind is the raw byte and activity the name of its low nibble.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "miband/codec.h"
#include "store/store-internal.h"

int miband_store_format_parse(const char *s, enum miband_store_format *ret)
{
	if (!s || !ret)
		return MIBAND_E_INVAL;
	if (!strcmp(s, "csv"))
		*ret = MIBAND_STORE_CSV;
	else if (!strcmp(s, "jsonl") || !strcmp(s, "ndjson"))
		*ret = MIBAND_STORE_JSONL;
	else
		return MIBAND_E_INVAL;
	return 0;
}

/* Builds the WHERE clause of q; binds in bind_query. */
static void where_clause(const struct miband_store_query *q, char *buf,
			 size_t cap)
{
	snprintf(buf, cap, "WHERE 1%s%s%s", q->band ? " AND s.band = ?1" : "",
		 q->has_from ? " AND s.minute >= ?2" : "",
		 q->has_to ? " AND s.minute < ?3" : "");
}

static void bind_query(sqlite3_stmt *s, const struct miband_store_query *q)
{
	if (q->band)
		sqlite3_bind_int64(s, 1, q->band);
	if (q->has_from)
		sqlite3_bind_int64(s, 2, q->from_minute);
	if (q->has_to)
		sqlite3_bind_int64(s, 3, q->to_minute);
}

int miband_store_foreach(struct miband_store *st,
			 const struct miband_store_query *q,
			 miband_store_row_fn fn, void *user_data)
{
	static const struct miband_store_query all;
	struct miband_store_row row;
	char where[128], sql[512];
	sqlite3_stmt *s;
	int rc, r = 0;

	if (!st || !fn)
		return MIBAND_E_INVAL;
	if (!q)
		q = &all;
	where_clause(q, where, sizeof(where));
	snprintf(sql, sizeof(sql),
		 "SELECT s.band, b.address, s.minute, s.kind, s.intensity,"
		 " s.steps, s.heart_rate FROM samples s"
		 " JOIN bands b ON b.id = s.band %s"
		 " ORDER BY s.band, s.minute",
		 where);
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return miband__store_fail(st, rc, "select samples");
	bind_query(s, q);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		row.band = sqlite3_column_int64(s, 0);
		row.address = (const char *)sqlite3_column_text(s, 1);
		row.minute = (uint32_t)sqlite3_column_int64(s, 2);
		row.sample.kind = (uint8_t)sqlite3_column_int(s, 3);
		row.sample.intensity = (uint8_t)sqlite3_column_int(s, 4);
		row.sample.steps = (uint8_t)sqlite3_column_int(s, 5);
		row.sample.heart_rate = (uint8_t)sqlite3_column_int(s, 6);
		if (!row.address)
			row.address = "";
		r = fn(&row, user_data);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE)
		r = miband__store_fail(st, rc, "select samples");
	sqlite3_finalize(s);
	return r;
}

/* ---- exporters ---- */

#define OUT_CAP 65536

struct out {
	miband_store_write_fn write;
	void *user_data;
	enum miband_store_format format;
	uint64_t rows;
	size_t len;
	char buf[OUT_CAP];
};

static int out_flush(struct out *o)
{
	int r = 0;

	if (o->len)
		r = o->write(o->buf, o->len, o->user_data);
	o->len = 0;
	return r < 0 ? r : 0;
}

/* Appends a string quoted for the format (CSV field or JSON string). */
static size_t put_quoted(char *p, size_t cap, const char *s, bool json)
{
	size_t n = 0;
	bool csv_quote = !json && strpbrk(s, ",\"\r\n") != NULL;

	if ((json || csv_quote) && n < cap)
		p[n++] = '"';
	for (; *s && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (json && (c == '"' || c == '\\')) {
			p[n++] = '\\';
			p[n++] = (char)c;
		} else if (json && c < 0x20) {
			n += (size_t)snprintf(p + n, cap - n, "\\u%04x", c);
		} else if (!json && c == '"') {
			p[n++] = '"';
			p[n++] = '"';
		} else {
			p[n++] = (char)c;
		}
	}
	if ((json || csv_quote) && n < cap)
		p[n++] = '"';
	return n;
}

/* "2025-11-24T16:00:00Z" for a unix minute. */
static void iso_minute(char buf[32], uint32_t minute)
{
	int32_t y;
	unsigned m, d, mod = minute % 1440;

	miband_civil_from_days((int32_t)(minute / 1440), &y, &m, &d);
	snprintf(buf, 32, "%04" PRId32 "-%02u-%02uT%02u:%02u:00Z", y, m, d,
		 mod / 60, mod % 60);
}

static int export_row(const struct miband_store_row *row, void *user_data)
{
	struct out *o = user_data;
	const struct miband_sample *s = &row->sample;
	bool json = o->format == MIBAND_STORE_JSONL;
	char t[32], hr[8];
	char *p;
	size_t cap;
	int r;

	if (OUT_CAP - o->len < 1024) {
		r = out_flush(o);
		if (r < 0)
			return r;
	}
	p = o->buf + o->len;
	cap = OUT_CAP - o->len;
	iso_minute(t, row->minute);
	if (miband_heart_rate_valid(s->heart_rate))
		snprintf(hr, sizeof(hr), "%u", s->heart_rate);
	else
		snprintf(hr, sizeof(hr), "%s", json ? "null" : "");
	if (json) {
		size_t n = (size_t)snprintf(p, cap,
					    "{\"type\":\"sample\",\"band\":");

		n += put_quoted(p + n, cap - n, row->address, true);
		n += (size_t)snprintf(p + n, cap - n,
				      ",\"time\":\"%s\",\"kind\":%u,"
				      "\"activity\":\"%s\",\"intensity\":%u,"
				      "\"steps\":%u,\"heart_rate\":%s}\n",
				      t, s->kind,
				      miband_activity_kind_name(s->kind),
				      s->intensity, s->steps, hr);
		o->len += n;
	} else {
		size_t n = put_quoted(p, cap, row->address, false);

		n += (size_t)snprintf(p + n, cap - n, ",%s,%u,%s,%u,%u,%s\r\n", t,
				      s->kind,
				      miband_activity_kind_name(s->kind),
				      s->intensity, s->steps, hr);
		o->len += n;
	}
	o->rows++;
	return 0;
}

int miband_store_export(struct miband_store *st,
			const struct miband_store_query *q,
			enum miband_store_format format,
			miband_store_write_fn write, void *user_data,
			uint64_t *ret_rows)
{
	static const char header[] =
		"band,time,kind,activity,intensity,steps,heart_rate\r\n";
	struct out *o;
	int r;

	if (!st || !write ||
	    (format != MIBAND_STORE_CSV && format != MIBAND_STORE_JSONL))
		return MIBAND_E_INVAL;
	o = malloc(sizeof(*o));
	if (!o)
		return MIBAND_E_NOMEM;
	o->write = write;
	o->user_data = user_data;
	o->format = format;
	o->rows = 0;
	o->len = 0;
	if (format == MIBAND_STORE_CSV) {
		memcpy(o->buf, header, sizeof(header) - 1);
		o->len = sizeof(header) - 1;
	}
	r = miband_store_foreach(st, q, export_row, o);
	if (r == 0)
		r = out_flush(o);
	if (r == 0 && ret_rows)
		*ret_rows = o->rows;
	free(o);
	return r;
}

/* ---- daily statistics ---- */

int miband_store_daily(struct miband_store *st,
		       const struct miband_store_query *q,
		       int32_t utc_offset_min, miband_store_day_fn fn,
		       void *user_data)
{
	struct miband_store_zone z = { 0, utc_offset_min };

	return miband_store_daily_zoned(st, q, &z, 1, fn, user_data);
}

/* "CASE WHEN s.minute >= T THEN O ... ELSE O0 END": the offset of a
 * minute, from the zone's segments (sorted, checked by the caller). */
static void offset_expr(const struct miband_store_zone *z, size_t n,
			char *buf, size_t cap)
{
	size_t o, i;

	if (n == 1) {
		snprintf(buf, cap, "%ld", (long)z[0].offset_min);
		return;
	}
	o = (size_t)snprintf(buf, cap, "CASE");
	for (i = n; i-- > 1 && o < cap;)
		o += (size_t)snprintf(buf + o, cap - o,
				      " WHEN s.minute >= %lu THEN %ld",
				      (unsigned long)z[i].from_minute,
				      (long)z[i].offset_min);
	if (o < cap)
		snprintf(buf + o, cap - o, " ELSE %ld END",
			 (long)z[0].offset_min);
}

int miband_store_daily_zoned(struct miband_store *st,
			     const struct miband_store_query *q,
			     const struct miband_store_zone *zone, size_t n,
			     miband_store_day_fn fn, void *user_data)
{
	static const struct miband_store_query all;
	struct miband_store_day d;
	char where[128], off[MIBAND_STORE_ZONE_MAX * 48 + 32];
	char sql[1536 + sizeof(off)];
	sqlite3_stmt *s;
	size_t i;
	int rc, r = 0;

	if (!st || !fn || !zone || n < 1 || n > MIBAND_STORE_ZONE_MAX)
		return MIBAND_E_INVAL;
	for (i = 0; i < n; i++)
		if (zone[i].offset_min <= -1440 || zone[i].offset_min >= 1440 ||
		    (i && zone[i].from_minute <= zone[i - 1].from_minute))
			return MIBAND_E_INVAL;
	if (!q)
		q = &all;
	where_clause(q, where, sizeof(where));
	offset_expr(zone, n, off, sizeof(off));
	/* HR 1..254 is measured (0 and 0xff: nothing); kind & 15 per
	 * enum miband_activity_kind */
	snprintf(sql, sizeof(sql),
		 "SELECT s.band, b.address, (s.minute + %s) / 1440 AS day,"
		 " count(*), sum(s.steps),"
		 " sum((s.kind & 15) IN (1, 2, 4) OR s.steps > 0),"
		 " sum(s.heart_rate BETWEEN 1 AND 254),"
		 " avg(CASE WHEN s.heart_rate BETWEEN 1 AND 254"
		 "     THEN s.heart_rate END),"
		 " min(CASE WHEN s.heart_rate BETWEEN 1 AND 254"
		 "     THEN s.heart_rate END),"
		 " max(CASE WHEN s.heart_rate BETWEEN 1 AND 254"
		 "     THEN s.heart_rate END),"
		 " sum((s.kind & 15) = 9), sum((s.kind & 15) = 11),"
		 " sum((s.kind & 15) = 12), sum((s.kind & 15) = 3)"
		 " FROM samples s JOIN bands b ON b.id = s.band %s"
		 " GROUP BY s.band, day ORDER BY s.band, day",
		 off, where);
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return miband__store_fail(st, rc, "daily");
	bind_query(s, q);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&d, 0, sizeof(d));
		d.band = sqlite3_column_int64(s, 0);
		d.address = (const char *)sqlite3_column_text(s, 1);
		if (!d.address)
			d.address = "";
		miband_civil_from_days((int32_t)sqlite3_column_int64(s, 2),
				       &d.year, &d.month, &d.day);
		d.minutes = (uint32_t)sqlite3_column_int64(s, 3);
		d.steps = (uint32_t)sqlite3_column_int64(s, 4);
		d.active_minutes = (uint32_t)sqlite3_column_int64(s, 5);
		d.hr_minutes = (uint32_t)sqlite3_column_int64(s, 6);
		if (d.hr_minutes) {
			d.hr_mean = sqlite3_column_double(s, 7);
			d.hr_min = (uint8_t)sqlite3_column_int(s, 8);
			d.hr_max = (uint8_t)sqlite3_column_int(s, 9);
		}
		d.light_sleep = (uint32_t)sqlite3_column_int64(s, 10);
		d.deep_sleep = (uint32_t)sqlite3_column_int64(s, 11);
		d.wake_up = (uint32_t)sqlite3_column_int64(s, 12);
		d.not_worn = (uint32_t)sqlite3_column_int64(s, 13);
		r = fn(&d, user_data);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE)
		r = miband__store_fail(st, rc, "daily");
	sqlite3_finalize(s);
	return r;
}
