/* tests/ref/ref_concat.h — float64 references of concat and slice along channels of (N, C, S). */
#ifndef MEDCL_REF_CONCAT_H
#define MEDCL_REF_CONCAT_H
#include <stdint.h>

/* y (N, sum cs[i], S) = cat(xs[i] (N, cs[i], S)) */
void ref_concat_forward(const double *const *xs, const int64_t *cs, int count, int64_t N,
                        int64_t S, double *y);
/* dxs[i] = dy[:, c_i : c_i + cs[i]] (assigned) */
void ref_concat_backward(const double *dy, const int64_t *cs, int count, int64_t N, int64_t S,
                         double *const *dxs);
/* y (N, cy, S) = x (N, C, S)[:, start : start + cy]; backward assigns all of dx (zeros
 * outside the slice). */
void ref_slice_forward(const double *x, int64_t N, int64_t C, int64_t S, int64_t start, int64_t cy,
                       double *y);
void ref_slice_backward(const double *dy, int64_t N, int64_t C, int64_t S, int64_t start,
                        int64_t cy, double *dx);
#endif
