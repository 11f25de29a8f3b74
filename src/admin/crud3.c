/* SPDX-License-Identifier: MIT */
/* Kong 3.x generic entity handlers (crud3.h): validate fully, write once, tell the node, answer
 * in Kong 3's shapes. */
#include "admin/crud3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/errors3.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/str.h"
#include "core/uuid.h"
#include "store/store.h"

#define DEFAULT_PAGE 100
#define MAX_PAGE 1000
#define MAX_TAGS 64

static void changed(struct tr_admin_ctx *ctx, const char *entity, const char *id, json_t *doc)
{
    if (ctx->env->on_change != NULL)
        ctx->env->on_change(ctx->env->ud, entity, id, doc);
}

json_t *tr_admin3_output(const struct tr_admin3_entity *e, const json_t *doc)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)doc, k, v)
    {
        const struct tr_admin3_fk *fk = NULL;
        for (size_t i = 0; i < TR_ADMIN3_MAX_FKS && e->fks[i].field; i++) {
            if (strcmp(e->fks[i].column, k) == 0)
                fk = &e->fks[i];
        }
        if (fk == NULL)
            json_object_set(out, k, v);
        else
            json_object_set_new(out, fk->field,
                                json_is_string(v) ? json_pack("{s:O}", "id", v) : json_null());
    }
    if (e->shape != NULL)
        e->shape(out);
    return out;
}

int tr_admin3_find(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e, const char *key,
                   json_t **out)
{
    *out = NULL;
    if (tr_uuid_is_valid(tr_str_from_cstr(key))) {
        char lower[TR_UUID_LEN + 1];
        for (size_t i = 0; i < TR_UUID_LEN; i++)
            lower[i] = tr_ascii_lower(key[i]);
        lower[TR_UUID_LEN] = '\0';
        return tr_store_get(ctx->env->store, e->store_name, "id", lower, out);
    }
    if (e->name_field == NULL)
        return TR_ENOTFOUND;
    return tr_store_get(ctx->env->store, e->store_name, e->name_field, key, out);
}

/* 404 when doc lacks must_match's field values. */
static bool matches(const json_t *doc, const json_t *must_match)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)must_match, k, v)
    {
        if (!json_equal(json_object_get(doc, k), v))
            return false;
    }
    return true;
}

static void reply_doc(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e, int status,
                      const json_t *doc)
{
    tr_admin_reply(ctx, status, tr_admin3_output(e, doc));
}

static void reply_store_error(struct tr_admin_ctx *ctx, int rc)
{
    if (rc == TR_ENOTFOUND)
        tr_admin3_reply_not_found(ctx);
    else
        tr_admin_reply_store_error(ctx, rc);
}

/* Replace {"name": ...} foreign references in in (modified) by {"id": ...}. Returns false after
 * answering 400 (code 13) or a store error. */
static bool resolve_fks(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e, json_t *in)
{
    for (size_t i = 0; i < TR_ADMIN3_MAX_FKS && e->fks[i].field; i++) {
        const struct tr_admin3_fk *fk = &e->fks[i];
        json_t *ref = json_object_get(in, fk->field);
        if (!json_is_object(ref) || fk->parent_key == NULL)
            continue;
        const json_t *id = json_object_get(ref, "id");
        const json_t *name = json_object_get(ref, fk->parent_key);
        if ((id != NULL && !json_is_null(id)) || !json_is_string(name) ||
            json_string_length(name) == 0)
            continue;
        json_t *parent = NULL;
        int rc = tr_store_get(ctx->env->store, fk->parent, fk->parent_key, json_string_value(name),
                              &parent);
        if (rc == TR_ENOTFOUND) {
            tr_admin3_reply_fk_unresolved(ctx, fk->field, fk->parent_key, json_string_value(name),
                                          fk->parent);
            return false;
        }
        if (rc != 0) {
            tr_admin_reply_store_error(ctx, rc);
            return false;
        }
        json_object_set_new(in, fk->field, json_pack("{s:O}", "id", json_object_get(parent, "id")));
        json_decref(parent);
    }
    return true;
}

static void write_failed(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e, int rc,
                         const char *field, const json_t *doc)
{
    if (rc == TR_ECONFLICT && field != NULL && strcmp(field, "id") == 0) {
        tr_admin3_reply_pk_violation(ctx, json_string_value(json_object_get(doc, "id")));
        return;
    }
    if (rc == TR_ECONFLICT && field != NULL) {
        tr_admin3_reply_unique(ctx, field, json_object_get(doc, field));
        return;
    }
    if (rc == TR_ENOTFOUND && field != NULL) {
        for (size_t i = 0; i < TR_ADMIN3_MAX_FKS && e->fks[i].field; i++) {
            if (strcmp(e->fks[i].column, field) == 0) {
                tr_admin3_reply_fk_missing(ctx, e->fks[i].field,
                                           json_string_value(json_object_get(doc, field)),
                                           e->fks[i].parent);
                return;
            }
        }
    }
    tr_admin_reply_store_error(ctx, rc);
}

/* Validate in (owned by the caller) and write: insert when existing is NULL, else update. */
static void write(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e,
                  enum tr_schema_mode mode, json_t *in, const json_t *existing, int status)
{
    if (!resolve_fks(ctx, e, in))
        return;
    json_t *doc = NULL, *fields = NULL;
    if (e->validate(mode, in, existing, (long long)time(NULL), &doc, &fields) != 0) {
        tr_admin3_reply_schema(ctx, fields);
        return;
    }
    if (e->before_write != NULL && (fields = e->before_write(ctx, doc)) != NULL) {
        json_decref(doc);
        tr_admin3_reply_schema(ctx, fields);
        return;
    }
    const char *field = NULL;
    int rc = existing ? tr_store_update(ctx->env->store, e->store_name, doc, &field)
                      : tr_store_insert(ctx->env->store, e->store_name, doc, &field);
    if (rc != 0) {
        write_failed(ctx, e, rc, field, doc);
        json_decref(doc);
        return;
    }
    changed(ctx, e->store_name, json_string_value(json_object_get(doc, "id")), doc);
    reply_doc(ctx, e, status, doc);
    json_decref(doc);
}

static json_t *input(struct tr_admin_ctx *ctx, const json_t *fixed)
{
    json_t *in = json_is_object(ctx->body) ? json_deep_copy(ctx->body) : json_object();
    if (fixed != NULL)
        json_object_update(in, (json_t *)fixed);
    return in;
}

void tr_admin3_create(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e,
                      const json_t *fixed)
{
    json_t *in = input(ctx, fixed);
    write(ctx, e, TR_SCHEMA_INSERT, in, NULL, 201);
    json_decref(in);
}

/* Find key's entity, 404 unless it matches must_match. Returns the doc or NULL after
 * answering. */
static json_t *find_or_answer(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e,
                              const char *key, const json_t *must_match)
{
    json_t *doc = NULL;
    int rc = tr_admin3_find(ctx, e, key, &doc);
    if (rc == 0 && must_match != NULL && !matches(doc, must_match)) {
        json_decref(doc);
        doc = NULL;
        rc = TR_ENOTFOUND;
    }
    if (rc != 0)
        reply_store_error(ctx, rc);
    return doc;
}

void tr_admin3_get(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e, const char *key,
                   const json_t *must_match)
{
    json_t *doc = find_or_answer(ctx, e, key, must_match);
    if (doc == NULL)
        return;
    reply_doc(ctx, e, 200, doc);
    json_decref(doc);
}

void tr_admin3_patch(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e, const char *key,
                     const json_t *fixed, const json_t *must_match)
{
    json_t *existing = find_or_answer(ctx, e, key, must_match);
    if (existing == NULL)
        return;
    json_t *in = input(ctx, fixed);
    write(ctx, e, TR_SCHEMA_UPDATE, in, existing, 200);
    json_decref(in);
    json_decref(existing);
}

void tr_admin3_upsert(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e, const char *key,
                      const json_t *fixed, const json_t *must_match)
{
    json_t *existing = NULL;
    int rc = tr_admin3_find(ctx, e, key, &existing);
    if (rc != 0 && rc != TR_ENOTFOUND) {
        tr_admin_reply_store_error(ctx, rc);
        return;
    }
    if (existing != NULL && must_match != NULL && !matches(existing, must_match)) {
        json_decref(existing);
        tr_admin3_reply_not_found(ctx);
        return;
    }
    json_t *in = input(ctx, fixed);
    /* The path names the entity: its id, or its endpoint key. */
    if (tr_uuid_is_valid(tr_str_from_cstr(key))) {
        json_object_set_new(in, "id", json_string(key));
    } else if (e->name_field != NULL) {
        json_object_set_new(in, e->name_field, json_string(key));
        if (existing != NULL)
            json_object_del(in, "id");
    }
    if (existing != NULL)
        write(ctx, e, TR_SCHEMA_REPLACE, in, existing, 200);
    else
        write(ctx, e, TR_SCHEMA_INSERT, in, NULL, 200);
    json_decref(in);
    json_decref(existing);
}

void tr_admin3_delete(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e, const char *key,
                      const json_t *must_match)
{
    json_t *existing = NULL;
    int rc = tr_admin3_find(ctx, e, key, &existing);
    if (rc == 0 && must_match != NULL && !matches(existing, must_match)) {
        json_decref(existing);
        existing = NULL;
        rc = TR_ENOTFOUND;
    }
    if (rc != 0) {
        if (rc == TR_ENOTFOUND)
            tr_admin_reply(ctx, 204, NULL);
        else
            tr_admin_reply_store_error(ctx, rc);
        return;
    }
    const char *id = json_string_value(json_object_get(existing, "id"));
    rc = tr_store_delete(ctx->env->store, e->store_name, id);
    if (rc == TR_ECONFLICT) {
        tr_admin3_reply_fk_restricted(ctx, e->store_name,
                                      e->referenced_by ? e->referenced_by : "unknown");
    } else if (rc != 0 && rc != TR_ENOTFOUND) {
        tr_admin_reply_store_error(ctx, rc);
    } else {
        if (rc == 0)
            changed(ctx, e->store_name, id, NULL);
        tr_admin_reply(ctx, 204, NULL);
    }
    json_decref(existing);
}

/* ---- lists -------------------------------------------------------------------------------- */

bool tr_admin3_tags_match(const json_t *doc, const json_t *tags, bool and_cond)
{
    const json_t *have = json_object_get(doc, "tags");
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t)
    {
        bool found = false;
        size_t j;
        json_t *h;
        json_array_foreach(have, j, h)
        {
            found = found || json_equal(h, t);
        }
        if (and_cond && !found)
            return false;
        if (!and_cond && found)
            return true;
    }
    return and_cond;
}

int tr_admin3_parse_tags(struct tr_admin_ctx *ctx, json_t **tags, bool *and_cond)
{
    *tags = NULL;
    *and_cond = true;
    const json_t *q = json_object_get(ctx->query, "tags");
    if (q == NULL)
        return 0;
    const char *s = json_string_value(q);
    if (s == NULL && json_is_array(q))
        s = json_string_value(json_array_get(q, 0));
    if (s == NULL || s[0] == '\0') {
        tr_admin3_reply(ctx, TR_ADMIN3_INVALID_OPTIONS, "invalid option (tags: cannot be null)",
                        json_pack("{s:s}", "tags", "cannot be null"));
        return -1;
    }
    bool comma = strchr(s, ',') != NULL, slash = strchr(s, '/') != NULL;
    if (comma && slash) {
        tr_admin3_reply(ctx, TR_ADMIN3_INVALID_OPTIONS,
                        "invalid option (tags: invalid filter syntax)",
                        json_pack("{s:s}", "tags", "invalid filter syntax"));
        return -1;
    }
    *and_cond = !slash;
    json_t *arr = json_array();
    struct tr_str rest = tr_str_from_cstr(s), item;
    while (tr_str_next_item(&rest, slash ? '/' : ',', &item)) {
        if (item.len == 0 || json_array_size(arr) >= MAX_TAGS) {
            json_decref(arr);
            tr_admin3_reply(ctx, TR_ADMIN3_INVALID_OPTIONS,
                            "invalid option (tags: invalid filter syntax)",
                            json_pack("{s:s}", "tags", "invalid filter syntax"));
            return -1;
        }
        json_array_append_new(arr, json_stringn(item.ptr, item.len));
    }
    *tags = arr;
    return 0;
}

int tr_admin3_parse_size(struct tr_admin_ctx *ctx, size_t *size)
{
    *size = DEFAULT_PAGE;
    const json_t *q = json_object_get(ctx->query, "size");
    if (q == NULL)
        return 0;
    const char *s = json_string_value(q);
    char *end = NULL;
    double d = s ? strtod(s, &end) : 0;
    if (s == NULL || s[0] == '\0' || end == NULL || *end != '\0' || d != d) {
        tr_admin3_reply(ctx, TR_ADMIN3_INVALID_SIZE, "size must be a number", NULL);
        return -1;
    }
    if (d < 1 || d > MAX_PAGE || d != (double)(long)d) {
        tr_admin3_reply(ctx, TR_ADMIN3_INVALID_SIZE, "size must be an integer between 1 and 1000",
                        NULL);
        return -1;
    }
    *size = (size_t)d;
    return 0;
}

struct tr_buf_lite {
    char *p;
    size_t len, cap;
};

static void lite_add(struct tr_buf_lite *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = tr_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Append "k=v" with v percent-encoded (all but RFC 3986 unreserved). */
static void append_arg(struct tr_buf_lite *b, const char *k, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    lite_add(b, k, strlen(k));
    lite_add(b, "=", 1);
    for (const unsigned char *s = (const unsigned char *)v; *s; s++) {
        unsigned char c = *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            lite_add(b, (const char *)s, 1);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            lite_add(b, esc, 3);
        }
    }
}

void tr_admin3_list(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e, const json_t *fixed)
{
    size_t size;
    json_t *tags;
    bool and_cond;
    if (tr_admin3_parse_size(ctx, &size) != 0 || tr_admin3_parse_tags(ctx, &tags, &and_cond) != 0)
        return;
    const char *offset = json_string_value(json_object_get(ctx->query, "offset"));
    if (offset != NULL && offset[0] == '\0')
        offset = NULL;
    char *token = offset ? tr_xstrdup(offset) : NULL;
    json_t *data = json_array();
    json_t *filters = fixed ? json_deep_copy(fixed) : NULL;
    int rc = 0;
    /* Pages of the store, filtered by tags here, until the page is full or rows run out: each
     * store page asks for what is still missing, so the last token is exactly after the last
     * row examined. */
    for (;;) {
        json_t *rows = NULL;
        size_t total = 0;
        char *next = NULL;
        rc = tr_store_list(ctx->env->store, e->store_name, filters, size - json_array_size(data),
                           token, &rows, &total, &next);
        if (rc != 0)
            break;
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row)
        {
            if (tags == NULL || tr_admin3_tags_match(row, tags, and_cond))
                json_array_append_new(data, tr_admin3_output(e, row));
        }
        json_decref(rows);
        free(token);
        token = next;
        if (token == NULL || json_array_size(data) >= size)
            break;
    }
    json_decref(filters);
    if (rc == TR_EINVAL) {
        char msg[512];
        snprintf(msg, sizeof(msg), "'%s' is not a valid offset: bad base64 encoding", offset);
        tr_admin3_reply(ctx, TR_ADMIN3_INVALID_OFFSET, msg, NULL);
    } else if (rc != 0) {
        tr_admin_reply_store_error(ctx, rc);
    } else {
        json_t *body = json_object();
        json_object_set(body, "data", data);
        if (token != NULL) {
            struct tr_buf_lite b = {NULL, 0, 0};
            struct tr_str path = ctx->req->path;
            if (path.len > 1 && path.ptr[path.len - 1] == '/')
                path.len--;
            lite_add(&b, path.ptr, path.len);
            lite_add(&b, "?", 1);
            append_arg(&b, "offset", token);
            const char *t = json_string_value(json_object_get(ctx->query, "tags"));
            if (t != NULL) {
                lite_add(&b, "&", 1);
                append_arg(&b, "tags", t);
            }
            const char *sz = json_string_value(json_object_get(ctx->query, "size"));
            if (sz != NULL) {
                lite_add(&b, "&", 1);
                append_arg(&b, "size", sz);
            }
            json_object_set_new(body, "next", json_string(b.p));
            json_object_set_new(body, "offset", json_string(token));
            free(b.p);
        } else {
            json_object_set_new(body, "next", json_null());
        }
        tr_admin_reply(ctx, 200, body);
    }
    free(token);
    json_decref(data);
    json_decref(tags);
}
