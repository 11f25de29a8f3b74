/* SPDX-License-Identifier: MIT */
/* The small shared helpers of core/ and http/form.h that several modules lean on: the list
 * splitter, the hash, and the strict percent-decoder. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/str.h"
#include "core/uuid.h"
#include "http/form.h"

/* The items of list, joined with '|' (empty items show as nothing between bars). */
static const char *items(const char *list)
{
    static char out[256];
    struct tr_str rest = tr_str_from_cstr(list), item;
    size_t n = 0;
    bool first = true;
    while (tr_str_next_item(&rest, ',', &item)) {
        if (!first)
            out[n++] = '|';
        memcpy(out + n, item.ptr, item.len);
        n += item.len;
        first = false;
    }
    out[n] = '\0';
    return out;
}

static void test_next_item(void)
{
    TR_CHECK_STR(items("a,b,c"), "a|b|c");
    TR_CHECK_STR(items(" a , b\t,c "), "a|b|c");
    TR_CHECK_STR(items("a,,b"), "a||b");
    TR_CHECK_STR(items("a,"), "a|");
    TR_CHECK_STR(items(",a"), "|a");
    TR_CHECK_STR(items(""), "");
    TR_CHECK_STR(items("   "), "");
    TR_CHECK_STR(items("single"), "single");
    struct tr_str rest = TR_STR_LIT("x"), item;
    TR_CHECK(tr_str_next_item(&rest, ',', &item));
    TR_CHECK(rest.ptr == NULL);
    TR_CHECK(!tr_str_next_item(&rest, ',', &item));
    rest = TR_STR_LIT("a;b");
    TR_CHECK(tr_str_next_item(&rest, ';', &item) && item.len == 1 && item.ptr[0] == 'a');
}

static void test_hash(void)
{
    /* FNV-1a of "" is the seed; the finaliser never gives 0. */
    TR_CHECK(tr_hash_update(TR_HASH_SEED, "", 0) == TR_HASH_SEED);
    TR_CHECK(tr_hash("abc", 3) == tr_hash("abc", 3));
    TR_CHECK(tr_hash("abc", 3) != tr_hash("abd", 3));
    TR_CHECK(tr_hash_final(0) != 0);
    /* Hashing in pieces equals hashing at once. */
    uint64_t h = tr_hash_update(tr_hash_update(TR_HASH_SEED, "ab", 2), "c", 1);
    TR_CHECK(tr_hash_final(h) == tr_hash("abc", 3));
    /* Known FNV-1a 64 value (the counters stored in the database depend on it). */
    TR_CHECK(tr_hash_update(TR_HASH_SEED, "a", 1) == 0xaf63dc4c8601ec8cull);
}

static void test_pct_strict(void)
{
    char out[64];
    TR_CHECK_INT(tr_pct_decode_strict(TR_STR_LIT("a%20b+c"), out), 5);
    TR_CHECK(memcmp(out, "a b+c", 5) == 0);
    TR_CHECK_INT(tr_pct_decode_strict(TR_STR_LIT("%41%4a%4A"), out), 3);
    TR_CHECK(memcmp(out, "AJJ", 3) == 0);
    TR_CHECK_INT(tr_pct_decode_strict(TR_STR_LIT("%00"), out), 1);
    TR_CHECK_INT(out[0], 0);
    TR_CHECK_INT(tr_pct_decode_strict(TR_STR_LIT("%"), out), TR_EINVAL);
    TR_CHECK_INT(tr_pct_decode_strict(TR_STR_LIT("%4"), out), TR_EINVAL);
    TR_CHECK_INT(tr_pct_decode_strict(TR_STR_LIT("%zz"), out), TR_EINVAL);
    TR_CHECK_INT(tr_pct_decode_strict(TR_STR_LIT("ab%"), out), TR_EINVAL);
    TR_CHECK_INT(tr_pct_decode_strict(TR_STR_LIT(""), out), 0);
    /* The form decoder is lenient where this one is strict. */
    TR_CHECK_INT(tr_form_decode(TR_STR_LIT("a%zz+"), out), 5);
    TR_CHECK(memcmp(out, "a%zz ", 5) == 0);
}

/* RFC 4122 name-based ids: the vectors Python's uuid.uuid5 gives. */
static void test_uuid_v5(void)
{
    char out[TR_UUID_LEN + 1];
    TR_CHECK(tr_uuid_v5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", TR_STR_LIT("python.org"), out) ==
             0);
    TR_CHECK(strcmp(out, "886313e1-3b8a-5372-9b90-0c9aee199e5d") == 0);
    TR_CHECK(tr_uuid_v5("6BA7B811-9DAD-11D1-80B4-00C04FD430C8", TR_STR_LIT("http://a/"), out) == 0);
    char again[TR_UUID_LEN + 1];
    TR_CHECK(tr_uuid_v5("6ba7b811-9dad-11d1-80b4-00c04fd430c8", TR_STR_LIT("http://a/"), again) ==
             0);
    TR_CHECK(strcmp(out, again) == 0 && out[14] == '5');
    TR_CHECK(tr_uuid_v5("not-a-uuid", TR_STR_LIT("x"), out) == TR_EINVAL && out[0] == '\0');
}

int main(void)
{
    test_uuid_v5();
    test_next_item();
    test_hash();
    test_pct_strict();
    return TR_CHECK_DONE();
}
