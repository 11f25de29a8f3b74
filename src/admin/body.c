/* SPDX-License-Identifier: MIT */
/* Body and query-string decoding for the Admin API: forms, multipart and JSON all become one
 * JSON object. Type coercion and field rules are the schema layer's job, not this file's. */
#include "admin/body.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/str.h"
#include "http/form.h"
#include "http/multipart.h"

#define IDX_PLAIN (-1L)  /* `key` */
#define IDX_APPEND (-2L) /* `key[]` */

/* One decoded name=value pair waiting to be placed in the object. */
struct pair {
    char *key; /* owned, decoded, without the [] or [N] suffix */
    size_t key_len;
    json_t *val; /* owned reference */
    long idx;    /* IDX_PLAIN, IDX_APPEND or the N of key[N] */
    size_t seq;  /* input order, to keep the sort stable */
};

/* A TR_VECTOR (core/buf.h). */
struct pairs {
    struct pair *items;
    size_t cnt, cap;
};

static void pairs_free(struct pairs *ps)
{
    for (size_t i = 0; i < ps->cnt; i++) {
        free(ps->items[i].key);
        json_decref(ps->items[i].val);
    }
    tr_vector_free(ps);
}

/* Decode form text s (http/form.h's decoder) into a new NUL-terminated buffer; *len gets its
 * length. Returns NULL when the result holds a NUL byte and allow_nul is not set. */
static char *pct_decode(struct tr_str s, bool allow_nul, size_t *len)
{
    char *out = tr_xmalloc(s.len + 1);
    size_t o = tr_form_decode(s, out);
    if (!allow_nul && memchr(out, '\0', o)) {
        free(out);
        return NULL;
    }
    out[o] = '\0';
    *len = o;
    return out;
}

static void set_msg(char *msg, size_t msg_len, const char *text)
{
    if (msg_len > 0)
        snprintf(msg, msg_len, "%s", text);
}

/* Strip a trailing `[]` or `[N]` from key, returning the index kind. */
static long split_index(char *key, size_t *key_len)
{
    size_t n = *key_len;
    if (n < 3 || key[n - 1] != ']')
        return IDX_PLAIN;
    if (key[n - 2] == '[') {
        *key_len = n - 2;
        key[*key_len] = '\0';
        return IDX_APPEND;
    }
    size_t open = n - 1;
    while (open > 0 && key[open - 1] >= '0' && key[open - 1] <= '9')
        open--;
    if (open == 0 || key[open - 1] != '[' || open == n - 1 || open - 1 == 0)
        return IDX_PLAIN;
    if (n - 1 - open > 4)
        return IDX_PLAIN; /* more digits than TR_ADMIN_FORM_MAX_INDEX allows: literal key */
    long v = 0;
    for (size_t i = open; i < n - 1; i++)
        v = v * 10 + (key[i] - '0');
    *key_len = open - 1;
    key[*key_len] = '\0';
    return v;
}

/* Add one decoded pair. key and val are NOT owned by this call (val is referenced). */
static int pairs_add(struct pairs *ps, char *key, size_t key_len, json_t *val)
{
    if (ps->cnt == TR_ADMIN_FORM_MAX_PAIRS)
        return TR_ETOOLARGE;
    struct pair *p = tr_vector_push(NULL, ps);
    p->idx = split_index(key, &key_len);
    p->key = key;
    p->key_len = key_len;
    p->val = val;
    p->seq = ps->cnt - 1;
    return 0;
}

static int cmp_pairs(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    /* Unindexed pairs (plain and `[]`) keep input order and come first; `key[N]` follow by N. */
    long kx = x->idx < 0 ? -1 : x->idx, ky = y->idx < 0 ? -1 : y->idx;
    if (kx != ky)
        return kx < ky ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq ? 1 : 0);
}

/* Place one pair into root following the dotted path of its key. */
static int place(json_t *root, const struct pair *p, char *msg, size_t msg_len)
{
    const char *segs[TR_ADMIN_FORM_MAX_DEPTH];
    size_t lens[TR_ADMIN_FORM_MAX_DEPTH];
    size_t nseg = 0;
    bool literal = false;
    size_t start = 0;
    for (size_t i = 0; i <= p->key_len; i++) {
        if (i == p->key_len || p->key[i] == '.') {
            if (i == start || nseg == TR_ADMIN_FORM_MAX_DEPTH) {
                literal = true;
                break;
            }
            segs[nseg] = p->key + start;
            lens[nseg] = i - start;
            nseg++;
            start = i + 1;
        }
    }
    if (literal) {
        /* Empty segments or too deep: the whole key is one (unknown) field name. */
        segs[0] = p->key;
        lens[0] = p->key_len;
        nseg = 1;
    }
    json_t *obj = root;
    for (size_t i = 0; i + 1 < nseg; i++) {
        json_t *child = json_object_getn(obj, segs[i], lens[i]);
        if (child == NULL) {
            child = json_object();
            json_object_setn_new(obj, segs[i], lens[i], child);
        } else if (!json_is_object(child)) {
            goto conflict;
        }
        obj = child;
    }
    const char *leaf = segs[nseg - 1];
    size_t leaf_len = lens[nseg - 1];
    json_t *cur = json_object_getn(obj, leaf, leaf_len);
    if (cur == NULL) {
        if (p->idx == IDX_PLAIN) {
            json_object_setn(obj, leaf, leaf_len, p->val);
        } else {
            json_t *arr = json_array();
            json_array_append(arr, p->val);
            json_object_setn_new(obj, leaf, leaf_len, arr);
        }
    } else if (json_is_array(cur)) {
        json_array_append(cur, p->val);
    } else if (json_is_object(cur)) {
        goto conflict;
    } else {
        json_t *arr = json_array();
        json_array_append(arr, cur);
        json_array_append(arr, p->val);
        json_object_setn_new(obj, leaf, leaf_len, arr);
    }
    return 0;
conflict:
    if (msg_len > 0)
        snprintf(msg, msg_len, "Conflicting form keys for '%.*s'", (int)lens[0], segs[0]);
    return TR_EBADREQ;
}

/* Sort and place every pair into a new object. Consumes ps. */
static int build(struct pairs *ps, json_t **out, char *msg, size_t msg_len)
{
    json_t *root = json_object();
    int rc = 0;
    if (ps->cnt > 1)
        qsort(ps->items, ps->cnt, sizeof(*ps->items), cmp_pairs);
    for (size_t i = 0; i < ps->cnt && rc == 0; i++)
        rc = place(root, &ps->items[i], msg, msg_len);
    pairs_free(ps);
    if (rc != 0) {
        json_decref(root);
        return rc;
    }
    *out = root;
    return 0;
}

/* Decode key and value and add them. A NULL value slice means "no '='" (value true). */
static int add_raw(struct pairs *ps, struct tr_str k, const struct tr_str *v, bool pct, char *msg,
                   size_t msg_len)
{
    size_t key_len = 0, val_len = 0;
    char *key = pct ? pct_decode(k, false, &key_len) : NULL;
    if (!pct && memchr(k.ptr, '\0', k.len) == NULL) {
        key = tr_str_dup(k);
        key_len = k.len;
    }
    if (key == NULL)
        goto bad;
    if (key_len == 0) {
        free(key);
        return 0;
    }
    json_t *val;
    if (v == NULL) {
        val = json_true();
    } else {
        char *raw = NULL;
        /* A NUL in a value is kept: the field checks name it (tr_admin_find_nul, schemas). */
        if (pct) {
            raw = pct_decode(*v, true, &val_len);
        } else {
            raw = tr_xmalloc(v->len + 1);
            if (v->len)
                memcpy(raw, v->ptr, v->len);
            raw[v->len] = '\0';
            val_len = v->len;
        }
        if (raw == NULL) {
            free(key);
            goto bad;
        }
        val = json_stringn(raw, val_len);
        free(raw);
        if (val == NULL) { /* not UTF-8 */
            free(key);
            goto bad;
        }
    }
    /* Keys become JSON object keys, which must be UTF-8 as well. */
    json_t *probe = json_stringn(key, key_len);
    if (probe == NULL) {
        free(key);
        json_decref(val);
        goto bad;
    }
    json_decref(probe);
    int rc = pairs_add(ps, key, key_len, val);
    if (rc != 0) {
        free(key);
        json_decref(val);
        set_msg(msg, msg_len, "Too many fields in the request");
        return TR_EBADREQ;
    }
    return 0;
bad:
    set_msg(msg, msg_len, "Cannot parse form body");
    return TR_EBADREQ;
}

int tr_admin_form_decode(struct tr_str form, json_t **out, char *msg, size_t msg_len)
{
    struct pairs ps = {0};
    size_t i = 0;
    while (i < form.len) {
        size_t end = i;
        while (end < form.len && form.ptr[end] != '&')
            end++;
        struct tr_str item = {form.ptr + i, end - i};
        if (item.len > 0) {
            const char *eq = memchr(item.ptr, '=', item.len);
            int rc;
            if (eq == NULL) {
                rc = add_raw(&ps, item, NULL, true, msg, msg_len);
            } else {
                struct tr_str k = {item.ptr, (size_t)(eq - item.ptr)};
                struct tr_str v = {eq + 1, item.len - k.len - 1};
                rc = add_raw(&ps, k, &v, true, msg, msg_len);
            }
            if (rc != 0) {
                pairs_free(&ps);
                return rc;
            }
        }
        i = end + 1;
    }
    return build(&ps, out, msg, msg_len);
}

/* Each part of a multipart body is one name=value pair (http/multipart.c reads the parts, the
 * same reader the OAuth 2.0 endpoints use); a part without a name is skipped. */
static int multipart_decode(struct tr_str ctype, struct tr_str body, json_t **out, char *msg,
                            size_t msg_len)
{
    struct tr_multipart m;
    struct pairs ps = {0};
    struct tr_str name, value;
    int rc = TR_EBADREQ;
    if (tr_multipart_begin(&m, ctype, body)) {
        while ((rc = tr_multipart_next(&m, &name, &value)) == 1) {
            if (name.len == 0)
                continue;
            int arc = add_raw(&ps, name, &value, false, msg, msg_len);
            if (arc != 0) {
                pairs_free(&ps);
                return arc;
            }
        }
    }
    if (rc != 0) {
        pairs_free(&ps);
        set_msg(msg, msg_len, "Cannot parse multipart body");
        return TR_EBADREQ;
    }
    return build(&ps, out, msg, msg_len);
}

/* Add every member of src to dst (both objects); an object meeting an object is merged, any
 * other meeting of two values is a conflict (TR_EBADREQ). */
static int merge(json_t *dst, json_t *src)
{
    const char *k;
    size_t klen;
    json_t *v;
    json_object_keylen_foreach(src, k, klen, v)
    {
        json_t *cur = json_object_getn(dst, k, klen);
        if (cur == NULL)
            json_object_setn(dst, k, klen, v);
        else if (!json_is_object(cur) || !json_is_object(v) || merge(cur, v) != 0)
            return TR_EBADREQ;
    }
    return 0;
}

/* A new object with the dotted keys of obj (the body's top level) nested: Kong 0.7 read
 * {"config.minute": 20} as {"config": {"minute": 20}}, so a JSON body may use either shape, or
 * both at once. Keys inside a nested object stay as sent: they may be a map's keys with dots
 * in them (opentelemetry's {"resource_attributes": {"service.name": ...}}), as Kong 3 reads a
 * JSON body. A key with an empty segment or deeper than TR_ADMIN_FORM_MAX_DEPTH stays literal,
 * as in forms. NULL, with msg naming the top-level key's first segment, when two keys give one
 * field two values. */
static json_t *nest_dotted(json_t *obj, char *msg, size_t msg_len)
{
    json_t *res = json_object();
    const char *k;
    size_t klen;
    json_t *v;
    json_object_keylen_foreach(obj, k, klen, v)
    {
        size_t dots = 0, first = klen;
        bool literal = klen == 0 || k[0] == '.' || k[klen - 1] == '.';
        for (size_t i = 0; i < klen && !literal; i++) {
            if (k[i] != '.')
                continue;
            literal = ++dots >= TR_ADMIN_FORM_MAX_DEPTH || k[i + 1] == '.';
            first = first < i ? first : i;
        }
        if (literal)
            first = klen;
        json_t *val = json_is_object(v) ? json_deep_copy(v) : json_incref(v);
        json_t *parent = res;
        size_t start = 0;
        for (size_t i = 0; val != NULL && !literal && i < klen; i++) {
            if (k[i] != '.')
                continue;
            json_t *child = json_object_getn(parent, k + start, i - start);
            if (child == NULL) {
                child = json_object();
                json_object_setn_new(parent, k + start, i - start, child);
            } else if (!json_is_object(child)) {
                json_decref(val);
                val = NULL;
            }
            parent = child;
            start = i + 1;
        }
        json_t *cur = val ? json_object_getn(parent, k + start, klen - start) : NULL;
        int rc = val == NULL ? TR_EBADREQ : 0;
        if (val != NULL && cur == NULL)
            json_object_setn(parent, k + start, klen - start, val);
        else if (val != NULL)
            rc = json_is_object(cur) && json_is_object(val) ? merge(cur, val) : TR_EBADREQ;
        json_decref(val);
        if (rc != 0) {
            if (msg_len > 0)
                snprintf(msg, msg_len, "Conflicting keys for '%.*s'", (int)first, k);
            json_decref(res);
            return NULL;
        }
    }
    return res;
}

static int json_decode(struct tr_str body, json_t **out, char *msg, size_t msg_len)
{
    json_error_t jerr;
    /* jansson bounds nesting depth (JSON_PARSER_MAX_DEPTH), so `[[[[...` fails cleanly. */
    json_t *doc = json_loadb(body.ptr, body.len, JSON_ALLOW_NUL, &jerr);
    if (doc == NULL || !json_is_object(doc)) {
        json_decref(doc);
        set_msg(msg, msg_len, "Cannot parse JSON body");
        return TR_EBADREQ;
    }
    *out = nest_dotted(doc, msg, msg_len);
    json_decref(doc);
    return *out != NULL ? 0 : TR_EBADREQ;
}

static bool contains_ci(struct tr_str hay, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= hay.len; i++) {
        if (tr_str_ieq_cstr((struct tr_str){hay.ptr + i, n}, needle))
            return true;
    }
    return false;
}

bool tr_admin_body_is_json(struct tr_str content_type)
{
    return contains_ci(content_type, "application/json");
}

int tr_admin_body_decode(struct tr_str content_type, struct tr_str body, json_t **out, char *msg,
                         size_t msg_len)
{
    struct tr_str ct = tr_str_trim(content_type);
    const char *semi = ct.len ? memchr(ct.ptr, ';', ct.len) : NULL;
    struct tr_str media =
        tr_str_trim((struct tr_str){ct.ptr, semi ? (size_t)(semi - ct.ptr) : ct.len});

    if (body.len == 0) {
        *out = json_object();
        return 0;
    }
    if (tr_admin_body_is_json(ct))
        return json_decode(body, out, msg, msg_len);
    if (tr_str_ieq_cstr(media, "application/x-www-form-urlencoded"))
        return tr_admin_form_decode(body, out, msg, msg_len);
    if (tr_str_ieq_cstr(media, "multipart/form-data"))
        return multipart_decode(ct, body, out, msg, msg_len);
    if (ct.len == 0) {
        size_t i = 0;
        while (i < body.len && (body.ptr[i] == ' ' || body.ptr[i] == '\t' || body.ptr[i] == '\r' ||
                                body.ptr[i] == '\n'))
            i++;
        if (i < body.len && body.ptr[i] == '{')
            return json_decode(body, out, msg, msg_len);
        return tr_admin_form_decode(body, out, msg, msg_len);
    }
    set_msg(msg, msg_len, tr_err_message(TR_EMEDIATYPE));
    return TR_EMEDIATYPE;
}

bool tr_admin_find_nul(const json_t *v, char *path, size_t path_len)
{
    if (json_is_string(v))
        return memchr(json_string_value(v), '\0', json_string_length(v)) != NULL;
    size_t base = strlen(path);
    if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            if (tr_admin_find_nul(item, path, path_len))
                return true;
        }
        return false;
    }
    const char *key;
    const json_t *item;
    json_object_foreach((json_t *)v, key, item)
    {
        snprintf(path + base, path_len - base, "%s%s", base ? "." : "", key);
        if (tr_admin_find_nul(item, path, path_len))
            return true;
        path[base] = '\0';
    }
    return false;
}
