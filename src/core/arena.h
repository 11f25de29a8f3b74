/* SPDX-License-Identifier: MIT */
/* Request arena: bump allocation from chained blocks, everything freed at once when the request
 * ends (nginx pools without cleanups). */
#ifndef TR_CORE_ARENA_H
#define TR_CORE_ARENA_H

#include <stddef.h>

struct tr_arena_block;

struct tr_arena {
    struct tr_arena_block *head; /* owned chain, newest first */
};

/* Uninitialised memory, 16-byte aligned. Never NULL (aborts on OOM). */
void *tr_arena_alloc(struct tr_arena *a, size_t len);
/* Copy len bytes (plus a NUL) into the arena. */
char *tr_arena_strndup(struct tr_arena *a, const char *s, size_t len);
/* Free every block; the arena is empty and reusable after. */
void tr_arena_reset(struct tr_arena *a);

#endif
