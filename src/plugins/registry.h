/* SPDX-License-Identifier: MIT */
/* The bundled plugins, ordered by priority (highest first, ties by name). The admin layer, the
 * snapshot builder and the phase runner find plugins here; plugins never include this. */
#ifndef TR_PLUGINS_REGISTRY_H
#define TR_PLUGINS_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

struct tr_plugin;
struct tr_plugin_credential;

#define TR_PLUGIN_MAX 64

/* Number of bundled plugins; tr_plugin_at(i) for i < count, in execution order. */
size_t tr_plugin_count(void);
const struct tr_plugin *tr_plugin_at(size_t i);
/* Plugin by Kong name, or NULL; *index (may be NULL) gets its position. */
const struct tr_plugin *tr_plugin_find(const char *name, size_t *index);
/* Credential kind by store entity name or admin path segment (or alias), or NULL. */
const struct tr_plugin_credential *tr_plugin_find_credential(const char *entity_or_path);

/* Check a `plugins` setting value: "bundled" (every bundled plugin), "off" (none), or a comma
 * list of plugin names and "bundled" (items trimmed, empty items ignored). Returns 0, or TR_EINVAL
 * with the reason (naming the first unknown plugin) in why. */
int tr_plugin_check_list(const char *value, char *why, size_t why_len);

/* Set which bundled plugins this node loads from a `plugins` setting value (see
 * tr_plugin_check_list). Called once by the control thread before workers start; until then
 * every bundled plugin counts as loaded. Returns 0, or TR_EINVAL with why set (nothing
 * changes). */
int tr_plugin_set_enabled(const char *value, char *why, size_t why_len);

/* Is plugin index i (as for tr_plugin_at) loaded on this node? False when i is out of range. */
bool tr_plugin_enabled(size_t i);

/* internal, for tests */
/* Add p to the list (kept in priority order; indexes of later plugins may shift) and forget
 * any tr_plugin_set_enabled. Call before other threads use the registry. Returns 0,
 * TR_ECONFLICT when a plugin of that name exists, or TR_EINVAL when the list is full. */
int tr__plugin_add(const struct tr_plugin *p);

#endif
