/* SPDX-License-Identifier: MIT */
/* Web origins and origin lists (see origin.h). */
#include "core/origin.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"

#define MAX_LABEL 63

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_name_char(char c)
{
    char l = tr_ascii_lower(c);
    return (l >= 'a' && l <= 'z') || is_digit(c) || c == '-' || c == '_';
}

/* Copy h into a NUL-terminated buffer for inet_pton; TR_EINVAL if it does not fit. */
static int to_cstr(struct tr_str h, char *buf, size_t len)
{
    if (h.len >= len)
        return TR_EINVAL;
    memcpy(buf, h.ptr, h.len);
    buf[h.len] = '\0';
    return 0;
}

static int parse_ipv4(struct tr_str h, struct tr_origin *out)
{
    char buf[INET_ADDRSTRLEN];
    unsigned char a[4];
    if (to_cstr(h, buf, sizeof(buf)) != 0 || inet_pton(AF_INET, buf, a) != 1)
        return TR_EINVAL;
    inet_ntop(AF_INET, a, out->host, sizeof(out->host));
    out->loopback = strcmp(out->host, "127.0.0.1") == 0;
    return 0;
}

/* h is "[...]", brackets included. */
static int parse_ipv6(struct tr_str h, struct tr_origin *out)
{
    static const unsigned char one[16] = {[15] = 1};
    char buf[INET6_ADDRSTRLEN];
    unsigned char a[16];
    if (h.len < 4 || h.ptr[h.len - 1] != ']')
        return TR_EINVAL;
    if (to_cstr((struct tr_str){h.ptr + 1, h.len - 2}, buf, sizeof(buf)) != 0 ||
        inet_pton(AF_INET6, buf, a) != 1)
        return TR_EINVAL;
    /* Browsers serialize IPv6 hosts in RFC 5952 form; so does inet_ntop. */
    inet_ntop(AF_INET6, a, buf, sizeof(buf));
    snprintf(out->host, sizeof(out->host), "[%s]", buf);
    out->loopback = memcmp(a, one, sizeof(one)) == 0;
    return 0;
}

/* A DNS-style name. A name whose last label is all digits is what browsers parse as an IPv4
 * address (WHATWG URL, "ends in a number"), so it must be one, in dotted-quad form. */
static int parse_name(struct tr_str h, struct tr_origin *out)
{
    size_t label = 0;
    bool numeric = true;
    if (h.len == 0 || h.len > TR_ORIGIN_HOST_MAX)
        return TR_EINVAL;
    for (size_t i = 0; i < h.len; i++) {
        char c = h.ptr[i];
        if (c == '.') {
            if (label == 0)
                return TR_EINVAL;
            label = 0;
            numeric = true;
        } else if (!is_name_char(c) || ++label > MAX_LABEL) {
            return TR_EINVAL;
        } else if (!is_digit(c)) {
            numeric = false;
        }
        out->host[i] = tr_ascii_lower(c);
    }
    if (label == 0)
        return TR_EINVAL; /* a trailing dot names another origin than the name without it */
    if (numeric)
        return parse_ipv4(h, out);
    out->host[h.len] = '\0';
    out->loopback = strcmp(out->host, "localhost") == 0;
    return 0;
}

/* "HOST[:PORT]" with the scheme already known. */
static int parse_authority(struct tr_str a, bool https, struct tr_origin *out)
{
    struct tr_str host = a;
    memset(out, 0, sizeof(*out));
    out->https = https;
    out->port = https ? 443 : 80;
    if (a.len > 0 && a.ptr[0] == '[') {
        const char *close = memchr(a.ptr, ']', a.len);
        if (close == NULL)
            return TR_EINVAL;
        host.len = (size_t)(close - a.ptr) + 1;
    } else {
        const char *colon = memchr(a.ptr, ':', a.len);
        if (colon)
            host.len = (size_t)(colon - a.ptr);
    }
    if (host.len < a.len) {
        struct tr_str port = {a.ptr + host.len + 1, a.len - host.len - 1};
        uint64_t p;
        /* RFC 6454 §6.2 serializes the port in plain decimal: no empty port, no padding. */
        if (a.ptr[host.len] != ':' || port.len == 0 || port.len > 5 ||
            tr_str_to_u64(port, 65535, &p) != 0 || p == 0)
            return TR_EINVAL;
        out->port = (uint16_t)p;
    }
    if (host.len > 0 && host.ptr[0] == '[')
        return parse_ipv6(host, out);
    return parse_name(host, out);
}

int tr_origin_parse(struct tr_str text, struct tr_origin *out)
{
    static const struct {
        struct tr_str prefix;
        bool https;
    } schemes[] = {{TR_STR_LIT("http://"), false}, {TR_STR_LIT("https://"), true}};
    for (size_t i = 0; i < TR_ARRAY_SIZE(schemes); i++) {
        struct tr_str p = schemes[i].prefix;
        if (text.len > p.len && tr_str_ieq((struct tr_str){text.ptr, p.len}, p))
            return parse_authority((struct tr_str){text.ptr + p.len, text.len - p.len},
                                   schemes[i].https, out);
    }
    return TR_EINVAL;
}

int tr_origin_from_host(struct tr_str host, bool https, struct tr_origin *out)
{
    if (host.len == 0)
        return TR_EINVAL;
    return parse_authority(host, https, out);
}

bool tr_origin_eq(const struct tr_origin *a, const struct tr_origin *b)
{
    if (a->https != b->https || a->port != b->port)
        return false;
    if (a->loopback || b->loopback)
        return a->loopback && b->loopback;
    return strcmp(a->host, b->host) == 0;
}

int tr_origin_list_parse(struct tr_str text, struct tr_origin_list *out, char *err, size_t err_len)
{
    struct tr_str rest = text;
    memset(out, 0, sizeof(*out));
    if (tr_str_trim(rest).len == 0)
        return 0;
    struct tr_str item;
    while (tr_str_next_item(&rest, ',', &item)) {
        tr_vector_reserve(NULL, out, out->cnt + 1);
        if (item.len == 0) {
            snprintf(err, err_len, "empty entry in the list");
            goto fail;
        }
        if (tr_origin_parse(item, &out->items[out->cnt]) != 0) {
            snprintf(err, err_len,
                     "'%.*s' is not an origin (expected http://HOST[:PORT] or "
                     "https://HOST[:PORT], with no path)",
                     (int)(item.len > 96 ? 96 : item.len), item.ptr);
            goto fail;
        }
        out->cnt++;
    }
    return 0;

fail:
    tr_origin_list_free(out);
    return TR_EINVAL;
}

bool tr_origin_list_has(const struct tr_origin_list *l, const struct tr_origin *o)
{
    for (size_t i = 0; i < l->cnt; i++) {
        if (tr_origin_eq(&l->items[i], o))
            return true;
    }
    return false;
}

void tr_origin_list_free(struct tr_origin_list *l)
{
    tr_vector_free(l);
}

bool tr_origin_allowed(const struct tr_origin_list *l, struct tr_str origin, struct tr_str host,
                       bool https)
{
    struct tr_origin o, own;
    if (tr_origin_parse(tr_str_trim(origin), &o) != 0)
        return false;
    if (tr_origin_from_host(host, https, &own) == 0 && tr_origin_eq(&o, &own))
        return true;
    return l != NULL && tr_origin_list_has(l, &o);
}
