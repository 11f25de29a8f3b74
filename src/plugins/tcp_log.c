/* SPDX-License-Identifier: MIT */
/* tcp-log (Kong 3.9): each request's serialized JSON (tr_ctx_log_serialize) and a newline, sent
 * to host:port (with tls, over TLS; tls_sni names the server, nothing is verified, as Kong). Each
 * worker thread keeps one connection per destination, opened when a line is to be sent and
 * closed after keepalive ms without one; lines wait (at most 1 MiB) while it connects. A
 * destination that cannot be reached is named in the error log and the waiting lines are
 * dropped, as Kong drops the message of a failed send; the request never waits for any of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <uv.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/socket.h"
#include "http/tls.h"
#include "plugins/log_common.h"
#include "plugins/plugin.h"
#include "schema/schema.h"

#define PENDING_MAX (1u << 20)

struct tcp_log_conf {
    char *host; /* owned */
    int port;
    double timeout, keepalive; /* ms */
    bool tls;
    char *tls_sni; /* owned; NULL when unset */
};

static const struct tr_schema_field conf_fields[] = {
    TR_LOG_DEST_ROWS(struct tcp_log_conf, "lines"),
    TR_LOG_MS_ROW(struct tcp_log_conf, timeout, "10000",
                  "ms to connect (and finish the TLS handshake)"),
    TR_LOG_MS_ROW(struct tcp_log_conf, keepalive, "60000", "ms an idle connection is kept"),
    {.name = "tls",
     .type = TR_SCHEMA_BOOLEAN,
     .flags = TR_SCHEMA_REQUIRED,
     .dflt = "false",
     .help = "speak TLS to the destination (not verified, as Kong)",
     TR_SCHEMA_BIND(struct tcp_log_conf, tls)},
    {.name = "tls_sni",
     .type = TR_SCHEMA_STRING,
     .help = "the server name sent with tls",
     TR_SCHEMA_BIND(struct tcp_log_conf, tls_sni)},
    TR_SCHEMA_FIELD_NO_LUA,
};

static const struct tr_schema conf_schema = {
    .name = "tcp-log",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
};

static void conf_free(void *p)
{
    tr_schema_free_struct(&conf_schema, p);
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    struct tcp_log_conf *c = tr_schema_parse_new(&conf_schema, config, sizeof(*c));
    if (c->host == NULL) {
        snprintf(err, err_len, "host is required");
        conf_free(c);
        return NULL;
    }
    return c;
}

/* ---- destinations ------------------------------------------------------------------------- */

enum state { CLOSED, OPENING, READY };

struct dest;

struct conn {
    struct tr_sock sock;
    struct dest *owner; /* NULL once let go */
    uv_connect_t connect_req;
};

struct dest {
    struct workers_dests *all;
    char *host, *sni;
    int port;
    bool tls;
    uint32_t timeout_ms, keepalive_ms;
    enum state state;
    struct conn *conn;
    uv_getaddrinfo_t *gai;
    uv_timer_t *timer;     /* connect timeout, then the idle keepalive */
    struct tr_buf pending; /* lines waiting for the connection */
    struct dest *next;
};

struct workers_dests {
    uv_loop_t *loop;
    struct tr_tls_client *tls;
    struct dest *list;
};

static void on_read(struct tr_sock *s, int status);
static void on_handshake(struct tr_sock *s, int status);
static void on_drained(struct tr_sock *s, int status);
static const struct tr_sock_cbs sock_cbs = {on_read, on_handshake, on_drained};

static void on_conn_closed(struct tr_sock *s)
{
    free(TR_CONTAINER_OF(s, struct conn, sock));
}

static void drop(struct dest *d, const char *what, const char *why)
{
    if (what != NULL)
        tr_log_error("[tcp-log] failed to %s %s:%d: %s", what, d->host, d->port, why);
    d->pending.len = 0; /* the lines of a failed send are lost, as Kong's */
    if (d->conn != NULL) {
        d->conn->owner = NULL;
        tr_sock_close(&d->conn->sock, on_conn_closed);
        d->conn = NULL;
    }
    if (d->gai != NULL) {
        d->gai->data = NULL;
        d->gai = NULL;
    }
    uv_timer_stop(d->timer);
    d->state = CLOSED;
}

static void on_idle(uv_timer_t *t)
{
    struct dest *d = t->data;
    if (d->state == READY && d->pending.len == 0)
        drop(d, NULL, NULL);
    else if (d->state == OPENING)
        drop(d, "connect to", "timeout");
}

static void flush(struct dest *d)
{
    if (d->pending.len > 0) {
        uv_buf_t b = uv_buf_init(d->pending.ptr, (unsigned)d->pending.len);
        if (tr_sock_write(&d->conn->sock, &b, 1) != 0) {
            drop(d, "send data to", "closed");
            return;
        }
        d->pending.len = 0;
    }
    if (d->keepalive_ms > 0)
        uv_timer_start(d->timer, on_idle, d->keepalive_ms, 0);
    else
        drop(d, NULL, NULL);
}

static void on_read(struct tr_sock *s, int status)
{
    struct conn *k = s->data;
    if (k->owner == NULL)
        return;
    if (status != 0) /* the receiver closed: the next line opens a new connection */
        drop(k->owner, NULL, NULL);
    else
        s->in.len = 0;
}

static void ready(struct dest *d)
{
    d->state = READY;
    flush(d);
}

static void on_handshake(struct tr_sock *s, int status)
{
    struct conn *k = s->data;
    if (k->owner == NULL)
        return;
    if (status != 0)
        drop(k->owner, "perform TLS handshake to", "handshake failed");
    else
        ready(k->owner);
}

static void on_drained(struct tr_sock *s, int status)
{
    struct conn *k = s->data;
    if (k->owner != NULL && status != 0)
        drop(k->owner, "send data to", "broken pipe");
}

static void on_connect(uv_connect_t *req, int status)
{
    struct conn *k = req->data;
    struct dest *d = k->owner;
    if (d == NULL)
        return;
    if (status < 0) {
        drop(d, "connect to",
             status == UV_ECONNREFUSED ? "connection refused" : uv_strerror(status));
        return;
    }
    tr_sock_read_start(&k->sock);
    if (!d->tls) {
        ready(d);
        return;
    }
    if (d->all->tls == NULL) {
        char err[256];
        d->all->tls = tr_tls_client_new(false, NULL, NULL, err, sizeof(err));
        if (d->all->tls == NULL) {
            drop(d, "perform TLS handshake to", err);
            return;
        }
    }
    tr_sock_start_tls(&k->sock, tr_tls_conn_client(d->all->tls, d->sni, NULL, NULL, k));
}

static void connect_to(struct dest *d, const struct sockaddr *sa)
{
    struct conn *k = tr_xcalloc(1, sizeof(*k));
    k->owner = d;
    d->conn = k;
    if (tr_sock_init(&k->sock, d->all->loop, &sock_cbs, k, 4096) != 0) {
        drop(d, "connect to", "out of memory");
        return;
    }
    k->connect_req.data = k;
    int rc = uv_tcp_connect(&k->connect_req, &k->sock.tcp, sa, on_connect);
    if (rc != 0)
        drop(d, "connect to", uv_strerror(rc));
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct dest *d = req->data;
    free(req);
    if (d == NULL) {
        uv_freeaddrinfo(res);
        return;
    }
    d->gai = NULL;
    if (status != 0 || res == NULL)
        drop(d, "connect to", status ? uv_strerror(status) : "no address");
    else
        connect_to(d, res->ai_addr);
    uv_freeaddrinfo(res);
}

static void open_dest(struct dest *d)
{
    d->state = OPENING;
    uv_timer_start(d->timer, on_idle, d->timeout_ms ? d->timeout_ms : 1, 0);
    struct sockaddr_storage ss;
    if (tr_sock_addr_literal(d->host, (uint16_t)d->port, &ss)) {
        connect_to(d, (struct sockaddr *)&ss);
        return;
    }
    char port[8];
    snprintf(port, sizeof(port), "%d", d->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    d->gai = tr_xcalloc(1, sizeof(*d->gai));
    d->gai->data = d;
    if (uv_getaddrinfo(d->all->loop, d->gai, on_resolved, d->host, port, &hints) != 0) {
        free(d->gai);
        d->gai = NULL;
        drop(d, "connect to", "cannot resolve");
    }
}

static bool same(const struct dest *d, const struct tcp_log_conf *c)
{
    return d->port == c->port && d->tls == c->tls && strcmp(d->host, c->host) == 0 &&
           ((d->sni == NULL && c->tls_sni == NULL) ||
            (d->sni != NULL && c->tls_sni != NULL && strcmp(d->sni, c->tls_sni) == 0)) &&
           d->timeout_ms == (uint32_t)c->timeout && d->keepalive_ms == (uint32_t)c->keepalive;
}

static struct dest *dest_for(struct workers_dests *w, const struct tcp_log_conf *c)
{
    for (struct dest *d = w->list; d != NULL; d = d->next) {
        if (same(d, c))
            return d;
    }
    struct dest *d = tr_xcalloc(1, sizeof(*d));
    d->all = w;
    d->host = tr_xstrdup(c->host);
    d->sni = c->tls_sni ? tr_xstrdup(c->tls_sni) : NULL;
    d->port = c->port;
    d->tls = c->tls;
    d->timeout_ms = (uint32_t)c->timeout;
    d->keepalive_ms = (uint32_t)c->keepalive;
    d->timer = tr_xcalloc(1, sizeof(*d->timer));
    uv_timer_init(w->loop, d->timer);
    d->timer->data = d;
    tr_buf_init(&d->pending, PENDING_MAX);
    d->next = w->list;
    w->list = d;
    return d;
}

static void tcp_log_log(struct tr_ctx *ctx, const void *p)
{
    const struct tcp_log_conf *c = p;
    void **slot = tr_ctx_worker_slot(ctx);
    if (*slot == NULL) {
        struct workers_dests *w = tr_xcalloc(1, sizeof(*w));
        w->loop = tr_ctx_loop(ctx);
        *slot = w;
    }
    struct dest *d = dest_for(*slot, c);
    size_t len;
    char *text = tr_ctx_log_serialize(ctx, &len);
    if (text == NULL)
        return;
    text[len++] = '\n';
    if (tr_buf_append(&d->pending, text, len) != 0)
        tr_log_error("[tcp-log] %s:%d: %zu bytes wait already; this line is dropped", d->host,
                     d->port, d->pending.len);
    free(text);
    if (d->state == READY)
        flush(d);
    else if (d->state == CLOSED)
        open_dest(d);
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h);
}

static void worker_free(void *slot)
{
    struct workers_dests *w = slot;
    while (w->list != NULL) {
        struct dest *d = w->list;
        w->list = d->next;
        drop(d, NULL, NULL);
        uv_close((uv_handle_t *)d->timer, on_timer_closed);
        tr_buf_free(&d->pending);
        free(d->host);
        free(d->sni);
        free(d);
    }
    tr_tls_client_free(w->tls);
    free(w);
}

/* Priority 7 as Kong. */
const struct tr_plugin tr_plugin_tcp_log = {
    .name = "tcp-log",
    .version = "1.0.0",
    .priority = 7,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .log = tcp_log_log,
    .worker_free = worker_free,
};
