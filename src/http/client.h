/* SPDX-License-Identifier: MIT */
/* A small HTTP/1.1 client for what torii sends on its own (the http-log plugin's batches): one
 * destination, one request at a time, the connection kept for the next request for keepalive
 * ms. Everything runs on one libuv loop and never blocks it: names resolve on libuv's pool,
 * connect, TLS, send and read are bounded by one timeout (reset at each step, as
 * lua-resty-http's set_timeout). The response body is read to its end (and its first bytes
 * kept for error messages) so the connection can be reused. */
#ifndef TR_HTTP_CLIENT_H
#define TR_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct tr_tls_client;
struct tr_http_client;

/* The outcome of one request: status is the response's (100..599) or 0 when none came; err says
 * why not ("timeout", "connection refused", ...), body holds the first bytes of the response
 * body (NUL-terminated, possibly empty). Both are valid during the call only. */
typedef void (*tr_http_client_done)(void *ud, int status, const char *err, const char *body);

/* A client for host:port (a name or an address; tls: HTTPS through tls_ctx, borrowed, which
 * must outlive the client). timeout_ms bounds each step, keepalive_ms how long an idle
 * connection is kept (0: closed after each response). */
struct tr_http_client *tr_http_client_new(uv_loop_t *loop, const char *host, uint16_t port,
                                          struct tr_tls_client *tls_ctx, uint32_t timeout_ms,
                                          uint32_t keepalive_ms);

/* Send head (the request line and fields, ending with the blank line) and body, both copied;
 * done runs once: from a libuv callback, or before this returns when the request cannot even
 * start (no connection could be begun). Returns 0, or TR_EBUSY while a request is in flight
 * (done is not called then). */
int tr_http_client_send(struct tr_http_client *c, const char *head, size_t head_len,
                        const char *body, size_t body_len, tr_http_client_done done, void *ud);

/* Close and free; a request in flight ends without its done. May be called from done (the
 * client is then freed once done returns). The handles finish closing on the loop's next
 * turns. */
void tr_http_client_free(struct tr_http_client *c);

#endif
