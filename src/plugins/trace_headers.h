/* SPDX-License-Identifier: MIT */
/* Trace context headers as Kong 3.9 reads and writes them (kong/observability/tracing/
 * propagation): w3c (traceparent), b3 (X-B3-* or the single b3 header), jaeger
 * (uber-trace-id), ot (ot-tracer-*), datadog (x-datadog-*), aws (x-amzn-trace-id) and gcp
 * (x-cloud-trace-context). Pure functions over a header getter and setter; ids are bytes, a
 * trace id of 8 bytes (b3, jaeger, ot, datadog allow it) is kept left-padded to 16 with its
 * original size noted. */
#ifndef TR_PLUGINS_TRACE_HEADERS_H
#define TR_PLUGINS_TRACE_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

enum tr_trace_format {
    TR_TRACE_W3C,
    TR_TRACE_B3,
    TR_TRACE_B3_SINGLE,
    TR_TRACE_JAEGER,
    TR_TRACE_OT,
    TR_TRACE_DATADOG,
    TR_TRACE_AWS,
    TR_TRACE_GCP,
    TR_TRACE_NUM_FORMATS,
};

/* Kong's names ("w3c", "b3-single", ...), in enum order; NULL-terminated. */
extern const char *const tr_trace_format_names[];

/* What a request's headers said. */
struct tr_trace_context {
    bool has_trace;
    uint8_t trace_id[16];
    size_t trace_id_size; /* 16, or 8 for a 64-bit id (stored in the last 8 bytes) */
    bool has_span;
    uint8_t span_id[8];
    bool has_parent;
    uint8_t parent_id[8];
    int sampled; /* 1, 0, or -1 when the headers did not say */
    bool debug;  /* b3's "d" / X-B3-Flags: 1 */
    bool single; /* b3 came as one header */
};

/* The request's headers: the nth value of name (case-insensitive). */
typedef bool (*tr_trace_get_fn)(void *ud, const char *name, size_t nth, struct tr_str *value);
/* A header for the upstream request (replacing one of that name). */
typedef void (*tr_trace_set_fn)(void *ud, const char *name, const char *value);

/* Read format's headers: true when they were there (Kong's extractor returned something),
 * with what they said in *out (which may still lack a trace id). */
bool tr_trace_extract(enum tr_trace_format format, tr_trace_get_fn get, void *ud,
                      struct tr_trace_context *out);

/* What goes out: the trace, the span the upstream call belongs to and its parent. */
struct tr_trace_inject {
    uint8_t trace_id[16];
    size_t trace_id_size; /* 16, or 8 (kept for the formats that allow it) */
    uint8_t span_id[8];
    bool has_parent;
    uint8_t parent_id[8];
    bool sampled;
    bool debug;
};

/* Write format's headers through set. */
void tr_trace_inject(enum tr_trace_format format, const struct tr_trace_inject *in,
                     tr_trace_set_fn set, void *ud);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void tr_trace_hex(const uint8_t *bytes, size_t n, char *out);

#endif
