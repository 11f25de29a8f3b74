/* SPDX-License-Identifier: MIT */
/* What a store backend implements. For the files of src/store/ only: everyone else sees
 * store.h, runtime.h, oauth2.h and counters.h, whose functions dispatch through this table
 * (store.c, oauth2.c, counters.c), as Redis's connWrite() reaches a ConnectionType. A backend
 * is one `const struct tr_store_ops` listed in store.c; its store, session and counters
 * structs start with the base structs below, so a dispatcher finds the table from any of them.
 * Each operation has the contract written on its public function, arguments already checked
 * for NULL (the store, the session, the counters) by the dispatcher. docs/internals/store.md
 * says how to add a backend. */
#ifndef TR_STORE_BACKEND_H
#define TR_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct tr_conf;
struct tr_oauth2_code;
struct tr_oauth2_token;
struct tr_store_counter;
struct tr_store_event;
struct tr_store_migration;
struct tr_store_ops;

/* The first member of a backend's store (the control thread's handle). */
struct tr_store {
    const struct tr_store_ops *ops;
    char node[40]; /* tr_store_set_node: recorded with every cluster event a write makes */
};

/* The first member of a backend's runtime session (store.h: tr_store_tx_acquire). */
struct tr_store_tx {
    const struct tr_store_ops *ops;
};

/* The first member of a backend's counters session (counters.h). */
struct tr_store_counters {
    const struct tr_store_ops *ops;
};

struct tr_store_ops {
    const char *name; /* the `database` setting that picks this backend */
    /* A node's open runs pending migrations (the embedded SQLite: `make run` takes no step);
     * else a node refuses a schema that is not this build's, naming the command to run. */
    bool auto_migrate;

    /* ---- the store (store.h) */
    /* migrate: run pending migrations; else only create the table of applied steps. */
    int (*open)(const struct tr_conf *conf, bool migrate, struct tr_store **out, char *err,
                size_t err_len);
    /* Drop every table the migrations made (`torii migrations reset`). */
    int (*reset)(struct tr_store *s);
    void (*location)(const struct tr_conf *conf, char *buf, size_t len);
    void (*close)(struct tr_store *s);
    bool (*ping)(struct tr_store *s);
    int (*settings)(struct tr_store *s, json_t **out);

    /* ---- migrations (migrations.c runs the list; open runs them too) */
    /* The backend's steps in version order, ended by a step whose name is NULL. */
    const struct tr_store_migration *migrations;
    /* Create the table of applied versions when missing. 0, or TR_EDB with err set. */
    int (*migration_setup)(struct tr_store *s, char *err, size_t err_len);
    /* The version applied (0 for an empty database), or TR_EDB (logged). */
    int (*schema_version)(struct tr_store *s);
    /* In one transaction holding the write lock: re-read the version, and when m is still
     * pending apply it and record it. Returns 1 (applied), 0 (another process did meanwhile)
     * or TR_EDB with err set. */
    int (*migration_apply)(struct tr_store *s, const struct tr_store_migration *m, char *err,
                           size_t err_len);

    /* ---- entities (store.h) */
    int (*insert)(struct tr_store *s, const char *entity, json_t *doc, const char **conflict_field);
    int (*update)(struct tr_store *s, const char *entity, json_t *doc, const char **conflict_field);
    int (*del)(struct tr_store *s, const char *entity, const char *id);
    int (*get)(struct tr_store *s, const char *entity, const char *field, const char *value,
               json_t **out);
    int (*list)(struct tr_store *s, const char *entity, json_t *filters, size_t size,
                const char *offset, json_t **rows, size_t *total, char **next_offset);
    int (*count)(struct tr_store *s, const char *entity, size_t *out);
    int (*for_each)(struct tr_store *s, const char *entity, int (*cb)(json_t *doc, void *ud),
                    void *ud);
    int (*batch_begin)(struct tr_store *s);
    int (*batch_commit)(struct tr_store *s);
    void (*batch_rollback)(struct tr_store *s);
    int (*batch_clear)(struct tr_store *s);
    int (*read_begin)(struct tr_store *s);

    /* ---- cluster events (store.h); every entity write records its own in its transaction */
    int (*events)(struct tr_store *s, int64_t after, size_t max,
                  int (*cb)(const struct tr_store_event *e, void *ud), void *ud, int64_t *last);
    int (*events_last)(struct tr_store *s, int64_t *last);
    int (*events_purge)(struct tr_store *s, int64_t before_ms);
    /* Optional (NULL: the backend has no notifications, nodes only poll). */
    int (*listen)(struct tr_store *s);
    int (*listen_read)(struct tr_store *s);
    void (*listen_close)(struct tr_store *s);

    /* ---- runtime sessions (store.h, runtime.h); acquire and release from any thread */
    struct tr_store_tx *(*tx_acquire)(struct tr_store *s);
    void (*tx_release)(struct tr_store_tx *tx);
    int (*tx_begin)(struct tr_store_tx *tx);
    int (*tx_commit)(struct tr_store_tx *tx);
    void (*tx_rollback)(struct tr_store_tx *tx);

    /* ---- OAuth 2.0 rows (oauth2.h). Tokens, refresh tokens and codes arrive as the lower-case
     * hex SHA-256 digests oauth2.c made (NULL: none); a backend stores and compares only those. */
    int (*token_insert)(struct tr_store_tx *tx, const struct tr_oauth2_token *t,
                        const char *access_hash, const char *refresh_hash);
    int (*token_by_access)(struct tr_store_tx *tx, const char *access_hash,
                           struct tr_oauth2_token *out);
    int (*token_by_refresh)(struct tr_store_tx *tx, const char *refresh_hash,
                            struct tr_oauth2_token *out);
    int (*token_by_id)(struct tr_store_tx *tx, const char *id, struct tr_oauth2_token *out);
    int (*token_revoke)(struct tr_store_tx *tx, const char *id, bool drop_refresh);
    int (*token_update)(struct tr_store_tx *tx, const struct tr_oauth2_token *t);
    int (*token_set_hashes)(struct tr_store_tx *tx, const char *id, const char *access_hash,
                            bool set_refresh, const char *refresh_hash);
    int (*token_delete)(struct tr_store_tx *tx, const char *id);
    int (*family_delete)(struct tr_store_tx *tx, const char *family);
    int (*token_list)(struct tr_store_tx *tx, size_t size, int64_t after, json_t **rows,
                      size_t *total, int64_t *next);
    int (*code_insert)(struct tr_store_tx *tx, const struct tr_oauth2_code *c,
                       const char *code_hash);
    int (*code_by_code)(struct tr_store_tx *tx, const char *code_hash, struct tr_oauth2_code *out);
    int (*code_consume)(struct tr_store_tx *tx, const char *id, int64_t now, const char *family);
    int (*oauth2_purge)(struct tr_store_tx *tx, int64_t now, int64_t code_ttl_ms);
    int (*oauth2_count)(struct tr_store_tx *tx, size_t *tokens, size_t *codes);

    /* ---- rate-limiting counters (counters.h) */
    int (*counters_open)(struct tr_store *s, unsigned busy_ms, struct tr_store_counters **out,
                         char *err, size_t err_len);
    int (*counters_sync)(struct tr_store_counters *c, struct tr_store_counter *rows, size_t n,
                         int64_t expired_before);
    void (*counters_close)(struct tr_store_counters *c);
};

/* The backends of this build (store.c lists them). */
extern const struct tr_store_ops tr__store_sqlite_ops;
extern const struct tr_store_ops tr__store_pg_ops;

#endif
