/* SPDX-License-Identifier: MIT */
/* A direct-mapped table of recent password verifications (basic-auth's per-worker caches):
 * each entry is the SHA-256 digest of what was verified and when it expires. A lookup finds the
 * digest's slot and must compare the whole digest: two keys share a slot often (1024 slots), so
 * a slot alone never says "this password was right". Pure and single-threaded (one table per
 * worker). */
#ifndef TR_PLUGINS_VERIFY_CACHE_H
#define TR_PLUGINS_VERIFY_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#define TR_VERIFY_DIGEST_LEN 32 /* SHA-256 */
#define TR_VERIFY_CACHE_SLOTS 1024u

struct tr_verified {
    unsigned char digest[TR_VERIFY_DIGEST_LEN];
    uint64_t expires_ms; /* 0: empty */
};

/* Is digest in table, unexpired at now_ms? Compares the whole digest in constant time. */
bool tr_verify_cache_has(const struct tr_verified *table, const unsigned char *digest,
                         uint64_t now_ms);
/* Record digest until expires_ms, evicting whatever held its slot. */
void tr_verify_cache_put(struct tr_verified *table, const unsigned char *digest,
                         uint64_t expires_ms);

#endif
