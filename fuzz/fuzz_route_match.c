/* SPDX-License-Identifier: MIT */
/* libFuzzer entry point for the Kong 3 routes of the router. The input is lines: route lines
 * until an empty line, then request lines. A route line is space-separated tokens whose first
 * byte names the field: h host, p path, m method, s sni, H header ("name=value"), r
 * regex_priority digit, c created_at digit, t https only. Request lines: "M method", "H host",
 * "P path", "X name: value", "S sni", "T" (https). Any outcome is fine except a crash, a leak, a
 * sanitizer report, or a result that breaks an invariant: every field the returned route sets
 * matches the request (checked here by plain reference code, regexes run directly without the
 * router's prefilter), the path span and captures lie inside the path, and when some route
 * matches by that reference code, some route is returned. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>

#include "core/str.h"
#include "router/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ROUTES 8
#define MAX_VALUES 4
#define MAX_LINES 32

struct froute {
    const char *hosts[MAX_VALUES], *paths[MAX_VALUES], *methods[MAX_VALUES], *snis[MAX_VALUES];
    size_t num_hosts, num_paths, num_methods, num_snis;
    const char *hnames[MAX_VALUES], *hvalues[MAX_VALUES];
    size_t num_headers;
    pcre2_code *path_re[MAX_VALUES];  /* the reference's own compile of each "~" path */
    pcre2_code *value_re[MAX_VALUES]; /* and of each "~*" header value */
    struct tr_route_spec spec;
    struct tr_route_header headers[MAX_VALUES];
    bool added;
};

/* Every token copied NUL-terminated into one arena freed at the end. */
struct strs {
    char *buf;
    size_t len, cap;
};

static const char *keep(struct strs *s, const char *p, size_t len)
{
    if (s->len + len + 1 > s->cap)
        return NULL;
    char *out = s->buf + s->len;
    memcpy(out, p, len);
    out[len] = '\0';
    s->len += len + 1;
    return out;
}

static char lower(char c)
{
    return tr_ascii_lower(c);
}

static bool ieq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

/* Reference host check: "*.x" needs something before ".x", "x.*" something after "x.", a port
 * after ':' must equal the request's. Only simple entries are judged; others count as a match
 * (unknown) so the reference never disagrees wrongly. */
static int ref_host(const char *entry, const char *host, size_t host_len, long port)
{
    const char *colon = strchr(entry, ':');
    if (entry[0] == '[' || (colon && strchr(colon + 1, ':')))
        return -1;
    size_t len = colon ? (size_t)(colon - entry) : strlen(entry);
    if (len > 0 && entry[len - 1] == '.')
        return -1; /* SNIs drop a last '.', hosts keep it */
    if (colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (*end != '\0' || p != port)
            return 0;
    }
    if (len > 1 && entry[0] == '*')
        return host_len > len - 1 && ieq(host + host_len - (len - 1), len - 1, entry + 1, len - 1);
    if (len > 1 && entry[len - 1] == '*')
        return host_len > len - 1 && ieq(host, len - 1, entry, len - 1);
    return ieq(host, host_len, entry, len);
}

/* The reference regex check, with the router's own options: "^" + regex for paths, caseless and
 * unanchored for header values, JIT, the same backtracking limit. -1 when the limit is hit. */
static pcre2_match_context *ref_mctx;

static pcre2_code *ref_compile(const char *re, bool is_path)
{
    size_t len = strlen(re);
    char *pat = malloc(len + 2);
    if (pat == NULL)
        return NULL;
    pat[0] = '^';
    memcpy(pat + 1, re, len + 1);
    int code;
    PCRE2_SIZE off;
    pcre2_code *c = is_path ? pcre2_compile((PCRE2_SPTR)pat, len + 1, 0, &code, &off, NULL)
                            : pcre2_compile((PCRE2_SPTR)re, len, PCRE2_CASELESS, &code, &off, NULL);
    free(pat);
    if (c)
        pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    return c;
}

static int ref_regex(const pcre2_code *c, struct tr_str s)
{
    if (c == NULL)
        return -1;
    if (ref_mctx == NULL) {
        ref_mctx = pcre2_match_context_create(NULL);
        pcre2_set_match_limit(ref_mctx, 100000);
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(c, NULL);
    int rc = pcre2_match(c, (PCRE2_SPTR)(s.ptr ? s.ptr : ""), s.len, 0, 0, md, ref_mctx);
    pcre2_match_data_free(md);
    if (rc >= 0)
        return 1;
    return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

struct freq {
    struct tr_router_request req;
    struct tr_str host;
    struct tr_http_header headers[MAX_VALUES];
    const char *hostname; /* NULL: no Host, or one the reference does not judge */
    size_t hostname_len;
    bool host_unknown;
    long port;
};

/* 1: the route matches the request by the reference rules, 0: it does not, -1: unknown (a
 * regex or an entry the reference does not judge). */
static int ref_match(const struct froute *f, const struct freq *q)
{
    int unknown = 0;
    if (f->num_methods > 0) {
        bool ok = false;
        for (size_t i = 0; i < f->num_methods; i++)
            ok = ok || tr_str_eq(q->req.method, tr_str_from_cstr(f->methods[i]));
        if (!ok)
            return 0;
    }
    if (f->num_hosts > 0) {
        if (q->host_unknown)
            return -1;
        if (q->hostname == NULL)
            return 0;
        int best = 0;
        for (size_t i = 0; i < f->num_hosts; i++) {
            int m = ref_host(f->hosts[i], q->hostname, q->hostname_len, q->port);
            if (m == 1 || (m == -1 && best == 0))
                best = m;
        }
        if (best == 0)
            return 0;
        unknown |= best < 0;
    }
    if (f->num_snis > 0 && q->req.protocol == TR_ROUTER_PROTO_HTTPS) {
        if (q->req.sni.ptr == NULL)
            return 0;
        if (q->req.sni.len > 255)
            return -1;
        int best = 0;
        for (size_t i = 0; i < f->num_snis; i++) {
            int m = ref_host(f->snis[i], q->req.sni.ptr, q->req.sni.len, -2);
            if (m == 1 || (m == -1 && best == 0))
                best = m;
        }
        if (best == 0)
            return 0;
        unknown |= best < 0;
    }
    for (size_t i = 0; i < f->num_headers; i++) {
        const char *v = f->hvalues[i];
        bool is_re = v[0] == '~' && v[1] == '*';
        int ok = 0;
        size_t nlen = strlen(f->hnames[i]);
        for (size_t j = 0; j < q->req.num_headers && ok != 1; j++) {
            const struct tr_http_header *h = &q->req.headers[j];
            bool name_eq = h->name.len == nlen;
            for (size_t k = 0; name_eq && k < nlen; k++) {
                char a = lower(h->name.ptr[k]), b = lower(f->hnames[i][k]);
                name_eq = (a == '_' ? '-' : a) == (b == '_' ? '-' : b);
            }
            if (!name_eq)
                continue;
            int m = is_re ? ref_regex(f->value_re[i], h->value)
                          : ieq(h->value.ptr, h->value.len, v, strlen(v));
            if (m == 1 || (m == -1 && ok == 0))
                ok = m;
        }
        if (ok == 0)
            return 0;
        unknown |= ok < 0;
    }
    if (f->num_paths > 0) {
        int ok = 0;
        for (size_t i = 0; i < f->num_paths && ok != 1; i++) {
            const char *p = f->paths[i];
            size_t len = strlen(p);
            int m;
            if (p[0] == '~')
                m = ref_regex(f->path_re[i], q->req.path);
            else
                m = q->req.path.len >= len && memcmp(q->req.path.ptr, p, len) == 0;
            if (m == 1 || (m == -1 && ok == 0))
                ok = m;
        }
        if (ok == 0)
            return 0;
        unknown |= ok < 0;
    }
    return unknown ? -1 : 1;
}

static void parse_route(struct strs *s, struct tr_str line, struct froute *f)
{
    memset(f, 0, sizeof(*f));
    struct tr_str rest = line, tok;
    while (tr_str_next_item(&rest, ' ', &tok)) {
        if (tok.len == 0)
            continue;
        const char *v = keep(s, tok.ptr + 1, tok.len - 1);
        if (v == NULL)
            return;
        switch (tok.ptr[0]) {
        case 'h':
            if (f->num_hosts < MAX_VALUES)
                f->hosts[f->num_hosts++] = v;
            break;
        case 'p':
            if (f->num_paths < MAX_VALUES)
                f->paths[f->num_paths++] = v;
            break;
        case 'm':
            if (f->num_methods < MAX_VALUES)
                f->methods[f->num_methods++] = v;
            break;
        case 's':
            if (f->num_snis < MAX_VALUES)
                f->snis[f->num_snis++] = v;
            break;
        case 'H': {
            char *eq = strchr(v, '=');
            if (eq && f->num_headers < MAX_VALUES) {
                *eq = '\0';
                f->hnames[f->num_headers] = v;
                f->hvalues[f->num_headers++] = eq + 1;
            }
            break;
        }
        case 'r':
            f->spec.regex_priority = v[0] ? v[0] - '0' : 0;
            break;
        case 'c':
            f->spec.created_at = v[0] ? v[0] - '0' : 0;
            break;
        case 't':
            f->spec.protocols = TR_ROUTER_PROTO_HTTPS;
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; i < f->num_headers; i++) {
        f->headers[i] = (struct tr_route_header){f->hnames[i], &f->hvalues[i], 1};
        if (f->hvalues[i][0] == '~' && f->hvalues[i][1] == '*')
            f->value_re[i] = ref_compile(f->hvalues[i] + 2, false);
    }
    for (size_t i = 0; i < f->num_paths; i++)
        if (f->paths[i][0] == '~')
            f->path_re[i] = ref_compile(f->paths[i] + 1, true);
    f->spec.methods = f->methods;
    f->spec.num_methods = f->num_methods;
    f->spec.hosts = f->hosts;
    f->spec.num_hosts = f->num_hosts;
    f->spec.paths = f->paths;
    f->spec.num_paths = f->num_paths;
    f->spec.headers = f->headers;
    f->spec.num_headers = f->num_headers;
    f->spec.snis = f->snis;
    f->spec.num_snis = f->num_snis;
}

static void parse_request(struct tr_str *lines, size_t num, struct freq *q)
{
    memset(q, 0, sizeof(*q));
    q->req.protocol = TR_ROUTER_PROTO_HTTP;
    q->req.port = 80;
    q->req.path = TR_STR_LIT("/");
    q->req.method = TR_STR_LIT("GET");
    q->req.headers = q->headers;
    q->port = 80;
    for (size_t i = 0; i < num; i++) {
        struct tr_str l = lines[i];
        if (l.len == 0)
            continue;
        struct tr_str v = l.len > 2 ? (struct tr_str){l.ptr + 2, l.len - 2} : TR_STR_LIT("");
        switch (l.ptr[0]) {
        case 'M':
            q->req.method = v;
            break;
        case 'H':
            q->host = v;
            q->req.hosts = &q->host;
            q->req.num_hosts = 1;
            break;
        case 'P':
            q->req.path = v;
            break;
        case 'S':
            q->req.sni = v;
            break;
        case 'T':
            q->req.protocol = TR_ROUTER_PROTO_HTTPS;
            q->req.port = 443;
            q->port = 443;
            break;
        case 'X': {
            const char *colon = memchr(v.ptr, ':', v.len);
            if (colon && q->req.num_headers < MAX_VALUES) {
                size_t n = (size_t)(colon - v.ptr);
                size_t off = n + 1 < v.len && colon[1] == ' ' ? n + 2 : n + 1;
                q->headers[q->req.num_headers++] =
                    (struct tr_http_header){{v.ptr, n}, {v.ptr + off, v.len - off}};
            }
            break;
        }
        default:
            break;
        }
    }
    /* The reference view of the Host: no brackets, one ':' at most, a plain decimal port. */
    if (q->req.num_hosts == 1 && q->host.len > 0 && q->host.ptr[0] == '[')
        q->host_unknown = true;
    if (q->req.num_hosts == 1 && q->host.len > 0 && q->host.ptr[0] != '[') {
        const char *colon = memchr(q->host.ptr, ':', q->host.len);
        size_t len = colon ? (size_t)(colon - q->host.ptr) : q->host.len;
        bool simple = true;
        if (colon) {
            size_t plen = q->host.len - len - 1;
            long port = 0;
            simple = plen > 0 && plen <= 5 && memchr(colon + 1, ':', plen) == NULL;
            for (size_t i = 0; simple && i < plen; i++) {
                simple = colon[1 + i] >= '0' && colon[1 + i] <= '9';
                port = port * 10 + (colon[1 + i] - '0');
            }
            simple = simple && port <= 65535;
            if (simple)
                q->port = port;
        }
        if (simple && len > 0 && len <= 255) {
            q->hostname = q->host.ptr;
            q->hostname_len = len;
        }
        q->host_unknown = !simple;
    }
}

static void check_result(const struct froute *routes, size_t num, const struct freq *q,
                         const struct tr_router_result *res)
{
    const struct froute *f = res->route;
    if (f < routes || f >= routes + num || !f->added || !res->is_route)
        abort();
    if (ref_match(f, q) == 0)
        abort();
    const struct tr_str path = q->req.path;
    if (res->path_start > res->path_end || res->path_end > path.len)
        abort();
    if (res->num_captures > TR_ROUTER_MAX_CAPTURES || (res->num_captures > 0) != res->by_regex)
        abort();
    for (uint32_t g = 0; g < res->num_captures; g++) {
        size_t a = res->captures[2 * g], b = res->captures[2 * g + 1];
        if ((a == SIZE_MAX) != (b == SIZE_MAX) || (a != SIZE_MAX && (a > path.len || b > path.len)))
            abort();
    }
    for (size_t i = 0; i < res->num_names; i++)
        if (res->names[i].name == NULL)
            abort();
    if (!res->by_regex && f->num_paths > 0) {
        bool ok = false;
        for (size_t i = 0; i < f->num_paths; i++)
            ok = ok || (f->paths[i][0] == '/' && strlen(f->paths[i]) == res->path_end &&
                        memcmp(f->paths[i], path.ptr, res->path_end) == 0);
        if (!ok)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tr_str lines[MAX_LINES];
    size_t num = 0, start = 0;
    for (size_t i = 0; i <= size && num < MAX_LINES; i++) {
        if (i == size || data[i] == '\n') {
            lines[num++] = (struct tr_str){(const char *)data + start, i - start};
            start = i + 1;
        }
    }

    struct strs s = {malloc(size + 1 + MAX_LINES * 64), 0, size + 1 + MAX_LINES * 64};
    struct froute routes[MAX_ROUTES];
    struct tr_router *r = tr_router_new();
    size_t i = 0, num_routes = 0;
    for (; i < num && num_routes < MAX_ROUTES; i++) {
        if (lines[i].len == 0) {
            i++;
            break;
        }
        struct froute *f = &routes[num_routes++];
        parse_route(&s, lines[i], f);
        char err[256];
        f->added = tr_router_add_route(r, &f->spec, f, err, sizeof(err)) == 0;
        if (!f->added && strlen(err) == 0)
            abort(); /* a refusal always says why */
    }
    tr_router_compile(r);

    struct freq q;
    parse_request(lines + i, i < num ? num - i : 0, &q);
    struct tr_router_result res;
    bool matched = tr_router_match_request(r, &q.req, &res);
    if (matched) {
        check_result(routes, num_routes, &q, &res);
    } else {
        for (size_t k = 0; k < num_routes; k++)
            if (routes[k].added && ref_match(&routes[k], &q) == 1)
                abort();
    }
    tr_router_free(r);
    for (size_t k = 0; k < num_routes; k++) {
        for (size_t v = 0; v < MAX_VALUES; v++) {
            pcre2_code_free(routes[k].path_re[v]);
            pcre2_code_free(routes[k].value_re[v]);
        }
    }
    free(s.buf);
    return 0;
}
