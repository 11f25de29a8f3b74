/* SPDX-License-Identifier: MIT */
/* Reading the request body for a plugin (form fields, an access token in a form body): the
 * plugin yields, the body is collected from the client into ex->body (chunked framing
 * decoded), the plugin's done callback runs, and later the kept bytes go upstream ahead of
 * whatever is still to come from the client. Bodies are read only for plugins that ask, and
 * only up to the plugin's max: everything else streams as before. */
#include "proxy/internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "http/form.h"

/* Move what the client sent into b. Returns 1 when the body is complete, 2 when it passed
 * max (the rest stays with the client connection), 0 for more to come, TR_EBADREQ on bad
 * framing, TR_ENOMEM. */
static int collect(struct tr_exchange *ex)
{
    struct tr_buf *in = &ex->c->sock.in;
    struct tr_body_read *b = &ex->body;
    while (!ex->req_done) {
        if (b->data.len >= b->max)
            return 2;
        if (in->len == 0)
            return 0;
        if (ex->req_body == TR_HTTP_BODY_LENGTH) {
            size_t n = in->len < ex->req_remaining ? in->len : (size_t)ex->req_remaining;
            if (n > b->max - b->data.len)
                n = b->max - b->data.len;
            if (tr_buf_append(&b->data, in->ptr, n) != 0)
                return TR_ENOMEM;
            tr_buf_consume(in, n);
            ex->req_bytes_in += n;
            ex->req_remaining -= n;
            if (ex->req_remaining == 0)
                ex->req_done = true;
        } else {
            size_t consumed = 0;
            struct tr_str data;
            int rc = tr_http_chunked_parse(&ex->req_dec, in->ptr, in->len, &consumed, &data);
            if (rc < 0)
                return TR_EBADREQ;
            /* This may pass max by one piece (see tr_ctx_read_body). */
            if (rc == 1 && data.len > 0 && tr_buf_append(&b->data, data.ptr, data.len) != 0)
                return TR_ENOMEM;
            tr_buf_consume(in, consumed);
            ex->req_bytes_in += consumed;
            if (rc == 2)
                ex->req_done = true;
            else if (rc == 0 && consumed == 0)
                return 0;
        }
    }
    return 1;
}

void tr__body_pump(struct tr_exchange *ex)
{
    struct tr_client *c = ex->c;
    struct tr_body_read *b = &ex->body;
    if (c == NULL || !b->reading)
        return;
    int rc = collect(ex);
    if (rc == TR_EBADREQ) {
        tr_log_info("client %s: bad chunked body", c->peer_ip);
        c->sock.in.len = 0;
        tr__exchange_fail(ex, TR_EBADREQ);
        return;
    }
    if (rc < 0) {
        tr_log_error("client %s: no memory for a request body", c->peer_ip);
        tr__exchange_fail(ex, TR_EINTERNAL);
        return;
    }
    if (rc == 0) {
        tr__client_resume(c);
        return;
    }
    b->reading = false;
    b->kept = b->data.len > 0;
    b->complete = rc == 1;
    if (!b->complete)
        tr_log_info("client %s: request body over the %zu bytes a plugin reads; streamed",
                    ex->client_ip, b->max);
    b->done(&ex->ctx, b->complete); /* may free ex */
}

bool tr__body_send_kept(struct tr_exchange *ex)
{
    struct tr_body_read *b = &ex->body;
    size_t len = b->data.len;
    if (len == 0)
        return true;
    if (!b->counted && !tr__exchange_body_within_limit(ex, len))
        return false;
    b->counted = true;
    int rc;
    if (b->complete || ex->req_body == TR_HTTP_BODY_LENGTH) {
        uv_buf_t buf = uv_buf_init(b->data.ptr, (unsigned)len);
        rc = tr__upstream_write(ex->up, &buf, 1);
    } else {
        /* The start of a chunked body that goes on: as one chunk. */
        char size_line[24];
        int sl = snprintf(size_line, sizeof(size_line), "%zx\r\n", len);
        uv_buf_t bufs[3] = {uv_buf_init(size_line, (unsigned)sl),
                            uv_buf_init(b->data.ptr, (unsigned)len), uv_buf_init("\r\n", 2)};
        rc = tr__upstream_write(ex->up, bufs, 3);
    }
    if (rc != 0) {
        tr__exchange_fail(ex, TR_EUPSTREAM_BADRESP);
        return false;
    }
    /* A whole body can be sent again on a retry; a partial one cannot. */
    if (!b->complete)
        ex->req_body_began = true;
    return true;
}

void tr__body_free(struct tr_exchange *ex)
{
    tr_buf_free(&ex->body.data);
}

/* ---- the plugin API ------------------------------------------------------------------------ */

bool tr_ctx_body_ready(const struct tr_ctx *ctx)
{
    const struct tr_exchange *ex = ctx->ex;
    return ex->body.complete || (ex->req_done && !ex->body.kept);
}

void tr_ctx_read_body(struct tr_ctx *ctx, size_t max,
                      void (*done)(struct tr_ctx *ctx, bool complete))
{
    struct tr_exchange *ex = ctx->ex;
    struct tr_body_read *b = &ex->body;
    b->max = max;
    /* One chunk may pass max, and a chunk is never larger than the client's buffer. */
    size_t piece = ex->c ? ex->c->sock.in.max : 0;
    size_t limit = max > SIZE_MAX - piece ? SIZE_MAX : max + piece;
    if (b->data.ptr == NULL)
        tr_buf_init(&b->data, limit);
    else if (limit > b->data.max)
        b->data.max = limit; /* the start an earlier plugin read stays */
    b->done = done;
    b->reading = true;
    if (ex->may_send_continue && !ex->continue_sent && ex->c) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        uv_buf_t buf = uv_buf_init((char *)cont, sizeof(cont) - 1);
        tr__client_write(ex->c, &buf, 1);
        ex->continue_sent = true;
    }
    /* The bytes come through tr__body_pump: from the client (or, when the phase runner
     * resumes outside the client's read path, from after_access). */
}

bool tr_ctx_body(const struct tr_ctx *ctx, struct tr_str *body)
{
    const struct tr_exchange *ex = ctx->ex;
    if (ex->body.complete) {
        *body = (struct tr_str){ex->body.data.ptr ? ex->body.data.ptr : "", ex->body.data.len};
        return true;
    }
    if (ex->req_done && !ex->body.kept) {
        *body = TR_STR_LIT("");
        return true;
    }
    return false;
}

void tr_ctx_set_body(struct tr_ctx *ctx, struct tr_str body)
{
    struct tr_body_read *b = &ctx->ex->body;
    if (!b->complete) {
        if (!ctx->ex->req_done || b->kept)
            return;         /* the body is still coming */
        b->complete = true; /* a request without a body gets one */
    }
    /* A new buffer: body may point into the old one, which stays when memory runs out. */
    struct tr_buf nb;
    tr_buf_init(&nb, SIZE_MAX);
    if (tr_buf_append(&nb, body.ptr, body.len) != 0) {
        tr_log_error("client %s: no memory for a rewritten request body; kept as read",
                     ctx->ex->client_ip);
        return;
    }
    tr_buf_free(&b->data);
    b->data = nb;
    b->kept = true;
}

bool tr_ctx_is_form_body(const struct tr_ctx *ctx)
{
    struct tr_str ct;
    return tr_ctx_header(ctx, TR_STR_LIT("Content-Type"), &ct) && tr_form_is_urlencoded(ct);
}

bool tr_ctx_form_arg(struct tr_ctx *ctx, struct tr_str name, struct tr_str *value)
{
    struct tr_str body;
    if (!tr_ctx_is_form_body(ctx) || !tr_ctx_body(ctx, &body))
        return false;
    return tr__ctx_find_arg(ctx, body, name, value);
}

void tr_ctx_remove_form_arg(struct tr_ctx *ctx, struct tr_str name)
{
    struct tr_str body;
    if (!tr_ctx_is_form_body(ctx) || !tr_ctx_body(ctx, &body) || body.len == 0)
        return;
    char *out = tr_ctx_alloc(ctx, body.len);
    bool removed;
    size_t n = tr_form_remove(body, &name, 1, out, &removed);
    if (removed)
        tr_ctx_set_body(ctx, (struct tr_str){out, n});
}
