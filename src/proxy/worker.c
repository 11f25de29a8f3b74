/* SPDX-License-Identifier: MIT */
/* Per-worker proxy state: set-up, the 1 s housekeeping tick (cached dates, access log flush),
 * graceful drain and tear-down. */
#include "proxy/proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/logfile.h"
#include <sys/random.h>

#include "core/clock.h"
#include "core/mem.h"
#include "http/parser.h"
#include "proxy/hashpool.h"
#include "proxy/internal.h"
#include "snapshot/snapshot.h"

static void update_dates(struct tr_proxy_worker *w)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(w->date, sizeof(w->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    strftime(w->log_time, sizeof(w->log_time), "%d/%b/%Y:%H:%M:%S +0000", &tm);
}

static void on_tick(uv_timer_t *t)
{
    struct tr_proxy_worker *w = t->data;
    update_dates(w);
    if (w->access_log)
        tr_logfile_flush(w->access_log);
}

int tr_proxy_worker_init(struct tr_proxy_worker *w, uv_loop_t *loop, const struct tr_conf *conf,
                         int id, struct tr_hashpool *hashpool, struct tr_store *store)
{
    memset(w, 0, sizeof(*w));
    w->id = id;
    w->loop = loop;
    w->conf = conf;
    tr_list_init(&w->clients);
    tr_list_init(&w->idle_upstreams);
    update_dates(w);
    w->res_scratch = tr_xmalloc(sizeof(*w->res_scratch));
    if (conf->proxy_access_log && strcmp(conf->proxy_access_log, "off") != 0 &&
        conf->proxy_access_log[0] != '\0') {
        w->access_log = tr_logfile_open(conf->proxy_access_log);
        if (w->access_log == NULL)
            return TR_EIO;
    }
    uv_timer_init(loop, &w->tick);
    w->tick.data = w;
    uv_timer_start(&w->tick, on_tick, 1000, 1000);
    uv_unref((uv_handle_t *)&w->tick);
    w->hash_port = tr_hashpool_port_open(hashpool, loop);
    if (getrandom(w->rid_seed, sizeof(w->rid_seed), 0) != (ssize_t)sizeof(w->rid_seed))
        w->rid_seed[0] = (uint64_t)(uintptr_t)w ^ tr_clock_mono_us(); /* never expected */
    w->store = store;
    return 0;
}

void tr_proxy_worker_drain(struct tr_proxy_worker *w)
{
    w->draining = true;
    tr__proxy_clients_drain(w, false);
    tr__upstream_close_idle(w, true);
}

void tr_proxy_worker_abort(struct tr_proxy_worker *w)
{
    w->draining = true;
    tr__proxy_clients_drain(w, true);
    tr__upstream_close_idle(w, true);
}

void tr_proxy_worker_close_all(struct tr_proxy_worker *w)
{
    tr__proxy_clients_close_all(w);
}

bool tr_proxy_worker_is_idle(const struct tr_proxy_worker *w)
{
    return tr_list_empty(&w->clients);
}

void tr_proxy_worker_fini(struct tr_proxy_worker *w)
{
    /* Jobs of requests whose clients are gone come back cancelled (or done) on the next loop
     * turns and free those requests; the loop runs until the port is closed. */
    tr_hashpool_port_close(w->hash_port);
    w->hash_port = NULL;
    tr__upstream_close_idle(w, true);
    uv_timer_stop(&w->tick);
    uv_close((uv_handle_t *)&w->tick, NULL);
    tr_logfile_close(w->access_log);
    w->access_log = NULL;
    free(w->res_scratch);
    w->res_scratch = NULL;
    tr__serialize_cache_free(w->entity_cache);
    w->entity_cache = NULL;
    tr__tls_sessions_free(w);
    for (size_t i = 0; i < tr_plugin_count() && i < TR_PLUGIN_MAX; i++) {
        const struct tr_plugin *p = tr_plugin_at(i);
        if (w->plugin_slots[i] != NULL && p->worker_free != NULL)
            p->worker_free(w->plugin_slots[i]);
        w->plugin_slots[i] = NULL;
    }
    if (w->hold) {
        /* Clients are gone by now, but a request whose client left while its plugin's work
         * was out (a hash, a token lookup) still uses the hold until that work comes back on
         * a later loop turn; the last such request frees it (tr__worker_release_hold). */
        struct tr_snap_hold *h = w->hold;
        w->hold = NULL;
        if (h->users == 0) {
            tr_snapshot_unref(h->snap);
            free(h);
        }
    }
}

/* ---- snapshot hold ------------------------------------------------------------------------ */

struct tr_snap_hold *tr__worker_hold(struct tr_proxy_worker *w)
{
    uint64_t v = tr_snapshot_current_version();
    if (w->hold == NULL || v != w->snap_version) {
        struct tr_snapshot *snap = tr_snapshot_acquire();
        if (snap != NULL) {
            struct tr_snap_hold *old = w->hold;
            w->hold = tr_xcalloc(1, sizeof(*w->hold));
            w->hold->snap = snap;
            w->snap_version = snap->version;
            if (old && old->users == 0) {
                tr_snapshot_unref(old->snap);
                free(old);
            }
            /* else the last exchange using old frees it (tr__worker_release_hold) */
        }
    }
    if (w->hold)
        w->hold->users++;
    return w->hold;
}

void tr__worker_release_hold(struct tr_proxy_worker *w, struct tr_snap_hold *h)
{
    if (h == NULL)
        return;
    if (--h->users == 0 && h != w->hold) {
        tr_snapshot_unref(h->snap);
        free(h);
    }
}
