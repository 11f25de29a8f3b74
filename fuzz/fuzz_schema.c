/* SPDX-License-Identifier: MIT */
/* libFuzzer target: arbitrary bytes as an admin body (form, JSON, multipart, or untyped, chosen
 * by the first byte), decoded and validated against the /apis schema in every mode and the
 * consumers, plugins, certificates and snis schemas for an insert, and against the Kong 3
 * services, routes, upstreams and targets (insert, and PATCH over a stored upstream and
 * target), with the schema-violation message built from any errors. Must never crash, leak
 * or hang; errors are fine. */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "admin/body.h"
#include "admin/errors3.h"
#include "schema/entities.h"
#include "schema/kong3.h"

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

    typedef int (*kong3_fn)(enum tr_schema_mode, const json_t *, const json_t *, long long,
                            json_t **, json_t **);
    static const kong3_fn kong3[] = {tr_schema3_service, tr_schema3_route, tr_schema3_upstream,
                                     tr_schema3_target};
    json_t *stored[2] = {NULL, NULL};
    json_t *seed[2] = {json_pack("{s:s,s:s}", "name", "u.test", "hash_on", "ip"),
                       json_pack("{s:s,s:{s:s}}", "target", "10.0.0.1", "upstream", "id",
                                 "11111111-2222-4333-8444-555555555555")};
    for (size_t i = 0; i < 2; i++) {
        json_t *errors = NULL;
        kong3[2 + i](TR_SCHEMA_INSERT, seed[i], NULL, 1000, &stored[i], &errors);
        json_decref(errors);
        json_decref(seed[i]);
    }
    for (size_t i = 0; i < sizeof(kong3) / sizeof(kong3[0]); i++) {
        for (size_t m = 0; m < 2; m++) {
            const json_t *base = m == 0 ? NULL : (i >= 2 ? stored[i - 2] : NULL);
            if (m == 1 && base == NULL)
                continue;
            json_t *out = NULL, *fields = NULL;
            if (kong3[i](m == 0 ? TR_SCHEMA_INSERT : TR_SCHEMA_UPDATE, in, base, 1000, &out,
                         &fields) != 0) {
                char text[4096];
                tr_admin3_schema_message(fields, text, sizeof(text));
            }
            json_decref(out);
            json_decref(fields);
        }
    }
    json_decref(stored[0]);
    json_decref(stored[1]);
    char norm[400];
    const char *t = json_string_value(json_object_get(in, "target"));
    if (t != NULL)
        tr_schema3_target_normalize(t, norm, sizeof(norm));
    json_decref(in);
    return 0;
}
