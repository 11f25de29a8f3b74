/* SPDX-License-Identifier: MIT */
/* The master process: owns the listening sockets and supervises one worker process (a fork
 * running the node). It restarts a worker that dies at once, and on reload starts a new worker
 * on the same sockets before telling the old one to drain, so no connection is refused. It
 * does nothing else: no threads, no loop, no database. */
#ifndef TR_SERVER_MASTER_H
#define TR_SERVER_MASTER_H

struct tr_conf;

/* Open the sockets of conf and supervise workers until SIGTERM/SIGINT (graceful stop of the
 * worker, then exit 0) . SIGHUP re-reads conf_path (may be NULL) and replaces the worker.
 * ready_fd (>= 0) gets one byte when the first worker serves. Returns the exit status. */
int tr_master_run(struct tr_conf *conf, const char *conf_path, int ready_fd);

#endif
