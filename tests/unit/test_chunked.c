/* SPDX-License-Identifier: MIT */
/* Chunked-body decoder tests (P1.6, catalogue ): every case is decoded
 * whole, split in two at every offset, and fed one byte at a time, and must give the same data
 * and the same verdict each way. */
#include "http/parser.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/err.h"
#include "core/mem.h"

struct result {
    int rc;          /* 2 done, 0 need more, or the error */
    size_t consumed; /* total bytes consumed */
    char data[65536];
    size_t data_len;
};

/* Feed bytes[0..len) in pieces that end at the offsets in cuts (ascending, then len). */
static void decode(const char *bytes, size_t len, const size_t *cuts, size_t ncuts,
                   struct result *r)
{
    struct tr_http_chunked dec;
    size_t start = 0;

    tr_http_chunked_init(&dec);
    r->rc = 0;
    r->consumed = 0;
    r->data_len = 0;
    for (size_t c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : len;
        /* Each piece is copied to a buffer of its exact size so ASan sees over-reads. */
        size_t plen = end - start;
        char *piece = malloc(plen ? plen : 1);
        size_t off = 0;

        memcpy(piece, bytes + start, plen);
        for (;;) {
            size_t used = 0;
            struct tr_str data = TR_STR_NULL;
            int rc = tr_http_chunked_parse(&dec, piece + off, plen - off, &used, &data);

            if (used > plen - off) {
                r->rc = -1000;
                break;
            }
            off += used;
            r->consumed += used;
            if (rc == 1) {
                if (data.ptr < piece || data.ptr + data.len > piece + plen ||
                    r->data_len + data.len > sizeof(r->data)) {
                    r->rc = -1001;
                    break;
                }
                memcpy(r->data + r->data_len, data.ptr, data.len);
                r->data_len += data.len;
                continue;
            }
            r->rc = rc;
            break;
        }
        free(piece);
        start = end;
        if (r->rc != 0)
            break;
    }
}

struct ck_case {
    const char *name;
    const char *bytes;
    int expect;       /* 2 or TR_EBADREQ */
    const char *body; /* expected data when 2 */
    size_t tail;      /* bytes left after the message when 2 */
};

#define BADC TR_EBADREQ

static const struct ck_case cases[] = {
    {"A-15", "3\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n", 2, "abcde", 0},
    {"empty body", "0\r\n\r\n", 2, "", 0},
    {"A-17 next request follows", "6\r\nfoobar\r\n0\r\n\r\nGET / HTTP/1.1\r\n", 2, "foobar", 16},
    {"hex cases", "a\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\n\r\n", 2, "0123456789abcdefghijk",
     0},
    {"leading zeros, 16 digits", "000000000000000A\r\n0123456789\r\n0\r\n\r\n", 2, "0123456789", 0},
    {"extension", "5;name=value\r\nhello\r\n0\r\n\r\n", 2, "hello", 0},
    {"extension no value", "5;name\r\nhello\r\n0;last\r\n\r\n", 2, "hello", 0},
    {"extensions several", "5;a=1;b;c=\"x\"\r\nhello\r\n0\r\n\r\n", 2, "hello", 0},
    {"extension quoted", "5;a=\"x y\\\"z;\\\\\"\r\nhello\r\n0\r\n\r\n", 2, "hello", 0},
    {"extension bws", "5 \t; a = b ;c\r\nhello\r\n0\r\n\r\n", 2, "hello", 0},
    {"extension quoted bws", "5;a=\"b\" ;c\r\nhello\r\n0\r\n\r\n", 2, "hello", 0},
    {"trailers", "1\r\nZ\r\n0\r\nA: 1\r\nB-c:  x \t y\r\nE:\r\n\r\n", 2, "Z", 0},
    {"data with crlf inside", "4\r\n\r\n\r\n\r\n0\r\n\r\n", 2, "\r\n\r\n", 0},
    {"binary data", "3\r\n\xff\x01\x7f\r\n0\r\n\r\n", 2, "\xff\x01\x7f", 0},

    /* */
    {"A-11 runaway chunk", "4\r\nSEE-THIS\r\n0\r\n\r\n", BADC, NULL, 0},
    {"A-12 0x5", "0x5\r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"A-12 +5", "+5\r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"A-12 -0", "-0\r\n\r\n", BADC, NULL, 0},
    {"A-12 leading space", " 5\r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"A-12 trailing space", "5 \r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"A-12 Z", "Z\r\nZ\r\n0\r\n\r\n", BADC, NULL, 0},
    {"A-12 empty size", "\r\n\r\n", BADC, NULL, 0},
    {"A-12 prefix digits", "1these-bytes\r\nZ\r\n0\r\n\r\n", BADC, NULL, 0},
    {"A-12 17 digits", "00000000000000001\r\nZ\r\n0\r\n\r\n", BADC, NULL, 0},
    {"A-12 2^64-1", "FFFFFFFFFFFFFFFF\r\nZ\r\n", BADC, NULL, 0},
    {"2^63", "8000000000000000\r\nZ\r\n", BADC, NULL, 0},

    /* Line ends and data framing (P1.1, P1.6). */
    {"bare lf after size", "5\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"bare cr after size", "5\rhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"bare lf after data", "5\r\nhello\n0\r\n\r\n", BADC, NULL, 0},
    {"data then cr cr", "5\r\nhello\r\r\n0\r\n\r\n", BADC, NULL, 0},
    /* The byte after the data must be CR: a decoder that takes any byte there reads these as
     * complete (a smuggling class). */
    {"other byte then lf after data", "3\r\nabcX\n0\r\n\r\n", BADC, NULL, 0},
    {"lf lf after data", "3\r\nabc\n\n0\r\n\r\n", BADC, NULL, 0},
    /* ... and the byte after that CR must be LF. */
    {"cr then other byte after data", "3\r\nabc\rZ0\r\n\r\n", BADC, NULL, 0},
    {"data then nothing", "5\r\nhello0\r\n\r\n", BADC, NULL, 0},
    {"short data", "5\r\nhell\r\n0\r\n\r\n", BADC, NULL, 0},
    {"bare lf at end", "0\r\n\n", BADC, NULL, 0},
    {"bare lf last chunk", "0\n\r\n", BADC, NULL, 0},
    {"tab before size", "\t5\r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"comma list", "5,5\r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"underscore", "1_0\r\n0123456789abcdef\r\n0\r\n\r\n", BADC, NULL, 0},

    /* Extensions. */
    {"empty ext name", "5;\r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"empty ext value", "5;a=\r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"ws before crlf", "5;a \r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"ws after value", "5;a=b \r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"cr in quoted", "5;a=\"x\r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"lf in quoted", "5;a=\"x\n\"\r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"nul in ext", "5;a\0b\r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"nul in quoted", "5;a=\"\0\"\r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"bare lf in ext", "5;a=b\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"non-token ext", "5;a(b)\r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"unquoted space value", "5;a=b c\r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"text after quote", "5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},
    {"escape of ctl", "5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n", BADC, NULL, 0},

    /* Trailers (parsed like header fields, P1.2). */
    {"trailer obs-fold", "0\r\nA: b\r\n c\r\n\r\n", BADC, NULL, 0},
    {"trailer leading space", "0\r\n A: b\r\n\r\n", BADC, NULL, 0},
    {"trailer no colon", "0\r\nAb\r\n\r\n", BADC, NULL, 0},
    {"trailer empty name", "0\r\n: b\r\n\r\n", BADC, NULL, 0},
    {"trailer space before colon", "0\r\nA : b\r\n\r\n", BADC, NULL, 0},
    {"trailer nul", "0\r\nA: \0\r\n\r\n", BADC, NULL, 0},
    {"trailer bare cr", "0\r\nA: b\rc\r\n\r\n", BADC, NULL, 0},
    {"trailer bare lf", "0\r\nA: b\n\r\n", BADC, NULL, 0},
    {"trailer ctl", "0\r\nA: \x1b\r\n\r\n", BADC, NULL, 0},
};

/* Cases whose bytes contain one NUL: the length continues after it. */
static size_t case_len(const struct ck_case *c)
{
    size_t len = strlen(c->bytes);
    if (strstr(c->name, "nul"))
        len += 1 + strlen(c->bytes + len + 1);
    return len;
}

static struct result whole, split, bytewise;

static bool same(const struct result *a, const struct result *b)
{
    return a->rc == b->rc && a->data_len == b->data_len &&
           memcmp(a->data, b->data, a->data_len) == 0 && (a->rc != 2 || a->consumed == b->consumed);
}

static void run_case(const char *name, const char *bytes, size_t len, int expect, const char *body,
                     size_t body_len, size_t tail)
{
    size_t *cuts = malloc(sizeof(size_t) * (len + 1));
    bool split_ok = true;

    decode(bytes, len, NULL, 0, &whole);
    if (whole.rc != expect)
        fprintf(stderr, "chunked case \"%s\": rc %d, want %d\n", name, whole.rc, expect);
    TR_CHECK_INT(whole.rc, expect);
    if (expect == 2) {
        TR_CHECK_INT(whole.consumed, len - tail);
        TR_CHECK_INT(whole.data_len, body_len);
        TR_CHECK(whole.data_len == body_len && memcmp(whole.data, body, body_len) == 0);
    }

    for (size_t k = 1; k < len && split_ok; k++) {
        cuts[0] = k;
        decode(bytes, len, cuts, 1, &split);
        if (!same(&whole, &split)) {
            fprintf(stderr, "chunked case \"%s\": split at %zu gives rc %d\n", name, k, split.rc);
            split_ok = false;
        }
    }
    TR_CHECK(split_ok);

    for (size_t k = 0; k < len; k++)
        cuts[k] = k + 1;
    decode(bytes, len, cuts, len ? len - 1 : 0, &bytewise);
    if (!same(&whole, &bytewise))
        fprintf(stderr, "chunked case \"%s\": byte by byte gives rc %d\n", name, bytewise.rc);
    TR_CHECK(same(&whole, &bytewise));
    free(cuts);
}

static void test_table(void)
{
    for (size_t i = 0; i < TR_ARRAY_SIZE(cases); i++) {
        const struct ck_case *c = &cases[i];
        const char *body = c->body ? c->body : "";
        run_case(c->name, c->bytes, case_len(c), c->expect, body, strlen(body), c->tail);
    }
}

static void test_incomplete(void)
{
    static const char *prefixes[] = {
        "",
        "5",
        "5\r",
        "5\r\n",
        "5\r\nhel",
        "5\r\nhello",
        "5\r\nhello\r",
        "5\r\nhello\r\n",
        "5;a=\"x",
        "0\r\n",
        "0\r\nA: b",
        "0\r\nA: b\r\n",
        "0\r\n\r",
        "7FFFFFFFFFFFFFFF\r\n",
    };
    for (size_t i = 0; i < TR_ARRAY_SIZE(prefixes); i++) {
        decode(prefixes[i], strlen(prefixes[i]), NULL, 0, &whole);
        if (whole.rc != 0)
            fprintf(stderr, "prefix \"%s\": rc %d\n", prefixes[i], whole.rc);
        TR_CHECK_INT(whole.rc, 0);
        TR_CHECK_INT(whole.consumed, strlen(prefixes[i]));
    }
}

static void test_limits(void)
{
    char *b = malloc(20000);
    size_t n;

    /* P1.6: 1 KiB of extension per chunk is fine, one byte more is not. The extension
     * ";" + name counts from the ';'. */
    n = 0;
    b[n++] = '1';
    b[n++] = ';';
    memset(b + n, 'e', 1023);
    n += 1023;
    memcpy(b + n, "\r\nZ\r\n0\r\n\r\n", 10);
    n += 10;
    run_case("ext 1024", b, n, 2, "Z", 1, 0);
    n = 0;
    b[n++] = '1';
    b[n++] = ';';
    memset(b + n, 'e', 1024);
    n += 1024;
    memcpy(b + n, "\r\nZ\r\n0\r\n\r\n", 10);
    n += 10;
    run_case("ext 1025", b, n, TR_EBADREQ, NULL, 0, 0);

    /* 4 KiB of extensions per message: five chunks with 1000 bytes each cross it. */
    n = 0;
    for (int c = 0; c < 5; c++) {
        b[n++] = '1';
        b[n++] = ';';
        memset(b + n, 'e', 999);
        n += 999;
        memcpy(b + n, "\r\nZ\r\n", 5);
        n += 5;
    }
    memcpy(b + n, "0\r\n\r\n", 5);
    n += 5;
    run_case("ext total 5000", b, n, TR_EBADREQ, NULL, 0, 0);
    /* Four of them (4000 bytes) pass. */
    memmove(b + 4 * 1006, b + 5 * 1006, 5);
    run_case("ext total 4000", b, 4 * 1006 + 5, 2, "ZZZZ", 4, 0);

    /* Trailers: 100 fields pass, 101 do not; 8 KiB in total. */
    n = 0;
    memcpy(b, "0\r\n", 3);
    n = 3;
    for (int i = 0; i < 101; i++)
        n += (size_t)snprintf(b + n, 32, "T%03d: v\r\n", i);
    memcpy(b + n, "\r\n", 2);
    run_case("101 trailers", b, n + 2, TR_EBADREQ, NULL, 0, 0);
    memcpy(b + n - 9, "\r\n", 2);
    run_case("100 trailers", b, n - 7, 2, "", 0, 0);

    n = 0;
    memcpy(b, "0\r\nT: ", 6);
    n = 6;
    memset(b + n, 'v', 9000);
    n += 9000;
    memcpy(b + n, "\r\n\r\n", 4);
    run_case("trailer 9000", b, n + 4, TR_EBADREQ, NULL, 0, 0);
    free(b);
}

static void test_api(void)
{
    struct tr_http_chunked dec;
    struct tr_str data;
    size_t used;
    int rc;

    /* One data run per call; the call after the run continues with the framing. */
    tr_http_chunked_init(&dec);
    rc = tr_http_chunked_parse(&dec, "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nX", 22, &used, &data);
    TR_CHECK_INT(rc, 1);
    TR_CHECK_INT(used, 6);
    TR_CHECK_SLICE(data, "abc");
    rc = tr_http_chunked_parse(&dec, "\r\n2\r\nde\r\n0\r\n\r\nX", 16, &used, &data);
    TR_CHECK_INT(rc, 1);
    TR_CHECK_INT(used, 7);
    TR_CHECK_SLICE(data, "de");
    TR_CHECK_INT(dec.body_len, 5);
    rc = tr_http_chunked_parse(&dec, "\r\n0\r\n\r\nX", 8, &used, &data);
    TR_CHECK_INT(rc, 2);
    TR_CHECK_INT(used, 7);
    /* Done is sticky and consumes nothing. */
    rc = tr_http_chunked_parse(&dec, "X", 1, &used, &data);
    TR_CHECK_INT(rc, 2);
    TR_CHECK_INT(used, 0);

    /* Errors are sticky; consumed stops at the offending byte. */
    tr_http_chunked_init(&dec);
    rc = tr_http_chunked_parse(&dec, "5x\r\n", 4, &used, &data);
    TR_CHECK_INT(rc, TR_EBADREQ);
    TR_CHECK_INT(used, 1);
    rc = tr_http_chunked_parse(&dec, "0\r\n\r\n", 5, &used, &data);
    TR_CHECK_INT(rc, TR_EBADREQ);

    /* A zeroed struct works like an initialized one. */
    memset(&dec, 0, sizeof(dec));
    rc = tr_http_chunked_parse(&dec, "0\r\n\r\n", 5, &used, &data);
    TR_CHECK_INT(rc, 2);

    /* The running total must stay within 63 bits. */
    tr_http_chunked_init(&dec);
    dec.body_len = (uint64_t)INT64_MAX - 1;
    rc = tr_http_chunked_parse(&dec, "1\r\n", 3, &used, &data);
    TR_CHECK_INT(rc, 0);
    tr_http_chunked_init(&dec);
    dec.body_len = (uint64_t)INT64_MAX - 1;
    rc = tr_http_chunked_parse(&dec, "2\r\n", 3, &used, &data);
    TR_CHECK_INT(rc, TR_EBADREQ);

    /* Empty input. */
    tr_http_chunked_init(&dec);
    rc = tr_http_chunked_parse(&dec, "", 0, &used, &data);
    TR_CHECK_INT(rc, 0);
    TR_CHECK_INT(used, 0);
}

/* A-17 end to end: heads and bodies of three pipelined requests found in one buffer. */
static void test_pipeline(void)
{
    static const char s[] =
        "GET /public/1 HTTP/1.1\r\nHost: svc.test\r\n\r\n"
        "POST /public/2 HTTP/1.1\r\nHost: svc.test\r\nContent-Length: 10\r\n\r\n"
        "0123456789"
        "POST /public/3 HTTP/1.1\r\nHost: svc.test\r\n"
        "Transfer-Encoding: chunked\r\n\r\n6\r\nfoobar\r\n0\r\n\r\n";
    static struct tr_http_request req;
    static const char *paths[] = {"/public/1", "/public/2", "/public/3"};
    static const size_t lens[] = {0, 10, 6};
    size_t pos = 0, len = sizeof(s) - 1;

    for (int i = 0; i < 3; i++) {
        int rc = tr_http_parse_request(s + pos, len - pos, NULL, &req);
        size_t body = 0;
        TR_CHECK(rc > 0);
        if (rc <= 0)
            return;
        pos += (size_t)rc;
        TR_CHECK_SLICE(req.path, paths[i]);
        if (req.body == TR_HTTP_BODY_LENGTH) {
            body = req.content_length;
            pos += body;
        } else if (req.body == TR_HTTP_BODY_CHUNKED) {
            struct tr_http_chunked dec;
            struct tr_str data;
            size_t used;
            tr_http_chunked_init(&dec);
            while ((rc = tr_http_chunked_parse(&dec, s + pos, len - pos, &used, &data)) == 1) {
                body += data.len;
                pos += used;
            }
            TR_CHECK_INT(rc, 2);
            pos += used;
        }
        TR_CHECK_INT(body, lens[i]);
    }
    TR_CHECK_INT(pos, len);
}

int main(void)
{
    test_table();
    test_incomplete();
    test_limits();
    test_api();
    test_pipeline();
    return TR_CHECK_DONE();
}
