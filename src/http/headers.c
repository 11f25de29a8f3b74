/* SPDX-License-Identifier: MIT */
/* The static table of header names the proxy treats specially (hop-by-hop per P7, framing,
 * gateway-owned per P6, Host). Lookup dispatches on the name length, then compares; it never
 * allocates. What to do with a flagged field is the proxy's business. */
#include "http/headers.h"

#include <stddef.h>
#include <string.h>

struct hdr_row {
    const char *name; /* lower-case, '-' as separator */
    unsigned char len;
    unsigned char flags;
};

#define ROW(lit, f)                                                                                \
    {                                                                                              \
        lit, sizeof(lit) - 1, f                                                                    \
    }

/* Sorted by length; by_len below indexes it. Proxy-Authorization is not here: RFC 9110 makes
 * it hop-by-hop, but Kong forwards it (0.7's basic-auth spec reads it back at the upstream),
 * so it goes upstream unless an authentication plugin used it and hides credentials. */
static const struct hdr_row rows[] = {
    ROW("te", TR_HDR_HOP_BY_HOP),
    ROW("host", TR_HDR_HOST),
    ROW("proxy", TR_HDR_HOP_BY_HOP),
    ROW("trailer", TR_HDR_HOP_BY_HOP),
    ROW("upgrade", TR_HDR_HOP_BY_HOP),
    ROW("forwarded", TR_HDR_GATEWAY),
    ROW("x-real-ip", TR_HDR_GATEWAY),
    ROW("connection", TR_HDR_HOP_BY_HOP),
    ROW("keep-alive", TR_HDR_HOP_BY_HOP),
    ROW("content-length", TR_HDR_FRAMING),
    ROW("http2-settings", TR_HDR_HOP_BY_HOP),
    ROW("proxy-connection", TR_HDR_HOP_BY_HOP),
    ROW("transfer-encoding", TR_HDR_FRAMING),
    ROW("proxy-authenticate", TR_HDR_HOP_BY_HOP),
    ROW("x-anonymous-consumer", TR_HDR_GATEWAY),
    ROW("x-credential-username", TR_HDR_GATEWAY),
    ROW("x-credential-identifier", TR_HDR_GATEWAY),
};

#define MAX_LEN 23

/* by_len[n] = index of the first row of length n; by_len[n + 1] ends the run. */
static const unsigned char by_len[MAX_LEN + 2] = {0, 0, 0,  1,  1,  2,  3,  3,  5,  5,  7,  9, 9,
                                                  9, 9, 11, 11, 12, 13, 14, 14, 15, 16, 16, 17};

/* P6: every field under these prefixes belongs to the gateway (what it derives, and the
 * identity headers of docs/plugins.md: a client's X-Consumer-Foo never reaches the upstream). */
static const char *const gateway_prefixes[] = {"x-forwarded-", "x-consumer-", "x-authenticated-"};

/* Fold case, and for gateway-owned names read '_' as '-' (P6). */
static inline char fold(char c, bool underscore)
{
    if (underscore && c == '_')
        return '-';
    return tr_ascii_lower(c);
}

static bool match(const char *s, const char *lit, size_t len, bool underscore)
{
    for (size_t i = 0; i < len; i++) {
        if (fold(s[i], underscore) != lit[i])
            return false;
    }
    return true;
}

unsigned tr_http_header_flags(struct tr_str name)
{
    if (name.len <= MAX_LEN) {
        for (unsigned i = by_len[name.len]; i < by_len[name.len + 1]; i++) {
            bool gw = rows[i].flags == TR_HDR_GATEWAY;
            if (match(name.ptr, rows[i].name, name.len, gw))
                return rows[i].flags;
        }
    }
    for (size_t i = 0; i < sizeof(gateway_prefixes) / sizeof(gateway_prefixes[0]); i++) {
        size_t n = strlen(gateway_prefixes[i]);
        if (name.len >= n && match(name.ptr, gateway_prefixes[i], n, true))
            return TR_HDR_GATEWAY;
    }
    return 0;
}
