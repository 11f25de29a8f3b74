/* SPDX-License-Identifier: MIT */
/* syslog (Kong 3.9): each request's serialized JSON to the system log, as Kong's
 * openlog("kong", LOG_PID, facility) + syslog(severity, "%s", json) write it, with the
 * severity of the status class (successful, client error, server error) and only when it is at
 * least as severe as log_level. torii writes the same datagram ("<PRI>Mmm dd hh:mm:ss
 * kong[pid]: json", syslog(3)'s format) to the `syslog_socket` setting (/dev/log) itself, on a
 * non-blocking socket each worker thread keeps: a system log that is slow or gone loses
 * lines (named in the error log, at most once a minute), never holds the worker. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "plugins/plugin.h"
#include "schema/schema.h"

/* Kong's names, in its order; LOG_PRIORITIES: debug 7 ... emerg 0. */
static const char *const severities[] = {"debug", "info",  "notice", "warning", "err",
                                         "crit",  "alert", "emerg",  NULL};
static const int severity_value[] = {LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING,
                                     LOG_ERR,   LOG_CRIT, LOG_ALERT,  LOG_EMERG};
static const char *const facilities[] = {
    "auth",   "authpriv", "cron",   "daemon", "ftp",    "kern",   "lpr",
    "mail",   "news",     "syslog", "user",   "uucp",   "local0", "local1",
    "local2", "local3",   "local4", "local5", "local6", "local7", NULL};
static const int facility_value[] = {LOG_AUTH,   LOG_AUTHPRIV, LOG_CRON,   LOG_DAEMON, LOG_FTP,
                                     LOG_KERN,   LOG_LPR,      LOG_MAIL,   LOG_NEWS,   LOG_SYSLOG,
                                     LOG_USER,   LOG_UUCP,     LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2,
                                     LOG_LOCAL3, LOG_LOCAL4,   LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7};

struct syslog_conf {
    int log_level, successful, client_errors, server_errors; /* indexes into severities */
    int facility;                                            /* index into facilities */
};

#define SEVERITY(field, member, help_text)                                                         \
    {                                                                                              \
        .name = field, .type = TR_SCHEMA_STRING, .flags = TR_SCHEMA_REQUIRED, .dflt = "\"info\"",  \
        .one_of = severities, .help = help_text, TR_SCHEMA_BIND_INDEX(struct syslog_conf, member)  \
    }

static const struct tr_schema_field conf_fields[] = {
    SEVERITY("log_level", log_level, "the least severe message written"),
    SEVERITY("successful_severity", successful, "the severity of 1xx-3xx answers"),
    SEVERITY("client_errors_severity", client_errors, "the severity of 4xx answers"),
    SEVERITY("server_errors_severity", server_errors, "the severity of 5xx answers"),
    {.name = "facility",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED,
     .dflt = "\"user\"",
     .one_of = facilities,
     .help = "the syslog facility",
     TR_SCHEMA_BIND_INDEX(struct syslog_conf, facility)},
    TR_SCHEMA_FIELD_NO_LUA,
};

static const struct tr_schema conf_schema = {
    .name = "syslog",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
};

static void conf_free(void *p)
{
    tr_schema_free_struct(&conf_schema, p);
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    return tr_schema_parse_new(&conf_schema, config, sizeof(struct syslog_conf));
}

/* A worker's socket to the system log. */
struct syslog_sock {
    int fd; /* -1: not open */
    uint64_t last_complaint_ms;
};

static void complain(struct syslog_sock *s, const char *path, const char *why)
{
    uint64_t now = tr_clock_mono_us() / 1000;
    if (s->last_complaint_ms != 0 && now - s->last_complaint_ms < 60000)
        return;
    s->last_complaint_ms = now;
    tr_log_error("[syslog] cannot write to %s: %s (lines are lost meanwhile)", path, why);
}

static bool open_sock(struct syslog_sock *s, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        complain(s, path, "path too long");
        return false;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        complain(s, path, strerror(errno));
        if (s->fd >= 0)
            close(s->fd);
        s->fd = -1;
        return false;
    }
    return true;
}

static void syslog_log(struct tr_ctx *ctx, const void *p)
{
    const struct syslog_conf *c = p;
    int status = tr_ctx_response_status(ctx);
    int sev = status >= 500 ? c->server_errors : status >= 400 ? c->client_errors : c->successful;
    if (severity_value[sev] > severity_value[c->log_level])
        return; /* less severe than log_level */
    void **slot = tr_ctx_worker_slot(ctx);
    if (*slot == NULL) {
        struct syslog_sock *s = tr_xcalloc(1, sizeof(*s));
        s->fd = -1;
        *slot = s;
    }
    struct syslog_sock *s = *slot;
    const char *path = tr_ctx_conf(ctx)->syslog_socket;
    if (s->fd < 0 && !open_sock(s, path))
        return;
    size_t len;
    char *json = tr_ctx_log_serialize(ctx, &len);
    if (json == NULL)
        return;
    char head[64];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
    int hl = snprintf(head, sizeof(head),
                      "<%d>%s kong[%ld]: ", facility_value[c->facility] | severity_value[sev],
                      stamp, (long)getpid());
    struct iovec iov[2] = {{head, (size_t)hl}, {json, len}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    if (sendmsg(s->fd, &msg, MSG_NOSIGNAL) < 0) {
        complain(s, path, errno == EAGAIN ? "the system log is not keeping up" : strerror(errno));
        if (errno != EAGAIN) { /* the log was restarted: connect again next time */
            close(s->fd);
            s->fd = -1;
        }
    }
    free(json);
}

static void worker_free(void *slot)
{
    struct syslog_sock *s = slot;
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

/* Priority 4 as Kong. */
const struct tr_plugin tr_plugin_syslog = {
    .name = "syslog",
    .version = "1.0.0",
    .priority = 4,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .log = syslog_log,
    .worker_free = worker_free,
};
