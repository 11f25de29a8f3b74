/* SPDX-License-Identifier: MIT */
/* store.h's functions: pick the backend the `database` setting names, then hand every call to
 * its table of operations (backend.h). Nothing here knows a database. */
#include "store/store.h"

#include <stdio.h>
#include <string.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/mem.h"
#include "store/backend.h"
#include "store/migrations.h"
#include "store/runtime.h"

static const struct tr_store_ops *const backends[] = {
    &tr__store_sqlite_ops,
    &tr__store_pg_ops,
};

static const struct tr_store_ops *backend_of(const struct tr_conf *conf)
{
    const char *name = conf->database != NULL ? conf->database : "sqlite";
    /* DB-less keeps the applied configuration in a SQLite file of its own (sqlite.c) */
    if (strcmp(name, "off") == 0)
        name = "sqlite";
    for (size_t i = 0; i < TR_ARRAY_SIZE(backends); i++) {
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    }
    return NULL;
}

int tr_store_open(const struct tr_conf *conf, struct tr_store **out, char *err, size_t err_len)
{
    const struct tr_store_ops *ops = backend_of(conf);

    *out = NULL;
    if (ops == NULL) {
        if (err != NULL && err_len > 0)
            snprintf(err, err_len, "no store backend named '%s' in this build", conf->database);
        return TR_EINVAL;
    }
    int rc = ops->open(conf, ops->auto_migrate, out, err, err_len);
    if (rc != 0 || ops->auto_migrate)
        return rc;
    /* A backend that leaves migrations to the operator (several nodes share it): the schema
     * must be exactly this build's, and the message names the command that makes it so. */
    int cur = tr_store_schema_version(*out), latest = tr_store_schema_latest(*out);
    if (cur == latest)
        return 0;
    if (err != NULL && err_len > 0) {
        if (cur == 0)
            snprintf(err, err_len, "the database is empty: run 'torii migrations bootstrap'");
        else if (cur > 0 && cur < latest)
            snprintf(err, err_len,
                     "the database schema is at version %d, this build needs %d: run 'torii "
                     "migrations up'",
                     cur, latest);
        else if (cur > latest)
            snprintf(err, err_len, "database schema version %d is newer than this build knows (%d)",
                     cur, latest);
        else
            snprintf(err, err_len, "cannot read the schema version");
    }
    tr_store_close(*out);
    *out = NULL;
    return TR_EDB;
}

int tr_store_open_for_migrations(const struct tr_conf *conf, bool migrate, struct tr_store **out,
                                 char *err, size_t err_len)
{
    const struct tr_store_ops *ops = backend_of(conf);
    *out = NULL;
    if (ops == NULL) {
        if (err != NULL && err_len > 0)
            snprintf(err, err_len, "no store backend named '%s' in this build", conf->database);
        return TR_EINVAL;
    }
    return ops->open(conf, migrate, out, err, err_len);
}

int tr_store_reset(struct tr_store *s)
{
    return s != NULL ? s->ops->reset(s) : TR_EINVAL;
}

const char *tr_store_migration_name(struct tr_store *s, int version)
{
    for (const struct tr_store_migration *m = s->ops->migrations; m->name != NULL; m++) {
        if (m->version == version)
            return m->name;
    }
    return NULL;
}

void tr_store_location(const struct tr_conf *conf, char *buf, size_t len)
{
    const struct tr_store_ops *ops = backend_of(conf);

    if (ops == NULL)
        snprintf(buf, len, "%s", conf->database);
    else
        ops->location(conf, buf, len);
}

void tr_store_close(struct tr_store *s)
{
    if (s != NULL)
        s->ops->close(s);
}

bool tr_store_ping(struct tr_store *s)
{
    return s != NULL && s->ops->ping(s);
}

int tr_store_settings(struct tr_store *s, json_t **out)
{
    *out = NULL;
    return s != NULL ? s->ops->settings(s, out) : TR_EINVAL;
}

int tr_store_migrate(struct tr_store *s)
{
    return s != NULL ? tr__store_migrations_run(s, NULL, 0) : TR_EINVAL;
}

int tr_store_schema_version(struct tr_store *s)
{
    return s != NULL ? s->ops->schema_version(s) : TR_EINVAL;
}

int tr_store_schema_latest(struct tr_store *s)
{
    return s != NULL ? tr__store_migrations_latest(s->ops) : TR_EINVAL;
}

/* ---- entities ------------------------------------------------------------------------------ */

int tr_store_insert(struct tr_store *s, const char *entity, json_t *doc,
                    const char **conflict_field)
{
    if (conflict_field != NULL)
        *conflict_field = NULL;
    return s != NULL ? s->ops->insert(s, entity, doc, conflict_field) : TR_EINVAL;
}

int tr_store_update(struct tr_store *s, const char *entity, json_t *doc,
                    const char **conflict_field)
{
    if (conflict_field != NULL)
        *conflict_field = NULL;
    return s != NULL ? s->ops->update(s, entity, doc, conflict_field) : TR_EINVAL;
}

int tr_store_delete(struct tr_store *s, const char *entity, const char *id)
{
    return s != NULL ? s->ops->del(s, entity, id) : TR_EINVAL;
}

int tr_store_get(struct tr_store *s, const char *entity, const char *field, const char *value,
                 json_t **out)
{
    *out = NULL;
    return s != NULL ? s->ops->get(s, entity, field, value, out) : TR_EINVAL;
}

int tr_store_list(struct tr_store *s, const char *entity, json_t *filters, size_t size,
                  const char *offset, json_t **rows, size_t *total, char **next_offset)
{
    *rows = NULL;
    *total = 0;
    *next_offset = NULL;
    if (s == NULL)
        return TR_EINVAL;
    return s->ops->list(s, entity, filters, size, offset, rows, total, next_offset);
}

int tr_store_count(struct tr_store *s, const char *entity, size_t *out)
{
    *out = 0;
    return s != NULL ? s->ops->count(s, entity, out) : TR_EINVAL;
}

int tr_store_batch_begin(struct tr_store *s)
{
    return s != NULL ? s->ops->batch_begin(s) : TR_EINVAL;
}

int tr_store_batch_commit(struct tr_store *s)
{
    return s != NULL ? s->ops->batch_commit(s) : TR_EINVAL;
}

void tr_store_batch_rollback(struct tr_store *s)
{
    if (s != NULL)
        s->ops->batch_rollback(s);
}

int tr_store_batch_clear(struct tr_store *s)
{
    return s != NULL ? s->ops->batch_clear(s) : TR_EINVAL;
}

int tr_store_read_begin(struct tr_store *s)
{
    return s != NULL ? s->ops->read_begin(s) : TR_EINVAL;
}

int tr_store_foreach(struct tr_store *s, const char *entity, int (*cb)(json_t *doc, void *ud),
                     void *ud)
{
    return s != NULL ? s->ops->for_each(s, entity, cb, ud) : TR_EINVAL;
}

/* ---- runtime sessions ---------------------------------------------------------------------- */

struct tr_store_tx *tr_store_tx_acquire(struct tr_store *s)
{
    return s != NULL ? s->ops->tx_acquire(s) : NULL;
}

void tr_store_tx_release(struct tr_store_tx *tx)
{
    if (tx != NULL)
        tx->ops->tx_release(tx);
}

int tr_store_tx_begin(struct tr_store_tx *tx)
{
    return tx != NULL ? tx->ops->tx_begin(tx) : TR_EINVAL;
}

int tr_store_tx_commit(struct tr_store_tx *tx)
{
    return tx != NULL ? tx->ops->tx_commit(tx) : TR_EINVAL;
}

void tr_store_tx_rollback(struct tr_store_tx *tx)
{
    if (tx != NULL)
        tx->ops->tx_rollback(tx);
}

void tr_store_set_node(struct tr_store *s, const char *node)
{
    if (s != NULL)
        snprintf(s->node, sizeof(s->node), "%s", node != NULL ? node : "");
}

int tr_store_events(struct tr_store *s, int64_t after, size_t max,
                    int (*cb)(const struct tr_store_event *e, void *ud), void *ud, int64_t *last)
{
    if (s == NULL || cb == NULL || last == NULL)
        return TR_EINVAL;
    return s->ops->events(s, after, max, cb, ud, last);
}

int tr_store_events_last(struct tr_store *s, int64_t *last)
{
    if (s == NULL || last == NULL)
        return TR_EINVAL;
    return s->ops->events_last(s, last);
}

int tr_store_events_purge(struct tr_store *s, int64_t before_ms)
{
    return s != NULL ? s->ops->events_purge(s, before_ms) : TR_EINVAL;
}

int tr_store_listen(struct tr_store *s)
{
    return s != NULL && s->ops->listen != NULL ? s->ops->listen(s) : -1;
}

int tr_store_listen_read(struct tr_store *s)
{
    return s != NULL && s->ops->listen_read != NULL ? s->ops->listen_read(s) : TR_EDB;
}

void tr_store_listen_close(struct tr_store *s)
{
    if (s != NULL && s->ops->listen_close != NULL)
        s->ops->listen_close(s);
}
