/* SPDX-License-Identifier: MIT */
/* The node's DNS cache over c-ares (resolver.h). c-ares sends the queries; its sockets are
 * watched with uv_poll handles on the owner's loop and its timeouts driven by a tick timer.
 * Answers are parsed with libresolv's ns_* reader for their TTLs (c-ares 1.18 gives none for
 * SRV). A query walks SRV, A, AAAA and keeps the first type that has records. */
#include "dns/resolver.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ares.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"

#define TICK_MS 100
#define MAX_RECORDS 64 /* records kept per name */

enum stage { STAGE_SRV, STAGE_A, STAGE_AAAA, STAGE_DONE };

struct entry {
    struct tr_resolver *r;
    char *name;
    enum tr_dns_state state;
    struct tr_dns_record *recs;
    size_t n;
    uint64_t expires_ms;     /* when the answer should be asked again */
    uint64_t stale_until_ms; /* until when it is served while the server fails */
    uint64_t gen;            /* the build that last asked for it */
    bool querying;
    enum stage stage;
    struct entry *next;
};

struct poll {
    uv_poll_t h;
    ares_socket_t fd;
    struct tr_resolver *r;
    struct poll *next;
};

struct tr_resolver {
    uv_loop_t *loop;
    ares_channel ch;
    struct tr_resolver_opts opts; /* strings owned */
    uv_timer_t tick;
    struct poll *polls;
    struct entry *entries;
    uint64_t gen;
    bool changed;
    bool stopping;
    unsigned handles; /* tick + polls */
    void (*on_change)(void *ud);
    void *ud;
};

static void resolver_free_if_done(struct tr_resolver *r)
{
    if (!r->stopping || r->handles > 0)
        return;
    for (struct entry *e = r->entries, *next; e; e = next) {
        next = e->next;
        free(e->name);
        free(e->recs);
        free(e);
    }
    free((char *)r->opts.servers);
    free((char *)r->opts.hostsfile);
    free(r);
    ares_library_cleanup();
}

static void on_handle_closed(uv_handle_t *h)
{
    struct tr_resolver *r = h->data;
    if (h->type == UV_POLL)
        free(TR_CONTAINER_OF((uv_poll_t *)h, struct poll, h));
    r->handles--;
    resolver_free_if_done(r);
}

/* ---- c-ares sockets on the loop ----------------------------------------------------------- */

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct poll *p = TR_CONTAINER_OF(h, struct poll, h);
    ares_socket_t rd = ARES_SOCKET_BAD, wr = ARES_SOCKET_BAD;
    if (status < 0 || (events & UV_READABLE))
        rd = p->fd;
    if (status < 0 || (events & UV_WRITABLE))
        wr = p->fd;
    ares_process_fd(p->r->ch, rd, wr);
}

static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct tr_resolver *r = data;
    struct poll **pp = &r->polls;
    while (*pp && (*pp)->fd != fd)
        pp = &(*pp)->next;
    struct poll *p = *pp;
    if (!readable && !writable) {
        if (p) {
            *pp = p->next;
            uv_poll_stop(&p->h);
            uv_close((uv_handle_t *)&p->h, on_handle_closed);
        }
        return;
    }
    if (p == NULL) {
        p = tr_xcalloc(1, sizeof(*p));
        p->fd = fd;
        p->r = r;
        if (uv_poll_init_socket(r->loop, &p->h, fd) != 0) {
            free(p);
            return;
        }
        p->h.data = r;
        r->handles++;
        p->next = r->polls;
        r->polls = p;
    }
    uv_poll_start(&p->h, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0), on_poll);
}

/* ---- answers ------------------------------------------------------------------------------ */

static bool same_records(const struct entry *e, enum tr_dns_state state,
                         const struct tr_dns_record *recs, size_t n)
{
    return e->state == state && e->n == n &&
           (n == 0 || memcmp(e->recs, recs, n * sizeof(*recs)) == 0);
}

/* The query of e ended with an answer (records, or none): it replaces what e held. */
static void answered(struct entry *e, enum tr_dns_state state, struct tr_dns_record *recs, size_t n,
                     uint32_t ttl)
{
    struct tr_resolver *r = e->r;
    uint64_t now = tr_clock_mono_ms();
    if (!same_records(e, state, recs, n)) {
        r->changed = true;
        free(e->recs);
        e->recs = n ? tr_xmalloc(n * sizeof(*recs)) : NULL;
        if (n)
            memcpy(e->recs, recs, n * sizeof(*recs));
        e->n = n;
        e->state = state;
        if (state == TR_DNS_NOT_FOUND)
            tr_log_warn("dns: %s does not resolve (asked again in %u s)", e->name, ttl);
    }
    /* TTL 0: asked again at the next tick (Kong asks on every request). */
    e->expires_ms = now + (uint64_t)ttl * 1000;
    e->stale_until_ms = e->expires_ms + (uint64_t)r->opts.stale_ttl * 1000;
    e->querying = false;
}

/* The server failed: keep the last answer while it may be served stale, else an error. */
static void failed(struct entry *e, int status)
{
    struct tr_resolver *r = e->r;
    uint64_t now = tr_clock_mono_ms();
    e->querying = false;
    bool has = e->state == TR_DNS_ADDRESSES || e->state == TR_DNS_SRV;
    if (has && now < e->stale_until_ms) {
        tr_log_warn("dns: %s: %s; keeping the last answer (stale)", e->name, ares_strerror(status));
    } else if (e->state != TR_DNS_ERROR) {
        tr_log_warn("dns: %s: %s", e->name, ares_strerror(status));
        free(e->recs);
        e->recs = NULL;
        e->n = 0;
        e->state = TR_DNS_ERROR;
        r->changed = true;
    }
    e->expires_ms = now + (uint64_t)(r->opts.error_ttl ? r->opts.error_ttl : 1) * 1000;
}

/* The records of type in the answer, and their smallest TTL. */
static size_t parse(const unsigned char *abuf, int alen, int type, struct tr_dns_record *out,
                    size_t max, uint32_t *ttl)
{
    ns_msg msg;
    if (ns_initparse(abuf, alen, &msg) != 0)
        return 0;
    size_t n = 0;
    *ttl = UINT32_MAX;
    int count = ns_msg_count(msg, ns_s_an);
    for (int i = 0; i < count && n < max; i++) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || (int)ns_rr_type(rr) != type)
            continue;
        const unsigned char *rd = ns_rr_rdata(rr);
        struct tr_dns_record *rec = &out[n];
        memset(rec, 0, sizeof(*rec));
        if (type == ns_t_a && ns_rr_rdlen(rr) == 4) {
            inet_ntop(AF_INET, rd, rec->name, sizeof(rec->name));
        } else if (type == ns_t_aaaa && ns_rr_rdlen(rr) == 16) {
            inet_ntop(AF_INET6, rd, rec->name, sizeof(rec->name));
        } else if (type == ns_t_srv && ns_rr_rdlen(rr) > 6) {
            rec->priority = (uint16_t)(rd[0] << 8 | rd[1]);
            rec->weight = (uint16_t)(rd[2] << 8 | rd[3]);
            rec->port = (uint16_t)(rd[4] << 8 | rd[5]);
            if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), rd + 6, rec->name,
                                   sizeof(rec->name)) < 0 ||
                rec->port == 0)
                continue;
        } else {
            continue;
        }
        if (ns_rr_ttl(rr) < *ttl)
            *ttl = ns_rr_ttl(rr);
        n++;
    }
    if (type != ns_t_srv || n < 2)
        return n;
    /* SRV: only the lowest priority value is used (Kong's balancer). */
    uint16_t low = UINT16_MAX;
    for (size_t i = 0; i < n; i++)
        low = out[i].priority < low ? out[i].priority : low;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (out[i].priority == low)
            out[kept++] = out[i];
    }
    return kept;
}

static void query_stage(struct entry *e);

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct entry *e = arg;
    (void)timeouts;
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || e->r->stopping)
        return;
    if (status == ARES_SUCCESS) {
        static const int types[] = {ns_t_srv, ns_t_a, ns_t_aaaa};
        struct tr_dns_record recs[MAX_RECORDS];
        uint32_t ttl;
        size_t n = parse(abuf, alen, types[e->stage], recs, MAX_RECORDS, &ttl);
        if (n > 0) {
            answered(e, e->stage == STAGE_SRV ? TR_DNS_SRV : TR_DNS_ADDRESSES, recs, n, ttl);
            return;
        }
    } else if (status != ARES_ENOTFOUND && status != ARES_ENODATA) {
        failed(e, status);
        return;
    }
    /* No record of this type: the next one (Kong's dns_order SRV, A; and AAAA). */
    e->stage++;
    if (e->stage == STAGE_DONE)
        answered(e, TR_DNS_NOT_FOUND, NULL, 0, e->r->opts.not_found_ttl);
    else
        query_stage(e);
}

static void query_stage(struct entry *e)
{
    static const int types[] = {ns_t_srv, ns_t_a, ns_t_aaaa};
    ares_query(e->r->ch, e->name, ns_c_in, types[e->stage], on_answer, e);
}

static void start_query(struct entry *e)
{
    e->querying = true;
    e->stage = STAGE_SRV;
    query_stage(e);
}

/* ---- the cache ---------------------------------------------------------------------------- */

static void on_tick(uv_timer_t *t)
{
    struct tr_resolver *r = t->data;
    ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timeouts */
    uint64_t now = tr_clock_mono_ms();
    for (struct entry *e = r->entries; e; e = e->next) {
        if (e->gen == r->gen && !e->querying && now >= e->expires_ms)
            start_query(e); /* still in use: refresh (the old answer is served meanwhile) */
    }
    if (r->changed) {
        r->changed = false;
        r->on_change(r->ud);
    }
}

enum tr_dns_state tr_resolver_get(struct tr_resolver *r, const char *name,
                                  struct tr_dns_record *out, size_t max, size_t *n)
{
    *n = 0;
    char hosts[16][TR_HOSTS_ADDR_LEN];
    size_t hn =
        tr_hosts_lookup(r ? r->opts.hostsfile : "/etc/hosts", name, hosts, max < 16 ? max : 16);
    if (hn > 0) {
        /* As Kong asks A before AAAA: the name's IPv4 addresses when it has any. */
        bool v4 = false;
        for (size_t i = 0; i < hn && !v4; i++)
            v4 = strchr(hosts[i], ':') == NULL;
        for (size_t i = 0; i < hn; i++) {
            if (v4 && strchr(hosts[i], ':') != NULL)
                continue;
            memset(&out[*n], 0, sizeof(out[*n]));
            memcpy(out[*n].name, hosts[i], TR_HOSTS_ADDR_LEN);
            (*n)++;
        }
        return TR_DNS_ADDRESSES;
    }
    if (r == NULL || r->stopping)
        return TR_DNS_ERROR;
    struct entry *e = r->entries;
    while (e && strcasecmp(e->name, name) != 0)
        e = e->next;
    if (e == NULL) {
        e = tr_xcalloc(1, sizeof(*e));
        e->r = r;
        e->name = tr_xstrdup(name);
        e->next = r->entries;
        r->entries = e;
    }
    e->gen = r->gen;
    if (!e->querying && tr_clock_mono_ms() >= e->expires_ms)
        start_query(e);
    *n = e->n < max ? e->n : max;
    if (*n)
        memcpy(out, e->recs, *n * sizeof(*out));
    return e->state;
}

void tr_resolver_begin(struct tr_resolver *r)
{
    if (r == NULL)
        return;
    /* Names no build asked for since the last begin are forgotten (unless a query of theirs is
     * in flight: c-ares holds the entry until it answers). */
    struct entry **pp = &r->entries;
    while (*pp) {
        struct entry *e = *pp;
        if (e->gen != r->gen && !e->querying) {
            *pp = e->next;
            free(e->name);
            free(e->recs);
            free(e);
        } else {
            pp = &e->next;
        }
    }
    r->gen++;
}

const char *tr_resolver_hostsfile(const struct tr_resolver *r)
{
    return r ? r->opts.hostsfile : "/etc/hosts";
}

struct tr_resolver *tr_resolver_new(uv_loop_t *loop, const struct tr_resolver_opts *opts,
                                    void (*on_change)(void *ud), void *ud, char *err,
                                    size_t err_len)
{
    int rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (rc != ARES_SUCCESS) {
        snprintf(err, err_len, "c-ares: %s", ares_strerror(rc));
        return NULL;
    }
    struct tr_resolver *r = tr_xcalloc(1, sizeof(*r));
    r->loop = loop;
    r->on_change = on_change;
    r->ud = ud;
    r->opts = *opts;
    r->opts.servers = tr_xstrdup(opts->servers ? opts->servers : "");
    r->opts.hostsfile = tr_xstrdup(opts->hostsfile ? opts->hostsfile : "");
    r->gen = 1;
    struct ares_options o;
    memset(&o, 0, sizeof(o));
    o.sock_state_cb = on_sock_state;
    o.sock_state_cb_data = r;
    o.timeout = 1000; /* ms per try */
    o.tries = 2;
    o.flags = ARES_FLAG_NOSEARCH;
    rc = ares_init_options(
        &r->ch, &o, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
    if (rc == ARES_SUCCESS && r->opts.servers[0] != '\0')
        rc = ares_set_servers_ports_csv(r->ch, r->opts.servers);
    if (rc != ARES_SUCCESS) {
        snprintf(err, err_len, "dns_resolver: %s", ares_strerror(rc));
        ares_destroy(r->ch);
        free((char *)r->opts.servers);
        free((char *)r->opts.hostsfile);
        free(r);
        ares_library_cleanup();
        return NULL;
    }
    uv_timer_init(loop, &r->tick);
    r->tick.data = r;
    r->handles = 1;
    uv_timer_start(&r->tick, on_tick, TICK_MS, TICK_MS);
    return r;
}

void tr_resolver_stop(struct tr_resolver *r)
{
    if (r == NULL)
        return;
    r->stopping = true;
    ares_destroy(r->ch); /* answers come back cancelled; sockets are let go (on_sock_state) */
    for (struct poll *p = r->polls, *next; p; p = next) {
        next = p->next;
        uv_poll_stop(&p->h);
        uv_close((uv_handle_t *)&p->h, on_handle_closed);
    }
    r->polls = NULL;
    uv_timer_stop(&r->tick);
    uv_close((uv_handle_t *)&r->tick, on_handle_closed);
}
