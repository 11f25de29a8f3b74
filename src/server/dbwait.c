/* SPDX-License-Identifier: MIT */
/* Waiting for the database at start (see dbwait.h). The wait runs its own short-lived loop:
 * a retry timer, and an Admin API server with no store, which answers 503 to everything. */
#include "server/dbwait.h"

#include <stdint.h>
#include <string.h>

#include <uv.h>

#include "admin/admin.h"
#include "admin/server.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "server/config_copy.h"
#include "server/listen.h"
#include "store/store.h"

#define RETRY_FIRST_MS 100u
#define RETRY_MAX_MS 2000u

struct wait {
    const struct tr_conf *conf;
    const char *path;       /* where the store is, for messages */
    struct tr_store *store; /* set once open */
    uint64_t deadline;      /* uv_now() + database_wait */
    uint32_t delay_ms;      /* next retry delay */
    unsigned attempt;
    uv_timer_t timer;
    struct tr_admin_server *admin;
    char err[512];
};

/* One attempt; logs a failure. Returns 0 when the wait is over (open, or out of time), else
 * the delay before the next attempt. */
static uint32_t attempt(struct wait *w, uint64_t now)
{
    w->attempt++;
    if (tr_store_open(w->conf, &w->store, w->err, sizeof(w->err)) == 0) {
        tr_log_notice("database '%s' opened (attempt %u)", w->path, w->attempt);
        return 0;
    }
    w->store = NULL;
    if (now >= w->deadline) {
        tr_log_error("cannot open the database '%s': %s (attempt %u, gave up after "
                     "database_wait = %u ms)",
                     w->path, w->err, w->attempt, w->conf->database_wait_ms);
        return 0;
    }
    uint64_t left = w->deadline - now;
    uint32_t delay = w->delay_ms < left ? w->delay_ms : (uint32_t)left;
    tr_log_warn("cannot open the database '%s': %s (attempt %u, retrying in %u ms)", w->path,
                w->err, w->attempt, delay);
    w->delay_ms = w->delay_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : w->delay_ms * 2;
    return delay > 0 ? delay : 1;
}

static void on_retry(uv_timer_t *t)
{
    struct wait *w = t->data;
    uv_update_time(t->loop);
    uint32_t delay = attempt(w, uv_now(t->loop));
    if (delay > 0) {
        uv_timer_start(t, on_retry, delay, 0);
        return;
    }
    uv_close((uv_handle_t *)&w->timer, NULL);
    if (w->admin != NULL)
        tr_admin_server_stop(w->admin, 0);
}

int tr_server_open_store(const struct tr_conf *conf, const struct tr_sockets *socks,
                         struct tr_store **store, bool *from_copy)
{
    char err[512], path[4096];
    *store = NULL;
    *from_copy = false;
    if (tr_store_open(conf, store, err, sizeof(err)) == 0)
        return 0;
    tr_store_location(conf, path, sizeof(path));
    if (tr_config_copy_wanted(conf)) {
        tr_log_warn("cannot open the database '%s': %s", path, err);
        if (tr_config_copy_serve(conf, store) == 0) {
            *from_copy = true;
            return 0;
        }
    }
    if (conf->database_wait_ms == 0) {
        tr_log_error("cannot open the database '%s': %s", path, err);
        return TR_EDBUNAVAIL;
    }

    struct wait w;
    memset(&w, 0, sizeof(w));
    w.conf = conf;
    w.path = path;
    w.attempt = 1;
    w.delay_ms = RETRY_FIRST_MS;
    uv_loop_t loop;
    uv_loop_init(&loop);
    w.deadline = uv_now(&loop) + conf->database_wait_ms;
    tr_log_warn("cannot open the database '%s': %s (attempt 1, retrying in %u ms for up to "
                "database_wait = %u ms)",
                path, err, RETRY_FIRST_MS, conf->database_wait_ms);
    w.delay_ms = RETRY_FIRST_MS * 2;

    struct tr_admin_env env = {.store = NULL, .conf = conf};
    if (socks != NULL && socks->num_admin > 0) {
        w.admin = tr_admin_server_start(&loop, conf, &env, socks->admin, socks->admin_loopback,
                                        socks->num_admin, err, sizeof(err));
        if (w.admin == NULL)
            tr_log_warn("admin_listen: %s (not answering while waiting)", err);
    }
    uv_timer_init(&loop, &w.timer);
    w.timer.data = &w;
    uv_timer_start(&w.timer, on_retry, RETRY_FIRST_MS, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    *store = w.store;
    return w.store != NULL ? 0 : TR_EDBUNAVAIL;
}
