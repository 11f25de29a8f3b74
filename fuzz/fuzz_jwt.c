/* SPDX-License-Identifier: MIT */
/* libFuzzer target for JSON Web Token decoding (plugins/jwt_token.h): any bytes are a token;
 * what decodes has JSON-object header and claims, a known alg and a decoded signature no
 * longer than its text allows. Must never crash, leak or read past the token. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "plugins/jwt_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tr_str token = {(const char *)data, size};
    struct tr_jwt_token t;
    if (tr_jwt_decode(token, &t) == NULL) {
        if (!json_is_object(t.header) || !json_is_object(t.claims) || t.alg == NULL ||
            t.signature_len > size || t.signed_part.len >= size)
            abort();
        tr_jwt_token_free(&t);
    }
    char *out = malloc(size * 3 / 4 + 3);
    if (out) {
        long n = tr_jwt_b64url_decode(token, out);
        if (n > (long)(size * 3 / 4 + 2))
            abort();
        free(out);
    }
    return 0;
}
