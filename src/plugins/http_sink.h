/* SPDX-License-Identifier: MIT */
/* What the plugins that ship records over HTTP share (http-log's JSON entries, opentelemetry's
 * spans): per worker, one sink per destination — a queue (log_queue.h) whose batches go out as
 * one request each through http/client.h, never on a request's path. A sink is made by the
 * first config that names it (its queue settings stay); its headers and its body extra follow
 * the latest config that used it, as Kong puts a changed config into effect at once. Any status
 * of 300 or more, or no answer, fails the batch (retried per the queue settings). Entries
 * dropped by a full queue are counted in torii_log_entries_dropped_total{plugin="<name>"}. */
#ifndef TR_PLUGINS_HTTP_SINK_H
#define TR_PLUGINS_HTTP_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "plugins/log_queue.h"

struct tr_ctx;

/* An http(s) URL of a receiver. */
struct tr_http_endpoint {
    char scheme[8];
    char userinfo[256];
    char host[256]; /* without brackets */
    uint16_t port;
    char path[2048]; /* "/" at least, no query */
};

/* Kong's url typedef over LuaSocket's url.parse: scheme://[userinfo@]host[:port][/path][?q][#f],
 * http or https. Returns NULL, or the reason it is refused (Kong's words). */
const char *tr_http_endpoint_parse(const char *url, struct tr_http_endpoint *e);

/* A batch's body from its entries: malloc'ed, its length in *len. single: the queue sends
 * one entry per batch (max_batch_size 1); extra: the sink's copy of the config's extra bytes. */
typedef char *(*tr_http_sink_body_fn)(const struct tr_log_batch *b, bool single, const char *extra,
                                      size_t extra_len, size_t *len);

/* Where and how a config's records go. Everything is copied by the sink. */
struct tr_http_sink_target {
    const char *plugin;     /* "http-log": log lines, the dropped-entries metric label */
    const char *queue_name; /* configs naming the same queue share a sink */
    const char *host, *path, *method, *content_type;
    const char *auth; /* an Authorization value, or NULL */
    uint16_t port;
    bool tls;
    uint32_t timeout_ms, keepalive_ms;
    const struct tr_log_queue_conf *queue;
    const char *headers_text; /* "Name: value\r\n" for each configured header ("" for none) */
    const char *extra;        /* handed to body (may be NULL) */
    size_t extra_len;
    tr_http_sink_body_fn body;
};

/* Queue entry (taken: malloc'ed, len bytes) for the sink of target in this worker (the
 * plugin's worker slot holds the worker's sinks). conf identifies the config (with the
 * request's config version, when headers and extra are taken again). */
void tr_http_sink_add(struct tr_ctx *ctx, const struct tr_http_sink_target *target,
                      const void *conf, char *entry, size_t len);
/* A config's headers map (http-log's, opentelemetry's): the schema check of a map of header
 * names to non-empty values without control bytes, never Host, Content-Length nor
 * Content-Type (the _ct variant lets Content-Type through); and the map as "Name: value\r\n"
 * lines (malloc'ed; skip: a key left out, or NULL). */
int tr_http_sink_check_headers(json_t *rec, const char *name, char *msg, size_t msg_len);
int tr_http_sink_check_headers_ct(json_t *rec, const char *name, char *msg, size_t msg_len);
char *tr_http_sink_headers_text(const json_t *h, const char *skip);

/* The plugin's worker_free. */
void tr_http_sink_worker_free(void *slot);

#endif
