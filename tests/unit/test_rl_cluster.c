/* SPDX-License-Identifier: MIT */
/* The rate-limiting cluster backend without its thread: counters wait for their first total,
 * deltas reach the database in one batch, other nodes' counts are read back, refusals and
 * give-backs, expired windows deleted, and exactness across threads while flushes run. */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "core/err.h"
#include "plugins/counters.h"
#include "plugins/rl_cluster.h"
#include "store/sqlite.h"
#include "store/store.h"

#define PID "5f0c2b9e-9d7a-4c57-8d1e-0b1c2d3e4f50"

static char dir[512];
static char db_path[600];

static int64_t wall_now(void)
{
    return (int64_t)time(NULL);
}

static int64_t query_int(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_open(db_path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void exec_sql(const char *sql)
{
    sqlite3 *db = NULL;
    TR_CHECK(sqlite3_open(db_path, &db) == SQLITE_OK);
    TR_CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
}

static void test_not_running(void)
{
    int64_t cnt = 7;
    TR_CHECK_INT(tr_rl_cluster_take(1ull << 40, PID, TR_COUNTERS_MINUTE, 100, 160, 5, &cnt),
                 TR_EDB);
    TR_CHECK_INT(cnt, 0);
}

static void test_batch(void)
{
    int64_t now = wall_now(), cnt, start, end;
    uint64_t key = 0x1234500000ull;
    tr_counters_window(TR_COUNTERS_MINUTE, now, &start, &end);

    /* a new counter waits for its total */
    TR_CHECK_INT(tr_rl_cluster_take(key, PID, TR_COUNTERS_MINUTE, now, end, 5, &cnt), TR_EAGAIN);
    TR_CHECK_INT(tr_rl_cluster_peek(key, now), 0);
    TR_CHECK_INT(tr__rl_cluster_flush_now(), 0);
    for (int i = 1; i <= 5; i++) {
        TR_CHECK_INT(tr_rl_cluster_take(key, PID, TR_COUNTERS_MINUTE, now, end, 5, &cnt), 1);
        TR_CHECK_INT(cnt, i);
    }
    TR_CHECK_INT(tr_rl_cluster_take(key, PID, TR_COUNTERS_MINUTE, now, end, 5, &cnt), 0);
    TR_CHECK_INT(cnt, 5);
    /* nothing written before the flush */
    TR_CHECK_INT(query_int("SELECT count(*) FROM ratelimiting_counters"), 0);
    TR_CHECK_INT(tr__rl_cluster_flush_now(), 0);
    TR_CHECK_INT(query_int("SELECT count FROM ratelimiting_counters"), 5);
    TR_CHECK_INT(query_int("SELECT count(*) FROM ratelimiting_counters WHERE plugin_id = '" PID
                           "' AND period = 'minute'"),
                 1);

    /* give back: the next flush writes -1 */
    tr_rl_cluster_give_back(key, end);
    TR_CHECK_INT(tr_rl_cluster_peek(key, now), 4);
    TR_CHECK_INT(tr__rl_cluster_flush_now(), 0);
    TR_CHECK_INT(query_int("SELECT count FROM ratelimiting_counters"), 4);

    /* another node counted 10 meanwhile: read back at the next flush */
    exec_sql("UPDATE ratelimiting_counters SET count = count + 10");
    TR_CHECK_INT(tr_rl_cluster_take(key, PID, TR_COUNTERS_MINUTE, now, end, 100, &cnt), 1);
    TR_CHECK_INT(cnt, 5);
    TR_CHECK_INT(tr__rl_cluster_flush_now(), 0);
    TR_CHECK_INT(tr_rl_cluster_peek(key, now), 15);
    TR_CHECK_INT(query_int("SELECT count FROM ratelimiting_counters"), 15);

    /* a counter unused for a while is read again before it decides */
    int64_t later = now + TR_RL_CLUSTER_IDLE_S + 1;
    if (later < end) {
        TR_CHECK_INT(tr_rl_cluster_take(key, PID, TR_COUNTERS_MINUTE, later, end, 100, &cnt),
                     TR_EAGAIN);
        TR_CHECK_INT(tr__rl_cluster_flush_now(), 0);
        TR_CHECK_INT(tr_rl_cluster_take(key, PID, TR_COUNTERS_MINUTE, later, end, 100, &cnt), 1);
        TR_CHECK_INT(cnt, 16);
    }
}

static void test_expired_rows_deleted(void)
{
    exec_sql("INSERT INTO ratelimiting_counters (key, plugin_id, period, window_end, count)"
             " VALUES (42, 'x', 'second', 1000, 3)");
    int64_t now = wall_now(), cnt, start, end;
    tr_counters_window(TR_COUNTERS_HOUR, now, &start, &end);
    /* expiry runs with a flush that has counters live */
    TR_CHECK_INT(tr_rl_cluster_take(0x77700000ull, PID, TR_COUNTERS_HOUR, now, end, 5, &cnt),
                 TR_EAGAIN);
    TR_CHECK_INT(tr__rl_cluster_flush_now(), 0);
    TR_CHECK_INT(query_int("SELECT count(*) FROM ratelimiting_counters WHERE key = 42"), 0);
}

/* ---- threads ------------------------------------------------------------------------------ */

#define THREADS 6
#define PER_THREAD 20000
#define LIMIT 9000

static atomic_int granted, over, flush_failed;
static atomic_bool done;
static int64_t t_now, t_end;

static void *hammer(void *arg)
{
    int64_t cnt;
    for (int i = 0; i < PER_THREAD; i++) {
        int rc =
            tr_rl_cluster_take(0xabc00000ull, PID, TR_COUNTERS_HOUR, t_now, t_end, LIMIT, &cnt);
        if (rc == 1) {
            if (cnt > LIMIT)
                atomic_fetch_add(&over, 1);
            atomic_fetch_add(&granted, 1);
        } else if (rc == TR_EAGAIN) {
            i--; /* as a parked request: try again after a flush */
        }
    }
    return arg;
}

static void *flusher(void *arg)
{
    while (!atomic_load(&done)) {
        if (tr__rl_cluster_flush_now() != 0)
            atomic_fetch_add(&flush_failed, 1);
        usleep(200);
    }
    return arg;
}

static void test_threads(void)
{
    int64_t start;
    t_now = wall_now();
    tr_counters_window(TR_COUNTERS_HOUR, t_now, &start, &t_end);
    pthread_t f, th[THREADS];
    pthread_create(&f, NULL, flusher, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, hammer, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&done, true);
    pthread_join(f, NULL);
    TR_CHECK_INT(tr__rl_cluster_flush_now(), 0);
    /* exactly the limit, and the database holds exactly what was let through */
    TR_CHECK_INT(atomic_load(&granted), LIMIT);
    TR_CHECK_INT(atomic_load(&over), 0);
    TR_CHECK_INT(atomic_load(&flush_failed), 0);
    TR_CHECK_INT(tr_rl_cluster_peek(0xabc00000ull, t_now), LIMIT);
    TR_CHECK_INT(query_int("SELECT count FROM ratelimiting_counters WHERE plugin_id = '" PID
                           "' AND period = 'hour'"),
                 LIMIT);
}

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1200];
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    struct tr_store *s = NULL;
    char err[256];

    snprintf(dir, sizeof(dir), "%s/torii-rlc-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(db_path, sizeof(db_path), "%s/torii.db", dir);
    /* the entity store creates the file, WAL mode and the table; the counters take a session
     * of their own on it (the rows are checked with SQLite directly) */
    TR_CHECK_INT(tr_store_open_sqlite(db_path, &s, err, sizeof(err)), 0);

    test_not_running();
    TR_CHECK_INT(tr__rl_cluster_manual(s), 0);
    test_batch();
    tr__rl_cluster_reset();
    exec_sql("DELETE FROM ratelimiting_counters");
    TR_CHECK_INT(tr__rl_cluster_manual(s), 0);
    test_expired_rows_deleted();
    tr__rl_cluster_reset();
    exec_sql("DELETE FROM ratelimiting_counters");
    TR_CHECK_INT(tr__rl_cluster_manual(s), 0);
    test_threads();
    tr__rl_cluster_reset();
    tr_store_close(s);
    remove_dir();
    return TR_CHECK_DONE();
}
