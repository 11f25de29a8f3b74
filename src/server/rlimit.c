/* SPDX-License-Identifier: MIT */
/* RLIMIT_NOFILE from max_connections (see rlimit.h). A default soft limit of 1024 would make
 * accept() fail with EMFILE long before max_connections (16384 by default). */
#include "server/rlimit.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "core/conf.h"
#include "core/log.h"

void tr_server_raise_nofile(const struct tr_conf *conf)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want =
        conf->max_connections == 0 ? rl.rlim_max : (rlim_t)conf->max_connections * 2 + 1024;
    if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max) {
        tr_log_warn("open files: max_connections = %u may need %llu descriptors, the hard "
                    "limit is %llu",
                    conf->max_connections, (unsigned long long)want,
                    (unsigned long long)rl.rlim_max);
        want = rl.rlim_max;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
        return;
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        tr_log_warn("open files: cannot raise the limit from %llu to %llu: %s",
                    (unsigned long long)old, (unsigned long long)want, strerror(errno));
        return;
    }
    tr_log_info("open files: limit raised from %llu to %llu", (unsigned long long)old,
                (unsigned long long)want);
}
