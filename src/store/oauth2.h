/* SPDX-License-Identifier: MIT */
/* OAuth 2.0 runtime rows: access tokens (each with its optional refresh token) and
 * authorization codes. Only SHA-256 digests of tokens, refresh tokens and codes are stored
 * (P12): a copy of the database hands out no live credential; the digests are made here,
 * before a backend sees the row, so no backend can store a plaintext by mistake. Every row
 * call takes a runtime session (store/runtime.h) and blocks (thread pool or control thread
 * only). Backend-neutral: nothing here names a database. */
#ifndef TR_STORE_OAUTH2_H
#define TR_STORE_OAUTH2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/str.h"

struct tr_store_tx;

#define TR_OAUTH2_ID_LEN 36

/* A token row. scope and authenticated_userid are owned (malloc) or NULL. */
struct tr_oauth2_token {
    int64_t seq;
    char id[TR_OAUTH2_ID_LEN + 1];
    char credential_id[TR_OAUTH2_ID_LEN + 1]; /* the application (oauth2_credentials id) */
    char api_id[TR_OAUTH2_ID_LEN + 1];        /* "" for a token valid on every api */
    char family[TR_OAUTH2_ID_LEN + 1];        /* the grant it descends from (revoked together) */
    char *scope;
    char *authenticated_userid;
    int64_t created_at;         /* ms since the epoch */
    int64_t expires_in;         /* seconds; 0 = never expires */
    int64_t refresh_expires_at; /* ms; 0 = never (meaningful only with has_refresh) */
    bool has_refresh;
    bool revoked; /* rotated away or revoked: the access token no longer works */
};

/* A code row. scope, authenticated_userid, redirect_uri and challenge are owned or NULL. */
struct tr_oauth2_code {
    char id[TR_OAUTH2_ID_LEN + 1];
    char credential_id[TR_OAUTH2_ID_LEN + 1];
    char api_id[TR_OAUTH2_ID_LEN + 1]; /* "" when not bound to an api */
    char family[TR_OAUTH2_ID_LEN + 1]; /* family of the token it produced; "" while unused */
    char *scope;
    char *authenticated_userid;
    char *redirect_uri; /* the one the authorize request named, or NULL when it named none */
    char *challenge;    /* PKCE S256 challenge, or NULL */
    int64_t created_at; /* ms */
    int64_t used_at;    /* ms; 0 while unused */
};

/* What a token or a code may hold, whoever writes it (the token and authorize endpoints, the
 * Admin API): scope and authenticated_userid are sent upstream as X-Authenticated-Scope and
 * X-Authenticated-Userid, so they must never carry a control byte.
 * A scope is scope-tokens of %x21 / %x23-5B / %x5D-7E separated by spaces (RFC 6749 §3.3);
 * tr_oauth2_scope_ok accepts runs of spaces (the endpoints normalise them to one). A userid is
 * 1 to TR_OAUTH2_USERID_MAX bytes of UTF-8 without control characters. */
#define TR_OAUTH2_USERID_MAX 255
bool tr_oauth2_scope_token_ok(struct tr_str token);
bool tr_oauth2_scope_ok(struct tr_str scope);
bool tr_oauth2_userid_ok(struct tr_str userid);

void tr_oauth2_token_clear(struct tr_oauth2_token *t);
void tr_oauth2_code_clear(struct tr_oauth2_code *c);

/* Insert t (id and family must be set; api_id "" for none) with the plaintext access token
 * and optional refresh token (their digests are stored). Returns 0, TR_ECONFLICT (a token or
 * refresh token already exists), TR_ENOTFOUND (the application or api is gone) or TR_EDB. */
int tr_oauth2_token_insert(struct tr_store_tx *tx, const struct tr_oauth2_token *t,
                           struct tr_str access_token, struct tr_str refresh_token);
/* Look a live (not revoked) token up by its plaintext access token. 0, TR_ENOTFOUND, TR_EDB. */
int tr_oauth2_token_by_access(struct tr_store_tx *tx, struct tr_str access_token,
                              struct tr_oauth2_token *out);
/* Any token row (revoked too) by its plaintext refresh token. */
int tr_oauth2_token_by_refresh(struct tr_store_tx *tx, struct tr_str refresh_token,
                               struct tr_oauth2_token *out);
int tr_oauth2_token_by_id(struct tr_store_tx *tx, const char *id, struct tr_oauth2_token *out);
/* Mark a token revoked (its access token dies; its refresh token is remembered so a reuse
 * is seen). When drop_refresh, the refresh digest is cleared too (it moves to a new row). */
int tr_oauth2_token_revoke(struct tr_store_tx *tx, const char *id, bool drop_refresh);
/* Change the fields the Admin API may change (credential_id, api_id, scope,
 * authenticated_userid, expires_in). 0, TR_ENOTFOUND, TR_EDB. */
int tr_oauth2_token_update(struct tr_store_tx *tx, const struct tr_oauth2_token *t);
/* Replace a live token's access token (unless access_token is empty) and, when set_refresh,
 * its refresh token (empty: none; a new one never expires, as one the Admin API creates).
 * Digests only, as at insert. 0, TR_ECONFLICT (another token holds that text), TR_ENOTFOUND,
 * TR_EDB. */
int tr_oauth2_token_set_texts(struct tr_store_tx *tx, const char *id, struct tr_str access_token,
                              bool set_refresh, struct tr_str refresh_token);
/* Delete one token; every token of a family. 0, TR_ENOTFOUND (one), TR_EDB. */
int tr_oauth2_token_delete(struct tr_store_tx *tx, const char *id);
int tr_oauth2_family_delete(struct tr_store_tx *tx, const char *family);
/* Live tokens in insertion order after seq after (0: from the start), at most size; *total
 * counts every live token. rows gets the Admin API shape (no token text). */
int tr_oauth2_token_list(struct tr_store_tx *tx, size_t size, int64_t after, json_t **rows,
                         size_t *total, int64_t *next);
/* The Admin API shape of a token (without the token texts). */
json_t *tr_oauth2_token_json(const struct tr_oauth2_token *t);

int tr_oauth2_code_insert(struct tr_store_tx *tx, const struct tr_oauth2_code *c,
                          struct tr_str code);
int tr_oauth2_code_by_code(struct tr_store_tx *tx, struct tr_str code, struct tr_oauth2_code *out);
/* Mark the code used by the grant family (atomic: fails with TR_ENOTFOUND when it was used
 * already). */
int tr_oauth2_code_consume(struct tr_store_tx *tx, const char *id, int64_t now, const char *family);

/* Delete rows that can no longer matter at now (ms): codes older than twice their lifetime,
 * tokens whose access and refresh tokens both expired. Returns rows deleted or TR_EDB. */
int tr_oauth2_purge(struct tr_store_tx *tx, int64_t now, int64_t code_ttl_ms);

/* How many tokens are live (as tr_oauth2_token_list counts them) and how many codes are stored
 * (issued and not purged yet, used ones included): what /status shows. 0 or TR_EDB. */
int tr_oauth2_count(struct tr_store_tx *tx, size_t *tokens, size_t *codes);

/* Wall clock in ms: what tokens and codes are dated with. */
int64_t tr_oauth2_now_ms(void);

/* A counter every worker's token cache compares with: bumped whenever a token stops working
 * before its expiry (revocation, rotation, a reused code or refresh token). */
uint64_t tr_oauth2_epoch(void);
void tr_oauth2_epoch_bump(void);

#endif
