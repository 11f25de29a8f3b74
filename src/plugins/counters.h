/* SPDX-License-Identifier: MIT */
/* Rate-limiting counters: fixed calendar windows (UTC) and the node-wide `local` counter table
 * shared by every worker thread (striped spin locks, fixed size, no allocation per request). */
#ifndef TR_PLUGINS_COUNTERS_H
#define TR_PLUGINS_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The periods of the rate-limiting plugin, shortest first. */
enum tr_counters_period {
    TR_COUNTERS_SECOND,
    TR_COUNTERS_MINUTE,
    TR_COUNTERS_HOUR,
    TR_COUNTERS_DAY,
    TR_COUNTERS_MONTH,
    TR_COUNTERS_YEAR,
    TR_COUNTERS_NUM_PERIODS,
};

/* Lower-case name of period p ("minute"), and the capitalised one used in headers ("Minute").
 * Static strings; "" when p is out of range. */
const char *tr_counters_period_name(int p);
const char *tr_counters_period_title(int p);

/* The fixed window of period p containing now (seconds since the epoch, UTC): sets *start and
 * *end (exclusive) in seconds. Seconds, minutes, hours and days are aligned to multiples of
 * their length; months and years to the first day of the calendar month or year. */
void tr_counters_window(int p, int64_t now, int64_t *start, int64_t *end);

/* Capacity of the local table (entries), for docs and tests. */
#define TR_COUNTERS_LOCAL_BUCKETS 4096
#define TR_COUNTERS_LOCAL_WAYS 16

/* Take one unit of the counter key (a tr_hash_final value, core/hash.h, naming plugin instance,
 * identity, period and window start) whose window ends at window_end, if the count stays at
 * most limit. now is the current time in seconds (entries whose window ended are reused).
 * Returns 1 when taken (*count = the new count), 0 when the limit is reached (*count = the
 * current count, unchanged), or TR_EINVAL when every entry of the key's bucket belongs to a
 * live window (the table is full there). Safe from any thread. */
int tr_counters_local_take(uint64_t key, int64_t now, int64_t window_end, int64_t limit,
                           int64_t *count);

/* Give back one unit taken with tr_counters_local_take (a later period refused the request).
 * Does nothing when the entry is gone or already at 0. */
void tr_counters_local_give_back(uint64_t key, int64_t window_end);

/* Current count of key (0 when absent or its window ended). */
int64_t tr_counters_local_peek(uint64_t key, int64_t now);

/* Forget every counter (tests). Not safe while other threads use the table. */
void tr_counters_local_reset(void);

#endif
