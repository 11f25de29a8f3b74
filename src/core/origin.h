/* SPDX-License-Identifier: MIT */
/* Web origins ("http://host[:port]", the RFC 6454 §6.2 serialization browsers send in Origin)
 * and lists of them, as in admin_gui_origins: parsed strictly, compared by scheme, host and
 * port with localhost, 127.0.0.1 and [::1] taken as one host. What an allowed origin may do is
 * decided by the caller (the Admin API server). */
#ifndef TR_CORE_ORIGIN_H
#define TR_CORE_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

#define TR_ORIGIN_HOST_MAX 253 /* longest DNS name; IP literals are shorter */

struct tr_origin {
    bool https;    /* scheme https, else http */
    bool loopback; /* host is localhost, 127.0.0.1 or [::1]: equal to each other */
    uint16_t port; /* the explicit port, else the scheme's default (80, 443) */
    char host[TR_ORIGIN_HOST_MAX + 1]; /* lower case; IPv4 and [IPv6] in canonical form */
};

/* A TR_VECTOR (core/buf.h). */
struct tr_origin_list {
    struct tr_origin *items; /* owned */
    size_t cnt, cap;
};

/* Parse text (not NUL-terminated) as "http://HOST[:PORT]" or "https://HOST[:PORT]" (scheme in
 * any case): HOST is a DNS name (letters, digits, '-', '_' in non-empty dot-separated labels,
 * no trailing dot), a dotted-quad IPv4 address or a bracketed IPv6 address without zone; PORT
 * is 1..65535 in at most 5 digits. No user info, path (not even "/"), query or fragment.
 * Returns 0 and fills *out, or TR_EINVAL ("null" and every other string). */
int tr_origin_parse(struct tr_str text, struct tr_origin *out);

/* The origin a browser uses for a page served with Host header value host ("HOST[:PORT]", same
 * HOST rules as tr_origin_parse) over https or plain http. Returns 0, or TR_EINVAL when host is
 * empty or not of that form. */
int tr_origin_from_host(struct tr_str host, bool https, struct tr_origin *out);

/* Same scheme, same port, and the same host (names compared in lower case; any two loopback
 * names are the same host). */
bool tr_origin_eq(const struct tr_origin *a, const struct tr_origin *b);

/* Parse text (not NUL-terminated) as a comma-separated list of origins (spaces around items
 * allowed; "" or only spaces is an empty list; an empty item is an error). Returns 0, or TR_EINVAL
 * with the offending item quoted in err (out is then empty). out need not be initialized; free it
 * with tr_origin_list_free. */
int tr_origin_list_parse(struct tr_str text, struct tr_origin_list *out, char *err, size_t err_len);

/* Is o equal (tr_origin_eq) to one of l's items? False for an empty list. */
bool tr_origin_list_has(const struct tr_origin_list *l, const struct tr_origin *o);

/* Free the items and empty the list; safe on an empty list and twice in a row. */
void tr_origin_list_free(struct tr_origin_list *l);

/* The Admin API's rule for a request's Origin header value origin: allowed when it is the
 * origin of the listener that got the request (tr_origin_from_host of the request's Host
 * header host and the listener's scheme https: same-origin) or is listed in l (may be NULL).
 * An unparsable origin, "null" and an empty one are never allowed. */
bool tr_origin_allowed(const struct tr_origin_list *l, struct tr_str origin, struct tr_str host,
                       bool https);

#endif
