/* SPDX-License-Identifier: MIT */
/* Writing to a client or upstream socket: try the syscall at once (most writes complete), and
 * only queue what the kernel did not take, copied into one block owned by its write request.
 * Besides saving a copy and an allocation, this avoids libuv's per-completion epoll_ctl. */
#include "proxy/internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

int tr__stream_write(uv_stream_t *s, const uv_buf_t *bufs, unsigned nbufs, void *owner,
                     uv_write_cb cb)
{
    size_t total = 0;
    for (unsigned i = 0; i < nbufs; i++)
        total += bufs[i].len;
    if (total == 0)
        return 0;
    size_t done = 0;
    if (uv_stream_get_write_queue_size(s) == 0) {
        int n = uv_try_write(s, bufs, nbufs);
        if (n < 0 && n != UV_EAGAIN)
            return TR_EIO;
        if (n > 0)
            done = (size_t)n;
        if (done == total)
            return 0;
    }
    struct tr_wbuf *wb = tr_xmalloc(sizeof(*wb) + (total - done));
    wb->owner = owner;
    size_t off = 0, skip = done;
    for (unsigned i = 0; i < nbufs; i++) {
        size_t len = bufs[i].len;
        const char *p = bufs[i].base;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        p += skip;
        len -= skip;
        skip = 0;
        memcpy(wb->data + off, p, len);
        off += len;
    }
    uv_buf_t one = uv_buf_init(wb->data, (unsigned)off);
    if (uv_write(&wb->req, s, &one, 1, cb) != 0) {
        free(wb);
        return TR_EIO;
    }
    return 1;
}
