/* SPDX-License-Identifier: MIT */
/* Path matching over the Admin API endpoint table (rows live in each entity file). */
#ifndef TR_ADMIN_ROUTES_H
#define TR_ADMIN_ROUTES_H

#include <stddef.h>

#include "admin/crud.h"
#include "core/str.h"

/* Find the row whose template matches path (a trailing slash is ignored; "//" never
 * matches). On a match, params[0..*param_cnt) get the percent-decoded {param} segments as
 * new strings (free them with tr_admin_route_params_free). Returns NULL when no row matches
 * (then nothing is allocated). */
const struct tr_admin_endpoint *tr_admin_route_match(struct tr_str path, char **params,
                                                     size_t *param_cnt);

/* The handler of ep for method (HEAD uses GET's), or NULL when the method is not allowed. */
tr_admin_handler_fn tr_admin_route_handler(const struct tr_admin_endpoint *ep,
                                           struct tr_str method);

/* The static Allow header value for ep, e.g. "GET, HEAD, PATCH, DELETE, OPTIONS". */
const char *tr_admin_route_allow(const struct tr_admin_endpoint *ep);

void tr_admin_route_params_free(char **params, size_t *param_cnt);

/* Call cb (may be NULL) for every row in table order; returns the number of rows. */
size_t tr_admin_route_foreach(void (*cb)(const struct tr_admin_endpoint *ep, void *ud), void *ud);

#endif
