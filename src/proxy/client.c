/* SPDX-License-Identifier: MIT */
/* Client connections on a worker: accept, parse request heads from the socket's input buffer,
 * hand each request to an exchange, write answers, keep-alive, pipelining, timeouts and the
 * lingering close. Bytes, TLS and write queues are the socket's job (http/socket.h); what
 * happens between a parsed head and the end of its response is exchange.c's. */
#include "proxy/internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/tls.h"

#define LINGER_TIMEOUT_MS 2000
/* A draining idle connection, closed after its grace: no answer of ours is in flight to
 * protect, so the lingering read only lets the FIN (and close_notify) go out first. */
#define DRAIN_LINGER_MS 200
/* A draining idle connection whose grace ran out while request bytes wait in the kernel: the
 * read path gets this long to take them (bounded anyway by the drain's end). */
#define DRAIN_PENDING_RECHECK_MS 20

/* Client connections open on this node, across workers, for max_connections. */
static _Atomic unsigned node_connections;
static _Atomic uint64_t connections_accepted; /* the serial numbers of connections */
/* Connections this worker thread refused over max_connections since it last said so, and
 * when it did: a flood gets one log line per second per worker, not one per connection. */
static _Thread_local unsigned cap_refused;
static _Thread_local uint64_t cap_logged_at;

enum timer_mode {
    TM_NONE,
    TM_HEAD,
    TM_KEEPALIVE,
    TM_BODY,
    TM_SEND,
    TM_LINGER,
    TM_DEFER,
    TM_HANDSHAKE,
};

static void process(struct tr_client *c);
static void close_client(struct tr_client *c);
static void finish_close(struct tr_client *c);

static enum timer_mode timer_mode_of(struct tr_client *c)
{
    return (enum timer_mode)(uintptr_t)c->timer.data;
}

static void on_timer(uv_timer_t *t);

static void arm(struct tr_client *c, enum timer_mode mode, uint64_t ms)
{
    c->timer.data = (void *)(uintptr_t)mode;
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void disarm(struct tr_client *c)
{
    c->timer.data = (void *)(uintptr_t)TM_NONE;
    uv_timer_stop(&c->timer);
}

static void set_state(struct tr_client *c, enum tr_client_state s)
{
    struct tr_proxy_counters *k = &c->w->counters;
    switch (c->state) {
    case TR_CLIENT_IDLE:
        k->waiting--;
        break;
    case TR_CLIENT_HEAD:
    case TR_CLIENT_HANDSHAKE:
        k->reading--;
        break;
    case TR_CLIENT_BUSY:
    case TR_CLIENT_TUNNEL:
        k->writing--;
        break;
    default:
        break;
    }
    c->state = s;
    switch (s) {
    case TR_CLIENT_IDLE:
        k->waiting++;
        break;
    case TR_CLIENT_HEAD:
    case TR_CLIENT_HANDSHAKE:
        k->reading++;
        break;
    case TR_CLIENT_BUSY:
    case TR_CLIENT_TUNNEL:
        k->writing++;
        break;
    default:
        break;
    }
}

void tr__client_pause(struct tr_client *c)
{
    tr_sock_read_stop(&c->sock);
}

void tr__client_resume(struct tr_client *c)
{
    tr_sock_read_start(&c->sock);
}

/* Queued answer bytes went out (below TR_PROXY_QUEUE_LOW), or the connection died. */
static void on_drained(struct tr_sock *s, int status)
{
    struct tr_client *c = s->data;
    if (status < 0) {
        tr__client_abort(c);
        return;
    }
    if (c->ex) {
        if (timer_mode_of(c) == TM_SEND)
            disarm(c);
        tr__exchange_on_client_drained(c->ex);
        return;
    }
    if (c->sock.pending_writes == 0 && c->close_after && c->state != TR_CLIENT_LINGER)
        finish_close(c);
}

int tr__client_write(struct tr_client *c, const uv_buf_t *bufs, unsigned nbufs)
{
    int rc = tr_sock_write(&c->sock, bufs, nbufs);
    if (rc != 0)
        return rc;
    if (tr_sock_queued(&c->sock) > TR_PROXY_QUEUE_HIGH && timer_mode_of(c) != TM_SEND)
        arm(c, TM_SEND, c->w->conf->send_timeout_ms);
    return 0;
}

static void client_unref(struct tr_client *c)
{
    if (--c->handles == 0)
        free(c);
}

static void on_sock_closed(struct tr_sock *s)
{
    client_unref(s->data);
}

static void on_timer_closed(uv_handle_t *h)
{
    client_unref(TR_CONTAINER_OF((uv_timer_t *)h, struct tr_client, timer));
}

/* Close now, whatever is in flight. */
static void close_client(struct tr_client *c)
{
    if (c->state == TR_CLIENT_CLOSING)
        return;
    struct tr_proxy_worker *w = c->w;
    if (c->ex) {
        struct tr_exchange *ex = c->ex;
        c->ex = NULL;
        ex->c = NULL;
        tr__exchange_free(ex);
    }
    set_state(c, TR_CLIENT_CLOSING);
    w->counters.active--;
    atomic_fetch_sub_explicit(&node_connections, 1, memory_order_relaxed);
    tr_list_remove(&c->link);
    uv_timer_stop(&c->timer);
    tr_sock_close(&c->sock, on_sock_closed);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

void tr__client_abort(struct tr_client *c)
{
    close_client(c);
}

/* Response sent with Connection: close. If the client may still be sending (unread body,
 * pipelined bytes), shut our side and read-and-discard until EOF so the kernel does not reset
 * the connection under the response (P2); otherwise close at once. */
static void finish_close_within(struct tr_client *c, uint64_t linger_ms)
{
    if (c->sock.eof || c->sock.pending_writes > 0) {
        if (c->sock.pending_writes == 0)
            close_client(c);
        return;
    }
    /* close_notify (with TLS), the half-close, and input dropped from here on. */
    if (tr_sock_shutdown(&c->sock) != 0) {
        close_client(c);
        return;
    }
    set_state(c, TR_CLIENT_LINGER);
    tr__client_resume(c);
    arm(c, TM_LINGER, linger_ms);
}

static void finish_close(struct tr_client *c)
{
    finish_close_within(c, LINGER_TIMEOUT_MS);
}

void tr__client_exchange_done(struct tr_client *c)
{
    c->ex = NULL;
    if (c->state == TR_CLIENT_CLOSING)
        return;
    if (c->w->draining)
        c->w->drain_answered++;
    /* An answer that said Connection: close (tr__exchange_closes: also every answer whose head
     * went out during a drain with nothing pipelined behind it) ends the connection. */
    if (c->close_after || c->requests >= c->w->conf->keepalive_requests) {
        c->close_after = true;
        if (c->sock.pending_writes == 0)
            finish_close(c);
        /* else on_drained closes once the answer is flushed */
        return;
    }
    set_state(c, TR_CLIENT_IDLE);
    bool pipelined = c->sock.in.len > 0;
    /* Kept alive while draining: a pipelined request is answered next; else the answer's head
     * had gone out before the drain began, and the client gets the grace to send another. */
    uint32_t idle_ms =
        c->w->draining ? c->w->conf->drain_idle_grace_ms : c->w->conf->keepalive_timeout_ms;
    arm(c, pipelined ? TM_DEFER : TM_KEEPALIVE, pipelined ? 0 : idle_ms);
    tr__client_resume(c);
}

/* A draining idle connection's grace is over. Request bytes already in the kernel are read
 * and answered first; else the connection ends with a FIN (and close_notify with TLS), never a
 * reset: a request that crosses it finds the connection closed, not its bytes refused. */
static void drain_idle(struct tr_client *c)
{
    uv_os_fd_t fd;
    int pending = 0;
    if (uv_fileno((uv_handle_t *)&c->sock.tcp, &fd) == 0 && ioctl(fd, FIONREAD, &pending) == 0 &&
        pending > 0) {
        arm(c, TM_KEEPALIVE, DRAIN_PENDING_RECHECK_MS);
        return;
    }
    c->close_after = true;
    finish_close_within(c, DRAIN_LINGER_MS);
}

static void on_timer(uv_timer_t *t)
{
    struct tr_client *c = TR_CONTAINER_OF(t, struct tr_client, timer);
    enum timer_mode mode = timer_mode_of(c);
    c->timer.data = (void *)(uintptr_t)TM_NONE;
    switch (mode) {
    case TM_DEFER:
        if (c->state == TR_CLIENT_IDLE) {
            arm(c, TM_KEEPALIVE, c->w->conf->keepalive_timeout_ms);
            process(c);
        }
        break;
    case TM_KEEPALIVE:
        if (c->state == TR_CLIENT_IDLE && c->w->draining)
            drain_idle(c);
        else if (c->state == TR_CLIENT_IDLE)
            close_client(c);
        break;
    case TM_HEAD:
        if (c->state == TR_CLIENT_HEAD) {
            tr_log_info("client %s: request head not received in time", c->peer_ip);
            c->close_after = true;
            tr__respond_error(c, TR_ETIMEOUT, true);
        }
        break;
    case TM_BODY:
        if (c->state == TR_CLIENT_BUSY && c->ex && !c->ex->req_done) {
            tr_log_info("client %s: request body timed out", c->peer_ip);
            if (c->ex->res_started) {
                close_client(c);
            } else {
                struct tr_exchange *ex = c->ex;
                c->ex = NULL;
                ex->c = NULL;
                ex->status = 408;
                tr__exchange_free(ex);
                c->close_after = true;
                tr__respond_error(c, TR_ETIMEOUT, true);
            }
        }
        break;
    case TM_SEND:
        tr_log_info("client %s: send timed out", c->peer_ip);
        close_client(c);
        break;
    case TM_LINGER:
        close_client(c);
        break;
    case TM_HANDSHAKE:
        if (c->state == TR_CLIENT_HANDSHAKE) {
            tr_log_info("client %s: TLS handshake timed out", c->peer_ip);
            close_client(c);
        }
        break;
    case TM_NONE:
        break;
    }
}

/* Arm the body idle timer while an exchange waits for request body bytes. */
static void arm_body_timer(struct tr_client *c)
{
    if (c->ex && !c->ex->req_done && c->state == TR_CLIENT_BUSY)
        arm(c, TM_BODY, c->w->conf->client_body_timeout_ms);
    else if (timer_mode_of(c) == TM_BODY)
        disarm(c);
}

static void parse_head(struct tr_client *c)
{
    const struct tr_conf *conf = c->w->conf;
    struct tr_http_limits lim = {
        .max_request_line = conf->max_request_line,
        .max_field_line = conf->max_header_line,
        .max_head = conf->max_header_size,
        .max_headers = conf->max_headers,
    };
    struct tr_buf *in = &c->sock.in;
    int rc = tr_http_parse_request(in->ptr, in->len, &lim, &c->req);
    if (rc == TR_EAGAIN) {
        if (c->state == TR_CLIENT_IDLE) {
            set_state(c, TR_CLIENT_HEAD);
            c->head_start_ms = tr_clock_mono_ms();
            arm(c, TM_HEAD, conf->client_header_timeout_ms);
        }
        if (tr_buf_full(in)) {
            /* Cannot happen with sane limits (the parser answers 431 first). */
            tr__respond_error(c, TR_EHDRTOOLARGE, true);
        }
        return;
    }
    if (rc < 0) {
        /* P1.7: every framing error is answered with Connection: close, then closed. */
        if (c->state == TR_CLIENT_IDLE)
            set_state(c, TR_CLIENT_HEAD);
        tr_log_info("client %s: bad request (%s)", c->peer_ip, tr_err_name(rc));
        c->w->counters.requests++;
        c->close_after = true;
        set_state(c, TR_CLIENT_BUSY);
        tr__respond_error(c, rc, true);
        return;
    }
    size_t head_len = (size_t)rc;
    set_state(c, TR_CLIENT_BUSY);
    disarm(c);
    c->requests++;
    /* The last request the connection takes (keepalive_timeout 0 keeps none idle): announced
     * in this response's head. */
    if (c->requests >= c->w->conf->keepalive_requests || c->w->conf->keepalive_timeout_ms == 0)
        c->close_after = true;
    c->head_unconsumed = head_len;
    tr__exchange_start(c, &c->req);
    /* The exchange copied what it needs from the head: drop it from the buffer (unless the
     * exchange already ended with a close and the buffer was discarded). */
    if (c->state != TR_CLIENT_CLOSING && c->state != TR_CLIENT_LINGER)
        tr_buf_consume(in, head_len);
    c->head_unconsumed = 0;
    if (c->ex && c->ex->wants_upstream)
        tr__exchange_connect(c->ex);
    if (c->ex && c->state == TR_CLIENT_BUSY) {
        tr__exchange_on_client_data(c->ex);
        arm_body_timer(c);
    }
}

static void process(struct tr_client *c)
{
    switch (c->state) {
    case TR_CLIENT_IDLE:
    case TR_CLIENT_HEAD:
        if (c->sock.in.len > 0)
            parse_head(c);
        break;
    case TR_CLIENT_BUSY:
        if (c->ex) {
            tr__exchange_on_client_data(c->ex);
            if (c->ex)
                arm_body_timer(c);
        } else if (c->close_after) {
            c->sock.in.len = 0; /* input after an answered-and-closing request is discarded */
        }
        break;
    case TR_CLIENT_TUNNEL:
        if (c->ex)
            tr__exchange_on_client_data(c->ex);
        break;
    case TR_CLIENT_LINGER: /* the socket drops input unread */
    case TR_CLIENT_CLOSING:
    case TR_CLIENT_HANDSHAKE:
        break;
    }
    /* Never let a full buffer reach libuv (it would report ENOBUFS): after a deferred
     * pipelined request, too. */
    if (c->state != TR_CLIENT_CLOSING && tr_buf_full(&c->sock.in))
        tr__client_pause(c);
}

/* The input ended (the socket stopped reading): status TR_EOF, or TR_EIO for a reset. */
static void on_eof(struct tr_client *c, int status)
{
    if (status != TR_EOF) {
        close_client(c);
        return;
    }
    switch (c->state) {
    case TR_CLIENT_BUSY:
    case TR_CLIENT_TUNNEL:
        if (c->ex)
            tr__exchange_on_client_eof(c->ex);
        else if (c->sock.pending_writes == 0)
            close_client(c);
        break;
    default:
        close_client(c);
        break;
    }
}

/* nginx's answer to plain HTTP on a TLS port, sent in clear; then a lingering close. */
static void plain_http_on_tls(struct tr_client *c)
{
    static const char body[] =
        "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>"
        "\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP "
        "request was sent to HTTPS port</center>\r\n<hr><center>torii</center>\r\n</body>"
        "\r\n</html>\r\n";
    char head[256];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 400 Bad Request\r\nServer: torii/" TR_VERSION "\r\nDate: %s\r\n"
                      "Content-Type: text/html\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      c->w->date, sizeof(body) - 1);
    tr_log_info("client %s: plain HTTP request on a TLS port", c->peer_ip);
    /* From here the connection is plain: drop the TLS state (its input is the request). */
    tr_sock_drop_tls(&c->sock);
    c->w->counters.requests++;
    set_state(c, TR_CLIENT_BUSY);
    c->close_after = true;
    uv_buf_t b[2] = {uv_buf_init(head, (unsigned)hl), uv_buf_init((char *)body, sizeof(body) - 1)};
    if (tr__client_write(c, b, 2) != 0) {
        close_client(c);
        return;
    }
    if (c->sock.pending_writes == 0)
        finish_close(c);
}

static void on_handshake(struct tr_sock *s, int status)
{
    struct tr_client *c = s->data;
    if (status == TR_EBADREQ) {
        plain_http_on_tls(c);
        return;
    }
    if (status < 0) {
        close_client(c);
        return;
    }
    set_state(c, TR_CLIENT_IDLE);
    arm(c, TM_KEEPALIVE, c->w->conf->client_header_timeout_ms);
}

static void on_read(struct tr_sock *s, int status)
{
    struct tr_client *c = s->data;
    if (status < 0)
        on_eof(c, status);
    else
        process(c);
}

static const struct tr_sock_cbs client_sock_cbs = {
    .on_read = on_read,
    .on_handshake = on_handshake,
    .on_drained = on_drained,
};

/* A new client: the connection listener has for us (fd -1), or fd, one accepted already. */
static void accept_client(struct tr_proxy_worker *w, uv_stream_t *listener, int fd, bool tls)
{
    struct tr_client *c = tr_xcalloc(1, sizeof(*c));
    size_t in_max =
        (size_t)w->conf->max_header_size + (size_t)w->conf->max_request_line + 64 * 1024;
    int rc = tr_sock_init(&c->sock, w->loop, &client_sock_cbs, c, in_max);
    c->handles = 1;
    /* Accept even when the buffer failed: libuv stops accepting until the connection is. */
    int taken =
        fd >= 0 ? uv_tcp_open(&c->sock.tcp, fd) : uv_accept(listener, (uv_stream_t *)&c->sock.tcp);
    if (taken != 0 && fd >= 0)
        close(fd);
    if (taken != 0 || rc != 0) {
        tr_sock_close(&c->sock, on_sock_closed);
        return;
    }
    c->sock.queue_low = TR_PROXY_QUEUE_LOW;
    c->w = w;
    uv_timer_init(w->loop, &c->timer);
    c->handles = 2;
    c->tls_listener = tls;
    c->state = TR_CLIENT_CLOSING; /* so set_state counts the first transition only */
    tr_list_push(&w->clients, &c->link);
    w->counters.accepted++;
    w->counters.handled++;
    w->counters.active++;
    unsigned open_now = atomic_fetch_add_explicit(&node_connections, 1, memory_order_relaxed) + 1;

    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    if (uv_tcp_getpeername(&c->sock.tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)&ss, c->peer_ip, sizeof(c->peer_ip));
        else
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer_ip, sizeof(c->peer_ip));
    }
    sl = sizeof(ss);
    if (uv_tcp_getsockname(&c->sock.tcp, (struct sockaddr *)&ss, &sl) == 0) {
        c->local_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                      : ((struct sockaddr_in6 *)&ss)->sin6_port);
        if (ss.ss_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)&ss, c->local_ip, sizeof(c->local_ip));
        else
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->local_ip, sizeof(c->local_ip));
    }
    c->serial = atomic_fetch_add_explicit(&connections_accepted, 1, memory_order_relaxed) + 1;
    uv_tcp_nodelay(&c->sock.tcp, 1);
    c->state = TR_CLIENT_IDLE;
    w->counters.waiting++;

    if (w->conf->max_connections && open_now > w->conf->max_connections) {
        /* Over the cap: refuse this one at once, established connections are untouched. */
        cap_refused++;
        if (cap_logged_at == 0 || uv_now(w->loop) - cap_logged_at >= 1000) {
            tr_log_warn("proxy: max_connections (%u) reached, %u new connections closed",
                        w->conf->max_connections, cap_refused);
            cap_refused = 0;
            cap_logged_at = uv_now(w->loop);
        }
        close_client(c);
        return;
    }
    if (tls) {
        set_state(c, TR_CLIENT_HANDSHAKE);
        arm(c, TM_HANDSHAKE, w->conf->ssl_handshake_timeout_ms);
        tr_sock_start_tls(&c->sock, tr_tls_conn_server(tr__tls_server(), c));
    } else {
        arm(c, TM_KEEPALIVE, w->conf->client_header_timeout_ms);
    }
    tr__client_resume(c);
}

void tr_proxy_on_connection(uv_stream_t *listener, int status)
{
    if (status < 0)
        return;
    accept_client(listener->data, listener, -1, false);
}

void tr_proxy_on_tls_connection(uv_stream_t *listener, int status)
{
    if (status < 0)
        return;
    if (tr__tls_server() == NULL) {
        /* No TLS context (tr_proxy_tls_init not run): refuse rather than speak clear text. */
        struct tr_proxy_worker *w = listener->data;
        uv_tcp_t *t = tr_xmalloc(sizeof(*t));
        uv_tcp_init(w->loop, t);
        uv_accept(listener, (uv_stream_t *)t);
        uv_close((uv_handle_t *)t, (uv_close_cb)free);
        return;
    }
    accept_client(listener->data, listener, -1, true);
}

/* Bound on the connections taken at once from a listener's queue (its backlog is smaller). */
#define ACCEPT_PENDING_MAX 65536

void tr_proxy_accept_pending(uv_stream_t *listener, bool tls)
{
    struct tr_proxy_worker *w = listener->data;
    uv_os_fd_t lfd;
    if (uv_fileno((uv_handle_t *)listener, &lfd) != 0)
        return;
    for (unsigned i = 0; i < ACCEPT_PENDING_MAX; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN: the queue is empty */
        if (tls && tr__tls_server() == NULL) {
            close(fd);
            continue;
        }
        accept_client(w, NULL, fd, tls);
    }
}

void tr__proxy_clients_drain(struct tr_proxy_worker *w, bool all)
{
    struct tr_list *it = w->clients.next;
    while (it != &w->clients) {
        struct tr_client *c = TR_LIST_ENTRY(it, struct tr_client, link);
        it = it->next;
        if (all && c->state == TR_CLIENT_TUNNEL && c->ex) {
            /* The drain is over: the tunnel ends with a close frame, not a cut. */
            tr__exchange_tunnel_going_away(c->ex);
            w->drain_cut_tunnels++;
            c->close_after = true;
            finish_close(c);
        } else if (all) {
            if (c->state == TR_CLIENT_BUSY || c->state == TR_CLIENT_TUNNEL)
                w->drain_cut_requests++;
            close_client(c);
        } else if (c->state == TR_CLIENT_IDLE) {
            /* Closing an idle keep-alive connection races with a request the client may be
             * sending right now. Give it a moment (drain_idle_grace): a request that comes is
             * answered with Connection: close; a silent connection is closed after it. */
            if (w->conf->drain_idle_grace_ms == 0)
                drain_idle(c);
            else
                arm(c, TM_KEEPALIVE, w->conf->drain_idle_grace_ms);
        }
        /* Left as they are until the drain ends: a busy connection (its answer says
         * Connection: close if its head is still to be sent, tr__exchange_closes), a tunnel, a
         * TLS handshake (its request is answered with close), and a lingering close (it still
         * protects the answer it follows; its timer ends it). */
    }
}

void tr__proxy_clients_close_all(struct tr_proxy_worker *w)
{
    while (!tr_list_empty(&w->clients))
        close_client(TR_LIST_ENTRY(w->clients.next, struct tr_client, link));
}
