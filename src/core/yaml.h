/* SPDX-License-Identifier: MIT */
/* YAML documents as jansson values, both ways, through libyaml: the declarative configuration
 * (kong.yml) is read and written with these. Plain scalars are typed as Kong's YAML reader
 * (lyaml, YAML 1.1) types them: null (~, null, empty), booleans (true/false, yes/no, on/off in
 * their three spellings), integers (decimal, 0x, 0o) and floats; quoted scalars and `!!str`
 * are strings. Anchors, aliases and `<<` merge keys are supported. Bounded: nesting deeper
 * than TR_YAML_MAX_DEPTH, or more than TR_YAML_MAX_NODES values (aliases count every copy:
 * no "billion laughs"), is refused with a message, never a crash. */
#ifndef TR_CORE_YAML_H
#define TR_CORE_YAML_H

#include <stddef.h>

#include <jansson.h>

#define TR_YAML_MAX_DEPTH 512
#define TR_YAML_MAX_NODES 4000000

/* Parse one document of text (YAML, or JSON, which is tried first when the text starts with
 * '{' or '[') into a new value in *out. Returns 0, or TR_EINVAL with "line L, column C: what"
 * (1-based) in err. An empty document gives JSON null. */
int tr_yaml_parse(const char *text, size_t len, json_t **out, char *err, size_t err_len);

/* Where each mapping of a parsed document starts (for messages that name a line). */
struct tr_yaml_lines;

/* tr_yaml_parse that also records, in *lines (new; free with tr_yaml_lines_free), the line
 * of every mapping of the document (not of alias copies; none for JSON text). */
int tr_yaml_parse_lines(const char *text, size_t len, json_t **out, struct tr_yaml_lines **lines,
                        char *err, size_t err_len);
/* The 1-based line where the mapping v starts, or 0 when unknown (lines may be NULL). */
size_t tr_yaml_line_of(const struct tr_yaml_lines *lines, const json_t *v);
void tr_yaml_lines_free(struct tr_yaml_lines *lines);

/* v as a YAML block document (malloc'ed, NUL-terminated, ending in a newline), object members
 * in their order; strings that would read back as another type are quoted, multi-line ones
 * written as literal blocks. NULL on a value YAML cannot hold (NaN) or out of memory. */
char *tr_yaml_emit(const json_t *v);

#endif
