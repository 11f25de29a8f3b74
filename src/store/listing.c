/* SPDX-License-Identifier: MIT */
/* List pages on every backend: offset tokens and filters (listing.h). */
#include "store/listing.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/str.h"

/* Offset tokens are base64url (no padding) of the decimal seq of the last row returned. */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *tr__store_offset_encode(int64_t seq)
{
    char dec[24], *out;
    size_t n, o = 0;
    uint32_t acc = 0;
    int bits = 0;

    n = (size_t)snprintf(dec, sizeof(dec), "%" PRId64, seq);
    out = tr_xmalloc(n * 4 / 3 + 4);
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | (unsigned char)dec[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = b64[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = b64[(acc << (6 - bits)) & 63];
    out[o] = '\0';
    return out;
}

int64_t tr__store_offset_decode(const char *token)
{
    char dec[24];
    size_t n = strlen(token), o = 0;
    uint32_t acc = 0;
    uint64_t seq;
    int bits = 0;

    if (n == 0 || n > 28 || n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *p = token[i] != '\0' ? strchr(b64, token[i]) : NULL;
        if (p == NULL)
            return -1;
        acc = (acc << 6) | (uint32_t)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= sizeof(dec))
                return -1;
            dec[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    /* Leftover bits must be zero (canonical encoding). */
    if ((acc & ((1u << bits) - 1)) != 0)
        return -1;
    if (o == 0 || (o > 1 && dec[0] == '0'))
        return -1;
    if (tr_str_to_u64((struct tr_str){dec, o}, INT64_MAX, &seq) != 0)
        return -1;
    return (int64_t)seq;
}

static bool is_filter_name(const char *k)
{
    if (*k == '\0')
        return false;
    for (; *k != '\0'; k++) {
        char c = *k;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

char *tr__store_filter_json(json_t *filters)
{
    const char *k;
    json_t *v;

    if (filters == NULL)
        return tr_xstrdup("{}");
    if (!json_is_object(filters))
        return NULL;
    json_object_foreach(filters, k, v)
    {
        if (!is_filter_name(k) || !(json_is_string(v) || json_is_number(v) || json_is_boolean(v)))
            return NULL;
    }
    return json_dumps(filters, JSON_COMPACT);
}
