/* SPDX-License-Identifier: MIT */
/* Tests of the store: first the interface (store.h) on the store the settings name, as a node
 * opens it (tr_store_open), against a real database in a temporary directory: CRUD,
 * uniqueness, foreign keys and cascades, pagination and filters, migrations, durability. A
 * second backend runs these as they are (TORII_TEST_STORE_CONF; test_postgres.py does). Then,
 * marked below, the tests of the SQLite backend itself: its pragmas, its file, its rows read with
 * SQLite directly, its open errors. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "check.h"
#include "core/clock.h"
#include "core/conf.h"
#include "core/err.h"
#include "store/entities.h"
#include "store/sqlite.h"
#include "store/store.h"

static char dir[256];
static char db_path[300];
static struct tr_conf conf; /* database = sqlite, sqlite_path = db_path */

/* The store as a node opens it; NULL (checked) when it cannot be opened. */
static struct tr_store *open_store(void)
{
    struct tr_store *s = NULL;
    char err[256];

    TR_CHECK_INT(tr_store_open(&conf, &s, err, sizeof(err)), 0);
    if (s == NULL)
        fprintf(stderr, "open: %s\n", err);
    return s;
}

static json_t *api(const char *id, const char *name, const char *host, const char *path)
{
    json_t *doc = json_pack("{s:s, s:I, s:s}", "id", id, "created_at", (json_int_t)1700000000000,
                            "upstream_url", "http://up.test");
    if (name != NULL)
        json_object_set_new(doc, "name", json_string(name));
    if (host != NULL)
        json_object_set_new(doc, "request_host", json_string(host));
    if (path != NULL)
        json_object_set_new(doc, "request_path", json_string(path));
    return doc;
}

static json_t *consumer(const char *id, const char *username, const char *custom_id)
{
    json_t *doc = json_pack("{s:s, s:I}", "id", id, "created_at", (json_int_t)1700000000000);
    if (username != NULL)
        json_object_set_new(doc, "username", json_string(username));
    if (custom_id != NULL)
        json_object_set_new(doc, "custom_id", json_string(custom_id));
    return doc;
}

static json_t *plugin(const char *id, const char *name, const char *api_id, const char *consumer_id)
{
    json_t *doc = json_pack("{s:s, s:I, s:s, s:{}, s:b}", "id", id, "created_at",
                            (json_int_t)1700000000000, "name", name, "config", "enabled", 1);
    if (api_id != NULL)
        json_object_set_new(doc, "api_id", json_string(api_id));
    if (consumer_id != NULL)
        json_object_set_new(doc, "consumer_id", json_string(consumer_id));
    return doc;
}

/* Insert doc (stealing the reference) and return the store's answer. */
static int put(struct tr_store *s, const char *entity, json_t *doc, const char **field)
{
    int rc = tr_store_insert(s, entity, doc, field);
    json_decref(doc);
    return rc;
}

/* Update with doc (stealing the reference). */
static int upd(struct tr_store *s, const char *entity, json_t *doc, const char **field)
{
    int rc = tr_store_update(s, entity, doc, field);
    json_decref(doc);
    return rc;
}

static size_t count(struct tr_store *s, const char *entity)
{
    size_t n = 999;
    TR_CHECK_INT(tr_store_count(s, entity, &n), 0);
    return n;
}

static bool exists(struct tr_store *s, const char *entity, const char *id)
{
    json_t *doc = NULL;
    int rc = tr_store_get(s, entity, "id", id, &doc);
    json_decref(doc);
    return rc == 0;
}

static const char *str_of(json_t *doc, const char *key)
{
    const char *v = json_string_value(json_object_get(doc, key));
    return v != NULL ? v : "(absent)";
}

static void test_open(struct tr_store *s)
{
    json_t *set = NULL;
    char where[300], name[] = "nosuch";
    struct tr_store *none = NULL;
    char *configured = conf.database;

    TR_CHECK(tr_store_ping(s));
    TR_CHECK(tr_store_schema_latest(s) >= 7);
    TR_CHECK_INT(tr_store_schema_version(s), tr_store_schema_latest(s));
    TR_CHECK_INT(tr_store_settings(s, &set), 0);
    TR_CHECK_STR(str_of(set, "backend"), conf.database);
    TR_CHECK_INT(json_integer_value(json_object_get(set, "schema_version")),
                 tr_store_schema_latest(s));
    json_decref(set);
    tr_store_location(&conf, where, sizeof(where));
    if (strcmp(conf.database, "sqlite") == 0)
        TR_CHECK_STR(where, db_path);

    /* A backend this build does not have. */
    conf.database = name;
    TR_CHECK_INT(tr_store_open(&conf, &none, where, sizeof(where)), TR_EINVAL);
    TR_CHECK(none == NULL && strstr(where, "nosuch") != NULL);
    conf.database = configured;

    /* NULL stores answer, never crash. */
    TR_CHECK(!tr_store_ping(NULL));
    TR_CHECK_INT(tr_store_settings(NULL, &set), TR_EINVAL);
    TR_CHECK(set == NULL);
    TR_CHECK_INT(tr_store_migrate(NULL), TR_EINVAL);
    TR_CHECK(tr_store_tx_acquire(NULL) == NULL);
    tr_store_close(NULL);
}

static void test_entities_table(void)
{
    const char *const *names = tr_store_entities();
    static const char *const reserved[] = {"seq", "id", "created_at", "doc", "ukey"};
    size_t i;

    for (i = 0; names[i] != NULL; i++) {
        const struct tr_store_kind *k = tr_store_kind_at(i);
        TR_CHECK(k != NULL && strcmp(k->name, names[i]) == 0);
        TR_CHECK(tr_store_kind_find(names[i], NULL) == k);
        for (size_t u = 0; k != NULL && u < TR_STORE_MAX_UNIQUE && k->unique[u] != NULL; u++) {
            for (size_t r = 0; r < sizeof(reserved) / sizeof(reserved[0]); r++)
                TR_CHECK(strcmp(k->unique[u], reserved[r]) != 0);
            TR_CHECK(strspn(k->unique[u], "abcdefghijklmnopqrstuvwxyz0123456789_") ==
                     strlen(k->unique[u]));
        }
        for (size_t f = 0; k != NULL && f < TR_STORE_MAX_FKS && k->fks[f].field != NULL; f++)
            TR_CHECK(tr_store_kind_find(k->fks[f].parent, NULL) != NULL);
        TR_CHECK(k == NULL || (k->composite[0] == NULL) == (k->composite_field == NULL));
    }
    TR_CHECK_INT(i, tr_store_kind_count());
    TR_CHECK(tr_store_kind_find("nope", NULL) == NULL);
    TR_CHECK(tr_store_kind_find(NULL, NULL) == NULL);
}

/* Every kind's table must take a row built from its descriptor: catches a migration that
 * disagrees with entities.c. Parents are created first, children removed by the cascade. */
static void test_every_kind(struct tr_store *s)
{
    for (size_t i = 0; i < tr_store_kind_count(); i++) {
        const struct tr_store_kind *k = tr_store_kind_at(i);
        json_t *doc = json_pack("{s:s, s:I}", "id", "kind-row", "created_at", (json_int_t)1);
        json_t *got = NULL;
        char val[64];
        size_t parents = 0;

        for (size_t u = 0; u < TR_STORE_MAX_UNIQUE && k->unique[u] != NULL; u++) {
            snprintf(val, sizeof(val), "%s-%s", k->name, k->unique[u]);
            json_object_set_new(doc, k->unique[u], json_string(val));
        }
        for (size_t c = 0; c < TR_STORE_MAX_COMPOSITE && k->composite[c] != NULL; c++) {
            if (json_object_get(doc, k->composite[c]) == NULL)
                json_object_set_new(doc, k->composite[c], json_string("x"));
        }
        for (size_t f = 0; f < TR_STORE_MAX_FKS && k->fks[f].field != NULL; f++) {
            json_t *p = json_pack("{s:s, s:I}", "id", "kind-parent", "created_at", (json_int_t)1);
            if (!exists(s, k->fks[f].parent, "kind-parent")) {
                TR_CHECK_INT(put(s, k->fks[f].parent, p, NULL), 0);
                parents++;
            } else {
                json_decref(p);
            }
            json_object_set_new(doc, k->fks[f].field, json_string("kind-parent"));
        }
        TR_CHECK_INT(tr_store_insert(s, k->name, doc, NULL), 0);
        TR_CHECK_INT(tr_store_get(s, k->name, "id", "kind-row", &got), 0);
        TR_CHECK(got != NULL && json_equal(got, doc));
        json_decref(got);
        got = NULL;
        for (size_t u = 0; u < TR_STORE_MAX_UNIQUE && k->unique[u] != NULL; u++) {
            snprintf(val, sizeof(val), "%s-%s", k->name, k->unique[u]);
            TR_CHECK_INT(tr_store_get(s, k->name, k->unique[u], val, &got), 0);
            json_decref(got);
            got = NULL;
        }
        TR_CHECK_INT(tr_store_update(s, k->name, doc, NULL), 0);
        json_decref(doc);
        /* A restricting key keeps its parent while the row refers to it: the row goes first. */
        bool restricted = false;
        for (size_t f = 0; f < TR_STORE_MAX_FKS && k->fks[f].field != NULL; f++) {
            if (k->fks[f].restrict_delete && exists(s, k->fks[f].parent, "kind-parent")) {
                TR_CHECK_INT(tr_store_delete(s, k->fks[f].parent, "kind-parent"), TR_ECONFLICT);
                TR_CHECK(exists(s, k->name, "kind-row"));
                restricted = true;
            }
        }
        if (restricted)
            TR_CHECK_INT(tr_store_delete(s, k->name, "kind-row"), 0);
        for (size_t f = 0; f < TR_STORE_MAX_FKS && k->fks[f].field != NULL; f++) {
            if (exists(s, k->fks[f].parent, "kind-parent"))
                TR_CHECK_INT(tr_store_delete(s, k->fks[f].parent, "kind-parent"), 0);
        }
        if (restricted || parents > 0)
            TR_CHECK(!exists(s, k->name, "kind-row"));
        else
            TR_CHECK_INT(tr_store_delete(s, k->name, "kind-row"), 0);
        TR_CHECK_INT(count(s, k->name), 0);
    }
}

static void test_crud(struct tr_store *s)
{
    const char *f = "junk";
    json_t *doc, *got = NULL;

    doc = api("a1", "one", "one.test", "/one");
    TR_CHECK_INT(tr_store_insert(s, "apis", doc, &f), 0);
    TR_CHECK(f == NULL);
    TR_CHECK_INT(tr_store_get(s, "apis", "id", "a1", &got), 0);
    TR_CHECK(got != NULL && json_equal(got, doc));
    TR_CHECK(got != doc);
    json_decref(got);
    got = NULL;
    /* The store kept a copy: changing ours changes nothing stored. */
    json_object_set_new(doc, "name", json_string("changed"));
    TR_CHECK_INT(tr_store_get(s, "apis", "name", "one", &got), 0);
    TR_CHECK_STR(str_of(got, "id"), "a1");
    json_decref(got);
    got = NULL;
    json_decref(doc);
    TR_CHECK_INT(tr_store_get(s, "apis", "request_host", "one.test", &got), 0);
    TR_CHECK_STR(str_of(got, "name"), "one");
    json_decref(got);
    got = NULL;
    TR_CHECK_INT(tr_store_get(s, "apis", "request_path", "/one", &got), 0);
    TR_CHECK_STR(str_of(got, "id"), "a1");
    json_decref(got);
    got = NULL;
    TR_CHECK_INT(tr_store_get(s, "apis", "name", "none", &got), TR_ENOTFOUND);
    TR_CHECK(got == NULL);
    TR_CHECK_INT(tr_store_get(s, "apis", "upstream_url", "http://up.test", &got), TR_EINVAL);
    TR_CHECK_INT(tr_store_get(s, "nope", "id", "a1", &got), TR_EINVAL);

    /* Absent request_host (and an explicit null request_path) never collide. */
    TR_CHECK_INT(put(s, "apis", api("a2", "two", NULL, "/two"), NULL), 0);
    TR_CHECK_INT(put(s, "apis", api("a3", "three", NULL, "/three"), NULL), 0);
    doc = api("a4", "four", "four.test", NULL);
    json_object_set_new(doc, "request_path", json_null());
    TR_CHECK_INT(put(s, "apis", doc, NULL), 0);
    TR_CHECK_INT(put(s, "apis", api("a5", "five", "five.test", NULL), NULL), 0);
    TR_CHECK_INT(count(s, "apis"), 5);

    /* Unique conflicts name the field. */
    f = NULL;
    TR_CHECK_INT(put(s, "apis", api("x1", "one", "x.test", "/x"), &f), TR_ECONFLICT);
    TR_CHECK_STR(f, "name");
    f = NULL;
    TR_CHECK_INT(put(s, "apis", api("x1", "x", "one.test", "/x"), &f), TR_ECONFLICT);
    TR_CHECK_STR(f, "request_host");
    f = NULL;
    TR_CHECK_INT(put(s, "apis", api("x1", "x", NULL, "/two"), &f), TR_ECONFLICT);
    TR_CHECK_STR(f, "request_path");
    f = NULL;
    TR_CHECK_INT(put(s, "apis", api("a1", "x", "x.test", "/x"), &f), TR_ECONFLICT);
    TR_CHECK_STR(f, "id");
    TR_CHECK_INT(put(s, "apis", api("a1", "x", "x.test", "/x"), NULL), TR_ECONFLICT);
    TR_CHECK_INT(count(s, "apis"), 5);
    TR_CHECK(!exists(s, "apis", "x1"));

    /* Bad documents. */
    TR_CHECK_INT(put(s, "apis", json_pack("{s:s}", "name", "noid"), NULL), TR_EINVAL);
    TR_CHECK_INT(put(s, "apis", json_pack("{s:s, s:s}", "id", "i", "created_at", "x"), NULL),
                 TR_EINVAL);
    TR_CHECK_INT(
        put(s, "apis", json_pack("{s:s, s:I}", "id", "", "created_at", (json_int_t)1), NULL),
        TR_EINVAL);
    TR_CHECK_INT(put(s, "apis", json_pack("[]"), NULL), TR_EINVAL);
    TR_CHECK_INT(put(s, "nope", api("n1", "n", NULL, "/n"), NULL), TR_EINVAL);

    /* Update: full replace, own unique values are no conflict, others' are. */
    doc = api("a1", "one", "one.test", NULL);
    json_object_set_new(doc, "upstream_url", json_string("http://changed.test"));
    f = "junk";
    TR_CHECK_INT(tr_store_update(s, "apis", doc, &f), 0);
    TR_CHECK(f == NULL);
    TR_CHECK_INT(tr_store_get(s, "apis", "id", "a1", &got), 0);
    TR_CHECK(got != NULL && json_equal(got, doc));
    json_decref(got);
    got = NULL;
    /* The dropped request_path is free again. */
    TR_CHECK_INT(tr_store_get(s, "apis", "request_path", "/one", &got), TR_ENOTFOUND);
    json_object_set_new(doc, "name", json_string("two"));
    f = NULL;
    TR_CHECK_INT(tr_store_update(s, "apis", doc, &f), TR_ECONFLICT);
    TR_CHECK_STR(f, "name");
    json_object_set_new(doc, "name", json_string("one"));
    json_object_set_new(doc, "request_host", json_string("four.test"));
    f = NULL;
    TR_CHECK_INT(tr_store_update(s, "apis", doc, &f), TR_ECONFLICT);
    TR_CHECK_STR(f, "request_host");
    json_decref(doc);
    f = "junk";
    TR_CHECK_INT(upd(s, "apis", api("zz", "zz", NULL, "/zz"), &f), TR_ENOTFOUND);
    TR_CHECK(f == NULL);
    TR_CHECK_INT(tr_store_get(s, "apis", "name", "one", &got), 0);
    TR_CHECK_STR(str_of(got, "upstream_url"), "http://changed.test");
    json_decref(got);
    got = NULL;

    /* Consumers: username and custom_id, both optional. */
    TR_CHECK_INT(put(s, "consumers", consumer("c1", "alice", NULL), NULL), 0);
    TR_CHECK_INT(put(s, "consumers", consumer("c2", NULL, "cust-2"), NULL), 0);
    TR_CHECK_INT(put(s, "consumers", consumer("c3", "carol", NULL), NULL), 0);
    TR_CHECK_INT(put(s, "consumers", consumer("c4", NULL, "cust-4"), NULL), 0);
    f = NULL;
    TR_CHECK_INT(put(s, "consumers", consumer("c5", "alice", "cust-5"), &f), TR_ECONFLICT);
    TR_CHECK_STR(f, "username");
    f = NULL;
    TR_CHECK_INT(put(s, "consumers", consumer("c5", "eve", "cust-2"), &f), TR_ECONFLICT);
    TR_CHECK_STR(f, "custom_id");
    TR_CHECK_INT(tr_store_get(s, "consumers", "custom_id", "cust-4", &got), 0);
    TR_CHECK_STR(str_of(got, "id"), "c4");
    json_decref(got);
    got = NULL;
    TR_CHECK_INT(count(s, "consumers"), 4);

    /* Delete. */
    TR_CHECK_INT(tr_store_delete(s, "apis", "a5"), 0);
    TR_CHECK_INT(tr_store_delete(s, "apis", "a5"), TR_ENOTFOUND);
    TR_CHECK_INT(tr_store_delete(s, "nope", "a5"), TR_EINVAL);
    TR_CHECK(!exists(s, "apis", "a5"));
    /* Its unique values can be taken again. */
    TR_CHECK_INT(put(s, "apis", api("a6", "five", "five.test", NULL), NULL), 0);
}

static void test_plugins(struct tr_store *s)
{
    const char *f;
    json_t *doc;

    TR_CHECK_INT(put(s, "plugins", plugin("p1", "key-auth", "a1", NULL), NULL), 0);
    f = NULL;
    TR_CHECK_INT(put(s, "plugins", plugin("p2", "key-auth", "a1", NULL), &f), TR_ECONFLICT);
    TR_CHECK_STR(f, "name");
    TR_CHECK_INT(put(s, "plugins", plugin("p3", "key-auth", "a2", NULL), NULL), 0);
    /* Global plugins: absent api_id equals absent, and equals an explicit null. */
    TR_CHECK_INT(put(s, "plugins", plugin("p4", "cors", NULL, NULL), NULL), 0);
    f = NULL;
    TR_CHECK_INT(put(s, "plugins", plugin("p5", "cors", NULL, NULL), &f), TR_ECONFLICT);
    TR_CHECK_STR(f, "name");
    doc = plugin("p5", "cors", NULL, NULL);
    json_object_set_new(doc, "api_id", json_null());
    f = NULL;
    TR_CHECK_INT(put(s, "plugins", doc, &f), TR_ECONFLICT);
    TR_CHECK_STR(f, "name");
    /* Same name with a consumer is another configuration. */
    TR_CHECK_INT(put(s, "plugins", plugin("p6", "rate-limiting", "a1", "c1"), NULL), 0);
    TR_CHECK_INT(put(s, "plugins", plugin("p7", "rate-limiting", "a1", NULL), NULL), 0);
    TR_CHECK_INT(put(s, "plugins", plugin("p8", "rate-limiting", NULL, "c1"), NULL), 0);
    TR_CHECK_INT(put(s, "plugins", plugin("p9", "rate-limiting", "a2", "c3"), NULL), 0);
    f = NULL;
    TR_CHECK_INT(put(s, "plugins", plugin("px", "rate-limiting", "a1", "c1"), &f), TR_ECONFLICT);
    TR_CHECK_STR(f, "name");
    /* A value that contains the characters of the key encoding cannot forge a match. */
    TR_CHECK_INT(put(s, "plugins", plugin("pq", "cors\",null,null", NULL, NULL), NULL), 0);

    /* Missing parents. */
    f = NULL;
    TR_CHECK_INT(put(s, "plugins", plugin("px", "acl", "nope", NULL), &f), TR_ENOTFOUND);
    TR_CHECK_STR(f, "api_id");
    f = NULL;
    TR_CHECK_INT(put(s, "plugins", plugin("px", "acl", "a1", "nope"), &f), TR_ENOTFOUND);
    TR_CHECK_STR(f, "consumer_id");
    f = NULL;
    TR_CHECK_INT(put(s, "plugins", plugin("px", "acl", NULL, "nope"), &f), TR_ENOTFOUND);
    TR_CHECK_STR(f, "consumer_id");
    TR_CHECK(!exists(s, "plugins", "px"));

    /* Update into a conflicting configuration, and to a missing parent. */
    f = NULL;
    TR_CHECK_INT(upd(s, "plugins", plugin("p7", "rate-limiting", "a1", "c1"), &f), TR_ECONFLICT);
    TR_CHECK_STR(f, "name");
    f = NULL;
    TR_CHECK_INT(upd(s, "plugins", plugin("p7", "rate-limiting", "gone", NULL), &f), TR_ENOTFOUND);
    TR_CHECK_STR(f, "api_id");
    TR_CHECK_INT(upd(s, "plugins", plugin("p7", "rate-limiting", "a2", NULL), NULL), 0);
    TR_CHECK_INT(count(s, "plugins"), 8);

    /* Cascades: the api takes p1 and p6; the consumer c1 takes p8. */
    TR_CHECK_INT(tr_store_delete(s, "apis", "a1"), 0);
    TR_CHECK(!exists(s, "plugins", "p1"));
    TR_CHECK(!exists(s, "plugins", "p6"));
    TR_CHECK(exists(s, "plugins", "p7"));
    TR_CHECK(exists(s, "plugins", "p8"));
    TR_CHECK_INT(count(s, "plugins"), 6);
    TR_CHECK_INT(tr_store_delete(s, "consumers", "c1"), 0);
    TR_CHECK(!exists(s, "plugins", "p8"));
    TR_CHECK_INT(count(s, "plugins"), 5);
    /* The freed configuration can be created again. */
    TR_CHECK_INT(put(s, "plugins", plugin("p1", "key-auth", NULL, NULL), NULL), 0);
    TR_CHECK_INT(count(s, "plugins"), 6);
}

static void check_names(json_t *rows, const char *const *want, size_t n)
{
    TR_CHECK_INT(json_array_size(rows), n);
    for (size_t i = 0; i < n && i < json_array_size(rows); i++)
        TR_CHECK_STR(str_of(json_array_get(rows, i), "username"), want[i]);
}

static void test_list(struct tr_store *s)
{
    static const char *const all[] = {"u1", "u2", "u3", "u4", "u5"};
    char id[16], *next = NULL, *next2 = NULL, *next3 = NULL;
    json_t *rows = NULL, *filt;
    size_t total = 0;

    /* A fresh consumers table; created_at decreasing to show the order is insertion order. */
    for (int i = 2; i <= 4; i++) {
        snprintf(id, sizeof(id), "c%d", i);
        TR_CHECK_INT(tr_store_delete(s, "consumers", id), 0);
    }
    TR_CHECK_INT(count(s, "consumers"), 0);
    for (int i = 0; i < 5; i++) {
        json_t *doc = consumer("", all[i], NULL);
        snprintf(id, sizeof(id), "u-%d", i + 1);
        json_object_set_new(doc, "id", json_string(id));
        json_object_set_new(doc, "created_at", json_integer(1000 - i));
        json_object_set_new(doc, "vip", i % 2 == 0 ? json_true() : json_false());
        json_object_set_new(doc, "level", json_integer(i < 3 ? 5 : 7));
        json_object_set_new(doc, "group", json_string(i < 4 ? "gold" : "silver"));
        TR_CHECK_INT(put(s, "consumers", doc, NULL), 0);
    }

    TR_CHECK_INT(tr_store_list(s, "consumers", NULL, 2, NULL, &rows, &total, &next), 0);
    TR_CHECK_INT(total, 5);
    check_names(rows, all, 2);
    TR_CHECK(next != NULL);
    json_decref(rows);
    TR_CHECK_INT(tr_store_list(s, "consumers", NULL, 2, next, &rows, &total, &next2), 0);
    TR_CHECK_INT(total, 5);
    check_names(rows, all + 2, 2);
    TR_CHECK(next2 != NULL);
    TR_CHECK(next2 != NULL && next != NULL && strcmp(next, next2) != 0);
    json_decref(rows);
    TR_CHECK_INT(tr_store_list(s, "consumers", NULL, 2, next2, &rows, &total, &next3), 0);
    TR_CHECK_INT(total, 5);
    check_names(rows, all + 4, 1);
    TR_CHECK(next3 == NULL);
    json_decref(rows);
    free(next2);
    next2 = NULL;

    /* A page that ends exactly at the last row has no next. */
    TR_CHECK_INT(tr_store_list(s, "consumers", NULL, 5, NULL, &rows, &total, &next2), 0);
    check_names(rows, all, 5);
    TR_CHECK(next2 == NULL);
    json_decref(rows);
    TR_CHECK_INT(tr_store_list(s, "consumers", NULL, 1000, NULL, &rows, &total, &next2), 0);
    TR_CHECK_INT(json_array_size(rows), 5);
    json_decref(rows);

    /* The token survives the deletion of the row it points at. */
    TR_CHECK_INT(tr_store_delete(s, "consumers", "u-2"), 0);
    TR_CHECK_INT(tr_store_list(s, "consumers", NULL, 2, next, &rows, &total, &next2), 0);
    TR_CHECK_INT(total, 4);
    check_names(rows, all + 2, 2);
    TR_CHECK(next2 != NULL);
    json_decref(rows);
    free(next2);
    next2 = NULL;
    free(next);
    next = NULL;

    /* Filters: boolean, integer (also as a real), string, several at once. */
    filt = json_pack("{s:b}", "vip", 1);
    TR_CHECK_INT(tr_store_list(s, "consumers", filt, 100, NULL, &rows, &total, &next), 0);
    TR_CHECK_INT(total, 3);
    check_names(rows, (const char *const[]){"u1", "u3", "u5"}, 3);
    TR_CHECK(next == NULL);
    json_decref(rows);
    json_decref(filt);

    filt = json_pack("{s:b}", "vip", 0);
    TR_CHECK_INT(tr_store_list(s, "consumers", filt, 100, NULL, &rows, &total, &next), 0);
    check_names(rows, (const char *const[]){"u4"}, 1);
    json_decref(rows);
    json_decref(filt);

    filt = json_pack("{s:i}", "vip", 1);
    TR_CHECK_INT(tr_store_list(s, "consumers", filt, 100, NULL, &rows, &total, &next), 0);
    TR_CHECK_INT(total, 0);
    TR_CHECK_INT(json_array_size(rows), 0);
    json_decref(rows);
    json_decref(filt);

    filt = json_pack("{s:i}", "level", 5);
    TR_CHECK_INT(tr_store_list(s, "consumers", filt, 100, NULL, &rows, &total, &next), 0);
    check_names(rows, (const char *const[]){"u1", "u3"}, 2);
    json_decref(rows);
    json_decref(filt);

    filt = json_pack("{s:f}", "level", 7.0);
    TR_CHECK_INT(tr_store_list(s, "consumers", filt, 100, NULL, &rows, &total, &next), 0);
    check_names(rows, (const char *const[]){"u4", "u5"}, 2);
    json_decref(rows);
    json_decref(filt);

    filt = json_pack("{s:s}", "level", "5");
    TR_CHECK_INT(tr_store_list(s, "consumers", filt, 100, NULL, &rows, &total, &next), 0);
    TR_CHECK_INT(total, 0);
    json_decref(rows);
    json_decref(filt);

    filt = json_pack("{s:s}", "username", "u4");
    TR_CHECK_INT(tr_store_list(s, "consumers", filt, 100, NULL, &rows, &total, &next), 0);
    check_names(rows, (const char *const[]){"u4"}, 1);
    json_decref(rows);
    json_decref(filt);

    filt = json_pack("{s:s}", "nothere", "x");
    TR_CHECK_INT(tr_store_list(s, "consumers", filt, 100, NULL, &rows, &total, &next), 0);
    TR_CHECK_INT(total, 0);
    json_decref(rows);
    json_decref(filt);

    /* Filter plus paging: total counts every match, pages walk only matches. */
    filt = json_pack("{s:s, s:i}", "group", "gold", "level", 5);
    TR_CHECK_INT(tr_store_list(s, "consumers", filt, 1, NULL, &rows, &total, &next), 0);
    TR_CHECK_INT(total, 2);
    check_names(rows, (const char *const[]){"u1"}, 1);
    TR_CHECK(next != NULL);
    json_decref(rows);
    TR_CHECK_INT(tr_store_list(s, "consumers", filt, 1, next, &rows, &total, &next2), 0);
    TR_CHECK_INT(total, 2);
    check_names(rows, (const char *const[]){"u3"}, 1);
    TR_CHECK(next2 == NULL);
    json_decref(rows);
    json_decref(filt);
    free(next);
    next = NULL;

    /* A well-formed token past the end gives an empty last page. */
    TR_CHECK_INT(
        tr_store_list(s, "consumers", NULL, 2, "OTIyMzM3MjAzNjg1NDc3NTgwNw", &rows, &total, &next),
        0);
    TR_CHECK_INT(total, 4);
    TR_CHECK_INT(json_array_size(rows), 0);
    TR_CHECK(next == NULL);
    json_decref(rows);

    /* Bad arguments. */
    static const char *const bad_tokens[] = {"",
                                             "!!",
                                             "A",
                                             "AAAA",
                                             "MA==",
                                             "LTE",
                                             "MDE",
                                             "OTk5OTk5OTk5OTk5OTk5OTk5OTk",
                                             "MQ;",
                                             "MR",
                                             "OTIyMzM3MjAzNjg1NDc3NTgwOA",
                                             "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"};
    for (size_t i = 0; i < sizeof(bad_tokens) / sizeof(bad_tokens[0]); i++) {
        rows = NULL;
        TR_CHECK_INT(tr_store_list(s, "consumers", NULL, 2, bad_tokens[i], &rows, &total, &next),
                     TR_EINVAL);
        TR_CHECK(rows == NULL && next == NULL);
    }
    TR_CHECK_INT(tr_store_list(s, "consumers", NULL, 0, NULL, &rows, &total, &next), TR_EINVAL);
    TR_CHECK_INT(tr_store_list(s, "consumers", NULL, 1001, NULL, &rows, &total, &next), TR_EINVAL);
    TR_CHECK_INT(tr_store_list(s, "nope", NULL, 10, NULL, &rows, &total, &next), TR_EINVAL);
    filt = json_pack("{s:s}", "a.b", "x");
    TR_CHECK_INT(tr_store_list(s, "consumers", filt, 10, NULL, &rows, &total, &next), TR_EINVAL);
    json_decref(filt);
    filt = json_pack("{s:s}", "a') OR 1=1 --", "x");
    TR_CHECK_INT(tr_store_list(s, "consumers", filt, 10, NULL, &rows, &total, &next), TR_EINVAL);
    json_decref(filt);
    filt = json_pack("{s:n}", "username");
    TR_CHECK_INT(tr_store_list(s, "consumers", filt, 10, NULL, &rows, &total, &next), TR_EINVAL);
    json_decref(filt);
    filt = json_pack("{s:[]}", "username");
    TR_CHECK_INT(tr_store_list(s, "consumers", filt, 10, NULL, &rows, &total, &next), TR_EINVAL);
    json_decref(filt);
    filt = json_pack("[]");
    TR_CHECK_INT(tr_store_list(s, "consumers", filt, 10, NULL, &rows, &total, &next), TR_EINVAL);
    json_decref(filt);
    /* A value is data, never SQL. */
    filt = json_pack("{s:s}", "username", "x' OR '1'='1");
    TR_CHECK_INT(tr_store_list(s, "consumers", filt, 10, NULL, &rows, &total, &next), 0);
    TR_CHECK_INT(total, 0);
    json_decref(rows);
    json_decref(filt);
    json_t *got = NULL;
    TR_CHECK_INT(tr_store_get(s, "consumers", "username", "x' OR '1'='1", &got), TR_ENOTFOUND);

    /* No match: an empty array, not NULL. */
    filt = json_pack("{s:s}", "name", "none");
    TR_CHECK_INT(tr_store_list(s, "apis", filt, 100, NULL, &rows, &total, &next), 0);
    TR_CHECK_INT(total, 0);
    TR_CHECK(rows != NULL && json_array_size(rows) == 0);
    TR_CHECK(next == NULL);
    json_decref(rows);
    json_decref(filt);
}

struct collect {
    char names[8][16];
    size_t cnt;
    size_t stop_at; /* return 42 after this many rows; 0: never */
};

static int on_row(json_t *doc, void *ud)
{
    struct collect *c = ud;

    if (c->cnt < 8)
        snprintf(c->names[c->cnt], sizeof(c->names[0]), "%s", str_of(doc, "username"));
    c->cnt++;
    return c->stop_at != 0 && c->cnt == c->stop_at ? 42 : 0;
}

static struct tr_store *nested_store;

/* The callback may read the store, even the same kind. */
static int on_row_reenter(json_t *doc, void *ud)
{
    struct collect inner = {.cnt = 0};
    json_t *got = NULL;

    TR_CHECK_INT(tr_store_foreach(nested_store, "consumers", on_row, &inner), 0);
    TR_CHECK_INT(inner.cnt, 4);
    TR_CHECK_INT(tr_store_get(nested_store, "consumers", "id", str_of(doc, "id"), &got), 0);
    json_decref(got);
    (*(size_t *)ud)++;
    return 0;
}

static void test_foreach(struct tr_store *s)
{
    struct collect c = {.cnt = 0};
    size_t n = 0;

    TR_CHECK_INT(tr_store_foreach(s, "consumers", on_row, &c), 0);
    TR_CHECK_INT(c.cnt, 4);
    TR_CHECK_STR(c.names[0], "u1");
    TR_CHECK_STR(c.names[1], "u3");
    TR_CHECK_STR(c.names[3], "u5");
    c.cnt = 0;
    c.stop_at = 2;
    TR_CHECK_INT(tr_store_foreach(s, "consumers", on_row, &c), 42);
    TR_CHECK_INT(c.cnt, 2);
    TR_CHECK_INT(tr_store_foreach(s, "nope", on_row, &c), TR_EINVAL);
    nested_store = s;
    TR_CHECK_INT(tr_store_foreach(s, "consumers", on_row_reenter, &n), 0);
    TR_CHECK_INT(n, 4);
    c.cnt = 0;
    c.stop_at = 0;
    TR_CHECK_INT(tr_store_foreach(s, "apis", on_row, &c), 0);
    TR_CHECK_INT(c.cnt, count(s, "apis"));
}

static void test_reopen(void)
{
    struct tr_store *s = open_store();
    json_t *got = NULL;

    if (s == NULL)
        return;
    TR_CHECK_INT(tr_store_schema_version(s), tr_store_schema_latest(s));
    TR_CHECK_INT(tr_store_migrate(s), 0);
    TR_CHECK_INT(tr_store_migrate(s), 0);
    TR_CHECK_INT(tr_store_get(s, "apis", "name", "one", &got), TR_ENOTFOUND);
    TR_CHECK_INT(tr_store_get(s, "apis", "name", "two", &got), 0);
    TR_CHECK_STR(str_of(got, "request_path"), "/two");
    json_decref(got);
    got = NULL;
    TR_CHECK_INT(tr_store_get(s, "consumers", "username", "u5", &got), 0);
    TR_CHECK(json_is_true(json_object_get(got, "vip")));
    json_decref(got);
    got = NULL;
    TR_CHECK_INT(count(s, "consumers"), 4);
    TR_CHECK_INT(count(s, "plugins"), 5);
    TR_CHECK(tr_store_ping(s));

    /* A second store at the same time (as `migrations up` beside a running node). */
    struct tr_store *s2 = open_store();
    if (s2 != NULL) {
        TR_CHECK_INT(put(s2, "consumers", consumer("c-two", "second", NULL), NULL), 0);
        TR_CHECK_INT(tr_store_get(s, "consumers", "username", "second", &got), 0);
        json_decref(got);
        got = NULL;
        TR_CHECK_INT(tr_store_delete(s, "consumers", "c-two"), 0);
        TR_CHECK(!exists(s2, "consumers", "c-two"));
        tr_store_close(s2);
    }
    tr_store_close(s);
    tr_store_close(NULL);
}

/* A child inserts and dies by SIGKILL the moment the call returns; the row must be there. */
static void test_kill9(void)
{
    struct tr_store *s = NULL;
    json_t *got = NULL;
    char err[256];
    int status = 0;
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        if (tr_store_open(&conf, &s, err, sizeof(err)) != 0)
            _exit(3);
        if (put(s, "apis", api("k1", "killed", "killed.test", NULL), NULL) != 0)
            _exit(4);
        kill(getpid(), SIGKILL);
        _exit(5);
    }
    TR_CHECK(pid > 0);
    TR_CHECK(waitpid(pid, &status, 0) == pid);
    TR_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    s = open_store();
    if (s == NULL)
        return;
    TR_CHECK_INT(tr_store_get(s, "apis", "name", "killed", &got), 0);
    TR_CHECK_STR(str_of(got, "id"), "k1");
    json_decref(got);
    tr_store_close(s);
}

/* ---- SQLite backend tests ------------------------------------------------------------------ */

/* Run a query on the file with a separate connection; returns the first column as int. */
static long long query_int(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;

    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            v = sqlite3_column_type(st, 0) == SQLITE_TEXT
                    ? (strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0 ? 1 : -2)
                    : sqlite3_column_int64(st, 0);
        else if (rc == SQLITE_DONE)
            v = 0;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* A database at schema 8 (before plugins could name a route or a service) upgraded: the
 * plugins' composite keys are recomputed in the new format, so an old row still collides with
 * a new one of the same (name, api_id, consumer_id). */
static void test_upgrade_plugins_key(void)
{
    char path[400], err[256];
    sqlite3 *db = NULL;
    snprintf(path, sizeof(path), "%s/v8.db", dir);
    TR_CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    TR_CHECK_INT(tr__sqlite_migration_setup(db, err, sizeof(err)), 0);
    for (const struct tr_store_migration *m = tr__sqlite_migrations; m->version != 0; m++) {
        if (m->version <= 8)
            TR_CHECK_INT(tr__sqlite_migration_apply(db, m, err, sizeof(err)), 1);
    }
    TR_CHECK(sqlite3_exec(db,
                          "INSERT INTO plugins (id, created_at, doc, ukey) VALUES ('p-old', 1,"
                          " '{\"id\":\"p-old\",\"created_at\":1,\"name\":\"cors\"}',"
                          " '[\"cors\",null,null]')",
                          NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);

    struct tr_store *s = NULL;
    TR_CHECK_INT(tr_store_open_sqlite(path, &s, err, sizeof(err)), 0);
    if (s == NULL)
        return;
    TR_CHECK_INT(tr_store_schema_version(s), tr_store_schema_latest(s));
    const char *field = NULL;
    json_t *dup =
        json_pack("{s:s,s:I,s:s}", "id", "p-new", "created_at", (json_int_t)2, "name", "cors");
    TR_CHECK_INT(tr_store_insert(s, "plugins", dup, &field), TR_ECONFLICT);
    TR_CHECK_STR(field, "name");
    json_object_set_new(dup, "service_id", json_string("no-such-service"));
    TR_CHECK_INT(tr_store_insert(s, "plugins", dup, &field), TR_ENOTFOUND);
    TR_CHECK_STR(field, "service_id");
    json_decref(dup);
    tr_store_close(s);
}

/* The pragmas of P16 on the control thread's connection, and an owner-only file. */
static void test_sqlite_settings(void)
{
    struct tr_store *s = open_store();
    struct stat sb;
    json_t *set = NULL;

    if (s == NULL)
        return;
    TR_CHECK_INT(tr_store_settings(s, &set), 0);
    TR_CHECK_STR(str_of(set, "backend"), "sqlite");
    TR_CHECK_STR(str_of(set, "journal_mode"), "wal");
    TR_CHECK_INT(json_integer_value(json_object_get(set, "synchronous")), 2);
    TR_CHECK_INT(json_integer_value(json_object_get(set, "foreign_keys")), 1);
    TR_CHECK_INT(json_integer_value(json_object_get(set, "busy_timeout")), 5000);
    json_decref(set);
    tr_store_close(s);
    TR_CHECK(stat(db_path, &sb) == 0 && (sb.st_mode & 077) == 0);
}

/* After everything above (a kill -9 included), the file is whole and every step recorded. */
static void test_sqlite_file_intact(void)
{
    struct tr_store *s = open_store();
    int latest = s != NULL ? tr_store_schema_latest(s) : -1;

    tr_store_close(s);
    TR_CHECK_INT(query_int("SELECT count(*) FROM schema_migrations"), latest);
    TR_CHECK_INT(query_int("SELECT max(version) FROM schema_migrations"), latest);
    TR_CHECK_INT(query_int("PRAGMA integrity_check"), 1);
    TR_CHECK_INT(query_int("PRAGMA foreign_key_check"), 0);
}

static void test_sqlite_open_errors(void)
{
    struct tr_store *s = NULL;
    char path[320], err[256];
    sqlite3 *db = NULL;

    /* A database migrated by a newer build is refused. */
    snprintf(path, sizeof(path), "%s/newer.db", dir);
    TR_CHECK_INT(tr_store_open_sqlite(path, &s, err, sizeof(err)), 0);
    tr_store_close(s);
    s = NULL;
    TR_CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    TR_CHECK(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (999, 'future', 0)", NULL, NULL,
                          NULL) == SQLITE_OK);
    sqlite3_close(db);
    err[0] = '\0';
    TR_CHECK_INT(tr_store_open_sqlite(path, &s, err, sizeof(err)), TR_EDB);
    TR_CHECK(s == NULL);
    TR_CHECK(strstr(err, "newer") != NULL);

    /* Not a database. */
    snprintf(path, sizeof(path), "%s/garbage.db", dir);
    FILE *fp = fopen(path, "w");
    TR_CHECK(fp != NULL);
    if (fp != NULL) {
        for (int i = 0; i < 100; i++)
            fputs("this is not an sqlite database at all. ", fp);
        fclose(fp);
    }
    err[0] = '\0';
    TR_CHECK(tr_store_open_sqlite(path, &s, err, sizeof(err)) < 0);
    TR_CHECK(s == NULL && err[0] != '\0');

    /* A directory that does not exist. */
    snprintf(path, sizeof(path), "%s/no/such/dir.db", dir);
    TR_CHECK(tr_store_open_sqlite(path, &s, err, sizeof(err)) < 0);
    TR_CHECK(s == NULL);
    TR_CHECK(tr_store_open_sqlite(path, &s, NULL, 0) < 0);

    /* In memory works too (journal_mode "memory"). */
    TR_CHECK_INT(tr_store_open_sqlite(":memory:", &s, err, sizeof(err)), 0);
    if (s != NULL) {
        TR_CHECK_INT(put(s, "consumers", consumer("m1", "mem", NULL), NULL), 0);
        TR_CHECK_INT(count(s, "consumers"), 1);
        tr_store_close(s);
    }
}

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[600];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Cluster events (store.h): each write records one naming its node, in commit order; a
 * failed write records none; a batch's clear is "*"; purging forgets the old ones. */
struct seen_events {
    int64_t seq[16];
    char entity[16][32], id[16][40], node[16][40];
    bool deleted[16];
    size_t n;
};

static int note_event(const struct tr_store_event *e, void *ud)
{
    struct seen_events *se = ud;
    if (se->n < 16) {
        se->seq[se->n] = e->seq;
        snprintf(se->entity[se->n], sizeof(se->entity[0]), "%s", e->entity);
        snprintf(se->id[se->n], sizeof(se->id[0]), "%s", e->id);
        snprintf(se->node[se->n], sizeof(se->node[0]), "%s", e->node);
        se->deleted[se->n] = e->deleted;
        se->n++;
    }
    return 0;
}

static void test_cluster_events(struct tr_store *s)
{
    int64_t start, last;
    TR_CHECK_INT(tr_store_events_last(s, &start), 0);
    tr_store_set_node(s, "node-a");
    json_t *doc = api("ev1", "events-one", "ev.test", "/ev");
    TR_CHECK_INT(tr_store_insert(s, "apis", doc, NULL), 0);
    TR_CHECK_INT(tr_store_insert(s, "apis", doc, NULL), TR_ECONFLICT); /* no event */
    json_object_set_new(doc, "name", json_string("events-two"));
    TR_CHECK_INT(tr_store_update(s, "apis", doc, NULL), 0);
    tr_store_set_node(s, "node-b");
    TR_CHECK_INT(tr_store_delete(s, "apis", "ev1"), 0);
    TR_CHECK_INT(tr_store_delete(s, "apis", "ev1"), TR_ENOTFOUND); /* no event */
    json_decref(doc);

    struct seen_events se = {.n = 0};
    last = start;
    TR_CHECK_INT(tr_store_events(s, start, 100, note_event, &se, &last), 0);
    TR_CHECK_INT(se.n, 3);
    TR_CHECK(se.seq[0] > start && se.seq[1] > se.seq[0] && se.seq[2] > se.seq[1]);
    TR_CHECK(last == se.seq[2]);
    TR_CHECK_STR(se.entity[0], "apis");
    TR_CHECK_STR(se.id[0], "ev1");
    TR_CHECK_STR(se.node[0], "node-a");
    TR_CHECK(!se.deleted[0] && !se.deleted[1] && se.deleted[2]);
    TR_CHECK_STR(se.node[2], "node-b");
    /* paging: one at a time from the first */
    struct seen_events one = {.n = 0};
    int64_t l1 = start;
    TR_CHECK_INT(tr_store_events(s, start, 1, note_event, &one, &l1), 0);
    TR_CHECK(one.n == 1 && l1 == se.seq[0]);
    /* a batch's clear is one "*" event */
    TR_CHECK_INT(tr_store_batch_begin(s), 0);
    TR_CHECK_INT(tr_store_batch_clear(s), 0);
    tr_store_batch_rollback(s); /* rolled back: no event either */
    int64_t after;
    TR_CHECK_INT(tr_store_events_last(s, &after), 0);
    TR_CHECK(after == last);
    /* purge: everything recorded before now + 1 s is gone */
    TR_CHECK_INT(tr_store_events_purge(s, (int64_t)tr_clock_wall_ms() + 1000), 0);
    struct seen_events none = {.n = 0};
    TR_CHECK_INT(tr_store_events(s, 0, 100, note_event, &none, &after), 0);
    TR_CHECK_INT(none.n, 0);
    tr_store_set_node(s, "");
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    struct tr_store *s = NULL;
    char err[256], text[1024];

    snprintf(dir, sizeof(dir), "%s/torii-store-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(db_path, sizeof(db_path), "%s/torii.db", dir);

    /* TORII_TEST_STORE_CONF: the settings of another backend's empty database, made ready by
     * the caller (the PostgreSQL suite runs this binary so); the SQLite tests are then skipped. */
    const char *other = getenv("TORII_TEST_STORE_CONF");
    if (other != NULL && *other)
        snprintf(text, sizeof(text), "%s\n", other);
    else
        snprintf(text, sizeof(text), "database = sqlite\nsqlite_path = %s\n", db_path);
    if (tr__conf_parse_buffer(&conf, text, strlen(text), "test", err, sizeof(err)) != 0) {
        fprintf(stderr, "conf: %s\n", err);
        return 1;
    }

    test_entities_table();
    s = open_store();
    if (s == NULL) {
        remove_dir();
        return TR_CHECK_DONE();
    }
    test_open(s);
    test_every_kind(s);
    test_crud(s);
    test_plugins(s);
    test_list(s);
    test_foreach(s);
    test_cluster_events(s);
    tr_store_close(s);

    test_reopen();
    test_kill9();
    if (other != NULL && *other) {
        tr_conf_free(&conf);
        remove_dir();
        return TR_CHECK_DONE();
    }

    test_sqlite_settings();
    test_upgrade_plugins_key();
    test_sqlite_file_intact();
    test_sqlite_open_errors();

    tr_conf_free(&conf);
    remove_dir();
    return TR_CHECK_DONE();
}
