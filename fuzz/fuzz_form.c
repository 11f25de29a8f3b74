/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the form/query-string helpers plugins use (key_in_query, key_in_body,
 * the OAuth 2.0 endpoints): walk every pair of the input, decode each key and value into a
 * buffer of exactly the promised size, and check that every slice lies inside the input, that
 * the walk ends, and that decoding never grows. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "http/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_slice(struct tr_str s, const char *base, size_t size)
{
    if (s.len > 0 && (s.ptr < base || s.ptr + s.len > base + size))
        __builtin_trap();
}

static void decode(struct tr_str s)
{
    char *out = malloc(s.len ? s.len : 1);
    size_t n = tr_form_decode(s, out);
    if (n > s.len)
        __builtin_trap();
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *base = (const char *)data;
    struct tr_str rest = {base, size}, key, value;
    size_t pairs = 0;
    while (tr_form_next(&rest, &key, &value)) {
        if (++pairs > size)
            __builtin_trap(); /* every pair uses at least one byte */
        check_slice(key, base, size);
        check_slice(value, base, size);
        check_slice(rest, base, size);
        decode(key);
        decode(value);
    }
    (void)tr_form_is_urlencoded((struct tr_str){base, size});
    return 0;
}
