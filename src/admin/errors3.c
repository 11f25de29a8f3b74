/* SPDX-License-Identifier: MIT */
/* Kong 3.x error bodies (see errors3.h): the one place their codes, names, statuses and
 * message wording live. */
#include "admin/errors3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

static const struct {
    enum tr_admin3_code code;
    const char *name;
    int status;
} codes[] = {
    {TR_ADMIN3_INVALID_PRIMARY_KEY, "invalid primary key", 400},
    {TR_ADMIN3_SCHEMA_VIOLATION, "schema violation", 400},
    {TR_ADMIN3_PRIMARY_KEY_VIOLATION, "primary key violation", 400},
    {TR_ADMIN3_FOREIGN_KEY_VIOLATION, "foreign key violation", 400},
    {TR_ADMIN3_UNIQUE_VIOLATION, "unique constraint violation", 409},
    {TR_ADMIN3_NOT_FOUND, "not found", 404},
    {TR_ADMIN3_INVALID_OFFSET, "invalid offset", 400},
    {TR_ADMIN3_DATABASE_ERROR, "database error", 500},
    {TR_ADMIN3_INVALID_SIZE, "invalid size", 400},
    {TR_ADMIN3_INVALID_UNIQUE_TAG, "invalid unique tag", 400},
    {TR_ADMIN3_INVALID_OPTIONS, "invalid options", 400},
    {TR_ADMIN3_OPERATION_UNSUPPORTED, "operation unsupported", 405},
    {TR_ADMIN3_FOREIGN_KEYS_UNRESOLVED, "foreign keys unresolved", 400},
    {TR_ADMIN3_DECLARATIVE_CONFIG, "invalid declarative configuration", 400},
};

const char *tr_admin3_code_name(enum tr_admin3_code code)
{
    for (size_t i = 0; i < TR_ARRAY_SIZE(codes); i++) {
        if (codes[i].code == code)
            return codes[i].name;
    }
    return "database error";
}

int tr_admin3_code_status(enum tr_admin3_code code)
{
    for (size_t i = 0; i < TR_ARRAY_SIZE(codes); i++) {
        if (codes[i].code == code)
            return codes[i].status;
    }
    return 500;
}

json_t *tr_admin3_error(enum tr_admin3_code code, const char *message, json_t *fields)
{
    json_t *body = json_pack("{s:i,s:s}", "code", (int)code, "name", tr_admin3_code_name(code));
    json_t *m = json_string(message);
    if (m == NULL) /* a message cut inside a UTF-8 sequence */
        m = json_string(tr_admin3_code_name(code));
    json_object_set_new(body, "message", m);
    if (fields != NULL)
        json_object_set_new(body, "fields", fields);
    return body;
}

void tr_admin3_pretty_key(const char *key, const json_t *value, char *buf, size_t len)
{
    if (json_is_string(value)) {
        snprintf(buf, len, "{%s=\"%s\"}", key, json_string_value(value));
    } else if (json_is_null(value) || value == NULL) {
        snprintf(buf, len, "{%s=null}", key);
    } else {
        char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(buf, len, "{%s=%s}", key, text ? text : "");
        free(text);
    }
}

/* Growing message text. */
struct msg {
    char *buf;
    size_t len, cap;
    size_t cnt; /* items */
};

static void msg_add(struct msg *m, const char *a, const char *b, const char *c)
{
    size_t need = strlen(a) + strlen(b) + strlen(c) + 3;
    if (m->len + need + 1 > m->cap) {
        m->cap = (m->len + need + 1) * 2;
        m->buf = tr_xrealloc(m->buf, m->cap);
    }
    m->len +=
        (size_t)snprintf(m->buf + m->len, m->cap - m->len, "%s%s%s%s", m->cnt ? "; " : "", a, b, c);
    m->cnt++;
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of obj, sorted as Lua's table.sort sorts strings. Caller frees the array. */
static const char **sorted_keys(const json_t *obj, size_t *cnt)
{
    const char **keys = tr_xmalloc((json_object_size(obj) + 1) * sizeof(*keys));
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        keys[n++] = k;
    }
    qsort(keys, n, sizeof(*keys), cmp_keys);
    *cnt = n;
    return keys;
}

static void add_value(struct msg *m, const char *prefix, const json_t *v)
{
    char *text = NULL;
    const char *s = json_string_value(v);
    if (s == NULL)
        s = text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    msg_add(m, prefix, ": ", s ? s : "");
    free(text);
}

void tr_admin3_schema_message(const json_t *fields, char *buf, size_t len)
{
    struct msg m = {NULL, 0, 0, 0};
    const json_t *ent = json_object_get(fields, "@entity");
    size_t i, n;
    json_t *v;
    char prefix[512];
    json_array_foreach(ent, i, v)
    {
        if (json_is_string(v))
            msg_add(&m, json_string_value(v), "", "");
    }
    const char **keys = sorted_keys(fields, &n);
    for (size_t k = 0; k < n; k++) {
        if (strcmp(keys[k], "@entity") == 0)
            continue;
        const json_t *fe = json_object_get(fields, keys[k]);
        if (json_is_array(fe)) {
            json_array_foreach(fe, i, v)
            {
                if (json_is_null(v))
                    continue;
                snprintf(prefix, sizeof(prefix), "%s.%zu", keys[k], i + 1);
                add_value(&m, prefix, v);
            }
        } else if (json_is_object(fe)) {
            size_t sn;
            const char **sub = sorted_keys(fe, &sn);
            for (size_t j = 0; j < sn; j++) {
                snprintf(prefix, sizeof(prefix), "%s.%s", keys[k], sub[j]);
                add_value(&m, prefix, json_object_get(fe, sub[j]));
            }
            free(sub);
        } else {
            add_value(&m, keys[k], fe);
        }
    }
    free(keys);
    if (m.cnt == 1)
        snprintf(buf, len, "schema violation (%s)", m.buf);
    else
        snprintf(buf, len, "%zu schema violations (%s)", m.cnt, m.buf ? m.buf : "");
    free(m.buf);
}

void tr_admin3_reply(struct tr_admin_ctx *ctx, enum tr_admin3_code code, const char *message,
                     json_t *fields)
{
    tr_admin_reply(ctx, tr_admin3_code_status(code), tr_admin3_error(code, message, fields));
}

void tr_admin3_reply_schema(struct tr_admin_ctx *ctx, json_t *fields)
{
    char msg[4096];
    tr_admin3_schema_message(fields, msg, sizeof(msg));
    tr_admin3_reply(ctx, TR_ADMIN3_SCHEMA_VIOLATION, msg, fields);
}

void tr_admin3_reply_unique(struct tr_admin_ctx *ctx, const char *field, const json_t *value)
{
    char key[1024], msg[1200];
    tr_admin3_pretty_key(field, value, key, sizeof(key));
    snprintf(msg, sizeof(msg), "UNIQUE violation detected on '%s'", key);
    json_t *fields = json_object();
    json_object_set_new(fields, field, value ? json_deep_copy(value) : json_null());
    tr_admin3_reply(ctx, TR_ADMIN3_UNIQUE_VIOLATION, msg, fields);
}

void tr_admin3_reply_pk_violation(struct tr_admin_ctx *ctx, const char *id)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "primary key violation on key '{id=\"%s\"}'", id);
    tr_admin3_reply(ctx, TR_ADMIN3_PRIMARY_KEY_VIOLATION, msg, json_pack("{s:s}", "id", id));
}

void tr_admin3_reply_fk_missing(struct tr_admin_ctx *ctx, const char *field, const char *id,
                                const char *parent)
{
    char msg[512];
    snprintf(msg, sizeof(msg),
             "the foreign key '{id=\"%s\"}' does not reference an existing '%s' entity.", id,
             parent);
    tr_admin3_reply(ctx, TR_ADMIN3_FOREIGN_KEY_VIOLATION, msg,
                    json_pack("{s:{s:s}}", field, "id", id));
}

void tr_admin3_reply_fk_restricted(struct tr_admin_ctx *ctx, const char *parent, const char *child)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "an existing '%s' entity references this '%s' entity", child,
             parent);
    tr_admin3_reply(ctx, TR_ADMIN3_FOREIGN_KEY_VIOLATION, msg,
                    json_pack("{s:s}", "@referenced_by", child));
}

void tr_admin3_reply_fk_unresolved(struct tr_admin_ctx *ctx, const char *field, const char *key,
                                   const char *value, const char *parent)
{
    char pretty[1024], detail[1200], msg[1400];
    json_t *v = json_string(value);
    tr_admin3_pretty_key(key, v, pretty, sizeof(pretty));
    json_decref(v);
    snprintf(detail, sizeof(detail),
             "the foreign key cannot be resolved with '%s' for an existing '%s' entity", pretty,
             parent);
    snprintf(msg, sizeof(msg), "foreign key unresolved (%s.%s: %s)", field, key, detail);
    tr_admin3_reply(ctx, TR_ADMIN3_FOREIGN_KEYS_UNRESOLVED, msg,
                    json_pack("{s:{s:s}}", field, key, detail));
}

void tr_admin3_reply_not_found(struct tr_admin_ctx *ctx)
{
    tr_admin_reply(ctx, 404, json_pack("{s:s}", "message", "Not found"));
}
