/* SPDX-License-Identifier: MIT */
/* Bound rows (tr_schema_parse_into and _new, tr_schema_free_bound and _struct): every kind,
 * defaults from the row, absent optional fields as NULL / 0, values of the wrong type and empty
 * strings as unset, nested records, and every bundled plugin's table on a small valid config. */
#include "schema/schema.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/mem.h"
#include "plugins/plugin.h"
#include "plugins/registry.h"

enum color { RED, GREEN, BLUE };
static const char *const colors[] = {"red", "green", "blue", NULL};

struct inner {
    char *label;
    int64_t weight;
};

struct sample {
    char *name;
    char *nick; /* no default */
    char *site; /* URL */
    char *ref;  /* UUID */
    bool on;
    bool off;
    int port;
    int64_t big;
    int64_t stamp;
    double ratio;
    double unset_ratio;
    char **tags;
    size_t num_tags;
    char **extra; /* no default */
    size_t num_extra;
    enum color color;
    enum color shade; /* no default */
    struct inner inner;
    int derived; /* not bound */
};

#define BIND(m) TR_SCHEMA_BIND(struct sample, m)

static const struct tr_schema_field inner_fields[] = {
    {.name = "label",
     .type = TR_SCHEMA_STRING,
     .dflt = "\"in\"",
     TR_SCHEMA_BIND(struct inner, label)},
    {.name = "weight", .type = TR_SCHEMA_INTEGER, TR_SCHEMA_BIND(struct inner, weight)},
};
static const struct tr_schema inner_schema = {
    .name = "inner", .fields = inner_fields, .cnt = TR_ARRAY_SIZE(inner_fields)};

static const struct tr_schema_field sample_fields[] = {
    {.name = "name", .type = TR_SCHEMA_STRING, .dflt = "\"anon\"", BIND(name)},
    {.name = "nick", .type = TR_SCHEMA_STRING, BIND(nick)},
    {.name = "site", .type = TR_SCHEMA_URL, BIND(site)},
    {.name = "ref", .type = TR_SCHEMA_UUID, BIND(ref)},
    {.name = "on", .type = TR_SCHEMA_BOOLEAN, .dflt = "true", BIND(on)},
    {.name = "off", .type = TR_SCHEMA_BOOLEAN, BIND(off)},
    {.name = "port", .type = TR_SCHEMA_INTEGER, .dflt = "8000", BIND(port)},
    {.name = "big", .type = TR_SCHEMA_INTEGER, .dflt = "5000000000", BIND(big)},
    {.name = "stamp", .type = TR_SCHEMA_TIMESTAMP, BIND(stamp)},
    {.name = "ratio", .type = TR_SCHEMA_NUMBER, .dflt = "0.5", BIND(ratio)},
    {.name = "unset_ratio", .type = TR_SCHEMA_NUMBER, BIND(unset_ratio)},
    {.name = "tags",
     .type = TR_SCHEMA_ARRAY,
     .dflt = "[\"a\",\"b\"]",
     TR_SCHEMA_BIND_LIST(struct sample, tags, num_tags)},
    {.name = "extra",
     .type = TR_SCHEMA_ARRAY,
     TR_SCHEMA_BIND_LIST(struct sample, extra, num_extra)},
    {.name = "color",
     .type = TR_SCHEMA_STRING,
     .dflt = "\"green\"",
     .one_of = colors,
     TR_SCHEMA_BIND_INDEX(struct sample, color)},
    {.name = "shade",
     .type = TR_SCHEMA_STRING,
     .one_of = colors,
     TR_SCHEMA_BIND_INDEX(struct sample, shade)},
    {.name = "inner", .type = TR_SCHEMA_RECORD, .record = &inner_schema, BIND(inner)},
    {.name = "derived", .type = TR_SCHEMA_INTEGER, .dflt = "7"},
};
static const struct tr_schema sample_schema = {
    .name = "sample", .fields = sample_fields, .cnt = TR_ARRAY_SIZE(sample_fields)};

static json_t *J(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    if (v == NULL)
        fprintf(stderr, "bad test JSON: %s\n", text);
    return v;
}

/* Validate text as an insert, then bind the result into *out. */
static void parse_validated(const char *text, struct sample *out)
{
    json_t *in = J(text), *doc = NULL, *errs = NULL;
    TR_CHECK_INT(tr_schema_validate(&sample_schema, TR_SCHEMA_INSERT, in, NULL, &doc, &errs), 0);
    memset(out, 0, sizeof(*out));
    tr_schema_parse_into(&sample_schema, doc, out);
    json_decref(in);
    json_decref(doc);
    json_decref(errs);
}

static void test_defaults(void)
{
    struct sample s;
    parse_validated("{}", &s);
    TR_CHECK_STR(s.name, "anon");
    TR_CHECK(s.nick == NULL && s.site == NULL && s.ref == NULL);
    TR_CHECK(s.on && !s.off);
    TR_CHECK_INT(s.port, 8000);
    TR_CHECK_INT(s.big, 5000000000LL);
    TR_CHECK_INT(s.stamp, 0);
    TR_CHECK(s.ratio == 0.5 && s.unset_ratio == 0);
    TR_CHECK_INT(s.num_tags, 2);
    TR_CHECK_STR(s.tags[0], "a");
    TR_CHECK_STR(s.tags[1], "b");
    TR_CHECK(s.extra == NULL && s.num_extra == 0);
    TR_CHECK_INT(s.color, GREEN);
    TR_CHECK_INT(s.shade, RED);
    TR_CHECK_STR(s.inner.label, "in");
    TR_CHECK_INT(s.inner.weight, 0);
    TR_CHECK_INT(s.derived, 0);
    tr_schema_free_bound(&sample_schema, &s);
    TR_CHECK(s.name == NULL && s.tags == NULL && s.num_tags == 0 && s.inner.label == NULL);
}

static void test_values(void)
{
    struct sample s;
    parse_validated(
        "{\"name\":\"n\",\"nick\":\"k\",\"site\":\"http://example.com/x\","
        "\"ref\":\"6D4B0A3E-1F6B-4C3B-9F0E-3D2C1B0A9F8E\",\"on\":false,\"off\":\"true\","
        "\"port\":\"81\",\"big\":-9000000000,\"stamp\":1700000000000,\"ratio\":2.25,"
        "\"unset_ratio\":3,\"tags\":\"x, y ,z\",\"extra\":[],\"color\":\"blue\","
        "\"shade\":\"green\",\"inner\":{\"label\":\"L\",\"weight\":3}}",
        &s);
    TR_CHECK_STR(s.name, "n");
    TR_CHECK_STR(s.nick, "k");
    TR_CHECK_STR(s.site, "http://example.com/x");
    TR_CHECK_STR(s.ref, "6d4b0a3e-1f6b-4c3b-9f0e-3d2c1b0a9f8e");
    TR_CHECK(!s.on && s.off);
    TR_CHECK_INT(s.port, 81);
    TR_CHECK_INT(s.big, -9000000000LL);
    TR_CHECK_INT(s.stamp, 1700000000000LL);
    TR_CHECK(s.ratio == 2.25 && s.unset_ratio == 3);
    TR_CHECK_INT(s.num_tags, 3);
    TR_CHECK_STR(s.tags[2], "z");
    /* present but empty: an array with no items, not NULL */
    TR_CHECK(s.extra != NULL && s.num_extra == 0);
    TR_CHECK_INT(s.color, BLUE);
    TR_CHECK_INT(s.shade, GREEN);
    TR_CHECK_STR(s.inner.label, "L");
    TR_CHECK_INT(s.inner.weight, 3);
    tr_schema_free_bound(&sample_schema, &s);
    TR_CHECK(s.extra == NULL && s.nick == NULL && s.site == NULL && s.ref == NULL);
}

/* A record that never went through validation (an old stored row): wrong types and empty
 * strings read as unset, so the row's default applies; unknown enum values too. */
static void test_unvalidated(void)
{
    struct sample s = {0};
    json_t *raw = J("{\"name\":\"\",\"nick\":7,\"on\":\"yes\",\"port\":99999999999,"
                    "\"big\":12.0,\"ratio\":\"x\",\"tags\":[\"p\",1,\"q\"],\"extra\":\"e\","
                    "\"color\":\"purple\",\"inner\":[]}");
    tr_schema_parse_into(&sample_schema, raw, &s);
    TR_CHECK_STR(s.name, "anon");
    TR_CHECK(s.nick == NULL);
    TR_CHECK(s.on);
    TR_CHECK_INT(s.port, INT32_MAX); /* clamped into an int */
    TR_CHECK_INT(s.big, 12);
    TR_CHECK(s.ratio == 0.5);
    TR_CHECK_INT(s.num_tags, 2);
    TR_CHECK_STR(s.tags[1], "q");
    TR_CHECK(s.extra == NULL);
    TR_CHECK_INT(s.color, GREEN);
    TR_CHECK_STR(s.inner.label, "in");
    tr_schema_free_bound(&sample_schema, &s);
    json_decref(raw);

    /* no record at all: every default */
    memset(&s, 0, sizeof(s));
    tr_schema_parse_into(&sample_schema, NULL, &s);
    TR_CHECK_STR(s.name, "anon");
    TR_CHECK_INT(s.num_tags, 2);
    tr_schema_free_bound(&sample_schema, &s);
    tr_schema_free_bound(&sample_schema, NULL);

    /* the allocating pair a plugin's conf_parse and conf_free use */
    struct sample *n = tr_schema_parse_new(&sample_schema, NULL, sizeof(*n));
    TR_CHECK_STR(n->name, "anon");
    TR_CHECK_INT(n->derived, 0);
    tr_schema_free_struct(&sample_schema, n);
    tr_schema_free_struct(&sample_schema, NULL);
}

/* Each bundled plugin parses and frees a small valid config of its own (its defaults, plus what
 * a few require): a bound row whose member has the wrong size would abort here. */
static const char *minimal_config(const char *plugin)
{
    static const char *const configs[][2] = {
        {"acl", "{\"allow\":[\"gold\"]}"},
        {"file-log", "{\"path\":\"/tmp/torii-file-log-test.log\"}"},
        {"http-log", "{\"http_endpoint\":\"http://u:p@127.0.0.1:9/log?x=1\"}"},
        {"tcp-log", "{\"host\":\"127.0.0.1\",\"port\":9}"},
        {"udp-log", "{\"host\":\"log.example\",\"port\":9}"},
        {"ip-restriction", "{\"deny\":[\"10.0.0.0/8\"]}"},
        {"rate-limiting", "{\"minute\":5}"},
        {"opentelemetry", "{\"traces_endpoint\":\"http://127.0.0.1:9/v1/traces\","
                          "\"resource_attributes\":{\"service.name\":\"edge\"},"
                          "\"propagation\":{\"extract\":[\"b3\"],\"inject\":[\"preserve\"],"
                          "\"clear\":[\"x-b3-sampled\"]}}"},
    };
    for (size_t i = 0; i < TR_ARRAY_SIZE(configs); i++) {
        if (strcmp(configs[i][0], plugin) == 0)
            return configs[i][1];
    }
    return "{}";
}

static void test_plugins(void)
{
    size_t parsed = 0;
    for (size_t i = 0; i < tr_plugin_count(); i++) {
        const struct tr_plugin *p = tr_plugin_at(i);
        json_t *in = J(minimal_config(p->name)), *doc = NULL, *errs = NULL;
        if (tr_schema_validate(p->schema, TR_SCHEMA_INSERT, in, NULL, &doc, &errs) == 0) {
            char err[256] = "";
            void *conf = p->conf_parse(doc, err, sizeof(err));
            TR_CHECK(conf != NULL);
            p->conf_free(conf);
            parsed++;
        }
        json_decref(in);
        json_decref(doc);
        json_decref(errs);
    }
    /* all but ssl, which needs a certificate */
    TR_CHECK_INT(parsed, tr_plugin_count() - 1);
}

int main(void)
{
    test_defaults();
    test_values();
    test_unvalidated();
    test_plugins();
    return TR_CHECK_DONE();
}
