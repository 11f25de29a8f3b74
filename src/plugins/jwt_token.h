/* SPDX-License-Identifier: MIT */
/* JSON Web Tokens as Kong 3.9's jwt plugin reads them (kong/plugins/jwt/jwt_parser.lua): the
 * algorithms it knows, base64url, and a token's three parts decoded (the header and the claims
 * must be JSON objects, the header's alg one of the known algorithms). Pure: no request, no
 * key; the plugin verifies the signature. */
#ifndef TR_PLUGINS_JWT_TOKEN_H
#define TR_PLUGINS_JWT_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/str.h"

enum tr_jwt_family { TR_JWT_HMAC, TR_JWT_RSA, TR_JWT_PSS, TR_JWT_EC, TR_JWT_ED };

struct tr_jwt_alg {
    const char *name; /* "HS256", ..., "EdDSA" */
    enum tr_jwt_family family;
    const char *digest; /* OpenSSL's name ("SHA256"); NULL for EdDSA */
    size_t ec_size;     /* ECDSA: bytes of r and of s in the JWS signature */
};

/* The algorithm named name, or NULL (none among them). */
const struct tr_jwt_alg *tr_jwt_alg(const char *name);
/* Their names, NULL-terminated (a schema's one_of). */
extern const char *const tr_jwt_alg_names[];

/* Decode base64url (or base64; padding optional) into out, which holds in.len * 3 / 4 + 3
 * bytes; NUL-terminates. Returns the length, or -1 on a byte outside the alphabet or a bad
 * length. */
long tr_jwt_b64url_decode(struct tr_str in, char *out);

struct tr_jwt_token {
    struct tr_str signed_part; /* header_b64 "." claims_b64: what the signature covers */
    json_t *header, *claims;   /* owned */
    const struct tr_jwt_alg *alg;
    char *signature; /* owned, decoded */
    size_t signature_len;
};

/* Decode token (Kong's decode_token). Returns NULL and fills *out (tr_jwt_token_free), or
 * Kong's reason after "Bad token; ": "invalid JSON", "invalid alg" or "invalid signature". */
const char *tr_jwt_decode(struct tr_str token, struct tr_jwt_token *out);
void tr_jwt_token_free(struct tr_jwt_token *t);

#endif
