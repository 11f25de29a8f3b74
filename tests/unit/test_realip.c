/* SPDX-License-Identifier: MIT */
/* The client address of P8 (proxy/realip.c): the peer unless trusted, then X-Forwarded-For
 * walked from the right across every such field, skipping trusted addresses, stopping at junk. */
#include <string.h>

#include "check.h"
#include "core/cidr.h"
#include "proxy/internal.h"

static struct tr_http_header hdr(const char *name, const char *value)
{
    return (struct tr_http_header){tr_str_from_cstr(name), tr_str_from_cstr(value)};
}

static const char *client(const struct tr_cidr_list *trusted, const char *peer,
                          const struct tr_http_header *h, size_t n, bool *is_trusted)
{
    static char out[48];
    memset(out, 'x', sizeof(out));
    *is_trusted = tr__realip_compute(trusted, peer, h, n, out, sizeof(out));
    return out;
}

int main(void)
{
    struct tr_cidr_list none = {0}, t;
    char err[128];
    bool tr;
    struct tr_http_header one[] = {hdr("Host", "svc.test"),
                                   hdr("X-Forwarded-For", "198.51.100.7, 127.0.0.1")};

    /* Untrusted by default: the peer, whatever the header says (D-03). */
    TR_CHECK_STR(client(&none, "127.0.0.1", one, 2, &tr), "127.0.0.1");
    TR_CHECK(!tr);
    TR_CHECK_STR(client(NULL, "::1", one, 2, &tr), "::1");
    TR_CHECK(!tr);

    TR_CHECK_INT(tr_cidr_list_parse("127.0.0.1/32, 10.0.0.0/8, ::1", &t, err, sizeof(err)), 0);
    /* D-04: a list, and the same split over two fields. */
    TR_CHECK_STR(client(&t, "127.0.0.1", one, 2, &tr), "198.51.100.7");
    TR_CHECK(tr);
    struct tr_http_header two[] = {hdr("x-forwarded-for", "198.51.100.7"), hdr("Accept", "*/*"),
                                   hdr("X-Forwarded-For", "127.0.0.1")};
    TR_CHECK_STR(client(&t, "127.0.0.1", two, 3, &tr), "198.51.100.7");
    /* Fields in order, walked from the right: the last field's address, not the first's. */
    struct tr_http_header fields[] = {hdr("X-Forwarded-For", "203.0.113.9"),
                                      hdr("X-Forwarded-For", "198.51.100.7")};
    TR_CHECK_STR(client(&t, "127.0.0.1", fields, 2, &tr), "198.51.100.7");
    /* Junk stops the walk: the last trusted address is the client. */
    struct tr_http_header junk[] = {hdr("X-Forwarded-For", "198.51.100.7, junk")};
    TR_CHECK_STR(client(&t, "127.0.0.1", junk, 1, &tr), "127.0.0.1");
    struct tr_http_header junk2[] = {hdr("X-Forwarded-For", "198.51.100.7, junk, 10.1.2.3")};
    TR_CHECK_STR(client(&t, "127.0.0.1", junk2, 1, &tr), "10.1.2.3");
    /* An entry's port is dropped, as nginx's realip does (Kong 3.9's 03-upstream_headers_spec
     * "recursive trusted"); a port that is not a number is junk. */
    struct tr_http_header port[] = {hdr("X-Forwarded-For", "198.51.100.7:4000")};
    TR_CHECK_STR(client(&t, "127.0.0.1", port, 1, &tr), "198.51.100.7");
    struct tr_http_header ports[] = {
        hdr("X-Forwarded-For", "127.0.0.1:14, 198.51.100.7:15, 10.0.0.1:16, 127.0.0.1:17")};
    TR_CHECK_STR(client(&t, "127.0.0.1", ports, 1, &tr), "198.51.100.7");
    struct tr_http_header v6port[] = {hdr("X-Forwarded-For", "[2001:DB8::1]:443, [::1]")};
    TR_CHECK_STR(client(&t, "127.0.0.1", v6port, 1, &tr), "2001:db8::1");
    struct tr_http_header badport[] = {hdr("X-Forwarded-For", "198.51.100.7:http")};
    TR_CHECK_STR(client(&t, "127.0.0.1", badport, 1, &tr), "127.0.0.1");
    struct tr_http_header badv6[] = {hdr("X-Forwarded-For", "[2001:db8::1]x, [::1")};
    TR_CHECK_STR(client(&t, "127.0.0.1", badv6, 1, &tr), "127.0.0.1");
    /* Every entry trusted: the leftmost one. */
    struct tr_http_header all[] = {hdr("X-Forwarded-For", "10.0.0.9, 10.0.0.8")};
    TR_CHECK_STR(client(&t, "127.0.0.1", all, 1, &tr), "10.0.0.9");
    /* Rightmost untrusted wins over addresses further left (which a client can forge). */
    struct tr_http_header forged[] = {hdr("X-Forwarded-For", "6.6.6.6, 203.0.113.5, 10.0.0.2")};
    TR_CHECK_STR(client(&t, "127.0.0.1", forged, 1, &tr), "203.0.113.5");
    /* Empty elements are skipped; IPv6 is canonicalized. */
    struct tr_http_header v6[] = {hdr("X-Forwarded-For", "2001:DB8:0:0::1 , ,")};
    TR_CHECK_STR(client(&t, "::1", v6, 1, &tr), "2001:db8::1");
    TR_CHECK(tr);
    /* No header: the trusted peer itself. */
    TR_CHECK_STR(client(&t, "10.9.9.9", one, 1, &tr), "10.9.9.9");
    TR_CHECK(tr);
    /* An untrusted peer with a header naming a trusted address: still the peer. */
    TR_CHECK_STR(client(&t, "192.0.2.1", one, 2, &tr), "192.0.2.1");
    TR_CHECK(!tr);
    /* Too long an entry is junk, not a crash. */
    char longv[300];
    memset(longv, '1', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    struct tr_http_header lng[] = {hdr("X-Forwarded-For", longv)};
    TR_CHECK_STR(client(&t, "127.0.0.1", lng, 1, &tr), "127.0.0.1");
    tr_cidr_list_free(&t);
    return TR_CHECK_DONE();
}
