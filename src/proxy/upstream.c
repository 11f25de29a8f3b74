/* SPDX-License-Identifier: MIT */
/* Upstream connections: connect (DNS through the loop's thread pool, connect timeout, retries
 * on failure), write the request, read the response, and the per-worker keep-alive pool keyed
 * by "host:port" (most recently used first). */
#include "proxy/internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/tls.h"
#include "snapshot/snapshot.h"

/* A response head and the body bytes read with it must fit (P9). */
#define UP_BUF_MAX (128 * 1024)

static void connect_fresh(struct tr_exchange *ex);
static const struct tr_sock_cbs up_sock_cbs;

/* handles counts the timer, the socket and a pending name lookup; the last one frees up. */
static void up_unref(struct tr_upconn *up)
{
    if (--up->handles == 0) {
        free(up->key);
        free(up);
    }
}

static void on_up_closed(uv_handle_t *h)
{
    up_unref(h->data);
}

static void on_up_sock_closed(struct tr_sock *s)
{
    up_unref(s->data);
}

static void up_close(struct tr_upconn *up)
{
    if (up->closing)
        return;
    up->closing = true;
    if (tr_list_linked(&up->link)) {
        tr_list_remove(&up->link);
        up->w->num_idle_upstreams--;
    }
    uv_timer_stop(&up->timer);
    if (up->sock_open)
        tr_sock_close(&up->sock, on_up_sock_closed);
    uv_close((uv_handle_t *)&up->timer, on_up_closed);
}

static void on_timer_fired(uv_timer_t *t);

void tr__upstream_arm_timer(struct tr_upconn *up, uint32_t timeout_ms)
{
    uv_timer_start(&up->timer, on_timer_fired, timeout_ms, 0);
}

static struct tr_upconn *up_new(struct tr_proxy_worker *w, const char *key)
{
    struct tr_upconn *up = tr_xcalloc(1, sizeof(*up));
    up->w = w;
    up->key = tr_xstrdup(key);
    tr_list_init(&up->link);
    uv_timer_init(w->loop, &up->timer);
    up->timer.data = up;
    up->handles = 1;
    return up;
}

/* The connect attempt of up failed with err: retry or give up. */
static void connect_failed(struct tr_upconn *up, int err)
{
    struct tr_exchange *ex = up->ex;
    up->ex = NULL;
    up_close(up);
    if (ex == NULL)
        return;
    ex->up = NULL;
    if (ex->attempts <= ex->service->retries && err != TR_EDNS) {
        connect_fresh(ex);
        return;
    }
    tr__exchange_on_upstream_error(ex, err);
}

static void on_timer_fired(uv_timer_t *t)
{
    struct tr_upconn *up = t->data;
    struct tr_exchange *ex = up->ex;
    if (ex == NULL) {
        up_close(up); /* idle keep-alive timeout */
        return;
    }
    if (!up->connected) {
        tr_log_info("upstream %s: connect timed out", up->key);
        connect_failed(up, TR_EUPSTREAM_TIMEOUT);
        return;
    }
    tr_log_info("upstream %s: read timed out", up->key);
    ex->up = NULL;
    up->ex = NULL;
    up_close(up);
    tr__exchange_on_upstream_error(ex, TR_EUPSTREAM_TIMEOUT);
}

static void on_connected(uv_connect_t *req, int status)
{
    struct tr_upconn *up = req->data;
    if (up->closing)
        return;
    if (status < 0) {
        tr_log_info("upstream %s: connect failed: %s", up->key, uv_strerror(status));
        connect_failed(up, status == UV_ETIMEDOUT ? TR_EUPSTREAM_TIMEOUT : TR_EUPSTREAM_REFUSED);
        return;
    }
    uv_tcp_nodelay(&up->sock.tcp, 1);
    struct tr_exchange *ex = up->ex;
    if (ex->service->tls) {
        /* https upstream: the handshake runs under the connect timeout; the connection
         * counts as connected (and retries stop) only once it is done. */
        char host[256];
        size_t hl = ex->service->url.host.len < sizeof(host) - 1 ? ex->service->url.host.len
                                                                 : sizeof(host) - 1;
        memcpy(host, ex->service->url.host.ptr, hl);
        host[hl] = '\0';
        struct tr_tls_conn *tls =
            tr_tls_conn_client(tr__tls_client(), host, tr__tls_session_get(up->w, up->key), up);
        tr_sock_read_start(&up->sock);
        tr_sock_start_tls(&up->sock, tls); /* the hello goes out; on_up_handshake follows */
        return;
    }
    up->connected = true;
    uv_timer_stop(&up->timer);
    tr__exchange_on_upstream_ready(ex, up);
}

static void start_connect(struct tr_upconn *up, const struct sockaddr *sa)
{
    struct tr_exchange *ex = up->ex;
    if (ex) {
        if (sa->sa_family == AF_INET)
            uv_ip4_name((const struct sockaddr_in *)sa, ex->upstream_addr,
                        sizeof(ex->upstream_addr));
        else
            uv_ip6_name((const struct sockaddr_in6 *)sa, ex->upstream_addr,
                        sizeof(ex->upstream_addr));
        size_t l = strlen(ex->upstream_addr);
        snprintf(ex->upstream_addr + l, sizeof(ex->upstream_addr) - l, ":%u",
                 ex->service->url.port);
    }
    int rc = tr_sock_init(&up->sock, up->w->loop, &up_sock_cbs, up, UP_BUF_MAX);
    up->sock_open = true;
    up->handles++;
    up->sock.queue_low = TR_PROXY_QUEUE_LOW;
    up->connect_req.data = up;
    if (rc == 0)
        rc = uv_tcp_connect(&up->connect_req, &up->sock.tcp, sa, on_connected);
    if (rc != 0) {
        tr_log_info("upstream %s: connect failed: %s", up->key,
                    rc == TR_ENOMEM ? "out of memory" : uv_strerror(rc));
        connect_failed(up, TR_EUPSTREAM_REFUSED);
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct tr_upconn *up = req->data;
    if (up->closing) {
        /* closed while the lookup ran (timeout, client gone) */
    } else if (up->ex == NULL) {
        up_close(up);
    } else if (status < 0 || res == NULL) {
        tr_log_info("upstream %s: name resolution failed: %s", up->key, uv_strerror(status));
        connect_failed(up, TR_EDNS);
    } else {
        start_connect(up, res->ai_addr);
    }
    uv_freeaddrinfo(res);
    up_unref(up);
}

static void connect_fresh(struct tr_exchange *ex)
{
    const struct tr_service *svc = ex->service;
    struct tr_upconn *up = up_new(ex->w, svc->pool_key);
    up->ex = ex;
    ex->up = up;
    ex->attempts++;
    tr__upstream_arm_timer(up, svc->connect_timeout_ms);

    char host[256];
    size_t hl = svc->url.host.len < sizeof(host) - 1 ? svc->url.host.len : sizeof(host) - 1;
    memcpy(host, svc->url.host.ptr, hl);
    host[hl] = '\0';
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (uv_ip4_addr(host, svc->url.port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(host, svc->url.port, (struct sockaddr_in6 *)&ss) == 0) {
        start_connect(up, (struct sockaddr *)&ss);
        return;
    }
    char port[8];
    snprintf(port, sizeof(port), "%u", svc->url.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    up->gai.data = up;
    up->handles++;
    if (uv_getaddrinfo(ex->w->loop, &up->gai, on_resolved, host, port, &hints) != 0) {
        up->handles--;
        connect_failed(up, TR_EDNS);
    }
}

void tr__upstream_get(struct tr_exchange *ex, bool fresh_only)
{
    struct tr_proxy_worker *w = ex->w;
    if (!fresh_only) {
        for (struct tr_list *it = w->idle_upstreams.prev; it != &w->idle_upstreams;
             it = it->prev) {
            struct tr_upconn *up = TR_LIST_ENTRY(it, struct tr_upconn, link);
            if (strcmp(up->key, ex->service->pool_key) != 0)
                continue;
            tr_list_remove(&up->link);
            w->num_idle_upstreams--;
            uv_timer_stop(&up->timer);
            up->ex = ex;
            snprintf(ex->upstream_addr, sizeof(ex->upstream_addr), "%s", up->key);
            tr__exchange_on_upstream_ready(ex, up);
            return;
        }
    }
    connect_fresh(ex);
}

int tr__upstream_write(struct tr_upconn *up, const uv_buf_t *bufs, unsigned nbufs)
{
    if (up->closing)
        return TR_EIO;
    return tr_sock_write(&up->sock, bufs, nbufs);
}

void tr__upstream_start_reading(struct tr_upconn *up, uint32_t timeout_ms)
{
    if (up->closing)
        return;
    tr_sock_read_start(&up->sock);
    if (timeout_ms)
        tr__upstream_arm_timer(up, timeout_ms);
}

void tr__upstream_stop_reading(struct tr_upconn *up)
{
    tr_sock_read_stop(&up->sock);
    /* Waiting on a slow client is the client's send timeout, not the upstream's. */
    uv_timer_stop(&up->timer);
}

/* The upstream closed, reset, or failed a write. */
static void up_eof(struct tr_upconn *up)
{
    struct tr_exchange *ex = up->ex;
    tr__upstream_stop_reading(up);
    if (up->sock.tls && !up->connected && ex) {
        tr_log_info("upstream %s: closed during the TLS handshake", up->key);
        connect_failed(up, TR_EUPSTREAM_REFUSED);
        return;
    }
    if (ex)
        tr__exchange_on_upstream_eof(ex);
    else
        up_close(up);
}

static void on_up_handshake(struct tr_sock *s, int status)
{
    struct tr_upconn *up = s->data;
    struct tr_exchange *ex = up->ex;
    if (ex == NULL) {
        up_close(up);
        return;
    }
    if (status < 0) {
        tr_log_info("upstream %s: TLS handshake failed", up->key);
        connect_failed(up, TR_EUPSTREAM_REFUSED);
        return;
    }
    up->connected = true;
    uv_timer_stop(&up->timer);
    tr__exchange_on_upstream_ready(ex, up);
}

static void on_up_read(struct tr_sock *s, int status)
{
    struct tr_upconn *up = s->data;
    struct tr_exchange *ex = up->ex;
    if (status < 0) {
        up_eof(up);
        return;
    }
    if (ex == NULL) {
        /* Bytes on an idle pooled connection: it cannot be trusted any more. */
        up_close(up);
        return;
    }
    tr__upstream_arm_timer(up, ex->service->read_timeout_ms);
    tr__exchange_on_upstream_data(ex);
    /* A full buffer with an unparsable head never completes (P9: heads over 64 KiB). */
    if (up->ex == ex && !up->closing && tr_buf_full(&up->sock.in)) {
        if (!ex->res_head_parsed) {
            ex->up = NULL;
            up->ex = NULL;
            up_close(up);
            tr__exchange_on_upstream_error(ex, TR_EUPSTREAM_BADRESP);
        } else {
            tr__upstream_stop_reading(up);
        }
    }
}

static void on_up_drained(struct tr_sock *s, int status)
{
    struct tr_upconn *up = s->data;
    struct tr_exchange *ex = up->ex;
    if (status < 0) {
        if (ex)
            tr__exchange_on_upstream_eof(ex); /* the connection is dead: same as a reset */
        else
            up_close(up);
        return;
    }
    if (ex)
        tr__exchange_on_upstream_drained(ex);
}

static const struct tr_sock_cbs up_sock_cbs = {
    .on_read = on_up_read,
    .on_handshake = on_up_handshake,
    .on_drained = on_up_drained,
};

void tr__upstream_release(struct tr_upconn *up, bool reusable)
{
    struct tr_proxy_worker *w = up->w;
    up->ex = NULL;
    if (!reusable || up->closing || !up->connected || w->draining ||
        w->conf->upstream_keepalive == 0 ||
        up->requests >= w->conf->upstream_keepalive_requests) {
        up_close(up);
        return;
    }
    if (w->num_idle_upstreams >= w->conf->upstream_keepalive) {
        /* Evict the least recently used idle connection. */
        struct tr_upconn *old = TR_LIST_ENTRY(w->idle_upstreams.next, struct tr_upconn, link);
        up_close(old);
    }
    up->sock.in.len = 0;
    up->idle_since_ms = tr_clock_mono_ms();
    tr_list_push(&w->idle_upstreams, &up->link);
    w->num_idle_upstreams++;
    tr__upstream_start_reading(up, 0);
    tr__upstream_arm_timer(up, w->conf->upstream_keepalive_timeout_ms);
}

void tr__upstream_close_idle(struct tr_proxy_worker *w, bool all)
{
    (void)all;
    while (!tr_list_empty(&w->idle_upstreams)) {
        struct tr_upconn *up = TR_LIST_ENTRY(w->idle_upstreams.next, struct tr_upconn, link);
        up_close(up);
    }
}
