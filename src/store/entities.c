/* SPDX-License-Identifier: MIT */
/* The entity kinds (one row each) and their lookup. Adding a kind is one row here, its name in
 * kind_names, and one migration creating its table in migrations.c. */
#include "store/entities.h"

#include <string.h>

#include "core/mem.h"
#include "store/store.h"

/* Order matters only for /status output; a parent need not come before its children. */
static const struct tr_store_kind kinds[] = {
    {
        .name = "apis",
        .unique = {"name", "request_host", "request_path"},
    },
    {
        .name = "consumers",
        .unique = {"username", "custom_id"},
    },
    {
        .name = "plugins",
        .fks = {{"api_id", "apis"},
                {"consumer_id", "consumers"},
                {"route_id", "routes"},
                {"service_id", "services"}},
        /* Kong 3's (name, route, service, consumer), with 0.9's api beside them. */
        .composite = {"name", "api_id", "consumer_id", "route_id", "service_id"},
        .composite_field = "name",
    },
    {
        .name = "certificates",
    },
    {
        .name = "snis",
        .unique = {"name"},
        .fks = {{"certificate_id", "certificates"}},
    },
    {
        .name = "keyauth_credentials",
        .unique = {"key"},
        .fks = {{"consumer_id", "consumers"}},
    },
    {
        .name = "basicauth_credentials",
        .unique = {"username"},
        .fks = {{"consumer_id", "consumers"}},
    },
    {
        .name = "acls",
        .fks = {{"consumer_id", "consumers"}},
        .composite = {"consumer_id", "group"},
        .composite_field = "group",
    },
    {
        .name = "oauth2_credentials",
        .unique = {"client_id"},
        .fks = {{"consumer_id", "consumers"}},
    },
    {
        .name = "jwt_secrets",
        .unique = {"key"},
        .fks = {{"consumer_id", "consumers"}},
    },
    {
        .name = "hmacauth_credentials",
        .unique = {"username"},
        .fks = {{"consumer_id", "consumers"}},
    },
    /* Kong 3.x: deleting a certificate a service uses, or a service a route uses, is refused. */
    {
        .name = "services",
        .unique = {"name"},
        .fks = {{"client_certificate_id", "certificates", .restrict_delete = true}},
    },
    {
        .name = "routes",
        .unique = {"name"},
        .fks = {{"service_id", "services", .restrict_delete = true}},
    },
    {
        .name = "upstreams",
        .unique = {"name"},
        .fks = {{"client_certificate_id", "certificates", .restrict_delete = true}},
    },
    /* A target is deleted with its upstream; (upstream, target) is unique. */
    {
        .name = "targets",
        .fks = {{"upstream_id", "upstreams"}},
        .composite = {"upstream_id", "target"},
        .composite_field = "target",
    },
};

static const char *const kind_names[] = {"apis",
                                         "consumers",
                                         "plugins",
                                         "certificates",
                                         "snis",
                                         "keyauth_credentials",
                                         "basicauth_credentials",
                                         "acls",
                                         "oauth2_credentials",
                                         "jwt_secrets",
                                         "hmacauth_credentials",
                                         "services",
                                         "routes",
                                         "upstreams",
                                         "targets",
                                         NULL};

_Static_assert(TR_ARRAY_SIZE(kind_names) == TR_ARRAY_SIZE(kinds) + 1,
               "kind_names must list every kind, then NULL");

size_t tr_store_kind_count(void)
{
    return TR_ARRAY_SIZE(kinds);
}

const struct tr_store_kind *tr_store_kind_at(size_t i)
{
    return i < TR_ARRAY_SIZE(kinds) ? &kinds[i] : NULL;
}

size_t tr_store_kinds_parents_first(size_t *order, size_t cap)
{
    size_t n = TR_ARRAY_SIZE(kinds), placed = 0;
    bool done[TR_ARRAY_SIZE(kinds)] = {false};
    for (bool progress = true; placed < n && placed < cap && progress;) {
        progress = false;
        for (size_t i = 0; i < n && placed < cap; i++) {
            bool ready = !done[i];
            for (const struct tr_store_fk *fk = kinds[i].fks; ready && fk->field != NULL; fk++) {
                size_t pi;
                ready = tr_store_kind_find(fk->parent, &pi) == NULL || pi == i || done[pi];
            }
            if (ready) {
                done[i] = progress = true;
                order[placed++] = i;
            }
        }
    }
    return placed;
}

const struct tr_store_kind *tr_store_kind_find(const char *name, size_t *index)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < TR_ARRAY_SIZE(kinds); i++) {
        if (strcmp(kinds[i].name, name) == 0) {
            if (index != NULL)
                *index = i;
            return &kinds[i];
        }
    }
    return NULL;
}

int tr_store_kind_unique_index(const struct tr_store_kind *kind, const char *field)
{
    if (field == NULL)
        return -1;
    for (int i = 0; i < TR_STORE_MAX_UNIQUE && kind->unique[i] != NULL; i++) {
        if (strcmp(kind->unique[i], field) == 0)
            return i;
    }
    return -1;
}

const char *const *tr_store_entities(void)
{
    return kind_names;
}

size_t tr_store_kind_columns(const struct tr_store_kind *kind, const char **names)
{
    size_t n = 0;
    for (size_t i = 0; i < TR_STORE_MAX_UNIQUE && kind->unique[i] != NULL; i++)
        names[n++] = kind->unique[i];
    for (size_t i = 0; i < TR_STORE_MAX_FKS && kind->fks[i].field != NULL; i++) {
        if (tr_store_kind_unique_index(kind, kind->fks[i].field) < 0)
            names[n++] = kind->fks[i].field;
    }
    if (kind->composite[0] != NULL)
        names[n++] = "ukey";
    return n;
}

json_t *tr_store_doc_field(json_t *doc, const char *name)
{
    json_t *v = json_object_get(doc, name);
    return json_is_null(v) ? NULL : v;
}

char *tr_store_composite_key(const struct tr_store_kind *kind, json_t *doc)
{
    if (kind->composite[0] == NULL)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; i < TR_STORE_MAX_COMPOSITE && kind->composite[i] != NULL; i++) {
        json_t *v = tr_store_doc_field(doc, kind->composite[i]);
        json_array_append(arr, v != NULL ? v : json_null());
    }
    char *key = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return key;
}
