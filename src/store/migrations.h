/* SPDX-License-Identifier: MIT */
/* Versioned schema steps. Each backend supplies its own list (its DDL) in its ops table
 * (store/backend.h); versions mean the same on every backend (step 7 creates the OAuth 2.0
 * tables wherever it runs), so `schema_version` compares across backends. This file runs the
 * list: in order, each pending step once, refusing a database a newer build migrated. */
#ifndef TR_STORE_MIGRATIONS_H
#define TR_STORE_MIGRATIONS_H

#include <stddef.h>

struct tr_store;
struct tr_store_ops;

/* One step. Never edit a step once released: add a new one. A list ends with {0, NULL, NULL}. */
struct tr_store_migration {
    int version;      /* 1, 2, 3, ... in order */
    const char *name; /* recorded with the version, e.g. "create_apis" */
    const char *sql;  /* static DDL only; may hold several statements */
};

/* Highest version ops's list knows. */
int tr__store_migrations_latest(const struct tr_store_ops *ops);

/* Apply every pending step of s's backend, each through the backend's migration_apply (one
 * transaction that re-reads the version under the write lock, so two processes migrating at
 * once apply each step once). Idempotent. Returns 0, or TR_EDB with a message in err (err may
 * be NULL when err_len is 0), including when the database was migrated by a newer build (its
 * version is above tr__store_migrations_latest). */
int tr__store_migrations_run(struct tr_store *s, char *err, size_t err_len);

#endif
