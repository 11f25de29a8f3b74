/* SPDX-License-Identifier: MIT */
/* The pieces of the transformer plugins: templates (what compiles, what each expression
 * renders to, as Kong's pl.template renders tostring(expr or '')), argument tables encoded as
 * Kong encodes a query (sorted, ngx.encode_args's escaping), multipart bodies edited part by
 * part, and the "name:value" split. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "plugins/args.h"
#include "plugins/form_parts.h"
#include "plugins/pairs.h"
#include "plugins/template.h"

/* ---- a tiny environment: headers, query and captures from fixed lists -------------------- */

struct kv {
    const char *k, *v; /* v NULL: Lua's true */
};

static const struct kv headers[] = {{"x-foo", "foo"}, {"x-two", "a"}, {"x-two", "b"}, {NULL, NULL}};
static const struct kv query[] = {{"q", "1"}, {"flag", NULL}, {"sp", "a b"}, {NULL, NULL}};
static const struct kv captures[] = {{"0", "/users/42"}, {"1", "42"}, {"uid", "42"}, {NULL, NULL}};

static char arena[1 << 16];
static size_t arena_used;

static void *alloc(void *ud, size_t len)
{
    (void)ud;
    if (arena_used + len > sizeof(arena))
        abort();
    void *p = arena + arena_used;
    arena_used += (len + 15) & ~(size_t)15;
    return p;
}

static bool get(void *ud, enum tr_tpl_table table, struct tr_str key, size_t nth,
                struct tr_str *value, bool *is_true)
{
    (void)ud;
    const struct kv *list = table == TR_TPL_HEADERS        ? headers
                            : table == TR_TPL_QUERY_PARAMS ? query
                            : table == TR_TPL_URI_CAPTURES ? captures
                                                           : NULL;
    for (size_t i = 0; list && list[i].k; i++) {
        if (tr_str_eq(tr_str_from_cstr(list[i].k), key) && nth-- == 0) {
            *is_true = list[i].v == NULL;
            *value = tr_str_from_cstr(list[i].v ? list[i].v : "");
            return true;
        }
    }
    return false;
}

static const struct tr_tpl_env env = {get, alloc, NULL};

/* text rendered, or "<refused>" when it does not compile */
static const char *render(const char *text)
{
    static char out[512];
    char err[160];
    struct tr_tpl *t = tr_tpl_compile(tr_str_from_cstr(text), err, sizeof(err));
    if (t == NULL)
        return "<refused>";
    struct tr_str s = tr_tpl_render(t, &env);
    snprintf(out, sizeof(out), "%.*s", (int)s.len, s.ptr);
    tr_tpl_free(t);
    return out;
}

static void test_templates(void)
{
    TR_CHECK_STR(render("plain"), "plain");
    TR_CHECK_STR(render(""), "");
    TR_CHECK_STR(render("$(headers.x_foo)"), "foo");
    TR_CHECK_STR(render("$(headers[\"X-Foo\"])"), "foo");
    TR_CHECK_STR(render("$(headers['x-foo'])!"), "foo!");
    TR_CHECK_STR(render("[$(headers.missing)]"), "[]");
    TR_CHECK_STR(render("$(headers.missing or 'dflt')"), "dflt");
    TR_CHECK_STR(render("$(headers.x_foo and 'yes' or 'no')"), "yes");
    TR_CHECK_STR(render("$(query_params.q)-$(query_params[\"sp\"])"), "1-a b");
    TR_CHECK_STR(render("$(query_params.flag)"), "true");
    TR_CHECK_STR(render("$(type(query_params.flag))"), "boolean");
    TR_CHECK_STR(render("$(uri_captures.uid)"), "42");
    TR_CHECK_STR(render("$(uri_captures[1])/$(uri_captures[0])"), "42//users/42");
    TR_CHECK_STR(render("$(shared.anything)"), "");
    TR_CHECK_STR(render("$(type(headers.x_two))"), "table");
    TR_CHECK_STR(render("$(headers.x_two[2])"), "b");
    TR_CHECK_STR(render("$(headers.x_two)"), "a, b");
    TR_CHECK_STR(render("$(\"a\" .. headers.x_foo .. 1)"), "afoo1");
    TR_CHECK_STR(render("$(headers.x_foo == 'foo')"), "true");
    TR_CHECK_STR(render("$(not headers.x_foo)"), ""); /* false or '' */
    TR_CHECK_STR(render("$(1.5)"), "1.5");
    TR_CHECK_STR(render("$(tostring(nil))"), "nil");
    /* Lua's %b(): an unbalanced "$(" is text, the next balanced one is a template */
    TR_CHECK_STR(render("$(a $(headers.x_foo)"), "$(a foo");
    TR_CHECK_STR(render("cost: $5"), "cost: $5");
    /* refused: not Lua torii can evaluate, or not Lua at all */
    TR_CHECK_STR(render("$(os.exit())"), "<refused>");
    TR_CHECK_STR(render("$(string.upper(headers.x))"), "<refused>");
    TR_CHECK_STR(render("$(headers.x y)"), "<refused>");
    TR_CHECK_STR(render("$(\"unterminated)"), "<refused>");
    TR_CHECK_STR(render("$()"), "<refused>");
    char deep[2200];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof(deep), "$(");
    for (int i = 0; i < 1000; i++)
        deep[n++] = '(';
    deep[n++] = '1';
    for (int i = 0; i < 1000; i++)
        deep[n++] = ')';
    deep[n++] = ')';
    deep[n] = '\0';
    TR_CHECK_STR(render(deep), "<refused>");
}

static const char *encode(const char *raw, bool sorted, void (*edit)(struct tr_args *))
{
    static char out[512];
    struct tr_args a;
    tr_args_init(&a, alloc, NULL);
    tr_args_parse(&a, tr_str_from_cstr(raw));
    if (edit)
        edit(&a);
    struct tr_str s = tr_args_encode(&a, sorted);
    snprintf(out, sizeof(out), "%.*s", (int)s.len, s.ptr);
    return out;
}

static void edits(struct tr_args *a)
{
    tr_args_remove(a, tr_str_from_cstr("gone"));
    TR_CHECK(tr_args_rename(a, tr_str_from_cstr("old"), tr_str_from_cstr("new")));
    TR_CHECK(!tr_args_rename(a, tr_str_from_cstr("absent"), tr_str_from_cstr("x")));
    tr_args_set(a, tr_str_from_cstr("set"), (struct tr_args_value){tr_str_from_cstr("v w"), false});
    tr_args_append(a, tr_str_from_cstr("b"), (struct tr_args_value){tr_str_from_cstr("3"), false});
}

static void test_args(void)
{
    /* Kong's set_query example: bar=baz&bar=bla&bar&blo=&foo=hello%20world&zzz */
    TR_CHECK_STR(encode("zzz&foo=hello+world&bar=baz&bar=bla&bar&blo=", true, NULL),
                 "bar=baz&bar=bla&bar&blo=&foo=hello%20world&zzz");
    TR_CHECK_STR(encode("b=2&a=1", false, NULL), "b=2&a=1");
    TR_CHECK_STR(encode("k=%2F%3a%7e!*'()", true, NULL), "k=%2F%3A~!*'()");
    TR_CHECK_STR(encode("b=1&gone=x&old=o&a=1", true, edits), "a=1&b=1&b=3&new=o&set=v%20w");
    TR_CHECK_STR(encode("", true, NULL), "");
}

static void test_form_parts(void)
{
    const char *body = "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"a\"\r\n\r\n"
                       "one\r\n"
                       "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n"
                       "Content-Type: text/plain\r\n\r\n"
                       "file\r\n"
                       "--XyZ--\r\n";
    struct tr_form_parts m;
    TR_CHECK(tr_form_parts_read(&m, tr_str_from_cstr("multipart/form-data; boundary=XyZ"),
                                tr_str_from_cstr(body), alloc, NULL));
    TR_CHECK_INT(m.num, 2);
    TR_CHECK(tr_form_parts_get(&m, tr_str_from_cstr("f")) != NULL);
    tr_form_parts_delete(&m, tr_str_from_cstr("a"));
    tr_form_parts_set(&m, tr_str_from_cstr("n"), tr_str_from_cstr("v"));
    struct tr_str out = tr_form_parts_write(&m);
    char text[512];
    snprintf(text, sizeof(text), "%.*s", (int)out.len, out.ptr);
    TR_CHECK_STR(text, "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n"
                       "Content-Type: text/plain\r\n\r\n"
                       "file\r\n"
                       "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"n\"\r\n\r\n"
                       "v\r\n"
                       "--XyZ--\r\n");
    TR_CHECK(!tr_form_parts_read(&m, tr_str_from_cstr("multipart/form-data; boundary=XyZ"),
                                 tr_str_from_cstr("--XyZ\r\nno end"), alloc, NULL));
}

static void test_pairs(void)
{
    struct tr_str n, v;
    TR_CHECK(tr_pair_split(tr_str_from_cstr("x-a:b:c"), &n, &v));
    TR_CHECK(tr_str_eq(n, tr_str_from_cstr("x-a")) && tr_str_eq(v, tr_str_from_cstr("b:c")));
    TR_CHECK(tr_pair_split(tr_str_from_cstr("x-a:::b"), &n, &v));
    TR_CHECK(tr_str_eq(v, tr_str_from_cstr("b"))); /* every colon after the name goes */
    TR_CHECK(tr_pair_split(tr_str_from_cstr("name"), &n, &v) && v.len == 0);
    TR_CHECK(!tr_pair_split(tr_str_from_cstr(":v"), &n, &v));
    TR_CHECK(!tr_pair_split(tr_str_from_cstr(""), &n, &v));
}

int main(void)
{
    test_templates();
    test_args();
    test_form_parts();
    test_pairs();
    return TR_CHECK_DONE();
}
