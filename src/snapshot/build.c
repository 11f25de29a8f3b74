/* SPDX-License-Identifier: MIT */
/* Compile the store's entities into a snapshot: each api into a service (its parsed upstream
 * URL) and its routes, each route's plugin chain, and the router over the routes. Runs on the
 * control thread only. */
#include "snapshot/snapshot.h"

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
    svc->url_text = dup_field(doc, "upstream_url");
    if (svc->id == NULL || svc->url_text == NULL ||
        tr_url_parse(tr_str_from_cstr(svc->url_text), &svc->url) != 0) {
        tr_log_error("snapshot: api %s has an invalid upstream_url, skipped",
                     svc->id ? svc->id : "(no id)");
        return TR_EINVAL;
    }
    svc->tls = svc->url.scheme.len == 5;

    /* Host header per Kong 0.7: the upstream_url host, with :port only when one was given. */
    char buf[512];
    const char *lb = svc->url.is_ipv6 ? "[" : "", *rb = svc->url.is_ipv6 ? "]" : "";
    if (svc->url.has_port)
        snprintf(buf, sizeof(buf), "%s%.*s%s:%u", lb, (int)svc->url.host.len, svc->url.host.ptr, rb,
                 svc->url.port);
    else
        snprintf(buf, sizeof(buf), "%s%.*s%s", lb, (int)svc->url.host.len, svc->url.host.ptr, rb);
    svc->host_header = tr_xstrdup(buf);
    snprintf(buf, sizeof(buf), "%.*s:%u%s", (int)svc->url.host.len, svc->url.host.ptr,
             svc->url.port, svc->tls ? "|tls" : "");
    svc->pool_key = tr_xstrdup(buf);
    return 0;
}

static void free_service(struct tr_service *svc)
{
    free(svc->id);
    free(svc->name);
    free(svc->url_text);
    free(svc->host_header);
    free(svc->pool_key);
}

static void free_route(struct tr_route *r)
{
    free(r->id);
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
        free_service(svc);
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
    snap->routes = tr_xcalloc(snap->apis.cnt * 2 + 1, sizeof(*snap->routes));
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
            r->service = &snap->services.items[api->service];
            r->api_id = api->id;
            r->api_name = api->name;
        }
    }
}

/* ---- plugins ---------------------------------------------------------------------------- */

static int on_plugin(json_t *doc, void *ud)
{
    struct tr_snapshot *snap = ud;
    if (json_is_false(json_object_get(doc, "enabled")))
        return 0;
    /* A plugin bound to a Kong 3 route or service applies only where that route matches; it
     * is never global. Until Kong 3 routes are compiled here, such instances are left out. */
    if (json_is_string(json_object_get(doc, "route_id")) ||
        json_is_string(json_object_get(doc, "service_id")))
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
    free(in->consumer_id);
}

/* The key of a consumer-scoped instance in snap->consumer_plugins: "<plugin index>/<consumer
 * id>/<api id or empty>". Returns its length (cut to len - 1 when longer). */
static size_t consumer_key(char *buf, size_t len, size_t plugin_index, const char *consumer_id,
                           const char *api_id)
{
    int n = snprintf(buf, len, "%zu/%s/%s", plugin_index, consumer_id, api_id ? api_id : "");
    return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

const struct tr_plugin_instance *tr_snapshot_consumer_instance(const struct tr_snapshot *snap,
                                                               size_t plugin_index,
                                                               const char *consumer_id,
                                                               const char *api_id)
{
    char key[200];
    size_t n = consumer_key(key, sizeof(key), plugin_index, consumer_id, api_id);
    return tr_strmap_get(&snap->consumer_plugins, (struct tr_str){key, n});
}

/* Flatten, for every route, the plugins that may run for it, in execution order: the instance
 * scoped to the route's api, else the global one; a plugin that has only consumer-scoped
 * instances keeps its step too (resolved once a consumer is known). */
static void build_chains(struct tr_snapshot *snap)
{
    size_t np = tr_plugin_count();
    const struct tr_plugin_instance *global[TR_PLUGIN_MAX] = {0};
    tr_strmap_init(&snap->consumer_plugins);
    for (size_t i = 0; i < snap->plugins.cnt; i++) {
        struct tr_plugin_instance *in = &snap->plugins.items[i];
        if (in->consumer_id) {
            char key[200];
            size_t n =
                consumer_key(key, sizeof(key), in->plugin_index, in->consumer_id, in->api_id);
            char *k = tr_arena_strndup(&snap->arena, key, n);
            tr_strmap_put(&snap->consumer_plugins, (struct tr_str){k, n}, in);
            snap->has_consumer_plugins[in->plugin_index] = true;
        } else if (in->api_id == NULL) {
            global[in->plugin_index] = in;
        }
    }
    struct tr_strmap api_by_id;
    tr_strmap_init(&api_by_id);
    for (size_t a = 0; a < snap->apis.cnt; a++)
        tr_strmap_put(&api_by_id, tr_str_from_cstr(snap->apis.items[a].id), &snap->apis.items[a]);
    /* Each api's own instances, per plugin index. */
    const struct tr_plugin_instance **own =
        tr_xcalloc(snap->apis.cnt * (np ? np : 1), sizeof(*own));
    for (size_t i = 0; i < snap->plugins.cnt; i++) {
        struct tr_plugin_instance *in = &snap->plugins.items[i];
        if (in->api_id == NULL || in->consumer_id)
            continue;
        struct tr_api *api = tr_strmap_get(&api_by_id, tr_str_from_cstr(in->api_id));
        if (api)
            own[(size_t)(api - snap->apis.items) * np + in->plugin_index] = in;
    }
    for (size_t ri = 0; ri < snap->num_routes; ri++) {
        struct tr_route *r = &snap->routes[ri];
        const struct tr_api *api =
            r->api_id ? tr_strmap_get(&api_by_id, tr_str_from_cstr(r->api_id)) : NULL;
        const struct tr_plugin_instance **mine =
            api ? own + (size_t)(api - snap->apis.items) * np : NULL;
        r->chain = tr_xcalloc(np ? np : 1, sizeof(*r->chain));
        for (size_t pi = 0; pi < np; pi++) {
            const struct tr_plugin_instance *base = mine ? mine[pi] : NULL;
            if (base == NULL)
                base = global[pi];
            if (base == NULL && !snap->has_consumer_plugins[pi])
                continue;
            r->chain[r->chain_len++] = (struct tr_chain_entry){pi, base};
        }
    }
    free(own);
    tr_strmap_free(&api_by_id);
}

struct tr_snapshot *tr_snapshot_build(struct tr_store *store, struct tr_snap_identity *identity)
{
    struct tr_snapshot *snap = tr_xcalloc(1, sizeof(*snap));
    atomic_init(&snap->refs, 1);
    if (tr_store_foreach(store, "apis", on_api, snap) != 0) {
        tr_log_error("snapshot: cannot read apis from the store");
        tr_snapshot_unref(snap);
        return NULL;
    }
    tr_snap_identity_ref(identity);
    snap->identity = identity;
    if (tr_store_foreach(store, "plugins", on_plugin, snap) != 0) {
        tr_log_error("snapshot: cannot read plugins from the store");
        tr_snapshot_unref(snap);
        return NULL;
    }
    /* The services array is final now: routes may point into it, and the router into the
     * routes array. */
    compile_api_routes(snap);
    build_chains(snap);
    snap->router = tr_router_new();
    for (size_t i = 0; i < snap->num_routes; i++) {
        struct tr_route *r = &snap->routes[i];
        if (tr_router_add(snap->router, r->host, r->path, r) != 0)
            tr_log_warn("snapshot: api %s cannot be routed", r->api_name ? r->api_name : r->id);
    }
    tr_router_compile(snap->router);
    if (tr_snapshot_build_certs(store, snap) != 0) {
        tr_snapshot_unref(snap);
        return NULL;
    }
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
        free_service(&snap->services.items[i]);
    tr_vector_free(&snap->services);
    for (size_t i = 0; i < snap->apis.cnt; i++)
        free_api(&snap->apis.items[i]);
    tr_vector_free(&snap->apis);
    for (size_t i = 0; i < snap->plugins.cnt; i++)
        free_plugin(&snap->plugins.items[i]);
    tr_vector_free(&snap->plugins);
    tr_strmap_free(&snap->consumer_plugins);
    tr_snap_identity_unref(snap->identity);
    tr_arena_reset(&snap->arena);
    free(snap);
}
