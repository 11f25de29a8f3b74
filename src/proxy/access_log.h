/* SPDX-License-Identifier: MIT */
/* Per-worker access log: lines are formatted into a memory buffer and written with one
 * write(2) when the buffer fills or on the worker's 1 s tick; no fsync. */
#ifndef TR_PROXY_ACCESS_LOG_H
#define TR_PROXY_ACCESS_LOG_H

#include <stddef.h>

struct tr_access_log;

/* Open path for appending (creating parent-less files 0640). NULL on error (logged). */
struct tr_access_log *tr_access_log_open(const char *path);
/* Append one line (without the newline). */
void tr_access_log_append(struct tr_access_log *log, const char *line, size_t len);
void tr_access_log_flush(struct tr_access_log *log);
/* Flush and close; NULL is ignored. */
void tr_access_log_close(struct tr_access_log *log);

#endif
