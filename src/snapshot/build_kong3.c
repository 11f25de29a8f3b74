/* SPDX-License-Identifier: MIT */
/* Compile Kong 3's services and routes (read from the store by kong3.c) into the snapshot's
 * model: each service into a struct tr_service, each route into a struct tr_route registered
 * with the router (tr_router_add_route). Part of tr_snapshot_build; control thread only. */
#include "snapshot/build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "router/router.h"

/* "http://host:port/path", the host bracketed when it is an IPv6 literal. */
static char *service_url(const struct tr_k3_service *s)
{
    bool v6 = strchr(s->host, ':') != NULL;
    size_t cap = strlen(s->protocol) + strlen(s->host) + (s->path ? strlen(s->path) : 0) + 16;
    char *url = tr_xmalloc(cap);
    snprintf(url, cap, "%s://%s%s%s:%d%s", s->protocol, v6 ? "[" : "", s->host, v6 ? "]" : "",
             s->port, s->path ? s->path : "");
    return url;
}

void tr__snap_kong3_services(struct tr_snapshot *snap, const struct tr_k3_config *k3)
{
    for (size_t i = 0; i < k3->service_cnt; i++) {
        const struct tr_k3_service *s = &k3->services[i];
        /* Kong: the routes of a disabled service are left out of the router (404). */
        if (!s->enabled || s->id == NULL || s->host == NULL || s->protocol == NULL)
            continue;
        struct tr_service *svc = tr_vector_push(NULL, &snap->services);
        memset(svc, 0, sizeof(*svc));
        svc->kong3 = true;
        svc->id = tr_xstrdup(s->id);
        svc->name = s->name ? tr_xstrdup(s->name) : NULL;
        svc->doc = json_incref(s->doc);
        svc->connect_timeout_ms = (uint32_t)s->connect_timeout;
        svc->send_timeout_ms = (uint32_t)s->write_timeout;
        svc->read_timeout_ms = (uint32_t)s->read_timeout;
        svc->retries = (uint32_t)s->retries;
        svc->tls_opts = (struct tr_tls_client_opts){.verify = s->tls_verify,
                                                    .verify_depth = s->tls_verify_depth};
        svc->client_cert_id =
            s->client_certificate_id ? tr_xstrdup(s->client_certificate_id) : NULL;
        svc->url_text = service_url(s);
        if (tr__snap_service_url(svc) != 0) {
            tr_log_error("snapshot: service %s has an unusable address, its routes are skipped",
                         s->id);
            tr__snap_free_service(svc);
            snap->services.cnt--;
        }
    }
}

void tr__snap_kong3_client_certs(struct tr_snapshot *snap)
{
    for (size_t i = 0; i < snap->upstreams.cnt; i++) {
        struct tr_upstream *u = &snap->upstreams.items[i];
        if (u->client_cert_id != NULL)
            u->client_cert = tr_tls_certs_by_id(snap->certs, u->client_cert_id);
    }
    for (size_t i = 0; i < snap->services.cnt; i++) {
        struct tr_service *svc = &snap->services.items[i];
        if (svc->client_cert_id == NULL)
            continue;
        svc->tls_opts.cert = tr_tls_certs_by_id(snap->certs, svc->client_cert_id);
        if (svc->tls_opts.cert == NULL)
            tr_log_error("snapshot: service %s: client certificate %s is unusable, connecting "
                         "without one",
                         svc->id, svc->client_cert_id);
    }
}

static unsigned protocol_bits(const struct tr_k3_strs *protocols)
{
    unsigned bits = 0;
    for (size_t i = 0; i < protocols->cnt; i++) {
        if (strcmp(protocols->items[i], "http") == 0)
            bits |= TR_ROUTER_PROTO_HTTP;
        else if (strcmp(protocols->items[i], "https") == 0)
            bits |= TR_ROUTER_PROTO_HTTPS;
    }
    return bits ? bits : TR_ROUTER_PROTO_HTTP | TR_ROUTER_PROTO_HTTPS;
}

/* The route's service in snap (NULL when it has none); false when the route must stay out of
 * the router (its service is disabled or unusable). */
static bool route_service(const struct tr_strmap *services, const struct tr_k3_route *kr,
                          const struct tr_service **out)
{
    *out = NULL;
    if (kr->service_id == NULL)
        return true;
    *out = tr_strmap_get(services, tr_str_from_cstr(kr->service_id));
    return *out != NULL;
}

static int add_to_router(struct tr_snapshot *snap, const struct tr_k3_route *kr, struct tr_route *r,
                         unsigned protocols)
{
    struct tr_route_header *headers = tr_xcalloc(kr->header_cnt + 1, sizeof(*headers));
    for (size_t h = 0; h < kr->header_cnt; h++)
        headers[h] = (struct tr_route_header){kr->headers[h].name,
                                              (const char *const *)kr->headers[h].values.items,
                                              kr->headers[h].values.cnt};
    struct tr_route_spec spec = {
        .protocols = protocols,
        .methods = (const char *const *)kr->methods.items,
        .num_methods = kr->methods.cnt,
        .hosts = (const char *const *)kr->hosts.items,
        .num_hosts = kr->hosts.cnt,
        .paths = (const char *const *)kr->paths.items,
        .num_paths = kr->paths.cnt,
        .headers = headers,
        .num_headers = kr->header_cnt,
        .snis = (const char *const *)kr->snis.items,
        .num_snis = kr->snis.cnt,
        .regex_priority = kr->regex_priority,
        .created_at = kr->created_at,
    };
    char err[256] = "";
    int rc = tr_router_add_route(snap->router, &spec, r, err, sizeof(err));
    free(headers);
    if (rc != 0)
        tr_log_error("snapshot: route %s cannot be routed: %s", kr->id, err);
    return rc;
}

void tr__snap_kong3_routes(struct tr_snapshot *snap, const struct tr_k3_config *k3)
{
    struct tr_strmap services;
    tr_strmap_init(&services);
    for (size_t i = 0; i < snap->services.cnt; i++) {
        struct tr_service *svc = &snap->services.items[i];
        if (svc->kong3)
            tr_strmap_put(&services, tr_str_from_cstr(svc->id), svc);
    }
    for (size_t i = 0; i < k3->route_cnt; i++) {
        const struct tr_k3_route *kr = &k3->routes[i];
        const struct tr_service *svc;
        if (kr->id == NULL || !route_service(&services, kr, &svc))
            continue;
        unsigned protocols = protocol_bits(&kr->protocols);
        struct tr_route *r = &snap->routes[snap->num_routes];
        memset(r, 0, sizeof(*r));
        r->kong3 = true;
        r->service = svc;
        if (add_to_router(snap, kr, r, protocols) != 0)
            continue;
        snap->num_routes++;
        snap->num_kong3_routes++;
        r->id = tr_xstrdup(kr->id);
        r->name = kr->name ? tr_xstrdup(kr->name) : NULL;
        r->doc = json_incref(kr->doc);
        r->strip_path = kr->strip_path;
        r->preserve_host = kr->preserve_host;
        /* A route for https only; X-Forwarded-Proto from trusted_ips counts (Kong 3 reads
         * the forwarded scheme whenever the peer is trusted). */
        r->https_only = !(protocols & TR_ROUTER_PROTO_HTTP);
        r->http_if_terminated = true;
        r->https_redirect_status = (uint16_t)kr->https_redirect_status_code;
        r->path_handling_v1 = kr->path_handling_v1;
        r->request_buffering = kr->request_buffering;
        /* Kong 3's precedence without a consumer: route+service, route, service, global. */
        size_t n = 0;
        if (svc)
            r->scopes[n++] = tr__snap_scope(snap, "r:", kr->id, "s:", svc->id);
        r->scopes[n++] = tr__snap_scope(snap, "r:", kr->id, NULL, NULL);
        if (svc)
            r->scopes[n++] = tr__snap_scope(snap, "s:", svc->id, NULL, NULL);
        r->scopes[n++] = "";
        r->num_scopes = n;
    }
    tr_strmap_free(&services);
}
