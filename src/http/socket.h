/* SPDX-License-Identifier: MIT */
/* One TCP connection over libuv, plain or TLS, as both sides of the proxy use it (H2O's
 * h2o_socket_t): an input buffer with a hard maximum that libuv reads into (plaintext; with
 * TLS, decrypted from the ciphertext libuv read into the TLS input), writes that try the
 * syscall first and copy only what the kernel did not take, write-queue accounting for
 * back-pressure, the TLS handshake, close_notify, the half-close of a lingering close, and
 * closing with every handle counted. What the bytes mean is the owner's business: it learns of
 * input, of the handshake and of drained writes through callbacks, and keeps its own timers.
 *
 * Everything runs on the loop the socket was made on. Callbacks run from libuv callbacks
 * (never from inside a tr_sock_* call made by the owner, except tr_sock_start_tls, which may
 * report a failed handshake), and the socket stays valid until the close callback. */
#ifndef TR_HTTP_SOCKET_H
#define TR_HTTP_SOCKET_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "core/buf.h"

struct tr_sock;
struct tr_tls_conn;

struct tr_sock_cbs {
    /* New bytes are in s->in (status 0), or the input ended: TR_EOF for an orderly end (FIN,
     * or close_notify with TLS), TR_EIO for a reset or a TLS error. After an end, reading has
     * stopped for good. While reading, the owner consumes what it can from s->in; once s->in
     * is full, reading stops until tr_sock_read_start. */
    void (*on_read)(struct tr_sock *s, int status);
    /* The TLS handshake finished (status 0) or failed (TR_EIO), or the first bytes on a
     * server socket were a plain HTTP request (TR_EBADREQ: the owner answers in clear after
     * tr_sock_drop_tls, or closes). May be NULL for a plain socket. */
    void (*on_handshake)(struct tr_sock *s, int status);
    /* A queued write completed and fewer than s->queue_low bytes remain queued (status 0), or
     * a write failed (TR_EIO: the connection is dead). */
    void (*on_drained)(struct tr_sock *s, int status);
};

struct tr_sock {
    uv_tcp_t tcp;                  /* tcp.data = this; the owner may connect or accept on it */
    struct tr_buf in;              /* owned; plaintext received and not consumed yet */
    struct tr_tls_conn *tls;       /* owned; NULL for plain TCP */
    void *data;                    /* the owner's */
    const struct tr_sock_cbs *cbs; /* borrowed; lives as long as the socket */
    size_t queue_low;              /* on_drained threshold in bytes (see above) */
    unsigned pending_writes;       /* queued writes not completed yet (read-only) */
    bool reading;                  /* uv_read_start is active (read-only) */
    bool eof;                      /* the input ended (read-only) */
    bool closing;                  /* tr_sock_close was called (read-only) */
    bool discarding;               /* after tr_sock_shutdown: input is dropped unread */
    unsigned handles;              /* open libuv handles (tcp, tls_pump) */
    uv_timer_t tls_pump;           /* with tls: decrypt buffered input on the next loop turn */
    uv_shutdown_t shutdown_req;    /* the one half-close (tr_sock_shutdown) */
    void (*on_closed)(struct tr_sock *s);
};

/* Bytes the input buffer gets at first; it doubles (up to in_max) when less than 4 KiB are
 * free for a read. */
#define TR_SOCK_IN_INITIAL (16 * 1024)

/* Set up s on loop (uv_tcp_init) with an input buffer of at most in_max bytes, reporting to
 * cbs with data as the owner. Returns 0, or TR_ENOMEM (the TCP handle is initialised anyway:
 * close it with tr_sock_close). */
int tr_sock_init(struct tr_sock *s, uv_loop_t *loop, const struct tr_sock_cbs *cbs, void *data,
                 size_t in_max) TR_WARN_UNUSED;

/* Speak TLS over s from now on; takes tls (owned). A client connection sends its hello at
 * once; a failure to do so is reported through on_handshake before this returns. */
void tr_sock_start_tls(struct tr_sock *s, struct tr_tls_conn *tls);
/* Back to plain TCP: the TLS state and the ciphertext it holds are dropped. */
void tr_sock_drop_tls(struct tr_sock *s);

/* Start reading (nothing when already reading, after the end of input, while closing, or with
 * a full input buffer). With TLS, plaintext already decrypted or buffered is delivered on the
 * next loop turn, never from inside this call. */
void tr_sock_read_start(struct tr_sock *s);
void tr_sock_read_stop(struct tr_sock *s);

/* Write bufs (encrypted first with TLS, where small pieces are joined so that one head and
 * body make one record). The syscall is tried at once; what the kernel does not take is
 * copied and queued. Returns 0 or TR_EIO (closing, or the socket failed). */
int tr_sock_write(struct tr_sock *s, const uv_buf_t *bufs, unsigned nbufs);

/* Bytes queued for writing. */
static inline size_t tr_sock_queued(const struct tr_sock *s)
{
    return s->tcp.write_queue_size;
}

/* Send close_notify (TLS) and shut the write side down once queued writes are out. From then
 * on input is dropped unread: on_read reports only its end (a lingering close). Returns 0, or
 * TR_EIO when the half-close cannot start (the caller closes). */
int tr_sock_shutdown(struct tr_sock *s);

/* Close now, whatever is in flight; on_closed (may be NULL) runs once every handle is closed,
 * after the input buffer and the TLS state are freed: the owner may free s then. */
void tr_sock_close(struct tr_sock *s, void (*on_closed)(struct tr_sock *s));

/* host as an IPv4 or IPv6 literal with port, into *ss: true, or false for a name (resolve it). */
bool tr_sock_addr_literal(const char *host, uint16_t port, struct sockaddr_storage *ss);

#endif
