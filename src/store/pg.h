/* SPDX-License-Identifier: MIT */
/* The PostgreSQL backend's own header, for its files (pg*.c); everyone else opens a store with
 * tr_store_open (`database = postgres`). The same tables as the SQLite backend, in the schema
 * pg_schema names (the server's search_path when empty): entities (pg.c, the control thread's
 * connection), runtime rows (pg_runtime.c: a pool of connections, pg_oauth2.c), cluster
 * counters (pg_counters.c: a connection of the flusher thread's) and the schema
 * (pg_migrations.c, applied under an advisory lock so two nodes migrating at once apply each
 * step once). Every value is a parameter of PQexecParams, never SQL text; every connection
 * is opened from the same parameters (struct tr_pg_params) with libpq. */
#ifndef TR_STORE_PG_H
#define TR_STORE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "core/mem.h"
#include "store/backend.h"
#include "store/migrations.h"

struct tr_conf;

/* The channel every write notifies at its commit (after its cluster event): nodes that LISTEN
 * on it look for new events at once instead of at their next db_update_frequency tick. */
#define TR_PG_EVENTS_CHANNEL "torii_events"

/* libpq's connection keywords and values, from the pg_* settings (pg_conn.c). */
#define TR_PG_PARAMS_MAX 16
struct tr_pg_params {
    const char *keys[TR_PG_PARAMS_MAX + 1]; /* NULL-terminated */
    const char *values[TR_PG_PARAMS_MAX + 1];
    char port[8], connect_timeout[16], tcp_user_timeout[16], options[320];
    char where[300]; /* "user@host:port/database", for messages (never the password) */
};

/* ---- pg_conn.c */

/* The parameters of conf's pg_* settings into p (p keeps pointers into conf: it must outlive
 * p). */
void tr__pg_params(const struct tr_conf *conf, struct tr_pg_params *p);
/* A new connection, or NULL with the reason in err ("cannot connect to PostgreSQL at
 * user@host:port/db: <libpq's message>"). Every statement on it is bounded by pg_timeout. */
PGconn *tr__pg_connect(const struct tr_pg_params *p, char *err, size_t err_len);
/* Run sql (no parameters, may hold several statements) on conn. 0, or TR_EDB (logged with
 * what). */
int tr__pg_exec(PGconn *conn, const char *sql, const char *what);
/* PQexecParams with text parameters and text results; the caller PQclear()s. */
PGresult *tr__pg_query(PGconn *conn, const char *sql, int n, const char *const *values);
/* Did res end well (PGRES_COMMAND_OK or PGRES_TUPLES_OK)? Else log what and the error. */
bool tr__pg_ok(PGresult *res, PGconn *conn, const char *what);
/* The SQLSTATE of a failed result ("23505" unique violation, "23503" foreign key), or "". */
const char *tr__pg_state(const PGresult *res);

/* ---- pg_migrations.c */
extern const struct tr_store_migration tr__pg_migrations[];
int tr__pg_migration_setup(PGconn *conn, char *err, size_t err_len);
int tr__pg_schema_version(PGconn *conn);
int tr__pg_migration_apply(PGconn *conn, const struct tr_store_migration *m, char *err,
                           size_t err_len);

/* ---- pg_runtime.c: the pool of runtime sessions */

/* A runtime session: one pooled connection. */
struct tr_pg_tx {
    struct tr_store_tx base;
    PGconn *conn;            /* owned */
    struct tr_pg_pool *pool; /* borrowed; where release puts it back */
};

static inline PGconn *tr__pg_tx_conn(struct tr_store_tx *tx)
{
    return TR_CONTAINER_OF(tx, struct tr_pg_tx, base)->conn;
}

/* A pool of at most max (0: a few) connections made with params (copied), opened lazily. */
struct tr_pg_pool *tr__pg_pool_new(const struct tr_conf *conf, unsigned max);
/* Close every idle connection and free the pool; sessions must have been released. */
void tr__pg_pool_free(struct tr_pg_pool *p);
struct tr_store_tx *tr__pg_tx_acquire(struct tr_pg_pool *p);
void tr__pg_tx_release(struct tr_store_tx *tx);
int tr__pg_tx_begin(struct tr_store_tx *tx);
int tr__pg_tx_commit(struct tr_store_tx *tx);
void tr__pg_tx_rollback(struct tr_store_tx *tx);

/* ---- pg_oauth2.c: OAuth 2.0 rows on a session (backend.h has the contracts) */
int tr__pg_token_insert(struct tr_store_tx *tx, const struct tr_oauth2_token *t,
                        const char *access_hash, const char *refresh_hash);
int tr__pg_token_by_access(struct tr_store_tx *tx, const char *access_hash,
                           struct tr_oauth2_token *out);
int tr__pg_token_by_refresh(struct tr_store_tx *tx, const char *refresh_hash,
                            struct tr_oauth2_token *out);
int tr__pg_token_by_id(struct tr_store_tx *tx, const char *id, struct tr_oauth2_token *out);
int tr__pg_token_revoke(struct tr_store_tx *tx, const char *id, bool drop_refresh);
int tr__pg_token_update(struct tr_store_tx *tx, const struct tr_oauth2_token *t);
int tr__pg_token_set_hashes(struct tr_store_tx *tx, const char *id, const char *access_hash,
                            bool set_refresh, const char *refresh_hash);
int tr__pg_token_delete(struct tr_store_tx *tx, const char *id);
int tr__pg_family_delete(struct tr_store_tx *tx, const char *family);
int tr__pg_token_list(struct tr_store_tx *tx, size_t size, int64_t after, json_t **rows,
                      size_t *total, int64_t *next);
int tr__pg_code_insert(struct tr_store_tx *tx, const struct tr_oauth2_code *c,
                       const char *code_hash);
int tr__pg_code_by_code(struct tr_store_tx *tx, const char *code_hash, struct tr_oauth2_code *out);
int tr__pg_code_consume(struct tr_store_tx *tx, const char *id, int64_t now, const char *family);
int tr__pg_oauth2_purge(struct tr_store_tx *tx, int64_t now, int64_t code_ttl_ms);
int tr__pg_oauth2_count(struct tr_store_tx *tx, size_t *tokens, size_t *codes);

/* ---- pg_counters.c: the cluster counters over a connection of their own */
int tr__pg_counters_open(const struct tr_conf *conf, unsigned busy_ms,
                         struct tr_store_counters **out, char *err, size_t err_len);
int tr__pg_counters_sync(struct tr_store_counters *c, struct tr_store_counter *rows, size_t n,
                         int64_t expired_before);
void tr__pg_counters_close(struct tr_store_counters *c);

#endif
