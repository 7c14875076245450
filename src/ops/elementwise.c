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

medcl_status medcl_labels_to_i32(const medcl_tensor *x, medcl_tensor *y) {
    medcl_status st = MEDCL_OK;
    MEDCL_TRY(medcl_op_check("labels_to_i32", "x", x, true));
    MEDCL_TRY(medcl_op_check("labels_to_i32", "y", y, false));
    if (y->dtype != MEDCL_DTYPE_I32)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "labels_to_i32: y (%s) has dtype %s, expected i32", medcl_tensor_name(y),
                   medcl_dtype_str(y->dtype));
    if (x->ctx != y->ctx) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "labels_to_i32: x and y on different contexts");
    int64_t a[5], b[5];
    medcl_tensor_ncdhw(x, a);
    medcl_tensor_ncdhw(y, b);
    static const char *ax[5] = {"N", "C", "D", "H", "W"};
    for (int i = 0; i < 5; i++) {
        bool ok = i < 2 ? b[i] == a[i] : b[i] <= a[i];
        if (!ok || a[i] > INT32_MAX)
            MEDCL_FAIL(MEDCL_ERR_SHAPE, "labels_to_i32: y (%s) %s = %lld, x (%s) %s = %lld (%s)", medcl_tensor_name(y),
                       ax[i], (long long)b[i], medcl_tensor_name(x), ax[i], (long long)a[i],
                       i < 2 ? "must be equal" : "y must not be larger");
    }
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(y->ctx, PROG, "", "ew_labels_i32", &k));
    cl_uint i = 0;
    cl_ulong n = (cl_ulong)y->numel;
    cl_int d[6] = {(cl_int)a[2], (cl_int)a[3], (cl_int)a[4], (cl_int)b[2], (cl_int)b[3], (cl_int)b[4]};
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(MEDCL_ARG(k, i, n));
    i++;
    for (int j = 0; j < 6; j++, i++) MEDCL_CL(MEDCL_ARG(k, i, d[j]));
    MEDCL_TRY(medcl_launch_1d(y->ctx, k, (size_t)n));
cleanup:
    return st;
}

medcl_status medcl_downsample_pick(const medcl_tensor *x, medcl_tensor *y, const int factor[3],
                                   const int offset[3]) {
    medcl_status st = MEDCL_OK;
    MEDCL_TRY(medcl_op_check("downsample_pick", "x", x, false));
    MEDCL_TRY(medcl_op_check("downsample_pick", "y", y, false));
    if (x->ctx != y->ctx) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "downsample_pick: x and y on different contexts");
    if (x->dtype != y->dtype)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "downsample_pick: x (%s) is %s but y (%s) is %s", medcl_tensor_name(x),
                   medcl_dtype_str(x->dtype), medcl_tensor_name(y), medcl_dtype_str(y->dtype));
    size_t es = medcl_dtype_size(x->dtype);
    if (es != 4 && es != 1)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "downsample_pick: x (%s) has dtype %s", medcl_tensor_name(x),
                   medcl_dtype_str(x->dtype));
    int64_t a[5], b[5];
    medcl_tensor_ncdhw(x, a);
    medcl_tensor_ncdhw(y, b);
    static const char *ax[5] = {"N", "C", "D", "H", "W"};
    for (int i = 0; i < 5; i++) {
        int f = i < 2 ? 1 : factor[i - 2], o = i < 2 ? 0 : offset[i - 2];
        if (f < 1 || o < 0 || o >= f || b[i] * f > a[i] || a[i] > INT32_MAX)
            MEDCL_FAIL(MEDCL_ERR_SHAPE, "downsample_pick: y (%s) %s = %lld with factor %d and offset %d does not fit x "
                       "(%s) %s = %lld", medcl_tensor_name(y), ax[i], (long long)b[i], f, o, medcl_tensor_name(x),
                       ax[i], (long long)a[i]);
    }
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(y->ctx, PROG, "", es == 4 ? "ew_pick4" : "ew_pick1", &k));
    cl_uint i = 0;
    cl_ulong n = (cl_ulong)y->numel;
    cl_int d[12] = {(cl_int)a[2], (cl_int)a[3], (cl_int)a[4], (cl_int)b[2], (cl_int)b[3], (cl_int)b[4],
                    factor[0], factor[1], factor[2], offset[0], offset[1], offset[2]};
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(MEDCL_ARG(k, i, n));
    i++;
    for (int j = 0; j < 12; j++, i++) MEDCL_CL(MEDCL_ARG(k, i, d[j]));
    if (n) MEDCL_TRY(medcl_launch_1d(y->ctx, k, (size_t)n));
cleanup:
    return st;
}

medcl_status medcl_elementwise_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    (void)ctx;
    return add(acc, PROG, "");
}
