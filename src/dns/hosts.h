/* SPDX-License-Identifier: MIT */
/* The hosts file (/etc/hosts, Kong's dns_hostsfile): names answered before any DNS query, as
 * Kong's resolver does. Read once and again only when the file changes (its mtime or size);
 * lookups are a scan of the parsed entries. Control thread only (one cache per process). */
#ifndef TR_DNS_HOSTS_H
#define TR_DNS_HOSTS_H

#include <stddef.h>

#define TR_HOSTS_ADDR_LEN 46 /* INET6_ADDRSTRLEN */

/* The addresses of name (case-insensitive) in the hosts file at path, in file order, at most
 * max of them into out (text, IPv6 without brackets). Returns how many; 0 when the name is not
 * there or the file cannot be read. */
size_t tr_hosts_lookup(const char *path, const char *name, char (*out)[TR_HOSTS_ADDR_LEN],
                       size_t max);

/* Forget the parsed file (tests, shutdown). */
void tr_hosts_reset(void);

#endif
