/* SPDX-License-Identifier: MIT */
/* URL helpers: parsing an api's upstream_url, the P5 request-path normalization that routing,
 * plugins and the upstream all see, and the Kong 0.7 strip/join of the upstream path. Parsing
 * the request line itself is the HTTP parser's job. */
#include "http/url.h"

#include <arpa/inet.h>
#include <limits.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"

static const char hex_upper[] = "0123456789ABCDEF";

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 3986 §2.3 unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" */
static bool is_unreserved(unsigned char c)
{
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool has_prefix_ci(struct tr_str s, const char *prefix)
{
    size_t len = strlen(prefix);
    return s.len >= len && tr_str_ieq((struct tr_str){s.ptr, len}, (struct tr_str){prefix, len});
}

/* Strict dotted quad: four decimal parts 0..255 without leading zeros. */
static bool is_ipv4(struct tr_str h)
{
    size_t pos = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (pos >= h.len || h.ptr[pos] != '.')
                return false;
            pos++;
        }
        size_t start = pos;
        unsigned v = 0;
        while (pos < h.len && h.ptr[pos] >= '0' && h.ptr[pos] <= '9' && pos - start < 3)
            v = v * 10 + (unsigned)(h.ptr[pos++] - '0');
        size_t digits = pos - start;
        if (digits == 0 || v > 255 || (digits > 1 && h.ptr[start] == '0'))
            return false;
    }
    return pos == h.len;
}

/* A DNS-like reg-name: unreserved characters in non-empty labels (one trailing '.' allowed). A
 * name made only of digits and dots must be a valid IPv4 address. */
static bool is_valid_reg_name(struct tr_str h)
{
    bool only_digits = true;
    size_t label = 0;
    if (h.len == 0 || h.len > 255)
        return false;
    for (size_t i = 0; i < h.len; i++) {
        unsigned char c = (unsigned char)h.ptr[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        if (!is_unreserved(c))
            return false;
        if (c < '0' || c > '9')
            only_digits = false;
        label++;
    }
    return only_digits ? is_ipv4(h) : true;
}

static bool is_valid_ipv6(struct tr_str h)
{
    char buf[INET6_ADDRSTRLEN];
    unsigned char addr[16];
    if (h.len == 0 || h.len >= sizeof(buf))
        return false;
    memcpy(buf, h.ptr, h.len);
    buf[h.len] = '\0';
    return inet_pton(AF_INET6, buf, addr) == 1;
}

int tr_url_parse(struct tr_str s, struct tr_url *url)
{
    size_t pos;

    memset(url, 0, sizeof(*url));
    if (has_prefix_ci(s, "http://")) {
        url->scheme = TR_STR_LIT("http");
        url->port = 80;
        pos = 7;
    } else if (has_prefix_ci(s, "https://")) {
        url->scheme = TR_STR_LIT("https");
        url->port = 443;
        pos = 8;
    } else {
        return TR_EINVAL;
    }
    for (size_t i = pos; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        /* Fragments never belong in an upstream URL; controls and spaces never in any URL. */
        if (c < 0x21 || c > 0x7E || c == '#')
            return TR_EINVAL;
    }

    size_t end = pos;
    while (end < s.len && s.ptr[end] != '/' && s.ptr[end] != '?')
        end++;
    struct tr_str auth = {s.ptr + pos, end - pos};
    if (auth.len == 0 || memchr(auth.ptr, '@', auth.len))
        return TR_EINVAL;

    struct tr_str rest;
    if (auth.ptr[0] == '[') {
        const char *close = memchr(auth.ptr, ']', auth.len);
        if (close == NULL)
            return TR_EINVAL;
        url->host = (struct tr_str){auth.ptr + 1, (size_t)(close - auth.ptr) - 1};
        if (!is_valid_ipv6(url->host))
            return TR_EINVAL;
        url->is_ipv6 = true;
        rest = (struct tr_str){close + 1, auth.len - (size_t)(close - auth.ptr) - 1};
    } else {
        const char *colon = memchr(auth.ptr, ':', auth.len);
        size_t hlen = colon ? (size_t)(colon - auth.ptr) : auth.len;
        url->host = (struct tr_str){auth.ptr, hlen};
        if (!is_valid_reg_name(url->host))
            return TR_EINVAL;
        rest = (struct tr_str){auth.ptr + hlen, auth.len - hlen};
    }
    if (rest.len > 0) {
        uint64_t port;
        if (rest.ptr[0] != ':' || rest.len > 6 ||
            tr_str_to_u64((struct tr_str){rest.ptr + 1, rest.len - 1}, 65535, &port) != 0 ||
            port == 0)
            return TR_EINVAL;
        url->port = (uint16_t)port;
        url->has_port = true;
    }

    const char *q = memchr(s.ptr + end, '?', s.len - end);
    size_t path_end = q ? (size_t)(q - s.ptr) : s.len;
    url->path = (struct tr_str){s.ptr + end, path_end - end};
    if (q)
        url->query = (struct tr_str){q + 1, s.len - path_end - 1};
    return 0;
}

/* UTF-8 check over the decoded byte stream (RFC 3629 §4, which excludes overlong forms and
 * surrogates): need continuation bytes still expected, each within lo..hi. */
struct utf8_state {
    int need;
    unsigned char lo, hi;
};

static bool utf8_step(struct utf8_state *u, unsigned char c)
{
    if (u->need > 0) {
        if (c < u->lo || c > u->hi)
            return false;
        u->need--;
        u->lo = 0x80;
        u->hi = 0xBF;
        return true;
    }
    u->lo = 0x80;
    u->hi = 0xBF;
    if (c < 0x80)
        return true;
    if (c >= 0xC2 && c <= 0xDF) {
        u->need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        u->need = 2;
        if (c == 0xE0)
            u->lo = 0xA0;
        else if (c == 0xED)
            u->hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        u->need = 3;
        if (c == 0xF0)
            u->lo = 0x90;
        else if (c == 0xF4)
            u->hi = 0x8F;
    } else {
        return false;
    }
    return true;
}

/* Pass 1 of P5: decode unreserved escapes, re-emit the others in upper-case hex, reject what
 * is never allowed. Writes at most path.len bytes. Returns the length or TR_EBADREQ. */
static int decode_path(struct tr_str path, bool reject_escaped_slashes, char *out)
{
    struct utf8_state u = {0, 0x80, 0xBF};
    size_t w = 0;

    for (size_t i = 0; i < path.len; i++) {
        unsigned char c = (unsigned char)path.ptr[i];
        if (c == '%') {
            if (path.len - i < 3)
                return TR_EBADREQ;
            int hi = tr_hex_value(path.ptr[i + 1]), lo = tr_hex_value(path.ptr[i + 2]);
            if (hi < 0 || lo < 0)
                return TR_EBADREQ;
            i += 2;
            unsigned char v = (unsigned char)(hi * 16 + lo);
            if (v == 0 || !utf8_step(&u, v))
                return TR_EBADREQ;
            if (is_unreserved(v)) {
                out[w++] = (char)v;
                continue;
            }
            /* An encoded '/' or '\' stays one segment: it never separates (P5). */
            if ((v == '/' || v == '\\') && reject_escaped_slashes)
                return TR_EBADREQ;
            out[w++] = '%';
            out[w++] = hex_upper[v >> 4];
            out[w++] = hex_upper[v & 0xF];
            continue;
        }
        /* A raw '\' is rejected because backends disagree on whether it separates; '#' and '?'
         * cannot be in a path that the request-line parser already split. */
        if (c < 0x21 || c > 0x7E || c == '#' || c == '?' || c == '\\' || u.need > 0)
            return TR_EBADREQ;
        out[w++] = (char)c;
    }
    if (u.need > 0)
        return TR_EBADREQ;
    return (int)w;
}

/* Pass 2 of P5, in place: merge runs of '/', then RFC 3986 §5.2.4 remove_dot_segments (a final
 * "." or ".." leaves a trailing '/'). The write index never passes the read index. */
static int remove_dots(char *buf, size_t len)
{
    size_t o = 0, r = 0;

    while (r < len) {
        size_t start = r + 1, end = start;
        while (end < len && buf[end] != '/')
            end++;
        size_t slen = end - start;
        bool last = end >= len;
        const char *seg = buf + start;
        const char *semi = memchr(seg, ';', slen);
        size_t base = semi ? (size_t)(semi - seg) : slen;
        bool dot = base == 1 && seg[0] == '.';
        bool dotdot = base == 2 && seg[0] == '.' && seg[1] == '.';

        if ((dot || dotdot) && semi)
            return TR_EBADREQ; /* "..;x" means ".." to some backends (P5) */
        if (dotdot) {
            while (o > 0 && buf[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        }
        if (slen == 0 || dot || dotdot) {
            if (last)
                buf[o++] = '/';
        } else {
            buf[o++] = '/';
            memmove(buf + o, seg, slen);
            o += slen;
        }
        r = end;
    }
    if (o == 0)
        buf[o++] = '/';
    return (int)o;
}

int tr_url_normalize_path(struct tr_str path, bool reject_escaped_slashes, char *out,
                          size_t out_cap)
{
    if (path.len == 0 || path.ptr[0] != '/' || path.len > INT_MAX - 1 || out_cap < path.len + 1)
        return TR_EBADREQ;
    int len = decode_path(path, reject_escaped_slashes, out);
    if (len < 0)
        return len;
    len = remove_dots(out, (size_t)len);
    if (len > 0)
        out[len] = '\0';
    return len;
}

int tr_url_join_upstream_path(struct tr_str upstream_path, struct tr_str req_path,
                              struct tr_str strip_prefix, char *out, size_t out_cap)
{
    struct tr_str up = upstream_path, rest = req_path;

    /* Kong 0.7 drops the upstream_url's trailing '/' before appending the request path. */
    if (up.len > 0 && up.ptr[up.len - 1] == '/')
        up.len--;
    if (strip_prefix.len > 0 && strip_prefix.ptr[strip_prefix.len - 1] == '/')
        strip_prefix.len--;
    if (strip_prefix.len > 0 && tr_str_has_prefix(rest, strip_prefix)) {
        rest.ptr += strip_prefix.len;
        rest.len -= strip_prefix.len;
    }

    /* Kong adds '/' only when the upstream has no path; we add it wherever two parts would
     * otherwise glue into one segment (only reachable with a strip off a segment boundary). */
    bool slash_up = up.len > 0 && up.ptr[0] != '/';
    bool slash_rest = rest.len > 0 && rest.ptr[0] != '/';
    size_t total = (size_t)slash_up + up.len + (size_t)slash_rest + rest.len;
    if (total == 0)
        total = 1;
    if (total > out_cap || total > INT_MAX)
        return TR_ETOOLARGE;

    size_t w = 0;
    if (slash_up)
        out[w++] = '/';
    if (up.len)
        memcpy(out + w, up.ptr, up.len);
    w += up.len;
    if (slash_rest)
        out[w++] = '/';
    if (rest.len)
        memcpy(out + w, rest.ptr, rest.len);
    w += rest.len;
    if (w == 0)
        out[w++] = '/';
    return (int)w;
}

struct tr_str tr_url_host_without_port(struct tr_str host)
{
    if (host.len == 0)
        return host;
    if (host.ptr[0] == '[') {
        const char *rb = memchr(host.ptr, ']', host.len);
        if (rb)
            host.len = (size_t)(rb - host.ptr) + 1;
        return host;
    }
    const char *colon = memchr(host.ptr, ':', host.len);
    if (colon)
        host.len = (size_t)(colon - host.ptr);
    return host;
}
