/* SPDX-License-Identifier: MIT */
/* Connections to PostgreSQL from the pg_* settings, and the small wrappers over libpq every pg
 * file uses (pg.h). */
#include "store/pg.h"

#include <stdio.h>
#include <string.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"

void tr__pg_params(const struct tr_conf *conf, struct tr_pg_params *p)
{
    size_t n = 0;
    memset(p, 0, sizeof(*p));
    snprintf(p->port, sizeof(p->port), "%u", (unsigned)conf->pg_port);
    /* libpq's connect_timeout is in whole seconds (at least 2 are used) */
    snprintf(p->connect_timeout, sizeof(p->connect_timeout), "%u",
             (unsigned)((conf->pg_timeout_ms + 999) / 1000));
    /* Every statement is bounded too; the schema (checked to be a plain identifier) first in
     * the search path, so the tables are found and created there. A commit returns once its
     * WAL is flushed whatever the server's default: an admin write answered 2xx survives a
     * crash of PostgreSQL (the counters' session turns it off for itself, pg_counters.c). */
    int len =
        snprintf(p->options, sizeof(p->options), "-c statement_timeout=%u -c synchronous_commit=on",
                 (unsigned)conf->pg_timeout_ms);
    if (conf->pg_schema != NULL && conf->pg_schema[0] != '\0')
        snprintf(p->options + len, sizeof(p->options) - (size_t)len, " -c search_path=%s",
                 conf->pg_schema);
    snprintf(p->where, sizeof(p->where), "%s@%s:%u/%s", conf->pg_user, conf->pg_host,
             (unsigned)conf->pg_port, conf->pg_database);
#define ADD(k, v)                                                                                  \
    do {                                                                                           \
        p->keys[n] = (k);                                                                          \
        p->values[n++] = (v);                                                                      \
    } while (0)
    ADD("host", conf->pg_host);
    ADD("port", p->port);
    ADD("user", conf->pg_user);
    if (conf->pg_password != NULL && conf->pg_password[0] != '\0')
        ADD("password", conf->pg_password);
    ADD("dbname", conf->pg_database);
    ADD("connect_timeout", p->connect_timeout);
    ADD("options", p->options);
    ADD("application_name", "torii");
    ADD("sslmode", !conf->pg_ssl ? "disable" : conf->pg_ssl_verify ? "verify-full" : "require");
    /* A connection that dies quietly (a server gone, a cable cut) is noticed within seconds. */
    ADD("keepalives_idle", "10");
    ADD("keepalives_interval", "5");
    ADD("keepalives_count", "3");
    /* Sent data unacknowledged this long ends the connection (a server whose packets are
     * dropped): a query never waits past pg_timeout for a server that is gone. */
    snprintf(p->tcp_user_timeout, sizeof(p->tcp_user_timeout), "%u", (unsigned)conf->pg_timeout_ms);
    ADD("tcp_user_timeout", p->tcp_user_timeout);
#undef ADD
    p->keys[n] = NULL;
    p->values[n] = NULL;
}

/* The server's notices ("relation already exists, skipping") into the log at debug, instead of
 * libpq's default: straight to stderr, past the log's format and level. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    tr_log_debug("store: PostgreSQL says: %.*s", (int)strcspn(message, "\n"), message);
}

PGconn *tr__pg_connect(const struct tr_pg_params *p, char *err, size_t err_len)
{
    PGconn *conn = PQconnectdbParams(p->keys, p->values, 0);
    if (conn != NULL && PQstatus(conn) == CONNECTION_OK) {
        PQsetErrorVerbosity(conn, PQERRORS_DEFAULT);
        PQsetNoticeProcessor(conn, on_notice, NULL);
        return conn;
    }
    const char *why = conn != NULL ? PQerrorMessage(conn) : "out of memory";
    /* libpq's message may span lines and end with one: keep the first line */
    size_t wl = strcspn(why, "\n");
    if (err != NULL && err_len > 0)
        snprintf(err, err_len, "cannot connect to PostgreSQL at %s: %.*s", p->where, (int)wl, why);
    PQfinish(conn);
    return NULL;
}

int tr__pg_exec(PGconn *conn, const char *sql, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = tr__pg_ok(res, conn, what);
    PQclear(res);
    return ok ? 0 : TR_EDB;
}

PGresult *tr__pg_query(PGconn *conn, const char *sql, int n, const char *const *values)
{
    return PQexecParams(conn, sql, n, NULL, values, NULL, NULL, 0);
}

bool tr__pg_ok(PGresult *res, PGconn *conn, const char *what)
{
    ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return true;
    const char *why = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    size_t wl = strcspn(why, "\n");
    tr_log_error("store: %s: %.*s", what, (int)wl, why);
    return false;
}

const char *tr__pg_state(const PGresult *res)
{
    const char *s = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s != NULL ? s : "";
}
