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

#include <jansson.h>

#include "core/arena.h"
#include "core/str.h"
#include "core/strmap.h"
#include "http/url.h"
#include "plugins/plugin.h"
#include "plugins/registry.h"
#include "snapshot/identity.h"

struct tr_router;
struct tr_store;
struct tr_tls_certs;

/* One enabled plugin row, with its config parsed by the plugin. */
struct tr_plugin_instance {
    char *id;                       /* owned */
    const struct tr_plugin *plugin; /* static descriptor */
    size_t plugin_index;            /* position in the registry (execution order) */
    char *api_id;                   /* owned; NULL: every api */
    char *consumer_id;              /* owned; NULL: every consumer */
    json_t *config;                 /* reference held */
    void *conf;                     /* plugin's parsed config (or config itself) */
};

/* One step of an api's plugin chain: the plugin at plugin_index, and the instance that applies
 * before any consumer is known (the api's own, else the global one; NULL when only consumer
 * scoped instances exist). Consumer-scoped instances are looked up when a consumer is set. */
struct tr_chain_entry {
    size_t plugin_index;
    const struct tr_plugin_instance *base;
};

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
    struct tr_chain_entry *chain; /* owned; in execution order */
    size_t chain_len;
};

struct tr_snapshot {
    _Atomic unsigned refs;
    uint64_t version;          /* increases with every publish */
    struct tr_router *router;  /* owned */
    struct tr_api *apis;       /* owned array */
    size_t num_apis;
    struct tr_tls_certs *certs; /* owned; /certificates and /snis for the SNI callback, or NULL */

    struct tr_plugin_instance *plugins; /* owned array of enabled instances */
    size_t num_plugins;
    /* Consumer-scoped instances by "<plugin index>/<consumer id>/<api id or empty>". */
    struct tr_strmap consumer_plugins;
    bool has_consumer_plugins[TR_PLUGIN_MAX];

    struct tr_snap_identity *identity; /* reference: consumers and credentials */

    struct tr_arena arena; /* strings and keys the indexes point to */
};



/* Build a snapshot from the apis and plugins in store, with identity (consumers and
 * credentials; a reference is taken). Returns NULL and logs on a store error. The new snapshot
 * has one reference, owned by the caller. */
struct tr_snapshot *tr_snapshot_build(struct tr_store *store, struct tr_snap_identity *identity);

/* Compile the certificates and snis of store into snap->certs (certs.c). Returns 0 or TR_EDB;
 * unusable rows are logged and skipped. */
int tr_snapshot_build_certs(struct tr_store *store, struct tr_snapshot *snap);

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
