/* SPDX-License-Identifier: MIT */
/* jwt (Kong 3.9, priority 1450): a JSON Web Token from the query (uri_param_names), a cookie
 * (cookie_names) or a header (header_names, "Bearer <token>") is decoded, its key claim
 * (key_claim_name, in the claims or else the header) names a jwt_secrets credential, the
 * token's alg must be the credential's algorithm, its signature is verified with OpenSSL
 * (HS256/384/512 against the secret, in constant time; RS, PS, ES256/384/512 and EdDSA
 * against the credential's public key), then claims_to_verify (exp, nbf) and
 * maximum_expiration. Kong's answers, word for word: 401 "Unauthorized" without a token,
 * "Multiple tokens provided", "Bad token; invalid JSON|invalid alg|invalid signature",
 * "No mandatory '<claim>' in claims", "Invalid '<claim>' in claims", "No credentials found for
 * given '<claim>'", "Invalid algorithm", "Invalid key/secret", "Invalid signature", and the
 * claims' errors as {"exp": "token expired"}; with WWW-Authenticate: Bearer [realm="..."]
 * error="invalid_token". X-Credential-Identifier is the credential's key. Public keys are
 * parsed once per credential and worker (a small cache keyed by config version). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "core/err.h"
#include "core/mem.h"
#include "http/form.h"
#include "plugins/auth.h"
#include "plugins/jwt_token.h"
#include "plugins/plugin.h"
#include "schema/schema.h"

#define ENTITY "jwt_secrets"
#define MAX_TOKENS 8
#define KEY_CACHE_SLOTS 256

struct jwt_conf {
    char **uri_param_names, **cookie_names, **header_names, **claims_to_verify;
    size_t num_uri_param_names, num_cookie_names, num_header_names, num_claims_to_verify;
    char *key_claim_name, *anonymous, *realm;
    bool secret_is_base64, run_on_preflight;
    double maximum_expiration;
    /* derived */
    char *www_base, *www_error; /* WWW-Authenticate values */
};

/* ---- algorithms --------------------------------------------------------------------------- */

static EVP_PKEY *parse_public_key(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (bio == NULL)
        return NULL;
    EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (key == NULL) { /* Kong's pkey.new also takes a private key (its public part is used) */
        (void)BIO_reset(bio);
        key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    }
    BIO_free(bio);
    return key;
}

static bool verify_hmac(const struct tr_jwt_alg *a, struct tr_str data, struct tr_str sig,
                        struct tr_str secret)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(EVP_get_digestbyname(a->digest), secret.ptr, (int)secret.len,
             (const unsigned char *)data.ptr, data.len, mac, &len) == NULL)
        return false;
    return sig.len == len && CRYPTO_memcmp(mac, sig.ptr, len) == 0;
}

/* JWS's r || s (RFC 7518 §3.4) as the DER ECDSA-Sig-Value OpenSSL verifies. */
static unsigned char *ecdsa_der(const struct tr_jwt_alg *a, struct tr_str sig, size_t *len)
{
    if (sig.len != 2 * a->ec_size)
        return NULL;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn((const unsigned char *)sig.ptr, (int)a->ec_size, NULL);
    BIGNUM *s = BN_bin2bn((const unsigned char *)sig.ptr + a->ec_size, (int)a->ec_size, NULL);
    unsigned char *der = NULL;
    if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* owned by es now */
        int n = i2d_ECDSA_SIG(es, &der);
        *len = n > 0 ? (size_t)n : 0;
        if (n <= 0)
            der = NULL;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return der;
}

static bool verify_pkey(const struct tr_jwt_alg *a, EVP_PKEY *key, struct tr_str data,
                        struct tr_str sig)
{
    int type = EVP_PKEY_get_base_id(key);
    bool ok_type =
        (a->family == TR_JWT_EC && type == EVP_PKEY_EC) ||
        (a->family == TR_JWT_ED && (type == EVP_PKEY_ED25519 || type == EVP_PKEY_ED448)) ||
        ((a->family == TR_JWT_RSA || a->family == TR_JWT_PSS) &&
         (type == EVP_PKEY_RSA || type == EVP_PKEY_RSA_PSS));
    if (!ok_type) /* an HS token against an RS key, or any other mix: never verified */
        return false;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    bool ok = false;
    unsigned char *der = NULL;
    size_t der_len = 0;
    const unsigned char *s = (const unsigned char *)sig.ptr;
    size_t slen = sig.len;
    if (a->family == TR_JWT_EC) {
        der = ecdsa_der(a, sig, &der_len);
        s = der;
        slen = der_len;
    }
    if (md && s &&
        EVP_DigestVerifyInit(md, &pctx, a->digest ? EVP_get_digestbyname(a->digest) : NULL, NULL,
                             key) == 1) {
        if (a->family == TR_JWT_PSS) {
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO);
        } else if (a->family == TR_JWT_RSA) {
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING);
        }
        ok = EVP_DigestVerify(md, s, slen, (const unsigned char *)data.ptr, data.len) == 1;
    }
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    return ok;
}

/* ---- the jwt_secrets kind ------------------------------------------------------------------ */

/* Kong's conditional: RS*, PS* and EdDSA need rsa_public_key, a key OpenSSL can read. */
static json_t *cred_entity_check(const json_t *rec, const json_t *input, enum tr_schema_mode mode)
{
    (void)input;
    (void)mode;
    const char *alg = json_string_value(json_object_get(rec, "algorithm"));
    if (alg == NULL ||
        (strncmp(alg, "RS", 2) != 0 && strncmp(alg, "PS", 2) != 0 && strcmp(alg, "EdDSA") != 0))
        return NULL;
    const char *pem = json_string_value(json_object_get(rec, "rsa_public_key"));
    if (pem == NULL)
        return json_pack("{s:s}", "rsa_public_key", "required field missing");
    EVP_PKEY *key = parse_public_key(pem);
    if (key == NULL)
        return json_pack("{s:s}", "rsa_public_key", "invalid key");
    EVP_PKEY_free(key);
    return NULL;
}

static const struct tr_schema_field cred_fields[] = {
    TR_SCHEMA_FIELD_ID,
    TR_SCHEMA_FIELD_CREATED_AT,
    TR_SCHEMA_FIELD_TAGS,
    {.name = "consumer_id",
     .type = TR_SCHEMA_UUID,
     .flags = TR_SCHEMA_REQUIRED,
     .help = "the consumer the secret belongs to"},
    {.name = "key",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_UNIQUE,
     .gen = tr_auth_gen_key,
     .help = "what the token's key claim names; 32 random hex characters when not given"},
    {.name = "secret",
     .type = TR_SCHEMA_STRING,
     .gen = tr_auth_gen_key,
     .help = "the HMAC secret (HS*); 32 random hex characters when not given"},
    {.name = "rsa_public_key",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_TEXT,
     .help = "the PEM public key (RS*, PS*, ES*, EdDSA)"},
    {.name = "algorithm",
     .type = TR_SCHEMA_STRING,
     .dflt = "\"HS256\"",
     .one_of = tr_jwt_alg_names,
     .help = "the algorithm tokens must be signed with"},
};

static const struct tr_schema cred_schema = {
    .name = ENTITY,
    .fields = cred_fields,
    .cnt = TR_ARRAY_SIZE(cred_fields),
    .entity_check = cred_entity_check,
};

/* ---- config ------------------------------------------------------------------------------- */

static int check_claims(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(rec, name), i, item)
    {
        const char *c = json_string_value(item);
        if (c == NULL || (strcmp(c, "exp") != 0 && strcmp(c, "nbf") != 0)) {
            snprintf(msg, msg_len, "expected one of: exp, nbf");
            return TR_EINVAL;
        }
    }
    return 0;
}

/* Kong's entity check: a maximum_expiration needs exp among the claims verified. */
static json_t *conf_entity_check(const json_t *rec, const json_t *input, enum tr_schema_mode mode)
{
    (void)input;
    (void)mode;
    const json_t *max = json_object_get(rec, "maximum_expiration");
    if (!json_is_number(max) || json_number_value(max) <= 0)
        return NULL;
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(rec, "claims_to_verify"), i, item)
    {
        if (json_is_string(item) && strcmp(json_string_value(item), "exp") == 0)
            return NULL;
    }
    return json_pack("{s:s}", "claims_to_verify", "expected to contain: exp");
}

#define BIND(m) TR_SCHEMA_BIND(struct jwt_conf, m)
#define LIST(m) TR_SCHEMA_BIND_LIST(struct jwt_conf, m, num_##m)

static const struct tr_schema_field conf_fields[] = {
    {.name = "uri_param_names",
     .type = TR_SCHEMA_ARRAY,
     .dflt = "[\"jwt\"]",
     .help = "query arguments a token is read from",
     LIST(uri_param_names)},
    {.name = "cookie_names",
     .type = TR_SCHEMA_ARRAY,
     .dflt = "[]",
     .help = "cookies a token is read from",
     LIST(cookie_names)},
    {.name = "key_claim_name",
     .type = TR_SCHEMA_STRING,
     .dflt = "\"iss\"",
     .help = "the claim naming the credential's key (claims first, then the header)",
     BIND(key_claim_name)},
    {.name = "secret_is_base64",
     .type = TR_SCHEMA_BOOLEAN,
     .flags = TR_SCHEMA_REQUIRED,
     .dflt = "false",
     .help = "HS secrets are stored base64url-encoded",
     BIND(secret_is_base64)},
    {.name = "claims_to_verify",
     .type = TR_SCHEMA_ARRAY,
     .check = check_claims,
     .help = "registered claims checked: exp, nbf",
     LIST(claims_to_verify)},
    TR_AUTH_FIELD_ANONYMOUS(struct jwt_conf),
    {.name = "run_on_preflight",
     .type = TR_SCHEMA_BOOLEAN,
     .flags = TR_SCHEMA_REQUIRED,
     .dflt = "true",
     .help = "authenticate OPTIONS preflight requests too",
     BIND(run_on_preflight)},
    {.name = "maximum_expiration",
     .type = TR_SCHEMA_NUMBER,
     .flags = TR_SCHEMA_BOUNDED,
     .dflt = "0",
     .min = 0,
     .max = 31536000,
     .help = "seconds a token may still be valid for at most (0: no bound)",
     BIND(maximum_expiration)},
    {.name = "header_names",
     .type = TR_SCHEMA_ARRAY,
     .dflt = "[\"authorization\"]",
     .help = "headers a Bearer token is read from",
     LIST(header_names)},
    {.name = "realm",
     .type = TR_SCHEMA_STRING,
     .help = "the realm of WWW-Authenticate",
     BIND(realm)},
};

static const struct tr_schema conf_schema = {
    .name = "jwt",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
    .entity_check = conf_entity_check,
};

static void conf_free(void *p)
{
    struct jwt_conf *c = p;
    if (c == NULL)
        return;
    free(c->www_base);
    free(c->www_error);
    tr_schema_free_struct(&conf_schema, p);
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    struct jwt_conf *c = tr_schema_parse_new(&conf_schema, config, sizeof(*c));
    size_t n = (c->realm ? strlen(c->realm) : 0) + 64;
    c->www_base = tr_xmalloc(n);
    c->www_error = tr_xmalloc(n);
    if (c->realm)
        snprintf(c->www_base, n, "Bearer realm=\"%s\"", c->realm);
    else
        snprintf(c->www_base, n, "Bearer");
    snprintf(c->www_error, n, "%s error=\"invalid_token\"", c->www_base);
    return c;
}

/* ---- finding the token -------------------------------------------------------------------- */

struct tokens {
    struct tr_str t[MAX_TOKENS];
    size_t n;
};

static void add_token(struct tokens *set, struct tr_str t)
{
    if (t.len == 0)
        return;
    for (size_t i = 0; i < set->n; i++) {
        if (tr_str_eq(set->t[i], t))
            return;
    }
    if (set->n < MAX_TOKENS)
        set->t[set->n++] = t;
}

/* The value of cookie name in a Cookie header (nginx's $cookie_<name>: the first one). */
static bool cookie_value(struct tr_str header, const char *name, struct tr_str *out)
{
    size_t nl = strlen(name);
    while (header.len) {
        const char *semi = memchr(header.ptr, ';', header.len);
        struct tr_str pair = tr_str_trim(
            (struct tr_str){header.ptr, semi ? (size_t)(semi - header.ptr) : header.len});
        header.len -= semi ? (size_t)(semi - header.ptr) + 1 : header.len;
        header.ptr = semi ? semi + 1 : header.ptr;
        if (pair.len > nl && strncasecmp(pair.ptr, name, nl) == 0 && pair.ptr[nl] == '=') {
            *out = (struct tr_str){pair.ptr + nl + 1, pair.len - nl - 1};
            return true;
        }
    }
    return false;
}

/* Kong's \s*[Bb]earer\s+(.+): the rest of the value after the first "bearer" and its spaces. */
static bool bearer(struct tr_str v, struct tr_str *out)
{
    for (size_t i = 0; i + 6 < v.len; i++) {
        if ((v.ptr[i] != 'B' && v.ptr[i] != 'b') || memcmp(v.ptr + i + 1, "earer", 5) != 0)
            continue;
        size_t j = i + 6;
        if (j >= v.len || (v.ptr[j] != ' ' && v.ptr[j] != '\t'))
            continue;
        while (j < v.len && (v.ptr[j] == ' ' || v.ptr[j] == '\t'))
            j++;
        if (j < v.len) {
            *out = (struct tr_str){v.ptr + j, v.len - j};
            return true;
        }
    }
    return false;
}

static void find_tokens(struct tr_ctx *ctx, const struct jwt_conf *c, struct tokens *set)
{
    struct tr_str query = tr_ctx_upstream_query(ctx), k, v;
    while (tr_form_next(&query, &k, &v)) {
        for (size_t i = 0; i < c->num_uri_param_names; i++) {
            if (tr_form_key_eq(k, tr_str_from_cstr(c->uri_param_names[i]))) {
                char *d = tr_ctx_alloc(ctx, v.len + 1);
                add_token(set, (struct tr_str){d, tr_form_decode(v, d)});
            }
        }
    }
    struct tr_str cookie;
    for (size_t i = 0; i < c->num_cookie_names; i++) {
        for (size_t n = 0; tr_ctx_header_nth(ctx, TR_STR_LIT("Cookie"), n, &cookie); n++) {
            struct tr_str t;
            if (cookie_value(cookie, c->cookie_names[i], &t)) {
                add_token(set, t);
                break;
            }
        }
    }
    for (size_t i = 0; i < c->num_header_names; i++) {
        struct tr_str h, t;
        if (tr_ctx_header_nth(ctx, tr_str_from_cstr(c->header_names[i]), 0, &h) && bearer(h, &t))
            add_token(set, t);
    }
}

/* ---- the per-worker cache of parsed public keys ------------------------------------------- */

struct cached_key {
    const struct tr_credential *cred;
    uint64_t version;
    EVP_PKEY *key;
};

struct worker_keys {
    struct cached_key slots[KEY_CACHE_SLOTS];
};

static EVP_PKEY *public_key(struct tr_ctx *ctx, const struct tr_credential *cred, const char *pem)
{
    void **slot = tr_ctx_worker_slot(ctx);
    if (*slot == NULL)
        *slot = tr_xcalloc(1, sizeof(struct worker_keys));
    struct worker_keys *w = *slot;
    uint64_t version = tr_ctx_config_version(ctx);
    struct cached_key *k = &w->slots[((uintptr_t)cred >> 4) % KEY_CACHE_SLOTS];
    if (k->cred == cred && k->version == version)
        return k->key;
    EVP_PKEY_free(k->key);
    *k = (struct cached_key){cred, version, parse_public_key(pem)};
    return k->key;
}

static void worker_free(void *slot)
{
    struct worker_keys *w = slot;
    for (size_t i = 0; i < KEY_CACHE_SLOTS; i++)
        EVP_PKEY_free(w->slots[i].key);
    free(w);
}

/* ---- authentication ----------------------------------------------------------------------- */

/* A failure: Kong's 401 with {"message": message} (or body, the claims' errors), or the
 * anonymous consumer. */
static int fail(struct tr_ctx *ctx, const struct jwt_conf *c, const char *message, const char *www,
                json_t *errors)
{
    if (errors == NULL || c->anonymous)
        return tr_auth_fail(ctx, c->anonymous, 401, message, www);
    char *body = json_dumps(errors, JSON_COMPACT);
    tr_ctx_respond(ctx, 401, body, NULL);
    tr_ctx_add_response_header(ctx, TR_STR_LIT("WWW-Authenticate"), tr_str_from_cstr(www));
    free(body);
    return TR_PLUGIN_EXIT;
}

static int bad(struct tr_ctx *ctx, const struct jwt_conf *c, const char *message)
{
    return fail(ctx, c, message, c->www_error, NULL);
}

/* claims_to_verify and maximum_expiration: NULL, or Kong's errors object. */
static json_t *claim_errors(const struct jwt_conf *c, const json_t *claims)
{
    double now = (double)time(NULL);
    json_t *errors = NULL;
    for (size_t i = 0; i < c->num_claims_to_verify; i++) {
        const char *name = c->claims_to_verify[i];
        if (errors && json_object_get(errors, name))
            continue; /* a set: once per claim */
        const json_t *v = json_object_get(claims, name);
        const char *msg = NULL;
        if (!json_is_number(v))
            msg = "must be a number";
        else if (strcmp(name, "exp") == 0 && json_number_value(v) <= now)
            msg = "token expired";
        else if (strcmp(name, "nbf") == 0 && json_number_value(v) > now)
            msg = "token not valid yet";
        if (msg) {
            if (errors == NULL)
                errors = json_object();
            json_object_set_new(errors, name, json_string(msg));
        }
    }
    if (errors == NULL && c->maximum_expiration > 0) {
        const json_t *exp = json_object_get(claims, "exp");
        if (!json_is_number(exp) || json_number_value(exp) - now > c->maximum_expiration)
            errors = json_pack("{s:s}", "exp", "exceeds maximum allowed expiration");
    }
    return errors;
}

static int verify(struct tr_ctx *ctx, const struct jwt_conf *c, struct tr_str token)
{
    struct tr_jwt_token t;
    char msg[320];
    int rc;
    const char *why = tr_jwt_decode(token, &t);
    if (why) {
        snprintf(msg, sizeof(msg), "Bad token; %s", why);
        return bad(ctx, c, msg);
    }
    const json_t *header = t.header, *claims = t.claims;
    const struct tr_jwt_alg *a = t.alg;
    struct tr_str sig = {t.signature, t.signature_len};
    const json_t *kv = json_object_get(claims, c->key_claim_name);
    if (kv == NULL || json_is_null(kv) || json_is_false(kv))
        kv = json_object_get(header, c->key_claim_name);
    if (kv == NULL || json_is_null(kv) || json_is_false(kv)) {
        snprintf(msg, sizeof(msg), "No mandatory '%s' in claims", c->key_claim_name);
        rc = bad(ctx, c, msg);
        goto out;
    }
    if (json_is_string(kv) && json_string_length(kv) == 0) {
        snprintf(msg, sizeof(msg), "Invalid '%s' in claims", c->key_claim_name);
        rc = bad(ctx, c, msg);
        goto out;
    }
    const char *key = json_string_value(kv);
    const struct tr_credential *cred =
        key ? tr_ctx_find_credential(ctx, ENTITY, tr_str_from_cstr(key)) : NULL;
    if (cred == NULL) {
        snprintf(msg, sizeof(msg), "No credentials found for given '%s'", c->key_claim_name);
        rc = bad(ctx, c, msg);
        goto out;
    }
    const char *cred_alg = json_string_value(json_object_get(cred->doc, "algorithm"));
    if (strcmp(a->name, cred_alg ? cred_alg : "HS256") != 0) {
        rc = bad(ctx, c, "Invalid algorithm");
        goto out;
    }
    struct tr_str data = t.signed_part;
    bool verified;
    if (a->family == TR_JWT_HMAC) {
        const char *secret = json_string_value(json_object_get(cred->doc, "secret"));
        struct tr_str s = tr_str_from_cstr(secret ? secret : "");
        if (secret && c->secret_is_base64) {
            char *raw = tr_ctx_alloc(ctx, s.len * 3 / 4 + 3);
            long n = tr_jwt_b64url_decode(s, raw);
            s = (struct tr_str){raw, n > 0 ? (size_t)n : 0};
            if (n < 0)
                secret = NULL;
        }
        if (secret == NULL) {
            rc = bad(ctx, c, "Invalid key/secret");
            goto out;
        }
        verified = verify_hmac(a, data, sig, s);
    } else {
        const char *pem = json_string_value(json_object_get(cred->doc, "rsa_public_key"));
        EVP_PKEY *pkey = pem ? public_key(ctx, cred, pem) : NULL;
        if (pkey == NULL) {
            rc = bad(ctx, c, "Invalid key/secret");
            goto out;
        }
        verified = verify_pkey(a, pkey, data, sig);
    }
    if (!verified) {
        rc = bad(ctx, c, "Invalid signature");
        goto out;
    }
    json_t *errors = claim_errors(c, claims);
    if (errors) {
        rc = fail(ctx, c, "Unauthorized", c->www_error, errors);
        json_decref(errors);
        goto out;
    }
    if (cred->consumer == NULL) {
        snprintf(msg, sizeof(msg), "Could not find consumer for '%s=%s'", c->key_claim_name, key);
        rc = tr_auth_fail(ctx, c->anonymous, 401, msg, NULL);
        goto out;
    }
    tr_ctx_set_consumer(ctx, cred->consumer, cred, false);
    tr_ctx_set_credential_identifier(ctx, key);
    rc = TR_PLUGIN_NEXT;
out:
    tr_jwt_token_free(&t);
    return rc;
}

static int jwt_access(struct tr_ctx *ctx, const void *conf)
{
    const struct jwt_conf *c = conf;
    if (!c->run_on_preflight && tr_str_eq(tr_ctx_method(ctx), TR_STR_LIT("OPTIONS")))
        return TR_PLUGIN_NEXT;
    if (tr_auth_already_done(ctx, c->anonymous))
        return TR_PLUGIN_NEXT;
    struct tokens set = {.n = 0};
    find_tokens(ctx, c, &set);
    if (set.n == 0)
        return fail(ctx, c, "Unauthorized", c->www_base, NULL);
    if (set.n > 1)
        return bad(ctx, c, "Multiple tokens provided");
    return verify(ctx, c, set.t[0]);
}

static const struct tr_plugin_credential credentials[] = {
    {
        .entity = ENTITY,
        .path = "jwt",
        .schema = &cred_schema,
        .lookup_field = "key",
    },
};

const struct tr_plugin tr_plugin_jwt = {
    .name = "jwt",
    .version = "3.9.1",
    .priority = 1450,
    .flags = TR_PLUGIN_NO_CONSUMER,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .access = jwt_access,
    .worker_free = worker_free,
    .credentials = credentials,
    .num_credentials = TR_ARRAY_SIZE(credentials),
};
