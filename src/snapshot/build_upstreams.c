/* SPDX-License-Identifier: MIT */
/* Compile Kong 3's upstreams and targets (kept by the control thread in struct tr_k3_config)
 * into the snapshot's upstreams: each with its hash sources, active check settings and a
 * balancer over its targets' addresses (docs/internals/balancer.md). A balancer whose spec did
 * not change since the published snapshot is shared, not rebuilt, so its round-robin position
 * survives an unrelated admin write; the health, load and latency of every address live in the
 * node's registry either way. Part of tr_snapshot_build; control thread only. */
#include "snapshot/build.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balancer/balancer.h"
#include "core/health_override.h"
#include "core/intmath.h"
#include "core/log.h"
#include "core/clock.h"
#include "core/mem.h"
#include "dns/resolver.h"
#include "schema/kong3.h"

static struct tr_health_registry *registry;
static struct tr_resolver *resolver;

void tr_snapshot_set_resolver(struct tr_resolver *r)
{
    resolver = r;
}

struct tr_health_registry *tr_snapshot_health_registry(void)
{
    if (registry == NULL)
        registry = tr_health_registry_new();
    return registry;
}

void tr__snap_registry_free(void)
{
    if (registry != NULL)
        tr_health_registry_free(registry);
    registry = NULL;
}

static const char *str_at(const json_t *doc, const char *f)
{
    return json_string_value(json_object_get(doc, f));
}

static char *dup_at(const json_t *doc, const char *f)
{
    const char *s = str_at(doc, f);
    return s ? tr_xstrdup(s) : NULL;
}

static long long int_at(const json_t *rec, const char *f, long long dflt)
{
    const json_t *v = json_object_get(rec, f);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* ---- health checks --------------------------------------------------------------------- */

/* A record's `interval` (seconds, fractions allowed: Kong's specs probe every 0.1 s) in
 * milliseconds; a positive interval is at least 1 ms, so it never reads as "off". */
static uint32_t interval_ms(const json_t *rec)
{
    const json_t *v = json_object_get(rec, "interval");
    double s = json_is_number(v) ? json_number_value(v) : 0;
    if (!(s > 0))
        return 0;
    if (s > 86400.0 * 49)
        return UINT32_MAX;
    uint32_t ms = (uint32_t)(s * 1000 + 0.5);
    return ms ? ms : 1;
}

static uint8_t counter_at(const json_t *rec, const char *f)
{
    long long v = int_at(rec, f, 0);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void statuses_at(struct tr_health_conf *c, enum tr_health_check check, bool healthy,
                        const json_t *rec)
{
    const json_t *list = json_object_get(rec, "http_statuses");
    if (!json_is_array(list))
        return;
    unsigned st[TR_HEALTH_STATUS_MAX];
    size_t n = 0, i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (json_is_integer(v) && n < TR_HEALTH_STATUS_MAX)
            st[n++] = (unsigned)json_integer_value(v);
    }
    tr_health_conf_set_statuses(c, check, healthy, st, n);
}

static void checks_at(struct tr_health_conf *c, enum tr_health_check check, const json_t *rec)
{
    struct tr_health_checks *k = &c->checks[check];
    const json_t *h = json_object_get(rec, "healthy");
    const json_t *u = json_object_get(rec, "unhealthy");
    statuses_at(c, check, true, h);
    statuses_at(c, check, false, u);
    k->successes = counter_at(h, "successes");
    k->http_failures = counter_at(u, "http_failures");
    k->tcp_failures = counter_at(u, "tcp_failures");
    k->timeouts = counter_at(u, "timeouts");
    k->healthy_interval_ms = interval_ms(h);
    k->unhealthy_interval_ms = interval_ms(u);
}

static void health_conf_of(const json_t *up, struct tr_health_conf *c)
{
    tr_health_conf_default(c);
    const json_t *hc = json_object_get(up, "healthchecks");
    checks_at(c, TR_CHECK_ACTIVE, json_object_get(hc, "active"));
    checks_at(c, TR_CHECK_PASSIVE, json_object_get(hc, "passive"));
    const json_t *t = json_object_get(hc, "threshold");
    c->threshold = json_is_number(t) ? json_number_value(t) : 0;
    tr_health_conf_finish(c);
}

/* "Name: value\r\n" for each value of each header of healthchecks.active.headers: measured,
 * then written. */
static size_t probe_headers_into(const json_t *headers, char *out)
{
    size_t len = 0;
    const char *name;
    json_t *vals;
    json_object_foreach((json_t *)headers, name, vals)
    {
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v)
        {
            const char *parts[4] = {name, ": ", json_string_value(v), "\r\n"};
            if (parts[2] == NULL)
                continue;
            for (size_t k = 0; k < 4; k++) {
                size_t n = strlen(parts[k]);
                if (out)
                    memcpy(out + len, parts[k], n);
                len += n;
            }
        }
    }
    return len;
}

static char *probe_headers(const json_t *headers)
{
    if (!json_is_object(headers) || json_object_size(headers) == 0)
        return NULL;
    size_t len = probe_headers_into(headers, NULL);
    char *out = tr_xmalloc(len + 1);
    probe_headers_into(headers, out);
    out[len] = '\0';
    return out;
}

static void active_of(const json_t *up, struct tr_active_check *a)
{
    const json_t *act = json_object_get(json_object_get(up, "healthchecks"), "active");
    const char *type = str_at(act, "type");
    /* grpc and grpcs probes are not spoken: they check that the port accepts connections. */
    a->type = type == NULL || strcmp(type, "http") == 0 ? TR_PROBE_HTTP
              : strcmp(type, "https") == 0              ? TR_PROBE_HTTPS
                                                        : TR_PROBE_TCP;
    const json_t *t = json_object_get(act, "timeout");
    double secs = json_is_number(t) ? json_number_value(t) : 1.0;
    a->timeout_ms = secs <= 0 ? 1 : secs > 4e6 ? 4000000000u : (uint32_t)(secs * 1000.0 + 0.5);
    long long conc = int_at(act, "concurrency", 10);
    a->concurrency = conc < 1 ? 1 : conc > 1000 ? 1000 : (uint32_t)conc;
    a->http_path = tr_xstrdup(str_at(act, "http_path") ? str_at(act, "http_path") : "/");
    a->https_sni = dup_at(act, "https_sni");
    a->verify_cert = !json_is_false(json_object_get(act, "https_verify_certificate"));
    a->headers = probe_headers(json_object_get(act, "headers"));
}

/* ---- hash sources ---------------------------------------------------------------------- */

static const char *const hash_names[] = {
    [TR_HASH_NONE] = "none",
    [TR_HASH_CONSUMER] = "consumer",
    [TR_HASH_IP] = "ip",
    [TR_HASH_HEADER] = "header",
    [TR_HASH_COOKIE] = "cookie",
    [TR_HASH_PATH] = "path",
    [TR_HASH_QUERY_ARG] = "query_arg",
    [TR_HASH_URI_CAPTURE] = "uri_capture",
};

static void hash_of(const json_t *up, bool fallback, struct tr_hash_source *h)
{
    const char *on = str_at(up, fallback ? "hash_fallback" : "hash_on");
    h->on = TR_HASH_NONE;
    for (size_t i = 0; on != NULL && i < TR_ARRAY_SIZE(hash_names); i++) {
        if (strcmp(on, hash_names[i]) == 0)
            h->on = (enum tr_hash_on)i;
    }
    const char *field = NULL;
    switch (h->on) {
    case TR_HASH_HEADER:
        field = fallback ? "hash_fallback_header" : "hash_on_header";
        break;
    case TR_HASH_COOKIE:
        field = "hash_on_cookie";
        break;
    case TR_HASH_QUERY_ARG:
        field = fallback ? "hash_fallback_query_arg" : "hash_on_query_arg";
        break;
    case TR_HASH_URI_CAPTURE:
        field = fallback ? "hash_fallback_uri_capture" : "hash_on_uri_capture";
        break;
    default:
        break;
    }
    h->name = field ? dup_at(up, field) : NULL;
    if (field != NULL && h->name == NULL)
        h->on = TR_HASH_NONE; /* refused on write; never trust a half-set pair */
}

/* ---- addresses ------------------------------------------------------------------------- */

/* Split a stored (normalised) target "host:port" / "[v6]:port" into host (brackets removed)
 * and port. False for a row that is not one. */
static bool split_target(const char *target, char *host, size_t len, uint16_t *port)
{
    const char *colon = target ? strrchr(target, ':') : NULL;
    if (colon == NULL || colon == target)
        return false;
    long p = strtol(colon + 1, NULL, 10);
    if (p < 1 || p > 65535)
        return false;
    const char *h = target;
    size_t hl = (size_t)(colon - target);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= len)
        return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)p;
    return true;
}

static bool is_ip(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

struct addr_list {
    struct tr_lb_address_spec *items;
    size_t cnt, cap;
};

static void add_address(struct addr_list *l, const char *host, uint16_t port, uint32_t weight,
                        const char *target)
{
    if (l->cnt == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = tr_xrealloc(l->items, l->cap * sizeof(*l->items));
    }
    l->items[l->cnt++] =
        (struct tr_lb_address_spec){tr_xstrdup(host), port, weight, tr_xstrdup(target)};
}

static void addr_list_free(struct addr_list *l)
{
    for (size_t i = 0; i < l->cnt; i++) {
        free((char *)l->items[i].host);
        free((char *)l->items[i].target);
    }
    free(l->items);
}

#define MAX_ANSWER 64

/* The addresses of name from the node's resolver (the hosts file first), each with port and
 * weight; an SRV answer gives its own port and weight (0 counts as 1) and its target names are
 * resolved in turn. Returns the state of the name's own answer. */
static enum tr_dns_state resolve(const char *name, uint16_t port, uint32_t weight,
                                 const char *target, struct addr_list *out)
{
    struct tr_dns_record recs[MAX_ANSWER];
    size_t n;
    enum tr_dns_state st = tr_resolver_get(resolver, name, recs, MAX_ANSWER, &n);
    for (size_t i = 0; i < n; i++) {
        if (st == TR_DNS_ADDRESSES) {
            add_address(out, recs[i].name, port, weight, target);
            continue;
        }
        uint32_t w = recs[i].weight ? recs[i].weight : 1;
        if (is_ip(recs[i].name)) {
            add_address(out, recs[i].name, recs[i].port, w, target);
            continue;
        }
        struct tr_dns_record sub[MAX_ANSWER];
        size_t sn;
        if (tr_resolver_get(resolver, recs[i].name, sub, MAX_ANSWER, &sn) == TR_DNS_ADDRESSES) {
            for (size_t j = 0; j < sn; j++)
                add_address(out, sub[j].name, recs[i].port, w, target);
        }
    }
    return st;
}

/* The addresses of every target of upstream id, in the order the targets were added: an IP
 * target is its own address; a name gives the addresses the resolver knows for it (none yet:
 * the target shows DNS_ERROR and its traffic goes to the others until the answer comes). */
static void addresses_of(const struct tr_k3_config *k3, const char *id, struct addr_list *out)
{
    const char *tid;
    json_t *tg;
    json_object_foreach(k3->targets, tid, tg)
    {
        const char *uid = str_at(tg, "upstream_id");
        if (uid == NULL || strcmp(uid, id) != 0)
            continue;
        const char *target = str_at(tg, "target");
        long long w = int_at(tg, "weight", 100);
        uint32_t weight = (uint32_t)(w < 0 ? 0 : w > TR_LB_WEIGHT_MAX ? TR_LB_WEIGHT_MAX : w);
        char host[300];
        uint16_t port;
        if (!split_target(target, host, sizeof(host), &port))
            continue;
        if (is_ip(host))
            add_address(out, host, port, weight, target);
        else
            resolve(host, port, weight, target, out);
        (void)tid;
    }
}

/* ---- upstreams ------------------------------------------------------------------------- */

/* Give fresh peers the health set by hand for their target before they existed (a name that
 * resolved after PUT .../unhealthy, a restart of the balancer after the target came back). */
static void apply_overrides(struct tr_balancer *b, const char *upstream_id)
{
    if (tr_health_override_count() == 0)
        return;
    for (size_t i = 0; i < tr_balancer_count(b); i++) {
        const struct tr_lb_address *a = tr_balancer_address(b, i);
        if (!a->fresh)
            continue;
        char addr[300], norm[300];
        bool v6 = strchr(a->host, ':') != NULL;
        snprintf(addr, sizeof(addr), "%s%s%s:%u", v6 ? "[" : "", a->host, v6 ? "]" : "", a->port);
        /* Overrides are keyed as the Admin API normalises an address (IPv6 expanded). */
        if (!tr_schema3_target_normalize(addr, norm, sizeof(norm)))
            continue;
        enum tr_health_override o = tr_health_override_get(upstream_id, a->target, norm);
        if (o != TR_OVERRIDE_NONE)
            tr_peer_set_healthy(a->peer, o == TR_OVERRIDE_HEALTHY);
    }
}

/* The balancer for up: prev's when the spec is the same, else a new one. */
static struct tr_balancer *balancer_for(const struct tr_snapshot *prev, const char *id,
                                        const struct tr_lb_spec *spec)
{
    const struct tr_upstream *old = prev ? tr_snapshot_upstream(prev, id) : NULL;
    if (old != NULL && old->balancer != NULL && tr_balancer_matches(old->balancer, spec)) {
        tr_balancer_ref(old->balancer);
        return old->balancer;
    }
    struct tr_balancer *b = NULL;
    if (tr_balancer_new(tr_snapshot_health_registry(), spec, &b) != 0) {
        tr_log_error("snapshot: upstream %s: its targets cannot be balanced", id);
        return NULL;
    }
    apply_overrides(b, id);
    return b;
}

static void compile_upstream(struct tr_snapshot *snap, const struct tr_k3_config *k3,
                             const struct tr_snapshot *prev, const json_t *doc)
{
    const char *id = str_at(doc, "id");
    const char *name = str_at(doc, "name");
    if (id == NULL || name == NULL)
        return;
    struct tr_upstream *u = tr_vector_push(NULL, &snap->upstreams);
    memset(u, 0, sizeof(*u));
    u->id = tr_xstrdup(id);
    u->name = tr_xstrdup(name);
    u->host_header = dup_at(doc, "host_header");
    u->client_cert_id = dup_at(doc, "client_certificate_id");
    hash_of(doc, false, &u->hash[0]);
    hash_of(doc, true, &u->hash[1]);
    u->cookie_path =
        tr_xstrdup(str_at(doc, "hash_on_cookie_path") ? str_at(doc, "hash_on_cookie_path") : "/");
    active_of(doc, &u->active);

    struct tr_health_conf health;
    health_conf_of(doc, &health);
    struct addr_list addrs = {0};
    addresses_of(k3, id, &addrs);
    enum tr_lb_algorithm alg = TR_LB_ROUND_ROBIN;
    tr_lb_algorithm_parse(str_at(doc, "algorithm"), &alg);
    long long slots = int_at(doc, "slots", 10000);
    struct tr_lb_spec spec = {
        .upstream_id = id,
        .algorithm = alg,
        .slots = (uint32_t)(slots < TR_LB_SLOTS_MIN   ? TR_LB_SLOTS_MIN
                            : slots > TR_LB_SLOTS_MAX ? TR_LB_SLOTS_MAX
                                                      : slots),
        .health = &health,
        .addresses = addrs.items,
        .num_addresses = addrs.cnt,
        .now_ms = tr_clock_mono_ms(),
    };
    u->balancer = balancer_for(prev, id, &spec);
    addr_list_free(&addrs);
}

void tr__snap_upstreams(struct tr_snapshot *snap, const struct tr_k3_config *k3)
{
    tr_resolver_begin(resolver); /* names this build does not ask for are forgotten */
    if (k3->upstreams == NULL || json_object_size(k3->upstreams) == 0)
        return;
    struct tr_snapshot *prev = tr_snapshot_acquire();
    const char *id;
    json_t *doc;
    json_object_foreach(k3->upstreams, id, doc)
    {
        compile_upstream(snap, k3, prev, doc);
        (void)id;
    }
    tr_snapshot_unref(prev);
}

const struct tr_service *tr_snapshot_service(const struct tr_snapshot *snap, const char *id)
{
    for (size_t i = 0; id != NULL && i < snap->services.cnt; i++) {
        if (strcmp(snap->services.items[i].id, id) == 0)
            return &snap->services.items[i];
    }
    return NULL;
}

const struct tr_upstream *tr_snapshot_upstream(const struct tr_snapshot *snap, const char *key)
{
    for (size_t i = 0; key != NULL && i < snap->upstreams.cnt; i++) {
        const struct tr_upstream *u = &snap->upstreams.items[i];
        if (strcmp(u->id, key) == 0 || strcmp(u->name, key) == 0)
            return u;
    }
    return NULL;
}

#define RESOLVED_MAX 256 /* entries of a service's address list */

/* The service's address list, each address as many times as its weight asks (SRV weights;
 * A and AAAA records all weigh 1), reduced by their common divisor and scaled down to fit
 * RESOLVED_MAX entries, every address keeping at least one. Dialled in turn, that honours
 * the weights. */
static void list_in_proportion(struct tr_service *svc, const struct addr_list *addrs)
{
    uint64_t g = 0;
    uint64_t sum = 0;
    for (size_t i = 0; i < addrs->cnt; i++)
        g = tr_gcd(addrs->items[i].weight ? addrs->items[i].weight : 1, g);
    for (size_t i = 0; i < addrs->cnt; i++)
        sum += (addrs->items[i].weight ? addrs->items[i].weight : 1) / g;
    double scale = sum > RESOLVED_MAX ? (double)RESOLVED_MAX / (double)sum : 1.0;
    size_t cap = addrs->cnt > RESOLVED_MAX ? addrs->cnt : RESOLVED_MAX;
    svc->resolved = tr_xcalloc(cap, sizeof(*svc->resolved));
    for (size_t i = 0; i < addrs->cnt && svc->num_resolved < cap; i++) {
        uint32_t w = addrs->items[i].weight ? addrs->items[i].weight : 1;
        size_t times = (size_t)((double)(w / g) * scale);
        if (times == 0)
            times = 1;
        for (size_t k = 0; k < times && svc->num_resolved < cap; k++) {
            struct tr_resolved_addr *ra = &svc->resolved[svc->num_resolved++];
            snprintf(ra->ip, sizeof(ra->ip), "%s", addrs->items[i].host);
            ra->port = addrs->items[i].port;
        }
    }
}

/* A service dialling a host name: the addresses the resolver knows (its answer's port for an
 * SRV record, else the service's). */
static void resolve_service(struct tr_service *svc)
{
    char host[256];
    if (svc->url.host.len == 0 || svc->url.host.len >= sizeof(host) || svc->url.is_ipv6)
        return;
    memcpy(host, svc->url.host.ptr, svc->url.host.len);
    host[svc->url.host.len] = '\0';
    if (is_ip(host))
        return;
    struct addr_list addrs = {0};
    enum tr_dns_state st = resolve(host, svc->url.port, 1, host, &addrs);
    if (resolver != NULL) {
        /* SRV targets still being asked count as pending too. */
        svc->dns_pending = st == TR_DNS_PENDING || (st == TR_DNS_SRV && addrs.cnt == 0);
        svc->unresolvable = st == TR_DNS_NOT_FOUND || st == TR_DNS_ERROR;
    }
    if (addrs.cnt > 0)
        list_in_proportion(svc, &addrs);
    addr_list_free(&addrs);
}

/* Kong's fallback_upstream_client_cert: a service without a client_certificate presents its
 * upstream's. The certificate is part of the pool key, derived again with it. */
static void use_upstream_cert(struct tr_service *svc)
{
    svc->client_cert_id = tr_xstrdup(svc->upstream->client_cert_id);
    free(svc->host_header);
    free(svc->pool_key);
    svc->host_header = svc->pool_key = NULL;
    if (tr__snap_service_url(svc) != 0)
        tr_log_error("snapshot: service %s: its URL no longer parses", svc->id);
}

void tr__snap_link_upstreams(struct tr_snapshot *snap)
{
    struct tr_strmap names;
    tr_strmap_init(&names);
    for (size_t i = 0; i < snap->upstreams.cnt; i++) {
        struct tr_upstream *u = &snap->upstreams.items[i];
        tr_strmap_put(&names, tr_str_from_cstr(u->name), u);
    }
    for (size_t i = 0; i < snap->services.cnt; i++) {
        struct tr_service *svc = &snap->services.items[i];
        svc->upstream = snap->upstreams.cnt ? tr_strmap_get(&names, svc->url.host) : NULL;
        if (svc->upstream == NULL)
            resolve_service(svc);
        else if (svc->client_cert_id == NULL && svc->upstream->client_cert_id != NULL)
            use_upstream_cert(svc);
    }
    tr_strmap_free(&names);
}

void tr__snap_free_upstream(struct tr_upstream *u)
{
    free(u->id);
    free(u->name);
    free(u->host_header);
    free(u->hash[0].name);
    free(u->hash[1].name);
    free(u->cookie_path);
    free(u->client_cert_id);
    free(u->active.http_path);
    free(u->active.https_sni);
    free(u->active.headers);
    if (u->balancer)
        tr_balancer_unref(u->balancer);
}
