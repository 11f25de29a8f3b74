/* SPDX-License-Identifier: MIT */
/* DB-less mode (dbless.h). */
#include "server/dbless.h"

#include <errno.h>
#include <fcntl.h>
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

bool tr_dbless_on(const struct tr_conf *conf)
{
    return conf->database != NULL && strcmp(conf->database, "off") == 0;
}

bool tr_dbless_has_source(const struct tr_conf *conf)
{
    return tr_dbless_on(conf) &&
           ((conf->declarative_config_string && conf->declarative_config_string[0]) ||
            (conf->declarative_config && conf->declarative_config[0]));
}

static void hash_path(const struct tr_conf *conf, char *buf, size_t len)
{
    snprintf(buf, len, "%s/dbless.hash", conf->prefix);
}

/* Written beside the store after its commit, atomically (a crash in between leaves the old
 * hash: the next POST /config with check_hash then applies once more, harmlessly). */
static void save_hash(const struct tr_conf *conf, const char *hash)
{
    char path[4096], tmp[4200];
    hash_path(conf, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd != -1 && write(fd, hash, 32) == 32 && fsync(fd) == 0;
    if (fd != -1)
        ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0)
        tr_log_warn("dbless: cannot save the configuration hash in %s: %s", path, strerror(errno));
}

static void load_hash(const struct tr_conf *conf, char hash[33])
{
    char path[4096];
    hash_path(conf, path, sizeof(path));
    memcpy(hash, TR_DECLARATIVE_EMPTY_HASH, 33);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char buf[40] = "";
    size_t n = fread(buf, 1, 32, f);
    fclose(f);
    bool hex = n == 32;
    for (size_t i = 0; hex && i < 32; i++)
        hex = (buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'a' && buf[i] <= 'f');
    if (hex)
        memcpy(hash, buf, 32);
}

int tr_dbless_boot(const struct tr_conf *conf, struct tr_admin_env *env, char hash[33])
{
    const char *s = conf->declarative_config_string;
    const char *file = conf->declarative_config;
    bool from_string = s != NULL && s[0] != '\0';
    if (!tr_dbless_has_source(conf)) {
        load_hash(conf, hash);
        return 0;
    }
    size_t len = from_string ? strlen(s) : 0;
    char *text = from_string ? NULL : tr_declarative_read_file(file, &len);
    if (!from_string && text == NULL) {
        if (errno == EFBIG)
            tr_log_error("error parsing declarative config file %s:\nlarger than %u bytes", file,
                         TR_DECLARATIVE_MAX_BYTES);
        else
            tr_log_error("error parsing declarative config file %s:\ncannot read it: %s", file,
                         strerror(errno));
        return -1;
    }
    const char *src = from_string ? s : text;
    char err[600];
    json_t *doc = NULL;
    struct tr_yaml_lines *lines = NULL;
    int rc = tr_declarative_parse_text_lines(src, len, &doc, &lines, err, sizeof(err));
    struct tr_declarative_result res = {0};
    if (rc == 0)
        rc = tr_declarative_load(env, doc, TR_DECLARATIVE_REPLACE, &res);
    if (rc != 0) {
        char *why = res.fields ? tr_declarative_error_text(res.fields, doc, lines) : NULL;
        if (from_string)
            tr_log_error("error parsing declarative string:\n%s", why ? why : err);
        else
            tr_log_error("error parsing declarative config file %s:\n%s", file, why ? why : err);
        free(why);
    } else {
        if (res.entities == 0)
            memcpy(hash, TR_DECLARATIVE_EMPTY_HASH, 33);
        else
            tr_declarative_hash_text(src, len, hash);
        save_hash(conf, hash);
        tr_log_notice("dbless: %zu entities loaded from %s", res.entities,
                      from_string ? "declarative_config_string" : file);
    }
    tr_declarative_result_free(&res);
    tr_yaml_lines_free(lines);
    json_decref(doc);
    free(text);
    return rc == 0 ? 0 : -1;
}

void tr_dbless_apply(const struct tr_conf *conf, struct tr_admin_env *env, const json_t *doc,
                     const char *hash, bool flatten, char cur_hash[33], int *status, json_t **body)
{
    /* Kong's 201 body: the entities by kind and id, as the Admin API shows them */
    struct tr_declarative_result res = {.want_entities = true};
    int rc = tr_declarative_load(env, doc, TR_DECLARATIVE_REPLACE, &res);
    if (rc == TR_EINVAL) {
        if (flatten) {
            /* Kong drains each entity's errors into flattened_errors: what stays in fields is
             * what no entity owns (an unknown top-level key, _format_version). */
            const char *key;
            json_t *v, *tmp;
            json_object_foreach_safe(res.fields, tmp, key, v)
            {
                if (key[0] != '_' && (json_is_array(v) || json_is_object(v)))
                    json_object_del(res.fields, key);
            }
        }
        *status = 400;
        *body = tr_declarative_error_body(res.fields, flatten ? res.flattened : NULL);
    } else if (rc != 0) {
        *status = 500;
        *body = json_pack("{s:s}", "message", "An unexpected error occurred");
    } else {
        memcpy(cur_hash, res.entities == 0 ? TR_DECLARATIVE_EMPTY_HASH : hash, 32);
        cur_hash[32] = '\0';
        save_hash(conf, cur_hash);
        *status = 201;
        *body = res.written;
        res.written = NULL;
    }
    tr_declarative_result_free(&res);
}
