/* SPDX-License-Identifier: MIT */
/* WebSocket frame boundaries and close frames (ws_frames.h). */
#include "http/ws_frames.h"

#include <string.h>

/* Header length once its first two bytes are known: the extended length and the mask. */
static size_t head_len(const uint8_t *h)
{
    size_t len7 = h[1] & 0x7f;
    size_t n = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
    return n + ((h[1] & 0x80) ? 4 : 0);
}

static uint64_t payload_len(const uint8_t *h)
{
    uint64_t len7 = h[1] & 0x7f;
    if (len7 < 126)
        return len7;
    size_t k = len7 == 126 ? 2 : 8;
    uint64_t v = 0;
    for (size_t i = 0; i < k; i++)
        v = v << 8 | h[2 + i];
    return v;
}

void tr_ws_stream_feed(struct tr_ws_stream *s, const void *bytes, size_t n)
{
    const uint8_t *p = bytes;
    while (n > 0) {
        if (s->payload_left > 0) {
            uint64_t take = s->payload_left < n ? s->payload_left : n;
            s->payload_left -= take;
            p += take;
            n -= (size_t)take;
            continue;
        }
        s->head[s->head_have++] = *p++;
        n--;
        if (s->head_have >= 2 && s->head_have == head_len(s->head)) {
            s->payload_left = payload_len(s->head);
            s->head_have = 0;
        }
    }
}

bool tr_ws_stream_between_frames(const struct tr_ws_stream *s)
{
    return s->payload_left == 0 && s->head_have == 0;
}

size_t tr_ws_close_frame(uint8_t out[TR_WS_CLOSE_FRAME_MAX], uint16_t code, const char *reason,
                         const uint8_t *mask)
{
    size_t rlen = strnlen(reason, TR_WS_CLOSE_REASON_MAX);
    size_t plen = 2 + rlen, n = 0;
    out[n++] = 0x88; /* FIN, opcode 8: close */
    out[n++] = (uint8_t)((mask ? 0x80 : 0) | plen);
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    uint8_t *payload = out + n;
    payload[0] = (uint8_t)(code >> 8);
    payload[1] = (uint8_t)(code & 0xff);
    memcpy(payload + 2, reason, rlen);
    for (size_t i = 0; mask && i < plen; i++)
        payload[i] ^= mask[i % 4];
    return n + plen;
}
