/* SPDX-License-Identifier: MIT */
/* Consistent-hashing's ring (Kong 3.9's kong/runloop/balancer/consistent_hashing.lua): a
 * continuum of `points` slots, each holding an address index or TR_RING_EMPTY, filled by
 * hashing "<ip>::<port> <i>" for i = 1..entries per address, with XXH32 as Kong's luaxxhash.
 * Internal to src/balancer/. */
#ifndef TR_BALANCER_RING_H
#define TR_BALANCER_RING_H

#include <stddef.h>
#include <stdint.h>

#define TR_RING_EMPTY UINT32_MAX
#define TR_RING_MIN_POINTS 1000 /* Kong's MIN_CONTINUUM_SIZE (and default) */
#define TR_RING_SERVER_POINTS 160

/* XXH32 of len bytes of data with seed. */
uint32_t tr_xxh32(const void *data, size_t len, uint32_t seed);

struct tr_ring_entry {
    const char *host;
    uint16_t port;
    uint32_t weight;
    const char *target;
};

/* Kong's continuum size for an upstream's slots. */
uint32_t tr_ring_points(uint32_t slots);
/* Fill ring[0..points) (allocated by the caller) from addrs[0..n); slots hold indexes into
 * addrs. Returns the number of collisions met (for tests). */
size_t tr_ring_fill(uint32_t *ring, uint32_t points, const struct tr_ring_entry *addrs, size_t n);
/* The ring position of a hash key (Kong's get_continuum_index, 0-based). */
uint32_t tr_ring_position(const char *key, size_t len, uint32_t points);

#endif
