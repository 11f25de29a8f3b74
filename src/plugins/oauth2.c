/* SPDX-License-Identifier: MIT */
/* oauth2: Kong's OAuth 2.0 provider. Applications (/consumers/{c}/oauth2) are configuration,
 * in the snapshot; tokens and codes are runtime rows in the store (store/oauth2.h), issued by
 * the token and authorize endpoints (oauth2_endpoint.c) and checked on protected requests
 * through a per-worker cache (oauth2_bearer.c). This file: the descriptor, the config, the
 * application kind, and the dispatch between endpoints and protected requests. */
#include "plugins/oauth2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/secret.h"
#include "http/form.h"
#include "http/multipart.h"
#include "plugins/auth.h"
#include "schema/schema.h"
#include "store/oauth2.h"

/* ---- config -------------------------------------------------------------------------------- */

static json_t *gen_provision_key(const json_t *rec)
{
    (void)rec;
    char key[TR_SECRET_TOKEN_LEN + 1];
    return tr_secret_token(key) == 0 ? json_string(key) : NULL;
}

static int check_header_name(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const char *s = json_string_value(json_object_get(rec, name));
    for (size_t i = 0; s && s[i]; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_')) {
            snprintf(msg, msg_len, "bad header name '%s'", s);
            return TR_EINVAL;
        }
    }
    return 0;
}

static bool conf_true(const json_t *rec, const char *name)
{
    return json_is_true(json_object_get(rec, name));
}

static int self_check(json_t *rec, enum tr_schema_mode mode, char *msg, size_t msg_len)
{
    (void)mode;
    if (!conf_true(rec, "enable_authorization_code") && !conf_true(rec, "enable_implicit_grant") &&
        !conf_true(rec, "enable_client_credentials") && !conf_true(rec, "enable_password_grant")) {
        snprintf(msg, msg_len,
                 "You need to enable at least one OAuth flow: enable_authorization_code, "
                 "enable_implicit_grant, enable_client_credentials or enable_password_grant");
        return TR_EINVAL;
    }
    if (conf_true(rec, "mandatory_scope") && json_array_size(json_object_get(rec, "scopes")) == 0) {
        snprintf(msg, msg_len, "To set a mandatory scope you also need to create available scopes");
        return TR_EINVAL;
    }
    return 0;
}

/* In the order of enum tr_oauth2_pkce (the pkce row is bound as an index). */
static const char *const pkce_values[] = {"none", "lax", "strict", NULL};

/* Each configured scope is one RFC 6749 §3.3 scope-token: clients ask for it by name and it is
 * sent upstream in X-Authenticated-Scope. */
static int check_scopes(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(rec, name), i, item)
    {
        if (!tr_oauth2_scope_token_ok(
                (struct tr_str){json_string_value(item), json_string_length(item)})) {
            snprintf(msg, msg_len,
                     "\"%s\" is not a scope token (RFC 6749 section 3.3: printable ASCII "
                     "without spaces, quotes or backslashes)",
                     json_string_value(item));
            return TR_EINVAL;
        }
    }
    return 0;
}

#define BIND(m) TR_SCHEMA_BIND(struct tr_oauth2_conf, m)
/* A boolean row named as its member. */
#define FLAG(m, d, h)                                                                              \
    {                                                                                              \
        .name = #m, .type = TR_SCHEMA_BOOLEAN, .dflt = d, .help = h, BIND(m)                       \
    }

static const struct tr_schema_field conf_fields[] = {
    {.name = "scopes",
     .type = TR_SCHEMA_ARRAY,
     .check = check_scopes,
     .help = "scopes a client may ask for",
     TR_SCHEMA_BIND_LIST(struct tr_oauth2_conf, scopes, num_scopes)},
    FLAG(mandatory_scope, "false", "a token request must name a scope"),
    {.name = "provision_key",
     .type = TR_SCHEMA_STRING,
     .gen = gen_provision_key,
     .help = "the secret the login app shows the authorize endpoint; random when not given",
     BIND(provision_key)},
    {.name = "token_expiration",
     .type = TR_SCHEMA_INTEGER,
     .flags = TR_SCHEMA_BOUNDED,
     .dflt = "7200",
     .min = 0,
     .max = 315360000,
     .help = "seconds an access token lives; 0 = it never expires",
     BIND(token_expiration)},
    FLAG(enable_authorization_code, "true", "the authorization code grant"),
    FLAG(enable_implicit_grant, "false", "the implicit grant"),
    FLAG(enable_client_credentials, "false", "the client credentials grant"),
    FLAG(enable_password_grant, "false", "the resource owner password credentials grant"),
    TR_AUTH_FIELD_HIDE_CREDENTIALS(struct tr_oauth2_conf,
                                   "remove the access token before proxying"),
    FLAG(accept_http_if_already_terminated, "false",
         "accept plain HTTP from a trusted_ips peer that sent X-Forwarded-Proto: https"),
    FLAG(global_credentials, "false", "tokens valid on every api that carries oauth2"),
    {.name = "refresh_token_ttl",
     .type = TR_SCHEMA_INTEGER,
     .flags = TR_SCHEMA_BOUNDED,
     .dflt = "1209600",
     .min = 0,
     .max = 100000000,
     .help = "seconds a refresh token lives; 0 = it never expires",
     BIND(refresh_token_ttl)},
    FLAG(reuse_refresh_token, "false", "a refresh keeps the refresh token instead of rotating it"),
    TR_AUTH_FIELD_ANONYMOUS(struct tr_oauth2_conf),
    {.name = "auth_header_name",
     .type = TR_SCHEMA_STRING,
     .dflt = "\"authorization\"",
     .check = check_header_name,
     .help = "header carrying the bearer token (and a client's Basic credentials)",
     BIND(auth_header_name)},
    {.name = "pkce",
     .type = TR_SCHEMA_STRING,
     .dflt = "\"lax\"",
     .one_of = pkce_values,
     .help = "PKCE: none, lax (required for public clients) or strict (required for all)",
     TR_SCHEMA_BIND_INDEX(struct tr_oauth2_conf, pkce)},
};

static const struct tr_schema conf_schema = {
    .name = "oauth2",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
    .self_check = self_check,
};

static void conf_free(void *p)
{
    tr_schema_free_struct(&conf_schema, p);
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    struct tr_oauth2_conf *c = tr_schema_parse_new(&conf_schema, config, sizeof(*c));
    /* Generated when the config is written; an older row without one reads as "", as before. */
    if (c->provision_key == NULL)
        c->provision_key = tr_xstrdup("");
    return c;
}

/* ---- shared helpers ------------------------------------------------------------------------ */

void tr_oauth2_no_cache(struct tr_ctx *ctx)
{
    tr_ctx_add_response_header(ctx, TR_STR_LIT("Cache-Control"), TR_STR_LIT("no-store"));
    tr_ctx_add_response_header(ctx, TR_STR_LIT("Pragma"), TR_STR_LIT("no-cache"));
}

int tr_oauth2_error(struct tr_ctx *ctx, int status, const char *error, const char *description,
                    const char *www_authenticate)
{
    json_t *o = json_pack("{s:s,s:s}", "error", error, "error_description", description);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    tr_ctx_respond(ctx, status, body ? body : "{}", NULL);
    free(body);
    tr_oauth2_no_cache(ctx);
    if (www_authenticate)
        tr_ctx_add_response_header(ctx, TR_STR_LIT("WWW-Authenticate"),
                                   tr_str_from_cstr(www_authenticate));
    return TR_PLUGIN_EXIT;
}

static const char *const param_names[P_COUNT] = {
    [P_GRANT_TYPE] = "grant_type",
    [P_CLIENT_ID] = "client_id",
    [P_CLIENT_SECRET] = "client_secret",
    [P_CODE] = "code",
    [P_CODE_VERIFIER] = "code_verifier",
    [P_CODE_CHALLENGE] = "code_challenge",
    [P_CODE_CHALLENGE_METHOD] = "code_challenge_method",
    [P_REDIRECT_URI] = "redirect_uri",
    [P_REFRESH_TOKEN] = "refresh_token",
    [P_SCOPE] = "scope",
    [P_STATE] = "state",
    [P_PROVISION_KEY] = "provision_key",
    [P_AUTHENTICATED_USERID] = "authenticated_userid",
    [P_RESPONSE_TYPE] = "response_type",
    [P_ACCESS_TOKEN] = "access_token",
};

/* Record parameter i's value (decoded already, val[vl] == '\0'). */
static void collect_one(struct tr_oauth2_params *p, int i, char *val, size_t vl, bool from_query,
                        bool *seen_body)
{
    if (memchr(val, '\0', vl))
        p->nul = true; /* %00: the value would be cut short, refuse it instead */
    if (from_query) {
        if (p->v[i])
            p->repeated = true;
        if (i == P_CLIENT_SECRET)
            p->secret_in_query = true;
    } else {
        if (seen_body[i])
            p->repeated = true;
        seen_body[i] = true;
    }
    p->v[i] = val; /* the body wins over the query */
}

static void collect_from(struct tr_ctx *ctx, struct tr_str raw, struct tr_oauth2_params *p,
                         bool from_query, bool *seen_body)
{
    struct tr_str k, v;
    while (tr_form_next(&raw, &k, &v)) {
        /* Named as every other lookup names arguments (tr_form_key_eq): a fully escaped
         * "client_secret" in the query is still one, and "client_secret%00x" is not. */
        for (int i = 0; i < P_COUNT; i++) {
            if (!tr_form_key_eq(k, tr_str_from_cstr(param_names[i])))
                continue;
            char *val = tr_ctx_alloc(ctx, v.len + 1);
            size_t vl = tr_form_decode(v, val);
            val[vl] = '\0';
            collect_one(p, i, val, vl, from_query, seen_body);
            break;
        }
    }
}

/* A multipart/form-data body (Kong 0.8 read one, and clients send them): each part named as a
 * parameter is one, its bytes as sent (a part is not percent-encoded). */
static void collect_multipart(struct tr_ctx *ctx, struct tr_str ct, struct tr_str body,
                              struct tr_oauth2_params *p, bool *seen_body)
{
    struct tr_multipart m;
    struct tr_str name, value;
    int rc;
    if (!tr_multipart_begin(&m, ct, body)) {
        p->bad_body = true;
        return;
    }
    while ((rc = tr_multipart_next(&m, &name, &value)) == 1) {
        for (int i = 0; i < P_COUNT; i++) {
            if (!tr_str_eq(name, tr_str_from_cstr(param_names[i])))
                continue;
            char *val = tr_ctx_alloc(ctx, value.len + 1);
            memcpy(val, value.ptr, value.len);
            val[value.len] = '\0';
            collect_one(p, i, val, value.len, false, seen_body);
            break;
        }
    }
    if (rc < 0)
        p->bad_body = true;
}

void tr_oauth2_params_collect(struct tr_ctx *ctx, struct tr_oauth2_params *p)
{
    memset(p, 0, sizeof(*p));
    bool seen_body[P_COUNT] = {false};
    collect_from(ctx, tr_ctx_raw_query(ctx), p, true, seen_body);
    struct tr_str body, ct;
    if (!tr_ctx_body(ctx, &body))
        return;
    if (tr_ctx_is_form_body(ctx))
        collect_from(ctx, body, p, false, seen_body);
    else if (tr_ctx_header(ctx, TR_STR_LIT("Content-Type"), &ct) && tr_multipart_is(ct))
        collect_multipart(ctx, ct, body, p, seen_body);
}

static bool scope_allowed(const struct tr_oauth2_conf *conf, struct tr_str s)
{
    for (size_t i = 0; i < conf->num_scopes; i++) {
        if (tr_str_eq(s, tr_str_from_cstr(conf->scopes[i])))
            return true;
    }
    return false;
}

const char *tr_oauth2_scope_check(struct tr_ctx *ctx, const struct tr_oauth2_conf *conf,
                                  const char *scope, const char **scope_out)
{
    *scope_out = NULL;
    if (scope == NULL) {
        if (conf->mandatory_scope)
            return "You must specify a scope";
        return NULL;
    }
    size_t n = strlen(scope);
    /* RFC 6749 §3.3; the scope is sent upstream in X-Authenticated-Scope, so a control byte or
     * any other character outside scope-token never gets into a token. */
    if (!tr_oauth2_scope_ok((struct tr_str){scope, n}))
        return "The scope holds characters that are not allowed (RFC 6749 section 3.3)";
    char *out = tr_ctx_alloc(ctx, n + 1);
    size_t o = 0;
    const char *p = scope;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *start = p;
        while (*p && *p != ' ')
            p++;
        struct tr_str s = {start, (size_t)(p - start)};
        if (s.len == 0)
            break;
        if (conf->scopes && !scope_allowed(conf, s)) {
            size_t ml = s.len + 32;
            char *msg = tr_ctx_alloc(ctx, ml);
            snprintf(msg, ml, "\"%.*s\" is an invalid scope", (int)s.len, s.ptr);
            return msg;
        }
        if (o)
            out[o++] = ' ';
        memcpy(out + o, s.ptr, s.len);
        o += s.len;
    }
    out[o] = '\0';
    if (o == 0 && conf->mandatory_scope)
        return "You must specify a scope";
    *scope_out = o ? out : NULL;
    return NULL;
}

bool tr_oauth2_binding_ok(const char *bound_api, const char *service_id, bool legacy,
                          bool global_credentials)
{
    /* Kong 0.7 stored no api with a token: one issued through any api worked on every api
     * with the plugin (the walkthrough's Fix B relies on it). Kong 0.10 bound tokens to their
     * api unless global_credentials, and Kong 3 to their service: the newer model keeps that. */
    if (legacy)
        return true;
    if (bound_api != NULL && bound_api[0] != '\0')
        return service_id != NULL && strcmp(bound_api, service_id) == 0;
    return global_credentials;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

/* Does the path end in /oauth2/<what> (a trailing '/' allowed)? */
static bool is_endpoint(struct tr_str path, const char *what)
{
    char suffix[32];
    int n = snprintf(suffix, sizeof(suffix), "/oauth2/%s", what);
    if (path.len > 0 && path.ptr[path.len - 1] == '/')
        path.len--;
    return path.len >= (size_t)n && memcmp(path.ptr + path.len - n, suffix, (size_t)n) == 0;
}

static int method_not_allowed(struct tr_ctx *ctx, const char *endpoint)
{
    struct tr_str m = tr_ctx_method(ctx);
    char desc[128], hdr[320];
    snprintf(desc, sizeof(desc), "The HTTP method %.*s is invalid for the %s endpoint",
             (int)(m.len > 16 ? 16 : m.len), m.ptr, endpoint);
    snprintf(hdr, sizeof(hdr),
             "Bearer realm=\"service\" error=\"invalid_method\" error_description=\"%s\"", desc);
    return tr_oauth2_error(ctx, 405, "invalid_method", desc, hdr);
}

static int oauth2_access(struct tr_ctx *ctx, const void *p)
{
    const struct tr_oauth2_conf *conf = p;
    if (tr_auth_already_done(ctx, conf->anonymous))
        return TR_PLUGIN_NEXT;
    struct tr_str path = tr_ctx_path(ctx);
    bool post = tr_str_eq(tr_ctx_method(ctx), TR_STR_LIT("POST"));
    if (is_endpoint(path, "token"))
        return post ? tr_oauth2_token_endpoint(ctx, conf) : method_not_allowed(ctx, "token");
    if (is_endpoint(path, "authorize"))
        return post ? tr_oauth2_authorize_endpoint(ctx, conf)
                    : method_not_allowed(ctx, "authorize");
    return tr_oauth2_bearer(ctx, conf);
}

/* ---- applications (/consumers/{c}/oauth2) -------------------------------------------------- */

static json_t *gen_client_id(const json_t *rec)
{
    (void)rec;
    char id[33];
    return tr_secret_hex(id, 16) == 0 ? json_string(id) : NULL;
}

static bool is_public_app(const json_t *rec)
{
    const char *type = json_string_value(json_object_get(rec, "client_type"));
    return type != NULL && strcmp(type, "public") == 0;
}

static json_t *gen_client_secret(const json_t *rec)
{
    if (is_public_app(rec))
        return NULL; /* app_check_input: a public client has none */
    char s[TR_SECRET_TOKEN_LEN + 1];
    return tr_secret_token(s) == 0 ? json_string(s) : NULL;
}

/* Why s is not an absolute http or https URL with a host and without a fragment (RFC 6749
 * §3.1.2), written into msg (Kong 0.8's words where it has them); 0 when it is one. */
static int redirect_uri_check(const char *s, char *msg, size_t msg_len)
{
    size_t i = 0;
    if (strchr(s, '#') != NULL) {
        snprintf(msg, msg_len, "fragment not allowed in '%s'", s);
        return TR_EINVAL;
    }
    if (strncasecmp(s, "https://", 8) == 0)
        i = 8;
    else if (strncasecmp(s, "http://", 7) == 0)
        i = 7;
    bool bad = i == 0 || s[i] == '\0' || s[i] == '/' || s[i] == '?';
    for (const char *p = s; *p && !bad; p++)
        bad = (unsigned char)*p <= 0x20 || *p == 0x7f;
    if (!bad)
        return 0;
    if (i == 0 && strstr(s, "://") != NULL)
        snprintf(msg, msg_len, "only http and https are allowed: '%s'", s);
    else
        snprintf(msg, msg_len, "cannot parse '%s'", s);
    return TR_EINVAL;
}

/* The URIs of a redirect_uri or redirect_uris value: an array once coerced, or a stored single
 * redirect_uri kept by an update (a string, see app_before_store). */
static size_t uri_count(const json_t *v)
{
    return json_is_string(v) ? 1 : json_array_size(v);
}

static const char *uri_at(const json_t *v, size_t i)
{
    return json_is_string(v) ? json_string_value(v) : json_string_value(json_array_get(v, i));
}

/* The rows redirect_uri and redirect_uris: every URI as above. */
static int check_redirect_uris(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const json_t *v = json_object_get(rec, name);
    for (size_t i = 0; i < uri_count(v); i++) {
        if (redirect_uri_check(uri_at(v, i), msg, msg_len) != 0)
            return TR_EINVAL;
    }
    return 0;
}

/* At least one redirect URI between the two rows, named as Kong named it: "redirect_uri is
 * required" when neither was given, Kong 0.8's "at least one URI is required" under a row given
 * empty. */
static json_t *app_entity_check(const json_t *rec, const json_t *input, enum tr_schema_mode mode)
{
    static const char *const fields[] = {"redirect_uri", "redirect_uris"};
    json_t *errs = NULL;
    for (size_t f = 0; f < 2; f++) {
        if (uri_count(json_object_get(rec, fields[f])) > 0)
            return NULL;
    }
    for (size_t f = 0; f < 2; f++) {
        if (json_object_get(rec, fields[f]) == NULL)
            continue;
        if (errs == NULL)
            errs = json_object();
        json_object_set_new(errs, fields[f], json_string("at least one URI is required"));
    }
    return errs ? errs : json_pack("{s:s}", "redirect_uri", "redirect_uri is required");
}

/* A single redirect_uri is stored as a string, the way Kong 0.7 shows it. */
static int app_before_store(json_t *doc, char *err, size_t err_len)
{
    json_t *one = json_object_get(doc, "redirect_uri");
    if (json_array_size(one) == 1)
        json_object_set(doc, "redirect_uri", json_array_get(one, 0));
    return 0;
}

/* Did the request give value, as the schema reads it (null and a blank string mean "unset")? */
static bool given(const json_t *value)
{
    if (value == NULL || json_is_null(value))
        return false;
    if (!json_is_string(value))
        return true;
    struct tr_str s = {json_string_value(value), json_string_length(value)};
    return tr_str_trim(s).len > 0;
}

/* RFC 6749 §2.1 and §2.3.1: a public client cannot keep a secret, so it has none. One sent for
 * it is refused (the client would believe it authenticates); one kept from its confidential
 * days goes; turned confidential again it gets a new one, generated as at creation. */
static int app_check_input(const json_t *input, json_t *doc, const char **field, char *err,
                           size_t err_len)
{
    if (!is_public_app(doc))
        return 0;
    if (given(json_object_get(input, "client_secret"))) {
        *field = "client_secret";
        snprintf(err, err_len, "a public client has no client_secret");
        return TR_EINVAL;
    }
    json_object_del(doc, "client_secret");
    return 0;
}

static const char *const client_types[] = {"confidential", "public", NULL};

static const struct tr_schema_field app_fields[] = {
    TR_SCHEMA_FIELD_ID,
    TR_SCHEMA_FIELD_CREATED_AT,
    TR_SCHEMA_FIELD_TAGS,
    {.name = "consumer_id",
     .type = TR_SCHEMA_UUID,
     .flags = TR_SCHEMA_REQUIRED,
     .help = "the consumer the application belongs to"},
    {.name = "name", .type = TR_SCHEMA_STRING, .flags = TR_SCHEMA_REQUIRED, .help = "its name"},
    {.name = "client_id",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_UNIQUE,
     .gen = gen_client_id,
     .help = "public identifier; 32 random hex characters when not given"},
    {.name = "client_secret",
     .type = TR_SCHEMA_STRING,
     .gen = gen_client_secret,
     .help = "secret of a confidential client (a public one has none); 256 random bits when "
             "not given"},
    {.name = "redirect_uri",
     .type = TR_SCHEMA_ARRAY,
     .check = check_redirect_uris,
     .help = "registered redirect URI (or several); compared exactly"},
    {.name = "redirect_uris",
     .type = TR_SCHEMA_ARRAY,
     .check = check_redirect_uris,
     .help = "registered redirect URIs (Kong 1.x+ name)"},
    {.name = "client_type",
     .type = TR_SCHEMA_STRING,
     .dflt = "\"confidential\"",
     .one_of = client_types,
     .help = "confidential (authenticates with its secret) or public (must use PKCE)"},
};

static const struct tr_schema app_schema = {
    .name = TR_OAUTH2_APPS,
    .fields = app_fields,
    .cnt = TR_ARRAY_SIZE(app_fields),
    .entity_check = app_entity_check,
};

static const struct tr_plugin_credential credentials[] = {
    {
        .entity = TR_OAUTH2_APPS,
        .path = "oauth2",
        .schema = &app_schema,
        .lookup_field = "client_id",
        .before_store = app_before_store,
        .check_input = app_check_input,
    },
};

static bool list_has(const json_t *v, const char *uri)
{
    if (json_is_string(v))
        return strcmp(json_string_value(v), uri) == 0;
    size_t i;
    const json_t *u;
    json_array_foreach(v, i, u)
    {
        if (json_is_string(u) && strcmp(json_string_value(u), uri) == 0)
            return true;
    }
    return false;
}

bool tr_oauth2_app_has_redirect(const json_t *app, const char *uri)
{
    return list_has(json_object_get(app, "redirect_uri"), uri) ||
           list_has(json_object_get(app, "redirect_uris"), uri);
}

const char *tr_oauth2_app_first_redirect(const json_t *app)
{
    static const char *const fields[] = {"redirect_uri", "redirect_uris"};
    for (size_t f = 0; f < 2; f++) {
        const json_t *v = json_object_get(app, fields[f]);
        if (json_is_string(v))
            return json_string_value(v);
        if (json_array_size(v) > 0)
            return json_string_value(json_array_get(v, 0));
    }
    return NULL;
}

/* Kong's priority 1004 in 1.x+ (jwt 1005 > oauth2 > key-auth 1003 > basic-auth 1001). */
const struct tr_plugin tr_plugin_oauth2 = {
    .name = "oauth2",
    .version = "1.0.0",
    .priority = 1004,
    .flags = TR_PLUGIN_NO_CONSUMER,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .access = oauth2_access,
    .credentials = credentials,
    .num_credentials = TR_ARRAY_SIZE(credentials),
    .state_size = sizeof(struct tr_oauth2_state),
    .worker_free = tr_oauth2_cache_free,
};
