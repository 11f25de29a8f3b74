/* SPDX-License-Identifier: MIT */
/* Kong 3.x services and routes: one row per field (type, default, bounds, item check), a
 * validator that coerces form strings, fills defaults and collects errors in Kong 3's shape,
 * and the entity-wide rules of services.lua, routes.lua and routes_subschemas.lua. Deliberate
 * differences from Kong 3.9, each said where it is made: only the http and https protocols
 * are accepted for now (the proxy speaks nothing else), and every list is bounded. */
#include "schema/kong3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/str.h"
#include "core/uuid.h"
#include "schema/kong3_fields.h"

#define MSG_LEN TR_SCHEMA3_MSG_LEN

static const char *const kong_protocols[] = {
    "grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp", NULL,
};
static const char *const kong_protocols_msg =
    "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp";

/* ---- checks ------------------------------------------------------------------------------ */

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Kong's utf8_name: [A-Za-z0-9.-_~] and bytes of UTF-8 sequences. */
static bool name_ok(const char *v, size_t len, char *msg, size_t msg_len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (is_alnum(c) || c == '.' || c == '-' || c == '_' || c == '~' || (c >= 0x80 && c <= 0xf4))
            continue;
        snprintf(msg, msg_len,
                 "invalid value '%s': the only accepted ascii characters are alphanumerics or "
                 "., -, _, and ~",
                 v);
        return false;
    }
    return true;
}

bool tr_schema3_tag_ok(const char *tag, size_t len, char *msg, size_t msg_len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)tag[i];
        if ((c >= 0x20 && c <= 0x7e && c != ',' && c != '/') || (c >= 0x80 && c <= 0xf4))
            continue;
        snprintf(msg, msg_len,
                 "invalid tag '%s': expected printable ascii (except `,` and `/`) or valid utf-8 "
                 "sequences",
                 tag);
        return false;
    }
    return true;
}

bool tr__schema3_tag_check(const char *v, size_t len, char *msg, size_t msg_len)
{
    return tr_schema3_tag_ok(v, len, msg, msg_len);
}

static bool is_ipv4(const char *s, size_t len)
{
    int parts = 0;
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        unsigned v = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == start || v > 255)
            return false;
        parts++;
        if (i == len)
            break;
        if (s[i] != '.' || parts == 4 || i + 1 == len)
            return false;
        i++;
    }
    return parts == 4;
}

static bool is_ipv6(const char *s, size_t len)
{
    if (len < 2 || len > 45)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
              c == ':' || c == '.'))
            return false;
    }
    return true;
}

/* Kong's check_hostname: [A-Za-z0-9-._] labels, none ending with '-', no empty label but a
 * final one (a trailing dot). */
static bool hostname_ok(const char *s, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len) {
            unsigned char c = (unsigned char)s[i];
            if (!(is_alnum(c) || c == '-' || c == '_' || c == '.'))
                return false;
            if (c != '.')
                continue;
        }
        size_t n = i - start;
        if (n == 0 && i != len)
            return false;
        if (n > 63 || (n > 0 && s[i - 1] == '-'))
            return false;
        start = i + 1;
    }
    return true;
}

/* Kong's hostname_type: more than one colon is IPv6, digits and dots IPv4, else a name. */
static int host_kind(const char *s, size_t len, size_t *colons)
{
    bool digits = len > 0;
    *colons = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ':')
            (*colons)++;
        else if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
            digits = false;
    }
    if (*colons > 1)
        return 6;
    return digits ? 4 : 0;
}

int tr__schema3_host_kind(const char *s, size_t len)
{
    size_t colons;
    return host_kind(s, len, &colons);
}

/* host[:port] checked as Kong's normalize_ip does; *has_port set when a port was given. Returns
 * false with Kong's message. */
bool tr__schema3_host_port_ok(const char *h, char *msg, size_t msg_len, bool *has_port)
{
    size_t len = strlen(h), colons;
    int kind = host_kind(h, len, &colons);
    *has_port = false;
    if (kind == 6) {
        if (h[0] == '[') {
            const char *end = strchr(h, ']');
            if (end == NULL || !is_ipv6(h + 1, (size_t)(end - h - 1)))
                goto bad;
            if (end[1] == ':') {
                uint64_t p;
                if (tr_str_to_u64(tr_str_from_cstr(end + 2), 65535, &p) != 0)
                    goto port;
                *has_port = true;
            } else if (end[1] != '\0') {
                goto bad;
            }
            return true;
        }
        if (!is_ipv6(h, len))
            goto bad;
        return true;
    }
    const char *colon = strchr(h, ':');
    size_t name_len = colon ? (size_t)(colon - h) : len;
    if (colon != NULL) {
        uint64_t p;
        struct tr_str ps = tr_str_from_cstr(colon + 1);
        if (ps.len == 0 || tr_str_to_u64(ps, UINT64_MAX, &p) != 0)
            goto bad;
        if (p > 65535)
            goto port;
        *has_port = true;
    }
    if (kind == 4 || host_kind(h, name_len, &colons) == 4) {
        if (!is_ipv4(h, name_len))
            goto bad;
        return true;
    }
    if (!hostname_ok(h, name_len))
        goto bad;
    return true;
port:
    snprintf(msg, msg_len, "must not have a port");
    return false;
bad:
    snprintf(msg, msg_len, "invalid value: %s", h);
    return false;
}

bool tr_schema3_host_ok(const char *host, char *msg, size_t msg_len)
{
    bool has_port;
    if (!tr__schema3_host_port_ok(host, msg, msg_len, &has_port))
        return false;
    if (has_port) {
        snprintf(msg, msg_len, "must not have a port");
        return false;
    }
    return true;
}

static bool host_check(const char *v, size_t len, char *msg, size_t msg_len)
{
    (void)len;
    return tr_schema3_host_ok(v, msg, msg_len);
}

bool tr_schema3_route_host_ok(const char *host, char *msg, size_t msg_len)
{
    size_t len = strlen(host), stars = 0;
    for (size_t i = 0; i < len; i++)
        stars += host[i] == '*';
    if (stars > 1) {
        snprintf(msg, msg_len, "invalid wildcard: must have at most one wildcard");
        return false;
    }
    if (stars == 1) {
        bool left = len >= 2 && host[0] == '*' && host[1] == '.';
        bool right = len >= 2 && host[len - 1] == '*' && host[len - 2] == '.';
        /* A right wildcard may be followed by a port: "example.*:8000". */
        const char *star = strchr(host, '*');
        if (!right && star > host && star[-1] == '.' && star[1] == ':')
            right = true;
        if (!left && !right) {
            snprintf(msg, msg_len,
                     "invalid wildcard: must be placed at leftmost or rightmost label");
            return false;
        }
    }
    /* Checked as a name with the wildcard standing for a label. */
    char *mock = tr_xmalloc(len + 3);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (host[i] == '*') {
            memcpy(mock + o, "abc", 3);
            o += 3;
        } else {
            mock[o++] = host[i];
        }
    }
    mock[o] = '\0';
    bool has_port;
    bool ok = tr__schema3_host_port_ok(mock, msg, msg_len, &has_port);
    free(mock);
    if (!ok && strncmp(msg, "invalid value", 13) == 0)
        snprintf(msg, msg_len, "invalid hostname: %s", host);
    else if (!ok)
        snprintf(msg, msg_len, "invalid port number");
    return ok;
}

static bool route_host_check(const char *v, size_t len, char *msg, size_t msg_len)
{
    (void)len;
    return tr_schema3_route_host_ok(v, msg, msg_len);
}

bool tr__schema3_sni_check(const char *v, size_t len, char *msg, size_t msg_len)
{
    size_t colons;
    if (!tr_schema3_route_host_ok(v, msg, msg_len))
        return false;
    if (strchr(v, ':') != NULL) {
        snprintf(msg, msg_len, "must not have a port");
        return false;
    }
    if (host_kind(v, len, &colons) != 0) {
        snprintf(msg, msg_len, "must not be an IP");
        return false;
    }
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_unreserved(unsigned char c)
{
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* A path's percent escapes must be complete (Kong's validate_path "percent" error). */
static bool escapes_ok(const char *p, char *msg, size_t msg_len)
{
    for (size_t i = 0; p[i]; i++) {
        if (p[i] != '%')
            continue;
        if (hexval(p[i + 1]) >= 0 && p[i + 1] && hexval(p[i + 2]) >= 0) {
            i += 2;
            continue;
        }
        size_t n = p[i + 1] == '\0' ? 1 : (p[i + 2] == '\0' ? 2 : 3);
        snprintf(msg, msg_len, "invalid url-encoded value: '%.*s'", (int)n, p + i);
        return false;
    }
    return true;
}

/* Kong's normalize(path, true): escapes of unreserved bytes decoded, the others upper-cased,
 * dot segments resolved. Writes the normalized form into out (at least strlen(p) + 1). */
static void normalize_path(const char *p, char *out)
{
    size_t o = 0;
    for (size_t i = 0; p[i]; i++) {
        if (p[i] == '%' && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
            unsigned char c = (unsigned char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
            if (is_unreserved(c)) {
                out[o++] = (char)c;
            } else {
                out[o++] = '%';
                out[o++] = (char)(p[i + 1] >= 'a' ? p[i + 1] - 32 : p[i + 1]);
                out[o++] = (char)(p[i + 2] >= 'a' ? p[i + 2] - 32 : p[i + 2]);
            }
            i += 2;
        } else {
            out[o++] = p[i];
        }
    }
    out[o] = '\0';
    /* Remove dot segments (RFC 3986 5.2.4): a stack of segment starts over res. */
    char *res = tr_xmalloc(o + 2);
    size_t *starts = tr_xmalloc((o + 1) * sizeof(*starts));
    size_t r = 0, depth = 0, i = 1;
    bool trailing = false;
    while (i <= o) {
        size_t j = i;
        while (j < o && out[j] != '/')
            j++;
        size_t n = j - i;
        const char *seg = out + i;
        bool last = j >= o;
        if (n == 1 && seg[0] == '.') {
            trailing = last;
        } else if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            if (depth > 0)
                r = starts[--depth];
            trailing = last;
        } else {
            starts[depth++] = r;
            res[r++] = '/';
            memcpy(res + r, seg, n);
            r += n;
            trailing = false;
        }
        i = j + 1;
    }
    if (trailing || r == 0)
        res[r++] = '/';
    memcpy(out, res, r);
    out[r] = '\0';
    free(starts);
    free(res);
}

bool tr_schema3_router_path_ok(const char *p, char *msg, size_t msg_len)
{
    bool regex = p[0] == '~';
    if (!(p[0] == '/' || (regex && p[1] == '/'))) {
        snprintf(msg, msg_len, "should start with: / (fixed path) or ~/ (regex path)");
        return false;
    }
    if (strstr(p, "//") != NULL) {
        snprintf(msg, msg_len, "must not have empty segments");
        return false;
    }
    if (!escapes_ok(p, msg, msg_len))
        return false;
    if (!regex) {
        char *norm = tr_xmalloc(strlen(p) + 2);
        normalize_path(p, norm);
        bool same = strcmp(norm, p) == 0;
        if (!same)
            snprintf(msg, msg_len, "non-normalized path, consider use '%s' instead", norm);
        free(norm);
        return same;
    }
    int code;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)(p + 1), PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
    if (re == NULL) {
        char why[256];
        pcre2_get_error_message(code, (PCRE2_UCHAR *)why, sizeof(why));
        snprintf(msg, msg_len, "invalid regex: '%s' (PCRE returned: %s)", p + 1, why);
        return false;
    }
    pcre2_code_free(re);
    return true;
}

static bool router_path_check(const char *v, size_t len, char *msg, size_t msg_len)
{
    (void)len;
    return tr_schema3_router_path_ok(v, msg, msg_len);
}

/* A service path: typedefs.path (starts with '/', no empty segment, RFC 3986 characters,
 * complete escapes). */
bool tr__schema3_path_check(const char *p, size_t len, char *msg, size_t msg_len)
{
    if (p[0] != '/') {
        snprintf(msg, msg_len, "should start with: /");
        return false;
    }
    if (strstr(p, "//") != NULL) {
        snprintf(msg, msg_len, "must not have empty segments");
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (is_unreserved(c) || strchr("/%:@!$&'()*+,;=", c) != NULL)
            continue;
        snprintf(msg, msg_len,
                 "invalid path: '%s' (characters outside of the reserved list of RFC 3986 found)",
                 p);
        return false;
    }
    return escapes_ok(p, msg, msg_len);
}

static bool method_check(const char *v, size_t len, char *msg, size_t msg_len)
{
    for (size_t i = 0; i < len; i++) {
        if (v[i] < 'A' || v[i] > 'Z') {
            snprintf(msg, msg_len, "invalid value: %s", v);
            return false;
        }
    }
    return len > 0;
}

static bool uuid_check(const char *v, size_t len, char *msg, size_t msg_len)
{
    if (tr_uuid_is_valid((struct tr_str){v, len}))
        return true;
    snprintf(msg, msg_len, "expected a valid UUID");
    return false;
}

/* ---- tables ------------------------------------------------------------------------------ */

#define TIMEOUT(n)                                                                                 \
    {                                                                                              \
        .name = n, .type = F_INT, .dflt = "60000", .bounded = true, .min = 1, .max = 2147483646    \
    }

static const struct tr_schema3_field service_fields[] = {
    {.name = "id", .type = F_ID},
    {.name = "created_at", .type = F_TS},
    {.name = "updated_at", .type = F_TS},
    {.name = "name", .type = F_STRING, .check = name_ok},
    {.name = "retries", .type = F_INT, .dflt = "5", .bounded = true, .min = 0, .max = 32767},
    {.name = "protocol", .type = F_STRING, .required = true, .dflt = "\"http\""},
    {.name = "host", .type = F_STRING, .required = true, .check = host_check},
    {.name = "port",
     .type = F_INT,
     .required = true,
     .dflt = "80",
     .bounded = true,
     .min = 0,
     .max = 65535},
    {.name = "path", .type = F_STRING, .check = tr__schema3_path_check},
    TIMEOUT("connect_timeout"),
    TIMEOUT("write_timeout"),
    TIMEOUT("read_timeout"),
    {.name = "tags",
     .type = F_LIST,
     .check = tr__schema3_tag_check,
     .list_word = "set",
     .dedupe = true},
    {.name = "client_certificate", .type = F_FOREIGN},
    {.name = "tls_verify", .type = F_BOOL},
    {.name = "tls_verify_depth", .type = F_INT, .bounded = true, .min = 0, .max = 64},
    {.name = "ca_certificates", .type = F_LIST, .check = uuid_check, .list_word = "array"},
    {.name = "enabled", .type = F_BOOL, .required = true, .dflt = "true"},
};

static const int redirect_codes[] = {426, 301, 302, 307, 308, 0};

static const struct tr_schema3_field route_fields[] = {
    {.name = "id", .type = F_ID},
    {.name = "created_at", .type = F_TS},
    {.name = "updated_at", .type = F_TS},
    {.name = "name", .type = F_STRING, .check = name_ok},
    {.name = "protocols",
     .type = F_LIST,
     .required = true,
     .dflt = "[\"http\",\"https\"]",
     .list_word = "set",
     .dedupe = true},
    {.name = "https_redirect_status_code",
     .type = F_INT,
     .required = true,
     .dflt = "426",
     .int_one_of = redirect_codes,
     .int_one_of_msg = "expected one of: 426, 301, 302, 307, 308"},
    {.name = "strip_path", .type = F_BOOL, .required = true, .dflt = "true"},
    {.name = "preserve_host", .type = F_BOOL, .required = true, .dflt = "false"},
    {.name = "request_buffering", .type = F_BOOL, .required = true, .dflt = "true"},
    {.name = "response_buffering", .type = F_BOOL, .required = true, .dflt = "true"},
    {.name = "tags",
     .type = F_LIST,
     .check = tr__schema3_tag_check,
     .list_word = "set",
     .dedupe = true},
    {.name = "service", .type = F_FOREIGN},
    {.name = "snis",
     .type = F_LIST,
     .check = tr__schema3_sni_check,
     .list_word = "set",
     .dedupe = true},
    {.name = "sources", .type = F_LIST, .list_word = "set"},
    {.name = "destinations", .type = F_LIST, .list_word = "set"},
    {.name = "methods", .type = F_LIST, .check = method_check, .list_word = "set", .dedupe = true},
    {.name = "hosts", .type = F_LIST, .check = route_host_check, .list_word = "array"},
    {.name = "paths", .type = F_LIST, .check = router_path_check, .list_word = "array"},
    {.name = "headers", .type = F_HEADERS},
    /* Kong 3.9 gives these two a default but does not require them: an explicit null is
     * stored as null, and the router reads it as 0 and v0 (Kong #4254). */
    {.name = "regex_priority", .type = F_INT, .dflt = "0"},
    {.name = "path_handling", .type = F_STRING, .dflt = "\"v0\""},
};

/* ---- errors ------------------------------------------------------------------------------ */

void tr__schema3_err_field(json_t *errs, const char *f, const char *msg)
{
    if (json_object_get(errs, f) == NULL)
        json_object_set_new(errs, f, json_string(msg));
}

/* An error about item i of a list: fields.f becomes an array with the message at i. */
void tr__schema3_err_item(json_t *errs, const char *f, size_t i, const char *msg)
{
    json_t *arr = json_object_get(errs, f);
    if (arr == NULL) {
        arr = json_array();
        json_object_set_new(errs, f, arr);
    }
    if (!json_is_array(arr))
        return;
    while (json_array_size(arr) <= i)
        json_array_append_new(arr, json_null());
    if (json_is_null(json_array_get(arr, i)))
        json_array_set_new(arr, i, json_string(msg));
}

void tr__schema3_err_sub(json_t *errs, const char *f, const char *sub, const char *msg)
{
    json_t *obj = json_object_get(errs, f);
    if (obj == NULL) {
        obj = json_object();
        json_object_set_new(errs, f, obj);
    }
    if (json_is_object(obj) && json_object_get(obj, sub) == NULL)
        json_object_set_new(obj, sub, json_string(msg));
}

void tr__schema3_err_entity(json_t *errs, const char *msg)
{
    json_t *arr = json_object_get(errs, "@entity");
    if (arr == NULL) {
        arr = json_array();
        json_object_set_new(errs, "@entity", arr);
    }
    json_array_append_new(arr, json_string(msg));
}

/* ---- coercion ---------------------------------------------------------------------------- */

bool tr__schema3_parse_int(const json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != (double)(long long)d)
            return false;
        *out = (long long)d;
        return true;
    }
    if (json_is_string(v)) {
        struct tr_str s = tr_str_trim(tr_str_from_cstr(json_string_value(v)));
        bool neg = s.len > 0 && s.ptr[0] == '-';
        uint64_t u;
        if (neg) {
            s.ptr++;
            s.len--;
        }
        if (tr_str_to_u64(s, (uint64_t)1 << 53, &u) != 0)
            return false;
        *out = neg ? -(long long)u : (long long)u;
        return true;
    }
    return false;
}

json_t *tr__schema3_split_list(const char *s)
{
    json_t *arr = json_array();
    struct tr_str rest = tr_str_from_cstr(s), item;
    while (tr_str_next_item(&rest, ',', &item)) {
        item = tr_str_trim(item);
        if (item.len)
            json_array_append_new(arr, json_stringn(item.ptr, item.len));
    }
    return arr;
}

/* A list value from input: an array of strings, or a string split on commas (forms). Returns
 * a new array, or NULL after recording the error. */
static json_t *coerce_list(const struct tr_schema3_field *f, const json_t *v, json_t *errs)
{
    char msg[MSG_LEN];
    json_t *arr = NULL;
    if (json_is_string(v)) {
        arr = tr__schema3_split_list(json_string_value(v));
    } else if (json_is_array(v)) {
        arr = json_array();
        size_t i;
        json_t *it;
        json_array_foreach(v, i, it)
        {
            if (!json_is_string(it)) {
                tr__schema3_err_item(errs, f->name, i, "expected a string");
                continue;
            }
            json_array_append(arr, it);
        }
        if (json_object_get(errs, f->name) != NULL) {
            json_decref(arr);
            return NULL;
        }
    } else {
        snprintf(msg, sizeof(msg), "expected %s %s", f->list_word[0] == 'a' ? "an" : "a",
                 f->list_word);
        tr__schema3_err_field(errs, f->name, msg);
        json_decref(arr);
        return NULL;
    }
    if (json_array_size(arr) > TR_SCHEMA3_MAX_ITEMS) {
        snprintf(msg, sizeof(msg), "length must be at most %d", TR_SCHEMA3_MAX_ITEMS);
        tr__schema3_err_field(errs, f->name, msg);
        json_decref(arr);
        return NULL;
    }
    if (f->dedupe) {
        for (size_t i = 0; i < json_array_size(arr); i++) {
            for (size_t j = 0; j < i; j++) {
                if (json_equal(json_array_get(arr, i), json_array_get(arr, j))) {
                    json_array_remove(arr, i--);
                    break;
                }
            }
        }
    }
    bool bad = false;
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it)
    {
        const char *s = json_string_value(it);
        size_t len = json_string_length(it);
        if (memchr(s, '\0', len) != NULL || strpbrk(s, "\r\n") != NULL) {
            tr__schema3_err_item(errs, f->name, i, "must not contain control characters");
            bad = true;
        } else if (f->check != NULL && !f->check(s, len, msg, sizeof(msg))) {
            tr__schema3_err_item(errs, f->name, i, msg);
            bad = true;
        }
    }
    if (bad) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

/* typedefs.header_name; a route's headers also refuse 'host'. */
static bool header_name_ok(const char *k, bool route, char *msg, size_t msg_len)
{
    size_t n = strlen(k);
    if (route && n == 4 && tr_ascii_lower(k[0]) == 'h' && tr_ascii_lower(k[1]) == 'o' &&
        tr_ascii_lower(k[2]) == 's' && tr_ascii_lower(k[3]) == 't') {
        snprintf(msg, msg_len,
                 "cannot contain 'host' header, which must be specified in the 'hosts' attribute");
        return false;
    }
    return tr_schema_header_name_ok(k, n, msg, msg_len) && n > 0;
}

static json_t *coerce_headers(const char *field, const json_t *v, json_t *errs, bool route)
{
    char msg[MSG_LEN];
    if (!json_is_object(v)) {
        tr__schema3_err_field(errs, field, "expected a map");
        return NULL;
    }
    if (json_object_size(v) > TR_SCHEMA3_MAX_ITEMS) {
        snprintf(msg, sizeof(msg), "length must be at most %d", TR_SCHEMA3_MAX_ITEMS);
        tr__schema3_err_field(errs, field, msg);
        return NULL;
    }
    json_t *out = json_object();
    bool bad = false;
    const char *k;
    json_t *vals;
    json_object_foreach((json_t *)v, k, vals)
    {
        if (!header_name_ok(k, route, msg, sizeof(msg))) {
            tr__schema3_err_sub(errs, field, k, msg);
            bad = true;
            continue;
        }
        json_t *arr = NULL;
        if (json_is_string(vals)) {
            arr = tr__schema3_split_list(json_string_value(vals));
        } else if (json_is_array(vals)) {
            arr = json_array();
            size_t i;
            json_t *it;
            json_array_foreach(vals, i, it)
            {
                const char *s = json_string_value(it);
                if (s == NULL || strpbrk(s, "\r\n") != NULL ||
                    memchr(s, '\0', json_string_length(it)) != NULL) {
                    tr__schema3_err_sub(errs, field, k, "expected an array of strings");
                    bad = true;
                    break;
                }
                json_array_append(arr, it);
            }
        } else {
            arr = json_array();
            tr__schema3_err_sub(errs, field, k, "expected an array");
            bad = true;
        }
        if (json_array_size(arr) > TR_SCHEMA3_MAX_HEADER_VALUES) {
            snprintf(msg, sizeof(msg), "length must be at most %d", TR_SCHEMA3_MAX_HEADER_VALUES);
            tr__schema3_err_sub(errs, field, k, msg);
            bad = true;
        }
        /* Header names are case-insensitive: a route keeps one spelling. */
        char *lower = tr_xstrdup(k);
        for (char *p = lower; route && *p; p++)
            *p = tr_ascii_lower(*p);
        json_object_set_new(out, lower, arr);
        free(lower);
    }
    if (bad) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *tr__schema3_coerce_header_map(const char *field, const json_t *v, json_t *errs)
{
    return coerce_headers(field, v, errs, false);
}

/* One input value for f: a new value for rec, json_null() for "unset", or NULL after
 * recording an error. */
static json_t *coerce(const struct tr_schema3_field *f, const json_t *v, json_t *errs)
{
    char msg[MSG_LEN];
    long long n;
    if (json_is_null(v))
        return json_null();
    switch (f->type) {
    case F_ID:
        if (json_is_string(v) &&
            uuid_check(json_string_value(v), json_string_length(v), msg, sizeof(msg))) {
            char id[TR_UUID_LEN + 1];
            for (size_t i = 0; i < TR_UUID_LEN; i++)
                id[i] = tr_ascii_lower(json_string_value(v)[i]);
            id[TR_UUID_LEN] = '\0';
            return json_string(id);
        }
        tr__schema3_err_field(errs, f->name, "expected a valid UUID");
        return NULL;
    case F_TS:
        if (tr__schema3_parse_int(v, &n) && n >= 0)
            return json_integer(n);
        tr__schema3_err_field(errs, f->name, "expected an integer");
        return NULL;
    case F_STRING: {
        if (!json_is_string(v)) {
            tr__schema3_err_field(errs, f->name, "expected a string");
            return NULL;
        }
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (len == 0)
            return json_null();
        for (size_t i = 0; i < len; i++) {
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
                tr__schema3_err_field(errs, f->name, "must not contain control characters");
                return NULL;
            }
        }
        if (f->check != NULL && !f->check(s, len, msg, sizeof(msg))) {
            tr__schema3_err_field(errs, f->name, msg);
            return NULL;
        }
        if (f->str_one_of != NULL) {
            bool found = false;
            for (const char *const *o = f->str_one_of; *o; o++)
                found = found || strcmp(*o, s) == 0;
            if (!found) {
                tr__schema3_err_field(errs, f->name, f->str_one_of_msg);
                return NULL;
            }
        }
        return json_incref((json_t *)v);
    }
    case F_INT:
        if (json_is_string(v) && json_string_length(v) == 0)
            return json_null();
        if (!tr__schema3_parse_int(v, &n)) {
            tr__schema3_err_field(errs, f->name, "expected an integer");
            return NULL;
        }
        if (f->bounded && (n < f->min || n > f->max)) {
            snprintf(msg, sizeof(msg), "value should be between %lld and %lld", f->min, f->max);
            tr__schema3_err_field(errs, f->name, msg);
            return NULL;
        }
        if (f->int_one_of != NULL) {
            bool found = false;
            for (const int *c = f->int_one_of; *c; c++)
                found = found || *c == n;
            if (!found) {
                tr__schema3_err_field(errs, f->name, f->int_one_of_msg);
                return NULL;
            }
        }
        return json_integer(n);
    case F_BOOL:
        if (json_is_boolean(v))
            return json_incref((json_t *)v);
        if (json_is_string(v)) {
            const char *s = json_string_value(v);
            if (s[0] == '\0')
                return json_null();
            if (strcmp(s, "true") == 0)
                return json_true();
            if (strcmp(s, "false") == 0)
                return json_false();
        }
        tr__schema3_err_field(errs, f->name, "expected a boolean");
        return NULL;
    case F_LIST:
        if (json_is_string(v) && json_string_length(v) == 0)
            return json_null(); /* an empty form field */
        return coerce_list(f, v, errs);
    case F_FOREIGN: {
        if (!json_is_object(v)) {
            if (json_is_string(v) && json_string_length(v) == 0)
                return json_null();
            tr__schema3_err_field(errs, f->name, "expected a record");
            return NULL;
        }
        const json_t *id = json_object_get(v, "id");
        if (id == NULL || json_is_null(id) || (json_is_string(id) && json_string_length(id) == 0)) {
            tr__schema3_err_sub(errs, f->name, "id", "missing primary key");
            return NULL;
        }
        if (!json_is_string(id) ||
            !uuid_check(json_string_value(id), json_string_length(id), msg, sizeof(msg))) {
            tr__schema3_err_sub(errs, f->name, "id", "expected a valid UUID");
            return NULL;
        }
        char lower[TR_UUID_LEN + 1];
        for (size_t i = 0; i < TR_UUID_LEN; i++)
            lower[i] = tr_ascii_lower(json_string_value(id)[i]);
        lower[TR_UUID_LEN] = '\0';
        return json_pack("{s:s}", "id", lower);
    }
    case F_HEADERS:
        return coerce_headers("headers", v, errs, true);
    case F_CUSTOM:
        return NULL; /* validate() calls the row's function */
    }
    return NULL;
}

/* A timestamp given in seconds (maybe with a fraction), kept in milliseconds. */
static json_t *coerce_ms(const struct tr_schema3_field *f, const json_t *v, json_t *errs)
{
    double d;
    if (json_is_number(v)) {
        d = json_number_value(v);
    } else if (json_is_string(v) && json_string_length(v) > 0) {
        char *end = NULL;
        d = strtod(json_string_value(v), &end);
        if (end == NULL || *end != '\0')
            d = -1;
    } else {
        d = -1;
    }
    if (!(d >= 0 && d < 1e13)) {
        tr__schema3_err_field(errs, f->name, "expected a number");
        return NULL;
    }
    return json_integer((json_int_t)(d * 1000.0 + 0.5));
}

/* ---- the validator ----------------------------------------------------------------------- */

static const struct tr_schema3_field *find_field(const struct tr_schema3_kind *k, const char *name)
{
    for (size_t i = 0; i < k->cnt; i++) {
        if (strcmp(k->fields[i].name, name) == 0)
            return &k->fields[i];
    }
    return NULL;
}

/* Stored shape -> working shape: "<f>_id" back into {"id": ...} for foreign fields. */
static json_t *from_stored(const struct tr_schema3_kind *k, const json_t *doc)
{
    json_t *rec = json_deep_copy(doc);
    for (size_t i = 0; i < k->cnt; i++) {
        const struct tr_schema3_field *f = &k->fields[i];
        if (f->type != F_FOREIGN)
            continue;
        char col[64];
        snprintf(col, sizeof(col), "%s_id", f->name);
        json_t *id = json_object_get(rec, col);
        json_object_set_new(rec, f->name,
                            json_is_string(id) ? json_pack("{s:O}", "id", id) : json_null());
        json_object_del(rec, col);
    }
    return rec;
}

/* Working shape -> stored shape, in table order, every field present. */
static json_t *to_stored(const struct tr_schema3_kind *k, const json_t *rec)
{
    json_t *doc = json_object();
    for (size_t i = 0; i < k->cnt; i++) {
        const struct tr_schema3_field *f = &k->fields[i];
        json_t *v = json_object_get(rec, f->name);
        if (f->type == F_FOREIGN) {
            char col[64];
            snprintf(col, sizeof(col), "%s_id", f->name);
            json_t *id = json_object_get(v, "id");
            json_object_set_new(doc, col, json_is_string(id) ? json_incref(id) : json_null());
            continue;
        }
        json_object_set_new(doc, f->name, v ? json_incref(v) : json_null());
    }
    return doc;
}

int tr__schema3_validate(const struct tr_schema3_kind *k, enum tr_schema_mode mode,
                         const json_t *input, const json_t *existing, long long now, json_t **out,
                         json_t **fields)
{
    json_t *errs = json_object();
    json_t *rec;
    *out = NULL;
    *fields = NULL;
    if (!json_is_object(input)) {
        tr__schema3_err_entity(errs, "expected a record");
        *fields = errs;
        return TR_EINVAL;
    }
    json_t *prepared = k->prepare ? k->prepare(input) : NULL;
    if (prepared != NULL)
        input = prepared;
    if (mode == TR_SCHEMA_UPDATE && existing != NULL) {
        rec = from_stored(k, existing);
    } else {
        rec = json_object();
        if (existing != NULL) {
            json_object_set(rec, "id", json_object_get(existing, "id"));
            json_object_set(rec, "created_at", json_object_get(existing, "created_at"));
        }
    }

    const char *key;
    json_t *v;
    json_object_foreach((json_t *)input, key, v)
    {
        if (find_field(k, key) == NULL && !(k->shorthand && strcmp(key, k->shorthand) == 0))
            tr__schema3_err_field(errs, key, "unknown field");
    }
    /* The shorthand first, so the fields it expands to can be checked like the others. */
    json_t *expanded = NULL;
    const json_t *sh = k->shorthand ? json_object_get(input, k->shorthand) : NULL;
    if (sh != NULL && !json_is_null(sh)) {
        if (!json_is_string(sh)) {
            tr__schema3_err_field(errs, k->shorthand, "expected a string");
        } else {
            expanded = json_object();
            tr_schema3_expand_url(json_string_value(sh), expanded);
        }
    }

    for (size_t i = 0; i < k->cnt; i++) {
        const struct tr_schema3_field *f = &k->fields[i];
        const json_t *in = expanded ? json_object_get(expanded, f->name) : NULL;
        if (in == NULL)
            in = json_object_get(input, f->name);
        if (in == NULL)
            continue;
        if ((f->type == F_ID || f->type == F_TS) && json_object_get(rec, f->name) != NULL &&
            !json_is_null(json_object_get(rec, f->name))) {
            /* id and created_at stay those of the stored entity. */
            continue;
        }
        json_t *c;
        if (f->type == F_CUSTOM)
            c = f->custom(f->name, in, json_object_get(rec, f->name), errs);
        else if (f->type == F_TS && k->ts_ms)
            c = coerce_ms(f, in, errs);
        else
            c = coerce(f, in, errs);
        if (c != NULL)
            json_object_set_new(rec, f->name, c);
        else
            json_object_del(rec, f->name);
    }
    json_decref(expanded);

    /* Defaults, generated values, required fields. */
    for (size_t i = 0; i < k->cnt; i++) {
        const struct tr_schema3_field *f = &k->fields[i];
        json_t *cur = json_object_get(rec, f->name);
        if (json_object_get(errs, f->name) != NULL)
            continue;
        if (f->type == F_ID && (cur == NULL || json_is_null(cur))) {
            char id[TR_UUID_LEN + 1];
            if (tr_uuid_v4(id) == 0)
                json_object_set_new(rec, f->name, json_string(id));
            continue;
        }
        if (f->type == F_TS) {
            if (strcmp(f->name, "updated_at") == 0 || cur == NULL || json_is_null(cur))
                json_object_set_new(rec, f->name, json_integer(now));
            continue;
        }
        if (f->type == F_CUSTOM && (cur == NULL || json_is_null(cur))) {
            json_t *c = f->custom(f->name, NULL, NULL, errs);
            if (c != NULL)
                json_object_set_new(rec, f->name, c);
            continue;
        }
        if (cur == NULL) {
            if (f->dflt != NULL)
                json_object_set_new(rec, f->name, json_loads(f->dflt, JSON_DECODE_ANY, NULL));
            else
                json_object_set_new(rec, f->name, json_null());
            cur = json_object_get(rec, f->name);
        }
        if (f->required && json_is_null(cur))
            tr__schema3_err_field(errs, f->name, "required field missing");
    }

    k->entity_checks(rec, input, errs);
    json_decref(prepared);

    if (json_object_size(errs) > 0) {
        json_decref(rec);
        *fields = errs;
        return TR_EINVAL;
    }
    json_decref(errs);
    *out = to_stored(k, rec);
    json_decref(rec);
    return 0;
}

bool tr_schema3_expand_url(const char *url, json_t *rec)
{
    const char *sep = strstr(url, "://");
    if (sep == NULL) {
        /* No scheme: what socket.url makes of it is a path alone. */
        json_object_set_new(rec, "protocol", json_string("http"));
        json_object_set_new(rec, "host", json_null());
        json_object_set_new(rec, "port", json_integer(80));
        json_object_set_new(rec, "path", url[0] ? json_string(url) : json_null());
        return false;
    }
    char *scheme = tr_xmalloc((size_t)(sep - url) + 1);
    memcpy(scheme, url, (size_t)(sep - url));
    scheme[sep - url] = '\0';
    for (char *p = scheme; *p; p++)
        *p = tr_ascii_lower(*p);
    const char *h = sep + 3;
    const char *path = h + strcspn(h, "/?#");
    const char *hend = path;
    const char *colon = NULL;
    if (h[0] == '[') {
        const char *rb = memchr(h, ']', (size_t)(hend - h));
        if (rb != NULL && rb + 1 < hend && rb[1] == ':')
            colon = rb + 1;
    } else {
        colon = memchr(h, ':', (size_t)(hend - h));
    }
    const char *host_end = colon ? colon : hend;
    const char *hs = h, *he = host_end;
    if (hs < he && *hs == '[' && he[-1] == ']') {
        hs++;
        he--;
    }
    json_object_set_new(rec, "protocol", json_string(scheme));
    json_object_set_new(rec, "host", he > hs ? json_stringn(hs, (size_t)(he - hs)) : json_null());
    long long port = strcmp(scheme, "https") == 0 ? 443 : 80;
    json_t *pv = NULL;
    if (colon != NULL) {
        uint64_t p;
        struct tr_str ps = {colon + 1, (size_t)(hend - colon - 1)};
        if (tr_str_to_u64(ps, UINT64_MAX, &p) == 0)
            pv = json_integer((json_int_t)(p > 0x7fffffff ? 0x7fffffff : p));
        else
            pv = json_stringn(ps.ptr, ps.len);
    }
    json_object_set_new(rec, "port", pv ? pv : json_integer(port));
    size_t plen = strcspn(path, "?#");
    json_object_set_new(rec, "path", plen ? json_stringn(path, plen) : json_null());
    free(scheme);
    return he > hs;
}

/* ---- entity rules ------------------------------------------------------------------------ */

static bool is_set(const json_t *rec, const char *f)
{
    const json_t *v = json_object_get(rec, f);
    if (v == NULL || json_is_null(v))
        return false;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    return true;
}

static bool one_of(const char *v, const char *const *list)
{
    for (; *list; list++) {
        if (strcmp(*list, v) == 0)
            return true;
    }
    return false;
}

static void unsupported_protocol(json_t *errs, const char *field, const char *p, bool item,
                                 size_t i)
{
    char msg[MSG_LEN];
    snprintf(msg, sizeof(msg),
             "protocol '%s' is not supported yet: torii proxies only http and https for now", p);
    if (item)
        tr__schema3_err_item(errs, field, i, msg);
    else
        tr__schema3_err_field(errs, field, msg);
}

static void service_checks(json_t *rec, const json_t *input, json_t *errs)
{
    (void)input;
    const char *proto = json_string_value(json_object_get(rec, "protocol"));
    if (proto == NULL || json_object_get(errs, "protocol") != NULL)
        return;
    if (!one_of(proto, kong_protocols)) {
        tr__schema3_err_field(errs, "protocol", kong_protocols_msg);
        return;
    }
    if (strcmp(proto, "http") != 0 && strcmp(proto, "https") != 0) {
        unsupported_protocol(errs, "protocol", proto, false, 0);
        return;
    }
    if (strcmp(proto, "https") != 0) {
        static const char *const tls_only[] = {"client_certificate", "tls_verify",
                                               "tls_verify_depth", "ca_certificates", NULL};
        for (const char *const *f = tls_only; *f; f++) {
            if (is_set(rec, *f)) {
                tr__schema3_err_field(errs, *f, "value must be null");
                tr__schema3_err_entity(
                    errs, "failed conditional validation given value of field 'protocol'");
            }
        }
    }
}

static void route_checks(json_t *rec, const json_t *input, json_t *errs)
{
    (void)input;
    const json_t *protos = json_object_get(rec, "protocols");
    if (json_object_get(errs, "protocols") != NULL || !json_is_array(protos))
        return;
    if (json_array_size(protos) == 0) {
        tr__schema3_err_field(errs, "protocols", "length must be at least 1");
        return;
    }
    bool https = false, bad = false;
    size_t i;
    json_t *p;
    json_array_foreach(protos, i, p)
    {
        const char *s = json_string_value(p);
        if (!one_of(s, kong_protocols)) {
            tr__schema3_err_item(errs, "protocols", i, kong_protocols_msg);
            bad = true;
        } else if (strcmp(s, "http") != 0 && strcmp(s, "https") != 0) {
            unsupported_protocol(errs, "protocols", s, true, i);
            bad = true;
        }
        https = https || strcmp(s, "https") == 0;
    }
    if (bad)
        return;
    if (is_set(rec, "sources"))
        tr__schema3_err_field(errs, "sources",
                              "cannot set 'sources' when 'protocols' is 'http' or 'https'");
    if (is_set(rec, "destinations"))
        tr__schema3_err_field(errs, "destinations",
                              "cannot set 'destinations' when 'protocols' is 'http' or 'https'");
    if (!https && is_set(rec, "snis")) {
        tr__schema3_err_entity(
            errs, "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or "
                  "'tls_passthrough'");
        tr__schema3_err_field(errs, "snis", "length must be 0");
    }
    /* As Kong runs an entity check only when none of its fields failed on its own. */
    static const char *const matchers[] = {"methods", "hosts", "headers", "paths", "snis", NULL};
    for (const char *const *f = matchers; *f; f++) {
        if (json_object_get(errs, *f) != NULL)
            return;
    }
    bool any = is_set(rec, "methods") || is_set(rec, "hosts") || is_set(rec, "headers") ||
               is_set(rec, "paths");
    if (https && !any && !is_set(rec, "snis"))
        tr__schema3_err_entity(
            errs, "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when "
                  "'protocols' is 'https'");
    else if (!https && !any)
        tr__schema3_err_entity(
            errs, "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is "
                  "'http'");
    const char *ph = json_string_value(json_object_get(rec, "path_handling"));
    if (ph != NULL && strcmp(ph, "v0") != 0 && strcmp(ph, "v1") != 0)
        tr__schema3_err_field(errs, "path_handling", "expected one of: v0, v1");
}

static const struct tr_schema3_kind services_kind = {
    .fields = service_fields,
    .cnt = TR_ARRAY_SIZE(service_fields),
    .shorthand = "url",
    .entity_checks = service_checks,
};

static const struct tr_schema3_kind routes_kind = {
    .fields = route_fields,
    .cnt = TR_ARRAY_SIZE(route_fields),
    .entity_checks = route_checks,
};

int tr_schema3_service(enum tr_schema_mode mode, const json_t *input, const json_t *existing,
                       long long now, json_t **out, json_t **fields)
{
    return tr__schema3_validate(&services_kind, mode, input, existing, now, out, fields);
}

int tr_schema3_route(enum tr_schema_mode mode, const json_t *input, const json_t *existing,
                     long long now, json_t **out, json_t **fields)
{
    return tr__schema3_validate(&routes_kind, mode, input, existing, now, out, fields);
}
