/* src/ops/elementwise.c — fill, copy, add, mul, scale, axpy on f32 tensors (cl/elementwise.cl).
 * Broadcasting forms live with the network ops. */
#include "ops_internal.h"

#define PROG "elementwise"

static medcl_status binary(const char *op, const char *kname, const medcl_tensor *a,
                           const medcl_tensor *b, medcl_tensor *y) {
    medcl_status st = MEDCL_OK;
    MEDCL_TRY(medcl_op_check(op, "a", a, true));
    MEDCL_TRY(medcl_op_check(op, "b", b, true));
    MEDCL_TRY(medcl_op_check(op, "y", y, true));
    MEDCL_TRY(medcl_op_same_numel(op, "a", a, "b", b));
    MEDCL_TRY(medcl_op_same_numel(op, "a", a, "y", y));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(y->ctx, PROG, "", kname, &k));
    cl_uint i = 0;
    cl_ulong n = (cl_ulong)y->numel;
    MEDCL_CL(medcl_arg_tensor(k, &i, a));
    MEDCL_CL(medcl_arg_tensor(k, &i, b));
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(MEDCL_ARG(k, i, n));
    MEDCL_TRY(medcl_launch_1d(y->ctx, k, (size_t)n));
cleanup:
    return st;
}

medcl_status medcl_add(const medcl_tensor *a, const medcl_tensor *b, medcl_tensor *y) {
    return binary("add", "ew_add", a, b, y);
}

medcl_status medcl_mul(const medcl_tensor *a, const medcl_tensor *b, medcl_tensor *y) {
    return binary("mul", "ew_mul", a, b, y);
}

/* kernels (x, y, n[, alpha]); has_alpha false for copy */
static medcl_status unary_alpha(const char *op, const char *kname, const medcl_tensor *x,
                                medcl_tensor *y, bool has_alpha, float alpha) {
    medcl_status st = MEDCL_OK;
    MEDCL_TRY(medcl_op_check(op, "x", x, true));
    MEDCL_TRY(medcl_op_check(op, "y", y, true));
    MEDCL_TRY(medcl_op_same_numel(op, "x", x, "y", y));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(y->ctx, PROG, "", kname, &k));
    cl_uint i = 0;
    cl_ulong n = (cl_ulong)y->numel;
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(MEDCL_ARG(k, i, n));
    i++;
    if (has_alpha) MEDCL_CL(MEDCL_ARG(k, i, alpha));
    MEDCL_TRY(medcl_launch_1d(y->ctx, k, (size_t)n));
cleanup:
    return st;
}

medcl_status medcl_copy(medcl_tensor *y, const medcl_tensor *x) {
    return unary_alpha("copy", "ew_copy", x, y, false, 0.0f);
}

medcl_status medcl_scale(const medcl_tensor *x, float alpha, medcl_tensor *y) {
    return unary_alpha("scale", "ew_scale", x, y, true, alpha);
}

medcl_status medcl_axpy(float alpha, const medcl_tensor *x, medcl_tensor *y) {
    return unary_alpha("axpy", "ew_axpy", x, y, true, alpha);
}

medcl_status medcl_fill(medcl_tensor *y, float value) {
    medcl_status st = MEDCL_OK;
    MEDCL_TRY(medcl_op_check("fill", "y", y, true));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(y->ctx, PROG, "", "ew_fill", &k));
    cl_uint i = 0;
    cl_ulong n = (cl_ulong)y->numel;
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(MEDCL_ARG(k, i, n));
    i++;
    MEDCL_CL(MEDCL_ARG(k, i, value));
    MEDCL_TRY(medcl_launch_1d(y->ctx, k, (size_t)n));
cleanup:
    return st;
}

medcl_status medcl_elementwise_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    (void)ctx;
    return add(acc, PROG, "");
}
