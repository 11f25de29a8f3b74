/* SPDX-License-Identifier: MIT */
/* The ratelimiting_counters table of the `cluster` rate-limiting policy, over a PostgreSQL
 * connection of its own (the flusher thread's). The port of sqlite_counters.c: the same
 * statements and results, every value a PQexecParams parameter. The entity store never reads
 * the table; the table itself comes from the migrations. */
#include "store/pg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/counters.h"

/* Adds a delta, returns the new count. The target's count is qualified: unqualified, it would
 * be ambiguous with EXCLUDED's in PostgreSQL (SQLite resolves it to the target). */
static const char upsert_sql[] =
    "INSERT INTO ratelimiting_counters (key, plugin_id, period, window_end, count)"
    " VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (key) DO UPDATE SET count = ratelimiting_counters.count + EXCLUDED.count"
    " RETURNING count";
/* The count of one key. */
static const char read_sql[] = "SELECT count FROM ratelimiting_counters WHERE key = $1";
/* Deletes counters whose window ended. */
static const char expire_sql[] = "DELETE FROM ratelimiting_counters WHERE window_end <= $1";

struct pg_counters {
    struct tr_store_counters base;
    PGconn *conn;
    unsigned busy_ms;
    bool ready;                      /* the session settings are applied on conn */
    bool warned;                     /* the last failure was logged; cleared by a success */
    struct tr_store_counter **order; /* the rows of a sync by key (order_cap of them) */
    size_t order_cap;
    char msg[256]; /* the last failure, one line (what sqlite3_errmsg is to SQLite) */
};

static void set_msg(struct pg_counters *c, const char *m)
{
    /* libpq's messages end with a newline and may go on with hints: the first line only. */
    snprintf(c->msg, sizeof(c->msg), "%.*s", (int)strcspn(m, "\n"), m);
    if (c->msg[0] == '\0')
        snprintf(c->msg, sizeof(c->msg), "unknown error");
}

/* sql with n text parameters: its result (the caller PQclear()s it), or NULL with the reason
 * in c->msg. Not tr__pg_ok, which logs every failure: a database that stays down would log
 * at every flush, where sync logs the first failure of a run only (warned). */
static PGresult *run(struct pg_counters *c, const char *sql, int n, const char *const *values)
{
    PGresult *res = tr__pg_query(c->conn, sql, n, values);
    ExecStatusType st = PQresultStatus(res); /* PGRES_FATAL_ERROR for NULL (out of memory) */
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    const char *m = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    /* Errors libpq makes itself (a lost connection) carry no fields: the connection has it. */
    set_msg(c, m != NULL ? m : PQerrorMessage(c->conn));
    PQclear(res);
    return NULL;
}

/* run for a statement whose rows do not matter: 0, or TR_EDB with the reason in c->msg. */
static int command(struct pg_counters *c, const char *sql, int n, const char *const *values)
{
    PGresult *res = run(c, sql, n, values);
    if (res == NULL)
        return TR_EDB;
    PQclear(res);
    return 0;
}

/* The settings of this session: after connecting, and again after a reconnection (a new
 * session forgets them). */
static int session_setup(struct pg_counters *c)
{
    /* PostgreSQL has no busy timeout: an upsert waits for the row lock another node's batch
     * holds until that transaction ends. statement_timeout bounds every statement, lock waits
     * included, which is what sqlite3_busy_timeout bounds for SQLite. 0 would mean no bound
     * at all here (not "do not wait"), so then pg_timeout, set by tr__pg_connect, stays. */
    if (c->busy_ms > 0) {
        char sql[48];
        snprintf(sql, sizeof(sql), "SET statement_timeout = %u", c->busy_ms);
        if (command(c, sql, 0, NULL) < 0)
            return TR_EDB;
    }
    /* No flush of the WAL at each commit, as SQLite's synchronous=NORMAL: a crash of the
     * server may lose the last batches (never corrupt the table), and no batch waits for an
     * fsync. Per session: the entity store's commits stay synchronous. */
    if (command(c, "SET synchronous_commit = off", 0, NULL) < 0)
        return TR_EDB;
    c->ready = true;
    return 0;
}

static void counters_free(struct pg_counters *c)
{
    PQfinish(c->conn);
    free(c->order);
    free(c);
}

int tr__pg_counters_open(const struct tr_conf *conf, unsigned busy_ms,
                         struct tr_store_counters **out, char *err, size_t err_len)
{
    struct tr_pg_params params;

    *out = NULL;
    tr__pg_params(conf, &params);
    PGconn *conn = tr__pg_connect(&params, err, err_len);
    if (conn == NULL)
        return TR_EDB;
    struct pg_counters *c = tr_xcalloc(1, sizeof(*c));
    c->base.ops = &tr__store_pg_ops;
    c->conn = conn;
    c->busy_ms = busy_ms;
    /* The table and its columns, checked now as SQLite's prepared statements are: a schema
     * that lacks them fails the open, not every flush. */
    if (session_setup(c) < 0 ||
        command(c,
                "SELECT key, plugin_id, period, window_end, count FROM ratelimiting_counters"
                " LIMIT 0",
                0, NULL) < 0) {
        snprintf(err, err_len, "PostgreSQL at %s: %s", params.where, c->msg);
        counters_free(c);
        return TR_EDB;
    }
    *out = &c->base;
    return 0;
}

static int parse_count(const char *s, int64_t *count)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return TR_EDB;
    *count = (int64_t)v;
    return 0;
}

static int sync_one(struct pg_counters *c, struct tr_store_counter *r)
{
    char key[24], window_end[24], delta[24];
    PGresult *res;

    snprintf(key, sizeof(key), "%" PRId64, r->key);
    if (r->delta != 0) {
        snprintf(window_end, sizeof(window_end), "%" PRId64, r->window_end);
        snprintf(delta, sizeof(delta), "%" PRId64, r->delta);
        const char *values[] = {key, r->plugin_id, r->period, window_end, delta};
        res = run(c, upsert_sql, 5, values);
    } else {
        const char *values[] = {key};
        res = run(c, read_sql, 1, values);
    }
    if (res == NULL)
        return TR_EDB;
    int rc = 0;
    if (PQntuples(res) == 0) {
        r->total = 0; /* a read of a counter nobody wrote */
    } else if (parse_count(PQgetvalue(res, 0, 0), &r->total) < 0) {
        set_msg(c, "a count that is not an integer");
        rc = TR_EDB;
    }
    PQclear(res);
    return rc;
}

static int by_key(const void *a, const void *b)
{
    const struct tr_store_counter *x = *(const struct tr_store_counter *const *)a;
    const struct tr_store_counter *y = *(const struct tr_store_counter *const *)b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x < y ? -1 : x > y; /* the same key twice: the later row sees the earlier's delta */
}

int tr__pg_counters_sync(struct tr_store_counters *base, struct tr_store_counter *rows, size_t n,
                         int64_t expired_before)
{
    struct pg_counters *c = TR_CONTAINER_OF(base, struct pg_counters, base);
    bool write = expired_before > 0;
    for (size_t i = 0; i < n && !write; i++)
        write = rows[i].delta != 0;
    /* A server restarts, fails over or drops idle sessions, where a SQLite file stays: a
     * broken connection is opened again with the same parameters, once per sync, so the
     * counters recover with the server instead of failing until the gateway restarts. */
    if (PQstatus(c->conn) != CONNECTION_OK) {
        c->ready = false;
        PQreset(c->conn);
        if (PQstatus(c->conn) != CONNECTION_OK) {
            set_msg(c, PQerrorMessage(c->conn));
            goto fail;
        }
    }
    if (!c->ready && session_setup(c) < 0)
        goto fail;
    /* Each upsert locks its row until COMMIT, and nodes sync concurrently: taking the rows in
     * key order on every node means two batches never wait for each other in a cycle (a
     * deadlock PostgreSQL would break by failing one). SQLite's one write lock needed none. */
    if (n > c->order_cap) {
        c->order = tr_xrealloc(c->order, n * sizeof(*c->order));
        c->order_cap = n;
    }
    for (size_t i = 0; i < n; i++)
        c->order[i] = &rows[i];
    if (n > 1)
        qsort(c->order, n, sizeof(*c->order), by_key);
    /* READ COMMITTED whatever the server's default: there an upsert whose row another batch
     * changed meanwhile adds to the committed count, where REPEATABLE READ or SERIALIZABLE
     * would fail it. Row locks are taken by the writes themselves (PostgreSQL has no
     * database-wide write lock to take up front, as BEGIN IMMEDIATE does), so a batch of
     * reads only just says it writes nothing. */
    if (command(c,
                write ? "BEGIN ISOLATION LEVEL READ COMMITTED"
                      : "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY",
                0, NULL) < 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (sync_one(c, c->order[i]) < 0)
            goto fail;
    }
    if (expired_before > 0) {
        char before[24];
        snprintf(before, sizeof(before), "%" PRId64, expired_before);
        const char *values[] = {before};
        if (command(c, expire_sql, 1, values) < 0)
            goto fail;
    }
    if (command(c, "COMMIT", 0, NULL) < 0)
        goto fail;
    if (c->warned)
        tr_log_notice("rate-limiting: cluster counters: the database answers again");
    c->warned = false;
    return 0;

fail:
    if (!c->warned)
        tr_log_warn("rate-limiting: cluster counters: %s", c->msg);
    c->warned = true;
    PGTransactionStatusType ts = PQtransactionStatus(c->conn);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
        PQclear(tr__pg_query(c->conn, "ROLLBACK", 0, NULL));
    return TR_EDB;
}

void tr__pg_counters_close(struct tr_store_counters *base)
{
    counters_free(TR_CONTAINER_OF(base, struct pg_counters, base));
}
