/* SPDX-License-Identifier: MIT */
/* YAML <-> jansson through libyaml's event API (yaml.h). */
#include "core/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"

/* ---- scalars ------------------------------------------------------------------------------ */

static bool one_of(const char *s, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strcmp(s, *list) == 0)
            return true;
    }
    return false;
}

/* digits of base (at least one), nothing else */
static bool all_digits(const char *s, int base)
{
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        char c = *s;
        bool ok = base == 16 ? ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'))
                             : (c >= '0' && c < '0' + base);
        if (!ok)
            return false;
    }
    return true;
}

static bool is_float_text(const char *s)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    bool digits = false, dot = false;
    while ((*p >= '0' && *p <= '9') || (*p == '.' && !dot)) {
        if (*p == '.')
            dot = true;
        else
            digits = true;
        p++;
    }
    if (!digits)
        return false;
    bool exp = false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
        exp = true;
    }
    return *p == '\0' && (dot || exp);
}

/* The value a plain (unquoted, untagged) scalar stands for, as lyaml resolves it. */
static json_t *resolve_plain(const char *s)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes",
                                        "YES",  "on",   "On",   "ON",  NULL};
    static const char *const falses[] = {"false", "False", "FALSE", "no",  "No",
                                         "NO",    "off",   "Off",   "OFF", NULL};
    if (one_of(s, nulls))
        return json_null();
    if (one_of(s, trues))
        return json_true();
    if (one_of(s, falses))
        return json_false();
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o')) {
        base = p[1] == 'x' ? 16 : 8;
        p += 2;
    }
    if (all_digits(p, base)) {
        errno = 0;
        long long v = strtoll(p, NULL, base);
        if (errno == 0)
            return json_integer(neg ? -v : v);
        if (base == 10)
            return json_real(strtod(s, NULL)); /* beyond 64 bits: a float, as Lua reads it */
        return json_string(s);
    }
    if (is_float_text(s)) {
        double d = strtod(s, NULL);
        if (isfinite(d))
            return json_real(d);
    }
    return json_string(s); /* .inf and .nan too: JSON has no such numbers */
}

/* ---- parsing ------------------------------------------------------------------------------- */

struct frame {
    json_t *value;  /* the object or array being filled */
    char *key;      /* an object's pending key (owned), or NULL when a key comes next */
    json_t *merges; /* "<<" sources, merged at the end (array), or NULL */
    char *anchor;   /* owned; the anchor of this collection, or NULL */
};

struct anchor {
    char *name;
    json_t *value;
};

struct line_mark {
    const json_t *node;
    size_t line;
};

struct tr_yaml_lines {
    struct line_mark *marks; /* sorted by node once parsed */
    size_t cnt, cap;
};

struct builder {
    struct frame stack[TR_YAML_MAX_DEPTH];
    size_t depth;
    json_t *root;
    bool have_root;
    struct anchor *anchors;
    size_t num_anchors, cap_anchors;
    size_t nodes;
    char *err;
    size_t err_len;
    struct tr_yaml_lines *lines; /* NULL when not wanted */
};

static int fail(struct builder *b, const yaml_mark_t *m, const char *what)
{
    snprintf(b->err, b->err_len, "line %zu, column %zu: %s", m->line + 1, m->column + 1, what);
    return TR_EINVAL;
}

static size_t count_nodes(const json_t *v)
{
    size_t n = 1, i;
    const char *k;
    json_t *c;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, c)
        {
            n += count_nodes(c);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, c)
        {
            n += count_nodes(c);
        }
    }
    return n;
}

static void remember_anchor(struct builder *b, const char *name, json_t *v)
{
    for (size_t i = 0; i < b->num_anchors; i++) {
        if (strcmp(b->anchors[i].name, name) == 0) { /* redefined: the later one counts */
            json_decref(b->anchors[i].value);
            b->anchors[i].value = json_incref(v);
            return;
        }
    }
    if (b->num_anchors == b->cap_anchors) {
        b->cap_anchors = b->cap_anchors ? b->cap_anchors * 2 : 16;
        b->anchors = tr_xrealloc(b->anchors, b->cap_anchors * sizeof(*b->anchors));
    }
    b->anchors[b->num_anchors++] = (struct anchor){tr_xstrdup(name), json_incref(v)};
}

/* Merge "<<" sources into obj without replacing the keys it has (YAML's merge key). */
static int apply_merges(struct builder *b, const yaml_mark_t *m, json_t *obj, json_t *merges)
{
    size_t i;
    json_t *src;
    json_array_foreach(merges, i, src)
    {
        if (!json_is_object(src))
            return fail(b, m, "a merge key (<<) needs a mapping or a list of mappings");
        const char *k;
        json_t *v;
        json_object_foreach(src, k, v)
        {
            if (json_object_get(obj, k) == NULL)
                json_object_set(obj, k, v);
        }
    }
    return 0;
}

/* Put a finished value into the current collection (or make it the root). Steals v. */
static int add_value(struct builder *b, const yaml_mark_t *m, json_t *v)
{
    if (v == NULL)
        return fail(b, m, "out of memory");
    if (b->depth == 0) {
        b->root = v;
        b->have_root = true;
        return 0;
    }
    struct frame *f = &b->stack[b->depth - 1];
    if (json_is_array(f->value))
        return json_array_append_new(f->value, v) == 0 ? 0 : fail(b, m, "out of memory");
    if (f->key == NULL) {
        json_decref(v);
        return fail(b, m, "a mapping key must be a scalar");
    }
    char *key = f->key;
    f->key = NULL;
    int rc = 0;
    if (strcmp(key, "<<") == 0 && (json_is_object(v) || json_is_array(v))) {
        if (f->merges == NULL)
            f->merges = json_array();
        if (json_is_object(v))
            json_array_append(f->merges, v);
        else
            json_array_extend(f->merges, v);
    } else if (json_object_get(f->value, key) != NULL) {
        char msg[160];
        snprintf(msg, sizeof(msg), "duplicate key '%.100s'", key);
        rc = fail(b, m, msg);
    } else if (json_object_set(f->value, key, v) != 0) {
        rc = fail(b, m, "out of memory");
    }
    json_decref(v);
    free(key);
    return rc;
}

static int open_collection(struct builder *b, const yaml_mark_t *m, json_t *v,
                           const yaml_char_t *anchor)
{
    if (b->depth == TR_YAML_MAX_DEPTH) {
        json_decref(v);
        char msg[80];
        snprintf(msg, sizeof(msg), "nested deeper than %d levels", TR_YAML_MAX_DEPTH);
        return fail(b, m, msg);
    }
    if (b->depth > 0) {
        struct frame *f = &b->stack[b->depth - 1];
        if (json_is_object(f->value) && f->key == NULL) {
            json_decref(v);
            return fail(b, m, "a mapping key must be a scalar");
        }
    }
    b->stack[b->depth++] = (struct frame){
        .value = v,
        .anchor = anchor ? tr_xstrdup((const char *)anchor) : NULL,
    };
    struct tr_yaml_lines *ls = b->lines;
    if (ls != NULL && json_is_object(v)) {
        if (ls->cnt == ls->cap) {
            ls->cap = ls->cap ? ls->cap * 2 : 64;
            ls->marks = tr_xrealloc(ls->marks, ls->cap * sizeof(*ls->marks));
        }
        ls->marks[ls->cnt++] = (struct line_mark){v, m->line + 1};
    }
    return 0;
}

static int close_collection(struct builder *b, const yaml_mark_t *m)
{
    struct frame f = b->stack[--b->depth];
    int rc = 0;
    if (f.merges != NULL) {
        rc = apply_merges(b, m, f.value, f.merges);
        json_decref(f.merges);
    }
    free(f.key);
    if (rc == 0 && f.anchor != NULL)
        remember_anchor(b, f.anchor, f.value);
    free(f.anchor);
    if (rc != 0) {
        json_decref(f.value);
        return rc;
    }
    return add_value(b, m, f.value);
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
    const char *text = (const char *)ev->data.scalar.value;
    if (strlen(text) != ev->data.scalar.length)
        return fail(b, &ev->start_mark, "a scalar holds a NUL byte");
    if (b->depth > 0) {
        struct frame *f = &b->stack[b->depth - 1];
        if (json_is_object(f->value) && f->key == NULL) {
            f->key = tr_xstrdup(text); /* keys are text, whatever they look like */
            return 0;
        }
    }
    const char *tag = (const char *)ev->data.scalar.tag;
    json_t *v;
    if (tag != NULL && strcmp(tag, YAML_STR_TAG) == 0)
        v = json_string(text);
    else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        v = resolve_plain(text);
    else
        v = json_string(text);
    if (v == NULL)
        return fail(b, &ev->start_mark, "a string that is not UTF-8");
    if (ev->data.scalar.anchor != NULL)
        remember_anchor(b, (const char *)ev->data.scalar.anchor, v);
    return add_value(b, &ev->start_mark, v);
}

static int on_alias(struct builder *b, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    for (size_t i = 0; i < b->num_anchors; i++) {
        if (strcmp(b->anchors[i].name, name) == 0) {
            b->nodes += count_nodes(b->anchors[i].value);
            if (b->nodes > TR_YAML_MAX_NODES)
                return fail(b, &ev->start_mark, "too many values (aliases expand too far)");
            return add_value(b, &ev->start_mark, json_deep_copy(b->anchors[i].value));
        }
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "unknown anchor '%.100s'", name);
    return fail(b, &ev->start_mark, msg);
}

static int on_event(struct builder *b, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (b->have_root)
            return fail(b, &ev->start_mark, "more than one document");
        return 0;
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        if (++b->nodes > TR_YAML_MAX_NODES)
            return fail(b, &ev->start_mark, "too many values");
        return open_collection(
            b, &ev->start_mark, ev->type == YAML_MAPPING_START_EVENT ? json_object() : json_array(),
            ev->type == YAML_MAPPING_START_EVENT ? ev->data.mapping_start.anchor
                                                 : ev->data.sequence_start.anchor);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        return close_collection(b, &ev->start_mark);
    case YAML_SCALAR_EVENT:
        if (++b->nodes > TR_YAML_MAX_NODES)
            return fail(b, &ev->start_mark, "too many values");
        return on_scalar(b, ev);
    case YAML_ALIAS_EVENT:
        return on_alias(b, ev);
    default:
        return 0;
    }
}

static void builder_free(struct builder *b)
{
    while (b->depth > 0) {
        struct frame *f = &b->stack[--b->depth];
        json_decref(f->value);
        json_decref(f->merges);
        free(f->key);
        free(f->anchor);
    }
    for (size_t i = 0; i < b->num_anchors; i++) {
        free(b->anchors[i].name);
        json_decref(b->anchors[i].value);
    }
    free(b->anchors);
}

static int parse_yaml(const char *text, size_t len, json_t **out, char *err, size_t err_len,
                      struct tr_yaml_lines *lines)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        snprintf(err, err_len, "out of memory");
        return TR_EINVAL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    struct builder *b = tr_xcalloc(1, sizeof(*b));
    b->err = err;
    b->err_len = err_len;
    b->lines = lines;
    int rc = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            char what[256];
            snprintf(what, sizeof(what), "%s%s%s", p.problem ? p.problem : "syntax error",
                     p.context ? " " : "", p.context ? p.context : "");
            rc = fail(b, &p.problem_mark, what);
            break;
        }
        bool end = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(b, &ev);
        yaml_event_delete(&ev);
        if (rc != 0 || end)
            break;
    }
    yaml_parser_delete(&p);
    if (rc == 0)
        *out = b->have_root ? b->root : json_null();
    else
        json_decref(b->root);
    builder_free(b);
    free(b);
    return rc;
}

/* Text whose first non-blank byte opens a JSON object or array. */
static bool looks_json(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        i++;
    return i < len && (text[i] == '{' || text[i] == '[');
}

static int by_node(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct line_mark *)a)->node;
    uintptr_t y = (uintptr_t)((const struct line_mark *)b)->node;
    return x < y ? -1 : x > y;
}

size_t tr_yaml_line_of(const struct tr_yaml_lines *lines, const json_t *v)
{
    if (lines == NULL || v == NULL || lines->cnt == 0)
        return 0;
    struct line_mark key = {v, 0};
    const struct line_mark *hit =
        bsearch(&key, lines->marks, lines->cnt, sizeof(*lines->marks), by_node);
    return hit ? hit->line : 0;
}

void tr_yaml_lines_free(struct tr_yaml_lines *lines)
{
    if (lines != NULL) {
        free(lines->marks);
        free(lines);
    }
}

int tr_yaml_parse_lines(const char *text, size_t len, json_t **out, struct tr_yaml_lines **lines,
                        char *err, size_t err_len)
{
    *lines = tr_xcalloc(1, sizeof(**lines));
    *out = NULL;
    int rc = looks_json(text, len) ? tr_yaml_parse(text, len, out, err, err_len)
                                   : parse_yaml(text, len, out, err, err_len, *lines);
    if ((*lines)->cnt > 1)
        qsort((*lines)->marks, (*lines)->cnt, sizeof(*(*lines)->marks), by_node);
    return rc;
}

int tr_yaml_parse(const char *text, size_t len, json_t **out, char *err, size_t err_len)
{
    *out = NULL;
    if (looks_json(text, len)) {
        json_error_t je;
        json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (v != NULL) {
            *out = v;
            return 0;
        }
        /* Perhaps YAML's flow style ({a: b}); if that fails too, the JSON error is the one
         * that helps. */
        char ignored[8];
        if (parse_yaml(text, len, out, ignored, sizeof(ignored), NULL) == 0)
            return 0;
        snprintf(err, err_len, "line %d, column %d: %s", je.line, je.column, je.text);
        return TR_EINVAL;
    }
    return parse_yaml(text, len, out, err, err_len, NULL);
}

/* ---- emitting ------------------------------------------------------------------------------ */

static int on_output(void *data, unsigned char *buffer, size_t size)
{
    struct tr_buf *out = data;
    return tr_buf_append(out, (const char *)buffer, size) == 0;
}

static int emit_scalar(yaml_emitter_t *e, const char *text, size_t len, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)len, 1, 1, style);
    return yaml_emitter_emit(e, &ev);
}

static int emit_string(yaml_emitter_t *e, const char *s, size_t len)
{
    yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
    if (memchr(s, '\n', len) != NULL) {
        style = YAML_LITERAL_SCALAR_STYLE; /* certificates and keys stay readable */
    } else {
        json_t *as = strlen(s) == len ? resolve_plain(s) : NULL;
        if (as == NULL || !json_is_string(as))
            style = YAML_DOUBLE_QUOTED_SCALAR_STYLE; /* "true", "8000", "": stay strings */
        json_decref(as);
    }
    return emit_scalar(e, s, len, style);
}

static int emit_value(yaml_emitter_t *e, const json_t *v)
{
    yaml_event_t ev;
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if (!yaml_emitter_emit(e, &ev))
            return 0;
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c)
        {
            if (!emit_string(e, k, strlen(k)) || !emit_value(e, c))
                return 0;
        }
        yaml_mapping_end_event_initialize(&ev);
        return yaml_emitter_emit(e, &ev);
    }
    case JSON_ARRAY: {
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        if (!yaml_emitter_emit(e, &ev))
            return 0;
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            if (!emit_value(e, c))
                return 0;
        }
        yaml_sequence_end_event_initialize(&ev);
        return yaml_emitter_emit(e, &ev);
    }
    case JSON_STRING:
        return emit_string(e, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return emit_scalar(e, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
    case JSON_REAL: {
        double d = json_real_value(v);
        if (!isfinite(d))
            return 0;
        for (int prec = 15; prec <= 17; prec++) { /* the shortest text that reads back as d */
            snprintf(num, sizeof(num), "%.*g", prec, d);
            if (strtod(num, NULL) == d)
                break;
        }
        size_t n = strlen(num);
        if (strpbrk(num, ".eE") == NULL && n + 3 <= sizeof(num))
            memcpy(num + n, ".0", 3); /* still a float when read back */
        return emit_scalar(e, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
    }
    case JSON_TRUE:
        return emit_scalar(e, "true", 4, YAML_PLAIN_SCALAR_STYLE);
    case JSON_FALSE:
        return emit_scalar(e, "false", 5, YAML_PLAIN_SCALAR_STYLE);
    case JSON_NULL:
    default:
        return emit_scalar(e, "null", 4, YAML_PLAIN_SCALAR_STYLE);
    }
}

char *tr_yaml_emit(const json_t *v)
{
    yaml_emitter_t e;
    if (!yaml_emitter_initialize(&e))
        return NULL;
    struct tr_buf out;
    tr_buf_init(&out, SIZE_MAX);
    yaml_emitter_set_output(&e, on_output, &out);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, -1); /* never fold long strings */
    yaml_emitter_set_indent(&e, 2);
    yaml_event_t ev;
    bool ok = true;
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    ok = ok && yaml_emitter_emit(&e, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    ok = ok && yaml_emitter_emit(&e, &ev);
    ok = ok && emit_value(&e, v);
    yaml_document_end_event_initialize(&ev, 1);
    ok = ok && yaml_emitter_emit(&e, &ev);
    yaml_stream_end_event_initialize(&ev);
    ok = ok && yaml_emitter_emit(&e, &ev);
    ok = ok && yaml_emitter_flush(&e);
    yaml_emitter_delete(&e);
    if (!ok || tr_buf_append(&out, "", 1) != 0) {
        tr_buf_free(&out);
        return NULL;
    }
    return out.ptr; /* the buffer's bytes, NUL-terminated, are the caller's now */
}
