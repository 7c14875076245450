/* tests/ref/ref_upsample.h — float64 references for nearest and linear resizing (PyTorch
 * index rules, indices and weights computed in float as PyTorch's CPU kernels do; the
 * weighted sums in double). Backward in scatter form. Not here: bicubic, area. */
#ifndef MEDCL_REF_UPSAMPLE_H
#define MEDCL_REF_UPSAMPLE_H
#include <stdint.h>

typedef struct ref_upsample_cfg {
    int linear;              /* 0 nearest, 1 linear */
    int align_corners;
    int64_t N, C, D, H, W;   /* input */
    int64_t Do, Ho, Wo;      /* output */
    double scale[3];         /* user scale factors (0: from sizes) */
} ref_upsample_cfg;

void ref_upsample_forward(const ref_upsample_cfg *c, const double *x, double *y);
void ref_upsample_backward(const ref_upsample_cfg *c, const double *dy, double *dx);
#endif
