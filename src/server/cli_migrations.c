/* SPDX-License-Identifier: MIT */
/* `torii migrations bootstrap|up|finish|list|status|reset`, as Kong's `kong migrations`: the
 * schema of a shared database is the operator's to change (a PostgreSQL node refuses to start
 * on another schema and names the command to run); the embedded SQLite file migrates itself at
 * start, and the same commands work on it. Every step runs under the backend's lock, so two
 * operators (or nodes) at once apply each step once. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/conf.h"
#include "core/log.h"
#include "server/cli.h"
#include "store/store.h"

static void usage(void)
{
    fprintf(stderr, "usage: torii migrations bootstrap|up|finish|list|status|reset [--yes] "
                    "[-c FILE] [-p PREFIX]\n");
}

/* The steps applied and pending, one per line. */
static void list(struct tr_store *s, const char *where)
{
    int cur = tr_store_schema_version(s), latest = tr_store_schema_latest(s);
    printf("database %s at schema version %d (this build: %d)\n", where, cur, latest);
    for (int v = 1; v <= latest; v++)
        printf("  %3d %-28s %s\n", v, tr_store_migration_name(s, v),
               v <= cur ? "executed" : "pending");
    if (cur > latest)
        printf("  versions %d to %d come from a newer build\n", latest + 1, cur);
}

/* Run the pending steps; 0, or 1 with the reason said. */
static int migrate(struct tr_store *s, const char *where)
{
    int from = tr_store_schema_version(s);
    if (tr_store_migrate(s) != 0) {
        fprintf(stderr, "torii: migrations of %s failed (see the messages above)\n", where);
        return 1;
    }
    int to = tr_store_schema_version(s);
    printf("database %s at schema version %d", where, to);
    if (to > from)
        printf(" (%d migration%s applied)", to - from, to - from == 1 ? "" : "s");
    printf("\n");
    return 0;
}

static int run(const char *verb, bool yes, const struct tr_conf *conf)
{
    char where[4200], err[512];
    tr_store_location(conf, where, sizeof(where));
    struct tr_store *s = NULL;
    if (tr_store_open_for_migrations(conf, false, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "torii: cannot open the database '%s': %s\n", where, err);
        return 1;
    }
    int cur = tr_store_schema_version(s), latest = tr_store_schema_latest(s), rc = 0;
    if (cur < 0) {
        fprintf(stderr, "torii: cannot read the schema version of %s\n", where);
        rc = 1;
    } else if (strcmp(verb, "list") == 0 || strcmp(verb, "status") == 0) {
        list(s, where);
    } else if (strcmp(verb, "bootstrap") == 0) {
        if (cur > 0)
            printf("database %s already bootstrapped (schema version %d)\n", where, cur);
        else
            rc = migrate(s, where);
    } else if (strcmp(verb, "up") == 0) {
        if (cur > latest) {
            fprintf(stderr,
                    "torii: database schema version %d is newer than this build knows (%d)\n", cur,
                    latest);
            rc = 1;
        } else {
            rc = migrate(s, where); /* on an empty database: the same as bootstrap */
        }
    } else if (strcmp(verb, "finish") == 0) {
        /* torii's steps are all one-phase: nothing is ever left half done for finish */
        printf("database %s: no migrations pending to finish (schema version %d)\n", where, cur);
    } else if (!yes) {
        fprintf(stderr,
                "torii: migrations reset drops every table of %s and all it holds; "
                "run it with --yes to do so\n",
                where);
        rc = 1;
    } else if (tr_store_reset(s) != 0) {
        fprintf(stderr, "torii: reset of %s failed (see the messages above)\n", where);
        rc = 1;
    } else {
        printf("database %s reset: every torii table dropped\n", where);
    }
    tr_store_close(s);
    return rc;
}

int tr_cli_migrations(int argc, char **argv)
{
    static const struct option longs[] = {{"yes", no_argument, NULL, 'y'}, {NULL, 0, NULL, 0}};
    const char *conf_path = NULL;
    bool yes = false;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:p:y", longs, NULL)) != -1) {
        if (ch == 'c') {
            conf_path = optarg;
        } else if (ch == 'p') {
            setenv("TORII_PREFIX", optarg, 1);
        } else if (ch == 'y') {
            yes = true;
        } else {
            usage();
            return 2;
        }
    }
    const char *verb = optind < argc ? argv[optind] : "up";
    static const char *const verbs[] = {"bootstrap", "up", "finish", "list", "status", "reset"};
    bool known = false;
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        known = known || strcmp(verb, verbs[i]) == 0;
    if (!known) {
        fprintf(stderr, "torii: unknown migrations command '%s'\n", verb);
        usage();
        return 2;
    }
    struct tr_conf conf;
    if (tr_cli_load_conf(conf_path, &conf) != 0)
        return 1;
    tr_log_set_level(TR_LOG_WARN);
    mkdir(conf.prefix, 0755); /* the SQLite file's directory */
    int rc = run(verb, yes, &conf);
    tr_conf_free(&conf);
    return rc;
}
