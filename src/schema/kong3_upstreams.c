/* SPDX-License-Identifier: MIT */
/* Kong 3.x upstreams and targets (kong/db/schema/entities/{upstreams,targets}.lua and the
 * target normalisation of kong/db/dao/targets.lua): the field rows, the healthchecks record
 * with its defaults and ranges, the hash_on / algorithm shorthands, the entity checks and
 * Kong's normalize_ip / format_host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/str.h"
#include "schema/kong3.h"
#include "schema/kong3_fields.h"

#define MSG_LEN TR_SCHEMA3_MSG_LEN
#define TARGET_DEFAULT_PORT 8000

/* ---- normalize_ip (kong/tools/ip.lua) ----------------------------------------------------- */

enum ip_type { IP_NAME, IP_V4, IP_V6 };

struct ip_parts {
    enum ip_type type;
    char host[320]; /* normalised: IPv4 without leading zeros, IPv6 expanded (no brackets) */
    long port;      /* -1 when absent */
};

static bool all_digits(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

/* A decimal port: false with "invalid port number" past 65535 (Kong reads any digits). */
static bool parse_port(const char *s, size_t len, long *port, char *msg, size_t msg_len)
{
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        v = v * 10 + (s[i] - '0');
        if (v > 65535) {
            snprintf(msg, msg_len, "invalid port number");
            return false;
        }
    }
    *port = v;
    return true;
}

static bool normalize_v4(const char *a, struct ip_parts *p, char *msg, size_t msg_len)
{
    unsigned v[4];
    size_t i = 0, len = strlen(a);
    for (int k = 0; k < 4; k++) {
        size_t start = i;
        v[k] = 0;
        while (i < len && a[i] >= '0' && a[i] <= '9' && i - start < 3)
            v[k] = v[k] * 10 + (unsigned)(a[i++] - '0');
        if (i == start || v[k] > 255)
            goto bad;
        if (k < 3) {
            if (i >= len || a[i] != '.')
                goto bad;
            i++;
        }
    }
    p->port = -1;
    if (i < len) {
        if (a[i] != ':' || !all_digits(a + i + 1, len - i - 1))
            goto bad;
        if (!parse_port(a + i + 1, len - i - 1, &p->port, msg, msg_len))
            return false;
    }
    snprintf(p->host, sizeof(p->host), "%u.%u.%u.%u", v[0], v[1], v[2], v[3]);
    return true;
bad:
    snprintf(msg, msg_len, "invalid ipv4 address: %s", a);
    return false;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool normalize_v6(const char *a, struct ip_parts *p, char *msg, size_t msg_len)
{
    size_t len = strlen(a);
    char check[128];
    p->port = -1;
    if (a[0] == '[') {
        const char *rb = strchr(a, ']');
        if (rb == NULL) {
            /* Kong's %b[] does not match: the whole string is read as an address. */
            if (len >= sizeof(check) - 4)
                goto bad;
            memcpy(check + 1, a, len + 1);
        } else {
            size_t n = (size_t)(rb - a - 1);
            if (n >= sizeof(check) - 4)
                goto bad;
            memcpy(check + 1, a + 1, n);
            check[n + 1] = '\0';
            const char *rest = rb + 1;
            if (*rest != '\0') {
                if (rest[0] != ':' ||
                    (rest[1] != '\0' && !all_digits(rest + 1, strlen(rest + 1)))) {
                    snprintf(msg, msg_len, "invalid ipv6 address");
                    return false;
                }
                /* "[::1]:" reads as an empty port: tonumber("") is nil, so no port. */
                if (rest[1] != '\0' &&
                    !parse_port(rest + 1, strlen(rest + 1), &p->port, msg, msg_len))
                    return false;
            }
        }
    } else {
        if (len >= sizeof(check) - 4)
            goto bad;
        memcpy(check + 1, a, len + 1);
    }
    char *c = check + 1;
    /* Leading and trailing ':' get a 0; "::" expands to the missing groups. */
    if (c[0] == ':') {
        c--;
        c[0] = '0';
    }
    size_t clen = strlen(c);
    if (clen > 0 && c[clen - 1] == ':') {
        c[clen++] = '0';
        c[clen] = '\0';
    }
    char expanded[160];
    const char *dbl = strstr(c, "::");
    if (dbl != NULL) {
        size_t colons = 0;
        for (const char *q = c; *q; q++)
            colons += *q == ':';
        if (colons > 8)
            goto bad;
        size_t o = 0, pre = (size_t)(dbl - c);
        memcpy(expanded, c, pre);
        o = pre;
        expanded[o++] = ':';
        for (size_t k = 0; k < 8 - colons; k++) {
            expanded[o++] = '0';
            expanded[o++] = ':';
        }
        size_t post = strlen(dbl + 2);
        if (o + post + 1 > sizeof(expanded))
            goto bad;
        memcpy(expanded + o, dbl + 2, post + 1);
    } else {
        if (strlen(c) + 1 > sizeof(expanded))
            goto bad;
        memcpy(expanded, c, strlen(c) + 1);
    }
    /* Eight groups of one to four hex digits. */
    char groups[8][5];
    const char *q = expanded;
    for (int g = 0; g < 8; g++) {
        size_t n = 0;
        while (is_hex(q[n]) && n < 5)
            n++;
        if (n == 0 || n > 4)
            goto bad;
        memset(groups[g], '0', 4);
        for (size_t k = 0; k < n; k++)
            groups[g][4 - n + k] = tr_ascii_lower(q[k]);
        groups[g][4] = '\0';
        q += n;
        if (g < 7) {
            if (*q != ':')
                goto bad;
            q++;
        }
    }
    if (*q != '\0')
        goto bad;
    snprintf(p->host, sizeof(p->host), "%s:%s:%s:%s:%s:%s:%s:%s", groups[0], groups[1], groups[2],
             groups[3], groups[4], groups[5], groups[6], groups[7]);
    return true;
bad:
    snprintf(msg, msg_len, "invalid ipv6 address: %s", a);
    return false;
}

/* Kong's check_hostname: [A-Za-z0-9-._] with an optional :port, no label ending with '-', no
 * empty label but a last one. The name is kept as written. */
static bool check_hostname(const char *a, struct ip_parts *p, char *msg, size_t msg_len)
{
    size_t len = strlen(a), name_len = len;
    p->port = -1;
    const char *colon = strrchr(a, ':');
    if (colon != NULL && all_digits(colon + 1, strlen(colon + 1))) {
        name_len = (size_t)(colon - a);
        if (!parse_port(colon + 1, strlen(colon + 1), &p->port, msg, msg_len))
            return false;
    }
    if (name_len == 0 || name_len >= sizeof(p->host))
        goto bad;
    for (size_t i = 0; i < name_len; i++) {
        char ch = a[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '.' || ch == '_'))
            goto bad;
    }
    size_t start = 0;
    for (size_t i = 0; i <= name_len; i++) {
        if (i < name_len && a[i] != '.')
            continue;
        bool last = i == name_len;
        if (i == start && !last)
            goto bad; /* an empty label before the last */
        if (i > start && a[i - 1] == '-')
            goto bad;
        start = i + 1;
    }
    memcpy(p->host, a, name_len);
    p->host[name_len] = '\0';
    return true;
bad:
    snprintf(msg, msg_len, "invalid hostname: %s", a);
    return false;
}

static bool normalize_ip(const char *a, struct ip_parts *p, char *msg, size_t msg_len)
{
    switch (tr__schema3_host_kind(a, strlen(a))) {
    case 6:
        p->type = IP_V6;
        return normalize_v6(a, p, msg, msg_len);
    case 4:
        p->type = IP_V4;
        return normalize_v4(a, p, msg, msg_len);
    default:
        p->type = IP_NAME;
        return check_hostname(a, p, msg, msg_len);
    }
}

bool tr_schema3_target_normalize(const char *target, char *out, size_t out_len)
{
    struct ip_parts p;
    char msg[MSG_LEN];
    if (!normalize_ip(target, &p, msg, sizeof(msg)))
        return false;
    long port = p.port >= 0 ? p.port : TARGET_DEFAULT_PORT;
    int n = p.type == IP_V6 ? snprintf(out, out_len, "[%s]:%ld", p.host, port)
                            : snprintf(out, out_len, "%s:%ld", p.host, port);
    return n > 0 && (size_t)n < out_len;
}

bool tr_schema3_upstream_name_ok(const char *name, char *msg, size_t msg_len)
{
    struct ip_parts p;
    char why[MSG_LEN];
    const char *fail = NULL;
    if (!normalize_ip(name, &p, why, sizeof(why)))
        fail = "must be a valid hostname";
    else if (p.type != IP_NAME)
        fail = "no ip addresses allowed";
    else if (p.port >= 0)
        fail = "no port allowed";
    if (fail == NULL)
        return true;
    snprintf(msg, msg_len, "Invalid name ('%s'); %s", name, fail);
    return false;
}

static bool name_check(const char *v, size_t len, char *msg, size_t msg_len)
{
    (void)len;
    return tr_schema3_upstream_name_ok(v, msg, msg_len);
}

/* typedefs.host_with_optional_port: normalize_ip's own message. */
static bool host_optional_port_check(const char *v, size_t len, char *msg, size_t msg_len)
{
    (void)len;
    struct ip_parts p;
    return normalize_ip(v, &p, msg, msg_len);
}

static bool target_check(const char *v, size_t len, char *msg, size_t msg_len)
{
    (void)len;
    char out[400];
    if (tr_schema3_target_normalize(v, out, sizeof(out)))
        return true;
    snprintf(msg, msg_len, "Invalid target; not a valid hostname or ip address");
    return false;
}

/* typedefs.header_name (tools/http.lua's validate_header_name). */
static bool header_name_check(const char *v, size_t len, char *msg, size_t msg_len)
{
    return tr_schema_header_name_ok(v, len, msg, msg_len);
}

/* typedefs.cookie_name (tools/http.lua's validate_cookie_name). */
static bool cookie_name_check(const char *v, size_t len, char *msg, size_t msg_len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c <= 32 || c == 127 || strchr("()<>@,;:\\\"/?={}[]", c) != NULL) {
            snprintf(msg, msg_len,
                     "contains one or more invalid characters. ASCII control characters "
                     "(0-31;127), space, tab and the characters ()<>@,;:\\\"/?={}[] are not "
                     "allowed.");
            return false;
        }
    }
    return true;
}

/* ---- healthchecks ------------------------------------------------------------------------- */

enum hc_type {
    HC_RECORD,
    HC_NUMBER,
    HC_INT,
    HC_TYPE,
    HC_PATH,
    HC_SNI,
    HC_BOOL,
    HC_STATUSES,
    HC_HEADERS
};

struct hc_field {
    const char *name;
    enum hc_type type;
    long long min, max;
    const char *dflt; /* JSON text; NULL: null */
    const struct hc_field *sub;
    size_t nsub;
};

#define HC_SECONDS(n, d)                                                                           \
    {                                                                                              \
        n, HC_NUMBER, 0, 65535, d, NULL, 0                                                         \
    }
#define HC_COUNTER(n)                                                                              \
    {                                                                                              \
        n, HC_INT, 0, 255, "0", NULL, 0                                                            \
    }
#define HC_STATUS_LIST(d)                                                                          \
    {                                                                                              \
        "http_statuses", HC_STATUSES, 100, 999, d, NULL, 0                                         \
    }

static const struct hc_field active_healthy[] = {
    HC_SECONDS("interval", "0"),
    HC_STATUS_LIST("[200,302]"),
    HC_COUNTER("successes"),
};
static const struct hc_field active_unhealthy[] = {
    HC_SECONDS("interval", "0"), HC_STATUS_LIST("[429,404,500,501,502,503,504,505]"),
    HC_COUNTER("tcp_failures"),  HC_COUNTER("timeouts"),
    HC_COUNTER("http_failures"),
};
static const struct hc_field passive_healthy[] = {
    HC_STATUS_LIST("[200,201,202,203,204,205,206,207,208,226,300,301,302,303,304,305,306,307,"
                   "308]"),
    HC_COUNTER("successes"),
};
static const struct hc_field passive_unhealthy[] = {
    HC_STATUS_LIST("[429,500,503]"),
    HC_COUNTER("tcp_failures"),
    HC_COUNTER("timeouts"),
    HC_COUNTER("http_failures"),
};
static const struct hc_field active[] = {
    {"type", HC_TYPE, 0, 0, "\"http\"", NULL, 0},
    HC_SECONDS("timeout", "1"),
    {"concurrency", HC_INT, 1, 2147483648LL, "10", NULL, 0},
    {"http_path", HC_PATH, 0, 0, "\"/\"", NULL, 0},
    {"https_sni", HC_SNI, 0, 0, NULL, NULL, 0},
    {"https_verify_certificate", HC_BOOL, 0, 0, "true", NULL, 0},
    {"headers", HC_HEADERS, 0, 0, NULL, NULL, 0},
    {"healthy", HC_RECORD, 0, 0, NULL, active_healthy, TR_ARRAY_SIZE(active_healthy)},
    {"unhealthy", HC_RECORD, 0, 0, NULL, active_unhealthy, TR_ARRAY_SIZE(active_unhealthy)},
};
static const struct hc_field passive[] = {
    {"type", HC_TYPE, 0, 0, "\"http\"", NULL, 0},
    {"healthy", HC_RECORD, 0, 0, NULL, passive_healthy, TR_ARRAY_SIZE(passive_healthy)},
    {"unhealthy", HC_RECORD, 0, 0, NULL, passive_unhealthy, TR_ARRAY_SIZE(passive_unhealthy)},
};
static const struct hc_field healthchecks[] = {
    {"active", HC_RECORD, 0, 0, NULL, active, TR_ARRAY_SIZE(active)},
    {"passive", HC_RECORD, 0, 0, NULL, passive, TR_ARRAY_SIZE(passive)},
    {"threshold", HC_NUMBER, 0, 100, "0", NULL, 0},
};

static const char *const check_types[] = {"tcp", "http", "https", "grpc", "grpcs", NULL};

/* A number from JSON or a form string; integral values become integers. */
static bool parse_number(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    if (!json_is_string(v) || json_string_length(v) == 0)
        return false;
    char *end = NULL;
    *out = strtod(json_string_value(v), &end);
    return end != NULL && *end == '\0' && *out == *out;
}

static json_t *number_value(double d)
{
    if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(long long)d)
        return json_integer((json_int_t)d);
    return json_real(d);
}

static json_t *hc_record(const struct hc_field *fields, size_t n, const json_t *in,
                         const json_t *cur, json_t *errs);

/* One leaf of the record: a new value, or NULL after adding its error to errs. */
static json_t *hc_leaf(const struct hc_field *f, const json_t *v, json_t *errs)
{
    char msg[MSG_LEN];
    double d;
    long long n;
    switch (f->type) {
    case HC_RECORD:
        return NULL;
    case HC_NUMBER:
        if (!parse_number(v, &d)) {
            tr__schema3_err_field(errs, f->name, "expected a number");
            return NULL;
        }
        if (d < (double)f->min || d > (double)f->max) {
            snprintf(msg, sizeof(msg), "value should be between %lld and %lld", f->min, f->max);
            tr__schema3_err_field(errs, f->name, msg);
            return NULL;
        }
        return number_value(d);
    case HC_INT:
        if (!tr__schema3_parse_int(v, &n)) {
            tr__schema3_err_field(errs, f->name, "expected an integer");
            return NULL;
        }
        if (n < f->min || n > f->max) {
            snprintf(msg, sizeof(msg), "value should be between %lld and %lld", f->min, f->max);
            tr__schema3_err_field(errs, f->name, msg);
            return NULL;
        }
        return json_integer(n);
    case HC_BOOL:
        if (json_is_boolean(v))
            return json_incref((json_t *)v);
        if (json_is_string(v) && strcmp(json_string_value(v), "true") == 0)
            return json_true();
        if (json_is_string(v) && strcmp(json_string_value(v), "false") == 0)
            return json_false();
        tr__schema3_err_field(errs, f->name, "expected a boolean");
        return NULL;
    case HC_TYPE:
    case HC_PATH:
    case HC_SNI: {
        if (!json_is_string(v)) {
            tr__schema3_err_field(errs, f->name, "expected a string");
            return NULL;
        }
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        for (size_t i = 0; i < len; i++) {
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
                tr__schema3_err_field(errs, f->name, "must not contain control characters");
                return NULL;
            }
        }
        bool ok = true;
        if (f->type == HC_TYPE) {
            ok = false;
            for (const char *const *t = check_types; *t; t++)
                ok = ok || strcmp(*t, s) == 0;
            if (!ok)
                snprintf(msg, sizeof(msg), "expected one of: tcp, http, https, grpc, grpcs");
        } else if (len == 0) {
            ok = false;
            snprintf(msg, sizeof(msg), "length must be at least 1");
        } else if (f->type == HC_PATH) {
            ok = tr__schema3_path_check(s, len, msg, sizeof(msg));
        } else {
            ok = tr__schema3_sni_check(s, len, msg, sizeof(msg));
        }
        if (!ok) {
            tr__schema3_err_field(errs, f->name, msg);
            return NULL;
        }
        return json_incref((json_t *)v);
    }
    case HC_STATUSES: {
        json_t *arr = NULL;
        if (json_is_string(v)) {
            arr = tr__schema3_split_list(json_string_value(v));
        } else if (json_is_array(v)) {
            arr = json_array();
            json_array_extend(arr, (json_t *)v);
        } else {
            tr__schema3_err_field(errs, f->name, "expected an array");
            return NULL;
        }
        if (json_array_size(arr) > TR_SCHEMA3_MAX_ITEMS) {
            json_decref(arr);
            snprintf(msg, sizeof(msg), "length must be at most %d", TR_SCHEMA3_MAX_ITEMS);
            tr__schema3_err_field(errs, f->name, msg);
            return NULL;
        }
        json_t *out = json_array();
        bool bad = false;
        size_t i;
        json_t *it;
        json_array_foreach(arr, i, it)
        {
            if (!tr__schema3_parse_int(it, &n)) {
                tr__schema3_err_item(errs, f->name, i, "expected an integer");
                bad = true;
            } else if (n < f->min || n > f->max) {
                snprintf(msg, sizeof(msg), "value should be between %lld and %lld", f->min, f->max);
                tr__schema3_err_item(errs, f->name, i, msg);
                bad = true;
            } else {
                json_array_append_new(out, json_integer(n));
            }
        }
        json_decref(arr);
        if (bad) {
            json_decref(out);
            return NULL;
        }
        return out;
    }
    case HC_HEADERS:
        return tr__schema3_coerce_header_map(f->name, v, errs);
    }
    return NULL;
}

/* The record of fields: input in (may be NULL) over cur (the stored record on PATCH, may be
 * NULL), the defaults filling the rest. A new object, or NULL after adding the errors to
 * errs (an object of this record's level). */
static json_t *hc_record(const struct hc_field *fields, size_t n, const json_t *in,
                         const json_t *cur, json_t *errs)
{
    json_t *out = json_object();
    if (in != NULL && !json_is_object(in)) {
        json_decref(out);
        return NULL;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < n; i++)
            known = known || strcmp(fields[i].name, key) == 0;
        if (!known)
            tr__schema3_err_field(errs, key, "unknown field");
    }
    for (size_t i = 0; i < n; i++) {
        const struct hc_field *f = &fields[i];
        const json_t *iv = in ? json_object_get(in, f->name) : NULL;
        const json_t *cv = json_is_object(cur) ? json_object_get(cur, f->name) : NULL;
        json_t *val = NULL;
        if (f->type == HC_RECORD) {
            if (iv != NULL && !json_is_null(iv) && !json_is_object(iv)) {
                tr__schema3_err_field(errs, f->name, "expected a record");
                continue;
            }
            json_t *sub = json_object();
            val = hc_record(f->sub, f->nsub, json_is_null(iv) ? NULL : iv,
                            json_is_null(iv) ? NULL : cv, sub);
            if (json_object_size(sub) > 0)
                json_object_set(errs, f->name, sub);
            json_decref(sub);
        } else if (iv != NULL && !json_is_null(iv) &&
                   !(json_is_string(iv) && json_string_length(iv) == 0 && f->type != HC_TYPE)) {
            val = hc_leaf(f, iv, errs);
        } else if (iv == NULL && cv != NULL) {
            val = json_incref((json_t *)cv);
        } else {
            val = f->dflt ? json_loads(f->dflt, JSON_DECODE_ANY, NULL) : json_null();
        }
        if (val != NULL)
            json_object_set_new(out, f->name, val);
    }
    return out;
}

static json_t *healthchecks_value(const char *name, const json_t *v, const json_t *cur,
                                  json_t *errs)
{
    if (v != NULL && !json_is_null(v) && !json_is_object(v)) {
        tr__schema3_err_field(errs, name, "expected a record");
        return NULL;
    }
    json_t *sub = json_object();
    json_t *out =
        hc_record(healthchecks, TR_ARRAY_SIZE(healthchecks), json_is_null(v) ? NULL : v, cur, sub);
    if (json_object_size(sub) > 0) {
        json_object_set_new(errs, name, sub);
        json_decref(out);
        return NULL;
    }
    json_decref(sub);
    return out;
}

json_t *tr_schema3_healthchecks_defaults(void)
{
    json_t *errs = json_object();
    json_t *out = hc_record(healthchecks, TR_ARRAY_SIZE(healthchecks), NULL, NULL, errs);
    json_decref(errs);
    return out;
}

static long long int_at(const json_t *doc, const char *a, const char *b, const char *c)
{
    const json_t *v = json_object_get(json_object_get(doc, "healthchecks"), a);
    v = json_object_get(v, b);
    if (c != NULL)
        v = json_object_get(v, c);
    return json_is_number(v) ? (long long)(json_number_value(v) * 1000) : 0;
}

bool tr_schema3_upstream_healthchecks_on(const json_t *doc)
{
    return int_at(doc, "active", "healthy", "interval") != 0 ||
           int_at(doc, "active", "unhealthy", "interval") != 0 ||
           int_at(doc, "passive", "unhealthy", "tcp_failures") != 0 ||
           int_at(doc, "passive", "unhealthy", "timeouts") != 0 ||
           int_at(doc, "passive", "unhealthy", "http_failures") != 0;
}

/* ---- upstreams ---------------------------------------------------------------------------- */

static const char *const algorithms[] = {"consistent-hashing", "least-connections", "round-robin",
                                         "latency", NULL};
static const char *const hash_ons[] = {"none", "consumer",  "ip",          "header", "cookie",
                                       "path", "query_arg", "uri_capture", NULL};
#define HASH_ON_MSG                                                                                \
    "expected one of: none, consumer, ip, header, cookie, path, query_arg, uri_capture"

#define HASH_FIELD(n)                                                                              \
    {                                                                                              \
        .name = n, .type = F_STRING, .dflt = "\"none\"", .str_one_of = hash_ons,                   \
        .str_one_of_msg = HASH_ON_MSG                                                              \
    }

static const struct tr_schema3_field upstream_fields[] = {
    {.name = "id", .type = F_ID},
    {.name = "created_at", .type = F_TS},
    {.name = "updated_at", .type = F_TS},
    {.name = "name", .type = F_STRING, .required = true, .check = name_check},
    {.name = "algorithm",
     .type = F_STRING,
     .dflt = "\"round-robin\"",
     .str_one_of = algorithms,
     .str_one_of_msg =
         "expected one of: consistent-hashing, least-connections, round-robin, latency"},
    HASH_FIELD("hash_on"),
    HASH_FIELD("hash_fallback"),
    {.name = "hash_on_header", .type = F_STRING, .check = header_name_check},
    {.name = "hash_fallback_header", .type = F_STRING, .check = header_name_check},
    {.name = "hash_on_cookie", .type = F_STRING, .check = cookie_name_check},
    {.name = "hash_on_cookie_path",
     .type = F_STRING,
     .dflt = "\"/\"",
     .check = tr__schema3_path_check},
    {.name = "hash_on_query_arg", .type = F_STRING},
    {.name = "hash_fallback_query_arg", .type = F_STRING},
    {.name = "hash_on_uri_capture", .type = F_STRING},
    {.name = "hash_fallback_uri_capture", .type = F_STRING},
    {.name = "slots", .type = F_INT, .dflt = "10000", .bounded = true, .min = 10, .max = 65536},
    {.name = "healthchecks", .type = F_CUSTOM, .custom = healthchecks_value},
    {.name = "tags",
     .type = F_LIST,
     .check = tr__schema3_tag_check,
     .list_word = "set",
     .dedupe = true},
    {.name = "host_header", .type = F_STRING, .check = host_optional_port_check},
    {.name = "client_certificate", .type = F_FOREIGN},
    {.name = "use_srv_name", .type = F_BOOL, .dflt = "false"},
};

/* Kong's shorthand_fields, in their order: algorithm least-connections or latency resets
 * hash_on; then hash_on null is "none", "none" sets round-robin, anything else sets
 * consistent-hashing. */
static json_t *upstream_prepare(const json_t *input)
{
    const json_t *alg = json_object_get(input, "algorithm");
    const json_t *hash = json_object_get(input, "hash_on");
    if (alg == NULL && hash == NULL)
        return NULL;
    json_t *in = json_deep_copy(input);
    const char *a = json_string_value(alg);
    if (a != NULL && (strcmp(a, "least-connections") == 0 || strcmp(a, "latency") == 0))
        json_object_set_new(in, "hash_on", json_null());
    hash = json_object_get(in, "hash_on");
    if (hash != NULL) {
        const char *h = json_string_value(hash);
        if (json_is_null(hash) || (h != NULL && h[0] == '\0')) {
            json_object_set_new(in, "hash_on", json_string("none"));
        } else if (h != NULL && strcmp(h, "none") == 0) {
            json_object_set_new(in, "algorithm", json_string("round-robin"));
        } else if (h != NULL) {
            json_object_set_new(in, "algorithm", json_string("consistent-hashing"));
        }
    }
    return in;
}

/* The value an entity check sees: the validated one, or the one given when it failed. */
static const json_t *check_value(const json_t *rec, const json_t *input, const char *f)
{
    const json_t *v = json_object_get(rec, f);
    if (v == NULL)
        v = json_object_get(input, f);
    return json_is_null(v) ? NULL : v;
}

static bool value_is(const json_t *rec, const json_t *input, const char *f, const char *want)
{
    const char *s = json_string_value(check_value(rec, input, f));
    return s != NULL && strcmp(s, want) == 0;
}

static void conditional_failed(json_t *errs, const char *if_field, const char *then_field,
                               const char *msg)
{
    char ent[MSG_LEN];
    snprintf(ent, sizeof(ent), "failed conditional validation given value of field '%s'", if_field);
    tr__schema3_err_entity(errs, ent);
    json_object_set_new(errs, then_field, json_string(msg));
}

/* conditional { if_field = if_value, then_field = { required = true } } */
static void cond_required(const json_t *rec, const json_t *input, json_t *errs,
                          const char *if_field, const char *if_value, const char *then_field)
{
    if (value_is(rec, input, if_field, if_value) && check_value(rec, input, then_field) == NULL)
        conditional_failed(errs, if_field, then_field, "required field missing");
}

/* conditional { if hash_on = if_value, then hash_fallback one_of allowed } */
static void cond_fallback(const json_t *rec, const json_t *input, json_t *errs,
                          const char *if_value, const char *const *allowed)
{
    if (!value_is(rec, input, "hash_on", if_value))
        return;
    const json_t *fb = check_value(rec, input, "hash_fallback");
    if (fb == NULL)
        return;
    const char *s = json_string_value(fb);
    char msg[MSG_LEN] = "expected one of: ";
    bool found = false;
    for (const char *const *a = allowed; *a; a++) {
        found = found || (s != NULL && strcmp(s, *a) == 0);
        strncat(msg, *a, sizeof(msg) - strlen(msg) - 3);
        if (a[1] != NULL)
            strncat(msg, ", ", sizeof(msg) - strlen(msg) - 1);
    }
    if (!found)
        conditional_failed(errs, "hash_on", "hash_fallback", msg);
}

/* distinct { a, b }: skipped unless both are set and valid. */
static void distinct(const json_t *rec, json_t *errs, const char *a, const char *b)
{
    const json_t *va = json_object_get(rec, a), *vb = json_object_get(rec, b);
    if (json_object_get(errs, a) || json_object_get(errs, b) || !json_is_string(va) ||
        !json_is_string(vb))
        return;
    if (json_equal(va, vb)) {
        char msg[MSG_LEN];
        snprintf(msg, sizeof(msg), "values of these fields must be distinct: '%s', '%s'", a, b);
        tr__schema3_err_entity(errs, msg);
    }
}

static void upstream_checks(json_t *rec, const json_t *input, json_t *errs)
{
    static const char *const none[] = {"none", NULL};
    static const char *const not_consumer[] = {"none", "ip",        "header",      "cookie",
                                               "path", "query_arg", "uri_capture", NULL};
    static const char *const not_ip[] = {"none", "consumer",  "header",      "cookie",
                                         "path", "query_arg", "uri_capture", NULL};
    static const char *const not_path[] = {"none",      "consumer", "header",      "cookie",
                                           "query_arg", "ip",       "uri_capture", NULL};
    cond_required(rec, input, errs, "hash_on", "header", "hash_on_header");
    cond_required(rec, input, errs, "hash_fallback", "header", "hash_fallback_header");
    cond_required(rec, input, errs, "hash_on", "cookie", "hash_on_cookie");
    cond_required(rec, input, errs, "hash_fallback", "cookie", "hash_on_cookie");
    cond_fallback(rec, input, errs, "none", none);
    cond_fallback(rec, input, errs, "cookie", none);
    cond_fallback(rec, input, errs, "consumer", not_consumer);
    cond_fallback(rec, input, errs, "ip", not_ip);
    cond_fallback(rec, input, errs, "path", not_path);
    distinct(rec, errs, "hash_on_header", "hash_fallback_header");
    cond_required(rec, input, errs, "hash_on", "query_arg", "hash_on_query_arg");
    cond_required(rec, input, errs, "hash_fallback", "query_arg", "hash_fallback_query_arg");
    distinct(rec, errs, "hash_on_query_arg", "hash_fallback_query_arg");
    cond_required(rec, input, errs, "hash_on", "uri_capture", "hash_on_uri_capture");
    cond_required(rec, input, errs, "hash_fallback", "uri_capture", "hash_fallback_uri_capture");
    distinct(rec, errs, "hash_on_uri_capture", "hash_fallback_uri_capture");
}

static const struct tr_schema3_kind upstreams_kind = {
    .fields = upstream_fields,
    .cnt = TR_ARRAY_SIZE(upstream_fields),
    .entity_checks = upstream_checks,
    .prepare = upstream_prepare,
};

int tr_schema3_upstream(enum tr_schema_mode mode, const json_t *input, const json_t *existing,
                        long long now, json_t **out, json_t **fields)
{
    return tr__schema3_validate(&upstreams_kind, mode, input, existing, now, out, fields);
}

/* ---- targets ------------------------------------------------------------------------------ */

static const struct tr_schema3_field target_fields[] = {
    {.name = "id", .type = F_ID},
    {.name = "created_at", .type = F_TS},
    {.name = "updated_at", .type = F_TS},
    {.name = "upstream", .type = F_FOREIGN, .required = true},
    {.name = "target", .type = F_STRING, .required = true, .check = target_check},
    {.name = "weight", .type = F_INT, .dflt = "100", .bounded = true, .min = 0, .max = 65535},
    {.name = "tags",
     .type = F_LIST,
     .check = tr__schema3_tag_check,
     .list_word = "set",
     .dedupe = true},
};

/* The DAO's format_target, before the schema sees the value. */
static json_t *target_prepare(const json_t *input)
{
    const char *t = json_string_value(json_object_get(input, "target"));
    char out[400];
    if (t == NULL || t[0] == '\0' || !tr_schema3_target_normalize(t, out, sizeof(out)))
        return NULL;
    json_t *in = json_deep_copy(input);
    json_object_set_new(in, "target", json_string(out));
    return in;
}

static void target_checks(json_t *rec, const json_t *input, json_t *errs)
{
    (void)rec;
    (void)input;
    (void)errs;
}

static const struct tr_schema3_kind targets_kind = {
    .fields = target_fields,
    .cnt = TR_ARRAY_SIZE(target_fields),
    .entity_checks = target_checks,
    .prepare = target_prepare,
    .ts_ms = true,
};

int tr_schema3_target(enum tr_schema_mode mode, const json_t *input, const json_t *existing,
                      long long now, json_t **out, json_t **fields)
{
    /* Kong's targets keep milliseconds: the clock's, when it still reads the second given. */
    struct timespec ts;
    long long now_ms = now * 1000;
    if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && (long long)ts.tv_sec == now)
        now_ms += ts.tv_nsec / 1000000;
    return tr__schema3_validate(&targets_kind, mode, input, existing, now_ms, out, fields);
}
