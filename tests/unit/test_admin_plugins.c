/* SPDX-License-Identifier: MIT */
/* The plugin and credential endpoints through tr_admin_handle on a real temporary SQLite
 * store, with test plugins added to the registry: CRUD at every path, config validation,
 * no-consumer plugins, 409s, the plugins setting, hidden fields, before_store, cascades. */
#include "admin/admin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/uuid.h"
#include "plugins/plugin.h"
#include "plugins/registry.h"
#include "schema/schema.h"
#include "store/store.h"

#define FORM "application/x-www-form-urlencoded"
#define JSON "application/json"

/* ---- test plugins ------------------------------------------------------------------------ */

static const struct tr_schema_field auth_conf_fields[] = {
    {.name = "key_names", .type = TR_SCHEMA_ARRAY, .dflt = "[\"apikey\"]"},
    {.name = "hide_credentials", .type = TR_SCHEMA_BOOLEAN, .dflt = "false"},
};
static const struct tr_schema auth_conf = {
    .name = "test-auth", .fields = auth_conf_fields, .cnt = 2};

static json_t *gen_key(const json_t *rec)
{
    char id[TR_UUID_LEN + 1];
    tr_uuid_v4(id);
    return json_string(id);
}

static const struct tr_schema_field key_fields[] = {
    {.name = "key", .type = TR_SCHEMA_STRING, .flags = TR_SCHEMA_UNIQUE, .gen = gen_key},
};
static const struct tr_schema key_schema = {
    .name = "keyauth_credentials", .fields = key_fields, .cnt = 1};

static const struct tr_schema_field basic_fields[] = {
    {.name = "username", .type = TR_SCHEMA_STRING, .flags = TR_SCHEMA_REQUIRED},
    {.name = "password", .type = TR_SCHEMA_STRING, .flags = TR_SCHEMA_REQUIRED},
};
static const struct tr_schema basic_schema = {
    .name = "basicauth_credentials", .fields = basic_fields, .cnt = 2};

static int before_calls;

/* "Hash" by prefixing, so a double hash would show. */
static int hash_password(json_t *doc, char *err, size_t err_len)
{
    before_calls++;
    const char *pw = json_string_value(json_object_get(doc, "password"));
    if (pw == NULL)
        return 0;
    if (strcmp(pw, "reject") == 0) {
        snprintf(err, err_len, "password refused");
        return -1;
    }
    json_object_set_new(doc, "password", json_sprintf("hashed:%s", pw));
    return 0;
}

static const char *const basic_hidden[] = {"password", NULL};

static const struct tr_schema_field acl_fields[] = {
    {.name = "group", .type = TR_SCHEMA_STRING, .flags = TR_SCHEMA_REQUIRED},
};
static const struct tr_schema acl_schema = {.name = "acls", .fields = acl_fields, .cnt = 1};

static const struct tr_plugin_credential auth_creds[] = {
    {.entity = "keyauth_credentials",
     .path = "test-key",
     .alias = "testkey",
     .schema = &key_schema,
     .lookup_field = "key"},
    {.entity = "basicauth_credentials",
     .path = "test-basic",
     .schema = &basic_schema,
     .lookup_field = "username",
     .before_store = hash_password,
     .hidden_fields = basic_hidden},
};

static const struct tr_plugin test_auth = {
    .name = "test-auth",
    .priority = 1000,
    .flags = TR_PLUGIN_NO_CONSUMER,
    .schema = &auth_conf,
    .credentials = auth_creds,
    .num_credentials = 2,
};

static const struct tr_plugin_credential acl_creds[] = {
    {.entity = "acls", .path = "test-acls", .schema = &acl_schema},
};

static const struct tr_plugin test_acl = {
    .name = "test-acl",
    .priority = 950,
    .flags = TR_PLUGIN_NO_CONSUMER,
    .credentials = acl_creds,
    .num_credentials = 1,
};

static const struct tr_schema_field rate_fields[] = {
    {.name = "minute",
     .type = TR_SCHEMA_INTEGER,
     .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_BOUNDED,
     .min = 1,
     .max = 1000},
    {.name = "policy", .type = TR_SCHEMA_STRING, .dflt = "\"local\""},
};
static const struct tr_schema rate_conf = {.name = "test-rate", .fields = rate_fields, .cnt = 2};

static const struct tr_plugin test_rate = {
    .name = "test-rate",
    .priority = 900,
    .schema = &rate_conf,
};

static const struct tr_schema_field secret_fields[] = {
    {.name = "secret", .type = TR_SCHEMA_STRING, .flags = TR_SCHEMA_REQUIRED},
    {.name = "flag", .type = TR_SCHEMA_BOOLEAN, .dflt = "false"},
};
static const struct tr_schema secret_conf = {
    .name = "test-secret", .fields = secret_fields, .cnt = 2};
static const char *const secret_hidden[] = {"secret", NULL};

static const struct tr_plugin test_secret = {
    .name = "test-secret",
    .priority = 800,
    .schema = &secret_conf,
    .hidden_config = secret_hidden,
};

/* ---- harness ----------------------------------------------------------------------------- */

static struct tr_admin_env env;
static int changes;
static json_t *last;

static void on_change(void *ud, const char *entity, const char *id, json_t *doc)
{
    if (entity != NULL && id != NULL)
        changes++;
}

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
    return res.status;
}

static int callf(const char *method, const char *ctype, const char *body, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int callf(const char *method, const char *ctype, const char *body, const char *fmt, ...)
{
    char target[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(target, sizeof(target), fmt, ap);
    va_end(ap);
    return call(method, target, ctype, body);
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

static bool has_name(const json_t *arr, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return true;
    }
    return false;
}

static char api_id[64], rate_id[64], auth_id[64], bob_id[64], alice_id[64];

static void copy_id(char *dst)
{
    snprintf(dst, 64, "%s", sget(last, "id"));
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_enabled_and_schema(void)
{
    TR_CHECK_INT(call("GET", "/plugins/enabled", "", ""), 200);
    json_t *names = json_object_get(last, "enabled_plugins");
    TR_CHECK(has_name(names, "test-auth"));
    TR_CHECK(has_name(names, "test-rate"));
    TR_CHECK(has_name(names, "test-acl"));

    TR_CHECK_INT(call("GET", "/", "", ""), 200);
    json_t *avail = json_object_get(json_object_get(last, "plugins"), "available_on_server");
    TR_CHECK(has_name(avail, "test-auth"));

    TR_CHECK_INT(call("GET", "/plugins/schema/test-rate", "", ""), 200);
    json_t *minute = json_object_get(json_object_get(last, "fields"), "minute");
    TR_CHECK_STR(sget(minute, "type"), "integer");
    TR_CHECK(json_is_true(json_object_get(minute, "required")));
    TR_CHECK(json_is_false(json_object_get(last, "no_consumer")));
    TR_CHECK_INT(call("GET", "/plugins/schema/test-auth/", "", ""), 200);
    TR_CHECK(json_is_true(json_object_get(last, "no_consumer")));
    TR_CHECK(json_is_array(
        json_object_get(json_object_get(json_object_get(last, "fields"), "key_names"), "default")));
    TR_CHECK_INT(call("GET", "/plugins/schema/nope", "", ""), 404);
    TR_CHECK_STR(sget(last, "message"), "No plugin named 'nope'");
    TR_CHECK_INT(call("POST", "/plugins/enabled", FORM, ""), 405);
}

static void test_api_plugins(void)
{
    TR_CHECK_INT(call("POST", "/apis", FORM,
                      "name=go-api&request_path=/go&upstream_url=http://127.0.0.1:5000"),
                 201);
    copy_id(api_id);

    /* The walkthrough's call: api_id from the path, defaults filled. */
    int before = changes;
    TR_CHECK_INT(call("POST", "/apis/go-api/plugins", FORM, "name=test-auth"), 201);
    TR_CHECK(changes == before + 1);
    copy_id(auth_id);
    TR_CHECK_STR(sget(last, "api_id"), api_id);
    TR_CHECK_STR(sget(last, "name"), "test-auth");
    TR_CHECK(json_is_true(json_object_get(last, "enabled")));
    TR_CHECK(iget(last, "created_at") > 1000000000000LL);
    TR_CHECK(json_object_get(last, "consumer_id") == NULL);
    json_t *config = json_object_get(last, "config");
    TR_CHECK_STR(json_string_value(json_array_get(json_object_get(config, "key_names"), 0)),
                 "apikey");
    TR_CHECK(json_is_false(json_object_get(config, "hide_credentials")));

    /* Duplicate (name, api, no consumer). */
    TR_CHECK_INT(call("POST", "/apis/go-api/plugins/", FORM, "name=test-auth"), 409);
    TR_CHECK_STR(sget(last, "message"), "Plugin configuration already exists");
    TR_CHECK_INT(callf("POST", JSON, "{\"name\":\"test-auth\"}", "/apis/%s/plugins", api_id), 409);

    /* Unknown plugin, bad config, unknown config field, no-consumer plugin, missing name. */
    TR_CHECK_INT(call("POST", "/apis/go-api/plugins", FORM, "name=nope"), 400);
    TR_CHECK_STR(sget(last, "config"), "Plugin \"nope\" not found");
    TR_CHECK_INT(call("POST", "/apis/go-api/plugins", FORM, "name=test-rate&config.minute=abc"),
                 400);
    TR_CHECK_STR(sget(last, "config.minute"), "minute is not a number");
    TR_CHECK_INT(call("POST", "/apis/go-api/plugins", FORM, "name=test-rate&config.minute=5000"),
                 400);
    TR_CHECK(json_is_string(json_object_get(last, "config.minute")));
    TR_CHECK_INT(call("POST", "/apis/go-api/plugins", FORM, "name=test-rate"), 400);
    TR_CHECK_STR(sget(last, "config.minute"), "minute is required");
    TR_CHECK_INT(
        call("POST", "/apis/go-api/plugins", FORM, "name=test-rate&config.minute=5&config.x=1"),
        400);
    TR_CHECK_STR(sget(last, "config.x"), "x is an unknown field");
    TR_CHECK_INT(call("POST", "/apis/go-api/plugins", FORM, "config.minute=5"), 400);
    TR_CHECK_STR(sget(last, "name"), "name is required");
    TR_CHECK_INT(call("POST", "/consumers", FORM, "username=bob"), 201);
    copy_id(bob_id);
    char body[256];
    snprintf(body, sizeof(body), "name=test-auth&consumer_id=%s", bob_id);
    TR_CHECK_INT(call("POST", "/plugins", FORM, body), 400);
    TR_CHECK_STR(sget(last, "message"), "No consumer can be configured for that plugin");
    TR_CHECK_INT(call("POST", "/apis/nope/plugins", FORM, "name=test-rate&config.minute=5"), 404);
    TR_CHECK_INT(call("GET", "/apis/nope/plugins", "", ""), 404);

    /* A second plugin on the api; the api's list. */
    TR_CHECK_INT(call("POST", "/apis/go-api/plugins", JSON,
                      "{\"name\":\"test-rate\",\"config\":{\"minute\":20}}"),
                 201);
    copy_id(rate_id);
    TR_CHECK_INT(iget(json_object_get(last, "config"), "minute"), 20);
    TR_CHECK_STR(sget(json_object_get(last, "config"), "policy"), "local");
    TR_CHECK_INT(call("GET", "/apis/go-api/plugins", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 2);
    TR_CHECK_INT(call("GET", "/apis/go-api/plugins?name=test-rate", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 1);

    /* One plugin through the api path. */
    TR_CHECK_INT(callf("GET", "", "", "/apis/go-api/plugins/%s", rate_id), 200);
    TR_CHECK_STR(sget(last, "name"), "test-rate");
    TR_CHECK_INT(callf("PATCH", FORM, "config.policy=cluster", "/apis/go-api/plugins/%s", rate_id),
                 200);
    /* PATCH merges config: minute stays. */
    TR_CHECK_INT(iget(json_object_get(last, "config"), "minute"), 20);
    TR_CHECK_STR(sget(json_object_get(last, "config"), "policy"), "cluster");
    TR_CHECK_STR(sget(last, "api_id"), api_id);
}

static void test_global_and_consumer_plugins(void)
{
    char body[256];
    /* Global (no api_id) and consumer-scoped instances of test-rate. */
    TR_CHECK_INT(call("POST", "/plugins", FORM, "name=test-rate&config.minute=5"), 201);
    char global_id[64];
    copy_id(global_id);
    TR_CHECK(json_object_get(last, "api_id") == NULL);
    TR_CHECK_INT(call("POST", "/plugins", FORM, "name=test-rate&config.minute=6"), 409);
    TR_CHECK_STR(sget(last, "message"), "Plugin configuration already exists");
    snprintf(body, sizeof(body), "name=test-rate&config.minute=7&consumer_id=%s", bob_id);
    TR_CHECK_INT(call("POST", "/plugins", FORM, body), 201);
    char consumer_plugin[64];
    copy_id(consumer_plugin);
    TR_CHECK_STR(sget(last, "consumer_id"), bob_id);
    snprintf(body, sizeof(body), "name=test-rate&config.minute=7&consumer_id=%s&api_id=%s", bob_id,
             api_id);
    TR_CHECK_INT(call("POST", "/plugins", FORM, body), 201);
    TR_CHECK_INT(call("POST", "/plugins", FORM, body), 409);

    /* Missing parents name the field. */
    TR_CHECK_INT(call("POST", "/plugins", FORM,
                      "name=test-rate&config.minute=7&api_id=00000000-0000-4000-8000-000000000000"),
                 400);
    TR_CHECK(json_is_string(json_object_get(last, "api_id")));
    TR_CHECK_INT(call("POST", "/plugins", FORM,
                      "name=test-rate&config.minute=7&"
                      "consumer_id=00000000-0000-4000-8000-000000000000"),
                 400);
    TR_CHECK(json_is_string(json_object_get(last, "consumer_id")));

    /* Filters. */
    TR_CHECK_INT(call("GET", "/plugins?name=test-rate", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 4);
    TR_CHECK_INT(callf("GET", "", "", "/plugins?consumer_id=%s", bob_id), 200);
    TR_CHECK_INT(iget(last, "total"), 2);
    TR_CHECK_INT(callf("GET", "", "", "/plugins?api_id=%s&name=test-auth", api_id), 200);
    TR_CHECK_INT(iget(last, "total"), 1);
    TR_CHECK_INT(call("GET", "/plugins?bogus=1", "", ""), 400);
    TR_CHECK_STR(sget(last, "bogus"), "bogus is an unknown field");

    /* The global plugin is not the api's. */
    TR_CHECK_INT(callf("GET", "", "", "/apis/go-api/plugins/%s", global_id), 404);
    TR_CHECK_INT(callf("DELETE", "", "", "/apis/go-api/plugins/%s", global_id), 404);

    /* enabled=false, name immutable, PATCH by id. */
    TR_CHECK_INT(callf("PATCH", FORM, "enabled=false", "/plugins/%s", global_id), 200);
    TR_CHECK(json_is_false(json_object_get(last, "enabled")));
    TR_CHECK_INT(call("GET", "/plugins?enabled=false", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 1);
    TR_CHECK_INT(callf("PATCH", FORM, "name=test-auth", "/plugins/%s", global_id), 400);
    TR_CHECK_STR(sget(last, "name"), "name cannot be updated");
    TR_CHECK_INT(callf("PATCH", FORM, "config.minute=0", "/plugins/%s", global_id), 400);
    TR_CHECK(json_is_string(json_object_get(last, "config.minute")));
    TR_CHECK_INT(call("GET", "/plugins/not-a-uuid", "", ""), 404);
    TR_CHECK_INT(call("GET", "/plugins/00000000-0000-4000-8000-000000000000", "", ""), 404);

    /* PUT: insert without id (Fix B), replace with id. */
    TR_CHECK_INT(call("POST", "/apis", FORM,
                      "name=for_host&upstream_url=http://127.0.0.1:5000&request_host=localhost"),
                 201);
    TR_CHECK_INT(call("PUT", "/apis/for_host/plugins", FORM, "name=test-rate&config.minute=3"),
                 201);
    char put_id[64];
    copy_id(put_id);
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"name\":\"test-rate\",\"config\":{\"minute\":4}}",
             put_id);
    TR_CHECK_INT(call("PUT", "/apis/for_host/plugins", JSON, body), 200);
    TR_CHECK_INT(iget(json_object_get(last, "config"), "minute"), 4);
    TR_CHECK_STR(sget(last, "id"), put_id);
    /* PUT replaces every field: without api_id it would be a second global test-rate. */
    TR_CHECK_INT(call("PUT", "/plugins", JSON, body), 409);
    TR_CHECK_STR(sget(last, "message"), "Plugin configuration already exists");

    /* DELETE /plugins/{id} (walkthrough step 6). */
    TR_CHECK_INT(callf("DELETE", "", "", "/plugins/%s", put_id), 204);
    TR_CHECK(last == NULL);
    TR_CHECK_INT(callf("GET", "", "", "/plugins/%s", put_id), 404);
    TR_CHECK_INT(callf("DELETE", "", "", "/plugins/%s", put_id), 404);
    TR_CHECK_INT(callf("GET", "", "", "/plugins/%s", consumer_plugin), 200);
}

/* hidden_config: stored and kept across a PATCH, never in an answer. */
static void test_hidden_config(void)
{
    char id[64];
    TR_CHECK_INT(call("POST", "/apis/go-api/plugins", FORM, "name=test-secret&config.secret=s3"),
                 201);
    copy_id(id);
    json_t *config = json_object_get(last, "config");
    TR_CHECK(json_is_object(config) && json_object_get(config, "secret") == NULL);
    TR_CHECK(json_is_false(json_object_get(config, "flag")));
    TR_CHECK_INT(callf("GET", "", "", "/plugins/%s", id), 200);
    TR_CHECK(json_object_get(json_object_get(last, "config"), "secret") == NULL);
    TR_CHECK_INT(callf("GET", "", "", "/apis/go-api/plugins/%s", id), 200);
    TR_CHECK(json_object_get(json_object_get(last, "config"), "secret") == NULL);
    TR_CHECK_INT(call("GET", "/plugins?name=test-secret", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 1);
    json_t *row = json_array_get(json_object_get(last, "data"), 0);
    TR_CHECK(json_object_get(json_object_get(row, "config"), "secret") == NULL);
    TR_CHECK_INT(call("GET", "/apis/go-api/plugins", "", ""), 200);
    char *text = json_dumps(last, 0);
    TR_CHECK(text != NULL && strstr(text, "s3") == NULL);
    free(text);
    TR_CHECK_INT(callf("PATCH", FORM, "config.flag=true", "/plugins/%s", id), 200);
    TR_CHECK(json_object_get(json_object_get(last, "config"), "secret") == NULL);
    TR_CHECK(json_is_true(json_object_get(json_object_get(last, "config"), "flag")));
    /* The store still has it. */
    json_t *doc = NULL;
    TR_CHECK_INT(tr_store_get(env.store, "plugins", "id", id, &doc), 0);
    TR_CHECK_STR(sget(json_object_get(doc, "config"), "secret"), "s3");
    json_decref(doc);
    TR_CHECK_INT(callf("DELETE", "", "", "/plugins/%s", id), 204);
}

static void test_plugins_setting(void)
{
    char why[256];
    TR_CHECK_INT(tr_plugin_check_list("bundled", why, sizeof(why)), 0);
    TR_CHECK_INT(tr_plugin_check_list("off", why, sizeof(why)), 0);
    TR_CHECK_INT(tr_plugin_check_list(" test-auth , bundled,", why, sizeof(why)), 0);
    TR_CHECK_INT(tr_plugin_check_list("test-auth,nope", why, sizeof(why)), TR_EINVAL);
    TR_CHECK(strstr(why, "'nope'") != NULL);
    TR_CHECK_INT(tr_plugin_check_list("", why, sizeof(why)), TR_EINVAL);
    TR_CHECK_INT(tr_plugin_set_enabled("nope", why, sizeof(why)), TR_EINVAL);

    TR_CHECK_INT(tr_plugin_set_enabled("test-auth", why, sizeof(why)), 0);
    size_t auth_index, rate_index;
    TR_CHECK(tr_plugin_find("test-auth", &auth_index) != NULL);
    TR_CHECK(tr_plugin_find("test-rate", &rate_index) != NULL);
    TR_CHECK(tr_plugin_enabled(auth_index));
    TR_CHECK(!tr_plugin_enabled(rate_index));
    TR_CHECK(!tr_plugin_enabled(1000));
    TR_CHECK_INT(call("GET", "/plugins/enabled", "", ""), 200);
    TR_CHECK_INT(json_array_size(json_object_get(last, "enabled_plugins")), 1);
    TR_CHECK_INT(call("POST", "/apis/for_host/plugins", FORM, "name=test-rate&config.minute=3"),
                 400);
    TR_CHECK(strstr(sget(last, "name"), "not enabled") != NULL);
    TR_CHECK_INT(call("GET", "/plugins/schema/test-rate", "", ""), 404);
    TR_CHECK_INT(call("GET", "/consumers/bob/test-acls", "", ""), 404); /* acl not loaded */
    TR_CHECK_INT(call("GET", "/consumers/bob/test-key", "", ""), 200);
    /* An existing instance of a plugin not loaded can still be switched off. */
    TR_CHECK_INT(callf("PATCH", FORM, "enabled=false", "/plugins/%s", rate_id), 200);
    TR_CHECK_INT(callf("PATCH", FORM, "enabled=true", "/plugins/%s", rate_id), 200);

    TR_CHECK_INT(tr_plugin_set_enabled("off", why, sizeof(why)), 0);
    TR_CHECK(!tr_plugin_enabled(auth_index));
    TR_CHECK_INT(call("GET", "/plugins/enabled", "", ""), 200);
    TR_CHECK_INT(json_array_size(json_object_get(last, "enabled_plugins")), 0);
    TR_CHECK_INT(tr_plugin_set_enabled("bundled", why, sizeof(why)), 0);
    TR_CHECK(tr_plugin_enabled(rate_index));
}

static void test_credentials(void)
{
    char body[256];
    TR_CHECK_INT(call("POST", "/consumers", FORM, "username=alice"), 201);
    copy_id(alice_id);

    /* key: generated when absent, consumer_id from the path. */
    TR_CHECK_INT(call("POST", "/consumers/bob/test-key", FORM, ""), 201);
    TR_CHECK_STR(sget(last, "consumer_id"), bob_id);
    TR_CHECK(strlen(sget(last, "key")) == TR_UUID_LEN);
    TR_CHECK(iget(last, "created_at") > 0);
    TR_CHECK_INT(callf("POST", FORM, "key=k1", "/consumers/%s/test-key", bob_id), 201);
    char k1[64];
    copy_id(k1);
    TR_CHECK_STR(sget(last, "key"), "k1");
    TR_CHECK_INT(call("POST", "/consumers/alice/testkey", FORM, "key=k1"), 409);
    TR_CHECK_STR(sget(last, "key"), "key already exists with value 'k1'");
    TR_CHECK_INT(call("POST", "/consumers/alice/test-key", FORM, "key=k9&bogus=1"), 400);
    TR_CHECK_STR(sget(last, "bogus"), "bogus is an unknown field");
    /* consumer_id in the body cannot point elsewhere: the path wins. */
    snprintf(body, sizeof(body), "key=k8&consumer_id=%s", bob_id);
    TR_CHECK_INT(call("POST", "/consumers/alice/test-key", FORM, body), 201);
    TR_CHECK_STR(sget(last, "consumer_id"), alice_id);

    /* PUT with the id of another consumer's credential does not move it. */
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"key\":\"k7\"}", k1);
    TR_CHECK_INT(call("PUT", "/consumers/alice/test-key", JSON, body), 400);
    TR_CHECK_STR(sget(last, "consumer_id"), "consumer_id cannot be updated");
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"key\":\"k1\"}", k1);
    TR_CHECK_INT(call("PUT", "/consumers/bob/test-key", JSON, body), 200);
    TR_CHECK_STR(sget(last, "key"), "k1");

    /* Lists under the path and the alias. */
    TR_CHECK_INT(call("GET", "/consumers/bob/test-key", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 2);
    TR_CHECK_INT(call("GET", "/consumers/bob/testkey/?key=k1", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 1);
    TR_CHECK_INT(call("GET", "/consumers/alice/test-key", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 1);

    /* One credential: only under its own consumer. */
    TR_CHECK_INT(callf("GET", "", "", "/consumers/bob/test-key/%s", k1), 200);
    TR_CHECK_STR(sget(last, "key"), "k1");
    TR_CHECK_INT(callf("GET", "", "", "/consumers/alice/test-key/%s", k1), 404);
    TR_CHECK_INT(callf("PATCH", FORM, "key=k2", "/consumers/alice/test-key/%s", k1), 404);
    TR_CHECK_INT(callf("PATCH", FORM, "key=k2", "/consumers/bob/testkey/%s", k1), 200);
    TR_CHECK_STR(sget(last, "key"), "k2");
    TR_CHECK_STR(sget(last, "consumer_id"), bob_id);
    TR_CHECK_INT(callf("DELETE", "", "", "/consumers/alice/test-key/%s", k1), 404);
    TR_CHECK_INT(callf("DELETE", "", "", "/consumers/bob/test-key/%s", k1), 204);
    TR_CHECK_INT(callf("GET", "", "", "/consumers/bob/test-key/%s", k1), 404);

    /* Unknown consumer, unknown kind. */
    TR_CHECK_INT(call("GET", "/consumers/nobody/test-key", "", ""), 404);
    TR_CHECK_INT(call("POST", "/consumers/nobody/test-key", FORM, ""), 404);
    TR_CHECK_INT(call("GET", "/consumers/bob/no-such-kind", "", ""), 404);
    TR_CHECK_INT(call("GET", "/consumers/bob/keyauth_credentials", "", ""), 404);

    /* basic: password hashed by before_store, never returned. */
    before_calls = 0;
    TR_CHECK_INT(call("POST", "/consumers/bob/test-basic", FORM, "username=u1&password=secret"),
                 201);
    TR_CHECK_INT(before_calls, 1);
    char b1[64];
    copy_id(b1);
    TR_CHECK(json_object_get(last, "password") == NULL);
    TR_CHECK_STR(sget(last, "username"), "u1");
    json_t *row = NULL;
    TR_CHECK_INT(tr_store_get(env.store, "basicauth_credentials", "id", b1, &row), 0);
    TR_CHECK_STR(sget(row, "password"), "hashed:secret");
    json_decref(row);
    TR_CHECK_INT(call("GET", "/consumers/bob/test-basic", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 1);
    TR_CHECK(json_object_get(json_array_get(json_object_get(last, "data"), 0), "password") == NULL);
    TR_CHECK_INT(callf("GET", "", "", "/consumers/bob/test-basic/%s", b1), 200);
    TR_CHECK(json_object_get(last, "password") == NULL);
    TR_CHECK_INT(call("GET", "/consumers/bob/test-basic?password=hashed:secret", "", ""), 400);
    /* A PATCH without a password keeps the stored hash as is. */
    TR_CHECK_INT(callf("PATCH", FORM, "username=u2", "/consumers/bob/test-basic/%s", b1), 200);
    TR_CHECK(json_object_get(last, "password") == NULL);
    TR_CHECK_STR(sget(last, "username"), "u2");
    TR_CHECK_INT(tr_store_get(env.store, "basicauth_credentials", "id", b1, &row), 0);
    TR_CHECK_STR(sget(row, "password"), "hashed:secret");
    json_decref(row);
    TR_CHECK_INT(callf("PATCH", FORM, "password=new", "/consumers/bob/test-basic/%s", b1), 200);
    TR_CHECK_INT(tr_store_get(env.store, "basicauth_credentials", "id", b1, &row), 0);
    TR_CHECK_STR(sget(row, "password"), "hashed:new");
    json_decref(row);
    TR_CHECK_INT(call("POST", "/consumers/alice/test-basic", FORM, "username=u2&password=x"), 409);
    TR_CHECK_STR(sget(last, "username"), "username already exists with value 'u2'");
    char *dump = json_dumps(last, 0);
    TR_CHECK(dump != NULL && strstr(dump, "hashed") == NULL);
    free(dump);
    TR_CHECK_INT(call("POST", "/consumers/alice/test-basic", FORM, "username=u3"), 400);
    TR_CHECK_STR(sget(last, "password"), "password is required");
    TR_CHECK_INT(call("POST", "/consumers/alice/test-basic", FORM, "username=u3&password=reject"),
                 400);
    TR_CHECK_STR(sget(last, "message"), "password refused");
    /* PUT with an id replaces; the answer hides the password too. */
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"username\":\"u4\",\"password\":\"p4\"}", b1);
    TR_CHECK_INT(call("PUT", "/consumers/bob/test-basic", JSON, body), 200);
    TR_CHECK(json_object_get(last, "password") == NULL);
    TR_CHECK_STR(sget(last, "username"), "u4");

    /* acls: group unique per consumer. */
    TR_CHECK_INT(call("POST", "/consumers/bob/test-acls", FORM, "group=admins"), 201);
    TR_CHECK_INT(call("POST", "/consumers/bob/test-acls", FORM, "group=admins"), 409);
    TR_CHECK_STR(sget(last, "group"), "group already exists with value 'admins'");
    TR_CHECK_INT(call("POST", "/consumers/alice/test-acls", FORM, "group=admins"), 201);
    TR_CHECK_INT(call("POST", "/consumers/bob/test-acls", FORM, ""), 400);
    TR_CHECK_STR(sget(last, "group"), "group is required");
    TR_CHECK_INT(call("GET", "/consumers/bob/test-acls", "", ""), 200);
    TR_CHECK_INT(iget(last, "total"), 1);
}

static void test_cascades(void)
{
    size_t keys = count_rows("keyauth_credentials"), acls = count_rows("acls");
    size_t plugins = count_rows("plugins");
    TR_CHECK_INT(keys, 2);
    TR_CHECK_INT(acls, 2);
    TR_CHECK_INT(count_rows("basicauth_credentials"), 1);
    /* bob: 1 key, 1 basic, 1 acl, 2 consumer-scoped plugins. */
    TR_CHECK_INT(call("DELETE", "/consumers/bob", "", ""), 204);
    TR_CHECK_INT(count_rows("keyauth_credentials"), keys - 1);
    TR_CHECK_INT(count_rows("acls"), acls - 1);
    TR_CHECK_INT(count_rows("basicauth_credentials"), 0);
    TR_CHECK_INT(count_rows("plugins"), plugins - 2);
    /* go-api: test-auth and test-rate. */
    TR_CHECK_INT(call("DELETE", "/apis/go-api", "", ""), 204);
    TR_CHECK_INT(count_rows("plugins"), plugins - 4);
    TR_CHECK_INT(callf("GET", "", "", "/plugins/%s", auth_id), 404);
    TR_CHECK_INT(call("GET", "/status", "", ""), 200);
    json_t *db = json_object_get(last, "database");
    TR_CHECK_INT(iget(db, "acls"), 1);
    TR_CHECK_INT(iget(db, "keyauth_credentials"), 1);
}

int main(void)
{
    char dir[256], path[300], err[256];
    struct tr_conf conf;
    const char *tmp = getenv("TMPDIR");
    TR_CHECK_INT(tr__plugin_add(&test_rate), 0);
    TR_CHECK_INT(tr__plugin_add(&test_auth), 0);
    TR_CHECK_INT(tr__plugin_add(&test_acl), 0);
    TR_CHECK_INT(tr__plugin_add(&test_acl), TR_ECONFLICT);
    TR_CHECK_INT(tr__plugin_add(&test_secret), 0);
    snprintf(dir, sizeof(dir), "%s/torii-admin-plugins-XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
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

    test_enabled_and_schema();
    test_api_plugins();
    test_global_and_consumer_plugins();
    test_hidden_config();
    test_plugins_setting();
    test_credentials();
    test_cascades();

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
