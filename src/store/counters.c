/* SPDX-License-Identifier: MIT */
/* counters.h's functions, handed to the store's backend. */
#include "store/counters.h"

#include <stdio.h>

#include "core/err.h"
#include "store/backend.h"

int tr_store_counters_open(struct tr_store *s, unsigned busy_ms, struct tr_store_counters **out,
                           char *err, size_t err_len)
{
    *out = NULL;
    if (s == NULL) {
        snprintf(err, err_len, "no database");
        return TR_EDB;
    }
    return s->ops->counters_open(s, busy_ms, out, err, err_len);
}

int tr_store_counters_sync(struct tr_store_counters *c, struct tr_store_counter *rows, size_t n,
                           int64_t expired_before)
{
    return c != NULL ? c->ops->counters_sync(c, rows, n, expired_before) : TR_EDB;
}

void tr_store_counters_close(struct tr_store_counters *c)
{
    if (c != NULL)
        c->ops->counters_close(c);
}
