/* SPDX-License-Identifier: MIT */
/* The head writer (writer.h): a growing buffer plus the one field check. No printf: a head is a
 * handful of memcpy calls, and formatting cost more than the rest of the head together. */
#include "http/writer.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/parser.h"

static void refuse(struct tr_http_writer *w, struct tr_str name)
{
    if (w->refused.ptr == NULL)
        w->refused = name.ptr ? name : TR_STR_LIT("(unnamed)");
}

/* The slow path of reserve: grow, or refuse a head that cannot. */
static bool grow(struct tr_http_writer *w, size_t n)
{
    if (tr_buf_grow(&w->buf, n) == 0)
        return true;
    refuse(w, TR_STR_LIT("(out of memory)"));
    return false;
}

/* Room for n more bytes. Every piece of every head passes here: keep it inline. */
static inline bool reserve(struct tr_http_writer *w, size_t n)
{
    return n <= tr_buf_room(&w->buf) || grow(w, n);
}

static inline void put(struct tr_http_writer *w, const char *p, size_t n)
{
    if (!reserve(w, n))
        return;
    if (n)
        memcpy(tr_buf_tail(&w->buf), p, n);
    tr_buf_commit(&w->buf, n);
}

void tr_http_writer_init(struct tr_http_writer *w, size_t hint)
{
    tr_buf_init(&w->buf, SIZE_MAX);
    w->refused = TR_STR_NULL;
    reserve(w, hint);
}

void tr_http_writer_raw(struct tr_http_writer *w, const char *p, size_t n)
{
    put(w, p, n);
}

void tr_http_writer_cstr(struct tr_http_writer *w, const char *s)
{
    put(w, s, strlen(s));
}

void tr_http_writer_str(struct tr_http_writer *w, struct tr_str s)
{
    put(w, s.ptr, s.len);
}

void tr_http_writer_u64(struct tr_http_writer *w, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(w, tmp + sizeof(tmp) - n, n);
}

void tr_http_writer_target(struct tr_http_writer *w, struct tr_str target)
{
    if (!tr_http_target_ok(target)) {
        refuse(w, TR_STR_LIT("request-target"));
        return;
    }
    tr_http_writer_str(w, target);
}

static inline void put_field(struct tr_http_writer *w, struct tr_str name, struct tr_str value)
{
    if (!reserve(w, name.len + value.len + 4))
        return;
    char *start = tr_buf_tail(&w->buf), *p = start;
    memcpy(p, name.ptr, name.len);
    p += name.len;
    *p++ = ':';
    *p++ = ' ';
    if (value.len)
        memcpy(p, value.ptr, value.len);
    p += value.len;
    *p++ = '\r';
    *p++ = '\n';
    tr_buf_commit(&w->buf, (size_t)(p - start));
}

void tr_http_writer_field(struct tr_http_writer *w, struct tr_str name, struct tr_str value)
{
    if (!tr_http_token_ok(name) || !tr_http_field_value_ok(value)) {
        refuse(w, name);
        return;
    }
    put_field(w, name, value);
}

void tr_http_writer_field_u64(struct tr_http_writer *w, const char *name, uint64_t value)
{
    put(w, name, strlen(name));
    put(w, ": ", 2);
    tr_http_writer_u64(w, value);
    put(w, "\r\n", 2);
}

void tr_http_writer_parsed(struct tr_http_writer *w, const struct tr_http_header *h)
{
    put_field(w, h->name, h->value);
}

char *tr_http_writer_finish(struct tr_http_writer *w, size_t *len)
{
    if (!tr_http_writer_failed(w))
        put(w, "\r\n", 2);
    if (tr_http_writer_failed(w)) {
        tr_buf_free(&w->buf);
        *len = 0;
        return NULL;
    }
    return tr_buf_detach(&w->buf, len);
}
