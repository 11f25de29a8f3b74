/* SPDX-License-Identifier: MIT */
/* Tests for core/origin.c: the strict origin parser (a table of accepted and refused strings),
 * origins from a Host header, equality with the loopback names as one host, lists, and the
 * Admin API's allow rule (same-origin or listed; P11). */
#include "core/origin.h"

#include <string.h>

#include "check.h"
#include "core/err.h"
#include "core/mem.h"

struct parse_case {
    const char *text;
    int rc;
    bool https;
    unsigned port;
    const char *host;
    bool loopback;
};

static const struct parse_case parse_cases[] = {
    {"http://localhost:8002", 0, false, 8002, "localhost", true},
    {"http://LocalHost:8002", 0, false, 8002, "localhost", true},
    {"HTTPS://Console.Example.COM", 0, true, 443, "console.example.com", false},
    {"http://console.example.com", 0, false, 80, "console.example.com", false},
    {"https://a.test:443", 0, true, 443, "a.test", false},
    {"http://a.test:80", 0, false, 80, "a.test", false},
    {"http://a.test:65535", 0, false, 65535, "a.test", false},
    {"http://127.0.0.1:8001", 0, false, 8001, "127.0.0.1", true},
    {"http://127.0.0.2:8001", 0, false, 8001, "127.0.0.2", false},
    {"http://[::1]:8001", 0, false, 8001, "[::1]", true},
    {"http://[0:0:0:0:0:0:0:1]:8001", 0, false, 8001, "[::1]", true},
    {"http://[2001:DB8::1]", 0, false, 80, "[2001:db8::1]", false},
    {"http://under_score.test", 0, false, 80, "under_score.test", false},
    {"http://xn--bcher-kva.test", 0, false, 80, "xn--bcher-kva.test", false},
    {"http://10.1.2.3", 0, false, 80, "10.1.2.3", false},
    {"null", TR_EINVAL, false, 0, NULL, false},
    {"", TR_EINVAL, false, 0, NULL, false},
    {"*", TR_EINVAL, false, 0, NULL, false},
    {"http://", TR_EINVAL, false, 0, NULL, false},
    {"http:/a.test", TR_EINVAL, false, 0, NULL, false},
    {"ftp://a.test", TR_EINVAL, false, 0, NULL, false},
    {"file://", TR_EINVAL, false, 0, NULL, false},
    {"a.test", TR_EINVAL, false, 0, NULL, false},
    {"localhost:8002", TR_EINVAL, false, 0, NULL, false},
    {"http://a.test/", TR_EINVAL, false, 0, NULL, false},
    {"http://a.test/app", TR_EINVAL, false, 0, NULL, false},
    {"http://a.test?x=1", TR_EINVAL, false, 0, NULL, false},
    {"http://a.test#f", TR_EINVAL, false, 0, NULL, false},
    {"http://user@a.test", TR_EINVAL, false, 0, NULL, false},
    {"http://user:pw@a.test", TR_EINVAL, false, 0, NULL, false},
    {"http://a.test:", TR_EINVAL, false, 0, NULL, false},
    {"http://a.test:0", TR_EINVAL, false, 0, NULL, false},
    {"http://a.test:65536", TR_EINVAL, false, 0, NULL, false},
    {"http://a.test:008002", TR_EINVAL, false, 0, NULL, false},
    {"http://a.test:+80", TR_EINVAL, false, 0, NULL, false},
    {"http://a.test:80:80", TR_EINVAL, false, 0, NULL, false},
    {"http://a.test.", TR_EINVAL, false, 0, NULL, false},
    {"http://.a.test", TR_EINVAL, false, 0, NULL, false},
    {"http://a..test", TR_EINVAL, false, 0, NULL, false},
    {"http://a test", TR_EINVAL, false, 0, NULL, false},
    {"http://a.test ", TR_EINVAL, false, 0, NULL, false},
    {"http://caf\xc3\xa9.test", TR_EINVAL, false, 0, NULL, false},
    {"http://127.1", TR_EINVAL, false, 0, NULL, false},
    {"http://1.2.3.4.5", TR_EINVAL, false, 0, NULL, false},
    {"http://256.0.0.1", TR_EINVAL, false, 0, NULL, false},
    {"http://a.123", TR_EINVAL, false, 0, NULL, false},
    {"http://::1", TR_EINVAL, false, 0, NULL, false},
    {"http://[::1", TR_EINVAL, false, 0, NULL, false},
    {"http://[::1]x", TR_EINVAL, false, 0, NULL, false},
    {"http://[]", TR_EINVAL, false, 0, NULL, false},
    {"http://[fe80::1%25eth0]", TR_EINVAL, false, 0, NULL, false},
    {"http://[a.test]", TR_EINVAL, false, 0, NULL, false},
};

static void test_parse(void)
{
    for (size_t i = 0; i < TR_ARRAY_SIZE(parse_cases); i++) {
        const struct parse_case *pc = &parse_cases[i];
        struct tr_origin o;
        int rc = tr_origin_parse(tr_str_from_cstr(pc->text), &o);
        TR_CHECK_INT(rc, pc->rc);
        if (rc != 0 || pc->rc != 0) {
            if (rc != pc->rc)
                fprintf(stderr, "  case \"%s\"\n", pc->text);
            continue;
        }
        TR_CHECK_INT(o.https, pc->https);
        TR_CHECK_INT(o.port, pc->port);
        TR_CHECK_STR(o.host, pc->host);
        TR_CHECK_INT(o.loopback, pc->loopback);
    }

    /* The longest DNS name fits; one more byte does not. */
    char name[300] = "http://";
    size_t n = strlen(name);
    for (int label = 0; label < 4; label++) {
        memset(name + n, 'a', 62);
        n += 62;
        name[n++] = '.';
    }
    name[n - 1] = '\0'; /* 4 labels of 62 and 3 dots: 251 bytes */
    struct tr_origin o;
    TR_CHECK_INT(tr_origin_parse(tr_str_from_cstr(name), &o), 0);
    TR_CHECK_INT(strlen(o.host), 251);
    memcpy(name + n - 1, ".ab", 4); /* 254 */
    TR_CHECK_INT(tr_origin_parse(tr_str_from_cstr(name), &o), TR_EINVAL);
    /* A label of 64 bytes is too long. */
    char label[80] = "http://";
    memset(label + 7, 'b', 64);
    label[71] = '\0';
    TR_CHECK_INT(tr_origin_parse(tr_str_from_cstr(label), &o), TR_EINVAL);
    label[70] = '\0';
    TR_CHECK_INT(tr_origin_parse(tr_str_from_cstr(label), &o), 0);
}

static void test_from_host(void)
{
    struct tr_origin o;
    TR_CHECK_INT(tr_origin_from_host(TR_STR_LIT("127.0.0.1:8001"), false, &o), 0);
    TR_CHECK(!o.https && o.port == 8001 && o.loopback);
    TR_CHECK_INT(tr_origin_from_host(TR_STR_LIT("Admin.Example.com"), false, &o), 0);
    TR_CHECK_STR(o.host, "admin.example.com");
    TR_CHECK_INT(o.port, 80);
    TR_CHECK_INT(tr_origin_from_host(TR_STR_LIT("admin.example.com"), true, &o), 0);
    TR_CHECK_INT(o.port, 443);
    TR_CHECK_INT(tr_origin_from_host(TR_STR_LIT("[::1]:8001"), false, &o), 0);
    TR_CHECK(o.loopback && o.port == 8001);
    TR_CHECK_INT(tr_origin_from_host(TR_STR_NULL, false, &o), TR_EINVAL);
    TR_CHECK_INT(tr_origin_from_host(TR_STR_LIT("a.test:"), false, &o), TR_EINVAL);
    TR_CHECK_INT(tr_origin_from_host(TR_STR_LIT("http://a.test"), false, &o), TR_EINVAL);
}

static bool same(const char *a, const char *b)
{
    struct tr_origin x, y;
    if (tr_origin_parse(tr_str_from_cstr(a), &x) != 0 ||
        tr_origin_parse(tr_str_from_cstr(b), &y) != 0) {
        fprintf(stderr, "  unparsable: \"%s\" or \"%s\"\n", a, b);
        return false;
    }
    return tr_origin_eq(&x, &y) && tr_origin_eq(&y, &x);
}

static void test_eq(void)
{
    /* The three loopback names are one host, in every pairing. */
    static const char *const lo[] = {"http://localhost:8002", "http://127.0.0.1:8002",
                                     "http://[::1]:8002", "http://LOCALHOST:8002"};
    for (size_t i = 0; i < TR_ARRAY_SIZE(lo); i++) {
        for (size_t j = 0; j < TR_ARRAY_SIZE(lo); j++)
            TR_CHECK(same(lo[i], lo[j]));
    }
    TR_CHECK(same("http://a.test", "http://A.TEST:80"));
    TR_CHECK(same("https://a.test", "https://a.test:443"));
    /* Port, scheme and host must all match. */
    TR_CHECK(!same("http://localhost:8002", "http://localhost:8003"));
    TR_CHECK(!same("http://localhost:8002", "https://localhost:8002"));
    TR_CHECK(!same("http://localhost", "http://localhost:8080"));
    TR_CHECK(!same("http://a.test", "https://a.test"));
    TR_CHECK(!same("http://a.test:443", "https://a.test"));
    TR_CHECK(!same("http://a.test", "http://b.test"));
    TR_CHECK(!same("http://localhost:8002", "http://127.0.0.2:8002"));
    TR_CHECK(!same("http://localhost:8002", "http://a.test:8002"));
    TR_CHECK(!same("http://[::1]:8002", "http://[::2]:8002"));
}

static void test_list(void)
{
    struct tr_origin_list l;
    char err[256] = "";
    struct tr_origin o;

    TR_CHECK_INT(tr_origin_list_parse(TR_STR_LIT(""), &l, err, sizeof(err)), 0);
    TR_CHECK_INT(l.cnt, 0);
    tr_origin_list_free(&l);
    TR_CHECK_INT(tr_origin_list_parse(TR_STR_LIT("   "), &l, err, sizeof(err)), 0);
    TR_CHECK_INT(l.cnt, 0);
    tr_origin_list_free(&l);

    TR_CHECK_INT(
        tr_origin_list_parse(TR_STR_LIT(" http://localhost:8002 ,https://console.example.com,"
                                        "http://a.test,http://b.test,http://c.test"),
                             &l, err, sizeof(err)),
        0);
    TR_CHECK_INT(l.cnt, 5);
    TR_CHECK_INT(tr_origin_parse(TR_STR_LIT("http://[::1]:8002"), &o), 0);
    TR_CHECK(tr_origin_list_has(&l, &o));
    TR_CHECK_INT(tr_origin_parse(TR_STR_LIT("https://CONSOLE.example.com:443"), &o), 0);
    TR_CHECK(tr_origin_list_has(&l, &o));
    TR_CHECK_INT(tr_origin_parse(TR_STR_LIT("http://c.test"), &o), 0);
    TR_CHECK(tr_origin_list_has(&l, &o));
    TR_CHECK_INT(tr_origin_parse(TR_STR_LIT("http://console.example.com"), &o), 0);
    TR_CHECK(!tr_origin_list_has(&l, &o));
    tr_origin_list_free(&l);
    tr_origin_list_free(&l); /* twice is harmless */

    TR_CHECK_INT(
        tr_origin_list_parse(TR_STR_LIT("http://a.test, http://b.test/"), &l, err, sizeof(err)),
        TR_EINVAL);
    TR_CHECK(strstr(err, "'http://b.test/' is not an origin") != NULL);
    TR_CHECK(l.items == NULL && l.cnt == 0);
    TR_CHECK_INT(tr_origin_list_parse(TR_STR_LIT("http://a.test,"), &l, err, sizeof(err)),
                 TR_EINVAL);
    TR_CHECK_STR(err, "empty entry in the list");
    TR_CHECK_INT(tr_origin_list_parse(TR_STR_LIT(",http://a.test"), &l, err, sizeof(err)),
                 TR_EINVAL);
    TR_CHECK_INT(tr_origin_list_parse(TR_STR_LIT("*"), &l, err, sizeof(err)), TR_EINVAL);
    TR_CHECK(strstr(err, "'*' is not an origin") != NULL);

    /* Only the slice's bytes count. */
    static const char text[] = "http://a.test, http://b.test/";
    TR_CHECK_INT(
        tr_origin_list_parse((struct tr_str){text, sizeof(text) - 2}, &l, err, sizeof(err)), 0);
    TR_CHECK_INT(l.cnt, 2);
    tr_origin_list_free(&l);
}

static bool allowed(const struct tr_origin_list *l, const char *origin, const char *host)
{
    return tr_origin_allowed(l, tr_str_from_cstr(origin), tr_str_from_cstr(host), false);
}

static void test_allowed(void)
{
    struct tr_origin_list l;
    char err[256];
    TR_CHECK_INT(
        tr_origin_list_parse(TR_STR_LIT("http://localhost:8002, https://console.example.com"), &l,
                             err, sizeof(err)),
        0);

    /* Same-origin needs no listing, with the loopback names interchangeable both ways. */
    TR_CHECK(allowed(NULL, "http://127.0.0.1:8001", "127.0.0.1:8001"));
    TR_CHECK(allowed(NULL, "http://localhost:8001", "127.0.0.1:8001"));
    TR_CHECK(allowed(NULL, "http://127.0.0.1:8001", "localhost:8001"));
    TR_CHECK(allowed(NULL, "http://[::1]:8001", "localhost:8001"));
    TR_CHECK(allowed(NULL, "http://localhost:8001", "[::1]:8001"));
    TR_CHECK(allowed(NULL, "http://admin.example.com", "Admin.Example.com:80"));
    TR_CHECK(allowed(NULL, " http://localhost:8001 ", "localhost:8001"));
    /* The listener speaks plain HTTP: an https page is another origin, as is another port. */
    TR_CHECK(!allowed(NULL, "https://localhost:8001", "localhost:8001"));
    TR_CHECK(!allowed(NULL, "http://localhost:8002", "localhost:8001"));
    TR_CHECK(!allowed(NULL, "http://localhost", "localhost:8001"));
    TR_CHECK(!allowed(NULL, "http://evil.test:8001", "127.0.0.1:8001"));
    TR_CHECK(!allowed(NULL, "http://127.0.0.1:8001", ""));
    TR_CHECK(tr_origin_allowed(NULL, TR_STR_LIT("https://a.test"), TR_STR_LIT("a.test"), true));

    /* Listed origins, any loopback name. */
    TR_CHECK(allowed(&l, "http://localhost:8002", "127.0.0.1:8001"));
    TR_CHECK(allowed(&l, "http://127.0.0.1:8002", "127.0.0.1:8001"));
    TR_CHECK(allowed(&l, "http://[::1]:8002", "127.0.0.1:8001"));
    TR_CHECK(allowed(&l, "https://console.example.com", "127.0.0.1:8001"));
    TR_CHECK(allowed(&l, "https://console.example.com:443", "127.0.0.1:8001"));
    TR_CHECK(!allowed(&l, "http://console.example.com", "127.0.0.1:8001"));
    TR_CHECK(!allowed(&l, "https://localhost:8002", "127.0.0.1:8001"));
    TR_CHECK(!allowed(&l, "http://localhost:8003", "127.0.0.1:8001"));
    TR_CHECK(!allowed(&l, "https://console.example.com.evil.test", "127.0.0.1:8001"));
    TR_CHECK(!allowed(&l, "https://console.example.com/", "127.0.0.1:8001"));

    /* Never: null (sandboxed frames, file: pages, redirects), empty, garbage. */
    TR_CHECK(!allowed(&l, "null", "127.0.0.1:8001"));
    TR_CHECK(!allowed(&l, "null", "null"));
    TR_CHECK(!allowed(&l, "", "127.0.0.1:8001"));
    TR_CHECK(!allowed(&l, "http://localhost:8002 http://evil.test", "127.0.0.1:8001"));
    TR_CHECK(!allowed(&l, "http://localhost:8002, http://evil.test", "127.0.0.1:8001"));
    tr_origin_list_free(&l);
}

int main(void)
{
    test_parse();
    test_from_host();
    test_eq();
    test_list();
    test_allowed();
    return TR_CHECK_DONE();
}
