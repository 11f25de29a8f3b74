/* SPDX-License-Identifier: MIT */
/* GET and POST /config (Kong's kong/api/routes/config.lua): the running configuration as
 * declarative text, and a whole new one applied at once, in DB-less mode only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/body.h"
#include "admin/crud.h"
#include "admin/declarative.h"
#include "core/err.h"
#include "core/yaml.h"

static bool dbless(struct tr_admin_ctx *ctx)
{
    if (ctx->env->read_only && ctx->env->apply_config != NULL)
        return true;
    tr_admin_reply(ctx, 400,
                   json_pack("{s:s}", "message",
                             "this endpoint is only available when Kong is configured to not use "
                             "a database"));
    return false;
}

static void config_get(struct tr_admin_ctx *ctx)
{
    if (!dbless(ctx))
        return;
    json_t *doc = tr_declarative_export(ctx->env->store, false);
    char *text = doc ? tr_yaml_emit(doc) : NULL;
    json_decref(doc);
    if (text == NULL) {
        tr_admin_reply_error(ctx, TR_EINTERNAL);
        return;
    }
    tr_admin_reply(ctx, 200, json_pack("{s:s}", "config", text));
    free(text);
}

/* Kong's truthy(): "true", "1", "on", "yes" in any case, true, 1. */
static bool truthy(const json_t *v)
{
    if (json_is_true(v) || (json_is_integer(v) && json_integer_value(v) == 1))
        return true;
    const char *s = json_string_value(v);
    return s && (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcasecmp(s, "on") == 0 ||
                 strcasecmp(s, "yes") == 0);
}

/* An option from the query string, else the decoded body. */
static const json_t *option(struct tr_admin_ctx *ctx, const char *name)
{
    const json_t *v = json_object_get(ctx->query, name);
    if (json_is_array(v))
        v = json_array_get(v, 0);
    return v ? v : json_object_get(ctx->body, name);
}

static void config_post(struct tr_admin_ctx *ctx)
{
    if (!dbless(ctx))
        return;
    bool flatten = truthy(option(ctx, "flatten_errors"));
    const json_t *ch = option(ctx, "check_hash");
    bool check_hash = (json_is_string(ch) && strcmp(json_string_value(ch), "1") == 0) ||
                      (json_is_integer(ch) && json_integer_value(ch) == 1);

    /* The three forms Kong takes, in its order: the document itself as a JSON body, a
     * "config" text field, or the raw body (YAML or JSON). */
    struct tr_str raw = ctx->req->body;
    json_t *doc = NULL;
    const char *text = NULL;
    size_t text_len = 0;
    char hash[33] = "";
    json_t *whole = NULL;
    if (tr_admin_body_is_json(ctx->req->content_type) && raw.len > 0) {
        whole = json_loadb(raw.ptr, raw.len, JSON_REJECT_DUPLICATES, NULL);
        if (json_is_object(whole) && json_object_get(whole, "_format_version") != NULL) {
            doc = json_incref(whole);
            json_object_del(doc, "check_hash");
            json_object_del(doc, "flatten_errors");
            tr_declarative_hash_doc(doc, hash);
        } else if (json_is_string(json_object_get(whole, "config"))) {
            text = json_string_value(json_object_get(whole, "config"));
            text_len = json_string_length(json_object_get(whole, "config"));
        }
    }
    if (doc == NULL && text == NULL && json_is_string(json_object_get(ctx->body, "config"))) {
        text = json_string_value(json_object_get(ctx->body, "config"));
        text_len = json_string_length(json_object_get(ctx->body, "config"));
    } else if (doc == NULL && text == NULL && raw.len > 0 && whole == NULL) {
        text = raw.ptr;
        text_len = raw.len;
    }
    if (doc == NULL && text == NULL) {
        json_decref(whole);
        tr_admin_reply(ctx, 400,
                       json_pack("{s:s}", "message", "expected a declarative configuration"));
        return;
    }
    if (doc == NULL) {
        char err[600];
        if (tr_declarative_parse_text(text, text_len, &doc, err, sizeof(err)) != 0) {
            json_decref(whole);
            json_t *fields = json_pack("{s:s}", "error", err);
            tr_admin_reply(ctx, 400, tr_declarative_error_body(fields, NULL));
            json_decref(fields);
            return;
        }
        tr_declarative_hash_text(text, text_len, hash);
    }
    json_decref(whole);
    if (check_hash && ctx->env->config_hash && strcmp(ctx->env->config_hash, hash) == 0) {
        json_decref(doc);
        tr_admin_reply(ctx, 304, NULL);
        return;
    }
    int status = 500;
    json_t *body = NULL;
    ctx->env->apply_config(ctx->env->ud, doc, hash, flatten, &status, &body);
    json_decref(doc);
    tr_admin_reply(ctx, status, body);
}

const struct tr_admin_endpoint tr_admin_config_endpoints[] = {
    {"/config", .get = config_get, .post = config_post, .raw_body = true, .node_state = true,
     .help = "DB-less: the running declarative configuration, or apply a whole new one"},
};
const size_t tr_admin_config_endpoints_cnt =
    sizeof(tr_admin_config_endpoints) / sizeof(tr_admin_config_endpoints[0]);
