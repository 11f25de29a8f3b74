/* SPDX-License-Identifier: MIT */
/* The Kong 0.7 router: exact hosts and both kinds of wildcard hosts in hash tables, and
 * path prefixes in a segment trie whose edges live in one hash table, so a match costs
 * O(length of host + path) whatever the number of routes. Building happens in tr_router_compile;
 * matching reads only and never allocates. Path normalization is the caller's (http/url.c). */
#include "router/router.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/mem.h"
#include "router/kong3.h"

/* RFC 1035 §2.3.4: a name is at most 255 octets; longer values cannot match any route. */
#define HOST_MAX 255
#define NO_ROUTE UINT32_MAX

/* One route as registered: owned copies, already in the form the tables are keyed on. */
struct entry {
    char *host; /* lower-cased, trailing '.' dropped; NULL when none */
    size_t host_len;
    char *path; /* trailing '/'s dropped, so "/" is ""; NULL when none */
    size_t path_len;
    void *route; /* borrowed; handed back by match */
};

/* Open-addressing slot. key points into an entry's owned strings; hash 0 marks an empty slot. */
struct slot {
    uint64_t hash;
    const char *key;
    uint32_t key_len;
    uint32_t tag; /* trie: parent node; host tables: 0 */
    uint32_t val; /* trie: child node; host tables: entry index */
};

struct table {
    struct slot *slots; /* owned; NULL while empty */
    size_t cap;         /* power of two, or 0 */
};

struct tr_router {
    struct tr__k3 *k3;               /* owned; the Kong 3 routes, tried first */
    TR_VECTOR(struct entry) entries; /* owned, registration order */
    bool compiled;

    struct table exact;      /* "api.example.com" -> entry */
    struct table wild_lead;  /* "example.com" for "*.example.com" -> entry */
    struct table wild_trail; /* "example" for "example.*" -> entry */
    size_t num_exact, num_wild;

    struct table edges; /* (parent node, segment) -> child node */
    uint32_t
        *node_route; /* owned; per trie node the entry ending there, or NO_ROUTE; node 0 = "/" */
    size_t num_nodes;
};

/* The tag (parent node) and the key, through the tree's one hash. Table contents come from
 * the admin, so lookups with chosen keys cannot lengthen probe sequences much. */
static uint64_t hash_key(uint32_t tag, const char *key, size_t len)
{
    unsigned char t[4] = {tag & 0xff, (tag >> 8) & 0xff, (tag >> 16) & 0xff, tag >> 24};
    return tr_hash_final(tr_hash_update(tr_hash_update(TR_HASH_SEED, t, 4), key, len));
}

static void table_init(struct table *t, size_t num_keys)
{
    size_t cap = 8;
    while (cap < num_keys * 2)
        cap *= 2;
    t->slots = tr_xcalloc(cap, sizeof(*t->slots));
    t->cap = cap;
}

static const struct slot *table_find(const struct table *t, uint32_t tag, const char *key,
                                     size_t len)
{
    if (t->cap == 0)
        return NULL;
    uint64_t h = hash_key(tag, key, len);
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        const struct slot *s = &t->slots[i];
        if (s->hash == 0)
            return NULL;
        if (s->hash == h && s->tag == tag && s->key_len == len && memcmp(s->key, key, len) == 0)
            return s;
    }
}

/* Insert unless present (the first registration wins). Returns the slot holding the key. The
 * table was sized at init for every key, so it never fills. */
static struct slot *table_put(struct table *t, uint32_t tag, const char *key, size_t len,
                              uint32_t val)
{
    uint64_t h = hash_key(tag, key, len);
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct slot *s = &t->slots[i];
        if (s->hash == 0) {
            *s = (struct slot){h, key, (uint32_t)len, tag, val};
            return s;
        }
        if (s->hash == h && s->tag == tag && s->key_len == len && memcmp(s->key, key, len) == 0)
            return s;
    }
}

struct tr_router *tr_router_new(void)
{
    struct tr_router *r = tr_xcalloc(1, sizeof(struct tr_router));
    r->k3 = tr__k3_new();
    return r;
}

static bool is_wild_lead(const struct entry *e)
{
    return e->host_len > 2 && e->host[0] == '*' && e->host[1] == '.';
}

static bool is_wild_trail(const struct entry *e)
{
    return e->host_len > 2 && e->host[e->host_len - 1] == '*' && e->host[e->host_len - 2] == '.';
}

/* Lower-case and drop one trailing '.'; check wildcard placement (Kong 0.7: one '*', as the
 * whole first or the whole last label). */
static int copy_host(const char *host, struct entry *e)
{
    size_t len = strlen(host);
    if (len > 0 && host[len - 1] == '.')
        len--;
    if (len == 0 || len > HOST_MAX)
        return TR_EINVAL;
    e->host = tr_xmalloc(len + 1);
    size_t stars = 0;
    for (size_t i = 0; i < len; i++) {
        e->host[i] = tr_ascii_lower(host[i]);
        stars += host[i] == '*';
    }
    e->host[len] = '\0';
    e->host_len = len;
    if (stars == 0)
        return 0;
    if (stars == 1 && (is_wild_lead(e) || is_wild_trail(e)))
        return 0;
    return TR_EINVAL;
}

int tr_router_add(struct tr_router *r, const char *host, const char *path, void *route)
{
    bool has_host = host && host[0];
    bool has_path = path && path[0];
    if (r->compiled || (!has_host && !has_path))
        return TR_EINVAL;
    if (has_path && path[0] != '/')
        return TR_EINVAL;

    struct entry e = {.route = route};
    if (has_host && copy_host(host, &e) != 0) {
        free(e.host);
        return TR_EINVAL;
    }
    if (has_path) {
        size_t len = strlen(path);
        while (len > 0 && path[len - 1] == '/')
            len--;
        if (len > UINT32_MAX) {
            free(e.host);
            return TR_EINVAL;
        }
        e.path = tr_str_dup((struct tr_str){path, len});
        e.path_len = len;
    }

    *tr_vector_push(NULL, &r->entries) = e;
    return 0;
}

/* Segments of a stored path ("" or "/a/b"): the next one after *pos, or false at the end. */
static bool next_segment(const char *path, size_t len, size_t *pos, struct tr_str *seg)
{
    if (*pos >= len)
        return false;
    size_t start = *pos + 1; /* skip the '/' */
    size_t end = start;
    while (end < len && path[end] != '/')
        end++;
    *seg = (struct tr_str){path + start, end - start};
    *pos = end;
    return true;
}

static void add_path(struct tr_router *r, uint32_t idx)
{
    const struct entry *e = &r->entries.items[idx];
    uint32_t node = 0;
    size_t pos = 0;
    struct tr_str seg;
    while (next_segment(e->path, e->path_len, &pos, &seg)) {
        struct slot *s = table_put(&r->edges, node, seg.ptr, seg.len, (uint32_t)r->num_nodes);
        if (s->val == r->num_nodes)
            r->node_route[r->num_nodes++] = NO_ROUTE;
        node = s->val;
    }
    if (r->node_route[node] == NO_ROUTE)
        r->node_route[node] = idx;
}

int tr_router_compile(struct tr_router *r)
{
    if (r->compiled)
        return 0;
    tr__k3_compile(r->k3);
    size_t num_hosts = 0, num_segments = 0;
    for (size_t i = 0; i < r->entries.cnt; i++) {
        const struct entry *e = &r->entries.items[i];
        num_hosts += e->host != NULL;
        if (e->path) {
            size_t pos = 0;
            struct tr_str seg;
            while (next_segment(e->path, e->path_len, &pos, &seg))
                num_segments++;
        }
    }
    table_init(&r->exact, num_hosts);
    table_init(&r->wild_lead, num_hosts);
    table_init(&r->wild_trail, num_hosts);
    table_init(&r->edges, num_segments);
    r->node_route = tr_xmalloc((num_segments + 1) * sizeof(*r->node_route));
    r->node_route[0] = NO_ROUTE;
    r->num_nodes = 1;

    for (uint32_t i = 0; i < r->entries.cnt; i++) {
        const struct entry *e = &r->entries.items[i];
        if (e->host) {
            if (is_wild_lead(e)) {
                table_put(&r->wild_lead, 0, e->host + 2, e->host_len - 2, i);
                r->num_wild++;
            } else if (is_wild_trail(e)) {
                table_put(&r->wild_trail, 0, e->host, e->host_len - 2, i);
                r->num_wild++;
            } else {
                table_put(&r->exact, 0, e->host, e->host_len, i);
                r->num_exact++;
            }
        }
        if (e->path)
            add_path(r, i);
    }
    r->compiled = true;
    return 0;
}

/* One candidate host: strip ":port" (after ']' for IPv6), then lower-case into buf with one
 * trailing '.' dropped. *matched gets the port-stripped slice of the original value. Returns the
 * length in buf, or 0 when the value is empty or too long to match. */
static size_t prepare_host(struct tr_str h, char *buf, struct tr_str *matched)
{
    size_t len = 0;
    if (h.len > 0 && h.ptr[0] == '[') {
        const char *close = memchr(h.ptr, ']', h.len);
        len = close ? (size_t)(close - h.ptr) + 1 : h.len;
    } else {
        const char *colon = h.ptr ? memchr(h.ptr, ':', h.len) : NULL;
        len = colon ? (size_t)(colon - h.ptr) : h.len;
    }
    *matched = (struct tr_str){h.ptr, len};
    if (len > 0 && h.ptr[len - 1] == '.')
        len--;
    if (len == 0 || len > HOST_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        buf[i] = tr_ascii_lower(h.ptr[i]);
    return len;
}

/* Wildcards: "*.example.com" is ^.+\.example\.com$ and "example.*" is ^example\..+$ (Kong 0.7).
 * Every '.' with something on both sides splits the host into a candidate key for each table;
 * among all hits the earliest registered route wins, as Kong's list scan would have it. */
static uint32_t match_wildcard(const struct tr_router *r, const char *b, size_t len)
{
    uint32_t best = NO_ROUTE;
    for (size_t i = 1; i + 1 < len; i++) {
        if (b[i] != '.')
            continue;
        const struct slot *s = table_find(&r->wild_lead, 0, b + i + 1, len - i - 1);
        if (s && s->val < best)
            best = s->val;
        s = table_find(&r->wild_trail, 0, b, i);
        if (s && s->val < best)
            best = s->val;
    }
    return best;
}

bool tr_router_match(const struct tr_router *r, const struct tr_str *hosts, size_t num_hosts,
                     struct tr_str path, struct tr_router_match *m)
{
    char buf[HOST_MAX];
    struct tr_str matched;

    memset(m, 0, sizeof(*m));
    if (!r->compiled)
        return false;

    /* Host phase: an exact host for any candidate first, then the wildcards. */
    for (int pass = 0; pass < 2; pass++) {
        if ((pass == 0 && r->num_exact == 0) || (pass == 1 && r->num_wild == 0))
            continue;
        for (size_t i = 0; i < num_hosts; i++) {
            size_t len = prepare_host(hosts[i], buf, &matched);
            if (len == 0)
                continue;
            uint32_t idx = NO_ROUTE;
            if (pass == 0) {
                const struct slot *s = table_find(&r->exact, 0, buf, len);
                if (s)
                    idx = s->val;
            } else {
                idx = match_wildcard(r, buf, len);
            }
            if (idx != NO_ROUTE) {
                m->route = r->entries.items[idx].route;
                m->by_host = true;
                m->host = matched;
                return true;
            }
        }
    }

    /* Path phase: walk the trie one segment at a time, keeping the deepest route seen. A request
     * path matches a route path R when it equals R or starts with R + "/" (segment boundary). */
    uint32_t node = 0, best = r->node_route[0];
    size_t best_len = 0;
    if (path.len > 0 && path.ptr[0] == '/') {
        size_t pos = 0;
        struct tr_str seg;
        while (next_segment(path.ptr, path.len, &pos, &seg)) {
            const struct slot *s = table_find(&r->edges, node, seg.ptr, seg.len);
            if (s == NULL)
                break;
            node = s->val;
            if (r->node_route[node] != NO_ROUTE) {
                best = r->node_route[node];
                best_len = pos;
            }
        }
    }
    if (best == NO_ROUTE)
        return false;
    m->route = r->entries.items[best].route;
    m->path_prefix_len = best_len;
    return true;
}

int tr_router_add_route(struct tr_router *r, const struct tr_route_spec *spec, void *route,
                        char *err, size_t err_cap)
{
    return tr__k3_add(r->k3, spec, route, err, err_cap);
}

bool tr_router_match_request(const struct tr_router *r, const struct tr_router_request *req,
                             struct tr_router_result *res)
{
    memset(res, 0, sizeof(*res));
    if (!r->compiled)
        return false;
    /* Kong 0.13.0 kong/core/handler.lua (access phase): `router.exec(ngx)` over the routes, and
     * only when that finds nothing `api_router.exec(ngx)` over the apis. */
    if (tr__k3_match(r->k3, req, res))
        return true;
    struct tr_router_match m;
    if (!tr_router_match(r, req->hosts, req->num_hosts, req->path, &m))
        return false;
    res->route = m.route;
    res->by_host = m.by_host;
    res->host = m.host;
    res->path_end = m.path_prefix_len;
    return true;
}

size_t tr_router_route_count(const struct tr_router *r)
{
    return tr__k3_count(r->k3);
}

size_t tr_router_count(const struct tr_router *r)
{
    return r->entries.cnt;
}

void tr_router_free(struct tr_router *r)
{
    if (r == NULL)
        return;
    tr__k3_free(r->k3);
    for (size_t i = 0; i < r->entries.cnt; i++) {
        free(r->entries.items[i].host);
        free(r->entries.items[i].path);
    }
    tr_vector_free(&r->entries);
    free(r->exact.slots);
    free(r->wild_lead.slots);
    free(r->wild_trail.slots);
    free(r->edges.slots);
    free(r->node_route);
    free(r);
}
