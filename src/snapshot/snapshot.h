/* SPDX-License-Identifier: MIT */
/* The config snapshot: everything the proxy needs to route a request, compiled once from the
 * store into immutable, reference-counted memory. The control thread builds a new one after
 * every admin write and publishes it; workers pick it up at the start of their next request
 * (see docs/internals/snapshot.md). */
#ifndef TR_SNAPSHOT_SNAPSHOT_H
#define TR_SNAPSHOT_SNAPSHOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "http/url.h"

struct tr_router;
struct tr_store;

/* One /apis entity, compiled for the proxy. All strings owned by the snapshot. */
struct tr_api {
    char *id;
    char *name;
    char *request_host;        /* NULL when unset */
    char *request_path;        /* NULL when unset; trailing '/' removed */
    bool strip_request_path;
    bool preserve_host;
    bool https_only;
    bool http_if_terminated;
    char *upstream_url;        /* owned; the slices of url point into it */
    struct tr_url url;
    bool upstream_tls;         /* scheme is https */
    char *upstream_host_header; /* Host sent upstream when !preserve_host: host[:port] */
    char *pool_key;            /* "host:port" (+ "|tls"), the keep-alive pool key */
    uint32_t connect_timeout_ms;
    uint32_t send_timeout_ms;
    uint32_t read_timeout_ms;
    uint32_t retries;
};

struct tr_snapshot {
    _Atomic unsigned refs;
    uint64_t version;          /* increases with every publish */
    struct tr_router *router;  /* owned */
    struct tr_api *apis;       /* owned array */
    size_t num_apis;
};

/* Build a snapshot from every api in store. Returns NULL and logs on a store error. The new
 * snapshot has one reference, owned by the caller. */
struct tr_snapshot *tr_snapshot_build(struct tr_store *store);

void tr_snapshot_ref(struct tr_snapshot *snap);
/* Drop a reference; the last one frees the snapshot (any thread). NULL is ignored. */
void tr_snapshot_unref(struct tr_snapshot *snap);

/* Publish snap as the current snapshot (takes over the caller's reference) and give it the
 * next version number. */
void tr_snapshot_publish(struct tr_snapshot *snap);

/* Version of the current snapshot: a cheap check for workers (one atomic load). */
uint64_t tr_snapshot_current_version(void);

/* A new reference to the current snapshot, or NULL before the first publish. */
struct tr_snapshot *tr_snapshot_acquire(void);

/* Drop the published snapshot at shutdown. */
void tr_snapshot_shutdown(void);

#endif
