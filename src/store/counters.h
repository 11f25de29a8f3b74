/* SPDX-License-Identifier: MIT */
/* Rate-limiting counters in the database (the `cluster` policy): a session of its own (for
 * SQLite a connection of its own), used by one thread outside every event loop, that adds a
 * batch of deltas in one transaction and reads back the cluster-wide totals. Not part of the
 * entity store: no JSON, no schema. Backend-neutral: nothing here names a database. */
#ifndef TR_STORE_COUNTERS_H
#define TR_STORE_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

struct tr_store;
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

/* Open a counters session on the database of s (open, so created and migrated; close the
 * session before s): without an fsync per batch (a crash of the machine may lose the last
 * batches, never corrupt; SQLite: WAL, synchronous=NORMAL), a write lock waited for at most
 * busy_ms. Called on the control thread; the session is then used by one thread at a time,
 * which need not be that one. Returns 0 and *out, or TR_EDB with a message in err. */
int tr_store_counters_open(struct tr_store *s, unsigned busy_ms, struct tr_store_counters **out,
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
