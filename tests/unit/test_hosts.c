/* SPDX-License-Identifier: MIT */
/* The hosts file reader (dns/hosts.c): names, aliases, comments, both families, case, the
 * cache noticing a changed file. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "dns/hosts.h"

static char path[] = "/tmp/torii-hosts-XXXXXX";

static void write_file(const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_lookup(void)
{
    write_file("# comment line\n"
               "127.0.0.1\tlocalhost  Local.Test # trailing comment\n"
               "::1 localhost ip6-localhost\n"
               "not-an-ip bogus\n"
               "10.0.0.7 app.test\n"
               "10.0.0.8 app.test\n"
               "10.0.0.7 app.test\n");
    char out[8][TR_HOSTS_ADDR_LEN];
    TR_CHECK_INT(tr_hosts_lookup(path, "localhost", out, 8), 2);
    TR_CHECK_STR(out[0], "127.0.0.1");
    TR_CHECK_STR(out[1], "::1");
    TR_CHECK_INT(tr_hosts_lookup(path, "LOCAL.test", out, 8), 1);
    TR_CHECK_INT(tr_hosts_lookup(path, "app.test", out, 8), 2); /* the repeated line counts once */
    TR_CHECK_STR(out[1], "10.0.0.8");
    TR_CHECK_INT(tr_hosts_lookup(path, "app.test", out, 1), 1);
    TR_CHECK_INT(tr_hosts_lookup(path, "bogus", out, 8), 0);
    TR_CHECK_INT(tr_hosts_lookup(path, "comment", out, 8), 0);
    TR_CHECK_INT(tr_hosts_lookup("/nonexistent/hosts", "localhost", out, 8), 0);
}

static void test_reread_on_change(void)
{
    char out[4][TR_HOSTS_ADDR_LEN];
    write_file("10.1.1.1 moved.test\n");
    TR_CHECK_INT(tr_hosts_lookup(path, "moved.test", out, 4), 1);
    write_file("10.2.2.2 moved.test\n10.3.3.3 moved.test\n"); /* another size */
    TR_CHECK_INT(tr_hosts_lookup(path, "moved.test", out, 4), 2);
    TR_CHECK_STR(out[0], "10.2.2.2");
}

int main(void)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    test_lookup();
    test_reread_on_change();
    tr_hosts_reset();
    unlink(path);
    return TR_CHECK_DONE();
}
