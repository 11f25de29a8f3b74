/* SPDX-License-Identifier: MIT */
/* Runtime state in the database: rows written while the node serves (OAuth2 tokens and
 * authorization codes), as opposed to the configuration entities of store.h. The calls block,
 * so they run on the thread pool (a plugin's tr_ctx_offload work) or on the control thread,
 * never on a worker loop. Each caller borrows one connection of a small pool to the node's
 * database file: WAL lets them read while another connection writes, and SQLite's busy
 * timeout orders concurrent writers. */
#ifndef TR_STORE_RUNTIME_H
#define TR_STORE_RUNTIME_H

#include <stddef.h>

struct sqlite3;

/* Remember the database path (opened lazily, up to a few connections). Returns 0, or a
 * negative TR_E* with a message in err when path cannot be used (":memory:" cannot: its
 * connections would not share the data). */
int tr_runtime_open(const char *path, char *err, size_t err_len);
/* Close every pooled connection. Borrowed connections must have been released. */
void tr_runtime_close(void);

/* A connection (busy timeout set, foreign keys on), or NULL when the pool is not open or the
 * database cannot be opened (logged). Waits while every connection is borrowed. */
struct sqlite3 *tr_runtime_acquire(void);
void tr_runtime_release(struct sqlite3 *db);

#endif
