/* SPDX-License-Identifier: MIT */
/* Error log writer: one formatted line, one write(2), so threads never interleave a line. */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *level_names[] = {"debug", "info", "notice", "warn", "error", "crit"};
static _Atomic int current_level = TR_LOG_NOTICE;
static _Atomic int log_fd = 2;

int tr_log_level_parse(const char *name)
{
    for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++) {
        if (strcmp(name, level_names[i]) == 0)
            return i;
    }
    return -1;
}

void tr_log_set_level(enum tr_log_level level)
{
    current_level = level;
}

int tr_log_open(const char *path)
{
    int fd;
    if (path == NULL) {
        fd = 2;
    } else if (strcmp(path, "off") == 0) {
        fd = -1;
    } else {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd == -1)
            return -errno;
    }
    int old = atomic_exchange(&log_fd, fd);
    if (old > 2)
        close(old);
    return 0;
}

void tr_log_close(void)
{
    int old = atomic_exchange(&log_fd, 2);
    if (old > 2)
        close(old);
}

void tr_log(enum tr_log_level level, const char *fmt, ...)
{
    if ((int)level < current_level)
        return;
    int fd = log_fd;
    if (fd < 0)
        return;

    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n =
        snprintf(line, sizeof(line), "%04d/%02d/%02d %02d:%02d:%02d [%s] ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len =
        (size_t)n +
        ((size_t)m < sizeof(line) - (size_t)n - 1 ? (size_t)m : sizeof(line) - (size_t)n - 2);
    line[len++] = '\n';
    ssize_t w = write(fd, line, len);
    (void)w;
}
