/* SPDX-License-Identifier: MIT */
/* The heads torii writes: the request it sends upstream (own request line, own framing, the
 * client's end-to-end headers, X-Forwarded-* and X-Real-IP per P6-P8) and the response head it
 * sends the client (hop-by-hop removed, Via and latency headers added). */
#include "proxy/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/mem.h"
#include "http/headers.h"
#include "snapshot/snapshot.h"

struct out {
    char *buf;
    size_t len, cap;
};

static void reserve(struct out *o, size_t n)
{
    if (o->len + n <= o->cap)
        return;
    while (o->cap < o->len + n)
        o->cap = o->cap ? o->cap * 2 : 1024;
    o->buf = tr_xrealloc(o->buf, o->cap);
}

static void put(struct out *o, const char *p, size_t n)
{
    reserve(o, n);
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_str(struct out *o, struct tr_str s)
{
    put(o, s.ptr, s.len);
}

/* Append v in decimal. (printf costs more than the rest of a head together.) */
static void put_u64(struct out *o, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(o, tmp + sizeof(tmp) - n, n);
}

static void put_header(struct out *o, const char *name, struct tr_str value)
{
    puts_(o, name);
    put(o, ": ", 2);
    put_str(o, value);
    put(o, "\r\n", 2);
}

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

static void put_named(void *ud, const char *name, struct tr_str value)
{
    put_header(ud, name, value);
}

/* The query sent upstream: as received, minus arguments a plugin removed (hide_credentials). */
static void put_query(struct out *o, const struct tr_exchange *ex)
{
    const struct tr_req_view *rv = &ex->rv;
    if (!rv->has_query)
        return;
    if (ex->ctx.num_removed_args == 0) {
        put(o, "?", 1);
        put_str(o, rv->query);
        return;
    }
    bool first = true;
    struct tr_str q = rv->query;
    size_t i = 0;
    while (i < q.len) {
        size_t end = i;
        while (end < q.len && q.ptr[end] != '&')
            end++;
        struct tr_str pair = {q.ptr + i, end - i};
        const char *eq = memchr(pair.ptr, '=', pair.len);
        struct tr_str key = {pair.ptr, eq ? (size_t)(eq - pair.ptr) : pair.len};
        if (pair.len > 0 && !tr__ctx_arg_removed(&ex->ctx, key)) {
            put(o, first ? "?" : "&", 1);
            put_str(o, pair);
            first = false;
        }
        i = end + 1;
    }
}

char *tr__forward_request_head(struct tr_exchange *ex, struct tr_str upstream_path, size_t *len)
{
    const struct tr_api *api = ex->api;
    const struct tr_client *c = ex->c;
    const struct tr_req_view *req = &ex->rv;
    const struct tr_ctx *ctx = &ex->ctx;
    struct out o = {0};
    reserve(&o, 512 + req->target.len + req->num_headers * 48);

    put_str(&o, req->method);
    put(&o, " ", 1);
    put_str(&o, upstream_path);
    put_query(&o, ex);
    puts_(&o, " HTTP/1.1\r\nHost: ");
    struct tr_str client_host = req->host;
    if (api->preserve_host && client_host.len)
        put_str(&o, client_host);
    else
        puts_(&o, api->upstream_host_header);
    put(&o, "\r\n", 2);

    bool check_conn = has_connection_options(req->headers, req->num_headers);
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct tr_http_header *h = &req->headers[i];
        unsigned flags = tr_http_header_flags(h->name);
        if (flags & (TR_HDR_FRAMING | TR_HDR_GATEWAY | TR_HDR_HOST))
            continue;
        if (flags & TR_HDR_HOP_BY_HOP) {
            /* A WebSocket (or other) upgrade keeps its Upgrade header. */
            if (!(ex->upgrade && tr_str_ieq(h->name, TR_STR_LIT("Upgrade"))))
                continue;
        } else if (check_conn && named_in_connection(req->headers, req->num_headers, h->name)) {
            continue;
        }
        if (ctx->num_req_edits && tr__ctx_header_edited(ctx, h->name))
            continue;
        put_str(&o, h->name);
        put(&o, ": ", 2);
        put_str(&o, h->value);
        put(&o, "\r\n", 2);
    }
    for (size_t i = 0; i < ctx->num_req_edits; i++) {
        const struct tr_hdr_edit *e = &ctx->req_edits[i];
        if (e->remove)
            continue;
        put_str(&o, e->name);
        put(&o, ": ", 2);
        put_str(&o, e->value);
        put(&o, "\r\n", 2);
    }
    tr__ctx_identity_headers(ctx, put_named, &o);
    if (ex->upgrade)
        puts_(&o, "Connection: upgrade\r\n");

    /* P8: X-Real-IP is the computed client. X-Forwarded-For is the incoming list (every such
     * field, in order) followed by the peer when the peer is trusted, else the peer alone. */
    put_header(&o, "X-Real-IP", tr_str_from_cstr(ex->client_ip));
    puts_(&o, "X-Forwarded-For: ");
    if (ex->peer_trusted) {
        for (size_t i = 0; i < req->num_headers; i++) {
            const struct tr_http_header *h = &req->headers[i];
            struct tr_str v = tr_str_trim(h->value);
            if (v.len == 0 || !tr_str_ieq(h->name, TR_STR_LIT("X-Forwarded-For")))
                continue;
            put_str(&o, v);
            put(&o, ", ", 2);
        }
    }
    puts_(&o, c->peer_ip);
    put(&o, "\r\n", 2);
    puts_(&o, c->tls_listener ? "X-Forwarded-Proto: https\r\n" : "X-Forwarded-Proto: http\r\n");
    struct tr_str fwd_host = client_host;
    if (fwd_host.len) {
        if (fwd_host.ptr[0] != '[') {
            const char *colon = memchr(fwd_host.ptr, ':', fwd_host.len);
            if (colon)
                fwd_host.len = (size_t)(colon - fwd_host.ptr);
        } else {
            const char *rb = memchr(fwd_host.ptr, ']', fwd_host.len);
            if (rb)
                fwd_host.len = (size_t)(rb - fwd_host.ptr) + 1;
        }
        put_header(&o, "X-Forwarded-Host", fwd_host);
    }
    puts_(&o, "X-Forwarded-Port: ");
    put_u64(&o, c->local_port);
    put(&o, "\r\n", 2);
    put_header(&o, "X-Forwarded-Path", ctx->norm_path);
    if (ex->stripped)
        put_header(&o, "X-Forwarded-Prefix", tr_str_from_cstr(api->request_path));

    /* A body a plugin read whole goes with its (possibly rewritten) length. */
    enum tr_http_body framing = req->body;
    if (ex->body.complete) {
        puts_(&o, "Content-Length: ");
        put_u64(&o, ex->body.len);
        put(&o, "\r\n", 2);
        framing = TR_HTTP_BODY_NONE;
    }
    switch (framing) {
    case TR_HTTP_BODY_LENGTH:
        puts_(&o, "Content-Length: ");
        put_u64(&o, req->content_length);
        put(&o, "\r\n", 2);
        break;
    case TR_HTTP_BODY_CHUNKED:
        puts_(&o, "Transfer-Encoding: chunked\r\n");
        break;
    default:
        break;
    }
    put(&o, "\r\n", 2);
    *len = o.len;
    return o.buf;
}

static unsigned ms_between(uint64_t from_us, uint64_t to_us)
{
    return to_us > from_us ? (unsigned)((to_us - from_us) / 1000) : 0;
}

char *tr__forward_response_head(struct tr_exchange *ex, const struct tr_http_response *res,
                                size_t *len)
{
    struct out o = {0};
    reserve(&o, 512 + res->num_headers * 64);
    puts_(&o, "HTTP/1.1 ");
    put_u64(&o, (uint64_t)res->status);
    put(&o, " ", 1);
    put_str(&o, res->reason);
    put(&o, "\r\n", 2);

    bool upgrade = res->status == 101;
    bool check_conn = has_connection_options(res->headers, res->num_headers);
    for (size_t i = 0; i < res->num_headers; i++) {
        const struct tr_http_header *h = &res->headers[i];
        unsigned flags = tr_http_header_flags(h->name);
        if (flags & TR_HDR_FRAMING) {
            /* HEAD and 304 answers keep the length of the body they describe. */
            if (res->body == TR_HTTP_BODY_NONE && res->status != 204 &&
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
        put_str(&o, h->name);
        put(&o, ": ", 2);
        put_str(&o, h->value);
        put(&o, "\r\n", 2);
    }
    if (upgrade) {
        puts_(&o, "Connection: upgrade\r\n");
    } else {
        if (ex->res_body == TR_HTTP_BODY_LENGTH) {
            puts_(&o, "Content-Length: ");
            put_u64(&o, res->content_length);
            put(&o, "\r\n", 2);
        } else if (ex->res_chunked_out)
            puts_(&o, "Transfer-Encoding: chunked\r\n");
        bool will_close = ex->res_close_delimited || !ex->client_keep_alive || !ex->req_done ||
                          ex->w->draining || (ex->c && ex->c->close_after);
        if (will_close)
            puts_(&o, "Connection: close\r\n");
        else if (ex->minor_version == 0)
            puts_(&o, "Connection: keep-alive\r\n");
    }
    for (size_t i = 0; i < ex->ctx.num_res_adds; i++) {
        const struct tr_hdr_edit *e = &ex->ctx.res_adds[i];
        put_str(&o, e->name);
        put(&o, ": ", 2);
        put_str(&o, e->value);
        put(&o, "\r\n", 2);
    }
    uint64_t now = tr_clock_mono_us();
    puts_(&o, "Via: 1.1 torii/" TR_VERSION "\r\n");
    unsigned up_ms =
        ms_between(ex->t_upstream_start, ex->t_upstream_head ? ex->t_upstream_head : now);
    unsigned proxy_ms = ms_between(ex->t_start, ex->t_upstream_start);
    static const char *const latency[] = {"X-Kong-Upstream-Latency: ", "X-Kong-Proxy-Latency: ",
                                          "X-Torii-Upstream-Latency: ", "X-Torii-Proxy-Latency: "};
    for (size_t i = 0; i < 4; i++) {
        puts_(&o, latency[i]);
        put_u64(&o, (i % 2) ? proxy_ms : up_ms);
        put(&o, "\r\n", 2);
    }
    put(&o, "\r\n", 2);
    *len = o.len;
    return o.buf;
}
