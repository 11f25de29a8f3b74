/* SPDX-License-Identifier: MIT */
/* Kong's shapes for what is wrong with a declarative configuration (kong/db/errors.lua,
 * kong/db/declarative/init.lua): the nested "fields" tree, its one-line Lua rendering in the
 * message, the flattened_errors items, and the CLI's indented text. */
#include "admin/declarative_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/errors3.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/uuid.h"
#include "core/yaml.h"

/* ---- the fields tree ------------------------------------------------------------------------- */

/* An array container becomes an object once a slot is named (Kong files some errors under an
 * entity's name); its items keep their 1-based positions as keys, as cjson would write them. */
static json_t *as_object(json_t *parent, const char *key)
{
    json_t *c = json_object_get(parent, key);
    if (json_is_object(c))
        return c;
    json_t *obj = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(c, i, v)
    {
        if (!json_is_null(v)) {
            char pos[24];
            snprintf(pos, sizeof(pos), "%zu", i + 1);
            json_object_set(obj, pos, v);
        }
    }
    json_object_set_new(parent, key, obj);
    return obj;
}

/* Merge value (stolen) into what is at the slot already. */
static json_t *merged(json_t *old, json_t *value)
{
    if (json_is_object(old) && json_is_object(value)) {
        json_object_update(old, value);
        json_decref(value);
        return json_incref(old);
    }
    if (json_is_array(old) && json_is_array(value)) {
        json_array_extend(old, value);
        json_decref(value);
        return json_incref(old);
    }
    return value;
}

/* The slot for position index (or name at, when not NULL) in parent[key]; value stolen. Returns
 * the value now at the slot (borrowed). */
static json_t *put_slot(json_t *parent, const char *key, long index, const char *at, json_t *value)
{
    json_t *c = json_object_get(parent, key);
    if (c == NULL || json_is_null(c) || (!json_is_array(c) && !json_is_object(c))) {
        c = at ? json_object() : json_array();
        json_object_set_new(parent, key, c);
    }
    char pos[24];
    if (at == NULL && json_is_object(c)) {
        snprintf(pos, sizeof(pos), "%ld", index + 1);
        at = pos;
    }
    if (at != NULL) {
        c = as_object(parent, key);
        json_t *now = merged(json_object_get(c, at), value);
        json_object_set_new(c, at, now);
        return now;
    }
    while (json_array_size(c) <= (size_t)index)
        json_array_append_new(c, json_null());
    json_t *now = merged(json_array_get(c, (size_t)index), value);
    json_array_set_new(c, (size_t)index, now);
    return now;
}

void tr__decl_err_put(json_t *root, const struct tr_decl_path *p, const char *at, json_t *value)
{
    json_t *node = root;
    for (size_t d = 0; d + 1 < p->depth; d++) {
        json_t *slot = put_slot(node, p->key[d], p->index[d], NULL, json_object());
        node = slot;
    }
    put_slot(node, p->key[p->depth - 1], p->index[p->depth - 1], at, value);
}

void tr__decl_err_top(json_t *root, const char *key, json_t *value)
{
    json_object_set_new(root, key, value);
}

/* ---- flattened_errors ------------------------------------------------------------------------ */

static void flatten_walk(json_t *errors, const char *prefix, const json_t *v)
{
    if (json_is_string(v)) {
        if (prefix[0] == '\0')
            json_array_append_new(errors, json_pack("{s:s,s:O}", "type", "entity", "message", v));
        else
            json_array_append_new(
                errors, json_pack("{s:s,s:s,s:O}", "type", "field", "field", prefix, "message", v));
        return;
    }
    char path[512];
    if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            if (json_is_null(c))
                continue;
            snprintf(path, sizeof(path), "%s%s%zu", prefix, prefix[0] ? "." : "", i + 1);
            flatten_walk(errors, prefix[0] ? path : "", c); /* a list of entity messages */
        }
        return;
    }
    const char *k;
    json_t *c;
    json_object_foreach((json_t *)v, k, c)
    {
        if (strcmp(k, "@entity") == 0) {
            size_t i;
            json_t *m;
            json_array_foreach(c, i, m)
            {
                json_array_append_new(errors,
                                      json_pack("{s:s,s:O}", "type", "entity", "message", m));
            }
            continue;
        }
        snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", k);
        flatten_walk(errors, path, c);
    }
}

json_t *tr__decl_flat_item(const char *entity_type, const json_t *input, const char *id,
                           const json_t *errs)
{
    json_t *item = json_pack("{s:s}", "entity_type", entity_type);
    const json_t *name = json_object_get(input, "name");
    if (json_is_string(name) && json_string_length(name) > 0)
        json_object_set(item, "entity_name", (json_t *)name);
    if (id != NULL && tr_uuid_is_valid(tr_str_from_cstr(id)))
        json_object_set_new(item, "entity_id", json_string(id));
    const json_t *tags = json_object_get(input, "tags");
    bool all_strings = json_is_array(tags);
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t)
    {
        all_strings = all_strings && json_is_string(t);
    }
    if (all_strings)
        json_object_set(item, "entity_tags", (json_t *)tags);
    json_object_set_new(item, "entity",
                        json_is_object(input) ? json_deep_copy(input) : json_object());
    json_t *errors = json_array();
    flatten_walk(errors, "", errs);
    json_object_set_new(item, "errors", errors);
    return item;
}

/* ---- the message: Penlight's compact pretty.write ------------------------------------------- */

static bool is_identifier(const char *s)
{
    static const char *const keywords[] = {
        "and",      "break",  "do",   "else", "elseif", "end",   "false", "for",
        "function", "goto",   "if",   "in",   "local",  "nil",   "not",   "or",
        "repeat",   "return", "then", "true", "until",  "while", NULL};
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (const char *p = s; *p; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return false;
    }
    for (size_t i = 0; keywords[i]; i++) {
        if (strcmp(s, keywords[i]) == 0)
            return false;
    }
    return true;
}

static void put(struct tr_buf *b, const char *s, size_t n)
{
    if (tr_buf_append(b, s, n) != 0)
        return; /* unbounded buffer: only out of memory, and then the text is cut */
}

static void put_s(struct tr_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Lua's %q, or a long bracket for a string with line breaks and no CR. */
static void put_quoted(struct tr_buf *b, const char *s)
{
    if (strchr(s, '\n') != NULL && strchr(s, '\r') == NULL && strstr(s, "]]") == NULL) {
        put_s(b, "[[");
        put_s(b, s);
        put_s(b, "]]");
        return;
    }
    put_s(b, "\"");
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(b, esc, 2);
        } else if (c == '\n') {
            put(b, "\\n", 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\%d", c);
            put_s(b, esc);
        } else {
            put(b, (const char *)p, 1);
        }
    }
    put_s(b, "\"");
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of obj, sorted (malloc'ed; *n of them). */
static const char **sorted_keys(const json_t *obj, size_t *n)
{
    *n = json_object_size(obj);
    const char **keys = tr_xmalloc((*n ? *n : 1) * sizeof(*keys));
    size_t i = 0;
    const char *k;
    json_t *c;
    json_object_foreach((json_t *)obj, k, c)
    {
        keys[i++] = k;
    }
    qsort(keys, *n, sizeof(*keys), cmp_keys);
    return keys;
}

static void write_lua(struct tr_buf *b, const json_t *v)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n;
        const char **keys = sorted_keys(v, &n);
        put_s(b, "{");
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                put_s(b, ",");
            if (is_identifier(keys[i])) {
                put_s(b, keys[i]);
            } else {
                put_s(b, "[");
                put_quoted(b, keys[i]);
                put_s(b, "]");
            }
            put_s(b, "=");
            write_lua(b, json_object_get(v, keys[i]));
        }
        put_s(b, "}");
        free(keys);
        return;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v), lead = 0;
        while (lead < n && !json_is_null(json_array_get(v, lead)))
            lead++;
        put_s(b, "{");
        bool first = true;
        for (size_t i = 0; i < n; i++) {
            const json_t *c = json_array_get(v, i);
            if (json_is_null(c))
                continue;
            if (!first)
                put_s(b, ",");
            first = false;
            if (i >= lead) {
                snprintf(num, sizeof(num), "[%zu]=", i + 1);
                put_s(b, num);
            }
            write_lua(b, c);
        }
        put_s(b, "}");
        return;
    }
    case JSON_STRING:
        put_quoted(b, json_string_value(v));
        return;
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        put_s(b, num);
        return;
    case JSON_REAL:
        snprintf(num, sizeof(num), "%.14g", json_real_value(v));
        put_s(b, num);
        return;
    case JSON_TRUE:
        put_s(b, "true");
        return;
    case JSON_FALSE:
        put_s(b, "false");
        return;
    default:
        put_s(b, "\"userdata: NULL\"");
    }
}

json_t *tr_declarative_error_body(const json_t *fields, const json_t *flattened)
{
    struct tr_buf b;
    tr_buf_init(&b, SIZE_MAX);
    put_s(&b, "declarative config is invalid: ");
    write_lua(&b, fields);
    put(&b, "", 1);
    json_t *body =
        tr_admin3_error(TR_ADMIN3_DECLARATIVE_CONFIG, b.ptr ? b.ptr : "", json_deep_copy(fields));
    tr_buf_free(&b);
    if (flattened != NULL)
        json_object_set(body, "flattened_errors", (json_t *)flattened);
    return body;
}

/* ---- the CLI's text: pretty_print_error ------------------------------------------------------ */

static void pretty_walk(struct tr_buf *b, const json_t *v, int indent, const char *parent_key,
                        const json_t *src, const struct tr_yaml_lines *lines)
{
    char line[600];
    if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            if (json_is_null(c))
                continue;
            const json_t *item = json_is_array(src) ? json_array_get(src, i) : NULL;
            size_t at = tr_yaml_line_of(lines, item);
            int n = snprintf(line, sizeof(line), "%*s- in entry %zu of '%s'", indent, "", i + 1,
                             parent_key);
            if (at > 0 && n > 0 && (size_t)n < sizeof(line))
                snprintf(line + n, sizeof(line) - (size_t)n, " (line %zu)", at);
            put_s(b, line);
            if (json_is_string(c)) {
                put_s(b, ": ");
                put_s(b, json_string_value(c));
                put_s(b, "\n");
            } else {
                put_s(b, ":\n");
                pretty_walk(b, c, indent + 2, parent_key, item, lines);
            }
        }
        return;
    }
    size_t n;
    const char **keys = sorted_keys(v, &n);
    for (size_t i = 0; i < n; i++) {
        const json_t *c2 = json_object_get(v, keys[i]);
        snprintf(line, sizeof(line), "%*sin '%s'", indent, "", keys[i]);
        put_s(b, line);
        if (json_is_string(c2)) {
            put_s(b, ": ");
            put_s(b, json_string_value(c2));
            put_s(b, "\n");
        } else {
            put_s(b, ":\n");
            pretty_walk(b, c2, indent + 2, keys[i],
                        json_is_object(src) ? json_object_get(src, keys[i]) : NULL, lines);
        }
    }
    free(keys);
}

char *tr_declarative_error_text(const json_t *fields, const json_t *doc,
                                const struct tr_yaml_lines *lines)
{
    struct tr_buf b;
    tr_buf_init(&b, SIZE_MAX);
    pretty_walk(&b, fields, 0, "", doc, lines);
    if (b.len > 0 && b.ptr[b.len - 1] == '\n')
        b.len--;
    put(&b, "", 1);
    size_t len;
    return tr_buf_detach(&b, &len);
}
