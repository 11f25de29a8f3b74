/* SPDX-License-Identifier: MIT */
/* opentelemetry (Kong 3.9, priority 14): trace context propagation and span export.
 *   - access: the trace context of the client's headers is read (config.propagation.extract,
 *     or Kong's legacy header_type), the request's trace takes its trace id and the root span
 *     its parent, the sampling decision is made (a parent that said "not sampled" wins, else
 *     the trace-id ratio of sampling_rate or tracing_sampling_rate), the clear headers go and
 *     the inject formats are written for the upstream, naming the balancer span (or the root)
 *     as the caller. With tracing_instrumentations off there are no spans: headers are still
 *     propagated, unsampled, from an id of the plugin's own.
 *   - header_filter: http_response_header_for_traceid.
 *   - log: a sampled trace's spans (proxy/trace.c) are encoded as OTLP protobuf Span messages,
 *     queued (Kong's queue, max_batch_size 200) and sent in ExportTraceServiceRequest batches
 *     to traces_endpoint (POST, application/x-protobuf) through plugins/http_sink.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/pb.h"
#include "plugins/http_sink.h"
#include "plugins/log_queue.h"
#include "plugins/plugin.h"
#include "plugins/trace_headers.h"
#include "schema/schema.h"

#define INJECT_PRESERVE TR_TRACE_NUM_FORMATS /* "preserve" among the inject formats */

struct otel_conf {
    /* bound */
    char *traces_endpoint, *logs_endpoint, *endpoint, *trace_header, *header_type;
    int64_t connect_timeout, send_timeout, read_timeout, batch_span_count, batch_flush_delay;
    double sampling_rate;
    bool has_sampling_rate;
    struct tr_log_queue_conf queue;
    /* derived */
    struct tr_http_endpoint ep;
    char *content_type; /* application/x-protobuf, or the config's Content-Type header */
    char *headers_text; /* "Name: value\r\n" (but Content-Type) */
    char *queue_name;
    uint8_t *resource; /* an encoded Resource message */
    size_t resource_len;
    int extract[TR_TRACE_NUM_FORMATS];
    size_t num_extract;
    int inject[TR_TRACE_NUM_FORMATS + 1];
    size_t num_inject;
    int default_format;
    char **clear;
    size_t num_clear;
};

/* What access decided, for header_filter and log. */
struct otel_state {
    bool ran;
    bool sampled;
    uint8_t trace_id[16];
};

/* ---- schema ------------------------------------------------------------------------------- */

static int check_endpoint(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const json_t *v = json_object_get(rec, name);
    struct tr_http_endpoint e;
    const char *why = json_is_string(v) ? tr_http_endpoint_parse(json_string_value(v), &e) : NULL;
    if (why == NULL)
        return 0;
    snprintf(msg, msg_len, "%s", why);
    return TR_EINVAL;
}

static int check_logs_endpoint(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    if (json_is_string(json_object_get(rec, name))) {
        snprintf(msg, msg_len,
                 "torii does not export logs over OTLP: only traces_endpoint is "
                 "supported");
        return TR_EINVAL;
    }
    return 0;
}

/* Kong's resource_attributes: a map of strings to non-empty strings. */
static int check_attributes(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const json_t *h = json_object_get(rec, name);
    if (h == NULL || json_is_null(h))
        return 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)h, k, v)
    {
        if (!json_is_string(v)) {
            snprintf(msg, msg_len, "expected a string");
            return TR_EINVAL;
        }
        if (json_string_length(v) == 0 || k[0] == '\0') {
            snprintf(msg, msg_len, "length must be at least 1");
            return TR_EINVAL;
        }
    }
    return 0;
}

static int format_index(const char *name, bool allow_preserve, bool allow_single)
{
    if (allow_preserve && strcmp(name, "preserve") == 0)
        return INJECT_PRESERVE;
    for (int i = 0; tr_trace_format_names[i]; i++) {
        if (strcmp(name, tr_trace_format_names[i]) == 0)
            return i == TR_TRACE_B3_SINGLE && !allow_single ? -1 : i;
    }
    return -1;
}

static int check_format_list(json_t *rec, const char *name, bool preserve, bool single, char *msg,
                             size_t msg_len)
{
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(rec, name), i, item)
    {
        const char *f = json_string_value(item);
        if (f == NULL || format_index(f, preserve, single) < 0) {
            snprintf(msg, msg_len, "expected one of: %sw3c, b3, %sjaeger, ot, datadog, aws, gcp",
                     preserve ? "preserve, " : "", single ? "b3-single, " : "");
            return TR_EINVAL;
        }
    }
    return 0;
}

static int check_extract(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    return check_format_list(rec, name, false, false, msg, msg_len);
}

static int check_inject(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    return check_format_list(rec, name, true, true, msg, msg_len);
}

static const char *const formats[] = {"w3c",     "b3",  "b3-single", "jaeger", "ot",
                                      "datadog", "aws", "gcp",       NULL};
static const char *const header_types[] = {
    "preserve", "ignore", "b3", "b3-single", "w3c", "jaeger", "ot", "aws", "gcp", "datadog", NULL};

static const struct tr_schema_field propagation_fields[] = {
    {.name = "extract",
     .type = TR_SCHEMA_ARRAY,
     .check = check_extract,
     .help = "formats read from the request, in order (the first found wins)"},
    {.name = "clear", .type = TR_SCHEMA_ARRAY, .help = "headers removed before going upstream"},
    {.name = "inject",
     .type = TR_SCHEMA_ARRAY,
     .check = check_inject,
     .help = "formats written for the upstream; preserve: the one read"},
    {.name = "default_format",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED,
     .dflt = "\"w3c\"",
     .one_of = formats,
     .help = "what preserve writes when nothing was read"},
};

static const struct tr_schema propagation_schema = {
    .name = "propagation",
    .fields = propagation_fields,
    .cnt = TR_ARRAY_SIZE(propagation_fields),
};

static const struct tr_schema_field queue_fields[] = {TR_LOG_QUEUE_FIELDS("200")};

static const struct tr_schema queue_schema = {
    .name = "queue",
    .fields = queue_fields,
    .cnt = TR_ARRAY_SIZE(queue_fields),
};

#define BIND(m) TR_SCHEMA_BIND(struct otel_conf, m)

static const struct tr_schema_field conf_fields[] = {
    {.name = "traces_endpoint",
     .type = TR_SCHEMA_STRING,
     .check = check_endpoint,
     .help = "the OTLP/HTTP traces receiver",
     BIND(traces_endpoint)},
    {.name = "logs_endpoint",
     .type = TR_SCHEMA_STRING,
     .check = check_logs_endpoint,
     .help = "refused: torii exports traces only",
     BIND(logs_endpoint)},
    {.name = "endpoint",
     .type = TR_SCHEMA_STRING,
     .check = check_endpoint,
     .help = "Kong's deprecated name of traces_endpoint",
     BIND(endpoint)},
    {.name = "headers",
     .type = TR_SCHEMA_RECORD,
     .check = tr_http_sink_check_headers_ct,
     .help = "headers sent with each batch (a map of name to value)"},
    {.name = "resource_attributes",
     .type = TR_SCHEMA_RECORD,
     .check = check_attributes,
     .help = "resource attributes (service.name, ...) added or overridden"},
    {.name = "queue",
     .type = TR_SCHEMA_RECORD,
     .record = &queue_schema,
     .help = "Kong's queue settings",
     BIND(queue)},
    {.name = "batch_span_count",
     .type = TR_SCHEMA_INTEGER,
     .help = "deprecated: queue.max_batch_size",
     BIND(batch_span_count)},
    {.name = "batch_flush_delay",
     .type = TR_SCHEMA_INTEGER,
     .help = "deprecated: queue.max_coalescing_delay",
     BIND(batch_flush_delay)},
    {.name = "connect_timeout",
     .type = TR_SCHEMA_INTEGER,
     .flags = TR_SCHEMA_BOUNDED,
     .dflt = "1000",
     .min = 0,
     .max = 2147483646,
     .help = "ms",
     BIND(connect_timeout)},
    {.name = "send_timeout",
     .type = TR_SCHEMA_INTEGER,
     .flags = TR_SCHEMA_BOUNDED,
     .dflt = "5000",
     .min = 0,
     .max = 2147483646,
     .help = "ms",
     BIND(send_timeout)},
    {.name = "read_timeout",
     .type = TR_SCHEMA_INTEGER,
     .flags = TR_SCHEMA_BOUNDED,
     .dflt = "5000",
     .min = 0,
     .max = 2147483646,
     .help = "ms",
     BIND(read_timeout)},
    {.name = "http_response_header_for_traceid",
     .type = TR_SCHEMA_STRING,
     .check = tr_schema_check_header_name,
     .help = "a response header carrying the trace id",
     BIND(trace_header)},
    {.name = "header_type",
     .type = TR_SCHEMA_STRING,
     .dflt = "\"preserve\"",
     .one_of = header_types,
     .help = "deprecated: propagation",
     BIND(header_type)},
    {.name = "sampling_rate",
     .type = TR_SCHEMA_NUMBER,
     .flags = TR_SCHEMA_BOUNDED,
     .min = 0,
     .max = 1,
     .help = "share of traces sampled (overrides tracing_sampling_rate)"},
    {.name = "propagation",
     .type = TR_SCHEMA_RECORD,
     .record = &propagation_schema,
     .help = "which trace headers are read, cleared and written"},
};

static int self_check(json_t *rec, enum tr_schema_mode mode, char *msg, size_t msg_len)
{
    (void)mode;
    if (!json_is_string(json_object_get(rec, "traces_endpoint")) &&
        !json_is_string(json_object_get(rec, "endpoint")) &&
        !json_is_string(json_object_get(rec, "logs_endpoint"))) {
        snprintf(msg, msg_len,
                 "at least one of these fields must be non-empty: "
                 "'traces_endpoint', 'logs_endpoint'");
        return TR_EINVAL;
    }
    return 0;
}

static const struct tr_schema conf_schema = {
    .name = "opentelemetry",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
    .self_check = self_check,
};

/* ---- config ------------------------------------------------------------------------------- */

static void conf_free(void *p)
{
    struct otel_conf *c = p;
    if (c == NULL)
        return;
    free(c->headers_text);
    free(c->content_type);
    free(c->queue_name);
    free(c->resource);
    for (size_t i = 0; i < c->num_clear; i++)
        free(c->clear[i]);
    free(c->clear);
    tr_schema_free_struct(&conf_schema, p);
}

static void kv_string(struct tr_pb *w, uint32_t field, const char *key, const char *value)
{
    size_t kv = tr_pb_begin(w, field);
    tr_pb_string_field(w, 1, key);
    size_t any = tr_pb_begin(w, 2);
    tr_pb_string_field(w, 1, value);
    tr_pb_end(w, any);
    tr_pb_end(w, kv);
}

/* The Resource: service.name, service.instance.id, service.version, then the config's. */
static void encode_resource(struct otel_conf *c, const json_t *attrs, const char *node_id)
{
    struct tr_pb w;
    tr_pb_init(&w);
    const char *defaults[][2] = {{"service.name", "kong"},
                                 {"service.instance.id", node_id},
                                 {"service.version", TR_VERSION}};
    for (size_t i = 0; i < TR_ARRAY_SIZE(defaults); i++) {
        const char *v = json_string_value(json_object_get(attrs, defaults[i][0]));
        kv_string(&w, 1, defaults[i][0], v ? v : defaults[i][1]);
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)attrs, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < TR_ARRAY_SIZE(defaults); i++)
            known |= strcmp(k, defaults[i][0]) == 0;
        if (!known && json_is_string(v))
            kv_string(&w, 1, k, json_string_value(v));
    }
    c->resource = tr_pb_take(&w, &c->resource_len);
}

/* Kong's get_plugin_params: propagation as configured when any of extract, inject or clear
 * is set; else header_type's legacy meaning. */
static void propagation_params(struct otel_conf *c, const json_t *prop)
{
    const json_t *extract = json_object_get(prop, "extract");
    const json_t *inject = json_object_get(prop, "inject");
    const json_t *clear = json_object_get(prop, "clear");
    const char *df = json_string_value(json_object_get(prop, "default_format"));
    c->default_format = df ? format_index(df, false, true) : TR_TRACE_W3C;
    if (c->default_format < 0)
        c->default_format = TR_TRACE_W3C;
    if (json_is_array(extract) || json_is_array(inject) || json_is_array(clear)) {
        size_t i;
        const json_t *item;
        json_array_foreach(extract, i, item)
        {
            int f = format_index(json_string_value(item), false, false);
            if (f >= 0 && c->num_extract < TR_TRACE_NUM_FORMATS)
                c->extract[c->num_extract++] = f;
        }
        json_array_foreach(inject, i, item)
        {
            int f = format_index(json_string_value(item), true, true);
            if (f >= 0 && c->num_inject < TR_TRACE_NUM_FORMATS + 1)
                c->inject[c->num_inject++] = f;
        }
        c->clear = tr_xcalloc(json_array_size(clear) + 1, sizeof(*c->clear));
        json_array_foreach(clear, i, item)
        {
            if (json_is_string(item))
                c->clear[c->num_clear++] = tr_xstrdup(json_string_value(item));
        }
        return;
    }
    static const int all[] = {TR_TRACE_B3,      TR_TRACE_W3C, TR_TRACE_JAEGER, TR_TRACE_OT,
                              TR_TRACE_DATADOG, TR_TRACE_AWS, TR_TRACE_GCP};
    const char *ht = c->header_type ? c->header_type : "preserve";
    if (strcmp(ht, "ignore") == 0) {
        c->inject[c->num_inject++] = c->default_format;
        return;
    }
    for (size_t i = 0; i < TR_ARRAY_SIZE(all); i++)
        c->extract[c->num_extract++] = all[i];
    c->inject[c->num_inject++] = INJECT_PRESERVE;
    if (strcmp(ht, "preserve") != 0)
        c->inject[c->num_inject++] = format_index(ht, false, true);
}

/* The config's headers; a Content-Type among them (Kong's exact key) replaces
 * application/x-protobuf. */
static void request_headers(struct otel_conf *c, const json_t *h)
{
    const char *ct = json_string_value(json_object_get(h, "Content-Type"));
    c->content_type = tr_xstrdup(ct ? ct : "application/x-protobuf");
    c->headers_text = tr_http_sink_headers_text(h, "Content-Type");
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    struct otel_conf *c = tr_schema_parse_new(&conf_schema, config, sizeof(*c));
    const json_t *rate = json_object_get(config, "sampling_rate");
    c->has_sampling_rate = json_is_number(rate);
    c->sampling_rate = json_number_value(rate);
    const char *url = c->traces_endpoint ? c->traces_endpoint : c->endpoint;
    const char *why = url ? tr_http_endpoint_parse(url, &c->ep) : "required";
    if (why != NULL) {
        snprintf(err, err_len, "traces_endpoint: %s", why);
        conf_free(c);
        return NULL;
    }
    /* Kong's deprecated fields win when set to other than their old defaults */
    if (c->batch_span_count > 0 && c->batch_span_count != 200)
        c->queue.max_batch_size = c->batch_span_count;
    if (c->batch_flush_delay > 0 && c->batch_flush_delay != 3)
        c->queue.max_coalescing_delay = (double)c->batch_flush_delay;
    request_headers(c, json_object_get(config, "headers"));
    propagation_params(c, json_object_get(config, "propagation"));
    encode_resource(c, json_object_get(config, "resource_attributes"), tr_conf_node_id());
    size_t nl = strlen(url) + 32;
    c->queue_name = tr_xmalloc(nl);
    snprintf(c->queue_name, nl, "traces:%s", url);
    return c;
}

/* ---- propagation -------------------------------------------------------------------------- */

static bool get_header(void *ud, const char *name, size_t nth, struct tr_str *value)
{
    return tr_ctx_header_nth(ud, tr_str_from_cstr(name), nth, value);
}

static void set_header(void *ud, const char *name, const char *value)
{
    tr_ctx_set_header(ud, tr_str_from_cstr(name), tr_str_from_cstr(value));
}

/* Kong's ratio sampler: the first 8 bytes of the trace id, read little-endian, below
 * rate * 2^64. */
static bool ratio_sampled(const uint8_t trace_id[16], double rate)
{
    if (rate >= 1)
        return true;
    if (rate <= 0)
        return false;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | trace_id[i];
    return (double)v < rate * 18446744073709551616.0;
}

static double rate_of(struct tr_ctx *ctx, const struct otel_conf *c)
{
    return c->has_sampling_rate ? c->sampling_rate : tr_ctx_conf(ctx)->tracing_rate;
}

static int otel_access(struct tr_ctx *ctx, const void *conf)
{
    const struct otel_conf *c = conf;
    struct otel_state *st = tr_ctx_state(ctx);
    struct tr_trace *t = tr_ctx_trace(ctx);
    struct tr_trace_context in = {.sampled = -1};
    int found = -1;
    for (size_t i = 0; i < c->num_extract && found < 0; i++) {
        if (tr_trace_extract(c->extract[i], get_header, ctx, &in))
            found = c->extract[i];
    }
    struct tr_trace_inject out = {.trace_id_size = 16};
    uint8_t root_id[8];
    if (t) {
        if (in.has_trace) {
            memcpy(t->trace_id, in.trace_id, 16);
            out.trace_id_size = in.trace_id_size;
        }
        if (in.has_span || in.has_parent) {
            memcpy(t->root_parent, in.has_span ? in.span_id : in.parent_id, 8);
            t->has_root_parent = true;
        }
        memcpy(root_id, t->spans[0].id, 8);
        memcpy(out.trace_id, t->trace_id, 16);
        if (t->balancer >= 0) { /* the upstream call belongs to the balancer span */
            memcpy(out.span_id, t->spans[t->balancer].id, 8);
            memcpy(out.parent_id, root_id, 8);
            out.has_parent = true;
        } else {
            memcpy(out.span_id, root_id, 8);
            out.has_parent = t->has_root_parent;
            memcpy(out.parent_id, t->root_parent, 8);
        }
        st->sampled = in.sampled == 0 ? false : ratio_sampled(t->trace_id, rate_of(ctx, c));
        t->sampled = st->sampled;
    } else {
        /* tracing off: a propagation-only root of the plugin's own, never sampled */
        if (in.has_trace) {
            memcpy(out.trace_id, in.trace_id, 16);
            out.trace_id_size = in.trace_id_size;
        } else {
            tr_ctx_random_id(ctx, out.trace_id);
            tr_ctx_random_id(ctx, out.trace_id + 8);
        }
        tr_ctx_random_id(ctx, out.span_id);
        out.has_parent = in.has_span || in.has_parent;
        memcpy(out.parent_id, in.has_span ? in.span_id : in.parent_id, 8);
        st->sampled = false;
    }
    out.sampled = st->sampled;
    out.debug = in.debug && st->sampled;
    memcpy(st->trace_id, out.trace_id, 16);
    st->ran = true;

    for (size_t i = 0; i < c->num_clear; i++)
        tr_ctx_remove_header(ctx, tr_str_from_cstr(c->clear[i]));
    bool done[TR_TRACE_NUM_FORMATS] = {false};
    for (size_t i = 0; i < c->num_inject; i++) {
        int f = c->inject[i];
        if (f == INJECT_PRESERVE) {
            f = found >= 0 ? found : c->default_format;
            if (f == TR_TRACE_B3 && in.single)
                f = TR_TRACE_B3_SINGLE;
        }
        if (f < 0 || f >= TR_TRACE_NUM_FORMATS || done[f])
            continue;
        done[f] = true;
        tr_trace_inject(f, &out, set_header, ctx);
    }
    return TR_PLUGIN_NEXT;
}

static void header_filter(struct tr_ctx *ctx, const void *conf)
{
    const struct otel_conf *c = conf;
    if (c->trace_header == NULL)
        return;
    const struct otel_state *st = tr_ctx_state(ctx);
    struct tr_trace *t = tr_ctx_trace(ctx);
    const uint8_t *id = st->ran ? st->trace_id : t ? t->trace_id : NULL;
    if (id == NULL)
        return;
    char hex[33];
    tr_trace_hex(id, 16, hex);
    tr_ctx_add_response_header(ctx, tr_str_from_cstr(c->trace_header), tr_str_from_cstr(hex));
}

/* ---- export ------------------------------------------------------------------------------- */

static void encode_attr(struct tr_pb *w, uint32_t field, const struct tr_span_attr *a)
{
    size_t kv = tr_pb_begin(w, field);
    tr_pb_string_field(w, 1, a->key);
    size_t any = tr_pb_begin(w, 2);
    switch (a->type) {
    case 's':
        tr_pb_string_field(w, 1, a->s ? a->s : "");
        break;
    case 'b':
        tr_pb_varint_field(w, 2, a->b);
        break;
    case 'i':
        tr_pb_varint_field(w, 3, (uint64_t)a->i);
        break;
    case 'd':
        tr_pb_double_field(w, 4, a->d);
        break;
    }
    tr_pb_end(w, any);
    tr_pb_end(w, kv);
}

/* One Span message (opentelemetry/proto/trace/v1/trace.proto). */
static uint8_t *encode_span(const struct tr_trace *t, const struct tr_span *s, size_t *len)
{
    struct tr_pb w;
    tr_pb_init(&w);
    tr_pb_bytes_field(&w, 1, t->trace_id, 16);
    tr_pb_bytes_field(&w, 2, s->id, 8);
    if (s->parent >= 0)
        tr_pb_bytes_field(&w, 4, t->spans[s->parent].id, 8);
    else if (t->has_root_parent)
        tr_pb_bytes_field(&w, 4, t->root_parent, 8);
    tr_pb_string_field(&w, 5, s->name);
    tr_pb_varint_field(&w, 6, (uint64_t)s->kind);
    tr_pb_fixed64_field(&w, 7, s->start_ns);
    tr_pb_fixed64_field(&w, 8, s->end_ns ? s->end_ns : s->start_ns);
    for (unsigned i = 0; i < s->num_attrs; i++)
        encode_attr(&w, 9, &s->attrs[i]);
    if (s->event) {
        size_t ev = tr_pb_begin(&w, 11);
        tr_pb_fixed64_field(&w, 1, s->event_ns);
        tr_pb_string_field(&w, 2, "exception");
        struct tr_span_attr msg = {.key = "exception.message", .type = 's', .s = s->event};
        encode_attr(&w, 3, &msg);
        tr_pb_end(&w, ev);
    }
    if (s->error) {
        size_t st = tr_pb_begin(&w, 15);
        tr_pb_varint_field(&w, 3, 2); /* STATUS_CODE_ERROR */
        tr_pb_end(&w, st);
    }
    return tr_pb_take(&w, len);
}

/* ExportTraceServiceRequest: one ResourceSpans (the sink's Resource) with one ScopeSpans
 * ("kong-internal" 0.1.0, as Kong's) holding the batch's spans. */
static char *batch_body(const struct tr_log_batch *b, bool single, const char *resource,
                        size_t resource_len, size_t *len)
{
    (void)single;
    struct tr_pb w;
    tr_pb_init(&w);
    size_t rs = tr_pb_begin(&w, 1);
    tr_pb_bytes_field(&w, 1, resource, resource_len);
    size_t ss = tr_pb_begin(&w, 2);
    size_t scope = tr_pb_begin(&w, 1);
    tr_pb_string_field(&w, 1, "kong-internal");
    tr_pb_string_field(&w, 2, "0.1.0");
    tr_pb_end(&w, scope);
    for (size_t i = 0; i < b->n; i++)
        tr_pb_bytes_field(&w, 2, b->entries[i], b->lens[i]);
    tr_pb_end(&w, ss);
    tr_pb_end(&w, rs);
    return (char *)tr_pb_take(&w, len);
}

static void otel_log(struct tr_ctx *ctx, const void *conf)
{
    const struct otel_conf *c = conf;
    struct tr_trace *t = tr_ctx_trace(ctx);
    if (t == NULL)
        return;
    const struct otel_state *st = tr_ctx_state(ctx);
    /* a trace the plugin's access never saw (an earlier plugin answered) keeps the node's
     * sampling decision */
    bool sampled =
        st->ran ? st->sampled : ratio_sampled(t->trace_id, tr_ctx_conf(ctx)->tracing_rate);
    if (!sampled)
        return;
    /* Kong's queue is the instance's ("<id>:traces"); the endpoint is in the name so a
     * changed endpoint gets a queue of its own */
    size_t nl = strlen(tr_ctx_plugin_id(ctx)) + strlen(c->queue_name) + 2;
    char *name = tr_ctx_alloc(ctx, nl);
    snprintf(name, nl, "%s:%s", tr_ctx_plugin_id(ctx), c->queue_name);
    uint32_t timeout = (uint32_t)c->connect_timeout;
    if ((uint32_t)c->send_timeout > timeout)
        timeout = (uint32_t)c->send_timeout;
    if ((uint32_t)c->read_timeout > timeout)
        timeout = (uint32_t)c->read_timeout;
    struct tr_http_sink_target target = {
        .plugin = "opentelemetry",
        .queue_name = name,
        .host = c->ep.host,
        .path = c->ep.path,
        .method = "POST",
        .content_type = c->content_type,
        .port = c->ep.port,
        .tls = strcmp(c->ep.scheme, "https") == 0,
        .timeout_ms = timeout,
        .keepalive_ms = 60000,
        .queue = &c->queue,
        .headers_text = c->headers_text,
        .extra = (const char *)c->resource,
        .extra_len = c->resource_len,
        .body = batch_body,
    };
    for (size_t i = 0; i < t->num; i++) {
        if (t->spans[i].start_ns == 0)
            continue; /* made for a try that never happened */
        size_t len;
        uint8_t *span = encode_span(t, &t->spans[i], &len);
        tr_http_sink_add(ctx, &target, c, (char *)span, len);
    }
}

const struct tr_plugin tr_plugin_opentelemetry = {
    .name = "opentelemetry",
    .version = "3.9.1",
    .priority = 14,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .access = otel_access,
    .header_filter = header_filter,
    .log = otel_log,
    .state_size = sizeof(struct otel_state),
    .worker_free = tr_http_sink_worker_free,
};
