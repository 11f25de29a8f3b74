/* SPDX-License-Identifier: MIT */
/* The error log: leveled lines to stderr or a file. Thread-safe (one write(2) per line). The
 * access log lives in proxy/access_log.c and buffers per worker. */
#ifndef TR_CORE_LOG_H
#define TR_CORE_LOG_H

#include <stdarg.h>

enum tr_log_level {
    TR_LOG_DEBUG,
    TR_LOG_INFO,
    TR_LOG_NOTICE,
    TR_LOG_WARN,
    TR_LOG_ERROR,
    TR_LOG_CRIT
};

/* Parse "debug", "info", "notice", "warn", "error", "crit"; -1 if unknown (no level: a value,
 * not a TR_E* code). */
int tr_log_level_parse(const char *name);
void tr_log_set_level(enum tr_log_level level);
/* Send lines to path (appended, created 0640) or back to stderr when path is NULL or "off"
 * means nothing is written. Returns 0 or -errno. */
int tr_log_open(const char *path);
void tr_log_close(void);

void tr_log(enum tr_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define tr_log_debug(...) tr_log(TR_LOG_DEBUG, __VA_ARGS__)
#define tr_log_info(...) tr_log(TR_LOG_INFO, __VA_ARGS__)
#define tr_log_notice(...) tr_log(TR_LOG_NOTICE, __VA_ARGS__)
#define tr_log_warn(...) tr_log(TR_LOG_WARN, __VA_ARGS__)
#define tr_log_error(...) tr_log(TR_LOG_ERROR, __VA_ARGS__)

#endif
