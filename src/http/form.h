/* SPDX-License-Identifier: MIT */
/* application/x-www-form-urlencoded text (query strings and form bodies): walking the pairs
 * and decoding them. Allocation-free: the caller provides the output buffers. */
#ifndef TR_HTTP_FORM_H
#define TR_HTTP_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

/* Take the next "key=value" pair off *rest (pairs are separated by '&'; empty pairs are
 * skipped; a pair without '=' has an empty value). key and value are raw (still encoded).
 * Returns false when *rest holds no more pairs. */
bool tr_form_next(struct tr_str *rest, struct tr_str *key, struct tr_str *value);

/* Decode in ('+' is a space, %XX a byte; a '%' not followed by two hex digits stays as is)
 * into out, which must hold in.len bytes; returns the decoded length (never more than in.len). */
size_t tr_form_decode(struct tr_str in, char *out);

/* Is content type ct (a Content-Type value) application/x-www-form-urlencoded? */
bool tr_form_is_urlencoded(struct tr_str ct);

#endif
