/* SPDX-License-Identifier: MIT */
/* core/yaml.h: kong.yml's scalars typed as Kong's reader types them, anchors and merges,
 * errors with their line, the bounds, and emit -> parse giving back the same value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/err.h"
#include "core/yaml.h"

static json_t *parse(const char *text)
{
    json_t *v = NULL;
    char err[256] = "";
    int rc = tr_yaml_parse(text, strlen(text), &v, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "parse error: %s\n", err);
    return v;
}

static void expect_error(const char *text, const char *want)
{
    json_t *v = NULL;
    char err[256] = "";
    TR_CHECK(tr_yaml_parse(text, strlen(text), &v, err, sizeof(err)) == TR_EINVAL);
    TR_CHECK(v == NULL);
    if (strstr(err, want) == NULL) {
        fprintf(stderr, "error '%s' lacks '%s'\n", err, want);
        TR_CHECK(0);
    }
}

static void expect_json(const char *yaml, const char *json)
{
    json_t *got = parse(yaml);
    json_t *want = json_loads(json, JSON_DECODE_ANY, NULL);
    TR_CHECK(got != NULL && want != NULL && json_equal(got, want));
    if (got && want && !json_equal(got, want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
        fprintf(stderr, "got %s\nwant %s\n", g, json);
        free(g);
    }
    json_decref(got);
    json_decref(want);
}

static void test_scalars(void)
{
    expect_json("a: 1\nb: -2\nc: 0x1f\nd: 1.5\ne: 2e3\nf: true\ng: no\nh: ON\ni: ~\nj:\n"
                "k: null\nl: '8000'\nm: \"true\"\nn: !!str 12\no: hello world\np: .inf\n"
                "q: 1.2.3\nr: 0o17\n",
                "{\"a\":1,\"b\":-2,\"c\":31,\"d\":1.5,\"e\":2000.0,\"f\":true,\"g\":false,"
                "\"h\":true,\"i\":null,\"j\":null,\"k\":null,\"l\":\"8000\",\"m\":\"true\","
                "\"n\":\"12\",\"o\":\"hello world\",\"p\":\".inf\",\"q\":\"1.2.3\",\"r\":15}");
    /* keys are text whatever they look like */
    expect_json("1: a\ntrue: b\n", "{\"1\":\"a\",\"true\":\"b\"}");
    expect_json("", "null");
    expect_json("{\"a\": [1, 2]}", "{\"a\":[1,2]}");
    expect_json("{a: [x, 'y']}", "{\"a\":[\"x\",\"y\"]}"); /* flow YAML, not JSON */
    expect_json("cert: |\n  line1\n  line2\n", "{\"cert\":\"line1\\nline2\\n\"}");
}

static void test_anchors(void)
{
    expect_json("base: &b {retries: 3, port: 80}\nsvc:\n  <<: *b\n  port: 8080\nlist: [*b]\n",
                "{\"base\":{\"retries\":3,\"port\":80},\"svc\":{\"retries\":3,\"port\":8080},"
                "\"list\":[{\"retries\":3,\"port\":80}]}");
    expect_error("a: *nowhere\n", "unknown anchor 'nowhere'");
    /* a billion laughs stops at the node bound */
    char bomb[2048] = "a: &a [x,x,x,x,x,x,x,x,x,x]\n";
    for (char c = 'b'; c <= 'j'; c++) {
        char line[128];
        snprintf(line, sizeof(line), "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", c, c,
                 c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1);
        strcat(bomb, line);
    }
    expect_error(bomb, "too many values");
}

static void test_errors(void)
{
    expect_error("a: 1\nb: [1, 2\n", "line 3");
    expect_error("a: 1\na: 2\n", "line 2, column 4: duplicate key 'a'");
    expect_error("? [1]\n: x\n", "a mapping key must be a scalar");
    expect_error("a: 1\n---\nb: 2\n", "more than one document");
    expect_error("{\"a\": 1, \"a\": 2}", "duplicate object key");
    expect_error("{\"a\": [1, }", "line 1");
    /* deep nesting: refused with the bound, never a stack overflow */
    size_t n = 20000;
    char *deep = malloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    json_t *v = NULL;
    char err[256];
    TR_CHECK(tr_yaml_parse(deep, 2 * n, &v, err, sizeof(err)) == TR_EINVAL && v == NULL);
    for (size_t i = 0; i < n; i++)
        deep[2 * i] = '-', deep[2 * i + 1] = ' ';
    memcpy(deep + 2 * n - 1, "x", 2);
    TR_CHECK(tr_yaml_parse(deep, strlen(deep), &v, err, sizeof(err)) == TR_EINVAL);
    TR_CHECK(strstr(err, "nested deeper than") != NULL);
    free(deep);
}

static void test_round_trip(void)
{
    const char *json = "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"port\":8080,"
                       "\"retries\":5,\"enabled\":true,\"ratio\":0.25,\"big\":1e300,"
                       "\"tags\":[\"true\",\"8000\",\"\",\"a: b\",\"- x\",\"#c\",\"null\"],"
                       "\"cert\":\"-----BEGIN-----\\nabc\\n-----END-----\\n\","
                       "\"empty\":{},\"none\":[],\"nil\":null,\"utf8\":\"\\u00e9\\u6f22\"}]}";
    json_t *in = json_loads(json, 0, NULL);
    char *text = tr_yaml_emit(in);
    TR_CHECK(text != NULL);
    json_t *back = text ? parse(text) : NULL;
    TR_CHECK(back != NULL && json_equal(in, back));
    if (back && !json_equal(in, back))
        fprintf(stderr, "emitted:\n%s", text);
    TR_CHECK(text && strstr(text, "cert: |") != NULL);
    free(text);
    json_decref(in);
    json_decref(back);
}

static void test_lines(void)
{
    const char *text = "_format_version: \"3.0\"\nservices:\n- name: a\n  host: x\n"
                       "- name: b\n  routes:\n  - paths: [/p]\n";
    json_t *v = NULL;
    struct tr_yaml_lines *lines = NULL;
    char err[128];
    TR_CHECK(tr_yaml_parse_lines(text, strlen(text), &v, &lines, err, sizeof(err)) == 0);
    json_t *svcs = json_object_get(v, "services");
    TR_CHECK(tr_yaml_line_of(lines, v) == 1);
    TR_CHECK(tr_yaml_line_of(lines, json_array_get(svcs, 0)) == 3);
    TR_CHECK(tr_yaml_line_of(lines, json_array_get(svcs, 1)) == 5);
    json_t *route = json_array_get(json_object_get(json_array_get(svcs, 1), "routes"), 0);
    TR_CHECK(tr_yaml_line_of(lines, route) == 7);
    TR_CHECK(tr_yaml_line_of(lines, svcs) == 0); /* sequences are not marked */
    TR_CHECK(tr_yaml_line_of(NULL, v) == 0);
    tr_yaml_lines_free(lines);
    json_decref(v);
}

int main(void)
{
    test_lines();
    test_scalars();
    test_anchors();
    test_errors();
    test_round_trip();
    return TR_CHECK_DONE();
}
