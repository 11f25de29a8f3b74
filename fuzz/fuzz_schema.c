/* SPDX-License-Identifier: MIT */
/* libFuzzer target: arbitrary bytes as an admin body (form, JSON, multipart, or untyped, chosen
 * by the first byte), decoded and validated against the /apis schema in every mode and the
 * consumers, plugins, certificates and snis schemas for an insert. Must never crash, leak or
 * hang; errors are fine. */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "admin/body.h"
#include "schema/entities.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {
    "application/x-www-form-urlencoded",
    "application/json",
    "multipart/form-data; boundary=b",
    "",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *ctype = types[data[0] % 4];
    struct tr_str body = {(const char *)data + 1, size - 1};
    char msg[256];
    json_t *in = NULL;
    if (tr_admin_body_decode(tr_str_from_cstr(ctype), body, &in, msg, sizeof(msg)) != 0)
        return 0;

    json_t *existing =
        json_pack("{s:s,s:I,s:s,s:s,s:s,s:b,s:b,s:i}", "id", "11111111-2222-4333-8444-555555555555",
                  "created_at", (json_int_t)1459366837000, "name", "go-api", "request_path", "/go",
                  "upstream_url", "http://127.0.0.1:5000", "strip_request_path", 0, "preserve_host",
                  0, "retries", 5);
    static const enum tr_schema_mode modes[] = {TR_SCHEMA_INSERT, TR_SCHEMA_UPDATE,
                                                TR_SCHEMA_REPLACE};
    for (size_t i = 0; i < 3; i++) {
        json_t *out = NULL, *errors = NULL;
        tr_schema_validate(&tr_schema_apis, modes[i], in,
                           modes[i] == TR_SCHEMA_INSERT ? NULL : existing, &out, &errors);
        json_decref(out);
        json_decref(errors);
    }
    static const struct tr_schema *const others[] = {&tr_schema_consumers, &tr_schema_plugins,
                                                     &tr_schema_certificates, &tr_schema_snis};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        json_t *out = NULL, *errors = NULL;
        tr_schema_validate(others[i], TR_SCHEMA_INSERT, in, NULL, &out, &errors);
        json_decref(out);
        json_decref(errors);
    }
    json_decref(existing);
    json_decref(in);
    return 0;
}
