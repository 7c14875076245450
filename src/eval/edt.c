/* src/eval/edt.c — exact Euclidean distance transform with per-axis spacing, by the
 * separable lower-envelope-of-parabolas algorithm of Felzenszwalb & Huttenlocher ("Distance
 * Transforms of Sampled Functions", Theory of Computing 8, 2012): one O(n) pass per axis,
 * axes in the order D, H, W so the squared distance accumulates as scipy's
 * distance_transform_edt sums it ((Δd·sd)² + (Δh·sh)²) + (Δw·sw)². Used by the surface
 * metrics (REFERENCE.md "Exact EDT"). Leaves out feature (index) transforms and other
 * metrics (chessboard, taxicab). */
#include "eval/metrics_internal.h"

#include <math.h>
#include <stdlib.h>

/* One line: f[0..n-1] (sampled every s mm) → d[i] = min_q f[q] + ((i − q) s)². Sites with
 * f = +inf never enter the envelope; a line without any finite site stays +inf. */
static void edt_line(const double *f, double *d, int64_t n, double s, int64_t *v, double *z)
{
    int64_t k = -1;
    for (int64_t q = 0; q < n; q++) {
        if (isinf(f[q])) continue;
        double fq = f[q] + ((double)q * s) * ((double)q * s);
        while (k >= 0) {
            int64_t p = v[k];
            double fp = f[p] + ((double)p * s) * ((double)p * s);
            double x = (fq - fp) / (2.0 * s * (double)(q - p)); /* parabola crossing, mm */
            if (x <= z[k]) {
                k--;
                continue;
            }
            k++;
            v[k] = q;
            z[k] = x;
            break;
        }
        if (k < 0) {
            k = 0;
            v[0] = q;
            z[0] = -INFINITY;
        }
    }
    if (k < 0) {
        for (int64_t i = 0; i < n; i++) d[i] = INFINITY;
        return;
    }
    int64_t j = 0;
    for (int64_t i = 0; i < n; i++) {
        double xi = (double)i * s;
        while (j < k && z[j + 1] < xi) j++;
        double dd = (double)(i - v[j]) * s;
        d[i] = f[v[j]] + dd * dd;
    }
}

medcl_status medcl_edt_squared(double *f, const int64_t shape[3], const double spacing[3])
{
    medcl_status st = MEDCL_OK;
    int64_t nmax = shape[0] > shape[1] ? shape[0] : shape[1];
    if (shape[2] > nmax) nmax = shape[2];
    int64_t *v = malloc((size_t)nmax * sizeof(*v));
    double *z = malloc((size_t)nmax * sizeof(*z));
    double *line = malloc((size_t)nmax * sizeof(*line));
    double *out = malloc((size_t)nmax * sizeof(*out));
    if (!v || !z || !line || !out)
        MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "edt: work buffers for a line of %lld voxels",
                   (long long)nmax);
    const int64_t D = shape[0], H = shape[1], W = shape[2];
    const int64_t stride[3] = {H * W, W, 1};
    for (int axis = 0; axis < 3; axis++) {
        int64_t n = shape[axis];
        if (n == 1) continue;
        /* every line along `axis`: iterate the other two coordinates */
        int64_t outer = axis == 0 ? H * W : (axis == 1 ? D * W : D * H);
        for (int64_t o = 0; o < outer; o++) {
            int64_t base;
            if (axis == 0) base = o;                              /* (h, w) */
            else if (axis == 1) base = (o / W) * H * W + (o % W); /* (d, w) */
            else base = o * W;                                    /* (d, h) */
            for (int64_t i = 0; i < n; i++) line[i] = f[base + i * stride[axis]];
            edt_line(line, out, n, spacing[axis], v, z);
            for (int64_t i = 0; i < n; i++) f[base + i * stride[axis]] = out[i];
        }
    }
cleanup:
    free(v);
    free(z);
    free(line);
    free(out);
    return st;
}

MEDCL_API medcl_status medcl_edt_compute(const uint8_t *feature, const int64_t shape[3],
                                         const double spacing[3], double *dist)
{
    int64_t n = 0;
    medcl_status st = medcl_metrics_check_shape("medcl_edt_compute", shape, &n);
    if (st != MEDCL_OK) return st;
    st = medcl_metrics_check_spacing("medcl_edt_compute", spacing);
    if (st != MEDCL_OK) return st;
    if (!feature) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_edt_compute: feature is NULL");
    if (!dist) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_edt_compute: dist is NULL");
    for (int64_t i = 0; i < n; i++) dist[i] = feature[i] ? 0.0 : INFINITY;
    st = medcl_edt_squared(dist, shape, spacing);
    if (st != MEDCL_OK) return st;
    for (int64_t i = 0; i < n; i++) dist[i] = sqrt(dist[i]);
    return MEDCL_OK;
}
