/* src/ops/common.c — argument checks and launch helpers shared by the op families. */
#include "ops_internal.h"

#include <string.h>

medcl_status medcl_op_check(const char *op, const char *role, const medcl_tensor *t, bool f32) {
    if (!t) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: tensor %s is NULL", op, role);
    if (f32 && t->dtype != MEDCL_DTYPE_F32)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: tensor %s (%s) has dtype %s, expected f32", op,
                          role, medcl_tensor_name(t), medcl_dtype_str(t->dtype));
    return medcl_context_check(t->ctx);
}

medcl_status medcl_op_same_numel(const char *op, const char *ra, const medcl_tensor *a,
                                 const char *rb, const medcl_tensor *b) {
    if (a->ctx != b->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: tensors %s and %s belong to different contexts",
                          op, ra, rb);
    if (a->numel != b->numel)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) has %lld elements, %s (%s) has %lld", op, ra,
                          medcl_tensor_name(a), (long long)a->numel, rb, medcl_tensor_name(b),
                          (long long)b->numel);
    return MEDCL_OK;
}

cl_int medcl_arg_tensor(cl_kernel k, cl_uint *i, const medcl_tensor *t) {
    cl_ulong off = (cl_ulong)t->offset;
    cl_int e = clSetKernelArg(k, (*i)++, sizeof(cl_mem), &t->mem);
    if (e != CL_SUCCESS) return e;
    return clSetKernelArg(k, (*i)++, sizeof off, &off);
}

medcl_status medcl_launch_1d(medcl_context *ctx, cl_kernel k, size_t n) {
    size_t local = 64;
    if (ctx->info.max_work_group < local) local = ctx->info.max_work_group;
    return medcl_launch(ctx, k, 1, &n, &local, NULL);
}

unsigned medcl_reduce_wg(const medcl_context *ctx) {
    /* CPUs run a work-group's items one after another between barriers, so a 256-wide tree
     * costs 8 passes over 256 items: 32 there (the normalization statistics kernels took 5x
     * less CPU time in bench_train --small, ~10% of a 2D step) */
    unsigned wg = ctx->info.type == MEDCL_DEVICE_TYPE_CPU ? 32 : 256;
    while (wg > 1 && wg > ctx->info.max_work_group) wg /= 2;
    return wg;
}

medcl_status medcl_op_params(const char *op, const void *p, const void *def, size_t size, void *out) {
    if (p) {
        size_t given;
        memcpy(&given, p, sizeof given);
        if (given != size)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.size = %zu, expected %zu", op, given, size);
    }
    memcpy(out, p ? p : def, size);
    return MEDCL_OK;
}
