/* SPDX-License-Identifier: MIT */
/* The entity kinds a declarative file may hold, for the declarative_*.c files only: their
 * endpoint keys, cache keys (Kong's stable-id rules), references, nested children, and how each
 * is written through the Admin API. The table is in write order: a kind comes after every kind
 * it refers to. */
#ifndef TR_ADMIN_DECLARATIVE_KINDS_H
#define TR_ADMIN_DECLARATIVE_KINDS_H

#include <stdbool.h>
#include <stddef.h>

#define TR_DECL_MAX_KINDS 16 /* bounds the loader's per-kind tables */
#define TR_DECL_MAX_FKS 4
#define TR_DECL_MAX_CHILDREN 8

struct tr_decl_fk {
    const char *field;  /* as the file writes it: "service" */
    const char *parent; /* the kind it names: "services" */
    const char *column; /* the stored field: "service_id" */
};

struct tr_decl_kind {
    const char *name;         /* the file's key and the store's kind: "services" */
    const char *singular;     /* flattened errors' entity_type: "service" */
    const char *endpoint_key; /* "name", "username", or NULL */
    /* Kong's cache key fields (stable ids for kinds without an endpoint key), or none. */
    const char *cache_key[5];
    bool random_id; /* no stable id: a fresh one each load (Kong: auto cache keys) */
    struct tr_decl_fk fks[TR_DECL_MAX_FKS];
    const char *children[TR_DECL_MAX_CHILDREN]; /* kinds nested under this one */
    /* The Admin API collection that creates this kind ("/services"); a credential's and a
     * target's sit under their parent and are made by the writer. */
    const char *collection;
};

size_t tr_decl_kind_count(void);
const struct tr_decl_kind *tr_decl_kind_at(size_t i);
const struct tr_decl_kind *tr_decl_kind_find(const char *name);
/* The fk of kind that a child nested under parent gets set to the parent's id, or NULL. */
const struct tr_decl_fk *tr_decl_kind_parent_fk(const struct tr_decl_kind *kind,
                                                const char *parent);

#endif
