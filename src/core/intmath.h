/* SPDX-License-Identifier: MIT */
/* Small integer helpers shared by the balancer and the snapshot builder. */
#ifndef TR_CORE_INTMATH_H
#define TR_CORE_INTMATH_H

#include <stdint.h>

/* Greatest common divisor; tr_gcd(a, 0) is a. */
static inline uint64_t tr_gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

#endif
