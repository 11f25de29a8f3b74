/* SPDX-License-Identifier: MIT */
/* The oauth2 token and authorize endpoints. Everything that needs only the request, the config
 * and the snapshot (client authentication, grant and parameter checks) runs on the worker;
 * what needs the store (issuing and redeeming codes, tokens and refresh tokens) runs as one
 * job on the thread pool, in one transaction, and the worker then answers. Error codes follow
 * RFC 6749 §5.2 with Kong's descriptions (P14). */
#include "plugins/oauth2.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/secret.h"
#include "core/uuid.h"
#include "http/form.h"
#include "store/oauth2.h"
#include "store/runtime.h"

enum job_kind { JOB_CODE_GRANT, JOB_ISSUE, JOB_REFRESH, JOB_NEW_CODE, JOB_IMPLICIT };

/* What the pool thread gets and gives back; lives in the request arena. */
struct job {
    enum job_kind kind;
    const struct tr_oauth2_conf *conf; /* the snapshot's (kept alive by the request) */
    char app_id[TR_OAUTH2_ID_LEN + 1];
    char api_id[TR_OAUTH2_ID_LEN + 1]; /* "" when the grant is not bound to the api */
    char cur_api_id[TR_OAUTH2_ID_LEN + 1];
    bool legacy; /* the request came through a route compiled from a Kong 0.7 api */
    const char *scope, *userid, *state;
    const char *code, *verifier, *redirect_uri, *refresh_token, *challenge;
    bool refresh;       /* JOB_ISSUE: also issue a refresh token */
    const char *target; /* JOB_NEW_CODE / JOB_IMPLICIT: the redirect URI answered */
    /* Result: status and either body (a JSON text) or error + description. */
    int status;
    bool revoked; /* tokens stopped working: tell the caches once committed */
    const char *error, *description;
    char *body;
    size_t body_cap;
};

static const char basic_challenge[] = "Basic realm=\"OAuth2.0\""; /* WWW-Authenticate */

/* ---- small helpers ------------------------------------------------------------------------- */

static const char nul_param[] = "A parameter holds a NUL byte";
static const char bad_body[] = "The multipart/form-data body cannot be read";
static const char bad_userid[] = "Invalid authenticated_userid parameter: at most 255 bytes of "
                                 "UTF-8 without control characters";

/* The user id the login app names is sent upstream in X-Authenticated-Userid: printable,
 * bounded (store/oauth2.h). */
static bool userid_ok(const char *userid)
{
    return tr_oauth2_userid_ok(tr_str_from_cstr(userid));
}

static bool blank(const char *s)
{
    if (s == NULL)
        return true;
    for (; *s; s++) {
        if (*s != ' ' && *s != '\t')
            return false;
    }
    return true;
}

/* Secrets compared in constant time. A missing or empty value on either side never matches: a
 * stored row without a provision key or client secret must not accept a request without one. */
static bool secret_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL || a[0] == '\0' || b[0] == '\0')
        return false;
    return tr_secret_equal(tr_str_from_cstr(a), tr_str_from_cstr(b));
}

/* Append s percent-encoded (unreserved characters kept) to out at *n. */
static void put_encoded(char *out, size_t *n, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out[(*n)++] = (char)c;
        } else {
            out[(*n)++] = '%';
            out[(*n)++] = hex[c >> 4];
            out[(*n)++] = hex[c & 15];
        }
    }
}

static void put_raw(char *out, size_t *n, const char *s)
{
    size_t l = strlen(s);
    memcpy(out + *n, s, l);
    *n += l;
}

/* The parameters an authorization response adds to the redirect URI's query (RFC 6749 §4.1.2
 * and §4.1.2.1): a registered URI that already holds one of them loses it, so the client reads
 * only ours (a registered "?code=123" would otherwise come back as a second, stale code). */
static const struct tr_str response_params[] = {
    TR_STR_LIT("code"),      TR_STR_LIT("state"),
    TR_STR_LIT("error"),     TR_STR_LIT("error_description"),
    TR_STR_LIT("error_uri"),
};

struct qpiece {
    char *key;  /* decoded, for the order */
    char *text; /* the pair as it goes into the URI */
    size_t seq;
};

static int qpiece_cmp(const void *a, const void *b)
{
    const struct qpiece *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* target with "k1=v1&k2=v2..." (values encoded; NULL values skipped) merged into its query, as
 * Kong 0.7 did: the registered query's other pairs are kept as registered (RFC 6749 §3.1.2),
 * ours replace those of the same name, and the pairs are sorted by name (Kong encoded the merged
 * table with its keys sorted, so "?foo=bar&code=123" came back as "?code=NEW&foo=bar"). Plain
 * malloc: the code job runs on the thread pool. */
static char *redirect_merge(const char *target, const char *const *kv, size_t nkv)
{
    const char *q = strchr(target, '?');
    size_t base_len = q ? (size_t)(q - target) : strlen(target);
    struct tr_str query = q ? tr_str_from_cstr(q + 1) : TR_STR_NULL;
    char *kept = tr_xmalloc(query.len + 1);
    size_t kept_len = query.len ? tr_form_remove(query, response_params,
                                                 TR_ARRAY_SIZE(response_params), kept, NULL)
                                : 0;
    size_t cnt = nkv / 2 + kept_len / 2 + 1, n = 0, total = base_len + 2;
    struct qpiece *pieces = tr_xmalloc(cnt * sizeof(*pieces));
    struct tr_str rest = {kept, kept_len}, k, v;
    while (tr_form_next(&rest, &k, &v)) {
        struct qpiece *p = &pieces[n];
        p->key = tr_xmalloc(k.len + 1);
        p->key[tr_form_decode(k, p->key)] = '\0';
        size_t len = (size_t)(v.ptr + v.len - k.ptr);
        p->text = tr_xmalloc(len + 1);
        memcpy(p->text, k.ptr, len);
        p->text[len] = '\0';
        p->seq = n++;
        total += len + 1;
    }
    for (size_t i = 0; i + 1 < nkv; i += 2) {
        if (kv[i + 1] == NULL)
            continue;
        struct qpiece *p = &pieces[n];
        size_t klen = strlen(kv[i]);
        p->key = tr_xstrdup(kv[i]);
        p->text = tr_xmalloc(klen + 3 * strlen(kv[i + 1]) + 2);
        size_t t = 0;
        put_raw(p->text, &t, kv[i]);
        p->text[t++] = '=';
        put_encoded(p->text, &t, kv[i + 1]);
        p->text[t] = '\0';
        p->seq = n++;
        total += t + 1;
    }
    qsort(pieces, n, sizeof(*pieces), qpiece_cmp);
    char *out = tr_xmalloc(total);
    size_t o = 0;
    memcpy(out, target, base_len);
    o = base_len;
    for (size_t i = 0; i < n; i++) {
        out[o++] = i == 0 ? '?' : '&';
        put_raw(out, &o, pieces[i].text);
        free(pieces[i].key);
        free(pieces[i].text);
    }
    out[o] = '\0';
    free(pieces);
    free(kept);
    return out;
}

static int answer_json(struct tr_ctx *ctx, int status, json_t *o)
{
    char *body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    tr_ctx_respond(ctx, status, body ? body : "{}", NULL);
    tr_oauth2_no_cache(ctx);
    free(body);
    return TR_PLUGIN_EXIT;
}

/* ---- the pool job -------------------------------------------------------------------------- */

static void job_fail(struct job *j, int status, const char *error, const char *description)
{
    j->status = status;
    j->error = error;
    j->description = description;
}

static void job_body(struct job *j, json_t *o)
{
    size_t n = json_dumpb(o, j->body, j->body_cap - 1, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (n == 0 || n >= j->body_cap) {
        job_fail(j, 500, NULL, NULL);
        return;
    }
    j->body[n] = '\0';
    j->status = 200;
}

/* Insert a new token for the job; fills access, and refresh with a new refresh token when
 * wanted (reuse_refresh: the row keeps that one instead, and refresh stays empty). */
static int insert_token(struct tr_store_tx *tx, struct job *j, const char *family,
                        const char *userid, const char *scope, const char *reuse_refresh,
                        int64_t refresh_expires_at, bool want_refresh, char *access, char *refresh,
                        char *id)
{
    const struct tr_oauth2_conf *conf = j->conf;
    int64_t now = tr_oauth2_now_ms();
    if (tr_secret_token(access) != 0 || tr_uuid_v4(id) != 0)
        return TR_EIO;
    refresh[0] = '\0';
    if (!reuse_refresh && want_refresh && tr_secret_token(refresh) != 0)
        return TR_EIO;
    const char *rt = reuse_refresh ? reuse_refresh : refresh;
    struct tr_oauth2_token t = {0};
    snprintf(t.id, sizeof(t.id), "%s", id);
    snprintf(t.credential_id, sizeof(t.credential_id), "%s", j->app_id);
    snprintf(t.api_id, sizeof(t.api_id), "%s", j->api_id);
    snprintf(t.family, sizeof(t.family), "%s", family ? family : id);
    t.scope = (char *)scope;
    t.authenticated_userid = (char *)userid;
    t.created_at = now;
    t.expires_in = conf->token_expiration;
    if (rt[0]) {
        t.refresh_expires_at = reuse_refresh                 ? refresh_expires_at
                               : conf->refresh_token_ttl > 0 ? now + conf->refresh_token_ttl * 1000
                                                             : 0;
    }
    return tr_oauth2_token_insert(tx, &t, tr_str_from_cstr(access), tr_str_from_cstr(rt));
}

static void token_answer(struct job *j, const char *access, const char *refresh)
{
    json_t *o = json_pack("{s:s,s:s}", "token_type", "bearer", "access_token", access);
    if (j->conf->token_expiration > 0)
        json_object_set_new(o, "expires_in", json_integer(j->conf->token_expiration));
    if (refresh && refresh[0])
        json_object_set_new(o, "refresh_token", json_string(refresh));
    if (j->state)
        json_object_set_new(o, "state", json_string(j->state));
    job_body(j, o);
}

/* Codes stay with the api that issued them on every kind of route (RFC 6749 §4.1.3, the
 * security catalogue's I-04), although Kong 0.7 had no api on a code: an unbound one (issued
 * with global_credentials) only where the plugin has global_credentials too. */
static bool code_api_matches(const struct job *j, const char *bound)
{
    if (bound[0])
        return strcmp(bound, j->cur_api_id) == 0;
    return j->conf->global_credentials;
}

static void run_code_grant(struct tr_store_tx *tx, struct job *j)
{
    struct tr_oauth2_code c;
    int rc = tr_oauth2_code_by_code(tx, tr_str_from_cstr(j->code), &c);
    if (rc == TR_ENOTFOUND) {
        job_fail(j, 400, "invalid_grant", "Invalid code");
        return;
    }
    if (rc != 0) {
        job_fail(j, 500, NULL, NULL);
        return;
    }
    int64_t now = tr_oauth2_now_ms();
    if (c.used_at) {
        /* A code used twice: someone holds a copy. Revoke what it produced (RFC 6749
         * §4.1.2). */
        if (c.family[0] && tr_oauth2_family_delete(tx, c.family) == 0)
            j->revoked = true;
        job_fail(j, 400, "invalid_grant", "Invalid code");
    } else if (now - c.created_at > TR_OAUTH2_CODE_TTL_MS || now < c.created_at - 60000) {
        job_fail(j, 400, "invalid_grant", "Invalid code");
    } else if (strcmp(c.credential_id, j->app_id) != 0 || !code_api_matches(j, c.api_id)) {
        job_fail(j, 400, "invalid_grant", "Invalid code");
    } else if (c.redirect_uri &&
               (j->redirect_uri == NULL || strcmp(c.redirect_uri, j->redirect_uri) != 0)) {
        job_fail(j, 400, "invalid_grant", "Invalid redirect_uri");
    } else if (c.challenge && j->verifier == NULL) {
        job_fail(j, 400, "invalid_grant",
                 "code_verifier is required for PKCE authorization requests");
    } else if (c.challenge == NULL && j->verifier != NULL) {
        job_fail(j, 400, "invalid_grant",
                 "code_verifier given for a code issued without a challenge");
    } else {
        bool ok = true;
        if (c.challenge) {
            char s256[TR_SECRET_TOKEN_LEN + 1];
            tr_secret_sha256_b64url(tr_str_from_cstr(j->verifier), s256);
            ok = secret_eq(s256, c.challenge);
        }
        if (!ok) {
            job_fail(j, 400, "invalid_grant", "Invalid code");
        } else {
            char access[TR_SECRET_TOKEN_LEN + 1], refresh[TR_SECRET_TOKEN_LEN + 1];
            char id[TR_OAUTH2_ID_LEN + 1];
            snprintf(j->api_id, sizeof(j->api_id), "%s", c.api_id);
            rc = insert_token(tx, j, NULL, c.authenticated_userid, c.scope, NULL, 0,
                              j->conf->token_expiration > 0, access, refresh, id);
            if (rc == 0)
                rc = tr_oauth2_code_consume(tx, c.id, now, id);
            if (rc == 0)
                token_answer(j, access, refresh);
            else if (rc == TR_ENOTFOUND)
                job_fail(j, 400, "invalid_grant", "Invalid code");
            else
                job_fail(j, 500, NULL, NULL);
        }
    }
    tr_oauth2_code_clear(&c);
}

/* Is every space-separated scope of want in have? */
static bool scope_subset(const char *want, const char *have)
{
    const char *p = want;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *s = p;
        while (*p && *p != ' ')
            p++;
        size_t len = (size_t)(p - s);
        if (len == 0)
            break;
        bool found = false;
        const char *h = have ? have : "";
        while (*h && !found) {
            while (*h == ' ')
                h++;
            const char *hs = h;
            while (*h && *h != ' ')
                h++;
            found = (size_t)(h - hs) == len && memcmp(hs, s, len) == 0;
        }
        if (!found)
            return false;
    }
    return true;
}

static void run_refresh(struct tr_store_tx *tx, struct job *j)
{
    struct tr_oauth2_token t;
    int rc = tr_oauth2_token_by_refresh(tx, tr_str_from_cstr(j->refresh_token), &t);
    if (rc == TR_ENOTFOUND) {
        job_fail(j, 400, "invalid_grant", "Invalid refresh_token");
        return;
    }
    if (rc != 0) {
        job_fail(j, 500, NULL, NULL);
        return;
    }
    int64_t now = tr_oauth2_now_ms();
    if (t.revoked) {
        /* A rotated refresh token came back: revoke the whole grant (RFC 9700 §2.2.2). */
        if (tr_oauth2_family_delete(tx, t.family) == 0)
            j->revoked = true;
        job_fail(j, 400, "invalid_grant", "Invalid refresh_token");
    } else if ((t.refresh_expires_at > 0 && now > t.refresh_expires_at) ||
               strcmp(t.credential_id, j->app_id) != 0 ||
               !tr_oauth2_binding_ok(t.api_id, j->cur_api_id, j->legacy,
                                     j->conf->global_credentials)) {
        job_fail(j, 400, "invalid_grant", "Invalid refresh_token");
    } else if (j->scope && !scope_subset(j->scope, t.scope)) {
        job_fail(j, 400, "invalid_scope", "The requested scope exceeds the scope granted");
    } else {
        char access[TR_SECRET_TOKEN_LEN + 1], refresh[TR_SECRET_TOKEN_LEN + 1];
        char id[TR_OAUTH2_ID_LEN + 1];
        bool reuse = j->conf->reuse_refresh_token;
        snprintf(j->api_id, sizeof(j->api_id), "%s", t.api_id);
        rc = tr_oauth2_token_revoke(tx, t.id, reuse);
        if (rc == 0)
            rc = insert_token(tx, j, t.family, t.authenticated_userid,
                              j->scope ? j->scope : t.scope, reuse ? j->refresh_token : NULL,
                              t.refresh_expires_at, true, access, refresh, id);
        if (rc == 0) {
            j->revoked = true; /* the old access token stops working */
            token_answer(j, access, reuse ? j->refresh_token : refresh);
        } else {
            job_fail(j, 500, NULL, NULL);
        }
    }
    tr_oauth2_token_clear(&t);
}

static void run_issue(struct tr_store_tx *tx, struct job *j)
{
    char access[TR_SECRET_TOKEN_LEN + 1], refresh[TR_SECRET_TOKEN_LEN + 1];
    char id[TR_OAUTH2_ID_LEN + 1];
    bool want_refresh = j->refresh && j->conf->token_expiration > 0;
    int rc =
        insert_token(tx, j, NULL, j->userid, j->scope, NULL, 0, want_refresh, access, refresh, id);
    if (rc != 0) {
        job_fail(j, 500, NULL, NULL);
        return;
    }
    if (j->kind == JOB_ISSUE) {
        token_answer(j, access, refresh);
        return;
    }
    /* Implicit grant: the token travels in the redirect URI's fragment. */
    char exp[24];
    snprintf(exp, sizeof(exp), "%lld", (long long)j->conf->token_expiration);
    size_t n = 0;
    const char *kv[] = {"access_token", access,       "token_type",
                        "bearer",       "expires_in", j->conf->token_expiration > 0 ? exp : NULL,
                        "state",        j->state};
    size_t need = strlen(j->target) + 256 + (j->state ? 3 * strlen(j->state) : 0);
    char *uri = malloc(need);
    if (uri == NULL) {
        job_fail(j, 500, NULL, NULL);
        return;
    }
    put_raw(uri, &n, j->target);
    bool first = true;
    for (size_t i = 0; i < TR_ARRAY_SIZE(kv); i += 2) {
        if (kv[i + 1] == NULL)
            continue;
        uri[n++] = first ? '#' : '&';
        first = false;
        put_raw(uri, &n, kv[i]);
        uri[n++] = '=';
        put_encoded(uri, &n, kv[i + 1]);
    }
    uri[n] = '\0';
    job_body(j, json_pack("{s:s}", "redirect_uri", uri));
    free(uri);
}

static void run_new_code(struct tr_store_tx *tx, struct job *j)
{
    char code[TR_SECRET_TOKEN_LEN + 1];
    struct tr_oauth2_code c = {0};
    if (tr_secret_token(code) != 0 || tr_uuid_v4(c.id) != 0) {
        job_fail(j, 500, NULL, NULL);
        return;
    }
    snprintf(c.credential_id, sizeof(c.credential_id), "%s", j->app_id);
    snprintf(c.api_id, sizeof(c.api_id), "%s", j->api_id);
    c.scope = (char *)j->scope;
    c.authenticated_userid = (char *)j->userid;
    c.redirect_uri = (char *)j->redirect_uri;
    c.challenge = (char *)j->challenge;
    c.created_at = tr_oauth2_now_ms();
    if (tr_oauth2_code_insert(tx, &c, tr_str_from_cstr(code)) != 0) {
        job_fail(j, 500, NULL, NULL);
        return;
    }
    const char *kv[] = {"code", code, "state", j->state};
    char *uri = redirect_merge(j->target, kv, TR_ARRAY_SIZE(kv));
    job_body(j, json_pack("{s:s}", "redirect_uri", uri));
    free(uri);
}

/* Delete dead codes and tokens now and then (at most once a minute per node). */
static void maybe_purge(struct tr_store_tx *tx)
{
    static _Atomic int64_t last;
    int64_t now = tr_oauth2_now_ms();
    int64_t prev = atomic_load(&last);
    if (now - prev < 60000 || !atomic_compare_exchange_strong(&last, &prev, now))
        return;
    if (tr_oauth2_purge(tx, now, TR_OAUTH2_CODE_TTL_MS) < 0)
        tr_log_warn("oauth2: purging expired tokens failed");
}

static void job_work(struct tr_store_tx *tx, void *arg)
{
    struct job *j = arg;
    if (tx == NULL) {
        job_fail(j, 500, NULL, NULL);
        return;
    }
    if (tr_store_tx_begin(tx) != 0) {
        job_fail(j, 500, NULL, NULL);
        return;
    }
    switch (j->kind) {
    case JOB_CODE_GRANT:
        run_code_grant(tx, j);
        break;
    case JOB_REFRESH:
        run_refresh(tx, j);
        break;
    case JOB_ISSUE:
    case JOB_IMPLICIT:
        run_issue(tx, j);
        break;
    case JOB_NEW_CODE:
        run_new_code(tx, j);
        break;
    }
    /* Failed grants may still have written (a reuse revokes a family): commit them too. */
    if (j->status == 500) {
        tr_store_tx_rollback(tx);
    } else if (tr_store_tx_commit(tx) != 0) {
        job_fail(j, 500, NULL, NULL);
    } else if (j->revoked) {
        /* After the commit: a lookup that read the row before it must not be cached. */
        tr_oauth2_epoch_bump();
    }
    if (j->status != 500)
        maybe_purge(tx);
}

static void job_done(struct tr_ctx *ctx, void *arg)
{
    struct job *j = arg;
    int rc;
    if (j->status == 200) {
        tr_ctx_respond(ctx, 200, j->body, NULL);
        tr_oauth2_no_cache(ctx);
        rc = TR_PLUGIN_EXIT;
    } else if (j->status == 500 || j->error == NULL) {
        tr_ctx_respond_error(ctx, TR_EINTERNAL);
        rc = TR_PLUGIN_EXIT;
    } else {
        rc = tr_oauth2_error(ctx, j->status, j->error, j->description, NULL);
    }
    tr_ctx_resume(ctx, rc);
}

static struct job *job_new(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf,
                           enum job_kind kind, const struct tr_credential *app)
{
    struct job *j = tr_ctx_alloc(ctx, sizeof(*j));
    memset(j, 0, sizeof(*j));
    j->kind = kind;
    j->conf = conf;
    snprintf(j->app_id, sizeof(j->app_id), "%s", app->id);
    const char *api = tr_ctx_service_id(ctx);
    snprintf(j->cur_api_id, sizeof(j->cur_api_id), "%s", api ? api : "");
    j->legacy = tr_ctx_api_id(ctx) != NULL;
    if (!conf->global_credentials)
        snprintf(j->api_id, sizeof(j->api_id), "%s", j->cur_api_id);
    j->body_cap = 1024;
    return j;
}

static int job_start(struct tr_ctx *ctx, struct job *j)
{
    size_t extra = (j->state ? 3 * strlen(j->state) : 0) + (j->target ? strlen(j->target) : 0);
    j->body_cap += extra * 2;
    j->body = tr_ctx_alloc(ctx, j->body_cap);
    tr_ctx_offload_store(ctx, job_work, job_done, NULL, j);
    return TR_PLUGIN_YIELD;
}

/* ---- the token endpoint -------------------------------------------------------------------- */

struct client_auth {
    const char *id, *secret;
    /* From a Basic header: the halves as sent too (RFC 6749 §2.3.1 wants them form-encoded,
     * many clients do not encode them). */
    const char *raw_id, *raw_secret;
    bool from_header;
};

static char *dup_part(struct tr_ctx *ctx, const char *p, size_t n)
{
    char *out = tr_ctx_alloc(ctx, n + 1);
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

static char *decode_part(struct tr_ctx *ctx, const char *p, size_t n)
{
    char *out = tr_ctx_alloc(ctx, n + 1);
    size_t l = tr_form_decode((struct tr_str){p, n}, out);
    out[l] = '\0';
    return out;
}

/* Client credentials from Authorization: Basic (RFC 6749 §2.3.1: each half form-encoded) or
 * the client_id / client_secret parameters. Returns NULL or an error description. */
static const char *client_auth_read(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf,
                                    const struct tr_oauth2_params *p, struct client_auth *ca)
{
    memset(ca, 0, sizeof(*ca));
    struct tr_str h;
    if (tr_ctx_header(ctx, tr_str_from_cstr(conf->auth_header_name), &h)) {
        h = tr_str_trim(h);
        if (h.len > 6 && tr_str_ieq((struct tr_str){h.ptr, 6}, TR_STR_LIT("Basic "))) {
            struct tr_str b64 = tr_str_trim((struct tr_str){h.ptr + 6, h.len - 6});
            unsigned char *raw = tr_ctx_alloc(ctx, b64.len + 4);
            int n = b64.len % 4 == 0 && b64.len > 0
                        ? EVP_DecodeBlock(raw, (const unsigned char *)b64.ptr, (int)b64.len)
                        : -1;
            if (n < 0)
                return "Invalid Authorization header";
            while (n > 0 && b64.len >= 1 && b64.ptr[b64.len - 1] == '=' && raw[n - 1] == 0) {
                n--;
                b64.len--;
            }
            const char *colon = memchr(raw, ':', (size_t)n);
            if (colon == NULL)
                return "Invalid Authorization header";
            size_t il = (size_t)(colon - (const char *)raw);
            size_t sl = (size_t)((const char *)raw + n - colon - 1);
            ca->id = decode_part(ctx, (const char *)raw, il);
            ca->secret = decode_part(ctx, colon + 1, sl);
            ca->raw_id = dup_part(ctx, (const char *)raw, il);
            ca->raw_secret = dup_part(ctx, colon + 1, sl);
            ca->from_header = true;
            if (p->v[P_CLIENT_SECRET] ||
                (p->v[P_CLIENT_ID] && strcmp(p->v[P_CLIENT_ID], ca->id) != 0))
                return "The client used more than one authentication method";
            return NULL;
        }
    }
    ca->id = p->v[P_CLIENT_ID];
    ca->secret = p->v[P_CLIENT_SECRET];
    return NULL;
}

static int invalid_client(struct tr_ctx *ctx)
{
    return tr_oauth2_error(ctx, 401, "invalid_client", "Invalid client authentication",
                           basic_challenge);
}

/* Authenticate the client: the application, or NULL after answering. */
static const struct tr_credential *client_authenticate(struct tr_ctx *ctx,
                                                       const struct tr_oauth2_conf *conf,
                                                       const struct tr_oauth2_params *p, int *rc)
{
    struct client_auth ca;
    const char *bad = client_auth_read(ctx, conf, p, &ca);
    if (bad) {
        *rc = tr_oauth2_error(ctx, 400, "invalid_request", bad, NULL);
        return NULL;
    }
    const struct tr_credential *app =
        ca.id && ca.id[0] ? tr_ctx_find_credential(ctx, TR_OAUTH2_APPS, tr_str_from_cstr(ca.id))
                          : NULL;
    if (app == NULL && ca.raw_id && ca.raw_id[0]) {
        app = tr_ctx_find_credential(ctx, TR_OAUTH2_APPS, tr_str_from_cstr(ca.raw_id));
        ca.secret = ca.raw_secret;
    }
    if (app && app->consumer == NULL)
        app = NULL;
    const char *type = app ? json_string_value(json_object_get(app->doc, "client_type")) : NULL;
    bool is_public = type && strcmp(type, "public") == 0;
    if (app && is_public) {
        if (!blank(ca.secret)) {
            *rc = tr_oauth2_error(ctx, 400, "invalid_request",
                                  "client_secret is disallowed for public clients", NULL);
            return NULL;
        }
        return app;
    }
    /* Compare even for an unknown client, so the answer takes the same time either way, and
     * never say which half was wrong (Kong issue #1017). */
    const char *want = app ? json_string_value(json_object_get(app->doc, "client_secret")) : NULL;
    bool ok = secret_eq(ca.secret, want ? want : "\x01 no client") && app && ca.secret;
    if (!ok && app && ca.raw_secret && strcmp(ca.raw_secret, ca.secret) != 0)
        ok = secret_eq(ca.raw_secret, want); /* an unencoded secret with '+' or '%' */
    if (!ok) {
        *rc = invalid_client(ctx);
        return NULL;
    }
    return app;
}

static bool is_public_client(const struct tr_credential *app)
{
    const char *type = json_string_value(json_object_get(app->doc, "client_type"));
    return type && strcmp(type, "public") == 0;
}

/* RFC 7636 §4.1: 43 to 128 characters of [A-Za-z0-9-._~]. */
static bool pkce_text_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 43 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~'))
            return false;
    }
    return true;
}

static int token_continue(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf)
{
    struct tr_oauth2_params p;
    tr_oauth2_params_collect(ctx, &p);
    if (p.repeated)
        return tr_oauth2_error(ctx, 400, "invalid_request", "A parameter was sent more than once",
                               NULL);
    if (p.nul)
        return tr_oauth2_error(ctx, 400, "invalid_request", nul_param, NULL);
    if (p.bad_body)
        return tr_oauth2_error(ctx, 400, "invalid_request", bad_body, NULL);
    const char *grant = p.v[P_GRANT_TYPE];
    if (blank(grant))
        return tr_oauth2_error(ctx, 400, "invalid_request", "Missing grant_type parameter", NULL);
    bool code_grant = strcmp(grant, "authorization_code") == 0;
    bool refresh_grant = strcmp(grant, "refresh_token") == 0;
    bool cc_grant = strcmp(grant, "client_credentials") == 0 && conf->enable_client_credentials;
    bool pw_grant = strcmp(grant, "password") == 0 && conf->enable_password_grant;
    if (code_grant && !conf->enable_authorization_code)
        code_grant = false;
    if (!code_grant && !refresh_grant && !cc_grant && !pw_grant)
        return tr_oauth2_error(ctx, 400, "unsupported_grant_type", "Invalid grant_type", NULL);
    if (p.secret_in_query)
        return tr_oauth2_error(ctx, 400, "invalid_request",
                               "client_secret must not be sent in the query string", NULL);
    int rc = TR_PLUGIN_EXIT;
    const struct tr_credential *app = client_authenticate(ctx, conf, &p, &rc);
    if (app == NULL)
        return rc;
    if (p.v[P_REDIRECT_URI] && !tr_oauth2_app_has_redirect(app->doc, p.v[P_REDIRECT_URI]))
        return tr_oauth2_error(ctx, 400, "invalid_request",
                               "Invalid redirect_uri that does not match with any redirect_uri "
                               "created with the application",
                               NULL);
    const char *scope = NULL;
    const char *scope_err = NULL;
    struct job *j;
    if (code_grant) {
        if (blank(p.v[P_CODE]))
            return tr_oauth2_error(ctx, 400, "invalid_request", "Missing code parameter", NULL);
        if (p.v[P_CODE_VERIFIER] && !pkce_text_ok(p.v[P_CODE_VERIFIER]))
            return tr_oauth2_error(ctx, 400, "invalid_request",
                                   "code_verifier must be 43 to 128 characters of "
                                   "[A-Za-z0-9-._~]",
                                   NULL);
        j = job_new(ctx, conf, JOB_CODE_GRANT, app);
        j->code = p.v[P_CODE];
        j->verifier = p.v[P_CODE_VERIFIER];
        j->redirect_uri = p.v[P_REDIRECT_URI];
    } else if (refresh_grant) {
        if (blank(p.v[P_REFRESH_TOKEN]))
            return tr_oauth2_error(ctx, 400, "invalid_request", "Missing refresh_token parameter",
                                   NULL);
        /* A refresh may narrow the scope, never widen it; no scope keeps the grant's. */
        if (p.v[P_SCOPE] && (scope_err = tr_oauth2_scope_check(ctx, conf, p.v[P_SCOPE], &scope)))
            return tr_oauth2_error(ctx, 400, "invalid_scope", scope_err, NULL);
        j = job_new(ctx, conf, JOB_REFRESH, app);
        j->refresh_token = p.v[P_REFRESH_TOKEN];
        j->scope = scope;
    } else {
        if (cc_grant && is_public_client(app))
            return tr_oauth2_error(ctx, 400, "unauthorized_client",
                                   "Public clients cannot use the client_credentials grant", NULL);
        bool need_user = pw_grant || p.v[P_AUTHENTICATED_USERID] != NULL;
        if (need_user && !secret_eq(p.v[P_PROVISION_KEY], conf->provision_key))
            return tr_oauth2_error(ctx, 400, "invalid_provision_key", "Invalid provision_key",
                                   NULL);
        if (pw_grant && blank(p.v[P_AUTHENTICATED_USERID]))
            return tr_oauth2_error(ctx, 400, "invalid_authenticated_userid",
                                   "Missing authenticated_userid parameter", NULL);
        if (!blank(p.v[P_AUTHENTICATED_USERID]) && !userid_ok(p.v[P_AUTHENTICATED_USERID]))
            return tr_oauth2_error(ctx, 400, "invalid_request", bad_userid, NULL);
        if ((scope_err = tr_oauth2_scope_check(ctx, conf, p.v[P_SCOPE], &scope)))
            return tr_oauth2_error(ctx, 400, "invalid_scope", scope_err, NULL);
        j = job_new(ctx, conf, JOB_ISSUE, app);
        j->userid = p.v[P_AUTHENTICATED_USERID];
        j->scope = scope;
        j->refresh = pw_grant; /* client credentials never get a refresh token */
    }
    j->state = p.v[P_STATE];
    return job_start(ctx, j);
}

/* ---- the authorize endpoint ---------------------------------------------------------------- */

/* A 400 whose error goes back to the client through the (validated) redirect URI. */
static int authorize_redirect_error(struct tr_ctx *ctx, const char *target, const char *error,
                                    const char *description, const char *state)
{
    const char *kv[] = {"error", error, "error_description", description, "state", state};
    char *uri = redirect_merge(target, kv, TR_ARRAY_SIZE(kv));
    json_t *o = json_pack("{s:s,s:s,s:s}", "redirect_uri", uri, "error", error, "error_description",
                          description);
    free(uri);
    return answer_json(ctx, 400, o);
}

static int authorize_plain_error(struct tr_ctx *ctx, const char *error, const char *description,
                                 const char *state)
{
    json_t *o = json_pack("{s:s,s:s}", "error", error, "error_description", description);
    if (state)
        json_object_set_new(o, "state", json_string(state));
    return answer_json(ctx, 400, o);
}

static int authorize_continue(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf)
{
    struct tr_oauth2_params p;
    tr_oauth2_params_collect(ctx, &p);
    const char *state = p.v[P_STATE];
    if (p.repeated)
        return authorize_plain_error(ctx, "invalid_request", "A parameter was sent more than once",
                                     state);
    if (p.nul)
        return authorize_plain_error(ctx, "invalid_request", nul_param, NULL);
    if (p.bad_body)
        return authorize_plain_error(ctx, "invalid_request", bad_body, NULL);
    if (!secret_eq(p.v[P_PROVISION_KEY], conf->provision_key))
        return authorize_plain_error(ctx, "invalid_provision_key", "Invalid provision_key", state);
    if (blank(p.v[P_AUTHENTICATED_USERID]))
        return authorize_plain_error(ctx, "invalid_authenticated_userid",
                                     "Missing authenticated_userid parameter", state);
    if (!userid_ok(p.v[P_AUTHENTICATED_USERID]))
        return authorize_plain_error(ctx, "invalid_request", bad_userid, state);
    const char *cid = p.v[P_CLIENT_ID];
    const struct tr_credential *app =
        cid && cid[0] ? tr_ctx_find_credential(ctx, TR_OAUTH2_APPS, tr_str_from_cstr(cid)) : NULL;
    if (app == NULL || app->consumer == NULL)
        return authorize_plain_error(ctx, "invalid_client", "Invalid client authentication", state);
    /* Never redirect to a URI that was not registered (RFC 6749 §4.1.2.1). */
    const char *given = p.v[P_REDIRECT_URI];
    if (given && !tr_oauth2_app_has_redirect(app->doc, given))
        return authorize_plain_error(ctx, "invalid_request",
                                     "Invalid redirect_uri that does not match with any "
                                     "redirect_uri created with the application",
                                     state);
    const char *target = given ? given : tr_oauth2_app_first_redirect(app->doc);
    if (target == NULL)
        return authorize_plain_error(ctx, "invalid_request", "The application has no redirect_uri",
                                     state);
    /* Kong's order: a bad scope is reported before a bad response_type (Kong 0.7 and 0.8 ran
     * both checks and kept the later one's error, the scope's). */
    const char *scope = NULL;
    const char *scope_err = tr_oauth2_scope_check(ctx, conf, p.v[P_SCOPE], &scope);
    if (scope_err)
        return authorize_redirect_error(ctx, target, "invalid_scope", scope_err, state);
    const char *rt = p.v[P_RESPONSE_TYPE];
    bool code = rt && strcmp(rt, "code") == 0 && conf->enable_authorization_code;
    bool implicit = rt && strcmp(rt, "token") == 0 && conf->enable_implicit_grant;
    if (!code && !implicit)
        return authorize_redirect_error(ctx, target, "unsupported_response_type",
                                        "Invalid response_type", state);
    struct job *j;
    if (code) {
        const char *challenge = p.v[P_CODE_CHALLENGE];
        const char *method = p.v[P_CODE_CHALLENGE_METHOD];
        bool is_public = is_public_client(app);
        if (method && !challenge)
            return authorize_redirect_error(
                ctx, target, "invalid_request",
                "code_challenge is required when code_challenge_method is present", state);
        if (challenge && method && strcmp(method, "S256") != 0)
            return authorize_redirect_error(ctx, target, "invalid_request",
                                            "code_challenge_method is not supported, must be S256",
                                            state);
        if (challenge && !pkce_text_ok(challenge))
            return authorize_redirect_error(ctx, target, "invalid_request",
                                            "code_challenge must be 43 to 128 characters of "
                                            "[A-Za-z0-9-._~]",
                                            state);
        bool required =
            (is_public && conf->pkce != TR_OAUTH2_PKCE_NONE) || conf->pkce == TR_OAUTH2_PKCE_STRICT;
        if (!challenge && required)
            return authorize_redirect_error(ctx, target, "invalid_request",
                                            is_public ? "code_challenge is required for public "
                                                        "clients"
                                                      : "code_challenge is required",
                                            state);
        j = job_new(ctx, conf, JOB_NEW_CODE, app);
        j->challenge = challenge;
        j->redirect_uri = given;
    } else {
        j = job_new(ctx, conf, JOB_IMPLICIT, app);
    }
    j->target = target;
    j->scope = scope;
    j->userid = p.v[P_AUTHENTICATED_USERID];
    j->state = state;
    return job_start(ctx, j);
}

/* ---- entry points -------------------------------------------------------------------------- */

static void on_body(struct tr_ctx *ctx, bool complete)
{
    struct tr_oauth2_state *st = tr_ctx_state(ctx);
    int rc;
    if (!complete)
        rc = tr_oauth2_error(ctx, 400, "invalid_request", "The request body is too large", NULL);
    else if (st->authorize)
        rc = authorize_continue(ctx, st->conf);
    else
        rc = token_continue(ctx, st->conf);
    if (rc != TR_PLUGIN_YIELD)
        tr_ctx_resume(ctx, rc);
}

static int endpoint(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf, bool authorize)
{
    /* RFC 6749 §3.1 and §3.2: TLS is required (behind a terminating proxy, only from
     * trusted_ips with X-Forwarded-Proto: https, and only when the api allows it; P14). */
    if (!tr_ctx_is_https(ctx, conf->accept_http_if_already_terminated))
        return tr_oauth2_error(ctx, 400, "access_denied", "You must use HTTPS", NULL);
    if (!tr_ctx_body_ready(ctx)) {
        struct tr_oauth2_state *st = tr_ctx_state(ctx);
        st->conf = conf;
        st->authorize = authorize;
        tr_ctx_read_body(ctx, TR_OAUTH2_MAX_FORM, on_body);
        return TR_PLUGIN_YIELD;
    }
    return authorize ? authorize_continue(ctx, conf) : token_continue(ctx, conf);
}

int tr_oauth2_token_endpoint(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf)
{
    return endpoint(ctx, conf, false);
}

int tr_oauth2_authorize_endpoint(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf)
{
    return endpoint(ctx, conf, true);
}
