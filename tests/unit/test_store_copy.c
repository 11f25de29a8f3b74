/* SPDX-License-Identifier: MIT */
/* Tests of the local copy of the configuration (store/copy.h): every row of a store written to
 * a file and loaded back into a fresh SQLite store, parents first whatever the order of the
 * kinds; a copy that is damaged, cut short, of another schema or absent is refused and says
 * why; the file is replaced whole and owner-only. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "core/err.h"
#include "store/copy.h"
#include "store/sqlite.h"
#include "store/store.h"

static char dir[256];

static void path_in(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

static void insert(struct tr_store *s, const char *entity, const char *json)
{
    json_error_t jerr;
    json_t *doc = json_loads(json, 0, &jerr);
    TR_CHECK(doc != NULL);
    TR_CHECK_INT(tr_store_insert(s, entity, doc, NULL), 0);
    json_decref(doc);
}

/* A store with a row of most kinds, children written after their parents as the Admin API
 * writes them (the copy must still come out parents first: plugins name services, which come
 * after plugins in the kinds' table). */
static struct tr_store *source_store(void)
{
    char path[300], err[256];
    path_in(path, sizeof(path), "source.db");
    struct tr_store *s = NULL;
    TR_CHECK_INT(tr_store_open_sqlite(path, &s, err, sizeof(err)), 0);
    if (s == NULL)
        return NULL;
    insert(s, "certificates", "{\"id\":\"c1\",\"created_at\":1,\"cert\":\"C\",\"key\":\"K\"}");
    insert(s, "snis",
           "{\"id\":\"n1\",\"created_at\":2,\"name\":\"a.test\",\"certificate_id\":\"c1\"}");
    insert(s, "services", "{\"id\":\"s1\",\"created_at\":3,\"name\":\"svc\",\"host\":\"up.test\"}");
    insert(s, "routes",
           "{\"id\":\"r1\",\"created_at\":4,\"name\":\"rt\",\"service_id\":\"s1\",\"paths\":[\"/"
           "a\"]}");
    insert(s, "consumers", "{\"id\":\"u1\",\"created_at\":5,\"username\":\"bob\"}");
    insert(s, "keyauth_credentials",
           "{\"id\":\"k1\",\"created_at\":6,\"key\":\"secret\",\"consumer_id\":\"u1\"}");
    insert(s, "plugins",
           "{\"id\":\"p1\",\"created_at\":7,\"name\":\"key-auth\",\"service_id\":\"s1\","
           "\"config\":{\"key_names\":[\"apikey\"]}}");
    insert(s, "apis",
           "{\"id\":\"a1\",\"created_at\":8,\"name\":\"old\",\"upstream_url\":"
           "\"http://up.test\",\"request_path\":\"/old\"}");
    insert(s, "upstreams", "{\"id\":\"up1\",\"created_at\":9,\"name\":\"pool\"}");
    insert(s, "targets",
           "{\"id\":\"t1\",\"created_at\":10,\"upstream_id\":\"up1\",\"target\":\"h:80\"}");
    return s;
}

struct rows {
    json_t *all; /* {"kind/id": doc} */
    const char *kind;
};

static int collect(json_t *doc, void *ud)
{
    struct rows *r = ud;
    char key[128];
    snprintf(key, sizeof(key), "%s/%s", r->kind, json_string_value(json_object_get(doc, "id")));
    json_object_set(r->all, key, doc);
    return 0;
}

static json_t *every_row(struct tr_store *s)
{
    struct rows r = {.all = json_object()};
    for (const char *const *e = tr_store_entities(); *e != NULL; e++) {
        r.kind = *e;
        TR_CHECK_INT(tr_store_foreach(s, *e, collect, &r), 0);
    }
    return r.all;
}

static void test_round_trip(struct tr_store *src)
{
    char copy[300], db[300], err[512];
    path_in(copy, sizeof(copy), "config.copy");
    path_in(db, sizeof(db), "loaded.db");
    struct tr_store_copy_info saved, loaded;
    TR_CHECK_INT(tr_store_copy_save(src, copy, &saved, err, sizeof(err)), 0);
    TR_CHECK_INT(saved.rows, 10);
    TR_CHECK_INT(saved.schema, tr_store_schema_latest(src));
    struct stat st;
    TR_CHECK_INT(stat(copy, &st), 0);
    TR_CHECK_INT(st.st_mode & 0777, 0600); /* it holds credentials */
    char tmp[320];
    snprintf(tmp, sizeof(tmp), "%s.tmp", copy);
    TR_CHECK(access(tmp, F_OK) != 0);

    struct tr_store *s = NULL;
    TR_CHECK_INT(tr_store_copy_open(copy, db, &s, &loaded, err, sizeof(err)), 0);
    if (s == NULL) {
        fprintf(stderr, "open: %s\n", err);
        return;
    }
    TR_CHECK_INT(loaded.rows, 10);
    TR_CHECK(loaded.written_ms == saved.written_ms);
    json_t *a = every_row(src), *b = every_row(s);
    TR_CHECK_INT(json_object_size(b), 10);
    TR_CHECK(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    /* A copy's store gives no runtime session: OAuth 2.0 rows live in the real database. */
    TR_CHECK(tr_store_tx_acquire(s) == NULL);
    tr_store_close(s);

    /* Loading again replaces the loaded file: same rows, no conflict with the first load. */
    TR_CHECK_INT(tr_store_copy_open(copy, db, &s, &loaded, err, sizeof(err)), 0);
    tr_store_close(s);
    tr_store_copy_remove_db(db);
    TR_CHECK(access(db, F_OK) != 0);

    /* A read batch ended: the source takes writes again. */
    insert(src, "consumers", "{\"id\":\"u2\",\"created_at\":11,\"username\":\"eve\"}");
}

static size_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

/* Rewrite byte at (from the end when negative) of path with c. */
static void poke(const char *path, long at, char c)
{
    int fd = open(path, O_WRONLY);
    TR_CHECK(fd >= 0);
    off_t off = at >= 0 ? (off_t)at : (off_t)file_size(path) + at;
    TR_CHECK(pwrite(fd, &c, 1, off) == 1);
    close(fd);
}

static void expect_refused(const char *copy, const char *db, int rc, const char *words)
{
    char err[512] = "";
    struct tr_store *s = NULL;
    struct tr_store_copy_info info;
    TR_CHECK_INT(tr_store_copy_open(copy, db, &s, &info, err, sizeof(err)), rc);
    TR_CHECK(s == NULL);
    if (words != NULL && strstr(err, words) == NULL) {
        fprintf(stderr, "expected '%s' in: %s\n", words, err);
        TR_CHECK(0);
    }
    TR_CHECK(access(db, F_OK) != 0); /* nothing half-loaded is left */
}

static void test_bad_copies(struct tr_store *src)
{
    char copy[300], db[300], err[512];
    path_in(copy, sizeof(copy), "bad.copy");
    path_in(db, sizeof(db), "bad.db");
    expect_refused(copy, db, TR_ENOTFOUND, NULL);

    /* one byte of a row changed */
    TR_CHECK_INT(tr_store_copy_save(src, copy, NULL, err, sizeof(err)), 0);
    poke(copy, -3, 'X');
    expect_refused(copy, db, TR_EINVAL, "checksum");

    /* cut short (a copy half written by something else) */
    TR_CHECK_INT(tr_store_copy_save(src, copy, NULL, err, sizeof(err)), 0);
    TR_CHECK_INT(truncate(copy, (off_t)file_size(copy) - 10), 0);
    expect_refused(copy, db, TR_EINVAL, "truncated");

    /* a schema another build wrote ("schema=" is followed by the version's first digit) */
    TR_CHECK_INT(tr_store_copy_save(src, copy, NULL, err, sizeof(err)), 0);
    FILE *f = fopen(copy, "r");
    char head[256] = "";
    TR_CHECK(f != NULL && fgets(head, sizeof(head), f) != NULL);
    fclose(f);
    const char *sch = strstr(head, "schema=");
    TR_CHECK(sch != NULL);
    poke(copy, (long)(sch - head) + 7, '9');
    expect_refused(copy, db, TR_EINVAL, "schema");

    /* not a copy at all */
    f = fopen(copy, "w");
    fputs("apis\t{}\n", f);
    fclose(f);
    expect_refused(copy, db, TR_EINVAL, "bad header");
}

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[600];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/torii-copy-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    struct tr_store *src = source_store();
    if (src != NULL) {
        test_round_trip(src);
        test_bad_copies(src);
        tr_store_close(src);
    }
    remove_dir();
    return TR_CHECK_DONE();
}
