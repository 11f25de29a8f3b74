/* SPDX-License-Identifier: MIT */
/* Fixed calendar windows and the node-wide counter table of the rate-limiting `local` policy:
 * buckets of a few entries, each bucket behind its own spin lock (held for a handful of loads
 * and stores), so the count is exact across worker threads without any allocation. */
#include "plugins/counters.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/spinlock.h"

static const char *const names[TR_COUNTERS_NUM_PERIODS] = {"second", "minute", "hour",
                                                           "day",    "month",  "year"};
static const char *const titles[TR_COUNTERS_NUM_PERIODS] = {"Second", "Minute", "Hour",
                                                            "Day",    "Month",  "Year"};

const char *tr_counters_period_name(int p)
{
    return p >= 0 && p < TR_COUNTERS_NUM_PERIODS ? names[p] : "";
}

const char *tr_counters_period_title(int p)
{
    return p >= 0 && p < TR_COUNTERS_NUM_PERIODS ? titles[p] : "";
}

static int64_t floor_to(int64_t now, int64_t len)
{
    int64_t r = now % len;
    if (r < 0)
        r += len;
    return now - r;
}

void tr_counters_window(int p, int64_t now, int64_t *start, int64_t *end)
{
    static const int64_t fixed[] = {1, 60, 3600, 86400};
    if (p >= TR_COUNTERS_SECOND && p <= TR_COUNTERS_DAY) {
        *start = floor_to(now, fixed[p]);
        *end = *start + fixed[p];
        return;
    }
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    tm.tm_sec = 0;
    tm.tm_min = 0;
    tm.tm_hour = 0;
    tm.tm_mday = 1;
    tm.tm_isdst = 0;
    if (p == TR_COUNTERS_YEAR)
        tm.tm_mon = 0;
    struct tm next = tm;
    *start = (int64_t)timegm(&tm);
    if (p == TR_COUNTERS_YEAR)
        next.tm_year++;
    else
        next.tm_mon++; /* timegm normalises month 12 into January of the next year */
    *end = (int64_t)timegm(&next);
}

/* ---- the local table ---------------------------------------------------------------------- */

struct entry {
    uint64_t key; /* 0: never used */
    int64_t window_end;
    int64_t count;
};

struct bucket {
    struct tr_spinlock lock;
    struct entry e[TR_COUNTERS_LOCAL_WAYS];
} __attribute__((aligned(64)));

/* Zero-initialised: every lock clear, every entry unused. About 1.7 MB of address space,
 * touched only where keys land. */
static struct bucket table[TR_COUNTERS_LOCAL_BUCKETS];

static struct bucket *bucket_of(uint64_t key)
{
    return &table[tr_stripe(key, TR_COUNTERS_LOCAL_BUCKETS)];
}

static void lock(struct bucket *b)
{
    tr_spin_lock(&b->lock);
}

static void unlock(struct bucket *b)
{
    tr_spin_unlock(&b->lock);
}

int tr_counters_local_take(uint64_t key, int64_t now, int64_t window_end, int64_t limit,
                           int64_t *count)
{
    struct bucket *b = bucket_of(key);
    lock(b);
    struct entry *hit = NULL, *spare = NULL;
    for (size_t i = 0; i < TR_COUNTERS_LOCAL_WAYS; i++) {
        struct entry *e = &b->e[i];
        if (e->key == key && e->window_end == window_end) {
            hit = e;
            break;
        }
        if (spare == NULL && (e->key == 0 || e->window_end <= now))
            spare = e;
    }
    if (hit == NULL) {
        if (spare == NULL) {
            unlock(b);
            *count = 0;
            return TR_EINVAL;
        }
        hit = spare;
        hit->key = key;
        hit->window_end = window_end;
        hit->count = 0;
    }
    int rc = 0;
    if (hit->count < limit) {
        hit->count++;
        rc = 1;
    }
    *count = hit->count;
    unlock(b);
    return rc;
}

void tr_counters_local_give_back(uint64_t key, int64_t window_end)
{
    struct bucket *b = bucket_of(key);
    lock(b);
    for (size_t i = 0; i < TR_COUNTERS_LOCAL_WAYS; i++) {
        struct entry *e = &b->e[i];
        if (e->key == key && e->window_end == window_end) {
            if (e->count > 0)
                e->count--;
            break;
        }
    }
    unlock(b);
}

int64_t tr_counters_local_peek(uint64_t key, int64_t now)
{
    struct bucket *b = bucket_of(key);
    int64_t n = 0;
    lock(b);
    for (size_t i = 0; i < TR_COUNTERS_LOCAL_WAYS; i++) {
        struct entry *e = &b->e[i];
        if (e->key == key && e->window_end > now) {
            n = e->count;
            break;
        }
    }
    unlock(b);
    return n;
}

void tr_counters_local_reset(void)
{
    for (size_t i = 0; i < TR_COUNTERS_LOCAL_BUCKETS; i++)
        memset(table[i].e, 0, sizeof(table[i].e));
}
