/* SPDX-License-Identifier: MIT */
/* Listening socket creation. */
#include "server/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/mem.h"

int tr_listen_sockaddr(const struct tr_listen *l, bool connect_form, struct sockaddr_storage *ss,
                       unsigned *len)
{
    memset(ss, 0, sizeof(*ss));
    const char *host = l->host;
    if (strcmp(host, "localhost") == 0 || (connect_form && strcmp(host, "0.0.0.0") == 0))
        host = "127.0.0.1";
    else if (connect_form && strcmp(host, "::") == 0)
        host = "::1";
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(l->port);
        *len = sizeof(*s4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(l->port);
        *len = sizeof(*s6);
        return 0;
    }
    return TR_EINVAL;
}

int tr_listen_open(const struct tr_listen *l, bool reuseport, char *err, size_t err_len)
{
    struct sockaddr_storage ss;
    unsigned sl;
    if (tr_listen_sockaddr(l, false, &ss, &sl) != 0) {
        snprintf(err, err_len, "invalid listen address '%s'", l->host);
        return TR_EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        snprintf(err, err_len, "socket(): %s", strerror(errno));
        return TR_EIO;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) == -1) {
        snprintf(err, err_len, "cannot listen on %s:%u: %s", l->host, l->port, strerror(errno));
        close(fd);
        return TR_EIO;
    }
    if (listen(fd, l->backlog > 0 ? l->backlog : 511) == -1) {
        snprintf(err, err_len, "listen() on %s:%u: %s", l->host, l->port, strerror(errno));
        close(fd);
        return TR_EIO;
    }
    return fd;
}

static bool is_loopback_host(const char *h)
{
    return strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0 || strcmp(h, "localhost") == 0;
}

int tr_sockets_open(struct tr_sockets *s, const struct tr_conf *conf, char *err, size_t err_len)
{
    char msg[400];
    int rc = 0;
    memset(s, 0, sizeof(*s));
    s->num_workers = (size_t)conf->worker_threads;
    s->num_proxy = conf->proxy_listen.cnt;
    s->proxy = tr_xcalloc(s->num_workers * s->num_proxy + 1, sizeof(int));
    s->proxy_ssl = tr_xcalloc(s->num_proxy + 1, sizeof(bool));
    for (size_t i = 0; i < s->num_workers * s->num_proxy; i++)
        s->proxy[i] = -1;
    for (size_t j = 0; j < s->num_proxy; j++) {
        const struct tr_listen *l = &conf->proxy_listen.items[j];
        s->proxy_ssl[j] = l->ssl;
        /* SO_REUSEPORT would let a second node silently share a port with a running one. */
        int probe = tr_listen_open(l, false, msg, sizeof(msg));
        if (probe < 0) {
            rc = probe;
            snprintf(err, err_len, "proxy_listen: %s", msg);
            goto fail;
        }
        close(probe);
        for (size_t w = 0; w < s->num_workers; w++) {
            int fd = tr_listen_open(l, true, msg, sizeof(msg));
            if (fd < 0) {
                rc = fd;
                snprintf(err, err_len, "proxy_listen: %s", msg);
                goto fail;
            }
            s->proxy[w * s->num_proxy + j] = fd;
        }
    }
    for (size_t i = 0; i < conf->admin_listen.cnt && i < 16; i++) {
        const struct tr_listen *l = &conf->admin_listen.items[i];
        int fd = tr_listen_open(l, false, msg, sizeof(msg));
        if (fd < 0) {
            rc = fd;
            snprintf(err, err_len, "admin_listen: %s", msg);
            goto fail;
        }
        s->admin[s->num_admin] = fd;
        s->admin_loopback[s->num_admin] = is_loopback_host(l->host);
        s->num_admin++;
    }
    for (size_t i = 0; i < conf->status_listen.cnt && i < 16; i++) {
        const struct tr_listen *l = &conf->status_listen.items[i];
        int fd = tr_listen_open(l, false, msg, sizeof(msg));
        if (fd < 0) {
            rc = fd;
            snprintf(err, err_len, "status_listen: %s", msg);
            goto fail;
        }
        s->status[s->num_status] = fd;
        s->status_loopback[s->num_status] = is_loopback_host(l->host);
        s->num_status++;
    }
    return 0;
fail:
    tr_sockets_close(s);
    return rc;
}

void tr_sockets_close(struct tr_sockets *s)
{
    for (size_t i = 0; s->proxy && i < s->num_workers * s->num_proxy; i++) {
        if (s->proxy[i] >= 0)
            close(s->proxy[i]);
    }
    for (size_t i = 0; i < s->num_admin; i++)
        close(s->admin[i]);
    for (size_t i = 0; i < s->num_status; i++)
        close(s->status[i]);
    free(s->proxy);
    free(s->proxy_ssl);
    memset(s, 0, sizeof(*s));
}

/* ---- binary upgrade ------------------------------------------------------------------------ */

/* Text: "W P A" then W*P proxy fds, P ssl flags, A "fd:loopback" admin entries, then (only
 * when there are status sockets) "S n" and n "fd:loopback" status entries. */
int tr_sockets_export(const struct tr_sockets *s, char *out, size_t len)
{
    size_t n = 0;
    int w = snprintf(out, len, "%zu %zu %zu", s->num_workers, s->num_proxy, s->num_admin);
    if (w < 0 || (size_t)w >= len)
        return TR_EINVAL;
    n = (size_t)w;
    for (size_t i = 0; i < s->num_workers * s->num_proxy; i++) {
        w = snprintf(out + n, len - n, " %d", s->proxy[i]);
        if (w < 0 || (size_t)w >= len - n)
            return TR_EINVAL;
        n += (size_t)w;
    }
    for (size_t j = 0; j < s->num_proxy; j++) {
        w = snprintf(out + n, len - n, " %d", s->proxy_ssl[j] ? 1 : 0);
        if (w < 0 || (size_t)w >= len - n)
            return TR_EINVAL;
        n += (size_t)w;
    }
    for (size_t i = 0; i < s->num_admin; i++) {
        w = snprintf(out + n, len - n, " %d:%d", s->admin[i], s->admin_loopback[i] ? 1 : 0);
        if (w < 0 || (size_t)w >= len - n)
            return TR_EINVAL;
        n += (size_t)w;
    }
    if (s->num_status > 0) {
        w = snprintf(out + n, len - n, " S %zu", s->num_status);
        if (w < 0 || (size_t)w >= len - n)
            return TR_EINVAL;
        n += (size_t)w;
    }
    for (size_t i = 0; i < s->num_status; i++) {
        w = snprintf(out + n, len - n, " %d:%d", s->status[i], s->status_loopback[i] ? 1 : 0);
        if (w < 0 || (size_t)w >= len - n)
            return TR_EINVAL;
        n += (size_t)w;
    }
    return 0;
}

static void set_cloexec(int fd, bool on)
{
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0)
        fcntl(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
}

void tr_sockets_inheritable(const struct tr_sockets *s)
{
    for (size_t i = 0; i < s->num_workers * s->num_proxy; i++)
        set_cloexec(s->proxy[i], false);
    for (size_t i = 0; i < s->num_admin; i++)
        set_cloexec(s->admin[i], false);
    for (size_t i = 0; i < s->num_status; i++)
        set_cloexec(s->status[i], false);
}

/* A number from *p (skipping spaces); false at the end or on garbage. */
static bool next_num(const char **p, long *out, char stop)
{
    while (**p == ' ')
        (*p)++;
    char *end;
    long v = strtol(*p, &end, 10);
    if (end == *p || (*end != ' ' && *end != '\0' && *end != stop))
        return false;
    *out = v;
    *p = end;
    return true;
}

/* Is fd a listening TCP socket bound to port? */
static bool is_listener(long fd, unsigned port)
{
    int on = 0;
    socklen_t l = sizeof(on);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (fd < 0 || fd >= 65536 || getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &l) != 0 ||
        !on || getsockname((int)fd, (struct sockaddr *)&ss, &sl) != 0)
        return false;
    unsigned got = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                            : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return got == port;
}

/* The status entries after the admin ones ("S n fd:lb ..."; absent when there are none). */
static bool import_status(struct tr_sockets *s, const char **p, const struct tr_conf *conf)
{
    size_t want = conf->status_listen.cnt < 16 ? conf->status_listen.cnt : 16;
    while (**p == ' ')
        (*p)++;
    if (**p != 'S')
        return want == 0 && **p == '\0';
    (*p)++;
    long n = 0;
    if (!next_num(p, &n, 0) || n < 0 || (size_t)n != want)
        return false;
    for (size_t i = 0; i < (size_t)n; i++) {
        long fd = -1, lb = 0;
        if (!next_num(p, &fd, ':') || **p != ':')
            return false;
        (*p)++;
        if (!next_num(p, &lb, 0) || !is_listener(fd, conf->status_listen.items[i].port))
            return false;
        s->status[i] = (int)fd;
        s->status_loopback[i] = lb != 0;
        s->num_status++;
    }
    return true;
}

int tr_sockets_import(struct tr_sockets *s, const char *text, const struct tr_conf *conf, char *err,
                      size_t err_len)
{
    memset(s, 0, sizeof(*s));
    const char *p = text;
    long w, np, na;
    if (!next_num(&p, &w, 0) || !next_num(&p, &np, 0) || !next_num(&p, &na, 0) || w < 1 || np < 0 ||
        na < 0 || na > 16 || w > 4096 || np > 64) {
        snprintf(err, err_len, "the inherited socket list is malformed");
        return TR_EINVAL;
    }
    size_t want_admin = conf->admin_listen.cnt < 16 ? conf->admin_listen.cnt : 16;
    if ((size_t)w != (size_t)conf->worker_threads || (size_t)np != conf->proxy_listen.cnt ||
        (size_t)na != want_admin) {
        snprintf(err, err_len,
                 "the settings name other listeners or worker_threads than the running node "
                 "(a binary upgrade keeps the sockets; restart to change them)");
        return TR_EINVAL;
    }
    s->num_workers = (size_t)w;
    s->num_proxy = (size_t)np;
    s->proxy = tr_xcalloc(s->num_workers * s->num_proxy + 1, sizeof(int));
    s->proxy_ssl = tr_xcalloc(s->num_proxy + 1, sizeof(bool));
    bool ok = true;
    for (size_t i = 0; i < s->num_workers * s->num_proxy; i++) {
        long fd = -1;
        ok = ok && next_num(&p, &fd, 0) &&
             is_listener(fd, conf->proxy_listen.items[i % s->num_proxy].port);
        s->proxy[i] = ok ? (int)fd : -1;
    }
    for (size_t j = 0; j < s->num_proxy; j++) {
        long ssl = 0;
        ok = ok && next_num(&p, &ssl, 0) && (ssl != 0) == conf->proxy_listen.items[j].ssl;
        s->proxy_ssl[j] = ssl != 0;
    }
    for (size_t i = 0; i < (size_t)na && ok; i++) {
        long fd = -1, lb = 0;
        ok = next_num(&p, &fd, ':') && *p == ':' && (p++, next_num(&p, &lb, 0)) &&
             is_listener(fd, conf->admin_listen.items[i].port);
        if (ok) {
            s->admin[i] = (int)fd;
            s->admin_loopback[i] = lb != 0;
            s->num_admin++;
        }
    }
    ok = ok && import_status(s, &p, conf);
    if (!ok) {
        snprintf(err, err_len, "the inherited sockets do not match the settings");
        free(s->proxy);
        free(s->proxy_ssl);
        memset(s, 0, sizeof(*s));
        return TR_EINVAL;
    }
    for (size_t i = 0; i < s->num_workers * s->num_proxy; i++)
        set_cloexec(s->proxy[i], true);
    for (size_t i = 0; i < s->num_admin; i++)
        set_cloexec(s->admin[i], true);
    for (size_t i = 0; i < s->num_status; i++)
        set_cloexec(s->status[i], true);
    return 0;
}
