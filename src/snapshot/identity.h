/* SPDX-License-Identifier: MIT */
/* The identity part of the config snapshot: consumers and the credentials of every plugin
 * credential kind, indexed for O(1) lookups. It is built from an in-memory mirror of those
 * rows that the control thread keeps current with each admin write, so adding one key to
 * 100,000 consumers costs no database read and no JSON parsing; and a snapshot whose identity
 * did not change shares the previous part. Rows (jansson docs) are shared between parts by
 * reference count (jansson's counts are atomic). */
#ifndef TR_SNAPSHOT_IDENTITY_H
#define TR_SNAPSHOT_IDENTITY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/strmap.h"
#include "plugins/plugin.h"

struct tr_store;

/* Credentials of one kind, indexed. */
struct tr_cred_index {
    const struct tr_plugin_credential *kind; /* static */
    struct tr_credential *items;             /* owned array; docs referenced */
    size_t cnt;
    struct tr_strmap by_value;    /* lookup_field value -> struct tr_credential */
    struct tr_strmap by_consumer; /* consumer id -> struct tr_cred_list */
};

struct tr_cred_list {
    const struct tr_credential **items;
    size_t cnt;
};

struct tr_snap_identity {
    _Atomic unsigned refs;
    struct tr_consumer *consumers; /* owned array; strings point into docs */
    json_t **consumer_docs;        /* references */
    size_t num_consumers;
    struct tr_strmap consumer_by_id, consumer_by_name;
    struct tr_cred_index *creds; /* one per credential kind of the registry */
    size_t num_creds;
    struct tr_arena arena; /* per-consumer credential lists */
};

/* The control thread's copy of every identity row: kind -> (id -> doc). */
struct tr_identity_mirror {
    json_t *consumers;                        /* object id -> doc (reference) */
    json_t **creds;                           /* per credential kind, same shape */
    const struct tr_plugin_credential **kinds;
    size_t num_kinds;
};

/* Load every consumer and credential row from store. Returns 0 or a negative TR_E*. */
int tr_identity_mirror_load(struct tr_identity_mirror *m, struct tr_store *store);
/* Apply one admin write (doc NULL: deleted, with its dependants). Returns true when entity is an
 * identity kind (the identity part must be rebuilt). */
bool tr_identity_mirror_apply(struct tr_identity_mirror *m, const char *entity, const char *id,
                              json_t *doc);
void tr_identity_mirror_free(struct tr_identity_mirror *m);

/* Build a part from the mirror (one reference for the caller). Never NULL. */
struct tr_snap_identity *tr_snap_identity_build(const struct tr_identity_mirror *m);
void tr_snap_identity_ref(struct tr_snap_identity *id);
/* NULL is ignored; the last reference frees the part (any thread). */
void tr_snap_identity_unref(struct tr_snap_identity *id);

/* Credential index of kind entity in part, or NULL. */
const struct tr_cred_index *tr_snap_identity_creds(const struct tr_snap_identity *id,
                                                   const char *entity);

#endif
