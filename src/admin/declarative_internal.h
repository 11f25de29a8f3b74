/* SPDX-License-Identifier: MIT */
/* Shared by the declarative_*.c files only. */
#ifndef TR_ADMIN_DECLARATIVE_INTERNAL_H
#define TR_ADMIN_DECLARATIVE_INTERNAL_H

#include <jansson.h>

#include "admin/declarative.h"
#include "admin/declarative_kinds.h"

/* Where an entity sits in the file: services[2].routes[0] is {"services",2},{"routes",0}. */
#define TR_DECL_MAX_DEPTH 4
struct tr_decl_path {
    const char *key[TR_DECL_MAX_DEPTH];
    long index[TR_DECL_MAX_DEPTH];
    size_t depth;
};

/* Put value (stolen) into the fields tree root at path; at, when not NULL, names the last
 * slot instead of its position (Kong files reference errors under the entity's name). What is
 * there already is merged with value. */
void tr__decl_err_put(json_t *root, const struct tr_decl_path *p, const char *at, json_t *value);
/* A top-level error: root[key] = value (stolen). */
void tr__decl_err_top(json_t *root, const char *key, json_t *value);

/* One flattened_errors item for an entity of entity_type written as input, with its errors
 * (the fields object or message the entity got), id when it has a valid one. New. */
json_t *tr__decl_flat_item(const char *entity_type, const json_t *input, const char *id,
                           const json_t *errs);

#endif
