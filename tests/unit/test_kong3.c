/* SPDX-License-Identifier: MIT */
/* Kong 3.x services and routes (schema/kong3.c) and Kong 3 error messages (admin/errors3.c):
 * hosts, router paths (normalization, regexes), tags, the url shorthand, defaults, modes,
 * the entity rules and the schema-violation message text. */
#include "schema/kong3.h"

#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "admin/errors3.h"
#include "check.h"
#include "schema3_check.h"
#include "core/conf.h"
#include "core/err.h"
#include "snapshot/kong3.h"
#include "store/store.h"

/* The fields object of validating input (JSON text) as JSON text (malloc'ed), or NULL when
 * it validated; *out gets the doc when out is not NULL. */
static char *errs(bool route, enum tr_schema_mode mode, const char *input, const json_t *existing,
                  json_t **out)
{
    return schema3_errs(route ? tr_schema3_route : tr_schema3_service, mode, input, existing, out);
}

#define CHECK_ERRS(route, input, expected)                                                         \
    do {                                                                                           \
        char *got_ = errs(route, TR_SCHEMA_INSERT, input, NULL, NULL);                             \
        TR_CHECK_STR(got_ ? got_ : "(valid)", expected);                                           \
        free(got_);                                                                                \
    } while (0)

static void test_hosts(void)
{
    char msg[256];
    TR_CHECK(tr_schema3_host_ok("example.test", msg, sizeof(msg)));
    TR_CHECK(tr_schema3_host_ok("10.0.0.1", msg, sizeof(msg)));
    TR_CHECK(tr_schema3_host_ok("::1", msg, sizeof(msg)));
    TR_CHECK(tr_schema3_host_ok("my_upstream", msg, sizeof(msg)));
    TR_CHECK(!tr_schema3_host_ok("example.test:80", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "must not have a port");
    TR_CHECK(!tr_schema3_host_ok("exa mple", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "invalid value: exa mple");
    TR_CHECK(!tr_schema3_host_ok("300.1.1.1", msg, sizeof(msg)));
    TR_CHECK(!tr_schema3_host_ok("a-.test", msg, sizeof(msg)));

    TR_CHECK(tr_schema3_route_host_ok("*.example.test", msg, sizeof(msg)));
    TR_CHECK(tr_schema3_route_host_ok("example.*", msg, sizeof(msg)));
    TR_CHECK(tr_schema3_route_host_ok("example.test:8000", msg, sizeof(msg)));
    TR_CHECK(tr_schema3_route_host_ok("*.example.test:8000", msg, sizeof(msg)));
    TR_CHECK(!tr_schema3_route_host_ok("*.example.*", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "invalid wildcard: must have at most one wildcard");
    TR_CHECK(!tr_schema3_route_host_ok("ex*ample.test", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "invalid wildcard: must be placed at leftmost or rightmost label");
    TR_CHECK(!tr_schema3_route_host_ok("exa mple.test", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "invalid hostname: exa mple.test");
    TR_CHECK(!tr_schema3_route_host_ok("example.test:99999", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "invalid port number");
}

static void test_paths(void)
{
    char msg[256];
    TR_CHECK(tr_schema3_router_path_ok("/", msg, sizeof(msg)));
    TR_CHECK(tr_schema3_router_path_ok("/a/b/", msg, sizeof(msg)));
    TR_CHECK(tr_schema3_router_path_ok("/a%2Fb", msg, sizeof(msg)));
    TR_CHECK(tr_schema3_router_path_ok("~/users/\\d+$", msg, sizeof(msg)));
    TR_CHECK(!tr_schema3_router_path_ok("a", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "should start with: / (fixed path) or ~/ (regex path)");
    TR_CHECK(!tr_schema3_router_path_ok("~a", msg, sizeof(msg)));
    TR_CHECK(!tr_schema3_router_path_ok("/a//b", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "must not have empty segments");
    TR_CHECK(!tr_schema3_router_path_ok("/a/../b", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "non-normalized path, consider use '/b' instead");
    TR_CHECK(!tr_schema3_router_path_ok("/a/./b/.", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "non-normalized path, consider use '/a/b/' instead");
    TR_CHECK(!tr_schema3_router_path_ok("/%7euser", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "non-normalized path, consider use '/~user' instead");
    TR_CHECK(!tr_schema3_router_path_ok("/a%2fb", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "non-normalized path, consider use '/a%2Fb' instead");
    TR_CHECK(!tr_schema3_router_path_ok("/a%zz", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "invalid url-encoded value: '%zz'");
    TR_CHECK(!tr_schema3_router_path_ok("~/a(", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "invalid regex: '/a(' (PCRE returned: missing closing parenthesis)");
}

static void test_tags_and_url(void)
{
    char msg[256];
    TR_CHECK(tr_schema3_tag_ok("a b", 3, msg, sizeof(msg)));
    TR_CHECK(tr_schema3_tag_ok("\xc3\xa9t\xc3\xa9", 5, msg, sizeof(msg)));
    TR_CHECK(!tr_schema3_tag_ok("a,b", 3, msg, sizeof(msg)));
    TR_CHECK(!tr_schema3_tag_ok("a/b", 3, msg, sizeof(msg)));
    TR_CHECK_STR(msg, "invalid tag 'a/b': expected printable ascii (except `,` and `/`) or valid "
                      "utf-8 sequences");

    json_t *rec = json_object();
    TR_CHECK(tr_schema3_expand_url("https://svc.test:8443/base?q=1", rec));
    TR_CHECK_STR(json_string_value(json_object_get(rec, "protocol")), "https");
    TR_CHECK_STR(json_string_value(json_object_get(rec, "host")), "svc.test");
    TR_CHECK_INT(json_integer_value(json_object_get(rec, "port")), 8443);
    TR_CHECK_STR(json_string_value(json_object_get(rec, "path")), "/base");
    TR_CHECK(tr_schema3_expand_url("https://svc.test", rec));
    TR_CHECK_INT(json_integer_value(json_object_get(rec, "port")), 443);
    TR_CHECK(json_is_null(json_object_get(rec, "path")));
    TR_CHECK(tr_schema3_expand_url("http://[::1]:81/", rec));
    TR_CHECK_STR(json_string_value(json_object_get(rec, "host")), "::1");
    TR_CHECK_INT(json_integer_value(json_object_get(rec, "port")), 81);
    TR_CHECK(!tr_schema3_expand_url("invalid url", rec));
    TR_CHECK_STR(json_string_value(json_object_get(rec, "path")), "invalid url");
    json_decref(rec);
}

static void test_services(void)
{
    json_t *doc = NULL;
    char *e = errs(false, TR_SCHEMA_INSERT,
                   "{\"host\":\"a.test\",\"port\":\"8080\",\"tags\":\"x, y\"}", NULL, &doc);
    TR_CHECK(e == NULL);
    free(e);
    TR_CHECK_INT(json_integer_value(json_object_get(doc, "port")), 8080);
    TR_CHECK_INT(json_integer_value(json_object_get(doc, "retries")), 5);
    TR_CHECK_INT(json_integer_value(json_object_get(doc, "read_timeout")), 60000);
    TR_CHECK_INT(json_integer_value(json_object_get(doc, "created_at")), 1000);
    TR_CHECK(json_is_true(json_object_get(doc, "enabled")));
    TR_CHECK(json_is_null(json_object_get(doc, "client_certificate_id")));
    TR_CHECK(json_object_get(doc, "client_certificate") == NULL);
    TR_CHECK_INT(json_array_size(json_object_get(doc, "tags")), 2);

    /* PATCH keeps what it does not name; PUT resets it to defaults. */
    json_t *patched = NULL;
    e = errs(false, TR_SCHEMA_UPDATE, "{\"retries\":1}", doc, &patched);
    TR_CHECK(e == NULL);
    free(e);
    TR_CHECK_INT(json_integer_value(json_object_get(patched, "port")), 8080);
    TR_CHECK_INT(json_integer_value(json_object_get(patched, "retries")), 1);
    TR_CHECK_STR(json_string_value(json_object_get(patched, "id")),
                 json_string_value(json_object_get(doc, "id")));
    json_decref(patched);
    e = errs(false, TR_SCHEMA_REPLACE, "{\"host\":\"b.test\"}", doc, &patched);
    TR_CHECK(e == NULL);
    free(e);
    TR_CHECK_INT(json_integer_value(json_object_get(patched, "port")), 80);
    TR_CHECK(json_is_null(json_object_get(patched, "tags")));
    TR_CHECK_STR(json_string_value(json_object_get(patched, "id")),
                 json_string_value(json_object_get(doc, "id")));
    json_decref(patched);
    json_decref(doc);

    CHECK_ERRS(false, "{}", "{\"host\":\"required field missing\"}");
    CHECK_ERRS(false, "{\"host\":\"a.test\",\"foo\":1}", "{\"foo\":\"unknown field\"}");
    CHECK_ERRS(false, "{\"host\":\"a.test\",\"port\":70000}",
               "{\"port\":\"value should be between 0 and 65535\"}");
    CHECK_ERRS(false, "{\"host\":\"a.test\",\"retries\":\"x\"}",
               "{\"retries\":\"expected an integer\"}");
    CHECK_ERRS(false, "{\"host\":\"a.test\",\"connect_timeout\":0}",
               "{\"connect_timeout\":\"value should be between 1 and 2147483646\"}");
    CHECK_ERRS(false, "{\"host\":\"a.test\",\"protocol\":\"grpc\"}",
               "{\"protocol\":\"protocol 'grpc' is not supported yet: torii proxies only http and "
               "https for now\"}");
    CHECK_ERRS(false, "{\"host\":\"a.test\",\"path\":\"x\"}",
               "{\"path\":\"should start with: /\"}");
    CHECK_ERRS(false, "{\"host\":\"a.test\",\"tls_verify\":true}",
               "{\"@entity\":[\"failed conditional validation given value of field "
               "'protocol'\"],\"tls_verify\":\"value must be null\"}");
    CHECK_ERRS(false,
               "{\"url\":\"https://a.test\",\"tls_verify\":true,\"ca_certificates\":[\"x\"]}",
               "{\"ca_certificates\":[\"expected a valid UUID\"]}");
    CHECK_ERRS(false, "{\"host\":\"a.test\",\"client_certificate\":{}}",
               "{\"client_certificate\":{\"id\":\"missing primary key\"}}");
    CHECK_ERRS(false, "{\"host\":\"a.test\",\"name\":\"a b\"}",
               "{\"name\":\"invalid value 'a b': the only accepted ascii characters are "
               "alphanumerics or ., -, _, and ~\"}");
}

static void test_routes(void)
{
    json_t *doc = NULL;
    char *e =
        errs(true, TR_SCHEMA_INSERT,
             "{\"paths\":[\"/a\"],\"service\":{\"id\":\"AAAAAAAA-0000-4000-8000-000000000000\","
             "\"name\":\"ignored\"},\"headers\":{\"X-Foo\":\"a, b\"},\"methods\":[\"GET\","
             "\"GET\"]}",
             NULL, &doc);
    TR_CHECK(e == NULL);
    free(e);
    TR_CHECK_STR(json_string_value(json_object_get(doc, "service_id")),
                 "aaaaaaaa-0000-4000-8000-000000000000");
    TR_CHECK(json_object_get(doc, "service") == NULL);
    TR_CHECK_INT(json_array_size(json_object_get(doc, "methods")), 1);
    TR_CHECK_INT(json_array_size(json_object_get(json_object_get(doc, "headers"), "x-foo")), 2);
    TR_CHECK(json_is_true(json_object_get(doc, "strip_path")));
    TR_CHECK_INT(json_integer_value(json_object_get(doc, "https_redirect_status_code")), 426);
    TR_CHECK_STR(json_string_value(json_object_get(doc, "path_handling")), "v0");
    /* PATCH to null of the only matching field breaks the rule. */
    char *p =
        errs(true, TR_SCHEMA_UPDATE, "{\"paths\":null,\"methods\":[],\"headers\":null}", doc, NULL);
    TR_CHECK_STR(p, "{\"@entity\":[\"must set one of 'methods', 'hosts', 'headers', 'paths', "
                    "'snis' when 'protocols' is 'https'\"]}");
    free(p);
    json_decref(doc);

    CHECK_ERRS(true, "{\"protocols\":[\"http\"]}",
               "{\"@entity\":[\"must set one of 'methods', 'hosts', 'headers', 'paths' when "
               "'protocols' is 'http'\"]}");
    CHECK_ERRS(true, "{\"protocols\":[\"http\"],\"snis\":[\"a.test\"],\"paths\":[\"/\"]}",
               "{\"@entity\":[\"'snis' can only be set when 'protocols' is 'grpcs', 'https', "
               "'tls' or 'tls_passthrough'\"],\"snis\":\"length must be 0\"}");
    CHECK_ERRS(true, "{\"protocols\":[\"https\"],\"snis\":[\"a.test\"]}", "(valid)");
    CHECK_ERRS(true, "{\"protocols\":[\"foo\",\"http\"],\"methods\":[\"GET\"]}",
               "{\"protocols\":[\"expected one of: grpc, grpcs, http, https, tcp, tls, "
               "tls_passthrough, udp\"]}");
    CHECK_ERRS(true, "{\"headers\":{\"Host\":[\"a\"]}}",
               "{\"headers\":{\"Host\":\"cannot contain 'host' header, which must be specified "
               "in the 'hosts' attribute\"}}");
    CHECK_ERRS(true, "{\"paths\":[\"/a\",\"b\"]}",
               "{\"paths\":[null,\"should start with: / (fixed path) or ~/ (regex path)\"]}");
    CHECK_ERRS(true, "{\"methods\":[\"get\"]}", "{\"methods\":[\"invalid value: get\"]}");
    CHECK_ERRS(true, "{\"paths\":[\"/\"],\"https_redirect_status_code\":200}",
               "{\"https_redirect_status_code\":\"expected one of: 426, 301, 302, 307, 308\"}");
    CHECK_ERRS(true, "{\"paths\":[\"/\"],\"path_handling\":\"v2\"}",
               "{\"path_handling\":\"expected one of: v0, v1\"}");
    /* Not required in Kong 3.9: null is kept (and routed as 0 and v0). */
    e = errs(true, TR_SCHEMA_INSERT,
             "{\"methods\":[\"POST\"],\"regex_priority\":null,\"path_handling\":null}", NULL, &doc);
    TR_CHECK(e == NULL);
    free(e);
    TR_CHECK(json_is_null(json_object_get(doc, "regex_priority")));
    TR_CHECK(json_is_null(json_object_get(doc, "path_handling")));
    json_decref(doc);
    CHECK_ERRS(true, "{\"paths\":[\"/\"],\"service\":\"x\"}",
               "{\"service\":\"expected a record\"}");
    CHECK_ERRS(true, "{\"paths\":[\"/\"],\"service\":{\"id\":\"x\"}}",
               "{\"service\":{\"id\":\"expected a valid UUID\"}}");

    /* Bounded lists. */
    json_t *in = json_pack("{s:[]}", "hosts");
    for (int i = 0; i <= TR_SCHEMA3_MAX_ITEMS; i++)
        json_array_append_new(json_object_get(in, "hosts"), json_sprintf("h%d.test", i));
    json_t *out = NULL, *fields = NULL;
    TR_CHECK_INT(tr_schema3_route(TR_SCHEMA_INSERT, in, NULL, 1, &out, &fields), TR_EINVAL);
    TR_CHECK_STR(json_string_value(json_object_get(fields, "hosts")), "length must be at most 256");
    json_decref(fields);
    json_decref(in);
}

static void test_messages(void)
{
    char msg[512];
    json_t *f = J("{\"host\":\"required field missing\"}");
    tr_admin3_schema_message(f, msg, sizeof(msg));
    TR_CHECK_STR(msg, "schema violation (host: required field missing)");
    json_decref(f);
    f = J("{\"protocols\":[\"bad\"],\"service\":{\"protocol\":\"bad too\"},\"@entity\":[\"e1\"],"
          "\"paths\":[null,\"p2\"]}");
    tr_admin3_schema_message(f, msg, sizeof(msg));
    TR_CHECK_STR(msg, "4 schema violations (e1; paths.2: p2; protocols.1: bad; service.protocol: "
                      "bad too)");
    json_decref(f);
    json_t *body = tr_admin3_error(TR_ADMIN3_UNIQUE_VIOLATION, "m", NULL);
    TR_CHECK_INT(json_integer_value(json_object_get(body, "code")), 5);
    TR_CHECK_STR(json_string_value(json_object_get(body, "name")), "unique constraint violation");
    TR_CHECK_INT(tr_admin3_code_status(TR_ADMIN3_UNIQUE_VIOLATION), 409);
    json_decref(body);
    json_t *v = json_string("x");
    tr_admin3_pretty_key("name", v, msg, sizeof(msg));
    TR_CHECK_STR(msg, "{name=\"x\"}");
    json_decref(v);
}

/* Validated rows through the store and back as plain structs (snapshot/kong3.h). */
static void test_snapshot_reader(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[256], db[300], text[400], err[256];
    snprintf(dir, sizeof(dir), "%s/torii-k3-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        TR_CHECK(false);
        return;
    }
    snprintf(db, sizeof(db), "%s/torii.db", dir);
    snprintf(text, sizeof(text), "database = sqlite\nsqlite_path = %s\n", db);
    struct tr_conf conf;
    struct tr_store *s = NULL;
    TR_CHECK_INT(tr__conf_parse_buffer(&conf, text, strlen(text), "test", err, sizeof(err)), 0);
    TR_CHECK_INT(tr_store_open(&conf, &s, err, sizeof(err)), 0);
    if (s == NULL)
        return;

    json_t *in = J("{\"name\":\"svc\",\"url\":\"https://up.test:8443/base\",\"tls_verify\":true}");
    json_t *svc = NULL, *fields = NULL;
    TR_CHECK_INT(tr_schema3_service(TR_SCHEMA_INSERT, in, NULL, 5, &svc, &fields), 0);
    TR_CHECK_INT(tr_store_insert(s, "services", svc, NULL), 0);
    json_decref(in);
    in = json_pack("{s:[s,s],s:{s:[s]},s:{s:O},s:b}", "paths", "/a", "~/b$", "headers", "X-V", "1",
                   "service", "id", json_object_get(svc, "id"), "strip_path", 0);
    json_t *rt = NULL;
    TR_CHECK_INT(tr_schema3_route(TR_SCHEMA_INSERT, in, NULL, 6, &rt, &fields), 0);
    TR_CHECK_INT(tr_store_insert(s, "routes", rt, NULL), 0);
    json_decref(in);
    TR_CHECK_INT(tr_store_delete(s, "services", json_string_value(json_object_get(svc, "id"))),
                 TR_ECONFLICT);

    struct tr_k3_config c;
    TR_CHECK_INT(tr_snap_k3_load(s, &c), 0);
    TR_CHECK_INT(c.service_cnt, 1);
    TR_CHECK_INT(c.route_cnt, 1);
    if (c.service_cnt == 1 && c.route_cnt == 1) {
        const struct tr_k3_service *sv = &c.services[0];
        TR_CHECK_STR(sv->protocol, "https");
        TR_CHECK_STR(sv->host, "up.test");
        TR_CHECK_INT(sv->port, 8443);
        TR_CHECK_STR(sv->path, "/base");
        TR_CHECK_INT(sv->tls_verify, 1);
        TR_CHECK_INT(sv->tls_verify_depth, -1);
        TR_CHECK(sv->client_certificate_id == NULL);
        const struct tr_k3_route *r = &c.routes[0];
        TR_CHECK(tr_snap_k3_service(&c, r->service_id) == sv);
        TR_CHECK_INT(r->paths.cnt, 2);
        TR_CHECK_STR(r->paths.items[1], "~/b$");
        TR_CHECK_INT(r->protocols.cnt, 2);
        TR_CHECK_INT(r->header_cnt, 1);
        TR_CHECK_STR(r->headers[0].name, "x-v");
        TR_CHECK(!r->strip_path && !r->preserve_host && r->response_buffering);
        TR_CHECK_INT(r->https_redirect_status_code, 426);
        TR_CHECK(!r->path_handling_v1);
        TR_CHECK_INT(r->created_at, 6);
        TR_CHECK(r->methods.cnt == 0 && r->hosts.items == NULL);
    }
    tr_snap_k3_free(&c);
    json_decref(svc);
    json_decref(rt);
    tr_store_close(s);
    tr_conf_free(&conf);
    char path[400];
    const char *const files[] = {"torii.db", "torii.db-wal", "torii.db-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(void)
{
    test_hosts();
    test_paths();
    test_tags_and_url();
    test_services();
    test_routes();
    test_messages();
    test_snapshot_reader();
    return TR_CHECK_DONE();
}
