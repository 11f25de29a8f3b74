/* SPDX-License-Identifier: MIT */
/* The open-file limit a node needs for its connections (nginx's worker_rlimit_nofile, derived
 * from max_connections instead of set by hand). */
#ifndef TR_SERVER_RLIMIT_H
#define TR_SERVER_RLIMIT_H

struct tr_conf;

/* Raise this process's RLIMIT_NOFILE soft limit towards what max_connections may need (two
 * descriptors per client connection, one for its upstream, plus 1024 for listeners, the
 * database, logs and the thread pool; the hard limit when max_connections is 0), never above
 * the hard limit and never lowering it. Logs what it did, and a warning when the hard limit
 * is too low. */
void tr_server_raise_nofile(const struct tr_conf *conf);

#endif
