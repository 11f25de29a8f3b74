/* SPDX-License-Identifier: MIT */
/* DB-less mode on the Admin API (database = off): reads work as always; an entity write
 * answers 405 with Kong's operation-unsupported body, named as Kong's "off" strategy names it
 * ("cannot create 'routes' entities when not using a database"). POST /config and a target's
 * healthy/unhealthy (node state, not configuration) stay open. */
#ifndef TR_ADMIN_DBLESS_H
#define TR_ADMIN_DBLESS_H

#include <stdbool.h>

#include "admin/crud.h"
#include "core/str.h"

/* Does this request write configuration (a method other than GET, HEAD and OPTIONS, on an
 * endpoint that is not node state)? */
bool tr_admin_is_write(const struct tr_admin_endpoint *ep, struct tr_str method);

/* Would this request write configuration while env is read-only? */
bool tr_admin_dbless_refuses(const struct tr_admin_env *env, const struct tr_admin_endpoint *ep,
                             struct tr_str method);

/* Answer 405 for the write ctx's request asks for. */
void tr_admin_reply_dbless_write(struct tr_admin_ctx *ctx);

#endif
