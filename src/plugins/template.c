/* SPDX-License-Identifier: MIT */
/* request-transformer's templates (template.h): a recursive-descent parser for the Lua
 * expressions Kong users put in `$(...)`, compiled into a node array, and a small evaluator
 * over Lua's values (nil, booleans, strings, numbers and the lookup tables). */
#include "plugins/template.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

enum op {
    OP_NIL,
    OP_TRUE,
    OP_FALSE,
    OP_STR,   /* lit */
    OP_NUM,   /* num */
    OP_TABLE, /* a root table: table */
    OP_INDEX, /* a[b] */
    OP_NOT,
    OP_AND,
    OP_OR,
    OP_EQ,
    OP_NE,
    OP_CONCAT,
    OP_TYPE,     /* type(a) */
    OP_TOSTRING, /* tostring(a) */
};

struct node {
    enum op op;
    int a, b;
    enum tr_tpl_table table;
    struct tr_str lit; /* owned by the template's text copy or its string pool */
    double num;
};

struct part {
    struct tr_str text; /* literal text, or */
    int expr;           /* >= 0: the root node of a `$(...)` part */
};

struct tr_tpl {
    char *text; /* owned copy of the source */
    struct part *parts;
    size_t num_parts;
    struct node *nodes;
    size_t num_nodes, cap_nodes;
    char **strings; /* owned: decoded string literals */
    size_t num_strings;
    bool dynamic;
};

/* ---- parsing ------------------------------------------------------------------------------ */

struct parser {
    struct tr_tpl *t;
    const char *p, *end;
    char *err;
    size_t err_len;
    bool failed;
    int depth;
};

#define MAX_DEPTH 64
#define MAX_NODES 1024 /* bounds the evaluator's recursion too */

static void fail(struct parser *ps, const char *what)
{
    if (!ps->failed)
        snprintf(ps->err, ps->err_len, "%s", what);
    ps->failed = true;
}

static int add_node(struct parser *ps, struct node n)
{
    struct tr_tpl *t = ps->t;
    if (t->num_nodes >= MAX_NODES) {
        fail(ps, "template too long");
        return 0;
    }
    if (t->num_nodes == t->cap_nodes) {
        t->cap_nodes = t->cap_nodes ? t->cap_nodes * 2 : 16;
        t->nodes = tr_xrealloc(t->nodes, t->cap_nodes * sizeof(*t->nodes));
    }
    t->nodes[t->num_nodes] = n;
    return (int)t->num_nodes++;
}

static void skip_space(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static bool is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/* The next token is the word w (a keyword or name)? Consumes it when so. */
static bool accept_word(struct parser *ps, const char *w)
{
    skip_space(ps);
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
        return false;
    if (ps->p + n < ps->end && is_name_char(ps->p[n]))
        return false;
    ps->p += n;
    return true;
}

static bool accept(struct parser *ps, const char *sym)
{
    skip_space(ps);
    size_t n = strlen(sym);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, sym, n) != 0)
        return false;
    /* "." is not the start of ".." */
    if (n == 1 && sym[0] == '.' && ps->p + 1 < ps->end && ps->p[1] == '.')
        return false;
    ps->p += n;
    return true;
}

static int parse_expr(struct parser *ps);

static int string_literal(struct parser *ps)
{
    char quote = *ps->p++;
    char *out = tr_xmalloc((size_t)(ps->end - ps->p) + 1);
    size_t n = 0;
    while (ps->p < ps->end && *ps->p != quote) {
        char c = *ps->p++;
        if (c == '\n') {
            break;
        } else if (c == '\\' && ps->p < ps->end) {
            char e = *ps->p++;
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
            if (e != 'n' && e != 't' && e != 'r' && e != '\\' && e != '"' && e != '\'') {
                free(out);
                fail(ps, "unsupported escape in a string");
                return -1;
            }
        }
        out[n++] = c;
    }
    if (ps->p >= ps->end || *ps->p != quote) {
        free(out);
        fail(ps, "unfinished string");
        return -1;
    }
    ps->p++;
    out[n] = '\0';
    struct tr_tpl *t = ps->t;
    t->strings = tr_xrealloc(t->strings, (t->num_strings + 1) * sizeof(*t->strings));
    t->strings[t->num_strings++] = out;
    return add_node(ps, (struct node){.op = OP_STR, .lit = {out, n}, .a = -1, .b = -1});
}

static int number_literal(struct parser *ps)
{
    char buf[64];
    size_t n = 0;
    while (ps->p < ps->end && n + 1 < sizeof(buf) &&
           ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '.' || *ps->p == 'e' || *ps->p == 'E' ||
            *ps->p == 'x' || *ps->p == 'X' || (*ps->p >= 'a' && *ps->p <= 'f') ||
            (*ps->p >= 'A' && *ps->p <= 'F')))
        buf[n++] = *ps->p++;
    buf[n] = '\0';
    char *endp;
    double v = strtod(buf, &endp);
    if (n == 0 || *endp != '\0') {
        fail(ps, "malformed number");
        return -1;
    }
    return add_node(ps, (struct node){.op = OP_NUM, .num = v, .a = -1, .b = -1});
}

static int primary(struct parser *ps)
{
    skip_space(ps);
    if (ps->p >= ps->end) {
        fail(ps, "unexpected end of expression");
        return -1;
    }
    char c = *ps->p;
    if (c == '"' || c == '\'')
        return string_literal(ps);
    if (c >= '0' && c <= '9')
        return number_literal(ps);
    if (accept(ps, "(")) {
        int e = parse_expr(ps);
        if (!accept(ps, ")"))
            fail(ps, "')' expected");
        return e;
    }
    if (!is_name_start(c)) {
        fail(ps, "unexpected symbol");
        return -1;
    }
    const char *s = ps->p;
    while (ps->p < ps->end && is_name_char(*ps->p))
        ps->p++;
    struct tr_str name = {s, (size_t)(ps->p - s)};
    static const struct {
        const char *name;
        enum tr_tpl_table table;
    } tables[] = {{"headers", TR_TPL_HEADERS},
                  {"query_params", TR_TPL_QUERY_PARAMS},
                  {"uri_captures", TR_TPL_URI_CAPTURES},
                  {"shared", TR_TPL_SHARED}};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        if (tr_str_eq(name, tr_str_from_cstr(tables[i].name)))
            return add_node(
                ps, (struct node){.op = OP_TABLE, .table = tables[i].table, .a = -1, .b = -1});
    }
    if (tr_str_eq(name, TR_STR_LIT("nil")))
        return add_node(ps, (struct node){.op = OP_NIL, .a = -1, .b = -1});
    if (tr_str_eq(name, TR_STR_LIT("true")))
        return add_node(ps, (struct node){.op = OP_TRUE, .a = -1, .b = -1});
    if (tr_str_eq(name, TR_STR_LIT("false")))
        return add_node(ps, (struct node){.op = OP_FALSE, .a = -1, .b = -1});
    bool is_type = tr_str_eq(name, TR_STR_LIT("type"));
    if (is_type || tr_str_eq(name, TR_STR_LIT("tostring"))) {
        if (!accept(ps, "(")) {
            fail(ps, "only type(...) and tostring(...) can be used as functions");
            return -1;
        }
        int arg = parse_expr(ps);
        if (!accept(ps, ")"))
            fail(ps, "')' expected");
        return add_node(ps,
                        (struct node){.op = is_type ? OP_TYPE : OP_TOSTRING, .a = arg, .b = -1});
    }
    fail(ps, "unknown name: only headers, query_params, uri_captures and shared can be read");
    return -1;
}

static int postfix(struct parser *ps)
{
    int e = primary(ps);
    while (!ps->failed) {
        if (accept(ps, "[")) {
            int k = parse_expr(ps);
            if (!accept(ps, "]"))
                fail(ps, "']' expected");
            e = add_node(ps, (struct node){.op = OP_INDEX, .a = e, .b = k});
        } else if (accept(ps, ".")) {
            skip_space(ps);
            const char *s = ps->p;
            while (ps->p < ps->end && is_name_char(*ps->p))
                ps->p++;
            if (s == ps->p || !is_name_start(*s)) {
                fail(ps, "name expected after '.'");
                return -1;
            }
            int k = add_node(
                ps, (struct node){.op = OP_STR, .lit = {s, (size_t)(ps->p - s)}, .a = -1, .b = -1});
            e = add_node(ps, (struct node){.op = OP_INDEX, .a = e, .b = k});
        } else if (accept(ps, "(")) {
            fail(ps, "only type(...) and tostring(...) can be used as functions");
        } else {
            break;
        }
    }
    return e;
}

static int unary(struct parser *ps)
{
    if (++ps->depth > MAX_DEPTH) {
        fail(ps, "expression nested too deeply");
        return -1;
    }
    int e;
    if (accept_word(ps, "not"))
        e = add_node(ps, (struct node){.op = OP_NOT, .a = unary(ps), .b = -1});
    else
        e = postfix(ps);
    ps->depth--;
    return e;
}

static int concat(struct parser *ps)
{
    int e = unary(ps);
    if (!ps->failed && accept(ps, "..")) {
        if (++ps->depth > MAX_DEPTH) {
            fail(ps, "expression nested too deeply");
            return -1;
        }
        int r = concat(ps); /* right associative */
        ps->depth--;
        e = add_node(ps, (struct node){.op = OP_CONCAT, .a = e, .b = r});
    }
    return e;
}

static int comparison(struct parser *ps)
{
    int e = concat(ps);
    while (!ps->failed) {
        if (accept(ps, "=="))
            e = add_node(ps, (struct node){.op = OP_EQ, .a = e, .b = concat(ps)});
        else if (accept(ps, "~="))
            e = add_node(ps, (struct node){.op = OP_NE, .a = e, .b = concat(ps)});
        else
            break;
    }
    return e;
}

static int conjunction(struct parser *ps)
{
    int e = comparison(ps);
    while (!ps->failed && accept_word(ps, "and"))
        e = add_node(ps, (struct node){.op = OP_AND, .a = e, .b = comparison(ps)});
    return e;
}

static int parse_expr(struct parser *ps)
{
    if (++ps->depth > MAX_DEPTH) {
        fail(ps, "expression nested too deeply");
        return -1;
    }
    int e = conjunction(ps);
    while (!ps->failed && accept_word(ps, "or"))
        e = add_node(ps, (struct node){.op = OP_OR, .a = e, .b = conjunction(ps)});
    ps->depth--;
    return e;
}

/* The end of a balanced "(...)" starting at p (Lua's %b(): quotes are not special), or NULL. */
static const char *balanced_end(const char *p, const char *end)
{
    int depth = 0;
    for (; p < end; p++) {
        if (*p == '(')
            depth++;
        else if (*p == ')' && --depth == 0)
            return p;
    }
    return NULL;
}

static void add_part(struct tr_tpl *t, struct part part)
{
    t->parts = tr_xrealloc(t->parts, (t->num_parts + 1) * sizeof(*t->parts));
    t->parts[t->num_parts++] = part;
}

struct tr_tpl *tr_tpl_compile(struct tr_str text, char *err, size_t err_len)
{
    struct tr_tpl *t = tr_xcalloc(1, sizeof(*t));
    t->text = tr_xmalloc(text.len + 1);
    memcpy(t->text, text.ptr, text.len);
    t->text[text.len] = '\0';
    const char *p = t->text, *end = t->text + text.len, *lit = p;
    while (p + 1 < end) {
        const char *close = p[0] == '$' && p[1] == '(' ? balanced_end(p + 1, end) : NULL;
        if (close == NULL) {
            p++;
            continue;
        }
        if (p > lit)
            add_part(t, (struct part){{lit, (size_t)(p - lit)}, -1});
        struct parser ps = {.t = t, .p = p + 2, .end = close, .err = err, .err_len = err_len};
        int e = parse_expr(&ps);
        skip_space(&ps);
        if (!ps.failed && ps.p != ps.end)
            fail(&ps, "unexpected symbol after the expression");
        if (ps.failed) {
            tr_tpl_free(t);
            return NULL;
        }
        add_part(t, (struct part){{NULL, 0}, e});
        t->dynamic = true;
        p = lit = close + 1;
    }
    if (end > lit)
        add_part(t, (struct part){{lit, (size_t)(end - lit)}, -1});
    return t;
}

void tr_tpl_free(struct tr_tpl *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->num_strings; i++)
        free(t->strings[i]);
    free(t->strings);
    free(t->parts);
    free(t->nodes);
    free(t->text);
    free(t);
}

bool tr_tpl_is_dynamic(const struct tr_tpl *t)
{
    return t->dynamic;
}

/* ---- evaluation --------------------------------------------------------------------------- */

enum kind { V_NIL, V_BOOL, V_STR, V_NUM, V_TABLE, V_LIST };

struct value {
    enum kind kind;
    bool b;
    struct tr_str s;
    double num;
    enum tr_tpl_table table; /* V_TABLE, V_LIST */
    struct tr_str key;       /* V_LIST: the key whose values it holds */
    size_t count;            /* V_LIST */
};

static bool truthy(const struct value *v)
{
    return !(v->kind == V_NIL || (v->kind == V_BOOL && !v->b));
}

/* Lua's tostring of a number ("%.14g"). */
static struct tr_str number_text(double n, const struct tr_tpl_env *env)
{
    char *out = env->alloc(env->ud, 32);
    int len = snprintf(out, 32, "%.14g", n);
    return (struct tr_str){out, (size_t)len};
}

/* Headers are looked up lower-cased, with '_' read as '-' (ngx.req.get_headers). */
static struct tr_str header_key(struct tr_str key, const struct tr_tpl_env *env)
{
    char *out = env->alloc(env->ud, key.len + 1);
    for (size_t i = 0; i < key.len; i++)
        out[i] = key.ptr[i] == '_' ? '-' : tr_ascii_lower(key.ptr[i]);
    return (struct tr_str){out, key.len};
}

static struct value lookup(enum tr_tpl_table table, struct tr_str key, const struct tr_tpl_env *env)
{
    struct value v = {.kind = V_NIL};
    if (table == TR_TPL_HEADERS)
        key = header_key(key, env);
    struct tr_str first;
    bool is_true = false;
    if (!env->get(env->ud, table, key, 0, &first, &is_true))
        return v;
    struct tr_str more;
    bool t2;
    size_t count = 1;
    while (count < 1024 && env->get(env->ud, table, key, count, &more, &t2))
        count++;
    if (count > 1)
        return (struct value){.kind = V_LIST, .table = table, .key = key, .count = count};
    if (is_true)
        return (struct value){.kind = V_BOOL, .b = true};
    return (struct value){.kind = V_STR, .s = first};
}

static struct value eval(const struct tr_tpl *t, int i, const struct tr_tpl_env *env);

static struct value index_value(const struct value *obj, const struct value *key,
                                const struct tr_tpl_env *env)
{
    struct value nil = {.kind = V_NIL};
    if (obj->kind == V_TABLE) {
        if (key->kind == V_STR)
            return lookup(obj->table, key->s, env);
        if (key->kind == V_NUM && obj->table == TR_TPL_URI_CAPTURES)
            return lookup(obj->table, number_text(key->num, env), env);
        return nil;
    }
    if (obj->kind == V_LIST && key->kind == V_NUM && key->num >= 1 &&
        key->num <= (double)obj->count && key->num == (double)(size_t)key->num) {
        struct tr_str s;
        bool is_true = false;
        if (env->get(env->ud, obj->table, obj->key, (size_t)key->num - 1, &s, &is_true))
            return is_true ? (struct value){.kind = V_BOOL, .b = true}
                           : (struct value){.kind = V_STR, .s = s};
    }
    return nil;
}

/* Lua's tostring; a list (a header sent twice) as its values joined by ", ". */
static struct tr_str to_text(const struct value *v, const struct tr_tpl_env *env)
{
    switch (v->kind) {
    case V_NIL:
        return TR_STR_LIT("nil");
    case V_BOOL:
        return v->b ? TR_STR_LIT("true") : TR_STR_LIT("false");
    case V_STR:
        return v->s;
    case V_NUM:
        return number_text(v->num, env);
    case V_TABLE:
        return TR_STR_LIT("table");
    case V_LIST:
        break;
    }
    size_t total = 0;
    for (size_t i = 0; i < v->count; i++) {
        struct tr_str s;
        bool is_true = false;
        if (env->get(env->ud, v->table, v->key, i, &s, &is_true))
            total += (is_true ? 4 : s.len) + 2;
    }
    char *out = env->alloc(env->ud, total + 1);
    size_t n = 0;
    for (size_t i = 0; i < v->count; i++) {
        struct tr_str s;
        bool is_true = false;
        if (!env->get(env->ud, v->table, v->key, i, &s, &is_true))
            continue;
        if (is_true)
            s = TR_STR_LIT("true");
        if (n)
            out[n++] = ',', out[n++] = ' ';
        memcpy(out + n, s.ptr, s.len);
        n += s.len;
    }
    return (struct tr_str){out, n};
}

static bool equal(const struct value *x, const struct value *y)
{
    if (x->kind != y->kind)
        return false;
    switch (x->kind) {
    case V_NIL:
        return true;
    case V_BOOL:
        return x->b == y->b;
    case V_STR:
        return tr_str_eq(x->s, y->s);
    case V_NUM:
        return x->num == y->num;
    case V_TABLE:
        return x->table == y->table;
    case V_LIST:
        return x->table == y->table && tr_str_eq(x->key, y->key);
    }
    return false;
}

static struct value eval(const struct tr_tpl *t, int i, const struct tr_tpl_env *env)
{
    const struct node *n = &t->nodes[i];
    struct value x, y;
    switch (n->op) {
    case OP_NIL:
        return (struct value){.kind = V_NIL};
    case OP_TRUE:
    case OP_FALSE:
        return (struct value){.kind = V_BOOL, .b = n->op == OP_TRUE};
    case OP_STR:
        return (struct value){.kind = V_STR, .s = n->lit};
    case OP_NUM:
        return (struct value){.kind = V_NUM, .num = n->num};
    case OP_TABLE:
        return (struct value){.kind = V_TABLE, .table = n->table};
    case OP_INDEX:
        x = eval(t, n->a, env);
        y = eval(t, n->b, env);
        return index_value(&x, &y, env);
    case OP_NOT:
        x = eval(t, n->a, env);
        return (struct value){.kind = V_BOOL, .b = !truthy(&x)};
    case OP_AND:
        x = eval(t, n->a, env);
        return truthy(&x) ? eval(t, n->b, env) : x;
    case OP_OR:
        x = eval(t, n->a, env);
        return truthy(&x) ? x : eval(t, n->b, env);
    case OP_EQ:
    case OP_NE:
        x = eval(t, n->a, env);
        y = eval(t, n->b, env);
        return (struct value){.kind = V_BOOL, .b = equal(&x, &y) == (n->op == OP_EQ)};
    case OP_CONCAT: {
        x = eval(t, n->a, env);
        y = eval(t, n->b, env);
        /* Lua concatenates strings and numbers only; anything else is an error, which
         * renders as nil here */
        if ((x.kind != V_STR && x.kind != V_NUM) || (y.kind != V_STR && y.kind != V_NUM))
            return (struct value){.kind = V_NIL};
        struct tr_str a = to_text(&x, env), b = to_text(&y, env);
        char *out = env->alloc(env->ud, a.len + b.len + 1);
        memcpy(out, a.ptr, a.len);
        memcpy(out + a.len, b.ptr, b.len);
        return (struct value){.kind = V_STR, .s = {out, a.len + b.len}};
    }
    case OP_TYPE: {
        x = eval(t, n->a, env);
        static const char *const names[] = {"nil", "boolean", "string", "number", "table", "table"};
        return (struct value){.kind = V_STR, .s = tr_str_from_cstr(names[x.kind])};
    }
    case OP_TOSTRING:
        x = eval(t, n->a, env);
        return (struct value){.kind = V_STR, .s = to_text(&x, env)};
    }
    return (struct value){.kind = V_NIL};
}

struct tr_str tr_tpl_render(const struct tr_tpl *t, const struct tr_tpl_env *env)
{
    if (!t->dynamic)
        return t->num_parts ? t->parts[0].text : TR_STR_LIT("");
    struct tr_str pieces[64];
    struct tr_str *vals =
        t->num_parts <= 64 ? pieces : env->alloc(env->ud, t->num_parts * sizeof(*vals));
    size_t total = 0;
    for (size_t i = 0; i < t->num_parts; i++) {
        if (t->parts[i].expr < 0) {
            vals[i] = t->parts[i].text;
        } else {
            struct value v = eval(t, t->parts[i].expr, env);
            vals[i] = truthy(&v) ? to_text(&v, env) : TR_STR_LIT(""); /* tostring(v or '') */
        }
        total += vals[i].len;
    }
    char *out = env->alloc(env->ud, total + 1);
    size_t n = 0;
    for (size_t i = 0; i < t->num_parts; i++) {
        memcpy(out + n, vals[i].ptr, vals[i].len);
        n += vals[i].len;
    }
    out[n] = '\0';
    return (struct tr_str){out, n};
}
