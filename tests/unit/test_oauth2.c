/* SPDX-License-Identifier: MIT */
/* OAuth 2.0 building blocks: form pairs and decoding, random tokens (shape and uniqueness),
 * the PKCE S256 transform (RFC 7636 appendix B), the constant-time comparison (a dudect-style
 * Welch t-test, I-10), the token and code rows of the runtime store on a real SQLite file, and
 * the application kind's rule that a public client has no secret. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "core/err.h"
#include "core/secret.h"
#include "http/form.h"
#include "plugins/oauth2.h"
#include "plugins/plugin.h"
#include "plugins/registry.h"
#include "store/oauth2.h"
#include "store/runtime.h"
#include "store/sqlite.h"
#include "store/store.h"

static void test_form(void)
{
    struct tr_str rest = TR_STR_LIT("a=1&&b&c=x%20y+z&=v&d=%zz%4"), k, v;
    const char *keys[] = {"a", "b", "c", "", "d"};
    const char *vals[] = {"1", "", "x y z", "v", "%zz%4"};
    int n = 0;
    char buf[32];
    while (tr_form_next(&rest, &k, &v)) {
        TR_CHECK(n < 5);
        if (n >= 5)
            break;
        TR_CHECK_SLICE(k, keys[n]);
        size_t l = tr_form_decode(v, buf);
        TR_CHECK_SLICE(((struct tr_str){buf, l}), vals[n]);
        n++;
    }
    TR_CHECK_INT(n, 5);
    TR_CHECK(tr_form_is_urlencoded(TR_STR_LIT("application/x-www-form-urlencoded")));
    TR_CHECK(
        tr_form_is_urlencoded(TR_STR_LIT(" Application/X-WWW-Form-Urlencoded ; charset=utf-8")));
    TR_CHECK(!tr_form_is_urlencoded(TR_STR_LIT("application/json")));
    TR_CHECK(!tr_form_is_urlencoded(TR_STR_LIT("application/x-www-form-urlencodedx")));
}

static void test_tokens(void)
{
    char a[TR_SECRET_TOKEN_LEN + 1], b[TR_SECRET_TOKEN_LEN + 1];
    TR_CHECK_INT(tr_secret_token(a), 0);
    TR_CHECK_INT(tr_secret_token(b), 0);
    TR_CHECK_INT(strlen(a), 43);
    TR_CHECK(strcmp(a, b) != 0);
    TR_CHECK_INT(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    char hex[33];
    TR_CHECK_INT(tr_secret_hex(hex, 16), 0);
    TR_CHECK_INT(strspn(hex, "0123456789abcdef"), 32);
    /* RFC 7636 appendix B. */
    char s256[TR_SECRET_TOKEN_LEN + 1];
    tr_secret_sha256_b64url(TR_STR_LIT("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), s256);
    TR_CHECK_STR(s256, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    char d[TR_SECRET_HEX_LEN + 1];
    tr_secret_sha256_hex(TR_STR_LIT("abc"), d);
    TR_CHECK_STR(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    TR_CHECK(tr_secret_equal(TR_STR_LIT("same"), TR_STR_LIT("same")));
    TR_CHECK(!tr_secret_equal(TR_STR_LIT("same"), TR_STR_LIT("samf")));
    TR_CHECK(!tr_secret_equal(TR_STR_LIT("same"), TR_STR_LIT("sam")));
    TR_CHECK(!tr_secret_equal(TR_STR_LIT(""), TR_STR_LIT("x")));
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* dudect: time the compare of a fixed secret with (class 0) an input sharing all but its last
 * byte and (class 1) random inputs, in random order; drop the slowest 10% (interrupts); Welch's
 * t on what is left must stay under 4.5. */
static void test_constant_time(void)
{
    enum { N = 1000000, LEN = 43 };
    static uint64_t t[N];
    static unsigned char cls[N];
    char secret[LEN + 1], equalish[LEN + 1], rnd[LEN + 1];
    tr_secret_token(secret);
    memcpy(equalish, secret, sizeof(secret));
    equalish[LEN - 1] = equalish[LEN - 1] == 'A' ? 'B' : 'A';
    unsigned seed = 12345;
    for (size_t i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        cls[i] = (unsigned char)((seed >> 16) & 1);
        /* Both classes fill the same buffer the same way, so only its contents differ. */
        for (size_t j = 0; j < LEN; j++) {
            seed = seed * 1103515245u + 12345u;
            unsigned char mask = (unsigned char)(0u - cls[i]); /* no branch on the class */
            unsigned char r = (unsigned char)('A' + ((seed >> 16) % 26));
            rnd[j] = (char)((r & mask) | ((unsigned char)equalish[j] & (unsigned char)~mask));
        }
        rnd[LEN] = '\0';
        const char *in = rnd;
        uint64_t a = now_ns();
        bool eq = tr_secret_equal((struct tr_str){secret, LEN}, (struct tr_str){in, LEN});
        uint64_t b = now_ns();
        t[i] = (b - a) * 2 + (eq ? 1 : 0); /* keep the result alive; the low bit is 0 */
    }
    uint64_t *sorted = malloc(sizeof(t));
    memcpy(sorted, t, sizeof(t));
    qsort(sorted, N, sizeof(*sorted), cmp_u64);
    uint64_t cut = sorted[(size_t)(N * 0.9)];
    free(sorted);
    double sum[2] = {0, 0}, sq[2] = {0, 0}, cnt[2] = {0, 0};
    for (size_t i = 0; i < N; i++) {
        if (t[i] > cut)
            continue;
        double x = (double)(t[i] / 2);
        sum[cls[i]] += x;
        sq[cls[i]] += x * x;
        cnt[cls[i]] += 1;
    }
    double m0 = sum[0] / cnt[0], m1 = sum[1] / cnt[1];
    double v0 = sq[0] / cnt[0] - m0 * m0, v1 = sq[1] / cnt[1] - m1 * m1;
    double tstat = (m0 - m1) / sqrt(v0 / cnt[0] + v1 / cnt[1] + 1e-12);
    printf("constant-time compare: Welch t = %.2f (means %.1f / %.1f ns)\n", tstat, m0, m1);
    TR_CHECK(fabs(tstat) < 4.5);
}

static void test_store_rows(void)
{
    char dir[] = "/tmp/torii-oauth2-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        TR_CHECK(0);
        return;
    }
    char path[256], err[256];
    snprintf(path, sizeof(path), "%s/t.db", dir);
    struct tr_store *st = NULL;
    TR_CHECK_INT(tr_store_open_sqlite(path, &st, err, sizeof(err)), 0);
    json_t *consumer = json_pack("{s:s,s:i,s:s}", "id", "11111111-1111-4111-8111-111111111111",
                                 "created_at", 1000, "username", "u");
    TR_CHECK_INT(tr_store_insert(st, "consumers", consumer, NULL), 0);
    json_t *app = json_pack(
        "{s:s,s:i,s:s,s:s,s:s}", "id", "22222222-2222-4222-8222-222222222222", "created_at", 1000,
        "consumer_id", "11111111-1111-4111-8111-111111111111", "client_id", "cid", "name", "app");
    TR_CHECK_INT(tr_store_insert(st, "oauth2_credentials", app, NULL), 0);
    /* SQLite: an in-memory database has no runtime sessions (each connection would have a
     * database of its own). */
    struct tr_store *mem = NULL;
    TR_CHECK_INT(tr_store_open_sqlite(":memory:", &mem, err, sizeof(err)), 0);
    TR_CHECK(tr_store_tx_acquire(mem) == NULL);
    tr_store_close(mem);
    TR_CHECK(tr_store_tx_acquire(NULL) == NULL);
    struct tr_store_tx *tx = tr_store_tx_acquire(st);
    TR_CHECK(tx != NULL);

    struct tr_oauth2_token t = {.created_at = 5000, .expires_in = 60, .refresh_expires_at = 9000};
    strcpy(t.id, "33333333-3333-4333-8333-333333333333");
    strcpy(t.credential_id, "22222222-2222-4222-8222-222222222222");
    strcpy(t.family, t.id);
    t.scope = "email";
    TR_CHECK_INT(tr_oauth2_token_insert(tx, &t, TR_STR_LIT("access-1"), TR_STR_LIT("refresh-1")),
                 0);
    TR_CHECK_INT(tr_oauth2_token_insert(tx, &t, TR_STR_LIT("access-1"), TR_STR_NULL), TR_ECONFLICT);
    struct tr_oauth2_token got;
    TR_CHECK_INT(tr_oauth2_token_by_access(tx, TR_STR_LIT("access-1"), &got), 0);
    TR_CHECK_STR(got.scope, "email");
    TR_CHECK(got.has_refresh && !got.revoked && got.api_id[0] == '\0');
    tr_oauth2_token_clear(&got);
    /* Only digests are stored (read with a connection of the test's own: SQLite). */
    sqlite3 *raw = NULL;
    sqlite3_stmt *q = NULL;
    TR_CHECK(sqlite3_open_v2(path, &raw, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_prepare_v2(raw,
                       "SELECT count(*) FROM oauth2_tokens WHERE access_hash = 'access-1'"
                       " OR refresh_hash = 'refresh-1'",
                       -1, &q, NULL);
    TR_CHECK(sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) == 0);
    sqlite3_finalize(q);
    sqlite3_close(raw);
    /* A transaction rolled back leaves nothing; a committed one stays. */
    struct tr_oauth2_token t2 = t;
    strcpy(t2.id, "55555555-5555-4555-8555-555555555555");
    TR_CHECK_INT(tr_store_tx_begin(tx), 0);
    TR_CHECK_INT(tr_oauth2_token_insert(tx, &t2, TR_STR_LIT("access-2"), TR_STR_NULL), 0);
    tr_store_tx_rollback(tx);
    TR_CHECK_INT(tr_oauth2_token_by_access(tx, TR_STR_LIT("access-2"), &got), TR_ENOTFOUND);
    TR_CHECK_INT(tr_store_tx_begin(tx), 0);
    TR_CHECK_INT(tr_oauth2_token_insert(tx, &t2, TR_STR_LIT("access-2"), TR_STR_NULL), 0);
    TR_CHECK_INT(tr_store_tx_commit(tx), 0);
    TR_CHECK_INT(tr_oauth2_token_by_access(tx, TR_STR_LIT("access-2"), &got), 0);
    tr_oauth2_token_clear(&got);
    TR_CHECK_INT(tr_oauth2_token_delete(tx, t2.id), 0);
    TR_CHECK_INT(tr_oauth2_token_delete(tx, t2.id), TR_ENOTFOUND);
    /* Revoked: the access token is gone, the refresh token still seen (reuse detection). */
    TR_CHECK_INT(tr_oauth2_token_revoke(tx, t.id, false), 0);
    TR_CHECK_INT(tr_oauth2_token_by_access(tx, TR_STR_LIT("access-1"), &got), TR_ENOTFOUND);
    TR_CHECK_INT(tr_oauth2_token_by_refresh(tx, TR_STR_LIT("refresh-1"), &got), 0);
    TR_CHECK(got.revoked);
    tr_oauth2_token_clear(&got);
    TR_CHECK_INT(tr_oauth2_family_delete(tx, t.id), 0);
    TR_CHECK_INT(tr_oauth2_token_by_refresh(tx, TR_STR_LIT("refresh-1"), &got), TR_ENOTFOUND);

    /* Codes are consumed once. */
    struct tr_oauth2_code c = {.created_at = 1000};
    strcpy(c.id, "44444444-4444-4444-8444-444444444444");
    strcpy(c.credential_id, t.credential_id);
    TR_CHECK_INT(tr_oauth2_code_insert(tx, &c, TR_STR_LIT("code-1")), 0);
    struct tr_oauth2_code gc;
    TR_CHECK_INT(tr_oauth2_code_by_code(tx, TR_STR_LIT("code-1"), &gc), 0);
    TR_CHECK_INT(gc.used_at, 0);
    tr_oauth2_code_clear(&gc);
    TR_CHECK_INT(tr_oauth2_code_consume(tx, c.id, 2000, "fam"), 0);
    TR_CHECK_INT(tr_oauth2_code_consume(tx, c.id, 2001, "fam"), TR_ENOTFOUND);
    TR_CHECK_INT(tr_oauth2_code_by_code(tx, TR_STR_LIT("code-1"), &gc), 0);
    TR_CHECK_STR(gc.family, "fam");
    tr_oauth2_code_clear(&gc);
    /* Purge drops the old code. */
    TR_CHECK(tr_oauth2_purge(tx, 1000000, 300000) >= 1);
    TR_CHECK_INT(tr_oauth2_code_by_code(tx, TR_STR_LIT("code-1"), &gc), TR_ENOTFOUND);

    uint64_t e = tr_oauth2_epoch();
    tr_oauth2_epoch_bump();
    TR_CHECK(tr_oauth2_epoch() == e + 1);

    tr_store_tx_release(tx);
    json_decref(consumer);
    json_decref(app);
    tr_store_close(st);
    char f[300];
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(f, sizeof(f), "%s%s", path, suffix[i]);
        unlink(f);
    }
    rmdir(dir);
}

/* What a token may hold (store/oauth2.h): RFC 6749 §3.3 scopes, printable bounded user ids. */
static void test_token_values(void)
{
    static const char *const good_scopes[] = {
        "email", "email profile", "a  b", " x ", "!#[]~", "https://api.example/read", ""};
    for (size_t i = 0; i < sizeof(good_scopes) / sizeof(good_scopes[0]); i++)
        TR_CHECK(tr_oauth2_scope_ok(tr_str_from_cstr(good_scopes[i])));
    static const struct tr_str bad_scopes[] = {
        TR_STR_LIT("email\r\nX: 1"), TR_STR_LIT("a\tb"),  TR_STR_LIT("a\"b"),
        TR_STR_LIT("a\\b"),          TR_STR_LIT("a\x7f"), TR_STR_LIT("caf\xc3\xa9"),
        TR_STR_LIT("a\0b"),          TR_STR_LIT("\n"),
    };
    for (size_t i = 0; i < sizeof(bad_scopes) / sizeof(bad_scopes[0]); i++)
        TR_CHECK(!tr_oauth2_scope_ok(bad_scopes[i]));
    TR_CHECK(tr_oauth2_scope_token_ok(TR_STR_LIT("email")));
    TR_CHECK(!tr_oauth2_scope_token_ok(TR_STR_LIT("")));
    TR_CHECK(!tr_oauth2_scope_token_ok(TR_STR_LIT("a b")));

    char longest[TR_OAUTH2_USERID_MAX + 1];
    memset(longest, 'u', sizeof(longest));
    TR_CHECK(tr_oauth2_userid_ok((struct tr_str){longest, TR_OAUTH2_USERID_MAX}));
    TR_CHECK(!tr_oauth2_userid_ok((struct tr_str){longest, TR_OAUTH2_USERID_MAX + 1}));
    TR_CHECK(tr_oauth2_userid_ok(TR_STR_LIT("Jos\xc3\xa9 Garc\xc3\xad"
                                            "a")));
    TR_CHECK(tr_oauth2_userid_ok(TR_STR_LIT("user@example.com")));
    static const struct tr_str bad_ids[] = {
        TR_STR_LIT(""),    TR_STR_LIT("u\r"),   TR_STR_LIT("u\nX"),     TR_STR_LIT("u\0"),
        TR_STR_LIT("u\t"), TR_STR_LIT("u\x7f"), TR_STR_LIT("\xff\xfe"), TR_STR_LIT("\xc3")};
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++)
        TR_CHECK(!tr_oauth2_userid_ok(bad_ids[i]));
}

/* check_input of the oauth2 application kind on (input, doc) JSON texts: its rc, the field it
 * names, and whether doc keeps a client_secret afterwards. */
static int public_rule(const char *input, const char *doc, const char **field, bool *kept)
{
    size_t index;
    const struct tr_plugin_credential *kind = &tr_plugin_find("oauth2", &index)->credentials[0];
    json_t *in = json_loads(input, 0, NULL), *d = json_loads(doc, 0, NULL);
    char err[128] = "";
    *field = NULL;
    int rc = kind->check_input(in, d, field, err, sizeof(err));
    *kept = json_object_get(d, "client_secret") != NULL;
    json_decref(in);
    json_decref(d);
    return rc;
}

static void test_public_clients(void)
{
    const char *field;
    bool kept;
    /* Confidential: whatever was given stays. */
    TR_CHECK_INT(public_rule("{\"client_secret\":\"s\"}",
                             "{\"client_type\":\"confidential\",\"client_secret\":\"s\"}", &field,
                             &kept),
                 0);
    TR_CHECK(kept);
    /* Public and given one: refused, naming the field. */
    TR_CHECK_INT(public_rule("{\"client_secret\":\"s\"}",
                             "{\"client_type\":\"public\",\"client_secret\":\"s\"}", &field, &kept),
                 TR_EINVAL);
    TR_CHECK_STR(field, "client_secret");
    TR_CHECK_INT(
        public_rule("{\"client_secret\":7}", "{\"client_type\":\"public\"}", &field, &kept),
        TR_EINVAL);
    /* Public, inherited or generated, or given blank / null: dropped. */
    static const char *const inputs[] = {"{}", "{\"client_secret\":\"\"}",
                                         "{\"client_secret\":\"  \"}", "{\"client_secret\":null}",
                                         "{\"name\":\"x\"}"};
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        TR_CHECK_INT(public_rule(inputs[i],
                                 "{\"client_type\":\"public\",\"client_secret\":\"old\"}", &field,
                                 &kept),
                     0);
        TR_CHECK(!kept);
    }
}

/* Where a token may be used: on a Kong 0.7 api anywhere (Kong 0.7 had no api on a token); on
 * Kong 3's model only on its service, or unbound where global_credentials is set. */
static void test_binding(void)
{
    const char *a = "11111111-1111-4111-8111-111111111111";
    const char *b = "22222222-2222-4222-8222-222222222222";
    TR_CHECK(tr_oauth2_binding_ok(a, b, true, false));
    TR_CHECK(tr_oauth2_binding_ok("", b, true, false));
    TR_CHECK(tr_oauth2_binding_ok(a, a, false, false));
    TR_CHECK(!tr_oauth2_binding_ok(a, b, false, false));
    TR_CHECK(!tr_oauth2_binding_ok(a, b, false, true));
    TR_CHECK(!tr_oauth2_binding_ok(a, NULL, false, true));
    TR_CHECK(!tr_oauth2_binding_ok("", b, false, false));
    TR_CHECK(tr_oauth2_binding_ok("", b, false, true));
}

int main(void)
{
    test_binding();
    test_token_values();
    test_form();
    test_public_clients();
    test_tokens();
    test_store_rows();
    test_constant_time();
    return TR_CHECK_DONE();
}
