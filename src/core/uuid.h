/* SPDX-License-Identifier: MIT */
/* UUIDs: random version 4 identifiers for entity ids (OpenSSL's RNG) and the 8-4-4-4-12
 * syntax check the Admin API uses to tell an id from a name. */
#ifndef TR_CORE_UUID_H
#define TR_CORE_UUID_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

/* Length of the text form, without the terminating NUL. */
#define TR_UUID_LEN 36

/* Write a fresh random (version 4, RFC 4122 variant) UUID as 36 lowercase hex-and-dash
 * characters plus NUL into out. Returns 0, or TR_EINTERNAL when the RNG fails (out is then
 * an empty string). */
int tr_uuid_v4(char out[TR_UUID_LEN + 1]);

/* A name-based (version 5, SHA-1) UUID of name within the namespace UUID ns (text form, either
 * case), RFC 4122 §4.3: the same name always gives the same id. Returns 0, or TR_EINVAL when
 * ns is not a UUID (out is then an empty string). */
int tr_uuid_v5(const char *ns, struct tr_str name, char out[TR_UUID_LEN + 1]);

/* Format 16 raw bytes as lowercase 8-4-4-4-12 text plus NUL into out. */
void tr_uuid_format(const uint8_t bytes[16], char out[TR_UUID_LEN + 1]);

/* Is s exactly 8-4-4-4-12 hexadecimal digits (either case)? Version and variant are not
 * checked, as in Kong: any id of that shape is looked up as an id. */
bool tr_uuid_is_valid(struct tr_str s);

#endif
