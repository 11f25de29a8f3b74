/* SPDX-License-Identifier: MIT */
/* http-log (Kong 3.9): each request's serialized JSON (tr_ctx_log_serialize) goes into a queue
 * of the worker (log_queue.h), which sends it to http_endpoint in batches with
 * http/client.h, off the request's path: a receiver that is down, slow or answers 500 never
 * delays or fails a proxied request. As Kong:
 *   - instances with the same endpoint, method, content type, timeout and keepalive share one
 *     queue per worker, with the queue settings of the instance that made it; headers follow
 *     the latest config;
 *   - a batch of max_batch_size 1 is one JSON object, otherwise a JSON array;
 *   - user:password in the URL becomes Basic authorization, the URL's query is not sent;
 *   - any status of 300 or more, or no answer, is a failure, retried per queue.*;
 *   - retry_count, queue_size and flush_timeout are Kong's deprecated settings: the last two
 *     still set queue.max_batch_size and queue.max_coalescing_delay.
 * Entries dropped by a full queue are logged and counted in
 * torii_log_entries_dropped_total{plugin="http-log"} (GET /metrics). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "plugins/http_sink.h"
#include "plugins/log_common.h"
#include "plugins/log_queue.h"
#include "plugins/plugin.h"
#include "schema/schema.h"

struct http_log_conf {
    char *http_endpoint, *method, *content_type; /* owned */
    double timeout, keepalive;                   /* ms */
    int64_t retry_count, queue_size;             /* deprecated (0: unset) */
    double flush_timeout;                        /* deprecated (0: unset) */
    struct tr_log_queue_conf queue;
    /* derived by conf_parse */
    char *host; /* owned; without brackets */
    uint16_t port;
    bool tls;
    char *path;         /* owned; "/" at least, no query */
    char *auth;         /* owned; "Basic <base64(userinfo)>", or NULL */
    char *headers_text; /* owned; "Name: value\r\n" for each configured header */
    char *queue_name;   /* owned; what shares a queue */
};

static int check_endpoint(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const json_t *v = json_object_get(rec, name);
    if (!json_is_string(v))
        return 0;
    struct tr_http_endpoint e;
    const char *why = tr_http_endpoint_parse(json_string_value(v), &e);
    if (why == NULL)
        return 0;
    snprintf(msg, msg_len, "%s", why);
    return TR_EINVAL;
}

/* ---- schema ------------------------------------------------------------------------------- */

static const char *const methods[] = {"POST", "PUT", "PATCH", NULL};
static const char *const content_types[] = {"application/json", "application/json; charset=utf-8",
                                            NULL};
static const struct tr_schema_field queue_fields[] = {TR_LOG_QUEUE_FIELDS("1")};

static const struct tr_schema queue_schema = {
    .name = "queue",
    .fields = queue_fields,
    .cnt = TR_ARRAY_SIZE(queue_fields),
};

/* Kong's record check: user info in the URL and an Authorization header are one too many. */
static int self_check(json_t *rec, enum tr_schema_mode mode, char *msg, size_t msg_len)
{
    (void)mode;
    const json_t *url = json_object_get(rec, "http_endpoint");
    const json_t *h = json_object_get(rec, "headers");
    struct tr_http_endpoint e;
    if (!json_is_string(url) || !json_is_object(h) ||
        tr_http_endpoint_parse(json_string_value(url), &e) != NULL || e.userinfo[0] == '\0')
        return 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)h, k, v)
    {
        if (strcasecmp(k, "authorization") == 0) {
            snprintf(msg, msg_len,
                     "specifying both an 'Authorization' header and user info in "
                     "'http_endpoint' is not allowed");
            return TR_EINVAL;
        }
    }
    return 0;
}

static const struct tr_schema_field conf_fields[] = {
    {.name = "http_endpoint",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED,
     .check = check_endpoint,
     .help = "http(s)://[user:password@]host[:port]/path the entries go to",
     TR_SCHEMA_BIND(struct http_log_conf, http_endpoint)},
    {.name = "method",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED,
     .dflt = "\"POST\"",
     .one_of = methods,
     .help = "POST, PUT or PATCH",
     TR_SCHEMA_BIND(struct http_log_conf, method)},
    {.name = "content_type",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED,
     .dflt = "\"application/json\"",
     .one_of = content_types,
     .help = "the Content-Type of the requests",
     TR_SCHEMA_BIND(struct http_log_conf, content_type)},
    TR_LOG_MS_ROW(struct http_log_conf, timeout, "10000",
                  "ms for each step of a request (connect, send, read)"),
    TR_LOG_MS_ROW(struct http_log_conf, keepalive, "60000",
                  "ms an idle connection to the endpoint is kept"),
    {.name = "retry_count",
     .type = TR_SCHEMA_INTEGER,
     .help = "deprecated (Kong): use queue.max_retry_time",
     TR_SCHEMA_BIND(struct http_log_conf, retry_count)},
    {.name = "queue_size",
     .type = TR_SCHEMA_INTEGER,
     .help = "deprecated (Kong): use queue.max_batch_size",
     TR_SCHEMA_BIND(struct http_log_conf, queue_size)},
    {.name = "flush_timeout",
     .type = TR_SCHEMA_NUMBER,
     .help = "deprecated (Kong): use queue.max_coalescing_delay",
     TR_SCHEMA_BIND(struct http_log_conf, flush_timeout)},
    {.name = "headers",
     .type = TR_SCHEMA_RECORD,
     .check = tr_http_sink_check_headers,
     .help = "headers added to every request (a map of name to value)"},
    {.name = "queue",
     .type = TR_SCHEMA_RECORD,
     .record = &queue_schema,
     .help = "Kong's queue settings",
     TR_SCHEMA_BIND(struct http_log_conf, queue)},
    TR_SCHEMA_FIELD_NO_LUA,
};

static const struct tr_schema conf_schema = {
    .name = "http-log",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
    .self_check = self_check,
};

static void conf_free(void *p)
{
    struct http_log_conf *c = p;
    if (c == NULL)
        return;
    free(c->host);
    free(c->path);
    free(c->auth);
    free(c->headers_text);
    free(c->queue_name);
    tr_schema_free_struct(&conf_schema, p);
}

static char *basic_auth(const char *userinfo)
{
    size_t n = strlen(userinfo);
    char *out = tr_xmalloc(6 + 4 * ((n + 2) / 3) + 1);
    memcpy(out, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)userinfo, (int)n);
    return out;
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    struct http_log_conf *c = tr_schema_parse_new(&conf_schema, config, sizeof(*c));
    struct tr_http_endpoint e;
    const char *why = c->http_endpoint ? tr_http_endpoint_parse(c->http_endpoint, &e) : "required";
    if (why != NULL) {
        snprintf(err, err_len, "http_endpoint: %s", why);
        conf_free(c);
        return NULL;
    }
    /* Kong's legacy conversion (Queue.get_plugin_params): values other than the old defaults */
    if (c->queue_size > 0 && c->queue_size != 1)
        c->queue.max_batch_size = c->queue_size;
    if (c->flush_timeout > 0 && c->flush_timeout != 2)
        c->queue.max_coalescing_delay = c->flush_timeout;
    c->host = tr_xstrdup(e.host);
    c->port = e.port;
    c->tls = strcmp(e.scheme, "https") == 0;
    c->path = tr_xstrdup(e.path);
    c->auth = e.userinfo[0] ? basic_auth(e.userinfo) : NULL;
    const json_t *h = json_object_get(config, "headers");
    c->headers_text = tr_http_sink_headers_text(h, NULL);
    size_t nl = strlen(c->http_endpoint) + 128;
    c->queue_name = tr_xmalloc(nl);
    snprintf(c->queue_name, nl, "%s:%s:%s:%.17g:%.17g:%lld", c->http_endpoint, c->method,
             c->content_type, c->timeout, c->keepalive, (long long)c->retry_count);
    return c;
}

/* ---- sending ------------------------------------------------------------------------------ */

/* A batch of max_batch_size 1 is the JSON object itself, otherwise a JSON array. */
static char *batch_body(const struct tr_log_batch *b, bool single, const char *extra,
                        size_t extra_len, size_t *len)
{
    (void)extra;
    (void)extra_len;
    size_t body_len = 0;
    for (size_t i = 0; i < b->n; i++)
        body_len += b->lens[i] + 1;
    char *body = tr_xmalloc(body_len + 2);
    size_t at = 0;
    if (single && b->n == 1) {
        memcpy(body, b->entries[0], b->lens[0]);
        at = b->lens[0];
    } else {
        body[at++] = '[';
        for (size_t i = 0; i < b->n; i++) {
            if (i)
                body[at++] = ',';
            memcpy(body + at, b->entries[i], b->lens[i]);
            at += b->lens[i];
        }
        body[at++] = ']';
    }
    *len = at;
    return body;
}

static void http_log_log(struct tr_ctx *ctx, const void *p)
{
    const struct http_log_conf *c = p;
    size_t len;
    char *text = tr_ctx_log_serialize(ctx, &len);
    if (text == NULL)
        return;
    struct tr_http_sink_target t = {
        .plugin = "http-log",
        .queue_name = c->queue_name,
        .host = c->host,
        .path = c->path,
        .method = c->method,
        .content_type = c->content_type,
        .auth = c->auth,
        .port = c->port,
        .tls = c->tls,
        .timeout_ms = (uint32_t)c->timeout,
        .keepalive_ms = (uint32_t)c->keepalive,
        .queue = &c->queue,
        .headers_text = c->headers_text,
        .body = batch_body,
    };
    tr_http_sink_add(ctx, &t, c, text, len);
}

/* Priority 12 as Kong. */
const struct tr_plugin tr_plugin_http_log = {
    .name = "http-log",
    .version = "1.0.0",
    .priority = 12,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .log = http_log_log,
    .worker_free = tr_http_sink_worker_free,
};
