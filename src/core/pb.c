/* SPDX-License-Identifier: MIT */
/* Protocol buffers wire format writer (pb.h). A nested message reserves the most a 32-bit
 * length can take (5 bytes) and, once it ends, moves its bytes back over what the length did
 * not need: one memmove per message, no second pass. */
#include "core/pb.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5 };

void tr_pb_init(struct tr_pb *w)
{
    *w = (struct tr_pb){0};
}

void tr_pb_free(struct tr_pb *w)
{
    free(w->buf);
    *w = (struct tr_pb){0};
}

uint8_t *tr_pb_take(struct tr_pb *w, size_t *len)
{
    uint8_t *p = w->buf ? w->buf : tr_xmalloc(1);
    *len = w->len;
    *w = (struct tr_pb){0};
    return p;
}

static void reserve(struct tr_pb *w, size_t n)
{
    if (w->len + n <= w->cap)
        return;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n)
        cap *= 2;
    w->buf = tr_xrealloc(w->buf, cap);
    w->cap = cap;
}

static void varint(struct tr_pb *w, uint64_t v)
{
    reserve(w, 10);
    while (v >= 0x80) {
        w->buf[w->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    w->buf[w->len++] = (uint8_t)v;
}

static void tag(struct tr_pb *w, uint32_t field, unsigned type)
{
    varint(w, ((uint64_t)field << 3) | type);
}

void tr_pb_raw(struct tr_pb *w, const void *p, size_t n)
{
    if (n == 0)
        return;
    reserve(w, n);
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void tr_pb_varint_field(struct tr_pb *w, uint32_t field, uint64_t v)
{
    tag(w, field, WT_VARINT);
    varint(w, v);
}

void tr_pb_fixed64_field(struct tr_pb *w, uint32_t field, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i)); /* little-endian */
    tag(w, field, WT_FIXED64);
    tr_pb_raw(w, b, 8);
}

void tr_pb_fixed32_field(struct tr_pb *w, uint32_t field, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    tag(w, field, WT_FIXED32);
    tr_pb_raw(w, b, 4);
}

void tr_pb_double_field(struct tr_pb *w, uint32_t field, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    tr_pb_fixed64_field(w, field, bits);
}

void tr_pb_bytes_field(struct tr_pb *w, uint32_t field, const void *p, size_t n)
{
    tag(w, field, WT_LEN);
    varint(w, n);
    tr_pb_raw(w, p, n);
}

void tr_pb_string_field(struct tr_pb *w, uint32_t field, const char *s)
{
    tr_pb_bytes_field(w, field, s, strlen(s));
}

size_t tr_pb_begin(struct tr_pb *w, uint32_t field)
{
    tag(w, field, WT_LEN);
    reserve(w, 5);
    size_t mark = w->len;
    w->len += 5;
    return mark;
}

void tr_pb_end(struct tr_pb *w, size_t mark)
{
    size_t body = w->len - (mark + 5);
    uint8_t len[5];
    size_t n = 0;
    uint64_t v = body;
    while (v >= 0x80) {
        len[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    len[n++] = (uint8_t)v;
    memmove(w->buf + mark + n, w->buf + mark + 5, body);
    memcpy(w->buf + mark, len, n);
    w->len = mark + n + body;
}
