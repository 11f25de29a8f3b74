/* SPDX-License-Identifier: MIT */
/* The PostgreSQL schema: the same append-only list of versioned steps as the SQLite one
 * (sqlite_migrations.c, whose comments say what each table is), in PostgreSQL's dialect: seq is
 * a BIGSERIAL (never reused, so list offsets stay meaningful), integers are BIGINT, foreign keys
 * are DEFERRABLE (a batch may defer them to its commit), and doc is the entity's compact JSON
 * text as the store wrote it. Each step runs in one transaction holding an advisory lock, so two
 * nodes migrating at once apply it once. Never edit an applied step: add a new one. */
#include "store/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "store/migrations.h"

/* The advisory lock every schema change holds (any constant both builds agree on). */
#define MIGRATION_LOCK "7290411"

const struct tr_store_migration tr__pg_migrations[] = {
    {1, "create_apis",
     "CREATE TABLE apis ("
     " seq BIGSERIAL PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at BIGINT NOT NULL,"
     " doc TEXT NOT NULL,"
     " name TEXT UNIQUE,"
     " request_host TEXT UNIQUE,"
     " request_path TEXT UNIQUE);"},
    {2, "create_consumers",
     "CREATE TABLE consumers ("
     " seq BIGSERIAL PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at BIGINT NOT NULL,"
     " doc TEXT NOT NULL,"
     " username TEXT UNIQUE,"
     " custom_id TEXT UNIQUE);"},
    {3, "create_plugins",
     "CREATE TABLE plugins ("
     " seq BIGSERIAL PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at BIGINT NOT NULL,"
     " doc TEXT NOT NULL,"
     " api_id TEXT REFERENCES apis (id) ON DELETE CASCADE DEFERRABLE,"
     " consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE DEFERRABLE,"
     " ukey TEXT NOT NULL UNIQUE);"
     "CREATE INDEX plugins_api_id ON plugins (api_id);"
     "CREATE INDEX plugins_consumer_id ON plugins (consumer_id);"},
    {4, "create_certificates_snis",
     "CREATE TABLE certificates ("
     " seq BIGSERIAL PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at BIGINT NOT NULL,"
     " doc TEXT NOT NULL);"
     "CREATE TABLE snis ("
     " seq BIGSERIAL PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at BIGINT NOT NULL,"
     " doc TEXT NOT NULL,"
     " name TEXT UNIQUE,"
     " certificate_id TEXT REFERENCES certificates (id) ON DELETE CASCADE DEFERRABLE);"
     "CREATE INDEX snis_certificate_id ON snis (certificate_id);"},
    {5, "create_credentials",
     "CREATE TABLE keyauth_credentials ("
     " seq BIGSERIAL PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at BIGINT NOT NULL,"
     " doc TEXT NOT NULL,"
     " key TEXT UNIQUE,"
     " consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE DEFERRABLE);"
     "CREATE INDEX keyauth_credentials_consumer_id ON keyauth_credentials (consumer_id);"
     "CREATE TABLE basicauth_credentials ("
     " seq BIGSERIAL PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at BIGINT NOT NULL,"
     " doc TEXT NOT NULL,"
     " username TEXT UNIQUE,"
     " consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE DEFERRABLE);"
     "CREATE INDEX basicauth_credentials_consumer_id ON basicauth_credentials (consumer_id);"
     "CREATE TABLE acls ("
     " seq BIGSERIAL PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at BIGINT NOT NULL,"
     " doc TEXT NOT NULL,"
     " consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE DEFERRABLE,"
     " ukey TEXT NOT NULL UNIQUE);"
     "CREATE INDEX acls_consumer_id ON acls (consumer_id);"},
    /* Counters of the rate-limiting `cluster` policy (store/counters.c), not an entity: key
     * is the hash naming plugin instance, identity, period and window start; plugin_id and
     * period are there for people reading the table. */
    {6, "create_ratelimiting_counters",
     "CREATE TABLE ratelimiting_counters ("
     " key BIGINT PRIMARY KEY,"
     " plugin_id TEXT NOT NULL,"
     " period TEXT NOT NULL,"
     " window_end BIGINT NOT NULL,"
     " count BIGINT NOT NULL);"
     "CREATE INDEX ratelimiting_counters_window_end ON ratelimiting_counters (window_end);"},
    /* OAuth 2.0: applications are configuration (a credential kind, in the snapshot); tokens
     * and codes are runtime rows (store/oauth2.c) keyed by SHA-256 digests, never plaintext. */
    {7, "create_oauth2",
     "CREATE TABLE oauth2_credentials ("
     " seq BIGSERIAL PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at BIGINT NOT NULL,"
     " doc TEXT NOT NULL,"
     " client_id TEXT UNIQUE,"
     " consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE DEFERRABLE);"
     "CREATE INDEX oauth2_credentials_consumer_id ON oauth2_credentials (consumer_id);"
     "CREATE TABLE oauth2_tokens ("
     " seq BIGSERIAL PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " credential_id TEXT NOT NULL REFERENCES oauth2_credentials (id) ON DELETE CASCADE DEFERRABLE,"
     " api_id TEXT REFERENCES apis (id) ON DELETE CASCADE DEFERRABLE,"
     " family TEXT NOT NULL,"
     " scope TEXT,"
     " authenticated_userid TEXT,"
     " created_at BIGINT NOT NULL,"
     " expires_in BIGINT NOT NULL,"
     " refresh_expires_at BIGINT NOT NULL,"
     " access_hash TEXT NOT NULL UNIQUE,"
     " refresh_hash TEXT UNIQUE,"
     " revoked INTEGER NOT NULL DEFAULT 0);"
     "CREATE INDEX oauth2_tokens_family ON oauth2_tokens (family);"
     "CREATE INDEX oauth2_tokens_credential_id ON oauth2_tokens (credential_id);"
     "CREATE INDEX oauth2_tokens_api_id ON oauth2_tokens (api_id);"
     "CREATE TABLE oauth2_authorization_codes ("
     " id TEXT PRIMARY KEY,"
     " code_hash TEXT NOT NULL UNIQUE,"
     " credential_id TEXT NOT NULL REFERENCES oauth2_credentials (id) ON DELETE CASCADE DEFERRABLE,"
     " api_id TEXT REFERENCES apis (id) ON DELETE CASCADE DEFERRABLE,"
     " family TEXT,"
     " scope TEXT,"
     " authenticated_userid TEXT,"
     " redirect_uri TEXT,"
     " challenge TEXT,"
     " created_at BIGINT NOT NULL,"
     " used_at BIGINT);"
     "CREATE INDEX oauth2_codes_created_at ON oauth2_authorization_codes (created_at);"
     "CREATE INDEX oauth2_codes_credential_id ON oauth2_authorization_codes (credential_id);"
     "CREATE INDEX oauth2_codes_api_id ON oauth2_authorization_codes (api_id);"},
    /* Kong 3.x services and routes (schema/kong3.h has the stored shape). Their foreign keys
     * restrict deletes instead of cascading, as Kong 3's do: a service that routes use, or a
     * certificate that services use, stays until those go. */
    {8, "create_services_routes",
     "CREATE TABLE services ("
     " seq BIGSERIAL PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at BIGINT NOT NULL,"
     " doc TEXT NOT NULL,"
     " name TEXT UNIQUE,"
     " client_certificate_id TEXT REFERENCES certificates (id) DEFERRABLE);"
     "CREATE INDEX services_client_certificate_id ON services (client_certificate_id);"
     "CREATE TABLE routes ("
     " seq BIGSERIAL PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at BIGINT NOT NULL,"
     " doc TEXT NOT NULL,"
     " name TEXT UNIQUE,"
     " service_id TEXT REFERENCES services (id) DEFERRABLE);"
     "CREATE INDEX routes_service_id ON routes (service_id);"},
    /* Plugins bound to a Kong 3 route or service (deleted with it). (SQLite's step also
     * recomputes the composite key of older rows; no PostgreSQL database predates it.) */
    {9, "plugins_routes_services",
     "ALTER TABLE plugins ADD COLUMN route_id TEXT REFERENCES routes (id) ON DELETE CASCADE "
     "DEFERRABLE;"
     "ALTER TABLE plugins ADD COLUMN service_id TEXT REFERENCES services (id) ON DELETE CASCADE "
     "DEFERRABLE;"
     "CREATE INDEX plugins_route_id ON plugins (route_id);"
     "CREATE INDEX plugins_service_id ON plugins (service_id);"},
    /* Kong 3.x upstreams and their targets (schema/kong3.h has the stored shape). A target
     * goes with its upstream (ON DELETE CASCADE, as Kong 3's on_delete = "cascade"); a
     * certificate an upstream presents stays until the upstream lets it go. (upstream_id,
     * target) is unique, as Kong 3's cache key. */
    {10, "create_upstreams_targets",
     "CREATE TABLE upstreams ("
     " seq BIGSERIAL PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at BIGINT NOT NULL,"
     " doc TEXT NOT NULL,"
     " name TEXT UNIQUE,"
     " client_certificate_id TEXT REFERENCES certificates (id) DEFERRABLE);"
     "CREATE INDEX upstreams_client_certificate_id ON upstreams (client_certificate_id);"
     "CREATE TABLE targets ("
     " seq BIGSERIAL PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at BIGINT NOT NULL,"
     " doc TEXT NOT NULL,"
     " upstream_id TEXT REFERENCES upstreams (id) ON DELETE CASCADE DEFERRABLE,"
     " ukey TEXT NOT NULL UNIQUE);"
     "CREATE INDEX targets_upstream_id ON targets (upstream_id);"},
    {11, "create_cluster_events",
     "CREATE TABLE cluster_events ("
     " seq BIGSERIAL PRIMARY KEY,"
     " at BIGINT NOT NULL,"
     " node TEXT NOT NULL,"
     " entity TEXT NOT NULL,"
     " entity_id TEXT NOT NULL,"
     " deleted INTEGER NOT NULL);"
     "CREATE INDEX cluster_events_at ON cluster_events (at);"},
    {12, "create_jwt_secrets",
     "CREATE TABLE jwt_secrets ("
     " seq BIGSERIAL PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at BIGINT NOT NULL,"
     " doc TEXT NOT NULL,"
     " key TEXT UNIQUE,"
     " consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE DEFERRABLE);"
     "CREATE INDEX jwt_secrets_consumer_id ON jwt_secrets (consumer_id);"},
    {13, "create_hmacauth_credentials",
     "CREATE TABLE hmacauth_credentials ("
     " seq BIGSERIAL PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at BIGINT NOT NULL,"
     " doc TEXT NOT NULL,"
     " username TEXT UNIQUE,"
     " consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE DEFERRABLE);"
     "CREATE INDEX hmacauth_credentials_consumer_id ON hmacauth_credentials (consumer_id);"},
    {0, NULL, NULL},
};

static void set_err(char *err, size_t err_len, const char *what, PGconn *conn, PGresult *res)
{
    const char *why = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    size_t wl = strcspn(why, "\n");
    if (err != NULL && err_len > 0)
        snprintf(err, err_len, "%s: %.*s", what, (int)wl, why);
    tr_log_error("store: %s: %.*s", what, (int)wl, why);
}

/* Run sql; false (err set) when it failed. */
static bool run(PGconn *conn, const char *sql, const char *what, char *err, size_t err_len)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        set_err(err, err_len, what, conn, res);
    PQclear(res);
    return ok;
}

int tr__pg_migration_setup(PGconn *conn, char *err, size_t err_len)
{
    /* Under the lock: two nodes creating the table at once would collide in the catalog. */
    bool ok = run(conn, "BEGIN", "migration: begin", err, err_len) &&
              run(conn, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")", "migration: lock", err,
                  err_len) &&
              run(conn,
                  "CREATE TABLE IF NOT EXISTS schema_migrations ("
                  " version INTEGER PRIMARY KEY,"
                  " name TEXT NOT NULL,"
                  " applied_at BIGINT NOT NULL)",
                  "migration: creating schema_migrations", err, err_len) &&
              run(conn, "COMMIT", "migration: commit", err, err_len);
    if (!ok)
        PQclear(PQexec(conn, "ROLLBACK"));
    return ok ? 0 : TR_EDB;
}

int tr__pg_schema_version(PGconn *conn)
{
    /* A database this build never touched has no schema_migrations table: version 0. */
    PGresult *res = PQexec(conn, "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL"
                                 " THEN 0 ELSE (SELECT coalesce(max(version), 0)"
                                 " FROM schema_migrations) END");
    int v = TR_EDB;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        v = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    else
        set_err(NULL, 0, "reading schema version", conn, res);
    PQclear(res);
    return v;
}

int tr__pg_migration_apply(PGconn *conn, const struct tr_store_migration *m, char *err,
                           size_t err_len)
{
    int applied = 0;
    if (!run(conn, "BEGIN", "migration: begin", err, err_len))
        return TR_EDB;
    /* Re-read under the lock: another node may have applied it meanwhile. */
    if (!run(conn, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")", "migration: lock", err,
             err_len))
        goto fail;
    int cur = tr__pg_schema_version(conn);
    if (cur < 0) {
        if (err != NULL && err_len > 0)
            snprintf(err, err_len, "migration: cannot read the schema version");
        goto fail;
    }
    if (cur < m->version) {
        if (!run(conn, m->sql, m->name, err, err_len))
            goto fail;
        char version[16];
        snprintf(version, sizeof(version), "%d", m->version);
        const char *values[] = {version, m->name};
        PGresult *res = tr__pg_query(conn,
                                     "INSERT INTO schema_migrations (version, name, applied_at)"
                                     " VALUES ($1, $2, extract(epoch FROM now())::bigint)",
                                     2, values);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            set_err(err, err_len, "migration: recording version", conn, res);
        PQclear(res);
        if (!ok)
            goto fail;
        applied = 1;
    }
    if (!run(conn, "COMMIT", "migration: commit", err, err_len))
        goto fail;
    return applied;
fail:
    PQclear(PQexec(conn, "ROLLBACK"));
    return TR_EDB;
}
