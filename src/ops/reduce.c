/* src/ops/reduce.c — deterministic full reductions (cl/reduce.cl): sum, mean, max, min and the
 * count of non-finite values, in two fixed-order stages. Reductions along axes belong to the
 * network ops (normalization, losses). */
#include "ops_internal.h"

#include <stdio.h>

#define PROG "reduce"
#define MAX_GROUPS 256

static void defines(const medcl_context *ctx, char *buf, size_t cap) {
    snprintf(buf, cap, "-DWG=%u", medcl_reduce_wg(ctx));
}

static medcl_status run(const char *op, const medcl_tensor *x, medcl_tensor *y, int kind,
                        float scale, bool count) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *part = NULL;
    MEDCL_TRY(medcl_op_check(op, "x", x, true));
    MEDCL_TRY(medcl_op_check(op, "y", y, false));
    if (y->numel != 1 || y->dtype != (count ? MEDCL_DTYPE_I32 : MEDCL_DTYPE_F32))
        MEDCL_FAIL(MEDCL_ERR_SHAPE, "%s: y (%s) must be one %s element, has %lld x %s", op,
                   medcl_tensor_name(y), count ? "i32" : "f32", (long long)y->numel,
                   medcl_dtype_str(y->dtype));
    if (x->ctx != y->ctx) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: x and y on different contexts", op);
    medcl_context *ctx = x->ctx;
    unsigned wg = medcl_reduce_wg(ctx);
    char defs[64];
    defines(ctx, defs, sizeof defs);
    cl_ulong n = (cl_ulong)x->numel;
    /* fixed chunking: the group count depends only on n and WG */
    cl_ulong groups = (n + (cl_ulong)wg * 4 - 1) / ((cl_ulong)wg * 4);
    if (groups > MAX_GROUPS) groups = MAX_GROUPS;
    if (groups < 1) groups = 1;
    cl_ulong chunk = (n + groups - 1) / groups;
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.dtype = count ? MEDCL_DTYPE_I32 : MEDCL_DTYPE_F32;
    d.ndim = 1;
    d.shape[0] = (int64_t)groups;
    d.name = "reduce.partials";
    MEDCL_TRY(medcl_tensor_create(ctx, &d, &part));
    cl_kernel k1, k2;
    MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, count ? "count_nonfinite_stage1" : "reduce_stage1", &k1));
    MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, count ? "count_stage2" : "reduce_stage2", &k2));
    cl_uint i = 0;
    cl_int opk = kind;
    MEDCL_CL(medcl_arg_tensor(k1, &i, x));
    MEDCL_CL(MEDCL_ARG(k1, i, n));
    i++;
    MEDCL_CL(MEDCL_ARG(k1, i, chunk));
    i++;
    if (!count) {
        MEDCL_CL(MEDCL_ARG(k1, i, opk));
        i++;
    }
    MEDCL_CL(clSetKernelArg(k1, i, sizeof(cl_mem), &part->mem));
    size_t g1 = (size_t)groups * wg, l = wg;
    MEDCL_TRY(medcl_launch(ctx, k1, 1, &g1, &l, NULL));
    i = 0;
    cl_uint ng = (cl_uint)groups;
    MEDCL_CL(clSetKernelArg(k2, i++, sizeof(cl_mem), &part->mem));
    MEDCL_CL(MEDCL_ARG(k2, i, ng));
    i++;
    if (!count) {
        MEDCL_CL(MEDCL_ARG(k2, i, opk));
        i++;
        MEDCL_CL(MEDCL_ARG(k2, i, scale));
        i++;
    }
    MEDCL_CL(medcl_arg_tensor(k2, &i, y));
    size_t g2 = wg;
    MEDCL_TRY(medcl_launch(ctx, k2, 1, &g2, &l, NULL));
cleanup:
    /* the partials buffer returns to the pool; the queue is in order, so reuse is safe */
    medcl_tensor_destroy(part);
    return st;
}

medcl_status medcl_reduce_sum(const medcl_tensor *x, medcl_tensor *y) {
    return run("reduce_sum", x, y, 0, 1.0f, false);
}
medcl_status medcl_reduce_mean(const medcl_tensor *x, medcl_tensor *y) {
    if (!x) return medcl_fail(MEDCL_ERR_INVALID_ARG, "reduce_mean: tensor x is NULL");
    return run("reduce_mean", x, y, 0, (float)(1.0 / (double)x->numel), false);
}
medcl_status medcl_reduce_max(const medcl_tensor *x, medcl_tensor *y) {
    return run("reduce_max", x, y, 1, 1.0f, false);
}
medcl_status medcl_reduce_min(const medcl_tensor *x, medcl_tensor *y) {
    return run("reduce_min", x, y, 2, 1.0f, false);
}
medcl_status medcl_count_nonfinite(const medcl_tensor *x, medcl_tensor *y) {
    return run("count_nonfinite", x, y, 0, 1.0f, true);
}

medcl_status medcl_reduce_to_host(const medcl_tensor *x, medcl_reduce_op op, double *out) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *y = NULL;
    if (!x || !out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "reduce_to_host: NULL argument");
    if ((int)op < 0 || op >= MEDCL_REDUCE_OP_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "reduce_to_host: op = %d", (int)op);
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.dtype = op == MEDCL_REDUCE_NONFINITE ? MEDCL_DTYPE_I32 : MEDCL_DTYPE_F32;
    d.ndim = 1;
    d.shape[0] = 1;
    d.name = "reduce.result";
    MEDCL_TRY(medcl_tensor_create(x->ctx, &d, &y));
    switch (op) {
    case MEDCL_REDUCE_SUM: MEDCL_TRY(medcl_reduce_sum(x, y)); break;
    case MEDCL_REDUCE_MEAN: MEDCL_TRY(medcl_reduce_mean(x, y)); break;
    case MEDCL_REDUCE_MAX: MEDCL_TRY(medcl_reduce_max(x, y)); break;
    case MEDCL_REDUCE_MIN: MEDCL_TRY(medcl_reduce_min(x, y)); break;
    default: MEDCL_TRY(medcl_count_nonfinite(x, y)); break;
    }
    if (op == MEDCL_REDUCE_NONFINITE) {
        int32_t v;
        MEDCL_TRY(medcl_tensor_download(y, &v, sizeof v));
        *out = v;
    } else {
        float v;
        MEDCL_TRY(medcl_tensor_download(y, &v, sizeof v));
        *out = v;
    }
cleanup:
    medcl_tensor_destroy(y);
    return st;
}

medcl_status medcl_reduce_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    char defs[64];
    defines(ctx, defs, sizeof defs);
    return add(acc, PROG, defs);
}
