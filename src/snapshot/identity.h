/* SPDX-License-Identifier: MIT */
/* The identity part of the config snapshot: consumers and the credentials of every plugin
 * credential kind, indexed for O(1) lookups.
 *
 * A part is immutable once published. The control thread loads the first one from the store
 * and then patches: tr_snap_identity_apply makes the next part from the current one and one
 * admin write, sharing every record and every untouched map page with it (copy-on-write, see
 * core/strmap.h), so a write costs O(1) (plus O(credentials of the consumer) for a consumer
 * update or delete), not a rebuild. Whatever a patch replaces is freed once every older part
 * is gone (a chain of "graves", see identity.c). Credential rows are jansson docs (plugins read
 * them); consumers are compact records. */
#ifndef TR_SNAPSHOT_IDENTITY_H
#define TR_SNAPSHOT_IDENTITY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/strmap.h"
#include "plugins/plugin.h"

struct tr_store;
struct tr_identity_grave;

/* Credentials of one kind, indexed. Values are records shared between parts. */
struct tr_cred_index {
    const struct tr_plugin_credential *kind; /* static */
    size_t cnt;
    struct tr_strmap by_value;    /* lookup_field value -> struct tr_credential */
    struct tr_strmap by_consumer; /* consumer id -> struct tr_cred_list */
    struct tr_strmap by_id;       /* credential id -> struct tr_credential */
};

/* One consumer's credentials of one kind (one block with its items). */
struct tr_cred_list {
    const struct tr_credential **items;
    size_t cnt;
};

struct tr_snap_identity {
    _Atomic unsigned refs;
    size_t num_consumers;
    struct tr_strmap consumer_by_id, consumer_by_name; /* -> struct tr_consumer */
    struct tr_cred_index *creds; /* owned array: one per credential kind of the registry */
    size_t num_creds;
    struct tr_identity_grave *_grave; /* what this part must outlive (reference) */
    bool _has_next;                   /* a newer part shares this one's records and pages */
};

/* Load every consumer and credential row from store into a new part (one reference for the
 * caller). Returns NULL on a store error. O(rows). */
struct tr_snap_identity *tr_snap_identity_load(struct tr_store *store);

/* The part after one admin write to cur (doc NULL: deleted, with its dependants), or NULL when
 * entity is not an identity kind. doc is copied. cur must be the newest part of its line and
 * stays valid and unchanged; the caller keeps its reference to cur and gets one to the result. */
struct tr_snap_identity *tr_snap_identity_apply(struct tr_snap_identity *cur, const char *entity,
                                                const char *id, const json_t *doc);

void tr_snap_identity_ref(struct tr_snap_identity *id);
/* NULL is ignored; the last reference frees the part (any thread, O(1) unless it is the newest
 * of its line). */
void tr_snap_identity_unref(struct tr_snap_identity *id);

/* Credential index of kind entity in part, or NULL. */
const struct tr_cred_index *tr_snap_identity_creds(const struct tr_snap_identity *id,
                                                   const char *entity);

#endif
