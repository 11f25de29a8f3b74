/* SPDX-License-Identifier: MIT */
/* The balancer of one upstream: build, the four algorithms' picks, and the reports that feed
 * them. Kong 3.9's kong/runloop/balancer/ is the reference for each algorithm; where this file
 * differs, docs/internals/balancer.md says how and why. */
#include "balancer/balancer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "balancer/ring.h"
#include "core/err.h"
#include "core/intmath.h"
#include "core/mem.h"
#include "core/spinlock.h"

#define LATENCY_DECAY_MS 10000.0 /* Kong's DECAY_TIME, 10 s */
#define RR_CYCLE_MAX 65536       /* entries of a precomputed round-robin cycle */
#define RR_CYCLE_WORK_MAX (1u << 23)

struct tr_balancer {
    atomic_uint refs;
    struct tr_health_registry *reg; /* borrowed; outlives the balancer */
    char *upstream_id;
    enum tr_lb_algorithm algorithm;
    uint32_t slots;
    struct tr_health_conf health;
    struct tr_lb_address *addrs; /* num of them, the spec's order */
    size_t num;
    uint64_t total_weight;

    /* round-robin: one cycle of nginx's smooth weighted round-robin over every address, computed
     * at build (rr_len entries, NULL when too long), walked by an atomic position; and the live
     * algorithm's state, under rr_lock, for picks the cycle cannot serve */
    uint32_t *rr_cycle;
    uint32_t rr_len;
    atomic_uint_least64_t rr_pos;
    struct tr_spinlock rr_lock;
    int64_t *rr_current;

    /* least-connections and latency: where the next scan starts, so ties rotate */
    atomic_uint rotor;

    /* consistent-hashing: ring[pos] an address index or TR_RING_EMPTY; hop[pos] the first
     * filled position at or below pos (wrapping), so a lookup never walks empty slots */
    uint32_t *ring;
    uint32_t *hop;
    uint32_t points;
};

static const char *const algorithm_names[] = {
    [TR_LB_ROUND_ROBIN] = "round-robin",
    [TR_LB_CONSISTENT_HASHING] = "consistent-hashing",
    [TR_LB_LEAST_CONNECTIONS] = "least-connections",
    [TR_LB_LATENCY] = "latency",
};

const char *tr_lb_algorithm_name(enum tr_lb_algorithm a)
{
    return (size_t)a < TR_ARRAY_SIZE(algorithm_names) ? algorithm_names[a] : "";
}

int tr_lb_algorithm_parse(const char *name, enum tr_lb_algorithm *out)
{
    for (size_t i = 0; i < TR_ARRAY_SIZE(algorithm_names); i++) {
        if (name && strcmp(name, algorithm_names[i]) == 0) {
            *out = (enum tr_lb_algorithm)i;
            return 0;
        }
    }
    return TR_EINVAL;
}

static double ewma_get(const struct tr_peer *p, uint64_t *at)
{
    uint64_t bits = atomic_load_explicit(&p->ewma_bits, memory_order_relaxed);
    double v;
    memcpy(&v, &bits, sizeof(v));
    *at = atomic_load_explicit(&p->ewma_at, memory_order_relaxed);
    return v;
}

static void ewma_set(struct tr_peer *p, double v, uint64_t at)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    atomic_store_explicit(&p->ewma_bits, bits, memory_order_relaxed);
    atomic_store_explicit(&p->ewma_at, at, memory_order_relaxed);
}

/* Kong's decay_ewma: the average moved toward rtt by how long it was left alone. */
static double decay(double ewma, uint64_t at, double rtt, uint64_t now)
{
    double td = now > at ? (double)(now - at) : 0;
    double w = exp(-td / LATENCY_DECAY_MS);
    return ewma * w + rtt * (1.0 - w);
}

static bool spec_valid(const struct tr_lb_spec *s)
{
    if (!s->upstream_id || !s->health || (unsigned)s->algorithm > TR_LB_LATENCY)
        return false;
    if (s->slots < TR_LB_SLOTS_MIN || s->slots > TR_LB_SLOTS_MAX)
        return false;
    if (s->num_addresses > TR_LB_ADDRESSES_MAX || (s->num_addresses && !s->addresses))
        return false;
    for (size_t i = 0; i < s->num_addresses; i++) {
        const struct tr_lb_address_spec *a = &s->addresses[i];
        if (!a->host || !a->host[0] || a->port == 0 || a->weight > TR_LB_WEIGHT_MAX)
            return false;
    }
    return true;
}

/* Latency's slow start (Kong's afterHostUpdate): an address new to the registry starts at the
 * average of the upstream's addresses, so it is neither flooded nor starved. */
static void latency_slow_start(struct tr_balancer *b, const bool *created, uint64_t now)
{
    double sum = 0;
    size_t count = 0, known = 0;
    for (size_t i = 0; i < b->num; i++) {
        if (!tr_peer_available(b->addrs[i].peer, &b->health))
            continue;
        uint64_t at = 0;
        sum += created[i] ? 0 : ewma_get(b->addrs[i].peer, &at);
        known += at != 0;
        count++;
    }
    /* Kong also starts a wholly new upstream at 0 "touched now", which only damps the first
     * samples; without any average to start from, the first sample becomes the average. */
    if (known == 0)
        return;
    for (size_t i = 0; i < b->num; i++) {
        if (created[i])
            ewma_set(b->addrs[i].peer, sum / (double)count, now ? now : 1);
    }
}

/* One cycle of the smooth weighted round-robin over every address of weight > 0: sum(weights) /
 * gcd(weights) picks. Skipped when the cycle or its computation would be large. */
static void rr_cycle_build(struct tr_balancer *b)
{
    uint64_t g = 0;
    for (size_t i = 0; i < b->num; i++)
        g = tr_gcd(g, b->addrs[i].weight);
    if (g == 0)
        return;
    uint64_t len = b->total_weight / g;
    if (len > RR_CYCLE_MAX || len * b->num > RR_CYCLE_WORK_MAX)
        return;
    b->rr_cycle = tr_xmalloc(sizeof(*b->rr_cycle) * len);
    b->rr_len = (uint32_t)len;
    int64_t *cur = tr_xcalloc(b->num, sizeof(*cur));
    for (uint64_t k = 0; k < len; k++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < b->num; i++) {
            if (b->addrs[i].weight == 0)
                continue;
            cur[i] += b->addrs[i].weight / g;
            if (best == SIZE_MAX || cur[i] > cur[best])
                best = i;
        }
        cur[best] -= (int64_t)len;
        b->rr_cycle[k] = (uint32_t)best;
    }
    free(cur);
}

int tr_balancer_new(struct tr_health_registry *reg, const struct tr_lb_spec *spec,
                    struct tr_balancer **out)
{
    *out = NULL;
    if (!reg || !spec_valid(spec))
        return TR_EINVAL;
    struct tr_balancer *b = tr_xcalloc(1, sizeof(*b));
    atomic_init(&b->refs, 1);
    atomic_init(&b->rotor, 0);
    atomic_init(&b->rr_pos, 0);
    b->reg = reg;
    b->upstream_id = tr_xstrdup(spec->upstream_id);
    b->algorithm = spec->algorithm;
    b->slots = spec->slots;
    b->health = *spec->health;
    b->num = spec->num_addresses;
    b->addrs = tr_xcalloc(b->num ? b->num : 1, sizeof(*b->addrs));
    b->rr_current = tr_xcalloc(b->num ? b->num : 1, sizeof(*b->rr_current));
    bool *created = tr_xcalloc(b->num ? b->num : 1, sizeof(*created));
    for (size_t i = 0; i < b->num; i++) {
        const struct tr_lb_address_spec *s = &spec->addresses[i];
        struct tr_lb_address *a = &b->addrs[i];
        a->peer = tr_health_acquire(reg, b->upstream_id, s->host, s->port, s->target, &created[i]);
        a->host = a->peer->host;
        a->port = s->port;
        a->weight = s->weight;
        a->target = tr_xstrdup(s->target ? s->target : "");
        a->index = (uint32_t)i;
        a->fresh = created[i];
        b->total_weight += s->weight;
    }
    if (b->algorithm == TR_LB_ROUND_ROBIN)
        rr_cycle_build(b);
    if (b->algorithm == TR_LB_CONSISTENT_HASHING) {
        b->points = tr_ring_points(b->slots);
        b->ring = tr_xmalloc(sizeof(*b->ring) * b->points);
        struct tr_ring_entry *e = tr_xcalloc(b->num ? b->num : 1, sizeof(*e));
        for (size_t i = 0; i < b->num; i++) {
            const struct tr_lb_address_spec *s = &spec->addresses[i];
            e[i] = (struct tr_ring_entry){s->host, s->port, s->weight, s->target};
        }
        tr_ring_fill(b->ring, b->points, e, b->num);
        free(e);
        b->hop = tr_xmalloc(sizeof(*b->hop) * b->points);
        uint32_t last = TR_RING_EMPTY;
        for (uint32_t pass = 0; pass < 2; pass++) { /* the second pass wraps around */
            for (uint32_t p = 0; p < b->points; p++) {
                if (b->ring[p] != TR_RING_EMPTY)
                    last = p;
                b->hop[p] = last;
            }
        }
    }
    if (b->algorithm == TR_LB_LATENCY)
        latency_slow_start(b, created, spec->now_ms);
    free(created);
    *out = b;
    return 0;
}

void tr_balancer_ref(struct tr_balancer *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
}

void tr_balancer_unref(struct tr_balancer *b)
{
    if (!b || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < b->num; i++) {
        tr_health_release(b->reg, b->addrs[i].peer);
        free((char *)b->addrs[i].target);
    }
    free(b->addrs);
    free(b->rr_current);
    free(b->rr_cycle);
    free(b->ring);
    free(b->hop);
    free(b->upstream_id);
    free(b);
}

static bool checks_eq(const struct tr_health_checks *a, const struct tr_health_checks *b)
{
    return memcmp(a->healthy_status, b->healthy_status, sizeof(a->healthy_status)) == 0 &&
           memcmp(a->unhealthy_status, b->unhealthy_status, sizeof(a->unhealthy_status)) == 0 &&
           a->successes == b->successes && a->http_failures == b->http_failures &&
           a->tcp_failures == b->tcp_failures && a->timeouts == b->timeouts &&
           a->healthy_interval_ms == b->healthy_interval_ms &&
           a->unhealthy_interval_ms == b->unhealthy_interval_ms;
}

static bool conf_eq(const struct tr_health_conf *a, const struct tr_health_conf *b)
{
    return checks_eq(&a->checks[0], &b->checks[0]) && checks_eq(&a->checks[1], &b->checks[1]) &&
           a->threshold == b->threshold && a->off == b->off;
}

bool tr_balancer_matches(const struct tr_balancer *b, const struct tr_lb_spec *spec)
{
    if (!spec_valid(spec) || strcmp(b->upstream_id, spec->upstream_id) != 0 ||
        b->algorithm != spec->algorithm || b->num != spec->num_addresses ||
        !conf_eq(&b->health, spec->health))
        return false;
    if (b->algorithm == TR_LB_CONSISTENT_HASHING && b->slots != spec->slots)
        return false;
    for (size_t i = 0; i < b->num; i++) {
        const struct tr_lb_address *a = &b->addrs[i];
        const struct tr_lb_address_spec *s = &spec->addresses[i];
        if (a->port != s->port || a->weight != s->weight || strcmp(a->host, s->host) != 0 ||
            strcmp(a->target, s->target ? s->target : "") != 0)
            return false;
    }
    return true;
}

/* Can address i be picked now: weight, health, and (unless ignored) not tried yet. */
static bool usable(const struct tr_balancer *b, size_t i, const struct tr_lb_tried *t,
                   bool use_tried)
{
    const struct tr_lb_address *a = &b->addrs[i];
    if (a->weight == 0 || !tr_peer_available(a->peer, &b->health))
        return false;
    if (use_tried) {
        for (uint32_t j = 0; j < t->num; j++) {
            if (t->index[j] == i)
                return false;
        }
    }
    return true;
}

/* nginx's smooth weighted round-robin (ngx_http_upstream_get_peer): every usable address gains
 * its weight, the largest current value wins and loses the total. */
static long pick_round_robin(struct tr_balancer *b, const struct tr_lb_tried *t, bool use_tried)
{
    /* The cycle's next entry when it is usable: the whole sequence while every address is, so
     * exact and smooth without a lock; entries that are not (unhealthy, tried) fall to the live
     * algorithm over the usable ones, also in proportion to their weights. */
    if (b->rr_cycle) {
        uint64_t k = atomic_fetch_add_explicit(&b->rr_pos, 1, memory_order_relaxed) % b->rr_len;
        uint32_t i = b->rr_cycle[k];
        if (usable(b, i, t, use_tried))
            return (long)i;
    }
    long best = -1;
    int64_t total = 0;
    tr_spin_lock(&b->rr_lock);
    for (size_t i = 0; i < b->num; i++) {
        if (!usable(b, i, t, use_tried))
            continue;
        b->rr_current[i] += b->addrs[i].weight;
        total += b->addrs[i].weight;
        if (best < 0 || b->rr_current[i] > b->rr_current[best])
            best = (long)i;
    }
    if (best >= 0)
        b->rr_current[best] -= total;
    tr_spin_unlock(&b->rr_lock);
    return best;
}

/* Kong's getPeer: from the key's ring position downward (wrapping) to the first usable slot. */
static long pick_hash(struct tr_balancer *b, const char *key, size_t key_len, struct tr_lb_tried *t,
                      bool use_tried)
{
    uint32_t pos;
    if (t && t->hashed) {
        pos = t->hash;
    } else {
        pos = tr_ring_position(key, key_len, b->points);
        if (t) {
            t->hash = pos;
            t->hashed = true;
        }
    }
    /* each step lands on a filled slot; there are at most points of them */
    for (uint32_t n = 0; n < b->points; n++) {
        uint32_t p = b->hop[pos];
        if (p == TR_RING_EMPTY)
            return -1; /* an empty ring */
        uint32_t i = b->ring[p];
        if (usable(b, i, t, use_tried))
            return (long)i;
        pos = p ? p - 1 : b->points - 1;
    }
    return -1;
}

/* Kong's least-connections: the lowest (in flight + 1) / weight; ties go to the first met in a
 * scan whose start rotates with every pick. */
static long pick_least_conn(struct tr_balancer *b, const struct tr_lb_tried *t, bool use_tried)
{
    long best = -1;
    uint64_t best_n = 0, best_w = 1;
    size_t start = atomic_fetch_add_explicit(&b->rotor, 1, memory_order_relaxed) % b->num;
    for (size_t k = 0; k < b->num; k++) {
        size_t i = start + k < b->num ? start + k : start + k - b->num;
        if (!usable(b, i, t, use_tried))
            continue;
        uint64_t n = atomic_load_explicit(&b->addrs[i].peer->in_flight, memory_order_relaxed);
        uint64_t w = b->addrs[i].weight;
        if (best < 0 || (n + 1) * best_w < (best_n + 1) * w) {
            best = (long)i;
            best_n = n;
            best_w = w;
        }
    }
    return best;
}

double tr_balancer_latency(const struct tr_lb_address *a, uint64_t now_ms)
{
    uint64_t at;
    double v = ewma_get(a->peer, &at);
    return at ? decay(v, at, 0, now_ms) : 0;
}

/* Kong's latency (ewma.lua): the lowest average, decayed to now, divided by the weight. Kong
 * scores every candidate (its pick set is never smaller than the candidates). */
static long pick_latency(struct tr_balancer *b, const struct tr_lb_tried *t, bool use_tried,
                         uint64_t now)
{
    long best = -1;
    double best_score = 0;
    size_t start = atomic_fetch_add_explicit(&b->rotor, 1, memory_order_relaxed) % b->num;
    for (size_t k = 0; k < b->num; k++) {
        size_t i = start + k < b->num ? start + k : start + k - b->num;
        if (!usable(b, i, t, use_tried))
            continue;
        double score = tr_balancer_latency(&b->addrs[i], now) / b->addrs[i].weight;
        if (best < 0 || score < best_score) {
            best = (long)i;
            best_score = score;
        }
    }
    return best;
}

bool tr_balancer_healthy(const struct tr_balancer *b)
{
    uint64_t avail = 0;
    for (size_t i = 0; i < b->num; i++) {
        if (tr_peer_available(b->addrs[i].peer, &b->health))
            avail += b->addrs[i].weight;
    }
    if (b->total_weight == 0)
        return false;
    return (double)avail / (double)b->total_weight * 100.0 > b->health.threshold;
}

const struct tr_lb_address *tr_balancer_pick(struct tr_balancer *b, const char *key, size_t key_len,
                                             struct tr_lb_tried *tried, uint64_t now_ms)
{
    if (b->num == 0 || (b->health.threshold > 0 && !tr_balancer_healthy(b)))
        return NULL;
    long i = -1;
    /* First without the tried addresses; when they were all there is, with them again. */
    for (int pass = tried && tried->num ? 0 : 1; pass < 2 && i < 0; pass++) {
        bool use_tried = pass == 0;
        switch (b->algorithm) {
        case TR_LB_ROUND_ROBIN:
            i = pick_round_robin(b, tried, use_tried);
            break;
        case TR_LB_CONSISTENT_HASHING:
            i = pick_hash(b, key, key_len, tried, use_tried);
            break;
        case TR_LB_LEAST_CONNECTIONS:
            i = pick_least_conn(b, tried, use_tried);
            break;
        case TR_LB_LATENCY:
            i = pick_latency(b, tried, use_tried, now_ms);
            break;
        }
    }
    if (i < 0)
        return NULL;
    struct tr_lb_address *a = &b->addrs[i];
    atomic_fetch_add_explicit(&a->peer->in_flight, 1, memory_order_relaxed);
    if (tried && tried->num < TR_LB_TRIED_MAX) {
        bool seen = false;
        for (uint32_t j = 0; j < tried->num; j++)
            seen = seen || tried->index[j] == (uint32_t)i;
        if (!seen)
            tried->index[tried->num++] = (uint32_t)i;
    }
    return a;
}

void tr_balancer_release(const struct tr_lb_address *a)
{
    /* never below zero, even if a caller releases twice */
    if (atomic_fetch_sub_explicit(&a->peer->in_flight, 1, memory_order_relaxed) == 0)
        atomic_fetch_add_explicit(&a->peer->in_flight, 1, memory_order_relaxed);
}

void tr_balancer_report_latency(const struct tr_lb_address *a, uint64_t rtt_us, uint64_t now_ms)
{
    struct tr_peer *p = a->peer;
    if (now_ms == 0)
        now_ms = 1;
    tr_spin_lock(&p->ewma_lock);
    uint64_t at;
    double v = ewma_get(p, &at);
    ewma_set(p, at ? decay(v, at, (double)rtt_us, now_ms) : (double)rtt_us, now_ms);
    tr_spin_unlock(&p->ewma_lock);
}

bool tr_balancer_report_http_status(const struct tr_balancer *b, const struct tr_lb_address *a,
                                    enum tr_health_check check, unsigned status)
{
    return tr_peer_report_http_status(a->peer, &b->health, check, status);
}

bool tr_balancer_report_tcp_failure(const struct tr_balancer *b, const struct tr_lb_address *a,
                                    enum tr_health_check check)
{
    return tr_peer_report_tcp_failure(a->peer, &b->health, check);
}

bool tr_balancer_report_timeout(const struct tr_balancer *b, const struct tr_lb_address *a,
                                enum tr_health_check check)
{
    return tr_peer_report_timeout(a->peer, &b->health, check);
}

bool tr_balancer_report_success(const struct tr_balancer *b, const struct tr_lb_address *a,
                                enum tr_health_check check)
{
    return tr_peer_report_success(a->peer, &b->health, check);
}

size_t tr_balancer_count(const struct tr_balancer *b)
{
    return b->num;
}

const struct tr_lb_address *tr_balancer_address(const struct tr_balancer *b, size_t i)
{
    return i < b->num ? &b->addrs[i] : NULL;
}

const struct tr_health_conf *tr_balancer_health_conf(const struct tr_balancer *b)
{
    return &b->health;
}

bool tr_balancer_address_available(const struct tr_balancer *b, const struct tr_lb_address *a)
{
    return a->weight > 0 && tr_peer_available(a->peer, &b->health);
}

const char *tr_lb_health_name(enum tr_lb_health h)
{
    static const char *const names[] = {"HEALTHY", "UNHEALTHY", "HEALTHCHECKS_OFF", "DNS_ERROR"};
    return (size_t)h < TR_ARRAY_SIZE(names) ? names[h] : "";
}

enum tr_lb_health tr_balancer_address_health(const struct tr_balancer *b,
                                             const struct tr_lb_address *a)
{
    if (b->health.off || a->weight == 0)
        return TR_LB_HEALTHCHECKS_OFF;
    return tr_peer_available(a->peer, &b->health) ? TR_LB_HEALTHY : TR_LB_UNHEALTHY;
}

enum tr_lb_health tr_balancer_target_health(const struct tr_balancer *b, const char *target)
{
    bool any = false, unhealthy = false;
    for (size_t i = 0; i < b->num; i++) {
        if (strcmp(b->addrs[i].target, target) != 0)
            continue;
        any = true;
        enum tr_lb_health h = tr_balancer_address_health(b, &b->addrs[i]);
        if (h == TR_LB_HEALTHY)
            return TR_LB_HEALTHY;
        unhealthy = unhealthy || h == TR_LB_UNHEALTHY;
    }
    if (!any)
        return TR_LB_DNS_ERROR;
    return unhealthy ? TR_LB_UNHEALTHY : TR_LB_HEALTHCHECKS_OFF;
}
