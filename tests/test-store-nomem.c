/*
 * The store under memory exhaustion: SQLite's allocator fails from the
 * Nth allocation on, for every N until opening, registering a band and
 * committing a batch succeed.  Every failure must be MIBAND_E_NOMEM (not
 * an I/O or database error that sends the user looking at the disk),
 * and no call may crash or report success with the work undone.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "miband/miband.h"
#include "miband/store.h"
#include "runner.h"

static sqlite3_mem_methods real_mem;
static long fail_after = -1; /* allocations left; -1: never fail */

static bool out_of_memory(void)
{
	if (fail_after < 0)
		return false;
	if (fail_after == 0)
		return true;
	fail_after--;
	return false;
}

static void *failing_malloc(int n)
{
	return out_of_memory() ? NULL : real_mem.xMalloc(n);
}

static void *failing_realloc(void *p, int n)
{
	return out_of_memory() ? NULL : real_mem.xRealloc(p, n);
}

static int install_failing_allocator(void)
{
	sqlite3_mem_methods m;

	if (sqlite3_shutdown() != SQLITE_OK ||
	    sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem) != SQLITE_OK)
		return -1;
	m = real_mem;
	m.xMalloc = failing_malloc;
	m.xRealloc = failing_realloc;
	if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK)
		return -1;
	return sqlite3_initialize() == SQLITE_OK ? 0 : -1;
}

/* Open, register a band, store one batch of 3 minutes. */
static int open_and_store(const char *path)
{
	static const struct miband_sample s[3] = {
		{1, 20, 5, 70}, {1, 30, 9, 72}, {3, 0, 0, 0xff}};
	struct miband_store *st = NULL;
	struct miband_store_batch_stats stats;
	int64_t band;
	int r;

	r = miband_store_open(path, 0, &st);
	if (r < 0)
		return r;
	r = miband_store_band(st, "C8:0F:10:12:34:56", MIBAND_MODEL_MB3, &band);
	if (r == 0)
		r = miband_store_batch_begin(st, band);
	if (r == 0)
		r = miband_store_batch_add(st, 29400000, s, 3);
	if (r == 0)
		r = miband_store_batch_commit(st, 1764000000, &stats);
	if (r < 0)
		miband_store_batch_abort(st);
	miband_store_close(st);
	return r;
}

TEST(every_allocation_failure_is_nomem)
{
	char dir[] = "/tmp/miband-nomem-XXXXXX", path[64], side[80];
	long n;
	int r = -1, failures = 0;

	CHECK_EQ(install_failing_allocator(), 0);
	CHECK(mkdtemp(dir) != NULL);
	for (n = 0; n < 100000; n++) {
		snprintf(path, sizeof(path), "%s/m.db", dir);
		fail_after = n;
		r = open_and_store(path);
		fail_after = -1;
		unlink(path);
		snprintf(side, sizeof(side), "%s-wal", path);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", path);
		unlink(side);
		if (r == 0)
			break;
		if (r != MIBAND_E_NOMEM)
			fprintf(stderr, "#   allocation %ld failed: %s\n", n,
				miband_err_name(r));
		CHECK_EQ(r, MIBAND_E_NOMEM);
		failures++;
	}
	rmdir(dir);
	CHECK_EQ(r, 0);
	CHECK(failures > 10);
}

TEST_MAIN(T(every_allocation_failure_is_nomem))
