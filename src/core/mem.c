/* SPDX-License-Identifier: MIT */
/* Aborting allocation wrappers. */
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t len)
{
    /* No logger here: the log module allocates too. */
    fputs("torii: out of memory\n", stderr);
    (void)len;
    abort();
}

void *tr_xmalloc(size_t len)
{
    void *p = malloc(len ? len : 1);
    if (p == NULL)
        oom(len);
    return p;
}

void *tr_xcalloc(size_t cnt, size_t len)
{
    void *p = calloc(cnt ? cnt : 1, len ? len : 1);
    if (p == NULL)
        oom(cnt * len);
    return p;
}

void *tr_xrealloc(void *p, size_t len)
{
    void *q = realloc(p, len ? len : 1);
    if (q == NULL)
        oom(len);
    return q;
}

char *tr_xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL)
        oom(strlen(s));
    return p;
}
