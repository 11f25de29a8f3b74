/* SPDX-License-Identifier: MIT */
/* Metrics in Prometheus's model: families (a name, a help line, a type, histogram buckets) and
 * series (one label set of a family).
 *
 * Counting: each thread that counts (a proxy worker) owns a shard. Only the owner adds series
 * and values, so a count is a relaxed atomic add on memory no other thread writes: no lock and
 * no shared cache line on the request path. A series is never removed while its shard lives;
 * new ones are published at the head of a list with a release store, so a reader on another
 * thread walks a list that only grows, and reads values that are whole (64-bit atomics).
 *
 * Exporting: a scrape gathers every shard into one tr_metrics_out (same family and labels are
 * summed, so the numbers are exact), adds the node's own values (gauges, counters kept
 * elsewhere), and renders the text exposition format, sorted by name then labels. */
#ifndef TR_CORE_METRICS_H
#define TR_CORE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tr_buf;

enum tr_metric_type { TR_METRIC_COUNTER, TR_METRIC_GAUGE, TR_METRIC_HISTOGRAM };

/* Static description of one metric. */
struct tr_metric_family {
    const char *name; /* e.g. "kong_http_requests_total" */
    const char *help;
    enum tr_metric_type type;
    const double *buckets; /* histogram: upper bounds, ascending (+Inf is implied) */
    size_t nbuckets;
};

struct tr_metrics_shard;
struct tr_metrics_series;

/* A shard that holds at most max_series series; past that, new label sets are refused and
 * counted in tr_metrics_shard_refused. Aborts on OOM. */
struct tr_metrics_shard *tr_metrics_shard_new(size_t max_series);
void tr_metrics_shard_free(struct tr_metrics_shard *s);

/* The series of family f with label text labels (as it appears between the braces:
 * `service="a",code="200"`, already escaped), made on first use. Owner thread only. NULL when
 * the shard is full. */
struct tr_metrics_series *tr_metrics_series_get(struct tr_metrics_shard *s,
                                                const struct tr_metric_family *f,
                                                const char *labels, size_t len);
/* Owner thread only. A counter or gauge series: add v. A histogram series: observe v. */
void tr_metrics_add(struct tr_metrics_series *se, uint64_t v);
void tr_metrics_observe(struct tr_metrics_series *se, double v);
/* Series refused: label sets past the shard's bound, and whatever a caller could not count
 * (tr_metrics_refuse, owner thread only). Readable from any thread. */
void tr_metrics_refuse(struct tr_metrics_shard *s);
uint64_t tr_metrics_shard_refused(const struct tr_metrics_shard *s);
/* Bytes the shard's series take now, and at its bound (at 256 label bytes a series). Any
 * thread. */
uint64_t tr_metrics_shard_bytes(const struct tr_metrics_shard *s);
uint64_t tr_metrics_shard_bound_bytes(const struct tr_metrics_shard *s);

/* ---- exporting ---------------------------------------------------------------------------- */

struct tr_metrics_out;

struct tr_metrics_out *tr_metrics_out_new(void);
void tr_metrics_out_free(struct tr_metrics_out *o);
/* Add every series of s (any thread may call this while the owner keeps counting). */
void tr_metrics_out_merge(struct tr_metrics_out *o, const struct tr_metrics_shard *s);
/* Add v to the counter or gauge series (f, labels): the node's own numbers. */
void tr_metrics_out_add(struct tr_metrics_out *o, const struct tr_metric_family *f,
                        const char *labels, double v);
/* The text exposition format (version 0.0.4) of everything added, as Kong's exporter prints
 * it: families sorted by name, series by labels, a family's HELP and TYPE only when it has a
 * series, a histogram's buckets (those something fell into), then its _count lines, then its
 * _sum lines. Returns 0 or a negative TR_E* (the buffer's bound). */
int tr_metrics_out_render(const struct tr_metrics_out *o, struct tr_buf *b);

/* Append a label value escaped as the exposition format wants it (backslash, double quote and
 * newline escaped) to dst (size dst_len, always terminated). Returns the length written, or
 * dst_len when it did not fit (dst then holds a truncated value). */
size_t tr_metrics_escape(char *dst, size_t dst_len, const char *value, size_t len);

#endif
