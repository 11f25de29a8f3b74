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
#include "core/buf.h"
#include "core/str.h"
#include "core/strmap.h"
#include "http/tls.h"
#include "http/url.h"
#include "plugins/plugin.h"
#include "plugins/registry.h"
#include "snapshot/identity.h"

struct tr_balancer;
struct tr_health_registry;
struct tr_k3_config;
struct tr_router;
struct tr_store;
struct tr_tls_certs;

/* One enabled plugin row, with its config parsed by the plugin. */
struct tr_plugin_instance {
    char *id;                       /* owned */
    const struct tr_plugin *plugin; /* static descriptor */
    size_t plugin_index;            /* position in the registry (execution order) */
    char *api_id;                   /* owned; NULL: every api */
    char *route_id;                 /* owned; NULL: every Kong 3 route */
    char *service_id;               /* owned; NULL: every Kong 3 service */
    char *consumer_id;              /* owned; NULL: every consumer */
    json_t *config;                 /* reference held */
    void *conf;                     /* plugin's parsed config (or config itself) */
};

/* One step of a route's plugin chain: the plugin at plugin_index, and the instance that applies
 * before any consumer is known (the route's own, else the global one; NULL when only consumer
 * scoped instances exist). Consumer-scoped instances are looked up when a consumer is set. */
struct tr_chain_entry {
    size_t plugin_index;
    const struct tr_plugin_instance *base;
    /* base is bound to the route and its service together (Kong 3), which wins over an
     * instance bound to the consumer alone; every other consumer-scoped instance wins over
     * base. */
    bool base_over_consumer;
};

/* The proxy's model, whatever the configuration said (H2O compiles every configuration source
 * into the same h2o_pathconf_t): a service is where requests go, a route is what a request must
 * look like to go there and what runs on the way. A Kong 0.7 api compiles to one service and up
 * to two routes, one per condition, because an api matches when EITHER its request_host or its
 * request_path does (design.md). The proxy reads only routes and services. */

/* Where a consistent-hashing key comes from (Kong's hash_on / hash_fallback). */
enum tr_hash_on {
    TR_HASH_NONE = 0,
    TR_HASH_CONSUMER,    /* the consumer's id, else the credential's */
    TR_HASH_IP,          /* the client address */
    TR_HASH_HEADER,      /* a request header (every value, joined with ", ") */
    TR_HASH_COOKIE,      /* a cookie; torii sets one when the request has none */
    TR_HASH_PATH,        /* the normalized path */
    TR_HASH_QUERY_ARG,   /* a query argument (several values: sorted, joined with ",") */
    TR_HASH_URI_CAPTURE, /* a named or numbered capture of the route's regex path */
};

struct tr_hash_source {
    enum tr_hash_on on;
    char *name; /* owned; the header, cookie, argument or capture name; NULL otherwise */
};

/* Kong's healthchecks.active: what the prober sends (proxy/prober.c). */
struct tr_active_check {
    enum { TR_PROBE_TCP, TR_PROBE_HTTP, TR_PROBE_HTTPS } type;
    uint32_t timeout_ms;
    uint32_t concurrency;
    char *http_path;  /* owned */
    char *https_sni;  /* owned; NULL: the target's host when it is a name */
    bool verify_cert; /* https_verify_certificate */
    char *headers;    /* owned; "Name: value\r\n" lines, or NULL */
};

/* A Kong 3 /upstreams entity: a name services use as their host, and the balancer over its
 * targets' addresses. */
struct tr_upstream {
    char *id, *name;               /* owned */
    char *host_header;             /* owned; Host sent upstream instead of the target's, or NULL */
    struct tr_hash_source hash[2]; /* hash_on, then hash_fallback */
    char *cookie_path;             /* owned; hash_on_cookie_path */
    char *client_cert_id;          /* owned; client_certificate, for services without one */
    const struct tr_tls_cert *client_cert; /* it, resolved (borrowed from certs), or NULL */
    struct tr_active_check active;         /* used when the health conf has an active interval */
    struct tr_balancer *balancer; /* reference; shared with the snapshots that did not change it */
};

/* Where requests go. All strings owned by the snapshot. */
struct tr_service {
    char *id;       /* for a compiled api: the api's id */
    char *name;     /* NULL when unset; for a compiled api: the api's name */
    bool kong3;     /* a Kong 3 /services entity (else compiled from an api) */
    json_t *doc;    /* reference; a Kong 3 service as stored (log serializer), or NULL */
    char *url_text; /* owned; the slices of url point into it */
    struct tr_url url;
    bool tls;          /* scheme is https */
    char *host_header; /* Host sent upstream (unless the route preserves the client's):
                          host[:port], the port only when the URL gave one (Kong 0.7) */
    char *pool_key;    /* "host:port" (+ "|tls"), the keep-alive pool key */
    /* https: what the service asks of its TLS connections (Kong 3's tls_verify,
     * tls_verify_depth, client_certificate; an api asks nothing: all -1 / NULL). */
    struct tr_tls_client_opts tls_opts;
    char *client_cert_id; /* owned; resolved into tls_opts.cert once the certificates are */
    uint32_t connect_timeout_ms;
    uint32_t send_timeout_ms;
    uint32_t read_timeout_ms;
    uint32_t retries;
    /* The upstream the host names (Kong: a service host matching an upstream's name is balanced
     * over its targets), borrowed from the same snapshot; NULL: the host itself is dialled. */
    const struct tr_upstream *upstream;
    /* Otherwise, a host name's addresses as the node's resolver knew them at build (owned,
     * tried in turn). Without any: dns_pending when the resolver is asking (a connect waits
     * for the snapshot that has the answer), unresolvable when the name does not exist or the
     * server failed with no answer to keep (503), neither when there is no resolver (the
     * worker asks the system's, through the thread pool). */
    struct tr_resolved_addr *resolved;
    size_t num_resolved;
    _Atomic unsigned resolved_next; /* the next one to dial (the one mutable field) */
    bool dns_pending;
    bool unresolvable;
};

struct tr_resolved_addr {
    char ip[46];
    uint16_t port;
};

/* The most consumer-scoped plugin lookups a route makes (Kong 3: route+service, route,
 * service, none). */
#define TR_ROUTE_MAX_SCOPES 4

/* What a request must look like, what happens to it on the way, and where it goes. One of host
 * and path is set for a compiled api (its host route or its path route); a Kong 3 route's
 * conditions live in the router only. */
struct tr_route {
    char *id;                /* owned; for a compiled api: the api's id (both of its routes) */
    char *name;              /* owned; Kong 3 route's name, NULL when unset or an api */
    json_t *doc;             /* reference; a Kong 3 route as stored (log serializer), or NULL */
    bool kong3;              /* a Kong 3 /routes entity (else compiled from an api) */
    char *host;              /* owned; NULL for a path route */
    char *path;              /* owned; trailing '/' removed; NULL for a host route */
    bool strip_path;         /* the matched path prefix is removed from the upstream path */
    bool preserve_host;      /* the client's Host goes upstream */
    bool https_only;         /* plain HTTP gets https_redirect_status */
    bool http_if_terminated; /* with https_only: X-Forwarded-Proto: https from trusted_ips is
                                HTTPS */
    uint16_t https_redirect_status; /* 426 (Upgrade), or 301/302/307/308 with a Location */
    bool path_handling_v1;          /* Kong 3 path_handling "v1" (else "v0") */
    bool request_buffering;         /* Kong 3: the whole body is read before going upstream */
    struct tr_chain_entry *chain;   /* owned; in execution order */
    size_t chain_len;
    /* Where consumer-scoped plugin instances are looked up, most specific first: the scope
     * part of the key of snapshot->instances (legacy: "a:<api>", then ""; Kong 3:
     * "r:<route>/s:<service>", "r:<route>", "s:<service>", ""). Strings in the arena. */
    const char *scopes[TR_ROUTE_MAX_SCOPES];
    size_t num_scopes;
    const struct tr_service *service; /* borrowed from the same snapshot; NULL: a Kong 3 route
                                         without a service (503) */
    /* Legacy attribute: the /apis entity the route was compiled from (its id and name, borrowed
     * from the api), for logs, Kong 0.7's api-scoped behaviour and headers; NULL otherwise. */
    const char *api_id;
    const char *api_name;
};

/* One /apis entity as stored (the legacy model): kept for what is keyed on apis outside the
 * proxy (api-scoped plugins, the 0.7 ssl plugin's host). The proxy never reads it. */
struct tr_api {
    char *id;
    char *name;
    char *request_host; /* NULL when unset */
    char *request_path; /* NULL when unset; trailing '/' removed */
    bool strip_request_path, preserve_host, https_only, http_if_terminated;
    size_t service; /* index in snapshot->services.items */
};

struct tr_snapshot {
    _Atomic unsigned refs;
    uint64_t version;                        /* increases with every publish */
    struct tr_router *router;                /* owned; matches routes */
    TR_VECTOR(struct tr_api) apis;           /* owned: the legacy entities */
    TR_VECTOR(struct tr_service) services;   /* owned */
    TR_VECTOR(struct tr_upstream) upstreams; /* owned */
    struct tr_route *routes;                 /* owned array: the apis' routes, then Kong 3's */
    size_t num_routes;
    size_t num_kong3_routes;    /* Kong 3 routes in the router: a request matching nothing then
                                   gets Kong 3's 404 instead of Kong 0.7's */
    struct tr_tls_certs *certs; /* owned; /certificates and /snis for the SNI callback, or NULL */

    TR_VECTOR(struct tr_plugin_instance) plugins; /* owned: the enabled instances */
    /* Every instance by "<plugin index>/<consumer id or empty>/<scope>" (tr_route.scopes). */
    struct tr_strmap instances;
    bool has_consumer_plugins[TR_PLUGIN_MAX];
    /* The global instances (no route, service, api or consumer), in execution order: what runs
     * the log phase of a request no route matched (Kong's global plugins log a 404). */
    const struct tr_plugin_instance *globals[TR_PLUGIN_MAX];
    size_t num_globals;

    struct tr_snap_identity *identity; /* reference: consumers and credentials */

    struct tr_arena arena; /* strings and keys the indexes point to */
};

/* Build a snapshot from the apis, plugins and certificates in store, with identity (consumers
 * and credentials; a reference is taken) and k3 (Kong 3 services and routes, read; the control
 * thread keeps it and patches it per write, as it does identity, so a write does not re-read
 * every route). Returns NULL and logs on a store error. The new snapshot has one reference,
 * owned by the caller. */
struct tr_snapshot *tr_snapshot_build(struct tr_store *store, struct tr_snap_identity *identity,
                                      const struct tr_k3_config *k3);

/* The consumer-scoped instance of the plugin at plugin_index for consumer_id in scope (one of
 * a route's scopes; "" is the instance for every route), or NULL. */
const struct tr_plugin_instance *tr_snapshot_consumer_instance(const struct tr_snapshot *snap,
                                                               size_t plugin_index,
                                                               const char *consumer_id,
                                                               const char *scope);

/* The node's health registry (balancer/health.h): the health, load and latency of every
 * upstream address, shared by the balancers of every snapshot. Created by the first build that
 * has an upstream; tr_snapshot_shutdown frees it. */
struct tr_health_registry *tr_snapshot_health_registry(void);

/* The node's resolver (dns/resolver.h), whose cache the builder reads for names; NULL: the
 * hosts file only. Control thread; set before the first build. */
struct tr_resolver;
void tr_snapshot_set_resolver(struct tr_resolver *r);

/* The service of snap by id, or NULL (a scan: for the rare connect that waits on DNS). */
const struct tr_service *tr_snapshot_service(const struct tr_snapshot *snap, const char *id);

/* The upstream of snap by id or name, or NULL. */
const struct tr_upstream *tr_snapshot_upstream(const struct tr_snapshot *snap, const char *key);

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
