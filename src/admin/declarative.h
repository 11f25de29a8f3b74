/* SPDX-License-Identifier: MIT */
/* Kong's declarative configuration (kong.yml, `_format_version` "3.0", "2.1" or "1.1"): a whole
 * configuration as one document, loaded into the store in one batch (all or nothing), and the
 * store written back out as one. docs/declarative.md is the user's side.
 *
 * Every entity of the file becomes one write through the Admin API's own handlers
 * (tr_admin_handle_doc), so a file's entities are checked, defaulted and stored exactly as the
 * same entities sent to the Admin API; the loader itself only flattens the nesting, derives
 * stable ids (Kong's UUIDv5 rules), resolves references by name or id, finds what the file
 * declares twice, and gathers the answers' errors into Kong's error shapes. */
#ifndef TR_ADMIN_DECLARATIVE_H
#define TR_ADMIN_DECLARATIVE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "admin/admin.h"

struct tr_yaml_lines;

/* The largest declarative text torii reads (a file, a POST /config body). */
#define TR_DECLARATIVE_MAX_BYTES (32u << 20)
/* Kong's hash of "no configuration". */
#define TR_DECLARATIVE_EMPTY_HASH "00000000000000000000000000000000"

enum tr_declarative_mode {
    TR_DECLARATIVE_REPLACE, /* the store holds the file's entities and nothing else (DB-less) */
    TR_DECLARATIVE_UPSERT,  /* the file's entities are added or replaced; others stay (import) */
};

struct tr_declarative_result {
    bool want_entities; /* set by the caller: collect the entities as the Admin API shows them */
    size_t entities;    /* entities written */
    json_t *written;    /* new, with want_entities: {"<kind>": {"<id>": entity}} (POST /config) */
    json_t *fields;     /* new; Kong's nested error fields (NULL on success) */
    json_t *flattened;  /* new; Kong's flattened_errors list (NULL on success) */
};

/* Text (YAML or JSON) into a document: 0 with a new value in *doc, or TR_EINVAL with Kong's
 * "failed parsing declarative configuration: ..." in err (a document that is not a mapping
 * is "expected an object"). */
int tr_declarative_parse_text(const char *text, size_t len, json_t **doc, char *err,
                              size_t err_len);
/* The same, also keeping where each mapping starts (*lines new, or NULL on error; free with
 * tr_yaml_lines_free), for tr_declarative_error_text. */
int tr_declarative_parse_text_lines(const char *text, size_t len, json_t **doc,
                                    struct tr_yaml_lines **lines, char *err, size_t err_len);

/* The whole file at path (NUL-terminated, malloc'ed, *len bytes), or NULL with errno (EFBIG
 * past TR_DECLARATIVE_MAX_BYTES). */
char *tr_declarative_read_file(const char *path, size_t *len);

/* md5 of text as 32 lower-case hex digits (Kong's configuration hash), into out. */
void tr_declarative_hash_text(const char *text, size_t len, char out[33]);
/* A hash for a document that came without its text (a JSON body): md5 of its canonical
 * (sorted, compact) JSON. */
void tr_declarative_hash_doc(const json_t *doc, char out[33]);

/* Check doc and write its entities through env's handlers, in one store batch: committed
 * when every entity was accepted, rolled back otherwise. env->on_change is not called (the
 * caller rebuilds once). Returns 0; TR_EINVAL with res->fields and res->flattened set; or
 * another TR_E* (store failure). res is filled either way (set res->want_entities before);
 * free it with tr_declarative_result_free. */
int tr_declarative_load(struct tr_admin_env *env, const json_t *doc, enum tr_declarative_mode mode,
                        struct tr_declarative_result *res);
void tr_declarative_result_free(struct tr_declarative_result *res);

/* Kong's 400 body for fields (borrowed): {"code":14,"name":"invalid declarative
 * configuration","message":"declarative config is invalid: <Lua-style rendering>","fields"};
 * with flattened (borrowed, may be NULL) also "flattened_errors". */
json_t *tr_declarative_error_body(const json_t *fields, const json_t *flattened);
/* The errors as the CLI prints them (Kong's pretty_print_error): "in 'services':\n  - in entry
 * 1 of 'services' (line 3):\n    in 'host': expected a string". doc and lines (both may be
 * NULL) give each entry the line where it starts. malloc'ed. */
char *tr_declarative_error_text(const json_t *fields, const json_t *doc,
                                const struct tr_yaml_lines *lines);

/* The whole store as a declarative document (new): `_format_version` "3.0", `_transform`
 * false (stored passwords are digests), every entity kind torii has in dependency order,
 * rows sorted by id, each flat with its id, timestamps and references as bare ids. Without
 * with_secrets, what the Admin API never shows is left out (private keys, passwords, plugin
 * secrets: P11). NULL on a store error. */
json_t *tr_declarative_export(struct tr_store *store, bool with_secrets);

/* A commented starter file (static text) for `torii config init`. */
const char *tr_declarative_starter(void);

#endif
