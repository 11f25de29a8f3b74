/* SPDX-License-Identifier: MIT */
/* The hosts file, parsed into (name, address) pairs and kept until the file changes. */
#include "dns/hosts.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/mem.h"

#define HOSTS_MAX_BYTES (4u << 20) /* a larger file is read up to this much */

struct entry {
    char *name;
    char addr[TR_HOSTS_ADDR_LEN];
};

static struct {
    char *path;
    struct timespec mtime;
    off_t size;
    struct entry *items;
    size_t cnt, cap;
} cache;

void tr_hosts_reset(void)
{
    for (size_t i = 0; i < cache.cnt; i++)
        free(cache.items[i].name);
    free(cache.items);
    free(cache.path);
    memset(&cache, 0, sizeof(cache));
}

static void add(const char *name, const char *addr)
{
    if (cache.cnt == cache.cap) {
        cache.cap = cache.cap ? cache.cap * 2 : 32;
        cache.items = tr_xrealloc(cache.items, cache.cap * sizeof(*cache.items));
    }
    struct entry *e = &cache.items[cache.cnt++];
    e->name = tr_xstrdup(name);
    snprintf(e->addr, sizeof(e->addr), "%s", addr);
}

/* One line: an address, then its names; '#' starts a comment. */
static void parse_line(char *line)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    char *save = NULL;
    char *addr = strtok_r(line, " \t\r\n", &save);
    if (addr == NULL)
        return;
    unsigned char bin[16];
    if (inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1)
        return;
    for (char *name = strtok_r(NULL, " \t\r\n", &save); name;
         name = strtok_r(NULL, " \t\r\n", &save))
        add(name, addr);
}

static void load(const char *path, const struct stat *st)
{
    tr_hosts_reset();
    cache.path = tr_xstrdup(path);
    cache.mtime = st->st_mtim;
    cache.size = st->st_size;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return;
    char line[1024];
    size_t read = 0;
    while (read < HOSTS_MAX_BYTES && fgets(line, sizeof(line), f) != NULL) {
        read += strlen(line);
        parse_line(line);
    }
    fclose(f);
}

size_t tr_hosts_lookup(const char *path, const char *name, char (*out)[TR_HOSTS_ADDR_LEN],
                       size_t max)
{
    struct stat st;
    if (path == NULL || *path == '\0' || stat(path, &st) != 0)
        return 0;
    if (cache.path == NULL || strcmp(cache.path, path) != 0 || st.st_size != cache.size ||
        st.st_mtim.tv_sec != cache.mtime.tv_sec || st.st_mtim.tv_nsec != cache.mtime.tv_nsec)
        load(path, &st);
    size_t n = 0;
    for (size_t i = 0; i < cache.cnt && n < max; i++) {
        if (strcasecmp(cache.items[i].name, name) != 0)
            continue;
        bool dup = false;
        for (size_t j = 0; j < n && !dup; j++)
            dup = strcmp(out[j], cache.items[i].addr) == 0;
        if (!dup)
            memcpy(out[n++], cache.items[i].addr, TR_HOSTS_ADDR_LEN);
    }
    return n;
}
