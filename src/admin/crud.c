/* SPDX-License-Identifier: MIT */
/* Generic entity handlers for the Admin API: validate fully, then write once, then tell the
 * snapshot builder; Kong 0.7 status codes and bodies (201/200/204/400/404/409). */
#include "admin/crud.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/crud3.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/uuid.h"
#include "schema/schema.h"
#include "store/store.h"

#define DEFAULT_PAGE 100
#define MAX_PAGE 1000

void tr_admin_reply(struct tr_admin_ctx *ctx, int status, json_t *body)
{
    json_decref(ctx->res->body);
    free(ctx->res->text);
    ctx->res->text = NULL;
    ctx->res->status = status;
    ctx->res->body = body;
}

void tr_admin_reply_detail(struct tr_admin_ctx *ctx, int err, const char *msg)
{
    tr_admin_reply(ctx, tr_err_status(err), json_pack("{s:s}", "message", msg));
}

void tr_admin_reply_error(struct tr_admin_ctx *ctx, int err)
{
    tr_admin_reply_detail(ctx, err, tr_err_message(err));
}

void tr_admin_reply_store_error(struct tr_admin_ctx *ctx, int rc)
{
    if (rc == TR_ENOTFOUND)
        tr_admin_reply_error(ctx, TR_ENOTFOUND);
    else if (rc == TR_EDB && !tr_store_ping(ctx->env->store))
        tr_admin_reply_error(ctx, TR_EDBUNAVAIL);
    else
        tr_admin_reply_error(ctx, TR_EINTERNAL);
}

/* Tell the node what was written: entity kind, id, and the stored doc (NULL when deleted). */
static void changed(struct tr_admin_ctx *ctx, const char *entity, const char *id, json_t *doc)
{
    if (ctx->env->on_change != NULL)
        ctx->env->on_change(ctx->env->ud, entity, id, doc);
}

int tr_admin_crud_find(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e, const char *key,
                       json_t **out)
{
    struct tr_store *s = ctx->env->store;
    int rc = TR_ENOTFOUND;
    if (tr_uuid_is_valid(tr_str_from_cstr(key))) {
        char lower[TR_UUID_LEN + 1];
        for (size_t i = 0; i < TR_UUID_LEN; i++)
            lower[i] = tr_ascii_lower(key[i]);
        lower[TR_UUID_LEN] = '\0';
        rc = tr_store_get(s, e->store_name, "id", lower, out);
        if (rc != TR_ENOTFOUND)
            return rc;
    }
    if (e->name_field == NULL)
        return TR_ENOTFOUND;
    return tr_store_get(s, e->store_name, e->name_field, key, out);
}

/* The 409 body: {"<f>":"<f> already exists with value '<v>'"}. */
static json_t *conflict_body(const char *field, const json_t *doc)
{
    const json_t *v = json_object_get(doc, field);
    char *text = NULL;
    const char *shown = "";
    if (json_is_string(v))
        shown = json_string_value(v);
    else if (v != NULL)
        shown = text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s already exists with value '%s'", field, shown ? shown : "");
    free(text);
    json_t *m = json_string(msg);
    if (m == NULL) /* cut inside a UTF-8 sequence */
        m = json_sprintf("%s already exists", field);
    json_t *body = json_object();
    json_object_set_new(body, field, m);
    return body;
}

void tr_admin_crud_hide(const struct tr_admin_entity *e, json_t *doc)
{
    if (e->hidden_fields == NULL || !json_is_object(doc))
        return;
    for (const char *const *f = e->hidden_fields; *f != NULL; f++)
        json_object_del(doc, *f);
}

/* Answer with an entity (reference stolen), without its hidden fields. The doc itself is not
 * changed when it has any: on_change may still hold it. */
static void reply_entity(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e, int status,
                         json_t *doc)
{
    if (e->hidden_fields != NULL) {
        json_t *copy = json_deep_copy(doc);
        json_decref(doc);
        tr_admin_crud_hide(e, copy);
        doc = copy;
    }
    tr_admin_reply(ctx, status, doc);
}

static bool is_hidden(const struct tr_admin_entity *e, const char *field)
{
    for (const char *const *f = e->hidden_fields; f != NULL && *f != NULL; f++) {
        if (strcmp(*f, field) == 0)
            return true;
    }
    return false;
}

/* Answer a failed insert/update. */
static void write_failed(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e, int rc,
                         const char *field, const json_t *doc)
{
    if (rc == TR_ECONFLICT && field != NULL) {
        json_t *body = e->conflict_body ? e->conflict_body(field, doc) : NULL;
        tr_admin_reply(ctx, 409, body ? body : conflict_body(field, doc));
    } else if (rc == TR_ENOTFOUND && field != NULL) {
        /* A foreign key names a missing parent. */
        json_t *body = json_object();
        json_object_set_new(body, field, json_sprintf("%s does not exist", field));
        tr_admin_reply(ctx, 400, body);
    } else {
        tr_admin_reply_store_error(ctx, rc);
    }
}

/* input = ctx->body with the fixed fields laid over it (new reference). */
static json_t *merged_input(struct tr_admin_ctx *ctx, const json_t *fixed)
{
    json_t *in = json_deep_copy(ctx->body);
    if (fixed != NULL)
        json_object_update(in, (json_t *)fixed);
    return in;
}

/* Validate and run the entity's extra rule. Returns the doc, or NULL after answering 400. */
static json_t *validated(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e,
                         enum tr_schema_mode mode, const json_t *in, const json_t *existing)
{
    json_t *doc, *errors;
    int rc = e->validate ? e->validate(ctx, e, mode, in, existing, &doc, &errors)
                         : tr_schema_validate(e->schema, mode, in, existing, &doc, &errors);
    if (rc != 0) {
        tr_admin_reply(ctx, 400, errors);
        return NULL;
    }
    if (e->before_write != NULL) {
        errors = e->before_write(ctx, doc);
        if (errors != NULL) {
            json_decref(doc);
            tr_admin_reply(ctx, 400, errors);
            return NULL;
        }
    }
    return doc;
}

static void insert(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e, const json_t *in)
{
    json_t *doc = validated(ctx, e, TR_SCHEMA_INSERT, in, NULL);
    if (doc == NULL)
        return;
    const char *field = NULL;
    int rc = tr_store_insert(ctx->env->store, e->store_name, doc, &field);
    if (rc != 0) {
        write_failed(ctx, e, rc, field, doc);
        json_decref(doc);
        return;
    }
    changed(ctx, e->store_name, json_string_value(json_object_get(doc, "id")), doc);
    reply_entity(ctx, e, 201, doc);
}

static void update(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e,
                   enum tr_schema_mode mode, const json_t *in, const json_t *existing)
{
    json_t *doc = validated(ctx, e, mode, in, existing);
    if (doc == NULL)
        return;
    const char *field = NULL;
    int rc = tr_store_update(ctx->env->store, e->store_name, doc, &field);
    if (rc != 0) {
        write_failed(ctx, e, rc, field, doc);
        json_decref(doc);
        return;
    }
    changed(ctx, e->store_name, json_string_value(json_object_get(doc, "id")), doc);
    reply_entity(ctx, e, 200, doc);
}

void tr_admin_crud_create(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e,
                          const json_t *fixed)
{
    json_t *in = merged_input(ctx, fixed);
    insert(ctx, e, in);
    json_decref(in);
}

void tr_admin_crud_upsert(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e,
                          const json_t *fixed)
{
    json_t *in = merged_input(ctx, fixed);
    const json_t *id = json_object_get(in, "id");
    json_t *existing = NULL;
    if (json_is_string(id)) {
        struct tr_str s = tr_str_trim(tr_str_from_cstr(json_string_value(id)));
        if (tr_uuid_is_valid(s)) {
            char key[TR_UUID_LEN + 1];
            for (size_t i = 0; i < TR_UUID_LEN; i++)
                key[i] = tr_ascii_lower(s.ptr[i]);
            key[TR_UUID_LEN] = '\0';
            int rc = tr_store_get(ctx->env->store, e->store_name, "id", key, &existing);
            if (rc != 0 && rc != TR_ENOTFOUND) {
                tr_admin_reply_store_error(ctx, rc);
                json_decref(in);
                return;
            }
        }
    }
    if (existing != NULL)
        update(ctx, e, TR_SCHEMA_REPLACE, in, existing);
    else
        insert(ctx, e, in); /* an invalid id is reported by validation */
    json_decref(existing);
    json_decref(in);
}

void tr_admin_crud_get(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e, const char *key)
{
    json_t *doc;
    int rc = tr_admin_crud_find(ctx, e, key, &doc);
    if (rc != 0) {
        tr_admin_reply_store_error(ctx, rc);
        return;
    }
    reply_entity(ctx, e, 200, doc);
}

void tr_admin_crud_patch(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e, const char *key,
                         const json_t *fixed)
{
    json_t *existing;
    int rc = tr_admin_crud_find(ctx, e, key, &existing);
    if (rc != 0) {
        tr_admin_reply_store_error(ctx, rc);
        return;
    }
    json_t *in = merged_input(ctx, fixed);
    update(ctx, e, TR_SCHEMA_UPDATE, in, existing);
    json_decref(in);
    json_decref(existing);
}

void tr_admin_crud_delete(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e,
                          const char *key)
{
    json_t *existing;
    int rc = tr_admin_crud_find(ctx, e, key, &existing);
    if (rc != 0) {
        tr_admin_reply_store_error(ctx, rc);
        return;
    }
    const char *id = json_string_value(json_object_get(existing, "id"));
    rc = tr_store_delete(ctx->env->store, e->store_name, id);
    if (rc != 0) {
        json_decref(existing);
        tr_admin_reply_store_error(ctx, rc);
        return;
    }
    changed(ctx, e->store_name, id, NULL);
    json_decref(existing);
    tr_admin_reply(ctx, 204, NULL);
}

/* Append k=v to a query string being built, percent-encoding all but RFC 3986 unreserved. */
static void append_arg(char **buf, size_t *len, const char *k, const char *v)
{
    size_t need = *len + 1 + strlen(k) + 1 + 3 * strlen(v) + 1;
    *buf = tr_xrealloc(*buf, need);
    char *p = *buf + *len;
    if (*len > 0)
        *p++ = '&';
    for (const char *s = k; *s; s++)
        *p++ = *s;
    *p++ = '=';
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *s = (const unsigned char *)v; *s; s++) {
        unsigned char c = *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = '\0';
    *len = (size_t)(p - *buf);
}

/* The absolute URL of the next page: same path and filters, the store's offset token. */
static json_t *next_url(struct tr_admin_ctx *ctx, const json_t *filters, const char *token,
                        size_t size)
{
    char *q = NULL;
    size_t qlen = 0;
    char num[32];
    append_arg(&q, &qlen, "offset", token);
    snprintf(num, sizeof(num), "%zu", size);
    append_arg(&q, &qlen, "size", num);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)filters, k, v)
    {
        char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        append_arg(&q, &qlen, k, text ? text : json_string_value(v));
        free(text);
    }
    struct tr_str path = ctx->req->path;
    if (path.len > 1 && path.ptr[path.len - 1] == '/')
        path.len--;
    struct tr_str host = ctx->req->host.len ? ctx->req->host : TR_STR_LIT("localhost");
    json_t *url =
        json_sprintf("http://%.*s%.*s?%s", (int)host.len, host.ptr, (int)path.len, path.ptr, q);
    free(q);
    return url;
}

void tr_admin_crud_list(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e,
                        const json_t *fixed)
{
    char msg[512];
    json_t *errors = json_object();
    json_t *filters = json_object();
    size_t size = DEFAULT_PAGE;
    const char *offset = NULL;
    const char *k;
    json_t *v;

    /* ?tags=a,b (all) or a/b (any), as Kong 3's lists: rows are filtered after the store's
     * page, which then asks for what is still missing (crud3.c does the same). */
    json_t *tags = NULL;
    bool and_cond = true;
    if (tr_admin3_parse_tags(ctx, &tags, &and_cond) != 0) {
        json_decref(errors);
        json_decref(filters);
        return;
    }
    json_object_foreach(ctx->query, k, v)
    {
        if (strcmp(k, "tags") == 0 && tags != NULL)
            continue;
        if (strcmp(k, "size") == 0) {
            uint64_t n;
            const char *s = json_string_value(v);
            if (s == NULL || tr_str_to_u64(tr_str_trim(tr_str_from_cstr(s)), MAX_PAGE, &n) != 0 ||
                n == 0) {
                json_object_set_new(
                    errors, "size",
                    json_sprintf("size must be an integer between 1 and %d", MAX_PAGE));
                continue;
            }
            size = (size_t)n;
        } else if (strcmp(k, "offset") == 0) {
            offset = json_string_value(v);
            if (offset == NULL || offset[0] == '\0') {
                offset = NULL;
                if (!json_is_string(v))
                    json_object_set_new(errors, "offset", json_string("offset is not valid"));
            }
        } else {
            const struct tr_schema_field *f = tr_schema_field_find(e->schema, k);
            /* A field no answer shows is no filter either: a list filtered by a secret
             * would confirm guesses of it (P11), so it is as unknown as a misspelling. */
            if (f == NULL || is_hidden(e, k) || (f->flags & TR_SCHEMA_WRITE_ONLY)) {
                json_object_set_new(errors, k, json_sprintf("%s is an unknown field", k));
                continue;
            }
            if (f->type == TR_SCHEMA_RECORD || f->type == TR_SCHEMA_ARRAY) {
                json_object_set_new(errors, k, json_sprintf("%s cannot be used as a filter", k));
                continue;
            }
            json_t *c = tr_schema_coerce(f, v, msg, sizeof(msg));
            if (c == NULL) {
                json_object_set_new(errors, k, json_string(msg));
                continue;
            }
            json_object_set_new(filters, k, c);
        }
    }
    if (json_object_size(errors) > 0) {
        json_decref(filters);
        json_decref(tags);
        tr_admin_reply(ctx, 400, errors);
        return;
    }
    json_decref(errors);
    /* The query's filters go into "next"; the path's fixed ones are implied by the path. */
    json_t *all = json_deep_copy(filters);
    if (fixed != NULL)
        json_object_update(all, (json_t *)fixed);

    json_t *rows = NULL;
    size_t total = 0;
    char *next = NULL;
    int rc = tr_store_list(ctx->env->store, e->store_name, json_object_size(all) ? all : NULL, size,
                           offset, &rows, &total, &next);
    while (rc == 0 && tags != NULL) {
        json_t *kept = json_array();
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row)
        {
            if (tr_admin3_tags_match(row, tags, and_cond))
                json_array_append(kept, row);
        }
        json_decref(rows);
        rows = kept;
        if (next == NULL || json_array_size(rows) >= size)
            break;
        json_t *more = NULL;
        char *after = NULL;
        rc = tr_store_list(ctx->env->store, e->store_name, json_object_size(all) ? all : NULL,
                           size - json_array_size(rows), next, &more, &total, &after);
        free(next);
        next = after;
        if (rc == 0) {
            json_array_extend(rows, more);
            json_decref(more);
        }
    }
    if (rc == 0 && tags != NULL)
        total = json_array_size(rows); /* the rows of this page: the store counts no tags */
    json_decref(all);
    if (rc != 0) {
        json_decref(filters);
        json_decref(tags);
        json_decref(rows);
        free(next);
        if (rc == TR_EINVAL)
            tr_admin_reply(ctx, 400, json_pack("{s:s}", "offset", "offset is not valid"));
        else
            tr_admin_reply_store_error(ctx, rc);
        return;
    }
    if (e->hidden_fields != NULL) {
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row)
        {
            tr_admin_crud_hide(e, row);
        }
    }
    json_t *body = json_object();
    json_object_set_new(body, "data", rows);
    json_object_set_new(body, "total", json_integer((json_int_t)total));
    if (next != NULL) {
        if (tags != NULL)
            json_object_set(filters, "tags", json_object_get(ctx->query, "tags"));
        json_object_set_new(body, "next", next_url(ctx, filters, next, size));
    }
    free(next);
    json_decref(filters);
    json_decref(tags);
    tr_admin_reply(ctx, 200, body);
}
