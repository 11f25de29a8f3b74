/* SPDX-License-Identifier: MIT */
/* Node settings: defaults, then torii.conf (`key = value`, `#` comments), then TORII_<KEY>
 * environment variables. One table row per key (type, default, bounds, help) in conf.c;
 * unknown keys and bad values are errors that name the key. */
#ifndef TR_CORE_CONF_H
#define TR_CORE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TR_CONF_MAX_LISTEN 16

/* One address of a Kong-syntax listen list: "0.0.0.0:8000", "[::1]:8443 ssl", "off". */
struct tr_listen {
    char host[64]; /* literal IPv4 / IPv6 (no brackets) address, or "localhost" */
    uint16_t port;
    bool ssl;       /* "ssl" flag */
    bool http2;     /* "http2" flag (accepted, not used yet) */
    bool reuseport; /* "reuseport" flag (torii always uses SO_REUSEPORT per worker) */
    bool deferred;  /* "deferred" flag (accepted) */
    int backlog;    /* "backlog=N", 0 = default (511) */
};

struct tr_listen_list {
    struct tr_listen items[TR_CONF_MAX_LISTEN];
    size_t cnt; /* 0 when "off" */
};

/* After tr_conf_load every path below is absolute: prefix is made absolute against the working
 * directory, and sqlite_path and the log paths are resolved under prefix. */
struct tr_conf {
    char *prefix; /* owned; directory for the database, pid, logs, keys */
    struct tr_listen_list proxy_listen;
    struct tr_listen_list admin_listen;
    struct tr_listen_list status_listen; /* the Status API (off by default) */
    bool allow_internal_upstreams;       /* P11: link-local / admin upstream_url hosts (off) */
    bool admin_allow_remote;             /* P11: admin_listen may be non-loopback (off) */
    char *admin_token;       /* owned; bearer token for the Admin API, "" = none (secret) */
    char *admin_gui_origins; /* owned; origins whose pages may read the Admin API, "" = none */
    char *database;          /* owned; "sqlite", or "off" (DB-less: a declarative file) */
    char *sqlite_path;       /* owned; absolute; the setting's "" gives <prefix>/torii.db */
    int worker_threads;      /* resolved: "auto" gives the number of online CPUs */
    uint32_t password_hash_threads; /* resolved: "auto" gives half the online CPUs, at least 1 */
    uint32_t password_hash_queue;   /* password checks that may wait for a hash thread (32) */
    int log_level;                  /* enum tr_log_level */
    char *proxy_access_log;         /* owned; absolute path, or "off" */
    int proxy_access_log_format;    /* 0: Kong's kong_log_format line, 1: JSON */
    char *proxy_error_log;          /* owned; absolute path, "off", or "" meaning stderr */
    char *admin_access_log;         /* owned; absolute path, or "off" */

    /* Client-side limits and timeouts (security profile P3). */
    uint32_t client_header_timeout_ms; /* whole head must arrive within this (10000) */
    uint32_t client_body_timeout_ms;   /* idle time between body reads (10000) */
    uint32_t keepalive_timeout_ms;     /* idle keep-alive client connection (60000) */
    uint32_t keepalive_requests;       /* requests per client connection (1000) */
    uint32_t send_timeout_ms;          /* idle time writing to a client (60000) */
    uint32_t max_request_line;         /* bytes (8192) -> 414 */
    uint32_t max_header_line;          /* bytes (8192) -> 431 */
    uint32_t max_header_size;          /* whole head (32768) -> 431 */
    uint32_t max_headers;              /* fields (100) -> 431 */
    uint32_t max_connections;          /* per node, 0 = unlimited (16384) */
    uint64_t admin_max_body;           /* bytes (10485760) -> 413 */
    bool allow_debug_header;           /* Kong-Debug: name the route and service (off) */
    uint64_t request_buffer_size;      /* request_buffering: body bytes held (1048576) */

    /* Upstream side. */
    uint32_t upstream_keepalive;            /* idle connections kept per worker (256) */
    uint32_t upstream_keepalive_timeout_ms; /* idle upstream connection lifetime (60000) */
    uint32_t upstream_keepalive_requests;   /* requests per upstream connection (10000) */

    /* TLS (proxy listeners flagged ssl, https upstreams). */
    char *ssl_cert;                    /* owned; absolute PEM path, "" = <prefix>/ssl/default.crt */
    char *ssl_cert_key;                /* owned; absolute PEM path, "" = <prefix>/ssl/default.key */
    uint32_t ssl_handshake_timeout_ms; /* a TLS handshake must finish within this (10000) */
    char *trusted_ips;                 /* owned; IPs/CIDRs whose X-Forwarded-Proto is believed */
    bool upstream_tls_verify;          /* verify https upstreams (off, like Kong) */
    char *upstream_ca_bundle;          /* owned; absolute PEM path, "" = system default paths */

    uint32_t drain_timeout_ms;    /* graceful stop bound (10000) */
    uint32_t drain_idle_grace_ms; /* a draining idle keep-alive connection may still ask (1000) */
    uint32_t db_update_frequency_ms; /* look for other nodes' changes this often (5000) */
    uint32_t database_wait_ms;       /* how long a starting node retries its database (60000) */
    bool escaped_slashes_reject;     /* escaped_slashes = keep | reject (keep) */
    char *plugins;                   /* owned; plugins loaded: "bundled", "off" or a name list */

    /* DNS of upstream target names and service hosts (dns/resolver.h). */
    char *dns_resolver;         /* owned; "ip[:port],..."; "" = /etc/resolv.conf's servers */
    char *dns_hostsfile;        /* owned; answered before DNS ("/etc/hosts"); "" = none */
    uint32_t dns_stale_ttl;     /* s an answer is kept past its TTL when the server fails (3600) */
    uint32_t dns_not_found_ttl; /* s a name that does not exist is kept (30) */
    uint32_t dns_error_ttl;     /* s before a failed query is tried again (1) */
    char *declarative_config;   /* owned; absolute, or "" (database = off only) */
    char *declarative_config_string; /* owned; YAML or JSON text, or "" */

    /* PostgreSQL (store/pg_conn.c), Kong's settings */
    char *pg_host;                      /* owned ("127.0.0.1") */
    uint32_t pg_port;                   /* 5432 */
    uint32_t pg_timeout_ms;             /* connect and statement bound (5000) */
    char *pg_user;                      /* owned ("kong") */
    char *pg_password;                  /* owned; "" = none */
    char *pg_database;                  /* owned ("kong") */
    char *pg_schema;                    /* owned; "" = the server's search_path */
    bool pg_ssl, pg_ssl_verify;         /* off, off */
    uint32_t pg_max_concurrent_queries; /* runtime connections at most; 0 = 6 */
    char *syslog_socket;                /* owned; the syslog plugin's socket (/dev/log) */
    /* Kong's headers and headers_upstream: the settings as given (owned), and what they turn
     * on (TR_HEADERS_* bits). */
    char *headers, *headers_upstream;
    unsigned headers_mask, headers_upstream_mask;
    /* Kong's tracing_instrumentations (the setting, owned, and its TR_TRACE_* bits; 0: off)
     * and tracing_sampling_rate (the setting, owned, and its value 0..1). */
    char *tracing_instrumentations;
    unsigned tracing_mask;
    char *tracing_sampling_rate;
    double tracing_rate;
};

/* What tracing_instrumentations turns on (spans of a request; see docs/plugins.md). */
#define TR_TRACE_REQUEST 0x01u /* the root span "kong" (any value but off) */
#define TR_TRACE_ROUTER 0x02u
#define TR_TRACE_BALANCER 0x04u
#define TR_TRACE_PLUGIN_REWRITE 0x08u
#define TR_TRACE_PLUGIN_ACCESS 0x10u
#define TR_TRACE_PLUGIN_HEADER_FILTER 0x20u
#define TR_TRACE_DB_QUERY 0x40u    /* no span: torii queries no database on a request's path */
#define TR_TRACE_HTTP_CLIENT 0x80u /* no span: no plugin makes HTTP calls on a request's path */
#define TR_TRACE_DNS_QUERY 0x100u  /* no span: names are resolved off the request's path */

/* The node's id (server/node_id.h), a constant of the process set once at start before any
 * worker or config snapshot exists; "" before. What plugins report it as (opentelemetry's
 * service.instance.id). */
void tr_conf_set_node_id(const char *id);
const char *tr_conf_node_id(void);

/* What `headers` / `headers_upstream` turn on. */
#define TR_HEADERS_VIA 0x01u              /* Via on proxied answers (server_tokens) */
#define TR_HEADERS_SERVER 0x02u           /* Server on torii's own answers (server_tokens) */
#define TR_HEADERS_UPSTREAM_LATENCY 0x04u /* X-Kong-Upstream-Latency (latency_tokens) */
#define TR_HEADERS_PROXY_LATENCY 0x08u    /* X-Kong-Proxy-Latency (latency_tokens) */
#define TR_HEADERS_RESPONSE_LATENCY 0x10u /* X-Kong-Response-Latency (latency_tokens) */
#define TR_HEADERS_UPSTREAM_STATUS 0x20u  /* X-Kong-Upstream-Status (asked for by name) */
#define TR_HEADERS_REQUEST_ID 0x40u       /* X-Kong-Request-Id */

/* The check of the `plugins` setting (names must be plugins compiled in). core/ names no
 * plugin: the program registers tr_plugin_check_list (plugins/registry.h) before loading
 * settings; without a check any list is taken. Returns 0, or TR_EINVAL with why set. */
typedef int (*tr_conf_plugins_check_fn)(const char *value, char *why, size_t why_len);
void tr_conf_set_plugins_check(tr_conf_plugins_check_fn fn);

/* Load settings into *conf, which must be zeroed (or freed with tr_conf_free): defaults, then the
 * file at path (NULL: no file), then TORII_<KEY> environment variables (unknown TORII_* variables
 * are ignored). Duplicate keys in the file: the last one wins. Then paths are resolved (see struct
 * tr_conf) and cross-key rules are checked (P11: a non-loopback admin_listen needs
 * admin_allow_remote = on or an admin_token; proxy and admin addresses must not overlap).
 * Returns 0, or TR_EINVAL (a bad value or rule) or TR_EIO (the file cannot be read) with one
 * line naming the key (or TORII_<KEY>, or the file and line) written into err; on error *conf
 * is left zeroed. */
int tr_conf_load(struct tr_conf *conf, const char *path, char *err, size_t err_len);

/* Parse a Kong-syntax listen list: comma-separated "ADDR:PORT [flags]" with ADDR an IPv4
 * literal, "[IPv6]", "*" (0.0.0.0) or "localhost", port 1..65535, flags ssl, http2, reuseport,
 * deferred, bind (accepted, ignored) and backlog=N; or "off" for an empty list. IPv4/IPv6 hosts
 * are stored in canonical form. Returns 0, or TR_EINVAL with the reason (without the key) in
 * err. */
int tr_conf_parse_listen(const char *value, struct tr_listen_list *out, char *err, size_t err_len);

/* Format a listen address "host:port" / "[v6]:port" (no flags) into buf (always terminated). */
void tr_conf_format_listen(const struct tr_listen *l, char *buf, size_t len);

/* Write every setting as "key = value" lines (in the table's order, values quoted when needed)
 * into a malloc'ed NUL-terminated string the caller frees; the result parses back to the same
 * settings, except admin_token which is shown as "******" when set. NULL only when memory
 * runs out. */
char *tr_conf_dump(const struct tr_conf *conf);

/* Call cb for every setting as (key, effective value as text), in the table's order: durations as
 * "10s"/"500ms", sizes as "8k"/"10m", bools as on/off, listen lists in Kong syntax, admin_token as
 * "******" when set. key and value are valid only during the call. The node info endpoint uses
 * it. */
void tr_conf_foreach(const struct tr_conf *conf,
                     void (*cb)(const char *key, const char *value, void *ud), void *ud);

/* Free every owned string and zero *conf. Safe on a zeroed struct and twice in a row. */
void tr_conf_free(struct tr_conf *conf);

/* internal, for tests and fuzzers */
/* Like tr_conf_load but reading the file text from buf (len bytes, need not be NUL-terminated,
 * may contain any bytes) and ignoring the environment; name is used in error messages ("line 3 of
 * NAME"). *conf must be zeroed; on error it is left zeroed. */
int tr__conf_parse_buffer(struct tr_conf *conf, const char *buf, size_t len, const char *name,
                          char *err, size_t err_len);

#endif
