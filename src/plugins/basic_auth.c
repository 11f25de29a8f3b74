/* SPDX-License-Identifier: MIT */
/* basic-auth: a consumer is identified by a username and password in Authorization (or
 * Proxy-Authorization) "Basic". Passwords are stored only as Argon2id PHC strings and verified
 * on the node's password-hash threads (tr_ctx_offload_hash); small per-worker tables remember
 * recent successes (so a valid client does not pay the hash on every request) and failures (so
 * a repeated wrong password does not either). Credentials: basicauth_credentials
 * (/consumers/{c}/basic-auth). */
#include "plugins/basic_auth.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/mem.h"
#include "plugins/auth.h"
#include "plugins/plugin.h"
#include "plugins/verify_cache.h"
#include "schema/schema.h"

#define ENTITY "basicauth_credentials"
#define WWW_AUTH "Basic realm=\"torii\"" /* the WWW-Authenticate value */

/* ---- pure parts (basic_auth.h) ---------------------------------------------------------- */

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64 (RFC 4648 §4); padding optional but, when present, correct. Returns the
 * decoded length, or -1. out needs at least in.len bytes. */
static long b64_decode(struct tr_str in, unsigned char *out, size_t out_len)
{
    size_t len = in.len;
    size_t pad = 0;
    while (len > 0 && in.ptr[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    if (len % 4 == 1 || (pad > 0 && (len + pad) % 4 != 0) || out_len < in.len)
        return -1;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(in.ptr[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* non-canonical trailing bits */
        return -1;
    return (long)n;
}

int tr_basic_auth_parse(struct tr_str value, char *buf, size_t buf_len, struct tr_str *user,
                        struct tr_str *pass)
{
    struct tr_str v = tr_str_trim(value);
    if (v.len < 6 || !tr_str_ieq(TR_STR_LIT("basic"), (struct tr_str){v.ptr, 5}) ||
        (v.ptr[5] != ' ' && v.ptr[5] != '\t'))
        return TR_EINVAL;
    struct tr_str b64 = tr_str_trim((struct tr_str){v.ptr + 6, v.len - 6});
    if (b64.len == 0)
        return TR_EINVAL;
    long n = b64_decode(b64, (unsigned char *)buf, buf_len);
    if (n <= 0)
        return TR_EINVAL;
    const char *colon = memchr(buf, ':', (size_t)n);
    if (colon == NULL || colon == buf)
        return TR_EINVAL;
    *user = (struct tr_str){buf, (size_t)(colon - buf)};
    *pass = (struct tr_str){colon + 1, (size_t)(buf + n - colon - 1)};
    return 0;
}

int tr_basic_auth_hash(const char *password, size_t len, char *out, size_t out_len)
{
    unsigned char salt[TR_BASIC_AUTH_SALT_LEN];
    if (RAND_bytes(salt, (int)sizeof(salt)) != 1)
        return TR_EINTERNAL;
    int rc = argon2id_hash_encoded(TR_BASIC_AUTH_T, TR_BASIC_AUTH_M_KIB, TR_BASIC_AUTH_P, password,
                                   len, salt, sizeof(salt), TR_BASIC_AUTH_HASH_LEN, out, out_len);
    OPENSSL_cleanse(salt, sizeof(salt));
    return rc == ARGON2_OK ? 0 : TR_EINTERNAL;
}

bool tr_basic_auth_is_phc(const char *s)
{
    return s != NULL && strncmp(s, "$argon2id$", 10) == 0;
}

bool tr_basic_auth_verify(const char *phc, const char *password, size_t len)
{
    if (!tr_basic_auth_is_phc(phc))
        return false;
    /* argon2_verify recomputes the hash and compares it in constant time. */
    return argon2id_verify(phc, password, len) == ARGON2_OK;
}

/* ---- config ---------------------------------------------------------------------------- */

/* Every member is bound to its row in conf_fields. */
struct basic_auth_conf {
    char *anonymous; /* owned; NULL when unset */
    bool hide_credentials;
};

static const struct tr_schema_field conf_fields[] = {
    TR_AUTH_COMMON_FIELDS(struct basic_auth_conf,
                          "remove Authorization from the request sent upstream"),
};

static const struct tr_schema conf_schema = {
    .name = "basic-auth",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
};

static void conf_free(void *p)
{
    tr_schema_free_struct(&conf_schema, p);
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    return tr_schema_parse_new(&conf_schema, config, sizeof(struct basic_auth_conf));
}

/* ---- per-worker caches of verifications ------------------------------------------------- */

#define CACHE_TTL_MS (120u * 1000u) /* a success */
/* A failure: long enough that a client retrying the same wrong password (a broken script, or
 * a flood of one guess) never reaches the hash threads again, short enough that the table
 * turns over. It can never hide a password change: the key includes the stored hash. */
#define FAIL_TTL_MS (30u * 1000u)

/* Keyed by SHA-256(credential id, stored hash, password): a changed password (new hash) or a
 * deleted credential (no longer found) can never hit. Set-associative tables
 * (plugins/verify_cache.h), one for successes and one for failures, so a flood of wrong
 * passwords can evict only other failures, never a valid client's success. */
struct cache {
    struct tr_verified ok[TR_VERIFY_CACHE_SLOTS];
    struct tr_verified failed[TR_VERIFY_CACHE_SLOTS];
};

static void cache_key(struct tr_ctx *ctx, const struct tr_credential *cred, const char *stored,
                      struct tr_str pass, unsigned char out[SHA256_DIGEST_LENGTH])
{
    size_t id_len = strlen(cred->id) + 1, st_len = strlen(stored) + 1;
    unsigned char *buf = tr_ctx_alloc(ctx, id_len + st_len + pass.len + 1);
    memcpy(buf, cred->id, id_len);
    memcpy(buf + id_len, stored, st_len);
    if (pass.len)
        memcpy(buf + id_len + st_len, pass.ptr, pass.len);
    SHA256(buf, id_len + st_len + pass.len, out);
    OPENSSL_cleanse(buf, id_len + st_len + pass.len);
}

static bool cache_has(struct tr_verified *table, const unsigned char *digest)
{
    return tr_verify_cache_has(table, digest, tr_clock_mono_ms());
}

static void cache_put(struct tr_verified *table, const unsigned char *digest, uint64_t ttl_ms)
{
    tr_verify_cache_put(table, digest, tr_clock_mono_ms() + ttl_ms);
}

static struct cache *worker_cache(struct tr_ctx *ctx)
{
    void **slot = tr_ctx_worker_slot(ctx);
    if (*slot == NULL)
        *slot = tr_xcalloc(1, sizeof(struct cache));
    return *slot;
}

static void worker_free(void *slot)
{
    OPENSSL_cleanse(slot, sizeof(struct cache));
    free(slot);
}

/* The credential is good: its consumer, and X-Credential-Username as Kong 0.x sent it. */
static void authenticated(struct tr_ctx *ctx, const struct tr_credential *cred)
{
    tr_ctx_set_consumer(ctx, cred->consumer, cred, false);
    tr_ctx_set_credential_username(ctx, json_string_value(json_object_get(cred->doc, "username")));
}

/* One verification on the node's password-hash threads (argon2 takes tens of milliseconds:
 * never on the worker's loop). Lives in the request arena. */
struct pending {
    const struct basic_auth_conf *conf;
    const struct tr_credential *cred;
    const char *stored; /* borrowed from the credential's doc */
    char *password;     /* arena copy, wiped when done */
    size_t password_len;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    bool ok;
};

static void verify_work(void *arg)
{
    struct pending *p = arg;
    p->ok = tr_basic_auth_verify(p->stored, p->password, p->password_len);
}

static void verify_discard(void *arg)
{
    struct pending *p = arg;
    OPENSSL_cleanse(p->password, p->password_len);
}

static void verify_done(struct tr_ctx *ctx, void *arg)
{
    struct pending *p = arg;
    verify_discard(p);
    struct cache *c = worker_cache(ctx);
    if (!p->ok) {
        cache_put(c->failed, p->digest, FAIL_TTL_MS);
        tr_ctx_resume(ctx, tr_auth_fail(ctx, p->conf->anonymous, 401,
                                        "Invalid authentication credentials", WWW_AUTH));
        return;
    }
    cache_put(c->ok, p->digest, CACHE_TTL_MS);
    authenticated(ctx, p->cred);
    tr_ctx_resume(ctx, TR_PLUGIN_NEXT);
}

/* ---- access ----------------------------------------------------------------------------- */

static int basic_auth_access(struct tr_ctx *ctx, const void *conf_ptr)
{
    const struct basic_auth_conf *c = conf_ptr;
    if (tr_auth_already_done(ctx, c->anonymous))
        return TR_PLUGIN_NEXT;
    static const struct tr_str names[] = {TR_STR_LIT("Proxy-Authorization"),
                                          TR_STR_LIT("Authorization")};
    struct tr_str values[2];
    bool present[2];
    for (size_t i = 0; i < 2; i++)
        present[i] = tr_ctx_header(ctx, names[i], &values[i]);
    if (c->hide_credentials) {
        tr_ctx_remove_header(ctx, names[0]);
        tr_ctx_remove_header(ctx, names[1]);
    }
    if (!present[0] && !present[1])
        return tr_auth_fail(ctx, c->anonymous, 401, "Unauthorized", WWW_AUTH);

    /* Proxy-Authorization first, then Authorization (Kong's order): the first header that
     * names a known user is checked. */
    struct tr_str pass = TR_STR_NULL;
    const struct tr_credential *cred = NULL;
    for (size_t i = 0; i < 2 && cred == NULL; i++) {
        if (!present[i])
            continue;
        char *buf = tr_ctx_alloc(ctx, values[i].len + 1);
        struct tr_str user;
        if (tr_basic_auth_parse(values[i], buf, values[i].len + 1, &user, &pass) != 0)
            continue;
        cred = tr_ctx_find_credential(ctx, ENTITY, user);
        if (cred && cred->consumer == NULL)
            cred = NULL;
    }
    const char *stored = cred ? json_string_value(json_object_get(cred->doc, "password")) : NULL;
    /* A malformed value, an unknown user and a credential stored without a password (optional,
     * as in Kong 0.7, where no digest ever equalled the missing one: such a credential never
     * authenticates) are refused without a hash, with the same answer as a wrong password. The time
     * differs (no hash is run), so whether a user name exists can be learnt by timing: hashing a
     * dummy for every unknown name would hand anyone a way to keep the hash threads busy for free,
     * and the user names are not the secret (docs/plugins.md). */
    if (stored == NULL)
        return tr_auth_fail(ctx, c->anonymous, 401, "Invalid authentication credentials", WWW_AUTH);

    struct pending *p = tr_ctx_alloc(ctx, sizeof(*p));
    memset(p, 0, sizeof(*p));
    p->conf = c;
    p->cred = cred;
    p->stored = stored;
    cache_key(ctx, cred, stored, pass, p->digest);
    void **slot = tr_ctx_worker_slot(ctx);
    if (*slot != NULL) {
        struct cache *cache = *slot;
        if (cache_has(cache->ok, p->digest)) {
            authenticated(ctx, cred);
            return TR_PLUGIN_NEXT;
        }
        if (cache_has(cache->failed, p->digest))
            return tr_auth_fail(ctx, c->anonymous, 401, "Invalid authentication credentials",
                                WWW_AUTH);
    }
    p->password = tr_ctx_alloc(ctx, pass.len + 1);
    if (pass.len)
        memcpy(p->password, pass.ptr, pass.len);
    p->password[pass.len] = '\0';
    p->password_len = pass.len;
    if (tr_ctx_offload_hash(ctx, verify_work, verify_done, verify_discard, p) != 0) {
        verify_discard(p);
        return tr_auth_busy(ctx);
    }
    return TR_PLUGIN_YIELD;
}

/* ---- the basicauth_credentials kind -------------------------------------------------------- */

static int before_store(json_t *doc, char *err, size_t err_len)
{
    json_t *pw = json_object_get(doc, "password");
    /* No password: an update that keeps the stored one, or a credential without one (it never
     * authenticates). An existing hash is kept as is, never hashed twice. */
    if (pw == NULL || tr_basic_auth_is_phc(json_string_value(pw)))
        return 0;
    if (!json_is_string(pw)) {
        snprintf(err, err_len, "password is not a string");
        return TR_EINVAL;
    }
    char phc[TR_BASIC_AUTH_PHC_MAX];
    if (tr_basic_auth_hash(json_string_value(pw), json_string_length(pw), phc, sizeof(phc)) != 0) {
        snprintf(err, err_len, "cannot hash the password");
        return TR_EINTERNAL;
    }
    json_object_set_new(doc, "password", json_string(phc));
    OPENSSL_cleanse(phc, sizeof(phc));
    return 0;
}

static const struct tr_schema_field cred_fields[] = {
    TR_SCHEMA_FIELD_ID,
    TR_SCHEMA_FIELD_CREATED_AT,
    TR_SCHEMA_FIELD_TAGS,
    {.name = "consumer_id",
     .type = TR_SCHEMA_UUID,
     .flags = TR_SCHEMA_REQUIRED,
     .help = "the consumer the credential belongs to"},
    {.name = "username",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_UNIQUE | TR_SCHEMA_NO_CLEAR,
     .help = "unique user name"},
    {.name = "password",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_TEXT | TR_SCHEMA_WRITE_ONLY,
     .help = "write-only; stored as an Argon2id hash; optional (none: never authenticates)"},
};

static const struct tr_schema cred_schema = {
    .name = ENTITY,
    .fields = cred_fields,
    .cnt = TR_ARRAY_SIZE(cred_fields),
};

static const char *const hidden_fields[] = {"password", NULL};

static const struct tr_plugin_credential credentials[] = {
    {
        .entity = ENTITY,
        .path = "basic-auth",
        .alias = "basicauth",
        .schema = &cred_schema,
        .lookup_field = "username",
        .before_store = before_store,
        .hidden_fields = hidden_fields,
    },
};

/* Priority 1100 as Kong 1.x and later (0.7 ran every auth plugin at 1000). */
const struct tr_plugin tr_plugin_basic_auth = {
    .name = "basic-auth",
    .version = "1.0.0",
    .priority = 1100,
    .flags = TR_PLUGIN_NO_CONSUMER,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .access = basic_auth_access,
    .credentials = credentials,
    .num_credentials = TR_ARRAY_SIZE(credentials),
    .worker_free = worker_free,
};
