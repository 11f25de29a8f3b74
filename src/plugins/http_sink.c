/* SPDX-License-Identifier: MIT */
/* Sinks of records sent over HTTP (http_sink.h): one per destination and worker. */
#include "plugins/http_sink.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "http/client.h"
#include "http/tls.h"
#include "plugins/plugin.h"
#include "schema/schema.h"

/* A sink keeps a copy of its target: configs live only as long as their snapshot; the queue
 * outlives them. */
struct sink {
    struct tr_log_queue *queue;
    struct worker_sinks *owner;
    char *plugin, *host, *path, *method, *content_type, *auth, *headers, *extra;
    size_t extra_len;
    uint16_t port;
    bool tls;
    uint32_t timeout_ms, keepalive_ms;
    bool single;    /* max_batch_size 1 */
    bool unlimited; /* concurrency_limit -1: a client per batch */
    tr_http_sink_body_fn body;
    struct tr_http_client *client;
    const void *conf_seen; /* the config whose headers and extra are in use */
    uint64_t version_seen;
    uint64_t dropped_counted;
    struct sink *next;
};

struct worker_sinks {
    uv_loop_t *loop;
    struct tr_tls_client *tls; /* made on first https endpoint */
    struct sink *sinks;
};

static const struct tr_metric_family dropped_family = {
    "torii_log_entries_dropped_total",
    "Log entries dropped by a logging plugin's queue (full, or retries given up)",
    TR_METRIC_COUNTER, NULL, 0};

static void on_sent(void *ud, int status, const char *err, const char *body)
{
    struct tr_log_batch *b = ud;
    const struct sink *k = tr_log_queue_ud(b->queue);
    char msg[1024];
    if (status >= 100 && status < 300) {
        tr_log_debug("%s sent data log server, %s:%u HTTP status %d", k->plugin, k->host,
                     (unsigned)k->port, status);
        tr_log_batch_done(b, true, NULL);
        return;
    }
    if (status == 0)
        snprintf(msg, sizeof(msg), "failed request to %s:%u: %s", k->host, (unsigned)k->port,
                 err ? err : "error");
    else
        snprintf(msg, sizeof(msg), "request to %s:%u returned status code %d and body %s", k->host,
                 (unsigned)k->port, status, body ? body : "");
    tr_log_batch_done(b, false, msg);
}

static struct tr_http_client *client_for(struct sink *s, struct tr_log_batch *b)
{
    struct tr_tls_client *tls = NULL;
    if (s->tls) {
        if (s->owner->tls == NULL) {
            char err[256];
            s->owner->tls = tr_tls_client_new(false, NULL, NULL, err, sizeof(err));
            if (s->owner->tls == NULL)
                tr_log_error("%s: no TLS client context: %s", s->plugin, err);
        }
        tls = s->owner->tls;
        if (tls == NULL)
            return NULL;
    }
    if (s->unlimited) {
        if (b->sender == NULL)
            b->sender = tr_http_client_new(s->owner->loop, s->host, s->port, tls, s->timeout_ms, 0);
        return b->sender;
    }
    if (s->client == NULL)
        s->client = tr_http_client_new(s->owner->loop, s->host, s->port, tls, s->timeout_ms,
                                       s->keepalive_ms);
    return s->client;
}

static void send_batch(void *ud, struct tr_log_batch *b)
{
    struct sink *s = ud;
    struct tr_http_client *client = client_for(s, b);
    if (client == NULL) {
        tr_log_batch_done(b, false, "no TLS client context");
        return;
    }
    size_t body_len;
    char *body = s->body(b, s->single, s->extra, s->extra_len, &body_len);
    bool v6 = strchr(s->host, ':') != NULL;
    bool default_port = s->port == (s->tls ? 443 : 80);
    char port[8] = "";
    if (!default_port)
        snprintf(port, sizeof(port), ":%u", (unsigned)s->port);
    size_t hcap = strlen(s->path) + strlen(s->host) + strlen(s->headers) +
                  (s->auth ? strlen(s->auth) : 0) + strlen(s->content_type) + 256;
    char *head = tr_xmalloc(hcap);
    int hl = snprintf(head, hcap,
                      "%s %s HTTP/1.1\r\nHost: %s%s%s%s\r\nUser-Agent: torii/" TR_VERSION
                      "\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s%s%s\r\n",
                      s->method, s->path, v6 ? "[" : "", s->host, v6 ? "]" : "", port,
                      s->content_type, body_len, s->auth ? "Authorization: " : "",
                      s->auth ? s->auth : "", s->auth ? "\r\n" : "", s->headers);
    int rc = tr_http_client_send(client, head, (size_t)hl, body, body_len, on_sent, b);
    free(head);
    free(body);
    if (rc != 0)
        tr_log_batch_done(b, false, "a request is in flight");
}

static void release_batch(void *ud, struct tr_log_batch *b)
{
    (void)ud;
    tr_http_client_free(b->sender);
    b->sender = NULL;
}

static void sink_free(struct sink *s)
{
    tr_log_queue_free(s->queue);
    tr_http_client_free(s->client);
    free(s->plugin);
    free(s->host);
    free(s->path);
    free(s->method);
    free(s->content_type);
    free(s->auth);
    free(s->headers);
    free(s->extra);
    free(s);
}

static char *copy_bytes(const char *p, size_t n)
{
    char *out = tr_xmalloc(n + 1);
    if (n)
        memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

static struct sink *sink_for(struct worker_sinks *w, struct tr_ctx *ctx,
                             const struct tr_http_sink_target *t, const void *conf)
{
    struct sink *s = w->sinks;
    while (s != NULL && strcmp(tr_log_queue_name(s->queue), t->queue_name) != 0)
        s = s->next;
    if (s == NULL) {
        s = tr_xcalloc(1, sizeof(*s));
        s->owner = w;
        s->plugin = tr_xstrdup(t->plugin);
        s->host = tr_xstrdup(t->host);
        s->path = tr_xstrdup(t->path);
        s->method = tr_xstrdup(t->method);
        s->content_type = tr_xstrdup(t->content_type);
        s->auth = t->auth ? tr_xstrdup(t->auth) : NULL;
        s->port = t->port;
        s->tls = t->tls;
        s->timeout_ms = t->timeout_ms;
        s->keepalive_ms = t->keepalive_ms;
        s->single = t->queue->max_batch_size == 1;
        s->unlimited = t->queue->concurrency_limit < 0;
        s->body = t->body;
        char tag[96];
        snprintf(tag, sizeof(tag), "%s plugin %s", t->plugin, tr_ctx_plugin_id(ctx));
        s->queue =
            tr_log_queue_new(w->loop, tag, t->queue_name, t->queue, send_batch, release_batch, s);
        s->next = w->sinks;
        w->sinks = s;
    }
    uint64_t version = tr_ctx_config_version(ctx);
    if (s->conf_seen != conf || s->version_seen != version) {
        free(s->headers);
        free(s->extra);
        s->headers = tr_xstrdup(t->headers_text);
        s->extra = copy_bytes(t->extra ? t->extra : "", t->extra_len);
        s->extra_len = t->extra_len;
        s->conf_seen = conf;
        s->version_seen = version;
    }
    return s;
}

void tr_http_sink_add(struct tr_ctx *ctx, const struct tr_http_sink_target *target,
                      const void *conf, char *entry, size_t len)
{
    void **slot = tr_ctx_worker_slot(ctx);
    if (*slot == NULL) {
        struct worker_sinks *w = tr_xcalloc(1, sizeof(*w));
        w->loop = tr_ctx_loop(ctx);
        *slot = w;
    }
    struct sink *s = sink_for(*slot, ctx, target, conf);
    if (tr_log_queue_add(s->queue, entry, len) != 0)
        tr_log_error("Failed to enqueue log entry to log server");
    uint64_t dropped = tr_log_queue_dropped(s->queue);
    if (dropped > s->dropped_counted) {
        char label[64];
        int n = snprintf(label, sizeof(label), "plugin=\"%s\"", s->plugin);
        tr_metrics_add(
            tr_metrics_series_get(tr_ctx_metrics(ctx), &dropped_family, label, (size_t)n),
            dropped - s->dropped_counted);
        s->dropped_counted = dropped;
    }
}

void tr_http_sink_worker_free(void *slot)
{
    struct worker_sinks *w = slot;
    while (w->sinks != NULL) {
        struct sink *s = w->sinks;
        w->sinks = s->next;
        sink_free(s);
    }
    tr_tls_client_free(w->tls);
    free(w);
}

/* ---- endpoints ---------------------------------------------------------------------------- */

const char *tr_http_endpoint_parse(const char *url, struct tr_http_endpoint *e)
{
    memset(e, 0, sizeof(*e));
    const char *sep = strstr(url, "://");
    if (sep == NULL || sep == url)
        return "missing scheme in url";
    size_t sl = (size_t)(sep - url);
    if (sl >= sizeof(e->scheme))
        return "could not parse url. unsupported scheme";
    for (size_t i = 0; i < sl; i++)
        e->scheme[i] = (char)tolower((unsigned char)url[i]);
    if (strcmp(e->scheme, "http") != 0 && strcmp(e->scheme, "https") != 0)
        return "could not parse url. scheme must be http or https";
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', alen);
    const char *hp = auth;
    if (at != NULL) {
        size_t ul = (size_t)(at - auth);
        if (ul >= sizeof(e->userinfo))
            return "could not parse url. user info too long";
        memcpy(e->userinfo, auth, ul);
        hp = at + 1;
    }
    size_t hplen = (size_t)(auth + alen - hp);
    const char *colon = NULL;
    if (hplen > 0 && hp[0] == '[') {
        const char *rb = memchr(hp, ']', hplen);
        if (rb == NULL)
            return "could not parse url. bad IPv6 address";
        if ((size_t)(rb - hp - 1) >= sizeof(e->host))
            return "could not parse url. host too long";
        memcpy(e->host, hp + 1, (size_t)(rb - hp - 1));
        colon = rb + 1 < hp + hplen && rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(hp, ':', hplen);
        size_t hl = colon ? (size_t)(colon - hp) : hplen;
        if (hl >= sizeof(e->host))
            return "could not parse url. host too long";
        memcpy(e->host, hp, hl);
    }
    if (e->host[0] == '\0')
        return "missing host in url";
    for (const char *p = e->host; *p; p++) {
        if (!isalnum((unsigned char)*p) && !strchr(".-_:", *p))
            return "could not parse url. bad host";
    }
    e->port = strcmp(e->scheme, "https") == 0 ? 443 : 80;
    if (colon != NULL) {
        const char *ps = colon + 1;
        size_t pl = (size_t)(auth + alen - ps);
        unsigned long port = 0;
        for (size_t i = 0; i < pl; i++) {
            if (!isdigit((unsigned char)ps[i]) || port > 65535)
                return "could not parse url. bad port";
            port = port * 10 + (unsigned long)(ps[i] - '0');
        }
        if (pl == 0 || port == 0 || port > 65535)
            return "could not parse url. bad port";
        e->port = (uint16_t)port;
    }
    const char *path = auth + alen;
    size_t plen = strcspn(path, "?#");
    if (plen == 0 || path[0] != '/')
        snprintf(e->path, sizeof(e->path), "/");
    else if (plen < sizeof(e->path))
        memcpy(e->path, path, plen);
    else
        return "could not parse url. path too long";
    for (const char *p = e->path; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return "could not parse url. bad path";
    }
    return NULL;
}

/* ---- the headers a config adds ------------------------------------------------------------ */

/* A map of header names (typedefs.header_name) to non-empty strings without control bytes,
 * never Host, Content-Length nor (unless content_type_ok) Content-Type. */
static int check_headers_map(json_t *rec, const char *name, bool content_type_ok, char *msg,
                             size_t msg_len)
{
    const json_t *h = json_object_get(rec, name);
    if (h == NULL || json_is_null(h))
        return 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)h, k, v)
    {
        static const char *const refused[] = {"Host", "Content-Length", "Content-Type"};
        for (size_t i = 0; i < TR_ARRAY_SIZE(refused) - (content_type_ok ? 1 : 0); i++) {
            if (strcasecmp(k, refused[i]) == 0) {
                snprintf(msg, msg_len, "cannot contain '%s' header", refused[i]);
                return TR_EINVAL;
            }
        }
        if (k[0] == '\0') {
            snprintf(msg, msg_len, "length must be at least 1");
            return TR_EINVAL;
        }
        if (!tr_schema_header_name_ok(k, strlen(k), msg, msg_len))
            return TR_EINVAL;
        if (!json_is_string(v)) {
            snprintf(msg, msg_len, "expected a string");
            return TR_EINVAL;
        }
        if (json_string_length(v) == 0) {
            snprintf(msg, msg_len, "length must be at least 1");
            return TR_EINVAL;
        }
        for (const char *p = json_string_value(v); *p; p++) {
            if ((unsigned char)*p < 0x20 && *p != '\t') {
                snprintf(msg, msg_len, "header values must not contain control characters");
                return TR_EINVAL;
            }
        }
    }
    return 0;
}

int tr_http_sink_check_headers(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    return check_headers_map(rec, name, false, msg, msg_len);
}

int tr_http_sink_check_headers_ct(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    return check_headers_map(rec, name, true, msg, msg_len);
}

char *tr_http_sink_headers_text(const json_t *h, const char *skip)
{
    size_t cap = 1;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)h, k, v) cap += strlen(k) + json_string_length(v) + 4;
    char *out = tr_xmalloc(cap);
    size_t at = 0;
    out[0] = '\0';
    json_object_foreach((json_t *)h, k, v)
    {
        if (json_is_string(v) && !(skip && strcmp(k, skip) == 0))
            at += (size_t)snprintf(out + at, cap - at, "%s: %s\r\n", k, json_string_value(v));
    }
    return out;
}
