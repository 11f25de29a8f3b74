/* SPDX-License-Identifier: MIT */
/* key-auth: a consumer is identified by an API key sent in a header or a query argument
 * (Kong 1.x/2.x answers: 401 for a missing or an unknown key; Kong 3's 401 for a key name sent
 * twice). Keys live in the keyauth_credentials kind (/consumers/{c}/key-auth) and are found by
 * an O(1) index. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "http/form.h"
#include "http/json_members.h"
#include "plugins/auth.h"
#include "plugins/plugin.h"
#include "schema/schema.h"

#define ENTITY "keyauth_credentials"
#define WWW_AUTH "Key realm=\"torii\"" /* the WWW-Authenticate value */

/* Every member is bound to its row in conf_fields. */
struct key_auth_conf {
    char **key_names; /* owned, each NUL-terminated */
    size_t num_key_names;
    char *anonymous; /* owned; NULL when unset */
    bool hide_credentials;
    bool key_in_header;
    bool key_in_query;
    bool key_in_body; /* also a form or JSON body (read when no header or query has a key) */
    bool run_on_preflight;
};

/* Kong: letters, digits, '_' and '-' only (a name is used as a header and a query name). */
static bool key_name_ok(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* Why arr cannot be key_names (into msg): TR_EINVAL, or 0 when it can. */
static int key_names_bad(const json_t *arr, char *msg, size_t msg_len)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        snprintf(msg, msg_len, "at least one key name is required");
        return TR_EINVAL;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || !key_name_ok(json_string_value(v), json_string_length(v))) {
            snprintf(msg, msg_len,
                     "bad header name '%s', allowed characters are A-Z, a-z, 0-9, '_', and '-'",
                     json_is_string(v) ? json_string_value(v) : "");
            return TR_EINVAL;
        }
    }
    return 0;
}

static int check_key_names(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    return key_names_bad(json_object_get(rec, name), msg, msg_len);
}

#define BIND(m) TR_SCHEMA_BIND(struct key_auth_conf, m)

static const struct tr_schema_field conf_fields[] = {
    {.name = "key_names",
     .type = TR_SCHEMA_ARRAY,
     .flags = TR_SCHEMA_REQUIRED,
     .dflt = "[\"apikey\"]",
     .check = check_key_names,
     .help = "header and query argument names that carry the key",
     TR_SCHEMA_BIND_LIST(struct key_auth_conf, key_names, num_key_names)},
    TR_AUTH_COMMON_FIELDS(struct key_auth_conf, "remove the key from the request sent upstream"),
    {.name = "key_in_header",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "true",
     .help = "look for the key in request headers",
     BIND(key_in_header)},
    {.name = "key_in_query",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "true",
     .help = "look for the key in the query string",
     BIND(key_in_query)},
    {.name = "key_in_body",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "false",
     .help = "also look in a form or JSON request body (read up to 64 KiB)",
     BIND(key_in_body)},
    {.name = "run_on_preflight",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "true",
     .help = "also authenticate OPTIONS requests",
     BIND(run_on_preflight)},
};

static const struct tr_schema conf_schema = {
    .name = "key-auth",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
};

static void conf_free(void *p)
{
    tr_schema_free_struct(&conf_schema, p);
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    /* A stored config is checked again: a key name becomes a header and a query name. */
    const json_t *names = json_object_get(config, "key_names");
    char why[256];
    if (names != NULL && key_names_bad(names, why, sizeof(why)) != 0) {
        snprintf(err, err_len, "key_names: %s", why);
        return NULL;
    }
    struct key_auth_conf *c = tr_schema_parse_new(&conf_schema, config, sizeof(*c));
    return c;
}

/* How many times raw form text (a query string or a form body) names name ("name", "name=" and
 * "name=v" all count, as they make Kong's get_query return a table once repeated). Names are
 * compared decoded, as the lookup compares them. */
static size_t form_name_count(struct tr_str raw, struct tr_str name)
{
    size_t cnt = 0;
    struct tr_str k, v;
    while (tr_form_next(&raw, &k, &v)) {
        if (k.len > 0 && tr_form_key_eq(k, name))
            cnt++;
    }
    return cnt;
}

/* Bodies key_in_body reads to look for a key; a bigger one streams and is not searched. */
#define MAX_KEY_BODY (64 * 1024)

/* The key in a form or JSON body (Kong 3's key_in_body): found, duplicated or absent. */
enum body_key { BODY_NONE, BODY_FOUND, BODY_DUPLICATE };

static enum body_key key_from_form(struct tr_ctx *ctx, const struct key_auth_conf *c,
                                   struct tr_str body, struct tr_str name, struct tr_str *key)
{
    if (!tr_ctx_form_arg(ctx, name, key))
        return BODY_NONE;
    enum body_key rc = form_name_count(body, name) > 1 ? BODY_DUPLICATE : BODY_FOUND;
    /* Hidden before a duplicate is refused, so an anonymous fallback carries no key upstream
     * (body is rewritten: it is not read after this). */
    if (c->hide_credentials)
        tr_ctx_remove_form_arg(ctx, name);
    return rc;
}

static bool is_json_body(const struct tr_ctx *ctx)
{
    struct tr_str ct;
    return tr_ctx_header(ctx, TR_STR_LIT("Content-Type"), &ct) && ct.len >= 16 &&
           tr_str_ieq((struct tr_str){ct.ptr, 16}, TR_STR_LIT("application/json"));
}

/* A top-level member of a JSON object body. Names are decoded by jansson for the lookup and for
 * the count and removal alike (json_members.h), and a hidden key is cut out of the text rather
 * than the document re-serialized, so every other member goes upstream byte for byte. */
static enum body_key key_from_json(struct tr_ctx *ctx, const struct key_auth_conf *c,
                                   struct tr_str body, struct tr_str name, struct tr_str *key)
{
    json_t *doc = json_loadb(body.ptr, body.len, 0, NULL);
    char *out = c->hide_credentials ? tr_ctx_alloc(ctx, body.len) : NULL;
    size_t cnt = 0, out_len = 0;
    enum body_key rc = BODY_NONE;
    if (json_is_object(doc) && tr_json_members_remove(body, name, out, &out_len, &cnt) == 0 &&
        cnt > 0) {
        const json_t *v = json_object_getn(doc, name.ptr, name.len);
        if (cnt > 1) {
            rc = BODY_DUPLICATE;
        } else if (json_is_string(v)) {
            size_t n = json_string_length(v);
            char *copy = tr_ctx_alloc(ctx, n + 1);
            memcpy(copy, json_string_value(v), n + 1);
            *key = (struct tr_str){copy, n};
            rc = BODY_FOUND;
        }
        if (rc != BODY_NONE && out != NULL)
            tr_ctx_set_body(ctx, (struct tr_str){out, out_len});
    }
    json_decref(doc);
    return rc;
}

static enum body_key key_from_body(struct tr_ctx *ctx, const struct key_auth_conf *c,
                                   struct tr_str name, struct tr_str *key)
{
    struct tr_str body;
    if (!tr_ctx_body(ctx, &body) || body.len == 0)
        return BODY_NONE;
    if (tr_ctx_is_form_body(ctx))
        return key_from_form(ctx, c, body, name, key);
    if (is_json_body(ctx))
        return key_from_json(ctx, c, body, name, key);
    return BODY_NONE;
}

static int authenticate(struct tr_ctx *ctx, const struct key_auth_conf *c, struct tr_str key)
{
    if (key.len == 0)
        return tr_auth_fail(ctx, c->anonymous, 401, "No API key found in request", WWW_AUTH);
    const struct tr_credential *cred = tr_ctx_find_credential(ctx, ENTITY, key);
    if (cred == NULL || cred->consumer == NULL)
        return tr_auth_fail(ctx, c->anonymous, 401, "Invalid authentication credentials", WWW_AUTH);
    tr_ctx_set_consumer(ctx, cred->consumer, cred, false);
    return TR_PLUGIN_NEXT;
}

/* After the body was read for key_in_body: the names in order, in the body. */
static int search_body(struct tr_ctx *ctx, const struct key_auth_conf *c)
{
    for (size_t i = 0; i < c->num_key_names; i++) {
        struct tr_str key;
        switch (key_from_body(ctx, c, tr_str_from_cstr(c->key_names[i]), &key)) {
        case BODY_FOUND:
            return authenticate(ctx, c, key);
        case BODY_DUPLICATE:
            return tr_auth_fail(ctx, c->anonymous, 401, "Duplicate API key found", NULL);
        case BODY_NONE:
            break;
        }
    }
    return tr_auth_fail(ctx, c->anonymous, 401, "No API key found in request", WWW_AUTH);
}

struct key_auth_state {
    const struct key_auth_conf *conf;
};

static void on_body(struct tr_ctx *ctx, bool complete)
{
    (void)complete; /* a body too big to read is not searched */
    const struct key_auth_state *st = tr_ctx_state(ctx);
    tr_ctx_resume(ctx, search_body(ctx, st->conf));
}

static int key_auth_access(struct tr_ctx *ctx, const void *p)
{
    const struct key_auth_conf *c = p;
    if (!c->run_on_preflight && tr_str_eq(tr_ctx_method(ctx), TR_STR_LIT("OPTIONS")))
        return TR_PLUGIN_NEXT;
    if (tr_auth_already_done(ctx, c->anonymous))
        return TR_PLUGIN_NEXT;

    /* Each name in order: its header, then its query argument (Kong 1.x+ order). A name sent
     * more than once where it is looked for is ambiguous: Kong 3 answers 401 "Duplicate API key
     * found" (without WWW-Authenticate) rather than pick one. */
    struct tr_str key = TR_STR_NULL, second;
    bool found = false;
    for (size_t i = 0; i < c->num_key_names && !found; i++) {
        struct tr_str name = tr_str_from_cstr(c->key_names[i]);
        bool dup = false;
        if (c->key_in_header && tr_ctx_header_nth(ctx, name, 0, &key)) {
            dup = tr_ctx_header_nth(ctx, name, 1, &second);
            found = true;
        } else if (c->key_in_query && tr_ctx_query_arg(ctx, name, &key)) {
            dup = form_name_count(tr_ctx_raw_query(ctx), name) > 1;
            found = true;
        }
        /* Hidden before a duplicate is refused, so an anonymous fallback carries no key. */
        if (found && c->hide_credentials) {
            tr_ctx_remove_header(ctx, name);
            tr_ctx_remove_query_arg(ctx, name);
        }
        if (dup)
            return tr_auth_fail(ctx, c->anonymous, 401, "Duplicate API key found", NULL);
    }
    if (found)
        return authenticate(ctx, c, key);
    if (!c->key_in_body)
        return tr_auth_fail(ctx, c->anonymous, 401, "No API key found in request", WWW_AUTH);
    /* Not in headers or the query: the body (form or JSON), read first when needed. */
    if (!tr_ctx_body_ready(ctx)) {
        struct key_auth_state *st = tr_ctx_state(ctx);
        st->conf = c;
        tr_ctx_read_body(ctx, MAX_KEY_BODY, on_body);
        return TR_PLUGIN_YIELD;
    }
    return search_body(ctx, c);
}

/* ---- the keyauth_credentials kind ---------------------------------------------------------- */

static const struct tr_schema_field cred_fields[] = {
    TR_SCHEMA_FIELD_ID,
    TR_SCHEMA_FIELD_CREATED_AT,
    TR_SCHEMA_FIELD_TAGS,
    {.name = "consumer_id",
     .type = TR_SCHEMA_UUID,
     .flags = TR_SCHEMA_REQUIRED,
     .help = "the consumer the key belongs to"},
    /* A PATCH with an empty key is refused as in Kong 0.7 rather than silently replacing the
     * key with a generated one the client never asked for. */
    {.name = "key",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_UNIQUE | TR_SCHEMA_NO_CLEAR,
     .gen = tr_auth_gen_key,
     .help = "the API key; 32 random hex characters when not given"},
};

static const struct tr_schema cred_schema = {
    .name = ENTITY,
    .fields = cred_fields,
    .cnt = TR_ARRAY_SIZE(cred_fields),
};

static const struct tr_plugin_credential credentials[] = {
    {
        .entity = ENTITY,
        .path = "key-auth",
        .alias = "keyauth",
        .schema = &cred_schema,
        .lookup_field = "key",
    },
};

/* Priority 1003 as Kong 1.x and later (0.7 ran every auth plugin at 1000). */
const struct tr_plugin tr_plugin_key_auth = {
    .name = "key-auth",
    .version = "1.0.0",
    .priority = 1003,
    .flags = TR_PLUGIN_NO_CONSUMER,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .access = key_auth_access,
    .state_size = sizeof(struct key_auth_state),
    .credentials = credentials,
    .num_credentials = TR_ARRAY_SIZE(credentials),
};
