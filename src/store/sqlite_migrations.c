/* SPDX-License-Identifier: MIT */
/* The SQLite schema, as an append-only list of versioned steps (migrations.h runs them). Never
 * edit an applied step: add a new one. Each entity table mirrors the kind's row in entities.c:
 * seq (insertion order), id, created_at, doc (the whole entity as compact JSON), one column per
 * unique field and per foreign key (NULL when absent), and ukey for a composite unique key. */
#include "store/sqlite.h"

#include <stdio.h>

#include <sqlite3.h>

#include "core/err.h"
#include "core/log.h"
#include "store/migrations.h"

/* AUTOINCREMENT keeps seq from ever being reused, so a list offset token (the last seq seen)
 * stays meaningful after deletes. Mirror columns are TEXT: every unique field and foreign key
 * is a string in Kong's schemas. */
const struct tr_store_migration tr__sqlite_migrations[] = {
    {1, "create_apis",
     "CREATE TABLE apis ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " doc TEXT NOT NULL CHECK (json_valid(doc)),"
     " name TEXT UNIQUE,"
     " request_host TEXT UNIQUE,"
     " request_path TEXT UNIQUE);"},
    {2, "create_consumers",
     "CREATE TABLE consumers ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " doc TEXT NOT NULL CHECK (json_valid(doc)),"
     " username TEXT UNIQUE,"
     " custom_id TEXT UNIQUE);"},
    {3, "create_plugins",
     "CREATE TABLE plugins ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " doc TEXT NOT NULL CHECK (json_valid(doc)),"
     " api_id TEXT REFERENCES apis (id) ON DELETE CASCADE,"
     " consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE,"
     " ukey TEXT NOT NULL UNIQUE);"
     "CREATE INDEX plugins_api_id ON plugins (api_id);"
     "CREATE INDEX plugins_consumer_id ON plugins (consumer_id);"},
    {4, "create_certificates_snis",
     "CREATE TABLE certificates ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " doc TEXT NOT NULL CHECK (json_valid(doc)));"
     "CREATE TABLE snis ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " doc TEXT NOT NULL CHECK (json_valid(doc)),"
     " name TEXT UNIQUE,"
     " certificate_id TEXT REFERENCES certificates (id) ON DELETE CASCADE);"
     "CREATE INDEX snis_certificate_id ON snis (certificate_id);"},
    {5, "create_credentials",
     "CREATE TABLE keyauth_credentials ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " doc TEXT NOT NULL CHECK (json_valid(doc)),"
     " key TEXT UNIQUE,"
     " consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE);"
     "CREATE INDEX keyauth_credentials_consumer_id ON keyauth_credentials (consumer_id);"
     "CREATE TABLE basicauth_credentials ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " doc TEXT NOT NULL CHECK (json_valid(doc)),"
     " username TEXT UNIQUE,"
     " consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE);"
     "CREATE INDEX basicauth_credentials_consumer_id ON basicauth_credentials (consumer_id);"
     "CREATE TABLE acls ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " doc TEXT NOT NULL CHECK (json_valid(doc)),"
     " consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE,"
     " ukey TEXT NOT NULL UNIQUE);"
     "CREATE INDEX acls_consumer_id ON acls (consumer_id);"},
    /* Counters of the rate-limiting `cluster` policy (store/counters.c), not an entity: key
     * is the hash naming plugin instance, identity, period and window start; plugin_id and
     * period are there for people reading the table. */
    {6, "create_ratelimiting_counters",
     "CREATE TABLE ratelimiting_counters ("
     " key INTEGER PRIMARY KEY,"
     " plugin_id TEXT NOT NULL,"
     " period TEXT NOT NULL,"
     " window_end INTEGER NOT NULL,"
     " count INTEGER NOT NULL);"
     "CREATE INDEX ratelimiting_counters_window_end ON ratelimiting_counters (window_end);"},
    /* OAuth 2.0: applications are configuration (a credential kind, in the snapshot); tokens
     * and codes are runtime rows (store/oauth2.c) keyed by SHA-256 digests, never plaintext. */
    {7, "create_oauth2",
     "CREATE TABLE oauth2_credentials ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " doc TEXT NOT NULL CHECK (json_valid(doc)),"
     " client_id TEXT UNIQUE,"
     " consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE);"
     "CREATE INDEX oauth2_credentials_consumer_id ON oauth2_credentials (consumer_id);"
     "CREATE TABLE oauth2_tokens ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " id TEXT NOT NULL UNIQUE,"
     " credential_id TEXT NOT NULL REFERENCES oauth2_credentials (id) ON DELETE CASCADE,"
     " api_id TEXT REFERENCES apis (id) ON DELETE CASCADE,"
     " family TEXT NOT NULL,"
     " scope TEXT,"
     " authenticated_userid TEXT,"
     " created_at INTEGER NOT NULL,"
     " expires_in INTEGER NOT NULL,"
     " refresh_expires_at INTEGER NOT NULL,"
     " access_hash TEXT NOT NULL UNIQUE,"
     " refresh_hash TEXT UNIQUE,"
     " revoked INTEGER NOT NULL DEFAULT 0);"
     "CREATE INDEX oauth2_tokens_family ON oauth2_tokens (family);"
     "CREATE INDEX oauth2_tokens_credential_id ON oauth2_tokens (credential_id);"
     "CREATE INDEX oauth2_tokens_api_id ON oauth2_tokens (api_id);"
     "CREATE TABLE oauth2_authorization_codes ("
     " id TEXT PRIMARY KEY,"
     " code_hash TEXT NOT NULL UNIQUE,"
     " credential_id TEXT NOT NULL REFERENCES oauth2_credentials (id) ON DELETE CASCADE,"
     " api_id TEXT REFERENCES apis (id) ON DELETE CASCADE,"
     " family TEXT,"
     " scope TEXT,"
     " authenticated_userid TEXT,"
     " redirect_uri TEXT,"
     " challenge TEXT,"
     " created_at INTEGER NOT NULL,"
     " used_at INTEGER);"
     "CREATE INDEX oauth2_codes_created_at ON oauth2_authorization_codes (created_at);"
     "CREATE INDEX oauth2_codes_credential_id ON oauth2_authorization_codes (credential_id);"
     "CREATE INDEX oauth2_codes_api_id ON oauth2_authorization_codes (api_id);"},
    /* Kong 3.x services and routes (schema/kong3.h has the stored shape). Their foreign keys
     * restrict deletes instead of cascading, as Kong 3's do: a service that routes use, or a
     * certificate that services use, stays until those go. */
    {8, "create_services_routes",
     "CREATE TABLE services ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " doc TEXT NOT NULL CHECK (json_valid(doc)),"
     " name TEXT UNIQUE,"
     " client_certificate_id TEXT REFERENCES certificates (id));"
     "CREATE INDEX services_client_certificate_id ON services (client_certificate_id);"
     "CREATE TABLE routes ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " doc TEXT NOT NULL CHECK (json_valid(doc)),"
     " name TEXT UNIQUE,"
     " service_id TEXT REFERENCES services (id));"
     "CREATE INDEX routes_service_id ON routes (service_id);"},
    /* Plugins bound to a Kong 3 route or service (deleted with it), and the composite key
     * (name, api_id, consumer_id, route_id, service_id) recomputed for the rows already there,
     * in the store's format (a compact JSON array, null for an absent value). */
    {9, "plugins_routes_services",
     "ALTER TABLE plugins ADD COLUMN route_id TEXT REFERENCES routes (id) ON DELETE CASCADE;"
     "ALTER TABLE plugins ADD COLUMN service_id TEXT REFERENCES services (id) ON DELETE CASCADE;"
     "CREATE INDEX plugins_route_id ON plugins (route_id);"
     "CREATE INDEX plugins_service_id ON plugins (service_id);"
     "UPDATE plugins SET ukey = json_array(json_extract(doc, '$.name'),"
     " json_extract(doc, '$.api_id'), json_extract(doc, '$.consumer_id'), NULL, NULL);"},
    /* Kong 3.x upstreams and their targets (schema/kong3.h has the stored shape). A target
     * goes with its upstream (ON DELETE CASCADE, as Kong 3's on_delete = "cascade"); a
     * certificate an upstream presents stays until the upstream lets it go. (upstream_id,
     * target) is unique, as Kong 3's cache key. */
    {10, "create_upstreams_targets",
     "CREATE TABLE upstreams ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " doc TEXT NOT NULL CHECK (json_valid(doc)),"
     " name TEXT UNIQUE,"
     " client_certificate_id TEXT REFERENCES certificates (id));"
     "CREATE INDEX upstreams_client_certificate_id ON upstreams (client_certificate_id);"
     "CREATE TABLE targets ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " doc TEXT NOT NULL CHECK (json_valid(doc)),"
     " upstream_id TEXT REFERENCES upstreams (id) ON DELETE CASCADE,"
     " ukey TEXT NOT NULL UNIQUE);"
     "CREATE INDEX targets_upstream_id ON targets (upstream_id);"},
    /* Cluster events: every entity write records one in its own transaction, so the other
     * nodes of a shared database learn what changed (store.h, server/cluster_sync.c). */
    {11, "create_cluster_events",
     "CREATE TABLE cluster_events ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " at INTEGER NOT NULL,"
     " node TEXT NOT NULL,"
     " entity TEXT NOT NULL,"
     " entity_id TEXT NOT NULL,"
     " deleted INTEGER NOT NULL);"
     "CREATE INDEX cluster_events_at ON cluster_events (at);"},
    /* The jwt plugin's credentials (Kong's jwt_secrets): key is unique, as its cache key. */
    {12, "create_jwt_secrets",
     "CREATE TABLE jwt_secrets ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " doc TEXT NOT NULL CHECK (json_valid(doc)),"
     " key TEXT UNIQUE,"
     " consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE);"
     "CREATE INDEX jwt_secrets_consumer_id ON jwt_secrets (consumer_id);"},
    /* The hmac-auth plugin's credentials: username is unique, as its cache key. */
    {13, "create_hmacauth_credentials",
     "CREATE TABLE hmacauth_credentials ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " id TEXT NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " doc TEXT NOT NULL CHECK (json_valid(doc)),"
     " username TEXT UNIQUE,"
     " consumer_id TEXT REFERENCES consumers (id) ON DELETE CASCADE);"
     "CREATE INDEX hmacauth_credentials_consumer_id ON hmacauth_credentials (consumer_id);"},
    {0, NULL, NULL},
};

static void set_err(char *err, size_t err_len, const char *what, struct sqlite3 *db)
{
    if (err != NULL && err_len > 0)
        snprintf(err, err_len, "%s: %s", what, sqlite3_errmsg(db));
    tr_log_error("store: %s: %s", what, sqlite3_errmsg(db));
}

int tr__sqlite_schema_version(struct sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int rc;

    /* A database this build never touched has no schema_migrations table: version 0. */
    rc = sqlite3_prepare_v2(db,
                            "SELECT count(*) FROM sqlite_schema"
                            " WHERE type = 'table' AND name = 'schema_migrations'",
                            -1, &st, NULL);
    if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        goto fail;
    if (sqlite3_column_int(st, 0) == 0) {
        sqlite3_finalize(st);
        return 0;
    }
    sqlite3_finalize(st);
    rc = sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1, &st,
                            NULL);
    if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        goto fail;
    rc = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc;

fail:
    tr_log_error("store: reading schema version: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return TR_EDB;
}

int tr__sqlite_migration_apply(struct sqlite3 *db, const struct tr_store_migration *m, char *err,
                               size_t err_len)
{
    sqlite3_stmt *st = NULL;
    int cur, applied = 0;

    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        set_err(err, err_len, "migration: begin", db);
        return TR_EDB;
    }
    /* Re-read under the write lock: another process may have applied it meanwhile. */
    cur = tr__sqlite_schema_version(db);
    if (cur < 0)
        goto fail;
    if (cur >= m->version)
        goto commit;
    if (sqlite3_exec(db, m->sql, NULL, NULL, NULL) != SQLITE_OK) {
        set_err(err, err_len, m->name, db);
        goto fail;
    }
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO schema_migrations (version, name, applied_at)"
                           " VALUES (?1, ?2, CAST(strftime('%s', 'now') AS INTEGER))",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int(st, 1, m->version) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_DONE) {
        set_err(err, err_len, "migration: recording version", db);
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    applied = 1;
commit:
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        set_err(err, err_len, "migration: commit", db);
        goto fail;
    }
    return applied;

fail:
    sqlite3_finalize(st);
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    if (cur < 0 && err != NULL && err_len > 0)
        snprintf(err, err_len, "migration: cannot read the schema version");
    return TR_EDB;
}

int tr__sqlite_migration_setup(struct sqlite3 *db, char *err, size_t err_len)
{
    if (sqlite3_exec(db,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version INTEGER PRIMARY KEY,"
                     " name TEXT NOT NULL,"
                     " applied_at INTEGER NOT NULL)",
                     NULL, NULL, NULL) != SQLITE_OK) {
        set_err(err, err_len, "migration: creating schema_migrations", db);
        return TR_EDB;
    }
    return 0;
}
