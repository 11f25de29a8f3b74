/* SPDX-License-Identifier: MIT */
/* Consumers' credentials, generated from the plugin registry: for every credential kind of
 * every loaded plugin, /consumers/{c}/<path>[/{id}] (and the kind's alias path) with Kong 0.x
 * shapes. consumer_id comes from the path, the kind's schema validates, before_store rewrites
 * the doc (password hashing) and hidden fields never leave the node. */
#include "admin/crud.h"

#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/uuid.h"
#include "plugins/plugin.h"
#include "plugins/registry.h"
#include "schema/entities.h"

/* Fields every credential has; a kind's schema may list them too (its rows are replaced). */
static const struct tr_schema_field common[] = {
    {.name = "id",
     .type = TR_SCHEMA_UUID,
     .flags = TR_SCHEMA_IMMUTABLE | TR_SCHEMA_UNIQUE,
     .gen = tr_schema_gen_uuid,
     .help = "generated UUID"},
    {.name = "created_at",
     .type = TR_SCHEMA_TIMESTAMP,
     .flags = TR_SCHEMA_IMMUTABLE,
     .gen = tr_schema_gen_created_at,
     .help = "creation time, ms since the epoch"},
    {.name = "consumer_id",
     .type = TR_SCHEMA_UUID,
     .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_IMMUTABLE, /* a PUT cannot move a credential */
     .help = "the consumer owning the credential (from the path)"},
};

static const struct tr_admin_entity consumers = {
    .store_name = "consumers",
    .schema = &tr_schema_consumers,
    .name_field = "username",
};

/* One request's view of a kind: the composed schema and the entity descriptor. */
struct kind_view {
    const struct tr_plugin_credential *kind;
    struct tr_schema_field *fields; /* owned */
    struct tr_schema schema;
    struct tr_admin_entity entity;
};

/* The credential kind whose path or alias is seg, among loaded plugins; NULL when none. */
static const struct tr_plugin_credential *find_kind(const char *seg)
{
    for (size_t i = 0; i < tr_plugin_count(); i++) {
        const struct tr_plugin *p = tr_plugin_at(i);
        if (!tr_plugin_enabled(i))
            continue;
        for (size_t j = 0; j < p->num_credentials; j++) {
            const struct tr_plugin_credential *c = &p->credentials[j];
            if (strcmp(c->path, seg) == 0 || (c->alias != NULL && strcmp(c->alias, seg) == 0))
                return c;
        }
    }
    return NULL;
}

static bool is_common(const char *name)
{
    for (size_t i = 0; i < TR_ARRAY_SIZE(common); i++) {
        if (strcmp(common[i].name, name) == 0)
            return true;
    }
    return false;
}

/* The kind's check_input on a validated doc: 0, or TR_EINVAL with *out freed and a new
 * {field: message} in *errors. */
static int checked_input(const struct tr_plugin_credential *kind, const json_t *input, json_t **out,
                         json_t **errors)
{
    const char *field = NULL;
    char err[256] = "";
    if (kind->check_input(input, *out, &field, err, sizeof(err)) == 0)
        return 0;
    json_decref(*out);
    *out = NULL;
    *errors = json_pack("{s:s}", field ? field : "message", err[0] ? err : "invalid value");
    return TR_EINVAL;
}

static int validate(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e,
                    enum tr_schema_mode mode, const json_t *input, const json_t *existing,
                    json_t **out, json_t **errors)
{
    const struct tr_plugin_credential *kind = e->ud;
    int rc = tr_schema_validate(e->schema, mode, input, existing, out, errors);
    if (rc == 0 && kind->check_input != NULL)
        rc = checked_input(kind, input, out, errors);
    if (rc != 0 || kind->before_store == NULL)
        return rc;
    /* A PATCH that does not set a hidden field (a password) keeps the stored value as is: the
     * hook never sees it, so it cannot hash a hash. */
    json_t *kept = json_object();
    if (mode == TR_SCHEMA_UPDATE && kind->hidden_fields != NULL) {
        for (const char *const *f = kind->hidden_fields; *f != NULL; f++) {
            json_t *v = json_object_get(*out, *f);
            if (v != NULL && json_object_get(input, *f) == NULL) {
                json_object_set(kept, *f, v);
                json_object_del(*out, *f);
            }
        }
    }
    char err[256] = "";
    if (kind->before_store(*out, err, sizeof(err)) != 0) {
        json_decref(kept);
        json_decref(*out);
        *out = NULL;
        *errors = json_pack("{s:s}", "message", err[0] ? err : "invalid credential");
        if (*errors == NULL)
            *errors = json_pack("{s:s}", "message", "invalid credential");
        return TR_EINVAL;
    }
    json_object_update(*out, kept);
    json_decref(kept);
    return 0;
}

/* Set up v for the kind whose path is seg; false after answering 404. */
static bool view_init(struct tr_admin_ctx *ctx, struct kind_view *v, const char *seg)
{
    memset(v, 0, sizeof(*v));
    v->kind = find_kind(seg);
    if (v->kind == NULL) {
        tr_admin_reply_error(ctx, TR_ENOTFOUND);
        return false;
    }
    const struct tr_schema *ks = v->kind->schema;
    size_t extra = ks ? ks->cnt : 0;
    v->fields = tr_xmalloc((TR_ARRAY_SIZE(common) + extra) * sizeof(*v->fields));
    size_t n = 0;
    for (size_t i = 0; i < TR_ARRAY_SIZE(common); i++)
        v->fields[n++] = common[i];
    for (size_t i = 0; i < extra; i++) {
        if (!is_common(ks->fields[i].name))
            v->fields[n++] = ks->fields[i];
    }
    v->schema = (struct tr_schema){
        .name = v->kind->entity,
        .fields = v->fields,
        .cnt = n,
        .self_check = ks ? ks->self_check : NULL,
        .entity_check = ks ? ks->entity_check : NULL,
    };
    v->entity = (struct tr_admin_entity){
        .store_name = v->kind->entity,
        .schema = &v->schema,
        .validate = validate,
        .hidden_fields = v->kind->hidden_fields,
        .ud = v->kind,
    };
    return true;
}

static void view_free(struct kind_view *v)
{
    free(v->fields);
}

/* {"consumer_id": <id of the consumer named by params[0]>} (new), or NULL after answering. */
static json_t *consumer_filter(struct tr_admin_ctx *ctx)
{
    json_t *c;
    int rc = tr_admin_crud_find(ctx, &consumers, ctx->params[0], &c);
    if (rc != 0) {
        tr_admin_reply_store_error(ctx, rc);
        return NULL;
    }
    json_t *fixed = json_pack("{s:O}", "consumer_id", json_object_get(c, "id"));
    json_decref(c);
    return fixed;
}

/* The consumer's filter when credential params[2] belongs to it; else NULL after answering.
 * A credential is named by its id only, so a segment that is no UUID is refused as Kong 0.7
 * refused it (400 {"id": "<v> is an invalid uuid"}) rather than looked up. */
static json_t *consumer_credential(struct tr_admin_ctx *ctx, const struct kind_view *v)
{
    json_t *fixed = consumer_filter(ctx);
    if (fixed == NULL)
        return NULL;
    if (!tr_uuid_is_valid(tr_str_from_cstr(ctx->params[2]))) {
        json_decref(fixed);
        json_t *msg = json_sprintf("%s is an invalid uuid", ctx->params[2]);
        tr_admin_reply(ctx, 400, json_pack("{s:o}", "id", msg ? msg : json_string("invalid uuid")));
        return NULL;
    }
    json_t *doc;
    int rc = tr_admin_crud_find(ctx, &v->entity, ctx->params[2], &doc);
    if (rc == 0) {
        bool mine =
            json_equal(json_object_get(doc, "consumer_id"), json_object_get(fixed, "consumer_id"));
        json_decref(doc);
        if (mine)
            return fixed;
        rc = TR_ENOTFOUND;
    }
    json_decref(fixed);
    tr_admin_reply_store_error(ctx, rc);
    return NULL;
}

enum op { OP_LIST, OP_CREATE, OP_UPSERT, OP_GET, OP_PATCH, OP_DELETE };

static void run(struct tr_admin_ctx *ctx, enum op op)
{
    struct kind_view v;
    if (!view_init(ctx, &v, ctx->params[1]))
        return;
    json_t *fixed = op <= OP_UPSERT ? consumer_filter(ctx) : consumer_credential(ctx, &v);
    if (fixed != NULL) {
        switch (op) {
        case OP_LIST:
            tr_admin_crud_list(ctx, &v.entity, fixed);
            break;
        case OP_CREATE:
            tr_admin_crud_create(ctx, &v.entity, fixed);
            break;
        case OP_UPSERT:
            tr_admin_crud_upsert(ctx, &v.entity, fixed);
            break;
        case OP_GET:
            tr_admin_crud_get(ctx, &v.entity, ctx->params[2]);
            break;
        case OP_PATCH:
            tr_admin_crud_patch(ctx, &v.entity, ctx->params[2], fixed);
            break;
        case OP_DELETE:
            tr_admin_crud_delete(ctx, &v.entity, ctx->params[2]);
            break;
        }
    }
    json_decref(fixed);
    view_free(&v);
}

static void list(struct tr_admin_ctx *ctx)
{
    run(ctx, OP_LIST);
}

static void create(struct tr_admin_ctx *ctx)
{
    run(ctx, OP_CREATE);
}

static void upsert(struct tr_admin_ctx *ctx)
{
    run(ctx, OP_UPSERT);
}

static void get(struct tr_admin_ctx *ctx)
{
    run(ctx, OP_GET);
}

static void patch(struct tr_admin_ctx *ctx)
{
    run(ctx, OP_PATCH);
}

static void del(struct tr_admin_ctx *ctx)
{
    run(ctx, OP_DELETE);
}

/* GET /oauth2, /key-auths, ...: every consumer's credentials of one kind. */
static void list_all(struct tr_admin_ctx *ctx, const char *kind_path)
{
    struct kind_view v;
    if (!view_init(ctx, &v, kind_path))
        return;
    tr_admin_crud_list(ctx, &v.entity, NULL);
    view_free(&v);
}

static void list_oauth2(struct tr_admin_ctx *ctx)
{
    list_all(ctx, "oauth2");
}

static void list_key_auths(struct tr_admin_ctx *ctx)
{
    list_all(ctx, "key-auth");
}

static void list_basic_auths(struct tr_admin_ctx *ctx)
{
    list_all(ctx, "basic-auth");
}

static void list_acls(struct tr_admin_ctx *ctx)
{
    list_all(ctx, "acls");
}

static void list_jwts(struct tr_admin_ctx *ctx)
{
    list_all(ctx, "jwt");
}

static void list_hmac_auths(struct tr_admin_ctx *ctx)
{
    list_all(ctx, "hmac-auth");
}

/* {kind} is a credential path of a loaded plugin (e.g. key-auth, keyauth, basic-auth, acls);
 * any other segment is 404. */
const struct tr_admin_endpoint tr_admin_credentials_endpoints[] = {
    {"/consumers/{username_or_id}/{kind}", .get = list, .post = create, .put = upsert,
     .help = "a consumer's credentials of one kind (key-auth, basic-auth, acls, ...)"},
    {"/consumers/{username_or_id}/{kind}/{id}", .get = get, .patch = patch, .del = del,
     .help = "read, update or delete one credential of a consumer"},
    {"/oauth2", .get = list_oauth2, .help = "every OAuth 2.0 application"},
    {"/key-auths", .get = list_key_auths, .help = "every key-auth credential"},
    {"/basic-auths", .get = list_basic_auths, .help = "every basic-auth credential"},
    {"/acls", .get = list_acls, .help = "every acl group membership"},
    {"/jwts", .get = list_jwts, .help = "every jwt credential"},
    {"/hmac-auths", .get = list_hmac_auths, .help = "every hmac-auth credential"},
};
const size_t tr_admin_credentials_endpoints_cnt =
    sizeof(tr_admin_credentials_endpoints) / sizeof(tr_admin_credentials_endpoints[0]);
