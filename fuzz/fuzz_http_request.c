/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the request-head parser and the chunked decoder: besides memory errors
 * it traps when a prefix of the input disagrees with the whole input (P1 incrementality). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "http/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tr_http_request req;
    const char *buf = (const char *)data;
    int rc = tr_http_parse_request(buf, size, NULL, &req);
    size_t half = size / 2;
    char *copy = malloc(half ? half : 1);
    int prc;

    /* A prefix gives TR_EAGAIN or exactly the verdict of the whole input. */
    memcpy(copy, buf, half);
    prc = tr_http_parse_request(copy, half, NULL, &req);
    free(copy);
    if (prc != TR_EAGAIN && prc != rc)
        __builtin_trap();
    rc = tr_http_parse_request(buf, size, NULL, &req);
    if (rc > 0 && ((size_t)rc > size || req.num_headers > 100))
        __builtin_trap();
    if (rc > 0 && req.body == TR_HTTP_BODY_CHUNKED) {
        struct tr_http_chunked dec;
        struct tr_str out;
        size_t pos = (size_t)rc, used;
        tr_http_chunked_init(&dec);
        /* Feed the body in two pieces to exercise resumption. */
        for (int piece = 0; piece < 2; piece++) {
            size_t end = piece == 0 ? pos + (size - pos) / 2 : size;
            while (pos < end &&
                   (rc = tr_http_chunked_parse(&dec, buf + pos, end - pos, &used, &out)) >= 0) {
                if (used > end - pos || (rc == 1 && out.ptr + out.len > buf + end))
                    __builtin_trap();
                pos += used;
                if (rc != 1)
                    break;
            }
        }
    }
    return 0;
}
