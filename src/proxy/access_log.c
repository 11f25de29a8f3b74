/* SPDX-License-Identifier: MIT */
/* The access log line of a proxied exchange, in one of two formats (proxy_access_log_format):
 *   kong  Kong's kong_log_format, field for field, then torii's timings:
 *         $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
 *         "$http_referer" "$http_user_agent" kong_request_id: "$kong_request_id"
 *         route=<name> upstream=<addr>[ upstream_error=<why>] proxy_latency=<ms>
 *         upstream_latency=<ms> request_time=<ms>
 *         (client bytes escaped as nginx escapes them, so a client cannot forge a field)
 *   json  one JSON object per line with the same facts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/conf.h"
#include "core/logfile.h"
#include "proxy/internal.h"
#include "snapshot/snapshot.h"

static unsigned ms_of(uint64_t from, uint64_t to)
{
    return (from && to > from) ? (unsigned)((to - from) / 1000) : 0;
}

/* A request header's value, or an empty slice. */
static struct tr_str header(const struct tr_exchange *ex, const char *name)
{
    for (size_t i = 0; i < ex->rv.num_headers; i++) {
        if (tr_str_ieq(ex->rv.headers[i].name, tr_str_from_cstr(name)))
            return ex->rv.headers[i].value;
    }
    return (struct tr_str){"", 0};
}

static const char *route_name(const struct tr_exchange *ex)
{
    if (ex->route == NULL)
        return "-";
    if (ex->route->api_name)
        return ex->route->api_name;
    return ex->route->name ? ex->route->name : ex->route->id;
}

static void kong_line(struct tr_proxy_worker *w, struct tr_exchange *ex, uint64_t end)
{
    char line[2048];
    const char *peer = ex->client_ip[0] ? ex->client_ip : "-"; /* P8's client address */
    char path[520], referer[260], agent[260]; /* the first 128 bytes at least, escaped */
    struct tr_str r = header(ex, "Referer"), ua = header(ex, "User-Agent");
    tr_logfile_escape(path, sizeof(path), ex->path.ptr, ex->path.len > 512 ? 512 : ex->path.len);
    tr_logfile_escape(referer, sizeof(referer), r.ptr, r.len > 256 ? 256 : r.len);
    tr_logfile_escape(agent, sizeof(agent), ua.ptr, ua.len > 256 ? 256 : ua.len);
    int n = snprintf(
        line, sizeof(line),
        "%s - - [%s] \"%.*s %s HTTP/1.%d\" %d %llu \"%s\" \"%s\" kong_request_id: \"%s\" "
        "route=%s upstream=%s%s%s proxy_latency=%u upstream_latency=%u request_time=%u",
        peer, w->log_time, (int)ex->method.len, ex->method.ptr, path, ex->minor_version, ex->status,
        (unsigned long long)ex->bytes_sent, r.len ? referer : "-", ua.len ? agent : "-",
        tr__ctx_request_id(&ex->ctx), route_name(ex),
        ex->upstream_addr[0] ? ex->upstream_addr : "-",
        ex->upstream_error ? " upstream_error=" : "", ex->upstream_error ? ex->upstream_error : "",
        ms_of(ex->t_start, ex->t_upstream_start), ms_of(ex->t_upstream_start, ex->t_upstream_head),
        ms_of(ex->t_start, end));
    if (n > 0)
        tr_logfile_append(w->access_log, line,
                          (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static json_t *text(struct tr_str s)
{
    json_t *j = json_stringn(s.ptr ? s.ptr : "", s.len);
    return j ? j : json_string("\xef\xbf\xbd"); /* not UTF-8: U+FFFD */
}

static void json_line(struct tr_proxy_worker *w, struct tr_exchange *ex, uint64_t end)
{
    json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:s,s:i,s:I,s:o,s:o,s:s,s:s,s:s,s:{s:i,s:i,s:i}}",
                          "time", w->log_time, "client_ip", ex->client_ip[0] ? ex->client_ip : "-",
                          "method", text(ex->method), "uri", text(ex->path), "protocol",
                          ex->minor_version ? "HTTP/1.1" : "HTTP/1.0", "status", ex->status,
                          "body_bytes_sent", (json_int_t)ex->bytes_sent, "referer",
                          text(header(ex, "Referer")), "user_agent", text(header(ex, "User-Agent")),
                          "kong_request_id", tr__ctx_request_id(&ex->ctx), "route", route_name(ex),
                          "upstream", ex->upstream_addr[0] ? ex->upstream_addr : "-", "latencies",
                          "proxy", (int)ms_of(ex->t_start, ex->t_upstream_start), "upstream",
                          (int)ms_of(ex->t_upstream_start, ex->t_upstream_head), "request",
                          (int)ms_of(ex->t_start, end));
    if (o == NULL)
        return;
    if (ex->upstream_error)
        json_object_set_new(o, "upstream_error", json_string(ex->upstream_error));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (s != NULL)
        tr_logfile_append(w->access_log, s, strlen(s));
    free(s);
}

void tr__access_log_exchange(struct tr_proxy_worker *w, struct tr_exchange *ex)
{
    if (w->access_log == NULL)
        return;
    uint64_t end = tr_clock_mono_us();
    if (w->conf->proxy_access_log_format == 1)
        json_line(w, ex, end);
    else
        kong_line(w, ex, end);
}
