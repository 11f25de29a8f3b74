/* SPDX-License-Identifier: MIT */
/* core/buf.h: growth, the hard maximum, consuming from the front, reading into the tail,
 * detaching, and vectors on the heap and in an arena. */
#include "core/buf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/arena.h"
#include "core/err.h"

static void test_growth(void)
{
    struct tr_buf b;
    tr_buf_init(&b, SIZE_MAX);
    TR_CHECK(b.ptr == NULL);
    TR_CHECK_INT(b.len, 0);
    TR_CHECK_INT(tr_buf_append(&b, "hello", 5), 0);
    TR_CHECK_INT(b.len, 5);
    TR_CHECK(b.cap >= 5);
    TR_CHECK(memcmp(b.ptr, "hello", 5) == 0);
    /* Many small appends: the capacity doubles, never shrinks, the bytes stay in order. */
    size_t last_cap = b.cap;
    unsigned reallocs = 0;
    bool ok = true;
    for (int i = 0; i < 10000; i++) {
        char ch = (char)('a' + i % 26);
        ok = ok && tr_buf_append(&b, &ch, 1) == 0;
        if (b.cap != last_cap) {
            ok = ok && b.cap >= 2 * last_cap;
            last_cap = b.cap;
            reallocs++;
        }
    }
    TR_CHECK(ok);
    TR_CHECK_INT(b.len, 10005);
    TR_CHECK(reallocs < 10);
    TR_CHECK(b.ptr[5] == 'a' && b.ptr[10004] == (char)('a' + 9999 % 26));
    /* Reserve guarantees room without adding bytes. */
    TR_CHECK_INT(tr_buf_reserve(&b, 100000), 0);
    TR_CHECK(tr_buf_room(&b) >= 100000);
    TR_CHECK_INT(b.len, 10005);
    /* An empty append is fine. */
    TR_CHECK_INT(tr_buf_append(&b, NULL, 0), 0);
    tr_buf_free(&b);
    TR_CHECK(b.ptr == NULL);
    TR_CHECK_INT(b.len, 0);
    TR_CHECK_INT(b.cap, 0);
}

static void test_max(void)
{
    struct tr_buf b;
    tr_buf_init(&b, 1000);
    char block[600];
    memset(block, 'x', sizeof(block));
    TR_CHECK_INT(tr_buf_append(&b, block, 600), 0);
    /* Past the maximum: refused, and the buffer is untouched. */
    size_t cap = b.cap;
    TR_CHECK_INT(tr_buf_append(&b, block, 401), TR_ETOOLARGE);
    TR_CHECK_INT(b.len, 600);
    TR_CHECK_INT(b.cap, cap);
    TR_CHECK_INT(tr_buf_reserve(&b, 401), TR_ETOOLARGE);
    /* Exactly up to it is fine; the capacity never passes it. */
    TR_CHECK_INT(tr_buf_append(&b, block, 400), 0);
    TR_CHECK_INT(b.len, 1000);
    TR_CHECK(b.cap <= 1000);
    TR_CHECK(tr_buf_full(&b));
    TR_CHECK_INT(tr_buf_append(&b, block, 1), TR_ETOOLARGE);
    TR_CHECK_INT(tr_buf_reserve(&b, 0), 0);
    /* A reserve larger than the whole maximum is refused outright. */
    struct tr_buf small;
    tr_buf_init(&small, 16);
    TR_CHECK_INT(tr_buf_reserve(&small, 17), TR_ETOOLARGE);
    TR_CHECK(small.ptr == NULL);
    TR_CHECK_INT(tr_buf_reserve(&small, 16), 0);
    TR_CHECK_INT(small.cap, 16); /* the first allocation is clamped to the maximum */
    TR_CHECK(SIZE_MAX - 1 > 16 && tr_buf_reserve(&small, SIZE_MAX) == TR_ETOOLARGE);
    tr_buf_free(&small);
    tr_buf_free(&b);
}

static void test_doubling_clamped(void)
{
    /* Doubling that would pass the maximum stops at the maximum (a read buffer reaches its
     * full size rather than an odd one). */
    struct tr_buf b;
    tr_buf_init(&b, 3000);
    TR_CHECK_INT(tr_buf_reserve(&b, 1024), 0);
    TR_CHECK_INT(b.cap, 1024);
    tr_buf_commit(&b, 1024);
    TR_CHECK_INT(tr_buf_reserve(&b, 1024), 0);
    TR_CHECK_INT(b.cap, 2048);
    tr_buf_commit(&b, 1024);
    TR_CHECK_INT(tr_buf_reserve(&b, 100), 0);
    TR_CHECK_INT(b.cap, 3000);
    tr_buf_free(&b);
}

static void test_consume(void)
{
    struct tr_buf b;
    tr_buf_init(&b, 64);
    TR_CHECK_INT(tr_buf_append(&b, "GET / HTTP/1.1\r\n\r\nnext", 22), 0);
    tr_buf_consume(&b, 18);
    TR_CHECK_INT(b.len, 4);
    TR_CHECK(memcmp(b.ptr, "next", 4) == 0);
    tr_buf_consume(&b, 0);
    TR_CHECK_INT(b.len, 4);
    tr_buf_consume(&b, 4);
    TR_CHECK_INT(b.len, 0);
    /* Consuming frees room up to the maximum again. */
    char block[64];
    memset(block, 'y', sizeof(block));
    TR_CHECK_INT(tr_buf_append(&b, block, 64), 0);
    TR_CHECK(tr_buf_full(&b));
    tr_buf_consume(&b, 10);
    TR_CHECK(!tr_buf_full(&b));
    TR_CHECK_INT(tr_buf_append(&b, block, 10), 0);
    TR_CHECK_INT(b.len, 64);
    tr_buf_free(&b);
}

static void test_tail_and_detach(void)
{
    struct tr_buf b;
    tr_buf_init(&b, 4096);
    TR_CHECK_INT(tr_buf_reserve(&b, 100), 0);
    TR_CHECK(tr_buf_room(&b) >= 100);
    memcpy(tr_buf_tail(&b), "abc", 3); /* as a socket read would */
    tr_buf_commit(&b, 3);
    TR_CHECK_INT(b.len, 3);
    TR_CHECK_INT(tr_buf_append(&b, "def", 3), 0);
    size_t len = 0;
    char *p = tr_buf_detach(&b, &len);
    TR_CHECK_INT(len, 6);
    TR_CHECK(p != NULL && memcmp(p, "abcdef", 6) == 0);
    TR_CHECK(b.ptr == NULL);
    TR_CHECK_INT(b.len, 0);
    TR_CHECK_INT(b.max, 4096);
    free(p);
    /* Nothing ever added: NULL. */
    p = tr_buf_detach(&b, &len);
    TR_CHECK(p == NULL);
    TR_CHECK_INT(len, 0);
}

struct pair {
    int a;
    double b;
};

static void test_vector(void)
{
    TR_VECTOR(struct pair) v = {0};
    for (int i = 0; i < 1000; i++) {
        struct pair *p = tr_vector_push(NULL, &v);
        p->a = i;
        p->b = i * 0.5;
    }
    TR_CHECK_INT(v.cnt, 1000);
    TR_CHECK(v.cap >= 1000);
    int ok = 1;
    for (int i = 0; i < 1000; i++)
        ok = ok && v.items[i].a == i && v.items[i].b == i * 0.5;
    TR_CHECK(ok);
    /* Reserve ahead: no reallocation for the items that fit. */
    TR_VECTOR(char *) s = {0};
    tr_vector_reserve(NULL, &s, 40);
    TR_CHECK(s.cap >= 40);
    TR_CHECK_INT(s.cnt, 0);
    char **first = s.items;
    for (int i = 0; i < 40; i++)
        *tr_vector_push(NULL, &s) = NULL;
    TR_CHECK(s.items == first);
    size_t cap = s.cap;
    tr_vector_reserve(NULL, &s, 10); /* smaller than what it has: nothing happens */
    TR_CHECK_INT(s.cap, cap);
    tr_vector_free(&s);
    TR_CHECK(s.items == NULL);
    TR_CHECK_INT(s.cnt, 0);
    tr_vector_free(&v);

    /* In an arena: the old arrays stay the arena's, the items are copied over. */
    struct tr_arena arena = {0};
    TR_VECTOR(int) a = {0};
    for (int i = 0; i < 100; i++)
        *tr_vector_push(&arena, &a) = i * i;
    TR_CHECK_INT(a.cnt, 100);
    TR_CHECK_INT(a.items[0], 0);
    TR_CHECK_INT(a.items[99], 99 * 99);
    tr_arena_reset(&arena);
}

int main(void)
{
    test_growth();
    test_max();
    test_doubling_clamped();
    test_consume();
    test_tail_and_detach();
    test_vector();
    return TR_CHECK_DONE();
}
