/* SPDX-License-Identifier: MIT */
/* A reference-counted table of compiled regexes keyed by (options, pattern): see
 * regex_cache.h. One mutex guards the table; compiling happens outside it, so a thread that
 * releases an old router never waits for a compile. */
#include "router/regex_cache.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "core/mem.h"

struct tr__re {
    pcre2_code *code;
    struct tr__re *next; /* bucket chain */
    uint64_t hash;
    size_t refs;
    uint32_t options;
    size_t len;
    char pattern[]; /* len bytes */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tr__re **buckets; /* NULL while empty */
static size_t num_buckets;      /* a power of two */
static size_t count;

static uint64_t hash_of(const char *s, size_t len, uint32_t options)
{
    uint64_t h = 1469598103934665603ULL ^ options; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static struct tr__re *find(const char *pattern, size_t len, uint32_t options, uint64_t h)
{
    if (buckets == NULL)
        return NULL;
    for (struct tr__re *e = buckets[h & (num_buckets - 1)]; e; e = e->next)
        if (e->hash == h && e->options == options && e->len == len &&
            memcmp(e->pattern, pattern, len) == 0)
            return e;
    return NULL;
}

static void grow(void)
{
    size_t n = num_buckets ? num_buckets * 2 : 64;
    struct tr__re **b = tr_xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < num_buckets; i++) {
        struct tr__re *e = buckets[i];
        while (e) {
            struct tr__re *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(buckets);
    buckets = b;
    num_buckets = n;
}

struct tr__re *tr__re_get(const char *pattern, size_t len, uint32_t options, void **code,
                          int *errcode, size_t *erroffset)
{
    uint64_t h = hash_of(pattern, len, options);
    pthread_mutex_lock(&lock);
    struct tr__re *e = find(pattern, len, options, h);
    if (e) {
        e->refs++;
        pthread_mutex_unlock(&lock);
        *code = e->code;
        return e;
    }
    pthread_mutex_unlock(&lock);

    PCRE2_SIZE offset = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, len, options, errcode, &offset, NULL);
    if (re == NULL) {
        *erroffset = offset;
        *code = NULL;
        return NULL;
    }
    /* Without JIT (not built in, or out of executable memory) the interpreter still works. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    struct tr__re *fresh = tr_xmalloc(sizeof(*fresh) + len);
    *fresh = (struct tr__re){.code = re, .hash = h, .refs = 1, .options = options, .len = len};
    memcpy(fresh->pattern, pattern, len);

    pthread_mutex_lock(&lock);
    e = find(pattern, len, options, h);
    if (e) { /* another thread compiled it meanwhile: keep theirs */
        e->refs++;
        pthread_mutex_unlock(&lock);
        pcre2_code_free(re);
        free(fresh);
        *code = e->code;
        return e;
    }
    if ((count + 1) > num_buckets)
        grow();
    size_t b = h & (num_buckets - 1);
    fresh->next = buckets[b];
    buckets[b] = fresh;
    count++;
    pthread_mutex_unlock(&lock);
    *code = re;
    return fresh;
}

void tr__re_put(struct tr__re *re)
{
    if (re == NULL)
        return;
    pthread_mutex_lock(&lock);
    if (--re->refs > 0) {
        pthread_mutex_unlock(&lock);
        return;
    }
    struct tr__re **p = &buckets[re->hash & (num_buckets - 1)];
    while (*p != re)
        p = &(*p)->next;
    *p = re->next;
    if (--count == 0) {
        free(buckets);
        buckets = NULL;
        num_buckets = 0;
    }
    pthread_mutex_unlock(&lock);
    pcre2_code_free(re->code);
    free(re);
}

size_t tr__re_cache_count(void)
{
    pthread_mutex_lock(&lock);
    size_t n = count;
    pthread_mutex_unlock(&lock);
    return n;
}
