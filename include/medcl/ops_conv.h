/* medcl/ops_conv.h — convolution and transposed convolution, 2D and 3D, f32, NCDHW.
 * 2D is D = 1: tensors may be 4-D (N, C, H, W) with kernel[0] = 1 (and stride, pad, dilation
 * along D left at 1, 0, 1). Forward has a fused bias + activation epilogue; backward-data
 * assigns, backward-weight accumulates (+=) into dw and db. Backward ops take the gradient
 * with respect to the convolution's output before its activation: a fused activation's own
 * gradient belongs to the activation op. Leaves out: padding modes other than zeros, other
 * dtypes, and algorithm choice by measurement (tiles come from a per-device table). */
#ifndef MEDCL_OPS_CONV_H
#define MEDCL_OPS_CONV_H

#include "medcl/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Axes of kernel/stride/pad/dilation/output_pad are (D, H, W). */
typedef struct medcl_conv_params {
    size_t size;                  /* sizeof(medcl_conv_params) */
    int kernel[3];                /* 1..7 each */
    int stride[3];                /* >= 1 */
    int pad[3];                   /* zero padding on both sides, >= 0 */
    int dilation[3];              /* >= 1 */
    int output_pad[3];            /* transposed convolution only: 0 <= op < max(stride, dilation) */
    int groups;                   /* Cin and Cout divisible by groups */
    medcl_activation activation;  /* forward epilogue: y = act(conv + bias) */
    float slope;                  /* LEAKY_RELU negative slope */
} medcl_conv_params;
#define MEDCL_CONV_PARAMS_INIT                                                             \
    {sizeof(medcl_conv_params), {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, {0, 0, 0}, 1,  \
     MEDCL_ACT_NONE, 0.01f}

/* Output shape of a convolution of x (ndim 4 or 5, (N, Cin, [D,] H, W)) into cout channels:
 * out = (in + 2 pad - dilation (kernel - 1) - 1) / stride + 1 per axis; y_shape gets ndim
 * entries. MEDCL_ERR_SHAPE / INVALID_ARG naming the field when the result would be < 1. */
MEDCL_API medcl_status medcl_conv_output_shape(const medcl_conv_params *p, int ndim,
                                               const int64_t *x_shape, int64_t cout,
                                               int64_t *y_shape);
/* Transposed: out = (in - 1) stride - 2 pad + dilation (kernel - 1) + output_pad + 1. */
MEDCL_API medcl_status medcl_conv_transpose_output_shape(const medcl_conv_params *p, int ndim,
                                                         const int64_t *x_shape, int64_t cout,
                                                         int64_t *y_shape);

/* y = act(conv(x, w) + b). b may be NULL. */
MEDCL_API medcl_status medcl_conv_forward(const medcl_tensor *x,  /* (N, Cin, D, H, W) */
                                          const medcl_tensor *w,  /* (Cout, Cin/g, kD, kH, kW) */
                                          const medcl_tensor *b,  /* (Cout) or NULL */
                                          medcl_tensor *y,        /* (N, Cout, Do, Ho, Wo) */
                                          const medcl_conv_params *p);
/* dx = conv^T(dy, w) (assigns). */
MEDCL_API medcl_status medcl_conv_backward_data(const medcl_tensor *dy, /* (N, Cout, Do, Ho, Wo) */
                                                const medcl_tensor *w,  /* (Cout, Cin/g, k...) */
                                                medcl_tensor *dx,       /* (N, Cin, D, H, W) */
                                                const medcl_conv_params *p);
/* dw += dL/dw, db += sum of dy over N and space (db may be NULL). Deterministic: the
 * reduction over N and space is split into a fixed number of chunks summed in fixed order. */
MEDCL_API medcl_status medcl_conv_backward_weight(const medcl_tensor *x,  /* (N, Cin, D, H, W) */
                                                  const medcl_tensor *dy, /* (N, Cout, Do, Ho, Wo) */
                                                  medcl_tensor *dw,       /* (Cout, Cin/g, k...) */
                                                  medcl_tensor *db,       /* (Cout) or NULL */
                                                  const medcl_conv_params *p);

/* Transposed convolution (as torch.nn.ConvTranspose3d): weight (Cin, Cout/g, kD, kH, kW).
 * Its forward is the convolution's backward-data (plus bias and activation), its
 * backward-data the convolution's forward, its weight gradient the same kernel with the
 * roles of x and dy exchanged. */
MEDCL_API medcl_status medcl_conv_transpose_forward(const medcl_tensor *x, /* (N, Cin, D, H, W) */
                                                    const medcl_tensor *w, /* (Cin, Cout/g, k...) */
                                                    const medcl_tensor *b, /* (Cout) or NULL */
                                                    medcl_tensor *y,       /* (N, Cout, Do, Ho, Wo) */
                                                    const medcl_conv_params *p);
MEDCL_API medcl_status medcl_conv_transpose_backward_data(const medcl_tensor *dy, /* y's shape */
                                                          const medcl_tensor *w,
                                                          medcl_tensor *dx,       /* x's shape */
                                                          const medcl_conv_params *p);
MEDCL_API medcl_status medcl_conv_transpose_backward_weight(const medcl_tensor *x,
                                                            const medcl_tensor *dy,
                                                            medcl_tensor *dw, /* += */
                                                            medcl_tensor *db, /* += or NULL */
                                                            const medcl_conv_params *p);

#ifdef __cplusplus
}
#endif
#endif
