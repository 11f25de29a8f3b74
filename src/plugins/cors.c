/* SPDX-License-Identifier: MIT */
/* cors: answer CORS preflight requests (OPTIONS with Origin and Access-Control-Request-Method)
 * and add the Access-Control-* headers to other answers, as Kong's cors plugin; origins are
 * "*", exact origins or PCRE2 regexes (compiled and JIT-compiled once per snapshot). */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "core/err.h"
#include "core/mem.h"
#include "plugins/plugin.h"
#include "plugins/traffic.h"
#include "schema/schema.h"

#define MAX_ORIGIN 512

struct cors_origin {
    char *exact;    /* owned: normalized origin (or the lower-cased entry) */
    pcre2_code *re; /* owned: anchored at both ends */
};

struct cors_conf {
    /* Bound to the list rows (owned); what the requests use is derived from them below. */
    char **origin_list, **method_list, **header_list, **exposed_list;
    size_t num_origin_list, num_method_list, num_header_list, num_exposed_list;
    bool allow_all; /* no origins, or "*" among them */
    struct cors_origin *origins;
    size_t num_origins;
    char *methods; /* owned, "GET,HEAD,..." */
    char *headers; /* owned, joined; NULL: echo Access-Control-Request-Headers */
    char *exposed; /* owned, joined; NULL: none */
    char max_age[32];
    bool has_max_age;
    bool credentials;        /* bound */
    bool preflight_continue; /* bound */
    bool private_network;    /* bound */
};

struct cors_state {
    bool skip; /* preflight: answered here or by the upstream, no headers added */
};

static const char *const all_methods[] = {"GET",    "HEAD",    "PUT",   "PATCH",   "POST",
                                          "DELETE", "OPTIONS", "TRACE", "CONNECT", NULL};

/* ---- pure helpers ------------------------------------------------------------------------ */

bool tr_cors_origin_is_regex(struct tr_str entry)
{
    if (entry.len == 1 && entry.ptr[0] == '*')
        return false;
    for (size_t i = 0; i < entry.len; i++) {
        char ch = entry.ptr[i];
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '.' || ch == ':' || ch == '/' || ch == '-';
        if (!plain)
            return true;
    }
    return false;
}

size_t tr_cors_origin_normalize(struct tr_str origin, char *out, size_t out_len)
{
    struct tr_str o = tr_str_trim(origin);
    size_t i = 0, n = 0;
    /* scheme */
    while (i < o.len && o.ptr[i] != ':') {
        char ch = tr_ascii_lower(o.ptr[i]);
        if (!((ch >= 'a' && ch <= 'z') ||
              (i > 0 && ((ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.'))))
            return 0;
        if (n + 1 >= out_len)
            return 0;
        out[n++] = ch;
        i++;
    }
    size_t scheme_len = n;
    if (scheme_len == 0 || o.len - i < 3 || memcmp(o.ptr + i, "://", 3) != 0)
        return 0;
    i += 3;
    if (n + 3 >= out_len)
        return 0;
    memcpy(out + n, "://", 3);
    n += 3;
    /* host: a name, an IPv4 literal or [IPv6] */
    size_t host_start = n;
    if (i < o.len && o.ptr[i] == '[') {
        while (i < o.len && o.ptr[i] != ']') {
            char ch = tr_ascii_lower(o.ptr[i]);
            if (!(ch == '[' || ch == ':' || ch == '.' || (ch >= '0' && ch <= '9') ||
                  (ch >= 'a' && ch <= 'f')) ||
                n + 1 >= out_len)
                return 0;
            out[n++] = ch;
            i++;
        }
        if (i == o.len || n + 1 >= out_len)
            return 0;
        out[n++] = ']';
        i++;
    } else {
        while (i < o.len && o.ptr[i] != ':' && o.ptr[i] != '/') {
            char ch = tr_ascii_lower(o.ptr[i]);
            if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
                  ch == '_') ||
                n + 1 >= out_len)
                return 0;
            out[n++] = ch;
            i++;
        }
    }
    if (n == host_start)
        return 0;
    /* port */
    if (i < o.len && o.ptr[i] == ':') {
        size_t p = ++i;
        while (i < o.len && o.ptr[i] >= '0' && o.ptr[i] <= '9')
            i++;
        uint64_t port;
        if (tr_str_to_u64((struct tr_str){o.ptr + p, i - p}, 65535, &port) != 0)
            return 0;
        bool dflt = (scheme_len == 4 && memcmp(out, "http", 4) == 0 && port == 80) ||
                    (scheme_len == 5 && memcmp(out, "https", 5) == 0 && port == 443);
        if (!dflt) {
            int w = snprintf(out + n, out_len - n, ":%u", (unsigned)port);
            if (w < 0 || (size_t)w >= out_len - n)
                return 0;
            n += (size_t)w;
        }
    }
    if (i < o.len && o.ptr[i] == '/')
        i++;
    if (i != o.len || n >= out_len)
        return 0;
    out[n] = '\0';
    return n;
}

/* ---- config ------------------------------------------------------------------------------ */

static pcre2_code *compile_re(const char *pattern, char *msg, size_t msg_len)
{
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_ANCHORED | PCRE2_ENDANCHORED, &errcode, &erroff, NULL);
    if (re == NULL) {
        PCRE2_UCHAR why[120];
        pcre2_get_error_message(errcode, why, sizeof(why));
        snprintf(msg, msg_len, "'%.64s' is not a valid regex: %s at offset %zu", pattern,
                 (const char *)why, (size_t)erroff);
        return NULL;
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* the interpreter serves if JIT fails */
    return re;
}

static int check_origins(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(rec, name), i, v)
    {
        const char *s = json_string_value(v);
        if (s == NULL || s[0] == '\0') {
            snprintf(msg, msg_len, "an origin cannot be empty");
            return TR_EINVAL;
        }
        if (strcmp(s, "*") != 0 && tr_cors_origin_is_regex(tr_str_from_cstr(s))) {
            pcre2_code *re = compile_re(s, msg, msg_len);
            if (re == NULL)
                return TR_EINVAL;
            pcre2_code_free(re);
        }
    }
    return 0;
}

/* Header names: RFC 9110 tokens, so they can be sent back as they are. */
static int check_tokens(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(rec, name), i, v)
    {
        const char *s = json_string_value(v);
        bool ok = s != NULL && s[0] != '\0';
        for (size_t k = 0; ok && s[k]; k++) {
            char ch = s[k];
            ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 strchr("!#$%&'*+-.^_`|~", ch) != NULL;
        }
        if (!ok) {
            snprintf(msg, msg_len, "'%.64s' is not a header name", s ? s : "");
            return TR_EINVAL;
        }
    }
    return 0;
}

static int check_max_age(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    double v = json_number_value(json_object_get(rec, name));
    if (!(v >= 0 && v <= 1e12)) {
        snprintf(msg, msg_len, "max_age must be a number of seconds, 0 or more");
        return TR_EINVAL;
    }
    return 0;
}

#define BIND(m) TR_SCHEMA_BIND(struct cors_conf, m)
#define LIST(m) TR_SCHEMA_BIND_LIST(struct cors_conf, m, num_##m)

/* Kong 0.7's single origin: one entry of the same kind as an origins item. */
static int check_origin(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const char *s = json_string_value(json_object_get(rec, name));
    if (s != NULL && strcmp(s, "*") != 0 && tr_cors_origin_is_regex(tr_str_from_cstr(s))) {
        pcre2_code *re = compile_re(s, msg, msg_len);
        if (re == NULL)
            return TR_EINVAL;
        pcre2_code_free(re);
    }
    return 0;
}

static const struct tr_schema_field conf_fields[] = {
    {.name = "origin",
     .type = TR_SCHEMA_STRING,
     .check = check_origin,
     .alias_of = "origins",
     .help = "Kong 0.7's name: one allowed origin (origins holds it as its only item)"},
    {.name = "origins",
     .type = TR_SCHEMA_ARRAY,
     .check = check_origins,
     .help = "allowed origins: \"*\", exact origins, or regexes (whole-value match)",
     LIST(origin_list)},
    {.name = "headers",
     .type = TR_SCHEMA_ARRAY,
     .check = check_tokens,
     .help = "Access-Control-Allow-Headers (default: the preflight's request headers)",
     LIST(header_list)},
    {.name = "exposed_headers",
     .type = TR_SCHEMA_ARRAY,
     .check = check_tokens,
     .help = "Access-Control-Expose-Headers",
     LIST(exposed_list)},
    {.name = "methods",
     .type = TR_SCHEMA_ARRAY,
     .dflt = "[\"GET\",\"HEAD\",\"PUT\",\"PATCH\",\"POST\",\"DELETE\",\"OPTIONS\",\"TRACE\","
             "\"CONNECT\"]",
     .one_of = all_methods,
     .help = "Access-Control-Allow-Methods",
     LIST(method_list)},
    {.name = "max_age",
     .type = TR_SCHEMA_NUMBER,
     .check = check_max_age,
     .help = "Access-Control-Max-Age in seconds (not sent when unset)"},
    {.name = "credentials",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "false",
     .help = "send Access-Control-Allow-Credentials: true",
     BIND(credentials)},
    {.name = "private_network",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "false",
     .help = "answer Access-Control-Request-Private-Network: true preflights",
     BIND(private_network)},
    {.name = "preflight_continue",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "false",
     .help = "proxy preflight requests to the upstream instead of answering them",
     BIND(preflight_continue)},
};

static const struct tr_schema conf_schema = {
    .name = "cors",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
};

static void conf_free(void *p)
{
    struct cors_conf *c = p;
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->num_origins; i++) {
        free(c->origins[i].exact);
        pcre2_code_free(c->origins[i].re);
    }
    free(c->origins);
    free(c->methods);
    free(c->headers);
    free(c->exposed);
    tr_schema_free_struct(&conf_schema, c);
}

/* The n strings joined with ",", or NULL when there are none. */
static char *join(const char *const *items, size_t n)
{
    size_t len = 0;
    if (n == 0)
        return NULL;
    for (size_t i = 0; i < n; i++)
        len += strlen(items[i]) + 1;
    char *out = tr_xmalloc(len);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(items[i]);
        if (pos)
            out[pos++] = ',';
        memcpy(out + pos, items[i], l);
        pos += l;
    }
    out[pos] = '\0';
    return out;
}

/* Compile one origins entry into o: a regex, or an exact origin compared normalized. */
static int compile_origin(const char *s, struct cors_origin *o, char *err, size_t err_len)
{
    struct tr_str e = tr_str_from_cstr(s);
    if (tr_cors_origin_is_regex(e)) {
        o->re = compile_re(s, err, err_len);
        return o->re ? 0 : TR_EINVAL;
    }
    char buf[MAX_ORIGIN];
    if (tr_cors_origin_normalize(e, buf, sizeof(buf)) > 0) {
        o->exact = tr_xstrdup(buf);
    } else {
        o->exact = tr_xstrdup(s);
        for (char *p = o->exact; *p; p++)
            *p = tr_ascii_lower(*p);
    }
    return 0;
}

static int compile_origins(struct cors_conf *c, char *err, size_t err_len)
{
    size_t n = c->num_origin_list;
    c->allow_all = n == 0;
    c->origins = tr_xcalloc(n ? n : 1, sizeof(*c->origins));
    for (size_t i = 0; i < n; i++) {
        const char *s = c->origin_list[i];
        if (strcmp(s, "*") == 0) {
            c->allow_all = true;
            continue;
        }
        if (compile_origin(s, &c->origins[c->num_origins], err, err_len) != 0)
            return TR_EINVAL;
        c->num_origins++;
    }
    return 0;
}

/* max_age as the header says it; absent means no header (0 is a value). */
static void derive_max_age(struct cors_conf *c, const json_t *config)
{
    const json_t *age = json_object_get(config, "max_age");
    if (!json_is_number(age))
        return;
    c->has_max_age = true;
    double v = json_number_value(age);
    if (v == (double)(long long)v)
        snprintf(c->max_age, sizeof(c->max_age), "%lld", (long long)v);
    else
        snprintf(c->max_age, sizeof(c->max_age), "%g", v);
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    struct cors_conf *c = tr_schema_parse_new(&conf_schema, config, sizeof(*c));
    if (compile_origins(c, err, err_len) != 0) {
        conf_free(c);
        return NULL;
    }
    /* An empty methods list allows them all, as its default does. */
    c->methods = c->num_method_list ? join((const char *const *)c->method_list, c->num_method_list)
                                    : join(all_methods, TR_ARRAY_SIZE(all_methods) - 1);
    c->headers = join((const char *const *)c->header_list, c->num_header_list);
    c->exposed = join((const char *const *)c->exposed_list, c->num_exposed_list);
    derive_max_age(c, config);
    return c;
}

/* ---- requests ---------------------------------------------------------------------------- */

static void worker_free(void *slot)
{
    pcre2_match_data_free(slot);
}

static bool origin_allowed(struct tr_ctx *ctx, const struct cors_conf *c, struct tr_str origin)
{
    char norm[MAX_ORIGIN];
    size_t nlen = tr_cors_origin_normalize(origin, norm, sizeof(norm));
    if (nlen == 0) {
        /* Not scheme://host[:port]: compared lower-cased as it is. */
        if (origin.len >= sizeof(norm))
            return false;
        for (size_t i = 0; i < origin.len; i++)
            norm[i] = tr_ascii_lower(origin.ptr[i]);
        norm[origin.len] = '\0';
        nlen = origin.len;
    }
    for (size_t i = 0; i < c->num_origins; i++) {
        const struct cors_origin *o = &c->origins[i];
        if (o->exact != NULL) {
            if (strlen(o->exact) == nlen && memcmp(o->exact, norm, nlen) == 0)
                return true;
            continue;
        }
        /* One match block per worker, reused: no allocation per request. */
        void **slot = tr_ctx_worker_slot(ctx);
        if (*slot == NULL)
            *slot = pcre2_match_data_create(1, NULL);
        if (*slot == NULL)
            return false;
        int rc = pcre2_match(o->re, (PCRE2_SPTR)origin.ptr, origin.len, 0, 0, *slot, NULL);
        if (rc >= 0)
            return true;
    }
    return false;
}

static void add(struct tr_ctx *ctx, const char *name, struct tr_str value)
{
    tr_ctx_add_response_header(ctx, tr_str_from_cstr(name), value);
}

/* Access-Control-Allow-Origin, Vary and Access-Control-Allow-Credentials (Kong's
 * configure_origin + configure_credentials). */
static void origin_headers(struct tr_ctx *ctx, const struct cors_conf *c)
{
    struct tr_str origin;
    bool has_origin = tr_ctx_header(ctx, TR_STR_LIT("Origin"), &origin);
    if (has_origin)
        origin = tr_str_trim(origin);
    if (c->allow_all) {
        if (c->credentials && has_origin) {
            /* "*" cannot go with credentials: the origin itself is allowed. */
            add(ctx, "Access-Control-Allow-Origin", origin);
            add(ctx, "Access-Control-Allow-Credentials", TR_STR_LIT("true"));
            add(ctx, "Vary", TR_STR_LIT("Origin"));
        } else {
            add(ctx, "Access-Control-Allow-Origin", TR_STR_LIT("*"));
        }
        return;
    }
    /* The answer depends on Origin even when it is refused (caches must key on it). */
    add(ctx, "Vary", TR_STR_LIT("Origin"));
    if (has_origin && origin_allowed(ctx, c, origin))
        add(ctx, "Access-Control-Allow-Origin", origin);
    if (c->credentials)
        add(ctx, "Access-Control-Allow-Credentials", TR_STR_LIT("true"));
}

static int cors_access(struct tr_ctx *ctx, const void *p)
{
    const struct cors_conf *c = p;
    struct tr_str v;
    if (!tr_str_eq(tr_ctx_method(ctx), TR_STR_LIT("OPTIONS")) ||
        !tr_ctx_header(ctx, TR_STR_LIT("Origin"), &v) ||
        !tr_ctx_header(ctx, TR_STR_LIT("Access-Control-Request-Method"), &v))
        return TR_PLUGIN_NEXT;
    struct cors_state *st = tr_ctx_state(ctx);
    st->skip = true;
    if (c->preflight_continue)
        return TR_PLUGIN_NEXT;

    origin_headers(ctx, c);
    if (c->headers)
        add(ctx, "Access-Control-Allow-Headers", tr_str_from_cstr(c->headers));
    else if (tr_ctx_header(ctx, TR_STR_LIT("Access-Control-Request-Headers"), &v))
        add(ctx, "Access-Control-Allow-Headers", v);
    add(ctx, "Access-Control-Allow-Methods", tr_str_from_cstr(c->methods));
    if (c->has_max_age)
        add(ctx, "Access-Control-Max-Age", tr_str_from_cstr(c->max_age));
    if (c->private_network &&
        tr_ctx_header(ctx, TR_STR_LIT("Access-Control-Request-Private-Network"), &v) &&
        tr_str_eq(tr_str_trim(v), TR_STR_LIT("true")))
        add(ctx, "Access-Control-Allow-Private-Network", TR_STR_LIT("true"));
    /* Kong 1.x and later answer 200 (0.x answered 204). */
    tr_ctx_respond(ctx, 200, "", NULL);
    return TR_PLUGIN_EXIT;
}

static void cors_header_filter(struct tr_ctx *ctx, const void *p)
{
    const struct cors_conf *c = p;
    const struct cors_state *st = tr_ctx_state(ctx);
    if (st == NULL || st->skip)
        return;
    origin_headers(ctx, c);
    if (c->exposed)
        add(ctx, "Access-Control-Expose-Headers", tr_str_from_cstr(c->exposed));
}

const struct tr_plugin tr_plugin_cors = {
    .name = "cors",
    .version = "1.0.0",
    .priority = 2000,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .access = cors_access,
    .header_filter = cors_header_filter,
    .state_size = sizeof(struct cors_state),
    .worker_free = worker_free,
};
