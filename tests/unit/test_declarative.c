/* SPDX-License-Identifier: MIT */
/* admin/declarative.h's error shapes, byte for byte as Kong renders them: the message's
 * Penlight-style dump (sorted keys, list holes as [n]=, quoting), the CLI's indented text and
 * the flattened items; and the text checks (bounds, "expected an object"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/declarative.h"
#include "admin/declarative_internal.h"
#include "check.h"
#include "core/err.h"

static void expect_message(const char *fields_json, const char *want)
{
    json_t *fields = json_loads(fields_json, 0, NULL);
    TR_CHECK(fields != NULL);
    json_t *body = tr_declarative_error_body(fields, NULL);
    const char *got = json_string_value(json_object_get(body, "message"));
    if (got == NULL || strcmp(got, want) != 0) {
        fprintf(stderr, "got  %s\nwant %s\n", got ? got : "(null)", want);
        TR_CHECK(0);
    }
    TR_CHECK(json_integer_value(json_object_get(body, "code")) == 14);
    TR_CHECK(strcmp(json_string_value(json_object_get(body, "name")),
                    "invalid declarative configuration") == 0);
    TR_CHECK(json_equal(json_object_get(body, "fields"), fields));
    json_decref(body);
    json_decref(fields);
}

static void test_messages(void)
{
    /* 15-off_spec.lua's cases */
    expect_message("{\"error\":\"failed parsing declarative configuration: expected an object\"}",
                   "declarative config is invalid: {error=\"failed parsing declarative "
                   "configuration: expected an object\"}");
    expect_message("{\"services\":[{\"host\":\"required field missing\",\"port\":\"value should "
                   "be between 0 and 65535\"}]}",
                   "declarative config is invalid: {services={{host=\"required field "
                   "missing\",port=\"value should be between 0 and 65535\"}}}");
    expect_message("{\"services\":[null,\"uniqueness violation: 'services' entity with name set "
                   "to 'foo' already declared\"]}",
                   "declarative config is invalid: {services={[2]=\"uniqueness violation: "
                   "'services' entity with name set to 'foo' already declared\"}}");
    expect_message("{\"services\":[null,{\"routes\":[{\"paths\":[null,\"bad\"]}]}]}",
                   "declarative config is invalid: {services={[2]={routes={{paths={[2]=\"bad\"}}}"
                   "}}}");
    /* keys that are not Lua identifiers, quotes and a line break */
    expect_message("{\"@entity\":[\"a \\\"q\\\"\"],\"my-route\":[\"x\"],\"end\":\"kw\"}",
                   "declarative config is invalid: {[\"@entity\"]={\"a \\\"q\\\"\"},"
                   "[\"end\"]=\"kw\",[\"my-route\"]={\"x\"}}");
    expect_message("{\"a\":\"two\\nlines\"}", "declarative config is invalid: {a=[[two\nlines]]}");
}

static void test_text(void)
{
    json_t *fields = json_loads("{\"services\":[null,{\"host\":\"expected a string\","
                                "\"routes\":\"expected an array\"}]}",
                                0, NULL);
    char *text = tr_declarative_error_text(fields, NULL, NULL);
    TR_CHECK(strcmp(text, "in 'services':\n  - in entry 2 of 'services':\n"
                          "    in 'host': expected a string\n"
                          "    in 'routes': expected an array") == 0);
    free(text);
    json_decref(fields);
}

static void test_flattened(void)
{
    json_t *input = json_loads("{\"name\":\"r\",\"id\":\"481a9539-f49c-51b6-b2e2-fe99ee68866c\","
                               "\"tags\":[\"a\",\"b\"],\"paths\":[\"/ok\",\"bad\"]}",
                               0, NULL);
    json_t *errs =
        json_loads("{\"paths\":[null,\"should start with: /\"],\"@entity\":[\"no\"]}", 0, NULL);
    json_t *item = tr__decl_flat_item("route", input, "481a9539-f49c-51b6-b2e2-fe99ee68866c", errs);
    json_t *want = json_loads(
        "{\"entity_type\":\"route\",\"entity_name\":\"r\","
        "\"entity_id\":\"481a9539-f49c-51b6-b2e2-fe99ee68866c\",\"entity_tags\":[\"a\",\"b\"],"
        "\"errors\":[{\"type\":\"field\",\"field\":\"paths.2\",\"message\":\"should start with: "
        "/\"},"
        "{\"type\":\"entity\",\"message\":\"no\"}]}",
        0, NULL);
    json_object_set(want, "entity", input);
    /* errors may come in either order: compare as sets */
    json_t *got_errors = json_object_get(item, "errors");
    TR_CHECK(json_array_size(got_errors) == 2);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(want, "errors"), i, e)
    {
        bool found = false;
        size_t j;
        json_t *g;
        json_array_foreach(got_errors, j, g)
        {
            found = found || json_equal(e, g);
        }
        TR_CHECK(found);
    }
    json_object_del(want, "errors");
    json_object_del(item, "errors");
    TR_CHECK(json_equal(want, item));
    json_decref(item);
    json_decref(want);
    json_decref(errs);
    /* invalid entity_* are left out (15-off_spec: "omits top-level entity_* fields ...") */
    json_t *odd = json_loads("{\"id\":1234,\"name\":false,\"tags\":[\"x\",[1.5]]}", 0, NULL);
    json_t *e2 = json_pack("{s:[s]}", "@entity", "bad");
    item = tr__decl_flat_item("service", odd, NULL, e2);
    TR_CHECK(json_object_get(item, "entity_id") == NULL);
    TR_CHECK(json_object_get(item, "entity_name") == NULL);
    TR_CHECK(json_object_get(item, "entity_tags") == NULL);
    TR_CHECK(json_equal(json_object_get(item, "entity"), odd));
    json_decref(item);
    json_decref(e2);
    json_decref(odd);
    json_decref(input);
}

static void test_parse_text(void)
{
    json_t *doc = NULL;
    char err[256];
    TR_CHECK(tr_declarative_parse_text("bobby tables", 12, &doc, err, sizeof(err)) == TR_EINVAL);
    TR_CHECK(strcmp(err, "failed parsing declarative configuration: expected an object") == 0);
    TR_CHECK(tr_declarative_parse_text("[1]", 3, &doc, err, sizeof(err)) == TR_EINVAL);
    TR_CHECK(tr_declarative_parse_text("a: 1", TR_DECLARATIVE_MAX_BYTES + 1, &doc, err,
                                       sizeof(err)) == TR_EINVAL);
    TR_CHECK(strstr(err, "larger than") != NULL && doc == NULL);
    TR_CHECK(tr_declarative_parse_text("a: 1\n", 5, &doc, err, sizeof(err)) == 0);
    json_decref(doc);
    char hash[33];
    tr_declarative_hash_text("", 0, hash);
    TR_CHECK(strcmp(hash, "d41d8cd98f00b204e9800998ecf8427e") == 0); /* md5 of nothing */
}

int main(void)
{
    test_messages();
    test_text();
    test_flattened();
    test_parse_text();
    return TR_CHECK_DONE();
}
