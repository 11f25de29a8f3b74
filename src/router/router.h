/* SPDX-License-Identifier: MIT */
/* The router: compiled once per config snapshot, matched per request without allocating.
 * Kong 0.7 semantics (kong-reference §1.3): host phase first (exact hosts in a hash table, then
 * wildcard hosts "*.example.com" / "example.*"), then the longest path that is a prefix of the
 * request path on a segment boundary. A route is registered with a host or a path; an api with
 * both compiles to two routes and is thus matched by either. */
#ifndef TR_ROUTER_ROUTER_H
#define TR_ROUTER_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

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

/* Free the router and its copies of hosts and paths (not the routes). NULL is fine. */
void tr_router_free(struct tr_router *r);

#endif
