/* SPDX-License-Identifier: MIT */
/* The node's active health checker (prober.h). A tick every PROBE_TICK_MS walks the upstreams
 * of the published snapshot and starts the probes that are due; each probe holds a reference to
 * the snapshot it came from, so its upstream, balancer and address stay valid until it ends. */
#include "server/prober.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balancer/balancer.h"
#include "core/clock.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/list.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/socket.h"
#include "http/tls.h"
#include "snapshot/snapshot.h"

#define PROBE_TICK_MS 100
#define PROBE_IN_MAX (16 * 1024) /* a status line must come within this much */

struct tr_prober {
    uv_loop_t *loop;
    const struct tr_conf *conf;
    uv_timer_t tick;
    struct tr_tls_client *tls; /* for https probes, made at the first; each says whether it
                                  verifies */
    bool tls_failed;           /* it could not be made (logged once) */
    struct tr_snapshot *snap;  /* the published snapshot, as of the last tick */
    struct tr_list probes;     /* in flight */
    unsigned handles;          /* the tick timer, until closed */
    bool stopping;
};

enum outcome { PROBE_SUCCESS, PROBE_STATUS, PROBE_TCP_FAILURE, PROBE_TIMEOUT, PROBE_DROPPED };

struct probe {
    struct tr_prober *p;
    struct tr_list link;
    struct tr_snapshot *snap; /* reference: keeps u and a alive */
    const struct tr_upstream *u;
    const struct tr_lb_address *a;
    struct tr_sock sock;
    uv_connect_t connect_req;
    uv_timer_t timer;
    unsigned handles; /* the socket and the timer */
    bool done;
};

/* After stop: free once the tick timer and every probe are gone. */
static void free_if_done(struct tr_prober *p)
{
    if (!p->stopping || p->handles > 0 || !tr_list_empty(&p->probes))
        return;
    tr_snapshot_unref(p->snap);
    if (p->tls)
        tr_tls_client_free(p->tls);
    free(p);
}

static void probe_unref(struct probe *pr)
{
    if (--pr->handles > 0)
        return;
    struct tr_prober *p = pr->p;
    tr_list_remove(&pr->link);
    tr_snapshot_unref(pr->snap);
    free(pr);
    free_if_done(p);
}

static void on_probe_sock_closed(struct tr_sock *s)
{
    probe_unref(s->data);
}

static void on_probe_timer_closed(uv_handle_t *h)
{
    probe_unref(h->data);
}

/* The probe ended with outcome (status for PROBE_STATUS): report it, then close. */
static void finish(struct probe *pr, enum outcome outcome, unsigned status)
{
    if (pr->done)
        return;
    pr->done = true;
    const struct tr_balancer *b = pr->u->balancer;
    bool changed = false;
    switch (outcome) {
    case PROBE_SUCCESS:
        changed = tr_balancer_report_success(b, pr->a, TR_CHECK_ACTIVE);
        break;
    case PROBE_STATUS:
        changed = tr_balancer_report_http_status(b, pr->a, TR_CHECK_ACTIVE, status);
        break;
    case PROBE_TCP_FAILURE:
        changed = tr_balancer_report_tcp_failure(b, pr->a, TR_CHECK_ACTIVE);
        break;
    case PROBE_TIMEOUT:
        changed = tr_balancer_report_timeout(b, pr->a, TR_CHECK_ACTIVE);
        break;
    case PROBE_DROPPED:
        break;
    }
    if (changed)
        tr_log_notice("upstream %s: %s:%u (%s) is now %s (active check)", pr->u->name, pr->a->host,
                      pr->a->port, pr->a->target,
                      tr_lb_health_name(tr_balancer_address_health(b, pr->a)));
    pr->a->peer->probing = false;
    uv_timer_stop(&pr->timer);
    uv_close((uv_handle_t *)&pr->timer, on_probe_timer_closed);
    tr_sock_close(&pr->sock, on_probe_sock_closed);
}

static void on_probe_timeout(uv_timer_t *t)
{
    finish(t->data, PROBE_TIMEOUT, 0);
}

/* lua-resty-healthcheck's request: HTTP/1.0, the target's host (with its port unless the
 * scheme's default) and the configured headers. */
static void send_request(struct probe *pr)
{
    const struct tr_active_check *ac = &pr->u->active;
    const struct tr_lb_address *a = pr->a;
    const char *colon = strrchr(a->target, ':');
    int hl = colon ? (int)(colon - a->target) : (int)strlen(a->target);
    bool dflt = ac->type == TR_PROBE_HTTPS ? a->port == 443 : a->port == 80;
    char port[8] = "";
    if (!dflt)
        snprintf(port, sizeof(port), ":%u", a->port);
    const char *extra = ac->headers ? ac->headers : "";
    size_t cap = strlen(ac->http_path) + strlen(extra) + (size_t)hl + 128;
    char *req = tr_xmalloc(cap);
    int n = snprintf(req, cap,
                     "GET %s HTTP/1.0\r\nHost: %.*s%s\r\nUser-Agent: torii/" TR_VERSION
                     "\r\n%sConnection: close\r\n\r\n",
                     ac->http_path, hl, a->target, port, extra);
    uv_buf_t buf = uv_buf_init(req, (unsigned)n);
    int rc = tr_sock_write(&pr->sock, &buf, 1);
    free(req);
    if (rc != 0) {
        finish(pr, PROBE_TCP_FAILURE, 0);
        return;
    }
    tr_sock_read_start(&pr->sock);
}

/* "HTTP/1.x NNN ..." once the status line is in. */
static void on_probe_read(struct tr_sock *s, int status)
{
    struct probe *pr = s->data;
    if (pr->done)
        return;
    const char *in = s->in.ptr;
    size_t len = s->in.len;
    const char *eol = len ? memchr(in, '\n', len) : NULL;
    if (eol == NULL) {
        if (status < 0 || len >= PROBE_IN_MAX)
            finish(pr, PROBE_TCP_FAILURE, 0); /* closed (or babbling) before a status line */
        return;
    }
    unsigned code = 0;
    if (eol - in >= 12 && memcmp(in, "HTTP/1.", 7) == 0 && in[8] == ' ' && in[9] >= '1' &&
        in[9] <= '9' && in[10] >= '0' && in[10] <= '9' && in[11] >= '0' && in[11] <= '9')
        code = (unsigned)((in[9] - '0') * 100 + (in[10] - '0') * 10 + (in[11] - '0'));
    finish(pr, PROBE_STATUS, code); /* 0: not a valid response, an http failure */
}

static void on_probe_handshake(struct tr_sock *s, int status)
{
    struct probe *pr = s->data;
    if (pr->done)
        return;
    if (status < 0)
        finish(pr, PROBE_TCP_FAILURE, 0);
    else
        send_request(pr);
}

static void on_probe_drained(struct tr_sock *s, int status)
{
    if (status < 0)
        finish(s->data, PROBE_TCP_FAILURE, 0);
}

static const struct tr_sock_cbs probe_sock_cbs = {
    .on_read = on_probe_read,
    .on_handshake = on_probe_handshake,
    .on_drained = on_probe_drained,
};

/* The client context of https probes, made at the first. */
static bool tls_ready(struct tr_prober *p)
{
    if (p->tls == NULL && !p->tls_failed) {
        char err[256];
        p->tls = tr_tls_client_new(false, p->conf->upstream_ca_bundle, NULL, err, sizeof(err));
        p->tls_failed = p->tls == NULL;
        if (p->tls_failed)
            tr_log_error("active health checks: https probes cannot run: %s", err);
    }
    return p->tls != NULL;
}

static void on_probe_connected(uv_connect_t *req, int status)
{
    struct probe *pr = req->data;
    if (pr->done)
        return;
    if (status < 0) {
        finish(pr, status == UV_ETIMEDOUT ? PROBE_TIMEOUT : PROBE_TCP_FAILURE, 0);
        return;
    }
    const struct tr_active_check *ac = &pr->u->active;
    if (ac->type == TR_PROBE_TCP) {
        finish(pr, PROBE_SUCCESS, 0);
    } else if (ac->type == TR_PROBE_HTTPS && !tls_ready(pr->p)) {
        finish(pr, PROBE_TCP_FAILURE, 0);
    } else if (ac->type == TR_PROBE_HTTPS) {
        /* https_sni, else the target's host (an address sends none). */
        char name[300];
        const char *colon = strrchr(pr->a->target, ':');
        size_t nl = colon ? (size_t)(colon - pr->a->target) : strlen(pr->a->target);
        snprintf(name, sizeof(name), "%.*s", (int)nl, pr->a->target);
        /* The upstream's client_certificate goes with its probes too, as Kong's. */
        struct tr_tls_client_opts opts = {
            .verify = ac->verify_cert, .verify_depth = -1, .cert = pr->u->client_cert};
        struct tr_tls_conn *tls =
            tr_tls_conn_client(pr->p->tls, ac->https_sni ? ac->https_sni : name, &opts, NULL, pr);
        tr_sock_read_start(&pr->sock);
        tr_sock_start_tls(&pr->sock, tls); /* on_probe_handshake follows */
    } else {
        send_request(pr);
    }
}

static void start_probe(struct tr_prober *p, const struct tr_upstream *u,
                        const struct tr_lb_address *a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (uv_ip4_addr(a->host, a->port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(a->host, a->port, (struct sockaddr_in6 *)&ss) != 0)
        return; /* addresses are always IPs; nothing to dial otherwise */
    struct probe *pr = tr_xcalloc(1, sizeof(*pr));
    pr->p = p;
    pr->u = u;
    pr->a = a;
    tr_snapshot_ref(p->snap);
    pr->snap = p->snap;
    tr_list_push(&p->probes, &pr->link);
    a->peer->probing = true;
    uv_timer_init(p->loop, &pr->timer);
    pr->timer.data = pr;
    pr->handles = 2;
    int rc = tr_sock_init(&pr->sock, p->loop, &probe_sock_cbs, pr, PROBE_IN_MAX);
    uv_timer_start(&pr->timer, on_probe_timeout, u->active.timeout_ms, 0);
    pr->connect_req.data = pr;
    if (rc == 0)
        rc = uv_tcp_connect(&pr->connect_req, &pr->sock.tcp, (struct sockaddr *)&ss,
                            on_probe_connected);
    if (rc != 0)
        finish(pr, PROBE_TCP_FAILURE, 0);
}

static unsigned in_flight(struct tr_prober *p, const struct tr_upstream *u)
{
    unsigned n = 0;
    for (struct tr_list *it = p->probes.next; it != &p->probes; it = it->next) {
        const struct probe *pr = TR_LIST_ENTRY(it, struct probe, link);
        n += strcmp(pr->u->id, u->id) == 0 && !pr->done;
    }
    return n;
}

/* Start the due probes of u: each address at the interval of the state it is in. */
static void probe_upstream(struct tr_prober *p, const struct tr_upstream *u, uint64_t now)
{
    const struct tr_balancer *b = u->balancer;
    if (b == NULL)
        return;
    const struct tr_health_conf *conf = tr_balancer_health_conf(b);
    const struct tr_health_checks *act = &conf->checks[TR_CHECK_ACTIVE];
    if (act->healthy_interval_ms == 0 && act->unhealthy_interval_ms == 0)
        return;
    unsigned busy = in_flight(p, u);
    for (size_t i = 0; i < tr_balancer_count(b) && busy < u->active.concurrency; i++) {
        const struct tr_lb_address *a = tr_balancer_address(b, i);
        struct tr_peer *peer = a->peer;
        if (a->weight == 0 || peer->probing)
            continue;
        uint32_t interval =
            tr_peer_available(peer, conf) ? act->healthy_interval_ms : act->unhealthy_interval_ms;
        if (interval == 0 || now < peer->probe_due_ms)
            continue;
        peer->probe_due_ms = now + (uint64_t)interval;
        start_probe(p, u, a);
        busy++;
    }
}

static void on_tick(uv_timer_t *t)
{
    struct tr_prober *p = t->data;
    if (p->snap == NULL || p->snap->version != tr_snapshot_current_version()) {
        tr_snapshot_unref(p->snap);
        p->snap = tr_snapshot_acquire();
    }
    if (p->snap == NULL)
        return;
    uint64_t now = tr_clock_mono_ms();
    for (size_t i = 0; i < p->snap->upstreams.cnt; i++)
        probe_upstream(p, &p->snap->upstreams.items[i], now);
}

struct tr_prober *tr_prober_start(uv_loop_t *loop, const struct tr_conf *conf)
{
    struct tr_prober *p = tr_xcalloc(1, sizeof(*p));
    p->loop = loop;
    p->conf = conf;
    tr_list_init(&p->probes);
    uv_timer_init(loop, &p->tick);
    p->tick.data = p;
    p->handles = 1;
    uv_timer_start(&p->tick, on_tick, PROBE_TICK_MS, PROBE_TICK_MS);
    return p;
}

static void on_tick_closed(uv_handle_t *h)
{
    struct tr_prober *p = h->data;
    p->handles--;
    free_if_done(p);
}

void tr_prober_stop(struct tr_prober *p)
{
    if (p == NULL)
        return;
    p->stopping = true;
    uv_timer_stop(&p->tick);
    for (struct tr_list *it = p->probes.next, *next; it != &p->probes; it = next) {
        next = it->next;
        finish(TR_LIST_ENTRY(it, struct probe, link), PROBE_DROPPED, 0);
    }
    uv_close((uv_handle_t *)&p->tick, on_tick_closed);
}
