/* SPDX-License-Identifier: MIT */
/* Strict HTTP/1.1 head parsers (requests and upstream responses) and the incremental chunked-body
 * decoder. Zero-copy and allocation-free; the rules are RFC 9112 narrowed by the security profile
 * (P1-P4, P7, P9). Routing, path normalization and header rewriting are left to other modules. */
#include "http/parser.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "core/err.h"
#include "http/websocket.h"

/* ---- Character classes ------------------------------------------------------------------- */

enum {
    C_TCHAR = 1 << 0,  /* RFC 9110 §5.6.2 token character */
    C_FIELD = 1 << 1,  /* field-value byte: SP, HTAB, VCHAR, obs-text (RFC 9110 §5.5) */
    C_TARGET = 1 << 2, /* request-target byte: VCHAR except '#' */
    C_HEX = 1 << 3,    /* HEXDIG */
    C_QDTEXT = 1 << 4, /* quoted-string qdtext (RFC 9110 §5.6.4) */
    C_HOST = 1 << 5,   /* reg-name label byte we accept: ALPHA, DIGIT, '-', '_' */
};

#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_VCHAR(c) ((c) >= 0x21 && (c) <= 0x7e)
#define IS_TCHAR(c)                                                                                \
    (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' ||         \
     (c) == '&' || (c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' ||          \
     (c) == '^' || (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
#define IS_HEX(c) (IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))

#define CLS(c)                                                                                     \
    ((IS_TCHAR(c) ? C_TCHAR : 0) |                                                                 \
     ((IS_VCHAR(c) || (c) == ' ' || (c) == '\t' || (c) >= 0x80) ? C_FIELD : 0) |                   \
     ((IS_VCHAR(c) && (c) != '#') ? C_TARGET : 0) | (IS_HEX(c) ? C_HEX : 0) |                      \
     (((c) == '\t' || (c) == ' ' || (c) == 0x21 || ((c) >= 0x23 && (c) <= 0x5b) ||                 \
       ((c) >= 0x5d && (c) <= 0x7e) || (c) >= 0x80)                                                \
          ? C_QDTEXT                                                                               \
          : 0) |                                                                                   \
     ((IS_ALPHA(c) || IS_DIGIT(c) || (c) == '-' || (c) == '_') ? C_HOST : 0))

#define R4(b) CLS(b), CLS((b) + 1), CLS((b) + 2), CLS((b) + 3)
#define R16(b) R4(b), R4((b) + 4), R4((b) + 8), R4((b) + 12)
#define R64(b) R16(b), R16((b) + 16), R16((b) + 32), R16((b) + 48)

static const unsigned char cls[256] = {R64(0), R64(64), R64(128), R64(192)};

static inline bool has_cls(char c, unsigned mask)
{
    return (cls[(unsigned char)c] & mask) != 0;
}

static inline bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* ---- Small helpers ----------------------------------------------------------------------- */

/* Compare s with a lower-case literal, ignoring ASCII case in s. */
static bool ieq_lit(const char *s, size_t len, const char *lit, size_t lit_len)
{
    if (len != lit_len)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (tr_ascii_lower(s[i]) != lit[i])
            return false;
    }
    return true;
}

#define IEQ(s, lit) ieq_lit((s).ptr, (s).len, lit, sizeof(lit) - 1)

static bool is_token(struct tr_str s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (!has_cls(s.ptr[i], C_TCHAR))
            return false;
    }
    return true;
}

/* Iterate over the members of a comma-separated list (RFC 9110 §5.6.1), dropping empty ones.
 * *pos is the cursor. Returns false at the end. */
static bool next_member(struct tr_str list, size_t *pos, struct tr_str *member)
{
    while (*pos < list.len) {
        size_t start = *pos;
        const char *comma = memchr(list.ptr + start, ',', list.len - start);
        size_t end = comma ? (size_t)(comma - list.ptr) : list.len;
        *pos = comma ? end + 1 : list.len;
        struct tr_str m = tr_str_trim((struct tr_str){list.ptr + start, end - start});
        if (m.len > 0) {
            *member = m;
            return true;
        }
    }
    return false;
}

/* RFC 9112 §6.3 and P1.3: 1..19 digits, no sign, fits in 63 bits. Returns 0 or TR_EINVAL. */
static int parse_content_length(struct tr_str v, uint64_t *out)
{
    if (v.len == 0 || v.len > 19)
        return TR_EINVAL;
    return tr_str_to_u64(v, INT64_MAX, out);
}

/* Dotted-quad IPv4, each part 0..255 without leading zeros. */
static bool is_ipv4(const char *p, size_t n)
{
    unsigned parts = 0;
    size_t i = 0;
    while (parts < 4) {
        size_t start = i;
        unsigned v = 0;
        while (i < n && IS_DIGIT(p[i]) && i - start < 3) {
            v = v * 10 + (unsigned)(p[i] - '0');
            i++;
        }
        if (i == start || v > 255 || (i - start > 1 && p[start] == '0'))
            return false;
        parts++;
        if (parts < 4) {
            if (i >= n || p[i] != '.')
                return false;
            i++;
        }
    }
    return i == n;
}

/* P4: Host (and an absolute-form authority) is a reg-name, IPv4 or bracketed IPv6 literal with an
 * optional port of at most 65535 (an empty port is allowed, RFC 3986 §3.2.3). Reg-names are
 * restricted to DNS-style labels (letters, digits, '-', '_') with one optional trailing dot;
 * all-numeric names must be a canonical IPv4 address. */
static bool is_valid_host(struct tr_str h)
{
    const char *p = h.ptr;
    size_t n = h.len, i = 0;

    if (n == 0)
        return false;
    if (p[0] == '[') {
        const char *close = memchr(p, ']', n);
        char tmp[INET6_ADDRSTRLEN + 1];
        struct in6_addr addr;
        size_t alen;

        if (!close)
            return false;
        alen = (size_t)(close - p) - 1;
        if (alen < 2 || alen >= sizeof(tmp))
            return false;
        memcpy(tmp, p + 1, alen);
        tmp[alen] = '\0';
        if (inet_pton(AF_INET6, tmp, &addr) != 1)
            return false;
        i = alen + 2;
    } else {
        size_t label = 0;
        bool numeric = true;

        for (; i < n && p[i] != ':'; i++) {
            char c = p[i];
            if (c == '.') {
                if (label == 0)
                    return false;
                label = 0;
                continue;
            }
            if (!has_cls(c, C_HOST) || ++label > 63)
                return false;
            if (!IS_DIGIT(c))
                numeric = false;
        }
        if (i == 0 || i > 255)
            return false;
        if (numeric && !is_ipv4(p, i))
            return false;
    }
    if (i < n) {
        unsigned port = 0;
        if (p[i] != ':' || n - i - 1 > 5)
            return false;
        for (i++; i < n; i++) {
            if (!IS_DIGIT(p[i]))
                return false;
            port = port * 10 + (unsigned)(p[i] - '0');
        }
        if (port > 65535)
            return false;
    }
    return true;
}

/* ---- Line scanning ----------------------------------------------------------------------- */

/* Limits after defaults and clamping (so sums never overflow and lengths fit an int). */
struct lims {
    size_t first_line; /* request/status line without CRLF */
    size_t field_line; /* one field line without CRLF */
    size_t head;       /* head from the first line through the final CRLF */
    size_t fields;     /* number of field lines */
    size_t blanks;     /* CRLF pairs skipped before a request line */
};

#define LIMIT_CLAMP ((size_t)1 << 30)

static size_t lim_or(size_t v, size_t def)
{
    if (v == 0)
        return def;
    return v > LIMIT_CLAMP ? LIMIT_CLAMP : v;
}

enum { LINE_OK = 0, LINE_LIMIT = 1 };

/* Find the LF ending the line that starts at s. The LF must lie before win_end (the line limit
 * plus CRLF, or the end of the allowed head). Returns LINE_OK with *lf set, TR_EAGAIN when the
 * window is not fully available yet, or LINE_LIMIT when the whole window holds no LF. The
 * answer depends only on bytes before win_end, which keeps the result the same whatever prefix
 * of the input is available. */
static int find_lf(const char *buf, size_t len, size_t s, size_t win_end, size_t *lf)
{
    size_t end = len < win_end ? len : win_end;
    const char *p = end > s ? memchr(buf + s, '\n', end - s) : NULL;

    if (p) {
        *lf = (size_t)(p - buf);
        return LINE_OK;
    }
    return end == win_end ? LINE_LIMIT : TR_EAGAIN;
}

/* Split a field line (without its CRLF) into name and OWS-trimmed value (RFC 9112 §5,
 * P1.2): the name is a token directly followed by ':' (so leading whitespace, which is how
 * obs-fold starts, and whitespace before the colon are refused); the value may hold SP, HTAB,
 * VCHAR and obs-text only. */
static bool parse_field(const char *p, size_t n, struct tr_http_header *h)
{
    size_t i = 0, vs, ve;

    while (i < n && has_cls(p[i], C_TCHAR))
        i++;
    if (i == 0 || i >= n || p[i] != ':')
        return false;
    h->name = (struct tr_str){p, i};
    i++;
    while (i < n && is_ows(p[i]))
        i++;
    vs = i;
    for (; i < n; i++) {
        if (!has_cls(p[i], C_FIELD))
            return false;
    }
    ve = n;
    while (ve > vs && is_ows(p[ve - 1]))
        ve--;
    h->value = (struct tr_str){p + vs, ve - vs};
    return true;
}

/* First byte in [p, end) that is not a field-value byte (or end). Eight bytes at a time while no
 * byte is below 0x20 or equal to 0x7f: HTAB and the CR ending the line stop the fast loop. */
static const char *skip_field_bytes(const char *p, const char *end)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;

    for (;;) {
        while (end - p >= 8) {
            uint64_t x, del;
            memcpy(&x, p, 8);
            del = x ^ (ones * 0x7f);
            if ((((x - ones * 0x20) & ~x) | ((del - ones) & ~del)) & highs)
                break;
            p += 8;
        }
        if (p >= end || !has_cls(*p, C_FIELD))
            return p;
        p++;
    }
}

/* The common field line, validated and split in one pass: name, ':', value, CRLF, all inside
 * [s, end). Returns the offset after the CRLF, or 0 when the line needs the careful path (which
 * then decides what is wrong with it, in the canonical order). */
static size_t fast_field(const char *buf, size_t s, size_t end, struct tr_http_header *h)
{
    const char *p = buf + s, *e = buf + end, *q = p, *v, *stop, *ve;

    while (q < e && has_cls(*q, C_TCHAR))
        q++;
    if (q == p || q >= e || *q != ':')
        return 0;
    v = q + 1;
    while (v < e && is_ows(*v))
        v++;
    stop = skip_field_bytes(v, e);
    if (e - stop < 2 || stop[0] != '\r' || stop[1] != '\n')
        return 0;
    ve = stop;
    while (ve > v && is_ows(ve[-1]))
        ve--;
    h->name = (struct tr_str){p, (size_t)(q - p)};
    h->value = (struct tr_str){v, (size_t)(ve - v)};
    return (size_t)(stop - buf) + 2;
}

/* Scan the field lines that start at *pos up to and including the empty line. With store, each
 * line is validated and stored in headers; without, only the structure (line ends, limits,
 * count) is checked. Returns 0 with *pos after the final CRLF, TR_EAGAIN, or err_bad /
 * err_large. */
static int scan_fields(const char *buf, size_t len, size_t *pos, size_t head_start,
                       const struct lims *lim, bool store, struct tr_http_header *headers,
                       size_t *num, int err_bad, int err_large)
{
    size_t s = *pos, n = 0, head_end = head_start + lim->head;

    for (;;) {
        size_t win_end = s + lim->field_line + 2, lf;
        int rc;

        if (win_end > head_end)
            win_end = head_end;
        if (store && n < lim->fields && s < len && buf[s] != '\r') {
            /* The LF found here lies inside the window and is the first one of the line, so
             * the outcome is the one the careful path below would reach. */
            size_t next = fast_field(buf, s, len < win_end ? len : win_end, &headers[n]);
            if (next) {
                n++;
                s = next;
                continue;
            }
        }
        rc = find_lf(buf, len, s, win_end, &lf);
        if (rc == TR_EAGAIN)
            return TR_EAGAIN;
        if (rc == LINE_LIMIT)
            return err_large;
        /* RFC 9112 §2.2 allows a bare LF; P1.1 does not. */
        if (lf == s || buf[lf - 1] != '\r')
            return err_bad;
        if (lf == s + 1)
            break;
        if (n == lim->fields)
            return err_large;
        /* A field line starts with a token (no obs-fold, no stray CR): checked in both passes so
         * that a head ending in such a line is refused now, not when the limits are reached. */
        if (!has_cls(buf[s], C_TCHAR))
            return err_bad;
        if (store && !parse_field(buf + s, lf - 1 - s, &headers[n]))
            return err_bad;
        n++;
        s = lf + 1;
    }
    *num = n;
    *pos = s + 2;
    return 0;
}

/* ---- Requests ---------------------------------------------------------------------------- */

static const char slash[] = "/";

/* Request line content (RFC 9112 §3): method SP request-target SP HTTP-version. */
static int parse_request_line(const char *p, size_t n, struct tr_http_request *req)
{
    size_t i = 0, t, v;
    struct tr_str target, rest;

    while (i < n && has_cls(p[i], C_TCHAR))
        i++;
    if (i == 0 || i >= n || p[i] != ' ')
        return TR_EBADREQ;
    req->method = (struct tr_str){p, i};
    t = ++i;
    while (i < n && has_cls(p[i], C_TARGET))
        i++;
    if (i == t || i >= n || p[i] != ' ')
        return TR_EBADREQ;
    target = (struct tr_str){p + t, i - t};
    v = i + 1;
    /* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3). */
    if (n - v != 8 || memcmp(p + v, "HTTP/", 5) != 0 || !IS_DIGIT(p[v + 5]) || p[v + 6] != '.' ||
        !IS_DIGIT(p[v + 7]))
        return TR_EBADREQ;
    if (p[v + 5] != '1' || p[v + 7] > '1')
        return TR_EVERSION;
    req->minor_version = p[v + 7] - '0';
    req->target = target;
    req->authority = TR_STR_NULL;

    /* P4: the gateway is never a forward proxy. CONNECT is refused whatever its target form
     * (authority, origin or other), before the target's form could make it a 400, so every
     * CONNECT gets the same 405 (and, as every parser error, a close). */
    if (req->method.len == 7 && memcmp(req->method.ptr, "CONNECT", 7) == 0)
        return TR_EMETHOD;

    /* RFC 9112 §3.2 and P4: origin-form, asterisk-form for OPTIONS only, absolute-form for
     * http/https; authority-form (CONNECT) and anything else are refused. */
    if (target.ptr[0] == '/') {
        rest = target;
    } else if (target.len == 1 && target.ptr[0] == '*') {
        if (!(req->method.len == 7 && memcmp(req->method.ptr, "OPTIONS", 7) == 0))
            return TR_EBADREQ;
        req->path = target;
        req->query = (struct tr_str){target.ptr + 1, 0};
        req->has_query = false;
        return 0;
    } else {
        size_t skip, a, end;
        if (target.len > 7 && ieq_lit(target.ptr, 7, "http://", 7))
            skip = 7;
        else if (target.len > 8 && ieq_lit(target.ptr, 8, "https://", 8))
            skip = 8;
        else
            return TR_EBADREQ;
        for (a = skip; a < target.len && target.ptr[a] != '/' && target.ptr[a] != '?'; a++)
            ;
        /* Userinfo is deprecated for http(s) and a classic confusion vector (RFC 9110 §4.2.4). */
        req->authority = (struct tr_str){target.ptr + skip, a - skip};
        if (memchr(req->authority.ptr, '@', req->authority.len) || !is_valid_host(req->authority))
            return TR_EBADREQ;
        rest = (struct tr_str){target.ptr + a, target.len - a};
        if (rest.len == 0 || rest.ptr[0] == '?') {
            /* RFC 9112 §3.2.1: an empty path is sent as "/". */
            const char *q = rest.ptr;
            end = rest.len;
            req->path = (struct tr_str){slash, 1};
            req->has_query = end > 0;
            req->query = end > 0 ? (struct tr_str){q + 1, end - 1} : (struct tr_str){q, 0};
            return 0;
        }
    }
    {
        const char *q = memchr(rest.ptr, '?', rest.len);
        if (q) {
            size_t plen = (size_t)(q - rest.ptr);
            req->path = (struct tr_str){rest.ptr, plen};
            req->query = (struct tr_str){q + 1, rest.len - plen - 1};
            req->has_query = true;
        } else {
            req->path = rest;
            req->query = (struct tr_str){rest.ptr + rest.len, 0};
            req->has_query = false;
        }
    }
    return 0;
}

/* Transfer-Encoding members, accumulated across all field lines in order (P1.4). */
struct te_state {
    bool seen;      /* any Transfer-Encoding line */
    bool chunked;   /* chunked seen */
    bool last_ok;   /* the last member so far was chunked */
    bool other;     /* a coding other than chunked */
    bool malformed; /* chunked twice, chunked not last, or a member that is not a coding */
    bool members;   /* at least one non-empty member */
};

static void te_add(struct te_state *te, struct tr_str value)
{
    size_t pos = 0;
    struct tr_str m;

    te->seen = true;
    while (next_member(value, &pos, &m)) {
        size_t i = 0;
        bool is_chunked;

        te->members = true;
        if (te->chunked) {
            /* RFC 9112 §6.3: chunked must be the final coding, and only once. */
            te->malformed = true;
        }
        while (i < m.len && has_cls(m.ptr[i], C_TCHAR))
            i++;
        if (i == 0) {
            te->malformed = true;
            continue;
        }
        is_chunked = ieq_lit(m.ptr, i, "chunked", 7);
        if (i < m.len) {
            /* A coding with parameters (RFC 9110 §10.1.4): never chunked, and must at least
             * start like one. */
            size_t j = i;
            while (j < m.len && is_ows(m.ptr[j]))
                j++;
            if (j >= m.len || m.ptr[j] != ';' || is_chunked)
                te->malformed = true;
            te->other = true;
            te->last_ok = false;
            continue;
        }
        if (is_chunked) {
            te->chunked = true;
            te->last_ok = true;
        } else {
            te->other = true;
            te->last_ok = false;
        }
    }
}

/* Connection options (RFC 9110 §7.6.1) that matter here. */
struct conn_state {
    bool close;
    bool keep_alive;
    bool upgrade;
    bool bad;
};

static void conn_add(struct conn_state *c, struct tr_str value)
{
    size_t pos = 0;
    struct tr_str m;

    while (next_member(value, &pos, &m)) {
        if (!is_token(m)) {
            c->bad = true;
        } else if (IEQ(m, "close")) {
            c->close = true;
        } else if (IEQ(m, "keep-alive")) {
            c->keep_alive = true;
        } else if (IEQ(m, "upgrade")) {
            c->upgrade = true;
        } else if (IEQ(m, "content-length") || IEQ(m, "transfer-encoding") || IEQ(m, "host")) {
            /* P7: dropping these as hop-by-hop would change framing or routing. */
            c->bad = true;
        }
    }
}

/* The fields that make a WebSocket opening handshake (RFC 6455 §4.1), counted: a repeated one
 * makes the request an ordinary one. */
struct ws_state {
    unsigned upgrades, keys, versions;
    bool websocket, version13;
};

/* Derive Host, framing, keep-alive, expectation and upgrade from the parsed fields. */
static int derive_request(struct tr_http_request *req)
{
    struct te_state te = {0};
    struct conn_state conn = {0};
    bool host_seen = false, cl_seen = false, expect_bad = false;
    bool http11 = req->minor_version == 1;
    struct ws_state ws = {0};

    req->host = TR_STR_NULL;
    req->ws_key = TR_STR_NULL;
    req->expect_continue = false;
    req->content_length = 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct tr_http_header *h = &req->headers[i];
        switch (h->name.len) {
        case 4:
            if (IEQ(h->name, "host")) {
                /* RFC 9112 §3.2: exactly one valid Host. */
                if (host_seen || !is_valid_host(h->value))
                    return TR_EBADREQ;
                host_seen = true;
                req->host = h->value;
            }
            break;
        case 6:
            if (IEQ(h->name, "expect") && http11) {
                size_t pos = 0;
                struct tr_str m;
                while (next_member(h->value, &pos, &m)) {
                    if (IEQ(m, "100-continue"))
                        req->expect_continue = true;
                    else
                        expect_bad = true;
                }
            }
            break;
        case 7:
            if (IEQ(h->name, "upgrade")) {
                ws.upgrades++;
                ws.websocket = IEQ(tr_str_trim(h->value), "websocket");
            }
            break;
        case 10:
            if (IEQ(h->name, "connection"))
                conn_add(&conn, h->value);
            break;
        case 14:
            if (IEQ(h->name, "content-length")) {
                /* P1.3: one line only, even with equal values. */
                if (cl_seen || parse_content_length(h->value, &req->content_length) != 0)
                    return TR_EBADREQ;
                cl_seen = true;
            }
            break;
        case 17:
            if (IEQ(h->name, "sec-websocket-key")) {
                ws.keys++;
                req->ws_key = h->value;
            } else if (IEQ(h->name, "transfer-encoding")) {
                /* P1.4: a 1.0 message with Transfer-Encoding crossed a broken hop. */
                if (!http11)
                    return TR_EBADREQ;
                te_add(&te, h->value);
            }
            break;
        case 21:
            if (IEQ(h->name, "sec-websocket-version")) {
                ws.versions++;
                ws.version13 = IEQ(h->value, "13");
            }
            break;
        default:
            break;
        }
    }
    if (conn.bad || (http11 && !host_seen))
        return TR_EBADREQ;
    if (te.seen) {
        /* RFC 9112 §6.3 and P1.5: both framings is the smuggling shape; refuse it. */
        if (cl_seen || te.malformed || !te.members)
            return TR_EBADREQ;
        if (te.other || !te.last_ok)
            return TR_ENOTIMPL;
        req->body = TR_HTTP_BODY_CHUNKED;
    } else {
        req->body = cl_seen ? TR_HTTP_BODY_LENGTH : TR_HTTP_BODY_NONE;
    }
    if (expect_bad)
        return TR_EEXPECT;
    req->keep_alive = http11 ? !conn.close : (conn.keep_alive && !conn.close);
    /* RFC 6455 §4.1: a GET over HTTP/1.1 with no body, Connection: upgrade, exactly one Upgrade
     * naming websocket alone, one well-formed key and version 13. Anything else with an Upgrade
     * (h2c above all) is an ordinary request whose Upgrade is dropped (P7). */
    req->websocket = conn.upgrade && http11 && ws.upgrades == 1 && ws.websocket && ws.keys == 1 &&
                     tr_http_websocket_key_ok(req->ws_key) && ws.versions == 1 && ws.version13 &&
                     req->body == TR_HTTP_BODY_NONE && req->method.len == 3 &&
                     memcmp(req->method.ptr, "GET", 3) == 0;
    return 0;
}

/* One pass over a request head. With full, everything is validated and stored; without, only
 * the line structure and the limits are checked, which is enough to know whether a full pass
 * can succeed yet. Errors are reported in input order, so a prefix of the input gives either
 * TR_EAGAIN or the error of the whole input. Returns head_len, TR_EAGAIN or an error. */
static int scan_request(const char *buf, size_t len, const struct lims *lim, bool full,
                        struct tr_http_request *req)
{
    size_t pos = 0, blanks = 0, head_start, win_end, lf;
    int rc;

    /* RFC 9112 §2.2: skip a bounded number of empty lines before the request line. */
    for (;;) {
        if (pos >= len)
            return TR_EAGAIN;
        if (buf[pos] != '\r')
            break;
        if (pos + 1 >= len)
            return TR_EAGAIN;
        if (buf[pos + 1] != '\n' || ++blanks > lim->blanks)
            return TR_EBADREQ;
        pos += 2;
    }
    head_start = pos;
    win_end = pos + lim->first_line + 2;
    if (win_end > head_start + lim->head)
        win_end = head_start + lim->head;
    rc = find_lf(buf, len, pos, win_end, &lf);
    if (rc == TR_EAGAIN)
        return TR_EAGAIN;
    if (rc == LINE_LIMIT)
        return lim->first_line + 2 <= lim->head ? TR_EURITOOLONG : TR_EHDRTOOLARGE;
    if (lf == pos || buf[lf - 1] != '\r' || !has_cls(buf[pos], C_TCHAR))
        return TR_EBADREQ;
    if (full) {
        rc = parse_request_line(buf + pos, lf - 1 - pos, req);
        if (rc != 0)
            return rc;
    }
    pos = lf + 1;
    rc = scan_fields(buf, len, &pos, head_start, lim, full, req->headers, &req->num_headers,
                     TR_EBADREQ, TR_EHDRTOOLARGE);
    if (rc != 0)
        return rc;
    if (full) {
        rc = derive_request(req);
        if (rc != 0)
            return rc;
        req->head_len = pos;
    }
    return (int)pos;
}

int tr_http_parse_request(const char *buf, size_t len, const struct tr_http_limits *limits,
                          struct tr_http_request *req)
{
    struct tr_http_limits none = {0};
    struct lims lim;

    if (!limits)
        limits = &none;
    lim.first_line = lim_or(limits->max_request_line, 8192);
    lim.field_line = lim_or(limits->max_field_line, 8192);
    lim.head = lim_or(limits->max_head, 32768);
    lim.fields = lim_or(limits->max_headers, 100);
    if (lim.fields > TR_HTTP_MAX_HEADERS_CAP)
        lim.fields = TR_HTTP_MAX_HEADERS_CAP;
    lim.blanks = lim_or(limits->max_blank_lines, 8);

    /* Cheap first look while the head is incomplete: the structural pass only looks for line
     * ends, so a slow client does not make us re-validate the whole head on every read. A buffer
     * ending in an empty line most likely holds a whole head; go straight to the full pass. */
    if (len < 4 || memcmp(buf + len - 4, "\r\n\r\n", 4) != 0) {
        int rc = scan_request(buf, len, &lim, false, req);
        if (rc == TR_EAGAIN)
            return TR_EAGAIN;
    }
    return scan_request(buf, len, &lim, true, req);
}

/* ---- Responses --------------------------------------------------------------------------- */

/* status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4). The SP after
 * the code is also accepted missing when no reason follows. */
static bool parse_status_line(const char *p, size_t n, struct tr_http_response *res)
{
    if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
        return false;
    if (p[9] < '1' || p[9] > '5' || !IS_DIGIT(p[10]) || !IS_DIGIT(p[11]))
        return false;
    res->minor_version = p[7] - '0';
    res->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (n == 12) {
        res->reason = (struct tr_str){p + 12, 0};
        return true;
    }
    if (p[12] != ' ')
        return false;
    for (size_t i = 13; i < n; i++) {
        if (!has_cls(p[i], C_FIELD))
            return false;
    }
    res->reason = (struct tr_str){p + 13, n - 13};
    return true;
}

/* P9: framing, keep-alive and the fields the proxy must not see twice. */
static int derive_response(struct tr_http_response *res, bool is_head_request)
{
    struct te_state te = {0};
    struct conn_state conn = {0};
    bool cl_seen = false;
    bool http11 = res->minor_version == 1;

    res->content_length = 0;
    for (size_t i = 0; i < res->num_headers; i++) {
        const struct tr_http_header *h = &res->headers[i];
        if (h->name.len == 14 && IEQ(h->name, "content-length")) {
            if (cl_seen || parse_content_length(h->value, &res->content_length) != 0)
                return TR_EUPSTREAM_BADRESP;
            cl_seen = true;
        } else if (h->name.len == 17 && IEQ(h->name, "transfer-encoding")) {
            if (!http11)
                return TR_EUPSTREAM_BADRESP;
            te_add(&te, h->value);
        } else if (h->name.len == 10 && IEQ(h->name, "connection")) {
            conn_add(&conn, h->value);
        }
    }
    if (conn.bad)
        return TR_EUPSTREAM_BADRESP;
    if (te.seen && (cl_seen || te.malformed || te.other || !te.members || !te.last_ok))
        return TR_EUPSTREAM_BADRESP;
    res->keep_alive = http11 ? !conn.close : (conn.keep_alive && !conn.close);
    /* RFC 9112 §6.3 items 1-2: no body, whatever the fields say. */
    if (is_head_request || res->status < 200 || res->status == 204 || res->status == 304) {
        res->body = TR_HTTP_BODY_NONE;
    } else if (te.seen) {
        res->body = TR_HTTP_BODY_CHUNKED;
    } else if (cl_seen) {
        res->body = TR_HTTP_BODY_LENGTH;
    } else {
        res->body = TR_HTTP_BODY_EOF;
        res->keep_alive = false;
    }
    return 0;
}

static int scan_response(const char *buf, size_t len, const struct lims *lim, bool full,
                         bool is_head_request, struct tr_http_response *res)
{
    size_t pos = 0, lf;
    int rc = find_lf(buf, len, 0, lim->head, &lf);

    if (rc == TR_EAGAIN)
        return TR_EAGAIN;
    if (rc == LINE_LIMIT || lf == 0 || buf[lf - 1] != '\r')
        return TR_EUPSTREAM_BADRESP;
    if (full && !parse_status_line(buf, lf - 1, res))
        return TR_EUPSTREAM_BADRESP;
    pos = lf + 1;
    rc = scan_fields(buf, len, &pos, 0, lim, full, res->headers, &res->num_headers,
                     TR_EUPSTREAM_BADRESP, TR_EUPSTREAM_BADRESP);
    if (rc != 0)
        return rc;
    if (full) {
        rc = derive_response(res, is_head_request);
        if (rc != 0)
            return rc;
        res->head_len = pos;
    }
    return (int)pos;
}

int tr_http_parse_response(const char *buf, size_t len, const struct tr_http_limits *limits,
                           bool is_head_request, struct tr_http_response *res)
{
    struct lims lim;
    size_t max_head = limits ? lim_or(limits->max_head, 0) : 0;
    size_t max_fields = limits ? lim_or(limits->max_headers, 0) : 0;

    /* P9: 64 KiB and 100 fields, or the configured limits when larger. */
    lim.head = max_head > 65536 ? max_head : 65536;
    lim.fields = max_fields > 100 ? max_fields : 100;
    if (lim.fields > TR_HTTP_MAX_HEADERS_CAP)
        lim.fields = TR_HTTP_MAX_HEADERS_CAP;
    lim.first_line = lim.head;
    lim.field_line = lim.head;
    lim.blanks = 0;

    if (len < 4 || memcmp(buf + len - 4, "\r\n\r\n", 4) != 0) {
        int rc = scan_response(buf, len, &lim, false, is_head_request, res);
        if (rc == TR_EAGAIN)
            return TR_EAGAIN;
    }
    return scan_response(buf, len, &lim, true, is_head_request, res);
}

/* ---- Chunked bodies ---------------------------------------------------------------------- */

enum {
    CK_SIZE_START, /* first hex digit of a chunk-size */
    CK_SIZE,       /* more hex digits, ';', BWS or CR */
    CK_BWS_SEMI,   /* BWS that must be followed by ';' */
    CK_EXT_NAME0,  /* after ';': BWS, then a token */
    CK_EXT_NAME,   /* in the extension name */
    CK_EXT_NAME_W, /* BWS after the name: '=' or ';' must follow */
    CK_EXT_VAL0,   /* after '=': BWS, then a token or quoted-string */
    CK_EXT_TOKEN,  /* in a token value */
    CK_EXT_QUOTED, /* in a quoted-string value */
    CK_EXT_ESC,    /* after a backslash in a quoted-string */
    CK_EXT_QEND,   /* after the closing quote */
    CK_SIZE_LF,    /* LF ending the chunk-size line */
    CK_DATA,       /* chunk data */
    CK_DATA_CR,    /* CR after chunk data */
    CK_DATA_LF,    /* LF after chunk data */
    CK_TR_START,   /* start of a trailer line (or the final CRLF) */
    CK_TR_NAME,    /* trailer field name */
    CK_TR_VALUE,   /* trailer field value */
    CK_TR_LF,      /* LF ending a trailer line */
    CK_END_LF,     /* LF of the final empty line */
    CK_DONE,
    CK_ERROR,
};

#define CK_EXT_MAX 1024          /* extension bytes per chunk (P1.6) */
#define CK_EXT_TOTAL_MAX 4096    /* extension bytes per message (P1.6) */
#define CK_TRAILER_LINE_MAX 8192 /* one trailer line */
#define CK_TRAILER_MAX 8192      /* the whole trailer section */
#define CK_TRAILER_FIELDS 100

void tr_http_chunked_init(struct tr_http_chunked *dec)
{
    memset(dec, 0, sizeof(*dec));
    dec->state = CK_SIZE_START;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return (tr_ascii_lower(c) - 'a') + 10;
}

/* Advance the framing state by one byte; returns false on a framing error. */
static bool chunk_step(struct tr_http_chunked *dec, char c)
{
    int st = dec->state;

    if (st >= CK_BWS_SEMI && st <= CK_EXT_QEND && c != '\r') {
        if (++dec->ext_len > CK_EXT_MAX || ++dec->ext_total > CK_EXT_TOTAL_MAX)
            return false;
    } else if (st >= CK_TR_START && st <= CK_END_LF) {
        if (++dec->trailer_len > CK_TRAILER_LINE_MAX || ++dec->trailer_total > CK_TRAILER_MAX)
            return false;
    }

    switch (st) {
    case CK_SIZE_START:
        if (!has_cls(c, C_HEX))
            return false;
        dec->remaining = (uint64_t)hexval(c);
        dec->size_digits = 1;
        dec->ext_len = 0;
        dec->state = CK_SIZE;
        return true;
    case CK_SIZE:
        if (has_cls(c, C_HEX)) {
            uint64_t d = (uint64_t)hexval(c);
            /* P1.6: at most 16 digits, and the size must fit in 63 bits. */
            if (++dec->size_digits > 16 || dec->remaining > ((uint64_t)INT64_MAX - d) / 16)
                return false;
            dec->remaining = dec->remaining * 16 + d;
            return true;
        }
        if (c == '\r') {
            dec->state = CK_SIZE_LF;
            return true;
        }
        if (c == ';') {
            dec->state = CK_EXT_NAME0;
        } else if (is_ows(c)) {
            dec->state = CK_BWS_SEMI;
        } else {
            return false;
        }
        /* The byte starts the extension: count it. */
        return ++dec->ext_len <= CK_EXT_MAX && ++dec->ext_total <= CK_EXT_TOTAL_MAX;
    case CK_BWS_SEMI:
        if (c == ';')
            dec->state = CK_EXT_NAME0;
        else if (!is_ows(c))
            return false;
        return true;
    case CK_EXT_NAME0:
        if (has_cls(c, C_TCHAR))
            dec->state = CK_EXT_NAME;
        else if (!is_ows(c))
            return false;
        return true;
    case CK_EXT_NAME:
        if (has_cls(c, C_TCHAR))
            return true;
        if (c == '=')
            dec->state = CK_EXT_VAL0;
        else if (c == ';')
            dec->state = CK_EXT_NAME0;
        else if (c == '\r')
            dec->state = CK_SIZE_LF;
        else if (is_ows(c))
            dec->state = CK_EXT_NAME_W;
        else
            return false;
        return true;
    case CK_EXT_NAME_W:
        if (c == '=')
            dec->state = CK_EXT_VAL0;
        else if (c == ';')
            dec->state = CK_EXT_NAME0;
        else if (!is_ows(c))
            return false;
        return true;
    case CK_EXT_VAL0:
        if (c == '"')
            dec->state = CK_EXT_QUOTED;
        else if (has_cls(c, C_TCHAR))
            dec->state = CK_EXT_TOKEN;
        else if (!is_ows(c))
            return false;
        return true;
    case CK_EXT_TOKEN:
        if (has_cls(c, C_TCHAR))
            return true;
        if (c == ';')
            dec->state = CK_EXT_NAME0;
        else if (c == '\r')
            dec->state = CK_SIZE_LF;
        else if (is_ows(c))
            dec->state = CK_BWS_SEMI;
        else
            return false;
        return true;
    case CK_EXT_QUOTED:
        if (c == '"')
            dec->state = CK_EXT_QEND;
        else if (c == '\\')
            dec->state = CK_EXT_ESC;
        else if (!has_cls(c, C_QDTEXT))
            return false;
        return true;
    case CK_EXT_ESC:
        /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
        if (!has_cls(c, C_FIELD))
            return false;
        dec->state = CK_EXT_QUOTED;
        return true;
    case CK_EXT_QEND:
        if (c == ';')
            dec->state = CK_EXT_NAME0;
        else if (c == '\r')
            dec->state = CK_SIZE_LF;
        else if (is_ows(c))
            dec->state = CK_BWS_SEMI;
        else
            return false;
        return true;
    case CK_SIZE_LF:
        if (c != '\n')
            return false;
        if (dec->remaining == 0) {
            dec->state = CK_TR_START;
            dec->trailer_len = 0;
        } else {
            if (dec->remaining > (uint64_t)INT64_MAX - dec->body_len)
                return false;
            dec->state = CK_DATA;
        }
        return true;
    case CK_DATA_CR:
        if (c != '\r')
            return false;
        dec->state = CK_DATA_LF;
        return true;
    case CK_DATA_LF:
        if (c != '\n')
            return false;
        dec->state = CK_SIZE_START;
        return true;
    case CK_TR_START:
        /* Trailer fields follow the field-line rules (P1.6): no leading whitespace. */
        if (c == '\r') {
            dec->state = CK_END_LF;
            return true;
        }
        if (!has_cls(c, C_TCHAR) || ++dec->trailer_count > CK_TRAILER_FIELDS)
            return false;
        dec->state = CK_TR_NAME;
        return true;
    case CK_TR_NAME:
        if (c == ':')
            dec->state = CK_TR_VALUE;
        else if (!has_cls(c, C_TCHAR))
            return false;
        return true;
    case CK_TR_VALUE:
        if (c == '\r')
            dec->state = CK_TR_LF;
        else if (!has_cls(c, C_FIELD))
            return false;
        return true;
    case CK_TR_LF:
        if (c != '\n')
            return false;
        dec->trailer_len = 0;
        dec->state = CK_TR_START;
        return true;
    case CK_END_LF:
        if (c != '\n')
            return false;
        dec->state = CK_DONE;
        return true;
    default:
        return false;
    }
}

int tr_http_chunked_parse(struct tr_http_chunked *dec, const char *buf, size_t len,
                          size_t *consumed, struct tr_str *data)
{
    size_t i = 0;

    if (dec->state == CK_ERROR) {
        *consumed = 0;
        return TR_EBADREQ;
    }
    while (i < len) {
        if (dec->state == CK_DONE)
            break;
        if (dec->state == CK_DATA) {
            size_t avail = len - i;
            size_t n = dec->remaining < avail ? (size_t)dec->remaining : avail;
            *data = (struct tr_str){buf + i, n};
            dec->remaining -= n;
            dec->body_len += n;
            if (dec->remaining == 0)
                dec->state = CK_DATA_CR;
            *consumed = i + n;
            return 1;
        }
        if (!chunk_step(dec, buf[i])) {
            dec->state = CK_ERROR;
            *consumed = i;
            return TR_EBADREQ;
        }
        i++;
    }
    *consumed = i;
    return dec->state == CK_DONE ? 2 : 0;
}

/* ---- Lookups ----------------------------------------------------------------------------- */

const struct tr_http_header *tr_http_find_header(const struct tr_http_header *headers, size_t num,
                                                 struct tr_str name)
{
    for (size_t i = 0; i < num; i++) {
        if (tr_str_ieq(headers[i].name, name))
            return &headers[i];
    }
    return NULL;
}

bool tr_http_list_has_token(struct tr_str value, struct tr_str token)
{
    size_t pos = 0;
    struct tr_str m;

    while (next_member(value, &pos, &m)) {
        if (tr_str_ieq(m, token))
            return true;
    }
    return false;
}

bool tr_http_field_value_ok(struct tr_str value)
{
    const char *end = value.ptr + value.len;
    return skip_field_bytes(value.ptr, end) == end;
}

bool tr_http_token_ok(struct tr_str name)
{
    return is_token(name);
}

bool tr_http_target_ok(struct tr_str target)
{
    for (size_t i = 0; i < target.len; i++) {
        if (!has_cls(target.ptr[i], C_TARGET))
            return false;
    }
    return true;
}

bool tr_http_is_token_list(struct tr_str value)
{
    size_t pos = 0, cnt = 0;
    struct tr_str m;

    while (next_member(value, &pos, &m)) {
        if (!is_token(m))
            return false;
        cnt++;
    }
    return cnt > 0;
}
