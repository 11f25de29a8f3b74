/* SPDX-License-Identifier: MIT */
/* rate-limiting (Kong 3.x config and answers): fixed UTC calendar windows per second .. year,
 * counted node-wide in shared memory (`local`), in the database with a local batch
 * (`cluster`, rl_cluster.c) or in Redis (`redis`, async on the worker loop);
 * X-RateLimit-* / RateLimit-* headers and 429 {"message":"API rate limit exceeded"}. */
#include <arpa/inet.h>
#include <math.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/mem.h"
#include "plugins/counters.h"
#include "plugins/plugin.h"
#include "plugins/rl_cluster.h"
#include "plugins/rl_redis.h"
#include "schema/schema.h"

#define NP TR_COUNTERS_NUM_PERIODS

/* In the order of limit_by_values and policy_values: the rows are bound as indexes. */
enum limit_by { BY_CONSUMER, BY_CREDENTIAL, BY_IP, BY_SERVICE, BY_HEADER, BY_PATH };
enum policy { POLICY_LOCAL, POLICY_CLUSTER, POLICY_REDIS };

/* Bound to the config rows, but for what conf_parse derives (has, cap, limit_text, redis.addr). */
struct rl_conf {
    bool has[NP];
    double limit[NP]; /* 0 when the period is not limited */
    int64_t cap[NP];  /* requests allowed in a window: ceil(limit), as Kong (usage < limit) */
    char limit_text[NP][32];
    enum limit_by by;
    char *header_name; /* owned; BY_HEADER */
    char *path;        /* owned; BY_PATH */
    enum policy policy;
    bool fault_tolerant;
    bool hide_client_headers;
    char *redis_host; /* owned */
    bool redis_ssl;
    struct tr_rl_redis_target redis; /* addr (derived) and password owned */
};

/* ---- config ---------------------------------------------------------------------------- */

static const char *const limit_by_values[] = {"consumer", "credential", "ip", "service",
                                              "header",   "path",       NULL};
static const char *const policy_values[] = {"local", "cluster", "redis", NULL};

static int check_positive(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const json_t *v = json_object_get(rec, name);
    if (!json_is_number(v) || !(json_number_value(v) > 0) || !isfinite(json_number_value(v))) {
        snprintf(msg, msg_len, "value must be greater than 0");
        return TR_EINVAL;
    }
    return 0;
}

/* Debian 12's hiredis (0.14) has no TLS: refuse rather than send counters and the password
 * in clear to a server the operator expects to reach over TLS. */
static int check_redis_ssl(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    if (json_is_true(json_object_get(rec, name))) {
        snprintf(msg, msg_len, "TLS to Redis is not available in this build");
        return TR_EINVAL;
    }
    return 0;
}

static int check_path(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const char *v = json_string_value(json_object_get(rec, name));
    if (v == NULL || v[0] != '/') {
        snprintf(msg, msg_len, "should start with: /");
        return TR_EINVAL;
    }
    return 0;
}

static int check_header_name(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const char *v = json_string_value(json_object_get(rec, name));
    for (const char *p = v; p && *p; p++) {
        char c = *p;
        bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     strchr("!#$%&'*+-.^_`|~", c) != NULL;
        if (!tchar) {
            snprintf(msg, msg_len, "bad header name '%s'", v);
            return TR_EINVAL;
        }
    }
    return 0;
}

/* Kong 3's entity checks: at least one period; a longer period not below a shorter one;
 * header_name / path / redis_host when limit_by / policy need them. */
static int self_check(json_t *rec, enum tr_schema_mode mode, char *msg, size_t msg_len)
{
    double v[NP];
    bool has[NP];
    bool any = false;
    for (int p = 0; p < NP; p++) {
        const json_t *j = json_object_get(rec, tr_counters_period_name(p));
        has[p] = json_is_number(j);
        v[p] = has[p] ? json_number_value(j) : 0;
        any = any || has[p];
    }
    if (!any) {
        snprintf(msg, msg_len,
                 "at least one of these fields must be non-empty: 'config.second', "
                 "'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'");
        return TR_EINVAL;
    }
    for (int lo = 0; lo < NP; lo++) {
        for (int hi = lo + 1; hi < NP && has[lo]; hi++) {
            if (has[hi] && v[hi] < v[lo]) {
                snprintf(msg, msg_len,
                         "The limit for %s(%.1f) cannot be lower than the limit for %s(%.1f)",
                         tr_counters_period_name(hi), v[hi], tr_counters_period_name(lo), v[lo]);
                return TR_EINVAL;
            }
        }
    }
    const char *by = json_string_value(json_object_get(rec, "limit_by"));
    const char *policy = json_string_value(json_object_get(rec, "policy"));
    if (by && strcmp(by, "header") == 0 && !json_is_string(json_object_get(rec, "header_name"))) {
        snprintf(msg, msg_len, "header_name is required when limit_by is \"header\"");
        return TR_EINVAL;
    }
    if (by && strcmp(by, "path") == 0 && !json_is_string(json_object_get(rec, "path"))) {
        snprintf(msg, msg_len, "path is required when limit_by is \"path\"");
        return TR_EINVAL;
    }
    if (policy && strcmp(policy, "redis") == 0 &&
        !json_is_string(json_object_get(rec, "redis_host"))) {
        snprintf(msg, msg_len, "redis_host is required when policy is \"redis\"");
        return TR_EINVAL;
    }
    return 0;
}

#define BIND(m) TR_SCHEMA_BIND(struct rl_conf, m)
/* Period p of tr_counters_period_name(), named n. */
#define PERIOD_FIELD(n, p)                                                                         \
    {                                                                                              \
        .name = n, .type = TR_SCHEMA_NUMBER, .check = check_positive,                              \
        .help = "requests allowed per " n " (> 0)", BIND(limit[p])                                 \
    }

static const struct tr_schema_field conf_fields[] = {
    PERIOD_FIELD("second", 0),
    PERIOD_FIELD("minute", 1),
    PERIOD_FIELD("hour", 2),
    PERIOD_FIELD("day", 3),
    PERIOD_FIELD("month", 4),
    PERIOD_FIELD("year", 5),
    {.name = "limit_by",
     .type = TR_SCHEMA_STRING,
     .dflt = "\"consumer\"",
     .one_of = limit_by_values,
     .help = "what a counter belongs to; the client IP when it cannot be determined",
     TR_SCHEMA_BIND_INDEX(struct rl_conf, by)},
    {.name = "header_name",
     .type = TR_SCHEMA_STRING,
     .check = check_header_name,
     .help = "with limit_by header: the header whose value is counted",
     BIND(header_name)},
    {.name = "path",
     .type = TR_SCHEMA_STRING,
     .check = check_path,
     .help = "with limit_by path: the request path counted",
     BIND(path)},
    {.name = "policy",
     .type = TR_SCHEMA_STRING,
     .dflt = "\"local\"",
     .one_of = policy_values,
     .help = "where counters live: local (shared memory of this node), cluster (the database, "
             "batched) or redis",
     TR_SCHEMA_BIND_INDEX(struct rl_conf, policy)},
    {.name = "fault_tolerant",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "true",
     .help = "let requests through (and log) when the counters cannot be reached",
     BIND(fault_tolerant)},
    /* Kong 0.7's names (renamed or dropped in 0.9), accepted so 0.7 clients keep working. */
    {.name = "continue_on_error",
     .type = TR_SCHEMA_BOOLEAN,
     .alias_of = "fault_tolerant",
     .help = "Kong 0.7's name of fault_tolerant"},
    {.name = "async",
     .type = TR_SCHEMA_BOOLEAN,
     .help = "Kong 0.7: count after answering; accepted and stored, without effect (torii "
             "counts before deciding, which never delays the request)"},
    {.name = "hide_client_headers",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "false",
     .help = "do not send the rate-limit headers to the client",
     BIND(hide_client_headers)},
    {.name = "redis_host",
     .type = TR_SCHEMA_STRING,
     .help = "Redis host (policy redis)",
     BIND(redis_host)},
    {.name = "redis_port",
     .type = TR_SCHEMA_INTEGER,
     .flags = TR_SCHEMA_BOUNDED,
     .dflt = "6379",
     .min = 1,
     .max = 65535,
     .help = "Redis port",
     BIND(redis.port)},
    {.name = "redis_password",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_WRITE_ONLY,
     .help = "Redis AUTH password; write-only (never returned by the Admin API)",
     BIND(redis.password)},
    {.name = "redis_database",
     .type = TR_SCHEMA_INTEGER,
     .flags = TR_SCHEMA_BOUNDED,
     .dflt = "0",
     .min = 0,
     .max = 1000000,
     .help = "Redis database number",
     BIND(redis.db)},
    {.name = "redis_timeout",
     .type = TR_SCHEMA_INTEGER,
     .flags = TR_SCHEMA_BOUNDED,
     .dflt = "2000",
     .min = 1,
     .max = 60000,
     .help = "bound of each Redis call, ms",
     BIND(redis.timeout_ms)},
    {.name = "redis_ssl",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "false",
     .check = check_redis_ssl,
     .help = "TLS to Redis: only false (this build's Redis client has no TLS)",
     BIND(redis_ssl)},
};

static const struct tr_schema conf_schema = {
    .name = "rate-limiting",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
    .self_check = self_check,
};

static const char *const hidden_config[] = {"redis_password", NULL};

static void conf_free(void *p)
{
    struct rl_conf *c = p;
    if (c == NULL)
        return;
    free((char *)c->redis.addr);
    tr_schema_free_struct(&conf_schema, c);
}

/* A numeric address for host: itself when it is one, else the first address the resolver
 * gives (this runs on the control thread, once per config change, never on a worker). NULL
 * when the name does not resolve: every call then fails (fault_tolerant decides). */
static char *numeric_addr(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1)
        return tr_xstrdup(host);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) {
        tr_log_warn("rate-limiting: redis_host '%s' does not resolve", host);
        return NULL;
    }
    char text[INET6_ADDRSTRLEN] = "";
    const void *a = res->ai_family == AF_INET
                        ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                        : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
    const char *ok = inet_ntop(res->ai_family, a, text, sizeof(text));
    freeaddrinfo(res);
    return ok ? tr_xstrdup(text) : NULL;
}

/* The windows with a limit, their caps and the texts of the X-RateLimit-Limit-* headers.
 * Returns false when no period is limited. */
static bool derive_limits(struct rl_conf *c)
{
    bool any = false;
    for (int p = 0; p < NP; p++) {
        double d = c->limit[p];
        if (!(d > 0)) {
            c->limit[p] = 0;
            continue;
        }
        c->has[p] = true;
        c->cap[p] = d > 9e18 ? INT64_MAX : (int64_t)ceil(d);
        if (d == floor(d) && d < 9e18)
            snprintf(c->limit_text[p], sizeof(c->limit_text[p]), "%lld", (long long)d);
        else
            snprintf(c->limit_text[p], sizeof(c->limit_text[p]), "%g", d);
        any = true;
    }
    return any;
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    struct rl_conf *c = tr_schema_parse_new(&conf_schema, config, sizeof(*c));
    if (!derive_limits(c)) {
        snprintf(err, err_len, "no limit set");
        conf_free(c);
        return NULL;
    }
    if (c->policy == POLICY_REDIS) {
        c->redis.addr = c->redis_host ? numeric_addr(c->redis_host) : NULL;
        if (c->redis_ssl)
            tr_log_warn("rate-limiting: a stored instance has redis_ssl=true, but TLS to Redis "
                        "is not available in this build: the connection is plain TCP");
    }
    return c;
}

/* ---- the request -------------------------------------------------------------------------- */

struct rl_state {
    struct tr_ctx *ctx;
    const struct rl_conf *conf;
    int64_t now;
    size_t n;                       /* counted periods */
    int period[NP];                 /* period of counter i */
    int64_t end[NP];                /* window end of counter i */
    uint64_t hash[NP];              /* local and cluster counter keys */
    char *key[NP];                  /* redis keys, in the request arena */
    const char *plugin_id;          /* borrowed for the request */
    struct tr_rl_cluster_wait wait; /* parked until the cluster totals are read */
    bool cancelled; /* the request died while Redis or the cluster counters were waited for */
};

/* What the plugin keeps per worker (its tr_ctx_worker_slot): each backend's own slot. */
struct rl_worker {
    void *redis;   /* tr_rl_redis pool */
    void *cluster; /* tr_rl_cluster parked requests */
};

static struct rl_worker *rl_worker(struct tr_ctx *ctx)
{
    void **slot = tr_ctx_worker_slot(ctx);
    if (*slot == NULL)
        *slot = tr_xcalloc(1, sizeof(struct rl_worker));
    return *slot;
}

static void rl_worker_free(void *slot)
{
    struct rl_worker *w = slot;
    if (w->redis)
        tr_rl_redis_pool_free(w->redis);
    if (w->cluster)
        tr_rl_cluster_worker_free(w->cluster);
    free(w);
}

/* Kong's identifier: what a counter belongs to. kind names the source, so an IP and a header
 * value that look the same never share a counter. */
static struct tr_str identifier(struct tr_ctx *ctx, const struct rl_conf *c, char *kind)
{
    struct tr_str id = TR_STR_NULL;
    switch (c->by) {
    case BY_CONSUMER: {
        const struct tr_consumer *co = tr_ctx_consumer(ctx);
        const struct tr_credential *cr = tr_ctx_credential(ctx);
        if (co)
            id = tr_str_from_cstr(co->id);
        else if (cr)
            id = tr_str_from_cstr(cr->id);
        *kind = 'c';
        break;
    }
    case BY_CREDENTIAL: {
        const struct tr_credential *cr = tr_ctx_credential(ctx);
        if (cr)
            id = tr_str_from_cstr(cr->id);
        *kind = 'k';
        break;
    }
    case BY_SERVICE:
        if (tr_ctx_service_id(ctx))
            id = tr_str_from_cstr(tr_ctx_service_id(ctx));
        *kind = 's';
        break;
    case BY_HEADER:
        if (c->header_name && !tr_ctx_header(ctx, tr_str_from_cstr(c->header_name), &id))
            id = TR_STR_NULL;
        *kind = 'h';
        break;
    case BY_PATH:
        if (c->path && tr_str_eq(tr_ctx_path(ctx), tr_str_from_cstr(c->path)))
            id = tr_str_from_cstr(c->path);
        *kind = 'p';
        break;
    case BY_IP:
        break;
    }
    if (id.len == 0) {
        id = tr_str_from_cstr(tr_ctx_client_ip(ctx));
        *kind = 'i';
    }
    return id;
}

static void add_header(struct tr_ctx *ctx, const char *name, const char *value)
{
    tr_ctx_add_response_header(ctx, tr_str_from_cstr(name), tr_str_from_cstr(value));
}

/* Headers and the decision. count[i]: the count of counter i including this request when it
 * was counted; stop: the counter that refused the request, or -1. Returns the phase rc. */
static int conclude(struct tr_ctx *ctx, const struct rl_state *st, const int64_t *count, int stop)
{
    const struct rl_conf *c = st->conf;
    int64_t best_rem = 0, best_reset = 1, best_len = 0;
    int best = -1;
    char name[64], value[32];
    for (size_t i = 0; i < st->n; i++) {
        int p = st->period[i];
        int64_t rem = c->cap[p] - count[i];
        if (rem < 0 || (int)i == stop)
            rem = 0;
        int64_t start, end;
        tr_counters_window(p, st->now, &start, &end);
        int64_t len = end - start;
        if (best < 0 || rem < best_rem || (rem == best_rem && len > best_len)) {
            best = (int)i;
            best_rem = rem;
            best_len = len;
            best_reset = end - st->now;
            if (best_reset < 1)
                best_reset = 1;
        }
        if (!c->hide_client_headers) {
            snprintf(name, sizeof(name), "X-RateLimit-Limit-%s", tr_counters_period_title(p));
            add_header(ctx, name, c->limit_text[p]);
            snprintf(name, sizeof(name), "X-RateLimit-Remaining-%s", tr_counters_period_title(p));
            snprintf(value, sizeof(value), "%lld", (long long)rem);
            add_header(ctx, name, value);
        }
    }
    if (!c->hide_client_headers && best >= 0) {
        add_header(ctx, "RateLimit-Limit", c->limit_text[st->period[best]]);
        snprintf(value, sizeof(value), "%lld", (long long)best_rem);
        add_header(ctx, "RateLimit-Remaining", value);
        snprintf(value, sizeof(value), "%lld", (long long)best_reset);
        add_header(ctx, "RateLimit-Reset", value);
    }
    if (stop < 0)
        return TR_PLUGIN_NEXT;
    /* Retry-After: RateLimit-Reset of the most restrictive window (Kong sends it even when
     * the other headers are hidden). */
    snprintf(value, sizeof(value), "%lld", (long long)best_reset);
    add_header(ctx, "Retry-After", value);
    tr_ctx_respond_message(ctx, 429, "API rate limit exceeded");
    return TR_PLUGIN_EXIT;
}

/* The counters could not be reached: Kong's fault_tolerant. */
static int backend_failed(const struct rl_conf *c, int rc)
{
    if (c->fault_tolerant) {
        tr_log_debug("rate-limiting: counters unavailable (%s), request let through",
                     tr_err_name(rc));
        return TR_PLUGIN_NEXT;
    }
    tr_log_error("rate-limiting: counters unavailable (%s), fault_tolerant is off",
                 tr_err_name(rc));
    return TR_PLUGIN_FAIL;
}

static uint64_t counter_key(const char *instance, char kind, struct tr_str id, int period,
                            int64_t start)
{
    uint64_t h = tr_hash_update(TR_HASH_SEED, instance, strlen(instance) + 1);
    h = tr_hash_update(h, &kind, 1);
    uint64_t len = id.len;
    h = tr_hash_update(h, &len, sizeof(len));
    h = tr_hash_update(h, id.ptr, id.len);
    unsigned char pb = (unsigned char)period;
    h = tr_hash_update(h, &pb, 1);
    h = tr_hash_update(h, &start, sizeof(start));
    return tr_hash_final(h);
}

static int access_local(struct tr_ctx *ctx, struct rl_state *st, const uint64_t *keys)
{
    int64_t count[NP] = {0};
    int stop = -1;
    size_t taken = 0;
    for (size_t i = 0; i < st->n; i++) {
        int rc = tr_counters_local_take(keys[i], st->now, st->end[i], st->conf->cap[st->period[i]],
                                        &count[i]);
        if (rc < 0) {
            for (size_t j = 0; j < taken; j++)
                tr_counters_local_give_back(keys[j], st->end[j]);
            static _Atomic uint64_t last_warn;
            uint64_t now = tr_clock_mono_ms();
            uint64_t prev = atomic_load_explicit(&last_warn, memory_order_relaxed);
            if (now - prev > 1000 && atomic_compare_exchange_strong(&last_warn, &prev, now))
                tr_log_warn("rate-limiting: local counter table full");
            return backend_failed(st->conf, rc);
        }
        if (rc == 0) {
            stop = (int)i;
            break;
        }
        taken++;
    }
    if (stop >= 0) {
        /* Refused: the windows that counted this request give it back, so a refusal never
         * uses up another window's quota. */
        for (size_t j = 0; j < taken; j++) {
            tr_counters_local_give_back(keys[j], st->end[j]);
            count[j]--;
        }
        for (size_t j = (size_t)stop + 1; j < st->n; j++)
            count[j] = tr_counters_local_peek(keys[j], st->now);
    }
    return conclude(ctx, st, count, stop);
}

static void on_cluster_wake(struct tr_rl_cluster_wait *w);

/* The cluster policy: the same walk as local over the cluster table. A counter whose total
 * was not read yet parks the request until the next flush, then the whole walk runs again. */
static int access_cluster(struct tr_ctx *ctx, struct rl_state *st)
{
    const struct rl_conf *c = st->conf;
    if (!c->fault_tolerant && tr_rl_cluster_is_failing())
        return backend_failed(c, TR_EDB);
    int64_t count[NP] = {0};
    int stop = -1;
    size_t taken = 0;
    for (size_t i = 0; i < st->n; i++) {
        int rc = tr_rl_cluster_take(st->hash[i], st->plugin_id, st->period[i], st->now, st->end[i],
                                    c->cap[st->period[i]], &count[i]);
        if (rc < 0) {
            for (size_t j = 0; j < taken; j++)
                tr_rl_cluster_give_back(st->hash[j], st->end[j]);
            if (rc == TR_EAGAIN) {
                st->ctx = ctx;
                st->wait.cb = on_cluster_wake;
                tr_rl_cluster_park(&rl_worker(ctx)->cluster, tr_ctx_loop(ctx), &st->wait);
                return TR_PLUGIN_YIELD;
            }
            return backend_failed(c, rc);
        }
        if (rc == 0) {
            stop = (int)i;
            break;
        }
        taken++;
    }
    if (stop >= 0) {
        for (size_t j = 0; j < taken; j++) {
            tr_rl_cluster_give_back(st->hash[j], st->end[j]);
            count[j]--;
        }
        for (size_t j = (size_t)stop + 1; j < st->n; j++)
            count[j] = tr_rl_cluster_peek(st->hash[j], st->now);
    }
    return conclude(ctx, st, count, stop);
}

static void on_cluster_wake(struct tr_rl_cluster_wait *w)
{
    struct rl_state *st = TR_CONTAINER_OF(w, struct rl_state, wait);
    struct tr_ctx *ctx = st->ctx;
    if (st->cancelled) {
        tr_ctx_resume(ctx, TR_PLUGIN_FAIL); /* only frees the request */
        return;
    }
    int rc = access_cluster(ctx, st);
    if (rc != TR_PLUGIN_YIELD)
        tr_ctx_resume(ctx, rc);
}

static void on_redis_done(void *ud, int rc, const int64_t *counts)
{
    struct rl_state *st = ud;
    struct tr_ctx *ctx = st->ctx;
    if (st->cancelled) {
        tr_ctx_resume(ctx, TR_PLUGIN_FAIL); /* only frees the request */
        return;
    }
    if (rc != 0) {
        tr_ctx_resume(ctx, backend_failed(st->conf, rc));
        return;
    }
    int stop = -1;
    for (size_t i = 0; i < st->n && stop < 0; i++) {
        if (counts[i] > st->conf->cap[st->period[i]])
            stop = (int)i;
    }
    if (stop >= 0) {
        /* Refused: take this request back out of every window it was counted in. */
        tr_rl_redis_decr(&rl_worker(ctx)->redis, tr_ctx_loop(ctx), &st->conf->redis,
                         (const char *const *)st->key, st->n);
    }
    /* A refused request is taken back out: show the counts without it, as local does. */
    int64_t shown[NP];
    for (size_t i = 0; i < st->n; i++)
        shown[i] = stop >= 0 ? counts[i] - 1 : counts[i];
    tr_ctx_resume(ctx, conclude(ctx, st, shown, stop));
}

static int access_redis(struct tr_ctx *ctx, struct rl_state *st, char kind, struct tr_str id)
{
    struct tr_rl_redis_op ops[NP];
    const char *instance = tr_ctx_plugin_id(ctx);
    char idtext[40];
    struct tr_str shown = id;
    if (id.len > 200) {
        /* Long identifiers (header values) are named by their hash. */
        uint64_t h = tr_hash_final(tr_hash_update(TR_HASH_SEED, id.ptr, id.len));
        int n = snprintf(idtext, sizeof(idtext), "#%016llx", (unsigned long long)h);
        shown = (struct tr_str){idtext, (size_t)n};
    }
    for (size_t i = 0; i < st->n; i++) {
        int p = st->period[i];
        int64_t start, end;
        tr_counters_window(p, st->now, &start, &end);
        size_t cap = strlen(instance) + shown.len + 64;
        st->key[i] = tr_ctx_alloc(ctx, cap);
        snprintf(st->key[i], cap, "ratelimit:%s:%c:%.*s:%s:%lld", instance, kind, (int)shown.len,
                 shown.ptr, tr_counters_period_name(p), (long long)start);
        ops[i].key = st->key[i];
        ops[i].expire_s = end - st->now + 1;
    }
    st->ctx = ctx;
    int rc = tr_rl_redis_incr(&rl_worker(ctx)->redis, tr_ctx_loop(ctx), &st->conf->redis, ops,
                              st->n, on_redis_done, st);
    if (rc != 0)
        return backend_failed(st->conf, rc);
    return TR_PLUGIN_YIELD;
}

static int rl_access(struct tr_ctx *ctx, const void *p)
{
    const struct rl_conf *c = p;
    struct rl_state *st = tr_ctx_state(ctx);
    if (st == NULL)
        return TR_PLUGIN_FAIL;
    st->conf = c;
    st->now = (int64_t)(tr_clock_wall_ms() / 1000);
    char kind = 'i';
    struct tr_str id = identifier(ctx, c, &kind);
    const char *instance = tr_ctx_plugin_id(ctx);
    st->plugin_id = instance;
    st->n = 0;
    for (int per = 0; per < NP; per++) {
        if (!c->has[per])
            continue;
        int64_t start, end;
        tr_counters_window(per, st->now, &start, &end);
        st->period[st->n] = per;
        st->end[st->n] = end;
        st->hash[st->n] = counter_key(instance, kind, id, per, start);
        st->n++;
    }
    if (st->n == 0)
        return TR_PLUGIN_NEXT;
    if (c->policy == POLICY_REDIS)
        return access_redis(ctx, st, kind, id);
    if (c->policy == POLICY_CLUSTER)
        return access_cluster(ctx, st);
    return access_local(ctx, st, st->hash);
}

static void rl_cancel(struct tr_ctx *ctx, const void *p)
{
    struct rl_state *st = tr_ctx_state(ctx);
    if (st)
        st->cancelled = true;
}

/* Priority 910 as Kong 3.x (0.7: 900): after authentication and acl, so limit_by consumer
 * sees the consumer. */
const struct tr_plugin tr_plugin_rate_limiting = {
    .name = "rate-limiting",
    .version = "1.0.0",
    .priority = 910,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .access = rl_access,
    .cancel = rl_cancel,
    .state_size = sizeof(struct rl_state),
    .worker_free = rl_worker_free,
    .hidden_config = hidden_config,
};
