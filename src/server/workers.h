/* SPDX-License-Identifier: MIT */
/* Worker threads: each runs its own libuv loop with its own SO_REUSEPORT listening sockets and
 * a struct tr_proxy_worker. The control thread starts, drains and joins them. */
#ifndef TR_SERVER_WORKERS_H
#define TR_SERVER_WORKERS_H

#include <stddef.h>
#include <stdint.h>

struct tr_conf;
struct tr_hashpool;
struct tr_workers;
struct tr_sockets;
struct tr_store;

/* Start one thread per worker socket set of socks (borrowed: each worker takes a duplicate of
 * its listening sockets). Each worker opens a port of hashpool and gives its plugins runtime
 * sessions of store (both borrowed: they must outlive tr_workers_join; NULL for none). Returns
 * NULL with a message in err. */
struct tr_workers *tr_workers_start(const struct tr_conf *conf, const struct tr_sockets *socks,
                                    struct tr_hashpool *hashpool, struct tr_store *store, char *err,
                                    size_t err_len);

/* Ask every worker to stop accepting and finish in-flight requests within drain_ms (then the
 * rest is closed). Returns at once; tr_workers_join waits. */
void tr_workers_stop(struct tr_workers *ws, uint32_t drain_ms);

/* Wait for every worker thread to end and free everything. */
void tr_workers_join(struct tr_workers *ws);

/* Sum of the workers' counters, for GET /status. */
struct tr_workers_totals {
    uint64_t accepted, handled, active, reading, writing, waiting, requests;
};
void tr_workers_totals(struct tr_workers *ws, struct tr_workers_totals *out);

/* Add every worker's metric series to out (when not NULL); the series they refused, the bytes
 * their series take and may reach. */
struct tr_metrics_out;
void tr_workers_metrics(struct tr_workers *ws, struct tr_metrics_out *out, uint64_t *refused,
                        uint64_t *bytes, uint64_t *bound);

#endif
