/* SPDX-License-Identifier: MIT */
/* Running a backend's schema steps (see migrations.h); the steps and the transaction around
 * each one are the backend's. */
#include "store/migrations.h"

#include <stdio.h>

#include "core/err.h"
#include "core/log.h"
#include "store/backend.h"

int tr__store_migrations_latest(const struct tr_store_ops *ops)
{
    int latest = 0;
    for (const struct tr_store_migration *m = ops->migrations; m->name != NULL; m++)
        latest = m->version;
    return latest;
}

int tr__store_migrations_run(struct tr_store *s, char *err, size_t err_len)
{
    const struct tr_store_ops *ops = s->ops;
    int latest = tr__store_migrations_latest(ops);
    int cur, rc;

    rc = ops->migration_setup(s, err, err_len);
    if (rc < 0)
        return rc;
    cur = ops->schema_version(s);
    if (cur < 0) {
        if (err != NULL && err_len > 0)
            snprintf(err, err_len, "migration: cannot read the schema version");
        return TR_EDB;
    }
    if (cur > latest) {
        if (err != NULL && err_len > 0)
            snprintf(err, err_len, "database schema version %d is newer than this build knows (%d)",
                     cur, latest);
        tr_log_error("store: database schema version %d is newer than this build knows (%d)", cur,
                     latest);
        return TR_EDB;
    }
    for (const struct tr_store_migration *m = ops->migrations; m->name != NULL; m++) {
        if (m->version <= cur)
            continue;
        rc = ops->migration_apply(s, m, err, err_len);
        if (rc < 0)
            return rc;
        if (rc == 1)
            tr_log_notice("store: migration %d (%s) applied", m->version, m->name);
    }
    return 0;
}
