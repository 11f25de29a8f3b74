/* SPDX-License-Identifier: MIT */
/* Compile the store's entities into a snapshot: apis with parsed upstream URLs, and the router.
 * Runs on the control thread only. */
#include "snapshot/snapshot.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "router/router.h"
#include "store/store.h"

struct build_ctx {
    struct tr_snapshot *snap;
    size_t cap;
};

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

static int compile_api(json_t *doc, struct tr_api *api)
{
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
    api->connect_timeout_ms = u32_field(doc, "upstream_connect_timeout", 60000);
    api->send_timeout_ms = u32_field(doc, "upstream_send_timeout", 60000);
    api->read_timeout_ms = u32_field(doc, "upstream_read_timeout", 60000);
    api->retries = u32_field(doc, "retries", 5);
    api->upstream_url = dup_field(doc, "upstream_url");
    if (api->id == NULL || api->upstream_url == NULL ||
        tr_url_parse(tr_str_from_cstr(api->upstream_url), &api->url) != 0) {
        tr_log_error("snapshot: api %s has an invalid upstream_url, skipped",
                     api->id ? api->id : "(no id)");
        return TR_EINVAL;
    }
    api->upstream_tls = api->url.scheme.len == 5;

    /* Host header per Kong 0.7: the upstream_url host, with :port only when one was given. */
    char buf[512];
    const char *lb = api->url.is_ipv6 ? "[" : "", *rb = api->url.is_ipv6 ? "]" : "";
    if (api->url.has_port)
        snprintf(buf, sizeof(buf), "%s%.*s%s:%u", lb, (int)api->url.host.len, api->url.host.ptr,
                 rb, api->url.port);
    else
        snprintf(buf, sizeof(buf), "%s%.*s%s", lb, (int)api->url.host.len, api->url.host.ptr, rb);
    api->upstream_host_header = tr_xstrdup(buf);
    snprintf(buf, sizeof(buf), "%.*s:%u%s", (int)api->url.host.len, api->url.host.ptr,
             api->url.port, api->upstream_tls ? "|tls" : "");
    api->pool_key = tr_xstrdup(buf);
    return 0;
}

static void free_api(struct tr_api *api)
{
    free(api->id);
    free(api->name);
    free(api->request_host);
    free(api->request_path);
    free(api->upstream_url);
    free(api->upstream_host_header);
    free(api->pool_key);
}

static int on_api(json_t *doc, void *ud)
{
    struct build_ctx *b = ud;
    struct tr_snapshot *snap = b->snap;
    if (snap->num_apis == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        snap->apis = tr_xrealloc(snap->apis, b->cap * sizeof(*snap->apis));
    }
    struct tr_api *api = &snap->apis[snap->num_apis];
    if (compile_api(doc, api) != 0) {
        free_api(api);
        return 0;
    }
    snap->num_apis++;
    return 0;
}

struct tr_snapshot *tr_snapshot_build(struct tr_store *store)
{
    struct tr_snapshot *snap = tr_xcalloc(1, sizeof(*snap));
    atomic_init(&snap->refs, 1);
    struct build_ctx b = {snap, 0};
    if (tr_store_foreach(store, "apis", on_api, &b) != 0) {
        tr_log_error("snapshot: cannot read apis from the store");
        tr_snapshot_unref(snap);
        return NULL;
    }
    /* The apis array is final now: the router may keep pointers into it. */
    snap->router = tr_router_new();
    for (size_t i = 0; i < snap->num_apis; i++) {
        struct tr_api *api = &snap->apis[i];
        if (tr_router_add_api(snap->router, api->request_host, api->request_path, api) != 0)
            tr_log_warn("snapshot: api %s cannot be routed", api->name ? api->name : api->id);
    }
    tr_router_compile(snap->router);
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
    for (size_t i = 0; i < snap->num_apis; i++)
        free_api(&snap->apis[i]);
    free(snap->apis);
    free(snap);
}
