/* SPDX-License-Identifier: MIT */
/* The Admin API's network side: listeners on the control loop, HTTP/1.1 with keep-alive,
 * complete bodies up to admin_max_body, and the P11 guards (browser Origin on writes, Host on a
 * loopback listener) with CORS answers for the listener's own origin and admin_gui_origins
 * only. Each complete request goes to tr_admin_handle. */
#ifndef TR_ADMIN_SERVER_H
#define TR_ADMIN_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

struct tr_admin_env;
struct tr_admin_server;
struct tr_conf;

/* Serve the Admin API on the listening sockets fds (borrowed: the server takes duplicates);
 * loopback[i] says whether fds[i] is bound to a loopback address (P11 Host check). Returns
 * NULL with a message in err. env is borrowed and must outlive the server. */
struct tr_admin_server *tr_admin_server_start(uv_loop_t *loop, const struct tr_conf *conf,
                                              struct tr_admin_env *env, const int *fds,
                                              const bool *loopback, size_t num_fds, char *err,
                                              size_t err_len);

/* Close the listeners; answer what is on its way with Connection: close; give idle keep-alive
 * connections grace_ms to send one more request (0: close every connection now). srv is freed
 * once everything closed, on the loop. */
void tr_admin_server_stop(struct tr_admin_server *srv, unsigned grace_ms);

#endif
