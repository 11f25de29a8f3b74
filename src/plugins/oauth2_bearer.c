/* SPDX-License-Identifier: MIT */
/* oauth2 on a protected request: find the bearer token (Authorization header, access_token
 * query argument or form field; RFC 6750 §2), look it up in the worker's cache or, on a miss,
 * in the store from the thread pool (the worker loop never waits on the database), and check
 * expiry, the api it belongs to and its application. The cache is flushed whenever a token is
 * revoked anywhere on the node (tr_oauth2_epoch), so a revoked token stops working at once. */
#include "plugins/oauth2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/strmap.h"
#include "http/multipart.h"
#include "store/oauth2.h"

/* A found token is trusted from the cache this long before it is read again (a change made
 * behind the node's back, by another node sharing the database, shows within this time). */
#define FOUND_TTL_MS 30000
/* An unknown token is remembered this long (a flood of made-up tokens hits the cache). */
#define MISSING_TTL_MS 1000
#define CACHE_MAX 65536

struct cache_entry {
    int64_t fetched_ms;
    bool found;
    struct tr_oauth2_token t; /* owned strings */
    char key[];               /* the token text */
};

struct token_cache {
    struct tr_strmap map; /* token text -> struct cache_entry (key borrowed from the entry) */
    size_t cnt;
    uint64_t epoch;
};

static void free_entry(void *ud, struct tr_str key, void *value)
{
    (void)ud;
    (void)key;
    struct cache_entry *e = value;
    tr_oauth2_token_clear(&e->t);
    free(e);
}

static void cache_clear(struct token_cache *c)
{
    tr_strmap_foreach(&c->map, free_entry, NULL);
    tr_strmap_free(&c->map);
    tr_strmap_init(&c->map);
    c->cnt = 0;
}

void tr_oauth2_cache_free(void *slot)
{
    struct token_cache *c = slot;
    if (c == NULL)
        return;
    cache_clear(c);
    tr_strmap_free(&c->map);
    free(c);
}

static struct token_cache *cache_of(struct tr_ctx *ctx)
{
    void **slot = tr_ctx_worker_slot(ctx);
    struct token_cache *c = *slot;
    if (c == NULL) {
        c = tr_xcalloc(1, sizeof(*c));
        tr_strmap_init(&c->map);
        c->epoch = tr_oauth2_epoch();
        *slot = c;
    }
    uint64_t now = tr_oauth2_epoch();
    if (c->epoch != now) {
        cache_clear(c);
        c->epoch = now;
    }
    return c;
}

static void cache_put(struct token_cache *c, struct tr_str token, bool found,
                      struct tr_oauth2_token *t)
{
    if (c->cnt >= CACHE_MAX)
        cache_clear(c);
    struct cache_entry *e = tr_xcalloc(1, sizeof(*e) + token.len + 1);
    memcpy(e->key, token.ptr, token.len);
    e->fetched_ms = tr_oauth2_now_ms();
    e->found = found;
    if (found) {
        e->t = *t;
        memset(t, 0, sizeof(*t)); /* ownership moves to the entry */
    }
    struct cache_entry *old = tr_strmap_del(&c->map, token);
    if (old) {
        free_entry(NULL, token, old);
        c->cnt--;
    }
    tr_strmap_put(&c->map, (struct tr_str){e->key, token.len}, e);
    c->cnt++;
}

/* ---- outcomes ------------------------------------------------------------------------------ */

static const char invalid_desc[] = "The access token is invalid or has expired";
static const char invalid_hdr[] = /* the WWW-Authenticate value */
    "Bearer realm=\"service\" error=\"invalid_token\" "
    "error_description=\"The access token is invalid or has expired\"";

/* Authentication failed: the anonymous consumer when configured, else 401. */
static int fail(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf, const char *error,
                const char *description, const char *www)
{
    if (conf->anonymous == NULL)
        return tr_oauth2_error(ctx, 401, error, description, www);
    const struct tr_consumer *anon = tr_ctx_find_consumer(ctx, tr_str_from_cstr(conf->anonymous));
    if (anon == NULL) {
        tr_ctx_respond_error(ctx, TR_EINTERNAL);
        return TR_PLUGIN_EXIT;
    }
    tr_ctx_set_consumer(ctx, anon, NULL, true);
    return TR_PLUGIN_NEXT;
}

static int invalid(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf)
{
    return fail(ctx, conf, "invalid_token", invalid_desc, invalid_hdr);
}

/* Check a token row and, when it holds, authenticate the request with it. */
static int accept_token(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf,
                        const struct tr_oauth2_token *t)
{
    if (t->expires_in > 0 && tr_oauth2_now_ms() - t->created_at > t->expires_in * 1000)
        return invalid(ctx, conf);
    if (!tr_oauth2_binding_ok(t->api_id, tr_ctx_service_id(ctx), tr_ctx_api_id(ctx) != NULL,
                              conf->global_credentials))
        return invalid(ctx, conf);
    const struct tr_credential *app =
        tr_ctx_find_credential_by_id(ctx, TR_OAUTH2_APPS, tr_str_from_cstr(t->credential_id));
    if (app == NULL || app->consumer == NULL)
        return invalid(ctx, conf);
    tr_ctx_set_consumer(ctx, app->consumer, app, false);
    tr_ctx_set_credential_identifier(ctx,
                                     json_string_value(json_object_get(app->doc, "client_id")));
    if (t->scope)
        tr_ctx_set_header(ctx, TR_STR_LIT("X-Authenticated-Scope"), tr_str_from_cstr(t->scope));
    if (t->authenticated_userid)
        tr_ctx_set_header(ctx, TR_STR_LIT("X-Authenticated-Userid"),
                          tr_str_from_cstr(t->authenticated_userid));
    return TR_PLUGIN_NEXT;
}

/* ---- the store lookup (thread pool) ------------------------------------------------------- */

struct lookup {
    const struct tr_oauth2_conf *conf;
    struct tr_str token; /* arena */
    uint64_t epoch;      /* when the lookup started */
    int rc;
    struct tr_oauth2_token t;
};

static void lookup_work(struct tr_store_tx *tx, void *arg)
{
    struct lookup *l = arg;
    if (tx == NULL) {
        l->rc = -1;
        return;
    }
    l->rc = tr_oauth2_token_by_access(tx, l->token, &l->t);
}

static void lookup_discard(void *arg)
{
    struct lookup *l = arg;
    tr_oauth2_token_clear(&l->t);
}

static void lookup_done(struct tr_ctx *ctx, void *arg)
{
    struct lookup *l = arg;
    int rc;
    if (l->rc != 0 && l->rc != TR_ENOTFOUND) {
        tr_ctx_respond_error(ctx, TR_EINTERNAL);
        rc = TR_PLUGIN_EXIT;
    } else {
        bool found = l->rc == 0;
        struct tr_oauth2_token t = l->t;
        memset(&l->t, 0, sizeof(l->t));
        rc = found ? accept_token(ctx, l->conf, &t) : invalid(ctx, l->conf);
        struct token_cache *c = cache_of(ctx);
        /* A revocation that landed during the lookup may not be in what was read. */
        if (c->epoch == l->epoch)
            cache_put(c, l->token, found, &t);
        tr_oauth2_token_clear(&t);
    }
    tr_ctx_resume(ctx, rc);
}

/* ---- finding the token --------------------------------------------------------------------- */

/* The token of an "Authorization: Bearer <t>" (or "Token <t>") header; false otherwise. */
static bool from_header(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf, struct tr_str *tok)
{
    struct tr_str h;
    if (!tr_ctx_header(ctx, tr_str_from_cstr(conf->auth_header_name), &h))
        return false;
    h = tr_str_trim(h);
    const char *sp = memchr(h.ptr, ' ', h.len);
    if (sp == NULL)
        return false;
    struct tr_str scheme = {h.ptr, (size_t)(sp - h.ptr)};
    if (!tr_str_ieq(scheme, TR_STR_LIT("Bearer")) && !tr_str_ieq(scheme, TR_STR_LIT("Token")))
        return false;
    *tok = tr_str_trim((struct tr_str){sp + 1, (size_t)(h.ptr + h.len - sp - 1)});
    return tok->len > 0 && memchr(tok->ptr, ' ', tok->len) == NULL;
}

static bool multipart_body(struct tr_ctx *ctx, struct tr_str *ct)
{
    return tr_ctx_header(ctx, TR_STR_LIT("Content-Type"), ct) && tr_multipart_is(*ct);
}

/* A form, or a multipart/form-data body as Kong 0.8 read one (its 0.8.3 spec sends the token
 * in one). */
static bool method_has_form(struct tr_ctx *ctx)
{
    struct tr_str m = tr_ctx_method(ctx), ct;
    return (tr_str_eq(m, TR_STR_LIT("POST")) || tr_str_eq(m, TR_STR_LIT("PUT")) ||
            tr_str_eq(m, TR_STR_LIT("PATCH"))) &&
           (tr_ctx_is_form_body(ctx) || multipart_body(ctx, &ct));
}

/* The access_token field of a form or multipart body read whole, in the arena: hide_credentials
 * may rewrite the body it came from before the token is looked up. */
static bool body_token(struct tr_ctx *ctx, struct tr_str *tok)
{
    struct tr_str ct, body, part;
    if (tr_ctx_is_form_body(ctx))
        return tr_ctx_form_arg(ctx, TR_STR_LIT("access_token"), tok);
    if (!multipart_body(ctx, &ct) || !tr_ctx_body(ctx, &body) ||
        !tr_multipart_arg(ct, body, TR_STR_LIT("access_token"), &part))
        return false;
    char *copy = tr_ctx_alloc(ctx, part.len + 1);
    memcpy(copy, part.ptr, part.len);
    copy[part.len] = '\0';
    *tok = (struct tr_str){copy, part.len};
    return true;
}

/* hide_credentials: every access_token field of the body, the rest as sent. */
static void remove_body_token(struct tr_ctx *ctx)
{
    struct tr_str ct, body;
    if (tr_ctx_is_form_body(ctx)) {
        tr_ctx_remove_form_arg(ctx, TR_STR_LIT("access_token"));
        return;
    }
    if (!multipart_body(ctx, &ct) || !tr_ctx_body(ctx, &body) || body.len == 0)
        return;
    char *out = tr_ctx_alloc(ctx, body.len);
    bool removed;
    size_t n = tr_multipart_remove(ct, body, TR_STR_LIT("access_token"), out, &removed);
    if (removed)
        tr_ctx_set_body(ctx, (struct tr_str){out, n});
}

static int check(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf)
{
    struct tr_str hdr = TR_STR_NULL, query = TR_STR_NULL, form = TR_STR_NULL;
    bool in_header = from_header(ctx, conf, &hdr);
    bool in_query = tr_ctx_query_arg(ctx, TR_STR_LIT("access_token"), &query) && query.len > 0;
    bool in_form = method_has_form(ctx) && body_token(ctx, &form) && form.len > 0;
    /* RFC 6750 §2: one method only; two different tokens are refused, not chosen from. */
    if ((in_header && in_query && !tr_str_eq(hdr, query)) ||
        (in_header && in_form && !tr_str_eq(hdr, form)) ||
        (in_query && in_form && !tr_str_eq(query, form)))
        return fail(ctx, conf, "invalid_request", "The access token was sent more than once",
                    "Bearer realm=\"service\" error=\"invalid_request\"");
    struct tr_str tok = in_header ? hdr : in_query ? query : form;
    if (!in_header && !in_query && !in_form)
        return fail(ctx, conf, "invalid_request", "The access token is missing",
                    "Bearer realm=\"service\"");
    if (conf->hide_credentials) {
        if (in_header)
            tr_ctx_remove_header(ctx, tr_str_from_cstr(conf->auth_header_name));
        /* Every spelling and every copy, even an empty first one that hid a second. */
        tr_ctx_remove_query_arg(ctx, TR_STR_LIT("access_token"));
        if (method_has_form(ctx))
            remove_body_token(ctx);
    }
    struct token_cache *c = cache_of(ctx);
    struct cache_entry *e = tr_strmap_get(&c->map, tok);
    if (e != NULL) {
        int64_t age = tr_oauth2_now_ms() - e->fetched_ms;
        if (age >= 0 && age < (e->found ? FOUND_TTL_MS : MISSING_TTL_MS))
            return e->found ? accept_token(ctx, conf, &e->t) : invalid(ctx, conf);
    }
    struct lookup *l = tr_ctx_alloc(ctx, sizeof(*l));
    memset(l, 0, sizeof(*l));
    l->conf = conf;
    char *copy = tr_ctx_alloc(ctx, tok.len + 1);
    memcpy(copy, tok.ptr, tok.len);
    copy[tok.len] = '\0';
    l->token = (struct tr_str){copy, tok.len};
    l->epoch = c->epoch;
    tr_ctx_offload_store(ctx, lookup_work, lookup_done, lookup_discard, l);
    return TR_PLUGIN_YIELD;
}

static void on_body(struct tr_ctx *ctx, bool complete)
{
    (void)complete; /* a body too large to read holds no token we look at */
    struct tr_oauth2_state *st = tr_ctx_state(ctx);
    int rc = check(ctx, st->conf);
    if (rc != TR_PLUGIN_YIELD)
        tr_ctx_resume(ctx, rc);
}

int tr_oauth2_bearer(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf)
{
    /* Client-sent X-Authenticated-* never reach the upstream: forward.c drops them with the
     * other gateway-owned headers (http/headers.c), so only what accept_token sets goes up. */
    /* A form body may carry a token too (and must not carry a second one): read it. Only
     * POST, PUT and PATCH forms are read, up to TR_OAUTH2_MAX_FORM; anything bigger streams
     * and is not searched. */
    if (method_has_form(ctx) && !tr_ctx_body_ready(ctx)) {
        struct tr_oauth2_state *st = tr_ctx_state(ctx);
        st->conf = conf;
        tr_ctx_read_body(ctx, TR_OAUTH2_MAX_FORM, on_body);
        return TR_PLUGIN_YIELD;
    }
    return check(ctx, conf);
}
