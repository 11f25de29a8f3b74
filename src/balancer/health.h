/* SPDX-License-Identifier: MIT */
/* Health of the addresses of upstreams, shared by every worker thread of a node and kept across
 * config snapshots (docs/internals/balancer.md).
 *
 * A struct tr_peer is the runtime state of one address of one upstream: its health state and
 * lua-resty-healthcheck's four counters, the number of requests in flight to it
 * (least-connections) and its response-time average (latency). Peers live in a registry keyed by
 * (upstream id, host, port), reference counted: every balancer built for the upstream holds one
 * reference per address, so a balancer rebuilt from a new snapshot finds the state the previous
 * one left, and a peer is freed when the last balancer that lists it goes away.
 *
 * Thread safety: the registry's table is guarded by a mutex (acquire/release/find run when
 * snapshots are built and freed, never per request). A peer's health state and counters are read
 * with atomics and changed under the peer's spin lock; its load counters are atomics. */
#ifndef TR_BALANCER_HEALTH_H
#define TR_BALANCER_HEALTH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/spinlock.h"

/* lua-resty-healthcheck's internal states. The two "mostly" states keep the availability of the
 * state they came from while counters move toward the other one. */
enum tr_health {
    TR_HEALTH_HEALTHY = 0,
    TR_HEALTH_MOSTLY_HEALTHY,
    TR_HEALTH_MOSTLY_UNHEALTHY,
    TR_HEALTH_UNHEALTHY,
};

/* Which set of thresholds and status lists a report counts against. */
enum tr_health_check {
    TR_CHECK_PASSIVE = 0, /* the proxy's own requests */
    TR_CHECK_ACTIVE = 1,  /* probes */
};

#define TR_HEALTH_STATUS_MAX 999 /* Kong's status lists accept 100..999 */

/* One of Kong's `healthchecks.active` / `healthchecks.passive` records. A threshold of 0 turns
 * its counter off (reports of that kind change nothing). Thresholds are Kong's 0..255. */
struct tr_health_checks {
    uint8_t healthy_status[(TR_HEALTH_STATUS_MAX + 8) / 8];   /* bit per status: a success */
    uint8_t unhealthy_status[(TR_HEALTH_STATUS_MAX + 8) / 8]; /* bit per status: a failure */
    uint8_t successes;                                        /* healthy.successes */
    uint8_t http_failures;                                    /* unhealthy.http_failures */
    uint8_t tcp_failures;                                     /* unhealthy.tcp_failures */
    uint8_t timeouts;                                         /* unhealthy.timeouts */
    /* milliseconds (active only; for `off`): Kong takes fractions of a second (0.1) */
    uint32_t healthy_interval_ms, unhealthy_interval_ms;
};

/* An upstream's `healthchecks`. */
struct tr_health_conf {
    struct tr_health_checks checks[2]; /* by enum tr_health_check */
    double threshold;                  /* percent of weight that must be available, 0..100 */
    /* No health checking configured (Kong's is_upstream_using_healthcheck() is false): every
     * report is ignored and an address is available unless set unhealthy by hand.
     * Set by tr_health_conf_finish. */
    bool off;
};

/* Kong 3.9's defaults: the status lists of kong/db/schema/entities/upstreams.lua, every
 * threshold and interval 0 (so `off`), threshold 0 %. */
void tr_health_conf_default(struct tr_health_conf *c);
/* Replace one status list: list[0..n) of statuses (others ignored). */
void tr_health_conf_set_statuses(struct tr_health_conf *c, enum tr_health_check check, bool healthy,
                                 const unsigned *list, size_t n);
/* Compute c->off from the intervals and passive failure thresholds, as Kong does. Call after
 * filling c and before building a balancer with it. */
void tr_health_conf_finish(struct tr_health_conf *c);

struct tr_peer {
    /* identity: immutable, owned by the peer */
    char *upstream_id;
    char *host; /* ip or name, as the balancer's address */
    uint16_t port;
    char *target;  /* the target (Kong's `target` field) the address came from */
    uint64_t hash; /* of (upstream_id, host, port) */

    /* health: state read with atomics, changed under lock */
    _Atomic uint8_t state; /* enum tr_health */
    _Atomic bool manual;   /* state last set by hand (tr_peer_set_healthy) */
    struct tr_spinlock lock;
    uint8_t successes, http_failures, tcp_failures, timeouts; /* under lock */

    /* load */
    atomic_uint in_flight;           /* requests picked and not yet released */
    atomic_uint_least64_t ewma_bits; /* latency average (double, microseconds) */
    atomic_uint_least64_t ewma_at;   /* when it was last updated, ms; 0: never */
    struct tr_spinlock ewma_lock;    /* serialises updates of the pair */

    /* active checks: the prober's own (control thread only) */
    uint64_t probe_due_ms; /* when the next probe is due (monotonic ms; 0: at once) */
    bool probing;          /* a probe is in flight */

    /* registry */
    unsigned refs; /* under the registry's mutex */
    struct tr_peer *next;
};

/* Is the address available for picking under conf (healthy or mostly healthy; with checks off,
 * anything but set unhealthy by hand)? Lock-free. */
bool tr_peer_available(const struct tr_peer *p, const struct tr_health_conf *conf);
/* The public health: TR_HEALTH_HEALTHY or TR_HEALTH_UNHEALTHY (mostly states folded). */
enum tr_health tr_peer_health(const struct tr_peer *p);

/* Reports, each counted as lua-resty-healthcheck's incr_counter does: a success adds to the
 * success counter and clears the failure counters, a failure adds to its counter and clears the
 * success counter; a counter reaching its threshold moves the state; a report of the kind the
 * state already is (a success while healthy) is not counted; a threshold of 0 ignores the
 * report. http_status 0 means "no valid response" (a failure); a status in neither list is
 * ignored. Each returns true when the (public) health changed, for the caller to log. */
bool tr_peer_report_http_status(struct tr_peer *p, const struct tr_health_conf *conf,
                                enum tr_health_check check, unsigned http_status);
bool tr_peer_report_tcp_failure(struct tr_peer *p, const struct tr_health_conf *conf,
                                enum tr_health_check check);
bool tr_peer_report_timeout(struct tr_peer *p, const struct tr_health_conf *conf,
                            enum tr_health_check check);
/* A success without an HTTP status (a tcp probe that connected). */
bool tr_peer_report_success(struct tr_peer *p, const struct tr_health_conf *conf,
                            enum tr_health_check check);
/* Kong's PUT .../healthy|unhealthy: set the state and clear every counter. */
void tr_peer_set_healthy(struct tr_peer *p, bool healthy);

/* The counters, for tests and /health: out[0..4) = successes, http, tcp, timeouts. */
void tr_peer_counters(struct tr_peer *p, uint8_t out[4]);

struct tr_health_registry;

struct tr_health_registry *tr_health_registry_new(void);
/* Free the registry; every peer must have been released (every balancer freed). */
void tr_health_registry_free(struct tr_health_registry *r);
/* The peer for (upstream_id, host, port), created healthy with empty counters if new, with one
 * more reference. target is recorded on creation (later calls keep the first). *created, when
 * not NULL, tells whether it was new. */
struct tr_peer *tr_health_acquire(struct tr_health_registry *r, const char *upstream_id,
                                  const char *host, uint16_t port, const char *target,
                                  bool *created);
/* Drop one reference; the last frees the peer. */
void tr_health_release(struct tr_health_registry *r, struct tr_peer *p);
/* The peer for (upstream_id, host, port) or NULL, borrowed: valid while the caller holds a
 * balancer that lists it (the Admin API's /health reads through the current snapshot). */
struct tr_peer *tr_health_find(struct tr_health_registry *r, const char *upstream_id,
                               const char *host, uint16_t port);
/* Set every address of target in upstream_id healthy or unhealthy by hand (Kong sets all the
 * addresses a target resolved to). Returns how many peers were set. */
size_t tr_health_set_target(struct tr_health_registry *r, const char *upstream_id,
                            const char *target, bool healthy);
/* Number of peers in the registry. */
size_t tr_health_registry_count(struct tr_health_registry *r);

#endif
