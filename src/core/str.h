/* SPDX-License-Identifier: MIT */
/* String slices (pointer + length, never assumed NUL-terminated) and the few helpers every
 * module needs to compare and parse them. */
#ifndef TR_CORE_STR_H
#define TR_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tr_str {
    const char *ptr; /* borrowed; valid while the buffer it points into lives */
    size_t len;
};

#define TR_STR_LIT(s) ((struct tr_str){(s), sizeof(s) - 1})
#define TR_STR_NULL ((struct tr_str){NULL, 0})

/* Slice of a NUL-terminated string (NULL gives an empty slice). */
struct tr_str tr_str_from_cstr(const char *s);

bool tr_str_eq(struct tr_str a, struct tr_str b);
/* ASCII case-insensitive equality: the one helper for header names and schemes. */
bool tr_str_ieq(struct tr_str a, struct tr_str b);
bool tr_str_ieq_cstr(struct tr_str a, const char *b);
bool tr_str_has_prefix(struct tr_str s, struct tr_str prefix);

/* Trim spaces and tabs (RFC 9110 OWS) from both ends. */
struct tr_str tr_str_trim(struct tr_str s);

/* Take the next item of a sep-separated list off *rest: *item is the text up to the next sep
 * (or the end), SP/HTAB-trimmed. A list with n separators has n + 1 items, some maybe empty
 * (the caller decides what an empty one means); the last one sets rest->ptr to NULL, and the
 * call after it returns false. Start with *rest = the whole list. */
bool tr_str_next_item(struct tr_str *rest, char sep, struct tr_str *item);

/* Strict unsigned decimal: 1..20 digits, no sign, no spaces, value <= max.
 * Returns 0 and sets *out, or TR_EINVAL. */
int tr_str_to_u64(struct tr_str s, uint64_t max, uint64_t *out);

/* Copy into a freshly malloc'ed NUL-terminated string; aborts on OOM. */
char *tr_str_dup(struct tr_str s);

static inline char tr_ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* Value of one hex digit (either case), or -1 when c is none (a value, not a TR_E* code). */
static inline int tr_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
