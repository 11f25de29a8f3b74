/* SPDX-License-Identifier: MIT */
/* The pool of SQLite connections for runtime state (see runtime.h). */
#include "store/runtime.h"

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

static struct {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    char *path;
    sqlite3 *idle[POOL_MAX];
    size_t num_idle, num_open;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .freed = PTHREAD_COND_INITIALIZER};

int tr_runtime_open(const char *path, char *err, size_t err_len)
{
    if (path == NULL || path[0] == '\0' || strcmp(path, ":memory:") == 0) {
        snprintf(err, err_len, "runtime state needs a database file");
        return TR_EINVAL;
    }
    pthread_mutex_lock(&pool.lock);
    free(pool.path);
    pool.path = tr_xstrdup(path);
    pthread_mutex_unlock(&pool.lock);
    return 0;
}

void tr_runtime_close(void)
{
    pthread_mutex_lock(&pool.lock);
    for (size_t i = 0; i < pool.num_idle; i++)
        sqlite3_close(pool.idle[i]);
    pool.num_open -= pool.num_idle;
    pool.num_idle = 0;
    free(pool.path);
    pool.path = NULL;
    pthread_cond_broadcast(&pool.freed); /* waiters see the pool closed */
    pthread_mutex_unlock(&pool.lock);
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

sqlite3 *tr_runtime_acquire(void)
{
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        if (pool.path == NULL) {
            pthread_mutex_unlock(&pool.lock);
            return NULL;
        }
        if (pool.num_idle > 0) {
            sqlite3 *db = pool.idle[--pool.num_idle];
            pthread_mutex_unlock(&pool.lock);
            return db;
        }
        if (pool.num_open < POOL_MAX)
            break;
        pthread_cond_wait(&pool.freed, &pool.lock);
    }
    pool.num_open++;
    char *path = tr_xstrdup(pool.path);
    pthread_mutex_unlock(&pool.lock);
    sqlite3 *db = connect_db(path);
    free(path);
    if (db == NULL) {
        pthread_mutex_lock(&pool.lock);
        pool.num_open--;
        pthread_cond_signal(&pool.freed);
        pthread_mutex_unlock(&pool.lock);
    }
    return db;
}

void tr_runtime_release(sqlite3 *db)
{
    if (db == NULL)
        return;
    pthread_mutex_lock(&pool.lock);
    if (pool.path == NULL || pool.num_idle == POOL_MAX) {
        pool.num_open--;
        pthread_mutex_unlock(&pool.lock);
        sqlite3_close(db);
        return;
    }
    pool.idle[pool.num_idle++] = db;
    pthread_cond_signal(&pool.freed);
    pthread_mutex_unlock(&pool.lock);
}
