/* SPDX-License-Identifier: MIT */
/* libFuzzer target for every registered plugin's config validator: the first byte picks the
 * plugin, the second the body encoding (form, JSON, multipart, untyped); the rest is decoded as
 * an admin body and validated against the plugin's config schema (insert, then as an update
 * of the defaults). A valid config goes through the plugin's conf_parse and conf_free, as the
 * snapshot builder does; the same body is checked against each credential schema the plugin
 * owns. Must never crash, leak or hang; errors are fine. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "admin/body.h"
#include "plugins/plugin.h"
#include "plugins/registry.h"
#include "schema/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {
    "application/x-www-form-urlencoded",
    "application/json",
    "multipart/form-data; boundary=b",
    "",
};

static const struct tr_schema no_fields = {.name = "config", .fields = NULL, .cnt = 0};

/* conf_parse on a validated config, as a snapshot build does. */
static void parse_conf(const struct tr_plugin *p, const json_t *config)
{
    char err[256];
    if (p->conf_parse == NULL)
        return;
    err[0] = '\0';
    void *conf = p->conf_parse(config, err, sizeof(err));
    if (conf != NULL && p->conf_free != NULL)
        p->conf_free(conf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t count = tr_plugin_count();
    if (size < 2 || count == 0)
        return 0;
    const struct tr_plugin *p = tr_plugin_at(data[0] % count);
    const struct tr_schema *schema = p->schema ? p->schema : &no_fields;
    const char *ctype = types[data[1] % 4];
    struct tr_str body = {(const char *)data + 2, size - 2};
    char msg[256];
    json_t *in = NULL;
    if (tr_admin_body_decode(tr_str_from_cstr(ctype), body, &in, msg, sizeof(msg)) != 0)
        return 0;

    json_t *out = NULL, *errors = NULL;
    if (tr_schema_validate(schema, TR_SCHEMA_INSERT, in, NULL, &out, &errors) == 0) {
        if (out == NULL || errors != NULL)
            abort();
        parse_conf(p, out);
    } else if (out != NULL || errors == NULL) {
        abort();
    }
    json_decref(out);
    json_decref(errors);

    /* As a PATCH of a config made of the defaults (when the defaults alone are valid). */
    json_t *empty = json_object(), *dflt = NULL;
    errors = NULL;
    if (tr_schema_validate(schema, TR_SCHEMA_INSERT, empty, NULL, &dflt, &errors) == 0) {
        out = NULL;
        json_decref(errors);
        errors = NULL;
        if (tr_schema_validate(schema, TR_SCHEMA_UPDATE, in, dflt, &out, &errors) == 0)
            parse_conf(p, out);
        json_decref(out);
    }
    json_decref(errors);
    json_decref(dflt);
    json_decref(empty);

    for (size_t i = 0; i < p->num_credentials; i++) {
        if (p->credentials[i].schema == NULL)
            continue;
        out = NULL;
        errors = NULL;
        tr_schema_validate(p->credentials[i].schema, TR_SCHEMA_INSERT, in, NULL, &out, &errors);
        json_decref(out);
        json_decref(errors);
    }
    json_decref(in);
    return 0;
}
