/* SPDX-License-Identifier: MIT */
/* libFuzzer target for multipart/form-data (http/multipart.h, read by the OAuth 2.0
 * endpoints): the first line of the input is the Content-Type value, the rest the body. Every
 * name and value must lie inside the body, the walk must end, and each part must consume
 * body bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_slice(struct tr_str s, struct tr_str body)
{
    if (s.len > 0 && (s.ptr < body.ptr || s.ptr + s.len > body.ptr + body.len))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *base = (const char *)data;
    const char *nl = memchr(base, '\n', size);
    size_t ct_len = nl ? (size_t)(nl - base) : size;
    struct tr_str ct = {base, ct_len};
    struct tr_str body = nl ? (struct tr_str){nl + 1, size - ct_len - 1} : TR_STR_NULL;
    struct tr_multipart m;
    if (!tr_multipart_begin(&m, ct, body))
        return 0;
    struct tr_str name, value;
    size_t parts = 0;
    while (tr_multipart_next(&m, &name, &value) == 1) {
        if (++parts > body.len)
            __builtin_trap();
        check_slice(name, body);
        check_slice(value, body);
    }
    /* hide_credentials' removal: never longer, and no part of that name left. */
    char *out = malloc(body.len ? body.len : 1);
    bool removed;
    struct tr_str rest = {out,
                          tr_multipart_remove(ct, body, TR_STR_LIT("access_token"), out, &removed)},
                  v;
    if (rest.len > body.len || tr_multipart_arg(ct, rest, TR_STR_LIT("access_token"), &v))
        __builtin_trap();
    free(out);
    return 0;
}
