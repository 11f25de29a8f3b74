/* SPDX-License-Identifier: MIT */
/* The Admin API endpoint table and path matching: one row per path (in each entity file),
 * {param} segments captured and percent-decoded, trailing slash optional, 404 for unknown
 * paths and 405 with an Allow list for known paths with the wrong method. A new group of
 * endpoints is one more table in `tables` below. */
#include "admin/routes.h"

#include <stdlib.h>
#include <string.h>

#include "admin/crud3.h"
#include "core/mem.h"
#include "core/str.h"
#include "http/form.h"

struct table {
    const struct tr_admin_endpoint *rows;
    const size_t *cnt;
};

static const struct table tables[] = {
    {tr_admin_node_endpoints, &tr_admin_node_endpoints_cnt},
    {tr_admin_metrics_endpoints, &tr_admin_metrics_endpoints_cnt},
    {tr_admin_config_endpoints, &tr_admin_config_endpoints_cnt},
    {tr_admin_apis_endpoints, &tr_admin_apis_endpoints_cnt},
    {tr_admin_consumers_endpoints, &tr_admin_consumers_endpoints_cnt},
    {tr_admin_certificates_endpoints, &tr_admin_certificates_endpoints_cnt},
    {tr_admin_plugins_endpoints, &tr_admin_plugins_endpoints_cnt},
    {tr_admin_credentials_endpoints, &tr_admin_credentials_endpoints_cnt},
    {tr_admin_oauth2_tokens_endpoints, &tr_admin_oauth2_tokens_endpoints_cnt},
    {tr_admin_services_endpoints, &tr_admin_services_endpoints_cnt},
    {tr_admin_tags_endpoints, &tr_admin_tags_endpoints_cnt},
    {tr_admin_upstreams_endpoints, &tr_admin_upstreams_endpoints_cnt},
};

/* Allow header values indexed by a mask of GET 1, POST 2, PUT 4, PATCH 8, DELETE 16 (HEAD
 * follows GET; OPTIONS is always answered by the server). */
static const char *const allow_values[32] = {
    "OPTIONS",
    "GET, HEAD, OPTIONS",
    "POST, OPTIONS",
    "GET, HEAD, POST, OPTIONS",
    "PUT, OPTIONS",
    "GET, HEAD, PUT, OPTIONS",
    "POST, PUT, OPTIONS",
    "GET, HEAD, POST, PUT, OPTIONS",
    "PATCH, OPTIONS",
    "GET, HEAD, PATCH, OPTIONS",
    "POST, PATCH, OPTIONS",
    "GET, HEAD, POST, PATCH, OPTIONS",
    "PUT, PATCH, OPTIONS",
    "GET, HEAD, PUT, PATCH, OPTIONS",
    "POST, PUT, PATCH, OPTIONS",
    "GET, HEAD, POST, PUT, PATCH, OPTIONS",
    "DELETE, OPTIONS",
    "GET, HEAD, DELETE, OPTIONS",
    "POST, DELETE, OPTIONS",
    "GET, HEAD, POST, DELETE, OPTIONS",
    "PUT, DELETE, OPTIONS",
    "GET, HEAD, PUT, DELETE, OPTIONS",
    "POST, PUT, DELETE, OPTIONS",
    "GET, HEAD, POST, PUT, DELETE, OPTIONS",
    "PATCH, DELETE, OPTIONS",
    "GET, HEAD, PATCH, DELETE, OPTIONS",
    "POST, PATCH, DELETE, OPTIONS",
    "GET, HEAD, POST, PATCH, DELETE, OPTIONS",
    "PUT, PATCH, DELETE, OPTIONS",
    "GET, HEAD, PUT, PATCH, DELETE, OPTIONS",
    "POST, PUT, PATCH, DELETE, OPTIONS",
    "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
};

enum { M_GET = 1, M_POST = 2, M_PUT = 4, M_PATCH = 8, M_DELETE = 16 };

/* Percent-decode one path segment ('+' stays '+'). NULL when it decodes to a NUL byte or
 * holds a broken escape. */
static char *decode_segment(const char *p, size_t len)
{
    char *out = tr_xmalloc(len + 1);
    long n = tr_pct_decode_strict((struct tr_str){p, len}, out);
    if (n < 0 || memchr(out, '\0', (size_t)n)) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    return out;
}

static void free_params(char **params, size_t *cnt)
{
    for (size_t i = 0; i < *cnt; i++) {
        free(params[i]);
        params[i] = NULL;
    }
    *cnt = 0;
}

/* Match one template against the path (without its optional trailing slash). */
static bool match_one(const char *tpl, struct tr_str path, char **params, size_t *cnt)
{
    size_t t = 0, p = 0, tlen = strlen(tpl);
    *cnt = 0;
    if (tpl[0] == '/' && tpl[1] == '\0')
        return path.len == 1 && path.ptr[0] == '/';
    while (t < tlen && p < path.len) {
        if (tpl[t] != '/' || path.ptr[p] != '/')
            goto fail;
        t++;
        p++;
        size_t te = t, pe = p;
        while (te < tlen && tpl[te] != '/')
            te++;
        while (pe < path.len && path.ptr[pe] != '/')
            pe++;
        if (pe == p)
            goto fail; /* empty segment: "//" */
        if (tpl[t] == '{') {
            if (*cnt == TR_ADMIN_MAX_PARAMS)
                goto fail;
            char *v = decode_segment(path.ptr + p, pe - p);
            if (v == NULL)
                goto fail;
            params[(*cnt)++] = v;
        } else if (te - t != pe - p || memcmp(tpl + t, path.ptr + p, pe - p) != 0) {
            goto fail;
        }
        t = te;
        p = pe;
    }
    if (t == tlen && p == path.len)
        return true;
fail:
    free_params(params, cnt);
    return false;
}

const struct tr_admin_endpoint *tr_admin_route_match(struct tr_str path, char **params,
                                                     size_t *param_cnt)
{
    *param_cnt = 0;
    if (path.len == 0 || path.ptr[0] != '/')
        return NULL;
    if (path.len > 1 && path.ptr[path.len - 1] == '/')
        path.len--;
    for (size_t i = 0; i < TR_ARRAY_SIZE(tables); i++) {
        for (size_t r = 0; r < *tables[i].cnt; r++) {
            const struct tr_admin_endpoint *ep = &tables[i].rows[r];
            if (match_one(ep->path, path, params, param_cnt))
                return ep;
        }
    }
    return NULL;
}

tr_admin_handler_fn tr_admin_route_handler(const struct tr_admin_endpoint *ep, struct tr_str method)
{
    if (tr_str_eq(method, TR_STR_LIT("GET")) || tr_str_eq(method, TR_STR_LIT("HEAD")))
        return ep->get;
    if (tr_str_eq(method, TR_STR_LIT("POST")))
        return ep->post;
    if (tr_str_eq(method, TR_STR_LIT("PUT")))
        return ep->put;
    if (tr_str_eq(method, TR_STR_LIT("PATCH")))
        return ep->patch;
    if (tr_str_eq(method, TR_STR_LIT("DELETE")))
        return ep->del;
    return NULL;
}

const char *tr_admin_route_allow(const struct tr_admin_endpoint *ep)
{
    unsigned m = (ep->get ? M_GET : 0) | (ep->post ? M_POST : 0) | (ep->put ? M_PUT : 0) |
                 (ep->patch ? M_PATCH : 0) | (ep->del ? M_DELETE : 0);
    return allow_values[m];
}

void tr_admin_route_params_free(char **params, size_t *param_cnt)
{
    free_params(params, param_cnt);
}

size_t tr_admin_route_foreach(void (*cb)(const struct tr_admin_endpoint *ep, void *ud), void *ud)
{
    size_t n = 0;
    for (size_t i = 0; i < TR_ARRAY_SIZE(tables); i++) {
        for (size_t r = 0; r < *tables[i].cnt; r++, n++) {
            if (cb != NULL)
                cb(&tables[i].rows[r], ud);
        }
    }
    return n;
}
