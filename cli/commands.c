/*
 * commands.c -- the table of sluice's commands (commands.h).  A new
 * command is one entry here and its file.
 */
#include <string.h>

#include "commands.h"
#include "grep.h"
#include "gzip.h"
#include "replace.h"
#include "run.h"
#include "wc.h"

const cli_command cli_commands[] = {
    {"grep", cli_grep_main,
     "print lines that match patterns, in parallel (GNU grep compatible)", 1},
    {"gunzip", cli_gunzip_main,
     "decompress gzip files in parallel (gunzip compatible)", 1},
    {"gzip", cli_gzip_main,
     "compress files in parallel into standard gzip (gzip/pigz compatible)",
     1},
    {"plugin", cli_plugin_main,
     "check a plugin: its ABI, capabilities and options, or why it fails", 0},
    {"plugins", cli_plugins_main, "list the plugins found", 0},
    {"replace", cli_replace_main,
     "replace text in every line (literal, or regex with back references)",
     1},
    {"run", cli_run_main, "run any plugin over files, trees and stdin", 1},
    {"wc", cli_wc_main,
     "print newline, word, and byte counts (GNU wc compatible)", 1},
    {"zcat", cli_zcat_main, "decompress gzip files to standard output", 1},
};

const size_t cli_ncommands = sizeof cli_commands / sizeof cli_commands[0];

const cli_command *cli_command_find(const char *name, int jobs_only)
{
    for (size_t i = 0; i < cli_ncommands; i++)
        if (strcmp(cli_commands[i].name, name) == 0 &&
            (cli_commands[i].runs_job || !jobs_only))
            return &cli_commands[i];
    return NULL;
}
