/* medcl/ops.h — device operations. This header holds the elementwise ops, reductions and
 * random fills; each op family with a forward/backward pair has its own header included
 * at the end (conv, pool, norm, activation, loss, ...). All ops enqueue on the context's
 * compute queue and return without waiting; tensors must be f32 unless stated. */
#ifndef MEDCL_OPS_H
#define MEDCL_OPS_H

#include "medcl/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Activations, shared by the activation ops and the fused epilogues of convolution. */
typedef enum medcl_activation {
    MEDCL_ACT_NONE = 0,
    MEDCL_ACT_RELU = 1,
    MEDCL_ACT_LEAKY_RELU = 2, /* slope in the op's parameter struct (nnU-Net: 0.01) */
    MEDCL_ACT_SIGMOID = 3,
    MEDCL_ACT_TANH = 4,
    MEDCL_ACT_GELU = 5,       /* exact (erf) form, as torch.nn.GELU() */
    MEDCL_ACT_COUNT
} medcl_activation;

/* y = value for every element (f32 through a kernel; other dtypes: medcl_tensor_fill). */
MEDCL_API medcl_status medcl_fill(medcl_tensor *y, float value);
/* y = x (same element count). */
MEDCL_API medcl_status medcl_copy(medcl_tensor *y, const medcl_tensor *x);
/* y = a + b, y = a * b (same element count; y may alias a or b). */
MEDCL_API medcl_status medcl_add(const medcl_tensor *a, const medcl_tensor *b, medcl_tensor *y);
MEDCL_API medcl_status medcl_mul(const medcl_tensor *a, const medcl_tensor *b, medcl_tensor *y);
/* Label maps: integral f32 x (N, C, D, H, W) → i32 y (N, C, Do, Ho, Wo) with Do <= D, ...,
 * by nearest down-sampling with the floor rule (source z * D / Do, PyTorch 'nearest'); equal
 * sizes are a plain cast. Used to turn augmented labels into loss targets on the device. */
MEDCL_API medcl_status medcl_labels_to_i32(const medcl_tensor *x, medcl_tensor *y);
/* Nearest down-sampling by integer factors (per D, H, W): y[n, c, z, y, x] =
 * x[n, c, z*f0 + o0, y*f1 + o1, x*f2 + o2] with 0 <= o < f; x and y of one dtype (f32, i32 or
 * u8). nnU-Net's deep-supervision targets are o = f / 2 ('nearest-exact'), PyTorch 'nearest'
 * o = 0. */
MEDCL_API medcl_status medcl_downsample_pick(const medcl_tensor *x, medcl_tensor *y, const int factor[3],
                                             const int offset[3]);
/* y = alpha * x */
MEDCL_API medcl_status medcl_scale(const medcl_tensor *x, float alpha, medcl_tensor *y);
/* y += alpha * x */
MEDCL_API medcl_status medcl_axpy(float alpha, const medcl_tensor *x, medcl_tensor *y);

/* Full reductions into a 1-element f32 tensor y (deterministic fixed-order trees).
 * mean = sum / n; max and min propagate NaN. */
MEDCL_API medcl_status medcl_reduce_sum(const medcl_tensor *x, medcl_tensor *y);
MEDCL_API medcl_status medcl_reduce_mean(const medcl_tensor *x, medcl_tensor *y);
MEDCL_API medcl_status medcl_reduce_max(const medcl_tensor *x, medcl_tensor *y);
MEDCL_API medcl_status medcl_reduce_min(const medcl_tensor *x, medcl_tensor *y);
/* Number of NaN and +-Inf elements of x into a 1-element i32 tensor y. */
MEDCL_API medcl_status medcl_count_nonfinite(const medcl_tensor *x, medcl_tensor *y);

typedef enum medcl_reduce_op {
    MEDCL_REDUCE_SUM = 0,
    MEDCL_REDUCE_MEAN = 1,
    MEDCL_REDUCE_MAX = 2,
    MEDCL_REDUCE_MIN = 3,
    MEDCL_REDUCE_NONFINITE = 4,
    MEDCL_REDUCE_OP_COUNT
} medcl_reduce_op;
/* Convenience: the reduction read back to the host (waits). */
MEDCL_API medcl_status medcl_reduce_to_host(const medcl_tensor *x, medcl_reduce_op op,
                                            double *out);

/* Philox fills, identical bit for bit to medcl_philox_fill_uniform / _normal on the host:
 * element i from draw i of (seed, stream, c2, c3). uniform: lo + (hi - lo) * u, u in (0, 1]
 * (exactly u when lo = 0, hi = 1); normal: mean + std * z (exactly z for 0, 1). */
MEDCL_API medcl_status medcl_random_uniform(medcl_tensor *y, uint64_t seed, uint32_t stream,
                                            uint32_t c2, uint32_t c3, float lo, float hi);
MEDCL_API medcl_status medcl_random_normal(medcl_tensor *y, uint64_t seed, uint32_t stream,
                                           uint32_t c2, uint32_t c3, float mean, float std);

/* Every program variant the library's ops use on this context's device (for kernel bundles).
 * *out is malloc'd (strings are static or owned by the library); free(*out). */
MEDCL_API medcl_status medcl_ops_variants(medcl_context *ctx, medcl_program_variant **out,
                                          int *count);

#ifdef __cplusplus
}
#endif

#include "medcl/ops_pool.h"
#include "medcl/ops_norm.h"
#include "medcl/ops_loss.h"
#include "medcl/ops_act.h"
#include "medcl/ops_linear.h"
#include "medcl/ops_conv.h"
#endif
