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

#define UP_BUF_INITIAL (16 * 1024)
#define UP_BUF_MAX (128 * 1024)

static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);
static void on_up_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void connect_fresh(struct tr_exchange *ex);
static void up_tls_input(struct tr_upconn *up);

/* handles counts open libuv handles plus a pending name lookup; the last one frees up. */
static void up_unref(struct tr_upconn *up)
{
    if (--up->handles == 0) {
        tr_tls_conn_free(up->tls);
        free(up->key);
        free(up->buf);
        free(up);
    }
}

static void on_up_closed(uv_handle_t *h)
{
    up_unref(h->data);
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
    if (up->tcp_open)
        uv_close((uv_handle_t *)&up->tcp, on_up_closed);
    uv_close((uv_handle_t *)&up->timer, on_up_closed);
    if (up->tls)
        uv_close((uv_handle_t *)&up->tls_pump, on_up_closed);
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
    up->cap = UP_BUF_INITIAL;
    up->buf = tr_xmalloc(up->cap);
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
    uv_tcp_nodelay(&up->tcp, 1);
    struct tr_exchange *ex = up->ex;
    if (ex->service->tls) {
        /* https upstream: the handshake runs under the connect timeout; the connection
         * counts as connected (and retries stop) only once it is done. */
        char host[256];
        size_t hl = ex->service->url.host.len < sizeof(host) - 1 ? ex->service->url.host.len
                                                                 : sizeof(host) - 1;
        memcpy(host, ex->service->url.host.ptr, hl);
        host[hl] = '\0';
        up->tls = tr_tls_conn_client(tr__tls_client(), host, tr__tls_session_get(up->w, up->key),
                                     up);
        uv_timer_init(up->w->loop, &up->tls_pump);
        up->tls_pump.data = up;
        up->handles++;
        if (uv_read_start((uv_stream_t *)&up->tcp, on_up_alloc, on_up_read) == 0)
            up->reading = true;
        up_tls_input(up);
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
    uv_tcp_init(up->w->loop, &up->tcp);
    up->tcp.data = up;
    up->tcp_open = true;
    up->handles++;
    up->connect_req.data = up;
    int rc = uv_tcp_connect(&up->connect_req, &up->tcp, sa, on_connected);
    if (rc != 0) {
        tr_log_info("upstream %s: connect failed: %s", up->key, uv_strerror(rc));
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

static void on_up_written(uv_write_t *req, int status)
{
    struct tr_wbuf *wb = TR_CONTAINER_OF(req, struct tr_wbuf, req);
    struct tr_upconn *up = wb->owner;
    free(wb);
    up->pending_writes--;
    if (up->closing)
        return;
    struct tr_exchange *ex = up->ex;
    if (status < 0) {
        if (ex)
            tr__exchange_on_upstream_eof(ex); /* the connection is dead: same as a reset */
        else
            up_close(up);
        return;
    }
    if (ex && up->tcp.write_queue_size < TR_PROXY_QUEUE_LOW)
        tr__exchange_on_upstream_drained(ex);
}

/* Send the ciphertext collected in up->tls->out. */
static int up_tls_flush(struct tr_upconn *up)
{
    struct tr_tls_conn *t = up->tls;
    if (t->out.len == 0)
        return 0;
    uv_buf_t b = uv_buf_init(t->out.ptr, (unsigned)t->out.len);
    int rc = tr__stream_write((uv_stream_t *)&up->tcp, &b, 1, up, on_up_written);
    t->out.len = 0;
    if (rc < 0)
        return rc;
    if (rc == 1)
        up->pending_writes++;
    return 0;
}

int tr__upstream_write(struct tr_upconn *up, const uv_buf_t *bufs, unsigned nbufs)
{
    if (up->closing)
        return TR_EIO;
    if (up->tls) {
        for (unsigned i = 0; i < nbufs; i++) {
            if (tr_tls_conn_write(up->tls, bufs[i].base, bufs[i].len) != 0)
                return TR_EIO;
        }
        return up_tls_flush(up);
    }
    int rc = tr__stream_write((uv_stream_t *)&up->tcp, bufs, nbufs, up, on_up_written);
    if (rc <= 0)
        return rc;
    up->pending_writes++;
    return 0;
}

static void up_grow(struct tr_upconn *up)
{
    if (up->cap - up->len < 4096 && up->cap < UP_BUF_MAX) {
        up->cap *= 2;
        up->buf = tr_xrealloc(up->buf, up->cap);
    }
}

static void on_up_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct tr_upconn *up = h->data;
    if (up->tls) {
        /* Ciphertext goes straight into the TLS input buffer (no room: libuv reports
         * ENOBUFS, which closes the connection). */
        if (tr_tls_conn_in_space(up->tls, 16 * 1024) != 0) {
            *b = uv_buf_init(NULL, 0);
            return;
        }
        b->base = tr_buf_tail(&up->tls->in);
        b->len = tr_buf_room(&up->tls->in);
        return;
    }
    up_grow(up);
    b->base = up->buf + up->len;
    b->len = up->cap - up->len;
}

static void on_up_tls_pump(uv_timer_t *t)
{
    struct tr_upconn *up = t->data;
    if (!up->closing && up->reading && up->ex)
        up_tls_input(up);
}

void tr__upstream_start_reading(struct tr_upconn *up, uint32_t timeout_ms)
{
    if (up->closing)
        return;
    if (!up->reading && up->len < up->cap) {
        if (uv_read_start((uv_stream_t *)&up->tcp, on_up_alloc, on_up_read) == 0)
            up->reading = true;
        if (up->reading && up->tls && up->tls->established && tr_tls_conn_has_input(up->tls))
            uv_timer_start(&up->tls_pump, on_up_tls_pump, 0, 0);
    }
    if (timeout_ms)
        tr__upstream_arm_timer(up, timeout_ms);
}

void tr__upstream_stop_reading(struct tr_upconn *up)
{
    if (up->reading) {
        uv_read_stop((uv_stream_t *)&up->tcp);
        up->reading = false;
    }
    /* Waiting on a slow client is the client's send timeout, not the upstream's. */
    uv_timer_stop(&up->timer);
}

static void up_eof(struct tr_upconn *up)
{
    struct tr_exchange *ex = up->ex;
    tr__upstream_stop_reading(up);
    if (up->tls && !up->connected && ex) {
        tr_log_info("upstream %s: closed during the TLS handshake", up->key);
        connect_failed(up, TR_EUPSTREAM_REFUSED);
        return;
    }
    if (ex)
        tr__exchange_on_upstream_eof(ex);
    else
        up_close(up);
}

static void after_data(struct tr_upconn *up);

/* Ciphertext arrived (or waits): finish the handshake, then decrypt into up->buf and hand it
 * to the exchange while it reads and the buffer has room. */
static void up_tls_input(struct tr_upconn *up)
{
    struct tr_tls_conn *t = up->tls;
    struct tr_exchange *ex = up->ex;
    if (!t->established) {
        int rc = tr_tls_conn_handshake(t);
        if (up_tls_flush(up) != 0 || rc < 0) {
            if (ex) {
                tr_log_info("upstream %s: TLS handshake failed", up->key);
                connect_failed(up, TR_EUPSTREAM_REFUSED);
            } else {
                up_close(up);
            }
            return;
        }
        if (rc == 0)
            return;
        up->connected = true;
        uv_timer_stop(&up->timer);
        tr__exchange_on_upstream_ready(ex, up);
        return; /* a response cannot be there yet; more input comes with a new read */
    }
    while (!up->closing && up->reading) {
        up_grow(up);
        if (up->len == up->cap)
            break;
        int n = tr_tls_conn_read(t, up->buf + up->len, up->cap - up->len);
        if (t->out.len && up_tls_flush(up) != 0) {
            n = TR_EIO;
        }
        if (n == 0)
            break;
        if (n < 0) {
            up_eof(up);
            return;
        }
        up->len += (size_t)n;
        if (up->ex == NULL) {
            up_close(up); /* data on an idle pooled connection */
            return;
        }
        ex = up->ex;
        after_data(up);
        if (up->ex != ex)
            return;
    }
}

static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct tr_upconn *up = s->data;
    struct tr_exchange *ex = up->ex;
    if (nread == 0)
        return;
    if (nread < 0) {
        up_eof(up);
        return;
    }
    if (up->tls) {
        tr_buf_commit(&up->tls->in, (size_t)nread);
        up_tls_input(up);
        return;
    }
    up->len += (size_t)nread;
    if (ex == NULL) {
        /* Bytes on an idle pooled connection: it cannot be trusted any more. */
        up_close(up);
        return;
    }
    after_data(up);
}

static void after_data(struct tr_upconn *up)
{
    struct tr_exchange *ex = up->ex;
    tr__upstream_arm_timer(up, ex->service->read_timeout_ms);
    tr__exchange_on_upstream_data(ex);
    /* A full buffer with an unparsable head never completes (P9: heads over 64 KiB). */
    if (up->ex == ex && !up->closing && up->len == up->cap) {
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
    up->len = 0;
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
