/* SPDX-License-Identifier: MIT */
/* The spans of a request, as Kong 3.9's instrumentation records them: the root "kong"
 * (server), "kong.router", "kong.<phase>.plugin.<name>" around each plugin's rewrite, access
 * and header_filter, and "kong.balancer" (client) for each try: a failed try gets a span of its
 * own, the try that answered fills the span made before going upstream (whose id is the one a
 * plugin propagates). Spans live in the request arena; a plugin exports them in its log phase
 * (tr_ctx_trace). Nothing here runs when tracing_instrumentations is off. */
#include "proxy/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/conf.h"
#include "http/url.h"
#include "snapshot/snapshot.h"

static bool on(const struct tr_ctx *ctx, unsigned instrumentation)
{
    return ctx->trace.recording && (ctx->ex->w->conf->tracing_mask & instrumentation);
}

static int add_span(struct tr_ctx *ctx, const char *name, enum tr_span_kind kind, int parent)
{
    struct tr_trace *t = &ctx->trace;
    if (t->num == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        struct tr_span *spans = tr_arena_alloc(&ctx->arena, cap * sizeof(*spans));
        if (t->num)
            memcpy(spans, t->spans, t->num * sizeof(*spans));
        t->spans = spans;
        t->cap = cap;
    }
    struct tr_span *s = &t->spans[t->num];
    memset(s, 0, sizeof(*s));
    tr_ctx_random_id(ctx, s->id);
    s->parent = parent;
    s->kind = kind;
    s->name = tr_arena_strndup(&ctx->arena, name, strlen(name));
    s->start_ns = tr_clock_wall_ns();
    return (int)t->num++;
}

static void attr(struct tr_span *s, struct tr_span_attr a)
{
    if (s->num_attrs < TR_SPAN_MAX_ATTRS)
        s->attrs[s->num_attrs++] = a;
}

static void attr_s(struct tr_ctx *ctx, struct tr_span *s, const char *key, struct tr_str v)
{
    attr(s, (struct tr_span_attr){
                .key = key, .type = 's', .s = tr_arena_strndup(&ctx->arena, v.ptr, v.len)});
}

void tr__trace_request_begin(struct tr_ctx *ctx)
{
    struct tr_trace *t = &ctx->trace;
    t->recording = true;
    t->balancer = -1;
    ctx->plugin_span = -1;
    tr_ctx_random_id(ctx, t->trace_id);
    tr_ctx_random_id(ctx, t->trace_id + 8);
    add_span(ctx, "kong", TR_SPAN_SERVER, -1);
}

int tr__trace_span_begin(struct tr_ctx *ctx, unsigned instrumentation, const char *name,
                         enum tr_span_kind kind)
{
    return on(ctx, instrumentation) ? add_span(ctx, name, kind, 0) : -1;
}

void tr__trace_span_end(struct tr_ctx *ctx, int span, bool error, const char *message)
{
    if (span < 0 || (size_t)span >= ctx->trace.num)
        return;
    struct tr_span *s = &ctx->trace.spans[span];
    s->end_ns = tr_clock_wall_ns();
    s->error = error;
    if (message) {
        s->event = tr_arena_strndup(&ctx->arena, message, strlen(message));
        s->event_ns = s->end_ns;
    }
}

void tr__trace_balancer_prepare(struct tr_ctx *ctx)
{
    if (on(ctx, TR_TRACE_BALANCER) && ctx->trace.balancer < 0) {
        ctx->trace.balancer = add_span(ctx, "kong.balancer", TR_SPAN_CLIENT, 0);
        ctx->trace.spans[ctx->trace.balancer].start_ns = 0; /* until a try begins */
    }
}

void tr__trace_try_begin(struct tr_exchange *ex)
{
    struct tr_ctx *ctx = &ex->ctx;
    if (!ctx->trace.recording)
        return;
    ctx->try_start_ns = tr_clock_wall_ns();
    ctx->tries++;
}

/* try_count, net.peer.ip, net.peer.port and net.peer.name of the try now ending. */
static void try_attrs(struct tr_exchange *ex, struct tr_span *s)
{
    struct tr_ctx *ctx = &ex->ctx;
    attr(s, (struct tr_span_attr){.key = "try_count", .type = 'd', .d = ctx->tries});
    const char *addr = ex->upstream_addr;
    const char *colon = strrchr(addr, ':');
    if (colon && colon > addr) {
        struct tr_str ip = {addr, (size_t)(colon - addr)};
        if (ip.len > 1 && ip.ptr[0] == '[')
            ip = (struct tr_str){ip.ptr + 1, ip.len - 2};
        attr_s(ctx, s, "net.peer.ip", ip);
        attr(s, (struct tr_span_attr){
                    .key = "net.peer.port", .type = 'd', .d = (double)strtol(colon + 1, NULL, 10)});
    }
    if (ex->service)
        attr_s(ctx, s, "net.peer.name", ex->service->url.host);
}

void tr__trace_try_end(struct tr_exchange *ex, enum tr_balance_outcome outcome, unsigned status)
{
    struct tr_ctx *ctx = &ex->ctx;
    if (!on(ctx, TR_TRACE_BALANCER) || ctx->try_start_ns == 0)
        return;
    if (outcome == TR_TRY_STATUS) {
        if (ctx->trace.balancer >= 0)
            ctx->trace.spans[ctx->trace.balancer].start_ns = ctx->try_start_ns;
        return; /* ends with the response (tr__trace_request_end) */
    }
    int i = add_span(ctx, "kong.balancer", TR_SPAN_CLIENT, 0);
    struct tr_span *s = &ctx->trace.spans[i];
    s->start_ns = ctx->try_start_ns;
    s->end_ns = tr_clock_wall_ns();
    s->error = true;
    try_attrs(ex, s);
    attr(s, (struct tr_span_attr){.key = "http.status_code",
                                  .type = 'i',
                                  .i = status                      ? status
                                       : outcome == TR_TRY_TIMEOUT ? 504
                                                                   : 502});
    ctx->try_start_ns = 0;
}

void tr__trace_request_end(struct tr_exchange *ex)
{
    struct tr_ctx *ctx = &ex->ctx;
    struct tr_trace *t = &ctx->trace;
    if (!t->recording)
        return;
    uint64_t now = tr_clock_wall_ns();
    if (t->balancer >= 0) {
        struct tr_span *b = &t->spans[t->balancer];
        if (b->start_ns) {
            b->end_ns = now;
            try_attrs(ex, b);
        }
    }
    struct tr_span *root = &t->spans[0];
    root->end_ns = now;
    const struct tr_req_view *rv = &ex->rv;
    struct tr_str host = rv->host.len ? tr_url_host_without_port(rv->host) : ex->host;
    const char *scheme = ex->c && ex->c->tls_listener ? "https" : "http";
    struct tr_str target = rv->target.len ? rv->target : ex->path;
    /* Kong's http.url: scheme://host (no port) and the request target, query included */
    size_t sl = strlen(scheme), ul = 0;
    char *url = tr_arena_alloc(&ctx->arena, sl + 3 + host.len + target.len + 1);
    memcpy(url, scheme, sl);
    memcpy(url + sl, "://", 3);
    memcpy(url + sl + 3, host.ptr, host.len);
    memcpy(url + sl + 3 + host.len, target.ptr, target.len);
    ul = sl + 3 + host.len + target.len;
    attr_s(ctx, root, "http.method", ex->method);
    attr_s(ctx, root, "http.url", (struct tr_str){url, ul});
    attr_s(ctx, root, "http.host", host);
    attr_s(ctx, root, "http.scheme", tr_str_from_cstr(scheme));
    attr_s(ctx, root, "http.flavor",
           ex->minor_version == 0 ? TR_STR_LIT("1.0") : TR_STR_LIT("1.1"));
    attr_s(ctx, root, "http.client_ip", tr_str_from_cstr(ex->client_ip));
    attr_s(ctx, root, "net.peer.ip", tr_str_from_cstr(ex->c ? ex->c->peer_ip : ex->client_ip));
    attr_s(ctx, root, "kong.request.id", tr_str_from_cstr(tr__ctx_request_id(ctx)));
    attr(root, (struct tr_span_attr){.key = "http.status_code", .type = 'i', .i = ex->status});
    /* Kong's http.route: the route's first path */
    const json_t *paths = ex->route ? json_object_get(ex->route->doc, "paths") : NULL;
    const char *first = json_string_value(json_array_get(paths, 0));
    attr_s(ctx, root, "http.route", tr_str_from_cstr(first ? first : ""));
}
