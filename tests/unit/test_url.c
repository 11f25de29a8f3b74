/* SPDX-License-Identifier: MIT */
/* Unit tests for the URL helpers: upstream_url parsing, P5 path normalization (including the
 * security catalogue's part C inputs) and the Kong 0.7 strip/join table. */
#include "http/url.h"

#include <string.h>

#include "check.h"
#include "core/err.h"

/* ---- tr_url_parse ---- */

static void test_parse(void)
{
    struct tr_url u;

    TR_CHECK_INT(tr_url_parse(TR_STR_LIT("http://mockbin.com"), &u), 0);
    TR_CHECK_SLICE(u.scheme, "http");
    TR_CHECK_SLICE(u.host, "mockbin.com");
    TR_CHECK_INT(u.port, 80);
    TR_CHECK(!u.has_port);
    TR_CHECK(!u.is_ipv6);
    TR_CHECK_INT(u.path.len, 0);
    TR_CHECK_INT(u.query.len, 0);

    TR_CHECK_INT(tr_url_parse(TR_STR_LIT("HTTPS://Api.Example.com:8443/v1/x?a=1&b"), &u), 0);
    TR_CHECK_SLICE(u.scheme, "https");
    TR_CHECK_SLICE(u.host, "Api.Example.com");
    TR_CHECK_INT(u.port, 8443);
    TR_CHECK(u.has_port);
    TR_CHECK_SLICE(u.path, "/v1/x");
    TR_CHECK_SLICE(u.query, "a=1&b");

    TR_CHECK_INT(tr_url_parse(TR_STR_LIT("https://example.com/"), &u), 0);
    TR_CHECK_INT(u.port, 443);
    TR_CHECK_SLICE(u.path, "/");

    TR_CHECK_INT(tr_url_parse(TR_STR_LIT("http://127.0.0.1:9001?x=y"), &u), 0);
    TR_CHECK_SLICE(u.host, "127.0.0.1");
    TR_CHECK_INT(u.port, 9001);
    TR_CHECK_INT(u.path.len, 0);
    TR_CHECK_SLICE(u.query, "x=y");

    TR_CHECK_INT(tr_url_parse(TR_STR_LIT("http://[::1]:65535/p"), &u), 0);
    TR_CHECK_SLICE(u.host, "::1");
    TR_CHECK(u.is_ipv6);
    TR_CHECK_INT(u.port, 65535);
    TR_CHECK_SLICE(u.path, "/p");

    TR_CHECK_INT(tr_url_parse(TR_STR_LIT("http://[2001:db8::8:800:200c:417a]"), &u), 0);
    TR_CHECK_SLICE(u.host, "2001:db8::8:800:200c:417a");
    TR_CHECK_INT(u.port, 80);

    TR_CHECK_INT(tr_url_parse(TR_STR_LIT("http://my_service-1.internal.:1/"), &u), 0);
    TR_CHECK_SLICE(u.host, "my_service-1.internal.");
    TR_CHECK_INT(u.port, 1);

    TR_CHECK_INT(tr_url_parse(TR_STR_LIT("http://h/?"), &u), 0);
    TR_CHECK_SLICE(u.path, "/");
    TR_CHECK_INT(u.query.len, 0);

    static const char *const bad[] = {
        "",
        "http://",
        "http:/x.com",
        "ftp://x.com",
        "httpx://x.com",
        "//x.com",
        "x.com",
        "http://user@x.com",
        "http://user:pw@x.com/",
        "http://x.com/a#frag",
        "http://x.com#",
        "http://x.com:0",
        "http://x.com:65536",
        "http://x.com:99999",
        "http://x.com:",
        "http://x.com:80:80",
        "http://x.com:+80",
        "http://x.com:-1",
        "http://x.com:8a",
        "http://x.com:0000080",
        "http://:80",
        "http:///path",
        "http://x..com",
        "http://.x.com",
        "http://x.com..",
        "http://x com",
        "http://x.com/a b",
        "http://x.com/a\tb",
        "http://x.com/\x7f",
        "http://x\xc3\xa9.com",
        "http://x%41.com",
        "http://x!.com",
        "http://[::1",
        "http://[::1]x",
        "http://[::1]:",
        "http://[]",
        "http://[not:v6]",
        "http://[fe80::1%25eth0]",
        "http://1.2.3",
        "http://1.2.3.256",
        "http://01.2.3.4",
        "http://1.2.3.4.5",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = tr_url_parse(tr_str_from_cstr(bad[i]), &u);
        if (rc != TR_EINVAL)
            fprintf(stderr, "parse accepted: \"%s\"\n", bad[i]);
        TR_CHECK_INT(rc, TR_EINVAL);
    }
}

/* ---- tr_url_normalize_path ---- */

struct norm_case {
    const char *in;
    const char *keep;   /* result with escaped slashes kept, or NULL for TR_EBADREQ */
    const char *reject; /* result with escaped slashes rejected, or NULL for TR_EBADREQ */
};

static const struct norm_case norm_cases[] = {
    /* plain */
    {"/", "/", "/"},
    {"/a", "/a", "/a"},
    {"/a/", "/a/", "/a/"},
    {"/a/b/c", "/a/b/c", "/a/b/c"},
    /* dot segments (RFC 3986 §5.2.4) */
    {"/public/../private/secret", "/private/secret", "/private/secret"},
    {"/public/a/./b/../c", "/public/a/c", "/public/a/c"},
    {"/..", "/", "/"},
    {"/.", "/", "/"},
    {"/../..", "/", "/"},
    {"/../a", "/a", "/a"},
    {"/a/..", "/", "/"},
    {"/a/b/..", "/a/", "/a/"},
    {"/a/b/.", "/a/b/", "/a/b/"},
    {"/a/b/../", "/a/", "/a/"},
    {"/a/./b", "/a/b", "/a/b"},
    {"/a/b/../../../c", "/c", "/c"},
    {"/api/x/../y", "/api/y", "/api/y"},
    {"/.../a", "/.../a", "/.../a"},
    {"/..a/b.", "/..a/b.", "/..a/b."},
    {"/a..", "/a..", "/a.."},
    /* merged slashes */
    {"//private/secret", "/private/secret", "/private/secret"},
    {"/private//secret", "/private/secret", "/private/secret"},
    {"/public//..//private/secret", "/private/secret", "/private/secret"},
    {"///", "/", "/"},
    {"/a//", "/a/", "/a/"},
    /* escapes: unreserved decoded, others kept upper-case */
    {"/%7Euser", "/~user", "/~user"},
    {"/%7euser", "/~user", "/~user"},
    {"/%41%62%2D%5f%2E", "/Ab-_.", "/Ab-_."},
    {"/a%3ab", "/a%3Ab", "/a%3Ab"},
    {"/a%20b", "/a%20b", "/a%20b"},
    {"/a%25b", "/a%25b", "/a%25b"},
    {"/a%252e%252e/b", "/a%252e%252e/b", "/a%252e%252e/b"},
    {"/a/%2e%2e/b", "/b", "/b"},
    {"/a/%2E/b", "/a/b", "/a/b"},
    {"/a/.%2e", "/", "/"},
    {"/caf%c3%a9", "/caf%C3%A9", "/caf%C3%A9"},
    {"/%F0%9F%98%80", "/%F0%9F%98%80", "/%F0%9F%98%80"},
    /* escaped separators stay one segment */
    {"/a%2fb", "/a%2Fb", NULL},
    {"/a%2Fb", "/a%2Fb", NULL},
    {"/a%5cb", "/a%5Cb", NULL},
    {"/a/..%2F", "/a/..%2F", NULL},
    {"/a/..%2Fb/../c", "/a/c", NULL},
    /* catalogue C-04 */
    {"/public%2f..%2fprivate/secret", "/public%2F..%2Fprivate/secret", NULL},
    {"/public/..%2Fprivate/secret", "/public/..%2Fprivate/secret", NULL},
    {"/public/..%5Cprivate/secret", "/public/..%5Cprivate/secret", NULL},
    {"/public\\..\\private\\secret", NULL, NULL},
    {"/private%00/secret", NULL, NULL},
    {"/public/%00", NULL, NULL},
    /* malformed escapes */
    {"/x%", NULL, NULL},
    {"/x%1", NULL, NULL},
    {"/x%zz", NULL, NULL},
    {"/x%g0", NULL, NULL},
    {"/x%0g", NULL, NULL},
    {"/x%00", NULL, NULL},
    {"/%", NULL, NULL},
    /* forbidden raw bytes */
    {"/a\\b", NULL, NULL},
    {"/a b", NULL, NULL},
    {"/a\tb", NULL, NULL},
    {"/\x02", NULL, NULL},
    {"/a\x7f", NULL, NULL},
    {"/caf\xc3\xa9", NULL, NULL},
    {"/a#frag", NULL, NULL},
    {"/a?b", NULL, NULL},
    /* invalid UTF-8 after decoding */
    {"/%FF", NULL, NULL},
    {"/%C3", NULL, NULL},
    {"/%C3/", NULL, NULL},
    {"/%C3%28", NULL, NULL},
    {"/%C0%AF", NULL, NULL},
    {"/%E0%80%AF", NULL, NULL},
    {"/%ED%A0%80", NULL, NULL},
    {"/%F4%90%80%80", NULL, NULL},
    {"/%80", NULL, NULL},
    /* dot segments with parameters */
    {"/a/..;x/b", NULL, NULL},
    {"/a/.;x/b", NULL, NULL},
    {"/..;", NULL, NULL},
    {"/a/%2e%2e;x", NULL, NULL},
    {"/a/b;x/c", "/a/b;x/c", "/a/b;x/c"},
    {"/a/...;x", "/a/...;x", "/a/...;x"},
    /* not a path */
    {"", NULL, NULL},
    {"a/b", NULL, NULL},
    {"%2Fa", NULL, NULL},
    {"*", NULL, NULL},
};

static void check_norm(const char *in, bool reject, const char *want)
{
    char out[256];
    struct tr_str path = tr_str_from_cstr(in);
    memset(out, 'Z', sizeof(out));
    int rc = tr_url_normalize_path(path, reject, out, path.len + 1);
    if (want == NULL) {
        if (rc != TR_EBADREQ)
            fprintf(stderr, "normalize(\"%s\", %d) accepted as \"%.*s\"\n", in, reject,
                    rc > 0 ? rc : 0, out);
        TR_CHECK_INT(rc, TR_EBADREQ);
        return;
    }
    if (rc <= 0) {
        fprintf(stderr, "normalize(\"%s\", %d) refused: %d\n", in, reject, rc);
        TR_CHECK(rc > 0);
        return;
    }
    TR_CHECK_SLICE(((struct tr_str){out, (size_t)rc}), want);
    TR_CHECK_INT(out[rc], '\0');

    /* normalizing twice changes nothing */
    char again[256];
    int rc2 = tr_url_normalize_path((struct tr_str){out, (size_t)rc}, reject, again, sizeof(again));
    TR_CHECK_INT(rc2, rc);
    if (rc2 == rc)
        TR_CHECK(memcmp(out, again, (size_t)rc) == 0);
}

static void test_normalize(void)
{
    for (size_t i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
        check_norm(norm_cases[i].in, false, norm_cases[i].keep);
        check_norm(norm_cases[i].in, true, norm_cases[i].reject);
    }

    /* the output buffer must hold path.len + 1 */
    char out[8];
    TR_CHECK_INT(tr_url_normalize_path(TR_STR_LIT("/abc"), false, out, 4), TR_EBADREQ);
    TR_CHECK_INT(tr_url_normalize_path(TR_STR_LIT("/abc"), false, out, 5), 4);

    /* not NUL-terminated input: only len bytes are read */
    const char raw[] = "/a/b/../cXYZ";
    char big[16];
    TR_CHECK_INT(tr_url_normalize_path((struct tr_str){raw, 9}, false, big, sizeof(big)), 4);
    TR_CHECK_SLICE(((struct tr_str){big, 4}), "/a/c");
}

/* ---- tr_url_join_upstream_path ---- */

/* Kong 0.7 proxy.md strip table (request_path /mockbin) and the upstream-path cases:
 *
 *   upstream   strip       request             upstream path
 *   ""         -           /mockbin            /mockbin
 *   ""         -           /mockbin/x          /mockbin/x
 *   ""         /mockbin    /mockbin            /
 *   ""         /mockbin    /mockbin/x          /x
 *   "/"        -           /x                  /x
 *   "/"        /mockbin    /mockbin            /
 *   "/v1"      -           /x                  /v1/x
 *   "/v1"      -           /                   /v1/
 *   "/v1/"     -           /                   /v1/      (trailing '/' dropped, then "/")
 *   "/v1/"     -           /x                  /v1/x
 *   "/v1"      /mockbin    /mockbin            /v1
 *   "/v1"      /mockbin    /mockbin/           /v1/
 *   "/v1"      /mockbin    /mockbin/x          /v1/x
 *   "/v1/"     /mockbin    /mockbin            /v1
 *   "/v1"      /mockbin    /other              /v1/other (no prefix: nothing stripped)
 *   ""         /           /x                  /x        (root api)
 *   "/v1"      /api        /api/y              /v1/y     (catalogue C-07)
 *   "v1"       -           /x                  /v1/x     (defensive: leading '/' added)
 *   ""         /mock       /mockbin            /bin      (strip off a boundary: never glued)
 *   "/v1"      /mock       /mockbin            /v1/bin
 *   ""         /mockbin/   /mockbin/x          /x        (trailing '/' of the prefix ignored)
 *   ""         -           ""                  /
 */
struct join_case {
    const char *up, *strip, *req, *want;
};

static const struct join_case join_cases[] = {
    {"", "", "/mockbin", "/mockbin"},
    {"", "", "/mockbin/x", "/mockbin/x"},
    {"", "/mockbin", "/mockbin", "/"},
    {"", "/mockbin", "/mockbin/x", "/x"},
    {"/", "", "/x", "/x"},
    {"/", "/mockbin", "/mockbin", "/"},
    {"/v1", "", "/x", "/v1/x"},
    {"/v1", "", "/", "/v1/"},
    {"/v1/", "", "/", "/v1/"},
    {"/v1/", "", "/x", "/v1/x"},
    {"/v1", "/mockbin", "/mockbin", "/v1"},
    {"/v1", "/mockbin", "/mockbin/", "/v1/"},
    {"/v1", "/mockbin", "/mockbin/x", "/v1/x"},
    {"/v1/", "/mockbin", "/mockbin", "/v1"},
    {"/v1", "/mockbin", "/other", "/v1/other"},
    {"", "/", "/x", "/x"},
    {"/v1", "/api", "/api/y", "/v1/y"},
    {"v1", "", "/x", "/v1/x"},
    {"", "/mock", "/mockbin", "/bin"},
    {"/v1", "/mock", "/mockbin", "/v1/bin"},
    {"", "/mockbin/", "/mockbin/x", "/x"},
    {"", "", "", "/"},
};

static void test_join(void)
{
    char out[64];
    for (size_t i = 0; i < sizeof(join_cases) / sizeof(join_cases[0]); i++) {
        const struct join_case *c = &join_cases[i];
        int rc = tr_url_join_upstream_path(tr_str_from_cstr(c->up), tr_str_from_cstr(c->req),
                                           tr_str_from_cstr(c->strip), out, sizeof(out));
        if (rc <= 0) {
            fprintf(stderr, "join(\"%s\", \"%s\", \"%s\") failed: %d\n", c->up, c->req, c->strip,
                    rc);
            TR_CHECK(rc > 0);
            continue;
        }
        TR_CHECK_SLICE(((struct tr_str){out, (size_t)rc}), c->want);
    }

    /* capacity: exactly enough works, one byte less is TR_ETOOLARGE */
    TR_CHECK_INT(
        tr_url_join_upstream_path(TR_STR_LIT("/v1"), TR_STR_LIT("/x"), TR_STR_NULL, out, 5), 5);
    TR_CHECK_SLICE(((struct tr_str){out, 5}), "/v1/x");
    TR_CHECK_INT(
        tr_url_join_upstream_path(TR_STR_LIT("/v1"), TR_STR_LIT("/x"), TR_STR_NULL, out, 4),
        TR_ETOOLARGE);
    TR_CHECK_INT(tr_url_join_upstream_path(TR_STR_NULL, TR_STR_NULL, TR_STR_NULL, out, 0),
                 TR_ETOOLARGE);
    TR_CHECK_INT(tr_url_join_upstream_path(TR_STR_NULL, TR_STR_NULL, TR_STR_NULL, out, 1), 1);
}

int main(void)
{
    test_parse();
    test_normalize();
    test_join();
    return TR_CHECK_DONE();
}
