/* SPDX-License-Identifier: MIT */
/* The Kong 3.x /services and /routes endpoints, their nested forms (/services/{s}/routes,
 * /routes/{r}/service) and /tags. Field rules are schema/kong3.c's; verbs, pagination and
 * error bodies are admin/crud3.c's and admin/errors3.c's. */
#include "admin/crud3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/errors3.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/str.h"
#include "schema/kong3.h"
#include "store/store.h"

/* Security profile P11, as for /apis: no service aimed at the Admin API itself or at a
 * link-local address unless allow_internal_upstreams is on. */
static json_t *check_internal(struct tr_admin_ctx *ctx, const json_t *doc)
{
    const char *host = json_string_value(json_object_get(doc, "host"));
    json_int_t port = json_integer_value(json_object_get(doc, "port"));
    if (host == NULL || port < 0 || port > 65535)
        return NULL;
    char lower[256];
    size_t n = strlen(host);
    if (n >= sizeof(lower))
        return NULL;
    for (size_t i = 0; i <= n; i++)
        lower[i] = tr_ascii_lower(host[i]);
    if (!tr__admin_internal_target(ctx, lower, (unsigned)port))
        return NULL;
    return json_pack("{s:s}", "host", "must not point at the Admin API or a link-local address");
}

static const struct tr_admin3_entity services = {
    .store_name = "services",
    .name_field = "name",
    .referenced_by = "routes",
    .validate = tr_schema3_service,
    .fks = {{"client_certificate", "client_certificate_id", "certificates", NULL}},
    .before_write = check_internal,
};

static const struct tr_admin3_entity routes = {
    .store_name = "routes",
    .name_field = "name",
    .validate = tr_schema3_route,
    .fks = {{"service", "service_id", "services", "name"}},
};

/* ---- /services ---------------------------------------------------------------------------- */

static void svc_list(struct tr_admin_ctx *ctx)
{
    tr_admin3_list(ctx, &services, NULL);
}

static void svc_create(struct tr_admin_ctx *ctx)
{
    tr_admin3_create(ctx, &services, NULL);
}

static void svc_get(struct tr_admin_ctx *ctx)
{
    tr_admin3_get(ctx, &services, ctx->params[0], NULL);
}

static void svc_patch(struct tr_admin_ctx *ctx)
{
    tr_admin3_patch(ctx, &services, ctx->params[0], NULL, NULL);
}

static void svc_put(struct tr_admin_ctx *ctx)
{
    tr_admin3_upsert(ctx, &services, ctx->params[0], NULL, NULL);
}

static void svc_delete(struct tr_admin_ctx *ctx)
{
    tr_admin3_delete(ctx, &services, ctx->params[0], NULL);
}

/* ---- /services/{s}/routes ----------------------------------------------------------------- */

/* The service of params[0]: its id in a new {"service_id": id} filter and a new
 * {"service":{"id":id}} input; false after answering 404 or a store error. */
static bool parent_service(struct tr_admin_ctx *ctx, json_t **filter, json_t **fixed)
{
    json_t *svc = NULL;
    int rc = tr_admin3_find(ctx, &services, ctx->params[0], &svc);
    if (rc == TR_ENOTFOUND) {
        tr_admin3_reply_not_found(ctx);
        return false;
    }
    if (rc != 0) {
        tr_admin_reply_store_error(ctx, rc);
        return false;
    }
    json_t *id = json_object_get(svc, "id");
    *filter = json_pack("{s:O}", "service_id", id);
    if (fixed != NULL)
        *fixed = json_pack("{s:{s:O}}", "service", "id", id);
    json_decref(svc);
    return true;
}

static void svc_routes_list(struct tr_admin_ctx *ctx)
{
    json_t *filter;
    if (!parent_service(ctx, &filter, NULL))
        return;
    tr_admin3_list(ctx, &routes, filter);
    json_decref(filter);
}

static void svc_routes_create(struct tr_admin_ctx *ctx)
{
    json_t *filter, *fixed;
    if (!parent_service(ctx, &filter, &fixed))
        return;
    tr_admin3_create(ctx, &routes, fixed);
    json_decref(filter);
    json_decref(fixed);
}

static void svc_route_get(struct tr_admin_ctx *ctx)
{
    json_t *filter;
    if (!parent_service(ctx, &filter, NULL))
        return;
    tr_admin3_get(ctx, &routes, ctx->params[1], filter);
    json_decref(filter);
}

static void svc_route_patch(struct tr_admin_ctx *ctx)
{
    json_t *filter, *fixed;
    if (!parent_service(ctx, &filter, &fixed))
        return;
    tr_admin3_patch(ctx, &routes, ctx->params[1], fixed, filter);
    json_decref(filter);
    json_decref(fixed);
}

static void svc_route_put(struct tr_admin_ctx *ctx)
{
    json_t *filter, *fixed;
    if (!parent_service(ctx, &filter, &fixed))
        return;
    tr_admin3_upsert(ctx, &routes, ctx->params[1], fixed, filter);
    json_decref(filter);
    json_decref(fixed);
}

static void svc_route_delete(struct tr_admin_ctx *ctx)
{
    json_t *filter;
    if (!parent_service(ctx, &filter, NULL))
        return;
    tr_admin3_delete(ctx, &routes, ctx->params[1], filter);
    json_decref(filter);
}

/* ---- /routes ------------------------------------------------------------------------------ */

static void rt_list(struct tr_admin_ctx *ctx)
{
    tr_admin3_list(ctx, &routes, NULL);
}

static void rt_create(struct tr_admin_ctx *ctx)
{
    tr_admin3_create(ctx, &routes, NULL);
}

static void rt_get(struct tr_admin_ctx *ctx)
{
    tr_admin3_get(ctx, &routes, ctx->params[0], NULL);
}

static void rt_patch(struct tr_admin_ctx *ctx)
{
    tr_admin3_patch(ctx, &routes, ctx->params[0], NULL, NULL);
}

static void rt_put(struct tr_admin_ctx *ctx)
{
    tr_admin3_upsert(ctx, &routes, ctx->params[0], NULL, NULL);
}

static void rt_delete(struct tr_admin_ctx *ctx)
{
    tr_admin3_delete(ctx, &routes, ctx->params[0], NULL);
}

/* ---- /routes/{r}/service ------------------------------------------------------------------ */

/* The id of the service of route params[0] (malloc'ed), or NULL after answering 404. */
static char *route_service_id(struct tr_admin_ctx *ctx)
{
    json_t *route = NULL;
    int rc = tr_admin3_find(ctx, &routes, ctx->params[0], &route);
    if (rc != 0) {
        if (rc == TR_ENOTFOUND)
            tr_admin3_reply_not_found(ctx);
        else
            tr_admin_reply_store_error(ctx, rc);
        return NULL;
    }
    const char *sid = json_string_value(json_object_get(route, "service_id"));
    char *out = sid ? tr_xstrdup(sid) : NULL;
    json_decref(route);
    if (out == NULL)
        tr_admin3_reply_not_found(ctx);
    return out;
}

static void rt_service_get(struct tr_admin_ctx *ctx)
{
    char *sid = route_service_id(ctx);
    if (sid == NULL)
        return;
    tr_admin3_get(ctx, &services, sid, NULL);
    free(sid);
}

static void rt_service_patch(struct tr_admin_ctx *ctx)
{
    char *sid = route_service_id(ctx);
    if (sid == NULL)
        return;
    tr_admin3_patch(ctx, &services, sid, NULL, NULL);
    free(sid);
}

static void rt_service_delete(struct tr_admin_ctx *ctx)
{
    char *sid = route_service_id(ctx);
    if (sid == NULL)
        return;
    free(sid);
    tr_admin_reply_error(ctx, TR_EMETHOD);
}

const struct tr_admin_endpoint tr_admin_services_endpoints[] = {
    {"/services", .get = svc_list, .post = svc_create,
     .help = "list (?size, ?offset, ?tags) or create Kong 3 services"},
    {"/services/{service}", .get = svc_get, .put = svc_put, .patch = svc_patch, .del = svc_delete,
     .help = "read, create-or-replace, update or delete one service by id or name"},
    {"/services/{service}/routes", .get = svc_routes_list, .post = svc_routes_create,
     .help = "list the routes of a service, or create one bound to it"},
    {"/services/{service}/routes/{route}", .get = svc_route_get, .put = svc_route_put,
     .patch = svc_route_patch, .del = svc_route_delete,
     .help = "one route of a service, by id or name"},
    {"/routes", .get = rt_list, .post = rt_create,
     .help = "list (?size, ?offset, ?tags) or create Kong 3 routes"},
    {"/routes/{route}", .get = rt_get, .put = rt_put, .patch = rt_patch, .del = rt_delete,
     .help = "read, create-or-replace, update or delete one route by id or name"},
    {"/routes/{route}/service", .get = rt_service_get, .patch = rt_service_patch,
     .del = rt_service_delete, .help = "read or update the service of a route"},
};
const size_t tr_admin_services_endpoints_cnt =
    sizeof(tr_admin_services_endpoints) / sizeof(tr_admin_services_endpoints[0]);

/* ---- /tags -------------------------------------------------------------------------------- */

/* Kinds listed by /tags, in this order. */
static const char *const tagged_kinds[] = {"services",
                                           "routes",
                                           "upstreams",
                                           "targets",
                                           "consumers",
                                           "plugins",
                                           "certificates",
                                           "snis",
                                           "keyauth_credentials",
                                           "basicauth_credentials",
                                           "acls",
                                           "oauth2_credentials",
                                           "jwt_secrets",
                                           "hmacauth_credentials",
                                           NULL};

struct tag_walk {
    const char *kind;
    const char *only; /* a tag, or NULL for all */
    json_t *out;      /* array of {entity_name, entity_id, tag} */
};

static int on_tagged(json_t *doc, void *ud)
{
    struct tag_walk *w = ud;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(doc, "tags"), i, t)
    {
        if (!json_is_string(t) || (w->only && strcmp(w->only, json_string_value(t)) != 0))
            continue;
        json_array_append_new(w->out, json_pack("{s:s,s:O,s:O}", "entity_name", w->kind,
                                                "entity_id", json_object_get(doc, "id"), "tag", t));
    }
    return 0;
}

/* Offsets of /tags are the decimal index of the next row. */
static void tags_list(struct tr_admin_ctx *ctx, const char *only)
{
    size_t size;
    if (tr_admin3_parse_size(ctx, &size) != 0)
        return;
    if (only != NULL) {
        char msg[512];
        if (!tr_schema3_tag_ok(only, strlen(only), msg, sizeof(msg))) {
            tr_admin3_reply(ctx, TR_ADMIN3_INVALID_UNIQUE_TAG, msg, NULL);
            return;
        }
    }
    size_t start = 0;
    const char *offset = json_string_value(json_object_get(ctx->query, "offset"));
    if (offset != NULL && offset[0] != '\0') {
        uint64_t n;
        if (tr_str_to_u64(tr_str_from_cstr(offset), SIZE_MAX, &n) != 0) {
            char msg[512];
            snprintf(msg, sizeof(msg), "'%s' is not a valid offset: bad base64 encoding", offset);
            tr_admin3_reply(ctx, TR_ADMIN3_INVALID_OFFSET, msg, NULL);
            return;
        }
        start = (size_t)n;
    }
    json_t *all = json_array();
    for (const char *const *k = tagged_kinds; *k; k++) {
        struct tag_walk w = {*k, only, all};
        int rc = tr_store_foreach(ctx->env->store, *k, on_tagged, &w);
        if (rc != 0) {
            json_decref(all);
            tr_admin_reply_store_error(ctx, rc);
            return;
        }
    }
    json_t *data = json_array();
    for (size_t i = start; i < json_array_size(all) && json_array_size(data) < size; i++)
        json_array_append(data, json_array_get(all, i));
    json_t *body = json_object();
    size_t end = start + json_array_size(data);
    if (end < json_array_size(all)) {
        char tok[32], next[1024];
        snprintf(tok, sizeof(tok), "%zu", end);
        struct tr_str path = ctx->req->path;
        if (path.len > 1 && path.ptr[path.len - 1] == '/')
            path.len--;
        snprintf(next, sizeof(next), "%.*s?offset=%s", (int)path.len, path.ptr, tok);
        json_object_set_new(body, "data", data);
        json_object_set_new(body, "next", json_string(next));
        json_object_set_new(body, "offset", json_string(tok));
    } else {
        json_object_set_new(body, "data", data);
        json_object_set_new(body, "next", json_null());
    }
    json_decref(all);
    tr_admin_reply(ctx, 200, body);
}

static void tags_all(struct tr_admin_ctx *ctx)
{
    tags_list(ctx, NULL);
}

static void tags_one(struct tr_admin_ctx *ctx)
{
    tags_list(ctx, ctx->params[0]);
}

const struct tr_admin_endpoint tr_admin_tags_endpoints[] = {
    {"/tags", .get = tags_all, .help = "list {entity_name, entity_id, tag} of tagged entities"},
    {"/tags/{tag}", .get = tags_one, .help = "list the entities carrying one tag"},
};
const size_t tr_admin_tags_endpoints_cnt =
    sizeof(tr_admin_tags_endpoints) / sizeof(tr_admin_tags_endpoints[0]);
