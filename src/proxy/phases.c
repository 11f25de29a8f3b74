/* SPDX-License-Identifier: MIT */
/* The phase runner: walks a route's flattened plugin chain with a cursor (nginx's phase engine),
 * resolving for each plugin the most specific instance (api+consumer, consumer, api, global;
 * consumer-scoped instances only once an auth plugin set the consumer, as in Kong), and giving
 * the return codes their meaning. Later phases run the instances resolved during access. */
#include "proxy/internal.h"

#include <stdio.h>
#include <string.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "snapshot/snapshot.h"

static const struct tr_plugin_instance *resolve(struct tr_ctx *ctx, const struct tr_chain_entry *e)
{
    const struct tr_snapshot *snap = ctx->ex->hold->snap;
    if (ctx->consumer && snap->has_consumer_plugins[e->plugin_index]) {
        /* The route's scopes, most specific first. Kong 3: route+service+consumer,
         * route+consumer, service+consumer, then route+service (base), consumer, and the rest
         * of base's scopes; Kong 0.7: api+consumer, consumer, then base. */
        const struct tr_route *route = ctx->ex->route;
        for (size_t s = 0; s < route->num_scopes; s++) {
            if (s + 1 == route->num_scopes && e->base_over_consumer)
                return e->base;
            const struct tr_plugin_instance *in = tr_snapshot_consumer_instance(
                snap, e->plugin_index, ctx->consumer->id, route->scopes[s]);
            if (in)
                return in;
        }
    }
    return e->base;
}

static void remember(struct tr_ctx *ctx, const struct tr_plugin_instance *in)
{
    if (ctx->num_ran >= TR_PLUGIN_MAX)
        return;
    size_t sz = in->plugin->state_size;
    void *state = NULL;
    if (sz) {
        state = tr_arena_alloc(&ctx->arena, sz);
        memset(state, 0, sz);
    }
    ctx->ran[ctx->num_ran] = in;
    ctx->states[ctx->num_ran] = state;
    ctx->num_ran++;
}

void tr__phases_collect_rest(struct tr_ctx *ctx)
{
    const struct tr_route *route = ctx->ex->route;
    while (ctx->cursor < route->chain_len) {
        const struct tr_plugin_instance *in = resolve(ctx, &route->chain[ctx->cursor++]);
        if (in != NULL)
            remember(ctx, in);
    }
}

/* Kong's "kong.<phase>.plugin.<name>" span around a plugin's callback (-1: not recorded). */
static int plugin_span(struct tr_ctx *ctx, unsigned instrumentation, const char *phase,
                       const struct tr_plugin_instance *in)
{
    if (!ctx->trace.recording)
        return -1;
    char name[128];
    snprintf(name, sizeof(name), "kong.%s.plugin.%s", phase, in->plugin->name);
    return tr__trace_span_begin(ctx, instrumentation, name, TR_SPAN_INTERNAL);
}

static void buffered(struct tr_ctx *ctx, bool complete)
{
    (void)complete;
    tr_ctx_resume(ctx, TR_PLUGIN_NEXT);
}

int tr__phases_access(struct tr_ctx *ctx)
{
    const struct tr_route *route = ctx->ex->route;
    while (ctx->cursor < route->chain_len) {
        const struct tr_chain_entry *e = &route->chain[ctx->cursor++];
        const struct tr_plugin_instance *in = resolve(ctx, e);
        if (in == NULL)
            continue;
        remember(ctx, in);
        ctx->current = in;
        int rc = TR_PLUGIN_NEXT;
        if (in->plugin->rewrite) {
            int span = plugin_span(ctx, TR_TRACE_PLUGIN_REWRITE, "rewrite", in);
            rc = in->plugin->rewrite(ctx, in->conf);
            tr__trace_span_end(ctx, span, rc == TR_PLUGIN_FAIL, NULL);
        }
        if (rc == TR_PLUGIN_NEXT && in->plugin->access) {
            int span = plugin_span(ctx, TR_TRACE_PLUGIN_ACCESS, "access", in);
            rc = in->plugin->access(ctx, in->conf);
            if (rc == TR_PLUGIN_YIELD)
                ctx->plugin_span = span; /* ends when the plugin resumes */
            else
                tr__trace_span_end(ctx, span, rc == TR_PLUGIN_FAIL,
                                   rc == TR_PLUGIN_FAIL ? "the plugin failed" : NULL);
        }
        switch (rc) {
        case TR_PLUGIN_NEXT:
            continue;
        case TR_PLUGIN_YIELD:
            ctx->yielded = true;
            return TR_PLUGIN_YIELD;
        case TR_PLUGIN_EXIT:
            if (ctx->exit_status == 0)
                tr_ctx_respond_error(ctx, TR_EINTERNAL);
            tr__phases_collect_rest(ctx);
            return TR_PLUGIN_EXIT;
        default:
            tr_log_error("plugin %s failed in the access phase", in->plugin->name);
            tr__phases_collect_rest(ctx);
            return TR_PLUGIN_FAIL;
        }
    }
    /* Kong 3's request_buffering: the body is read before going upstream (then sent with a
     * Content-Length), up to request_buffer_size; a larger one streams on after its start. */
    if (route->request_buffering && !ctx->buffering && !tr_ctx_body_ready(ctx) &&
        ctx->ex->w->conf->request_buffer_size > 0) {
        ctx->buffering = true;
        ctx->yielded = true;
        tr_ctx_read_body(ctx, (size_t)ctx->ex->w->conf->request_buffer_size, buffered);
        return TR_PLUGIN_YIELD;
    }
    ctx->access_done = true;
    return TR_PLUGIN_NEXT;
}

void tr__phases_header_filter(struct tr_ctx *ctx)
{
    for (size_t i = 0; i < ctx->num_ran; i++) {
        const struct tr_plugin_instance *in = ctx->ran[i];
        if (in->plugin->header_filter) {
            ctx->current = in;
            int span = plugin_span(ctx, TR_TRACE_PLUGIN_HEADER_FILTER, "header_filter", in);
            in->plugin->header_filter(ctx, in->conf);
            tr__trace_span_end(ctx, span, false, NULL);
        }
    }
}

struct tr_str tr__phases_body_filter(struct tr_ctx *ctx, struct tr_str body)
{
    for (size_t i = 0; i < ctx->num_ran; i++) {
        const struct tr_plugin_instance *in = ctx->ran[i];
        if (!(ctx->body_filters & ((uint64_t)1 << i)) || in->plugin->body_filter == NULL)
            continue;
        ctx->current = in;
        ctx->res_body_set = false;
        in->plugin->body_filter(ctx, in->conf, body);
        if (ctx->res_body_set)
            body = ctx->res_body_out;
    }
    return body;
}

void tr__phases_log(struct tr_ctx *ctx)
{
    for (size_t i = 0; i < ctx->num_ran; i++) {
        const struct tr_plugin_instance *in = ctx->ran[i];
        if (in->plugin->cancel && ctx->yielded && i + 1 == ctx->num_ran) {
            ctx->current = in;
            in->plugin->cancel(ctx, in->conf);
        }
        if (in->plugin->log) {
            ctx->current = in;
            in->plugin->log(ctx, in->conf);
        }
    }
}

void tr__phases_log_unrouted(struct tr_ctx *ctx)
{
    const struct tr_snapshot *snap = ctx->ex->hold->snap;
    for (size_t i = 0; i < snap->num_globals; i++)
        remember(ctx, snap->globals[i]);
    tr__phases_log(ctx);
}

void tr_ctx_resume(struct tr_ctx *ctx, int rc)
{
    ctx->yielded = false;
    if (ctx->plugin_span >= 0) {
        tr__trace_span_end(ctx, ctx->plugin_span, rc == TR_PLUGIN_FAIL,
                           rc == TR_PLUGIN_FAIL ? "the plugin failed" : NULL);
        ctx->plugin_span = -1;
    }
    tr__exchange_resume(ctx->ex, rc);
}
