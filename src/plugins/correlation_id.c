/* SPDX-License-Identifier: MIT */
/* correlation-id (Kong 3.x): give every request an id in a header (Kong-Request-ID by default)
 * that the upstream receives, unless the client sent a non-empty one, and with echo_downstream
 * send it back to the client too, torii's own answers (a plugin's, a 502) included. Generators:
 *   uuid          a random UUID per request
 *   uuid#counter  one random UUID per worker thread, then "#" and that worker's count (1, 2, ...)
 *   tracker       <local address>-<local port>-<pid>-<connection serial>-<requests on the
 *                 connection>-<seconds.milliseconds>, nginx's variables as Kong uses them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/uuid.h"
#include "plugins/plugin.h"
#include "schema/schema.h"

enum generator { GEN_UUID, GEN_UUID_COUNTER, GEN_TRACKER };

struct correlation_conf {
    char *header_name; /* owned */
    char *generator;   /* owned */
    bool echo;
    enum generator gen;
};

/* What uuid#counter keeps per worker thread (tr_ctx_worker_slot). */
struct worker_ids {
    char uuid[TR_UUID_LEN + 1];
    uint64_t counter;
};

/* The id of this request, once known (set in access, read in header_filter). */
struct correlation_state {
    const char *id; /* arena */
};

static const char *const generators[] = {"uuid", "uuid#counter", "tracker", NULL};

static const struct tr_schema_field conf_fields[] = {
    {.name = "header_name",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED,
     .dflt = "\"Kong-Request-ID\"",
     .check = tr_schema_check_header_name, /* it goes into request and response heads */
     .help = "the header that carries the id",
     TR_SCHEMA_BIND(struct correlation_conf, header_name)},
    {.name = "generator",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED,
     .dflt = "\"uuid#counter\"",
     .one_of = generators,
     .help = "uuid, uuid#counter or tracker",
     TR_SCHEMA_BIND(struct correlation_conf, generator)},
    {.name = "echo_downstream",
     .type = TR_SCHEMA_BOOLEAN,
     .flags = TR_SCHEMA_REQUIRED,
     .dflt = "false",
     .help = "send the id back to the client too",
     TR_SCHEMA_BIND(struct correlation_conf, echo)},
};

static const struct tr_schema conf_schema = {
    .name = "correlation-id",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
};

static void conf_free(void *p)
{
    tr_schema_free_struct(&conf_schema, p);
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    struct correlation_conf *c = tr_schema_parse_new(&conf_schema, config, sizeof(*c));
    if (c->header_name == NULL || c->header_name[0] == '\0' || c->generator == NULL) {
        snprintf(err, err_len, "header_name and generator are required");
        conf_free(c);
        return NULL;
    }
    c->gen = strcmp(c->generator, "uuid") == 0           ? GEN_UUID
             : strcmp(c->generator, "uuid#counter") == 0 ? GEN_UUID_COUNTER
                                                         : GEN_TRACKER;
    return c;
}

/* A new id into the request's arena. */
static const char *generate(struct tr_ctx *ctx, const struct correlation_conf *c)
{
    char *out;
    if (c->gen == GEN_UUID) {
        out = tr_ctx_alloc(ctx, TR_UUID_LEN + 1);
        if (tr_uuid_v4(out) != 0)
            return NULL;
        return out;
    }
    if (c->gen == GEN_UUID_COUNTER) {
        void **slot = tr_ctx_worker_slot(ctx);
        struct worker_ids *w = *slot;
        if (w == NULL) {
            w = tr_xcalloc(1, sizeof(*w));
            if (tr_uuid_v4(w->uuid) != 0) {
                free(w);
                return NULL;
            }
            *slot = w;
        }
        out = tr_ctx_alloc(ctx, TR_UUID_LEN + 24);
        snprintf(out, TR_UUID_LEN + 24, "%s#%" PRIu64, w->uuid, ++w->counter);
        return out;
    }
    struct tr_ctx_connection conn;
    tr_ctx_connection(ctx, &conn);
    uint64_t now = tr_clock_wall_ms();
    size_t len = strlen(conn.local_ip) + 96;
    out = tr_ctx_alloc(ctx, len);
    snprintf(out, len, "%s-%u-%ld-%" PRIu64 "-%u-%" PRIu64 ".%03u", conn.local_ip,
             (unsigned)conn.local_port, (long)getpid(), conn.serial, conn.requests, now / 1000,
             (unsigned)(now % 1000));
    return out;
}

/* The client's id: the header's value unless it is empty or blank (Kong takes nginx's value,
 * trimmed). */
static bool client_id(const struct tr_ctx *ctx, const struct correlation_conf *c,
                      struct tr_str *out)
{
    struct tr_str v;
    if (!tr_ctx_header(ctx, tr_str_from_cstr(c->header_name), &v))
        return false;
    *out = tr_str_trim(v);
    return out->len > 0;
}

static const char *arena_copy(struct tr_ctx *ctx, struct tr_str s)
{
    char *p = tr_ctx_alloc(ctx, s.len + 1);
    memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return p;
}

static int correlation_access(struct tr_ctx *ctx, const void *p)
{
    const struct correlation_conf *c = p;
    struct correlation_state *st = tr_ctx_state(ctx);
    struct tr_str have;
    if (client_id(ctx, c, &have)) {
        st->id = arena_copy(ctx, have);
    } else {
        st->id = generate(ctx, c);
        if (st->id != NULL)
            tr_ctx_set_header(ctx, tr_str_from_cstr(c->header_name), tr_str_from_cstr(st->id));
    }
    /* Kong's kong.log.set_serialize_value("correlation_id", id): the logging plugins' field */
    if (st->id != NULL)
        tr_ctx_set_serialize_value(ctx, "correlation_id", json_string(st->id));
    return TR_PLUGIN_NEXT;
}

static void correlation_header_filter(struct tr_ctx *ctx, const void *p)
{
    const struct correlation_conf *c = p;
    if (!c->echo)
        return;
    struct correlation_state *st = tr_ctx_state(ctx);
    const char *id = st != NULL ? st->id : NULL;
    struct tr_str have;
    if (id == NULL && client_id(ctx, c, &have))
        id = arena_copy(ctx, have);
    if (id == NULL)
        id = generate(ctx, c); /* access did not run (a plugin before it answered) */
    if (id != NULL)
        tr_ctx_add_response_header(ctx, tr_str_from_cstr(c->header_name), tr_str_from_cstr(id));
}

static void worker_free(void *slot)
{
    free(slot);
}

/* Priority 100001 as Kong: before every other plugin, so the id exists for all of them. */
const struct tr_plugin tr_plugin_correlation_id = {
    .name = "correlation-id",
    .version = "1.0.0",
    .priority = 100001,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .access = correlation_access,
    .header_filter = correlation_header_filter,
    .state_size = sizeof(struct correlation_state),
    .worker_free = worker_free,
};
