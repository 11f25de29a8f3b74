/* SPDX-License-Identifier: MIT */
/* A string-keyed hash map for config snapshot indexes. Keys are borrowed: they must outlive the
 * map. Lookups never allocate.
 *
 * The slots live in pages (512 slots each) reached through a small directory, so a map can be
 * forked cheaply: tr_strmap_fork gives a new version that shares every page with the old one,
 * and a put or del on the new version copies only the page it changes (copy-on-write; the
 * replaced page is handed to a retire callback, because readers of the old version may still
 * use it). The old version stays valid and unchanged. A map that is never forked is a plain
 * build-once map. */
#ifndef TR_CORE_STRMAP_H
#define TR_CORE_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

struct tr_strmap_page;

/* Called with a page that an older version still shows; the callee frees it (free()) once no
 * reader of an older version can reach it. */
typedef void (*tr_strmap_retire_fn)(void *ud, void *page);

struct tr_strmap {
    struct tr_strmap_page **pages; /* owned directory; pages shared with older versions */
    size_t cap, cnt;               /* slots (a power of two), entries */
    uint64_t gen;                  /* pages of this generation belong to this version */
    tr_strmap_retire_fn retire;    /* NULL for a map that is never forked */
    void *retire_ud;
};

void tr_strmap_init(struct tr_strmap *m);
/* Insert or replace key -> value (a replaced entry takes the new key pointer too). value NULL
 * is ignored. Aborts on OOM. */
void tr_strmap_put(struct tr_strmap *m, struct tr_str key, void *value);
/* Remove key; returns its value, or NULL when absent. */
void *tr_strmap_del(struct tr_strmap *m, struct tr_str key);
/* Value for key, or NULL. */
void *tr_strmap_get(const struct tr_strmap *m, struct tr_str key);
/* Call cb for every entry, in no particular order. cb must not change m. */
void tr_strmap_foreach(const struct tr_strmap *m,
                       void (*cb)(void *ud, struct tr_str key, void *value), void *ud);
/* Make dst a new version of src that shares src's pages: O(cap / 512). Later writes to dst copy
 * the pages they change and pass the old ones to retire(ud, page); src is never changed by them.
 * Versions form a line: fork only the newest version, once. */
void tr_strmap_fork(struct tr_strmap *dst, const struct tr_strmap *src, tr_strmap_retire_fn retire,
                    void *ud);
/* Free only the directory: for a version whose pages a newer version took over. */
void tr_strmap_release(struct tr_strmap *m);
/* Free the directory and every page: for the newest version once nothing older can be read. */
void tr_strmap_free(struct tr_strmap *m);

#endif
