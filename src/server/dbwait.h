/* SPDX-License-Identifier: MIT */
/* Opening the store at start, waiting for it when it is not available yet (its directory not
 * there or not writable yet, the file locked by another process): retries with backoff for up
 * to database_wait, one log line per attempt, while a temporary Admin API answers 503. */
#ifndef TR_SERVER_DBWAIT_H
#define TR_SERVER_DBWAIT_H

#include <stdbool.h>

struct tr_conf;
struct tr_sockets;
struct tr_store;

/* Open conf's store (tr_store_open) into *store. On failure retry after 100 ms, doubling up
 * to 2 s, until conf->database_wait_ms has passed since the first attempt. Meanwhile, when
 * socks (may be NULL) has admin sockets, every Admin API request is answered 503 (the
 * process's readiness is "not ready"). A node that keeps a local copy of its configuration
 * (server/config_copy.h) serves it instead of waiting, when it has a valid one: *store is then
 * that copy's and *from_copy true. Returns 0, or TR_EDBUNAVAIL after logging the last error. */
int tr_server_open_store(const struct tr_conf *conf, const struct tr_sockets *socks,
                         struct tr_store **store, bool *from_copy);

#endif
