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
#include <time.h>
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
	struct sum s = {0, 0};
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
	struct sum s = {0, 0};
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

static struct miband_event ev_start(uint32_t minute, int8_t tz, uint32_t count)
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
		{0x01, 20, 13, 72}, /* activity with a heart rate */
		{0x09, 3, 0, 0xff}, /* light sleep, not measured */
		{0x0b, 1, 0, 0},    /* deep sleep, 0 = not measured */
		{0x73, 0, 0, 0xff}, /* high bits set; not worn */
	};
	int64_t band;
	int r;

	r = miband_store_band(st, "C8:0F:10:00:00:01", MIBAND_MODEL_MB3, &band);
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
		"band,time,kind,activity,intensity,steps,heart_rate\r\n"
		"C8:0F:10:00:00:01,2025-11-24T16:00:00Z,1,activity,20,13,72\r\n"
		"C8:0F:10:00:00:01,2025-11-24T16:01:00Z,9,light-sleep,3,0,\r\n"
		"C8:0F:10:00:00:01,2025-11-24T16:02:00Z,11,deep-sleep,1,0,\r\n"
		"C8:0F:10:00:00:01,2025-11-24T16:03:00Z,115,not-worn,0,0,\r\n";
	struct sink k = {0};
	struct miband_store *st;
	uint64_t rows = 0;
	int64_t band;

	fresh_db();
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(store_known(st, &band), 0);
	CHECK_EQ(miband_store_export(st, NULL, MIBAND_STORE_CSV, sink_write, &k,
				     &rows),
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
		"{\"type\":\"sample\",\"band\":\"C8:0F:10:00:00:01\",\"time\":"
		"\"2025-11-24T16:01:00Z\",\"kind\":9,\"activity\":"
		"\"light-sleep\",\"intensity\":3,\"steps\":0,\"heart_rate\":"
		"null}\n"
		"{\"type\":\"sample\",\"band\":\"C8:0F:10:00:00:01\",\"time\":"
		"\"2025-11-24T16:02:00Z\",\"kind\":11,\"activity\":"
		"\"deep-sleep\",\"intensity\":1,\"steps\":0,\"heart_rate\":"
		"null}\n";
	struct miband_store_query q = {0};
	struct sink k = {0};
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
					&(struct miband_sample){1, 2, 3, 4}, 1),
		 0);
	CHECK_EQ(miband_store_batch_commit(st, 1, NULL), 0);
	q.band = band;
	q.has_from = true;
	q.from_minute = T0_MIN + 1;
	q.has_to = true;
	q.to_minute = T0_MIN + 3;
	CHECK_EQ(miband_store_export(st, &q, MIBAND_STORE_JSONL, sink_write, &k,
				     &rows),
		 0);
	CHECK_EQ(rows, 2);
	CHECK_STR(k.buf, want);
	/* without the band filter both bands' minute T0+1 are there */
	q.band = 0;
	q.to_minute = T0_MIN + 2;
	k.len = 0;
	CHECK_EQ(miband_store_export(st, &q, MIBAND_STORE_JSONL, sink_write, &k,
				     &rows),
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
	struct sink k = {0};
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
	CHECK_EQ(miband_store_export(st, NULL, MIBAND_STORE_CSV, sink_write, &k,
				     &rows),
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
	struct miband_store_query q = {0};
	struct miband_store *st;
	struct days ds = {0};
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

/* ---- the fetch machine and the store over the in-process link ---- */

static const uint8_t rig_key[16] = {0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
				    0x36, 0x37, 0x38, 0x39, 0x40, 0x41,
				    0x42, 0x43, 0x44, 0x45};

enum fault_mode {
	FAULT_NONE = 0,
	FAULT_DISCONNECT, /* drop the link at packet `at` */
	FAULT_CORRUPT,	  /* flip the counter of data packet `at` */
	FAULT_DROP,	  /* lose data packet `at` */
	FAULT_TRUNCATE,	  /* cut data packet `at` to 3 bytes */
	FAULT_STALL,	  /* from data packet `at` on, deliver nothing */
};

/* What the wire saw, checked against the database as it happens. */
struct fault {
	enum fault_mode mode;
	unsigned at;
	bool armed;	  /* count packets only once the fetch runs */
	unsigned packets; /* every packet since armed */
	unsigned data;	  /* data packets since armed */
	bool stalled;
	unsigned acks_written; /* 03 writes that reached the filter */
	uint64_t done_samples; /* samples in batches the band closed */
	uint64_t batch_samples;
	unsigned early_acks; /* 03 while the DB lacked a closed batch */
	const char *db;
};

struct rig {
	struct miband_band_config bc;
	struct miband_session_config sc;
	struct miband_link_config lc;
	struct miband_band b;
	struct miband_session s;
	struct miband_link l;
	struct fault f;
	unsigned band_acks;    /* MIBAND_BAND_EV_FETCH_ACK */
	unsigned stored_calls; /* miband_session_fetch_stored() */
	unsigned batches_seen; /* MIBAND_EV_FETCH_BATCH */
	unsigned requests;     /* fetch requests made */
	uint64_t samples_seen; /* in SAMPLES events */
	uint32_t round_first;  /* first minute of the current round */
	uint32_t last_seen;    /* last minute received */
};

static enum miband_link_verdict fault_filter(enum miband_link_dir dir, int kind,
					     enum miband_channel ch,
					     uint8_t *data, size_t *len,
					     void *user_data)
{
	struct fault *f = user_data;
	unsigned idx;

	if (!f->armed)
		return MIBAND_LINK_PASS;
	idx = f->packets++;
	if (f->mode == FAULT_DISCONNECT && idx == f->at)
		return MIBAND_LINK_DISCONNECT;
	if (f->stalled)
		return MIBAND_LINK_DROP;
	if (dir == MIBAND_LINK_TO_BAND && ch == MIBAND_CH_FETCH_CTL &&
	    kind == MIBAND_ACTION_WRITE && *len >= 1 && data[0] == 0x03) {
		/* the engine acknowledges: the batch must already be in
		 * the database, as another connection sees it */
		f->acks_written++;
		if (sql_int(f->db, "SELECT count(*) FROM samples") <
		    (long long)f->done_samples)
			f->early_acks++;
	}
	if (dir == MIBAND_LINK_TO_CLIENT && ch == MIBAND_CH_FETCH_CTL &&
	    kind == MIBAND_ACTION_EVENT && *len == 3 && data[0] == 0x10 &&
	    data[1] == 0x02 && data[2] == 0x01) {
		f->done_samples += f->batch_samples;
		f->batch_samples = 0;
	}
	/* notifications only: not the ack of the CCCD write */
	if (dir == MIBAND_LINK_TO_CLIENT && ch == MIBAND_CH_FETCH_DATA &&
	    kind == MIBAND_ACTION_EVENT) {
		unsigned d = f->data++;

		if (d == f->at) {
			switch (f->mode) {
			case FAULT_CORRUPT:
				data[0] ^= 0x55;
				break;
			case FAULT_DROP:
				return MIBAND_LINK_DROP;
			case FAULT_TRUNCATE:
				*len = 3;
				break;
			case FAULT_STALL:
				f->stalled = true;
				return MIBAND_LINK_DROP;
			default:
				break;
			}
		}
		if (*len > 1)
			f->batch_samples += (*len - 1) / 4;
	}
	return MIBAND_LINK_PASS;
}

/* Runs the link until the session's final event; band events counted. */
static int rig_wait(struct rig *g, struct miband_store_ingest *in,
		    struct miband_event *ret)
{
	struct miband_link_output out;
	int r;

	for (;;) {
		r = miband_link_run(&g->l, UINT64_MAX, &out);
		if (r < 0) {
			if (in)
				miband_store_ingest_abort(in);
			return r;
		}
		if (r == 0) {
			if (in)
				miband_store_ingest_abort(in);
			return MIBAND_E_TIMEOUT; /* nothing left to happen */
		}
		if (out.from_band) {
			if (out.band.type == MIBAND_BAND_EV_FETCH_ACK)
				g->band_acks++;
			continue;
		}
		if (out.client.type == MIBAND_EV_FETCH_BATCH)
			g->batches_seen++;
		if (out.client.type == MIBAND_EV_FETCH_START)
			g->round_first =
				(uint32_t)(miband_time_to_unix(
						   &out.client.u.fetch.first) /
					   60);
		if (out.client.type == MIBAND_EV_SAMPLES &&
		    out.client.u.samples.count) {
			g->samples_seen += out.client.u.samples.count;
			g->last_seen = g->round_first +
				       out.client.u.samples.index +
				       (uint32_t)out.client.u.samples.count - 1;
		}
		if (in) {
			r = miband_store_ingest_event(in, &out.client, 1);
			if (r < 0)
				return r;
			if (r == MIBAND_STORE_ACK) {
				g->stored_calls++;
				miband_session_fetch_stored(
					&g->s, miband_link_now(&g->l));
			}
		}
		if (out.client.type == MIBAND_EV_DONE ||
		    out.client.type == MIBAND_EV_AUTH_OK ||
		    out.client.type == MIBAND_EV_ERROR) {
			if (ret)
				*ret = out.client;
			return out.client.type == MIBAND_EV_ERROR
				       ? out.client.error
				       : 0;
		}
	}
}

#define RIG_SEED 77u
#define RIG_START 1764000000 /* 2025-11-24T16:00:00Z, a whole minute */

static int rig_auth(struct rig *g)
{
	int r;

	miband_session_init(&g->s, &g->sc, rig_key);
	r = miband_session_start_auth(&g->s, MIBAND_AUTH_STORED,
				      miband_link_now(&g->l));
	if (r < 0)
		return r;
	return rig_wait(g, NULL, NULL);
}

/* A paired MB3 with days of history, fetch_batch_max batch, ack on. */
static int rig_init(struct rig *g, uint32_t days, uint32_t batch)
{
	memset(g, 0, sizeof(*g));
	miband_band_config_init(&g->bc, MIBAND_MODEL_MB3);
	g->bc.crypto = &miband_crypto_openssl;
	g->bc.seed = RIG_SEED;
	g->bc.start_unix = RIG_START;
	g->bc.tz = 4; /* UTC+1: the engine must convert */
	g->bc.history_days = days;
	g->bc.fetch_batch_max = batch;
	miband_band_init(&g->b, &g->bc, rig_key, 0);
	miband_session_config_init(&g->sc, MIBAND_MODEL_MB3);
	g->sc.crypto = &miband_crypto_openssl;
	g->sc.fetch_ack = true;
	miband_link_config_init(&g->lc);
	g->lc.filter = fault_filter;
	g->lc.user_data = &g->f;
	g->f.db = dbpath;
	miband_link_init(&g->l, &g->lc, &g->s, &g->b, 0);
	return rig_auth(g);
}

/* The band clock's current minute (the first not yet complete). */
static uint32_t rig_clock_minute(struct rig *g)
{
	return (uint32_t)(miband_band_clock(&g->b, miband_link_now(&g->l)) /
			  60);
}

/* One fetch request from since (unix minute), stored as it goes. */
static int rig_request(struct rig *g, struct miband_store_ingest *in,
		       uint32_t since, struct miband_event *ret)
{
	struct miband_request req;
	int r;

	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_FETCH;
	/* the request in the band's zone, as a phone in UTC+1 sends it */
	miband_time_from_unix((int64_t)since * 60, g->bc.tz, &req.u.time);
	g->f.armed = true;
	g->requests++;
	r = miband_session_request(&g->s, &req, miband_link_now(&g->l));
	if (r < 0)
		return r;
	return rig_wait(g, in, ret);
}

/* A whole sync as mibandctl runs it: requests from since, each next one
 * from the minute after the last received, until one brings nothing. */
static int rig_fetch(struct rig *g, struct miband_store_ingest *in,
		     uint32_t since, struct miband_event *ret)
{
	uint64_t before;
	int r, n;

	for (n = 0; n < 10000; n++) {
		before = g->samples_seen;
		r = rig_request(g, in, since, ret);
		if (r < 0 || g->samples_seen == before)
			return r;
		since = g->last_seen + 1;
	}
	return MIBAND_E_INTERNAL;
}

static int open_band(struct miband_store **st, int64_t *band)
{
	int r = miband_store_open(dbpath, 0, st);

	if (r == 0)
		r = miband_store_band(*st, "emu", MIBAND_MODEL_MB3, band);
	return r;
}

TEST(daily_zoned_cuts_days_at_each_offset)
{
	/* four local days from a local midnight at +60; the offset becomes
	 * +120 two hours later (a spring-forward day of 1,380 minutes) */
	enum { N = 4320 };
	static struct miband_sample s[N];
	uint32_t day0 = T0_MIN / 1440 + 1, from = day0 * 1440 - 60;
	struct miband_store_zone z[2] = { { 0, 60 }, { from + 120, 120 } };
	static const unsigned want[4] = { 1380, 1440, 1440, 60 };
	struct miband_store_query q = {0};
	struct miband_store *st;
	struct days ds = {0};
	int64_t band;
	unsigned i, steps[4] = {0}, k;
	int32_t y;
	unsigned mo, dd;

	fresh_db();
	history(22, from, N, s);
	for (i = 0; i < N; i++) {
		k = i < 1380 ? 0 : 1 + (i - 1380) / 1440;
		steps[k] += s[i].steps;
	}
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(miband_store_band(st, "emu", MIBAND_MODEL_MB3, &band), 0);
	CHECK_EQ(miband_store_batch_begin(st, band), 0);
	CHECK_EQ(miband_store_batch_add(st, from, s, N), 0);
	CHECK_EQ(miband_store_batch_commit(st, 1, NULL), 0);
	CHECK_EQ(miband_store_daily_zoned(st, &q, z, 2, collect_day, &ds), 0);
	CHECK_EQ(ds.n, 4);
	for (i = 0; i < 4; i++) {
		miband_civil_from_days((int32_t)(day0 + i), &y, &mo, &dd);
		CHECK_EQ(ds.d[i].day, dd);
		CHECK_EQ(ds.d[i].minutes, want[i]);
		CHECK_EQ(ds.d[i].steps, steps[i]);
	}
	/* one segment is miband_store_daily() */
	ds.n = 0;
	CHECK_EQ(miband_store_daily_zoned(st, &q, z, 1, collect_day, &ds), 0);
	CHECK_EQ(ds.n, 3);
	CHECK_EQ(ds.d[0].minutes, 1440);
	/* segments out of order, none, or an offset of a day: refused */
	z[1].from_minute = 0;
	CHECK_EQ(miband_store_daily_zoned(st, &q, z, 2, collect_day, &ds),
		 MIBAND_E_INVAL);
	CHECK_EQ(miband_store_daily_zoned(st, &q, z, 0, collect_day, &ds),
		 MIBAND_E_INVAL);
	z[0].offset_min = 1440;
	CHECK_EQ(miband_store_daily_zoned(st, &q, z, 1, collect_day, &ds),
		 MIBAND_E_INVAL);
	miband_store_close(st);
}

TEST(read_only_open_reads_and_never_writes)
{
	static struct miband_sample s[60];
	struct miband_store_query q = {0};
	struct miband_store *st;
	struct days ds = {0};
	char missing[600];
	int64_t band;
	bool has;
	uint32_t last;
	int r;

	fresh_db();
	history(23, T0_MIN, 60, s);
	CHECK_EQ(miband_store_open(dbpath, 0, &st), 0);
	CHECK_EQ(miband_store_band(st, "emu", MIBAND_MODEL_MB3, &band), 0);
	CHECK_EQ(miband_store_batch_begin(st, band), 0);
	CHECK_EQ(miband_store_batch_add(st, T0_MIN, s, 60), 0);
	CHECK_EQ(miband_store_batch_commit(st, 1, NULL), 0);
	miband_store_close(st);
	CHECK_EQ(miband_store_open(dbpath, MIBAND_STORE_READ_ONLY, &st), 0);
	CHECK_EQ(miband_store_daily(st, &q, 0, collect_day, &ds), 0);
	CHECK(ds.n >= 1);
	CHECK_EQ(miband_store_last_before(st, band, T0_MIN + 30, &has, &last),
		 0);
	CHECK(has);
	CHECK_EQ(last, T0_MIN + 29);
	CHECK_EQ(miband_store_last_before(st, band, T0_MIN, &has, &last), 0);
	CHECK(!has);
	/* a write fails (at BEGIN IMMEDIATE or at the first insert) */
	r = miband_store_batch_begin(st, band);
	if (r == 0)
		r = miband_store_batch_add(st, T0_MIN + 60, s, 1);
	CHECK_EQ(r, MIBAND_E_DB);
	miband_store_batch_abort(st);
	miband_store_close(st);
	snprintf(missing, sizeof(missing), "%s.none", dbpath);
	CHECK_EQ(miband_store_open(missing, MIBAND_STORE_READ_ONLY, &st),
		 MIBAND_E_IO);
	CHECK(access(missing, F_OK) != 0);
}

TEST(sync_100_days_equals_the_band_history)
{
	struct miband_store_ingest in;
	struct miband_store_sync_state ss;
	struct miband_store *st;
	struct rig g;
	struct sum want, got;
	uint32_t first = RIG_START / 60 - 100 * 1440, end;
	int64_t band;

	fresh_db();
	CHECK_EQ(rig_init(&g, 100, 1440), 0);
	CHECK_EQ(open_band(&st, &band), 0);
	miband_store_ingest_init(&in, st, band);
	/* asking for more than the band keeps gets what it keeps */
	CHECK_EQ(rig_fetch(&g, &in, first - 1440, NULL), 0);
	end = rig_clock_minute(&g);
	CHECK(end >= RIG_START / 60);
	CHECK_EQ(miband_store_check(st), 0);
	CHECK_EQ(miband_store_sync_state(st, band, &ss), 0);
	miband_store_close(st);
	want = history_sum(RIG_SEED, first, end);
	got = db_sum(dbpath, "emu");
	CHECK(want.n >= 144000);
	CHECK_EQ(got.n, want.n);
	CHECK_EQ(got.h, want.h);
	CHECK_EQ(ss.last_minute, end - 1);
	CHECK_EQ(in.samples, want.n);
	/* one ack per stored batch, none before its commit */
	CHECK(g.batches_seen >= 100);
	CHECK_EQ(g.stored_calls, g.batches_seen);
	CHECK_EQ(g.band_acks, g.f.acks_written);
	CHECK(g.band_acks >= 100);
	CHECK_EQ(g.f.early_acks, 0);
	cleanup();
}

TEST(resync_is_idempotent)
{
	struct miband_store_ingest in;
	struct miband_store *st;
	struct rig g;
	struct sum a, b;
	uint32_t first = RIG_START / 60 - 1440;
	int64_t band;

	fresh_db();
	CHECK_EQ(rig_init(&g, 1, 300), 0);
	CHECK_EQ(open_band(&st, &band), 0);
	miband_store_ingest_init(&in, st, band);
	CHECK_EQ(rig_fetch(&g, &in, first, NULL), 0);
	CHECK(in.added >= 1440);
	a = db_sum(dbpath, "emu");
	/* everything again: nothing new, nothing changed */
	miband_store_ingest_init(&in, st, band);
	CHECK_EQ(rig_fetch(&g, &in, first, NULL), 0);
	CHECK(in.samples >= 1440);
	CHECK_EQ(in.changed, 0);
	/* only minutes that completed since the first sync are new */
	CHECK(in.added <= 2);
	b = db_sum(dbpath, "emu");
	CHECK(b.n >= a.n);
	CHECK_EQ(b.n - a.n, in.added);
	CHECK_EQ(b.h, history_sum(RIG_SEED, first, first + (uint32_t)b.n).h);
	CHECK_EQ(sql_int(dbpath, "SELECT count(*) - count(DISTINCT minute)"
				 " FROM samples"),
		 0);
	miband_store_close(st);
	cleanup();
}

TEST(no_ack_before_fetch_stored_and_none_when_keeping)
{
	struct miband_link_output out;
	struct miband_request req;
	struct rig g;
	int r, batches = 0;

	fresh_db();
	CHECK_EQ(rig_init(&g, 1, 100), 0);
	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_FETCH;
	miband_time_from_unix((int64_t)(RIG_START / 60 - 200) * 60, 4,
			      &req.u.time);
	g.f.armed = true;
	CHECK_EQ(miband_session_request(&g.s, &req, miband_link_now(&g.l)), 0);
	/* up to the end of the first batch */
	do {
		r = miband_link_run(&g.l, UINT64_MAX, &out);
		CHECK_EQ(r, 1);
	} while (out.from_band || out.client.type != MIBAND_EV_FETCH_BATCH);
	/* the store has not said "durable": 30 s pass, nothing is acked,
	 * and the engine does not time the batch out either */
	r = miband_link_run(&g.l, miband_link_now(&g.l) + 30000, &out);
	CHECK_EQ(r, 0);
	CHECK_EQ(g.f.acks_written, 0);
	CHECK_EQ(miband_session_fetch_stored(&g.s, miband_link_now(&g.l)), 0);
	for (;;) {
		r = miband_link_run(&g.l, UINT64_MAX, &out);
		CHECK_EQ(r, 1);
		if (out.from_band) {
			g.band_acks +=
				out.band.type == MIBAND_BAND_EV_FETCH_ACK;
			continue;
		}
		if (out.client.type == MIBAND_EV_FETCH_BATCH) {
			batches++;
			miband_session_fetch_stored(&g.s,
						    miband_link_now(&g.l));
		}
		if (out.client.type == MIBAND_EV_DONE)
			break;
		CHECK(out.client.type != MIBAND_EV_ERROR);
	}
	/* the engine may go on with the next round in the same request */
	CHECK(batches <= 1);
	CHECK_EQ(g.f.acks_written, 1 + batches);
	CHECK_EQ(g.band_acks, 1 + batches);

	/* --keep-on-band: fetch_ack off, no 03 ever */
	g.sc.fetch_ack = false;
	CHECK_EQ(rig_auth(&g), 0);
	g.f.acks_written = 0;
	g.band_acks = 0;
	CHECK_EQ(miband_session_request(&g.s, &req, miband_link_now(&g.l)), 0);
	for (;;) {
		r = miband_link_run(&g.l, UINT64_MAX, &out);
		CHECK_EQ(r, 1);
		if (out.from_band)
			continue;
		if (out.client.type == MIBAND_EV_FETCH_BATCH)
			miband_session_fetch_stored(&g.s,
						    miband_link_now(&g.l));
		if (out.client.type == MIBAND_EV_DONE)
			break;
		CHECK(out.client.type != MIBAND_EV_ERROR);
	}
	CHECK_EQ(g.f.acks_written, 0);
	cleanup();
}

/*
 * After a faulty fetch the database must hold whole batches only, each
 * equal to the band's history, the sync point at the last of them, and
 * the band must have been acked at most for those.  Then a new session
 * resumes from the sync point and the result is the whole history.
 */
static void check_resume(struct rig *g, uint32_t since, uint32_t batch,
			 int *ret_fail)
{
	struct miband_store_ingest in;
	struct miband_store_sync_state ss;
	struct miband_store *st;
	struct sum got, want;
	uint32_t from, end;
	int64_t band;
	int r;

	*ret_fail = 1;
	CHECK_EQ(open_band(&st, &band), 0);
	CHECK_EQ(miband_store_check(st), 0);
	got = db_sum(dbpath, "emu");
	CHECK_EQ(got.n % batch, 0);
	CHECK_EQ(got.h,
		 history_sum(RIG_SEED, since, since + (uint32_t)got.n).h);
	CHECK_EQ(miband_store_sync_state(st, band, &ss), 0);
	CHECK_EQ(ss.has_data, got.n > 0);
	if (got.n)
		CHECK_EQ(ss.last_minute, since + got.n - 1);
	CHECK(g->band_acks <= got.n / batch);
	CHECK_EQ(g->f.early_acks, 0);

	/* resume on a new connection */
	if (g->l.connected)
		miband_link_disconnect(&g->l);
	while ((r = miband_link_run(&g->l, miband_link_now(&g->l) + 100,
				    &(struct miband_link_output){0})) > 0)
		;
	miband_link_reconnect(&g->l);
	g->f.armed = false;
	g->f.mode = FAULT_NONE;
	g->f.stalled = false;
	CHECK_EQ(rig_auth(g), 0);
	from = ss.has_data ? ss.last_minute + 1 : since;
	miband_store_ingest_init(&in, st, band);
	CHECK_EQ(rig_fetch(g, &in, from, NULL), 0);
	end = rig_clock_minute(g);
	miband_store_close(st);
	got = db_sum(dbpath, "emu");
	want = history_sum(RIG_SEED, since, end);
	CHECK_EQ(got.n, want.n);
	CHECK_EQ(got.h, want.h);
	*ret_fail = 0;
}

TEST(disconnect_at_every_packet_of_a_fetch)
{
	/* 3 batches of 24 minutes: start, 6 data packets, end, ack */
	enum { BATCH = 24 };
	uint32_t since = RIG_START / 60 - 3 * BATCH;
	unsigned k, total, errors = 0;
	struct miband_store_ingest in;
	struct miband_store *st;
	struct rig g;
	int64_t band;
	int r, fail;

	/* a clean run counts the packets */
	fresh_db();
	CHECK_EQ(rig_init(&g, 1, BATCH), 0);
	CHECK_EQ(open_band(&st, &band), 0);
	miband_store_ingest_init(&in, st, band);
	CHECK_EQ(rig_fetch(&g, &in, since, NULL), 0);
	miband_store_close(st);
	total = g.f.packets;
	CHECK(total >= 3 * (BATCH / 4 + 4));
	cleanup();

	for (k = 0; k < total; k++) {
		fresh_db();
		CHECK_EQ(rig_init(&g, 1, BATCH), 0);
		g.f.mode = FAULT_DISCONNECT;
		g.f.at = k;
		CHECK_EQ(open_band(&st, &band), 0);
		miband_store_ingest_init(&in, st, band);
		r = rig_fetch(&g, &in, since, NULL);
		miband_store_close(st);
		if (r < 0)
			errors++;
		check_resume(&g, since, BATCH, &fail);
		if (fail) {
			fprintf(stderr, "#   disconnect at packet %u of %u\n",
				k, total);
			cleanup();
			return;
		}
		cleanup();
	}
	/* the last packet is the band's 10 03 01; losing it may still
	 * fail the request, but most indexes must */
	CHECK(errors >= total - 2);
}

static void fault_case(enum fault_mode mode, unsigned at, int want_err)
{
	enum { BATCH = 40 };
	uint32_t since = RIG_START / 60 - 3 * BATCH;
	struct miband_store_ingest in;
	struct miband_store *st;
	struct rig g;
	int64_t band;
	int fail;

	fresh_db();
	CHECK_EQ(rig_init(&g, 1, BATCH), 0);
	g.f.mode = mode;
	g.f.at = at;
	CHECK_EQ(open_band(&st, &band), 0);
	miband_store_ingest_init(&in, st, band);
	CHECK_EQ(rig_fetch(&g, &in, since, NULL), want_err);
	miband_store_close(st);
	/* the damaged batch (the second: data packets 10..19) is not
	 * stored, not acked, and the sync point stays after the first */
	CHECK_EQ(db_sum(dbpath, "emu").n, BATCH);
	CHECK_EQ(sql_int(dbpath, "SELECT last_minute FROM sync_state"),
		 since + BATCH - 1);
	CHECK_EQ(g.f.acks_written, 1);
	CHECK_EQ(g.band_acks, 1);
	check_resume(&g, since, BATCH, &fail);
	CHECK(!fail);
	cleanup();
}

TEST(corrupt_counter_is_a_gap_without_ack)
{
	fault_case(FAULT_CORRUPT, 13, MIBAND_E_FETCH_GAP);
	if (test__failed)
		return;
	/* the first packet of a batch too (counter 0 expected) */
	fault_case(FAULT_CORRUPT, 10, MIBAND_E_FETCH_GAP);
}

TEST(lost_packet_is_a_gap_without_ack)
{
	fault_case(FAULT_DROP, 12, MIBAND_E_FETCH_GAP);
}

/*
 * The last data packet of a batch lost: no later counter shows the gap,
 * so the engine closes the batch short (it does not rely on the band's
 * count, PROTOCOL.md Part A).  Nothing is lost for the store: the next
 * round starts at the minute after the last one received, so the band
 * sends the missing minutes again, and the sync ends with the history.
 */
TEST(lost_last_packet_of_a_batch_is_fetched_again)
{
	enum { BATCH = 40 };
	uint32_t since = RIG_START / 60 - 3 * BATCH, end;
	struct miband_store_ingest in;
	struct miband_store *st;
	struct rig g;
	struct sum got, want;
	int64_t band;

	fresh_db();
	CHECK_EQ(rig_init(&g, 1, BATCH), 0);
	g.f.mode = FAULT_DROP;
	g.f.at = 19; /* the second batch's last */
	CHECK_EQ(open_band(&st, &band), 0);
	miband_store_ingest_init(&in, st, band);
	CHECK_EQ(rig_fetch(&g, &in, since, NULL), 0);
	end = rig_clock_minute(&g);
	miband_store_close(st);
	got = db_sum(dbpath, "emu");
	want = history_sum(RIG_SEED, since, end);
	CHECK_EQ(got.n, want.n);
	CHECK_EQ(got.h, want.h);
	/* the short batch was a round of its own */
	CHECK_EQ(g.batches_seen, 4);
	cleanup();
}

TEST(short_packet_aborts_without_ack)
{
	fault_case(FAULT_TRUNCATE, 15, MIBAND_E_FETCH_SHORT);
}

TEST(stalled_transfer_times_out_without_ack)
{
	fault_case(FAULT_STALL, 11, MIBAND_E_TIMEOUT);
}

/* ---- mibandctl sync killed at random points ---- */

#define CLI_CLOCK 1764000000 /* MIBANDCTL_EMU_CLOCK: the band's start */

/* Runs mibandctl with args in the sandbox of tmpdir; stdout into
 * *ret_fd (a pipe) if given, else to /dev/null.  Returns the pid. */
static pid_t cli_spawn(const char *const *args, int *ret_fd)
{
	char prog[512], home[300];
	const char *argv[16];
	int fds[2] = {-1, -1}, n = 0;
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s/mibandctl", MIBAND_BUILD_DIR);
	snprintf(home, sizeof(home), "%s/home", tmpdir);
	argv[n++] = prog;
	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	if (ret_fd && pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (ret_fd) {
			dup2(fds[1], 1);
			close(fds[0]);
			close(fds[1]);
		} else {
			dup2(null, 1);
		}
		dup2(null, 2);
		mkdir(home, 0700);
		setenv("HOME", home, 1);
		unsetenv("XDG_DATA_HOME");
		unsetenv("XDG_CONFIG_HOME");
		unsetenv("XDG_STATE_HOME");
		unsetenv("MIBANDCTL_EMU_FAULT");
		setenv("MIBANDCTL_EMU_CLOCK", "1764000000", 1);
		setenv("TZ", "UTC", 1);
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	if (ret_fd) {
		close(fds[1]);
		*ret_fd = fds[0];
	}
	return pid;
}

static int cli_run(const char *const *args)
{
	int status;
	pid_t pid = cli_spawn(args, NULL);

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The emulated band's history seed, from its state file. */
static int cli_seed(uint32_t *ret)
{
	char path[400], line[128];
	FILE *f;
	int r = -1;

	snprintf(path, sizeof(path), "%s/home/.local/state/miband/emu/band",
		 tmpdir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "seed ", 5)) {
			*ret = (uint32_t)strtoul(line + 5, NULL, 10);
			r = 0;
		}
	fclose(f);
	return r;
}

/*
 * The database as another process sees it after a kill: consistent, one
 * contiguous run of minutes from the first one the band has, each equal
 * to the band's history, the sync point on the last.  Returns the number
 * of minutes (0: nothing yet), or -1 (and the test failed).
 */
static long long check_cli_db(const char *db, uint32_t seed, uint32_t first)
{
	long long n, lo, hi, last;
	struct sum got, want;
	struct stat sb;

	if (stat(db, &sb) < 0)
		return 0; /* killed before it created the database */
	if (sql_int(db, "SELECT count(*) FROM pragma_integrity_check WHERE"
			" integrity_check = 'ok'") != 1) {
		TEST_FAIL_AT(__FILE__, __LINE__, "integrity_check failed");
		return -1;
	}
	n = sql_int(db, "SELECT count(*) FROM samples");
	if (n <= 0) {
		/* no sync point without data */
		if (n == 0 &&
		    sql_int(db, "SELECT count(*) FROM sync_state") == 0)
			return 0;
		/* a database killed before its schema: no tables yet */
		if (sql_int(db, "SELECT count(*) FROM sqlite_master") == 0)
			return 0;
		TEST_FAIL_AT(__FILE__, __LINE__, "samples %lld", n);
		return -1;
	}
	lo = sql_int(db, "SELECT min(minute) FROM samples");
	hi = sql_int(db, "SELECT max(minute) FROM samples");
	last = sql_int(db, "SELECT last_minute FROM sync_state");
	got = db_sum(db, "emu");
	want = history_sum(seed, (uint32_t)lo, (uint32_t)hi + 1);
	if (lo != first || hi - lo + 1 != n || last != hi ||
	    got.n != (uint64_t)n || got.h != want.h) {
		TEST_FAIL_AT(__FILE__, __LINE__,
			     "db: %lld rows, minutes %lld..%lld (first %u), "
			     "sync point %lld, checksum %s",
			     n, lo, hi, first, last,
			     got.h == want.h ? "ok" : "differs");
		return -1;
	}
	return n;
}

TEST(cli_sync_survives_sigkill_at_random_points)
{
	static const char *const pair[] = {"--device", "emu", "pair", NULL};
	static const char *const sync[] = {"--json", "--device", "emu", "sync",
					   NULL};
	static const char *const again[] = {
		"--json",  "--device",		"emu", "sync",
		"--since", "2025-08-16T16:00Z", NULL};
	uint32_t first = CLI_CLOCK / 60 - 100 * 1440, seed = 0, rng;
	char db[400], buf[4096];
	unsigned i, killed = 0, mid_batch = 0, runs = 40;
	long long n, prev = 0;
	int fd, status, lines;
	pid_t pid;

	fresh_db();
	snprintf(db, sizeof(db), "%s/home/.local/share/miband/miband.db",
		 tmpdir);
	CHECK_EQ(cli_run(pair), 0);
	CHECK_EQ(cli_seed(&seed), 0);
	rng = (uint32_t)getpid() * 2654435761u;
	fprintf(stderr, "# kill schedule seed %u\n", rng);
	for (i = 0; i < runs; i++) {
		unsigned want_lines, delay_us;
		struct timespec ts;
		ssize_t got;

		rng = rng * 1103515245u + 12345u;
		want_lines = (rng >> 8) % 12;
		rng = rng * 1103515245u + 12345u;
		delay_us = (rng >> 8) % 20000;
		/* every third run fetches everything again (idempotence
		 * under kills), the others resume */
		pid = cli_spawn(i % 3 == 2 ? again : sync, &fd);
		CHECK(pid > 0);
		/* progress lines come after commits; the extra delay lands
		 * the kill anywhere in the next batch (or the commit) */
		for (lines = 0; lines < (int)want_lines;) {
			got = read(fd, buf, sizeof(buf));
			if (got <= 0)
				break;
			lines += (int)(memchr(buf, '\n', (size_t)got) != NULL);
		}
		ts.tv_sec = 0;
		ts.tv_nsec = (long)delay_us * 1000;
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		CHECK_EQ(waitpid(pid, &status, 0), pid);
		close(fd);
		if (WIFSIGNALED(status)) {
			killed++;
		} else {
			CHECK(WIFEXITED(status));
			CHECK_EQ(WEXITSTATUS(status), 0);
		}
		n = check_cli_db(db, seed, first);
		if (n < 0) {
			fprintf(stderr, "#   after run %u (%s)\n", i,
				WIFSIGNALED(status) ? "killed" : "finished");
			return;
		}
		/* resumes never lose what was stored */
		CHECK(n >= prev);
		/* only whole batches (1440 minutes) may be stored; the
		 * band's newest minutes come in a last, short batch */
		if (n % 1440 != 0 && n < 100 * 1440)
			mid_batch++;
		prev = n;
	}
	fprintf(stderr, "# %u of %u syncs killed, %lld minutes stored\n",
		killed, runs, prev);
	CHECK_EQ(mid_batch, 0);
	/* the schedule must really have interrupted syncs */
	CHECK(killed >= runs / 4);
	/* and a last undisturbed sync completes the history */
	CHECK_EQ(cli_run(sync), 0);
	n = check_cli_db(db, seed, first);
	CHECK(n >= 100 * 1440);
	CHECK_EQ(sql_int(db, "SELECT max(minute) FROM samples") + 1 - first, n);
	cleanup();
}

TEST_MAIN(T(open_creates_current_schema_in_wal), T(open_refuses_newer_schema),
	  T(open_no_create_leaves_no_file),
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
	  T(format_and_kind_names), T(daily_totals_match_an_independent_count),
	  T(daily_zoned_cuts_days_at_each_offset),
	  T(read_only_open_reads_and_never_writes),
	  T(sync_100_days_equals_the_band_history), T(resync_is_idempotent),
	  T(no_ack_before_fetch_stored_and_none_when_keeping),
	  T(disconnect_at_every_packet_of_a_fetch),
	  T(corrupt_counter_is_a_gap_without_ack),
	  T(lost_packet_is_a_gap_without_ack),
	  T(lost_last_packet_of_a_batch_is_fetched_again),
	  T(short_packet_aborts_without_ack),
	  T(stalled_transfer_times_out_without_ack),
	  T(cli_sync_survives_sigkill_at_random_points))
