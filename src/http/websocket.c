/* SPDX-License-Identifier: MIT */
/* WebSocket handshake values (websocket.h). */
#include "http/websocket.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; /* RFC 6455 §1.3 */

static bool is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

bool tr_http_websocket_key_ok(struct tr_str key)
{
    if (key.len != 24 || key.ptr[22] != '=' || key.ptr[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++) {
        if (!is_b64(key.ptr[i]))
            return false;
    }
    return true;
}

void tr_http_websocket_accept(struct tr_str key, char out[TR_WS_ACCEPT_LEN + 1])
{
    /* Keys are 24 characters (tr_http_websocket_key_ok); a longer one is cut, never overrun. */
    unsigned char in[64 + sizeof(guid)], digest[SHA_DIGEST_LENGTH];
    size_t n = key.len < 64 ? key.len : 64;
    memcpy(in, key.ptr, n);
    memcpy(in + n, guid, sizeof(guid) - 1);
    SHA1(in, n + sizeof(guid) - 1, digest);
    EVP_EncodeBlock((unsigned char *)out, digest, (int)sizeof(digest));
    out[TR_WS_ACCEPT_LEN] = '\0';
}
