/* SPDX-License-Identifier: MIT */
/* What list pages mean on every backend (store.h: tr_store_list): the offset token a page
 * ends with, and the filters a list takes. For the backends' files only; one format, whatever
 * the backend, so a client never sees the difference. */
#ifndef TR_STORE_LISTING_H
#define TR_STORE_LISTING_H

#include <stdint.h>

#include <jansson.h>

/* The token after the row whose seq is seq: base64url (no padding) of its decimal. Owned. */
char *tr__store_offset_encode(int64_t seq);
/* The seq of a token, or -1 for anything tr__store_offset_encode could not have produced. */
int64_t tr__store_offset_decode(const char *token);
/* Compact JSON of filters (NULL: none, "{}") after checking that every name is
 * [A-Za-z0-9_]+ and every value a string, number or boolean; NULL when one is not. Owned. */
char *tr__store_filter_json(json_t *filters);

#endif
