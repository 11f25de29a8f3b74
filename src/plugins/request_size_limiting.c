/* SPDX-License-Identifier: MIT */
/* request-size-limiting: refuse request bodies over allowed_payload_size (413) before a body
 * byte goes upstream when Content-Length says so, and as soon as a chunked body grows past the
 * limit otherwise (enforced by the proxy through tr_ctx_set_body_limit); 411 when a
 * Content-Length is required and missing. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/err.h"
#include "plugins/plugin.h"
#include "plugins/traffic.h"
#include "schema/schema.h"

#define TOO_LARGE "Request size limit exceeded"
#define NEED_LENGTH "A valid Content-Length header is required"

struct size_conf {
    int64_t size;                /* bound: allowed_payload_size */
    char *size_unit;             /* owned, bound */
    uint64_t limit;              /* bytes: derived from both */
    bool require_content_length; /* bound */
};

static const char *const units[] = {"megabytes", "kilobytes", "bytes", NULL};

int tr_size_limit_bytes(uint64_t size, const char *unit, uint64_t *out)
{
    uint64_t mult;
    if (unit == NULL || strcmp(unit, "megabytes") == 0)
        mult = 1ull << 20;
    else if (strcmp(unit, "kilobytes") == 0)
        mult = 1ull << 10;
    else if (strcmp(unit, "bytes") == 0)
        mult = 1;
    else
        return TR_EINVAL;
    if (size > (1ull << 62) / mult)
        return TR_EINVAL;
    *out = size * mult;
    return 0;
}

static const struct tr_schema_field conf_fields[] = {
    {.name = "allowed_payload_size",
     .type = TR_SCHEMA_INTEGER,
     .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_BOUNDED,
     .dflt = "128",
     .min = 0,
     .max = (int64_t)1 << 40,
     .help = "largest request body allowed, in size_unit",
     TR_SCHEMA_BIND(struct size_conf, size)},
    {.name = "size_unit",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED,
     .dflt = "\"megabytes\"",
     .one_of = units,
     .help = "unit of allowed_payload_size (megabytes = 2^20 bytes, kilobytes = 2^10)",
     TR_SCHEMA_BIND(struct size_conf, size_unit)},
    {.name = "require_content_length",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "false",
     .help = "answer 411 to requests without Content-Length",
     TR_SCHEMA_BIND(struct size_conf, require_content_length)},
};

static const struct tr_schema conf_schema = {
    .name = "request-size-limiting",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
};

static void conf_free(void *p)
{
    tr_schema_free_struct(&conf_schema, p);
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    struct size_conf *c = tr_schema_parse_new(&conf_schema, config, sizeof(*c));
    if (c->size < 0 || tr_size_limit_bytes((uint64_t)c->size, c->size_unit, &c->limit) != 0) {
        snprintf(err, err_len, "bad allowed_payload_size or size_unit");
        conf_free(c);
        return NULL;
    }
    return c;
}

static int size_access(struct tr_ctx *ctx, const void *p)
{
    const struct size_conf *c = p;
    struct tr_str cl;
    if (tr_ctx_header(ctx, TR_STR_LIT("Content-Length"), &cl)) {
        /* The parser already refused a bad or repeated Content-Length (P1). */
        uint64_t len = 0;
        if (tr_str_to_u64(tr_str_trim(cl), UINT64_MAX, &len) != 0 || len > c->limit) {
            /* No 100 Continue is sent for this request: the answer comes first (E-04). */
            tr_ctx_respond_message(ctx, 413, TOO_LARGE);
            return TR_PLUGIN_EXIT;
        }
        return TR_PLUGIN_NEXT;
    }
    if (c->require_content_length) {
        tr_ctx_respond_message(ctx, 411, NEED_LENGTH);
        return TR_PLUGIN_EXIT;
    }
    /* A chunked body (or none): the proxy counts the bytes as they are relayed. */
    tr_ctx_set_body_limit(ctx, c->limit);
    return TR_PLUGIN_NEXT;
}

const struct tr_plugin tr_plugin_request_size_limiting = {
    .name = "request-size-limiting",
    .version = "1.0.0",
    .priority = 951,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .access = size_access,
};
