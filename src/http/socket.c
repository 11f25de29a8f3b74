/* SPDX-License-Identifier: MIT */
/* One TCP connection, plain or TLS, over libuv (socket.h). The read side hands libuv space at
 * the end of the socket's own buffer (with TLS, of the TLS input buffer: ciphertext is never
 * copied), the write side tries the syscall first and queues only what the kernel did not take.
 * Besides saving a copy and an allocation, trying first avoids libuv's per-completion
 * epoll_ctl. */
#include "http/socket.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "http/tls.h"

/* A read is offered at least this much room while the buffer's maximum allows. */
#define READ_MIN (4 * 1024)
/* Room for ciphertext per read: one full TLS record and its overhead. */
#define TLS_READ (16 * 1024)
/* Pieces of one write smaller than this are joined into one TLS record. */
#define TLS_JOIN (16 * 1024)

/* One queued write; it owns a copy of the bytes the kernel did not take. */
struct wbuf {
    uv_write_t req;
    struct tr_sock *s;
    char data[];
};

static void tls_input(struct tr_sock *s);

/* ---- lifetime ----------------------------------------------------------------------------- */

int tr_sock_init(struct tr_sock *s, uv_loop_t *loop, const struct tr_sock_cbs *cbs, void *data,
                 size_t in_max)
{
    memset(s, 0, sizeof(*s));
    uv_tcp_init(loop, &s->tcp);
    s->tcp.data = s;
    s->handles = 1;
    s->cbs = cbs;
    s->data = data;
    tr_buf_init(&s->in, in_max);
    size_t first = in_max < TR_SOCK_IN_INITIAL ? in_max : TR_SOCK_IN_INITIAL;
    return tr_buf_reserve(&s->in, first) == 0 ? 0 : TR_ENOMEM;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct tr_sock *s = h->data;
    if (--s->handles > 0)
        return;
    tr_tls_conn_free(s->tls);
    s->tls = NULL;
    tr_buf_free(&s->in);
    if (s->on_closed)
        s->on_closed(s); /* may free s */
}

void tr_sock_close(struct tr_sock *s, void (*on_closed)(struct tr_sock *s))
{
    if (s->closing)
        return;
    s->closing = true;
    s->reading = false;
    s->on_closed = on_closed;
    uv_close((uv_handle_t *)&s->tcp, on_handle_closed);
    if (s->tls)
        uv_close((uv_handle_t *)&s->tls_pump, on_handle_closed);
}

/* ---- writing ------------------------------------------------------------------------------ */

static void on_written(uv_write_t *req, int status)
{
    struct wbuf *wb = TR_CONTAINER_OF(req, struct wbuf, req);
    struct tr_sock *s = wb->s;
    free(wb);
    s->pending_writes--;
    if (s->closing)
        return;
    if (status < 0)
        s->cbs->on_drained(s, TR_EIO);
    else if (tr_sock_queued(s) < s->queue_low)
        s->cbs->on_drained(s, 0);
}

/* Write bufs to the TCP stream: try at once when nothing is queued (most writes complete),
 * then queue a copy of the rest in one block owned by its write request. */
static int stream_write(struct tr_sock *s, const uv_buf_t *bufs, unsigned nbufs)
{
    size_t total = 0;
    for (unsigned i = 0; i < nbufs; i++)
        total += bufs[i].len;
    if (total == 0)
        return 0;
    size_t done = 0;
    if (s->tcp.write_queue_size == 0) {
        int n = uv_try_write((uv_stream_t *)&s->tcp, bufs, nbufs);
        if (n < 0 && n != UV_EAGAIN)
            return TR_EIO;
        if (n > 0)
            done = (size_t)n;
        if (done == total)
            return 0;
    }
    struct wbuf *wb = tr_xmalloc(sizeof(*wb) + (total - done));
    wb->s = s;
    size_t off = 0, skip = done;
    for (unsigned i = 0; i < nbufs; i++) {
        size_t len = bufs[i].len;
        const char *p = bufs[i].base;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        p += skip;
        len -= skip;
        skip = 0;
        memcpy(wb->data + off, p, len);
        off += len;
    }
    uv_buf_t one = uv_buf_init(wb->data, (unsigned)off);
    if (uv_write(&wb->req, (uv_stream_t *)&s->tcp, &one, 1, on_written) != 0) {
        free(wb);
        return TR_EIO;
    }
    s->pending_writes++;
    return 0;
}

/* Send the ciphertext collected in s->tls->out. */
static int tls_flush(struct tr_sock *s)
{
    struct tr_buf *out = &s->tls->out;
    if (out->len == 0)
        return 0;
    uv_buf_t b = uv_buf_init(out->ptr, (unsigned)out->len);
    int rc = stream_write(s, &b, 1);
    out->len = 0;
    return rc;
}

/* Encrypt bufs; small pieces are joined so one head and body make one record. */
static int tls_write(struct tr_sock *s, const uv_buf_t *bufs, unsigned nbufs)
{
    char join[TLS_JOIN];
    size_t jl = 0;
    for (unsigned i = 0; i < nbufs; i++) {
        if (jl + bufs[i].len <= sizeof(join)) {
            memcpy(join + jl, bufs[i].base, bufs[i].len);
            jl += bufs[i].len;
            continue;
        }
        if (jl && tr_tls_conn_write(s->tls, join, jl) != 0)
            return TR_EIO;
        jl = 0;
        if (tr_tls_conn_write(s->tls, bufs[i].base, bufs[i].len) != 0)
            return TR_EIO;
    }
    if (jl && tr_tls_conn_write(s->tls, join, jl) != 0)
        return TR_EIO;
    return tls_flush(s);
}

int tr_sock_write(struct tr_sock *s, const uv_buf_t *bufs, unsigned nbufs)
{
    if (s->closing)
        return TR_EIO;
    return s->tls ? tls_write(s, bufs, nbufs) : stream_write(s, bufs, nbufs);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status;
}

int tr_sock_shutdown(struct tr_sock *s)
{
    if (s->tls && s->tls->established) {
        /* close_notify before the TCP half-close. A failure shows in the shutdown. */
        tr_tls_conn_shutdown(s->tls);
        tls_flush(s);
    }
    if (uv_shutdown(&s->shutdown_req, (uv_stream_t *)&s->tcp, on_shutdown) != 0)
        return TR_EIO;
    s->discarding = true;
    s->in.len = 0;
    if (s->tls)
        s->tls->in_off = s->tls->in.len = 0;
    return 0;
}

/* ---- reading ------------------------------------------------------------------------------ */

/* Room for the next read into s->in: at least READ_MIN bytes while the maximum allows, less
 * near the maximum, none when the buffer is full or memory ran out. */
static size_t read_room(struct tr_sock *s)
{
    size_t left = s->in.max - s->in.len;
    if (tr_buf_reserve(&s->in, left < READ_MIN ? left : READ_MIN) != 0)
        return 0;
    return tr_buf_room(&s->in);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct tr_sock *s = h->data;
    (void)suggested;
    if (s->tls) {
        /* Ciphertext goes straight into the TLS input buffer. No room makes libuv report
         * ENOBUFS, which ends the input with an error. */
        if (tr_tls_conn_in_space(s->tls, TLS_READ) != 0) {
            b->base = NULL;
            b->len = 0;
            return;
        }
        b->base = tr_buf_tail(&s->tls->in);
        b->len = tr_buf_room(&s->tls->in);
        return;
    }
    b->len = read_room(s);
    b->base = b->len ? tr_buf_tail(&s->in) : NULL;
}

/* The input ended (status TR_EOF or TR_EIO): reading stops for good. */
static void end_input(struct tr_sock *s, int status)
{
    s->eof = true;
    tr_sock_read_stop(s);
    s->cbs->on_read(s, status);
}

/* New plaintext is in s->in: tell the owner, and never hand libuv a full buffer afterwards
 * (it would report ENOBUFS). */
static void deliver(struct tr_sock *s)
{
    s->cbs->on_read(s, 0);
    if (s->reading && tr_buf_full(&s->in))
        tr_sock_read_stop(s);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    struct tr_sock *s = st->data;
    (void)b;
    if (nread == 0)
        return;
    if (nread < 0) {
        end_input(s, nread == UV_EOF ? TR_EOF : TR_EIO);
        return;
    }
    if (s->tls) {
        tr_buf_commit(&s->tls->in, (size_t)nread);
        tls_input(s);
        return;
    }
    if (s->discarding)
        return; /* read into the buffer's free room and forgotten */
    tr_buf_commit(&s->in, (size_t)nread);
    deliver(s);
}

/* Advance the handshake. Returns true when it is done and input may be decrypted. */
static bool tls_handshake(struct tr_sock *s)
{
    struct tr_tls_conn *t = s->tls;
    int rc = tr_tls_conn_handshake(t);
    if (rc == TR_EBADREQ) {
        s->cbs->on_handshake(s, TR_EBADREQ);
        return false;
    }
    if (tls_flush(s) != 0 && rc >= 0)
        rc = TR_EIO;
    if (rc == 0)
        return false;
    s->cbs->on_handshake(s, rc < 0 ? TR_EIO : 0);
    return rc > 0 && s->tls == t;
}

/* Ciphertext arrived (or waits): finish the handshake, then decrypt into s->in for as long as
 * the owner reads and the buffer has room. */
static void tls_input(struct tr_sock *s)
{
    struct tr_tls_conn *t = s->tls;
    if (s->discarding) {
        t->in_off = t->in.len = 0;
        return;
    }
    if (!t->established && !tls_handshake(s))
        return;
    while (s->reading && !s->closing && !s->discarding) {
        size_t room = read_room(s);
        if (room == 0)
            break;
        int n = tr_tls_conn_read(t, tr_buf_tail(&s->in), room);
        if (t->out.len && tls_flush(s) != 0)
            n = TR_EIO; /* OpenSSL had to answer (a key update) and could not */
        if (n == 0)
            break;
        if (n < 0) {
            /* close_notify is an orderly end; anything else is a reset. */
            end_input(s, t->peer_closed ? TR_EOF : TR_EIO);
            return;
        }
        tr_buf_commit(&s->in, (size_t)n);
        deliver(s);
    }
}

static void on_tls_pump(uv_timer_t *timer)
{
    struct tr_sock *s = timer->data;
    if (!s->closing && s->reading && s->tls)
        tls_input(s);
}

void tr_sock_read_start(struct tr_sock *s)
{
    if (s->reading || s->eof || s->closing || tr_buf_full(&s->in))
        return;
    if (uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read) != 0)
        return;
    s->reading = true;
    /* Plaintext may wait inside TLS with no new bytes coming: decrypt it on the next loop
     * turn (never from inside the owner's code that resumed reading). */
    if (s->tls && s->tls->established && tr_tls_conn_has_input(s->tls))
        uv_timer_start(&s->tls_pump, on_tls_pump, 0, 0);
}

void tr_sock_read_stop(struct tr_sock *s)
{
    if (!s->reading)
        return;
    uv_read_stop((uv_stream_t *)&s->tcp);
    s->reading = false;
}

/* ---- TLS ---------------------------------------------------------------------------------- */

void tr_sock_start_tls(struct tr_sock *s, struct tr_tls_conn *tls)
{
    s->tls = tls;
    uv_timer_init(s->tcp.loop, &s->tls_pump);
    s->tls_pump.data = s;
    s->handles++;
    /* A client speaks first: its hello goes out now. A server waits for input (its first
     * bytes tell a plain HTTP request from a hello only before the handshake starts). */
    if (!SSL_is_server(tls->ssl))
        tls_handshake(s);
}

void tr_sock_drop_tls(struct tr_sock *s)
{
    tr_tls_conn_free(s->tls);
    s->tls = NULL;
    uv_close((uv_handle_t *)&s->tls_pump, on_handle_closed);
}

bool tr_sock_addr_literal(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    return uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0 ||
           uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0;
}
