/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the trace context headers (plugins/trace_headers.h): the input is
 * "name: value" lines, read as a request's headers by every format's extractor; what a format
 * read is written back by every injector. Must never crash, read past a value or write past
 * an id. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "plugins/trace_headers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 16

struct headers {
    struct tr_str name[MAX_HEADERS], value[MAX_HEADERS];
    size_t n;
};

static bool get(void *ud, const char *name, size_t nth, struct tr_str *value)
{
    const struct headers *h = ud;
    for (size_t i = 0; i < h->n; i++) {
        if (h->name[i].len == strlen(name) &&
            strncasecmp(h->name[i].ptr, name, h->name[i].len) == 0 && nth-- == 0) {
            *value = h->value[i];
            return true;
        }
    }
    return false;
}

static void set(void *ud, const char *name, const char *value)
{
    size_t *total = ud;
    *total += strlen(name) + strlen(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct headers h = {.n = 0};
    const char *p = (const char *)data, *end = p + size;
    while (p < end && h.n < MAX_HEADERS) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        if (colon) {
            h.name[h.n] = (struct tr_str){p, (size_t)(colon - p)};
            const char *v = colon + 1;
            while (v < line_end && *v == ' ')
                v++;
            h.value[h.n++] = (struct tr_str){v, (size_t)(line_end - v)};
        }
        p = eol ? eol + 1 : end;
    }
    size_t total = 0;
    for (int f = 0; f < TR_TRACE_NUM_FORMATS; f++) {
        struct tr_trace_context c;
        if (!tr_trace_extract((enum tr_trace_format)f, get, &h, &c))
            continue;
        struct tr_trace_inject in = {.trace_id_size = c.trace_id_size,
                                     .has_parent = c.has_span,
                                     .sampled = c.sampled == 1,
                                     .debug = c.debug};
        memcpy(in.trace_id, c.trace_id, 16);
        memcpy(in.span_id, c.span_id, 8);
        memcpy(in.parent_id, c.parent_id, 8);
        for (int g = 0; g < TR_TRACE_NUM_FORMATS; g++)
            tr_trace_inject((enum tr_trace_format)g, &in, set, &total);
    }
    return total == (size_t)-1;
}
