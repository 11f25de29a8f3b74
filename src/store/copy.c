/* SPDX-License-Identifier: MIT */
/* The local copy of the configuration (copy.h): written from any store, loaded into SQLite. */
#include "store/copy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/secret.h"
#include "core/str.h"
#include "store/entities.h"
#include "store/sqlite.h"
#include "store/store.h"

#define MAGIC "torii-config-copy 1 "
#define HEADER_MAX 256
/* A copy larger than this is refused rather than read (a million rows of 1 KiB). */
#define BODY_MAX ((size_t)1 << 30)

/* ---- save ------------------------------------------------------------------------------------ */

struct dump {
    struct tr_buf body;
    const char *kind;
    size_t rows;
};

static int dump_row(json_t *doc, void *ud)
{
    struct dump *d = ud;
    size_t klen = strlen(d->kind);
    size_t need = json_dumpb(doc, NULL, 0, JSON_COMPACT);
    if (need == 0 || tr_buf_reserve(&d->body, klen + need + 2) != 0)
        return TR_ENOMEM;
    char *p = tr_buf_tail(&d->body);
    memcpy(p, d->kind, klen);
    p[klen] = '\t';
    json_dumpb(doc, p + klen + 1, need, JSON_COMPACT);
    p[klen + 1 + need] = '\n';
    tr_buf_commit(&d->body, klen + need + 2);
    d->rows++;
    return 0;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* path's directory fsync'ed, so the rename itself survives a crash. */
static void sync_dir_of(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int write_file(const char *path, const char *head, size_t head_len,
                      const struct tr_buf *body, char *err, size_t err_len)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_len, "cannot create %s: %s", tmp, strerror(errno));
        return TR_EIO;
    }
    bool ok =
        write_all(fd, head, head_len) && write_all(fd, body->ptr, body->len) && fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, err_len, "cannot write %s: %s", path, strerror(ok ? errno : saved));
        unlink(tmp);
        return TR_EIO;
    }
    sync_dir_of(path);
    return 0;
}

int tr_store_copy_save(struct tr_store *from, const char *path, struct tr_store_copy_info *info,
                       char *err, size_t err_len)
{
    struct dump d = {.rows = 0};
    tr_buf_init(&d.body, BODY_MAX);
    if (tr_store_read_begin(from) != 0) {
        snprintf(err, err_len, "cannot read the configuration from the database");
        return TR_EDB;
    }
    int schema = tr_store_schema_version(from);
    size_t order[64], n = tr_store_kinds_parents_first(order, 64);
    int rc = schema > 0 ? 0 : TR_EDB;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        d.kind = tr_store_kind_at(order[i])->name;
        rc = tr_store_foreach(from, d.kind, dump_row, &d);
    }
    tr_store_batch_rollback(from);
    if (rc != 0) {
        snprintf(err, err_len, "%s",
                 rc == TR_ENOMEM ? "the configuration is too large to copy"
                                 : "cannot read the configuration from the database");
        tr_buf_free(&d.body);
        return rc == TR_ENOMEM ? TR_EIO : TR_EDB;
    }
    char sum[TR_SECRET_HEX_LEN + 1];
    tr_secret_sha256_hex((struct tr_str){.ptr = d.body.ptr, .len = d.body.len}, sum);
    int64_t written = (int64_t)tr_clock_wall_ms();
    char head[HEADER_MAX];
    int hl = snprintf(head, sizeof(head),
                      MAGIC "schema=%d written=%" PRId64 " rows=%zu length=%zu sha256=%s\n", schema,
                      written, d.rows, d.body.len, sum);
    rc = write_file(path, head, (size_t)hl, &d.body, err, err_len);
    tr_buf_free(&d.body);
    if (rc == 0 && info != NULL)
        *info =
            (struct tr_store_copy_info){.schema = schema, .written_ms = written, .rows = d.rows};
    return rc;
}

/* ---- open ------------------------------------------------------------------------------------ */

/* The value of " key=" in the header line, parsed as a non-negative decimal; -1 when absent
 * or malformed. */
static int64_t header_number(const char *line, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof(pat), " %s=", key);
    const char *p = strstr(line, pat);
    if (p == NULL)
        return -1;
    p += strlen(pat);
    if (*p < '0' || *p > '9')
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    return errno == 0 && (*end == ' ' || *end == '\n') ? (int64_t)v : -1;
}

/* Read the whole file at path into *buf (NUL-terminated). */
static int read_file(const char *path, char **buf, size_t *len, char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return TR_ENOTFOUND;
        snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
        return TR_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size > BODY_MAX + HEADER_MAX) {
        snprintf(err, err_len, "%s is not a configuration copy (too large)", path);
        close(fd);
        return TR_EINVAL;
    }
    size_t n = (size_t)st.st_size, got = 0;
    char *p = tr_xmalloc(n + 1);
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        snprintf(err, err_len, "cannot read %s", path);
        free(p);
        return TR_EIO;
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
    return 0;
}

/* Check the header and the checksum; *body and *body_len are the rows. */
static int check(const char *path, char *file, size_t len, struct tr_store_copy_info *info,
                 const char **body, size_t *body_len, char *err, size_t err_len)
{
    char *nl = memchr(file, '\n', len < HEADER_MAX ? len : HEADER_MAX);
    if (strncmp(file, MAGIC, strlen(MAGIC)) != 0 || nl == NULL) {
        snprintf(err, err_len, "%s is not a configuration copy (bad header)", path);
        return TR_EINVAL;
    }
    char line[HEADER_MAX + 1];
    memcpy(line, file, (size_t)(nl - file) + 1);
    line[nl - file + 1] = '\0';
    int64_t schema = header_number(line, "schema"), written = header_number(line, "written"),
            rows = header_number(line, "rows"), length = header_number(line, "length");
    const char *sum = strstr(line, " sha256=");
    if (schema <= 0 || written < 0 || rows < 0 || length < 0 || sum == NULL ||
        strlen(sum + 8) != TR_SECRET_HEX_LEN + 1) {
        snprintf(err, err_len, "%s is not a configuration copy (bad header)", path);
        return TR_EINVAL;
    }
    *body = nl + 1;
    *body_len = len - (size_t)(nl + 1 - file);
    if ((int64_t)*body_len != length) {
        snprintf(err, err_len,
                 "%s is truncated or too long (%zu bytes of rows, the header says %" PRId64 ")",
                 path, *body_len, length);
        return TR_EINVAL;
    }
    char got[TR_SECRET_HEX_LEN + 1];
    tr_secret_sha256_hex((struct tr_str){.ptr = *body, .len = *body_len}, got);
    if (memcmp(got, sum + 8, TR_SECRET_HEX_LEN) != 0) {
        snprintf(err, err_len, "%s is damaged (its checksum does not match)", path);
        return TR_EINVAL;
    }
    info->schema = (int)schema;
    info->written_ms = written;
    info->rows = (size_t)rows;
    return 0;
}

/* Insert every row of body into s, in one batch. */
static int load_rows(struct tr_store *s, const char *body, size_t len, size_t *rows, char *err,
                     size_t err_len)
{
    if (tr_store_batch_begin(s) != 0) {
        snprintf(err, err_len, "cannot write the loaded copy");
        return TR_EDB;
    }
    size_t n = 0;
    for (const char *p = body, *end = body + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *tab = nl ? memchr(p, '\t', (size_t)(nl - p)) : NULL;
        char kind[64];
        if (tab == NULL || (size_t)(tab - p) >= sizeof(kind)) {
            snprintf(err, err_len, "row %zu is malformed", n + 1);
            goto fail;
        }
        memcpy(kind, p, (size_t)(tab - p));
        kind[tab - p] = '\0';
        json_error_t jerr;
        json_t *doc = json_loadb(tab + 1, (size_t)(nl - tab - 1), 0, &jerr);
        int rc = doc != NULL ? tr_store_insert(s, kind, doc, NULL) : TR_EINVAL;
        json_decref(doc);
        if (rc != 0) {
            snprintf(err, err_len, "row %zu (%s) cannot be loaded (%s)", n + 1, kind,
                     doc == NULL ? jerr.text : tr_err_message(rc));
            goto fail;
        }
        n++;
        p = nl + 1;
    }
    if (tr_store_batch_commit(s) != 0) {
        snprintf(err, err_len, "cannot write the loaded copy");
        return TR_EDB;
    }
    *rows = n;
    return 0;
fail:
    tr_store_batch_rollback(s);
    return TR_EINVAL;
}

void tr_store_copy_remove_db(const char *db_path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < TR_ARRAY_SIZE(suffixes); i++) {
        char p[4200];
        snprintf(p, sizeof(p), "%s%s", db_path, suffixes[i]);
        unlink(p);
    }
}

int tr_store_copy_open(const char *path, const char *db_path, struct tr_store **out,
                       struct tr_store_copy_info *info, char *err, size_t err_len)
{
    char *file = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = read_file(path, &file, &len, err, err_len);
    if (rc != 0)
        return rc;
    const char *body;
    size_t body_len, rows = 0;
    rc = check(path, file, len, info, &body, &body_len, err, err_len);
    struct tr_store *s = NULL;
    if (rc == 0) {
        tr_store_copy_remove_db(db_path);
        char oerr[256];
        rc = tr_store_open_sqlite(db_path, &s, oerr, sizeof(oerr));
        if (rc != 0)
            snprintf(err, err_len, "cannot create %s: %s", db_path, oerr);
    }
    if (rc == 0 && info->schema != tr_store_schema_latest(s)) {
        snprintf(err, err_len, "%s was written by a build of schema %d, this one is %d", path,
                 info->schema, tr_store_schema_latest(s));
        rc = TR_EINVAL;
    }
    char lerr[384];
    if (rc == 0 && (rc = load_rows(s, body, body_len, &rows, lerr, sizeof(lerr))) != 0)
        snprintf(err, err_len, "%s: %s", path, lerr);
    if (rc == 0 && rows != info->rows) {
        snprintf(err, err_len, "%s holds %zu rows, its header says %zu", path, rows, info->rows);
        rc = TR_EINVAL;
    }
    free(file);
    if (rc != 0) {
        tr_store_close(s);
        if (s != NULL)
            tr_store_copy_remove_db(db_path);
        return rc;
    }
    tr__sqlite_no_runtime(s);
    *out = s;
    return 0;
}
