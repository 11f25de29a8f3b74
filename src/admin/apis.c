/* SPDX-License-Identifier: MIT */
/* The /apis endpoints (Kong 0.7). Field rules live in schema/entity_apis.c; this file adds the
 * one rule that needs the node's settings (security profile P11: no upstream_url aimed at the
 * Admin API itself or at a link-local address unless allow_internal_upstreams is on). The
 * proxy repeats that check at connect time for names that resolve there. */
#include "admin/crud.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/conf.h"
#include "core/str.h"
#include "schema/entities.h"

static void find_allow(const char *key, const char *value, void *ud)
{
    if (strcmp(key, "allow_internal_upstreams") == 0) {
        struct tr_str v = tr_str_from_cstr(value);
        *(bool *)ud = tr_str_ieq_cstr(v, "on") || tr_str_ieq_cstr(v, "true");
    }
}

static bool is_link_local(const char *host)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 169 && a[1] == 254;
    if (inet_pton(AF_INET6, host, a) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, mapped, 12) == 0)
            return a[12] == 169 && a[13] == 254;
        return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
    }
    return false;
}

static bool is_loopback_or_any(const char *host)
{
    unsigned char a[16];
    if (strcmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 127 || (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0);
    if (inet_pton(AF_INET6, host, a) == 1) {
        static const unsigned char zero[15] = {0};
        return memcmp(a, zero, 15) == 0 && (a[15] == 1 || a[15] == 0);
    }
    return false;
}

/* Split "scheme://host[:port]..." into host (brackets removed) and port (scheme default). */
static bool url_host_port(const char *url, char *host, size_t host_len, unsigned *port)
{
    const char *p = strstr(url, "://");
    if (p == NULL)
        return false;
    *port = (p - url == 5) ? 443 : 80; /* "https" is the only 5-letter scheme allowed */
    p += 3;
    const char *end;
    if (*p == '[') {
        p++;
        end = strchr(p, ']');
        if (end == NULL)
            return false;
    } else {
        end = p + strcspn(p, ":/?");
    }
    size_t n = (size_t)(end - p);
    if (n == 0 || n >= host_len)
        return false;
    for (size_t i = 0; i < n; i++)
        host[i] = tr_ascii_lower(p[i]);
    host[n] = '\0';
    if (*end == ']')
        end++;
    if (*end == ':') {
        uint64_t v;
        size_t d = strspn(end + 1, "0123456789");
        if (tr_str_to_u64((struct tr_str){end + 1, d}, 65535, &v) == 0)
            *port = (unsigned)v;
    }
    return true;
}

bool tr__admin_internal_target(struct tr_admin_ctx *ctx, const char *host, unsigned port)
{
    const struct tr_conf *conf = ctx->env->conf;
    bool allow = false;
    if (conf != NULL)
        tr_conf_foreach(conf, find_allow, &allow);
    if (allow)
        return false;
    bool internal = is_link_local(host);
    for (size_t i = 0; conf != NULL && !internal && i < conf->admin_listen.cnt; i++) {
        const struct tr_listen *l = &conf->admin_listen.items[i];
        if (l->port == port && (strcmp(l->host, host) == 0 || is_loopback_or_any(host)))
            internal = true;
    }
    return internal;
}

static json_t *check_internal(struct tr_admin_ctx *ctx, const json_t *doc)
{
    const char *url = json_string_value(json_object_get(doc, "upstream_url"));
    char host[256];
    unsigned port;
    if (url == NULL || !url_host_port(url, host, sizeof(host), &port))
        return NULL;
    if (!tr__admin_internal_target(ctx, host, port))
        return NULL;
    return json_pack("{s:s}", "upstream_url",
                     "upstream_url must not point at the Admin API or a link-local address");
}

static const struct tr_admin_entity apis = {
    .store_name = "apis",
    .schema = &tr_schema_apis,
    .name_field = "name",
    .before_write = check_internal,
};

static void list(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_list(ctx, &apis, NULL);
}

static void create(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_create(ctx, &apis, NULL);
}

static void upsert(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_upsert(ctx, &apis, NULL);
}

static void get(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_get(ctx, &apis, ctx->params[0]);
}

static void patch(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_patch(ctx, &apis, ctx->params[0], NULL);
}

static void del(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_delete(ctx, &apis, ctx->params[0]);
}

const struct tr_admin_endpoint tr_admin_apis_endpoints[] = {
    {"/apis", .get = list, .post = create, .put = upsert,
     .help = "list, create, or create-or-replace (PUT with an id) APIs"},
    {"/apis/{name_or_id}", .get = get, .patch = patch, .del = del,
     .help = "read, update or delete one API by name or id"},
};
const size_t tr_admin_apis_endpoints_cnt =
    sizeof(tr_admin_apis_endpoints) / sizeof(tr_admin_apis_endpoints[0]);
