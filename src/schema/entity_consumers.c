/* SPDX-License-Identifier: MIT */
/* The consumers entity (Kong 0.7): a username and/or a custom_id, both unique. A consumer has
 * no behaviour of its own; credentials and plugins point at it. */
#include "schema/entities.h"

#include <stdio.h>

#include "core/err.h"
#include "core/mem.h"

static int self_check(json_t *rec, enum tr_schema_mode mode, char *msg, size_t msg_len)
{
    if (json_object_get(rec, "username") == NULL && json_object_get(rec, "custom_id") == NULL) {
        snprintf(msg, msg_len, "At least a 'custom_id' or a 'username' must be specified");
        return TR_EINVAL;
    }
    return 0;
}

static const struct tr_schema_field fields[] = {
    TR_SCHEMA_FIELD_ID,
    TR_SCHEMA_FIELD_CREATED_AT,
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
    .self_check = self_check,
};
