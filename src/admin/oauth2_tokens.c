/* SPDX-License-Identifier: MIT */
/* /oauth2_tokens: OAuth 2.0 access tokens as Kong 0.x shows them, over the runtime rows of
 * store/oauth2.h. Only digests are stored, so the token texts appear once, in the answer that
 * creates them; reads, lists and updates never show them. A token is named by its id or by its
 * access token text. A delete (revocation) or change reaches every worker's cache at once. */
#include "admin/crud.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/secret.h"
#include "core/uuid.h"
#include "store/oauth2.h"
#include "store/runtime.h"
#include "store/store.h"

#define DEFAULT_PAGE 100
#define MAX_PAGE 1000

static struct tr_store_tx *tx_or_reply(struct tr_admin_ctx *ctx)
{
    struct tr_store_tx *tx = tr_store_tx_acquire(ctx->env->store);
    if (tx == NULL)
        tr_admin_reply_error(ctx, TR_EDBUNAVAIL);
    return tx;
}

/* The token named by key (an id, or else the access token text). */
static int find(struct tr_store_tx *tx, const char *key, struct tr_oauth2_token *t)
{
    int rc = TR_ENOTFOUND;
    if (tr_uuid_is_valid(tr_str_from_cstr(key)))
        rc = tr_oauth2_token_by_id(tx, key, t);
    if (rc == TR_ENOTFOUND)
        rc = tr_oauth2_token_by_access(tx, tr_str_from_cstr(key), t);
    return rc;
}

static const char *str_field(const json_t *body, const char *name)
{
    const json_t *v = json_object_get(body, name);
    return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

/* Does entity (a store kind) hold id? */
static bool exists(struct tr_admin_ctx *ctx, const char *entity, const char *id)
{
    json_t *doc = NULL;
    int rc = tr_store_get(ctx->env->store, entity, "id", id, &doc);
    json_decref(doc);
    return rc == 0;
}

/* Apply the writable fields of body onto t; an error object (new) or NULL. */
static json_t *apply(struct tr_admin_ctx *ctx, const json_t *body, struct tr_oauth2_token *t,
                     bool insert)
{
    json_t *errors = json_object();
    const char *cred = str_field(body, "credential_id");
    if (cred) {
        if (!tr_uuid_is_valid(tr_str_from_cstr(cred)) || !exists(ctx, "oauth2_credentials", cred))
            json_object_set_new(errors, "credential_id",
                                json_sprintf("no oauth2 application with id '%s'", cred));
        else
            snprintf(t->credential_id, sizeof(t->credential_id), "%s", cred);
    } else if (insert) {
        json_object_set_new(errors, "credential_id", json_string("credential_id is required"));
    }
    const json_t *api = json_object_get(body, "api_id");
    if (json_is_string(api) && json_string_length(api) > 0) {
        const char *a = json_string_value(api);
        if (!tr_uuid_is_valid(tr_str_from_cstr(a)) || !exists(ctx, "apis", a))
            json_object_set_new(errors, "api_id", json_sprintf("no api with id '%s'", a));
        else
            snprintf(t->api_id, sizeof(t->api_id), "%s", a);
    } else if (api != NULL) {
        t->api_id[0] = '\0';
    }
    const json_t *exp = json_object_get(body, "expires_in");
    if (exp != NULL) {
        long long v = -1;
        if (json_is_integer(exp))
            v = json_integer_value(exp);
        else if (json_is_string(exp)) {
            char *end = NULL;
            v = strtoll(json_string_value(exp), &end, 10);
            if (end == json_string_value(exp) || *end)
                v = -1;
        }
        if (v < 0 || v > 315360000)
            json_object_set_new(errors, "expires_in",
                                json_string("expires_in must be an integer >= 0"));
        else
            t->expires_in = v;
    }
    const json_t *type = json_object_get(body, "token_type");
    if (type && !(json_is_string(type) && strcmp(json_string_value(type), "bearer") == 0))
        json_object_set_new(errors, "token_type", json_string("token_type must be 'bearer'"));
    static const char *const texts[] = {"scope", "authenticated_userid"};
    char **dst[] = {&t->scope, &t->authenticated_userid};
    for (size_t i = 0; i < 2; i++) {
        const json_t *v = json_object_get(body, texts[i]);
        if (v == NULL)
            continue;
        if (!json_is_string(v) && !json_is_null(v)) {
            json_object_set_new(errors, texts[i], json_sprintf("%s must be a string", texts[i]));
            continue;
        }
        /* Both are sent upstream (X-Authenticated-Scope, -Userid): store/oauth2.h's rules. */
        struct tr_str s = {json_string_value(v), json_string_length(v)};
        if (s.len && (i == 0 ? !tr_oauth2_scope_ok(s) : !tr_oauth2_userid_ok(s))) {
            json_object_set_new(errors, texts[i],
                                json_string(i == 0 ? "scope must be scope tokens separated by "
                                                     "spaces (RFC 6749 section 3.3)"
                                                   : "authenticated_userid must be at most 255 "
                                                     "bytes without control characters"));
            continue;
        }
        free(*dst[i]);
        *dst[i] = json_string_length(v) ? strdup(json_string_value(v)) : NULL;
    }
    if (json_object_size(errors) == 0) {
        json_decref(errors);
        return NULL;
    }
    return errors;
}

static void create_token(struct tr_admin_ctx *ctx, struct tr_store_tx *tx, const char *id)
{
    struct tr_oauth2_token t = {.expires_in = 7200};
    json_t *errors = apply(ctx, ctx->body, &t, true);
    if (errors) {
        tr_oauth2_token_clear(&t);
        tr_admin_reply(ctx, 400, errors);
        return;
    }
    char access[TR_SECRET_TOKEN_LEN + 1], refresh[TR_SECRET_TOKEN_LEN + 1] = "";
    const char *given_access = str_field(ctx->body, "access_token");
    const char *given_refresh = str_field(ctx->body, "refresh_token");
    if ((id == NULL && tr_uuid_v4(t.id) != 0) ||
        (given_access == NULL && tr_secret_token(access))) {
        tr_oauth2_token_clear(&t);
        tr_admin_reply_error(ctx, TR_EINTERNAL);
        return;
    }
    if (id)
        snprintf(t.id, sizeof(t.id), "%s", id);
    snprintf(t.family, sizeof(t.family), "%s", t.id);
    t.created_at = tr_oauth2_now_ms();
    const char *a = given_access ? given_access : access;
    int rc = tr_oauth2_token_insert(tx, &t, tr_str_from_cstr(a),
                                    tr_str_from_cstr(given_refresh ? given_refresh : refresh));
    if (rc == TR_ECONFLICT) {
        tr_admin_reply(ctx, 409,
                       json_pack("{s:s}", "access_token",
                                 "access_token or refresh_token already "
                                 "exists"));
    } else if (rc != 0) {
        tr_admin_reply_store_error(ctx, rc);
    } else {
        json_t *o = tr_oauth2_token_json(&t);
        json_object_set_new(o, "access_token", json_string(a));
        if (given_refresh)
            json_object_set_new(o, "refresh_token", json_string(given_refresh));
        tr_oauth2_epoch_bump(); /* a remembered "unknown token" may be this one */
        tr_admin_reply(ctx, 201, o);
    }
    tr_oauth2_token_clear(&t);
}

/* No filter is supported here (and none may be on the token texts, which no answer shows): any
 * argument but size and offset is 400, as an unknown filter is elsewhere, rather than ignored
 * with every token listed. Returns false after answering. */
static bool only_paging_args(struct tr_admin_ctx *ctx)
{
    json_t *errors = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(ctx->query, k, v)
    {
        if (strcmp(k, "size") != 0 && strcmp(k, "offset") != 0)
            json_object_set_new(errors, k, json_sprintf("%s is an unknown field", k));
    }
    if (json_object_size(errors) == 0) {
        json_decref(errors);
        return true;
    }
    tr_admin_reply(ctx, 400, errors);
    return false;
}

static void list(struct tr_admin_ctx *ctx)
{
    size_t size = DEFAULT_PAGE;
    long long after = 0;
    if (!only_paging_args(ctx))
        return;
    const char *s = json_string_value(json_object_get(ctx->query, "size"));
    if (s) {
        char *end = NULL;
        long long n = strtoll(s, &end, 10);
        if (end == s || *end || n < 1 || n > MAX_PAGE) {
            tr_admin_reply(
                ctx, 400, json_pack("{s:s}", "size", "size must be an integer between 1 and 1000"));
            return;
        }
        size = (size_t)n;
    }
    const char *off = json_string_value(json_object_get(ctx->query, "offset"));
    if (off) {
        char *end = NULL;
        after = strtoll(off, &end, 10);
        if (end == off || *end || after < 0) {
            tr_admin_reply(ctx, 400, json_pack("{s:s}", "offset", "offset is not valid"));
            return;
        }
    }
    struct tr_store_tx *tx = tx_or_reply(ctx);
    if (tx == NULL)
        return;
    json_t *rows = NULL;
    size_t total = 0;
    int64_t next = 0;
    int rc = tr_oauth2_token_list(tx, size, after, &rows, &total, &next);
    tr_store_tx_release(tx);
    if (rc != 0) {
        tr_admin_reply_store_error(ctx, rc);
        return;
    }
    json_t *o = json_pack("{s:o,s:I}", "data", rows, "total", (json_int_t)total);
    if (next > 0) {
        json_object_set_new(
            o, "next", json_sprintf("/oauth2_tokens?offset=%lld&size=%zu", (long long)next, size));
        json_object_set_new(o, "offset", json_sprintf("%lld", (long long)next));
    }
    tr_admin_reply(ctx, 200, o);
}

static void create(struct tr_admin_ctx *ctx)
{
    struct tr_store_tx *tx = tx_or_reply(ctx);
    if (tx == NULL)
        return;
    create_token(ctx, tx, NULL);
    tr_store_tx_release(tx);
}

/* The token texts a PATCH or PUT may set. Only their digests are stored, so a text is shown in
 * the answer that sets it, as at creation, and never again. Absent: kept (no answer shows them,
 * so a GET, edit, PUT round trip cannot send them back). */
struct new_texts {
    const char *access;  /* NULL: keep */
    const char *refresh; /* with set_refresh: NULL removes the refresh token */
    bool set_refresh;
};

static void read_texts(const json_t *body, struct new_texts *nt, json_t *errors)
{
    memset(nt, 0, sizeof(*nt));
    const json_t *a = json_object_get(body, "access_token");
    if (a != NULL) {
        if (json_is_string(a) && json_string_length(a) > 0)
            nt->access = json_string_value(a);
        else
            json_object_set_new(errors, "access_token",
                                json_string("access_token must be a non-empty string"));
    }
    const json_t *r = json_object_get(body, "refresh_token");
    if (r != NULL) {
        if (json_is_string(r) || json_is_null(r)) {
            nt->set_refresh = true;
            nt->refresh = json_string_length(r) > 0 ? json_string_value(r) : NULL;
        } else {
            json_object_set_new(errors, "refresh_token",
                                json_string("refresh_token must be a string or null"));
        }
    }
}

/* Write t's fields and the body's new texts in one transaction, then answer 200. */
static void save(struct tr_admin_ctx *ctx, struct tr_store_tx *tx, struct tr_oauth2_token *t,
                 bool full)
{
    json_t *errors = apply(ctx, ctx->body, t, full);
    if (errors == NULL)
        errors = json_object();
    struct new_texts nt;
    read_texts(ctx->body, &nt, errors);
    if (json_object_size(errors) > 0) {
        tr_admin_reply(ctx, 400, errors);
        return;
    }
    json_decref(errors);
    int rc = tr_store_tx_begin(tx);
    if (rc == 0)
        rc = tr_oauth2_token_update(tx, t);
    if (rc == 0 && (nt.access || nt.set_refresh))
        rc = tr_oauth2_token_set_texts(tx, t->id, tr_str_from_cstr(nt.access), nt.set_refresh,
                                       tr_str_from_cstr(nt.refresh));
    if (rc == 0)
        rc = tr_store_tx_commit(tx);
    else
        tr_store_tx_rollback(tx);
    if (rc == TR_ECONFLICT) {
        tr_admin_reply(
            ctx, 409,
            json_pack("{s:s}", "access_token", "access_token or refresh_token already exists"));
        return;
    }
    if (rc != 0) {
        tr_admin_reply_store_error(ctx, rc);
        return;
    }
    tr_oauth2_epoch_bump(); /* the old texts stop working on every worker now */
    json_t *o = tr_oauth2_token_json(t);
    if (nt.access)
        json_object_set_new(o, "access_token", json_string(nt.access));
    if (nt.refresh)
        json_object_set_new(o, "refresh_token", json_string(nt.refresh));
    tr_admin_reply(ctx, 200, o);
}

/* PUT on an existing token replaces it: what the body leaves out is unset (scope, user id,
 * api) or the default (expires_in), as POST would make it; id, created_at and the grant it
 * belongs to stay, and so do the texts unless given. */
static void replace(struct tr_admin_ctx *ctx, struct tr_store_tx *tx,
                    const struct tr_oauth2_token *old)
{
    struct tr_oauth2_token t = {.expires_in = 7200};
    snprintf(t.id, sizeof(t.id), "%s", old->id);
    snprintf(t.family, sizeof(t.family), "%s", old->family);
    t.created_at = old->created_at;
    save(ctx, tx, &t, true);
    tr_oauth2_token_clear(&t);
}

static void upsert(struct tr_admin_ctx *ctx)
{
    struct tr_store_tx *tx = tx_or_reply(ctx);
    if (tx == NULL)
        return;
    const char *id = str_field(ctx->body, "id");
    struct tr_oauth2_token t;
    if (id && !tr_uuid_is_valid(tr_str_from_cstr(id))) {
        tr_admin_reply(ctx, 400, json_pack("{s:s}", "id", "id is not a valid UUID"));
    } else if (id && tr_oauth2_token_by_id(tx, id, &t) == 0) {
        replace(ctx, tx, &t);
        tr_oauth2_token_clear(&t);
    } else {
        create_token(ctx, tx, id);
    }
    tr_store_tx_release(tx);
}

static void get(struct tr_admin_ctx *ctx)
{
    struct tr_store_tx *tx = tx_or_reply(ctx);
    if (tx == NULL)
        return;
    struct tr_oauth2_token t;
    int rc = find(tx, ctx->params[0], &t);
    tr_store_tx_release(tx);
    if (rc != 0) {
        tr_admin_reply_store_error(ctx, rc);
        return;
    }
    tr_admin_reply(ctx, 200, tr_oauth2_token_json(&t));
    tr_oauth2_token_clear(&t);
}

/* PATCH (full false) or PUT (full true) on /oauth2_tokens/{id or token}. */
static void change(struct tr_admin_ctx *ctx, bool full)
{
    struct tr_store_tx *tx = tx_or_reply(ctx);
    if (tx == NULL)
        return;
    struct tr_oauth2_token t;
    int rc = find(tx, ctx->params[0], &t);
    if (rc != 0)
        tr_admin_reply_store_error(ctx, rc);
    else if (full)
        replace(ctx, tx, &t);
    else
        save(ctx, tx, &t, false);
    if (rc == 0)
        tr_oauth2_token_clear(&t);
    tr_store_tx_release(tx);
}

static void patch(struct tr_admin_ctx *ctx)
{
    change(ctx, false);
}

static void put_one(struct tr_admin_ctx *ctx)
{
    change(ctx, true);
}

static void del(struct tr_admin_ctx *ctx)
{
    struct tr_store_tx *tx = tx_or_reply(ctx);
    if (tx == NULL)
        return;
    struct tr_oauth2_token t;
    int rc = find(tx, ctx->params[0], &t);
    if (rc == 0) {
        rc = tr_oauth2_token_delete(tx, t.id);
        tr_oauth2_token_clear(&t);
    }
    tr_store_tx_release(tx);
    if (rc != 0) {
        tr_admin_reply_store_error(ctx, rc);
        return;
    }
    tr_oauth2_epoch_bump(); /* every worker's cache forgets it now */
    tr_admin_reply(ctx, 204, NULL);
}

const struct tr_admin_endpoint tr_admin_oauth2_tokens_endpoints[] = {
    {"/oauth2_tokens", .get = list, .post = create, .put = upsert,
     .help = "OAuth 2.0 access tokens (token texts are shown only when created)"},
    {"/oauth2_tokens/{id_or_token}", .get = get, .patch = patch, .put = put_one, .del = del,
     .help = "one token by id or by its text; PATCH or PUT may set new token texts; DELETE "
             "revokes it at once"},
};
const size_t tr_admin_oauth2_tokens_endpoints_cnt =
    sizeof(tr_admin_oauth2_tokens_endpoints) / sizeof(tr_admin_oauth2_tokens_endpoints[0]);
