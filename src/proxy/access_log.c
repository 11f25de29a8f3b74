/* SPDX-License-Identifier: MIT */
/* The access log line of a proxied exchange. */
#include <stdio.h>

#include "core/clock.h"
#include "core/logfile.h"
#include "proxy/internal.h"
#include "snapshot/snapshot.h"

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
    char path[520]; /* the first 128 bytes at least, escaped */
    tr_logfile_escape(path, sizeof(path), ex->path.ptr, ex->path.len > 512 ? 512 : ex->path.len);
    int n = snprintf(line, sizeof(line),
                     "%s - - [%s] \"%.*s %s HTTP/1.%d\" %d %llu \"%s\" upstream=%s%s%s "
                     "proxy_latency=%u upstream_latency=%u request_time=%u",
                     peer, w->log_time, (int)ex->method.len, ex->method.ptr, path,
                     ex->minor_version, ex->status, (unsigned long long)ex->bytes_sent,
                     ex->route && ex->route->api_name ? ex->route->api_name : "-",
                     ex->upstream_addr[0] ? ex->upstream_addr : "-",
                     ex->upstream_error ? " upstream_error=" : "",
                     ex->upstream_error ? ex->upstream_error : "",
                     ms_of(ex->t_start, ex->t_upstream_start),
                     ms_of(ex->t_upstream_start, ex->t_upstream_head), ms_of(ex->t_start, end));
    if (n > 0)
        tr_logfile_append(w->access_log, line,
                          (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}
