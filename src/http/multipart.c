/* SPDX-License-Identifier: MIT */
/* multipart/form-data, part by part (see multipart.h). Header parameters are split at ';'
 * without regard to quotes: a boundary cannot hold one (RFC 2046 §5.1.1 bcharsnospace), and a
 * field name that does is not one any reader here asks for. */
#include "http/multipart.h"

#include <string.h>

#include "core/err.h"

bool tr_multipart_is(struct tr_str ct)
{
    struct tr_str rest = ct, media;
    return tr_str_next_item(&rest, ';', &media) && tr_str_ieq_cstr(media, "multipart/form-data");
}

/* The value of parameter name in a header value "x; a=1; name="v"" (quotes removed). */
static bool param(struct tr_str v, const char *name, struct tr_str *out)
{
    struct tr_str rest = v, item;
    size_t nlen = strlen(name);
    tr_str_next_item(&rest, ';', &item); /* the value itself, before any parameter */
    while (tr_str_next_item(&rest, ';', &item)) {
        if (item.len <= nlen || item.ptr[nlen] != '=' ||
            !tr_str_ieq_cstr((struct tr_str){item.ptr, nlen}, name))
            continue;
        struct tr_str val = {item.ptr + nlen + 1, item.len - nlen - 1};
        if (val.len >= 2 && val.ptr[0] == '"' && val.ptr[val.len - 1] == '"')
            val = (struct tr_str){val.ptr + 1, val.len - 2};
        *out = val;
        return true;
    }
    return false;
}

/* Where needle starts in body at or after from, or (size_t)-1. memmem (glibc's two-way
 * search) keeps a hostile body of near-delimiters linear on the worker loop. */
static size_t find(struct tr_str body, size_t from, const char *needle, size_t n)
{
    if (from >= body.len) /* also keeps a NULL body.ptr out of the pointer sums */
        return (size_t)-1;
    const char *at = memmem(body.ptr + from, body.len - from, needle, n);
    return at ? (size_t)(at - body.ptr) : (size_t)-1;
}

/* RFC 2046 §5.1.1 bchars (a space, but not at the end). Never a CR or LF, so a delimiter
 * cannot overlap itself and cutting a part out cannot make a new delimiter. */
static bool boundary_ok(struct tr_str b)
{
    static const char extra[] = "'()+_,-./:=? ";
    if (b.len == 0 || b.len > TR_MULTIPART_BOUNDARY_MAX || b.ptr[b.len - 1] == ' ')
        return false;
    for (size_t i = 0; i < b.len; i++) {
        char c = b.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c != '\0' && strchr(extra, c) != NULL)))
            return false;
    }
    return true;
}

bool tr_multipart_begin(struct tr_multipart *m, struct tr_str ct, struct tr_str body)
{
    struct tr_str b;
    memset(m, 0, sizeof(*m));
    if (!tr_multipart_is(ct) || !param(ct, "boundary", &b) || !boundary_ok(b))
        return false;
    memcpy(m->delim, "\r\n--", 4);
    memcpy(m->delim + 4, b.ptr, b.len);
    m->dlen = b.len + 4;
    m->body = body;
    /* The first delimiter may open the body (no preamble, so no CRLF before it). */
    if (body.len >= m->dlen - 2 && memcmp(body.ptr, m->delim + 2, m->dlen - 2) == 0) {
        m->pos = m->dlen - 2;
        return true;
    }
    size_t at = find(body, 0, m->delim, m->dlen);
    if (at == (size_t)-1)
        return false;
    m->part_start = at;
    m->pos = at + m->dlen;
    return true;
}

/* The name parameter of the Content-Disposition line among a part's header lines. */
static struct tr_str part_name(struct tr_str head)
{
    static const char cd[] = "content-disposition:";
    struct tr_str rest = head, line, name = {head.ptr, 0};
    while (rest.len > 0) {
        size_t eol = find(rest, 0, "\r\n", 2);
        line = (struct tr_str){rest.ptr, eol == (size_t)-1 ? rest.len : eol};
        rest = eol == (size_t)-1 ? (struct tr_str){rest.ptr + rest.len, 0}
                                 : (struct tr_str){rest.ptr + eol + 2, rest.len - eol - 2};
        if (line.len > sizeof(cd) - 1 &&
            tr_str_ieq_cstr((struct tr_str){line.ptr, sizeof(cd) - 1}, cd)) {
            struct tr_str v = {line.ptr + sizeof(cd) - 1, line.len - (sizeof(cd) - 1)};
            param(v, "name", &name);
            break;
        }
    }
    return name;
}

int tr_multipart_next(struct tr_multipart *m, struct tr_str *name, struct tr_str *value)
{
    struct tr_str body = m->body;
    size_t pos = m->pos;
    if (m->done)
        return 0;
    if (pos + 2 <= body.len && memcmp(body.ptr + pos, "--", 2) == 0) {
        m->done = true; /* the close delimiter; an epilogue may follow */
        return 0;
    }
    while (pos < body.len && (body.ptr[pos] == ' ' || body.ptr[pos] == '\t'))
        pos++; /* transport padding (RFC 2046 §5.1.1) */
    if (pos + 2 > body.len || memcmp(body.ptr + pos, "\r\n", 2) != 0)
        return TR_EBADREQ;
    pos += 2;
    struct tr_str head;
    size_t content;
    if (pos + 2 <= body.len && memcmp(body.ptr + pos, "\r\n", 2) == 0) {
        head = (struct tr_str){body.ptr + pos, 0}; /* a part without headers */
        content = pos + 2;
    } else {
        size_t end = find(body, pos, "\r\n\r\n", 4);
        if (end == (size_t)-1)
            return TR_EBADREQ;
        head = (struct tr_str){body.ptr + pos, end - pos};
        content = end + 4;
    }
    size_t next = find(body, content, m->delim, m->dlen);
    if (next == (size_t)-1)
        return TR_EBADREQ;
    *name = part_name(head);
    *value = (struct tr_str){body.ptr + content, next - content};
    m->head = head;
    m->pos = next + m->dlen;
    m->last_start = m->part_start;
    m->part_start = next;
    return 1;
}

bool tr_multipart_arg(struct tr_str ct, struct tr_str body, struct tr_str name,
                      struct tr_str *value)
{
    struct tr_multipart m;
    struct tr_str n, v;
    if (!tr_multipart_begin(&m, ct, body))
        return false;
    while (tr_multipart_next(&m, &n, &v) == 1) {
        if (tr_str_eq(n, name)) {
            *value = v;
            return true;
        }
    }
    return false;
}

size_t tr_multipart_remove(struct tr_str ct, struct tr_str body, struct tr_str name, char *out,
                           bool *removed)
{
    struct tr_multipart m;
    struct tr_str n, v;
    size_t o = 0, copied = 0; /* body bytes before copied are in out or dropped */
    *removed = false;
    if (tr_multipart_begin(&m, ct, body)) {
        /* A part runs from its delimiter (with the CRLF before it) to the next one's CRLF:
         * cutting that span leaves the parts around it with their delimiters. */
        while (tr_multipart_next(&m, &n, &v) == 1) {
            if (!tr_str_eq(n, name))
                continue;
            memcpy(out + o, body.ptr + copied, m.last_start - copied);
            o += m.last_start - copied;
            copied = m.part_start;
            *removed = true;
        }
    }
    if (body.len > copied)
        memcpy(out + o, body.ptr + copied, body.len - copied);
    return o + body.len - copied;
}
