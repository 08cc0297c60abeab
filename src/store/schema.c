/*
 * The schema as a list of migrations (docs/SCHEMA.md explains every
 * column).  migrations[i] takes a database at PRAGMA user_version i to
 * version i + 1; store.c runs each pending step in its own transaction
 * together with the new user_version, so a crash leaves the database at
 * one version or the next, never in between.
 *
 * Rules for new steps: append, never edit a released step; keep each
 * step valid SQL for the oldest SQLite in Debian stable; bump
 * MIBAND_STORE_SCHEMA_VERSION in include/miband/store.h with it.
 */
#include "store/store-internal.h"

const char *const miband__store_migrations[] = {
	/* 0 -> 1: bands, samples, sync state */
	"CREATE TABLE bands ("
	"  id INTEGER PRIMARY KEY,"
	"  address TEXT NOT NULL UNIQUE,"
	"  model TEXT NOT NULL,"
	"  added INTEGER NOT NULL"
	");"
	"CREATE TABLE samples ("
	"  band INTEGER NOT NULL REFERENCES bands(id),"
	"  minute INTEGER NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  intensity INTEGER NOT NULL,"
	"  steps INTEGER NOT NULL,"
	"  heart_rate INTEGER NOT NULL,"
	"  PRIMARY KEY (band, minute)"
	") WITHOUT ROWID;"
	"CREATE TABLE sync_state ("
	"  band INTEGER PRIMARY KEY REFERENCES bands(id),"
	"  last_minute INTEGER NOT NULL,"
	"  last_sync INTEGER NOT NULL,"
	"  batches INTEGER NOT NULL,"
	"  samples INTEGER NOT NULL"
	");",
};

const unsigned miband__store_n_migrations =
	sizeof(miband__store_migrations) / sizeof(miband__store_migrations[0]);
