/* SPDX-License-Identifier: MIT */
/* Request arena. */
#include "core/arena.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define ARENA_BLOCK 4096

struct tr_arena_block {
    struct tr_arena_block *next;
    size_t used, cap;
    _Alignas(16) char data[];
};

void *tr_arena_alloc(struct tr_arena *a, size_t len)
{
    len = (len + 15) & ~(size_t)15;
    struct tr_arena_block *b = a->head;
    if (b == NULL || b->cap - b->used < len) {
        size_t cap = len > ARENA_BLOCK ? len : ARENA_BLOCK;
        b = tr_xmalloc(sizeof(*b) + cap);
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += len;
    return p;
}

char *tr_arena_strndup(struct tr_arena *a, const char *s, size_t len)
{
    char *p = tr_arena_alloc(a, len + 1);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void tr_arena_reset(struct tr_arena *a)
{
    struct tr_arena_block *b = a->head;
    while (b) {
        struct tr_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}
