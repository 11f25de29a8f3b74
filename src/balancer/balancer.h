/* SPDX-License-Identifier: MIT */
/* The load balancer of one upstream (docs/internals/balancer.md): built once from the
 * upstream's algorithm, slots, health checks and address list, then only read, except for its
 * runtime counters, by any number of worker threads at once. Picking never allocates nor blocks
 * (round-robin holds a spin lock for one pass over the addresses).
 *
 * Pure logic: no sockets, no DNS, no clock. Names are resolved by the caller, who passes every
 * address it wants balanced (an ip or a name, a port, a weight, the target it came from); times
 * are passed in, in milliseconds of a monotonic clock (never 0), durations in microseconds.
 *
 * Lifetime: a balancer is reference counted (one reference from tr_balancer_new). The snapshot
 * builder keeps the previous snapshot's balancer for an upstream whose spec did not change
 * (tr_balancer_matches, then tr_balancer_ref), so its round-robin position survives; a rebuilt
 * one finds the health, in-flight counts and latencies of its addresses in the registry. The
 * registry must outlive every balancer. */
#ifndef TR_BALANCER_BALANCER_H
#define TR_BALANCER_BALANCER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balancer/health.h"

/* Kong's upstream `algorithm` values. */
enum tr_lb_algorithm {
    TR_LB_ROUND_ROBIN = 0,
    TR_LB_CONSISTENT_HASHING,
    TR_LB_LEAST_CONNECTIONS,
    TR_LB_LATENCY,
};

/* Kong's name of an algorithm, and back (0 or TR_EINVAL). */
const char *tr_lb_algorithm_name(enum tr_lb_algorithm a);
int tr_lb_algorithm_parse(const char *name, enum tr_lb_algorithm *out);

#define TR_LB_SLOTS_MIN 10
#define TR_LB_SLOTS_MAX 65536
#define TR_LB_WEIGHT_MAX 65535
#define TR_LB_ADDRESSES_MAX 65536

/* One address to balance over, as the snapshot builder gives it (strings copied). */
struct tr_lb_address_spec {
    const char *host;   /* ip or name */
    uint16_t port;      /* 1..65535 */
    uint32_t weight;    /* 0..65535; 0 is never picked */
    const char *target; /* the target's `target` ("host:port"), for manual health and sorting */
};

struct tr_lb_spec {
    const char *upstream_id; /* the registry key's first part */
    enum tr_lb_algorithm algorithm;
    uint32_t slots;                      /* 10..65536 (consistent-hashing's ring) */
    const struct tr_health_conf *health; /* copied; tr_health_conf_finish'ed */
    const struct tr_lb_address_spec *addresses;
    size_t num_addresses;
    uint64_t now_ms; /* for latency's slow start of new addresses */
};

/* An address of a built balancer: read-only for its users. */
struct tr_lb_address {
    const char *host;   /* owned by peer */
    uint16_t port;      /* */
    uint32_t weight;    /* */
    const char *target; /* owned by the balancer */
    uint32_t index;     /* in the balancer, the spec's order */
    bool fresh;         /* its peer was created by this build (no state from before) */
    struct tr_peer *peer;
};

/* The addresses already tried by one request, for its retries: zero it (TR_LB_TRIED_INIT) per
 * request, pass the same one to every pick of that request (all on the same balancer: it holds
 * that balancer's address indexes). Each pick records its answer. When every available address
 * has been tried, a retry may pick one again (Kong's wheel does). */
#define TR_LB_TRIED_MAX 16
struct tr_lb_tried {
    uint32_t num;
    uint32_t index[TR_LB_TRIED_MAX];
    uint32_t hash; /* consistent-hashing: the key's ring position, computed once */
    bool hashed;
};
#define TR_LB_TRIED_INIT                                                                           \
    {                                                                                              \
        0                                                                                          \
    }

struct tr_balancer;

/* Build a balancer, acquiring one registry peer per address. 0, or TR_EINVAL for a spec out of
 * range (algorithm, slots, a weight, a port, a missing host, too many addresses); *out is then
 * NULL. Control thread (it takes the registry's mutex and allocates). */
int tr_balancer_new(struct tr_health_registry *reg, const struct tr_lb_spec *spec,
                    struct tr_balancer **out);
void tr_balancer_ref(struct tr_balancer *b);
/* Drop a reference; the last releases the peers and frees the balancer. Any thread. */
void tr_balancer_unref(struct tr_balancer *b);
/* Would spec build the same balancer (same upstream id, algorithm, slots, health conf and
 * addresses in the same order)? Then the builder reuses b. */
bool tr_balancer_matches(const struct tr_balancer *b, const struct tr_lb_spec *spec);

/* Pick an address for a request, or NULL for "no peer" (every address unhealthy or of weight 0,
 * no address, or the upstream below its health threshold; the proxy answers 503 "failure to get
 * a peer from the ring-balancer"). key is the consistent-hashing value (ignored by the other
 * algorithms; NULL hashes as ""). tried may be NULL (no retries). The pick counts one request in
 * flight on the address: call tr_balancer_release once for each address picked, when that try
 * ends (failed, or the response is done). No allocation, any thread. */
const struct tr_lb_address *tr_balancer_pick(struct tr_balancer *b, const char *key, size_t key_len,
                                             struct tr_lb_tried *tried, uint64_t now_ms);
void tr_balancer_release(const struct tr_lb_address *a);
/* A try's duration (connect + response, microseconds) for the latency average (Kong's EWMA with
 * a 10 s decay). Cheap for any algorithm; only latency reads it. */
void tr_balancer_report_latency(const struct tr_lb_address *a, uint64_t rtt_us, uint64_t now_ms);

/* Health reports against b's health conf (see health.h); true when the address's health
 * changed. Passive reports come from the proxy, active ones from the prober. */
bool tr_balancer_report_http_status(const struct tr_balancer *b, const struct tr_lb_address *a,
                                    enum tr_health_check check, unsigned status);
bool tr_balancer_report_tcp_failure(const struct tr_balancer *b, const struct tr_lb_address *a,
                                    enum tr_health_check check);
bool tr_balancer_report_timeout(const struct tr_balancer *b, const struct tr_lb_address *a,
                                enum tr_health_check check);
bool tr_balancer_report_success(const struct tr_balancer *b, const struct tr_lb_address *a,
                                enum tr_health_check check);

/* Introspection (Admin API /health, tests). */
size_t tr_balancer_count(const struct tr_balancer *b);
const struct tr_lb_address *tr_balancer_address(const struct tr_balancer *b, size_t i);
const struct tr_health_conf *tr_balancer_health_conf(const struct tr_balancer *b);
bool tr_balancer_address_available(const struct tr_balancer *b, const struct tr_lb_address *a);
/* Kong's balancer health: available weight > threshold % of the total weight (total 0: false). */
bool tr_balancer_healthy(const struct tr_balancer *b);
/* Kong's health words for /upstreams/{u}/health (kong/db/dao/targets.lua,
 * page_for_upstream_with_health): an address is HEALTHCHECKS_OFF when checks are off or its
 * weight is 0, else HEALTHY or UNHEALTHY; a target is HEALTHY when one of its addresses is,
 * else UNHEALTHY when one is, else HEALTHCHECKS_OFF, and DNS_ERROR without any address. */
enum tr_lb_health {
    TR_LB_HEALTHY = 0,
    TR_LB_UNHEALTHY,
    TR_LB_HEALTHCHECKS_OFF,
    TR_LB_DNS_ERROR,
};
const char *tr_lb_health_name(enum tr_lb_health h);
enum tr_lb_health tr_balancer_address_health(const struct tr_balancer *b,
                                             const struct tr_lb_address *a);
enum tr_lb_health tr_balancer_target_health(const struct tr_balancer *b, const char *target);
/* The address's latency score input: its average decayed to now_ms (microseconds). */
double tr_balancer_latency(const struct tr_lb_address *a, uint64_t now_ms);

#endif
