/* SPDX-License-Identifier: MIT */
/* The bundled plugins, ordered by priority (highest first, ties by name). The admin layer, the
 * snapshot builder and the phase runner find plugins here; plugins never include this. */
#ifndef TR_PLUGINS_REGISTRY_H
#define TR_PLUGINS_REGISTRY_H

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

#endif
