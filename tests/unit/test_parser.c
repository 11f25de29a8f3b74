/* SPDX-License-Identifier: MIT */
/* Request and response head parser tests: tables of {bytes, expected result}, each also fed as
 * every prefix (a prefix must give TR_EAGAIN or the error of the whole input), plus field-level
 * checks of valid heads, the header-name table and the list helpers. */
#include "http/parser.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/err.h"
#include "core/mem.h"
#include "http/headers.h"

#define OK 0
#define HOST "Host: svc.test\r\n"
#define POST_PUB "POST /public/a HTTP/1.1\r\n" HOST

struct req_case {
    const char *name;
    const char *bytes;
    int expect;  /* OK or a TR_E* error */
    size_t tail; /* OK only: bytes after the head */
};

static const struct req_case req_cases[] = {
    /* Valid heads. */
    {"get", "GET /public/a HTTP/1.1\r\n" HOST "\r\n", OK, 0},
    {"get http/1.0 no host", "GET /public/a HTTP/1.0\r\n\r\n", OK, 0},
    {"get http/1.0 keep-alive", "GET /public/a HTTP/1.0\r\n" HOST "Connection: keep-alive\r\n\r\n",
     OK, 0},
    {"post cl", POST_PUB "Content-Length: 5\r\n\r\nhello", OK, 5},
    {"post cl leading zeros", POST_PUB "Content-Length: 010\r\n\r\n0123456789", OK, 10},
    {"post cl ows", POST_PUB "Content-Length: \t 5 \t\r\n\r\nhello", OK, 5},
    {"post chunked", POST_PUB "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", OK, 13},
    {"A-05 empty te member", POST_PUB "Transfer-Encoding: ,chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
     OK, 13},
    {"te case", POST_PUB "Transfer-Encoding: CHUNKED , \r\n\r\n", OK, 0},
    {"pipelined", "GET /public/1 HTTP/1.1\r\n" HOST "\r\nGET /public/2 HTTP/1.1\r\n" HOST "\r\n",
     OK, 42},
    {"A-21 get with body", "GET /public/g HTTP/1.1\r\n" HOST "Content-Length: 5\r\n\r\nhello", OK,
     5},
    {"B-08 one blank line", "\r\nGET /public/a HTTP/1.1\r\n" HOST "\r\n", OK, 0},
    {"eight blank lines", "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n" HOST "\r\n", OK, 0},
    {"options *", "OPTIONS * HTTP/1.1\r\n" HOST "\r\n", OK, 0},
    {"absolute-form", "GET http://svc.test/public/a?x=1 HTTP/1.1\r\n" HOST "\r\n", OK, 0},
    {"absolute-form https no path", "GET HTTPS://svc.test:8443 HTTP/1.1\r\n" HOST "\r\n", OK, 0},
    {"obs-text in value", "GET / HTTP/1.1\r\n" HOST "X-Name: caf\xc3\xa9 \xff\r\n\r\n", OK, 0},
    {"empty value", "GET / HTTP/1.1\r\n" HOST "X-Empty:\r\nX-Ows: \t \r\n\r\n", OK, 0},
    {"tab in value", "GET / HTTP/1.1\r\n" HOST "X-Tab: a\tb\r\n\r\n", OK, 0},
    {"B-02 upper host", "GET /public/a HTTP/1.1\r\nHost: SVC.TEST\r\n\r\n", OK, 0},
    {"B-02 trailing dot", "GET /public/a HTTP/1.1\r\nHost: svc.test.\r\n\r\n", OK, 0},
    {"B-02 port", "GET /public/a HTTP/1.1\r\nHost: svc.test:8000\r\n\r\n", OK, 0},
    {"B-02 empty port", "GET /public/a HTTP/1.1\r\nHost: svc.test:\r\n\r\n", OK, 0},
    {"host ipv4", "GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n", OK, 0},
    {"host ipv6", "GET / HTTP/1.1\r\nHost: [::1]:8000\r\n\r\n", OK, 0},
    {"host ipv6 v4-mapped", "GET / HTTP/1.1\r\nHost: [::ffff:10.0.0.1]\r\n\r\n", OK, 0},
    {"host underscore", "GET / HTTP/1.1\r\nHost: my_svc.internal\r\n\r\n", OK, 0},
    {"expect 100-continue", POST_PUB "Content-Length: 5\r\nExpect: 100-Continue\r\n\r\n", OK, 0},
    {"E-04 expect in 1.0 ignored", "POST /big/x HTTP/1.0\r\n" HOST "Expect: foo\r\n\r\n", OK, 0},
    {"B-05 lower-case method is a token", "gET /public/a HTTP/1.1\r\n" HOST "\r\n", OK, 0},
    {"trace is the proxy's business", "TRACE /public/a HTTP/1.1\r\n" HOST "\r\n", OK, 0},
    /* '%' escapes are judged by tr_url_normalize_path (P5), not by the parser. */
    {"percent left to url module", "GET /public/%zz HTTP/1.1\r\n" HOST "\r\n", OK, 0},
    {"D-01 hop-by-hop request",
     "GET /public/a HTTP/1.1\r\n" HOST "Connection: keep-alive, X-Foo, X-Bar\r\n"
     "Keep-Alive: timeout=5\r\nProxy-Connection: close\r\nProxy: http://evil.test\r\n"
     "TE: trailers, deflate;q=0.5\r\nUpgrade: example/1\r\nX-Foo: 1\r\nX-Bar: 2\r\n"
     "X-Foo-Bar: keep\r\nClose: keep\r\n\r\n",
     OK, 0},

    /* A. Framing and smuggling. */
    {"A-01 cl and te",
     POST_PUB "Content-Length: 48\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
              "GET /private/x HTTP/1.1\r\n" HOST "\r\n",
     TR_EBADREQ, 0},
    {"A-04 identity", POST_PUB "Transfer-Encoding: identity\r\n\r\n0\r\n\r\n", TR_ENOTIMPL, 0},
    {"A-04 gzip, chunked", POST_PUB "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
     TR_ENOTIMPL, 0},
    {"A-04 chunked, gzip", POST_PUB "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", TR_EBADREQ,
     0},
    {"A-04 chunked, chunked", POST_PUB "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
     TR_EBADREQ, 0},
    {"A-04 two te lines",
     POST_PUB "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     TR_EBADREQ, 0},
    {"te lines gzip then chunked",
     POST_PUB "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", TR_ENOTIMPL, 0},
    {"te lines chunked then gzip",
     POST_PUB "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", TR_EBADREQ, 0},
    {"te gzip with params", POST_PUB "Transfer-Encoding: gzip;q=1, chunked\r\n\r\n", TR_ENOTIMPL,
     0},
    {"te chunked with params", POST_PUB "Transfer-Encoding: chunked;x=1\r\n\r\n", TR_EBADREQ, 0},
    {"te empty", POST_PUB "Transfer-Encoding: \r\n\r\n", TR_EBADREQ, 0},
    {"te only commas", POST_PUB "Transfer-Encoding: , ,\r\n\r\n", TR_EBADREQ, 0},
    {"te junk member", POST_PUB "Transfer-Encoding: chu nked\r\n\r\n", TR_EBADREQ, 0},
    {"te quoted", POST_PUB "Transfer-Encoding: \"chunked\"\r\n\r\n", TR_EBADREQ, 0},
    {"A-06 te in 1.0",
     "POST /public/a HTTP/1.0\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", TR_EBADREQ,
     0},
    {"A-07 +5", POST_PUB "Content-Length: +5\r\n\r\nhello", TR_EBADREQ, 0},
    {"A-07 -1", POST_PUB "Content-Length: -1\r\n\r\nhello", TR_EBADREQ, 0},
    {"A-07 0x5", POST_PUB "Content-Length: 0x5\r\n\r\nhello", TR_EBADREQ, 0},
    {"A-07 5 5", POST_PUB "Content-Length: 5 5\r\n\r\nhello", TR_EBADREQ, 0},
    {"A-07 5,5", POST_PUB "Content-Length: 5,5\r\n\r\nhello", TR_EBADREQ, 0},
    {"A-07 1_0", POST_PUB "Content-Length: 1_0\r\n\r\nhello", TR_EBADREQ, 0},
    {"A-07 empty", POST_PUB "Content-Length: \r\n\r\nhello", TR_EBADREQ, 0},
    {"A-07 5a", POST_PUB "Content-Length: 5a\r\n\r\nhello", TR_EBADREQ, 0},
    {"A-07 form feed",
     POST_PUB "Content-Length: \x0c"
              "5\r\n\r\nhello",
     TR_EBADREQ, 0},
    {"A-07 20 digits", POST_PUB "Content-Length: 99999999999999999999\r\n\r\nhello", TR_EBADREQ, 0},
    {"cl 2^63", POST_PUB "Content-Length: 9223372036854775808\r\n\r\n", TR_EBADREQ, 0},
    {"cl 2^63-1", POST_PUB "Content-Length: 9223372036854775807\r\n\r\n", OK, 0},
    {"A-09a cl 1 and 0", POST_PUB "Content-Length: 1\r\nContent-Length: 0\r\n\r\nZ", TR_EBADREQ, 0},
    {"A-09b cl 5 twice", POST_PUB "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", TR_EBADREQ,
     0},
    {"A-25 bare lf", "GET /public/a HTTP/1.1\nHost: svc.test\n\n", TR_EBADREQ, 0},
    {"A-25 final bare lf", "GET /public/a HTTP/1.1\r\nHost: svc.test\r\n\n", TR_EBADREQ, 0},
    {"bare lf in field line", "GET / HTTP/1.1\r\nHost: svc.test\nX: y\r\n\r\n", TR_EBADREQ, 0},
    {"bare cr in value", "GET / HTTP/1.1\r\n" HOST "X-A: a\rb\r\n\r\n", TR_EBADREQ, 0},
    {"bare cr line end", "GET / HTTP/1.1\r\n" HOST "X-A: a\r\r\n\r\n", TR_EBADREQ, 0},
    {"bare cr final", "GET / HTTP/1.1\r\n" HOST "\r\r\n", TR_EBADREQ, 0},
    {"leading bare lf", "\nGET / HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"leading bare cr", "\rGET / HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"B-08 nine blank lines", "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n" HOST "\r\n",
     TR_EBADREQ, 0},

    /* P1.2: field lines. */
    {"space before colon", "GET / HTTP/1.1\r\nHost : svc.test\r\n\r\n", TR_EBADREQ, 0},
    {"tab before colon", "GET / HTTP/1.1\r\n" HOST "X-A\t: b\r\n\r\n", TR_EBADREQ, 0},
    {"no colon", "GET / HTTP/1.1\r\n" HOST "X-A b\r\n\r\n", TR_EBADREQ, 0},
    {"empty name", "GET / HTTP/1.1\r\n" HOST ": b\r\n\r\n", TR_EBADREQ, 0},
    {"leading space first field", "GET / HTTP/1.1\r\n " HOST "\r\n", TR_EBADREQ, 0},
    {"leading tab first field", "GET / HTTP/1.1\r\n\tX: y\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"obs-fold", "GET / HTTP/1.1\r\n" HOST "X-A: a\r\n b\r\n\r\n", TR_EBADREQ, 0},
    {"nul in value", "GET / HTTP/1.1\r\n" HOST "X-A: a\0b\r\n\r\n", TR_EBADREQ, 0},
    {"ctl in value", "GET / HTTP/1.1\r\n" HOST "X-A: a\x01z\r\n\r\n", TR_EBADREQ, 0},
    {"del in value", "GET / HTTP/1.1\r\n" HOST "X-A: a\x7fz\r\n\r\n", TR_EBADREQ, 0},
    {"non-token name", "GET / HTTP/1.1\r\n" HOST "X(A): b\r\n\r\n", TR_EBADREQ, 0},
    {"high byte in name", "GET / HTTP/1.1\r\n" HOST "X\xc3\xa9: b\r\n\r\n", TR_EBADREQ, 0},

    /* B-01: Host. */
    {"B-01 missing", "GET /public/a HTTP/1.1\r\n\r\n", TR_EBADREQ, 0},
    {"B-01 twice", "GET /public/a HTTP/1.1\r\n" HOST HOST "\r\n", TR_EBADREQ, 0},
    {"B-01 empty", "GET /public/a HTTP/1.1\r\nHost: \r\n\r\n", TR_EBADREQ, 0},
    {"B-01 slash", "GET /public/a HTTP/1.1\r\nHost: svc.test/x\r\n\r\n", TR_EBADREQ, 0},
    {"B-01 space", "GET /public/a HTTP/1.1\r\nHost: svc test\r\n\r\n", TR_EBADREQ, 0},
    {"B-01 port too big", "GET /public/a HTTP/1.1\r\nHost: svc.test:99999\r\n\r\n", TR_EBADREQ, 0},
    {"B-01 two ports", "GET /public/a HTTP/1.1\r\nHost: svc.test:80:80\r\n\r\n", TR_EBADREQ, 0},
    {"B-01 open bracket", "GET /public/a HTTP/1.1\r\nHost: [::1\r\n\r\n", TR_EBADREQ, 0},
    {"B-01 empty label", "GET /public/a HTTP/1.1\r\nHost: svc..test\r\n\r\n", TR_EBADREQ, 0},
    {"B-01 backslash", "GET /public/a HTTP/1.1\r\nHost: svc.test\\\r\n\r\n", TR_EBADREQ, 0},
    {"host twice in 1.0", "GET / HTTP/1.0\r\n" HOST HOST "\r\n", TR_EBADREQ, 0},
    {"host empty in 1.0", "GET / HTTP/1.0\r\nHost:\r\n\r\n", TR_EBADREQ, 0},
    {"host port only", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", TR_EBADREQ, 0},
    {"host port 6 digits", "GET / HTTP/1.1\r\nHost: a:000080\r\n\r\n", TR_EBADREQ, 0},
    {"host port sign", "GET / HTTP/1.1\r\nHost: a:+80\r\n\r\n", TR_EBADREQ, 0},
    {"host userinfo", "GET / HTTP/1.1\r\nHost: u@svc.test\r\n\r\n", TR_EBADREQ, 0},
    {"host leading dot", "GET / HTTP/1.1\r\nHost: .svc.test\r\n\r\n", TR_EBADREQ, 0},
    {"host numeric not ipv4", "GET / HTTP/1.1\r\nHost: 127.1\r\n\r\n", TR_EBADREQ, 0},
    {"host ipv4 octet", "GET / HTTP/1.1\r\nHost: 1.2.3.256\r\n\r\n", TR_EBADREQ, 0},
    {"host ipv6 zone", "GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", TR_EBADREQ, 0},
    {"host ipv6 junk", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", TR_EBADREQ, 0},
    {"host ipv6 bad", "GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n", TR_EBADREQ, 0},

    /* B-05: methods. */
    {"B-05 G=T", "G=T /public/a HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"B-05 tab", "GET\t/public/a HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"B-05 two spaces", "GET  /public/a HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"empty method", " /public/a HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},

    /* B-06: targets. */
    {"B-06 space", "GET /public/a b HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"B-06 ctl", "GET /public/\x02 HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"B-06 fragment", "GET /public/a#frag HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"B-06 asterisk with get", "GET * HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"B-06 authority-form", "GET svc.test:80 HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"B-06 relative", "GET public/a HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    /* P4: every CONNECT is 405, whatever its target form. */
    {"connect authority-form", "CONNECT svc.test:443 HTTP/1.1\r\n" HOST "\r\n", TR_EMETHOD, 0},
    {"connect ip:port", "CONNECT 127.0.0.1:80 HTTP/1.1\r\n" HOST "\r\n", TR_EMETHOD, 0},
    {"connect ipv6", "CONNECT [::1]:443 HTTP/1.1\r\n" HOST "\r\n", TR_EMETHOD, 0},
    {"connect origin-form", "CONNECT /x HTTP/1.1\r\n" HOST "\r\n", TR_EMETHOD, 0},
    {"connect absolute-form", "CONNECT http://svc.test/ HTTP/1.1\r\n" HOST "\r\n", TR_EMETHOD, 0},
    {"connect asterisk", "CONNECT * HTTP/1.1\r\n" HOST "\r\n", TR_EMETHOD, 0},
    {"connect 1.0 no host", "CONNECT svc.test:443 HTTP/1.0\r\n\r\n", TR_EMETHOD, 0},
    {"connect with body", "CONNECT h:1 HTTP/1.1\r\n" HOST "Content-Length: 3\r\n\r\nabc",
     TR_EMETHOD, 0},
    {"lower-case connect is a token", "connect /x HTTP/1.1\r\n" HOST "\r\n", OK, 0},
    {"high byte in target", "GET /caf\xc3\xa9 HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"del in target", "GET /a\x7f HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"absolute-form userinfo", "GET http://u@svc.test/ HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"absolute-form empty authority", "GET http:///x HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"absolute-form bad port", "GET http://svc.test:x/ HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"absolute-form ftp", "GET ftp://svc.test/ HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"asterisk-form prefix", "OPTIONS *x HTTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},

    /* B-07: versions. */
    {"B-07 1.32", "GET /public/a HTTP/1.32\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"B-07 11.1", "GET /public/a HTTP/11.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"B-07 HTP", "GET /public/a HTP/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"B-07 cr cr", "GET /public/a HTTP/\r\r1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"B-07 trailing space", "GET /public/a HTTP/1.1 \r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"lower-case version", "GET /public/a http/1.1\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"no version", "GET /public/a\r\n" HOST "\r\n", TR_EBADREQ, 0},
    {"http/2.0", "GET /public/a HTTP/2.0\r\n" HOST "\r\n", TR_EVERSION, 0},
    {"http/1.2", "GET /public/a HTTP/1.2\r\n" HOST "\r\n", TR_EVERSION, 0},
    {"http/0.9", "GET /public/a HTTP/0.9\r\n" HOST "\r\n", TR_EVERSION, 0},

    /* P7 and E-04. */
    {"connection names content-length",
     "GET / HTTP/1.1\r\n" HOST "Connection: Content-Length\r\n\r\n", TR_EBADREQ, 0},
    {"connection names te",
     "GET / HTTP/1.1\r\n" HOST "Connection: close, transfer-encoding\r\n\r\n", TR_EBADREQ, 0},
    {"connection names host", "GET / HTTP/1.1\r\n" HOST "Connection: HOST\r\n\r\n", TR_EBADREQ, 0},
    {"connection non-token", "GET / HTTP/1.1\r\n" HOST "Connection: a b\r\n\r\n", TR_EBADREQ, 0},
    {"E-04 expect foo", POST_PUB "Content-Length: 5\r\nExpect: foo\r\n\r\n", TR_EEXPECT, 0},
    {"expect list", POST_PUB "Content-Length: 5\r\nExpect: 100-continue, foo\r\n\r\n", TR_EEXPECT,
     0},
    {"400 beats 501", POST_PUB "Transfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\n", TR_EBADREQ,
     0},
    {"501 beats 417", POST_PUB "Transfer-Encoding: gzip\r\nExpect: foo\r\n\r\n", TR_ENOTIMPL, 0},
};

static void check_request_case(const char *name, const char *bytes, size_t len,
                               const struct tr_http_limits *lim, int expect, size_t tail)
{
    static struct tr_http_request req;
    size_t head_len = expect == OK ? len - tail : 0;
    int rc = tr_http_parse_request(bytes, len, lim, &req);
    int want = expect == OK ? (int)head_len : expect;
    bool split_ok = true;

    if (rc != want)
        fprintf(stderr, "request case \"%s\": got %d (%s), want %d\n", name, rc, tr_err_name(rc),
                want);
    TR_CHECK_INT(rc, want);
    if (rc > 0)
        TR_CHECK_INT(req.head_len, rc);

    /* Every prefix: TR_EAGAIN, or the same result as the whole input. Small inputs are copied
     * into a buffer of exactly the prefix length so that any read past it is caught by ASan. */
    for (size_t k = 0; k < len; k++) {
        char *copy = NULL;
        const char *p = bytes;
        int prc;
        if (len <= 4096) {
            copy = malloc(k ? k : 1);
            memcpy(copy, bytes, k);
            p = copy;
        }
        prc = tr_http_parse_request(p, k, lim, &req);
        free(copy);
        if (prc == TR_EAGAIN || prc == want) {
            if (prc > 0 && k < head_len) {
                fprintf(stderr, "request case \"%s\": prefix %zu complete too early\n", name, k);
                split_ok = false;
                break;
            }
            if (prc == TR_EAGAIN && expect == OK && k >= head_len) {
                fprintf(stderr, "request case \"%s\": prefix %zu incomplete\n", name, k);
                split_ok = false;
                break;
            }
            continue;
        }
        fprintf(stderr, "request case \"%s\": prefix %zu gave %d (%s), whole input %d\n", name, k,
                prc, tr_err_name(prc), want);
        split_ok = false;
        break;
    }
    TR_CHECK(split_ok);
}

static void test_request_table(void)
{
    for (size_t i = 0; i < TR_ARRAY_SIZE(req_cases); i++) {
        const struct req_case *c = &req_cases[i];
        size_t len = strlen(c->bytes);
        /* A few cases carry a NUL byte: take their length from the bytes after it. */
        if (strstr(c->name, "nul in"))
            len += 1 + strlen(c->bytes + len + 1);
        check_request_case(c->name, c->bytes, len, NULL, c->expect, c->tail);
    }
}

static struct tr_http_request req;

static void test_request_fields(void)
{
    const char *s;
    int rc;

    s = "GET /public/a?x=1&y HTTP/1.1\r\nHost: svc.test:8000\r\nX-A:  v  \r\nx-b:\r\n\r\n";
    rc = tr_http_parse_request(s, strlen(s), NULL, &req);
    TR_CHECK_INT(rc, strlen(s));
    TR_CHECK_SLICE(req.method, "GET");
    TR_CHECK_SLICE(req.target, "/public/a?x=1&y");
    TR_CHECK_SLICE(req.path, "/public/a");
    TR_CHECK_SLICE(req.query, "x=1&y");
    TR_CHECK(req.has_query);
    TR_CHECK_INT(req.authority.len, 0);
    TR_CHECK_INT(req.minor_version, 1);
    TR_CHECK_SLICE(req.host, "svc.test:8000");
    TR_CHECK_INT(req.num_headers, 3);
    TR_CHECK_SLICE(req.headers[0].name, "Host");
    TR_CHECK_SLICE(req.headers[1].name, "X-A");
    TR_CHECK_SLICE(req.headers[1].value, "v");
    TR_CHECK_SLICE(req.headers[2].name, "x-b");
    TR_CHECK_SLICE(req.headers[2].value, "");
    TR_CHECK_INT(req.body, TR_HTTP_BODY_NONE);
    TR_CHECK(req.keep_alive);
    TR_CHECK(!req.expect_continue);
    TR_CHECK(!req.websocket);
    /* Zero-copy: slices point into the buffer. */
    TR_CHECK(req.method.ptr == s);
    TR_CHECK(req.headers[1].value.ptr == strstr(s, "v  \r\n"));

    s = "GET /p? HTTP/1.1\r\n" HOST "\r\n";
    rc = tr_http_parse_request(s, strlen(s), NULL, &req);
    TR_CHECK_INT(rc, strlen(s));
    TR_CHECK_SLICE(req.path, "/p");
    TR_CHECK_SLICE(req.query, "");
    TR_CHECK(req.has_query);

    s = "GET /p HTTP/1.1\r\n" HOST "\r\n";
    rc = tr_http_parse_request(s, strlen(s), NULL, &req);
    TR_CHECK_SLICE(req.path, "/p");
    TR_CHECK(!req.has_query);
    TR_CHECK_INT(req.query.len, 0);

    s = POST_PUB "Content-Length: 010\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n";
    rc = tr_http_parse_request(s, strlen(s), NULL, &req);
    TR_CHECK_INT(rc, strlen(s));
    TR_CHECK_INT(req.body, TR_HTTP_BODY_LENGTH);
    TR_CHECK_INT(req.content_length, 10);
    TR_CHECK(req.expect_continue);
    TR_CHECK(!req.keep_alive);

    s = POST_PUB "Transfer-Encoding: ,chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    rc = tr_http_parse_request(s, strlen(s), NULL, &req);
    TR_CHECK_INT(rc, strlen(s) - 13);
    TR_CHECK_INT(req.body, TR_HTTP_BODY_CHUNKED);
    TR_CHECK(req.keep_alive);

    s = "GET /a HTTP/1.0\r\n\r\n";
    rc = tr_http_parse_request(s, strlen(s), NULL, &req);
    TR_CHECK_INT(req.minor_version, 0);
    TR_CHECK(!req.keep_alive);
    TR_CHECK_INT(req.host.len, 0);

    s = "GET /a HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
    rc = tr_http_parse_request(s, strlen(s), NULL, &req);
    TR_CHECK(req.keep_alive);
    s = "GET /a HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n";
    rc = tr_http_parse_request(s, strlen(s), NULL, &req);
    TR_CHECK(!req.keep_alive);
    s = "GET /a HTTP/1.1\r\n" HOST "Connection: foo\r\nConnection: CLOSE\r\n\r\n";
    rc = tr_http_parse_request(s, strlen(s), NULL, &req);
    TR_CHECK(!req.keep_alive);

    /* Only a complete WebSocket handshake is an upgrade (P7, RFC 6455 §4.1). */
#define WS_KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define WS_V13 "Sec-WebSocket-Version: 13\r\n"
#define WS_CONN "Connection: keep-alive, Upgrade\r\n"
    s = "GET /chat HTTP/1.1\r\n" HOST WS_CONN "Upgrade: websocket\r\n" WS_KEY WS_V13 "\r\n";
    rc = tr_http_parse_request(s, strlen(s), NULL, &req);
    TR_CHECK_INT(rc, strlen(s));
    TR_CHECK(req.websocket);
    TR_CHECK_SLICE(req.ws_key, "dGhlIHNhbXBsZSBub25jZQ==");
    static const char *const not_websocket[] = {
        "GET /chat HTTP/1.1\r\n" HOST "Upgrade: websocket\r\n" WS_KEY WS_V13 "\r\n",
        "GET /chat HTTP/1.1\r\n" HOST "Connection: upgrade\r\n" WS_KEY WS_V13 "\r\n",
        "GET /chat HTTP/1.1\r\n" HOST WS_CONN
        "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
        "GET /chat HTTP/1.1\r\n" HOST WS_CONN "Upgrade: h2c\r\n" WS_KEY WS_V13 "\r\n",
        "GET /chat HTTP/1.1\r\n" HOST WS_CONN "Upgrade: websocket, h2c\r\n" WS_KEY WS_V13 "\r\n",
        "GET /chat HTTP/1.1\r\n" HOST WS_CONN "Upgrade: websocket\r\nUpgrade: h2c\r\n" WS_KEY WS_V13
        "\r\n",
        "GET /chat HTTP/1.1\r\n" HOST WS_CONN "Upgrade: websocket\r\n" WS_V13 "\r\n",
        "GET /chat HTTP/1.1\r\n" HOST WS_CONN "Upgrade: websocket\r\n" WS_KEY WS_KEY WS_V13 "\r\n",
        "GET /chat HTTP/1.1\r\n" HOST WS_CONN "Upgrade: websocket\r\n"
        "Sec-WebSocket-Key: short==\r\n" WS_V13 "\r\n",
        "GET /chat HTTP/1.1\r\n" HOST WS_CONN "Upgrade: websocket\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=!\r\n" WS_V13 "\r\n",
        "GET /chat HTTP/1.1\r\n" HOST WS_CONN "Upgrade: websocket\r\n" WS_KEY "\r\n",
        "GET /chat HTTP/1.1\r\n" HOST WS_CONN "Upgrade: websocket\r\n" WS_KEY
        "Sec-WebSocket-Version: 8\r\n\r\n",
        "POST /chat HTTP/1.1\r\n" HOST WS_CONN "Upgrade: websocket\r\n" WS_KEY WS_V13 "\r\n",
        "GET /chat HTTP/1.1\r\n" HOST WS_CONN "Upgrade: websocket\r\n" WS_KEY WS_V13
        "Content-Length: 3\r\n\r\nabc",
        "GET /chat HTTP/1.0\r\n" HOST WS_CONN "Upgrade: websocket\r\n" WS_KEY WS_V13 "\r\n",
        "GET /chat HTTP/1.1\r\n" HOST WS_CONN "Upgrade: TLS/1.2\r\n\r\n",
    };
    for (size_t i = 0; i < TR_ARRAY_SIZE(not_websocket); i++) {
        rc = tr_http_parse_request(not_websocket[i], strlen(not_websocket[i]), NULL, &req);
        TR_CHECK(rc > 0);
        TR_CHECK(!req.websocket);
    }

    s = "OPTIONS * HTTP/1.1\r\n" HOST "\r\n";
    rc = tr_http_parse_request(s, strlen(s), NULL, &req);
    TR_CHECK_INT(rc, strlen(s));
    TR_CHECK_SLICE(req.path, "*");
    TR_CHECK(!req.has_query);

    s = "GET http://SVC.test:80/public/a?x=1 HTTP/1.1\r\n" HOST "\r\n";
    rc = tr_http_parse_request(s, strlen(s), NULL, &req);
    TR_CHECK_INT(rc, strlen(s));
    TR_CHECK_SLICE(req.authority, "SVC.test:80");
    TR_CHECK_SLICE(req.path, "/public/a");
    TR_CHECK_SLICE(req.query, "x=1");
    TR_CHECK_SLICE(req.target, "http://SVC.test:80/public/a?x=1");

    s = "GET http://svc.test?q HTTP/1.1\r\n" HOST "\r\n";
    rc = tr_http_parse_request(s, strlen(s), NULL, &req);
    TR_CHECK_INT(rc, strlen(s));
    TR_CHECK_SLICE(req.authority, "svc.test");
    TR_CHECK_SLICE(req.path, "/");
    TR_CHECK_SLICE(req.query, "q");
    TR_CHECK(req.has_query);

    /* Skipped blank lines count in head_len. */
    s = "\r\n\r\nGET / HTTP/1.1\r\n" HOST "\r\n";
    rc = tr_http_parse_request(s, strlen(s), NULL, &req);
    TR_CHECK_INT(rc, strlen(s));
    TR_CHECK_SLICE(req.method, "GET");

    /* Pipelining: head_len stops at the first request; the second parses from there. */
    s = "GET /public/1 HTTP/1.1\r\n" HOST "\r\nPOST /public/2 HTTP/1.1\r\n" HOST
        "Content-Length: 10\r\n\r\n0123456789";
    rc = tr_http_parse_request(s, strlen(s), NULL, &req);
    TR_CHECK_INT(rc, 42);
    TR_CHECK_SLICE(req.path, "/public/1");
    rc = tr_http_parse_request(s + 42, strlen(s) - 42, NULL, &req);
    TR_CHECK_INT(rc, strlen(s) - 42 - 10);
    TR_CHECK_SLICE(req.path, "/public/2");
    TR_CHECK_INT(req.content_length, 10);
}

/* Build "GET /{a*n} HTTP/1.1\r\n" plus fields; returns a malloc'ed buffer. */
static char *build(size_t target_len, size_t nfields, size_t field_len, size_t *out_len)
{
    size_t cap = 64 + target_len + nfields * (field_len + 32) + 64;
    char *b = malloc(cap);
    size_t n = 0;

    memcpy(b + n, "GET /", 5);
    n += 5;
    memset(b + n, 'a', target_len - 1);
    n += target_len - 1;
    memcpy(b + n, " HTTP/1.1\r\n" HOST, 11 + 16);
    n += 11 + 16;
    for (size_t i = 0; i < nfields; i++) {
        /* "X-nnnnn: vvv" of exactly field_len bytes */
        int w = snprintf(b + n, 32, "X-%05zu: ", i);
        memset(b + n + w, 'v', field_len - (size_t)w);
        n += field_len;
        memcpy(b + n, "\r\n", 2);
        n += 2;
    }
    memcpy(b + n, "\r\n", 2);
    n += 2;
    *out_len = n;
    return b;
}

static void test_limits(void)
{
    size_t len;
    char *b;
    int rc;

    /* E-01: a request line of 8192 bytes is fine, 8193 is 414. "GET /" + target + " HTTP/1.1"
     * is 4 + target_len + 9 bytes. */
    b = build(8192 - 13, 0, 0, &len);
    check_request_case("E-01 8192", b, len, NULL, OK, 0);
    free(b);
    b = build(8193 - 13, 0, 0, &len);
    check_request_case("E-01 8193", b, len, NULL, TR_EURITOOLONG, 0);
    /* 414 as soon as the line is longer than the limit, before any CRLF. */
    rc = tr_http_parse_request(b, 8194, NULL, &req);
    TR_CHECK_INT(rc, TR_EURITOOLONG);
    rc = tr_http_parse_request(b, 8193, NULL, &req);
    TR_CHECK_INT(rc, TR_EAGAIN);
    free(b);

    /* E-02: one field line of 8192 bytes, then 8193. */
    b = build(10, 1, 8192, &len);
    check_request_case("E-02 field 8192", b, len, NULL, OK, 0);
    free(b);
    b = build(10, 1, 8193, &len);
    check_request_case("E-02 field 8193", b, len, NULL, TR_EHDRTOOLARGE, 0);
    free(b);

    /* E-02: Host plus 99 fields, then plus 100. */
    b = build(10, 99, 20, &len);
    check_request_case("E-02 100 fields", b, len, NULL, OK, 0);
    rc = tr_http_parse_request(b, len, NULL, &req);
    TR_CHECK_INT(req.num_headers, 100);
    free(b);
    b = build(10, 100, 20, &len);
    check_request_case("E-02 101 fields", b, len, NULL, TR_EHDRTOOLARGE, 0);
    free(b);

    /* E-02: nine 4 KiB fields, head over 32 KiB; 431 even before the blank line arrives. */
    b = build(10, 9, 4096, &len);
    check_request_case("E-02 head 36 KiB", b, len, NULL, TR_EHDRTOOLARGE, 0);
    rc = tr_http_parse_request(b, 32768 + 100, NULL, &req);
    TR_CHECK_INT(rc, TR_EHDRTOOLARGE);
    free(b);

    /* Configured limits. */
    {
        static const struct tr_http_limits lim = {
            .max_request_line = 20, .max_field_line = 30, .max_headers = 3, .max_blank_lines = 1};
        static const struct tr_http_limits lim_head = {.max_head = 120};
        static const struct {
            const char *name, *bytes;
            const struct tr_http_limits *lim;
            int expect;
        } t[] = {
            {"lim line 20", "GET /012345 HTTP/1.1\r\n" HOST "\r\n", &lim, OK},
            {"lim line 21", "GET /0123456 HTTP/1.1\r\n" HOST "\r\n", &lim, TR_EURITOOLONG},
            {"lim field 30", "GET / HTTP/1.1\r\n" HOST "X: 012345678901234567890123456\r\n\r\n",
             &lim, OK},
            {"lim field 31", "GET / HTTP/1.1\r\n" HOST "X: 0123456789012345678901234567\r\n\r\n",
             &lim, TR_EHDRTOOLARGE},
            {"lim 3 fields", "GET / HTTP/1.1\r\n" HOST "A: 1\r\nB: 2\r\n\r\n", &lim, OK},
            {"lim 4 fields", "GET / HTTP/1.1\r\n" HOST "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", &lim,
             TR_EHDRTOOLARGE},
            {"lim 1 blank", "\r\nGET / HTTP/1.1\r\n" HOST "\r\n", &lim, OK},
            {"lim 2 blanks", "\r\n\r\nGET / HTTP/1.1\r\n" HOST "\r\n", &lim, TR_EBADREQ},
            /* 16 + 16 + 29 + 29 + 28 + 2 = 120 bytes. */
            {"lim head 120",
             "GET / HTTP/1.1\r\n" HOST "A: 012345678901234567890123\r\n"
             "B: 012345678901234567890123\r\nC: 01234567890123456789012\r\n\r\n",
             &lim_head, OK},
            {"lim head 121",
             "GET / HTTP/1.1\r\n" HOST "A: 012345678901234567890123\r\n"
             "B: 012345678901234567890123\r\nC: 012345678901234567890123\r\n\r\n",
             &lim_head, TR_EHDRTOOLARGE},
            /* A request line longer than the head limit is 431, not 414. */
            {"lim head line",
             "GET /0123456789012345678901234567890123456789012345678901234567890"
             "12345678901234567890123456789012345678901234567890123456789 HTTP/1.1"
             "\r\n\r\n",
             &lim_head, TR_EHDRTOOLARGE},
        };
        TR_CHECK_INT(strlen(t[8].bytes), 120);
        for (size_t i = 0; i < TR_ARRAY_SIZE(t); i++)
            check_request_case(t[i].name, t[i].bytes, strlen(t[i].bytes), t[i].lim, t[i].expect, 0);
    }

    /* B-08: 10,000 CRLF pairs stop after the ninth. */
    b = malloc(20000);
    for (size_t i = 0; i < 10000; i++)
        memcpy(b + 2 * i, "\r\n", 2);
    rc = tr_http_parse_request(b, 20000, NULL, &req);
    TR_CHECK_INT(rc, TR_EBADREQ);
    rc = tr_http_parse_request(b, 18, NULL, &req);
    TR_CHECK_INT(rc, TR_EBADREQ);
    rc = tr_http_parse_request(b, 16, NULL, &req);
    TR_CHECK_INT(rc, TR_EAGAIN);
    free(b);
}

/* ---- Responses ---------------------------------------------------------------------------- */

struct res_case {
    const char *name;
    const char *bytes;
    bool head;   /* response to a HEAD request */
    int expect;  /* OK or TR_EUPSTREAM_BADRESP */
    size_t tail; /* bytes after the head */
    int body;    /* expected framing when OK */
    bool keep_alive;
};

#define BAD TR_EUPSTREAM_BADRESP
#define R200 "HTTP/1.1 200 OK\r\n"

static const struct res_case res_cases[] = {
    {"200 cl", R200 "Content-Length: 2\r\n\r\nok", false, OK, 2, TR_HTTP_BODY_LENGTH, true},
    {"204 empty reason", "HTTP/1.1 204 \r\n\r\n", false, OK, 0, TR_HTTP_BODY_NONE, true},
    {"204 no reason", "HTTP/1.1 204\r\n\r\n", false, OK, 0, TR_HTTP_BODY_NONE, true},
    {"chunked", R200 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false, OK, 5,
     TR_HTTP_BODY_CHUNKED, true},
    {"chunked empty member", R200 "Transfer-Encoding: , Chunked\r\n\r\n", false, OK, 0,
     TR_HTTP_BODY_CHUNKED, true},
    {"eof", R200 "\r\nbody", false, OK, 4, TR_HTTP_BODY_EOF, false},
    {"1.0 cl", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", false, OK, 0, TR_HTTP_BODY_LENGTH,
     false},
    {"1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n",
     false, OK, 0, TR_HTTP_BODY_LENGTH, true},
    {"close", R200 "Connection: close\r\nContent-Length: 2\r\n\r\n", false, OK, 0,
     TR_HTTP_BODY_LENGTH, false},
    {"head", R200 "Content-Length: 100\r\n\r\n", true, OK, 0, TR_HTTP_BODY_NONE, true},
    {"head chunked", R200 "Transfer-Encoding: chunked\r\n\r\n", true, OK, 0, TR_HTTP_BODY_NONE,
     true},
    {"304 cl", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", false, OK, 0,
     TR_HTTP_BODY_NONE, true},
    {"100 continue", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", false, OK, 17,
     TR_HTTP_BODY_NONE, true},
    {"599", "HTTP/1.1 599 x\r\nContent-Length: 0\r\n\r\n", false, OK, 0, TR_HTTP_BODY_LENGTH, true},
    {"reason with obs-text and tab", "HTTP/1.1 200 Tr\xc3\xa8s\tbien\r\nContent-Length: 0\r\n\r\n",
     false, OK, 0, TR_HTTP_BODY_LENGTH, true},
    {"D-01 upstream hop-by-hop",
     R200 "Connection: X-Up, keep-alive\r\nX-Up: 1\r\nKeep-Alive: timeout=5\r\nUpgrade: foo\r\n"
          "Trailer: X\r\nProxy-Connection: close\r\nContent-Length: 2\r\n\r\nok",
     false, OK, 2, TR_HTTP_BODY_LENGTH, true},

    {"F-06a cl and te", R200 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", false, BAD,
     0, 0, false},
    {"F-06b two cl", R200 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", false, BAD, 0, 0,
     false},
    {"two equal cl", R200 "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", false, BAD, 0, 0,
     false},
    {"F-06c cl abc", R200 "Content-Length: abc\r\n\r\n", false, BAD, 0, 0, false},
    {"cl list", R200 "Content-Length: 5, 5\r\n\r\n", false, BAD, 0, 0, false},
    {"F-06d te gzip", R200 "Transfer-Encoding: gzip\r\n\r\n", false, BAD, 0, 0, false},
    {"te gzip, chunked", R200 "Transfer-Encoding: gzip, chunked\r\n\r\n", false, BAD, 0, 0, false},
    {"te chunked twice", R200 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
     false, BAD, 0, 0, false},
    {"te in 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, BAD, 0, 0, false},
    {"F-06e 2000", "HTTP/1.1 2000 OK\r\n\r\n", false, BAD, 0, 0, false},
    {"F-06f nul", R200 "X: a\0b\r\n\r\n", false, BAD, 0, 0, false},
    {"F-06g garbage", "garbage\r\n\r\n", false, BAD, 0, 0, false},
    {"F-06h space before colon", R200 "Content-Length : 2\r\n\r\nok", false, BAD, 0, 0, false},
    {"D-10 obs-fold", R200 "X-A: a\r\n b\r\nContent-Length: 0\r\n\r\n", false, BAD, 0, 0, false},
    {"D-10 bare cr", R200 "X-A: a\rb\r\nContent-Length: 0\r\n\r\n", false, BAD, 0, 0, false},
    {"bare lf", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", false, BAD, 0, 0, false},
    {"bare lf end", R200 "Content-Length: 0\r\n\n", false, BAD, 0, 0, false},
    {"status 099", "HTTP/1.1 099 x\r\n\r\n", false, BAD, 0, 0, false},
    {"status 600", "HTTP/1.1 600 x\r\n\r\n", false, BAD, 0, 0, false},
    {"status 20", "HTTP/1.1 20 OK\r\n\r\n", false, BAD, 0, 0, false},
    {"status letters", "HTTP/1.1 2x0 OK\r\n\r\n", false, BAD, 0, 0, false},
    {"http/2", "HTTP/2 200 OK\r\n\r\n", false, BAD, 0, 0, false},
    {"http/1.2", "HTTP/1.2 200 OK\r\n\r\n", false, BAD, 0, 0, false},
    {"lower-case version", "http/1.1 200 OK\r\n\r\n", false, BAD, 0, 0, false},
    {"two spaces", "HTTP/1.1  200 OK\r\n\r\n", false, BAD, 0, 0, false},
    {"ctl in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", false, BAD, 0, 0, false},
    {"leading blank line", "\r\nHTTP/1.1 200 OK\r\n\r\n", false, BAD, 0, 0, false},
    {"connection names cl", R200 "Connection: content-length\r\nContent-Length: 0\r\n\r\n", false,
     BAD, 0, 0, false},
};

static void check_response_case(const struct res_case *c, const char *bytes, size_t len)
{
    static struct tr_http_response res;
    size_t head_len = c->expect == OK ? len - c->tail : 0;
    int want = c->expect == OK ? (int)head_len : c->expect;
    int rc = tr_http_parse_response(bytes, len, NULL, c->head, &res);
    bool split_ok = true;

    if (rc != want)
        fprintf(stderr, "response case \"%s\": got %d, want %d\n", c->name, rc, want);
    TR_CHECK_INT(rc, want);
    if (rc > 0) {
        TR_CHECK_INT(res.head_len, rc);
        if ((int)res.body != c->body || res.keep_alive != c->keep_alive)
            fprintf(stderr, "response case \"%s\": body %d keep_alive %d\n", c->name, res.body,
                    res.keep_alive);
        TR_CHECK_INT(res.body, c->body);
        TR_CHECK_INT(res.keep_alive, c->keep_alive);
    }
    for (size_t k = 0; k < len; k++) {
        char *copy = malloc(k ? k : 1);
        int prc;
        memcpy(copy, bytes, k);
        prc = tr_http_parse_response(copy, k, NULL, c->head, &res);
        free(copy);
        if ((prc == TR_EAGAIN && (c->expect != OK || k < head_len)) ||
            (prc == want && (c->expect != OK || k >= head_len)))
            continue;
        fprintf(stderr, "response case \"%s\": prefix %zu gave %d\n", c->name, k, prc);
        split_ok = false;
        break;
    }
    TR_CHECK(split_ok);
}

static void test_response_table(void)
{
    for (size_t i = 0; i < TR_ARRAY_SIZE(res_cases); i++) {
        const struct res_case *c = &res_cases[i];
        size_t len = strlen(c->bytes);
        if (strstr(c->name, "nul"))
            len += 1 + strlen(c->bytes + len + 1);
        check_response_case(c, c->bytes, len);
    }
}

static void test_response_fields_and_limits(void)
{
    static struct tr_http_response res;
    const char *s = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nX-A:  b \r\n\r\nnot found";
    size_t n = 0;
    char *b;
    int rc;

    rc = tr_http_parse_response(s, strlen(s), NULL, false, &res);
    TR_CHECK_INT(rc, strlen(s) - 9);
    TR_CHECK_INT(res.status, 404);
    TR_CHECK_INT(res.minor_version, 1);
    TR_CHECK_SLICE(res.reason, "Not Found");
    TR_CHECK_INT(res.num_headers, 2);
    TR_CHECK_SLICE(res.headers[1].value, "b");
    TR_CHECK_INT(res.content_length, 9);

    /* 100 fields are fine, 101 are not. */
    b = malloc(70000);
    memcpy(b, R200, 17);
    n = 17;
    for (int i = 0; i < 101; i++)
        n += (size_t)snprintf(b + n, 32, "X-%03d: v\r\n", i);
    memcpy(b + n, "\r\n", 2);
    rc = tr_http_parse_response(b, n + 2, NULL, false, &res);
    TR_CHECK_INT(rc, TR_EUPSTREAM_BADRESP);
    memcpy(b + n - 10, "\r\n", 2);
    rc = tr_http_parse_response(b, n - 8, NULL, false, &res);
    TR_CHECK_INT(rc, n - 8);
    TR_CHECK_INT(res.num_headers, 100);

    /* A head of exactly 64 KiB is fine, one byte more is not, and that is known early. */
    memcpy(b, R200 "X: ", 20);
    memset(b + 20, 'v', 65536 - 20 - 4);
    memcpy(b + 65536 - 4, "\r\n\r\n", 4);
    rc = tr_http_parse_response(b, 65536, NULL, false, &res);
    TR_CHECK_INT(rc, 65536);
    memset(b + 20, 'v', 65536 - 20 - 3);
    memcpy(b + 65536 - 3, "\r\n\r\n", 4);
    rc = tr_http_parse_response(b, 65537, NULL, false, &res);
    TR_CHECK_INT(rc, TR_EUPSTREAM_BADRESP);
    rc = tr_http_parse_response(b, 65536, NULL, false, &res);
    TR_CHECK_INT(rc, TR_EUPSTREAM_BADRESP);
    rc = tr_http_parse_response(b, 65535, NULL, false, &res);
    TR_CHECK_INT(rc, TR_EAGAIN);
    free(b);
}

/* ---- Header table and list helpers ------------------------------------------------------ */

static void test_header_flags(void)
{
    static const struct {
        const char *name;
        unsigned flags;
    } t[] = {
        {"Connection", TR_HDR_HOP_BY_HOP},
        {"keep-alive", TR_HDR_HOP_BY_HOP},
        {"Proxy-Connection", TR_HDR_HOP_BY_HOP},
        {"PROXY", TR_HDR_HOP_BY_HOP},
        {"Proxy-Authenticate", TR_HDR_HOP_BY_HOP},
        {"Proxy-Authorization", 0},
        {"TE", TR_HDR_HOP_BY_HOP},
        {"Trailer", TR_HDR_HOP_BY_HOP},
        {"Upgrade", TR_HDR_HOP_BY_HOP},
        {"HTTP2-Settings", TR_HDR_HOP_BY_HOP},
        {"Content-Length", TR_HDR_FRAMING},
        {"transfer-encoding", TR_HDR_FRAMING},
        {"Host", TR_HDR_HOST},
        {"X-Consumer-ID", TR_HDR_GATEWAY},
        {"x_consumer_id", TR_HDR_GATEWAY},
        {"X-Consumer-Username", TR_HDR_GATEWAY},
        {"X-Consumer-Custom-ID", TR_HDR_GATEWAY},
        {"X-Consumer-Groups", TR_HDR_GATEWAY},
        {"X-Credential-Identifier", TR_HDR_GATEWAY},
        {"X-Credential-Username", TR_HDR_GATEWAY},
        {"X-Anonymous-Consumer", TR_HDR_GATEWAY},
        {"X-Authenticated-Userid", TR_HDR_GATEWAY},
        {"X_Authenticated_Scope", TR_HDR_GATEWAY},
        {"X-Authenticated-Groups", TR_HDR_GATEWAY},
        {"X-Real-IP", TR_HDR_GATEWAY},
        {"x_real_ip", TR_HDR_GATEWAY},
        {"Forwarded", TR_HDR_GATEWAY},
        {"X-Forwarded-For", TR_HDR_GATEWAY},
        {"x_forwarded_proto", TR_HDR_GATEWAY},
        {"X-Forwarded-Anything-Else", TR_HDR_GATEWAY},
        {"X-Forwarded", 0},
        {"X-Forwardedfor", 0},
        {"Keep_Alive", 0},
        {"Content_Length", 0},
        {"X-Foo-Bar", 0},
        {"Close", 0},
        {"", 0},
        {"T", 0},
        {"Hostx", 0},
        {"X-Consumer-IDs", TR_HDR_GATEWAY}, /* every X-Consumer-* (docs/plugins.md) */
        {"X-Consumer-Foo", TR_HDR_GATEWAY},
        {"x_authenticated_anything", TR_HDR_GATEWAY},
        {"X-Consumer", 0},
        {"X-Authenticated", 0},
        {"X-Credential-Identifiers", 0},
        {"Accept", 0},
    };
    for (size_t i = 0; i < TR_ARRAY_SIZE(t); i++) {
        unsigned got = tr_http_header_flags(tr_str_from_cstr(t[i].name));
        if (got != t[i].flags)
            fprintf(stderr, "flags of \"%s\": %u\n", t[i].name, got);
        TR_CHECK_INT(got, t[i].flags);
    }
}

static void test_helpers(void)
{
    struct tr_http_header h[3] = {
        {TR_STR_LIT("Host"), TR_STR_LIT("a")},
        {TR_STR_LIT("X-A"), TR_STR_LIT("1")},
        {TR_STR_LIT("x-a"), TR_STR_LIT("2")},
    };
    const struct tr_http_header *f = tr_http_find_header(h, 3, TR_STR_LIT("X-a"));

    TR_CHECK(f == &h[1]);
    TR_CHECK(tr_http_find_header(h, 3, TR_STR_LIT("X-B")) == NULL);
    TR_CHECK(tr_http_find_header(h, 0, TR_STR_LIT("Host")) == NULL);

    TR_CHECK(tr_http_list_has_token(TR_STR_LIT("keep-alive, Upgrade"), TR_STR_LIT("upgrade")));
    TR_CHECK(tr_http_list_has_token(TR_STR_LIT(" ,close ,"), TR_STR_LIT("close")));
    TR_CHECK(tr_http_list_has_token(TR_STR_LIT("\tclose\t"), TR_STR_LIT("CLOSE")));
    TR_CHECK(!tr_http_list_has_token(TR_STR_LIT("closed, xclose"), TR_STR_LIT("close")));
    TR_CHECK(!tr_http_list_has_token(TR_STR_LIT(""), TR_STR_LIT("close")));
    TR_CHECK(!tr_http_list_has_token(TR_STR_LIT(",,"), TR_STR_LIT("close")));

    /* Token lists, as echoed in Access-Control-Allow-Headers by the Admin API. */
    TR_CHECK(tr_http_is_token_list(TR_STR_LIT("content-type")));
    TR_CHECK(tr_http_is_token_list(TR_STR_LIT("Content-Type, Authorization,x-a_b")));
    TR_CHECK(tr_http_is_token_list(TR_STR_LIT(" a ,, b\t")));
    TR_CHECK(!tr_http_is_token_list(TR_STR_LIT("")));
    TR_CHECK(!tr_http_is_token_list(TR_STR_LIT(" , ")));
    TR_CHECK(!tr_http_is_token_list(TR_STR_LIT("a b")));
    TR_CHECK(!tr_http_is_token_list(TR_STR_LIT("a, \"b\"")));
    TR_CHECK(!tr_http_is_token_list(TR_STR_LIT("a/b")));
    TR_CHECK(!tr_http_is_token_list(TR_STR_LIT("a;b")));
    TR_CHECK(!tr_http_is_token_list(TR_STR_LIT("a\x01")));
    TR_CHECK(!tr_http_is_token_list(TR_STR_LIT("caf\xc3\xa9")));
}

int main(void)
{
    test_request_table();
    test_request_fields();
    test_limits();
    test_response_table();
    test_response_fields_and_limits();
    test_header_flags();
    test_helpers();
    return TR_CHECK_DONE();
}
