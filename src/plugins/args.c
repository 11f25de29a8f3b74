/* SPDX-License-Identifier: MIT */
/* Argument tables (args.h). */
#include "plugins/args.h"

#include <stdlib.h>
#include <string.h>

#include "http/form.h"

void tr_args_init(struct tr_args *a, void *(*alloc)(void *ud, size_t len), void *ud)
{
    *a = (struct tr_args){.alloc = alloc, .ud = ud};
}

/* Grow an array of n items of size sz to hold one more (the old copy stays in the arena). */
static void *grow(struct tr_args *a, void *items, size_t n, size_t *cap, size_t sz)
{
    if (n < *cap)
        return items;
    size_t ncap = *cap ? *cap * 2 : 4;
    void *p = a->alloc(a->ud, ncap * sz);
    if (n)
        memcpy(p, items, n * sz);
    *cap = ncap;
    return p;
}

static struct tr_str dup(struct tr_args *a, struct tr_str s)
{
    char *p = a->alloc(a->ud, s.len + 1);
    memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return (struct tr_str){p, s.len};
}

struct tr_args_entry *tr_args_get(struct tr_args *a, struct tr_str name)
{
    for (size_t i = 0; i < a->num; i++) {
        if (!a->entries[i].removed && tr_str_eq(a->entries[i].name, name))
            return &a->entries[i];
    }
    return NULL;
}

static struct tr_args_entry *get_or_add(struct tr_args *a, struct tr_str name)
{
    struct tr_args_entry *e = tr_args_get(a, name);
    if (e)
        return e;
    a->entries = grow(a, a->entries, a->num, &a->cap, sizeof(*a->entries));
    e = &a->entries[a->num++];
    *e = (struct tr_args_entry){.name = dup(a, name)};
    return e;
}

void tr_args_append(struct tr_args *a, struct tr_str name, struct tr_args_value value)
{
    struct tr_args_entry *e = get_or_add(a, name);
    e->values = grow(a, e->values, e->num_values, &e->cap_values, sizeof(*e->values));
    e->values[e->num_values++] = (struct tr_args_value){dup(a, value.s), value.is_true};
}

void tr_args_parse(struct tr_args *a, struct tr_str raw)
{
    struct tr_str k, v;
    while (tr_form_next(&raw, &k, &v)) {
        bool is_true = v.ptr == k.ptr + k.len; /* no '=' */
        char *kd = a->alloc(a->ud, k.len + 1), *vd = a->alloc(a->ud, v.len + 1);
        struct tr_str key = {kd, tr_form_decode(k, kd)};
        struct tr_str val = {vd, tr_form_decode(v, vd)};
        if (key.len == 0)
            continue;
        tr_args_append(a, key, (struct tr_args_value){val, is_true});
    }
}

void tr_args_remove(struct tr_args *a, struct tr_str name)
{
    struct tr_args_entry *e = tr_args_get(a, name);
    if (e)
        e->removed = true;
}

void tr_args_set(struct tr_args *a, struct tr_str name, struct tr_args_value value)
{
    struct tr_args_entry *e = get_or_add(a, name);
    e->num_values = 0;
    tr_args_append(a, name, value);
}

bool tr_args_rename(struct tr_args *a, struct tr_str old_name, struct tr_str new_name)
{
    if (tr_str_eq(old_name, new_name))
        return false;
    struct tr_args_entry *old = tr_args_get(a, old_name);
    if (old == NULL)
        return false;
    tr_args_remove(a, new_name);
    old->name = dup(a, new_name);
    return true;
}

/* ngx.encode_args's escaping (lua-nginx-module's uri_component table). */
static bool unescaped(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("!'()*-._~", c) != NULL;
}

static size_t escape(struct tr_str s, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c != '\0' && unescaped(c)) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    return n;
}

/* One name's "k=v&k=w&k" (its values in order), written at out. */
static size_t encode_entry(const struct tr_args_entry *e, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < e->num_values; i++) {
        if (i)
            out[n++] = '&';
        n += escape(e->name, out + n);
        if (!e->values[i].is_true) {
            out[n++] = '=';
            n += escape(e->values[i].s, out + n);
        }
    }
    return n;
}

static int by_text(const void *x, const void *y)
{
    const struct tr_str *a = x, *b = y;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->ptr, b->ptr, n);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

struct tr_str tr_args_encode(const struct tr_args *a, bool sorted)
{
    struct tr_args *w = (struct tr_args *)a; /* only its allocator is used */
    struct tr_str *parts = a->num ? w->alloc(w->ud, a->num * sizeof(*parts)) : NULL;
    size_t np = 0, total = 0;
    for (size_t i = 0; i < a->num; i++) {
        const struct tr_args_entry *e = &a->entries[i];
        if (e->removed || e->num_values == 0)
            continue;
        size_t max = 0;
        for (size_t k = 0; k < e->num_values; k++)
            max += 3 * (e->name.len + e->values[k].s.len) + 2;
        char *buf = w->alloc(w->ud, max + 1);
        parts[np] = (struct tr_str){buf, encode_entry(e, buf)};
        total += parts[np++].len + 1;
    }
    if (sorted && np > 1)
        qsort(parts, np, sizeof(*parts), by_text);
    char *out = w->alloc(w->ud, total + 1);
    size_t n = 0;
    for (size_t i = 0; i < np; i++) {
        if (i)
            out[n++] = '&';
        memcpy(out + n, parts[i].ptr, parts[i].len);
        n += parts[i].len;
    }
    out[n] = '\0';
    return (struct tr_str){out, n};
}
