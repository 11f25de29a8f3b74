/* SPDX-License-Identifier: MIT */
/* Consistent-hashing's ring, filled as Kong 3.9 fills its continuum (afterHostUpdate in
 * kong/runloop/balancer/consistent_hashing.lua), and the XXH32 hash it keys on. */
#include "balancer/ring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define P1 0x9E3779B1u
#define P2 0x85EBCA77u
#define P3 0xC2B2AE3Du
#define P4 0x27D4EB2Fu
#define P5 0x165667B1u

static uint32_t rotl(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static uint32_t read32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t round32(uint32_t acc, uint32_t in)
{
    return rotl(acc + in * P2, 13) * P1;
}

uint32_t tr_xxh32(const void *data, size_t len, uint32_t seed)
{
    const unsigned char *p = data, *end = p + len;
    uint32_t h;
    if (len >= 16) {
        uint32_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        for (; end - p >= 16; p += 16) {
            v1 = round32(v1, read32(p));
            v2 = round32(v2, read32(p + 4));
            v3 = round32(v3, read32(p + 8));
            v4 = round32(v4, read32(p + 12));
        }
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
    } else {
        h = seed + P5;
    }
    h += (uint32_t)len;
    for (; end - p >= 4; p += 4)
        h = rotl(h + read32(p) * P3, 17) * P4;
    for (; p < end; p++)
        h = rotl(h + *p * P5, 11) * P1;
    h ^= h >> 15;
    h *= P2;
    h ^= h >> 13;
    h *= P3;
    h ^= h >> 16;
    return h;
}

uint32_t tr_ring_points(uint32_t slots)
{
    return slots >= TR_RING_MIN_POINTS ? slots : TR_RING_MIN_POINTS;
}

uint32_t tr_ring_position(const char *key, size_t len, uint32_t points)
{
    return tr_xxh32(key ? key : "", key ? len : 0, 0) % points;
}

/* Kong sorts targets by name then numeric port, and a target's addresses by "ip:port". */
struct order {
    const char *name;
    size_t name_len;
    unsigned long port;
    char addr[300];
    size_t index;
};

static void split_target(const char *t, struct order *o)
{
    const char *colon = strrchr(t, ':');
    o->name = t;
    o->name_len = strlen(t);
    o->port = 0;
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
        o->name_len = (size_t)(colon - t);
        o->port = strtoul(colon + 1, NULL, 10);
    }
}

static int order_cmp(const void *pa, const void *pb)
{
    const struct order *a = pa, *b = pb;
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->name, b->name, n);
    if (c == 0 && a->name_len != b->name_len)
        c = a->name_len < b->name_len ? -1 : 1;
    if (c == 0 && a->port != b->port)
        c = a->port < b->port ? -1 : 1;
    if (c == 0)
        c = strcmp(a->addr, b->addr);
    if (c == 0)
        c = a->index < b->index ? -1 : a->index > b->index;
    return c;
}

size_t tr_ring_fill(uint32_t *ring, uint32_t points, const struct tr_ring_entry *addrs, size_t n)
{
    for (uint32_t i = 0; i < points; i++)
        ring[i] = TR_RING_EMPTY;
    if (n == 0)
        return 0;

    struct order *ord = tr_xcalloc(n, sizeof(*ord));
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        split_target(addrs[i].target ? addrs[i].target : "", &ord[i]);
        snprintf(ord[i].addr, sizeof(ord[i].addr), "%s:%u", addrs[i].host, addrs[i].port);
        ord[i].index = i;
        total += addrs[i].weight;
    }
    qsort(ord, n, sizeof(*ord), order_cmp);
    size_t targets = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || ord[i].name_len != ord[i - 1].name_len ||
            memcmp(ord[i].name, ord[i - 1].name, ord[i].name_len) != 0 ||
            ord[i].port != ord[i - 1].port)
            targets++;
    }

    /* Kong's entry counts; when they would fill more than 90 % of the ring (Kong gives up when
     * the ring is full), all are scaled down alike so every address keeps a share */
    uint64_t *entries = tr_xcalloc(n, sizeof(*entries));
    uint64_t sum = 0;
    for (size_t k = 0; k < n && total > 0; k++) {
        const struct tr_ring_entry *a = &addrs[ord[k].index];
        double prop = a->weight / total;
        entries[k] = (uint64_t)(prop * (double)targets * TR_RING_SERVER_POINTS);
        if (a->weight > 0 && entries[k] == 0)
            entries[k] = 1;
        sum += entries[k];
    }
    uint64_t room = (uint64_t)points * 9 / 10;
    if (sum > room) {
        for (size_t k = 0; k < n; k++) {
            uint64_t e = entries[k] * room / sum;
            entries[k] = entries[k] && !e ? 1 : e;
        }
    }

    size_t collisions = 0, filled = 0;
    for (size_t k = 0; k < n && filled < points; k++) {
        const struct tr_ring_entry *a = &addrs[ord[k].index];
        uint64_t want = entries[k];
        for (uint64_t i = 1; i <= want && filled < points; i++) {
            char name[320];
            int len = snprintf(name, sizeof(name), "%s::%u %llu", a->host, a->port,
                               (unsigned long long)i);
            if (len < 0 || (size_t)len >= sizeof(name))
                len = (int)sizeof(name) - 1;
            uint32_t pos = tr_ring_position(name, (size_t)len, points);
            if (ring[pos] == TR_RING_EMPTY) {
                ring[pos] = (uint32_t)ord[k].index;
                filled++;
            } else {
                want++; /* Kong: "move the problem forward" */
                collisions++;
            }
        }
    }
    free(entries);
    free(ord);
    return collisions;
}
