/* SPDX-License-Identifier: MIT */
/* Manual health overrides of upstream targets: what `PUT /upstreams/{u}/targets/{t}/healthy`
 * and `/unhealthy` (and their per-address forms) record, for the balancer to read. The table
 * is node-local and lives as long as the process, as Kong keeps health state per node and
 * never in the database: a restart forgets it. One table per process, safe from any thread
 * (a mutex; every call is short). Keys are the upstream's id, the target as Kong normalises
 * it ("host:port", schema/kong3.h's tr_schema3_target_normalize) and, for one address of a
 * target that resolves to several, that address ("ip:port"). */
#ifndef TR_CORE_HEALTH_OVERRIDE_H
#define TR_CORE_HEALTH_OVERRIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tr_health_override {
    TR_OVERRIDE_NONE = 0, /* no override: the health checks (or nothing) decide */
    TR_OVERRIDE_HEALTHY = 1,
    TR_OVERRIDE_UNHEALTHY = 2,
};

/* Most overrides the table holds; a set past it answers TR_ENOMEM. */
#define TR_HEALTH_MAX_ENTRIES 65536

/* Record an override. address NULL: the whole target, every address of it (earlier
 * per-address overrides of the target are dropped, as Kong's set_all_target_statuses_for_
 * hostname overrides them); else that address only. Returns 0, TR_EINVAL (a NULL or empty
 * id or target) or TR_ENOMEM (table full). */
int tr_health_override_set(const char *upstream_id, const char *target, const char *address,
                           bool healthy);

/* The override of an address of a target (address non-NULL: its own override, else the
 * target's), or of the target itself (address NULL). */
enum tr_health_override tr_health_override_get(const char *upstream_id, const char *target,
                                               const char *address);

/* Forget the overrides of one target (every address of it), or of every target of an upstream
 * (target NULL): called when they are deleted. */
void tr_health_override_forget(const char *upstream_id, const char *target);

/* A counter bumped by every change, so a reader can tell that its copy is stale. */
uint64_t tr_health_override_version(void);

/* Overrides held, and forget them all (tests). */
size_t tr_health_override_count(void);
void tr_health_override_reset(void);

/* "HEALTHY", "UNHEALTHY" or NULL (unknown): Kong's words. */
const char *tr_health_override_name(enum tr_health_override s);

#endif
