/* SPDX-License-Identifier: MIT */
/* Admin HTTP server on the control loop. Requests are small and handled synchronously (the
 * store is SQLite on the same thread), so each connection is a simple read-parse-answer loop. */
#include "admin/server.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "admin/admin.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/list.h"
#include "core/log.h"
#include "core/logfile.h"
#include "core/mem.h"
#include "core/origin.h"
#include "http/parser.h"
#include "http/status.h"

#define ADMIN_IDLE_TIMEOUT_MS 60000
#define ADMIN_METHODS "GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS"
/* Short, so that a browser asks again soon after admin_gui_origins changed. */
#define CORS_MAX_AGE "600"
/* Access-Control-Request-Headers longer than this get the fixed list (bounds the answer head). */
#define CORS_ECHO_MAX 512

struct tr_admin_server {
    uv_loop_t *loop;
    const struct tr_conf *conf;
    struct tr_admin_env *env;
    uv_tcp_t listeners[TR_CONF_MAX_LISTEN];
    bool loopback[TR_CONF_MAX_LISTEN];
    size_t num_listeners;
    struct tr_list conns;
    struct tr_origin_list gui_origins; /* owned; admin_gui_origins, parsed once */
    struct tr_logfile *access_log;     /* owned; admin_access_log, NULL when off */
    bool stopping;     /* tr_admin_server_stop: answers say close; freed once all is closed */
    size_t open_conns; /* connections not yet freed (their close callbacks still to come) */
};

/* What the request's Origin header says about the page that sent it (P11). */
enum origin_verdict {
    ORIGIN_ABSENT,  /* no Origin: not a browser's cross-origin request (curl, scripts) */
    ORIGIN_ALLOWED, /* the Admin API's own origin, or listed in admin_gui_origins */
    ORIGIN_REFUSED, /* any other page, "null", or a Host the rebinding check refuses */
};

struct admin_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct tr_admin_server *srv;
    struct tr_list link;
    struct tr_buf in; /* owned; bytes received and not handled yet */
    bool loopback_listener;
    bool closing;
    bool close_after;
    bool have_req; /* req holds the parsed request being answered (for the access log) */
    unsigned handles;
    unsigned pending_writes;
    struct tr_http_request req;
    enum origin_verdict origin; /* of the request being answered */
    struct tr_str cors_origin;  /* borrowed from in until the request is consumed: the Origin
                                   echoed in Access-Control-Allow-Origin; empty = no CORS headers */
    char peer[64];              /* the client's address, for the access log */
};

static void free_server(struct tr_admin_server *srv);

/* A stopped server goes once its listeners and connections are closed (from close callbacks:
 * no caller is still using it then). */
static void maybe_free(struct tr_admin_server *srv)
{
    if (srv->stopping && srv->num_listeners == 0 && srv->open_conns == 0)
        free_server(srv);
}

static void on_conn_closed(uv_handle_t *h)
{
    struct admin_conn *c = h->data;
    if (--c->handles == 0) {
        struct tr_admin_server *srv = c->srv;
        tr_buf_free(&c->in);
        free(c);
        srv->open_conns--;
        maybe_free(srv);
    }
}

static void conn_close(struct admin_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    tr_list_remove(&c->link);
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

struct admin_wbuf {
    uv_write_t req;
    struct admin_conn *c;
    char data[];
};

static void on_written(uv_write_t *req, int status)
{
    struct admin_wbuf *wb = TR_CONTAINER_OF(req, struct admin_wbuf, req);
    struct admin_conn *c = wb->c;
    free(wb);
    c->pending_writes--;
    if (status < 0 || (c->close_after && c->pending_writes == 0))
        conn_close(c);
}

/* The CORS lines of an answer: only for an allowed Origin, echoed exactly (never "*", which
 * would let every page read the answer), with Vary so that no cache serves the answer to
 * another origin. No Access-Control-Allow-Credentials: the admin token is a bearer header that
 * the page's script sets itself, which CORS governs through Allow-Headers; without that header
 * a browser never attaches cookies, HTTP authentication or client certificates that a proxy in
 * front of the Admin API might accept on the operator's behalf. */
static void format_cors(const struct admin_conn *c, char *buf, size_t len)
{
    buf[0] = '\0';
    if (c->cors_origin.len > 0)
        snprintf(buf, len, "Access-Control-Allow-Origin: %.*s\r\nVary: Origin\r\n",
                 (int)c->cors_origin.len, c->cors_origin.ptr);
}

/* One line in nginx's "combined" format, as Kong's admin_access_log writes, except that the
 * query string is left out (it is not needed to audit who changed what, and a filter value
 * there may be a key). A request that could not be parsed logs "-" as its request line. */
static void log_answer(struct admin_conn *c, int status, size_t body_bytes)
{
    struct tr_logfile *log = c->srv->access_log;
    if (log == NULL)
        return;
    char when[40];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S +0000", &tm);
    char request[600] = "-", referer[260] = "-", agent[260] = "-";
    if (c->have_req) {
        const struct tr_http_request *req = &c->req;
        char method[40], path[520];
        tr_logfile_escape(method, sizeof(method), req->method.ptr, req->method.len);
        tr_logfile_escape(path, sizeof(path), req->path.ptr, req->path.len);
        snprintf(request, sizeof(request), "%s %s HTTP/1.%d", method, path, req->minor_version);
        const struct tr_http_header *h =
            tr_http_find_header(req->headers, req->num_headers, TR_STR_LIT("Referer"));
        if (h != NULL)
            tr_logfile_escape(referer, sizeof(referer), h->value.ptr, h->value.len);
        h = tr_http_find_header(req->headers, req->num_headers, TR_STR_LIT("User-Agent"));
        if (h != NULL)
            tr_logfile_escape(agent, sizeof(agent), h->value.ptr, h->value.len);
    }
    char line[1400];
    int n = snprintf(line, sizeof(line), "%s - - [%s] \"%s\" %d %zu \"%s\" \"%s\"", c->peer, when,
                     request, status, body_bytes, referer, agent);
    if (n > 0)
        tr_logfile_append(log, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    tr_logfile_flush(log); /* a few answers a second at most: no tick needed */
}

/* content_type: the body's, NULL for JSON. */
static void send_typed(struct admin_conn *c, int status, const char *extra_headers,
                       const char *content_type, const char *body, size_t body_len, bool head_only)
{
    log_answer(c, status, head_only || !body ? 0 : body_len);
    char head[2048];
    char date[40];
    char cors[512];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    format_cors(c, cors, sizeof(cors));
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nDate: %s\r\n%s%s%s%s%sServer: torii/" TR_VERSION "\r\n%s",
                      status, tr_http_status_reason(status), date, body ? "Content-Type: " : "",
                      body ? (content_type ? content_type : "application/json; charset=utf-8") : "",
                      body ? "\r\n" : "", c->close_after ? "Connection: close\r\n" : "", cors,
                      extra_headers);
    if (hl < 0 || (size_t)hl >= sizeof(head)) {
        conn_close(c); /* extra headers are bounded by their callers: never expected */
        return;
    }
    char clen[64];
    int cl = 0;
    if (status != 204 && status != 304)
        cl = snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n\r\n", body ? body_len : 0);
    else
        cl = snprintf(clen, sizeof(clen), "\r\n");
    size_t total = (size_t)hl + (size_t)cl + (head_only || !body ? 0 : body_len);
    struct admin_wbuf *wb = tr_xmalloc(sizeof(*wb) + total);
    wb->c = c;
    memcpy(wb->data, head, (size_t)hl);
    memcpy(wb->data + hl, clen, (size_t)cl);
    if (!head_only && body)
        memcpy(wb->data + hl + cl, body, body_len);
    uv_buf_t b = uv_buf_init(wb->data, (unsigned)total);
    if (uv_write(&wb->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(wb);
        conn_close(c);
        return;
    }
    c->pending_writes++;
}

static void send_response(struct admin_conn *c, int status, const char *extra_headers,
                          const char *body, size_t body_len, bool head_only)
{
    send_typed(c, status, extra_headers, NULL, body, body_len, head_only);
}

static void send_json(struct admin_conn *c, int status, json_t *body, const char *extra,
                      bool head_only)
{
    /* 15 significant digits: a target's created_at (seconds with milliseconds) reads as
     * 1733577600.123, not 1733577600.1229999. */
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    send_response(c, status, extra ? extra : "", text, text ? strlen(text) : 0, head_only);
    free(text);
}

/* Answer the condition err (core/err.h): its status and {"message": <its message>}. */
static void send_error(struct admin_conn *c, int err, const char *extra, bool head_only)
{
    json_t *j = json_pack("{s:s}", "message", tr_err_message(err));
    send_json(c, tr_err_status(err), j, extra, head_only);
    json_decref(j);
}

/* P11: a Host that is not an IP literal or localhost, sent to a loopback listener, is a DNS
 * rebinding attempt from a browser. */
static bool host_is_local(struct tr_str host)
{
    if (host.len == 0)
        return true;
    struct tr_str h = host;
    if (h.ptr[0] == '[')
        return true; /* IPv6 literal */
    const char *colon = memchr(h.ptr, ':', h.len);
    if (colon)
        h.len = (size_t)(colon - h.ptr);
    if (tr_str_ieq_cstr(h, "localhost"))
        return true;
    for (size_t i = 0; i < h.len; i++) {
        if (!((h.ptr[i] >= '0' && h.ptr[i] <= '9') || h.ptr[i] == '.'))
            return false;
    }
    return true;
}

static bool host_ok(const struct admin_conn *c, const struct tr_http_request *req)
{
    return !c->loopback_listener || host_is_local(req->host);
}

/* P11: classify the request's Origin and keep the one to echo. The listener speaks plain HTTP,
 * so its own origin is http://<Host> (a console it serves later needs no setting). A request
 * that fails the rebinding check is answered 421 and gets no CORS headers, whatever its Origin
 * (a listed localhost origin would otherwise match a rebound name's page). */
static void judge_origin(struct admin_conn *c, const struct tr_http_request *req)
{
    const struct tr_http_header *o =
        tr_http_find_header(req->headers, req->num_headers, TR_STR_LIT("Origin"));
    c->cors_origin = TR_STR_NULL;
    if (o == NULL) {
        c->origin = ORIGIN_ABSENT;
    } else if (host_ok(c, req) &&
               tr_origin_allowed(&c->srv->gui_origins, o->value, req->host, false)) {
        c->origin = ORIGIN_ALLOWED;
        c->cors_origin = tr_str_trim(o->value);
    } else {
        c->origin = ORIGIN_REFUSED;
    }
}

/* P11: with admin_token set, every request must carry "Authorization: Bearer <token>".
 * The comparison does not stop at the first differing byte. */
static bool token_ok(const struct tr_conf *conf, const struct tr_http_request *req)
{
    if (conf->admin_token == NULL || conf->admin_token[0] == '\0')
        return true;
    const struct tr_http_header *h =
        tr_http_find_header(req->headers, req->num_headers, TR_STR_LIT("Authorization"));
    if (h == NULL || h->value.len < 7 ||
        !tr_str_ieq((struct tr_str){h->value.ptr, 7}, TR_STR_LIT("Bearer ")))
        return false;
    struct tr_str got = tr_str_trim((struct tr_str){h->value.ptr + 7, h->value.len - 7});
    size_t want_len = strlen(conf->admin_token);
    if (got.len != want_len)
        return false;
    return CRYPTO_memcmp(got.ptr, conf->admin_token, want_len) == 0;
}

/* Fetch standard, CORS protocol: a preflight is an OPTIONS request with Origin and
 * Access-Control-Request-Method; any other OPTIONS is an ordinary request. */
static bool is_preflight(const struct tr_http_request *req)
{
    return tr_str_eq(req->method, TR_STR_LIT("OPTIONS")) &&
           tr_http_find_header(req->headers, req->num_headers, TR_STR_LIT("Origin")) &&
           tr_http_find_header(req->headers, req->num_headers,
                               TR_STR_LIT("Access-Control-Request-Method"));
}

/* The headers a preflight may announce: the requested ones when they are a plain token list
 * (safe to copy into our answer), else the ones the Admin API reads. */
static struct tr_str preflight_allow_headers(const struct tr_http_request *req)
{
    const struct tr_http_header *h = tr_http_find_header(
        req->headers, req->num_headers, TR_STR_LIT("Access-Control-Request-Headers"));
    if (h != NULL && h->value.len <= CORS_ECHO_MAX && tr_http_is_token_list(h->value))
        return h->value;
    return TR_STR_LIT("Content-Type, Authorization");
}

/* Browsers never send Authorization on a preflight, so it is answered before the token check;
 * the answer reveals only what an allowed page may send. Other origins get 403 and no allow
 * headers, so the browser never sends the real request. */
static void answer_preflight(struct admin_conn *c, const struct tr_http_request *req)
{
    char extra[CORS_ECHO_MAX + 256];
    if (!host_ok(c, req)) {
        send_error(c, TR_EMISDIRECTED, NULL, false);
        return;
    }
    if (c->origin != ORIGIN_ALLOWED) {
        send_error(c, TR_EPREFLIGHT, NULL, false);
        return;
    }
    struct tr_str allow = preflight_allow_headers(req);
    snprintf(extra, sizeof(extra),
             "Access-Control-Allow-Methods: " ADMIN_METHODS "\r\n"
             "Access-Control-Allow-Headers: %.*s\r\n"
             "Access-Control-Max-Age: " CORS_MAX_AGE "\r\n",
             (int)allow.len, allow.ptr);
    send_response(c, 204, extra, NULL, 0, false);
}

static void handle_request(struct admin_conn *c, const struct tr_http_request *req,
                           struct tr_str body)
{
    struct tr_admin_server *srv = c->srv;
    bool head_only = tr_str_eq(req->method, TR_STR_LIT("HEAD"));
    if (is_preflight(req)) {
        answer_preflight(c, req);
        return;
    }
    if (!srv->env->status_only && !token_ok(srv->conf, req)) {
        send_error(c, TR_EUNAUTHORIZED, "WWW-Authenticate: Bearer realm=\"torii-admin\"\r\n",
                   head_only);
        return;
    }
    if (!host_ok(c, req)) {
        send_error(c, TR_EMISDIRECTED, NULL, head_only);
        return;
    }
    if (tr_str_eq(req->method, TR_STR_LIT("OPTIONS"))) {
        send_response(c, 204, "Allow: " ADMIN_METHODS "\r\n", NULL, 0, false);
        return;
    }
    bool writes = !(tr_str_eq(req->method, TR_STR_LIT("GET")) || head_only);
    if (writes && c->origin == ORIGIN_REFUSED) {
        send_error(c, TR_EORIGIN, NULL, false);
        return;
    }
    if (tr_str_eq(req->path, TR_STR_LIT("/robots.txt"))) {
        static const char robots[] = "User-agent: *\nDisallow: /\n";
        send_typed(c, 200, "", "text/plain", robots, sizeof(robots) - 1, head_only);
        return;
    }
    const struct tr_http_header *ct =
        tr_http_find_header(req->headers, req->num_headers, TR_STR_LIT("Content-Type"));
    struct tr_admin_request areq = {
        .method = head_only ? TR_STR_LIT("GET") : req->method,
        .path = req->path,
        .query = req->query,
        .content_type = ct ? ct->value : TR_STR_NULL,
        .body = body,
        .host = req->host,
    };
    struct tr_admin_response res = {0};
    tr_admin_handle(srv->env, &areq, &res);
    char extra[256] = "";
    if (res.allow != NULL)
        snprintf(extra, sizeof(extra), "Allow: %s\r\n", res.allow);
    if (res.text != NULL)
        send_typed(c, res.status, extra, res.content_type, res.text, res.text_len, head_only);
    else
        send_json(c, res.status, res.body, extra, head_only);
    json_decref(res.body);
    free(res.text);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct admin_conn *c = h->data;
    /* At least 16 KiB of room while the maximum allows; none (libuv then reports ENOBUFS and
     * the connection closes) once a request fills it or memory runs out. */
    size_t left = c->in.max - c->in.len;
    if (tr_buf_reserve(&c->in, left < 16384 ? left : 16384) != 0) {
        b->base = NULL;
        b->len = 0;
        return;
    }
    b->base = tr_buf_tail(&c->in);
    b->len = tr_buf_room(&c->in);
}

/* Try to handle one complete request from the buffer; returns true if one was consumed. */
static bool process_one(struct admin_conn *c)
{
    const struct tr_conf *conf = c->srv->conf;
    c->origin = ORIGIN_ABSENT;
    c->cors_origin = TR_STR_NULL;
    c->have_req = false;
    int rc = tr_http_parse_request(c->in.ptr, c->in.len, NULL, &c->req);
    if (rc == TR_EAGAIN)
        return false;
    c->have_req = rc >= 0;
    if (rc < 0) {
        c->close_after = true;
        send_error(c, rc, NULL, false);
        uv_read_stop((uv_stream_t *)&c->tcp);
        return false;
    }
    size_t head_len = (size_t)rc;
    struct tr_http_request *req = &c->req;
    judge_origin(c, req); /* early, so that a 413 is readable by an allowed page too */
    struct tr_str body = TR_STR_NULL;
    size_t consumed = head_len;
    if (req->body == TR_HTTP_BODY_LENGTH) {
        if (req->content_length > conf->admin_max_body) {
            c->close_after = true;
            send_error(c, TR_ETOOLARGE, NULL, false);
            uv_read_stop((uv_stream_t *)&c->tcp);
            return false;
        }
        if (c->in.len - head_len < req->content_length)
            return false;
        body = (struct tr_str){c->in.ptr + head_len, (size_t)req->content_length};
        consumed += (size_t)req->content_length;
    } else if (req->body == TR_HTTP_BODY_CHUNKED) {
        /* Decode in place: data slices are moved down right after the head. */
        struct tr_http_chunked dec;
        tr_http_chunked_init(&dec);
        size_t in = head_len, out = head_len;
        for (;;) {
            size_t used = 0;
            struct tr_str data;
            int r = tr_http_chunked_parse(&dec, c->in.ptr + in, c->in.len - in, &used, &data);
            if (r < 0) {
                c->close_after = true;
                send_error(c, TR_EBADREQ, NULL, false);
                uv_read_stop((uv_stream_t *)&c->tcp);
                return false;
            }
            if (r == 1) {
                if (dec.body_len > conf->admin_max_body) {
                    c->close_after = true;
                    send_error(c, TR_ETOOLARGE, NULL, false);
                    uv_read_stop((uv_stream_t *)&c->tcp);
                    return false;
                }
                memmove(c->in.ptr + out, data.ptr, data.len);
                out += data.len;
            }
            in += used;
            if (r == 2)
                break;
            if (r == 0)
                return false; /* incomplete: re-decode from the start when more arrives */
        }
        body = (struct tr_str){c->in.ptr + head_len, out - head_len};
        consumed = in;
    }
    if (!req->keep_alive || c->srv->stopping)
        c->close_after = true; /* a stopping node answers, then closes */
    if (req->expect_continue && body.len == 0 && req->body != TR_HTTP_BODY_NONE)
        return false;
    handle_request(c, req, body);
    c->cors_origin = TR_STR_NULL; /* it points into the bytes moved below */
    c->have_req = false;
    tr_buf_consume(&c->in, consumed);
    return true;
}

static void on_timeout(uv_timer_t *t)
{
    conn_close(t->data);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct admin_conn *c = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        if (c->pending_writes == 0)
            conn_close(c);
        else
            c->close_after = true;
        return;
    }
    tr_buf_commit(&c->in, (size_t)nread);
    uv_timer_start(&c->timer, on_timeout, ADMIN_IDLE_TIMEOUT_MS, 0);
    /* Expect: 100-continue from curl on large bodies. */
    if (c->in.len > 0 && !c->close_after) {
        int rc = tr_http_parse_request(c->in.ptr, c->in.len, NULL, &c->req);
        if (rc > 0 && c->req.expect_continue && c->in.len == (size_t)rc &&
            c->req.content_length <= c->srv->conf->admin_max_body) {
            static char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            struct admin_wbuf *wb = tr_xmalloc(sizeof(*wb) + sizeof(cont));
            wb->c = c;
            memcpy(wb->data, cont, sizeof(cont) - 1);
            uv_buf_t ub = uv_buf_init(wb->data, sizeof(cont) - 1);
            if (uv_write(&wb->req, s, &ub, 1, on_written) == 0)
                c->pending_writes++;
            else
                free(wb);
            c->req.expect_continue = false;
        }
    }
    while (!c->closing && !c->close_after && c->in.len > 0 && process_one(c))
        ;
    if (c->close_after)
        uv_read_stop(s);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct tr_admin_server *srv = listener->data;
    if (status < 0)
        return;
    struct admin_conn *c = tr_xcalloc(1, sizeof(*c));
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = c;
    uv_timer_init(srv->loop, &c->timer);
    c->timer.data = c;
    c->handles = 2;
    srv->open_conns++;
    tr_list_push(&srv->conns, &c->link);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    for (size_t i = 0; i < srv->num_listeners; i++) {
        if ((uv_stream_t *)&srv->listeners[i] == listener)
            c->loopback_listener = srv->loopback[i];
    }
    struct sockaddr_storage ss;
    int ss_len = sizeof(ss);
    snprintf(c->peer, sizeof(c->peer), "-");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &ss_len) == 0)
        uv_ip_name((struct sockaddr *)&ss, c->peer, sizeof(c->peer));
    tr_buf_init(&c->in, (size_t)srv->conf->admin_max_body + 64 * 1024);
    uv_timer_start(&c->timer, on_timeout, ADMIN_IDLE_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

struct tr_admin_server *tr_admin_server_start(uv_loop_t *loop, const struct tr_conf *conf,
                                              struct tr_admin_env *env, const int *fds,
                                              const bool *loopback, size_t num_fds, char *err,
                                              size_t err_len)
{
    struct tr_admin_server *srv = tr_xcalloc(1, sizeof(*srv));
    srv->loop = loop;
    srv->conf = conf;
    srv->env = env;
    tr_list_init(&srv->conns);
    char why[256];
    if (tr_origin_list_parse(tr_str_from_cstr(conf->admin_gui_origins), &srv->gui_origins, why,
                             sizeof(why)) != 0) {
        /* tr_conf_load checked the list already: only a caller's own conf gets here. */
        snprintf(err, err_len, "admin_gui_origins: %s", why);
        free(srv);
        return NULL;
    }
    /* The Status API keeps no access log (Kong's status_access_log is off by default). */
    const char *log_path = env->status_only ? NULL : conf->admin_access_log;
    if (log_path && log_path[0] != '\0' && strcmp(log_path, "off") != 0) {
        srv->access_log = tr_logfile_open(log_path);
        if (srv->access_log == NULL) {
            snprintf(err, err_len, "cannot open admin_access_log '%s'", log_path);
            tr_origin_list_free(&srv->gui_origins);
            free(srv);
            return NULL;
        }
    }
    for (size_t i = 0; i < num_fds && i < TR_CONF_MAX_LISTEN; i++) {
        /* A duplicate: libuv owns (and closes) it; the node keeps its own copy. */
        int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
        uv_tcp_t *t = &srv->listeners[srv->num_listeners];
        uv_tcp_init(loop, t);
        t->data = srv;
        srv->loopback[srv->num_listeners] = loopback[i];
        srv->num_listeners++;
        int rc = fd < 0 ? UV_EBADF : uv_tcp_open(t, fd);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)t, 128, on_connection);
        if (rc != 0) {
            snprintf(err, err_len, "cannot listen for the Admin API: %s", uv_strerror(rc));
            tr_admin_server_stop(srv, 0);
            return NULL;
        }
    }
    return srv;
}

static void free_server(struct tr_admin_server *srv)
{
    tr_logfile_close(srv->access_log);
    tr_origin_list_free(&srv->gui_origins);
    free(srv);
}

static void on_server_closed(uv_handle_t *h)
{
    struct tr_admin_server *srv = h->data;
    srv->num_listeners--;
    maybe_free(srv);
}

void tr_admin_server_stop(struct tr_admin_server *srv, unsigned grace_ms)
{
    srv->stopping = true;
    /* As the proxy's drain: a request on its way is answered (with Connection: close), an idle
     * keep-alive connection gets grace_ms to send one more, then ends; none is cut at once
     * under a client that just sent a request on it. */
    for (struct tr_list *l = srv->conns.next, *next; l != &srv->conns; l = next) {
        next = l->next;
        struct admin_conn *c = TR_LIST_ENTRY(l, struct admin_conn, link);
        if (grace_ms == 0)
            conn_close(c);
        else if (c->in.len == 0 && c->pending_writes == 0)
            uv_timer_start(&c->timer, on_timeout, grace_ms, 0);
    }
    size_t n = srv->num_listeners;
    if (n == 0) {
        maybe_free(srv);
        return;
    }
    for (size_t i = 0; i < n; i++)
        uv_close((uv_handle_t *)&srv->listeners[i], on_server_closed);
}
