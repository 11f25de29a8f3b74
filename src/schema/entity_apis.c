/* SPDX-License-Identifier: MIT */
/* The /apis entity (Kong 0.7, plus the 0.10 retry, timeout and https fields): its field table
 * and the request_host, request_path, name and upstream_url rules with Kong's messages.
 * Deviations from 0.7, each deliberate: request_path "/" is allowed (as from 0.8.2), "." and
 * ".." segments are refused (the proxy matches normalized paths, so they could never match),
 * request_host is stored lowercased and may be an IPv4 literal or one label (`localhost`). */
#include "schema/entities.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/str.h"

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_name_char(char c)
{
    return is_alnum(c) || c == '.' || c == '_' || c == '~' || c == '-';
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
        if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
            return false;
        parts++;
        if (i == len)
            break;
        if (s[i] != '.' || parts == 4)
            return false;
        i++;
        if (i == len)
            return false;
    }
    return parts == 4;
}

/* Kong 0.7's DNS-like name: labels of [A-Za-z0-9_-], not empty, not starting or ending with
 * '-', at most 63 bytes (DNS); the last label (a top-level domain) has only alphanumerics, at
 * least two, so `mockbin.com_org` and `mockbin.or-g` are refused and `mockbin_api.com` is not.
 * A label that is exactly "*" (already placed correctly by the caller) is skipped. Kong wanted
 * a dot too; torii also takes one label (`localhost`, which the walkthrough registers). */
static bool dns_ok(const char *s, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    if (is_ipv4(s, len))
        return true;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        const char *label = s + start;
        size_t n = i - start;
        bool last = i == len;
        start = i + 1;
        if (n == 1 && label[0] == '*')
            continue;
        if (n == 0 || n > 63 || label[0] == '-' || label[n - 1] == '-')
            return false;
        size_t alnum = 0;
        for (size_t k = 0; k < n; k++) {
            if (is_alnum(label[k]))
                alnum++;
            else if (last || (label[k] != '-' && label[k] != '_'))
                return false;
        }
        if (last && alnum < 2)
            return false;
    }
    return true;
}

static int check_request_host(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    json_t *v = json_object_get(rec, name);
    if (!json_is_string(v))
        return 0;
    const char *h = json_string_value(v);
    size_t len = json_string_length(v);
    size_t stars = 0;
    for (size_t i = 0; i < len; i++)
        stars += h[i] == '*';
    if (stars > 1) {
        snprintf(msg, msg_len, "Only one wildcard is allowed: %s", h);
        return TR_EINVAL;
    }
    if (stars == 1) {
        bool first = len >= 2 && h[0] == '*' && h[1] == '.';
        bool last = len >= 2 && h[len - 1] == '*' && h[len - 2] == '.';
        if (!first && !last) {
            snprintf(msg, msg_len, "Invalid wildcard placement: %s", h);
            return TR_EINVAL;
        }
    }
    if (!dns_ok(h, len)) {
        snprintf(msg, msg_len, "Invalid value: %s", h);
        return TR_EINVAL;
    }
    /* Host names are case-insensitive; store one spelling so uniqueness means something. */
    char *lower = tr_xmalloc(len + 1);
    for (size_t i = 0; i < len; i++)
        lower[i] = tr_ascii_lower(h[i]);
    lower[len] = '\0';
    json_object_set_new(rec, name, json_string(lower));
    free(lower);
    return 0;
}

static int check_request_path(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    json_t *v = json_object_get(rec, name);
    if (!json_is_string(v))
        return 0;
    const char *p = json_string_value(v);
    size_t len = json_string_length(v);
    if (p[0] != '/') {
        snprintf(msg, msg_len, "must be prefixed with slash: '%s'", p);
        return TR_EINVAL;
    }
    if (strstr(p, "//") != NULL) {
        snprintf(msg, msg_len, "invalid: '%s'", p);
        return TR_EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_name_char(p[i]) && p[i] != '/') {
            snprintf(msg, msg_len, "must only contain alphanumeric and '., -, _, ~, /' characters");
            return TR_EINVAL;
        }
    }
    /* Dot segments: the router sees normalized paths, so such a prefix would never match. */
    for (size_t i = 0; i < len; i++) {
        if (p[i] != '/')
            continue;
        size_t n = 0;
        while (i + 1 + n < len && p[i + 1 + n] != '/')
            n++;
        bool dots = (n == 1 && p[i + 1] == '.') || (n == 2 && p[i + 1] == '.' && p[i + 2] == '.');
        if (dots) {
            snprintf(msg, msg_len, "invalid: '%s'", p);
            return TR_EINVAL;
        }
    }
    if (len > 1 && p[len - 1] == '/')
        json_object_set_new(rec, name, json_stringn(p, len - 1));
    return 0;
}

static int check_name(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    json_t *v = json_object_get(rec, name);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    for (size_t i = 0; s != NULL && i < len; i++) {
        if (!is_name_char(s[i])) {
            snprintf(msg, msg_len,
                     "name must only contain alphanumeric and '., -, _, ~' characters");
            return TR_EINVAL;
        }
    }
    return 0;
}

static int check_upstream_url(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const char *u = json_string_value(json_object_get(rec, name));
    if (u == NULL)
        return 0;
    struct tr_str s = tr_str_from_cstr(u);
    if (!tr_str_has_prefix(s, TR_STR_LIT("http://")) &&
        !tr_str_has_prefix(s, TR_STR_LIT("https://"))) {
        /* Compare the scheme case-insensitively (Kong lowercases it first). */
        const char *colon = strchr(u, ':');
        struct tr_str scheme = {u, colon ? (size_t)(colon - u) : 0};
        if (!tr_str_ieq_cstr(scheme, "http") && !tr_str_ieq_cstr(scheme, "https")) {
            snprintf(msg, msg_len, "Supported protocols are HTTP and HTTPS");
            return TR_EINVAL;
        }
    }
    return 0;
}

/* Kong 0.7: name defaults to request_host, else request_path without its leading slash and
 * with '/' turned into '-'; any other character outside [A-Za-z0-9._~-] becomes '-'. */
static json_t *derive_name(const json_t *rec)
{
    const char *src = json_string_value(json_object_get(rec, "request_host"));
    bool from_path = false;
    if (src == NULL) {
        src = json_string_value(json_object_get(rec, "request_path"));
        from_path = true;
    }
    if (src == NULL)
        return NULL;
    if (from_path && src[0] == '/')
        src++;
    size_t len = strlen(src);
    if (len == 0)
        return NULL;
    char *n = tr_xmalloc(len + 1);
    for (size_t i = 0; i < len; i++)
        n[i] = is_name_char(src[i]) ? src[i] : '-';
    n[len] = '\0';
    json_t *v = json_string(n);
    free(n);
    return v;
}

/* Kong 0.7 answered this rule under each of the two fields, beside any other error. */
static json_t *entity_check(const json_t *rec, const json_t *input, enum tr_schema_mode mode)
{
    static const char *const fields[] = {"request_host", "request_path", NULL};
    return tr_schema_at_least_one(
        rec, input, mode, fields,
        "At least a 'request_host' or a 'request_path' must be specified");
}

#define TIMEOUT_FIELD(n, what)                                                                     \
    {                                                                                              \
        .name = n, .type = TR_SCHEMA_INTEGER, .flags = TR_SCHEMA_BOUNDED, .dflt = "60000",         \
        .min = 1, .max = 2147483647, .help = what " timeout in milliseconds",                      \
    }

static const struct tr_schema_field fields[] = {
    TR_SCHEMA_FIELD_ID,
    TR_SCHEMA_FIELD_CREATED_AT,
    {.name = "name",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_UNIQUE,
     .gen = derive_name,
     .check = check_name,
     .help = "unique name; derived from request_host or request_path"},
    {.name = "request_host",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_UNIQUE,
     .check = check_request_host,
     .help = "Host to match; one '*' as first or last label"},
    {.name = "request_path",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_UNIQUE,
     .check = check_request_path,
     .help = "path prefix to match"},
    {.name = "strip_request_path",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "false",
     .help = "remove the matched request_path before proxying"},
    {.name = "preserve_host",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "false",
     .help = "send the client's Host upstream"},
    {.name = "upstream_url",
     .type = TR_SCHEMA_URL,
     .flags = TR_SCHEMA_REQUIRED,
     .check = check_upstream_url,
     .help = "http or https URL of the service"},
    {.name = "retries",
     .type = TR_SCHEMA_INTEGER,
     .flags = TR_SCHEMA_BOUNDED,
     .dflt = "5",
     .min = 0,
     .max = 32767,
     .help = "retries on connection failure"},
    TIMEOUT_FIELD("upstream_connect_timeout", "connect"),
    TIMEOUT_FIELD("upstream_send_timeout", "send"),
    TIMEOUT_FIELD("upstream_read_timeout", "read"),
    {.name = "https_only",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "false",
     .help = "refuse plain HTTP with 426"},
    {.name = "http_if_terminated",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "false",
     .help = "with https_only, trust X-Forwarded-Proto from trusted peers"},
};

const struct tr_schema tr_schema_apis = {
    .name = "apis",
    .fields = fields,
    .cnt = TR_ARRAY_SIZE(fields),
    .entity_check = entity_check,
};
