/* SPDX-License-Identifier: MIT */
/* IP / CIDR lists (see cidr.h). */
#include "core/cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/str.h"

/* Textual address -> 16 bytes (IPv4 mapped); *v4 tells which. Returns 0 or TR_EINVAL. */
static int to_v6(const char *s, unsigned char out[16], bool *v4)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, s, a) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, a, 4);
        *v4 = true;
        return 0;
    }
    if (inet_pton(AF_INET6, s, out) == 1) {
        *v4 = false;
        return 0;
    }
    return TR_EINVAL;
}

static int parse_item(struct tr_str item, struct tr_cidr *c)
{
    char buf[64];
    if (item.len == 0 || item.len >= sizeof(buf))
        return TR_EINVAL;
    memcpy(buf, item.ptr, item.len);
    buf[item.len] = '\0';
    char *slash = strchr(buf, '/');
    uint64_t bits = 0;
    bool has_bits = false;
    if (slash) {
        *slash = '\0';
        if (tr_str_to_u64(tr_str_from_cstr(slash + 1), 128, &bits) != 0)
            return TR_EINVAL;
        has_bits = true;
    }
    bool v4;
    if (to_v6(buf, c->addr, &v4) != 0)
        return TR_EINVAL;
    if (v4 && bits > 32)
        return TR_EINVAL;
    c->bits = has_bits ? (unsigned)(v4 ? bits + 96 : bits) : 128;
    /* Clear the host bits so matching is a prefix compare. */
    for (unsigned i = c->bits; i < 128; i++)
        c->addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
    return 0;
}

int tr_cidr_list_parse(const char *text, struct tr_cidr_list *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof(*out));
    struct tr_str rest = tr_str_from_cstr(text), item;
    if (tr_str_trim(rest).len == 0)
        return 0; /* blank text: an empty list */
    while (tr_str_next_item(&rest, ',', &item)) {
        struct tr_cidr c;
        if (parse_item(item, &c) != 0) {
            snprintf(err, err_len, "'%.*s' is not an IP address or CIDR block",
                     (int)(item.len > 64 ? 64 : item.len), item.ptr);
            tr_cidr_list_free(out);
            return TR_EINVAL;
        }
        *tr_vector_push(NULL, out) = c;
    }
    return 0;
}

bool tr_cidr_list_match(const struct tr_cidr_list *l, const char *ip)
{
    if (l == NULL || l->cnt == 0 || ip == NULL)
        return false;
    unsigned char a[16];
    bool v4;
    if (to_v6(ip, a, &v4) != 0)
        return false;
    for (size_t i = 0; i < l->cnt; i++) {
        const struct tr_cidr *c = &l->items[i];
        unsigned full = c->bits / 8, rem = c->bits % 8;
        if (memcmp(a, c->addr, full) != 0)
            continue;
        if (rem && ((a[full] ^ c->addr[full]) & (unsigned char)(0xff00u >> rem)) != 0)
            continue;
        return true;
    }
    return false;
}

void tr_cidr_list_free(struct tr_cidr_list *l)
{
    tr_vector_free(l);
}
