/* src/cli/cli.h — the medcl program's commands and shared helpers. */
#ifndef MEDCL_CLI_H
#define MEDCL_CLI_H

#include "medcl/medcl.h"
#include <stdbool.h>
#include <stdio.h>

/* Exit codes (documented in README and `medcl --help`). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,      /* the work failed: message on stderr */
    CLI_EXIT_USAGE = 2,      /* bad command line */
    CLI_EXIT_NO_DEVICE = 3,  /* no OpenCL device, or none matching MEDCL_DEVICE / --device */
    CLI_EXIT_DATA = 4,       /* an input file or config is malformed */
    CLI_EXIT_SIGINT = 130,   /* interrupted by SIGINT after saving state */
    CLI_EXIT_SIGTERM = 143   /* interrupted by SIGTERM after saving state */
};

/* Prints "medcl <cmd>: <status>: <last error>" and returns the exit code for st. */
int cli_report(const char *cmd, medcl_status st);
/* True when argv[i] equals a or b (b may be NULL). */
bool cli_is(const char *arg, const char *a, const char *b);
/* JSON string literal to f. */
void cli_json_str(FILE *f, const char *s);

int cli_devices(int argc, char **argv);
int cli_kernels(int argc, char **argv);
int cli_demo(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_bench(int argc, char **argv);
/* `medcl demo --study NAME ...`: the generalization study (cli_study.c) */
int cli_study(int argc, char **argv);

#endif
