/* SPDX-License-Identifier: MIT */
/* Admin body decoding: forms (percent-decoding, repeats, indexes, dotted keys), multipart,
 * JSON, content-type dispatch and the failure cases. */
#include "admin/body.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/err.h"
#include "core/mem.h"

static char msg[256];

/* Decode and compare the compact, key-sorted JSON dump with want. */
static int body_is(const char *ctype, const char *body, const char *want)
{
    json_t *out = NULL;
    msg[0] = '\0';
    int rc = tr_admin_body_decode(tr_str_from_cstr(ctype), tr_str_from_cstr(body), &out, msg,
                                  sizeof(msg));
    if (rc != 0) {
        fprintf(stderr, "  decode failed rc=%d msg=%s\n", rc, msg);
        return 0;
    }
    char *dump = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    int ok = strcmp(dump, want) == 0;
    if (!ok)
        fprintf(stderr, "  got %s want %s\n", dump, want);
    free(dump);
    json_decref(out);
    return ok;
}

static int body_rc(const char *ctype, struct tr_str body)
{
    json_t *out = NULL;
    msg[0] = '\0';
    int rc = tr_admin_body_decode(tr_str_from_cstr(ctype), body, &out, msg, sizeof(msg));
    json_decref(out);
    return rc;
}

#define FORM "application/x-www-form-urlencoded"

static void test_form(void)
{
    TR_CHECK(body_is(FORM, "name=go-api&upstream_url=http%3A%2F%2F127.0.0.1%3A5000",
                     "{\"name\":\"go-api\",\"upstream_url\":\"http://127.0.0.1:5000\"}"));
    TR_CHECK(body_is(FORM, "name=Example+Application", "{\"name\":\"Example Application\"}"));
    TR_CHECK(body_is(FORM, "name=Example%20Application", "{\"name\":\"Example Application\"}"));
    /* Invalid escapes are kept as they are. */
    TR_CHECK(body_is(FORM, "a=%zz&b=%4&c=%", "{\"a\":\"%zz\",\"b\":\"%4\",\"c\":\"%\"}"));
    /* Literal plus via %2B, = inside a value, empty value, flag without =. */
    TR_CHECK(
        body_is(FORM, "a=1%2B1&b=x=y&c=&d", "{\"a\":\"1+1\",\"b\":\"x=y\",\"c\":\"\",\"d\":true}"));
    /* Empty pairs and empty keys are skipped. */
    TR_CHECK(body_is(FORM, "&&=x&a=1&", "{\"a\":\"1\"}"));
    /* Repeated keys and [] become arrays. */
    TR_CHECK(body_is(FORM, "h=a&h=b&h=c", "{\"h\":[\"a\",\"b\",\"c\"]}"));
    TR_CHECK(body_is(FORM, "h[]=a", "{\"h\":[\"a\"]}"));
    TR_CHECK(body_is(FORM, "h%5B%5D=a&h%5B%5D=b", "{\"h\":[\"a\",\"b\"]}"));
    /* Indexed keys go in index order. */
    TR_CHECK(body_is(FORM, "h[2]=b&h[1]=a&h[3]=c", "{\"h\":[\"a\",\"b\",\"c\"]}"));
    /* Not an index: kept literally. */
    TR_CHECK(body_is(FORM, "h[x]=a&[1]=b", "{\"[1]\":\"b\",\"h[x]\":\"a\"}"));
    /* Dotted keys nest. */
    TR_CHECK(
        body_is(FORM, "name=oauth2&config.enable_client_credentials=true&config.token_expiration=0",
                "{\"config\":{\"enable_client_credentials\":\"true\",\"token_expiration\":\"0\"},"
                "\"name\":\"oauth2\"}"));
    TR_CHECK(body_is(FORM, "config.a.b=1&config.a.c=2&config.m[]=x",
                     "{\"config\":{\"a\":{\"b\":\"1\",\"c\":\"2\"},\"m\":[\"x\"]}}"));
    /* Empty segments: the key stays literal. */
    TR_CHECK(body_is(FORM, "a..b=1&.c=2&d.=3", "{\".c\":\"2\",\"a..b\":\"1\",\"d.\":\"3\"}"));
    /* UTF-8 passes. */
    TR_CHECK(body_is(FORM, "n=%C3%A9", "{\"n\":\"\\u00E9\"}"));

    /* Failures. */
    TR_CHECK_INT(body_rc(FORM, tr_str_from_cstr("config=1&config.a=2")), TR_EBADREQ);
    TR_CHECK_STR(msg, "Conflicting form keys for 'config'");
    TR_CHECK_INT(body_rc(FORM, tr_str_from_cstr("config.a=2&config=1")), TR_EBADREQ);
    TR_CHECK_INT(body_rc(FORM, tr_str_from_cstr("%00=1")), TR_EBADREQ);
    TR_CHECK_STR(msg, "Cannot parse form body");
    TR_CHECK_INT(body_rc(FORM, tr_str_from_cstr("a=%FF")), TR_EBADREQ);
    TR_CHECK_INT(body_rc(FORM, tr_str_from_cstr("%FF=1")), TR_EBADREQ);
    /* Too many pairs. */
    size_t n = TR_ADMIN_FORM_MAX_PAIRS + 1;
    char *big = malloc(n * 4 + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(big + i * 4, "a=1&", 4);
    big[n * 4] = '\0';
    TR_CHECK_INT(body_rc(FORM, tr_str_from_cstr(big)), TR_EBADREQ);
    TR_CHECK_STR(msg, "Too many fields in the request");
    big[(n - 1) * 4] = '\0';
    TR_CHECK_INT(body_rc(FORM, tr_str_from_cstr(big)), 0);
    free(big);
}

static void test_query(void)
{
    json_t *out = NULL;
    TR_CHECK_INT(
        tr_admin_form_decode(tr_str_from_cstr("size=2&offset=abc%3D%3D"), &out, msg, sizeof(msg)),
        0);
    TR_CHECK_STR(json_string_value(json_object_get(out, "size")), "2");
    TR_CHECK_STR(json_string_value(json_object_get(out, "offset")), "abc==");
    json_decref(out);
    TR_CHECK_INT(tr_admin_form_decode(TR_STR_NULL, &out, msg, sizeof(msg)), 0);
    TR_CHECK_INT(json_object_size(out), 0);
    json_decref(out);
}

static void test_multipart(void)
{
    const char *ct = "multipart/form-data; boundary=------------------------abc123";
    const char *body = "--------------------------abc123\r\n"
                       "Content-Disposition: form-data; name=\"name\"\r\n"
                       "\r\n"
                       "go-api\r\n"
                       "--------------------------abc123\r\n"
                       "content-disposition: form-data; name=\"config.minute\"\r\n"
                       "Content-Type: text/plain\r\n"
                       "\r\n"
                       "20\r\n"
                       "--------------------------abc123\r\n"
                       "Content-Disposition: form-data; name=\"h\"\r\n\r\na\r\n"
                       "--------------------------abc123\r\n"
                       "Content-Disposition: form-data; name=\"h\"\r\n\r\nline1\r\nline2\r\n"
                       "--------------------------abc123--\r\n";
    TR_CHECK(body_is(ct, body,
                     "{\"config\":{\"minute\":\"20\"},\"h\":[\"a\",\"line1\\r\\nline2\"],"
                     "\"name\":\"go-api\"}"));
    /* Quoted boundary, preamble, file part treated as a string, unnamed part skipped. */
    TR_CHECK(body_is("Multipart/Form-Data; boundary=\"xy z\"",
                     "preamble\r\n--xy z\r\nContent-Disposition: form-data; name=\"f\"; "
                     "filename=\"a.txt\"\r\n\r\nfile body\r\n--xy z\r\n"
                     "Content-Disposition: form-data\r\n\r\nlost\r\n--xy z--",
                     "{\"f\":\"file body\"}"));
    /* Failures: no boundary, no closing delimiter, part without blank line. */
    TR_CHECK_INT(body_rc("multipart/form-data", tr_str_from_cstr("--x\r\n\r\n")), TR_EBADREQ);
    TR_CHECK_STR(msg, "Cannot parse multipart body");
    TR_CHECK_INT(body_rc("multipart/form-data; boundary=x",
                         tr_str_from_cstr("--x\r\nContent-Disposition: form-data; name=\"a\"\r\n"
                                          "\r\nvalue without end")),
                 TR_EBADREQ);
    TR_CHECK_INT(body_rc("multipart/form-data; boundary=x", tr_str_from_cstr("garbage")),
                 TR_EBADREQ);
}

/* NUL bytes in values are decoded (form, multipart, JSON) so that the Admin API can name the
 * field that holds one (tr_admin_find_nul); in keys they are refused. */
static void test_nul(void)
{
    static const char multipart[] =
        "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\na\0b\r\n--x--";
    static const char json[] = "{\"ok\":\"x\",\"config\":{\"names\":[\"y\",\"a\\u0000b\"]}}";
    struct {
        const char *ctype;
        struct tr_str body;
        const char *path;
    } cases[] = {
        {FORM, TR_STR_LIT("ok=1&a=%00"), "a"},
        {FORM, TR_STR_LIT("ok=1&config.a=x%00"), "config.a"},
        {"multipart/form-data; boundary=x", {multipart, sizeof(multipart) - 1}, "a"},
        {"application/json", {json, sizeof(json) - 1}, "config.names"},
    };
    for (size_t i = 0; i < TR_ARRAY_SIZE(cases); i++) {
        json_t *out = NULL;
        char m[128] = "";
        TR_CHECK_INT(tr_admin_body_decode(tr_str_from_cstr(cases[i].ctype), cases[i].body, &out, m,
                                          sizeof(m)),
                     0);
        char path[64] = "";
        TR_CHECK(tr_admin_find_nul(out, path, sizeof(path)));
        TR_CHECK_STR(path, cases[i].path);
        json_decref(out);
    }
    json_t *clean = json_pack("{s:s,s:{s:[s]}}", "a", "b", "c", "d", "e");
    char path[64] = "";
    TR_CHECK(!tr_admin_find_nul(clean, path, sizeof(path)));
    json_decref(clean);
}

static void test_json(void)
{
    TR_CHECK(body_is("application/json", "{\"name\":\"a\",\"config\":{\"minute\":20}}",
                     "{\"config\":{\"minute\":20},\"name\":\"a\"}"));
    TR_CHECK(body_is("application/json; charset=utf-8", " {} ", "{}"));
    TR_CHECK(body_is("Application/JSON", "{\"a\":[1,true,null]}", "{\"a\":[1,true,null]}"));
    /* Dotted keys of the top level nest as in forms (Kong 0.7); both shapes may be mixed.
     * Inside an object keys stay as sent (a map's keys may hold dots). */
    TR_CHECK(body_is("application/json", "{\"name\":\"key-auth\",\"config.key_names\":\"a,b\"}",
                     "{\"config\":{\"key_names\":\"a,b\"},\"name\":\"key-auth\"}"));
    TR_CHECK(body_is("application/json",
                     "{\"config\":{\"a\":1,\"b.c\":2},\"config.b.d\":[{\"x.y\":3}]}",
                     "{\"config\":{\"a\":1,\"b\":{\"d\":[{\"x.y\":3}]},\"b.c\":2}}"));
    TR_CHECK(body_is("application/json",
                     "{\"config\":{\"resource_attributes\":{\"service.name\":\"edge\"}}}",
                     "{\"config\":{\"resource_attributes\":{\"service.name\":\"edge\"}}}"));
    TR_CHECK(body_is("application/json", "{\"config.a\":1,\"config\":{\"b\":2}}",
                     "{\"config\":{\"a\":1,\"b\":2}}"));
    TR_CHECK(body_is("application/json", "{\"a..b\":1,\".c\":2,\"d.\":null}",
                     "{\".c\":2,\"a..b\":1,\"d.\":null}"));
    TR_CHECK(body_is("application/json", "{\"a.b.c.d.e.f.g.h.i\":1}", "{\"a.b.c.d.e.f.g.h.i\":1}"));
    TR_CHECK(body_is("application/json", "{\"a.b.c.d.e.f.g.h\":1}",
                     "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":1}}}}}}}}"));
    TR_CHECK_INT(body_rc("application/json", tr_str_from_cstr("{\"config\":1,\"config.a\":2}")),
                 TR_EBADREQ);
    TR_CHECK_STR(msg, "Conflicting keys for 'config'");
    TR_CHECK_INT(body_rc("application/json", tr_str_from_cstr("{\"config.a\":2,\"config\":1}")),
                 TR_EBADREQ);
    TR_CHECK_INT(
        body_rc("application/json", tr_str_from_cstr("{\"config\":{\"a\":1},\"config.a\":2}")),
        TR_EBADREQ);
    TR_CHECK_STR(msg, "Conflicting keys for 'config'");
    TR_CHECK(
        body_is("application/json", "{\"x\":{\"a\":1,\"a.b\":2}}", "{\"x\":{\"a\":1,\"a.b\":2}}"));
    TR_CHECK_INT(body_rc("application/json", tr_str_from_cstr("{\"a\":")), TR_EBADREQ);
    TR_CHECK_STR(msg, "Cannot parse JSON body");
    TR_CHECK_INT(body_rc("application/json", tr_str_from_cstr("[1,2]")), TR_EBADREQ);
    TR_CHECK_INT(body_rc("application/json", tr_str_from_cstr("\"str\"")), TR_EBADREQ);
    TR_CHECK_INT(body_rc("application/json", tr_str_from_cstr("{} {}")), TR_EBADREQ);
    /* Deep nesting fails cleanly. */
    size_t n = 100000;
    char *deep = malloc(n + 1);
    memset(deep, '[', n);
    deep[n] = '\0';
    TR_CHECK_INT(body_rc("application/json", tr_str_from_cstr(deep)), TR_EBADREQ);
    free(deep);
}

static void test_dispatch(void)
{
    /* Empty body: {} whatever the type, even an unsupported or malformed one. */
    TR_CHECK(body_is("application/json", "", "{}"));
    TR_CHECK(body_is("text/plain", "", "{}"));
    TR_CHECK(body_is("", "", "{}"));
    /* No Content-Type: sniffed. */
    TR_CHECK(body_is("", "a=1", "{\"a\":\"1\"}"));
    TR_CHECK(body_is("", " \n{\"a\":1}", "{\"a\":1}"));
    /* Parameters on the form type are fine. */
    TR_CHECK(body_is("application/x-www-form-urlencoded; charset=UTF-8", "a=1", "{\"a\":\"1\"}"));
    /* Anything else with a body: 415. */
    TR_CHECK_INT(body_rc("text/plain", tr_str_from_cstr("a=1")), TR_EMEDIATYPE);
    TR_CHECK_INT(body_rc("application/xml", tr_str_from_cstr("<a/>")), TR_EMEDIATYPE);
}

int main(void)
{
    test_form();
    test_query();
    test_multipart();
    test_json();
    test_dispatch();
    test_nul();
    return TR_CHECK_DONE();
}
