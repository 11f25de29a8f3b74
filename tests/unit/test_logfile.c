/* SPDX-License-Identifier: MIT */
/* core/logfile.h: buffered lines reach the file whole and in order, and a client's bytes are
 * escaped so that they cannot end a field or a line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/logfile.h"

static void test_escape(void)
{
    char out[64];
    TR_CHECK(tr_logfile_escape(out, sizeof(out), "plain /a?b=c", 12) == 12);
    TR_CHECK(strcmp(out, "plain /a?b=c") == 0);
    tr_logfile_escape(out, sizeof(out), "a\"b\\c\n\x7f\xc3", 8);
    TR_CHECK(strcmp(out, "a\\x22b\\x5Cc\\x0A\\x7F\\xC3") == 0);
    /* Too small: stops before an escape that would not fit, never cuts one. */
    char small[6];
    TR_CHECK(tr_logfile_escape(small, sizeof(small), "ab\"cd", 5) == 2);
    TR_CHECK(strcmp(small, "ab") == 0);
    TR_CHECK(tr_logfile_escape(small, sizeof(small), "abcdefgh", 8) == 5);
    TR_CHECK(strcmp(small, "abcde") == 0);
}

static void test_lines(void)
{
    char path[] = "/tmp/torii-logfile-XXXXXX";
    int fd = mkstemp(path);
    TR_CHECK(fd >= 0);
    close(fd);
    struct tr_logfile *log = tr_logfile_open(path);
    TR_CHECK(log != NULL);
    char line[200];
    for (int i = 0; i < 1000; i++) { /* more than one buffer's worth: flushed on the way */
        int n = snprintf(line, sizeof(line), "line %04d %0150d", i, 0);
        tr_logfile_append(log, line, (size_t)n);
    }
    tr_logfile_close(log);
    FILE *f = fopen(path, "r");
    TR_CHECK(f != NULL);
    char got[256];
    int i = 0;
    while (f && fgets(got, sizeof(got), f)) {
        snprintf(line, sizeof(line), "line %04d %0150d\n", i, 0);
        TR_CHECK(strcmp(got, line) == 0);
        i++;
    }
    TR_CHECK(i == 1000);
    if (f)
        fclose(f);
    unlink(path);
    TR_CHECK(tr_logfile_open("/nonexistent-dir/x.log") == NULL);
}

int main(void)
{
    test_escape();
    test_lines();
    return TR_CHECK_DONE();
}
