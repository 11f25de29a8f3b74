/* SPDX-License-Identifier: MIT */
/* libFuzzer target for request-transformer's templates (plugins/template.h): any text is
 * compiled; what compiles is rendered against a small fixed request (headers sent once and
 * twice, a query with a bare flag, captures). Must never crash, leak or hang, and a render
 * never reads past what the environment gave it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct scratch {
    void *blocks[4096];
    size_t n;
};

static void *alloc(void *ud, size_t len)
{
    struct scratch *s = ud;
    if (s->n == sizeof(s->blocks) / sizeof(s->blocks[0]))
        abort(); /* a render allocates a bounded number of pieces */
    void *p = malloc(len ? len : 1);
    if (p == NULL)
        abort();
    s->blocks[s->n++] = p;
    return p;
}

static bool get(void *ud, enum tr_tpl_table table, struct tr_str key, size_t nth,
                struct tr_str *value, bool *is_true)
{
    (void)ud;
    static const char *const rows[][3] = {
        {"h", "x-a", "1"},   {"h", "x-a", "2"}, {"h", "host", "example.test"},
        {"q", "flag", NULL}, {"q", "q", "v w"}, {"c", "0", "/u/7"},
        {"c", "1", "7"},     {"c", "id", "7"},
    };
    const char *t = table == TR_TPL_HEADERS        ? "h"
                    : table == TR_TPL_QUERY_PARAMS ? "q"
                    : table == TR_TPL_URI_CAPTURES ? "c"
                                                   : "s";
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (strcmp(rows[i][0], t) == 0 && tr_str_eq(tr_str_from_cstr(rows[i][1]), key) &&
            nth-- == 0) {
            *is_true = rows[i][2] == NULL;
            *value = tr_str_from_cstr(rows[i][2] ? rows[i][2] : "");
            return true;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[160];
    struct tr_tpl *t = tr_tpl_compile((struct tr_str){(const char *)data, size}, err, sizeof(err));
    if (t == NULL)
        return 0;
    struct scratch s = {.n = 0};
    struct tr_tpl_env env = {get, alloc, &s};
    struct tr_str out = tr_tpl_render(t, &env);
    volatile size_t sink = 0;
    for (size_t i = 0; i < out.len; i++)
        sink += (unsigned char)out.ptr[i];
    (void)sink;
    for (size_t i = 0; i < s.n; i++)
        free(s.blocks[i]);
    tr_tpl_free(t);
    return 0;
}
