/* SPDX-License-Identifier: MIT */
/* The proxy as seen from the process wiring (server/): one struct tr_proxy_worker per worker
 * thread, owning that thread's client connections, upstream keep-alive pool, access log and
 * view of the config snapshot. Everything here runs on the worker's own loop. */
#ifndef TR_PROXY_PROXY_H
#define TR_PROXY_PROXY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core/list.h"

struct tr_conf;
struct tr_hashpool;
struct tr_hashpool_port;
struct tr_snapshot;
struct tr_store;
struct tr_logfile;
struct tr_metrics_shard;
struct tr_entity_cache;
struct tr_http_response;

/* Counters for GET /status; written by the owning worker only, read by the control thread. */
struct tr_proxy_counters {
    _Atomic uint64_t accepted;
    _Atomic uint64_t handled;
    _Atomic uint64_t active;
    _Atomic uint64_t reading;
    _Atomic uint64_t writing;
    _Atomic uint64_t waiting;
    _Atomic uint64_t requests;
};

/* The worker's hold on one snapshot: requests count themselves here instead of touching the
 * snapshot's shared atomic counter. */
struct tr_snap_hold {
    struct tr_snapshot *snap; /* one reference owned by the hold */
    unsigned users;           /* requests using it; the hold is freed when 0 and not current */
};

struct tr_proxy_worker {
    int id;
    uv_loop_t *loop;            /* borrowed; the worker thread's loop */
    const struct tr_conf *conf; /* borrowed; lives as long as the process */
    struct tr_snap_hold *hold;  /* current snapshot hold (owned) */
    uint64_t snap_version;
    struct tr_list clients;        /* all client connections */
    struct tr_list idle_upstreams; /* keep-alive pool, most recently used at the tail */
    unsigned num_idle_upstreams;
    struct tr_logfile *access_log; /* owned; NULL when off */
    struct tr_proxy_counters counters;
    struct tr_metrics_shard *metrics;     /* owned; the plugins' series (core/metrics.h) */
    struct tr_entity_cache *entity_cache; /* owned; route and service rows as log text */
    uint64_t rid_seed[2];                 /* request ids: a random key per worker ... */
    uint64_t rid_next;                    /* ... and a counter (tr__ctx_request_id) */
    bool draining;                        /* stop: answer with Connection: close, close idle ones */
    unsigned drain_answered;              /* requests answered since the drain began */
    unsigned drain_cut_requests;          /* in flight when the drain ran out of time */
    unsigned drain_cut_tunnels;           /* WebSocket tunnels ended by the drain's end */
    uv_timer_t tick;                      /* 1 s housekeeping: date, log flush, idle pool sweep */
    char date[40];                        /* cached IMF-fixdate for the Date header */
    char log_time[40];                    /* cached access-log timestamp */
    struct tr_http_response *res_scratch; /* owned: response heads are parsed here, once */
    void *plugin_slots[64];               /* per-plugin worker caches (tr_ctx_worker_slot) */
    void *tls_sessions;                   /* owned; upstream TLS sessions (proxy/tls.c) */
    /* owned; this loop's way into the password-hash pool (NULL without a pool: every
     * submission is refused) */
    struct tr_hashpool_port *hash_port;
    /* borrowed; the node's store, for runtime sessions (tr_ctx_offload_store); NULL: none */
    struct tr_store *store;
};

/* Set up w for loop; opens the access log and a port of hashpool (borrowed: the node's
 * password-hash pool, which must outlive the worker; NULL for none). store (borrowed, may be
 * NULL) gives plugins their runtime sessions; it must outlive the worker too. Returns 0 or a
 * negative TR_E*. */
int tr_proxy_worker_init(struct tr_proxy_worker *w, uv_loop_t *loop, const struct tr_conf *conf,
                         int id, struct tr_hashpool *hashpool, struct tr_store *store);

/* libuv connection callback for a proxy listener whose ->data is the worker; listeners flagged
 * ssl use tr_proxy_on_tls_connection (TLS terminated on the worker loop; needs
 * tr_proxy_tls_init first). */
void tr_proxy_on_connection(uv_stream_t *listener, int status);
void tr_proxy_on_tls_connection(uv_stream_t *listener, int status);
/* Before a draining worker closes listener: take every connection the kernel has already
 * accepted for it (a client may have sent its request on one), to answer it with Connection:
 * close rather than let the socket's close reset it. */
void tr_proxy_accept_pending(uv_stream_t *listener, bool tls);

/* Build the process-wide TLS contexts from conf (once, before the workers start): the server
 * context with the default certificate (ssl_cert / ssl_cert_key, or one generated into
 * <prefix>/ssl), the SNI callback reading the current snapshot, the upstream client context,
 * and trusted_ips. Returns 0, or a TR_E* code (TR_EINVAL for settings or certificates that
 * cannot be used, TR_EIO when the default certificate cannot be written) with a message in
 * err. */
int tr_proxy_tls_init(const struct tr_conf *conf, char *err, size_t err_len);
/* Free them (after the workers have stopped). */
void tr_proxy_tls_fini(void);

/* Begin a graceful stop: idle clients and pooled upstreams are closed, busy ones finish their
 * current request and close. */
void tr_proxy_worker_drain(struct tr_proxy_worker *w);
/* The drain timeout is reached: close every connection now, except WebSocket tunnels, which
 * get a close frame 1001 "going away" and a lingering close (counted in drain_cut_*). */
void tr_proxy_worker_abort(struct tr_proxy_worker *w);
/* Close whatever is still open, lingering tunnels included. */
void tr_proxy_worker_close_all(struct tr_proxy_worker *w);
/* True when no client connection is left. */
bool tr_proxy_worker_is_idle(const struct tr_proxy_worker *w);
/* Close the worker's own handles (timer) and flush the access log; the loop must then run
 * until all handles are closed. */
void tr_proxy_worker_fini(struct tr_proxy_worker *w);

#endif
