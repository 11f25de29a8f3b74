/* SPDX-License-Identifier: MIT */
/* Pure helpers of the traffic-control plugins (request-size-limiting, cors), shared with the
 * unit tests. The plugins themselves are reached only through their descriptors. */
#ifndef TR_PLUGINS_TRAFFIC_H
#define TR_PLUGINS_TRAFFIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/* allowed_payload_size in size_unit ("bytes", "kilobytes" = 2^10, "megabytes" = 2^20) as
 * bytes. Returns 0 and sets *out, or TR_EINVAL for an unknown unit or a result over 2^62. */
int tr_size_limit_bytes(uint64_t size, const char *unit, uint64_t *out);

/* Does a cors `origins` entry count as a regular expression (Kong's rule: it holds a character
 * outside A-Z a-z 0-9 . : / -)? "*" alone is the wildcard, not a regex. */
bool tr_cors_origin_is_regex(struct tr_str entry);

/* Normalize an origin ("scheme://host[:port]") for exact comparison: scheme and host in lower
 * case, the scheme's default port (http 80, https 443) and a trailing "/" dropped. Writes a
 * NUL-terminated text into out and returns its length, or 0 when origin is not of that form
 * or does not fit (origins that are "null" or carry a path, query or user never match). */
size_t tr_cors_origin_normalize(struct tr_str origin, char *out, size_t out_len);

#endif
