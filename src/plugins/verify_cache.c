/* SPDX-License-Identifier: MIT */
/* The verification cache's slots and compare (verify_cache.h). */
#include "plugins/verify_cache.h"

#include <string.h>

#include <openssl/crypto.h>

static uint32_t slot_of(const unsigned char *digest)
{
    uint32_t h = (uint32_t)digest[0] | (uint32_t)digest[1] << 8 | (uint32_t)digest[2] << 16 |
                 (uint32_t)digest[3] << 24;
    return h % TR_VERIFY_CACHE_SLOTS;
}

bool tr_verify_cache_has(const struct tr_verified *table, const unsigned char *digest,
                         uint64_t now_ms)
{
    const struct tr_verified *v = &table[slot_of(digest)];
    return v->expires_ms > now_ms && CRYPTO_memcmp(v->digest, digest, TR_VERIFY_DIGEST_LEN) == 0;
}

void tr_verify_cache_put(struct tr_verified *table, const unsigned char *digest,
                         uint64_t expires_ms)
{
    struct tr_verified *v = &table[slot_of(digest)];
    memcpy(v->digest, digest, TR_VERIFY_DIGEST_LEN);
    v->expires_ms = expires_ms;
}
