/* SPDX-License-Identifier: MIT */
/* Applying other nodes' writes from the cluster events (cluster_sync.h). */
#include "server/cluster_sync.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/uuid.h"
#include "store/store.h"

/* Events read per query, and the most applied one by one in a tick: past it (a declarative
 * import, a script creating thousands of consumers) one full re-read is cheaper. */
#define PAGE 512
#define APPLY_MAX 2048
#define PURGE_EVERY_MS (60u * 1000u)
#define KEEP_MS (3600u * 1000u)

struct change {
    char *entity, *id;
};

struct tr_cluster_sync {
    uv_timer_t timer;
    uv_loop_t *loop;
    uv_poll_t *poll;  /* owned: the notification connection's socket, or NULL */
    unsigned handles; /* open libuv handles; cs is freed when the last one closes */
    bool stopping;
    struct tr_store *store;
    const struct tr_cluster_sync_cbs *cbs;
    void *ud;
    char node[TR_UUID_LEN + 1];
    int64_t last;           /* the newest event applied (or known at start) */
    uint64_t purged_at;     /* monotonic ms of the last purge */
    bool failing;           /* the last look failed and said so */
    struct change *pending; /* one tick's foreign events */
    size_t cnt, cap;
    size_t seen;     /* events given by the current page */
    bool reload;     /* one tick saw "*" or more than APPLY_MAX */
    bool can_listen; /* the store has notifications (they worked once) */
};

struct tr_cluster_sync *tr_cluster_sync_new(struct tr_store *store)
{
    struct tr_cluster_sync *cs = tr_xcalloc(1, sizeof(*cs));
    cs->store = store;
    tr_uuid_v4(cs->node);
    tr_store_set_node(store, cs->node);
    if (tr_store_events_last(store, &cs->last) != 0) {
        tr_log_error("cluster: cannot read the cluster events; other nodes' writes show here "
                     "only on reload");
        free(cs);
        return NULL;
    }
    return cs;
}

static int collect(const struct tr_store_event *e, void *ud)
{
    struct tr_cluster_sync *cs = ud;
    cs->seen++;
    if (strcmp(e->node, cs->node) == 0 || cs->reload)
        return 0; /* our own write, already applied; or everything is re-read anyway */
    if (strcmp(e->entity, "*") == 0 || cs->cnt == APPLY_MAX) {
        cs->reload = true;
        return 0;
    }
    if (cs->cnt == cs->cap) {
        cs->cap = cs->cap ? cs->cap * 2 : 16;
        cs->pending = tr_xrealloc(cs->pending, cs->cap * sizeof(*cs->pending));
    }
    cs->pending[cs->cnt++] = (struct change){tr_xstrdup(e->entity), tr_xstrdup(e->id)};
    return 0;
}

static void clear_pending(struct tr_cluster_sync *cs)
{
    for (size_t i = 0; i < cs->cnt; i++) {
        free(cs->pending[i].entity);
        free(cs->pending[i].id);
    }
    cs->cnt = 0;
    cs->reload = false;
}

/* Read every event after cs->last; false when the store failed (cs->last stays). */
static bool read_events(struct tr_cluster_sync *cs)
{
    for (;;) {
        int64_t before = cs->last;
        cs->seen = 0;
        if (tr_store_events(cs->store, cs->last, PAGE, collect, cs, &cs->last) != 0) {
            cs->last = before; /* those events are read again next time */
            return false;
        }
        if (cs->seen < PAGE)
            return true; /* a short page is the end */
    }
}

static void look(struct tr_cluster_sync *cs)
{
    int64_t from = cs->last;
    if (!read_events(cs)) {
        clear_pending(cs);
        if (!cs->failing)
            tr_log_warn("cluster: cannot read what other nodes wrote; trying again");
        cs->failing = true;
        return;
    }
    if (cs->failing)
        tr_log_notice("cluster: reading other nodes' writes again");
    cs->failing = false;
    if (cs->reload) {
        tr_log_info("cluster: events %lld..%lld: re-reading the configuration", (long long)from + 1,
                    (long long)cs->last);
        cs->cbs->reload(cs->ud);
    } else {
        for (size_t i = 0; i < cs->cnt; i++) {
            json_t *doc = NULL;
            /* Re-read: the row as it is now (a later event may have changed it again, or
             * deleted it: NULL then, as a delete). */
            if (tr_store_get(cs->store, cs->pending[i].entity, "id", cs->pending[i].id, &doc) != 0)
                doc = NULL;
            cs->cbs->changed(cs->ud, cs->pending[i].entity, cs->pending[i].id, doc);
            json_decref(doc);
        }
        if (cs->cnt > 0)
            cs->cbs->applied(cs->ud);
    }
    clear_pending(cs);
    uint64_t now = tr_clock_mono_ms();
    if (now - cs->purged_at >= PURGE_EVERY_MS) {
        cs->purged_at = now;
        tr_store_events_purge(cs->store, (int64_t)(tr_clock_wall_ms() - KEEP_MS));
    }
}

static void free_sync(struct tr_cluster_sync *cs)
{
    clear_pending(cs);
    free(cs->pending);
    free(cs);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct tr_cluster_sync *cs = h->data;
    if (h != (uv_handle_t *)&cs->timer)
        free(h);
    if (--cs->handles == 0 && cs->stopping)
        free_sync(cs);
}

static void stop_listening(struct tr_cluster_sync *cs)
{
    if (cs->poll == NULL)
        return;
    uv_poll_stop(cs->poll);
    uv_close((uv_handle_t *)cs->poll, on_handle_closed);
    cs->poll = NULL;
    tr_store_listen_close(cs->store);
}

static void on_notified(uv_poll_t *p, int status, int events)
{
    struct tr_cluster_sync *cs = p->data;
    int rc = status < 0 ? -1 : tr_store_listen_read(cs->store);
    if (rc < 0) {
        stop_listening(cs); /* the next tick opens it again */
        return;
    }
    if (rc > 0)
        look(cs);
}

/* PostgreSQL: a write announces itself, so this node looks at once rather than at its next
 * tick. Without notifications (SQLite), or while they fail, the ticks alone carry changes. */
static void start_listening(struct tr_cluster_sync *cs)
{
    int fd = tr_store_listen(cs->store);
    if (fd < 0)
        return;
    cs->poll = tr_xcalloc(1, sizeof(*cs->poll));
    if (uv_poll_init_socket(cs->loop, cs->poll, fd) != 0) {
        free(cs->poll);
        cs->poll = NULL;
        tr_store_listen_close(cs->store);
        return;
    }
    cs->poll->data = cs;
    cs->handles++;
    uv_poll_start(cs->poll, UV_READABLE, on_notified);
    tr_log_info("cluster: listening for other nodes' writes");
}

static void on_tick(uv_timer_t *t)
{
    struct tr_cluster_sync *cs = t->data;
    /* Notifications lost (a reconnect): listen again; this tick's look catches what was
     * announced meanwhile. */
    if (cs->poll == NULL && cs->can_listen)
        start_listening(cs);
    look(cs);
}

void tr_cluster_sync_start(struct tr_cluster_sync *cs, uv_loop_t *loop, unsigned period_ms,
                           const struct tr_cluster_sync_cbs *cbs, void *ud)
{
    cs->cbs = cbs;
    cs->ud = ud;
    cs->purged_at = tr_clock_mono_ms();
    cs->loop = loop;
    uv_timer_init(loop, &cs->timer);
    cs->timer.data = cs;
    cs->handles = 1;
    uv_timer_start(&cs->timer, on_tick, period_ms, period_ms);
    start_listening(cs);
    cs->can_listen = cs->poll != NULL;
}

void tr_cluster_sync_stop(struct tr_cluster_sync *cs)
{
    if (cs == NULL)
        return;
    if (cs->cbs == NULL) { /* never started */
        free(cs);
        return;
    }
    cs->stopping = true;
    stop_listening(cs);
    uv_timer_stop(&cs->timer);
    uv_close((uv_handle_t *)&cs->timer, on_handle_closed);
}
