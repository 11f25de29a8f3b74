/* SPDX-License-Identifier: MIT */
/* The HTTP/1.1 head writer: every head torii sends (upstream requests, responses relayed to
 * clients, answers of plugins) is built here, so one check guards them all. A field whose value
 * torii itself supplies (its own headers, plugin headers, anything copied from a stored row or
 * a token) must be a token name and a value of SP, HTAB, VCHAR and obs-text only (RFC 9110
 * §5.5): a CR, LF, NUL or other control byte would let a stored value add fields or a whole
 * second request (response splitting, request smuggling). A refused field is not written; the
 * head as a whole is refused when it is finished, and the caller answers with an error instead
 * of sending it. Fields copied from a message the strict parser accepted are written as they
 * are: the parser already enforced the same rule on them. */
#ifndef TR_HTTP_WRITER_H
#define TR_HTTP_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"

struct tr_http_header;

struct tr_http_writer {
    struct tr_buf buf;     /* owned until tr_http_writer_finish hands it over */
    struct tr_str refused; /* name of the first refused field (borrowed from the caller, valid
                              as long as the name passed in), or TR_STR_NULL */
};

/* Start a head with room for about hint bytes. */
void tr_http_writer_init(struct tr_http_writer *w, size_t hint);

/* Bytes the caller vouches for: the start line pieces and constant fields ("Via: ...\r\n"). */
void tr_http_writer_raw(struct tr_http_writer *w, const char *p, size_t n);
void tr_http_writer_cstr(struct tr_http_writer *w, const char *s);
void tr_http_writer_str(struct tr_http_writer *w, struct tr_str s);
void tr_http_writer_u64(struct tr_http_writer *w, uint64_t v);

/* A request-target built by torii (normalized path joined with a stored upstream path, and the
 * client's query): only VCHAR bytes other than '#' pass; otherwise the head is refused with
 * "request-target" as the refused name. */
void tr_http_writer_target(struct tr_http_writer *w, struct tr_str target);

/* "name: value\r\n" for a field torii supplies: checked (see above). */
void tr_http_writer_field(struct tr_http_writer *w, struct tr_str name, struct tr_str value);

/* "name: value\r\n" for a numeric value. */
void tr_http_writer_field_u64(struct tr_http_writer *w, const char *name, uint64_t value);

/* A field the strict parser accepted (from a client request or an upstream response). */
void tr_http_writer_parsed(struct tr_http_writer *w, const struct tr_http_header *h);

/* Was a field refused so far? */
static inline bool tr_http_writer_failed(const struct tr_http_writer *w)
{
    return w->refused.ptr != NULL;
}

/* End the head with the blank line. Returns the head (owned by the caller, free()) and its
 * length in *len; or NULL when a field was refused (the buffer is freed; w->refused names the
 * field, or is "(out of memory)" when the head could not grow). */
char *tr_http_writer_finish(struct tr_http_writer *w, size_t *len);

#endif
