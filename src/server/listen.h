/* SPDX-License-Identifier: MIT */
/* Listening sockets, opened by the main thread before any worker starts so that a bad address
 * or a port in use stops start-up with a clear message. */
#ifndef TR_SERVER_LISTEN_H
#define TR_SERVER_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

struct tr_listen;
struct tr_conf;

struct sockaddr_storage;

/* Fill *ss / *len with the address of l ("localhost" is 127.0.0.1). When connect_form, the
 * wildcard addresses 0.0.0.0 and :: become the loopback address, for a local client that wants
 * to reach the listener. Returns 0, or TR_EINVAL when l->host is not an IP literal. */
int tr_listen_sockaddr(const struct tr_listen *l, bool connect_form, struct sockaddr_storage *ss,
                       unsigned *len);

/* Open a TCP listening socket for l (non-blocking, CLOEXEC, SO_REUSEADDR, and SO_REUSEPORT when
 * reuseport). Returns the fd (>= 0), or TR_EINVAL (l->host is not an IP literal) or TR_EIO
 * (the system refused: the port is in use, ...) with a message in err. */
int tr_listen_open(const struct tr_listen *l, bool reuseport, char *err, size_t err_len);

/* Every listening socket of a node: worker_threads sockets per proxy address (SO_REUSEPORT,
 * one per worker thread) and one per admin address. Opened once by the master process and
 * inherited by each worker process it starts, so a restarted or reloaded worker process keeps
 * the same sockets and no connection is refused meanwhile. */
struct tr_sockets {
    int *proxy;      /* owned fds: [worker * num_proxy + address] */
    bool *proxy_ssl; /* per address */
    size_t num_workers, num_proxy;
    int admin[16]; /* owned fds */
    bool admin_loopback[16];
    size_t num_admin;
    int status[16]; /* owned fds: status_listen */
    bool status_loopback[16];
    size_t num_status;
};

/* Open every socket of conf. An address in use (even by a node that uses SO_REUSEPORT) stops
 * it: each address is first bound exclusively. Returns 0, or tr_listen_open's error with err
 * naming the setting. */
int tr_sockets_open(struct tr_sockets *s, const struct tr_conf *conf, char *err, size_t err_len);
/* Close every fd and free the arrays. */
void tr_sockets_close(struct tr_sockets *s);

/* Binary upgrade: a new master exec'ed on the same sockets. tr_sockets_export describes s as
 * text (counts, fds, flags) for the new process; tr_sockets_inheritable lets the fds survive
 * exec (call it in the child, right before exec); tr_sockets_import rebuilds s from the text
 * in the new process (CLOEXEC again) after checking it matches conf's listeners. Export and
 * import return 0, or TR_EINVAL (export: out is too small; import: with err saying why). */
int tr_sockets_export(const struct tr_sockets *s, char *out, size_t len);
void tr_sockets_inheritable(const struct tr_sockets *s);
int tr_sockets_import(struct tr_sockets *s, const char *text, const struct tr_conf *conf, char *err,
                      size_t err_len);

#endif
