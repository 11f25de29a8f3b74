/* SPDX-License-Identifier: MIT */
/* Tiny assertion helpers for the unit tests: each failed check prints file, line and both
 * operands; TR_CHECK_DONE() prints the "N passed, N failed" line and returns the exit code. */
#ifndef TR_TESTS_CHECK_H
#define TR_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

static int tr_check_passed, tr_check_failed;

#define TR_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (cond) {                                                                                \
            tr_check_passed++;                                                                     \
        } else {                                                                                   \
            tr_check_failed++;                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define TR_CHECK_INT(a, b)                                                                         \
    do {                                                                                           \
        long long tr_a_ = (long long)(a), tr_b_ = (long long)(b);                                  \
        if (tr_a_ == tr_b_) {                                                                      \
            tr_check_passed++;                                                                     \
        } else {                                                                                   \
            tr_check_failed++;                                                                     \
            fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, tr_a_,  \
                    tr_b_);                                                                        \
        }                                                                                          \
    } while (0)

#define TR_CHECK_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *tr_a_ = (a), *tr_b_ = (b);                                                     \
        if (tr_a_ && tr_b_ && strcmp(tr_a_, tr_b_) == 0) {                                         \
            tr_check_passed++;                                                                     \
        } else {                                                                                   \
            tr_check_failed++;                                                                     \
            fprintf(stderr, "%s:%d: %s == %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b,     \
                    tr_a_ ? tr_a_ : "(null)", tr_b_ ? tr_b_ : "(null)");                           \
        }                                                                                          \
    } while (0)

/* Compare a (ptr, len) slice with a C string. */
#define TR_CHECK_SLICE(s, cstr)                                                                    \
    do {                                                                                           \
        const char *tr_c_ = (cstr);                                                                \
        size_t tr_l_ = strlen(tr_c_);                                                              \
        if ((s).len == tr_l_ && memcmp((s).ptr, tr_c_, tr_l_) == 0) {                              \
            tr_check_passed++;                                                                     \
        } else {                                                                                   \
            tr_check_failed++;                                                                     \
            fprintf(stderr, "%s:%d: %s == \"%s\": got \"%.*s\"\n", __FILE__, __LINE__, #s, tr_c_,  \
                    (int)(s).len, (s).ptr ? (s).ptr : "");                                         \
        }                                                                                          \
    } while (0)

#define TR_CHECK_DONE()                                                                            \
    (printf("%d passed, %d failed\n", tr_check_passed, tr_check_failed), tr_check_failed ? 1 : 0)

#endif
