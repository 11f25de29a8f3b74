/* SPDX-License-Identifier: MIT */
/* A string-keyed hash map built once and then only read (config snapshot indexes). Keys are
 * borrowed: they must outlive the map. Lookups never allocate. */
#ifndef TR_CORE_STRMAP_H
#define TR_CORE_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

struct tr_strmap_slot;

struct tr_strmap {
    struct tr_strmap_slot *slots; /* owned; power-of-two count */
    size_t cap, cnt;
};

void tr_strmap_init(struct tr_strmap *m);
/* Insert or replace key -> value. Aborts on OOM. */
void tr_strmap_put(struct tr_strmap *m, struct tr_str key, void *value);
/* Value for key, or NULL. */
void *tr_strmap_get(const struct tr_strmap *m, struct tr_str key);
void tr_strmap_free(struct tr_strmap *m);

#endif
