/* SPDX-License-Identifier: MIT */
/* Form and query string pairs (see form.h). */
#include "http/form.h"

#include <string.h>

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

size_t tr_form_decode(struct tr_str in, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++) {
        char ch = in.ptr[i];
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%' && i + 2 < in.len && tr_hex_value(in.ptr[i + 1]) >= 0 &&
                   tr_hex_value(in.ptr[i + 2]) >= 0) {
            ch = (char)(tr_hex_value(in.ptr[i + 1]) * 16 + tr_hex_value(in.ptr[i + 2]));
            i += 2;
        }
        out[n++] = ch;
    }
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
