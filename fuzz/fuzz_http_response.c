/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the upstream response-head parser: memory errors, and a trap when a
 * prefix of the input disagrees with the whole input. The first byte picks HEAD or not. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "http/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tr_http_response res;
    bool is_head;
    const char *buf;
    size_t half;
    char *copy;
    int rc, prc;

    if (size == 0)
        return 0;
    is_head = data[0] == 'H';
    buf = (const char *)data + 1;
    size--;
    rc = tr_http_parse_response(buf, size, NULL, is_head, &res);
    if (rc > 0 && ((size_t)rc > size || res.status < 100 || res.status > 599))
        __builtin_trap();
    half = size / 2;
    copy = malloc(half ? half : 1);
    memcpy(copy, buf, half);
    prc = tr_http_parse_response(copy, half, NULL, is_head, &res);
    free(copy);
    if (prc != TR_EAGAIN && prc != rc)
        __builtin_trap();
    return 0;
}
