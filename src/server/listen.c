/* SPDX-License-Identifier: MIT */
/* Listening socket creation. */
#include "server/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/conf.h"

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
    return -1;
}

int tr_listen_open(const struct tr_listen *l, bool reuseport, char *err, size_t err_len)
{
    struct sockaddr_storage ss;
    unsigned sl;
    if (tr_listen_sockaddr(l, false, &ss, &sl) != 0) {
        snprintf(err, err_len, "invalid listen address '%s'", l->host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        snprintf(err, err_len, "socket(): %s", strerror(errno));
        return -1;
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
        return -1;
    }
    if (listen(fd, l->backlog > 0 ? l->backlog : 511) == -1) {
        snprintf(err, err_len, "listen() on %s:%u: %s", l->host, l->port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
