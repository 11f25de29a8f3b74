/* SPDX-License-Identifier: MIT */
/* The value templates of request-transformer: text with `$(expr)` parts, where expr is the
 * part of Lua that Kong users write there — lookups in headers, query_params, uri_captures and
 * shared (`headers.x_foo`, `headers["x-foo"]`, `uri_captures[1]`), string and number literals,
 * nil/true/false, `..`, `==`, `~=`, `not`, `and`, `or`, parentheses and the type() and
 * tostring() functions. A part renders as Lua's tostring(expr or ''). Anything else is refused
 * when the config is validated (torii runs no Lua). As in Kong's pl.template, a `$(` whose
 * parentheses do not balance is plain text. Compiled once per config; rendering allocates only
 * through the caller's allocator. */
#ifndef TR_PLUGINS_TEMPLATE_H
#define TR_PLUGINS_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

/* The tables an expression can look into. */
enum tr_tpl_table {
    TR_TPL_HEADERS,      /* request headers; keys lower-cased, '_' read as '-' */
    TR_TPL_QUERY_PARAMS, /* the query's arguments, decoded */
    TR_TPL_URI_CAPTURES, /* the route's regex captures, by number or name */
    TR_TPL_SHARED,       /* Kong's ctx.shared: always empty in torii */
};

/* Where values come from while rendering. */
struct tr_tpl_env {
    /* The nth (0: first) value of key in table; false past the last. *is_true: the value is
     * Lua's true (a query argument without '='). */
    bool (*get)(void *ud, enum tr_tpl_table table, struct tr_str key, size_t nth,
                struct tr_str *value, bool *is_true);
    /* Scratch memory valid while the rendered text is used; never NULL. */
    void *(*alloc)(void *ud, size_t len);
    void *ud;
};

struct tr_tpl;

/* Compile text. Returns a template (tr_tpl_free), or NULL with a message in err (a `$(...)`
 * part that is not a supported expression). */
struct tr_tpl *tr_tpl_compile(struct tr_str text, char *err, size_t err_len);
void tr_tpl_free(struct tr_tpl *t);
/* Does the template hold any `$(...)` part (else it renders as its text)? */
bool tr_tpl_is_dynamic(const struct tr_tpl *t);
/* Render t: its text with every part replaced by its value. */
struct tr_str tr_tpl_render(const struct tr_tpl *t, const struct tr_tpl_env *env);

#endif
