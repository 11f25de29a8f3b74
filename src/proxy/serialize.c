/* SPDX-License-Identifier: MIT */
/* Kong's log serializer (kong/pdk/log.lua, kong.log.serialize) over an exchange: the JSON text
 * the logging plugins write, with Kong 3.9's field names and shapes (docs/plugins.md, "The log
 * serializer"). Written straight into one buffer, compact and with '/' escaped as Kong's cjson
 * writes it: no JSON tree per request. The route and service rows are turned into text once per
 * configuration version and worker (a small cache), not per request. Log phase only. */
#include "proxy/internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/mem.h"
#include "http/form.h"
#include "http/tls.h"
#include "http/url.h"
#include "snapshot/snapshot.h"

#define MAX_ARGS 100    /* Kong reads at most 100 query arguments (lua_max_uri_args) */
#define MAX_HEADERS 100 /* and 100 headers each way (lua_max_req_headers) */
#define OUT_MAX (16u << 20)

/* ---- JSON text ---------------------------------------------------------------------------- */

struct out {
    struct tr_buf b;
    bool failed;
};

static void raw(struct out *o, const char *p, size_t n)
{
    if (!o->failed && tr_buf_append(&o->b, p, n) != 0)
        o->failed = true;
}

static void lit(struct out *o, const char *s)
{
    raw(o, s, strlen(s));
}

static void fmt(struct out *o, const char *f, ...) __attribute__((format(printf, 2, 3)));

static void fmt(struct out *o, const char *f, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(tmp, sizeof(tmp), f, ap);
    va_end(ap);
    if (n > 0)
        raw(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A JSON string: '"', '\\' and control bytes escaped, '/' as "\/" (cjson's default); bytes that
 * are not UTF-8 become U+FFFD so the line stays valid JSON. */
static void str(struct out *o, struct tr_str s)
{
    raw(o, "\"", 1);
    size_t i = 0, run = 0;
    const unsigned char *p = (const unsigned char *)s.ptr;
    while (i < s.len) {
        unsigned char c = p[i];
        const char *esc = NULL;
        char u[8];
        size_t adv = 1;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '/')
            esc = "\\/";
        else if (c < 0x20) {
            snprintf(u, sizeof(u), "\\u%04x", c);
            esc = u;
        } else if (c >= 0x80) {
            size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
            bool ok = need > 0 && c < 0xf5 && i + need <= s.len;
            for (size_t k = 1; ok && k < need; k++)
                ok = (p[i + k] & 0xc0) == 0x80;
            if (ok) {
                i += need;
                run += need;
                continue;
            }
            esc = "\\ufffd";
        }
        if (esc == NULL) {
            i += adv;
            run += adv;
            continue;
        }
        raw(o, (const char *)p + i - run, run);
        run = 0;
        lit(o, esc);
        i += adv;
    }
    raw(o, (const char *)p + i - run, run);
    raw(o, "\"", 1);
}

static void cstr(struct out *o, const char *s)
{
    str(o, tr_str_from_cstr(s ? s : ""));
}

static void key(struct out *o, bool *first, const char *k)
{
    if (!*first)
        raw(o, ",", 1);
    *first = false;
    cstr(o, k);
    raw(o, ":", 1);
}

/* ---- name/value lists, repeated names grouped into arrays (Kong's headers and args) -------- */

struct pair {
    struct tr_str name; /* lower-cased for headers, decoded for args; in the arena */
    struct tr_str value;
    bool is_true; /* an argument without '=' */
    bool done;
};

static void pairs_out(struct out *o, struct pair *p, size_t n)
{
    bool first = true;
    raw(o, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (p[i].done)
            continue;
        size_t same = 0;
        for (size_t k = i; k < n; k++)
            same += !p[k].done && tr_str_eq(p[k].name, p[i].name);
        if (!first)
            raw(o, ",", 1);
        first = false;
        str(o, p[i].name);
        raw(o, ":", 1);
        if (same > 1)
            raw(o, "[", 1);
        bool firstv = true;
        for (size_t k = i; k < n; k++) {
            if (p[k].done || !tr_str_eq(p[k].name, p[i].name))
                continue;
            if (!firstv)
                raw(o, ",", 1);
            firstv = false;
            if (p[k].is_true)
                lit(o, "true");
            else
                str(o, p[k].value);
            p[k].done = true;
        }
        if (same > 1)
            raw(o, "]", 1);
    }
    raw(o, "}", 1);
}

static struct tr_str lower(struct tr_ctx *ctx, struct tr_str s)
{
    char *p = tr_ctx_alloc(ctx, s.len + 1);
    for (size_t i = 0; i < s.len; i++)
        p[i] = (char)tolower((unsigned char)s.ptr[i]);
    return (struct tr_str){p, s.len};
}

/* Kong's get_uri_args: decoded names and values, true for a name without '=', arrays for
 * repeated names. */
static void querystring(struct out *o, struct tr_ctx *ctx, struct tr_str q)
{
    struct pair p[MAX_ARGS];
    size_t n = 0;
    struct tr_str rest = q, k, v;
    while (n < MAX_ARGS && tr_form_next(&rest, &k, &v)) {
        char *dk = tr_ctx_alloc(ctx, k.len + 1);
        p[n].name = (struct tr_str){dk, tr_form_decode(k, dk)};
        p[n].is_true = !(k.ptr + k.len < q.ptr + q.len && k.ptr[k.len] == '=');
        char *dv = tr_ctx_alloc(ctx, v.len + 1);
        p[n].value = (struct tr_str){dv, tr_form_decode(v, dv)};
        p[n].done = false;
        n++;
    }
    pairs_out(o, p, n);
}

struct header_pairs {
    struct tr_ctx *ctx;
    struct pair *p;
    size_t n;
};

static void put_identity(void *ud, const char *name, struct tr_str value)
{
    struct header_pairs *h = ud;
    if (h->n < MAX_HEADERS)
        h->p[h->n++] = (struct pair){lower(h->ctx, tr_str_from_cstr(name)), value, false, false};
}

/* The request headers as the upstream got them: the client's, less what plugins removed or
 * replaced, plus what they set and the identity headers; Authorization and
 * Proxy-Authorization are "REDACTED", as Kong. */
static void request_headers(struct out *o, struct tr_ctx *ctx)
{
    const struct tr_exchange *ex = ctx->ex;
    struct pair p[MAX_HEADERS];
    struct header_pairs h = {ctx, p, 0};
    for (size_t i = 0; i < ex->rv.num_headers && h.n < MAX_HEADERS; i++) {
        const struct tr_http_header *hd = &ex->rv.headers[i];
        if (!tr__ctx_header_edited(ctx, hd->name))
            p[h.n++] = (struct pair){lower(ctx, hd->name), hd->value, false, false};
    }
    for (size_t i = 0; i < ctx->req_edits.cnt && h.n < MAX_HEADERS; i++) {
        const struct tr_hdr_edit *e = &ctx->req_edits.items[i];
        if (!e->remove)
            p[h.n++] = (struct pair){lower(ctx, e->name), e->value, false, false};
    }
    tr__ctx_identity_headers(ctx, put_identity, &h);
    for (size_t i = 0; i < h.n; i++) {
        if (tr_str_eq(p[i].name, TR_STR_LIT("authorization")) ||
            tr_str_eq(p[i].name, TR_STR_LIT("proxy-authorization")))
            p[i].value = TR_STR_LIT("REDACTED");
    }
    /* a redacted header sent twice is one "REDACTED", as Kong replaces the whole value */
    for (size_t i = 0; i < h.n; i++) {
        for (size_t k = i + 1; k < h.n; k++) {
            if (tr_str_eq(p[i].value, TR_STR_LIT("REDACTED")) && tr_str_eq(p[k].name, p[i].name))
                p[k].done = true;
        }
    }
    pairs_out(o, p, h.n);
}

/* The headers of the head the client got (status line skipped). */
static void response_headers(struct out *o, struct tr_ctx *ctx)
{
    const struct tr_exchange *ex = ctx->ex;
    struct pair p[MAX_HEADERS];
    size_t n = 0;
    const char *s = ex->client_head;
    const char *end = s ? s + ex->head_bytes_sent : NULL;
    const char *eol = s ? memchr(s, '\n', (size_t)(end - s)) : NULL;
    while (eol != NULL && n < MAX_HEADERS) {
        s = eol + 1;
        eol = memchr(s, '\n', (size_t)(end - s));
        if (eol == NULL)
            break;
        const char *line_end = eol > s && eol[-1] == '\r' ? eol - 1 : eol;
        const char *colon = memchr(s, ':', (size_t)(line_end - s));
        if (line_end == s || colon == NULL)
            break; /* the blank line ends the head */
        p[n++] = (struct pair){
            lower(ctx, (struct tr_str){s, (size_t)(colon - s)}),
            tr_str_trim((struct tr_str){colon + 1, (size_t)(line_end - colon - 1)}), false, false};
    }
    pairs_out(o, p, n);
}

/* ---- the route and service rows, as text once per version ---------------------------------- */

/* A stored Kong 3 row as Kong's serializer shows it: foreign keys as {"id": ...} records, and
 * the fields that are null left out (Lua tables hold no nil); '/' escaped. */
static char *entity_text(const json_t *doc, const char *fk, const char *as)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)doc, k, v)
    {
        if (json_is_null(v))
            continue;
        if (strcmp(k, fk) == 0)
            json_object_set_new(out, as, json_pack("{s:O}", "id", v));
        else
            json_object_set(out, k, v);
    }
    char *text = json_dumps(out, JSON_COMPACT | JSON_ESCAPE_SLASH | JSON_REAL_PRECISION(14));
    json_decref(out);
    return text;
}

#define ENTITY_SLOTS 64

struct entity_slot {
    uint64_t version;
    const json_t *doc;
    char *text; /* owned */
};

struct tr_entity_cache {
    struct entity_slot slots[ENTITY_SLOTS];
};

static const char *cached_entity(struct tr_exchange *ex, const json_t *doc, const char *fk,
                                 const char *as)
{
    struct tr_proxy_worker *w = ex->w;
    if (w->entity_cache == NULL)
        w->entity_cache = tr_xcalloc(1, sizeof(*w->entity_cache));
    struct entity_slot *s = &w->entity_cache->slots[((uintptr_t)doc >> 4) % ENTITY_SLOTS];
    uint64_t version = ex->hold->snap->version;
    if (s->text == NULL || s->doc != doc || s->version != version) {
        free(s->text);
        s->text = entity_text(doc, fk, as);
        s->doc = doc;
        s->version = version;
    }
    return s->text;
}

void tr__serialize_cache_free(struct tr_entity_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < ENTITY_SLOTS; i++)
        free(c->slots[i].text);
    free(c);
}

/* ---- the object --------------------------------------------------------------------------- */

static void request_object(struct out *o, struct tr_ctx *ctx, const struct tr_ctx_log_facts *f)
{
    struct tr_exchange *ex = ctx->ex;
    const struct tr_client *c = ex->c;
    bool first = true;
    raw(o, "{", 1);
    key(o, &first, "id");
    cstr(o, tr__ctx_request_id(ctx));
    key(o, &first, "uri");
    str(o, ex->path);
    /* Kong's url: scheme://$host:$server_port$request_uri ($host lower-case, without port) */
    struct tr_str host = lower(ctx, tr_url_host_without_port(ex->host));
    size_t cap = host.len + ex->path.len + 64;
    char *url = tr_ctx_alloc(ctx, cap);
    int n = snprintf(url, cap, "%s://%.*s:%u%.*s", tr_ctx_scheme(ctx), (int)host.len, host.ptr,
                     c ? (unsigned)c->local_port : 0, (int)ex->path.len, ex->path.ptr);
    key(o, &first, "url");
    str(o, (struct tr_str){url, n > 0 ? (size_t)n : 0});
    key(o, &first, "querystring");
    querystring(o, ctx, ex->rv.query);
    key(o, &first, "method");
    str(o, ex->method);
    key(o, &first, "headers");
    request_headers(o, ctx);
    key(o, &first, "size");
    fmt(o, "%llu", (unsigned long long)f->request_size);
    if (c != NULL && c->sock.tls != NULL) {
        key(o, &first, "tls");
        lit(o, "{\"version\":");
        cstr(o, tr_tls_conn_version(c->sock.tls));
        lit(o, ",\"cipher\":");
        cstr(o, tr_tls_conn_cipher(c->sock.tls));
        lit(o, ",\"client_verify\":\"NONE\"}");
    }
    raw(o, "}", 1);
}

/* The target of the request line sent upstream (empty when nothing went upstream). */
static struct tr_str upstream_target(const struct tr_exchange *ex)
{
    if (ex->up_head == NULL || ex->t_upstream_start == 0)
        return TR_STR_LIT("");
    const char *sp = memchr(ex->up_head, ' ', ex->up_head_len);
    const char *end = ex->up_head + ex->up_head_len;
    const char *sp2 = sp ? memchr(sp + 1, ' ', (size_t)(end - sp - 1)) : NULL;
    if (sp2 == NULL)
        return TR_STR_LIT("");
    return (struct tr_str){sp + 1, (size_t)(sp2 - sp - 1)};
}

/* The last try (torii keeps its address; earlier tries of a retry are not kept). */
static void tries(struct out *o, const struct tr_exchange *ex, uint64_t now_us, uint64_t now_ms)
{
    const char *colon = strrchr(ex->upstream_addr, ':');
    if (ex->t_upstream_start == 0 || colon == NULL) {
        lit(o, "[]");
        return;
    }
    struct tr_str ip = {ex->upstream_addr, (size_t)(colon - ex->upstream_addr)};
    if (ip.len >= 2 && ip.ptr[0] == '[')
        ip = (struct tr_str){ip.ptr + 1, ip.len - 2};
    uint64_t start = ex->t_try_start ? ex->t_try_start : ex->t_upstream_start;
    uint64_t ago_ms = now_us > start ? (now_us - start) / 1000 : 0;
    fmt(o, "[{\"balancer_start\":%llu,\"ip\":", (unsigned long long)(now_ms - ago_ms));
    str(o, ip);
    fmt(o, ",\"port\":%ld,\"balancer_latency\":0}]", strtol(colon + 1, NULL, 10));
}

/* A field set by tr_ctx_set_serialize_value replaces the serializer's own (null: leaves it
 * out); true when it did. */
static bool overridden(struct tr_ctx *ctx, const char *k)
{
    return ctx->serialize_values != NULL && json_object_get(ctx->serialize_values, k) != NULL;
}

static bool field(struct out *o, struct tr_ctx *ctx, bool *first, const char *k)
{
    if (overridden(ctx, k))
        return false;
    key(o, first, k);
    return true;
}

char *tr_ctx_log_serialize(struct tr_ctx *ctx, size_t *len)
{
    struct tr_exchange *ex = ctx->ex;
    struct tr_ctx_log_facts f;
    tr_ctx_log_facts(ctx, &f);
    uint64_t now_us = tr_clock_mono_us(), now_ms = tr_clock_wall_ms();
    struct out o = {.failed = false};
    tr_buf_init(&o.b, OUT_MAX);
    bool first = true;
    raw(&o, "{", 1);
    if (field(&o, ctx, &first, "request"))
        request_object(&o, ctx, &f);
    if (field(&o, ctx, &first, "upstream_uri"))
        str(&o, upstream_target(ex));
    if (field(&o, ctx, &first, "upstream_status")) {
        if (ex->proxied)
            fmt(&o, "\"%d\"", ex->status);
        else
            lit(&o, "\"\"");
    }
    if (field(&o, ctx, &first, "response")) {
        fmt(&o, "{\"status\":%d,\"size\":%llu,\"headers\":", f.status,
            (unsigned long long)f.response_size);
        response_headers(&o, ctx);
        raw(&o, "}", 1);
    }
    if (field(&o, ctx, &first, "latencies")) {
        long long receive = ex->t_upstream_head && now_us > ex->t_upstream_head
                                ? (long long)((now_us - ex->t_upstream_head) / 1000)
                                : 0;
        fmt(&o, "{\"kong\":%lld,\"proxy\":%lld,", (long long)f.kong_ms, (long long)f.upstream_ms);
        fmt(&o, "\"request\":%lld,\"receive\":%lld}", (long long)f.request_ms, receive);
    }
    if (ex->route != NULL && field(&o, ctx, &first, "tries"))
        tries(&o, ex, now_us, now_ms);
    const struct tr_credential *cred = ctx->credential;
    if (cred != NULL && field(&o, ctx, &first, "authenticated_entity")) {
        lit(&o, "{\"id\":");
        cstr(&o, cred->id);
        if (cred->consumer != NULL) {
            lit(&o, ",\"consumer_id\":");
            cstr(&o, cred->consumer->id);
        }
        raw(&o, "}", 1);
    }
    if (ex->route != NULL && ex->route->doc != NULL && field(&o, ctx, &first, "route")) {
        const char *t = cached_entity(ex, ex->route->doc, "service_id", "service");
        lit(&o, t ? t : "{}");
    } else if (ex->route != NULL && ex->route->api_id != NULL && field(&o, ctx, &first, "api")) {
        lit(&o, "{\"id\":");
        cstr(&o, ex->route->api_id);
        if (ex->route->api_name) {
            lit(&o, ",\"name\":");
            cstr(&o, ex->route->api_name);
        }
        raw(&o, "}", 1);
    }
    if (ex->service != NULL && ex->service->doc != NULL && field(&o, ctx, &first, "service")) {
        const char *t =
            cached_entity(ex, ex->service->doc, "client_certificate_id", "client_certificate");
        lit(&o, t ? t : "{}");
    }
    const struct tr_consumer *con = ctx->consumer;
    if (con != NULL && field(&o, ctx, &first, "consumer")) {
        lit(&o, "{\"id\":");
        cstr(&o, con->id);
        if (con->username != NULL) {
            lit(&o, ",\"username\":");
            cstr(&o, con->username);
        }
        if (con->custom_id != NULL) {
            lit(&o, ",\"custom_id\":");
            cstr(&o, con->custom_id);
        }
        raw(&o, "}", 1);
    }
    if (field(&o, ctx, &first, "client_ip"))
        cstr(&o, ex->client_ip);
    if (field(&o, ctx, &first, "started_at")) {
        uint64_t age_ms = now_us > ex->t_start ? (now_us - ex->t_start) / 1000 : 0;
        fmt(&o, "%llu", (unsigned long long)(now_ms - age_ms));
    }
    if (field(&o, ctx, &first, "source"))
        lit(&o, f.from_upstream ? "\"upstream\"" : "\"kong\"");
    if (field(&o, ctx, &first, "workspace_name"))
        lit(&o, "\"default\"");
    const char *k;
    json_t *v;
    json_object_foreach(ctx->serialize_values, k, v)
    {
        if (json_is_null(v))
            continue;
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ESCAPE_SLASH |
                                    JSON_REAL_PRECISION(14));
        if (t != NULL) {
            key(&o, &first, k);
            lit(&o, t);
            free(t);
        }
    }
    raw(&o, "}", 1);
    raw(&o, "\0", 1); /* room for a caller's newline, and a terminated string */
    if (o.failed) {
        tr_buf_free(&o.b);
        return NULL;
    }
    size_t total;
    char *text = tr_buf_detach(&o.b, &total);
    *len = total - 1;
    return text;
}

void tr_ctx_set_serialize_value(struct tr_ctx *ctx, const char *k, json_t *value)
{
    if (ctx->serialize_values == NULL)
        ctx->serialize_values = json_object();
    json_object_set_new(ctx->serialize_values, k, value ? value : json_null());
}
