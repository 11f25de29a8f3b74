/* SPDX-License-Identifier: MIT */
/* Keeping and serving the local copy of the configuration (config_copy.h). */
#include "server/config_copy.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/copy.h"
#include "store/store.h"

#define MIN_GAP_MS 1000u   /* between two copies */
#define RETRY_MS 5000u     /* after a failed one */
#define DURATION_SHARE 10u /* a copy waits at least this many times the last one's duration */

struct tr_config_copy {
    const struct tr_conf *conf;
    char path[4096];
    struct tr_store *store; /* the thread's own connection, opened when first needed */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool dirty, stop;
    bool failing;     /* the last attempt failed (logged once until one works again) */
    uint64_t next_ms; /* monotonic: no copy before this */
};

bool tr_config_copy_wanted(const struct tr_conf *conf)
{
    return conf->database != NULL && strcmp(conf->database, "postgres") == 0;
}

static void copy_path(const struct tr_conf *conf, char *buf, size_t len)
{
    snprintf(buf, len, "%s/config.copy", conf->prefix);
}

static void db_path(const struct tr_conf *conf, long pid, char *buf, size_t len)
{
    snprintf(buf, len, "%s/config.copy.%ld.db", conf->prefix, pid);
}

/* One copy, on the thread. Returns true when it was written. */
static bool write_copy(struct tr_config_copy *cc)
{
    char err[512];
    uint64_t t0 = tr_clock_mono_ms();
    if (cc->store == NULL && tr_store_open(cc->conf, &cc->store, err, sizeof(err)) != 0) {
        cc->store = NULL;
    } else {
        struct tr_store_copy_info info;
        if (tr_store_copy_save(cc->store, cc->path, &info, err, sizeof(err)) == 0) {
            uint64_t took = tr_clock_mono_ms() - t0;
            if (cc->failing)
                tr_log_notice("config copy: written again (%s)", cc->path);
            tr_log_debug("config copy: %zu rows written to %s in %" PRIu64 " ms", info.rows,
                         cc->path, took);
            cc->failing = false;
            uint64_t gap = took * DURATION_SHARE > MIN_GAP_MS ? took * DURATION_SHARE : MIN_GAP_MS;
            cc->next_ms = t0 + gap;
            return true;
        }
    }
    if (!cc->failing)
        tr_log_warn("config copy: cannot write %s: %s (the previous copy stays; retrying)",
                    cc->path, err);
    cc->failing = true;
    cc->next_ms = tr_clock_mono_ms() + RETRY_MS;
    return false;
}

static void wait_until(struct tr_config_copy *cc, uint64_t at)
{
    struct timespec ts = {.tv_sec = (time_t)(at / 1000), .tv_nsec = (long)(at % 1000) * 1000000L};
    pthread_cond_timedwait(&cc->cond, &cc->mu, &ts);
}

static void *copy_main(void *arg)
{
    struct tr_config_copy *cc = arg;
    pthread_mutex_lock(&cc->mu);
    while (!cc->stop) {
        if (!cc->dirty) {
            pthread_cond_wait(&cc->cond, &cc->mu);
            continue;
        }
        if (tr_clock_mono_ms() < cc->next_ms) {
            wait_until(cc, cc->next_ms);
            continue;
        }
        cc->dirty = false;
        pthread_mutex_unlock(&cc->mu);
        bool ok = write_copy(cc);
        pthread_mutex_lock(&cc->mu);
        if (!ok)
            cc->dirty = true;
    }
    bool last = cc->dirty && !cc->failing;
    pthread_mutex_unlock(&cc->mu);
    if (last)
        write_copy(cc); /* what changed in the last second before the stop */
    return NULL;
}

struct tr_config_copy *tr_config_copy_start(const struct tr_conf *conf)
{
    if (!tr_config_copy_wanted(conf))
        return NULL;
    struct tr_config_copy *cc = tr_xcalloc(1, sizeof(*cc));
    cc->conf = conf;
    copy_path(conf, cc->path, sizeof(cc->path));
    cc->dirty = true;
    pthread_mutex_init(&cc->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cc->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&cc->thread, NULL, copy_main, cc) != 0) {
        tr_log_error("config copy: cannot start its thread; no local copy is kept");
        pthread_cond_destroy(&cc->cond);
        pthread_mutex_destroy(&cc->mu);
        free(cc);
        return NULL;
    }
    return cc;
}

void tr_config_copy_changed(struct tr_config_copy *cc)
{
    if (cc == NULL)
        return;
    pthread_mutex_lock(&cc->mu);
    cc->dirty = true;
    pthread_cond_signal(&cc->cond);
    pthread_mutex_unlock(&cc->mu);
}

void tr_config_copy_stop(struct tr_config_copy *cc)
{
    if (cc == NULL)
        return;
    pthread_mutex_lock(&cc->mu);
    cc->stop = true;
    pthread_cond_signal(&cc->cond);
    pthread_mutex_unlock(&cc->mu);
    pthread_join(cc->thread, NULL);
    pthread_cond_destroy(&cc->cond);
    pthread_mutex_destroy(&cc->mu);
    tr_store_close(cc->store);
    free(cc);
}

/* config.copy.<pid>.db files of processes that are gone (a worker killed while serving a copy). */
static void remove_stale(const struct tr_conf *conf)
{
    DIR *d = opendir(conf->prefix);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        static const char head[] = "config.copy.";
        if (strncmp(e->d_name, head, sizeof(head) - 1) != 0)
            continue;
        char *end;
        long pid = strtol(e->d_name + sizeof(head) - 1, &end, 10);
        if (pid <= 0 || strcmp(end, ".db") != 0 || pid == (long)getpid() ||
            kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char p[4096];
        db_path(conf, pid, p, sizeof(p));
        tr_store_copy_remove_db(p);
    }
    closedir(d);
}

int tr_config_copy_serve(const struct tr_conf *conf, struct tr_store **out)
{
    char path[4096], db[4096], err[768];
    copy_path(conf, path, sizeof(path));
    db_path(conf, (long)getpid(), db, sizeof(db));
    remove_stale(conf);
    struct tr_store_copy_info info;
    int rc = tr_store_copy_open(path, db, out, &info, err, sizeof(err));
    if (rc != 0) {
        if (rc == TR_ENOTFOUND)
            tr_log_warn("config copy: none in %s yet: this node waits for its database", path);
        else
            tr_log_error("config copy: not served: %s", err);
        return rc;
    }
    time_t at = (time_t)(info.written_ms / 1000);
    struct tm tm;
    char when[40];
    gmtime_r(&at, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    tr_log_warn("config copy: serving the configuration of %s (%zu rows, written %s) until the "
                "database can be opened; the Admin API refuses writes meanwhile",
                path, info.rows, when);
    return 0;
}

void tr_config_copy_close(const struct tr_conf *conf, struct tr_store *s)
{
    char db[4096];
    tr_store_close(s);
    db_path(conf, (long)getpid(), db, sizeof(db));
    tr_store_copy_remove_db(db);
}
