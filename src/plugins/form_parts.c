/* SPDX-License-Identifier: MIT */
/* multipart/form-data bodies edited part by part (form_parts.h). */
#include "plugins/form_parts.h"

#include <string.h>

#include "http/multipart.h"

static struct tr_str dup(struct tr_form_parts *m, struct tr_str s)
{
    char *out = m->alloc(m->ud, s.len + 1);
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return (struct tr_str){out, s.len};
}

static void add_part(struct tr_form_parts *m, struct tr_form_part part)
{
    if (m->num == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 8;
        struct tr_form_part *p = m->alloc(m->ud, ncap * sizeof(*p));
        if (m->num)
            memcpy(p, m->parts, m->num * sizeof(*p));
        m->parts = p;
        m->cap = ncap;
    }
    m->parts[m->num++] = part;
}

bool tr_form_parts_read(struct tr_form_parts *m, struct tr_str content_type, struct tr_str body,
                        void *(*alloc)(void *ud, size_t len), void *ud)
{
    *m = (struct tr_form_parts){.alloc = alloc, .ud = ud};
    struct tr_multipart r;
    if (!tr_multipart_begin(&r, content_type, body))
        return false;
    m->boundary = dup(m, (struct tr_str){r.delim + 4, r.dlen - 4}); /* after CRLF "--" */
    struct tr_str name, value;
    int rc;
    while ((rc = tr_multipart_next(&r, &name, &value)) == 1)
        add_part(m, (struct tr_form_part){name, r.head, value, false});
    return rc == 0;
}

struct tr_form_part *tr_form_parts_get(struct tr_form_parts *m, struct tr_str name)
{
    for (size_t i = 0; i < m->num; i++) {
        if (!m->parts[i].removed && tr_str_eq(m->parts[i].name, name))
            return &m->parts[i];
    }
    return NULL;
}

void tr_form_parts_delete(struct tr_form_parts *m, struct tr_str name)
{
    struct tr_form_part *p;
    while ((p = tr_form_parts_get(m, name)) != NULL)
        p->removed = true;
}

void tr_form_parts_set(struct tr_form_parts *m, struct tr_str name, struct tr_str value)
{
    static const char pre[] = "Content-Disposition: form-data; name=\"";
    char *h = m->alloc(m->ud, sizeof(pre) + name.len + 1);
    memcpy(h, pre, sizeof(pre) - 1);
    memcpy(h + sizeof(pre) - 1, name.ptr, name.len);
    h[sizeof(pre) - 1 + name.len] = '"';
    struct tr_form_part part = {dup(m, name), {h, sizeof(pre) + name.len}, dup(m, value), false};
    struct tr_form_part *old = tr_form_parts_get(m, name);
    if (old)
        *old = part;
    else
        add_part(m, part);
}

struct tr_str tr_form_parts_write(const struct tr_form_parts *m)
{
    size_t total = m->boundary.len + 8;
    for (size_t i = 0; i < m->num; i++)
        total += m->boundary.len + m->parts[i].headers.len + m->parts[i].value.len + 12;
    char *out = m->alloc(m->ud, total + 1);
    size_t n = 0, written = 0;
#define PUT(p, len) (memcpy(out + n, (p), (len)), n += (len))
    for (size_t i = 0; i < m->num; i++) {
        const struct tr_form_part *p = &m->parts[i];
        if (p->removed)
            continue;
        PUT("--", 2);
        PUT(m->boundary.ptr, m->boundary.len);
        PUT("\r\n", 2);
        PUT(p->headers.ptr, p->headers.len);
        if (p->headers.len)
            PUT("\r\n", 2);
        PUT("\r\n", 2);
        PUT(p->value.ptr, p->value.len);
        PUT("\r\n", 2);
        written++;
    }
    if (written) {
        PUT("--", 2);
        PUT(m->boundary.ptr, m->boundary.len);
        PUT("--\r\n", 4);
    }
#undef PUT
    out[n] = '\0';
    return (struct tr_str){out, n};
}
