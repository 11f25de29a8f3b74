/* SPDX-License-Identifier: MIT */
/* Form and query string pairs (see form.h). */
#include "http/form.h"

#include <string.h>

#include "core/err.h"

bool tr_form_next(struct tr_str *rest, struct tr_str *key, struct tr_str *value)
{
    while (rest->len > 0) {
        const char *amp = memchr(rest->ptr, '&', rest->len);
        size_t plen = amp ? (size_t)(amp - rest->ptr) : rest->len;
        struct tr_str pair = {rest->ptr, plen};
        rest->ptr += amp ? plen + 1 : plen;
        rest->len -= amp ? plen + 1 : plen;
        if (plen == 0)
            continue;
        const char *eq = memchr(pair.ptr, '=', pair.len);
        if (eq) {
            *key = (struct tr_str){pair.ptr, (size_t)(eq - pair.ptr)};
            *value = (struct tr_str){eq + 1, (size_t)(pair.ptr + pair.len - eq - 1)};
        } else {
            *key = pair;
            *value = (struct tr_str){pair.ptr + pair.len, 0};
        }
        return true;
    }
    return false;
}

/* The byte at raw[*i] decoded as tr_form_decode decodes it; *i moves past what was used. */
static char decode_at(struct tr_str raw, size_t *i)
{
    char ch = raw.ptr[*i];
    if (ch == '+')
        ch = ' ';
    else if (ch == '%' && *i + 2 < raw.len && tr_hex_value(raw.ptr[*i + 1]) >= 0 &&
             tr_hex_value(raw.ptr[*i + 2]) >= 0) {
        ch = (char)(tr_hex_value(raw.ptr[*i + 1]) * 16 + tr_hex_value(raw.ptr[*i + 2]));
        *i += 2;
    }
    (*i)++;
    return ch;
}

size_t tr_form_decode(struct tr_str in, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < in.len;)
        out[n++] = decode_at(in, &i);
    return n;
}

long tr_pct_decode_strict(struct tr_str in, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.ptr[i];
        if (c == '%') {
            int hi = i + 1 < in.len ? tr_hex_value(in.ptr[i + 1]) : -1;
            int lo = i + 2 < in.len ? tr_hex_value(in.ptr[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return TR_EINVAL;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        out[n++] = c;
    }
    return (long)n;
}

bool tr_form_key_eq(struct tr_str raw, struct tr_str name)
{
    size_t i = 0, n = 0;
    while (i < raw.len) {
        if (n == name.len || decode_at(raw, &i) != name.ptr[n])
            return false;
        n++;
    }
    return n == name.len;
}

static bool key_listed(struct tr_str raw, const struct tr_str *names, size_t num)
{
    for (size_t i = 0; i < num; i++) {
        if (tr_form_key_eq(raw, names[i]))
            return true;
    }
    return false;
}

size_t tr_form_remove(struct tr_str raw, const struct tr_str *names, size_t num, char *out,
                      bool *removed)
{
    size_t n = 0;
    bool any = false;
    struct tr_str rest = raw, k, v;
    while (tr_form_next(&rest, &k, &v)) {
        if (key_listed(k, names, num)) {
            any = true;
            continue;
        }
        size_t plen = (size_t)(v.ptr + v.len - k.ptr);
        if (n)
            out[n++] = '&';
        memcpy(out + n, k.ptr, plen);
        n += plen;
    }
    if (removed)
        *removed = any;
    return n;
}

bool tr_form_is_urlencoded(struct tr_str ct)
{
    static const char want[] = "application/x-www-form-urlencoded";
    struct tr_str t = tr_str_trim(ct);
    const char *semi = memchr(t.ptr, ';', t.len);
    if (semi)
        t.len = (size_t)(semi - t.ptr);
    t = tr_str_trim(t);
    return tr_str_ieq(t, (struct tr_str){want, sizeof(want) - 1});
}
