/* SPDX-License-Identifier: MIT */
/* The key-auth, basic-auth and acl descriptors: registration and priorities, config schemas
 * (defaults, checks, the acl list rule), conf_parse, and the credential kinds (generated keys). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/err.h"
#include "plugins/plugin.h"
#include "plugins/registry.h"
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

static void test_registry(void)
{
    size_t ik, ib, ia;
    const struct tr_plugin *k = tr_plugin_find("key-auth", &ik);
    const struct tr_plugin *b = tr_plugin_find("basic-auth", &ib);
    const struct tr_plugin *a = tr_plugin_find("acl", &ia);
    TR_CHECK(k && b && a);
    if (!k || !b || !a)
        return;
    TR_CHECK_INT(k->priority, 1003);
    TR_CHECK_INT(b->priority, 1100);
    TR_CHECK_INT(a->priority, 950);
    /* execution order: basic-auth, key-auth, then acl */
    TR_CHECK(ib < ik && ik < ia);
    TR_CHECK(k->flags & TR_PLUGIN_NO_CONSUMER);
    TR_CHECK(b->flags & TR_PLUGIN_NO_CONSUMER);
    TR_CHECK(a->flags & TR_PLUGIN_NO_CONSUMER);
    TR_CHECK(tr_plugin_find_credential("keyauth_credentials") == &k->credentials[0]);
    TR_CHECK(tr_plugin_find_credential("key-auth") == &k->credentials[0]);
    TR_CHECK(tr_plugin_find_credential("keyauth") == &k->credentials[0]);
    TR_CHECK(tr_plugin_find_credential("acls") == &a->credentials[0]);
    TR_CHECK_STR(k->credentials[0].lookup_field, "key");
    TR_CHECK_STR(b->credentials[0].lookup_field, "username");
    TR_CHECK(a->credentials[0].lookup_field == NULL);
}

static void test_key_auth_config(void)
{
    const struct tr_plugin *k = tr_plugin_find("key-auth", NULL);
    json_t *doc = NULL;
    json_t *errs = validate(k, "{}", &doc);
    TR_CHECK(errs == NULL);
    json_t *want = J("{\"key_names\":[\"apikey\"],\"hide_credentials\":false,"
                     "\"key_in_header\":true,\"key_in_query\":true,\"key_in_body\":false,"
                     "\"run_on_preflight\":true}");
    TR_CHECK(json_equal(doc, want));
    json_decref(want);

    char err[128] = "";
    void *conf = k->conf_parse(doc, err, sizeof(err));
    TR_CHECK(conf != NULL);
    k->conf_free(conf);
    json_decref(doc);

    /* a comma-separated string is an array (form input) */
    errs = validate(k, "{\"key_names\":\"apikey,x-api_key\",\"anonymous\":\"anon\"}", &doc);
    TR_CHECK(errs == NULL);
    TR_CHECK_INT(json_array_size(json_object_get(doc, "key_names")), 2);
    conf = k->conf_parse(doc, err, sizeof(err));
    TR_CHECK(conf != NULL);
    k->conf_free(conf);
    json_decref(doc);

    errs = validate(k, "{\"key_names\":[\"api key\"]}", NULL);
    TR_CHECK(errs != NULL);
    TR_CHECK_STR(err_of(errs, "key_names"),
                 "bad header name 'api key', allowed characters are A-Z, a-z, 0-9, '_', and '-'");
    json_decref(errs);
    errs = validate(k, "{\"key_names\":[\"a:b\"]}", NULL);
    TR_CHECK(err_of(errs, "key_names") != NULL);
    json_decref(errs);
    errs = validate(k, "{\"key_names\":[]}", NULL);
    TR_CHECK_STR(err_of(errs, "key_names"), "at least one key name is required");
    json_decref(errs);
    errs = validate(k, "{\"hide_credentials\":\"maybe\"}", NULL);
    TR_CHECK(err_of(errs, "hide_credentials") != NULL);
    json_decref(errs);
    errs = validate(k, "{\"nope\":1}", NULL);
    TR_CHECK(err_of(errs, "nope") != NULL);
    json_decref(errs);

    /* conf_parse refuses what the schema refuses, even if it reached the store */
    json_t *bad = J("{\"key_names\":[\"a b\"]}");
    TR_CHECK(k->conf_parse(bad, err, sizeof(err)) == NULL);
    json_decref(bad);
}

static void test_key_credential(void)
{
    const struct tr_plugin_credential *kind = tr_plugin_find_credential("key-auth");
    json_t *in = J("{\"consumer_id\":\"6d4b0a3e-1f6b-4c3b-9f0e-3d2c1b0a9f8e\"}");
    json_t *a = NULL, *b = NULL, *errs = NULL;
    TR_CHECK_INT(tr_schema_validate(kind->schema, TR_SCHEMA_INSERT, in, NULL, &a, &errs), 0);
    TR_CHECK_INT(tr_schema_validate(kind->schema, TR_SCHEMA_INSERT, in, NULL, &b, &errs), 0);
    const char *ka = json_string_value(json_object_get(a, "key"));
    const char *kb = json_string_value(json_object_get(b, "key"));
    TR_CHECK(ka && kb && strlen(ka) == 32 && strspn(ka, "0123456789abcdef") == 32);
    TR_CHECK(ka && kb && strcmp(ka, kb) != 0);
    TR_CHECK(json_object_get(a, "id") != NULL && json_object_get(a, "created_at") != NULL);
    json_decref(a);
    json_decref(b);
    json_decref(in);

    in = J("{\"consumer_id\":\"6d4b0a3e-1f6b-4c3b-9f0e-3d2c1b0a9f8e\",\"key\":\"my-key\"}");
    TR_CHECK_INT(tr_schema_validate(kind->schema, TR_SCHEMA_INSERT, in, NULL, &a, &errs), 0);
    TR_CHECK_STR(json_string_value(json_object_get(a, "key")), "my-key");
    json_decref(a);
    json_decref(in);
}

static void test_acl_config(void)
{
    const struct tr_plugin *a = tr_plugin_find("acl", NULL);
    const char *ok[] = {"{\"whitelist\":\"gold,silver\"}", "{\"blacklist\":[\"bad\"]}",
                        "{\"allow\":[\"gold\"]}", "{\"deny\":[\"x\"],\"hide_groups_header\":true}"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        json_t *doc = NULL;
        json_t *errs = validate(a, ok[i], &doc);
        TR_CHECK(errs == NULL);
        char err[128] = "";
        void *conf = doc ? a->conf_parse(doc, err, sizeof(err)) : NULL;
        TR_CHECK(conf != NULL);
        if (conf)
            a->conf_free(conf);
        json_decref(doc);
        json_decref(errs);
    }
    const char *bad[] = {"{}", "{\"allow\":[]}", "{\"allow\":[\"a\"],\"deny\":[\"b\"]}",
                         "{\"whitelist\":[\"a\"],\"allow\":[\"a\"]}",
                         "{\"whitelist\":[\"a\"],\"blacklist\":[\"b\"]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *errs = validate(a, bad[i], NULL);
        TR_CHECK_STR(err_of(errs, "message"),
                     "exactly one of 'allow', 'deny', 'whitelist' or 'blacklist' must be set");
        json_decref(errs);
        json_t *raw = J(bad[i]);
        char err[128] = "";
        TR_CHECK(a->conf_parse(raw, err, sizeof(err)) == NULL);
        TR_CHECK(err[0] != '\0');
        json_decref(raw);
    }

    const struct tr_plugin_credential *kind = tr_plugin_find_credential("acls");
    json_t *in = J("{\"consumer_id\":\"6d4b0a3e-1f6b-4c3b-9f0e-3d2c1b0a9f8e\"}");
    json_t *doc = NULL, *errs = NULL;
    TR_CHECK_INT(tr_schema_validate(kind->schema, TR_SCHEMA_INSERT, in, NULL, &doc, &errs),
                 TR_EINVAL);
    TR_CHECK_STR(err_of(errs, "group"), "group is required");
    json_decref(errs);
    json_decref(in);
}

static void test_basic_auth_config(void)
{
    const struct tr_plugin *b = tr_plugin_find("basic-auth", NULL);
    json_t *doc = NULL;
    json_t *errs = validate(b, "{\"hide_credentials\":true,\"anonymous\":\"anon\"}", &doc);
    TR_CHECK(errs == NULL);
    char err[128] = "";
    void *conf = b->conf_parse(doc, err, sizeof(err));
    TR_CHECK(conf != NULL);
    b->conf_free(conf);
    json_decref(doc);

    const struct tr_plugin_credential *kind = tr_plugin_find_credential("basic-auth");
    json_t *in = J("{\"consumer_id\":\"6d4b0a3e-1f6b-4c3b-9f0e-3d2c1b0a9f8e\"}");
    errs = NULL;
    TR_CHECK_INT(tr_schema_validate(kind->schema, TR_SCHEMA_INSERT, in, NULL, &doc, &errs),
                 TR_EINVAL);
    TR_CHECK_STR(err_of(errs, "username"), "username is required");
    /* The password is optional, as in Kong 0.7 (none: the empty password). */
    TR_CHECK(err_of(errs, "password") == NULL);
    json_decref(errs);
    json_decref(in);
}

int main(void)
{
    test_registry();
    test_key_auth_config();
    test_key_credential();
    test_acl_config();
    test_basic_auth_config();
    return TR_CHECK_DONE();
}
