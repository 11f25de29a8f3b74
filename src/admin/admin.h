/* SPDX-License-Identifier: MIT */
/* The Admin API as a pure function of (request, store): the network server (admin/server.c)
 * parses HTTP and hands a complete request here; this layer decodes the body, validates against
 * the entity schemas, talks to the store and produces a Kong-shaped JSON answer. Nothing here
 * touches sockets, so it is unit-testable with a real SQLite file. */
#ifndef TR_ADMIN_ADMIN_H
#define TR_ADMIN_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/str.h"

struct tr_store;
struct tr_conf;
struct tr_metrics_out;

struct tr_admin_env {
    struct tr_store *store;     /* borrowed; NULL: every request gets 503 (no database yet) */
    const struct tr_conf *conf; /* borrowed */
    /* Called after every committed write, before the answer is produced: the server rebuilds
     * and publishes the config snapshot here so the next proxied request sees the change.
     * entity is the store kind written ("apis", "keyauth_credentials", ...), id the row's id,
     * doc the stored row (borrowed) or NULL when it was deleted (with its dependants).
     * May be NULL. */
    void (*on_change)(void *ud, const char *entity, const char *id, json_t *doc);
    /* Returns a new object for the "server" block of GET /status (connection counters,
     * total_requests). May be NULL. */
    json_t *(*server_status)(void *ud);
    void *ud;
    /* GET /metrics: add the workers' metric series to out (when not NULL), and say how many
     * series they refused, the bytes their series take and the bytes they may reach. May be
     * NULL (no workers: only the node's gauges). */
    void (*metrics)(void *ud, struct tr_metrics_out *out, uint64_t *refused, uint64_t *bytes,
                    uint64_t *bound);
    /* DB-less mode (database = off): entity writes answer 405 (admin/dbless.c); the
     * configuration changes only through POST /config. */
    bool read_only;
    /* DB-less: apply a declarative document (POST /config) and answer; NULL when the node
     * cannot (no DB-less mode). Fills status and body (new) as tr_admin_handle does. */
    void (*apply_config)(void *ud, const json_t *doc, const char *hash, bool flatten, int *status,
                         json_t **body);
    /* DB-less: the running configuration's hash (32 hex digits; zeros when empty), kept by
     * the caller; NULL otherwise. */
    const char *config_hash;
    /* The database could not be opened at start and store is the node's local copy of the
     * configuration (server/config_copy.h): reads answer from it, writes 503, and /status says
     * the database is unreachable. */
    bool serving_copy;
    /* The Status API (status_listen): only GET /status, /status/ready and /metrics are
     * answered (every other path is 404), and no admin_token is asked for. */
    bool status_only;
};

struct tr_admin_request {
    struct tr_str method;
    struct tr_str path;         /* raw path, no query */
    struct tr_str query;        /* raw query (no '?'), may be empty */
    struct tr_str content_type; /* may be empty */
    struct tr_str body;         /* complete body (the server enforces the size limit) */
    struct tr_str host;         /* Host header, used to build absolute "next" URLs */
};

struct tr_admin_response {
    int status;
    json_t *body;      /* owned by the caller after return; NULL means no body (204) */
    const char *allow; /* for TR_EMETHOD (405): value of the Allow header, static; else NULL */
    /* A body that is not JSON (GET /metrics), owned by the caller after return; with it,
     * body is NULL and content_type (static) names the text's type. */
    char *text;
    size_t text_len;
    const char *content_type;
};

/* Handle one admin request. Always fills *res (TR_EINTERNAL's 500 on internal errors, and
 * every other fixed failure from the error table, core/err.h). */
void tr_admin_handle(struct tr_admin_env *env, const struct tr_admin_request *req,
                     struct tr_admin_response *res);

/* The same for a body already decoded (the declarative loader's writes): body is an object,
 * stolen (the handler may change it); no query string. */
void tr_admin_handle_doc(struct tr_admin_env *env, const char *method, const char *path,
                         json_t *body, struct tr_admin_response *res);

/* The node's id the Admin API shows (GET /, upstream health): set once at start, before the
 * Admin API serves (server/node_id.h keeps it under the prefix). */
void tr_admin_set_node_id(const char *id);

#endif
