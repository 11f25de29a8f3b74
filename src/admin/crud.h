/* SPDX-License-Identifier: MIT */
/* What admin handlers share: the per-request context, the endpoint row format, and the
 * generic list/create/upsert/get/patch/delete helpers with Kong 0.7's status codes and bodies.
 * Entity files (apis.c, consumers.c, ...) are thin: a descriptor plus endpoint rows. */
#ifndef TR_ADMIN_CRUD_H
#define TR_ADMIN_CRUD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "admin/admin.h"
#include "core/str.h"
#include "schema/schema.h"

#define TR_ADMIN_MAX_PARAMS 4

/* One admin request in flight. Built by tr_admin_handle; handlers fill res through the
 * tr_admin_reply* helpers. */
struct tr_admin_ctx {
    struct tr_admin_env *env;           /* borrowed */
    const struct tr_admin_request *req; /* borrowed */
    struct tr_admin_response *res;      /* borrowed; its body becomes the caller's */
    json_t *query;                      /* owned by tr_admin_handle: decoded query string */
    json_t *body;                       /* owned by tr_admin_handle: decoded body or {} */
    /* Path parameters ({name} segments of the template), percent-decoded, NUL-terminated;
     * owned by tr_admin_handle. */
    char *params[TR_ADMIN_MAX_PARAMS];
    size_t param_cnt;
    const struct tr_admin_endpoint *endpoint; /* the row that matched the path */
};

typedef void (*tr_admin_handler_fn)(struct tr_admin_ctx *ctx);

/* One path of the Admin API, with a handler per method (NULL: 405 for that method). HEAD is
 * served by the GET handler. Templates are absolute, literal segments and {param} segments;
 * a trailing slash on the request is always optional. */
struct tr_admin_endpoint {
    const char *path;
    tr_admin_handler_fn get, post, put, patch, del;
    const char *help; /* one line, for docs */
    /* The handler reads a body the decoder refuses (YAML) from the request itself: such a
     * body reaches it as {} instead of a 415. */
    bool raw_body;
    /* Its writes change the node's state, not the configuration: open in DB-less mode. */
    bool node_state;
};

/* How the generic helpers reach one entity kind. */
struct tr_admin_entity {
    const char *store_name;         /* store entity, e.g. "apis" */
    const struct tr_schema *schema; /* field table (also the list filters) */
    const char *name_field;         /* looked up when a path segment is not a UUID */
    /* Optional extra rule needing the node's settings, run on the validated doc before any
     * write; returns NULL or a new field -> message object (answered 400). */
    json_t *(*before_write)(struct tr_admin_ctx *ctx, const json_t *doc);
    /* Optional: replaces tr_schema_validate(schema, ...) when the rules depend on the request
     * (a plugin's config schema chosen by its name, a credential's before_store hook). Same
     * contract as tr_schema_validate (0 and a new *out, or TR_EINVAL and a new *errors). */
    int (*validate)(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e,
                    enum tr_schema_mode mode, const json_t *input, const json_t *existing,
                    json_t **out, json_t **errors);
    /* Optional: the 409 body for a unique conflict on field (new object); NULL gives
     * {"<f>":"<f> already exists with value '<v>'"}. */
    json_t *(*conflict_body)(const char *field, const json_t *doc);
    /* Fields removed from every answer (GET, lists, POST/PUT/PATCH results) and refused as
     * list filters; NULL-terminated, or NULL. */
    const char *const *hidden_fields;
    const void *ud; /* for the hooks (e.g. the credential kind) */
};

/* Remove e's hidden fields from doc (an entity object; anything else is left alone). */
void tr_admin_crud_hide(const struct tr_admin_entity *e, json_t *doc);

/* Answer with status and body (the reference is stolen; NULL means no body). */
void tr_admin_reply(struct tr_admin_ctx *ctx, int status, json_t *body);
/* Answer the condition err (a TR_E* value) as the error table says: its status and
 * {"message": <its message>}. Every failure the Admin API answers from a fixed condition goes
 * through here, so the status and the text come from core/err.h only. */
void tr_admin_reply_error(struct tr_admin_ctx *ctx, int err);
/* Answer {"message": msg} with err's status: for a condition whose answer says more than the
 * table's message (which part of a body did not decode, which plugin name is unknown). */
void tr_admin_reply_detail(struct tr_admin_ctx *ctx, int err, const char *msg);
/* Answer a store failure rc: TR_ENOTFOUND as such, TR_EDB as TR_EDBUNAVAIL (503) when the
 * database does not answer a ping, anything else TR_EINTERNAL (500). */
void tr_admin_reply_store_error(struct tr_admin_ctx *ctx, int rc);

/* Find an entity by a path segment: by id when key has the UUID shape (falling back to
 * name_field when no such id exists), else by name_field. Returns 0 with a new reference in
 * *out, TR_ENOTFOUND, or TR_EDB. */
int tr_admin_crud_find(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e, const char *key,
                       json_t **out);

/* GET collection: {"data":[...],"total":N[,"next":URL]}. Query args: size (1..1000, default
 * 100), offset (token from a previous "next"), and equality filters on scalar schema fields
 * (coerced to the field's type); any other argument is 400 "<f> is an unknown field".
 * fixed (may be NULL, borrowed) adds filters imposed by the path (e.g. api_id). */
void tr_admin_crud_list(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e,
                        const json_t *fixed);

/* POST collection: validate ctx->body (with fixed fields, borrowed, overriding it) as an
 * insert; 201 with the stored entity, 400 errors, 409 on a unique conflict. */
void tr_admin_crud_create(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e,
                          const json_t *fixed);

/* PUT collection: with an "id" naming an existing entity, a full replace (200); otherwise an
 * insert (201), keeping a given id. */
void tr_admin_crud_upsert(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e,
                          const json_t *fixed);

/* GET / PATCH / DELETE one entity named by key (name or id): 200, 200 (merged update) and
 * 204, or 404 {"message":"Not found"}. */
void tr_admin_crud_get(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e, const char *key);
void tr_admin_crud_patch(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e, const char *key,
                         const json_t *fixed);
void tr_admin_crud_delete(struct tr_admin_ctx *ctx, const struct tr_admin_entity *e,
                          const char *key);

/* Security profile P11: is host:port (host lower-case, without brackets) the Admin API
 * itself or a link-local address, and allow_internal_upstreams off? (admin/apis.c; /apis and
 * Kong 3 services refuse such upstreams.) */
bool tr__admin_internal_target(struct tr_admin_ctx *ctx, const char *host, unsigned port);

/* GET /metrics: kong_upstream_target_health of every target of every upstream (upstreams.c). */
struct tr_metrics_out;
void tr__admin_upstream_health_metrics(struct tr_admin_ctx *ctx, struct tr_metrics_out *out);

/* Endpoint rows of each entity file (routes.c concatenates them). */
extern const struct tr_admin_endpoint tr_admin_config_endpoints[];
extern const size_t tr_admin_config_endpoints_cnt;
extern const struct tr_admin_endpoint tr_admin_node_endpoints[];
extern const size_t tr_admin_node_endpoints_cnt;
extern const struct tr_admin_endpoint tr_admin_metrics_endpoints[];
extern const size_t tr_admin_metrics_endpoints_cnt;
extern const struct tr_admin_endpoint tr_admin_apis_endpoints[];
extern const size_t tr_admin_apis_endpoints_cnt;
extern const struct tr_admin_endpoint tr_admin_consumers_endpoints[];
extern const size_t tr_admin_consumers_endpoints_cnt;
extern const struct tr_admin_endpoint tr_admin_plugins_endpoints[];
extern const size_t tr_admin_plugins_endpoints_cnt;
extern const struct tr_admin_endpoint tr_admin_credentials_endpoints[];
extern const size_t tr_admin_credentials_endpoints_cnt;
extern const struct tr_admin_endpoint tr_admin_oauth2_tokens_endpoints[];
extern const size_t tr_admin_oauth2_tokens_endpoints_cnt;
extern const struct tr_admin_endpoint tr_admin_certificates_endpoints[];
extern const size_t tr_admin_certificates_endpoints_cnt;

#endif
