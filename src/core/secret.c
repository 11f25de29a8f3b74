/* SPDX-License-Identifier: MIT */
/* Random tokens, digests and constant-time comparison (see secret.h). */
#include "core/secret.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "core/err.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url of 32 bytes, without padding: 43 characters. */
static void encode32(const unsigned char *in, char *out)
{
    size_t o = 0;
    unsigned bits = 0, nbits = 0;
    for (size_t i = 0; i < 32; i++) {
        bits = (bits << 8) | in[i];
        nbits += 8;
        while (nbits >= 6) {
            nbits -= 6;
            out[o++] = b64url[(bits >> nbits) & 63];
        }
    }
    if (nbits > 0)
        out[o++] = b64url[(bits << (6 - nbits)) & 63];
    out[o] = '\0';
}

int tr_secret_token(char *out)
{
    unsigned char raw[32];
    if (RAND_bytes(raw, (int)sizeof(raw)) != 1)
        return TR_EINTERNAL;
    encode32(raw, out);
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int tr_secret_hex(char *out, size_t n)
{
    unsigned char raw[64];
    if (n > sizeof(raw))
        return TR_EINVAL;
    if (RAND_bytes(raw, (int)n) != 1)
        return TR_EINTERNAL;
    to_hex(raw, n, out);
    return 0;
}

void tr_secret_sha256_hex(struct tr_str s, char *out)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s.ptr, s.len, d);
    to_hex(d, sizeof(d), out);
}

void tr_secret_sha256_b64url(struct tr_str s, char *out)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s.ptr, s.len, d);
    encode32(d, out);
}

bool tr_secret_equal(struct tr_str a, struct tr_str b)
{
    unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)a.ptr, a.len, da);
    SHA256((const unsigned char *)b.ptr, b.len, db);
    return CRYPTO_memcmp(da, db, sizeof(da)) == 0;
}
