/* SPDX-License-Identifier: MIT */
/* Kong 3 routes as the router keeps them: validation of a route spec with Kong's messages,
 * owned copies in the form matching compares, regexes compiled once (PCRE2, JIT when
 * available), and Kong 3.9's traditional_compatible priority (kong/router/transform.lua,
 * get_priority). Indexing and matching are kong3.c's. */
#include "router/kong3.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pcre2.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/str.h"
#include "router/regex_cache.h"

/* RFC 1035 §2.3.4 bounds a name; Kong's schema rejects longer hosts too. */
#define HOST_MAX 255
/* transform.lua: MAX_HEADER_COUNT, the header count is capped when sorting. */
#define HEADERS_MAX 255

static int fail(char *err, size_t err_cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_cap, const char *fmt, ...)
{
    if (err && err_cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_cap, fmt, ap);
        va_end(ap);
    }
    return TR_EINVAL;
}

static char *dup_lower(const char *s, size_t len)
{
    char *out = tr_xmalloc(len + 1);
    for (size_t i = 0; i < len; i++)
        out[i] = tr_ascii_lower(s[i]);
    out[len] = '\0';
    return out;
}

/* A decimal port 0..65535 (Kong's typedefs.port). */
static bool parse_port(const char *s, size_t len, int32_t *port)
{
    if (len == 0 || len > 5)
        return false;
    int32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v > 65535)
        return false;
    *port = v;
    return true;
}

/* "host[:port]", "[v6]:port", "*.a.com[:port]", "a.*[:port]" (transform.lua split_host_port
 * and the wildcard ops; kong/db/schema/typedefs.lua validate_wildcard_host for the messages). */
static int parse_host(const char *field, const char *in, bool allow_port, struct tr__k3_host *h,
                      char *err, size_t err_cap)
{
    size_t len = in ? strlen(in) : 0;
    size_t host_len = len;
    h->port = -1;
    if (len == 0)
        return fail(err, err_cap, "%s: empty value", field);
    if (in[0] == '[') {
        const char *close = memchr(in, ']', len);
        if (close == NULL)
            return fail(err, err_cap, "%s: invalid value: '%s'", field, in);
        host_len = (size_t)(close - in) + 1;
        if (host_len < len && in[host_len] != ':')
            return fail(err, err_cap, "%s: invalid value: '%s'", field, in);
    } else {
        const char *colon = strchr(in, ':');
        if (colon && strchr(colon + 1, ':') == NULL)
            host_len = (size_t)(colon - in);
    }
    if (host_len < len) {
        if (!allow_port)
            return fail(err, err_cap, "%s: must not have a port: '%s'", field, in);
        if (!parse_port(in + host_len + 1, len - host_len - 1, &h->port))
            return fail(err, err_cap, "%s: invalid port number: '%s'", field, in);
    }
    if (host_len == 0 || host_len > HOST_MAX)
        return fail(err, err_cap, "%s: invalid value: '%s'", field, in);

    size_t stars = 0;
    for (size_t i = 0; i < host_len; i++)
        stars += in[i] == '*';
    const char *name = in;
    size_t name_len = host_len;
    h->kind = TR__K3_EXACT;
    if (stars > 1)
        return fail(err, err_cap, "%s: invalid wildcard: only one wildcard must be specified",
                    field);
    if (stars == 1) {
        if (host_len < 2)
            return fail(err, err_cap, "%s: invalid wildcard: '%s'", field, in);
        if (in[0] == '*') {
            h->kind = TR__K3_ENDS;
            name++;
            name_len--;
        } else if (in[host_len - 1] == '*') {
            h->kind = TR__K3_STARTS;
            name_len--;
        } else {
            return fail(err, err_cap,
                        "%s: invalid wildcard: wildcard must be leftmost or rightmost character",
                        field);
        }
    } else if (!allow_port && name_len > 1 && name[name_len - 1] == '.') {
        name_len--; /* transform.lua sni_val_transform: the last dot of an FQDN is not routed */
    }
    h->name = dup_lower(name, name_len);
    h->len = (uint32_t)name_len;
    return 0;
}

/* The bytes every match of an anchored regex starts with: the run of plain characters before
 * the first metacharacter, less its last one when a quantifier that may drop it follows. Any
 * '|' gives none, because Kong anchors only the first alternative ("^" + regex). */
static uint32_t literal_prefix(const char *re, size_t len)
{
    if (memchr(re, '|', len))
        return 0;
    size_t i = 0;
    while (i < len && strchr("\\^$.|?*+()[]{}", re[i]) == NULL)
        i++;
    if (i > 0 && i < len && (re[i] == '?' || re[i] == '*' || re[i] == '{'))
        i--;
    return (uint32_t)i;
}

/* Compile pattern, or take the code compiled for an earlier router (regex_cache.c): *ref gets
 * the reference, the pcre2_code is returned. On failure the message quotes shown (the regex as
 * the user wrote it), in the words of typedefs.lua validate_path_with_regexes. */
static void *compile_regex(const char *field, const char *pattern, size_t len, const char *shown,
                           uint32_t options, struct tr__re **ref, char *err, size_t err_cap)
{
    int code = 0;
    size_t offset = 0;
    void *re = NULL;
    *ref = tr__re_get(pattern, len, options, &re, &code, &offset);
    if (*ref == NULL) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof(msg));
        fail(err, err_cap,
             "%s: invalid regex: '%s' (PCRE returned: pcre2_compile() failed: %s in \"%s\")", field,
             shown, (const char *)msg, shown);
        return NULL;
    }
    return re;
}

static void take_names(struct tr__k3_path *p)
{
    uint32_t count = 0, entry_size = 0;
    PCRE2_SPTR table = NULL;
    pcre2_pattern_info(p->re, PCRE2_INFO_NAMECOUNT, &count);
    if (count == 0)
        return;
    pcre2_pattern_info(p->re, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
    pcre2_pattern_info(p->re, PCRE2_INFO_NAMETABLE, &table);
    p->names = tr_xcalloc(count, sizeof(*p->names));
    p->num_names = count;
    for (uint32_t i = 0; i < count; i++) {
        const unsigned char *e = table + (size_t)i * entry_size;
        /* Each entry: the group number in two bytes, big-endian, then the NUL-ended name. */
        p->names[i].group = ((uint32_t)e[0] << 8) | e[1];
        p->names[i].name = (const char *)e + 2;
    }
}

/* kong/db/schema/typedefs.lua validate_path_with_regexes: "/..." is a plain prefix, "~/..." a
 * regex matched from the start of the path (transform.lua path_val_transform adds "^"). */
static int parse_path(const char *in, struct tr__k3_path *p, char *err, size_t err_cap)
{
    size_t len = in ? strlen(in) : 0;
    bool is_regex = len > 0 && in[0] == '~';
    if (len == 0 || (!is_regex && in[0] != '/') || (is_regex && (len < 2 || in[1] != '/')))
        return fail(err, err_cap, "paths: should start with: / (fixed path) or ~/ (regex path)");
    if (len > UINT32_MAX / 2)
        return fail(err, err_cap, "paths: too long");
    if (!is_regex) {
        p->str = tr_str_dup((struct tr_str){in, len});
        p->len = (uint32_t)len;
        return 0;
    }
    const char *src = in + 1;
    size_t src_len = len - 1;
    char *anchored = tr_xmalloc(src_len + 2);
    anchored[0] = '^';
    memcpy(anchored + 1, src, src_len);
    anchored[src_len + 1] = '\0';
    p->re = compile_regex("paths", anchored, src_len + 1, src, 0, &p->re_ref, err, err_cap);
    free(anchored);
    if (p->re == NULL)
        return TR_EINVAL;
    p->str = tr_str_dup((struct tr_str){src, src_len});
    p->len = (uint32_t)src_len;
    p->lit_len = literal_prefix(src, src_len);
    uint32_t groups = 0;
    pcre2_pattern_info(p->re, PCRE2_INFO_CAPTURECOUNT, &groups);
    p->num_groups = groups + 1 < TR_ROUTER_MAX_CAPTURES ? groups + 1 : TR_ROUTER_MAX_CAPTURES;
    take_names(p);
    return 0;
}

/* transform.lua get_expression: every value of a key is compared lower-cased, or, written
 * "~*re", is a regex over the lower-cased value (here: a case-insensitive regex). */
static int parse_header(const struct tr_route_header *in, struct tr__k3_header *h, char *err,
                        size_t err_cap)
{
    size_t len = in->name ? strlen(in->name) : 0;
    if (len == 0)
        return fail(err, err_cap, "headers: empty header name");
    if (len == 4 && strncasecmp(in->name, "host", 4) == 0)
        return fail(err, err_cap,
                    "headers: cannot contain 'host' header, which must be specified in the "
                    "'hosts' attribute");
    if (in->num_values == 0 || in->num_values > UINT32_MAX)
        return fail(err, err_cap, "headers: '%s' has no value", in->name);
    h->name = dup_lower(in->name, len);
    for (size_t i = 0; i < len; i++)
        if (h->name[i] == '_')
            h->name[i] = '-';
    h->len = (uint32_t)len;
    h->values = tr_xcalloc(in->num_values, sizeof(*h->values));
    for (size_t i = 0; i < in->num_values; i++) {
        const char *v = in->values[i] ? in->values[i] : "";
        size_t vlen = strlen(v);
        struct tr__k3_value *out = &h->values[h->num_values++];
        if (vlen >= 2 && v[0] == '~' && v[1] == '*') {
            out->re = compile_regex("headers", v + 2, vlen - 2, v + 2, PCRE2_CASELESS, &out->re_ref,
                                    err, err_cap);
            if (out->re == NULL)
                return TR_EINVAL;
            out->str = tr_str_dup((struct tr_str){v + 2, vlen - 2});
            out->len = (uint32_t)(vlen - 2);
        } else {
            out->str = dup_lower(v, vlen);
            out->len = (uint32_t)vlen;
        }
    }
    return 0;
}

static int parse_hosts(const char *field, const char *const *in, size_t num, bool allow_port,
                       struct tr__k3_host **out, uint32_t *num_out, char *err, size_t err_cap)
{
    if (num == 0)
        return 0;
    *out = tr_xcalloc(num, sizeof(**out));
    for (size_t i = 0; i < num; i++) {
        int rc = parse_host(field, in[i], allow_port, &(*out)[i], err, err_cap);
        if (rc != 0)
            return rc;
        (*num_out)++;
    }
    return 0;
}

/* Group the paths as Kong splits a route (transform.lua split_routes_and_services_by_path):
 * all regexes, then one group per plain length, longest first; order within a group kept. */
static void group_paths(struct tr__k3_path *p, size_t num)
{
    for (size_t i = 1; i < num; i++) {
        struct tr__k3_path cur = p[i];
        size_t j = i;
        while (j > 0) {
            const struct tr__k3_path *prev = &p[j - 1];
            bool before = cur.re ? prev->re == NULL : (prev->re == NULL && cur.len > prev->len);
            if (!before)
                break;
            p[j] = p[j - 1];
            j--;
        }
        p[j] = cur;
    }
}

static int parse_route(struct tr__k3_route *rt, const struct tr_route_spec *spec, char *err,
                       size_t err_cap)
{
    unsigned protocols =
        spec->protocols ? spec->protocols : (TR_ROUTER_PROTO_HTTP | TR_ROUTER_PROTO_HTTPS);
    if (protocols & ~(TR_ROUTER_PROTO_HTTP | TR_ROUTER_PROTO_HTTPS))
        return fail(err, err_cap, "protocols: expected http and/or https");
    rt->protocols = protocols;
    bool https = protocols & TR_ROUTER_PROTO_HTTPS;

    if (spec->num_snis > 0 && !https)
        return fail(err, err_cap,
                    "snis: 'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or "
                    "'tls_passthrough'");
    /* kong/db/schema/entities/routes.lua: the entity checks on the http protocols. */
    if (spec->num_methods == 0 && spec->num_hosts == 0 && spec->num_headers == 0 &&
        spec->num_paths == 0 && (!https || spec->num_snis == 0)) {
        if (https)
            return fail(err, err_cap,
                        "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when "
                        "'protocols' is 'https'");
        return fail(err, err_cap,
                    "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is "
                    "'http'");
    }
    if (spec->num_methods > UINT32_MAX || spec->num_hosts > UINT32_MAX ||
        spec->num_paths > UINT32_MAX || spec->num_headers > UINT32_MAX ||
        spec->num_snis > UINT32_MAX)
        return fail(err, err_cap, "too many values");

    if (spec->num_methods > 0) {
        rt->methods = tr_xcalloc(spec->num_methods, sizeof(*rt->methods));
        for (size_t i = 0; i < spec->num_methods; i++) {
            const char *m = spec->methods[i];
            if (m == NULL || m[0] == '\0')
                return fail(err, err_cap, "methods: empty value");
            rt->methods[rt->num_methods++] = tr_xstrdup(m);
        }
    }
    int rc = parse_hosts("hosts", spec->hosts, spec->num_hosts, true, &rt->hosts, &rt->num_hosts,
                         err, err_cap);
    if (rc == 0)
        rc = parse_hosts("snis", spec->snis, spec->num_snis, false, &rt->snis, &rt->num_snis, err,
                         err_cap);
    if (rc != 0)
        return rc;
    if (spec->num_paths > 0) {
        rt->paths = tr_xcalloc(spec->num_paths, sizeof(*rt->paths));
        for (size_t i = 0; i < spec->num_paths; i++) {
            rc = parse_path(spec->paths[i], &rt->paths[rt->num_paths], err, err_cap);
            if (rc != 0) {
                free(rt->paths[rt->num_paths].str);
                return rc;
            }
            rt->num_paths++;
        }
        group_paths(rt->paths, rt->num_paths);
    }
    if (spec->num_headers > 0) {
        rt->headers = tr_xcalloc(spec->num_headers, sizeof(*rt->headers));
        for (size_t i = 0; i < spec->num_headers; i++) {
            rc = parse_header(&spec->headers[i], &rt->headers[i], err, err_cap);
            rt->num_headers = (uint32_t)i + 1; /* freed by the caller even when half built */
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

int tr__k3_route_init(struct tr__k3_route *rt, const struct tr_route_spec *spec, void *route,
                      char *err, size_t err_cap)
{
    memset(rt, 0, sizeof(*rt));
    rt->route = route;
    rt->regex_priority = spec->regex_priority;
    rt->created_at = spec->created_at;
    if (err && err_cap > 0)
        err[0] = '\0';
    int rc = parse_route(rt, spec, err, err_cap);
    if (rc != 0)
        tr__k3_route_free(rt);
    return rc;
}

void tr__k3_route_free(struct tr__k3_route *rt)
{
    for (uint32_t i = 0; i < rt->num_methods; i++)
        free(rt->methods[i]);
    free(rt->methods);
    for (uint32_t i = 0; i < rt->num_hosts; i++)
        free(rt->hosts[i].name);
    free(rt->hosts);
    for (uint32_t i = 0; i < rt->num_snis; i++)
        free(rt->snis[i].name);
    free(rt->snis);
    for (uint32_t i = 0; i < rt->num_paths; i++) {
        free(rt->paths[i].str);
        free(rt->paths[i].names);
        tr__re_put(rt->paths[i].re_ref);
    }
    free(rt->paths);
    for (uint32_t i = 0; i < rt->num_headers; i++) {
        struct tr__k3_header *h = &rt->headers[i];
        for (uint32_t j = 0; j < h->num_values; j++) {
            free(h->values[j].str);
            tr__re_put(h->values[j].re_ref);
        }
        free(h->values);
        free(h->name);
    }
    free(rt->headers);
    memset(rt, 0, sizeof(*rt));
}

/* transform.lua get_priority, field by field instead of packed into 64 bits. */
static void set_priority(const struct tr__k3_route *rt, struct tr__k3_variant *v)
{
    v->weight = (uint8_t)((rt->num_methods > 0) + (rt->num_hosts > 0) + (rt->num_headers > 0) +
                          (rt->num_snis > 0) + (rt->num_paths > 0));
    v->plain_hosts = rt->num_hosts > 0;
    for (uint32_t i = 0; i < rt->num_hosts; i++)
        if (rt->hosts[i].kind != TR__K3_EXACT)
            v->plain_hosts = false;
    v->num_headers = (uint16_t)(rt->num_headers > HEADERS_MAX ? HEADERS_MAX : rt->num_headers);
    v->is_regex = v->num_paths > 0 && rt->paths[v->path_first].re != NULL;
    v->regex_priority = v->is_regex ? rt->regex_priority : 0;
    v->plain_len = v->num_paths > 0 && !v->is_regex ? rt->paths[v->path_first].len & 0x7FFFF : 0;
    v->category = (uint8_t)((rt->num_hosts > 0 ? 0x40 : 0) | (rt->num_headers > 0 ? 0x20 : 0) |
                            (rt->num_paths > 0 ? 0x10 : 0) | (rt->num_methods > 0 ? 0x08 : 0) |
                            (rt->num_snis > 0 ? 0x04 : 0));
    for (uint32_t i = 0; i < rt->num_hosts; i++)
        if (rt->hosts[i].port >= 0) {
            v->host_port = true;
            v->wild_port = v->wild_port || rt->hosts[i].kind != TR__K3_EXACT;
        }
}

size_t tr__k3_route_variants(const struct tr__k3_route *rt, struct tr__k3_variant *out,
                             size_t out_cap)
{
    size_t n = 0;
    uint32_t i = 0;
    do {
        uint32_t first = i;
        while (i < rt->num_paths) {
            const struct tr__k3_path *p = &rt->paths[i], *f = &rt->paths[first];
            if (i > first && (p->re != NULL) != (f->re != NULL))
                break;
            if (i > first && p->re == NULL && p->len != f->len)
                break;
            i++;
        }
        if (n == out_cap)
            break;
        out[n] = (struct tr__k3_variant){.rt = rt, .path_first = first, .num_paths = i - first};
        set_priority(rt, &out[n]);
        n++;
    } while (i < rt->num_paths);
    return n;
}

#define CMP_DESC(a, b)                                                                             \
    if ((a) != (b))                                                                                \
        return (a) > (b) ? -1 : 1;
#define CMP_ASC(a, b)                                                                              \
    if ((a) != (b))                                                                                \
        return (a) < (b) ? -1 : 1;

int tr__k3_variant_cmp(const struct tr__k3_variant *a, const struct tr__k3_variant *b)
{
    CMP_DESC(a->weight, b->weight);
    CMP_DESC(a->plain_hosts, b->plain_hosts);
    CMP_DESC(a->num_headers, b->num_headers);
    CMP_DESC(a->is_regex, b->is_regex);
    CMP_DESC(a->regex_priority, b->regex_priority);
    CMP_DESC(a->plain_len, b->plain_len);
    /* Kong 3.9 leaves the rest to the order of route ids (atc-router sorts by priority, then
     * id), which is arbitrary; the traditional router's rules and then age make it stable. */
    CMP_DESC(a->category, b->category);
    CMP_DESC(a->wild_port, b->wild_port);
    CMP_DESC(a->host_port, b->host_port);
    CMP_ASC(a->rt->created_at, b->rt->created_at);
    CMP_ASC(a->rt->seq, b->rt->seq);
    CMP_ASC(a->path_first, b->path_first);
    return 0;
}
