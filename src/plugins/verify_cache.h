/* SPDX-License-Identifier: MIT */
/* A set-associative table of recent password verifications (basic-auth's per-worker caches):
 * each entry is the SHA-256 digest of what was verified and when it expires. A digest's first
 * bytes choose a set of TR_VERIFY_CACHE_WAYS entries; a lookup must compare the whole digest,
 * since keys share a set often (256 sets), so a set alone never says "this password was right".
 * A new entry takes the set's empty or soonest-expiring way: a handful of keys that share a set
 * all stay (a direct-mapped table let one evict another by chance). Pure and single-threaded
 * (one table per worker). */
#ifndef TR_PLUGINS_VERIFY_CACHE_H
#define TR_PLUGINS_VERIFY_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#define TR_VERIFY_DIGEST_LEN 32     /* SHA-256 */
#define TR_VERIFY_CACHE_SLOTS 1024u /* entries in all */
#define TR_VERIFY_CACHE_WAYS 4u     /* entries per set */

struct tr_verified {
    unsigned char digest[TR_VERIFY_DIGEST_LEN];
    uint64_t expires_ms; /* 0: empty */
};

/* Is digest in table, unexpired at now_ms? Compares the whole digest in constant time. */
bool tr_verify_cache_has(const struct tr_verified *table, const unsigned char *digest,
                         uint64_t now_ms);
/* Record digest until expires_ms: in place if its set holds it, else in the set's empty or
 * soonest-expiring way. */
void tr_verify_cache_put(struct tr_verified *table, const unsigned char *digest,
                         uint64_t expires_ms);

#endif
