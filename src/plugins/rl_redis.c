/* SPDX-License-Identifier: MIT */
/* Redis counters for rate-limiting over hiredis's async API and its libuv adapter. Each worker
 * keeps its own connections (never shared across threads); a call pipelines INCRBY + EXPIRE
 * per counter and is bounded by its own timer; a timeout drops the connection (the next call
 * reconnects), so a stalled Redis costs each request at most the timeout. */
#include "plugins/rl_redis.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"

#define MAX_CONNS 16
#define RETRY_MS 500

struct conn;

struct pool {
    uv_loop_t *loop;
    struct conn *conns[MAX_CONNS];
    size_t cnt;
    uint64_t last_warn_ms;
};

struct conn {
    struct pool *pool;
    char *addr;
    char *password; /* NULL: none */
    int port, db;
    redisAsyncContext *ac; /* NULL when not connected */
    uint64_t retry_at_ms;  /* after a failed connect: fail fast until then */
};

struct call {
    uv_timer_t timer;
    struct conn *conn; /* NULL once the connection is gone */
    tr_rl_redis_done_fn done;
    void *ud;
    size_t n;
    unsigned replies;  /* replies (or failures) seen so far */
    unsigned expected; /* 2 * n */
    int rc;            /* result once every reply arrived */
    bool finished;     /* done was called */
    bool timer_closed;
    int64_t counts[TR_RL_REDIS_MAX_OPS];
};

static void complain(struct pool *p, const char *what, const struct conn *c, const char *why)
{
    uint64_t now = tr_clock_mono_ms();
    if (p->last_warn_ms != 0 && now - p->last_warn_ms < 1000)
        return;
    p->last_warn_ms = now;
    tr_log_warn("rate-limiting: redis %s:%d: %s%s%s", c->addr, c->port, what, why ? ": " : "",
                why ? why : "");
}

static void maybe_free_call(struct call *k)
{
    if (k->finished && k->timer_closed && k->replies >= k->expected)
        free(k);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct call *k = h->data;
    k->timer_closed = true;
    maybe_free_call(k);
}

static void finish(struct call *k, int rc)
{
    if (k->finished)
        return;
    k->finished = true;
    uv_timer_stop(&k->timer);
    uv_close((uv_handle_t *)&k->timer, on_timer_closed);
    k->done(k->ud, rc, rc == 0 ? k->counts : NULL);
}

/* Drop c's connection now (not from inside a hiredis callback): pending calls fail. */
static void drop(struct conn *c)
{
    redisAsyncContext *ac = c->ac;
    if (ac == NULL)
        return;
    c->ac = NULL;
    ac->data = NULL;
    redisAsyncFree(ac);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct call *k = privdata;
    redisReply *reply = r;
    unsigned idx = k->replies++;
    if (!k->finished) {
        if (reply == NULL) {
            finish(k, TR_EIO);
        } else if (reply->type == REDIS_REPLY_ERROR) {
            if (k->conn)
                complain(k->conn->pool, "command failed", k->conn, reply->str);
            finish(k, TR_EIO);
        } else if (idx % 2 == 0) {
            if (reply->type != REDIS_REPLY_INTEGER) {
                finish(k, TR_EIO);
            } else {
                k->counts[idx / 2] = reply->integer;
            }
        }
        if (!k->finished && k->replies == k->expected)
            finish(k, k->rc);
    }
    maybe_free_call(k);
}

static void on_timeout(uv_timer_t *t)
{
    struct call *k = t->data;
    struct conn *c = k->conn;
    if (c) {
        complain(c->pool, "no answer in time", c, NULL);
        /* The connection is stalled: every call on it would time out too. Dropping it fails
         * them all now (this call first, as its replies come back NULL). */
        drop(c);
    }
    finish(k, TR_ETIMEOUT);
}

static void on_setup_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;
    struct conn *c = ac->data;
    if (c && reply && reply->type == REDIS_REPLY_ERROR)
        complain(c->pool, "AUTH/SELECT failed", c, reply->str);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct conn *c = ac->data;
    if (c == NULL || status == REDIS_OK)
        return;
    /* hiredis frees the context after this callback; pending calls get NULL replies. */
    complain(c->pool, "cannot connect", c, ac->errstr);
    c->ac = NULL;
    c->retry_at_ms = tr_clock_mono_ms() + RETRY_MS;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct conn *c = ac->data;
    if (c == NULL)
        return;
    if (status != REDIS_OK)
        complain(c->pool, "connection lost", c, ac->errstr);
    c->ac = NULL;
}

/* Open c's connection (queued AUTH and SELECT go out once it is up). Returns 0 or TR_EIO. */
static int open_conn(struct conn *c)
{
    uint64_t now = tr_clock_mono_ms();
    if (now < c->retry_at_ms)
        return TR_EUNAVAIL;
    redisAsyncContext *ac = redisAsyncConnect(c->addr, c->port);
    if (ac == NULL)
        return TR_ENOMEM;
    if (ac->err) {
        complain(c->pool, "cannot connect", c, ac->errstr);
        redisAsyncFree(ac);
        c->retry_at_ms = now + RETRY_MS;
        return TR_EUNAVAIL;
    }
    if (redisLibuvAttach(ac, c->pool->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        c->retry_at_ms = now + RETRY_MS;
        return TR_EIO;
    }
    ac->data = c;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    c->ac = ac;
    if (c->password)
        redisAsyncCommand(ac, on_setup_reply, NULL, "AUTH %s", c->password);
    if (c->db != 0)
        redisAsyncCommand(ac, on_setup_reply, NULL, "SELECT %d", c->db);
    return 0;
}

static bool same(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static struct conn *get_conn(void **slot, uv_loop_t *loop, const struct tr_rl_redis_target *t)
{
    struct pool *p = *slot;
    if (p == NULL) {
        p = tr_xcalloc(1, sizeof(*p));
        p->loop = loop;
        *slot = p;
    }
    const char *pw = t->password && t->password[0] ? t->password : NULL;
    for (size_t i = 0; i < p->cnt; i++) {
        struct conn *c = p->conns[i];
        if (c->port == t->port && c->db == t->db && strcmp(c->addr, t->addr) == 0 &&
            same(c->password, pw))
            return c;
    }
    if (p->cnt == MAX_CONNS) {
        /* Many distinct targets on one node: recycle the oldest entry. */
        struct conn *old = p->conns[0];
        drop(old);
        free(old->addr);
        free(old->password);
        free(old);
        memmove(&p->conns[0], &p->conns[1], (MAX_CONNS - 1) * sizeof(p->conns[0]));
        p->cnt--;
    }
    struct conn *c = tr_xcalloc(1, sizeof(*c));
    c->pool = p;
    c->addr = tr_xstrdup(t->addr);
    c->password = pw ? tr_xstrdup(pw) : NULL;
    c->port = t->port;
    c->db = t->db;
    p->conns[p->cnt++] = c;
    return c;
}

int tr_rl_redis_incr(void **slot, uv_loop_t *loop, const struct tr_rl_redis_target *target,
                     const struct tr_rl_redis_op *ops, size_t n, tr_rl_redis_done_fn done, void *ud)
{
    if (n == 0 || n > TR_RL_REDIS_MAX_OPS || target->addr == NULL)
        return TR_EINVAL;
    struct conn *c = get_conn(slot, loop, target);
    if (c->ac == NULL) {
        int rc = open_conn(c);
        if (rc != 0)
            return rc;
    }
    struct call *k = tr_xcalloc(1, sizeof(*k));
    k->conn = c;
    k->done = done;
    k->ud = ud;
    k->n = n;
    k->expected = (unsigned)(2 * n);
    uv_timer_init(loop, &k->timer);
    k->timer.data = k;
    unsigned queued = 0;
    for (size_t i = 0; i < n; i++) {
        if (redisAsyncCommand(c->ac, on_reply, k, "INCRBY %s 1", ops[i].key) != REDIS_OK)
            break;
        queued++;
        long long ex = ops[i].expire_s > 0 ? (long long)ops[i].expire_s : 1;
        if (redisAsyncCommand(c->ac, on_reply, k, "EXPIRE %s %lld", ops[i].key, ex) != REDIS_OK)
            break;
        queued++;
    }
    if (queued == 0) {
        /* Nothing went out: the context is shutting down. */
        k->finished = true;
        k->replies = k->expected;
        uv_close((uv_handle_t *)&k->timer, on_timer_closed);
        return TR_EIO;
    }
    if (queued < k->expected) {
        /* Only part of the pipeline is queued (the context is going away): count the rest
         * as seen and fail once the queued replies come back, or on the timer. */
        k->replies += k->expected - queued;
        k->rc = TR_EIO;
    }
    uv_timer_start(&k->timer, on_timeout, target->timeout_ms ? target->timeout_ms : 2000, 0);
    return 0;
}

void tr_rl_redis_decr(void **slot, uv_loop_t *loop, const struct tr_rl_redis_target *target,
                      const char *const *keys, size_t n)
{
    struct conn *c = get_conn(slot, loop, target);
    if (c->ac == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        redisAsyncCommand(c->ac, NULL, NULL, "DECRBY %s 1", keys[i]);
}

void tr_rl_redis_pool_free(void *slot)
{
    struct pool *p = slot;
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->cnt; i++) {
        struct conn *c = p->conns[i];
        drop(c);
        free(c->addr);
        free(c->password);
        free(c);
    }
    free(p);
}
