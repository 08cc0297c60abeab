/*
 * The activity store (src/store): schema and migrations, durable batches,
 * idempotent re-import, the ingest of fetch events, exports and daily
 * statistics; then the fetch machine and the store together over the
 * in-process link (full sync, faults at every packet, resume).
 *
 * Expected values never come from the store itself: they are computed
 * here from miband_history_sample() and read back with plain SQLite.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "miband/miband.h"
#include "miband/store.h"
#include "runner.h"

/* ---- helpers ---- */

static char tmpdir[256];
static char dbpath[300];

/* A fresh directory and database path for each test. */
static void fresh_db(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/miband-store-XXXXXX",
		 t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(dbpath, sizeof(dbpath), "%s/miband.db", tmpdir);
}

static void cleanup(void)
{
	char cmd[400];

	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", tmpdir);
	tmpdir[0] = 0;
}

/* One integer from plain SQLite on its own connection (not the store's). */
static long long sql_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	long long v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return -2;
	}
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			v = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	} else {
		v = -3;
	}
	sqlite3_close(db);
	return v;
}

static int sql_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* An order-dependent checksum of (minute, sample) sequences. */
struct sum {
	uint64_t n;
	uint64_t h;
};

static void sum_add(struct sum *s, uint32_t minute,
		    const struct miband_sample *x)
{
	uint64_t v = (uint64_t)minute << 32 | (uint64_t)x->kind << 24 |
		     (uint64_t)x->intensity << 16 | (uint64_t)x->steps << 8 |
		     x->heart_rate;

	s->h = (s->h ^ v) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull;
	s->n++;
}

/* What the emulated band holds for [from, to). */
static struct sum history_sum(uint32_t seed, uint32_t from, uint32_t to)
{
	struct sum s = { 0, 0 };
	struct miband_sample x;
	uint32_t m;

	for (m = from; m < to; m++) {
		miband_history_sample(seed, m, &x);
		sum_add(&s, m, &x);
	}
	return s;
}

/* What the database holds for a band, read with plain SQLite. */
static struct sum db_sum(const char *path, const char *address)
{
	struct sum s = { 0, 0 };
	struct miband_sample x;
	sqlite3 *db;
	sqlite3_stmt *q;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		s.n = UINT64_MAX;
		return s;
	}
	if (sqlite3_prepare_v2(db,
			       "SELECT minute, kind, intensity, steps,"
			       " heart_rate FROM samples JOIN bands"
			       " ON bands.id = samples.band"
			       " WHERE address = ?1 ORDER BY minute",
			       -1, &q, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		s.n = UINT64_MAX;
		return s;
	}
	sqlite3_bind_text(q, 1, address, -1, SQLITE_STATIC);
	while (sqlite3_step(q) == SQLITE_ROW) {
		x.kind = (uint8_t)sqlite3_column_int(q, 1);
		x.intensity = (uint8_t)sqlite3_column_int(q, 2);
		x.steps = (uint8_t)sqlite3_column_int(q, 3);
		x.heart_rate = (uint8_t)sqlite3_column_int(q, 4);
		sum_add(&s, (uint32_t)sqlite3_column_int64(q, 0), &x);
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	return s;
}

static void history(uint32_t seed, uint32_t from, size_t n,
		    struct miband_sample *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		miband_history_sample(seed, from + (uint32_t)i, &out[i]);
}

/* 2025-11-24T16:00:00Z */
#define T0_UNIX 1764000000
#define T0_MIN (T0_UNIX / 60)

/* ---- schema and migrations ---- */

TEST(open_creates_current_schema_in_wal)
{
	struct miband_store *st;

	fresh_db();
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(miband_store_schema_version(st), MIBAND_STORE_SCHEMA_VERSION);
	CHECK_EQ(miband_store_check(st), 0);
	miband_store_close(st);
	CHECK_EQ(sql_int(dbpath, "PRAGMA user_version"),
		 MIBAND_STORE_SCHEMA_VERSION);
	/* WAL is a property of the file: a plain connection sees it */
	CHECK_EQ(sql_int(dbpath, "SELECT journal_mode = 'wal' FROM"
				 " pragma_journal_mode"),
		 1);
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM sqlite_master WHERE"
				 " name IN ('bands', 'samples',"
				 " 'sync_state')"),
		 3);
	/* reopening migrates nothing and keeps the data */
	CHECK_EQ(sql_exec(dbpath, "INSERT INTO bands (address, model, added)"
				  " VALUES ('x', 'mb3', 0)"),
		 0);
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(miband_store_schema_version(st), MIBAND_STORE_SCHEMA_VERSION);
	miband_store_close(st);
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM bands"), 1);
	cleanup();
}

TEST(open_refuses_newer_schema)
{
	struct miband_store *st = NULL;
	char sql[64];

	fresh_db();
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 MIBAND_STORE_SCHEMA_VERSION + 1);
	CHECK_EQ(sql_exec(dbpath, sql), 0);
	CHECK_EQ(miband_store_open(dbpath, 0, &st), MIBAND_E_DB_SCHEMA);
	CHECK(st == NULL);
	/* and leaves it untouched */
	CHECK_EQ(sql_int(dbpath, "PRAGMA user_version"),
		 MIBAND_STORE_SCHEMA_VERSION + 1);
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM sqlite_master"), 0);
	cleanup();
}

TEST(open_no_create_leaves_no_file)
{
	struct miband_store *st = NULL;
	struct stat sb;

	fresh_db();
	CHECK_EQ(miband_store_open(dbpath, MIBAND_STORE_NO_CREATE, &st),
		 MIBAND_E_IO);
	CHECK(st == NULL);
	CHECK(stat(dbpath, &sb) < 0 && errno == ENOENT);
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	miband_store_close(st);
	CHECK_EQ(miband_store_open(dbpath, MIBAND_STORE_NO_CREATE, &st), 0);
	miband_store_close(st);
	cleanup();
}

TEST(open_rejects_a_file_that_is_not_a_database)
{
	struct miband_store *st = NULL;
	FILE *f;

	fresh_db();
	f = fopen(dbpath, "w");
	CHECK(f != NULL);
	fputs("this is not an SQLite database, it is a text file that is "
	      "long enough to have a header\n",
	      f);
	fclose(f);
	CHECK_EQ(miband_store_open(dbpath, 0, &st), MIBAND_E_DB);
	CHECK(st == NULL);
	cleanup();
}

/* ---- bands ---- */

TEST(band_registration_is_stable)
{
	struct miband_store *st;
	int64_t a, a2, b, x = 12345;

	fresh_db();
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(miband_store_band_find(st, "C8:0F:10:00:00:01", &x),
		 MIBAND_E_NOT_FOUND);
	CHECK_EQ(x, 12345);
	CHECK_EQ(miband_store_band(st, "C8:0F:10:00:00:01", MIBAND_MODEL_MB3,
				   &a),
		 0);
	CHECK_EQ(miband_store_band(st, "C8:0F:10:00:00:02", MIBAND_MODEL_MB2,
				   &b),
		 0);
	CHECK_EQ(miband_store_band(st, "C8:0F:10:00:00:01", MIBAND_MODEL_MB3,
				   &a2),
		 0);
	CHECK_EQ(a, a2);
	CHECK(a != b);
	CHECK_EQ(miband_store_band_find(st, "C8:0F:10:00:00:02", &x), 0);
	CHECK_EQ(x, b);
	CHECK_EQ(miband_store_band(st, "", MIBAND_MODEL_MB3, &x),
		 MIBAND_E_INVAL);
	miband_store_close(st);
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM bands"), 2);
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM bands WHERE model ="
				 " 'mb2' AND address = 'C8:0F:10:00:00:02'"),
		 1);
	cleanup();
}

/* ---- batches ---- */

TEST(batch_is_invisible_until_commit_then_durable)
{
	struct miband_sample s[30];
	struct miband_store_batch_stats bs;
	struct miband_store_sync_state ss;
	struct miband_store *st;
	int64_t band;

	fresh_db();
	history(7, T0_MIN, 30, s);
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(miband_store_band(st, "emu", MIBAND_MODEL_MB3, &band), 0);
	CHECK_EQ(miband_store_sync_state(st, band, &ss), 0);
	CHECK(!ss.has_data);
	CHECK_EQ(miband_store_batch_begin(st, band), 0);
	CHECK_EQ(miband_store_batch_begin(st, band), MIBAND_E_STATE);
	CHECK_EQ(miband_store_batch_add(st, T0_MIN, s, 30), 0);
	/* another connection (WAL reader) sees nothing yet */
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM samples"), 0);
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM sync_state"), 0);
	CHECK_EQ(miband_store_batch_commit(st, 1000, &bs), 0);
	CHECK_EQ(bs.samples, 30);
	CHECK_EQ(bs.added, 30);
	CHECK_EQ(bs.changed, 0);
	CHECK_EQ(bs.first_minute, T0_MIN);
	CHECK_EQ(bs.last_minute, T0_MIN + 29);
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM samples"), 30);
	CHECK_EQ(sql_int(dbpath, "SELECT last_minute FROM sync_state"),
		 T0_MIN + 29);
	CHECK_EQ(miband_store_sync_state(st, band, &ss), 0);
	CHECK(ss.has_data);
	CHECK_EQ(ss.last_minute, T0_MIN + 29);
	CHECK_EQ(ss.last_sync, 1000);
	CHECK_EQ(ss.batches, 1);
	CHECK_EQ(ss.samples, 30);
	miband_store_close(st);
	cleanup();
}

TEST(batch_abort_stores_nothing_and_keeps_sync_point)
{
	struct miband_sample s[20];
	struct miband_store_sync_state ss;
	struct miband_store *st;
	int64_t band;

	fresh_db();
	history(7, T0_MIN, 20, s);
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(miband_store_band(st, "emu", MIBAND_MODEL_MB3, &band), 0);
	CHECK_EQ(miband_store_batch_begin(st, band), 0);
	CHECK_EQ(miband_store_batch_add(st, T0_MIN, s, 10), 0);
	CHECK_EQ(miband_store_batch_commit(st, 1, NULL), 0);
	CHECK_EQ(miband_store_batch_begin(st, band), 0);
	CHECK_EQ(miband_store_batch_add(st, T0_MIN + 10, s + 10, 10), 0);
	miband_store_batch_abort(st);
	CHECK_EQ(miband_store_sync_state(st, band, &ss), 0);
	CHECK_EQ(ss.last_minute, T0_MIN + 9);
	CHECK_EQ(ss.batches, 1);
	/* add outside a batch is refused */
	CHECK_EQ(miband_store_batch_add(st, T0_MIN, s, 1), MIBAND_E_STATE);
	miband_store_close(st);
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM samples"), 10);
	CHECK_EQ(sql_int(dbpath, "SELECT max(minute) FROM samples"),
		 T0_MIN + 9);
	cleanup();
}

TEST(reimport_is_idempotent_and_newer_values_win)
{
	struct miband_sample s[50];
	struct miband_store_batch_stats bs;
	struct miband_store_sync_state ss;
	struct miband_store *st;
	struct sum want, got;
	int64_t band;

	fresh_db();
	history(11, T0_MIN, 50, s);
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(miband_store_band(st, "emu", MIBAND_MODEL_MB3, &band), 0);
	CHECK_EQ(miband_store_batch_begin(st, band), 0);
	CHECK_EQ(miband_store_batch_add(st, T0_MIN, s, 50), 0);
	CHECK_EQ(miband_store_batch_commit(st, 1, &bs), 0);
	/* the same minutes again, overlapping: nothing new */
	CHECK_EQ(miband_store_batch_begin(st, band), 0);
	CHECK_EQ(miband_store_batch_add(st, T0_MIN + 20, s + 20, 30), 0);
	CHECK_EQ(miband_store_batch_commit(st, 2, &bs), 0);
	CHECK_EQ(bs.samples, 30);
	CHECK_EQ(bs.added, 0);
	CHECK_EQ(bs.changed, 0);
	want = history_sum(11, T0_MIN, T0_MIN + 50);
	got = db_sum(dbpath, "emu");
	CHECK_EQ(got.n, 50);
	CHECK_EQ(got.h, want.h);
	/* a minute the band now reports differently is replaced */
	s[5].steps = (uint8_t)(s[5].steps + 1);
	CHECK_EQ(miband_store_batch_begin(st, band), 0);
	CHECK_EQ(miband_store_batch_add(st, T0_MIN, s, 10), 0);
	CHECK_EQ(miband_store_batch_commit(st, 3, &bs), 0);
	CHECK_EQ(bs.added, 0);
	CHECK_EQ(bs.changed, 1);
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM samples"), 50);
	/* an older batch never moves the sync point back */
	CHECK_EQ(miband_store_sync_state(st, band, &ss), 0);
	CHECK_EQ(ss.last_minute, T0_MIN + 49);
	CHECK_EQ(ss.batches, 3);
	CHECK_EQ(ss.samples, 90);
	miband_store_close(st);
	cleanup();
}

TEST(bands_are_kept_apart)
{
	struct miband_sample s[10];
	struct miband_store *st;
	int64_t a, b;

	fresh_db();
	history(1, T0_MIN, 10, s);
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(miband_store_band(st, "A", MIBAND_MODEL_MB3, &a), 0);
	CHECK_EQ(miband_store_band(st, "B", MIBAND_MODEL_MB3, &b), 0);
	CHECK_EQ(miband_store_batch_begin(st, a), 0);
	CHECK_EQ(miband_store_batch_add(st, T0_MIN, s, 10), 0);
	CHECK_EQ(miband_store_batch_commit(st, 1, NULL), 0);
	CHECK_EQ(miband_store_batch_begin(st, b), 0);
	CHECK_EQ(miband_store_batch_add(st, T0_MIN, s, 5), 0);
	CHECK_EQ(miband_store_batch_commit(st, 1, NULL), 0);
	miband_store_close(st);
	CHECK_EQ(db_sum(dbpath, "A").n, 10);
	CHECK_EQ(db_sum(dbpath, "B").n, 5);
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM sync_state"), 2);
	cleanup();
}

/* ---- ingest of engine events ---- */

static struct miband_event ev_start(uint32_t minute, int8_t tz,
				    uint32_t count)
{
	struct miband_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = MIBAND_EV_FETCH_START;
	ev.request = MIBAND_REQ_FETCH;
	ev.u.fetch.count = count;
	miband_time_from_unix((int64_t)minute * 60, tz, &ev.u.fetch.first);
	return ev;
}

static struct miband_event ev_samples(const uint8_t *data, size_t n,
				      uint32_t index)
{
	struct miband_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = MIBAND_EV_SAMPLES;
	ev.request = MIBAND_REQ_FETCH;
	ev.u.samples.data = data;
	ev.u.samples.count = n;
	ev.u.samples.index = index;
	return ev;
}

static struct miband_event ev_type(enum miband_event_type t, int err)
{
	struct miband_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = t;
	ev.request = MIBAND_REQ_FETCH;
	ev.error = err;
	return ev;
}

/* Packs samples of seed from minute as the wire does (4 bytes each). */
static void pack(uint32_t seed, uint32_t minute, size_t n, uint8_t *out)
{
	struct miband_sample x;
	size_t i;

	for (i = 0; i < n; i++) {
		miband_history_sample(seed, minute + (uint32_t)i, &x);
		out[4 * i] = x.kind;
		out[4 * i + 1] = x.intensity;
		out[4 * i + 2] = x.steps;
		out[4 * i + 3] = x.heart_rate;
	}
}

TEST(ingest_commits_each_batch_before_ack)
{
	static uint8_t raw[4 * 100];
	struct miband_store_ingest in;
	struct miband_store *st;
	struct miband_event ev;
	struct sum want, got;
	int64_t band;
	uint32_t i;

	fresh_db();
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(miband_store_band(st, "emu", MIBAND_MODEL_MB3, &band), 0);
	miband_store_ingest_init(&in, st, band);
	/* a band in UTC+2 (tz 8): the first minute is local time */
	ev = ev_start(T0_MIN, 8, 100);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 5), 0);
	pack(3, T0_MIN, 100, raw);
	for (i = 0; i < 100; i += 4) {
		ev = ev_samples(raw + 4 * i, 4, i);
		CHECK_EQ(miband_store_ingest_event(&in, &ev, 5), 0);
	}
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM samples"), 0);
	ev = ev_type(MIBAND_EV_FETCH_BATCH, 0);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 5), MIBAND_STORE_ACK);
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM samples"), 100);
	CHECK_EQ(in.batches, 1);
	CHECK_EQ(in.samples, 100);
	CHECK_EQ(in.added, 100);
	CHECK(in.has_range);
	CHECK_EQ(in.range_first, T0_MIN);
	CHECK_EQ(in.range_last, T0_MIN + 99);
	/* a second round of the same request */
	ev = ev_start(T0_MIN + 100, 8, 8);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 6), 0);
	pack(3, T0_MIN + 100, 8, raw);
	ev = ev_samples(raw, 4, 0);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 6), 0);
	ev = ev_samples(raw + 16, 4, 4);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 6), 0);
	ev = ev_type(MIBAND_EV_FETCH_BATCH, 0);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 6), MIBAND_STORE_ACK);
	ev = ev_type(MIBAND_EV_DONE, 0);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 6), 0);
	miband_store_close(st);
	want = history_sum(3, T0_MIN, T0_MIN + 108);
	got = db_sum(dbpath, "emu");
	CHECK_EQ(got.n, want.n);
	CHECK_EQ(got.h, want.h);
	CHECK_EQ(sql_int(dbpath, "SELECT last_minute FROM sync_state"),
		 T0_MIN + 107);
	CHECK_EQ(sql_int(dbpath, "SELECT batches FROM sync_state"), 2);
	cleanup();
}

TEST(ingest_error_discards_the_batch)
{
	static uint8_t raw[4 * 40];
	struct miband_store_ingest in;
	struct miband_store *st;
	struct miband_event ev;
	int64_t band;

	fresh_db();
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(miband_store_band(st, "emu", MIBAND_MODEL_MB3, &band), 0);
	miband_store_ingest_init(&in, st, band);
	pack(3, T0_MIN, 40, raw);
	ev = ev_start(T0_MIN, 0, 20);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 1), 0);
	ev = ev_samples(raw, 20, 0);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 1), 0);
	ev = ev_type(MIBAND_EV_FETCH_BATCH, 0);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 1), MIBAND_STORE_ACK);
	/* next round breaks off with a counter gap */
	ev = ev_start(T0_MIN + 20, 0, 20);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 2), 0);
	ev = ev_samples(raw + 80, 8, 0);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 2), 0);
	ev = ev_type(MIBAND_EV_ERROR, MIBAND_E_FETCH_GAP);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 2), 0);
	CHECK(!in.open);
	/* a stray batch end without a start is refused, never acked */
	ev = ev_type(MIBAND_EV_FETCH_BATCH, 0);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 2), MIBAND_E_STATE);
	/* samples without a start too */
	ev = ev_samples(raw, 4, 0);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 2), MIBAND_E_STATE);
	miband_store_close(st);
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM samples"), 20);
	CHECK_EQ(sql_int(dbpath, "SELECT last_minute FROM sync_state"),
		 T0_MIN + 19);
	cleanup();
}

TEST(ingest_empty_round_acks_without_writing)
{
	struct miband_store_ingest in;
	struct miband_store *st;
	struct miband_event ev;
	int64_t band;

	fresh_db();
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(miband_store_band(st, "emu", MIBAND_MODEL_MB3, &band), 0);
	miband_store_ingest_init(&in, st, band);
	ev = ev_start(T0_MIN, 0, 0);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 1), 0);
	ev = ev_type(MIBAND_EV_FETCH_BATCH, 0);
	CHECK_EQ(miband_store_ingest_event(&in, &ev, 1), MIBAND_STORE_ACK);
	CHECK_EQ(in.batches, 0);
	CHECK(!in.has_range);
	miband_store_close(st);
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM sync_state"), 0);
	cleanup();
}

/*
 * "Acknowledged" must imply "committed": a child ingests a batch, reports
 * the ACK through a pipe and is SIGKILLed at once, its connection still
 * open (no close, no checkpoint).  The parent must find the batch.
 */
TEST(ack_implies_committed_across_sigkill)
{
	static uint8_t raw[4 * 64];
	int fds[2], status;
	char c = 0;
	pid_t pid;

	fresh_db();
	CHECK_EQ(pipe(fds), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct miband_store_ingest in;
		struct miband_store *st;
		struct miband_event ev;
		int64_t band;

		close(fds[0]);
		if (miband_store_open(dbpath, 0, &st) < 0 ||
		    miband_store_band(st, "emu", MIBAND_MODEL_MB3, &band) < 0)
			_exit(3);
		miband_store_ingest_init(&in, st, band);
		pack(9, T0_MIN, 64, raw);
		ev = ev_start(T0_MIN, 0, 64);
		miband_store_ingest_event(&in, &ev, 1);
		ev = ev_samples(raw, 64, 0);
		miband_store_ingest_event(&in, &ev, 1);
		ev = ev_type(MIBAND_EV_FETCH_BATCH, 0);
		if (miband_store_ingest_event(&in, &ev, 1) == MIBAND_STORE_ACK)
			c = 'A';
		if (write(fds[1], &c, 1) != 1)
			_exit(4);
		/* a second batch left open when the kill comes */
		ev = ev_start(T0_MIN + 64, 0, 64);
		miband_store_ingest_event(&in, &ev, 1);
		ev = ev_samples(raw, 64, 0);
		miband_store_ingest_event(&in, &ev, 1);
		if (write(fds[1], &c, 1) != 1)
			_exit(4);
		for (;;)
			pause();
	}
	close(fds[1]);
	CHECK_EQ(read(fds[0], &c, 1), 1);
	CHECK_EQ(c, 'A');
	CHECK_EQ(read(fds[0], &c, 1), 1);
	kill(pid, SIGKILL);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFSIGNALED(status));
	close(fds[0]);
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM samples"), 64);
	CHECK_EQ(sql_int(dbpath, "SELECT max(minute) FROM samples"),
		 T0_MIN + 63);
	CHECK_EQ(sql_int(dbpath, "SELECT last_minute FROM sync_state"),
		 T0_MIN + 63);
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) FROM pragma_integrity_check"
				 " WHERE integrity_check = 'ok'"),
		 1);
	cleanup();
}

/* ---- export ---- */

struct sink {
	char *buf;
	size_t len, cap;
	unsigned calls;
	int fail_at; /* call number that fails, 0 = never */
};

static int sink_write(const char *data, size_t len, void *user_data)
{
	struct sink *k = user_data;

	k->calls++;
	if (k->fail_at && (int)k->calls == k->fail_at)
		return MIBAND_E_IO;
	if (k->len + len + 1 > k->cap) {
		size_t cap = (k->len + len + 1) * 2;
		char *p = realloc(k->buf, cap);

		if (!p)
			return MIBAND_E_IO;
		k->buf = p;
		k->cap = cap;
	}
	memcpy(k->buf + k->len, data, len);
	k->len += len;
	k->buf[k->len] = 0;
	return 0;
}

/* Four known minutes for the band "C8:0F:10:00:00:01" from T0. */
static int store_known(struct miband_store *st, int64_t *ret_band)
{
	static const struct miband_sample s[4] = {
		{ 0x01, 20, 13, 72 },   /* activity with a heart rate */
		{ 0x09, 3, 0, 0xff },   /* light sleep, not measured */
		{ 0x0b, 1, 0, 0 },      /* deep sleep, 0 = not measured */
		{ 0x73, 0, 0, 0xff },   /* high bits set; not worn */
	};
	int64_t band;
	int r;

	r = miband_store_band(st, "C8:0F:10:00:00:01", MIBAND_MODEL_MB3,
			      &band);
	if (r == 0)
		r = miband_store_batch_begin(st, band);
	if (r == 0)
		r = miband_store_batch_add(st, T0_MIN, s, 4);
	if (r == 0)
		r = miband_store_batch_commit(st, 1, NULL);
	if (r == 0)
		*ret_band = band;
	return r;
}

TEST(export_csv_exact)
{
	static const char want[] =
		"band,time,kind,activity,intensity,steps,heart_rate\n"
		"C8:0F:10:00:00:01,2025-11-24T16:00:00Z,1,activity,20,13,72\n"
		"C8:0F:10:00:00:01,2025-11-24T16:01:00Z,9,light-sleep,3,0,\n"
		"C8:0F:10:00:00:01,2025-11-24T16:02:00Z,11,deep-sleep,1,0,\n"
		"C8:0F:10:00:00:01,2025-11-24T16:03:00Z,115,not-worn,0,0,\n";
	struct sink k = { 0 };
	struct miband_store *st;
	uint64_t rows = 0;
	int64_t band;

	fresh_db();
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(store_known(st, &band), 0);
	CHECK_EQ(miband_store_export(st, NULL, MIBAND_STORE_CSV, sink_write,
				     &k, &rows),
		 0);
	CHECK_EQ(rows, 4);
	CHECK_STR(k.buf, want);
	miband_store_close(st);
	free(k.buf);
	cleanup();
}

TEST(export_jsonl_exact_and_filtered)
{
	static const char want[] =
		"{\"band\":\"C8:0F:10:00:00:01\",\"time\":"
		"\"2025-11-24T16:01:00Z\",\"kind\":9,\"activity\":"
		"\"light-sleep\",\"intensity\":3,\"steps\":0,\"heart_rate\":"
		"null}\n"
		"{\"band\":\"C8:0F:10:00:00:01\",\"time\":"
		"\"2025-11-24T16:02:00Z\",\"kind\":11,\"activity\":"
		"\"deep-sleep\",\"intensity\":1,\"steps\":0,\"heart_rate\":"
		"null}\n";
	struct miband_store_query q = { 0 };
	struct sink k = { 0 };
	struct miband_store *st;
	uint64_t rows = 0;
	int64_t band, other;

	fresh_db();
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(store_known(st, &band), 0);
	/* a second band's rows must not show with --band */
	CHECK_EQ(miband_store_band(st, "other", MIBAND_MODEL_MB2, &other), 0);
	CHECK_EQ(miband_store_batch_begin(st, other), 0);
	CHECK_EQ(miband_store_batch_add(st, T0_MIN + 1,
					&(struct miband_sample){ 1, 2, 3, 4 },
					1),
		 0);
	CHECK_EQ(miband_store_batch_commit(st, 1, NULL), 0);
	q.band = band;
	q.has_from = true;
	q.from_minute = T0_MIN + 1;
	q.has_to = true;
	q.to_minute = T0_MIN + 3;
	CHECK_EQ(miband_store_export(st, &q, MIBAND_STORE_JSONL, sink_write,
				     &k, &rows),
		 0);
	CHECK_EQ(rows, 2);
	CHECK_STR(k.buf, want);
	/* without the band filter both bands' minute T0+1 are there */
	q.band = 0;
	q.to_minute = T0_MIN + 2;
	k.len = 0;
	CHECK_EQ(miband_store_export(st, &q, MIBAND_STORE_JSONL, sink_write,
				     &k, &rows),
		 0);
	CHECK_EQ(rows, 2);
	CHECK(strstr(k.buf, "\"band\":\"other\"") != NULL);
	miband_store_close(st);
	free(k.buf);
	cleanup();
}

TEST(export_streams_in_chunks_and_stops_on_sink_error)
{
	static struct miband_sample s[5000];
	struct sink k = { 0 };
	struct miband_store *st;
	uint64_t rows = 0;
	int64_t band;
	size_t lines = 0;
	const char *p;

	fresh_db();
	history(5, T0_MIN, 5000, s);
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(miband_store_band(st, "emu", MIBAND_MODEL_MB3, &band), 0);
	CHECK_EQ(miband_store_batch_begin(st, band), 0);
	CHECK_EQ(miband_store_batch_add(st, T0_MIN, s, 5000), 0);
	CHECK_EQ(miband_store_batch_commit(st, 1, NULL), 0);
	CHECK_EQ(miband_store_export(st, NULL, MIBAND_STORE_JSONL, sink_write,
				     &k, &rows),
		 0);
	CHECK_EQ(rows, 5000);
	CHECK(k.calls > 1); /* > 64 KiB went out in pieces */
	for (p = k.buf; (p = strchr(p, '\n')); p++)
		lines++;
	CHECK_EQ(lines, 5000);
	free(k.buf);
	memset(&k, 0, sizeof(k));
	k.fail_at = 2;
	rows = 77;
	CHECK_EQ(miband_store_export(st, NULL, MIBAND_STORE_CSV, sink_write,
				     &k, &rows),
		 MIBAND_E_IO);
	CHECK_EQ(rows, 77);
	CHECK_EQ(k.calls, 2);
	miband_store_close(st);
	free(k.buf);
	cleanup();
}

TEST(format_and_kind_names)
{
	enum miband_store_format f = MIBAND_STORE_CSV;

	CHECK_EQ(miband_store_format_parse("jsonl", &f), 0);
	CHECK_EQ(f, MIBAND_STORE_JSONL);
	CHECK_EQ(miband_store_format_parse("csv", &f), 0);
	CHECK_EQ(f, MIBAND_STORE_CSV);
	CHECK_EQ(miband_store_format_parse("xml", &f), MIBAND_E_INVAL);
	CHECK_STR(miband_activity_kind_name(0x09), "light-sleep");
	CHECK_STR(miband_activity_kind_name(0x7b), "deep-sleep");
	CHECK_STR(miband_activity_kind_name(0x05), "unknown");
	CHECK(!miband_heart_rate_valid(0));
	CHECK(!miband_heart_rate_valid(0xff));
	CHECK(miband_heart_rate_valid(61));
}

/* ---- daily statistics ---- */

struct day_want {
	uint32_t minutes, steps, active, hr_n, hr_sum, light, deep, wake,
		not_worn;
	uint8_t hr_min, hr_max;
};

struct days {
	unsigned n;
	unsigned not_emu; /* days whose address was not "emu" */
	struct miband_store_day d[8];
};

static int collect_day(const struct miband_store_day *d, void *user_data)
{
	struct days *ds = user_data;

	if (ds->n >= 8)
		return -1;
	/* the address is only valid during the callback */
	ds->not_emu += strcmp(d->address, "emu") != 0;
	ds->d[ds->n] = *d;
	ds->d[ds->n++].address = NULL;
	return 0;
}

TEST(daily_totals_match_an_independent_count)
{
	/* three local days (UTC+1) of seed 21, from local midnight */
	enum { OFF = 60, DAYS = 3 };
	static struct miband_sample s[DAYS * 1440];
	uint32_t day0 = (T0_MIN + OFF) / 1440 + 1, from = day0 * 1440 - OFF;
	struct day_want w[DAYS];
	struct miband_store_query q = { 0 };
	struct miband_store *st;
	struct days ds = { 0 };
	int64_t band;
	unsigned i;
	int32_t y;
	unsigned mo, dd;

	fresh_db();
	history(21, from, DAYS * 1440, s);
	memset(w, 0, sizeof(w));
	for (i = 0; i < DAYS * 1440; i++) {
		struct day_want *x = &w[i / 1440];
		unsigned k = s[i].kind & 15u;
		uint8_t hr = s[i].heart_rate;

		x->minutes++;
		x->steps += s[i].steps;
		if (k == 1 || k == 2 || k == 4 || s[i].steps > 0)
			x->active++;
		if (hr != 0 && hr != 0xff) {
			if (!x->hr_n || hr < x->hr_min)
				x->hr_min = hr;
			if (!x->hr_n || hr > x->hr_max)
				x->hr_max = hr;
			x->hr_n++;
			x->hr_sum += hr;
		}
		x->light += k == 9;
		x->deep += k == 11;
		x->wake += k == 12;
		x->not_worn += k == 3;
	}
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(miband_store_band(st, "emu", MIBAND_MODEL_MB3, &band), 0);
	CHECK_EQ(miband_store_batch_begin(st, band), 0);
	CHECK_EQ(miband_store_batch_add(st, from, s, DAYS * 1440), 0);
	CHECK_EQ(miband_store_batch_commit(st, 1, NULL), 0);
	CHECK_EQ(miband_store_daily(st, &q, OFF, collect_day, &ds), 0);
	CHECK_EQ(ds.n, DAYS);
	CHECK_EQ(ds.not_emu, 0);
	for (i = 0; i < DAYS; i++) {
		const struct miband_store_day *d = &ds.d[i];

		miband_civil_from_days((int32_t)(day0 + i), &y, &mo, &dd);
		CHECK_EQ(d->year, y);
		CHECK_EQ(d->month, mo);
		CHECK_EQ(d->day, dd);
		CHECK_EQ(d->minutes, 1440);
		CHECK_EQ(d->steps, w[i].steps);
		CHECK_EQ(d->active_minutes, w[i].active);
		CHECK_EQ(d->hr_minutes, w[i].hr_n);
		CHECK(w[i].hr_n > 0);
		CHECK_EQ(d->hr_min, w[i].hr_min);
		CHECK_EQ(d->hr_max, w[i].hr_max);
		CHECK_EQ((long long)(d->hr_mean * 1000 + 0.5),
			 (long long)((double)w[i].hr_sum / w[i].hr_n * 1000 +
				     0.5));
		CHECK_EQ(d->light_sleep, w[i].light);
		CHECK_EQ(d->deep_sleep, w[i].deep);
		CHECK(w[i].light > 0 && w[i].deep > 0);
		CHECK_EQ(d->wake_up, w[i].wake);
		CHECK_EQ(d->not_worn, w[i].not_worn);
	}
	/* in UTC the same minutes straddle four days */
	ds.n = 0;
	CHECK_EQ(miband_store_daily(st, &q, 0, collect_day, &ds), 0);
	CHECK_EQ(ds.n, DAYS + 1);
	CHECK_EQ(ds.d[0].minutes, OFF);
	CHECK_EQ(ds.d[DAYS].minutes, 1440 - OFF);
	miband_store_close(st);
	cleanup();
}

TEST_MAIN(T(open_creates_current_schema_in_wal),
	  T(open_refuses_newer_schema), T(open_no_create_leaves_no_file),
	  T(open_rejects_a_file_that_is_not_a_database),
	  T(band_registration_is_stable),
	  T(batch_is_invisible_until_commit_then_durable),
	  T(batch_abort_stores_nothing_and_keeps_sync_point),
	  T(reimport_is_idempotent_and_newer_values_win),
	  T(bands_are_kept_apart), T(ingest_commits_each_batch_before_ack),
	  T(ingest_error_discards_the_batch),
	  T(ingest_empty_round_acks_without_writing),
	  T(ack_implies_committed_across_sigkill), T(export_csv_exact),
	  T(export_jsonl_exact_and_filtered),
	  T(export_streams_in_chunks_and_stops_on_sink_error),
	  T(format_and_kind_names),
	  T(daily_totals_match_an_independent_count))
