/* SPDX-License-Identifier: MIT */
/* Buffered append-only log files (access logs). */
#include "core/logfile.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"

#define LOGFILE_BUF (64 * 1024)

struct tr_logfile {
    int fd;
    unsigned long gen; /* tr_logfile_generation when fd was opened */
    char *path;        /* owned */
    size_t len;
    char buf[LOGFILE_BUF];
};

static atomic_ulong generation;

void tr_logfile_request_reopen(void)
{
    atomic_fetch_add_explicit(&generation, 1, memory_order_relaxed);
}

unsigned long tr_logfile_generation(void)
{
    return atomic_load_explicit(&generation, memory_order_relaxed);
}

struct tr_logfile *tr_logfile_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd == -1) {
        tr_log_error("access log: cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct tr_logfile *log = tr_xmalloc(sizeof(*log));
    log->fd = fd;
    log->gen = tr_logfile_generation();
    log->path = tr_xstrdup(path);
    log->len = 0;
    return log;
}

/* After a reopen request: the buffered lines go to the old file, then the path is opened
 * again (a rotated file's successor); on failure the old file keeps being written. */
static void reopen_if_asked(struct tr_logfile *log)
{
    unsigned long gen = tr_logfile_generation();
    if (gen == log->gen)
        return;
    log->gen = gen;
    int fd = open(log->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd == -1) {
        tr_log_error("access log: cannot reopen %s: %s", log->path, strerror(errno));
        return;
    }
    close(log->fd);
    log->fd = fd;
}

void tr_logfile_flush(struct tr_logfile *log)
{
    size_t off = 0;
    while (off < log->len) {
        ssize_t n = write(log->fd, log->buf + off, log->len - off);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            break; /* a full disk must not stop the node; the lines are dropped */
        }
        off += (size_t)n;
    }
    log->len = 0;
    reopen_if_asked(log);
}

void tr_logfile_append(struct tr_logfile *log, const char *line, size_t len)
{
    if (len + 1 > sizeof(log->buf) - log->len)
        tr_logfile_flush(log);
    if (len + 1 > sizeof(log->buf))
        len = sizeof(log->buf) - 1;
    memcpy(log->buf + log->len, line, len);
    log->buf[log->len + len] = '\n';
    log->len += len + 1;
}

void tr_logfile_close(struct tr_logfile *log)
{
    if (log == NULL)
        return;
    tr_logfile_flush(log);
    close(log->fd);
    free(log->path);
    free(log);
}

size_t tr_logfile_escape(char *dst, size_t dst_len, const char *src, size_t src_len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    if (dst_len == 0)
        return 0;
    for (size_t i = 0; i < src_len; i++) {
        unsigned char ch = (unsigned char)src[i];
        bool plain = ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\';
        if (o + (plain ? 1 : 4) >= dst_len)
            break;
        if (plain) {
            dst[o++] = (char)ch;
        } else {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[ch >> 4];
            dst[o++] = hex[ch & 15];
        }
    }
    dst[o] = '\0';
    return o;
}
