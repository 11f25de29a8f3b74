/* SPDX-License-Identifier: MIT */
/* file-log (Kong 3.9): one JSON line per request (Kong's log serializer, tr_ctx_log_serialize)
 * appended to a file with one write(2), O_APPEND so the worker threads' lines never interleave.
 * As Kong, each worker thread keeps its descriptor per path open; with `reopen` it opens the
 * path again for every request (a deleted or moved file comes back), without it the file stays
 * as opened until `torii reopen` (SIGUSR1, logrotate), when every worker opens it again. A file
 * that cannot be opened is named in the error log and the request goes on. The write is a
 * local append to the page cache, as nginx's access log: the worker loop is not held by it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/logfile.h"
#include "core/mem.h"
#include "plugins/plugin.h"
#include "schema/schema.h"

struct file_log_conf {
    char *path; /* owned */
    bool reopen;
};

/* Kong's rule: match [[^[^*&%%\`]+$]], "not a valid filename". */
static int check_path(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const json_t *v = json_object_get(rec, name);
    if (!json_is_string(v))
        return 0;
    const char *p = json_string_value(v);
    if (p[0] == '\0' || strpbrk(p, "*&%\\`") != NULL) {
        snprintf(msg, msg_len, "not a valid filename");
        return TR_EINVAL;
    }
    return 0;
}

static const struct tr_schema_field conf_fields[] = {
    {.name = "path",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED,
     .check = check_path,
     .help = "the file the lines go to (made if absent, not its directory)",
     TR_SCHEMA_BIND(struct file_log_conf, path)},
    {.name = "reopen",
     .type = TR_SCHEMA_BOOLEAN,
     .flags = TR_SCHEMA_REQUIRED,
     .dflt = "false",
     .help = "open the file again for every request",
     TR_SCHEMA_BIND(struct file_log_conf, reopen)},
    TR_SCHEMA_FIELD_NO_LUA,
};

static const struct tr_schema conf_schema = {
    .name = "file-log",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
};

static void conf_free(void *p)
{
    tr_schema_free_struct(&conf_schema, p);
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    struct file_log_conf *c = tr_schema_parse_new(&conf_schema, config, sizeof(*c));
    if (c->path == NULL) {
        snprintf(err, err_len, "path is required");
        conf_free(c);
        return NULL;
    }
    return c;
}

/* A worker's open files, by path (Kong: one descriptor per path per worker). */
struct open_file {
    char *path;
    int fd;
    unsigned long gen; /* tr_logfile_generation at open */
};

struct open_files {
    struct open_file *items;
    size_t cnt;
};

static struct open_file *file_for(struct open_files *files, const char *path)
{
    for (size_t i = 0; i < files->cnt; i++) {
        if (strcmp(files->items[i].path, path) == 0)
            return &files->items[i];
    }
    files->items = tr_xrealloc(files->items, (files->cnt + 1) * sizeof(files->items[0]));
    struct open_file *f = &files->items[files->cnt++];
    *f = (struct open_file){tr_xstrdup(path), -1, 0};
    return f;
}

static void file_close(struct open_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

static void file_log_log(struct tr_ctx *ctx, const void *p)
{
    const struct file_log_conf *c = p;
    void **slot = tr_ctx_worker_slot(ctx);
    if (*slot == NULL)
        *slot = tr_xcalloc(1, sizeof(struct open_files));
    struct open_file *f = file_for(*slot, c->path);
    unsigned long gen = tr_logfile_generation();
    if (f->fd >= 0 && (c->reopen || f->gen != gen))
        file_close(f);
    if (f->fd < 0) {
        f->fd = open(c->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        f->gen = gen;
        if (f->fd < 0) {
            tr_log_error("[file-log] failed to open the file: %s (%s)", strerror(errno), c->path);
            return;
        }
    }
    size_t len;
    char *text = tr_ctx_log_serialize(ctx, &len);
    if (text == NULL)
        return;
    text[len] = '\n'; /* the spare byte: one write for the whole line */
    ssize_t n = write(f->fd, text, len + 1);
    if (n < 0 || (size_t)n != len + 1)
        tr_log_warn("[file-log] could not write to %s: %s", c->path,
                    n < 0 ? strerror(errno) : "short write");
    free(text);
}

static void worker_free(void *slot)
{
    struct open_files *files = slot;
    for (size_t i = 0; i < files->cnt; i++) {
        file_close(&files->items[i]);
        free(files->items[i].path);
    }
    free(files->items);
    free(files);
}

/* Priority 9 as Kong. */
const struct tr_plugin tr_plugin_file_log = {
    .name = "file-log",
    .version = "1.0.0",
    .priority = 9,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .log = file_log_log,
    .worker_free = worker_free,
};
