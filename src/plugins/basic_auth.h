/* SPDX-License-Identifier: MIT */
/* The pure parts of the basic-auth plugin, for its unit test: parsing an Authorization value
 * and the Argon2id hash and verification of passwords. */
#ifndef TR_PLUGINS_BASIC_AUTH_H
#define TR_PLUGINS_BASIC_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

/* Argon2id parameters (OWASP minimum): memory in KiB, passes, lanes, salt and hash bytes. */
#define TR_BASIC_AUTH_M_KIB 19456u
#define TR_BASIC_AUTH_T 2u
#define TR_BASIC_AUTH_P 1u
#define TR_BASIC_AUTH_SALT_LEN 16u
#define TR_BASIC_AUTH_HASH_LEN 32u
/* Room for the PHC string of those parameters, NUL included. */
#define TR_BASIC_AUTH_PHC_MAX 128u

/* Parse an Authorization (or Proxy-Authorization) value "Basic <base64(user:password)>" (the
 * scheme case-insensitive, RFC 7617: split at the first colon, the user not empty). The decoded
 * text goes into buf (at least value.len bytes); user and pass point into it. Returns 0, or
 * TR_EINVAL when the value is not a well-formed Basic credential. */
int tr_basic_auth_parse(struct tr_str value, char *buf, size_t buf_len, struct tr_str *user,
                        struct tr_str *pass);

/* Hash password with Argon2id, a fresh 16-byte salt from the CSPRNG, into out as a PHC string
 * ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>"). Returns 0, or TR_EINTERNAL when the CSPRNG
 * or Argon2 fails (out too small included). */
int tr_basic_auth_hash(const char *password, size_t len, char *out, size_t out_len);

/* Does password match the PHC string phc? Constant-time comparison of the hash; false for
 * anything that is not an Argon2id PHC string. */
bool tr_basic_auth_verify(const char *phc, const char *password, size_t len);

/* True when s already is an Argon2id PHC string (stored as is, never hashed twice). */
bool tr_basic_auth_is_phc(const char *s);

#endif
