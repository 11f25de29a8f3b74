/* SPDX-License-Identifier: MIT */
/* Strict HTTP/1.1 message-head parsers (RFC 9112) for requests from clients and responses from
 * upstreams, and an incremental chunked-body decoder. They never copy: every slice points into
 * the caller's buffer. They never guess: anything ambiguous is an error (see the security
 * profile, P1-P4, P9). Framing (Content-Length / chunked / none) is derived here so the proxy
 * never looks at those headers itself. */
#ifndef TR_HTTP_PARSER_H
#define TR_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

#define TR_HTTP_MAX_HEADERS_CAP 256 /* hard array size; the configured limit is <= this */

struct tr_http_header {
    struct tr_str name;  /* borrowed from the parsed buffer */
    struct tr_str value; /* OWS trimmed; borrowed */
};

/* How the body that follows a head is delimited. */
enum tr_http_body {
    TR_HTTP_BODY_NONE,    /* no body */
    TR_HTTP_BODY_LENGTH,  /* exactly content_length bytes */
    TR_HTTP_BODY_CHUNKED, /* chunked coding; feed it to tr_http_chunked_parse */
    TR_HTTP_BODY_EOF,     /* responses only: until the upstream closes */
};

/* Limits; a zero field means the default in parentheses. */
struct tr_http_limits {
    size_t max_request_line; /* bytes without CRLF (8192) -> 414 */
    size_t max_field_line;   /* one header line without CRLF (8192) -> 431 */
    size_t max_head;         /* whole head incl. request line (32768) -> 431 */
    size_t max_headers;      /* header fields (100, at most TR_HTTP_MAX_HEADERS_CAP) -> 431 */
    size_t max_blank_lines;  /* empty lines tolerated before a request line (8) -> 400 */
};

struct tr_http_request {
    struct tr_str method;
    struct tr_str target;    /* raw request-target as sent */
    struct tr_str authority; /* absolute-form only: the authority (host[:port]) of the target,
                                syntax-checked like Host; empty for origin- and asterisk-form.
                                The proxy compares it with Host (P4). */
    struct tr_str path;      /* target up to '?' (origin-form or the path of absolute-form, "/"
                                when that is empty: then it points to a static "/"), or "*" */
    struct tr_str query;     /* after '?', without it; empty if none */
    bool has_query;          /* a '?' was present (even if the query is empty) */
    int minor_version;       /* HTTP/1.<minor_version>: 0 or 1 */
    struct tr_http_header headers[TR_HTTP_MAX_HEADERS_CAP];
    size_t num_headers;

    /* Derived facts. */
    struct tr_str host; /* Host header value (exactly one required in HTTP/1.1) */
    enum tr_http_body body;
    uint64_t content_length; /* valid when body == TR_HTTP_BODY_LENGTH */
    bool keep_alive;         /* per version and Connection tokens */
    bool expect_continue;    /* "Expect: 100-continue" */
    bool websocket;          /* a WebSocket opening handshake (RFC 6455 §4.1: GET, HTTP/1.1, no
                                body, Connection: upgrade, Upgrade: websocket, one valid
                                Sec-WebSocket-Key, Sec-WebSocket-Version: 13). No other
                                upgrade is ever one: its Upgrade header is dropped (P7). */
    struct tr_str ws_key;    /* with websocket: the Sec-WebSocket-Key value */
    size_t head_len;         /* bytes consumed including the final CRLF (and skipped blanks) */
};

struct tr_http_response {
    int minor_version;
    int status; /* 100..599 */
    struct tr_str reason;
    struct tr_http_header headers[TR_HTTP_MAX_HEADERS_CAP];
    size_t num_headers;
    enum tr_http_body body; /* NONE for 1xx/204/304 and for responses to HEAD */
    uint64_t content_length;
    bool keep_alive; /* the upstream connection may be reused after this response */
    size_t head_len;
};

/* Parse a request head at the start of buf[0..len).
 * Returns head_len (> 0) on success and fills *req; TR_EAGAIN when more bytes are needed (the
 * caller re-calls with the same buffer start and more bytes); or a negative error: TR_EBADREQ
 * (400), TR_EURITOOLONG (414), TR_EHDRTOOLARGE (431), TR_ENOTIMPL (501, a transfer coding other
 * than chunked), TR_EVERSION (505, a well-formed HTTP/x.y we do not speak), TR_EEXPECT (417),
 * TR_EMETHOD (405, any CONNECT: P4).
 * limits may be NULL for the defaults. The call is stateless: req is overwritten (and may be
 * partly filled on errors). While the head is incomplete only line ends and limits are looked
 * at, so re-calling after every read stays cheap; any prefix of an input gives TR_EAGAIN or the
 * same result as the whole input, and the limits are enforced before the head is complete (a
 * request line over max_request_line with no CRLF yet is TR_EURITOOLONG at once). A request
 * line longer than max_head is TR_EHDRTOOLARGE. Percent-escapes in the target are left to
 * tr_url_normalize_path. */
int tr_http_parse_request(const char *buf, size_t len, const struct tr_http_limits *limits,
                          struct tr_http_request *req);

/* Parse an upstream response head. is_head_request: the request was HEAD (no body follows).
 * Returns head_len, TR_EAGAIN, or TR_EUPSTREAM_BADRESP for anything invalid (P9): the field
 * rules of requests, a head over 64 KiB or over 100 fields (or limits->max_head / max_headers
 * when larger; limits may be NULL), any repeated Content-Length, Transfer-Encoding other than
 * exactly chunked (or in HTTP/1.0), both framings. The status line must be HTTP/1.0 or HTTP/1.1
 * with a code 100..599; "HTTP/1.1 204" without the SP before an empty reason is accepted.
 * keep_alive is false for Connection: close, for HTTP/1.0 without keep-alive and for
 * TR_HTTP_BODY_EOF. */
int tr_http_parse_response(const char *buf, size_t len, const struct tr_http_limits *limits,
                           bool is_head_request, struct tr_http_response *res);

/* Incremental chunked-body decoder; zero it (or call tr_http_chunked_init) before use. */
struct tr_http_chunked {
    int state;
    uint64_t remaining;   /* data bytes left in the current chunk */
    unsigned size_digits; /* digits seen in the current chunk-size */
    size_t ext_len;       /* extension bytes in the current chunk */
    size_t ext_total;     /* extension bytes in the message */
    size_t trailer_len;   /* bytes of the current trailer line */
    size_t trailer_total; /* bytes of the whole trailer section */
    size_t trailer_count; /* trailer fields seen */
    uint64_t body_len;    /* total data bytes decoded so far */
};

void tr_http_chunked_init(struct tr_http_chunked *dec);

/* Decode from buf[0..len). Sets *consumed to the bytes used. If data was found, *data is a slice
 * of buf (at most one contiguous run per call) and the function returns 1; call again with the
 * rest. Returns 0 when all input was consumed without completing (need more), 2 when the final
 * chunk and trailers are complete (*consumed stops right after them: any following bytes belong to
 * the next message), or TR_EBADREQ on any framing error (P1.6). Input may be split anywhere.
 * Chunk sizes are 1-16 hex digits below 2^63, extensions are checked and capped (1 KiB per chunk,
 * 4 KiB per message), trailers are checked like header fields and capped (8 KiB, 100 fields);
 * extensions and trailers are never returned. After 2, further calls return 2 and consume
 * nothing; after an error, further calls return TR_EBADREQ. dec->body_len counts data bytes. */
int tr_http_chunked_parse(struct tr_http_chunked *dec, const char *buf, size_t len,
                          size_t *consumed, struct tr_str *data);

/* Find a header by name (case-insensitive); returns the first match or NULL. */
const struct tr_http_header *tr_http_find_header(const struct tr_http_header *headers, size_t num,
                                                 struct tr_str name);

/* Does the comma-separated header value list contain token (case-insensitive)? */
bool tr_http_list_has_token(struct tr_str value, struct tr_str token);

/* Is value a field value this parser would accept (SP, HTAB, VCHAR, obs-text: no CR, LF, NUL or
 * other control byte; RFC 9110 §5.5)? Is name a token (RFC 9110 §5.6.2)? Is target made of the
 * request-target bytes the parser accepts (VCHAR except '#')? The head writer checks what torii
 * writes with the same classes the parser reads with. */
bool tr_http_field_value_ok(struct tr_str value);
bool tr_http_token_ok(struct tr_str name);
bool tr_http_target_ok(struct tr_str target);

/* Is value a comma-separated list of tokens (RFC 9110 §5.6.1, §5.6.2) with at least one member?
 * Empty members and OWS around members are allowed; anything else (quotes, '/', control bytes,
 * bytes above 0x7E) is not. Such a value can be copied into a response header as is. */
bool tr_http_is_token_list(struct tr_str value);

#endif
