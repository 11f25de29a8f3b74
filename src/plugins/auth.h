/* SPDX-License-Identifier: MIT */
/* Helpers shared by the authentication plugins (key-auth, basic-auth): the failure path with
 * Kong's `anonymous` fallback, and the checks of their common config fields. */
#ifndef TR_PLUGINS_AUTH_H
#define TR_PLUGINS_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "plugins/plugin.h"

/* An authentication failed. Without anonymous (NULL), answer {"message": message} with status
 * and WWW-Authenticate: www_authenticate (when not NULL) and return TR_PLUGIN_EXIT. With
 * anonymous (a consumer id or username), go on as that consumer (X-Anonymous-Consumer: true)
 * and return TR_PLUGIN_NEXT; when no such consumer exists, answer 500 (as Kong) and log. */
int tr_auth_fail(struct tr_ctx *ctx, const char *anonymous, int status, const char *message,
                 const char *www_authenticate);

/* The node's password-hash queue is full (tr_ctx_offload_hash refused): answer 503
 * {"message":"Authentication is busy, try again later"} with Retry-After: 1 and return
 * TR_PLUGIN_EXIT. Never the anonymous fallback: the credentials were not found wrong, only not
 * checked, and a client must not lose its identity to somebody else's flood. */
int tr_auth_busy(struct tr_ctx *ctx);

/* True when an earlier auth plugin already authenticated a credential and this one has an
 * anonymous fallback: several auth plugins with `anonymous` act as a logical OR (Kong). */
bool tr_auth_already_done(const struct tr_ctx *ctx, const char *anonymous);

/* A copy (malloc'ed) of the string config field name, or NULL when absent or empty. */
char *tr_auth_conf_string(const json_t *config, const char *name);

/* A boolean config field, or dflt when absent. */
bool tr_auth_conf_bool(const json_t *config, const char *name, bool dflt);

#endif
