/* SPDX-License-Identifier: MIT */
/* Everything a plugin includes: its descriptor and the request context API. A plugin is one
 * file in src/plugins/ defining one `const struct tr_plugin` (listed in registry.c). It never
 * touches connections, libuv handles or the store: it reads the request and the config snapshot
 * through tr_ctx_* functions and acts through them (see docs/internals/plugins.md). Runtime
 * rows (OAuth2 tokens) are reached through the session tr_ctx_offload_store hands its work,
 * with the backend-neutral calls of store/oauth2.h and store/runtime.h. */
#ifndef TR_PLUGINS_PLUGIN_H
#define TR_PLUGINS_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/str.h"

struct tr_conf;
struct tr_ctx;
struct tr_metrics_shard;
struct tr_schema;
struct tr_store_tx;
struct uv_loop_s;

/* What a request-phase callback returns (style.md §9.3). */
enum tr_plugin_rc {
    TR_PLUGIN_NEXT = 0, /* carry on with the next plugin */
    TR_PLUGIN_EXIT,     /* a response was set with tr_ctx_respond: skip the upstream */
    TR_PLUGIN_YIELD,    /* async work started; the plugin later calls tr_ctx_resume */
    TR_PLUGIN_FAIL,     /* internal error: 500 in Kong's shape, logged with the plugin name */
};

/* Descriptor flags. */
#define TR_PLUGIN_NO_CONSUMER 0x01u /* cannot be scoped to a consumer (auth plugins, acl) */

/* A credential kind a plugin owns: rows hung on consumers, served by the Admin API as
 * /consumers/{c}/<path>[/{id}] and indexed in the config snapshot. */
struct tr_plugin_credential {
    const char *entity; /* store entity, e.g. "keyauth_credentials" */
    const char *path;   /* admin path segment, e.g. "key-auth" */
    const char *alias;  /* older path segment accepted too (e.g. "keyauth"), or NULL */
    /* Fields of a row. The Admin API adds id, created_at and consumer_id (from the path) when
     * the schema does not list them. */
    const struct tr_schema *schema;
    const char *lookup_field; /* field indexed for O(1) lookup (e.g. "key"), or NULL */
    /* Optional: rewrite the validated doc before it is stored (hash a password); returns 0, or
     * a negative TR_E* code (TR_EINVAL for a bad value) with a message (answered 400
     * {"message": ...}). On a PATCH, hidden fields the request does not set are withheld from
     * the doc and kept as stored. */
    int (*before_store)(json_t *doc, char *err, size_t err_len);
    /* Optional: a rule that needs what the request itself sent, not only the merged result (a
     * field refused when given but dropped when inherited from the stored row). input holds
     * the request's fields, doc the validated entity, which the hook may edit. Returns 0, or
     * TR_EINVAL with *field and a message (answered 400 {field: message}). Runs before
     * before_store. */
    int (*check_input)(const json_t *input, json_t *doc, const char **field, char *err,
                       size_t err_len);
    /* Optional: fields never returned by the Admin API (e.g. "password"); NULL-terminated. */
    const char *const *hidden_fields;
};

struct tr_plugin {
    const char *name; /* Kong's name, e.g. "key-auth" */
    const char *version;
    int priority;                   /* Kong's priority: higher runs first; ties broken by name */
    unsigned flags;                 /* TR_PLUGIN_* */
    const struct tr_schema *schema; /* config schema ("config" record of the plugin entity) */

    /* Turn the validated config (defaults filled; borrowed) into the plugin's own immutable
     * struct, once per snapshot build on the control thread. NULL with err set on failure. A
     * plugin without conf_parse gets the JSON object itself (borrowed from the snapshot). */
    void *(*conf_parse)(const json_t *config, char *err, size_t err_len);
    void (*conf_free)(void *conf);

    /* Phases (each optional). conf is what conf_parse returned. */
    int (*rewrite)(struct tr_ctx *ctx, const void *conf);
    int (*access)(struct tr_ctx *ctx, const void *conf);
    void (*header_filter)(struct tr_ctx *ctx, const void *conf);
    /* The whole response body, for a plugin whose header_filter called tr_ctx_buffer_response
     * (body is the upstream's, decoded from its framing, or a plugin answer's, or what an
     * earlier body_filter set); it may replace it with tr_ctx_set_response_body. */
    void (*body_filter)(struct tr_ctx *ctx, const void *conf, struct tr_str body);
    void (*log)(struct tr_ctx *ctx, const void *conf);
    /* Called when a request dies while this plugin yielded (client gone, timeout). */
    void (*cancel)(struct tr_ctx *ctx, const void *conf);

    size_t state_size; /* bytes of zeroed per-request scratch: tr_ctx_state() */

    const struct tr_plugin_credential *credentials; /* array, or NULL */
    size_t num_credentials;

    /* Optional: free what the plugin keeps in its tr_ctx_worker_slot (called with the slot's
     * value, when not NULL, as the worker stops). */
    void (*worker_free)(void *slot);

    /* Optional: config fields the Admin API never returns (a private key); NULL-terminated.
     * They are stored and used as usual; answers (create, read, list, update) omit them. */
    const char *const *hidden_config;
};

/* {"message": message} as compact JSON, the answer body Kong's plugins give: malloc'ed (the
 * caller frees it), or NULL when message is not UTF-8. For bodies a conf_parse encodes once;
 * during a request tr_ctx_respond_message does the same. */
char *tr_plugin_message_body(const char *message);

/* A consumer as the snapshot holds it (borrowed from the snapshot; valid for the request). */
struct tr_consumer {
    const char *id;
    const char *username;  /* NULL when unset */
    const char *custom_id; /* NULL when unset */
};

/* A credential row (borrowed from the snapshot; valid for the request). */
struct tr_credential {
    const char *id;
    const struct tr_consumer *consumer; /* NULL if its consumer is gone */
    const json_t *doc;                  /* the stored row; read-only (never incref it) */
};

/* ---- the request ---------------------------------------------------------------------- */

struct tr_str tr_ctx_method(const struct tr_ctx *ctx);
/* Normalized path (what routing saw), without the query. */
struct tr_str tr_ctx_path(const struct tr_ctx *ctx);
/* The request-target as the client sent it (path and query, not normalized), and the minor
 * version of its HTTP/1.x. */
struct tr_str tr_ctx_request_target(const struct tr_ctx *ctx);
int tr_ctx_http_minor_version(const struct tr_ctx *ctx);
/* Raw query string (no '?'), possibly empty. */
struct tr_str tr_ctx_raw_query(const struct tr_ctx *ctx);
/* "http" or "https" as seen by the client. */
const char *tr_ctx_scheme(const struct tr_ctx *ctx);
/* Is the request HTTPS: it came over a TLS listener, or (allow_terminated) the peer is in
 * trusted_ips and sent X-Forwarded-Proto: https (TLS terminated in front of torii). */
bool tr_ctx_is_https(const struct tr_ctx *ctx, bool allow_terminated);
/* Client address (text, canonical form): the socket peer, or, when the peer is in
 * trusted_ips, the first untrusted address of X-Forwarded-For walked from the right (P8). */
const char *tr_ctx_client_ip(const struct tr_ctx *ctx);
/* Host header value (may include a port). */
struct tr_str tr_ctx_host(const struct tr_ctx *ctx);
/* The connection the request came on: the local address and port the client reached, the
 * connection's serial number on this node (nginx's $connection) and the requests it carried,
 * this one included ($connection_requests). */
struct tr_ctx_connection {
    const char *local_ip;
    uint16_t local_port;
    uint64_t serial;
    unsigned requests;
};
void tr_ctx_connection(const struct tr_ctx *ctx, struct tr_ctx_connection *out);

/* First request header named name (case-insensitive). Returns true and sets *value. */
bool tr_ctx_header(const struct tr_ctx *ctx, struct tr_str name, struct tr_str *value);
/* The nth (0: the first) request header named name (case-insensitive), in the order the client
 * sent them: true and *value, or false when there are not that many (tells "sent once" from
 * "sent several times": key-auth's "Duplicate API key found"). */
bool tr_ctx_header_nth(const struct tr_ctx *ctx, struct tr_str name, size_t nth,
                       struct tr_str *value);
/* Percent-decoded value of query argument name (first occurrence), in the request arena.
 * Returns true and sets *value. */
bool tr_ctx_query_arg(struct tr_ctx *ctx, struct tr_str name, struct tr_str *value);

/* ---- the request body -------------------------------------------------------------------- */

/* Is the whole body known already (no body, or read by tr_ctx_read_body)? */
bool tr_ctx_body_ready(const struct tr_ctx *ctx);
/* Read the request body (at most max bytes) before the access phase goes on: call it from a
 * phase callback when tr_ctx_body_ready is false, and return TR_PLUGIN_YIELD. done(ctx,
 * complete) runs on the worker once the body is in (complete) or passed max (not complete:
 * only its start was read, and the rest streams upstream as usual); done must end with
 * tr_ctx_resume. Sends 100 Continue when the client waits for it. The body still goes
 * upstream, as read (re-framed with Content-Length) or as rewritten by tr_ctx_set_body. */
void tr_ctx_read_body(struct tr_ctx *ctx, size_t max,
                      void (*done)(struct tr_ctx *ctx, bool complete));
/* The whole body (empty when there is none): true once it is known, else false. */
bool tr_ctx_body(const struct tr_ctx *ctx, struct tr_str *body);
/* Replace the body sent upstream (once the whole body was read, or when the request has
 * none: it then gets one). Copied. */
void tr_ctx_set_body(struct tr_ctx *ctx, struct tr_str body);
/* Is the body a form (Content-Type application/x-www-form-urlencoded)? */
bool tr_ctx_is_form_body(const struct tr_ctx *ctx);
/* Decoded value of form field name (first occurrence) of a form body read whole. */
bool tr_ctx_form_arg(struct tr_ctx *ctx, struct tr_str name, struct tr_str *value);
/* Remove every form field named name from the body sent upstream: names are compared decoded,
 * as tr_ctx_form_arg compares them ("access%5Ftoken" is "access_token"); the other fields keep
 * their bytes. */
void tr_ctx_remove_form_arg(struct tr_ctx *ctx, struct tr_str name);

/* The matched route and its service (ids and name), borrowed; NULL before routing. A route and
 * service compiled from a Kong 0.7 api carry the api's id (and the service its name), so what a
 * plugin keys on them (tokens, counters) is the same as before. */
const char *tr_ctx_route_id(const struct tr_ctx *ctx);
const char *tr_ctx_service_id(const struct tr_ctx *ctx);
const char *tr_ctx_service_name(const struct tr_ctx *ctx);
/* The matched Kong 3 route's name (NULL when unset, or for an api), and the service's host as
 * its URL names it (an upstream's name, a host name or an address; empty without a service),
 * borrowed. */
const char *tr_ctx_route_name(const struct tr_ctx *ctx);
struct tr_str tr_ctx_service_host(const struct tr_ctx *ctx);
/* Kong's uri_captures: group (0 is the whole match) or the named group of the regex path of
 * the Kong 3 route that matched, as a slice of the normalized path. Returns false (and an
 * empty *out) when the route matched without a regex, or there is no such group, or it took
 * no part in the match. */
bool tr_ctx_uri_capture(const struct tr_ctx *ctx, size_t group, struct tr_str *out);
bool tr_ctx_uri_capture_named(const struct tr_ctx *ctx, const char *name, struct tr_str *out);
/* Legacy attribute: the id of the /apis entity the route was compiled from, or NULL when the
 * route was not (for behaviour Kong 0.7 tied to apis). */
const char *tr_ctx_api_id(const struct tr_ctx *ctx);

/* ---- acting on the upstream request ------------------------------------------------------ */

/* Remove every request header named name (case-insensitive) before the request goes upstream. */
void tr_ctx_remove_header(struct tr_ctx *ctx, struct tr_str name);
/* Add a value to a header sent upstream, after the values it already has (the client's and
 * the ones plugins set): Kong's kong.service.request.add_header. Copied; checked as below. */
void tr_ctx_add_header(struct tr_ctx *ctx, struct tr_str name, struct tr_str value);
/* The nth (0: the first) value of request header name as the upstream would get it now: the
 * client's values unless a plugin set or removed the header, then the values plugins set or
 * added, then torii's identity headers (X-Consumer-*, X-Credential-Identifier). What Kong's
 * kong.request.get_header sees after earlier plugins changed the request. */
bool tr_ctx_upstream_header_nth(const struct tr_ctx *ctx, struct tr_str name, size_t nth,
                                struct tr_str *value);
/* The method sent upstream (Kong's set_method). Copied. */
void tr_ctx_set_method(struct tr_ctx *ctx, struct tr_str method);
/* The path sent upstream instead of the one routing made (Kong's set_path), query excluded.
 * Copied; bytes a request-target cannot carry ('?', '#', spaces, controls, non-ASCII) are
 * percent-encoded. */
void tr_ctx_set_upstream_path(struct tr_ctx *ctx, struct tr_str path);
/* The query sent upstream (Kong's set_raw_query; no '?'; empty: none), replacing the client's
 * and what tr_ctx_remove_query_arg removed. Copied, encoded as tr_ctx_set_upstream_path. */
void tr_ctx_set_upstream_query(struct tr_ctx *ctx, struct tr_str query);
/* The query the upstream would get now (raw, no '?'): the client's minus removed arguments, or
 * what a plugin set. */
struct tr_str tr_ctx_upstream_query(struct tr_ctx *ctx);
/* Set (replace) a header sent upstream. name and value are copied. Checked where the head is
 * written (a token name, no control byte but HTAB in the value), like the X-Consumer-* headers
 * torii derives from stored rows: a bad one fails the request with 500 and nothing reaches the
 * upstream. Host replaces the Host torii sends; Content-Length and Transfer-Encoding are
 * ignored (torii frames every message it sends, P1.8). */
void tr_ctx_set_header(struct tr_ctx *ctx, struct tr_str name, struct tr_str value);
/* Remove a query argument (every occurrence, whatever its spelling: names are compared decoded,
 * as tr_ctx_query_arg compares them) from the query sent upstream; the other arguments keep
 * their bytes. */
void tr_ctx_remove_query_arg(struct tr_ctx *ctx, struct tr_str name);
/* Limit the request body to bytes (the smallest limit set wins). The proxy counts body bytes
 * as it relays them; when the total would pass the limit, nothing more goes upstream, the
 * upstream connection is dropped (it never gets a complete request) and the client gets 413
 * {"message":"Request size limit exceeded"} and a close (or an aborted connection if the
 * response already began). Meant for bodies without Content-Length: a plugin answers a
 * Content-Length over its limit itself, before any byte is read. */
void tr_ctx_set_body_limit(struct tr_ctx *ctx, uint64_t bytes);

/* ---- the response ------------------------------------------------------------------------ */

/* Answer the request now with status and a body (copied; content type JSON unless
 * content_type is given). Further headers of the answer: tr_ctx_add_response_header.
 * The phase callback then returns TR_PLUGIN_EXIT. */
void tr_ctx_respond(struct tr_ctx *ctx, int status, const char *body, const char *content_type);
/* Answer {"message": message} (JSON-escaped): the plugin's own answers, in Kong's wording for
 * that plugin ("No API key found in request", "API rate limit exceeded"). */
void tr_ctx_respond_message(struct tr_ctx *ctx, int status, const char *message);
/* Answer a failure of torii itself, err (a TR_E* value), as the error table says
 * (core/err.h): its status and {"message": <its message>}, never a literal pair in a plugin
 * (TR_EINTERNAL for an unexpected error, TR_EBUSY when the password-hash queue is full). */
void tr_ctx_respond_error(struct tr_ctx *ctx, int err);
/* Add a header to the response the client receives (proxied or plugin-made). Copied; framing
 * fields (Content-Length, Transfer-Encoding) are ignored. Every
 * such header (and a content_type given to tr_ctx_respond) is checked where heads are written:
 * a name that is not a token or a value with a control byte other than HTAB fails the request
 * with 500 and a log line naming the header, so a value taken from config or a stored row can
 * never split a response. */
void tr_ctx_add_response_header(struct tr_ctx *ctx, struct tr_str name, struct tr_str value);
/* Set a response header (replacing every value the upstream or an earlier plugin gave it), or
 * remove it, from header_filter: Kong's kong.response.set_header and clear_header. Copied,
 * checked as above; framing fields stay torii's. */
void tr_ctx_set_response_header(struct tr_ctx *ctx, struct tr_str name, struct tr_str value);
void tr_ctx_remove_response_header(struct tr_ctx *ctx, struct tr_str name);
/* The nth (0: the first) value of response header name as the client would get it now (the
 * upstream's or the plugin answer's, with the plugins' edits), from header_filter. */
bool tr_ctx_response_header_nth(const struct tr_ctx *ctx, struct tr_str name, size_t nth,
                                struct tr_str *value);
/* From header_filter: have this plugin's body_filter called with the whole response body.
 * The head then waits for the body, which goes out with its Content-Length; a body larger
 * than TR_PLUGIN_RESPONSE_BUFFER_MAX stops being buffered: what was held and the rest stream
 * as they come and body_filter is not called (logged). No effect on responses without a body
 * (HEAD, 204, 304). */
#define TR_PLUGIN_RESPONSE_BUFFER_MAX (8u * 1024 * 1024)
void tr_ctx_buffer_response(struct tr_ctx *ctx);
/* From body_filter: the response body the client gets instead. Copied. */
void tr_ctx_set_response_body(struct tr_ctx *ctx, struct tr_str body);
/* Status of the response (0 before it is known). */
int tr_ctx_response_status(const struct tr_ctx *ctx);

/* ---- the log phase ----------------------------------------------------------------------- */

/* What the log phase knows of the exchange, the numbers of Kong's log serializer. */
struct tr_ctx_log_facts {
    int status;             /* the answer's status (499: the client left before one) */
    uint64_t request_size;  /* bytes read from the client, head and body (nginx's
                               $request_length) */
    uint64_t response_size; /* bytes written to the client, head and body ($bytes_sent) */
    int64_t request_ms;     /* from the request's first byte until now */
    int64_t upstream_ms;    /* from the request going upstream to the response head; -1 when
                               nothing came back from an upstream (Kong's latencies.proxy) */
    int64_t kong_ms;        /* torii's own time: until the request went upstream, or until its
                               own answer when it never did (Kong's latencies.kong) */
    bool from_upstream;     /* the client got the upstream's answer (Kong's source "service";
                               otherwise "kong": a plugin's answer or torii's error) */
};
/* Fill *out; meant for the log phase (earlier, the numbers are partial). */
void tr_ctx_log_facts(const struct tr_ctx *ctx, struct tr_ctx_log_facts *out);
/* Kong's log serializer (kong.log.serialize) as compact JSON text ('/' escaped, as Kong's
 * cjson writes it): request {id, uri, url, querystring, method, headers, size, tls},
 * upstream_uri, upstream_status, response {status, size, headers}, latencies {kong, proxy,
 * request, receive}, tries, authenticated_entity, route, service, consumer, client_ip,
 * started_at, source and workspace_name, as Kong 3.9 fills them (docs/plugins.md). malloc'ed
 * (the caller frees it) with one spare byte after its len bytes (a newline fits), or NULL past
 * 16 MiB. Log phase only. */
char *tr_ctx_log_serialize(struct tr_ctx *ctx, size_t *len);
/* Kong's kong.log.set_serialize_value(key, value) in "set" mode: the serializer's output gets
 * key (a top-level field) = value (stolen; NULL removes the field). Any phase; values pile up
 * across the request's plugins, the last one set for a key wins (correlation-id sets
 * "correlation_id"). */
void tr_ctx_set_serialize_value(struct tr_ctx *ctx, const char *key, json_t *value);
/* The worker thread's metric shard (core/metrics.h): series counted there are summed over the
 * node's workers by GET /metrics. Owned by the worker; never NULL during a request. */
struct tr_metrics_shard *tr_ctx_metrics(struct tr_ctx *ctx);

/* ---- tracing ----------------------------------------------------------------------------- */

/* The spans torii records for a request when tracing_instrumentations is not off (Kong's
 * instrumentation: the root "kong", "kong.router", "kong.balancer" per try, and
 * "kong.<phase>.plugin.<name>"), for a plugin to export (opentelemetry). Times are Unix ns. */
enum tr_span_kind { TR_SPAN_INTERNAL = 1, TR_SPAN_SERVER = 2, TR_SPAN_CLIENT = 3 };

struct tr_span_attr {
    const char *key; /* static */
    char type;       /* 's' string, 'i' integer, 'd' double, 'b' boolean */
    const char *s;   /* arena, or static */
    int64_t i;
    double d;
    bool b;
};

#define TR_SPAN_MAX_ATTRS 12

struct tr_span {
    uint8_t id[8];
    int parent; /* index of the parent span, or -1 for the root */
    enum tr_span_kind kind;
    bool error;        /* status ERROR */
    const char *name;  /* arena, or static */
    const char *event; /* an "exception" event's message, or NULL */
    uint64_t event_ns; /* when it happened */
    uint64_t start_ns, end_ns;
    struct tr_span_attr attrs[TR_SPAN_MAX_ATTRS];
    unsigned num_attrs;
};

struct tr_trace {
    bool recording;       /* tracing_instrumentations is not off */
    uint8_t trace_id[16]; /* the request's trace (a plugin may take the incoming one) */
    uint8_t root_parent[8];
    bool has_root_parent;  /* the root's parent: the span id the client's headers named */
    bool sampled;          /* the decision for this trace (a plugin's sampler sets it) */
    struct tr_span *spans; /* arena; spans[0] is the root */
    size_t num, cap;
    int balancer; /* the span of the try that answered (made before going
                     upstream, so its id can be propagated), or -1 */
};

/* The request's trace: NULL when tracing_instrumentations is off. Spans are complete in the
 * log phase (the root's end and its http.* attributes are set before the log phase runs). */
struct tr_trace *tr_ctx_trace(struct tr_ctx *ctx);
/* 8 bytes for a new span or trace id, unpredictable without the worker's secret key (never 0). */
void tr_ctx_random_id(struct tr_ctx *ctx, uint8_t out[8]);

/* ---- identity ---------------------------------------------------------------------------- */

/* Set the authenticated consumer and credential (either may be NULL for anonymous with only
 * the consumer). torii sends X-Consumer-ID, X-Consumer-Username, X-Consumer-Custom-ID and
 * X-Credential-Identifier upstream (and X-Anonymous-Consumer: true when anonymous). */
void tr_ctx_set_consumer(struct tr_ctx *ctx, const struct tr_consumer *consumer,
                         const struct tr_credential *credential, bool anonymous);
/* What X-Credential-Identifier says when not the credential's id (Kong: the basic-auth
 * username, the oauth2 client_id). Copied. */
void tr_ctx_set_credential_identifier(struct tr_ctx *ctx, const char *identifier);
/* X-Credential-Username sent upstream (Kong 0.x-2.x: the basic-auth username). Copied; reset
 * by tr_ctx_set_consumer. */
void tr_ctx_set_credential_username(struct tr_ctx *ctx, const char *username);
const struct tr_consumer *tr_ctx_consumer(const struct tr_ctx *ctx);
const struct tr_credential *tr_ctx_credential(const struct tr_ctx *ctx);

/* ---- the config snapshot ----------------------------------------------------------------- */

/* Credential of kind entity whose lookup_field equals value; NULL when none. O(1). */
const struct tr_credential *tr_ctx_find_credential(const struct tr_ctx *ctx, const char *entity,
                                                   struct tr_str value);
/* Credential of kind entity by its id; NULL when none. O(1). */
const struct tr_credential *tr_ctx_find_credential_by_id(const struct tr_ctx *ctx,
                                                         const char *entity, struct tr_str id);
/* Consumer by id or by username; NULL when none. */
const struct tr_consumer *tr_ctx_find_consumer(const struct tr_ctx *ctx, struct tr_str id_or_name);
/* Call cb for every credential of kind entity belonging to consumer; stops when cb returns
 * false. */
void tr_ctx_foreach_consumer_credential(const struct tr_ctx *ctx, const char *entity,
                                        const struct tr_consumer *consumer,
                                        bool (*cb)(const struct tr_credential *cred, void *ud),
                                        void *ud);

/* ---- memory and async -------------------------------------------------------------------- */

/* Memory freed when the request ends. Never NULL (aborts on OOM). */
void *tr_ctx_alloc(struct tr_ctx *ctx, size_t len);
/* The current plugin instance's zeroed scratch of state_size bytes (NULL if state_size 0). */
void *tr_ctx_state(struct tr_ctx *ctx);
/* Per-worker cache slot for the current plugin (one void* per plugin per worker); plugins own
 * what they store there and must not share it across workers. */
void **tr_ctx_worker_slot(struct tr_ctx *ctx);
/* The worker's libuv loop, for plugins that talk to network services without blocking (the
 * Redis client of rate-limiting). Handles a plugin opens on it are its own: it closes them, at
 * the latest from worker_free (the loop runs once more after worker_free). */
struct uv_loop_s *tr_ctx_loop(struct tr_ctx *ctx);
/* The version of the configuration this request runs on: what the snapshot hands out (routes,
 * services, consumers, instance configs) keeps its address while this version lives, so a
 * worker cache keyed on those addresses stays right if it also keys on this number. */
uint64_t tr_ctx_config_version(const struct tr_ctx *ctx);
/* The node's settings (core/conf.h), read-only. */
const struct tr_conf *tr_ctx_conf(const struct tr_ctx *ctx);
/* Id of the plugin instance running now (its /plugins row id: stable across config changes).
 * Borrowed for the request. */
const char *tr_ctx_plugin_id(const struct tr_ctx *ctx);
/* tr_ctx_offload for work whose results own memory: when the request died meanwhile,
 * discard(arg) runs (on the worker) instead of done, to free them. */
void tr_ctx_offload_owned(struct tr_ctx *ctx, void (*work)(void *arg),
                          void (*done)(struct tr_ctx *ctx, void *arg), void (*discard)(void *arg),
                          void *arg);
/* Run work(arg) on the node's password-hash threads, for deliberately slow credential checks
 * (an Argon2id verification), then done(ctx, arg) back on this worker, which must call
 * tr_ctx_resume. Unlike tr_ctx_offload, hashes never queue behind (or in front of) the OAuth2
 * store reads and DNS of libuv's thread pool: at most password_hash_threads run at once per
 * node and at most password_hash_queue wait. Returns 0: the phase callback then returns
 * TR_PLUGIN_YIELD. Returns TR_EBUSY when the queue is full (or the node is stopping): nothing was
 * queued, and the plugin answers at once (auth.h: tr_auth_busy) rather than wait. work must
 * not touch ctx; arg should live in the request arena. When the request died meanwhile,
 * discard(arg) (if not NULL) runs on the worker instead of done (wipe a password there). */
int tr_ctx_offload_hash(struct tr_ctx *ctx, void (*work)(void *arg),
                        void (*done)(struct tr_ctx *ctx, void *arg), void (*discard)(void *arg),
                        void *arg);
/* Resume a request whose plugin returned TR_PLUGIN_YIELD, with that plugin's final rc. */
void tr_ctx_resume(struct tr_ctx *ctx, int rc);
/* Run work(arg) on libuv's thread pool (short blocking work: store reads and writes; never a
 * password hash, see tr_ctx_offload_hash), then done(ctx, arg) back on the worker, which must
 * call tr_ctx_resume. The phase callback returns TR_PLUGIN_YIELD right after this call. work must
 * not touch ctx; arg should live in the request arena. If the request died meanwhile, done is not
 * called. */
void tr_ctx_offload(struct tr_ctx *ctx, void (*work)(void *arg),
                    void (*done)(struct tr_ctx *ctx, void *arg), void *arg);
/* tr_ctx_offload_owned for work on the node's runtime rows: work(tx, arg) runs on libuv's thread
 * pool with a runtime session of the node's store (store/runtime.h, store/oauth2.h), taken
 * from its pool for the call and given back after it (so work must leave no transaction
 * open, and must not keep tx). tx is NULL when the store cannot give a session (the database
 * cannot be opened: logged); work then answers as for a database error. */
void tr_ctx_offload_store(struct tr_ctx *ctx, void (*work)(struct tr_store_tx *tx, void *arg),
                          void (*done)(struct tr_ctx *ctx, void *arg), void (*discard)(void *arg),
                          void *arg);

#endif
