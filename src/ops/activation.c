/* src/ops/activation.c — activations (ReLU, LeakyReLU, sigmoid, tanh, GELU) and PReLU,
 * forward and backward, on cl/activation.cl. The PReLU slope gradient is a two-stage
 * fixed-order reduction (group partials, then an in-order sum), so it is bitwise reproducible.
 * Not here: activations fused into convolution epilogues (conv.c), softmax (softmax.c). */
#include "medcl/ops_act.h"
#include "ops_internal.h"

#include <stdio.h>

#define PROG "activation"
#define MAX_GROUPS 64

static void defines(const medcl_context *ctx, char *buf, size_t cap) {
    snprintf(buf, cap, "-DWG=%u", medcl_reduce_wg(ctx));
}

static medcl_status get_params(const char *op, const medcl_activation_params *p,
                               medcl_activation_params *out) {
    const medcl_activation_params def = MEDCL_ACTIVATION_PARAMS_INIT;
    medcl_activation_params d;
    medcl_status st = medcl_op_params(op, p, &def, sizeof d, &d);
    if (st != MEDCL_OK) return st;
    if ((int)d.act < 0 || d.act >= MEDCL_ACT_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.act = %d is not a medcl_activation", op,
                          (int)d.act);
    *out = d;
    return MEDCL_OK;
}

medcl_status medcl_activation_forward(const medcl_activation_params *p, const medcl_tensor *x,
                                      medcl_tensor *y) {
    const char *op = "activation_forward";
    medcl_status st = MEDCL_OK;
    medcl_activation_params q = MEDCL_ACTIVATION_PARAMS_INIT;
    MEDCL_TRY(get_params(op, p, &q));
    MEDCL_TRY(medcl_op_check(op, "x", x, true));
    MEDCL_TRY(medcl_op_check(op, "y", y, true));
    MEDCL_TRY(medcl_op_same_numel(op, "x", x, "y", y));
    char defs[64];
    defines(y->ctx, defs, sizeof defs);
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(y->ctx, PROG, defs, "act_fwd", &k));
    cl_uint i = 0;
    cl_ulong n = (cl_ulong)y->numel;
    cl_int act = (cl_int)q.act;
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(MEDCL_ARG(k, i, n)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, act)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, q.slope)); i++;
    MEDCL_TRY(medcl_launch_1d(y->ctx, k, (size_t)n));
cleanup:
    return st;
}

medcl_status medcl_activation_backward(const medcl_activation_params *p, const medcl_tensor *x,
                                       const medcl_tensor *dy, medcl_tensor *dx) {
    const char *op = "activation_backward";
    medcl_status st = MEDCL_OK;
    medcl_activation_params q = MEDCL_ACTIVATION_PARAMS_INIT;
    MEDCL_TRY(get_params(op, p, &q));
    MEDCL_TRY(medcl_op_check(op, "x", x, true));
    MEDCL_TRY(medcl_op_check(op, "dy", dy, true));
    MEDCL_TRY(medcl_op_check(op, "dx", dx, true));
    MEDCL_TRY(medcl_op_same_numel(op, "x", x, "dy", dy));
    MEDCL_TRY(medcl_op_same_numel(op, "x", x, "dx", dx));
    char defs[64];
    defines(dx->ctx, defs, sizeof defs);
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(dx->ctx, PROG, defs, "act_bwd", &k));
    cl_uint i = 0;
    cl_ulong n = (cl_ulong)dx->numel;
    cl_int act = (cl_int)q.act;
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, dy));
    MEDCL_CL(medcl_arg_tensor(k, &i, dx));
    MEDCL_CL(MEDCL_ARG(k, i, n)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, act)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, q.slope)); i++;
    MEDCL_TRY(medcl_launch_1d(dx->ctx, k, (size_t)n));
cleanup:
    return st;
}

/* Slope layout: x viewed as (numel / (cw * s), cw, s). One shared slope: cw = 1, s = numel. */
static medcl_status prelu_layout(const char *op, const medcl_tensor *x, const medcl_tensor *w,
                                 cl_ulong *cw, cl_ulong *s) {
    if (x->ctx != w->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: x and w belong to different contexts", op);
    if (w->numel == 1) {
        *cw = 1;
        *s = (cl_ulong)x->numel;
        return MEDCL_OK;
    }
    int64_t C = x->ndim >= 2 ? x->shape[1] : 0;
    if (x->ndim < 2 || w->numel != C)
        return medcl_fail(MEDCL_ERR_SHAPE,
                          "%s: w (%s) has %lld slopes; expected 1 or the channel count C = %lld of "
                          "x (%s, rank %d)", op, medcl_tensor_name(w), (long long)w->numel,
                          (long long)C, medcl_tensor_name(x), x->ndim);
    *cw = (cl_ulong)C;
    *s = (cl_ulong)(x->numel / (x->shape[0] * C));
    return MEDCL_OK;
}

medcl_status medcl_prelu_forward(const medcl_tensor *x, const medcl_tensor *w, medcl_tensor *y) {
    const char *op = "prelu_forward";
    medcl_status st = MEDCL_OK;
    MEDCL_TRY(medcl_op_check(op, "x", x, true));
    MEDCL_TRY(medcl_op_check(op, "w", w, true));
    MEDCL_TRY(medcl_op_check(op, "y", y, true));
    MEDCL_TRY(medcl_op_same_numel(op, "x", x, "y", y));
    cl_ulong cw, s;
    MEDCL_TRY(prelu_layout(op, x, w, &cw, &s));
    char defs[64];
    defines(y->ctx, defs, sizeof defs);
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(y->ctx, PROG, defs, "prelu_fwd", &k));
    cl_uint i = 0;
    cl_ulong n = (cl_ulong)y->numel;
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, w));
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(MEDCL_ARG(k, i, n)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, cw)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, s)); i++;
    MEDCL_TRY(medcl_launch_1d(y->ctx, k, (size_t)n));
cleanup:
    return st;
}

medcl_status medcl_prelu_backward(const medcl_tensor *x, const medcl_tensor *w,
                                  const medcl_tensor *dy, medcl_tensor *dx, medcl_tensor *dw) {
    const char *op = "prelu_backward";
    medcl_status st = MEDCL_OK;
    medcl_tensor *part = NULL;
    MEDCL_TRY(medcl_op_check(op, "x", x, true));
    MEDCL_TRY(medcl_op_check(op, "w", w, true));
    MEDCL_TRY(medcl_op_check(op, "dy", dy, true));
    MEDCL_TRY(medcl_op_same_numel(op, "x", x, "dy", dy));
    if (dx) {
        MEDCL_TRY(medcl_op_check(op, "dx", dx, true));
        MEDCL_TRY(medcl_op_same_numel(op, "x", x, "dx", dx));
    }
    if (dw) {
        MEDCL_TRY(medcl_op_check(op, "dw", dw, true));
        MEDCL_TRY(medcl_op_same_numel(op, "w", w, "dw", dw));
    }
    cl_ulong cw, s;
    MEDCL_TRY(prelu_layout(op, x, w, &cw, &s));
    medcl_context *ctx = x->ctx;
    char defs[64];
    defines(ctx, defs, sizeof defs);
    cl_ulong n = (cl_ulong)x->numel;
    cl_kernel k;
    cl_uint i = 0;
    /* the slope gradient first: dx may alias dy */
    if (dw) {
        unsigned wg = medcl_reduce_wg(ctx);
        cl_ulong kk = n / cw; /* elements per slope */
        /* fixed chunking: the group count depends only on the shape and WG */
        cl_ulong groups = (kk + (cl_ulong)wg * 8 - 1) / ((cl_ulong)wg * 8);
        if (groups > MAX_GROUPS) groups = MAX_GROUPS;
        if (groups < 1) groups = 1;
        cl_ulong chunk = (kk + groups - 1) / groups;
        cl_uint ng = (cl_uint)groups;
        int64_t pshape = (int64_t)(groups * cw);
        MEDCL_TRY(medcl_tensor_create_f32(ctx, "prelu.partials", 1, &pshape, &part));
        MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, "prelu_wgrad_stage1", &k));
        MEDCL_CL(medcl_arg_tensor(k, &i, x));
        MEDCL_CL(medcl_arg_tensor(k, &i, dy));
        MEDCL_CL(MEDCL_ARG(k, i, cw)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, s)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, kk)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, chunk)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, ng)); i++;
        MEDCL_CL(clSetKernelArg(k, i, sizeof(cl_mem), &part->mem));
        size_t g1[2] = {(size_t)groups * wg, (size_t)cw}, l1[2] = {wg, 1};
        MEDCL_TRY(medcl_launch(ctx, k, 2, g1, l1, NULL));
        MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, "prelu_wgrad_stage2", &k));
        i = 0;
        MEDCL_CL(clSetKernelArg(k, i++, sizeof(cl_mem), &part->mem));
        MEDCL_CL(MEDCL_ARG(k, i, ng)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, cw)); i++;
        MEDCL_CL(medcl_arg_tensor(k, &i, dw));
        MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)cw));
    }
    if (dx) {
        MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, "prelu_bwd_data", &k));
        i = 0;
        MEDCL_CL(medcl_arg_tensor(k, &i, x));
        MEDCL_CL(medcl_arg_tensor(k, &i, w));
        MEDCL_CL(medcl_arg_tensor(k, &i, dy));
        MEDCL_CL(medcl_arg_tensor(k, &i, dx));
        MEDCL_CL(MEDCL_ARG(k, i, n)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, cw)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, s)); i++;
        MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)n));
    }
cleanup:
    /* the partials return to the pool; the queue is in order, so reuse is safe */
    medcl_tensor_destroy(part);
    return st;
}

medcl_status medcl_activation_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    char defs[64];
    defines(ctx, defs, sizeof defs);
    return add(acc, PROG, defs);
}
