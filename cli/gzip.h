/*
 * gzip.h -- the `sluice gzip` subcommand: parallel compression into
 * standard gzip with gzip 1.12's interface (see gzip.c).
 */
#ifndef SLUICE_CLI_GZIP_H
#define SLUICE_CLI_GZIP_H

#include "common.h" /* cli_env, cli_main_fn */

/* `sluice gzip`: gzip/pigz-compatible compression by the gzip plugin,
 * decompression (-d, -t, -l) by the gunzip plugin. */
cli_main_fn cli_gzip_main;
/* `sluice gunzip`: `sluice gzip -d`. */
cli_main_fn cli_gunzip_main;
/* `sluice zcat`: `sluice gzip -dc`. */
cli_main_fn cli_zcat_main;

#endif /* SLUICE_CLI_GZIP_H */
