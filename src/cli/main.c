/* src/cli/main.c — the medcl program: command dispatch, --help, --version, exit codes. */
#include "cli.h"

#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: medcl [--version] [--help] <command> [options]\n"
            "\n"
            "commands:\n"
            "  devices            list OpenCL devices and their capabilities (--json)\n"
            "  kernels build      compile every kernel variant for a device into a bundle\n"
            "  train              train a model from a config file (medcl train CONFIG.json)\n"
            "  predict            segment images with a trained checkpoint\n"
            "  eval               evaluate a checkpoint on test sets/domains: metrics, gap, report\n"
            "  bench              performance suite on a device: JSON + Markdown table\n"
            "  demo               run the demo on the built-in default data\n"
            "\n"
            "Run `medcl <command> --help` for a command's options.\n"
            "\n"
            "environment:\n"
            "  MEDCL_DEVICE         device: gpu, cpu, accelerator, an index, P:D, or a name substring\n"
            "  MEDCL_CACHE_DIR      program cache folder (default $XDG_CACHE_HOME/medcl or ~/.cache/medcl)\n"
            "  MEDCL_CACHE=off      disable the on-disk program cache\n"
            "  MEDCL_KERNEL_BUNDLE  load kernels only from this bundle folder; never compile\n"
            "  MEDCL_CL_DIR         read kernel sources from this folder instead of the built-in copy\n"
            "  MEDCL_LOG_LEVEL      error, warn (default), info or debug\n"
            "\n"
            "exit codes: 0 success, 1 error, 2 bad command line, 3 no matching OpenCL device,\n"
            "            4 malformed input file or config, 130/143 interrupted (state saved)\n");
}

int cli_report(const char *cmd, medcl_status st) {
    fprintf(stderr, "medcl %s: %s: %s\n", cmd, medcl_status_str(st), medcl_last_error());
    if (st == MEDCL_ERR_NOT_FOUND && strstr(medcl_last_error(), "OpenCL")) return CLI_EXIT_NO_DEVICE;
    if (st == MEDCL_ERR_FORMAT) return CLI_EXIT_DATA;
    if (st == MEDCL_ERR_INTERRUPTED) return CLI_EXIT_SIGINT;
    return CLI_EXIT_ERROR;
}

bool cli_is(const char *arg, const char *a, const char *b) {
    return (a && !strcmp(arg, a)) || (b && !strcmp(arg, b));
}

void cli_json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (cli_is(cmd, "--help", "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (cli_is(cmd, "--version", "-V")) {
        printf("medcl %s\n", medcl_version());
        return CLI_EXIT_OK;
    }
    if (!strcmp(cmd, "devices")) return cli_devices(argc - 1, argv + 1);
    if (!strcmp(cmd, "kernels")) return cli_kernels(argc - 1, argv + 1);
    if (!strcmp(cmd, "demo")) return cli_demo(argc - 1, argv + 1);
    if (!strcmp(cmd, "train")) return cli_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "predict")) return cli_predict(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return cli_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return cli_bench(argc - 1, argv + 1);
    fprintf(stderr, "medcl: unknown command \"%s\"\n\n", cmd);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
