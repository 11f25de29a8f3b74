/* SPDX-License-Identifier: MIT */
/* Kong's log serializer (kong/pdk/log.lua, kong.log.serialize) over an exchange: the object the
 * logging plugins write, with Kong 3.9's field names and shapes (docs/plugins.md, "The log
 * serializer"). Built in the log phase only, by the plugins that log; nothing here runs for a
 * request without one. */
#include "proxy/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/secret.h"
#include "http/form.h"
#include "http/tls.h"
#include "http/url.h"
#include "snapshot/snapshot.h"

#define MAX_ARGS 100    /* Kong reads at most 100 query arguments (lua_max_uri_args) */
#define MAX_HEADERS 100 /* and 100 headers each way (lua_max_req_headers) */

static json_t *str_json(struct tr_str s)
{
    json_t *j = json_stringn_nocheck(s.ptr ? s.ptr : "", s.len);
    return j ? j : json_string("");
}

/* key=value (stolen) into obj; a repeated key becomes an array of its values, in order. */
static void append_value(json_t *obj, const char *key, json_t *value)
{
    json_t *have = json_object_get(obj, key);
    if (have == NULL) {
        json_object_set_new(obj, key, value);
    } else if (json_is_array(have)) {
        json_array_append_new(have, value);
    } else {
        json_t *arr = json_array();
        json_array_append(arr, have);
        json_array_append_new(arr, value);
        json_object_set_new(obj, key, arr);
    }
}

/* append_value under the lower-cased name (a header). */
static void add_repeated(json_t *obj, struct tr_str name, json_t *value)
{
    char key[256];
    size_t n = name.len < sizeof(key) - 1 ? name.len : sizeof(key) - 1;
    for (size_t i = 0; i < n; i++)
        key[i] = (char)tolower((unsigned char)name.ptr[i]);
    key[n] = '\0';
    append_value(obj, key, value);
}

/* Kong's get_uri_args: decoded names and values, `true` for a name without '=', arrays for
 * repeated names. */
static json_t *querystring(struct tr_ctx *ctx, struct tr_str raw)
{
    json_t *out = json_object();
    struct tr_str rest = raw, k, v;
    size_t n = 0;
    while (n++ < MAX_ARGS && tr_form_next(&rest, &k, &v)) {
        bool has_value = k.ptr + k.len < raw.ptr + raw.len && k.ptr[k.len] == '=';
        char *key = tr_ctx_alloc(ctx, k.len + 1);
        key[tr_form_decode(k, key)] = '\0';
        json_t *val;
        if (has_value) {
            char *dv = tr_ctx_alloc(ctx, v.len + 1);
            val = str_json((struct tr_str){dv, tr_form_decode(v, dv)});
        } else {
            val = json_true();
        }
        append_value(out, key, val);
    }
    return out;
}

struct header_sink {
    json_t *obj;
    size_t n;
};

static void put_identity(void *ud, const char *name, struct tr_str value)
{
    struct header_sink *s = ud;
    if (s->n++ < MAX_HEADERS)
        add_repeated(s->obj, tr_str_from_cstr(name), str_json(value));
}

/* The request headers as the upstream got them: the client's, less what plugins removed or
 * replaced, plus what they set and the identity headers; Authorization and
 * Proxy-Authorization are "REDACTED", as Kong. */
static json_t *request_headers(const struct tr_ctx *ctx)
{
    const struct tr_exchange *ex = ctx->ex;
    struct header_sink s = {json_object(), 0};
    for (size_t i = 0; i < ex->rv.num_headers && s.n < MAX_HEADERS; i++) {
        const struct tr_http_header *h = &ex->rv.headers[i];
        if (tr__ctx_header_edited(ctx, h->name))
            continue;
        add_repeated(s.obj, h->name, str_json(h->value));
        s.n++;
    }
    for (size_t i = 0; i < ctx->req_edits.cnt && s.n < MAX_HEADERS; i++) {
        const struct tr_hdr_edit *e = &ctx->req_edits.items[i];
        if (!e->remove) {
            add_repeated(s.obj, e->name, str_json(e->value));
            s.n++;
        }
    }
    tr__ctx_identity_headers(ctx, put_identity, &s);
    static const char *const secret[] = {"authorization", "proxy-authorization"};
    for (size_t i = 0; i < 2; i++) {
        if (json_object_get(s.obj, secret[i]) != NULL)
            json_object_set_new(s.obj, secret[i], json_string("REDACTED"));
    }
    return s.obj;
}

/* The headers of the head the client got (status line skipped). */
static json_t *response_headers(const struct tr_exchange *ex)
{
    json_t *out = json_object();
    const char *p = ex->client_head;
    if (p == NULL)
        return out;
    const char *end = p + ex->head_bytes_sent;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t n = 0;
    while (eol != NULL && n++ < MAX_HEADERS) {
        p = eol + 1;
        eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            break;
        const char *line_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        if (line_end == p || colon == NULL)
            break; /* the blank line ends the head */
        struct tr_str value =
            tr_str_trim((struct tr_str){colon + 1, (size_t)(line_end - colon - 1)});
        add_repeated(out, (struct tr_str){p, (size_t)(colon - p)}, str_json(value));
    }
    return out;
}

/* The target of the request line sent upstream ("" when nothing went upstream). */
static json_t *upstream_uri(const struct tr_exchange *ex)
{
    if (ex->up_head == NULL || ex->t_upstream_start == 0)
        return json_string("");
    const char *sp = memchr(ex->up_head, ' ', ex->up_head_len);
    if (sp == NULL)
        return json_string("");
    const char *end = ex->up_head + ex->up_head_len;
    const char *sp2 = memchr(sp + 1, ' ', (size_t)(end - sp - 1));
    if (sp2 == NULL)
        return json_string("");
    return str_json((struct tr_str){sp + 1, (size_t)(sp2 - sp - 1)});
}

/* The request's id: 32 hex digits, made once (Kong's request.id). */
static const char *request_id(struct tr_ctx *ctx)
{
    if (ctx->request_id[0] == '\0' && tr_secret_hex(ctx->request_id, 16) != 0)
        ctx->request_id[0] = '\0';
    return ctx->request_id;
}

static json_t *request_object(struct tr_ctx *ctx, const struct tr_ctx_log_facts *f)
{
    struct tr_exchange *ex = ctx->ex;
    const struct tr_client *c = ex->c;
    json_t *r = json_object();
    json_object_set_new(r, "id", json_string(request_id(ctx)));
    json_object_set_new(r, "uri", str_json(ex->path));
    /* Kong's url: scheme://$host:$server_port$request_uri ($host without its port) */
    struct tr_str host = tr_url_host_without_port(ex->host);
    char *lower = tr_ctx_alloc(ctx, host.len + 1);
    for (size_t i = 0; i < host.len; i++)
        lower[i] = (char)tolower((unsigned char)host.ptr[i]);
    size_t cap = host.len + ex->path.len + 64;
    char *url = tr_ctx_alloc(ctx, cap);
    int n = snprintf(url, cap, "%s://%.*s:%u%.*s", tr_ctx_scheme(ctx), (int)host.len, lower,
                     c ? (unsigned)c->local_port : 0, (int)ex->path.len, ex->path.ptr);
    json_object_set_new(r, "url", str_json((struct tr_str){url, n > 0 ? (size_t)n : 0}));
    json_object_set_new(r, "querystring", querystring(ctx, ex->rv.query));
    json_object_set_new(r, "method", str_json(ex->method));
    json_object_set_new(r, "headers", request_headers(ctx));
    json_object_set_new(r, "size", json_integer((json_int_t)f->request_size));
    if (c != NULL && c->sock.tls != NULL)
        json_object_set_new(r, "tls",
                            json_pack("{s:s,s:s,s:s}", "version", tr_tls_conn_version(c->sock.tls),
                                      "cipher", tr_tls_conn_cipher(c->sock.tls), "client_verify",
                                      "NONE"));
    return r;
}

/* A stored Kong 3 row as Kong's serializer shows it: foreign keys as {"id": ...} records, and
 * the fields that are null left out (Lua tables hold no nil). */
static json_t *entity(const json_t *doc, const char *fk, const char *as)
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
    return out;
}

static json_t *tries(const struct tr_exchange *ex, uint64_t now_us, uint64_t now_wall_ms)
{
    json_t *arr = json_array();
    if (ex->t_upstream_start == 0 || ex->upstream_addr[0] == '\0')
        return arr;
    /* The last try (torii keeps its address; earlier tries of a retry are not kept). */
    const char *colon = strrchr(ex->upstream_addr, ':');
    if (colon == NULL)
        return arr;
    struct tr_str ip = {ex->upstream_addr, (size_t)(colon - ex->upstream_addr)};
    if (ip.len >= 2 && ip.ptr[0] == '[')
        ip = (struct tr_str){ip.ptr + 1, ip.len - 2};
    uint64_t start = ex->t_try_start ? ex->t_try_start : ex->t_upstream_start;
    uint64_t ago_ms = now_us > start ? (now_us - start) / 1000 : 0;
    json_array_append_new(arr, json_pack("{s:I,s:o,s:I,s:i}", "balancer_start",
                                         (json_int_t)(now_wall_ms - ago_ms), "ip", str_json(ip),
                                         "port", (json_int_t)strtol(colon + 1, NULL, 10),
                                         "balancer_latency", 0));
    return arr;
}

json_t *tr_ctx_log_serialize(struct tr_ctx *ctx)
{
    struct tr_exchange *ex = ctx->ex;
    struct tr_ctx_log_facts f;
    tr_ctx_log_facts(ctx, &f);
    uint64_t now_us = tr_clock_mono_us(), now_ms = tr_clock_wall_ms();
    json_t *o = json_object();
    json_object_set_new(o, "request", request_object(ctx, &f));
    json_object_set_new(o, "upstream_uri", upstream_uri(ex));
    char status[16] = "";
    if (ex->proxied)
        snprintf(status, sizeof(status), "%d", ex->status);
    json_object_set_new(o, "upstream_status", json_string(status));
    json_object_set_new(o, "response",
                        json_pack("{s:i,s:I,s:o}", "status", f.status, "size",
                                  (json_int_t)f.response_size, "headers", response_headers(ex)));
    int64_t receive = ex->t_upstream_head && now_us > ex->t_upstream_head
                          ? (int64_t)((now_us - ex->t_upstream_head) / 1000)
                          : 0;
    json_object_set_new(o, "latencies",
                        json_pack("{s:I,s:I,s:I,s:I}", "kong", (json_int_t)f.kong_ms, "proxy",
                                  (json_int_t)f.upstream_ms, "request", (json_int_t)f.request_ms,
                                  "receive", (json_int_t)receive));
    if (ex->route != NULL)
        json_object_set_new(o, "tries", tries(ex, now_us, now_ms));
    const struct tr_credential *cred = ctx->credential;
    if (cred != NULL) {
        json_t *ae = json_pack("{s:s}", "id", cred->id);
        if (cred->consumer != NULL)
            json_object_set_new(ae, "consumer_id", json_string(cred->consumer->id));
        json_object_set_new(o, "authenticated_entity", ae);
    }
    if (ex->route != NULL && ex->route->doc != NULL)
        json_object_set_new(o, "route", entity(ex->route->doc, "service_id", "service"));
    else if (ex->route != NULL && ex->route->api_id != NULL)
        json_object_set_new(
            o, "api",
            json_pack("{s:s,s:s?}", "id", ex->route->api_id, "name", ex->route->api_name));
    if (ex->service != NULL && ex->service->doc != NULL)
        json_object_set_new(
            o, "service", entity(ex->service->doc, "client_certificate_id", "client_certificate"));
    const struct tr_consumer *con = ctx->consumer;
    if (con != NULL) {
        json_t *cj = json_pack("{s:s}", "id", con->id);
        if (con->username != NULL)
            json_object_set_new(cj, "username", json_string(con->username));
        if (con->custom_id != NULL)
            json_object_set_new(cj, "custom_id", json_string(con->custom_id));
        json_object_set_new(o, "consumer", cj);
    }
    json_object_set_new(o, "client_ip", json_string(ex->client_ip));
    uint64_t age_ms = now_us > ex->t_start ? (now_us - ex->t_start) / 1000 : 0;
    json_object_set_new(o, "started_at", json_integer((json_int_t)(now_ms - age_ms)));
    json_object_set_new(o, "source", json_string(f.from_upstream ? "upstream" : "kong"));
    json_object_set_new(o, "workspace_name", json_string("default"));
    const char *key;
    json_t *v;
    json_object_foreach(ctx->serialize_values, key, v)
    {
        if (json_is_null(v))
            json_object_del(o, key);
        else
            json_object_set(o, key, v);
    }
    return o;
}

void tr_ctx_set_serialize_value(struct tr_ctx *ctx, const char *key, json_t *value)
{
    if (ctx->serialize_values == NULL)
        ctx->serialize_values = json_object();
    json_object_set_new(ctx->serialize_values, key, value ? value : json_null());
}
