/* SPDX-License-Identifier: MIT */
/* The `cluster` counter backend of rate-limiting: counters kept in the database and shared by
 * every node on it. Workers decide from a node-wide table in shared memory (the last cluster
 * total read for each counter plus this node's requests not yet written); one flusher thread,
 * outside every event loop, writes the deltas and reads the totals back in one transaction
 * every TR_RL_CLUSTER_FLUSH_MS (sooner when a batch fills up or a counter is new). A worker
 * never touches the database. docs/plugins.md states the consistency this gives. */
#ifndef TR_PLUGINS_RL_CLUSTER_H
#define TR_PLUGINS_RL_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define TR_RL_CLUSTER_FLUSH_MS 100 /* longest gap between two flushes while counters live */
#define TR_RL_CLUSTER_MIN_GAP_MS 5 /* shortest gap: an early flush waits at least this long */
#define TR_RL_CLUSTER_BATCH 256    /* requests counted since the last flush that start one */
#define TR_RL_CLUSTER_IDLE_S 2     /* a counter unused this long is read again before use */
#define TR_RL_CLUSTER_BUCKETS 1024
#define TR_RL_CLUSTER_WAYS 16

struct tr_store;

/* Start the flusher thread with a counters session of its own on store (the control thread's,
 * open and migrated; borrowed for the call). Call once, before the workers start. Returns 0,
 * or TR_EDB with a message in err (the policy then answers as a failing backend:
 * fault_tolerant decides). */
int tr_rl_cluster_start(struct tr_store *store, char *err, size_t err_len);

/* Write what is pending one last time and stop the flusher (after the workers stopped).
 * Does nothing when it was not started. */
void tr_rl_cluster_stop(void);

/* Take one unit of counter key (see tr_counters_local_take for key, now, window_end and
 * limit) of plugin instance plugin_id (copied) and period p, if the cluster-wide count as
 * known here stays at most limit. Returns 1 when taken (*count = the count with it), 0 when
 * the limit is reached (*count = the count), TR_EAGAIN when the counter's total must be read
 * first (the caller parks the request with tr_rl_cluster_park; a flush is started), TR_EINVAL
 * when the table is full where key lands, or TR_EDB when the total is unknown and the database
 * is failing (or the flusher is not running). Safe from any thread. */
int tr_rl_cluster_take(uint64_t key, const char *plugin_id, int p, int64_t now, int64_t window_end,
                       int64_t limit, int64_t *count);

/* Give back one unit taken with tr_rl_cluster_take (a later period refused the request). */
void tr_rl_cluster_give_back(uint64_t key, int64_t window_end);

/* The count of key as known here (0 when absent or not read yet). */
int64_t tr_rl_cluster_peek(uint64_t key, int64_t now);

/* Did the last flush fail (the database cannot be written or read)? */
bool tr_rl_cluster_is_failing(void);

/* A parked request: cb is called on the worker's loop after the next flush (whether it worked
 * or not), once. The caller owns the struct and keeps it alive until then. */
struct tr_rl_cluster_wait {
    struct tr_rl_cluster_wait *next; /* private */
    void (*cb)(struct tr_rl_cluster_wait *w);
};

/* Park w on this worker (slot: a worker slot, set up on first use; loop: the worker's loop).
 * Call only from the worker's thread. */
void tr_rl_cluster_park(void **slot, uv_loop_t *loop, struct tr_rl_cluster_wait *w);

/* Free what tr_rl_cluster_park kept in a worker slot (the loop must run once more). */
void tr_rl_cluster_worker_free(void *slot);

/* Tests: open a counters session on store without a flusher thread (start must not have
 * been called); flushes then happen only through tr__rl_cluster_flush_now. Returns 0 or
 * TR_EDB. */
int tr__rl_cluster_manual(struct tr_store *store);
/* Tests: run one flush now on the calling thread. Returns 0 or TR_EDB. */
int tr__rl_cluster_flush_now(void);
/* Tests: forget every counter and close what tr__rl_cluster_manual opened. */
void tr__rl_cluster_reset(void);

#endif
