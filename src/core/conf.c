/* SPDX-License-Identifier: MIT */
/* torii.conf: the settings table (one row per key), the value parsers shared by defaults, the file
 * and TORII_<KEY> environment variables, and the dump. It only fills struct tr_conf; opening
 * sockets, logs and the database is left to the server. */
#include "core/conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cidr.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/origin.h"
#include "core/str.h"

/* How a value is parsed; the storage follows from the field's size (see store_uint). */
enum key_type {
    KT_STRING,   /* any text without control characters */
    KT_PATH,     /* like a string; KF_PREFIXED paths are resolved under prefix after loading */
    KT_BOOL,     /* on/off/true/false/yes/no/1/0 */
    KT_INT,      /* decimal in [min, max]; KF_AUTO also accepts "auto" (online CPUs, or half
                    of them with KF_HALF) */
    KT_DURATION, /* 500ms, 10s, 2m, 1h, or bare milliseconds; stored in ms, [min, max] in ms */
    KT_SIZE,     /* bytes, or with a k/m/g suffix (any case); [min, max] in bytes */
    KT_ENUM,     /* one of choices: the index is stored, or the name with KF_NAME */
    KT_LISTEN,   /* Kong listen list into a struct tr_listen_list */
};

#define KF_OFF 0x01      /* "off" is a valid path */
#define KF_EMPTY 0x02    /* "" is a valid value */
#define KF_PREFIXED 0x04 /* a relative path is resolved under prefix */
#define KF_AUTO 0x08     /* "auto" is a valid integer */
#define KF_SECRET 0x10   /* shown as ****** by the dump when set */
#define KF_NAME 0x20     /* enum stored as an owned copy of the choice's name */
#define KF_HALF 0x40     /* with KF_AUTO: "auto" is half the online CPUs (at least min) */
#define KF_SECONDS 0x80  /* duration: a bare number is seconds, fractions allowed (Kong's) */

/* Extra validation of a string value: returns 0, or TR_EINVAL with the expectation in why. */
typedef int (*check_fn)(struct tr_str value, char *why, size_t why_len);

struct conf_key {
    const char *name; /* the setting; TORII_<NAME upper-cased> in the environment */
    enum key_type type;
    unsigned flags;
    size_t off;  /* offset of the field in struct tr_conf */
    size_t size; /* sizeof the field */
    const char *def;
    uint64_t min, max;
    const char *const *choices; /* KT_ENUM: NULL-terminated */
    check_fn check;             /* KT_STRING / KT_PATH, optional */
    const char *help;
};

#define FIELD(f) .off = offsetof(struct tr_conf, f), .size = sizeof(((struct tr_conf *)0)->f)
#define DAY_MS 86400000u
#define SECRET_MASK "******"
#define MAX_FILE_SIZE (1024 * 1024)
#define ADMIN_TOKEN_MIN 16

static int check_token(struct tr_str value, char *why, size_t why_len);
static int check_cidrs(struct tr_str value, char *why, size_t why_len);
static int check_origins(struct tr_str value, char *why, size_t why_len);
static int check_plugins(struct tr_str value, char *why, size_t why_len);
static int check_dns_servers(struct tr_str value, char *why, size_t why_len);
static int check_pg_schema(struct tr_str value, char *why, size_t why_len);
static int check_headers(struct tr_str value, char *why, size_t why_len);
static int check_headers_upstream(struct tr_str value, char *why, size_t why_len);
static int check_tracing(struct tr_str value, char *why, size_t why_len);
static int check_rate(struct tr_str value, char *why, size_t why_len);

static const char *const database_choices[] = {"sqlite", "postgres", "off", NULL};
static const char *const access_log_formats[] = {"kong", "json", NULL};
/* Same order as enum tr_log_level. */
static const char *const log_level_choices[] = {"debug", "info", "notice", "warn",
                                                "error", "crit", NULL};
static const char *const escaped_slashes_choices[] = {"keep", "reject", NULL};

_Static_assert(TR_LOG_DEBUG == 0 && TR_LOG_CRIT == 5, "log_level_choices follows tr_log_level");

/* The settings, in the order of the dump and of torii.conf.default. A new key is one row here,
 * one field in struct tr_conf, and a line in torii.conf.default and docs/configuration.md. */
/* clang-format off */
static const struct conf_key keys[] = {
    {.name = "prefix", .type = KT_PATH, FIELD(prefix), .def = "/usr/local/torii",
     .help = "Directory for the database, pid file, logs and keys; relative paths of other "
             "settings are resolved under it"},
    {.name = "proxy_listen", .type = KT_LISTEN, FIELD(proxy_listen),
     .def = "0.0.0.0:8000, 0.0.0.0:8443 ssl",
     .help = "Addresses of the proxy, Kong syntax: ADDR:PORT [ssl] [http2] [reuseport] "
             "[deferred] [bind] [backlog=N], comma-separated, or off"},
    {.name = "admin_listen", .type = KT_LISTEN, FIELD(admin_listen), .def = "127.0.0.1:8001",
     .help = "Addresses of the Admin API, same syntax; a non-loopback address needs "
             "admin_allow_remote = on or an admin_token"},
    {.name = "status_listen", .type = KT_LISTEN, FIELD(status_listen), .def = "off",
     .help = "Addresses of the Status API (GET /status, /status/ready, /metrics; read-only, no "
             "token), same syntax, or off"},
    {.name = "admin_allow_remote", .type = KT_BOOL, FIELD(admin_allow_remote), .def = "off",
     .help = "Allow admin_listen on non-loopback addresses without an admin_token"},
    {.name = "admin_token", .type = KT_STRING, .flags = KF_EMPTY | KF_SECRET, FIELD(admin_token),
     .def = "", .check = check_token,
     .help = "Bearer token required by the Admin API (at least 16 characters of A-Z a-z 0-9 "
             "-._~+/ and trailing =); empty = none"},
    {.name = "admin_gui_origins", .type = KT_STRING, .flags = KF_EMPTY, FIELD(admin_gui_origins),
     .def = "", .check = check_origins,
     .help = "Comma-separated origins (http://HOST[:PORT] or https://HOST[:PORT]) whose web "
             "pages may call the Admin API; its own origin always may; empty = none"},
    {.name = "allow_internal_upstreams", .type = KT_BOOL, FIELD(allow_internal_upstreams),
     .def = "off",
     .help = "Allow upstream_url hosts that are link-local or the Admin API itself (P11)"},
    {.name = "database", .type = KT_ENUM, .flags = KF_NAME, FIELD(database), .def = "sqlite",
     .choices = database_choices, .help = "Store backend"},
    {.name = "sqlite_path", .type = KT_PATH, .flags = KF_EMPTY | KF_PREFIXED, FIELD(sqlite_path),
     .def = "", .help = "SQLite database file; empty = <prefix>/torii.db"},
    {.name = "worker_threads", .type = KT_INT, .flags = KF_AUTO, FIELD(worker_threads),
     .def = "auto", .min = 1, .max = 256,
     .help = "Proxy worker threads, or auto for one per online CPU"},
    {.name = "password_hash_threads", .type = KT_INT, .flags = KF_AUTO | KF_HALF,
     FIELD(password_hash_threads), .def = "auto", .min = 1, .max = 64,
     .help = "Threads of the node that verify passwords (Argon2id), or auto for half the "
             "online CPUs (at least 1)"},
    {.name = "password_hash_queue", .type = KT_INT, FIELD(password_hash_queue), .def = "32",
     .min = 0, .max = 65536,
     .help = "Password checks that may wait for a hash thread; beyond it basic-auth answers "
             "503 at once"},
    {.name = "log_level", .type = KT_ENUM, FIELD(log_level), .def = "notice",
     .choices = log_level_choices, .help = "Lowest level written to the error log"},
    {.name = "proxy_access_log", .type = KT_PATH, .flags = KF_OFF | KF_PREFIXED,
     FIELD(proxy_access_log), .def = "logs/access.log",
     .help = "Access log of the proxy, or off"},
    {.name = "proxy_access_log_format", .type = KT_ENUM, FIELD(proxy_access_log_format),
     .def = "kong", .choices = access_log_formats,
     .help = "kong: Kong's kong_log_format line (and torii's timings); json: one JSON object"},
    {.name = "proxy_error_log", .type = KT_PATH, .flags = KF_OFF | KF_EMPTY | KF_PREFIXED,
     FIELD(proxy_error_log), .def = "", .help = "Error log; empty = standard error; off"},
    {.name = "admin_access_log", .type = KT_PATH, .flags = KF_OFF | KF_PREFIXED,
     FIELD(admin_access_log), .def = "off", .help = "Access log of the Admin API, or off"},

    {.name = "client_header_timeout", .type = KT_DURATION, FIELD(client_header_timeout_ms),
     .def = "10s", .min = 1, .max = DAY_MS,
     .help = "The whole request head must arrive within this, else 408"},
    {.name = "client_body_timeout", .type = KT_DURATION, FIELD(client_body_timeout_ms),
     .def = "10s", .min = 1, .max = DAY_MS,
     .help = "Longest wait between two reads of a request body, else 408"},
    {.name = "keepalive_timeout", .type = KT_DURATION, FIELD(keepalive_timeout_ms), .def = "60s",
     .min = 0, .max = DAY_MS,
     .help = "Idle time of a keep-alive client connection; 0 disables keep-alive"},
    {.name = "keepalive_requests", .type = KT_INT, FIELD(keepalive_requests), .def = "1000",
     .min = 1, .max = 1000000000, .help = "Requests served on one client connection"},
    {.name = "send_timeout", .type = KT_DURATION, FIELD(send_timeout_ms), .def = "60s", .min = 1,
     .max = DAY_MS, .help = "Longest wait for a client to accept response bytes"},
    {.name = "max_request_line", .type = KT_SIZE, FIELD(max_request_line), .def = "8k",
     .min = 256, .max = 1024 * 1024, .help = "Longest request line, else 414"},
    {.name = "max_header_line", .type = KT_SIZE, FIELD(max_header_line), .def = "8k",
     .min = 256, .max = 1024 * 1024, .help = "Longest header field line, else 431"},
    {.name = "max_header_size", .type = KT_SIZE, FIELD(max_header_size), .def = "32k",
     .min = 1024, .max = 16 * 1024 * 1024, .help = "Largest request head, else 431"},
    {.name = "max_headers", .type = KT_INT, FIELD(max_headers), .def = "100", .min = 1,
     .max = 256, .help = "Most header fields in a request, else 431"},
    {.name = "max_connections", .type = KT_INT, FIELD(max_connections), .def = "16384",
     .min = 0, .max = 10000000, .help = "Client connections per node; 0 = unlimited"},
    {.name = "allow_debug_header", .type = KT_BOOL, FIELD(allow_debug_header), .def = "off",
     .help = "A request with Kong-Debug gets Kong-Route-Id/-Name, Kong-Service-Id/-Name"},
    {.name = "request_buffer_size", .type = KT_SIZE, FIELD(request_buffer_size), .def = "1m",
     .min = 0, .max = 1024ull * 1024 * 1024,
     .help = "Kong 3 routes with request_buffering: body bytes read before going upstream"},
    {.name = "admin_max_body", .type = KT_SIZE, FIELD(admin_max_body), .def = "10m",
     .min = 1024, .max = 1024ull * 1024 * 1024, .help = "Largest Admin API request body, else 413"},

    {.name = "upstream_keepalive", .type = KT_INT, FIELD(upstream_keepalive), .def = "256",
     .min = 0, .max = 1000000,
     .help = "Idle upstream connections kept per worker thread; 0 = no reuse"},
    {.name = "upstream_keepalive_timeout", .type = KT_DURATION,
     FIELD(upstream_keepalive_timeout_ms), .def = "60s", .min = 1, .max = DAY_MS,
     .help = "Idle time after which a pooled upstream connection is closed"},
    {.name = "upstream_keepalive_requests", .type = KT_INT, FIELD(upstream_keepalive_requests),
     .def = "10000", .min = 1, .max = 1000000000,
     .help = "Requests sent on one upstream connection"},

    {.name = "ssl_cert", .type = KT_PATH, .flags = KF_EMPTY | KF_PREFIXED, FIELD(ssl_cert),
     .def = "",
     .help = "PEM certificate (chain) of the TLS listeners; empty = a self-signed one generated "
             "in <prefix>/ssl"},
    {.name = "ssl_cert_key", .type = KT_PATH, .flags = KF_EMPTY | KF_PREFIXED,
     FIELD(ssl_cert_key), .def = "", .help = "PEM private key of ssl_cert"},
    {.name = "ssl_handshake_timeout", .type = KT_DURATION, FIELD(ssl_handshake_timeout_ms),
     .def = "10s", .min = 1, .max = DAY_MS,
     .help = "A TLS handshake must finish within this, else the connection is closed"},
    {.name = "trusted_ips", .type = KT_STRING, .flags = KF_EMPTY, FIELD(trusted_ips), .def = "",
     .check = check_cidrs,
     .help = "Comma-separated IPs / CIDR blocks of trusted proxies (their X-Forwarded-Proto is "
             "believed); empty = none"},
    {.name = "upstream_tls_verify", .type = KT_BOOL, FIELD(upstream_tls_verify), .def = "off",
     .help = "Verify the certificate and host name of https upstreams"},
    {.name = "upstream_ca_bundle", .type = KT_PATH, .flags = KF_EMPTY | KF_PREFIXED,
     FIELD(upstream_ca_bundle), .def = "",
     .help = "PEM CA bundle for upstream_tls_verify; empty = the system's CA store"},

    {.name = "drain_timeout", .type = KT_DURATION, FIELD(drain_timeout_ms), .def = "10s",
     .min = 0, .max = DAY_MS,
     .help = "On stop or reload, how long in-flight requests may finish; 0 = close at once"},
    {.name = "drain_idle_grace", .type = KT_DURATION, FIELD(drain_idle_grace_ms), .def = "1s",
     .min = 0, .max = 60000,
     .help = "During a drain, how long an idle keep-alive connection may still bring a request "
             "(answered with Connection: close) before it is closed; 0 = close at once"},
    {.name = "escaped_slashes", .type = KT_ENUM, FIELD(escaped_slashes_reject), .def = "keep",
     .choices = escaped_slashes_choices,
     .help = "keep %2F and %5C encoded in paths, or reject them with 400"},

    {.name = "plugins", .type = KT_STRING, FIELD(plugins), .def = "bundled",
     .check = check_plugins,
     .help = "Plugins this node loads: bundled (all), off (none), or a comma list of names "
             "(bundled may be one of them)"},
    {.name = "db_update_frequency", .type = KT_DURATION, .flags = KF_SECONDS,
     FIELD(db_update_frequency_ms), .def = "5", .min = 10, .max = 3600000,
     .help = "How often a node looks for changes other nodes made (seconds, as Kong's: 0.5, 5; "
             "or 500ms); PostgreSQL's notifications usually bring them sooner"},
    {.name = "database_wait", .type = KT_DURATION, FIELD(database_wait_ms), .def = "60s",
     .min = 0, .max = DAY_MS,
     .help = "How long a starting node retries opening its database; 0 = give up at once"},

    {.name = "dns_resolver", .type = KT_STRING, .flags = KF_EMPTY, FIELD(dns_resolver),
     .def = "", .check = check_dns_servers,
     .help = "DNS servers for upstream names, ip[:port] comma-separated; empty = "
             "/etc/resolv.conf's"},
    {.name = "dns_hostsfile", .type = KT_STRING, .flags = KF_EMPTY, FIELD(dns_hostsfile),
     .def = "/etc/hosts", .help = "Hosts file answered before any DNS query; empty = none"},
    {.name = "dns_stale_ttl", .type = KT_INT, FIELD(dns_stale_ttl), .def = "3600", .min = 0,
     .max = 604800,
     .help = "Seconds an answer is still used past its TTL while the DNS server fails"},
    {.name = "dns_not_found_ttl", .type = KT_INT, FIELD(dns_not_found_ttl), .def = "30",
     .min = 0, .max = 604800, .help = "Seconds a name that does not exist is not asked again"},
    {.name = "dns_error_ttl", .type = KT_INT, FIELD(dns_error_ttl), .def = "1", .min = 0,
     .max = 604800, .help = "Seconds before a query the server failed is tried again"},

    {.name = "declarative_config", .type = KT_PATH, .flags = KF_EMPTY,
     FIELD(declarative_config), .def = "",
     .help = "With database = off: the declarative file (kong.yml) the node starts from"},
    {.name = "declarative_config_string", .type = KT_STRING, .flags = KF_EMPTY,
     FIELD(declarative_config_string), .def = "",
     .help = "With database = off: the declarative configuration itself, as YAML or JSON text"},

    /* PostgreSQL (database = postgres), with Kong's names and defaults */
    {.name = "pg_host", .type = KT_STRING, FIELD(pg_host), .def = "127.0.0.1",
     .help = "With database = postgres: the server's host name or address"},
    {.name = "pg_port", .type = KT_INT, FIELD(pg_port), .def = "5432", .min = 1, .max = 65535,
     .help = "The server's port"},
    {.name = "pg_timeout", .type = KT_DURATION, FIELD(pg_timeout_ms), .def = "5s", .min = 1,
     .max = DAY_MS, .help = "Bound of a connection attempt and of every statement"},
    {.name = "pg_user", .type = KT_STRING, FIELD(pg_user), .def = "kong",
     .help = "The user torii connects as"},
    {.name = "pg_password", .type = KT_STRING, .flags = KF_EMPTY | KF_SECRET, FIELD(pg_password),
     .def = "", .help = "That user's password; empty = none (or ~/.pgpass)"},
    {.name = "pg_database", .type = KT_STRING, FIELD(pg_database), .def = "kong",
     .help = "The database torii keeps its tables in"},
    {.name = "pg_schema", .type = KT_STRING, .flags = KF_EMPTY, FIELD(pg_schema), .def = "",
     .check = check_pg_schema,
     .help = "The schema of those tables; empty = the server's search_path"},
    {.name = "pg_ssl", .type = KT_BOOL, FIELD(pg_ssl), .def = "off",
     .help = "Connect with TLS (required when on)"},
    {.name = "pg_ssl_verify", .type = KT_BOOL, FIELD(pg_ssl_verify), .def = "off",
     .help = "With pg_ssl: verify the server's certificate and host name"},
    {.name = "pg_max_concurrent_queries", .type = KT_INT, FIELD(pg_max_concurrent_queries),
     .def = "0", .min = 0, .max = 1000,
     .help = "Connections one node opens for runtime rows at most; 0 = a few (6)"},
    {.name = "syslog_socket", .type = KT_PATH, FIELD(syslog_socket), .def = "/dev/log",
     .help = "The system log's socket the syslog plugin writes to"},
    {.name = "headers", .type = KT_STRING, FIELD(headers),
     .def = "server_tokens, latency_tokens, X-Kong-Request-Id", .check = check_headers,
     .help = "Headers torii adds to answers (Kong's names: server_tokens, latency_tokens, Via, "
             "Server, X-Kong-Upstream-Latency, X-Kong-Proxy-Latency, X-Kong-Response-Latency, "
             "X-Kong-Upstream-Status, X-Kong-Request-Id), comma-separated, or off"},
    {.name = "headers_upstream", .type = KT_STRING, FIELD(headers_upstream),
     .def = "X-Kong-Request-Id", .check = check_headers_upstream,
     .help = "Headers torii adds to requests sent upstream: X-Kong-Request-Id, or off"},
    {.name = "tracing_instrumentations", .type = KT_STRING, FIELD(tracing_instrumentations),
     .def = "off", .check = check_tracing,
     .help = "Spans recorded for each request (for the opentelemetry plugin): off, all, or a "
             "list of request, router, balancer, plugin_rewrite, plugin_access, "
             "plugin_header_filter, db_query, http_client, dns_query"},
    {.name = "tracing_sampling_rate", .type = KT_STRING, FIELD(tracing_sampling_rate),
     .def = "0.01", .check = check_rate,
     .help = "Share of traces sampled (0..1) unless a plugin sets its own"},
};
/* clang-format on */

static const struct {
    const char *name;
    bool value;
} bool_words[] = {{"on", true},  {"off", false}, {"true", true}, {"false", false},
                  {"yes", true}, {"no", false},  {"1", true},    {"0", false}};

static const struct {
    const char *suffix;
    uint32_t ms;
} duration_units[] = {{"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};

/* ---- small helpers ------------------------------------------------------------------------ */

static void fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || err_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/* Copy s into buf for an error message: non-printable bytes become '?', long values are cut. */
static const char *show(struct tr_str s, char *buf, size_t len)
{
    size_t n = 0, max = len > 4 ? len - 4 : 0;
    for (size_t i = 0; i < s.len && n < max; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        buf[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (s.len > max && len >= 4) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    if (len)
        buf[n < len ? n : len - 1] = '\0';
    return buf;
}

static bool has_control(struct tr_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return true;
    }
    return false;
}

static bool eq(struct tr_str s, const char *lit)
{
    return tr_str_eq(s, tr_str_from_cstr(lit));
}

static const struct conf_key *find_key(struct tr_str name)
{
    for (size_t i = 0; i < TR_ARRAY_SIZE(keys); i++) {
        if (eq(name, keys[i].name))
            return &keys[i];
    }
    return NULL;
}

static void *field(struct tr_conf *conf, const struct conf_key *k)
{
    return (char *)conf + k->off;
}

static const void *cfield(const struct tr_conf *conf, const struct conf_key *k)
{
    return (const char *)conf + k->off;
}

static void store_uint(struct tr_conf *conf, const struct conf_key *k, uint64_t v)
{
    void *p = field(conf, k);
    if (k->size == 1) {
        bool b = v != 0;
        memcpy(p, &b, 1);
    } else if (k->size == 4) {
        uint32_t u = (uint32_t)v;
        memcpy(p, &u, 4);
    } else if (k->size == 8) {
        memcpy(p, &v, 8);
    } else {
        abort(); /* a table row whose field size does not fit its type */
    }
}

static uint64_t load_uint(const struct tr_conf *conf, const struct conf_key *k)
{
    const void *p = cfield(conf, k);
    if (k->size == 1) {
        bool b;
        memcpy(&b, p, 1);
        return b;
    } else if (k->size == 4) {
        uint32_t u;
        memcpy(&u, p, 4);
        return u;
    } else if (k->size == 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    abort();
}

static char **str_field(struct tr_conf *conf, const struct conf_key *k)
{
    if (k->size != sizeof(char *))
        abort();
    return (char **)field(conf, k);
}

static bool is_string_field(const struct conf_key *k)
{
    return k->type == KT_STRING || k->type == KT_PATH ||
           (k->type == KT_ENUM && (k->flags & KF_NAME));
}

static void set_str(struct tr_conf *conf, const struct conf_key *k, char *owned)
{
    char **p = str_field(conf, k);
    if ((k->flags & KF_SECRET) && *p)
        explicit_bzero(*p, strlen(*p));
    free(*p);
    *p = owned;
}

static void format_duration(uint64_t ms, char *buf, size_t len)
{
    if (ms == 0) {
        snprintf(buf, len, "0");
        return;
    }
    for (size_t i = 0; i < TR_ARRAY_SIZE(duration_units); i++) {
        if (ms % duration_units[i].ms == 0) {
            snprintf(buf, len, "%llu%s", (unsigned long long)(ms / duration_units[i].ms),
                     duration_units[i].suffix);
            return;
        }
    }
}

static void format_size(uint64_t n, char *buf, size_t len)
{
    static const char units[] = "gmk";
    for (int i = 0; i < 3; i++) {
        uint64_t mult = 1ull << (10 * (3 - i));
        if (n != 0 && n % mult == 0) {
            snprintf(buf, len, "%llu%c", (unsigned long long)(n / mult), units[i]);
            return;
        }
    }
    snprintf(buf, len, "%llu", (unsigned long long)n);
}

/* ---- value parsers ------------------------------------------------------------------------ */

static int parse_duration(struct tr_str s, uint64_t *out)
{
    size_t digits = 0;
    while (digits < s.len && s.ptr[digits] >= '0' && s.ptr[digits] <= '9')
        digits++;
    struct tr_str num = {s.ptr, digits}, unit = {s.ptr + digits, s.len - digits};
    uint64_t v, mult = 0;
    if (unit.len == 0) {
        mult = 1; /* a bare number is milliseconds */
    } else {
        for (size_t i = 0; i < TR_ARRAY_SIZE(duration_units); i++) {
            if (eq(unit, duration_units[i].suffix))
                mult = duration_units[i].ms;
        }
    }
    if (mult == 0 || tr_str_to_u64(num, UINT64_MAX / mult, &v) != 0)
        return TR_EINVAL;
    *out = v * mult;
    return 0;
}

/* Kong's way for some durations: a number of seconds, with up to three decimals ("0.5"). */
static int parse_seconds(struct tr_str s, uint64_t *out)
{
    size_t dot = 0;
    while (dot < s.len && s.ptr[dot] != '.')
        dot++;
    uint64_t whole, frac = 0;
    struct tr_str w = {s.ptr, dot};
    if (tr_str_to_u64(w, UINT64_MAX / 1000 - 1, &whole) != 0)
        return TR_EINVAL;
    if (dot < s.len) {
        size_t fl = s.len - dot - 1;
        if (fl == 0 || fl > 3)
            return TR_EINVAL;
        for (size_t i = 0; i < 3; i++) {
            char c = i < fl ? s.ptr[dot + 1 + i] : '0';
            if (c < '0' || c > '9')
                return TR_EINVAL;
            frac = frac * 10 + (uint64_t)(c - '0');
        }
    }
    *out = whole * 1000 + frac;
    return 0;
}

static int parse_size(struct tr_str s, uint64_t *out)
{
    uint64_t mult = 1, v;
    if (s.len > 0) {
        switch (tr_ascii_lower(s.ptr[s.len - 1])) {
        case 'k':
            mult = 1ull << 10;
            break;
        case 'm':
            mult = 1ull << 20;
            break;
        case 'g':
            mult = 1ull << 30;
            break;
        }
        if (mult != 1)
            s.len--;
    }
    if (tr_str_to_u64(s, UINT64_MAX / mult, &v) != 0)
        return TR_EINVAL;
    *out = v * mult;
    return 0;
}

/* A plain lower-case SQL identifier: it goes into the connection's search_path as is. */
static int check_pg_schema(struct tr_str value, char *why, size_t why_len)
{
    bool ok = value.len <= 63;
    for (size_t i = 0; ok && i < value.len; i++) {
        char c = value.ptr[i];
        ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    }
    if (!ok)
        snprintf(why, why_len, "expected a lower-case identifier ([a-z_][a-z0-9_]*, at most 63)");
    return ok ? 0 : TR_EINVAL;
}

static int check_cidrs(struct tr_str value, char *why, size_t why_len)
{
    char *text = tr_str_dup(value);
    struct tr_cidr_list l;
    int rc = tr_cidr_list_parse(text, &l, why, why_len);
    tr_cidr_list_free(&l);
    free(text);
    return rc;
}

static int check_origins(struct tr_str value, char *why, size_t why_len)
{
    struct tr_origin_list l;
    int rc = tr_origin_list_parse(value, &l, why, why_len);
    tr_origin_list_free(&l);
    return rc;
}

/* dns_resolver: addresses, each with an optional port (1.2.3.4, 1.2.3.4:53, [::1]:53). */
static int check_dns_servers(struct tr_str value, char *why, size_t why_len)
{
    char *text = tr_str_dup(value), *save = NULL;
    int rc = 0;
    for (char *s = strtok_r(text, ", ", &save); s && rc == 0; s = strtok_r(NULL, ", ", &save)) {
        char host[64];
        unsigned char bin[16];
        const char *port = NULL;
        if (s[0] == '[') {
            char *rb = strchr(s, ']');
            size_t hl = rb ? (size_t)(rb - s - 1) : 0;
            if (rb == NULL || hl >= sizeof(host) || (rb[1] != '\0' && rb[1] != ':')) {
                rc = TR_EINVAL;
                break;
            }
            memcpy(host, s + 1, hl);
            host[hl] = '\0';
            port = rb[1] == ':' ? rb + 2 : NULL;
        } else {
            char *colon = strchr(s, ':');
            size_t hl = colon ? (size_t)(colon - s) : strlen(s);
            if (hl >= sizeof(host)) {
                rc = TR_EINVAL;
                break;
            }
            memcpy(host, s, hl);
            host[hl] = '\0';
            port = colon ? colon + 1 : NULL;
        }
        uint64_t p = 0;
        if ((inet_pton(AF_INET, host, bin) != 1 && inet_pton(AF_INET6, host, bin) != 1) ||
            (port && (tr_str_to_u64(tr_str_from_cstr(port), 65535, &p) != 0 || p == 0)))
            rc = TR_EINVAL;
    }
    if (rc != 0)
        snprintf(why, why_len, "expected IP addresses with an optional port (1.2.3.4:53)");
    free(text);
    return rc;
}

/* core/ knows no plugin: the program registers the check against the plugins compiled in. */
static tr_conf_plugins_check_fn plugins_check;

void tr_conf_set_plugins_check(tr_conf_plugins_check_fn fn)
{
    plugins_check = fn;
}

static int check_plugins(struct tr_str value, char *why, size_t why_len)
{
    if (plugins_check == NULL)
        return 0;
    char *text = tr_str_dup(value);
    int rc = plugins_check(text, why, why_len);
    free(text);
    return rc;
}

/* The next non-empty item of a comma-separated list, trimmed; false at its end. */
static bool next_item(struct tr_str *list, struct tr_str *item)
{
    while (list->len) {
        const char *comma = memchr(list->ptr, ',', list->len);
        struct tr_str it = {list->ptr, comma ? (size_t)(comma - list->ptr) : list->len};
        list->len -= comma ? it.len + 1 : it.len;
        list->ptr += comma ? it.len + 1 : it.len;
        *item = tr_str_trim(it);
        if (item->len)
            return true;
    }
    return false;
}

/* Kong's headers / headers_upstream lists: names (any case) into TR_HEADERS_* bits. */
static int header_tokens(struct tr_str value, bool upstream, unsigned *mask, char *why,
                         size_t why_len)
{
    static const struct {
        const char *name;
        unsigned bits;
        bool upstream;
    } words[] = {
        {"server_tokens", TR_HEADERS_VIA | TR_HEADERS_SERVER, false},
        {"latency_tokens",
         TR_HEADERS_UPSTREAM_LATENCY | TR_HEADERS_PROXY_LATENCY | TR_HEADERS_RESPONSE_LATENCY,
         false},
        {"Via", TR_HEADERS_VIA, false},
        {"Server", TR_HEADERS_SERVER, false},
        {"X-Kong-Upstream-Latency", TR_HEADERS_UPSTREAM_LATENCY, false},
        {"X-Kong-Proxy-Latency", TR_HEADERS_PROXY_LATENCY, false},
        {"X-Kong-Response-Latency", TR_HEADERS_RESPONSE_LATENCY, false},
        {"X-Kong-Upstream-Status", TR_HEADERS_UPSTREAM_STATUS, false},
        {"X-Kong-Request-Id", TR_HEADERS_REQUEST_ID, true},
    };
    *mask = 0;
    bool off = false;
    size_t items = 0;
    struct tr_str item;
    while (next_item(&value, &item)) {
        items++;
        if (tr_str_ieq(item, TR_STR_LIT("off"))) {
            off = true;
            continue;
        }
        size_t k = 0;
        while (k < TR_ARRAY_SIZE(words) && !(tr_str_ieq(item, tr_str_from_cstr(words[k].name)) &&
                                             (!upstream || words[k].upstream)))
            k++;
        if (k == TR_ARRAY_SIZE(words)) {
            snprintf(why, why_len, "%s",
                     upstream ? "expected X-Kong-Request-Id, or off"
                              : "expected a list of server_tokens, latency_tokens, Via, Server, "
                                "X-Kong-Upstream-Latency, X-Kong-Proxy-Latency, "
                                "X-Kong-Response-Latency, X-Kong-Upstream-Status, "
                                "X-Kong-Request-Id, or off");
            return TR_EINVAL;
        }
        *mask |= words[k].bits;
    }
    if (off && items > 1) {
        snprintf(why, why_len, "off cannot be mixed with other values");
        return TR_EINVAL;
    }
    return 0;
}

static int check_headers(struct tr_str value, char *why, size_t why_len)
{
    unsigned mask;
    return header_tokens(value, false, &mask, why, why_len);
}

static int check_headers_upstream(struct tr_str value, char *why, size_t why_len)
{
    unsigned mask;
    return header_tokens(value, true, &mask, why, why_len);
}

/* Kong's tracing_instrumentations: off alone, all, or names. */
static int tracing_tokens(struct tr_str value, unsigned *mask, char *why, size_t why_len)
{
    static const struct {
        const char *name;
        unsigned bits;
    } words[] = {
        {"all", ~0u},
        {"request", 0},
        {"router", TR_TRACE_ROUTER},
        {"balancer", TR_TRACE_BALANCER},
        {"plugin_rewrite", TR_TRACE_PLUGIN_REWRITE},
        {"plugin_access", TR_TRACE_PLUGIN_ACCESS},
        {"plugin_header_filter", TR_TRACE_PLUGIN_HEADER_FILTER},
        {"db_query", TR_TRACE_DB_QUERY},
        {"http_client", TR_TRACE_HTTP_CLIENT},
        {"dns_query", TR_TRACE_DNS_QUERY},
    };
    *mask = 0;
    bool off = false;
    size_t items = 0;
    struct tr_str item;
    while (next_item(&value, &item)) {
        items++;
        if (tr_str_eq(item, TR_STR_LIT("off"))) {
            off = true;
            continue;
        }
        size_t k = 0;
        while (k < TR_ARRAY_SIZE(words) && !tr_str_eq(item, tr_str_from_cstr(words[k].name)))
            k++;
        if (k == TR_ARRAY_SIZE(words)) {
            snprintf(why, why_len, "invalid tracing type: %.*s", (int)item.len, item.ptr);
            return TR_EINVAL;
        }
        *mask |= words[k].bits | TR_TRACE_REQUEST;
    }
    if (off && items > 1) {
        snprintf(why, why_len, "invalid tracing types: off, other types are mutually exclusive");
        return TR_EINVAL;
    }
    return 0;
}

static int check_tracing(struct tr_str value, char *why, size_t why_len)
{
    unsigned mask;
    return tracing_tokens(value, &mask, why, why_len);
}

static bool parse_rate(struct tr_str value, double *out)
{
    char buf[32];
    if (value.len == 0 || value.len >= sizeof(buf))
        return false;
    memcpy(buf, value.ptr, value.len);
    buf[value.len] = '\0';
    char *end;
    double d = strtod(buf, &end);
    if (*end != '\0' || !(d >= 0 && d <= 1))
        return false;
    *out = d;
    return true;
}

static int check_rate(struct tr_str value, char *why, size_t why_len)
{
    double d;
    if (parse_rate(value, &d))
        return 0;
    snprintf(why, why_len, "tracing_sampling_rate must be between 0 and 1");
    return TR_EINVAL;
}

static int check_token(struct tr_str value, char *why, size_t why_len)
{
    /* RFC 6750 §2.1 b64token, so the token can travel in "Authorization: Bearer". */
    size_t i = 0;
    while (i < value.len) {
        char c = value.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'))
            break;
        i++;
    }
    while (i < value.len && i > 0 && value.ptr[i] == '=')
        i++;
    if (value.len == 0 || (i == value.len && value.len >= ADMIN_TOKEN_MIN))
        return 0;
    snprintf(why, why_len,
             "expected empty, or at least %d characters of A-Z a-z 0-9 -._~+/ and trailing =",
             ADMIN_TOKEN_MIN);
    return TR_EINVAL;
}

static void expect_text(const struct conf_key *k, char *why, size_t why_len)
{
    char lo[32], hi[32];
    switch (k->type) {
    case KT_BOOL:
        snprintf(why, why_len, "expected on or off");
        break;
    case KT_INT:
        snprintf(why, why_len, "expected %s%llu..%llu", (k->flags & KF_AUTO) ? "auto or " : "",
                 (unsigned long long)k->min, (unsigned long long)k->max);
        break;
    case KT_DURATION:
        format_duration(k->min, lo, sizeof(lo));
        format_duration(k->max, hi, sizeof(hi));
        snprintf(why, why_len, "expected a duration such as 500ms, 10s, 2m or 1h, from %s to %s",
                 lo, hi);
        break;
    case KT_SIZE:
        format_size(k->min, lo, sizeof(lo));
        format_size(k->max, hi, sizeof(hi));
        snprintf(why, why_len, "expected a size in bytes or with a k, m or g suffix, from %s to %s",
                 lo, hi);
        break;
    case KT_ENUM: {
        size_t n = 0, cnt = 0, used;
        while (k->choices[cnt])
            cnt++;
        used = (size_t)snprintf(why, why_len, "expected ");
        for (size_t i = 0; i < cnt && used < why_len; i++) {
            const char *sep = i == 0 ? "" : (i + 1 == cnt ? " or " : ", ");
            n = (size_t)snprintf(why + used, why_len - used, "%s%s", sep, k->choices[i]);
            used += n;
        }
        break;
    }
    default:
        snprintf(why, why_len, "expected a non-empty value");
        break;
    }
}

/* Parse value for k and store it. Returns 0, or TR_EINVAL with the reason in why. */
static int set_value(struct tr_conf *conf, const struct conf_key *k, struct tr_str value, char *why,
                     size_t why_len)
{
    uint64_t v = 0;
    why[0] = '\0';
    if (has_control(value)) {
        snprintf(why, why_len, "control characters are not allowed");
        return TR_EINVAL;
    }
    /* So that every value can be written back in the file syntax (which has no escapes). */
    if (memchr(value.ptr, '"', value.len)) {
        snprintf(why, why_len, "double quotes are only allowed around the whole value");
        return TR_EINVAL;
    }
    switch (k->type) {
    case KT_STRING:
    case KT_PATH:
        if (value.len == 0 && !(k->flags & KF_EMPTY))
            goto bad;
        if (k->check && k->check(value, why, why_len) != 0)
            return TR_EINVAL;
        set_str(conf, k, tr_str_dup(value));
        return 0;
    case KT_BOOL:
        for (size_t i = 0; i < TR_ARRAY_SIZE(bool_words); i++) {
            if (tr_str_ieq_cstr(value, bool_words[i].name)) {
                store_uint(conf, k, bool_words[i].value);
                return 0;
            }
        }
        goto bad;
    case KT_INT:
        if ((k->flags & KF_AUTO) && eq(value, "auto")) {
            long n = sysconf(_SC_NPROCESSORS_ONLN);
            v = n < 1 ? 1 : (uint64_t)n;
            if (k->flags & KF_HALF)
                v /= 2;
            v = v < k->min ? k->min : (v > k->max ? k->max : v);
        } else if (tr_str_to_u64(value, k->max, &v) != 0 || v < k->min) {
            goto bad;
        }
        store_uint(conf, k, v);
        return 0;
    case KT_DURATION:
        if (((k->flags & KF_SECONDS)
                 ? parse_seconds(value, &v) != 0 && parse_duration(value, &v) != 0
                 : parse_duration(value, &v) != 0) ||
            v < k->min || v > k->max)
            goto bad;
        store_uint(conf, k, v);
        return 0;
    case KT_SIZE:
        if (parse_size(value, &v) != 0 || v < k->min || v > k->max)
            goto bad;
        store_uint(conf, k, v);
        return 0;
    case KT_ENUM:
        for (size_t i = 0; k->choices[i]; i++) {
            if (eq(value, k->choices[i])) {
                if (k->flags & KF_NAME)
                    set_str(conf, k, tr_xstrdup(k->choices[i]));
                else
                    store_uint(conf, k, i);
                return 0;
            }
        }
        goto bad;
    case KT_LISTEN: {
        struct tr_listen_list list;
        char *text = tr_str_dup(value);
        int rc = tr_conf_parse_listen(text, &list, why, why_len);
        free(text);
        if (rc != 0)
            return TR_EINVAL;
        memcpy(field(conf, k), &list, sizeof(list));
        return 0;
    }
    }
bad:
    expect_text(k, why, why_len);
    return TR_EINVAL;
}

/* ---- listen lists ------------------------------------------------------------------------- */

static int parse_listen_addr(struct tr_str tok, struct tr_listen *l, char *err, size_t err_len)
{
    char shown[96], host[64];
    struct tr_str h, port;
    uint64_t p;
    const char *colon;

    if (tok.len > 0 && tok.ptr[0] == '[') {
        const char *end = memchr(tok.ptr, ']', tok.len);
        if (end == NULL || (size_t)(end - tok.ptr) + 1 >= tok.len || end[1] != ':')
            goto syntax;
        h = (struct tr_str){tok.ptr + 1, (size_t)(end - tok.ptr) - 1};
        port = (struct tr_str){end + 2, tok.len - (size_t)(end - tok.ptr) - 2};
        unsigned char a6[16];
        if (h.len >= sizeof(host))
            goto badhost;
        memcpy(host, h.ptr, h.len);
        host[h.len] = '\0';
        if (inet_pton(AF_INET6, host, a6) != 1)
            goto badhost;
        inet_ntop(AF_INET6, a6, l->host, sizeof(l->host));
    } else {
        colon = NULL;
        for (size_t i = tok.len; i > 0; i--) {
            if (tok.ptr[i - 1] == ':') {
                colon = tok.ptr + i - 1;
                break;
            }
        }
        if (colon == NULL)
            goto syntax;
        h = (struct tr_str){tok.ptr, (size_t)(colon - tok.ptr)};
        port = (struct tr_str){colon + 1, tok.len - h.len - 1};
        if (memchr(h.ptr, ':', h.len)) {
            fail(err, err_len, "IPv6 address in '%s' must be in brackets, as in [::1]:8001",
                 show(tok, shown, sizeof(shown)));
            return TR_EINVAL;
        }
        if (eq(h, "*")) {
            snprintf(l->host, sizeof(l->host), "0.0.0.0");
        } else if (eq(h, "localhost")) {
            snprintf(l->host, sizeof(l->host), "localhost");
        } else {
            unsigned char a4[4];
            if (h.len >= sizeof(host))
                goto badhost;
            memcpy(host, h.ptr, h.len);
            host[h.len] = '\0';
            if (inet_pton(AF_INET, host, a4) != 1)
                goto badhost;
            inet_ntop(AF_INET, a4, l->host, sizeof(l->host));
        }
    }
    if (tr_str_to_u64(port, 65535, &p) != 0 || p == 0) {
        fail(err, err_len, "bad port in '%s' (expected 1..65535)", show(tok, shown, sizeof(shown)));
        return TR_EINVAL;
    }
    l->port = (uint16_t)p;
    return 0;

syntax:
    fail(err, err_len, "'%s' is not ADDR:PORT", show(tok, shown, sizeof(shown)));
    return TR_EINVAL;
badhost:
    fail(err, err_len,
         "bad address in '%s' (expected an IPv4 address, [IPv6 address], * or "
         "localhost)",
         show(tok, shown, sizeof(shown)));
    return TR_EINVAL;
}

static int parse_listen_flag(struct tr_str tok, struct tr_listen *l, char *err, size_t err_len)
{
    char shown[96];
    uint64_t n;
    if (eq(tok, "ssl")) {
        l->ssl = true;
    } else if (eq(tok, "http2")) {
        l->http2 = true;
    } else if (eq(tok, "reuseport")) {
        l->reuseport = true;
    } else if (eq(tok, "deferred")) {
        l->deferred = true;
    } else if (eq(tok, "bind")) {
        /* Kong/nginx: bind each address separately; torii always does. */
    } else if (tok.len > 8 && memcmp(tok.ptr, "backlog=", 8) == 0) {
        if (tr_str_to_u64((struct tr_str){tok.ptr + 8, tok.len - 8}, 65535, &n) != 0 || n == 0) {
            fail(err, err_len, "bad '%s' (expected backlog=1..65535)",
                 show(tok, shown, sizeof(shown)));
            return TR_EINVAL;
        }
        l->backlog = (int)n;
    } else if (eq(tok, "proxy_protocol")) {
        fail(err, err_len, "the proxy_protocol flag is not supported");
        return TR_EINVAL;
    } else {
        fail(err, err_len,
             "unknown flag '%s' (expected ssl, http2, reuseport, deferred, bind or "
             "backlog=N)",
             show(tok, shown, sizeof(shown)));
        return TR_EINVAL;
    }
    return 0;
}

static struct tr_str next_token(struct tr_str *rest)
{
    size_t i = 0, j;
    while (i < rest->len && (rest->ptr[i] == ' ' || rest->ptr[i] == '\t'))
        i++;
    j = i;
    while (j < rest->len && rest->ptr[j] != ' ' && rest->ptr[j] != '\t')
        j++;
    struct tr_str tok = {rest->ptr + i, j - i};
    rest->ptr += j;
    rest->len -= j;
    return tok;
}

int tr_conf_parse_listen(const char *value, struct tr_listen_list *out, char *err, size_t err_len)
{
    struct tr_str all = tr_str_trim(tr_str_from_cstr(value));
    struct tr_listen_list list;
    memset(&list, 0, sizeof(list));

    if (eq(all, "off")) {
        *out = list;
        return 0;
    }
    if (all.len == 0) {
        fail(err, err_len, "empty list (use off for none)");
        return TR_EINVAL;
    }
    struct tr_str entry;
    while (tr_str_next_item(&all, ',', &entry)) {
        char shown[96];
        if (entry.len == 0) {
            fail(err, err_len, "empty entry in the list");
            return TR_EINVAL;
        }
        if (eq(entry, "off")) {
            fail(err, err_len, "off must be the only entry");
            return TR_EINVAL;
        }
        if (list.cnt == TR_CONF_MAX_LISTEN) {
            fail(err, err_len, "more than %d addresses", TR_CONF_MAX_LISTEN);
            return TR_EINVAL;
        }
        struct tr_listen *l = &list.items[list.cnt];
        struct tr_str rest = entry, tok = next_token(&rest);
        if (parse_listen_addr(tok, l, err, err_len) != 0)
            return TR_EINVAL;
        for (tok = next_token(&rest); tok.len > 0; tok = next_token(&rest)) {
            if (parse_listen_flag(tok, l, err, err_len) != 0)
                return TR_EINVAL;
        }
        for (size_t i = 0; i < list.cnt; i++) {
            if (list.items[i].port == l->port && strcmp(list.items[i].host, l->host) == 0) {
                fail(err, err_len, "'%s' is listed twice", show(entry, shown, sizeof(shown)));
                return TR_EINVAL;
            }
        }
        list.cnt++;
    }
    *out = list;
    return 0;
}

void tr_conf_format_listen(const struct tr_listen *l, char *buf, size_t len)
{
    if (strchr(l->host, ':'))
        snprintf(buf, len, "[%s]:%u", l->host, (unsigned)l->port);
    else
        snprintf(buf, len, "%s:%u", l->host, (unsigned)l->port);
}

/* The whole list in Kong syntax, flags included. */
static void format_listen_list(const struct tr_listen_list *list, char *buf, size_t len)
{
    size_t used = 0;
    if (list->cnt == 0) {
        snprintf(buf, len, "off");
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < list->cnt && used < len; i++) {
        const struct tr_listen *l = &list->items[i];
        char addr[96], backlog[24] = "";
        tr_conf_format_listen(l, addr, sizeof(addr));
        if (l->backlog)
            snprintf(backlog, sizeof(backlog), " backlog=%d", l->backlog);
        int n = snprintf(buf + used, len - used, "%s%s%s%s%s%s%s", i ? ", " : "", addr,
                         l->ssl ? " ssl" : "", l->http2 ? " http2" : "",
                         l->reuseport ? " reuseport" : "", l->deferred ? " deferred" : "", backlog);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static bool is_wildcard(const char *host)
{
    return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

static bool is_loopback(const char *host)
{
    unsigned char a[16];
    if (strcmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 127;
    if (inet_pton(AF_INET6, host, a) == 1) {
        static const unsigned char one[16] = {[15] = 1};
        static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
        return memcmp(a, one, 16) == 0 || (memcmp(a, mapped, 12) == 0 && a[12] == 127);
    }
    return false;
}

/* Would binding both addresses clash (or, with SO_REUSEPORT, silently share a port)? */
static bool listen_overlap(const struct tr_listen *a, const struct tr_listen *b)
{
    if (a->port != b->port)
        return false;
    if (strcmp(a->host, b->host) == 0 || is_wildcard(a->host) || is_wildcard(b->host))
        return true;
    return (strcmp(a->host, "localhost") == 0 && is_loopback(b->host)) ||
           (strcmp(b->host, "localhost") == 0 && is_loopback(a->host));
}

/* ---- loading ------------------------------------------------------------------------------ */

static int apply(struct tr_conf *conf, const struct conf_key *k, struct tr_str value,
                 const char *where, char *err, size_t err_len)
{
    char why[256], shown[96];
    if (set_value(conf, k, value, why, sizeof(why)) == 0)
        return 0;
    fail(err, err_len, "invalid value for '%s'%s: '%s' (%s)", k->name, where,
         show(value, shown, sizeof(shown)), why);
    return TR_EINVAL;
}

static int set_defaults(struct tr_conf *conf, char *err, size_t err_len)
{
    for (size_t i = 0; i < TR_ARRAY_SIZE(keys); i++) {
        if (apply(conf, &keys[i], tr_str_from_cstr(keys[i].def), " (built-in default)", err,
                  err_len) != 0)
            return TR_EINVAL;
    }
    return 0;
}

/* Split a line's text after '=' into the value: a double-quoted value is taken verbatim, an
 * unquoted one ends at a '#' that starts the text or follows a space or tab. */
static int line_value(struct tr_str raw, struct tr_str *value)
{
    raw = tr_str_trim(raw);
    if (raw.len > 0 && raw.ptr[0] == '"') {
        const char *close = memchr(raw.ptr + 1, '"', raw.len - 1);
        if (close == NULL)
            return TR_EINVAL;
        struct tr_str after = {close + 1, raw.len - (size_t)(close + 1 - raw.ptr)};
        after = tr_str_trim(after);
        if (after.len > 0 && after.ptr[0] != '#')
            return TR_EINVAL;
        *value = (struct tr_str){raw.ptr + 1, (size_t)(close - raw.ptr) - 1};
        return 0;
    }
    for (size_t i = 0; i < raw.len; i++) {
        if (raw.ptr[i] == '#' && (i == 0 || raw.ptr[i - 1] == ' ' || raw.ptr[i - 1] == '\t')) {
            raw.len = i;
            break;
        }
    }
    *value = tr_str_trim(raw);
    return 0;
}

static int apply_buffer(struct tr_conf *conf, const char *buf, size_t len, const char *name,
                        char *err, size_t err_len)
{
    size_t pos = 0;
    unsigned line = 0;
    char where[512], shown[96];

    if (name == NULL)
        name = "the configuration";
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        pos = 3; /* UTF-8 byte order mark */
    while (pos < len) {
        const char *start = buf + pos, *nl = memchr(start, '\n', len - pos);
        struct tr_str l = {start, nl ? (size_t)(nl - start) : len - pos}, key, value;
        pos += l.len + (nl ? 1 : 0);
        line++;
        if (l.len > 0 && l.ptr[l.len - 1] == '\r')
            l.len--;
        l = tr_str_trim(l);
        if (l.len == 0 || l.ptr[0] == '#')
            continue;
        const char *eqs = memchr(l.ptr, '=', l.len);
        if (eqs == NULL) {
            fail(err, err_len, "expected 'key = value', got '%s' (line %u of %s)",
                 show(l, shown, sizeof(shown)), line, name);
            return TR_EINVAL;
        }
        key = tr_str_trim((struct tr_str){l.ptr, (size_t)(eqs - l.ptr)});
        const struct conf_key *k = find_key(key);
        if (k == NULL) {
            fail(err, err_len, "unknown setting '%s' (line %u of %s)",
                 show(key, shown, sizeof(shown)), line, name);
            return TR_EINVAL;
        }
        if (line_value((struct tr_str){eqs + 1, l.len - (size_t)(eqs + 1 - l.ptr)}, &value) != 0) {
            fail(err, err_len, "bad quoting in the value of '%s' (line %u of %s)", k->name, line,
                 name);
            return TR_EINVAL;
        }
        snprintf(where, sizeof(where), " (line %u of %s)", line, name);
        /* Put the location after the reason: "invalid value for 'k': 'v' (why) (line N of F)". */
        if (apply(conf, k, value, "", err, err_len) != 0) {
            size_t used = err ? strnlen(err, err_len) : 0;
            if (err && used < err_len)
                snprintf(err + used, err_len - used, "%s", where);
            return TR_EINVAL;
        }
    }
    return 0;
}

static int apply_env(struct tr_conf *conf, char *err, size_t err_len)
{
    for (size_t i = 0; i < TR_ARRAY_SIZE(keys); i++) {
        char var[96], where[112];
        size_t n = (size_t)snprintf(var, sizeof(var), "TORII_%s", keys[i].name);
        for (size_t j = 6; j < n && j < sizeof(var); j++)
            var[j] = (char)(var[j] >= 'a' && var[j] <= 'z' ? var[j] - 32 : var[j]);
        const char *v = getenv(var);
        if (v == NULL)
            continue;
        snprintf(where, sizeof(where), " (from %s)", var);
        if (apply(conf, &keys[i], tr_str_trim(tr_str_from_cstr(v)), where, err, err_len) != 0)
            return TR_EINVAL;
    }
    return 0;
}

static char *join_path(const char *dir, const char *rel)
{
    size_t dlen = strlen(dir), rlen = strlen(rel);
    while (dlen > 0 && dir[dlen - 1] == '/')
        dlen--;
    char *p = tr_xmalloc(dlen + 1 + rlen + 1);
    memcpy(p, dir, dlen);
    p[dlen] = '/';
    memcpy(p + dlen + 1, rel, rlen + 1);
    return p;
}

static int resolve_paths(struct tr_conf *conf, char *err, size_t err_len)
{
    char *prefix = conf->prefix;
    while (prefix[0] == '.' && prefix[1] == '/')
        prefix += 2;
    if (conf->prefix[0] != '/') {
        char *cwd = getcwd(NULL, 0);
        if (cwd == NULL) {
            fail(err, err_len, "cannot resolve the relative prefix '%s': %s", conf->prefix,
                 strerror(errno));
            return TR_EINVAL;
        }
        char *abs = strcmp(prefix, ".") == 0 || prefix[0] == '\0' ? tr_xstrdup(cwd)
                                                                  : join_path(cwd, prefix);
        free(cwd);
        free(conf->prefix);
        conf->prefix = abs;
    }
    size_t plen = strlen(conf->prefix);
    while (plen > 1 && conf->prefix[plen - 1] == '/')
        conf->prefix[--plen] = '\0';

    for (size_t i = 0; i < TR_ARRAY_SIZE(keys); i++) {
        const struct conf_key *k = &keys[i];
        if (k->type != KT_PATH || !(k->flags & KF_PREFIXED))
            continue;
        char **p = str_field(conf, k);
        if (((k->flags & KF_OFF) && strcmp(*p, "off") == 0) || (*p)[0] == '/')
            continue;
        if ((*p)[0] == '\0') {
            if (k->off != offsetof(struct tr_conf, sqlite_path))
                continue; /* "" keeps its meaning (stderr) */
            set_str(conf, k, join_path(conf->prefix, "torii.db"));
        } else {
            set_str(conf, k, join_path(conf->prefix, *p));
        }
    }
    return 0;
}

/* A status_listen address may share no port with the proxy or the Admin API. */
static int check_status_listeners(const struct tr_conf *conf, char *err, size_t err_len)
{
    char a[96], b[96];
    for (size_t i = 0; i < conf->status_listen.cnt; i++) {
        const struct tr_listen *sl = &conf->status_listen.items[i];
        const struct tr_listen_list *others[] = {&conf->proxy_listen, &conf->admin_listen};
        for (size_t k = 0; k < 2; k++) {
            for (size_t j = 0; j < others[k]->cnt; j++) {
                if (!listen_overlap(sl, &others[k]->items[j]))
                    continue;
                tr_conf_format_listen(sl, a, sizeof(a));
                tr_conf_format_listen(&others[k]->items[j], b, sizeof(b));
                fail(err, err_len, "status_listen address %s overlaps %s address %s", a,
                     k == 0 ? "proxy_listen" : "admin_listen", b);
                return TR_EINVAL;
            }
        }
    }
    return 0;
}

static int check_listeners(const struct tr_conf *conf, char *err, size_t err_len)
{
    char a[96], b[96];
    if (check_status_listeners(conf, err, err_len) != 0)
        return TR_EINVAL;
    for (size_t i = 0; i < conf->admin_listen.cnt; i++) {
        const struct tr_listen *al = &conf->admin_listen.items[i];
        for (size_t j = 0; j < conf->proxy_listen.cnt; j++) {
            const struct tr_listen *pl = &conf->proxy_listen.items[j];
            if (listen_overlap(al, pl)) {
                tr_conf_format_listen(al, a, sizeof(a));
                tr_conf_format_listen(pl, b, sizeof(b));
                fail(err, err_len, "admin_listen address %s overlaps proxy_listen address %s", a,
                     b);
                return TR_EINVAL;
            }
        }
        /* P11: the Admin API can reconfigure every route; never expose it by accident. */
        if (!is_loopback(al->host) && !conf->admin_allow_remote && conf->admin_token[0] == '\0') {
            tr_conf_format_listen(al, a, sizeof(a));
            fail(err, err_len,
                 "admin_listen address %s is not a loopback address: exposing the Admin API "
                 "needs admin_allow_remote = on (or an admin_token)",
                 a);
            return TR_EINVAL;
        }
    }
    return 0;
}

static int load(struct tr_conf *conf, const char *buf, size_t len, const char *name, bool env,
                char *err, size_t err_len)
{
    memset(conf, 0, sizeof(*conf));
    if (set_defaults(conf, err, err_len) != 0 ||
        (buf != NULL && apply_buffer(conf, buf, len, name, err, err_len) != 0) ||
        (env && apply_env(conf, err, err_len) != 0) || resolve_paths(conf, err, err_len) != 0 ||
        check_listeners(conf, err, err_len) != 0) {
        tr_conf_free(conf);
        return TR_EINVAL;
    }
    char why[8];
    header_tokens(tr_str_from_cstr(conf->headers), false, &conf->headers_mask, why, sizeof(why));
    header_tokens(tr_str_from_cstr(conf->headers_upstream), true, &conf->headers_upstream_mask, why,
                  sizeof(why));
    tracing_tokens(tr_str_from_cstr(conf->tracing_instrumentations), &conf->tracing_mask, why,
                   sizeof(why));
    parse_rate(tr_str_from_cstr(conf->tracing_sampling_rate), &conf->tracing_rate);
    return 0;
}

static char *read_file(const char *path, size_t *len, char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf = NULL;
    size_t used = 0;

    if (fd == -1) {
        fail(err, err_len, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        fail(err, err_len, "cannot read %s: not a regular file", path);
        goto fail;
    }
    buf = tr_xmalloc(MAX_FILE_SIZE + 1);
    for (;;) {
        ssize_t n = read(fd, buf + used, MAX_FILE_SIZE + 1 - used);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            fail(err, err_len, "cannot read %s: %s", path, strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > MAX_FILE_SIZE) {
            fail(err, err_len, "%s is larger than %d bytes", path, MAX_FILE_SIZE);
            goto fail;
        }
    }
    close(fd);
    *len = used;
    return buf;

fail:
    free(buf);
    close(fd);
    return NULL;
}

int tr_conf_load(struct tr_conf *conf, const char *path, char *err, size_t err_len)
{
    char *buf = NULL;
    size_t len = 0;
    if (path != NULL) {
        buf = read_file(path, &len, err, err_len);
        if (buf == NULL) {
            memset(conf, 0, sizeof(*conf));
            return TR_EIO;
        }
    }
    int rc = load(conf, buf, len, path, true, err, err_len);
    free(buf);
    return rc;
}

int tr__conf_parse_buffer(struct tr_conf *conf, const char *buf, size_t len, const char *name,
                          char *err, size_t err_len)
{
    return load(conf, buf ? buf : "", buf ? len : 0, name, false, err, err_len);
}

/* ---- output ------------------------------------------------------------------------------- */

void tr_conf_foreach(const struct tr_conf *conf,
                     void (*cb)(const char *key, const char *value, void *ud), void *ud)
{
    char buf[TR_CONF_MAX_LISTEN * 128];
    for (size_t i = 0; i < TR_ARRAY_SIZE(keys); i++) {
        const struct conf_key *k = &keys[i];
        const char *value = buf;
        if (is_string_field(k)) {
            const char *s;
            memcpy(&s, cfield(conf, k), sizeof(s));
            value = s ? s : "";
            if ((k->flags & KF_SECRET) && value[0] != '\0')
                value = SECRET_MASK;
        } else {
            switch (k->type) {
            case KT_BOOL:
                value = load_uint(conf, k) ? "on" : "off";
                break;
            case KT_INT:
                snprintf(buf, sizeof(buf), "%llu", (unsigned long long)load_uint(conf, k));
                break;
            case KT_DURATION:
                format_duration(load_uint(conf, k), buf, sizeof(buf));
                break;
            case KT_SIZE:
                format_size(load_uint(conf, k), buf, sizeof(buf));
                break;
            case KT_ENUM: {
                uint64_t idx = load_uint(conf, k), n = 0;
                while (k->choices[n])
                    n++;
                value = idx < n ? k->choices[idx] : "";
                break;
            }
            case KT_LISTEN:
                format_listen_list((const struct tr_listen_list *)cfield(conf, k), buf,
                                   sizeof(buf));
                break;
            default:
                value = "";
                break;
            }
        }
        cb(k->name, value, ud);
    }
}

struct dump {
    struct tr_buf out;
    bool failed; /* memory ran out */
};

static void dump_append(struct dump *d, const char *s, size_t n)
{
    if (!d->failed && tr_buf_append(&d->out, s, n) != 0)
        d->failed = true;
}

static void on_dump(const char *key, const char *value, void *ud)
{
    struct dump *d = ud;
    size_t vlen = strlen(value);
    /* Quote what the file syntax would otherwise trim or cut at a comment. Values never hold a
     * '"' (set_value refuses it), so quoting always round-trips. */
    bool quote = vlen == 0 || value[0] == ' ' || value[0] == '\t' || value[0] == '#' ||
                 value[vlen - 1] == ' ' || value[vlen - 1] == '\t' || strstr(value, " #") ||
                 strstr(value, "\t#");
    dump_append(d, key, strlen(key));
    dump_append(d, " = ", 3);
    if (quote)
        dump_append(d, "\"", 1);
    dump_append(d, value, vlen);
    if (quote)
        dump_append(d, "\"", 1);
    dump_append(d, "\n", 1);
}

char *tr_conf_dump(const struct tr_conf *conf)
{
    struct dump d = {.failed = false};
    tr_buf_init(&d.out, SIZE_MAX);
    tr_conf_foreach(conf, on_dump, &d);
    dump_append(&d, "", 1); /* the NUL */
    if (d.failed) {
        tr_buf_free(&d.out);
        return NULL;
    }
    size_t len;
    return tr_buf_detach(&d.out, &len);
}

void tr_conf_free(struct tr_conf *conf)
{
    for (size_t i = 0; i < TR_ARRAY_SIZE(keys); i++) {
        if (is_string_field(&keys[i]))
            set_str(conf, &keys[i], NULL);
    }
    memset(conf, 0, sizeof(*conf));
}

static char node_id[40];

void tr_conf_set_node_id(const char *id)
{
    snprintf(node_id, sizeof(node_id), "%s", id);
}

const char *tr_conf_node_id(void)
{
    return node_id;
}
