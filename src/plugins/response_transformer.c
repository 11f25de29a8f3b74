/* SPDX-License-Identifier: MIT */
/* response-transformer (Kong 3.9, priority 800): reshapes the answer the client gets — its
 * headers by remove, rename, replace, add and append (tested against the headers as they were
 * before this plugin's changes, as Kong reads them once), and the top-level members of a JSON
 * body (Content-Type application/json or a +json type) the same way, with json_types casting
 * added values to numbers or booleans. The body is held only when there are JSON edits and the
 * answer is JSON (tr_ctx_buffer_response); a body that is not valid JSON passes untouched. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "plugins/json_edit.h"
#include "plugins/pairs.h"
#include "plugins/plugin.h"
#include "schema/schema.h"

enum action { A_REMOVE, A_RENAME, A_REPLACE, A_ADD, A_APPEND, NUM_ACTIONS };
enum target { T_JSON, T_HEADERS, NUM_TARGETS };
enum json_type { J_STRING, J_NUMBER, J_BOOLEAN };

static const char *const action_names[NUM_ACTIONS] = {"remove", "rename", "replace", "add",
                                                      "append"};
static const char *const target_names[NUM_TARGETS] = {"json", "headers"};

struct entry {
    char *name; /* owned */
    size_t name_len;
    char *value; /* owned; NULL when the entry has none (Kong's nil) */
    size_t value_len;
    enum json_type type; /* json lists: json_types[i], string when not given */
};

struct entries {
    struct entry *items;
    size_t n;
};

struct rsp_conf {
    struct entries lists[NUM_ACTIONS][NUM_TARGETS];
    bool json_edits;
};

/* ---- schema ------------------------------------------------------------------------------- */

/* Kong's ^[^:]+:.*$ on each item; with headers, both sides valid header names (rename). */
static int check_items(json_t *rec, const char *field, bool header_names, char *msg, size_t len)
{
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(rec, field), i, item)
    {
        struct tr_str s = {json_string_value(item), json_string_length(item)}, name, value;
        if (s.ptr == NULL)
            continue;
        if (!tr_pair_split(s, &name, &value) || memchr(s.ptr, ':', s.len) == NULL) {
            snprintf(msg, len, "invalid value: %.*s", (int)s.len, s.ptr);
            return TR_EINVAL;
        }
        char ignored[128];
        if (header_names) {
            if (!tr_schema_header_name_ok(name.ptr, name.len, ignored, sizeof(ignored))) {
                snprintf(msg, len, "'%.*s' is not a valid header", (int)name.len, name.ptr);
                return TR_EINVAL;
            }
            if (!tr_schema_header_name_ok(value.ptr, value.len, ignored, sizeof(ignored))) {
                snprintf(msg, len, "'%.*s' is not a valid header", (int)value.len, value.ptr);
                return TR_EINVAL;
            }
        }
    }
    return 0;
}

static int check_pairs(json_t *rec, const char *field, char *msg, size_t len)
{
    return check_items(rec, field, false, msg, len);
}

static int check_header_rename(json_t *rec, const char *field, char *msg, size_t len)
{
    return check_items(rec, field, true, msg, len);
}

static const char *const json_type_names[] = {"string", "number", "boolean", NULL};

static int check_json_types(json_t *rec, const char *field, char *msg, size_t len)
{
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(rec, field), i, item)
    {
        const char *t = json_string_value(item);
        bool ok = false;
        for (size_t k = 0; t && json_type_names[k]; k++)
            ok |= strcmp(t, json_type_names[k]) == 0;
        if (!ok) {
            snprintf(msg, len, "expected one of: boolean, number, string");
            return TR_EINVAL;
        }
    }
    return 0;
}

#define LIST(n, chk, h)                                                                            \
    {                                                                                              \
        .name = n, .type = TR_SCHEMA_ARRAY, .flags = TR_SCHEMA_REQUIRED, .dflt = "[]",             \
        .check = chk, .help = h                                                                    \
    }
#define TYPES LIST("json_types", check_json_types, "boolean, number or string per json entry")

static const struct tr_schema_field remove_fields[] = {
    LIST("json", NULL, "JSON members to remove"),
    LIST("headers", NULL, "headers to remove"),
};
static const struct tr_schema_field rename_fields[] = {
    LIST("json", check_pairs, "old:new JSON members"),
    LIST("headers", check_header_rename, "old:new headers"),
};
static const struct tr_schema_field replace_fields[] = {
    LIST("json", check_pairs, "name:value, set when the member is present"),
    TYPES,
    LIST("headers", check_pairs, "name:value, set when the header is present"),
};
static const struct tr_schema_field add_fields[] = {
    LIST("json", check_pairs, "name:value, set when the member is absent"),
    TYPES,
    LIST("headers", check_pairs, "name:value, set when the header is absent"),
};
static const struct tr_schema_field append_fields[] = {
    LIST("json", check_pairs, "name:value, added after the member's values"),
    TYPES,
    LIST("headers", check_pairs, "name:value, added after the header's values"),
};

#define RECORD_SCHEMA(var, f) static const struct tr_schema var = {#f, f, TR_ARRAY_SIZE(f), 0, 0}
RECORD_SCHEMA(remove_schema, remove_fields);
RECORD_SCHEMA(rename_schema, rename_fields);
RECORD_SCHEMA(replace_schema, replace_fields);
RECORD_SCHEMA(add_schema, add_fields);
RECORD_SCHEMA(append_schema, append_fields);

#define SECTION(n, s, h)                                                                           \
    {                                                                                              \
        .name = n, .type = TR_SCHEMA_RECORD, .record = &s, .help = h                               \
    }

static const struct tr_schema_field conf_fields[] = {
    SECTION("remove", remove_schema, "what to remove"),
    SECTION("rename", rename_schema, "what to rename"),
    SECTION("replace", replace_schema, "what to replace"),
    SECTION("add", add_schema, "what to add"),
    SECTION("append", append_schema, "what to append"),
};

static const struct tr_schema conf_schema = {
    .name = "response-transformer",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
};

/* ---- config ------------------------------------------------------------------------------- */

static void conf_free(void *p)
{
    struct rsp_conf *c = p;
    if (c == NULL)
        return;
    for (int a = 0; a < NUM_ACTIONS; a++) {
        for (int t = 0; t < NUM_TARGETS; t++) {
            for (size_t i = 0; i < c->lists[a][t].n; i++) {
                free(c->lists[a][t].items[i].name);
                free(c->lists[a][t].items[i].value);
            }
            free(c->lists[a][t].items);
        }
    }
    free(c);
}

static char *dup_str(struct tr_str s)
{
    char *p = tr_xmalloc(s.len + 1);
    memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return p;
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    struct rsp_conf *c = tr_xcalloc(1, sizeof(*c));
    for (int a = 0; a < NUM_ACTIONS; a++) {
        const json_t *section = json_object_get(config, action_names[a]);
        const json_t *types = json_object_get(section, "json_types");
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
                struct entry *e = &l->items[l->n++];
                e->name = dup_str(name);
                e->name_len = name.len;
                if (value.len) {
                    e->value = dup_str(value);
                    e->value_len = value.len;
                }
                const char *type = json_string_value(json_array_get(types, i));
                if (t == T_JSON && type)
                    e->type = strcmp(type, "number") == 0    ? J_NUMBER
                              : strcmp(type, "boolean") == 0 ? J_BOOLEAN
                                                             : J_STRING;
            }
            if (t == T_JSON && l->n)
                c->json_edits = true;
        }
    }
    return c;
}

/* ---- headers ------------------------------------------------------------------------------ */

static struct tr_str name_of(const struct entry *e)
{
    return (struct tr_str){e->name, e->name_len};
}

static struct tr_str value_of(const struct entry *e)
{
    return (struct tr_str){e->value, e->value_len};
}

/* Kong's is_json_body: one of the Content-Type's comma-separated media types is
 * application/json or application/<anything>+json. */
static bool is_json(struct tr_str ct)
{
    while (ct.len) {
        const char *comma = memchr(ct.ptr, ',', ct.len);
        struct tr_str one = {ct.ptr, comma ? (size_t)(comma - ct.ptr) : ct.len};
        ct.len -= comma ? one.len + 1 : one.len;
        ct.ptr += comma ? one.len + 1 : one.len;
        const char *semi = memchr(one.ptr, ';', one.len);
        struct tr_str mt =
            tr_str_trim((struct tr_str){one.ptr, semi ? (size_t)(semi - one.ptr) : one.len});
        const char *slash = memchr(mt.ptr, '/', mt.len);
        if (slash == NULL)
            continue;
        struct tr_str type = {mt.ptr, (size_t)(slash - mt.ptr)};
        struct tr_str sub = {slash + 1, mt.len - type.len - 1};
        if (!tr_str_ieq(type, TR_STR_LIT("application")))
            continue;
        if (tr_str_ieq(sub, TR_STR_LIT("json")) ||
            (sub.len > 5 &&
             tr_str_ieq((struct tr_str){sub.ptr + sub.len - 5, 5}, TR_STR_LIT("+json"))))
            return true;
    }
    return false;
}

static void header_filter(struct tr_ctx *ctx, const void *conf)
{
    const struct rsp_conf *c = conf;
    /* Kong tests presence on the headers as they were when this plugin began: note them
     * before changing any. */
    const struct entries *rename = &c->lists[A_RENAME][T_HEADERS];
    const struct entries *replace = &c->lists[A_REPLACE][T_HEADERS];
    const struct entries *add = &c->lists[A_ADD][T_HEADERS];
    size_t nr = rename->n, np = replace->n, na = add->n;
    bool *present = tr_ctx_alloc(ctx, nr + np + na + 1);
    struct tr_str *renamed = tr_ctx_alloc(ctx, (nr + 1) * sizeof(*renamed) * 8);
    size_t *renamed_n = tr_ctx_alloc(ctx, (nr + 1) * sizeof(*renamed_n));
    for (size_t i = 0; i < nr; i++) {
        size_t n = 0;
        while (n < 8 &&
               tr_ctx_response_header_nth(ctx, name_of(&rename->items[i]), n, &renamed[i * 8 + n]))
            n++;
        renamed_n[i] = n;
    }
    struct tr_str v;
    for (size_t i = 0; i < np; i++)
        present[i] = tr_ctx_response_header_nth(ctx, name_of(&replace->items[i]), 0, &v);
    for (size_t i = 0; i < na; i++)
        present[np + i] = tr_ctx_response_header_nth(ctx, name_of(&add->items[i]), 0, &v);

    const struct entries *l = &c->lists[A_REMOVE][T_HEADERS];
    for (size_t i = 0; i < l->n; i++)
        tr_ctx_remove_response_header(ctx, name_of(&l->items[i]));
    for (size_t i = 0; i < nr; i++) {
        const struct entry *e = &rename->items[i];
        if (renamed_n[i] == 0 || e->value == NULL)
            continue;
        /* copies: removing the old name may drop what the values point into */
        struct tr_str vals[8];
        for (size_t k = 0; k < renamed_n[i]; k++) {
            char *p = tr_ctx_alloc(ctx, renamed[i * 8 + k].len + 1);
            memcpy(p, renamed[i * 8 + k].ptr, renamed[i * 8 + k].len);
            vals[k] = (struct tr_str){p, renamed[i * 8 + k].len};
        }
        tr_ctx_remove_response_header(ctx, name_of(e));
        for (size_t k = 0; k < renamed_n[i]; k++) {
            if (k == 0)
                tr_ctx_set_response_header(ctx, value_of(e), vals[k]);
            else
                tr_ctx_add_response_header(ctx, value_of(e), vals[k]);
        }
    }
    for (size_t i = 0; i < np; i++) {
        if (present[i] && replace->items[i].value)
            tr_ctx_set_response_header(ctx, name_of(&replace->items[i]),
                                       value_of(&replace->items[i]));
    }
    for (size_t i = 0; i < na; i++) {
        if (!present[np + i] && add->items[i].value)
            tr_ctx_set_response_header(ctx, name_of(&add->items[i]), value_of(&add->items[i]));
    }
    l = &c->lists[A_APPEND][T_HEADERS];
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].value)
            tr_ctx_add_response_header(ctx, name_of(&l->items[i]), value_of(&l->items[i]));
    }

    struct tr_str ct;
    if (c->json_edits && tr_ctx_response_header_nth(ctx, TR_STR_LIT("Content-Type"), 0, &ct) &&
        is_json(ct))
        tr_ctx_buffer_response(ctx);
}

/* ---- the JSON body ------------------------------------------------------------------------ */

/* Kong's json_value: the entry's text (Kong's "null" when it has none), cast per json_types:
 * a number (NULL when the text is not one: the entry is skipped), a boolean (true only for
 * "true"), else a string. */
static json_t *json_value(const struct entry *e)
{
    struct tr_str s = e->value ? value_of(e) : TR_STR_LIT("null");
    switch (e->type) {
    case J_BOOLEAN:
        return json_boolean(tr_str_eq(s, TR_STR_LIT("true")));
    case J_NUMBER: {
        char buf[64];
        struct tr_str t = tr_str_trim(s);
        if (t.len == 0 || t.len >= sizeof(buf))
            return NULL;
        memcpy(buf, t.ptr, t.len);
        buf[t.len] = '\0';
        char *end;
        double d = strtod(buf, &end);
        if (*end != '\0' || isnan(d) || isinf(d))
            return NULL;
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            return json_integer((json_int_t)d);
        return json_real(d);
    }
    case J_STRING:
        break;
    }
    return json_stringn(s.ptr, s.len);
}

static void body_filter(struct tr_ctx *ctx, const void *conf, struct tr_str body)
{
    const struct rsp_conf *c = conf;
    json_t *doc = json_loadb(body.ptr, body.len, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(doc)) {
        tr_log_warn("response-transformer: body transform failed: failed parsing json body");
        json_decref(doc);
        return;
    }
    const struct entries *l = &c->lists[A_REMOVE][T_JSON];
    for (size_t i = 0; i < l->n; i++)
        json_object_del(doc, l->items[i].name);
    l = &c->lists[A_RENAME][T_JSON];
    for (size_t i = 0; i < l->n; i++) {
        const struct entry *e = &l->items[i];
        json_t *v = json_object_get(doc, e->name);
        if (v == NULL || e->value == NULL)
            continue;
        json_incref(v);
        json_object_del(doc, e->name);
        json_object_setn_new(doc, e->value, e->value_len, v);
    }
    l = &c->lists[A_REPLACE][T_JSON];
    for (size_t i = 0; i < l->n; i++) {
        json_t *v = json_value(&l->items[i]);
        if (v && tr_json_member_truthy(json_object_get(doc, l->items[i].name)))
            json_object_set_new(doc, l->items[i].name, v);
        else
            json_decref(v);
    }
    l = &c->lists[A_ADD][T_JSON];
    for (size_t i = 0; i < l->n; i++) {
        json_t *v = json_value(&l->items[i]);
        if (v && !tr_json_member_truthy(json_object_get(doc, l->items[i].name)))
            json_object_set_new(doc, l->items[i].name, v);
        else
            json_decref(v);
    }
    l = &c->lists[A_APPEND][T_JSON];
    for (size_t i = 0; i < l->n; i++) {
        json_t *v = json_value(&l->items[i]);
        if (v == NULL)
            continue;
        tr_json_append_value(doc, l->items[i].name, v);
    }
    char *text = json_dumps(doc, TR_JSON_EDIT_DUMP_FLAGS);
    json_decref(doc);
    if (text == NULL)
        return;
    tr_ctx_set_response_body(ctx, tr_str_from_cstr(text));
    free(text);
}

const struct tr_plugin tr_plugin_response_transformer = {
    .name = "response-transformer",
    .version = "3.9.1",
    .priority = 800,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .header_filter = header_filter,
    .body_filter = body_filter,
};
