/* src/eval/bootstrap.c — percentile bootstrap confidence interval of the mean of a per-case
 * metric (REFERENCE.md "Confidence intervals": over cases, 1000 resamples by default,
 * seeded). Resampling draws come from Philox-4x32-10 (core), so an interval is the same on
 * every machine for the same seed. NaN cases are dropped before resampling (the estimate
 * is then numpy's nanmean); +inf values stay and make the affected means +inf. Leaves out
 * BCa and studentized intervals, paired/difference bootstraps and stratified resampling. */
#include "eval/metrics_internal.h"

#include <math.h>
#include <stdlib.h>

/* Philox stream of the bootstrap ("metr"), so its draws never coincide with other users'. */
#define BOOTSTRAP_STREAM 0x6d657472u

MEDCL_API medcl_status medcl_bootstrap_ci(const double *values, int64_t n,
                                          const medcl_bootstrap_options *opt, medcl_ci *out)
{
    static const char fn[] = "medcl_bootstrap_ci";
    medcl_status st = MEDCL_OK;
    double *kept = NULL, *means = NULL;
    const medcl_bootstrap_options defaults = MEDCL_BOOTSTRAP_OPTIONS_INIT;
    const medcl_bootstrap_options *o = opt ? opt : &defaults;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: out is NULL", fn);
    if (n < 0) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: n=%lld must be >= 0", fn, (long long)n);
    if (n > 0 && !values) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: values is NULL", fn);
    if (o->size < sizeof(medcl_bootstrap_options))
        return medcl_fail(MEDCL_ERR_INVALID_ARG,
                          "%s: opt->size=%zu, expected %zu (use MEDCL_BOOTSTRAP_OPTIONS_INIT)", fn,
                          o->size, sizeof(medcl_bootstrap_options));
    if (o->num_resamples < 1 || o->num_resamples > ((int64_t)1 << 32))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: opt->num_resamples=%lld must be in [1, 2^32]",
                          fn, (long long)o->num_resamples);
    if (!(o->confidence > 0.0 && o->confidence < 1.0))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: opt->confidence=%g must be in (0, 1)", fn,
                          o->confidence);
    if (n > ((int64_t)1 << 32))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: n=%lld cases exceed 2^32", fn, (long long)n);

    kept = malloc((size_t)(n ? n : 1) * sizeof(*kept));
    means = malloc((size_t)o->num_resamples * sizeof(*means));
    if (!kept || !means)
        MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: %lld cases, %lld resamples", fn, (long long)n,
                   (long long)o->num_resamples);
    int64_t m = 0;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(values[i])) continue;
        kept[m++] = values[i];
        sum += values[i];
    }
    out->num_used = m;
    out->num_ignored = n - m;
    if (m == 0) {
        out->estimate = out->lower = out->upper = NAN;
        goto cleanup;
    }
    out->estimate = sum / (double)m;
    for (int64_t b = 0; b < o->num_resamples; b++) {
        double s = 0.0;
        for (int64_t j = 0; j < m; j++) {
            uint32_t u = medcl_philox_at(o->seed, BOOTSTRAP_STREAM, (uint32_t)b,
                                         (uint32_t)((uint64_t)b >> 32), (uint64_t)j);
            int64_t k = (int64_t)(((uint64_t)u * (uint64_t)m) >> 32); /* Lemire: [0, m) */
            s += kept[k];
        }
        means[b] = s / (double)m;
    }
    qsort(means, (size_t)o->num_resamples, sizeof(*means), medcl_cmp_double);
    double alpha = 100.0 * (1.0 - o->confidence) / 2.0;
    out->lower = medcl_percentile_sorted(means, o->num_resamples, alpha);
    out->upper = medcl_percentile_sorted(means, o->num_resamples, 100.0 - alpha);
cleanup:
    free(kept);
    free(means);
    return st;
}
