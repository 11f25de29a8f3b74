/* SPDX-License-Identifier: MIT */
/* Open-addressing string map with linear probing and FNV-1a hashes, its slots in pages so that
 * a new version copies only the pages it changes (see strmap.h). */
#include "core/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/mem.h"

#define PAGE_SHIFT 9
#define PAGE_SLOTS ((size_t)1 << PAGE_SHIFT)

/* 24 bytes: the slots are most of a big map's memory. */
struct tr_strmap_slot {
    const char *key;
    uint32_t key_len;
    uint32_t hash;
    void *value; /* NULL marks an empty slot */
};

struct tr_strmap_page {
    uint64_t gen; /* the version that made it; only that version may write it */
    struct tr_strmap_slot slots[];
};

static uint32_t hash_of(struct tr_str k)
{
    uint64_t h = tr_hash(k.ptr, k.len);
    return (uint32_t)(h ^ (h >> 32));
}

static bool key_is(const struct tr_strmap_slot *s, uint32_t h, struct tr_str key)
{
    return s->hash == h && s->key_len == key.len && memcmp(s->key, key.ptr, key.len) == 0;
}

/* A map of fewer than PAGE_SLOTS slots has one page of cap slots. */
static size_t page_slots(size_t cap)
{
    return cap < PAGE_SLOTS ? cap : PAGE_SLOTS;
}

static size_t num_pages(size_t cap)
{
    return cap < PAGE_SLOTS ? 1 : cap >> PAGE_SHIFT;
}

static struct tr_strmap_page *page_new(size_t slots, uint64_t gen)
{
    struct tr_strmap_page *p = tr_xcalloc(1, sizeof(*p) + slots * sizeof(struct tr_strmap_slot));
    p->gen = gen;
    return p;
}

static const struct tr_strmap_slot *slot_at(const struct tr_strmap *m, size_t i)
{
    return &m->pages[i >> PAGE_SHIFT]->slots[i & (PAGE_SLOTS - 1)];
}

/* Slot i for writing: its page is copied first when an older version shares it. */
static struct tr_strmap_slot *slot_w(struct tr_strmap *m, size_t i)
{
    struct tr_strmap_page **pp = &m->pages[i >> PAGE_SHIFT];
    if ((*pp)->gen != m->gen) {
        size_t n = page_slots(m->cap);
        struct tr_strmap_page *copy = page_new(n, m->gen);
        memcpy(copy->slots, (*pp)->slots, n * sizeof(struct tr_strmap_slot));
        if (m->retire == NULL)
            abort(); /* a shared page without a retire callback: a fork was not set up */
        m->retire(m->retire_ud, *pp);
        *pp = copy;
    }
    return &(*pp)->slots[i & (PAGE_SLOTS - 1)];
}

void tr_strmap_init(struct tr_strmap *m)
{
    memset(m, 0, sizeof(*m));
}

static void insert_new(struct tr_strmap *m, const char *key, uint32_t key_len, uint32_t h,
                       void *value)
{
    size_t i = (size_t)h & (m->cap - 1);
    while (slot_at(m, i)->value != NULL)
        i = (i + 1) & (m->cap - 1);
    struct tr_strmap_slot *s = slot_w(m, i);
    s->key = key;
    s->key_len = key_len;
    s->hash = h;
    s->value = value;
    m->cnt++;
}

/* Double the slots: every entry moves to new pages of this version; the old pages go (retired
 * when an older version shows them). */
static void grow(struct tr_strmap *m)
{
    struct tr_strmap old = *m;
    m->cap = m->cap ? m->cap * 2 : 16;
    m->cnt = 0;
    size_t np = num_pages(m->cap);
    m->pages = tr_xmalloc(np * sizeof(*m->pages));
    for (size_t p = 0; p < np; p++)
        m->pages[p] = page_new(page_slots(m->cap), m->gen);
    for (size_t i = 0; i < old.cap; i++) {
        const struct tr_strmap_slot *s = slot_at(&old, i);
        if (s->value)
            insert_new(m, s->key, s->key_len, s->hash, s->value);
    }
    for (size_t p = 0; old.pages && p < num_pages(old.cap); p++) {
        if (old.pages[p]->gen == m->gen)
            free(old.pages[p]);
        else
            m->retire(m->retire_ud, old.pages[p]);
    }
    free(old.pages);
}

/* Index of key's slot, or SIZE_MAX. */
static size_t find(const struct tr_strmap *m, struct tr_str key, uint32_t h)
{
    if (m->cnt == 0)
        return SIZE_MAX;
    size_t i = (size_t)h & (m->cap - 1);
    for (;;) {
        const struct tr_strmap_slot *s = slot_at(m, i);
        if (s->value == NULL)
            return SIZE_MAX;
        if (key_is(s, h, key))
            return i;
        i = (i + 1) & (m->cap - 1);
    }
}

void tr_strmap_put(struct tr_strmap *m, struct tr_str key, void *value)
{
    if (value == NULL)
        return;
    if (key.len > UINT32_MAX)
        abort(); /* keys are names and credentials, never gigabytes */
    uint32_t h = hash_of(key);
    size_t i = find(m, key, h);
    if (i != SIZE_MAX) {
        struct tr_strmap_slot *s = slot_w(m, i);
        s->key = key.ptr;
        s->value = value;
        return;
    }
    if ((m->cnt + 1) * 4 > m->cap * 3)
        grow(m);
    insert_new(m, key.ptr, (uint32_t)key.len, h, value);
}

void *tr_strmap_del(struct tr_strmap *m, struct tr_str key)
{
    size_t i = find(m, key, hash_of(key));
    if (i == SIZE_MAX)
        return NULL;
    void *value = slot_at(m, i)->value;
    size_t mask = m->cap - 1, j = i;
    /* Backward-shift deletion: pull later entries of the probe run into the hole, so lookups
     * need no tombstones. */
    for (;;) {
        j = (j + 1) & mask;
        struct tr_strmap_slot s = *slot_at(m, j);
        if (s.value == NULL)
            break;
        size_t k = (size_t)s.hash & mask; /* where s would like to be */
        bool movable = i <= j ? (k <= i || k > j) : (k <= i && k > j);
        if (movable) {
            *slot_w(m, i) = s;
            i = j;
        }
    }
    struct tr_strmap_slot *hole = slot_w(m, i);
    memset(hole, 0, sizeof(*hole));
    m->cnt--;
    return value;
}

void *tr_strmap_get(const struct tr_strmap *m, struct tr_str key)
{
    size_t i = find(m, key, hash_of(key));
    return i == SIZE_MAX ? NULL : slot_at(m, i)->value;
}

void tr_strmap_foreach(const struct tr_strmap *m,
                       void (*cb)(void *ud, struct tr_str key, void *value), void *ud)
{
    for (size_t i = 0; i < m->cap; i++) {
        const struct tr_strmap_slot *s = slot_at(m, i);
        if (s->value)
            cb(ud, (struct tr_str){s->key, s->key_len}, s->value);
    }
}

void tr_strmap_fork(struct tr_strmap *dst, const struct tr_strmap *src, tr_strmap_retire_fn retire,
                    void *ud)
{
    *dst = *src;
    dst->gen = src->gen + 1;
    dst->retire = retire;
    dst->retire_ud = ud;
    if (src->pages) {
        size_t np = num_pages(src->cap);
        dst->pages = tr_xmalloc(np * sizeof(*dst->pages));
        memcpy(dst->pages, src->pages, np * sizeof(*dst->pages));
    }
}

void tr_strmap_release(struct tr_strmap *m)
{
    free(m->pages);
    memset(m, 0, sizeof(*m));
}

void tr_strmap_free(struct tr_strmap *m)
{
    for (size_t p = 0; m->pages && p < num_pages(m->cap); p++)
        free(m->pages[p]);
    tr_strmap_release(m);
}
