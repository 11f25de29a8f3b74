/* SPDX-License-Identifier: MIT */
/* Inside the Kong 3 validator (schema/kong3.c), shared with the files that add Kong 3 kinds to
 * it (schema/kong3_upstreams.c): the field rows, the kind, the generic validator and the
 * checks and error helpers a kind's rows and entity rules use. Nothing outside src/schema/
 * includes this header; the API is schema/kong3.h. */
#ifndef TR_SCHEMA_KONG3_FIELDS_H
#define TR_SCHEMA_KONG3_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "schema/schema.h"

#define TR_SCHEMA3_MSG_LEN 512

enum tr_schema3_ftype {
    F_ID,      /* UUID, generated */
    F_TS,      /* integer seconds (milliseconds for a kind with ts_ms), set by the validator */
    F_STRING,  /* string; "" is unset */
    F_INT,     /* integer, maybe bounded, maybe one of a list */
    F_BOOL,    /* boolean */
    F_LIST,    /* array of strings ("set" or "array" in Kong's words) */
    F_FOREIGN, /* {"id": uuid} or null */
    F_HEADERS, /* map of header name -> array of strings */
    F_CUSTOM,  /* a value the row's own function coerces (a nested record) */
};

typedef bool (*tr_schema3_check_fn)(const char *v, size_t len, char *msg, size_t msg_len);

/* The value of a F_CUSTOM field from input v (NULL: absent, give the default) over the
 * current value cur (the stored one on PATCH, else NULL): a new value, or NULL after adding
 * the errors under errs[name]. */
typedef json_t *(*tr_schema3_custom_fn)(const char *name, const json_t *v, const json_t *cur,
                                        json_t *errs);

struct tr_schema3_field {
    const char *name;
    enum tr_schema3_ftype type;
    bool required;
    const char *dflt; /* JSON text, or NULL (null) */
    bool bounded;
    long long min, max;
    const int *int_one_of; /* ended by 0 */
    const char *int_one_of_msg;
    tr_schema3_check_fn check;     /* string value, or each list item */
    const char *list_word;         /* "set" or "array" */
    bool dedupe;                   /* a set: repeated items dropped */
    const char *const *str_one_of; /* a string one of these (NULL-ended), else str_one_of_msg */
    const char *str_one_of_msg;
    tr_schema3_custom_fn custom; /* F_CUSTOM */
};

struct tr_schema3_kind {
    const struct tr_schema3_field *fields;
    size_t cnt;
    const char *shorthand; /* "url" for services */
    void (*entity_checks)(json_t *rec, const json_t *input, json_t *errs);
    /* Optional: a new input made from the request's (Kong's shorthand_fields), or NULL. */
    json_t *(*prepare)(const json_t *input);
    bool ts_ms; /* created_at and updated_at in milliseconds (targets) */
};

/* The generic validator (schema/kong3.h describes modes and shapes). For a ts_ms kind, now is
 * in milliseconds. */
int tr__schema3_validate(const struct tr_schema3_kind *k, enum tr_schema_mode mode,
                         const json_t *input, const json_t *existing, long long now, json_t **out,
                         json_t **fields);

/* Errors in Kong 3's shape: a message under a field (the first one stays), under item i of a
 * list field, under a sub-key of a record field, and an entity-wide one. */
void tr__schema3_err_field(json_t *errs, const char *f, const char *msg);
void tr__schema3_err_item(json_t *errs, const char *f, size_t i, const char *msg);
void tr__schema3_err_sub(json_t *errs, const char *f, const char *sub, const char *msg);
void tr__schema3_err_entity(json_t *errs, const char *msg);

/* A form's list value ("a, b,c"): a new array of its non-empty, trimmed, comma-separated
 * items. */
json_t *tr__schema3_split_list(const char *s);

/* An integer from a JSON integer, an integral real or a decimal string (forms). */
bool tr__schema3_parse_int(const json_t *v, long long *out);

/* Checks of typedefs.lua, with Kong's messages. */
bool tr__schema3_tag_check(const char *v, size_t len, char *msg, size_t msg_len);
bool tr__schema3_path_check(const char *v, size_t len, char *msg, size_t msg_len); /* path */
bool tr__schema3_sni_check(const char *v, size_t len, char *msg, size_t msg_len);  /* sni */
/* Kong's normalize_ip: host (a name, an IPv4 or IPv6 address, IPv6 maybe in brackets) with an
 * optional port; false with Kong's message. */
bool tr__schema3_host_port_ok(const char *h, char *msg, size_t msg_len, bool *has_port);
/* Kong's hostname_type: 6 (more than one colon), 4 (digits and dots, maybe a port) or 0. */
int tr__schema3_host_kind(const char *s, size_t len);
/* Header values: JSON or form input coerced to a map of name -> array of strings; names are
 * typedefs.header_name's (no 'host' rule). NULL after adding errors under errs[field]. */
json_t *tr__schema3_coerce_header_map(const char *field, const json_t *v, json_t *errs);

#endif
