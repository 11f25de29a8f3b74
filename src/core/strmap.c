/* SPDX-License-Identifier: MIT */
/* Open-addressing string map with linear probing and FNV-1a hashes. */
#include "core/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

struct tr_strmap_slot {
    struct tr_str key;
    uint64_t hash;
    void *value; /* NULL marks an empty slot */
};

static uint64_t hash_of(struct tr_str k)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < k.len; i++) {
        h ^= (unsigned char)k.ptr[i];
        h *= 1099511628211ull;
    }
    return h;
}

void tr_strmap_init(struct tr_strmap *m)
{
    m->slots = NULL;
    m->cap = m->cnt = 0;
}

static void insert_slot(struct tr_strmap_slot *slots, size_t cap, struct tr_str key, uint64_t h,
                        void *value, size_t *cnt)
{
    size_t i = (size_t)h & (cap - 1);
    for (;;) {
        struct tr_strmap_slot *s = &slots[i];
        if (s->value == NULL) {
            s->key = key;
            s->hash = h;
            s->value = value;
            (*cnt)++;
            return;
        }
        if (s->hash == h && tr_str_eq(s->key, key)) {
            s->value = value;
            return;
        }
        i = (i + 1) & (cap - 1);
    }
}

void tr_strmap_put(struct tr_strmap *m, struct tr_str key, void *value)
{
    if (value == NULL)
        return;
    if ((m->cnt + 1) * 4 > m->cap * 3) {
        size_t ncap = m->cap ? m->cap * 2 : 16;
        struct tr_strmap_slot *ns = tr_xcalloc(ncap, sizeof(*ns));
        size_t ncnt = 0;
        for (size_t i = 0; i < m->cap; i++) {
            if (m->slots[i].value)
                insert_slot(ns, ncap, m->slots[i].key, m->slots[i].hash, m->slots[i].value, &ncnt);
        }
        free(m->slots);
        m->slots = ns;
        m->cap = ncap;
        m->cnt = ncnt;
    }
    insert_slot(m->slots, m->cap, key, hash_of(key), value, &m->cnt);
}

void *tr_strmap_get(const struct tr_strmap *m, struct tr_str key)
{
    if (m->cnt == 0)
        return NULL;
    uint64_t h = hash_of(key);
    size_t i = (size_t)h & (m->cap - 1);
    for (;;) {
        const struct tr_strmap_slot *s = &m->slots[i];
        if (s->value == NULL)
            return NULL;
        if (s->hash == h && tr_str_eq(s->key, key))
            return s->value;
        i = (i + 1) & (m->cap - 1);
    }
}

void tr_strmap_free(struct tr_strmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->cnt = 0;
}
