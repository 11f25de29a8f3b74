/* SPDX-License-Identifier: MIT */
/* Answers torii writes itself, before or instead of an upstream: errors from the error table
 * (core/err.h: the status and the message, Kong's wording), the 404 for a request nothing
 * matches (Kong 0.7's, or Kong 3's on a node with Kong 3 routes), the 426 or the redirect of an
 * HTTPS-only route, and the answer to OPTIONS *. Each is JSON with
 * Date, Content-Length and Server, and Connection: close when the connection ends after it. */
#include "proxy/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/mem.h"
#include "http/status.h"
#include "http/url.h"
#include "http/writer.h"

/* status, body (may be empty), extra header lines (constant text, may be ""), close. */
static void respond_json(struct tr_client *c, int status, const char *body, size_t blen,
                         const char *extra, bool close)
{
    bool head_only = c->ex && c->ex->is_head;
    struct tr_http_writer o;
    tr_http_writer_init(&o, 384 + strlen(extra)); /* a redirect's Location carries the target */
    tr_http_writer_cstr(&o, "HTTP/1.1 ");
    tr_http_writer_u64(&o, (uint64_t)status);
    tr_http_writer_raw(&o, " ", 1);
    tr_http_writer_cstr(&o, tr_http_status_reason(status));
    tr_http_writer_cstr(&o, "\r\nDate: ");
    tr_http_writer_cstr(&o, c->w->date);
    tr_http_writer_cstr(&o, "\r\nContent-Type: application/json; charset=utf-8\r\n");
    tr_http_writer_field_u64(&o, "Content-Length", blen);
    tr_http_writer_cstr(&o, extra);
    if (close)
        tr_http_writer_cstr(&o, "Connection: close\r\n");
    if (c->w->conf->headers_mask & TR_HEADERS_SERVER)
        tr_http_writer_cstr(&o, "Server: torii/" TR_VERSION "\r\n");
    if (c->ex)
        tr__forward_tokens(&o, c->ex);
    size_t hl;
    char *head = tr_http_writer_finish(&o, &hl);
    if (head == NULL) { /* only when memory runs out: a bare answer, and the connection ends */
        static const char bare[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                                   "Connection: close\r\n\r\n";
        uv_buf_t b = uv_buf_init((char *)bare, sizeof(bare) - 1);
        c->close_after = true;
        if (c->ex)
            c->ex->status = 500;
        tr__client_write(c, &b, 1);
        return;
    }
    uv_buf_t b[2] = {uv_buf_init(head, (unsigned)hl), uv_buf_init((char *)body, (unsigned)blen)};
    if (c->ex)
        c->ex->status = status;
    tr__client_write(c, b, head_only || blen == 0 ? 1 : 2);
    free(head);
}

void tr__respond_error(struct tr_client *c, int err, bool close)
{
    char body[256];
    int n = snprintf(body, sizeof(body), "{\"message\":\"%s\"}", tr_err_message(err));
    respond_json(c, tr_err_status(err), body, (size_t)n, "", close);
    if (close && c->ex == NULL)
        tr__client_exchange_done(c);
}

/* s into *p as the inside of a JSON string (bytes outside printable ASCII as \u00XX). */
static void json_escape_into(char **p, char *end, struct tr_str s)
{
    for (size_t i = 0; i < s.len && *p < end - 7; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        if (ch == '"' || ch == '\\') {
            *(*p)++ = '\\';
            *(*p)++ = (char)ch;
        } else if (ch < 0x20 || ch >= 0x7f) {
            *p += snprintf(*p, (size_t)(end - *p), "\\u%04x", ch);
        } else {
            *(*p)++ = (char)ch;
        }
    }
}

void tr__respond_no_route(struct tr_client *c, struct tr_str path, const struct tr_str *hosts,
                          size_t num_hosts, bool kong3, bool close)
{
    if (kong3) {
        tr__respond_error(c, TR_ENOMATCH, close);
        return;
    }
    size_t cap = 128 + path.len * 6;
    for (size_t i = 0; i < num_hosts; i++)
        cap += hosts[i].len * 6 + 4;
    char *body = tr_xmalloc(cap);
    char *p = body, *end = body + cap;
    p += snprintf(p, (size_t)(end - p), "{\"request_path\":\"");
    json_escape_into(&p, end, path);
    p += snprintf(p, (size_t)(end - p), "\",\"message\":\"%s\",\"request_host\":[",
                  tr_err_message(TR_ENOROUTE));
    for (size_t i = 0; i < num_hosts; i++) {
        p += snprintf(p, (size_t)(end - p), "%s\"", i ? "," : "");
        json_escape_into(&p, end, tr_url_host_without_port(hosts[i]));
        p += snprintf(p, (size_t)(end - p), "\"");
    }
    p += snprintf(p, (size_t)(end - p), "]}");
    respond_json(c, tr_err_status(TR_ENOROUTE), body, (size_t)(p - body), "", close);
    free(body);
}

void tr__respond_redirect(struct tr_client *c, int status, struct tr_str host, struct tr_str target,
                          bool close)
{
    /* Both come from the parsed head (visible ASCII); anything else is refused rather than
     * written into a header. */
    size_t cap = host.len + target.len + 32;
    char *extra = tr_xmalloc(cap);
    int n = snprintf(extra, cap, "Location: https://%.*s%.*s\r\n", (int)host.len, host.ptr,
                     (int)target.len, target.ptr);
    for (int i = 10; i < n - 2; i++) {
        if ((unsigned char)extra[i] <= 0x20 || (unsigned char)extra[i] >= 0x7f) {
            free(extra);
            tr__respond_error(c, TR_EBADREQ, close);
            return;
        }
    }
    respond_json(c, status, "", 0, extra, close);
    free(extra);
}

void tr__respond_https_required(struct tr_client *c, bool close)
{
    char body[128];
    int n = snprintf(body, sizeof(body), "{\"message\":\"%s\"}", tr_err_message(TR_EHTTPSONLY));
    /* RFC 2817 §4.2's answer, as Kong 0.7 gave it. */
    respond_json(c, tr_err_status(TR_EHTTPSONLY), body, (size_t)n,
                 "Connection: Upgrade\r\nUpgrade: TLS/1.2, HTTP/1.1\r\n", close);
}

void tr__respond_options_star(struct tr_client *c)
{
    static const char allow[] = "HTTP/1.1 200 OK\r\nAllow: GET, HEAD, POST, PUT, PATCH, DELETE, "
                                "OPTIONS\r\nContent-Length: 0\r\n\r\n";
    uv_buf_t b = uv_buf_init((char *)allow, sizeof(allow) - 1);
    if (c->ex)
        c->ex->status = 200;
    tr__client_write(c, &b, 1);
}
