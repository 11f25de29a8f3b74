/* SPDX-License-Identifier: MIT */
/* The /certificates and /snis endpoints (Kong 3.x shapes). Private keys are write-only: no
 * answer carries "key" unless the request asks with ?include_key=true (G-04). A certificate's
 * "snis" array is a shorthand: it is read from and written to the snis rows. */
#include "admin/crud.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/errors3.h"
#include "core/err.h"
#include "core/log.h"
#include "core/str.h"
#include "http/tls.h"
#include "schema/entities.h"
#include "store/store.h"

#define MAX_SNIS 1000

static json_t *check_pair(struct tr_admin_ctx *ctx, const json_t *doc)
{
    const char *field = NULL;
    char msg[256], warn[128];
    if (tr_tls_check_pair(json_string_value(json_object_get(doc, "cert")),
                          json_string_value(json_object_get(doc, "key")), &field, msg, sizeof(msg),
                          warn, sizeof(warn)) != 0)
        return json_pack("{s:s}", field, msg);
    if (warn[0])
        tr_log_warn("admin: certificate %s: %s (accepted)",
                    json_string_value(json_object_get(doc, "id")), warn);
    return NULL;
}

static json_t *check_sni(struct tr_admin_ctx *ctx, const json_t *doc)
{
    if (!tr_tls_sni_name_valid(json_string_value(json_object_get(doc, "name"))))
        return json_pack("{s:s}", "name",
                         "name must be a lower-case host name, with at most one wildcard as "
                         "its leftmost or rightmost label, or *");
    return NULL;
}

static const struct tr_admin_entity certificates = {
    .store_name = "certificates",
    .schema = &tr_schema_certificates,
    .before_write = check_pair,
};

static const struct tr_admin_entity snis = {
    .store_name = "snis",
    .schema = &tr_schema_snis,
    .name_field = "name",
    .before_write = check_sni,
};

/* ---- shapes ------------------------------------------------------------------------------- */

static bool include_key(struct tr_admin_ctx *ctx)
{
    const char *v = json_string_value(json_object_get(ctx->query, "include_key"));
    return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "on") == 0);
}

/* Names of the snis pointing at certificate id, in creation order (new array). */
static json_t *sni_names(struct tr_admin_ctx *ctx, const char *id)
{
    json_t *names = json_array();
    json_t *filter = json_pack("{s:s}", "certificate_id", id);
    json_t *rows = NULL;
    size_t total = 0;
    char *next = NULL;
    if (tr_store_list(ctx->env->store, "snis", filter, MAX_SNIS, NULL, &rows, &total, &next) == 0) {
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r)
        {
            json_array_append(names, json_object_get(r, "name"));
        }
    }
    free(next);
    json_decref(rows);
    json_decref(filter);
    return names;
}

static void shape_certificate(struct tr_admin_ctx *ctx, json_t *doc, bool with_key)
{
    if (!with_key)
        json_object_del(doc, "key");
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (id)
        json_object_set_new(doc, "snis", sni_names(ctx, id));
}

static void shape_sni(json_t *doc)
{
    json_t *cid = json_object_get(doc, "certificate_id");
    if (cid) {
        json_object_set_new(doc, "certificate", json_pack("{s:O}", "id", cid));
        json_object_del(doc, "certificate_id");
    }
}

/* Shape the answer just produced by a crud helper (one entity or a {"data":[...]} page). */
static void shape_answer(struct tr_admin_ctx *ctx, bool is_cert)
{
    json_t *body = ctx->res->body;
    if (ctx->res->status >= 300 || !json_is_object(body))
        return;
    bool with_key = include_key(ctx);
    json_t *data = json_object_get(body, "data");
    if (json_is_array(data)) {
        size_t i;
        json_t *row;
        json_array_foreach(data, i, row)
        {
            if (is_cert)
                shape_certificate(ctx, row, with_key);
            else
                shape_sni(row);
        }
    } else if (is_cert) {
        shape_certificate(ctx, body, with_key);
    } else {
        shape_sni(body);
    }
}

/* ---- the snis shorthand ------------------------------------------------------------------- */

/* Take "snis" out of ctx->body: *out gets a new array of lower-cased names (NULL when the
 * field was absent). Returns false after answering 400/409. exclude_cert: a certificate whose
 * own snis do not count as conflicts (PATCH). */
static bool take_snis(struct tr_admin_ctx *ctx, const char *exclude_cert, json_t **out)
{
    *out = NULL;
    json_t *in = json_object_get(ctx->body, "snis");
    if (in == NULL)
        return true;
    json_t *names = json_array();
    if (json_is_string(in)) {
        /* Form input: comma-separated. */
        struct tr_str rest = tr_str_from_cstr(json_string_value(in)), item;
        while (tr_str_next_item(&rest, ',', &item)) {
            if (item.len)
                json_array_append_new(names, json_stringn(item.ptr, item.len));
        }
    } else if (json_is_array(in)) {
        size_t i;
        json_t *v;
        json_array_foreach(in, i, v)
        {
            json_array_append(names, v);
        }
    } else if (!json_is_null(in)) {
        json_decref(names);
        tr_admin_reply(ctx, 400, json_pack("{s:s}", "snis", "snis must be an array of names"));
        return false;
    }
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        const char *n = json_string_value(v);
        if (n == NULL || !tr_tls_sni_name_valid(n)) {
            json_decref(names);
            tr_admin_reply(
                ctx, 400, json_pack("{s:s}", "snis", "snis must hold valid lower-case host names"));
            return false;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(json_string_value(json_array_get(names, j)), n) == 0) {
                json_decref(names);
                tr_admin_reply(ctx, 400, json_pack("{s:s}", "snis", "snis has duplicates"));
                return false;
            }
        }
        json_t *existing = NULL;
        int rc = tr_store_get(ctx->env->store, "snis", "name", n, &existing);
        if (rc == 0) {
            const char *owner = json_string_value(json_object_get(existing, "certificate_id"));
            if (exclude_cert == NULL || owner == NULL || strcmp(owner, exclude_cert) != 0) {
                char msg[512];
                snprintf(msg, sizeof(msg), "%s already associated with existing certificate '%s'",
                         n, owner ? owner : "");
                tr_admin_reply(ctx, 409, json_pack("{s:s}", "snis", msg));
                json_decref(existing);
                json_decref(names);
                return false;
            }
            json_decref(existing);
        } else if (rc != TR_ENOTFOUND) {
            json_decref(names);
            tr_admin_reply_store_error(ctx, rc);
            return false;
        }
    }
    json_object_del(ctx->body, "snis");
    *out = names;
    return true;
}

/* Make the snis of certificate id exactly names: delete the others, insert the missing. */
static int set_snis(struct tr_admin_ctx *ctx, const char *id, json_t *names)
{
    json_t *current = sni_names(ctx, id);
    size_t i;
    json_t *v;
    json_array_foreach(current, i, v)
    {
        bool keep = false;
        size_t j;
        json_t *w;
        json_array_foreach(names, j, w)
        {
            keep = keep || json_equal(v, w);
        }
        json_t *row = NULL;
        if (!keep && tr_store_get(ctx->env->store, "snis", "name", json_string_value(v), &row) == 0)
            tr_store_delete(ctx->env->store, "snis", json_string_value(json_object_get(row, "id")));
        json_decref(row);
    }
    int rc = 0;
    json_array_foreach(names, i, v)
    {
        bool have = false;
        size_t j;
        json_t *w;
        json_array_foreach(current, j, w)
        {
            have = have || json_equal(v, w);
        }
        if (have)
            continue;
        json_t *in = json_pack("{s:O,s:s}", "name", v, "certificate_id", id);
        json_t *doc = NULL, *errors = NULL;
        if (tr_schema_validate(&tr_schema_snis, TR_SCHEMA_INSERT, in, NULL, &doc, &errors) == 0)
            rc = tr_store_insert(ctx->env->store, "snis", doc, NULL);
        else
            rc = TR_EINVAL;
        json_decref(in);
        json_decref(doc);
        json_decref(errors);
        if (rc != 0)
            break;
    }
    json_decref(current);
    return rc;
}

/* ---- /certificates ------------------------------------------------------------------------ */

static void cert_list(struct tr_admin_ctx *ctx)
{
    bool with_key = include_key(ctx);
    json_object_del(ctx->query, "include_key");
    tr_admin_crud_list(ctx, &certificates, NULL);
    if (with_key)
        json_object_set_new(ctx->query, "include_key", json_string("true"));
    shape_answer(ctx, true);
}

static void cert_create(struct tr_admin_ctx *ctx)
{
    json_t *names;
    if (!take_snis(ctx, NULL, &names))
        return;
    tr_admin_crud_create(ctx, &certificates, NULL);
    if (ctx->res->status == 201 && names) {
        const char *id = json_string_value(json_object_get(ctx->res->body, "id"));
        if (set_snis(ctx, id, names) != 0) {
            /* Undo: the certificate is only kept with all its names. */
            tr_store_delete(ctx->env->store, "certificates", id);
            tr_admin_reply_error(ctx, TR_EINTERNAL);
        } else if (ctx->env->on_change) {
            ctx->env->on_change(ctx->env->ud, "snis", NULL, NULL);
        }
    }
    json_decref(names);
    shape_answer(ctx, true);
}

static void cert_get(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_get(ctx, &certificates, ctx->params[0]);
    shape_answer(ctx, true);
}

static void cert_patch(struct tr_admin_ctx *ctx)
{
    json_t *existing = NULL;
    int rc = tr_admin_crud_find(ctx, &certificates, ctx->params[0], &existing);
    if (rc != 0) {
        tr_admin_reply_store_error(ctx, rc);
        return;
    }
    const char *id = json_string_value(json_object_get(existing, "id"));
    json_t *names;
    if (!take_snis(ctx, id, &names)) {
        json_decref(existing);
        return;
    }
    tr_admin_crud_patch(ctx, &certificates, id, NULL);
    if (ctx->res->status == 200 && names) {
        if (set_snis(ctx, id, names) != 0)
            tr_admin_reply_error(ctx, TR_EINTERNAL);
        else if (ctx->env->on_change)
            ctx->env->on_change(ctx->env->ud, "snis", NULL, NULL);
    }
    json_decref(names);
    json_decref(existing);
    shape_answer(ctx, true);
}

static void cert_delete(struct tr_admin_ctx *ctx)
{
    /* A certificate a service or an upstream presents to its upstream servers stays until
     * none uses it, as Kong 3 keeps it (the store refuses the delete). */
    static const char *const users[] = {"services", "upstreams", NULL};
    json_t *existing = NULL;
    if (tr_admin_crud_find(ctx, &certificates, ctx->params[0], &existing) == 0) {
        json_t *filter =
            json_pack("{s:O}", "client_certificate_id", json_object_get(existing, "id"));
        json_decref(existing);
        for (const char *const *u = users; *u; u++) {
            json_t *rows = NULL;
            size_t total = 0;
            char *next = NULL;
            int rc = tr_store_list(ctx->env->store, *u, filter, 1, NULL, &rows, &total, &next);
            free(next);
            bool used = rc == 0 && json_array_size(rows) > 0;
            json_decref(rows);
            if (used) {
                json_decref(filter);
                tr_admin3_reply_fk_restricted(ctx, "certificates", *u);
                return;
            }
        }
        json_decref(filter);
    }
    tr_admin_crud_delete(ctx, &certificates, ctx->params[0]);
}

/* ---- /snis -------------------------------------------------------------------------------- */

/* Kong's input is certificate = {"id": ...} (JSON) or certificate.id (forms): turn it into
 * the stored certificate_id. Returns false after answering 400. */
static bool take_certificate_ref(struct tr_admin_ctx *ctx, json_t **fixed)
{
    *fixed = NULL;
    json_t *c = json_object_get(ctx->body, "certificate");
    json_t *id = NULL;
    if (json_is_object(c))
        id = json_object_get(c, "id");
    else if (json_is_string(c))
        id = c;
    if (c == NULL)
        id = json_object_get(ctx->body, "certificate.id");
    if (c == NULL && id == NULL)
        return true;
    if (!json_is_string(id)) {
        tr_admin_reply(ctx, 400, json_pack("{s:s}", "certificate", "certificate.id is required"));
        return false;
    }
    json_t *doc = NULL;
    int rc = tr_store_get(ctx->env->store, "certificates", "id", json_string_value(id), &doc);
    json_decref(doc);
    if (rc == TR_ENOTFOUND) {
        tr_admin_reply(ctx, 400, json_pack("{s:s}", "certificate", "certificate does not exist"));
        return false;
    }
    *fixed = json_pack("{s:O}", "certificate_id", id);
    json_object_del(ctx->body, "certificate");
    json_object_del(ctx->body, "certificate.id");
    return true;
}

static void sni_list(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_list(ctx, &snis, NULL);
    shape_answer(ctx, false);
}

static void sni_create(struct tr_admin_ctx *ctx)
{
    json_t *fixed;
    if (!take_certificate_ref(ctx, &fixed))
        return;
    if (fixed == NULL && json_object_get(ctx->body, "certificate_id") == NULL) {
        tr_admin_reply(ctx, 400, json_pack("{s:s}", "certificate", "certificate is required"));
        return;
    }
    tr_admin_crud_create(ctx, &snis, fixed);
    json_decref(fixed);
    shape_answer(ctx, false);
}

static void sni_get(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_get(ctx, &snis, ctx->params[0]);
    shape_answer(ctx, false);
}

static void sni_patch(struct tr_admin_ctx *ctx)
{
    json_t *fixed;
    if (!take_certificate_ref(ctx, &fixed))
        return;
    tr_admin_crud_patch(ctx, &snis, ctx->params[0], fixed);
    json_decref(fixed);
    shape_answer(ctx, false);
}

static void sni_delete(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_delete(ctx, &snis, ctx->params[0]);
}

const struct tr_admin_endpoint tr_admin_certificates_endpoints[] = {
    {"/certificates", .get = cert_list, .post = cert_create,
     .help = "list or create TLS certificates (snis shorthand; key shown with ?include_key=true)"},
    {"/certificates/{id}", .get = cert_get, .patch = cert_patch, .del = cert_delete,
     .help = "read, update or delete one certificate (deleting it deletes its snis)"},
    {"/snis", .get = sni_list, .post = sni_create,
     .help = "list or create SNI names pointing at a certificate"},
    {"/snis/{name_or_id}", .get = sni_get, .patch = sni_patch, .del = sni_delete,
     .help = "read, update or delete one SNI by name or id"},
};
const size_t tr_admin_certificates_endpoints_cnt =
    sizeof(tr_admin_certificates_endpoints) / sizeof(tr_admin_certificates_endpoints[0]);
