/* SPDX-License-Identifier: MIT */
/* Versioned schema steps of the SQLite backend. Applied versions are recorded in the
 * schema_migrations table; each step runs in its own transaction. */
#ifndef TR_STORE_MIGRATIONS_H
#define TR_STORE_MIGRATIONS_H

#include <stddef.h>

struct sqlite3;

/* Highest version this build knows. */
int tr_store_migrations_latest(void);

/* Version applied to db (0 for an empty database), or TR_EDB. */
int tr_store_migrations_version(struct sqlite3 *db);

/* Apply every pending step to db, each in its own BEGIN IMMEDIATE transaction that re-reads
 * the version first, so two processes migrating at once apply each step once. Idempotent.
 * Returns 0, or TR_EDB with a message in err (err may be NULL when err_len is 0), including
 * when db was migrated by a newer build (its version is above tr_store_migrations_latest()). */
int tr_store_migrations_apply(struct sqlite3 *db, char *err, size_t err_len);

#endif
