/* SPDX-License-Identifier: MIT */
/* Allocation wrappers for small fixed-size objects: they abort on OOM, so callers need no
 * error path. Anything whose size comes from input uses bounded growth instead (core/buf.h). */
#ifndef TR_CORE_MEM_H
#define TR_CORE_MEM_H

#include <stddef.h>

void *tr_xmalloc(size_t len);
void *tr_xcalloc(size_t cnt, size_t len);
void *tr_xrealloc(void *p, size_t len);
char *tr_xstrdup(const char *s);

#define TR_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define TR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
