/* SPDX-License-Identifier: MIT */
/* The field-table validator shared by admin entities, the declarative store and plugin config
 * schemas: a schema is a constant table of fields (one row each); validation coerces Kong 0.7
 * style string inputs, fills defaults, runs checks and collects every error as field -> message.
 * Uniqueness is only declared here; the store enforces it. */
#ifndef TR_SCHEMA_SCHEMA_H
#define TR_SCHEMA_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum tr_schema_type {
    TR_SCHEMA_STRING, /* no control bytes unless TR_SCHEMA_TEXT */
    TR_SCHEMA_BOOLEAN,
    TR_SCHEMA_NUMBER,
    TR_SCHEMA_INTEGER,   /* JSON integer; a float with no fraction is accepted */
    TR_SCHEMA_ARRAY,     /* array of strings; a string input is split on commas */
    TR_SCHEMA_RECORD,    /* object validated against field->record */
    TR_SCHEMA_URL,       /* string: scheme://host[:port][/path][?query] */
    TR_SCHEMA_UUID,      /* string: 8-4-4-4-12 hex */
    TR_SCHEMA_TIMESTAMP, /* integer, milliseconds since the epoch */
};

/* Field flags. */
#define TR_SCHEMA_REQUIRED 0x01u  /* "<f> is required" when absent after defaults */
#define TR_SCHEMA_IMMUTABLE 0x02u /* "<f> cannot be updated" when an update changes it */
#define TR_SCHEMA_UNIQUE 0x04u    /* informational: the store enforces it */
#define TR_SCHEMA_BOUNDED 0x08u   /* INTEGER/NUMBER: min..max apply */
/* STRING: multi-line text that never becomes a header (PEM, an answer body, a password): HTAB,
 * CR and LF allowed. Every other string and array item refuses control bytes (C0 and DEL), so
 * no stored value can split a head. */
#define TR_SCHEMA_TEXT 0x10u
/* A secret (a password, a private key): accepted on writes, never a list filter (filtering by
 * it would confirm guesses one request at a time), shown as "write_only" by /schemas. Which
 * answers omit it is the entity's business (hidden_fields, hidden_config, certificates). */
#define TR_SCHEMA_WRITE_ONLY 0x20u
/* An update (PATCH) may not clear it: a blank or null value is refused with "<f> is not a
 * string" (Kong 0.7's answer for a key-auth key) instead of generating a new default. */
#define TR_SCHEMA_NO_CLEAR 0x40u

enum tr_schema_mode {
    TR_SCHEMA_INSERT,  /* new entity: defaults filled (ids, created_at, derived values) */
    TR_SCHEMA_UPDATE,  /* PATCH: input merged onto the existing entity, then the whole checked */
    TR_SCHEMA_REPLACE, /* PUT on an existing id: input replaces every field; unset fields are
                        * cleared then defaulted; id and created_at kept from the existing */
};

struct tr_schema;

/* A field check. rec is the (already coerced) record holding the field, name the field; the
 * check may rewrite the value in rec (e.g. drop a trailing slash). Returns 0, or TR_EINVAL
 * with the client-facing message written into msg. Called only when the field is present. */
typedef int (*tr_schema_check_fn)(json_t *rec, const char *name, char *msg, size_t msg_len);

/* A default generator: returns a new value for the missing field (or NULL to leave it unset).
 * rec is the record being filled; fields listed before this one may already be defaulted. */
typedef json_t *(*tr_schema_default_fn)(const json_t *rec);

/* A whole-record check run when no field has an error. Returns 0, or TR_EINVAL with the
 * message (answered as {"message": msg}). */
typedef int (*tr_schema_self_check_fn)(json_t *rec, enum tr_schema_mode mode, char *msg,
                                       size_t msg_len);

/* A whole-record rule that names fields (Kong 0.7's "at least a 'x' or a 'y'" checks), run after
 * the field checks and defaults whatever else failed. rec is the record as validated so far (a
 * field whose value was refused is absent from it), input the request (an update names only
 * what it changes). Returns NULL, or a new object field -> message; each message is reported
 * under its field unless that field already has an error. */
typedef json_t *(*tr_schema_entity_check_fn)(const json_t *rec, const json_t *input,
                                             enum tr_schema_mode mode);

/* Where tr_schema_parse_into stores a field's value in a C struct (a plugin's parsed config). */
enum tr_schema_bind {
    TR_SCHEMA_UNBOUND = 0, /* not stored: the field is derived by hand, or not needed */
    TR_SCHEMA_AS_VALUE,    /* by type: STRING, URL, UUID -> char * (owned copy, NULL when
                            * unset); BOOLEAN -> bool; INTEGER, TIMESTAMP -> int or int64_t (by
                            * size; an int is clamped); NUMBER -> double; ARRAY -> char **
                            * (owned, every item owned; NULL when unset) with a size_t count at
                            * cnt_off; RECORD -> a nested struct holding the record's own
                            * bound fields */
    TR_SCHEMA_AS_INDEX,    /* STRING with one_of: the value's index in one_of, as an int (an
                            * enum listed in the same order) */
};

struct tr_schema_field {
    const char *name; /* static */
    enum tr_schema_type type;
    unsigned flags;                 /* TR_SCHEMA_* flags */
    const char *dflt;               /* JSON text of a constant default, or NULL */
    tr_schema_default_fn gen;       /* or a generated default, or NULL */
    int64_t min, max;               /* with TR_SCHEMA_BOUNDED */
    const char *const *one_of;      /* NULL-terminated allowed string values, or NULL */
    const struct tr_schema *record; /* nested schema for TR_SCHEMA_RECORD */
    tr_schema_check_fn check;       /* extra check, or NULL */
    /* Kong 0.x's name of the row named here (cors origin -> origins). A value given under this
     * name is kept under it, shown as sent, and also becomes the other row's value (a string
     * as a one-item list when that row is an ARRAY); giving both names in one write is refused.
     * A write that sets only the newer name drops the older one, so the two never disagree. */
    const char *alias_of;
    const char *help; /* one line for docs and /schema endpoints */
    /* The struct member the value goes to (TR_SCHEMA_BIND* below fill these). */
    enum tr_schema_bind bind;
    size_t off, size; /* offset and sizeof of the member */
    size_t cnt_off;   /* ARRAY: offset of the size_t item count */
};

/* Bind a row to member of struct type, e.g. TR_SCHEMA_BIND(struct x_conf, timeout). The size
 * is checked against the field's type when a config is parsed (a mismatch aborts, as a wrong
 * table row is a programming error). */
#define TR_SCHEMA_BIND(type, member)                                                               \
    .bind = TR_SCHEMA_AS_VALUE, .off = offsetof(type, member), .size = sizeof(((type *)0)->member)
/* An ARRAY row: the char ** member and its size_t count member. */
#define TR_SCHEMA_BIND_LIST(type, member, count)                                                   \
    TR_SCHEMA_BIND(type, member), .cnt_off = offsetof(type, count)
/* A STRING row with one_of, stored as the index of its value (an enum in one_of's order). */
#define TR_SCHEMA_BIND_INDEX(type, member)                                                         \
    .bind = TR_SCHEMA_AS_INDEX, .off = offsetof(type, member), .size = sizeof(((type *)0)->member)

/* The two rows every entity starts with: a generated UUID and the creation time in ms. */
#define TR_SCHEMA_FIELD_ID                                                                         \
    {                                                                                              \
        .name = "id", .type = TR_SCHEMA_UUID, .flags = TR_SCHEMA_IMMUTABLE | TR_SCHEMA_UNIQUE,     \
        .gen = tr_schema_gen_uuid, .help = "generated UUID"                                        \
    }
/* Kong 1.1+'s tags on the entities Kong 3 still has (consumers, plugins, credentials,
 * certificates, snis): a list of at most 256 strings, each printable ASCII but ',' and '/',
 * or UTF-8 (Kong 3's typedef). */
#define TR_SCHEMA_FIELD_TAGS                                                                       \
    {                                                                                              \
        .name = "tags", .type = TR_SCHEMA_ARRAY, .check = tr_schema_check_tags,                    \
        .help = "tags: strings to find the entity by (/tags)"                                      \
    }
#define TR_SCHEMA_FIELD_CREATED_AT                                                                 \
    {                                                                                              \
        .name = "created_at", .type = TR_SCHEMA_TIMESTAMP, .flags = TR_SCHEMA_IMMUTABLE,           \
        .gen = tr_schema_gen_created_at, .help = "creation time, ms since the epoch"               \
    }

struct tr_schema {
    const char *name; /* entity or plugin name, static */
    const struct tr_schema_field *fields;
    size_t cnt;
    tr_schema_self_check_fn self_check;     /* or NULL */
    tr_schema_entity_check_fn entity_check; /* or NULL */
};

/* Validate input for schema.
 *  mode:     see enum tr_schema_mode;
 *  input:    the decoded request (strings are coerced; JSON null or a blank string unsets a
 *            field);
 *  existing: the stored entity for UPDATE and REPLACE (borrowed), NULL for INSERT.
 * On success returns 0 and sets *out to a new, complete entity whose keys follow the field
 * table's order. On a validation failure returns TR_EINVAL and sets *errors to a new object:
 * either field -> message for every bad field (nested ones as "config.<f>"; the entity check's
 * too), or {"message": ...} from the self-check, which runs only when no field is bad. input
 * and existing are never modified. */
int tr_schema_validate(const struct tr_schema *schema, enum tr_schema_mode mode,
                       const json_t *input, const json_t *existing, json_t **out, json_t **errors);

/* The row for name, or NULL. */
const struct tr_schema_field *tr_schema_field_find(const struct tr_schema *schema,
                                                   const char *name);

/* Coerce one input value (string inputs as in forms, JSON values as is) to field's type:
 * returns a new value, or NULL with the type error written into msg ("<f> is not a number").
 * Used by validation and by list filters (?field=value). Does not run checks. */
json_t *tr_schema_coerce(const struct tr_schema_field *field, const json_t *value, char *msg,
                         size_t msg_len);

/* An entity check's rule "at least one of fields (NULL-terminated) holds a value" (Kong 0.7:
 * "At least a 'request_host' or a 'request_path' must be specified"): NULL when one does, else
 * a new object giving msg to each of fields (in an update, to each one the request named, as
 * Kong validated only the fields an update sent; to all when it named none). */
json_t *tr_schema_at_least_one(const json_t *rec, const json_t *input, enum tr_schema_mode mode,
                               const char *const *fields, const char *msg);

/* Helpers for entity schemas: a new v4 UUID string, and now as whole seconds x 1000. */
json_t *tr_schema_gen_uuid(const json_t *rec);
json_t *tr_schema_gen_created_at(const json_t *rec);
/* Kong's custom_fields_by_lua (every logging plugin has it): Lua code torii cannot run. Absent,
 * null or {} is accepted; anything else is refused with a message saying so, never ignored. */
int tr_schema_check_no_lua(json_t *rec, const char *name, char *msg, size_t msg_len);
#define TR_SCHEMA_FIELD_NO_LUA                                                                     \
    {                                                                                              \
        .name = "custom_fields_by_lua", .type = TR_SCHEMA_RECORD, .check = tr_schema_check_no_lua, \
        .help = "Kong's Lua fields: refused (torii runs no Lua)"                                   \
    }
/* Kong's typedefs.header_name (tools/http.lua's validate_header_name): letters, digits, '-'
 * and '_'; false with Kong's message in msg. And the same as a field's check. */
bool tr_schema_header_name_ok(const char *s, size_t len, char *msg, size_t msg_len);
int tr_schema_check_header_name(json_t *rec, const char *name, char *msg, size_t msg_len);
/* The check of TR_SCHEMA_FIELD_TAGS. */
int tr_schema_check_tags(json_t *rec, const char *name, char *msg, size_t msg_len);

/* Fill the bound members of out (a zeroed struct) from rec, a record validated against schema
 * (borrowed; NULL reads as {}). A field rec does not hold takes the row's constant default
 * (dflt), else stays NULL / 0 / false; so does, in a record that skipped validation, a value of
 * another type or an empty string. Array items that are not strings are skipped. Generated
 * defaults (gen) are not run. Strings and arrays are owned copies: tr_schema_free_bound. */
void tr_schema_parse_into(const struct tr_schema *schema, const json_t *rec, void *out);

/* Free what tr_schema_parse_into stored in p (strings, arrays, nested records) and clear those
 * members; p itself is the caller's. NULL is a no-op. */
void tr_schema_free_bound(const struct tr_schema *schema, void *p);

/* A new zeroed struct of size bytes filled by tr_schema_parse_into (never NULL: aborts on OOM),
 * and its counterpart: tr_schema_free_bound, then free(p). What a plugin's conf_parse and
 * conf_free wrap. */
void *tr_schema_parse_new(const struct tr_schema *schema, const json_t *rec, size_t size);
void tr_schema_free_struct(const struct tr_schema *schema, void *p);

/* The JSON description of a schema ({"fields":{name:{type,required,default,...}}}), for
 * /plugins/schema/{name}-style endpoints. Returns a new object. */
json_t *tr_schema_describe(const struct tr_schema *schema);

#endif
