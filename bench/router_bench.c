/* SPDX-License-Identifier: MIT */
/* Micro-benchmark of the Kong 3 router: ns per match with 1 route against 10,000 routes (a third
 * exact hosts, a third plain prefixes, 1,000 regexes, the rest method + path), each time for the
 * last route added of a kind, so the big router holds every other route of that kind. Then the
 * time to build the big router: from nothing, and again while the previous one still exists (as
 * after an admin write, when the old snapshot still serves: its compiled regexes are reused).
 * Built with the tree (router_bench), never run by the tests; numbers are reports, not
 * assertions. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "router/router.h"

#define TOTAL 10000
#define NUM_HOSTS 3333
#define NUM_PREFIXES 3333
#define NUM_REGEXES 1000

static int ids[TOTAL];

enum kind { HOST, PREFIX, REGEX, METHOD };

/* Add route i of the given kind (names derived from i). */
static void add(struct tr_router *r, enum kind kind, int i)
{
    char buf[64];
    const char *one[1] = {buf};
    const char *get[1] = {"POST"};
    struct tr_route_spec spec = {0};
    switch (kind) {
    case HOST:
        snprintf(buf, sizeof(buf), "host-%d.example.com", i);
        spec.hosts = one;
        spec.num_hosts = 1;
        break;
    case PREFIX:
        snprintf(buf, sizeof(buf), "/prefix-%d/", i);
        spec.paths = one;
        spec.num_paths = 1;
        break;
    case REGEX:
        snprintf(buf, sizeof(buf), "~/regex-%d/(?<id>\\d+)$", i);
        spec.paths = one;
        spec.num_paths = 1;
        break;
    case METHOD:
        snprintf(buf, sizeof(buf), "/method-%d", i);
        spec.paths = one;
        spec.num_paths = 1;
        spec.methods = get;
        spec.num_methods = 1;
        break;
    }
    char err[256];
    if (tr_router_add_route(r, &spec, &ids[i], err, sizeof(err)) != 0) {
        fprintf(stderr, "router_bench: %s\n", err);
        exit(1);
    }
}

static enum kind kind_of(int i)
{
    if (i < NUM_HOSTS)
        return HOST;
    if (i < NUM_HOSTS + NUM_PREFIXES)
        return PREFIX;
    if (i < NUM_HOSTS + NUM_PREFIXES + NUM_REGEXES)
        return REGEX;
    return METHOD;
}

/* Routes are added kind by kind, leaving out `last`, which is added at the very end. */
static struct tr_router *build_big(int last)
{
    struct tr_router *r = tr_router_new();
    for (int i = 0; i < TOTAL; i++)
        if (i != last)
            add(r, kind_of(i), i);
    add(r, kind_of(last), last);
    tr_router_compile(r);
    return r;
}

static struct tr_router *build_one(int i)
{
    struct tr_router *r = tr_router_new();
    add(r, kind_of(i), i);
    tr_router_compile(r);
    return r;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* CPU time of this thread, for the builds: other work on the machine does not count. */
static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Best of 5 runs of n matches, in ns per match. */
static double measure(const struct tr_router *r, const struct tr_router_request *req, void *want)
{
    const int n = 200000;
    double best = 1e18;
    struct tr_router_result res;
    for (int round = 0; round < 5; round++) {
        double t0 = now_ns();
        for (int i = 0; i < n; i++) {
            if (!tr_router_match_request(r, req, &res) || res.route != want) {
                fprintf(stderr, "router_bench: wrong match\n");
                exit(1);
            }
        }
        double per = (now_ns() - t0) / n;
        if (per < best)
            best = per;
    }
    return best;
}

int main(void)
{
    static const struct {
        const char *name;
        int route;
        const char *host, *method, *path;
    } cases[] = {
        {"exact host", NUM_HOSTS - 1, "host-3332.example.com", "GET", "/anything"},
        {"plain prefix", NUM_HOSTS + NUM_PREFIXES - 1, "bench.test", "GET", "/prefix-6665/x/y"},
        {"regex", NUM_HOSTS + NUM_PREFIXES + NUM_REGEXES - 1, "bench.test", "GET",
         "/regex-7665/12345"},
        {"method + path", TOTAL - 1, "bench.test", "POST", "/method-9999"},
    };
    struct tr_http_header headers[] = {
        {{"accept", 6}, {"*/*", 3}},
        {{"user-agent", 10}, {"bench", 5}},
    };
    printf("%-14s %12s %16s %7s\n", "route kind", "1 route", "10,000 routes", "ratio");
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct tr_str host = tr_str_from_cstr(cases[c].host);
        struct tr_router_request req = {
            .method = tr_str_from_cstr(cases[c].method),
            .protocol = TR_ROUTER_PROTO_HTTP,
            .hosts = &host,
            .num_hosts = 1,
            .port = 8000,
            .path = tr_str_from_cstr(cases[c].path),
            .headers = headers,
            .num_headers = 2,
        };
        struct tr_router *one = build_one(cases[c].route);
        struct tr_router *big = build_big(cases[c].route);
        double t1 = measure(one, &req, &ids[cases[c].route]);
        double tn = measure(big, &req, &ids[cases[c].route]);
        printf("%-14s %9.1f ns %13.1f ns %6.2fx\n", cases[c].name, t1, tn, tn / t1);
        tr_router_free(one);
        tr_router_free(big);
    }

    /* Best of 5 of each (thread CPU time): a build with no other router alive, and a rebuild
     * beside the last. */
    double first = 1e18, again = 1e18, freed = 1e18;
    for (int round = 0; round < 5; round++) {
        double t0 = cpu_ns();
        struct tr_router *old = build_big(TOTAL - 1);
        double t1 = cpu_ns();
        struct tr_router *next = build_big(TOTAL - 1);
        double t2 = cpu_ns();
        tr_router_free(old);
        tr_router_free(next);
        double t3 = cpu_ns();
        first = t1 - t0 < first ? t1 - t0 : first;
        again = t2 - t1 < again ? t2 - t1 : again;
        freed = (t3 - t2) / 2 < freed ? (t3 - t2) / 2 : freed;
    }
    printf("\nbuild of 10,000 routes (1,000 regexes), CPU time: %.1f ms alone, %.1f ms beside the "
           "previous "
           "router, %.1f ms to free\n",
           first / 1e6, again / 1e6, freed / 1e6);
    return 0;
}
