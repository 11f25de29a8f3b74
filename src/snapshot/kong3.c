/* SPDX-License-Identifier: MIT */
/* Kong 3.x services and routes from the store into plain structs (kong3.h). */
#include "snapshot/kong3.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "core/mem.h"
#include "store/store.h"

static char *str_or_null(const json_t *doc, const char *f)
{
    const char *s = json_string_value(json_object_get(doc, f));
    return s ? tr_xstrdup(s) : NULL;
}

static int int_or(const json_t *doc, const char *f, int dflt)
{
    const json_t *v = json_object_get(doc, f);
    return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

static bool bool_or(const json_t *doc, const char *f, bool dflt)
{
    const json_t *v = json_object_get(doc, f);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static void strs_of(const json_t *arr, struct tr_k3_strs *out)
{
    out->items = NULL;
    out->cnt = 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return;
    out->items = tr_xmalloc(json_array_size(arr) * sizeof(*out->items));
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v))
            out->items[out->cnt++] = tr_xstrdup(json_string_value(v));
    }
}

static void strs_free(struct tr_k3_strs *s)
{
    for (size_t i = 0; i < s->cnt; i++)
        free(s->items[i]);
    free(s->items);
    s->items = NULL;
    s->cnt = 0;
}

static void service_parse(const json_t *doc, struct tr_k3_service *s)
{
    memset(s, 0, sizeof(*s));
    s->id = str_or_null(doc, "id");
    s->name = str_or_null(doc, "name");
    s->protocol = str_or_null(doc, "protocol");
    s->host = str_or_null(doc, "host");
    s->port = int_or(doc, "port", 80);
    s->path = str_or_null(doc, "path");
    s->retries = int_or(doc, "retries", 5);
    s->connect_timeout = int_or(doc, "connect_timeout", 60000);
    s->write_timeout = int_or(doc, "write_timeout", 60000);
    s->read_timeout = int_or(doc, "read_timeout", 60000);
    s->enabled = bool_or(doc, "enabled", true);
    const json_t *tv = json_object_get(doc, "tls_verify");
    s->tls_verify = json_is_boolean(tv) ? json_is_true(tv) : -1;
    s->tls_verify_depth = int_or(doc, "tls_verify_depth", -1);
    s->client_certificate_id = str_or_null(doc, "client_certificate_id");
    strs_of(json_object_get(doc, "ca_certificates"), &s->ca_certificates);
    strs_of(json_object_get(doc, "tags"), &s->tags);
    s->doc = json_incref((json_t *)doc);
}

static int on_service(json_t *doc, void *ud)
{
    struct tr_k3_config *c = ud;
    c->services = tr_xrealloc(c->services, (c->service_cnt + 1) * sizeof(*c->services));
    service_parse(doc, &c->services[c->service_cnt++]);
    return 0;
}

static void route_parse(const json_t *doc, struct tr_k3_route *r)
{
    memset(r, 0, sizeof(*r));
    r->id = str_or_null(doc, "id");
    r->name = str_or_null(doc, "name");
    r->service_id = str_or_null(doc, "service_id");
    strs_of(json_object_get(doc, "protocols"), &r->protocols);
    strs_of(json_object_get(doc, "methods"), &r->methods);
    strs_of(json_object_get(doc, "hosts"), &r->hosts);
    strs_of(json_object_get(doc, "paths"), &r->paths);
    strs_of(json_object_get(doc, "snis"), &r->snis);
    strs_of(json_object_get(doc, "tags"), &r->tags);
    const json_t *h = json_object_get(doc, "headers");
    if (json_is_object(h) && json_object_size(h) > 0) {
        r->headers = tr_xmalloc(json_object_size(h) * sizeof(*r->headers));
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)h, k, v)
        {
            struct tr_k3_header *hd = &r->headers[r->header_cnt++];
            hd->name = tr_xstrdup(k);
            strs_of(v, &hd->values);
        }
    }
    r->strip_path = bool_or(doc, "strip_path", true);
    r->preserve_host = bool_or(doc, "preserve_host", false);
    r->request_buffering = bool_or(doc, "request_buffering", true);
    r->response_buffering = bool_or(doc, "response_buffering", true);
    r->regex_priority = int_or(doc, "regex_priority", 0);
    r->https_redirect_status_code = int_or(doc, "https_redirect_status_code", 426);
    const char *ph = json_string_value(json_object_get(doc, "path_handling"));
    r->path_handling_v1 = ph != NULL && strcmp(ph, "v1") == 0;
    const json_t *ca = json_object_get(doc, "created_at");
    r->created_at = json_is_integer(ca) ? (long long)json_integer_value(ca) : 0;
    r->doc = json_incref((json_t *)doc);
}

static int on_route(json_t *doc, void *ud)
{
    struct tr_k3_config *c = ud;
    c->routes = tr_xrealloc(c->routes, (c->route_cnt + 1) * sizeof(*c->routes));
    route_parse(doc, &c->routes[c->route_cnt++]);
    return 0;
}

static int on_doc(json_t *doc, void *ud)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (id != NULL)
        json_object_set(ud, id, doc);
    return 0;
}

int tr_snap_k3_load(struct tr_store *store, struct tr_k3_config *out)
{
    memset(out, 0, sizeof(*out));
    out->upstreams = json_object();
    out->targets = json_object();
    if (tr_store_foreach(store, "services", on_service, out) != 0 ||
        tr_store_foreach(store, "routes", on_route, out) != 0 ||
        tr_store_foreach(store, "upstreams", on_doc, out->upstreams) != 0 ||
        tr_store_foreach(store, "targets", on_doc, out->targets) != 0) {
        tr_snap_k3_free(out);
        return TR_EDB;
    }
    return 0;
}

const struct tr_k3_service *tr_snap_k3_service(const struct tr_k3_config *c, const char *id)
{
    for (size_t i = 0; id != NULL && i < c->service_cnt; i++) {
        if (c->services[i].id != NULL && strcmp(c->services[i].id, id) == 0)
            return &c->services[i];
    }
    return NULL;
}

static void service_free(struct tr_k3_service *s)
{
    free(s->id);
    free(s->name);
    free(s->protocol);
    free(s->host);
    free(s->path);
    free(s->client_certificate_id);
    strs_free(&s->ca_certificates);
    strs_free(&s->tags);
    json_decref(s->doc);
}

static void route_free(struct tr_k3_route *r)
{
    free(r->id);
    free(r->name);
    free(r->service_id);
    strs_free(&r->protocols);
    strs_free(&r->methods);
    strs_free(&r->hosts);
    strs_free(&r->paths);
    strs_free(&r->snis);
    strs_free(&r->tags);
    for (size_t j = 0; j < r->header_cnt; j++) {
        free(r->headers[j].name);
        strs_free(&r->headers[j].values);
    }
    free(r->headers);
    json_decref(r->doc);
}

/* In the array arr of cnt rows (each with an id): replace the row id with doc, append it when
 * absent, or remove it when doc is NULL. parse fills a row from doc, drop frees one. */
#define APPLY_ROW(arr, cnt, id, doc, parse, drop)                                                  \
    do {                                                                                           \
        size_t i_ = 0;                                                                             \
        while (i_ < (cnt) && ((arr)[i_].id == NULL || strcmp((arr)[i_].id, (id)) != 0))            \
            i_++;                                                                                  \
        if (i_ < (cnt))                                                                            \
            drop(&(arr)[i_]);                                                                      \
        if ((doc) == NULL) {                                                                       \
            if (i_ < (cnt)) {                                                                      \
                memmove(&(arr)[i_], &(arr)[i_ + 1], ((cnt)-i_ - 1) * sizeof(*(arr)));              \
                (cnt)--;                                                                           \
            }                                                                                      \
            break;                                                                                 \
        }                                                                                          \
        if (i_ == (cnt)) {                                                                         \
            (arr) = tr_xrealloc((arr), ((cnt) + 1) * sizeof(*(arr)));                              \
            (cnt)++;                                                                               \
        }                                                                                          \
        parse((doc), &(arr)[i_]);                                                                  \
    } while (0)

/* An upstream or target row: replaced in place (jansson keeps an updated key where it was),
 * added last, or removed with, for an upstream, its targets. */
static void apply_doc(struct tr_k3_config *c, const char *entity, const char *id, const json_t *doc)
{
    bool ups = strcmp(entity, "upstreams") == 0;
    json_t *rows = ups ? c->upstreams : c->targets;
    if (rows == NULL)
        return;
    if (doc != NULL) {
        json_object_set(rows, id, (json_t *)doc);
        return;
    }
    json_object_del(rows, id);
    if (!ups || c->targets == NULL)
        return;
    const char *tid;
    json_t *tg, *tmp;
    json_object_foreach_safe(c->targets, tmp, tid, tg)
    {
        const char *uid = json_string_value(json_object_get(tg, "upstream_id"));
        if (uid != NULL && strcmp(uid, id) == 0)
            json_object_del(c->targets, tid);
    }
}

bool tr_snap_k3_apply(struct tr_k3_config *c, const char *entity, const char *id, const json_t *doc)
{
    if (entity == NULL || id == NULL)
        return false;
    if (strcmp(entity, "services") == 0)
        APPLY_ROW(c->services, c->service_cnt, id, doc, service_parse, service_free);
    else if (strcmp(entity, "routes") == 0)
        APPLY_ROW(c->routes, c->route_cnt, id, doc, route_parse, route_free);
    else if (strcmp(entity, "upstreams") == 0 || strcmp(entity, "targets") == 0)
        apply_doc(c, entity, id, doc);
    else
        return false;
    return true;
}

void tr_snap_k3_free(struct tr_k3_config *c)
{
    for (size_t i = 0; i < c->service_cnt; i++)
        service_free(&c->services[i]);
    for (size_t i = 0; i < c->route_cnt; i++)
        route_free(&c->routes[i]);
    free(c->services);
    free(c->routes);
    json_decref(c->upstreams);
    json_decref(c->targets);
    memset(c, 0, sizeof(*c));
}
