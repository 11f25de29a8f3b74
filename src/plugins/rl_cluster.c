/* SPDX-License-Identifier: MIT */
/* The `cluster` rate-limiting backend: a node-wide table of counters (striped spin locks like
 * the local table), each holding the last cluster total read from the database plus this
 * node's requests not yet written, and the flusher thread that writes those deltas and reads
 * the totals back, one transaction per flush. Requests whose counter has no known total yet
 * wait for the next flush on their own worker loop (woken by uv_async_send). */
#include "plugins/rl_cluster.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/spinlock.h"
#include "plugins/counters.h"
#include "store/counters.h"

#define NUM_ENTRIES (TR_RL_CLUSTER_BUCKETS * TR_RL_CLUSTER_WAYS)
/* Bound of one flush waiting for the database's write lock: 5 s, as the store's other
 * connections. Flushes run off the request path, so a busy admin writer only delays them; a
 * shorter bound turned ordinary write contention into "database is locked" errors. */
#define BUSY_MS 5000

enum state { UNUSED, LOADING, KNOWN };

struct entry {
    uint64_t key; /* 0: never used */
    int64_t window_end;
    int64_t known;     /* cluster total at the last flush (includes what this node wrote) */
    int64_t pending;   /* counted here since, not yet handed to the flusher (may be < 0) */
    int64_t in_flight; /* handed to the flush running now */
    int64_t last_use;  /* wall seconds of the last take */
    unsigned char state;
    unsigned char period;
    char plugin_id[38];
};

struct bucket {
    struct tr_spinlock lock;
    struct entry e[TR_RL_CLUSTER_WAYS];
} __attribute__((aligned(64)));

static struct bucket table[TR_RL_CLUSTER_BUCKETS];

struct flusher {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;       /* under mu */
    bool has_thread; /* the thread runs */
    struct tr_store_counters *db;
    struct tr_store_counter *rows; /* NUM_ENTRIES counters handed to the flush */
    char (*ids)[38];               /* NUM_ENTRIES plugin ids the rows point to */
    int64_t next_expire_s;
};

/* The worker side: parked requests and the async handle that wakes them. */
struct worker {
    uv_async_t async;
    struct tr_rl_cluster_wait *head;
    struct tr_rl_cluster_wait **tail;
    atomic_size_t parked;
    struct worker *next; /* in the registry */
};

static struct flusher fl = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
static atomic_bool available; /* a flusher (thread or manual) can load totals */
static atomic_bool failing;   /* the last flush failed */
static atomic_bool early;     /* a flush was asked for before the interval ends */
static atomic_uint since_flush;
static atomic_bool in_use; /* some counter was created since start */

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct worker *reg_head;

/* ---- the table -------------------------------------------------------------------------- */

static struct bucket *bucket_of(uint64_t key)
{
    return &table[tr_stripe(key, TR_RL_CLUSTER_BUCKETS)];
}

static void lock(struct bucket *b)
{
    tr_spin_lock(&b->lock);
}

static void unlock(struct bucket *b)
{
    tr_spin_unlock(&b->lock);
}

static struct entry *find(struct bucket *b, uint64_t key, int64_t window_end)
{
    for (size_t i = 0; i < TR_RL_CLUSTER_WAYS; i++) {
        if (b->e[i].key == key && b->e[i].window_end == window_end)
            return &b->e[i];
    }
    return NULL;
}

static void ask_flush(void)
{
    /* Only the first asker per flush takes the mutex. */
    if (atomic_exchange_explicit(&early, true, memory_order_acq_rel))
        return;
    pthread_mutex_lock(&fl.mu);
    pthread_cond_signal(&fl.cond);
    pthread_mutex_unlock(&fl.mu);
}

int tr_rl_cluster_take(uint64_t key, const char *plugin_id, int p, int64_t now, int64_t window_end,
                       int64_t limit, int64_t *count)
{
    *count = 0;
    if (!atomic_load_explicit(&available, memory_order_acquire))
        return TR_EDB;
    bool is_failing = atomic_load_explicit(&failing, memory_order_relaxed);
    struct bucket *b = bucket_of(key);
    lock(b);
    struct entry *e = find(b, key, window_end);
    if (e == NULL) {
        for (size_t i = 0; i < TR_RL_CLUSTER_WAYS && e == NULL; i++) {
            if (b->e[i].key == 0 || b->e[i].window_end <= now)
                e = &b->e[i];
        }
        if (e == NULL) {
            unlock(b);
            return TR_EINVAL;
        }
        memset(e, 0, sizeof(*e));
        e->key = key;
        e->window_end = window_end;
        e->state = LOADING;
        e->last_use = now;
        e->period = (unsigned char)p;
        snprintf(e->plugin_id, sizeof(e->plugin_id), "%s", plugin_id ? plugin_id : "");
        atomic_store_explicit(&in_use, true, memory_order_relaxed);
    } else if (e->state == KNOWN && e->last_use < now - TR_RL_CLUSTER_IDLE_S && !is_failing) {
        /* Unused for a while: the others' count may have moved far; read it again. */
        e->state = LOADING;
        e->last_use = now;
    }
    if (e->state != KNOWN) {
        unlock(b);
        if (is_failing)
            return TR_EDB;
        ask_flush();
        return TR_EAGAIN;
    }
    e->last_use = now;
    int64_t n = e->known + e->in_flight + e->pending;
    int rc = 0;
    if (n < limit) {
        e->pending++;
        n++;
        rc = 1;
    }
    unlock(b);
    *count = n;
    if (rc == 1 &&
        atomic_fetch_add_explicit(&since_flush, 1, memory_order_relaxed) + 1 == TR_RL_CLUSTER_BATCH)
        ask_flush();
    return rc;
}

void tr_rl_cluster_give_back(uint64_t key, int64_t window_end)
{
    struct bucket *b = bucket_of(key);
    lock(b);
    struct entry *e = find(b, key, window_end);
    if (e != NULL && e->state == KNOWN)
        e->pending--;
    unlock(b);
}

int64_t tr_rl_cluster_peek(uint64_t key, int64_t now)
{
    struct bucket *b = bucket_of(key);
    int64_t n = 0;
    lock(b);
    for (size_t i = 0; i < TR_RL_CLUSTER_WAYS; i++) {
        struct entry *e = &b->e[i];
        if (e->key == key && e->window_end > now && e->state == KNOWN) {
            n = e->known + e->in_flight + e->pending;
            break;
        }
    }
    unlock(b);
    return n;
}

bool tr_rl_cluster_is_failing(void)
{
    return atomic_load_explicit(&failing, memory_order_relaxed);
}

/* ---- the flush ------------------------------------------------------------------------- */

/* Hand every live counter that was used lately (or waits for its total) to the flush: its
 * pending delta moves to in_flight. Returns the number of items. */
static size_t collect(int64_t now)
{
    size_t n = 0;
    for (size_t bi = 0; bi < TR_RL_CLUSTER_BUCKETS; bi++) {
        struct bucket *b = &table[bi];
        lock(b);
        for (size_t i = 0; i < TR_RL_CLUSTER_WAYS; i++) {
            struct entry *e = &b->e[i];
            if (e->key == 0 || e->window_end <= now)
                continue;
            if (e->state == KNOWN && e->pending == 0 && e->last_use < now - TR_RL_CLUSTER_IDLE_S)
                continue; /* idle: read again on its next use */
            memcpy(fl.ids[n], e->plugin_id, sizeof(fl.ids[n]));
            fl.rows[n] = (struct tr_store_counter){
                .key = (int64_t)e->key,
                .window_end = e->window_end,
                .plugin_id = fl.ids[n],
                .period = tr_counters_period_name(e->period),
                .delta = e->pending,
            };
            n++;
            e->in_flight += e->pending;
            e->pending = 0;
        }
        unlock(b);
    }
    return n;
}

static void write_back(size_t n, bool ok)
{
    for (size_t i = 0; i < n; i++) {
        const struct tr_store_counter *r = &fl.rows[i];
        struct bucket *b = bucket_of((uint64_t)r->key);
        lock(b);
        struct entry *e = find(b, (uint64_t)r->key, r->window_end);
        if (e != NULL) {
            if (ok) {
                e->known = r->total;
                e->state = KNOWN;
            } else {
                e->pending += e->in_flight;
            }
            e->in_flight = 0;
        }
        unlock(b);
    }
}

static void wake_workers(void)
{
    pthread_mutex_lock(&reg_mu);
    for (struct worker *w = reg_head; w; w = w->next) {
        if (atomic_load_explicit(&w->parked, memory_order_acquire) > 0)
            uv_async_send(&w->async);
    }
    pthread_mutex_unlock(&reg_mu);
}

static int flush_once(void)
{
    atomic_store_explicit(&early, false, memory_order_release);
    atomic_store_explicit(&since_flush, 0, memory_order_relaxed);
    if (!atomic_load_explicit(&in_use, memory_order_relaxed))
        return 0;
    int64_t now = (int64_t)(tr_clock_wall_ms() / 1000);
    size_t n = collect(now);
    int64_t expire = 0;
    if (now >= fl.next_expire_s || atomic_load_explicit(&failing, memory_order_relaxed)) {
        /* Windows that ended more than a second ago, once a second (a node whose clock is
         * slightly behind does not lose the counter it still writes to); and after a
         * failure at every flush, so the probe is a write: reads can work while writes
         * cannot. */
        expire = now - 1;
        fl.next_expire_s = now + 1;
    }
    int rc = 0;
    if (n > 0 || expire > 0)
        rc = fl.db ? tr_store_counters_sync(fl.db, fl.rows, n, expire) : TR_EDB;
    write_back(n, rc == 0);
    atomic_store_explicit(&failing, rc != 0, memory_order_release);
    wake_workers();
    return rc;
}

static void *flusher_main(void *arg)
{
    (void)arg;
    uint64_t last = tr_clock_mono_ms();
    pthread_mutex_lock(&fl.mu);
    while (!fl.stop) {
        uint64_t gap = atomic_load_explicit(&early, memory_order_acquire) ? TR_RL_CLUSTER_MIN_GAP_MS
                                                                          : TR_RL_CLUSTER_FLUSH_MS;
        uint64_t now = tr_clock_mono_ms();
        if (now < last + gap) {
            uint64_t at = last + gap;
            struct timespec ts = {.tv_sec = (time_t)(at / 1000),
                                  .tv_nsec = (long)(at % 1000) * 1000000L};
            pthread_cond_timedwait(&fl.cond, &fl.mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&fl.mu);
        last = tr_clock_mono_ms();
        flush_once();
        pthread_mutex_lock(&fl.mu);
    }
    pthread_mutex_unlock(&fl.mu);
    flush_once(); /* what the workers counted before they stopped */
    return NULL;
}

static int open_db(struct tr_store *store, char *err, size_t err_len)
{
    if (tr_store_counters_open(store, BUSY_MS, &fl.db, err, err_len) != 0)
        return TR_EDB;
    fl.rows = tr_xcalloc(NUM_ENTRIES, sizeof(*fl.rows));
    fl.ids = tr_xcalloc(NUM_ENTRIES, sizeof(*fl.ids));
    atomic_store_explicit(&available, true, memory_order_release);
    return 0;
}

static void close_db(void)
{
    atomic_store_explicit(&available, false, memory_order_release);
    tr_store_counters_close(fl.db);
    fl.db = NULL;
    free(fl.rows);
    fl.rows = NULL;
    free(fl.ids);
    fl.ids = NULL;
}

int tr_rl_cluster_start(struct tr_store *store, char *err, size_t err_len)
{
    if (fl.has_thread || fl.db != NULL) {
        snprintf(err, err_len, "cluster counters already started");
        return TR_EINVAL;
    }
    if (open_db(store, err, err_len) != 0)
        return TR_EDB;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&fl.cond, &ca);
    pthread_condattr_destroy(&ca);
    fl.stop = false;
    if (pthread_create(&fl.thread, NULL, flusher_main, NULL) != 0) {
        snprintf(err, err_len, "cannot start the cluster counters thread");
        pthread_cond_destroy(&fl.cond);
        close_db();
        return TR_EDB;
    }
    fl.has_thread = true;
    return 0;
}

void tr_rl_cluster_stop(void)
{
    if (!fl.has_thread)
        return;
    pthread_mutex_lock(&fl.mu);
    fl.stop = true;
    pthread_cond_signal(&fl.cond);
    pthread_mutex_unlock(&fl.mu);
    pthread_join(fl.thread, NULL);
    fl.has_thread = false;
    pthread_cond_destroy(&fl.cond);
    close_db();
}

/* ---- parked requests ------------------------------------------------------------------- */

static void on_wake(uv_async_t *a)
{
    struct worker *w = a->data;
    struct tr_rl_cluster_wait *list = w->head;
    w->head = NULL;
    w->tail = &w->head;
    atomic_store_explicit(&w->parked, 0, memory_order_release);
    while (list) {
        struct tr_rl_cluster_wait *next = list->next;
        list->next = NULL;
        list->cb(list); /* may park again: onto the fresh list */
        list = next;
    }
}

void tr_rl_cluster_park(void **slot, uv_loop_t *loop, struct tr_rl_cluster_wait *wait)
{
    struct worker *w = *slot;
    if (w == NULL) {
        w = tr_xcalloc(1, sizeof(*w));
        w->tail = &w->head;
        uv_async_init(loop, &w->async, on_wake);
        w->async.data = w;
        /* Parked requests keep their connections, and so the loop, alive themselves. */
        uv_unref((uv_handle_t *)&w->async);
        pthread_mutex_lock(&reg_mu);
        w->next = reg_head;
        reg_head = w;
        pthread_mutex_unlock(&reg_mu);
        *slot = w;
    }
    wait->next = NULL;
    *w->tail = wait;
    w->tail = &wait->next;
    atomic_fetch_add_explicit(&w->parked, 1, memory_order_release);
}

static void on_worker_closed(uv_handle_t *h)
{
    free(h->data);
}

void tr_rl_cluster_worker_free(void *slot)
{
    struct worker *w = slot;
    if (w == NULL)
        return;
    pthread_mutex_lock(&reg_mu);
    for (struct worker **p = &reg_head; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    pthread_mutex_unlock(&reg_mu);
    if (w->head != NULL)
        tr_log_warn("rate-limiting: requests still waiting for cluster counters at stop");
    uv_close((uv_handle_t *)&w->async, on_worker_closed);
}

/* ---- tests ------------------------------------------------------------------------------ */

int tr__rl_cluster_manual(struct tr_store *store)
{
    char err[256];
    if (fl.has_thread || fl.db != NULL)
        return TR_EINVAL;
    if (open_db(store, err, sizeof(err)) != 0) {
        tr_log_error("rate-limiting: cluster counters: %s", err);
        return TR_EDB;
    }
    return 0;
}

int tr__rl_cluster_flush_now(void)
{
    return fl.db != NULL && !fl.has_thread ? flush_once() : TR_EINVAL;
}

void tr__rl_cluster_reset(void)
{
    if (!fl.has_thread)
        close_db();
    for (size_t i = 0; i < TR_RL_CLUSTER_BUCKETS; i++)
        memset(table[i].e, 0, sizeof(table[i].e));
    atomic_store(&failing, false);
    atomic_store(&in_use, false);
    fl.next_expire_s = 0;
}
