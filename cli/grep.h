/*
 * grep.h -- the `sluice grep` subcommand (see grep.c).
 */
#ifndef SLUICE_CLI_GREP_H
#define SLUICE_CLI_GREP_H

#include "common.h" /* cli_env, cli_main_fn */

/* `sluice grep`: GNU grep's output, lines selected by the grep plugin. */
cli_main_fn cli_grep_main;

#endif /* SLUICE_CLI_GREP_H */
