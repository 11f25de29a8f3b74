/* SPDX-License-Identifier: MIT */
/* Compiled regexes shared between routers (internal to src/router/). Every admin write builds a
 * new router while the previous one still serves; a route that did not change asks for the same
 * pattern again and gets the code compiled for the previous router instead of a fresh
 * pcre2_compile + JIT. Entries are reference counted and leave the cache with their last user.
 * Compiled code is only read by pcre2_match, which may run on any number of threads at once. */
#ifndef TR_ROUTER_REGEX_CACHE_H
#define TR_ROUTER_REGEX_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct tr__re;

/* The compiled code of pattern (len bytes, not NUL-ended) with the PCRE2 compile options,
 * JIT-compiled when available, one reference taken. *code receives the pcre2_code. On a
 * compile error: NULL, and *errcode / *erroffset as pcre2_compile gives them. Any thread. */
struct tr__re *tr__re_get(const char *pattern, size_t len, uint32_t options, void **code,
                          int *errcode, size_t *erroffset);

/* Drop one reference (NULL is ignored); the code is freed with the last one. Any thread. */
void tr__re_put(struct tr__re *re);

/* Distinct compiled regexes held now (for tests). */
size_t tr__re_cache_count(void);

#endif
