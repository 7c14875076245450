/* src/ops/random.c — tensors filled with Philox draws on the device (cl/random.cl), the same
 * bits as the host functions in src/core/philox.c. */
#include "ops_internal.h"

#define PROG "random"

static medcl_status fill(const char *op, const char *kname, medcl_tensor *y, uint64_t seed,
                         uint32_t stream, uint32_t c2, uint32_t c3, float a, float b, bool pairs) {
    medcl_status st = MEDCL_OK;
    MEDCL_TRY(medcl_op_check(op, "y", y, true));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(y->ctx, PROG, "", kname, &k));
    cl_uint i = 0;
    cl_ulong n = (cl_ulong)y->numel, s = seed;
    cl_uint sv = stream, v2 = c2, v3 = c3;
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(MEDCL_ARG(k, i, n)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, s)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, sv)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, v2)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, v3)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, a)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, b)); i++;
    MEDCL_TRY(medcl_launch_1d(y->ctx, k, pairs ? (size_t)((n + 1) / 2) : (size_t)n));
cleanup:
    return st;
}

medcl_status medcl_random_uniform(medcl_tensor *y, uint64_t seed, uint32_t stream, uint32_t c2,
                                  uint32_t c3, float lo, float hi) {
    return fill("random_uniform", "random_uniform", y, seed, stream, c2, c3, lo, hi, false);
}

medcl_status medcl_random_normal(medcl_tensor *y, uint64_t seed, uint32_t stream, uint32_t c2,
                                 uint32_t c3, float mean, float std) {
    return fill("random_normal", "random_normal", y, seed, stream, c2, c3, mean, std, true);
}

medcl_status medcl_random_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    (void)ctx;
    return add(acc, PROG, "");
}
