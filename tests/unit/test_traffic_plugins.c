/* SPDX-License-Identifier: MIT */
/* The request-size-limiting, ip-restriction, cors and request-termination descriptors:
 * registration and priorities, config schemas and their checks, conf_parse, size units, origin
 * normalization and the IPv4/IPv6 CIDR matching ip-restriction relies on. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/cidr.h"
#include "core/err.h"
#include "plugins/plugin.h"
#include "plugins/registry.h"
#include "plugins/traffic.h"
#include "schema/schema.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (v == NULL)
        fprintf(stderr, "bad test JSON: %s (%s)\n", text, e.text);
    return v;
}

/* Validate config text for plugin; returns the errors (new) or NULL, the config in *out. */
static json_t *validate(const struct tr_plugin *p, const char *text, json_t **out)
{
    json_t *in = J(text), *doc = NULL, *errs = NULL;
    int rc = tr_schema_validate(p->schema, TR_SCHEMA_INSERT, in, NULL, &doc, &errs);
    json_decref(in);
    if (out)
        *out = doc;
    else
        json_decref(doc);
    TR_CHECK((rc == 0) == (errs == NULL));
    return errs;
}

static const char *err_of(const json_t *errs, const char *field)
{
    return json_string_value(json_object_get(errs, field));
}

/* Validates and parses text; true when both succeed. */
static bool parses(const struct tr_plugin *p, const char *text)
{
    json_t *doc = NULL;
    json_t *errs = validate(p, text, &doc);
    if (errs != NULL) {
        json_decref(errs);
        return false;
    }
    char err[256] = "";
    void *conf = p->conf_parse(doc, err, sizeof(err));
    json_decref(doc);
    if (conf == NULL)
        return false;
    p->conf_free(conf);
    return true;
}

static void test_registry(void)
{
    static const struct {
        const char *name;
        int priority;
    } want[] = {{"cors", 2000},
                {"ip-restriction", 990},
                {"request-size-limiting", 951},
                {"request-termination", 2}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct tr_plugin *p = tr_plugin_find(want[i].name, NULL);
        TR_CHECK(p != NULL);
        if (p) {
            TR_CHECK_INT(p->priority, want[i].priority);
            TR_CHECK(p->conf_parse != NULL && p->conf_free != NULL);
        }
    }
    /* Priority order: cors before the auth plugins, ip-restriction before acl. */
    size_t cors, ipr, acl, term;
    TR_CHECK(tr_plugin_find("cors", &cors) && tr_plugin_find("ip-restriction", &ipr));
    TR_CHECK(tr_plugin_find("acl", &acl) && tr_plugin_find("request-termination", &term));
    TR_CHECK(cors < ipr && ipr < acl && acl < term);
}

static void test_size_units(void)
{
    uint64_t b = 0;
    TR_CHECK_INT(tr_size_limit_bytes(128, "megabytes", &b), 0);
    TR_CHECK_INT(b, 128ull << 20);
    TR_CHECK_INT(tr_size_limit_bytes(1, NULL, &b), 0);
    TR_CHECK_INT(b, 1048576);
    TR_CHECK_INT(tr_size_limit_bytes(3, "kilobytes", &b), 0);
    TR_CHECK_INT(b, 3072);
    TR_CHECK_INT(tr_size_limit_bytes(7, "bytes", &b), 0);
    TR_CHECK_INT(b, 7);
    TR_CHECK_INT(tr_size_limit_bytes(0, "bytes", &b), 0);
    TR_CHECK_INT(b, 0);
    TR_CHECK_INT(tr_size_limit_bytes(1, "gigabytes", &b), TR_EINVAL);
    TR_CHECK_INT(tr_size_limit_bytes(1ull << 50, "megabytes", &b), TR_EINVAL);

    const struct tr_plugin *p = tr_plugin_find("request-size-limiting", NULL);
    json_t *doc = NULL;
    json_t *errs = validate(p, "{}", &doc);
    TR_CHECK(errs == NULL);
    TR_CHECK_INT(json_integer_value(json_object_get(doc, "allowed_payload_size")), 128);
    TR_CHECK_STR(json_string_value(json_object_get(doc, "size_unit")), "megabytes");
    TR_CHECK(json_is_false(json_object_get(doc, "require_content_length")));
    json_decref(doc);
    errs = validate(p, "{\"size_unit\":\"gigabytes\"}", NULL);
    TR_CHECK(err_of(errs, "size_unit") != NULL);
    json_decref(errs);
    errs = validate(p, "{\"allowed_payload_size\":-1}", NULL);
    TR_CHECK(err_of(errs, "allowed_payload_size") != NULL);
    json_decref(errs);
    errs = validate(p, "{\"allowed_payload_size\":\"ten\"}", NULL);
    TR_CHECK(err_of(errs, "allowed_payload_size") != NULL);
    json_decref(errs);
    TR_CHECK(parses(p, "{\"allowed_payload_size\":\"10\",\"size_unit\":\"bytes\"}"));
    TR_CHECK(parses(p, "{\"allowed_payload_size\":1,\"require_content_length\":true}"));
}

static void test_termination_schema(void)
{
    const struct tr_plugin *p = tr_plugin_find("request-termination", NULL);
    json_t *doc = NULL;
    json_t *errs = validate(p, "{}", &doc);
    TR_CHECK(errs == NULL);
    TR_CHECK_INT(json_integer_value(json_object_get(doc, "status_code")), 503);
    json_decref(doc);

    errs = validate(p, "{\"message\":\"m\",\"body\":\"b\"}", NULL);
    TR_CHECK_STR(err_of(errs, "message"), "message cannot be used with content_type or body");
    json_decref(errs);
    errs = validate(p, "{\"message\":\"m\",\"content_type\":\"text/plain\",\"body\":\"x\"}", NULL);
    TR_CHECK_STR(err_of(errs, "message"), "message cannot be used with content_type or body");
    json_decref(errs);
    errs = validate(p, "{\"content_type\":\"text/plain\"}", NULL);
    TR_CHECK_STR(err_of(errs, "message"), "content_type requires a body");
    json_decref(errs);
    errs = validate(p, "{\"status_code\":99}", NULL);
    TR_CHECK(err_of(errs, "status_code") != NULL);
    json_decref(errs);
    errs = validate(p, "{\"status_code\":600}", NULL);
    TR_CHECK(err_of(errs, "status_code") != NULL);
    json_decref(errs);
    errs = validate(p, "{\"body\":\"x\",\"content_type\":\"text/plain\\r\\nX-Evil: 1\"}", NULL);
    TR_CHECK(err_of(errs, "content_type") != NULL);
    json_decref(errs);

    TR_CHECK(parses(p, "{\"status_code\":418,\"message\":\"teapot\"}"));
    TR_CHECK(parses(p, "{\"body\":\"<h1>x</h1>\",\"content_type\":\"text/html\"}"));
    TR_CHECK(parses(p, "{\"body\":\"x\"}"));
    TR_CHECK(parses(p, "{\"trigger\":\"X-Stop\"}"));
}

static void test_ip_schema(void)
{
    const struct tr_plugin *p = tr_plugin_find("ip-restriction", NULL);
    json_t *errs = validate(p, "{}", NULL);
    TR_CHECK(err_of(errs, "message") != NULL);
    json_decref(errs);
    errs = validate(p, "{\"whitelist\":[\"1.2.3.4\"],\"blacklist\":[\"5.6.7.8\"]}", NULL);
    TR_CHECK_STR(err_of(errs, "message"), "you cannot set both a whitelist and a blacklist");
    json_decref(errs);
    errs = validate(p, "{\"allow\":[\"1.2.3.400\"]}", NULL);
    TR_CHECK_STR(err_of(errs, "allow"), "invalid ip or cidr range: '1.2.3.400'");
    json_decref(errs);
    errs = validate(p, "{\"deny\":[\"10.0.0.0/33\"]}", NULL);
    TR_CHECK(err_of(errs, "deny") != NULL);
    json_decref(errs);
    errs = validate(p, "{\"deny\":[\"2001:db8::/129\"]}", NULL);
    TR_CHECK(err_of(errs, "deny") != NULL);
    json_decref(errs);
    errs = validate(p, "{\"allow\":[\"1.2.3.4\"],\"status\":200}", NULL);
    TR_CHECK(err_of(errs, "status") != NULL);
    json_decref(errs);
    /* A form value "a,b" becomes a two-item list. */
    TR_CHECK(parses(p, "{\"whitelist\":\"1.2.3.4, 10.0.0.0/8\"}"));
    TR_CHECK(parses(p, "{\"allow\":[\"::1\",\"2001:db8::/32\"],\"deny\":[\"2001:db8::5\"]}"));
    TR_CHECK(parses(p, "{\"blacklist\":[\"0.0.0.0/0\"],\"status\":401,\"message\":\"no\"}"));
}

static void test_cidr_match(void)
{
    struct tr_cidr_list l;
    char err[128];
    TR_CHECK_INT(tr_cidr_list_parse("2001:db8:abcd::/48, 192.0.2.0/25, ::1, 198.51.100.7", &l, err,
                                    sizeof(err)),
                 0);
    TR_CHECK(tr_cidr_list_match(&l, "2001:db8:abcd:12::1"));
    TR_CHECK(tr_cidr_list_match(&l, "2001:DB8:ABCD:ffff:ffff:ffff:ffff:ffff"));
    TR_CHECK(!tr_cidr_list_match(&l, "2001:db8:abce::1"));
    TR_CHECK(tr_cidr_list_match(&l, "192.0.2.127"));
    TR_CHECK(!tr_cidr_list_match(&l, "192.0.2.128"));
    TR_CHECK(tr_cidr_list_match(&l, "::1"));
    TR_CHECK(!tr_cidr_list_match(&l, "::2"));
    TR_CHECK(tr_cidr_list_match(&l, "198.51.100.7"));
    TR_CHECK(!tr_cidr_list_match(&l, "198.51.100.8"));
    TR_CHECK(tr_cidr_list_match(&l, "::ffff:192.0.2.1")); /* IPv4-mapped form */
    TR_CHECK(!tr_cidr_list_match(&l, "not-an-ip"));
    TR_CHECK(!tr_cidr_list_match(&l, ""));
    tr_cidr_list_free(&l);
    TR_CHECK_INT(tr_cidr_list_parse("0.0.0.0/0", &l, err, sizeof(err)), 0);
    TR_CHECK(tr_cidr_list_match(&l, "8.8.8.8"));
    TR_CHECK(!tr_cidr_list_match(&l, "2001:db8::1")); /* an IPv4 block holds no IPv6 peer */
    tr_cidr_list_free(&l);
    TR_CHECK_INT(tr_cidr_list_parse("::/0", &l, err, sizeof(err)), 0);
    TR_CHECK(tr_cidr_list_match(&l, "2001:db8::1"));
    tr_cidr_list_free(&l);
}

static void test_cors_helpers(void)
{
    TR_CHECK(!tr_cors_origin_is_regex(TR_STR_LIT("*")));
    TR_CHECK(!tr_cors_origin_is_regex(TR_STR_LIT("https://example.com:8443")));
    TR_CHECK(tr_cors_origin_is_regex(TR_STR_LIT("https://.*\\.example\\.com")));
    TR_CHECK(tr_cors_origin_is_regex(TR_STR_LIT("http://a_b.test")));

    char out[128];
    TR_CHECK_INT(tr_cors_origin_normalize(TR_STR_LIT("HTTPS://Example.COM:443"), out, sizeof(out)),
                 19);
    TR_CHECK_STR(out, "https://example.com");
    TR_CHECK(tr_cors_origin_normalize(TR_STR_LIT("http://example.com:80/"), out, sizeof(out)) > 0);
    TR_CHECK_STR(out, "http://example.com");
    TR_CHECK(tr_cors_origin_normalize(TR_STR_LIT("http://example.com:8080"), out, sizeof(out)) > 0);
    TR_CHECK_STR(out, "http://example.com:8080");
    TR_CHECK(tr_cors_origin_normalize(TR_STR_LIT("https://example.com:80"), out, sizeof(out)) > 0);
    TR_CHECK_STR(out, "https://example.com:80");
    TR_CHECK(tr_cors_origin_normalize(TR_STR_LIT("http://[::1]:3000"), out, sizeof(out)) > 0);
    TR_CHECK_STR(out, "http://[::1]:3000");
    TR_CHECK_INT(tr_cors_origin_normalize(TR_STR_LIT("null"), out, sizeof(out)), 0);
    TR_CHECK_INT(tr_cors_origin_normalize(TR_STR_LIT("example.com"), out, sizeof(out)), 0);
    TR_CHECK_INT(tr_cors_origin_normalize(TR_STR_LIT("http://example.com/path"), out, sizeof(out)),
                 0);
    TR_CHECK_INT(tr_cors_origin_normalize(TR_STR_LIT("http://user@example.com"), out, sizeof(out)),
                 0);
    TR_CHECK_INT(tr_cors_origin_normalize(TR_STR_LIT("http://example.com:99999"), out, sizeof(out)),
                 0);
    TR_CHECK_INT(tr_cors_origin_normalize(TR_STR_LIT("http://"), out, sizeof(out)), 0);
    TR_CHECK_INT(tr_cors_origin_normalize(TR_STR_LIT("http://example.com"), out, 10), 0);
}

static void test_cors_schema(void)
{
    const struct tr_plugin *p = tr_plugin_find("cors", NULL);
    json_t *doc = NULL;
    json_t *errs = validate(p, "{}", &doc);
    TR_CHECK(errs == NULL);
    TR_CHECK_INT(json_array_size(json_object_get(doc, "methods")), 9);
    TR_CHECK(json_is_false(json_object_get(doc, "credentials")));
    TR_CHECK(json_is_false(json_object_get(doc, "preflight_continue")));
    json_decref(doc);
    errs = validate(p, "{\"origins\":[\"https://(unclosed\"]}", NULL);
    TR_CHECK(err_of(errs, "origins") != NULL);
    json_decref(errs);
    errs = validate(p, "{\"methods\":[\"GET\",\"FETCH\"]}", NULL);
    TR_CHECK(err_of(errs, "methods") != NULL);
    json_decref(errs);
    errs = validate(p, "{\"headers\":[\"X-Ok\",\"Bad Header\"]}", NULL);
    TR_CHECK(err_of(errs, "headers") != NULL);
    json_decref(errs);
    errs = validate(p, "{\"exposed_headers\":[\"X-A\\r\\nX-B\"]}", NULL);
    TR_CHECK(err_of(errs, "exposed_headers") != NULL);
    json_decref(errs);
    errs = validate(p, "{\"max_age\":-5}", NULL);
    TR_CHECK(err_of(errs, "max_age") != NULL);
    json_decref(errs);
    TR_CHECK(parses(p, "{}"));
    TR_CHECK(parses(p, "{\"origins\":[\"*\"],\"credentials\":true}"));
    TR_CHECK(parses(p, "{\"origins\":[\"https://a.test\",\"https://.*\\\\.b\\\\.test\"],"
                       "\"headers\":[\"X-A\",\"X-B\"],\"exposed_headers\":[\"X-C\"],"
                       "\"max_age\":3600,\"methods\":[\"GET\",\"POST\"]}"));
}

int main(void)
{
    test_registry();
    test_size_units();
    test_termination_schema();
    test_ip_schema();
    test_cidr_match();
    test_cors_helpers();
    test_cors_schema();
    return TR_CHECK_DONE();
}
