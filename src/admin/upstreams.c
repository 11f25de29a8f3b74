/* SPDX-License-Identifier: MIT */
/* The Kong 3.x /upstreams endpoints and their targets (kong/api/routes/upstreams.lua): CRUD of
 * upstreams by id or name, targets under their upstream by id or "host:port", the manual
 * health overrides (core/health_override.h) and /upstreams/{u}/health. Field rules are
 * schema/kong3_upstreams.c's; verbs, pagination and error bodies admin/crud3.c's and
 * admin/errors3.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/crud3.h"
#include "balancer/balancer.h"
#include "admin/errors3.h"
#include "core/err.h"
#include "core/health_override.h"
#include "core/metrics.h"
#include "core/mem.h"
#include "core/str.h"
#include "core/uuid.h"
#include "schema/kong3.h"
#include "snapshot/snapshot.h"
#include "store/store.h"

#define TARGET_LEN 400

/* Targets keep milliseconds; Kong shows seconds with three decimals. */
static void target_shape(json_t *out)
{
    static const char *const ts[] = {"created_at", "updated_at", NULL};
    for (const char *const *f = ts; *f; f++) {
        json_t *v = json_object_get(out, *f);
        if (json_is_integer(v))
            json_object_set_new(out, *f, json_real((double)json_integer_value(v) / 1000.0));
    }
}

static const struct tr_admin3_entity upstreams = {
    .store_name = "upstreams",
    .name_field = "name",
    .validate = tr_schema3_upstream,
    .fks = {{"client_certificate", "client_certificate_id", "certificates", NULL}},
};

static const struct tr_admin3_entity targets = {
    .store_name = "targets",
    .validate = tr_schema3_target,
    .fks = {{"upstream", "upstream_id", "upstreams", NULL}},
    .shape = target_shape,
};

/* Kong's DAO checks an endpoint key before it looks it up: a path naming an upstream by
 * something that cannot be a name is 400 "invalid unique name". False after answering. */
static bool upstream_key_ok(struct tr_admin_ctx *ctx, const char *key)
{
    char msg[512];
    if (tr_uuid_is_valid(tr_str_from_cstr(key)) ||
        tr_schema3_upstream_name_ok(key, msg, sizeof(msg)))
        return true;
    json_t *body = tr_admin3_error(TR_ADMIN3_INVALID_UNIQUE_TAG, msg, NULL);
    json_object_set_new(body, "name", json_string("invalid unique name"));
    tr_admin_reply(ctx, tr_admin3_code_status(TR_ADMIN3_INVALID_UNIQUE_TAG), body);
    return false;
}

/* The upstream of params[0] (new reference), or NULL after answering 400, 404 or a store
 * error. */
static json_t *parent_upstream(struct tr_admin_ctx *ctx)
{
    if (!upstream_key_ok(ctx, ctx->params[0]))
        return NULL;
    json_t *up = NULL;
    int rc = tr_admin3_find(ctx, &upstreams, ctx->params[0], &up);
    if (rc == TR_ENOTFOUND)
        tr_admin3_reply_not_found(ctx);
    else if (rc != 0)
        tr_admin_reply_store_error(ctx, rc);
    return rc == 0 ? up : NULL;
}

static const char *doc_id(const json_t *doc)
{
    return json_string_value(json_object_get(doc, "id"));
}

/* ---- /upstreams --------------------------------------------------------------------------- */

static void up_list(struct tr_admin_ctx *ctx)
{
    tr_admin3_list(ctx, &upstreams, NULL);
}

static void up_create(struct tr_admin_ctx *ctx)
{
    tr_admin3_create(ctx, &upstreams, NULL);
}

static void up_get(struct tr_admin_ctx *ctx)
{
    if (upstream_key_ok(ctx, ctx->params[0]))
        tr_admin3_get(ctx, &upstreams, ctx->params[0], NULL);
}

static void up_patch(struct tr_admin_ctx *ctx)
{
    if (upstream_key_ok(ctx, ctx->params[0]))
        tr_admin3_patch(ctx, &upstreams, ctx->params[0], NULL, NULL);
}

static void up_put(struct tr_admin_ctx *ctx)
{
    if (upstream_key_ok(ctx, ctx->params[0]))
        tr_admin3_upsert(ctx, &upstreams, ctx->params[0], NULL, NULL);
}

static void up_delete(struct tr_admin_ctx *ctx)
{
    if (!upstream_key_ok(ctx, ctx->params[0]))
        return;
    json_t *up = NULL;
    if (tr_admin3_find(ctx, &upstreams, ctx->params[0], &up) != 0) {
        tr_admin3_delete(ctx, &upstreams, ctx->params[0], NULL);
        return;
    }
    char *id = tr_xstrdup(doc_id(up));
    json_decref(up);
    tr_admin3_delete(ctx, &upstreams, id, NULL);
    /* Its targets went with it (ON DELETE CASCADE); so do their overrides. */
    json_t *still = NULL;
    if (tr_store_get(ctx->env->store, "upstreams", "id", id, &still) == TR_ENOTFOUND)
        tr_health_override_forget(id, NULL);
    json_decref(still);
    free(id);
}

/* ---- targets ------------------------------------------------------------------------------ */

/* Every target of upstream id (new array), in insertion order, or NULL after answering a store
 * error. */
static json_t *targets_of(struct tr_admin_ctx *ctx, const char *upstream_id)
{
    json_t *all = json_array();
    json_t *filter = json_pack("{s:s}", "upstream_id", upstream_id);
    char *token = NULL;
    int rc;
    do {
        json_t *rows = NULL;
        size_t total;
        char *next = NULL;
        rc = tr_store_list(ctx->env->store, "targets", filter, 1000, token, &rows, &total, &next);
        free(token);
        token = next;
        if (rc != 0)
            break;
        json_array_extend(all, rows);
        json_decref(rows);
    } while (token != NULL);
    free(token);
    json_decref(filter);
    if (rc != 0) {
        json_decref(all);
        tr_admin_reply_store_error(ctx, rc);
        return NULL;
    }
    return all;
}

/* Kong's page_for_upstream order: newest first (by created_at; Kong breaks ties, one
 * millisecond, by id, which is random). Here the store's insertion order decides: the same
 * order whenever the clock moves forward, and stable when two rows share a millisecond or the
 * wall clock stepped back between them. */
struct row_pos {
    json_t *row;
    size_t pos; /* in the store's insertion order */
};

static int newest_first(const void *a, const void *b)
{
    const struct row_pos *x = a, *y = b;
    return x->pos < y->pos ? 1 : x->pos > y->pos ? -1 : 0;
}

static json_t *sorted_newest_first(json_t *rows)
{
    size_t n = json_array_size(rows);
    struct row_pos *v = tr_xmalloc((n + 1) * sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = (struct row_pos){json_array_get(rows, i), i};
    qsort(v, n, sizeof(*v), newest_first);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(out, v[i].row);
    free(v);
    return out;
}

/* The page of rows at ?offset (a decimal position) and ?size: 0 with *start and *size set, or
 * -1 after answering 400. */
static int page_args(struct tr_admin_ctx *ctx, size_t *start, size_t *size)
{
    if (tr_admin3_parse_size(ctx, size) != 0)
        return -1;
    *start = 0;
    const char *offset = json_string_value(json_object_get(ctx->query, "offset"));
    if (offset != NULL && offset[0] != '\0') {
        uint64_t n;
        if (tr_str_to_u64(tr_str_from_cstr(offset), 1u << 30, &n) != 0) {
            char msg[512];
            snprintf(msg, sizeof(msg), "'%.400s' is not a valid offset: bad base64 encoding",
                     offset);
            tr_admin3_reply(ctx, TR_ADMIN3_INVALID_OFFSET, msg, NULL);
            return -1;
        }
        *start = (size_t)n;
    }
    return 0;
}

/* {"data": rows[start..start+size) through each(), "next", "offset"} into body. */
static void paged_body(struct tr_admin_ctx *ctx, json_t *body, const json_t *rows, size_t start,
                       size_t size, json_t *(*each)(struct tr_admin_ctx *, const json_t *, void *),
                       void *ud)
{
    json_t *data = json_array();
    size_t n = json_array_size(rows);
    for (size_t i = start; i < n && i - start < size; i++)
        json_array_append_new(data, each(ctx, json_array_get(rows, i), ud));
    json_object_set_new(body, "data", data);
    size_t end = start + json_array_size(data);
    if (start < n && end < n) {
        char tok[32], next[1200];
        snprintf(tok, sizeof(tok), "%zu", end);
        struct tr_str path = ctx->req->path;
        if (path.len > 1 && path.ptr[path.len - 1] == '/')
            path.len--;
        snprintf(next, sizeof(next), "%.*s?offset=%s", (int)(path.len > 1000 ? 1000 : path.len),
                 path.ptr, tok);
        json_object_set_new(body, "next", json_string(next));
        json_object_set_new(body, "offset", json_string(tok));
    } else {
        json_object_set_new(body, "next", json_null());
    }
}

static json_t *target_out(struct tr_admin_ctx *ctx, const json_t *doc, void *ud)
{
    (void)ctx;
    (void)ud;
    return tr_admin3_output(&targets, doc);
}

static void list_targets(struct tr_admin_ctx *ctx, bool newest)
{
    json_t *up = parent_upstream(ctx);
    if (up == NULL)
        return;
    size_t start, size;
    json_t *rows = NULL;
    if (page_args(ctx, &start, &size) == 0 && (rows = targets_of(ctx, doc_id(up))) != NULL) {
        if (newest) {
            json_t *sorted = sorted_newest_first(rows);
            json_decref(rows);
            rows = sorted;
        }
        json_t *body = json_object();
        paged_body(ctx, body, rows, start, size, target_out, NULL);
        tr_admin_reply(ctx, 200, body);
    }
    json_decref(rows);
    json_decref(up);
}

static void tg_list(struct tr_admin_ctx *ctx)
{
    list_targets(ctx, true);
}

static void tg_all(struct tr_admin_ctx *ctx)
{
    list_targets(ctx, false);
}

static void tg_create(struct tr_admin_ctx *ctx)
{
    json_t *up = parent_upstream(ctx);
    if (up == NULL)
        return;
    json_t *fixed = json_pack("{s:{s:s}}", "upstream", "id", doc_id(up));
    tr_admin3_create(ctx, &targets, fixed);
    json_decref(fixed);
    json_decref(up);
}

/* The target key of upstream up: an id, or the target exactly as stored ("host:port"). A new
 * reference, or NULL after answering 404 or a store error. */
static json_t *find_target(struct tr_admin_ctx *ctx, const json_t *up, const char *key)
{
    json_t *doc = NULL;
    int rc;
    if (tr_uuid_is_valid(tr_str_from_cstr(key))) {
        rc = tr_admin3_find(ctx, &targets, key, &doc);
    } else {
        json_t *filter = json_pack("{s:s,s:s}", "upstream_id", doc_id(up), "target", key);
        json_t *rows = NULL;
        size_t total;
        char *next = NULL;
        rc = tr_store_list(ctx->env->store, "targets", filter, 1, NULL, &rows, &total, &next);
        free(next);
        json_decref(filter);
        if (rc == 0) {
            doc = json_incref(json_array_get(rows, 0));
            rc = doc ? 0 : TR_ENOTFOUND;
        }
        json_decref(rows);
    }
    if (rc == 0 && !json_equal(json_object_get(doc, "upstream_id"), json_object_get(up, "id"))) {
        json_decref(doc);
        doc = NULL;
        rc = TR_ENOTFOUND;
    }
    if (rc == TR_ENOTFOUND)
        tr_admin3_reply_not_found(ctx);
    else if (rc != 0)
        tr_admin_reply_store_error(ctx, rc);
    return rc == 0 ? doc : NULL;
}

/* The upstream and target of params[0] and params[1], or false after answering. */
static bool target_of_path(struct tr_admin_ctx *ctx, json_t **up, json_t **tg)
{
    *tg = NULL;
    *up = parent_upstream(ctx);
    if (*up == NULL)
        return false;
    *tg = find_target(ctx, *up, ctx->params[1]);
    if (*tg == NULL) {
        json_decref(*up);
        *up = NULL;
        return false;
    }
    return true;
}

static void tg_get(struct tr_admin_ctx *ctx)
{
    json_t *up, *tg;
    if (!target_of_path(ctx, &up, &tg))
        return;
    tr_admin_reply(ctx, 200, tr_admin3_output(&targets, tg));
    json_decref(tg);
    json_decref(up);
}

/* PATCH and PUT: Kong 3.9 updates an existing target with both (update_target_cb). */
static void tg_update(struct tr_admin_ctx *ctx)
{
    json_t *up, *tg;
    if (!target_of_path(ctx, &up, &tg))
        return;
    char *id = tr_xstrdup(doc_id(tg));
    json_t *must = json_pack("{s:O}", "upstream_id", json_object_get(up, "id"));
    json_t *fixed = json_pack("{s:{s:O}}", "upstream", "id", json_object_get(up, "id"));
    tr_admin3_patch(ctx, &targets, id, fixed, must);
    /* A target renamed leaves its old overrides behind: forget them. */
    json_t *now = NULL;
    if (tr_store_get(ctx->env->store, "targets", "id", id, &now) == 0 &&
        !json_equal(json_object_get(now, "target"), json_object_get(tg, "target")))
        tr_health_override_forget(doc_id(up), json_string_value(json_object_get(tg, "target")));
    json_decref(now);
    json_decref(fixed);
    json_decref(must);
    free(id);
    json_decref(tg);
    json_decref(up);
}

static void tg_delete(struct tr_admin_ctx *ctx)
{
    json_t *up, *tg;
    if (!target_of_path(ctx, &up, &tg))
        return;
    json_t *must = json_pack("{s:O}", "upstream_id", json_object_get(up, "id"));
    tr_admin3_delete(ctx, &targets, doc_id(tg), must);
    json_t *still = NULL;
    if (tr_store_get(ctx->env->store, "targets", "id", doc_id(tg), &still) == TR_ENOTFOUND)
        tr_health_override_forget(doc_id(up), json_string_value(json_object_get(tg, "target")));
    json_decref(still);
    json_decref(must);
    json_decref(tg);
    json_decref(up);
}

/* ---- health overrides --------------------------------------------------------------------- */

/* Kong's post_health reads an address as ip[:port], port 8000 when absent (as a target's). */
static bool normalize_address(const char *address, char *out, size_t len)
{
    char norm[TARGET_LEN];
    if (!tr_schema3_target_normalize(address, norm, sizeof(norm)))
        return false;
    /* Only addresses: a name is not one. */
    char c = norm[0];
    if (!(c == '[' || (c >= '0' && c <= '9')))
        return false;
    snprintf(out, len, "%s", norm);
    return true;
}

/* Set the addresses the node balances for target (or the one address) healthy or unhealthy at
 * once, for every worker: they read the same peers (balancer/health.h). The override recorded
 * beside it gives the same state to an address that appears later (a name resolving anew). */
static void set_peers(const char *upstream_id, const char *target, const char *address,
                      bool healthy)
{
    struct tr_health_registry *reg = tr_snapshot_health_registry();
    if (address == NULL) {
        tr_health_set_target(reg, upstream_id, target, healthy);
        return;
    }
    /* The peers of the published snapshot's balancer: held alive by it while we look. */
    struct tr_snapshot *snap = tr_snapshot_acquire();
    const struct tr_upstream *u = snap ? tr_snapshot_upstream(snap, upstream_id) : NULL;
    for (size_t i = 0; u && u->balancer && i < tr_balancer_count(u->balancer); i++) {
        const struct tr_lb_address *a = tr_balancer_address(u->balancer, i);
        bool v6 = strchr(a->host, ':') != NULL;
        char text[TARGET_LEN], norm[TARGET_LEN];
        snprintf(text, sizeof(text), "%s%s%s:%u", v6 ? "[" : "", a->host, v6 ? "]" : "", a->port);
        /* address came normalised (IPv6 expanded): compare like with like */
        if (strcmp(a->target, target) == 0 &&
            tr_schema3_target_normalize(text, norm, sizeof(norm)) && strcmp(norm, address) == 0)
            tr_peer_set_healthy(a->peer, healthy);
    }
    tr_snapshot_unref(snap);
}

static void set_health(struct tr_admin_ctx *ctx, bool healthy, bool with_address)
{
    json_t *up, *tg;
    if (!target_of_path(ctx, &up, &tg))
        return;
    char addr[TARGET_LEN];
    if (with_address && !normalize_address(ctx->params[2], addr, sizeof(addr))) {
        tr_admin_reply(ctx, 400, json_pack("{s:s}", "message", "invalid address"));
    } else {
        const char *target = json_string_value(json_object_get(tg, "target"));
        int rc = tr_health_override_set(doc_id(up), target, with_address ? addr : NULL, healthy);
        if (rc == 0)
            set_peers(doc_id(up), target, with_address ? addr : NULL, healthy);
        if (rc == 0)
            tr_admin_reply(ctx, 204, NULL);
        else
            tr_admin_reply(ctx, 400,
                           json_pack("{s:s}", "message", "too many health overrides on this node"));
    }
    json_decref(tg);
    json_decref(up);
}

static void tg_healthy(struct tr_admin_ctx *ctx)
{
    set_health(ctx, true, false);
}

static void tg_unhealthy(struct tr_admin_ctx *ctx)
{
    set_health(ctx, false, false);
}

static void addr_healthy(struct tr_admin_ctx *ctx)
{
    set_health(ctx, true, true);
}

static void addr_unhealthy(struct tr_admin_ctx *ctx)
{
    set_health(ctx, false, true);
}

/* ---- /upstreams/{u}/health ---------------------------------------------------------------- */

/* What /health reads: the upstream's balancer in the published snapshot (its addresses and
 * their health in the node's registry). */
struct health_ctx {
    const json_t *up;
    bool checks_on;
    const struct tr_balancer *b; /* NULL: no balancer (no target could be balanced) */
};

/* The port after a target's last ':' (targets are stored normalised: it is always there). */
static json_int_t port_of(const char *colon)
{
    uint64_t p = 0;
    if (colon == NULL || tr_str_to_u64(tr_str_from_cstr(colon + 1), 65535, &p) != 0)
        return 0;
    return (json_int_t)p;
}

/* The addresses of target in the balancer (Kong's getTargetStatus addresses, with the health
 * word of get_upstream_health), and their total and unavailable weight. */
static json_t *addresses_of(const struct health_ctx *h, const char *target, json_int_t *total,
                            json_int_t *unavailable)
{
    json_t *addrs = json_array();
    *total = *unavailable = 0;
    for (size_t i = 0; h->b != NULL && target != NULL && i < tr_balancer_count(h->b); i++) {
        const struct tr_lb_address *a = tr_balancer_address(h->b, i);
        if (strcmp(a->target, target) != 0)
            continue;
        *total += a->weight;
        if (!tr_balancer_address_available(h->b, a))
            *unavailable += a->weight;
        json_array_append_new(
            addrs, json_pack("{s:s,s:I,s:I,s:s}", "ip", a->host, "port", (json_int_t)a->port,
                             "weight", (json_int_t)a->weight, "health",
                             tr_lb_health_name(tr_balancer_address_health(h->b, a))));
    }
    return addrs;
}

/* One target with Kong's "health" and "data" (getTargetStatus's shape). */
static json_t *target_health(struct tr_admin_ctx *ctx, const json_t *tg, void *ud)
{
    const struct health_ctx *h = ud;
    json_t *out = tr_admin3_output(&targets, tg);
    const char *target = json_string_value(json_object_get(tg, "target"));
    json_int_t weight = json_integer_value(json_object_get(tg, "weight"));
    json_int_t total, unavailable;
    json_t *addrs = addresses_of(h, target, &total, &unavailable);
    enum tr_lb_health health =
        h->b && target ? tr_balancer_target_health(h->b, target) : TR_LB_DNS_ERROR;
    const char *colon = target ? strrchr(target, ':') : NULL;
    json_t *host = colon ? json_stringn(target, (size_t)(colon - target)) : json_string("");
    json_t *data = json_pack("{s:o,s:I,s:s,s:I,s:{s:I,s:I,s:I},s:o}", "host", host, "port",
                             port_of(colon), "dns", json_array_size(addrs) ? "A" : "not resolved",
                             "nodeWeight", weight, "weight", "total", total, "available",
                             total - unavailable, "unavailable", unavailable, "addresses", addrs);
    json_object_set_new(out, "health", json_string(tr_lb_health_name(health)));
    json_object_set_new(out, "data", data);
    (void)ctx;
    return out;
}

static void balancer_health(struct tr_admin_ctx *ctx, const struct health_ctx *h, json_t *rows)
{
    json_t *hosts = json_array();
    json_int_t total = 0, unavailable = 0;
    size_t i;
    json_t *tg;
    json_array_foreach(rows, i, tg)
    {
        json_t *t = target_health(ctx, tg, (void *)h);
        json_t *data = json_object_get(t, "data");
        json_t *w = json_object_get(data, "weight");
        total += json_integer_value(json_object_get(w, "total"));
        unavailable += json_integer_value(json_object_get(w, "unavailable"));
        json_array_append(hosts, data);
        json_decref(t);
    }
    bool healthy = h->b != NULL && tr_balancer_healthy(h->b);
    const char *bh = healthy ? "HEALTHY" : "UNHEALTHY";
    json_t *data = json_pack("{s:s,s:s,s:O,s:{s:b,s:{s:I,s:I,s:I},s:o}}", "health",
                             h->checks_on ? bh : "HEALTHCHECKS_OFF", "balancer_health", bh, "id",
                             json_object_get(h->up, "id"), "details", "healthy", healthy, "weight",
                             "total", total, "available", total - unavailable, "unavailable",
                             unavailable, "hosts", hosts);
    tr_admin_reply(ctx, 200,
                   json_pack("{s:o,s:n,s:s}", "data", data, "next", "node_id", tr_admin_node_id()));
}

static void up_health(struct tr_admin_ctx *ctx)
{
    json_t *up = parent_upstream(ctx);
    if (up == NULL)
        return;
    struct tr_snapshot *snap = tr_snapshot_acquire();
    const struct tr_upstream *u = snap ? tr_snapshot_upstream(snap, doc_id(up)) : NULL;
    struct health_ctx h = {up, tr_schema3_upstream_healthchecks_on(up), u ? u->balancer : NULL};
    json_t *rows = targets_of(ctx, doc_id(up));
    if (rows != NULL) {
        json_t *sorted = sorted_newest_first(rows);
        const json_t *bh = json_object_get(ctx->query, "balancer_health");
        size_t start, size;
        if (json_is_string(bh) && strcmp(json_string_value(bh), "1") == 0) {
            balancer_health(ctx, &h, sorted);
        } else if (page_args(ctx, &start, &size) == 0) {
            json_t *body = json_object();
            paged_body(ctx, body, sorted, start, size, target_health, &h);
            json_object_set_new(body, "node_id", json_string(tr_admin_node_id()));
            tr_admin_reply(ctx, 200, body);
        }
        json_decref(sorted);
        json_decref(rows);
    }
    tr_snapshot_unref(snap);
    json_decref(up);
}

/* ---- kong_upstream_target_health (GET /metrics) -------------------------------------------- */

static const struct tr_metric_family target_health_family = {
    "kong_upstream_target_health",
    "Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, "
    "value is 1 when state is populated.",
    TR_METRIC_GAUGE, NULL, 0};

struct health_metrics {
    const struct tr_snapshot *snap;
    struct tr_metrics_out *out;
};

/* Kong's four lines for one address of a target: 1 for its state, 0 for the others. */
static void health_lines(struct tr_metrics_out *out, const char *upstream, const char *target,
                         const char *address, enum tr_lb_health h)
{
    static const struct {
        const char *name;
        enum tr_lb_health h;
    } states[] = {{"healthchecks_off", TR_LB_HEALTHCHECKS_OFF},
                  {"healthy", TR_LB_HEALTHY},
                  {"unhealthy", TR_LB_UNHEALTHY},
                  {"dns_error", TR_LB_DNS_ERROR}};
    char up[256], tg[320], ad[128], labels[1024];
    tr_metrics_escape(up, sizeof(up), upstream, strlen(upstream));
    tr_metrics_escape(tg, sizeof(tg), target, strlen(target));
    tr_metrics_escape(ad, sizeof(ad), address, strlen(address));
    for (size_t i = 0; i < TR_ARRAY_SIZE(states); i++) {
        snprintf(labels, sizeof(labels),
                 "upstream=\"%s\",target=\"%s\",address=\"%s\",state=\"%s\",subsystem=\"http\"", up,
                 tg, ad, states[i].name);
        tr_metrics_out_add(out, &target_health_family, labels, states[i].h == h ? 1 : 0);
    }
}

static int target_health_metric(json_t *tg, void *ud)
{
    struct health_metrics *m = ud;
    const char *target = json_string_value(json_object_get(tg, "target"));
    const char *up_id = json_string_value(json_object_get(json_object_get(tg, "upstream"), "id"));
    if (up_id == NULL)
        up_id = json_string_value(json_object_get(tg, "upstream_id"));
    const struct tr_upstream *u = up_id ? tr_snapshot_upstream(m->snap, up_id) : NULL;
    if (target == NULL || u == NULL)
        return 0;
    const struct tr_balancer *b = u->balancer;
    bool any = false;
    char addr[96];
    for (size_t i = 0; b != NULL && i < tr_balancer_count(b); i++) {
        const struct tr_lb_address *a = tr_balancer_address(b, i);
        if (strcmp(a->target, target) != 0)
            continue;
        any = true;
        bool v6 = strchr(a->host, ':') != NULL;
        snprintf(addr, sizeof(addr), "%s%s%s:%u", v6 ? "[" : "", a->host, v6 ? "]" : "",
                 (unsigned)a->port);
        health_lines(m->out, u->name, target, addr, tr_balancer_address_health(b, a));
    }
    if (!any)
        health_lines(m->out, u->name, target, "", TR_LB_DNS_ERROR);
    return 0;
}

void tr__admin_upstream_health_metrics(struct tr_admin_ctx *ctx, struct tr_metrics_out *out)
{
    struct tr_snapshot *snap = tr_snapshot_acquire();
    if (snap == NULL || ctx->env->store == NULL) {
        tr_snapshot_unref(snap);
        return;
    }
    struct health_metrics m = {snap, out};
    tr_store_foreach(ctx->env->store, "targets", target_health_metric, &m);
    tr_snapshot_unref(snap);
}

const struct tr_admin_endpoint tr_admin_upstreams_endpoints[] = {
    {"/upstreams", .get = up_list, .post = up_create,
     .help = "list (?size, ?offset, ?tags) or create Kong 3 upstreams"},
    {"/upstreams/{upstream}", .get = up_get, .put = up_put, .patch = up_patch, .del = up_delete,
     .help = "read, create-or-replace, update or delete one upstream by id or name"},
    {"/upstreams/{upstream}/health", .get = up_health,
     .help = "the targets of an upstream with their health (?balancer_health=1: the upstream's)"},
    {"/upstreams/{upstream}/targets", .get = tg_list, .post = tg_create,
     .help = "list the targets of an upstream (newest first), or add one"},
    {"/upstreams/{upstream}/targets/all", .get = tg_all,
     .help = "list every target of an upstream, in the order they were added"},
    {"/upstreams/{upstream}/targets/{target}", .get = tg_get, .put = tg_update, .patch = tg_update,
     .del = tg_delete, .help = "one target of an upstream, by id or host:port"},
    {"/upstreams/{upstream}/targets/{target}/healthy", .put = tg_healthy, .post = tg_healthy,
     .help = "mark a target healthy on this node", .node_state = true},
    {"/upstreams/{upstream}/targets/{target}/unhealthy", .put = tg_unhealthy, .post = tg_unhealthy,
     .help = "mark a target unhealthy on this node", .node_state = true},
    {"/upstreams/{upstream}/targets/{target}/{address}/healthy", .put = addr_healthy,
     .post = addr_healthy, .help = "mark one address of a target healthy on this node",
     .node_state = true},
    {"/upstreams/{upstream}/targets/{target}/{address}/unhealthy", .put = addr_unhealthy,
     .post = addr_unhealthy, .help = "mark one address of a target unhealthy on this node",
     .node_state = true},
};
const size_t tr_admin_upstreams_endpoints_cnt =
    sizeof(tr_admin_upstreams_endpoints) / sizeof(tr_admin_upstreams_endpoints[0]);
