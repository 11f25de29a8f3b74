/* SPDX-License-Identifier: MIT */
/* request-transformer (Kong 3.9, priority 801): reshapes the request before it goes upstream,
 * in Kong's order — the path (replace.uri), the method (http_method; a GET, HEAD or TRACE
 * takes a form body's fields into its query), the headers, the body (form, JSON or multipart)
 * and the query — each by remove, rename, replace, add and append, in that order. Values are
 * templates (template.h) rendered once, before any change, against the request as the earlier
 * plugins left it, as Kong renders them in one environment. Config entries are "name:value"
 * (Kong's ^([^:]+):*(.-)$: every colon after the name is dropped). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/form.h"
#include "plugins/args.h"
#include "plugins/form_parts.h"
#include "plugins/json_edit.h"
#include "plugins/pairs.h"
#include "plugins/plugin.h"
#include "plugins/template.h"
#include "schema/schema.h"

/* The largest body transformed; a larger one goes upstream untouched (logged). */
#define MAX_BODY (8u * 1024 * 1024)

enum target { T_BODY, T_HEADERS, T_QUERY, NUM_TARGETS };
enum action { A_REMOVE, A_RENAME, A_REPLACE, A_ADD, A_APPEND, NUM_ACTIONS };

static const char *const target_names[NUM_TARGETS] = {"body", "headers", "querystring"};
static const char *const action_names[NUM_ACTIONS] = {"remove", "rename", "replace", "add",
                                                      "append"};

struct entry {
    struct tr_str name; /* owned */
    struct tr_tpl *value;
    size_t slot; /* with value: its place among the rendered values */
};

struct entries {
    struct entry *items;
    size_t n;
};

struct rt_conf {
    char *method; /* owned, or NULL */
    struct tr_tpl *uri;
    struct entries lists[NUM_ACTIONS][NUM_TARGETS];
    size_t num_values; /* every template of lists, for rendering them up front */
};

/* ---- schema ------------------------------------------------------------------------------- */

enum rule {
    R_NAMES,         /* remove.body/querystring: any string */
    R_HEADER_NAMES,  /* remove.headers: a valid header name */
    R_PAIRS,         /* name:template (Kong's check_for_value) */
    R_HEADER_PAIRS,  /* name:template with a valid header name */
    R_HEADER_RENAME, /* old:new, both valid header names */
};

static int check_items(json_t *rec, const char *field, enum rule rule, char *msg, size_t len)
{
    const json_t *arr = json_object_get(rec, field);
    size_t i;
    const json_t *item;
    json_array_foreach(arr, i, item)
    {
        struct tr_str s = {json_string_value(item), json_string_length(item)};
        if (s.ptr == NULL)
            continue;
        struct tr_str name = s, value = TR_STR_NULL;
        bool has_colon = memchr(s.ptr, ':', s.len) != NULL;
        if (rule != R_NAMES && rule != R_HEADER_NAMES &&
            (!tr_pair_split(s, &name, &value) || (rule != R_PAIRS && !has_colon))) {
            if (rule == R_PAIRS) {
                snprintf(msg, len, "key '%.*s' has no value", (int)s.len, s.ptr);
                return TR_EINVAL;
            }
            snprintf(msg, len, "invalid value: %.*s", (int)s.len, s.ptr);
            return TR_EINVAL;
        }
        if (rule == R_HEADER_NAMES || rule == R_HEADER_PAIRS || rule == R_HEADER_RENAME) {
            if (rule == R_HEADER_NAMES)
                tr_pair_split(s, &name, &value);
            char ignored[128];
            if (!tr_schema_header_name_ok(name.ptr, name.len, ignored, sizeof(ignored))) {
                snprintf(msg, len, "'%.*s' is not a valid header", (int)name.len, name.ptr);
                return TR_EINVAL;
            }
            if (rule == R_HEADER_RENAME &&
                (value.len == 0 ||
                 !tr_schema_header_name_ok(value.ptr, value.len, ignored, sizeof(ignored)))) {
                snprintf(msg, len, "'%.*s' is not a valid header", (int)value.len, value.ptr);
                return TR_EINVAL;
            }
        }
        /* Header values may be empty (the entry then does nothing, as in Kong); a template that
         * torii cannot evaluate is refused for every list. */
        if (rule == R_PAIRS || (rule == R_HEADER_PAIRS && value.len)) {
            if (value.len == 0) {
                snprintf(msg, len, "key '%.*s' has no value", (int)name.len, name.ptr);
                return TR_EINVAL;
            }
            char err[160];
            struct tr_tpl *t = tr_tpl_compile(value, err, sizeof(err));
            if (t == NULL) {
                snprintf(msg, len, "value '%.*s' is not in supported format, error:%s",
                         (int)value.len, value.ptr, err);
                return TR_EINVAL;
            }
            tr_tpl_free(t);
        }
    }
    return 0;
}

#define CHECKER(fn, rule)                                                                          \
    static int fn(json_t *rec, const char *field, char *msg, size_t len)                           \
    {                                                                                              \
        return check_items(rec, field, rule, msg, len);                                            \
    }
CHECKER(check_names, R_NAMES)
CHECKER(check_header_names, R_HEADER_NAMES)
CHECKER(check_pairs, R_PAIRS)
CHECKER(check_header_pairs, R_HEADER_PAIRS)
CHECKER(check_header_rename, R_HEADER_RENAME)

static int check_uri(json_t *rec, const char *field, char *msg, size_t len)
{
    const json_t *v = json_object_get(rec, field);
    char err[160];
    struct tr_tpl *t = tr_tpl_compile((struct tr_str){json_string_value(v), json_string_length(v)},
                                      err, sizeof(err));
    if (t == NULL) {
        snprintf(msg, len, "value '%s' is not in supported format, error:%s", json_string_value(v),
                 err);
        return TR_EINVAL;
    }
    tr_tpl_free(t);
    return 0;
}

#define LIST(n, chk, h)                                                                            \
    {                                                                                              \
        .name = n, .type = TR_SCHEMA_ARRAY, .flags = TR_SCHEMA_REQUIRED, .dflt = "[]",             \
        .check = chk, .help = h                                                                    \
    }

static const struct tr_schema_field remove_fields[] = {
    LIST("body", check_names, "body fields to remove"),
    LIST("headers", check_header_names, "headers to remove"),
    LIST("querystring", check_names, "query arguments to remove"),
};
static const struct tr_schema_field rename_fields[] = {
    LIST("body", check_pairs, "old:new body fields"),
    LIST("headers", check_header_rename, "old:new headers"),
    LIST("querystring", check_pairs, "old:new query arguments"),
};
static const struct tr_schema_field replace_fields[] = {
    LIST("body", check_pairs, "name:value, set when the field is present"),
    LIST("headers", check_header_pairs, "name:value, set when the header is present"),
    LIST("querystring", check_pairs, "name:value, set when the argument is present"),
    {.name = "uri", .type = TR_SCHEMA_STRING, .check = check_uri, .help = "the upstream path"},
};
static const struct tr_schema_field add_fields[] = {
    LIST("body", check_pairs, "name:value, set when the field is absent"),
    LIST("headers", check_header_pairs, "name:value, set when the header is absent"),
    LIST("querystring", check_pairs, "name:value, set when the argument is absent"),
};
static const struct tr_schema_field append_fields[] = {
    LIST("body", check_pairs, "name:value, added after the values present"),
    LIST("headers", check_header_pairs, "name:value, added after the values present"),
    LIST("querystring", check_pairs, "name:value, added after the values present"),
};

#define RECORD_SCHEMA(var, f) static const struct tr_schema var = {#f, f, TR_ARRAY_SIZE(f), 0, 0}
RECORD_SCHEMA(remove_schema, remove_fields);
RECORD_SCHEMA(rename_schema, rename_fields);
RECORD_SCHEMA(replace_schema, replace_fields);
RECORD_SCHEMA(add_schema, add_fields);
RECORD_SCHEMA(append_schema, append_fields);

/* Kong's typedefs.http_method: upper-case letters. */
static int check_method(json_t *rec, const char *field, char *msg, size_t len)
{
    const char *m = json_string_value(json_object_get(rec, field));
    bool ok = m && *m;
    for (const char *p = m; ok && *p; p++)
        ok = *p >= 'A' && *p <= 'Z';
    if (!ok) {
        snprintf(msg, len, "invalid value: %s", m ? m : "");
        return TR_EINVAL;
    }
    return 0;
}

#define SECTION(n, s, h)                                                                           \
    {                                                                                              \
        .name = n, .type = TR_SCHEMA_RECORD, .record = &s, .help = h                               \
    }

static const struct tr_schema_field conf_fields[] = {
    {.name = "http_method",
     .type = TR_SCHEMA_STRING,
     .check = check_method,
     .help = "the method sent upstream"},
    SECTION("remove", remove_schema, "what to remove"),
    SECTION("rename", rename_schema, "what to rename"),
    SECTION("replace", replace_schema, "what to replace"),
    SECTION("add", add_schema, "what to add"),
    SECTION("append", append_schema, "what to append"),
};

static const struct tr_schema conf_schema = {
    .name = "request-transformer",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
};

/* ---- config ------------------------------------------------------------------------------- */

static void conf_free(void *p)
{
    struct rt_conf *c = p;
    if (c == NULL)
        return;
    for (int a = 0; a < NUM_ACTIONS; a++) {
        for (int t = 0; t < NUM_TARGETS; t++) {
            struct entries *l = &c->lists[a][t];
            for (size_t i = 0; i < l->n; i++) {
                free((char *)l->items[i].name.ptr);
                tr_tpl_free(l->items[i].value);
            }
            free(l->items);
        }
    }
    tr_tpl_free(c->uri);
    free(c->method);
    free(c);
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    struct rt_conf *c = tr_xcalloc(1, sizeof(*c));
    const char *m = json_string_value(json_object_get(config, "http_method"));
    if (m)
        c->method = tr_xstrdup(m);
    for (int a = 0; a < NUM_ACTIONS; a++) {
        const json_t *section = json_object_get(config, action_names[a]);
        for (int t = 0; t < NUM_TARGETS; t++) {
            const json_t *arr = json_object_get(section, target_names[t]);
            struct entries *l = &c->lists[a][t];
            l->items = tr_xcalloc(json_array_size(arr) + 1, sizeof(*l->items));
            size_t i;
            const json_t *item;
            json_array_foreach(arr, i, item)
            {
                struct tr_str s = {json_string_value(item), json_string_length(item)}, name, value;
                if (s.ptr == NULL || !tr_pair_split(s, &name, &value))
                    continue;
                struct entry *e = &l->items[l->n];
                char *copy = tr_xmalloc(name.len + 1);
                memcpy(copy, name.ptr, name.len);
                copy[name.len] = '\0';
                e->name = (struct tr_str){copy, name.len};
                l->n++;
                if (value.len == 0 || a == A_REMOVE)
                    continue; /* remove lists: names only (what follows a colon is ignored) */
                e->value = tr_tpl_compile(value, err, err_len);
                if (e->value == NULL) {
                    conf_free(c);
                    return NULL;
                }
                e->slot = c->num_values++;
            }
        }
    }
    const char *uri = json_string_value(json_object_get(json_object_get(config, "replace"), "uri"));
    if (uri && *uri) {
        c->uri = tr_tpl_compile(tr_str_from_cstr(uri), err, err_len);
        if (c->uri == NULL) {
            conf_free(c);
            return NULL;
        }
    }
    return c;
}

/* ---- rendering ---------------------------------------------------------------------------- */

static void *ctx_alloc(void *ud, size_t len)
{
    return tr_ctx_alloc(ud, len ? len : 1);
}

/* What templates read: the request, and its query taken once (each lookup walks it). */
struct env_data {
    struct tr_ctx *ctx;
    struct tr_str query;
    bool query_taken;
};

static void *env_alloc(void *ud, size_t len)
{
    return ctx_alloc(((struct env_data *)ud)->ctx, len);
}

static bool env_get(void *ud, enum tr_tpl_table table, struct tr_str key, size_t nth,
                    struct tr_str *value, bool *is_true)
{
    struct env_data *d = ud;
    struct tr_ctx *ctx = d->ctx;
    *is_true = false;
    switch (table) {
    case TR_TPL_HEADERS:
        return tr_ctx_upstream_header_nth(ctx, key, nth, value);
    case TR_TPL_QUERY_PARAMS: {
        if (!d->query_taken) {
            d->query = tr_ctx_upstream_query(ctx);
            d->query_taken = true;
        }
        struct tr_str raw = d->query, k, v;
        while (tr_form_next(&raw, &k, &v)) {
            if (!tr_form_key_eq(k, key) || nth-- != 0)
                continue;
            *is_true = v.ptr == k.ptr + k.len;
            char *out = tr_ctx_alloc(ctx, v.len + 1);
            *value = (struct tr_str){out, tr_form_decode(v, out)};
            return true;
        }
        return false;
    }
    case TR_TPL_URI_CAPTURES: {
        if (nth != 0)
            return false;
        size_t group = 0;
        bool numeric = key.len > 0 && key.len < 6;
        for (size_t i = 0; numeric && i < key.len; i++) {
            numeric = key.ptr[i] >= '0' && key.ptr[i] <= '9';
            group = group * 10 + (size_t)(key.ptr[i] - '0');
        }
        if (numeric)
            return tr_ctx_uri_capture(ctx, group, value);
        char name[128];
        if (key.len >= sizeof(name))
            return false;
        memcpy(name, key.ptr, key.len);
        name[key.len] = '\0';
        return tr_ctx_uri_capture_named(ctx, name, value);
    }
    case TR_TPL_SHARED:
        return false;
    }
    return false;
}

/* Every value of the config, rendered before anything changes (by slot). */
struct rendered {
    struct tr_str *v;
};

static void render_all(struct tr_ctx *ctx, const struct rt_conf *c, struct rendered *out)
{
    struct env_data d = {.ctx = ctx};
    struct tr_tpl_env env = {env_get, env_alloc, &d};
    out->v = tr_ctx_alloc(ctx, (c->num_values + 1) * sizeof(*out->v));
    for (int a = 0; a < NUM_ACTIONS; a++) {
        for (int t = 0; t < NUM_TARGETS; t++) {
            const struct entries *l = &c->lists[a][t];
            for (size_t i = 0; i < l->n; i++) {
                if (l->items[i].value)
                    out->v[l->items[i].slot] = tr_tpl_render(l->items[i].value, &env);
            }
        }
    }
}

/* The rendered value of entry i of lists[a][t]. */
static struct tr_str value_of(const struct rt_conf *c, const struct rendered *r, int a, int t,
                              size_t i)
{
    const struct entry *e = &c->lists[a][t].items[i];
    return e->value ? r->v[e->slot] : TR_STR_LIT("");
}

/* ---- headers ------------------------------------------------------------------------------ */

static bool is_host(struct tr_str name)
{
    return tr_str_ieq(name, TR_STR_LIT("host"));
}

static bool has_header(struct tr_ctx *ctx, struct tr_str name)
{
    struct tr_str v;
    return !is_host(name) && tr_ctx_upstream_header_nth(ctx, name, 0, &v);
}

static void transform_headers(struct tr_ctx *ctx, const struct rt_conf *c, const struct rendered *r)
{
    const struct entries *l = &c->lists[A_REMOVE][T_HEADERS];
    for (size_t i = 0; i < l->n; i++) {
        if (has_header(ctx, l->items[i].name))
            tr_ctx_remove_header(ctx, l->items[i].name);
    }
    l = &c->lists[A_RENAME][T_HEADERS];
    for (size_t i = 0; i < l->n; i++) {
        struct tr_str from = l->items[i].name, to = value_of(c, r, A_RENAME, T_HEADERS, i);
        if (tr_str_eq(from, to) || !has_header(ctx, from) || to.len == 0)
            continue;
        struct tr_str values[64];
        size_t n = 0;
        while (n < TR_ARRAY_SIZE(values) && tr_ctx_upstream_header_nth(ctx, from, n, &values[n]))
            n++;
        tr_ctx_remove_header(ctx, from);
        for (size_t k = 0; k < n; k++) {
            if (k == 0)
                tr_ctx_set_header(ctx, to, values[k]);
            else
                tr_ctx_add_header(ctx, to, values[k]);
        }
    }
    /* an entry without a value (Kong's nil) changes nothing */
    l = &c->lists[A_REPLACE][T_HEADERS];
    for (size_t i = 0; i < l->n; i++) {
        struct tr_str name = l->items[i].name;
        if (l->items[i].value && (is_host(name) || has_header(ctx, name)))
            tr_ctx_set_header(ctx, name, value_of(c, r, A_REPLACE, T_HEADERS, i));
    }
    l = &c->lists[A_ADD][T_HEADERS];
    for (size_t i = 0; i < l->n; i++) {
        struct tr_str name = l->items[i].name;
        if (l->items[i].value && !is_host(name) && !has_header(ctx, name))
            tr_ctx_set_header(ctx, name, value_of(c, r, A_ADD, T_HEADERS, i));
    }
    l = &c->lists[A_APPEND][T_HEADERS];
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].value && !is_host(l->items[i].name))
            tr_ctx_add_header(ctx, l->items[i].name, value_of(c, r, A_APPEND, T_HEADERS, i));
    }
}

/* ---- query and form tables ---------------------------------------------------------------- */

static struct tr_args_value text(struct tr_str s)
{
    return (struct tr_args_value){s, false};
}

/* Kong's transform_querystrings and transform_url_encoded_body share these steps; a body's
 * remove, rename and replace only apply to a non-empty body. Returns whether anything ran. */
static bool transform_args(struct tr_args *args, const struct rt_conf *c, const struct rendered *r,
                           enum target t, bool has_content)
{
    bool changed = false;
    const struct entries *l;
    if (has_content) {
        l = &c->lists[A_REMOVE][t];
        for (size_t i = 0; i < l->n; i++, changed = true)
            tr_args_remove(args, l->items[i].name);
        l = &c->lists[A_RENAME][t];
        for (size_t i = 0; i < l->n; i++)
            changed |= tr_args_rename(args, l->items[i].name, value_of(c, r, A_RENAME, t, i));
        l = &c->lists[A_REPLACE][t];
        for (size_t i = 0; i < l->n; i++) {
            if (tr_args_get(args, l->items[i].name)) {
                tr_args_set(args, l->items[i].name, text(value_of(c, r, A_REPLACE, t, i)));
                changed = true;
            }
        }
    }
    l = &c->lists[A_ADD][t];
    for (size_t i = 0; i < l->n; i++) {
        if (!tr_args_get(args, l->items[i].name)) {
            tr_args_set(args, l->items[i].name, text(value_of(c, r, A_ADD, t, i)));
            changed = true;
        }
    }
    l = &c->lists[A_APPEND][t];
    for (size_t i = 0; i < l->n; i++, changed = true)
        tr_args_append(args, l->items[i].name, text(value_of(c, r, A_APPEND, t, i)));
    return changed;
}

static bool any(const struct rt_conf *c, enum target t)
{
    for (int a = 0; a < NUM_ACTIONS; a++) {
        if (c->lists[a][t].n)
            return true;
    }
    return false;
}

static void transform_query(struct tr_ctx *ctx, const struct rt_conf *c, const struct rendered *r)
{
    if (!any(c, T_QUERY))
        return;
    struct tr_args args;
    tr_args_init(&args, ctx_alloc, ctx);
    tr_args_parse(&args, tr_ctx_upstream_query(ctx));
    transform_args(&args, c, r, T_QUERY, true);
    tr_ctx_set_upstream_query(ctx, tr_args_encode(&args, true));
}

/* ---- bodies ------------------------------------------------------------------------------- */

enum body_kind { B_NONE, B_JSON, B_MULTIPART, B_FORM };

static enum body_kind body_kind(const struct tr_ctx *ctx, struct tr_str *ct)
{
    if (!tr_ctx_upstream_header_nth(ctx, TR_STR_LIT("Content-Type"), 0, ct))
        return B_NONE;
    static const struct {
        const char *needle;
        enum body_kind kind;
    } kinds[] = {{"application/json", B_JSON},
                 {"multipart/form-data", B_MULTIPART},
                 {"application/x-www-form-urlencoded", B_FORM}};
    for (size_t k = 0; k < TR_ARRAY_SIZE(kinds); k++) {
        size_t n = strlen(kinds[k].needle);
        for (size_t i = 0; i + n <= ct->len; i++) {
            if (tr_str_ieq((struct tr_str){ct->ptr + i, n}, tr_str_from_cstr(kinds[k].needle)))
                return kinds[k].kind;
        }
    }
    return B_NONE;
}

static json_t *json_text(struct tr_str s)
{
    return json_stringn(s.ptr, s.len);
}

static bool transform_json(struct tr_ctx *ctx, const struct rt_conf *c, const struct rendered *r,
                           struct tr_str body, struct tr_str *out)
{
    json_t *doc = body.len ? json_loadb(body.ptr, body.len, 0, NULL) : json_object();
    if (!json_is_object(doc)) {
        json_decref(doc);
        return false; /* not a JSON object: left as sent */
    }
    bool changed = false;
    const struct entries *l;
    if (body.len) {
        l = &c->lists[A_REMOVE][T_BODY];
        for (size_t i = 0; i < l->n; i++, changed = true)
            json_object_del(doc, l->items[i].name.ptr);
        l = &c->lists[A_RENAME][T_BODY];
        for (size_t i = 0; i < l->n; i++) {
            const char *from = l->items[i].name.ptr;
            struct tr_str to = value_of(c, r, A_RENAME, T_BODY, i);
            json_t *v = json_object_get(doc, from);
            if (v == NULL || tr_str_eq(tr_str_from_cstr(from), to))
                continue;
            json_incref(v);
            json_object_del(doc, from);
            json_object_setn_new(doc, to.ptr, to.len, v);
            changed = true;
        }
        l = &c->lists[A_REPLACE][T_BODY];
        for (size_t i = 0; i < l->n; i++) {
            const char *name = l->items[i].name.ptr;
            if (tr_json_member_truthy(json_object_get(doc, name))) {
                json_object_set_new(doc, name, json_text(value_of(c, r, A_REPLACE, T_BODY, i)));
                changed = true;
            }
        }
    }
    l = &c->lists[A_ADD][T_BODY];
    for (size_t i = 0; i < l->n; i++) {
        const char *name = l->items[i].name.ptr;
        if (!tr_json_member_truthy(json_object_get(doc, name))) {
            json_object_set_new(doc, name, json_text(value_of(c, r, A_ADD, T_BODY, i)));
            changed = true;
        }
    }
    l = &c->lists[A_APPEND][T_BODY];
    for (size_t i = 0; i < l->n; i++, changed = true)
        tr_json_append_value(doc, l->items[i].name.ptr,
                             json_text(value_of(c, r, A_APPEND, T_BODY, i)));
    if (changed) {
        char *text = json_dumps(doc, TR_JSON_EDIT_DUMP_FLAGS);
        if (text) {
            size_t n = strlen(text);
            char *copy = tr_ctx_alloc(ctx, n + 1);
            memcpy(copy, text, n + 1);
            *out = (struct tr_str){copy, n};
            free(text);
        } else {
            changed = false;
        }
    }
    json_decref(doc);
    return changed;
}

static bool transform_multipart(struct tr_ctx *ctx, const struct rt_conf *c,
                                const struct rendered *r, struct tr_str ct, struct tr_str body,
                                struct tr_str *out)
{
    struct tr_form_parts m;
    if (!tr_form_parts_read(&m, ct, body, ctx_alloc, ctx))
        return false;
    bool changed = false;
    const struct entries *l;
    if (body.len) {
        l = &c->lists[A_RENAME][T_BODY];
        for (size_t i = 0; i < l->n; i++) {
            struct tr_str to = value_of(c, r, A_RENAME, T_BODY, i);
            struct tr_form_part *p = tr_form_parts_get(&m, l->items[i].name);
            if (p && !tr_str_eq(l->items[i].name, to)) {
                tr_form_parts_set(&m, to, p->value);
                tr_form_parts_delete(&m, l->items[i].name);
                changed = true;
            }
        }
        l = &c->lists[A_REMOVE][T_BODY];
        for (size_t i = 0; i < l->n; i++, changed = true)
            tr_form_parts_delete(&m, l->items[i].name);
        l = &c->lists[A_REPLACE][T_BODY];
        for (size_t i = 0; i < l->n; i++) {
            if (tr_form_parts_get(&m, l->items[i].name)) {
                tr_form_parts_delete(&m, l->items[i].name);
                tr_form_parts_set(&m, l->items[i].name, value_of(c, r, A_REPLACE, T_BODY, i));
                changed = true;
            }
        }
    }
    l = &c->lists[A_ADD][T_BODY];
    for (size_t i = 0; i < l->n; i++) {
        if (!tr_form_parts_get(&m, l->items[i].name)) {
            tr_form_parts_set(&m, l->items[i].name, value_of(c, r, A_ADD, T_BODY, i));
            changed = true;
        }
    }
    if (changed)
        *out = tr_form_parts_write(&m);
    return changed;
}

static void transform_body(struct tr_ctx *ctx, const struct rt_conf *c, const struct rendered *r)
{
    struct tr_str ct, body, out;
    enum body_kind kind = body_kind(ctx, &ct);
    if (kind == B_NONE || !any(c, T_BODY) || !tr_ctx_body(ctx, &body))
        return;
    bool changed = false;
    if (kind == B_FORM) {
        struct tr_args args;
        tr_args_init(&args, ctx_alloc, ctx);
        tr_args_parse(&args, body);
        changed = transform_args(&args, c, r, T_BODY, body.len > 0);
        if (changed)
            out = tr_args_encode(&args, false);
    } else if (kind == B_JSON) {
        changed = transform_json(ctx, c, r, body, &out);
    } else {
        changed = transform_multipart(ctx, c, r, ct, body, &out);
    }
    if (changed)
        tr_ctx_set_body(ctx, out);
}

/* ---- method and path ---------------------------------------------------------------------- */

static void transform_method(struct tr_ctx *ctx, const struct rt_conf *c)
{
    if (c->method == NULL)
        return;
    struct tr_str m = tr_str_from_cstr(c->method);
    tr_ctx_set_method(ctx, m);
    struct tr_str ct, body;
    if (!(tr_str_eq(m, TR_STR_LIT("GET")) || tr_str_eq(m, TR_STR_LIT("HEAD")) ||
          tr_str_eq(m, TR_STR_LIT("TRACE"))) ||
        body_kind(ctx, &ct) != B_FORM || !tr_ctx_body(ctx, &body) || body.len == 0)
        return;
    /* the form's fields join the query (after the values it has) */
    struct tr_args form, query;
    tr_args_init(&form, ctx_alloc, ctx);
    tr_args_init(&query, ctx_alloc, ctx);
    tr_args_parse(&form, body);
    if (form.num == 0)
        return;
    tr_args_parse(&query, tr_ctx_upstream_query(ctx));
    for (size_t i = 0; i < form.num; i++) {
        for (size_t k = 0; k < form.entries[i].num_values; k++)
            tr_args_append(&query, form.entries[i].name, form.entries[i].values[k]);
    }
    tr_ctx_set_upstream_query(ctx, tr_args_encode(&query, true));
}

static void transform_uri(struct tr_ctx *ctx, const struct rt_conf *c)
{
    if (c->uri == NULL)
        return;
    struct env_data d = {.ctx = ctx};
    struct tr_tpl_env env = {env_get, env_alloc, &d};
    struct tr_str path = tr_tpl_render(c->uri, &env);
    if (path.len)
        tr_ctx_set_upstream_path(ctx, path);
}

/* ---- phases ------------------------------------------------------------------------------- */

static void transform(struct tr_ctx *ctx, const struct rt_conf *c)
{
    struct rendered r;
    render_all(ctx, c, &r);
    transform_uri(ctx, c);
    transform_method(ctx, c);
    transform_headers(ctx, c, &r);
    transform_body(ctx, c, &r);
    transform_query(ctx, c, &r);
}

/* Does the transformation read the body (body edits, or a form moved into the query)? */
static bool needs_body(const struct tr_ctx *ctx, const struct rt_conf *c)
{
    struct tr_str ct;
    enum body_kind kind = body_kind(ctx, &ct);
    if (kind == B_NONE)
        return false;
    if (any(c, T_BODY))
        return true;
    return kind == B_FORM && c->method &&
           (strcmp(c->method, "GET") == 0 || strcmp(c->method, "HEAD") == 0 ||
            strcmp(c->method, "TRACE") == 0);
}

static void on_body(struct tr_ctx *ctx, bool complete)
{
    const struct rt_conf *c = *(const struct rt_conf **)tr_ctx_state(ctx);
    if (!complete) /* too large to hold: it goes untouched (tr_ctx_body says so), the rest is
                      transformed */
        tr_log_warn("request-transformer: request body over %u bytes: its fields were not "
                    "transformed",
                    MAX_BODY);
    transform(ctx, c);
    tr_ctx_resume(ctx, TR_PLUGIN_NEXT);
}

static int access(struct tr_ctx *ctx, const void *conf)
{
    const struct rt_conf *c = conf;
    if (needs_body(ctx, c) && !tr_ctx_body_ready(ctx)) {
        *(const struct rt_conf **)tr_ctx_state(ctx) = c;
        tr_ctx_read_body(ctx, MAX_BODY, on_body);
        return TR_PLUGIN_YIELD;
    }
    transform(ctx, c);
    return TR_PLUGIN_NEXT;
}

const struct tr_plugin tr_plugin_request_transformer = {
    .name = "request-transformer",
    .version = "3.9.1",
    .priority = 801,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .access = access,
    .state_size = sizeof(const struct rt_conf *),
};
