/* SPDX-License-Identifier: MIT */
/* Node information (GET /) and status (GET /status) in Kong 0.7's shape. The connection
 * counters come from the server through env->server_status; row counts from the store. */
#include "admin/crud.h"
#include "admin/crud3.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/uuid.h"
#include "plugins/plugin.h"
#include "plugins/registry.h"
#include "store/oauth2.h"
#include "store/store.h"

#ifndef TR_VERSION
#define TR_VERSION "0.0.0"
#endif

/* Settings whose values are secrets: shown as "******" in GET / (conf.c masks its own secret
 * keys too; this is the backstop for keys added later). */
static bool is_secret(const char *key)
{
    return strstr(key, "token") != NULL || strstr(key, "password") != NULL ||
           strstr(key, "secret") != NULL;
}

static void add_setting(const char *key, const char *value, void *ud)
{
    json_t *v = json_string(is_secret(key) ? "******" : (value ? value : ""));
    if (v != NULL)
        json_object_set_new((json_t *)ud, key, v);
}

static int add_plugin_name(json_t *doc, void *ud)
{
    json_t *names = ud;
    json_t *name = json_object_get(doc, "name");
    size_t i;
    json_t *n;
    if (!json_is_string(name))
        return 0;
    json_array_foreach(names, i, n)
    {
        if (json_equal(n, name))
            return 0;
    }
    json_array_append(names, name);
    return 0;
}

static bool store_has(const char *entity)
{
    for (const char *const *e = tr_store_entities(); *e != NULL; e++) {
        if (strcmp(*e, entity) == 0)
            return true;
    }
    return false;
}

/* The Admin API runs on the control thread only. */
static char node_id[TR_UUID_LEN + 1];

void tr_admin_set_node_id(const char *id)
{
    snprintf(node_id, sizeof(node_id), "%s", id);
}

const char *tr_admin_node_id(void)
{
    if (node_id[0] == '\0' && tr_uuid_v4(node_id) != 0)
        snprintf(node_id, sizeof(node_id), "00000000-0000-4000-8000-000000000000");
    return node_id;
}

static void info(struct tr_admin_ctx *ctx)
{
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0)
        host[0] = '\0';
    host[sizeof(host) - 1] = '\0';

    json_t *enabled = json_array();
    if (ctx->env->store != NULL && store_has("plugins"))
        tr_store_foreach(ctx->env->store, "plugins", add_plugin_name, enabled);
    json_t *conf = json_object();
    if (ctx->env->conf != NULL)
        tr_conf_foreach(ctx->env->conf, add_setting, conf);

    json_t *body = json_object();
    json_object_set_new(body, "tagline", json_string("Welcome to torii"));
    json_object_set_new(body, "version", json_string(TR_VERSION));
    json_t *h = json_string(host);
    json_object_set_new(body, "hostname", h ? h : json_string(""));
    json_object_set_new(body, "node_id", json_string(tr_admin_node_id()));
    json_t *available = json_array();
    for (size_t i = 0; i < tr_plugin_count(); i++) {
        if (tr_plugin_enabled(i))
            json_array_append_new(available, json_string(tr_plugin_at(i)->name));
    }
    json_t *plugins =
        json_pack("{s:o,s:o}", "available_on_server", available, "enabled_in_cluster", enabled);
    json_object_set_new(body, "plugins", plugins);
    json_object_set_new(body, "configuration", conf);
    tr_admin_reply(ctx, 200, body);
}

static const char *const counters[] = {
    "total_requests",      "connections_active",  "connections_accepted", "connections_handled",
    "connections_reading", "connections_writing", "connections_waiting",
};

static void status(struct tr_admin_ctx *ctx)
{
    struct tr_admin_env *env = ctx->env;
    json_t *server = env->server_status ? env->server_status(env->ud) : NULL;
    if (!json_is_object(server)) {
        json_decref(server);
        server = json_object();
    }
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        if (json_object_get(server, counters[i]) == NULL)
            json_object_set_new(server, counters[i], json_integer(0));
    }
    json_t *db = json_object();
    bool up = env->store != NULL && !env->serving_copy && tr_store_ping(env->store);
    json_object_set_new(db, "reachable", json_boolean(up));
    for (const char *const *e = tr_store_entities(); up && *e != NULL; e++) {
        size_t n = 0;
        if (tr_store_count(env->store, *e, &n) == 0)
            json_object_set_new(db, *e, json_integer((json_int_t)n));
    }
    /* Kong 0.7 counted every table, the OAuth2 tokens and codes too; torii keeps those rows
     * out of the entity store (runtime rows, store/oauth2.h). */
    struct tr_store_tx *tx = up ? tr_store_tx_acquire(env->store) : NULL;
    size_t tokens, codes;
    if (tx != NULL && tr_oauth2_count(tx, &tokens, &codes) == 0) {
        json_object_set_new(db, "oauth2_tokens", json_integer((json_int_t)tokens));
        json_object_set_new(db, "oauth2_authorization_codes", json_integer((json_int_t)codes));
    }
    if (tx != NULL)
        tr_store_tx_release(tx);
    if (env->config_hash != NULL) {
        /* DB-less, as Kong: the configuration's hash instead of a database block */
        json_decref(db);
        tr_admin_reply(
            ctx, 200,
            json_pack("{s:o,s:s}", "server", server, "configuration_hash", env->config_hash));
        return;
    }
    tr_admin_reply(ctx, 200, json_pack("{s:o,s:o}", "server", server, "database", db));
}

/* Readiness for load balancers and orchestrators (Kong 3's /status/ready): 200 while the
 * node can serve, 503 when its database does not answer. A draining node no longer listens. */
static void ready(struct tr_admin_ctx *ctx)
{
    struct tr_admin_env *env = ctx->env;
    if (env->store == NULL || env->serving_copy || !tr_store_ping(env->store)) {
        tr_admin_reply_error(ctx, TR_EDBUNAVAIL);
        return;
    }
    tr_admin_reply(ctx, 200, json_pack("{s:s}", "message", "ready"));
}

const struct tr_admin_endpoint tr_admin_node_endpoints[] = {
    {"/", .get = info, .help = "node information: version, hostname, plugins, configuration"},
    {"/status", .get = status, .help = "connection counters and database row counts"},
    {"/status/ready", .get = ready, .help = "200 when the node can serve, 503 otherwise"},
};
const size_t tr_admin_node_endpoints_cnt =
    sizeof(tr_admin_node_endpoints) / sizeof(tr_admin_node_endpoints[0]);
