/* SPDX-License-Identifier: MIT */
/* Helpers shared by the authentication plugins (key-auth, basic-auth, oauth2): their common
 * config rows, and the failure path with Kong's `anonymous` fallback. */
#ifndef TR_PLUGINS_AUTH_H
#define TR_PLUGINS_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "plugins/plugin.h"
#include "schema/schema.h"

/* The config rows the auth plugins share, bound to members named hide_credentials (bool) and
 * anonymous (char *, owned; NULL when unset) of the plugin's config struct conf_type. Only the
 * help line of hide_credentials differs between plugins: it says what is removed. */
#define TR_AUTH_FIELD_HIDE_CREDENTIALS(conf_type, what)                                            \
    {                                                                                              \
        .name = "hide_credentials", .type = TR_SCHEMA_BOOLEAN, .dflt = "false", .help = what,      \
        TR_SCHEMA_BIND(conf_type, hide_credentials)                                                \
    }
#define TR_AUTH_FIELD_ANONYMOUS(conf_type)                                                         \
    {                                                                                              \
        .name = "anonymous", .type = TR_SCHEMA_STRING,                                             \
        .help = "consumer id or username to use when authentication fails",                        \
        TR_SCHEMA_BIND(conf_type, anonymous)                                                       \
    }
/* Both, in this order (key-auth, basic-auth). */
#define TR_AUTH_COMMON_FIELDS(conf_type, what)                                                     \
    TR_AUTH_FIELD_HIDE_CREDENTIALS(conf_type, what), TR_AUTH_FIELD_ANONYMOUS(conf_type)

/* An authentication failed. Without anonymous (NULL), answer {"message": message} with status
 * and WWW-Authenticate: www_authenticate (when not NULL) and return TR_PLUGIN_EXIT. With
 * anonymous (a consumer id or username), go on as that consumer (X-Anonymous-Consumer: true)
 * and return TR_PLUGIN_NEXT; when no such consumer exists, answer 500 (as Kong) and log. */
int tr_auth_fail(struct tr_ctx *ctx, const char *anonymous, int status, const char *message,
                 const char *www_authenticate);

/* The node's password-hash queue is full (tr_ctx_offload_hash refused): answer TR_EBUSY (503
 * {"message":"Authentication is busy, try again later"}) with Retry-After: 1 and return
 * TR_PLUGIN_EXIT. Never the anonymous fallback: the credentials were not found wrong, only not
 * checked, and a client must not lose its identity to somebody else's flood. */
int tr_auth_busy(struct tr_ctx *ctx);

/* A credential's generated key or secret: 128 random bits from the CSPRNG as 32 lowercase hex
 * characters (Kong's random_string). A schema row's gen. */
json_t *tr_auth_gen_key(const json_t *rec);

/* True when an earlier auth plugin already authenticated a credential and this one has an
 * anonymous fallback: several auth plugins with `anonymous` act as a logical OR (Kong). */
bool tr_auth_already_done(const struct tr_ctx *ctx, const char *anonymous);

#endif
