/*
 * The activity store: minute-by-minute history in SQLite (host only).
 *
 * One database file ($XDG_DATA_HOME/miband/miband.db for mibandctl)
 * holds any number of bands.  The schema is in docs/SCHEMA.md; it is
 * versioned with PRAGMA user_version and migrated forward on open.
 *
 * The durability contract of a history fetch:
 *
 *     miband_store_ingest_init(&in, st, band_id);
 *     for each event ev of a MIBAND_REQ_FETCH request:
 *         r = miband_store_ingest_event(&in, &ev, time(NULL));
 *         if (r == MIBAND_STORE_ACK)      // batch durably committed
 *             miband_session_fetch_stored(&session, now);
 *         else if (r < 0) ...             // batch rolled back
 *
 * The samples of one batch (FETCH_START .. FETCH_BATCH) go into one
 * transaction together with the band's new sync point.  The commit runs
 * with PRAGMA synchronous=FULL, so the write-ahead log is fsync'd before
 * the commit returns; only then does the ingest say MIBAND_STORE_ACK and
 * may the band be told to drop the data.  A batch that ends in an error,
 * a disconnect or a crash is never committed: nothing of it is stored
 * and the sync point stays where it was.  Every sample is keyed by
 * (band, minute), so fetching the same minutes again changes nothing.
 *
 * No SQLite type appears here; the store is an opaque handle, to be used
 * by one thread at a time (any number of handles and processes may open
 * the same file: WAL readers never block the writer).  Functions
 * return 0 (or a count) or a negative MIBAND_E_* code: MIBAND_E_DB for an
 * SQLite failure (miband_store_errmsg() has SQLite's message),
 * MIBAND_E_DB_SCHEMA for a database written by a newer libmiband.
 */
#ifndef MIBAND_STORE_H
#define MIBAND_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "miband/error.h"
#include "miband/session.h"
#include "miband/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The schema version this library writes (PRAGMA user_version). */
#define MIBAND_STORE_SCHEMA_VERSION 1

/* miband_store_open flags */
#define MIBAND_STORE_NO_CREATE 0x1u /* fail (MIBAND_E_IO) if no file yet */
/* read only (implies NO_CREATE): no WAL switch, no migration (another
 * schema version is MIBAND_E_DB_SCHEMA); works on a read-only file in a
 * read-only folder.  Writing through it fails with MIBAND_E_DB. */
#define MIBAND_STORE_READ_ONLY 0x2u

struct miband_store;

/* Opens (creating if needed) the database at path, switches it to WAL and
 * applies pending migrations.  The directory must exist. */
int miband_store_open(const char *path, unsigned flags,
		      struct miband_store **ret);
/* Closes; NULL is fine. */
void miband_store_close(struct miband_store *st);
/* SQLite's last error message ("" if none); for diagnostics. */
const char *miband_store_errmsg(const struct miband_store *st);
/* PRAGMA user_version of the open database. */
int miband_store_schema_version(struct miband_store *st);
/* PRAGMA integrity_check: 0 if "ok", else MIBAND_E_DB. */
int miband_store_check(struct miband_store *st);

/* ---- bands ---- */

/* Longest band address kept (BD address "AA:BB:..", "emu", ...). */
#define MIBAND_STORE_ADDRESS_MAX 64

/* The band's id, registering it if new (model recorded on first sight). */
int miband_store_band(struct miband_store *st, const char *address,
		      enum miband_model model, int64_t *ret_id);
/* The id of a known band; MIBAND_E_NOT_FOUND if none. */
int miband_store_band_find(struct miband_store *st, const char *address,
			   int64_t *ret_id);

struct miband_store_sync_state {
	bool has_data;	      /* a batch was ever committed */
	uint32_t last_minute; /* newest stored minute (unix minutes, UTC) */
	int64_t last_sync;    /* wall clock (unix s) of the last commit */
	uint64_t batches;     /* batches committed so far */
	uint64_t samples;     /* samples received in them (re-fetches too) */
};
/* The band's sync state; has_data false for a band never synced. */
int miband_store_sync_state(struct miband_store *st, int64_t band,
			    struct miband_store_sync_state *ret);

/* The newest stored minute of band before minute `before` (has false if
 * none): where a sync resumes when later minutes lie in the future. */
int miband_store_last_before(struct miband_store *st, int64_t band,
			     uint32_t before, bool *ret_has,
			     uint32_t *ret_minute);

/* ---- batches (the low level under the ingest below) ---- */

struct miband_store_batch_stats {
	uint32_t samples; /* samples in the batch */
	uint32_t added;	  /* minutes not stored before */
	uint32_t changed; /* minutes stored before with other values */
	uint32_t first_minute, last_minute; /* valid if samples > 0 */
};

/* Starts a batch of band (BEGIN IMMEDIATE). */
int miband_store_batch_begin(struct miband_store *st, int64_t band);
/* Adds n samples for consecutive minutes from minute. */
int miband_store_batch_add(struct miband_store *st, uint32_t minute,
			   const struct miband_sample *s, size_t n);
/* Commits the batch and the band's sync point (advanced to the batch's
 * last minute if that is newer) durably; now is the wall clock in unix
 * seconds.  On failure the batch is rolled back. */
int miband_store_batch_commit(struct miband_store *st, int64_t now,
			      struct miband_store_batch_stats *ret);
/* Rolls back the open batch, if any. */
void miband_store_batch_abort(struct miband_store *st);

/* ---- ingest: engine events in, durable batches out ---- */

#define MIBAND_STORE_ACK 1 /* ingest_event: batch stored, ack it now */

struct miband_store_ingest {
	struct miband_store *st;
	int64_t band;
	bool open;		/* a batch transaction is open */
	bool started;		/* FETCH_START seen for the current batch */
	uint32_t first_minute;	/* first sample of the current batch */
	uint32_t batch_samples; /* in the current batch so far */
	/* totals over committed batches */
	uint32_t batches;
	uint64_t samples;
	uint64_t added;
	uint64_t changed;
	bool has_range;
	uint32_t range_first, range_last; /* minutes committed */
};

void miband_store_ingest_init(struct miband_store_ingest *in,
			      struct miband_store *st, int64_t band);
/*
 * Feeds one event of a fetch request.  FETCH_START opens a batch,
 * SAMPLES are stored, FETCH_BATCH commits durably and returns
 * MIBAND_STORE_ACK (call miband_session_fetch_stored() then), ERROR and
 * DONE roll back whatever is open.  Other events are ignored (0).  A
 * negative return is a store failure; the batch is rolled back and the
 * caller must not acknowledge it.
 */
int miband_store_ingest_event(struct miband_store_ingest *in,
			      const struct miband_event *ev, int64_t now);
/* Rolls back an open batch (e.g. on a link failure). */
void miband_store_ingest_abort(struct miband_store_ingest *in);

/* ---- reading: export and daily statistics ---- */

struct miband_store_query {
	int64_t band; /* 0: every band */
	bool has_from;
	uint32_t from_minute; /* inclusive */
	bool has_to;
	uint32_t to_minute; /* exclusive */
};

struct miband_store_row {
	int64_t band;
	const char *address; /* valid during the callback */
	uint32_t minute;     /* unix minutes, UTC */
	struct miband_sample sample;
};

/* A row callback: non-zero stops the walk and is returned. */
typedef int (*miband_store_row_fn)(const struct miband_store_row *row,
				   void *user_data);
/* Walks the samples in (band, minute) order, streaming from SQLite. */
int miband_store_foreach(struct miband_store *st,
			 const struct miband_store_query *q,
			 miband_store_row_fn fn, void *user_data);

enum miband_store_format {
	MIBAND_STORE_CSV = 0, /* header line, then one line per minute */
	MIBAND_STORE_JSONL,   /* one JSON object per line */
};
/* Parses "csv" / "jsonl"; 0 or MIBAND_E_INVAL. */
int miband_store_format_parse(const char *s, enum miband_store_format *ret);

/* Output sink: 0, or a negative code that stops the export. */
typedef int (*miband_store_write_fn)(const char *data, size_t len,
				     void *user_data);
/* Streams the rows of q in format to write; *ret_rows (may be NULL) gets
 * the number of rows written.  Columns: docs/SCHEMA.md. */
int miband_store_export(struct miband_store *st,
			const struct miband_store_query *q,
			enum miband_store_format format,
			miband_store_write_fn write, void *user_data,
			uint64_t *ret_rows);

/* Activity kinds: the low nibble of the raw kind byte (PROTOCOL.md 5). */
enum miband_activity_kind {
	MIBAND_KIND_SAME = 0,
	MIBAND_KIND_ACTIVITY = 1,
	MIBAND_KIND_RUNNING = 2,
	MIBAND_KIND_NOT_WORN = 3,
	MIBAND_KIND_BIKE = 4,
	MIBAND_KIND_CHARGING = 6,
	MIBAND_KIND_LIGHT_SLEEP = 9,
	MIBAND_KIND_IGNORE = 10,
	MIBAND_KIND_DEEP_SLEEP = 11,
	MIBAND_KIND_WAKE_UP = 12,
};
/* "light-sleep" etc. for a raw kind byte; "unknown" for others. */
const char *miband_activity_kind_name(uint8_t raw_kind);
/* A measured heart rate (not 0, not 0xff). */
bool miband_heart_rate_valid(uint8_t hr);

struct miband_store_day {
	int64_t band;
	const char *address; /* valid during the callback */
	int32_t year;
	unsigned month, day; /* the day, in the offset given */
	uint32_t minutes;    /* samples stored for the day */
	uint32_t steps;
	uint32_t active_minutes; /* activity, running or bike, or steps > 0 */
	uint32_t hr_minutes;	 /* minutes with a measured heart rate */
	double hr_mean;		 /* valid if hr_minutes > 0 */
	uint8_t hr_min, hr_max;
	uint32_t light_sleep; /* minutes of each sleep kind */
	uint32_t deep_sleep;
	uint32_t wake_up; /* awake within sleep (kind 12) */
	uint32_t not_worn;
};
typedef int (*miband_store_day_fn)(const struct miband_store_day *day,
				   void *user_data);
/* Daily totals in (band, day) order; days run from midnight at
 * utc_offset_min (e.g. 60 for UTC+1). */
int miband_store_daily(struct miband_store *st,
		       const struct miband_store_query *q,
		       int32_t utc_offset_min, miband_store_day_fn fn,
		       void *user_data);
/*
 * Daily totals with days cut in a zone whose offset changes (DST): from
 * each segment's first minute (UTC unix minutes, increasing; the first
 * segment's also applies before it) its offset holds.  Every minute
 * belongs to the local day it falls in, so a day may have 1,380 or
 * 1,500 minutes.  At most MIBAND_STORE_ZONE_MAX segments.
 */
#define MIBAND_STORE_ZONE_MAX 256
struct miband_store_zone {
	uint32_t from_minute;
	int32_t offset_min;
};
int miband_store_daily_zoned(struct miband_store *st,
			     const struct miband_store_query *q,
			     const struct miband_store_zone *zone, size_t n,
			     miband_store_day_fn fn, void *user_data);

#ifdef __cplusplus
}
#endif
#endif
