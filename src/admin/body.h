/* SPDX-License-Identifier: MIT */
/* Admin request bodies and query strings decoded into one JSON object, whatever the encoding:
 * application/x-www-form-urlencoded, multipart/form-data or application/json, as Kong's Admin
 * API accepts them. Form values stay strings; the schema layer coerces them to field types. */
#ifndef TR_ADMIN_BODY_H
#define TR_ADMIN_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/str.h"

/* Most name=value pairs one form, query string or multipart body may carry. */
#define TR_ADMIN_FORM_MAX_PAIRS 10000
/* Most dot-separated levels in one form key (deeper keys are kept as one literal name). */
#define TR_ADMIN_FORM_MAX_DEPTH 8
/* Highest index accepted in an indexed key such as `hosts[3]`. */
#define TR_ADMIN_FORM_MAX_INDEX 9999

/* Decode a form-urlencoded string (a body or a query string without '?') into a new object.
 *  - pairs are split on '&'; '+' is a space; %XX is decoded (an invalid escape is kept as is);
 *  - a key without '=' gets the value true; pairs with an empty key are skipped;
 *  - repeated keys, `key[]` and `key[N]` build an array of strings (indexed items in index
 *    order, after the unindexed ones);
 *  - dotted keys nest: `config.minute=20` gives {"config":{"minute":"20"}}.
 * Returns 0 and sets *out (new reference), or TR_EBADREQ with a client-facing message in msg
 * (bytes that are not UTF-8, a NUL byte, too many pairs, or a key used both as a value and as
 * a record such as `config=1&config.a=2`). */
int tr_admin_form_decode(struct tr_str form, json_t **out, char *msg, size_t msg_len);

/* Decode a request body by its Content-Type into a new object in *out:
 *  - empty body: {} whatever the type;
 *  - a type containing "application/json" (Kong's test): JSON whose top level must be an
 *    object, else TR_EBADREQ with "Cannot parse JSON body"; dotted keys nest as in forms, in
 *    objects at any depth ({"config.minute": 20} is {"config": {"minute": 20}}; the shapes
 *    may be mixed), and two keys that give one field two values are TR_EBADREQ with
 *    "Conflicting keys for '<the key's first segment>'";
 *  - application/x-www-form-urlencoded: tr_admin_form_decode();
 *  - multipart/form-data with a boundary parameter: each part's Content-Disposition name is
 *    a key (same array and dotted-key rules as forms), its content the string value;
 *  - no Content-Type at all: JSON when the first non-blank byte is '{', else a form (curl
 *    and scripts that forget the header still work);
 *  - any other type with a non-empty body: TR_EMEDIATYPE (415).
 * Returns 0, or TR_EBADREQ or TR_EMEDIATYPE with the client-facing message in msg (answer
 * err's status with {"message": msg}). */
int tr_admin_body_decode(struct tr_str content_type, struct tr_str body, json_t **out, char *msg,
                         size_t msg_len);

/* Does content_type name JSON (the test tr_admin_body_decode makes)? */
bool tr_admin_body_is_json(struct tr_str content_type);

/* Decoding keeps NUL bytes in values (\u0000, %00) so that the answer can name the field. Does
 * v (a decoded body or query) hold a string with a NUL byte? Then path (path_len bytes, "" on
 * entry) gets its dotted name ("username", "config.origins"). */
bool tr_admin_find_nul(const json_t *v, char *path, size_t path_len);

#endif
