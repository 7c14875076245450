/* tests/ref/ref_pool.h — float64 references for max/average/global-average pooling, forward
 * and backward (naive loops, NCDHW, 2D as D = 1). Not here: dilation, ceil_mode. */
#ifndef MEDCL_REF_POOL_H
#define MEDCL_REF_POOL_H
#include <stdint.h>

typedef struct ref_pool_geom {
    int64_t N, C, D, H, W;     /* input */
    int k[3], s[3], p[3];      /* (D, H, W) kernel, stride, pad */
    int64_t Do, Ho, Wo;        /* output: set by ref_pool_geom_finish */
} ref_pool_geom;

/* Output extents floor((in + 2p - k) / s) + 1. */
void ref_pool_geom_finish(ref_pool_geom *g);
/* argmax (may be NULL) gets d*H*W + h*W + w in the plane; first maximum in scan order, NaN wins. */
void ref_maxpool_forward(const ref_pool_geom *g, const double *x, double *y, int32_t *argmax);
/* dx = sum of dy over windows whose argmax is the element (argmax from ref_maxpool_forward). */
void ref_maxpool_backward(const ref_pool_geom *g, const int32_t *argmax, const double *dy, double *dx);
void ref_avgpool_forward(const ref_pool_geom *g, int include_pad, const double *x, double *y);
void ref_avgpool_backward(const ref_pool_geom *g, int include_pad, const double *dy, double *dx);
/* planes of n elements */
void ref_global_avg_forward(int64_t planes, int64_t n, const double *x, double *y);
void ref_global_avg_backward(int64_t planes, int64_t n, const double *dy, double *dx);
#endif
