/* SPDX-License-Identifier: MIT */
/* What GET /metrics needs of the prometheus plugin: its request families (counted by the plugin
 * in the workers' shards) and one flag of its config. */
#ifndef TR_PLUGINS_PROMETHEUS_H
#define TR_PLUGINS_PROMETHEUS_H

#include <stdbool.h>

#include "core/metrics.h"

extern const struct tr_metric_family tr_prom_http_requests;
extern const struct tr_metric_family tr_prom_kong_latency;
extern const struct tr_metric_family tr_prom_upstream_latency;
extern const struct tr_metric_family tr_prom_request_latency;
extern const struct tr_metric_family tr_prom_bandwidth;

/* Does this parsed config (an instance's conf) ask for kong_upstream_target_health? */
bool tr_prometheus_conf_upstream_health(const void *conf);

#endif
