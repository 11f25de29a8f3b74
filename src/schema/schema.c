/* SPDX-License-Identifier: MIT */
/* The field-table validator: coercion of string inputs (Kong 0.7 rules), defaults, field and
 * self checks, immutability, with every error collected. Entity and plugin tables live in
 * their own files; this one knows no entity. */
#include "schema/schema.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/str.h"
#include "core/uuid.h"
#include "schema/kong3.h"

#define MSG_LEN 512
#define KEY_LEN 256

/* Record an error for prefix+name unless one is already there (first error wins). The text
 * may echo client input cut by snprintf; trailing bytes of a cut UTF-8 sequence are dropped. */
static void add_err(json_t *errs, const char *prefix, const char *name, const char *text)
{
    char key[KEY_LEN];
    snprintf(key, sizeof(key), "%s%s", prefix, name);
    if (json_object_get(errs, key) != NULL)
        return;
    size_t len = strlen(text);
    json_t *v = json_stringn(text, len);
    for (int i = 0; v == NULL && i < 4 && len > 0; i++)
        v = json_stringn(text, --len);
    if (v == NULL)
        v = json_string("invalid value");
    json_object_set_new(errs, key, v);
}

static const char *type_word(enum tr_schema_type t)
{
    switch (t) {
    case TR_SCHEMA_STRING:
        return "a string";
    case TR_SCHEMA_BOOLEAN:
        return "a boolean";
    case TR_SCHEMA_NUMBER:
    case TR_SCHEMA_TIMESTAMP:
        return "a number";
    case TR_SCHEMA_INTEGER:
        return "an integer";
    case TR_SCHEMA_ARRAY:
        return "an array";
    case TR_SCHEMA_RECORD:
        return "a table";
    case TR_SCHEMA_URL:
        return "a url";
    case TR_SCHEMA_UUID:
        return "a valid uuid";
    }
    return "valid";
}

static void type_err(const struct tr_schema_field *f, char *msg, size_t msg_len)
{
    snprintf(msg, msg_len, "%s is not %s", f->name, type_word(f->type));
}

/* Strict decimal number: optional sign, digits, optional fraction and exponent; no hex, no
 * inf/nan, no surrounding junk (Kong uses Lua's tonumber; we refuse its hex forms). */
static int parse_number(struct tr_str s, double *out)
{
    char buf[64];
    s = tr_str_trim(s);
    if (s.len == 0 || s.len >= sizeof(buf))
        return TR_EINVAL;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'))
            return TR_EINVAL;
    }
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = '\0';
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (end != buf + s.len || errno == ERANGE || !isfinite(d))
        return TR_EINVAL;
    *out = d;
    return 0;
}

/* Number -> json_integer when integral and in range, else json_real. */
static json_t *number_value(double d)
{
    if (d == floor(d) && d >= -9007199254740992.0 && d <= 9007199254740992.0)
        return json_integer((json_int_t)d);
    return json_real(d);
}

static bool is_scheme_char(char c, bool first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return !first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
}

static bool is_reg_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* scheme://host[:port][/path][?query]: no userinfo, no fragment, no spaces or controls,
 * ASCII only (RFC 3986 §3; Kong's url type required a scheme and a host). */
static bool url_ok(struct tr_str u)
{
    size_t i = 0;
    while (i < u.len && is_scheme_char(u.ptr[i], i == 0))
        i++;
    if (i == 0 || u.len - i < 3 || memcmp(u.ptr + i, "://", 3) != 0)
        return false;
    i += 3;
    size_t host = i;
    if (i < u.len && u.ptr[i] == '[') {
        i++;
        while (i < u.len &&
               ((u.ptr[i] >= '0' && u.ptr[i] <= '9') || (u.ptr[i] >= 'a' && u.ptr[i] <= 'f') ||
                (u.ptr[i] >= 'A' && u.ptr[i] <= 'F') || u.ptr[i] == ':' || u.ptr[i] == '.'))
            i++;
        if (i >= u.len || u.ptr[i] != ']' || i == host + 1)
            return false;
        i++;
    } else {
        while (i < u.len && is_reg_name_char(u.ptr[i]))
            i++;
        if (i == host)
            return false;
    }
    if (i < u.len && u.ptr[i] == ':') {
        i++;
        size_t p = i;
        while (i < u.len && u.ptr[i] >= '0' && u.ptr[i] <= '9')
            i++;
        uint64_t port;
        if (tr_str_to_u64((struct tr_str){u.ptr + p, i - p}, 65535, &port) != 0 || port == 0)
            return false;
    }
    if (i < u.len && u.ptr[i] != '/' && u.ptr[i] != '?')
        return false;
    for (; i < u.len; i++) {
        unsigned char c = (unsigned char)u.ptr[i];
        if (c <= 0x20 || c >= 0x7f || c == '#')
            return false;
    }
    return true;
}

static bool one_of_ok(const struct tr_schema_field *f, const char *v, char *msg, size_t msg_len)
{
    if (f->one_of == NULL)
        return true;
    for (size_t i = 0; f->one_of[i] != NULL; i++) {
        if (strcmp(f->one_of[i], v) == 0)
            return true;
    }
    int n = snprintf(msg, msg_len, "\"%s\" is not allowed. Allowed values are: ", v);
    for (size_t i = 0; f->one_of[i] != NULL && n >= 0 && (size_t)n < msg_len; i++)
        n += snprintf(msg + n, msg_len - (size_t)n, "%s\"%s\"", i ? ", " : "", f->one_of[i]);
    return false;
}

static json_t *trimmed_string(const json_t *v)
{
    struct tr_str s = {json_string_value(v), json_string_length(v)};
    s = tr_str_trim(s);
    return json_stringn(s.ptr, s.len);
}

/* A string value may end up in a header torii writes (X-Consumer-Username, X-Consumer-Groups,
 * X-Credential-Identifier, a plugin's header): CR, LF, NUL or any other control byte is refused
 * at write time, naming the field (security issue: header injection through stored values).
 * TR_SCHEMA_TEXT fields may hold line breaks and tabs. */
static bool string_bytes_ok(const struct tr_schema_field *f, const json_t *v, char *msg,
                            size_t msg_len)
{
    const unsigned char *p = (const unsigned char *)json_string_value(v);
    size_t n = json_string_length(v);
    bool text = (f->flags & TR_SCHEMA_TEXT) != 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] != 0x7f)
            continue;
        if (text && (p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
            continue;
        snprintf(msg, msg_len, "must not contain control characters (found 0x%02x)", p[i]);
        return false;
    }
    return true;
}

static json_t *coerce_array(const struct tr_schema_field *f, const json_t *value, char *msg,
                            size_t msg_len)
{
    json_t *arr = json_array();
    if (json_is_string(value)) {
        /* Kong 0.7: a comma list, items trimmed; we drop empty items, so "" gives []. */
        const char *s = json_string_value(value);
        size_t len = json_string_length(value), start = 0;
        for (size_t i = 0; i <= len; i++) {
            if (i == len || s[i] == ',') {
                struct tr_str item = tr_str_trim((struct tr_str){s + start, i - start});
                if (item.len > 0)
                    json_array_append_new(arr, json_stringn(item.ptr, item.len));
                start = i + 1;
            }
        }
    } else if (json_is_array(value)) {
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item)
        {
            if (!json_is_string(item)) {
                json_decref(arr);
                type_err(f, msg, msg_len);
                return NULL;
            }
            json_array_append_new(arr, trimmed_string(item));
        }
    } else {
        json_decref(arr);
        type_err(f, msg, msg_len);
        return NULL;
    }
    size_t k;
    json_t *it;
    json_array_foreach(arr, k, it)
    {
        if (!string_bytes_ok(f, it, msg, msg_len)) {
            json_decref(arr);
            return NULL;
        }
    }
    if (f->one_of != NULL) {
        size_t i;
        json_t *item;
        json_array_foreach(arr, i, item)
        {
            if (!one_of_ok(f, json_string_value(item), msg, msg_len)) {
                json_decref(arr);
                return NULL;
            }
        }
    }
    return arr;
}

json_t *tr_schema_coerce(const struct tr_schema_field *f, const json_t *value, char *msg,
                         size_t msg_len)
{
    double d;
    switch (f->type) {
    case TR_SCHEMA_STRING:
        if (!json_is_string(value))
            break;
        if (!string_bytes_ok(f, value, msg, msg_len))
            return NULL;
        if (f->one_of != NULL) {
            json_t *s = trimmed_string(value);
            if (!one_of_ok(f, json_string_value(s), msg, msg_len)) {
                json_decref(s);
                return NULL;
            }
            return s;
        }
        return trimmed_string(value);
    case TR_SCHEMA_BOOLEAN:
        if (json_is_boolean(value))
            return json_incref((json_t *)value);
        if (json_is_string(value)) {
            struct tr_str s = {json_string_value(value), json_string_length(value)};
            s = tr_str_trim(s);
            if (tr_str_ieq_cstr(s, "true"))
                return json_true();
            if (tr_str_ieq_cstr(s, "false"))
                return json_false();
        }
        break;
    case TR_SCHEMA_NUMBER:
    case TR_SCHEMA_INTEGER:
    case TR_SCHEMA_TIMESTAMP:
        if (json_is_number(value)) {
            d = json_number_value(value);
        } else if (json_is_string(value)) {
            struct tr_str s = {json_string_value(value), json_string_length(value)};
            if (parse_number(s, &d) != 0)
                break;
        } else {
            if (f->type == TR_SCHEMA_INTEGER)
                snprintf(msg, msg_len, "%s is not a number", f->name);
            else
                type_err(f, msg, msg_len);
            return NULL;
        }
        if (f->type == TR_SCHEMA_NUMBER) {
            if ((f->flags & TR_SCHEMA_BOUNDED) && (d < (double)f->min || d > (double)f->max)) {
                snprintf(msg, msg_len, "must be a number between %" PRId64 " and %" PRId64, f->min,
                         f->max);
                return NULL;
            }
            return number_value(d);
        }
        if (d != floor(d) || d < -9007199254740992.0 || d > 9007199254740992.0 ||
            ((f->flags & TR_SCHEMA_BOUNDED) && (d < (double)f->min || d > (double)f->max))) {
            if (f->flags & TR_SCHEMA_BOUNDED)
                snprintf(msg, msg_len, "must be an integer between %" PRId64 " and %" PRId64,
                         f->min, f->max);
            else
                type_err(f, msg, msg_len);
            return NULL;
        }
        return json_integer((json_int_t)d);
    case TR_SCHEMA_ARRAY:
        return coerce_array(f, value, msg, msg_len);
    case TR_SCHEMA_RECORD:
        if (json_is_object(value))
            return json_deep_copy(value);
        break;
    case TR_SCHEMA_URL:
        if (json_is_string(value)) {
            json_t *s = trimmed_string(value);
            if (url_ok((struct tr_str){json_string_value(s), json_string_length(s)}))
                return s;
            json_decref(s);
        }
        break;
    case TR_SCHEMA_UUID:
        if (json_is_string(value)) {
            struct tr_str s = {json_string_value(value), json_string_length(value)};
            s = tr_str_trim(s);
            if (tr_uuid_is_valid(s)) {
                char buf[TR_UUID_LEN + 1];
                for (size_t i = 0; i < TR_UUID_LEN; i++)
                    buf[i] = tr_ascii_lower(s.ptr[i]);
                buf[TR_UUID_LEN] = '\0';
                return json_string(buf);
            }
        }
        break;
    }
    if (json_is_string(value) && (f->type == TR_SCHEMA_NUMBER || f->type == TR_SCHEMA_INTEGER ||
                                  f->type == TR_SCHEMA_TIMESTAMP))
        snprintf(msg, msg_len, "%s is not a number", f->name);
    else
        type_err(f, msg, msg_len);
    return NULL;
}

/* Does value mean "unset": JSON null, or a string that is blank after trimming (an empty form
 * field)? Arrays are the exception: "" is the empty array. */
static bool is_unset(const struct tr_schema_field *f, const json_t *value)
{
    if (json_is_null(value))
        return true;
    if (f->type == TR_SCHEMA_ARRAY || !json_is_string(value))
        return false;
    struct tr_str s = {json_string_value(value), json_string_length(value)};
    return tr_str_trim(s).len == 0;
}

const struct tr_schema_field *tr_schema_field_find(const struct tr_schema *schema, const char *name)
{
    for (size_t i = 0; i < schema->cnt; i++) {
        if (strcmp(schema->fields[i].name, name) == 0)
            return &schema->fields[i];
    }
    return NULL;
}

static json_t *validate_rec(const struct tr_schema *s, enum tr_schema_mode mode,
                            const json_t *input, const json_t *existing, const char *prefix,
                            json_t *errs, char *self_msg, size_t self_len);

/* input with the value of each Kong 0.x alias copied to the row it names (a string as a
 * one-item list for an ARRAY row), or NULL when input names no alias. Naming both an alias and
 * its row is an error on the alias. The caller frees the result. */
static json_t *with_aliases(const struct tr_schema *s, const json_t *input, const char *prefix,
                            json_t *errs)
{
    json_t *out = NULL;
    for (size_t i = 0; i < s->cnt; i++) {
        const struct tr_schema_field *f = &s->fields[i];
        const json_t *v = f->alias_of ? json_object_get(input, f->name) : NULL;
        if (v == NULL || is_unset(f, v))
            continue;
        const struct tr_schema_field *to = tr_schema_field_find(s, f->alias_of);
        if (to == NULL)
            continue;
        if (json_object_get(input, to->name) != NULL) {
            char msg[MSG_LEN];
            snprintf(msg, sizeof(msg), "%s is the older name of %s: give one of them", f->name,
                     to->name);
            add_err(errs, prefix, f->name, msg);
            continue;
        }
        if (out == NULL)
            out = json_copy((json_t *)input);
        json_t *copy = json_deep_copy(v);
        if (to->type == TR_SCHEMA_ARRAY && json_is_string(copy))
            copy = json_pack("[o]", copy);
        json_object_set_new(out, to->name, copy);
    }
    return out;
}

/* A record field: validate the sub-object against its schema with a longer prefix. */
static json_t *validate_sub(const struct tr_schema_field *f, enum tr_schema_mode mode,
                            const json_t *input, const json_t *existing, const char *prefix,
                            json_t *errs)
{
    char sub_prefix[KEY_LEN];
    char self_msg[MSG_LEN] = "";
    snprintf(sub_prefix, sizeof(sub_prefix), "%s%s.", prefix, f->name);
    json_t *rec = validate_rec(f->record, mode, input, existing, sub_prefix, errs, self_msg,
                               sizeof(self_msg));
    if (self_msg[0] != '\0')
        add_err(errs, prefix, f->name, self_msg);
    return rec;
}

static bool has_err(json_t *errs, const char *prefix, const char *name)
{
    char key[KEY_LEN];
    snprintf(key, sizeof(key), "%s%s", prefix, name);
    return json_object_get(errs, key) != NULL;
}

static json_t *validate_rec(const struct tr_schema *s, enum tr_schema_mode mode,
                            const json_t *input, const json_t *existing, const char *prefix,
                            json_t *errs, char *self_msg, size_t self_len)
{
    char msg[MSG_LEN];
    size_t errs_before = json_object_size(errs);
    json_t *rec = json_object();
    const char *key;
    json_t *value;

    /* Unknown fields. */
    json_object_foreach((json_t *)input, key, value)
    {
        if (tr_schema_field_find(s, key) == NULL) {
            snprintf(msg, sizeof(msg), "%s is an unknown field", key);
            add_err(errs, prefix, key, msg);
        }
    }
    const json_t *sent = input; /* what the request named, for the entity check */
    json_t *aliased = with_aliases(s, input, prefix, errs);
    if (aliased != NULL)
        input = aliased;

    for (size_t i = 0; i < s->cnt; i++) {
        const struct tr_schema_field *f = &s->fields[i];
        const json_t *old = existing ? json_object_get(existing, f->name) : NULL;
        const json_t *in = json_object_get(input, f->name);

        /* Start from what survives of the existing entity. */
        if (old != NULL && !json_is_null(old) &&
            (mode == TR_SCHEMA_UPDATE ||
             (mode == TR_SCHEMA_REPLACE && (f->flags & TR_SCHEMA_IMMUTABLE))))
            json_object_set_new(rec, f->name, json_deep_copy(old));

        if (in == NULL) {
            if (f->type == TR_SCHEMA_RECORD && f->record != NULL && f->dflt == NULL &&
                json_object_get(rec, f->name) == NULL) {
                /* An absent record still gets its own defaults (plugin config = {}). */
                json_t *empty = json_object();
                json_t *sub = validate_sub(f, mode, empty, NULL, prefix, errs);
                json_decref(empty);
                json_object_set_new(rec, f->name, sub);
            }
            continue;
        }
        if (is_unset(f, in)) {
            if ((f->flags & TR_SCHEMA_IMMUTABLE) && old != NULL && !json_is_null(old) &&
                mode != TR_SCHEMA_INSERT) {
                snprintf(msg, sizeof(msg), "%s cannot be updated", f->name);
                add_err(errs, prefix, f->name, msg);
            }
            if ((f->flags & TR_SCHEMA_NO_CLEAR) && mode == TR_SCHEMA_UPDATE) {
                snprintf(msg, sizeof(msg), "%s is not a string", f->name);
                add_err(errs, prefix, f->name, msg);
            }
            json_object_del(rec, f->name);
            continue;
        }
        json_t *v = tr_schema_coerce(f, in, msg, sizeof(msg));
        if (v == NULL) {
            add_err(errs, prefix, f->name, msg);
            json_object_del(rec, f->name);
            continue;
        }
        if (f->type == TR_SCHEMA_RECORD && f->record != NULL) {
            const json_t *old_sub = (mode == TR_SCHEMA_UPDATE && json_is_object(old)) ? old : NULL;
            json_t *sub = validate_sub(f, mode, v, old_sub, prefix, errs);
            json_decref(v);
            v = sub;
        }
        if ((f->flags & TR_SCHEMA_IMMUTABLE) && mode != TR_SCHEMA_INSERT && old != NULL &&
            !json_is_null(old) && !json_equal(old, v)) {
            snprintf(msg, sizeof(msg), "%s cannot be updated", f->name);
            add_err(errs, prefix, f->name, msg);
            json_decref(v);
            continue;
        }
        json_object_set_new(rec, f->name, v);
    }

    /* A write naming only the newer name of an aliased row drops the older one. */
    for (size_t i = 0; i < s->cnt; i++) {
        const struct tr_schema_field *f = &s->fields[i];
        if (f->alias_of != NULL && json_object_get(input, f->name) == NULL &&
            json_object_get(input, f->alias_of) != NULL)
            json_object_del(rec, f->name);
    }
    json_decref(aliased);

    /* Field checks on every present value (an update re-checks the merged whole). */
    for (size_t i = 0; i < s->cnt; i++) {
        const struct tr_schema_field *f = &s->fields[i];
        if (f->check == NULL || json_object_get(rec, f->name) == NULL ||
            has_err(errs, prefix, f->name))
            continue;
        msg[0] = '\0';
        if (f->check(rec, f->name, msg, sizeof(msg)) != 0)
            add_err(errs, prefix, f->name, msg[0] ? msg : "invalid value");
    }

    /* Defaults, in table order, then required fields. */
    for (size_t i = 0; i < s->cnt; i++) {
        const struct tr_schema_field *f = &s->fields[i];
        if (json_object_get(rec, f->name) != NULL || has_err(errs, prefix, f->name))
            continue;
        json_t *d = NULL;
        if (f->gen != NULL)
            d = f->gen(rec);
        else if (f->dflt != NULL)
            d = json_loads(f->dflt, JSON_DECODE_ANY, NULL);
        if (d != NULL)
            json_object_set_new(rec, f->name, d);
        else if (f->flags & TR_SCHEMA_REQUIRED) {
            snprintf(msg, sizeof(msg), "%s is required", f->name);
            add_err(errs, prefix, f->name, msg);
        }
    }

    if (s->entity_check != NULL) {
        json_t *found = s->entity_check(rec, sent, mode);
        const char *field;
        json_t *text;
        json_object_foreach(found, field, text)
        {
            if (json_is_string(text))
                add_err(errs, prefix, field, json_string_value(text));
        }
        json_decref(found);
    }

    if (json_object_size(errs) == errs_before && s->self_check != NULL) {
        msg[0] = '\0';
        if (s->self_check(rec, mode, msg, sizeof(msg)) != 0)
            snprintf(self_msg, self_len, "%s", msg[0] ? msg : "invalid entity");
    }

    /* Re-emit in table order so answers have a stable shape. */
    json_t *ordered = json_object();
    for (size_t i = 0; i < s->cnt; i++) {
        json_t *v = json_object_get(rec, s->fields[i].name);
        if (v != NULL)
            json_object_set(ordered, s->fields[i].name, v);
    }
    json_decref(rec);
    return ordered;
}

int tr_schema_validate(const struct tr_schema *schema, enum tr_schema_mode mode,
                       const json_t *input, const json_t *existing, json_t **out, json_t **errors)
{
    char self_msg[MSG_LEN] = "";
    json_t *errs = json_object();
    json_t *empty = NULL;
    *out = NULL;
    *errors = NULL;
    if (input == NULL)
        input = empty = json_object();
    if (!json_is_object(input)) {
        json_decref(errs);
        *errors = json_pack("{s:s}", "message", "The body must be an object");
        return TR_EINVAL;
    }
    json_t *rec = validate_rec(schema, mode, input, existing, "", errs, self_msg, sizeof(self_msg));
    json_decref(empty);
    if (json_object_size(errs) > 0) {
        json_decref(rec);
        *errors = errs;
        return TR_EINVAL;
    }
    json_decref(errs);
    if (self_msg[0] != '\0') {
        json_decref(rec);
        *errors = json_object();
        add_err(*errors, "", "message", self_msg);
        return TR_EINVAL;
    }
    *out = rec;
    return 0;
}

json_t *tr_schema_at_least_one(const json_t *rec, const json_t *input, enum tr_schema_mode mode,
                               const char *const *fields, const char *msg)
{
    bool named = false;
    for (const char *const *f = fields; *f != NULL; f++) {
        if (json_object_get(rec, *f) != NULL)
            return NULL;
        named = named || json_object_get(input, *f) != NULL;
    }
    json_t *errs = json_object();
    for (const char *const *f = fields; *f != NULL; f++) {
        if (mode != TR_SCHEMA_UPDATE || !named || json_object_get(input, *f) != NULL)
            json_object_set_new(errs, *f, json_string(msg));
    }
    return errs;
}

json_t *tr_schema_gen_uuid(const json_t *rec)
{
    char id[TR_UUID_LEN + 1];
    if (tr_uuid_v4(id) != 0)
        return NULL;
    return json_string(id);
}

bool tr_schema_header_name_ok(const char *s, size_t len, char *msg, size_t msg_len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_')) {
            snprintf(msg, msg_len,
                     "bad header name '%s', allowed characters are A-Z, a-z, 0-9, '_', and '-'", s);
            return false;
        }
    }
    return true;
}

int tr_schema_check_header_name(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const json_t *v = json_object_get(rec, name);
    if (json_is_string(v) &&
        !tr_schema_header_name_ok(json_string_value(v), json_string_length(v), msg, msg_len))
        return TR_EINVAL;
    return 0;
}

int tr_schema_check_no_lua(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const json_t *v = json_object_get(rec, name);
    if (v == NULL || json_is_null(v) || (json_is_object(v) && json_object_size(v) == 0))
        return 0;
    snprintf(msg, msg_len, "torii runs no Lua code: custom_fields_by_lua is not supported");
    return TR_EINVAL;
}

int tr_schema_check_tags(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const json_t *tags = json_object_get(rec, name);
    if (json_array_size(tags) > TR_SCHEMA3_MAX_ITEMS) {
        snprintf(msg, msg_len, "length must be at most %d", TR_SCHEMA3_MAX_ITEMS);
        return TR_EINVAL;
    }
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t)
    {
        if (!tr_schema3_tag_ok(json_string_value(t), json_string_length(t), msg, msg_len))
            return TR_EINVAL;
    }
    return 0;
}

json_t *tr_schema_gen_created_at(const json_t *rec)
{
    /* Kong 0.x: milliseconds, but only whole seconds (os.time() * 1000). */
    return json_integer((json_int_t)time(NULL) * 1000);
}

static const char *type_name(enum tr_schema_type t)
{
    static const char *const names[] = {
        [TR_SCHEMA_STRING] = "string",
        [TR_SCHEMA_BOOLEAN] = "boolean",
        [TR_SCHEMA_NUMBER] = "number",
        [TR_SCHEMA_INTEGER] = "integer",
        [TR_SCHEMA_ARRAY] = "array",
        [TR_SCHEMA_RECORD] = "table",
        [TR_SCHEMA_URL] = "url",
        [TR_SCHEMA_UUID] = "id",
        [TR_SCHEMA_TIMESTAMP] = "timestamp",
    };
    return (size_t)t < TR_ARRAY_SIZE(names) && names[t] ? names[t] : "string";
}

json_t *tr_schema_describe(const struct tr_schema *schema)
{
    json_t *fields = json_object();
    for (size_t i = 0; i < schema->cnt; i++) {
        const struct tr_schema_field *f = &schema->fields[i];
        json_t *d = json_object();
        json_object_set_new(d, "type", json_string(type_name(f->type)));
        json_object_set_new(d, "required", json_boolean(f->flags & TR_SCHEMA_REQUIRED));
        if (f->flags & TR_SCHEMA_IMMUTABLE)
            json_object_set_new(d, "immutable", json_true());
        if (f->flags & TR_SCHEMA_UNIQUE)
            json_object_set_new(d, "unique", json_true());
        if (f->flags & TR_SCHEMA_WRITE_ONLY)
            json_object_set_new(d, "write_only", json_true());
        if (f->dflt != NULL) {
            json_t *v = json_loads(f->dflt, JSON_DECODE_ANY, NULL);
            if (v != NULL)
                json_object_set_new(d, "default", v);
        }
        if (f->one_of != NULL) {
            json_t *e = json_array();
            for (size_t k = 0; f->one_of[k] != NULL; k++)
                json_array_append_new(e, json_string(f->one_of[k]));
            json_object_set_new(d, "enum", e);
        }
        if (f->flags & TR_SCHEMA_BOUNDED) {
            json_object_set_new(d, "between",
                                json_pack("[I,I]", (json_int_t)f->min, (json_int_t)f->max));
        }
        if (f->type == TR_SCHEMA_RECORD && f->record != NULL)
            json_object_set_new(d, "schema", tr_schema_describe(f->record));
        if (f->alias_of != NULL)
            json_object_set_new(d, "alias_of", json_string(f->alias_of));
        if (f->help != NULL)
            json_object_set_new(d, "help", json_string(f->help));
        json_object_set_new(fields, f->name, d);
    }
    return json_pack("{s:o}", "fields", fields);
}
