/* SPDX-License-Identifier: MIT */
/* Structures shared by the proxy's files (client.c, exchange.c, upstream.c, forward.c,
 * respond.c). Not for use outside src/proxy/. One client connection runs at most one exchange
 * (request + response) at a time; pipelined requests wait in the client's read buffer. */
#ifndef TR_PROXY_INTERNAL_H
#define TR_PROXY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "balancer/balancer.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/list.h"
#include "core/str.h"
#include "http/parser.h"
#include "http/ws_frames.h"
#include "http/socket.h"
#include "http/websocket.h"
#include "plugins/plugin.h"
#include "plugins/registry.h"
#include "proxy/proxy.h"

struct tr_route;
struct tr_service;
struct tr_cidr_list;
struct tr_exchange;
struct tr_tls_server;
struct tr_tls_client;
struct tr_plugin_instance;

/* The request head as the exchange keeps it: every slice points into the exchange's arena
 * copy, so it outlives the client buffer (plugins may yield). */
struct tr_req_view {
    struct tr_str method, target, path, query, host;
    bool has_query;
    struct tr_http_header *headers;
    size_t num_headers;
    enum tr_http_body body;
    uint64_t content_length;
};

/* A header edit made by a plugin: set (replaces every earlier value), append (after the values
 * already there) or remove. A later set or remove of the same name turns the earlier edits
 * into removes, so only live values are ever written. */
struct tr_hdr_edit {
    struct tr_str name, value;
    bool remove;
    bool append;
};

/* The plugin-facing request context (plugins/plugin.h), embedded in the exchange. */
struct tr_ctx {
    struct tr_exchange *ex;
    struct tr_arena arena;
    char request_id[33];      /* the log serializer's request.id, made on first use */
    json_t *serialize_values; /* owned; tr_ctx_set_serialize_value's fields (null: remove) */
    struct tr_str norm_path;
    /* The regex captures of the Kong 3 route path that matched (Kong's uri_captures): offsets
     * into norm_path, two per group (group 0 the whole match), SIZE_MAX for a group that took
     * no part; names borrowed from the router (the snapshot hold keeps them). */
    size_t *captures; /* arena, or NULL */
    uint32_t num_captures;
    const struct tr_router_capture_name *capture_names;
    size_t num_capture_names;
    const struct tr_consumer *consumer;
    const struct tr_credential *credential;
    const char *credential_identifier; /* arena; X-Credential-Identifier when not the id */
    const char *credential_username;   /* arena; X-Credential-Username, or NULL */
    bool anonymous;
    TR_VECTOR(struct tr_hdr_edit) req_edits; /* arena; upstream request header edits */
    TR_VECTOR(struct tr_str) removed_args;   /* arena; query arguments removed */
    TR_VECTOR(struct tr_hdr_edit) res_adds;  /* arena; response header edits */
    /* Upstream request line edits (len 0 / false: as routing made it). */
    struct tr_str up_method; /* arena */
    struct tr_str up_query;  /* arena; with up_query_set, replaces the query (removed_args too) */
    bool up_query_set;
    /* The upstream response head while header_filter runs (the worker's scratch), else NULL. */
    const struct tr_http_response *res;
    /* Plugins (bits over ran[]) that asked for the whole response body (body_filter), and the
     * body a body_filter set. */
    uint64_t body_filters;
    struct tr_str res_body_out; /* arena */
    bool res_body_set;
    /* A plugin's own answer. */
    int exit_status;
    struct tr_str exit_body, exit_ctype;
    /* Phase runner. */
    size_t cursor; /* next chain entry of the access phase */
    const struct tr_plugin_instance *current;
    const struct tr_plugin_instance *ran[TR_PLUGIN_MAX]; /* instances resolved in access */
    void *states[TR_PLUGIN_MAX];                         /* per ran[] entry */
    size_t num_ran;
    bool yielded;
    bool buffering; /* the route's request_buffering read has started */
    bool access_done;
    /* Tracing (trace.c): the request's spans, the plugin span open across a yield, the try
     * being made (its start, Unix ns) and the tries made. */
    struct tr_trace trace;
    int plugin_span;
    uint64_t try_start_ns;
    unsigned tries;
};

/* Back-pressure: stop reading a source when its sink has this much queued, resume below LOW. */
#define TR_PROXY_QUEUE_HIGH (256 * 1024)
#define TR_PROXY_QUEUE_LOW (64 * 1024)
#define TR_PROXY_READ_CHUNK (64 * 1024)
/* Interim (1xx) answers skipped before a final one; one more is a 502 (P9). A real upstream
 * sends one or two (100 Continue, 103 Early Hints); an endless stream would hold the request. */
#define TR_PROXY_MAX_INTERIM 32

enum tr_client_state {
    TR_CLIENT_IDLE,      /* keep-alive: waiting for the first byte of a request */
    TR_CLIENT_HEAD,      /* part of a request head has arrived */
    TR_CLIENT_BUSY,      /* an exchange is running (body may still be arriving) */
    TR_CLIENT_TUNNEL,    /* after a 101: raw bytes both ways */
    TR_CLIENT_LINGER,    /* response sent, write side shut: discard input until EOF or timeout */
    TR_CLIENT_CLOSING,   /* uv_close called */
    TR_CLIENT_HANDSHAKE, /* TLS listener: handshake in progress (counted as reading) */
};

struct tr_client {
    struct tr_sock sock; /* sock.data = this; sock.in holds the input not processed yet */
    uv_timer_t timer;
    struct tr_proxy_worker *w;
    struct tr_list link; /* in w->clients */
    enum tr_client_state state;
    bool tls_listener; /* accepted on a listener flagged ssl */
    bool close_after;  /* close once the current response is written */
    unsigned handles;  /* the socket and the timer, until each is closed */
    unsigned requests; /* requests started on this connection */
    /* the current request's head, still at the front of sock.in while its exchange starts (an
     * answer written then must not take it for a pipelined request) */
    size_t head_unconsumed;
    uint64_t head_start_ms;
    char peer_ip[48];
    char local_ip[48]; /* the address the client reached */
    uint16_t local_port;
    uint64_t serial;        /* the connection's number among this node's (nginx's $connection) */
    struct tr_exchange *ex; /* current exchange or NULL */
    struct tr_http_request req; /* scratch for the head parser */
};

struct tr_upconn;

/* What an upstream connection tells its user: an exchange, or anything else that takes a
 * connection from the pool (a health check, a log shipper). ud is the pointer the user gave
 * with these callbacks; up stays the user's until tr__upstream_release or a callback that says
 * it is gone (up itself stays readable during that callback). */
struct tr_upstream_cbs {
    /* Connecting ended: up is ready for a request (err 0), or this attempt failed (err
     * TR_EUPSTREAM_REFUSED, TR_EUPSTREAM_TIMEOUT or TR_EDNS: up is gone). Whether to try again
     * is the user's choice. Never called from inside tr__upstream_connect. */
    void (*on_connect)(void *ud, struct tr_upconn *up, int err);
    /* New bytes are in up->sock.in (the read timeout starts again). */
    void (*on_data)(void *ud, struct tr_upconn *up);
    /* The upstream closed or reset the connection, or a write failed: release up. */
    void (*on_eof)(void *ud, struct tr_upconn *up);
    /* Queued writes fell below TR_PROXY_QUEUE_LOW. */
    void (*on_drained)(void *ud, struct tr_upconn *up);
    /* Nothing came within the read timeout (err TR_EUPSTREAM_TIMEOUT): up is gone. */
    void (*on_error)(void *ud, struct tr_upconn *up, int err);
};

struct tr_upconn {
    struct tr_sock sock; /* sock.data = this; set up once the address is known (sock_open) */
    uv_timer_t timer;    /* connect, read and idle timeouts */
    uv_connect_t connect_req;
    uv_getaddrinfo_t gai;
    uv_timer_t dns_wait; /* while the service's name waits for the node's resolver */
    uint64_t dns_seen;   /* the snapshot version last looked at */
    struct tr_proxy_worker *w;
    /* The user, while in use (all NULL when pooled): its service (borrowed: the user keeps
     * the snapshot), its callbacks and its pointer. */
    const struct tr_service *svc;
    const struct tr_upstream_cbs *cbs;
    void *ud;
    struct tr_list link; /* in w->idle_upstreams while pooled */
    char *key;           /* owned pool key (the service's pool_key, then "|sni=" and sni) */
    char *sni;           /* owned TLS server name when it is not the service's host, or NULL */
    char addr[64];       /* "ip:port" once connecting */
    uint16_t port;       /* the port dialled */
    bool connected, closing, sock_open;
    bool unpooled;     /* its key did not fit: never pooled */
    bool dns_waiting;  /* dns_wait is initialised (closed with the connection) */
    int fail_err;      /* a connect failure to report from the timer (tr__upstream_connect) */
    unsigned handles;  /* timer, socket and a pending name lookup, until each is done */
    unsigned requests; /* requests sent on this connection */
    uint64_t idle_since_ms;
};

/* A request body read for a plugin before the access phase goes on (body.c). */
struct tr_body_read {
    struct tr_buf data; /* owned; the start of the body (decoded when chunked) */
    size_t max;         /* what the plugin reads at most (data may pass it by one piece) */
    void (*done)(struct tr_ctx *ctx, bool complete);
    bool reading;  /* a yielded plugin waits for the body */
    bool kept;     /* data holds the start of the body: sent upstream before the rest */
    bool complete; /* data holds the whole body (sent upstream with its Content-Length) */
    bool counted;  /* its bytes were counted against a body limit (a retry sends them again) */
};

struct tr_exchange {
    struct tr_client *c;
    struct tr_proxy_worker *w;
    struct tr_snap_hold *hold;        /* one user counted */
    const struct tr_route *route;     /* borrowed from hold->snap; NULL until routed */
    const struct tr_service *service; /* route->service */

    /* Copied facts about the request (the head bytes are gone once forwarded). */
    char *meta; /* owned: method, path, host, for logs and errors */
    struct tr_str method, path, host;
    int minor_version;
    bool is_head, idempotent, expect_continue, client_keep_alive;
    bool up_is_head; /* a plugin made the upstream request a HEAD (its answer has no body) */
    bool error_through_plugins; /* fail() answered through the plugins' header_filter */
    bool upgrade; /* a WebSocket handshake is forwarded (the only upgrade torii forwards) */
    /* Where each direction of a WebSocket tunnel stands among its frames: a close frame may
     * only go between two (tr__exchange_tunnel_going_away). */
    struct tr_ws_stream ws_to_client, ws_to_upstream;
    char ws_accept[TR_WS_ACCEPT_LEN + 1]; /* with upgrade: the Sec-WebSocket-Accept wanted */
    struct tr_str prefix; /* the matched path prefix removed from the upstream path (sent as
                             X-Forwarded-Prefix), len 0 when nothing was stripped */

    /* Request body relay (client -> upstream). */
    enum tr_http_body req_body;
    uint64_t req_remaining;
    struct tr_http_chunked req_dec;
    bool req_done;       /* the whole request body has been read from the client */
    bool req_sent_any;   /* some of the request (head or body) was written to an upstream */
    bool req_body_began; /* a body byte was written: no more retries */
    bool continue_sent;
    bool wants_upstream; /* routed; waiting for the client to drop the head bytes */
    bool starting;       /* inside tr__exchange_start */
    bool may_send_continue;
    bool aborted;        /* freed while a plugin was yielded: free on resume */
    bool peer_trusted;   /* the peer is in trusted_ips (its X-Forwarded-For is believed) */
    bool req_limited;    /* a plugin set a body limit (tr_ctx_set_body_limit) */
    uint64_t req_limit;  /* with req_limited: body bytes allowed */
    uint64_t req_count;  /* body bytes relayed so far */
    char client_ip[48];  /* P8: the computed client address */
    struct tr_str upath; /* path (+ nothing else) sent upstream, in the ctx arena */

    /* The upstream head we send (kept for retries). */
    char *up_head;
    size_t up_head_len;
    struct tr_upconn *up;
    unsigned attempts;

    /* A service balanced over an upstream (balance.c): the address of the current try (picked,
     * not released yet), the addresses tried, the hash key (computed once), the Host the head
     * carries for the pick (arena), and when the try began (monotonic us). */
    const struct tr_lb_address *lb_addr;
    struct tr_lb_tried lb_tried;
    struct tr_str lb_key;
    bool lb_keyed;
    char *lb_host;
    uint64_t t_try_start;

    struct tr_req_view rv;    /* the request, kept (arena) */
    struct tr_body_read body; /* a body read for a plugin (tr_ctx_read_body) */
    struct tr_ctx ctx;        /* plugin context; its arena holds rv */

    /* Response relay (upstream -> client). */
    bool res_keep_alive; /* the upstream may reuse its connection after this response */
    bool res_head_parsed, res_started, res_done, res_chunked_out, res_close_delimited;
    unsigned res_interim; /* interim (1xx) answers skipped so far (TR_PROXY_MAX_INTERIM) */
    enum tr_http_body res_body;
    uint64_t res_remaining;
    struct tr_http_chunked res_dec;
    int status;
    uint64_t bytes_sent;      /* response body bytes written to the client */
    uint64_t head_bytes_sent; /* the response head's bytes */
    char *client_head;        /* owned; the response head the client got (log serializer) */
    uint64_t req_bytes_in;    /* request bytes read from the client: head and body */
    bool proxied;             /* the client got the upstream's answer (Kong's source "service") */
    /* A body held for the plugins' body_filter: the head (arena copy) waits for it. */
    bool res_holding;
    struct tr_buf res_held;
    struct tr_http_response *res_kept;
    bool unrouted; /* answered "no route matched": global plugins log it */

    /* Timing (monotonic microseconds). */
    uint64_t t_start, t_upstream_start, t_upstream_head;
    uint64_t t_connect_start;   /* the first try to reach the upstream began (0: never) */
    const char *upstream_error; /* for the access log */
    char upstream_addr[64];
};

/* client.c */
int tr__client_write(struct tr_client *c, const uv_buf_t *bufs, unsigned nbufs);
void tr__client_exchange_done(struct tr_client *c);
void tr__client_abort(struct tr_client *c);
void tr__client_pause(struct tr_client *c);
void tr__client_resume(struct tr_client *c);
/* A drain begins (all false): idle clients get drain_idle_grace to send one more request,
 * busy ones answer with Connection: close. The drain is over (all true): every client is
 * closed, a WebSocket tunnel after a close frame (tr__exchange_tunnel_going_away). */
void tr__proxy_clients_drain(struct tr_proxy_worker *w, bool all);
/* Close every client connection now. */
void tr__proxy_clients_close_all(struct tr_proxy_worker *w);

/* exchange.c */
/* Route a parsed head and prepare the upstream request. The head's bytes must stay in the
 * client buffer during the call; afterwards the client drops them and, if ex->wants_upstream,
 * calls tr__exchange_connect. */
void tr__exchange_start(struct tr_client *c, const struct tr_http_request *req);
void tr__exchange_connect(struct tr_exchange *ex);
/* A yielded plugin finished with rc: continue the access phase. */
void tr__exchange_resume(struct tr_exchange *ex, int rc);
void tr__exchange_on_client_data(struct tr_exchange *ex);
void tr__exchange_on_client_eof(struct tr_exchange *ex);
void tr__exchange_on_client_drained(struct tr_exchange *ex);
/* Does the answer whose head is being written end the connection? Decided at that moment, so
 * a drain that began while the request was in flight still says Connection: close (unless a
 * request the client pipelined is already waiting: that one is answered too). A yes is
 * recorded on the client (close_after). */
bool tr__exchange_closes(struct tr_exchange *ex);
/* The drain is over and ex is a WebSocket tunnel: send a close frame 1001 "going away" each
 * way where that direction is between two frames (inside one, that side only sees the
 * connection end), let the upstream go and free ex. The client connection is the caller's to
 * close once the frame is written. */
void tr__exchange_tunnel_going_away(struct tr_exchange *ex);
void tr__exchange_free(struct tr_exchange *ex);
/* Fail the exchange with err, a TR_E* code (its error answer, or an abort once the answer
 * began); ex is freed. */
void tr__exchange_fail(struct tr_exchange *ex, int err);
/* Count n more request body bytes against a plugin's body limit; false (ex freed, 413
 * answered) when they do not fit. */
bool tr__exchange_body_within_limit(struct tr_exchange *ex, size_t n);

/* body.c: reading the request body for a plugin. */
/* Move body bytes from the client buffer into ex->body; once the body is complete (or passed
 * its max) call the plugin's done. ex may be freed on return. */
void tr__body_pump(struct tr_exchange *ex);
/* Write the kept body bytes to the upstream after the head. Returns false when the exchange
 * failed (ex freed). */
bool tr__body_send_kept(struct tr_exchange *ex);
/* Free what ex->body owns. */
void tr__body_free(struct tr_exchange *ex);

/* upstream.c: connections to services and the worker's keep-alive pool, keyed by the
 * service's pool_key. cbs (static) and ud are the user's (see struct tr_upstream_cbs). */
/* sni, for an https service, is the TLS server name to send (and verify) instead of the
 * service's host (NULL: the host); connections made for another name are never shared. */
/* addr, for a service balanced over an upstream, is the address the balancer picked, for a
 * host the node's resolver answered one of its addresses (dialled instead of the service's
 * host; its connections are pooled apart); NULL otherwise. */
/* An idle pooled connection for svc, now ud's and ready for a request; NULL when none. */
struct tr_upconn *tr__upstream_take_idle(struct tr_proxy_worker *w, const struct tr_service *svc,
                                         const char *sni, const struct tr_lb_address *addr,
                                         const struct tr_upstream_cbs *cbs, void *ud);
/* A new connection for ud: resolves svc's host (or takes addr), connects under svc's connect
 * timeout and, for an https service, runs the TLS handshake (offering the worker's last
 * session for the pool key); cbs->on_connect reports the end. Never NULL. */
struct tr_upconn *tr__upstream_connect(struct tr_proxy_worker *w, const struct tr_service *svc,
                                       const char *sni, const struct tr_lb_address *addr,
                                       const struct tr_upstream_cbs *cbs, void *ud);
int tr__upstream_write(struct tr_upconn *up, const uv_buf_t *bufs, unsigned nbufs);
/* Read (again), and (timeout_ms > 0) start the read timeout. */
void tr__upstream_start_reading(struct tr_upconn *up, uint32_t timeout_ms);
void tr__upstream_stop_reading(struct tr_upconn *up);
/* The user lets go of up: back to the pool when reusable (and the pool takes it), else
 * closed. No callback reaches the user afterwards. */
void tr__upstream_release(struct tr_upconn *up, bool reusable);
void tr__upstream_close_idle(struct tr_proxy_worker *w, bool all);
void tr__upstream_arm_timer(struct tr_upconn *up, uint32_t timeout_ms);

/* balance.c: a request to a service whose host names an upstream. */
/* Pick the address of the next try (releasing the last one's): 1 when the Host for it differs
 * from the last try's (the head must be built again), 0 when not, TR_ENOPEER when the
 * balancer has no address to give. */
int tr__balance_pick(struct tr_exchange *ex);
/* The TLS name for the pick (the Host without port; NULL when not balanced). */
const char *tr__balance_sni(const struct tr_exchange *ex);
/* How a try ended, for the upstream's passive health checks. */
enum tr_balance_outcome {
    TR_TRY_TCP_FAILURE, /* refused, reset or closed before a response */
    TR_TRY_TIMEOUT,     /* connect or read timeout */
    TR_TRY_STATUS,      /* a response head with status (0: an invalid one) */
};
void tr__balance_report(struct tr_exchange *ex, enum tr_balance_outcome outcome, unsigned status);
/* The try is over (answered: its response was relayed, its time counts for latency). */
void tr__balance_done(struct tr_exchange *ex, bool answered);

/* forward.c: the heads torii sends, all written through http/writer.h. Each returns a head
 * (free()) and its length, or NULL when a field torii built (a plugin header, an identity
 * header from a stored row, a stored host or path) holds a control byte: the refusal is logged
 * and the caller answers 500 instead (nothing is sent). */
char *tr__forward_request_head(struct tr_exchange *ex, struct tr_str upstream_path, size_t *len);
char *tr__forward_response_head(struct tr_exchange *ex, const struct tr_http_response *res,
                                size_t *len);
/* The headers of the `headers` setting that end every answer to ex: the upstream and proxy
 * latencies once the request went upstream (proxied, or failed there), else
 * X-Kong-Response-Latency; then X-Kong-Request-Id. */
struct tr_http_writer;
void tr__forward_tokens(struct tr_http_writer *o, struct tr_exchange *ex);
/* The head of a plugin's own answer (tr_ctx_respond): status, Date, Content-Type, length, the
 * plugin's response headers, Connection: close when close, Server. */
char *tr__forward_plugin_answer_head(struct tr_exchange *ex, bool close, size_t *len);

/* phases.c: run the access phase from ctx->cursor; returns TR_PLUGIN_NEXT when every plugin
 * passed, TR_PLUGIN_EXIT (ctx->exit_status set), TR_PLUGIN_YIELD, or TR_PLUGIN_FAIL. */
int tr__phases_access(struct tr_ctx *ctx);
/* Kong's delayed response: once a plugin answered (or failed), the plugins after it in the
 * chain skip their access phase but are still collected, so their header_filter and log phases
 * run on that answer (a 401 of key-auth is counted by prometheus and logged by file-log). */
void tr__phases_collect_rest(struct tr_ctx *ctx);
void tr__phases_header_filter(struct tr_ctx *ctx);
/* The body_filter of the plugins that asked for the body (tr_ctx_buffer_response), in order,
 * each on what the one before set: returns the body for the client (borrowed: body itself,
 * or arena memory). */
struct tr_str tr__phases_body_filter(struct tr_ctx *ctx, struct tr_str body);
void tr__phases_log(struct tr_ctx *ctx);
/* A request no route matched: the log phase of the global instances (Kong logs its 404). */
void tr__phases_log_unrouted(struct tr_ctx *ctx);
/* ctx.c: the request's id, 32 hex digits (Kong's $kong_request_id), made on first use from
 * the worker's random key and counter: unique, cheap, not a secret. */
const char *tr__ctx_request_id(struct tr_ctx *ctx);
/* ctx.c: set up / tear down the context of ex. */
void tr__ctx_init(struct tr_ctx *ctx, struct tr_exchange *ex);
void tr__ctx_fini(struct tr_ctx *ctx);
/* The "X-Consumer-*" etc. headers owed to the upstream, appended through put(). */
void tr__ctx_identity_headers(const struct tr_ctx *ctx,
                              void (*put)(void *ud, const char *name, struct tr_str value),
                              void *ud);
/* Is request header name removed or replaced by a plugin (its client values dropped)? */
bool tr__ctx_header_edited(const struct tr_ctx *ctx, struct tr_str name);
/* Is response header name removed or replaced by a plugin (the upstream's values dropped)? */
bool tr__ctx_response_header_removed(const struct tr_ctx *ctx, struct tr_str name);
/* First value of argument name in raw form text (query or form body), decoded into the
 * arena. */
bool tr__ctx_find_arg(struct tr_ctx *ctx, struct tr_str raw, struct tr_str name,
                      struct tr_str *value);

/* trace.c: the spans of a request (when tracing_instrumentations is not off). Each call is a
 * no-op when the request records nothing, or the instrumentation (TR_TRACE_*) is off. */
void tr__trace_request_begin(struct tr_ctx *ctx);
/* A span (name copied) under the root; its index, or -1 when not recorded. */
int tr__trace_span_begin(struct tr_ctx *ctx, unsigned instrumentation, const char *name,
                         enum tr_span_kind kind);
void tr__trace_span_end(struct tr_ctx *ctx, int span, bool error, const char *message);
/* The balancer span, made before going upstream (its id is what a plugin propagates). */
void tr__trace_balancer_prepare(struct tr_ctx *ctx);
/* A try begins; a try ends (outcome as tr__balance_report's; a failed try gets a span of its
 * own, the one that answered fills the prepared span). */
void tr__trace_try_begin(struct tr_exchange *ex);
void tr__trace_try_end(struct tr_exchange *ex, enum tr_balance_outcome outcome, unsigned status);
/* Before the log phase: the root's end and attributes, the answering try's span. */
void tr__trace_request_end(struct tr_exchange *ex);

/* serialize.c: free a worker's cache of route and service rows as text. */
void tr__serialize_cache_free(struct tr_entity_cache *c);

/* respond.c */
/* worker.c: the worker's hold of the current snapshot, taken by each exchange as it starts (one
 * atomic load when nothing changed) and released when it ends; a hold replaced meanwhile is
 * freed by its last user. NULL before the first snapshot. */
struct tr_snap_hold *tr__worker_hold(struct tr_proxy_worker *w);
void tr__worker_release_hold(struct tr_proxy_worker *w, struct tr_snap_hold *h);

/* respond.c: torii's own answers. An error: err's status and {"message": err's message}
 * (core/err.h); with close, Connection: close (and, when no exchange runs, the connection is
 * done). Kong 0.7's 404 naming the path and hosts no api matched. The 426 of an HTTPS-only
 * route. The 200 to OPTIONS *. */
void tr__respond_error(struct tr_client *c, int err, bool close);
void tr__respond_no_route(struct tr_client *c, struct tr_str path, const struct tr_str *hosts,
                          size_t num_hosts, bool kong3, bool close);
void tr__respond_https_required(struct tr_client *c, bool close);
/* A Kong 3 route's https_redirect_status_code: status with Location: https://host target. */
void tr__respond_redirect(struct tr_client *c, int status, struct tr_str host, struct tr_str target,
                          bool close);
void tr__respond_options_star(struct tr_client *c);

/* tls.c (proxy side of TLS: contexts, SNI from the snapshot, upstream sessions, scheme) */
struct tr_tls_server *tr__tls_server(void);
struct tr_tls_client *tr__tls_client(void);
/* Is the request on c to be treated as HTTPS: a TLS listener, or (allow_terminated) a peer in
 * trusted_ips that sent X-Forwarded-Proto: https. */
bool tr__client_is_https(const struct tr_client *c, const struct tr_http_request *req,
                         bool allow_terminated);
/* Is c's peer address in trusted_ips? */
bool tr__client_trusted(const struct tr_client *c);
/* Upstream TLS session cache of the worker, keyed by pool key: borrowed or NULL. */
struct ssl_session_st *tr__tls_session_get(struct tr_proxy_worker *w, const char *key);
void tr__tls_sessions_free(struct tr_proxy_worker *w);

/* realip.c: the client address of P8. When peer is in trusted (non-NULL, non-empty), walk the
 * X-Forwarded-For values of headers (every such field, in order, comma lists) from the right,
 * skipping trusted addresses: the first untrusted valid address is the client; an entry that
 * is not an address stops the walk and the last trusted address is used. Otherwise the client
 * is the peer. Writes the address in canonical text into out (at least 46 bytes) and returns
 * whether the peer is trusted. Allocates nothing. */
bool tr__realip_compute(const struct tr_cidr_list *trusted, const char *peer,
                        const struct tr_http_header *headers, size_t num_headers, char *out,
                        size_t out_len);
/* The trusted_ips list of the node (tls.c; empty until tr_proxy_tls_init). */
const struct tr_cidr_list *tr__trusted_ips(void);

/* access_log.c */
void tr__access_log_exchange(struct tr_proxy_worker *w, struct tr_exchange *ex);

#endif
