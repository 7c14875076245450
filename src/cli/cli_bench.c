/* src/cli/cli_bench.c — `medcl bench`: the performance suite on one device, from the library
 * directly, comparable across machines. Measures the device's fp32 FMA peak (a kernel of
 * independent fma chains built here through the OpenCL interop of medcl/medcl_cl.h), then per
 * op the median time of repeated runs (each ended by medcl_context_finish): 2D and 3D 3x3
 * convolution forward, backward-data and backward-weight (GFLOP/s and fraction of the
 * peak), an elementwise add (GB/s), the nnU-Net augmentation preset (Mvoxel/s), and a U-Net
 * training step and forward pass (images/s) with the peak device memory of each. Writes
 * OUT/bench.json and OUT/bench.md (device, driver, OpenCL and library versions, date) and
 * prints the table (or the JSON with --json). With --external, the perf programs found next to
 * the medcl binary (bench_conv --json, bench_augment) run too and their output is kept in
 * OUT/external_<name>.txt.
 *
 * Leaves out: multi-device runs in one call (run once per --device), power and clocks. */
#define _XOPEN_SOURCE 700
#include "cli.h"
#include "cli/config.h"
#include "cli/trainer.h"
#include "core/internal.h"
#include "medcl/augment.h"
#include "medcl/medcl_cl.h"
#include "medcl/ops_conv.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef medcl_status (*bench_fn)(void *user);

/* Median seconds of runs calls after warmup calls, each followed by medcl_context_finish. */
static medcl_status time_median(medcl_context *ctx, bench_fn fn, void *user, int warmup, int runs, double *med,
                                double *spread) {
    medcl_status st = MEDCL_OK;
    double t[64];
    if (runs > 64) runs = 64;
    for (int i = 0; i < warmup; i++) {
        MEDCL_TRY(fn(user));
        MEDCL_TRY(medcl_context_finish(ctx));
    }
    for (int i = 0; i < runs; i++) {
        double t0 = medcl_now();
        MEDCL_TRY(fn(user));
        MEDCL_TRY(medcl_context_finish(ctx));
        t[i] = medcl_now() - t0;
    }
    for (int i = 1; i < runs; i++)
        for (int j = i; j > 0 && t[j - 1] > t[j]; j--) {
            double x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    *med = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
    *spread = *med > 0 ? (t[runs - 1] - t[0]) / *med : 0;
cleanup:
    return st;
}

/* ------------------------------------------------------------------ rows */

typedef struct bench_row {
    char op[48], shape[96];
    double ms, spread;
    double gflops;        /* NaN when not a FLOP-counted op */
    double rate;          /* op-specific: GB/s, Mvoxel/s, images/s */
    char rate_unit[16];
    double peak_mem_mib;  /* NaN when not measured */
} bench_row;

#define MAX_ROWS 32

typedef struct bench {
    medcl_context *ctx;
    bool small;
    int runs;
    double peak;
    bench_row rows[MAX_ROWS];
    int n;
} bench;

static bench_row *row_add(bench *b, const char *op, const char *shape) {
    if (b->n >= MAX_ROWS) return NULL;
    bench_row *r = &b->rows[b->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->op, sizeof r->op, "%s", op);
    snprintf(r->shape, sizeof r->shape, "%s", shape);
    r->gflops = r->rate = r->peak_mem_mib = NAN;
    return r;
}

/* ---- convolution */

typedef struct conv_job {
    medcl_tensor *x, *w, *b, *y, *dx, *dw, *db;
    medcl_conv_params p;
    int op; /* 0 fwd, 1 bwd-data, 2 bwd-weight */
} conv_job;

static medcl_status conv_run(void *user) {
    conv_job *j = user;
    if (j->op == 0) return medcl_conv_forward(j->x, j->w, j->b, j->y, &j->p);
    if (j->op == 1) return medcl_conv_backward_data(j->y, j->w, j->dx, &j->p);
    return medcl_conv_backward_weight(j->x, j->y, j->dw, j->db, &j->p);
}

static medcl_status bench_conv(bench *b, int dims, int64_t N, int64_t C, int64_t S) {
    medcl_status st = MEDCL_OK;
    conv_job j;
    memset(&j, 0, sizeof j);
    medcl_conv_params p = MEDCL_CONV_PARAMS_INIT;
    int nd = dims + 2;
    for (int a = 3 - dims; a < 3; a++) {
        p.kernel[a] = 3;
        p.pad[a] = 1;
    }
    j.p = p;
    int64_t xs[5] = {N, C, S, S, S}, ws[5] = {C, C, 3, 3, 3}, bs[1] = {C};
    MEDCL_TRY(medcl_tensor_create_f32(b->ctx, "bench.x", nd, xs, &j.x));
    MEDCL_TRY(medcl_tensor_create_f32(b->ctx, "bench.w", nd, ws, &j.w));
    MEDCL_TRY(medcl_tensor_create_f32(b->ctx, "bench.b", 1, bs, &j.b));
    MEDCL_TRY(medcl_tensor_create_f32(b->ctx, "bench.y", nd, xs, &j.y));
    MEDCL_TRY(medcl_tensor_create_f32(b->ctx, "bench.dx", nd, xs, &j.dx));
    MEDCL_TRY(medcl_tensor_create_f32(b->ctx, "bench.dw", nd, ws, &j.dw));
    MEDCL_TRY(medcl_tensor_create_f32(b->ctx, "bench.db", 1, bs, &j.db));
    MEDCL_TRY(medcl_random_normal(j.x, 1, 0, 0, 0, 0.0f, 1.0f));
    MEDCL_TRY(medcl_random_normal(j.w, 1, 1, 0, 0, 0.0f, 0.1f));
    MEDCL_TRY(medcl_random_normal(j.y, 1, 2, 0, 0, 0.0f, 1.0f));
    MEDCL_TRY(medcl_tensor_fill(j.b, 0.0));
    MEDCL_TRY(medcl_tensor_fill(j.dw, 0.0));
    MEDCL_TRY(medcl_tensor_fill(j.db, 0.0));
    double vox = (double)S * S * (dims == 3 ? (double)S : 1.0);
    double flops = 2.0 * (double)N * vox * (double)C * (double)C * (dims == 3 ? 27 : 9);
    static const char *names[3] = {"fwd", "bwd-data", "bwd-weight"};
    for (int op = 0; op < 3; op++) {
        j.op = op;
        char opn[48], shape[96];
        snprintf(opn, sizeof opn, "conv%dd 3x3 %s", dims, names[op]);
        if (dims == 3)
            snprintf(shape, sizeof shape, "N%lld C%lld->%lld %lld^3", (long long)N, (long long)C, (long long)C,
                     (long long)S);
        else
            snprintf(shape, sizeof shape, "N%lld C%lld->%lld %lldx%lld", (long long)N, (long long)C, (long long)C,
                     (long long)S, (long long)S);
        double med = 0, spread = 0;
        MEDCL_TRY(time_median(b->ctx, conv_run, &j, 1, b->runs, &med, &spread));
        bench_row *r = row_add(b, opn, shape);
        if (!r) break;
        r->ms = med * 1e3;
        r->spread = spread;
        r->gflops = flops / med * 1e-9;
    }
cleanup:
    medcl_tensor_destroy(j.x);
    medcl_tensor_destroy(j.w);
    medcl_tensor_destroy(j.b);
    medcl_tensor_destroy(j.y);
    medcl_tensor_destroy(j.dx);
    medcl_tensor_destroy(j.dw);
    medcl_tensor_destroy(j.db);
    return st;
}

/* ---- elementwise add (bandwidth) */

typedef struct add_job {
    medcl_tensor *a, *b, *y;
} add_job;

static medcl_status add_run(void *user) {
    add_job *j = user;
    return medcl_add(j->a, j->b, j->y);
}

static medcl_status bench_add(bench *b, int64_t n) {
    medcl_status st = MEDCL_OK;
    add_job j = {NULL, NULL, NULL};
    MEDCL_TRY(medcl_tensor_create_f32(b->ctx, "bench.a", 1, &n, &j.a));
    MEDCL_TRY(medcl_tensor_create_f32(b->ctx, "bench.b", 1, &n, &j.b));
    MEDCL_TRY(medcl_tensor_create_f32(b->ctx, "bench.y", 1, &n, &j.y));
    MEDCL_TRY(medcl_tensor_fill(j.a, 1.0));
    MEDCL_TRY(medcl_tensor_fill(j.b, 2.0));
    double med = 0, spread = 0;
    MEDCL_TRY(time_median(b->ctx, add_run, &j, 1, b->runs, &med, &spread));
    char shape[96];
    snprintf(shape, sizeof shape, "%lld floats", (long long)n);
    bench_row *r = row_add(b, "add (elementwise)", shape);
    if (r) {
        r->ms = med * 1e3;
        r->spread = spread;
        r->rate = 3.0 * 4.0 * (double)n / med * 1e-9;
        snprintf(r->rate_unit, sizeof r->rate_unit, "GB/s");
    }
cleanup:
    medcl_tensor_destroy(j.a);
    medcl_tensor_destroy(j.b);
    medcl_tensor_destroy(j.y);
    return st;
}

/* ---- augmentation: the nnU-Net preset */

typedef struct aug_job {
    medcl_augment_pipeline *p;
    medcl_tensor *x, *l;
    uint32_t epoch;
} aug_job;

static medcl_status aug_run(void *user) {
    aug_job *j = user;
    return medcl_augment_pipeline_apply(j->p, j->x, j->l, 1, j->epoch++, 0);
}

static medcl_status bench_augment(bench *b, int dims, const int64_t shape[5]) {
    medcl_status st = MEDCL_OK;
    aug_job j = {NULL, NULL, NULL, 0};
    int64_t patch[3] = {shape[2], shape[3], shape[4]}, ls[5] = {shape[0], 1, shape[2], shape[3], shape[4]};
    MEDCL_TRY(medcl_augment_preset("nnunet", dims, patch, &j.p));
    MEDCL_TRY(medcl_tensor_create_f32(b->ctx, "bench.image", 5, shape, &j.x));
    MEDCL_TRY(medcl_tensor_create_f32(b->ctx, "bench.label", 5, ls, &j.l));
    MEDCL_TRY(medcl_random_normal(j.x, 3, 0, 0, 0, 0.0f, 1.0f));
    MEDCL_TRY(medcl_tensor_fill(j.l, 1.0));
    double med = 0, spread = 0;
    MEDCL_TRY(time_median(b->ctx, aug_run, &j, 1, b->runs, &med, &spread));
    char sh[96];
    snprintf(sh, sizeof sh, "%lldx%lldx%lldx%lldx%lld", (long long)shape[0], (long long)shape[1], (long long)shape[2],
             (long long)shape[3], (long long)shape[4]);
    char op[48];
    snprintf(op, sizeof op, "augment nnunet %dD", dims);
    bench_row *r = row_add(b, op, sh);
    if (r) {
        r->ms = med * 1e3;
        r->spread = spread;
        r->rate = (double)(shape[0] * shape[1] * shape[2] * shape[3] * shape[4]) / med * 1e-6;
        snprintf(r->rate_unit, sizeof r->rate_unit, "Mvoxel/s");
    }
cleanup:
    medcl_augment_pipeline_destroy(j.p);
    medcl_tensor_destroy(j.x);
    medcl_tensor_destroy(j.l);
    return st;
}

/* ---- U-Net training step and forward pass */

typedef struct train_job {
    medcl_graph *g;
    medcl_optim *o;
} train_job;

static medcl_status train_run(void *user) {
    train_job *j = user;
    return medcl_train_step(j->g, j->o, 1e-3, NULL);
}

static medcl_status fwd_run(void *user) {
    train_job *j = user;
    return medcl_graph_forward(j->g);
}

static medcl_status bench_unet(bench *b, int dims, int levels, int features, int64_t B, const int64_t patch[3]) {
    medcl_status st = MEDCL_OK;
    train_job j = {NULL, NULL};
    medcl_graph *gi = NULL;
    cli_config c;
    cli_config_init(&c);
    char text[1024], ps[96];
    if (dims == 3)
        snprintf(ps, sizeof ps, "%lld, %lld, %lld", (long long)patch[0], (long long)patch[1], (long long)patch[2]);
    else
        snprintf(ps, sizeof ps, "%lld, %lld", (long long)patch[1], (long long)patch[2]);
    snprintf(text, sizeof text,
             "{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"phantom\"}, \"model\": {\"dims\": %d, "
             "\"levels\": %d, \"features\": %d, \"in_channels\": 1, \"num_classes\": 2}, \"training\": "
             "{\"batch\": %lld, \"patch\": [%s]}}",
             dims, levels, features, (long long)B, ps);
    MEDCL_TRY(cli_config_parse(text, strlen(text), "bench model", NULL, 0, &c));
    medcl_context_reset_peak(b->ctx);
    medcl_memory_stats m0;
    medcl_context_memory_stats(b->ctx, &m0);
    MEDCL_TRY(medcl_graph_create(b->ctx, &j.g));
    cli_model m;
    MEDCL_TRY(cli_model_build(j.g, &c, B, true, &m));
    medcl_graph_compile_options gco = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
    gco.init_seed = 1;
    MEDCL_TRY(medcl_graph_compile(j.g, &gco));
    MEDCL_TRY(medcl_optim_create(b->ctx, &c.optimizer, &j.o));
    MEDCL_TRY(medcl_optim_add_graph(j.o, j.g));
    MEDCL_TRY(medcl_random_normal(medcl_graph_tensor(j.g, m.image), 5, 0, 0, 0, 0.0f, 1.0f));
    for (int h = 0; h < m.nheads; h++) MEDCL_TRY(medcl_tensor_fill(medcl_graph_tensor(j.g, m.targets[h]), 1.0));
    double med = 0, spread = 0;
    MEDCL_TRY(time_median(b->ctx, train_run, &j, 1, b->runs, &med, &spread));
    medcl_memory_stats m1;
    medcl_context_memory_stats(b->ctx, &m1);
    char shape[96], op[48];
    if (dims == 3)
        snprintf(shape, sizeof shape, "B%lld %lldx%lldx%lld, %d levels, %d features", (long long)B,
                 (long long)patch[0], (long long)patch[1], (long long)patch[2], levels, features);
    else
        snprintf(shape, sizeof shape, "B%lld %lldx%lld, %d levels, %d features", (long long)B, (long long)patch[1],
                 (long long)patch[2], levels, features);
    snprintf(op, sizeof op, "U-Net %dD training step", dims);
    bench_row *r = row_add(b, op, shape);
    if (r) {
        r->ms = med * 1e3;
        r->spread = spread;
        r->rate = (double)B / med;
        snprintf(r->rate_unit, sizeof r->rate_unit, "images/s");
        r->peak_mem_mib = (double)m1.peak / (1024.0 * 1024.0);
    }
    /* forward only (inference graph of the same model) */
    medcl_optim_destroy(j.o);
    j.o = NULL;
    medcl_graph_destroy(j.g);
    j.g = NULL;
    medcl_context_trim_pool(b->ctx);
    medcl_context_reset_peak(b->ctx);
    MEDCL_TRY(medcl_graph_create(b->ctx, &gi));
    MEDCL_TRY(cli_model_build(gi, &c, B, false, &m));
    gco.training = false;
    MEDCL_TRY(medcl_graph_compile(gi, &gco));
    MEDCL_TRY(medcl_random_normal(medcl_graph_tensor(gi, m.image), 5, 0, 0, 0, 0.0f, 1.0f));
    j.g = gi;
    gi = NULL;
    MEDCL_TRY(time_median(b->ctx, fwd_run, &j, 1, b->runs, &med, &spread));
    medcl_context_memory_stats(b->ctx, &m1);
    snprintf(op, sizeof op, "U-Net %dD forward", dims);
    r = row_add(b, op, shape);
    if (r) {
        r->ms = med * 1e3;
        r->spread = spread;
        r->rate = (double)B / med;
        snprintf(r->rate_unit, sizeof r->rate_unit, "images/s");
        r->peak_mem_mib = (double)m1.peak / (1024.0 * 1024.0);
    }
cleanup:
    medcl_optim_destroy(j.o);
    medcl_graph_destroy(j.g);
    medcl_graph_destroy(gi);
    cli_config_free(&c);
    medcl_context_trim_pool(b->ctx);
    return st;
}

/* ------------------------------------------------------------------ output */

static void jnum(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.6g", v);
    else fputs("null", f);
}

static void write_json(FILE *f, const bench *b, const char *date, double seconds, const char *external) {
    const medcl_device_info *d = medcl_context_device(b->ctx);
    fputs("{\n  \"schema\": \"medcl-bench/1\",\n  \"library_version\": ", f);
    cli_json_str(f, medcl_version());
    fputs(",\n  \"date\": ", f);
    cli_json_str(f, date);
    fputs(",\n  \"device\": {\"name\": ", f);
    cli_json_str(f, d->name);
    fputs(", \"vendor\": ", f);
    cli_json_str(f, d->vendor);
    fputs(", \"platform\": ", f);
    cli_json_str(f, d->platform);
    fputs(", \"version\": ", f);
    cli_json_str(f, d->version);
    fputs(", \"driver\": ", f);
    cli_json_str(f, d->driver);
    fprintf(f, ", \"type\": \"%s\", \"compute_units\": %u, \"clock_mhz\": %u, \"global_mem_bytes\": %llu},\n",
            medcl_device_type_str(d->type), d->compute_units, d->clock_mhz, (unsigned long long)d->global_mem);
    fprintf(f, "  \"setting\": \"%s\",\n  \"runs_per_op\": %d,\n  \"seconds\": %.3f,\n  \"fma_peak_gflops\": ",
            b->small ? "small" : "full", b->runs, seconds);
    jnum(f, b->peak);
    fputs(",\n  \"results\": [", f);
    for (int i = 0; i < b->n; i++) {
        const bench_row *r = &b->rows[i];
        fprintf(f, "%s\n    {\"op\": ", i ? "," : "");
        cli_json_str(f, r->op);
        fputs(", \"shape\": ", f);
        cli_json_str(f, r->shape);
        fputs(", \"median_ms\": ", f);
        jnum(f, r->ms);
        fputs(", \"spread\": ", f);
        jnum(f, r->spread);
        fputs(", \"gflops\": ", f);
        jnum(f, r->gflops);
        fputs(", \"fraction_of_peak\": ", f);
        jnum(f, isfinite(r->gflops) && b->peak > 0 ? r->gflops / b->peak : NAN);
        fputs(", \"rate\": ", f);
        jnum(f, r->rate);
        fputs(", \"rate_unit\": ", f);
        if (r->rate_unit[0]) cli_json_str(f, r->rate_unit);
        else fputs("null", f);
        fputs(", \"peak_device_mib\": ", f);
        jnum(f, r->peak_mem_mib);
        fputs("}", f);
    }
    fputs("\n  ],\n  \"external\": ", f);
    if (external && *external) cli_json_str(f, external);
    else fputs("[]", f);
    fputs("\n}\n", f);
}

static void write_md(FILE *f, const bench *b, const char *date) {
    const medcl_device_info *d = medcl_context_device(b->ctx);
    fprintf(f, "# medcl bench (%s)\n\n", b->small ? "small" : "full");
    fprintf(f, "Device: %s | %s | %s | driver %s | medcl %s | %s\n\n", d->name, d->platform, d->version, d->driver,
            medcl_version(), date);
    fprintf(f, "Measured fp32 FMA peak: %.1f GFLOP/s. Times: median of %d runs after one warm-up, each ended by "
            "clFinish.\n\n", b->peak, b->runs);
    fprintf(f, "| op | shape | ms | spread | GFLOP/s | of peak | rate | peak device MiB |\n");
    fprintf(f, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (int i = 0; i < b->n; i++) {
        const bench_row *r = &b->rows[i];
        char gf[32] = "", fr[32] = "", rt[48] = "", mem[32] = "";
        if (isfinite(r->gflops)) snprintf(gf, sizeof gf, "%.1f", r->gflops);
        if (isfinite(r->gflops) && b->peak > 0) snprintf(fr, sizeof fr, "%.1f%%", 100 * r->gflops / b->peak);
        if (isfinite(r->rate)) snprintf(rt, sizeof rt, "%.1f %s", r->rate, r->rate_unit);
        if (isfinite(r->peak_mem_mib)) snprintf(mem, sizeof mem, "%.1f", r->peak_mem_mib);
        fprintf(f, "| %s | %s | %.2f | %.0f%% | %s | %s | %s | %s |\n", r->op, r->shape, r->ms, 100 * r->spread, gf, fr,
                rt, mem);
    }
}

/* ------------------------------------------------------------------ external programs */

/* Runs DIR/name args > out_path with MEDCL_DEVICE set; returns its exit status or -1. */
static int run_external(const char *dir, const char *name, const char *arg, const char *device, const char *out_path) {
    char prog[PATH_MAX + 64];
    snprintf(prog, sizeof prog, "%s/%s", dir, name);
    if (access(prog, X_OK) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        FILE *o = freopen(out_path, "w", stdout);
        if (!o) _exit(127);
        if (device) setenv("MEDCL_DEVICE", device, 1);
        if (arg) execl(prog, name, "--small", arg, (char *)NULL);
        else execl(prog, name, "--small", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void bench_usage(FILE *f) {
    fprintf(f,
            "usage: medcl bench [--device SEL] [--small] [--json] [--out DIR] [--runs N] [--external]\n"
            "\n"
            "Runs the performance suite on one device: measured fp32 FMA peak; 3x3 convolution 2D and\n"
            "3D (forward, backward-data, backward-weight: GFLOP/s and fraction of the peak); an\n"
            "elementwise add (GB/s); the nnU-Net augmentation preset (Mvoxel/s); a U-Net training\n"
            "step and forward pass (images/s, peak device memory). Writes OUT/bench.json and\n"
            "OUT/bench.md with the device, driver, OpenCL and library versions and the date.\n"
            "\n"
            "options:\n"
            "  --device SEL   device (gpu, cpu, an index, P:D or a name substring); run once per device\n"
            "  --small        small shapes (a CPU through PoCL: about a minute)\n"
            "  --runs N       timed runs per op after one warm-up (default 5; small 3)\n"
            "  --out DIR      output folder (default bench-out)\n"
            "  --json         print bench.json on stdout instead of the Markdown table\n"
            "  --external     also run bench_conv --small --json and bench_augment --small found next to\n"
            "                 the medcl binary; their output goes to OUT/external_<name>.txt\n"
            "\n"
            "exit codes: 0 done, 1 error, 2 bad command line, 3 no device\n");
}

int cli_bench(int argc, char **argv) {
    const char *device = NULL, *out = "bench-out";
    bool json = false, external = false;
    int rc = CLI_EXIT_OK;
    bench b;
    memset(&b, 0, sizeof b);
    b.runs = -1;
    medcl_status st = MEDCL_OK;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (cli_is(a, "--help", "-h")) {
            bench_usage(stdout);
            return CLI_EXIT_OK;
        } else if (!strcmp(a, "--small")) {
            b.small = true;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--external")) {
            external = true;
        } else if (cli_is(a, "--device", "-d") && has) {
            device = argv[++i];
        } else if (!strcmp(a, "--out") && has) {
            out = argv[++i];
        } else if (!strcmp(a, "--runs") && has) {
            char *end;
            long x = strtol(argv[++i], &end, 10);
            if (*end || x < 1 || x > 64) {
                fprintf(stderr, "medcl bench: --runs %s: expected an integer in 1..64\n", argv[i]);
                return CLI_EXIT_USAGE;
            }
            b.runs = (int)x;
        } else {
            fprintf(stderr, "medcl bench: unknown option or missing value: %s (see medcl bench --help)\n", a);
            return CLI_EXIT_USAGE;
        }
    }
    if (b.runs < 0) b.runs = b.small ? 3 : 5;
    medcl_context_options o = MEDCL_CONTEXT_OPTIONS_INIT;
    o.device = device;
    st = medcl_context_create(&o, &b.ctx);
    if (st != MEDCL_OK) return cli_report("bench", st);
    double t0 = medcl_now();
    char date[32];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(date, sizeof date, "%Y-%m-%d", &tmv);
    char ext[2048] = "";
    st = medcl_mkdir_p(out);
    if (st != MEDCL_OK) goto fail;
    fprintf(stderr, "medcl bench: %s (%s), %s setting\n", medcl_context_device(b.ctx)->name,
            medcl_context_device(b.ctx)->driver, b.small ? "small" : "full");
    b.peak = medcl_device_fma_peak(b.ctx, b.small);
    if (b.small) {
        st = bench_conv(&b, 2, 4, 32, 64);
        if (st == MEDCL_OK) st = bench_conv(&b, 3, 1, 16, 24);
        if (st == MEDCL_OK) st = bench_add(&b, (int64_t)1 << 22);
        int64_t s2[5] = {4, 1, 1, 112, 96}, p2[3] = {1, 112, 96};
        if (st == MEDCL_OK) st = bench_augment(&b, 2, s2);
        if (st == MEDCL_OK) st = bench_unet(&b, 2, 4, 8, 4, p2);
    } else {
        st = bench_conv(&b, 2, 16, 64, 128);
        if (st == MEDCL_OK) st = bench_conv(&b, 3, 2, 32, 64);
        if (st == MEDCL_OK) st = bench_add(&b, (int64_t)1 << 26);
        int64_t s2[5] = {16, 1, 1, 256, 256}, s3[5] = {2, 1, 96, 96, 96}, p2[3] = {1, 256, 256}, p3[3] = {64, 64, 64};
        if (st == MEDCL_OK) st = bench_augment(&b, 2, s2);
        if (st == MEDCL_OK) st = bench_augment(&b, 3, s3);
        if (st == MEDCL_OK) st = bench_unet(&b, 2, 6, 32, 12, p2);
        if (st == MEDCL_OK) st = bench_unet(&b, 3, 5, 32, 2, p3);
    }
    if (st != MEDCL_OK) goto fail;
    if (external) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
            self[n] = 0;
            char *sl = strrchr(self, '/');
            if (sl) *sl = 0;
            static const char *const progs[2][2] = {{"bench_conv", "--json"}, {"bench_augment", NULL}};
            size_t len = 0;
            for (int k = 0; k < 2; k++) {
                char path[PATH_MAX + 64];
                snprintf(path, sizeof path, "%s/external_%s.txt", out, progs[k][0]);
                fprintf(stderr, "medcl bench: running %s/%s --small\n", self, progs[k][0]);
                int r = run_external(self, progs[k][0], progs[k][1], device, path);
                len += (size_t)snprintf(ext + len, sizeof ext - len > len ? sizeof ext - len : 0,
                                        "%s%s: %s", len ? "; " : "", progs[k][0],
                                        r < 0 ? "not found" : r ? "failed" : path);
            }
        }
    }
    {
        double secs = medcl_now() - t0;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/bench.json", out);
        FILE *f = fopen(path, "w");
        if (!f) {
            st = medcl_fail(MEDCL_ERR_IO, "%s: %s", path, strerror(errno));
            goto fail;
        }
        write_json(f, &b, date, secs, ext);
        fclose(f);
        snprintf(path, sizeof path, "%s/bench.md", out);
        f = fopen(path, "w");
        if (!f) {
            st = medcl_fail(MEDCL_ERR_IO, "%s: %s", path, strerror(errno));
            goto fail;
        }
        write_md(f, &b, date);
        fclose(f);
        if (json) write_json(stdout, &b, date, secs, ext);
        else write_md(stdout, &b, date);
        fprintf(stderr, "medcl bench: %.1f s; wrote %s/bench.json and %s/bench.md\n", secs, out, out);
    }
    goto done;
fail:
    rc = cli_report("bench", st);
done:
    medcl_context_destroy(b.ctx);
    return rc;
}
