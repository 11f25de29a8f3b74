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
 * into out, which must hold in.len bytes; returns the decoded length (never more than in.len).
 * The one percent-decoder of forms and query strings (proxy and Admin API alike). */
size_t tr_form_decode(struct tr_str in, char *out);

/* Percent-decode a URI component strictly (RFC 3986 §2.1: '+' is '+', and a '%' not followed by
 * two hex digits is an error) into out, which must hold in.len bytes. Returns the decoded
 * length, or TR_EINVAL on a broken escape. Path normalization (url.h) has rules of its own. */
long tr_pct_decode_strict(struct tr_str in, char *out);

/* Does raw (an encoded key, as tr_form_next returns it) decode, exactly as tr_form_decode
 * does, to name? Allocation-free. Every lookup of an argument and every removal of one uses
 * this, so "api%6Bey", "%61pikey" and "apikey" are one name to both. */
bool tr_form_key_eq(struct tr_str raw, struct tr_str name);

/* Copy raw form text into out without the pairs whose decoded key is one of names[0..num):
 * every other pair keeps its bytes and order, joined by '&' (empty pairs are dropped). out
 * must hold raw.len bytes. Returns the length written; *removed (may be NULL) is set to
 * whether any pair was dropped (when none was, out may still differ from raw by empty pairs). */
size_t tr_form_remove(struct tr_str raw, const struct tr_str *names, size_t num, char *out,
                      bool *removed);

/* Is content type ct (a Content-Type value) application/x-www-form-urlencoded? */
bool tr_form_is_urlencoded(struct tr_str ct);

#endif
