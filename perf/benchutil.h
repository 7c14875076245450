/* perf/benchutil.h — helpers shared by the benchmarks: median and spread of repeated
 * timings, the device line every figure carries and a small JSON writer (the clock and the FMA
 * peak come from the library: medcl_now, medcl_device_fma_peak). No timing policy: each bench decides warm-up and run counts. */
#ifndef MEDCL_BENCHUTIL_H
#define MEDCL_BENCHUTIL_H
#include <stdbool.h>
#include <stdio.h>

#include "medcl/medcl.h"

typedef struct bu_stats {
    int n;
    double median, min, max;
    double spread; /* (max - min) / median */
} bu_stats;
/* Sorts t in place and summarizes it. */
bu_stats bu_summarize(double *t, int n);

/* Times fn(user) runs times after warmup calls, each followed by medcl_context_finish
 * (clFinish + monotonic clock). Returns false (and leaves *out zeroed) when fn fails. */
typedef bool (*bu_fn)(void *user);
bool bu_time(medcl_context *ctx, bu_fn fn, void *user, int warmup, int runs, bu_stats *out);

/* "device: NAME | driver DRIVER | OpenCL VERSION | medcl X.Y.Z | DATE" */
void bu_print_device(FILE *f, medcl_context *ctx);
/* Today's date as YYYY-MM-DD (static buffer). */
const char *bu_date(void);

/* Minimal JSON writer: one object with device fields and an array of flat result objects.
 *   bu_json_begin(f, ctx, "conv"); bu_json_row_begin(f); bu_json_str(f, "op", "fwd");
 *   bu_json_num(f, "ms", 1.5); bu_json_row_end(f); ... bu_json_end(f);
 * Extra top-level fields go between begin and the first row with bu_json_top_num. */
void bu_json_begin(FILE *f, medcl_context *ctx, const char *bench);
void bu_json_top_num(FILE *f, const char *key, double v);
void bu_json_row_begin(FILE *f);
void bu_json_str(FILE *f, const char *key, const char *v);
void bu_json_num(FILE *f, const char *key, double v);
void bu_json_row_end(FILE *f);
void bu_json_end(FILE *f);
#endif
