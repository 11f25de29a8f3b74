/* SPDX-License-Identifier: MIT */
/* The process-wide override table (health_override.h): a string map from
 * "<upstream id>\x1f<target>\x1f<address or empty>" to a state, under one mutex. */
#include "core/health_override.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/strmap.h"

#define SEP '\x1f'

struct entry {
    enum tr_health_override state;
    size_t len;
    char key[]; /* the map's key points here */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tr_strmap map;
static bool ready;
static uint64_t version;

static void init_locked(void)
{
    if (!ready) {
        tr_strmap_init(&map);
        ready = true;
    }
}

/* The key, malloc'ed; *len its length. NULL for a NULL or empty id or target, or a part
 * holding the separator. */
static char *make_key(const char *u, const char *t, const char *a, size_t *len)
{
    if (u == NULL || t == NULL || u[0] == '\0' || t[0] == '\0' || strchr(u, SEP) ||
        strchr(t, SEP) || (a != NULL && strchr(a, SEP)))
        return NULL;
    size_t ul = strlen(u), tl = strlen(t), al = a ? strlen(a) : 0;
    char *k = tr_xmalloc(ul + tl + al + 3);
    memcpy(k, u, ul);
    k[ul] = SEP;
    memcpy(k + ul + 1, t, tl);
    k[ul + 1 + tl] = SEP;
    memcpy(k + ul + 2 + tl, a ? a : "", al);
    k[ul + tl + al + 2] = '\0';
    *len = ul + tl + al + 2;
    return k;
}

struct prefix_walk {
    const char *prefix;
    size_t len;
    bool skip_exact; /* keep the key that is exactly the prefix */
    struct entry **found;
    size_t cnt, cap;
};

static void collect(void *ud, struct tr_str key, void *value)
{
    struct prefix_walk *w = ud;
    if (key.len < w->len || memcmp(key.ptr, w->prefix, w->len) != 0)
        return;
    if (w->skip_exact && key.len == w->len)
        return;
    if (w->cnt == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->found = tr_xrealloc(w->found, w->cap * sizeof(*w->found));
    }
    w->found[w->cnt++] = value;
}

/* Delete every entry whose key starts with prefix (but prefix itself when skip_exact). */
static void drop_prefix_locked(const char *prefix, size_t len, bool skip_exact)
{
    struct prefix_walk w = {prefix, len, skip_exact, NULL, 0, 0};
    tr_strmap_foreach(&map, collect, &w);
    for (size_t i = 0; i < w.cnt; i++) {
        struct entry *e = w.found[i];
        tr_strmap_del(&map, (struct tr_str){e->key, e->len});
        free(e);
    }
    free(w.found);
}

int tr_health_override_set(const char *upstream_id, const char *target, const char *address,
                           bool healthy)
{
    size_t len;
    char *k = make_key(upstream_id, target, address, &len);
    if (k == NULL)
        return TR_EINVAL;
    enum tr_health_override s = healthy ? TR_OVERRIDE_HEALTHY : TR_OVERRIDE_UNHEALTHY;
    int rc = 0;
    pthread_mutex_lock(&lock);
    init_locked();
    if (address == NULL)
        drop_prefix_locked(k, len, true);
    struct entry *e = tr_strmap_get(&map, (struct tr_str){k, len});
    if (e != NULL) {
        e->state = s;
    } else if (map.cnt >= TR_HEALTH_MAX_ENTRIES) {
        rc = TR_ENOMEM;
    } else {
        e = tr_xmalloc(sizeof(*e) + len + 1);
        e->state = s;
        e->len = len;
        memcpy(e->key, k, len + 1);
        tr_strmap_put(&map, (struct tr_str){e->key, e->len}, e);
    }
    if (rc == 0)
        version++;
    pthread_mutex_unlock(&lock);
    free(k);
    return rc;
}

enum tr_health_override tr_health_override_get(const char *upstream_id, const char *target,
                                               const char *address)
{
    size_t len, tlen;
    char *k = make_key(upstream_id, target, address, &len);
    char *tk = address ? make_key(upstream_id, target, NULL, &tlen) : NULL;
    enum tr_health_override s = TR_OVERRIDE_NONE;
    if (k == NULL) {
        free(tk);
        return s;
    }
    pthread_mutex_lock(&lock);
    if (ready) {
        struct entry *e = tr_strmap_get(&map, (struct tr_str){k, len});
        if (e == NULL && tk != NULL)
            e = tr_strmap_get(&map, (struct tr_str){tk, tlen});
        if (e != NULL)
            s = e->state;
    }
    pthread_mutex_unlock(&lock);
    free(k);
    free(tk);
    return s;
}

void tr_health_override_forget(const char *upstream_id, const char *target)
{
    size_t len;
    char *k;
    if (target != NULL) {
        k = make_key(upstream_id, target, NULL, &len);
    } else {
        /* "<upstream id>\x1f": every target of it. */
        k = make_key(upstream_id, "-", NULL, &len);
        if (k != NULL)
            len = strlen(upstream_id) + 1;
    }
    if (k == NULL)
        return;
    pthread_mutex_lock(&lock);
    if (ready) {
        drop_prefix_locked(k, len, false);
        version++;
    }
    pthread_mutex_unlock(&lock);
    free(k);
}

uint64_t tr_health_override_version(void)
{
    pthread_mutex_lock(&lock);
    uint64_t v = version;
    pthread_mutex_unlock(&lock);
    return v;
}

size_t tr_health_override_count(void)
{
    pthread_mutex_lock(&lock);
    size_t n = ready ? map.cnt : 0;
    pthread_mutex_unlock(&lock);
    return n;
}

static void free_entry(void *ud, struct tr_str key, void *value)
{
    (void)ud;
    (void)key;
    free(value);
}

void tr_health_override_reset(void)
{
    pthread_mutex_lock(&lock);
    if (ready) {
        tr_strmap_foreach(&map, free_entry, NULL);
        tr_strmap_free(&map);
        ready = false;
    }
    version++;
    pthread_mutex_unlock(&lock);
}

const char *tr_health_override_name(enum tr_health_override s)
{
    switch (s) {
    case TR_OVERRIDE_HEALTHY:
        return "HEALTHY";
    case TR_OVERRIDE_UNHEALTHY:
        return "UNHEALTHY";
    case TR_OVERRIDE_NONE:
        break;
    }
    return NULL;
}
