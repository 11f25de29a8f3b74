/* SPDX-License-Identifier: MIT */
/* Unit tests for the Kong 3 routes of the router (traditional_compatible flavour) and the
 * Kong 3 upstream path. The tables are ported from Kong 3.9.1 spec/01-unit/08-router_spec.lua
 * (each group names the describe/it blocks it comes from) and
 * spec/fixtures/router_path_handling_tests.lua; the rest covers what the spec leaves out
 * (regex_priority, created_at, registration order, captures, legacy apis, bad input). */
#include "router/router.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core/err.h"
#include "http/url.h"
#include "router/regex_cache.h"
#include "router/upstream_path.h"

#define MAXV 6

struct hdef {
    const char *name;
    const char *values[MAXV];
};

/* A route of a table: NULL-ended lists. */
struct rdef {
    const char *hosts[MAXV];
    const char *paths[MAXV];
    const char *methods[MAXV];
    const char *snis[MAXV];
    struct hdef headers[4];
    int64_t regex_priority;
    int64_t created_at;
    unsigned protocols;
};

static int ids[64];
#define ID(n) ((void *)&ids[(n)])

static size_t count(const char *const *v)
{
    size_t n = 0;
    while (n < MAXV && v[n])
        n++;
    return n;
}

static int add(struct tr_router *r, const struct rdef *d, void *route, char *err, size_t cap)
{
    struct tr_route_header hs[4];
    size_t nh = 0;
    for (; nh < 4 && d->headers[nh].name; nh++)
        hs[nh] = (struct tr_route_header){d->headers[nh].name, d->headers[nh].values,
                                          count(d->headers[nh].values)};
    struct tr_route_spec spec = {
        .protocols = d->protocols,
        .methods = d->methods,
        .num_methods = count(d->methods),
        .hosts = d->hosts,
        .num_hosts = count(d->hosts),
        .paths = d->paths,
        .num_paths = count(d->paths),
        .headers = hs,
        .num_headers = nh,
        .snis = d->snis,
        .num_snis = count(d->snis),
        .regex_priority = d->regex_priority,
        .created_at = d->created_at,
    };
    return tr_router_add_route(r, &spec, route, err, cap);
}

/* Routes of a table get ids 1..n (0 stays free for "no match"). */
static struct tr_router *build(const struct rdef *defs, size_t n)
{
    struct tr_router *r = tr_router_new();
    char err[256];
    for (size_t i = 0; i < n; i++) {
        int rc = add(r, &defs[i], ID(i + 1), err, sizeof(err));
        if (rc != 0)
            fprintf(stderr, "route %zu: %s\n", i + 1, err);
        TR_CHECK_INT(rc, 0);
    }
    TR_CHECK_INT(tr_router_compile(r), 0);
    return r;
}

/* A request of a table: headers as "name: value" strings. */
struct qdef {
    const char *method;
    const char *path;
    const char *host; /* NULL: no Host header */
    const char *headers[MAXV];
    const char *sni;
    bool https;
    int want; /* route number, 0 for none */
};

static struct tr_router_result res;

static int run(const struct tr_router *r, const struct qdef *q)
{
    struct tr_http_header hs[MAXV];
    size_t nh = 0;
    for (; nh < MAXV && q->headers[nh]; nh++) {
        const char *h = q->headers[nh];
        const char *colon = strchr(h, ':');
        hs[nh].name = (struct tr_str){h, (size_t)(colon - h)};
        hs[nh].value = tr_str_from_cstr(colon + 2);
    }
    struct tr_str host = q->host ? tr_str_from_cstr(q->host) : TR_STR_NULL;
    struct tr_router_request req = {
        .method = tr_str_from_cstr(q->method ? q->method : "GET"),
        .protocol = q->https ? TR_ROUTER_PROTO_HTTPS : TR_ROUTER_PROTO_HTTP,
        .hosts = &host,
        .num_hosts = q->host ? 1 : 0,
        .port = q->https ? 443 : 80,
        .path = tr_str_from_cstr(q->path ? q->path : "/"),
        .headers = hs,
        .num_headers = nh,
        .sni = q->sni ? tr_str_from_cstr(q->sni) : TR_STR_NULL,
    };
    if (!tr_router_match_request(r, &req, &res))
        return 0;
    return (int)((int *)res.route - ids);
}

static void check_table(const char *name, const struct rdef *defs, size_t nd, const struct qdef *qs,
                        size_t nq)
{
    struct tr_router *r = build(defs, nd);
    for (size_t i = 0; i < nq; i++) {
        int got = run(r, &qs[i]);
        if (got != qs[i].want)
            fprintf(stderr, "%s: request %zu (%s %s host %s): route %d, want %d\n", name, i,
                    qs[i].method ? qs[i].method : "GET", qs[i].path ? qs[i].path : "/",
                    qs[i].host ? qs[i].host : "-", got, qs[i].want);
        TR_CHECK_INT(got, qs[i].want);
    }
    tr_router_free(r);
}

#define TABLE(name, defs, qs)                                                                      \
    check_table(name, defs, sizeof(defs) / sizeof(defs[0]), qs, sizeof(qs) / sizeof(qs[0]))

/* ---- describe("select()"): the shared use_case of 15 routes ---------------------------------- */

static const struct rdef select_routes[] = {
    /* 1 */ {.hosts = {"domain-1.org", "domain-2.org"}},
    /* 2 */ {.methods = {"TRACE"}},
    /* 3 */ {.paths = {"/my-route"}},
    /* 4 */ {.paths = {"/route-4"}, .hosts = {"domain-1.org", "domain-2.org"}},
    /* 5 */ {.hosts = {"domain-1.org", "domain-2.org"}, .methods = {"POST", "PUT", "PATCH"}},
    /* 6 */ {.methods = {"POST", "PUT", "PATCH"}, .paths = {"/route-6"}},
    /* 7 */
    {.hosts = {"domain-with-uri-1.org", "domain-with-uri-2.org"},
     .methods = {"POST", "PUT", "PATCH"},
     .paths = {"/my-route-uri"}},
    /* 8 serviceless */ {.paths = {"/serviceless"}},
    /* 9 */ {.headers = {{"location", {"my-location-1", "my-location-2"}}}},
    /* 10 */ {.headers = {{"location", {"my-location-1"}}, {"version", {"v1", "v2"}}}},
    /* 11 */
    {.headers = {{"location", {"my-location-1", "my-location-2"}}}, .paths = {"/headers-uri"}},
    /* 12 */
    {.hosts = {"domain-with-headers-1.org", "domain-with-headers-2.org"},
     .headers = {{"location", {"my-location-1", "my-location-2"}}},
     .methods = {"POST", "PUT", "PATCH"},
     .paths = {"/headers-host-uri-method"}},
    /* 13 */ {.hosts = {"domain-1.org:321", "domain-2.org"}},
    /* 14 */ {.hosts = {"domain-3.org:321"}},
    /* 15 */ {.headers = {{"user_agent", {"~*windows|linux|os\\s+x\\s*[\\d\\._]+|solaris|bsd"}}}},
};

static const struct qdef select_requests[] = {
    /* it("[host]") */ {.path = "/", .host = "domain-1.org", .want = 1},
    /* it("[host] ignores default port") */ {.host = "domain-1.org:80", .want = 1},
    /* it_trad_only("[host] weird port matches no-port route"): the same holds here */
    {.host = "domain-1.org:123", .want = 1},
    /* it("[host] matches specific port") */ {.host = "domain-1.org:321", .want = 13},
    /* it("[host] matches specific port on port-only route") */
    {.host = "domain-3.org:321", .want = 14},
    /* it("[host] fails just because of port on port-only route") */
    {.host = "domain-3.org:123", .want = 0},
    /* it("[uri]") */ {.path = "/my-route", .host = "domain.org", .want = 3},
    /* it("[uri + empty host]") */ {.path = "/my-route-uri", .host = "", .want = 3},
    /* it("[method]") */ {.method = "TRACE", .host = "domain.org", .want = 2},
    /* it("[host + uri]") */ {.path = "/route-4", .host = "domain-1.org", .want = 4},
    /* it("[host + method]") */ {.method = "POST", .host = "domain-1.org", .want = 5},
    /* it("[uri + method]") */
    {.method = "PUT", .path = "/route-6", .host = "domain.org", .want = 6},
    /* it("[host + uri + method]") */
    {.method = "PUT", .path = "/my-route-uri", .host = "domain-with-uri-2.org", .want = 7},
    /* it("single [headers] value") */
    {.headers = {"location: my-location-1"}, .want = 9},
    {.headers = {"location: my-location-2"}, .want = 9},
    {.headers = {"location: my-location-3", "location: my-location-2"}, .want = 9},
    {.headers = {"location: my-location-3"}, .want = 0},
    {.headers = {"location: my-location-3", "location: foo"}, .want = 0},
    {.headers = {"user-agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/83.0.4103.116 Safari/537.36"},
     .want = 15},
    /* it("multiple [headers] values") */
    {.headers = {"location: my-location-1", "version: v1"}, .want = 10},
    {.headers = {"location: my-location-1", "version: v2"}, .want = 10},
    {.headers = {"location: my-location-3", "location: my-location-1", "version: v2"}, .want = 10},
    {.headers = {"location: my-location-3", "location: my-location-2", "version: v2"}, .want = 9},
    /* it("[headers + uri]") */
    {.path = "/headers-uri", .headers = {"location: my-location-2"}, .want = 11},
    /* it("[host + headers + uri + method]") */
    {.method = "PUT",
     .path = "/headers-host-uri-method",
     .host = "domain-with-headers-1.org",
     .headers = {"location: my-location-2"},
     .want = 12},
    /* it("[serviceless]") */ {.path = "/serviceless", .want = 8},
    /* describe("[uri prefix]") it("matches when given [uri] is in request URI prefix") */
    {.path = "/my-route/some/path", .host = "domain.org", .want = 3},
    /* describe("misses") */
    /* it("invalid [host]") */ {.host = "domain-3.org", .want = 0},
    /* it("invalid host in [host + uri]") */
    {.path = "/route-4", .host = "domain-3.org", .want = 0},
    /* it("invalid method in [host + uri + method]") */
    {.path = "/some-uri", .host = "domain-with-uri-2.org", .want = 0},
    /* it("invalid uri in [host + uri + method]") */
    {.method = "PUT", .path = "/some-uri-foo", .host = "domain-with-uri-2.org", .want = 0},
    /* it("does not match when given [uri] is in URI but not in prefix") */
    {.path = "/some-other-prefix/my-route", .host = "domain.org", .want = 0},
    /* it("invalid [headers]") */ {.headers = {"location: invalid-location"}, .want = 0},
    /* it("invalid headers in [headers + uri]") */
    {.path = "/headers-uri", .headers = {"location: invalid-location"}, .want = 0},
    /* it("invalid headers in [headers + host + uri + method]") */
    {.method = "PUT",
     .path = "/headers-host-uri-method",
     .headers = {"location: invalid-location", "host: domain-with-headers-1.org"},
     .want = 0},
};

/* describe("edge-cases") it("[host] and [uri] have higher priority than [method]"): routes 1-7
 * of the select() use case. */
static const struct qdef edge_requests[] = {
    {.method = "TRACE", .host = "domain-2.org", .want = 1},
    {.method = "TRACE", .path = "/my-route", .host = "domain.org", .want = 3},
};

/* describe("root / [uri]"): "/" first, then routes 1-7 of the select() use case. */
static const struct rdef root_routes[] = {
    {.paths = {"/"}},
    {.hosts = {"domain-1.org", "domain-2.org"}},
    {.methods = {"TRACE"}},
    {.paths = {"/my-route"}},
};
static const struct qdef root_requests[] = {
    /* it("request with [method]") */ {.host = "domain.org", .want = 1},
    /* it("does not supersede another route") */
    {.path = "/my-route", .host = "domain.org", .want = 4},
    {.path = "/my-route/hello/world", .host = "domain.org", .want = 4},
    /* it("acts as a catch-all route") */ {.path = "/foobar/baz", .host = "domain.org", .want = 1},
    /* a method route still beats "/" only where it matches: both weight 1, "/" is longer */
    {.method = "TRACE", .host = "domain.org", .want = 1},
};

/* ---- describe("[uri prefix]") -----------------------------------------------------------------
 */

/* it("does not supersede another route with a longer [uri]") */
static const struct rdef longer_uri_routes[] = {{.paths = {"/my-route/hello"}},
                                                {.paths = {"/my-route"}}};
static const struct qdef longer_uri_requests[] = {
    {.path = "/my-route/hello", .host = "domain.org", .want = 1},
    {.path = "/my-route/hello/world", .host = "domain.org", .want = 1},
    {.path = "/my-route", .host = "domain.org", .want = 2},
    {.path = "/my-route/world", .host = "domain.org", .want = 2},
};

/* it("... while [methods] are also defined") */
static const struct rdef longer_uri_methods_routes[] = {
    {.methods = {"POST", "PUT", "GET"}, .paths = {"/my-route"}},
    {.methods = {"POST", "PUT", "GET"}, .paths = {"/my-route/hello"}},
};
/* it("... while [hosts] are also defined") */
static const struct rdef longer_uri_hosts_routes[] = {
    {.hosts = {"domain.org"}, .paths = {"/my-route"}},
    {.hosts = {"domain.org"}, .paths = {"/my-route/hello"}},
};
static const struct qdef longer_uri_2_requests[] = {
    {.path = "/my-route/hello", .host = "domain.org", .want = 2},
    {.path = "/my-route/hello/world", .host = "domain.org", .want = 2},
    {.path = "/my-route", .host = "domain.org", .want = 1},
    {.path = "/my-route/world", .host = "domain.org", .want = 1},
};

/* it("... when a better [uri] match exists for another [host]") */
static const struct rdef better_uri_routes[] = {
    {.hosts = {"example.com"}, .paths = {"/my-route"}},
    {.hosts = {"example.com"}, .paths = {"/my-route/hello"}},
    {.hosts = {"example.net"}, .paths = {"/my-route/hello/world"}},
};
static const struct qdef better_uri_requests[] = {
    {.path = "/my-route/hello/world", .host = "example.com", .want = 2},
    {.path = "/my-route/hello/world/and/goodnight", .host = "example.com", .want = 2},
};

/* it("only matches [uri prefix] as a prefix (anchored mode)") */
static const struct rdef anchored_routes[] = {
    {.paths = {"/something/my-route"}},
    {.hosts = {"example.com"}, .paths = {"/my-route"}},
};
static const struct qdef anchored_requests[] = {
    {.path = "/something/my-route", .host = "example.com", .want = 1},
};

/* Kong issue #3483: no segment boundary, "/aa" matches "/aaaa". */
static const struct rdef plain_prefix_routes[] = {{.paths = {"/aa"}}};
static const struct qdef plain_prefix_requests[] = {
    {.path = "/aaaa", .want = 1},
    {.path = "/aa", .want = 1},
    {.path = "/a", .want = 0},
    {.path = "/AA", .want = 0},
};

/* ---- describe("[uri regex]") ------------------------------------------------------------------
 */

static const struct rdef regex_routes[] = {
    /* 1 it("matches with [uri regex]") */ {.paths = {"~/users/\\d+/profile"}},
    /* 2-4 it("matches the right route when several ones have a [uri regex]") */
    {.paths = {"~/route/persons/\\d{3}"}},
    {.paths = {"~/route/persons/\\d{3}/following"}},
    {.paths = {"~/route/persons/\\d{3}/[a-z]+"}},
    /* 5 it("matches from the beginning of the request URI [uri regex]") */
    {.paths = {"~/prefix/[0-9]+"}},
};
static const struct qdef regex_requests[] = {
    {.path = "/users/123/profile", .host = "domain.org", .want = 1},
    {.path = "/route/persons/456", .host = "domain.org", .want = 2},
    {.path = "/prefix/123", .host = "domain.org", .want = 5},
    {.path = "/extra/prefix/123", .host = "domain.org", .want = 0},
};

/* it("matches a [uri regex] even if a [prefix uri] got a match") */
static const struct rdef regex_over_prefix_routes[] = {
    {.paths = {"/route/persons"}},
    {.paths = {"~/route/persons/\\d+/profile"}},
};
static const struct qdef regex_over_prefix_requests[] = {
    {.path = "/route/persons/123/profile", .host = "domain.org", .want = 2},
    {.path = "/route/persons/abc/profile", .host = "domain.org", .want = 1},
};

/* it("matches a [uri regex] even if a [uri] got an exact match") */
static const struct rdef regex_over_exact_routes[] = {
    {.paths = {"/route/fixture"}},
    {.paths = {"~/route/(fixture)"}},
};
static const struct qdef regex_over_exact_requests[] = {
    {.path = "/route/fixture", .host = "domain.org", .want = 2},
};

/* it("matches a [uri regex + host] even if a [prefix uri] got a match") */
static const struct rdef regex_host_routes[] = {
    {.hosts = {"route.com"}, .paths = {"/pat"}},
    {.hosts = {"route.com"}, .paths = {"/path"}, .methods = {"POST"}},
    {.hosts = {"route.com"}, .paths = {"~/(path)"}},
};
static const struct qdef regex_host_requests[] = {
    {.path = "/path", .host = "route.com", .want = 3},
};

/* ---- describe("[wildcard host]") --------------------------------------------------------------
 */

static const struct rdef wildcard_routes[] = {
    /* 1 */ {.hosts = {"*.route.com"}},
    /* 2 */ {.hosts = {"route.*"}},
    /* 3 it("matches port-specific routes") */ {.hosts = {"*.route.net:123"}},
    /* 4 */ {.hosts = {"route.*:123"}},
    /* 5 it("prefers port-specific even for http default port") */ {.hosts = {"route.*:80"}},
};
static const struct qdef wildcard_requests[] = {
    /* it("matches leftmost wildcards") */ {.host = "foo.route.com", .want = 1},
    /* it("matches rightmost wildcards") */ {.host = "route.org", .want = 5},
    /* it("matches any port in request") */
    {.host = "route.org:1234", .want = 2},
    {.host = "foo.route.com:123", .want = 1},
    /* it("matches port-specific routes") */
    {.host = "foo.route.net:123", .want = 3},
    {.host = "foo.route.net:456", .want = 0},
    {.host = "route.org:123", .want = 4},
    /* it("prefers port-specific even for http default port"), explicit and implicit 80 */
    {.host = "route.org:80", .want = 5},
    {.host = "route.org", .want = 5},
    /* the wildcard needs at least one character (".+") */
    {.host = ".route.com", .want = 0},
    {.host = "route.", .want = 0},
    {.host = "FOO.Route.COM", .want = 1},
};

/* it("prefers port-specific even for https default port") */
static const struct rdef wildcard_https_routes[] = {
    {.hosts = {"*.route.com"}},
    {.hosts = {"route.*"}},
    {.hosts = {"route.*:443"}},
};
static const struct qdef wildcard_https_requests[] = {
    {.host = "route.org:123", .want = 2},
    {.host = "route.org:443", .want = 3},
    {.host = "route.org", .https = true, .want = 3},
    {.host = "route.org", .want = 2},
};

/* it("does not take precedence over a plain host") */
static const struct rdef plain_over_wild_routes[] = {
    {.hosts = {"plain.route.com"}},
    {.hosts = {"*.route.com"}},
    {.hosts = {"route.*"}},
    {.hosts = {"route.com"}},
};
static const struct qdef plain_over_wild_requests[] = {
    {.host = "route.com", .want = 4},
    {.host = "route.org", .want = 3},
    {.host = "plain.route.com", .want = 1},
    {.host = "foo.route.com", .want = 2},
};

/* it("matches [wildcard host + path] even if a similar [plain host] exists") and
 * it("matches [plain host + path] even if a matching [wildcard host] exists") */
static const struct rdef wild_path_routes[] = {
    {.hosts = {"*.route.com"}, .paths = {"/path1"}},
    {.hosts = {"plain.route.com"}, .paths = {"/path2"}},
};
static const struct qdef wild_path_requests[] = {
    {.path = "/path1", .host = "plain.route.com", .want = 1},
    {.path = "/path2", .host = "plain.route.com", .want = 2},
};

/* it("submatch_weight [wildcard host port] > [wildcard host] ") */
static const struct rdef wild_port_routes[] = {
    {.hosts = {"route.*"}},
    {.hosts = {"route.*:80", "route.com.*"}},
};
static const struct qdef wild_port_requests[] = {{.host = "route.org:80", .want = 2}};

/* it("matches a [wildcard host + port] even if a [wildcard host] matched") */
static const struct rdef wild_ports_routes[] = {
    {.hosts = {"route.*"}},
    {.hosts = {"route.*:123"}},
    {.hosts = {"route.*:80"}},
};
static const struct qdef wild_ports_requests[] = {
    {.host = "route.org:123", .want = 2},
    {.host = "route.org", .want = 3},
};

/* it("matches [wildcard/plain + uri + method]") */
static const struct rdef wild_plain_routes[] = {
    {.hosts = {"*.route.com"}},
    {.hosts = {"route.*"}},
    {.hosts = {"*.domain.com", "example.com"}, .paths = {"/path"}, .methods = {"GET", "TRACE"}},
};
static const struct qdef wild_plain_requests[] = {
    {.method = "POST", .path = "/path", .host = "foo.domain.com", .want = 0},
    {.method = "GET", .path = "/path", .host = "foo.domain.com", .want = 3},
    {.method = "TRACE", .path = "/path", .host = "example.com", .want = 3},
};

/* describe("[wildcard host] + [uri regex]") */
static const struct rdef wild_regex_routes[] = {
    {.hosts = {"*.example.com"}, .paths = {"~/users/\\d+/profile"}},
    {.hosts = {"*.example.com"}, .paths = {"/users"}},
};
static const struct qdef wild_regex_requests[] = {
    {.path = "/users/123/profile", .host = "test.example.com", .want = 1},
    {.path = "/users", .host = "test.example.com", .want = 2},
};

/* IPv6 literals, with and without a port (describe("[IPv6 literal host]"), the parts that hold
 * for traditional_compatible: brackets are part of the name). */
static const struct rdef ipv6_routes[] = {
    {.hosts = {"[::12]"}},
    {.hosts = {"[::21]:321"}},
};
static const struct qdef ipv6_requests[] = {
    {.host = "[::12]", .want = 1},
    {.host = "[::12]:654", .want = 1},
    {.host = "[::21]:321", .want = 2},
    {.host = "[::21]:654", .want = 0},
};

/* ---- describe("[headers]") --------------------------------------------------------------------
 */

/* it("evaluates Routes with more [headers] first") */
static const struct rdef more_headers_routes[] = {
    {.headers = {{"version", {"v1", "v2"}}, {"user_agent", {"foo", "bar"}}}},
    {.headers = {{"version", {"v1", "v2"}},
                 {"user_agent", {"foo", "bar"}},
                 {"location", {"east", "west"}}}},
};
static const struct qdef more_headers_requests[] = {
    {.headers = {"version: v1", "user-agent: foo", "location: north", "location: west"}, .want = 2},
    {.headers = {"version: v1", "user-agent: foo", "location: north"}, .want = 1},
};

/* it("names are case-insensitive") */
static const struct rdef header_names_routes[] = {
    {.headers = {{"USER_AGENT", {"foo", "bar"}}}},
    {.headers = {{"user_agent", {"baz"}}}},
};
static const struct qdef header_names_requests[] = {
    {.headers = {"user_agent: foo"}, .want = 1},
    {.headers = {"USER_AGENT: baz"}, .want = 2},
    {.headers = {"User-Agent: baz"}, .want = 2},
};

/* it("matches values in a case-insensitive way") */
static const struct rdef header_values_routes[] = {
    {.headers = {{"user_agent", {"foo", "bar"}}}},
    {.headers = {{"user_agent", {"BAZ"}}}},
};
static const struct qdef header_values_requests[] = {
    {.headers = {"user-agent: FOO"}, .want = 1},
    {.headers = {"user-agent: baz"}, .want = 2},
    {.headers = {"user-agent: bazz"}, .want = 0},
};

/* it("more [headers] has priority over longer [paths]") */
static const struct rdef headers_paths_routes[] = {
    {.headers = {{"version", {"v1"}}}, .paths = {"/my-route/hello"}},
    {.headers = {{"version", {"v1"}}, {"location", {"us-east"}}}, .paths = {"/my-route"}},
};
static const struct qdef headers_paths_requests[] = {
    {.path = "/my-route/hello",
     .host = "domain.org",
     .headers = {"version: v1", "location: us-east"},
     .want = 2},
    {.path = "/my-route/hello/world",
     .host = "domain.org",
     .headers = {"version: v1", "location: us-east"},
     .want = 2},
    {.path = "/my-route/hello", .headers = {"version: v1"}, .want = 1},
};

/* ---- describe("[wildcard sni]") (flavor ~= "traditional") -------------------------------------
 */

static const struct rdef sni_routes[] = {
    {.snis = {"*.sni.test"}, .protocols = TR_ROUTER_PROTO_HTTPS},
    {.snis = {"sni.*"}, .protocols = TR_ROUTER_PROTO_HTTPS},
    {.snis = {"exact.test"}, .paths = {"/exact"}},
};
static const struct qdef sni_requests[] = {
    /* it("matches leftmost wildcards") */
    {.host = "any.test", .sni = "foo.sni.test", .https = true, .want = 1},
    {.host = "any.test", .sni = "foo.bar.sni.test", .https = true, .want = 1},
    /* it("matches rightmost wildcards") */
    {.host = "any.test", .sni = "sni.foo", .https = true, .want = 2},
    {.host = "any.test", .sni = "sni.foo.bar", .https = true, .want = 2},
    /* it("doesn't match wildcard") */
    {.host = "any.test", .sni = "bar.sni.foo", .https = true, .want = 0},
    {.host = "any.test", .sni = "foo.sni.test.bar", .https = true, .want = 0},
    /* exact SNIs; none sent; and transform.lua: SNIs do not bind plain http requests */
    {.path = "/exact", .sni = "exact.test", .https = true, .want = 3},
    {.path = "/exact", .sni = "other.test", .https = true, .want = 0},
    {.path = "/exact", .https = true, .want = 0},
    {.path = "/exact", .want = 3},
};

/* ---- describe("edge-cases") -------------------------------------------------------------------
 */

/* it("half [uri] and [host] match does not supersede another route") */
static const struct rdef half_uri_routes[] = {
    {.hosts = {"host1.com"}, .paths = {"/v1/path"}},
    {.hosts = {"host2.com"}, .paths = {"/"}},
};
static const struct qdef half_uri_requests[] = {
    {.path = "/v1/path", .host = "host1.com", .want = 1},
    {.path = "/v1/path", .host = "host2.com", .want = 2},
};

/* it("half [wildcard host] and [method] match does not supersede another route") */
static const struct rdef half_wild_routes[] = {
    {.hosts = {"host.*"}, .methods = {"GET"}},
    {.hosts = {"host.*"}, .methods = {"POST"}},
};
static const struct qdef half_wild_requests[] = {
    {.host = "host.com", .want = 1},
    {.method = "POST", .host = "host.com", .want = 2},
};

/* it("half [uri regex] and [method] match does not supersede another route") */
static const struct rdef half_regex_routes[] = {
    {.methods = {"GET"}, .paths = {"~/users/\\d+/profile"}},
    {.methods = {"POST"}, .paths = {"~/users/\\d*/profile"}},
};
static const struct qdef half_regex_requests[] = {
    {.path = "/users/123/profile", .host = "domain.org", .want = 1},
    {.method = "POST", .path = "/users/123/profile", .host = "domain.org", .want = 2},
};

/* it("[method] does not supersede [uri prefix]") */
static const struct rdef method_prefix_routes[] = {
    {.methods = {"GET"}},
    {.paths = {"/example"}},
};
static const struct qdef method_prefix_requests[] = {
    {.path = "/example", .host = "domain.org", .want = 2},
    {.path = "/example/status/200", .host = "domain.org", .want = 2},
};

/* it("[method] does not supersede [wildcard host]") */
static const struct rdef method_wild_routes[] = {
    {.methods = {"GET"}},
    {.hosts = {"domain.*"}},
};
static const struct qdef method_wild_requests[] = {
    {.host = "nothing.com", .want = 1},
    {.host = "domain.com", .want = 2},
};

/* describe("multiple routes of same category with conflicting values") */
static const struct rdef conflicting_routes[] = {
    {.hosts = {"domain.org"}, .paths = {"/my-uri"}},
    {.hosts = {"domain.org"}, .paths = {"/my-uri"}},
    {.hosts = {"domain.org"}, .paths = {"/my-uri"}},
    {.hosts = {"domain.org"}, .paths = {"/my-uri"}},
    {.hosts = {"domain.org"}, .paths = {"/my-uri"}},
    {.hosts = {"domain.org"}, .paths = {"/my-target-uri"}},
};
static const struct qdef conflicting_requests[] = {
    {.path = "/my-target-uri", .host = "domain.org", .want = 6},
    /* same priority: the earliest registered (same created_at) */
    {.path = "/my-uri", .host = "domain.org", .want = 1},
};

/* it_trad_only("does not supersede another route with a longer [uri prefix]"): Kong 3 splits a
 * route per path length (transform.lua split_routes_and_services_by_path), so here the "/a"
 * half of route 1 competes with its own length and loses to "/a/bb". */
static const struct rdef split_routes[] = {
    {.paths = {"/a", "/bbbbbbb"}},
    {.paths = {"/a/bb"}},
    /* exact hosts and three path groups: each group files the hosts (fuzz finding) */
    {.hosts = {"c.test", "e.test"}, .paths = {"/cc", "~/c/\\d", "/ccc"}},
};
static const struct qdef split_requests[] = {
    {.path = "/a/bb/foobar", .host = "domain.org", .want = 2},
    {.path = "/c/1", .host = "c.test", .want = 3},
    {.path = "/cc/x", .host = "c.test", .want = 3},
    {.path = "/c/x", .host = "d.test", .want = 0},
    {.path = "/bbbbbbb/x", .want = 1},
    {.path = "/a/x", .want = 1},
};

/* ---- priority rules the spec does not spell out -----------------------------------------------
 */

/* transform.lua get_priority: more fields set first; plain hosts before wildcards; more
 * headers; regex before plain; regex_priority; longest plain path; then the traditional
 * router's category order; then created_at; then registration order. */
static const struct rdef priority_routes[] = {
    /* 1 */ {.paths = {"~/p/\\d+"}, .regex_priority = 1},
    /* 2 */ {.paths = {"~/p/1"}, .regex_priority = 5},
    /* 3 */ {.paths = {"/p/1"}},
    /* 4 */ {.paths = {"/p/12"}},
    /* 5 */ {.paths = {"/q"}, .created_at = 200},
    /* 6 */ {.paths = {"/q"}, .created_at = 100},
    /* 7 */ {.paths = {"/q"}, .created_at = 100},
    /* 8 */ {.hosts = {"*.w.test"}, .paths = {"/w"}},
    /* 9 */ {.hosts = {"a.w.test"}, .paths = {"/"}},
    /* 10 */ {.hosts = {"*.h.test"}, .headers = {{"x-a", {"1"}}}},
    /* 11 */ {.hosts = {"a.h.test"}, .methods = {"GET"}},
    /* 12 */ {.paths = {"/r"}, .methods = {"GET"}},
    /* 13 */ {.paths = {"/r"}, .headers = {{"x-a", {"1"}}}},
    /* 14 */ {.paths = {"~/neg"}, .regex_priority = -1},
    /* 15 */ {.paths = {"~/ne"}},
};
static const struct qdef priority_requests[] = {
    {.path = "/p/1", .want = 2},                   /* higher regex_priority */
    {.path = "/p/7", .want = 1},                   /* only one regex matches */
    {.path = "/p/12x", .want = 2},                 /* regex beats the longer plain path */
    {.path = "/q/1", .want = 6},                   /* older created_at, then registration order */
    {.path = "/w", .host = "a.w.test", .want = 9}, /* plain hosts beat a longer path */
    {.host = "a.h.test", .headers = {"x-a: 1"}, .want = 11}, /* plain host before headers */
    {.host = "b.h.test", .headers = {"x-a: 1"}, .want = 10},
    {.path = "/r", .headers = {"x-a: 1"}, .want = 13}, /* more headers */
    {.path = "/neg", .want = 15},                      /* negative regex_priority sorts below 0 */
};

static void test_tables(void)
{
    TABLE("select", select_routes, select_requests);
    check_table("edge", select_routes, 7, edge_requests,
                sizeof(edge_requests) / sizeof(edge_requests[0]));
    TABLE("root", root_routes, root_requests);
    TABLE("longer_uri", longer_uri_routes, longer_uri_requests);
    TABLE("longer_uri_methods", longer_uri_methods_routes, longer_uri_2_requests);
    TABLE("longer_uri_hosts", longer_uri_hosts_routes, longer_uri_2_requests);
    TABLE("better_uri", better_uri_routes, better_uri_requests);
    TABLE("anchored", anchored_routes, anchored_requests);
    TABLE("plain_prefix", plain_prefix_routes, plain_prefix_requests);
    TABLE("regex", regex_routes, regex_requests);
    TABLE("regex_over_prefix", regex_over_prefix_routes, regex_over_prefix_requests);
    TABLE("regex_over_exact", regex_over_exact_routes, regex_over_exact_requests);
    TABLE("regex_host", regex_host_routes, regex_host_requests);
    TABLE("wildcard", wildcard_routes, wildcard_requests);
    TABLE("wildcard_https", wildcard_https_routes, wildcard_https_requests);
    TABLE("plain_over_wild", plain_over_wild_routes, plain_over_wild_requests);
    TABLE("wild_path", wild_path_routes, wild_path_requests);
    TABLE("wild_port", wild_port_routes, wild_port_requests);
    TABLE("wild_ports", wild_ports_routes, wild_ports_requests);
    TABLE("wild_plain", wild_plain_routes, wild_plain_requests);
    TABLE("wild_regex", wild_regex_routes, wild_regex_requests);
    TABLE("ipv6", ipv6_routes, ipv6_requests);
    TABLE("more_headers", more_headers_routes, more_headers_requests);
    TABLE("header_names", header_names_routes, header_names_requests);
    TABLE("header_values", header_values_routes, header_values_requests);
    TABLE("headers_paths", headers_paths_routes, headers_paths_requests);
    TABLE("sni", sni_routes, sni_requests);
    TABLE("half_uri", half_uri_routes, half_uri_requests);
    TABLE("half_wild", half_wild_routes, half_wild_requests);
    TABLE("half_regex", half_regex_routes, half_regex_requests);
    TABLE("method_prefix", method_prefix_routes, method_prefix_requests);
    TABLE("method_wild", method_wild_routes, method_wild_requests);
    TABLE("conflicting", conflicting_routes, conflicting_requests);
    TABLE("split", split_routes, split_requests);
    TABLE("priority", priority_routes, priority_requests);
}

/* describe("exec()") it("returns uri_captures from a [uri regex]"), it("uri_captures works well
 * with the optional capture group. Fix #13014"), it("returns no uri_captures from a [uri prefix]
 * match"), it("returns no uri_captures from a [uri regex] match without groups"). */
static void test_captures(void)
{
    static const struct rdef defs[] = {
        {.paths = {"~/users/(?P<user_id>\\d+)/profile/?(?<scope>[a-z]*)"}},
        {.paths = {"~/optional(/[a-z]+)?/(\\d+)"}},
        {.paths = {"/plain"}},
        {.paths = {"~/nogroups/\\d+"}},
        {.paths = {"~/many/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)(p)(q)(r)"}},
    };
    struct tr_router *r = build(defs, sizeof(defs) / sizeof(defs[0]));
    const char *path = "/users/1984/profile/email";
    TR_CHECK_INT(run(r, &(struct qdef){.path = path}), 1);
    TR_CHECK(res.is_route && res.by_regex);
    TR_CHECK_INT(res.path_start, 0);
    TR_CHECK_INT(res.path_end, strlen(path));
    TR_CHECK_INT(res.num_captures, 3);
    TR_CHECK_INT(res.captures[2], 7);
    TR_CHECK_INT(res.captures[3], 11); /* "1984" */
    TR_CHECK_INT(res.captures[4], 20);
    TR_CHECK_INT(res.captures[5], 25); /* "email" */
    TR_CHECK_INT(res.num_names, 2);
    TR_CHECK_STR(res.names[0].name, "scope"); /* PCRE2 keeps the name table sorted by name */
    TR_CHECK_INT(res.names[0].group, 2);
    TR_CHECK_STR(res.names[1].name, "user_id");
    TR_CHECK_INT(res.names[1].group, 1);

    TR_CHECK_INT(run(r, &(struct qdef){.path = "/optional/123"}), 2);
    TR_CHECK_INT(res.num_captures, 3);
    TR_CHECK(res.captures[2] == SIZE_MAX && res.captures[3] == SIZE_MAX);
    TR_CHECK_INT(res.captures[4], 10);
    TR_CHECK_INT(res.captures[5], 13);

    TR_CHECK_INT(run(r, &(struct qdef){.path = "/plain/x"}), 3);
    TR_CHECK(!res.by_regex);
    TR_CHECK_INT(res.num_captures, 0);
    TR_CHECK_INT(res.path_end, 6);

    TR_CHECK_INT(run(r, &(struct qdef){.path = "/nogroups/12/x"}), 4);
    TR_CHECK_INT(res.num_captures, 1);
    TR_CHECK_INT(res.path_end, 12);
    TR_CHECK_INT(res.num_names, 0);

    /* more groups than reported: still a match, the first TR_ROUTER_MAX_CAPTURES are given */
    TR_CHECK_INT(run(r, &(struct qdef){.path = "/many/abcdefghijklmnopqr"}), 5);
    TR_CHECK_INT(res.num_captures, TR_ROUTER_MAX_CAPTURES);
    TR_CHECK_INT(res.captures[2], 6);
    TR_CHECK_INT(res.captures[2 * 15], 20);
    tr_router_free(r);
}

/* Kong 0.13 tried routes before apis; legacy apis behave exactly as before. */
static void test_with_legacy_apis(void)
{
    struct tr_router *r = tr_router_new();
    static const struct rdef route = {.hosts = {"both.test"}, .paths = {"/r"}};
    TR_CHECK_INT(tr_router_add(r, "both.test", NULL, ID(20)), 0);
    TR_CHECK_INT(tr_router_add(r, NULL, "/api", ID(21)), 0);
    TR_CHECK_INT(add(r, &route, ID(1), NULL, 0), 0);
    TR_CHECK_INT(tr_router_compile(r), 0);
    TR_CHECK_INT(tr_router_count(r), 2);
    TR_CHECK_INT(tr_router_route_count(r), 1);

    TR_CHECK_INT(run(r, &(struct qdef){.path = "/r/x", .host = "both.test"}), 1);
    TR_CHECK(res.is_route);
    TR_CHECK_SLICE(res.host, "both.test");
    TR_CHECK_INT(run(r, &(struct qdef){.path = "/x", .host = "both.test:8000"}), 20);
    TR_CHECK(!res.is_route && res.by_host);
    TR_CHECK_SLICE(res.host, "both.test");
    TR_CHECK_INT(run(r, &(struct qdef){.path = "/api/x", .host = "other.test"}), 21);
    TR_CHECK(!res.is_route && !res.by_host);
    TR_CHECK_INT(res.path_end, 4);
    /* the legacy segment boundary is kept */
    TR_CHECK_INT(run(r, &(struct qdef){.path = "/apix", .host = "other.test"}), 0);
    /* adding after compile fails for both kinds */
    TR_CHECK_INT(add(r, &route, ID(2), NULL, 0), TR_EINVAL);
    TR_CHECK_INT(tr_router_add(r, "late.test", NULL, ID(22)), TR_EINVAL);
    tr_router_free(r);

    /* no route at all: only the legacy apis, and a router not compiled matches nothing */
    r = tr_router_new();
    TR_CHECK_INT(tr_router_add(r, NULL, "/api", ID(21)), 0);
    TR_CHECK_INT(run(r, &(struct qdef){.path = "/api"}), 0);
    TR_CHECK_INT(tr_router_compile(r), 0);
    TR_CHECK_INT(run(r, &(struct qdef){.path = "/api"}), 21);
    tr_router_free(r);
}

static void expect_error(const struct rdef *d, const char *want)
{
    struct tr_router *r = tr_router_new();
    char err[512] = "unset";
    TR_CHECK_INT(add(r, d, ID(1), err, sizeof(err)), TR_EINVAL);
    if (strstr(err, want) == NULL)
        fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, want);
    TR_CHECK(strstr(err, want) != NULL);
    TR_CHECK_INT(tr_router_route_count(r), 0);
    tr_router_free(r);
}

static void test_bad_input(void)
{
    expect_error(&(struct rdef){.paths = {"~/users/(foo"}},
                 "paths: invalid regex: '/users/(foo' (PCRE returned: pcre2_compile() failed: "
                 "missing closing parenthesis");
    expect_error(&(struct rdef){.headers = {{"x-a", {"~*(["}}}}, "headers: invalid regex: '(['");
    expect_error(&(struct rdef){.hosts = {"a.*.com"}},
                 "hosts: invalid wildcard: wildcard must be leftmost or rightmost character");
    expect_error(&(struct rdef){.hosts = {"*.a.*"}},
                 "hosts: invalid wildcard: only one wildcard must be specified");
    expect_error(&(struct rdef){.hosts = {"a.com:99999"}}, "hosts: invalid port number");
    expect_error(&(struct rdef){.hosts = {"a.com:"}}, "hosts: invalid port number");
    expect_error(&(struct rdef){.hosts = {""}}, "hosts: empty value");
    expect_error(&(struct rdef){.snis = {"a.com:443"}, .protocols = TR_ROUTER_PROTO_HTTPS},
                 "snis: must not have a port");
    expect_error(&(struct rdef){.paths = {"relative"}},
                 "paths: should start with: / (fixed path) or ~/ (regex path)");
    expect_error(&(struct rdef){.paths = {"~relative"}}, "paths: should start with");
    expect_error(&(struct rdef){.headers = {{"Host", {"a.com"}}}},
                 "headers: cannot contain 'host' header");
    expect_error(&(struct rdef){.headers = {{"x-a", {NULL}}}}, "headers: 'x-a' has no value");
    expect_error(&(struct rdef){.protocols = TR_ROUTER_PROTO_HTTP},
                 "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is "
                 "'http'");
    expect_error(&(struct rdef){.protocols = 0},
                 "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when "
                 "'protocols' is 'https'");
    expect_error(&(struct rdef){.snis = {"a.test"}, .protocols = TR_ROUTER_PROTO_HTTP},
                 "snis: 'snis' can only be set when 'protocols' is");
    expect_error(&(struct rdef){.methods = {""}}, "methods: empty value");
    expect_error(&(struct rdef){.paths = {"/ok", "~/bad("}}, "invalid regex: '/bad('");

    /* a bad route leaves the router usable */
    struct tr_router *r = tr_router_new();
    TR_CHECK_INT(add(r, &(struct rdef){.paths = {"~/x("}}, ID(1), NULL, 0), TR_EINVAL);
    TR_CHECK_INT(tr_router_add_route(r, NULL, ID(1), NULL, 0), TR_EINVAL);
    TR_CHECK_INT(add(r, &(struct rdef){.paths = {"/x"}}, ID(2), NULL, 0), 0);
    TR_CHECK_INT(tr_router_compile(r), 0);
    TR_CHECK_INT(run(r, &(struct qdef){.path = "/x"}), 2);
    /* a request with nothing in it */
    struct tr_router_request empty = {0};
    TR_CHECK(!tr_router_match_request(r, &empty, &res));
    tr_router_free(r);
}

/* The route's protocols are reported, not matched (Kong answers 426 after matching). */
static void test_protocols(void)
{
    static const struct rdef defs[] = {{.paths = {"/s"}, .protocols = TR_ROUTER_PROTO_HTTPS}};
    struct tr_router *r = build(defs, 1);
    TR_CHECK_INT(run(r, &(struct qdef){.path = "/s"}), 1);
    TR_CHECK_INT(res.protocols, TR_ROUTER_PROTO_HTTPS);
    tr_router_free(r);
}

/* ---- upstream path: spec/fixtures/router_path_handling_tests.lua, 113 rows ------------------- */

#define NO 1
#define YES 2
#define V0 1
#define V1 2

static const struct {
    const char *service_path, *route_path;
    int strip, handling; /* bit sets: NO|YES, V0|V1 */
    const char *request_path, *expected;
} path_rows[] = {
    {"/", "/", NO | YES, V0 | V1, "/", "/"},
    {"/", "/", NO | YES, V0 | V1, "/route", "/route"},
    {"/", "/", NO | YES, V0 | V1, "/route/", "/route/"},
    {"/", "/", NO | YES, V0 | V1, "/routereq", "/routereq"},
    {"/", "/", NO | YES, V0 | V1, "/route/req", "/route/req"},
    {"/", "/route", NO, V0 | V1, "/route", "/route"},
    {"/", "/route", NO, V0 | V1, "/route/", "/route/"},
    {"/", "/route", NO, V0 | V1, "/routereq", "/routereq"},
    {"/", "/route", YES, V0 | V1, "/route", "/"},
    {"/", "/route", YES, V0 | V1, "/route/", "/"},
    {"/", "/route", YES, V0 | V1, "/routereq", "/req"},
    {"/", "/route/", NO, V0 | V1, "/route/", "/route/"},
    {"/", "/route/", NO, V0 | V1, "/route/req", "/route/req"},
    {"/", "/route/", YES, V0 | V1, "/route/", "/"},
    {"/", "/route/", YES, V0 | V1, "/route/req", "/req"},
    {"/srv", "/rou", NO, V0, "/roureq", "/srv/roureq"},
    {"/srv", "/rou", NO, V1, "/roureq", "/srvroureq"},
    {"/srv", "/rou", YES, V0, "/roureq", "/srv/req"},
    {"/srv", "/rou", YES, V1, "/roureq", "/srvreq"},
    {"/srv/", "/rou", NO, V0 | V1, "/rou", "/srv/rou"},
    {"/srv/", "/rou", YES, V0, "/rou", "/srv"},
    {"/srv/", "/rou", YES, V1, "/rou", "/srv/"},
    {"/service", "/", NO | YES, V0 | V1, "/", "/service"},
    {"/service", "/", NO | YES, V0, "/route", "/service/route"},
    {"/service", "/", NO | YES, V1, "/route", "/serviceroute"},
    {"/service", "/", NO | YES, V0, "/route/", "/service/route/"},
    {"/service", "/", NO | YES, V1, "/route/", "/serviceroute/"},
    {"/service", "/", NO | YES, V0, "/routereq", "/service/routereq"},
    {"/service", "/", NO | YES, V1, "/routereq", "/serviceroutereq"},
    {"/service", "/", NO | YES, V0, "/route/req", "/service/route/req"},
    {"/service", "/", NO | YES, V1, "/route/req", "/serviceroute/req"},
    {"/service", "/route", NO, V0, "/route", "/service/route"},
    {"/service", "/route", NO, V1, "/route", "/serviceroute"},
    {"/service", "/route", NO, V0, "/route/", "/service/route/"},
    {"/service", "/route", NO, V1, "/route/", "/serviceroute/"},
    {"/service", "/route", NO, V0, "/routereq", "/service/routereq"},
    {"/service", "/route", NO, V1, "/routereq", "/serviceroutereq"},
    {"/service", "/route", YES, V0 | V1, "/route", "/service"},
    {"/service", "/route", YES, V0 | V1, "/route/", "/service/"},
    {"/service", "/route", YES, V0, "/routereq", "/service/req"},
    {"/service", "/route", YES, V1, "/routereq", "/servicereq"},
    {"/service", "/route/", NO, V0, "/route/", "/service/route/"},
    {"/service", "/route/", NO, V1, "/route/", "/serviceroute/"},
    {"/service", "/route/", NO, V0, "/route/req", "/service/route/req"},
    {"/service", "/route/", NO, V1, "/route/req", "/serviceroute/req"},
    {"/service", "/route/", YES, V0, "/route/", "/service/"},
    {"/service", "/route/", YES, V1, "/route/", "/service"},
    {"/service", "/route/", YES, V0, "/route/req", "/service/req"},
    {"/service", "/route/", YES, V1, "/route/req", "/servicereq"},
    {"/service/", "/", NO | YES, V0, "/route/", "/service/route/"},
    {"/service/", "/", NO | YES, V1, "/route/", "/service/route/"},
    {"/service/", "/", NO | YES, V0 | V1, "/", "/service/"},
    {"/service/", "/", NO | YES, V0 | V1, "/route", "/service/route"},
    {"/service/", "/", NO | YES, V0 | V1, "/routereq", "/service/routereq"},
    {"/service/", "/", NO | YES, V0 | V1, "/route/req", "/service/route/req"},
    {"/service/", "/route", NO, V0 | V1, "/route", "/service/route"},
    {"/service/", "/route", NO, V0 | V1, "/route/", "/service/route/"},
    {"/service/", "/route", NO, V0 | V1, "/routereq", "/service/routereq"},
    {"/service/", "/route", YES, V0, "/route", "/service"},
    {"/service/", "/route", YES, V1, "/route", "/service/"},
    {"/service/", "/route", YES, V0 | V1, "/route/", "/service/"},
    {"/service/", "/route", YES, V0 | V1, "/routereq", "/service/req"},
    {"/service/", "/route/", NO, V0 | V1, "/route/", "/service/route/"},
    {"/service/", "/route/", NO, V0 | V1, "/route/req", "/service/route/req"},
    {"/service/", "/route/", YES, V0 | V1, "/route/", "/service/"},
    {"/service/", "/route/", YES, V0 | V1, "/route/req", "/service/req"},
    {"/", NULL, NO | YES, V0 | V1, "/", "/"},
    {"/", NULL, NO | YES, V0 | V1, "/route", "/route"},
    {"/", NULL, NO | YES, V0 | V1, "/route/", "/route/"},
    {"/service", NULL, NO | YES, V0 | V1, "/", "/service"},
    {"/service", NULL, NO | YES, V0, "/route", "/service/route"},
    {"/service", NULL, NO | YES, V1, "/route", "/serviceroute"},
    {"/service", NULL, NO | YES, V0, "/route/", "/service/route/"},
    {"/service", NULL, NO | YES, V1, "/route/", "/serviceroute/"},
    {"/service/", NULL, NO | YES, V0 | V1, "/", "/service/"},
    {"/service/", NULL, NO | YES, V0 | V1, "/route", "/service/route"},
    {"/service/", NULL, NO | YES, V0 | V1, "/route/", "/service/route/"},
    {"/service", "/route", YES, V0, "/route./req", "/service/req"},
    {"/service", "/route", YES, V1, "/route./req", "/servicereq"},
    {"/service/", "/route", YES, V0 | V1, "/route./req", "/service/req"},
    {"/service", "/route", YES, V0, "/route%2E/req", "/service/req"},
    {"/service", "/route", YES, V1, "/route%2E/req", "/servicereq"},
    {"/service/", "/route", YES, V0 | V1, "/route%2E/req", "/service/req"},
    {"/service", "/route", YES, V0, "/route%2e/req", "/service/req"},
    {"/service", "/route", YES, V1, "/route%2e/req", "/servicereq"},
    {"/service/", "/route", YES, V0 | V1, "/route%2e/req", "/service/req"},
    {"/service", "/route", YES, V0, "/route../req", "/service/req"},
    {"/service", "/route", YES, V1, "/route../req", "/servicereq"},
    {"/service/", "/route", YES, V0 | V1, "/route../req", "/service/req"},
    {"/service", "/route", YES, V0, "/route%2E%2E/req", "/service/req"},
    {"/service", "/route", YES, V1, "/route%2E%2E/req", "/servicereq"},
    {"/service/", "/route", YES, V0 | V1, "/route%2E%2E/req", "/service/req"},
    {"/service", "/route", YES, V0, "/route%2e%2E/req", "/service/req"},
    {"/service", "/route", YES, V1, "/route%2e%2E/req", "/servicereq"},
    {"/service/", "/route", YES, V0 | V1, "/route%2e%2E/req", "/service/req"},
    {"/service", "/route", NO, V0, "/route./req", "/service/route./req"},
    {"/service", "/route", NO, V1, "/route./req", "/serviceroute./req"},
    {"/service/", "/route", NO, V0 | V1, "/route./req", "/service/route./req"},
    {"/service", "/route", NO, V0, "/route%2E/req", "/service/route./req"},
    {"/service", "/route", NO, V1, "/route%2E/req", "/serviceroute./req"},
    {"/service/", "/route", NO, V0 | V1, "/route%2E/req", "/service/route./req"},
    {"/service", "/route", NO, V0, "/route%2e/req", "/service/route./req"},
    {"/service", "/route", NO, V1, "/route%2e/req", "/serviceroute./req"},
    {"/service/", "/route", NO, V0 | V1, "/route%2e/req", "/service/route./req"},
    {"/service", "/route", NO, V0, "/route../req", "/service/route../req"},
    {"/service", "/route", NO, V1, "/route../req", "/serviceroute../req"},
    {"/service/", "/route", NO, V0 | V1, "/route../req", "/service/route../req"},
    {"/service", "/route", NO, V0, "/route%2E%2E/req", "/service/route../req"},
    {"/service", "/route", NO, V1, "/route%2E%2E/req", "/serviceroute../req"},
    {"/service/", "/route", NO, V0 | V1, "/route%2E%2E/req", "/service/route../req"},
    {"/service", "/route", NO, V0, "/route%2e%2E/req", "/service/route../req"},
    {"/service", "/route", NO, V1, "/route%2e%2E/req", "/serviceroute../req"},
    {"/service/", "/route", NO, V0 | V1, "/route%2e%2E/req", "/service/route../req"},

};

/* describe("#slash handling"): each row as a plain route and, when it has a path, as the regex
 * "~/[0]?" .. route_path:sub(2); the request goes through normalization first, as in Kong. */
static void test_upstream_paths(void)
{
    int cases = 0;
    for (size_t i = 0; i < sizeof(path_rows) / sizeof(path_rows[0]); i++) {
        const char *route_path = path_rows[i].route_path;
        char regex[64];
        if (route_path)
            snprintf(regex, sizeof(regex), "~/[0]?%s", route_path + 1);
        char host[32];
        snprintf(host, sizeof(host), "localbin-%zu.com", i + 1);
        for (int as_regex = 0; as_regex < 2; as_regex++) {
            if (as_regex && !route_path)
                continue;
            struct rdef d = {.hosts = {host}};
            if (route_path)
                d.paths[0] = as_regex ? regex : route_path;
            struct tr_router *r = build(&d, 1);
            char norm[128];
            int nlen = tr_url_normalize_path(tr_str_from_cstr(path_rows[i].request_path), false,
                                             norm, sizeof(norm));
            TR_CHECK(nlen > 0);
            TR_CHECK_INT(run(r, &(struct qdef){.path = norm, .host = host}), 1);
            size_t matched = res.path_end - res.path_start;
            for (int strip = 0; strip < 2; strip++) {
                if (!(path_rows[i].strip & (strip ? YES : NO)))
                    continue;
                for (int v = 0; v < 2; v++) {
                    if (!(path_rows[i].handling & (v ? V1 : V0)))
                        continue;
                    char out[256];
                    const char *sp = path_rows[i].service_path;
                    int len = tr_router_upstream_path(
                        sp ? tr_str_from_cstr(sp) : TR_STR_NULL,
                        (struct tr_str){norm, (size_t)nlen}, matched, strip,
                        v ? TR_PATH_HANDLING_V1 : TR_PATH_HANDLING_V0, out, sizeof(out));
                    TR_CHECK(len > 0);
                    bool ok = len > 0 && (size_t)len == strlen(path_rows[i].expected) &&
                              memcmp(out, path_rows[i].expected, (size_t)len) == 0;
                    if (!ok)
                        fprintf(stderr, "(%zu) %s service %s route %s strip %d v%d req %s: %.*s\n",
                                i + 1, as_regex ? "regex" : "plain", sp ? sp : "nil",
                                route_path ? route_path : "nil", strip, v,
                                path_rows[i].request_path, len > 0 ? len : 0, out);
                    TR_CHECK(ok);
                    cases++;
                }
            }
            tr_router_free(r);
        }
    }
    TR_CHECK(cases > 300);

    /* a service path of NULL is "/"; too small a buffer is refused */
    char out[4];
    TR_CHECK_INT(tr_router_upstream_path(TR_STR_NULL, TR_STR_LIT("/a"), 0, false,
                                         TR_PATH_HANDLING_V0, out, sizeof(out)),
                 2);
    TR_CHECK_INT(tr_router_upstream_path(TR_STR_LIT("/service"), TR_STR_LIT("/a"), 0, false,
                                         TR_PATH_HANDLING_V0, out, sizeof(out)),
                 TR_ETOOLARGE);
}

/* describe("stripped paths #strip") of exec(): the matched part (Kong's match_t.prefix) and
 * the upstream path with no service path. */
static void test_strip(void)
{
    static const struct rdef defs[] = {
        /* 1 strip_path = true */ {.paths = {"/my-route", "/xx-route"}},
        /* 2 strip_path = false */ {.methods = {"POST"}, .paths = {"/my-route", "/xx-route"}},
        /* 3 it("does not strips root / URI") */ {.paths = {"/"}, .hosts = {"root.test"}},
        /* 4 it("strips url encoded paths") */ {.paths = {"/endel%2Fst"}},
        /* 5 it("strips a [uri regex]") */ {.paths = {"~/users/\\d+/profile"}},
        /* 6 it("strips a [uri regex] with a capture group") */
        {.paths = {"~/groups/(\\d+)/profile"}},
    };
    static const struct {
        const char *method, *path, *host;
        int want;
        bool strip;
        const char *prefix, *upstream;
    } rows[] = {
        /* it("strips the specified paths from the given uri if matching") */
        {"GET", "/my-route/hello/world", "domain.org", 1, true, "/my-route", "/hello/world"},
        /* it("strips if matched URI is plain (not a prefix)") */
        {"GET", "/my-route", "domain.org", 1, true, "/my-route", "/"},
        /* it("doesn't strip if 'strip_uri' is not enabled") */
        {"POST", "/my-route/hello/world", "domain.org", 2, false, "/my-route",
         "/my-route/hello/world"},
        /* it("can proxy an route with stripped URI with different URIs in a row") */
        {"GET", "/xx-route", "domain.org", 1, true, "/xx-route", "/"},
        {"GET", "/my-route", "domain.org", 1, true, "/my-route", "/"},
        /* it("does not strips root / URI") */
        {"POST", "/my-route/hello/world", "root.test", 3, true, "/", "/my-route/hello/world"},
        /* it("strips url encoded paths") */
        {"GET", "/endel%2Fst", "domain.org", 4, true, "/endel%2Fst", "/"},
        {"GET", "/users/123/profile/hello/world", "domain.org", 5, true, "/users/123/profile",
         "/hello/world"},
        {"GET", "/groups/123/profile/hello/world", "domain.org", 6, true, "/groups/123/profile",
         "/hello/world"},
    };
    struct tr_router *r = build(defs, sizeof(defs) / sizeof(defs[0]));
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        TR_CHECK_INT(run(r, &(struct qdef){.method = rows[i].method,
                                           .path = rows[i].path,
                                           .host = rows[i].host}),
                     rows[i].want);
        struct tr_str prefix = {rows[i].path + res.path_start, res.path_end - res.path_start};
        TR_CHECK_SLICE(prefix, rows[i].prefix);
        char out[128];
        int len = tr_router_upstream_path(TR_STR_NULL, tr_str_from_cstr(rows[i].path), prefix.len,
                                          rows[i].strip, TR_PATH_HANDLING_V0, out, sizeof(out));
        TR_CHECK(len > 0);
        TR_CHECK_SLICE(((struct tr_str){out, len > 0 ? (size_t)len : 0}), rows[i].upstream);
    }
    tr_router_free(r);
}

/* Matching is read-only: several threads share one router (each gets its own match block). */
struct thread_arg {
    const struct tr_router *r;
    int failures;
};

static void *match_many(void *p)
{
    struct thread_arg *a = p;
    for (int i = 0; i < 20000; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/users/%d/x", i);
        struct tr_str host = TR_STR_LIT("t.test");
        struct tr_router_request req = {.method = TR_STR_LIT("GET"),
                                        .hosts = &host,
                                        .num_hosts = 1,
                                        .path = tr_str_from_cstr(path)};
        struct tr_router_result out;
        if (!tr_router_match_request(a->r, &req, &out) || out.route != ID(i % 2 ? 2 : 1) ||
            out.captures[3] - out.captures[2] != strlen(path) - 9)
            a->failures++;
    }
    return NULL;
}

static void test_threads(void)
{
    static const struct rdef defs[] = {
        {.paths = {"~/users/(\\d*[02468])/"}},
        {.paths = {"~/users/(\\d*[13579])/"}},
    };
    struct tr_router *r = build(defs, 2);
    pthread_t t[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg){r, 0};
        TR_CHECK_INT(pthread_create(&t[i], NULL, match_many, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        TR_CHECK_INT(args[i].failures, 0);
    }
    tr_router_free(r);
}

/* A router built while another still serves takes the other's compiled regexes (keyed by the
 * pattern and its options) instead of compiling them again; they go with their last router. */
static void test_shared_regexes(void)
{
    static const struct rdef a[] = {
        {.paths = {"~/users/(?<id>\\d+)$"}},
        {.paths = {"/h"}, .headers = {{"x-v", {"~*^v[0-9]$"}}}},
        {.hosts = {"a.test"}, .paths = {"~/users/(?<id>\\d+)$"}},
    };
    static const struct rdef b[] = {
        {.paths = {"~/users/(?<id>\\d+)$"}},
        {.paths = {"/h"}, .headers = {{"x-v", {"~*^v[0-9]$"}}}},
        {.hosts = {"a.test"}, .paths = {"~/users/(?<id>\\d+)$"}},
        {.paths = {"~/other/\\d+"}},
        /* the same text as a path regex and as a header regex: two options, two entries */
        {.headers = {{"x-w", {"~*/other/\\d+"}}}},
    };
    size_t base = tr__re_cache_count();
    struct tr_router *ra = build(a, 3);
    TR_CHECK_INT(tr__re_cache_count(), base + 2);
    struct tr_router *rb = build(b, 5);
    TR_CHECK_INT(tr__re_cache_count(), base + 4);
    tr_router_free(ra);
    TR_CHECK_INT(tr__re_cache_count(), base + 4);
    /* rb's regexes, compiled for ra, outlive it: matches, captures and names still work */
    TR_CHECK_INT(run(rb, &(struct qdef){.path = "/users/42", .host = "a.test"}), 3);
    TR_CHECK_INT(res.num_captures, 2);
    TR_CHECK_INT(res.captures[2], 7);
    TR_CHECK_INT(res.captures[3], 9);
    TR_CHECK_INT(res.num_names, 1);
    TR_CHECK_STR(res.names[0].name, "id");
    TR_CHECK_INT(run(rb, &(struct qdef){.path = "/h", .headers = {"x-v: V7"}}), 2);
    TR_CHECK_INT(run(rb, &(struct qdef){.path = "/other/1"}), 4);
    TR_CHECK_INT(run(rb, &(struct qdef){.path = "/", .headers = {"x-w: a/OTHER/1"}}), 5);
    /* a regex that does not compile leaves nothing behind */
    struct tr_router *rc = tr_router_new();
    char err[256];
    TR_CHECK(add(rc, &(struct rdef){.paths = {"~/users/("}}, ID(1), err, sizeof(err)) != 0);
    TR_CHECK(add(rc, &(struct rdef){.paths = {"~/other/\\d+"}}, ID(2), err, sizeof(err)) == 0);
    TR_CHECK_INT(tr__re_cache_count(), base + 4);
    tr_router_free(rc);
    tr_router_free(rb);
    TR_CHECK_INT(tr__re_cache_count(), base);
}

int main(void)
{
    test_tables();
    test_captures();
    test_with_legacy_apis();
    test_bad_input();
    test_protocols();
    test_upstream_paths();
    test_threads();
    test_strip();
    test_shared_regexes();
    return TR_CHECK_DONE();
}
