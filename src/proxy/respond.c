/* SPDX-License-Identifier: MIT */
/* Answers torii writes itself: JSON bodies with a "message", Kong's wording, Server header. */
#include "proxy/internal.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "http/status.h"

static const char *default_message(int status)
{
    switch (status) {
    case 400: return "Bad request";
    case 404: return "Not found";
    case 405: return "Method not allowed";
    case 408: return "Request timeout";
    case 411: return "Length required";
    case 413: return "Request size limit exceeded";
    case 414: return "Request-URI too long";
    case 417: return "Expectation failed";
    case 431: return "Request header fields too large";
    case 501: return "Not implemented";
    case 502: return "An invalid response was received from the upstream server";
    case 503: return "The upstream server is currently unavailable";
    case 504: return "The upstream server is timing out";
    case 505: return "HTTP version not supported";
    default: return "An unexpected error occurred";
    }
}

void tr__respond_error(struct tr_client *c, int status, const char *json_body, bool close)
{
    char head[512];
    size_t blen = strlen(json_body);
    bool head_only = c->ex && c->ex->is_head;
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: application/json; "
                      "charset=utf-8\r\nContent-Length: %zu\r\n%sServer: torii/" TR_VERSION
                      "\r\n\r\n",
                      status, tr_http_status_reason(status), c->w->date, blen,
                      close ? "Connection: close\r\n" : "");
    uv_buf_t b[2] = {uv_buf_init(head, (unsigned)hl), uv_buf_init((char *)json_body,
                                                                    (unsigned)blen)};
    if (c->ex)
        c->ex->status = status;
    tr__client_write(c, b, head_only ? 1 : 2);
}

void tr__respond_message(struct tr_client *c, int status, const char *message, bool close)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"message\":\"%s\"}",
             message ? message : default_message(status));
    tr__respond_error(c, status, body, close);
    if (close && c->ex == NULL)
        tr__client_exchange_done(c);
}
