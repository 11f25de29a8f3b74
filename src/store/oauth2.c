/* SPDX-License-Identifier: MIT */
/* OAuth 2.0 runtime rows (see oauth2.h): what every backend shares (the checks on scopes and
 * user ids, the Admin API shape, the digests), and the calls handed to the session's backend. */
#include "store/oauth2.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/secret.h"
#include "store/backend.h"

static _Atomic uint64_t epoch = 1;

bool tr_oauth2_scope_token_ok(struct tr_str token)
{
    if (token.len == 0)
        return false;
    for (size_t i = 0; i < token.len; i++) {
        unsigned char c = (unsigned char)token.ptr[i];
        if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
            return false;
    }
    return true;
}

bool tr_oauth2_scope_ok(struct tr_str scope)
{
    size_t i = 0;
    while (i < scope.len) {
        if (scope.ptr[i] == ' ') {
            i++;
            continue;
        }
        size_t start = i;
        while (i < scope.len && scope.ptr[i] != ' ')
            i++;
        if (!tr_oauth2_scope_token_ok((struct tr_str){scope.ptr + start, i - start}))
            return false;
    }
    return true;
}

bool tr_oauth2_userid_ok(struct tr_str userid)
{
    if (userid.len == 0 || userid.len > TR_OAUTH2_USERID_MAX)
        return false;
    for (size_t i = 0; i < userid.len; i++) {
        unsigned char c = (unsigned char)userid.ptr[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    json_t *utf8 = json_stringn(userid.ptr, userid.len); /* NULL when not UTF-8 */
    bool ok = utf8 != NULL;
    json_decref(utf8);
    return ok;
}

int64_t tr_oauth2_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t tr_oauth2_epoch(void)
{
    return atomic_load_explicit(&epoch, memory_order_acquire);
}

void tr_oauth2_epoch_bump(void)
{
    atomic_fetch_add_explicit(&epoch, 1, memory_order_acq_rel);
}

void tr_oauth2_token_clear(struct tr_oauth2_token *t)
{
    free(t->scope);
    free(t->authenticated_userid);
    memset(t, 0, sizeof(*t));
}

void tr_oauth2_code_clear(struct tr_oauth2_code *c)
{
    free(c->scope);
    free(c->authenticated_userid);
    free(c->redirect_uri);
    free(c->challenge);
    memset(c, 0, sizeof(*c));
}

json_t *tr_oauth2_token_json(const struct tr_oauth2_token *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(t->id));
    json_object_set_new(o, "credential_id", json_string(t->credential_id));
    if (t->api_id[0])
        json_object_set_new(o, "api_id", json_string(t->api_id));
    json_object_set_new(o, "token_type", json_string("bearer"));
    json_object_set_new(o, "expires_in", json_integer(t->expires_in));
    if (t->scope)
        json_object_set_new(o, "scope", json_string(t->scope));
    if (t->authenticated_userid)
        json_object_set_new(o, "authenticated_userid", json_string(t->authenticated_userid));
    json_object_set_new(o, "created_at", json_integer(t->created_at));
    return o;
}

/* ---- rows, through the session's backend ------------------------------------------------ */

/* The digest a backend stores for a token or code text, into hex; NULL for none (empty). */
static const char *digest(struct tr_str plain, char hex[TR_SECRET_HEX_LEN + 1])
{
    if (plain.ptr == NULL || plain.len == 0)
        return NULL;
    tr_secret_sha256_hex(plain, hex);
    return hex;
}

int tr_oauth2_token_insert(struct tr_store_tx *tx, const struct tr_oauth2_token *t,
                           struct tr_str access_token, struct tr_str refresh_token)
{
    char access[TR_SECRET_HEX_LEN + 1], refresh[TR_SECRET_HEX_LEN + 1];
    if (tx == NULL || t == NULL)
        return TR_EINVAL;
    return tx->ops->token_insert(tx, t, digest(access_token, access),
                                 digest(refresh_token, refresh));
}

int tr_oauth2_token_by_access(struct tr_store_tx *tx, struct tr_str access_token,
                              struct tr_oauth2_token *out)
{
    char hex[TR_SECRET_HEX_LEN + 1];
    if (tx == NULL)
        return TR_EINVAL;
    return tx->ops->token_by_access(tx, digest(access_token, hex), out);
}

int tr_oauth2_token_by_refresh(struct tr_store_tx *tx, struct tr_str refresh_token,
                               struct tr_oauth2_token *out)
{
    char hex[TR_SECRET_HEX_LEN + 1];
    if (tx == NULL)
        return TR_EINVAL;
    return tx->ops->token_by_refresh(tx, digest(refresh_token, hex), out);
}

int tr_oauth2_token_by_id(struct tr_store_tx *tx, const char *id, struct tr_oauth2_token *out)
{
    return tx != NULL ? tx->ops->token_by_id(tx, id, out) : TR_EINVAL;
}

int tr_oauth2_token_revoke(struct tr_store_tx *tx, const char *id, bool drop_refresh)
{
    return tx != NULL ? tx->ops->token_revoke(tx, id, drop_refresh) : TR_EINVAL;
}

int tr_oauth2_token_update(struct tr_store_tx *tx, const struct tr_oauth2_token *t)
{
    return tx != NULL ? tx->ops->token_update(tx, t) : TR_EINVAL;
}

int tr_oauth2_token_set_texts(struct tr_store_tx *tx, const char *id, struct tr_str access_token,
                              bool set_refresh, struct tr_str refresh_token)
{
    char access[TR_SECRET_HEX_LEN + 1], refresh[TR_SECRET_HEX_LEN + 1];
    if (tx == NULL || id == NULL)
        return TR_EINVAL;
    return tx->ops->token_set_hashes(tx, id, digest(access_token, access), set_refresh,
                                     digest(refresh_token, refresh));
}

int tr_oauth2_token_delete(struct tr_store_tx *tx, const char *id)
{
    return tx != NULL ? tx->ops->token_delete(tx, id) : TR_EINVAL;
}

int tr_oauth2_family_delete(struct tr_store_tx *tx, const char *family)
{
    return tx != NULL ? tx->ops->family_delete(tx, family) : TR_EINVAL;
}

int tr_oauth2_token_list(struct tr_store_tx *tx, size_t size, int64_t after, json_t **rows,
                         size_t *total, int64_t *next)
{
    *rows = NULL;
    *next = 0;
    return tx != NULL ? tx->ops->token_list(tx, size, after, rows, total, next) : TR_EINVAL;
}

int tr_oauth2_code_insert(struct tr_store_tx *tx, const struct tr_oauth2_code *c,
                          struct tr_str code)
{
    char hex[TR_SECRET_HEX_LEN + 1];
    if (tx == NULL || c == NULL)
        return TR_EINVAL;
    return tx->ops->code_insert(tx, c, digest(code, hex));
}

int tr_oauth2_code_by_code(struct tr_store_tx *tx, struct tr_str code, struct tr_oauth2_code *out)
{
    char hex[TR_SECRET_HEX_LEN + 1];
    if (tx == NULL)
        return TR_EINVAL;
    return tx->ops->code_by_code(tx, digest(code, hex), out);
}

int tr_oauth2_code_consume(struct tr_store_tx *tx, const char *id, int64_t now, const char *family)
{
    return tx != NULL ? tx->ops->code_consume(tx, id, now, family) : TR_EINVAL;
}

int tr_oauth2_count(struct tr_store_tx *tx, size_t *tokens, size_t *codes)
{
    *tokens = *codes = 0;
    return tx != NULL ? tx->ops->oauth2_count(tx, tokens, codes) : TR_EINVAL;
}

int tr_oauth2_purge(struct tr_store_tx *tx, int64_t now, int64_t code_ttl_ms)
{
    return tx != NULL ? tx->ops->oauth2_purge(tx, now, code_ttl_ms) : TR_EINVAL;
}
