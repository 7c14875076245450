/* src/eval/metrics_internal.h — helpers shared by the host-side metric files of the eval
 * layer: argument checks for shapes and spacings, the squared-distance EDT on doubles, the
 * numpy-style linear percentile and the DeepMind surfel normals table. Not installed. */
#ifndef MEDCL_EVAL_METRICS_INTERNAL_H
#define MEDCL_EVAL_METRICS_INTERNAL_H

#include "core/internal.h"
#include "medcl/metrics.h"

/* Checks a (D, H, W) shape (each >= 1, product fits int64 and size_t) and writes the voxel
 * count; fn names the calling function in the message. */
medcl_status medcl_metrics_check_shape(const char *fn, const int64_t shape[3], int64_t *count);
/* Checks spacing: non-NULL, each entry finite and > 0. */
medcl_status medcl_metrics_check_spacing(const char *fn, const double spacing[3]);

/* In-place squared EDT: f holds 0 on feature voxels and +inf elsewhere on a (D, H, W) grid;
 * on return f[i] is the squared distance in mm² to the nearest feature voxel. Axes with
 * extent 1 are skipped. Work buffers are allocated inside. */
medcl_status medcl_edt_squared(double *f, const int64_t shape[3], const double spacing[3]);

/* numpy.percentile(x, q) with linear interpolation of sorted x[0..n-1] (n >= 1). */
double medcl_percentile_sorted(const double *x, int64_t n, double q);
/* qsort comparator for doubles (NaN not expected). */
int medcl_cmp_double(const void *a, const void *b);

/* DeepMind's 2x2x2 code → triangle normals (in eighths), see metrics_surfel_table.c. */
typedef struct medcl_surfel_code {
    int n;              /* number of triangles */
    int8_t v[4][3];     /* normal of each triangle, components × 8 */
} medcl_surfel_code;
extern const medcl_surfel_code medcl_surfel_normals[256];

#endif
