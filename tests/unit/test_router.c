/* SPDX-License-Identifier: MIT */
/* Unit tests for the Kong 0.7 router: host phase (exact, case, port, trailing dot, wildcards,
 * X-Host-Override), path phase (longest prefix on a segment boundary, "/" root), and scale. */
#include "router/router.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "core/err.h"

static int apis[16];
#define API(n) ((void *)&apis[(n)])

/* Match with up to two host candidates (NULL for none) and a path. Returns the api or NULL. */
static void *route(const struct tr_router *r, const char *h1, const char *h2, const char *path,
                   struct tr_router_match *m)
{
    struct tr_str hosts[2];
    size_t num = 0;
    if (h1)
        hosts[num++] = tr_str_from_cstr(h1);
    if (h2)
        hosts[num++] = tr_str_from_cstr(h2);
    if (!tr_router_match(r, hosts, num, tr_str_from_cstr(path), m))
        return NULL;
    return m->route;
}

static void test_hosts(void)
{
    struct tr_router *r = tr_router_new();
    struct tr_router_match m;

    TR_CHECK_INT(tr_router_add(r, "svc.test", NULL, API(0)), 0);
    TR_CHECK_INT(tr_router_add(r, "*.example.com", NULL, API(1)), 0);
    TR_CHECK_INT(tr_router_add(r, "example.*", NULL, API(2)), 0);
    TR_CHECK_INT(tr_router_add(r, "api.example.com", NULL, API(3)), 0);
    TR_CHECK_INT(tr_router_add(r, "Mixed.Case.ORG.", NULL, API(4)), 0);
    TR_CHECK_INT(tr_router_add(r, "svc.test", NULL, API(5)), 0); /* duplicate: first wins */
    TR_CHECK_INT(tr_router_add(r, "*.b.example.com", NULL, API(6)), 0);
    TR_CHECK_INT(tr_router_add(r, NULL, "/path", API(7)), 0);
    TR_CHECK_INT(tr_router_compile(r), 0);
    TR_CHECK_INT(tr_router_count(r), 8);

    /* exact, case-insensitive, port stripped, trailing dot */
    TR_CHECK(route(r, "svc.test", NULL, "/", &m) == API(0));
    TR_CHECK(m.by_host);
    TR_CHECK_SLICE(m.host, "svc.test");
    TR_CHECK_INT(m.path_prefix_len, 0);
    TR_CHECK(route(r, "SVC.Test", NULL, "/", &m) == API(0));
    TR_CHECK_SLICE(m.host, "SVC.Test");
    TR_CHECK(route(r, "svc.test:8000", NULL, "/", &m) == API(0));
    TR_CHECK_SLICE(m.host, "svc.test");
    TR_CHECK(route(r, "svc.test:", NULL, "/", &m) == API(0));
    TR_CHECK(route(r, "svc.test.", NULL, "/", &m) == API(0));
    TR_CHECK(route(r, "SVC.TEST.:80", NULL, "/x", &m) == API(0));
    TR_CHECK_SLICE(m.host, "SVC.TEST.");
    TR_CHECK(route(r, "mixed.case.org", NULL, "/", &m) == API(4));
    TR_CHECK(route(r, "svc.test..", NULL, "/", &m) == NULL);
    TR_CHECK(route(r, "svc.tes", NULL, "/", &m) == NULL);
    TR_CHECK(route(r, "xsvc.test", NULL, "/", &m) == NULL);
    TR_CHECK(route(r, "", NULL, "/", &m) == NULL);
    TR_CHECK(route(r, ":80", NULL, "/", &m) == NULL);

    /* wildcards: "*" is one or more characters, anchored */
    TR_CHECK(route(r, "a.example.com", NULL, "/", &m) == API(1));
    TR_CHECK_SLICE(m.host, "a.example.com");
    TR_CHECK(route(r, "x.y.example.com:443", NULL, "/", &m) == API(1));
    TR_CHECK_SLICE(m.host, "x.y.example.com");
    TR_CHECK(route(r, "A.EXAMPLE.COM", NULL, "/", &m) == API(1));
    TR_CHECK(route(r, "example.com", NULL, "/", &m) == API(2)); /* example.* */
    TR_CHECK(route(r, ".example.com", NULL, "/", &m) == NULL);  /* ".+" needs a character */
    TR_CHECK(route(r, "aexample.com", NULL, "/", &m) == NULL);
    TR_CHECK(route(r, "example.org", NULL, "/", &m) == API(2));
    TR_CHECK(route(r, "example.co.uk", NULL, "/", &m) == API(2));
    TR_CHECK(route(r, "example.", NULL, "/", &m) == NULL);
    TR_CHECK(route(r, "example", NULL, "/", &m) == NULL);
    TR_CHECK(route(r, "examples.org", NULL, "/", &m) == NULL);
    /* both wildcards fit: the earlier registered one wins */
    TR_CHECK(route(r, "q.b.example.com", NULL, "/", &m) == API(1));
    /* exact beats wildcard */
    TR_CHECK(route(r, "api.example.com", NULL, "/", &m) == API(3));
    TR_CHECK(route(r, "API.example.com.:8443", NULL, "/", &m) == API(3));

    /* X-Host-Override is the second candidate; an exact hit on any candidate beats wildcards */
    TR_CHECK(route(r, "unknown.test", "svc.test", "/", &m) == API(0));
    TR_CHECK_SLICE(m.host, "svc.test");
    TR_CHECK(route(r, "svc.test", "api.example.com", "/", &m) == API(0));
    TR_CHECK(route(r, "a.example.com", "svc.test:99", "/", &m) == API(0));
    TR_CHECK_SLICE(m.host, "svc.test");
    TR_CHECK(route(r, "unknown.test", "zz.example.com", "/", &m) == API(1));

    /* host beats path; no host hit falls back to the path */
    TR_CHECK(route(r, "svc.test", NULL, "/path", &m) == API(0));
    TR_CHECK(route(r, "unknown.test", NULL, "/path/x", &m) == API(7));
    TR_CHECK(!m.by_host);
    TR_CHECK_INT(m.host.len, 0);
    TR_CHECK_INT(m.path_prefix_len, 5);
    TR_CHECK(route(r, NULL, NULL, "/path", &m) == API(7));
    TR_CHECK(route(r, "unknown.test", NULL, "/other", &m) == NULL);
    TR_CHECK(m.route == NULL);

    /* a host too long to be a name never matches and never overflows */
    char longhost[600];
    memset(longhost, 'a', sizeof(longhost) - 1);
    longhost[sizeof(longhost) - 1] = '\0';
    TR_CHECK(route(r, longhost, NULL, "/", &m) == NULL);
    memcpy(longhost + sizeof(longhost) - 1 - 12, ".example.com", 12);
    TR_CHECK(route(r, longhost, NULL, "/", &m) == NULL);
    tr_router_free(r);
}

static void test_paths(void)
{
    struct tr_router *r = tr_router_new();
    struct tr_router_match m;

    TR_CHECK_INT(tr_router_add(r, NULL, "/go", API(0)), 0);
    TR_CHECK_INT(tr_router_add(r, NULL, "/go/deeper/", API(1)), 0); /* trailing '/' ignored */
    TR_CHECK_INT(tr_router_add(r, NULL, "/mockbin", API(2)), 0);
    TR_CHECK_INT(tr_router_add(r, NULL, "/Case", API(3)), 0);
    TR_CHECK_INT(tr_router_add(r, "both.test", "/both", API(4)), 0);
    TR_CHECK_INT(tr_router_add(r, NULL, "/mockbin", API(5)), 0); /* duplicate: first wins */
    TR_CHECK_INT(tr_router_compile(r), 0);
    TR_CHECK_INT(tr_router_add(r, NULL, "/late", API(6)), TR_EINVAL); /* frozen */

    TR_CHECK(route(r, NULL, NULL, "/go", &m) == API(0));
    TR_CHECK_INT(m.path_prefix_len, 3);
    TR_CHECK(route(r, NULL, NULL, "/go/", &m) == API(0));
    TR_CHECK(route(r, NULL, NULL, "/go/x/y", &m) == API(0));
    TR_CHECK_INT(m.path_prefix_len, 3);
    TR_CHECK(route(r, NULL, NULL, "/gopher", &m) == NULL); /* segment boundary */
    TR_CHECK(route(r, NULL, NULL, "/g", &m) == NULL);
    TR_CHECK(route(r, NULL, NULL, "/go/deeper", &m) == API(1)); /* longest prefix */
    TR_CHECK_INT(m.path_prefix_len, 10);
    TR_CHECK(route(r, NULL, NULL, "/go/deeper/x", &m) == API(1));
    TR_CHECK(route(r, NULL, NULL, "/go/deeperx", &m) == API(0));
    TR_CHECK(route(r, NULL, NULL, "/go/deep", &m) == API(0));
    TR_CHECK(route(r, NULL, NULL, "/mockbin?x", &m) == NULL); /* the path has no query */
    TR_CHECK(route(r, NULL, NULL, "/mockbin", &m) == API(2));
    TR_CHECK(route(r, NULL, NULL, "/case", &m) == NULL); /* case-sensitive */
    TR_CHECK(route(r, NULL, NULL, "/Case/a", &m) == API(3));
    TR_CHECK(route(r, NULL, NULL, "/", &m) == NULL);
    TR_CHECK(route(r, NULL, NULL, "", &m) == NULL);
    TR_CHECK(route(r, NULL, NULL, "go", &m) == NULL);
    /* an api with host and path is hit by either (OR) */
    TR_CHECK(route(r, "both.test", NULL, "/nothing", &m) == API(4));
    TR_CHECK(m.by_host);
    TR_CHECK(route(r, "other.test", NULL, "/both/x", &m) == API(4));
    TR_CHECK(!m.by_host);
    TR_CHECK_INT(m.path_prefix_len, 5);
    tr_router_free(r);

    /* "/" is the root api: it matches everything, longer prefixes still win */
    r = tr_router_new();
    TR_CHECK_INT(tr_router_add(r, NULL, "/", API(0)), 0);
    TR_CHECK_INT(tr_router_add(r, NULL, "/a/b", API(1)), 0);
    TR_CHECK_INT(tr_router_compile(r), 0);
    TR_CHECK(route(r, NULL, NULL, "/", &m) == API(0));
    TR_CHECK_INT(m.path_prefix_len, 0);
    TR_CHECK(route(r, NULL, NULL, "/anything/at/all", &m) == API(0));
    TR_CHECK(route(r, NULL, NULL, "/a", &m) == API(0));
    TR_CHECK(route(r, NULL, NULL, "/a/bc", &m) == API(0));
    TR_CHECK(route(r, NULL, NULL, "/a/b/c", &m) == API(1));
    TR_CHECK_INT(m.path_prefix_len, 4);
    tr_router_free(r);

    /* invalid registrations */
    r = tr_router_new();
    TR_CHECK_INT(tr_router_add(r, NULL, NULL, API(0)), TR_EINVAL);
    TR_CHECK_INT(tr_router_add(r, "", "", API(0)), TR_EINVAL);
    TR_CHECK_INT(tr_router_add(r, NULL, "nopath", API(0)), TR_EINVAL);
    TR_CHECK_INT(tr_router_add(r, "a.*.com", NULL, API(0)), TR_EINVAL);
    TR_CHECK_INT(tr_router_add(r, "*.example.*", NULL, API(0)), TR_EINVAL);
    TR_CHECK_INT(tr_router_add(r, "*", NULL, API(0)), TR_EINVAL);
    TR_CHECK_INT(tr_router_add(r, "*example.com", NULL, API(0)), TR_EINVAL);
    TR_CHECK_INT(tr_router_count(r), 0);
    /* an uncompiled router matches nothing; an empty compiled one too */
    TR_CHECK(route(r, "a.test", NULL, "/", &m) == NULL);
    TR_CHECK_INT(tr_router_compile(r), 0);
    TR_CHECK(route(r, "a.test", NULL, "/", &m) == NULL);
    tr_router_free(r);
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_scale(void)
{
    enum { N = 10000 };
    static int vals[N];
    char host[64], path[64];
    struct tr_router *r = tr_router_new();
    struct tr_router_match m;

    int failed_adds = 0;
    for (int i = 0; i < N; i++) {
        snprintf(host, sizeof(host), "svc%d.test", i);
        snprintf(path, sizeof(path), "/svc%d/v%d", i, i % 7);
        failed_adds += tr_router_add(r, (i % 2) ? host : NULL, path, &vals[i]) != 0;
    }
    TR_CHECK_INT(failed_adds, 0);
    TR_CHECK_INT(tr_router_add(r, "*.wild.test", NULL, API(0)), 0);
    TR_CHECK_INT(tr_router_compile(r), 0);
    TR_CHECK_INT(tr_router_count(r), N + 1);

    TR_CHECK(route(r, "svc9999.test", NULL, "/", &m) == &vals[9999]);
    TR_CHECK(route(r, "svc9998.test", NULL, "/", &m) == NULL); /* even ones have no host */
    TR_CHECK(route(r, "x", NULL, "/svc9998/v2/deep", &m) == &vals[9998]);
    TR_CHECK_INT(m.path_prefix_len, 11);
    TR_CHECK(route(r, "x", NULL, "/svc0/v0", &m) == &vals[0]);
    TR_CHECK(route(r, "x", NULL, "/svc0/v1", &m) == NULL);
    TR_CHECK(route(r, "x", NULL, "/svc5000", &m) == NULL);
    TR_CHECK(route(r, "a.wild.test", NULL, "/svc2/v2", &m) == API(0));

    /* every api is found; timing is informative (a lookup is O(host + path), not O(apis)) */
    int wrong = 0;
    double t0 = now_sec();
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < N; i++) {
            snprintf(path, sizeof(path), "/svc%d/v%d/x", i, i % 7);
            if (route(r, "none.test", NULL, path, &m) != &vals[i])
                wrong++;
        }
    }
    double dt = now_sec() - t0;
    TR_CHECK_INT(wrong, 0);
    fprintf(stderr, "router: %d path matches over %d apis in %.3f s\n", 20 * N, N + 1, dt);
    tr_router_free(r);
}

int main(void)
{
    test_hosts();
    test_paths();
    test_scale();
    return TR_CHECK_DONE();
}
