/* src/ops/softmax.c — softmax and log-softmax over channels (axis 1 of N, C, D, H, W),
 * numerically stable (max-subtracted), forward and backward, on cl/softmax.cl.
 * Not here: cross-entropy and Dice losses (loss.c), argmax (eval). */
#include "medcl/ops_act.h"
#include "ops_internal.h"

#define PROG "softmax"

static medcl_status get_params(const char *op, const medcl_softmax_params *p,
                               medcl_softmax_params *out) {
    const medcl_softmax_params def = MEDCL_SOFTMAX_PARAMS_INIT;
    return medcl_op_params(op, p, &def, sizeof def, out);
}

/* (N, C, S) of a tensor of rank >= 2 */
static medcl_status layout(const char *op, const char *role, const medcl_tensor *t, cl_ulong *N,
                           cl_ulong *C, cl_ulong *S) {
    if (t->ndim < 2)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) has rank %d; softmax over channels needs (N, C, ...)",
                          op, role, medcl_tensor_name(t), t->ndim);
    *N = (cl_ulong)t->shape[0];
    *C = (cl_ulong)t->shape[1];
    *S = (cl_ulong)t->numel / (*N * *C);
    return MEDCL_OK;
}

static medcl_status same_shape(const char *op, const char *ra, const medcl_tensor *a,
                               const char *rb, const medcl_tensor *b) {
    medcl_status st = medcl_op_same_numel(op, ra, a, rb, b);
    if (st != MEDCL_OK) return st;
    if (b->ndim < 2 || a->shape[0] != b->shape[0] || a->shape[1] != b->shape[1])
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) and %s (%s) differ in N or C", op, ra,
                          medcl_tensor_name(a), rb, medcl_tensor_name(b));
    return MEDCL_OK;
}

medcl_status medcl_softmax_forward(const medcl_softmax_params *p, const medcl_tensor *x,
                                   medcl_tensor *y) {
    const char *op = "softmax_forward";
    medcl_status st = MEDCL_OK;
    medcl_softmax_params q = MEDCL_SOFTMAX_PARAMS_INIT;
    MEDCL_TRY(get_params(op, p, &q));
    MEDCL_TRY(medcl_op_check(op, "x", x, true));
    MEDCL_TRY(medcl_op_check(op, "y", y, true));
    cl_ulong N, C, S;
    MEDCL_TRY(layout(op, "x", x, &N, &C, &S));
    MEDCL_TRY(same_shape(op, "x", x, "y", y));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(y->ctx, PROG, "", "softmax_fwd", &k));
    cl_uint i = 0;
    cl_int lg = q.log ? 1 : 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(MEDCL_ARG(k, i, N)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, C)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, S)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, lg)); i++;
    MEDCL_TRY(medcl_launch_1d(y->ctx, k, (size_t)(N * S)));
cleanup:
    return st;
}

medcl_status medcl_softmax_backward(const medcl_softmax_params *p, const medcl_tensor *y,
                                    const medcl_tensor *dy, medcl_tensor *dx) {
    const char *op = "softmax_backward";
    medcl_status st = MEDCL_OK;
    medcl_softmax_params q = MEDCL_SOFTMAX_PARAMS_INIT;
    MEDCL_TRY(get_params(op, p, &q));
    MEDCL_TRY(medcl_op_check(op, "y", y, true));
    MEDCL_TRY(medcl_op_check(op, "dy", dy, true));
    MEDCL_TRY(medcl_op_check(op, "dx", dx, true));
    cl_ulong N, C, S;
    MEDCL_TRY(layout(op, "y", y, &N, &C, &S));
    MEDCL_TRY(same_shape(op, "y", y, "dy", dy));
    MEDCL_TRY(same_shape(op, "y", y, "dx", dx));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(dx->ctx, PROG, "", "softmax_bwd", &k));
    cl_uint i = 0;
    cl_int lg = q.log ? 1 : 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(medcl_arg_tensor(k, &i, dy));
    MEDCL_CL(medcl_arg_tensor(k, &i, dx));
    MEDCL_CL(MEDCL_ARG(k, i, N)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, C)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, S)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, lg)); i++;
    MEDCL_TRY(medcl_launch_1d(dx->ctx, k, (size_t)(N * S)));
cleanup:
    return st;
}

medcl_status medcl_softmax_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    (void)ctx;
    return add(acc, PROG, "");
}
