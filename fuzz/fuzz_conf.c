/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the torii.conf parser: any bytes must give a clean error or settings whose
 * dump parses back to the same dump (the round trip the node info endpoint relies on). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tr_conf conf, again;
    char err[256];

    memset(&conf, 0, sizeof(conf));
    if (tr__conf_parse_buffer(&conf, (const char *)data, size, "fuzz", err, sizeof(err)) != 0) {
        /* An error leaves the struct zeroed and the message terminated. */
        if (conf.prefix != NULL || memchr(err, '\0', sizeof(err)) == NULL)
            abort();
        return 0;
    }

    char *dump = tr_conf_dump(&conf);
    /* The admin token is masked in dumps, so only settings without one round-trip. */
    memset(&again, 0, sizeof(again));
    if (conf.admin_token[0] == '\0') {
        if (tr__conf_parse_buffer(&again, dump, strlen(dump), "dump", err, sizeof(err)) != 0)
            abort();
        char *dump2 = tr_conf_dump(&again);
        if (strcmp(dump, dump2) != 0)
            abort();
        free(dump2);
        tr_conf_free(&again);
    }
    free(dump);
    tr_conf_free(&conf);
    return 0;
}
