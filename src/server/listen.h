/* SPDX-License-Identifier: MIT */
/* Listening sockets, opened by the main thread before any worker starts so that a bad address
 * or a port in use stops start-up with a clear message. */
#ifndef TR_SERVER_LISTEN_H
#define TR_SERVER_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

struct tr_listen;

struct sockaddr_storage;

/* Fill *ss / *len with the address of l ("localhost" is 127.0.0.1). When connect_form, the
 * wildcard addresses 0.0.0.0 and :: become the loopback address, for a local client that wants
 * to reach the listener. Returns 0, or -1 when l->host is not an IP literal. */
int tr_listen_sockaddr(const struct tr_listen *l, bool connect_form, struct sockaddr_storage *ss,
                       unsigned *len);

/* Open a TCP listening socket for l (non-blocking, CLOEXEC, SO_REUSEADDR, and SO_REUSEPORT when
 * reuseport). Returns the fd, or -1 with a message in err. */
int tr_listen_open(const struct tr_listen *l, bool reuseport, char *err, size_t err_len);

#endif
