/* SPDX-License-Identifier: MIT */
/* Kong 3.x upstreams and targets (schema/kong3_upstreams.c): names, target normalisation,
 * the healthchecks record (defaults, ranges, PATCH merge), the shorthands and entity checks;
 * and the node's health override table (core/health_override.c), from several threads. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "schema3_check.h"
#include "core/err.h"
#include "core/health_override.h"
#include "schema/kong3.h"

/* Validate (upstream or target) input over existing: the fields object as sorted JSON text
 * (malloc'ed), or NULL when valid (then *out, if asked, gets the doc). */
static char *run(bool target, enum tr_schema_mode mode, const char *input, const json_t *existing,
                 json_t **out)
{
    return schema3_errs(target ? tr_schema3_target : tr_schema3_upstream, mode, input, existing,
                        out);
}

#define CHECK_UP(input, expected)                                                                  \
    do {                                                                                           \
        char *got_ = run(false, TR_SCHEMA_INSERT, input, NULL, NULL);                              \
        TR_CHECK_STR(got_ ? got_ : "(valid)", expected);                                           \
        free(got_);                                                                                \
    } while (0)

static void test_names(void)
{
    char msg[256];
    TR_CHECK(tr_schema3_upstream_name_ok("my.upstream", msg, sizeof(msg)));
    TR_CHECK(tr_schema3_upstream_name_ok("a_b-c.", msg, sizeof(msg)));
    TR_CHECK(!tr_schema3_upstream_name_ok("1.2.3.4", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "Invalid name ('1.2.3.4'); no ip addresses allowed");
    TR_CHECK(!tr_schema3_upstream_name_ok("a.test:80", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "Invalid name ('a.test:80'); no port allowed");
    TR_CHECK(!tr_schema3_upstream_name_ok("a b", msg, sizeof(msg)));
    TR_CHECK_STR(msg, "Invalid name ('a b'); must be a valid hostname");
    TR_CHECK(!tr_schema3_upstream_name_ok("fe80::1", msg, sizeof(msg)));
    TR_CHECK(!tr_schema3_upstream_name_ok("a-.b", msg, sizeof(msg)));
}

static void check_target(const char *in, const char *want)
{
    char out[400];
    bool ok = tr_schema3_target_normalize(in, out, sizeof(out));
    TR_CHECK_STR(ok ? out : "(invalid)", want);
}

static void test_targets(void)
{
    check_target("a.test", "a.test:8000");
    check_target("A.Test:1", "A.Test:1");
    check_target("127.0.0.1", "127.0.0.1:8000");
    check_target("010.0.0.001:0", "10.0.0.1:0");
    check_target("::1", "[0000:0000:0000:0000:0000:0000:0000:0001]:8000");
    check_target("[::]:80", "[0000:0000:0000:0000:0000:0000:0000:0000]:80");
    check_target("[1::]", "[0001:0000:0000:0000:0000:0000:0000:0000]:8000");
    check_target("[2001:DB8::1]:443", "[2001:0db8:0000:0000:0000:0000:0000:0001]:443");
    check_target("1:2:3:4:5:6:7:8", "[0001:0002:0003:0004:0005:0006:0007:0008]:8000");
    check_target("1:2:3:4:5:6:7:8:9", "(invalid)");
    check_target("[::1]:65536", "(invalid)");
    check_target("[::1]x", "(invalid)");
    check_target("::g", "(invalid)");
    check_target("1.2.3.256", "(invalid)");
    check_target("1.2.3", "(invalid)");
    check_target("a:65536", "(invalid)");
    check_target("a..b", "(invalid)");
    check_target("a.", "a.:8000");
    check_target("", "(invalid)");
    check_target("a b", "(invalid)");

    json_t *doc = NULL;
    char *e =
        run(true, TR_SCHEMA_INSERT,
            "{\"target\":\"::1\",\"upstream\":{\"id\":\"11111111-1111-4111-8111-111111111111\"}}",
            NULL, &doc);
    TR_CHECK(e == NULL);
    TR_CHECK_STR(json_string_value(json_object_get(doc, "target")),
                 "[0000:0000:0000:0000:0000:0000:0000:0001]:8000");
    TR_CHECK_STR(json_string_value(json_object_get(doc, "upstream_id")),
                 "11111111-1111-4111-8111-111111111111");
    TR_CHECK_INT(json_integer_value(json_object_get(doc, "weight")), 100);
    /* Milliseconds: now (1000 s) times 1000. */
    TR_CHECK_INT(json_integer_value(json_object_get(doc, "created_at")) / 1000, 1000);
    e = run(true, TR_SCHEMA_UPDATE, "{\"weight\":7,\"created_at\":1.5}", doc, NULL);
    TR_CHECK(e == NULL);
    json_decref(doc);
    e = run(true, TR_SCHEMA_INSERT, "{\"target\":\"x y\",\"weight\":70000}", NULL, NULL);
    TR_CHECK_STR(e, "{\"target\":\"Invalid target; not a valid hostname or ip address\","
                    "\"upstream\":\"required field missing\","
                    "\"weight\":\"value should be between 0 and 65535\"}");
    free(e);
}

static void test_upstream_rules(void)
{
    CHECK_UP("{\"name\":\"u\",\"hash_on\":\"header\"}",
             "{\"@entity\":[\"failed conditional validation given value of field 'hash_on'\"],"
             "\"hash_on_header\":\"required field missing\"}");
    CHECK_UP("{\"name\":\"u\",\"hash_on\":\"cookie\",\"hash_on_cookie\":\"c\","
             "\"hash_fallback\":\"ip\"}",
             "{\"@entity\":[\"failed conditional validation given value of field 'hash_on'\"],"
             "\"hash_fallback\":\"expected one of: none\"}");
    CHECK_UP("{\"name\":\"u\",\"hash_on\":\"header\",\"hash_on_header\":\"a\","
             "\"hash_fallback\":\"header\",\"hash_fallback_header\":\"a\"}",
             "{\"@entity\":[\"values of these fields must be distinct: 'hash_on_header', "
             "'hash_fallback_header'\"]}");
    CHECK_UP("{\"name\":\"u\",\"hash_on\":\"header\",\"hash_on_header\":\"a b\"}",
             "{\"hash_on_header\":\"bad header name 'a b', allowed characters are A-Z, a-z, "
             "0-9, '_', and '-'\"}");
    CHECK_UP("{\"name\":\"u\",\"slots\":9,\"algorithm\":\"x\"}",
             "{\"algorithm\":\"expected one of: consistent-hashing, least-connections, "
             "round-robin, latency\",\"slots\":\"value should be between 10 and 65536\"}");
    CHECK_UP("{\"name\":\"u\",\"hash_on\":\"ip\",\"hash_fallback\":\"consumer\"}", "(valid)");

    json_t *doc = NULL;
    TR_CHECK(run(false, TR_SCHEMA_INSERT, "{\"name\":\"u\",\"hash_on\":\"ip\"}", NULL, &doc) ==
             NULL);
    TR_CHECK_STR(json_string_value(json_object_get(doc, "algorithm")), "consistent-hashing");
    TR_CHECK(json_is_null(json_object_get(doc, "client_certificate_id")));
    TR_CHECK(json_object_get(doc, "client_certificate") == NULL);
    json_t *dflt = tr_schema3_healthchecks_defaults();
    TR_CHECK(json_equal(json_object_get(doc, "healthchecks"), dflt));
    TR_CHECK(!tr_schema3_upstream_healthchecks_on(doc));
    json_t *patched = NULL;
    TR_CHECK(run(false, TR_SCHEMA_UPDATE, "{\"algorithm\":\"least-connections\"}", doc, &patched) ==
             NULL);
    TR_CHECK_STR(json_string_value(json_object_get(patched, "hash_on")), "none");
    json_decref(patched);
    TR_CHECK(run(false, TR_SCHEMA_UPDATE,
                 "{\"healthchecks\":{\"passive\":{\"unhealthy\":{\"timeouts\":3}}}}", doc,
                 &patched) == NULL);
    TR_CHECK(tr_schema3_upstream_healthchecks_on(patched));
    json_t *again = NULL;
    TR_CHECK(run(false, TR_SCHEMA_UPDATE, "{\"healthchecks\":{\"active\":{\"timeout\":2.5}}}",
                 patched, &again) == NULL);
    json_t *hc = json_object_get(again, "healthchecks");
    TR_CHECK(json_real_value(json_object_get(json_object_get(hc, "active"), "timeout")) == 2.5);
    TR_CHECK_INT(json_integer_value(json_object_get(
                     json_object_get(json_object_get(hc, "passive"), "unhealthy"), "timeouts")),
                 3);
    json_decref(again);
    json_decref(patched);
    json_decref(dflt);
    json_decref(doc);

    CHECK_UP("{\"name\":\"u\",\"healthchecks\":{\"active\":{\"concurrency\":0,"
             "\"unhealthy\":{\"http_statuses\":[500,1000]}},\"threshold\":\"x\"}}",
             "{\"healthchecks\":{\"active\":{\"concurrency\":\"value should be between 1 and "
             "2147483648\",\"unhealthy\":{\"http_statuses\":[null,\"value should be between 100 "
             "and 999\"]}},\"threshold\":\"expected a number\"}}");
}

/* ---- the override table -------------------------------------------------------------------- */

#define UP "11111111-1111-4111-8111-111111111111"

static void test_overrides(void)
{
    tr_health_override_reset();
    TR_CHECK_INT(tr_health_override_get(UP, "a:80", NULL), TR_OVERRIDE_NONE);
    TR_CHECK_INT(tr_health_override_set(UP, "a:80", NULL, false), 0);
    TR_CHECK_INT(tr_health_override_get(UP, "a:80", NULL), TR_OVERRIDE_UNHEALTHY);
    /* An address without its own override takes the target's. */
    TR_CHECK_INT(tr_health_override_get(UP, "a:80", "10.0.0.1:80"), TR_OVERRIDE_UNHEALTHY);
    TR_CHECK_INT(tr_health_override_set(UP, "a:80", "10.0.0.1:80", true), 0);
    TR_CHECK_INT(tr_health_override_get(UP, "a:80", "10.0.0.1:80"), TR_OVERRIDE_HEALTHY);
    TR_CHECK_INT(tr_health_override_get(UP, "a:80", "10.0.0.2:80"), TR_OVERRIDE_UNHEALTHY);
    TR_CHECK_INT(tr_health_override_count(), 2);
    /* A target-wide override replaces the per-address ones. */
    uint64_t v = tr_health_override_version();
    TR_CHECK_INT(tr_health_override_set(UP, "a:80", NULL, true), 0);
    TR_CHECK(tr_health_override_version() > v);
    TR_CHECK_INT(tr_health_override_count(), 1);
    TR_CHECK_INT(tr_health_override_get(UP, "a:80", "10.0.0.1:80"), TR_OVERRIDE_HEALTHY);
    /* Targets are told apart exactly: a:80 is not a:8000. */
    TR_CHECK_INT(tr_health_override_get(UP, "a:8000", NULL), TR_OVERRIDE_NONE);
    TR_CHECK_INT(tr_health_override_set(UP, "b:80", NULL, false), 0);
    TR_CHECK_INT(
        tr_health_override_set("22222222-2222-4222-8222-222222222222", "a:80", NULL, false), 0);
    tr_health_override_forget(UP, "a:80");
    TR_CHECK_INT(tr_health_override_get(UP, "a:80", NULL), TR_OVERRIDE_NONE);
    TR_CHECK_INT(tr_health_override_get(UP, "b:80", NULL), TR_OVERRIDE_UNHEALTHY);
    tr_health_override_forget(UP, NULL);
    TR_CHECK_INT(tr_health_override_get(UP, "b:80", NULL), TR_OVERRIDE_NONE);
    TR_CHECK_INT(tr_health_override_count(), 1);
    TR_CHECK_INT(tr_health_override_set(NULL, "a", NULL, true), TR_EINVAL);
    TR_CHECK_INT(tr_health_override_set(UP, "", NULL, true), TR_EINVAL);
    TR_CHECK_INT(tr_health_override_set(UP, "a\x1f", NULL, true), TR_EINVAL);
    TR_CHECK_STR(tr_health_override_name(TR_OVERRIDE_HEALTHY), "HEALTHY");
    TR_CHECK_STR(tr_health_override_name(TR_OVERRIDE_UNHEALTHY), "UNHEALTHY");
    TR_CHECK(tr_health_override_name(TR_OVERRIDE_NONE) == NULL);
    tr_health_override_reset();
    TR_CHECK_INT(tr_health_override_count(), 0);
}

static void *writer(void *arg)
{
    char target[32];
    int n = *(int *)arg;
    for (int i = 0; i < 2000; i++) {
        snprintf(target, sizeof(target), "t%d:%d", n, i % 50);
        tr_health_override_set(UP, target, NULL, (i & 1) != 0);
        (void)tr_health_override_get(UP, target, "1.2.3.4:80");
        if (i % 97 == 0)
            tr_health_override_forget(UP, target);
    }
    return NULL;
}

static void test_overrides_threads(void)
{
    pthread_t th[4];
    int ids[4] = {0, 1, 2, 3};
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, writer, &ids[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    TR_CHECK(tr_health_override_count() <= 200);
    tr_health_override_reset();
}

int main(void)
{
    test_names();
    test_targets();
    test_upstream_rules();
    test_overrides();
    test_overrides_threads();
    return TR_CHECK_DONE();
}
