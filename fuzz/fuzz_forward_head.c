/* SPDX-License-Identifier: MIT */
/* libFuzzer target for header construction: the heads torii writes (the request it sends
 * upstream, and a plugin's own answer) built from random stored values (consumer username and
 * custom_id, credential identifier, plugin-set request headers such as X-Authenticated-Scope and
 * -Userid, the service's upstream Host and the route's path, plugin response headers and content
 * type). It traps unless every head either is refused as a whole or parses with torii's own strict
 * parser as exactly one message whose fields carry the values given (no value can add a field
 * or a second request), and unless a head made only of clean values is never refused.
 *
 * Input: a flags byte, then length-prefixed values (one length byte each) in the order of the
 * slots below; missing values are empty. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/log.h"
#include "http/headers.h"
#include "http/parser.h"
#include "http/writer.h"
#include "proxy/internal.h"
#include "snapshot/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Traps with the line that failed (an optimised build folds bare traps into one place). */
#define FAIL()                                                                                     \
    do {                                                                                           \
        fprintf(stderr, "fuzz_forward_head: check at line %d failed\n", __LINE__);                 \
        abort();                                                                                   \
    } while (0)

enum {
    V_CONSUMER_ID,
    V_USERNAME,
    V_CUSTOM_ID,
    V_CRED_IDENT,
    V_EDIT_NAME,
    V_EDIT_VALUE,
    V_SCOPE,
    V_USERID,
    V_HOST_HEADER,
    V_REQUEST_PATH,
    V_UPSTREAM_PATH,
    V_RES_NAME,
    V_RES_VALUE,
    V_CTYPE,
    V_COUNT
};

/* A value as the head writer should see it: bytes a field value may hold. */
static bool clean_value(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

static bool clean_token(const char *s, size_t n)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c != '\0' && strchr(extra, c))))
            return false;
    }
    return true;
}

static bool clean_target(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e || c == '#')
            return false;
    }
    return true;
}

/* The parsed field name's value, OWS-trimmed, equals v (trimmed the same way)? */
static bool has_field(const struct tr_http_header *hs, size_t n, const char *name, const char *v)
{
    const struct tr_http_header *h = tr_http_find_header(hs, n, tr_str_from_cstr(name));
    return h != NULL && tr_str_eq(h->value, tr_str_trim(tr_str_from_cstr(v)));
}

/* The Host torii sends comes from a parsed upstream_url: a host[:port]. Other clean bytes are
 * written as they are but would not parse as a Host, so such inputs only check refusals. The
 * parser itself says which is which. */
static bool plausible_host(const char *s, size_t n)
{
    static char buf[512];
    static struct tr_http_request probe;
    static const char pre[] = "GET / HTTP/1.1\r\nHost: ", post[] = "\r\n\r\n";
    if (n == 0 || n > sizeof(buf) - sizeof(pre) - sizeof(post))
        return false;
    memcpy(buf, pre, sizeof(pre) - 1);
    memcpy(buf + sizeof(pre) - 1, s, n);
    memcpy(buf + sizeof(pre) - 1 + n, post, sizeof(post) - 1);
    return tr_http_parse_request(buf, sizeof(pre) - 1 + n + sizeof(post) - 1, NULL, &probe) > 0;
}

static void check_request_head(struct tr_exchange *ex, char *const *v, const size_t *len,
                               bool all_clean, bool check_fields)
{
    size_t hl = 0;
    char *head = tr__forward_request_head(ex, ex->upath, &hl);
    if (head == NULL) {
        if (all_clean)
            FAIL(); /* a false refusal */
        return;
    }
    if (!all_clean)
        FAIL(); /* a bad value got through */
    if (!ex->route->preserve_host && !plausible_host(v[V_HOST_HEADER], len[V_HOST_HEADER])) {
        free(head);
        return;
    }
    static struct tr_http_request req;
    int rc = tr_http_parse_request(head, hl, NULL, &req);
    /* One request head, exactly the bytes written: nothing was smuggled after it. */
    if (rc < 0 || (size_t)rc != hl || req.body != TR_HTTP_BODY_NONE)
        FAIL();
    if (check_fields &&
        (!has_field(req.headers, req.num_headers, "X-Consumer-Username", v[V_USERNAME]) ||
         (len[V_CUSTOM_ID] &&
          !has_field(req.headers, req.num_headers, "X-Consumer-Custom-ID", v[V_CUSTOM_ID])) ||
         !has_field(req.headers, req.num_headers, "X-Authenticated-Scope", v[V_SCOPE]) ||
         !has_field(req.headers, req.num_headers, "X-Authenticated-Userid", v[V_USERID])))
        FAIL();
    free(head);
}

static void check_answer_head(struct tr_exchange *ex, bool all_clean)
{
    size_t hl = 0;
    char *head = tr__forward_plugin_answer_head(ex, false, &hl);
    if (head == NULL) {
        if (all_clean)
            FAIL();
        return;
    }
    if (!all_clean)
        FAIL();
    static struct tr_http_response res;
    int rc = tr_http_parse_response(head, hl, NULL, false, &res);
    if (rc < 0 || (size_t)rc != hl)
        FAIL();
    free(head);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        tr_log_set_level(TR_LOG_CRIT); /* refusals are logged at error level */
        quiet = true;
    }
    if (size == 0)
        return 0;
    uint8_t flags = data[0];
    size_t pos = 1;
    char *v[V_COUNT];
    size_t len[V_COUNT];
    for (int i = 0; i < V_COUNT; i++) {
        size_t n = 0;
        if (pos < size) {
            n = data[pos++];
            if (n > size - pos)
                n = size - pos;
        }
        v[i] = malloc(n + 1);
        if (n)
            memcpy(v[i], data + pos, n);
        v[i][n] = '\0';
        len[i] = n;
        pos += n;
    }
    /* Stored strings are C strings: a NUL ends them (the store never hands out more). */
    for (int i = 0; i < V_COUNT; i++)
        len[i] = strlen(v[i]);
    /* The upstream path is the join of a stored path and the normalized one: it starts with
     * '/'. */
    char *upath = malloc(len[V_UPSTREAM_PATH] + 2);
    upath[0] = '/';
    memcpy(upath + 1, v[V_UPSTREAM_PATH], len[V_UPSTREAM_PATH] + 1);
    free(v[V_UPSTREAM_PATH]);
    v[V_UPSTREAM_PATH] = upath;
    len[V_UPSTREAM_PATH]++;

    static const char request[] = "GET /svc/a?x=1 HTTP/1.1\r\nHost: svc.test\r\n"
                                  "X-Forwarded-For: 198.51.100.7\r\nAccept: */*\r\n\r\n";
    static struct tr_http_request parsed;
    if (tr_http_parse_request(request, sizeof(request) - 1, NULL, &parsed) <= 0)
        FAIL();

    struct tr_proxy_worker w;
    memset(&w, 0, sizeof(w));
    memcpy(w.date, "Mon, 07 Dec 2026 08:00:00 GMT", 30);
    /* Kong's default headers and headers_upstream */
    static const struct tr_conf conf = {
        .headers_mask = TR_HEADERS_VIA | TR_HEADERS_SERVER | TR_HEADERS_UPSTREAM_LATENCY |
                        TR_HEADERS_PROXY_LATENCY | TR_HEADERS_RESPONSE_LATENCY |
                        TR_HEADERS_REQUEST_ID,
        .headers_upstream_mask = TR_HEADERS_REQUEST_ID,
    };
    w.conf = &conf;
    struct tr_client c;
    memset(&c, 0, sizeof(c));
    memcpy(c.peer_ip, "127.0.0.1", 10);
    c.local_port = 8000;
    c.tls_listener = flags & 1;
    struct tr_service svc;
    memset(&svc, 0, sizeof(svc));
    svc.host_header = v[V_HOST_HEADER];
    struct tr_route route;
    memset(&route, 0, sizeof(route));
    route.api_name = "fuzz";
    route.path = v[V_REQUEST_PATH];
    route.preserve_host = flags & 2;
    route.service = &svc;
    struct tr_consumer consumer = {.id = v[V_CONSUMER_ID],
                                   .username = v[V_USERNAME],
                                   .custom_id = len[V_CUSTOM_ID] ? v[V_CUSTOM_ID] : NULL};

    struct tr_exchange *ex = calloc(1, sizeof(*ex));
    ex->w = &w;
    ex->c = &c;
    ex->route = &route;
    ex->service = &svc;
    ex->method = parsed.method;
    ex->path = parsed.target;
    if (flags & 4)
        ex->prefix = (struct tr_str){v[V_REQUEST_PATH], len[V_REQUEST_PATH]};
    ex->peer_trusted = flags & 8;
    memcpy(ex->client_ip, "198.51.100.7", 13);
    ex->rv.method = parsed.method;
    ex->rv.target = parsed.target;
    ex->rv.path = parsed.path;
    ex->rv.query = parsed.query;
    ex->rv.has_query = parsed.has_query;
    ex->rv.host = parsed.host;
    ex->rv.headers = parsed.headers;
    ex->rv.num_headers = parsed.num_headers;
    ex->upath = (struct tr_str){v[V_UPSTREAM_PATH], len[V_UPSTREAM_PATH]};
    struct tr_ctx *ctx = &ex->ctx;
    tr__ctx_init(ctx, ex);
    ctx->norm_path = TR_STR_LIT("/svc/a");
    tr_ctx_set_consumer(ctx, &consumer, NULL, flags & 16);
    tr_ctx_set_credential_identifier(ctx, v[V_CRED_IDENT]);
    tr_ctx_set_header(ctx, TR_STR_LIT("X-Authenticated-Scope"),
                      (struct tr_str){v[V_SCOPE], len[V_SCOPE]});
    tr_ctx_set_header(ctx, TR_STR_LIT("X-Authenticated-Userid"),
                      (struct tr_str){v[V_USERID], len[V_USERID]});
    /* Fields whose values the parser interprets beyond their syntax (a Host must be a host, an
     * Expect must be 100-continue, a Connection must not name framing fields) are left out:
     * a plugin setting them badly is a plugin bug, not an injection. */
    struct tr_str edit = {v[V_EDIT_NAME], len[V_EDIT_NAME]};
    if (tr_str_ieq_cstr(edit, "Host") || tr_str_ieq_cstr(edit, "Expect") ||
        tr_str_ieq_cstr(edit, "Connection"))
        len[V_EDIT_NAME] = 0;
    /* Framing fields set by a plugin are dropped unread (torii frames what it sends). */
    bool edit_dropped = tr_http_header_flags(edit) & TR_HDR_FRAMING;
    if (len[V_EDIT_NAME])
        tr_ctx_set_header(ctx, edit, (struct tr_str){v[V_EDIT_VALUE], len[V_EDIT_VALUE]});

    bool clean = clean_value(v[V_CONSUMER_ID], len[V_CONSUMER_ID]) &&
                 clean_value(v[V_USERNAME], len[V_USERNAME]) &&
                 clean_value(v[V_CUSTOM_ID], len[V_CUSTOM_ID]) &&
                 clean_value(v[V_CRED_IDENT], len[V_CRED_IDENT]) &&
                 clean_value(v[V_SCOPE], len[V_SCOPE]) && clean_value(v[V_USERID], len[V_USERID]) &&
                 clean_target(v[V_UPSTREAM_PATH], len[V_UPSTREAM_PATH]) &&
                 (route.preserve_host || clean_value(v[V_HOST_HEADER], len[V_HOST_HEADER])) &&
                 (ex->prefix.len == 0 || clean_value(v[V_REQUEST_PATH], len[V_REQUEST_PATH])) &&
                 (len[V_EDIT_NAME] == 0 || edit_dropped ||
                  (clean_token(v[V_EDIT_NAME], len[V_EDIT_NAME]) &&
                   clean_value(v[V_EDIT_VALUE], len[V_EDIT_VALUE])));
    /* A plugin header named like one of the checked fields would be found instead of it. */
    static const char *const checked[] = {"X-Consumer-Username", "X-Consumer-Custom-ID",
                                          "X-Authenticated-Scope", "X-Authenticated-Userid"};
    bool shadows = false;
    for (size_t i = 0; i < 4 && len[V_EDIT_NAME]; i++)
        shadows |= tr_str_ieq_cstr((struct tr_str){v[V_EDIT_NAME], len[V_EDIT_NAME]}, checked[i]);
    check_request_head(ex, v, len, clean, !shadows);

    /* A plugin's own answer: its content type and response headers. */
    ctx->exit_status = 200 + (flags >> 5);
    ctx->exit_ctype = (struct tr_str){v[V_CTYPE], len[V_CTYPE]};
    ctx->exit_body = TR_STR_LIT("{}");
    if (len[V_RES_NAME])
        tr_ctx_add_response_header(ctx, (struct tr_str){v[V_RES_NAME], len[V_RES_NAME]},
                                   (struct tr_str){v[V_RES_VALUE], len[V_RES_VALUE]});
    bool res_dropped =
        tr_http_header_flags((struct tr_str){v[V_RES_NAME], len[V_RES_NAME]}) & TR_HDR_FRAMING;
    /* A 204 carries no Content-Type nor Content-Length (RFC 9110 §8.6): its type is unused. */
    bool ctype_ok = ctx->exit_status == 204 || clean_value(v[V_CTYPE], len[V_CTYPE]);
    bool answer_clean = ctype_ok && (len[V_RES_NAME] == 0 || res_dropped ||
                                     (clean_token(v[V_RES_NAME], len[V_RES_NAME]) &&
                                      clean_value(v[V_RES_VALUE], len[V_RES_VALUE])));
    check_answer_head(ex, answer_clean);

    tr__ctx_fini(ctx);
    free(ex);
    for (int i = 0; i < V_COUNT; i++)
        free(v[i]);
    return 0;
}
