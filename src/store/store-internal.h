/*
 * Internal to src/store: the store handle and helpers shared by store.c
 * (open, migrations, batches) and export.c (reading).
 */
#ifndef MIBAND_STORE_INTERNAL_H
#define MIBAND_STORE_INTERNAL_H

#include <sqlite3.h>

#include "miband/store.h"

/* Prepared statements kept for the life of the handle. */
enum miband__stmt {
	MIBAND__ST_INSERT = 0, /* INSERT OR IGNORE a sample */
	MIBAND__ST_UPDATE,     /* UPDATE a sample whose values differ */
	MIBAND__ST_SYNC,       /* advance the sync point */
	MIBAND__ST_COUNT
};

struct miband_store {
	sqlite3 *db;
	sqlite3_stmt *st[MIBAND__ST_COUNT];
	bool in_batch;
	int64_t batch_band;
	struct miband_store_batch_stats batch;
	char err[256];
};

/* Records SQLite's message for rc and returns MIBAND_E_DB. */
int miband__store_fail(struct miband_store *st, int rc, const char *what);

/* The migration steps: migrations[i] takes version i to i + 1. */
extern const char *const miband__store_migrations[];
extern const unsigned miband__store_n_migrations;

#endif
