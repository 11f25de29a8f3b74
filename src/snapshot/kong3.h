/* SPDX-License-Identifier: MIT */
/* Kong 3.x services and routes read from the store into plain structs, for the snapshot's
 * compiler (which turns them into the proxy's services and routes). Rows are the store's
 * shape (schema/kong3.h, docs/admin-api.md): validated on write, so reading trusts their
 * types and only skips what it cannot use. Control thread only. */
#ifndef TR_SNAPSHOT_KONG3_H
#define TR_SNAPSHOT_KONG3_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct tr_store;

/* A list of owned strings. */
struct tr_k3_strs {
    char **items;
    size_t cnt;
};

struct tr_k3_service {
    char *id, *name; /* name NULL when unset */
    char *protocol;  /* "http" or "https" */
    char *host;
    int port;
    char *path; /* NULL when unset */
    int retries;
    int connect_timeout, write_timeout, read_timeout; /* ms */
    bool enabled;
    int tls_verify;              /* -1 unset (the node's default), 0, 1 */
    int tls_verify_depth;        /* -1 unset */
    char *client_certificate_id; /* NULL when unset */
    struct tr_k3_strs ca_certificates;
    struct tr_k3_strs tags;
    json_t *doc; /* reference to the row as stored (the log serializer's "service") */
};

/* One header rule of a route: the name (lower-case) and the values any of which matches. */
struct tr_k3_header {
    char *name;
    struct tr_k3_strs values;
};

struct tr_k3_route {
    char *id, *name;  /* name NULL when unset */
    char *service_id; /* NULL: no service */
    struct tr_k3_strs protocols, methods, hosts, paths, snis, tags;
    struct tr_k3_header *headers;
    size_t header_cnt;
    bool strip_path, preserve_host, request_buffering, response_buffering;
    int regex_priority;
    int https_redirect_status_code;
    bool path_handling_v1; /* false: "v0" */
    long long created_at;  /* seconds, for ordering ties as Kong does */
    json_t *doc;           /* reference to the row as stored (the log serializer's "route") */
};

struct tr_k3_config {
    struct tr_k3_service *services;
    size_t service_cnt;
    struct tr_k3_route *routes;
    size_t route_cnt;
    /* Upstreams and targets as stored (objects: id -> doc, in insertion order); the balancer
     * builder (build_upstreams.c) reads them. */
    json_t *upstreams;
    json_t *targets;
};

/* Read every service, route, upstream and target, in insertion order, into *out (zeroed first).
 * Returns 0, or TR_EDB (then *out is empty). Free with tr_snap_k3_free. */
int tr_snap_k3_load(struct tr_store *store, struct tr_k3_config *out);

/* Patch c after one admin write: entity "services", "routes", "upstreams" or "targets", the
 * row's id and its stored doc (NULL: deleted; a deleted upstream takes its targets along, as
 * the store's cascade does). An updated row keeps its place, a new one goes last, so c stays in
 * insertion order as a fresh load would have it. Returns false (c untouched) for other
 * entities. O(rows) pointer moves at worst, no store access. */
bool tr_snap_k3_apply(struct tr_k3_config *c, const char *entity, const char *id,
                      const json_t *doc);

/* The service of id in c, or NULL. */
const struct tr_k3_service *tr_snap_k3_service(const struct tr_k3_config *c, const char *id);

void tr_snap_k3_free(struct tr_k3_config *c);

#endif
