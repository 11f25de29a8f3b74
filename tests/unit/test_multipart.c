/* SPDX-License-Identifier: MIT */
/* multipart/form-data part by part, as the OAuth 2.0 endpoints read a body: names and contents
 * as sent, preamble, epilogue and parts without headers, and every malformed body refused
 * rather than read past its end. */
#include "http/multipart.h"

#include <string.h>

#include "check.h"
#include "core/err.h"

static struct tr_str S(const char *s) {
    return tr_str_from_cstr(s);
}

static void
test_content_type(void)
{
    struct tr_multipart m;
    TR_CHECK(tr_multipart_is(S("multipart/form-data; boundary=x")));
    TR_CHECK(tr_multipart_is(S(" Multipart/Form-Data ;boundary=\"x\"")));
    TR_CHECK(!tr_multipart_is(S("multipart/mixed; boundary=x")));
    TR_CHECK(!tr_multipart_is(S("application/x-www-form-urlencoded")));
    TR_CHECK(!tr_multipart_begin(&m, S("multipart/form-data"), S("--x\r\n\r\n\r\n--x--")));
    TR_CHECK(!tr_multipart_begin(&m, S("multipart/form-data; boundary="), S("--\r\n")));
    char big[128] = "multipart/form-data; boundary=";
    memset(big + strlen(big), 'b', 71);
    TR_CHECK(!tr_multipart_begin(&m, S(big), S("--")));
    TR_CHECK(!tr_multipart_begin(&m, S("multipart/form-data; boundary=x"), S("no delimiter")));
}

static void test_parts(void)
{
    struct tr_multipart m;
    struct tr_str name, value;
    const char *body = "preamble\r\n--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"grant_type\"\r\n\r\n"
                       "client_credentials\r\n--XyZ \r\n"
                       "content-type: text/plain\r\n"
                       "CONTENT-DISPOSITION: form-data; name=scope; filename=\"a b\"\r\n\r\n"
                       "email\r\nprofile\r\n--XyZ\r\n\r\n"
                       "no headers\r\n--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"x%41\"\r\n\r\n"
                       "a+b%20\r\n--XyZ--\r\nepilogue --XyZ\r\n";
    TR_CHECK(
        tr_multipart_begin(&m, S("multipart/form-data; charset=utf-8; Boundary=\"XyZ\""), S(body)));
    TR_CHECK_INT(tr_multipart_next(&m, &name, &value), 1);
    TR_CHECK_SLICE(name, "grant_type");
    TR_CHECK_SLICE(value, "client_credentials");
    TR_CHECK_INT(tr_multipart_next(&m, &name, &value), 1);
    TR_CHECK_SLICE(name, "scope");
    TR_CHECK_SLICE(value, "email\r\nprofile");
    TR_CHECK_INT(tr_multipart_next(&m, &name, &value), 1);
    TR_CHECK_SLICE(name, "");
    TR_CHECK_SLICE(value, "no headers");
    TR_CHECK_INT(tr_multipart_next(&m, &name, &value), 1);
    TR_CHECK_SLICE(name, "x%41");
    TR_CHECK_SLICE(value, "a+b%20");
    TR_CHECK_INT(tr_multipart_next(&m, &name, &value), 0);
    TR_CHECK_INT(tr_multipart_next(&m, &name, &value), 0);
    /* No preamble: the body opens with the first delimiter. */
    TR_CHECK(tr_multipart_begin(&m, S("multipart/form-data; boundary=b"),
                                S("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
                                  "--b--")));
    TR_CHECK_INT(tr_multipart_next(&m, &name, &value), 1);
    TR_CHECK_SLICE(name, "a");
    TR_CHECK_SLICE(value, "1");
    TR_CHECK_INT(tr_multipart_next(&m, &name, &value), 0);
}

static void test_malformed(void)
{
    static const char *const bodies[] = {
        "--b",                                               /* cut after the delimiter */
        "--bjunk\r\n\r\nv\r\n--b--",                         /* no CRLF after the delimiter */
        "--b\r\nContent-Disposition: form-data; name=a\r\n", /* headers never end */
        "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue without end",
        "--b\r\n\r\nv\r\n--b", /* neither a close delimiter nor another part */
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct tr_multipart m;
        struct tr_str name, value;
        int rc = 1;
        TR_CHECK(tr_multipart_begin(&m, S("multipart/form-data; boundary=b"), S(bodies[i])));
        for (int n = 0; n < 4 && rc == 1; n++)
            rc = tr_multipart_next(&m, &name, &value);
        TR_CHECK_INT(rc, TR_EBADREQ);
    }
}

/* Remove the parts named name from body; what is left must read as want (name=value pairs). */
static void check_removal(const char *body, const char *name, const char *want, bool removed)
{
    char out[512], got[512] = "";
    bool did;
    struct tr_str ct = S("multipart/form-data; boundary=b");
    size_t n = tr_multipart_remove(ct, S(body), S(name), out, &did);
    TR_CHECK(did == removed);
    TR_CHECK(n <= strlen(body));
    struct tr_multipart m;
    struct tr_str k, v;
    TR_CHECK(tr_multipart_begin(&m, ct, (struct tr_str){out, n}));
    int rc;
    size_t g = 0;
    while ((rc = tr_multipart_next(&m, &k, &v)) == 1 && g + k.len + v.len + 2 < sizeof(got)) {
        memcpy(got + g, k.ptr, k.len);
        g += k.len;
        got[g++] = '=';
        memcpy(got + g, v.ptr, v.len);
        g += v.len;
        got[g++] = ';';
        got[g] = '\0';
    }
    TR_CHECK_INT(rc, 0);
    TR_CHECK_STR(got, want);
    struct tr_str value;
    TR_CHECK(!tr_multipart_arg(ct, (struct tr_str){out, n}, S(name), &value));
}

static void test_remove(void)
{
#define PART(n, v) "Content-Disposition: form-data; name=\"" n "\"\r\n\r\n" v "\r\n"
    const char *body = "--b\r\n" PART("access_token", "t1") "--b\r\n" PART("a", "1") "--b\r\n" PART(
        "access_token", "t2") "--b\r\n" PART("b", "2") "--b\r\n" PART("access_token",
                                                                      "t3") "--b--\r\n";
    struct tr_str value;
    TR_CHECK(
        tr_multipart_arg(S("multipart/form-data; boundary=b"), S(body), S("access_token"), &value));
    TR_CHECK_SLICE(value, "t1");
    check_removal(body, "access_token", "a=1;b=2;", true);
    check_removal(body, "a", "access_token=t1;access_token=t2;b=2;access_token=t3;", true);
    check_removal(body, "none", "access_token=t1;a=1;access_token=t2;b=2;access_token=t3;", false);
    check_removal("pre\r\n--b\r\n" PART("x", "1") "--b\r\n" PART("y", "2") "--b--", "x", "y=2;",
                  true);
#undef PART
    char out[16];
    bool did;
    TR_CHECK_INT(tr_multipart_remove(S("text/plain"), S("abc"), S("a"), out, &did), 3);
    TR_CHECK(!did && memcmp(out, "abc", 3) == 0);
}

int main(void)
{
    test_remove();
    test_content_type();
    test_parts();
    test_malformed();
    return TR_CHECK_DONE();
}
