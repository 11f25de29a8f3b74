/* SPDX-License-Identifier: MIT */
/* Identity part of the snapshot: loading, patching one admin write at a time, and freeing what
 * a patch replaced once no older part can show it (see identity.h).
 *
 * Reclamation: part k holds a reference to its grave k, which collects what the patch from part
 * k to part k+1 replaced (records, map pages) and holds a reference to grave k+1. A grave is
 * therefore freed only when its part and every older part are gone, which is exactly when
 * nothing it holds can be read any more. The newest part of a line, when it goes, hands itself
 * to its grave so that its records are freed under the same rule. */
#include "snapshot/identity.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "plugins/registry.h"
#include "store/store.h"

struct tr_identity_grave {
    _Atomic unsigned refs;
    TR_VECTOR(void *) mem;          /* blocks to free */
    TR_VECTOR(json_t *) docs;       /* references to drop */
    struct tr_snap_identity *last;  /* the newest part of a line, freed with all it shows */
    struct tr_identity_grave *next; /* reference: the grave of the next part, or NULL */
};

static struct tr_identity_grave *grave_new(void)
{
    struct tr_identity_grave *g = tr_xcalloc(1, sizeof(*g));
    atomic_init(&g->refs, 1);
    return g;
}

/* Free p once g goes; at once when g is NULL (a part being loaded: nothing older shows p). */
static void retire_mem(struct tr_identity_grave *g, void *p)
{
    if (g)
        *tr_vector_push(NULL, &g->mem) = p;
    else
        free(p);
}

static void on_retire_page(void *ud, void *page)
{
    retire_mem(ud, page);
}

static void retire_cred(struct tr_identity_grave *g, const struct tr_credential *cr)
{
    json_t *doc = (json_t *)cr->doc;
    if (g)
        *tr_vector_push(NULL, &g->docs) = doc;
    else
        json_decref(doc);
    retire_mem(g, (void *)cr);
}

static void free_part(struct tr_snap_identity *part);

static void grave_unref(struct tr_identity_grave *g)
{
    /* Iterative: freeing one grave may free a long line of them. */
    while (g && atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1) {
        for (size_t i = 0; i < g->docs.cnt; i++)
            json_decref(g->docs.items[i]);
        for (size_t i = 0; i < g->mem.cnt; i++)
            free(g->mem.items[i]);
        tr_vector_free(&g->docs);
        tr_vector_free(&g->mem);
        if (g->last)
            free_part(g->last);
        struct tr_identity_grave *next = g->next;
        free(g);
        g = next;
    }
}

/* ---- records ----------------------------------------------------------------------------- */

static const char *str_of(const json_t *doc, const char *key)
{
    return json_string_value(json_object_get(doc, key));
}

static struct tr_str cstr(const char *s)
{
    return tr_str_from_cstr(s);
}

/* A consumer and its strings in one block. */
static struct tr_consumer *consumer_new(const json_t *doc)
{
    const char *f[3] = {str_of(doc, "id"), str_of(doc, "username"), str_of(doc, "custom_id")};
    size_t len[3], total = sizeof(struct tr_consumer);
    for (int i = 0; i < 3; i++) {
        len[i] = f[i] ? strlen(f[i]) : 0;
        total += f[i] ? len[i] + 1 : 0;
    }
    struct tr_consumer *c = tr_xmalloc(total);
    char *p = (char *)(c + 1);
    const char **out[3] = {&c->id, &c->username, &c->custom_id};
    for (int i = 0; i < 3; i++) {
        *out[i] = NULL;
        if (f[i]) {
            memcpy(p, f[i], len[i] + 1);
            *out[i] = p;
            p += len[i] + 1;
        }
    }
    return c;
}

/* Takes over the reference to doc. */
static struct tr_credential *cred_new(json_t *doc, const struct tr_consumer *c)
{
    struct tr_credential *cr = tr_xmalloc(sizeof(*cr));
    cr->id = str_of(doc, "id");
    cr->consumer = c;
    cr->doc = doc;
    return cr;
}

static struct tr_cred_list *list_new(size_t cnt)
{
    struct tr_cred_list *l = tr_xmalloc(sizeof(*l) + cnt * sizeof(*l->items));
    l->items = (const struct tr_credential **)(l + 1);
    l->cnt = cnt;
    return l;
}

/* ---- patching ---------------------------------------------------------------------------- */

static const char *lookup_value(const struct tr_cred_index *idx, const struct tr_credential *cr)
{
    return idx->kind->lookup_field ? str_of(cr->doc, idx->kind->lookup_field) : NULL;
}

/* Replace cr's consumer list with one where old becomes repl (repl NULL: old is dropped). */
static void list_swap(struct tr_cred_index *idx, const struct tr_credential *old,
                      const struct tr_credential *repl, struct tr_identity_grave *g)
{
    const struct tr_consumer *c = old->consumer;
    struct tr_cred_list *l = tr_strmap_get(&idx->by_consumer, cstr(c->id));
    if (l == NULL)
        return;
    struct tr_cred_list *nl = list_new(l->cnt);
    nl->cnt = 0;
    for (size_t i = 0; i < l->cnt; i++) {
        if (l->items[i] != old)
            nl->items[nl->cnt++] = l->items[i];
        else if (repl)
            nl->items[nl->cnt++] = repl;
    }
    if (nl->cnt)
        tr_strmap_put(&idx->by_consumer, cstr(c->id), nl);
    else {
        tr_strmap_del(&idx->by_consumer, cstr(c->id));
        free(nl);
    }
    retire_mem(g, l);
}

static void cred_remove(struct tr_cred_index *idx, const char *id, struct tr_identity_grave *g)
{
    const struct tr_credential *cr = tr_strmap_del(&idx->by_id, cstr(id));
    if (cr == NULL)
        return;
    const char *v = lookup_value(idx, cr);
    if (v && tr_strmap_get(&idx->by_value, cstr(v)) == cr)
        tr_strmap_del(&idx->by_value, cstr(v));
    list_swap(idx, cr, NULL, g);
    retire_cred(g, cr);
    idx->cnt--;
}

/* Index the row doc (reference taken over) of kind idx, replacing the row of the same id. */
static void cred_put(struct tr_snap_identity *part, struct tr_cred_index *idx, json_t *doc,
                     struct tr_identity_grave *g)
{
    const char *id = str_of(doc, "id");
    const char *cid = str_of(doc, "consumer_id");
    if (id)
        cred_remove(idx, id, g);
    const struct tr_consumer *c = cid ? tr_strmap_get(&part->consumer_by_id, cstr(cid)) : NULL;
    if (id == NULL || c == NULL) {
        json_decref(doc);
        return;
    }
    struct tr_credential *cr = cred_new(doc, c);
    tr_strmap_put(&idx->by_id, cstr(cr->id), cr);
    const char *v = lookup_value(idx, cr);
    if (v)
        tr_strmap_put(&idx->by_value, cstr(v), cr);
    struct tr_cred_list *l = tr_strmap_get(&idx->by_consumer, cstr(c->id));
    size_t n = l ? l->cnt : 0;
    struct tr_cred_list *nl = list_new(n + 1);
    if (n)
        memcpy(nl->items, l->items, n * sizeof(*nl->items));
    nl->items[n] = cr;
    tr_strmap_put(&idx->by_consumer, cstr(c->id), nl);
    if (l)
        retire_mem(g, l);
    idx->cnt++;
}

/* Point the credentials of old at its replacement c (new records: old ones may be read). */
static void creds_repoint(struct tr_cred_index *idx, const struct tr_consumer *old,
                          const struct tr_consumer *c, struct tr_identity_grave *g)
{
    struct tr_cred_list *l = tr_strmap_get(&idx->by_consumer, cstr(old->id));
    if (l == NULL)
        return;
    struct tr_cred_list *nl = list_new(l->cnt);
    for (size_t i = 0; i < l->cnt; i++) {
        const struct tr_credential *o = l->items[i];
        /* n takes over o's reference to the doc: o is read only through older parts, and the
         * doc goes with n, into a later grave. No count is touched here, so this thread never
         * reads a count that a worker may be dropping. */
        struct tr_credential *n = cred_new((json_t *)o->doc, c);
        tr_strmap_put(&idx->by_id, cstr(n->id), n);
        const char *v = lookup_value(idx, n);
        if (v && tr_strmap_get(&idx->by_value, cstr(v)) == o)
            tr_strmap_put(&idx->by_value, cstr(v), n);
        nl->items[i] = n;
        retire_mem(g, (void *)o);
    }
    tr_strmap_put(&idx->by_consumer, cstr(c->id), nl);
    retire_mem(g, l);
}

static void consumer_put(struct tr_snap_identity *part, const json_t *doc,
                         struct tr_identity_grave *g)
{
    const char *id = str_of(doc, "id");
    if (id == NULL)
        return;
    struct tr_consumer *old = tr_strmap_get(&part->consumer_by_id, cstr(id));
    struct tr_consumer *c = consumer_new(doc);
    if (old && old->username && tr_strmap_get(&part->consumer_by_name, cstr(old->username)) == old)
        tr_strmap_del(&part->consumer_by_name, cstr(old->username));
    if (old == NULL)
        part->num_consumers++;
    tr_strmap_put(&part->consumer_by_id, cstr(c->id), c);
    if (c->username)
        tr_strmap_put(&part->consumer_by_name, cstr(c->username), c);
    if (old) {
        for (size_t k = 0; k < part->num_creds; k++)
            creds_repoint(&part->creds[k], old, c, g);
        retire_mem(g, old);
    }
}

/* The consumer and its credentials of every kind (the store cascaded the delete). */
static void consumer_remove(struct tr_snap_identity *part, const char *id,
                            struct tr_identity_grave *g)
{
    struct tr_consumer *old = tr_strmap_del(&part->consumer_by_id, cstr(id));
    if (old == NULL)
        return;
    part->num_consumers--;
    if (old->username && tr_strmap_get(&part->consumer_by_name, cstr(old->username)) == old)
        tr_strmap_del(&part->consumer_by_name, cstr(old->username));
    for (size_t k = 0; k < part->num_creds; k++) {
        struct tr_cred_index *idx = &part->creds[k];
        struct tr_cred_list *l = tr_strmap_del(&idx->by_consumer, cstr(old->id));
        for (size_t i = 0; l && i < l->cnt; i++) {
            const struct tr_credential *cr = l->items[i];
            tr_strmap_del(&idx->by_id, cstr(cr->id));
            const char *v = lookup_value(idx, cr);
            if (v && tr_strmap_get(&idx->by_value, cstr(v)) == cr)
                tr_strmap_del(&idx->by_value, cstr(v));
            retire_cred(g, cr);
            idx->cnt--;
        }
        if (l)
            retire_mem(g, l);
    }
    retire_mem(g, old);
}

/* ---- parts ------------------------------------------------------------------------------- */

static struct tr_snap_identity *part_new(size_t num_kinds)
{
    struct tr_snap_identity *part = tr_xcalloc(1, sizeof(*part));
    atomic_init(&part->refs, 1);
    part->creds = tr_xcalloc(num_kinds ? num_kinds : 1, sizeof(*part->creds));
    part->num_creds = num_kinds;
    part->_grave = grave_new();
    return part;
}

static void free_value(void *ud, struct tr_str key, void *value)
{
    free(value);
}

static void free_cred(void *ud, struct tr_str key, void *value)
{
    const struct tr_credential *cr = value;
    json_decref((json_t *)cr->doc);
    free(value);
}

/* Free part; with everything it shows when it is the newest of its line (its grave calls this
 * then, once nothing older can be read). */
static void free_part(struct tr_snap_identity *part)
{
    bool all = !part->_has_next;
    if (all)
        tr_strmap_foreach(&part->consumer_by_id, free_value, NULL);
    void (*done)(struct tr_strmap *) = all ? tr_strmap_free : tr_strmap_release;
    done(&part->consumer_by_id);
    done(&part->consumer_by_name);
    for (size_t k = 0; k < part->num_creds; k++) {
        struct tr_cred_index *idx = &part->creds[k];
        if (all) {
            tr_strmap_foreach(&idx->by_id, free_cred, NULL);
            tr_strmap_foreach(&idx->by_consumer, free_value, NULL);
        }
        done(&idx->by_value);
        done(&idx->by_consumer);
        done(&idx->by_id);
    }
    free(part->creds);
    free(part);
}

struct load_ctx {
    struct tr_snap_identity *part;
    struct tr_cred_index *idx;
};

static int on_consumer_row(json_t *doc, void *ud)
{
    struct load_ctx *lc = ud;
    consumer_put(lc->part, doc, NULL);
    return 0;
}

static int on_cred_row(json_t *doc, void *ud)
{
    struct load_ctx *lc = ud;
    cred_put(lc->part, lc->idx, json_incref(doc), NULL);
    return 0;
}

struct tr_snap_identity *tr_snap_identity_load(struct tr_store *store)
{
    size_t kinds = 0;
    for (size_t i = 0; i < tr_plugin_count(); i++)
        kinds += tr_plugin_at(i)->num_credentials;
    struct tr_snap_identity *part = part_new(kinds);
    size_t k = 0;
    for (size_t i = 0; i < tr_plugin_count(); i++) {
        const struct tr_plugin *p = tr_plugin_at(i);
        for (size_t j = 0; j < p->num_credentials; j++)
            part->creds[k++].kind = &p->credentials[j];
    }
    struct load_ctx lc = {part, NULL};
    if (tr_store_foreach(store, "consumers", on_consumer_row, &lc) != 0)
        goto fail;
    for (k = 0; k < part->num_creds; k++) {
        lc.idx = &part->creds[k];
        if (tr_store_foreach(store, lc.idx->kind->entity, on_cred_row, &lc) != 0)
            goto fail;
    }
    return part;

fail:
    tr_log_error("identity: cannot read consumers and credentials from the store");
    tr_snap_identity_unref(part);
    return NULL;
}

static void fork_map(struct tr_strmap *dst, const struct tr_strmap *src,
                     struct tr_identity_grave *g)
{
    tr_strmap_fork(dst, src, on_retire_page, g);
}

struct tr_snap_identity *tr_snap_identity_apply(struct tr_snap_identity *cur, const char *entity,
                                                const char *id, const json_t *doc)
{
    bool consumers = strcmp(entity, "consumers") == 0;
    size_t kind = SIZE_MAX;
    for (size_t k = 0; !consumers && k < cur->num_creds; k++) {
        if (strcmp(cur->creds[k].kind->entity, entity) == 0)
            kind = k;
    }
    if (!consumers && kind == SIZE_MAX)
        return NULL;
    if (cur->_has_next)
        abort(); /* parts form a line: only the newest is patched */

    /* What this patch replaces stays readable in cur: it goes to cur's grave. */
    struct tr_identity_grave *g = cur->_grave;
    struct tr_snap_identity *next = part_new(cur->num_creds);
    next->num_consumers = cur->num_consumers;
    fork_map(&next->consumer_by_id, &cur->consumer_by_id, g);
    fork_map(&next->consumer_by_name, &cur->consumer_by_name, g);
    for (size_t k = 0; k < cur->num_creds; k++) {
        const struct tr_cred_index *from = &cur->creds[k];
        struct tr_cred_index *to = &next->creds[k];
        to->kind = from->kind;
        to->cnt = from->cnt;
        fork_map(&to->by_value, &from->by_value, g);
        fork_map(&to->by_consumer, &from->by_consumer, g);
        fork_map(&to->by_id, &from->by_id, g);
    }
    atomic_fetch_add_explicit(&next->_grave->refs, 1, memory_order_relaxed);
    g->next = next->_grave;
    cur->_has_next = true;

    if (consumers && doc)
        consumer_put(next, doc, g);
    else if (consumers)
        consumer_remove(next, id, g);
    else if (doc)
        /* A private copy: the admin layer may still edit doc, workers read this one. */
        cred_put(next, &next->creds[kind], json_deep_copy(doc), g);
    else
        cred_remove(&next->creds[kind], id, g);
    return next;
}

void tr_snap_identity_ref(struct tr_snap_identity *part)
{
    atomic_fetch_add_explicit(&part->refs, 1, memory_order_relaxed);
}

void tr_snap_identity_unref(struct tr_snap_identity *part)
{
    if (part == NULL || atomic_fetch_sub_explicit(&part->refs, 1, memory_order_acq_rel) != 1)
        return;
    struct tr_identity_grave *g = part->_grave;
    if (part->_has_next)
        free_part(part); /* only its directories: the records live on in newer parts */
    else
        g->last = part;
    grave_unref(g);
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
