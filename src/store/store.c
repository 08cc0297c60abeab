/*
 * The activity store: opening, migrations, bands, durable batches and
 * the ingest of fetch events (include/miband/store.h has the contract).
 *
 * How it works.  The connection runs in WAL mode with synchronous=FULL
 * and foreign keys on.  A batch is one BEGIN IMMEDIATE transaction: the
 * write lock is taken up front, so a second writer (another mibandctl
 * sync) waits (busy timeout) or fails at the start of a batch, never
 * halfway through it.  Each sample is first tried with INSERT OR IGNORE;
 * if the minute is already stored, an UPDATE that only matches when a
 * value differs tells "changed" from "same" (the newer copy from the band
 * wins).  The commit also advances the band's row in sync_state, so the
 * sync point can never run ahead of the samples.
 *
 * Why synchronous=FULL rather than an explicit checkpoint: in WAL mode
 * FULL makes every COMMIT fsync the log before it returns, which is
 * exactly "durable before acknowledged", for one fsync per batch (a batch
 * is up to a day of minutes).  A checkpoint after each batch would also
 * be durable but costs more (copy the pages into the main file and fsync
 * both) and buys nothing: recovery replays a synced log.  With NORMAL a
 * power cut could lose the last commits after the band was told to drop
 * them.  Transactions that do not carry band data run under the same
 * setting; they are rare (opening, registering a band).
 *
 * The ingest maps engine events onto batches lazily: FETCH_START only
 * notes the first sample's minute; the transaction opens with the first
 * SAMPLES event, so a round with nothing to send costs no write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "miband/codec.h"
#include "store/store-internal.h"

/* bytes per sample in a SAMPLES event (include/miband/session.h) */
#define SAMPLE_BYTES 4

#ifndef MIBAND_STORE_BUSY_TIMEOUT_MS
#define MIBAND_STORE_BUSY_TIMEOUT_MS 10000 /* another writer holds the DB */
#endif

int miband__store_fail(struct miband_store *st, int rc, const char *what)
{
	const char *m = st->db ? sqlite3_errmsg(st->db) : "";
	const char *e = sqlite3_errstr(rc);

	/* SQLite's message is often its code's text: say it once */
	if (!*m || !strcmp(m, e))
		snprintf(st->err, sizeof(st->err), "%s: %s", what, e);
	else
		snprintf(st->err, sizeof(st->err), "%s: %s (%s)", what, m, e);
	return MIBAND_E_DB;
}

static int exec(struct miband_store *st, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		snprintf(st->err, sizeof(st->err), "%.60s: %s", sql,
			 msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return MIBAND_E_DB;
	}
	return 0;
}

/* Runs a statement that returns one integer. */
static int query_int(struct miband_store *st, const char *sql, int64_t *ret)
{
	sqlite3_stmt *q;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);

	if (rc != SQLITE_OK)
		return miband__store_fail(st, rc, sql);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(q);
		return miband__store_fail(st, rc, sql);
	}
	*ret = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return 0;
}

static int migrate(struct miband_store *st)
{
	int64_t v;
	char sql[64];
	int r;

	if (miband__store_n_migrations != MIBAND_STORE_SCHEMA_VERSION)
		return MIBAND_E_INTERNAL;
	for (;;) {
		r = query_int(st, "PRAGMA user_version", &v);
		if (r < 0)
			return r;
		if (v > MIBAND_STORE_SCHEMA_VERSION || v < 0) {
			snprintf(st->err, sizeof(st->err),
				 "schema version %lld, this program knows "
				 "up to %d",
				 (long long)v, MIBAND_STORE_SCHEMA_VERSION);
			return MIBAND_E_DB_SCHEMA;
		}
		if (v == MIBAND_STORE_SCHEMA_VERSION)
			return 0;
		r = exec(st, "BEGIN IMMEDIATE");
		if (r < 0)
			return r;
		/* another process may have migrated while we waited */
		r = query_int(st, "PRAGMA user_version", &v);
		if (r == 0 && v < MIBAND_STORE_SCHEMA_VERSION && v >= 0) {
			r = exec(st, miband__store_migrations[v]);
			snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
				 (int)v + 1);
			if (r == 0)
				r = exec(st, sql);
		}
		if (r == 0)
			r = exec(st, "COMMIT");
		if (r < 0) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return r;
		}
	}
}

static const char *const stmt_sql[MIBAND__ST_COUNT] = {
	[MIBAND__ST_INSERT] =
		"INSERT OR IGNORE INTO samples"
		" (band, minute, kind, intensity, steps, heart_rate)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[MIBAND__ST_UPDATE] =
		"UPDATE samples SET kind = ?3, intensity = ?4, steps = ?5,"
		" heart_rate = ?6 WHERE band = ?1 AND minute = ?2 AND"
		" (kind <> ?3 OR intensity <> ?4 OR steps <> ?5 OR"
		" heart_rate <> ?6)",
	[MIBAND__ST_SYNC] =
		"INSERT INTO sync_state"
		" (band, last_minute, last_sync, batches, samples)"
		" VALUES (?1, ?2, ?3, 1, ?4)"
		" ON CONFLICT (band) DO UPDATE SET"
		" last_minute = max(last_minute, excluded.last_minute),"
		" last_sync = excluded.last_sync,"
		" batches = batches + 1,"
		" samples = samples + excluded.samples",
};

/*
 * Read-only: no WAL switch, no migration.  A WAL database in a folder we
 * may not write cannot get its -shm file; then it is opened immutable
 * (no locks: nobody can write there either).
 */
static int open_read_only(struct miband_store *st, const char *path)
{
	char uri[4200 * 3 + 32], *o = uri;
	const char *p;
	int64_t v;
	int rc, r;

	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK && query_int(st, "PRAGMA user_version", &v) == 0)
		goto version;
	sqlite3_close(st->db);
	st->db = NULL;
	o += sprintf(o, "file:");
	for (p = path; *p && o < uri + sizeof(uri) - 32; p++) {
		if (*p == '?' || *p == '#' || *p == '%')
			o += sprintf(o, "%%%02X", (unsigned char)*p);
		else
			*o++ = *p;
	}
	sprintf(o, "?immutable=1");
	rc = sqlite3_open_v2(uri, &st->db,
			     SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX |
				     SQLITE_OPEN_URI,
			     NULL);
	if (rc != SQLITE_OK)
		return rc == SQLITE_CANTOPEN ? MIBAND_E_IO : MIBAND_E_DB;
	r = query_int(st, "PRAGMA user_version", &v);
	if (r < 0)
		return r;
version:
	if (v != MIBAND_STORE_SCHEMA_VERSION) {
		snprintf(st->err, sizeof(st->err),
			 "schema version %lld, this program reads %d (a "
			 "read-only database is not migrated)",
			 (long long)v, MIBAND_STORE_SCHEMA_VERSION);
		return MIBAND_E_DB_SCHEMA;
	}
	return 0;
}

int miband_store_open(const char *path, unsigned flags,
		      struct miband_store **ret)
{
	struct miband_store *st;
	struct stat sb;
	char *mode = NULL;
	sqlite3_stmt *q;
	int rc, r, i;

	if (!path || !ret)
		return MIBAND_E_INVAL;
	if ((flags & (MIBAND_STORE_NO_CREATE | MIBAND_STORE_READ_ONLY)) &&
	    stat(path, &sb) < 0)
		return MIBAND_E_IO;
	st = calloc(1, sizeof(*st));
	if (!st)
		return MIBAND_E_IO;
	if (flags & MIBAND_STORE_READ_ONLY) {
		r = open_read_only(st, path);
		if (r < 0)
			goto fail;
		goto prepare;
	}
	/* NOMUTEX: a handle is used by one thread at a time (store.h) */
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
				     ((flags & MIBAND_STORE_NO_CREATE)
					      ? 0
					      : SQLITE_OPEN_CREATE),
			     NULL);
	if (rc != SQLITE_OK) {
		r = rc == SQLITE_CANTOPEN ? MIBAND_E_IO : MIBAND_E_DB;
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, MIBAND_STORE_BUSY_TIMEOUT_MS);

	/* journal_mode answers with the mode in effect */
	rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &q,
				NULL);
	if (rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
		const unsigned char *m = sqlite3_column_text(q, 0);

		mode = m ? strdup((const char *)m) : NULL;
	}
	sqlite3_finalize(q);
	if (!mode || strcmp(mode, "wal")) {
		free(mode);
		r = miband__store_fail(st, SQLITE_ERROR,
				       "cannot switch to WAL mode");
		goto fail;
	}
	free(mode);
	r = exec(st, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON");
	if (r < 0)
		goto fail;
	r = migrate(st);
	if (r < 0)
		goto fail;
prepare:
	for (i = 0; i < MIBAND__ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
					SQLITE_PREPARE_PERSISTENT, &st->st[i],
					NULL);
		if (rc != SQLITE_OK) {
			r = miband__store_fail(st, rc, "prepare");
			goto fail;
		}
	}
	*ret = st;
	return 0;
fail:
	miband_store_close(st);
	return r;
}

void miband_store_close(struct miband_store *st)
{
	int i;

	if (!st)
		return;
	miband_store_batch_abort(st);
	for (i = 0; i < MIBAND__ST_COUNT; i++)
		sqlite3_finalize(st->st[i]);
	sqlite3_close(st->db);
	free(st);
}

const char *miband_store_errmsg(const struct miband_store *st)
{
	return st ? st->err : "";
}

int miband_store_schema_version(struct miband_store *st)
{
	int64_t v;
	int r = query_int(st, "PRAGMA user_version", &v);

	return r < 0 ? r : (int)v;
}

int miband_store_check(struct miband_store *st)
{
	sqlite3_stmt *q;
	int rc, ok = 0, rows = 0;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA integrity_check", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return miband__store_fail(st, rc, "integrity_check");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(q, 0);

		rows++;
		if (t && !strcmp((const char *)t, "ok"))
			ok = 1;
		else
			snprintf(st->err, sizeof(st->err), "integrity: %s",
				 t ? (const char *)t : "?");
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return miband__store_fail(st, rc, "integrity_check");
	return ok && rows == 1 ? 0 : MIBAND_E_DB;
}

/* ---- bands ---- */

int miband_store_band_find(struct miband_store *st, const char *address,
			   int64_t *ret_id)
{
	sqlite3_stmt *q;
	int rc;

	if (!st || !address || !ret_id)
		return MIBAND_E_INVAL;
	rc = sqlite3_prepare_v2(st->db,
				"SELECT id FROM bands WHERE address = ?1", -1,
				&q, NULL);
	if (rc != SQLITE_OK)
		return miband__store_fail(st, rc, "find band");
	sqlite3_bind_text(q, 1, address, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*ret_id = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
		return 0;
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_DONE)
		return MIBAND_E_NOT_FOUND;
	return miband__store_fail(st, rc, "find band");
}

int miband_store_band(struct miband_store *st, const char *address,
		      enum miband_model model, int64_t *ret_id)
{
	const char *mname = miband_model_name(model);
	sqlite3_stmt *q;
	int rc, r;

	if (!st || !address || !*address || !ret_id ||
	    strlen(address) > MIBAND_STORE_ADDRESS_MAX || !mname)
		return MIBAND_E_INVAL;
	r = miband_store_band_find(st, address, ret_id);
	if (r != MIBAND_E_NOT_FOUND)
		return r;
	rc = sqlite3_prepare_v2(st->db,
				"INSERT OR IGNORE INTO bands (address, model,"
				" added) VALUES (?1, ?2, strftime('%s'))",
				-1, &q, NULL);
	if (rc != SQLITE_OK)
		return miband__store_fail(st, rc, "add band");
	sqlite3_bind_text(q, 1, address, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, mname, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return miband__store_fail(st, rc, "add band");
	return miband_store_band_find(st, address, ret_id);
}

int miband_store_sync_state(struct miband_store *st, int64_t band,
			    struct miband_store_sync_state *ret)
{
	struct miband_store_sync_state s;
	sqlite3_stmt *q;
	int rc;

	if (!st || !ret)
		return MIBAND_E_INVAL;
	rc = sqlite3_prepare_v2(st->db,
				"SELECT last_minute, last_sync, batches,"
				" samples FROM sync_state WHERE band = ?1",
				-1, &q, NULL);
	if (rc != SQLITE_OK)
		return miband__store_fail(st, rc, "sync state");
	sqlite3_bind_int64(q, 1, band);
	memset(&s, 0, sizeof(s));
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		s.has_data = true;
		s.last_minute = (uint32_t)sqlite3_column_int64(q, 0);
		s.last_sync = sqlite3_column_int64(q, 1);
		s.batches = (uint64_t)sqlite3_column_int64(q, 2);
		s.samples = (uint64_t)sqlite3_column_int64(q, 3);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return miband__store_fail(st, rc, "sync state");
	*ret = s;
	return 0;
}

int miband_store_last_before(struct miband_store *st, int64_t band,
			     uint32_t before, bool *ret_has,
			     uint32_t *ret_minute)
{
	sqlite3_stmt *q;
	int rc;

	if (!st || !ret_has || !ret_minute)
		return MIBAND_E_INVAL;
	rc = sqlite3_prepare_v2(st->db,
				"SELECT max(minute) FROM samples"
				" WHERE band = ?1 AND minute < ?2",
				-1, &q, NULL);
	if (rc != SQLITE_OK)
		return miband__store_fail(st, rc, "last minute");
	sqlite3_bind_int64(q, 1, band);
	sqlite3_bind_int64(q, 2, before);
	rc = sqlite3_step(q);
	*ret_has = rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL;
	if (*ret_has)
		*ret_minute = (uint32_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW)
		return miband__store_fail(st, rc, "last minute");
	return 0;
}

/* ---- batches ---- */

int miband_store_batch_begin(struct miband_store *st, int64_t band)
{
	int r;

	if (!st)
		return MIBAND_E_INVAL;
	if (st->in_batch)
		return MIBAND_E_STATE;
	r = exec(st, "BEGIN IMMEDIATE");
	if (r < 0)
		return r;
	st->in_batch = true;
	st->batch_band = band;
	memset(&st->batch, 0, sizeof(st->batch));
	return 0;
}

static void bind_sample(sqlite3_stmt *q, int64_t band, uint32_t minute,
			const struct miband_sample *s)
{
	sqlite3_bind_int64(q, 1, band);
	sqlite3_bind_int64(q, 2, minute);
	sqlite3_bind_int(q, 3, s->kind);
	sqlite3_bind_int(q, 4, s->intensity);
	sqlite3_bind_int(q, 5, s->steps);
	sqlite3_bind_int(q, 6, s->heart_rate);
}

static int step_done(struct miband_store *st, sqlite3_stmt *q, const char *what)
{
	int rc = sqlite3_step(q);

	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return miband__store_fail(st, rc, what);
	return 0;
}

int miband_store_batch_add(struct miband_store *st, uint32_t minute,
			   const struct miband_sample *s, size_t n)
{
	struct miband_store_batch_stats *b;
	size_t i;
	int r;

	if (!st || (n && !s))
		return MIBAND_E_INVAL;
	if (!st->in_batch)
		return MIBAND_E_STATE;
	if (n > UINT32_MAX - (size_t)minute)
		return MIBAND_E_INVAL;
	b = &st->batch;
	for (i = 0; i < n; i++) {
		uint32_t m = minute + (uint32_t)i;

		bind_sample(st->st[MIBAND__ST_INSERT], st->batch_band, m,
			    &s[i]);
		r = step_done(st, st->st[MIBAND__ST_INSERT], "insert sample");
		if (r < 0)
			return r;
		if (sqlite3_changes(st->db) > 0) {
			b->added++;
		} else {
			bind_sample(st->st[MIBAND__ST_UPDATE], st->batch_band,
				    m, &s[i]);
			r = step_done(st, st->st[MIBAND__ST_UPDATE],
				      "update sample");
			if (r < 0)
				return r;
			if (sqlite3_changes(st->db) > 0)
				b->changed++;
		}
		if (!b->samples || m < b->first_minute)
			b->first_minute = m;
		if (!b->samples || m > b->last_minute)
			b->last_minute = m;
		b->samples++;
	}
	return 0;
}

int miband_store_batch_commit(struct miband_store *st, int64_t now,
			      struct miband_store_batch_stats *ret)
{
	sqlite3_stmt *q;
	int r = 0;

	if (!st)
		return MIBAND_E_INVAL;
	if (!st->in_batch)
		return MIBAND_E_STATE;
	if (st->batch.samples) {
		q = st->st[MIBAND__ST_SYNC];
		sqlite3_bind_int64(q, 1, st->batch_band);
		sqlite3_bind_int64(q, 2, st->batch.last_minute);
		sqlite3_bind_int64(q, 3, now);
		sqlite3_bind_int64(q, 4, st->batch.samples);
		r = step_done(st, q, "advance sync point");
	}
	/* synchronous=FULL: the WAL is fsync'd before COMMIT returns */
	if (r == 0)
		r = exec(st, "COMMIT");
	if (r < 0) {
		miband_store_batch_abort(st);
		return r;
	}
	st->in_batch = false;
	if (ret)
		*ret = st->batch;
	return 0;
}

void miband_store_batch_abort(struct miband_store *st)
{
	if (!st || !st->in_batch)
		return;
	/* a failed COMMIT may already have rolled back; that is fine */
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->in_batch = false;
}

/* ---- ingest ---- */

void miband_store_ingest_init(struct miband_store_ingest *in,
			      struct miband_store *st, int64_t band)
{
	memset(in, 0, sizeof(*in));
	in->st = st;
	in->band = band;
}

void miband_store_ingest_abort(struct miband_store_ingest *in)
{
	if (in->open)
		miband_store_batch_abort(in->st);
	in->open = false;
	in->started = false;
	in->batch_samples = 0;
}

static int ingest_samples(struct miband_store_ingest *in,
			  const struct miband_event *ev)
{
	struct miband_sample buf[64];
	const uint8_t *p = ev->u.samples.data;
	size_t left = ev->u.samples.count, n, i;
	uint64_t minute = (uint64_t)in->first_minute + ev->u.samples.index;
	int r;

	if (!in->started || (left && !p))
		return MIBAND_E_STATE;
	if (minute + left > UINT32_MAX)
		return MIBAND_E_MALFORMED;
	if (!in->open) {
		r = miband_store_batch_begin(in->st, in->band);
		if (r < 0)
			return r;
		in->open = true;
	}
	while (left) {
		n = left < 64 ? left : 64;
		for (i = 0; i < n; i++, p += SAMPLE_BYTES) {
			buf[i].kind = p[0];
			buf[i].intensity = p[1];
			buf[i].steps = p[2];
			buf[i].heart_rate = p[3];
		}
		r = miband_store_batch_add(in->st, (uint32_t)minute, buf, n);
		if (r < 0)
			return r;
		minute += n;
		left -= n;
		in->batch_samples += (uint32_t)n;
	}
	return 0;
}

static int ingest_commit(struct miband_store_ingest *in, int64_t now)
{
	struct miband_store_batch_stats b;
	int r;

	if (!in->open)
		return 0; /* an empty batch: nothing to make durable */
	in->open = false;
	r = miband_store_batch_commit(in->st, now, &b);
	if (r < 0)
		return r;
	in->batches++;
	in->samples += b.samples;
	in->added += b.added;
	in->changed += b.changed;
	if (b.samples) {
		if (!in->has_range || b.first_minute < in->range_first)
			in->range_first = b.first_minute;
		if (!in->has_range || b.last_minute > in->range_last)
			in->range_last = b.last_minute;
		in->has_range = true;
	}
	return 0;
}

int miband_store_ingest_event(struct miband_store_ingest *in,
			      const struct miband_event *ev, int64_t now)
{
	int64_t t;
	int r = 0;

	if (!in || !in->st || !ev)
		return MIBAND_E_INVAL;
	switch (ev->type) {
	case MIBAND_EV_FETCH_START:
		/* a new round: anything still open was never completed */
		miband_store_ingest_abort(in);
		if (miband_time_valid(&ev->u.fetch.first) < 0)
			return MIBAND_E_MALFORMED;
		t = miband_time_to_unix(&ev->u.fetch.first);
		if (t < 0 || t / 60 > (int64_t)UINT32_MAX)
			return MIBAND_E_MALFORMED;
		in->first_minute = (uint32_t)(t / 60);
		in->started = true;
		return 0;
	case MIBAND_EV_SAMPLES:
		r = ingest_samples(in, ev);
		break;
	case MIBAND_EV_FETCH_BATCH:
		if (!in->started) {
			r = MIBAND_E_STATE;
			break;
		}
		r = ingest_commit(in, now);
		in->started = false;
		in->batch_samples = 0;
		return r < 0 ? r : MIBAND_STORE_ACK;
	case MIBAND_EV_ERROR:
	case MIBAND_EV_DONE:
		miband_store_ingest_abort(in);
		return 0;
	default:
		return 0;
	}
	if (r < 0)
		miband_store_ingest_abort(in);
	return r;
}
