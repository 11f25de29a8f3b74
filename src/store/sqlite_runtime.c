/* SPDX-License-Identifier: MIT */
/* The SQLite backend's runtime sessions: a small pool of connections to the node's database
 * file, each a session (see sqlite.h). */
#include "store/sqlite.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"

/* libuv's thread pool has 4 threads by default; the control thread is one more. */
#define POOL_MAX 6

struct tr_sqlite_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    char *path; /* owned; NULL: the pool never gives a session */
    struct tr_sqlite_tx *idle[POOL_MAX];
    size_t num_idle, num_open;
};

struct tr_sqlite_pool *tr__sqlite_pool_new(const char *path)
{
    struct tr_sqlite_pool *p = tr_xcalloc(1, sizeof(*p));

    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->freed, NULL);
    /* ":memory:" cannot: each connection would have a database of its own. */
    if (path != NULL && path[0] != '\0' && strcmp(path, ":memory:") != 0)
        p->path = tr_xstrdup(path);
    return p;
}

static void close_tx(struct tr_sqlite_tx *tx)
{
    sqlite3_close(tx->db);
    free(tx);
}

void tr__sqlite_pool_free(struct tr_sqlite_pool *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->num_idle; i++)
        close_tx(p->idle[i]);
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->lock);
    free(p->path);
    free(p);
}

static sqlite3 *connect_db(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        tr_log_error("runtime store: cannot open '%s': %s", path,
                     db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    /* The file is already in WAL mode (store.h). Runtime rows are committed to the WAL
     * without an fsync each: a process crash keeps them, a power cut may lose the last
     * seconds of issued tokens (their clients then simply ask again). */
    if (sqlite3_exec(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL) !=
        SQLITE_OK) {
        tr_log_error("runtime store: %s", sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

struct tr_store_tx *tr__sqlite_tx_acquire(struct tr_sqlite_pool *p)
{
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (p->path == NULL) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        if (p->num_idle > 0) {
            struct tr_sqlite_tx *tx = p->idle[--p->num_idle];
            pthread_mutex_unlock(&p->lock);
            return &tx->base;
        }
        if (p->num_open < POOL_MAX)
            break;
        pthread_cond_wait(&p->freed, &p->lock);
    }
    p->num_open++;
    pthread_mutex_unlock(&p->lock);
    /* The path never changes while the pool lives: no copy needed to connect unlocked. */
    sqlite3 *db = connect_db(p->path);
    if (db == NULL) {
        pthread_mutex_lock(&p->lock);
        p->num_open--;
        pthread_cond_signal(&p->freed);
        pthread_mutex_unlock(&p->lock);
        return NULL;
    }
    struct tr_sqlite_tx *tx = tr_xcalloc(1, sizeof(*tx));
    tx->base.ops = &tr__store_sqlite_ops;
    tx->db = db;
    tx->pool = p;
    return &tx->base;
}

void tr__sqlite_tx_release(struct tr_store_tx *base)
{
    struct tr_sqlite_tx *tx = TR_CONTAINER_OF(base, struct tr_sqlite_tx, base);
    struct tr_sqlite_pool *p = tx->pool;

    pthread_mutex_lock(&p->lock);
    if (p->num_idle == POOL_MAX) {
        p->num_open--;
        pthread_mutex_unlock(&p->lock);
        close_tx(tx);
        return;
    }
    p->idle[p->num_idle++] = tx;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

/* ---- transactions -------------------------------------------------------------------------- */

static int exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        tr_log_error("oauth2 store: %s: %s", sql, sqlite3_errmsg(db));
        return TR_EDB;
    }
    return 0;
}

int tr__sqlite_tx_begin(struct tr_store_tx *base)
{
    return exec(tr__sqlite_tx_db(base), "BEGIN IMMEDIATE");
}

int tr__sqlite_tx_commit(struct tr_store_tx *base)
{
    int rc = exec(tr__sqlite_tx_db(base), "COMMIT");
    if (rc != 0)
        tr__sqlite_tx_rollback(base);
    return rc;
}

void tr__sqlite_tx_rollback(struct tr_store_tx *base)
{
    sqlite3 *db = tr__sqlite_tx_db(base);
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}
