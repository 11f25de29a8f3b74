/* SPDX-License-Identifier: MIT */
/* Rate-limiting counters in the database (the `cluster` policy): a connection of its own, used
 * by one thread outside every event loop, that adds a batch of deltas in one transaction and
 * reads back the cluster-wide totals. Not part of the entity store: no JSON, no schema. */
#ifndef TR_STORE_COUNTERS_H
#define TR_STORE_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

struct tr_store_counters;

/* One counter of the batch. The caller fills key .. delta; sync sets total. */
struct tr_store_counter {
    int64_t key;           /* names plugin instance, identity, period and window start */
    int64_t window_end;    /* seconds since the epoch; the row is deleted once it passed */
    const char *plugin_id; /* borrowed for the call; stored for people reading the table */
    const char *period;    /* "second" .. "year", borrowed likewise */
    int64_t delta;         /* added to the stored count (may be 0 or negative) */
    int64_t total;         /* out: the stored count after the batch */
};

/* Open the database at path (which must exist and be migrated: the control thread opened it
 * first) for counters: WAL, synchronous=NORMAL (a crash of the machine may lose the last
 * batches, never corrupt), busy timeout busy_ms. Returns 0 and *out, or TR_EDB with a
 * message in err. */
int tr_store_counters_open(const char *path, unsigned busy_ms, struct tr_store_counters **out,
                           char *err, size_t err_len);

/* In one transaction: add each rows[i].delta to its counter (creating it) and set
 * rows[i].total to the stored count (0 for a counter nobody wrote, when delta is 0); when
 * expired_before > 0, also delete every counter whose window_end <= expired_before. A batch
 * of reads only takes no write lock. Returns 0, or TR_EDB when anything failed: then nothing
 * was applied and the totals are unset. */
int tr_store_counters_sync(struct tr_store_counters *c, struct tr_store_counter *rows, size_t n,
                           int64_t expired_before);

void tr_store_counters_close(struct tr_store_counters *c);

#endif
