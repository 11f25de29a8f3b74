/* SPDX-License-Identifier: MIT */
/* Entry point: hand the command line to the CLI. */
#include <malloc.h>

#include "server/cli.h"

int main(int argc, char **argv)
{
    /* Snapshots allocate and free large indexes on every admin write: a fixed mmap threshold
     * makes glibc hand those back to the system instead of growing the heap after each one. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    return tr_cli_main(argc, argv);
}
