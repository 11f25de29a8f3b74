/* SPDX-License-Identifier: MIT */
/* Health state per address (lua-resty-healthcheck 3.x's counters and states, as Kong 3.9 feeds
 * them) and the registry that keeps it across config snapshots. */
#include "balancer/health.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/mem.h"

static const unsigned active_healthy[] = {200, 302};
static const unsigned active_unhealthy[] = {429, 404, 500, 501, 502, 503, 504, 505};
static const unsigned passive_healthy[] = {200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
                                           300, 301, 302, 303, 304, 305, 306, 307, 308};
static const unsigned passive_unhealthy[] = {429, 500, 503};

void tr_health_conf_set_statuses(struct tr_health_conf *c, enum tr_health_check check, bool healthy,
                                 const unsigned *list, size_t n)
{
    struct tr_health_checks *k = &c->checks[check];
    uint8_t *bits = healthy ? k->healthy_status : k->unhealthy_status;
    memset(bits, 0, sizeof(k->healthy_status));
    for (size_t i = 0; i < n; i++) {
        if (list[i] <= TR_HEALTH_STATUS_MAX)
            bits[list[i] / 8] |= (uint8_t)(1u << (list[i] % 8));
    }
}

void tr_health_conf_default(struct tr_health_conf *c)
{
    memset(c, 0, sizeof(*c));
    tr_health_conf_set_statuses(c, TR_CHECK_ACTIVE, true, active_healthy,
                                TR_ARRAY_SIZE(active_healthy));
    tr_health_conf_set_statuses(c, TR_CHECK_ACTIVE, false, active_unhealthy,
                                TR_ARRAY_SIZE(active_unhealthy));
    tr_health_conf_set_statuses(c, TR_CHECK_PASSIVE, true, passive_healthy,
                                TR_ARRAY_SIZE(passive_healthy));
    tr_health_conf_set_statuses(c, TR_CHECK_PASSIVE, false, passive_unhealthy,
                                TR_ARRAY_SIZE(passive_unhealthy));
    tr_health_conf_finish(c);
}

/* kong/runloop/balancer/healthcheckers.lua, is_upstream_using_healthcheck. */
void tr_health_conf_finish(struct tr_health_conf *c)
{
    const struct tr_health_checks *a = &c->checks[TR_CHECK_ACTIVE];
    const struct tr_health_checks *p = &c->checks[TR_CHECK_PASSIVE];
    c->off = !(a->healthy_interval_ms || a->unhealthy_interval_ms || p->tcp_failures ||
               p->timeouts || p->http_failures);
}

static bool has_status(const uint8_t *bits, unsigned status)
{
    return status <= TR_HEALTH_STATUS_MAX && (bits[status / 8] & (1u << (status % 8)));
}

static bool is_up(enum tr_health s)
{
    return s == TR_HEALTH_HEALTHY || s == TR_HEALTH_MOSTLY_HEALTHY;
}

bool tr_peer_available(const struct tr_peer *p, const struct tr_health_conf *conf)
{
    enum tr_health s = atomic_load_explicit(&p->state, memory_order_relaxed);
    if (conf->off && !atomic_load_explicit(&p->manual, memory_order_relaxed))
        return true;
    return is_up(s);
}

enum tr_health tr_peer_health(const struct tr_peer *p)
{
    return is_up(atomic_load_explicit(&p->state, memory_order_relaxed)) ? TR_HEALTH_HEALTHY
                                                                        : TR_HEALTH_UNHEALTHY;
}

enum counter { CTR_SUCCESS, CTR_HTTP, CTR_TCP, CTR_TIMEOUT };

/* lua-resty-healthcheck's incr_counter. */
static bool incr_counter(struct tr_peer *p, const struct tr_health_conf *conf, bool healthy,
                         unsigned limit, enum counter which)
{
    if (limit == 0 || conf->off)
        return false;
    tr_spin_lock(&p->lock);
    enum tr_health cur = atomic_load_explicit(&p->state, memory_order_relaxed);
    if ((healthy && cur == TR_HEALTH_HEALTHY) || (!healthy && cur == TR_HEALTH_UNHEALTHY)) {
        tr_spin_unlock(&p->lock);
        return false;
    }
    uint8_t *ctr = which == CTR_SUCCESS ? &p->successes
                   : which == CTR_HTTP  ? &p->http_failures
                   : which == CTR_TCP   ? &p->tcp_failures
                                        : &p->timeouts;
    if (*ctr < 255)
        (*ctr)++;
    unsigned value = *ctr;
    if (which == CTR_SUCCESS)
        p->http_failures = p->tcp_failures = p->timeouts = 0;
    else
        p->successes = 0;

    enum tr_health next = cur;
    if (value >= limit)
        next = healthy ? TR_HEALTH_HEALTHY : TR_HEALTH_UNHEALTHY;
    else if (cur == TR_HEALTH_HEALTHY && (p->http_failures || p->tcp_failures || p->timeouts))
        next = TR_HEALTH_MOSTLY_HEALTHY;
    else if (cur == TR_HEALTH_UNHEALTHY && p->successes)
        next = TR_HEALTH_MOSTLY_UNHEALTHY;
    if (next != cur) {
        atomic_store_explicit(&p->state, next, memory_order_relaxed);
        atomic_store_explicit(&p->manual, false, memory_order_relaxed);
    }
    tr_spin_unlock(&p->lock);
    return is_up(cur) != is_up(next);
}

bool tr_peer_report_http_status(struct tr_peer *p, const struct tr_health_conf *conf,
                                enum tr_health_check check, unsigned http_status)
{
    const struct tr_health_checks *k = &conf->checks[check];
    if (has_status(k->healthy_status, http_status))
        return incr_counter(p, conf, true, k->successes, CTR_SUCCESS);
    if (http_status == 0 || has_status(k->unhealthy_status, http_status))
        return incr_counter(p, conf, false, k->http_failures, CTR_HTTP);
    return false;
}

bool tr_peer_report_tcp_failure(struct tr_peer *p, const struct tr_health_conf *conf,
                                enum tr_health_check check)
{
    return incr_counter(p, conf, false, conf->checks[check].tcp_failures, CTR_TCP);
}

bool tr_peer_report_timeout(struct tr_peer *p, const struct tr_health_conf *conf,
                            enum tr_health_check check)
{
    return incr_counter(p, conf, false, conf->checks[check].timeouts, CTR_TIMEOUT);
}

bool tr_peer_report_success(struct tr_peer *p, const struct tr_health_conf *conf,
                            enum tr_health_check check)
{
    return incr_counter(p, conf, true, conf->checks[check].successes, CTR_SUCCESS);
}

void tr_peer_set_healthy(struct tr_peer *p, bool healthy)
{
    tr_spin_lock(&p->lock);
    p->successes = p->http_failures = p->tcp_failures = p->timeouts = 0;
    atomic_store_explicit(&p->state, healthy ? TR_HEALTH_HEALTHY : TR_HEALTH_UNHEALTHY,
                          memory_order_relaxed);
    atomic_store_explicit(&p->manual, true, memory_order_relaxed);
    tr_spin_unlock(&p->lock);
}

void tr_peer_counters(struct tr_peer *p, uint8_t out[4])
{
    tr_spin_lock(&p->lock);
    out[0] = p->successes;
    out[1] = p->http_failures;
    out[2] = p->tcp_failures;
    out[3] = p->timeouts;
    tr_spin_unlock(&p->lock);
}

/* The registry: a chained hash table under a mutex. */

struct tr_health_registry {
    pthread_mutex_t mu;
    struct tr_peer **buckets;
    size_t num_buckets; /* a power of two */
    size_t count;
};

static uint64_t peer_hash(const char *upstream_id, const char *host, uint16_t port)
{
    uint64_t h = tr_hash_update(TR_HASH_SEED, upstream_id, strlen(upstream_id) + 1);
    h = tr_hash_update(h, host, strlen(host) + 1);
    h = tr_hash_update(h, &port, sizeof(port));
    return tr_hash_final(h);
}

struct tr_health_registry *tr_health_registry_new(void)
{
    struct tr_health_registry *r = tr_xcalloc(1, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    r->num_buckets = 64;
    r->buckets = tr_xcalloc(r->num_buckets, sizeof(*r->buckets));
    return r;
}

static void peer_free(struct tr_peer *p)
{
    free(p->upstream_id);
    free(p->host);
    free(p->target);
    free(p);
}

void tr_health_registry_free(struct tr_health_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->num_buckets; i++) {
        for (struct tr_peer *p = r->buckets[i], *next; p; p = next) {
            next = p->next;
            peer_free(p);
        }
    }
    free(r->buckets);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static struct tr_peer *lookup(struct tr_health_registry *r, uint64_t h, const char *upstream_id,
                              const char *host, uint16_t port)
{
    for (struct tr_peer *p = r->buckets[h & (r->num_buckets - 1)]; p; p = p->next) {
        if (p->hash == h && p->port == port && strcmp(p->host, host) == 0 &&
            strcmp(p->upstream_id, upstream_id) == 0)
            return p;
    }
    return NULL;
}

static void grow(struct tr_health_registry *r)
{
    size_t n = r->num_buckets * 2;
    struct tr_peer **b = tr_xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < r->num_buckets; i++) {
        for (struct tr_peer *p = r->buckets[i], *next; p; p = next) {
            next = p->next;
            p->next = b[p->hash & (n - 1)];
            b[p->hash & (n - 1)] = p;
        }
    }
    free(r->buckets);
    r->buckets = b;
    r->num_buckets = n;
}

struct tr_peer *tr_health_acquire(struct tr_health_registry *r, const char *upstream_id,
                                  const char *host, uint16_t port, const char *target,
                                  bool *created)
{
    uint64_t h = peer_hash(upstream_id, host, port);
    pthread_mutex_lock(&r->mu);
    struct tr_peer *p = lookup(r, h, upstream_id, host, port);
    if (created)
        *created = p == NULL;
    if (!p) {
        if (r->count >= r->num_buckets)
            grow(r);
        p = tr_xcalloc(1, sizeof(*p));
        p->upstream_id = tr_xstrdup(upstream_id);
        p->host = tr_xstrdup(host);
        p->port = port;
        p->target = tr_xstrdup(target ? target : "");
        p->hash = h;
        atomic_init(&p->state, TR_HEALTH_HEALTHY);
        atomic_init(&p->manual, false);
        atomic_init(&p->in_flight, 0);
        atomic_init(&p->ewma_bits, 0);
        atomic_init(&p->ewma_at, 0);
        size_t b = h & (r->num_buckets - 1);
        p->next = r->buckets[b];
        r->buckets[b] = p;
        r->count++;
    }
    p->refs++;
    pthread_mutex_unlock(&r->mu);
    return p;
}

void tr_health_release(struct tr_health_registry *r, struct tr_peer *p)
{
    pthread_mutex_lock(&r->mu);
    if (--p->refs == 0) {
        struct tr_peer **pp = &r->buckets[p->hash & (r->num_buckets - 1)];
        while (*pp != p)
            pp = &(*pp)->next;
        *pp = p->next;
        r->count--;
        peer_free(p);
    }
    pthread_mutex_unlock(&r->mu);
}

struct tr_peer *tr_health_find(struct tr_health_registry *r, const char *upstream_id,
                               const char *host, uint16_t port)
{
    uint64_t h = peer_hash(upstream_id, host, port);
    pthread_mutex_lock(&r->mu);
    struct tr_peer *p = lookup(r, h, upstream_id, host, port);
    pthread_mutex_unlock(&r->mu);
    return p;
}

size_t tr_health_set_target(struct tr_health_registry *r, const char *upstream_id,
                            const char *target, bool healthy)
{
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->num_buckets; i++) {
        for (struct tr_peer *p = r->buckets[i]; p; p = p->next) {
            if (strcmp(p->upstream_id, upstream_id) == 0 && strcmp(p->target, target) == 0) {
                tr_peer_set_healthy(p, healthy);
                n++;
            }
        }
    }
    pthread_mutex_unlock(&r->mu);
    return n;
}

size_t tr_health_registry_count(struct tr_health_registry *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->count;
    pthread_mutex_unlock(&r->mu);
    return n;
}
