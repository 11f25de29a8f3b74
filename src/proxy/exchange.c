/* SPDX-License-Identifier: MIT */
/* One request/response exchange: route the parsed head, build the upstream request, relay the
 * request body to the upstream and the response back to the client (re-framing both ways,
 * P1.8), with back-pressure, retries and Kong-shaped errors. */
#include "proxy/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "core/clock.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/status.h"
#include "http/tls.h"
#include "http/url.h"
#include "http/websocket.h"
#include "router/router.h"
#include "router/upstream_path.h"
#include "snapshot/snapshot.h"

#define MAX_HOST_CANDIDATES 8

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void copy_addr(struct tr_exchange *ex, const char *addr)
{
    snprintf(ex->upstream_addr, sizeof(ex->upstream_addr), "%s", addr);
}

/* The head written (or about to be) to the client, kept (not copied) for the log phase's
 * serializer; every write of it copies or completes before the call that wrote it returns. */
static void keep_client_head(struct tr_exchange *ex, char *head, size_t len)
{
    free(ex->client_head);
    ex->client_head = head;
    ex->head_bytes_sent = len;
}

static void free_now(struct tr_exchange *ex)
{
    tr__body_free(ex);
    tr__ctx_fini(&ex->ctx);
    tr__worker_release_hold(ex->w, ex->hold);
    free(ex->meta);
    free(ex->up_head);
    free(ex->client_head);
    tr_buf_free(&ex->res_held);
    free(ex);
}

/* Let go of the upstream connection (if any): back to the pool when reusable, else closed. */
static void drop_upstream(struct tr_exchange *ex, bool reusable)
{
    struct tr_upconn *up = ex->up;
    if (up == NULL)
        return;
    if (!up->connected && up->addr[0])
        copy_addr(ex, up->addr); /* the log names the attempt that was still connecting */
    ex->up = NULL;
    tr__upstream_release(up, reusable);
}

void tr__exchange_free(struct tr_exchange *ex)
{
    drop_upstream(ex, false);
    tr__balance_done(ex, false);
    if (ex->status == 0)
        ex->status = 499; /* client went away before an answer (nginx's convention) */
    tr__trace_request_end(ex);
    if (ex->route)
        tr__phases_log(&ex->ctx); /* also tells a yielded plugin to cancel */
    else if (ex->unrouted)
        tr__phases_log_unrouted(&ex->ctx);
    tr__access_log_exchange(ex->w, ex);
    if (ex->body.reading) {
        /* The plugin waits on the body, not on work of its own: nothing will resume it. */
        ex->body.reading = false;
        ex->ctx.yielded = false;
    }
    if (ex->ctx.yielded) {
        /* A plugin still holds ctx: free when it calls tr_ctx_resume. */
        ex->aborted = true;
        ex->c = NULL;
        return;
    }
    free_now(ex);
}

bool tr__exchange_closes(struct tr_exchange *ex)
{
    struct tr_client *c = ex->c;
    bool close = !ex->req_done || !ex->client_keep_alive || ex->res_close_delimited || c == NULL ||
                 c->close_after || (ex->w->draining && c->sock.in.len <= c->head_unconsumed);
    if (close && c != NULL)
        c->close_after = true;
    return close;
}

/* The exchange is over (answered or failed): free it and let the client move on. */
static void finish(struct tr_exchange *ex)
{
    struct tr_client *c = ex->c;
    if (c) {
        if (!ex->req_done || !ex->client_keep_alive || ex->res_close_delimited)
            c->close_after = true;
        c->ex = NULL;
    }
    tr__exchange_free(ex);
    if (c)
        tr__client_exchange_done(c);
}

static void respond_from_plugin(struct tr_exchange *ex);

/* Fail the exchange with status: an error answer if nothing was sent yet, else abort. */
static void fail(struct tr_exchange *ex, int err)
{
    struct tr_client *c = ex->c;
    drop_upstream(ex, false);
    if (c == NULL) {
        tr__exchange_free(ex);
        return;
    }
    if (ex->res_started) {
        /* Head already sent: the only honest signal is an aborted connection (F-05). */
        c->ex = NULL;
        ex->c = NULL;
        tr__exchange_free(ex);
        tr__client_abort(c);
        return;
    }
    if (ex->res_head_parsed) {
        /* An upstream answer held for a body_filter failed: its header_filter edits and body
         * filters were for it, not for the error answer (which runs header_filter again). */
        ex->ctx.res_adds.cnt = 0;
        ex->ctx.body_filters = 0;
        ex->res_holding = false;
        tr_buf_free(&ex->res_held);
    }
    ex->status = tr_err_status(err);
    /* A malformed request (400) is never followed by another on the same connection. */
    if (ex->status == 400)
        c->close_after = true;
    if (ex->ctx.num_ran > 0 && !ex->error_through_plugins) {
        /* Plugins that ran see torii's own error answer as Kong's see its error pages: their
         * header_filter runs, and what they add (correlation-id's echo, CORS) is in the
         * answer. Once only: a failure while writing that answer is answered plainly. */
        char body[256];
        snprintf(body, sizeof(body), "{\"message\":\"%s\"}", tr_err_message(err));
        ex->error_through_plugins = true;
        tr_ctx_respond(&ex->ctx, ex->status, body, NULL);
        respond_from_plugin(ex);
        return;
    }
    bool close = tr__exchange_closes(ex);
    tr__respond_error(c, err, close);
    ex->bytes_sent = 0;
    finish(ex);
}

void tr__exchange_fail(struct tr_exchange *ex, int err)
{
    fail(ex, err);
}

/* ---- starting an exchange ----------------------------------------------------------------- */

static bool is_method(struct tr_str m, const char *name)
{
    return tr_str_eq(m, tr_str_from_cstr(name));
}

static bool method_is_idempotent(struct tr_str m)
{
    return is_method(m, "GET") || is_method(m, "HEAD") || is_method(m, "PUT") ||
           is_method(m, "DELETE") || is_method(m, "OPTIONS");
}

/* Absolute-form targets (RFC 9112 §3.2.2) are accepted only when their authority is the Host
 * (P4): torii is never a forward proxy. */
static bool absolute_form_matches_host(const struct tr_http_request *req)
{
    return req->authority.len == 0 || tr_str_ieq(req->authority, req->host);
}

/* Copy the request head into the exchange's arena so it outlives the client buffer. */
static struct tr_str rebase(struct tr_exchange *ex, struct tr_str s, const char *base,
                            size_t head_len, char *copy)
{
    if (s.ptr >= base && s.ptr + s.len <= base + head_len)
        return (struct tr_str){copy + (s.ptr - base), s.len};
    return (struct tr_str){tr_arena_strndup(&ex->ctx.arena, s.ptr, s.len), s.len};
}

static void keep_request(struct tr_exchange *ex, const struct tr_http_request *req,
                         const char *base)
{
    struct tr_req_view *rv = &ex->rv;
    char *copy = tr_arena_alloc(&ex->ctx.arena, req->head_len);
    memcpy(copy, base, req->head_len);
    rv->method = rebase(ex, req->method, base, req->head_len, copy);
    rv->target = rebase(ex, req->target, base, req->head_len, copy);
    rv->path = rebase(ex, req->path, base, req->head_len, copy);
    rv->query = rebase(ex, req->query, base, req->head_len, copy);
    rv->host = rebase(ex, req->host, base, req->head_len, copy);
    rv->has_query = req->has_query;
    rv->body = req->body;
    rv->content_length = req->content_length;
    rv->num_headers = req->num_headers;
    rv->headers = tr_arena_alloc(&ex->ctx.arena,
                                 (req->num_headers ? req->num_headers : 1) * sizeof(*rv->headers));
    for (size_t i = 0; i < req->num_headers; i++) {
        rv->headers[i].name = rebase(ex, req->headers[i].name, base, req->head_len, copy);
        rv->headers[i].value = rebase(ex, req->headers[i].value, base, req->head_len, copy);
    }
}

/* Answer with the response a plugin set (tr_ctx_respond), then end the exchange. */
static void respond_from_plugin(struct tr_exchange *ex)
{
    struct tr_ctx *ctx = &ex->ctx;
    struct tr_client *c = ex->c;
    ex->status = ctx->exit_status;
    tr__phases_header_filter(ctx);
    bool bodyless = ex->is_head || ctx->exit_status == 204; /* RFC 9110 §6.4.1 */
    if (ctx->body_filters && !bodyless)
        ctx->exit_body = tr__phases_body_filter(ctx, ctx->exit_body);
    bool close = tr__exchange_closes(ex);
    size_t hl;
    char *head = tr__forward_plugin_answer_head(ex, close, &hl);
    if (head == NULL) {
        fail(ex, TR_EINTERNAL);
        return;
    }
    uv_buf_t b[2] = {uv_buf_init(head, (unsigned)hl),
                     uv_buf_init((char *)ctx->exit_body.ptr, (unsigned)ctx->exit_body.len)};
    tr__client_write(c, b, bodyless ? 1 : 2);
    keep_client_head(ex, head, hl);
    ex->bytes_sent = bodyless ? 0 : ctx->exit_body.len;
    finish(ex);
}

/* The access phase ended with rc: go upstream, answer, or wait. */
static void after_access(struct tr_exchange *ex, int rc)
{
    switch (rc) {
    case TR_PLUGIN_YIELD:
        /* A plugin waits for the body: take what already arrived (during start, the client
         * does it once the head bytes are dropped). */
        if (ex->body.reading && !ex->starting)
            tr__body_pump(ex);
        return;
    case TR_PLUGIN_EXIT:
        respond_from_plugin(ex);
        return;
    case TR_PLUGIN_NEXT:
        break;
    default:
        fail(ex, TR_EINTERNAL);
        return;
    }
    if (ex->ctx.up_method.len) { /* a plugin changed it (retries follow the new method) */
        ex->idempotent = method_is_idempotent(ex->ctx.up_method);
        ex->up_is_head = is_method(ex->ctx.up_method, "HEAD");
    }
    if (ex->service == NULL) {
        /* A Kong 3 route without a service: its plugins ran (one may answer), but there is
         * nowhere to go. */
        fail(ex, TR_ENOSERVICE);
        return;
    }
    if (ex->service->upstream) {
        int prc = tr__balance_pick(ex); /* the head carries the pick's Host */
        if (prc < 0) {
            ex->upstream_error = "no peer";
            fail(ex, prc);
            return;
        }
    }
    ex->up_head = tr__forward_request_head(ex, ex->upath, &ex->up_head_len);
    if (ex->up_head == NULL) {
        fail(ex, TR_EINTERNAL); /* logged by forward.c */
        return;
    }
    if (ex->may_send_continue && !ex->continue_sent) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        uv_buf_t b = uv_buf_init((char *)cont, sizeof(cont) - 1);
        tr__client_write(ex->c, &b, 1);
        ex->continue_sent = true;
    }
    if (ex->starting) {
        ex->starting = false;
        ex->wants_upstream = true; /* the client connects once the head bytes are gone */
    } else {
        tr__exchange_connect(ex);
    }
}

/* A new exchange for the request head req of c: what logs and errors need is copied (the head
 * bytes go away), the request's framing and options are noted, the client address computed. */
static struct tr_exchange *new_exchange(struct tr_client *c, const struct tr_http_request *req)
{
    struct tr_proxy_worker *w = c->w;
    struct tr_exchange *ex = tr_xcalloc(1, sizeof(*ex));
    ex->c = c;
    ex->w = w;
    c->ex = ex;
    tr__ctx_init(&ex->ctx, ex);
    if (w->conf->tracing_mask)
        tr__trace_request_begin(&ex->ctx);
    ex->t_start = tr_clock_mono_us();
    w->counters.requests++;

    size_t mlen = req->method.len + req->target.len + req->host.len + 3;
    ex->meta = tr_xmalloc(mlen);
    char *m = ex->meta;
    memcpy(m, req->method.ptr, req->method.len);
    ex->method = (struct tr_str){m, req->method.len};
    m += req->method.len + 1;
    memcpy(m, req->target.ptr, req->target.len);
    ex->path = (struct tr_str){m, req->target.len};
    m += req->target.len + 1;
    if (req->host.len)
        memcpy(m, req->host.ptr, req->host.len);
    ex->host = (struct tr_str){m, req->host.len};

    ex->minor_version = req->minor_version;
    ex->is_head = is_method(req->method, "HEAD");
    ex->idempotent = method_is_idempotent(req->method);
    /* Every api allows WebSocket; routes with protocols will decide per route. */
    ex->upgrade = req->websocket;
    if (ex->upgrade)
        tr_http_websocket_accept(req->ws_key, ex->ws_accept);
    ex->expect_continue = req->expect_continue;
    ex->client_keep_alive = req->keep_alive && !c->close_after;
    ex->req_body = req->body;
    ex->req_remaining = req->content_length;
    tr_http_chunked_init(&ex->req_dec);
    ex->req_done = req->body == TR_HTTP_BODY_NONE ||
                   (req->body == TR_HTTP_BODY_LENGTH && req->content_length == 0);
    /* P8: the client address plugins, X-Real-IP, X-Forwarded-For and the log use. */
    ex->peer_trusted = tr__realip_compute(tr__trusted_ips(), c->peer_ip, req->headers,
                                          req->num_headers, ex->client_ip, sizeof(ex->client_ip));
    return ex;
}

/* The checks of a request before routing (P4). Returns false when ex was answered and freed. */
static bool check_request(struct tr_exchange *ex, const struct tr_http_request *req)
{
    /* Methods are case-sensitive and, as nginx requires, made of upper-case letters, '-' and
     * '_': "gET" is not GET and must not reach an upstream that folds case (B-05). */
    for (size_t i = 0; i < req->method.len; i++) {
        char ch = req->method.ptr[i];
        if (!((ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_')) {
            fail(ex, TR_EBADREQ);
            return false;
        }
    }
    /* CONNECT never gets here (the parser answers it); TRACE is never proxied. */
    if (is_method(req->method, "TRACE")) {
        fail(ex, TR_EMETHOD);
        return false;
    }
    if (req->path.len == 1 && req->path.ptr[0] == '*') {
        tr__respond_options_star(ex->c);
        finish(ex);
        return false;
    }
    if (!absolute_form_matches_host(req)) {
        fail(ex, TR_EBADREQ);
        return false;
    }
    return true;
}

/* The router's view of the request: method, scheme, Host then each X-Host-Override (Kong 0.7;
 * Kong 3 routes read only the Host), the listener's port, the normalized path, the headers and
 * the TLS server name. */
static void router_request(const struct tr_exchange *ex, const struct tr_http_request *req,
                           struct tr_str path, struct tr_str *hosts, struct tr_router_request *rr)
{
    const struct tr_client *c = ex->c;
    size_t num_hosts = 0;
    if (req->host.len)
        hosts[num_hosts++] = req->host;
    for (size_t i = 0; i < req->num_headers && num_hosts < MAX_HOST_CANDIDATES; i++) {
        if (tr_str_ieq(req->headers[i].name, TR_STR_LIT("X-Host-Override")))
            hosts[num_hosts++] = req->headers[i].value;
    }
    const char *sni = c->sock.tls ? tr_tls_conn_servername(c->sock.tls) : NULL;
    *rr = (struct tr_router_request){
        .method = req->method,
        .protocol = c->tls_listener ? TR_ROUTER_PROTO_HTTPS : TR_ROUTER_PROTO_HTTP,
        .hosts = hosts,
        .num_hosts = num_hosts,
        .port = c->local_port,
        .path = path,
        .headers = req->headers,
        .num_headers = req->num_headers,
        .sni = sni ? tr_str_from_cstr(sni) : TR_STR_NULL,
    };
}

/* An HTTPS-only route reached over plain HTTP: 426, or Kong 3's redirect to the same host and
 * target (the trusted X-Forwarded-Host when the peer is in trusted_ips). */
static void refuse_plain_http(struct tr_exchange *ex, const struct tr_http_request *req)
{
    struct tr_client *c = ex->c;
    if (!ex->req_done)
        c->close_after = true;
    uint16_t status = ex->route->https_redirect_status;
    if (status == 426 || status == 0) {
        tr__respond_https_required(c, false);
        return;
    }
    struct tr_str host = tr_url_host_without_port(req->host);
    if (ex->peer_trusted) {
        for (size_t i = 0; i < req->num_headers; i++) {
            if (tr_str_ieq(req->headers[i].name, TR_STR_LIT("X-Forwarded-Host"))) {
                host = tr_str_trim(req->headers[i].value);
                break;
            }
        }
    }
    tr__respond_redirect(c, status, host, req->target, false);
}

/* Kong 3's allow_debug_header: a request carrying Kong-Debug (any value) learns which route
 * and service answered it (router/utils.lua add_debug_headers). */
static void add_debug_headers(struct tr_exchange *ex, const struct tr_http_request *req)
{
    if (!ex->w->conf->allow_debug_header)
        return;
    bool asked = false;
    for (size_t i = 0; i < req->num_headers && !asked; i++)
        asked = tr_str_ieq(req->headers[i].name, TR_STR_LIT("Kong-Debug"));
    if (!asked)
        return;
    const char *values[4] = {
        ex->route->id, ex->route->kong3 ? ex->route->name : ex->route->api_name,
        ex->service ? ex->service->id : NULL, ex->service ? ex->service->name : NULL};
    static const char *const names[4] = {"Kong-Route-Id", "Kong-Route-Name", "Kong-Service-Id",
                                         "Kong-Service-Name"};
    for (size_t i = 0; i < 4; i++) {
        if (values[i])
            tr_ctx_add_response_header(&ex->ctx, tr_str_from_cstr(names[i]),
                                       tr_str_from_cstr(values[i]));
    }
}

/* Keep what plugins may read of a regex match (Kong's uri_captures). */
static void keep_captures(struct tr_exchange *ex, const struct tr_router_result *m)
{
    if (!m->by_regex || m->num_captures == 0)
        return;
    size_t n = 2 * (size_t)m->num_captures;
    ex->ctx.captures = tr_arena_alloc(&ex->ctx.arena, n * sizeof(size_t));
    memcpy(ex->ctx.captures, m->captures, n * sizeof(size_t));
    ex->ctx.num_captures = m->num_captures;
    ex->ctx.capture_names = m->names;
    ex->ctx.num_capture_names = m->num_names;
}

/* The path sent upstream into ex->upath, and the stripped prefix into ex->prefix. A legacy
 * api joins as Kong 0.7 did (a host match never strips); a Kong 3 route as Kong 3 does
 * (strip_path, path_handling). path is ex->ctx.norm_path. Returns 0 or TR_EINTERNAL. */
static int upstream_path(struct tr_exchange *ex, const struct tr_router_result *m)
{
    const struct tr_route *route = ex->route;
    struct tr_str path = ex->ctx.norm_path;
    struct tr_str svc_path = route->service ? route->service->url.path : TR_STR_NULL;
    size_t cap = svc_path.len + path.len + 2;
    char *out = tr_arena_alloc(&ex->ctx.arena, cap);
    int len;
    if (route->kong3) {
        size_t matched = m->path_end > m->path_start ? m->path_end - m->path_start : 0;
        /* Kong 3 sends the stripped prefix as X-Forwarded-Prefix, unless it is "/". */
        if (route->strip_path && matched && m->path_end > 1)
            ex->prefix = (struct tr_str){path.ptr, m->path_end};
        len = tr_router_upstream_path(
            svc_path, path, matched, route->strip_path,
            route->path_handling_v1 ? TR_PATH_HANDLING_V1 : TR_PATH_HANDLING_V0, out, cap);
    } else {
        struct tr_str strip = TR_STR_NULL;
        if (!m->by_host && route->strip_path && route->path)
            strip = (struct tr_str){route->path, m->path_end};
        ex->prefix = strip;
        len = tr_url_join_upstream_path(svc_path, path, strip, out, cap);
    }
    if (len < 0)
        return TR_EINTERNAL;
    ex->upath = (struct tr_str){out, (size_t)len};
    return 0;
}

/* Route the request: the normalized path (P5) and the rest of the request through the
 * snapshot's router; then the route's own rules (HTTPS only) and the path sent upstream.
 * Returns false when ex was answered and freed. */
static bool route_request(struct tr_exchange *ex, const struct tr_http_request *req)
{
    struct tr_client *c = ex->c;
    ex->hold = tr__worker_hold(ex->w);
    if (ex->hold == NULL) {
        fail(ex, TR_EUNAVAIL);
        return false;
    }
    const struct tr_snapshot *snap = ex->hold->snap;
    char *norm = tr_arena_alloc(&ex->ctx.arena, req->path.len + 2);
    int nlen = tr_url_normalize_path(req->path, ex->w->conf->escaped_slashes_reject, norm,
                                     req->path.len + 2);
    if (nlen < 0) {
        fail(ex, TR_EBADREQ);
        return false;
    }
    struct tr_str path = {norm, (size_t)nlen};
    ex->ctx.norm_path = path;
    struct tr_str hosts[MAX_HOST_CANDIDATES];
    struct tr_router_request rr;
    router_request(ex, req, path, hosts, &rr);
    struct tr_router_result match;
    int span = tr__trace_span_begin(&ex->ctx, TR_TRACE_ROUTER, "kong.router", TR_SPAN_INTERNAL);
    bool matched = tr_router_match_request(snap->router, &rr, &match);
    tr__trace_span_end(&ex->ctx, span, !matched, NULL);
    if (!matched) {
        bool close = tr__exchange_closes(ex);
        tr__respond_no_route(c, path, hosts, rr.num_hosts, snap->num_kong3_routes > 0, close);
        ex->unrouted = true;
        finish(ex);
        return false;
    }
    const struct tr_route *route = match.route;
    ex->route = route;
    ex->service = route->service;
    if (route->https_only && !tr__client_is_https(c, req, route->http_if_terminated)) {
        refuse_plain_http(ex, req);
        finish(ex);
        return false;
    }
    keep_captures(ex, &match);
    add_debug_headers(ex, req);
    if (upstream_path(ex, &match) != 0) {
        fail(ex, TR_EINTERNAL);
        return false;
    }
    return true;
}

/* Run the access phase of the route's plugins, then go upstream, answer or wait. */
static void start_access(struct tr_exchange *ex, const struct tr_http_request *req)
{
    struct tr_client *c = ex->c;
    keep_request(ex, req, c->sock.in.ptr);
    ex->may_send_continue = ex->expect_continue && !ex->req_done && c->sock.in.len == req->head_len;
    ex->starting = true;
    /* Kong makes the balancer span before the plugins run: its id is what they propagate */
    tr__trace_balancer_prepare(&ex->ctx);
    int rc = tr__phases_access(&ex->ctx);
    if (rc == TR_PLUGIN_YIELD) {
        /* A plugin waits (on work, or on the body: the client feeds it through
         * tr__exchange_on_client_data once the head bytes are dropped). */
        ex->starting = false;
        return;
    }
    if (rc != TR_PLUGIN_NEXT)
        ex->starting = false;
    /* ex may be freed here (a plugin answered, failed, or the upstream head was refused): never
     * touch it after. On NEXT, after_access ends the start itself. */
    after_access(ex, rc);
}

void tr__exchange_start(struct tr_client *c, const struct tr_http_request *req)
{
    struct tr_exchange *ex = new_exchange(c, req);
    ex->req_bytes_in = req->head_len;
    if (check_request(ex, req) && route_request(ex, req))
        start_access(ex, req);
}

void tr__exchange_resume(struct tr_exchange *ex, int rc)
{
    if (ex->aborted) {
        free_now(ex);
        return;
    }
    if (rc == TR_PLUGIN_NEXT)
        rc = tr__phases_access(&ex->ctx);
    else if (rc != TR_PLUGIN_YIELD)
        tr__phases_collect_rest(&ex->ctx);
    after_access(ex, rc);
}

static const struct tr_upstream_cbs upstream_cbs;
static void upstream_ready(struct tr_exchange *ex, struct tr_upconn *up);

/* The TLS server name for an https service when it is not the service's host: a Kong 3 route
 * with preserve_host sends the client's Host (without its port) as the SNI too, as Kong's
 * proxy_ssl_name $upstream_host does. NULL otherwise. */
static const char *upstream_sni(struct tr_exchange *ex)
{
    if (!ex->service->tls)
        return NULL;
    if (!ex->route->kong3 || !ex->route->preserve_host)
        return tr__balance_sni(ex); /* a balanced service: the pick's name; else NULL */
    struct tr_str h = tr_url_host_without_port(ex->rv.host);
    if (h.len >= 2 && h.ptr[0] == '[' && h.ptr[h.len - 1] == ']')
        h = (struct tr_str){h.ptr + 1, h.len - 2}; /* an address: no SNI is sent for it */
    if (h.len == 0 || h.len > 253)
        return NULL;
    return tr_arena_strndup(&ex->ctx.arena, h.ptr, h.len);
}

/* A service host the node's resolver answered: its next address (each try takes the next),
 * dialled and pooled as such; an https service still names its host in TLS. */
static const struct tr_lb_address *resolved_address(struct tr_exchange *ex,
                                                    struct tr_lb_address *out, const char **sni)
{
    struct tr_service *svc = (struct tr_service *)ex->service; /* resolved_next only */
    unsigned i = atomic_fetch_add_explicit(&svc->resolved_next, 1, memory_order_relaxed);
    const struct tr_resolved_addr *ra = &svc->resolved[i % svc->num_resolved];
    *out = (struct tr_lb_address){.host = ra->ip, .port = ra->port};
    if (*sni == NULL && svc->tls)
        *sni = tr_arena_strndup(&ex->ctx.arena, svc->url.host.ptr, svc->url.host.len);
    return out;
}

/* A connection to the service: an idle one from the pool (unless fresh_only), else a new one,
 * which counts as an attempt (P10: retries are counted in connect attempts). */
static void get_upstream(struct tr_exchange *ex, bool fresh_only)
{
    struct tr_upconn *up = NULL;
    const char *sni = upstream_sni(ex);
    const struct tr_lb_address *addr = ex->lb_addr;
    struct tr_lb_address dns;
    if (addr == NULL && ex->service->num_resolved > 0)
        addr = resolved_address(ex, &dns, &sni);
    tr__trace_try_begin(ex);
    if (!fresh_only)
        up = tr__upstream_take_idle(ex->w, ex->service, sni, addr, &upstream_cbs, ex);
    if (up != NULL) {
        copy_addr(ex, up->key);
        upstream_ready(ex, up);
        return;
    }
    ex->attempts++;
    ex->up = tr__upstream_connect(ex->w, ex->service, sni, addr, &upstream_cbs, ex);
}

/* Before a retry to a balanced service: the next address, and a head with its Host. False
 * when the exchange failed (no address left to try, or the head could not be built). */
static bool pick_next(struct tr_exchange *ex)
{
    if (ex->service->upstream == NULL)
        return true;
    int rc = tr__balance_pick(ex);
    if (rc < 0) {
        ex->upstream_error = "no peer";
        fail(ex, rc);
        return false;
    }
    if (rc == 1) {
        free(ex->up_head);
        ex->up_head = tr__forward_request_head(ex, ex->upath, &ex->up_head_len);
        if (ex->up_head == NULL) {
            fail(ex, TR_EINTERNAL); /* logged by forward.c */
            return false;
        }
    }
    return true;
}

void tr__exchange_connect(struct tr_exchange *ex)
{
    ex->wants_upstream = false;
    ex->t_connect_start = tr_clock_mono_us();
    get_upstream(ex, false);
}

/* ---- request body: client -> upstream ----------------------------------------------------- */

/* Count n more body bytes against a plugin's body limit (tr_ctx_set_body_limit). When they do
 * not fit, answer 413 (P3: as soon as the running total crosses the limit), drop the upstream
 * connection before it gets the rest (it never sees a complete request) and return false:
 * the exchange is freed then. */
static bool body_within_limit(struct tr_exchange *ex, size_t n)
{
    if (!ex->req_limited)
        return true;
    if (n <= ex->req_limit && ex->req_count <= ex->req_limit - n) {
        ex->req_count += n;
        return true;
    }
    tr_log_info("client %s: request body over the limit of %" PRIu64 " bytes", ex->client_ip,
                ex->req_limit);
    if (ex->c)
        ex->c->sock.in.len = 0;
    fail(ex, TR_ETOOLARGE);
    return false;
}

bool tr__exchange_body_within_limit(struct tr_exchange *ex, size_t n)
{
    return body_within_limit(ex, n);
}

/* Forward the request body bytes now in the client buffer. Returns false when the exchange
 * failed and was freed (ex must not be used then). */
static bool relay_request_body(struct tr_exchange *ex)
{
    struct tr_client *c = ex->c;
    struct tr_upconn *up = ex->up;
    if (c == NULL || up == NULL || !up->connected || ex->req_done)
        return true;
    struct tr_buf *in = &c->sock.in;
    while (in->len > 0 && !ex->req_done) {
        if (ex->req_body == TR_HTTP_BODY_LENGTH) {
            size_t n = in->len < ex->req_remaining ? in->len : (size_t)ex->req_remaining;
            if (!body_within_limit(ex, n))
                return false;
            uv_buf_t b = uv_buf_init(in->ptr, (unsigned)n);
            if (tr__upstream_write(up, &b, 1) != 0) {
                fail(ex, TR_EUPSTREAM_BADRESP);
                return false;
            }
            ex->req_body_began = true;
            tr_buf_consume(in, n);
            ex->req_bytes_in += n;
            ex->req_remaining -= n;
            if (ex->req_remaining == 0)
                ex->req_done = true;
        } else {
            size_t consumed = 0;
            struct tr_str data;
            int rc = tr_http_chunked_parse(&ex->req_dec, in->ptr, in->len, &consumed, &data);
            if (rc < 0) {
                /* P1.6: bad chunk framing. The upstream never gets a terminal chunk. */
                tr_log_info("client %s: bad chunked body", c->peer_ip);
                in->len = 0;
                fail(ex, TR_EBADREQ);
                return false;
            }
            if (rc == 1 && data.len > 0) {
                if (!body_within_limit(ex, data.len))
                    return false;
                char size_line[24];
                int sl = snprintf(size_line, sizeof(size_line), "%zx\r\n", data.len);
                uv_buf_t b[3] = {uv_buf_init(size_line, (unsigned)sl),
                                 uv_buf_init((char *)data.ptr, (unsigned)data.len),
                                 uv_buf_init("\r\n", 2)};
                if (tr__upstream_write(up, b, 3) != 0) {
                    fail(ex, TR_EUPSTREAM_BADRESP);
                    return false;
                }
                ex->req_body_began = true;
            }
            if (rc == 2) {
                uv_buf_t b = uv_buf_init("0\r\n\r\n", 5);
                if (tr__upstream_write(up, &b, 1) != 0) {
                    fail(ex, TR_EUPSTREAM_BADRESP);
                    return false;
                }
                ex->req_done = true;
            }
            tr_buf_consume(in, consumed);
            ex->req_bytes_in += consumed;
            if (rc == 0 && consumed == 0)
                break;
        }
    }
    /* While the body is sent, the upstream's silence is expected: the send timeout bounds the
     * gap between writes; once all is sent, the read timeout bounds the wait for the answer. */
    if (!ex->res_head_parsed)
        tr__upstream_arm_timer(up, ex->req_done ? ex->service->read_timeout_ms
                                                : ex->service->send_timeout_ms);
    if (ex->req_done) {
        /* Pipelined bytes wait in the buffer; stop reading until this exchange is over. */
        if (in->len > 0)
            tr__client_pause(c);
    } else if (tr_sock_queued(&up->sock) > TR_PROXY_QUEUE_HIGH) {
        tr__client_pause(c);
    }
    return true;
}

void tr__exchange_on_client_data(struct tr_exchange *ex)
{
    struct tr_client *c = ex->c;
    if (c->state == TR_CLIENT_TUNNEL) {
        if (ex->up && c->sock.in.len > 0) {
            uv_buf_t b = uv_buf_init(c->sock.in.ptr, (unsigned)c->sock.in.len);
            tr_ws_stream_feed(&ex->ws_to_upstream, b.base, b.len);
            tr__upstream_write(ex->up, &b, 1);
            c->sock.in.len = 0;
            if (tr_sock_queued(&ex->up->sock) > TR_PROXY_QUEUE_HIGH)
                tr__client_pause(c);
        }
        return;
    }
    if (ex->body.reading) {
        tr__body_pump(ex);
        return;
    }
    relay_request_body(ex);
}

void tr__exchange_on_client_eof(struct tr_exchange *ex)
{
    struct tr_client *c = ex->c;
    if (c->state == TR_CLIENT_TUNNEL || !ex->req_done) {
        /* The client is gone (or ended a tunnel): nothing more can be answered. */
        c->ex = NULL;
        ex->c = NULL;
        tr__exchange_free(ex);
        tr__client_abort(c);
        return;
    }
    /* E-13: a half-closed client still gets its answer, then the connection closes. */
    c->close_after = true;
}

static void on_upstream_drained(void *ud, struct tr_upconn *up)
{
    struct tr_exchange *ex = ud;
    (void)up;
    struct tr_client *c = ex->c;
    if (c && !ex->req_done && c->state == TR_CLIENT_BUSY) {
        if (relay_request_body(ex) && !ex->req_done)
            tr__client_resume(c);
    } else if (c && c->state == TR_CLIENT_TUNNEL) {
        tr__client_resume(c);
    }
}

/* ---- upstream ready ---------------------------------------------------------------------- */

static void upstream_failed(struct tr_exchange *ex, int err);

/* up (fresh or pooled) is ready: send the head, then what there is of the body. */
static void upstream_ready(struct tr_exchange *ex, struct tr_upconn *up)
{
    ex->up = up;
    if (ex->t_upstream_start == 0)
        ex->t_upstream_start = tr_clock_mono_us();
    uv_buf_t b = uv_buf_init(ex->up_head, (unsigned)ex->up_head_len);
    if (tr__upstream_write(up, &b, 1) != 0) {
        upstream_failed(ex, TR_EUPSTREAM_REFUSED);
        return;
    }
    ex->req_sent_any = true;
    tr__upstream_start_reading(up, ex->service->read_timeout_ms);
    if (ex->body.kept && !tr__body_send_kept(ex))
        return;
    if (!relay_request_body(ex))
        return;
    if (ex->c && !ex->req_done && ex->c->state == TR_CLIENT_BUSY)
        tr__client_resume(ex->c);
}

/* Can this failed attempt be tried again on a fresh connection? (P10) */
static bool can_retry(struct tr_exchange *ex, bool stale_pooled)
{
    if (ex->res_head_parsed || ex->req_body_began)
        return false;
    if (ex->req_sent_any && !ex->idempotent)
        return false;
    return stale_pooled || ex->attempts <= ex->service->retries;
}

/* No upstream answer can come: 504 for a timeout, 503 when the name did not resolve, else
 * 502. */
static void upstream_failed(struct tr_exchange *ex, int err)
{
    drop_upstream(ex, false);
    if (err == TR_EUPSTREAM_TIMEOUT) {
        ex->upstream_error = "timeout";
        fail(ex, TR_EUPSTREAM_TIMEOUT);
        return;
    }
    if (err == TR_EDNS) {
        ex->upstream_error = "name resolution failed";
        fail(ex, TR_EDNS);
        return;
    }
    ex->upstream_error = "connection failed";
    fail(ex, TR_EUPSTREAM_REFUSED);
}

/* ---- response: upstream -> client --------------------------------------------------------- */

static void start_tunnel(struct tr_exchange *ex, uv_buf_t *head)
{
    struct tr_client *c = ex->c;
    struct tr_upconn *up = ex->up;
    tr__client_write(c, head, 1);
    ex->res_started = true;
    c->state = TR_CLIENT_TUNNEL; /* counted as writing, same as BUSY */
    if (up->sock.in.len > 0) {
        uv_buf_t b = uv_buf_init(up->sock.in.ptr, (unsigned)up->sock.in.len);
        tr_ws_stream_feed(&ex->ws_to_client, b.base, b.len);
        tr__client_write(c, &b, 1);
        up->sock.in.len = 0;
    }
    if (c->sock.in.len > 0) {
        uv_buf_t b = uv_buf_init(c->sock.in.ptr, (unsigned)c->sock.in.len);
        tr_ws_stream_feed(&ex->ws_to_upstream, b.base, b.len);
        tr__upstream_write(up, &b, 1);
        c->sock.in.len = 0;
    }
    ex->req_done = true;
    tr__client_resume(c);
}

static bool send_filtered(struct tr_exchange *ex);

static void response_complete(struct tr_exchange *ex, bool reusable)
{
    if (ex->res_holding && !send_filtered(ex))
        return;
    if (ex->res_chunked_out) {
        uv_buf_t b = uv_buf_init("0\r\n\r\n", 5);
        tr__client_write(ex->c, &b, 1);
    }
    ex->res_done = true;
    tr__balance_done(ex, true);
    if (ex->up)
        drop_upstream(ex, reusable && ex->res_keep_alive && ex->req_done &&
                              ex->up->sock.in.len == 0 && !ex->w->draining);
    finish(ex);
}

/* Decode the body bytes at the front of the upstream's input: up to max pieces of body data
 * (slices of the input) in pieces[0..*n), *used the input bytes they took, *complete at the
 * body's end. False on an invalid chunked body (the pieces before it are good). */
static bool take_body(struct tr_exchange *ex, struct tr_str *pieces, unsigned max, unsigned *n,
                      size_t *used, bool *complete)
{
    struct tr_buf *in = &ex->up->sock.in;
    *n = 0;
    *used = 0;
    *complete = false;
    switch (ex->res_body) {
    case TR_HTTP_BODY_NONE:
        *complete = true;
        break;
    case TR_HTTP_BODY_LENGTH: {
        size_t k = in->len < ex->res_remaining ? in->len : (size_t)ex->res_remaining;
        if (k)
            pieces[(*n)++] = (struct tr_str){in->ptr, k};
        *used = k;
        ex->res_remaining -= k;
        *complete = ex->res_remaining == 0;
        break;
    }
    case TR_HTTP_BODY_EOF:
        if (in->len)
            pieces[(*n)++] = (struct tr_str){in->ptr, in->len};
        *used = in->len;
        break;
    case TR_HTTP_BODY_CHUNKED:
        while (*used < in->len && *n < max) {
            size_t consumed = 0;
            struct tr_str data;
            int rc = tr_http_chunked_parse(&ex->res_dec, in->ptr + *used, in->len - *used,
                                           &consumed, &data);
            if (rc < 0)
                return false;
            if (rc == 1 && data.len)
                pieces[(*n)++] = data;
            *used += consumed;
            if (rc == 2) {
                *complete = true;
                break;
            }
            if (rc == 0)
                break;
        }
        break;
    }
    return true;
}

static void hold_response_body(struct tr_exchange *ex);

/* Write head (may be NULL) and body pieces to the client, framed as the response goes out
 * (chunks when res_chunked_out). Returns tr__client_write's result. */
static int write_pieces(struct tr_exchange *ex, const uv_buf_t *head, const struct tr_str *pieces,
                        unsigned np)
{
    uv_buf_t out[1 + 3 * 8];
    char sizes[8][24];
    unsigned n = 0;
    if (head)
        out[n++] = *head;
    for (unsigned i = 0; i < np && i < 8; i++) {
        if (ex->res_chunked_out) {
            int sl = snprintf(sizes[i], sizeof(sizes[i]), "%zx\r\n", pieces[i].len);
            out[n++] = uv_buf_init(sizes[i], (unsigned)sl);
            ex->bytes_sent += (unsigned)sl + 2;
        }
        out[n++] = uv_buf_init((char *)pieces[i].ptr, (unsigned)pieces[i].len);
        ex->bytes_sent += pieces[i].len;
        if (ex->res_chunked_out)
            out[n++] = uv_buf_init("\r\n", 2);
    }
    if (head) {
        ex->head_bytes_sent = head->len;
        ex->proxied = true;
    }
    return n ? tr__client_write(ex->c, out, n) : 0;
}

/* Send the client the response bytes now in the upstream's input (after the head), with
 * framing. */
static void relay_response_body(struct tr_exchange *ex, uv_buf_t *head)
{
    if (ex->res_holding) {
        hold_response_body(ex);
        return;
    }
    struct tr_upconn *up = ex->up;
    struct tr_buf *in = &up->sock.in;
    /* Every piece the input holds goes now: a read may bring more chunks than one pass takes,
     * and nothing calls again until the next read (which may never come). */
    for (;;) {
        struct tr_str pieces[8];
        unsigned np;
        size_t used;
        bool complete;
        bool valid = take_body(ex, pieces, TR_ARRAY_SIZE(pieces), &np, &used, &complete);
        int wrc = write_pieces(ex, head, pieces, np);
        if (head)
            ex->res_started = true;
        head = NULL;
        if (!valid) {
            ex->upstream_error = "invalid chunked response";
            fail(ex, TR_EUPSTREAM_BADRESP);
            return;
        }
        if (wrc != 0) {
            fail(ex, TR_EUPSTREAM_BADRESP);
            return;
        }
        tr_buf_consume(in, used);
        if (complete) {
            /* P9: bytes after the end of a response: the connection is not reused. */
            response_complete(ex, in->len == 0);
            return;
        }
        if (tr_sock_queued(&ex->c->sock) > TR_PROXY_QUEUE_HIGH) {
            tr__upstream_stop_reading(up); /* on_client_drained reads (and relays) again */
            return;
        }
        if (used == 0 || in->len == 0)
            return;
    }
}

/* ---- a response body held for the plugins' body_filter ---------------------------------- */

/* Keep the response head (parsed in the worker's scratch, its bytes about to be consumed) in
 * the arena while the body is held. */
static void keep_response_head(struct tr_exchange *ex, const struct tr_http_response *res)
{
    struct tr_arena *a = &ex->ctx.arena;
    struct tr_http_response *kept = tr_arena_alloc(a, sizeof(*kept));
    *kept = *res;
    kept->reason =
        (struct tr_str){tr_arena_strndup(a, res->reason.ptr, res->reason.len), res->reason.len};
    for (size_t i = 0; i < res->num_headers; i++) {
        const struct tr_http_header *h = &res->headers[i];
        kept->headers[i].name =
            (struct tr_str){tr_arena_strndup(a, h->name.ptr, h->name.len), h->name.len};
        kept->headers[i].value =
            (struct tr_str){tr_arena_strndup(a, h->value.ptr, h->value.len), h->value.len};
    }
    ex->res_kept = kept;
}

/* The held response goes out: res's head, body, then pieces; the held bytes are let go. False
 * when ex failed. */
static bool send_kept_head(struct tr_exchange *ex, const struct tr_http_response *res,
                           struct tr_str body, const struct tr_str *pieces, unsigned np)
{
    ex->res_holding = false;
    size_t hl;
    char *head = tr__forward_response_head(ex, res, &hl);
    if (head == NULL) {
        fail(ex, TR_EINTERNAL); /* logged by forward.c */
        return false;
    }
    keep_client_head(ex, head, hl);
    uv_buf_t hb = uv_buf_init(head, (unsigned)hl);
    int rc = write_pieces(ex, &hb, &body, body.len ? 1 : 0);
    if (rc == 0 && np)
        rc = write_pieces(ex, NULL, pieces, np);
    ex->res_started = true;
    tr_buf_free(&ex->res_held);
    if (rc != 0) {
        fail(ex, TR_EUPSTREAM_BADRESP);
        return false;
    }
    return true;
}

/* The body passed the bound: the head and what was held go out as they are, followed by
 * pieces; from then on the response streams. False when ex failed. */
static bool send_held(struct tr_exchange *ex, const struct tr_str *pieces, unsigned np)
{
    tr_log_warn("%.*s %.*s: response body over %u bytes: sent as it came, not filtered by the "
                "plugins that asked for it",
                (int)ex->method.len, ex->method.ptr, (int)ex->path.len, ex->path.ptr,
                (unsigned)TR_PLUGIN_RESPONSE_BUFFER_MAX);
    struct tr_str held = {ex->res_held.ptr, ex->res_held.len};
    return send_kept_head(ex, ex->res_kept, held, pieces, np);
}

/* The whole body is held: the plugins' body_filter run, then the head (with the final
 * Content-Length) and the body go out. False when ex failed. */
static bool send_filtered(struct tr_exchange *ex)
{
    struct tr_str body = {ex->res_held.ptr ? ex->res_held.ptr : "", ex->res_held.len};
    body = tr__phases_body_filter(&ex->ctx, body);
    struct tr_http_response *res = ex->res_kept;
    res->body = TR_HTTP_BODY_LENGTH;
    res->content_length = body.len;
    ex->res_body = TR_HTTP_BODY_LENGTH;
    ex->res_chunked_out = false;
    ex->res_close_delimited = false;
    return send_kept_head(ex, res, body, NULL, 0);
}

/* Move the body bytes of the upstream's input into ex->res_held. */
static void hold_response_body(struct tr_exchange *ex)
{
    struct tr_buf *in = &ex->up->sock.in;
    for (;;) {
        struct tr_str pieces[8];
        unsigned np;
        size_t used;
        bool complete;
        bool valid = take_body(ex, pieces, TR_ARRAY_SIZE(pieces), &np, &used, &complete);
        size_t total = 0;
        for (unsigned i = 0; i < np; i++)
            total += pieces[i].len;
        if (ex->res_held.len + total > TR_PLUGIN_RESPONSE_BUFFER_MAX) {
            if (!send_held(ex, pieces, np))
                return;
            if (!valid) {
                ex->upstream_error = "invalid chunked response";
                fail(ex, TR_EUPSTREAM_BADRESP);
                return;
            }
            tr_buf_consume(in, used);
            if (complete)
                response_complete(ex, in->len == 0);
            else
                relay_response_body(ex, NULL);
            return;
        }
        for (unsigned i = 0; i < np; i++) {
            if (tr_buf_append(&ex->res_held, pieces[i].ptr, pieces[i].len) != 0) {
                fail(ex, TR_EINTERNAL);
                return;
            }
        }
        tr_buf_consume(in, used);
        if (!valid) {
            ex->upstream_error = "invalid chunked response";
            fail(ex, TR_EUPSTREAM_BADRESP);
            return;
        }
        if (complete) {
            response_complete(ex, in->len == 0);
            return;
        }
        if (used == 0)
            return;
    }
}

/* P9: a 101 is accepted only in answer to the WebSocket handshake torii forwarded, naming
 * websocket in Upgrade and carrying the Sec-WebSocket-Accept its key calls for (RFC 6455
 * §4.2.2): anything else is a smuggling attempt (a tunnel the client never got to ask for). */
static bool ws_upgrade_accepted(const struct tr_exchange *ex, const struct tr_http_response *res)
{
    if (!ex->upgrade)
        return false;
    const struct tr_http_header *up =
        tr_http_find_header(res->headers, res->num_headers, TR_STR_LIT("Upgrade"));
    if (up == NULL || !tr_str_ieq(tr_str_trim(up->value), TR_STR_LIT("websocket")))
        return false;
    const struct tr_http_header *acc = NULL;
    for (size_t i = 0; i < res->num_headers; i++) {
        if (!tr_str_ieq(res->headers[i].name, TR_STR_LIT("Sec-WebSocket-Accept")))
            continue;
        if (acc != NULL)
            return false; /* two answers: which one would the client check? */
        acc = &res->headers[i];
    }
    return acc != NULL && tr_str_eq(acc->value, tr_str_from_cstr(ex->ws_accept));
}

static void on_response_head(struct tr_exchange *ex)
{
    struct tr_upconn *up = ex->up;
    struct tr_client *c = ex->c;
    struct tr_buf *in = &up->sock.in;
    /* The head is parsed into the worker's scratch and turned into the client's head at once;
     * only a few facts are kept in the exchange. */
    struct tr_http_response *res = ex->w->res_scratch;
    for (;;) {
        /* A HEAD either way has no body: a client's HEAD sent upstream as GET leaves the body
         * unread (that connection is not reused). */
        int rc = tr_http_parse_response(in->ptr, in->len, NULL, ex->is_head || ex->up_is_head, res);
        if (rc == TR_EAGAIN)
            return;
        if (rc < 0) {
            ex->upstream_error = "invalid response";
            tr_log_info("upstream %s: invalid response head", ex->upstream_addr);
            fail(ex, TR_EUPSTREAM_BADRESP);
            return;
        }
        if (res->status >= 100 && res->status < 200 && res->status != 101) {
            /* Interim answers (100 Continue, 103) are not forwarded; a flood of them is an
             * invalid response, and fail() closes that upstream connection. */
            if (++ex->res_interim > TR_PROXY_MAX_INTERIM) {
                ex->upstream_error = "too many interim responses";
                tr_log_info("upstream %s: more than %d interim responses", ex->upstream_addr,
                            TR_PROXY_MAX_INTERIM);
                fail(ex, TR_EUPSTREAM_BADRESP);
                return;
            }
            tr_buf_consume(in, (size_t)rc);
            continue;
        }
        ex->res_head_parsed = true;
        ex->res_keep_alive = res->keep_alive;
        ex->t_upstream_head = tr_clock_mono_us();
        ex->status = res->status;
        tr__balance_report(ex, TR_TRY_STATUS, (unsigned)res->status);
        if (res->status == 101) {
            if (!ws_upgrade_accepted(ex, res)) {
                ex->upstream_error = "unexpected 101";
                tr_log_info("upstream %s: a 101 torii did not ask for, or with the wrong "
                            "Sec-WebSocket-Accept",
                            ex->upstream_addr);
                fail(ex, TR_EUPSTREAM_BADRESP);
                return;
            }
            size_t hl;
            char *head = tr__forward_response_head(ex, res, &hl);
            if (head == NULL) {
                fail(ex, TR_EINTERNAL); /* logged by forward.c */
                return;
            }
            tr_buf_consume(in, (size_t)rc);
            uv_buf_t hb = uv_buf_init(head, (unsigned)hl);
            start_tunnel(ex, &hb);
            free(head);
            return;
        }
        ex->res_body = res->body;
        ex->res_remaining = res->content_length;
        tr_http_chunked_init(&ex->res_dec);
        if (ex->res_body == TR_HTTP_BODY_CHUNKED || ex->res_body == TR_HTTP_BODY_EOF) {
            if (ex->minor_version >= 1)
                ex->res_chunked_out = true;
            else
                ex->res_close_delimited = true;
        }
        ex->ctx.res = res;
        tr__phases_header_filter(&ex->ctx);
        ex->ctx.res = NULL;
        if (ex->ctx.body_filters && ex->res_body != TR_HTTP_BODY_NONE) {
            /* A plugin wants the whole body: the head waits for it. */
            keep_response_head(ex, res);
            tr_buf_consume(in, (size_t)rc);
            tr_buf_init(&ex->res_held, TR_PLUGIN_RESPONSE_BUFFER_MAX);
            ex->res_holding = true;
            hold_response_body(ex);
            return;
        }
        size_t hl;
        char *head = tr__forward_response_head(ex, res, &hl);
        if (head == NULL) {
            fail(ex, TR_EINTERNAL); /* logged by forward.c */
            return;
        }
        tr_buf_consume(in, (size_t)rc);
        uv_buf_t hb = uv_buf_init(head, (unsigned)hl);
        (void)c;
        keep_client_head(ex, head, hl); /* freed with ex, which the relay may end */
        relay_response_body(ex, &hb);
        return;
    }
}

/* Response bytes from the upstream: the head, then the body; or raw bytes in a tunnel. */
static void relay_upstream_data(struct tr_exchange *ex)
{
    struct tr_client *c = ex->c;
    if (c == NULL)
        return;
    if (c->state == TR_CLIENT_TUNNEL) {
        struct tr_upconn *up = ex->up;
        uv_buf_t b = uv_buf_init(up->sock.in.ptr, (unsigned)up->sock.in.len);
        tr_ws_stream_feed(&ex->ws_to_client, b.base, b.len);
        tr__client_write(c, &b, 1);
        up->sock.in.len = 0;
        if (tr_sock_queued(&c->sock) > TR_PROXY_QUEUE_HIGH)
            tr__upstream_stop_reading(up);
        return;
    }
    if (!ex->res_head_parsed)
        on_response_head(ex);
    else
        relay_response_body(ex, NULL);
}

static void on_upstream_data(void *ud, struct tr_upconn *up)
{
    struct tr_exchange *ex = ud;
    relay_upstream_data(ex);
    /* ex may be gone: it still owns up only if up still names it as its user. */
    if (up->ud != ex || up->closing || !tr_buf_full(&up->sock.in))
        return;
    if (!ex->res_head_parsed) {
        /* A full buffer with an unparsable head never completes (P9: heads over 64 KiB). */
        upstream_failed(ex, TR_EUPSTREAM_BADRESP);
        return;
    }
    tr__upstream_stop_reading(up); /* the client is slow: wait for on_client_drained */
}

void tr__exchange_tunnel_going_away(struct tr_exchange *ex)
{
    static const char reason[] = "going away";
    uint8_t frame[TR_WS_CLOSE_FRAME_MAX];
    uint8_t mask[4];
    if (ex->up && tr_ws_stream_between_frames(&ex->ws_to_upstream) &&
        RAND_bytes(mask, sizeof(mask)) == 1) {
        /* torii speaks as the client here: its frame is masked (RFC 6455 §5.3) */
        uv_buf_t b = uv_buf_init(
            (char *)frame, (unsigned)tr_ws_close_frame(frame, TR_WS_GOING_AWAY, reason, mask));
        tr__upstream_write(ex->up, &b, 1);
    }
    struct tr_client *c = ex->c;
    if (c && tr_ws_stream_between_frames(&ex->ws_to_client)) {
        uv_buf_t b = uv_buf_init(
            (char *)frame, (unsigned)tr_ws_close_frame(frame, TR_WS_GOING_AWAY, reason, NULL));
        tr__client_write(c, &b, 1);
    }
    ex->status = 101;
    drop_upstream(ex, false);
    if (c)
        c->ex = NULL;
    ex->c = NULL;
    tr__exchange_free(ex);
}

static void on_upstream_eof(void *ud, struct tr_upconn *up)
{
    struct tr_exchange *ex = ud;
    struct tr_client *c = ex->c;
    if (c && c->state == TR_CLIENT_TUNNEL) {
        ex->status = 101;
        drop_upstream(ex, false);
        c->ex = NULL;
        ex->c = NULL;
        tr__exchange_free(ex);
        c->close_after = true;
        tr__client_exchange_done(c);
        return;
    }
    if (!ex->res_head_parsed) {
        bool reused = up->requests > 1;
        bool truncated = up->sock.in.len > 0;
        drop_upstream(ex, false);
        if (!reused)
            tr__balance_report(ex, TR_TRY_TCP_FAILURE, 0);
        if (can_retry(ex, reused)) {
            /* Closed or reset before any response byte (P10): an idempotent request goes to a
             * fresh connection (of another address, when balanced). A pooled connection that
             * died while idle does not use up one of the service's retries. */
            if (!reused && !pick_next(ex))
                return;
            get_upstream(ex, true);
            return;
        }
        ex->upstream_error = truncated ? "truncated response head" : "connection closed";
        fail(ex, truncated ? TR_EUPSTREAM_BADRESP : TR_EUPSTREAM_REFUSED);
        return;
    }
    if (ex->res_body == TR_HTTP_BODY_EOF) {
        response_complete(ex, false);
        return;
    }
    /* F-05: a body cut short stays cut short: abort the client connection. */
    ex->upstream_error = "upstream closed mid-body";
    fail(ex, TR_EUPSTREAM_BADRESP);
}

static void on_upstream_connect(void *ud, struct tr_upconn *up, int err)
{
    struct tr_exchange *ex = ud;
    copy_addr(ex, up->addr);
    if (err == 0) {
        upstream_ready(ex, up);
        return;
    }
    ex->up = NULL; /* gone */
    if (err != TR_EDNS)
        tr__balance_report(ex, err == TR_EUPSTREAM_TIMEOUT ? TR_TRY_TIMEOUT : TR_TRY_TCP_FAILURE,
                           0);
    /* P10: a failed connect is tried again on a fresh connection (of another address, when
     * balanced), up to the service's retries; a name that did not resolve will not resolve on
     * a retry either. */
    if (ex->attempts <= ex->service->retries && err != TR_EDNS) {
        if (pick_next(ex))
            get_upstream(ex, true);
        return;
    }
    upstream_failed(ex, err);
}

static void on_upstream_error(void *ud, struct tr_upconn *up, int err)
{
    struct tr_exchange *ex = ud;
    (void)up;
    ex->up = NULL; /* gone */
    tr__balance_report(ex, TR_TRY_TIMEOUT, 0);
    upstream_failed(ex, err);
}

static const struct tr_upstream_cbs upstream_cbs = {
    .on_connect = on_upstream_connect,
    .on_data = on_upstream_data,
    .on_eof = on_upstream_eof,
    .on_drained = on_upstream_drained,
    .on_error = on_upstream_error,
};

void tr__exchange_on_client_drained(struct tr_exchange *ex)
{
    if (ex->up && ex->res_head_parsed && !ex->res_done) {
        tr__upstream_start_reading(ex->up, ex->service->read_timeout_ms);
        /* what was left in the input when the client fell behind goes now (ex may end) */
        if (ex->up->sock.in.len > 0)
            relay_upstream_data(ex);
    } else if (ex->up && ex->c && ex->c->state == TR_CLIENT_TUNNEL)
        tr__upstream_start_reading(ex->up, ex->service->read_timeout_ms);
}
