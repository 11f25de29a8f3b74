/* SPDX-License-Identifier: MIT */
/* The node's local copy of its configuration (store/copy.h), kept under its prefix as
 * <prefix>/config.copy by a node whose database is remote (PostgreSQL): written by a thread of
 * its own, on a connection of its own, after each change the node applies (at most once a
 * second, and never more than a tenth of the time), so the control loop never waits for it.
 *
 * A node that starts while its database cannot be opened serves that copy (loaded into a
 * SQLite file of its own process, <prefix>/config.copy.<pid>.db) instead of waiting: the Admin
 * API reads it and refuses writes with 503, /status says the database is unreachable, and once
 * the database opens the node asks its master for a new worker process on it (a reload: the new
 * one serves before this one drains). */
#ifndef TR_SERVER_CONFIG_COPY_H
#define TR_SERVER_CONFIG_COPY_H

#include <stdbool.h>
#include <stddef.h>

struct tr_conf;
struct tr_store;
struct tr_config_copy;

/* Does a node of conf keep a copy (its database is not a file of its own)? */
bool tr_config_copy_wanted(const struct tr_conf *conf);

/* Start keeping the copy for conf (NULL when not wanted). The first copy is written at once. */
struct tr_config_copy *tr_config_copy_start(const struct tr_conf *conf);

/* The node applied a change: write the copy again soon. NULL is fine. */
void tr_config_copy_changed(struct tr_config_copy *cc);

/* Write what changed last (when the database answers), stop the thread and free cc. NULL is
 * fine. */
void tr_config_copy_stop(struct tr_config_copy *cc);

/* Load the copy of conf into a store of this process (removing what earlier processes that
 * died left behind). Returns 0 with *out set (logged with the copy's age and size), or non-zero
 * after logging why there is none to serve. */
int tr_config_copy_serve(const struct tr_conf *conf, struct tr_store **out);

/* Close a store tr_config_copy_serve gave and remove its file. */
void tr_config_copy_close(const struct tr_conf *conf, struct tr_store *s);

#endif
