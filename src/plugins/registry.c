/* SPDX-License-Identifier: MIT */
/* The one list of bundled plugins. Order is computed from priorities, never from this list. */
#include "plugins/registry.h"

#include <stdlib.h>
#include <string.h>

#include "plugins/plugin.h"

static const struct tr_plugin *const bundled[] = {
    NULL, /* placeholder so the array is never empty; skipped */
};

static const struct tr_plugin *sorted[TR_PLUGIN_MAX];
static size_t sorted_cnt;
static int sorted_ready;

static int by_priority(const void *a, const void *b)
{
    const struct tr_plugin *pa = *(const struct tr_plugin *const *)a;
    const struct tr_plugin *pb = *(const struct tr_plugin *const *)b;
    if (pa->priority != pb->priority)
        return pa->priority > pb->priority ? -1 : 1;
    return strcmp(pa->name, pb->name);
}

/* The sort runs once; callers are the control thread at start-up and, after that, readers of
 * an immutable array, so no lock is needed after the first call (made before threads start). */
static void ensure_sorted(void)
{
    if (sorted_ready)
        return;
    for (size_t i = 0; i < sizeof(bundled) / sizeof(bundled[0]); i++) {
        if (bundled[i] && sorted_cnt < TR_PLUGIN_MAX)
            sorted[sorted_cnt++] = bundled[i];
    }
    qsort(sorted, sorted_cnt, sizeof(sorted[0]), by_priority);
    sorted_ready = 1;
}

size_t tr_plugin_count(void)
{
    ensure_sorted();
    return sorted_cnt;
}

const struct tr_plugin *tr_plugin_at(size_t i)
{
    ensure_sorted();
    return i < sorted_cnt ? sorted[i] : NULL;
}

const struct tr_plugin *tr_plugin_find(const char *name, size_t *index)
{
    ensure_sorted();
    for (size_t i = 0; i < sorted_cnt; i++) {
        if (strcmp(sorted[i]->name, name) == 0) {
            if (index)
                *index = i;
            return sorted[i];
        }
    }
    return NULL;
}

const struct tr_plugin_credential *tr_plugin_find_credential(const char *entity_or_path)
{
    ensure_sorted();
    for (size_t i = 0; i < sorted_cnt; i++) {
        for (size_t j = 0; j < sorted[i]->num_credentials; j++) {
            const struct tr_plugin_credential *c = &sorted[i]->credentials[j];
            if (strcmp(c->entity, entity_or_path) == 0 || strcmp(c->path, entity_or_path) == 0 ||
                (c->alias && strcmp(c->alias, entity_or_path) == 0))
                return c;
        }
    }
    return NULL;
}
