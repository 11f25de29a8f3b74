/* SPDX-License-Identifier: MIT */
/* libFuzzer target for what hmac-auth reads before any key (plugins/hmac_params.h): any bytes
 * as an Authorization value and as a Date value. Must never crash or hang, and what parses
 * lies inside the value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "plugins/hmac_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(struct tr_str part, const uint8_t *data, size_t size)
{
    if (part.len &&
        ((const uint8_t *)part.ptr < data || (const uint8_t *)part.ptr + part.len > data + size))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tr_str v = {(const char *)data, size};
    struct tr_hmac_params p;
    if (tr_hmac_params_parse(v, &p)) {
        inside(p.username, data, size);
        inside(p.algorithm, data, size);
        inside(p.headers, data, size);
        inside(p.signature, data, size);
    }
    (void)tr_http_date_parse(v);
    return 0;
}
