/* SPDX-License-Identifier: MIT */
/* The upstream path of a request matched by a Kong 3 route: service path, the part of the
 * request path the route matched, strip_path and path_handling, as Kong 3.9 joins them
 * (kong/router/utils.lua get_upstream_uri_v0; kong/router/traditional.lua for v1). The legacy
 * apis keep tr_url_join_upstream_path (http/url.h). */
#ifndef TR_ROUTER_UPSTREAM_PATH_H
#define TR_ROUTER_UPSTREAM_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

enum tr_path_handling {
    TR_PATH_HANDLING_V0, /* Kong's default: the parts joined as path segments */
    TR_PATH_HANDLING_V1, /* Kong 1.x: the service path is a raw string prefix */
};

/* Build the upstream path into out (capacity out_cap; not NUL-terminated):
 *   service_path  the service's path; ptr NULL or empty means "/";
 *   req_path      the normalized request path (starts with '/');
 *   matched_len   length of the part of req_path the route's path matched (a plain prefix's
 *                 length, or path_end - path_start of a regex match), 0 when the route matched
 *                 without a path;
 *   strip_path    the route's strip_path.
 * With strip_path the matched part is removed (a leading "./" or "../" of what is left, or a
 * left-over "." or "..", is dropped too, utils.lua sanitize_uri_postfix); v0 then joins service
 * path and the rest with exactly one '/', v1 glues them, dropping one '/' of a "//". Without
 * strip_path the request path is appended the same way. Examples (service "/s", route "/r"):
 * v0 strip "/r/x" -> "/s/x", v0 strip "/rx" -> "/s/x", v1 strip "/rx" -> "/sx", v0 no strip
 * "/r" -> "/s/r"; the whole table is in tests/unit/test_router_kong3.c. Returns the length
 * written, or TR_ETOOLARGE when out_cap is too small (service_path.len + req_path.len + 1 is
 * always enough). */
int tr_router_upstream_path(struct tr_str service_path, struct tr_str req_path, size_t matched_len,
                            bool strip_path, enum tr_path_handling handling, char *out,
                            size_t out_cap);

#endif
