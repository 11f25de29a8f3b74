/* SPDX-License-Identifier: MIT */
/* Internal to src/snapshot: the steps of tr_snapshot_build (build.c) that other files of the
 * directory provide or use. Control thread only. */
#ifndef TR_SNAPSHOT_BUILD_H
#define TR_SNAPSHOT_BUILD_H

#include "snapshot/kong3.h"
#include "snapshot/snapshot.h"

/* Parse svc->url_text into svc->url and derive tls, the Host header (Kong 0.7's rule, or Kong
 * 3's when svc->kong3) and the keep-alive pool key. Returns 0 or TR_EINVAL. */
int tr__snap_service_url(struct tr_service *svc);
void tr__snap_free_service(struct tr_service *svc);

/* A scope string "<kind><id>[/<kind2><id2>]" in snap's arena (tr_route.scopes). */
const char *tr__snap_scope(struct tr_snapshot *snap, const char *kind, const char *id,
                           const char *kind2, const char *id2);

/* build_kong3.c: append k3's enabled services to snap->services (before any route points into
 * the array); then append its routes to snap->routes (room for k3->route_cnt more) and register
 * each with snap->router. */
void tr__snap_kong3_services(struct tr_snapshot *snap, const struct tr_k3_config *k3);
void tr__snap_kong3_routes(struct tr_snapshot *snap, const struct tr_k3_config *k3);
/* build_kong3.c: point each service's tls_opts.cert (and each upstream's client_cert, for its
 * https probes) at its client certificate, once snap->certs is built. */
void tr__snap_kong3_client_certs(struct tr_snapshot *snap);

/* build_upstreams.c: compile k3's upstreams into snap->upstreams (sharing the published
 * snapshot's balancer of an upstream that did not change); then, once every service is in
 * snap->services, point each service whose host names an upstream at it. */
void tr__snap_upstreams(struct tr_snapshot *snap, const struct tr_k3_config *k3);
void tr__snap_link_upstreams(struct tr_snapshot *snap);
void tr__snap_free_upstream(struct tr_upstream *u);
/* Free the node's health registry (tr_snapshot_shutdown, once no balancer is left). */
void tr__snap_registry_free(void);

#endif
