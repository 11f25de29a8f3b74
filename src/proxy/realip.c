/* SPDX-License-Identifier: MIT */
/* The client address of P8: the socket peer, or behind trusted proxies the first untrusted
 * address of X-Forwarded-For walked from the right (nginx realip's recursive mode). */
#include "proxy/internal.h"

#include <arpa/inet.h>
#include <string.h>

#include "core/cidr.h"

static bool all_digits(struct tr_str s)
{
    if (s.len == 0 || s.len > 5)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
    return true;
}

/* s without a trailing port, as nginx's realip reads X-Forwarded-For entries (and Kong with
 * it): "192.0.2.1:8080" is 192.0.2.1, "[2001:db8::1]:8080" and "[2001:db8::1]" are 2001:db8::1.
 * A bare IPv6 literal (more than one ':') is left as it is. */
static struct tr_str without_port(struct tr_str s)
{
    if (s.len >= 2 && s.ptr[0] == '[') {
        const char *close = memchr(s.ptr, ']', s.len);
        if (close == NULL)
            return s;
        size_t after = (size_t)(close - s.ptr) + 1;
        if (after == s.len || (s.ptr[after] == ':' &&
                               all_digits((struct tr_str){s.ptr + after + 1, s.len - after - 1})))
            return (struct tr_str){s.ptr + 1, after - 2};
        return s;
    }
    const char *colon = memchr(s.ptr, ':', s.len);
    if (colon == NULL || memchr(colon + 1, ':', s.len - (size_t)(colon - s.ptr) - 1) != NULL)
        return s;
    size_t host = (size_t)(colon - s.ptr);
    if (!all_digits((struct tr_str){colon + 1, s.len - host - 1}))
        return s;
    return (struct tr_str){s.ptr, host};
}

/* Canonical text of the address in s (IPv4 or IPv6 literal, with or without a port) into out.
 * Returns false when s is not an address. */
static bool canonical(struct tr_str s, char *out, size_t out_len)
{
    s = without_port(s);
    char buf[INET6_ADDRSTRLEN + 1];
    unsigned char bin[16];
    if (s.len == 0 || s.len >= sizeof(buf))
        return false;
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = '\0';
    if (inet_pton(AF_INET, buf, bin) == 1)
        return inet_ntop(AF_INET, bin, out, (socklen_t)out_len) != NULL;
    if (inet_pton(AF_INET6, buf, bin) == 1)
        return inet_ntop(AF_INET6, bin, out, (socklen_t)out_len) != NULL;
    return false;
}

static void copy_out(const char *s, char *out, size_t out_len)
{
    size_t n = strlen(s);
    if (n >= out_len)
        n = out_len - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

bool tr__realip_compute(const struct tr_cidr_list *trusted, const char *peer,
                        const struct tr_http_header *headers, size_t num_headers, char *out,
                        size_t out_len)
{
    if (trusted == NULL || trusted->cnt == 0 || !tr_cidr_list_match(trusted, peer)) {
        copy_out(peer, out, out_len);
        return false;
    }
    char last[INET6_ADDRSTRLEN + 1]; /* the last trusted address seen */
    copy_out(peer, last, sizeof(last));
    for (size_t h = num_headers; h-- > 0;) {
        if (!tr_str_ieq(headers[h].name, TR_STR_LIT("X-Forwarded-For")))
            continue;
        struct tr_str v = headers[h].value;
        size_t end = v.len;
        for (;;) {
            size_t start = end;
            while (start > 0 && v.ptr[start - 1] != ',')
                start--;
            struct tr_str item = tr_str_trim((struct tr_str){v.ptr + start, end - start});
            if (item.len > 0) { /* empty list elements are allowed and skipped */
                char addr[INET6_ADDRSTRLEN + 1];
                if (!canonical(item, addr, sizeof(addr)))
                    goto done; /* not an address: stop at the last trusted one */
                if (!tr_cidr_list_match(trusted, addr)) {
                    copy_out(addr, out, out_len);
                    return true;
                }
                memcpy(last, addr, sizeof(last));
            }
            if (start == 0)
                break;
            end = start - 1;
        }
    }
done:
    copy_out(last, out, out_len);
    return true;
}
