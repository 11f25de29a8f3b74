/* SPDX-License-Identifier: MIT */
/* Compile the store's entities into a snapshot: each api into a service (its parsed upstream
 * URL) and its routes, each route's plugin chain, and the router over the routes. Runs on the
 * control thread only. */
#include "snapshot/build.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/tls.h"
#include "router/router.h"
#include "store/store.h"

static char *dup_field(json_t *doc, const char *key)
{
    const char *v = json_string_value(json_object_get(doc, key));
    return (v && *v) ? tr_xstrdup(v) : NULL;
}

static bool bool_field(json_t *doc, const char *key)
{
    return json_is_true(json_object_get(doc, key));
}

static uint32_t u32_field(json_t *doc, const char *key, uint32_t dflt)
{
    json_t *v = json_object_get(doc, key);
    if (!json_is_integer(v))
        return dflt;
    json_int_t n = json_integer_value(v);
    if (n < 0 || n > (json_int_t)UINT32_MAX)
        return dflt;
    return (uint32_t)n;
}

/* A service from an api row: its upstream_url, timeouts and retries. */
static int compile_service(json_t *doc, struct tr_service *svc)
{
    memset(svc, 0, sizeof(*svc));
    svc->id = dup_field(doc, "id");
    svc->name = dup_field(doc, "name");
    svc->connect_timeout_ms = u32_field(doc, "upstream_connect_timeout", 60000);
    svc->send_timeout_ms = u32_field(doc, "upstream_send_timeout", 60000);
    svc->read_timeout_ms = u32_field(doc, "upstream_read_timeout", 60000);
    svc->retries = u32_field(doc, "retries", 5);
    svc->tls_opts = (struct tr_tls_client_opts){.verify = -1, .verify_depth = -1};
    svc->url_text = dup_field(doc, "upstream_url");
    if (svc->id == NULL || tr__snap_service_url(svc) != 0) {
        tr_log_error("snapshot: api %s has an invalid upstream_url, skipped",
                     svc->id ? svc->id : "(no id)");
        return TR_EINVAL;
    }
    return 0;
}

int tr__snap_service_url(struct tr_service *svc)
{
    if (svc->url_text == NULL || tr_url_parse(tr_str_from_cstr(svc->url_text), &svc->url) != 0)
        return TR_EINVAL;
    svc->tls = svc->url.scheme.len == 5;

    /* Host header. Kong 0.7: the upstream_url host, with :port only when one was given. Kong 3
     * (runloop/handler.lua set_host_header): with :port unless it is the scheme's default. */
    bool with_port = svc->url.has_port;
    if (svc->kong3)
        with_port = svc->url.port != (svc->tls ? 443u : 80u);
    char buf[512];
    const char *lb = svc->url.is_ipv6 ? "[" : "", *rb = svc->url.is_ipv6 ? "]" : "";
    if (with_port)
        snprintf(buf, sizeof(buf), "%s%.*s%s:%u", lb, (int)svc->url.host.len, svc->url.host.ptr, rb,
                 svc->url.port);
    else
        snprintf(buf, sizeof(buf), "%s%.*s%s", lb, (int)svc->url.host.len, svc->url.host.ptr, rb);
    svc->host_header = tr_xstrdup(buf);
    /* Connections (and TLS sessions) are shared only between services asking the same of
     * them: the TLS options are part of the key. */
    int n = snprintf(buf, sizeof(buf), "%.*s:%u%s", (int)svc->url.host.len, svc->url.host.ptr,
                     svc->url.port, svc->tls ? "|tls" : "");
    const struct tr_tls_client_opts *o = &svc->tls_opts;
    if (svc->tls && n > 0 && (size_t)n < sizeof(buf) &&
        (o->verify >= 0 || o->verify_depth >= 0 || svc->client_cert_id))
        snprintf(buf + n, sizeof(buf) - (size_t)n, "|v%d|d%d|c%s", o->verify, o->verify_depth,
                 svc->client_cert_id ? svc->client_cert_id : "");
    svc->pool_key = tr_xstrdup(buf);
    return 0;
}

void tr__snap_free_service(struct tr_service *svc)
{
    free(svc->id);
    free(svc->name);
    json_decref(svc->doc);
    free(svc->url_text);
    free(svc->host_header);
    free(svc->pool_key);
    free(svc->client_cert_id);
    free(svc->resolved);
}

static void free_route(struct tr_route *r)
{
    free(r->id);
    free(r->name);
    json_decref(r->doc);
    free(r->host);
    free(r->path);
    free(r->chain);
}

static void free_api(struct tr_api *api)
{
    free(api->id);
    free(api->name);
    free(api->request_host);
    free(api->request_path);
}

/* An api row: the legacy entity and its service. Routes come later (compile_api_routes), once
 * the arrays stop moving. */
static int on_api(json_t *doc, void *ud)
{
    struct tr_snapshot *snap = ud;
    tr_vector_reserve(NULL, &snap->services, snap->services.cnt + 1);
    struct tr_service *svc = &snap->services.items[snap->services.cnt];
    if (compile_service(doc, svc) != 0) {
        tr__snap_free_service(svc);
        return 0;
    }
    struct tr_api *api = tr_vector_push(NULL, &snap->apis);
    memset(api, 0, sizeof(*api));
    api->id = dup_field(doc, "id");
    api->name = dup_field(doc, "name");
    api->request_host = dup_field(doc, "request_host");
    api->request_path = dup_field(doc, "request_path");
    if (api->request_path) {
        size_t n = strlen(api->request_path);
        while (n > 1 && api->request_path[n - 1] == '/')
            api->request_path[--n] = '\0';
    }
    api->strip_request_path = bool_field(doc, "strip_request_path");
    api->preserve_host = bool_field(doc, "preserve_host");
    api->https_only = bool_field(doc, "https_only");
    api->http_if_terminated = bool_field(doc, "http_if_terminated");
    api->service = snap->services.cnt++;
    return 0;
}

/* An api's routes: one for its request_host (never stripped: Kong 0.7 strips only when the api
 * was matched by its path), one for its request_path; both go to the api's service and run the
 * api's plugins (build_chains). */
static void compile_api_routes(struct tr_snapshot *snap)
{
    for (size_t a = 0; a < snap->apis.cnt; a++) {
        const struct tr_api *api = &snap->apis.items[a];
        const char *conditions[2] = {api->request_host, api->request_path};
        for (size_t c = 0; c < 2; c++) {
            if (conditions[c] == NULL)
                continue;
            struct tr_route *r = &snap->routes[snap->num_routes++];
            r->id = tr_xstrdup(api->id);
            if (c == 0)
                r->host = tr_xstrdup(api->request_host);
            else
                r->path = tr_xstrdup(api->request_path);
            r->strip_path = c == 1 && api->strip_request_path;
            r->preserve_host = api->preserve_host;
            r->https_only = api->https_only;
            r->http_if_terminated = api->http_if_terminated;
            r->https_redirect_status = 426;
            r->service = &snap->services.items[api->service];
            r->api_id = api->id;
            r->api_name = api->name;
            r->scopes[0] = tr__snap_scope(snap, "a:", api->id, NULL, NULL);
            r->scopes[1] = "";
            r->num_scopes = 2;
        }
    }
}

/* ---- plugins ---------------------------------------------------------------------------- */

static int on_plugin(json_t *doc, void *ud)
{
    struct tr_snapshot *snap = ud;
    if (json_is_false(json_object_get(doc, "enabled")))
        return 0;
    const char *name = json_string_value(json_object_get(doc, "name"));
    size_t index;
    const struct tr_plugin *p = name ? tr_plugin_find(name, &index) : NULL;
    if (p == NULL) {
        tr_log_warn("snapshot: plugin '%s' is not available on this node, skipped",
                    name ? name : "(none)");
        return 0;
    }
    if (!tr_plugin_enabled(index)) {
        tr_log_info("snapshot: plugin '%s' is not loaded on this node (plugins setting), skipped",
                    name);
        return 0;
    }
    json_t *config = json_object_get(doc, "config");
    if (!json_is_object(config))
        config = json_object();
    else
        json_incref(config);
    void *conf = config;
    if (p->conf_parse) {
        char err[256] = "";
        conf = p->conf_parse(config, err, sizeof(err));
        if (conf == NULL) {
            tr_log_error("snapshot: plugin %s config rejected: %s", name, err);
            json_decref(config);
            return 0;
        }
    }
    struct tr_plugin_instance *in = tr_vector_push(NULL, &snap->plugins);
    in->id = dup_field(doc, "id");
    in->plugin = p;
    in->plugin_index = index;
    in->api_id = dup_field(doc, "api_id");
    in->route_id = dup_field(doc, "route_id");
    in->service_id = dup_field(doc, "service_id");
    in->consumer_id = dup_field(doc, "consumer_id");
    in->config = config;
    in->conf = conf;
    return 0;
}

static void free_plugin(struct tr_plugin_instance *in)
{
    if (in->plugin->conf_parse && in->plugin->conf_free)
        in->plugin->conf_free(in->conf);
    json_decref(in->config);
    free(in->id);
    free(in->api_id);
    free(in->route_id);
    free(in->service_id);
    free(in->consumer_id);
}

const char *tr__snap_scope(struct tr_snapshot *snap, const char *kind, const char *id,
                           const char *kind2, const char *id2)
{
    char buf[160];
    int n = snprintf(buf, sizeof(buf), "%s%s%s%s%s", kind, id, kind2 ? "/" : "", kind2 ? kind2 : "",
                     id2 ? id2 : "");
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    return tr_arena_strndup(&snap->arena, buf, len);
}

/* The scope an instance is bound to, as a route lists its scopes (tr_route.scopes). */
static const char *instance_scope(struct tr_snapshot *snap, const struct tr_plugin_instance *in)
{
    if (in->api_id)
        return tr__snap_scope(snap, "a:", in->api_id, NULL, NULL);
    if (in->route_id && in->service_id)
        return tr__snap_scope(snap, "r:", in->route_id, "s:", in->service_id);
    if (in->route_id)
        return tr__snap_scope(snap, "r:", in->route_id, NULL, NULL);
    if (in->service_id)
        return tr__snap_scope(snap, "s:", in->service_id, NULL, NULL);
    return "";
}

/* The key of an instance in snap->instances: "<plugin index>/<consumer id or empty>/<scope>".
 * Returns its length (cut to len - 1 when longer). */
static size_t instance_key(char *buf, size_t len, size_t plugin_index, const char *consumer_id,
                           const char *scope)
{
    int n = snprintf(buf, len, "%zu/%s/%s", plugin_index, consumer_id ? consumer_id : "", scope);
    return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

static const struct tr_plugin_instance *find_instance(const struct tr_snapshot *snap,
                                                      size_t plugin_index, const char *consumer_id,
                                                      const char *scope)
{
    char key[256];
    size_t n = instance_key(key, sizeof(key), plugin_index, consumer_id, scope);
    return tr_strmap_get(&snap->instances, (struct tr_str){key, n});
}

const struct tr_plugin_instance *tr_snapshot_consumer_instance(const struct tr_snapshot *snap,
                                                               size_t plugin_index,
                                                               const char *consumer_id,
                                                               const char *scope)
{
    return find_instance(snap, plugin_index, consumer_id, scope);
}

/* Flatten, for every route, the plugins that may run for it, in execution order: the instance
 * of the route's most specific scope that has one (an api's own, else the global one; Kong 3:
 * route+service, route, service, global); a plugin that has only consumer-scoped instances keeps
 * its step too (resolved once a consumer is known, phases.c). */
static void build_chains(struct tr_snapshot *snap)
{
    size_t np = tr_plugin_count();
    bool any[TR_PLUGIN_MAX] = {false}; /* a plugin with no instance at all is no step */
    tr_strmap_init(&snap->instances);
    for (size_t i = 0; i < snap->plugins.cnt; i++) {
        struct tr_plugin_instance *in = &snap->plugins.items[i];
        any[in->plugin_index] = true;
        char key[256];
        size_t n = instance_key(key, sizeof(key), in->plugin_index, in->consumer_id,
                                instance_scope(snap, in));
        char *k = tr_arena_strndup(&snap->arena, key, n);
        tr_strmap_put(&snap->instances, (struct tr_str){k, n}, in);
        if (in->consumer_id)
            snap->has_consumer_plugins[in->plugin_index] = true;
    }
    for (size_t pi = 0; pi < np && snap->num_globals < TR_PLUGIN_MAX; pi++) {
        const struct tr_plugin_instance *g = any[pi] ? find_instance(snap, pi, NULL, "") : NULL;
        if (g != NULL)
            snap->globals[snap->num_globals++] = g;
    }
    for (size_t ri = 0; ri < snap->num_routes; ri++) {
        struct tr_route *r = &snap->routes[ri];
        r->chain = tr_xcalloc(np ? np : 1, sizeof(*r->chain));
        for (size_t pi = 0; pi < np; pi++) {
            if (!any[pi])
                continue;
            const struct tr_plugin_instance *base = NULL;
            size_t s = 0;
            for (; s < r->num_scopes && base == NULL; s++)
                base = find_instance(snap, pi, NULL, r->scopes[s]);
            if (base == NULL && !snap->has_consumer_plugins[pi])
                continue;
            /* Kong 3's route+service scope is the first of a route with a service. */
            bool over = base && r->kong3 && r->service && s == 1;
            r->chain[r->chain_len++] = (struct tr_chain_entry){pi, base, over};
        }
    }
}

static struct tr_snapshot *build_failed(struct tr_snapshot *snap, const char *what)
{
    if (what)
        tr_log_error("snapshot: cannot read %s from the store", what);
    tr_snapshot_unref(snap);
    return NULL;
}

struct tr_snapshot *tr_snapshot_build(struct tr_store *store, struct tr_snap_identity *identity,
                                      const struct tr_k3_config *k3)
{
    struct tr_snapshot *snap = tr_xcalloc(1, sizeof(*snap));
    atomic_init(&snap->refs, 1);
    tr_snap_identity_ref(identity);
    snap->identity = identity;
    if (tr_store_foreach(store, "apis", on_api, snap) != 0)
        return build_failed(snap, "apis");
    tr__snap_kong3_services(snap, k3);
    tr__snap_upstreams(snap, k3);
    tr__snap_link_upstreams(snap);
    if (tr_store_foreach(store, "plugins", on_plugin, snap) != 0)
        return build_failed(snap, "plugins");
    /* The services array is final now: routes may point into it, and the router into the
     * routes array. */
    snap->routes = tr_xcalloc(snap->apis.cnt * 2 + k3->route_cnt + 1, sizeof(*snap->routes));
    snap->router = tr_router_new();
    compile_api_routes(snap);
    for (size_t i = 0; i < snap->num_routes; i++) {
        struct tr_route *r = &snap->routes[i];
        if (tr_router_add(snap->router, r->host, r->path, r) != 0)
            tr_log_warn("snapshot: api %s cannot be routed", r->api_name ? r->api_name : r->id);
    }
    tr__snap_kong3_routes(snap, k3);
    build_chains(snap);
    tr_router_compile(snap->router);
    if (tr_snapshot_build_certs(store, snap) != 0)
        return build_failed(snap, NULL);
    tr__snap_kong3_client_certs(snap);
    return snap;
}

void tr_snapshot_ref(struct tr_snapshot *snap)
{
    atomic_fetch_add_explicit(&snap->refs, 1, memory_order_relaxed);
}

void tr_snapshot_unref(struct tr_snapshot *snap)
{
    if (snap == NULL)
        return;
    if (atomic_fetch_sub_explicit(&snap->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (snap->router)
        tr_router_free(snap->router);
    tr_tls_certs_free(snap->certs);
    for (size_t i = 0; i < snap->num_routes; i++)
        free_route(&snap->routes[i]);
    free(snap->routes);
    for (size_t i = 0; i < snap->services.cnt; i++)
        tr__snap_free_service(&snap->services.items[i]);
    tr_vector_free(&snap->services);
    for (size_t i = 0; i < snap->upstreams.cnt; i++)
        tr__snap_free_upstream(&snap->upstreams.items[i]);
    tr_vector_free(&snap->upstreams);
    for (size_t i = 0; i < snap->apis.cnt; i++)
        free_api(&snap->apis.items[i]);
    tr_vector_free(&snap->apis);
    for (size_t i = 0; i < snap->plugins.cnt; i++)
        free_plugin(&snap->plugins.items[i]);
    tr_vector_free(&snap->plugins);
    tr_strmap_free(&snap->instances);
    tr_snap_identity_unref(snap->identity);
    tr_arena_reset(&snap->arena);
    free(snap);
}
