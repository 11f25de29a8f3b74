/* SPDX-License-Identifier: MIT */
/* core/metrics.h: series summed exactly across shards (one counting thread each, a reader
 * merging while they count), the shard's bound, histograms in Kong's exporter layout, number
 * and label formatting. */
#include "core/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/buf.h"

static const struct tr_metric_family requests = {"kong_http_requests_total", "HTTP status codes",
                                                 TR_METRIC_COUNTER, NULL, 0};
static const double buckets[] = {1, 2, 5};
static const struct tr_metric_family latency = {"kong_kong_latency_ms", "Latency",
                                                TR_METRIC_HISTOGRAM, buckets, 3};
static const struct tr_metric_family gauge = {"kong_datastore_reachable", "Datastore",
                                              TR_METRIC_GAUGE, NULL, 0};

static char *render(struct tr_metrics_out *o)
{
    struct tr_buf b;
    tr_buf_init(&b, 1 << 20);
    TR_CHECK_INT(tr_metrics_out_render(o, &b), 0);
    TR_CHECK_INT(tr_buf_append(&b, "", 1), 0);
    size_t len;
    return tr_buf_detach(&b, &len);
}

static void test_sum_and_layout(void)
{
    struct tr_metrics_shard *a = tr_metrics_shard_new(100), *b = tr_metrics_shard_new(100);
    const char *l200 = "service=\"s\",code=\"200\"";
    tr_metrics_add(tr_metrics_series_get(a, &requests, l200, strlen(l200)), 3);
    tr_metrics_add(tr_metrics_series_get(b, &requests, l200, strlen(l200)), 4);
    const char *l = "service=\"s\"";
    tr_metrics_observe(tr_metrics_series_get(a, &latency, l, strlen(l)), 2);
    tr_metrics_observe(tr_metrics_series_get(b, &latency, l, strlen(l)), 7);
    const char *l2 = "service=\"a\"";
    tr_metrics_observe(tr_metrics_series_get(b, &latency, l2, strlen(l2)), 0.5);
    struct tr_metrics_out *o = tr_metrics_out_new();
    tr_metrics_out_merge(o, a);
    tr_metrics_out_merge(o, b);
    tr_metrics_out_add(o, &gauge, NULL, 1);
    char *text = render(o);
    const char *want =
        "# HELP kong_datastore_reachable Datastore\n"
        "# TYPE kong_datastore_reachable gauge\n"
        "kong_datastore_reachable 1\n"
        "# HELP kong_http_requests_total HTTP status codes\n"
        "# TYPE kong_http_requests_total counter\n"
        "kong_http_requests_total{service=\"s\",code=\"200\"} 7\n"
        "# HELP kong_kong_latency_ms Latency\n"
        "# TYPE kong_kong_latency_ms histogram\n"
        /* every bucket of every series (those something fell into), then counts, then sums */
        "kong_kong_latency_ms_bucket{service=\"a\",le=\"1\"} 1\n"
        "kong_kong_latency_ms_bucket{service=\"a\",le=\"2\"} 1\n"
        "kong_kong_latency_ms_bucket{service=\"a\",le=\"5\"} 1\n"
        "kong_kong_latency_ms_bucket{service=\"a\",le=\"+Inf\"} 1\n"
        "kong_kong_latency_ms_bucket{service=\"s\",le=\"2\"} 1\n"
        "kong_kong_latency_ms_bucket{service=\"s\",le=\"5\"} 1\n"
        "kong_kong_latency_ms_bucket{service=\"s\",le=\"+Inf\"} 2\n"
        "kong_kong_latency_ms_count{service=\"a\"} 1\n"
        "kong_kong_latency_ms_count{service=\"s\"} 2\n"
        "kong_kong_latency_ms_sum{service=\"a\"} 0.5\n"
        "kong_kong_latency_ms_sum{service=\"s\"} 9\n";
    TR_CHECK_STR(text, want);
    free(text);
    tr_metrics_out_free(o);
    tr_metrics_shard_free(a);
    tr_metrics_shard_free(b);
}

static void test_bound(void)
{
    struct tr_metrics_shard *s = tr_metrics_shard_new(2);
    TR_CHECK(tr_metrics_series_get(s, &requests, "a=\"1\"", 5) != NULL);
    TR_CHECK(tr_metrics_series_get(s, &requests, "a=\"2\"", 5) != NULL);
    TR_CHECK(tr_metrics_series_get(s, &requests, "a=\"1\"", 5) != NULL); /* known: found */
    TR_CHECK(tr_metrics_series_get(s, &requests, "a=\"3\"", 5) == NULL);
    tr_metrics_add(NULL, 1); /* a refused series counts nothing, safely */
    TR_CHECK_INT(tr_metrics_shard_refused(s), 1);
    tr_metrics_refuse(s);
    TR_CHECK_INT(tr_metrics_shard_refused(s), 2);
    TR_CHECK(tr_metrics_shard_bytes(s) > 0);
    TR_CHECK(tr_metrics_shard_bound_bytes(s) > 0);
    tr_metrics_shard_free(s);
}

static void test_many_series_grow(void)
{
    struct tr_metrics_shard *s = tr_metrics_shard_new(5000);
    char l[32];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 5000; i++) {
            int n = snprintf(l, sizeof(l), "k=\"%d\"", i);
            tr_metrics_add(tr_metrics_series_get(s, &requests, l, (size_t)n), 1);
        }
    }
    struct tr_metrics_out *o = tr_metrics_out_new();
    tr_metrics_out_merge(o, s);
    char *text = render(o);
    TR_CHECK(strstr(text, "kong_http_requests_total{k=\"0\"} 2\n") != NULL);
    TR_CHECK(strstr(text, "kong_http_requests_total{k=\"4999\"} 2\n") != NULL);
    TR_CHECK_INT(tr_metrics_shard_refused(s), 0);
    free(text);
    tr_metrics_out_free(o);
    tr_metrics_shard_free(s);
}

/* One thread counts while another merges: every merge sees a whole list and, at the end, the
 * exact total. */
struct race {
    struct tr_metrics_shard *s;
    atomic_bool done;
};

static void *count_many(void *arg)
{
    struct race *r = arg;
    char l[32];
    for (int i = 0; i < 200000; i++) {
        int n = snprintf(l, sizeof(l), "k=\"%d\"", i % 300);
        tr_metrics_add(tr_metrics_series_get(r->s, &requests, l, (size_t)n), 1);
    }
    atomic_store(&r->done, true);
    return NULL;
}

static void test_concurrent_merge(void)
{
    struct race r = {.s = tr_metrics_shard_new(1000)};
    pthread_t th;
    pthread_create(&th, NULL, count_many, &r);
    while (!atomic_load(&r.done)) {
        struct tr_metrics_out *o = tr_metrics_out_new();
        tr_metrics_out_merge(o, r.s);
        tr_metrics_out_free(o);
    }
    pthread_join(th, NULL);
    struct tr_metrics_out *o = tr_metrics_out_new();
    tr_metrics_out_merge(o, r.s);
    tr_metrics_out_add(o, &requests, "k=\"0\"", 0);
    char *text = render(o);
    /* 200000 / 300: 667 for k < 200, 666 above */
    TR_CHECK(strstr(text, "kong_http_requests_total{k=\"0\"} 667\n") != NULL);
    TR_CHECK(strstr(text, "kong_http_requests_total{k=\"299\"} 666\n") != NULL);
    free(text);
    tr_metrics_out_free(o);
    tr_metrics_shard_free(r.s);
}

static void test_escape_and_numbers(void)
{
    char out[64];
    TR_CHECK_INT(tr_metrics_escape(out, sizeof(out), "a\"b\\c\nd", 7), 10);
    TR_CHECK_STR(out, "a\\\"b\\\\c\\nd");
    TR_CHECK_INT(tr_metrics_escape(out, 4, "abcdef", 6), 4); /* does not fit */
    struct tr_metrics_out *o = tr_metrics_out_new();
    tr_metrics_out_add(o, &gauge, "x=\"frac\"", 0.00037);
    tr_metrics_out_add(o, &gauge, "x=\"big\"", 1e15);
    char *text = render(o);
    TR_CHECK(strstr(text, "kong_datastore_reachable{x=\"frac\"} 0.00037\n") != NULL);
    TR_CHECK(strstr(text, "kong_datastore_reachable{x=\"big\"} 1e+15\n") != NULL);
    free(text);
    tr_metrics_out_free(o);
}

int main(void)
{
    test_sum_and_layout();
    test_bound();
    test_many_series_grow();
    test_concurrent_merge();
    test_escape_and_numbers();
    return TR_CHECK_DONE();
}
