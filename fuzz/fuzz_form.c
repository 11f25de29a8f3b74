/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the form/query-string helpers plugins use (key_in_query, key_in_body,
 * the OAuth 2.0 endpoints): walk every pair of the input, decode each key and value into a
 * buffer of exactly the promised size, and check that every slice lies inside the input, that
 * the walk ends, and that decoding never grows. hide_credentials' removal: each key matches its
 * own decoding, and removing it leaves no pair that matches, in no more bytes; the JSON member
 * walk over the same bytes stays inside its buffers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "http/form.h"
#include "http/json_members.h"

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

/* Remove key (by its decoded name) from form: nothing left may match it. */
static void check_removal(struct tr_str form, struct tr_str key)
{
    char *name = malloc(key.len ? key.len : 1);
    struct tr_str nm = {name, tr_form_decode(key, name)};
    if (!tr_form_key_eq(key, nm))
        __builtin_trap();
    char *out = malloc(form.len ? form.len : 1);
    bool removed = false;
    struct tr_str rest = {out, tr_form_remove(form, &nm, 1, out, &removed)}, k, v;
    if (rest.len > form.len || (key.len > 0 && !removed))
        __builtin_trap();
    while (tr_form_next(&rest, &k, &v)) {
        if (tr_form_key_eq(k, nm))
            __builtin_trap();
    }
    free(out);
    free(name);
}

static void check_json(struct tr_str json)
{
    char *out = malloc(json.len ? json.len : 1);
    size_t n = 0, count = 0;
    if (tr_json_members_remove(json, TR_STR_LIT("apikey"), out, &n, &count) == 0 && n > json.len)
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
        check_removal((struct tr_str){base, size}, key);
    }
    check_json((struct tr_str){base, size});
    (void)tr_form_is_urlencoded((struct tr_str){base, size});
    return 0;
}
