/* SPDX-License-Identifier: MIT */
/* Lists of IP addresses and CIDR blocks ("10.0.0.0/8, ::1, 192.168.1.7"), as in trusted_ips:
 * parsed once, then matched against a peer address on the hot path without allocation. */
#ifndef TR_CORE_CIDR_H
#define TR_CORE_CIDR_H

#include <stdbool.h>
#include <stddef.h>

struct tr_cidr {
    unsigned char addr[16]; /* IPv4 as an IPv4-mapped IPv6 address */
    unsigned bits;          /* prefix length over the 128-bit form */
};

/* A TR_VECTOR (core/buf.h). */
struct tr_cidr_list {
    struct tr_cidr *items; /* owned */
    size_t cnt, cap;
};

/* Parse a comma-separated list (spaces allowed around items; "" is an empty list). Each item
 * is an IPv4 or IPv6 literal with an optional /N (0..32 or 0..128). Returns 0, or TR_EINVAL with
 * the offending item quoted in err (out is then empty). out must be zeroed or freed. */
int tr_cidr_list_parse(const char *text, struct tr_cidr_list *out, char *err, size_t err_len);

/* Does ip (a textual IPv4 or IPv6 address) fall inside one of the blocks? False for an
 * unparsable address or an empty list. */
bool tr_cidr_list_match(const struct tr_cidr_list *l, const char *ip);

void tr_cidr_list_free(struct tr_cidr_list *l);

#endif
