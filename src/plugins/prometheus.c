/* SPDX-License-Identifier: MIT */
/* prometheus (Kong 3.9): counts every request of the routes it applies to in the worker's
 * metric shard (core/metrics.h), under Kong's metric names, labels and buckets, so dashboards
 * built on Kong's exporter (Grafana 7424) read torii unchanged. GET /metrics (admin/metrics.c)
 * sums the shards of every worker and adds the node's own gauges.
 *
 * What is recorded, as Kong's exporter.lua, once a route matched:
 *   kong_http_requests_total{service,route,code,source,workspace,consumer}  status_code_metrics
 *   kong_kong_latency_ms / kong_upstream_latency_ms / kong_request_latency_ms histograms
 *     {service,route,workspace}                                            latency_metrics
 *   kong_bandwidth_bytes{service,route,direction,workspace,consumer}       bandwidth_metrics
 * service is the service's name, else its host, else ""; route the route's name, else its id;
 * consumer the consumer's username with per_consumer, else ""; source "service" when the answer
 * came from the upstream, else "kong"; workspace is always "default" (torii has one). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/metrics.h"
#include "plugins/plugin.h"
#include "plugins/prometheus.h"
#include "schema/schema.h"

struct prometheus_conf {
    bool per_consumer;
    bool status_code_metrics;
    bool ai_metrics;
    bool latency_metrics;
    bool bandwidth_metrics;
    bool upstream_health_metrics;
};

#define FLAG(field, help_text)                                                                     \
    {                                                                                              \
        .name = #field, .type = TR_SCHEMA_BOOLEAN, .flags = TR_SCHEMA_REQUIRED, .dflt = "false",   \
        .help = help_text, TR_SCHEMA_BIND(struct prometheus_conf, field)                           \
    }

static const struct tr_schema_field conf_fields[] = {
    FLAG(per_consumer, "fill the consumer label of http_requests_total and bandwidth_bytes"),
    FLAG(status_code_metrics, "count requests by status code (http_requests_total)"),
    FLAG(ai_metrics, "AI metrics (accepted; torii has no AI plugins, so none are recorded)"),
    FLAG(latency_metrics, "latency histograms (kong, upstream and request latency)"),
    FLAG(bandwidth_metrics, "bytes in and out (bandwidth_bytes)"),
    FLAG(upstream_health_metrics, "the health of upstream targets (upstream_target_health)"),
};

static const struct tr_schema conf_schema = {
    .name = "prometheus",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
};

/* Kong's buckets (exporter.lua): KONG_LATENCY_BUCKETS and UPSTREAM_LATENCY_BUCKETS. */
static const double kong_buckets[] = {1,  2,   5,   7,   10,  15,   20,   30,  50,
                                      75, 100, 200, 500, 750, 1000, 3000, 6000};
static const double upstream_buckets[] = {25,   50,   80,   100,   250,   400,  700,
                                          1000, 2000, 5000, 10000, 30000, 60000};

const struct tr_metric_family tr_prom_http_requests = {
    "kong_http_requests_total", "HTTP status codes per consumer/service/route in Kong",
    TR_METRIC_COUNTER, NULL, 0};
const struct tr_metric_family tr_prom_kong_latency = {
    "kong_kong_latency_ms",
    "Latency added by Kong and enabled plugins for each service/route in Kong", TR_METRIC_HISTOGRAM,
    kong_buckets, TR_ARRAY_SIZE(kong_buckets)};
const struct tr_metric_family tr_prom_upstream_latency = {
    "kong_upstream_latency_ms", "Latency added by upstream response for each service/route in Kong",
    TR_METRIC_HISTOGRAM, upstream_buckets, TR_ARRAY_SIZE(upstream_buckets)};
const struct tr_metric_family tr_prom_request_latency = {
    "kong_request_latency_ms",
    "Total latency incurred during requests for each service/route in Kong", TR_METRIC_HISTOGRAM,
    upstream_buckets, TR_ARRAY_SIZE(upstream_buckets)};
const struct tr_metric_family tr_prom_bandwidth = {
    "kong_bandwidth_bytes", "Total bandwidth (ingress/egress) throughput in bytes",
    TR_METRIC_COUNTER, NULL, 0};

static void conf_free(void *p)
{
    tr_schema_free_struct(&conf_schema, p);
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    return tr_schema_parse_new(&conf_schema, config, sizeof(struct prometheus_conf));
}

bool tr_prometheus_conf_upstream_health(const void *conf)
{
    const struct prometheus_conf *c = conf;
    return c != NULL && c->upstream_health_metrics;
}

/* `name="value"` (escaped) at out[*at]; false when it does not fit. */
static bool put_label(char *out, size_t cap, size_t *at, const char *name, struct tr_str value)
{
    int n = snprintf(out + *at, cap - *at, "%s%s=\"", *at ? "," : "", name);
    if (n < 0 || (size_t)n >= cap - *at)
        return false;
    *at += (size_t)n;
    size_t e = tr_metrics_escape(out + *at, cap - *at, value.ptr, value.len);
    if (e >= cap - *at - 1)
        return false;
    *at += e;
    out[(*at)++] = '"';
    out[*at] = '\0';
    return true;
}

#define LABELS_MAX 1024

/* The labels every family starts with: service and route. */
static bool base_labels(struct tr_ctx *ctx, char *out, size_t *at)
{
    const char *svc = tr_ctx_service_name(ctx);
    struct tr_str service = svc ? tr_str_from_cstr(svc) : tr_ctx_service_host(ctx);
    const char *route = tr_ctx_route_name(ctx);
    if (route == NULL)
        route = tr_ctx_route_id(ctx);
    *at = 0;
    out[0] = '\0';
    return put_label(out, LABELS_MAX, at, "service", service) &&
           put_label(out, LABELS_MAX, at, "route", tr_str_from_cstr(route ? route : ""));
}

/* What a worker remembers of the series one (route, consumer) pair counts in, so a request of
 * a known pair builds no label text and looks nothing up: a direct-mapped cache keyed by the
 * configuration version and the addresses the snapshot hands out (route, consumer, config),
 * which stay put while that version lives. */
#define CACHE_SLOTS 256
#define CODES_PER_SLOT 6

struct code_series {
    int code;
    bool upstream;
    struct tr_metrics_series *series;
};

struct cache_slot {
    uint64_t version;
    const void *conf, *route, *consumer;
    bool ready;
    struct tr_metrics_series *latency[3];   /* request, upstream, kong */
    struct tr_metrics_series *bandwidth[2]; /* egress, ingress */
    struct code_series codes[CODES_PER_SLOT];
    unsigned next_code;
};

struct worker_cache {
    struct cache_slot slots[CACHE_SLOTS];
};

struct request_labels {
    char base[LABELS_MAX]; /* service and route */
    size_t blen;
    struct tr_str consumer;
};

/* base + the given labels, into out; NULL when they do not fit (counted as an error). */
static struct tr_metrics_series *series_for(struct tr_metrics_shard *shard,
                                            const struct tr_metric_family *f,
                                            const struct request_labels *rl, const char *name1,
                                            struct tr_str value1, const char *name2,
                                            struct tr_str value2, bool with_consumer)
{
    char labels[LABELS_MAX];
    size_t at = rl->blen;
    memcpy(labels, rl->base, rl->blen + 1);
    bool fits = (name1 == NULL || put_label(labels, LABELS_MAX, &at, name1, value1)) &&
                (name2 == NULL || put_label(labels, LABELS_MAX, &at, name2, value2)) &&
                put_label(labels, LABELS_MAX, &at, "workspace", TR_STR_LIT("default")) &&
                (!with_consumer || put_label(labels, LABELS_MAX, &at, "consumer", rl->consumer));
    if (!fits) {
        tr_metrics_refuse(shard);
        return NULL;
    }
    return tr_metrics_series_get(shard, f, labels, at);
}

/* The labels every series of this request starts with; false (counted as an error, as
 * Kong's) when they do not fit a series. */
static bool make_labels(struct tr_ctx *ctx, struct tr_metrics_shard *shard,
                        const struct tr_consumer *consumer, struct request_labels *rl)
{
    if (!base_labels(ctx, rl->base, &rl->blen)) {
        tr_metrics_refuse(shard);
        return false;
    }
    rl->consumer = tr_str_from_cstr(consumer && consumer->username ? consumer->username : "");
    return true;
}

static void fill_slot(struct cache_slot *slot, struct tr_metrics_shard *shard,
                      const struct prometheus_conf *c, const struct request_labels *rl)
{
    static const struct tr_metric_family *const latency[] = {
        &tr_prom_request_latency, &tr_prom_upstream_latency, &tr_prom_kong_latency};
    for (size_t i = 0; i < 3; i++)
        slot->latency[i] = c->latency_metrics ? series_for(shard, latency[i], rl, NULL, TR_STR_NULL,
                                                           NULL, TR_STR_NULL, false)
                                              : NULL;
    slot->bandwidth[0] = slot->bandwidth[1] = NULL;
    if (c->bandwidth_metrics) {
        slot->bandwidth[0] = series_for(shard, &tr_prom_bandwidth, rl, "direction",
                                        TR_STR_LIT("egress"), NULL, TR_STR_NULL, true);
        slot->bandwidth[1] = series_for(shard, &tr_prom_bandwidth, rl, "direction",
                                        TR_STR_LIT("ingress"), NULL, TR_STR_NULL, true);
    }
    memset(slot->codes, 0, sizeof(slot->codes));
    slot->next_code = 0;
}

/* kong_http_requests_total's series for (code, source): remembered in the slot; rl holds the
 * request's labels when *have_labels, else they are made here. */
static struct tr_metrics_series *code_series(struct cache_slot *slot, struct tr_ctx *ctx,
                                             struct tr_metrics_shard *shard,
                                             const struct tr_consumer *consumer,
                                             struct request_labels *rl, bool have_labels, int code,
                                             bool upstream)
{
    for (size_t i = 0; i < CODES_PER_SLOT; i++) {
        if (slot->codes[i].series != NULL && slot->codes[i].code == code &&
            slot->codes[i].upstream == upstream)
            return slot->codes[i].series;
    }
    if (!have_labels && !make_labels(ctx, shard, consumer, rl))
        return NULL;
    char text[16];
    snprintf(text, sizeof(text), "%d", code);
    struct tr_metrics_series *se =
        series_for(shard, &tr_prom_http_requests, rl, "code", tr_str_from_cstr(text), "source",
                   upstream ? TR_STR_LIT("service") : TR_STR_LIT("kong"), true);
    if (se != NULL) {
        struct code_series *cs = &slot->codes[slot->next_code++ % CODES_PER_SLOT];
        *cs = (struct code_series){code, upstream, se};
    }
    return se;
}

static void prometheus_log(struct tr_ctx *ctx, const void *p)
{
    const struct prometheus_conf *c = p;
    const char *route = tr_ctx_route_id(ctx);
    if (route == NULL)
        return; /* no route matched: nothing is recorded, as Kong */
    struct tr_metrics_shard *shard = tr_ctx_metrics(ctx);
    const struct tr_consumer *consumer = c->per_consumer ? tr_ctx_consumer(ctx) : NULL;
    void **wslot = tr_ctx_worker_slot(ctx);
    if (*wslot == NULL)
        *wslot = tr_xcalloc(1, sizeof(struct worker_cache));
    struct worker_cache *cache = *wslot;
    uintptr_t key = ((uintptr_t)route >> 4) ^ ((uintptr_t)consumer >> 4) * 31u;
    struct cache_slot *slot = &cache->slots[key % CACHE_SLOTS];
    uint64_t version = tr_ctx_config_version(ctx);
    struct request_labels rl;
    bool labels_made = false;
    if (!slot->ready || slot->version != version || slot->conf != p || slot->route != route ||
        slot->consumer != consumer) {
        slot->ready = false;
        if (!make_labels(ctx, shard, consumer, &rl))
            return;
        labels_made = true;
        *slot = (struct cache_slot){
            .version = version, .conf = p, .route = route, .consumer = consumer, .ready = true};
        fill_slot(slot, shard, c, &rl);
    }
    struct tr_ctx_log_facts f;
    tr_ctx_log_facts(ctx, &f);
    if (c->bandwidth_metrics) {
        if (f.response_size > 0)
            tr_metrics_add(slot->bandwidth[0], f.response_size);
        if (f.request_size > 0)
            tr_metrics_add(slot->bandwidth[1], f.request_size);
    }
    if (c->status_code_metrics)
        tr_metrics_add(
            code_series(slot, ctx, shard, consumer, &rl, labels_made, f.status, f.from_upstream),
            1);
    if (c->latency_metrics) {
        int64_t v[3] = {f.request_ms, f.upstream_ms, f.kong_ms};
        for (size_t i = 0; i < 3; i++) {
            if (v[i] >= 0)
                tr_metrics_observe(slot->latency[i], (double)v[i]);
        }
    }
}

static void worker_free(void *slot)
{
    free(slot);
}

/* Priority 13 as Kong: after the plugins that answer, so what it counts is the final answer. */
const struct tr_plugin tr_plugin_prometheus = {
    .name = "prometheus",
    .version = "1.0.0",
    .priority = 13,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .log = prometheus_log,
    .worker_free = worker_free,
};
