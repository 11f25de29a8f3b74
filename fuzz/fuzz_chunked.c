/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the chunked-body decoder alone: the input (after one byte that picks
 * piece sizes) is decoded once in one piece and once split into small pieces; both runs must
 * agree on the verdict, on the decoded bytes and on where the message ends, every call must
 * make progress, and every data slice must lie inside the piece it was given. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "http/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
    int verdict; /* 0 incomplete, 2 complete, TR_EBADREQ */
    size_t end;  /* offset just past the message when complete */
    size_t out_len;
    uint64_t body_len;
};

/* Decode buf in pieces of at most step bytes (0: one piece), appending data to out. */
static void decode(const char *buf, size_t len, size_t step, char *out, struct run *r)
{
    struct tr_http_chunked dec;
    size_t pos = 0;
    tr_http_chunked_init(&dec);
    r->verdict = 0;
    r->end = 0;
    r->out_len = 0;
    while (pos < len) {
        size_t piece = step == 0 || len - pos < step ? len - pos : step;
        size_t end = pos + piece;
        for (;;) {
            size_t used = 0;
            struct tr_str d = TR_STR_NULL;
            int rc = tr_http_chunked_parse(&dec, buf + pos, end - pos, &used, &d);
            if (used > end - pos)
                __builtin_trap();
            if (rc == 1) {
                if (d.len == 0 || d.ptr < buf + pos || d.ptr + d.len > buf + pos + used)
                    __builtin_trap();
                memcpy(out + r->out_len, d.ptr, d.len);
                r->out_len += d.len;
                pos += used;
                if (pos == end)
                    break;
                continue;
            }
            pos += used;
            if (rc == 2) {
                r->verdict = 2;
                r->end = pos;
                r->body_len = dec.body_len;
                return;
            }
            if (rc < 0) {
                r->verdict = rc;
                r->body_len = dec.body_len;
                /* A decoder in error stays in error. */
                if (tr_http_chunked_parse(&dec, buf, len, &used, &d) != rc || used != 0)
                    __builtin_trap();
                return;
            }
            if (pos != end) /* 0 means everything was consumed */
                __builtin_trap();
            break;
        }
    }
    r->body_len = dec.body_len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = (size_t)(data[0] % 7) + 1;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    char *out1 = malloc(len + 1), *out2 = malloc(len + 1);
    struct run whole, split;

    decode(buf, len, 0, out1, &whole);
    decode(buf, len, step, out2, &split);
    if (whole.verdict != split.verdict || whole.out_len != split.out_len ||
        memcmp(out1, out2, whole.out_len) != 0 || whole.body_len != whole.out_len ||
        split.body_len != split.out_len)
        __builtin_trap();
    if (whole.verdict == 2 && (whole.end != split.end || whole.end > len))
        __builtin_trap();
    free(out1);
    free(out2);
    return 0;
}
