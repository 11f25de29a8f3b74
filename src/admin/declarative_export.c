/* SPDX-License-Identifier: MIT */
/* The store as a declarative document (declarative.h: tr_declarative_export). */
#include "admin/declarative_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "plugins/plugin.h"
#include "plugins/registry.h"
#include "store/store.h"

struct rows {
    json_t *list;
};

static int collect(json_t *doc, void *ud)
{
    json_array_append(((struct rows *)ud)->list, doc);
    return 0;
}

static int by_id(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "id")),
                  json_string_value(json_object_get(y, "id")));
}

/* What the Admin API never shows of a row of kind. */
static void drop_secrets(const char *kind, json_t *row)
{
    if (strcmp(kind, "certificates") == 0) {
        json_object_del(row, "key");
        return;
    }
    if (strcmp(kind, "plugins") == 0) {
        const char *name = json_string_value(json_object_get(row, "name"));
        const struct tr_plugin *p = name ? tr_plugin_find(name, NULL) : NULL;
        json_t *config = json_object_get(row, "config");
        for (const char *const *f = p ? p->hidden_config : NULL; f && *f; f++)
            json_object_del(config, *f);
        return;
    }
    const struct tr_plugin_credential *c = tr_plugin_find_credential(kind);
    for (const char *const *f = c ? c->hidden_fields : NULL; f && *f; f++)
        json_object_del(row, *f);
}

/* A stored row as a file writes it: "<field>_id" columns become "<field>": <id>, nulls of a
 * reference vanish; targets' millisecond stamps become seconds, as their answers show them. */
static json_t *file_row(const struct tr_decl_kind *k, json_t *doc)
{
    json_t *row = json_deep_copy(doc);
    for (size_t f = 0; f < TR_DECL_MAX_FKS && k->fks[f].field; f++) {
        json_t *id = json_object_get(row, k->fks[f].column);
        if (id == NULL)
            continue;
        if (json_is_string(id))
            json_object_set(row, k->fks[f].field, id);
        json_object_del(row, k->fks[f].column);
    }
    /* Kong 3's shape of the Kong 0.7-stored kinds: an unset field is there, as null */
    static const char *const nullable[][4] = {
        {"consumers", "username", "custom_id", "tags"}, {"keyauth_credentials", "tags", NULL, NULL},
        {"basicauth_credentials", "tags", NULL, NULL},  {"acls", "tags", NULL, NULL},
        {"certificates", "tags", NULL, NULL},           {"snis", "tags", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(nullable) / sizeof(nullable[0]); i++) {
        if (strcmp(nullable[i][0], k->name) != 0)
            continue;
        for (size_t f = 1; f < 4 && nullable[i][f]; f++) {
            if (json_object_get(row, nullable[i][f]) == NULL)
                json_object_set_new(row, nullable[i][f], json_null());
        }
    }
    if (strcmp(k->name, "targets") == 0) {
        const char *stamps[] = {"created_at", "updated_at"};
        for (size_t i = 0; i < 2; i++) {
            json_t *v = json_object_get(row, stamps[i]);
            if (json_is_integer(v))
                json_object_set_new(row, stamps[i],
                                    json_real((double)json_integer_value(v) / 1000.0));
        }
    }
    return row;
}

json_t *tr_declarative_export(struct tr_store *store, bool with_secrets)
{
    json_t *out = json_pack("{s:s,s:b}", "_format_version", "3.0", "_transform", 0);
    for (size_t i = 0; i < tr_decl_kind_count(); i++) {
        const struct tr_decl_kind *k = tr_decl_kind_at(i);
        struct rows r = {.list = json_array()};
        if (tr_store_foreach(store, k->name, collect, &r) != 0) {
            json_decref(r.list);
            json_decref(out);
            return NULL;
        }
        size_t n = json_array_size(r.list);
        if (n == 0) {
            json_decref(r.list);
            continue;
        }
        json_t **items = tr_xmalloc(n * sizeof(*items));
        for (size_t j = 0; j < n; j++)
            items[j] = json_array_get(r.list, j);
        qsort(items, n, sizeof(*items), by_id);
        json_t *list = json_array();
        for (size_t j = 0; j < n; j++) {
            json_t *row = file_row(k, items[j]);
            if (!with_secrets)
                drop_secrets(k->name, row);
            json_array_append_new(list, row);
        }
        free(items);
        json_decref(r.list);
        json_object_set_new(out, k->name, list);
    }
    return out;
}
