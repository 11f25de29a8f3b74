/* SPDX-License-Identifier: MIT */
/* The request context API of plugins/plugin.h, implemented over an exchange. */
#include "proxy/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/mem.h"
#include "http/form.h"
#include "proxy/hashpool.h"
#include "router/router.h"
#include "snapshot/snapshot.h"
#include "store/store.h"

void tr__ctx_init(struct tr_ctx *ctx, struct tr_exchange *ex)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->ex = ex;
    ctx->plugin_span = -1;
    ctx->trace.balancer = -1;
}

void tr__ctx_fini(struct tr_ctx *ctx)
{
    tr_arena_reset(&ctx->arena);
    json_decref(ctx->serialize_values);
    ctx->serialize_values = NULL;
}

static const struct tr_snapshot *snap_of(const struct tr_ctx *ctx)
{
    return ctx->ex->hold->snap;
}

/* ---- request ------------------------------------------------------------------------------ */

struct tr_str tr_ctx_method(const struct tr_ctx *ctx)
{
    return ctx->ex->rv.method;
}

struct tr_str tr_ctx_path(const struct tr_ctx *ctx)
{
    return ctx->norm_path;
}

struct tr_str tr_ctx_raw_query(const struct tr_ctx *ctx)
{
    return ctx->ex->rv.query;
}

const char *tr_ctx_scheme(const struct tr_ctx *ctx)
{
    return ctx->ex->c && ctx->ex->c->tls_listener ? "https" : "http";
}

bool tr_ctx_is_https(const struct tr_ctx *ctx, bool allow_terminated)
{
    const struct tr_client *c = ctx->ex->c;
    if (c == NULL)
        return false;
    if (c->tls_listener)
        return true;
    struct tr_str proto;
    return allow_terminated && tr__client_trusted(c) &&
           tr_ctx_header(ctx, TR_STR_LIT("X-Forwarded-Proto"), &proto) &&
           tr_str_ieq_cstr(tr_str_trim(proto), "https");
}

const char *tr_ctx_client_ip(const struct tr_ctx *ctx)
{
    return ctx->ex->client_ip;
}

struct tr_str tr_ctx_host(const struct tr_ctx *ctx)
{
    return ctx->ex->rv.host;
}

void tr_ctx_connection(const struct tr_ctx *ctx, struct tr_ctx_connection *out)
{
    const struct tr_client *c = ctx->ex->c;
    *out = (struct tr_ctx_connection){
        .local_ip = c ? c->local_ip : "",
        .local_port = c ? c->local_port : 0,
        .serial = c ? c->serial : 0,
        .requests = c ? c->requests : 0,
    };
}

struct tr_str tr_ctx_request_target(const struct tr_ctx *ctx)
{
    return ctx->ex->rv.target;
}

int tr_ctx_http_minor_version(const struct tr_ctx *ctx)
{
    return ctx->ex->minor_version;
}

bool tr_ctx_header(const struct tr_ctx *ctx, struct tr_str name, struct tr_str *value)
{
    const struct tr_http_header *h =
        tr_http_find_header(ctx->ex->rv.headers, ctx->ex->rv.num_headers, name);
    if (h == NULL)
        return false;
    *value = h->value;
    return true;
}

/* Percent-decode s ('+' is a space, as in forms) into the arena. */
static struct tr_str decode(struct tr_ctx *ctx, struct tr_str s)
{
    char *out = tr_arena_alloc(&ctx->arena, s.len + 1);
    size_t n = tr_form_decode(s, out);
    out[n] = '\0';
    return (struct tr_str){out, n};
}

bool tr__ctx_find_arg(struct tr_ctx *ctx, struct tr_str raw, struct tr_str name,
                      struct tr_str *value)
{
    struct tr_str k, v;
    while (tr_form_next(&raw, &k, &v)) {
        if (k.len > 0 && tr_form_key_eq(k, name)) {
            *value = decode(ctx, v);
            return true;
        }
    }
    return false;
}

bool tr_ctx_header_nth(const struct tr_ctx *ctx, struct tr_str name, size_t nth,
                       struct tr_str *value)
{
    const struct tr_http_header *all = ctx->ex->rv.headers;
    size_t num = ctx->ex->rv.num_headers, from = 0;
    for (;;) {
        const struct tr_http_header *h = tr_http_find_header(all + from, num - from, name);
        if (h == NULL)
            return false;
        if (nth-- == 0) {
            *value = h->value;
            return true;
        }
        from = (size_t)(h - all) + 1;
    }
}

bool tr_ctx_query_arg(struct tr_ctx *ctx, struct tr_str name, struct tr_str *value)
{
    return tr__ctx_find_arg(ctx, ctx->ex->rv.query, name, value);
}

const char *tr_ctx_route_id(const struct tr_ctx *ctx)
{
    return ctx->ex->route ? ctx->ex->route->id : NULL;
}

const char *tr_ctx_service_id(const struct tr_ctx *ctx)
{
    return ctx->ex->service ? ctx->ex->service->id : NULL;
}

const char *tr_ctx_service_name(const struct tr_ctx *ctx)
{
    return ctx->ex->service ? ctx->ex->service->name : NULL;
}

const char *tr_ctx_route_name(const struct tr_ctx *ctx)
{
    return ctx->ex->route ? ctx->ex->route->name : NULL;
}

struct tr_str tr_ctx_service_host(const struct tr_ctx *ctx)
{
    return ctx->ex->service ? ctx->ex->service->url.host : (struct tr_str){"", 0};
}

static int64_t ms_between(uint64_t from_us, uint64_t to_us)
{
    return (from_us && to_us >= from_us) ? (int64_t)((to_us - from_us) / 1000) : 0;
}

void tr_ctx_log_facts(const struct tr_ctx *ctx, struct tr_ctx_log_facts *out)
{
    const struct tr_exchange *ex = ctx->ex;
    uint64_t now = tr_clock_mono_us();
    out->status = ex->status;
    out->request_size = ex->req_bytes_in;
    out->response_size = ex->head_bytes_sent + ex->bytes_sent;
    out->request_ms = ms_between(ex->t_start, now);
    out->from_upstream = ex->proxied;
    if (ex->t_upstream_start != 0) {
        out->kong_ms = ms_between(ex->t_start, ex->t_upstream_start);
        out->upstream_ms =
            ex->t_upstream_head ? ms_between(ex->t_upstream_start, ex->t_upstream_head) : -1;
    } else {
        out->kong_ms = out->request_ms;
        out->upstream_ms = -1;
    }
}

struct tr_metrics_shard *tr_ctx_metrics(struct tr_ctx *ctx)
{
    return ctx->ex->w->metrics;
}

bool tr_ctx_uri_capture(const struct tr_ctx *ctx, size_t group, struct tr_str *out)
{
    *out = (struct tr_str){"", 0};
    if (group >= ctx->num_captures || ctx->captures[2 * group] == SIZE_MAX)
        return false;
    size_t start = ctx->captures[2 * group], end = ctx->captures[2 * group + 1];
    if (end < start || end > ctx->norm_path.len)
        return false;
    *out = (struct tr_str){ctx->norm_path.ptr + start, end - start};
    return true;
}

bool tr_ctx_uri_capture_named(const struct tr_ctx *ctx, const char *name, struct tr_str *out)
{
    for (size_t i = 0; i < ctx->num_capture_names; i++) {
        if (strcmp(ctx->capture_names[i].name, name) == 0)
            return tr_ctx_uri_capture(ctx, ctx->capture_names[i].group, out);
    }
    *out = (struct tr_str){"", 0};
    return false;
}

const char *tr_ctx_api_id(const struct tr_ctx *ctx)
{
    return ctx->ex->route ? ctx->ex->route->api_id : NULL;
}

/* ---- upstream request edits ---------------------------------------------------------------- */

static struct tr_str copy(struct tr_ctx *ctx, struct tr_str s)
{
    return (struct tr_str){tr_arena_strndup(&ctx->arena, s.ptr, s.len), s.len};
}

/* A set or remove of name ends every earlier edit of it in items: they become removes. */
static void end_edits(struct tr_hdr_edit *items, size_t cnt, struct tr_str name)
{
    for (size_t i = 0; i < cnt; i++) {
        struct tr_hdr_edit *e = &items[i];
        if (!e->remove && tr_str_ieq(e->name, name))
            *e = (struct tr_hdr_edit){e->name, TR_STR_NULL, true, false};
    }
}

static void push_edit(struct tr_ctx *ctx, struct tr_str name, struct tr_str value, bool remove,
                      bool append)
{
    if (!append)
        end_edits(ctx->req_edits.items, ctx->req_edits.cnt, name);
    struct tr_hdr_edit *e = tr_vector_push(&ctx->arena, &ctx->req_edits);
    *e = (struct tr_hdr_edit){copy(ctx, name), remove ? TR_STR_NULL : copy(ctx, value), remove,
                              append};
}

void tr_ctx_remove_header(struct tr_ctx *ctx, struct tr_str name)
{
    push_edit(ctx, name, TR_STR_NULL, true, false);
}

void tr_ctx_set_header(struct tr_ctx *ctx, struct tr_str name, struct tr_str value)
{
    push_edit(ctx, name, value, false, false);
}

void tr_ctx_add_header(struct tr_ctx *ctx, struct tr_str name, struct tr_str value)
{
    push_edit(ctx, name, value, false, true);
}

struct nth_search {
    struct tr_str name, found;
    size_t nth;
    bool done;
};

static void nth_identity(void *ud, const char *name, struct tr_str value)
{
    struct nth_search *q = ud;
    if (!q->done && tr_str_ieq(tr_str_from_cstr(name), q->name) && q->nth-- == 0) {
        q->found = value;
        q->done = true;
    }
}

bool tr_ctx_upstream_header_nth(const struct tr_ctx *ctx, struct tr_str name, size_t nth,
                                struct tr_str *value)
{
    bool edited = tr__ctx_header_edited(ctx, name);
    if (!edited) {
        const struct tr_req_view *rv = &ctx->ex->rv;
        for (size_t i = 0; i < rv->num_headers; i++) {
            if (tr_str_ieq(rv->headers[i].name, name) && nth-- == 0) {
                *value = rv->headers[i].value;
                return true;
            }
        }
    }
    for (size_t i = 0; i < ctx->req_edits.cnt; i++) {
        const struct tr_hdr_edit *e = &ctx->req_edits.items[i];
        if (!e->remove && tr_str_ieq(e->name, name) && nth-- == 0) {
            *value = e->value;
            return true;
        }
    }
    if (edited)
        return false;
    struct nth_search q = {.name = name, .nth = nth};
    tr__ctx_identity_headers(ctx, nth_identity, &q);
    if (q.done)
        *value = q.found;
    return q.done;
}

void tr_ctx_set_method(struct tr_ctx *ctx, struct tr_str method)
{
    ctx->up_method = copy(ctx, method);
}

/* s with every byte a request-target cannot carry as is (not VCHAR, '#', and `also`)
 * percent-encoded; '%' is kept (the value may be encoded already). */
static struct tr_str target_part(struct tr_ctx *ctx, struct tr_str s, char also)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = tr_arena_alloc(&ctx->arena, s.len * 3 + 1);
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '#' || (also && ch == (unsigned char)also)) {
            out[n++] = '%';
            out[n++] = hex[ch >> 4];
            out[n++] = hex[ch & 15];
        } else {
            out[n++] = (char)ch;
        }
    }
    out[n] = '\0';
    return (struct tr_str){out, n};
}

void tr_ctx_set_upstream_path(struct tr_ctx *ctx, struct tr_str path)
{
    ctx->ex->upath = target_part(ctx, path, '?');
}

void tr_ctx_set_upstream_query(struct tr_ctx *ctx, struct tr_str query)
{
    ctx->up_query = target_part(ctx, query, 0);
    ctx->up_query_set = true;
}

struct tr_str tr_ctx_upstream_query(struct tr_ctx *ctx)
{
    const struct tr_req_view *rv = &ctx->ex->rv;
    if (ctx->up_query_set)
        return ctx->up_query;
    if (!rv->has_query)
        return TR_STR_LIT("");
    if (ctx->removed_args.cnt == 0)
        return rv->query;
    char *out = tr_arena_alloc(&ctx->arena, rv->query.len + 1);
    size_t n = tr_form_remove(rv->query, ctx->removed_args.items, ctx->removed_args.cnt, out, NULL);
    out[n] = '\0';
    return (struct tr_str){out, n};
}

void tr_ctx_remove_query_arg(struct tr_ctx *ctx, struct tr_str name)
{
    struct tr_str copied = copy(ctx, name);
    *tr_vector_push(&ctx->arena, &ctx->removed_args) = copied;
}

void tr_ctx_set_body_limit(struct tr_ctx *ctx, uint64_t bytes)
{
    struct tr_exchange *ex = ctx->ex;
    if (!ex->req_limited || bytes < ex->req_limit)
        ex->req_limit = bytes;
    ex->req_limited = true;
}

bool tr__ctx_header_edited(const struct tr_ctx *ctx, struct tr_str name)
{
    for (size_t i = 0; i < ctx->req_edits.cnt; i++) {
        const struct tr_hdr_edit *e = &ctx->req_edits.items[i];
        if (!e->append && tr_str_ieq(e->name, name))
            return true;
    }
    return false;
}

/* ---- responses -------------------------------------------------------------------------- */

void tr_ctx_respond(struct tr_ctx *ctx, int status, const char *body, const char *content_type)
{
    ctx->exit_status = status;
    ctx->exit_body = copy(ctx, tr_str_from_cstr(body ? body : ""));
    ctx->exit_ctype = copy(
        ctx, tr_str_from_cstr(content_type ? content_type : "application/json; charset=utf-8"));
}

void tr_ctx_respond_message(struct tr_ctx *ctx, int status, const char *message)
{
    json_t *j = json_pack("{s:s}", "message", message);
    char *text = json_dumps(j, JSON_COMPACT);
    tr_ctx_respond(ctx, status, text, NULL);
    free(text);
    json_decref(j);
}

static void push_response_edit(struct tr_ctx *ctx, struct tr_str name, struct tr_str value,
                               bool remove, bool append)
{
    if (!append)
        end_edits(ctx->res_adds.items, ctx->res_adds.cnt, name);
    struct tr_hdr_edit *e = tr_vector_push(&ctx->arena, &ctx->res_adds);
    *e = (struct tr_hdr_edit){copy(ctx, name), remove ? TR_STR_NULL : copy(ctx, value), remove,
                              append};
}

void tr_ctx_add_response_header(struct tr_ctx *ctx, struct tr_str name, struct tr_str value)
{
    push_response_edit(ctx, name, value, false, true);
}

void tr_ctx_set_response_header(struct tr_ctx *ctx, struct tr_str name, struct tr_str value)
{
    push_response_edit(ctx, name, value, false, false);
}

void tr_ctx_remove_response_header(struct tr_ctx *ctx, struct tr_str name)
{
    push_response_edit(ctx, name, TR_STR_NULL, true, false);
}

bool tr__ctx_response_header_removed(const struct tr_ctx *ctx, struct tr_str name)
{
    for (size_t i = 0; i < ctx->res_adds.cnt; i++) {
        const struct tr_hdr_edit *e = &ctx->res_adds.items[i];
        if (!e->append && tr_str_ieq(e->name, name))
            return true;
    }
    return false;
}

bool tr_ctx_response_header_nth(const struct tr_ctx *ctx, struct tr_str name, size_t nth,
                                struct tr_str *value)
{
    if (!tr__ctx_response_header_removed(ctx, name)) {
        if (ctx->res) {
            for (size_t i = 0; i < ctx->res->num_headers; i++) {
                const struct tr_http_header *h = &ctx->res->headers[i];
                if (tr_str_ieq(h->name, name) && nth-- == 0) {
                    *value = h->value;
                    return true;
                }
            }
        } else if (ctx->exit_status && tr_str_ieq(name, TR_STR_LIT("Content-Type")) && nth-- == 0) {
            *value = ctx->exit_ctype;
            return true;
        }
    }
    for (size_t i = 0; i < ctx->res_adds.cnt; i++) {
        const struct tr_hdr_edit *e = &ctx->res_adds.items[i];
        if (!e->remove && tr_str_ieq(e->name, name) && nth-- == 0) {
            *value = e->value;
            return true;
        }
    }
    return false;
}

void tr_ctx_buffer_response(struct tr_ctx *ctx)
{
    for (size_t i = 0; i < ctx->num_ran; i++) {
        if (ctx->ran[i] == ctx->current)
            ctx->body_filters |= (uint64_t)1 << i;
    }
}

void tr_ctx_set_response_body(struct tr_ctx *ctx, struct tr_str body)
{
    char *p = tr_arena_alloc(&ctx->arena, body.len + 1);
    memcpy(p, body.ptr, body.len);
    p[body.len] = '\0';
    ctx->res_body_out = (struct tr_str){p, body.len};
    ctx->res_body_set = true;
}

int tr_ctx_response_status(const struct tr_ctx *ctx)
{
    return ctx->ex->status;
}

/* ---- identity --------------------------------------------------------------------------- */

void tr_ctx_set_consumer(struct tr_ctx *ctx, const struct tr_consumer *consumer,
                         const struct tr_credential *credential, bool anonymous)
{
    ctx->consumer = consumer;
    ctx->credential = credential;
    ctx->credential_identifier = NULL;
    ctx->credential_username = NULL;
    ctx->anonymous = anonymous;
}

void tr_ctx_set_credential_identifier(struct tr_ctx *ctx, const char *identifier)
{
    ctx->credential_identifier =
        identifier ? tr_arena_strndup(&ctx->arena, identifier, strlen(identifier)) : NULL;
}

void tr_ctx_set_credential_username(struct tr_ctx *ctx, const char *username)
{
    ctx->credential_username =
        username ? tr_arena_strndup(&ctx->arena, username, strlen(username)) : NULL;
}

const struct tr_consumer *tr_ctx_consumer(const struct tr_ctx *ctx)
{
    return ctx->consumer;
}

const struct tr_credential *tr_ctx_credential(const struct tr_ctx *ctx)
{
    return ctx->credential;
}

void tr__ctx_identity_headers(const struct tr_ctx *ctx,
                              void (*put)(void *ud, const char *name, struct tr_str value),
                              void *ud)
{
    const struct tr_consumer *c = ctx->consumer;
    if (c) {
        put(ud, "X-Consumer-ID", tr_str_from_cstr(c->id));
        if (c->custom_id)
            put(ud, "X-Consumer-Custom-ID", tr_str_from_cstr(c->custom_id));
        if (c->username)
            put(ud, "X-Consumer-Username", tr_str_from_cstr(c->username));
    }
    if (ctx->credential_identifier)
        put(ud, "X-Credential-Identifier", tr_str_from_cstr(ctx->credential_identifier));
    else if (ctx->credential)
        put(ud, "X-Credential-Identifier", tr_str_from_cstr(ctx->credential->id));
    if (ctx->credential_username)
        put(ud, "X-Credential-Username", tr_str_from_cstr(ctx->credential_username));
    if (ctx->anonymous)
        put(ud, "X-Anonymous-Consumer", TR_STR_LIT("true"));
}

/* ---- snapshot lookups ------------------------------------------------------------------- */

const struct tr_credential *tr_ctx_find_credential(const struct tr_ctx *ctx, const char *entity,
                                                   struct tr_str value)
{
    const struct tr_cred_index *idx = tr_snap_identity_creds(snap_of(ctx)->identity, entity);
    return idx ? tr_strmap_get(&idx->by_value, value) : NULL;
}

const struct tr_credential *tr_ctx_find_credential_by_id(const struct tr_ctx *ctx,
                                                         const char *entity, struct tr_str id)
{
    const struct tr_cred_index *idx = tr_snap_identity_creds(snap_of(ctx)->identity, entity);
    return idx ? tr_strmap_get(&idx->by_id, id) : NULL;
}

const struct tr_consumer *tr_ctx_find_consumer(const struct tr_ctx *ctx, struct tr_str id_or_name)
{
    const struct tr_snap_identity *part = snap_of(ctx)->identity;
    const struct tr_consumer *c = tr_strmap_get(&part->consumer_by_id, id_or_name);
    return c ? c : tr_strmap_get(&part->consumer_by_name, id_or_name);
}

void tr_ctx_foreach_consumer_credential(const struct tr_ctx *ctx, const char *entity,
                                        const struct tr_consumer *consumer,
                                        bool (*cb)(const struct tr_credential *cred, void *ud),
                                        void *ud)
{
    const struct tr_cred_index *idx = tr_snap_identity_creds(snap_of(ctx)->identity, entity);
    if (idx == NULL || consumer == NULL)
        return;
    const struct tr_cred_list *l = tr_strmap_get(&idx->by_consumer, tr_str_from_cstr(consumer->id));
    for (size_t i = 0; l && i < l->cnt; i++) {
        if (!cb(l->items[i], ud))
            return;
    }
}

/* ---- memory and async ------------------------------------------------------------------- */

void *tr_ctx_alloc(struct tr_ctx *ctx, size_t len)
{
    return tr_arena_alloc(&ctx->arena, len);
}

void *tr_ctx_state(struct tr_ctx *ctx)
{
    for (size_t i = 0; i < ctx->num_ran; i++) {
        if (ctx->ran[i] == ctx->current)
            return ctx->states[i];
    }
    return NULL;
}

void **tr_ctx_worker_slot(struct tr_ctx *ctx)
{
    return &ctx->ex->w->plugin_slots[ctx->current->plugin_index];
}

struct uv_loop_s *tr_ctx_loop(struct tr_ctx *ctx)
{
    return ctx->ex->w->loop;
}

/* splitmix64: a bijection, so (key, counter) never gives one value twice for a worker. */
static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

const char *tr__ctx_request_id(struct tr_ctx *ctx)
{
    if (ctx->request_id[0] == '\0') {
        struct tr_proxy_worker *w = ctx->ex->w;
        uint64_t n = w->rid_next++;
        snprintf(ctx->request_id, sizeof(ctx->request_id), "%016llx%016llx",
                 (unsigned long long)mix(w->rid_seed[0] ^ n),
                 (unsigned long long)mix(w->rid_seed[1] + n));
    }
    return ctx->request_id;
}

void tr_ctx_random_id(struct tr_ctx *ctx, uint8_t out[8])
{
    struct tr_proxy_worker *w = ctx->ex->w;
    uint64_t v;
    do
        v = mix(w->rid_seed[1] ^ mix(w->rid_seed[0] + w->rid_next++));
    while (v == 0);
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (56 - 8 * i));
}

struct tr_trace *tr_ctx_trace(struct tr_ctx *ctx)
{
    return ctx->trace.recording ? &ctx->trace : NULL;
}

const struct tr_conf *tr_ctx_conf(const struct tr_ctx *ctx)
{
    return ctx->ex->w->conf;
}

uint64_t tr_ctx_config_version(const struct tr_ctx *ctx)
{
    return ctx->ex->hold->snap->version;
}

const char *tr_ctx_plugin_id(const struct tr_ctx *ctx)
{
    return ctx->current && ctx->current->id ? ctx->current->id : "";
}

/* ---- offloaded work: libuv's thread pool, the password-hash pool -------------------------- */

struct offload {
    union {
        uv_work_t req;              /* tr_ctx_offload* */
        struct tr_hashpool_job job; /* tr_ctx_offload_hash */
    } u;
    struct tr_ctx *ctx;
    void (*work)(void *arg);
    /* tr_ctx_offload_store: the work, and the store it takes a session of (borrowed) */
    void (*store_work)(struct tr_store_tx *tx, void *arg);
    struct tr_store *store;
    void (*done)(struct tr_ctx *ctx, void *arg);
    void (*discard)(void *arg);
    void *arg;
};

static struct offload *offload_new(struct tr_ctx *ctx, void (*work)(void *arg),
                                   void (*done)(struct tr_ctx *ctx, void *arg),
                                   void (*discard)(void *arg), void *arg)
{
    struct offload *o = tr_arena_alloc(&ctx->arena, sizeof(*o));
    memset(o, 0, sizeof(*o));
    o->ctx = ctx;
    o->work = work;
    o->done = done;
    o->discard = discard;
    o->arg = arg;
    return o;
}

/* Back on the worker: hand the result to the plugin, unless the request is gone (the client
 * left while the work was out; resuming it frees it) or the work never ran (cancelled). */
static void offload_finish(struct offload *o, bool cancelled)
{
    struct tr_ctx *ctx = o->ctx;
    if (ctx->ex->aborted || cancelled) {
        if (o->discard)
            o->discard(o->arg);
        tr_ctx_resume(ctx, TR_PLUGIN_FAIL);
        return;
    }
    o->done(ctx, o->arg);
}

static void on_offload_work(uv_work_t *req)
{
    struct offload *o = TR_CONTAINER_OF(req, struct offload, u.req);
    o->work(o->arg);
}

static void on_offload_done(uv_work_t *req, int status)
{
    offload_finish(TR_CONTAINER_OF(req, struct offload, u.req), status != 0);
}

void tr_ctx_offload(struct tr_ctx *ctx, void (*work)(void *arg),
                    void (*done)(struct tr_ctx *ctx, void *arg), void *arg)
{
    tr_ctx_offload_owned(ctx, work, done, NULL, arg);
}

void tr_ctx_offload_owned(struct tr_ctx *ctx, void (*work)(void *arg),
                          void (*done)(struct tr_ctx *ctx, void *arg), void (*discard)(void *arg),
                          void *arg)
{
    struct offload *o = offload_new(ctx, work, done, discard, arg);
    ctx->yielded = true; /* the request must outlive the work even if the client leaves */
    if (uv_queue_work(ctx->ex->w->loop, &o->u.req, on_offload_work, on_offload_done) != 0) {
        work(arg); /* no thread pool: do it here rather than fail the request */
        done(ctx, arg);
    }
}

/* On a pool thread: the session is taken and given back here, so the plugin never holds one
 * across a yield and the pool is never waited on from a worker loop. */
static void run_store_work(struct offload *o)
{
    struct tr_store_tx *tx = tr_store_tx_acquire(o->store);
    o->store_work(tx, o->arg);
    tr_store_tx_release(tx);
}

static void on_store_work(uv_work_t *req)
{
    run_store_work(TR_CONTAINER_OF(req, struct offload, u.req));
}

void tr_ctx_offload_store(struct tr_ctx *ctx, void (*work)(struct tr_store_tx *tx, void *arg),
                          void (*done)(struct tr_ctx *ctx, void *arg), void (*discard)(void *arg),
                          void *arg)
{
    struct offload *o = offload_new(ctx, NULL, done, discard, arg);
    o->store_work = work;
    o->store = ctx->ex->w->store;
    ctx->yielded = true; /* the request must outlive the work even if the client leaves */
    if (uv_queue_work(ctx->ex->w->loop, &o->u.req, on_store_work, on_offload_done) != 0) {
        run_store_work(o); /* no thread pool: do it here rather than fail the request */
        done(ctx, arg);
    }
}

static void on_hash_work(struct tr_hashpool_job *job)
{
    struct offload *o = TR_CONTAINER_OF(job, struct offload, u.job);
    o->work(o->arg);
}

static void on_hash_done(struct tr_hashpool_job *job, int status)
{
    offload_finish(TR_CONTAINER_OF(job, struct offload, u.job), status != 0);
}

int tr_ctx_offload_hash(struct tr_ctx *ctx, void (*work)(void *arg),
                        void (*done)(struct tr_ctx *ctx, void *arg), void (*discard)(void *arg),
                        void *arg)
{
    struct offload *o = offload_new(ctx, work, done, discard, arg);
    o->u.job.work = on_hash_work;
    o->u.job.done = on_hash_done;
    /* Refused (queue full, node stopping): nothing is out, the plugin answers now. */
    if (tr_hashpool_submit(ctx->ex->w->hash_port, &o->u.job) != 0)
        return TR_EBUSY;
    ctx->yielded = true; /* the request must outlive the job even if the client leaves */
    return 0;
}
