/* SPDX-License-Identifier: MIT */
/* `torii config parse|db_import|db_export|init`: Kong's `kong config` verbs over the
 * declarative format (admin/declarative.h). Messages and exit codes follow Kong's: progress on
 * stdout, "Error: ..." on stderr with exit status 1. */
#include "server/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/admin.h"
#include "admin/declarative.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/yaml.h"
#include "plugins/registry.h"
#include "store/store.h"

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "Error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 1;
}

/* A path made absolute against the current directory, for messages. */
static void absolute(const char *path, char *out, size_t len)
{
    char cwd[PATH_MAX];
    if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
        snprintf(out, len, "%s", path);
    else
        snprintf(out, len, "%s/%s", cwd, path);
}

/* Write text to a new file (never over an existing one). 0, or -1 with errno. */
static int write_new(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd == -1)
        return -1;
    size_t n = strlen(text), off = 0;
    while (off < n) {
        ssize_t w = write(fd, text + off, n - off);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    return close(fd);
}

/* Parse the file and load it into store (mode), printing Kong's failure text. 0 or 1. */
static int load_file(const struct tr_conf *conf, struct tr_store *store, const char *file,
                     enum tr_declarative_mode mode, bool announce)
{
    size_t len = 0;
    char *text = tr_declarative_read_file(file, &len);
    if (text == NULL)
        return errno == EFBIG ? fail("Failed parsing:\nfailed parsing declarative configuration: "
                                     "larger than %u bytes",
                                     TR_DECLARATIVE_MAX_BYTES)
                              : fail("cannot read %s: %s", file, strerror(errno));
    char err[700];
    json_t *doc = NULL;
    struct tr_yaml_lines *lines = NULL;
    if (tr_declarative_parse_text_lines(text, len, &doc, &lines, err, sizeof(err)) != 0) {
        free(text);
        return fail("Failed parsing:\n%s", err);
    }
    free(text);
    struct tr_admin_env env = {.store = store, .conf = conf};
    struct tr_declarative_result res = {0};
    int rc = tr_declarative_load(&env, doc, mode, &res);
    int status = 0;
    if (rc == TR_EINVAL) {
        char *why = tr_declarative_error_text(res.fields, doc, lines);
        status = fail("Failed parsing:\n%s", why);
        free(why);
    } else if (rc != 0) {
        status = fail("Failed importing:\n%s", tr_err_message(rc));
    } else if (announce) {
        printf("%zu entities\n", res.entities);
    }
    tr_declarative_result_free(&res);
    tr_yaml_lines_free(lines);
    json_decref(doc);
    return status;
}

static void remove_scratch(const char *dir)
{
    const char *names[] = {"dbless.db", "dbless.db-wal", "dbless.db-shm", "dbless.db-journal"};
    char path[PATH_MAX + 32];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* `parse`: the file is loaded into a scratch store of its own (so that every check the Admin
 * API makes runs), which is then thrown away; the node's database is not touched. */
static int config_parse(struct tr_conf *conf, const char *file)
{
    char dir[PATH_MAX];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/torii-parse.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        return fail("cannot create a scratch directory: %s", strerror(errno));
    char *saved_db = conf->database, *saved_prefix = conf->prefix;
    conf->database = "off";
    conf->prefix = dir;
    struct tr_store *store = NULL;
    char err[512];
    int rc = tr_store_open(conf, &store, err, sizeof(err));
    conf->database = saved_db;
    conf->prefix = saved_prefix;
    int status;
    if (rc != 0) {
        status = fail("cannot open a scratch store: %s", err);
    } else {
        status = load_file(conf, store, file, TR_DECLARATIVE_REPLACE, false);
        tr_store_close(store);
    }
    remove_scratch(dir);
    if (status == 0)
        printf("parse successful\n");
    return status;
}

static int open_database(struct tr_conf *conf, struct tr_store **store)
{
    char err[512];
    mkdir(conf->prefix, 0755);
    if (tr_store_open(conf, store, err, sizeof(err)) != 0) {
        char where[4200];
        tr_store_location(conf, where, sizeof(where));
        return fail("cannot open the database '%s': %s", where, err);
    }
    return 0;
}

static int config_db_import(struct tr_conf *conf, const char *file)
{
    if (strcmp(conf->database, "off") == 0)
        return fail("'torii config db_import' only works with a database.\nWhen using "
                    "database=off, reload your declarative configuration\nusing the /config "
                    "endpoint.");
    struct tr_store *store;
    if (open_database(conf, &store) != 0)
        return 1;
    printf("parse successful, beginning import\n");
    fflush(stdout);
    int status = load_file(conf, store, file, TR_DECLARATIVE_UPSERT, false);
    tr_store_close(store);
    if (status == 0)
        printf("import successful (a running node applies it on `torii reload`)\n");
    return status;
}

static int config_db_export(struct tr_conf *conf, const char *file)
{
    if (strcmp(conf->database, "off") == 0)
        return fail("'torii config db_export' only works with a database.");
    char abs[PATH_MAX + 256];
    absolute(file, abs, sizeof(abs));
    if (access(abs, F_OK) == 0)
        return fail("%s already exists. Will not overwrite it.", abs);
    struct tr_store *store;
    if (open_database(conf, &store) != 0)
        return 1;
    /* The operator's own copy: with the secrets, so that importing it restores everything. */
    json_t *doc = tr_declarative_export(store, true);
    tr_store_close(store);
    char *text = doc ? tr_yaml_emit(doc) : NULL;
    json_decref(doc);
    if (text == NULL)
        return fail("cannot read the database");
    int rc = write_new(abs, text);
    free(text);
    if (rc != 0)
        return fail("cannot write %s: %s", abs, strerror(errno));
    return 0;
}

static int config_init(const char *file)
{
    char abs[PATH_MAX + 256];
    absolute(file, abs, sizeof(abs));
    if (write_new(abs, tr_declarative_starter()) != 0) {
        if (errno == EEXIST)
            return fail("%s already exists.\nWill not overwrite it.", abs);
        return fail("cannot write %s: %s", abs, strerror(errno));
    }
    return 0;
}

int tr_cli_config(int argc, char **argv)
{
    const char *conf_path = NULL;
    optind = 1;
    int ch;
    while ((ch = getopt(argc, argv, "c:p:")) != -1) {
        if (ch == 'c')
            conf_path = optarg;
        else if (ch == 'p')
            setenv("TORII_PREFIX", optarg, 1);
        else
            return 2;
    }
    const char *verb = optind < argc ? argv[optind] : NULL;
    const char *file = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (verb == NULL) {
        fprintf(stderr, "usage: torii config parse|db_import|db_export|init [FILE] [-c FILE]\n");
        return 2;
    }
    if (strcmp(verb, "init") == 0)
        return config_init(file ? file : "kong.yml");
    bool known = strcmp(verb, "parse") == 0 || strcmp(verb, "db_import") == 0 ||
                 strcmp(verb, "db_export") == 0;
    if (!known) {
        fprintf(stderr, "torii: unknown config command '%s' (parse, db_import, db_export, init)\n",
                verb);
        return 2;
    }
    if (file == NULL && strcmp(verb, "db_export") != 0)
        return fail("expected a declarative configuration file; see `torii config`");
    struct tr_conf conf;
    if (tr_cli_load_conf(conf_path, &conf) != 0)
        return 1;
    tr_log_set_level(TR_LOG_WARN);
    int status;
    char err[512];
    if (tr_plugin_set_enabled(conf.plugins, err, sizeof(err)) != 0)
        status = fail("plugins: %s", err);
    else if (strcmp(verb, "parse") == 0)
        status = config_parse(&conf, file);
    else if (strcmp(verb, "db_import") == 0)
        status = config_db_import(&conf, file);
    else
        status = config_db_export(&conf, file ? file : "kong.yml");
    tr_conf_free(&conf);
    return status;
}
