/* SPDX-License-Identifier: MIT */
/* Writing the protocol buffers wire format (what OTLP/HTTP carries): varints, fixed-width
 * numbers, length-delimited fields, and nested messages written in place (their length is
 * patched once they end). Into a growable buffer; allocation failure aborts (tr_xmalloc). */
#ifndef TR_CORE_PB_H
#define TR_CORE_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tr_pb {
    uint8_t *buf;
    size_t len, cap;
};

void tr_pb_init(struct tr_pb *w);
void tr_pb_free(struct tr_pb *w);
/* Hand the bytes over (malloc'ed; the writer is empty after). */
uint8_t *tr_pb_take(struct tr_pb *w, size_t *len);

void tr_pb_varint_field(struct tr_pb *w, uint32_t field, uint64_t v);
void tr_pb_fixed64_field(struct tr_pb *w, uint32_t field, uint64_t v);
void tr_pb_fixed32_field(struct tr_pb *w, uint32_t field, uint32_t v);
void tr_pb_double_field(struct tr_pb *w, uint32_t field, double v);
/* Length-delimited: bytes, a string, or an already encoded message. */
void tr_pb_bytes_field(struct tr_pb *w, uint32_t field, const void *p, size_t n);
void tr_pb_string_field(struct tr_pb *w, uint32_t field, const char *s);
/* Raw bytes (pieces of an encoding made elsewhere). */
void tr_pb_raw(struct tr_pb *w, const void *p, size_t n);

/* A nested message: begin returns a mark, end writes its length before it. Nested marks end in
 * reverse order. */
size_t tr_pb_begin(struct tr_pb *w, uint32_t field);
void tr_pb_end(struct tr_pb *w, size_t mark);

#endif
