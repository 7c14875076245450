/* src/eval/metrics_common.c — argument checks and small numeric helpers shared by the
 * host-side metrics: (D, H, W) shape and spacing validation, numpy's linear percentile.
 * No metric is defined here. */
#include "eval/metrics_internal.h"

#include <math.h>
#include <stdint.h>

medcl_status medcl_metrics_check_shape(const char *fn, const int64_t shape[3], int64_t *count)
{
    if (!shape) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: shape is NULL", fn);
    int64_t n = 1;
    for (int a = 0; a < 3; a++) {
        if (shape[a] < 1)
            return medcl_fail(MEDCL_ERR_SHAPE, "%s: shape[%d]=%lld must be >= 1 (shape is D, H, W)",
                              fn, a, (long long)shape[a]);
        if (!medcl_mul_i64(n, shape[a], &n) || (uint64_t)n > SIZE_MAX / sizeof(double))
            return medcl_fail(MEDCL_ERR_SHAPE, "%s: shape %lldx%lldx%lld is too large", fn,
                              (long long)shape[0], (long long)shape[1], (long long)shape[2]);
    }
    *count = n;
    return MEDCL_OK;
}

medcl_status medcl_metrics_check_spacing(const char *fn, const double spacing[3])
{
    if (!spacing)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: spacing is NULL (surface metrics are in mm)", fn);
    for (int a = 0; a < 3; a++)
        if (!isfinite(spacing[a]) || !(spacing[a] > 0.0))
            return medcl_fail(MEDCL_ERR_INVALID_ARG,
                              "%s: spacing[%d]=%g must be finite and > 0 (mm, order D, H, W)", fn,
                              a, spacing[a]);
    return MEDCL_OK;
}

/* numpy's default ('linear'): h = (n-1) q/100, lerp between the neighbours, written as
 * numpy's _lerp (from the upper side when the weight is >= 0.5) for the same rounding. */
double medcl_percentile_sorted(const double *x, int64_t n, double q)
{
    if (n == 1) return x[0];
    double h = (double)(n - 1) * (q / 100.0);
    int64_t lo = (int64_t)floor(h);
    if (lo < 0) lo = 0;
    if (lo >= n - 1) return x[n - 1];
    double t = h - (double)lo, a = x[lo], b = x[lo + 1];
    if (isinf(a) || isinf(b)) return t == 0.0 ? a : (t == 1.0 ? b : (a > b ? a : b));
    double diff = b - a;
    return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

int medcl_cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}
