/* SPDX-License-Identifier: MIT */
/* The heads torii writes: the request it sends upstream (own request line, own framing, the
 * client's end-to-end headers, X-Forwarded-* and X-Real-IP per P6-P8) and the response head it
 * sends the client (hop-by-hop removed, Via and latency headers added). */
#include "proxy/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/headers.h"
#include "http/status.h"
#include "http/url.h"
#include "http/writer.h"
#include "snapshot/snapshot.h"

/* Is name listed as a connection option in any Connection header? (RFC 9110 §7.6.1) */
static bool named_in_connection(const struct tr_http_header *hs, size_t n, struct tr_str name)
{
    for (size_t i = 0; i < n; i++) {
        if (tr_str_ieq(hs[i].name, TR_STR_LIT("Connection")) &&
            tr_http_list_has_token(hs[i].value, name))
            return true;
    }
    return false;
}

static bool has_connection_options(const struct tr_http_header *hs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (tr_str_ieq(hs[i].name, TR_STR_LIT("Connection")))
            return true;
    }
    return false;
}

struct identity_put {
    struct tr_http_writer *o;
    const struct tr_ctx *ctx;
};

/* An identity header, unless a plugin set or removed that header since (request-transformer
 * renaming X-Consumer-Username). */
static void put_identity(void *ud, const char *name, struct tr_str value)
{
    struct identity_put *p = ud;
    struct tr_str n = tr_str_from_cstr(name);
    if (p->ctx->req_edits.cnt == 0 || !tr__ctx_header_edited(p->ctx, n))
        tr_http_writer_field(p->o, n, value);
}

static unsigned ms_between(uint64_t from_us, uint64_t to_us)
{
    return to_us > from_us ? (unsigned)((to_us - from_us) / 1000) : 0;
}

static bool is_request_id(struct tr_str name)
{
    return tr_str_ieq(name, TR_STR_LIT("X-Kong-Request-Id"));
}

/* Response headers plugins added: checked, their values may come from config or stored rows.
 * Framing stays torii's (P1.8): a plugin's Content-Length or Transfer-Encoding is dropped, and
 * so is its X-Kong-Request-Id when torii sends its own (as Kong overwrites it). */
static void put_plugin_headers(struct tr_http_writer *o, const struct tr_exchange *ex)
{
    const struct tr_ctx *ctx = &ex->ctx;
    bool own_id = ex->w->conf->headers_mask & TR_HEADERS_REQUEST_ID;
    for (size_t i = 0; i < ctx->res_adds.cnt; i++) {
        const struct tr_hdr_edit *e = &ctx->res_adds.items[i];
        if (!e->remove && !(tr_http_header_flags(e->name) & TR_HDR_FRAMING) &&
            !(own_id && is_request_id(e->name)))
            tr_http_writer_field(o, e->name, e->value);
    }
}

/* The latency headers of latency_tokens (and X-Kong-Request-Id) that end a head: a request
 * that went upstream (proxied, or failed there) gets the upstream and proxy latencies, one
 * torii answered before that gets X-Kong-Response-Latency, as Kong. */
void tr__forward_tokens(struct tr_http_writer *o, struct tr_exchange *ex)
{
    unsigned mask = ex->w->conf->headers_mask;
    uint64_t now = tr_clock_mono_us();
    /* a connect that failed counts as going upstream too (Kong's balancer phase ran) */
    uint64_t went = ex->t_upstream_start ? ex->t_upstream_start : ex->t_connect_start;
    if (went) {
        unsigned up_ms = ms_between(went, ex->t_upstream_head ? ex->t_upstream_head : now);
        unsigned proxy_ms = ms_between(ex->t_start, went);
        if (mask & TR_HEADERS_UPSTREAM_LATENCY) {
            tr_http_writer_field_u64(o, "X-Kong-Upstream-Latency", up_ms);
            tr_http_writer_field_u64(o, "X-Torii-Upstream-Latency", up_ms);
        }
        if (mask & TR_HEADERS_PROXY_LATENCY) {
            tr_http_writer_field_u64(o, "X-Kong-Proxy-Latency", proxy_ms);
            tr_http_writer_field_u64(o, "X-Torii-Proxy-Latency", proxy_ms);
        }
    } else if (mask & TR_HEADERS_RESPONSE_LATENCY) {
        tr_http_writer_field_u64(o, "X-Kong-Response-Latency", ms_between(ex->t_start, now));
    }
    if (mask & TR_HEADERS_REQUEST_ID)
        tr_http_writer_field(o, TR_STR_LIT("X-Kong-Request-Id"),
                             tr_str_from_cstr(tr__ctx_request_id(&ex->ctx)));
}

/* A plugin's Host for the upstream request (the last one set), or NULL: it replaces the Host
 * torii would send, never adds a second one. */
static const struct tr_hdr_edit *plugin_host(const struct tr_ctx *ctx)
{
    const struct tr_hdr_edit *found = NULL;
    for (size_t i = 0; i < ctx->req_edits.cnt; i++) {
        const struct tr_hdr_edit *e = &ctx->req_edits.items[i];
        if (tr_http_header_flags(e->name) & TR_HDR_HOST)
            found = e->remove ? NULL : e;
    }
    return found;
}

/* End a head. A refused field is logged by its name only (its value may hold a secret or the
 * injected bytes; control bytes in the name are shown as '?'), and nothing is sent. */
static char *finish_head(struct tr_http_writer *o, const struct tr_exchange *ex, size_t *len)
{
    struct tr_str refused = o->refused;
    char *head = tr_http_writer_finish(o, len);
    if (head == NULL) {
        char name[65];
        size_t n = refused.len < sizeof(name) - 1 ? refused.len : sizeof(name) - 1;
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)refused.ptr[i];
            name[i] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
        }
        name[n] = '\0';
        tr_log_error("%.*s %.*s: not sent: the header \"%s\" built by torii (api %s) holds a "
                     "control character or is not a valid field",
                     (int)ex->method.len, ex->method.ptr, (int)ex->path.len, ex->path.ptr, name,
                     ex->route && ex->route->api_name ? ex->route->api_name : "-");
    }
    return head;
}

/* The query sent upstream: as received, minus arguments a plugin removed (hide_credentials),
 * or the one a plugin set. The client's query passed the parser's request-target check; a
 * plugin's was encoded by tr_ctx_set_upstream_query. */
static void put_query(struct tr_http_writer *o, struct tr_exchange *ex)
{
    const struct tr_ctx *ctx = &ex->ctx;
    if (!ctx->up_query_set && ctx->removed_args.cnt == 0) {
        if (ex->rv.has_query) {
            tr_http_writer_raw(o, "?", 1);
            tr_http_writer_str(o, ex->rv.query);
        }
        return;
    }
    struct tr_str q = tr_ctx_upstream_query(&ex->ctx);
    if (q.len) {
        tr_http_writer_raw(o, "?", 1);
        tr_http_writer_str(o, q);
    }
}

/* P8: X-Real-IP is the computed client. X-Forwarded-For is the incoming list (every such field,
 * in order) followed by the peer when the peer is trusted, else the peer alone. Then torii's own
 * X-Forwarded-Proto/-Host/-Port/-Path/-Prefix, whoever the peer (Kong 3 forwards a trusted
 * peer's instead; P8 keeps torii's: the backend learns what this hop saw). */
static void put_forwarded(struct tr_http_writer *o, const struct tr_exchange *ex)
{
    const struct tr_client *c = ex->c;
    const struct tr_req_view *req = &ex->rv;
    tr_http_writer_field(o, TR_STR_LIT("X-Real-IP"), tr_str_from_cstr(ex->client_ip));
    tr_http_writer_cstr(o, "X-Forwarded-For: ");
    if (ex->peer_trusted) {
        for (size_t i = 0; i < req->num_headers; i++) {
            const struct tr_http_header *h = &req->headers[i];
            struct tr_str v = tr_str_trim(h->value);
            if (v.len == 0 || !tr_str_ieq(h->name, TR_STR_LIT("X-Forwarded-For")))
                continue;
            tr_http_writer_str(o, v); /* parsed: safe as it is */
            tr_http_writer_raw(o, ", ", 2);
        }
    }
    tr_http_writer_cstr(o, c->peer_ip);
    tr_http_writer_raw(o, "\r\n", 2);
    tr_http_writer_cstr(o, c->tls_listener ? "X-Forwarded-Proto: https\r\n"
                                           : "X-Forwarded-Proto: http\r\n");
    if (req->host.len)
        tr_http_writer_field(o, TR_STR_LIT("X-Forwarded-Host"),
                             tr_url_host_without_port(req->host));
    tr_http_writer_field_u64(o, "X-Forwarded-Port", c->local_port);
    tr_http_writer_field(o, TR_STR_LIT("X-Forwarded-Path"), ex->ctx.norm_path);
    if (ex->prefix.len)
        tr_http_writer_field(o, TR_STR_LIT("X-Forwarded-Prefix"), ex->prefix);
}

char *tr__forward_request_head(struct tr_exchange *ex, struct tr_str upstream_path, size_t *len)
{
    const struct tr_route *route = ex->route;
    const struct tr_req_view *req = &ex->rv;
    const struct tr_ctx *ctx = &ex->ctx;
    struct tr_http_writer o;
    tr_http_writer_init(&o, 512 + req->target.len + req->num_headers * 48);

    tr_http_writer_str(&o, ctx->up_method.len ? ctx->up_method : req->method);
    tr_http_writer_raw(&o, " ", 1);
    tr_http_writer_target(&o, upstream_path);
    put_query(&o, ex);
    tr_http_writer_cstr(&o, " HTTP/1.1\r\n");
    const struct tr_hdr_edit *host_edit = plugin_host(ctx);
    if (host_edit)
        tr_http_writer_field(&o, TR_STR_LIT("Host"), host_edit->value);
    else if (route->preserve_host && req->host.len)
        tr_http_writer_field(&o, TR_STR_LIT("Host"), req->host);
    else if (ex->lb_host)
        tr_http_writer_field(&o, TR_STR_LIT("Host"), tr_str_from_cstr(ex->lb_host));
    else
        tr_http_writer_field(&o, TR_STR_LIT("Host"), tr_str_from_cstr(route->service->host_header));

    bool check_conn = has_connection_options(req->headers, req->num_headers);
    bool send_id = ex->w->conf->headers_upstream_mask & TR_HEADERS_REQUEST_ID;
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct tr_http_header *h = &req->headers[i];
        unsigned flags = tr_http_header_flags(h->name);
        if (flags & (TR_HDR_FRAMING | TR_HDR_GATEWAY | TR_HDR_HOST))
            continue;
        if (flags & TR_HDR_HOP_BY_HOP) {
            /* P7: only a WebSocket upgrade keeps its Upgrade header (HTTP2-Settings and every
             * other upgrade, h2c included, are dropped). */
            if (!(ex->upgrade && tr_str_ieq(h->name, TR_STR_LIT("Upgrade"))))
                continue;
        } else if (check_conn && named_in_connection(req->headers, req->num_headers, h->name)) {
            continue;
        }
        if (ctx->req_edits.cnt && tr__ctx_header_edited(ctx, h->name))
            continue;
        if (send_id && is_request_id(h->name))
            continue; /* torii's id replaces the client's, as Kong's does */
        tr_http_writer_parsed(&o, h);
    }
    if (send_id)
        tr_http_writer_field(&o, TR_STR_LIT("X-Kong-Request-Id"),
                             tr_str_from_cstr(tr__ctx_request_id(&ex->ctx)));
    for (size_t i = 0; i < ctx->req_edits.cnt; i++) {
        const struct tr_hdr_edit *e = &ctx->req_edits.items[i];
        if (!e->remove && !(tr_http_header_flags(e->name) & (TR_HDR_FRAMING | TR_HDR_HOST)) &&
            !(send_id && is_request_id(e->name)))
            tr_http_writer_field(&o, e->name, e->value);
    }
    struct identity_put ip = {&o, ctx};
    tr__ctx_identity_headers(ctx, put_identity, &ip);
    if (ex->upgrade)
        tr_http_writer_cstr(&o, "Connection: upgrade\r\n");
    put_forwarded(&o, ex);

    /* A body a plugin read whole goes with its (possibly rewritten) length. */
    if (ex->body.complete)
        tr_http_writer_field_u64(&o, "Content-Length", ex->body.data.len);
    else if (req->body == TR_HTTP_BODY_LENGTH)
        tr_http_writer_field_u64(&o, "Content-Length", req->content_length);
    else if (req->body == TR_HTTP_BODY_CHUNKED)
        tr_http_writer_cstr(&o, "Transfer-Encoding: chunked\r\n");
    return finish_head(&o, ex, len);
}

char *tr__forward_response_head(struct tr_exchange *ex, const struct tr_http_response *res,
                                size_t *len)
{
    struct tr_http_writer o;
    tr_http_writer_init(&o, 512 + res->num_headers * 64);
    tr_http_writer_cstr(&o, "HTTP/1.1 ");
    tr_http_writer_u64(&o, (uint64_t)res->status);
    tr_http_writer_raw(&o, " ", 1);
    tr_http_writer_str(&o, res->reason);
    tr_http_writer_raw(&o, "\r\n", 2);

    bool upgrade = res->status == 101;
    bool check_conn = has_connection_options(res->headers, res->num_headers);
    for (size_t i = 0; i < res->num_headers; i++) {
        const struct tr_http_header *h = &res->headers[i];
        unsigned flags = tr_http_header_flags(h->name);
        if (flags & TR_HDR_FRAMING) {
            /* HEAD and 304 answers keep the length of the body they describe (not when only
             * the upstream request was a HEAD: the client gets no body then). */
            if (res->body == TR_HTTP_BODY_NONE && res->status != 204 &&
                (ex->is_head || !ex->up_is_head) &&
                tr_str_ieq(h->name, TR_STR_LIT("Content-Length")))
                goto keep;
            continue;
        }
        if (flags & TR_HDR_HOP_BY_HOP) {
            if (!(upgrade && tr_str_ieq(h->name, TR_STR_LIT("Upgrade"))))
                continue;
        } else if (check_conn && named_in_connection(res->headers, res->num_headers, h->name)) {
            continue;
        }
    keep:
        if (ex->ctx.res_adds.cnt && tr__ctx_response_header_removed(&ex->ctx, h->name))
            continue;
        if ((ex->w->conf->headers_mask & TR_HEADERS_REQUEST_ID) && is_request_id(h->name))
            continue; /* torii's id replaces the upstream's */
        tr_http_writer_parsed(&o, h);
    }
    if (upgrade) {
        tr_http_writer_cstr(&o, "Connection: upgrade\r\n");
    } else {
        if (ex->res_body == TR_HTTP_BODY_LENGTH)
            tr_http_writer_field_u64(&o, "Content-Length", res->content_length);
        else if (ex->up_is_head && !ex->is_head && res->status != 204 && res->status != 304)
            tr_http_writer_cstr(&o, "Content-Length: 0\r\n");
        else if (ex->res_chunked_out)
            tr_http_writer_cstr(&o, "Transfer-Encoding: chunked\r\n");
        if (tr__exchange_closes(ex))
            tr_http_writer_cstr(&o, "Connection: close\r\n");
        else if (ex->minor_version == 0)
            tr_http_writer_cstr(&o, "Connection: keep-alive\r\n");
    }
    put_plugin_headers(&o, ex);
    unsigned mask = ex->w->conf->headers_mask;
    if (mask & TR_HEADERS_VIA)
        tr_http_writer_cstr(&o, "Via: 1.1 torii/" TR_VERSION "\r\n");
    if (mask & TR_HEADERS_UPSTREAM_STATUS)
        tr_http_writer_field_u64(&o, "X-Kong-Upstream-Status", (uint64_t)res->status);
    tr__forward_tokens(&o, ex);
    return finish_head(&o, ex, len);
}

char *tr__forward_plugin_answer_head(struct tr_exchange *ex, bool close, size_t *len)
{
    const struct tr_ctx *ctx = &ex->ctx;
    struct tr_http_writer o;
    tr_http_writer_init(&o, 256 + ctx->exit_ctype.len);
    tr_http_writer_cstr(&o, "HTTP/1.1 ");
    tr_http_writer_u64(&o, (uint64_t)ctx->exit_status);
    tr_http_writer_raw(&o, " ", 1);
    tr_http_writer_cstr(&o, tr_http_status_reason(ctx->exit_status));
    tr_http_writer_cstr(&o, "\r\nDate: ");
    tr_http_writer_cstr(&o, ex->w->date);
    tr_http_writer_raw(&o, "\r\n", 2);
    /* RFC 9110 §8.6: no Content-Length in a 204 (nor a body: the caller sends none). */
    if (ctx->exit_status != 204) {
        if (!tr__ctx_response_header_removed(ctx, TR_STR_LIT("Content-Type")))
            tr_http_writer_field(&o, TR_STR_LIT("Content-Type"), ctx->exit_ctype);
        tr_http_writer_field_u64(&o, "Content-Length", ctx->exit_body.len);
    }
    put_plugin_headers(&o, ex);
    if (close)
        tr_http_writer_cstr(&o, "Connection: close\r\n");
    if (ex->w->conf->headers_mask & TR_HEADERS_SERVER)
        tr_http_writer_cstr(&o, "Server: torii/" TR_VERSION "\r\n");
    tr__forward_tokens(&o, ex);
    return finish_head(&o, ex, len);
}
