/* SPDX-License-Identifier: MIT */
/* The plugins entity (Kong 0.7 with 0.9's optional api_id): which plugin, where it applies
 * (an api, a consumer, both, or everywhere; or a Kong 3 service or route), its config, and
 * whether it is on. */
#include "schema/entities.h"

#include "core/mem.h"

static const struct tr_schema_field fields[] = {
    TR_SCHEMA_FIELD_ID,
    TR_SCHEMA_FIELD_CREATED_AT,
    TR_SCHEMA_FIELD_TAGS,
    {.name = "name",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_IMMUTABLE,
     .help = "plugin name, e.g. key-auth"},
    {.name = "api_id",
     .type = TR_SCHEMA_UUID,
     .help = "api the plugin applies to; absent = every api (global)"},
    {.name = "consumer_id",
     .type = TR_SCHEMA_UUID,
     .help = "consumer the plugin applies to; absent = every consumer"},
    {.name = "service_id",
     .type = TR_SCHEMA_UUID,
     .help = "Kong 3 service the plugin applies to (shown as service.id)"},
    {.name = "route_id",
     .type = TR_SCHEMA_UUID,
     .help = "Kong 3 route the plugin applies to (shown as route.id)"},
    {.name = "config",
     .type = TR_SCHEMA_RECORD,
     .help = "the plugin's settings, checked against /plugins/schema/{name}"},
    {.name = "enabled",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "true",
     .help = "false keeps the plugin stored but not run"},
};

const struct tr_schema tr_schema_plugins = {
    .name = "plugins",
    .fields = fields,
    .cnt = TR_ARRAY_SIZE(fields),
};
