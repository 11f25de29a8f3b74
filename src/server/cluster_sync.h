/* SPDX-License-Identifier: MIT */
/* What the other nodes of the same database wrote, applied here (store.h: cluster events).
 * Every entity write records an event in its own transaction; this node reads the events after
 * the last one it applied every db_update_frequency, skips its own, re-reads each entity named
 * and hands it to the same path an admin write of its own takes (or, for a batch's clear or a
 * long backlog, re-reads everything). Runs on the control loop; its store calls block that loop
 * only, never a worker. Events older than an hour are purged by whichever node sees them. */
#ifndef TR_SERVER_CLUSTER_SYNC_H
#define TR_SERVER_CLUSTER_SYNC_H

#include <jansson.h>
#include <uv.h>

struct tr_store;
struct tr_cluster_sync;

struct tr_cluster_sync_cbs {
    /* entity id changed on another node: doc is its row now, NULL when it is gone */
    void (*changed)(void *ud, const char *entity, const char *id, json_t *doc);
    /* every change of one look was given to changed: publish them together */
    void (*applied)(void *ud);
    /* much or everything changed: re-read the whole configuration */
    void (*reload)(void *ud);
};

/* Before the node's first read of the configuration: give store this process's node id and
 * remember where the events stand, so nothing written meanwhile is missed. NULL when the
 * events cannot be read (logged; the node then sees others' writes only on reload). */
struct tr_cluster_sync *tr_cluster_sync_new(struct tr_store *store);

/* Look every period_ms on loop; cbs and ud stay the caller's. */
void tr_cluster_sync_start(struct tr_cluster_sync *cs, uv_loop_t *loop, unsigned period_ms,
                           const struct tr_cluster_sync_cbs *cbs, void *ud);

/* Stop looking (on the loop's thread; the handle closes with the loop's next turn) and free cs
 * once it has. NULL is fine. */
void tr_cluster_sync_stop(struct tr_cluster_sync *cs);

#endif
