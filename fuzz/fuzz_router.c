/* SPDX-License-Identifier: MIT */
/* libFuzzer entry point for the router: the input's first lines register apis ("host path"),
 * the rest are host candidates and a path to match; any outcome is fine except a crash or a
 * prefix length longer than the path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "router/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int apis[8];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tr_str lines[12];
    size_t num = 0, start = 0;
    for (size_t i = 0; i <= size && num < 12; i++) {
        if (i == size || data[i] == '\n') {
            lines[num++] = (struct tr_str){(const char *)data + start, i - start};
            start = i + 1;
        }
    }

    struct tr_router *r = tr_router_new();
    size_t i = 0;
    for (; i < num && i < 8; i++) {
        if (lines[i].len == 0) {
            i++;
            break; /* an empty line ends the registrations */
        }
        const char *sp = memchr(lines[i].ptr, ' ', lines[i].len);
        size_t hlen = sp ? (size_t)(sp - lines[i].ptr) : lines[i].len;
        char *host = tr_str_dup((struct tr_str){lines[i].ptr, hlen});
        char *path = sp ? tr_str_dup((struct tr_str){sp + 1, lines[i].len - hlen - 1}) : NULL;
        tr_router_add(r, host, path, &apis[i]);
        free(host);
        free(path);
    }
    tr_router_compile(r);

    struct tr_str path = i < num ? lines[num - 1] : TR_STR_LIT("/");
    size_t num_hosts = i < num ? num - 1 - i : 0;
    struct tr_router_match m;
    if (tr_router_match(r, lines + i, num_hosts, path, &m)) {
        if (m.route == NULL || m.path_prefix_len > path.len)
            abort();
        if (m.by_host && m.path_prefix_len != 0)
            abort();
    }
    tr_router_free(r);
    return 0;
}
