/* SPDX-License-Identifier: MIT */
/* One-destination HTTP/1.1 client (client.h). A connection is its own allocation, freed by its
 * close callback, so the client can be freed while libuv still holds the connection's handles;
 * a resolution in flight is detached the same way (its callback frees it). */
#include "http/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netdb.h>

#include "core/err.h"
#include "core/mem.h"
#include "http/parser.h"
#include "http/socket.h"
#include "http/tls.h"

#define IN_MAX (256 * 1024) /* a response head and the body pieces read at once */
#define BODY_KEPT 512       /* response body bytes kept for the error message */

struct conn {
    struct tr_sock sock;
    struct tr_http_client *owner; /* NULL once the client let it go */
    uv_connect_t connect_req;
    bool connected;
};

struct tr_http_client {
    uv_loop_t *loop;
    char *host;
    char port_text[8];
    uint16_t port;
    struct tr_tls_client *tls_ctx; /* NULL: plain HTTP */
    uint32_t timeout_ms, keepalive_ms;
    struct conn *conn;     /* the current connection, or NULL */
    uv_timer_t *timer;     /* the step's timeout, or the idle connection's keepalive */
    uv_getaddrinfo_t *gai; /* a resolution in flight, or NULL */
    /* the request in flight */
    bool busy;
    char *out;
    size_t out_len;
    tr_http_client_done done;
    void *ud;
    /* its response */
    struct tr_http_response *res;
    bool in_done;      /* done is running: a free asked for now waits until it returns */
    bool free_pending; /* tr_http_client_free was called from done */
    bool head_done;
    uint64_t remaining;
    struct tr_http_chunked dec;
    char body[BODY_KEPT + 1];
    size_t body_len;
};

static void on_read(struct tr_sock *s, int status);
static void on_handshake(struct tr_sock *s, int status);
static void on_drained(struct tr_sock *s, int status);
static const struct tr_sock_cbs sock_cbs = {on_read, on_handshake, on_drained};

static void on_conn_closed(struct tr_sock *s)
{
    free(TR_CONTAINER_OF(s, struct conn, sock));
}

static void drop_conn(struct tr_http_client *c)
{
    struct conn *k = c->conn;
    if (k == NULL)
        return;
    c->conn = NULL;
    k->owner = NULL;
    tr_sock_close(&k->sock, on_conn_closed);
}

static void arm(struct tr_http_client *c, uint32_t ms, uv_timer_cb cb)
{
    uv_timer_start(c->timer, cb, ms, 0);
}

/* The request ends: done once, the client is free for the next one. */
static void client_release(struct tr_http_client *c);

/* The request ends: done once. Returns false when done freed the client (c is gone). */
static bool finish(struct tr_http_client *c, int status, const char *err)
{
    uv_timer_stop(c->timer);
    free(c->out);
    c->out = NULL;
    c->busy = false;
    c->body[c->body_len] = '\0';
    tr_http_client_done done = c->done;
    c->done = NULL;
    if (done == NULL)
        return true;
    c->in_done = true;
    done(c->ud, status, err, c->body);
    c->in_done = false;
    if (c->free_pending) {
        client_release(c);
        return false;
    }
    return true;
}

static void fail(struct tr_http_client *c, const char *err)
{
    drop_conn(c);
    finish(c, 0, err);
}

static void on_keepalive_end(uv_timer_t *t)
{
    struct tr_http_client *c = t->data;
    if (!c->busy)
        drop_conn(c);
}

static void on_timeout(uv_timer_t *t)
{
    struct tr_http_client *c = t->data;
    if (c->busy)
        fail(c, "timeout");
}

static void write_request(struct tr_http_client *c)
{
    c->head_done = false;
    c->body_len = 0;
    arm(c, c->timeout_ms, on_timeout);
    uv_buf_t b = uv_buf_init(c->out, (unsigned)c->out_len);
    if (tr_sock_write(&c->conn->sock, &b, 1) != 0)
        fail(c, "closed");
}

static void keep_body(struct tr_http_client *c, const char *p, size_t n)
{
    size_t room = BODY_KEPT - c->body_len;
    size_t k = n < room ? n : room;
    memcpy(c->body + c->body_len, p, k);
    c->body_len += k;
}

/* The response is complete: reuse the connection or close it, then report. */
static void complete(struct tr_http_client *c)
{
    int status = c->res->status;
    if (c->res->keep_alive && c->keepalive_ms > 0 && c->conn->sock.in.len == 0) {
        if (finish(c, status, NULL) && !c->busy && c->conn != NULL)
            arm(c, c->keepalive_ms, on_keepalive_end);
        return;
    }
    drop_conn(c);
    finish(c, status, NULL);
}

/* Consume what arrived of the response; true once it is complete. -1 on a framing error. */
static int consume(struct tr_http_client *c)
{
    struct tr_buf *in = &c->conn->sock.in;
    if (!c->head_done) {
        int rc = tr_http_parse_response(in->ptr, in->len, NULL, false, c->res);
        if (rc == TR_EAGAIN)
            return tr_buf_full(in) ? -1 : 0;
        if (rc < 0)
            return -1;
        tr_buf_consume(in, (size_t)rc);
        if (c->res->status < 200) {
            return consume(c); /* an interim answer: the real one follows */
        }
        c->head_done = true;
        c->remaining = c->res->content_length;
        tr_http_chunked_init(&c->dec);
    }
    switch (c->res->body) {
    case TR_HTTP_BODY_NONE:
        return 1;
    case TR_HTTP_BODY_LENGTH: {
        size_t n = in->len < c->remaining ? in->len : (size_t)c->remaining;
        keep_body(c, in->ptr, n);
        tr_buf_consume(in, n);
        c->remaining -= n;
        return c->remaining == 0;
    }
    case TR_HTTP_BODY_CHUNKED:
        while (in->len > 0) {
            size_t used = 0;
            struct tr_str data;
            int rc = tr_http_chunked_parse(&c->dec, in->ptr, in->len, &used, &data);
            if (rc < 0)
                return -1;
            if (rc == 1)
                keep_body(c, data.ptr, data.len);
            tr_buf_consume(in, used);
            if (rc == 2)
                return 1;
            if (rc == 0 && used == 0)
                break;
        }
        return 0;
    default: /* until the connection closes */
        keep_body(c, in->ptr, in->len);
        tr_buf_consume(in, in->len);
        return 0;
    }
}

static void on_read(struct tr_sock *s, int status)
{
    struct conn *k = s->data;
    struct tr_http_client *c = k->owner;
    if (c == NULL)
        return;
    if (!c->busy) {
        if (status != 0) /* the server closed an idle connection */
            drop_conn(c);
        else
            s->in.len = 0;
        return;
    }
    if (status != 0) {
        if (status == TR_EOF && c->head_done && c->res->body == TR_HTTP_BODY_EOF) {
            c->res->keep_alive = false;
            complete(c);
        } else {
            fail(c, status == TR_EOF ? "closed" : "connection reset by peer");
        }
        return;
    }
    int rc = consume(c);
    if (rc < 0)
        fail(c, "invalid response");
    else if (rc == 1)
        complete(c);
}

static void on_handshake(struct tr_sock *s, int status)
{
    struct conn *k = s->data;
    struct tr_http_client *c = k->owner;
    if (c == NULL)
        return;
    if (status != 0)
        fail(c, "handshake failed");
    else
        write_request(c);
}

static void on_drained(struct tr_sock *s, int status)
{
    struct conn *k = s->data;
    if (k->owner != NULL && status != 0 && k->owner->busy)
        fail(k->owner, "broken pipe");
}

static void on_connect(uv_connect_t *req, int status)
{
    struct conn *k = req->data;
    struct tr_http_client *c = k->owner;
    if (c == NULL)
        return;
    if (status < 0) {
        fail(c, status == UV_ECONNREFUSED ? "connection refused" : uv_strerror(status));
        return;
    }
    k->connected = true;
    tr_sock_read_start(&k->sock);
    if (c->tls_ctx != NULL) {
        struct in6_addr a;
        bool literal =
            inet_pton(AF_INET, c->host, &a) == 1 || inet_pton(AF_INET6, c->host, &a) == 1;
        tr_sock_start_tls(&k->sock,
                          tr_tls_conn_client(c->tls_ctx, literal ? NULL : c->host, NULL, NULL, k));
        return;
    }
    write_request(c);
}

static void connect_to(struct tr_http_client *c, const struct sockaddr *sa)
{
    struct conn *k = tr_xcalloc(1, sizeof(*k));
    k->owner = c;
    c->conn = k;
    if (tr_sock_init(&k->sock, c->loop, &sock_cbs, k, IN_MAX) != 0) {
        fail(c, "out of memory");
        return;
    }
    k->connect_req.data = k;
    int rc = uv_tcp_connect(&k->connect_req, &k->sock.tcp, sa, on_connect);
    if (rc != 0)
        fail(c, rc == UV_ECONNREFUSED ? "connection refused" : uv_strerror(rc));
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct tr_http_client *c = req->data;
    if (c == NULL) { /* the client was freed meanwhile */
        uv_freeaddrinfo(res);
        free(req);
        return;
    }
    c->gai = NULL;
    free(req);
    if (status != 0 || res == NULL) {
        uv_freeaddrinfo(res);
        fail(c, "could not resolve host");
        return;
    }
    connect_to(c, res->ai_addr);
    uv_freeaddrinfo(res);
}

static void open_connection(struct tr_http_client *c)
{
    struct sockaddr_storage ss;
    if (tr_sock_addr_literal(c->host, (uint16_t)c->port, &ss)) {
        connect_to(c, (struct sockaddr *)&ss);
        return;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    c->gai = tr_xcalloc(1, sizeof(*c->gai));
    c->gai->data = c;
    int rc = uv_getaddrinfo(c->loop, c->gai, on_resolved, c->host, c->port_text, &hints);
    if (rc != 0) {
        free(c->gai);
        c->gai = NULL;
        fail(c, "could not resolve host");
    }
}

struct tr_http_client *tr_http_client_new(uv_loop_t *loop, const char *host, uint16_t port,
                                          struct tr_tls_client *tls_ctx, uint32_t timeout_ms,
                                          uint32_t keepalive_ms)
{
    struct tr_http_client *c = tr_xcalloc(1, sizeof(*c));
    c->loop = loop;
    c->host = tr_xstrdup(host);
    c->port = port;
    snprintf(c->port_text, sizeof(c->port_text), "%u", (unsigned)port);
    c->tls_ctx = tls_ctx;
    c->timeout_ms = timeout_ms ? timeout_ms : 1;
    c->keepalive_ms = keepalive_ms;
    c->timer = tr_xcalloc(1, sizeof(*c->timer));
    uv_timer_init(loop, c->timer);
    c->timer->data = c;
    c->res = tr_xmalloc(sizeof(*c->res));
    return c;
}

int tr_http_client_send(struct tr_http_client *c, const char *head, size_t head_len,
                        const char *body, size_t body_len, tr_http_client_done done, void *ud)
{
    if (c->busy)
        return TR_EBUSY;
    c->busy = true;
    c->done = done;
    c->ud = ud;
    c->out = tr_xmalloc(head_len + body_len + 1);
    memcpy(c->out, head, head_len);
    if (body_len)
        memcpy(c->out + head_len, body, body_len);
    c->out_len = head_len + body_len;
    arm(c, c->timeout_ms, on_timeout);
    struct conn *k = c->conn;
    if (k != NULL && k->connected && !k->sock.eof && !k->sock.closing) {
        write_request(c); /* the idle connection of the last request */
        return 0;
    }
    drop_conn(c);
    open_connection(c);
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h);
}

static void client_release(struct tr_http_client *c)
{
    if (c->gai != NULL)
        c->gai->data = NULL; /* on_resolved frees it */
    drop_conn(c);
    uv_close((uv_handle_t *)c->timer, on_timer_closed);
    free(c->out);
    free(c->res);
    free(c->host);
    free(c);
}

void tr_http_client_free(struct tr_http_client *c)
{
    if (c == NULL)
        return;
    if (c->in_done) {
        c->free_pending = true; /* freed once done returns */
        return;
    }
    client_release(c);
}
