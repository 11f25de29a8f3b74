/* SPDX-License-Identifier: MIT */
/* The oauth2 plugin's parts (oauth2*.c): the parsed config, the request parameters, the
 * token and authorize endpoints, and the check of bearer tokens on protected requests. */
#ifndef TR_PLUGINS_OAUTH2_H
#define TR_PLUGINS_OAUTH2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugins/plugin.h"

#define TR_OAUTH2_APPS "oauth2_credentials"
/* Authorization codes live 5 minutes (RFC 6749 §4.1.2 allows 10 at most; P14). */
#define TR_OAUTH2_CODE_TTL_MS (300 * 1000)
/* Forms read for the endpoints and for an access_token field: bigger ones are refused. */
#define TR_OAUTH2_MAX_FORM (64 * 1024)

/* In the order of the pkce row's values (oauth2.c binds it as an index). */
enum tr_oauth2_pkce { TR_OAUTH2_PKCE_NONE, TR_OAUTH2_PKCE_LAX, TR_OAUTH2_PKCE_STRICT };

/* The parsed config: every member is bound to its row of the config schema (oauth2.c). */
struct tr_oauth2_conf {
    char **scopes; /* owned; NULL when the setting is absent */
    size_t num_scopes;
    bool mandatory_scope;
    char *provision_key; /* owned */
    int64_t token_expiration;
    int64_t refresh_token_ttl;
    bool enable_authorization_code, enable_implicit_grant, enable_client_credentials,
        enable_password_grant;
    bool hide_credentials, accept_http_if_already_terminated, global_credentials,
        reuse_refresh_token;
    char *anonymous;        /* owned or NULL */
    char *auth_header_name; /* owned */
    enum tr_oauth2_pkce pkce;
};

/* Per-request scratch of the plugin (state_size): what a callback after a yield needs. */
struct tr_oauth2_state {
    const struct tr_oauth2_conf *conf;
    bool authorize; /* the endpoint waiting for its body is /oauth2/authorize */
};

/* The OAuth parameters of a request: the query merged with a form or multipart/form-data body
 * (the body wins), each decoded into the request arena. NULL when absent. */
enum tr_oauth2_param {
    P_GRANT_TYPE,
    P_CLIENT_ID,
    P_CLIENT_SECRET,
    P_CODE,
    P_CODE_VERIFIER,
    P_CODE_CHALLENGE,
    P_CODE_CHALLENGE_METHOD,
    P_REDIRECT_URI,
    P_REFRESH_TOKEN,
    P_SCOPE,
    P_STATE,
    P_PROVISION_KEY,
    P_AUTHENTICATED_USERID,
    P_RESPONSE_TYPE,
    P_ACCESS_TOKEN,
    P_COUNT
};

struct tr_oauth2_params {
    const char *v[P_COUNT];
    bool repeated;        /* a parameter came more than once (RFC 6749 §3.1) */
    bool nul;             /* a parameter held a NUL byte (%00) */
    bool secret_in_query; /* client_secret was in the query string (RFC 6749 §2.3.1) */
    bool bad_body;        /* a multipart body that cannot be read */
};

/* Collect the parameters of ctx (query, plus the form body when it was read). */
void tr_oauth2_params_collect(struct tr_ctx *ctx, struct tr_oauth2_params *p);

/* Check a requested scope against conf: NULL and *scope_out (arena, normalised: single
 * spaces; NULL when none) on success, else the error description (arena). */
const char *tr_oauth2_scope_check(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf,
                                  const char *scope, const char **scope_out);

/* Answer an OAuth error: {"error": error, "error_description": description} with status,
 * Cache-Control: no-store and Pragma: no-cache, plus WWW-Authenticate: www_authenticate when
 * not NULL. Returns TR_PLUGIN_EXIT. */
int tr_oauth2_error(struct tr_ctx *ctx, int status, const char *error, const char *description,
                    const char *www_authenticate);
/* Cache-Control: no-store and Pragma: no-cache on the answer (RFC 6749 §5.1). */
void tr_oauth2_no_cache(struct tr_ctx *ctx);

/* The token and authorize endpoints (oauth2_endpoint.c): called for a POST to one of them. */
int tr_oauth2_token_endpoint(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf);
int tr_oauth2_authorize_endpoint(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf);

/* A protected request (oauth2_bearer.c): authenticate its bearer token. */
int tr_oauth2_bearer(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf);
/* Free the worker's token cache (the plugin's worker slot). */
void tr_oauth2_cache_free(void *slot);

/* May a token (or refresh token) bound to bound_api ("" when not bound) be used where the
 * request is? On a route compiled from a Kong 0.7 api (legacy) every token works, as in Kong
 * 0.7, where tokens had no api; elsewhere (Kong 3's model) only on its own service, or, unbound,
 * where the instance sets global_credentials. */
bool tr_oauth2_binding_ok(const char *bound_api, const char *service_id, bool legacy,
                          bool global_credentials);

/* Is the application doc's redirect URI list holding uri exactly? And its first URI. */
bool tr_oauth2_app_has_redirect(const json_t *app, const char *uri);
const char *tr_oauth2_app_first_redirect(const json_t *app);

#endif
