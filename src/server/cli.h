/* SPDX-License-Identifier: MIT */
/* Subcommands: start, stop, reload, health, check, migrations, config, version. */
#ifndef TR_SERVER_CLI_H
#define TR_SERVER_CLI_H

struct tr_conf;

/* Load the settings (conf_path, or the defaults and the environment) into conf; on failure
 * say why on stderr and return nonzero (conf then needs no freeing). */
int tr_cli_load_conf(const char *conf_path, struct tr_conf *conf);

/* Run the subcommand named by argv; returns the process exit status. */
int tr_cli_main(int argc, char **argv);

/* `torii config ...` (cli_config.c). */
int tr_cli_config(int argc, char **argv);

/* `torii migrations ...` (cli_migrations.c). */
int tr_cli_migrations(int argc, char **argv);

#endif
