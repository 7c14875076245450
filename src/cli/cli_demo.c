/* src/cli/cli_demo.c — `medcl demo`. Until the training pipeline lands, the demo shows the
 * device path end to end: it describes the chosen device, draws Philox normals on it, checks
 * them bit for bit against the host, and reduces them on the device against a float64 host sum. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_demo(int argc, char **argv) {
    const char *device = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is(argv[i], "--help", "-h")) {
            printf("usage: medcl demo [--device SEL]\n"
                   "Runs a small computation on the chosen device and checks it against the host.\n");
            return CLI_EXIT_OK;
        } else if (cli_is(argv[i], "--device", "-d") && i + 1 < argc) {
            device = argv[++i];
        } else {
            fprintf(stderr, "medcl demo: unknown option \"%s\"\n", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    medcl_context_options o = MEDCL_CONTEXT_OPTIONS_INIT;
    o.device = device;
    medcl_context *ctx = NULL;
    medcl_tensor *x = NULL;
    float *dev = NULL, *host = NULL;
    int rc = CLI_EXIT_OK;
    medcl_status st = medcl_context_create(&o, &ctx);
    if (st != MEDCL_OK) return st == MEDCL_ERR_NOT_FOUND ? (cli_report("demo", st), CLI_EXIT_NO_DEVICE)
                                                          : cli_report("demo", st);
    const medcl_device_info *d = medcl_context_device(ctx);
    printf("device: %s (%s, %s; driver %s)\n", d->name, d->platform, medcl_device_type_str(d->type),
           d->driver);
    const int64_t n = 1 << 20;
    dev = malloc((size_t)n * sizeof *dev);
    host = malloc((size_t)n * sizeof *host);
    if (!dev || !host) {
        fprintf(stderr, "medcl demo: out of memory\n");
        rc = CLI_EXIT_ERROR;
        goto done;
    }
    double t0 = now();
    st = medcl_tensor_create_f32(ctx, "demo.x", 1, &n, &x);
    if (st == MEDCL_OK) st = medcl_random_normal(x, 2026, 1, 0, 0, 0.0f, 1.0f);
    double sum = 0, mx = 0;
    if (st == MEDCL_OK) st = medcl_reduce_to_host(x, MEDCL_REDUCE_SUM, &sum);
    if (st == MEDCL_OK) st = medcl_reduce_to_host(x, MEDCL_REDUCE_MAX, &mx);
    if (st == MEDCL_OK) st = medcl_tensor_download(x, dev, (size_t)n * sizeof *dev);
    double t1 = now();
    if (st != MEDCL_OK) {
        rc = cli_report("demo", st);
        goto done;
    }
    medcl_philox_fill_normal(2026, 1, 0, 0, host, (size_t)n);
    int64_t diff = 0;
    double hsum = 0, hmax = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        if (memcmp(&dev[i], &host[i], sizeof(float)) != 0) diff++;
        hsum += host[i];
        if (host[i] > hmax) hmax = host[i];
    }
    printf("philox normals: %lld drawn on the device in %.1f ms; %lld differ from the host bits\n",
           (long long)n, 1e3 * (t1 - t0), (long long)diff);
    printf("device sum %.6f vs float64 host sum %.6f (|diff| %.2e); max %.6f vs %.6f\n", sum, hsum,
           fabs(sum - hsum), mx, hmax);
    medcl_cache_stats cs;
    medcl_context_cache_stats(ctx, &cs);
    printf("program cache: %llu compiled, %llu from disk (%s)\n", (unsigned long long)cs.misses,
           (unsigned long long)cs.disk_hits, cs.disk_enabled ? cs.dir : "disabled");
    if (diff != 0 || fabs(sum - hsum) > 1e-2 || mx != hmax) {
        fprintf(stderr, "medcl demo: device and host disagree\n");
        rc = CLI_EXIT_ERROR;
    } else {
        printf("demo: ok\n");
    }
done:
    medcl_tensor_destroy(x);
    free(dev);
    free(host);
    medcl_context_destroy(ctx);
    return rc;
}
