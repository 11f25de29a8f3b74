/* SPDX-License-Identifier: MIT */
/* The node's id kept under its prefix (node_id.h). */
#include "server/node_id.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/log.h"
#include "core/str.h"
#include "core/uuid.h"

static void id_path(const struct tr_conf *conf, char *buf, size_t len)
{
    snprintf(buf, len, "%s/node.id", conf->prefix);
}

/* The id in path, when it holds one. */
static int read_id(const char *path, char id[TR_UUID_LEN + 1])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[64];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < TR_UUID_LEN)
        return -1;
    struct tr_str s = {buf, TR_UUID_LEN};
    if (!tr_uuid_is_valid(s) || (n > TR_UUID_LEN && buf[TR_UUID_LEN] != '\n'))
        return -1;
    memcpy(id, buf, TR_UUID_LEN);
    id[TR_UUID_LEN] = '\0';
    return 0;
}

static int write_id(const char *path, const char *id)
{
    char tmp[4200], line[TR_UUID_LEN + 2];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int n = snprintf(line, sizeof(line), "%s\n", id);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int ok = write(fd, line, (size_t)n) == n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int tr_node_id_load(const struct tr_conf *conf, char *out, size_t len)
{
    char path[4096], id[TR_UUID_LEN + 1];
    id_path(conf, path, sizeof(path));
    if (read_id(path, id) != 0) {
        if (tr_uuid_v4(id) != 0)
            snprintf(id, sizeof(id), "00000000-0000-4000-8000-000000000000");
        if (write_id(path, id) != 0)
            tr_log_warn("cannot keep the node id in %s: %s (a new one at each start)", path,
                        strerror(errno));
        /* Another process of the node may have written its own meanwhile: that one wins. */
        char kept[TR_UUID_LEN + 1];
        if (read_id(path, kept) == 0)
            memcpy(id, kept, sizeof(id));
    }
    snprintf(out, len, "%s", id);
    return 0;
}
