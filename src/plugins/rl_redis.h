/* SPDX-License-Identifier: MIT */
/* The Redis counter backend of rate-limiting: one hiredis async connection per worker and
 * (address, port, database, password), driven by the worker's libuv loop; pipelined
 * INCRBY + EXPIRE per counter, each call bounded by a timer. Nothing here blocks. */
#ifndef TR_PLUGINS_RL_REDIS_H
#define TR_PLUGINS_RL_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/* Where the counters live. Strings are borrowed for the duration of the call only. */
struct tr_rl_redis_target {
    const char *addr; /* numeric IPv4 or IPv6 address (names are resolved beforehand) */
    int port;
    int db;
    const char *password; /* NULL or "": no AUTH */
    unsigned timeout_ms;  /* bound of each call, connection included */
};

/* One counter: bumped by one, expiring expire_s seconds from now. */
struct tr_rl_redis_op {
    const char *key;
    int64_t expire_s;
};

#define TR_RL_REDIS_MAX_OPS 6

/* Completion: rc is 0 with counts[i] the value of op i after the increment, or a negative
 * TR_E* (connection refused or lost, timeout, Redis error). Always called from the loop, never
 * from inside tr_rl_redis_incr. */
typedef void (*tr_rl_redis_done_fn)(void *ud, int rc, const int64_t *counts);

/* Bump n (1..TR_RL_REDIS_MAX_OPS) counters on target through the connection pool kept in
 * *slot (a worker slot: created on first use, freed with tr_rl_redis_pool_free). loop is the
 * worker's loop. Returns 0 when started (done is called exactly once later), or a negative
 * TR_E* when the call could not start (done is never called): Redis recently unreachable
 * (connections are retried at most every 500 ms), or the command could not be queued. */
int tr_rl_redis_incr(void **slot, uv_loop_t *loop, const struct tr_rl_redis_target *target,
                     const struct tr_rl_redis_op *ops, size_t n, tr_rl_redis_done_fn done,
                     void *ud);

/* Take back one unit of each key (fire and forget: errors are ignored). Used when a request
 * counted in some windows is refused by another. */
void tr_rl_redis_decr(void **slot, uv_loop_t *loop, const struct tr_rl_redis_target *target,
                      const char *const *keys, size_t n);

/* Free a pool kept in a worker slot (the plugin's worker_free): closes every connection; calls
 * still running complete with an error. The loop must run afterwards so handles close. */
void tr_rl_redis_pool_free(void *slot);

#endif
