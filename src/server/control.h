/* SPDX-License-Identifier: MIT */
/* The control thread (the process's main thread): opens the store, publishes the first
 * snapshot, starts the workers and the Admin API, handles signals (TERM/INT: graceful stop,
 * HUP: reload) and rebuilds the snapshot after every admin write. */
#ifndef TR_SERVER_CONTROL_H
#define TR_SERVER_CONTROL_H

struct tr_conf;
struct tr_sockets;

/* Run a node until it is stopped. conf_path (may be NULL) is re-read on reload. ready_fd, when
 * >= 0, receives one byte once the node serves and is closed. socks: the listening sockets of a
 * supervising master (this process's copies: they are closed once in use), or NULL to open them
 * here and write the pid file. Returns the process exit status. */
int tr_control_run(struct tr_conf *conf, const char *conf_path, int ready_fd,
                   struct tr_sockets *socks);

/* Write this process's pid into the pid file of the prefix (atomically). Returns 0, or TR_EIO
 * when the file cannot be written (errno says why). */
int tr_control_write_pid_file(const struct tr_conf *conf);

/* Path of the pid file of a node with this prefix, written into buf. */
void tr_control_pid_path(const struct tr_conf *conf, char *buf, unsigned long len);

#endif
