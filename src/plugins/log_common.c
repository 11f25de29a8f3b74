/* SPDX-License-Identifier: MIT */
#include "plugins/log_common.h"

#include "core/err.h"
#include "schema/kong3.h"

int tr_log_check_host(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const json_t *v = json_object_get(rec, name);
    if (json_is_string(v) && !tr_schema3_host_ok(json_string_value(v), msg, msg_len))
        return TR_EINVAL;
    return 0;
}
