/* SPDX-License-Identifier: MIT */
/* ssl (Kong 0.7): an api's own certificate, served for SNI equal to its request_host (the
 * snapshot's SNI table takes it from the stored config, see snapshot/certs.c), and only_https:
 * plain HTTP to the api gets 426. The private key is write-only on the Admin API. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/tls.h"
#include "plugins/plugin.h"
#include "schema/schema.h"

/* Bound to their rows; the certificate is compiled by the snapshot's SNI table instead. */
struct ssl_conf {
    bool only_https;
    bool accept_http_if_already_terminated;
};

/* Check cert and key together as /certificates does; report only the problems of field name
 * ("cert" or "key"), so each is named once. The key's bytes never reach msg or the log. */
static int check_pair_field(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const char *field = NULL;
    char warn[128];
    const char *cert = json_string_value(json_object_get(rec, "cert"));
    const char *key = json_string_value(json_object_get(rec, "key"));
    if (strcmp(name, "key") == 0 && cert == NULL)
        return 0; /* "cert is required" says it */
    if (tr_tls_check_pair(cert, key, &field, msg, msg_len, warn, sizeof(warn)) != 0) {
        if (strcmp(field, name) == 0)
            return TR_EINVAL;
        /* A missing key is reported by the required check, a key problem by the key check. */
        msg[0] = '\0';
        return 0;
    }
    if (warn[0] && strcmp(name, "cert") == 0)
        tr_log_warn("admin: ssl plugin certificate: %s (accepted)", warn);
    return 0;
}

static const struct tr_schema_field conf_fields[] = {
    {.name = "cert",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_TEXT,
     .check = check_pair_field,
     .help = "PEM certificate (leaf first, chain after it) served for the api's request_host"},
    {.name = "key",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_TEXT | TR_SCHEMA_WRITE_ONLY,
     .check = check_pair_field,
     .help = "PEM private key of cert, unencrypted; write-only"},
    {.name = "only_https",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "false",
     .help = "answer plain HTTP requests with 426",
     TR_SCHEMA_BIND(struct ssl_conf, only_https)},
    {.name = "accept_http_if_already_terminated",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "false",
     .help = "with only_https, accept X-Forwarded-Proto: https from a peer in trusted_ips",
     TR_SCHEMA_BIND(struct ssl_conf, accept_http_if_already_terminated)},
};

static const struct tr_schema conf_schema = {
    .name = "ssl",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
};

static const char *const hidden_config[] = {"key", NULL};

static void conf_free(void *p)
{
    tr_schema_free_struct(&conf_schema, p);
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    return tr_schema_parse_new(&conf_schema, config, sizeof(struct ssl_conf));
}

static int ssl_access(struct tr_ctx *ctx, const void *p)
{
    const struct ssl_conf *c = p;
    if (!c->only_https || tr_ctx_is_https(ctx, c->accept_http_if_already_terminated))
        return TR_PLUGIN_NEXT;
    /* RFC 2817 §4.2's answer, as Kong 0.7 gave it. */
    tr_ctx_respond_error(ctx, TR_EHTTPSONLY);
    tr_ctx_add_response_header(ctx, TR_STR_LIT("Connection"), TR_STR_LIT("Upgrade"));
    tr_ctx_add_response_header(ctx, TR_STR_LIT("Upgrade"), TR_STR_LIT("TLS/1.2, HTTP/1.1"));
    return TR_PLUGIN_EXIT;
}

/* Priority 3000 as in Kong: before any other plugin, so plain HTTP never reaches auth. */
const struct tr_plugin tr_plugin_ssl = {
    .name = "ssl",
    .version = "0.7.0",
    .priority = 3000,
    .flags = TR_PLUGIN_NO_CONSUMER,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .access = ssl_access,
    .hidden_config = hidden_config,
};
