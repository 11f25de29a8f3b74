/* SPDX-License-Identifier: MIT */
/* rate-limiting: calendar window math, the local counter table (exactness across threads,
 * give-back, full buckets, window reuse), and the config schema (Kong's checks, defaults). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/hash.h"
#include "core/err.h"
#include "plugins/counters.h"
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

/* ---- windows ------------------------------------------------------------------------------ */

static void test_windows(void)
{
    int64_t s, e;
    /* 2024-02-29T13:45:30Z = 1709214330 */
    const int64_t t = 1709214330;
    tr_counters_window(TR_COUNTERS_SECOND, t, &s, &e);
    TR_CHECK_INT(s, t);
    TR_CHECK_INT(e, t + 1);
    tr_counters_window(TR_COUNTERS_MINUTE, t, &s, &e);
    TR_CHECK_INT(s, 1709214300);
    TR_CHECK_INT(e, 1709214360);
    tr_counters_window(TR_COUNTERS_HOUR, t, &s, &e);
    TR_CHECK_INT(s, 1709211600); /* 13:00:00 */
    TR_CHECK_INT(e, 1709215200);
    tr_counters_window(TR_COUNTERS_DAY, t, &s, &e);
    TR_CHECK_INT(s, 1709164800); /* 2024-02-29T00:00:00Z */
    TR_CHECK_INT(e, 1709251200);
    tr_counters_window(TR_COUNTERS_MONTH, t, &s, &e);
    TR_CHECK_INT(s, 1706745600); /* 2024-02-01 */
    TR_CHECK_INT(e, 1709251200); /* 2024-03-01: a leap February has 29 days */
    tr_counters_window(TR_COUNTERS_YEAR, t, &s, &e);
    TR_CHECK_INT(s, 1704067200); /* 2024-01-01 */
    TR_CHECK_INT(e, 1735689600); /* 2025-01-01 */

    /* December rolls into January of the next year */
    tr_counters_window(TR_COUNTERS_MONTH, 1735603200 /* 2024-12-31 */, &s, &e);
    TR_CHECK_INT(s, 1733011200); /* 2024-12-01 */
    TR_CHECK_INT(e, 1735689600); /* 2025-01-01 */
    /* the boundary itself starts the new window; one second before is in the old one */
    tr_counters_window(TR_COUNTERS_MINUTE, 1709214360, &s, &e);
    TR_CHECK_INT(s, 1709214360);
    tr_counters_window(TR_COUNTERS_MINUTE, 1709214359, &s, &e);
    TR_CHECK_INT(s, 1709214300);
    tr_counters_window(TR_COUNTERS_DAY, 0, &s, &e);
    TR_CHECK_INT(s, 0);
    TR_CHECK_INT(e, 86400);

    TR_CHECK_STR(tr_counters_period_name(TR_COUNTERS_MINUTE), "minute");
    TR_CHECK_STR(tr_counters_period_title(TR_COUNTERS_MINUTE), "Minute");
    TR_CHECK_STR(tr_counters_period_title(TR_COUNTERS_YEAR), "Year");
    TR_CHECK_STR(tr_counters_period_name(99), "");
}

static void test_hash(void)
{
    uint64_t a = tr_hash_final(tr_hash_update(TR_HASH_SEED, "abc", 3));
    uint64_t b = tr_hash_final(tr_hash_update(TR_HASH_SEED, "abd", 3));
    uint64_t a2 = tr_hash_final(tr_hash_update(TR_HASH_SEED, "abc", 3));
    TR_CHECK(a != b);
    TR_CHECK(a == a2);
    TR_CHECK(tr_hash_final(0) != 0);
}

/* ---- local table -------------------------------------------------------------------------- */

static void test_local_basic(void)
{
    tr_counters_local_reset();
    int64_t cnt = -1;
    const uint64_t key = 0x1234567890abcdefull;
    for (int i = 1; i <= 3; i++) {
        TR_CHECK_INT(tr_counters_local_take(key, 100, 160, 3, &cnt), 1);
        TR_CHECK_INT(cnt, i);
    }
    TR_CHECK_INT(tr_counters_local_take(key, 100, 160, 3, &cnt), 0);
    TR_CHECK_INT(cnt, 3);
    TR_CHECK_INT(tr_counters_local_peek(key, 100), 3);
    tr_counters_local_give_back(key, 160);
    TR_CHECK_INT(tr_counters_local_peek(key, 100), 2);
    TR_CHECK_INT(tr_counters_local_take(key, 100, 160, 3, &cnt), 1);
    TR_CHECK_INT(cnt, 3);
    /* the next window is a new counter */
    TR_CHECK_INT(tr_counters_local_take(key, 160, 220, 3, &cnt), 1);
    TR_CHECK_INT(cnt, 1);
    TR_CHECK_INT(tr_counters_local_peek(key, 230), 0);
    /* give back on a missing entry does nothing */
    tr_counters_local_give_back(key ^ 1, 160);
}

static void test_local_full_bucket(void)
{
    tr_counters_local_reset();
    /* keys landing in one bucket: same bits 20.. */
    const uint64_t base = 7ull << 20;
    int64_t cnt;
    for (uint64_t i = 0; i < TR_COUNTERS_LOCAL_WAYS; i++)
        TR_CHECK_INT(tr_counters_local_take(base + i + 1, 100, 200, 5, &cnt), 1);
    /* every entry holds a live window: refused */
    TR_CHECK_INT(tr_counters_local_take(base + 999, 100, 200, 5, &cnt), TR_EINVAL);
    /* once those windows ended, their entries are reused */
    TR_CHECK_INT(tr_counters_local_take(base + 999, 200, 300, 5, &cnt), 1);
    TR_CHECK_INT(cnt, 1);
}

#define THREADS 8
#define PER_THREAD 20000
#define LIMIT 12345

static atomic_int granted;

static void *hammer(void *arg)
{
    int64_t cnt;
    for (int i = 0; i < PER_THREAD; i++) {
        /* two periods as the plugin does: take the short one, then the long one */
        int a = tr_counters_local_take(0xaaaa0001ull, 100, 101, LIMIT, &cnt);
        if (a != 1)
            continue;
        int b = tr_counters_local_take(0xbbbb0002ull, 100, 160, LIMIT / 2, &cnt);
        if (b != 1) {
            tr_counters_local_give_back(0xaaaa0001ull, 101);
            continue;
        }
        atomic_fetch_add(&granted, 1);
    }
    return arg;
}

static void test_local_threads(void)
{
    tr_counters_local_reset();
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, hammer, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    /* exactly the smaller limit is let through, never more */
    TR_CHECK_INT(atomic_load(&granted), LIMIT / 2);
    TR_CHECK_INT(tr_counters_local_peek(0xbbbb0002ull, 100), LIMIT / 2);
    TR_CHECK_INT(tr_counters_local_peek(0xaaaa0001ull, 100), LIMIT / 2);
}

/* ---- config ------------------------------------------------------------------------------- */

static json_t *validate(const char *text, json_t **out)
{
    const struct tr_plugin *p = tr_plugin_find("rate-limiting", NULL);
    json_t *in = J(text), *doc = NULL, *errs = NULL;
    int rc = tr_schema_validate(p->schema, TR_SCHEMA_INSERT, in, NULL, &doc, &errs);
    json_decref(in);
    TR_CHECK((rc == 0) == (errs == NULL));
    if (out)
        *out = doc;
    else
        json_decref(doc);
    return errs;
}

static const char *msg_of(const json_t *errs, const char *field)
{
    return json_string_value(json_object_get(errs, field));
}

static void test_config(void)
{
    size_t irl, iacl, ikey;
    const struct tr_plugin *p = tr_plugin_find("rate-limiting", &irl);
    TR_CHECK(p != NULL);
    if (p == NULL)
        return;
    TR_CHECK_INT(p->priority, 910);
    TR_CHECK(tr_plugin_find("acl", &iacl) && tr_plugin_find("key-auth", &ikey));
    TR_CHECK(ikey < irl && iacl < irl); /* after authentication and acl */
    TR_CHECK(p->hidden_config && strcmp(p->hidden_config[0], "redis_password") == 0);

    json_t *doc = NULL;
    json_t *errs = validate("{\"minute\":5}", &doc);
    TR_CHECK(errs == NULL);
    TR_CHECK_STR(json_string_value(json_object_get(doc, "limit_by")), "consumer");
    TR_CHECK_STR(json_string_value(json_object_get(doc, "policy")), "local");
    TR_CHECK(json_is_true(json_object_get(doc, "fault_tolerant")));
    TR_CHECK(json_is_false(json_object_get(doc, "hide_client_headers")));
    TR_CHECK_INT(json_integer_value(json_object_get(doc, "redis_port")), 6379);
    TR_CHECK_INT(json_integer_value(json_object_get(doc, "redis_timeout")), 2000);
    TR_CHECK_INT(json_integer_value(json_object_get(doc, "redis_database")), 0);
    char err[256] = "";
    void *conf = p->conf_parse(doc, err, sizeof(err));
    TR_CHECK(conf != NULL);
    p->conf_free(conf);
    json_decref(doc);

    /* form input: strings are coerced */
    errs = validate("{\"second\":\"2\",\"hour\":\"100\",\"limit_by\":\"ip\"}", &doc);
    TR_CHECK(errs == NULL);
    json_decref(doc);

    errs = validate("{}", NULL);
    TR_CHECK_STR(msg_of(errs, "message"),
                 "at least one of these fields must be non-empty: 'config.second', "
                 "'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'");
    json_decref(errs);
    errs = validate("{\"minute\":0}", NULL);
    TR_CHECK_STR(msg_of(errs, "minute"), "value must be greater than 0");
    json_decref(errs);
    errs = validate("{\"second\":-1}", NULL);
    TR_CHECK_STR(msg_of(errs, "second"), "value must be greater than 0");
    json_decref(errs);
    errs = validate("{\"minute\":\"lots\"}", NULL);
    TR_CHECK(msg_of(errs, "minute") != NULL);
    json_decref(errs);
    errs = validate("{\"minute\":20,\"hour\":10}", NULL);
    TR_CHECK_STR(msg_of(errs, "message"),
                 "The limit for hour(10.0) cannot be lower than the limit for minute(20.0)");
    json_decref(errs);
    errs = validate("{\"second\":20,\"year\":10}", NULL);
    TR_CHECK_STR(msg_of(errs, "message"),
                 "The limit for year(10.0) cannot be lower than the limit for second(20.0)");
    json_decref(errs);
    errs = validate("{\"second\":5,\"minute\":5}", NULL); /* equal is fine */
    TR_CHECK(errs == NULL);
    json_decref(errs);

    errs = validate("{\"minute\":5,\"limit_by\":\"planet\"}", NULL);
    TR_CHECK(msg_of(errs, "limit_by") != NULL);
    json_decref(errs);
    errs = validate("{\"minute\":5,\"limit_by\":\"header\"}", NULL);
    TR_CHECK_STR(msg_of(errs, "message"), "header_name is required when limit_by is \"header\"");
    json_decref(errs);
    errs = validate("{\"minute\":5,\"limit_by\":\"header\",\"header_name\":\"X A\"}", NULL);
    TR_CHECK(msg_of(errs, "header_name") != NULL);
    json_decref(errs);
    errs = validate("{\"minute\":5,\"limit_by\":\"header\",\"header_name\":\"X-Client\"}", NULL);
    TR_CHECK(errs == NULL);
    json_decref(errs);
    errs = validate("{\"minute\":5,\"limit_by\":\"path\"}", NULL);
    TR_CHECK_STR(msg_of(errs, "message"), "path is required when limit_by is \"path\"");
    json_decref(errs);
    errs = validate("{\"minute\":5,\"limit_by\":\"path\",\"path\":\"nope\"}", NULL);
    TR_CHECK_STR(msg_of(errs, "path"), "should start with: /");
    json_decref(errs);

    errs = validate("{\"minute\":5,\"policy\":\"cluster\"}", &doc);
    TR_CHECK(errs == NULL);
    conf = p->conf_parse(doc, err, sizeof(err));
    TR_CHECK(conf != NULL);
    p->conf_free(conf);
    json_decref(doc);
    errs = validate("{\"minute\":5,\"policy\":\"redis\"}", NULL);
    TR_CHECK_STR(msg_of(errs, "message"), "redis_host is required when policy is \"redis\"");
    json_decref(errs);
    errs = validate("{\"minute\":5,\"policy\":\"redis\",\"redis_host\":\"127.0.0.1\","
                    "\"redis_port\":70000}",
                    NULL);
    TR_CHECK(msg_of(errs, "redis_port") != NULL);
    json_decref(errs);
    errs = validate("{\"minute\":5,\"policy\":\"redis\",\"redis_host\":\"127.0.0.1\","
                    "\"redis_password\":\"pw\",\"redis_ssl\":true}",
                    NULL);
    TR_CHECK_STR(msg_of(errs, "redis_ssl"), "TLS to Redis is not available in this build");
    json_decref(errs);
    errs = validate("{\"minute\":5,\"policy\":\"redis\",\"redis_host\":\"127.0.0.1\","
                    "\"redis_password\":\"pw\",\"redis_ssl\":false}",
                    &doc);
    TR_CHECK(errs == NULL);
    conf = p->conf_parse(doc, err, sizeof(err));
    TR_CHECK(conf != NULL);
    p->conf_free(conf);
    json_decref(doc);

    /* fractional limits are accepted as numbers */
    errs = validate("{\"second\":2.5}", &doc);
    TR_CHECK(errs == NULL);
    conf = p->conf_parse(doc, err, sizeof(err));
    TR_CHECK(conf != NULL);
    p->conf_free(conf);
    json_decref(doc);
}

int main(void)
{
    test_windows();
    test_hash();
    test_local_basic();
    test_local_full_bucket();
    test_local_threads();
    test_config();
    return TR_CHECK_DONE();
}
