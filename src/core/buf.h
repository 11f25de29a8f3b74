/* SPDX-License-Identifier: MIT */
/* The growable byte buffer and the growable array every module uses instead of writing its own
 * "cap * 2" loop. A tr_buf has a hard maximum fixed at init (curl's dynbuf "toobig"): growth
 * past it fails and says so, and so does a failed allocation, so input can never make a buffer
 * grow without bound. A TR_VECTOR is an array of any element type (H2O's H2O_VECTOR) for lists
 * whose length the program controls: its growth aborts on OOM like tr_xmalloc. */
#ifndef TR_CORE_BUF_H
#define TR_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define TR_WARN_UNUSED __attribute__((warn_unused_result))

struct tr_arena;

struct tr_buf {
    char *ptr;  /* owned; the bytes are ptr[0..len), NULL until the first growth */
    size_t len; /* bytes held */
    size_t cap; /* bytes allocated at ptr */
    size_t max; /* hard maximum of cap; SIZE_MAX when the caller bounds it another way */
};

/* An empty buffer that may hold up to max bytes. Allocates nothing. */
void tr_buf_init(struct tr_buf *b, size_t max);

/* Free the bytes; b is empty (same max) and usable again. */
void tr_buf_free(struct tr_buf *b);

/* The slow path of tr_buf_reserve (same contract); call tr_buf_reserve. */
int tr_buf_grow(struct tr_buf *b, size_t n) TR_WARN_UNUSED;

/* Make room for at least n more bytes at tr_buf_tail(b) (the capacity doubles, up to max).
 * Returns 0, TR_ETOOLARGE when len + n would pass max, or TR_ENOMEM; b is unchanged on
 * failure. */
static inline TR_WARN_UNUSED int tr_buf_reserve(struct tr_buf *b, size_t n)
{
    if (n <= b->cap - b->len)
        return 0;
    return tr_buf_grow(b, n);
}

/* Append n bytes (a copy). Returns 0, TR_ETOOLARGE or TR_ENOMEM (b unchanged). */
int tr_buf_append(struct tr_buf *b, const void *p, size_t n) TR_WARN_UNUSED;

/* The slow path of tr_buf_consume (0 < n < len); call tr_buf_consume. */
void tr_buf_shift(struct tr_buf *b, size_t n);

/* Drop the first n bytes (all of them when n >= len); the rest moves to the front. */
static inline void tr_buf_consume(struct tr_buf *b, size_t n)
{
    if (n >= b->len)
        b->len = 0; /* the common case (everything was used): nothing to move */
    else
        tr_buf_shift(b, n);
}

/* Where the next bytes go, and how many fit without growing. After writing k bytes there
 * (a read straight into the buffer), tr_buf_commit(b, k) counts them. */
static inline char *tr_buf_tail(const struct tr_buf *b)
{
    return b->ptr + b->len;
}

static inline size_t tr_buf_room(const struct tr_buf *b)
{
    return b->cap - b->len;
}

static inline void tr_buf_commit(struct tr_buf *b, size_t k)
{
    b->len += k;
}

/* Has the buffer reached its maximum (no byte more can be added)? */
static inline bool tr_buf_full(const struct tr_buf *b)
{
    return b->len >= b->max;
}

/* Hand the bytes over: returns ptr (the caller frees it; NULL when nothing was ever added)
 * and its length in *len; b is empty afterwards. */
char *tr_buf_detach(struct tr_buf *b, size_t *len);

/* ---- vectors ------------------------------------------------------------------------------ */

/* An array of type: items[0..cnt) are in use, cap are allocated. Zero-initialise it. The
 * macros below take any struct with these three fields, so a named type may declare them
 * itself (struct tr_cidr_list). */
#define TR_VECTOR(type)                                                                            \
    struct {                                                                                       \
        type *items;                                                                               \
        size_t cnt, cap;                                                                           \
    }

/* The slow path of tr_vector_reserve: returns the new array; call tr_vector_reserve. */
void *tr_vector_grow(struct tr_arena *arena, void *items, size_t *cap, size_t cnt, size_t elem,
                     size_t want);

/* Make v (a TR_VECTOR pointer) hold at least want items: the capacity doubles (16 at first).
 * Aborts on OOM. With arena (may be NULL), the new array comes from that arena and the old
 * one is left to it (request-lifetime lists); else from the heap (tr_vector_free). v and want
 * are evaluated more than once. */
#define tr_vector_reserve(arena, v, want)                                                          \
    ((want) > (v)->cap                                                                             \
         ? (void)((v)->items = tr_vector_grow((arena), (void *)(v)->items, &(v)->cap, (v)->cnt,    \
                                              sizeof(*(v)->items), (want)))                        \
         : (void)0)

/* Room for one more item; evaluates to a pointer to it (cnt counts it already). */
#define tr_vector_push(arena, v)                                                                   \
    (tr_vector_reserve((arena), (v), (v)->cnt + 1), &(v)->items[(v)->cnt++])

/* Free a heap vector's array; v is empty afterwards. */
#define tr_vector_free(v)                                                                          \
    do {                                                                                           \
        free((v)->items);                                                                          \
        (v)->items = NULL;                                                                         \
        (v)->cnt = (v)->cap = 0;                                                                   \
    } while (0)

#endif
