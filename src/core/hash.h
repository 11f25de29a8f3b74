/* SPDX-License-Identifier: MIT */
/* The one non-cryptographic hash of the tree: FNV-1a over 64 bits, then splitmix64's finaliser
 * (FNV alone leaves weak low bits, and table indexes take the low bits). Tables keyed by what
 * an admin or a client chose (router, string maps, rate-limiting counters) use it; it is not a
 * defence against chosen keys by itself, which is why the tables also bound their probing.
 * The rate-limiting cluster counters store these values in the database, so the algorithm and
 * the seed must never change. */
#ifndef TR_CORE_HASH_H
#define TR_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define TR_HASH_SEED 0xcbf29ce484222325ull /* FNV-1a's offset basis */

/* Continue hash h (start with TR_HASH_SEED) over len bytes of data. */
static inline uint64_t tr_hash_update(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* The final value of h: well mixed, never 0 (0 can mark an empty slot). */
static inline uint64_t tr_hash_final(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h ? h : 1;
}

/* The hash of len bytes of data. */
static inline uint64_t tr_hash(const void *data, size_t len)
{
    return tr_hash_final(tr_hash_update(TR_HASH_SEED, data, len));
}

#endif
