/* SPDX-License-Identifier: MIT */
/* tr_admin_handle end to end on a real temporary SQLite store: the walkthrough's admin calls,
 * Kong's status codes and bodies, 400/404/405/409/415, pagination, filters, PUT semantics,
 * consumers, node info and status. */
#include "admin/admin.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/routes.h"
#include "check.h"
#include "core/conf.h"
#include "core/uuid.h"
#include "store/store.h"

#define FORM "application/x-www-form-urlencoded"
#define JSON "application/json"

static struct tr_admin_env env;
static int changes;
static json_t *last;           /* body of the last answer (owned) */
static const char *last_allow; /* Allow of the last answer */

static void on_change(void *ud, const char *entity, const char *id, json_t *doc)
{
    (void)ud;
    (void)doc;
    if (entity != NULL && id != NULL)
        changes++;
}

/* Issue a request; returns the status and keeps the body in `last`. path may carry a query. */
static int call(const char *method, const char *target, const char *ctype, const char *body)
{
    const char *q = strchr(target, '?');
    struct tr_admin_request req = {
        .method = tr_str_from_cstr(method),
        .path = {target, q ? (size_t)(q - target) : strlen(target)},
        .query = q ? tr_str_from_cstr(q + 1) : TR_STR_NULL,
        .content_type = tr_str_from_cstr(ctype),
        .body = tr_str_from_cstr(body),
        .host = TR_STR_LIT("localhost:8001"),
    };
    struct tr_admin_response res = {0};
    json_decref(last);
    tr_admin_handle(&env, &req, &res);
    last = res.body;
    last_allow = res.allow;
    return res.status;
}

static const char *sget(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "(absent)";
}

static long long iget(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static size_t count_rows(const char *entity)
{
    size_t n = 0;
    tr_store_count(env.store, entity, &n);
    return n;
}

static void test_node(void)
{
    TR_CHECK_INT(call("GET", "/", "", ""), 200);
    TR_CHECK_STR(sget(last, "tagline"), "Welcome to torii");
    TR_CHECK(json_is_string(json_object_get(last, "version")));
    TR_CHECK(json_is_string(json_object_get(last, "hostname")));
    json_t *plugins = json_object_get(last, "plugins");
    TR_CHECK(json_is_array(json_object_get(plugins, "available_on_server")));
    TR_CHECK(json_is_array(json_object_get(plugins, "enabled_in_cluster")));
    json_t *conf = json_object_get(last, "configuration");
    TR_CHECK(json_is_object(conf));
    TR_CHECK_STR(sget(conf, "admin_listen"), "127.0.0.1:8001");

    TR_CHECK_INT(call("GET", "/status", "", ""), 200);
    json_t *server = json_object_get(last, "server");
    TR_CHECK_INT(iget(server, "total_requests"), 0);
    TR_CHECK_INT(iget(server, "connections_active"), 0);
    TR_CHECK(json_object_get(server, "connections_waiting") != NULL);
    json_t *db = json_object_get(last, "database");
    TR_CHECK(json_is_true(json_object_get(db, "reachable")));
    TR_CHECK_INT(iget(db, "apis"), 0);
    TR_CHECK_INT(iget(db, "consumers"), 0);

    /* HEAD is served by GET; other methods are 405. */
    TR_CHECK_INT(call("HEAD", "/", "", ""), 200);
    TR_CHECK_INT(call("POST", "/", FORM, "a=1"), 405);
    TR_CHECK_STR(sget(last, "message"), "Method not allowed");
    TR_CHECK_STR(last_allow, "GET, HEAD, OPTIONS");
}

static json_t *server_status(void *ud)
{
    return json_pack("{s:i,s:i}", "total_requests", 42, "connections_active", 3);
}

static void test_status_counters(void)
{
    env.server_status = server_status;
    TR_CHECK_INT(call("GET", "/status/", "", ""), 200);
    json_t *server = json_object_get(last, "server");
    TR_CHECK_INT(iget(server, "total_requests"), 42);
    TR_CHECK_INT(iget(server, "connections_active"), 3);
    TR_CHECK_INT(iget(server, "connections_reading"), 0);
    env.server_status = NULL;
}

/* A node still waiting for its database answers every request with the one 503 of the error
 * table, /status/ready included; so does /status/ready when the store stops answering. */
static void test_no_database(void)
{
    struct tr_store *store = env.store;
    env.store = NULL;
    TR_CHECK_INT(call("GET", "/apis", "", ""), 503);
    TR_CHECK_STR(sget(last, "message"), "failed to connect to database");
    TR_CHECK_INT(call("GET", "/status/ready", "", ""), 503);
    TR_CHECK_STR(sget(last, "message"), "failed to connect to database");
    env.store = store;
    TR_CHECK_INT(call("GET", "/status/ready", "", ""), 200);
    TR_CHECK_STR(sget(last, "message"), "ready");
}

static char go_id[TR_UUID_LEN + 1];

static void test_walkthrough(void)
{
    int before = changes;
    TR_CHECK_INT(call("POST", "/apis/", FORM,
                      "name=go-api&upstream_url=http://127.0.0.1:5000&request_path=/go"),
                 201);
    TR_CHECK_INT(changes, before + 1);
    TR_CHECK_STR(sget(last, "name"), "go-api");
    TR_CHECK_STR(sget(last, "upstream_url"), "http://127.0.0.1:5000");
    TR_CHECK_STR(sget(last, "request_path"), "/go");
    TR_CHECK(json_is_false(json_object_get(last, "strip_request_path")));
    TR_CHECK(json_is_false(json_object_get(last, "preserve_host")));
    TR_CHECK(json_object_get(last, "request_host") == NULL);
    long long created = iget(last, "created_at");
    TR_CHECK(created > 1400000000000LL && created % 1000 == 0);
    snprintf(go_id, sizeof(go_id), "%s", sget(last, "id"));
    TR_CHECK(tr_uuid_is_valid(tr_str_from_cstr(go_id)));

    TR_CHECK_INT(call("GET", "/apis", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 1);
    TR_CHECK_INT(json_array_size(json_object_get(last, "data")), 1);
    TR_CHECK_STR(sget(json_array_get(json_object_get(last, "data"), 0), "name"), "go-api");
    TR_CHECK(json_object_get(last, "next") == NULL);

    /* By name, by id, by upper-case id, with a trailing slash. */
    TR_CHECK_INT(call("GET", "/apis/go-api", "", ""), 200);
    TR_CHECK_STR(sget(last, "id"), go_id);
    char path[128];
    snprintf(path, sizeof(path), "/apis/%s", go_id);
    TR_CHECK_INT(call("GET", path, "", ""), 200);
    TR_CHECK_STR(sget(last, "name"), "go-api");
    for (char *p = path; *p; p++)
        *p = (*p >= 'a' && *p <= 'f') ? (char)(*p - 32) : *p;
    path[1] = 'a', path[2] = 'p', path[3] = 'i', path[4] = 's';
    TR_CHECK_INT(call("GET", path, "", ""), 200);
    TR_CHECK_INT(call("GET", "/apis/go-api/", "", ""), 200);

    before = changes;
    TR_CHECK_INT(call("PATCH", "/apis/go-api", FORM, "strip_request_path=true"), 200);
    TR_CHECK_INT(changes, before + 1);
    TR_CHECK(json_is_true(json_object_get(last, "strip_request_path")));
    TR_CHECK_STR(sget(last, "request_path"), "/go");
    TR_CHECK_STR(sget(last, "id"), go_id);
    TR_CHECK_INT(iget(last, "created_at"), created);

    /* Fix A: give go-api the host. */
    TR_CHECK_INT(call("PATCH", "/apis/go-api", FORM, "request_host=localhost"), 200);
    TR_CHECK_STR(sget(last, "request_host"), "localhost");
    TR_CHECK_INT(call("GET", "/apis/go-api", "", ""), 200);
    TR_CHECK_STR(sget(last, "request_host"), "localhost");
    TR_CHECK(json_is_true(json_object_get(last, "strip_request_path")));

    /* With A in place, a second api on the same host conflicts... */
    before = changes;
    TR_CHECK_INT(call("POST", "/apis/", FORM,
                      "name=for_host&upstream_url=http://127.0.0.1:5000&request_host=localhost"),
                 409);
    TR_CHECK_STR(sget(last, "request_host"), "request_host already exists with value 'localhost'");
    TR_CHECK_INT(changes, before);
    TR_CHECK_INT(count_rows("apis"), 1);
    /* ...so undo A (a blank value unsets) and do fix B. */
    TR_CHECK_INT(call("PATCH", "/apis/go-api", FORM, "request_host="), 200);
    TR_CHECK(json_object_get(last, "request_host") == NULL);
    TR_CHECK_INT(call("POST", "/apis/", FORM,
                      "name=for_host&upstream_url=http://127.0.0.1:5000&request_host=localhost"),
                 201);
    TR_CHECK_STR(sget(last, "request_host"), "localhost");
    TR_CHECK(json_object_get(last, "request_path") == NULL);

    /* Section 8: rails-api with strip_request_path. */
    TR_CHECK_INT(call("POST", "/apis/", FORM,
                      "name=rails-api&upstream_url=http://127.0.0.1:3000&request_path=/rails"
                      "&strip_request_path=true"),
                 201);
    TR_CHECK(json_is_true(json_object_get(last, "strip_request_path")));
    /* Section 9: PATCH upstream_url. */
    TR_CHECK_INT(call("PATCH", "/apis/rails-api", FORM, "upstream_url=http://127.0.0.1:3001"), 200);
    TR_CHECK_STR(sget(last, "upstream_url"), "http://127.0.0.1:3001");

    TR_CHECK_INT(call("GET", "/apis", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 3);

    before = changes;
    TR_CHECK_INT(call("DELETE", "/apis/for_host", "", ""), 204);
    TR_CHECK(last == NULL);
    TR_CHECK_INT(changes, before + 1);
    TR_CHECK_INT(call("DELETE", "/apis/for_host", "", ""), 404);
    TR_CHECK_STR(sget(last, "message"), "Not found");
    TR_CHECK_INT(changes, before + 1);
    TR_CHECK_INT(call("DELETE", "/apis/rails-api", "", ""), 204);
    TR_CHECK_INT(count_rows("apis"), 1);
}

/* POST /apis with body; returns the status and checks the error message for key. */
static void bad_api(const char *body, const char *key, const char *msg)
{
    int before = changes;
    size_t rows = count_rows("apis");
    int st = call("POST", "/apis", FORM, body);
    TR_CHECK_INT(st, 400);
    const char *got = sget(last, key);
    if (strcmp(got, msg) != 0)
        fprintf(stderr, "  body: %s\n", body);
    TR_CHECK_STR(got, msg);
    TR_CHECK_INT(changes, before);
    TR_CHECK_INT(count_rows("apis"), rows);
}

static void test_api_errors(void)
{
    bad_api("name=x&request_path=/x", "upstream_url", "upstream_url is required");
    bad_api("request_path=/x&upstream_url=ftp://a.test", "upstream_url",
            "Supported protocols are HTTP and HTTPS");
    bad_api("request_path=/x&upstream_url=nope", "upstream_url", "upstream_url is not a url");
    bad_api("request_host=bad..host&upstream_url=http://a.test", "request_host",
            "Invalid value: bad..host");
    bad_api("request_host=*.a.*&upstream_url=http://a.test", "request_host",
            "Only one wildcard is allowed: *.a.*");
    bad_api("request_path=x&upstream_url=http://a.test", "request_path",
            "must be prefixed with slash: 'x'");
    bad_api("request_path=//x&upstream_url=http://a.test", "request_path", "invalid: '//x'");
    bad_api("upstream_url=http://a.test", "request_host",
            "At least a 'request_host' or a 'request_path' must be specified");
    bad_api("upstream_url=http://a.test", "request_path",
            "At least a 'request_host' or a 'request_path' must be specified");
    bad_api("request_path=/x&upstream_url=http://a.test&foo=1", "foo", "foo is an unknown field");
    bad_api("request_path=/x&upstream_url=http://a.test&preserve_host=yes", "preserve_host",
            "preserve_host is not a boolean");
    bad_api("request_path=/x&upstream_url=http://a.test&retries=abc", "retries",
            "retries is not a number");
    bad_api("request_path=/x&upstream_url=http://a.test&retries=99999", "retries",
            "must be an integer between 0 and 32767");
    bad_api("request_path=/x&upstream_url=http://169.254.169.254/latest", "upstream_url",
            "upstream_url must not point at the Admin API or a link-local address");
    bad_api("request_path=/x&upstream_url=http://127.0.0.1:8001/", "upstream_url",
            "upstream_url must not point at the Admin API or a link-local address");
    bad_api("request_path=/x&upstream_url=http://[fe80::1]/", "upstream_url",
            "upstream_url must not point at the Admin API or a link-local address");
    /* Every field error at once. */
    TR_CHECK_INT(call("POST", "/apis", FORM, "request_path=x&preserve_host=2&zzz=1"), 400);
    TR_CHECK_INT(json_object_size(last), 4);
    TR_CHECK_STR(sget(last, "upstream_url"), "upstream_url is required");

    /* Body encodings. */
    TR_CHECK_INT(call("POST", "/apis", JSON, "{\"upstream_url\":"), 400);
    TR_CHECK_STR(sget(last, "message"), "Cannot parse JSON body");
    TR_CHECK_INT(call("POST", "/apis", "text/plain", "hello"), 415);
    TR_CHECK_STR(sget(last, "message"), "Unsupported Content-Type: use application/json, "
                                        "application/x-www-form-urlencoded or multipart/form-data");
    TR_CHECK_INT(call("POST", "/apis", JSON,
                      "{\"name\":\"json-api\",\"upstream_url\":\"http://a.test\","
                      "\"request_path\":\"/json/\",\"preserve_host\":true,\"retries\":3}"),
                 201);
    TR_CHECK_STR(sget(last, "request_path"), "/json");
    TR_CHECK(json_is_true(json_object_get(last, "preserve_host")));
    TR_CHECK_INT(iget(last, "retries"), 3);
    TR_CHECK_INT(
        call("POST", "/apis", JSON, "{\"upstream_url\":\"http://a.test\",\"request_path\":5}"),
        400);
    TR_CHECK_STR(sget(last, "request_path"), "request_path is not a string");
    TR_CHECK_INT(call("POST", "/apis", "multipart/form-data; boundary=XyZ",
                      "--XyZ\r\nContent-Disposition: form-data; name=\"upstream_url\"\r\n\r\n"
                      "http://a.test\r\n--XyZ\r\nContent-Disposition: form-data; "
                      "name=\"request_path\"\r\n\r\n/multi\r\n--XyZ--\r\n"),
                 201);
    TR_CHECK_STR(sget(last, "name"), "multi");

    /* Conflicts. */
    TR_CHECK_INT(
        call("POST", "/apis", FORM, "name=go-api&upstream_url=http://a.test&request_path=/other"),
        409);
    TR_CHECK_STR(sget(last, "name"), "name already exists with value 'go-api'");
    TR_CHECK_INT(
        call("POST", "/apis", FORM, "name=other&upstream_url=http://a.test&request_path=/go/"),
        409);
    TR_CHECK_STR(sget(last, "request_path"), "request_path already exists with value '/go'");
    /* PATCH into a conflict, and PATCH with a bad value, leave the row alone. */
    TR_CHECK_INT(call("PATCH", "/apis/json-api", FORM, "request_path=/go"), 409);
    TR_CHECK_INT(call("PATCH", "/apis/json-api", FORM, "retries=-1"), 400);
    TR_CHECK_INT(call("PATCH", "/apis/json-api", FORM, "created_at=1"), 400);
    TR_CHECK_STR(sget(last, "created_at"), "created_at cannot be updated");
    TR_CHECK_INT(call("GET", "/apis/json-api", "", ""), 200);
    TR_CHECK_STR(sget(last, "request_path"), "/json");
    TR_CHECK_INT(iget(last, "retries"), 3);

    /* 404 and 405. */
    TR_CHECK_INT(call("GET", "/apis/nope", "", ""), 404);
    TR_CHECK_STR(sget(last, "message"), "Not found");
    TR_CHECK_INT(call("PATCH", "/apis/nope", FORM, "retries=1"), 404);
    TR_CHECK_INT(call("GET", "/apis/00000000-0000-4000-8000-000000000000", "", ""), 404);
    TR_CHECK_INT(call("GET", "/nothing", "", ""), 404);
    TR_CHECK_STR(sget(last, "message"), "Not found");
    TR_CHECK_INT(call("GET", "//apis", "", ""), 404);
    TR_CHECK_INT(call("GET", "/apis/go-api/extra/more", "", ""), 404);
    TR_CHECK_INT(call("DELETE", "/apis", "", ""), 405);
    TR_CHECK_STR(sget(last, "message"), "Method not allowed");
    TR_CHECK_STR(last_allow, "GET, HEAD, POST, PUT, OPTIONS");
    TR_CHECK_INT(call("POST", "/apis/go-api", FORM, "a=1"), 405);
    TR_CHECK_STR(last_allow, "GET, HEAD, PATCH, DELETE, OPTIONS");
    TR_CHECK_INT(call("TRACE", "/apis", "", ""), 405);
    TR_CHECK_STR(last_allow, "GET, HEAD, POST, PUT, OPTIONS");
    TR_CHECK_INT(call("TRACE", "/nothing", "", ""), 405);
    TR_CHECK_STR(sget(last, "message"), "Method not allowed");
    TR_CHECK_INT(call("CONNECT", "/nothing", "", ""), 405);
    TR_CHECK_INT(call("CONNECT", "/apis", "", ""), 405);
}

/* Follow a "next" URL: returns a new malloc'ed target ("/apis?offset=..."). */
static char *target_of(const char *next)
{
    const char *prefix = "http://localhost:8001";
    if (next == NULL || strncmp(next, prefix, strlen(prefix)) != 0)
        return NULL;
    return strdup(next + strlen(prefix));
}

static void test_pagination_and_filters(void)
{
    for (int i = 0; i < 5; i++) {
        char body[128];
        snprintf(body, sizeof(body), "upstream_url=http://a.test&request_path=/page%d%s", i,
                 i % 2 ? "&strip_request_path=true" : "");
        TR_CHECK_INT(call("POST", "/apis", FORM, body), 201);
    }
    size_t total = count_rows("apis");
    TR_CHECK_INT(total, 8);
    size_t seen = 0, pages = 0;
    char *target = strdup("/apis?size=3");
    while (target != NULL && pages < 10) {
        TR_CHECK_INT(call("GET", target, "", ""), 200);
        free(target);
        target = NULL;
        pages++;
        seen += json_array_size(json_object_get(last, "data"));
        TR_CHECK_INT(iget(last, "total"), total);
        json_t *next = json_object_get(last, "next");
        if (next != NULL) {
            TR_CHECK(strstr(json_string_value(next), "http://localhost:8001/apis?offset=") ==
                     json_string_value(next));
            TR_CHECK(strstr(json_string_value(next), "&size=3") != NULL);
            target = target_of(json_string_value(next));
        }
    }
    TR_CHECK_INT(pages, 3);
    TR_CHECK_INT(seen, total);
    TR_CHECK_INT(call("GET", "/apis?size=8", "", ""), 200);
    TR_CHECK(json_object_get(last, "next") == NULL);

    TR_CHECK_INT(call("GET", "/apis?size=0", "", ""), 400);
    TR_CHECK_STR(sget(last, "size"), "size must be an integer between 1 and 1000");
    TR_CHECK_INT(call("GET", "/apis?size=1001", "", ""), 400);
    TR_CHECK_INT(call("GET", "/apis?size=abc", "", ""), 400);
    TR_CHECK_INT(call("GET", "/apis?offset=%21%21%21", "", ""), 400);
    TR_CHECK_STR(sget(last, "offset"), "offset is not valid");

    /* Filters. */
    TR_CHECK_INT(call("GET", "/apis?request_path=/go", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 1);
    TR_CHECK_STR(sget(json_array_get(json_object_get(last, "data"), 0), "name"), "go-api");
    TR_CHECK_INT(call("GET", "/apis?strip_request_path=true", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 3); /* go-api, page1, page3 */
    TR_CHECK_INT(call("GET", "/apis?strip_request_path=TRUE&size=1", "", ""), 200);
    TR_CHECK_INT(json_array_size(json_object_get(last, "data")), 1);
    const char *n = json_string_value(json_object_get(last, "next"));
    TR_CHECK(n != NULL && strstr(n, "strip_request_path=true") != NULL);
    char *t = target_of(n);
    TR_CHECK_INT(call("GET", t, "", ""), 200);
    free(t);
    TR_CHECK(json_is_true(
        json_object_get(json_array_get(json_object_get(last, "data"), 0), "strip_request_path")));
    TR_CHECK_INT(call("GET", "/apis?retries=5", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 7);
    TR_CHECK_INT(call("GET", "/apis?foo=bar", "", ""), 400);
    TR_CHECK_STR(sget(last, "foo"), "foo is an unknown field");
    TR_CHECK_INT(call("GET", "/apis?retries=abc", "", ""), 400);
    TR_CHECK_STR(sget(last, "retries"), "retries is not a number");
    TR_CHECK_INT(call("GET", "/apis?request_path=%FF", "", ""), 400);
    TR_CHECK_STR(sget(last, "message"), "Cannot parse query string");
    TR_CHECK_INT(call("GET", "/apis?request_host=nowhere.test", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 0);
    TR_CHECK_INT(json_array_size(json_object_get(last, "data")), 0);
    TR_CHECK(json_object_get(last, "next") == NULL);

    /* Write-only fields are no filters (P11): as unknown as a misspelling. */
    TR_CHECK_INT(call("GET", "/certificates?key=-----BEGIN", "", ""), 400);
    TR_CHECK_STR(sget(last, "key"), "key is an unknown field");
    TR_CHECK_INT(call("GET", "/certificates?include_key=true&key=x", "", ""), 400);
    TR_CHECK_STR(sget(last, "key"), "key is an unknown field");
    TR_CHECK_INT(call("GET", "/basic-auths?password=x", "", ""), 400);
    TR_CHECK_STR(sget(last, "password"), "password is an unknown field");
    TR_CHECK_INT(call("GET", "/oauth2_tokens?access_token=x", "", ""), 400);
    TR_CHECK_STR(sget(last, "access_token"), "access_token is an unknown field");
    TR_CHECK_INT(call("GET", "/plugins?config.redis_password=x", "", ""), 400);
    TR_CHECK_INT(call("GET", "/certificates?cert=x", "", ""), 200);
    TR_CHECK_INT(call("GET", "/basic-auths?username=x", "", ""), 200);
}

static void test_put(void)
{
    /* Without id: insert. */
    TR_CHECK_INT(
        call("PUT", "/apis", FORM,
             "name=put-api&upstream_url=http://a.test&request_path=/put&request_host=put.test"),
        201);
    char id[TR_UUID_LEN + 1];
    snprintf(id, sizeof(id), "%s", sget(last, "id"));
    long long created = iget(last, "created_at");
    /* With the existing id: full replace, unset fields cleared, created_at kept. */
    char body[256];
    snprintf(body, sizeof(body), "id=%s&name=put-api&upstream_url=http://b.test&request_path=/put2",
             id);
    int before = changes;
    TR_CHECK_INT(call("PUT", "/apis", FORM, body), 200);
    TR_CHECK_INT(changes, before + 1);
    TR_CHECK_STR(sget(last, "id"), id);
    TR_CHECK_STR(sget(last, "upstream_url"), "http://b.test");
    TR_CHECK_STR(sget(last, "request_path"), "/put2");
    TR_CHECK(json_object_get(last, "request_host") == NULL);
    TR_CHECK_INT(iget(last, "created_at"), created);
    TR_CHECK_INT(call("GET", "/apis/put-api", "", ""), 200);
    TR_CHECK(json_object_get(last, "request_host") == NULL);
    /* Replace that fails validation changes nothing. */
    snprintf(body, sizeof(body), "id=%s&name=put-api&upstream_url=http://b.test", id);
    TR_CHECK_INT(call("PUT", "/apis", FORM, body), 400);
    TR_CHECK_INT(call("GET", "/apis/put-api", "", ""), 200);
    TR_CHECK_STR(sget(last, "request_path"), "/put2");
    /* An unknown id: insert with that id. */
    TR_CHECK_INT(call("PUT", "/apis/", JSON,
                      "{\"id\":\"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee\",\"upstream_url\":"
                      "\"http://a.test\",\"request_path\":\"/put3\"}"),
                 201);
    TR_CHECK_STR(sget(last, "id"), "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
    TR_CHECK_INT(call("GET", "/apis/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", "", ""), 200);
    /* A malformed id is a validation error. */
    TR_CHECK_INT(call("PUT", "/apis", FORM, "id=123&upstream_url=http://a.test&request_path=/p4"),
                 400);
    TR_CHECK_STR(sget(last, "id"), "id is not a valid uuid");
    /* PUT without id that collides: 409. */
    TR_CHECK_INT(
        call("PUT", "/apis", FORM, "name=put-api&upstream_url=http://a.test&request_path=/p5"),
        409);
}

static void test_consumers(void)
{
    TR_CHECK_INT(call("POST", "/consumers/", FORM, "username=example_consumer"), 201);
    TR_CHECK_STR(sget(last, "username"), "example_consumer");
    char id[TR_UUID_LEN + 1];
    snprintf(id, sizeof(id), "%s", sget(last, "id"));
    TR_CHECK(tr_uuid_is_valid(tr_str_from_cstr(id)));
    TR_CHECK(iget(last, "created_at") > 1400000000000LL);
    TR_CHECK(json_object_get(last, "custom_id") == NULL);

    TR_CHECK_INT(call("POST", "/consumers", FORM, "username=example_consumer"), 409);
    TR_CHECK_STR(sget(last, "username"), "username already exists with value 'example_consumer'");
    TR_CHECK_INT(call("POST", "/consumers", FORM, ""), 400);
    TR_CHECK_STR(sget(last, "username"),
                 "At least a 'custom_id' or a 'username' must be specified");
    TR_CHECK_STR(sget(last, "custom_id"),
                 "At least a 'custom_id' or a 'username' must be specified");
    TR_CHECK_INT(call("POST", "/consumers", FORM, "username=x&age=3"), 400);
    TR_CHECK_STR(sget(last, "age"), "age is an unknown field");
    TR_CHECK_INT(call("POST", "/consumers", FORM, "custom_id=c-1"), 201);
    TR_CHECK_INT(call("POST", "/consumers", FORM, "custom_id=c-1"), 409);
    TR_CHECK_STR(sget(last, "custom_id"), "custom_id already exists with value 'c-1'");
    /* A username with a space, addressed percent-encoded. */
    TR_CHECK_INT(call("POST", "/consumers", FORM, "username=Jane+Doe"), 201);
    TR_CHECK_INT(call("GET", "/consumers/Jane%20Doe", "", ""), 200);
    TR_CHECK_STR(sget(last, "username"), "Jane Doe");

    TR_CHECK_INT(call("GET", "/consumers/example_consumer", "", ""), 200);
    TR_CHECK_STR(sget(last, "id"), id);
    char path[128];
    snprintf(path, sizeof(path), "/consumers/%s", id);
    TR_CHECK_INT(call("GET", path, "", ""), 200);
    TR_CHECK_INT(call("PATCH", path, FORM, "custom_id=ext-42"), 200);
    TR_CHECK_STR(sget(last, "custom_id"), "ext-42");
    TR_CHECK_STR(sget(last, "username"), "example_consumer");
    TR_CHECK_INT(call("PATCH", "/consumers/example_consumer", FORM, "username=&custom_id="), 400);
    TR_CHECK_INT(call("GET", "/consumers", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 3);
    TR_CHECK_INT(call("GET", "/consumers?custom_id=ext-42", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 1);
    TR_CHECK_INT(call("DELETE", path, "", ""), 204);
    TR_CHECK_INT(call("GET", "/consumers/example_consumer", "", ""), 404);
    TR_CHECK_INT(call("DELETE", "/consumers/example_consumer", "", ""), 404);
    TR_CHECK_INT(call("PUT", "/consumers", FORM, "username=put-user"), 201);

    TR_CHECK_INT(call("GET", "/status", "", ""), 200);
    json_t *db = json_object_get(last, "database");
    TR_CHECK_INT(iget(db, "consumers"), 3);
    TR_CHECK_INT(iget(db, "apis"), count_rows("apis"));
}

/* Every row's Allow string lists exactly its methods. */
static void check_allow(const struct tr_admin_endpoint *ep, void *ud)
{
    char want[128];
    snprintf(want, sizeof(want), "%s%s%s%s%sOPTIONS", ep->get ? "GET, HEAD, " : "",
             ep->post ? "POST, " : "", ep->put ? "PUT, " : "", ep->patch ? "PATCH, " : "",
             ep->del ? "DELETE, " : "");
    TR_CHECK_STR(tr_admin_route_allow(ep), want);
    (*(int *)ud)++;
}

static void test_routes(void)
{
    int n = 0;
    TR_CHECK(tr_admin_route_foreach(check_allow, &n) >= 6);
    TR_CHECK(n >= 6);
}

int main(void)
{
    char dir[256], path[300], err[256];
    struct tr_conf conf;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/torii-admin-XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof(path), "%s/torii.db", dir);
    /* The store the settings name, as a node opens it. */
    char text[340];
    snprintf(text, sizeof(text), "sqlite_path = %s\n", path);
    if (tr__conf_parse_buffer(&conf, text, strlen(text), "test", err, sizeof(err)) != 0) {
        fprintf(stderr, "conf: %s\n", err);
        return 1;
    }
    if (tr_store_open(&conf, &env.store, err, sizeof(err)) != 0) {
        fprintf(stderr, "store: %s\n", err);
        return 1;
    }
    env.conf = &conf;
    env.on_change = on_change;

    test_node();
    test_status_counters();
    test_no_database();
    test_walkthrough();
    test_api_errors();
    test_pagination_and_filters();
    test_put();
    test_consumers();
    test_routes();

    json_decref(last);
    tr_store_close(env.store);
    tr_conf_free(&conf);
    char f[320];
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(f, sizeof(f), "%s%s", path, suffixes[i]);
        unlink(f);
    }
    rmdir(dir);
    return TR_CHECK_DONE();
}
