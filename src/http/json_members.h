/* SPDX-License-Identifier: MIT */
/* The top-level members of a JSON object sent as a request body: counting and removing those
 * with one name while every other byte stays as the client sent it (a re-serialization would
 * rewrite numbers, escapes and spacing of fields the gateway has no business touching). Names
 * are compared after JSON decoding, by jansson, so "api\u006bey" is "apikey" here exactly as it
 * is to json_object_get. Not a validator: callers parse the text with jansson first. */
#ifndef TR_HTTP_JSON_MEMBERS_H
#define TR_HTTP_JSON_MEMBERS_H

#include <stddef.h>

#include "core/str.h"

/* Walk the object that is the whole of json (whitespace around it allowed). *count is set to
 * the number of its top-level members whose decoded name is name. When out is not NULL it must
 * hold json.len bytes: json is copied into it without those members and *out_len is set; the
 * members kept, and the text between two kept members, are copied byte for byte. Returns 0, or
 * TR_EINVAL when json is not one object this walk understands (a top-level array, broken
 * syntax, nesting deeper than 64): then *count, out and *out_len are not meaningful. */
int tr_json_members_remove(struct tr_str json, struct tr_str name, char *out, size_t *out_len,
                           size_t *count);

#endif
