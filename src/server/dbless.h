/* SPDX-License-Identifier: MIT */
/* DB-less mode (database = off) on the node's side: the declarative configuration loaded into
 * the node's own store at start and on reload, POST /config applied, and the configuration's
 * hash kept across restarts beside the store (<prefix>/dbless.hash). */
#ifndef TR_SERVER_DBLESS_H
#define TR_SERVER_DBLESS_H

#include <stdbool.h>

#include <jansson.h>

struct tr_admin_env;
struct tr_conf;

/* Is conf DB-less? And does it name a declarative configuration (string or file)? */
bool tr_dbless_on(const struct tr_conf *conf);
bool tr_dbless_has_source(const struct tr_conf *conf);

/* Load what conf names (declarative_config_string, else declarative_config) into env's store,
 * replacing what it holds, and set hash; with neither, keep the store and read back the hash
 * last saved (zeros when none). Returns 0, or -1 after logging why (the node must not start). */
int tr_dbless_boot(const struct tr_conf *conf, struct tr_admin_env *env, char hash[33]);

/* Apply doc (POST /config) with env: on success save hash (zeros when doc declares nothing)
 * into cur_hash and beside the store, and answer 201 with the entities by kind and id; else
 * Kong's 400 (flattened errors too when flatten). The caller rebuilds its snapshot when
 * *status is 201. */
void tr_dbless_apply(const struct tr_conf *conf, struct tr_admin_env *env, const json_t *doc,
                     const char *hash, bool flatten, char cur_hash[33], int *status, json_t **body);

#endif
