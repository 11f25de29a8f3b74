/* SPDX-License-Identifier: MIT */
/* The SQLite backend's own header, for its files (sqlite*.c) and for the tests of SQLite itself;
 * everyone else opens a store with tr_store_open. One file of the node's database holds
 * everything: entities (sqlite.c, one FULLMUTEX connection of the control thread, every write
 * synchronous=FULL), runtime rows (sqlite_runtime.c: a pool of connections at
 * synchronous=NORMAL, sqlite_oauth2.c), cluster counters (sqlite_counters.c: a connection of
 * the flusher thread's) and the schema (sqlite_migrations.c). WAL lets them all read while
 * one writes; the busy timeout orders writers. */
#ifndef TR_STORE_SQLITE_H
#define TR_STORE_SQLITE_H

#include <stddef.h>

#include "core/mem.h"
#include "store/backend.h"
#include "store/migrations.h"

struct sqlite3;
struct tr_sqlite_pool;

/* Open (creating if needed, owner-only) the SQLite database at path, apply the pragmas of P16
 * (WAL, synchronous=FULL, foreign_keys=ON, busy_timeout 5 s) and run pending migrations.
 * ":memory:" works, without runtime sessions (their connections would not share its data).
 * Returns 0 and sets *out, or a negative TR_E* with a message in err. */
int tr_store_open_sqlite(const char *path, struct tr_store **out, char *err, size_t err_len);

/* From now on s gives no runtime session (tr_store_tx_acquire answers NULL): the store of a
 * local copy (copy.h), whose OAuth 2.0 rows live in the database it stands in for. */
void tr__sqlite_no_runtime(struct tr_store *s);

/* ---- sqlite_migrations.c */
extern const struct tr_store_migration tr__sqlite_migrations[];
int tr__sqlite_migration_setup(struct sqlite3 *db, char *err, size_t err_len);
int tr__sqlite_schema_version(struct sqlite3 *db);
int tr__sqlite_migration_apply(struct sqlite3 *db, const struct tr_store_migration *m, char *err,
                               size_t err_len);

/* ---- sqlite_runtime.c: the pool of runtime sessions */

/* A runtime session: one pooled connection (busy timeout 5 s, foreign keys on,
 * synchronous=NORMAL). */
struct tr_sqlite_tx {
    struct tr_store_tx base;
    struct sqlite3 *db;          /* owned */
    struct tr_sqlite_pool *pool; /* borrowed; where release puts it back */
};

static inline struct sqlite3 *tr__sqlite_tx_db(struct tr_store_tx *tx)
{
    return TR_CONTAINER_OF(tx, struct tr_sqlite_tx, base)->db;
}

/* A pool of at most a few connections to path (opened lazily), or, for ":memory:" or an empty
 * path, a pool that never gives one. */
struct tr_sqlite_pool *tr__sqlite_pool_new(const char *path);
/* Close every idle connection and free the pool; sessions must have been released. */
void tr__sqlite_pool_free(struct tr_sqlite_pool *p);
struct tr_store_tx *tr__sqlite_tx_acquire(struct tr_sqlite_pool *p);
void tr__sqlite_tx_release(struct tr_store_tx *tx);
int tr__sqlite_tx_begin(struct tr_store_tx *tx);
int tr__sqlite_tx_commit(struct tr_store_tx *tx);
void tr__sqlite_tx_rollback(struct tr_store_tx *tx);

/* ---- sqlite_oauth2.c: OAuth 2.0 rows on a session (backend.h has the contracts) */
int tr__sqlite_token_insert(struct tr_store_tx *tx, const struct tr_oauth2_token *t,
                            const char *access_hash, const char *refresh_hash);
int tr__sqlite_token_by_access(struct tr_store_tx *tx, const char *access_hash,
                               struct tr_oauth2_token *out);
int tr__sqlite_token_by_refresh(struct tr_store_tx *tx, const char *refresh_hash,
                                struct tr_oauth2_token *out);
int tr__sqlite_token_by_id(struct tr_store_tx *tx, const char *id, struct tr_oauth2_token *out);
int tr__sqlite_token_revoke(struct tr_store_tx *tx, const char *id, bool drop_refresh);
int tr__sqlite_token_update(struct tr_store_tx *tx, const struct tr_oauth2_token *t);
int tr__sqlite_token_set_hashes(struct tr_store_tx *tx, const char *id, const char *access_hash,
                                bool set_refresh, const char *refresh_hash);
int tr__sqlite_token_delete(struct tr_store_tx *tx, const char *id);
int tr__sqlite_family_delete(struct tr_store_tx *tx, const char *family);
int tr__sqlite_token_list(struct tr_store_tx *tx, size_t size, int64_t after, json_t **rows,
                          size_t *total, int64_t *next);
int tr__sqlite_code_insert(struct tr_store_tx *tx, const struct tr_oauth2_code *c,
                           const char *code_hash);
int tr__sqlite_code_by_code(struct tr_store_tx *tx, const char *code_hash,
                            struct tr_oauth2_code *out);
int tr__sqlite_code_consume(struct tr_store_tx *tx, const char *id, int64_t now,
                            const char *family);
int tr__sqlite_oauth2_purge(struct tr_store_tx *tx, int64_t now, int64_t code_ttl_ms);
int tr__sqlite_oauth2_count(struct tr_store_tx *tx, size_t *tokens, size_t *codes);

/* ---- sqlite_counters.c: the cluster counters over a connection of their own to path */
int tr__sqlite_counters_open(const char *path, unsigned busy_ms, struct tr_store_counters **out,
                             char *err, size_t err_len);
int tr__sqlite_counters_sync(struct tr_store_counters *c, struct tr_store_counter *rows, size_t n,
                             int64_t expired_before);
void tr__sqlite_counters_close(struct tr_store_counters *c);

#endif
