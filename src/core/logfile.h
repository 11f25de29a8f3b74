/* SPDX-License-Identifier: MIT */
/* An append-only log file with a memory buffer: lines are collected and written with one
 * write(2) when the buffer fills or when its owner flushes (a worker's 1 s tick, the Admin API
 * after each answer); no fsync. One owner thread per file object; several objects (one per
 * worker) may append to the same path, since O_APPEND writes of whole lines do not interleave. */
#ifndef TR_CORE_LOGFILE_H
#define TR_CORE_LOGFILE_H

#include <stddef.h>

struct tr_logfile;

/* Reopening for log rotation (nginx's USR1; `torii reopen`): tr_logfile_request_reopen bumps a
 * process-wide generation (any thread, or a signal's callback), and every log object opens its
 * path again at its next flush once the generation moved. Other writers of files (the file-log
 * plugin) compare tr_logfile_generation with the one they opened at. */
void tr_logfile_request_reopen(void);
unsigned long tr_logfile_generation(void);

/* Open path for appending (created 0640). NULL on error (logged). */
struct tr_logfile *tr_logfile_open(const char *path);
/* Append one line (without the newline); a line longer than the buffer is cut. */
void tr_logfile_append(struct tr_logfile *log, const char *line, size_t len);
void tr_logfile_flush(struct tr_logfile *log);
/* Flush and close; NULL is ignored. */
void tr_logfile_close(struct tr_logfile *log);

/* Copy src into dst (of dst_len bytes, NUL-terminated) as nginx escapes variables in a log
 * line: '"', '\\', control bytes and bytes >= 0x7f become \xHH, so a client cannot forge a
 * field or a line. Stops early rather than cut an escape; returns the length written. */
size_t tr_logfile_escape(char *dst, size_t dst_len, const char *src, size_t src_len);

#endif
