/* SPDX-License-Identifier: MIT */
/* A request to a service whose host names an upstream: the consistent-hashing key (Kong's
 * get_value_to_hash, computed once per request), the pick of an address per try, the Host and
 * TLS name that go with it (Kong's balancer_data.hostname), and the passive health reports and
 * latency of each try (docs/internals/balancer.md). Nothing here allocates outside the
 * request's arena or blocks: a pick is the balancer's lock-free read. */
#include "proxy/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balancer/balancer.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/uuid.h"
#include "http/form.h"
#include "snapshot/snapshot.h"

#define HASH_ARGS_MAX 100 /* Kong's lua_max_uri_args: query values hashed at most */

static struct tr_str arena_copy(struct tr_ctx *ctx, const char *p, size_t n)
{
    return (struct tr_str){tr_arena_strndup(&ctx->arena, p, n), n};
}

/* Every value of header name joined with ", " (nginx's $http_<name> since 1.23). */
static bool header_value(struct tr_ctx *ctx, const char *name, struct tr_str *out)
{
    struct tr_str n = tr_str_from_cstr(name), v;
    if (!tr_ctx_header(ctx, n, &v))
        return false;
    struct tr_str more;
    if (!tr_ctx_header_nth(ctx, n, 1, &more)) {
        *out = v;
        return true;
    }
    size_t len = 0, cnt = 0;
    while (tr_ctx_header_nth(ctx, n, cnt, &more))
        len += more.len + 2, cnt++;
    char *buf = tr_arena_alloc(&ctx->arena, len);
    size_t at = 0;
    for (size_t i = 0; i < cnt && tr_ctx_header_nth(ctx, n, i, &more); i++) {
        if (i)
            buf[at++] = ',', buf[at++] = ' ';
        memcpy(buf + at, more.ptr, more.len);
        at += more.len;
    }
    *out = (struct tr_str){buf, at};
    return true;
}

/* The cookie name from any Cookie header (nginx's $cookie_<name>). */
static bool cookie_value(struct tr_ctx *ctx, const char *name, struct tr_str *out)
{
    size_t nl = strlen(name);
    struct tr_str h;
    for (size_t i = 0; tr_ctx_header_nth(ctx, TR_STR_LIT("Cookie"), i, &h); i++) {
        size_t at = 0;
        while (at < h.len) {
            while (at < h.len && (h.ptr[at] == ' ' || h.ptr[at] == '\t' || h.ptr[at] == ';'))
                at++;
            size_t end = at;
            while (end < h.len && h.ptr[end] != ';')
                end++;
            if (end - at > nl && memcmp(h.ptr + at, name, nl) == 0 && h.ptr[at + nl] == '=') {
                *out = (struct tr_str){h.ptr + at + nl + 1, end - at - nl - 1};
                return true;
            }
            at = end;
        }
    }
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    const struct tr_str *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->ptr, y->ptr, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Query argument name decoded; several values sorted and joined with "," (Kong's
 * get_query_arg); an argument without '=' is "true". */
static bool query_value(struct tr_ctx *ctx, const char *name, struct tr_str *out)
{
    struct tr_str raw = tr_ctx_raw_query(ctx), k, v;
    struct tr_str vals[HASH_ARGS_MAX];
    size_t n = 0, len = 0;
    for (size_t seen = 0; n < HASH_ARGS_MAX && seen < HASH_ARGS_MAX && tr_form_next(&raw, &k, &v);
         seen++) {
        if (k.len == 0 || !tr_form_key_eq(k, tr_str_from_cstr(name)))
            continue;
        if (v.ptr == k.ptr + k.len) { /* no '=' */
            vals[n] = TR_STR_LIT("true");
        } else {
            char *d = tr_arena_alloc(&ctx->arena, v.len + 1);
            vals[n] = (struct tr_str){d, tr_form_decode(v, d)};
        }
        len += vals[n++].len + 1;
    }
    /* One empty value ("?a=") is no value, as Kong reads it; among several it counts. */
    if (n == 0 || (n == 1 && vals[0].len == 0))
        return false;
    if (n == 1) {
        *out = vals[0];
        return true;
    }
    qsort(vals, n, sizeof(vals[0]), cmp_str);
    char *buf = tr_arena_alloc(&ctx->arena, len);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf[at++] = ',';
        memcpy(buf + at, vals[i].ptr, vals[i].len);
        at += vals[i].len;
    }
    *out = (struct tr_str){buf, at};
    return true;
}

/* Kong sets the cookie it hashed on when the request had none: name=<uuid>; Path=<path>;
 * Same-Site=Lax; HttpOnly. */
static struct tr_str new_cookie(struct tr_exchange *ex, const struct tr_upstream *u)
{
    char id[TR_UUID_LEN + 1];
    if (tr_uuid_v4(id) != 0)
        return TR_STR_NULL;
    const char *name = u->hash[0].on == TR_HASH_COOKIE ? u->hash[0].name : u->hash[1].name;
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s=%s; Path=%s; Same-Site=Lax; HttpOnly", name, id,
                     u->cookie_path);
    if (n > 0 && (size_t)n < sizeof(line))
        tr_ctx_add_response_header(&ex->ctx, TR_STR_LIT("Set-Cookie"),
                                   (struct tr_str){line, (size_t)n});
    return arena_copy(&ex->ctx, id, TR_UUID_LEN);
}

/* One hash source's value for this request; false when it has none. */
static bool source_value(struct tr_exchange *ex, const struct tr_upstream *u,
                         const struct tr_hash_source *h, struct tr_str *out)
{
    struct tr_ctx *ctx = &ex->ctx;
    switch (h->on) {
    case TR_HASH_CONSUMER: {
        const struct tr_consumer *c = tr_ctx_consumer(ctx);
        const struct tr_credential *cr = tr_ctx_credential(ctx);
        const char *id = c ? c->id : cr ? cr->id : NULL;
        if (id)
            *out = tr_str_from_cstr(id);
        return id != NULL;
    }
    case TR_HASH_IP:
        *out = tr_str_from_cstr(tr_ctx_client_ip(ctx));
        return true;
    case TR_HASH_HEADER:
        return header_value(ctx, h->name, out);
    case TR_HASH_COOKIE:
        if (cookie_value(ctx, h->name, out))
            return true;
        *out = new_cookie(ex, u);
        return out->ptr != NULL;
    case TR_HASH_PATH:
        *out = tr_ctx_path(ctx);
        return true;
    case TR_HASH_QUERY_ARG:
        return query_value(ctx, h->name, out);
    case TR_HASH_URI_CAPTURE:
        return tr_ctx_uri_capture_named(ctx, h->name, out);
    case TR_HASH_NONE:
        break;
    }
    return false;
}

/* Kong's get_value_to_hash: hash_on, else hash_fallback, else nothing (hashed as ""). */
static void hash_key(struct tr_exchange *ex, const struct tr_upstream *u)
{
    ex->lb_key = TR_STR_NULL;
    if (u->hash[0].on == TR_HASH_NONE)
        return;
    bool found = false;
    for (size_t i = 0; i < 2 && !found && u->hash[i].on != TR_HASH_NONE; i++)
        found = source_value(ex, u, &u->hash[i], &ex->lb_key);
    if (!found)
        ex->lb_key = TR_STR_NULL;
    tr_log_debug("upstream %s: trying to get peer with value to hash: [%.*s]", u->name,
                 (int)ex->lb_key.len, ex->lb_key.ptr ? ex->lb_key.ptr : "");
}

/* Kong's balancer_data.hostname: the upstream's host_header, else the picked target's host;
 * ":port" added unless it is the scheme's default (set_host_header). */
static char *host_for(struct tr_exchange *ex, const struct tr_upstream *u,
                      const struct tr_lb_address *a)
{
    const char *name = u->host_header;
    size_t nl;
    if (name != NULL) {
        nl = strlen(name);
    } else {
        const char *colon = strrchr(a->target, ':');
        name = a->target;
        nl = colon ? (size_t)(colon - a->target) : strlen(a->target);
    }
    bool dflt = ex->service->tls ? a->port == 443 : a->port == 80;
    char buf[600];
    int n = dflt ? snprintf(buf, sizeof(buf), "%.*s", (int)nl, name)
                 : snprintf(buf, sizeof(buf), "%.*s:%u", (int)nl, name, a->port);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    return tr_arena_strndup(&ex->ctx.arena, buf, len);
}

/* The picked address's try is over: it leaves the in-flight count. */
static void release(struct tr_exchange *ex)
{
    if (ex->lb_addr == NULL)
        return;
    tr_balancer_release(ex->lb_addr);
    ex->lb_addr = NULL;
}

int tr__balance_pick(struct tr_exchange *ex)
{
    const struct tr_upstream *u = ex->service->upstream;
    release(ex);
    if (!ex->lb_keyed) {
        hash_key(ex, u);
        ex->lb_keyed = true;
    }
    ex->lb_addr = u->balancer ? tr_balancer_pick(u->balancer, ex->lb_key.ptr, ex->lb_key.len,
                                                 &ex->lb_tried, tr_clock_mono_ms())
                              : NULL;
    if (ex->lb_addr == NULL) {
        tr_log_info("upstream %s: no address to send %.*s %.*s to (every target is unhealthy, "
                    "of weight 0 or unresolved)",
                    u->name, (int)ex->method.len, ex->method.ptr, (int)ex->path.len, ex->path.ptr);
        return TR_ENOPEER;
    }
    ex->t_try_start = tr_clock_mono_us();
    char *host = host_for(ex, u, ex->lb_addr);
    bool changed = ex->lb_host == NULL || strcmp(ex->lb_host, host) != 0;
    ex->lb_host = host;
    return changed ? 1 : 0;
}

const char *tr__balance_sni(const struct tr_exchange *ex)
{
    if (ex->lb_host == NULL)
        return NULL;
    /* The Host's name without its port and brackets: an address sends no name (tls.c). */
    const char *h = ex->lb_host;
    size_t n = strlen(h);
    if (h[0] == '[') {
        const char *rb = strchr(h, ']');
        return rb ? tr_arena_strndup(&((struct tr_exchange *)ex)->ctx.arena, h + 1,
                                     (size_t)(rb - h - 1))
                  : NULL;
    }
    const char *colon = strrchr(h, ':');
    if (colon != NULL)
        n = (size_t)(colon - h);
    return tr_arena_strndup(&((struct tr_exchange *)ex)->ctx.arena, h, n);
}

void tr__balance_report(struct tr_exchange *ex, enum tr_balance_outcome outcome, unsigned status)
{
    tr__trace_try_end(ex, outcome, status);
    const struct tr_lb_address *a = ex->lb_addr;
    if (a == NULL)
        return;
    const struct tr_balancer *b = ex->service->upstream->balancer;
    bool changed = false;
    switch (outcome) {
    case TR_TRY_TCP_FAILURE:
        changed = tr_balancer_report_tcp_failure(b, a, TR_CHECK_PASSIVE);
        break;
    case TR_TRY_TIMEOUT:
        changed = tr_balancer_report_timeout(b, a, TR_CHECK_PASSIVE);
        break;
    case TR_TRY_STATUS:
        changed = tr_balancer_report_http_status(b, a, TR_CHECK_PASSIVE, status);
        break;
    }
    if (changed)
        tr_log_notice("upstream %s: %s:%u (%s) is now %s (passive check)",
                      ex->service->upstream->name, a->host, a->port, a->target,
                      tr_lb_health_name(tr_balancer_address_health(b, a)));
}

void tr__balance_done(struct tr_exchange *ex, bool answered)
{
    if (ex->lb_addr == NULL)
        return;
    if (answered && ex->t_try_start)
        tr_balancer_report_latency(ex->lb_addr, tr_clock_mono_us() - ex->t_try_start,
                                   tr_clock_mono_ms());
    release(ex);
}
