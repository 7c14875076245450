/* src/cli/cli_kernels.c — `medcl kernels build --out DIR`: compiles every program variant the
 * library uses for the chosen device and writes a kernel bundle; `medcl kernels list`. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static void help(void) {
    printf("usage: medcl kernels build --out DIR [--device SEL]\n"
           "       medcl kernels list [--device SEL]\n"
           "build: compile every kernel variant the library uses on the device and write a\n"
           "bundle (manifest.json + one binary per variant). Run with MEDCL_KERNEL_BUNDLE=DIR to\n"
           "load only from the bundle, without a compiler.\n");
}

int cli_kernels(int argc, char **argv) {
    const char *out = NULL, *device = NULL, *sub = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is(argv[i], "--help", "-h")) {
            help();
            return CLI_EXIT_OK;
        } else if (cli_is(argv[i], "--out", "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if (cli_is(argv[i], "--device", "-d") && i + 1 < argc) {
            device = argv[++i];
        } else if (!sub && (!strcmp(argv[i], "build") || !strcmp(argv[i], "list"))) {
            sub = argv[i];
        } else {
            fprintf(stderr, "medcl kernels: unexpected argument \"%s\"\n", argv[i]);
            help();
            return CLI_EXIT_USAGE;
        }
    }
    if (!sub || (!strcmp(sub, "build") && !out)) {
        fprintf(stderr, "medcl kernels: %s\n", !sub ? "missing subcommand (build or list)"
                                                     : "build needs --out DIR");
        return CLI_EXIT_USAGE;
    }
    medcl_context_options o = MEDCL_CONTEXT_OPTIONS_INIT;
    o.device = device;
    medcl_context *ctx = NULL;
    medcl_program_variant *vars = NULL;
    int n = 0, rc = CLI_EXIT_OK;
    medcl_status st = medcl_context_create(&o, &ctx);
    if (st != MEDCL_OK) {
        rc = cli_report("kernels", st);
        if (st == MEDCL_ERR_NOT_FOUND) rc = CLI_EXIT_NO_DEVICE;
        return rc;
    }
    st = medcl_library_variants(ctx, &vars, &n);
    if (st == MEDCL_OK && !strcmp(sub, "list")) {
        for (int i = 0; i < n; i++) printf("%s\t%s\n", vars[i].program, vars[i].defines);
    } else if (st == MEDCL_OK) {
        st = medcl_bundle_write(ctx, out, vars, n);
        if (st == MEDCL_OK)
            printf("wrote %d program variants for %s to %s\n", n,
                   medcl_context_device(ctx)->name, out);
    }
    if (st != MEDCL_OK) rc = cli_report("kernels", st);
    free(vars);
    medcl_context_destroy(ctx);
    return rc;
}
