/* SPDX-License-Identifier: MIT */
/* Trace context headers (trace_headers.h), each format's reading and writing rules as Kong
 * 3.9's extractors and injectors apply them. */
#include "plugins/trace_headers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const tr_trace_format_names[] = {"w3c",     "b3",  "b3-single", "jaeger", "ot",
                                             "datadog", "aws", "gcp",       NULL};

/* s (hex digits, at most 2 * size of them) into size bytes, left-padded with zeros. */
static bool hex_id(struct tr_str s, uint8_t *out, size_t size)
{
    if (s.len == 0 || s.len > 2 * size)
        return false;
    memset(out, 0, size);
    size_t nib = 2 * size - s.len; /* the nibble where s begins */
    for (size_t i = 0; i < s.len; i++, nib++) {
        int v = tr_hex_value(s.ptr[i]);
        if (v < 0)
            return false;
        out[nib / 2] |= (uint8_t)(nib % 2 ? v : v << 4);
    }
    return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i])
            return false;
    }
    return true;
}

void tr_trace_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

/* A trace id of 16 or 32 hex digits (16: a 64-bit id, kept in the last 8 bytes). */
static bool trace_id(struct tr_str s, struct tr_trace_context *c)
{
    if ((s.len != 16 && s.len != 32) || !hex_id(s, c->trace_id, 16))
        return false;
    c->trace_id_size = s.len / 2;
    return true;
}

/* The only value of name; false when absent or sent more than once (Kong ignores those). */
static bool single_value(tr_trace_get_fn get, void *ud, const char *name, struct tr_str *v)
{
    struct tr_str other;
    return get(ud, name, 0, v) && !get(ud, name, 1, &other);
}

static struct tr_str field(struct tr_str *rest, char sep)
{
    const char *at = memchr(rest->ptr, sep, rest->len);
    struct tr_str f = {rest->ptr, at ? (size_t)(at - rest->ptr) : rest->len};
    rest->ptr += at ? f.len + 1 : f.len;
    rest->len -= at ? f.len + 1 : f.len;
    return f;
}

static int truthy_flag(struct tr_str v)
{
    if (tr_str_eq(v, TR_STR_LIT("1")) || tr_str_ieq(v, TR_STR_LIT("true")))
        return 1;
    if (tr_str_eq(v, TR_STR_LIT("0")) || tr_str_ieq(v, TR_STR_LIT("false")))
        return 0;
    return -1;
}

/* ---- w3c ---------------------------------------------------------------------------------- */

static bool w3c_extract(tr_trace_get_fn get, void *ud, struct tr_trace_context *c)
{
    struct tr_str v;
    if (!single_value(get, ud, "traceparent", &v))
        return false;
    v = tr_str_trim(v);
    struct tr_str version = field(&v, '-'), trace = field(&v, '-'), parent = field(&v, '-');
    struct tr_str flags = v;
    uint8_t ver, fl;
    if (version.len != 2 || !hex_id(version, &ver, 1) || ver != 0 || trace.len != 32 ||
        parent.len != 16 || flags.len != 2 || memchr(flags.ptr, '-', flags.len) ||
        !hex_id(flags, &fl, 1) || !trace_id(trace, c) || all_zero(c->trace_id, 16) ||
        !hex_id(parent, c->span_id, 8) || all_zero(c->span_id, 8))
        return false;
    c->has_trace = c->has_span = true;
    c->sampled = fl & 1;
    return true;
}

static void w3c_inject(const struct tr_trace_inject *in, tr_trace_set_fn set, void *ud)
{
    char trace[33], span[17], out[64];
    tr_trace_hex(in->trace_id, 16, trace);
    tr_trace_hex(in->span_id, 8, span);
    snprintf(out, sizeof(out), "00-%s-%s-%s", trace, span, in->sampled ? "01" : "00");
    set(ud, "traceparent", out);
}

/* ---- b3 ----------------------------------------------------------------------------------- */

static bool b3_single(struct tr_str v, struct tr_trace_context *c)
{
    v = tr_str_trim(v);
    if (v.len == 1) {
        if (v.ptr[0] == '1' || v.ptr[0] == 'd') {
            c->sampled = 1;
            c->debug = v.ptr[0] == 'd';
            return true;
        }
        if (v.ptr[0] == '0') {
            c->sampled = 0;
            return true;
        }
        return false;
    }
    struct tr_str trace = field(&v, '-'), span = field(&v, '-'), flag = {"", 0}, parent = {"", 0};
    if (v.len)
        flag = field(&v, '-');
    if (flag.len > 1) { /* no sampling flag: what follows the span is the parent */
        parent = flag;
        flag = (struct tr_str){"", 0};
    } else if (v.len) {
        parent = field(&v, '-');
    }
    struct tr_trace_context t = *c;
    if (!trace_id(trace, &t) || span.len != 16 || !hex_id(span, t.span_id, 8) ||
        (parent.len && (parent.len != 16 || !hex_id(parent, t.parent_id, 8))) || v.len)
        return false;
    if (flag.len) {
        if (flag.ptr[0] == '1' || flag.ptr[0] == 'd')
            t.sampled = 1;
        else if (flag.ptr[0] == '0')
            t.sampled = 0;
        else
            return false;
        t.debug = flag.ptr[0] == 'd';
    }
    t.has_trace = t.has_span = true;
    t.has_parent = parent.len > 0;
    *c = t;
    return true;
}

static bool b3_extract(tr_trace_get_fn get, void *ud, struct tr_trace_context *c)
{
    struct tr_str v, ts;
    bool any = false;
    /* the single header: b3, or tracestate's b3= member */
    bool have_single = get(ud, "b3", 0, &v);
    for (size_t i = 0; !have_single && get(ud, "tracestate", i, &ts); i++) {
        any = true;
        struct tr_str t = tr_str_trim(ts);
        if (t.len > 3 && memcmp(t.ptr, "b3=", 3) == 0) {
            v = (struct tr_str){t.ptr + 3, t.len - 3};
            have_single = true;
        }
    }
    any |= have_single;
    /* the multi headers */
    struct tr_str tid, sid, pid, sampled, flags;
    bool has_tid = get(ud, "x-b3-traceid", 0, &tid), has_sid = get(ud, "x-b3-spanid", 0, &sid);
    bool has_pid = get(ud, "x-b3-parentspanid", 0, &pid);
    bool has_sampled = get(ud, "x-b3-sampled", 0, &sampled),
         has_flags = get(ud, "x-b3-flags", 0, &flags);
    any |= has_tid || has_sid || has_pid || has_sampled || has_flags;
    if (!any)
        return false;
    if (has_sampled)
        c->sampled = truthy_flag(tr_str_trim(sampled));
    if (has_flags && tr_str_eq(tr_str_trim(flags), TR_STR_LIT("1"))) {
        c->debug = true;
        c->sampled = 1;
    }
    struct tr_trace_context m = *c;
    bool ok = true;
    if (has_tid)
        ok &= trace_id(tr_str_trim(tid), &m) && (m.has_trace = true);
    if (has_sid) {
        struct tr_str s = tr_str_trim(sid);
        ok &= s.len == 16 && hex_id(s, m.span_id, 8) && (m.has_span = true);
    }
    if (has_pid) {
        struct tr_str s = tr_str_trim(pid);
        ok &= s.len == 16 && hex_id(s, m.parent_id, 8) && (m.has_parent = true);
    }
    if (ok)
        *c = m; /* an invalid id drops every multi-header id */
    if (have_single) {
        struct tr_trace_context s = *c;
        if (b3_single(v, &s)) {
            s.single = true;
            *c = s;
        }
    }
    if (!c->has_trace)
        c->has_span = c->has_parent = false;
    return true;
}

static void b3_inject(const struct tr_trace_inject *in, tr_trace_set_fn set, void *ud)
{
    char trace[33], span[17], parent[17];
    size_t ts = in->trace_id_size == 8 ? 8 : 16;
    tr_trace_hex(in->trace_id + 16 - ts, ts, trace);
    tr_trace_hex(in->span_id, 8, span);
    set(ud, "x-b3-traceid", trace);
    set(ud, "x-b3-spanid", span);
    if (in->has_parent) {
        tr_trace_hex(in->parent_id, 8, parent);
        set(ud, "x-b3-parentspanid", parent);
    }
    if (in->debug)
        set(ud, "x-b3-flags", "1");
    else
        set(ud, "x-b3-sampled", in->sampled ? "1" : "0");
}

static void b3_single_inject(const struct tr_trace_inject *in, tr_trace_set_fn set, void *ud)
{
    char trace[33], span[17], parent[17], out[96];
    size_t ts = in->trace_id_size == 8 ? 8 : 16;
    tr_trace_hex(in->trace_id + 16 - ts, ts, trace);
    tr_trace_hex(in->span_id, 8, span);
    const char *flag = in->debug ? "d" : in->sampled ? "1" : "0";
    if (in->has_parent) {
        tr_trace_hex(in->parent_id, 8, parent);
        snprintf(out, sizeof(out), "%s-%s-%s-%s", trace, span, flag, parent);
    } else {
        snprintf(out, sizeof(out), "%s-%s-%s", trace, span, flag);
    }
    set(ud, "b3", out);
}

/* ---- jaeger ------------------------------------------------------------------------------- */

static bool jaeger_extract(tr_trace_get_fn get, void *ud, struct tr_trace_context *c)
{
    struct tr_str v;
    if (!single_value(get, ud, "uber-trace-id", &v))
        return false;
    v = tr_str_trim(v);
    struct tr_str trace = field(&v, ':'), span = field(&v, ':'), parent = field(&v, ':');
    struct tr_str flags = v;
    uint8_t fl;
    if (trace.len == 0 || trace.len > 32 || !hex_id(trace, c->trace_id, 16) ||
        all_zero(c->trace_id, 16) || span.len == 0 || span.len > 16 ||
        !hex_id(span, c->span_id, 8) || all_zero(c->span_id, 8) || flags.len < 1 || flags.len > 2 ||
        !hex_id(flags, &fl, 1))
        return false;
    c->trace_id_size = trace.len <= 16 ? 8 : 16;
    c->has_trace = c->has_span = true;
    /* a bad parent is only ignored, as Kong only logs it */
    if (parent.len && parent.len <= 16 && hex_id(parent, c->parent_id, 8) &&
        !all_zero(c->parent_id, 8))
        c->has_parent = true;
    c->sampled = fl & 1;
    return true;
}

static void jaeger_inject(const struct tr_trace_inject *in, tr_trace_set_fn set, void *ud)
{
    char trace[33], span[17], parent[17] = "0", out[96];
    size_t ts = in->trace_id_size == 8 ? 8 : 16;
    tr_trace_hex(in->trace_id + 16 - ts, ts, trace);
    tr_trace_hex(in->span_id, 8, span);
    if (in->has_parent)
        tr_trace_hex(in->parent_id, 8, parent);
    snprintf(out, sizeof(out), "%s:%s:%s:%s", trace, span, parent, in->sampled ? "01" : "00");
    set(ud, "uber-trace-id", out);
}

/* ---- ot ----------------------------------------------------------------------------------- */

static bool ot_extract(tr_trace_get_fn get, void *ud, struct tr_trace_context *c)
{
    struct tr_str tid, sid, sampled;
    bool has_tid = get(ud, "ot-tracer-traceid", 0, &tid);
    bool has_sid = get(ud, "ot-tracer-spanid", 0, &sid);
    bool has_sampled = get(ud, "ot-tracer-sampled", 0, &sampled);
    if (!has_tid && !has_sid && !has_sampled)
        return false;
    if (has_sampled)
        c->sampled = truthy_flag(tr_str_trim(sampled));
    struct tr_trace_context t = *c;
    struct tr_str s = has_sid ? tr_str_trim(sid) : TR_STR_LIT("");
    if (has_tid && trace_id(tr_str_trim(tid), &t) &&
        (!has_sid || (s.len == 16 && hex_id(s, t.span_id, 8)))) {
        t.has_trace = true;
        t.has_span = has_sid;
        *c = t;
    }
    return true;
}

static void ot_inject(const struct tr_trace_inject *in, tr_trace_set_fn set, void *ud)
{
    char trace[33], span[17];
    size_t ts = in->trace_id_size == 8 ? 8 : 16;
    tr_trace_hex(in->trace_id + 16 - ts, ts, trace);
    tr_trace_hex(in->span_id, 8, span);
    set(ud, "ot-tracer-traceid", trace);
    set(ud, "ot-tracer-spanid", span);
    set(ud, "ot-tracer-sampled", in->sampled ? "1" : "0");
}

/* ---- datadog ------------------------------------------------------------------------------ */

static bool decimal_u64(struct tr_str s, uint64_t *out)
{
    s = tr_str_trim(s);
    if (s.len == 0 || s.len > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
        uint64_t d = (uint64_t)(s.ptr[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static void put_u64(uint64_t v, uint8_t *out)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static bool datadog_extract(tr_trace_get_fn get, void *ud, struct tr_trace_context *c)
{
    struct tr_str tid, pid, prio;
    bool has_tid = get(ud, "x-datadog-trace-id", 0, &tid);
    bool has_pid = get(ud, "x-datadog-parent-id", 0, &pid);
    bool has_prio = get(ud, "x-datadog-sampling-priority", 0, &prio);
    if (!has_tid && !has_pid && !has_prio)
        return false;
    if (has_prio) {
        struct tr_str p = tr_str_trim(prio);
        if (tr_str_eq(p, TR_STR_LIT("1")) || tr_str_eq(p, TR_STR_LIT("2")))
            c->sampled = 1;
        else if (tr_str_eq(p, TR_STR_LIT("0")) || tr_str_eq(p, TR_STR_LIT("-1")))
            c->sampled = 0;
        else
            return false;
    }
    uint64_t v;
    if (has_tid && decimal_u64(tid, &v) && v) {
        memset(c->trace_id, 0, 8);
        put_u64(v, c->trace_id + 8);
        c->trace_id_size = 8;
        c->has_trace = true;
        if (has_pid && decimal_u64(pid, &v) && v) {
            put_u64(v, c->span_id);
            c->has_span = true;
        }
    }
    return true;
}

static void datadog_inject(const struct tr_trace_inject *in, tr_trace_set_fn set, void *ud)
{
    char v[24];
    snprintf(v, sizeof(v), "%" PRIu64, get_u64(in->trace_id + 8));
    set(ud, "x-datadog-trace-id", v);
    snprintf(v, sizeof(v), "%" PRIu64, get_u64(in->span_id));
    set(ud, "x-datadog-parent-id", v);
    set(ud, "x-datadog-sampling-priority", in->sampled ? "1" : "0");
}

/* ---- aws ---------------------------------------------------------------------------------- */

static bool aws_extract(tr_trace_get_fn get, void *ud, struct tr_trace_context *c)
{
    struct tr_str v;
    if (!single_value(get, ud, "x-amzn-trace-id", &v))
        return false;
    struct tr_trace_context t = *c;
    while (v.len) {
        struct tr_str kv = field(&v, ';');
        struct tr_str k = tr_str_trim(field(&kv, '=')), val = tr_str_trim(kv);
        if (tr_str_eq(k, TR_STR_LIT("Root"))) {
            if (val.len != 35 || val.ptr[0] != '1' || val.ptr[1] != '-' || val.ptr[10] != '-')
                return false;
            char hex[33];
            memcpy(hex, val.ptr + 2, 8);
            memcpy(hex + 8, val.ptr + 11, 24);
            if (!hex_id((struct tr_str){hex, 32}, t.trace_id, 16))
                return false;
            t.trace_id_size = 16;
            t.has_trace = true;
        } else if (tr_str_eq(k, TR_STR_LIT("Parent"))) {
            if (val.len != 16 || !hex_id(val, t.span_id, 8))
                return false;
            t.has_span = true;
        } else if (tr_str_eq(k, TR_STR_LIT("Sampled"))) {
            if (val.len != 1 || (val.ptr[0] != '0' && val.ptr[0] != '1'))
                return false;
            t.sampled = val.ptr[0] == '1';
        }
    }
    *c = t;
    return true;
}

static void aws_inject(const struct tr_trace_inject *in, tr_trace_set_fn set, void *ud)
{
    char trace[33], span[17], out[128];
    tr_trace_hex(in->trace_id, 16, trace);
    tr_trace_hex(in->span_id, 8, span);
    snprintf(out, sizeof(out), "Root=1-%.8s-%s;Parent=%s;Sampled=%s", trace, trace + 8, span,
             in->sampled ? "1" : "0");
    set(ud, "x-amzn-trace-id", out);
}

/* ---- gcp ---------------------------------------------------------------------------------- */

static bool gcp_extract(tr_trace_get_fn get, void *ud, struct tr_trace_context *c)
{
    struct tr_str v;
    if (!single_value(get, ud, "x-cloud-trace-context", &v))
        return false;
    struct tr_str trace = field(&v, '/'), span = field(&v, ';'), opt = v;
    for (size_t i = 0; i < trace.len; i++) {
        if (!((trace.ptr[i] >= '0' && trace.ptr[i] <= '9') ||
              (trace.ptr[i] >= 'a' && trace.ptr[i] <= 'f')))
            return false;
    }
    uint64_t sid;
    if (trace.len != 32 || !hex_id(trace, c->trace_id, 16) || span.len < 1 || span.len > 20 ||
        !decimal_u64(span, &sid) || tr_str_trim(span).len != span.len)
        return false;
    if (opt.len &&
        (opt.len != 3 || memcmp(opt.ptr, "o=", 2) != 0 || opt.ptr[2] < '0' || opt.ptr[2] > '9'))
        return false;
    put_u64(sid, c->span_id);
    c->trace_id_size = 16;
    c->has_trace = c->has_span = true;
    c->sampled = opt.len && opt.ptr[2] == '1';
    return true;
}

static void gcp_inject(const struct tr_trace_inject *in, tr_trace_set_fn set, void *ud)
{
    char trace[33], out[96];
    tr_trace_hex(in->trace_id, 16, trace);
    snprintf(out, sizeof(out), "%s/%" PRIu64 ";o=%s", trace, get_u64(in->span_id),
             in->sampled ? "1" : "0");
    set(ud, "x-cloud-trace-context", out);
}

/* ---- dispatch ----------------------------------------------------------------------------- */

bool tr_trace_extract(enum tr_trace_format format, tr_trace_get_fn get, void *ud,
                      struct tr_trace_context *out)
{
    memset(out, 0, sizeof(*out));
    out->sampled = -1;
    switch (format) {
    case TR_TRACE_W3C:
        return w3c_extract(get, ud, out);
    case TR_TRACE_B3:
    case TR_TRACE_B3_SINGLE:
        return b3_extract(get, ud, out);
    case TR_TRACE_JAEGER:
        return jaeger_extract(get, ud, out);
    case TR_TRACE_OT:
        return ot_extract(get, ud, out);
    case TR_TRACE_DATADOG:
        return datadog_extract(get, ud, out);
    case TR_TRACE_AWS:
        return aws_extract(get, ud, out);
    case TR_TRACE_GCP:
        return gcp_extract(get, ud, out);
    case TR_TRACE_NUM_FORMATS:
        break;
    }
    return false;
}

void tr_trace_inject(enum tr_trace_format format, const struct tr_trace_inject *in,
                     tr_trace_set_fn set, void *ud)
{
    static void (*const injectors[])(const struct tr_trace_inject *, tr_trace_set_fn, void *) = {
        w3c_inject, b3_inject,      b3_single_inject, jaeger_inject,
        ot_inject,  datadog_inject, aws_inject,       gcp_inject,
    };
    if ((unsigned)format < TR_TRACE_NUM_FORMATS)
        injectors[format](in, set, ud);
}
