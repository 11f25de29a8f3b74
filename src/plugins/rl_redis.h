/* SPDX-License-Identifier: MIT */
/* The Redis counter backend of rate-limiting: one hiredis async connection per worker and
 * (address, port, database, password), driven by the worker's libuv loop; pipelined
 * INCRBY + EXPIRE per counter, each call bounded by a timer. Nothing here blocks. */
#ifndef TR_PLUGINS_RL_REDIS_H
#define TR_PLUGINS_RL_REDIS_H

#include <stdbool.h>
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

/* Completion: rc is 0 with counts[i] the value of op i after the increment (1 to
 * TR_RL_REDIS_MAX_COUNT), or a negative TR_E* (connection refused or lost, timeout, Redis
 * error, a reply tr_rl_redis_reply_ok refuses). Always called from the loop, never from inside
 * tr_rl_redis_incr. */
typedef void (*tr_rl_redis_done_fn)(void *ud, int rc, const int64_t *counts);

struct redisReply;

/* The largest count a reply may carry: no window sees 2^53 requests, and below it the count is
 * exact everywhere it goes (headers, logs, JSON). */
#define TR_RL_REDIS_MAX_COUNT ((INT64_C(1) << 53) - 1)

/* What a reply answers. */
enum tr_rl_redis_cmd {
    TR_RL_REDIS_INCRBY, /* the count after this request: an integer, 1..TR_RL_REDIS_MAX_COUNT */
    TR_RL_REDIS_EXPIRE, /* the integer 1 (timeout set) or 0 (the key went meanwhile) */
    TR_RL_REDIS_SETUP,  /* AUTH or SELECT: the status OK */
};

/* Is reply (hiredis's, NULL for none) a sane answer to cmd? Anything else (an error reply,
 * another type, a negative or huge number, a string, an array) is not, and the caller treats it
 * as a Redis failure (fault_tolerant decides). For INCRBY *count (may be NULL) gets the count;
 * on false *why (may be NULL) gets a short reason for the log. Pure: no I/O. */
bool tr_rl_redis_reply_ok(const struct redisReply *reply, enum tr_rl_redis_cmd cmd, int64_t *count,
                          const char **why);

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
