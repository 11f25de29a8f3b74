/* SPDX-License-Identifier: MIT */
/* The ratelimiting_counters table of the `cluster` rate-limiting policy, over a SQLite
 * connection of its own (the flusher thread's). The entity store never reads it; the table
 * itself comes from the migrations. */
#include "store/sqlite.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/counters.h"

struct sqlite_counters {
    struct tr_store_counters base;
    sqlite3 *db;
    sqlite3_stmt *upsert; /* adds a delta, returns the new count */
    sqlite3_stmt *read;   /* the count of one key */
    sqlite3_stmt *expire; /* deletes counters whose window ended */
    bool warned;          /* the last failure was logged; cleared by a success */
};

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, char *err, size_t err_len)
{
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        snprintf(err, err_len, "%s", sqlite3_errmsg(db));
        return TR_EDB;
    }
    return 0;
}

static void counters_free(struct sqlite_counters *c)
{
    sqlite3_finalize(c->upsert);
    sqlite3_finalize(c->read);
    sqlite3_finalize(c->expire);
    sqlite3_close_v2(c->db);
    free(c);
}

int tr__sqlite_counters_open(const char *path, unsigned busy_ms, struct tr_store_counters **out,
                             char *err, size_t err_len)
{
    sqlite3 *db = NULL;
    struct sqlite_counters *c = NULL;

    *out = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, err_len, "cannot open %s: %s", path,
                 db != NULL ? sqlite3_errmsg(db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(db, (int)busy_ms);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    /* The entity store already switched the file to WAL (a persistent mode); synchronous is
     * per connection: counters trade the last batches on power loss for no fsync per batch. */
    if (sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, err_len, "synchronous=NORMAL: %s", sqlite3_errmsg(db));
        goto fail;
    }
    c = tr_xcalloc(1, sizeof(*c));
    c->base.ops = &tr__store_sqlite_ops;
    c->db = db;
    if (prepare(db,
                "INSERT INTO ratelimiting_counters (key, plugin_id, period, window_end, count)"
                " VALUES (?1, ?2, ?3, ?4, ?5)"
                " ON CONFLICT (key) DO UPDATE SET count = count + excluded.count"
                " RETURNING count",
                &c->upsert, err, err_len) < 0 ||
        prepare(db, "SELECT count FROM ratelimiting_counters WHERE key = ?1", &c->read, err,
                err_len) < 0 ||
        prepare(db, "DELETE FROM ratelimiting_counters WHERE window_end <= ?1", &c->expire, err,
                err_len) < 0)
        goto fail;
    *out = &c->base;
    return 0;

fail:
    if (c != NULL) {
        counters_free(c);
    } else {
        sqlite3_close_v2(db);
    }
    return TR_EDB;
}

static int step_count(sqlite3_stmt *st, int64_t *count)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *count = sqlite3_column_int64(st, 0);
        rc = sqlite3_step(st); /* RETURNING: the statement completes on the next step */
        if (rc == SQLITE_ROW)
            rc = SQLITE_DONE;
    } else if (rc == SQLITE_DONE) {
        *count = 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : TR_EDB;
}

static int sync_one(struct sqlite_counters *c, struct tr_store_counter *r)
{
    sqlite3_stmt *st = r->delta != 0 ? c->upsert : c->read;
    sqlite3_bind_int64(st, 1, r->key);
    if (r->delta != 0) {
        sqlite3_bind_text(st, 2, r->plugin_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, r->period, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, r->window_end);
        sqlite3_bind_int64(st, 5, r->delta);
    }
    int rc = step_count(st, &r->total);
    sqlite3_clear_bindings(st);
    return rc;
}

int tr__sqlite_counters_sync(struct tr_store_counters *base, struct tr_store_counter *rows,
                             size_t n, int64_t expired_before)
{
    struct sqlite_counters *c = TR_CONTAINER_OF(base, struct sqlite_counters, base);
    bool write = expired_before > 0;
    for (size_t i = 0; i < n && !write; i++)
        write = rows[i].delta != 0;
    /* IMMEDIATE takes the write lock up front, so the busy timeout applies to it; a deferred
     * read transaction that later writes could fail at once on a WAL snapshot conflict. */
    if (sqlite3_exec(c->db, write ? "BEGIN IMMEDIATE" : "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (sync_one(c, &rows[i]) < 0)
            goto fail;
    }
    if (expired_before > 0) {
        sqlite3_bind_int64(c->expire, 1, expired_before);
        int rc = sqlite3_step(c->expire);
        sqlite3_reset(c->expire);
        if (rc != SQLITE_DONE)
            goto fail;
    }
    if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    if (c->warned)
        tr_log_notice("rate-limiting: cluster counters: the database answers again");
    c->warned = false;
    return 0;

fail:
    if (!c->warned)
        tr_log_warn("rate-limiting: cluster counters: %s", sqlite3_errmsg(c->db));
    c->warned = true;
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return TR_EDB;
}

void tr__sqlite_counters_close(struct tr_store_counters *base)
{
    counters_free(TR_CONTAINER_OF(base, struct sqlite_counters, base));
}
