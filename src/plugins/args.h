/* SPDX-License-Identifier: MIT */
/* A decoded argument table (a query string or a form body) as Kong's plugins hold one
 * (ngx.req.get_uri_args): each name with its values, a value being a string or Lua's true (an
 * argument without '='). Edited by name, then encoded back as Kong encodes it: every byte but
 * letters, digits and !'()*-._~ percent-encoded (ngx.encode_args), names in lexicographic
 * order for a query (kong.service.request.set_query), in first-seen order for a body. Memory
 * comes from the caller's allocator (the request arena). */
#ifndef TR_PLUGINS_ARGS_H
#define TR_PLUGINS_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

struct tr_args_value {
    struct tr_str s;
    bool is_true;
};

struct tr_args_entry {
    struct tr_str name;
    struct tr_args_value *values;
    size_t num_values, cap_values;
    bool removed;
};

struct tr_args {
    struct tr_args_entry *entries;
    size_t num, cap;
    void *(*alloc)(void *ud, size_t len);
    void *ud;
};

/* An empty table whose memory comes from alloc(ud, len). */
void tr_args_init(struct tr_args *a, void *(*alloc)(void *ud, size_t len), void *ud);
/* Add the pairs of raw (encoded "a=1&b&c=2") to the table, decoded. */
void tr_args_parse(struct tr_args *a, struct tr_str raw);
/* The entry for name, or NULL. */
struct tr_args_entry *tr_args_get(struct tr_args *a, struct tr_str name);
void tr_args_remove(struct tr_args *a, struct tr_str name);
/* name's values become exactly value. */
void tr_args_set(struct tr_args *a, struct tr_str name, struct tr_args_value value);
/* Add value after name's values. */
void tr_args_append(struct tr_args *a, struct tr_str name, struct tr_args_value value);
/* Kong's rename: old's values move to new (replacing new's); false when old is absent or the
 * names are equal. */
bool tr_args_rename(struct tr_args *a, struct tr_str old_name, struct tr_str new_name);
/* Encode the table (sorted: Kong's query order). */
struct tr_str tr_args_encode(const struct tr_args *a, bool sorted);

#endif
