/* SPDX-License-Identifier: MIT */
/* Entry point: hand the command line to the CLI. */
#include "server/cli.h"

int main(int argc, char **argv)
{
    return tr_cli_main(argc, argv);
}
