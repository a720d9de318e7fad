/*
 * replace.h -- the `sluice replace` subcommand (see replace.c).
 */
#ifndef SLUICE_CLI_REPLACE_H
#define SLUICE_CLI_REPLACE_H

#include "common.h" /* cli_env, cli_main_fn */

/* `sluice replace FROM TO PATH...`: substitution, output in input order. */
cli_main_fn cli_replace_main;

#endif /* SLUICE_CLI_REPLACE_H */
