/* SPDX-License-Identifier: MIT */
/* WebSocket frame boundaries and close frames (http/ws_frames.h): every header form (7-bit,
 * 16-bit and 64-bit lengths, masked or not), fed whole or a byte at a time, and the close
 * frame's exact bytes as a peer decodes them. */
#include <string.h>

#include "check.h"
#include "http/ws_frames.h"

/* A frame header for a payload of len bytes into out; masked when mask. Returns its length. */
static size_t header(uint8_t *out, uint64_t len, int mask)
{
    size_t n = 0;
    out[n++] = 0x82; /* FIN, binary */
    uint8_t m = mask ? 0x80 : 0;
    if (len < 126) {
        out[n++] = (uint8_t)(m | len);
    } else if (len <= 0xffff) {
        out[n++] = m | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = m | 127;
        for (int i = 7; i >= 0; i--)
            out[n++] = (uint8_t)(len >> (8 * i));
    }
    for (int i = 0; mask && i < 4; i++)
        out[n++] = (uint8_t)(0x10 + i);
    return n;
}

static uint8_t payload[70000];

/* One frame of len bytes, fed in pieces of step bytes: between frames only at its end. */
static void one_frame(uint64_t len, int mask, size_t step)
{
    uint8_t buf[TR_WS_HEADER_MAX + sizeof(payload)];
    size_t hl = header(buf, len, mask);
    memcpy(buf + hl, payload, (size_t)len);
    size_t total = hl + (size_t)len;
    struct tr_ws_stream s = {0};
    TR_CHECK(tr_ws_stream_between_frames(&s));
    for (size_t off = 0; off < total; off += step) {
        size_t n = total - off < step ? total - off : step;
        tr_ws_stream_feed(&s, buf + off, n);
        TR_CHECK(tr_ws_stream_between_frames(&s) == (off + n == total));
    }
}

int main(void)
{
    memset(payload, 'x', sizeof(payload));
    uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 69999};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        for (int mask = 0; mask < 2; mask++) {
            one_frame(lens[i], mask, 1);
            one_frame(lens[i], mask, 7);
            one_frame(lens[i], mask, 100000);
        }
    }

    /* Two frames in one piece, then the first byte of a third: inside a header. */
    uint8_t two[16];
    size_t n = header(two, 3, 0);
    memcpy(two + n, "abc", 3);
    n += 3;
    n += header(two + n, 0, 1);
    struct tr_ws_stream s = {0};
    tr_ws_stream_feed(&s, two, n);
    TR_CHECK(tr_ws_stream_between_frames(&s));
    tr_ws_stream_feed(&s, "\x81", 1);
    TR_CHECK(!tr_ws_stream_between_frames(&s));

    /* A server's close frame: 88 0c 03 e9 "going away". */
    uint8_t f[TR_WS_CLOSE_FRAME_MAX];
    size_t fl = tr_ws_close_frame(f, TR_WS_GOING_AWAY, "going away", NULL);
    TR_CHECK_INT(fl, 14);
    TR_CHECK(memcmp(f, "\x88\x0c\x03\xe9going away", 14) == 0);
    /* A client's: masked; unmasking gives the same payload. */
    const uint8_t mask[4] = {0xde, 0xad, 0xbe, 0xef};
    fl = tr_ws_close_frame(f, TR_WS_GOING_AWAY, "going away", mask);
    TR_CHECK_INT(fl, 18);
    TR_CHECK(f[0] == 0x88 && f[1] == (0x80 | 12) && memcmp(f + 2, mask, 4) == 0);
    uint8_t plain[12];
    for (size_t i = 0; i < 12; i++)
        plain[i] = f[6 + i] ^ mask[i % 4];
    TR_CHECK(memcmp(plain, "\x03\xe9going away", 12) == 0);
    /* Its own frame boundaries check out too. */
    struct tr_ws_stream cs = {0};
    tr_ws_stream_feed(&cs, f, fl);
    TR_CHECK(tr_ws_stream_between_frames(&cs));
    /* A long reason is cut at the bound. */
    char longr[200];
    memset(longr, 'r', sizeof(longr) - 1);
    longr[sizeof(longr) - 1] = '\0';
    fl = tr_ws_close_frame(f, 1000, longr, NULL);
    TR_CHECK_INT(fl, 2 + 2 + TR_WS_CLOSE_REASON_MAX);
    TR_CHECK_INT(f[1], 2 + TR_WS_CLOSE_REASON_MAX);
    return TR_CHECK_DONE();
}
