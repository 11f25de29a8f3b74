/* SPDX-License-Identifier: MIT */
/* The "name:value" entries of the transformer plugins' config lists. */
#ifndef TR_PLUGINS_PAIRS_H
#define TR_PLUGINS_PAIRS_H

#include <stdbool.h>
#include <string.h>

#include "core/str.h"

/* Kong's ^([^:]+):*(.-)$: the name runs to the first colon, every colon after it is dropped,
 * the value is the rest (empty without a colon). False for an empty name. */
static inline bool tr_pair_split(struct tr_str s, struct tr_str *name, struct tr_str *value)
{
    const char *colon = s.len ? memchr(s.ptr, ':', s.len) : NULL;
    if (s.len == 0 || colon == s.ptr)
        return false;
    *name = (struct tr_str){s.ptr, colon ? (size_t)(colon - s.ptr) : s.len};
    size_t i = name->len;
    while (i < s.len && s.ptr[i] == ':')
        i++;
    *value = (struct tr_str){s.ptr + i, s.len - i};
    return true;
}

#endif
