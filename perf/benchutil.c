/* perf/benchutil.c — timing statistics, the device line and JSON output for the benchmarks
 * (perf/benchutil.h). */
#include "benchutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "medcl/medcl_cl.h"


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
        double t0 = medcl_now();
        if (!fn(user) || medcl_context_finish(ctx) != MEDCL_OK) {
            free(t);
            return false;
        }
        t[i] = medcl_now() - t0;
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
