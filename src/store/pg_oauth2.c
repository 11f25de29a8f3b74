/* SPDX-License-Identifier: MIT */
/* OAuth 2.0 runtime rows in PostgreSQL (see oauth2.h and backend.h), on a runtime session's
 * connection: the port of sqlite_oauth2.c, statement for statement, with the same answers.
 * Tables come from migration 7. Tokens, refresh tokens and codes arrive as digests: only those
 * are stored and compared. Every value travels as a text parameter of PQexecParams and every
 * result comes back as text. */
#include "store/pg.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/oauth2.h"

/* ---- parameter and column helpers ---------------------------------------------------------- */

/* Room for any int64_t in decimal, sign and NUL included. */
#define INT_TEXT 24

/* As the SQLite port's bind_text: an empty string is stored as NULL (api_id "" means no api,
 * and the foreign key must not look for an api called ""). */
static const char *text_param(const char *s)
{
    return s && s[0] ? s : NULL;
}

static const char *int_param(char *buf, int64_t v)
{
    snprintf(buf, INT_TEXT, "%" PRId64, v);
    return buf;
}

/* A BIGINT/INTEGER column; NULL reads as 0, as sqlite3_column_int64 reads it (used_at of an
 * unused code). */
static int64_t col_int(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return 0;
    return (int64_t)strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static void col_copy(const PGresult *res, int row, int col, char *out, size_t cap)
{
    snprintf(out, cap, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

static char *col_dup(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : tr_xstrdup(PQgetvalue(res, row, col));
}

/* A read: its result, or NULL (logged with what) when it failed. */
static PGresult *read_rows(PGconn *conn, const char *sql, int n, const char *const *values,
                           const char *what)
{
    PGresult *res = tr__pg_query(conn, sql, n, values);
    if (!tr__pg_ok(res, conn, what)) {
        PQclear(res);
        return NULL;
    }
    return res;
}

/* Run a write statement to its end: 0, TR_ECONFLICT (unique), TR_ENOTFOUND (foreign key),
 * TR_EDB. A constraint violation is an answer, not a fault, so only the rest is logged. When
 * changed is not NULL it gets the rows touched (PQcmdTuples: what sqlite3_changes() gave). */
static int write_rows(PGconn *conn, const char *sql, int n, const char *const *values,
                      const char *what, int64_t *changed)
{
    PGresult *res = tr__pg_query(conn, sql, n, values);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (changed)
            *changed = (int64_t)strtoll(PQcmdTuples(res), NULL, 10);
    } else {
        const char *state = res ? tr__pg_state(res) : "";
        if (strcmp(state, "23505") == 0) {
            rc = TR_ECONFLICT;
        } else if (strcmp(state, "23503") == 0) {
            rc = TR_ENOTFOUND;
        } else {
            tr__pg_ok(res, conn, what);
            rc = TR_EDB;
        }
    }
    PQclear(res);
    return rc;
}

/* An UPDATE or DELETE of one row: TR_ENOTFOUND when it touched none. */
static int write_one(PGconn *conn, const char *sql, int n, const char *const *values,
                     const char *what)
{
    int64_t changed = 0;
    int rc = write_rows(conn, sql, n, values, what, &changed);
    if (rc == 0 && changed == 0)
        return TR_ENOTFOUND;
    return rc;
}

/* ---- tokens -------------------------------------------------------------------------------- */

/* has_refresh is cast to an integer so it reads as every other number (a boolean comes back
 * as "t" or "f"). */
#define TOKEN_COLS                                                                                 \
    "seq, id, credential_id, api_id, family, scope, authenticated_userid, created_at,"             \
    " expires_in, refresh_expires_at, (refresh_hash IS NOT NULL)::integer, revoked"

static void read_token(const PGresult *res, int row, struct tr_oauth2_token *t)
{
    memset(t, 0, sizeof(*t));
    t->seq = col_int(res, row, 0);
    col_copy(res, row, 1, t->id, sizeof(t->id));
    col_copy(res, row, 2, t->credential_id, sizeof(t->credential_id));
    col_copy(res, row, 3, t->api_id, sizeof(t->api_id));
    col_copy(res, row, 4, t->family, sizeof(t->family));
    t->scope = col_dup(res, row, 5);
    t->authenticated_userid = col_dup(res, row, 6);
    t->created_at = col_int(res, row, 7);
    t->expires_in = col_int(res, row, 8);
    t->refresh_expires_at = col_int(res, row, 9);
    t->has_refresh = col_int(res, row, 10) != 0;
    t->revoked = col_int(res, row, 11) != 0;
}

int tr__pg_token_insert(struct tr_store_tx *tx, const struct tr_oauth2_token *t,
                        const char *access_hash, const char *refresh_hash)
{
    char created[INT_TEXT], expires[INT_TEXT], refresh_exp[INT_TEXT];
    const char *v[11] = {
        text_param(t->id),
        text_param(t->credential_id),
        text_param(t->api_id),
        text_param(t->family),
        text_param(t->scope),
        text_param(t->authenticated_userid),
        int_param(created, t->created_at),
        int_param(expires, t->expires_in),
        int_param(refresh_exp, t->refresh_expires_at),
        access_hash,
        refresh_hash,
    };
    return write_rows(tr__pg_tx_conn(tx),
                      "INSERT INTO oauth2_tokens (id, credential_id, api_id, family, scope,"
                      " authenticated_userid, created_at, expires_in, refresh_expires_at,"
                      " access_hash, refresh_hash, revoked)"
                      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0)",
                      11, v, "oauth2 store: insert token", NULL);
}

/* The one token whose column matches key (each key column is unique): 0, TR_ENOTFOUND,
 * TR_EDB. */
static int token_by(struct tr_store_tx *tx, const char *sql, const char *key,
                    struct tr_oauth2_token *out)
{
    const char *v[1] = {key};
    PGresult *res = read_rows(tr__pg_tx_conn(tx), sql, 1, v, "oauth2 store: read token");
    if (res == NULL)
        return TR_EDB;
    int ret = TR_ENOTFOUND;
    if (PQntuples(res) > 0) {
        read_token(res, 0, out);
        ret = 0;
    }
    PQclear(res);
    return ret;
}

int tr__pg_token_by_access(struct tr_store_tx *tx, const char *access_hash,
                           struct tr_oauth2_token *out)
{
    return token_by(
        tx, "SELECT " TOKEN_COLS " FROM oauth2_tokens WHERE access_hash = $1 AND revoked = 0",
        access_hash, out);
}

int tr__pg_token_by_refresh(struct tr_store_tx *tx, const char *refresh_hash,
                            struct tr_oauth2_token *out)
{
    return token_by(tx, "SELECT " TOKEN_COLS " FROM oauth2_tokens WHERE refresh_hash = $1",
                    refresh_hash, out);
}

int tr__pg_token_by_id(struct tr_store_tx *tx, const char *id, struct tr_oauth2_token *out)
{
    return token_by(tx, "SELECT " TOKEN_COLS " FROM oauth2_tokens WHERE id = $1 AND revoked = 0",
                    id, out);
}

int tr__pg_token_revoke(struct tr_store_tx *tx, const char *id, bool drop_refresh)
{
    const char *v[1] = {text_param(id)};
    return write_one(tr__pg_tx_conn(tx),
                     drop_refresh ? "UPDATE oauth2_tokens SET revoked = 1,"
                                    " refresh_hash = NULL WHERE id = $1"
                                  : "UPDATE oauth2_tokens SET revoked = 1 WHERE id = $1",
                     1, v, "oauth2 store: revoke token");
}

int tr__pg_token_update(struct tr_store_tx *tx, const struct tr_oauth2_token *t)
{
    char expires[INT_TEXT];
    const char *v[6] = {
        text_param(t->credential_id),
        text_param(t->api_id),
        text_param(t->scope),
        text_param(t->authenticated_userid),
        int_param(expires, t->expires_in),
        text_param(t->id),
    };
    return write_one(tr__pg_tx_conn(tx),
                     "UPDATE oauth2_tokens SET credential_id = $1, api_id = $2, scope = $3,"
                     " authenticated_userid = $4, expires_in = $5"
                     " WHERE id = $6 AND revoked = 0",
                     6, v, "oauth2 store: update token");
}

int tr__pg_token_set_hashes(struct tr_store_tx *tx, const char *id, const char *access_hash,
                            bool set_refresh, const char *refresh_hash)
{
    /* SQLite takes ?2 as a number in a condition; PostgreSQL wants a type for every parameter
     * before it plans, so the casts name them ($2 is used twice: one type for both). */
    const char *v[4] = {access_hash, set_refresh ? "true" : "false", refresh_hash, text_param(id)};
    return write_one(tr__pg_tx_conn(tx),
                     "UPDATE oauth2_tokens SET access_hash = coalesce($1::text, access_hash),"
                     " refresh_hash = CASE WHEN $2::boolean THEN $3::text ELSE refresh_hash END,"
                     " refresh_expires_at = CASE WHEN $2::boolean THEN 0"
                     " ELSE refresh_expires_at END"
                     " WHERE id = $4 AND revoked = 0",
                     4, v, "oauth2 store: set token texts");
}

int tr__pg_token_delete(struct tr_store_tx *tx, const char *id)
{
    const char *v[1] = {text_param(id)};
    return write_one(tr__pg_tx_conn(tx), "DELETE FROM oauth2_tokens WHERE id = $1", 1, v,
                     "oauth2 store: delete token");
}

int tr__pg_family_delete(struct tr_store_tx *tx, const char *family)
{
    /* Only deleting one token can miss (the contract): an empty family is 0, as in SQLite. */
    const char *v[1] = {text_param(family)};
    return write_rows(tr__pg_tx_conn(tx), "DELETE FROM oauth2_tokens WHERE family = $1", 1, v,
                      "oauth2 store: delete token family", NULL);
}

int tr__pg_token_list(struct tr_store_tx *tx, size_t size, int64_t after, json_t **rows,
                      size_t *total, int64_t *next)
{
    PGconn *conn = tr__pg_tx_conn(tx);
    *rows = NULL;
    *next = 0;
    PGresult *res = read_rows(conn, "SELECT count(*) FROM oauth2_tokens WHERE revoked = 0", 0, NULL,
                              "oauth2 store: count tokens");
    if (res == NULL)
        return TR_EDB;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return TR_EDB;
    }
    *total = (size_t)col_int(res, 0, 0);
    PQclear(res);

    /* One row more than asked for says whether a next page exists. */
    char after_text[INT_TEXT], limit_text[INT_TEXT];
    int64_t limit = size < (size_t)INT64_MAX ? (int64_t)size + 1 : INT64_MAX;
    const char *v[2] = {int_param(after_text, after), int_param(limit_text, limit)};
    res = read_rows(conn,
                    "SELECT " TOKEN_COLS " FROM oauth2_tokens WHERE revoked = 0 AND seq > $1"
                    " ORDER BY seq LIMIT $2",
                    2, v, "oauth2 store: list tokens");
    if (res == NULL)
        return TR_EDB;
    int got = PQntuples(res);
    json_t *arr = json_array();
    for (int i = 0; i < got && (size_t)i < size; i++) {
        struct tr_oauth2_token t;
        read_token(res, i, &t);
        json_array_append_new(arr, tr_oauth2_token_json(&t));
        *next = t.seq;
        tr_oauth2_token_clear(&t);
    }
    PQclear(res);
    if ((size_t)got <= size)
        *next = 0;
    *rows = arr;
    return 0;
}

/* ---- codes --------------------------------------------------------------------------------- */

int tr__pg_code_insert(struct tr_store_tx *tx, const struct tr_oauth2_code *c,
                       const char *code_hash)
{
    char created[INT_TEXT];
    const char *v[9] = {
        text_param(c->id),
        code_hash,
        text_param(c->credential_id),
        text_param(c->api_id),
        text_param(c->scope),
        text_param(c->authenticated_userid),
        text_param(c->redirect_uri),
        text_param(c->challenge),
        int_param(created, c->created_at),
    };
    return write_rows(tr__pg_tx_conn(tx),
                      "INSERT INTO oauth2_authorization_codes (id, code_hash, credential_id,"
                      " api_id, scope, authenticated_userid, redirect_uri, challenge, created_at)"
                      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                      9, v, "oauth2 store: insert code", NULL);
}

int tr__pg_code_by_code(struct tr_store_tx *tx, const char *code_hash, struct tr_oauth2_code *out)
{
    const char *v[1] = {code_hash};
    PGresult *res =
        read_rows(tr__pg_tx_conn(tx),
                  "SELECT id, credential_id, api_id, family, scope, authenticated_userid,"
                  " redirect_uri, challenge, created_at, used_at"
                  " FROM oauth2_authorization_codes WHERE code_hash = $1",
                  1, v, "oauth2 store: read code");
    if (res == NULL)
        return TR_EDB;
    int ret = TR_ENOTFOUND;
    if (PQntuples(res) > 0) {
        memset(out, 0, sizeof(*out));
        col_copy(res, 0, 0, out->id, sizeof(out->id));
        col_copy(res, 0, 1, out->credential_id, sizeof(out->credential_id));
        col_copy(res, 0, 2, out->api_id, sizeof(out->api_id));
        col_copy(res, 0, 3, out->family, sizeof(out->family));
        out->scope = col_dup(res, 0, 4);
        out->authenticated_userid = col_dup(res, 0, 5);
        out->redirect_uri = col_dup(res, 0, 6);
        out->challenge = col_dup(res, 0, 7);
        out->created_at = col_int(res, 0, 8);
        out->used_at = col_int(res, 0, 9);
        ret = 0;
    }
    PQclear(res);
    return ret;
}

int tr__pg_code_consume(struct tr_store_tx *tx, const char *id, int64_t now, const char *family)
{
    /* `used_at IS NULL` in the WHERE makes the consumption atomic: of two requests racing with
     * one code, the row lock lets one update it and the other then sees it used. */
    char now_text[INT_TEXT];
    const char *v[3] = {int_param(now_text, now), text_param(family), text_param(id)};
    return write_one(tr__pg_tx_conn(tx),
                     "UPDATE oauth2_authorization_codes SET used_at = $1, family = $2"
                     " WHERE id = $3 AND used_at IS NULL",
                     3, v, "oauth2 store: consume code");
}

int tr__pg_oauth2_count(struct tr_store_tx *tx, size_t *tokens, size_t *codes)
{
    PGresult *res = read_rows(tr__pg_tx_conn(tx),
                              "SELECT (SELECT count(*) FROM oauth2_tokens WHERE revoked = 0),"
                              " (SELECT count(*) FROM oauth2_authorization_codes)",
                              0, NULL, "oauth2 store: count rows");
    if (res == NULL)
        return TR_EDB;
    int rc = TR_EDB;
    if (PQntuples(res) == 1) {
        *tokens = (size_t)col_int(res, 0, 0);
        *codes = (size_t)col_int(res, 0, 1);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

int tr__pg_oauth2_purge(struct tr_store_tx *tx, int64_t now, int64_t code_ttl_ms)
{
    PGconn *conn = tr__pg_tx_conn(tx);
    char before[INT_TEXT], now_text[INT_TEXT];
    const char *v1[1] = {int_param(before, now - 2 * code_ttl_ms)};
    int64_t codes = 0, tokens = 0;
    int rc = write_rows(conn, "DELETE FROM oauth2_authorization_codes WHERE created_at < $1", 1, v1,
                        "oauth2 store: purge codes", &codes);
    if (rc != 0)
        return rc;
    /* Dead: the access token expired (or was revoked) and there is no live refresh token. */
    const char *v2[1] = {int_param(now_text, now)};
    rc = write_rows(conn,
                    "DELETE FROM oauth2_tokens WHERE"
                    " (revoked = 1 OR (expires_in > 0 AND created_at + expires_in * 1000 < $1))"
                    " AND (refresh_hash IS NULL OR"
                    " (refresh_expires_at > 0 AND refresh_expires_at < $1))",
                    1, v2, "oauth2 store: purge tokens", &tokens);
    if (rc != 0)
        return rc;
    /* A count past INT_MAX must not wrap into something that reads as a TR_E* code. */
    int64_t n = codes + tokens;
    return n > INT_MAX ? INT_MAX : (int)n;
}
