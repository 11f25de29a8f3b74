/* SPDX-License-Identifier: MIT */
/* Identity part of the snapshot and the mirror it is built from (see identity.h). */
#include "snapshot/identity.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "plugins/registry.h"
#include "store/store.h"

/* ---- mirror ------------------------------------------------------------------------------ */

static int on_row(json_t *doc, void *ud)
{
    json_t *obj = ud;
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (id)
        json_object_set(obj, id, doc);
    return 0;
}

int tr_identity_mirror_load(struct tr_identity_mirror *m, struct tr_store *store)
{
    memset(m, 0, sizeof(*m));
    size_t kinds = 0;
    for (size_t i = 0; i < tr_plugin_count(); i++)
        kinds += tr_plugin_at(i)->num_credentials;
    m->kinds = tr_xcalloc(kinds ? kinds : 1, sizeof(*m->kinds));
    m->creds = tr_xcalloc(kinds ? kinds : 1, sizeof(*m->creds));
    for (size_t i = 0; i < tr_plugin_count(); i++) {
        const struct tr_plugin *p = tr_plugin_at(i);
        for (size_t j = 0; j < p->num_credentials; j++)
            m->kinds[m->num_kinds++] = &p->credentials[j];
    }
    m->consumers = json_object();
    if (tr_store_foreach(store, "consumers", on_row, m->consumers) != 0)
        return TR_EDB;
    for (size_t k = 0; k < m->num_kinds; k++) {
        m->creds[k] = json_object();
        if (tr_store_foreach(store, m->kinds[k]->entity, on_row, m->creds[k]) != 0)
            return TR_EDB;
    }
    return 0;
}

/* Remove every row of obj whose consumer_id is consumer_id (the store cascaded them). */
static void drop_consumer_rows(json_t *obj, const char *consumer_id)
{
    const char *key;
    json_t *doc, *tmp;
    void *it;
    (void)tmp;
    it = json_object_iter(obj);
    while (it) {
        key = json_object_iter_key(it);
        doc = json_object_iter_value(it);
        it = json_object_iter_next(obj, it);
        const char *cid = json_string_value(json_object_get(doc, "consumer_id"));
        if (cid && strcmp(cid, consumer_id) == 0)
            json_object_del(obj, key);
    }
}

bool tr_identity_mirror_apply(struct tr_identity_mirror *m, const char *entity, const char *id,
                              json_t *doc)
{
    json_t *obj = NULL;
    if (strcmp(entity, "consumers") == 0) {
        obj = m->consumers;
        if (doc == NULL) {
            for (size_t k = 0; k < m->num_kinds; k++)
                drop_consumer_rows(m->creds[k], id);
        }
    } else {
        for (size_t k = 0; k < m->num_kinds; k++) {
            if (strcmp(m->kinds[k]->entity, entity) == 0)
                obj = m->creds[k];
        }
    }
    if (obj == NULL)
        return false;
    if (doc)
        json_object_set_new(obj, id, json_deep_copy(doc)); /* the admin may still edit doc */
    else
        json_object_del(obj, id);
    return true;
}

void tr_identity_mirror_free(struct tr_identity_mirror *m)
{
    json_decref(m->consumers);
    for (size_t k = 0; k < m->num_kinds; k++)
        json_decref(m->creds[k]);
    free(m->creds);
    free(m->kinds);
    memset(m, 0, sizeof(*m));
}

/* ---- part -------------------------------------------------------------------------------- */

static const char *str_of(const json_t *doc, const char *key)
{
    return json_string_value(json_object_get(doc, key));
}

static void build_creds(struct tr_snap_identity *part, struct tr_cred_index *idx, json_t *rows)
{
    size_t n = json_object_size(rows);
    idx->items = tr_xcalloc(n ? n : 1, sizeof(*idx->items));
    tr_strmap_init(&idx->by_value);
    tr_strmap_init(&idx->by_consumer);
    const char *field = idx->kind->lookup_field;
    const char *key;
    json_t *doc;
    json_object_foreach(rows, key, doc)
    {
        const char *cid = str_of(doc, "consumer_id");
        if (str_of(doc, "id") == NULL)
            continue;
        const struct tr_consumer *c =
            cid ? tr_strmap_get(&part->consumer_by_id, tr_str_from_cstr(cid)) : NULL;
        if (c == NULL)
            continue;
        struct tr_credential *cr = &idx->items[idx->cnt++];
        cr->id = str_of(doc, "id"); /* strings must live in the referenced doc, not the mirror */
        cr->consumer = c;
        cr->doc = json_incref(doc);
        if (field) {
            const char *v = str_of(doc, field);
            if (v)
                tr_strmap_put(&idx->by_value, tr_str_from_cstr(v), cr);
        }
        struct tr_str ckey = tr_str_from_cstr(c->id);
        struct tr_cred_list *l = tr_strmap_get(&idx->by_consumer, ckey);
        if (l == NULL) {
            l = tr_arena_alloc(&part->arena, sizeof(*l));
            l->items = NULL;
            l->cnt = 0;
            tr_strmap_put(&idx->by_consumer, ckey, l);
        }
        /* A consumer's list is short (its groups, its keys): grow by copying in the arena. */
        const struct tr_credential **items =
            tr_arena_alloc(&part->arena, (l->cnt + 1) * sizeof(*items));
        if (l->cnt)
            memcpy(items, l->items, l->cnt * sizeof(*items));
        items[l->cnt++] = cr;
        l->items = items;
    }
}

struct tr_snap_identity *tr_snap_identity_build(const struct tr_identity_mirror *m)
{
    struct tr_snap_identity *part = tr_xcalloc(1, sizeof(*part));
    atomic_init(&part->refs, 1);
    size_t n = json_object_size(m->consumers);
    part->consumers = tr_xcalloc(n ? n : 1, sizeof(*part->consumers));
    part->consumer_docs = tr_xcalloc(n ? n : 1, sizeof(*part->consumer_docs));
    tr_strmap_init(&part->consumer_by_id);
    tr_strmap_init(&part->consumer_by_name);
    const char *key;
    json_t *doc;
    json_object_foreach(m->consumers, key, doc)
    {
        if (str_of(doc, "id") == NULL)
            continue;
        struct tr_consumer *c = &part->consumers[part->num_consumers];
        part->consumer_docs[part->num_consumers++] = json_incref(doc);
        /* The strings live in the referenced doc (the mirror's keys may go away first). */
        c->id = str_of(doc, "id");
        c->username = str_of(doc, "username");
        c->custom_id = str_of(doc, "custom_id");
        tr_strmap_put(&part->consumer_by_id, tr_str_from_cstr(c->id), c);
        if (c->username)
            tr_strmap_put(&part->consumer_by_name, tr_str_from_cstr(c->username), c);
    }
    part->creds = tr_xcalloc(m->num_kinds ? m->num_kinds : 1, sizeof(*part->creds));
    for (size_t k = 0; k < m->num_kinds; k++) {
        struct tr_cred_index *idx = &part->creds[part->num_creds++];
        idx->kind = m->kinds[k];
        build_creds(part, idx, m->creds[k]);
    }
    return part;
}

void tr_snap_identity_ref(struct tr_snap_identity *part)
{
    atomic_fetch_add_explicit(&part->refs, 1, memory_order_relaxed);
}

void tr_snap_identity_unref(struct tr_snap_identity *part)
{
    if (part == NULL || atomic_fetch_sub_explicit(&part->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < part->num_creds; i++) {
        struct tr_cred_index *idx = &part->creds[i];
        for (size_t j = 0; j < idx->cnt; j++)
            json_decref((json_t *)idx->items[j].doc);
        free(idx->items);
        tr_strmap_free(&idx->by_value);
        tr_strmap_free(&idx->by_consumer);
    }
    free(part->creds);
    for (size_t i = 0; i < part->num_consumers; i++)
        json_decref(part->consumer_docs[i]);
    free(part->consumer_docs);
    free(part->consumers);
    tr_strmap_free(&part->consumer_by_id);
    tr_strmap_free(&part->consumer_by_name);
    tr_arena_reset(&part->arena);
    free(part);
}

const struct tr_cred_index *tr_snap_identity_creds(const struct tr_snap_identity *part,
                                                   const char *entity)
{
    for (size_t i = 0; i < part->num_creds; i++) {
        if (strcmp(part->creds[i].kind->entity, entity) == 0)
            return &part->creds[i];
    }
    return NULL;
}
