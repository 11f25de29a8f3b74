/* SPDX-License-Identifier: MIT */
/* URLs: parsing an api's upstream_url, normalizing a request path before routing (security
 * profile P5), and building the path sent upstream (Kong 0.7 strip/join rules). */
#ifndef TR_HTTP_URL_H
#define TR_HTTP_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

struct tr_url {
    struct tr_str scheme; /* "http" or "https", always lower-case (a static string) */
    struct tr_str host;   /* reg-name, IPv4, or IPv6 without brackets */
    uint16_t port;        /* explicit port, or 80/443 by scheme */
    bool has_port;        /* the URL named a port */
    bool is_ipv6;         /* host was bracketed */
    struct tr_str path;   /* path as given (may be empty); no query */
    struct tr_str query;  /* query without '?' (may be empty) */
};

/* Parse an absolute http/https URL (scheme case-insensitive). host is a reg-name of unreserved
 * characters in non-empty labels (one trailing '.' allowed; all-numeric names must be a strict
 * dotted-quad IPv4) or a bracketed IPv6 address. Slices other than scheme point into s. Returns
 * 0, or TR_EINVAL when the scheme is not http/https, the host is empty/invalid, the port is not
 * 1..65535 (or empty), there is userinfo ('@'), a fragment ('#'), or a byte outside 0x21..0x7E. */
int tr_url_parse(struct tr_str s, struct tr_url *url);

/* Normalize a request path per P5 into out (capacity out_cap, which must be >= path.len + 1):
 * percent-decode only unreserved characters, keep %2F/%5C encoded (or reject them when
 * reject_escaped_slashes), reject malformed escapes, %00, '#', '?', raw '\', bytes outside
 * 0x21..0x7E and escaped bytes that are not valid UTF-8, then merge runs of '/' and remove dot
 * segments (RFC 3986 §5.2.4: "/a/b/.." gives "/a/"); a "." or ".." segment with a ';' parameter
 * is rejected. Escapes kept encoded are emitted with upper-case hex. out is NUL-terminated.
 * Returns the normalized length (> 0, always starting with '/', never more than path.len), or
 * TR_EBADREQ (also when path does not start with '/' or out_cap is too small). Idempotent. */
int tr_url_normalize_path(struct tr_str path, bool reject_escaped_slashes, char *out,
                          size_t out_cap);

/* Build the upstream path (Kong 0.7, kong-reference §1.3 step 6) into out:
 *   upstream_path  path of upstream_url (may be empty or "/"; a trailing '/' is dropped
 *                  before joining);
 *   req_path       the normalized request path;
 *   strip_prefix   the matched request_path to remove when req_path starts with it (a trailing
 *                  '/' on it is ignored), or an empty slice for no stripping.
 * Examples (request_path /mockbin): strip, "/mockbin" -> "/"; strip, "/mockbin/x" -> "/x";
 * upstream "/v1", strip, "/mockbin/x" -> "/v1/x"; upstream "/v1", strip, "/mockbin" -> "/v1";
 * upstream "/v1" or "/v1/", no strip, "/" -> "/v1/". A '/' is put between the parts whenever
 * the second does not start with one (Kong would glue them, which only a strip off a segment
 * boundary can cause). The full table is in tests/unit/test_url.c. out is not NUL-terminated.
 * Returns the length written, or TR_ETOOLARGE if out_cap is too small. The result always starts
 * with '/'. */
int tr_url_join_upstream_path(struct tr_str upstream_path, struct tr_str req_path,
                              struct tr_str strip_prefix, char *out, size_t out_cap);

/* A Host value (or an authority) without its ":port"; an IPv6 literal keeps its brackets. */
struct tr_str tr_url_host_without_port(struct tr_str host);

#endif
