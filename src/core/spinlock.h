/* SPDX-License-Identifier: MIT */
/* A spin lock for tables shared by every worker thread of a node that are striped into many
 * small buckets (the rate-limiting counters): each critical section is a few dozen instructions,
 * contention on one bucket is rare, and a mutex per bucket would cost more than the work. A
 * zero-initialised lock is unlocked. */
#ifndef TR_CORE_SPINLOCK_H
#define TR_CORE_SPINLOCK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct tr_spinlock {
    atomic_flag flag;
};

static inline void tr_spin_lock(struct tr_spinlock *l)
{
    while (atomic_flag_test_and_set_explicit(&l->flag, memory_order_acquire)) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
}

static inline void tr_spin_unlock(struct tr_spinlock *l)
{
    atomic_flag_clear_explicit(&l->flag, memory_order_release);
}

/* The stripe (bucket index) of key among n. Keys are tr_hash values (core/hash.h); the bits
 * above the lowest 20 pick the stripe, so a table that also keys slots on low bits stays
 * independent of it. */
static inline size_t tr_stripe(uint64_t key, size_t n)
{
    return (size_t)((key >> 20) % n);
}

#endif
