/* SPDX-License-Identifier: MIT */
/* What tracing writes and reads: the protocol buffers writer (varints, fixed fields, nested
 * messages whose length is patched in place) and the trace context headers of every format,
 * with Kong's vectors (spec/01-unit/26-observability/02-propagation_strategies_spec.lua). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "core/pb.h"
#include "plugins/trace_headers.h"

static void test_pb(void)
{
    struct tr_pb w;
    tr_pb_init(&w);
    tr_pb_varint_field(&w, 1, 150); /* the protobuf guide's example: 08 96 01 */
    tr_pb_string_field(&w, 2, "testing");
    size_t m = tr_pb_begin(&w, 3);
    tr_pb_varint_field(&w, 1, 1);
    tr_pb_end(&w, m);
    tr_pb_fixed64_field(&w, 4, 0x0102030405060708ull);
    size_t len;
    uint8_t *b = tr_pb_take(&w, &len);
    static const uint8_t want[] = {0x08, 0x96, 0x01, 0x12, 0x07, 't',  'e',  's',  't',
                                   'i',  'n',  'g',  0x1a, 0x02, 0x08, 0x01, 0x21, 0x08,
                                   0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
    TR_CHECK_INT(len, sizeof(want));
    TR_CHECK(len == sizeof(want) && memcmp(b, want, len) == 0);
    free(b);

    /* a nested message longer than 127 bytes takes a two-byte length */
    tr_pb_init(&w);
    m = tr_pb_begin(&w, 1);
    char big[200];
    memset(big, 'x', sizeof(big));
    tr_pb_bytes_field(&w, 2, big, sizeof(big));
    tr_pb_end(&w, m);
    b = tr_pb_take(&w, &len);
    TR_CHECK_INT(len, 1 + 2 + 1 + 2 + 200);
    TR_CHECK(b[0] == 0x0a && b[1] == (uint8_t)(0x80 | (203 & 0x7f)) && b[2] == 203 >> 7);
    free(b);
}

/* A request's headers for the extractors. */
struct req {
    const char *h[8][2];
};

static bool get(void *ud, const char *name, size_t nth, struct tr_str *value)
{
    const struct req *r = ud;
    for (size_t i = 0; i < 8 && r->h[i][0]; i++) {
        if (strcasecmp(r->h[i][0], name) == 0 && nth-- == 0) {
            *value = tr_str_from_cstr(r->h[i][1]);
            return true;
        }
    }
    return false;
}

static char out_name[4][40], out_value[4][160];
static int outs;

static void set(void *ud, const char *name, const char *value)
{
    (void)ud;
    if (outs < 4) {
        snprintf(out_name[outs], sizeof(out_name[0]), "%s", name);
        snprintf(out_value[outs], sizeof(out_value[0]), "%s", value);
        outs++;
    }
}

static const char *injected(enum tr_trace_format f, const struct tr_trace_inject *in,
                            const char *name)
{
    outs = 0;
    tr_trace_inject(f, in, set, NULL);
    for (int i = 0; i < outs; i++) {
        if (strcmp(out_name[i], name) == 0)
            return out_value[i];
    }
    return "";
}

static void hexof(const uint8_t *p, size_t n, char *out)
{
    tr_trace_hex(p, n, out);
}

static void test_extract(void)
{
    struct tr_trace_context c;
    char hex[33];
    struct req w3c = {{{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}};
    TR_CHECK(tr_trace_extract(TR_TRACE_W3C, get, &w3c, &c));
    hexof(c.trace_id, 16, hex);
    TR_CHECK_STR(hex, "0af7651916cd43dd8448eb211c80319c");
    hexof(c.span_id, 8, hex);
    TR_CHECK_STR(hex, "b7ad6b7169203331");
    TR_CHECK_INT(c.sampled, 1);
    struct req w3c_twice = {{{"traceparent", w3c.h[0][1]}, {"traceparent", w3c.h[0][1]}}};
    TR_CHECK(!tr_trace_extract(TR_TRACE_W3C, get, &w3c_twice, &c));
    struct req w3c_bad = {{{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71-01"}}};
    TR_CHECK(!tr_trace_extract(TR_TRACE_W3C, get, &w3c_bad, &c));

    struct req b3 = {{{"b3", "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-d-"
                             "8448eb211c80319c"}}};
    TR_CHECK(tr_trace_extract(TR_TRACE_B3, get, &b3, &c));
    TR_CHECK(c.single && c.debug && c.sampled == 1 && c.has_parent);
    struct req b3_multi = {{{"x-b3-traceid", "8448eb211c80319c"},
                            {"x-b3-spanid", "b7ad6b7169203331"},
                            {"x-b3-sampled", "0"}}};
    TR_CHECK(tr_trace_extract(TR_TRACE_B3, get, &b3_multi, &c));
    TR_CHECK(c.has_trace && c.trace_id_size == 8 && c.sampled == 0 && !c.single);
    struct req b3_bad_id = {{{"x-b3-traceid", "zz48eb211c80319c"}, {"x-b3-sampled", "1"}}};
    TR_CHECK(tr_trace_extract(TR_TRACE_B3, get, &b3_bad_id, &c)); /* b3 is there ... */
    TR_CHECK(!c.has_trace && c.sampled == 1);                     /* ... without an id */

    struct req jaeger = {{{"uber-trace-id", "8448eb211c80319c:b7ad6b7169203331:0:1"}}};
    TR_CHECK(tr_trace_extract(TR_TRACE_JAEGER, get, &jaeger, &c));
    TR_CHECK(c.trace_id_size == 8 && c.sampled == 1 && !c.has_parent);

    struct req dd = {{{"x-datadog-trace-id", "9532127138774266268"},
                      {"x-datadog-parent-id", "13235353014750950193"},
                      {"x-datadog-sampling-priority", "1"}}};
    TR_CHECK(tr_trace_extract(TR_TRACE_DATADOG, get, &dd, &c));
    hexof(c.trace_id + 8, 8, hex);
    TR_CHECK_STR(hex, "8448eb211c80319c");
    hexof(c.span_id, 8, hex);
    TR_CHECK_STR(hex, "b7ad6b7169203331");
    struct req dd_bad = {{{"x-datadog-trace-id", "1"}, {"x-datadog-sampling-priority", "5"}}};
    TR_CHECK(!tr_trace_extract(TR_TRACE_DATADOG, get, &dd_bad, &c));

    struct req aws = {{{"x-amzn-trace-id", "Root=1-0af76519-16cd43dd8448eb211c80319c;"
                                           "Parent=b7ad6b7169203331;Sampled=1"}}};
    TR_CHECK(tr_trace_extract(TR_TRACE_AWS, get, &aws, &c));
    hexof(c.trace_id, 16, hex);
    TR_CHECK_STR(hex, "0af7651916cd43dd8448eb211c80319c");
    struct req gcp = {
        {{"x-cloud-trace-context", "0af7651916cd43dd8448eb211c80319c/13235353014750950193;o=1"}}};
    TR_CHECK(tr_trace_extract(TR_TRACE_GCP, get, &gcp, &c));
    hexof(c.span_id, 8, hex);
    TR_CHECK_STR(hex, "b7ad6b7169203331");
    struct req gcp_upper = {{{"x-cloud-trace-context", "0AF7651916CD43DD8448EB211C80319C/1;o=1"}}};
    TR_CHECK(!tr_trace_extract(TR_TRACE_GCP, get, &gcp_upper, &c));
}

static void test_inject(void)
{
    struct tr_trace_inject in = {.trace_id_size = 16, .has_parent = true, .sampled = true};
    static const uint8_t trace[16] = {0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
                                      0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c};
    static const uint8_t span[8] = {0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31};
    memcpy(in.trace_id, trace, 16);
    memcpy(in.span_id, span, 8);
    memcpy(in.parent_id, trace + 8, 8);
    TR_CHECK_STR(injected(TR_TRACE_W3C, &in, "traceparent"),
                 "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    TR_CHECK_STR(injected(TR_TRACE_B3_SINGLE, &in, "b3"),
                 "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1-8448eb211c80319c");
    TR_CHECK_STR(injected(TR_TRACE_B3, &in, "x-b3-sampled"), "1");
    TR_CHECK_STR(injected(TR_TRACE_JAEGER, &in, "uber-trace-id"),
                 "0af7651916cd43dd8448eb211c80319c:b7ad6b7169203331:8448eb211c80319c:01");
    TR_CHECK_STR(injected(TR_TRACE_DATADOG, &in, "x-datadog-trace-id"), "9532127138774266268");
    TR_CHECK_STR(injected(TR_TRACE_DATADOG, &in, "x-datadog-parent-id"), "13235353014750950193");
    TR_CHECK_STR(injected(TR_TRACE_AWS, &in, "x-amzn-trace-id"),
                 "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1");
    TR_CHECK_STR(injected(TR_TRACE_GCP, &in, "x-cloud-trace-context"),
                 "0af7651916cd43dd8448eb211c80319c/13235353014750950193;o=1");
    in.sampled = false;
    in.trace_id_size = 8;
    TR_CHECK_STR(injected(TR_TRACE_OT, &in, "ot-tracer-traceid"), "8448eb211c80319c");
    TR_CHECK_STR(injected(TR_TRACE_OT, &in, "ot-tracer-sampled"), "0");
}

int main(void)
{
    test_pb();
    test_extract();
    test_inject();
    return TR_CHECK_DONE();
}
