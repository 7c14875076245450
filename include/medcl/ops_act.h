/* medcl/ops_act.h — pointwise and channel ops of a network, each as a forward/backward pair:
 * activations (ReLU, LeakyReLU, sigmoid, tanh, GELU) and PReLU, softmax and log-softmax over
 * channels, concat and slice along channels, add and mul with NumPy broadcasting, dropout.
 * Layout is N, C, D, H, W (any rank 1..5; "channels" is axis 1). All tensors are f32.
 * Every params pointer may be NULL, meaning the defaults of its INIT macro.
 * Convention: gradients of activations are assigned; gradients of parameters (PReLU slopes)
 * are accumulated (+=). Ops that may feed a shared gradient (slice, concat, broadcast) take
 * an `accumulate` flag: false assigns, true adds into the existing gradient.
 * Not here: fused activations inside convolution (conv's epilogue), linear (ops_linear.h). */
#ifndef MEDCL_OPS_ACT_H
#define MEDCL_OPS_ACT_H

#include "medcl/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- activations -------------------------------------------------------------------------
 * relu: max(x, 0); leaky_relu: x > 0 ? x : slope * x; sigmoid: 1 / (1 + exp(-x));
 * tanh; gelu: 0.5 x (1 + erf(x / sqrt 2)) (torch.nn.GELU(), exact form); none: identity.
 * Derivatives at the kink follow PyTorch: relu'(0) = 0, leaky_relu'(0) = slope.
 * y may alias x in the forward pass; the backward pass needs the forward input x. */
typedef struct medcl_activation_params {
    size_t size;             /* sizeof(medcl_activation_params) */
    medcl_activation act;    /* MEDCL_ACT_* */
    float slope;             /* LeakyReLU negative slope (nnU-Net: 0.01) */
} medcl_activation_params;
#define MEDCL_ACTIVATION_PARAMS_INIT {sizeof(medcl_activation_params), MEDCL_ACT_RELU, 0.01f}

/* y = act(x): same element count. */
MEDCL_API medcl_status medcl_activation_forward(const medcl_activation_params *p,
                                                const medcl_tensor *x, medcl_tensor *y);
/* dx = act'(x) * dy: all three with the same element count; dx may alias dy. */
MEDCL_API medcl_status medcl_activation_backward(const medcl_activation_params *p,
                                                 const medcl_tensor *x, const medcl_tensor *dy,
                                                 medcl_tensor *dx);

/* ---- PReLU: y = x > 0 ? x : w[c] * x, with one learnable slope per channel (w of shape (C))
 * or one shared slope (w of one element), as torch.nn.PReLU(num_parameters). x needs rank
 * >= 2 when w has C > 1 elements. */
MEDCL_API medcl_status medcl_prelu_forward(const medcl_tensor *x /* (N, C, ...) */,
                                           const medcl_tensor *w /* (C) or (1) */,
                                           medcl_tensor *y /* like x */);
/* dx = x > 0 ? dy : w[c] * dy (assigned); dw[c] += sum over n and space of (x <= 0) x dy,
 * a fixed-order reduction (bitwise reproducible). dx or dw may be NULL to skip it. */
MEDCL_API medcl_status medcl_prelu_backward(const medcl_tensor *x /* (N, C, ...) */,
                                            const medcl_tensor *w /* (C) or (1) */,
                                            const medcl_tensor *dy /* like x */,
                                            medcl_tensor *dx /* like x, or NULL */,
                                            medcl_tensor *dw /* like w, +=, or NULL */);

/* ---- softmax over channels (axis 1 of N, C, ...; rank >= 2), max-subtracted --------------- */
typedef struct medcl_softmax_params {
    size_t size;   /* sizeof(medcl_softmax_params) */
    bool log;      /* true: log-softmax, x - max - log(sum exp(x - max)) */
} medcl_softmax_params;
#define MEDCL_SOFTMAX_PARAMS_INIT {sizeof(medcl_softmax_params), false}

MEDCL_API medcl_status medcl_softmax_forward(const medcl_softmax_params *p,
                                             const medcl_tensor *x /* (N, C, ...) */,
                                             medcl_tensor *y /* like x; may alias x */);
/* From the forward output y: softmax dx = y (dy - sum_c dy y); log-softmax
 * dx = dy - exp(y) sum_c dy. dx is assigned and may alias dy. */
MEDCL_API medcl_status medcl_softmax_backward(const medcl_softmax_params *p,
                                              const medcl_tensor *y /* (N, C, ...) */,
                                              const medcl_tensor *dy /* like y */,
                                              medcl_tensor *dx /* like y */);

/* ---- concat and slice along channels (axis 1; every other extent must match) -------------- */
typedef struct medcl_concat_params {
    size_t size;       /* sizeof(medcl_concat_params) */
    bool accumulate;   /* backward: dx_i += dy slice instead of dx_i = dy slice */
} medcl_concat_params;
#define MEDCL_CONCAT_PARAMS_INIT {sizeof(medcl_concat_params), false}

/* y = cat(xs[0], ..., xs[count-1]) along channels; y's C is the sum of theirs. */
MEDCL_API medcl_status medcl_concat_forward(const medcl_concat_params *p,
                                            const medcl_tensor *const *xs /* each (N, C_i, ...) */,
                                            int count, medcl_tensor *y /* (N, sum C_i, ...) */);
/* dxs[i] = dy[:, c_i : c_i + C_i] (or +=). Every dxs[i] is required (the offsets c_i come
 * from their channel counts); a NULL entry is MEDCL_ERR_INVALID_ARG. */
MEDCL_API medcl_status medcl_concat_backward(const medcl_concat_params *p,
                                             const medcl_tensor *dy /* (N, sum C_i, ...) */,
                                             medcl_tensor *const *dxs /* each (N, C_i, ...) */,
                                             int count);

typedef struct medcl_slice_params {
    size_t size;       /* sizeof(medcl_slice_params) */
    int64_t start;     /* first channel; the count is y's C */
    bool accumulate;   /* backward: false writes all of dx (zeros outside the slice);
                        * true adds dy into dx[:, start : start + C] and leaves the rest */
} medcl_slice_params;
#define MEDCL_SLICE_PARAMS_INIT {sizeof(medcl_slice_params), 0, false}

/* y = x[:, start : start + C_y]. */
MEDCL_API medcl_status medcl_slice_forward(const medcl_slice_params *p,
                                           const medcl_tensor *x /* (N, C, ...) */,
                                           medcl_tensor *y /* (N, C_y, ...) */);
MEDCL_API medcl_status medcl_slice_backward(const medcl_slice_params *p,
                                            const medcl_tensor *dy /* (N, C_y, ...) */,
                                            medcl_tensor *dx /* (N, C, ...) */);

/* ---- add and mul with NumPy broadcasting ------------------------------------------------
 * Shapes align on the right; each extent of a and b equals y's or is 1; y's shape is exactly
 * the broadcast shape (rank = the larger rank). Example: (N, C, D, H, W) + (1, C, 1, 1, 1).
 * The gradient of a broadcast operand is the sum of the output gradient over its broadcast
 * axes, in a fixed order (bitwise reproducible). Same-shape add/mul without broadcasting
 * are medcl_add / medcl_mul in ops.h. */
typedef struct medcl_broadcast_params {
    size_t size;       /* sizeof(medcl_broadcast_params) */
    bool accumulate;   /* backward: da += ..., db += ... instead of assigning */
} medcl_broadcast_params;
#define MEDCL_BROADCAST_PARAMS_INIT {sizeof(medcl_broadcast_params), false}

/* y = a + b; y may alias an operand of y's shape. */
MEDCL_API medcl_status medcl_broadcast_add_forward(const medcl_tensor *a, const medcl_tensor *b,
                                                   medcl_tensor *y);
/* da = sum_bcast dy, db = sum_bcast dy; da or db NULL to skip. */
MEDCL_API medcl_status medcl_broadcast_add_backward(const medcl_broadcast_params *p,
                                                    const medcl_tensor *dy, medcl_tensor *da,
                                                    medcl_tensor *db);
/* y = a * b; y may alias an operand of y's shape. */
MEDCL_API medcl_status medcl_broadcast_mul_forward(const medcl_tensor *a, const medcl_tensor *b,
                                                   medcl_tensor *y);
/* da = sum_bcast dy * b, db = sum_bcast dy * a; da or db NULL to skip. */
MEDCL_API medcl_status medcl_broadcast_mul_backward(const medcl_broadcast_params *p,
                                                    const medcl_tensor *a, const medcl_tensor *b,
                                                    const medcl_tensor *dy, medcl_tensor *da,
                                                    medcl_tensor *db);

/* ---- dropout (inverted): y = keep ? x * scale : 0 with scale = (float)(1 / (1 - (double)p))
 * (0 when p = 1). The mask is never stored: the backward pass draws it again from the same
 * key. Draws: u = medcl_philox_u01(medcl_philox_at(seed, stream, step, 0, i)), keep when
 * u > p, where i is the flat element index (element-wise) or n * C + c (channel-wise: one
 * draw per sample and channel, as torch.nn.Dropout2d/3d). p = 0 and training = false are the
 * identity (y = x bit for bit). */
typedef struct medcl_dropout_params {
    size_t size;        /* sizeof(medcl_dropout_params) */
    float p;            /* drop probability in [0, 1] */
    bool channelwise;   /* one draw per (n, c) instead of per element */
    bool training;      /* false: identity */
    uint64_t seed;
    uint32_t stream;    /* e.g. the layer's index */
    uint32_t step;      /* the training step: a fresh mask every step */
} medcl_dropout_params;
#define MEDCL_DROPOUT_PARAMS_INIT {sizeof(medcl_dropout_params), 0.5f, false, true, 0, 0, 0}

MEDCL_API medcl_status medcl_dropout_forward(const medcl_dropout_params *p,
                                             const medcl_tensor *x /* (N, C, ...) */,
                                             medcl_tensor *y /* like x; may alias x */);
/* dx = keep ? dy * scale : 0 with the forward pass's mask; dx may alias dy. */
MEDCL_API medcl_status medcl_dropout_backward(const medcl_dropout_params *p,
                                              const medcl_tensor *dy /* (N, C, ...) */,
                                              medcl_tensor *dx /* like dy */);

#ifdef __cplusplus
}
#endif
#endif
