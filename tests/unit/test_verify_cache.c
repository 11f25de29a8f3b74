/* SPDX-License-Identifier: MIT */
/* basic-auth's verification cache (plugins/verify_cache.h): a digest that shares a set with a
 * cached success, as a wrong password can, must not pass for it; keys that share a set all stay
 * until the set is full, and then the soonest to expire goes first. */
#include <string.h>

#include "check.h"
#include "plugins/verify_cache.h"

static struct tr_verified table[TR_VERIFY_CACHE_SLOTS];

/* A digest in alice's set (the same first four bytes) that differs in its last byte. */
static void neighbour(unsigned char *out, const unsigned char *of, unsigned char last)
{
    memcpy(out, of, TR_VERIFY_DIGEST_LEN);
    out[TR_VERIFY_DIGEST_LEN - 1] = last;
}

int main(void)
{
    unsigned char alice[TR_VERIFY_DIGEST_LEN], guess[TR_VERIFY_DIGEST_LEN];
    memset(alice, 0xA1, sizeof(alice));
    neighbour(guess, alice, 0xA0); /* another user's wrong password, in the same set */

    TR_CHECK(!tr_verify_cache_has(table, alice, 1000)); /* empty */
    tr_verify_cache_put(table, alice, 5000);
    TR_CHECK(tr_verify_cache_has(table, alice, 1000));
    TR_CHECK(!tr_verify_cache_has(table, guess, 1000)); /* same set, not the same digest */
    TR_CHECK(!tr_verify_cache_has(table, alice, 5000)); /* expired */

    /* The guess shares alice's set and both stay. */
    tr_verify_cache_put(table, guess, 9000);
    TR_CHECK(tr_verify_cache_has(table, guess, 1000));
    TR_CHECK(tr_verify_cache_has(table, alice, 1000));

    /* Putting alice again refreshes her entry, it does not take a second way. */
    tr_verify_cache_put(table, alice, 7000);
    TR_CHECK(tr_verify_cache_has(table, alice, 6000));

    /* Fill the set: two more neighbours (expiring later than alice) leave all four there. */
    unsigned char n1[TR_VERIFY_DIGEST_LEN], n2[TR_VERIFY_DIGEST_LEN], n3[TR_VERIFY_DIGEST_LEN];
    neighbour(n1, alice, 0x01);
    neighbour(n2, alice, 0x02);
    neighbour(n3, alice, 0x03);
    tr_verify_cache_put(table, n1, 8000);
    tr_verify_cache_put(table, n2, 8500);
    TR_CHECK(tr_verify_cache_has(table, alice, 1000) && tr_verify_cache_has(table, guess, 1000));
    TR_CHECK(tr_verify_cache_has(table, n1, 1000) && tr_verify_cache_has(table, n2, 1000));
    /* A fifth evicts the soonest to expire (alice, 7000), and only it. */
    tr_verify_cache_put(table, n3, 9500);
    TR_CHECK(!tr_verify_cache_has(table, alice, 1000));
    TR_CHECK(tr_verify_cache_has(table, n3, 1000) && tr_verify_cache_has(table, guess, 1000));
    TR_CHECK(tr_verify_cache_has(table, n1, 1000) && tr_verify_cache_has(table, n2, 1000));

    /* Another set is untouched. */
    unsigned char other[TR_VERIFY_DIGEST_LEN];
    memset(other, 0x05, sizeof(other));
    TR_CHECK(!tr_verify_cache_has(table, other, 1000));
    return TR_CHECK_DONE();
}
