/* SPDX-License-Identifier: MIT */
/* Bounded byte buffers and growable arrays (buf.h). */
#include "core/buf.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/mem.h"

/* The first allocation of a buffer that grows by small appends. */
#define BUF_MIN_CAP 256
#define VECTOR_MIN_CAP 16

void tr_buf_init(struct tr_buf *b, size_t max)
{
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void tr_buf_free(struct tr_buf *b)
{
    free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
}

int tr_buf_grow(struct tr_buf *b, size_t n)
{
    size_t max = b->max;
    if (n > max - b->len)
        return TR_ETOOLARGE;
    size_t need = b->len + n;
    size_t ncap = b->cap ? b->cap : BUF_MIN_CAP;
    while (ncap < need)
        ncap = ncap > max / 2 ? max : ncap * 2; /* doubling stops at max, which holds need */
    if (ncap > max)
        ncap = max;
    char *p = realloc(b->ptr, ncap);
    if (p == NULL)
        return TR_ENOMEM;
    b->ptr = p;
    b->cap = ncap;
    return 0;
}

int tr_buf_append(struct tr_buf *b, const void *p, size_t n)
{
    int rc = tr_buf_reserve(b, n);
    if (rc != 0)
        return rc;
    if (n)
        memcpy(b->ptr + b->len, p, n);
    b->len += n;
    return 0;
}

void tr_buf_shift(struct tr_buf *b, size_t n)
{
    memmove(b->ptr, b->ptr + n, b->len - n);
    b->len -= n;
}

char *tr_buf_detach(struct tr_buf *b, size_t *len)
{
    char *p = b->ptr;
    *len = b->len;
    b->ptr = NULL;
    b->len = b->cap = 0;
    return p;
}

void *tr_vector_grow(struct tr_arena *arena, void *items, size_t *cap, size_t cnt, size_t elem,
                     size_t want)
{
    /* A size that cannot even be expressed is out of memory as well. */
    if (want > SIZE_MAX / 2 / elem)
        abort();
    size_t ncap = *cap ? *cap : VECTOR_MIN_CAP;
    while (ncap < want)
        ncap *= 2;
    *cap = ncap;
    if (arena == NULL)
        return tr_xrealloc(items, ncap * elem);
    void *p = tr_arena_alloc(arena, ncap * elem);
    if (cnt)
        memcpy(p, items, cnt * elem);
    return p;
}
