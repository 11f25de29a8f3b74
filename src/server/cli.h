/* SPDX-License-Identifier: MIT */
/* Subcommands: start, stop, reload, health, check, migrations, config, version. */
#ifndef TR_SERVER_CLI_H
#define TR_SERVER_CLI_H

/* Run the subcommand named by argv; returns the process exit status. */
int tr_cli_main(int argc, char **argv);

/* `torii config ...` (cli_config.c). */
int tr_cli_config(int argc, char **argv);

#endif
