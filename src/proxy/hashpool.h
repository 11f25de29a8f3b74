/* SPDX-License-Identifier: MIT */
/* The password-hash pool: a few threads of the node's own that run deliberately slow
 * credential checks (Argon2id) from a bounded queue, apart from libuv's thread pool (which DNS
 * and the OAuth2 store reads share, and whose queue has no bound). A worker loop submits through
 * its port; the result comes back on that loop, woken with uv_async_send. When the queue is full
 * a submission is refused at once, so a flood of wrong passwords costs at most `threads` cores
 * and `queue_len` parked requests (docs/architecture.md, "Processes and threads"). */
#ifndef TR_PROXY_HASHPOOL_H
#define TR_PROXY_HASHPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct tr_hashpool;
struct tr_hashpool_port;

/* One piece of work. The submitter owns the struct (embed it) and keeps it alive until done
 * has run. */
struct tr_hashpool_job {
    /* On a pool thread: the slow part. Must not touch a loop or anything the loop owns. */
    void (*work)(struct tr_hashpool_job *job);
    /* On the port's loop, exactly once: status 0 after work ran, or TR_ECANCELED when the job
     * was dropped from the queue (pool stopping, port closing) without running. */
    void (*done)(struct tr_hashpool_job *job, int status);
    /* private */
    struct tr_hashpool_job *next;
    struct tr_hashpool_port *port;
    int status;
};

/* Counters for GET /status (read without a lock: each is a snapshot of its own). */
struct tr_hashpool_stats {
    unsigned threads;   /* started */
    unsigned queue_len; /* jobs that may wait beyond the running ones */
    unsigned queued;    /* waiting now */
    unsigned running;   /* on a thread now */
    uint64_t done;      /* work functions run since start */
    uint64_t refused;   /* submissions refused because the queue was full */
};

/* Start threads (>= 1) threads with room for queue_len (>= 0) waiting jobs. Returns the pool,
 * or NULL with a message in err when no thread could be started. Call from the control
 * thread, before any worker opens a port. */
struct tr_hashpool *tr_hashpool_start(unsigned threads, unsigned queue_len, char *err,
                                      size_t err_len);

/* Stop taking work: jobs still queued are handed back to their ports with TR_ECANCELED, jobs
 * running finish and are handed back as usual; returns once every thread has exited. NULL and
 * a second call are no-ops. Ports stay usable for closing only (submit answers TR_EUNAVAIL). */
void tr_hashpool_stop(struct tr_hashpool *pool);

/* Free a stopped pool, after every port was closed and its loop ran the close. NULL is fine. */
void tr_hashpool_free(struct tr_hashpool *pool);

/* Open a port of pool on loop (call on the loop's thread). The port keeps loop alive only
 * while it has jobs out, as uv_queue_work does. Returns NULL when pool is NULL. */
struct tr_hashpool_port *tr_hashpool_port_open(struct tr_hashpool *pool, uv_loop_t *loop);

/* Queue job (work and done set by the caller) for port. Returns 0 (done will run on the port's
 * loop, never before this returns), TR_EBUSY when threads + queue_len jobs are already in the
 * pool, or TR_EUNAVAIL when the pool stopped or the port is closing (done will not run). */
int tr_hashpool_submit(struct tr_hashpool_port *port, struct tr_hashpool_job *job);

/* Close port (on its loop's thread): its queued jobs are dropped and handed back with
 * TR_ECANCELED, running ones come back when they finish; their done callbacks run on the
 * loop's next turns, then the port frees itself. The loop must run on until then. NULL is
 * fine. */
void tr_hashpool_port_close(struct tr_hashpool_port *port);

/* Current counters of pool (zeros for NULL). Safe from any thread. */
void tr_hashpool_stats(struct tr_hashpool *pool, struct tr_hashpool_stats *out);

#endif
