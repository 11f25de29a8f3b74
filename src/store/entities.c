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
