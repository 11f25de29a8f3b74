/* SPDX-License-Identifier: MIT */
/* Redis counters for rate-limiting over hiredis's async API and its libuv adapter. Each worker
 * keeps its own connections (never shared across threads); a call pipelines INCRBY + EXPIRE
 * per counter and is bounded by its own timer; a timeout drops the connection (the next call
 * reconnects), so a stalled Redis costs each request at most the timeout. Every reply is
 * checked before it is believed (tr_rl_redis_reply_ok): one that makes no sense fails the call
 * like an unreachable Redis and drops the connection. */
#include "plugins/rl_redis.h"

#include <stdatomic.h>
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
    /* The connection the commands went on: valid while any reply is still due (freeing a
     * context answers every pending callback, with NULL). */
    redisAsyncContext *ac;
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

/* Stop using ac: it leaves its conn (the next call opens a new one) and is freed, at once or,
 * from inside one of its callbacks, as soon as that returns (hiredis defers it). Its pending
 * calls get NULL replies and fail. */
static void discard(redisAsyncContext *ac)
{
    struct conn *c = ac->data;
    if (c != NULL && c->ac == ac)
        c->ac = NULL;
    ac->data = NULL;
    redisAsyncFree(ac);
}

static void drop(struct conn *c)
{
    if (c->ac != NULL)
        discard(c->ac);
}

bool tr_rl_redis_reply_ok(const struct redisReply *reply, enum tr_rl_redis_cmd cmd, int64_t *count,
                          const char **why)
{
    const char *bad = NULL;
    if (reply == NULL)
        bad = "no reply";
    else if (reply->type == REDIS_REPLY_ERROR)
        bad = "error reply";
    else if (cmd == TR_RL_REDIS_SETUP)
        bad = reply->type == REDIS_REPLY_STATUS && reply->len == 2 && reply->str != NULL &&
                      memcmp(reply->str, "OK", 2) == 0
                  ? NULL
                  : "AUTH/SELECT not answered +OK";
    else if (reply->type != REDIS_REPLY_INTEGER)
        bad = "not an integer reply";
    else if (cmd == TR_RL_REDIS_INCRBY &&
             (reply->integer < 1 || reply->integer > TR_RL_REDIS_MAX_COUNT))
        bad = "INCRBY result out of range";
    else if (cmd == TR_RL_REDIS_EXPIRE && reply->integer != 0 && reply->integer != 1)
        bad = "EXPIRE result is not 0 or 1";
    if (bad != NULL) {
        if (why)
            *why = bad;
        return false;
    }
    if (cmd == TR_RL_REDIS_INCRBY && count)
        *count = (int64_t)reply->integer;
    return true;
}

/* Reply number idx of call k (INCRBY, EXPIRE, INCRBY, ...) arrived on ac. */
static void take_reply(struct call *k, redisAsyncContext *ac, const redisReply *reply, unsigned idx)
{
    struct conn *c = ac->data;
    enum tr_rl_redis_cmd cmd = idx % 2 == 0 ? TR_RL_REDIS_INCRBY : TR_RL_REDIS_EXPIRE;
    const char *why = NULL;
    int64_t count = 0;
    if (c == NULL || reply == NULL) {
        /* The connection is gone or was discarded: nothing on it is believed any more. */
        finish(k, TR_EIO);
        return;
    }
    if (!tr_rl_redis_reply_ok(reply, cmd, &count, &why)) {
        complain(c->pool, why, c, reply->type == REDIS_REPLY_ERROR ? reply->str : NULL);
        /* A server that said one wrong thing may be out of step with our pipeline (every
         * later reply answering an earlier command): start again on a new connection. */
        c->retry_at_ms = tr_clock_mono_ms() + RETRY_MS;
        discard(ac);
        finish(k, TR_EIO);
        return;
    }
    if (cmd == TR_RL_REDIS_INCRBY)
        k->counts[idx / 2] = count;
    if (k->replies == k->expected)
        finish(k, k->rc);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct call *k = privdata;
    unsigned idx = k->replies++;
    if (!k->finished)
        take_reply(k, ac, r, idx);
    maybe_free_call(k);
}

static void on_timeout(uv_timer_t *t)
{
    struct call *k = t->data;
    if (k->replies < k->expected) {
        struct conn *c = k->ac->data;
        if (c != NULL)
            complain(c->pool, "no answer in time", c, NULL);
        /* The connection is stalled: every call on it would time out too. Dropping it fails
         * them all now (this one first, so it is told it timed out). */
        finish(k, TR_ETIMEOUT);
        discard(k->ac);
        return;
    }
    finish(k, TR_ETIMEOUT);
}

static void on_setup_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)privdata;
    struct conn *c = ac->data;
    const char *why = NULL;
    /* NULL: the connection is already going away (its calls fail with it). */
    if (c == NULL || r == NULL || tr_rl_redis_reply_ok(r, TR_RL_REDIS_SETUP, NULL, &why))
        return;
    /* Counters must not go to the wrong database or an unauthenticated session: the calls
     * queued behind fail, and the next is tried after RETRY_MS. */
    const redisReply *reply = r;
    complain(c->pool, why, c, reply->type == REDIS_REPLY_ERROR ? reply->str : NULL);
    c->retry_at_ms = tr_clock_mono_ms() + RETRY_MS;
    discard(ac);
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

/* ---- replies nobody asked for --------------------------------------------------------------
 * hiredis 0.14 aborts the whole process (an assert in redisProcessCallbacks) when a reply that
 * is not an error arrives with no command waiting for it, on a connection that is not
 * subscribed: one stray line from a broken or hostile server would kill every worker thread's
 * requests. Its reader builds each reply through a table of functions; ours wraps hiredis's
 * own and refuses to build a top-level reply when no callback waits for one. The reader then
 * fails and hiredis closes the connection cleanly instead. */

static _Atomic(redisReplyObjectFunctions *) hiredis_fns; /* hiredis's own table */

static bool unasked(const redisReadTask *task)
{
    redisAsyncContext *ac = task->privdata;
    if (task->parent != NULL || ac == NULL || ac->replies.head != NULL)
        return false;
    struct conn *c = ac->data;
    if (c != NULL) {
        complain(c->pool, "a reply with no command waiting for it", c, NULL);
        c->retry_at_ms = tr_clock_mono_ms() + RETRY_MS;
    }
    return true;
}

static void *create_string(const redisReadTask *task, char *str, size_t len)
{
    return unasked(task) ? NULL : atomic_load(&hiredis_fns)->createString(task, str, len);
}

static void *create_array(const redisReadTask *task, int elements)
{
    return unasked(task) ? NULL : atomic_load(&hiredis_fns)->createArray(task, elements);
}

static void *create_integer(const redisReadTask *task, long long value)
{
    return unasked(task) ? NULL : atomic_load(&hiredis_fns)->createInteger(task, value);
}

static void *create_nil(const redisReadTask *task)
{
    return unasked(task) ? NULL : atomic_load(&hiredis_fns)->createNil(task);
}

static void free_object(void *reply)
{
    atomic_load(&hiredis_fns)->freeObject(reply);
}

static redisReplyObjectFunctions guarded_fns = {
    create_string, create_array, create_integer, create_nil, free_object,
};

static void guard_reader(redisAsyncContext *ac)
{
    redisReader *r = ac->c.reader;
    redisReplyObjectFunctions *mine = NULL;
    /* Every context starts with the same (static) table of hiredis's. */
    atomic_compare_exchange_strong(&hiredis_fns, &mine, r->fn);
    r->fn = &guarded_fns;
    redisReaderSetPrivdata(r, ac);
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
    guard_reader(ac);
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
    k->ac = c->ac;
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
        /* Only part of the pipeline is queued (the context is going away): wait for the
         * queued replies only (reply i still answers command i) and fail then, or on the
         * timer. */
        k->expected = queued;
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
