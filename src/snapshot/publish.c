/* SPDX-License-Identifier: MIT */
/* The current snapshot and its version. Publishing takes a mutex (control thread, rare);
 * workers compare one atomic version per request and take the mutex only when it changed. */
#include "snapshot/snapshot.h"

#include <pthread.h>
#include <stddef.h>

#include "snapshot/build.h"

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tr_snapshot *current;      /* guarded by current_lock; one reference held */
static _Atomic uint64_t current_version; /* version of current; 0 before the first publish */
static uint64_t next_version = 1;        /* guarded by current_lock */

void tr_snapshot_publish(struct tr_snapshot *snap)
{
    pthread_mutex_lock(&current_lock);
    struct tr_snapshot *old = current;
    snap->version = next_version++;
    current = snap;
    atomic_store_explicit(&current_version, snap->version, memory_order_release);
    pthread_mutex_unlock(&current_lock);
    tr_snapshot_unref(old);
}

uint64_t tr_snapshot_current_version(void)
{
    return atomic_load_explicit(&current_version, memory_order_acquire);
}

struct tr_snapshot *tr_snapshot_acquire(void)
{
    pthread_mutex_lock(&current_lock);
    struct tr_snapshot *snap = current;
    if (snap)
        tr_snapshot_ref(snap);
    pthread_mutex_unlock(&current_lock);
    return snap;
}

void tr_snapshot_shutdown(void)
{
    pthread_mutex_lock(&current_lock);
    struct tr_snapshot *old = current;
    current = NULL;
    atomic_store_explicit(&current_version, 0, memory_order_release);
    pthread_mutex_unlock(&current_lock);
    tr_snapshot_unref(old);
    /* The last snapshot held the last balancers: the registry is empty now. */
    tr__snap_registry_free();
}
