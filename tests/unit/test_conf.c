/* SPDX-License-Identifier: MIT */
/* Tests for core/conf.c: defaults, the file syntax, every value type and its errors, TORII_<KEY>
 * overrides, listen lists, the admin exposure rule and admin_gui_origins (P11), and the dump
 * round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "plugins/registry.h"

extern char **environ;

static char err[512];

static int parse(const char *text, struct tr_conf *conf)
{
    err[0] = '\0';
    return tr__conf_parse_buffer(conf, text, strlen(text), "t.conf", err, sizeof(err));
}

/* Parse text, expect success, and free. */
static int parse_ok(const char *text)
{
    struct tr_conf c = {0};
    int rc = parse(text, &c);
    if (rc != 0)
        fprintf(stderr, "unexpected error for \"%s\": %s\n", text, err);
    tr_conf_free(&c);
    return rc;
}

/* Parse text, expect an error containing needle, and a zeroed struct. */
#define CHECK_ERR(text, needle)                                                                    \
    do {                                                                                           \
        struct tr_conf c_ = {0};                                                                   \
        int rc_ = parse((text), &c_);                                                              \
        TR_CHECK_INT(rc_, TR_EINVAL);                                                              \
        if (strstr(err, (needle)) == NULL) {                                                       \
            tr_check_failed++;                                                                     \
            fprintf(stderr, "%s:%d: error for \"%s\" is \"%s\", expected \"%s\"\n", __FILE__,      \
                    __LINE__, (text), err, (needle));                                              \
        } else {                                                                                   \
            tr_check_passed++;                                                                     \
        }                                                                                          \
        TR_CHECK(c_.prefix == NULL && c_.proxy_listen.cnt == 0);                                   \
        tr_conf_free(&c_);                                                                         \
    } while (0)

static void clear_torii_env(void)
{
    char names[64][128];
    size_t cnt = 0;
    for (char **e = environ; *e && cnt < 64; e++) {
        if (strncmp(*e, "TORII_", 6) == 0) {
            const char *eq = strchr(*e, '=');
            size_t len = eq ? (size_t)(eq - *e) : strlen(*e);
            if (len < sizeof(names[0])) {
                memcpy(names[cnt], *e, len);
                names[cnt++][len] = '\0';
            }
        }
    }
    for (size_t i = 0; i < cnt; i++)
        unsetenv(names[i]);
}

static long expected_auto_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > 256 ? 256 : n);
}

/* password_hash_threads = auto: half the online CPUs, at least one. */
static long expected_hash_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN) / 2;
    return n < 1 ? 1 : (n > 64 ? 64 : n);
}

static void check_defaults(const struct tr_conf *c)
{
    TR_CHECK_STR(c->prefix, "/usr/local/torii");
    TR_CHECK_INT(c->proxy_listen.cnt, 2);
    TR_CHECK_STR(c->proxy_listen.items[0].host, "0.0.0.0");
    TR_CHECK_INT(c->proxy_listen.items[0].port, 8000);
    TR_CHECK(!c->proxy_listen.items[0].ssl);
    TR_CHECK_STR(c->proxy_listen.items[1].host, "0.0.0.0");
    TR_CHECK_INT(c->proxy_listen.items[1].port, 8443);
    TR_CHECK(c->proxy_listen.items[1].ssl);
    TR_CHECK(!c->proxy_listen.items[1].http2);
    TR_CHECK_INT(c->proxy_listen.items[1].backlog, 0);
    TR_CHECK_INT(c->admin_listen.cnt, 1);
    TR_CHECK_STR(c->admin_listen.items[0].host, "127.0.0.1");
    TR_CHECK_INT(c->admin_listen.items[0].port, 8001);
    TR_CHECK(!c->admin_listen.items[0].ssl);
    TR_CHECK(!c->admin_allow_remote);
    TR_CHECK_STR(c->admin_token, "");
    TR_CHECK_STR(c->admin_gui_origins, "");
    TR_CHECK_STR(c->database, "sqlite");
    TR_CHECK_STR(c->sqlite_path, "/usr/local/torii/torii.db");
    TR_CHECK_INT(c->worker_threads, expected_auto_threads());
    TR_CHECK_INT(c->password_hash_threads, expected_hash_threads());
    TR_CHECK_INT(c->password_hash_queue, 32);
    TR_CHECK_INT(c->log_level, TR_LOG_NOTICE);
    TR_CHECK_STR(c->proxy_access_log, "/usr/local/torii/logs/access.log");
    TR_CHECK_STR(c->proxy_error_log, "");
    TR_CHECK_STR(c->admin_access_log, "off");
    TR_CHECK_INT(c->client_header_timeout_ms, 10000);
    TR_CHECK_INT(c->client_body_timeout_ms, 10000);
    TR_CHECK_INT(c->keepalive_timeout_ms, 60000);
    TR_CHECK_INT(c->keepalive_requests, 1000);
    TR_CHECK_INT(c->send_timeout_ms, 60000);
    TR_CHECK_INT(c->max_request_line, 8192);
    TR_CHECK_INT(c->max_header_line, 8192);
    TR_CHECK_INT(c->max_header_size, 32768);
    TR_CHECK_INT(c->max_headers, 100);
    TR_CHECK_INT(c->max_connections, 16384);
    TR_CHECK_INT(c->admin_max_body, 10485760);
    TR_CHECK_INT(c->upstream_keepalive, 256);
    TR_CHECK_INT(c->upstream_keepalive_timeout_ms, 60000);
    TR_CHECK_INT(c->upstream_keepalive_requests, 10000);
    TR_CHECK_INT(c->drain_timeout_ms, 10000);
    TR_CHECK_INT(c->drain_idle_grace_ms, 1000);
    TR_CHECK(!c->escaped_slashes_reject);
    TR_CHECK_STR(c->plugins, "bundled");
}

static void test_defaults(void)
{
    struct tr_conf c = {0};
    TR_CHECK_INT(tr_conf_load(&c, NULL, err, sizeof(err)), 0);
    check_defaults(&c);
    tr_conf_free(&c);
    TR_CHECK(c.prefix == NULL && c.database == NULL);
    tr_conf_free(&c); /* twice is harmless */

    TR_CHECK_INT(parse("", &c), 0);
    check_defaults(&c);
    tr_conf_free(&c);
}

static void test_file_syntax(void)
{
    struct tr_conf c = {0};
    const char *text = "# a comment line\n"
                       "\n"
                       "   \t\n"
                       "  prefix   =   /srv/torii   \n"
                       "log_level = debug # trailing comment\n"
                       "proxy_access_log = logs/a#b.log\n"
                       "proxy_error_log = \"err # not a comment.log\"  # but this is\n"
                       "worker_threads=4\r\n"
                       "password_hash_threads = 3\n"
                       "password_hash_queue = 0\n"
                       "max_headers = 50\n"
                       "max_headers = 60\n"
                       "  # indented comment\n"
                       "escaped_slashes = reject\n"
                       "sqlite_path = \"\"\n"
                       "admin_allow_remote = YES";
    TR_CHECK_INT(parse(text, &c), 0);
    TR_CHECK_STR(c.prefix, "/srv/torii");
    TR_CHECK_INT(c.log_level, TR_LOG_DEBUG);
    TR_CHECK_STR(c.proxy_access_log, "/srv/torii/logs/a#b.log");
    TR_CHECK_STR(c.proxy_error_log, "/srv/torii/err # not a comment.log");
    TR_CHECK_INT(c.worker_threads, 4);
    TR_CHECK_INT(c.password_hash_threads, 3);
    TR_CHECK_INT(c.password_hash_queue, 0);
    TR_CHECK_INT(c.max_headers, 60); /* last wins */
    TR_CHECK(c.escaped_slashes_reject);
    TR_CHECK_STR(c.sqlite_path, "/srv/torii/torii.db");
    TR_CHECK(c.admin_allow_remote);
    tr_conf_free(&c);

    /* A byte order mark, a value that is only a comment, and an empty value. */
    TR_CHECK_INT(
        parse("\xEF\xBB\xBFlog_level = warn\nadmin_token = # none\nproxy_error_log =\n", &c), 0);
    TR_CHECK_INT(c.log_level, TR_LOG_WARN);
    TR_CHECK_STR(c.admin_token, "");
    TR_CHECK_STR(c.proxy_error_log, "");
    tr_conf_free(&c);

    /* Quotes keep surrounding spaces and '#'. */
    TR_CHECK_INT(parse("proxy_error_log = \"/x/ y \"\n", &c), 0);
    TR_CHECK_STR(c.proxy_error_log, "/x/ y ");
    tr_conf_free(&c);
}

static void test_file_errors(void)
{
    struct tr_conf c = {0};
    TR_CHECK_INT(parse("# one\nprefix = /a\nfoo = 1\n", &c), TR_EINVAL);
    TR_CHECK_STR(err, "unknown setting 'foo' (line 3 of t.conf)");
    TR_CHECK_INT(parse("worker_threads = abc\n", &c), TR_EINVAL);
    TR_CHECK_STR(err, "invalid value for 'worker_threads': 'abc' (expected auto or 1..256) "
                      "(line 1 of t.conf)");
    CHECK_ERR("\n\njust words\n", "expected 'key = value', got 'just words' (line 3 of t.conf)");
    CHECK_ERR("Prefix = /a\n", "unknown setting 'Prefix'");
    CHECK_ERR("= 1\n", "unknown setting ''");
    CHECK_ERR("prefix = \"/a\n", "bad quoting in the value of 'prefix' (line 1");
    CHECK_ERR("prefix = \"/a\" b\n", "bad quoting");
    /* plugins: bundled, off, or names of bundled plugins. */
    CHECK_ERR("plugins = no-such-plugin\n", "'plugins'");
    CHECK_ERR("plugins = bundled, no-such-plugin\n", "unknown plugin 'no-such-plugin'");
    CHECK_ERR("plugins = \n", "'plugins'");
    TR_CHECK_INT(parse_ok("plugins = off\n"), 0);
    TR_CHECK_INT(parse_ok("plugins = bundled\n"), 0);
    CHECK_ERR("prefix = /a\x01z\n", "control characters are not allowed");
    CHECK_ERR("prefix = /a\"b\n", "invalid value for 'prefix': '/a\"b' (double quotes are only "
                                  "allowed around the whole value)");
    CHECK_ERR("prefix = \"\"/a\"\n", "bad quoting");
    CHECK_ERR("prefix = /a\nlog_level = info\nprefix = \"\"\n",
              "invalid value for 'prefix': '' (expected a non-empty value) (line 3");
    /* A NUL byte inside a value is a control character, not the end of the value. */
    const char nul[] = "prefix = /a\0b\n";
    TR_CHECK_INT(tr__conf_parse_buffer(&c, nul, sizeof(nul) - 1, "t.conf", err, sizeof(err)),
                 TR_EINVAL);
    TR_CHECK(strstr(err, "control characters") != NULL);

    /* Bad values, one or more per type. */
    CHECK_ERR("admin_allow_remote = maybe", "invalid value for 'admin_allow_remote': 'maybe' "
                                            "(expected on or off)");
    CHECK_ERR("admin_allow_remote = ", "expected on or off");
    CHECK_ERR("worker_threads = 0", "expected auto or 1..256");
    CHECK_ERR("worker_threads = 257", "expected auto or 1..256");
    CHECK_ERR("worker_threads = -1", "expected auto or 1..256");
    CHECK_ERR("worker_threads = AUTO", "expected auto or 1..256");
    CHECK_ERR("password_hash_threads = 0", "expected auto or 1..64");
    CHECK_ERR("password_hash_threads = 65", "expected auto or 1..64");
    CHECK_ERR("password_hash_queue = auto", "expected 0..65536");
    CHECK_ERR("password_hash_queue = 65537", "expected 0..65536");
    CHECK_ERR("max_headers = 257", "invalid value for 'max_headers': '257' (expected 1..256)");
    CHECK_ERR("max_headers = 0", "expected 1..256");
    CHECK_ERR("max_headers = 1 0", "expected 1..256");
    CHECK_ERR("max_headers = +5", "expected 1..256");
    CHECK_ERR("keepalive_requests = 99999999999999999999999", "expected 1..1000000000");
    CHECK_ERR("client_header_timeout = 10x",
              "invalid value for 'client_header_timeout': '10x' (expected a duration such as "
              "500ms, 10s, 2m or 1h, from 1ms to 24h)");
    CHECK_ERR("client_header_timeout = s", "expected a duration");
    CHECK_ERR("client_header_timeout = 1.5s", "expected a duration");
    CHECK_ERR("client_header_timeout = 0", "expected a duration");
    CHECK_ERR("client_header_timeout = 25h", "expected a duration");
    CHECK_ERR("client_header_timeout = 10 s", "expected a duration");
    CHECK_ERR("client_header_timeout = 10S", "expected a duration");
    CHECK_ERR("send_timeout = 99999999999999999999h", "expected a duration");
    CHECK_ERR("max_request_line = 8q",
              "invalid value for 'max_request_line': '8q' (expected a size in bytes or with a k, "
              "m or g suffix, from 256 to 1m)");
    CHECK_ERR("max_request_line = 2m", "from 256 to 1m");
    CHECK_ERR("max_request_line = 255", "from 256 to 1m");
    CHECK_ERR("max_request_line = k", "expected a size");
    CHECK_ERR("max_request_line = 8kb", "expected a size");
    CHECK_ERR("admin_max_body = 99999999999999999g", "expected a size");
    CHECK_ERR("log_level = verbose", "invalid value for 'log_level': 'verbose' (expected debug, "
                                     "info, notice, warn, error or crit)");
    CHECK_ERR("database = mysql",
              "invalid value for 'database': 'mysql' (expected sqlite, postgres or off)");
    CHECK_ERR("escaped_slashes = drop", "(expected keep or reject)");
    CHECK_ERR("headers = via, X-Powered-By", "'headers'");
    CHECK_ERR("headers = off, via", "off cannot be mixed");
    CHECK_ERR("headers_upstream = Via", "expected X-Kong-Request-Id, or off");
    CHECK_ERR("tracing_instrumentations = request, sql", "invalid tracing type: sql");
    CHECK_ERR("tracing_instrumentations = off, request",
              "invalid tracing types: off, other types are mutually exclusive");
    CHECK_ERR("tracing_sampling_rate = 1.5", "tracing_sampling_rate must be between 0 and 1");
    {
        struct tr_conf tc = {0};
        TR_CHECK_INT(parse("tracing_instrumentations = router, balancer\n"
                           "tracing_sampling_rate = 1\n",
                           &tc),
                     0);
        TR_CHECK_INT(tc.tracing_mask, TR_TRACE_REQUEST | TR_TRACE_ROUTER | TR_TRACE_BALANCER);
        TR_CHECK(tc.tracing_rate == 1.0);
        tr_conf_free(&tc);
    }
    {
        struct tr_conf h = {0};
        TR_CHECK_INT(parse("headers = off\nheaders_upstream = off\n", &h), 0);
        TR_CHECK_INT(h.headers_mask, 0);
        TR_CHECK_INT(h.headers_upstream_mask, 0);
        tr_conf_free(&h);
        TR_CHECK_INT(parse("headers = server_tokens, x-kong-upstream-status\n", &h), 0);
        TR_CHECK_INT(h.headers_mask,
                     TR_HEADERS_VIA | TR_HEADERS_SERVER | TR_HEADERS_UPSTREAM_STATUS);
        tr_conf_free(&h);
    }
    CHECK_ERR("proxy_listen = 0.0.0.0:80 foo", "invalid value for 'proxy_listen': '0.0.0.0:80 "
                                               "foo' (unknown flag 'foo'");
    CHECK_ERR("admin_token = short", "invalid value for 'admin_token': 'short' (expected empty, or "
                                     "at least 16 characters");
    CHECK_ERR("admin_token = \"0123456789abcdef 0123\"", "'admin_token'");
    CHECK_ERR("admin_token = 0123456789abcdef=x", "'admin_token'");

    /* Long values are cut in messages. */
    char big[600];
    memset(big, 'x', sizeof(big));
    memcpy(big, "log_level = ", 12);
    big[sizeof(big) - 1] = '\0';
    CHECK_ERR(big, "...' (expected debug");

    /* A missing file. */
    TR_CHECK_INT(tr_conf_load(&c, "no-such-dir/torii.conf", err, sizeof(err)), TR_EIO);
    TR_CHECK(strstr(err, "cannot open no-such-dir/torii.conf") != NULL);
    TR_CHECK(c.prefix == NULL);
}

static void test_values(void)
{
    struct tr_conf c = {0};
    TR_CHECK_INT(parse("client_header_timeout = 500ms\n"
                       "client_body_timeout = 2m\n"
                       "keepalive_timeout = 0\n"
                       "send_timeout = 1h\n"
                       "drain_timeout = 1500\n"
                       "upstream_keepalive_timeout = 24h\n"
                       "max_request_line = 4K\n"
                       "max_header_line = 1m\n"
                       "max_header_size = 2000\n"
                       "admin_max_body = 1G\n"
                       "max_connections = 0\n"
                       "upstream_keepalive = 0\n"
                       "worker_threads = auto\n"
                       "keepalive_requests = 1000000000\n"
                       "admin_allow_remote = 1\n"
                       "log_level = crit\n",
                       &c),
                 0);
    TR_CHECK_INT(c.client_header_timeout_ms, 500);
    TR_CHECK_INT(c.client_body_timeout_ms, 120000);
    TR_CHECK_INT(c.keepalive_timeout_ms, 0);
    TR_CHECK_INT(c.send_timeout_ms, 3600000);
    TR_CHECK_INT(c.drain_timeout_ms, 1500);
    TR_CHECK_INT(c.upstream_keepalive_timeout_ms, 86400000);
    TR_CHECK_INT(c.max_request_line, 4096);
    TR_CHECK_INT(c.max_header_line, 1048576);
    TR_CHECK_INT(c.max_header_size, 2000);
    TR_CHECK_INT(c.admin_max_body, 1073741824);
    TR_CHECK_INT(c.max_connections, 0);
    TR_CHECK_INT(c.upstream_keepalive, 0);
    TR_CHECK_INT(c.worker_threads, expected_auto_threads());
    TR_CHECK_INT(c.keepalive_requests, 1000000000);
    TR_CHECK(c.admin_allow_remote);
    TR_CHECK_INT(c.log_level, TR_LOG_CRIT);
    tr_conf_free(&c);

    static const struct {
        const char *word;
        bool value;
    } bools[] = {{"on", true},  {"off", false}, {"true", true}, {"false", false},
                 {"yes", true}, {"no", false},  {"1", true},    {"0", false}};
    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        char line[64];
        snprintf(line, sizeof(line), "admin_allow_remote = %s", bools[i].word);
        TR_CHECK_INT(parse(line, &c), 0);
        TR_CHECK_INT(c.admin_allow_remote, bools[i].value);
        tr_conf_free(&c);
    }
}

static void test_paths(void)
{
    struct tr_conf c = {0};
    char cwd[4096], want[4200];
    TR_CHECK(getcwd(cwd, sizeof(cwd)) != NULL);

    TR_CHECK_INT(parse("prefix = ./run/\nsqlite_path = data/x.db\nproxy_access_log = off\n"
                       "proxy_error_log = /var/log/torii.log\nadmin_access_log = logs/admin.log\n",
                       &c),
                 0);
    snprintf(want, sizeof(want), "%s/run", cwd);
    TR_CHECK_STR(c.prefix, want);
    snprintf(want, sizeof(want), "%s/run/data/x.db", cwd);
    TR_CHECK_STR(c.sqlite_path, want);
    TR_CHECK_STR(c.proxy_access_log, "off");
    TR_CHECK_STR(c.proxy_error_log, "/var/log/torii.log");
    snprintf(want, sizeof(want), "%s/run/logs/admin.log", cwd);
    TR_CHECK_STR(c.admin_access_log, want);
    tr_conf_free(&c);

    TR_CHECK_INT(parse("prefix = /\nsqlite_path = /db/t.db\nproxy_error_log = off\n", &c), 0);
    TR_CHECK_STR(c.prefix, "/");
    TR_CHECK_STR(c.sqlite_path, "/db/t.db");
    TR_CHECK_STR(c.proxy_error_log, "off");
    TR_CHECK_STR(c.proxy_access_log, "/logs/access.log");
    tr_conf_free(&c);

    TR_CHECK_INT(parse("prefix = /p///\n", &c), 0);
    TR_CHECK_STR(c.prefix, "/p");
    TR_CHECK_STR(c.sqlite_path, "/p/torii.db");
    tr_conf_free(&c);
}

static void test_listen(void)
{
    struct tr_listen_list l;
    char buf[128];

    TR_CHECK_INT(tr_conf_parse_listen("0.0.0.0:8000", &l, err, sizeof(err)), 0);
    TR_CHECK_INT(l.cnt, 1);
    TR_CHECK_STR(l.items[0].host, "0.0.0.0");
    TR_CHECK_INT(l.items[0].port, 8000);
    TR_CHECK(!l.items[0].ssl && !l.items[0].http2 && !l.items[0].reuseport);

    TR_CHECK_INT(tr_conf_parse_listen("  127.0.0.1:8443 ssl http2 reuseport deferred bind "
                                      "backlog=1024 ,[::1]:8001,[0:0::0]:80 ssl, *:9000,"
                                      "localhost:9001\tssl  ",
                                      &l, err, sizeof(err)),
                 0);
    TR_CHECK_INT(l.cnt, 5);
    TR_CHECK_STR(l.items[0].host, "127.0.0.1");
    TR_CHECK_INT(l.items[0].port, 8443);
    TR_CHECK(l.items[0].ssl && l.items[0].http2 && l.items[0].reuseport && l.items[0].deferred);
    TR_CHECK_INT(l.items[0].backlog, 1024);
    TR_CHECK_STR(l.items[1].host, "::1");
    TR_CHECK_INT(l.items[1].port, 8001);
    TR_CHECK(!l.items[1].ssl);
    TR_CHECK_STR(l.items[2].host, "::");
    TR_CHECK(l.items[2].ssl);
    TR_CHECK_STR(l.items[3].host, "0.0.0.0");
    TR_CHECK_INT(l.items[3].port, 9000);
    TR_CHECK_STR(l.items[4].host, "localhost");
    TR_CHECK(l.items[4].ssl);

    tr_conf_format_listen(&l.items[1], buf, sizeof(buf));
    TR_CHECK_STR(buf, "[::1]:8001");
    tr_conf_format_listen(&l.items[0], buf, sizeof(buf));
    TR_CHECK_STR(buf, "127.0.0.1:8443");
    tr_conf_format_listen(&l.items[0], buf, 5);
    TR_CHECK_STR(buf, "127.");

    TR_CHECK_INT(tr_conf_parse_listen(" off ", &l, err, sizeof(err)), 0);
    TR_CHECK_INT(l.cnt, 0);

    static const struct {
        const char *in, *err;
    } bad[] = {
        {"", "empty list (use off for none)"},
        {"0.0.0.0:8000,", "empty entry"},
        {"off, 0.0.0.0:80", "off must be the only entry"},
        {"0.0.0.0", "'0.0.0.0' is not ADDR:PORT"},
        {"0.0.0.0:0", "bad port in '0.0.0.0:0' (expected 1..65535)"},
        {"0.0.0.0:65536", "bad port"},
        {"0.0.0.0:", "bad port"},
        {"0.0.0.0:80x", "bad port"},
        {"::1:8001", "IPv6 address in '::1:8001' must be in brackets"},
        {"[::1]", "not ADDR:PORT"},
        {"[::1]8001", "not ADDR:PORT"},
        {"[::1:8001", "not ADDR:PORT"},
        {"[127.0.0.1]:80", "bad address"},
        {"[fe80::1%eth0]:80", "bad address"},
        {"example.com:80", "bad address in 'example.com:80' (expected an IPv4 address, [IPv6 "
                           "address], * or localhost)"},
        {"256.0.0.1:80", "bad address"},
        {"010.0.0.1:80", "bad address"},
        {"1.2.3:80", "bad address"},
        {"0.0.0.0:80 proxy_protocol", "the proxy_protocol flag is not supported"},
        {"0.0.0.0:80 SSL", "unknown flag 'SSL'"},
        {"0.0.0.0:80 backlog=0", "bad 'backlog=0' (expected backlog=1..65535)"},
        {"0.0.0.0:80 backlog=", "unknown flag 'backlog='"},
        {"0.0.0.0:80 backlog=x", "bad 'backlog=x'"},
        {"0.0.0.0:80 backlog=70000", "bad 'backlog=70000'"},
        {"1.1.1.1:80, 1.1.1.1:80 ssl", "'1.1.1.1:80 ssl' is listed twice"},
        {"[::1]:80, [0::1]:80", "listed twice"},
        {"0.0.0.0:80, 0.0.0.0:80", "listed twice"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        int rc = tr_conf_parse_listen(bad[i].in, &l, err, sizeof(err));
        TR_CHECK_INT(rc, TR_EINVAL);
        if (strstr(err, bad[i].err) == NULL) {
            tr_check_failed++;
            fprintf(stderr, "listen \"%s\": error \"%s\", expected \"%s\"\n", bad[i].in, err,
                    bad[i].err);
        }
    }

    /* TR_CONF_MAX_LISTEN entries are fine, one more is not. */
    char many[TR_CONF_MAX_LISTEN * 24 + 32];
    size_t used = 0;
    for (int i = 0; i < TR_CONF_MAX_LISTEN; i++)
        used += (size_t)snprintf(many + used, sizeof(many) - used, "%s127.0.0.1:%d", i ? "," : "",
                                 9000 + i);
    TR_CHECK_INT(tr_conf_parse_listen(many, &l, err, sizeof(err)), 0);
    TR_CHECK_INT(l.cnt, TR_CONF_MAX_LISTEN);
    snprintf(many + used, sizeof(many) - used, ",127.0.0.1:1");
    TR_CHECK_INT(tr_conf_parse_listen(many, &l, err, sizeof(err)), TR_EINVAL);
    TR_CHECK(strstr(err, "more than 16 addresses") != NULL);

    /* Through the file: off, and the key named in the error. */
    struct tr_conf c = {0};
    TR_CHECK_INT(parse("proxy_listen = off\n", &c), 0);
    TR_CHECK_INT(c.proxy_listen.cnt, 0);
    tr_conf_free(&c);
    CHECK_ERR("proxy_listen = 0.0.0.0:80 proxy_protocol",
              "invalid value for 'proxy_listen': '0.0.0.0:80 proxy_protocol' (the proxy_protocol "
              "flag is not supported) (line 1 of t.conf)");
}

static void test_admin_exposure(void)
{
    struct tr_conf c = {0};
    CHECK_ERR("admin_listen = 0.0.0.0:8001",
              "admin_listen address 0.0.0.0:8001 is not a loopback address: exposing the Admin "
              "API needs admin_allow_remote = on");
    CHECK_ERR("admin_listen = 127.0.0.1:8001, 10.1.2.3:8001", "admin_listen address 10.1.2.3:8001");
    CHECK_ERR("admin_listen = [::]:8001", "admin_listen address [::]:8001 is not a loopback");
    CHECK_ERR("admin_listen = *:8001", "admin_allow_remote = on");
    CHECK_ERR("admin_listen = [::2]:8001", "admin_allow_remote = on");
    CHECK_ERR("admin_listen = 0.0.0.0:8001\nadmin_allow_remote = off\n", "admin_allow_remote");

    TR_CHECK_INT(parse_ok("admin_listen = 127.0.0.1:8001, 127.9.9.9:8002, [::1]:8003, "
                          "localhost:8004, [::ffff:127.0.0.1]:8005"),
                 0);
    TR_CHECK_INT(parse_ok("admin_listen = off"), 0);
    TR_CHECK_INT(parse("admin_listen = 0.0.0.0:8001\nadmin_allow_remote = on\n", &c), 0);
    TR_CHECK_STR(c.admin_listen.items[0].host, "0.0.0.0");
    TR_CHECK(c.admin_allow_remote);
    tr_conf_free(&c);
    TR_CHECK_INT(parse("admin_listen = 0.0.0.0:8001\nadmin_token = "
                       "aGVsbG8td29ybGQtdG9rZW4tMTIzNA==\n",
                       &c),
                 0);
    TR_CHECK_STR(c.admin_token, "aGVsbG8td29ybGQtdG9rZW4tMTIzNA==");
    TR_CHECK(!c.admin_allow_remote);
    tr_conf_free(&c);

    /* The Admin API must never share a port with the proxy. */
    CHECK_ERR("admin_listen = 127.0.0.1:8000",
              "admin_listen address 127.0.0.1:8000 overlaps proxy_listen address 0.0.0.0:8000");
    CHECK_ERR("proxy_listen = 127.0.0.1:9000\nadmin_listen = localhost:9000", "overlaps");
    CHECK_ERR("proxy_listen = [::]:9000\nadmin_listen = [::1]:9000", "overlaps");
    TR_CHECK_INT(parse_ok("proxy_listen = 127.0.0.1:9000\nadmin_listen = 127.0.0.2:9000"), 0);
    TR_CHECK_INT(parse_ok("proxy_listen = off\nadmin_listen = 127.0.0.1:8000"), 0);

    /* Nor the Status API with either of them. */
    CHECK_ERR("status_listen = 127.0.0.1:8001",
              "status_listen address 127.0.0.1:8001 overlaps admin_listen address "
              "127.0.0.1:8001");
    CHECK_ERR("status_listen = 0.0.0.0:8000", "overlaps proxy_listen");
    TR_CHECK_INT(parse_ok("status_listen = 127.0.0.1:8007"), 0);
    CHECK_ERR("status_listen = nowhere", "status_listen");
}

/* admin_gui_origins: kept as written when every item is an origin; anything else stops loading
 * with a message naming the key and the bad item. */
static void test_admin_gui_origins(void)
{
    struct tr_conf c = {0};
    TR_CHECK_INT(
        parse("admin_gui_origins = http://localhost:8002, https://console.example.com\n", &c), 0);
    TR_CHECK_STR(c.admin_gui_origins, "http://localhost:8002, https://console.example.com");
    tr_conf_free(&c);
    TR_CHECK_INT(parse_ok("admin_gui_origins = \"\""), 0);
    TR_CHECK_INT(parse_ok("admin_gui_origins ="), 0);
    TR_CHECK_INT(parse_ok("admin_gui_origins = HTTP://[::1]:8002,http://127.0.0.1"), 0);

    CHECK_ERR("admin_gui_origins = http://localhost:8002/",
              "invalid value for 'admin_gui_origins': 'http://localhost:8002/' ('http://"
              "localhost:8002/' is not an origin");
    CHECK_ERR("admin_gui_origins = http://ok.test, ftp://files.test", "'ftp://files.test'");
    CHECK_ERR("admin_gui_origins = *", "'admin_gui_origins'");
    CHECK_ERR("admin_gui_origins = null", "'admin_gui_origins'");
    CHECK_ERR("admin_gui_origins = localhost:8002", "'admin_gui_origins'");
    CHECK_ERR("admin_gui_origins = http://a.test/app", "'admin_gui_origins'");
    CHECK_ERR("admin_gui_origins = http://a.test?x", "'admin_gui_origins'");
    CHECK_ERR("admin_gui_origins = http://user@a.test", "'admin_gui_origins'");
    CHECK_ERR("admin_gui_origins = http://a.test:0", "'admin_gui_origins'");
    CHECK_ERR("admin_gui_origins = http://a.test:65536", "'admin_gui_origins'");
    CHECK_ERR("admin_gui_origins = http://a.test,", "empty entry");
    CHECK_ERR("admin_gui_origins = http://a.test,,http://b.test", "empty entry");
    CHECK_ERR("proxy_listen = off\nadmin_gui_origins = https://x.test/ # console\n",
              "(line 2 of t.conf)");

    setenv("TORII_ADMIN_GUI_ORIGINS", "http://a.test:8002/ui", 1);
    TR_CHECK_INT(tr_conf_load(&c, NULL, err, sizeof(err)), TR_EINVAL);
    TR_CHECK(strstr(err, "invalid value for 'admin_gui_origins' (from TORII_ADMIN_GUI_ORIGINS)"));
    setenv("TORII_ADMIN_GUI_ORIGINS", " http://a.test:8002 ", 1);
    TR_CHECK_INT(tr_conf_load(&c, NULL, err, sizeof(err)), 0);
    TR_CHECK_STR(c.admin_gui_origins, "http://a.test:8002");
    tr_conf_free(&c);
    unsetenv("TORII_ADMIN_GUI_ORIGINS");
}

static const char *write_temp(const char *text)
{
    const char *dir = getenv("TMPDIR");
    static char path[4200];
    snprintf(path, sizeof(path), "%s/test_conf_XXXXXX", dir && *dir ? dir : P_tmpdir);
    int fd = mkstemp(path);
    TR_CHECK(fd != -1);
    if (fd == -1)
        return NULL;
    size_t len = strlen(text);
    TR_CHECK_INT(write(fd, text, len), (long long)len);
    close(fd);
    return path;
}

static void test_env(void)
{
    struct tr_conf c = {0};
    const char *path = write_temp("worker_threads = 2\nprefix = /from/file\nlog_level = info\n"
                                  "proxy_listen = 0.0.0.0:80\n");
    if (path == NULL)
        return;

    TR_CHECK_INT(tr_conf_load(&c, path, err, sizeof(err)), 0);
    TR_CHECK_INT(c.worker_threads, 2);
    TR_CHECK_STR(c.prefix, "/from/file");
    TR_CHECK_INT(c.log_level, TR_LOG_INFO);
    tr_conf_free(&c);

    setenv("TORII_WORKER_THREADS", "3", 1);
    setenv("TORII_PREFIX", " /from/env ", 1);
    setenv("TORII_PROXY_LISTEN", "127.0.0.1:18000, [::1]:18443 ssl", 1);
    setenv("TORII_ADMIN_LISTEN", "127.0.0.1:18001", 1);
    setenv("TORII_CLIENT_HEADER_TIMEOUT", "3s", 1);
    setenv("TORII_PROXY_ERROR_LOG", "", 1);
    setenv("TORII_NOT_A_SETTING", "whatever", 1);
    setenv("TORII_BIN", "/nowhere/torii", 1);
    TR_CHECK_INT(tr_conf_load(&c, path, err, sizeof(err)), 0);
    TR_CHECK_INT(c.worker_threads, 3);
    TR_CHECK_STR(c.prefix, "/from/env");
    TR_CHECK_INT(c.log_level, TR_LOG_INFO); /* from the file */
    TR_CHECK_INT(c.proxy_listen.cnt, 2);
    TR_CHECK_INT(c.proxy_listen.items[0].port, 18000);
    TR_CHECK_STR(c.proxy_listen.items[1].host, "::1");
    TR_CHECK(c.proxy_listen.items[1].ssl);
    TR_CHECK_INT(c.admin_listen.items[0].port, 18001);
    TR_CHECK_INT(c.client_header_timeout_ms, 3000);
    TR_CHECK_STR(c.proxy_error_log, "");
    TR_CHECK_STR(c.sqlite_path, "/from/env/torii.db");
    tr_conf_free(&c);

    /* Without a file too. */
    TR_CHECK_INT(tr_conf_load(&c, NULL, err, sizeof(err)), 0);
    TR_CHECK_INT(c.worker_threads, 3);
    tr_conf_free(&c);

    /* tr__conf_parse_buffer ignores the environment. */
    TR_CHECK_INT(parse("", &c), 0);
    TR_CHECK_STR(c.prefix, "/usr/local/torii");
    tr_conf_free(&c);

    setenv("TORII_WORKER_THREADS", "abc", 1);
    TR_CHECK_INT(tr_conf_load(&c, path, err, sizeof(err)), TR_EINVAL);
    TR_CHECK_STR(err, "invalid value for 'worker_threads' (from TORII_WORKER_THREADS): 'abc' "
                      "(expected auto or 1..256)");
    TR_CHECK(c.prefix == NULL);
    setenv("TORII_WORKER_THREADS", "3", 1);

    setenv("TORII_ADMIN_LISTEN", "0.0.0.0:18001", 1);
    TR_CHECK_INT(tr_conf_load(&c, path, err, sizeof(err)), TR_EINVAL);
    TR_CHECK(strstr(err, "admin_listen") && strstr(err, "admin_allow_remote = on"));
    setenv("TORII_ADMIN_ALLOW_REMOTE", "on", 1);
    TR_CHECK_INT(tr_conf_load(&c, path, err, sizeof(err)), 0);
    tr_conf_free(&c);

    clear_torii_env();
    unlink(path);
}

struct collect {
    int cnt;
    char keys[80][64];
};

static void on_key(const char *key, const char *value, void *ud)
{
    struct collect *col = ud;
    if (col->cnt < 80)
        snprintf(col->keys[col->cnt], sizeof(col->keys[0]), "%s", key);
    col->cnt++;
}

static void test_dump(void)
{
    struct tr_conf c = {0}, c2 = {0};
    TR_CHECK_INT(parse("", &c), 0);
    char *d = tr_conf_dump(&c);
    TR_CHECK(strstr(d, "prefix = /usr/local/torii\n") == d);
    TR_CHECK(strstr(d, "\nproxy_listen = 0.0.0.0:8000, 0.0.0.0:8443 ssl\n") != NULL);
    TR_CHECK(strstr(d, "\nadmin_listen = 127.0.0.1:8001\n") != NULL);
    TR_CHECK(strstr(d, "\nadmin_allow_remote = off\n") != NULL);
    TR_CHECK(strstr(d, "\nadmin_token = \"\"\n") != NULL);
    TR_CHECK(strstr(d, "\nadmin_gui_origins = \"\"\n") != NULL);
    TR_CHECK(strstr(d, "\ndatabase = sqlite\n") != NULL);
    TR_CHECK(strstr(d, "\nsqlite_path = /usr/local/torii/torii.db\n") != NULL);
    TR_CHECK(strstr(d, "\nlog_level = notice\n") != NULL);
    TR_CHECK(strstr(d, "\nproxy_error_log = \"\"\n") != NULL);
    TR_CHECK(strstr(d, "\nclient_header_timeout = 10s\n") != NULL);
    TR_CHECK(strstr(d, "\nkeepalive_timeout = 1m\n") != NULL);
    TR_CHECK(strstr(d, "\nmax_header_size = 32k\n") != NULL);
    TR_CHECK(strstr(d, "\nadmin_max_body = 10m\n") != NULL);
    TR_CHECK(strstr(d, "\nmax_connections = 16384\n") != NULL);
    TR_CHECK(strstr(d, "\nescaped_slashes = keep\n") != NULL);
    /* The dump parses back to the same settings. */
    TR_CHECK_INT(parse(d, &c2), 0);
    char *d2 = tr_conf_dump(&c2);
    TR_CHECK_STR(d2, d);
    free(d);
    free(d2);
    tr_conf_free(&c);
    tr_conf_free(&c2);

    const char *text =
        "prefix = \"/srv/t #x\"\n"
        "proxy_listen = [::]:80 reuseport backlog=100, 10.0.0.1:443 ssl http2 deferred\n"
        "admin_listen = [::1]:9001 ssl, 127.0.0.1:9002\n"
        "sqlite_path = \" spaced.db\"\n"
        "proxy_access_log = off\n"
        "log_level = error\n"
        "client_header_timeout = 1500\n"
        "client_body_timeout = 90s\n"
        "keepalive_timeout = 0\n"
        "send_timeout = 2h\n"
        "max_request_line = 1000\n"
        "max_header_line = 1m\n"
        "admin_max_body = 1g\n"
        "worker_threads = 7\n"
        "escaped_slashes = reject\n"
        "admin_allow_remote = yes\n";
    TR_CHECK_INT(parse(text, &c), 0);
    d = tr_conf_dump(&c);
    TR_CHECK(strstr(d, "prefix = \"/srv/t #x\"\n") == d);
    TR_CHECK(strstr(d, "\nproxy_listen = [::]:80 reuseport backlog=100, 10.0.0.1:443 ssl http2 "
                       "deferred\n") != NULL);
    TR_CHECK(strstr(d, "\nadmin_listen = [::1]:9001 ssl, 127.0.0.1:9002\n") != NULL);
    TR_CHECK(strstr(d, "\nsqlite_path = \"/srv/t #x/ spaced.db\"\n") != NULL);
    TR_CHECK(strstr(d, "\nproxy_error_log = \"\"\n") != NULL);
    TR_CHECK(strstr(d, "\nproxy_access_log = off\n") != NULL);
    TR_CHECK(strstr(d, "\nclient_header_timeout = 1500ms\n") != NULL);
    TR_CHECK(strstr(d, "\nclient_body_timeout = 90s\n") != NULL);
    TR_CHECK(strstr(d, "\nkeepalive_timeout = 0\n") != NULL);
    TR_CHECK(strstr(d, "\nsend_timeout = 2h\n") != NULL);
    TR_CHECK(strstr(d, "\nmax_request_line = 1000\n") != NULL);
    TR_CHECK(strstr(d, "\nmax_header_line = 1m\n") != NULL);
    TR_CHECK(strstr(d, "\nadmin_max_body = 1g\n") != NULL);
    TR_CHECK(strstr(d, "\nworker_threads = 7\n") != NULL);
    TR_CHECK(strstr(d, "\nescaped_slashes = reject\n") != NULL);
    TR_CHECK(strstr(d, "\nadmin_allow_remote = on\n") != NULL);
    TR_CHECK(strstr(d, "\nlog_level = error\n") != NULL);
    TR_CHECK_INT(parse(d, &c2), 0);
    d2 = tr_conf_dump(&c2);
    TR_CHECK_STR(d2, d);
    TR_CHECK_INT(c2.proxy_listen.items[0].backlog, 100);
    TR_CHECK(c2.proxy_listen.items[1].deferred && c2.proxy_listen.items[1].http2);
    TR_CHECK(memcmp(&c.proxy_listen, &c2.proxy_listen, sizeof(c.proxy_listen)) == 0);
    TR_CHECK(memcmp(&c.admin_listen, &c2.admin_listen, sizeof(c.admin_listen)) == 0);
    free(d);
    free(d2);
    tr_conf_free(&c);
    tr_conf_free(&c2);

    /* '#' inside a word needs no quotes; trailing tabs do; both survive the round trip. */
    TR_CHECK_INT(parse("prefix = \"/a#b/\t/\"\nproxy_access_log = x#y\n", &c), 0);
    d = tr_conf_dump(&c);
    TR_CHECK(strstr(d, "prefix = \"/a#b/\t\"\n") == d);
    TR_CHECK(strstr(d, "\nproxy_access_log = /a#b/\t/x#y\n") != NULL);
    TR_CHECK_INT(parse(d, &c2), 0);
    TR_CHECK_STR(c2.prefix, "/a#b/\t");
    TR_CHECK_STR(c2.proxy_access_log, "/a#b/\t/x#y");
    free(d);
    tr_conf_free(&c);
    tr_conf_free(&c2);

    /* The token is masked, and the mask is not a valid token. */
    TR_CHECK_INT(parse("admin_token = 0123456789abcdef0123456789abcdef\n", &c), 0);
    d = tr_conf_dump(&c);
    TR_CHECK(strstr(d, "\nadmin_token = ******\n") != NULL);
    TR_CHECK(strstr(d, "0123456789abcdef") == NULL);
    TR_CHECK_INT(parse(d, &c2), TR_EINVAL);
    TR_CHECK(strstr(err, "'admin_token'") != NULL);
    free(d);
    tr_conf_free(&c);

    /* foreach: every key once, in order, with the names the docs use. */
    struct collect col = {0};
    TR_CHECK_INT(parse("", &c), 0);
    tr_conf_foreach(&c, on_key, &col);
    TR_CHECK_INT(col.cnt, 68);
    TR_CHECK_STR(col.keys[0], "prefix");
    TR_CHECK_STR(col.keys[3], "status_listen");
    TR_CHECK_INT(c.status_listen.cnt, 0); /* off unless asked (Kong 3.9: 127.0.0.1:8007) */
    TR_CHECK_STR(col.keys[6], "admin_gui_origins");
    TR_CHECK_STR(col.keys[11], "password_hash_threads");
    TR_CHECK_STR(col.keys[12], "password_hash_queue");
    TR_CHECK_STR(col.keys[40], "drain_timeout");
    TR_CHECK_STR(col.keys[41], "drain_idle_grace");
    TR_CHECK_STR(col.keys[42], "escaped_slashes");
    TR_CHECK_STR(col.keys[43], "plugins");
    TR_CHECK_STR(col.keys[44], "db_update_frequency");
    TR_CHECK_STR(col.keys[45], "database_wait");
    TR_CHECK_STR(col.keys[46], "dns_resolver");
    TR_CHECK_STR(col.keys[50], "dns_error_ttl");
    TR_CHECK_STR(col.keys[51], "declarative_config");
    TR_CHECK_STR(col.keys[52], "declarative_config_string");
    TR_CHECK_STR(col.keys[53], "pg_host");
    TR_CHECK_STR(col.keys[58], "pg_database");
    TR_CHECK_STR(col.keys[62], "pg_max_concurrent_queries");
    TR_CHECK_STR(col.keys[63], "syslog_socket");
    TR_CHECK_STR(c.syslog_socket, "/dev/log");
    TR_CHECK_STR(col.keys[64], "headers");
    TR_CHECK_STR(col.keys[65], "headers_upstream");
    TR_CHECK_STR(col.keys[66], "tracing_instrumentations");
    TR_CHECK_STR(col.keys[67], "tracing_sampling_rate");
    TR_CHECK_INT(c.tracing_mask, 0);
    TR_CHECK(c.tracing_rate == 0.01);
    TR_CHECK_INT(c.headers_mask, TR_HEADERS_VIA | TR_HEADERS_SERVER | TR_HEADERS_UPSTREAM_LATENCY |
                                     TR_HEADERS_PROXY_LATENCY | TR_HEADERS_RESPONSE_LATENCY |
                                     TR_HEADERS_REQUEST_ID);
    TR_CHECK_INT(c.headers_upstream_mask, TR_HEADERS_REQUEST_ID);
    TR_CHECK_STR(c.pg_user, "kong");
    TR_CHECK_INT(c.pg_port, 5432);
    TR_CHECK_INT(c.pg_timeout_ms, 5000);
    TR_CHECK_STR(c.dns_hostsfile, "/etc/hosts");
    TR_CHECK_INT(c.dns_stale_ttl, 3600);
    TR_CHECK_INT(c.dns_not_found_ttl, 30);
    tr_conf_free(&c);
    TR_CHECK_INT(parse("dns_resolver = 127.0.0.1:5353, [::1]:53,10.0.0.1\n", &c), 0);
    tr_conf_free(&c);
    TR_CHECK_INT(parse("dns_resolver = ns1.example:53\n", &c), TR_EINVAL);
    /* db_update_frequency: seconds as Kong writes them, or a duration */
    TR_CHECK_INT(parse("", &c), 0);
    TR_CHECK_INT(c.db_update_frequency_ms, 5000);
    tr_conf_free(&c);
    TR_CHECK_INT(parse("db_update_frequency = 0.5\n", &c), 0);
    TR_CHECK_INT(c.db_update_frequency_ms, 500);
    tr_conf_free(&c);
    TR_CHECK_INT(parse("db_update_frequency = 250ms\n", &c), 0);
    TR_CHECK_INT(c.db_update_frequency_ms, 250);
    tr_conf_free(&c);
    TR_CHECK_INT(parse("db_update_frequency = 0.0001\n", &c), TR_EINVAL);
    TR_CHECK_INT(parse("db_update_frequency = 1.\n", &c), TR_EINVAL);
    TR_CHECK_INT(parse("db_update_frequency = 0\n", &c), TR_EINVAL);
    /* pg_schema goes into the connection's search_path: a plain identifier only */
    TR_CHECK_INT(parse("pg_schema = torii_1\n", &c), 0);
    tr_conf_free(&c);
    TR_CHECK_INT(parse("pg_schema = a b\n", &c), TR_EINVAL);
    TR_CHECK_INT(parse("pg_schema = x,public\n", &c), TR_EINVAL);
    TR_CHECK_INT(parse("pg_schema = 1abc\n", &c), TR_EINVAL);
    TR_CHECK_INT(parse("database = postgres\npg_port = 0\n", &c), TR_EINVAL);
    /* the password is masked in the dump */
    TR_CHECK_INT(parse("pg_password = s3cret\n", &c), 0);
    d = tr_conf_dump(&c);
    TR_CHECK(strstr(d, "s3cret") == NULL && strstr(d, "\npg_password = ******\n") != NULL);
    free(d);
    tr_conf_free(&c);
    TR_CHECK_INT(parse("dns_resolver = 127.0.0.1:0\n", &c), TR_EINVAL);
}

/* Read a file of the source tree, found from this file's own path. */
static char *read_repo_file(const char *rel)
{
    char path[4096];
    const char *here = __FILE__, *slash = strstr(here, "tests/unit/test_conf.c");
    if (slash == NULL)
        return NULL;
    snprintf(path, sizeof(path), "%.*s%s", (int)(slash - here), here, rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* torii.conf.default documents every key with its real default, and docs/configuration.md lists
 * every key: uncomment the "#key = value" lines and compare with the built-in defaults. */
static void test_default_file(void)
{
    struct tr_conf c = {0}, c2 = {0};
    char *text = read_repo_file("torii.conf.default");
    char *docs = read_repo_file("docs/configuration.md");
    TR_CHECK(text != NULL);
    TR_CHECK(docs != NULL);
    if (text == NULL || docs == NULL) {
        free(text);
        free(docs);
        return;
    }
    size_t len = strlen(text), out = 0;
    char *uncommented = malloc(len + 1);
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t llen = nl ? (size_t)(nl - line) : strlen(line);
        if (line[0] == '#' && llen > 1 && line[1] >= 'a' && line[1] <= 'z' &&
            memchr(line, '=', llen)) {
            memcpy(uncommented + out, line + 1, llen - 1);
            out += llen - 1;
            uncommented[out++] = '\n';
        }
        line += llen + (nl ? 1 : 0);
    }
    uncommented[out] = '\0';

    TR_CHECK_INT(parse(uncommented, &c), 0);
    TR_CHECK_INT(parse("", &c2), 0);
    char *d = tr_conf_dump(&c), *d2 = tr_conf_dump(&c2);
    TR_CHECK_STR(d, d2);

    struct collect col = {0};
    tr_conf_foreach(&c2, on_key, &col);
    for (int i = 0; i < col.cnt && i < 80; i++) {
        char needle[80];
        snprintf(needle, sizeof(needle), "\n#%s = ", col.keys[i]);
        if (strstr(text, needle) == NULL) {
            tr_check_failed++;
            fprintf(stderr, "torii.conf.default does not document %s\n", col.keys[i]);
        }
        snprintf(needle, sizeof(needle), "| `%s` |", col.keys[i]);
        if (strstr(docs, needle) == NULL) {
            tr_check_failed++;
            fprintf(stderr, "docs/configuration.md does not document %s\n", col.keys[i]);
        }
    }
    free(d);
    free(d2);
    tr_conf_free(&c);
    tr_conf_free(&c2);
    free(uncommented);
    free(text);
    free(docs);
}

int main(void)
{
    tr_conf_set_plugins_check(tr_plugin_check_list); /* as the program does (server/cli.c) */
    clear_torii_env();
    test_defaults();
    test_file_syntax();
    test_file_errors();
    test_values();
    test_paths();
    test_listen();
    test_admin_exposure();
    test_admin_gui_origins();
    test_env();
    test_dump();
    test_default_file();
    return TR_CHECK_DONE();
}
