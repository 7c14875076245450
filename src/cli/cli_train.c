/* src/cli/cli_train.c — `medcl train CONFIG.json [flags]`: flags become config overrides, the
 * SIGINT/SIGTERM handlers (first signal: finish the step, save, exit 130/143; second: exit at
 * once), progress on a terminal, and the exit code. The loop is in trainer.c.
 * Leaves out: evaluation and reports (`medcl eval`). */
#include "cli.h"
#include "cli/config.h"
#include "cli/trainer.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_train(int argc, char **argv);

static volatile sig_atomic_t g_signal;

static void on_signal(int sig) {
    if (g_signal) _exit(128 + sig); /* second signal: at once; checkpoints are written atomically */
    g_signal = sig;
}

static void train_usage(FILE *f) {
    fprintf(f,
            "usage: medcl train CONFIG.json [options]\n"
            "\n"
            "Trains the model the config describes (schema: docs/CONFIG.md). Flags override the file.\n"
            "\n"
            "options:\n"
            "  --epochs N          training.epochs\n"
            "  --iterations N      training.iterations (steps per epoch)\n"
            "  --batch N           training.batch\n"
            "  --lr X              optimizer.lr\n"
            "  --seed N            seed\n"
            "  --device SEL        device (gpu, cpu, an index, P:D or a name substring)\n"
            "  --out DIR           output folder (default runs/<config name>)\n"
            "  --val-every N       validation.every (epochs; 0: never)\n"
            "  --set KEY=VALUE     any field by its path, e.g. --set optimizer.kind=adamw (repeatable;\n"
            "                      VALUE is JSON when it parses as JSON, else a string)\n"
            "  --resume            continue from OUT/latest.safetensors (same batches, same bits)\n"
            "  --print-config      print the effective configuration as JSON and exit\n"
            "  --no-progress       plain log lines even on a terminal\n"
            "  --quiet             only epoch summaries\n"
            "\n"
            "writes to OUT: config.json, curves.csv (kind,epoch,step,loss,lr,grad_norm,dice),\n"
            "latest.safetensors (each epoch and on interrupt), best.safetensors (best validation\n"
            "Dice), final.safetensors; all written atomically.\n"
            "\n"
            "SIGINT/SIGTERM: the current step finishes, latest.safetensors is written, exit 130/143.\n"
            "A second signal exits at once; the previous checkpoint stays intact.\n"
            "exit codes: 0 done, 1 error, 2 bad command line, 3 no device, 4 malformed config or data,\n"
            "            130/143 interrupted (state saved)\n");
}

int cli_train(int argc, char **argv) {
    const char *config = NULL;
    char **sets = calloc((size_t)argc * 2 + 1, sizeof *sets);
    char *owned[64];
    int nsets = 0, nowned = 0, rc = CLI_EXIT_OK;
    bool print_config = false;
    cli_train_options opt = {0};
    opt.progress = isatty(STDERR_FILENO);
    opt.interrupt = &g_signal;
    cli_config cfg;
    cli_config_init(&cfg);
    if (!sets) return CLI_EXIT_ERROR;
    static const struct {
        const char *flag, *key;
    } map[] = {{"--epochs", "training.epochs"}, {"--iterations", "training.iterations"}, {"--batch", "training.batch"},
               {"--lr", "optimizer.lr"},        {"--seed", "seed"},                     {"--device", "device"},
               {"--out", "output"},             {"--val-every", "validation.every"}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is(a, "--help", "-h")) {
            train_usage(stdout);
            goto done;
        }
        bool mapped = false;
        for (size_t k = 0; k < sizeof map / sizeof map[0] && !mapped; k++) {
            if (strcmp(a, map[k].flag)) continue;
            mapped = true;
            if (i + 1 >= argc) {
                fprintf(stderr, "medcl train: %s needs a value\n", a);
                rc = CLI_EXIT_USAGE;
                goto done;
            }
            const char *v = argv[++i];
            size_t n = strlen(map[k].key) + strlen(v) + 4;
            char *s = malloc(n);
            if (!s || nowned >= 64) {
                free(s);
                rc = CLI_EXIT_ERROR;
                goto done;
            }
            /* device and output are strings even when they look like numbers ("--device 0") */
            if (!strcmp(map[k].key, "device") || !strcmp(map[k].key, "output")) {
                char *q = malloc(2 * strlen(v) + 3);
                size_t p = 0;
                if (!q) {
                    free(s);
                    rc = CLI_EXIT_ERROR;
                    goto done;
                }
                q[p++] = '"';
                for (const char *c = v; *c; c++) {
                    if (*c == '"' || *c == '\\') q[p++] = '\\';
                    q[p++] = *c;
                }
                q[p++] = '"';
                q[p] = 0;
                free(s);
                n = strlen(map[k].key) + strlen(q) + 2;
                s = malloc(n);
                if (s) snprintf(s, n, "%s=%s", map[k].key, q);
                free(q);
                if (!s) {
                    rc = CLI_EXIT_ERROR;
                    goto done;
                }
            } else {
                snprintf(s, n, "%s=%s", map[k].key, v);
            }
            owned[nowned++] = s;
            sets[nsets++] = s;
        }
        if (mapped) continue;
        if (!strcmp(a, "--set")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "medcl train: --set needs KEY=VALUE\n");
                rc = CLI_EXIT_USAGE;
                goto done;
            }
            sets[nsets++] = argv[++i];
        } else if (!strcmp(a, "--resume")) {
            opt.resume = true;
        } else if (!strcmp(a, "--print-config")) {
            print_config = true;
        } else if (!strcmp(a, "--no-progress")) {
            opt.progress = false;
        } else if (!strcmp(a, "--quiet")) {
            opt.quiet = true;
            opt.progress = false;
        } else if (!strcmp(a, "--stop-after")) { /* tests: behave as if interrupted after N steps */
            if (i + 1 >= argc) {
                rc = CLI_EXIT_USAGE;
                goto done;
            }
            opt.stop_after = strtoll(argv[++i], NULL, 10);
        } else if (a[0] == '-') {
            fprintf(stderr, "medcl train: unknown option %s (see medcl train --help)\n", a);
            rc = CLI_EXIT_USAGE;
            goto done;
        } else if (!config) {
            config = a;
        } else {
            fprintf(stderr, "medcl train: more than one config file (%s, %s)\n", config, a);
            rc = CLI_EXIT_USAGE;
            goto done;
        }
    }
    if (!config) {
        fprintf(stderr, "medcl train: no config file\n\n");
        train_usage(stderr);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    medcl_status st = cli_config_load(config, (const char *const *)sets, nsets, &cfg);
    if (st != MEDCL_OK) {
        rc = st == MEDCL_ERR_INVALID_ARG ? (fprintf(stderr, "medcl train: %s\n", medcl_last_error()), CLI_EXIT_USAGE)
                                         : cli_report("train", st);
        goto done;
    }
    if (print_config) {
        char *json = NULL;
        st = cli_config_to_json(&cfg, &json);
        if (st != MEDCL_OK) {
            rc = cli_report("train", st);
            goto done;
        }
        printf("%s\n", json);
        free(json);
        goto done;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    st = cli_train_run(&cfg, &opt);
    if (st == MEDCL_ERR_INTERRUPTED) {
        rc = g_signal == SIGTERM ? CLI_EXIT_SIGTERM : CLI_EXIT_SIGINT;
    } else if (st != MEDCL_OK) {
        rc = cli_report("train", st);
    }
done:
    for (int i = 0; i < nowned; i++) free(owned[i]);
    free(sets);
    cli_config_free(&cfg);
    return rc;
}
