/* SPDX-License-Identifier: MIT */
/* What the Kong 3 schema tests share: a JSON literal, and one validation reduced to the text
 * of its Kong 3 "fields" object. */
#ifndef TR_TESTS_SCHEMA3_CHECK_H
#define TR_TESTS_SCHEMA3_CHECK_H

#include <stdio.h>

#include <jansson.h>

#include "schema/kong3.h"

/* tr_schema3_service, _route, _upstream or _target. */
typedef int (*schema3_fn)(enum tr_schema_mode mode, const json_t *input, const json_t *existing,
                          long long now, json_t **out, json_t **fields);

static inline json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (v == NULL)
        fprintf(stderr, "bad test JSON: %s (%s)\n", text, e.text);
    return v;
}

/* Validate input (JSON text) over existing with fn: the fields object as sorted compact JSON
 * (malloc'ed), or NULL when it validated; *out gets the doc when out is not NULL. */
static inline char *schema3_errs(schema3_fn fn, enum tr_schema_mode mode, const char *input,
                                 const json_t *existing, json_t **out)
{
    json_t *in = J(input), *doc = NULL, *fields = NULL;
    int rc = fn(mode, in, existing, 1000, &doc, &fields);
    json_decref(in);
    char *text = rc != 0 ? json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(fields);
    if (out != NULL)
        *out = doc;
    else
        json_decref(doc);
    return text;
}

#endif
