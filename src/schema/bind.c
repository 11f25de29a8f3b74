/* SPDX-License-Identifier: MIT */
/* Validated records into C structs: a row that names a struct member (schema.h, TR_SCHEMA_BIND)
 * is copied there with its default, so a plugin states each config field, its default and its
 * storage once, in its field table, and its conf_parse keeps only what it derives. */
#include "schema/schema.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* Integers are read as the validator writes them; a real (only in a record that skipped
 * validation) counts when it fits where the validator would have put an integer. */
#define MAX_EXACT 9007199254740992.0

static void *member(void *base, size_t off)
{
    return (char *)base + off;
}

/* A bound row whose member cannot hold its type: the table is wrong, not the input. */
static void check_size(const struct tr_schema_field *f, size_t want)
{
    if (f->size != want)
        abort();
}

static bool is_string_type(enum tr_schema_type t)
{
    return t == TR_SCHEMA_STRING || t == TR_SCHEMA_URL || t == TR_SCHEMA_UUID;
}

static bool in_one_of(const struct tr_schema_field *f, const char *s)
{
    for (size_t i = 0; f->one_of != NULL && f->one_of[i] != NULL; i++) {
        if (strcmp(f->one_of[i], s) == 0)
            return true;
    }
    return false;
}

/* Does v hold what field f stores? An empty string does not: validation unsets blank strings,
 * and every plugin read "" as unset before. */
static bool usable(const struct tr_schema_field *f, const json_t *v)
{
    if (v == NULL)
        return false;
    if (f->bind == TR_SCHEMA_AS_INDEX)
        return json_is_string(v) && in_one_of(f, json_string_value(v));
    switch (f->type) {
    case TR_SCHEMA_STRING:
    case TR_SCHEMA_URL:
    case TR_SCHEMA_UUID:
        return json_is_string(v) && json_string_length(v) > 0;
    case TR_SCHEMA_BOOLEAN:
        return json_is_boolean(v);
    case TR_SCHEMA_INTEGER:
    case TR_SCHEMA_TIMESTAMP:
        return json_is_integer(v) || (json_is_real(v) && fabs(json_real_value(v)) <= MAX_EXACT);
    case TR_SCHEMA_NUMBER:
        return json_is_number(v);
    case TR_SCHEMA_ARRAY:
        return json_is_array(v);
    case TR_SCHEMA_RECORD:
        return json_is_object(v);
    }
    return false;
}

/* The value to store for f (a new reference): rec's own, else the row's default, else NULL. */
static json_t *value_for(const struct tr_schema_field *f, const json_t *rec)
{
    json_t *v = json_object_get(rec, f->name);
    if (usable(f, v))
        return json_incref(v);
    if (f->dflt == NULL)
        return NULL;
    v = json_loads(f->dflt, JSON_DECODE_ANY, NULL);
    if (usable(f, v))
        return v;
    json_decref(v);
    return NULL;
}

static void store_ptr(void *dst, void *p)
{
    memcpy(dst, &p, sizeof(p));
}

static void *load_ptr(const void *src)
{
    void *p;
    memcpy(&p, src, sizeof(p));
    return p;
}

static void store_string(const struct tr_schema_field *f, const json_t *v, void *base)
{
    check_size(f, sizeof(char *));
    store_ptr(member(base, f->off), v ? tr_xstrdup(json_string_value(v)) : NULL);
}

static void store_bool(const struct tr_schema_field *f, const json_t *v, void *base)
{
    check_size(f, sizeof(bool));
    bool b = json_is_true(v);
    memcpy(member(base, f->off), &b, sizeof(b));
}

static void store_int(const struct tr_schema_field *f, const json_t *v, void *base)
{
    void *dst = member(base, f->off);
    int64_t n = 0;
    if (json_is_integer(v))
        n = json_integer_value(v);
    else if (v != NULL)
        n = (int64_t)json_real_value(v);
    if (f->size == sizeof(int64_t)) {
        memcpy(dst, &n, sizeof(n));
        return;
    }
    check_size(f, sizeof(int));
    int i = n > INT32_MAX ? INT32_MAX : n < INT32_MIN ? INT32_MIN : (int)n;
    memcpy(dst, &i, sizeof(i));
}

static void store_number(const struct tr_schema_field *f, const json_t *v, void *base)
{
    check_size(f, sizeof(double));
    double d = v ? json_number_value(v) : 0;
    memcpy(member(base, f->off), &d, sizeof(d));
}

static void store_list(const struct tr_schema_field *f, const json_t *v, void *base)
{
    check_size(f, sizeof(char **));
    char **items = NULL;
    size_t cnt = 0;
    if (v != NULL) {
        size_t n = json_array_size(v);
        /* Present but empty is not absent (oauth2: no scope allowed vs any scope). */
        items = tr_xcalloc(n ? n : 1, sizeof(*items));
        for (size_t i = 0; i < n; i++) {
            const char *s = json_string_value(json_array_get(v, i));
            if (s != NULL)
                items[cnt++] = tr_xstrdup(s);
        }
    }
    store_ptr(member(base, f->off), items);
    memcpy(member(base, f->cnt_off), &cnt, sizeof(cnt));
}

static void store_index(const struct tr_schema_field *f, const json_t *v, void *base)
{
    check_size(f, sizeof(int));
    int index = 0;
    for (int i = 0; v != NULL && f->one_of[i] != NULL; i++) {
        if (strcmp(f->one_of[i], json_string_value(v)) == 0)
            index = i;
    }
    memcpy(member(base, f->off), &index, sizeof(index));
}

/* An absent record still gets its fields' defaults, as validation gives them. */
static void store_record(const struct tr_schema_field *f, const json_t *v, void *base)
{
    tr_schema_parse_into(f->record, v, member(base, f->off));
}

typedef void (*store_fn)(const struct tr_schema_field *f, const json_t *v, void *base);

/* How each type is stored with TR_SCHEMA_AS_VALUE. */
static const store_fn storers[] = {
    [TR_SCHEMA_STRING] = store_string, [TR_SCHEMA_URL] = store_string,
    [TR_SCHEMA_UUID] = store_string,   [TR_SCHEMA_BOOLEAN] = store_bool,
    [TR_SCHEMA_INTEGER] = store_int,   [TR_SCHEMA_TIMESTAMP] = store_int,
    [TR_SCHEMA_NUMBER] = store_number, [TR_SCHEMA_ARRAY] = store_list,
    [TR_SCHEMA_RECORD] = store_record,
};

void tr_schema_parse_into(const struct tr_schema *schema, const json_t *rec, void *out)
{
    for (size_t i = 0; i < schema->cnt; i++) {
        const struct tr_schema_field *f = &schema->fields[i];
        if (f->bind == TR_SCHEMA_UNBOUND)
            continue;
        json_t *v = value_for(f, rec);
        if (f->bind == TR_SCHEMA_AS_INDEX)
            store_index(f, v, out);
        else
            storers[f->type](f, v, out);
        json_decref(v);
    }
}

static void free_list(const struct tr_schema_field *f, void *base)
{
    char **items = load_ptr(member(base, f->off));
    size_t cnt;
    memcpy(&cnt, member(base, f->cnt_off), sizeof(cnt));
    for (size_t i = 0; i < cnt; i++)
        free(items[i]);
    free(items);
    store_ptr(member(base, f->off), NULL);
    cnt = 0;
    memcpy(member(base, f->cnt_off), &cnt, sizeof(cnt));
}

void tr_schema_free_bound(const struct tr_schema *schema, void *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < schema->cnt; i++) {
        const struct tr_schema_field *f = &schema->fields[i];
        if (f->bind != TR_SCHEMA_AS_VALUE)
            continue;
        void *dst = member(p, f->off);
        if (is_string_type(f->type)) {
            free(load_ptr(dst));
            store_ptr(dst, NULL);
        } else if (f->type == TR_SCHEMA_ARRAY) {
            free_list(f, p);
        } else if (f->type == TR_SCHEMA_RECORD) {
            tr_schema_free_bound(f->record, dst);
        }
    }
}

void *tr_schema_parse_new(const struct tr_schema *schema, const json_t *rec, size_t size)
{
    void *p = tr_xcalloc(1, size);
    tr_schema_parse_into(schema, rec, p);
    return p;
}

void tr_schema_free_struct(const struct tr_schema *schema, void *p)
{
    tr_schema_free_bound(schema, p);
    free(p);
}
