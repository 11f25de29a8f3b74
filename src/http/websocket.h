/* SPDX-License-Identifier: MIT */
/* The two checks of the WebSocket opening handshake a proxy must make (RFC 6455 §4): is a
 * request's Sec-WebSocket-Key well formed, and is the upstream's Sec-WebSocket-Accept the one
 * that key calls for. torii tunnels a connection only after both (P7, P9): any other upgrade
 * (h2c, TLS, a made-up protocol) is never forwarded, and a 101 torii did not ask for is 502. */
#ifndef TR_HTTP_WEBSOCKET_H
#define TR_HTTP_WEBSOCKET_H

#include <stdbool.h>

#include "core/str.h"

#define TR_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 digest */

/* Is key the base64 encoding of 16 bytes (24 characters ending in "==", RFC 6455 §4.1)? */
bool tr_http_websocket_key_ok(struct tr_str key);

/* out = base64(SHA-1(key + the RFC 6455 GUID)), NUL-terminated (RFC 6455 §4.2.2). */
void tr_http_websocket_accept(struct tr_str key, char out[TR_WS_ACCEPT_LEN + 1]);

#endif
