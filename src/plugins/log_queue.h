/* SPDX-License-Identifier: MIT */
/* Kong 3's plugin queue (kong/tools/queue.lua) on a worker's loop: log entries (JSON text) wait
 * here and leave in batches through the owner's send function, never on the request's path.
 *   - A batch leaves once it holds max_batch_size entries, or max_coalescing_delay seconds
 *     after its first entry was waiting.
 *   - A failed batch is sent again after min(max_retry_delay, 2^n * initial_retry_delay)
 *     seconds until max_retry_time has passed; then its entries are dropped and logged.
 *   - Past max_entries (or max_bytes) the oldest entries are dropped, logged and counted.
 *   - concurrency_limit 1: one batch at a time; -1: every entry is sent at once on its own.
 * Log lines carry Kong's tag: "[<plugin> plugin <instance id>] queue <name>: ...". */
#ifndef TR_PLUGINS_LOG_QUEUE_H
#define TR_PLUGINS_LOG_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

struct tr_log_queue_conf {
    int64_t max_batch_size;
    double max_coalescing_delay; /* seconds */
    int64_t max_entries;
    int64_t max_bytes;                                           /* 0: no byte bound */
    double max_retry_time, initial_retry_delay, max_retry_delay; /* seconds */
    int64_t concurrency_limit;                                   /* 1 or -1 */
};

/* Kong's typedefs.queue as schema rows of a "queue" record (schema/schema.h), bound to
 * struct tr_log_queue_conf; batch is max_batch_size's default as JSON text ("1" for the
 * logging plugins, "200" for opentelemetry). */
#define TR_LOG_QUEUE_NUMBER(field, dflt_text, lo, hi, help_text)                                   \
    {                                                                                              \
        .name = #field, .type = TR_SCHEMA_NUMBER, .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_BOUNDED, \
        .dflt = dflt_text, .min = lo, .max = hi, .help = help_text,                                \
        TR_SCHEMA_BIND(struct tr_log_queue_conf, field)                                            \
    }
#define TR_LOG_QUEUE_FIELDS(batch)                                                                 \
    {.name = "max_batch_size",                                                                     \
     .type = TR_SCHEMA_INTEGER,                                                                    \
     .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_BOUNDED,                                              \
     .dflt = batch,                                                                                \
     .min = 1,                                                                                     \
     .max = 1000000,                                                                               \
     .help = "entries sent at most in one request",                                                \
     TR_SCHEMA_BIND(struct tr_log_queue_conf, max_batch_size)},                                    \
        TR_LOG_QUEUE_NUMBER(max_coalescing_delay, "1", 0, 3600,                                    \
                            "seconds a partial batch waits for more entries"),                     \
        {.name = "max_entries",                                                                    \
         .type = TR_SCHEMA_INTEGER,                                                                \
         .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_BOUNDED,                                          \
         .dflt = "10000",                                                                          \
         .min = 1,                                                                                 \
         .max = 1000000,                                                                           \
         .help = "entries that may wait; past it the oldest are dropped",                          \
         TR_SCHEMA_BIND(struct tr_log_queue_conf, max_entries)},                                   \
        {.name = "max_bytes",                                                                      \
         .type = TR_SCHEMA_INTEGER,                                                                \
         .help = "bytes that may wait (unset: no bound)",                                          \
         TR_SCHEMA_BIND(struct tr_log_queue_conf, max_bytes)},                                     \
        {.name = "max_retry_time",                                                                 \
         .type = TR_SCHEMA_NUMBER,                                                                 \
         .flags = TR_SCHEMA_REQUIRED,                                                              \
         .dflt = "60",                                                                             \
         .help = "seconds a failing batch is retried before it is dropped",                        \
         TR_SCHEMA_BIND(struct tr_log_queue_conf, max_retry_time)},                                \
        TR_LOG_QUEUE_NUMBER(initial_retry_delay, "0.01", 0, 1000000,                               \
                            "seconds before the first retry"),                                     \
        TR_LOG_QUEUE_NUMBER(max_retry_delay, "60", 0, 1000000,                                     \
                            "the longest wait between retries"),                                   \
    {                                                                                              \
        .name = "concurrency_limit", .type = TR_SCHEMA_INTEGER, .flags = TR_SCHEMA_REQUIRED,       \
        .dflt = "1", .check = tr_log_queue_check_concurrency,                                      \
        .help = "1: one batch at a time; -1: every entry sent at once",                            \
        TR_SCHEMA_BIND(struct tr_log_queue_conf, concurrency_limit)                                \
    }

/* The concurrency_limit row's check: 1 or -1 ("expected one of: -1, 1"). */
int tr_log_queue_check_concurrency(json_t *rec, const char *name, char *msg, size_t msg_len);

struct tr_log_queue;

/* A batch being sent: entries[0..n) with their lengths. */
struct tr_log_batch {
    struct tr_log_queue *queue;
    char **entries;
    size_t *lens;
    size_t n;
    void *sender; /* the owner's per-batch state (a connection), kept across retries */
};

/* Send b; call tr_log_batch_done(b, ...) once, later or before returning. */
typedef void (*tr_log_queue_send_fn)(void *ud, struct tr_log_batch *b);
/* Free what b->sender holds (the batch is done for good). May be NULL. */
typedef void (*tr_log_queue_release_fn)(void *ud, struct tr_log_batch *b);

/* A queue named name (its key: what shares it), logging under tag. */
struct tr_log_queue *tr_log_queue_new(uv_loop_t *loop, const char *tag, const char *name,
                                      const struct tr_log_queue_conf *conf,
                                      tr_log_queue_send_fn send, tr_log_queue_release_fn release,
                                      void *ud);
/* Queue one entry (taken: malloc'ed text of len bytes). Returns 0, or TR_ETOOLARGE when the
 * entry alone passes max_bytes (it is freed and the refusal logged). */
int tr_log_queue_add(struct tr_log_queue *q, char *entry, size_t len);
/* The batch's outcome: ok, or the reason it failed (retried per the conf). */
void tr_log_batch_done(struct tr_log_batch *b, bool ok, const char *err);
/* The name and the ud it was made with. */
const char *tr_log_queue_name(const struct tr_log_queue *q);
void *tr_log_queue_ud(const struct tr_log_queue *q);
/* Entries dropped so far (a full queue, retries given up). */
uint64_t tr_log_queue_dropped(const struct tr_log_queue *q);
/* Free the queue; waiting entries are dropped, a batch in flight is abandoned (its done is
 * then ignored) and released. The timers close on the loop's next turns. */
void tr_log_queue_free(struct tr_log_queue *q);

#endif
