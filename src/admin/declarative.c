/* SPDX-License-Identifier: MIT */
/* Loading a declarative document (declarative.h): flatten, give ids, resolve references, find
 * duplicates, then write every entity through the Admin API's handlers in one store batch. */
#include "admin/declarative_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/strmap.h"
#include "core/uuid.h"
#include "core/yaml.h"
#include "store/store.h"

/* Kong's root namespace of declarative ids (kong/db/schema/others/declarative_config.lua). */
#define ROOT_NS "fd02801f-0957-4a15-a55a-c8d9606f30b5"

/* ---- text and hashes --------------------------------------------------------------------------
 */

int tr_declarative_parse_text(const char *text, size_t len, json_t **doc, char *err, size_t err_len)
{
    return tr_declarative_parse_text_lines(text, len, doc, NULL, err, err_len);
}

int tr_declarative_parse_text_lines(const char *text, size_t len, json_t **doc,
                                    struct tr_yaml_lines **lines, char *err, size_t err_len)
{
    char why[400];
    *doc = NULL;
    if (lines != NULL)
        *lines = NULL;
    if (len > TR_DECLARATIVE_MAX_BYTES) {
        snprintf(err, err_len, "failed parsing declarative configuration: larger than %u bytes",
                 TR_DECLARATIVE_MAX_BYTES);
        return TR_EINVAL;
    }
    json_t *v = NULL;
    struct tr_yaml_lines *ls = NULL;
    int rc = lines ? tr_yaml_parse_lines(text, len, &v, &ls, why, sizeof(why))
                   : tr_yaml_parse(text, len, &v, why, sizeof(why));
    if (rc != 0) {
        snprintf(err, err_len, "failed parsing declarative configuration: %s", why);
    } else if (!json_is_object(v)) {
        snprintf(err, err_len, "failed parsing declarative configuration: expected an object");
        rc = TR_EINVAL;
    }
    if (rc != 0) {
        json_decref(v);
        tr_yaml_lines_free(ls);
        return TR_EINVAL;
    }
    *doc = v;
    if (lines != NULL)
        *lines = ls;
    return 0;
}

char *tr_declarative_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n + 65537 > cap) {
            cap = cap ? cap * 2 : 131072;
            buf = tr_xrealloc(buf, cap);
        }
        got = fread(buf + n, 1, 65536, f);
        n += got;
    } while (got == 65536 && n <= TR_DECLARATIVE_MAX_BYTES);
    int err = ferror(f) ? EIO : n > TR_DECLARATIVE_MAX_BYTES ? EFBIG : 0;
    fclose(f);
    if (err != 0) {
        free(buf);
        errno = err;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void md5_hex(const void *p, size_t n, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(p, n, md, &len, EVP_md5(), NULL) != 1 || len != 16) {
        memcpy(out, TR_DECLARATIVE_EMPTY_HASH, 33);
        return;
    }
    for (unsigned i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void tr_declarative_hash_text(const char *text, size_t len, char out[33])
{
    md5_hex(text, len, out);
}

void tr_declarative_hash_doc(const json_t *doc, char out[33])
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    md5_hex(text ? text : "", text ? strlen(text) : 0, out);
    free(text);
}

/* ---- the plan: one entry per entity ---------------------------------------------------------- */

struct ent {
    const struct tr_decl_kind *kind;
    json_t *input; /* borrowed from the document: the entity as written */
    json_t *body;  /* owned: what the Admin API gets */
    char id[TR_UUID_LEN + 1];
    long parent; /* index of the entity it is nested in, or -1 */
    struct tr_decl_path path;
    bool failed;  /* it, or an entity it is nested in, was refused */
    json_t *flat; /* its item in flattened_errors (borrowed), once it has one */
};

struct loader {
    struct tr_admin_env *env;
    enum tr_declarative_mode mode;
    struct ent *ents;
    size_t cnt, cap;
    json_t *fields;    /* the errors tree */
    json_t *written;   /* the Admin API's answers by kind and id, or NULL when not wanted */
    bool legacy_paths; /* _format_version 1.1 or 2.1: route paths are migrated to 3.0's */
    json_t *flattened; /* flattened_errors items */
    /* per kind: id -> ent index + 1, endpoint key -> ent index + 1 */
    struct tr_strmap by_id[TR_DECL_MAX_KINDS], by_key[TR_DECL_MAX_KINDS];
    char ns[TR_DECL_MAX_KINDS][TR_UUID_LEN + 1]; /* per kind: uuid5(ROOT_NS, kind), Kong's */
};

static size_t kind_index(const struct tr_decl_kind *k)
{
    for (size_t i = 0; i < tr_decl_kind_count(); i++) {
        if (tr_decl_kind_at(i) == k)
            return i;
    }
    return 0;
}

/* An error of entity e (value stolen): in the tree, and as a flattened item. With skip, e
 * is not written (a duplicate, a dangling reference: its write could only add noise); else
 * it still is, so that the Admin API's checks name its other problems in the same answer. */
static void entity_error(struct loader *l, struct ent *e, const char *at, json_t *value, bool skip)
{
    json_t *item = tr__decl_flat_item(e->kind->singular, e->input, e->id, value);
    if (e->flat != NULL) { /* one item per entity, its errors together */
        json_array_extend(json_object_get(e->flat, "errors"), json_object_get(item, "errors"));
        json_decref(item);
    } else {
        json_array_append_new(l->flattened, item);
        e->flat = item;
    }
    tr__decl_err_put(l->fields, &e->path, at, value);
    e->failed = e->failed || skip;
}

static void path_error(struct loader *l, const struct tr_decl_path *p, const char *msg)
{
    tr__decl_err_put(l->fields, p, NULL, json_string(msg));
}

/* Kong's stable id: uuid5(uuid5(ROOT_NS, kind), key), the key being the endpoint key's value,
 * else the cache key "<kind>:*:<field values>" (a nested item's parent reference is the
 * parent's id). No key: a random id. */
static void stable_id(const char *ns, const struct tr_decl_kind *k, const json_t *in,
                      const struct ent *parent, const struct tr_decl_fk *parent_fk,
                      char out[TR_UUID_LEN + 1])
{
    const json_t *ek = k->endpoint_key ? json_object_get(in, k->endpoint_key) : NULL;
    if (!k->random_id && json_is_string(ek)) {
        tr_uuid_v5(ns, tr_str_from_cstr(json_string_value(ek)), out);
        return;
    }
    if (!k->random_id && k->cache_key[0] != NULL && k->endpoint_key == NULL) {
        char key[2048];
        int n = snprintf(key, sizeof(key), "%s:*", k->name);
        bool ok = true;
        for (size_t i = 0; i < 5 && k->cache_key[i] && ok; i++) {
            const char *f = k->cache_key[i];
            const json_t *v = json_object_get(in, f);
            const char *part = NULL;
            if (json_is_string(v))
                part = json_string_value(v);
            else if (v == NULL && parent && parent_fk && strcmp(parent_fk->field, f) == 0)
                part = parent->id;
            else if (v == NULL && i == 0)
                ok = false; /* the first field (a name, an upstream) is required */
            else if (v == NULL && strcmp(k->name, "plugins") != 0)
                ok = false; /* required fields of targets, acls, credentials */
            if (ok && n >= 0 && (size_t)n < sizeof(key))
                n += snprintf(key + n, sizeof(key) - (size_t)n, ":%s", part ? part : "");
        }
        /* torii's apis: an api's plugin must not share the id of a global one */
        const json_t *api = json_object_get(in, "api");
        const char *api_ref = json_is_string(api) ? json_string_value(api)
                              : (parent && parent_fk && strcmp(parent_fk->field, "api") == 0)
                                  ? parent->id
                                  : NULL;
        if (ok && api_ref != NULL && strcmp(k->name, "plugins") == 0 && n > 0 &&
            (size_t)n < sizeof(key))
            n += snprintf(key + n, sizeof(key) - (size_t)n, ":api=%s", api_ref);
        if (ok && n > 0 && (size_t)n < sizeof(key)) {
            tr_uuid_v5(ns, (struct tr_str){key, (size_t)n}, out);
            return;
        }
    }
    tr_uuid_v4(out);
}

/* Kong's migration of a 1.1 / 2.1 file's route paths (migrate_path_280_300.lua): a path of
 * plain characters stays a prefix, any other was a regex then and says so now with "~". */
static void migrate_paths(json_t *paths)
{
    size_t i;
    json_t *p;
    json_array_foreach(paths, i, p)
    {
        const char *s = json_string_value(p);
        if (s == NULL || s[0] == '~')
            continue;
        bool plain = true;
        for (const char *c = s; *c && plain; c++)
            plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                    (*c >= '0' && *c <= '9') || strchr(".-_~/%", *c) != NULL;
        if (!plain)
            json_array_set_new(paths, i, json_sprintf("~%s", s));
    }
}

static bool is_meta(const char *key)
{
    return strcmp(key, "_comment") == 0 || strcmp(key, "_ignore") == 0;
}

static long add_entity(struct loader *l, const struct tr_decl_kind *k, json_t *in, long parent,
                       const struct tr_decl_path *path);

/* The children arrays nested in entity ei. */
static void add_children(struct loader *l, long ei)
{
    for (size_t c = 0; c < TR_DECL_MAX_CHILDREN; c++) {
        struct ent *e = &l->ents[ei];
        const char *child = e->kind->children[c];
        if (child == NULL)
            break;
        json_t *list = json_object_get(e->input, child);
        if (list == NULL || json_is_null(list))
            continue;
        struct tr_decl_path p = e->path;
        if (!json_is_array(list) || p.depth + 1 > TR_DECL_MAX_DEPTH) {
            struct tr_decl_path at = p;
            json_t *err = json_pack("{s:s}", child,
                                    json_is_array(list) ? "nested too deep" : "expected an array");
            tr__decl_err_put(l->fields, &at, NULL, err);
            continue;
        }
        p.key[p.depth] = child;
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item)
        {
            p.index[p.depth] = (long)i;
            p.depth++;
            add_entity(l, tr_decl_kind_find(child), item, ei, &p);
            p.depth--;
        }
    }
}

static long add_entity(struct loader *l, const struct tr_decl_kind *k, json_t *in, long parent,
                       const struct tr_decl_path *path)
{
    if (!json_is_object(in)) {
        path_error(l, path, "expected a record");
        return -1;
    }
    if (l->cnt == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->ents = tr_xrealloc(l->ents, l->cap * sizeof(*l->ents));
    }
    long ei = (long)l->cnt++;
    struct ent *e = &l->ents[ei];
    memset(e, 0, sizeof(*e));
    e->kind = k;
    e->input = in;
    e->parent = parent;
    e->path = *path;
    e->body = json_object();
    const struct tr_decl_fk *parent_fk =
        parent >= 0 ? tr_decl_kind_parent_fk(k, l->ents[parent].kind->name) : NULL;
    const char *key;
    json_t *v;
    json_t *errs = NULL;
    json_object_foreach(in, key, v)
    {
        bool child = false;
        for (size_t c = 0; c < TR_DECL_MAX_CHILDREN && k->children[c]; c++)
            child = child || strcmp(k->children[c], key) == 0;
        if (child || is_meta(key))
            continue;
        if (parent_fk != NULL && strcmp(key, parent_fk->field) == 0 && !json_is_null(v)) {
            if (errs == NULL)
                errs = json_object();
            json_object_set_new(errs, key, json_string("value must be null"));
            continue;
        }
        json_object_set(e->body, key, v);
    }
    const json_t *given = json_object_get(in, "id");
    if (json_is_string(given) && tr_uuid_is_valid(tr_str_from_cstr(json_string_value(given)))) {
        for (size_t i = 0; i < TR_UUID_LEN; i++)
            e->id[i] = tr_ascii_lower(json_string_value(given)[i]);
        e->id[TR_UUID_LEN] = '\0';
    } else if (given == NULL) {
        stable_id(l->ns[kind_index(k)], k, in, parent >= 0 ? &l->ents[parent] : NULL, parent_fk,
                  e->id);
    }
    /* else: a malformed id, left for the Admin API to name */
    if (e->id[0] != '\0')
        json_object_set_new(e->body, "id", json_string(e->id));
    if (parent_fk != NULL)
        json_object_set_new(e->body, parent_fk->field,
                            json_pack("{s:s}", "id", l->ents[parent].id));
    if (l->legacy_paths && strcmp(k->name, "routes") == 0)
        migrate_paths(json_object_get(e->body, "paths"));
    if (errs != NULL)
        entity_error(l, e, NULL, errs, false);
    add_children(l, ei);
    return ei;
}

/* ---- in-file uniqueness ------------------------------------------------------------------------
 */

static void check_unique(struct loader *l)
{
    for (size_t i = 0; i < l->cnt; i++) {
        struct ent *e = &l->ents[i];
        size_t ki = kind_index(e->kind);
        char msg[512];
        if (e->id[0] != '\0') {
            if (tr_strmap_get(&l->by_id[ki], tr_str_from_cstr(e->id)) != NULL) {
                snprintf(msg, sizeof(msg),
                         "uniqueness violation: '%s' entity with primary key set to '%s' already "
                         "declared",
                         e->kind->name, e->id);
                entity_error(l, e, NULL, json_string(msg), true);
            } else {
                tr_strmap_put(&l->by_id[ki], tr_str_from_cstr(e->id), (void *)(uintptr_t)(i + 1));
            }
        }
        const char *ekf = e->kind->endpoint_key;
        const json_t *ek = ekf ? json_object_get(e->input, ekf) : NULL;
        if (json_is_string(ek)) {
            if (tr_strmap_get(&l->by_key[ki], tr_str_from_cstr(json_string_value(ek))) != NULL) {
                snprintf(msg, sizeof(msg),
                         "uniqueness violation: '%s' entity with %s set to '%.200s' already "
                         "declared",
                         e->kind->name, ekf, json_string_value(ek));
                entity_error(l, e, NULL, json_string(msg), true);
            } else {
                tr_strmap_put(&l->by_key[ki], tr_str_from_cstr(json_string_value(ek)),
                              (void *)(uintptr_t)(i + 1));
            }
        }
    }
}

/* ---- references written at top level ------------------------------------------------------------
 */

/* The id ref names: a file entity of kind parent by endpoint key or id, else (adding to a
 * database) a stored one. NULL when there is none. */
static const char *find_ref(struct loader *l, const struct tr_decl_kind *parent, const char *ref,
                            char buf[TR_UUID_LEN + 1])
{
    size_t ki = kind_index(parent);
    uintptr_t hit = (uintptr_t)tr_strmap_get(&l->by_key[ki], tr_str_from_cstr(ref));
    if (hit == 0)
        hit = (uintptr_t)tr_strmap_get(&l->by_id[ki], tr_str_from_cstr(ref));
    if (hit != 0)
        return l->ents[hit - 1].id;
    if (l->mode != TR_DECLARATIVE_UPSERT)
        return NULL;
    json_t *doc = NULL;
    int rc = parent->endpoint_key
                 ? tr_store_get(l->env->store, parent->name, parent->endpoint_key, ref, &doc)
                 : TR_ENOTFOUND;
    if (rc == TR_ENOTFOUND && tr_uuid_is_valid(tr_str_from_cstr(ref)))
        rc = tr_store_get(l->env->store, parent->name, "id", ref, &doc);
    if (rc != 0)
        return NULL;
    snprintf(buf, TR_UUID_LEN + 1, "%s", json_string_value(json_object_get(doc, "id")));
    json_decref(doc);
    return buf;
}

static void resolve_refs(struct loader *l, struct ent *e)
{
    for (size_t f = 0; f < TR_DECL_MAX_FKS && e->kind->fks[f].field; f++) {
        const struct tr_decl_fk *fk = &e->kind->fks[f];
        json_t *v = json_object_get(e->body, fk->field);
        if (v == NULL || json_is_null(v))
            continue;
        if (e->parent >= 0 && tr_decl_kind_parent_fk(e->kind, l->ents[e->parent].kind->name) == fk)
            continue; /* set from the nesting */
        const json_t *ref = v;
        if (json_is_object(v)) {
            ref = json_object_get(v, "id");
            const struct tr_decl_kind *pk = tr_decl_kind_find(fk->parent);
            if (ref == NULL && pk->endpoint_key != NULL)
                ref = json_object_get(v, pk->endpoint_key);
        }
        char buf[TR_UUID_LEN + 1];
        const char *id = json_is_string(ref) ? find_ref(l, tr_decl_kind_find(fk->parent),
                                                        json_string_value(ref), buf)
                                             : NULL;
        if (id != NULL) {
            json_object_set_new(e->body, fk->field, json_pack("{s:s}", "id", id));
            continue;
        }
        char *shown = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        char msg[600];
        snprintf(msg, sizeof(msg), "invalid reference '%s: %.300s' (no such entry in '%s')",
                 fk->field, shown ? shown : json_string_value(v), fk->parent);
        free(shown);
        /* Kong files it under the entity's endpoint key, else its id, else its position */
        const char *ekf = e->kind->endpoint_key;
        const json_t *ek = ekf ? json_object_get(e->input, ekf) : NULL;
        const json_t *given = json_object_get(e->input, "id");
        const char *at = json_is_string(ek)      ? json_string_value(ek)
                         : json_is_string(given) ? json_string_value(given)
                                                 : NULL;
        entity_error(l, e, at, json_pack("[s]", msg), true);
    }
}

/* ---- writing -----------------------------------------------------------------------------------
 */

/* The api's answer as errors: Kong 3's fields, 0.7's {field: message}, or a lone message. */
static json_t *answer_errors(const json_t *body, int status)
{
    const json_t *fields = json_object_get(body, "fields");
    if (json_is_object(fields) && json_object_size(fields) > 0)
        return json_deep_copy(fields);
    const json_t *msg = json_object_get(body, "message");
    if (json_is_string(msg) || !json_is_object(body) || json_object_size(body) == 0) {
        char fallback[64];
        snprintf(fallback, sizeof(fallback), "refused (%d)", status);
        return json_pack("{s:[s]}", "@entity",
                         json_is_string(msg) ? json_string_value(msg) : fallback);
    }
    return json_deep_copy(body);
}

static bool stored(struct loader *l, const char *kind, const char *id)
{
    if (l->mode != TR_DECLARATIVE_UPSERT)
        return false; /* the store was cleared */
    json_t *doc = NULL;
    bool found = tr_store_get(l->env->store, kind, "id", id, &doc) == 0;
    json_decref(doc);
    return found;
}

static const char *credential_segment(const char *kind)
{
    if (strcmp(kind, "keyauth_credentials") == 0)
        return "key-auth";
    if (strcmp(kind, "basicauth_credentials") == 0)
        return "basic-auth";
    if (strcmp(kind, "oauth2_credentials") == 0)
        return "oauth2";
    if (strcmp(kind, "jwt_secrets") == 0)
        return "jwt";
    if (strcmp(kind, "hmacauth_credentials") == 0)
        return "hmac-auth";
    return "acls";
}

static const char *ref_id(const json_t *body, const char *field)
{
    return json_string_value(json_object_get(json_object_get(body, field), "id"));
}

/* The Admin API call that creates or replaces e: method and path into the buffers. */
static void route_of(struct loader *l, struct ent *e, const char **method, char *path, size_t len)
{
    const char *k = e->kind->name;
    if (strcmp(k, "services") == 0 || strcmp(k, "routes") == 0 || strcmp(k, "upstreams") == 0) {
        *method = "PUT";
        snprintf(path, len, "%s/%s", e->kind->collection, e->id);
    } else if (strcmp(k, "targets") == 0) {
        const char *up = ref_id(e->body, "upstream");
        bool have = stored(l, k, e->id);
        *method = have ? "PUT" : "POST";
        snprintf(path, len, "/upstreams/%s/targets%s%s", up ? up : "-", have ? "/" : "",
                 have ? e->id : "");
        json_object_del(e->body, "upstream");
    } else if (e->kind->fks[0].field && strcmp(e->kind->fks[0].field, "consumer") == 0 &&
               strcmp(k, "plugins") != 0) {
        const char *c = ref_id(e->body, "consumer");
        *method = "PUT";
        snprintf(path, len, "/consumers/%s/%s", c ? c : "-", credential_segment(k));
        json_object_del(e->body, "consumer");
    } else if (strcmp(k, "certificates") == 0 || strcmp(k, "snis") == 0) {
        bool have = stored(l, k, e->id);
        *method = have ? "PATCH" : "POST";
        snprintf(path, len, "%s%s%s", e->kind->collection, have ? "/" : "", have ? e->id : "");
    } else {
        *method = "PUT"; /* consumers, apis, plugins: Kong 0.7's PUT, the id in the body */
        snprintf(path, len, "%s", e->kind->collection);
        const char *api = strcmp(k, "plugins") == 0 ? ref_id(e->body, "api") : NULL;
        if (api != NULL) {
            snprintf(path, len, "/apis/%s/plugins", api); /* an api's plugin: api_id from there */
            json_object_del(e->body, "api");
        }
    }
}

static void write_entity(struct loader *l, struct ent *e)
{
    if (e->parent >= 0 && l->ents[e->parent].failed) {
        e->failed = true; /* its parent's error says it all */
        return;
    }
    if (e->failed)
        return;
    const char *method;
    char path[256];
    route_of(l, e, &method, path, sizeof(path));
    struct tr_admin_response res;
    tr_admin_handle_doc(l->env, method, path, e->body, &res);
    e->body = NULL; /* the handler had it */
    if (res.status >= 300) {
        entity_error(l, e, NULL, answer_errors(res.body, res.status), true);
    } else if (l->written != NULL && json_is_object(res.body)) {
        json_t *by_id = json_object_get(l->written, e->kind->name);
        if (by_id == NULL) {
            by_id = json_object();
            json_object_set_new(l->written, e->kind->name, by_id);
        }
        json_object_set(by_id, e->id, res.body);
    }
    json_decref(res.body);
}

/* ---- the load -------------------------------------------------------------------------------- */

static void check_top(struct loader *l, const json_t *doc)
{
    const json_t *fv = json_object_get(doc, "_format_version");
    if (fv == NULL)
        tr__decl_err_top(l->fields, "_format_version", json_string("required field missing"));
    else if (!json_is_string(fv))
        tr__decl_err_top(l->fields, "_format_version", json_string("expected a string"));
    else if (strcmp(json_string_value(fv), "1.1") == 0 || strcmp(json_string_value(fv), "2.1") == 0)
        l->legacy_paths = true;
    else if (strcmp(json_string_value(fv), "3.0") != 0)
        tr__decl_err_top(l->fields, "_format_version",
                         json_string("expected one of: 1.1, 2.1, 3.0"));
    const json_t *tf = json_object_get(doc, "_transform");
    if (tf != NULL && !json_is_boolean(tf))
        tr__decl_err_top(l->fields, "_transform", json_string("expected a boolean"));
    const json_t *cm = json_object_get(doc, "_comment");
    if (cm != NULL && !json_is_string(cm))
        tr__decl_err_top(l->fields, "_comment", json_string("expected a string"));
    const json_t *ig = json_object_get(doc, "_ignore");
    if (ig != NULL && !json_is_array(ig))
        tr__decl_err_top(l->fields, "_ignore", json_string("expected an array"));
}

int tr_declarative_load(struct tr_admin_env *env, const json_t *doc, enum tr_declarative_mode mode,
                        struct tr_declarative_result *res)
{
    bool want = res->want_entities;
    memset(res, 0, sizeof(*res));
    struct loader *l = tr_xcalloc(1, sizeof(*l));
    l->written = want ? json_object() : NULL;
    l->env = env;
    l->mode = mode;
    l->fields = json_object();
    l->flattened = json_array();
    for (size_t i = 0; i < tr_decl_kind_count(); i++) {
        tr_strmap_init(&l->by_id[i]);
        tr_strmap_init(&l->by_key[i]);
        tr_uuid_v5(ROOT_NS, tr_str_from_cstr(tr_decl_kind_at(i)->name), l->ns[i]);
    }
    check_top(l, doc);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)doc, key, v)
    {
        if (key[0] == '_')
            continue;
        const struct tr_decl_kind *k = tr_decl_kind_find(key);
        if (k == NULL) {
            tr__decl_err_top(l->fields, key, json_string("unknown field"));
            continue;
        }
        if (json_is_null(v))
            continue;
        if (!json_is_array(v)) {
            tr__decl_err_top(l->fields, key, json_string("expected an array"));
            continue;
        }
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            struct tr_decl_path p = {.key = {k->name}, .index = {(long)i}, .depth = 1};
            add_entity(l, k, item, -1, &p);
        }
    }
    check_unique(l);
    for (size_t i = 0; i < l->cnt; i++)
        resolve_refs(l, &l->ents[i]);

    /* The writes run even when the checks above found errors: the Admin API's own checks
     * then report every entity's problems in the same answer, and the batch is undone. */
    int rc = 0;
    bool ok = true;
    {
        /* The Admin API's own writes, without a snapshot rebuild after each one. */
        struct tr_admin_env quiet = *env;
        quiet.on_change = NULL;
        quiet.read_only = false;
        l->env = &quiet;
        rc = tr_store_batch_begin(env->store);
        if (rc == 0 && mode == TR_DECLARATIVE_REPLACE)
            rc = tr_store_batch_clear(env->store);
        for (size_t k = 0; rc == 0 && k < tr_decl_kind_count(); k++) {
            for (size_t i = 0; i < l->cnt; i++) {
                if (l->ents[i].kind == tr_decl_kind_at(k))
                    write_entity(l, &l->ents[i]);
            }
        }
        ok = rc == 0 && json_object_size(l->fields) == 0;
        if (ok)
            rc = tr_store_batch_commit(env->store);
        else
            tr_store_batch_rollback(env->store);
        l->env = env;
    }
    if (rc == 0 && !ok)
        rc = TR_EINVAL;
    if (rc == 0) {
        res->entities = l->cnt;
        res->written = l->written;
        l->written = NULL;
        json_decref(l->fields);
        json_decref(l->flattened);
    } else {
        res->fields = l->fields;
        res->flattened = l->flattened;
    }
    for (size_t i = 0; i < l->cnt; i++)
        json_decref(l->ents[i].body);
    for (size_t i = 0; i < tr_decl_kind_count(); i++) {
        tr_strmap_free(&l->by_id[i]);
        tr_strmap_free(&l->by_key[i]);
    }
    json_decref(l->written);
    free(l->ents);
    free(l);
    return rc;
}

void tr_declarative_result_free(struct tr_declarative_result *res)
{
    json_decref(res->fields);
    json_decref(res->flattened);
    json_decref(res->written);
    res->fields = res->flattened = res->written = NULL;
}
