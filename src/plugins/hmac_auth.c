/* SPDX-License-Identifier: MIT */
/* hmac-auth (Kong 3.9, priority 1030): HTTP Signatures in Authorization or
 * Proxy-Authorization ('hmac username="u", algorithm="hmac-sha256", headers="date
 * request-line", signature="<base64>"'). As Kong:
 *   - the Date or X-Date header must be within clock_skew seconds of now;
 *   - the signing string joins, for each listed header, "name: value" (the first value, name as
 *     listed), "request-line" as "METHOD /target HTTP/1.x", "@request-target" as
 *     "method /target", and "name:" for an absent header, by "\n";
 *   - its HMAC with the hmacauth_credentials secret of username must equal the signature
 *     (compared in constant time); enforce_headers must all be signed; algorithms bounds the
 *     algorithm; validate_request_body checks Digest: SHA-256=<base64> (no Digest: no body);
 *   - X-Credential-Identifier is the credential's username; hide_credentials removes the
 *     header it came in.
 * Kong's answers: 401 "Unauthorized", "HMAC signature cannot be verified, a valid date or
 * x-date header is required for HMAC Authentication", "HMAC signature cannot be verified",
 * "HMAC signature does not match", with WWW-Authenticate: hmac [realm="..."]. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "core/err.h"
#include "core/mem.h"
#include "plugins/auth.h"
#include "plugins/hmac_params.h"
#include "plugins/jwt_token.h"
#include "plugins/plugin.h"
#include "schema/schema.h"

#define ENTITY "hmacauth_credentials"
#define MAX_BODY (8u * 1024 * 1024)
#define MAX_SIGNED_HEADERS 32

static const char NOT_VALID[] = "HMAC signature cannot be verified";
static const char NOT_SAME[] = "HMAC signature does not match";
static const char NO_DATE[] = "HMAC signature cannot be verified, a valid date or x-date header "
                              "is required for HMAC Authentication";

static const char *const algorithms[] = {"hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512",
                                         NULL};
static const char *const digests[] = {"SHA1", "SHA256", "SHA384", "SHA512"};

struct hmac_conf {
    bool hide_credentials; /* bound */
    char *anonymous;       /* bound */
    double clock_skew;     /* bound */
    bool validate_request_body;
    char **enforce_headers, **algorithms;
    size_t num_enforce_headers, num_algorithms;
    char *realm;
    char *www; /* derived: WWW-Authenticate */
};

/* ---- schema ------------------------------------------------------------------------------- */

static int check_algorithms(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(rec, name), i, item)
    {
        const char *a = json_string_value(item);
        bool ok = false;
        for (size_t k = 0; a && algorithms[k]; k++)
            ok |= strcmp(a, algorithms[k]) == 0;
        if (!ok) {
            snprintf(msg, msg_len,
                     "expected one of: hmac-sha1, hmac-sha256, hmac-sha384, hmac-sha512");
            return TR_EINVAL;
        }
    }
    return 0;
}

static int check_skew(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const json_t *v = json_object_get(rec, name);
    if (json_is_number(v) && json_number_value(v) <= 0) {
        snprintf(msg, msg_len, "value must be greater than 0");
        return TR_EINVAL;
    }
    return 0;
}

#define BIND(m) TR_SCHEMA_BIND(struct hmac_conf, m)
#define LIST(m) TR_SCHEMA_BIND_LIST(struct hmac_conf, m, num_##m)

static const struct tr_schema_field conf_fields[] = {
    {.name = "hide_credentials",
     .type = TR_SCHEMA_BOOLEAN,
     .flags = TR_SCHEMA_REQUIRED,
     .dflt = "false",
     .help = "remove the signature's header before going upstream",
     BIND(hide_credentials)},
    {.name = "clock_skew",
     .type = TR_SCHEMA_NUMBER,
     .dflt = "300",
     .check = check_skew,
     .help = "seconds Date or X-Date may be from now",
     BIND(clock_skew)},
    TR_AUTH_FIELD_ANONYMOUS(struct hmac_conf),
    {.name = "validate_request_body",
     .type = TR_SCHEMA_BOOLEAN,
     .flags = TR_SCHEMA_REQUIRED,
     .dflt = "false",
     .help = "check the body against Digest: SHA-256=<base64>",
     BIND(validate_request_body)},
    {.name = "enforce_headers",
     .type = TR_SCHEMA_ARRAY,
     .dflt = "[]",
     .help = "headers every signature must cover",
     LIST(enforce_headers)},
    {.name = "algorithms",
     .type = TR_SCHEMA_ARRAY,
     .dflt = "[\"hmac-sha1\",\"hmac-sha256\",\"hmac-sha384\",\"hmac-sha512\"]",
     .check = check_algorithms,
     .help = "the algorithms accepted",
     LIST(algorithms)},
    {.name = "realm", .type = TR_SCHEMA_STRING, .help = "WWW-Authenticate's realm", BIND(realm)},
};

static const struct tr_schema conf_schema = {
    .name = "hmac-auth",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
};

static void conf_free(void *p)
{
    struct hmac_conf *c = p;
    if (c == NULL)
        return;
    free(c->www);
    tr_schema_free_struct(&conf_schema, p);
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    struct hmac_conf *c = tr_schema_parse_new(&conf_schema, config, sizeof(*c));
    size_t n = (c->realm ? strlen(c->realm) : 0) + 32;
    c->www = tr_xmalloc(n);
    if (c->realm)
        snprintf(c->www, n, "hmac realm=\"%s\"", c->realm);
    else
        snprintf(c->www, n, "hmac");
    return c;
}

/* ---- the hmacauth_credentials kind --------------------------------------------------------- */

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
     .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_UNIQUE,
     .help = "the username signatures name"},
    {.name = "secret",
     .type = TR_SCHEMA_STRING,
     .gen = tr_auth_gen_key,
     .help = "the HMAC secret; 32 random hex characters when not given"},
};

static const struct tr_schema cred_schema = {
    .name = ENTITY,
    .fields = cred_fields,
    .cnt = TR_ARRAY_SIZE(cred_fields),
};

/* ---- the request -------------------------------------------------------------------------- */

static bool date_ok(struct tr_ctx *ctx, const char *name, double skew)
{
    struct tr_str v;
    if (!tr_ctx_header_nth(ctx, tr_str_from_cstr(name), 0, &v))
        return false;
    int64_t t = tr_http_date_parse(tr_str_trim(v));
    return t >= 0 && fabs((double)time(NULL) - (double)t) <= skew;
}

static bool in_list(char **list, size_t n, struct tr_str s)
{
    for (size_t i = 0; i < n; i++) {
        if (tr_str_eq(tr_str_from_cstr(list[i]), s))
            return true;
    }
    return false;
}

/* Kong's create_hash: the signing string of the listed headers. */
static struct tr_str signing_string(struct tr_ctx *ctx, struct tr_str headers)
{
    struct tr_str method = tr_ctx_method(ctx), target = tr_ctx_request_target(ctx);
    size_t cap = 64 + method.len + target.len;
    struct tr_str names[MAX_SIGNED_HEADERS], values[MAX_SIGNED_HEADERS];
    bool present[MAX_SIGNED_HEADERS];
    size_t n = 0;
    while (headers.len && n < MAX_SIGNED_HEADERS) { /* Kong's split on " " */
        const char *sp = memchr(headers.ptr, ' ', headers.len);
        names[n] = (struct tr_str){headers.ptr, sp ? (size_t)(sp - headers.ptr) : headers.len};
        headers.len -= sp ? names[n].len + 1 : names[n].len;
        headers.ptr += sp ? names[n].len + 1 : names[n].len;
        present[n] = names[n].len && tr_ctx_header_nth(ctx, names[n], 0, &values[n]);
        cap += names[n].len * 2 + (present[n] ? values[n].len : 0) + method.len + target.len + 32;
        n++;
    }
    char *out = tr_ctx_alloc(ctx, cap);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const struct tr_str h = names[i];
        if (present[i])
            at += (size_t)snprintf(out + at, cap - at, "%.*s: %.*s", (int)h.len, h.ptr,
                                   (int)values[i].len, values[i].ptr);
        else if (tr_str_eq(h, TR_STR_LIT("@request-target"))) {
            at += (size_t)snprintf(out + at, cap - at, "@request-target: ");
            for (size_t k = 0; k < method.len; k++)
                out[at++] = tr_ascii_lower(method.ptr[k]);
            at += (size_t)snprintf(out + at, cap - at, " %.*s", (int)target.len, target.ptr);
        } else if (tr_str_eq(h, TR_STR_LIT("request-line")))
            at += (size_t)snprintf(out + at, cap - at, "%.*s %.*s HTTP/1.%d", (int)method.len,
                                   method.ptr, (int)target.len, target.ptr,
                                   tr_ctx_http_minor_version(ctx));
        else
            at += (size_t)snprintf(out + at, cap - at, "%.*s:", (int)h.len, h.ptr);
        if (i + 1 < n)
            out[at++] = '\n';
    }
    return (struct tr_str){out, at};
}

static bool signature_matches(struct tr_ctx *ctx, const struct tr_hmac_params *p,
                              const char *secret, const char *digest)
{
    struct tr_str s = signing_string(ctx, p->headers);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(EVP_get_digestbyname(digest), secret, (int)strlen(secret),
             (const unsigned char *)s.ptr, s.len, mac, &len) == NULL)
        return false;
    char *sig = tr_ctx_alloc(ctx, p->signature.len * 3 / 4 + 3);
    long n = tr_jwt_b64url_decode(p->signature, sig);
    return n == (long)len && CRYPTO_memcmp(mac, sig, len) == 0;
}

/* Digest: SHA-256=<base64 of the body's SHA-256>; without Digest the body must be empty. */
static bool body_matches(struct tr_ctx *ctx)
{
    struct tr_str body, digest;
    if (!tr_ctx_body(ctx, &body))
        return false; /* too large to hold: it cannot be checked */
    if (!tr_ctx_header_nth(ctx, TR_STR_LIT("Digest"), 0, &digest))
        return body.len == 0;
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)body.ptr, body.len, d);
    char want[8 + 4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
    memcpy(want, "SHA-256=", 8);
    EVP_EncodeBlock((unsigned char *)want + 8, d, SHA256_DIGEST_LENGTH);
    return tr_str_eq(digest, tr_str_from_cstr(want));
}

static int fail(struct tr_ctx *ctx, const struct hmac_conf *c, const char *message)
{
    return tr_auth_fail(ctx, c->anonymous, 401, message, c->www);
}

static int authenticate(struct tr_ctx *ctx, const struct hmac_conf *c)
{
    struct tr_str auth, proxy_auth;
    bool has_auth = tr_ctx_header_nth(ctx, TR_STR_LIT("Authorization"), 0, &auth);
    bool has_proxy = tr_ctx_header_nth(ctx, TR_STR_LIT("Proxy-Authorization"), 0, &proxy_auth);
    if (!has_auth && !has_proxy)
        return fail(ctx, c, "Unauthorized");
    if (!date_ok(ctx, "X-Date", c->clock_skew) && !date_ok(ctx, "Date", c->clock_skew))
        return fail(ctx, c, NO_DATE);
    struct tr_hmac_params p = {0};
    if (has_proxy && tr_hmac_params_parse(proxy_auth, &p)) {
        if (c->hide_credentials)
            tr_ctx_remove_header(ctx, TR_STR_LIT("Proxy-Authorization"));
    } else {
        if (has_auth)
            tr_hmac_params_parse(auth, &p);
        if (c->hide_credentials)
            tr_ctx_remove_header(ctx, TR_STR_LIT("Authorization"));
    }
    if (p.username.len == 0 || p.signature.len == 0)
        return fail(ctx, c, NOT_VALID);
    for (size_t i = 0; i < c->num_enforce_headers; i++) {
        bool signed_it = false;
        struct tr_str rest = p.headers;
        while (rest.len && !signed_it) {
            const char *sp = memchr(rest.ptr, ' ', rest.len);
            struct tr_str h = {rest.ptr, sp ? (size_t)(sp - rest.ptr) : rest.len};
            signed_it = tr_str_eq(h, tr_str_from_cstr(c->enforce_headers[i]));
            rest.len -= sp ? h.len + 1 : h.len;
            rest.ptr += sp ? h.len + 1 : h.len;
        }
        if (!signed_it)
            return fail(ctx, c, NOT_VALID);
    }
    size_t alg = 0;
    while (algorithms[alg] && !tr_str_eq(p.algorithm, tr_str_from_cstr(algorithms[alg])))
        alg++;
    if (algorithms[alg] == NULL || !in_list(c->algorithms, c->num_algorithms, p.algorithm))
        return fail(ctx, c, NOT_VALID);
    const struct tr_credential *cred = tr_ctx_find_credential(ctx, ENTITY, p.username);
    const char *secret = cred ? json_string_value(json_object_get(cred->doc, "secret")) : NULL;
    if (cred == NULL || secret == NULL)
        return fail(ctx, c, NOT_VALID);
    if (!signature_matches(ctx, &p, secret, digests[alg]))
        return fail(ctx, c, NOT_SAME);
    if (c->validate_request_body && !body_matches(ctx))
        return fail(ctx, c, NOT_SAME);
    if (cred->consumer == NULL)
        return fail(ctx, c, NOT_VALID);
    tr_ctx_set_consumer(ctx, cred->consumer, cred, false);
    const char *username = json_string_value(json_object_get(cred->doc, "username"));
    tr_ctx_set_credential_identifier(ctx, username);
    return TR_PLUGIN_NEXT;
}

static void on_body(struct tr_ctx *ctx, bool complete)
{
    (void)complete; /* an incomplete body fails body_matches */
    tr_ctx_resume(ctx, authenticate(ctx, *(const struct hmac_conf **)tr_ctx_state(ctx)));
}

static int hmac_access(struct tr_ctx *ctx, const void *conf)
{
    const struct hmac_conf *c = conf;
    if (tr_auth_already_done(ctx, c->anonymous))
        return TR_PLUGIN_NEXT;
    if (c->validate_request_body && !tr_ctx_body_ready(ctx)) {
        *(const struct hmac_conf **)tr_ctx_state(ctx) = c;
        tr_ctx_read_body(ctx, MAX_BODY, on_body);
        return TR_PLUGIN_YIELD;
    }
    return authenticate(ctx, c);
}

static const struct tr_plugin_credential credentials[] = {
    {
        .entity = ENTITY,
        .path = "hmac-auth",
        .schema = &cred_schema,
        .lookup_field = "username",
    },
};

const struct tr_plugin tr_plugin_hmac_auth = {
    .name = "hmac-auth",
    .version = "3.9.1",
    .priority = 1030,
    .flags = TR_PLUGIN_NO_CONSUMER,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .access = hmac_access,
    .state_size = sizeof(const struct hmac_conf *),
    .credentials = credentials,
    .num_credentials = TR_ARRAY_SIZE(credentials),
};
