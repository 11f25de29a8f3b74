/* SPDX-License-Identifier: MIT */
/* JSON Web Tokens decoded (jwt_token.h). */
#include "plugins/jwt_token.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

static const struct tr_jwt_alg algs[] = {
    {"HS256", TR_JWT_HMAC, "SHA256", 0}, {"HS384", TR_JWT_HMAC, "SHA384", 0},
    {"HS512", TR_JWT_HMAC, "SHA512", 0}, {"RS256", TR_JWT_RSA, "SHA256", 0},
    {"RS384", TR_JWT_RSA, "SHA384", 0},  {"RS512", TR_JWT_RSA, "SHA512", 0},
    {"ES256", TR_JWT_EC, "SHA256", 32},  {"ES384", TR_JWT_EC, "SHA384", 48},
    {"ES512", TR_JWT_EC, "SHA512", 66},  {"PS256", TR_JWT_PSS, "SHA256", 0},
    {"PS384", TR_JWT_PSS, "SHA384", 0},  {"PS512", TR_JWT_PSS, "SHA512", 0},
    {"EdDSA", TR_JWT_ED, NULL, 0},
};

const char *const tr_jwt_alg_names[] = {"HS256", "HS384", "HS512", "RS256", "RS384",
                                        "RS512", "ES256", "ES384", "ES512", "PS256",
                                        "PS384", "PS512", "EdDSA", NULL};

const struct tr_jwt_alg *tr_jwt_alg(const char *name)
{
    for (size_t i = 0; name && i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(algs[i].name, name) == 0)
            return &algs[i];
    }
    return NULL;
}

long tr_jwt_b64url_decode(struct tr_str in, char *out)
{
    while (in.len && in.ptr[in.len - 1] == '=')
        in.len--;
    if (in.len % 4 == 1)
        return -1;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.ptr[i];
        int v = c >= 'A' && c <= 'Z'   ? c - 'A'
                : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52
                : c == '-' || c == '+' ? 62
                : c == '_' || c == '/' ? 63
                                       : -1;
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (char)(acc >> bits);
        }
    }
    out[n] = '\0';
    return (long)n;
}

/* A part decoded as a JSON object, or NULL. */
static json_t *json_part(struct tr_str b64)
{
    char *raw = tr_xmalloc(b64.len * 3 / 4 + 3);
    long n = tr_jwt_b64url_decode(b64, raw);
    json_t *doc = n >= 0 ? json_loadb(raw, (size_t)n, 0, NULL) : NULL;
    free(raw);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

const char *tr_jwt_decode(struct tr_str token, struct tr_jwt_token *out)
{
    memset(out, 0, sizeof(*out));
    /* Kong's tokenize(token, ".", 3): the third part holds the rest, dots included */
    const char *d1 = memchr(token.ptr, '.', token.len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', (size_t)(token.ptr + token.len - d1 - 1)) : NULL;
    if (d2 == NULL)
        return "invalid JSON";
    struct tr_str h = {token.ptr, (size_t)(d1 - token.ptr)};
    struct tr_str c = {d1 + 1, (size_t)(d2 - d1 - 1)};
    struct tr_str s = {d2 + 1, (size_t)(token.ptr + token.len - d2 - 1)};
    out->signed_part = (struct tr_str){token.ptr, (size_t)(d2 - token.ptr)};
    if ((out->header = json_part(h)) == NULL || (out->claims = json_part(c)) == NULL) {
        tr_jwt_token_free(out);
        return "invalid JSON";
    }
    out->alg = tr_jwt_alg(json_string_value(json_object_get(out->header, "alg")));
    if (out->alg == NULL) {
        tr_jwt_token_free(out);
        return "invalid alg";
    }
    out->signature = tr_xmalloc(s.len * 3 / 4 + 3);
    long n = tr_jwt_b64url_decode(s, out->signature);
    if (n < 0) {
        tr_jwt_token_free(out);
        return "invalid signature";
    }
    out->signature_len = (size_t)n;
    return NULL;
}

void tr_jwt_token_free(struct tr_jwt_token *t)
{
    json_decref(t->header);
    json_decref(t->claims);
    free(t->signature);
    memset(t, 0, sizeof(*t));
}
