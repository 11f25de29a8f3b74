/* SPDX-License-Identifier: MIT */
/* udp-log (Kong 3.9): each request's serialized JSON (tr_ctx_log_serialize) in one datagram to
 * host:port, without a newline, sent from the worker's loop after the request (libuv's UDP
 * handle, one per worker thread); a name is resolved on libuv's pool for each datagram. A send
 * that fails is named in the error log; the request never waits for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netdb.h>
#include <uv.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/socket.h"
#include "plugins/log_common.h"
#include "plugins/plugin.h"
#include "schema/schema.h"

struct udp_log_conf {
    char *host; /* owned */
    int port;
    double timeout; /* ms; Kong's setting (a datagram send does not wait) */
};

static const struct tr_schema_field conf_fields[] = {
    TR_LOG_DEST_ROWS(struct udp_log_conf, "datagrams"),
    TR_LOG_MS_ROW(struct udp_log_conf, timeout, "10000",
                  "ms (Kong's setting; a datagram is sent without waiting)"),
    TR_SCHEMA_FIELD_NO_LUA,
};

static const struct tr_schema conf_schema = {
    .name = "udp-log",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
};

static void conf_free(void *p)
{
    tr_schema_free_struct(&conf_schema, p);
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    struct udp_log_conf *c = tr_schema_parse_new(&conf_schema, config, sizeof(*c));
    if (c->host == NULL) {
        snprintf(err, err_len, "host is required");
        conf_free(c);
        return NULL;
    }
    return c;
}

/* One datagram on its way: the text, where it goes, and the libuv requests. */
struct datagram {
    uv_udp_send_t send;
    uv_getaddrinfo_t gai;
    uv_udp_t *udp;
    char *text;
    size_t len;
    char dest[300]; /* host:port, for the log */
};

static void datagram_free(struct datagram *d)
{
    free(d->text);
    free(d);
}

static void on_sent(uv_udp_send_t *req, int status)
{
    struct datagram *d = req->data;
    if (status < 0)
        tr_log_error("[udp-log] could not send data to %s: %s", d->dest, uv_strerror(status));
    datagram_free(d);
}

static void send_to(struct datagram *d, const struct sockaddr *sa)
{
    uv_buf_t b = uv_buf_init(d->text, (unsigned)d->len);
    d->send.data = d;
    int rc = uv_udp_send(&d->send, d->udp, &b, 1, sa, on_sent);
    if (rc != 0) {
        tr_log_error("[udp-log] could not send data to %s: %s", d->dest, uv_strerror(rc));
        datagram_free(d);
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct datagram *d = req->data;
    if (status != 0 || res == NULL) {
        tr_log_error("[udp-log] could not connect to %s: %s", d->dest,
                     status ? uv_strerror(status) : "no address");
        uv_freeaddrinfo(res);
        datagram_free(d);
        return;
    }
    send_to(d, res->ai_addr);
    uv_freeaddrinfo(res);
}

static void on_udp_closed(uv_handle_t *h)
{
    free(h);
}

static void udp_log_log(struct tr_ctx *ctx, const void *p)
{
    const struct udp_log_conf *c = p;
    void **slot = tr_ctx_worker_slot(ctx);
    if (*slot == NULL) {
        uv_udp_t *udp = tr_xcalloc(1, sizeof(*udp));
        uv_udp_init(tr_ctx_loop(ctx), udp);
        *slot = udp;
    }
    struct datagram *d = tr_xcalloc(1, sizeof(*d));
    d->udp = *slot;
    d->text = tr_ctx_log_serialize(ctx, &d->len);
    if (d->text == NULL) {
        free(d);
        return;
    }
    snprintf(d->dest, sizeof(d->dest), "%s:%d", c->host, c->port);
    struct sockaddr_storage ss;
    if (tr_sock_addr_literal(c->host, (uint16_t)c->port, &ss)) {
        send_to(d, (struct sockaddr *)&ss);
        return;
    }
    char port[8];
    snprintf(port, sizeof(port), "%d", c->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
    d->gai.data = d;
    if (uv_getaddrinfo(tr_ctx_loop(ctx), &d->gai, on_resolved, c->host, port, &hints) != 0) {
        tr_log_error("[udp-log] could not connect to %s: cannot resolve", d->dest);
        datagram_free(d);
    }
}

static void worker_free(void *slot)
{
    uv_close(slot, on_udp_closed);
}

/* Priority 8 as Kong. */
const struct tr_plugin tr_plugin_udp_log = {
    .name = "udp-log",
    .version = "1.0.0",
    .priority = 8,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .log = udp_log_log,
    .worker_free = worker_free,
};
