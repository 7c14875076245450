/* src/ops/dropout.c — inverted dropout (element-wise and channel-wise), forward and backward,
 * on cl/dropout.cl. The mask is a pure function of (seed, stream, step, element) through
 * Philox, so the backward pass regenerates it and it equals the host computation with
 * medcl_philox_at bit for bit (see ops_act.h for the exact rule). p = 0 and evaluation mode
 * copy the input. Not here: other regularizers (mixup, coarse dropout: augment). */
#include "medcl/ops_act.h"
#include "ops_internal.h"


#define PROG "dropout"

static medcl_status run(const char *op, const medcl_dropout_params *p, const char *rx,
                        const medcl_tensor *x, const char *ry, medcl_tensor *y) {
    medcl_status st = MEDCL_OK;
    const medcl_dropout_params def = MEDCL_DROPOUT_PARAMS_INIT;
    medcl_dropout_params q;
    MEDCL_TRY(medcl_op_params(op, p, &def, sizeof q, &q));
    if (!(q.p >= 0.0f && q.p <= 1.0f))
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: params.p = %g is outside [0, 1]", op, (double)q.p);
    MEDCL_TRY(medcl_op_check(op, rx, x, true));
    MEDCL_TRY(medcl_op_check(op, ry, y, true));
    MEDCL_TRY(medcl_op_same_numel(op, rx, x, ry, y));
    if (!q.training || q.p == 0.0f) {
        /* the identity, bit for bit */
        if (x->mem != y->mem || x->offset != y->offset) MEDCL_TRY(medcl_copy(y, x));
        goto cleanup;
    }
    if (q.channelwise && x->ndim < 2)
        MEDCL_FAIL(MEDCL_ERR_SHAPE, "%s: channel-wise dropout needs (N, C, ...); %s (%s) has rank %d", op,
                   rx, medcl_tensor_name(x), x->ndim);
    cl_ulong n = (cl_ulong)x->numel;
    cl_ulong S = q.channelwise ? (cl_ulong)(x->numel / (x->shape[0] * x->shape[1])) : 1;
    cl_ulong seed = q.seed;
    cl_uint stream = q.stream, step = q.step;
    float scale = q.p < 1.0f ? (float)(1.0 / (1.0 - (double)q.p)) : 0.0f;
    cl_int cw = q.channelwise ? 1 : 0;
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(y->ctx, PROG, "", "dropout_apply", &k));
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(MEDCL_ARG(k, i, n)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, S)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, seed)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, stream)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, step)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, q.p)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, scale)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, cw)); i++;
    MEDCL_TRY(medcl_launch_1d(y->ctx, k, (size_t)n));
cleanup:
    return st;
}

medcl_status medcl_dropout_forward(const medcl_dropout_params *p, const medcl_tensor *x,
                                   medcl_tensor *y) {
    return run("dropout_forward", p, "x", x, "y", y);
}

medcl_status medcl_dropout_backward(const medcl_dropout_params *p, const medcl_tensor *dy,
                                    medcl_tensor *dx) {
    return run("dropout_backward", p, "dy", dy, "dx", dx);
}

medcl_status medcl_dropout_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    (void)ctx;
    return add(acc, PROG, "");
}
