/* SPDX-License-Identifier: MIT */
/* The PostgreSQL backend of store.h (`database = postgres`): the same tables and the same
 * contracts as the SQLite backend (sqlite.c), over libpq. The control thread has one connection;
 * every write is one transaction committed before returning (or part of a batch). SQL text is
 * built only from the static names of entities.c; every value is a parameter. The backend's
 * table of operations is at the end. */
#include "store/pg.h"

#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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
#define SQL_MAX 1024

struct pg_store {
    struct tr_store base;
    PGconn *conn;               /* the control thread's */
    const struct tr_conf *conf; /* borrowed; outlives the store */
    struct tr_pg_pool *runtime; /* owned; runtime sessions */
    bool batch;                 /* inside tr_store_batch_begin: writes do not commit */
    PGconn *listen;             /* LISTEN torii_events, polled by the control loop; or NULL */
    uint64_t reset_at;          /* monotonic ms of the last reconnect attempt */
    bool resetting;             /* a reconnection is in progress (usable()) */
    PostgresPollingStatusType polling; /* its last PQresetPoll answer */
    bool down_logged;                  /* the outage was logged; cleared when connected again */
    char where[300];                   /* user@host:port/database, for messages */
};

static struct pg_store *to_pg(struct tr_store *base)
{
    return TR_CONTAINER_OF(base, struct pg_store, base);
}

/* Attempts to reconnect a lost connection, at most this often: during an outage every admin
 * request and every look for other nodes' writes would otherwise connect again. */
#define RECONNECT_EVERY_MS 1000
/* How long one call may wait for a reconnection in progress: the rest happens over the next
 * calls, so an unreachable server (packets dropped, no refusal) never holds the control loop
 * for libpq's whole connect timeout. */
#define RECONNECT_STEP_MS 50

/* Drive the reconnection in progress for at most RECONNECT_STEP_MS (libpq's non-blocking
 * PQresetPoll, waiting on its socket with poll). True once connected. */
static bool reconnect_step(struct pg_store *s, uint64_t now)
{
    uint64_t until = now + RECONNECT_STEP_MS;
    for (;;) {
        if (s->polling == PGRES_POLLING_OK) {
            s->resetting = false;
            tr_log_notice("store: connected to PostgreSQL at %s again", s->where);
            s->down_logged = false;
            return true;
        }
        if (s->polling == PGRES_POLLING_FAILED) {
            s->resetting = false;
            tr_log_debug("store: reconnecting to PostgreSQL at %s: %.*s", s->where,
                         (int)strcspn(PQerrorMessage(s->conn), "\n"), PQerrorMessage(s->conn));
            return false;
        }
        if (now - s->reset_at >= s->conf->pg_timeout_ms) {
            s->resetting = false; /* libpq's connect_timeout does not apply to polling */
            tr_log_debug("store: reconnecting to PostgreSQL at %s: no answer within pg_timeout",
                         s->where);
            return false;
        }
        if (now >= until)
            return false; /* still connecting: the next call goes on */
        struct pollfd pfd = {.fd = PQsocket(s->conn),
                             .events = s->polling == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        int n = pfd.fd >= 0 ? poll(&pfd, 1, (int)(until - now)) : 0;
        now = tr_clock_mono_ms();
        if (n > 0)
            s->polling = PQresetPoll(s->conn);
        else if (pfd.fd < 0)
            s->polling = PGRES_POLLING_FAILED;
    }
}

/* Is the control connection usable? A lost one (the server restarted, a network cut) is opened
 * again, with the same settings, at most every RECONNECT_EVERY_MS, without blocking (above);
 * meanwhile calls fail with TR_EDB and /status says the database is unreachable. */
static bool usable(struct pg_store *s)
{
    if (!s->resetting && PQstatus(s->conn) == CONNECTION_OK)
        return true;
    if (s->batch)
        return false; /* the batch's transaction died with it: the batch fails and rolls back */
    uint64_t now = tr_clock_mono_ms();
    if (!s->resetting) {
        if (s->reset_at != 0 && now - s->reset_at < RECONNECT_EVERY_MS)
            return false;
        s->reset_at = now;
        if (!s->down_logged)
            tr_log_error("store: lost PostgreSQL at %s: %.*s; reconnecting every second", s->where,
                         (int)strcspn(PQerrorMessage(s->conn), "\n"), PQerrorMessage(s->conn));
        s->down_logged = true;
        if (!PQresetStart(s->conn))
            return false;
        s->resetting = true;
        s->polling = PGRES_POLLING_WRITING; /* libpq: as if the last poll had said so */
    }
    return reconnect_step(s, now);
}

/* Mirror columns of a kind, in parameter order after $1 id, $2 created_at, $3 doc: unique
 * fields, then foreign keys not already listed, then "ukey" for a composite key (sqlite.c has
 * the same order). */
struct cols {
    const char *name[MAX_COLS];
    size_t cnt;
};

/* printf into an SQL buffer; false when it did not fit (logged). Only static names of
 * entities.c ever go in through %s. */
__attribute__((format(printf, 3, 4))) static bool sqlf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len) {
        tr_log_error("store: statement text too long");
        return false;
    }
    return true;
}

static PGresult *query(struct pg_store *s, const char *sql, int n, const char *const *values)
{
    return tr__pg_query(s->conn, sql, n, values);
}

static bool ok_or_log(struct pg_store *s, PGresult *res, const char *what)
{
    return tr__pg_ok(res, s->conn, what);
}

/* ---- values ---------------------------------------------------------------------------------- */

/* A doc's top-level value as its mirror column keeps it (text): NULL when absent or null.
 * *owned is set when the result must be freed. */
static const char *value_text(json_t *v, char num[32], char **owned)
{
    *owned = NULL;
    if (v == NULL)
        return NULL;
    switch (json_typeof(v)) {
    case JSON_STRING:
        return json_string_value(v);
    case JSON_INTEGER:
        snprintf(num, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return num;
    case JSON_REAL:
        snprintf(num, 32, "%.17g", json_real_value(v));
        return num;
    case JSON_TRUE:
        return "1";
    case JSON_FALSE:
        return "0";
    case JSON_OBJECT:
    case JSON_ARRAY:
        *owned = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        return *owned;
    case JSON_NULL:
    default:
        return NULL;
    }
}

static json_t *load_doc(PGresult *res, int row, int col)
{
    json_error_t jerr;
    json_t *doc = json_loadb(PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col),
                             JSON_ALLOW_NUL, &jerr);
    if (doc == NULL)
        tr_log_error("store: stored document does not parse: %s", jerr.text);
    return doc;
}

/* ---- transactions ---------------------------------------------------------------------------- */

static int tx_begin(struct pg_store *s)
{
    return tr__pg_exec(s->conn, "BEGIN", "begin");
}

static void tx_rollback(struct pg_store *s)
{
    if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        PQclear(PQexec(s->conn, "ROLLBACK"));
}

static int tx_commit(struct pg_store *s)
{
    if (tr__pg_exec(s->conn, "COMMIT", "commit") != 0) {
        tx_rollback(s);
        return TR_EDB;
    }
    return 0;
}

/* ---- writes ---------------------------------------------------------------------------------- */

/* One row of sql with the given parameters: 1 (a row), 0 (none) or TR_EDB. */
static int exists(struct pg_store *s, const char *sql, int n, const char *const *values)
{
    PGresult *res = query(s, sql, n, values);
    int rc = ok_or_log(s, res, "query") ? (PQntuples(res) > 0 ? 1 : 0) : TR_EDB;
    PQclear(res);
    return rc;
}

/* A constraint the checks missed (a race with another node): PostgreSQL names the constraint,
 * <table>_<column>_key for a unique one, so the column is found in the name. */
static int constraint_error(const struct tr_store_kind *kind, json_t *doc, PGresult *res,
                            const char **conflict_field)
{
    if (strcmp(tr__pg_state(res), "23503") == 0) {
        for (size_t i = 0; i < TR_STORE_MAX_FKS && kind->fks[i].field != NULL; i++) {
            if (tr_store_doc_field(doc, kind->fks[i].field) != NULL) {
                *conflict_field = kind->fks[i].field;
                break;
            }
        }
        return TR_ENOTFOUND;
    }
    *conflict_field = "id";
    const char *name = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    size_t tl = strlen(kind->name);
    if (name != NULL && strncmp(name, kind->name, tl) == 0 && name[tl] == '_') {
        const char *col = name + tl + 1;
        size_t cl = strlen(col);
        if (cl > 4 && strcmp(col + cl - 4, "_key") == 0) {
            char c[64];
            snprintf(c, sizeof(c), "%.*s", (int)(cl - 4), col);
            int ui = tr_store_kind_unique_index(kind, c);
            if (strcmp(c, "ukey") == 0 && kind->composite_field != NULL)
                *conflict_field = kind->composite_field;
            else if (ui >= 0)
                *conflict_field = kind->unique[ui];
        }
    }
    return TR_ECONFLICT;
}

/* Inside the transaction: the checks that name the offending field, then the write. */
static int write_rows(struct pg_store *s, const struct tr_store_kind *kind, json_t *doc,
                      const char *id, bool update, const char *text, const char *ukey,
                      const char **conflict_field)
{
    char sql[SQL_MAX];
    int rc;

    if (!sqlf(sql, sizeof(sql), "SELECT 1 FROM \"%s\" WHERE id = $1", kind->name))
        return TR_EDB;
    rc = exists(s, sql, 1, (const char *[]){id});
    if (rc < 0)
        return rc;
    if (update && rc == 0)
        return TR_ENOTFOUND;
    if (!update && rc == 1) {
        *conflict_field = "id";
        return TR_ECONFLICT;
    }
    for (int i = 0; i < TR_STORE_MAX_UNIQUE && kind->unique[i] != NULL; i++) {
        char num[32], *owned;
        const char *v = value_text(tr_store_doc_field(doc, kind->unique[i]), num, &owned);
        if (v == NULL)
            continue;
        rc = sqlf(sql, sizeof(sql), "SELECT 1 FROM \"%s\" WHERE \"%s\" = $1 AND id <> $2 LIMIT 1",
                  kind->name, kind->unique[i])
                 ? exists(s, sql, 2, (const char *[]){v, id})
                 : TR_EDB;
        free(owned);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            *conflict_field = kind->unique[i];
            return TR_ECONFLICT;
        }
    }
    if (ukey != NULL) {
        rc = sqlf(sql, sizeof(sql), "SELECT 1 FROM \"%s\" WHERE ukey = $1 AND id <> $2 LIMIT 1",
                  kind->name)
                 ? exists(s, sql, 2, (const char *[]){ukey, id})
                 : TR_EDB;
        if (rc < 0)
            return rc;
        if (rc == 1) {
            *conflict_field = kind->composite_field;
            return TR_ECONFLICT;
        }
    }
    for (int i = 0; i < TR_STORE_MAX_FKS && kind->fks[i].field != NULL; i++) {
        char num[32], *owned;
        const char *v = value_text(tr_store_doc_field(doc, kind->fks[i].field), num, &owned);
        if (v == NULL)
            continue;
        rc = sqlf(sql, sizeof(sql), "SELECT 1 FROM \"%s\" WHERE id = $1", kind->fks[i].parent)
                 ? exists(s, sql, 1, (const char *[]){v})
                 : TR_EDB;
        free(owned);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            *conflict_field = kind->fks[i].field;
            return TR_ENOTFOUND;
        }
    }

    /* The write itself: $1 id, $2 created_at, $3 doc, then the mirror columns. */
    struct cols c;
    c.cnt = tr_store_kind_columns(kind, c.name);
    size_t n = 0;
    if (update) {
        n += (size_t)snprintf(sql, sizeof(sql), "UPDATE \"%s\" SET created_at = $2, doc = $3",
                              kind->name);
        for (size_t i = 0; i < c.cnt && n < sizeof(sql); i++)
            n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", \"%s\" = $%zu", c.name[i], i + 4);
        if (n < sizeof(sql))
            n += (size_t)snprintf(sql + n, sizeof(sql) - n, " WHERE id = $1");
    } else {
        n += (size_t)snprintf(sql, sizeof(sql), "INSERT INTO \"%s\" (id, created_at, doc",
                              kind->name);
        for (size_t i = 0; i < c.cnt && n < sizeof(sql); i++)
            n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", \"%s\"", c.name[i]);
        if (n < sizeof(sql))
            n += (size_t)snprintf(sql + n, sizeof(sql) - n, ") VALUES ($1, $2, $3");
        for (size_t i = 0; i < c.cnt && n < sizeof(sql); i++)
            n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", $%zu", i + 4);
        if (n < sizeof(sql))
            n += (size_t)snprintf(sql + n, sizeof(sql) - n, ")");
    }
    if (n >= sizeof(sql)) {
        tr_log_error("store: statement text too long");
        return TR_EDB;
    }
    const char *values[3 + MAX_COLS];
    char *owned[MAX_COLS] = {NULL};
    char nums[MAX_COLS][32], created[32];
    snprintf(created, sizeof(created), "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(doc, "created_at")));
    values[0] = id;
    values[1] = created;
    values[2] = text;
    for (size_t i = 0; i < c.cnt; i++)
        values[3 + i] = strcmp(c.name[i], "ukey") == 0
                            ? ukey
                            : value_text(tr_store_doc_field(doc, c.name[i]), nums[i], &owned[i]);
    PGresult *res = query(s, sql, (int)(3 + c.cnt), values);
    for (size_t i = 0; i < c.cnt; i++)
        free(owned[i]);
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        PQclear(res);
        return 0;
    }
    const char *state = tr__pg_state(res);
    if (strcmp(state, "23505") == 0 || strcmp(state, "23503") == 0)
        rc = constraint_error(kind, doc, res, conflict_field);
    else
        rc = ok_or_log(s, res, update ? "update" : "insert") ? 0 : TR_EDB;
    PQclear(res);
    return rc;
}

/* The advisory lock a write holds from its cluster event to its commit: events are then numbered
 * in commit order, so a node that has read up to seq N never finds a smaller one later. */
#define EVENTS_LOCK "7290412"

/* Inside the write's transaction: the cluster event that tells the other nodes (store.h), and
 * a notification that wakes their listeners at the commit. */
static int record_event(struct pg_store *s, const char *entity, const char *id, bool deleted)
{
    char at[24];
    snprintf(at, sizeof(at), "%" PRIu64, tr_clock_wall_ms());
    const char *values[] = {at, s->base.node, entity, id, deleted ? "1" : "0"};
    PGresult *res = query(s,
                          "WITH l AS (SELECT pg_advisory_xact_lock(" EVENTS_LOCK "))"
                          " INSERT INTO cluster_events (at, node, entity, entity_id, deleted)"
                          " SELECT $1, $2, $3, $4, $5 FROM l",
                          5, values);
    bool ok = ok_or_log(s, res, "cluster event");
    PQclear(res);
    if (ok) {
        res = PQexec(s->conn, "NOTIFY " TR_PG_EVENTS_CHANNEL);
        ok = ok_or_log(s, res, "cluster event notification");
        PQclear(res);
    }
    return ok ? 0 : TR_EDB;
}

static int write_entity(struct pg_store *s, const char *entity, json_t *doc, bool update,
                        const char **conflict_field)
{
    const char *unused = NULL;
    if (conflict_field == NULL)
        conflict_field = &unused;
    *conflict_field = NULL;
    const struct tr_store_kind *kind = tr_store_kind_find(entity, NULL);
    json_t *id = json_object_get(doc, "id");
    if (kind == NULL || !json_is_object(doc) || !json_is_string(id) ||
        json_string_length(id) == 0 || !json_is_integer(json_object_get(doc, "created_at")))
        return TR_EINVAL;

    if (!usable(s))
        return TR_EDB;
    char *text = json_dumps(doc, JSON_COMPACT);
    char *ukey = tr_store_composite_key(kind, doc);
    int rc;
    if (text == NULL || (kind->composite[0] != NULL && ukey == NULL)) {
        rc = TR_ENOMEM;
    } else if (s->batch) {
        rc = write_rows(s, kind, doc, json_string_value(id), update, text, ukey, conflict_field);
        if (rc == 0)
            rc = record_event(s, kind->name, json_string_value(id), false);
    } else if ((rc = tx_begin(s)) == 0) {
        rc = write_rows(s, kind, doc, json_string_value(id), update, text, ukey, conflict_field);
        if (rc == 0)
            rc = record_event(s, kind->name, json_string_value(id), false);
        if (rc == 0)
            rc = tx_commit(s);
        else
            tx_rollback(s);
    }
    free(text);
    free(ukey);
    return rc;
}

static int pg_insert(struct tr_store *s, const char *entity, json_t *doc,
                     const char **conflict_field)
{
    return write_entity(to_pg(s), entity, doc, false, conflict_field);
}

static int pg_update(struct tr_store *s, const char *entity, json_t *doc,
                     const char **conflict_field)
{
    return write_entity(to_pg(s), entity, doc, true, conflict_field);
}

static int pg_delete(struct tr_store *base, const char *entity, const char *id)
{
    struct pg_store *s = to_pg(base);
    const struct tr_store_kind *kind = tr_store_kind_find(entity, NULL);
    char sql[SQL_MAX];
    if (id == NULL || kind == NULL ||
        !sqlf(sql, sizeof(sql), "DELETE FROM \"%s\" WHERE id = $1", kind->name))
        return TR_EINVAL;

    if (!usable(s))
        return TR_EDB;
    int rc = s->batch ? 0 : tx_begin(s);
    if (rc < 0)
        return rc;
    /* Dependants go through ON DELETE CASCADE in this same statement; a restricting foreign
     * key that still has a child makes it fail (at once, or at a batch's commit). */
    PGresult *res = query(s, sql, 1, (const char *[]){id});
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = strcmp(tr__pg_state(res), "23503") == 0 ? TR_ECONFLICT
             : ok_or_log(s, res, "delete")           ? 0
                                                     : TR_EDB;
    else if (strcmp(PQcmdTuples(res), "0") == 0)
        rc = TR_ENOTFOUND;
    PQclear(res);
    if (rc == 0)
        rc = record_event(s, kind->name, id, true);
    if (s->batch)
        return rc;
    if (rc == 0)
        return tx_commit(s);
    tx_rollback(s);
    return rc;
}

/* ---- batches (store.h) ----------------------------------------------------------------------- */

static int pg_batch_begin(struct tr_store *base)
{
    struct pg_store *s = to_pg(base);
    if (s->batch)
        return TR_EINVAL;

    if (!usable(s))
        return TR_EDB;
    int rc = tx_begin(s);
    if (rc == 0)
        s->batch = true;
    return rc;
}

static int pg_batch_commit(struct tr_store *base)
{
    struct pg_store *s = to_pg(base);
    if (!s->batch)
        return TR_EINVAL;
    s->batch = false;
    /* A foreign key still dangling (deferred by batch_clear) fails the commit, which then
     * rolls back. */
    return tx_commit(s);
}

static void pg_batch_rollback(struct tr_store *base)
{
    struct pg_store *s = to_pg(base);
    if (!s->batch)
        return;
    s->batch = false;
    tx_rollback(s);
}

static int pg_read_begin(struct tr_store *base)
{
    struct pg_store *s = to_pg(base);
    if (s->batch)
        return TR_EINVAL;
    if (!usable(s))
        return TR_EDB;
    /* One snapshot for every statement of the transaction (READ COMMITTED takes one each). */
    int rc = tr__pg_exec(s->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", "begin read");
    if (rc == 0)
        s->batch = true;
    return rc;
}

static int pg_batch_clear(struct tr_store *base)
{
    struct pg_store *s = to_pg(base);
    if (!s->batch)
        return TR_EINVAL;
    /* Until the commit: the rows are gone before their replacements arrive. */
    if (tr__pg_exec(s->conn, "SET CONSTRAINTS ALL DEFERRED", "defer foreign keys") != 0)
        return TR_EDB;
    for (size_t i = 0; i < tr_store_kind_count(); i++) {
        char sql[96];
        snprintf(sql, sizeof(sql), "DELETE FROM \"%s\"", tr_store_kind_at(i)->name);
        if (tr__pg_exec(s->conn, sql, "clear") != 0)
            return TR_EDB;
    }
    return record_event(s, "*", "", true);
}

/* ---- reads ----------------------------------------------------------------------------------- */

static int pg_get(struct tr_store *base, const char *entity, const char *field_name,
                  const char *value, json_t **out)
{
    struct pg_store *s = to_pg(base);
    const struct tr_store_kind *kind = tr_store_kind_find(entity, NULL);
    char sql[SQL_MAX];

    *out = NULL;
    if (kind == NULL || field_name == NULL || value == NULL)
        return TR_EINVAL;

    if (!usable(s))
        return TR_EDB;
    if (strcmp(field_name, "id") != 0 && tr_store_kind_unique_index(kind, field_name) < 0)
        return TR_EINVAL;
    if (!sqlf(sql, sizeof(sql), "SELECT doc FROM \"%s\" WHERE \"%s\" = $1", kind->name, field_name))
        return TR_EDB;
    PGresult *res = query(s, sql, 1, (const char *[]){value});
    int rc;
    if (!ok_or_log(s, res, "get")) {
        rc = TR_EDB;
    } else if (PQntuples(res) == 0) {
        rc = TR_ENOTFOUND;
    } else {
        *out = load_doc(res, 0, 0);
        rc = *out != NULL ? 0 : TR_EDB;
    }
    PQclear(res);
    return rc;
}

/* Rows whose doc holds every filter's value at its top-level key. jsonb compares numbers as
 * numbers (1 equals 1.0) and keeps types apart (true is not 1, "1" is not 1), as sqlite.c. */
#define FILTERED                                                                                   \
    " NOT EXISTS (SELECT 1 FROM jsonb_each($1::jsonb) AS f"                                        \
    " WHERE (t.doc::jsonb -> f.key) IS DISTINCT FROM f.value)"

static int pg_list(struct tr_store *base, const char *entity, json_t *filters, size_t size,
                   const char *offset, json_t **rows, size_t *total, char **next_offset)
{
    struct pg_store *s = to_pg(base);
    const struct tr_store_kind *kind = tr_store_kind_find(entity, NULL);
    char sql[SQL_MAX], after_s[24], limit_s[24];
    int64_t after = 0;

    *rows = NULL;
    *total = 0;
    *next_offset = NULL;
    if (kind == NULL || size < 1 || size > MAX_PAGE)
        return TR_EINVAL;
    if (offset != NULL && (after = tr__store_offset_decode(offset)) < 0)
        return TR_EINVAL;
    char *fjson = tr__store_filter_json(filters);
    if (fjson == NULL)
        return TR_EINVAL;
    if (!usable(s)) {
        free(fjson);
        return TR_EDB;
    }

    int rc = TR_EDB;
    PGresult *res = NULL;
    if (!sqlf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\" AS t WHERE" FILTERED, kind->name))
        goto out;
    res = query(s, sql, 1, (const char *[]){fjson});
    if (!ok_or_log(s, res, "list total"))
        goto out;
    *total = (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);

    /* One row more than asked tells whether a next page exists. */
    snprintf(after_s, sizeof(after_s), "%" PRId64, after);
    snprintf(limit_s, sizeof(limit_s), "%zu", size + 1);
    res = NULL;
    if (!sqlf(sql, sizeof(sql),
              "SELECT seq, doc FROM \"%s\" AS t WHERE t.seq > $2 AND" FILTERED
              " ORDER BY t.seq LIMIT $3",
              kind->name))
        goto out;
    res = query(s, sql, 3, (const char *[]){fjson, after_s, limit_s});
    if (!ok_or_log(s, res, "list"))
        goto out;
    json_t *arr = json_array();
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        if ((size_t)i == size) {
            *next_offset = tr__store_offset_encode(strtoll(PQgetvalue(res, i - 1, 0), NULL, 10));
            break;
        }
        json_t *doc = load_doc(res, i, 1);
        if (doc == NULL) {
            json_decref(arr);
            goto out;
        }
        json_array_append_new(arr, doc);
    }
    *rows = arr;
    rc = 0;
out:
    PQclear(res);
    free(fjson);
    if (rc != 0) {
        free(*next_offset);
        *next_offset = NULL;
        *total = 0;
    }
    return rc;
}

static int pg_count(struct tr_store *base, const char *entity, size_t *out)
{
    struct pg_store *s = to_pg(base);
    const struct tr_store_kind *kind = tr_store_kind_find(entity, NULL);
    char sql[SQL_MAX];
    *out = 0;
    if (kind == NULL)
        return TR_EINVAL;

    if (!usable(s))
        return TR_EDB;
    if (!sqlf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", kind->name))
        return TR_EDB;
    PGresult *res = query(s, sql, 0, NULL);
    int rc = ok_or_log(s, res, "count") ? 0 : TR_EDB;
    if (rc == 0)
        *out = (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return rc;
}

static int pg_foreach(struct tr_store *base, const char *entity, int (*cb)(json_t *doc, void *ud),
                      void *ud)
{
    struct pg_store *s = to_pg(base);
    const struct tr_store_kind *kind = tr_store_kind_find(entity, NULL);
    char sql[SQL_MAX];
    if (kind == NULL || cb == NULL)
        return TR_EINVAL;

    if (!usable(s))
        return TR_EDB;
    if (!sqlf(sql, sizeof(sql), "SELECT doc FROM \"%s\" ORDER BY seq", kind->name))
        return TR_EDB;
    /* The whole result first: cb may call back into the store on the same connection. */
    PGresult *res = query(s, sql, 0, NULL);
    int rc = ok_or_log(s, res, "foreach") ? 0 : TR_EDB;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        json_t *doc = load_doc(res, i, 0);
        if (doc == NULL) {
            rc = TR_EDB;
            break;
        }
        rc = cb(doc, ud);
        json_decref(doc);
    }
    PQclear(res);
    return rc;
}

/* ---- cluster events (store.h) ---------------------------------------------------------------- */

static int pg_events(struct tr_store *base, int64_t after, size_t max,
                     int (*cb)(const struct tr_store_event *e, void *ud), void *ud, int64_t *last)
{
    struct pg_store *s = to_pg(base);
    if (!usable(s))
        return TR_EDB;
    char after_s[24], max_s[24];
    snprintf(after_s, sizeof(after_s), "%" PRId64, after);
    snprintf(max_s, sizeof(max_s), "%zu", max);
    PGresult *res = query(s,
                          "SELECT seq, node, entity, entity_id, deleted FROM cluster_events"
                          " WHERE seq > $1 ORDER BY seq LIMIT $2",
                          2, (const char *[]){after_s, max_s});
    int rc = ok_or_log(s, res, "cluster events") ? 0 : TR_EDB;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        struct tr_store_event e = {
            .seq = strtoll(PQgetvalue(res, i, 0), NULL, 10),
            .node = PQgetvalue(res, i, 1),
            .entity = PQgetvalue(res, i, 2),
            .id = PQgetvalue(res, i, 3),
            .deleted = strcmp(PQgetvalue(res, i, 4), "0") != 0,
        };
        *last = e.seq;
        if (cb(&e, ud) != 0)
            break;
    }
    PQclear(res);
    return rc;
}

static int pg_events_last(struct tr_store *base, int64_t *last)
{
    struct pg_store *s = to_pg(base);
    if (!usable(s))
        return TR_EDB;
    PGresult *res = PQexec(s->conn, "SELECT coalesce(max(seq), 0) FROM cluster_events");
    int rc = ok_or_log(s, res, "cluster events") ? 0 : TR_EDB;
    *last = rc == 0 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return rc;
}

static int pg_events_purge(struct tr_store *base, int64_t before_ms)
{
    struct pg_store *s = to_pg(base);
    if (!usable(s))
        return TR_EDB;
    char before[24];
    snprintf(before, sizeof(before), "%" PRId64, before_ms);
    PGresult *res =
        query(s, "DELETE FROM cluster_events WHERE at < $1", 1, (const char *[]){before});
    int rc = ok_or_log(s, res, "cluster events") ? 0 : TR_EDB;
    PQclear(res);
    return rc;
}

static void pg_listen_close(struct tr_store *base)
{
    struct pg_store *s = to_pg(base);
    PQfinish(s->listen);
    s->listen = NULL;
}

static int pg_listen(struct tr_store *base)
{
    struct pg_store *s = to_pg(base);
    struct tr_pg_params p;
    char err[512];
    pg_listen_close(base);
    /* Only while the control connection works: the server answers, so this connect is quick
     * (it blocks the control loop, as usable() never does). */
    if (!usable(s))
        return -1;
    tr__pg_params(s->conf, &p);
    s->listen = tr__pg_connect(&p, err, sizeof(err));
    if (s->listen == NULL) {
        tr_log_warn("cluster: notifications: %s", err);
        return -1;
    }
    if (tr__pg_exec(s->listen, "LISTEN " TR_PG_EVENTS_CHANNEL, "cluster: listen") != 0 ||
        PQsetnonblocking(s->listen, 1) != 0) {
        pg_listen_close(base);
        return -1;
    }
    return PQsocket(s->listen);
}

static int pg_listen_read(struct tr_store *base)
{
    struct pg_store *s = to_pg(base);
    if (s->listen == NULL)
        return TR_EDB;
    if (!PQconsumeInput(s->listen) || PQstatus(s->listen) != CONNECTION_OK) {
        tr_log_warn("cluster: notifications: connection lost: %.*s",
                    (int)strcspn(PQerrorMessage(s->listen), "\n"), PQerrorMessage(s->listen));
        pg_listen_close(base);
        return TR_EDB;
    }
    int got = 0;
    PGnotify *n;
    while ((n = PQnotifies(s->listen)) != NULL) {
        got = 1;
        PQfreemem(n);
    }
    return got;
}

/* ---- the store ------------------------------------------------------------------------------- */

static bool pg_ping(struct tr_store *base)
{
    struct pg_store *s = to_pg(base);
    if (!usable(s))
        return false;
    PGresult *res = PQexec(s->conn, "SELECT count(*) FROM schema_migrations");
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    return ok;
}

static int pg_migration_setup(struct tr_store *s, char *err, size_t err_len)
{
    return tr__pg_migration_setup(to_pg(s)->conn, err, err_len);
}

static int pg_schema_version(struct tr_store *s)
{
    return tr__pg_schema_version(to_pg(s)->conn);
}

static int pg_migration_apply(struct tr_store *s, const struct tr_store_migration *m, char *err,
                              size_t err_len)
{
    return tr__pg_migration_apply(to_pg(s)->conn, m, err, err_len);
}

static int pg_settings(struct tr_store *base, json_t **out)
{
    struct pg_store *s = to_pg(base);
    if (!usable(s))
        return TR_EDB;
    int ver = tr__pg_schema_version(s->conn);
    *out = NULL;
    if (ver < 0)
        return TR_EDB;
    *out = json_pack("{s:s,s:i,s:s,s:s,s:b,s:i}", "backend", "postgres", "server_version",
                     PQserverVersion(s->conn), "database", s->where, "schema",
                     s->conf->pg_schema[0] ? s->conf->pg_schema : "(search_path)", "ssl",
                     PQsslInUse(s->conn), "schema_version", ver);
    return *out != NULL ? 0 : TR_EDB;
}

static void pg_close(struct tr_store *base)
{
    struct pg_store *s = to_pg(base);
    tr__pg_pool_free(s->runtime);
    PQfinish(s->listen);
    PQfinish(s->conn);
    free(s);
}

static void pg_location(const struct tr_conf *conf, char *buf, size_t len)
{
    snprintf(buf, len, "postgres://%s@%s:%u/%s", conf->pg_user, conf->pg_host,
             (unsigned)conf->pg_port, conf->pg_database);
}

static int pg_open(const struct tr_conf *conf, bool migrate, struct tr_store **out, char *err,
                   size_t err_len)
{
    char dummy[1];
    struct tr_pg_params p;
    if (err == NULL || err_len == 0) {
        err = dummy;
        err_len = sizeof(dummy);
    }
    err[0] = '\0';
    *out = NULL;
    tr__pg_params(conf, &p);
    PGconn *conn = tr__pg_connect(&p, err, err_len);
    if (conn == NULL)
        return TR_EDB;
    struct pg_store *s = tr_xcalloc(1, sizeof(*s));
    s->base.ops = &tr__store_pg_ops;
    s->conn = conn;
    s->conf = conf;
    snprintf(s->where, sizeof(s->where), "%s", p.where);
    if (conf->pg_schema[0] != '\0') {
        /* pg_schema was checked to be a plain identifier */
        char sql[128];
        snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS \"%s\"", conf->pg_schema);
        if (tr__pg_exec(conn, sql, "creating pg_schema") != 0) {
            snprintf(err, err_len, "cannot create schema %s in %s", conf->pg_schema, p.where);
            pg_close(&s->base);
            return TR_EDB;
        }
    }
    int rc = migrate ? tr__store_migrations_run(&s->base, err, err_len)
                     : tr__pg_migration_setup(conn, err, err_len);
    if (rc < 0) {
        pg_close(&s->base);
        return rc;
    }
    s->runtime = tr__pg_pool_new(conf, conf->pg_max_concurrent_queries);
    *out = &s->base;
    return 0;
}

/* Every table the migrations made: entity kinds and the rest. */
static const char *const other_tables[] = {"oauth2_tokens", "oauth2_authorization_codes",
                                           "ratelimiting_counters", "cluster_events",
                                           "schema_migrations"};

static int pg_reset(struct tr_store *base)
{
    struct pg_store *s = to_pg(base);
    if (!usable(s))
        return TR_EDB;
    /* One statement: CASCADE takes the foreign keys between them along; only torii's own
     * tables go, whatever else the database holds. */
    char sql[1024];
    size_t n = (size_t)snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS ");
    for (size_t i = 0; i < tr_store_kind_count() + TR_ARRAY_SIZE(other_tables); i++) {
        const char *t = i < tr_store_kind_count() ? tr_store_kind_at(i)->name
                                                  : other_tables[i - tr_store_kind_count()];
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s\"%s\"", i ? ", " : "", t);
        if (n >= sizeof(sql))
            return TR_EDB;
    }
    if (!sqlf(sql + n, sizeof(sql) - n, " CASCADE"))
        return TR_EDB;
    return tr__pg_exec(s->conn, sql, "reset");
}

static struct tr_store_tx *pg_tx_acquire(struct tr_store *s)
{
    return tr__pg_tx_acquire(to_pg(s)->runtime);
}

static int pg_counters_open(struct tr_store *s, unsigned busy_ms, struct tr_store_counters **out,
                            char *err, size_t err_len)
{
    return tr__pg_counters_open(to_pg(s)->conf, busy_ms, out, err, err_len);
}

const struct tr_store_ops tr__store_pg_ops = {
    .name = "postgres",
    .auto_migrate = false,
    .open = pg_open,
    .location = pg_location,
    .close = pg_close,
    .ping = pg_ping,
    .settings = pg_settings,
    .migrations = tr__pg_migrations,
    .migration_setup = pg_migration_setup,
    .schema_version = pg_schema_version,
    .migration_apply = pg_migration_apply,
    .insert = pg_insert,
    .update = pg_update,
    .del = pg_delete,
    .get = pg_get,
    .list = pg_list,
    .count = pg_count,
    .for_each = pg_foreach,
    .batch_begin = pg_batch_begin,
    .batch_commit = pg_batch_commit,
    .batch_rollback = pg_batch_rollback,
    .batch_clear = pg_batch_clear,
    .read_begin = pg_read_begin,
    .reset = pg_reset,
    .events = pg_events,
    .events_last = pg_events_last,
    .events_purge = pg_events_purge,
    .listen = pg_listen,
    .listen_read = pg_listen_read,
    .listen_close = pg_listen_close,
    .tx_acquire = pg_tx_acquire,
    .tx_release = tr__pg_tx_release,
    .tx_begin = tr__pg_tx_begin,
    .tx_commit = tr__pg_tx_commit,
    .tx_rollback = tr__pg_tx_rollback,
    .token_insert = tr__pg_token_insert,
    .token_by_access = tr__pg_token_by_access,
    .token_by_refresh = tr__pg_token_by_refresh,
    .token_by_id = tr__pg_token_by_id,
    .token_revoke = tr__pg_token_revoke,
    .token_update = tr__pg_token_update,
    .token_set_hashes = tr__pg_token_set_hashes,
    .token_delete = tr__pg_token_delete,
    .family_delete = tr__pg_family_delete,
    .token_list = tr__pg_token_list,
    .code_insert = tr__pg_code_insert,
    .code_by_code = tr__pg_code_by_code,
    .code_consume = tr__pg_code_consume,
    .oauth2_purge = tr__pg_oauth2_purge,
    .oauth2_count = tr__pg_oauth2_count,
    .counters_open = pg_counters_open,
    .counters_sync = tr__pg_counters_sync,
    .counters_close = tr__pg_counters_close,
};
