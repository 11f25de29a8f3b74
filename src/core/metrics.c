/* SPDX-License-Identifier: MIT */
/* Per-thread metric shards and their export (see metrics.h for the threading rules). */
#include "core/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/mem.h"

struct tr_metrics_series {
    struct tr_metrics_series *_Atomic next; /* publication list; set before publishing */
    struct tr_metrics_series *chain;        /* owner's hash chain */
    const struct tr_metric_family *family;
    uint64_t hash;
    _Atomic uint64_t count;    /* counter value, or a histogram's observations */
    _Atomic uint64_t sum_bits; /* histogram: the sum, as the bits of a double */
    _Atomic uint64_t *buckets; /* histogram: per-bucket counts (not cumulative) */
    size_t len;
    char labels[]; /* len bytes and a NUL; the buckets follow, aligned */
};

struct tr_metrics_shard {
    struct tr_metrics_series *_Atomic head;
    struct tr_metrics_series **table; /* owner only; mask + 1 chains */
    size_t mask, cnt, max;
    _Atomic uint64_t refused;
    _Atomic uint64_t bytes; /* series and table */
};

/* Only the owner writes, so load + store is an exact add that readers see whole. */
static inline void bump(_Atomic uint64_t *v, uint64_t by)
{
    atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

void tr_metrics_refuse(struct tr_metrics_shard *s);

static uint64_t series_hash(const struct tr_metric_family *f, const char *labels, size_t len)
{
    uint64_t h = tr_hash_update(TR_HASH_SEED, &f, sizeof(f));
    return tr_hash_final(tr_hash_update(h, labels, len));
}

struct tr_metrics_shard *tr_metrics_shard_new(size_t max_series)
{
    struct tr_metrics_shard *s = tr_xcalloc(1, sizeof(*s));
    s->mask = 63;
    s->table = tr_xcalloc(s->mask + 1, sizeof(s->table[0]));
    s->max = max_series;
    atomic_init(&s->bytes, (s->mask + 1) * sizeof(s->table[0]));
    atomic_init(&s->head, NULL);
    return s;
}

void tr_metrics_shard_free(struct tr_metrics_shard *s)
{
    if (s == NULL)
        return;
    struct tr_metrics_series *se = atomic_load_explicit(&s->head, memory_order_relaxed);
    while (se != NULL) {
        struct tr_metrics_series *next = atomic_load_explicit(&se->next, memory_order_relaxed);
        free(se);
        se = next;
    }
    free(s->table);
    free(s);
}

static void grow_table(struct tr_metrics_shard *s)
{
    size_t cap = (s->mask + 1) * 2;
    struct tr_metrics_series **t = tr_xcalloc(cap, sizeof(t[0]));
    for (size_t i = 0; i <= s->mask; i++) {
        struct tr_metrics_series *se = s->table[i];
        while (se != NULL) {
            struct tr_metrics_series *next = se->chain;
            size_t at = se->hash & (cap - 1);
            se->chain = t[at];
            t[at] = se;
            se = next;
        }
    }
    free(s->table);
    s->table = t;
    s->mask = cap - 1;
}

/* A new series of *size bytes. */
static struct tr_metrics_series *series_new(const struct tr_metric_family *f, const char *labels,
                                            size_t len, uint64_t hash, size_t *size)
{
    size_t head = sizeof(struct tr_metrics_series) + len + 1;
    size_t nb = f->type == TR_METRIC_HISTOGRAM ? f->nbuckets + 1 : 0; /* + the +Inf bucket */
    head = (head + 7) & ~(size_t)7;
    *size = head + nb * sizeof(uint64_t);
    struct tr_metrics_series *se = tr_xcalloc(1, *size);
    se->hash = hash;
    se->family = f;
    se->len = len;
    memcpy(se->labels, labels, len);
    se->labels[len] = '\0';
    se->buckets = nb ? (_Atomic uint64_t *)((char *)se + head) : NULL;
    return se;
}

struct tr_metrics_series *tr_metrics_series_get(struct tr_metrics_shard *s,
                                                const struct tr_metric_family *f,
                                                const char *labels, size_t len)
{
    uint64_t h = series_hash(f, labels, len);
    for (struct tr_metrics_series *se = s->table[h & s->mask]; se != NULL; se = se->chain) {
        if (se->hash == h && se->family == f && se->len == len &&
            memcmp(se->labels, labels, len) == 0)
            return se;
    }
    if (s->cnt >= s->max) {
        tr_metrics_refuse(s);
        return NULL;
    }
    size_t size;
    struct tr_metrics_series *se = series_new(f, labels, len, h, &size);
    bump(&s->bytes, size);
    if (s->cnt + 1 > (s->mask + 1) / 2 * 3 / 2) {
        grow_table(s);
        bump(&s->bytes, (s->mask + 1) / 2 * sizeof(s->table[0]));
    }
    se->chain = s->table[h & s->mask];
    s->table[h & s->mask] = se;
    s->cnt++;
    atomic_store_explicit(&se->next, atomic_load_explicit(&s->head, memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&s->head, se, memory_order_release); /* se is whole before it shows */
    return se;
}

void tr_metrics_add(struct tr_metrics_series *se, uint64_t v)
{
    if (se != NULL)
        bump(&se->count, v);
}

void tr_metrics_observe(struct tr_metrics_series *se, double v)
{
    if (se == NULL)
        return;
    const struct tr_metric_family *f = se->family;
    size_t i = 0;
    while (i < f->nbuckets && v > f->buckets[i])
        i++;
    bump(&se->buckets[i], 1);
    double sum;
    uint64_t bits = atomic_load_explicit(&se->sum_bits, memory_order_relaxed);
    memcpy(&sum, &bits, sizeof(sum));
    sum += v;
    memcpy(&bits, &sum, sizeof(bits));
    atomic_store_explicit(&se->sum_bits, bits, memory_order_relaxed);
    bump(&se->count, 1);
}

void tr_metrics_refuse(struct tr_metrics_shard *s)
{
    bump(&s->refused, 1);
}

uint64_t tr_metrics_shard_refused(const struct tr_metrics_shard *s)
{
    return atomic_load_explicit(&((struct tr_metrics_shard *)s)->refused, memory_order_relaxed);
}

uint64_t tr_metrics_shard_bytes(const struct tr_metrics_shard *s)
{
    return atomic_load_explicit(&((struct tr_metrics_shard *)s)->bytes, memory_order_relaxed);
}

uint64_t tr_metrics_shard_bound_bytes(const struct tr_metrics_shard *s)
{
    size_t per = sizeof(struct tr_metrics_series) + 256 + 18 * sizeof(uint64_t) +
                 2 * sizeof(struct tr_metrics_series *);
    return (uint64_t)s->max * per;
}

/* ---- exporting ---------------------------------------------------------------------------- */

/* One series of the output. */
struct out_entry {
    const struct tr_metric_family *family;
    char *labels; /* owned */
    size_t len;
    uint64_t hash;
    double value; /* counter, gauge; a histogram's sum */
    uint64_t count;
    uint64_t *buckets; /* owned; histogram */
    struct out_entry *chain;
};

struct tr_metrics_out {
    struct out_entry **table;
    size_t mask, cnt;
};

struct tr_metrics_out *tr_metrics_out_new(void)
{
    struct tr_metrics_out *o = tr_xcalloc(1, sizeof(*o));
    o->mask = 255;
    o->table = tr_xcalloc(o->mask + 1, sizeof(o->table[0]));
    return o;
}

static void each_entry(const struct tr_metrics_out *o, void (*cb)(struct out_entry *, void *),
                       void *ud)
{
    for (size_t i = 0; i <= o->mask; i++) {
        struct out_entry *e = o->table[i];
        while (e != NULL) {
            struct out_entry *next = e->chain;
            cb(e, ud);
            e = next;
        }
    }
}

static void entry_free(struct out_entry *e, void *ud)
{
    (void)ud;
    free(e->labels);
    free(e->buckets);
    free(e);
}

void tr_metrics_out_free(struct tr_metrics_out *o)
{
    if (o == NULL)
        return;
    each_entry(o, entry_free, NULL);
    free(o->table);
    free(o);
}

static void out_grow(struct tr_metrics_out *o)
{
    size_t cap = (o->mask + 1) * 2;
    struct out_entry **t = tr_xcalloc(cap, sizeof(t[0]));
    for (size_t i = 0; i <= o->mask; i++) {
        struct out_entry *e = o->table[i];
        while (e != NULL) {
            struct out_entry *next = e->chain;
            e->chain = t[e->hash & (cap - 1)];
            t[e->hash & (cap - 1)] = e;
            e = next;
        }
    }
    free(o->table);
    o->table = t;
    o->mask = cap - 1;
}

/* The entry of (f, labels), made when absent. */
static struct out_entry *out_entry_get(struct tr_metrics_out *o, const struct tr_metric_family *f,
                                       const char *labels, size_t len)
{
    uint64_t h = series_hash(f, labels, len);
    for (struct out_entry *e = o->table[h & o->mask]; e != NULL; e = e->chain) {
        if (e->hash == h && e->family == f && e->len == len && memcmp(e->labels, labels, len) == 0)
            return e;
    }
    if (o->cnt + 1 > o->mask + 1)
        out_grow(o);
    struct out_entry *e = tr_xcalloc(1, sizeof(*e));
    e->family = f;
    e->hash = h;
    e->labels = tr_xmalloc(len + 1);
    memcpy(e->labels, labels, len);
    e->labels[len] = '\0';
    e->len = len;
    if (f->type == TR_METRIC_HISTOGRAM)
        e->buckets = tr_xcalloc(f->nbuckets + 1, sizeof(uint64_t));
    e->chain = o->table[h & o->mask];
    o->table[h & o->mask] = e;
    o->cnt++;
    return e;
}

void tr_metrics_out_merge(struct tr_metrics_out *o, const struct tr_metrics_shard *s)
{
    struct tr_metrics_series *se =
        atomic_load_explicit(&((struct tr_metrics_shard *)s)->head, memory_order_acquire);
    for (; se != NULL; se = atomic_load_explicit(&se->next, memory_order_relaxed)) {
        struct out_entry *e = out_entry_get(o, se->family, se->labels, se->len);
        if (se->family->type != TR_METRIC_HISTOGRAM) {
            e->value += (double)atomic_load_explicit(&se->count, memory_order_relaxed);
            continue;
        }
        /* Buckets before the count and sum: a scrape racing an observation may show it in a
         * bucket and not yet in _count, never the other way round. */
        for (size_t i = 0; i <= se->family->nbuckets; i++)
            e->buckets[i] += atomic_load_explicit(&se->buckets[i], memory_order_relaxed);
        e->count += atomic_load_explicit(&se->count, memory_order_relaxed);
        uint64_t bits = atomic_load_explicit(&se->sum_bits, memory_order_relaxed);
        double sum;
        memcpy(&sum, &bits, sizeof(sum));
        e->value += sum;
    }
}

void tr_metrics_out_add(struct tr_metrics_out *o, const struct tr_metric_family *f,
                        const char *labels, double v)
{
    if (f->type == TR_METRIC_HISTOGRAM)
        return;
    struct out_entry *e = out_entry_get(o, f, labels ? labels : "", labels ? strlen(labels) : 0);
    e->value += v;
}

static int by_name_then_labels(const void *a, const void *b)
{
    const struct out_entry *x = *(const struct out_entry *const *)a;
    const struct out_entry *y = *(const struct out_entry *const *)b;
    int c = strcmp(x->family->name, y->family->name);
    return c != 0 ? c : strcmp(x->labels, y->labels);
}

/* Numbers as Kong's exporter prints them (Lua's tostring: "%.14g"): 1, 0.00037, 1e+15. */
static void format_number(char *out, size_t len, double v)
{
    if (isinf(v))
        snprintf(out, len, "%s", v > 0 ? "+Inf" : "-Inf");
    else if (isnan(v))
        snprintf(out, len, "NaN");
    else
        snprintf(out, len, "%.14g", v);
}

static int appendf(struct tr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int appendf(struct tr_buf *b, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return TR_EINTERNAL;
    if ((size_t)n < sizeof(line))
        return tr_buf_append(b, line, (size_t)n);
    char *big = tr_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = tr_buf_append(b, big, (size_t)n);
    free(big);
    return rc;
}

static const char *type_name(enum tr_metric_type t)
{
    return t == TR_METRIC_COUNTER ? "counter" : t == TR_METRIC_GAUGE ? "gauge" : "histogram";
}

/* name_<suffix>{labels} or name_<suffix> without labels. */
static int series_name(struct tr_buf *b, const struct out_entry *e, const char *suffix)
{
    if (e->len)
        return appendf(b, "%s%s{%s}", e->family->name, suffix, e->labels);
    return appendf(b, "%s%s", e->family->name, suffix);
}

/* The bucket lines of one series, cumulative; a bucket nothing fell into yet is left out, as
 * Kong's exporter (which makes a bucket on its first increment) leaves it out. */
static int render_buckets(const struct out_entry *e, struct tr_buf *b)
{
    const struct tr_metric_family *f = e->family;
    uint64_t cumulative = 0;
    char num[64];
    int rc = 0;
    for (size_t i = 0; rc == 0 && i <= f->nbuckets; i++) {
        cumulative += e->buckets[i];
        if (cumulative == 0)
            continue;
        if (i < f->nbuckets)
            format_number(num, sizeof(num), f->buckets[i]);
        else
            snprintf(num, sizeof(num), "+Inf");
        rc = appendf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", f->name, e->labels, e->len ? "," : "",
                     num, (unsigned long long)cumulative);
    }
    return rc;
}

/* A histogram family, its series items[0..n): every series' buckets, then every _count, then
 * every _sum (the order of Kong's sorted keys). */
static int render_histogram(struct out_entry *const *items, size_t n, struct tr_buf *b)
{
    int rc = 0;
    char num[64];
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = render_buckets(items[i], b);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = series_name(b, items[i], "_count");
        if (rc == 0)
            rc = appendf(b, " %llu\n", (unsigned long long)items[i]->count);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        format_number(num, sizeof(num), items[i]->value);
        rc = series_name(b, items[i], "_sum");
        if (rc == 0)
            rc = appendf(b, " %s\n", num);
    }
    return rc;
}

struct collect {
    struct out_entry **items;
    size_t cnt;
};

static void collect_one(struct out_entry *e, void *ud)
{
    struct collect *c = ud;
    c->items[c->cnt++] = e;
}

int tr_metrics_out_render(const struct tr_metrics_out *o, struct tr_buf *b)
{
    struct collect c = {.items = tr_xmalloc((o->cnt + 1) * sizeof(c.items[0]))};
    each_entry(o, collect_one, &c);
    qsort(c.items, c.cnt, sizeof(c.items[0]), by_name_then_labels);
    int rc = 0;
    char num[64];
    for (size_t i = 0; rc == 0 && i < c.cnt;) {
        const struct tr_metric_family *f = c.items[i]->family;
        size_t end = i;
        while (end < c.cnt && strcmp(c.items[end]->family->name, f->name) == 0)
            end++;
        rc = appendf(b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                     type_name(f->type));
        if (rc == 0 && f->type == TR_METRIC_HISTOGRAM)
            rc = render_histogram(c.items + i, end - i, b);
        for (size_t k = i; rc == 0 && f->type != TR_METRIC_HISTOGRAM && k < end; k++) {
            format_number(num, sizeof(num), c.items[k]->value);
            rc = series_name(b, c.items[k], "");
            if (rc == 0)
                rc = appendf(b, " %s\n", num);
        }
        i = end;
    }
    free(c.items);
    return rc;
}

size_t tr_metrics_escape(char *dst, size_t dst_len, const char *value, size_t len)
{
    size_t o = 0;
    if (dst_len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = value[i];
        const char *rep = ch == '\\' ? "\\\\" : ch == '"' ? "\\\"" : ch == '\n' ? "\\n" : NULL;
        size_t need = rep ? 2 : 1;
        if (o + need >= dst_len) {
            dst[o] = '\0';
            return dst_len;
        }
        if (rep) {
            dst[o++] = rep[0];
            dst[o++] = rep[1];
        } else {
            dst[o++] = ch;
        }
    }
    dst[o] = '\0';
    return o;
}
