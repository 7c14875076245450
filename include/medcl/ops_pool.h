/* medcl/ops_pool.h — pooling (max, average, global average) and up-sampling (nearest,
 * linear/bilinear/trilinear), forward and backward, on f32 NCDHW tensors. 4-D tensors
 * (N, C, H, W) are taken as D = 1; for them the D entries of the parameter structs are
 * ignored. Not here: dilation, ceil_mode, adaptive pooling other than global average,
 * bicubic and area up-sampling. Backward kernels gather (no atomics), so results are
 * bitwise reproducible on a device. */
#ifndef MEDCL_OPS_POOL_H
#define MEDCL_OPS_POOL_H

#include "medcl/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- pooling ---- */

typedef enum medcl_pool_mode {
    MEDCL_POOL_MAX = 0,
    MEDCL_POOL_AVG = 1,
    MEDCL_POOL_MODE_COUNT
} medcl_pool_mode;

/* Per-axis entries are (D, H, W). Output extent per axis:
 * floor((in + 2 * pad - kernel) / stride) + 1, which must be >= 1; pad <= kernel / 2 (as
 * PyTorch). stride 0 means stride = kernel. */
typedef struct medcl_pool_params {
    size_t size;            /* sizeof(medcl_pool_params) */
    medcl_pool_mode mode;
    int kernel[3];          /* window (kD, kH, kW), each >= 1 */
    int stride[3];          /* 0: same as kernel */
    int pad[3];             /* implicit padding on both sides; max pooling pads with -inf */
    int count_include_pad;  /* average: divide by the window size including padding
                               (1, PyTorch default) or by the number of real elements (0) */
} medcl_pool_params;
#define MEDCL_POOL_PARAMS_INIT {sizeof(medcl_pool_params), MEDCL_POOL_MAX, {2, 2, 2}, {0, 0, 0}, {0, 0, 0}, 1}

/* Output shape for an input of ndim (4 or 5) extents; out gets ndim extents. */
MEDCL_API medcl_status medcl_pool_output_shape(const medcl_pool_params *p, int ndim,
                                               const int64_t *in_shape, int64_t *out_shape);

/* Max: y = window maximum; the first maximum in (d, h, w) scan order wins, a NaN replaces the
 * running maximum (as PyTorch). argmax, optional, gets the winner's index d * H * W + h * W + w
 * within its (n, c) plane (pass NULL for average pooling or when not needed).
 * Average: y = window sum / divisor. */
MEDCL_API medcl_status medcl_pool_forward(const medcl_pool_params *p,
                                          const medcl_tensor *x, /* (N, C, D, H, W) */
                                          medcl_tensor *y,       /* (N, C, Do, Ho, Wo) */
                                          medcl_tensor *argmax); /* i32 (N, C, Do, Ho, Wo) or NULL */
/* dx = gradient of the pooling (assigned). Max needs argmax from the forward, or else x to
 * recompute it; average needs neither (pass NULL). Overlapping windows add up. */
MEDCL_API medcl_status medcl_pool_backward(const medcl_pool_params *p,
                                           const medcl_tensor *x,      /* (N, C, D, H, W) or NULL */
                                           const medcl_tensor *argmax, /* i32 (N, C, Do, Ho, Wo) or NULL */
                                           const medcl_tensor *dy,     /* (N, C, Do, Ho, Wo) */
                                           medcl_tensor *dx);          /* (N, C, D, H, W) */

/* Global average pooling: y[n, c] = mean over D, H, W (fixed-order tree per plane). y has
 * N * C elements (e.g. (N, C, 1, 1, 1) or (N, C)). Backward: dx = dy[n, c] / (D * H * W). */
MEDCL_API medcl_status medcl_global_avg_pool_forward(const medcl_tensor *x, /* (N, C, D, H, W) */
                                                     medcl_tensor *y);      /* (N, C, 1, 1, 1) */
MEDCL_API medcl_status medcl_global_avg_pool_backward(const medcl_tensor *dy, /* (N, C, 1, 1, 1) */
                                                      medcl_tensor *dx);      /* (N, C, D, H, W) */

/* ---- up-sampling (and resizing down) ---- */

typedef enum medcl_upsample_mode {
    MEDCL_UPSAMPLE_NEAREST = 0, /* PyTorch 'nearest': src = min(floor(dst * scale), in - 1) */
    MEDCL_UPSAMPLE_LINEAR = 1,  /* linear per axis: bilinear in 2D, trilinear in 3D */
    MEDCL_UPSAMPLE_MODE_COUNT
} medcl_upsample_mode;

/* The output extents come from the output tensor. scale[a] > 0 is the user's scale factor
 * for axis a (D, H, W) as in torch.nn.functional.interpolate(scale_factor=...): the output
 * extent must then be floor(in * scale) and the index rule uses 1 / scale, exactly as PyTorch
 * does; scale[a] = 0 takes the ratio in / out from the sizes (interpolate(size=...)).
 * align_corners applies to LINEAR only (PyTorch default false). */
typedef struct medcl_upsample_params {
    size_t size;           /* sizeof(medcl_upsample_params) */
    medcl_upsample_mode mode;
    double scale[3];       /* (D, H, W); 0: from the sizes */
    int align_corners;     /* 0 (default) or 1 */
} medcl_upsample_params;
#define MEDCL_UPSAMPLE_PARAMS_INIT {sizeof(medcl_upsample_params), MEDCL_UPSAMPLE_NEAREST, {0, 0, 0}, 0}

/* Output shape from scale factors (each used scale[a] must be > 0). */
MEDCL_API medcl_status medcl_upsample_output_shape(const medcl_upsample_params *p, int ndim,
                                                   const int64_t *in_shape, int64_t *out_shape);
MEDCL_API medcl_status medcl_upsample_forward(const medcl_upsample_params *p,
                                              const medcl_tensor *x, /* (N, C, D, H, W) */
                                              medcl_tensor *y);      /* (N, C, Do, Ho, Wo) */
/* dx (assigned) = sum over the outputs each input element contributed to, weighted. */
MEDCL_API medcl_status medcl_upsample_backward(const medcl_upsample_params *p,
                                               const medcl_tensor *dy, /* (N, C, Do, Ho, Wo) */
                                               medcl_tensor *dx);      /* (N, C, D, H, W) */

#ifdef __cplusplus
}
#endif
#endif
