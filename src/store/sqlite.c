/* SPDX-License-Identifier: MIT */
/* The SQLite backend of store.h: one table per entity kind (see sqlite_migrations.c), every
 * write one IMMEDIATE transaction committed before returning, statements cached per (kind,
 * operation). SQL text is built only from the static names of entities.c; every value is a
 * bound parameter. Validation of entity fields is schema/'s job, not this file's. The backend's
 * table of operations is at the end. */
#include "store/sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "core/clock.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "store/entities.h"
#include "store/listing.h"
#include "store/migrations.h"
#include "store/store.h"

#define MAX_PAGE 1000
#define MAX_COLS (TR_STORE_MAX_UNIQUE + TR_STORE_MAX_FKS + 1)

/* Statements that exist once per kind. */
enum op {
    OP_INSERT,
    OP_UPDATE,
    OP_DELETE,
    OP_GET_ID,
    OP_HAS_ID,
    OP_HAS_UKEY,
    OP_LIST,
    OP_LIST_TOTAL,
    OP_COUNT,
    OP_CNT
};

/* Cached statements of one kind; NULL until first used. */
struct kind_stmts {
    sqlite3_stmt *op[OP_CNT];
    sqlite3_stmt *get_by[TR_STORE_MAX_UNIQUE];     /* doc by unique field i */
    sqlite3_stmt *has_unique[TR_STORE_MAX_UNIQUE]; /* another row holds unique field i */
    sqlite3_stmt *has_parent[TR_STORE_MAX_FKS];    /* the parent of foreign key i exists */
};

struct sqlite_store {
    struct tr_store base;
    sqlite3 *db;              /* the control thread's connection (FULLMUTEX) */
    char *path;               /* owned; the file, for the other connections */
    struct kind_stmts *kinds; /* owned; tr_store_kind_count() entries */
    sqlite3_stmt *begin, *commit, *rollback;
    sqlite3_stmt *event;            /* records a cluster event */
    bool no_events;                 /* DB-less: one node, its own file, nobody to tell */
    struct tr_sqlite_pool *runtime; /* owned; runtime sessions */
    bool batch;                     /* inside tr_store_batch_begin: writes do not commit */
    bool reading;                   /* the batch is tr_store_read_begin's (query_only on) */
    bool no_runtime;                /* tr__sqlite_no_runtime: no runtime session */
};

static struct sqlite_store *to_sqlite(struct tr_store *base)
{
    return TR_CONTAINER_OF(base, struct sqlite_store, base);
}

/* Mirror columns of a kind, in bind order after ?1 id, ?2 created_at, ?3 doc: unique fields,
 * then foreign keys not already listed, then "ukey" when the kind has a composite key. */
struct cols {
    const char *name[MAX_COLS];
    size_t cnt;
};

struct sql {
    char buf[1024];
    size_t len;
    bool overflow;
};

static void sql_add(struct sql *q, const char *s)
{
    size_t n = strlen(s);

    if (q->len + n >= sizeof(q->buf)) {
        q->overflow = true;
        return;
    }
    memcpy(q->buf + q->len, s, n);
    q->len += n;
    q->buf[q->len] = '\0';
}

/* A double-quoted identifier: names come from entities.c, never from input. */
static void sql_ident(struct sql *q, const char *name)
{
    sql_add(q, "\"");
    sql_add(q, name);
    sql_add(q, "\"");
}

/* head, the quoted identifier table, then tail. */
static void sql_around(struct sql *q, const char *head, const char *table, const char *tail)
{
    sql_add(q, head);
    sql_ident(q, table);
    sql_add(q, tail);
}

static int db_fail(struct sqlite_store *s, const char *what)
{
    tr_log_error("store: %s: %s", what, sqlite3_errmsg(s->db));
    return TR_EDB;
}

/* Reset a cached statement for its next use. */
static void done(sqlite3_stmt *st)
{
    if (st != NULL) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

/* The statement in *slot, prepared from q on first use; NULL on failure (logged). */
static sqlite3_stmt *prepare(struct sqlite_store *s, sqlite3_stmt **slot, const struct sql *q)
{
    if (*slot != NULL)
        return *slot;
    if (q->overflow) {
        tr_log_error("store: statement text too long");
        return NULL;
    }
    if (sqlite3_prepare_v3(s->db, q->buf, (int)q->len, SQLITE_PREPARE_PERSISTENT, slot, NULL) !=
        SQLITE_OK) {
        db_fail(s, "prepare");
        sqlite3_finalize(*slot);
        *slot = NULL;
    }
    return *slot;
}

static sqlite3_stmt *op_stmt(struct sqlite_store *s, size_t ki, enum op op)
{
    const struct tr_store_kind *kind = tr_store_kind_at(ki);
    sqlite3_stmt **slot = &s->kinds[ki].op[op];
    struct sql q = {.len = 0};
    struct cols c;
    char num[16];

    if (*slot != NULL)
        return *slot;
    c.cnt = tr_store_kind_columns(kind, c.name);
    switch (op) {
    case OP_INSERT:
        sql_add(&q, "INSERT INTO ");
        sql_ident(&q, kind->name);
        sql_add(&q, " (id, created_at, doc");
        for (size_t i = 0; i < c.cnt; i++) {
            sql_add(&q, ", ");
            sql_ident(&q, c.name[i]);
        }
        sql_add(&q, ") VALUES (?1, ?2, ?3");
        for (size_t i = 0; i < c.cnt; i++) {
            snprintf(num, sizeof(num), ", ?%zu", i + 4);
            sql_add(&q, num);
        }
        sql_add(&q, ")");
        break;
    case OP_UPDATE:
        sql_add(&q, "UPDATE ");
        sql_ident(&q, kind->name);
        sql_add(&q, " SET created_at = ?2, doc = ?3");
        for (size_t i = 0; i < c.cnt; i++) {
            sql_add(&q, ", ");
            sql_ident(&q, c.name[i]);
            snprintf(num, sizeof(num), " = ?%zu", i + 4);
            sql_add(&q, num);
        }
        sql_add(&q, " WHERE id = ?1");
        break;
    case OP_DELETE:
        sql_around(&q, "DELETE FROM ", kind->name, " WHERE id = ?1");
        break;
    case OP_GET_ID:
        sql_around(&q, "SELECT doc FROM ", kind->name, " WHERE id = ?1");
        break;
    case OP_HAS_ID:
        sql_around(&q, "SELECT 1 FROM ", kind->name, " WHERE id = ?1");
        break;
    case OP_HAS_UKEY:
        sql_around(&q, "SELECT 1 FROM ", kind->name, " WHERE ukey = ?1 AND id <> ?2 LIMIT 1");
        break;
    case OP_LIST:
    case OP_LIST_TOTAL:
        /* ?2 is a JSON object of filters whose keys were checked to be [A-Za-z0-9_]+, so
         * '$.' || key is a plain member path. Types must agree (true is not 1, "1" is not 1),
         * except that integers and reals compare as numbers. */
        sql_around(&q, op == OP_LIST ? "SELECT seq, doc FROM " : "SELECT count(*) FROM ",
                   kind->name, op == OP_LIST ? " AS t WHERE t.seq > ?1 AND" : " AS t WHERE");
        sql_add(&q, " NOT EXISTS (SELECT 1 FROM json_each(?2) AS f WHERE"
                    " (CASE json_type(t.doc, '$.' || f.key) WHEN 'integer' THEN 'real'"
                    " ELSE json_type(t.doc, '$.' || f.key) END)"
                    " IS NOT (CASE f.type WHEN 'integer' THEN 'real' ELSE f.type END)"
                    " OR json_extract(t.doc, '$.' || f.key) IS NOT f.value)");
        if (op == OP_LIST)
            sql_add(&q, " ORDER BY t.seq LIMIT ?3");
        break;
    case OP_COUNT:
        sql_around(&q, "SELECT count(*) FROM ", kind->name, "");
        break;
    case OP_CNT:
        return NULL;
    }
    return prepare(s, slot, &q);
}

/* "SELECT <what> FROM <table> WHERE <col><tail>", prepared once into *slot. */
static sqlite3_stmt *cached_lookup(struct sqlite_store *s, sqlite3_stmt **slot, const char *what,
                                   const char *table, const char *col, const char *tail)
{
    struct sql q = {.len = 0};

    if (*slot != NULL)
        return *slot;
    sql_add(&q, "SELECT ");
    sql_add(&q, what);
    sql_around(&q, " FROM ", table, " WHERE ");
    sql_ident(&q, col);
    sql_add(&q, tail);
    return prepare(s, slot, &q);
}

static sqlite3_stmt *get_by_stmt(struct sqlite_store *s, size_t ki, int ui)
{
    const struct tr_store_kind *kind = tr_store_kind_at(ki);
    return cached_lookup(s, &s->kinds[ki].get_by[ui], "doc", kind->name, kind->unique[ui], " = ?1");
}

static sqlite3_stmt *has_unique_stmt(struct sqlite_store *s, size_t ki, int ui)
{
    const struct tr_store_kind *kind = tr_store_kind_at(ki);
    return cached_lookup(s, &s->kinds[ki].has_unique[ui], "1", kind->name, kind->unique[ui],
                         " = ?1 AND id <> ?2 LIMIT 1");
}

static sqlite3_stmt *has_parent_stmt(struct sqlite_store *s, size_t ki, int fi)
{
    const struct tr_store_kind *kind = tr_store_kind_at(ki);
    return cached_lookup(s, &s->kinds[ki].has_parent[fi], "1", kind->fks[fi].parent, "id", " = ?1");
}

/* Step a one-row existence query: 1 (a row), 0 (none) or TR_EDB. Resets st. */
static int exists(struct sqlite_store *s, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    done(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return db_fail(s, "query");
}

/* Bind a doc's top-level value as the mirror column stores it: absent or null -> NULL. */
static int bind_value(sqlite3_stmt *st, int idx, json_t *v)
{
    char *text;
    int rc;

    if (v == NULL)
        return sqlite3_bind_null(st, idx);
    switch (json_typeof(v)) {
    case JSON_STRING:
        return sqlite3_bind_text(st, idx, json_string_value(v), (int)json_string_length(v),
                                 SQLITE_TRANSIENT);
    case JSON_INTEGER:
        return sqlite3_bind_int64(st, idx, (sqlite3_int64)json_integer_value(v));
    case JSON_REAL:
        return sqlite3_bind_double(st, idx, json_real_value(v));
    case JSON_TRUE:
        return sqlite3_bind_int(st, idx, 1);
    case JSON_FALSE:
        return sqlite3_bind_int(st, idx, 0);
    case JSON_OBJECT:
    case JSON_ARRAY:
        text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text == NULL)
            return SQLITE_NOMEM;
        rc = sqlite3_bind_text(st, idx, text, -1, free);
        return rc;
    case JSON_NULL:
    default:
        return sqlite3_bind_null(st, idx);
    }
}

static int tx_begin(struct sqlite_store *s)
{
    static const struct sql q = {.buf = "BEGIN IMMEDIATE", .len = 15};
    sqlite3_stmt *st = prepare(s, &s->begin, &q);
    int rc;

    if (st == NULL)
        return TR_EDB;
    rc = sqlite3_step(st);
    done(st);
    return rc == SQLITE_DONE ? 0 : db_fail(s, "begin");
}

static void tx_rollback(struct sqlite_store *s)
{
    static const struct sql q = {.buf = "ROLLBACK", .len = 8};
    sqlite3_stmt *st;

    /* Some errors (SQLITE_FULL, IOERR) roll the transaction back by themselves. */
    if (sqlite3_get_autocommit(s->db))
        return;
    st = prepare(s, &s->rollback, &q);
    if (st == NULL || sqlite3_step(st) != SQLITE_DONE)
        db_fail(s, "rollback");
    done(st);
}

static int tx_commit(struct sqlite_store *s)
{
    static const struct sql q = {.buf = "COMMIT", .len = 6};
    sqlite3_stmt *st = prepare(s, &s->commit, &q);
    int rc;

    if (st == NULL)
        return TR_EDB;
    rc = sqlite3_step(st);
    done(st);
    if (rc != SQLITE_DONE) {
        db_fail(s, "commit");
        tx_rollback(s);
        return TR_EDB;
    }
    return 0;
}

/* Map a constraint failure the checks missed (a race with another process, or a column the
 * checks do not cover) from SQLite's "UNIQUE constraint failed: table.column" message. */
static int constraint_error(struct sqlite_store *s, const struct tr_store_kind *kind, json_t *doc,
                            const char **conflict_field)
{
    const char *msg = sqlite3_errmsg(s->db);
    const char *dot;

    if (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_FOREIGNKEY) {
        for (size_t i = 0; i < TR_STORE_MAX_FKS && kind->fks[i].field != NULL; i++) {
            if (tr_store_doc_field(doc, kind->fks[i].field) != NULL) {
                *conflict_field = kind->fks[i].field;
                break;
            }
        }
        return TR_ENOTFOUND;
    }
    if (sqlite3_extended_errcode(s->db) != SQLITE_CONSTRAINT_UNIQUE &&
        sqlite3_extended_errcode(s->db) != SQLITE_CONSTRAINT_PRIMARYKEY)
        return db_fail(s, "write");
    *conflict_field = "id";
    dot = strrchr(msg, '.');
    if (dot != NULL) {
        if (strcmp(dot + 1, "ukey") == 0 && kind->composite_field != NULL) {
            *conflict_field = kind->composite_field;
        } else {
            int ui = tr_store_kind_unique_index(kind, dot + 1);
            if (ui >= 0)
                *conflict_field = kind->unique[ui];
        }
    }
    return TR_ECONFLICT;
}

/* Inside the transaction: the checks that name the offending field, then the write. */
static int write_rows(struct sqlite_store *s, size_t ki, json_t *doc, const char *id, bool update,
                      const char *text, const char *ukey, const char **conflict_field)
{
    const struct tr_store_kind *kind = tr_store_kind_at(ki);
    sqlite3_stmt *st;
    struct cols c;
    int rc;

    st = op_stmt(s, ki, OP_HAS_ID);
    if (st == NULL || sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC) != SQLITE_OK)
        return TR_EDB;
    rc = exists(s, st);
    if (rc < 0)
        return rc;
    if (update && rc == 0)
        return TR_ENOTFOUND;
    if (!update && rc == 1) {
        *conflict_field = "id";
        return TR_ECONFLICT;
    }

    for (int i = 0; i < TR_STORE_MAX_UNIQUE && kind->unique[i] != NULL; i++) {
        json_t *v = tr_store_doc_field(doc, kind->unique[i]);
        if (v == NULL)
            continue;
        st = has_unique_stmt(s, ki, i);
        if (st == NULL || bind_value(st, 1, v) != SQLITE_OK ||
            sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC) != SQLITE_OK) {
            done(st);
            return TR_EDB;
        }
        rc = exists(s, st);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            *conflict_field = kind->unique[i];
            return TR_ECONFLICT;
        }
    }

    if (ukey != NULL) {
        st = op_stmt(s, ki, OP_HAS_UKEY);
        if (st == NULL || sqlite3_bind_text(st, 1, ukey, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC) != SQLITE_OK) {
            done(st);
            return TR_EDB;
        }
        rc = exists(s, st);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            *conflict_field = kind->composite_field;
            return TR_ECONFLICT;
        }
    }

    for (int i = 0; i < TR_STORE_MAX_FKS && kind->fks[i].field != NULL; i++) {
        json_t *v = tr_store_doc_field(doc, kind->fks[i].field);
        if (v == NULL)
            continue;
        st = has_parent_stmt(s, ki, i);
        if (st == NULL || bind_value(st, 1, v) != SQLITE_OK) {
            done(st);
            return TR_EDB;
        }
        rc = exists(s, st);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            *conflict_field = kind->fks[i].field;
            return TR_ENOTFOUND;
        }
    }

    st = op_stmt(s, ki, update ? OP_UPDATE : OP_INSERT);
    if (st == NULL)
        return TR_EDB;
    c.cnt = tr_store_kind_columns(kind, c.name);
    rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(
            st, 2, (sqlite3_int64)json_integer_value(json_object_get(doc, "created_at")));
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
    for (size_t i = 0; i < c.cnt && rc == SQLITE_OK; i++) {
        if (strcmp(c.name[i], "ukey") == 0)
            rc = sqlite3_bind_text(st, (int)i + 4, ukey, -1, SQLITE_STATIC);
        else
            rc = bind_value(st, (int)i + 4, tr_store_doc_field(doc, c.name[i]));
    }
    if (rc != SQLITE_OK) {
        done(st);
        return db_fail(s, "bind");
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        done(st);
        return 0;
    }
    /* Read the message before reset clears it. */
    rc = (rc == SQLITE_CONSTRAINT) ? constraint_error(s, kind, doc, conflict_field)
                                   : db_fail(s, update ? "update" : "insert");
    done(st);
    return rc;
}

/* Inside the write's transaction: the cluster event that tells the other nodes (store.h). */
static int record_event(struct sqlite_store *s, const char *entity, const char *id, bool deleted)
{
    if (s->no_events)
        return 0;
#define EVENT_SQL                                                                                  \
    "INSERT INTO cluster_events (at, node, entity, entity_id, deleted) VALUES (?1, ?2, ?3, ?4, "   \
    "?5)"
    static const struct sql q = {.buf = EVENT_SQL, .len = sizeof(EVENT_SQL) - 1};
    sqlite3_stmt *st = prepare(s, &s->event, &q);
    if (st == NULL || sqlite3_bind_int64(st, 1, (sqlite3_int64)tr_clock_wall_ms()) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, s->base.node, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 3, entity, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int(st, 5, deleted) != SQLITE_OK) {
        done(st);
        return TR_EDB;
    }
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, "cluster event");
    done(st);
    return rc;
}

static int write_entity(struct sqlite_store *s, const char *entity, json_t *doc, bool update,
                        const char **conflict_field)
{
    const char *unused = NULL;
    const struct tr_store_kind *kind;
    char *text = NULL, *ukey = NULL;
    json_t *id;
    size_t ki;
    int rc;

    if (conflict_field == NULL)
        conflict_field = &unused;
    *conflict_field = NULL;
    kind = tr_store_kind_find(entity, &ki);
    id = json_object_get(doc, "id");
    if (s == NULL || kind == NULL || !json_is_object(doc) || !json_is_string(id) ||
        json_string_length(id) == 0 || !json_is_integer(json_object_get(doc, "created_at")))
        return TR_EINVAL;

    text = json_dumps(doc, JSON_COMPACT);
    ukey = tr_store_composite_key(kind, doc);
    if (text == NULL || (kind->composite[0] != NULL && ukey == NULL)) {
        rc = TR_ENOMEM;
        goto out;
    }
    if (s->batch) {
        rc = write_rows(s, ki, doc, json_string_value(id), update, text, ukey, conflict_field);
        if (rc == 0)
            rc = record_event(s, kind->name, json_string_value(id), false);
        goto out;
    }
    rc = tx_begin(s);
    if (rc < 0)
        goto out;
    rc = write_rows(s, ki, doc, json_string_value(id), update, text, ukey, conflict_field);
    if (rc == 0)
        rc = record_event(s, kind->name, json_string_value(id), false);
    if (rc == 0)
        rc = tx_commit(s);
    else
        tx_rollback(s);
out:
    free(text);
    free(ukey);
    return rc;
}

static int sqlite_insert(struct tr_store *s, const char *entity, json_t *doc,
                         const char **conflict_field)
{
    return write_entity(to_sqlite(s), entity, doc, false, conflict_field);
}

static int sqlite_update(struct tr_store *s, const char *entity, json_t *doc,
                         const char **conflict_field)
{
    return write_entity(to_sqlite(s), entity, doc, true, conflict_field);
}

static int sqlite_delete(struct tr_store *base, const char *entity, const char *id)
{
    struct sqlite_store *s = to_sqlite(base);
    sqlite3_stmt *st;
    size_t ki;
    int rc;

    if (id == NULL || tr_store_kind_find(entity, &ki) == NULL)
        return TR_EINVAL;
    rc = s->batch ? 0 : tx_begin(s);
    if (rc < 0)
        return rc;
    st = op_stmt(s, ki, OP_DELETE);
    if (st == NULL || sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC) != SQLITE_OK) {
        done(st);
        rc = TR_EDB;
        goto fail;
    }
    /* Dependants go through ON DELETE CASCADE inside this same statement; a restricting
     * foreign key that still has a child makes it fail. */
    if (sqlite3_step(st) != SQLITE_DONE) {
        if (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
            rc = TR_ECONFLICT;
        else
            rc = db_fail(s, "delete");
        done(st);
        goto fail;
    }
    done(st);
    if (sqlite3_changes(s->db) == 0) {
        rc = TR_ENOTFOUND;
        goto fail;
    }
    rc = record_event(s, tr_store_kind_at(ki)->name, id, true);
    if (rc < 0)
        goto fail;
    return s->batch ? 0 : tx_commit(s);
fail:
    if (!s->batch)
        tx_rollback(s);
    return rc;
}

/* ---- batches (store.h) ---------------------------------------------------------------------- */

static int sqlite_batch_begin(struct tr_store *base)
{
    struct sqlite_store *s = to_sqlite(base);
    if (s->batch)
        return TR_EINVAL;
    /* A batch may write tens of thousands of rows: a page cache that holds them keeps SQLite
     * from spilling pages to the WAL before the commit writes them again (64 MiB at most,
     * given back at the end of the batch). */
    sqlite3_exec(s->db, "PRAGMA cache_size = -65536", NULL, NULL, NULL);
    int rc = tx_begin(s);
    if (rc == 0)
        s->batch = true;
    return rc;
}

static int sqlite_batch_commit(struct tr_store *base)
{
    struct sqlite_store *s = to_sqlite(base);
    if (!s->batch)
        return TR_EINVAL;
    s->batch = false;
    if (s->reading) {
        s->reading = false;
        int rc = tx_commit(s);
        sqlite3_exec(s->db, "PRAGMA query_only = 0", NULL, NULL, NULL);
        return rc;
    }
    /* A foreign key still dangling (checked here, deferred by batch_clear) fails the commit,
     * which then rolls back. */
    int rc = tx_commit(s);
    sqlite3_exec(s->db, "PRAGMA cache_size = -2000", NULL, NULL, NULL);
    sqlite3_db_release_memory(s->db);
    return rc;
}

static void sqlite_batch_rollback(struct tr_store *base)
{
    struct sqlite_store *s = to_sqlite(base);
    if (!s->batch)
        return;
    s->batch = false;
    tx_rollback(s);
    if (s->reading) {
        s->reading = false;
        sqlite3_exec(s->db, "PRAGMA query_only = 0", NULL, NULL, NULL);
        return;
    }
    sqlite3_exec(s->db, "PRAGMA cache_size = -2000", NULL, NULL, NULL);
    sqlite3_db_release_memory(s->db);
}

static int sqlite_read_begin(struct tr_store *base)
{
    struct sqlite_store *s = to_sqlite(base);
    if (s->batch)
        return TR_EINVAL;
    /* Deferred: the first read takes the WAL snapshot every later read of the batch sees.
     * query_only makes a write inside fail, as PostgreSQL's READ ONLY does. */
    if (sqlite3_exec(s->db, "BEGIN DEFERRED", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(s, "begin read");
    sqlite3_exec(s->db, "PRAGMA query_only = 1", NULL, NULL, NULL);
    s->batch = true;
    s->reading = true;
    return 0;
}

static int sqlite_batch_clear(struct tr_store *base)
{
    struct sqlite_store *s = to_sqlite(base);
    if (!s->batch)
        return TR_EINVAL;
    /* Until the commit: the rows are gone before their replacements arrive. */
    if (sqlite3_exec(s->db, "PRAGMA defer_foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(s, "defer foreign keys");
    for (size_t i = 0; i < tr_store_kind_count(); i++) {
        char sql[96];
        snprintf(sql, sizeof(sql), "DELETE FROM %s", tr_store_kind_at(i)->name);
        if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
            return db_fail(s, "clear");
    }
    return record_event(s, "*", "", true);
}

/* Parse a stored doc; NULL (logged) when it is not JSON, which the CHECK should prevent. */
static json_t *load_doc(sqlite3_stmt *st, int col)
{
    const char *text = (const char *)sqlite3_column_text(st, col);
    json_error_t jerr;
    json_t *doc;

    if (text == NULL)
        return NULL;
    doc = json_loadb(text, (size_t)sqlite3_column_bytes(st, col), JSON_ALLOW_NUL, &jerr);
    if (doc == NULL)
        tr_log_error("store: stored document does not parse: %s", jerr.text);
    return doc;
}

static int sqlite_get(struct tr_store *base, const char *entity, const char *field_name,
                      const char *value, json_t **out)
{
    struct sqlite_store *s = to_sqlite(base);
    const struct tr_store_kind *kind;
    sqlite3_stmt *st;
    size_t ki;
    int rc, ui = -1;

    *out = NULL;
    kind = tr_store_kind_find(entity, &ki);
    if (kind == NULL || field_name == NULL || value == NULL)
        return TR_EINVAL;
    if (strcmp(field_name, "id") == 0) {
        st = op_stmt(s, ki, OP_GET_ID);
    } else {
        ui = tr_store_kind_unique_index(kind, field_name);
        if (ui < 0)
            return TR_EINVAL;
        st = get_by_stmt(s, ki, ui);
    }
    if (st == NULL || sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC) != SQLITE_OK) {
        done(st);
        return TR_EDB;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = load_doc(st, 0);
        rc = *out != NULL ? 0 : TR_EDB;
    } else if (rc == SQLITE_DONE) {
        rc = TR_ENOTFOUND;
    } else {
        rc = db_fail(s, "get");
    }
    done(st);
    return rc;
}

static int sqlite_list(struct tr_store *base, const char *entity, json_t *filters, size_t size,
                       const char *offset, json_t **rows, size_t *total, char **next_offset)
{
    struct sqlite_store *s = to_sqlite(base);
    sqlite3_stmt *st = NULL;
    char *fjson = NULL;
    json_t *arr = NULL;
    int64_t after = 0, last = 0;
    size_t ki, n = 0;
    int rc;

    *rows = NULL;
    *total = 0;
    *next_offset = NULL;
    if (tr_store_kind_find(entity, &ki) == NULL || size < 1 || size > MAX_PAGE)
        return TR_EINVAL;
    if (offset != NULL) {
        after = tr__store_offset_decode(offset);
        if (after < 0)
            return TR_EINVAL;
    }
    fjson = tr__store_filter_json(filters);
    if (fjson == NULL)
        return TR_EINVAL;

    st = op_stmt(s, ki, OP_LIST_TOTAL);
    if (st == NULL || sqlite3_bind_text(st, 2, fjson, -1, SQLITE_STATIC) != SQLITE_OK) {
        rc = TR_EDB;
        goto out;
    }
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = db_fail(s, "list total");
        goto out;
    }
    *total = (size_t)sqlite3_column_int64(st, 0);
    done(st);

    /* One row more than asked tells whether a next page exists. */
    st = op_stmt(s, ki, OP_LIST);
    if (st == NULL || sqlite3_bind_int64(st, 1, after) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, fjson, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 3, (sqlite3_int64)size + 1) != SQLITE_OK) {
        rc = TR_EDB;
        goto out;
    }
    arr = json_array();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *doc;
        if (n == size) {
            *next_offset = tr__store_offset_encode(last);
            break;
        }
        doc = load_doc(st, 1);
        if (doc == NULL) {
            rc = TR_EDB;
            goto out;
        }
        json_array_append_new(arr, doc);
        last = sqlite3_column_int64(st, 0);
        n++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = db_fail(s, "list");
        goto out;
    }
    *rows = arr;
    arr = NULL;
    rc = 0;
out:
    done(st);
    json_decref(arr);
    free(fjson);
    if (rc != 0) {
        free(*next_offset);
        *next_offset = NULL;
        *total = 0;
    }
    return rc;
}

static int sqlite_count(struct tr_store *base, const char *entity, size_t *out)
{
    struct sqlite_store *s = to_sqlite(base);
    sqlite3_stmt *st;
    size_t ki;
    int rc;

    *out = 0;
    if (tr_store_kind_find(entity, &ki) == NULL)
        return TR_EINVAL;
    st = op_stmt(s, ki, OP_COUNT);
    if (st == NULL)
        return TR_EDB;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = (size_t)sqlite3_column_int64(st, 0);
        rc = 0;
    } else {
        rc = db_fail(s, "count");
    }
    done(st);
    return rc;
}

static int sqlite_foreach(struct tr_store *base, const char *entity,
                          int (*cb)(json_t *doc, void *ud), void *ud)
{
    struct sqlite_store *s = to_sqlite(base);
    const struct tr_store_kind *kind = tr_store_kind_find(entity, NULL);
    struct sql q = {.len = 0};
    sqlite3_stmt *st = NULL;
    int rc;

    if (kind == NULL || cb == NULL)
        return TR_EINVAL;
    /* Not cached: cb may call back into the store, even for the same kind. */
    sql_add(&q, "SELECT doc FROM ");
    sql_ident(&q, kind->name);
    sql_add(&q, " ORDER BY seq");
    if (prepare(s, &st, &q) == NULL)
        return TR_EDB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *doc = load_doc(st, 0);
        if (doc == NULL) {
            rc = TR_EDB;
            goto out;
        }
        rc = cb(doc, ud);
        json_decref(doc);
        if (rc != 0)
            goto out;
    }
    rc = rc == SQLITE_DONE ? 0 : db_fail(s, "foreach");
out:
    sqlite3_finalize(st);
    return rc;
}

/* ---- cluster events (store.h) -----------------------------------------------------------------
 */

static int sqlite_events(struct tr_store *base, int64_t after, size_t max,
                         int (*cb)(const struct tr_store_event *e, void *ud), void *ud,
                         int64_t *last)
{
    struct sqlite_store *s = to_sqlite(base);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT seq, node, entity, entity_id, deleted FROM cluster_events"
                           " WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, after) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, (sqlite3_int64)max) != SQLITE_OK) {
        sqlite3_finalize(st);
        return db_fail(s, "cluster events");
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct tr_store_event e = {
            .seq = sqlite3_column_int64(st, 0),
            .node = (const char *)sqlite3_column_text(st, 1),
            .entity = (const char *)sqlite3_column_text(st, 2),
            .id = (const char *)sqlite3_column_text(st, 3),
            .deleted = sqlite3_column_int(st, 4) != 0,
        };
        *last = e.seq;
        if (cb(&e, ud) != 0)
            break;
    }
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(s, "cluster events");
    sqlite3_finalize(st);
    return rc;
}

/* One integer from sql (with ?1 = arg when has_arg). */
static int one_int(struct sqlite_store *s, const char *sql, bool has_arg, int64_t arg, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
                     (!has_arg || sqlite3_bind_int64(st, 1, arg) == SQLITE_OK)
                 ? sqlite3_step(st)
                 : SQLITE_ERROR;
    if (rc == SQLITE_ROW && out != NULL)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(s, "cluster events");
}

static int sqlite_events_last(struct tr_store *base, int64_t *last)
{
    *last = 0;
    return one_int(to_sqlite(base), "SELECT coalesce(max(seq), 0) FROM cluster_events", false, 0,
                   last);
}

static int sqlite_events_purge(struct tr_store *base, int64_t before_ms)
{
    return one_int(to_sqlite(base), "DELETE FROM cluster_events WHERE at < ?1", true, before_ms,
                   NULL);
}

static bool sqlite_ping(struct tr_store *base)
{
    struct sqlite_store *s = to_sqlite(base);
    sqlite3_stmt *st = NULL;
    bool ok;

    /* Touch the schema so a deleted or unreadable file shows up, not just the connection. */
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM schema_migrations", -1, &st, NULL) !=
        SQLITE_OK)
        return false;
    ok = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return ok;
}

static int sqlite_migration_setup(struct tr_store *s, char *err, size_t err_len)
{
    return tr__sqlite_migration_setup(to_sqlite(s)->db, err, err_len);
}

static int sqlite_schema_version(struct tr_store *s)
{
    return tr__sqlite_schema_version(to_sqlite(s)->db);
}

static int sqlite_migration_apply(struct tr_store *s, const struct tr_store_migration *m, char *err,
                                  size_t err_len)
{
    return tr__sqlite_migration_apply(to_sqlite(s)->db, m, err, err_len);
}

static int pragma_int(sqlite3 *db, const char *sql, json_t *obj, const char *key)
{
    sqlite3_stmt *st = NULL;
    int rc = TR_EDB;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) == SQLITE_INTEGER)
            json_object_set_new(obj, key, json_integer(sqlite3_column_int64(st, 0)));
        else
            json_object_set_new(obj, key, json_string((const char *)sqlite3_column_text(st, 0)));
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

static int sqlite_settings(struct tr_store *base, json_t **out)
{
    struct sqlite_store *s = to_sqlite(base);
    json_t *obj;

    *out = NULL;
    obj = json_object();
    json_object_set_new(obj, "backend", json_string("sqlite"));
    json_object_set_new(obj, "sqlite_version", json_string(sqlite3_libversion()));
    if (pragma_int(s->db, "PRAGMA journal_mode", obj, "journal_mode") < 0 ||
        pragma_int(s->db, "PRAGMA synchronous", obj, "synchronous") < 0 ||
        pragma_int(s->db, "PRAGMA foreign_keys", obj, "foreign_keys") < 0 ||
        pragma_int(s->db, "PRAGMA busy_timeout", obj, "busy_timeout") < 0) {
        json_decref(obj);
        return db_fail(s, "reading settings");
    }
    json_object_set_new(obj, "schema_version", json_integer(tr__sqlite_schema_version(s->db)));
    *out = obj;
    return 0;
}

/* Create the file owner-only before SQLite does (it would use 0644): it holds credentials,
 * and SQLite gives the -wal and -shm files the main file's mode. */
static int precreate(const char *path, char *err, size_t err_len)
{
    int fd;

    if (strcmp(path, ":memory:") == 0 || path[0] == '\0')
        return 0;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd == -1) {
        snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
        return TR_EIO;
    }
    close(fd);
    return 0;
}

static int exec_pragma(sqlite3 *db, const char *sql, char *err, size_t err_len)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, err_len, "%s: %s", sql, sqlite3_errmsg(db));
        return TR_EDB;
    }
    return 0;
}

static void finalize_all(sqlite3_stmt **st, size_t cnt)
{
    for (size_t i = 0; i < cnt; i++) {
        sqlite3_finalize(st[i]);
        st[i] = NULL;
    }
}

static void sqlite_close(struct tr_store *base)
{
    struct sqlite_store *s = to_sqlite(base);

    for (size_t i = 0; i < tr_store_kind_count(); i++) {
        finalize_all(s->kinds[i].op, OP_CNT);
        finalize_all(s->kinds[i].get_by, TR_STORE_MAX_UNIQUE);
        finalize_all(s->kinds[i].has_unique, TR_STORE_MAX_UNIQUE);
        finalize_all(s->kinds[i].has_parent, TR_STORE_MAX_FKS);
    }
    sqlite3_finalize(s->event);
    sqlite3_finalize(s->begin);
    sqlite3_finalize(s->commit);
    sqlite3_finalize(s->rollback);
    tr__sqlite_pool_free(s->runtime);
    if (sqlite3_close(s->db) != SQLITE_OK) {
        tr_log_error("store: close: %s", sqlite3_errmsg(s->db));
        sqlite3_close_v2(s->db);
    }
    free(s->kinds);
    free(s->path);
    free(s);
}

/* migrate: run pending steps (a node's open, `torii migrations up`); else only make sure the
 * table of applied steps exists (`torii migrations list`, `reset`). */
static int open_sqlite(const char *path, bool migrate, struct tr_store **out, char *err,
                       size_t err_len)
{
    char dummy[1];
    sqlite3_stmt *st = NULL;
    struct sqlite_store *s = NULL;
    sqlite3 *db = NULL;
    int rc;

    if (err == NULL || err_len == 0) {
        err = dummy;
        err_len = sizeof(dummy);
    }
    err[0] = '\0';
    *out = NULL;
    if (path == NULL) {
        snprintf(err, err_len, "no database path");
        return TR_EINVAL;
    }
    rc = precreate(path, err, err_len);
    if (rc < 0)
        return rc;
    if (sqlite3_open_v2(path, &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, err_len, "cannot open %s: %s", path,
                 db != NULL ? sqlite3_errmsg(db) : "out of memory");
        rc = TR_EDB;
        goto fail;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);

    /* P16. journal_mode answers with the mode in force: "memory" for ":memory:". */
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        snprintf(err, err_len, "journal_mode=WAL: %s", sqlite3_errmsg(db));
        rc = TR_EDB;
        goto fail;
    }
    if (strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0 &&
        strcmp((const char *)sqlite3_column_text(st, 0), "memory") != 0) {
        snprintf(err, err_len, "cannot switch %s to WAL (journal_mode is %s)", path,
                 (const char *)sqlite3_column_text(st, 0));
        rc = TR_EDB;
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = exec_pragma(db, "PRAGMA synchronous=FULL", err, err_len)) < 0 ||
        (rc = exec_pragma(db, "PRAGMA foreign_keys=ON", err, err_len)) < 0 ||
        (rc = exec_pragma(db, "PRAGMA secure_delete=ON", err, err_len)) < 0 ||
        /* Bound the WAL kept after a checkpoint (K-05: under 64 MiB). */
        (rc = exec_pragma(db, "PRAGMA journal_size_limit=67108864", err, err_len)) < 0)
        goto fail;

    s = tr_xcalloc(1, sizeof(*s));
    s->base.ops = &tr__store_sqlite_ops;
    s->db = db;
    s->path = tr_xstrdup(path);
    s->kinds = tr_xcalloc(tr_store_kind_count(), sizeof(*s->kinds));
    s->runtime = tr__sqlite_pool_new(path);
    rc = migrate ? tr__store_migrations_run(&s->base, err, err_len)
                 : tr__sqlite_migration_setup(db, err, err_len);
    if (rc < 0) {
        sqlite_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;

fail:
    sqlite3_finalize(st);
    sqlite3_close_v2(db);
    return rc;
}

int tr_store_open_sqlite(const char *path, struct tr_store **out, char *err, size_t err_len)
{
    return open_sqlite(path, true, out, err, err_len);
}

/* sqlite_path, or <prefix>/torii.db when it is empty (conf.c makes both absolute). */
static void sqlite_location(const struct tr_conf *conf, char *buf, size_t len)
{
    /* DB-less (database = off): the node's own copy of the declarative configuration, as
     * Kong keeps its LMDB under the prefix; never the operator's database file. */
    if (conf->database != NULL && strcmp(conf->database, "off") == 0)
        snprintf(buf, len, "%s/dbless.db", conf->prefix != NULL ? conf->prefix : ".");
    else if (conf->sqlite_path != NULL && conf->sqlite_path[0] != '\0')
        snprintf(buf, len, "%s", conf->sqlite_path);
    else
        snprintf(buf, len, "%s/torii.db", conf->prefix != NULL ? conf->prefix : ".");
}

static int sqlite_open(const struct tr_conf *conf, bool migrate, struct tr_store **out, char *err,
                       size_t err_len)
{
    char path[4096];

    sqlite_location(conf, path, sizeof(path));
    int rc = open_sqlite(path, migrate, out, err, err_len);
    if (rc == 0 && conf->database != NULL && strcmp(conf->database, "off") == 0)
        to_sqlite(*out)->no_events = true;
    return rc;
}

/* Every table the migrations made: entity kinds and the rest. */
static const char *const other_tables[] = {"oauth2_tokens", "oauth2_authorization_codes",
                                           "ratelimiting_counters", "cluster_events",
                                           "schema_migrations"};

static int sqlite_reset(struct tr_store *base)
{
    struct sqlite_store *s = to_sqlite(base);
    /* Children first is not needed: foreign keys are off for the drop. */
    int rc = sqlite3_exec(s->db, "PRAGMA foreign_keys=OFF; BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < tr_store_kind_count() + TR_ARRAY_SIZE(other_tables);
         i++) {
        char sql[128];
        const char *t = i < tr_store_kind_count() ? tr_store_kind_at(i)->name
                                                  : other_tables[i - tr_store_kind_count()];
        snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS \"%s\"", t);
        rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        db_fail(s, "reset");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_exec(s->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : TR_EDB;
}

static struct tr_store_tx *sqlite_tx_acquire(struct tr_store *s)
{
    struct sqlite_store *ss = to_sqlite(s);
    return ss->no_runtime ? NULL : tr__sqlite_tx_acquire(ss->runtime);
}

void tr__sqlite_no_runtime(struct tr_store *s)
{
    to_sqlite(s)->no_runtime = true;
}

static int sqlite_counters_open(struct tr_store *s, unsigned busy_ms,
                                struct tr_store_counters **out, char *err, size_t err_len)
{
    return tr__sqlite_counters_open(to_sqlite(s)->path, busy_ms, out, err, err_len);
}

const struct tr_store_ops tr__store_sqlite_ops = {
    .name = "sqlite",
    .auto_migrate = true,
    .open = sqlite_open,
    .location = sqlite_location,
    .close = sqlite_close,
    .ping = sqlite_ping,
    .settings = sqlite_settings,

    .migrations = tr__sqlite_migrations,
    .migration_setup = sqlite_migration_setup,
    .schema_version = sqlite_schema_version,
    .migration_apply = sqlite_migration_apply,

    .insert = sqlite_insert,
    .update = sqlite_update,
    .del = sqlite_delete,
    .get = sqlite_get,
    .list = sqlite_list,
    .count = sqlite_count,
    .for_each = sqlite_foreach,
    .batch_begin = sqlite_batch_begin,
    .batch_commit = sqlite_batch_commit,
    .batch_rollback = sqlite_batch_rollback,
    .read_begin = sqlite_read_begin,
    .batch_clear = sqlite_batch_clear,

    .reset = sqlite_reset,
    .events = sqlite_events,
    .events_last = sqlite_events_last,
    .events_purge = sqlite_events_purge,

    .tx_acquire = sqlite_tx_acquire,
    .tx_release = tr__sqlite_tx_release,
    .tx_begin = tr__sqlite_tx_begin,
    .tx_commit = tr__sqlite_tx_commit,
    .tx_rollback = tr__sqlite_tx_rollback,

    .token_insert = tr__sqlite_token_insert,
    .token_by_access = tr__sqlite_token_by_access,
    .token_by_refresh = tr__sqlite_token_by_refresh,
    .token_by_id = tr__sqlite_token_by_id,
    .token_revoke = tr__sqlite_token_revoke,
    .token_update = tr__sqlite_token_update,
    .token_set_hashes = tr__sqlite_token_set_hashes,
    .token_delete = tr__sqlite_token_delete,
    .family_delete = tr__sqlite_family_delete,
    .token_list = tr__sqlite_token_list,
    .code_insert = tr__sqlite_code_insert,
    .code_by_code = tr__sqlite_code_by_code,
    .code_consume = tr__sqlite_code_consume,
    .oauth2_purge = tr__sqlite_oauth2_purge,
    .oauth2_count = tr__sqlite_oauth2_count,

    .counters_open = sqlite_counters_open,
    .counters_sync = tr__sqlite_counters_sync,
    .counters_close = tr__sqlite_counters_close,
};
