/* SPDX-License-Identifier: MIT */
/* The consumers entity (Kong 0.7): a username and/or a custom_id, both unique. A consumer has
 * no behaviour of its own; credentials and plugins point at it. */
#include "schema/entities.h"

#include <stdio.h>

#include "core/err.h"
#include "core/mem.h"

/* Kong 0.7 answered this rule under each of the two fields, beside any other error. */
static json_t *entity_check(const json_t *rec, const json_t *input, enum tr_schema_mode mode)
{
    static const char *const fields[] = {"username", "custom_id", NULL};
    return tr_schema_at_least_one(rec, input, mode, fields,
                                  "At least a 'custom_id' or a 'username' must be specified");
}

static const struct tr_schema_field fields[] = {
    TR_SCHEMA_FIELD_ID,
    TR_SCHEMA_FIELD_CREATED_AT,
    TR_SCHEMA_FIELD_TAGS,
    {.name = "username",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_UNIQUE,
     .help = "unique user name"},
    {.name = "custom_id",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_UNIQUE,
     .help = "unique id from another system"},
};

const struct tr_schema tr_schema_consumers = {
    .name = "consumers",
    .fields = fields,
    .cnt = TR_ARRAY_SIZE(fields),
    .entity_check = entity_check,
};
