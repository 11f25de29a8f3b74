/* SPDX-License-Identifier: MIT */
/* Buffered access log writer and the line format of a proxied exchange. */
#include "proxy/access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "proxy/internal.h"
#include "snapshot/snapshot.h"

#define ACCESS_LOG_BUF (64 * 1024)

struct tr_access_log {
    int fd;
    size_t len;
    char buf[ACCESS_LOG_BUF];
};

struct tr_access_log *tr_access_log_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd == -1) {
        tr_log_error("access log: cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct tr_access_log *log = tr_xmalloc(sizeof(*log));
    log->fd = fd;
    log->len = 0;
    return log;
}

void tr_access_log_flush(struct tr_access_log *log)
{
    size_t off = 0;
    while (off < log->len) {
        ssize_t n = write(log->fd, log->buf + off, log->len - off);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            break; /* a full disk must not stop the proxy; the lines are dropped */
        }
        off += (size_t)n;
    }
    log->len = 0;
}

void tr_access_log_append(struct tr_access_log *log, const char *line, size_t len)
{
    if (len + 1 > sizeof(log->buf) - log->len)
        tr_access_log_flush(log);
    if (len + 1 > sizeof(log->buf))
        len = sizeof(log->buf) - 1;
    memcpy(log->buf + log->len, line, len);
    log->buf[log->len + len] = '\n';
    log->len += len + 1;
}

void tr_access_log_close(struct tr_access_log *log)
{
    if (log == NULL)
        return;
    tr_access_log_flush(log);
    close(log->fd);
    free(log);
}

static unsigned ms_of(uint64_t from, uint64_t to)
{
    return (from && to > from) ? (unsigned)((to - from) / 1000) : 0;
}

void tr__access_log_exchange(struct tr_proxy_worker *w, const struct tr_exchange *ex)
{
    if (w->access_log == NULL)
        return;
    char line[1024];
    uint64_t end = tr_clock_mono_us();
    const char *peer = ex->client_ip[0] ? ex->client_ip : "-"; /* P8's client address */
    int path_len = ex->path.len > 512 ? 512 : (int)ex->path.len;
    int n = snprintf(line, sizeof(line),
                     "%s - - [%s] \"%.*s %.*s HTTP/1.%d\" %d %llu \"%s\" upstream=%s%s%s "
                     "proxy_latency=%u upstream_latency=%u request_time=%u",
                     peer, w->log_time, (int)ex->method.len, ex->method.ptr, path_len, ex->path.ptr,
                     ex->minor_version, ex->status, (unsigned long long)ex->bytes_sent,
                     ex->route && ex->route->api_name ? ex->route->api_name : "-",
                     ex->upstream_addr[0] ? ex->upstream_addr : "-",
                     ex->upstream_error ? " upstream_error=" : "",
                     ex->upstream_error ? ex->upstream_error : "",
                     ms_of(ex->t_start, ex->t_upstream_start),
                     ms_of(ex->t_upstream_start, ex->t_upstream_head), ms_of(ex->t_start, end));
    if (n > 0)
        tr_access_log_append(w->access_log, line,
                             (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}
