/* SPDX-License-Identifier: MIT */
/* Secret material: random tokens from the CSPRNG, digests for storing them, and comparisons
 * that take the same time whatever the inputs share (P12). */
#ifndef TR_CORE_SECRET_H
#define TR_CORE_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

/* 256 random bits as 43 base64url characters (no padding) plus a NUL. */
#define TR_SECRET_TOKEN_LEN 43
/* SHA-256 as 64 lowercase hex characters plus a NUL. */
#define TR_SECRET_HEX_LEN 64

/* Fill out (TR_SECRET_TOKEN_LEN + 1 bytes) with a new random token. Returns 0, or
 * TR_EINTERNAL when the CSPRNG fails (never expected; the caller answers 500). */
int tr_secret_token(char *out);
/* n random bytes (at most 64) as 2n lowercase hex characters plus a NUL into out. Returns 0,
 * TR_EINVAL for a larger n, or TR_EINTERNAL when the CSPRNG fails. */
int tr_secret_hex(char *out, size_t n);
/* SHA-256 of s as hex into out (TR_SECRET_HEX_LEN + 1 bytes). */
void tr_secret_sha256_hex(struct tr_str s, char *out);
/* base64url (no padding) of SHA-256(s) into out (TR_SECRET_TOKEN_LEN + 1 bytes): the PKCE
 * S256 transform. */
void tr_secret_sha256_b64url(struct tr_str s, char *out);
/* Do a and b hold the same bytes? Both are hashed first, so the time depends on neither the
 * contents nor the position of the first difference (only on the lengths). */
bool tr_secret_equal(struct tr_str a, struct tr_str b);

#endif
