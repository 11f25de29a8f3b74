/* SPDX-License-Identifier: MIT */
/* The JSON edits both transformer plugins make as Kong's Lua makes them on a decoded body:
 * Lua's truthiness of a member, append_value, and cjson's way of writing the result. */
#ifndef TR_PLUGINS_JSON_EDIT_H
#define TR_PLUGINS_JSON_EDIT_H

#include <stdbool.h>

#include <jansson.h>

/* cjson's output: compact, '/' escaped, 14 significant digits. */
#define TR_JSON_EDIT_DUMP_FLAGS (JSON_COMPACT | JSON_ESCAPE_SLASH | JSON_REAL_PRECISION(14))

/* Lua truthiness of a member: absent and false are false (JSON null is cjson.null: true). */
static inline bool tr_json_member_truthy(const json_t *v)
{
    return v != NULL && !json_is_false(v);
}

/* Kong's append_value on obj[key]: a string becomes [old, value], an array grows, anything
 * else is replaced by [value]. value is stolen. */
static inline void tr_json_append_value(json_t *obj, const char *key, json_t *value)
{
    json_t *old = json_object_get(obj, key);
    if (json_is_array(old)) {
        json_array_append_new(old, value);
        return;
    }
    json_t *arr = json_array();
    if (json_is_string(old))
        json_array_append(arr, old);
    json_array_append_new(arr, value);
    json_object_set_new(obj, key, arr);
}

#endif
