/* SPDX-License-Identifier: MIT */
/* The parts of plugin.h that need no request of their own: helpers for a plugin's conf_parse,
 * and tr_ctx_respond_error, which only looks the answer up in the error table. (The other
 * tr_ctx_* functions are the proxy's, proxy/ctx.c.) */
#include "plugins/plugin.h"

#include <stdlib.h>

#include "core/err.h"

char *tr_plugin_message_body(const char *message)
{
    json_t *j = json_pack("{s:s}", "message", message);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return body;
}

void tr_ctx_respond_error(struct tr_ctx *ctx, int err)
{
    tr_ctx_respond_message(ctx, tr_err_status(err), tr_err_message(err));
}
