/* SPDX-License-Identifier: MIT */
/* UUID v4 generation from OpenSSL's CSPRNG, formatting, and the syntax check. */
#include "core/uuid.h"

#include <pthread.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/err.h"

void tr_uuid_format(const uint8_t bytes[16], char out[TR_UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[bytes[i] >> 4];
        out[o++] = hex[bytes[i] & 0x0f];
    }
    out[o] = '\0';
}

int tr_uuid_v4(char out[TR_UUID_LEN + 1])
{
    uint8_t b[16];
    if (RAND_bytes(b, sizeof(b)) != 1) {
        out[0] = '\0';
        return TR_EINTERNAL;
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* RFC 4122 §4.4: version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10xx */
    tr_uuid_format(b, out);
    return 0;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static uint8_t hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return (uint8_t)(c - '0');
    return (uint8_t)((c | 0x20) - 'a' + 10);
}

static EVP_MD *fetched_sha1;

static void fetch_sha1(void)
{
    fetched_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL); /* kept for the process's life */
}

int tr_uuid_v5(const char *ns, struct tr_str name, char out[TR_UUID_LEN + 1])
{
    out[0] = '\0';
    if (ns == NULL || !tr_uuid_is_valid(tr_str_from_cstr(ns)))
        return TR_EINVAL;
    uint8_t nsb[16];
    for (size_t i = 0, o = 0; i < TR_UUID_LEN; i++) {
        if (ns[i] == '-')
            continue;
        nsb[o / 2] =
            (uint8_t)((o % 2) ? (nsb[o / 2] | hex_value(ns[i])) : (uint8_t)(hex_value(ns[i]) << 4));
        o++;
    }
    /* SHA-1 fetched once: OpenSSL 3 looks the algorithm up on every implicit use, which
     * costs more than hashing an id (a declarative file makes tens of thousands). */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fetch_sha1);
    const EVP_MD *sha1 = fetched_sha1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c != NULL && sha1 != NULL && EVP_DigestInit_ex(c, sha1, NULL) == 1 &&
              EVP_DigestUpdate(c, nsb, sizeof(nsb)) == 1 &&
              EVP_DigestUpdate(c, name.ptr, name.len) == 1 &&
              EVP_DigestFinal_ex(c, md, &md_len) == 1;
    EVP_MD_CTX_free(c);
    if (!ok)
        return TR_EINTERNAL;
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x50); /* version 5 */
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* variant 10xx */
    tr_uuid_format(md, out);
    return 0;
}

bool tr_uuid_is_valid(struct tr_str s)
{
    if (s.len != TR_UUID_LEN)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s.ptr[i] != '-')
                return false;
        } else if (!is_hex(s.ptr[i])) {
            return false;
        }
    }
    return true;
}
