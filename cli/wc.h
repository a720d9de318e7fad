/*
 * wc.h -- the `sluice wc` subcommand (see wc.c).
 */
#ifndef SLUICE_CLI_WC_H
#define SLUICE_CLI_WC_H

#include "common.h" /* cli_env, cli_main_fn */

/* `sluice wc`: GNU wc, counted by the engine with the wc plugin. */
cli_main_fn cli_wc_main;

#endif /* SLUICE_CLI_WC_H */
