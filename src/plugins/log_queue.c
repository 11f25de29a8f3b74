/* SPDX-License-Identifier: MIT */
/* Kong 3's plugin queue on a worker loop (log_queue.h). Entries wait in a ring; batches in
 * flight are listed with their own retry timer. Single-threaded: everything runs on the loop. */
#include "plugins/log_queue.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"

struct batch {
    struct tr_log_batch b;
    uint64_t started_ms; /* first attempt, for max_retry_time */
    unsigned retries;
    uv_timer_t *timer; /* the retry wait */
    struct batch *next;
};

struct tr_log_queue {
    uv_loop_t *loop;
    char *tag, *name;
    struct tr_log_queue_conf conf;
    tr_log_queue_send_fn send;
    tr_log_queue_release_fn release;
    void *ud;
    /* waiting entries: a ring */
    char **items;
    size_t *lens;
    size_t cap, head, cnt, bytes;
    uv_timer_t *coalesce; /* armed while a partial batch waits for more */
    bool coalescing;
    struct batch *inflight; /* list */
    size_t inflight_cnt;
    bool dropping;  /* entries were dropped since the last batch left (Kong: already_dropped) */
    bool warned_80; /* "queue at 80% capacity" said, until it drains below */
    uint64_t dropped;
    uint64_t last_full_log_ms; /* the full-queue message, at most once a second */
};

static void qlog(enum tr_log_level level, const struct tr_log_queue *q, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Kong's queue log line: "[<tag>] queue <name>: <message>". */
static void qlog(enum tr_log_level level, const struct tr_log_queue *q, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tr_log(level, "[%s] queue %s: %s", q->tag, q->name, msg);
}

struct tr_log_queue *tr_log_queue_new(uv_loop_t *loop, const char *tag, const char *name,
                                      const struct tr_log_queue_conf *conf,
                                      tr_log_queue_send_fn send, tr_log_queue_release_fn release,
                                      void *ud)
{
    struct tr_log_queue *q = tr_xcalloc(1, sizeof(*q));
    q->loop = loop;
    q->tag = tr_xstrdup(tag);
    q->name = tr_xstrdup(name);
    q->conf = *conf;
    if (q->conf.max_batch_size < 1)
        q->conf.max_batch_size = 1;
    if (q->conf.max_entries < 1)
        q->conf.max_entries = 1;
    q->send = send;
    q->release = release;
    q->ud = ud;
    q->cap = 16;
    q->items = tr_xcalloc(q->cap, sizeof(q->items[0]));
    q->lens = tr_xcalloc(q->cap, sizeof(q->lens[0]));
    q->coalesce = tr_xcalloc(1, sizeof(*q->coalesce));
    uv_timer_init(loop, q->coalesce);
    q->coalesce->data = q;
    qlog(TR_LOG_DEBUG, q, "queue created");
    return q;
}

static size_t at(const struct tr_log_queue *q, size_t i)
{
    return (q->head + i) % q->cap;
}

static void drop_oldest(struct tr_log_queue *q)
{
    size_t h = q->head;
    q->bytes -= q->lens[h];
    free(q->items[h]);
    q->items[h] = NULL;
    q->head = (q->head + 1) % q->cap;
    q->cnt--;
    q->dropped++;
    q->dropping = true;
}

static void grow(struct tr_log_queue *q)
{
    size_t cap = q->cap * 2;
    char **items = tr_xcalloc(cap, sizeof(items[0]));
    size_t *lens = tr_xcalloc(cap, sizeof(lens[0]));
    for (size_t i = 0; i < q->cnt; i++) {
        items[i] = q->items[at(q, i)];
        lens[i] = q->lens[at(q, i)];
    }
    free(q->items);
    free(q->lens);
    q->items = items;
    q->lens = lens;
    q->cap = cap;
    q->head = 0;
}

static void schedule(struct tr_log_queue *q);

static void on_timer_closed(uv_handle_t *h)
{
    free(h);
}

/* Free bt (already off the in-flight list) with what its sender holds. */
static void batch_free(struct tr_log_queue *q, struct batch *bt)
{
    if (q->release)
        q->release(q->ud, &bt->b);
    for (size_t i = 0; i < bt->b.n; i++)
        free(bt->b.entries[i]);
    free(bt->b.entries);
    free(bt->b.lens);
    uv_close((uv_handle_t *)bt->timer, on_timer_closed);
    free(bt);
}

/* b is done for good (sent, or given up): release it and let the next batch go. */
static void batch_end(struct batch *bt)
{
    struct tr_log_queue *q = bt->b.queue;
    struct batch **pp = &q->inflight;
    while (*pp != NULL && *pp != bt)
        pp = &(*pp)->next;
    if (*pp == bt)
        *pp = bt->next;
    q->inflight_cnt--;
    batch_free(q, bt);
    schedule(q);
}

static void send_batch(struct batch *bt)
{
    struct tr_log_queue *q = bt->b.queue;
    qlog(TR_LOG_DEBUG, q, "passing %zu entries to handler", bt->b.n);
    q->send(q->ud, &bt->b);
}

static void on_retry(uv_timer_t *t)
{
    send_batch(t->data);
}

void tr_log_batch_done(struct tr_log_batch *b, bool ok, const char *err)
{
    struct batch *bt = TR_CONTAINER_OF(b, struct batch, b);
    struct tr_log_queue *q = b->queue;
    if (ok) {
        qlog(TR_LOG_DEBUG, q, "handler processed %zu entries successfully", b->n);
        batch_end(bt);
        return;
    }
    qlog(TR_LOG_WARN, q, "handler could not process entries: %s",
         err ? err : "no error details returned by handler");
    uint64_t now = tr_clock_mono_us() / 1000;
    if ((double)(now - bt->started_ms) / 1000.0 > q->conf.max_retry_time) {
        qlog(TR_LOG_ERROR, q,
             "could not send entries due to max_retry_time exceeded. %zu queue entries were lost",
             b->n);
        q->dropped += b->n;
        batch_end(bt);
        return;
    }
    double delay = q->conf.initial_retry_delay * pow(2.0, (double)bt->retries);
    if (delay > q->conf.max_retry_delay)
        delay = q->conf.max_retry_delay;
    bt->retries++;
    uv_timer_start(bt->timer, on_retry, (uint64_t)(delay * 1000.0 + 0.5), 0);
}

/* Take up to max entries off the front as a new batch in flight, and send it. */
static void start_batch(struct tr_log_queue *q, size_t max)
{
    size_t n = q->cnt < max ? q->cnt : max;
    struct batch *bt = tr_xcalloc(1, sizeof(*bt));
    bt->b.queue = q;
    bt->b.entries = tr_xmalloc(n * sizeof(char *));
    bt->b.lens = tr_xmalloc(n * sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        size_t h = q->head;
        bt->b.entries[i] = q->items[h];
        bt->b.lens[i] = q->lens[h];
        q->bytes -= q->lens[h];
        q->items[h] = NULL;
        q->head = (q->head + 1) % q->cap;
        q->cnt--;
    }
    bt->b.n = n;
    bt->started_ms = tr_clock_mono_us() / 1000;
    bt->timer = tr_xcalloc(1, sizeof(*bt->timer));
    uv_timer_init(q->loop, bt->timer);
    bt->timer->data = bt;
    bt->next = q->inflight;
    q->inflight = bt;
    q->inflight_cnt++;
    if (q->dropping) {
        qlog(TR_LOG_INFO, q, "queue resumed processing");
        q->dropping = false;
    }
    if (q->warned_80 && (double)q->cnt < (double)q->conf.max_entries * 0.8)
        q->warned_80 = false;
    send_batch(bt);
}

static void on_coalesced(uv_timer_t *t)
{
    struct tr_log_queue *q = t->data;
    q->coalescing = false;
    if (q->inflight_cnt == 0 && q->cnt > 0)
        start_batch(q, (size_t)q->conf.max_batch_size);
}

/* Let waiting entries go when the rules say so. */
static void schedule(struct tr_log_queue *q)
{
    if (q->conf.concurrency_limit < 0) {
        while (q->cnt > 0)
            start_batch(q, 1);
        return;
    }
    if (q->inflight_cnt > 0 || q->cnt == 0)
        return;
    uint64_t delay_ms = (uint64_t)(q->conf.max_coalescing_delay * 1000.0 + 0.5);
    /* Kong sends once fewer than 50 ms of the delay would be left to wait */
    if ((int64_t)q->cnt >= q->conf.max_batch_size || delay_ms < 50) {
        if (q->coalescing) {
            uv_timer_stop(q->coalesce);
            q->coalescing = false;
        }
        start_batch(q, (size_t)q->conf.max_batch_size);
        return;
    }
    if (!q->coalescing) {
        q->coalescing = true;
        uv_timer_start(q->coalesce, on_coalesced, delay_ms, 0);
    }
}

int tr_log_queue_add(struct tr_log_queue *q, char *entry, size_t len)
{
    if (q->conf.max_bytes > 0 && len > (size_t)q->conf.max_bytes) {
        qlog(TR_LOG_ERROR, q,
             "string to be queued is longer (%zu bytes) than the queue's max_bytes (%lld bytes)",
             len, (long long)q->conf.max_bytes);
        free(entry);
        q->dropped++;
        return TR_ETOOLARGE;
    }
    if (!q->warned_80 && (double)q->cnt >= (double)q->conf.max_entries * 0.8) {
        qlog(TR_LOG_WARN, q, "queue at 80%% capacity");
        q->warned_80 = true;
    }
    if ((int64_t)q->cnt >= q->conf.max_entries) {
        uint64_t now = tr_clock_mono_us() / 1000;
        if (now - q->last_full_log_ms >= 1000 || q->last_full_log_ms == 0) {
            qlog(TR_LOG_ERROR, q,
                 "queue full, dropping old entries until processing is successful again");
            q->last_full_log_ms = now;
        }
        drop_oldest(q);
    }
    if (q->conf.max_bytes > 0 && q->bytes + len > (size_t)q->conf.max_bytes) {
        size_t n = 0;
        while (q->cnt > 0 && q->bytes + len > (size_t)q->conf.max_bytes) {
            drop_oldest(q);
            n++;
        }
        qlog(TR_LOG_ERROR, q, "byte capacity exceeded, %zu queue entries were dropped", n);
    }
    if (q->cnt == q->cap)
        grow(q);
    size_t t = at(q, q->cnt);
    q->items[t] = entry;
    q->lens[t] = len;
    q->cnt++;
    q->bytes += len;
    schedule(q);
    return 0;
}

const char *tr_log_queue_name(const struct tr_log_queue *q)
{
    return q->name;
}

void *tr_log_queue_ud(const struct tr_log_queue *q)
{
    return q->ud;
}

uint64_t tr_log_queue_dropped(const struct tr_log_queue *q)
{
    return q->dropped;
}

void tr_log_queue_free(struct tr_log_queue *q)
{
    if (q == NULL)
        return;
    while (q->inflight != NULL) {
        struct batch *bt = q->inflight;
        q->inflight = bt->next;
        batch_free(q, bt);
    }
    while (q->cnt > 0)
        drop_oldest(q);
    uv_close((uv_handle_t *)q->coalesce, on_timer_closed);
    free(q->items);
    free(q->lens);
    free(q->tag);
    free(q->name);
    free(q);
}

int tr_log_queue_check_concurrency(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const json_t *v = json_object_get(rec, name);
    if (json_is_integer(v) && json_integer_value(v) != 1 && json_integer_value(v) != -1) {
        snprintf(msg, msg_len, "expected one of: -1, 1");
        return TR_EINVAL;
    }
    return 0;
}
