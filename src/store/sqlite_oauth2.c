/* SPDX-License-Identifier: MIT */
/* OAuth 2.0 runtime rows in SQLite (see oauth2.h and backend.h), on a runtime session's
 * connection. Tables come from migration 7. Tokens, refresh tokens and codes arrive as
 * digests: only those are stored and compared. */
#include "store/sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/oauth2.h"

/* ---- statement helpers ------------------------------------------------------------------- */

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        tr_log_error("oauth2 store: %s", sqlite3_errmsg(db));
        return NULL;
    }
    return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s && s[0])
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void bind_hash(sqlite3_stmt *st, int i, const char *hex)
{
    if (hex == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, hex, -1, SQLITE_TRANSIENT);
}

static void col_copy(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    snprintf(out, cap, "%s", s ? s : "");
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? tr_xstrdup(s) : NULL;
}

/* Step a write statement to its end: 0, TR_ECONFLICT (unique), TR_ENOTFOUND (foreign key),
 * TR_EDB. */
static int step_write(sqlite3 *db, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    int ext = sqlite3_extended_errcode(db);
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return TR_ECONFLICT;
    if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
        return TR_ENOTFOUND;
    tr_log_error("oauth2 store: %s", sqlite3_errmsg(db));
    return TR_EDB;
}

/* ---- tokens -------------------------------------------------------------------------------- */

#define TOKEN_COLS                                                                                 \
    "seq, id, credential_id, api_id, family, scope, authenticated_userid, created_at,"             \
    " expires_in, refresh_expires_at, refresh_hash IS NOT NULL, revoked"

static void read_token(sqlite3_stmt *st, struct tr_oauth2_token *t)
{
    memset(t, 0, sizeof(*t));
    t->seq = sqlite3_column_int64(st, 0);
    col_copy(st, 1, t->id, sizeof(t->id));
    col_copy(st, 2, t->credential_id, sizeof(t->credential_id));
    col_copy(st, 3, t->api_id, sizeof(t->api_id));
    col_copy(st, 4, t->family, sizeof(t->family));
    t->scope = col_dup(st, 5);
    t->authenticated_userid = col_dup(st, 6);
    t->created_at = sqlite3_column_int64(st, 7);
    t->expires_in = sqlite3_column_int64(st, 8);
    t->refresh_expires_at = sqlite3_column_int64(st, 9);
    t->has_refresh = sqlite3_column_int(st, 10) != 0;
    t->revoked = sqlite3_column_int(st, 11) != 0;
}

int tr__sqlite_token_insert(struct tr_store_tx *tx, const struct tr_oauth2_token *t,
                            const char *access_hash, const char *refresh_hash)
{
    sqlite3 *db = tr__sqlite_tx_db(tx);
    sqlite3_stmt *st = prepare(db, "INSERT INTO oauth2_tokens (id, credential_id, api_id, family,"
                                   " scope, authenticated_userid, created_at, expires_in,"
                                   " refresh_expires_at, access_hash, refresh_hash, revoked)"
                                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)");
    if (st == NULL)
        return TR_EDB;
    bind_text(st, 1, t->id);
    bind_text(st, 2, t->credential_id);
    bind_text(st, 3, t->api_id);
    bind_text(st, 4, t->family);
    bind_text(st, 5, t->scope);
    bind_text(st, 6, t->authenticated_userid);
    sqlite3_bind_int64(st, 7, t->created_at);
    sqlite3_bind_int64(st, 8, t->expires_in);
    sqlite3_bind_int64(st, 9, t->refresh_expires_at);
    bind_hash(st, 10, access_hash);
    bind_hash(st, 11, refresh_hash);
    int rc = step_write(db, st);
    sqlite3_finalize(st);
    return rc;
}

static int token_by(struct tr_store_tx *tx, const char *sql, const char *key,
                    struct tr_oauth2_token *out)
{
    sqlite3 *db = tr__sqlite_tx_db(tx);
    sqlite3_stmt *st = prepare(db, sql);
    if (st == NULL)
        return TR_EDB;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int ret = TR_ENOTFOUND;
    if (rc == SQLITE_ROW) {
        read_token(st, out);
        ret = 0;
    } else if (rc != SQLITE_DONE) {
        tr_log_error("oauth2 store: %s", sqlite3_errmsg(db));
        ret = TR_EDB;
    }
    sqlite3_finalize(st);
    return ret;
}

int tr__sqlite_token_by_access(struct tr_store_tx *tx, const char *access_hash,
                               struct tr_oauth2_token *out)
{
    return token_by(
        tx, "SELECT " TOKEN_COLS " FROM oauth2_tokens WHERE access_hash = ? AND revoked = 0",
        access_hash, out);
}

int tr__sqlite_token_by_refresh(struct tr_store_tx *tx, const char *refresh_hash,
                                struct tr_oauth2_token *out)
{
    return token_by(tx, "SELECT " TOKEN_COLS " FROM oauth2_tokens WHERE refresh_hash = ?",
                    refresh_hash, out);
}

int tr__sqlite_token_by_id(struct tr_store_tx *tx, const char *id, struct tr_oauth2_token *out)
{
    return token_by(tx, "SELECT " TOKEN_COLS " FROM oauth2_tokens WHERE id = ? AND revoked = 0", id,
                    out);
}

static int changes_or_notfound(sqlite3 *db, int rc)
{
    if (rc == 0 && sqlite3_changes(db) == 0)
        return TR_ENOTFOUND;
    return rc;
}

int tr__sqlite_token_revoke(struct tr_store_tx *tx, const char *id, bool drop_refresh)
{
    sqlite3 *db = tr__sqlite_tx_db(tx);
    sqlite3_stmt *st = prepare(db, drop_refresh ? "UPDATE oauth2_tokens SET revoked = 1,"
                                                  " refresh_hash = NULL WHERE id = ?"
                                                : "UPDATE oauth2_tokens SET revoked = 1"
                                                  " WHERE id = ?");
    if (st == NULL)
        return TR_EDB;
    bind_text(st, 1, id);
    int rc = changes_or_notfound(db, step_write(db, st));
    sqlite3_finalize(st);
    return rc;
}

int tr__sqlite_token_update(struct tr_store_tx *tx, const struct tr_oauth2_token *t)
{
    sqlite3 *db = tr__sqlite_tx_db(tx);
    sqlite3_stmt *st = prepare(db, "UPDATE oauth2_tokens SET credential_id = ?, api_id = ?,"
                                   " scope = ?, authenticated_userid = ?, expires_in = ?"
                                   " WHERE id = ? AND revoked = 0");
    if (st == NULL)
        return TR_EDB;
    bind_text(st, 1, t->credential_id);
    bind_text(st, 2, t->api_id);
    bind_text(st, 3, t->scope);
    bind_text(st, 4, t->authenticated_userid);
    sqlite3_bind_int64(st, 5, t->expires_in);
    bind_text(st, 6, t->id);
    int rc = changes_or_notfound(db, step_write(db, st));
    sqlite3_finalize(st);
    return rc;
}

int tr__sqlite_token_set_hashes(struct tr_store_tx *tx, const char *id, const char *access_hash,
                                bool set_refresh, const char *refresh_hash)
{
    sqlite3 *db = tr__sqlite_tx_db(tx);
    sqlite3_stmt *st =
        prepare(db, "UPDATE oauth2_tokens SET access_hash = coalesce(?1, access_hash),"
                    " refresh_hash = CASE WHEN ?2 THEN ?3 ELSE refresh_hash END,"
                    " refresh_expires_at = CASE WHEN ?2 THEN 0"
                    " ELSE refresh_expires_at END"
                    " WHERE id = ?4 AND revoked = 0");
    if (st == NULL)
        return TR_EDB;
    bind_hash(st, 1, access_hash);
    sqlite3_bind_int(st, 2, set_refresh ? 1 : 0);
    bind_hash(st, 3, refresh_hash);
    bind_text(st, 4, id);
    int rc = changes_or_notfound(db, step_write(db, st));
    sqlite3_finalize(st);
    return rc;
}

static int delete_where(sqlite3 *db, const char *sql, const char *value)
{
    sqlite3_stmt *st = prepare(db, sql);
    if (st == NULL)
        return TR_EDB;
    bind_text(st, 1, value);
    int rc = changes_or_notfound(db, step_write(db, st));
    sqlite3_finalize(st);
    return rc;
}

int tr__sqlite_token_delete(struct tr_store_tx *tx, const char *id)
{
    return delete_where(tr__sqlite_tx_db(tx), "DELETE FROM oauth2_tokens WHERE id = ?", id);
}

int tr__sqlite_family_delete(struct tr_store_tx *tx, const char *family)
{
    int rc =
        delete_where(tr__sqlite_tx_db(tx), "DELETE FROM oauth2_tokens WHERE family = ?", family);
    return rc == TR_ENOTFOUND ? 0 : rc;
}

int tr__sqlite_token_list(struct tr_store_tx *tx, size_t size, int64_t after, json_t **rows,
                          size_t *total, int64_t *next)
{
    sqlite3 *db = tr__sqlite_tx_db(tx);
    *rows = NULL;
    *next = 0;
    sqlite3_stmt *st = prepare(db, "SELECT count(*) FROM oauth2_tokens WHERE revoked = 0");
    if (st == NULL)
        return TR_EDB;
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return TR_EDB;
    }
    *total = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = prepare(db, "SELECT " TOKEN_COLS " FROM oauth2_tokens WHERE revoked = 0 AND seq > ?"
                     " ORDER BY seq LIMIT ?");
    if (st == NULL)
        return TR_EDB;
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)size + 1);
    json_t *arr = json_array();
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct tr_oauth2_token t;
        read_token(st, &t);
        if (n == size) {
            tr_oauth2_token_clear(&t);
            break;
        }
        json_array_append_new(arr, tr_oauth2_token_json(&t));
        *next = t.seq;
        n++;
        tr_oauth2_token_clear(&t);
    }
    bool more = rc == SQLITE_ROW;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        json_decref(arr);
        return TR_EDB;
    }
    if (!more)
        *next = 0;
    *rows = arr;
    return 0;
}

/* ---- codes --------------------------------------------------------------------------------- */

int tr__sqlite_code_insert(struct tr_store_tx *tx, const struct tr_oauth2_code *c,
                           const char *code_hash)
{
    sqlite3 *db = tr__sqlite_tx_db(tx);
    sqlite3_stmt *st = prepare(db, "INSERT INTO oauth2_authorization_codes (id, code_hash,"
                                   " credential_id, api_id, scope, authenticated_userid,"
                                   " redirect_uri, challenge, created_at)"
                                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (st == NULL)
        return TR_EDB;
    bind_text(st, 1, c->id);
    bind_hash(st, 2, code_hash);
    bind_text(st, 3, c->credential_id);
    bind_text(st, 4, c->api_id);
    bind_text(st, 5, c->scope);
    bind_text(st, 6, c->authenticated_userid);
    bind_text(st, 7, c->redirect_uri);
    bind_text(st, 8, c->challenge);
    sqlite3_bind_int64(st, 9, c->created_at);
    int rc = step_write(db, st);
    sqlite3_finalize(st);
    return rc;
}

int tr__sqlite_code_by_code(struct tr_store_tx *tx, const char *code_hash,
                            struct tr_oauth2_code *out)
{
    sqlite3 *db = tr__sqlite_tx_db(tx);
    sqlite3_stmt *st = prepare(db, "SELECT id, credential_id, api_id, family, scope,"
                                   " authenticated_userid, redirect_uri, challenge, created_at,"
                                   " used_at FROM oauth2_authorization_codes WHERE code_hash = ?");
    if (st == NULL)
        return TR_EDB;
    bind_hash(st, 1, code_hash);
    int rc = sqlite3_step(st);
    int ret = TR_ENOTFOUND;
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof(*out));
        col_copy(st, 0, out->id, sizeof(out->id));
        col_copy(st, 1, out->credential_id, sizeof(out->credential_id));
        col_copy(st, 2, out->api_id, sizeof(out->api_id));
        col_copy(st, 3, out->family, sizeof(out->family));
        out->scope = col_dup(st, 4);
        out->authenticated_userid = col_dup(st, 5);
        out->redirect_uri = col_dup(st, 6);
        out->challenge = col_dup(st, 7);
        out->created_at = sqlite3_column_int64(st, 8);
        out->used_at = sqlite3_column_int64(st, 9);
        ret = 0;
    } else if (rc != SQLITE_DONE) {
        tr_log_error("oauth2 store: %s", sqlite3_errmsg(db));
        ret = TR_EDB;
    }
    sqlite3_finalize(st);
    return ret;
}

int tr__sqlite_code_consume(struct tr_store_tx *tx, const char *id, int64_t now, const char *family)
{
    sqlite3 *db = tr__sqlite_tx_db(tx);
    sqlite3_stmt *st = prepare(db, "UPDATE oauth2_authorization_codes SET used_at = ?,"
                                   " family = ? WHERE id = ? AND used_at IS NULL");
    if (st == NULL)
        return TR_EDB;
    sqlite3_bind_int64(st, 1, now);
    bind_text(st, 2, family);
    bind_text(st, 3, id);
    int rc = changes_or_notfound(db, step_write(db, st));
    sqlite3_finalize(st);
    return rc;
}

int tr__sqlite_oauth2_count(struct tr_store_tx *tx, size_t *tokens, size_t *codes)
{
    sqlite3 *db = tr__sqlite_tx_db(tx);
    sqlite3_stmt *st = prepare(db, "SELECT (SELECT count(*) FROM oauth2_tokens WHERE revoked = 0),"
                                   " (SELECT count(*) FROM oauth2_authorization_codes)");
    if (st == NULL)
        return TR_EDB;
    int rc = TR_EDB;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *tokens = (size_t)sqlite3_column_int64(st, 0);
        *codes = (size_t)sqlite3_column_int64(st, 1);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

int tr__sqlite_oauth2_purge(struct tr_store_tx *tx, int64_t now, int64_t code_ttl_ms)
{
    sqlite3 *db = tr__sqlite_tx_db(tx);
    sqlite3_stmt *st = prepare(db, "DELETE FROM oauth2_authorization_codes WHERE created_at < ?");
    if (st == NULL)
        return TR_EDB;
    sqlite3_bind_int64(st, 1, now - 2 * code_ttl_ms);
    int rc = step_write(db, st);
    int n = sqlite3_changes(db);
    sqlite3_finalize(st);
    if (rc != 0)
        return rc;
    /* Dead: the access token expired (or was revoked) and there is no live refresh token. */
    st = prepare(db, "DELETE FROM oauth2_tokens WHERE"
                     " (revoked = 1 OR (expires_in > 0 AND created_at + expires_in * 1000 < ?1))"
                     " AND (refresh_hash IS NULL OR"
                     " (refresh_expires_at > 0 AND refresh_expires_at < ?1))");
    if (st == NULL)
        return TR_EDB;
    sqlite3_bind_int64(st, 1, now);
    rc = step_write(db, st);
    n += sqlite3_changes(db);
    sqlite3_finalize(st);
    return rc != 0 ? rc : n;
}
