/* SPDX-License-Identifier: MIT */
/* Generic handlers for Kong 3.x entities (services, routes, upstreams, targets):
 * Kong 3's verbs and bodies (kong/api/endpoints.lua) over the store. GET lists answer
 * {"data":[...],"next":"/x?offset=..."|null[,"offset":"..."]} with ?size (1..1000, default 100),
 * ?offset and ?tags=a,b (all of) or ?tags=a/b (any of); POST creates (201); GET, PATCH (200),
 * PUT (upsert by id or name, 200) and DELETE (204, also when nothing was there) take an id or
 * the entity's name. Errors are Kong 3's (admin/errors3.h). Unknown query arguments are
 * ignored, as Kong 3 ignores them. */
#ifndef TR_ADMIN_CRUD3_H
#define TR_ADMIN_CRUD3_H

#include <jansson.h>

#include "admin/crud.h"
#include "schema/schema.h"

#define TR_ADMIN3_MAX_FKS 2

/* A foreign key as the Admin API shows it ({"service":{"id":...}}) and as the store keeps it
 * (the "service_id" column). */
struct tr_admin3_fk {
    const char *field;      /* Kong's field, e.g. "service" */
    const char *column;     /* stored field and mirror column, e.g. "service_id" */
    const char *parent;     /* parent kind, e.g. "services" */
    const char *parent_key; /* the parent's endpoint key ("name"), or NULL */
};

struct tr_admin3_entity {
    const char *store_name; /* e.g. "services" */
    const char *name_field; /* endpoint key, e.g. "name" */
    /* The kind that refuses this one's deletion while it refers to it ("routes"), or NULL. */
    const char *referenced_by;
    /* schema/kong3.h's validator of the kind. */
    int (*validate)(enum tr_schema_mode mode, const json_t *input, const json_t *existing,
                    long long now, json_t **out, json_t **fields);
    struct tr_admin3_fk fks[TR_ADMIN3_MAX_FKS];
    /* Optional rule needing the node's settings, run on the validated doc (stored shape):
     * NULL, or a new Kong 3 fields object (answered as a schema violation). */
    json_t *(*before_write)(struct tr_admin_ctx *ctx, const json_t *doc);
    /* Optional: adjust an answer's object made from a stored doc (targets show their
     * millisecond timestamps as seconds). */
    void (*shape)(json_t *out);
};

/* The answer's shape of a stored doc (new object): foreign key columns as {"id":...}|null. */
json_t *tr_admin3_output(const struct tr_admin3_entity *e, const json_t *doc);

/* Find by a path segment: by id when it has the UUID shape, else by the endpoint key. Returns
 * 0 and a new reference, TR_ENOTFOUND or TR_EDB. */
int tr_admin3_find(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e, const char *key,
                   json_t **out);

/* The handlers. fixed (borrowed, may be NULL): for lists, equality filters on stored fields
 * imposed by the path ({"service_id": ...}); for writes, input fields imposed by the path
 * ({"service":{"id":...}}). must_match (may be NULL): for item handlers under a parent path, a
 * stored field and value the entity must have, else 404. */
void tr_admin3_list(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e,
                    const json_t *fixed);
void tr_admin3_create(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e,
                      const json_t *fixed);
void tr_admin3_get(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e, const char *key,
                   const json_t *must_match);
void tr_admin3_patch(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e, const char *key,
                     const json_t *fixed, const json_t *must_match);
void tr_admin3_upsert(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e, const char *key,
                      const json_t *fixed, const json_t *must_match);
void tr_admin3_delete(struct tr_admin_ctx *ctx, const struct tr_admin3_entity *e, const char *key,
                      const json_t *must_match);

/* Does doc's "tags" hold all (and_cond) or any of tags (an array of strings)? */
bool tr_admin3_tags_match(const json_t *doc, const json_t *tags, bool and_cond);

/* Parse ?tags=: 0 with a new array and *and_cond, or -1 after answering 400. No ?tags: 0 with
 * *tags NULL. */
int tr_admin3_parse_tags(struct tr_admin_ctx *ctx, json_t **tags, bool *and_cond);

/* Parse ?size=: 0 (size set, default 100) or -1 after answering 400. */
int tr_admin3_parse_size(struct tr_admin_ctx *ctx, size_t *size);

/* Endpoint rows. */
extern const struct tr_admin_endpoint tr_admin_services_endpoints[];
extern const size_t tr_admin_services_endpoints_cnt;
extern const struct tr_admin_endpoint tr_admin_tags_endpoints[];
extern const size_t tr_admin_tags_endpoints_cnt;
extern const struct tr_admin_endpoint tr_admin_upstreams_endpoints[];
extern const size_t tr_admin_upstreams_endpoints_cnt;

/* This node's id, as GET / and /upstreams/{u}/health show: the one set (server/node_id.h:
 * kept under the prefix), else a UUID made once per process. */
const char *tr_admin_node_id(void);

#endif
