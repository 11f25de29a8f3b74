/* SPDX-License-Identifier: MIT */
/* The Kong 3 half of the router (internal to src/router/): routes as compiled by kong3_route.c
 * (validation, regexes, priority) and indexed and matched by kong3.c. router.c owns one
 * struct tr__k3 per router and calls it before the legacy apis. */
#ifndef TR_ROUTER_KONG3_H
#define TR_ROUTER_KONG3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "router/router.h"

struct tr__k3;

/* A host or an SNI pattern. For "*.a.com" name is ".a.com" (the host must end with it and be
 * longer); for "a.*" name is "a." (the host must start with it and be longer). */
enum tr__k3_host_kind { TR__K3_EXACT, TR__K3_ENDS, TR__K3_STARTS };

struct tr__re; /* regex_cache.h */

struct tr__k3_host {
    char *name; /* owned, lower-case */
    uint32_t len;
    uint8_t kind; /* enum tr__k3_host_kind */
    int32_t port; /* -1: any port */
};

/* A path: a plain prefix, or a regex (re != NULL) with the literal text every match starts
 * with (lit, a prefix of the request path whenever the regex matches), used as its index key. */
struct tr__k3_path {
    char *str; /* owned: the plain prefix, or the regex without '~' */
    uint32_t len;
    void *re;              /* pcre2_code held by re_ref, or NULL for a plain prefix */
    struct tr__re *re_ref; /* one reference to the shared compiled regex (regex_cache.h) */
    uint32_t lit_len;    /* regex: length of the literal prefix (its bytes are str's first ones) */
    uint32_t num_groups; /* regex: capture groups reported, group 0 included, at most
                            TR_ROUTER_MAX_CAPTURES */
    struct tr_router_capture_name *names; /* owned; names point into the pcre2 name table */
    uint32_t num_names;
};

struct tr__k3_value {
    char *str; /* owned, lower-case (plain) or the regex source */
    uint32_t len;
    void *re;              /* pcre2_code (case-insensitive, unanchored) held by re_ref, or NULL */
    struct tr__re *re_ref; /* one reference to the shared compiled regex (regex_cache.h) */
};

struct tr__k3_header {
    char *name; /* owned, lower-case, '_' written '-' (Kong compares them as one) */
    uint32_t len;
    struct tr__k3_value *values; /* owned */
    uint32_t num_values;
};

/* One registered route. Its paths are grouped (regexes first, then plain prefixes by length)
 * because Kong splits a route into one route per group, each with its own priority. */
struct tr__k3_route {
    void *route; /* borrowed */
    unsigned protocols;
    char **methods; /* owned */
    uint32_t num_methods;
    struct tr__k3_host *hosts; /* owned */
    uint32_t num_hosts;
    struct tr__k3_path *paths; /* owned, grouped as said above */
    uint32_t num_paths;
    struct tr__k3_header *headers; /* owned */
    uint32_t num_headers;
    struct tr__k3_host *snis; /* owned */
    uint32_t num_snis;
    int64_t regex_priority;
    int64_t created_at;
    uint32_t seq; /* registration order */
};

/* A route restricted to one group of its paths (or the whole route when it has no path): the
 * unit that gets a priority and is matched. */
struct tr__k3_variant {
    const struct tr__k3_route *rt;  /* borrowed from the table of routes */
    uint32_t path_first, num_paths; /* the group: rt->paths[path_first ..] */
    /* The priority, compared field by field in this order (higher first, then the older
     * created_at, then the earlier seq). */
    uint8_t weight;       /* how many of methods, hosts, headers, paths, snis are set */
    bool plain_hosts;     /* hosts set and none has a '*' */
    uint16_t num_headers; /* capped at 255 */
    bool is_regex;
    int64_t regex_priority; /* 0 unless is_regex */
    uint32_t plain_len;     /* length of the group's plain prefixes (& 0x7FFFF), else 0 */
    /* Ties under Kong 3.9's key fall to the traditional router's rules (traditional.lua
     * MATCH_RULES bit order, then MATCH_SUBRULES.HAS_WILDCARD_HOST_PORT). */
    uint8_t category; /* host 0x40, header 0x20, uri 0x10, method 0x08, sni 0x04 */
    bool wild_port;   /* a wildcard host names a port */
    bool host_port;   /* any host names a port (traditional.lua looks up "host:port" first) */
};

/* kong3_route.c: parse and validate spec into *rt (zeroed first). Returns 0 or TR_EINVAL with
 * a message in err; *rt is freed on failure. */
int tr__k3_route_init(struct tr__k3_route *rt, const struct tr_route_spec *spec, void *route,
                      char *err, size_t err_cap);
void tr__k3_route_free(struct tr__k3_route *rt);

/* kong3_route.c: write rt's variants to out (one per path group, or one when rt has no path;
 * never more than max(1, rt->num_paths)) and return how many. */
size_t tr__k3_route_variants(const struct tr__k3_route *rt, struct tr__k3_variant *out,
                             size_t out_cap);

/* kong3_route.c: < 0 when a goes before b. */
int tr__k3_variant_cmp(const struct tr__k3_variant *a, const struct tr__k3_variant *b);

/* kong3.c */
struct tr__k3 *tr__k3_new(void);
int tr__k3_add(struct tr__k3 *k, const struct tr_route_spec *spec, void *route, char *err,
               size_t err_cap);
void tr__k3_compile(struct tr__k3 *k);
bool tr__k3_match(const struct tr__k3 *k, const struct tr_router_request *req,
                  struct tr_router_result *res);
size_t tr__k3_count(const struct tr__k3 *k);
void tr__k3_free(struct tr__k3 *k);

#endif
