/* SPDX-License-Identifier: MIT */
/* The declarative kinds table (declarative_kinds.h). */
#include "admin/declarative_kinds.h"

#include <string.h>

#include "core/mem.h"

#define CONSUMER_FK                                                                                \
    {                                                                                              \
        "consumer", "consumers", "consumer_id"                                                     \
    }

static const struct tr_decl_kind kinds[] = {
    {.name = "certificates",
     .singular = "certificate",
     .random_id = true,
     .children = {"snis"},
     .collection = "/certificates"},
    {.name = "snis",
     .singular = "sni",
     .endpoint_key = "name",
     .fks = {{"certificate", "certificates", "certificate_id"}},
     .collection = "/snis"},
    {.name = "services",
     .singular = "service",
     .endpoint_key = "name",
     .fks = {{"client_certificate", "certificates", "client_certificate_id"}},
     .children = {"routes", "plugins"},
     .collection = "/services"},
    {.name = "routes",
     .singular = "route",
     .endpoint_key = "name",
     .fks = {{"service", "services", "service_id"}},
     .children = {"plugins"},
     .collection = "/routes"},
    {.name = "upstreams",
     .singular = "upstream",
     .endpoint_key = "name",
     .fks = {{"client_certificate", "certificates", "client_certificate_id"}},
     .children = {"targets"},
     .collection = "/upstreams"},
    {.name = "targets",
     .singular = "target",
     .cache_key = {"upstream", "target"},
     .fks = {{"upstream", "upstreams", "upstream_id"}}},
    {.name = "consumers",
     .singular = "consumer",
     .endpoint_key = "username",
     .children = {"plugins", "keyauth_credentials", "basicauth_credentials", "acls",
                  "oauth2_credentials", "jwt_secrets", "hmacauth_credentials"},
     .collection = "/consumers"},
    {.name = "keyauth_credentials",
     .singular = "keyauth_credential",
     .random_id = true,
     .fks = {CONSUMER_FK}},
    {.name = "basicauth_credentials",
     .singular = "basicauth_credential",
     .cache_key = {"username"},
     .fks = {CONSUMER_FK}},
    {.name = "acls", .singular = "acl", .cache_key = {"consumer", "group"}, .fks = {CONSUMER_FK}},
    {.name = "oauth2_credentials",
     .singular = "oauth2_credential",
     .random_id = true,
     .fks = {CONSUMER_FK}},
    {.name = "jwt_secrets", .singular = "jwt_secret", .cache_key = {"key"}, .fks = {CONSUMER_FK}},
    {.name = "hmacauth_credentials",
     .singular = "hmacauth_credential",
     .cache_key = {"username"},
     .fks = {CONSUMER_FK}},
    /* torii's extension: Kong 0.7's apis, so the walkthrough's configuration fits a file */
    {.name = "apis",
     .singular = "api",
     .endpoint_key = "name",
     .children = {"plugins"},
     .collection = "/apis"},
    {.name = "plugins",
     .singular = "plugin",
     .cache_key = {"name", "route", "service", "consumer"},
     .fks = {{"service", "services", "service_id"},
             {"route", "routes", "route_id"},
             CONSUMER_FK,
             {"api", "apis", "api_id"}},
     .collection = "/plugins"},
};

_Static_assert(TR_ARRAY_SIZE(kinds) <= TR_DECL_MAX_KINDS, "raise TR_DECL_MAX_KINDS");

size_t tr_decl_kind_count(void)
{
    return TR_ARRAY_SIZE(kinds);
}

const struct tr_decl_kind *tr_decl_kind_at(size_t i)
{
    return i < TR_ARRAY_SIZE(kinds) ? &kinds[i] : NULL;
}

const struct tr_decl_kind *tr_decl_kind_find(const char *name)
{
    for (size_t i = 0; i < TR_ARRAY_SIZE(kinds); i++) {
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    }
    return NULL;
}

const struct tr_decl_fk *tr_decl_kind_parent_fk(const struct tr_decl_kind *kind, const char *parent)
{
    for (size_t i = 0; i < TR_DECL_MAX_FKS && kind->fks[i].field; i++) {
        if (strcmp(kind->fks[i].parent, parent) == 0)
            return &kind->fks[i];
    }
    return NULL;
}
