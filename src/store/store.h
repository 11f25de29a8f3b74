/* SPDX-License-Identifier: MIT */
/* The store: where entities (apis, consumers, plugins, credentials, ...) live. Entities are JSON
 * objects (jansson) in Kong's shape, each with a string "id" (UUID) and an integer "created_at".
 * This header is the interface every backend implements (store/backend.h has the table of
 * operations; sqlite.c is the default backend). Unless said otherwise, calls are synchronous
 * and run on the control thread only, never on a worker. */
#ifndef TR_STORE_STORE_H
#define TR_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct tr_conf;
struct tr_store;
struct tr_store_tx;

/* Open the store that conf's `database` setting names: "sqlite" (the file sqlite_path, or
 * <prefix>/torii.db when it is empty, with the pragmas of P16: WAL, synchronous=FULL,
 * foreign_keys=ON, busy_timeout 5 s), creating it if needed and running pending migrations;
 * or "postgres", whose schema must already be this build's (`torii migrations`: else TR_EDB
 * with the command to run in err). Returns 0 and sets *out, or a negative TR_E* with a message in
 * err (err may be NULL when err_len is 0); TR_EINVAL for a backend this build does not have. */
int tr_store_open(const struct tr_conf *conf, struct tr_store **out, char *err, size_t err_len);

/* The store for `torii migrations`: opened without running the migrations (migrate false: only
 * the table of applied steps is made), or running them (migrate true). Same returns. */
int tr_store_open_for_migrations(const struct tr_conf *conf, bool migrate, struct tr_store **out,
                                 char *err, size_t err_len);
/* Drop every table the migrations made (only those). Returns 0 or TR_EDB. */
int tr_store_reset(struct tr_store *s);
/* The name of migration step version, or NULL. */
const char *tr_store_migration_name(struct tr_store *s, int version);

/* Where conf's store lives, for messages (the SQLite file's path), into buf. */
void tr_store_location(const struct tr_conf *conf, char *buf, size_t len);

/* Run pending schema migrations (idempotent). `torii migrations up` and start both call it.
 * Returns 0 or a negative TR_E*. */
int tr_store_migrate(struct tr_store *s);
/* Schema version currently applied, and the highest one this build knows. */
int tr_store_schema_version(struct tr_store *s);
int tr_store_schema_latest(struct tr_store *s);

/* Close s (NULL is fine). Runtime sessions taken from it must have been given back, and
 * counters sessions opened on it closed. */
void tr_store_close(struct tr_store *s);

/* Is the database reachable (a trivial query works)? */
bool tr_store_ping(struct tr_store *s);

/* The connection's storage settings for /status (K-01: they are per connection, so only the
 * gateway can report them): a new object naming the backend and its settings, e.g. for
 * SQLite {"backend":"sqlite","sqlite_version":"3.x", "journal_mode":"wal","synchronous":2,
 * "foreign_keys":1,"busy_timeout":5000,"schema_version":N}, in *out. Returns 0, TR_EINVAL
 * (s NULL) or TR_EDB. */
int tr_store_settings(struct tr_store *s, json_t **out);

/* ---- cluster events: how the nodes of one database learn what the others wrote.
 * Every entity write (insert, update, delete; a batch's clear as entity "*") records an event
 * in its own transaction, numbered in commit order, naming the node that wrote it; the other
 * nodes read the events after the last one they applied (server/cluster_sync.c). */
struct tr_store_event {
    int64_t seq;        /* 1, 2, ... in commit order */
    const char *node;   /* the writer's tr_store_set_node, "" when none was set */
    const char *entity; /* the kind, or "*": everything may have changed */
    const char *id;     /* the entity's id, "" for "*" */
    bool deleted;
};

/* The node id this process's writes record (at most 39 bytes; set once, before writing). */
void tr_store_set_node(struct tr_store *s, const char *node);
/* cb for each event after seq after, in order, at most max of them; *last becomes the seq of
 * the last one given (unchanged when none). cb returns nonzero to stop. Returns 0 or TR_EDB. */
int tr_store_events(struct tr_store *s, int64_t after, size_t max,
                    int (*cb)(const struct tr_store_event *e, void *ud), void *ud, int64_t *last);
/* The seq of the newest event, 0 when there is none. Returns 0 or TR_EDB. */
int tr_store_events_last(struct tr_store *s, int64_t *last);
/* Forget the events recorded before before_ms (wall clock, ms). Returns 0 or TR_EDB. */
int tr_store_events_purge(struct tr_store *s, int64_t before_ms);
/* Notifications of new events, where the backend has them (PostgreSQL's LISTEN, on a
 * connection of its own): the file descriptor to poll for reading, or -1 when there are none
 * (SQLite: the nodes only look every db_update_frequency) or the connection failed (logged).
 * Calling it again replaces the connection. */
int tr_store_listen(struct tr_store *s);
/* After the descriptor polled readable: 1 when an event was announced, 0 when not, TR_EDB when
 * the connection is gone (closed: tr_store_listen again later). Never blocks. */
int tr_store_listen_read(struct tr_store *s);
/* Close the notification connection (none is fine). */
void tr_store_listen_close(struct tr_store *s);

/* A runtime session: what reads and writes the rows the node writes while it serves (OAuth2
 * tokens and codes, store/oauth2.h), as opposed to the entities below. The calls on it block,
 * so a session is used on the thread pool (plugins get one from tr_ctx_offload_store) or on
 * the control thread, never on a worker loop, and by one thread at a time. Sessions come from
 * a small pool: acquire waits while every one is in use, and returns NULL when the store
 * cannot give one (no database file, or it cannot be opened: logged). Safe from any thread
 * while s is open. */
struct tr_store_tx *tr_store_tx_acquire(struct tr_store *s);
/* Give a session back (NULL is fine); it must not be inside a transaction. */
void tr_store_tx_release(struct tr_store_tx *tx);

/* All calls below return TR_EINVAL for an unknown entity name or a NULL argument; a
 * conflict_field pointer may be NULL when the caller does not need it.
 *
 * Insert a new entity. doc must be an object carrying a non-empty string "id" and an integer
 * "created_at" (else TR_EINVAL); the store keeps a copy, doc stays the caller's. Absent and
 * null fields are the same to the store: neither collides with another in a unique field.
 * The write is committed (fsync'ed) before the call returns.
 * Returns 0; TR_ECONFLICT with *conflict_field set (a static string naming the unique field,
 * e.g. "name", or "id") when a unique field already exists; TR_ENOTFOUND when a foreign key
 * (e.g. "api_id") names a missing parent, with *conflict_field naming that field; TR_EDB. */
int tr_store_insert(struct tr_store *s, const char *entity, json_t *doc,
                    const char **conflict_field);

/* Replace the whole entity whose "id" is doc's. Same returns as insert, plus TR_ENOTFOUND
 * (with *conflict_field NULL) when no such id exists. */
int tr_store_update(struct tr_store *s, const char *entity, json_t *doc,
                    const char **conflict_field);

/* Delete by id; dependants (plugins of an api, credentials of a consumer) go in the same
 * transaction. Returns 0, TR_ENOTFOUND, TR_ECONFLICT when a child of a restricting foreign
 * key (a route of a service) still refers to it (nothing deleted), or TR_EDB. */
int tr_store_delete(struct tr_store *s, const char *entity, const char *id);

/* Fetch the entity whose field equals value (field is "id" or one of the entity's unique
 * fields, else TR_EINVAL). Returns 0 and a new reference in *out, TR_ENOTFOUND, or TR_EDB. */
int tr_store_get(struct tr_store *s, const char *entity, const char *field, const char *value,
                 json_t **out);

/* List entities in insertion order.
 *  filters: NULL or an object of field -> scalar (string, integer, real, true/false) compared
 *           for equality with the stored top-level value; types must agree (true is not 1,
 *           "5" is not 5) except integer vs real; a field name outside [A-Za-z0-9_]+ or a
 *           null/object/array value gives TR_EINVAL;
 *  size:    page size (1..1000);
 *  offset:  NULL for the first page or a token from a previous call.
 * Sets *rows (new array reference), *total (rows matching the filters), and *next_offset (a
 * malloc'ed token, or NULL when no row follows). Returns 0, TR_EINVAL for a bad offset token,
 * or TR_EDB. */
int tr_store_list(struct tr_store *s, const char *entity, json_t *filters, size_t size,
                  const char *offset, json_t **rows, size_t *total, char **next_offset);

/* Count rows of entity. Returns 0 or TR_EDB. */
int tr_store_count(struct tr_store *s, const char *entity, size_t *out);

/* Call cb for every row of entity in insertion order (doc is borrowed for the call). Stops
 * and returns cb's value when it is non-zero; otherwise returns 0 or TR_EDB. cb may read the
 * store but should not write to it. */
int tr_store_foreach(struct tr_store *s, const char *entity, int (*cb)(json_t *doc, void *ud),
                     void *ud);

/* A batch: every insert, update and delete between begin and commit is one transaction,
 * committed (fsync'ed) once by commit, or undone by rollback; a failed write inside a batch
 * leaves the batch open for the caller to roll back. Reads inside see the batch's writes. For
 * the declarative loader (a whole file, all or nothing) on the control thread; batches do not
 * nest. begin: 0, TR_EINVAL (already in one) or TR_EDB. */
int tr_store_batch_begin(struct tr_store *s);
int tr_store_batch_commit(struct tr_store *s);
void tr_store_batch_rollback(struct tr_store *s);
/* Inside a batch: delete every entity row (and the runtime rows that hang from them). Foreign
 * keys are checked at commit, so the order of what follows does not matter within the batch.
 * Returns 0, TR_EINVAL (no batch) or TR_EDB. */
int tr_store_batch_clear(struct tr_store *s);
/* A read-only batch: every read until tr_store_batch_rollback sees the database as it was at
 * the first one (one consistent picture across entities, while other writers go on). Writes
 * inside fail. Returns 0, TR_EINVAL (already in a batch) or TR_EDB. */
int tr_store_read_begin(struct tr_store *s);

/* Names of every entity table, NULL-terminated (for /status row counts). */
const char *const *tr_store_entities(void);

#endif
