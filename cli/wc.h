/*
 * wc.h -- the `sluice wc` subcommand, and what every subcommand is given.
 *
 * main.c dispatches `sluice NAME ARGS...` to a function of this shape.  The
 * environment struct lives here until a second subcommand exists; then it
 * belongs in a shared cli header.
 */
#ifndef SLUICE_CLI_WC_H
#define SLUICE_CLI_WC_H

/* What main.c tells a subcommand. */
typedef struct cli_env {
    const char *prog;     /* "sluice": prefix of messages ("sluice wc: ...") */
    const char *version;  /* SLUICE_VERSION */
    const char *self_exe; /* path of the running binary (for plugin lookup) */
} cli_env;

/* A subcommand's entry point.  argv[0] is the subcommand's display name
 * ("sluice wc"), used as the program name in getopt's messages; argv is
 * NULL-terminated and may be permuted.  Returns the exit status. */
typedef int cli_main_fn(int argc, char **argv, const cli_env *env);

/* `sluice wc`: GNU wc, counted by the engine with the wc plugin. */
cli_main_fn cli_wc_main;

#endif /* SLUICE_CLI_WC_H */
