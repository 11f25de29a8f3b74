/* SPDX-License-Identifier: MIT */
/* The DB-less write refusal (dbless.h). */
#include "admin/dbless.h"

#include <stdio.h>
#include <string.h>

#include "admin/errors3.h"
#include "core/mem.h"
#include "core/uuid.h"

bool tr_admin_is_write(const struct tr_admin_endpoint *ep, struct tr_str method)
{
    if (tr_str_eq(method, TR_STR_LIT("GET")) || tr_str_eq(method, TR_STR_LIT("HEAD")) ||
        tr_str_eq(method, TR_STR_LIT("OPTIONS")))
        return false;
    return !ep->node_state;
}

bool tr_admin_dbless_refuses(const struct tr_admin_env *env, const struct tr_admin_endpoint *ep,
                             struct tr_str method)
{
    return env->read_only && tr_admin_is_write(ep, method);
}

/* The store's name of a collection segment as the Admin API spells it. */
static const char *entity_of_segment(const char *seg, size_t len)
{
    static const char *const names[][2] = {
        {"key-auth", "keyauth_credentials"},   {"basic-auth", "basicauth_credentials"},
        {"oauth2", "oauth2_credentials"},      {"jwt", "jwt_secrets"},
        {"hmac-auth", "hmacauth_credentials"}, {"service", "services"},
    };
    for (size_t i = 0; i < TR_ARRAY_SIZE(names); i++) {
        if (strlen(names[i][0]) == len && memcmp(seg, names[i][0], len) == 0)
            return names[i][1];
    }
    return NULL;
}

/* The endpoint key an item path may name an entity by, instead of its id. */
static const char *key_field_of(const char *entity)
{
    if (strcmp(entity, "consumers") == 0)
        return "username";
    if (strcmp(entity, "targets") == 0)
        return "target";
    if (strcmp(entity, "certificates") == 0 || strstr(entity, "_credentials") != NULL ||
        strcmp(entity, "acls") == 0 || strcmp(entity, "plugins") == 0)
        return NULL;
    return "name";
}

void tr_admin_reply_dbless_write(struct tr_admin_ctx *ctx)
{
    /* The last collection of the template, and whether an item key follows it. */
    char entity[64] = "entities";
    const char *item_key = NULL;
    size_t param = 0;
    const struct tr_admin_endpoint *ep = ctx->endpoint;
    for (const char *p = ep->path; *p == '/';) {
        const char *seg = p + 1, *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if (seg[0] == '{') {
            const char *value = param < ctx->param_cnt ? ctx->params[param] : "";
            param++;
            if (len == 6 && memcmp(seg, "{kind}", 6) == 0) {
                const char *e = entity_of_segment(value, strlen(value));
                snprintf(entity, sizeof(entity), "%s", e ? e : value);
                item_key = NULL;
            } else {
                item_key = value;
            }
        } else {
            const char *e = entity_of_segment(seg, len);
            if (e != NULL)
                snprintf(entity, sizeof(entity), "%s", e);
            else
                snprintf(entity, sizeof(entity), "%.*s", (int)len, seg);
            item_key = NULL;
        }
        p = seg + len;
    }
    struct tr_str m = ctx->req->method;
    const char *op = tr_str_eq(m, TR_STR_LIT("POST"))    ? "create"
                     : tr_str_eq(m, TR_STR_LIT("PUT"))   ? "create or update"
                     : tr_str_eq(m, TR_STR_LIT("PATCH")) ? "update"
                                                         : "remove";
    const char *by = NULL;
    if (item_key != NULL && !tr_str_eq(m, TR_STR_LIT("POST")) &&
        !tr_uuid_is_valid(tr_str_from_cstr(item_key)))
        by = key_field_of(entity);
    char msg[200];
    if (by != NULL)
        snprintf(msg, sizeof(msg), "cannot %s '%s' entities by '%s' when not using a database", op,
                 entity, by);
    else
        snprintf(msg, sizeof(msg), "cannot %s '%s' entities when not using a database", op, entity);
    tr_admin3_reply(ctx, TR_ADMIN3_OPERATION_UNSUPPORTED, msg, NULL);
}
