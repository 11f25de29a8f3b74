/* SPDX-License-Identifier: MIT */
/* Schema rows the logging plugins share: the destination of tcp-log and udp-log (Kong's host
 * rule and the port), and the timeout and keepalive durations (also http-log's). */
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

/* A required duration in ms (0..24 h) bound to conf_type's double member, default dflt (JSON
 * text): the timeout and keepalive rows of Kong's logging plugins. */
#define TR_LOG_MS_ROW(conf_type, member, dflt_text, help_text)                                     \
    {                                                                                              \
        .name = #member, .type = TR_SCHEMA_NUMBER,                                                 \
        .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_BOUNDED, .dflt = dflt_text, .min = 0,              \
        .max = 86400000, .help = help_text, TR_SCHEMA_BIND(conf_type, member)                      \
    }

#endif
