/* SPDX-License-Identifier: MIT */
/* The copy-on-write string map (core/strmap.c) and the identity part patched one admin write at
 * a time (snapshot/identity.c): every older version must stay exactly as it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "core/strmap.h"
#include "snapshot/identity.h"
#include "store/sqlite.h"
#include "store/store.h"

/* ---- strmap ------------------------------------------------------------------------------ */

#define NKEYS 3000
#define NVERS 40

static char keys[NKEYS][16];

struct retired {
    void **pages;
    size_t cnt;
};

static void on_retire(void *ud, void *page)
{
    struct retired *r = ud;
    r->pages = realloc(r->pages, (r->cnt + 1) * sizeof(*r->pages));
    r->pages[r->cnt++] = page;
}

/* Does m hold exactly the entries of ref (ref[i] != 0: key i -> &keys[i][ref[i] % 2])? */
static int map_matches(const struct tr_strmap *m, const unsigned char *ref)
{
    size_t n = 0;
    for (int i = 0; i < NKEYS; i++) {
        void *v = tr_strmap_get(m, tr_str_from_cstr(keys[i]));
        if (ref[i] == 0 && v != NULL)
            return 0;
        if (ref[i] != 0 && v != &keys[i][ref[i] % 2])
            return 0;
        n += ref[i] != 0;
    }
    return n == m->cnt;
}

static void count_entry(void *ud, struct tr_str key, void *value)
{
    (*(size_t *)ud)++;
}

static void test_strmap_versions(void)
{
    for (int i = 0; i < NKEYS; i++)
        snprintf(keys[i], sizeof(keys[i]), "key-%d", i);
    static struct tr_strmap ver[NVERS];
    static unsigned char ref[NVERS][NKEYS];
    struct retired r = {NULL, 0};
    unsigned seed = 7;

    tr_strmap_init(&ver[0]);
    for (int i = 0; i < NKEYS / 2; i++) {
        tr_strmap_put(&ver[0], tr_str_from_cstr(keys[i]), &keys[i][1]);
        ref[0][i] = 1;
    }
    TR_CHECK(map_matches(&ver[0], ref[0]));
    for (int v = 1; v < NVERS; v++) {
        tr_strmap_fork(&ver[v], &ver[v - 1], on_retire, &r);
        memcpy(ref[v], ref[v - 1], NKEYS);
        /* A few writes per version, some versions many (growth, long probe runs). */
        int writes = v % 10 == 0 ? NKEYS : 5;
        for (int w = 0; w < writes; w++) {
            seed = seed * 1103515245u + 12345u;
            int i = (int)((seed >> 8) % NKEYS);
            if ((seed >> 4) % 3 == 0) {
                void *old = tr_strmap_del(&ver[v], tr_str_from_cstr(keys[i]));
                TR_CHECK(old == (ref[v][i] ? &keys[i][ref[v][i] % 2] : NULL));
                ref[v][i] = 0;
            } else {
                ref[v][i] = ref[v][i] == 1 ? 2 : 1;
                tr_strmap_put(&ver[v], tr_str_from_cstr(keys[i]), &keys[i][ref[v][i] % 2]);
            }
        }
        /* Every version so far still shows what it showed when it was made. */
        int all = 1;
        for (int u = 0; u <= v; u++)
            all &= map_matches(&ver[u], ref[u]);
        TR_CHECK(all);
    }
    size_t n = 0;
    tr_strmap_foreach(&ver[NVERS - 1], count_entry, &n);
    TR_CHECK_INT(n, ver[NVERS - 1].cnt);
    TR_CHECK(r.cnt > 0);
    for (int v = 0; v < NVERS - 1; v++)
        tr_strmap_release(&ver[v]);
    tr_strmap_free(&ver[NVERS - 1]);
    for (size_t i = 0; i < r.cnt; i++)
        free(r.pages[i]);
    free(r.pages);

    /* Deleting from a plain map keeps every other key reachable. */
    struct tr_strmap m;
    tr_strmap_init(&m);
    for (int i = 0; i < NKEYS; i++)
        tr_strmap_put(&m, tr_str_from_cstr(keys[i]), keys[i]);
    for (int i = 0; i < NKEYS; i += 2)
        TR_CHECK(tr_strmap_del(&m, tr_str_from_cstr(keys[i])) == keys[i]);
    TR_CHECK(tr_strmap_del(&m, tr_str_from_cstr(keys[0])) == NULL);
    int ok = 1;
    for (int i = 0; i < NKEYS; i++)
        ok &= tr_strmap_get(&m, tr_str_from_cstr(keys[i])) == (i % 2 ? keys[i] : NULL);
    TR_CHECK(ok);
    TR_CHECK_INT(m.cnt, NKEYS / 2);
    tr_strmap_free(&m);
}

/* ---- identity ---------------------------------------------------------------------------- */

#define KEYS "keyauth_credentials"
#define ACLS "acls"

static json_t *consumer(const char *id, const char *username)
{
    return json_pack("{s:s, s:s, s:I}", "id", id, "username", username, "created_at",
                     (json_int_t)1700000000000);
}

static json_t *key(const char *id, const char *consumer_id, const char *value)
{
    return json_pack("{s:s, s:s, s:s, s:I}", "id", id, "consumer_id", consumer_id, "key", value,
                     "created_at", (json_int_t)1700000000000);
}

static const struct tr_credential *find(const struct tr_snap_identity *part, const char *entity,
                                        const char *value)
{
    const struct tr_cred_index *idx = tr_snap_identity_creds(part, entity);
    return idx ? tr_strmap_get(&idx->by_value, tr_str_from_cstr(value)) : NULL;
}

static const struct tr_consumer *by_name(const struct tr_snap_identity *part, const char *name)
{
    return tr_strmap_get(&part->consumer_by_name, tr_str_from_cstr(name));
}

static size_t list_len(const struct tr_snap_identity *part, const char *entity,
                       const char *consumer_id)
{
    const struct tr_cred_index *idx = tr_snap_identity_creds(part, entity);
    const struct tr_cred_list *l =
        idx ? tr_strmap_get(&idx->by_consumer, tr_str_from_cstr(consumer_id)) : NULL;
    return l ? l->cnt : 0;
}

/* Apply one write (doc reference stolen) and return the new part; cur keeps its reference. */
static struct tr_snap_identity *apply(struct tr_snap_identity *cur, const char *entity,
                                      const char *id, json_t *doc)
{
    struct tr_snap_identity *next = tr_snap_identity_apply(cur, entity, id, doc);
    json_decref(doc);
    return next;
}

static void test_identity_patches(void)
{
    struct tr_store *s = NULL;
    char err[256];
    TR_CHECK_INT(tr_store_open_sqlite(":memory:", &s, err, sizeof(err)), 0);
    if (s == NULL)
        return;
    json_t *doc = consumer("c-1", "alice");
    TR_CHECK_INT(tr_store_insert(s, "consumers", doc, NULL), 0);
    json_decref(doc);
    doc = key("k-1", "c-1", "alice-key");
    TR_CHECK_INT(tr_store_insert(s, KEYS, doc, NULL), 0);
    json_decref(doc);

    struct tr_snap_identity *p0 = tr_snap_identity_load(s);
    TR_CHECK(p0 != NULL);
    if (p0 == NULL)
        goto out;
    TR_CHECK_INT(p0->num_consumers, 1);
    const struct tr_credential *k1 = find(p0, KEYS, "alice-key");
    TR_CHECK(k1 != NULL && strcmp(k1->consumer->username, "alice") == 0);
    TR_CHECK(tr_snap_identity_apply(p0, "apis", "a-1", NULL) == NULL);

    /* A new consumer and key: visible in the new part only. */
    struct tr_snap_identity *p1 = apply(p0, "consumers", "c-2", consumer("c-2", "bob"));
    struct tr_snap_identity *p2 = apply(p1, KEYS, "k-2", key("k-2", "c-2", "bob-key"));
    TR_CHECK(by_name(p0, "bob") == NULL);
    TR_CHECK(by_name(p1, "bob") != NULL);
    TR_CHECK(find(p1, KEYS, "bob-key") == NULL);
    const struct tr_credential *k2 = find(p2, KEYS, "bob-key");
    TR_CHECK(k2 != NULL && k2->consumer == by_name(p2, "bob"));
    TR_CHECK(find(p2, KEYS, "alice-key") == k1); /* shared, not copied */
    TR_CHECK_INT(p2->num_consumers, 2);

    /* A key changed in place: the old value goes, the old part keeps it. */
    struct tr_snap_identity *p3 = apply(p2, KEYS, "k-2", key("k-2", "c-2", "bob-key-2"));
    TR_CHECK(find(p3, KEYS, "bob-key") == NULL);
    TR_CHECK(find(p3, KEYS, "bob-key-2") != NULL);
    TR_CHECK(find(p2, KEYS, "bob-key") == k2);
    TR_CHECK_INT(list_len(p3, KEYS, "c-2"), 1);

    /* Groups: several credentials of one consumer. */
    struct tr_snap_identity *p4 =
        apply(p3, ACLS, "g-1",
              json_pack("{s:s, s:s, s:s}", "id", "g-1", "consumer_id", "c-2", "group", "x"));
    struct tr_snap_identity *p5 =
        apply(p4, ACLS, "g-2",
              json_pack("{s:s, s:s, s:s}", "id", "g-2", "consumer_id", "c-2", "group", "y"));
    TR_CHECK_INT(list_len(p4, ACLS, "c-2"), 1);
    TR_CHECK_INT(list_len(p5, ACLS, "c-2"), 2);

    /* A consumer renamed: its credentials follow the new record; the old part is unchanged. */
    struct tr_snap_identity *p6 = apply(p5, "consumers", "c-2", consumer("c-2", "robert"));
    TR_CHECK(by_name(p6, "bob") == NULL);
    const struct tr_consumer *robert = by_name(p6, "robert");
    TR_CHECK(robert != NULL);
    const struct tr_credential *k2b = find(p6, KEYS, "bob-key-2");
    TR_CHECK(k2b != NULL && k2b->consumer == robert);
    TR_CHECK(by_name(p5, "bob") != NULL && by_name(p5, "robert") == NULL);
    TR_CHECK(strcmp(find(p5, KEYS, "bob-key-2")->consumer->username, "bob") == 0);
    TR_CHECK_INT(list_len(p6, ACLS, "c-2"), 2);
    TR_CHECK_INT(p6->num_consumers, 2);

    /* Some older parts go before newer ones, some after: nothing they share may go early. */
    tr_snap_identity_unref(p1);
    tr_snap_identity_unref(p3);

    /* The consumer deleted: its credentials of every kind go with it. */
    struct tr_snap_identity *p7 = apply(p6, "consumers", "c-2", NULL);
    TR_CHECK(by_name(p7, "robert") == NULL);
    TR_CHECK(find(p7, KEYS, "bob-key-2") == NULL);
    TR_CHECK_INT(list_len(p7, ACLS, "c-2"), 0);
    TR_CHECK_INT(tr_snap_identity_creds(p7, ACLS)->cnt, 0);
    TR_CHECK_INT(p7->num_consumers, 1);
    TR_CHECK(find(p6, KEYS, "bob-key-2") == k2b);

    /* A key deleted; a key whose consumer does not exist is not indexed. */
    struct tr_snap_identity *p8 = apply(p7, KEYS, "k-1", NULL);
    struct tr_snap_identity *p9 = apply(p8, KEYS, "k-9", key("k-9", "nobody", "ghost"));
    TR_CHECK(find(p8, KEYS, "alice-key") == NULL);
    TR_CHECK(find(p7, KEYS, "alice-key") == k1);
    TR_CHECK(find(p9, KEYS, "ghost") == NULL);
    TR_CHECK_INT(tr_snap_identity_creds(p9, KEYS)->cnt, 0);

    tr_snap_identity_unref(p9); /* the newest first: freed only after the older ones */
    tr_snap_identity_unref(p0);
    tr_snap_identity_unref(p2);
    tr_snap_identity_unref(p4);
    tr_snap_identity_unref(p5);
    tr_snap_identity_unref(p6);
    tr_snap_identity_unref(p8);
    tr_snap_identity_unref(p7);
out:
    tr_store_close(s);
}

int main(void)
{
    test_strmap_versions();
    test_identity_patches();
    return TR_CHECK_DONE();
}
