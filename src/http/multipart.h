/* SPDX-License-Identifier: MIT */
/* multipart/form-data bodies (RFC 7578) read part by part: each part's name and its bytes, as
 * slices of the body. Allocation-free, like form.h: the proxy reads parameters from a body a
 * plugin collected (the OAuth 2.0 endpoints), it never rebuilds one. */
#ifndef TR_HTTP_MULTIPART_H
#define TR_HTTP_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

/* RFC 2046 §5.1.1: a boundary has 1 to 70 characters. */
#define TR_MULTIPART_BOUNDARY_MAX 70

struct tr_multipart {
    struct tr_str body;
    size_t pos;         /* where the next part's headers start */
    size_t part_start;  /* where the next part's delimiter starts (its CRLF, if any) */
    size_t last_start;  /* where the part last read began */
    struct tr_str head; /* the header lines of the part last read (no final CRLF) */
    char delim[TR_MULTIPART_BOUNDARY_MAX + 5]; /* CRLF "--" boundary */
    size_t dlen;
    bool done;
};

/* Is content type ct (a Content-Type value) multipart/form-data? */
bool tr_multipart_is(struct tr_str ct);

/* Start reading body, whose Content-Type value is ct. False when ct is not multipart/form-data
 * with a usable boundary, or the body does not start with (a preamble and) its first
 * delimiter. */
bool tr_multipart_begin(struct tr_multipart *m, struct tr_str ct, struct tr_str body);

/* The next part: its name (the Content-Disposition name parameter as sent, quotes removed,
 * escapes not undone; empty when the part has none) and its content. Returns 1 for a part, 0
 * after the close delimiter, TR_EBADREQ for a body that is cut short or malformed. */
int tr_multipart_next(struct tr_multipart *m, struct tr_str *name, struct tr_str *value);

/* The content of the first part named name of body (Content-Type value ct); false when there
 * is none before the end or the first malformed byte. */
bool tr_multipart_arg(struct tr_str ct, struct tr_str body, struct tr_str name,
                      struct tr_str *value);

/* Copy body into out without the parts named name (each with its delimiter); every other byte
 * stays as sent, and a body is still well-formed after it. out must hold body.len bytes.
 * Returns the length written; *removed is whether a part was dropped (when none was, or the
 * body is not multipart, out holds body as is). */
size_t tr_multipart_remove(struct tr_str ct, struct tr_str body, struct tr_str name, char *out,
                           bool *removed);

#endif
