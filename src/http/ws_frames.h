/* SPDX-License-Identifier: MIT */
/* WebSocket frame boundaries in a tunnelled byte stream, and the close frame a proxy sends
 * when it must end a tunnel (RFC 6455 §5.2, §5.5.1, §7.4.1). torii relays tunnel bytes as they
 * come; at the end of a drain it ends each tunnel with a close frame 1001 "going away", which
 * it may only put between two frames, never inside one: tr_ws_stream follows each direction's
 * frame headers to know where those gaps are. */
#ifndef TR_HTTP_WS_FRAMES_H
#define TR_HTTP_WS_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TR_WS_HEADER_MAX 14       /* 2 + 8 (64-bit length) + 4 (masking key) */
#define TR_WS_CLOSE_REASON_MAX 64 /* what torii sends; the protocol allows 123 */
#define TR_WS_CLOSE_FRAME_MAX (TR_WS_HEADER_MAX + 2 + TR_WS_CLOSE_REASON_MAX)
#define TR_WS_GOING_AWAY 1001

/* One direction of a tunnel: where the bytes seen so far stand among its frames. Zeroed: at
 * the start of a frame. */
struct tr_ws_stream {
    uint64_t payload_left; /* payload bytes of the current frame still to come */
    uint8_t head[TR_WS_HEADER_MAX];
    uint8_t head_have; /* header bytes seen of the next frame */
};

/* Account for n more bytes of the stream. */
void tr_ws_stream_feed(struct tr_ws_stream *s, const void *bytes, size_t n);

/* Do the bytes seen so far end exactly at a frame's end (a close frame may go next)? */
bool tr_ws_stream_between_frames(const struct tr_ws_stream *s);

/* A close frame with code and reason (at most TR_WS_CLOSE_REASON_MAX bytes, cut there) into
 * out: masked with mask (4 bytes) when mask is not NULL, as a client's frame must be (§5.3).
 * Returns its length. */
size_t tr_ws_close_frame(uint8_t out[TR_WS_CLOSE_FRAME_MAX], uint16_t code, const char *reason,
                         const uint8_t *mask);

#endif
