/*
 * run.h -- `sluice run`, `sluice plugins`, `sluice plugin` (see run.c).
 */
#ifndef SLUICE_CLI_RUN_H
#define SLUICE_CLI_RUN_H

#include "common.h" /* cli_env, cli_main_fn */

/* `sluice run PLUGIN [-P key=value]... PATH...`: any plugin over inputs. */
cli_main_fn cli_run_main;
/* `sluice plugins`: the plugins found, with version and description. */
cli_main_fn cli_plugins_main;
/* `sluice plugin check FILE`: loads a plugin in a child and describes it. */
cli_main_fn cli_plugin_main;

#endif /* SLUICE_CLI_RUN_H */
