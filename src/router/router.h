/* SPDX-License-Identifier: MIT */
/* The router: compiled once per config snapshot, matched per request without allocating. It holds
 * Kong 3 routes (tr_router_add_route, matched first; router/kong3.h) and legacy apis with
 * Kong 0.7 semantics (kong-reference §1.3): host phase first (exact hosts in a hash table, then
 * wildcard hosts "*.example.com" / "example.*"), then the longest path that is a prefix of the
 * request path on a segment boundary. A route is registered with a host or a path; an api with
 * both compiles to two routes and is thus matched by either. */
#ifndef TR_ROUTER_ROUTER_H
#define TR_ROUTER_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "http/parser.h"

struct tr_router;

struct tr_router_match {
    void *route;            /* the value given to tr_router_add; borrowed */
    bool by_host;           /* matched in the host phase */
    struct tr_str host;     /* the host value that matched, port stripped (host phase) */
    size_t path_prefix_len; /* length of the matched request_path (path phase), else 0 */
};

/* Create an empty router. Never NULL (aborts on OOM). */
struct tr_router *tr_router_new(void);

/* Register a route. host and path may each be NULL/empty but not both; both are copied. A host is
 * matched case-insensitively (one trailing '.' ignored); a '*' is allowed only as the whole first
 * label ("*.example.com") or the whole last label ("example.*"), once. path must start with '/'
 * (trailing '/'s are ignored; "/" matches every path). route is borrowed and returned by match.
 * Returns 0, or TR_EINVAL when both are empty, the path does not start with '/', the host is longer
 * than 255 bytes or misplaces '*', or the router is already compiled. Duplicates: the first
 * registered wins. */
int tr_router_add(struct tr_router *r, const char *host, const char *path, void *route);

/* Freeze the router after the last add: build the lookup structures (calling it again does
 * nothing). Returns 0. */
int tr_router_compile(struct tr_router *r);

/* Match a request. hosts: candidate host values in order (the Host header, then each
 * X-Host-Override value), each possibly with ":port" (stripped here; after ']' for IPv6) and a
 * trailing '.'; num_hosts may be 0. Every candidate is tried against the exact hosts first, then
 * every candidate against the wildcards (among several matching wildcards the earliest
 * registered wins); values that are empty or longer than 255 bytes never match. Only when no
 * host matched, path (the normalized path, no query) picks the longest request_path equal to it
 * or followed in it by '/'. Returns true and fills *m on a match (m->host points into hosts[i]:
 * the value as sent with only the port removed); returns false and zeroes *m otherwise, also
 * before tr_router_compile. Allocates nothing; safe to call from several threads at once. */
bool tr_router_match(const struct tr_router *r, const struct tr_str *hosts, size_t num_hosts,
                     struct tr_str path, struct tr_router_match *m);

/* Number of routes registered successfully. */
size_t tr_router_count(const struct tr_router *r);

/* ---- Kong 3 routes ---------------------------------------------------------------------------
 * A route matches only when every field it sets matches (Kong 3.9.1's
 * traditional_compatible flavour, kong/router/transform.lua). Kong 3 routes are tried before the
 * legacy apis above; see tr_router_match_request. */

#define TR_ROUTER_PROTO_HTTP 1u
#define TR_ROUTER_PROTO_HTTPS 2u

/* Regex captures reported by a match, group 0 (the whole match) included. A regex with more
 * groups still matches; groups from TR_ROUTER_MAX_CAPTURES on are not reported. */
#define TR_ROUTER_MAX_CAPTURES 16

/* One header condition: name (not "host") and its values (any may match). */
struct tr_route_header {
    const char *name;          /* borrowed for the call */
    const char *const *values; /* borrowed; a value "~*re" is a case-insensitive regex */
    size_t num_values;         /* >= 1 */
};

/* A Kong 3 route as the router needs it. Every array may be NULL with its count 0; everything is
 * copied by tr_router_add_route. */
struct tr_route_spec {
    unsigned protocols;         /* TR_ROUTER_PROTO_* bits, 0 = both; reported back, not matched */
    const char *const *methods; /* exact, case-sensitive ("GET") */
    size_t num_methods;
    const char *const *hosts; /* "a.com", "*.a.com", "a.*", each with an optional ":port" */
    size_t num_hosts;
    const char *const *paths; /* "/prefix" (plain string prefix) or "~/regex" (anchored) */
    size_t num_paths;
    const struct tr_route_header *headers;
    size_t num_headers;
    const char *const *snis; /* exact or wildcard like hosts, no port; https requests only */
    size_t num_snis;
    int64_t regex_priority; /* orders routes with a regex path */
    int64_t created_at;     /* seconds; the older route wins a tie */
};

/* What tr_router_match_request looks at. Every slice is borrowed for the call. */
struct tr_router_request {
    struct tr_str method;
    unsigned protocol; /* TR_ROUTER_PROTO_HTTP or TR_ROUTER_PROTO_HTTPS */
    /* Candidate hosts as for tr_router_match (the Host header, then each X-Host-Override value).
     * Kong 3 routes read only hosts[0], the Host header, as Kong 3 does. */
    const struct tr_str *hosts;
    size_t num_hosts;
    unsigned port;      /* the listener's port: the port of a Host value that names none */
    struct tr_str path; /* normalized, no query */
    const struct tr_http_header *headers; /* the request's, as parsed */
    size_t num_headers;
    struct tr_str sni; /* the TLS SNI, ptr NULL when none */
};

/* A named capture of a regex path: group number and name (owned by the router). */
struct tr_router_capture_name {
    const char *name;
    uint32_t group;
};

struct tr_router_result {
    void *route;           /* the value given to tr_router_add_route or tr_router_add; borrowed */
    bool is_route;         /* a Kong 3 route (else a legacy api) */
    bool by_host;          /* legacy api matched in the host phase */
    bool by_regex;         /* Kong 3 route matched by a regex path */
    unsigned protocols;    /* the route's protocols (TR_ROUTER_PROTO_*), for the 426 check */
    struct tr_str host;    /* the host value that matched, port removed; empty when none */
    size_t path_start;     /* the matched part of path: [path_start, path_end); a plain */
    size_t path_end;       /* prefix or a legacy path starts at 0; 0, 0 when no path matched */
    uint32_t num_captures; /* groups reported in captures (group 0 included), 0 unless by_regex */
    /* Offsets into request path: group i is [captures[2i], captures[2i+1]); an unset group has
     * both SIZE_MAX. */
    size_t captures[2 * TR_ROUTER_MAX_CAPTURES];
    const struct tr_router_capture_name *names; /* of the matched regex; valid while the router */
    size_t num_names;
};

/* Register a Kong 3 route. spec is read during the call only; route is borrowed and returned by
 * match. Hosts, snis and header names compare case-insensitively; values starting with "~" in
 * paths and "~*" in header values compile once here (PCRE2, JIT when available). Returns 0, or
 * TR_EINVAL with a message in err (capacity err_cap, NUL-terminated, may be NULL) naming the
 * field and the bad entry: a route that sets none of methods, hosts, headers, paths (or snis
 * for https), a regex that does not compile ("invalid regex: '<re>' (PCRE returned: ...)"), a
 * misplaced or repeated '*', a bad port, a path not starting with '/' or '~/', an empty value,
 * a "host" header, or a router already compiled. */
int tr_router_add_route(struct tr_router *r, const struct tr_route_spec *spec, void *route,
                        char *err, size_t err_cap);

/* Match a request: the Kong 3 routes first, in Kong's priority order (docs/internals/router.md),
 * and only when none matches the legacy apis exactly as tr_router_match (Kong 0.13-0.15 tried
 * routes before apis). Returns true and fills *res, or false with *res zeroed (also before
 * tr_router_compile). Allocates nothing per call (regex matching uses a match block cached per
 * thread, made on a thread's first regex match); safe to call from several threads at once.
 * Every slice in *res points into *req's buffers or the router. */
bool tr_router_match_request(const struct tr_router *r, const struct tr_router_request *req,
                             struct tr_router_result *res);

/* Number of Kong 3 routes registered successfully. */
size_t tr_router_route_count(const struct tr_router *r);

/* Free the router, its copies of hosts, paths and regexes (not the routes). NULL is fine. */
void tr_router_free(struct tr_router *r);

#endif
