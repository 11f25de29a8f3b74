/* SPDX-License-Identifier: MIT */
/* The PostgreSQL backend's runtime sessions: a small pool of connections, each a session (see
 * pg.h), opened when first needed and kept for the next user. pg_max_concurrent_queries bounds
 * how many one node holds, as Kong's setting bounds its concurrent queries. */
#include "store/pg.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"

/* libuv's thread pool has 4 threads by default; the control thread is one more. */
#define POOL_DEFAULT 6
#define POOL_LIMIT 1000

struct tr_pg_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    struct tr_pg_params params; /* points into conf, which outlives every store */
    struct tr_pg_tx **idle;     /* owned array of max */
    size_t max, num_idle, num_open;
};

struct tr_pg_pool *tr__pg_pool_new(const struct tr_conf *conf, unsigned max)
{
    struct tr_pg_pool *p = tr_xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->freed, NULL);
    tr__pg_params(conf, &p->params);
    p->max = max == 0 ? POOL_DEFAULT : max > POOL_LIMIT ? POOL_LIMIT : max;
    p->idle = tr_xcalloc(p->max, sizeof(*p->idle));
    return p;
}

static void close_tx(struct tr_pg_tx *tx)
{
    PQfinish(tx->conn);
    free(tx);
}

void tr__pg_pool_free(struct tr_pg_pool *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->num_idle; i++)
        close_tx(p->idle[i]);
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->lock);
    free(p->idle);
    free(p);
}

struct tr_store_tx *tr__pg_tx_acquire(struct tr_pg_pool *p)
{
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->num_idle > 0) {
            struct tr_pg_tx *tx = p->idle[--p->num_idle];
            if (PQstatus(tx->conn) == CONNECTION_OK) {
                pthread_mutex_unlock(&p->lock);
                return &tx->base;
            }
            /* Broken while idle (a server restart): a fresh one takes its place. */
            p->num_open--;
            close_tx(tx);
        }
        if (p->num_open < p->max)
            break;
        pthread_cond_wait(&p->freed, &p->lock);
    }
    p->num_open++;
    pthread_mutex_unlock(&p->lock);
    char err[512];
    PGconn *conn = tr__pg_connect(&p->params, err, sizeof(err));
    if (conn == NULL) {
        tr_log_error("runtime store: %s", err);
        pthread_mutex_lock(&p->lock);
        p->num_open--;
        pthread_cond_signal(&p->freed);
        pthread_mutex_unlock(&p->lock);
        return NULL;
    }
    struct tr_pg_tx *tx = tr_xcalloc(1, sizeof(*tx));
    tx->base.ops = &tr__store_pg_ops;
    tx->conn = conn;
    tx->pool = p;
    return &tx->base;
}

void tr__pg_tx_release(struct tr_store_tx *base)
{
    struct tr_pg_tx *tx = TR_CONTAINER_OF(base, struct tr_pg_tx, base);
    struct tr_pg_pool *p = tx->pool;

    pthread_mutex_lock(&p->lock);
    p->idle[p->num_idle++] = tx; /* num_idle < max: every session out was counted open */
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

/* ---- transactions -------------------------------------------------------------------------- */

int tr__pg_tx_begin(struct tr_store_tx *base)
{
    return tr__pg_exec(tr__pg_tx_conn(base), "BEGIN", "runtime store: begin");
}

int tr__pg_tx_commit(struct tr_store_tx *base)
{
    int rc = tr__pg_exec(tr__pg_tx_conn(base), "COMMIT", "runtime store: commit");
    if (rc != 0)
        tr__pg_tx_rollback(base);
    return rc;
}

void tr__pg_tx_rollback(struct tr_store_tx *base)
{
    PGconn *conn = tr__pg_tx_conn(base);
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
}
