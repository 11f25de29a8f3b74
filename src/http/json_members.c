/* SPDX-License-Identifier: MIT */
/* Top-level members of a JSON object body (see json_members.h): a small bounded scanner that
 * finds where each member starts and ends, and jansson for what a member's name means. */
#include "http/json_members.h"

#include <stdbool.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"

#define MAX_DEPTH 64

struct scan {
    const char *p;
    size_t len, i;
};

/* One removal in progress: what has been written, and the text after the last kept member. */
struct walk {
    struct tr_str json, name;
    char *out; /* NULL: count only */
    size_t n, count;
    bool kept_any, prev_kept;
    size_t last_end;   /* end of the previous member; 0 before the first */
    struct tr_str sep; /* text that followed the last kept member, up to the next member */
};

static void skip_ws(struct scan *s)
{
    while (s->i < s->len &&
           (s->p[s->i] == ' ' || s->p[s->i] == '\t' || s->p[s->i] == '\n' || s->p[s->i] == '\r'))
        s->i++;
}

/* A string starting at its opening quote; s->i ends after the closing one. */
static bool skip_string(struct scan *s)
{
    if (s->i >= s->len || s->p[s->i] != '"')
        return false;
    for (s->i++; s->i < s->len; s->i++) {
        unsigned char ch = (unsigned char)s->p[s->i];
        if (ch == '"') {
            s->i++;
            return true;
        }
        if (ch < 0x20)
            return false; /* RFC 8259 §7: control characters are escaped */
        if (ch == '\\')
            s->i++;
    }
    return false;
}

/* An array or object, its strings skipped as strings, brackets matched up to MAX_DEPTH. */
static bool skip_container(struct scan *s)
{
    char open[MAX_DEPTH];
    size_t depth = 0;
    while (s->i < s->len) {
        char ch = s->p[s->i];
        if (ch == '"') {
            if (!skip_string(s))
                return false;
            continue;
        }
        if (ch == '{' || ch == '[') {
            if (depth == MAX_DEPTH)
                return false;
            open[depth++] = ch;
        } else if (ch == '}' || ch == ']') {
            if (depth == 0 || open[depth - 1] != (ch == '}' ? '{' : '['))
                return false;
            if (--depth == 0) {
                s->i++;
                return true;
            }
        }
        s->i++;
    }
    return false;
}

static bool skip_value(struct scan *s)
{
    if (s->i >= s->len)
        return false;
    char ch = s->p[s->i];
    if (ch == '"')
        return skip_string(s);
    if (ch == '{' || ch == '[')
        return skip_container(s);
    /* A number or a literal: up to the next delimiter (jansson checked its spelling). */
    size_t start = s->i;
    while (s->i < s->len && !strchr(",}] \t\r\n", s->p[s->i]))
        s->i++;
    return s->i > start;
}

/* Does the string token raw (quotes included) decode to name? -1 when it does not decode. */
static int name_is(struct tr_str raw, struct tr_str name)
{
    struct tr_str inner = {raw.ptr + 1, raw.len - 2};
    if (memchr(inner.ptr, '\\', inner.len) == NULL)
        return tr_str_eq(inner, name);
    /* Escapes: decoded by the same library that looked the name up. */
    json_t *v = json_loadb(raw.ptr, raw.len, JSON_DECODE_ANY, NULL);
    if (!json_is_string(v)) {
        json_decref(v);
        return -1;
    }
    int eq = tr_str_eq((struct tr_str){json_string_value(v), json_string_length(v)}, name);
    json_decref(v);
    return eq;
}

static void emit(struct walk *w, size_t from, size_t len)
{
    if (w->out)
        memcpy(w->out + w->n, w->json.ptr + from, len);
    w->n += len;
}

/* The member json[start, end) whose name matched (drop) or not. */
static void member(struct walk *w, size_t start, size_t end, bool drop)
{
    if (w->prev_kept)
        w->sep = (struct tr_str){w->json.ptr + w->last_end, start - w->last_end};
    if (drop) {
        w->count++;
        w->prev_kept = false;
    } else {
        if (w->kept_any)
            emit(w, (size_t)(w->sep.ptr - w->json.ptr), w->sep.len);
        emit(w, start, end - start);
        w->kept_any = true;
        w->prev_kept = true;
    }
    w->last_end = end;
}

/* The members of the object whose '{' is at s->i; s->i ends after its '}'. */
static int walk_members(struct scan *s, struct walk *w)
{
    s->i++;
    skip_ws(s);
    if (s->i < s->len && s->p[s->i] == '}') {
        s->i++;
        return 0;
    }
    for (bool first = true;; first = false) {
        size_t start = s->i;
        if (first)
            emit(w, 0, start);
        if (!skip_string(s))
            return TR_EINVAL;
        int eq = name_is((struct tr_str){s->p + start, s->i - start}, w->name);
        skip_ws(s);
        if (eq < 0 || s->i >= s->len || s->p[s->i] != ':')
            return TR_EINVAL;
        s->i++;
        skip_ws(s);
        if (!skip_value(s))
            return TR_EINVAL;
        member(w, start, s->i, eq == 1);
        skip_ws(s);
        if (s->i >= s->len)
            return TR_EINVAL;
        char ch = s->p[s->i++];
        if (ch == '}')
            return 0;
        if (ch != ',')
            return TR_EINVAL;
        skip_ws(s);
    }
}

int tr_json_members_remove(struct tr_str json, struct tr_str name, char *out, size_t *out_len,
                           size_t *count)
{
    struct scan s = {json.ptr, json.len, 0};
    struct walk w = {.json = json, .name = name, .out = out};
    skip_ws(&s);
    if (s.i >= s.len || s.p[s.i] != '{')
        return TR_EINVAL;
    int rc = walk_members(&s, &w);
    if (rc != 0)
        return rc;
    skip_ws(&s);
    if (s.i != s.len)
        return TR_EINVAL;
    /* After the last member (the whole text of an empty object, where last_end stayed 0). */
    emit(&w, w.last_end, json.len - w.last_end);
    *count = w.count;
    if (out_len)
        *out_len = w.n;
    return 0;
}
