/* perf/benchutil.c — timing, statistics, device line, FMA peak microbenchmark and JSON output
 * for the benchmarks (perf/benchutil.h). */
#include "benchutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "medcl/medcl_cl.h"

double bu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

bu_stats bu_summarize(double *t, int n) {
    bu_stats s = {0};
    if (n <= 0) return s;
    qsort(t, (size_t)n, sizeof *t, cmp_d);
    s.n = n;
    s.min = t[0];
    s.max = t[n - 1];
    s.median = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    s.spread = s.median > 0 ? (s.max - s.min) / s.median : 0;
    return s;
}

bool bu_time(medcl_context *ctx, bu_fn fn, void *user, int warmup, int runs, bu_stats *out) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < warmup; i++)
        if (!fn(user) || medcl_context_finish(ctx) != MEDCL_OK) return false;
    double *t = malloc((size_t)(runs > 0 ? runs : 1) * sizeof *t);
    if (!t) return false;
    for (int i = 0; i < runs; i++) {
        double t0 = bu_now();
        if (!fn(user) || medcl_context_finish(ctx) != MEDCL_OK) {
            free(t);
            return false;
        }
        t[i] = bu_now() - t0;
    }
    *out = bu_summarize(t, runs);
    free(t);
    return true;
}

const char *bu_date(void) {
    static char buf[16];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

void bu_print_device(FILE *f, medcl_context *ctx) {
    const medcl_device_info *d = medcl_context_device(ctx);
    fprintf(f, "device: %s | driver %s | %s | medcl %s | %s\n", d->name, d->driver, d->version,
            medcl_version(), bu_date());
}

static const char *fma_src =
    "#define CAT_(a, b) a##b\n"
    "#define CAT(a, b) CAT_(a, b)\n"
    "kernel void fma_peak(global float *out, int iters, float a, float b) {\n"
    "  CAT(float, V) x0 = (CAT(float, V))(get_global_id(0) * 1e-7f), x1 = x0 + 0.1f, x2 = x0 + 0.2f;\n"
    "  CAT(float, V) x3 = x0 + 0.3f, x4 = x0 + 0.4f, x5 = x0 + 0.5f, x6 = x0 + 0.6f, x7 = x0 + 0.7f;\n"
    "  for (int i = 0; i < iters; i++) {\n"
    "    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);\n"
    "    x4 = fma(x4, a, b); x5 = fma(x5, a, b); x6 = fma(x6, a, b); x7 = fma(x7, a, b);\n"
    "  }\n"
    "  CAT(float, V) s = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7;\n"
    "  float r = 0.0f;\n"
    "  for (int i = 0; i < V; i++) r += ((float *)&s)[i]; /* every lane is live */\n"
    "  out[get_global_id(0)] = r;\n"
    "}\n";

double bu_fma_peak_gflops(medcl_context *ctx) {
    cl_context cl = medcl_context_cl_context(ctx);
    cl_device_id dev = medcl_context_cl_device(ctx);
    cl_command_queue q = medcl_context_cl_queue(ctx);
    const medcl_device_info *info = medcl_context_device(ctx);
    cl_int err;
    double best = 0;
    cl_program p = clCreateProgramWithSource(cl, 1, &fma_src, NULL, &err);
    if (err != CL_SUCCESS) return 0;
    cl_kernel k = NULL;
    cl_mem out = NULL;
    /* explicit vectors: 16 lanes fill an AVX-512 register on CPUs; GPUs run lanes as scalars */
    int lanes = info->type == MEDCL_DEVICE_TYPE_CPU ? 16 : 4;
    char opts[32];
    snprintf(opts, sizeof opts, "-DV=%d", lanes);
    if (clBuildProgram(p, 1, &dev, opts, NULL, NULL) != CL_SUCCESS) goto done;
    k = clCreateKernel(p, "fma_peak", &err);
    if (err != CL_SUCCESS) goto done;
    size_t local = 64, global = (size_t)info->compute_units * 64 * 64;
    if (info->type == MEDCL_DEVICE_TYPE_CPU) global = (size_t)info->compute_units * 1024;
    out = clCreateBuffer(cl, CL_MEM_WRITE_ONLY, global * sizeof(float), NULL, &err);
    if (err != CL_SUCCESS) goto done;
    cl_int iters = info->type == MEDCL_DEVICE_TYPE_CPU ? 20000 : 100000;
    cl_float a = 0.999999f, b = 1e-6f;
    clSetKernelArg(k, 0, sizeof out, &out);
    clSetKernelArg(k, 1, sizeof iters, &iters);
    clSetKernelArg(k, 2, sizeof a, &a);
    clSetKernelArg(k, 3, sizeof b, &b);
    for (int r = 0; r < 4; r++) {
        double t0 = bu_now();
        if (clEnqueueNDRangeKernel(q, k, 1, NULL, &global, &local, 0, NULL, NULL) != CL_SUCCESS) break;
        clFinish(q);
        double t = bu_now() - t0;
        double g = 2.0 * 8.0 * lanes * (double)iters * (double)global / t * 1e-9;
        if (r > 0 && g > best) best = g; /* the first run is the warm-up */
    }
done:
    if (out) clReleaseMemObject(out);
    if (k) clReleaseKernel(k);
    clReleaseProgram(p);
    return best;
}

/* ---- JSON ---- */
static int json_rows, json_fields;

static void json_escape(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

void bu_json_begin(FILE *f, medcl_context *ctx, const char *bench) {
    const medcl_device_info *d = medcl_context_device(ctx);
    fprintf(f, "{\"bench\": ");
    json_escape(f, bench);
    fprintf(f, ", \"device\": ");
    json_escape(f, d->name);
    fprintf(f, ", \"platform\": ");
    json_escape(f, d->platform);
    fprintf(f, ", \"driver\": ");
    json_escape(f, d->driver);
    fprintf(f, ", \"medcl\": ");
    json_escape(f, medcl_version());
    fprintf(f, ", \"date\": ");
    json_escape(f, bu_date());
    json_rows = 0;
}

void bu_json_top_num(FILE *f, const char *key, double v) {
    fprintf(f, ", ");
    json_escape(f, key);
    fprintf(f, isfinite(v) ? ": %.6g" : ": null", v);
}

void bu_json_row_begin(FILE *f) {
    fprintf(f, json_rows++ ? ",\n  {" : ", \"results\": [\n  {");
    json_fields = 0;
}

void bu_json_str(FILE *f, const char *key, const char *v) {
    fprintf(f, json_fields++ ? ", " : "");
    json_escape(f, key);
    fprintf(f, ": ");
    json_escape(f, v);
}

void bu_json_num(FILE *f, const char *key, double v) {
    fprintf(f, json_fields++ ? ", " : "");
    json_escape(f, key);
    fprintf(f, isfinite(v) ? ": %.6g" : ": null", v);
}

void bu_json_row_end(FILE *f) { fprintf(f, "}"); }

void bu_json_end(FILE *f) { fprintf(f, json_rows ? "\n]}\n" : ", \"results\": []}\n"); }
