/* SPDX-License-Identifier: MIT */
/* The node's DNS resolver (docs/internals/dns.md): c-ares on the control thread's loop, never
 * on a worker. It keeps a cache of answers that the snapshot builder reads synchronously; a
 * name missing from the cache, or whose answer expired, is queried in the background and the
 * owner hears (on_change) when an answer differs from what the cache held, to rebuild the
 * snapshot. Kong's rules: the hosts file first, then SRV, then A, then AAAA; the record's TTL is
 * honoured (0: asked again at the next tick, 100 ms, Kong's "on every request"); when the server
 * fails, the last answer is kept for stale_ttl seconds; a name that does not exist is asked again
 * after not_found_ttl, a failed query after error_ttl. */
#ifndef TR_DNS_RESOLVER_H
#define TR_DNS_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "dns/hosts.h"

struct tr_resolver_opts {
    const char *servers;    /* "ip[:port],..." (dns_resolver), NULL or "": /etc/resolv.conf's */
    const char *hostsfile;  /* dns_hostsfile; NULL or "": none */
    uint32_t stale_ttl;     /* seconds an answer is kept past its TTL when the server fails */
    uint32_t not_found_ttl; /* seconds a "no such name" is kept */
    uint32_t error_ttl;     /* seconds before a failed query is tried again */
};

/* One record of an answer: an address (A, AAAA, the hosts file; port 0, weight 0), or an SRV
 * record (name: its target, maybe a name to resolve in turn; port and weight from the record). */
struct tr_dns_record {
    char name[256];
    uint16_t port;
    uint16_t weight;
    uint16_t priority; /* SRV: only the lowest priority's records are kept */
};

enum tr_dns_state {
    TR_DNS_PENDING = 0, /* never answered yet: a query is on its way */
    TR_DNS_ADDRESSES,   /* records are addresses */
    TR_DNS_SRV,         /* records are SRV targets */
    TR_DNS_NOT_FOUND,   /* the name does not exist, or has no record of those types */
    TR_DNS_ERROR,       /* the server failed and there is no answer to keep */
};

struct tr_resolver;

/* A resolver on loop; on_change(ud) runs on that loop when an answer changed. NULL with a
 * message in err when c-ares cannot start (bad servers list). */
struct tr_resolver *tr_resolver_new(uv_loop_t *loop, const struct tr_resolver_opts *opts,
                                    void (*on_change)(void *ud), void *ud, char *err,
                                    size_t err_len);
/* Stop: queries in flight are cancelled; the resolver frees itself once its handles are
 * closed (the loop must run on). NULL is ignored. */
void tr_resolver_stop(struct tr_resolver *r);

/* What the cache knows of name: its state, and up to max of its records into out (*n set).
 * Starts a query when the name is new or its answer expired (an expired answer is still given:
 * stale, until the new one comes). Loop thread only. r NULL: the hosts file only. */
enum tr_dns_state tr_resolver_get(struct tr_resolver *r, const char *name,
                                  struct tr_dns_record *out, size_t max, size_t *n);

/* A snapshot build begins: names no build asked for since the last begin are forgotten, and
 * only names asked for from now on are refreshed when their answer expires. */
void tr_resolver_begin(struct tr_resolver *r);

/* The hosts file path of r (for a lookup without a resolver). */
const char *tr_resolver_hostsfile(const struct tr_resolver *r);

#endif
