/* SPDX-License-Identifier: MIT */
/* What the logging plugins that send to a host and port (tcp-log, udp-log) share: Kong's host
 * rule for the destination and the two schema rows. */
#ifndef TR_PLUGINS_LOG_COMMON_H
#define TR_PLUGINS_LOG_COMMON_H

#include <stddef.h>

#include <jansson.h>

#include "schema/schema.h"

/* Kong's typedefs.host: a name or an address, without a port (a schema check). */
int tr_log_check_host(json_t *rec, const char *name, char *msg, size_t msg_len);

/* The required host and port rows, bound to conf_type's members host (char *) and port
 * (int). */
#define TR_LOG_DEST_ROWS(conf_type, what)                                                          \
    {.name = "host",                                                                               \
     .type = TR_SCHEMA_STRING,                                                                     \
     .flags = TR_SCHEMA_REQUIRED,                                                                  \
     .check = tr_log_check_host,                                                                   \
     .help = "the address or name the " what " go to",                                             \
     TR_SCHEMA_BIND(conf_type, host)},                                                             \
    {                                                                                              \
        .name = "port", .type = TR_SCHEMA_INTEGER,                                                 \
        .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_BOUNDED, .min = 0, .max = 65535,                   \
        .help = "its port", TR_SCHEMA_BIND(conf_type, port)                                        \
    }

#endif
