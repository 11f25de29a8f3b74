/* SPDX-License-Identifier: MIT */
/* The schema validator: coercion, every error message, modes (insert, update, replace),
 * nested records, and the /apis and consumers tables with Kong 0.7's rules. */
#include "schema/schema.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/err.h"
#include "core/uuid.h"
#include "schema/entities.h"

/* ---- helpers ---- */

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (v == NULL)
        fprintf(stderr, "bad test JSON: %s (%s)\n", text, e.text);
    return v;
}

/* Validate input (JSON text) and return the error object (new) or NULL on success; the
 * result entity goes to *out when out is not NULL. */
static json_t *errs_of(const struct tr_schema *s, enum tr_schema_mode mode, const char *input,
                       const json_t *existing, json_t **out)
{
    json_t *in = J(input), *doc = NULL, *errors = NULL;
    int rc = tr_schema_validate(s, mode, in, existing, &doc, &errors);
    json_decref(in);
    if (rc == 0) {
        if (out != NULL)
            *out = doc;
        else
            json_decref(doc);
        return NULL;
    }
    if (rc != TR_EINVAL)
        fprintf(stderr, "unexpected rc %d\n", rc);
    return errors;
}

/* The message recorded for key, or "" (copied into a static buffer; errors freed). */
static const char *err_for(json_t *errors, const char *key)
{
    static char buf[512];
    const char *m = json_string_value(json_object_get(errors, key));
    snprintf(buf, sizeof(buf), "%s", m ? m : "");
    return buf;
}

/* Do the errors of an insert of input equal the JSON object want exactly (NULL: no error)? */
static bool insert_errs_are(const struct tr_schema *s, const char *input, const char *want)
{
    json_t *e = errs_of(s, TR_SCHEMA_INSERT, input, NULL, NULL);
    json_t *w = want ? J(want) : NULL;
    bool same = w ? json_equal(e, w) : e == NULL;
    if (!same) {
        char *d = json_dumps(e, JSON_SORT_KEYS);
        fprintf(stderr, "  errors for %s: %s\n", input, d ? d : "none");
        free(d);
    }
    json_decref(e);
    json_decref(w);
    return same;
}

static const char *insert_err(const struct tr_schema *s, const char *input, const char *key)
{
    json_t *e = errs_of(s, TR_SCHEMA_INSERT, input, NULL, NULL);
    const char *m = err_for(e, key);
    json_decref(e);
    return m;
}

/* ---- a test schema with every type ---- */

static const char *const colors[] = {"red", "green", NULL};

static int self_check(json_t *rec, enum tr_schema_mode mode, char *msg, size_t len)
{
    if (json_is_true(json_object_get(rec, "flag")) && json_object_get(rec, "s") == NULL) {
        snprintf(msg, len, "s is needed when flag is set");
        return -1;
    }
    return 0;
}

static const struct tr_schema_field sub_fields[] = {
    {.name = "minute", .type = TR_SCHEMA_NUMBER},
    {.name = "policy", .type = TR_SCHEMA_STRING, .dflt = "\"cluster\"", .one_of = colors},
    {.name = "need", .type = TR_SCHEMA_STRING, .flags = TR_SCHEMA_REQUIRED},
};
static const struct tr_schema sub_schema = {.name = "sub", .fields = sub_fields, .cnt = 3};

static const struct tr_schema_field test_fields[] = {
    {.name = "id", .type = TR_SCHEMA_UUID, .flags = TR_SCHEMA_IMMUTABLE, .gen = tr_schema_gen_uuid},
    {.name = "s", .type = TR_SCHEMA_STRING},
    {.name = "flag", .type = TR_SCHEMA_BOOLEAN, .dflt = "false"},
    {.name = "num", .type = TR_SCHEMA_NUMBER},
    {.name = "int", .type = TR_SCHEMA_INTEGER},
    {.name = "small", .type = TR_SCHEMA_INTEGER, .flags = TR_SCHEMA_BOUNDED, .min = 0, .max = 10},
    {.name = "list", .type = TR_SCHEMA_ARRAY},
    {.name = "color", .type = TR_SCHEMA_STRING, .one_of = colors},
    {.name = "url", .type = TR_SCHEMA_URL},
    {.name = "ref", .type = TR_SCHEMA_UUID},
    {.name = "ts", .type = TR_SCHEMA_TIMESTAMP},
    {.name = "config", .type = TR_SCHEMA_RECORD, .record = &sub_schema},
    {.name = "fixed", .type = TR_SCHEMA_STRING, .flags = TR_SCHEMA_IMMUTABLE},
    {.name = "text", .type = TR_SCHEMA_STRING, .flags = TR_SCHEMA_TEXT},
};
static const struct tr_schema test_schema = {
    .name = "test", .fields = test_fields, .cnt = 14, .self_check = self_check};

static void test_coercion(void)
{
    json_t *doc = NULL;
    json_t *e = errs_of(&test_schema, TR_SCHEMA_INSERT,
                        "{\"s\":\"  hi  \",\"flag\":\"TRUE\",\"num\":\" 1.5 \",\"int\":\"42\","
                        "\"small\":\"10\",\"list\":\" a , b,,c \",\"color\":\"red\","
                        "\"url\":\"https://x.test:8443/p?q=1\","
                        "\"ref\":\"AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE\",\"ts\":\"1459366837000\","
                        "\"config\":{\"minute\":\"20\",\"need\":\"x\"},\"fixed\":\"f\"}",
                        NULL, &doc);
    TR_CHECK(e == NULL);
    json_decref(e);
    TR_CHECK(doc != NULL);
    if (doc != NULL) {
        TR_CHECK_STR(json_string_value(json_object_get(doc, "s")), "hi");
        TR_CHECK(json_is_true(json_object_get(doc, "flag")));
        TR_CHECK(json_real_value(json_object_get(doc, "num")) == 1.5);
        TR_CHECK(json_is_integer(json_object_get(doc, "int")));
        TR_CHECK_INT(json_integer_value(json_object_get(doc, "int")), 42);
        TR_CHECK_INT(json_integer_value(json_object_get(doc, "small")), 10);
        json_t *list = json_object_get(doc, "list");
        TR_CHECK_INT(json_array_size(list), 3);
        TR_CHECK_STR(json_string_value(json_array_get(list, 0)), "a");
        TR_CHECK_STR(json_string_value(json_array_get(list, 2)), "c");
        TR_CHECK_STR(json_string_value(json_object_get(doc, "ref")),
                     "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
        TR_CHECK_INT(json_integer_value(json_object_get(doc, "ts")), 1459366837000LL);
        json_t *cfg = json_object_get(doc, "config");
        TR_CHECK_INT(json_integer_value(json_object_get(cfg, "minute")), 20);
        TR_CHECK_STR(json_string_value(json_object_get(cfg, "policy")), "cluster");
        /* Generated id. */
        const char *id = json_string_value(json_object_get(doc, "id"));
        TR_CHECK(id != NULL && tr_uuid_is_valid(tr_str_from_cstr(id)));
        /* Output follows the table order. */
        const char *first = json_object_iter_key(json_object_iter(doc));
        TR_CHECK_STR(first, "id");
    }
    json_decref(doc);

    /* Booleans: only true/false in any case. */
    TR_CHECK_STR(insert_err(&test_schema, "{\"flag\":\"yes\"}", "flag"), "flag is not a boolean");
    TR_CHECK_STR(insert_err(&test_schema, "{\"flag\":\"1\"}", "flag"), "flag is not a boolean");
    TR_CHECK_STR(insert_err(&test_schema, "{\"flag\":1}", "flag"), "flag is not a boolean");
    TR_CHECK_STR(insert_err(&test_schema, "{\"flag\":\"False\"}", "flag"), "");
    /* Numbers: strict. */
    TR_CHECK_STR(insert_err(&test_schema, "{\"num\":\"abc\"}", "num"), "num is not a number");
    TR_CHECK_STR(insert_err(&test_schema, "{\"num\":\"0x10\"}", "num"), "num is not a number");
    TR_CHECK_STR(insert_err(&test_schema, "{\"num\":\"1e999\"}", "num"), "num is not a number");
    TR_CHECK_STR(insert_err(&test_schema, "{\"num\":\"nan\"}", "num"), "num is not a number");
    TR_CHECK_STR(insert_err(&test_schema, "{\"num\":\"12abc\"}", "num"), "num is not a number");
    TR_CHECK_STR(insert_err(&test_schema, "{\"num\":true}", "num"), "num is not a number");
    TR_CHECK_STR(insert_err(&test_schema, "{\"num\":\"-2.5e3\"}", "num"), "");
    TR_CHECK_STR(insert_err(&test_schema, "{\"int\":\"1.5\"}", "int"), "int is not an integer");
    TR_CHECK_STR(insert_err(&test_schema, "{\"int\":\"x\"}", "int"), "int is not a number");
    TR_CHECK_STR(insert_err(&test_schema, "{\"int\":2.0}", "int"), "");
    TR_CHECK_STR(insert_err(&test_schema, "{\"small\":11}", "small"),
                 "must be an integer between 0 and 10");
    TR_CHECK_STR(insert_err(&test_schema, "{\"small\":\"-1\"}", "small"),
                 "must be an integer between 0 and 10");
    TR_CHECK_STR(insert_err(&test_schema, "{\"small\":\"0.5\"}", "small"),
                 "must be an integer between 0 and 10");
    TR_CHECK_STR(insert_err(&test_schema, "{\"ts\":\"soon\"}", "ts"), "ts is not a number");
    /* Strings. */
    TR_CHECK_STR(insert_err(&test_schema, "{\"s\":5}", "s"), "s is not a string");
    TR_CHECK_STR(insert_err(&test_schema, "{\"s\":[\"a\"]}", "s"), "s is not a string");
    /* Arrays. */
    TR_CHECK_STR(insert_err(&test_schema, "{\"list\":5}", "list"), "list is not an array");
    TR_CHECK_STR(insert_err(&test_schema, "{\"list\":[1]}", "list"), "list is not an array");
    json_t *out = NULL;
    json_t *e2 = errs_of(&test_schema, TR_SCHEMA_INSERT,
                         "{\"list\":\"\",\"config\":{\"need\":\"x\"}}", NULL, &out);
    TR_CHECK(e2 == NULL);
    TR_CHECK(json_is_array(json_object_get(out, "list")) &&
             json_array_size(json_object_get(out, "list")) == 0);
    json_decref(out);
    json_decref(e2);
    /* one_of. */
    TR_CHECK_STR(insert_err(&test_schema, "{\"color\":\"blue\"}", "color"),
                 "\"blue\" is not allowed. Allowed values are: \"red\", \"green\"");
    /* url and uuid. */
    TR_CHECK_STR(insert_err(&test_schema, "{\"url\":\"asdasd\"}", "url"), "url is not a url");
    TR_CHECK_STR(insert_err(&test_schema, "{\"url\":\"http://\"}", "url"), "url is not a url");
    TR_CHECK_STR(insert_err(&test_schema, "{\"url\":\"http://a b\"}", "url"), "url is not a url");
    TR_CHECK_STR(insert_err(&test_schema, "{\"url\":\"http://a:99999\"}", "url"),
                 "url is not a url");
    TR_CHECK_STR(insert_err(&test_schema, "{\"url\":\"http://u@a/\"}", "url"), "url is not a url");
    TR_CHECK_STR(insert_err(&test_schema, "{\"url\":\"http://a/#x\"}", "url"), "url is not a url");
    TR_CHECK_STR(insert_err(&test_schema, "{\"url\":\"http://[::1]:80/x\"}", "url"), "");
    TR_CHECK_STR(insert_err(&test_schema, "{\"ref\":\"nope\"}", "ref"), "ref is not a valid uuid");
    /* Records. */
    TR_CHECK_STR(insert_err(&test_schema, "{\"config\":\"x\"}", "config"), "config is not a table");
}

static void test_errors(void)
{
    /* Every error at once; unknown, nested unknown and nested required use config.<f> keys. */
    json_t *e = errs_of(&test_schema, TR_SCHEMA_INSERT,
                        "{\"bogus\":1,\"num\":\"x\",\"flag\":\"maybe\","
                        "\"config\":{\"zzz\":1,\"policy\":\"blue\"}}",
                        NULL, NULL);
    TR_CHECK_STR(err_for(e, "bogus"), "bogus is an unknown field");
    TR_CHECK_STR(err_for(e, "num"), "num is not a number");
    TR_CHECK_STR(err_for(e, "flag"), "flag is not a boolean");
    TR_CHECK_STR(err_for(e, "config.zzz"), "zzz is an unknown field");
    TR_CHECK_STR(err_for(e, "config.need"), "need is required");
    TR_CHECK_STR(err_for(e, "config.policy"),
                 "\"blue\" is not allowed. Allowed values are: \"red\", \"green\"");
    TR_CHECK_INT(json_object_size(e), 6);
    json_decref(e);
    /* An absent record still reports its required fields. */
    TR_CHECK_STR(insert_err(&test_schema, "{}", "config.need"), "need is required");
    /* Self-check comes back as {"message":...}, only when fields are fine. */
    e = errs_of(&test_schema, TR_SCHEMA_INSERT, "{\"flag\":true,\"config\":{\"need\":\"x\"}}", NULL,
                NULL);
    TR_CHECK_STR(err_for(e, "message"), "s is needed when flag is set");
    TR_CHECK_INT(json_object_size(e), 1);
    json_decref(e);
    /* Not an object. */
    json_t *arr = json_array(), *doc = NULL, *errors = NULL;
    TR_CHECK_INT(tr_schema_validate(&test_schema, TR_SCHEMA_INSERT, arr, NULL, &doc, &errors),
                 TR_EINVAL);
    json_decref(errors);
    json_decref(arr);
}

static void test_modes(void)
{
    json_t *existing = J("{\"id\":\"11111111-2222-4333-8444-555555555555\",\"s\":\"old\","
                         "\"flag\":true,\"num\":7,\"config\":{\"minute\":1,\"policy\":\"red\","
                         "\"need\":\"n\"},\"fixed\":\"f\"}");
    json_t *doc = NULL, *e;

    /* UPDATE merges; nested records merge too. */
    e = errs_of(&test_schema, TR_SCHEMA_UPDATE, "{\"num\":\"8\",\"config\":{\"minute\":2}}",
                existing, &doc);
    TR_CHECK(e == NULL);
    json_decref(e);
    TR_CHECK_STR(json_string_value(json_object_get(doc, "s")), "old");
    TR_CHECK(json_is_true(json_object_get(doc, "flag")));
    TR_CHECK_INT(json_integer_value(json_object_get(doc, "num")), 8);
    TR_CHECK_INT(json_integer_value(json_object_get(json_object_get(doc, "config"), "minute")), 2);
    TR_CHECK_STR(json_string_value(json_object_get(json_object_get(doc, "config"), "policy")),
                 "red");
    TR_CHECK_STR(json_string_value(json_object_get(doc, "id")),
                 "11111111-2222-4333-8444-555555555555");
    json_decref(doc);
    doc = NULL;

    /* Immutable: same value fine (even in another case for a uuid), a change refused. */
    e = errs_of(&test_schema, TR_SCHEMA_UPDATE,
                "{\"id\":\"11111111-2222-4333-8444-555555555555\",\"fixed\":\"f\"}", existing,
                NULL);
    TR_CHECK(e == NULL);
    json_decref(e);
    e = errs_of(&test_schema, TR_SCHEMA_UPDATE,
                "{\"id\":\"21111111-2222-4333-8444-555555555555\",\"fixed\":\"g\"}", existing,
                NULL);
    TR_CHECK_STR(err_for(e, "id"), "id cannot be updated");
    TR_CHECK_STR(err_for(e, "fixed"), "fixed cannot be updated");
    json_decref(e);
    e = errs_of(&test_schema, TR_SCHEMA_UPDATE, "{\"fixed\":null}", existing, NULL);
    TR_CHECK_STR(err_for(e, "fixed"), "fixed cannot be updated");
    json_decref(e);

    /* Blank string or null unsets (then defaults apply). */
    e = errs_of(&test_schema, TR_SCHEMA_UPDATE, "{\"s\":\"  \",\"flag\":null}", existing, &doc);
    TR_CHECK(e == NULL);
    json_decref(e);
    TR_CHECK(json_object_get(doc, "s") == NULL);
    TR_CHECK(json_is_false(json_object_get(doc, "flag")));
    json_decref(doc);
    doc = NULL;

    /* REPLACE: unset fields cleared, defaults filled, immutables kept. */
    e = errs_of(&test_schema, TR_SCHEMA_REPLACE, "{\"config\":{\"need\":\"m\"}}", existing, &doc);
    TR_CHECK(e == NULL);
    json_decref(e);
    TR_CHECK(json_object_get(doc, "s") == NULL);
    TR_CHECK(json_object_get(doc, "num") == NULL);
    TR_CHECK(json_is_false(json_object_get(doc, "flag")));
    TR_CHECK_STR(json_string_value(json_object_get(doc, "fixed")), "f");
    TR_CHECK_STR(json_string_value(json_object_get(doc, "id")),
                 "11111111-2222-4333-8444-555555555555");
    TR_CHECK(json_object_get(json_object_get(doc, "config"), "minute") == NULL);
    TR_CHECK_STR(json_string_value(json_object_get(json_object_get(doc, "config"), "policy")),
                 "cluster");
    json_decref(doc);
    e = errs_of(&test_schema, TR_SCHEMA_REPLACE, "{\"fixed\":\"zz\",\"config\":{\"need\":\"m\"}}",
                existing, NULL);
    TR_CHECK_STR(err_for(e, "fixed"), "fixed cannot be updated");
    json_decref(e);
    /* INSERT keeps a given id. */
    doc = NULL;
    e = errs_of(&test_schema, TR_SCHEMA_INSERT,
                "{\"id\":\"31111111-2222-4333-8444-555555555555\",\"config\":{\"need\":\"m\"}}",
                NULL, &doc);
    TR_CHECK(e == NULL);
    TR_CHECK_STR(json_string_value(json_object_get(doc, "id")),
                 "31111111-2222-4333-8444-555555555555");
    json_decref(doc);
    json_decref(e);
    /* Input is never modified. */
    TR_CHECK_STR(json_string_value(json_object_get(existing, "s")), "old");
    json_decref(existing);
}

/* ---- /apis ---- */

static const char *api_err(const char *input, const char *key)
{
    return insert_err(&tr_schema_apis, input, key);
}

static json_t *api_ok(const char *input)
{
    json_t *doc = NULL;
    json_t *e = errs_of(&tr_schema_apis, TR_SCHEMA_INSERT, input, NULL, &doc);
    if (e != NULL) {
        char *d = json_dumps(e, 0);
        fprintf(stderr, "  unexpected errors for %s: %s\n", input, d);
        free(d);
        json_decref(e);
    }
    return doc;
}

static void test_apis(void)
{
    json_t *doc = api_ok("{\"name\":\"go-api\",\"upstream_url\":\"http://127.0.0.1:5000\","
                         "\"request_path\":\"/go\"}");
    TR_CHECK(doc != NULL);
    if (doc != NULL) {
        TR_CHECK_STR(json_string_value(json_object_get(doc, "name")), "go-api");
        TR_CHECK_STR(json_string_value(json_object_get(doc, "request_path")), "/go");
        TR_CHECK(json_is_false(json_object_get(doc, "strip_request_path")));
        TR_CHECK(json_is_false(json_object_get(doc, "preserve_host")));
        TR_CHECK(json_is_false(json_object_get(doc, "https_only")));
        TR_CHECK(json_is_false(json_object_get(doc, "http_if_terminated")));
        TR_CHECK_INT(json_integer_value(json_object_get(doc, "retries")), 5);
        TR_CHECK_INT(json_integer_value(json_object_get(doc, "upstream_connect_timeout")), 60000);
        TR_CHECK_INT(json_integer_value(json_object_get(doc, "upstream_send_timeout")), 60000);
        TR_CHECK_INT(json_integer_value(json_object_get(doc, "upstream_read_timeout")), 60000);
        TR_CHECK(json_object_get(doc, "request_host") == NULL);
        json_int_t ca = json_integer_value(json_object_get(doc, "created_at"));
        TR_CHECK(ca > 1400000000000LL && ca % 1000 == 0);
        TR_CHECK(tr_uuid_is_valid(tr_str_from_cstr(json_string_value(json_object_get(doc, "id")))));
    }
    json_decref(doc);

    /* Name derivation. */
    doc = api_ok("{\"upstream_url\":\"http://a.test\",\"request_host\":\"My.Example.com\"}");
    TR_CHECK_STR(json_string_value(json_object_get(doc, "name")), "my.example.com");
    TR_CHECK_STR(json_string_value(json_object_get(doc, "request_host")), "my.example.com");
    json_decref(doc);
    doc = api_ok("{\"upstream_url\":\"http://a.test\",\"request_path\":\"/api/v1/users/\"}");
    TR_CHECK_STR(json_string_value(json_object_get(doc, "name")), "api-v1-users");
    TR_CHECK_STR(json_string_value(json_object_get(doc, "request_path")), "/api/v1/users");
    json_decref(doc);
    doc = api_ok("{\"upstream_url\":\"http://a.test\",\"request_host\":\"*.example.com\"}");
    TR_CHECK_STR(json_string_value(json_object_get(doc, "name")), "-.example.com");
    json_decref(doc);
    doc = api_ok("{\"upstream_url\":\"http://a.test\",\"request_path\":\"/\"}");
    TR_CHECK_STR(json_string_value(json_object_get(doc, "request_path")), "/");
    TR_CHECK(json_object_get(doc, "name") == NULL);
    json_decref(doc);

    /* upstream_url. */
    TR_CHECK_STR(api_err("{\"request_path\":\"/x\"}", "upstream_url"), "upstream_url is required");
    TR_CHECK_STR(
        api_err("{\"request_path\":\"/x\",\"upstream_url\":\"ftp://a.test\"}", "upstream_url"),
        "Supported protocols are HTTP and HTTPS");
    TR_CHECK_STR(api_err("{\"request_path\":\"/x\",\"upstream_url\":\"asdasd\"}", "upstream_url"),
                 "upstream_url is not a url");
    TR_CHECK_STR(
        api_err("{\"request_path\":\"/x\",\"upstream_url\":\"HTTPS://a.test\"}", "upstream_url"),
        "");

    /* request_host. */
    static const struct {
        const char *host, *msg;
    } hosts[] = {
        {"localhost", ""},
        {"example.com", ""},
        {"my-api.example.com", ""},
        {"*.example.com", ""},
        {"example.*", ""},
        {"127.0.0.1", ""},
        {"under_score.test", ""},
        {"mockbin.123", ""},
        {"hello.abcd", ""},
        {"mockbin.com_org", "Invalid value: mockbin.com_org"},
        {"mockbin.or-g", "Invalid value: mockbin.or-g"},
        {"mockbin.-org", "Invalid value: mockbin.-org"},
        {"my-host", "Invalid value: my-host"},
        {"example.c", "Invalid value: example.c"},
        {"-bad.example.com", "Invalid value: -bad.example.com"},
        {"bad-.example.com", "Invalid value: bad-.example.com"},
        {"a..b.com", "Invalid value: a..b.com"},
        {"example.com.", "Invalid value: example.com."},
        {"exa mple.com", "Invalid value: exa mple.com"},
        {"example.com:8000", "Invalid value: example.com:8000"},
        {"*.*.example.com", "Only one wildcard is allowed: *.*.example.com"},
        {"exa*mple.com", "Invalid wildcard placement: exa*mple.com"},
        {"*example.com", "Invalid wildcard placement: *example.com"},
        {"example.*.com", "Invalid wildcard placement: example.*.com"},
        {"*", "Invalid wildcard placement: *"},
    };
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        char in[256];
        snprintf(in, sizeof(in), "{\"upstream_url\":\"http://a.test\",\"request_host\":\"%s\"}",
                 hosts[i].host);
        const char *got = api_err(in, "request_host");
        if (strcmp(got, hosts[i].msg) != 0)
            fprintf(stderr, "  host %s\n", hosts[i].host);
        TR_CHECK_STR(got, hosts[i].msg);
    }

    /* request_path. */
    static const struct {
        const char *path, *msg;
    } paths[] = {
        {"/go", ""},
        {"/a.b-c_d~e/f", ""},
        {"go", "must be prefixed with slash: 'go'"},
        {"//go", "invalid: '//go'"},
        {"/go//x", "invalid: '/go//x'"},
        {"/go?x", "must only contain alphanumeric and '., -, _, ~, /' characters"},
        {"/g%20o", "must only contain alphanumeric and '., -, _, ~, /' characters"},
        {"/a/../b", "invalid: '/a/../b'"},
        {"/a/.", "invalid: '/a/.'"},
        {"/a/..b", ""},
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char in[256];
        snprintf(in, sizeof(in), "{\"upstream_url\":\"http://a.test\",\"request_path\":\"%s\"}",
                 paths[i].path);
        const char *got = api_err(in, "request_path");
        if (strcmp(got, paths[i].msg) != 0)
            fprintf(stderr, "  path %s\n", paths[i].path);
        TR_CHECK_STR(got, paths[i].msg);
    }

    /* name. */
    TR_CHECK_STR(api_err("{\"upstream_url\":\"http://a.test\",\"request_path\":\"/x\","
                         "\"name\":\"bad name\"}",
                         "name"),
                 "name must only contain alphanumeric and '., -, _, ~' characters");
    /* Neither host nor path: Kong 0.7 names both, beside any other error; a value refused
     * for its type keeps its own message. */
#define NEITHER "\"At least a 'request_host' or a 'request_path' must be specified\""
    TR_CHECK(insert_errs_are(&tr_schema_apis, "{\"upstream_url\":\"http://a.test\"}",
                             "{\"request_host\":" NEITHER ",\"request_path\":" NEITHER "}"));
    TR_CHECK(insert_errs_are(&tr_schema_apis, "{\"request_host\":\" \",\"name\":\"m\"}",
                             "{\"request_host\":" NEITHER ",\"request_path\":" NEITHER
                             ",\"upstream_url\":\"upstream_url is required\"}"));
    TR_CHECK(insert_errs_are(&tr_schema_apis, "{\"request_path\":true,\"name\":\"m\"}",
                             "{\"request_host\":" NEITHER
                             ",\"request_path\":\"request_path is not a string\","
                             "\"upstream_url\":\"upstream_url is required\"}"));
    /* 0.10 fields. */
    TR_CHECK_STR(api_err("{\"upstream_url\":\"http://a.test\",\"request_path\":\"/x\","
                         "\"retries\":\"32768\"}",
                         "retries"),
                 "must be an integer between 0 and 32767");
    TR_CHECK_STR(api_err("{\"upstream_url\":\"http://a.test\",\"request_path\":\"/x\","
                         "\"upstream_read_timeout\":0}",
                         "upstream_read_timeout"),
                 "must be an integer between 1 and 2147483647");
    TR_CHECK_STR(api_err("{\"upstream_url\":\"http://a.test\",\"request_path\":\"/x\","
                         "\"strip_request_path\":\"yes\"}",
                         "strip_request_path"),
                 "strip_request_path is not a boolean");
    TR_CHECK_STR(api_err("{\"upstream_url\":\"http://a.test\",\"request_path\":\"/x\","
                         "\"foo\":\"bar\"}",
                         "foo"),
                 "foo is an unknown field");
    /* created_at is immutable. */
    json_t *existing = api_ok("{\"upstream_url\":\"http://a.test\",\"request_path\":\"/x\"}");
    json_t *e =
        errs_of(&tr_schema_apis, TR_SCHEMA_UPDATE, "{\"created_at\":\"5000\"}", existing, NULL);
    TR_CHECK_STR(err_for(e, "created_at"), "created_at cannot be updated");
    json_decref(e);
    /* Unsetting the path of a path-only api: an update names only the field it sent. */
    e = errs_of(&tr_schema_apis, TR_SCHEMA_UPDATE, "{\"request_path\":\"\"}", existing, NULL);
    json_t *want = J("{\"request_path\":" NEITHER "}");
    TR_CHECK(json_equal(e, want));
    json_decref(want);
    json_decref(e);
#undef NEITHER
    json_decref(existing);
}

static void test_consumers(void)
{
#define NEITHER "\"At least a 'custom_id' or a 'username' must be specified\""
    TR_CHECK(insert_errs_are(&tr_schema_consumers, "{}",
                             "{\"custom_id\":" NEITHER ",\"username\":" NEITHER "}"));
    TR_CHECK(insert_errs_are(&tr_schema_consumers, "{\"username\":\"  \"}",
                             "{\"custom_id\":" NEITHER ",\"username\":" NEITHER "}"));
    TR_CHECK(insert_errs_are(&tr_schema_consumers, "{\"username\":true}",
                             "{\"custom_id\":" NEITHER
                             ",\"username\":\"username is not a string\"}"));
#undef NEITHER
    TR_CHECK(insert_errs_are(&tr_schema_consumers, "{\"custom_id\":\"c1\"}", NULL));
    TR_CHECK_STR(insert_err(&tr_schema_consumers, "{\"username\":\"u\",\"x\":1}", "x"),
                 "x is an unknown field");
}

static void test_describe_and_uuid(void)
{
    json_t *d = tr_schema_describe(&tr_schema_apis);
    json_t *f = json_object_get(json_object_get(d, "fields"), "upstream_url");
    TR_CHECK(json_is_true(json_object_get(f, "required")));
    TR_CHECK_STR(json_string_value(json_object_get(f, "type")), "url");
    json_t *r = json_object_get(json_object_get(d, "fields"), "retries");
    TR_CHECK_INT(json_integer_value(json_object_get(r, "default")), 5);
    json_decref(d);

    char a[TR_UUID_LEN + 1], b[TR_UUID_LEN + 1];
    TR_CHECK_INT(tr_uuid_v4(a), 0);
    TR_CHECK_INT(tr_uuid_v4(b), 0);
    TR_CHECK(strcmp(a, b) != 0);
    TR_CHECK(tr_uuid_is_valid(tr_str_from_cstr(a)));
    TR_CHECK(a[14] == '4');
    TR_CHECK(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
    TR_CHECK(!tr_uuid_is_valid(tr_str_from_cstr("93148ea0-0000-0000-0000-00000000000")));
    TR_CHECK(!tr_uuid_is_valid(tr_str_from_cstr("93148ea0-0000-0000-0000-00000000000g")));
    TR_CHECK(!tr_uuid_is_valid(tr_str_from_cstr("93148ea000000-0000-0000-00000000000")));
    TR_CHECK(tr_uuid_is_valid(tr_str_from_cstr("93148EA0-0000-0000-0000-000000000000")));
    static const uint8_t bytes[16] = {0xde, 0xad, 0xbe, 0xef, 0, 1, 2,  3,
                                      4,    5,    6,    7,    8, 9, 10, 0xff};
    tr_uuid_format(bytes, a);
    TR_CHECK_STR(a, "deadbeef-0001-0203-0405-060708090aff");
}

/* Control bytes never get into a string that may become a header value (the header injection
 * rule); TEXT fields keep line breaks and tabs but no other control byte. */
static void test_control_bytes(void)
{
    static const struct tr_str bad[] = {
        TR_STR_LIT("a\rb"),  TR_STR_LIT("a\nb"),  TR_STR_LIT("a\r\nX"), TR_STR_LIT("a\0b"),
        TR_STR_LIT("a\x01"), TR_STR_LIT("a\x7f"), TR_STR_LIT("a\tb"),   TR_STR_LIT("\x1b[31m")};
    static const char *const fields[] = {"s", "list", "config"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (size_t f = 0; f < 3; f++) {
            json_t *v = json_stringn(bad[i].ptr, bad[i].len);
            json_t *in = json_object();
            if (f == 0)
                json_object_set(in, "s", v);
            else if (f == 1)
                json_object_set_new(in, "list", json_pack("[sO]", "ok", v));
            else
                json_object_set_new(in, "config", json_pack("{s:s,s:O}", "need", "x", "policy", v));
            json_t *doc = NULL, *errors = NULL;
            TR_CHECK_INT(
                tr_schema_validate(&test_schema, TR_SCHEMA_INSERT, in, NULL, &doc, &errors),
                TR_EINVAL);
            const char *key = f == 2 ? "config.policy" : fields[f];
            TR_CHECK(strstr(err_for(errors, key), "control characters") != NULL);
            json_decref(errors);
            json_decref(doc);
            json_decref(in);
            json_decref(v);
        }
    }
    /* Comma lists (Kong 0.7 forms) are checked item by item too. */
    TR_CHECK(strstr(insert_err(&test_schema, "{\"list\":\"a,b\\r\\nc\"}", "list"),
                    "control characters") != NULL);
    /* TEXT: CR, LF and HTAB pass, other controls do not. */
    json_t *doc = NULL;
    TR_CHECK(errs_of(&test_schema, TR_SCHEMA_INSERT,
                     "{\"text\":\"l1\\r\\nl2\\tx\\n\",\"config\":{\"need\":\"x\"}}", NULL,
                     &doc) == NULL);
    TR_CHECK_STR(json_string_value(json_object_get(doc, "text")), "l1\r\nl2\tx\n");
    json_decref(doc);
    TR_CHECK(strstr(insert_err(&test_schema, "{\"text\":\"a\\u0001\"}", "text"),
                    "control characters") != NULL);
    /* Bytes above 0x7f (UTF-8) are not controls. */
    TR_CHECK(errs_of(&test_schema, TR_SCHEMA_INSERT,
                     "{\"s\":\"caf\u00e9\",\"config\":{\"need\":\"x\"}}", NULL, NULL) == NULL);
}

/* Kong 0.x aliases (alias_of) and TR_SCHEMA_NO_CLEAR. */
static const struct tr_schema_field alias_fields[] = {
    {.name = "origin", .type = TR_SCHEMA_STRING, .alias_of = "origins"},
    {.name = "origins", .type = TR_SCHEMA_ARRAY},
    {.name = "tolerant", .type = TR_SCHEMA_BOOLEAN, .dflt = "true"},
    {.name = "on_error", .type = TR_SCHEMA_BOOLEAN, .alias_of = "tolerant"},
    {.name = "key",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_NO_CLEAR,
     .gen = tr_schema_gen_uuid},
};
static const struct tr_schema alias_schema = {.name = "alias", .fields = alias_fields, .cnt = 5};

static void test_aliases(void)
{
    json_t *doc = NULL, *e;
    /* The older name is kept as sent and fills the newer one (a string as a one-item list, a
     * comma inside it kept). */
    e = errs_of(&alias_schema, TR_SCHEMA_INSERT, "{\"origin\":\"a{1,2}\",\"on_error\":\"false\"}",
                NULL, &doc);
    TR_CHECK(e == NULL);
    TR_CHECK_STR(json_string_value(json_object_get(doc, "origin")), "a{1,2}");
    TR_CHECK_INT((int)json_array_size(json_object_get(doc, "origins")), 1);
    TR_CHECK_STR(json_string_value(json_array_get(json_object_get(doc, "origins"), 0)), "a{1,2}");
    TR_CHECK(json_is_false(json_object_get(doc, "on_error")));
    TR_CHECK(json_is_false(json_object_get(doc, "tolerant")));
    /* An update naming only the newer name drops the older one. */
    json_t *upd = NULL;
    e = errs_of(&alias_schema, TR_SCHEMA_UPDATE, "{\"tolerant\":true}", doc, &upd);
    TR_CHECK(e == NULL);
    TR_CHECK(json_object_get(upd, "on_error") == NULL);
    TR_CHECK(json_is_true(json_object_get(upd, "tolerant")));
    TR_CHECK_STR(json_string_value(json_object_get(upd, "origin")), "a{1,2}");
    json_decref(upd);
    /* Both names in one write. */
    e = errs_of(&alias_schema, TR_SCHEMA_INSERT, "{\"on_error\":true,\"tolerant\":true}", NULL,
                NULL);
    TR_CHECK_STR(err_for(e, "on_error"),
                 "on_error is the older name of tolerant: give one of them");
    json_decref(e);
    /* NO_CLEAR: a blank on update is refused; on insert it is absent (generated). */
    e = errs_of(&alias_schema, TR_SCHEMA_UPDATE, "{\"key\":\"\"}", doc, NULL);
    TR_CHECK_STR(err_for(e, "key"), "key is not a string");
    json_decref(e);
    json_decref(doc);
    doc = NULL;
    e = errs_of(&alias_schema, TR_SCHEMA_INSERT, "{\"key\":\" \"}", NULL, &doc);
    TR_CHECK(e == NULL);
    TR_CHECK(json_string_length(json_object_get(doc, "key")) == TR_UUID_LEN);
    json_decref(doc);
}

int main(void)
{
    test_aliases();
    test_coercion();
    test_control_bytes();
    test_errors();
    test_modes();
    test_apis();
    test_consumers();
    test_describe_and_uuid();
    return TR_CHECK_DONE();
}
