/* SPDX-License-Identifier: MIT */
/* The password-hash pool (hashpool.h): one FIFO queue under one mutex, a fixed set of threads,
 * and per-loop ports that collect finished jobs and wake their loop with uv_async_send (the
 * shape of libuv's own thread pool, with a bound and without a global). What the jobs do is
 * the submitter's business. */
#include "proxy/hashpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

struct tr_hashpool {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct tr_hashpool_job *head, *tail; /* queued, under mu */
    unsigned queued, running;            /* under mu */
    unsigned queue_len;
    bool stop; /* under mu */
    bool stopped;
    pthread_t *threads; /* owned; num_threads started */
    unsigned num_threads;
    _Atomic unsigned stat_queued, stat_running; /* copies of queued / running for stats */
    _Atomic uint64_t done, refused;
};

struct tr_hashpool_port {
    struct tr_hashpool *pool; /* borrowed; outlives the port */
    uv_async_t async;         /* async.data = this */
    pthread_mutex_t mu;
    struct tr_hashpool_job *ready; /* finished jobs (LIFO), under mu */
    unsigned out;                  /* jobs submitted and not handed back yet (loop only) */
    bool closing;                  /* loop only */
};

/* ---- handing jobs back -------------------------------------------------------------------- */

/* Give job back to its port (any thread). Sending under the port's mutex orders the send
 * before the loop's next look at the list, so the loop never closes the handle while a send
 * is still under way (uv_async_send on a closed handle is undefined). */
static void hand_back(struct tr_hashpool_job *job, int status)
{
    struct tr_hashpool_port *port = job->port;
    job->status = status;
    pthread_mutex_lock(&port->mu);
    job->next = port->ready;
    port->ready = job;
    uv_async_send(&port->async);
    pthread_mutex_unlock(&port->mu);
}

static void on_port_closed(uv_handle_t *h)
{
    struct tr_hashpool_port *port = h->data;
    pthread_mutex_destroy(&port->mu);
    free(port);
}

static void on_port_wake(uv_async_t *a)
{
    struct tr_hashpool_port *port = a->data;
    pthread_mutex_lock(&port->mu);
    struct tr_hashpool_job *list = port->ready;
    port->ready = NULL;
    pthread_mutex_unlock(&port->mu);
    /* The list is newest first: turn it around so jobs finish in the order they came back. */
    struct tr_hashpool_job *fifo = NULL;
    while (list) {
        struct tr_hashpool_job *next = list->next;
        list->next = fifo;
        fifo = list;
        list = next;
    }
    while (fifo) {
        struct tr_hashpool_job *job = fifo;
        fifo = job->next;
        job->next = NULL;
        job->port = NULL;
        if (--port->out == 0 && !port->closing)
            uv_unref((uv_handle_t *)&port->async);
        job->done(job, job->status); /* may submit again, or free job */
    }
    if (port->closing && port->out == 0 && !uv_is_closing((uv_handle_t *)&port->async))
        uv_close((uv_handle_t *)&port->async, on_port_closed);
}

/* ---- the threads -------------------------------------------------------------------------- */

static void publish_counts(struct tr_hashpool *pool)
{
    atomic_store_explicit(&pool->stat_queued, pool->queued, memory_order_relaxed);
    atomic_store_explicit(&pool->stat_running, pool->running, memory_order_relaxed);
}

static void *pool_main(void *arg)
{
    struct tr_hashpool *pool = arg;
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        while (!pool->stop && pool->head == NULL)
            pthread_cond_wait(&pool->cond, &pool->mu);
        if (pool->stop)
            break; /* what is still queued is handed back by tr_hashpool_stop */
        struct tr_hashpool_job *job = pool->head;
        pool->head = job->next;
        if (pool->head == NULL)
            pool->tail = NULL;
        pool->queued--;
        pool->running++;
        publish_counts(pool);
        pthread_mutex_unlock(&pool->mu);

        job->work(job);
        atomic_fetch_add_explicit(&pool->done, 1, memory_order_relaxed);
        hand_back(job, 0);

        pthread_mutex_lock(&pool->mu);
        pool->running--;
        publish_counts(pool);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

struct tr_hashpool *tr_hashpool_start(unsigned threads, unsigned queue_len, char *err,
                                      size_t err_len)
{
    if (threads == 0) {
        snprintf(err, err_len, "the password-hash pool needs at least one thread");
        return NULL;
    }
    struct tr_hashpool *pool = tr_xcalloc(1, sizeof(*pool));
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->cond, NULL);
    pool->queue_len = queue_len;
    pool->threads = tr_xcalloc(threads, sizeof(*pool->threads));
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&pool->threads[i], NULL, pool_main, pool) != 0)
            break;
        pool->num_threads++;
    }
    if (pool->num_threads == 0) {
        snprintf(err, err_len, "cannot start a password-hash thread");
        tr_hashpool_stop(pool);
        tr_hashpool_free(pool);
        return NULL;
    }
    return pool;
}

void tr_hashpool_stop(struct tr_hashpool *pool)
{
    if (pool == NULL || pool->stopped)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->stop = true;
    struct tr_hashpool_job *list = pool->head;
    pool->head = pool->tail = NULL;
    pool->queued = 0;
    publish_counts(pool);
    pthread_cond_broadcast(&pool->cond);
    pthread_mutex_unlock(&pool->mu);
    while (list) {
        struct tr_hashpool_job *next = list->next;
        hand_back(list, TR_ECANCELED);
        list = next;
    }
    for (unsigned i = 0; i < pool->num_threads; i++)
        pthread_join(pool->threads[i], NULL);
    pool->stopped = true;
}

void tr_hashpool_free(struct tr_hashpool *pool)
{
    if (pool == NULL)
        return;
    tr_hashpool_stop(pool);
    pthread_cond_destroy(&pool->cond);
    pthread_mutex_destroy(&pool->mu);
    free(pool->threads);
    free(pool);
}

void tr_hashpool_stats(struct tr_hashpool *pool, struct tr_hashpool_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (pool == NULL)
        return;
    out->threads = pool->num_threads;
    out->queue_len = pool->queue_len;
    out->queued = atomic_load_explicit(&pool->stat_queued, memory_order_relaxed);
    out->running = atomic_load_explicit(&pool->stat_running, memory_order_relaxed);
    out->done = atomic_load_explicit(&pool->done, memory_order_relaxed);
    out->refused = atomic_load_explicit(&pool->refused, memory_order_relaxed);
}

/* ---- ports -------------------------------------------------------------------------------- */

struct tr_hashpool_port *tr_hashpool_port_open(struct tr_hashpool *pool, uv_loop_t *loop)
{
    if (pool == NULL)
        return NULL;
    struct tr_hashpool_port *port = tr_xcalloc(1, sizeof(*port));
    port->pool = pool;
    pthread_mutex_init(&port->mu, NULL);
    uv_async_init(loop, &port->async, on_port_wake);
    port->async.data = port;
    uv_unref((uv_handle_t *)&port->async);
    return port;
}

int tr_hashpool_submit(struct tr_hashpool_port *port, struct tr_hashpool_job *job)
{
    if (port == NULL || port->closing)
        return TR_EUNAVAIL;
    struct tr_hashpool *pool = port->pool;
    pthread_mutex_lock(&pool->mu);
    if (pool->stop) {
        pthread_mutex_unlock(&pool->mu);
        return TR_EUNAVAIL;
    }
    /* The bound is on everything in the pool, so queue_len 0 still lets a free thread take
     * the job at once. */
    if (pool->queued + pool->running >= pool->num_threads + pool->queue_len) {
        pthread_mutex_unlock(&pool->mu);
        atomic_fetch_add_explicit(&pool->refused, 1, memory_order_relaxed);
        return TR_EBUSY;
    }
    job->port = port;
    job->next = NULL;
    job->status = 0;
    if (pool->tail)
        pool->tail->next = job;
    else
        pool->head = job;
    pool->tail = job;
    pool->queued++;
    publish_counts(pool);
    pthread_cond_signal(&pool->cond);
    pthread_mutex_unlock(&pool->mu);
    if (port->out++ == 0)
        uv_ref((uv_handle_t *)&port->async);
    return 0;
}

void tr_hashpool_port_close(struct tr_hashpool_port *port)
{
    if (port == NULL || port->closing)
        return;
    port->closing = true;
    struct tr_hashpool *pool = port->pool;
    /* Take this port's queued jobs out: no thread may start one for a loop that is going. */
    struct tr_hashpool_job *mine = NULL;
    pthread_mutex_lock(&pool->mu);
    struct tr_hashpool_job **pp = &pool->head, *prev = NULL;
    while (*pp) {
        struct tr_hashpool_job *job = *pp;
        if (job->port == port) {
            *pp = job->next;
            pool->queued--;
            job->next = mine;
            mine = job;
        } else {
            prev = job;
            pp = &job->next;
        }
    }
    pool->tail = prev;
    publish_counts(pool);
    pthread_mutex_unlock(&pool->mu);
    while (mine) {
        struct tr_hashpool_job *next = mine->next;
        hand_back(mine, TR_ECANCELED);
        mine = next;
    }
    /* Keep the loop alive until every job is back; the wake callback closes the handle. */
    uv_ref((uv_handle_t *)&port->async);
    uv_async_send(&port->async);
}
