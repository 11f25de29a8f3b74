/* SPDX-License-Identifier: MIT */
/* The verification cache's sets, ways and compare (verify_cache.h). */
#include "plugins/verify_cache.h"

#include <string.h>

#include <openssl/crypto.h>

#define SETS (TR_VERIFY_CACHE_SLOTS / TR_VERIFY_CACHE_WAYS)

static struct tr_verified *set_of(const struct tr_verified *table, const unsigned char *digest)
{
    uint32_t h = (uint32_t)digest[0] | (uint32_t)digest[1] << 8 | (uint32_t)digest[2] << 16 |
                 (uint32_t)digest[3] << 24;
    return (struct tr_verified *)&table[(h % SETS) * TR_VERIFY_CACHE_WAYS];
}

static bool same(const struct tr_verified *v, const unsigned char *digest)
{
    return CRYPTO_memcmp(v->digest, digest, TR_VERIFY_DIGEST_LEN) == 0;
}

bool tr_verify_cache_has(const struct tr_verified *table, const unsigned char *digest,
                         uint64_t now_ms)
{
    const struct tr_verified *set = set_of(table, digest);
    bool hit = false;
    for (unsigned w = 0; w < TR_VERIFY_CACHE_WAYS; w++) /* every way: the time says nothing */
        hit |= set[w].expires_ms > now_ms && same(&set[w], digest);
    return hit;
}

void tr_verify_cache_put(struct tr_verified *table, const unsigned char *digest,
                         uint64_t expires_ms)
{
    struct tr_verified *set = set_of(table, digest), *victim = &set[0];
    for (unsigned w = 0; w < TR_VERIFY_CACHE_WAYS; w++) {
        if (same(&set[w], digest)) { /* already here: refresh, never hold it twice */
            victim = &set[w];
            break;
        }
        if (set[w].expires_ms < victim->expires_ms) /* empty (0) or the soonest to expire */
            victim = &set[w];
    }
    memcpy(victim->digest, digest, TR_VERIFY_DIGEST_LEN);
    victim->expires_ms = expires_ms;
}
