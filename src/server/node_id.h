/* SPDX-License-Identifier: MIT */
/* The node's id: a UUID made the first time a node starts on a prefix and kept there
 * (<prefix>/node.id, as Kong keeps kong.id), so GET /, upstream health and metrics name the same
 * node across restarts, reloads and upgrades. Apart from it, each process records its own id
 * with the cluster events it writes (cluster_sync.c): a worker taking over from another on the
 * same node must not take the other's writes for its own. */
#ifndef TR_SERVER_NODE_ID_H
#define TR_SERVER_NODE_ID_H

#include <stddef.h>

struct tr_conf;

/* Read the id kept under conf's prefix, or make one and keep it (written beside, then renamed
 * over). out gets 37 bytes. Returns 0; on a prefix that cannot be written the id is new each
 * start (logged) and 0 is returned too. */
int tr_node_id_load(const struct tr_conf *conf, char *out, size_t len);

#endif
