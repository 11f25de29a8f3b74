/* SPDX-License-Identifier: MIT */
/* The SQLite backend's own header, for its files (sqlite*.c) and for the tests of SQLite itself;
 * everyone else opens a store with tr_store_open. One file of the node's database holds
 * entities (sqlite.c, one FULLMUTEX connection of the control thread, every write
 * synchronous=FULL) and the schema (sqlite_migrations.c). */
#ifndef TR_STORE_SQLITE_H
#define TR_STORE_SQLITE_H

#include <stddef.h>

#include "store/backend.h"
#include "store/migrations.h"

struct sqlite3;

/* Open (creating if needed, owner-only) the SQLite database at path, apply the pragmas of P16
 * (WAL, synchronous=FULL, foreign_keys=ON, busy_timeout 5 s) and run pending migrations.
 * ":memory:" works.
 * Returns 0 and sets *out, or a negative TR_E* with a message in err. */
int tr_store_open_sqlite(const char *path, struct tr_store **out, char *err, size_t err_len);

/* ---- sqlite_migrations.c */
extern const struct tr_store_migration tr__sqlite_migrations[];
int tr__sqlite_migration_setup(struct sqlite3 *db, char *err, size_t err_len);
int tr__sqlite_schema_version(struct sqlite3 *db);
int tr__sqlite_migration_apply(struct sqlite3 *db, const struct tr_store_migration *m, char *err,
                               size_t err_len);

#endif
