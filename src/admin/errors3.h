/* SPDX-License-Identifier: MIT */
/* Kong 3.x error bodies for the Admin API (kong/db/errors.lua): {"code", "name", "message",
 * "fields"} with Kong's codes, names and message wording, and the HTTP status each code maps
 * to. Every Kong 3 endpoint (services, routes, tags; later upstreams, targets, Kong 3 plugins)
 * answers its errors through here; the Kong 0.7 endpoints keep their own bodies (crud.h). */
#ifndef TR_ADMIN_ERRORS3_H
#define TR_ADMIN_ERRORS3_H

#include <jansson.h>

#include "admin/crud.h"

enum tr_admin3_code {
    TR_ADMIN3_INVALID_PRIMARY_KEY = 1,
    TR_ADMIN3_SCHEMA_VIOLATION = 2,
    TR_ADMIN3_PRIMARY_KEY_VIOLATION = 3,
    TR_ADMIN3_FOREIGN_KEY_VIOLATION = 4,
    TR_ADMIN3_UNIQUE_VIOLATION = 5,
    TR_ADMIN3_NOT_FOUND = 6,
    TR_ADMIN3_INVALID_OFFSET = 7,
    TR_ADMIN3_DATABASE_ERROR = 8,
    TR_ADMIN3_INVALID_SIZE = 9,
    TR_ADMIN3_INVALID_UNIQUE_TAG = 10, /* Kong's "invalid unique tag" */
    TR_ADMIN3_INVALID_OPTIONS = 11,
    TR_ADMIN3_OPERATION_UNSUPPORTED = 12, /* an entity write in DB-less mode (405) */
    TR_ADMIN3_FOREIGN_KEYS_UNRESOLVED = 13,
    TR_ADMIN3_DECLARATIVE_CONFIG = 14, /* a declarative configuration that does not load */
};

/* Kong's name of code ("schema violation"), and the status the Admin API answers it with. */
const char *tr_admin3_code_name(enum tr_admin3_code code);
int tr_admin3_code_status(enum tr_admin3_code code);

/* A new error body: {"code":code,"name":...,"message":message[,"fields":fields]}. fields is
 * stolen (may be NULL). */
json_t *tr_admin3_error(enum tr_admin3_code code, const char *message, json_t *fields);

/* Kong's schema-violation message for a fields object: "schema violation (host: required
 * field missing)" or "N schema violations (a: ..; b: ..)", @entity messages first, then the
 * fields in sorted order, nested ones as "paths.2: ..." (list items counted from 1, as Kong's
 * Lua does) or "service.id: ...". Written into buf. */
void tr_admin3_schema_message(const json_t *fields, char *buf, size_t len);

/* Answer (through ctx) the errors of the common cases; each steals nothing it is not told. */
void tr_admin3_reply(struct tr_admin_ctx *ctx, enum tr_admin3_code code, const char *message,
                     json_t *fields);
/* 400 schema violation with fields (stolen). */
void tr_admin3_reply_schema(struct tr_admin_ctx *ctx, json_t *fields);
/* 409 UNIQUE violation detected on '{field="value"}'. */
void tr_admin3_reply_unique(struct tr_admin_ctx *ctx, const char *field, const json_t *value);
/* 400 primary key violation on key '{id="..."}'. */
void tr_admin3_reply_pk_violation(struct tr_admin_ctx *ctx, const char *id);
/* 400 the foreign key '{id="..."}' does not reference an existing '<parent>' entity. */
void tr_admin3_reply_fk_missing(struct tr_admin_ctx *ctx, const char *field, const char *id,
                                const char *parent);
/* 400 an existing '<child>' entity references this '<parent>' entity. */
void tr_admin3_reply_fk_restricted(struct tr_admin_ctx *ctx, const char *parent, const char *child);
/* 400 foreign key unresolved: field.name cannot be resolved with '{name="..."}'. */
void tr_admin3_reply_fk_unresolved(struct tr_admin_ctx *ctx, const char *field, const char *key,
                                   const char *value, const char *parent);
/* 404 {"message":"Not found"}. */
void tr_admin3_reply_not_found(struct tr_admin_ctx *ctx);

/* Lua's pretty-printing of a one-key table as Kong's messages quote it: {name="x"}, {port=80}. */
void tr_admin3_pretty_key(const char *key, const json_t *value, char *buf, size_t len);

#endif
