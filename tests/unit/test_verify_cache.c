/* SPDX-License-Identifier: MIT */
/* basic-auth's verification cache (plugins/verify_cache.h): a digest that shares a slot with a
 * cached success, as a wrong password can, must not pass for it. */
#include <string.h>

#include "check.h"
#include "plugins/verify_cache.h"

static struct tr_verified table[TR_VERIFY_CACHE_SLOTS];

int main(void)
{
    unsigned char alice[TR_VERIFY_DIGEST_LEN], guess[TR_VERIFY_DIGEST_LEN];
    memset(alice, 0xA1, sizeof(alice));
    /* The same first four bytes (the slot), another digest: another user's wrong password. */
    memcpy(guess, alice, sizeof(guess));
    guess[31] ^= 0x01;

    TR_CHECK(!tr_verify_cache_has(table, alice, 1000)); /* empty */
    tr_verify_cache_put(table, alice, 5000);
    TR_CHECK(tr_verify_cache_has(table, alice, 1000));
    TR_CHECK(!tr_verify_cache_has(table, guess, 1000)); /* same slot, not the same digest */
    TR_CHECK(!tr_verify_cache_has(table, alice, 5000)); /* expired */

    /* The guess evicts alice from the slot: alice is then unknown, not confused with it. */
    tr_verify_cache_put(table, guess, 9000);
    TR_CHECK(tr_verify_cache_has(table, guess, 1000));
    TR_CHECK(!tr_verify_cache_has(table, alice, 1000));

    /* Another slot is untouched. */
    unsigned char other[TR_VERIFY_DIGEST_LEN];
    memset(other, 0x05, sizeof(other));
    TR_CHECK(!tr_verify_cache_has(table, other, 1000));
    return TR_CHECK_DONE();
}
