/* SPDX-License-Identifier: MIT */
/* Kong 3 routes: the index built at compile time and the match. Every route (one per path
 * group, a "variant") gets a rank from Kong's priority order; candidates are filed under one
 * key each (an exact host, or a plain prefix or a regex's literal prefix), so a request looks
 * at the few lists its host and path select plus the routes that have neither, in rank order,
 * and stops at the first that matches in full. Matching reads only and never allocates. */
#include "router/kong3.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/mem.h"
#include "core/str.h"

#define HOST_MAX 255
#define NO_RANK UINT32_MAX
/* Backtracking bound per regex match (PCRE2's default is 10,000,000): a route's regex must not
 * let one request stall a worker. */
#define MATCH_LIMIT 100000

/* A key and its candidates: ranks[first .. first + cnt), ascending. hash 0 = empty slot. */
struct bucket {
    uint64_t hash;
    const char *key; /* points into a route's owned strings */
    uint32_t key_len;
    uint32_t first, cnt;
};

struct table {
    struct bucket *slots; /* owned */
    size_t cap;           /* power of two */
};

struct tr__k3 {
    TR_VECTOR(struct tr__k3_route *) routes; /* owned, registration order */
    bool compiled;
    struct tr__k3_variant *vars; /* owned; index = rank, best first */
    size_t num_vars;
    uint32_t *ranks; /* owned; the candidate lists of all buckets, back to back */
    size_t num_ranks;
    struct table hosts;  /* exact host -> routes whose hosts are all exact */
    struct table paths;  /* plain prefix or regex literal prefix -> routes without exact hosts */
    uint32_t *path_lens; /* owned; distinct key lengths in paths, ascending */
    size_t num_path_lens;
    uint32_t rest_first, rest_cnt; /* ranks of the routes filed under no key */
    bool any_hosts;                /* some route sets hosts: the request's Host is looked at */
    pcre2_match_context *mctx;     /* owned; read-only once compiled */
};

/* A (key, rank) pair while building. */
struct pair {
    uint64_t hash;
    const char *key;
    uint32_t key_len;
    uint32_t rank;
};

static uint64_t key_hash(const char *key, size_t len)
{
    return tr_hash_final(tr_hash_update(TR_HASH_SEED, key, len));
}

static int cmp_pair(const void *pa, const void *pb)
{
    const struct pair *a = pa, *b = pb;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    if (a->key_len != b->key_len)
        return a->key_len < b->key_len ? -1 : 1;
    int c = memcmp(a->key, b->key, a->key_len);
    if (c != 0)
        return c;
    return a->rank < b->rank ? -1 : a->rank > b->rank;
}

static bool same_key(const struct pair *a, const struct pair *b)
{
    return a->hash == b->hash && a->key_len == b->key_len &&
           memcmp(a->key, b->key, a->key_len) == 0;
}

static const struct bucket *table_find(const struct table *t, uint64_t h, const char *key,
                                       size_t len)
{
    if (t->cap == 0)
        return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        const struct bucket *b = &t->slots[i];
        if (b->hash == 0)
            return NULL;
        if (b->hash == h && b->key_len == len && memcmp(b->key, key, len) == 0)
            return b;
    }
}

/* Sort pairs by key then rank and make one bucket per key, its ranks appended to k->ranks. */
static void table_build(struct tr__k3 *k, struct table *t, struct pair *pairs, size_t num)
{
    size_t cap = 8;
    while (cap < num * 2)
        cap *= 2;
    t->slots = tr_xcalloc(cap, sizeof(*t->slots));
    t->cap = cap;
    qsort(pairs, num, sizeof(*pairs), cmp_pair);
    for (size_t i = 0; i < num;) {
        size_t j = i;
        uint32_t first = (uint32_t)k->num_ranks;
        for (; j < num && same_key(&pairs[i], &pairs[j]); j++)
            if (k->num_ranks == first || k->ranks[k->num_ranks - 1] != pairs[j].rank)
                k->ranks[k->num_ranks++] = pairs[j].rank;
        size_t mask = cap - 1, s = (size_t)pairs[i].hash & mask;
        while (t->slots[s].hash != 0)
            s = (s + 1) & mask;
        t->slots[s] = (struct bucket){pairs[i].hash, pairs[i].key, pairs[i].key_len, first,
                                      (uint32_t)k->num_ranks - first};
        i = j;
    }
}

struct tr__k3 *tr__k3_new(void)
{
    return tr_xcalloc(1, sizeof(struct tr__k3));
}

int tr__k3_add(struct tr__k3 *k, const struct tr_route_spec *spec, void *route, char *err,
               size_t err_cap)
{
    if (k->compiled) {
        if (err && err_cap > 0)
            snprintf(err, err_cap, "router already compiled");
        return TR_EINVAL;
    }
    if (spec == NULL) {
        if (err && err_cap > 0)
            snprintf(err, err_cap, "no route");
        return TR_EINVAL;
    }
    struct tr__k3_route *rt = tr_xmalloc(sizeof(*rt));
    int rc = tr__k3_route_init(rt, spec, route, err, err_cap);
    if (rc != 0) {
        free(rt);
        return rc;
    }
    rt->seq = (uint32_t)k->routes.cnt;
    *tr_vector_push(NULL, &k->routes) = rt;
    return 0;
}

static int cmp_variant(const void *a, const void *b)
{
    return tr__k3_variant_cmp(a, b);
}

static int cmp_u32(const void *pa, const void *pb)
{
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    return a < b ? -1 : a > b;
}

static bool all_hosts_exact(const struct tr__k3_route *rt)
{
    if (rt->num_hosts == 0)
        return false;
    for (uint32_t i = 0; i < rt->num_hosts; i++)
        if (rt->hosts[i].kind != TR__K3_EXACT)
            return false;
    return true;
}

void tr__k3_compile(struct tr__k3 *k)
{
    if (k->compiled)
        return;
    k->compiled = true;
    k->mctx = pcre2_match_context_create(NULL);
    if (k->mctx == NULL)
        abort(); /* OOM, as tr_xmalloc */
    pcre2_set_match_limit(k->mctx, MATCH_LIMIT);

    size_t max_vars = 0, num_host_pairs = 0, num_path_pairs = 0;
    for (size_t i = 0; i < k->routes.cnt; i++) {
        const struct tr__k3_route *rt = k->routes.items[i];
        max_vars += rt->num_paths > 0 ? rt->num_paths : 1;
    }
    k->vars = tr_xcalloc(max_vars ? max_vars : 1, sizeof(*k->vars));
    for (size_t i = 0; i < k->routes.cnt; i++)
        k->num_vars += tr__k3_route_variants(k->routes.items[i], k->vars + k->num_vars,
                                             max_vars - k->num_vars);
    qsort(k->vars, k->num_vars, sizeof(*k->vars), cmp_variant);
    /* Each variant files its route's hosts or its own paths. */
    for (size_t i = 0; i < k->num_vars; i++) {
        num_host_pairs += k->vars[i].rt->num_hosts;
        num_path_pairs += k->vars[i].num_paths;
    }
    k->any_hosts = num_host_pairs > 0;

    struct pair *hp = tr_xcalloc(num_host_pairs + 1, sizeof(*hp));
    struct pair *pp = tr_xcalloc(num_path_pairs + 1, sizeof(*pp));
    uint32_t *rest = tr_xcalloc(k->num_vars + 1, sizeof(*rest));
    size_t nh = 0, np = 0, nr = 0;
    for (uint32_t rank = 0; rank < k->num_vars; rank++) {
        const struct tr__k3_variant *v = &k->vars[rank];
        const struct tr__k3_route *rt = v->rt;
        if (all_hosts_exact(rt)) {
            for (uint32_t i = 0; i < rt->num_hosts; i++)
                hp[nh++] = (struct pair){key_hash(rt->hosts[i].name, rt->hosts[i].len),
                                         rt->hosts[i].name, rt->hosts[i].len, rank};
        } else if (v->num_paths > 0) {
            for (uint32_t i = v->path_first; i < v->path_first + v->num_paths; i++) {
                const struct tr__k3_path *p = &rt->paths[i];
                uint32_t len = p->re ? p->lit_len : p->len;
                pp[np++] = (struct pair){key_hash(p->str, len), p->str, len, rank};
            }
        } else {
            rest[nr++] = rank;
        }
    }
    k->ranks = tr_xcalloc(nh + np + nr + 1, sizeof(*k->ranks));
    table_build(k, &k->hosts, hp, nh);
    table_build(k, &k->paths, pp, np);
    k->rest_first = (uint32_t)k->num_ranks;
    k->rest_cnt = (uint32_t)nr;
    memcpy(k->ranks + k->num_ranks, rest, nr * sizeof(*rest));
    k->num_ranks += nr;

    k->path_lens = tr_xcalloc(np + 1, sizeof(*k->path_lens));
    for (size_t i = 0; i < np; i++)
        k->path_lens[i] = pp[i].key_len;
    qsort(k->path_lens, np, sizeof(*k->path_lens), cmp_u32);
    for (size_t i = 0; i < np; i++)
        if (k->num_path_lens == 0 || k->path_lens[k->num_path_lens - 1] != k->path_lens[i])
            k->path_lens[k->num_path_lens++] = k->path_lens[i];
    free(hp);
    free(pp);
    free(rest);
}

/* ---- matching ----------------------------------------------------------------------------- */

/* The match block for this thread, made on its first regex match and freed when it exits. */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static pthread_key_t md_key;

static void free_match_data(void *md)
{
    pcre2_match_data_free(md);
}

static void make_md_key(void)
{
    if (pthread_key_create(&md_key, free_match_data) != 0)
        abort();
}

static pcre2_match_data *thread_match_data(void)
{
    pthread_once(&md_once, make_md_key);
    pcre2_match_data *md = pthread_getspecific(md_key);
    if (md == NULL) {
        md = pcre2_match_data_create(TR_ROUTER_MAX_CAPTURES, NULL);
        if (md == NULL || pthread_setspecific(md_key, md) != 0)
            abort();
    }
    return md;
}

/* The request's Host as Kong 3 reads it (atc.lua: split_host_port on the Host header): lower-case
 * name in buf, and its port, or the listener's when it names none. */
struct req_host {
    char buf[HOST_MAX];
    size_t len; /* 0: no usable host */
    int32_t port;
    struct tr_str raw; /* the value without its port */
};

static void prepare_host(const struct tr_router_request *req, struct req_host *h)
{
    h->len = 0;
    h->port = (int32_t)req->port;
    h->raw = (struct tr_str){NULL, 0};
    if (req->num_hosts == 0 || req->hosts[0].ptr == NULL)
        return;
    struct tr_str v = req->hosts[0];
    size_t len = v.len;
    if (v.len > 0 && v.ptr[0] == '[') {
        const char *close = memchr(v.ptr, ']', v.len);
        len = close ? (size_t)(close - v.ptr) + 1 : v.len;
    } else {
        const char *colon = memchr(v.ptr, ':', v.len);
        if (colon && memchr(colon + 1, ':', v.len - (size_t)(colon + 1 - v.ptr)) == NULL)
            len = (size_t)(colon - v.ptr);
    }
    if (len < v.len && v.ptr[len] == ':') {
        int32_t port = 0;
        size_t i = len + 1;
        for (; i < v.len && i - len <= 5 && v.ptr[i] >= '0' && v.ptr[i] <= '9'; i++)
            port = port * 10 + (v.ptr[i] - '0');
        if (i == v.len && i > len + 1 && i - len <= 6 && port <= 65535)
            h->port = port;
    }
    if (len == 0 || len > HOST_MAX)
        return;
    for (size_t i = 0; i < len; i++)
        h->buf[i] = tr_ascii_lower(v.ptr[i]);
    h->len = len;
    h->raw = (struct tr_str){v.ptr, len};
}

static bool name_matches(const struct tr__k3_host *p, const char *name, size_t len)
{
    switch (p->kind) {
    case TR__K3_EXACT:
        return len == p->len && memcmp(name, p->name, len) == 0;
    case TR__K3_ENDS:
        return len > p->len && memcmp(name + len - p->len, p->name, p->len) == 0;
    default:
        return len > p->len && memcmp(name, p->name, p->len) == 0;
    }
}

static bool hosts_match(const struct tr__k3_route *rt, const struct req_host *h)
{
    for (uint32_t i = 0; i < rt->num_hosts; i++) {
        const struct tr__k3_host *p = &rt->hosts[i];
        if ((p->port < 0 || p->port == h->port) && name_matches(p, h->buf, h->len))
            return true;
    }
    return false;
}

/* transform.lua: "(net.protocol != https || tls.sni ...)": SNIs bind https requests only. */
static bool snis_match(const struct tr__k3_route *rt, const struct tr_router_request *req)
{
    if (req->protocol != TR_ROUTER_PROTO_HTTPS)
        return true;
    struct tr_str sni = req->sni;
    if (sni.ptr == NULL || sni.len == 0 || sni.len > HOST_MAX)
        return false;
    char buf[HOST_MAX];
    for (size_t i = 0; i < sni.len; i++)
        buf[i] = tr_ascii_lower(sni.ptr[i]);
    for (uint32_t i = 0; i < rt->num_snis; i++)
        if (name_matches(&rt->snis[i], buf, sni.len))
            return true;
    return false;
}

static bool regex_matches(const struct tr__k3 *k, const void *re, struct tr_str s,
                          pcre2_match_data *md)
{
    return pcre2_match(re, (PCRE2_SPTR)(s.ptr ? s.ptr : ""), s.len, 0, 0, md, k->mctx) >= 0;
}

static bool value_matches(const struct tr__k3 *k, const struct tr__k3_value *v, struct tr_str s)
{
    if (v->re)
        return regex_matches(k, v->re, s, thread_match_data());
    return tr_str_ieq(s, (struct tr_str){v->str, v->len});
}

/* Header names compare case-insensitively with '-' and '_' as one (transform.lua names the
 * field http.headers.<name lower-cased, '-' as '_'>). name is stored lower-case with '-'. */
static bool header_name_eq(struct tr_str req, const char *name, size_t len)
{
    if (req.len != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = tr_ascii_lower(req.ptr[i]);
        if ((c == '_' ? '-' : c) != name[i])
            return false;
    }
    return true;
}

/* Every key must be present with a value that one of the key's values matches. */
static bool headers_match(const struct tr__k3 *k, const struct tr__k3_route *rt,
                          const struct tr_router_request *req)
{
    for (uint32_t i = 0; i < rt->num_headers; i++) {
        const struct tr__k3_header *h = &rt->headers[i];
        bool found = false;
        for (size_t j = 0; j < req->num_headers && !found; j++) {
            const struct tr_http_header *rh = &req->headers[j];
            if (!header_name_eq(rh->name, h->name, h->len))
                continue;
            for (uint32_t n = 0; n < h->num_values && !found; n++)
                found = value_matches(k, &h->values[n], rh->value);
        }
        if (!found)
            return false;
    }
    return true;
}

/* The first path of the group that matches (in the route's order, as Kong's "||" evaluates),
 * with its span and captures in *res. */
static bool paths_match(const struct tr__k3 *k, const struct tr__k3_variant *v,
                        const struct tr_router_request *req, struct tr_router_result *res)
{
    struct tr_str path = req->path;
    for (uint32_t i = v->path_first; i < v->path_first + v->num_paths; i++) {
        const struct tr__k3_path *p = &v->rt->paths[i];
        if (p->re == NULL) {
            if (path.len >= p->len && memcmp(path.ptr, p->str, p->len) == 0) {
                res->path_start = 0;
                res->path_end = p->len;
                return true;
            }
            continue;
        }
        if (path.len < p->lit_len || memcmp(path.ptr, p->str, p->lit_len) != 0)
            continue;
        pcre2_match_data *md = thread_match_data();
        int rc =
            pcre2_match(p->re, (PCRE2_SPTR)(path.ptr ? path.ptr : ""), path.len, 0, 0, md, k->mctx);
        if (rc < 0)
            continue;
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        uint32_t groups = p->num_groups;
        /* \K can put the start after the end; report the span as PCRE2 gives it otherwise. */
        res->path_start = ov[0] <= ov[1] ? ov[0] : ov[1];
        res->path_end = ov[1];
        res->by_regex = true;
        res->num_captures = groups;
        for (uint32_t g = 0; g < groups; g++) {
            bool set = rc == 0 || (int)g < rc;
            res->captures[2 * g] = set ? ov[2 * g] : SIZE_MAX;
            res->captures[2 * g + 1] = set ? ov[2 * g + 1] : SIZE_MAX;
        }
        res->names = p->names;
        res->num_names = p->num_names;
        return true;
    }
    return false;
}

static bool variant_matches(const struct tr__k3 *k, const struct tr__k3_variant *v,
                            const struct tr_router_request *req, const struct req_host *h,
                            struct tr_router_result *res)
{
    const struct tr__k3_route *rt = v->rt;
    if (rt->num_methods > 0) {
        bool ok = false;
        for (uint32_t i = 0; i < rt->num_methods && !ok; i++)
            ok = tr_str_eq(req->method, tr_str_from_cstr(rt->methods[i]));
        if (!ok)
            return false;
    }
    if (rt->num_hosts > 0 && (h->len == 0 || !hosts_match(rt, h)))
        return false;
    if (rt->num_snis > 0 && !snis_match(rt, req))
        return false;
    if (rt->num_headers > 0 && !headers_match(k, rt, req))
        return false;
    memset(res, 0, offsetof(struct tr_router_result, captures));
    res->num_names = 0;
    res->names = NULL;
    if (v->num_paths > 0 && !paths_match(k, v, req, res))
        return false;
    res->route = rt->route;
    res->is_route = true;
    res->protocols = rt->protocols;
    if (rt->num_hosts > 0)
        res->host = h->raw;
    return true;
}

/* Copy a match into res: the fields before the captures, the groups reported, the names (not
 * the whole capture array, most of which a match leaves unused). */
static void take_result(struct tr_router_result *res, const struct tr_router_result *m)
{
    memcpy(res, m, offsetof(struct tr_router_result, captures));
    memcpy(res->captures, m->captures, 2 * (size_t)m->num_captures * sizeof(m->captures[0]));
    res->names = m->names;
    res->num_names = m->num_names;
}

/* Try one candidate list in rank order, stopping at *best or at the first full match. */
static void scan(const struct tr__k3 *k, uint32_t first, uint32_t cnt,
                 const struct tr_router_request *req, const struct req_host *h, uint32_t *best,
                 struct tr_router_result *res)
{
    struct tr_router_result tmp;
    for (uint32_t i = 0; i < cnt; i++) {
        uint32_t rank = k->ranks[first + i];
        if (rank >= *best)
            return;
        if (variant_matches(k, &k->vars[rank], req, h, &tmp)) {
            *best = rank;
            take_result(res, &tmp);
            return;
        }
    }
}

bool tr__k3_match(const struct tr__k3 *k, const struct tr_router_request *req,
                  struct tr_router_result *res)
{
    if (!k->compiled || k->num_vars == 0)
        return false;
    /* Empty slices may come with a NULL pointer; give them one to compare against. */
    struct tr_router_request r = *req;
    if (r.path.ptr == NULL)
        r.path = (struct tr_str){"", 0};
    if (r.method.ptr == NULL)
        r.method = (struct tr_str){"", 0};
    req = &r;
    struct req_host h;
    h.len = 0;
    h.port = (int32_t)req->port;
    h.raw = (struct tr_str){NULL, 0};
    if (k->any_hosts) /* only routes with hosts read it */
        prepare_host(req, &h);
    uint32_t best = NO_RANK;

    if (h.len > 0 && k->hosts.cap > 0) {
        const struct bucket *b = table_find(&k->hosts, key_hash(h.buf, h.len), h.buf, h.len);
        if (b)
            scan(k, b->first, b->cnt, req, &h, &best, res);
    }
    /* Each distinct key length that fits: one probe, the hash carried along the path. */
    uint64_t hash = TR_HASH_SEED;
    size_t hashed = 0;
    for (size_t i = 0; i < k->num_path_lens && k->path_lens[i] <= req->path.len; i++) {
        size_t len = k->path_lens[i];
        hash = tr_hash_update(hash, req->path.ptr + hashed, len - hashed);
        hashed = len;
        const struct bucket *b = table_find(&k->paths, tr_hash_final(hash), req->path.ptr, len);
        if (b)
            scan(k, b->first, b->cnt, req, &h, &best, res);
    }
    scan(k, k->rest_first, k->rest_cnt, req, &h, &best, res);
    return best != NO_RANK;
}

size_t tr__k3_count(const struct tr__k3 *k)
{
    return k->routes.cnt;
}

void tr__k3_free(struct tr__k3 *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->routes.cnt; i++) {
        tr__k3_route_free(k->routes.items[i]);
        free(k->routes.items[i]);
    }
    tr_vector_free(&k->routes);
    free(k->vars);
    free(k->ranks);
    free(k->hosts.slots);
    free(k->paths.slots);
    free(k->path_lens);
    pcre2_match_context_free(k->mctx);
    free(k);
}
