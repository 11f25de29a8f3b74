/* SPDX-License-Identifier: MIT */
/* A multipart/form-data body as request-transformer edits it (Kong's lua-multipart): its parts
 * in order, each with its header lines, its field name and its content; a part set by name
 * replaces that name's part (or is added at the end) with a plain
 * `Content-Disposition: form-data; name="..."`. Written back with the same boundary, as
 * "--b\r\n<headers>\r\n\r\n<content>\r\n" per part and "--b--\r\n". Read with http/multipart.h;
 * memory comes from the caller's allocator (the request arena). */
#ifndef TR_PLUGINS_FORM_PARTS_H
#define TR_PLUGINS_FORM_PARTS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

struct tr_form_part {
    struct tr_str name;
    struct tr_str headers; /* the header lines, CRLF-separated, without the final CRLF */
    struct tr_str value;
    bool removed;
};

struct tr_form_parts {
    struct tr_str boundary;
    struct tr_form_part *parts;
    size_t num, cap;
    void *(*alloc)(void *ud, size_t len);
    void *ud;
};

/* Read body (content_type: its Content-Type value). False when it is not a well-formed
 * multipart/form-data body. */
bool tr_form_parts_read(struct tr_form_parts *m, struct tr_str content_type, struct tr_str body,
                        void *(*alloc)(void *ud, size_t len), void *ud);
/* The first part named name, or NULL. */
struct tr_form_part *tr_form_parts_get(struct tr_form_parts *m, struct tr_str name);
/* Drop every part named name. */
void tr_form_parts_delete(struct tr_form_parts *m, struct tr_str name);
/* lua-multipart's set_simple. */
void tr_form_parts_set(struct tr_form_parts *m, struct tr_str name, struct tr_str value);
struct tr_str tr_form_parts_write(const struct tr_form_parts *m);

#endif
