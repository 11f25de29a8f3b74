/* SPDX-License-Identifier: MIT */
/* GET /metrics: Kong's Prometheus exporter (kong/plugins/prometheus/exporter.lua), served
 * while the prometheus plugin is loaded on the node (the `plugins` setting), whether or not an
 * instance is configured, as Kong's Admin and Status APIs do.
 *
 * Always: the node's gauges, with torii's own numbers under Kong's names (docs/plugins.md):
 *   kong_nginx_connections_total{node_id,subsystem,state}  the connection counters of /status
 *   kong_nginx_requests_total{node_id,subsystem}            requests received
 *   kong_nginx_timers{state}         the node's background jobs: password hashes running/queued
 *   kong_datastore_reachable         1 when the database answers (DB-less: 1)
 *   kong_node_info{node_id,version}  1
 *   kong_memory_workers_lua_vms_bytes{node_id,pid,kong_subsystem}  the process's resident size
 *   kong_memory_lua_shared_dict_bytes / _total_bytes{node_id,shared_dict="prometheus_metrics",
 *     kong_subsystem}  the bytes of the metric series, and the bound they may reach
 * With an enabled prometheus instance: the series its instances counted on every worker, and
 * kong_nginx_metric_errors_total (series that could not be recorded); with
 * upstream_health_metrics on one of them, kong_upstream_target_health. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin.h"
#include "admin/crud.h"
#include "admin/crud3.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/metrics.h"
#include "plugins/prometheus.h"
#include "plugins/registry.h"
#include "snapshot/snapshot.h"
#include "store/store.h"

#define METRICS_MAX_BYTES (64u << 20)

static const struct tr_metric_family connections = {
    "kong_nginx_connections_total", "Number of connections by subsystem", TR_METRIC_GAUGE, NULL, 0};
static const struct tr_metric_family requests = {
    "kong_nginx_requests_total", "Number of requests total", TR_METRIC_GAUGE, NULL, 0};
static const struct tr_metric_family timers = {"kong_nginx_timers", "Number of nginx timers",
                                               TR_METRIC_GAUGE, NULL, 0};
static const struct tr_metric_family reachable = {"kong_datastore_reachable",
                                                  "Datastore reachable from Kong, 0 is unreachable",
                                                  TR_METRIC_GAUGE, NULL, 0};
static const struct tr_metric_family node_info = {
    "kong_node_info", "Kong Node metadata information", TR_METRIC_GAUGE, NULL, 0};
static const struct tr_metric_family errors = {"kong_nginx_metric_errors_total",
                                               "Number of nginx-lua-prometheus errors",
                                               TR_METRIC_COUNTER, NULL, 0};
static const struct tr_metric_family vm_bytes = {"kong_memory_workers_lua_vms_bytes",
                                                 "Allocated bytes in worker Lua VM",
                                                 TR_METRIC_GAUGE, NULL, 0};
static const struct tr_metric_family dict_bytes = {"kong_memory_lua_shared_dict_bytes",
                                                   "Allocated slabs in bytes in a shared_dict",
                                                   TR_METRIC_GAUGE, NULL, 0};
static const struct tr_metric_family dict_total = {"kong_memory_lua_shared_dict_total_bytes",
                                                   "Total capacity in bytes of a shared_dict",
                                                   TR_METRIC_GAUGE, NULL, 0};

/* The /status counters, by Kong's state names (total is total_requests, as Kong). */
static const struct {
    const char *state, *field;
} connection_states[] = {
    {"accepted", "connections_accepted"}, {"active", "connections_active"},
    {"handled", "connections_handled"},   {"reading", "connections_reading"},
    {"total", "total_requests"},          {"waiting", "connections_waiting"},
    {"writing", "connections_writing"},
};

static double number_at(const json_t *obj, const char *a, const char *b)
{
    const json_t *v = json_object_get(obj, a);
    if (b != NULL)
        v = json_object_get(v, b);
    return json_is_number(v) ? json_number_value(v) : 0;
}

/* The process's resident set size in bytes (0 when /proc cannot say). */
static double resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, rss = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &rss) != 2)
        rss = 0;
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return (double)rss * (double)(page > 0 ? page : 4096);
}

static void node_gauges(struct tr_admin_ctx *ctx, struct tr_metrics_out *out)
{
    struct tr_admin_env *env = ctx->env;
    const char *id = tr_admin_node_id();
    char labels[256];
    json_t *server = env->server_status ? env->server_status(env->ud) : NULL;
    for (size_t i = 0; i < sizeof(connection_states) / sizeof(connection_states[0]); i++) {
        snprintf(labels, sizeof(labels), "node_id=\"%s\",subsystem=\"http\",state=\"%s\"", id,
                 connection_states[i].state);
        tr_metrics_out_add(out, &connections, labels,
                           number_at(server, connection_states[i].field, NULL));
    }
    snprintf(labels, sizeof(labels), "node_id=\"%s\",subsystem=\"http\"", id);
    tr_metrics_out_add(out, &requests, labels, number_at(server, "total_requests", NULL));
    tr_metrics_out_add(out, &timers, "state=\"running\"",
                       number_at(server, "password_hashes", "running"));
    tr_metrics_out_add(out, &timers, "state=\"pending\"",
                       number_at(server, "password_hashes", "queued"));
    json_decref(server);
    bool up = env->config_hash != NULL ||
              (env->store != NULL && !env->serving_copy && tr_store_ping(env->store));
    tr_metrics_out_add(out, &reachable, NULL, up ? 1 : 0);
    snprintf(labels, sizeof(labels), "node_id=\"%s\",version=\"%s\"", id, TR_VERSION);
    tr_metrics_out_add(out, &node_info, labels, 1);
    snprintf(labels, sizeof(labels), "node_id=\"%s\",pid=\"%ld\",kong_subsystem=\"http\"", id,
             (long)getpid());
    tr_metrics_out_add(out, &vm_bytes, labels, resident_bytes());
}

/* The enabled prometheus instances of the published configuration: any at all, and any that
 * asks for the health of upstream targets. */
static void instances(bool *any, bool *health)
{
    *any = *health = false;
    struct tr_snapshot *snap = tr_snapshot_acquire();
    for (size_t i = 0; snap != NULL && i < snap->plugins.cnt; i++) {
        const struct tr_plugin_instance *in = &snap->plugins.items[i];
        if (strcmp(in->plugin->name, "prometheus") != 0)
            continue;
        *any = true;
        *health = *health || tr_prometheus_conf_upstream_health(in->conf);
    }
    tr_snapshot_unref(snap);
}

static void get_metrics(struct tr_admin_ctx *ctx)
{
    size_t index;
    if (tr_plugin_find("prometheus", &index) == NULL || !tr_plugin_enabled(index)) {
        tr_admin_reply_error(ctx, TR_ENOTFOUND);
        return;
    }
    bool any, health;
    instances(&any, &health);
    struct tr_metrics_out *out = tr_metrics_out_new();
    uint64_t refused = 0, series_bytes = 0, bound_bytes = 0;
    if (ctx->env->metrics != NULL)
        ctx->env->metrics(ctx->env->ud, any ? out : NULL, &refused, &series_bytes, &bound_bytes);
    node_gauges(ctx, out);
    char labels[256];
    snprintf(labels, sizeof(labels),
             "node_id=\"%s\",shared_dict=\"prometheus_metrics\",kong_subsystem=\"http\"",
             tr_admin_node_id());
    tr_metrics_out_add(out, &dict_bytes, labels, (double)series_bytes);
    tr_metrics_out_add(out, &dict_total, labels, (double)bound_bytes);
    if (any)
        tr_metrics_out_add(out, &errors, NULL, (double)refused);
    if (health)
        tr__admin_upstream_health_metrics(ctx, out);
    struct tr_buf text;
    tr_buf_init(&text, METRICS_MAX_BYTES);
    int rc = tr_metrics_out_render(out, &text);
    tr_metrics_out_free(out);
    if (rc != 0) {
        tr_buf_free(&text);
        tr_admin_reply_error(ctx, TR_EINTERNAL);
        return;
    }
    tr_admin_reply(ctx, 200, NULL);
    ctx->res->text = tr_buf_detach(&text, &ctx->res->text_len);
    if (ctx->res->text == NULL)
        ctx->res->text = strdup("");
    ctx->res->content_type = "text/plain; charset=UTF-8";
}

const struct tr_admin_endpoint tr_admin_metrics_endpoints[] = {
    {"/metrics", .get = get_metrics,
     .help = "Prometheus metrics (Kong's exporter) while the prometheus plugin is loaded"},
};
const size_t tr_admin_metrics_endpoints_cnt =
    sizeof(tr_admin_metrics_endpoints) / sizeof(tr_admin_metrics_endpoints[0]);
