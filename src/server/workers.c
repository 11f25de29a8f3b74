/* SPDX-License-Identifier: MIT */
/* Worker threads and their loops. */
#include "server/workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <uv.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "proxy/proxy.h"
#include "server/listen.h"

/* Distinct label sets a worker counts (Kong's prometheus_metrics dictionary is 5 MB: about as
 * many); past it new ones are refused and counted in kong_nginx_metric_errors_total. */
#define WORKER_MAX_SERIES 16384

struct worker {
    int id;
    pthread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t drain_timer;
    struct tr_proxy_worker proxy;
    const struct tr_conf *conf;
    int *fds; /* listening sockets of this worker (owned until handed to libuv) */
    bool *fd_ssl;
    size_t num_fds;
    uv_tcp_t *listeners; /* owned array */
    _Atomic int stop;    /* set by the control thread */
    uint32_t drain_ms;
    uint64_t drain_start, drain_deadline;
    bool stopping;
    bool cut; /* the drain ran out of time: what was in flight was cut */
};

struct tr_workers {
    struct worker *items;
    size_t cnt;
};

static void close_listeners(struct worker *wk)
{
    for (size_t i = 0; i < wk->num_fds; i++) {
        if (!uv_is_closing((uv_handle_t *)&wk->listeners[i])) {
            tr_proxy_accept_pending((uv_stream_t *)&wk->listeners[i], wk->fd_ssl[i]);
            uv_close((uv_handle_t *)&wk->listeners[i], NULL);
        }
    }
}

/* After the drain's end, how long tunnels ended with a close frame may linger (the client's
 * own close frame, then EOF) before the worker stops waiting for them. */
#define GOING_AWAY_WAIT_MS 3000

static void drain_done(struct worker *wk)
{
    uv_timer_stop(&wk->drain_timer);
    uv_close((uv_handle_t *)&wk->drain_timer, NULL);
    uv_close((uv_handle_t *)&wk->wake, NULL);
    tr_proxy_worker_fini(&wk->proxy);
}

static void on_drain_check(uv_timer_t *t)
{
    struct worker *wk = t->data;
    struct tr_proxy_worker *p = &wk->proxy;
    uint64_t now = uv_now(&wk->loop);
    if (tr_proxy_worker_is_idle(p)) {
        if (!wk->cut)
            tr_log_notice("worker %d: drained in %llu ms, %u requests answered meanwhile", wk->id,
                          (unsigned long long)(now - wk->drain_start), p->drain_answered);
        drain_done(wk);
        return;
    }
    if (!wk->cut && now >= wk->drain_deadline) {
        /* Past drain_timeout: what is still in flight is cut, and the log says how much. */
        wk->cut = true;
        tr_proxy_worker_abort(p);
        tr_log_warn("worker %d: drain timeout (%u ms): %u requests answered meanwhile, %u cut "
                    "in flight, %u WebSocket tunnels ended with 1001 going away",
                    wk->id, wk->drain_ms, p->drain_answered, p->drain_cut_requests,
                    p->drain_cut_tunnels);
        return;
    }
    if (wk->cut && now >= wk->drain_deadline + GOING_AWAY_WAIT_MS) {
        tr_proxy_worker_close_all(p);
        drain_done(wk);
    }
}

static void on_wake(uv_async_t *a)
{
    struct worker *wk = a->data;
    if (!atomic_load(&wk->stop) || wk->stopping)
        return;
    wk->stopping = true;
    /* Draining first: the connections the listeners still hold are then taken in as draining
     * ones (answered with Connection: close). */
    tr_proxy_worker_drain(&wk->proxy);
    close_listeners(wk);
    wk->drain_start = uv_now(&wk->loop);
    wk->drain_deadline = wk->drain_start + wk->drain_ms;
    uv_timer_init(&wk->loop, &wk->drain_timer);
    wk->drain_timer.data = wk;
    uv_timer_start(&wk->drain_timer, on_drain_check, 0, 50);
}

static void *worker_main(void *arg)
{
    struct worker *wk = arg;
    uv_run(&wk->loop, UV_RUN_DEFAULT);
    /* Closing callbacks may be pending after a stop: run them, then the loop is empty. */
    uv_run(&wk->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&wk->loop) != 0)
        tr_log_warn("worker %d: loop closed with handles still open", wk->id);
    return NULL;
}

static int worker_setup(struct worker *wk, struct tr_hashpool *hashpool, struct tr_store *store,
                        char *err, size_t err_len)
{
    uv_loop_init(&wk->loop);
    wk->loop.data = wk;
    uv_async_init(&wk->loop, &wk->wake, on_wake);
    wk->wake.data = wk;
    if (tr_proxy_worker_init(&wk->proxy, &wk->loop, wk->conf, wk->id, hashpool, store) != 0) {
        snprintf(err, err_len, "cannot open proxy_access_log '%s'", wk->conf->proxy_access_log);
        return TR_EIO;
    }
    /* Freed by tr_workers_join, after the thread: a scrape may read it until then. */
    wk->proxy.metrics = tr_metrics_shard_new(WORKER_MAX_SERIES);
    wk->listeners = tr_xcalloc(wk->num_fds, sizeof(*wk->listeners));
    for (size_t i = 0; i < wk->num_fds; i++) {
        uv_tcp_t *l = &wk->listeners[i];
        uv_tcp_init(&wk->loop, l);
        l->data = &wk->proxy;
        int rc = uv_tcp_open(l, wk->fds[i]);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)l, 511,
                           wk->fd_ssl[i] ? tr_proxy_on_tls_connection : tr_proxy_on_connection);
        if (rc != 0) {
            snprintf(err, err_len, "cannot accept on a proxy listener: %s", uv_strerror(rc));
            return TR_EIO;
        }
    }
    return 0;
}

struct tr_workers *tr_workers_start(const struct tr_conf *conf, const struct tr_sockets *socks,
                                    struct tr_hashpool *hashpool, struct tr_store *store, char *err,
                                    size_t err_len)
{
    struct tr_workers *ws = tr_xcalloc(1, sizeof(*ws));
    ws->cnt = socks->num_workers;
    ws->items = tr_xcalloc(ws->cnt ? ws->cnt : 1, sizeof(*ws->items));
    size_t nl = socks->num_proxy;
    for (size_t i = 0; i < ws->cnt; i++) {
        struct worker *wk = &ws->items[i];
        wk->id = (int)i;
        wk->conf = conf;
        wk->num_fds = nl;
        wk->fds = tr_xcalloc(nl ? nl : 1, sizeof(int));
        wk->fd_ssl = tr_xcalloc(nl ? nl : 1, sizeof(bool));
        for (size_t j = 0; j < nl; j++) {
            /* A duplicate: libuv owns (and closes) it; the node keeps its own copy. */
            wk->fds[j] = fcntl(socks->proxy[i * nl + j], F_DUPFD_CLOEXEC, 3);
            wk->fd_ssl[j] = socks->proxy_ssl[j];
            if (wk->fds[j] < 0) {
                snprintf(err, err_len, "proxy_listen: cannot use a listening socket");
                return NULL;
            }
        }
    }
    for (size_t i = 0; i < ws->cnt; i++) {
        struct worker *wk = &ws->items[i];
        if (worker_setup(wk, hashpool, store, err, err_len) != 0) {
            /* Start-up failure: nothing is running yet; exit is the caller's answer. */
            return NULL;
        }
    }
    for (size_t i = 0; i < ws->cnt; i++)
        pthread_create(&ws->items[i].thread, NULL, worker_main, &ws->items[i]);
    return ws;
}

void tr_workers_stop(struct tr_workers *ws, uint32_t drain_ms)
{
    for (size_t i = 0; i < ws->cnt; i++) {
        ws->items[i].drain_ms = drain_ms;
        atomic_store(&ws->items[i].stop, 1);
        uv_async_send(&ws->items[i].wake);
    }
}

void tr_workers_join(struct tr_workers *ws)
{
    if (ws == NULL)
        return;
    for (size_t i = 0; i < ws->cnt; i++) {
        struct worker *wk = &ws->items[i];
        if (wk->thread)
            pthread_join(wk->thread, NULL);
        tr_metrics_shard_free(wk->proxy.metrics);
        free(wk->listeners);
        free(wk->fds);
        free(wk->fd_ssl);
    }
    free(ws->items);
    free(ws);
}

void tr_workers_metrics(struct tr_workers *ws, struct tr_metrics_out *out, uint64_t *refused,
                        uint64_t *bytes, uint64_t *bound)
{
    *refused = *bytes = *bound = 0;
    for (size_t i = 0; ws != NULL && i < ws->cnt; i++) {
        const struct tr_metrics_shard *s = ws->items[i].proxy.metrics;
        if (s == NULL)
            continue;
        if (out != NULL)
            tr_metrics_out_merge(out, s);
        *refused += tr_metrics_shard_refused(s);
        *bytes += tr_metrics_shard_bytes(s);
        *bound += tr_metrics_shard_bound_bytes(s);
    }
}

void tr_workers_totals(struct tr_workers *ws, struct tr_workers_totals *out)
{
    memset(out, 0, sizeof(*out));
    if (ws == NULL)
        return;
    for (size_t i = 0; i < ws->cnt; i++) {
        struct tr_proxy_counters *k = &ws->items[i].proxy.counters;
        out->accepted += atomic_load_explicit(&k->accepted, memory_order_relaxed);
        out->handled += atomic_load_explicit(&k->handled, memory_order_relaxed);
        out->active += atomic_load_explicit(&k->active, memory_order_relaxed);
        out->reading += atomic_load_explicit(&k->reading, memory_order_relaxed);
        out->writing += atomic_load_explicit(&k->writing, memory_order_relaxed);
        out->waiting += atomic_load_explicit(&k->waiting, memory_order_relaxed);
        out->requests += atomic_load_explicit(&k->requests, memory_order_relaxed);
    }
}
