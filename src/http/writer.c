/* SPDX-License-Identifier: MIT */
/* The head writer (writer.h): a growing buffer plus the one field check. No printf: a head is a
 * handful of memcpy calls, and formatting cost more than the rest of the head together. */
#include "http/writer.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "http/parser.h"

static void reserve(struct tr_http_writer *w, size_t n)
{
    if (w->len + n <= w->cap)
        return;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n)
        cap *= 2;
    w->buf = tr_xrealloc(w->buf, cap);
    w->cap = cap;
}

void tr_http_writer_init(struct tr_http_writer *w, size_t hint)
{
    memset(w, 0, sizeof(*w));
    reserve(w, hint);
}

void tr_http_writer_raw(struct tr_http_writer *w, const char *p, size_t n)
{
    reserve(w, n);
    if (n)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void tr_http_writer_cstr(struct tr_http_writer *w, const char *s)
{
    tr_http_writer_raw(w, s, strlen(s));
}

void tr_http_writer_str(struct tr_http_writer *w, struct tr_str s)
{
    tr_http_writer_raw(w, s.ptr, s.len);
}

void tr_http_writer_u64(struct tr_http_writer *w, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    tr_http_writer_raw(w, tmp + sizeof(tmp) - n, n);
}

static void refuse(struct tr_http_writer *w, struct tr_str name)
{
    if (w->refused.ptr == NULL)
        w->refused = name.ptr ? name : TR_STR_LIT("(unnamed)");
}

void tr_http_writer_target(struct tr_http_writer *w, struct tr_str target)
{
    if (!tr_http_target_ok(target)) {
        refuse(w, TR_STR_LIT("request-target"));
        return;
    }
    tr_http_writer_str(w, target);
}

static void put_field(struct tr_http_writer *w, struct tr_str name, struct tr_str value)
{
    reserve(w, name.len + value.len + 4);
    char *p = w->buf + w->len;
    memcpy(p, name.ptr, name.len);
    p += name.len;
    *p++ = ':';
    *p++ = ' ';
    if (value.len)
        memcpy(p, value.ptr, value.len);
    p += value.len;
    *p++ = '\r';
    *p++ = '\n';
    w->len = (size_t)(p - w->buf);
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
    tr_http_writer_cstr(w, name);
    tr_http_writer_raw(w, ": ", 2);
    tr_http_writer_u64(w, value);
    tr_http_writer_raw(w, "\r\n", 2);
}

void tr_http_writer_parsed(struct tr_http_writer *w, const struct tr_http_header *h)
{
    put_field(w, h->name, h->value);
}

char *tr_http_writer_finish(struct tr_http_writer *w, size_t *len)
{
    if (tr_http_writer_failed(w)) {
        free(w->buf);
        w->buf = NULL;
        w->len = w->cap = 0;
        *len = 0;
        return NULL;
    }
    tr_http_writer_raw(w, "\r\n", 2);
    char *out = w->buf;
    *len = w->len;
    w->buf = NULL;
    w->len = w->cap = 0;
    return out;
}
