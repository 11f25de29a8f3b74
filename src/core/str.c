/* SPDX-License-Identifier: MIT */
/* String slice helpers. */
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

struct tr_str tr_str_from_cstr(const char *s)
{
    return (struct tr_str){s, s ? strlen(s) : 0};
}

bool tr_str_eq(struct tr_str a, struct tr_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool tr_str_ieq(struct tr_str a, struct tr_str b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++) {
        if (tr_ascii_lower(a.ptr[i]) != tr_ascii_lower(b.ptr[i]))
            return false;
    }
    return true;
}

bool tr_str_ieq_cstr(struct tr_str a, const char *b)
{
    return tr_str_ieq(a, tr_str_from_cstr(b));
}

bool tr_str_has_prefix(struct tr_str s, struct tr_str prefix)
{
    return s.len >= prefix.len && memcmp(s.ptr, prefix.ptr, prefix.len) == 0;
}

struct tr_str tr_str_trim(struct tr_str s)
{
    while (s.len > 0 && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
        s.ptr++;
        s.len--;
    }
    while (s.len > 0 && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
}

bool tr_str_next_item(struct tr_str *rest, char sep, struct tr_str *item)
{
    if (rest->ptr == NULL)
        return false;
    const char *at = memchr(rest->ptr, sep, rest->len);
    struct tr_str it = {rest->ptr, at ? (size_t)(at - rest->ptr) : rest->len};
    *rest = at ? (struct tr_str){at + 1, rest->len - it.len - 1} : TR_STR_NULL;
    *item = tr_str_trim(it);
    return true;
}

int tr_str_to_u64(struct tr_str s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s.len == 0 || s.len > 20)
        return TR_EINVAL;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned char)s.ptr[i] - '0';
        if (d > 9)
            return TR_EINVAL;
        if (v > (UINT64_MAX - d) / 10)
            return TR_EINVAL;
        v = v * 10 + d;
    }
    if (v > max)
        return TR_EINVAL;
    *out = v;
    return 0;
}

char *tr_str_dup(struct tr_str s)
{
    char *p = tr_xmalloc(s.len + 1);
    if (s.len)
        memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return p;
}
