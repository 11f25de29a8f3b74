/* SPDX-License-Identifier: MIT */
/* libFuzzer entry point for the URL helpers: parse, normalize (both escaped-slash modes) and
 * join on arbitrary bytes, checking that a normalized path is stable and well-formed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "http/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tr_str in = {(const char *)data, size};
    struct tr_url url;
    if (tr_url_parse(in, &url) == 0) {
        if (url.host.len == 0 || url.port == 0)
            abort();
        if (url.path.len > 0 && url.path.ptr[0] != '/')
            abort();
    }

    char *out = malloc(size + 1);
    char *again = malloc(size + 1);
    for (int reject = 0; reject < 2; reject++) {
        int rc = tr_url_normalize_path(in, reject, out, size + 1);
        if (rc == 0 || (rc > 0 && ((size_t)rc > size || out[0] != '/')))
            abort();
        if (rc > 0) {
            if (memmem(out, (size_t)rc, "//", 2) || memmem(out, (size_t)rc, "/../", 4) ||
                memmem(out, (size_t)rc, "/./", 3))
                abort();
            int rc2 = tr_url_normalize_path((struct tr_str){out, (size_t)rc}, reject, again,
                                            (size_t)rc + 1);
            if (rc2 != rc || memcmp(out, again, (size_t)rc) != 0)
                abort();
        }
    }

    /* join: split the input in three parts at the first two NUL bytes */
    struct tr_str parts[3] = {TR_STR_NULL, TR_STR_NULL, TR_STR_NULL};
    size_t start = 0, n = 0;
    for (size_t i = 0; i <= size && n < 3; i++) {
        if (i == size || (data[i] == 0 && n < 2)) {
            parts[n++] = (struct tr_str){(const char *)data + start, i - start};
            start = i + 1;
        }
    }
    size_t cap = size + 2;
    char *joined = malloc(cap);
    int rc = tr_url_join_upstream_path(parts[0], parts[1], parts[2], joined, cap);
    if (rc <= 0 || (size_t)rc > cap || joined[0] != '/')
        abort();
    free(joined);
    free(out);
    free(again);
    return 0;
}
