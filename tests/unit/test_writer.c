/* SPDX-License-Identifier: MIT */
/* The head writer: clean fields are written, a field with a control byte or a name that is not
 * a token refuses the whole head (and names the field), a bad request-target is refused, and the
 * WebSocket handshake values (RFC 6455 §1.3 example, key syntax). */
#include "http/writer.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/mem.h"
#include "http/parser.h"
#include "http/websocket.h"

static char *head_with(struct tr_str name, struct tr_str value, size_t *len, struct tr_str *refused)
{
    struct tr_http_writer w;
    tr_http_writer_init(&w, 8);
    tr_http_writer_cstr(&w, "GET / HTTP/1.1\r\nHost: h\r\n");
    tr_http_writer_field(&w, name, value);
    tr_http_writer_field_u64(&w, "X-N", 42);
    *refused = w.refused;
    return tr_http_writer_finish(&w, len);
}

static void test_fields(void)
{
    static const char *const good[] = {
        "alice", "", "a b\tc", "caf\xc3\xa9", "\xff\x80", "!#$%&'*+-.^_`|~ \"(),/:;<=>?@[\\]{}"};
    for (size_t i = 0; i < TR_ARRAY_SIZE(good); i++) {
        size_t len = 0;
        struct tr_str refused;
        char *h =
            head_with(TR_STR_LIT("X-Consumer-Username"), tr_str_from_cstr(good[i]), &len, &refused);
        TR_CHECK(h != NULL);
        TR_CHECK(refused.ptr == NULL);
        struct tr_http_request req;
        TR_CHECK_INT(tr_http_parse_request(h, len, NULL, &req), len);
        TR_CHECK_INT(req.num_headers, 3);
        free(h);
    }
    static const struct tr_str bad[] = {
        TR_STR_LIT("a\rb"),      TR_STR_LIT("a\nb"),
        TR_STR_LIT("a\r\nX: 1"), TR_STR_LIT("a\0b"),
        TR_STR_LIT("\x01"),      TR_STR_LIT("a\x7f"),
        TR_STR_LIT("a\x1b[0m"),  TR_STR_LIT("\x0b"),
        TR_STR_LIT("x\r\n"),     TR_STR_LIT("\r\n\r\nGET /smuggled HTTP/1.1"),
    };
    for (size_t i = 0; i < TR_ARRAY_SIZE(bad); i++) {
        size_t len = 1;
        struct tr_str refused;
        char *h = head_with(TR_STR_LIT("X-Authenticated-Scope"), bad[i], &len, &refused);
        TR_CHECK(h == NULL);
        TR_CHECK_INT(len, 0);
        TR_CHECK(tr_str_eq(refused, TR_STR_LIT("X-Authenticated-Scope")));
    }
    static const struct tr_str bad_names[] = {TR_STR_LIT(""),      TR_STR_LIT("X A"),
                                              TR_STR_LIT("X:A"),   TR_STR_LIT("X\r\nY"),
                                              TR_STR_LIT("X\x00"), TR_STR_LIT("caf\xc3\xa9")};
    for (size_t i = 0; i < TR_ARRAY_SIZE(bad_names); i++) {
        size_t len;
        struct tr_str refused;
        TR_CHECK(head_with(bad_names[i], TR_STR_LIT("v"), &len, &refused) == NULL);
        TR_CHECK(refused.ptr != NULL);
    }
}

static void test_first_refusal_is_named(void)
{
    struct tr_http_writer w;
    tr_http_writer_init(&w, 0);
    tr_http_writer_field(&w, TR_STR_LIT("A"), TR_STR_LIT("ok"));
    tr_http_writer_field(&w, TR_STR_LIT("B"), TR_STR_LIT("x\ny"));
    tr_http_writer_field(&w, TR_STR_LIT("C"), TR_STR_LIT("x\ry"));
    TR_CHECK(tr_http_writer_failed(&w));
    TR_CHECK(tr_str_eq(w.refused, TR_STR_LIT("B")));
    size_t len;
    TR_CHECK(tr_http_writer_finish(&w, &len) == NULL);
}

static void test_target(void)
{
    static const char *const good[] = {"/", "/a/b?x=1&y=%20", "/~user/%2F"};
    static const char *const bad[] = {"/a b",  "/a\r\nX: 1",   "/a#frag",
                                      "/\x7f", "/caf\xc3\xa9", "/a\tb"};
    for (size_t i = 0; i < TR_ARRAY_SIZE(good); i++) {
        struct tr_http_writer w;
        tr_http_writer_init(&w, 0);
        tr_http_writer_target(&w, tr_str_from_cstr(good[i]));
        size_t len;
        char *h = tr_http_writer_finish(&w, &len);
        TR_CHECK(h != NULL);
        TR_CHECK_INT(len, strlen(good[i]) + 2);
        free(h);
    }
    for (size_t i = 0; i < TR_ARRAY_SIZE(bad); i++) {
        struct tr_http_writer w;
        tr_http_writer_init(&w, 0);
        tr_http_writer_target(&w, tr_str_from_cstr(bad[i]));
        TR_CHECK(tr_str_eq(w.refused, TR_STR_LIT("request-target")));
        size_t len;
        TR_CHECK(tr_http_writer_finish(&w, &len) == NULL);
    }
}

static void test_growth(void)
{
    struct tr_http_writer w;
    tr_http_writer_init(&w, 1);
    char big[5000];
    memset(big, 'v', sizeof(big));
    for (int i = 0; i < 50; i++)
        tr_http_writer_field(&w, TR_STR_LIT("X-Big"), (struct tr_str){big, sizeof(big)});
    size_t len;
    char *h = tr_http_writer_finish(&w, &len);
    TR_CHECK(h != NULL);
    TR_CHECK_INT(len, 50 * (sizeof(big) + 9) + 2);
    free(h);
}

static void test_websocket(void)
{
    char accept[TR_WS_ACCEPT_LEN + 1];
    tr_http_websocket_accept(TR_STR_LIT("dGhlIHNhbXBsZSBub25jZQ=="), accept);
    TR_CHECK_STR(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 §1.3 */
    TR_CHECK(tr_http_websocket_key_ok(TR_STR_LIT("dGhlIHNhbXBsZSBub25jZQ==")));
    TR_CHECK(tr_http_websocket_key_ok(TR_STR_LIT("AAAAAAAAAAAAAAAAAAAAAA==")));
    static const char *const bad[] = {"",
                                      "dGhlIHNhbXBsZSBub25jZQ",
                                      "dGhlIHNhbXBsZSBub25jZQ=",
                                      "dGhlIHNhbXBsZSBub25jZQ===",
                                      "dGhlIHNhbXBsZSBub25jZ===",
                                      "dGhlIHNhbXBsZSBub25jZ!==",
                                      "dGhlIHNhbXBs ZSBub25jZ==",
                                      "dGhlIHNhbXBsZSBub25jZQdGhlIHNhbXBsZSBub25jZQ=="};
    for (size_t i = 0; i < TR_ARRAY_SIZE(bad); i++)
        TR_CHECK(!tr_http_websocket_key_ok(tr_str_from_cstr(bad[i])));
}

int main(void)
{
    test_fields();
    test_first_refusal_is_named();
    test_target();
    test_growth();
    test_websocket();
    return TR_CHECK_DONE();
}
