/* SPDX-License-Identifier: MIT */
/* The plugin endpoints (Kong 0.x): /plugins, /plugins/{id}, /plugins/enabled,
 * /plugins/schema/{name}, and the same collection under /apis/{api}/plugins with api_id taken
 * from the path; likewise under Kong 3's /services/{s}/plugins and /routes/{r}/plugins. A
 * plugin's config is validated against its own schema, chosen by name. A plugin bound to a
 * Kong 3 service or route is written with Kong 3's service = {"id"|"name": ...} (or the
 * form's service.id=) and stored as service_id (route_id); answers show {"id": ...}. */
#include "admin/crud.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/uuid.h"
#include "plugins/plugin.h"
#include "plugins/registry.h"
#include "schema/entities.h"
#include "store/store.h"

#define MAX_FIELDS 16

_Static_assert(MAX_FIELDS >= 7, "room for the plugins entity's fields");

static const struct tr_schema no_fields = {.name = "config", .fields = NULL, .cnt = 0};

static json_t *one_error(const char *field, json_t *msg)
{
    json_t *o = json_object();
    json_object_set_new(o, field, msg ? msg : json_string("invalid value"));
    return o;
}

/* The plugin a write is about: the request's name when it names one that does not exist (Kong
 * 0.7 answered even an update naming one with the unknown-plugin error), else the stored
 * one's for an update, else the request's. NULL when neither names one (validation then
 * reports it). Writes into buf. */
static const char *plugin_name(const json_t *input, const json_t *existing, char *buf, size_t len)
{
    const char *stored = existing ? json_string_value(json_object_get(existing, "name")) : NULL;
    const json_t *n = json_object_get(input, "name");
    struct tr_str s = {json_string_value(n), json_string_length(n)};
    s = tr_str_trim(s);
    if (s.len > 0)
        snprintf(buf, len, "%.*s", (int)s.len, s.ptr);
    if (s.len > 0 && (stored == NULL || tr_plugin_find(buf, NULL) == NULL))
        return buf;
    return stored;
}

static int validate(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e,
                    enum tr_schema_mode mode, const json_t *input, const json_t *existing,
                    json_t **out, json_t **errors)
{
    char buf[128];
    const char *name = plugin_name(input, existing, buf, sizeof(buf));
    if (name == NULL)
        return tr_schema_validate(&tr_schema_plugins, mode, input, existing, out, errors);
    size_t index;
    const struct tr_plugin *p = tr_plugin_find(name, &index);
    *out = NULL;
    if (p == NULL) {
        /* Kong 0.7's shape for an unknown plugin. */
        *errors = one_error("config", json_sprintf("Plugin \"%s\" not found", name));
        return TR_EINVAL;
    }
    if (existing == NULL && !tr_plugin_enabled(index)) {
        *errors = one_error("name", json_sprintf("plugin '%s' not enabled; add it to the "
                                                 "'plugins' configuration property",
                                                 name));
        return TR_EINVAL;
    }
    /* The entity table with config bound to this plugin's schema. */
    struct tr_schema_field fields[MAX_FIELDS];
    size_t cnt = tr_schema_plugins.cnt < MAX_FIELDS ? tr_schema_plugins.cnt : MAX_FIELDS;
    memcpy(fields, tr_schema_plugins.fields, cnt * sizeof(fields[0]));
    for (size_t i = 0; i < cnt; i++) {
        if (strcmp(fields[i].name, "config") == 0)
            fields[i].record = p->schema ? p->schema : &no_fields;
    }
    struct tr_schema s = tr_schema_plugins;
    s.fields = fields;
    s.cnt = cnt;
    int rc = tr_schema_validate(&s, mode, input, existing, out, errors);
    if (rc != 0)
        return rc;
    if ((p->flags & TR_PLUGIN_NO_CONSUMER) &&
        json_is_string(json_object_get(*out, "consumer_id"))) {
        json_decref(*out);
        *out = NULL;
        *errors = json_pack("{s:s}", "message", "No consumer can be configured for that plugin");
        return TR_EINVAL;
    }
    return 0;
}

/* (name, api_id, consumer_id) is the composite key; the store reports it on "name". */
static json_t *conflict(const char *field, const json_t *doc)
{
    if (strcmp(field, "name") != 0)
        return NULL;
    return json_pack("{s:s}", "message", tr_err_message(TR_EPLUGINEXISTS));
}

static const struct tr_admin_entity plugins = {
    .store_name = "plugins",
    .schema = &tr_schema_plugins,
    .validate = validate,
    .conflict_body = conflict,
};

static const struct tr_admin_entity apis = {
    .store_name = "apis",
    .schema = NULL, /* only used to find an api */
    .name_field = "name",
};

/* ---- hidden config fields ---------------------------------------------------------------- */

/* Drop from one plugin row the config fields its plugin never returns (hidden_config). */
static void hide_config(json_t *doc)
{
    /* Kong 3 references as Kong 3 shows them; legacy rows have none, so stay as they were. */
    static const char *const refs[][2] = {{"service_id", "service"}, {"route_id", "route"}};
    for (size_t i = 0; i < 2; i++) {
        json_t *id = json_object_get(doc, refs[i][0]);
        if (id == NULL)
            continue;
        json_object_set_new(doc, refs[i][1],
                            json_is_string(id) ? json_pack("{s:O}", "id", id) : json_null());
        json_object_del(doc, refs[i][0]);
    }
    const char *name = json_string_value(json_object_get(doc, "name"));
    const struct tr_plugin *p = name ? tr_plugin_find(name, NULL) : NULL;
    json_t *config = json_object_get(doc, "config");
    if (p == NULL || p->hidden_config == NULL || !json_is_object(config))
        return;
    for (const char *const *f = p->hidden_config; *f != NULL; f++)
        json_object_del(config, *f);
}

/* The answer a crud helper just produced (one plugin or a {"data":[...]} page), without hidden
 * config fields. The body is copied first: the stored row it came from may still be shared. */
static void hide_answer(struct tr_admin_ctx *ctx)
{
    json_t *body = ctx->res->body;
    if (ctx->res->status >= 300 || !json_is_object(body))
        return;
    json_t *copy = json_deep_copy(body);
    if (copy == NULL)
        return;
    json_t *data = json_object_get(copy, "data");
    if (json_is_array(data)) {
        size_t i;
        json_t *row;
        json_array_foreach(data, i, row)
        {
            hide_config(row);
        }
    } else {
        hide_config(copy);
    }
    json_decref(body);
    ctx->res->body = copy;
}

/* ---- Kong 3 references -------------------------------------------------------------------- */

/* The id of the kind's row named by key (an id, or a name), into out; TR_ENOTFOUND, TR_EDB. */
static int find_ref(struct tr_admin_ctx *ctx, const char *kind, const char *name_field,
                    const char *key, char out[TR_UUID_LEN + 1])
{
    json_t *doc = NULL;
    int rc = TR_ENOTFOUND;
    if (tr_uuid_is_valid(tr_str_from_cstr(key))) {
        char lower[TR_UUID_LEN + 1];
        for (size_t i = 0; i < TR_UUID_LEN; i++)
            lower[i] = tr_ascii_lower(key[i]);
        lower[TR_UUID_LEN] = '\0';
        rc = tr_store_get(ctx->env->store, kind, "id", lower, &doc);
    } else {
        rc = tr_store_get(ctx->env->store, kind, name_field, key, &doc);
    }
    if (rc == 0)
        snprintf(out, TR_UUID_LEN + 1, "%s", json_string_value(json_object_get(doc, "id")));
    json_decref(doc);
    return rc;
}

/* Turn Kong 3's service / route / consumer references in ctx->body into service_id / route_id /
 * consumer_id. Returns false after answering 400 (a reference naming nothing) or a store
 * error. */
static bool take_refs(struct tr_admin_ctx *ctx)
{
    /* Kong 3 writes a consumer as {"id": ...} too (answers keep the legacy consumer_id). */
    static const char *const refs[][4] = {{"service", "service_id", "services", "name"},
                                          {"route", "route_id", "routes", "name"},
                                          {"consumer", "consumer_id", "consumers", "username"}};
    for (size_t i = 0; i < 3; i++) {
        json_t *ref = json_object_get(ctx->body, refs[i][0]);
        if (ref == NULL)
            continue;
        if (json_is_null(ref) || (json_is_string(ref) && json_string_length(ref) == 0)) {
            json_object_set_new(ctx->body, refs[i][1], json_null());
            json_object_del(ctx->body, refs[i][0]);
            continue;
        }
        const json_t *key = json_is_object(ref) ? json_object_get(ref, "id") : NULL;
        if (json_is_object(ref) && (key == NULL || json_is_null(key)))
            key = json_object_get(ref, refs[i][3]);
        if (!json_is_string(key)) {
            tr_admin_reply(
                ctx, 400,
                json_pack("{s:s}", refs[i][0], "expected {\"id\": ...} or {\"name\": ...}"));
            return false;
        }
        char id[TR_UUID_LEN + 1];
        int rc = find_ref(ctx, refs[i][2], refs[i][3], json_string_value(key), id);
        if (rc == TR_ENOTFOUND) {
            json_t *body = json_object();
            json_object_set_new(body, refs[i][0], json_sprintf("%s does not exist", refs[i][0]));
            tr_admin_reply(ctx, 400, body);
            return false;
        }
        if (rc != 0) {
            tr_admin_reply_store_error(ctx, rc);
            return false;
        }
        json_object_set_new(ctx->body, refs[i][1], json_string(id));
        json_object_del(ctx->body, refs[i][0]);
    }
    return true;
}

/* ---- /plugins ---------------------------------------------------------------------------- */

static void list(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_list(ctx, &plugins, NULL);
    hide_answer(ctx);
}

static void create(struct tr_admin_ctx *ctx)
{
    if (!take_refs(ctx))
        return;
    tr_admin_crud_create(ctx, &plugins, NULL);
    hide_answer(ctx);
}

static void upsert(struct tr_admin_ctx *ctx)
{
    if (!take_refs(ctx))
        return;
    tr_admin_crud_upsert(ctx, &plugins, NULL);
    hide_answer(ctx);
}

static void get(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_get(ctx, &plugins, ctx->params[0]);
    hide_answer(ctx);
}

static void patch(struct tr_admin_ctx *ctx)
{
    if (!take_refs(ctx))
        return;
    tr_admin_crud_patch(ctx, &plugins, ctx->params[0], NULL);
    hide_answer(ctx);
}

static void del(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_delete(ctx, &plugins, ctx->params[0]);
}

/* Plugins loaded on this node, in execution order. */
static json_t *loaded_names(void)
{
    json_t *names = json_array();
    for (size_t i = 0; i < tr_plugin_count(); i++) {
        if (tr_plugin_enabled(i))
            json_array_append_new(names, json_string(tr_plugin_at(i)->name));
    }
    return names;
}

static void enabled(struct tr_admin_ctx *ctx)
{
    tr_admin_reply(ctx, 200, json_pack("{s:o}", "enabled_plugins", loaded_names()));
}

static void schema(struct tr_admin_ctx *ctx)
{
    size_t index;
    const struct tr_plugin *p = tr_plugin_find(ctx->params[0], &index);
    if (p == NULL || !tr_plugin_enabled(index)) {
        json_t *msg = json_sprintf("No plugin named '%s'", ctx->params[0]);
        tr_admin_reply_detail(ctx, TR_ENOTFOUND, msg ? json_string_value(msg) : "");
        json_decref(msg);
        return;
    }
    json_t *body = tr_schema_describe(p->schema ? p->schema : &no_fields);
    json_object_set_new(body, "no_consumer", json_boolean(p->flags & TR_PLUGIN_NO_CONSUMER));
    tr_admin_reply(ctx, 200, body);
}

/* ---- /apis/{api}/plugins ----------------------------------------------------------------- */

/* {"api_id": <id of the api named by params[0]>} (new), or NULL after answering 404/5xx. */
static json_t *api_filter(struct tr_admin_ctx *ctx)
{
    json_t *api;
    int rc = tr_admin_crud_find(ctx, &apis, ctx->params[0], &api);
    if (rc != 0) {
        tr_admin_reply_store_error(ctx, rc);
        return NULL;
    }
    json_t *fixed = json_pack("{s:O}", "api_id", json_object_get(api, "id"));
    json_decref(api);
    return fixed;
}

/* The api's filter when plugin params[1] belongs to it; else NULL after answering 404. */
static json_t *api_plugin(struct tr_admin_ctx *ctx)
{
    json_t *fixed = api_filter(ctx);
    if (fixed == NULL)
        return NULL;
    json_t *doc;
    int rc = tr_admin_crud_find(ctx, &plugins, ctx->params[1], &doc);
    if (rc == 0) {
        bool mine = json_equal(json_object_get(doc, "api_id"), json_object_get(fixed, "api_id"));
        json_decref(doc);
        if (mine)
            return fixed;
        rc = TR_ENOTFOUND;
    }
    json_decref(fixed);
    tr_admin_reply_store_error(ctx, rc);
    return NULL;
}

static void api_list(struct tr_admin_ctx *ctx)
{
    json_t *fixed = api_filter(ctx);
    if (fixed != NULL) {
        tr_admin_crud_list(ctx, &plugins, fixed);
        hide_answer(ctx);
    }
    json_decref(fixed);
}

static void api_create(struct tr_admin_ctx *ctx)
{
    json_t *fixed = api_filter(ctx);
    if (fixed != NULL) {
        tr_admin_crud_create(ctx, &plugins, fixed);
        hide_answer(ctx);
    }
    json_decref(fixed);
}

static void api_upsert(struct tr_admin_ctx *ctx)
{
    json_t *fixed = api_filter(ctx);
    if (fixed != NULL) {
        tr_admin_crud_upsert(ctx, &plugins, fixed);
        hide_answer(ctx);
    }
    json_decref(fixed);
}

static void api_get(struct tr_admin_ctx *ctx)
{
    json_t *fixed = api_plugin(ctx);
    if (fixed != NULL) {
        tr_admin_crud_get(ctx, &plugins, ctx->params[1]);
        hide_answer(ctx);
    }
    json_decref(fixed);
}

static void api_patch(struct tr_admin_ctx *ctx)
{
    json_t *fixed = api_plugin(ctx);
    if (fixed != NULL) {
        tr_admin_crud_patch(ctx, &plugins, ctx->params[1], fixed);
        hide_answer(ctx);
    }
    json_decref(fixed);
}

static void api_del(struct tr_admin_ctx *ctx)
{
    json_t *fixed = api_plugin(ctx);
    if (fixed != NULL)
        tr_admin_crud_delete(ctx, &plugins, ctx->params[1]);
    json_decref(fixed);
}

/* ---- /services/{s}/plugins, /routes/{r}/plugins, /consumers/{c}/plugins ------------------ */

/* {"<field>": <id of the kind's row named by params[0]>} (new), or NULL after answering. A
 * consumer is named by its username, the others by their name. */
static json_t *parent_filter(struct tr_admin_ctx *ctx, const char *kind, const char *field)
{
    char id[TR_UUID_LEN + 1];
    const char *name_field = strcmp(kind, "consumers") == 0 ? "username" : "name";
    int rc = find_ref(ctx, kind, name_field, ctx->params[0], id);
    if (rc != 0) {
        tr_admin_reply_store_error(ctx, rc);
        return NULL;
    }
    return json_pack("{s:s}", field, id);
}

/* The parent's filter when plugin params[1] belongs to it; else NULL after answering 404. */
static json_t *parent_plugin(struct tr_admin_ctx *ctx, const char *kind, const char *field)
{
    json_t *fixed = parent_filter(ctx, kind, field);
    if (fixed == NULL)
        return NULL;
    json_t *doc;
    int rc = tr_admin_crud_find(ctx, &plugins, ctx->params[1], &doc);
    if (rc == 0) {
        bool mine = json_equal(json_object_get(doc, field), json_object_get(fixed, field));
        json_decref(doc);
        if (mine)
            return fixed;
        rc = TR_ENOTFOUND;
    }
    json_decref(fixed);
    tr_admin_reply_store_error(ctx, rc);
    return NULL;
}

static void nested_list(struct tr_admin_ctx *ctx, const char *kind, const char *field)
{
    json_t *fixed = parent_filter(ctx, kind, field);
    if (fixed != NULL) {
        tr_admin_crud_list(ctx, &plugins, fixed);
        hide_answer(ctx);
    }
    json_decref(fixed);
}

static void nested_create(struct tr_admin_ctx *ctx, const char *kind, const char *field)
{
    json_t *fixed = parent_filter(ctx, kind, field);
    if (fixed != NULL && take_refs(ctx)) {
        tr_admin_crud_create(ctx, &plugins, fixed);
        hide_answer(ctx);
    }
    json_decref(fixed);
}

static void nested_get(struct tr_admin_ctx *ctx, const char *kind, const char *field)
{
    json_t *fixed = parent_plugin(ctx, kind, field);
    if (fixed != NULL) {
        tr_admin_crud_get(ctx, &plugins, ctx->params[1]);
        hide_answer(ctx);
    }
    json_decref(fixed);
}

static void nested_patch(struct tr_admin_ctx *ctx, const char *kind, const char *field)
{
    json_t *fixed = parent_plugin(ctx, kind, field);
    if (fixed != NULL && take_refs(ctx)) {
        tr_admin_crud_patch(ctx, &plugins, ctx->params[1], fixed);
        hide_answer(ctx);
    }
    json_decref(fixed);
}

static void nested_del(struct tr_admin_ctx *ctx, const char *kind, const char *field)
{
    json_t *fixed = parent_plugin(ctx, kind, field);
    if (fixed != NULL)
        tr_admin_crud_delete(ctx, &plugins, ctx->params[1]);
    json_decref(fixed);
}

#define NESTED(prefix, kind, field)                                                                \
    static void prefix##_list(struct tr_admin_ctx *ctx)                                            \
    {                                                                                              \
        nested_list(ctx, kind, field);                                                             \
    }                                                                                              \
    static void prefix##_create(struct tr_admin_ctx *ctx)                                          \
    {                                                                                              \
        nested_create(ctx, kind, field);                                                           \
    }                                                                                              \
    static void prefix##_get(struct tr_admin_ctx *ctx)                                             \
    {                                                                                              \
        nested_get(ctx, kind, field);                                                              \
    }                                                                                              \
    static void prefix##_patch(struct tr_admin_ctx *ctx)                                           \
    {                                                                                              \
        nested_patch(ctx, kind, field);                                                            \
    }                                                                                              \
    static void prefix##_del(struct tr_admin_ctx *ctx)                                             \
    {                                                                                              \
        nested_del(ctx, kind, field);                                                              \
    }

NESTED(svc, "services", "service_id")
NESTED(rt, "routes", "route_id")
NESTED(cons, "consumers", "consumer_id")

/* /plugins/enabled and /plugins/schema/{name} come before /plugins/{id}. */
const struct tr_admin_endpoint tr_admin_plugins_endpoints[] = {
    {"/plugins/enabled", .get = enabled, .help = "names of the plugins loaded on this node"},
    {"/plugins/schema/{name}", .get = schema, .help = "the config schema of one plugin"},
    {"/plugins", .get = list, .post = create, .put = upsert,
     .help = "list (filters: name, api_id, consumer_id, enabled), create or create-or-replace "
             "plugins; no api_id = a global plugin"},
    {"/plugins/{id}", .get = get, .patch = patch, .del = del,
     .help = "read, update or delete one plugin by id"},
    {"/apis/{name_or_id}/plugins", .get = api_list, .post = api_create, .put = api_upsert,
     .help = "the plugins of one api; api_id comes from the path"},
    {"/apis/{name_or_id}/plugins/{id}", .get = api_get, .patch = api_patch, .del = api_del,
     .help = "read, update or delete one plugin of one api"},
    {"/services/{service}/plugins", .get = svc_list, .post = svc_create,
     .help = "the plugins of one Kong 3 service; service.id comes from the path"},
    {"/services/{service}/plugins/{id}", .get = svc_get, .patch = svc_patch, .del = svc_del,
     .help = "read, update or delete one plugin of one service"},
    {"/routes/{route}/plugins", .get = rt_list, .post = rt_create,
     .help = "the plugins of one Kong 3 route; route.id comes from the path"},
    {"/routes/{route}/plugins/{id}", .get = rt_get, .patch = rt_patch, .del = rt_del,
     .help = "read, update or delete one plugin of one route"},
    /* Before the credential kinds' /consumers/{c}/{kind}: "plugins" is not a credential. */
    {"/consumers/{username_or_id}/plugins", .get = cons_list, .post = cons_create,
     .help = "the plugins of one consumer; consumer_id comes from the path"},
    {"/consumers/{username_or_id}/plugins/{id}", .get = cons_get, .patch = cons_patch,
     .del = cons_del, .help = "read, update or delete one plugin of one consumer"},
};
const size_t tr_admin_plugins_endpoints_cnt =
    sizeof(tr_admin_plugins_endpoints) / sizeof(tr_admin_plugins_endpoints[0]);
