/* SPDX-License-Identifier: MIT */
/* Upstream connections: connect to a service (to an address the balancer picked or the node's
 * resolver put in the snapshot, after waiting for one it is still asking, or, without a
 * resolver, one the system's gives through the loop's thread pool), the connect timeout, the
 * TLS handshake of an https service, the read timeout, and the per-worker keep-alive pool
 * keyed by the service's pool key (most recently used first). A connection has one user at a
 * time and reports to it through the callbacks the user gave (struct tr_upstream_cbs); what the
 * bytes mean, and whether a failed connect is tried again, is the user's business. */
#include "proxy/internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balancer/balancer.h"
#include "core/clock.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/tls.h"
#include "snapshot/snapshot.h"

/* A response head and the body bytes read with it must fit (P9). */
#define UP_BUF_MAX (128 * 1024)
#define UP_KEY_MAX 768 /* a pool key: the service's, an SNI and an address */

static const struct tr_sock_cbs up_sock_cbs;

/* handles counts the timer, the socket and a pending name lookup; the last one frees up. */
static void up_unref(struct tr_upconn *up)
{
    if (--up->handles == 0) {
        free(up->key);
        free(up->sni);
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
    if (up->dns_waiting)
        uv_close((uv_handle_t *)&up->dns_wait, on_up_closed);
    uv_close((uv_handle_t *)&up->timer, on_up_closed);
}

/* Hand up to a user (it is connected, or starts connecting for it). */
static void attach(struct tr_upconn *up, const struct tr_service *svc,
                   const struct tr_upstream_cbs *cbs, void *ud)
{
    up->svc = svc;
    up->cbs = cbs;
    up->ud = ud;
}

/* Take up from its user (before telling the user it is gone). Returns the user. */
static void *detach(struct tr_upconn *up)
{
    void *ud = up->ud;
    up->ud = NULL;
    up->svc = NULL;
    return ud;
}

static void on_timer_fired(uv_timer_t *t);

void tr__upstream_arm_timer(struct tr_upconn *up, uint32_t timeout_ms)
{
    uv_timer_start(&up->timer, on_timer_fired, timeout_ms, 0);
}

/* This connect attempt failed with err: the connection closes and the user hears of it. */
static void connect_failed(struct tr_upconn *up, int err)
{
    const struct tr_upstream_cbs *cbs = up->cbs;
    void *ud = detach(up);
    up_close(up);
    if (ud)
        cbs->on_connect(ud, up, err);
}

/* A failure known inside tr__upstream_connect is reported from the timer on the next loop
 * turn: the user never hears back from inside its own call. */
static void fail_soon(struct tr_upconn *up, int err)
{
    up->fail_err = err;
    tr__upstream_arm_timer(up, 0);
}

/* Connected (and handshaken): the user may send its request. */
static void connect_done(struct tr_upconn *up)
{
    up->connected = true;
    uv_timer_stop(&up->timer);
    up->requests++;
    up->cbs->on_connect(up->ud, up, 0);
}

static void on_timer_fired(uv_timer_t *t)
{
    struct tr_upconn *up = t->data;
    if (up->ud == NULL) {
        up_close(up); /* idle keep-alive timeout */
        return;
    }
    if (up->fail_err) {
        connect_failed(up, up->fail_err);
        return;
    }
    if (!up->connected) {
        tr_log_info("upstream %s: connect timed out", up->key);
        connect_failed(up, TR_EUPSTREAM_TIMEOUT);
        return;
    }
    tr_log_info("upstream %s: read timed out", up->key);
    const struct tr_upstream_cbs *cbs = up->cbs;
    void *ud = detach(up);
    up_close(up);
    cbs->on_error(ud, up, TR_EUPSTREAM_TIMEOUT);
}

/* The service's host as a C string (for getaddrinfo and SNI), cut to fit. */
static void host_of(const struct tr_service *svc, char *host, size_t len)
{
    size_t hl = svc->url.host.len < len - 1 ? svc->url.host.len : len - 1;
    memcpy(host, svc->url.host.ptr, hl);
    host[hl] = '\0';
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
    if (up->svc->tls) {
        /* https upstream: the handshake runs under the connect timeout; the connection
         * counts as connected (and retries stop) only once it is done. */
        char host[256];
        host_of(up->svc, host, sizeof(host));
        struct tr_tls_conn *tls =
            tr_tls_conn_client(tr__tls_client(), up->sni ? up->sni : host, &up->svc->tls_opts,
                               tr__tls_session_get(up->w, up->key), up);
        tr_sock_read_start(&up->sock);
        tr_sock_start_tls(&up->sock, tls); /* the hello goes out; on_up_handshake follows */
        return;
    }
    connect_done(up);
}

/* Connect to sa. Returns 0, or a TR_E* when the attempt failed at once. */
static int start_connect(struct tr_upconn *up, const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        uv_ip4_name((const struct sockaddr_in *)sa, up->addr, sizeof(up->addr));
    else
        uv_ip6_name((const struct sockaddr_in6 *)sa, up->addr, sizeof(up->addr));
    size_t l = strlen(up->addr);
    snprintf(up->addr + l, sizeof(up->addr) - l, ":%u", up->port);
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
        return TR_EUPSTREAM_REFUSED;
    }
    return 0;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct tr_upconn *up = req->data;
    if (up->closing) {
        /* closed while the lookup ran (timeout, user gone) */
    } else if (up->ud == NULL) {
        up_close(up);
    } else if (status < 0 || res == NULL) {
        tr_log_info("upstream %s: name resolution failed: %s", up->key, uv_strerror(status));
        connect_failed(up, TR_EDNS);
    } else {
        int rc = start_connect(up, res->ai_addr);
        if (rc != 0)
            connect_failed(up, rc);
    }
    uv_freeaddrinfo(res);
    up_unref(up);
}

#define DNS_WAIT_POLL_MS 5

/* Connect to host:port when host is an address (a failure is reported from the timer); false
 * when it is a name. */
static bool connect_to(struct tr_upconn *up, const char *host, uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
        return false;
    up->port = port;
    int rc = start_connect(up, (struct sockaddr *)&ss);
    if (rc != 0)
        fail_soon(up, rc);
    return true;
}

/* The service's name was being asked when its snapshot was built: look at each newer
 * snapshot (the control thread publishes one when the answer comes) until it knows. The
 * connect timeout bounds the wait; the resolver's own (2 s) ends it sooner with an answer or
 * a failure. */
static void on_dns_wait(uv_timer_t *t)
{
    struct tr_upconn *up = t->data;
    uint64_t v = tr_snapshot_current_version();
    if (up->closing || up->ud == NULL || v == up->dns_seen)
        return;
    up->dns_seen = v;
    struct tr_snapshot *snap = tr_snapshot_acquire();
    const struct tr_service *s = snap ? tr_snapshot_service(snap, up->svc->id) : NULL;
    if (s != NULL && s->dns_pending) {
        tr_snapshot_unref(snap);
        return;
    }
    uv_timer_stop(&up->dns_wait);
    char host[64] = "";
    uint16_t port = 0;
    if (s != NULL && s->num_resolved > 0) {
        struct tr_service *ms = (struct tr_service *)s;
        unsigned i = atomic_fetch_add_explicit(&ms->resolved_next, 1, memory_order_relaxed);
        snprintf(host, sizeof(host), "%s", s->resolved[i % s->num_resolved].ip);
        port = s->resolved[i % s->num_resolved].port;
    }
    tr_snapshot_unref(snap);
    if (port == 0) {
        /* It does not resolve (or the service went away meanwhile). */
        tr_log_info("upstream %s: name resolution failed", up->key);
        connect_failed(up, TR_EDNS);
        return;
    }
    if (!connect_to(up, host, port))
        connect_failed(up, TR_EUPSTREAM_REFUSED); /* the resolver gives addresses only */
}

static void wait_for_dns(struct tr_upconn *up)
{
    uv_timer_init(up->w->loop, &up->dns_wait);
    up->dns_wait.data = up;
    up->dns_waiting = true;
    up->handles++;
    up->dns_seen = 0;
    uv_timer_start(&up->dns_wait, on_dns_wait, 0, DNS_WAIT_POLL_MS);
}

/* The pool key of svc's connections for sni to addr (see tr__upstream_connect) into buf;
 * false when it does not fit (such a connection is never pooled nor shared). */
static bool pool_key(char *buf, size_t len, const struct tr_service *svc, const char *sni,
                     const struct tr_lb_address *addr)
{
    const char *sep = sni ? "|sni=" : "", *name = sni ? sni : "";
    int n =
        addr ? snprintf(buf, len, "%s%s%s|@%s:%u", svc->pool_key, sep, name, addr->host, addr->port)
             : snprintf(buf, len, "%s%s%s", svc->pool_key, sep, name);
    return n > 0 && (size_t)n < len;
}

struct tr_upconn *tr__upstream_connect(struct tr_proxy_worker *w, const struct tr_service *svc,
                                       const char *sni, const struct tr_lb_address *addr,
                                       const struct tr_upstream_cbs *cbs, void *ud)
{
    struct tr_upconn *up = tr_xcalloc(1, sizeof(*up));
    up->w = w;
    char key[UP_KEY_MAX];
    if (pool_key(key, sizeof(key), svc, sni, addr)) {
        up->key = tr_xstrdup(key);
    } else {
        up->key = tr_xstrdup("|unpooled");
        up->unpooled = true;
    }
    if (sni != NULL)
        up->sni = tr_xstrdup(sni);
    else if (addr != NULL)
        up->sni = tr_xstrdup(addr->host); /* an address sends no name (tls.c) */
    tr_list_init(&up->link);
    uv_timer_init(w->loop, &up->timer);
    up->timer.data = up;
    up->handles = 1;
    attach(up, svc, cbs, ud);
    tr__upstream_arm_timer(up, svc->connect_timeout_ms);

    if (addr != NULL) {
        if (!connect_to(up, addr->host, addr->port))
            fail_soon(up, TR_EUPSTREAM_REFUSED); /* addresses only, by construction */
        return up;
    }
    if (svc->unresolvable) {
        fail_soon(up, TR_EDNS); /* the name does not exist: Kong's 503 */
        return up;
    }
    if (svc->dns_pending) {
        wait_for_dns(up);
        return up;
    }
    char host[256];
    uint16_t port = svc->url.port;
    host_of(svc, host, sizeof(host));
    if (connect_to(up, host, port))
        return up;
    /* A name, and no resolver of the node's to ask: the system's, on the thread pool. */
    up->port = port;
    char service[8];
    snprintf(service, sizeof(service), "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    up->gai.data = up;
    up->handles++;
    if (uv_getaddrinfo(w->loop, &up->gai, on_resolved, host, service, &hints) != 0) {
        up->handles--;
        fail_soon(up, TR_EDNS);
    }
    return up;
}

struct tr_upconn *tr__upstream_take_idle(struct tr_proxy_worker *w, const struct tr_service *svc,
                                         const char *sni, const struct tr_lb_address *addr,
                                         const struct tr_upstream_cbs *cbs, void *ud)
{
    char key[UP_KEY_MAX];
    if (!pool_key(key, sizeof(key), svc, sni, addr))
        return NULL;
    for (struct tr_list *it = w->idle_upstreams.prev; it != &w->idle_upstreams; it = it->prev) {
        struct tr_upconn *up = TR_LIST_ENTRY(it, struct tr_upconn, link);
        if (strcmp(up->key, key) != 0)
            continue;
        tr_list_remove(&up->link);
        w->num_idle_upstreams--;
        uv_timer_stop(&up->timer);
        attach(up, svc, cbs, ud);
        up->requests++;
        return up;
    }
    return NULL;
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
    tr__upstream_stop_reading(up);
    if (up->ud == NULL) {
        up_close(up);
        return;
    }
    if (!up->connected) {
        tr_log_info("upstream %s: closed during the TLS handshake", up->key);
        connect_failed(up, TR_EUPSTREAM_REFUSED);
        return;
    }
    up->cbs->on_eof(up->ud, up);
}

static void on_up_handshake(struct tr_sock *s, int status)
{
    struct tr_upconn *up = s->data;
    if (up->ud == NULL) {
        up_close(up);
        return;
    }
    if (status < 0) {
        tr_log_info("upstream %s: TLS handshake failed", up->key);
        connect_failed(up, TR_EUPSTREAM_REFUSED);
        return;
    }
    connect_done(up);
}

static void on_up_read(struct tr_sock *s, int status)
{
    struct tr_upconn *up = s->data;
    if (status < 0) {
        up_eof(up);
        return;
    }
    if (up->ud == NULL) {
        /* Bytes on an idle pooled connection: it cannot be trusted any more. */
        up_close(up);
        return;
    }
    tr__upstream_arm_timer(up, up->svc->read_timeout_ms);
    up->cbs->on_data(up->ud, up);
}

static void on_up_drained(struct tr_sock *s, int status)
{
    struct tr_upconn *up = s->data;
    if (up->ud == NULL) {
        if (status < 0)
            up_close(up);
        return;
    }
    if (status < 0)
        up->cbs->on_eof(up->ud, up); /* the connection is dead: same as a reset */
    else
        up->cbs->on_drained(up->ud, up);
}

static const struct tr_sock_cbs up_sock_cbs = {
    .on_read = on_up_read,
    .on_handshake = on_up_handshake,
    .on_drained = on_up_drained,
};

void tr__upstream_release(struct tr_upconn *up, bool reusable)
{
    struct tr_proxy_worker *w = up->w;
    detach(up);
    if (!reusable || up->closing || !up->connected || w->draining || up->unpooled ||
        w->conf->upstream_keepalive == 0 || up->requests >= w->conf->upstream_keepalive_requests) {
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
