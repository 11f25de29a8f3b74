/* SPDX-License-Identifier: MIT */
/* The table of entity kinds the store knows: for each kind its table name, unique fields,
 * foreign keys and composite unique key. Backends build their SQL from it; the schema itself
 * (CREATE TABLE ...) lives in the backend's migrations, which must agree with this table. */
#ifndef TR_STORE_ENTITIES_H
#define TR_STORE_ENTITIES_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define TR_STORE_MAX_UNIQUE 4    /* unique fields per kind */
#define TR_STORE_MAX_FKS 4       /* foreign keys per kind */
#define TR_STORE_MAX_COMPOSITE 5 /* fields in the composite unique key */

/* A foreign key: the doc's top-level field holds the "id" of a row of parent; deleting the
 * parent deletes the child (ON DELETE CASCADE), or, for a restricting key, is refused while a
 * child refers to it (Kong 3: a service with routes; tr_store_delete answers TR_ECONFLICT). An
 * absent or null field means no parent. */
struct tr_store_fk {
    const char *field;  /* e.g. "api_id"; also the name of the mirror column */
    const char *parent; /* parent kind, e.g. "apis" */
    bool restrict_delete;
};

/* One entity kind. Every name here is a static string of [a-z0-9_] and doubles as an SQL
 * identifier, so values never reach SQL text. Arrays end at the first NULL (unused slots are
 * zero). A field may not be named seq, id, created_at, doc or ukey (the fixed columns). */
struct tr_store_kind {
    const char *name; /* entity and table name, e.g. "apis" */
    /* Fields unique on their own; an absent (or null) value never collides with another. */
    const char *unique[TR_STORE_MAX_UNIQUE + 1];
    struct tr_store_fk fks[TR_STORE_MAX_FKS + 1];
    /* Fields of one composite unique key, or none. Absent values count as equal to each
     * other here (Kong: (name, api_id, consumer_id) of plugins). Stored as the "ukey" column. */
    const char *composite[TR_STORE_MAX_COMPOSITE + 1];
    const char *composite_field; /* the field a composite conflict is reported on */
};

/* Number of kinds, and kind i (0 <= i < count), in the order of tr_store_entities(). */
size_t tr_store_kind_count(void);
const struct tr_store_kind *tr_store_kind_at(size_t i);

/* Kind indexes with parents first: a kind comes once every kind its foreign keys name has
 * come (a loaded copy inserts in this order, store/copy.c). Fills at most cap and returns the
 * count (every kind: the table has no cycle). */
size_t tr_store_kinds_parents_first(size_t *order, size_t cap);

/* The kind named name, or NULL when unknown (name may be NULL). Sets *index when index is
 * not NULL and the kind is found. */
const struct tr_store_kind *tr_store_kind_find(const char *name, size_t *index);

/* Index of field among kind's unique fields, or -1 when it is not one ("id" is not): an index,
 * not a TR_E* code. */
int tr_store_kind_unique_index(const struct tr_store_kind *kind, const char *field);

/* The mirror columns every backend's table of kind has besides id, created_at and doc, in the
 * order backends bind them: unique fields, then foreign keys not already listed, then "ukey"
 * for a composite key. Fills names (room for TR_STORE_MAX_COLUMNS) and returns the count. */
#define TR_STORE_MAX_COLUMNS (TR_STORE_MAX_UNIQUE + TR_STORE_MAX_FKS + 1)
size_t tr_store_kind_columns(const struct tr_store_kind *kind, const char **names);

/* doc's top-level field name, NULL when absent or null (the store treats both the same). */
json_t *tr_store_doc_field(json_t *doc, const char *name);

/* The composite key of doc as a compact JSON array of the fields' values (null when absent),
 * so absent equals absent and no separator can be forged: what the ukey column holds. Owned;
 * NULL when kind has none. */
char *tr_store_composite_key(const struct tr_store_kind *kind, json_t *doc);

#endif
