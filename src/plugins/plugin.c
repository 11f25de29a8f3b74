/* SPDX-License-Identifier: MIT */
/* The parts of plugin.h that need no request: helpers for a plugin's conf_parse. (The tr_ctx_*
 * functions are the proxy's, proxy/ctx.c.) */
#include "plugins/plugin.h"

#include <stdlib.h>

char *tr_plugin_message_body(const char *message)
{
    json_t *j = json_pack("{s:s}", "message", message);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return body;
}
