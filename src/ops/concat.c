/* src/ops/concat.c — concat and slice along channels (axis 1 of N, C, D, H, W; rank >= 2),
 * forward and backward, on cl/concat.cl. Backward of concat slices the gradient; backward of
 * slice either writes all of dx (zeros outside the slice) or, with accumulate, adds into the
 * slice's channels only (for inputs that feed several slices).
 * Not here: concat or slice along other axes, cropping in space. */
#include "medcl/ops_act.h"
#include "ops_internal.h"

#include <stdio.h>

#define PROG "concat"

/* a and b have the same rank (>= 2) and extents except on axis 1 */
static medcl_status same_but_channels(const char *op, const char *ra, const medcl_tensor *a,
                                      const char *rb, const medcl_tensor *b) {
    if (a->ctx != b->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %s and %s belong to different contexts", op, ra,
                          rb);
    if (a->ndim < 2 || b->ndim != a->ndim)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) has rank %d and %s (%s) rank %d; both need the "
                          "same rank >= 2", op, ra, medcl_tensor_name(a), a->ndim, rb,
                          medcl_tensor_name(b), b->ndim);
    for (int k = 0; k < a->ndim; k++)
        if (k != 1 && a->shape[k] != b->shape[k])
            return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) has extent %lld on axis %d, %s (%s) has %lld",
                              op, rb, medcl_tensor_name(b), (long long)b->shape[k], k, ra,
                              medcl_tensor_name(a), (long long)a->shape[k]);
    return MEDCL_OK;
}

/* dst[:, cd0 : cd0 + cc] = (or +=) src[:, cs0 : cs0 + cc] */
static medcl_status chan_copy(const medcl_tensor *src, int64_t cs0, medcl_tensor *dst,
                              int64_t cd0, int64_t cc, bool accumulate) {
    medcl_status st = MEDCL_OK;
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(dst->ctx, PROG, "", "chan_copy", &k));
    cl_ulong N = (cl_ulong)dst->shape[0], cs = (cl_ulong)src->shape[1], cd = (cl_ulong)dst->shape[1];
    cl_ulong S = (cl_ulong)(dst->numel / (dst->shape[0] * dst->shape[1]));
    cl_ulong a = (cl_ulong)cs0, b = (cl_ulong)cd0, c = (cl_ulong)cc;
    cl_int acc = accumulate ? 1 : 0;
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, src));
    MEDCL_CL(medcl_arg_tensor(k, &i, dst));
    MEDCL_CL(MEDCL_ARG(k, i, N)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, cs)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, a)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, cd)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, b)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, c)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, S)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, acc)); i++;
    MEDCL_TRY(medcl_launch_1d(dst->ctx, k, (size_t)(N * c * S)));
cleanup:
    return st;
}

static medcl_status concat_params(const char *op, const medcl_concat_params *p,
                                  medcl_concat_params *out) {
    const medcl_concat_params def = MEDCL_CONCAT_PARAMS_INIT;
    return medcl_op_params(op, p, &def, sizeof def, out);
}

/* Checks the list against the wide tensor (y or dy): shapes and the channel sum. */
static medcl_status concat_check(const char *op, const char *wide_role, const medcl_tensor *wide,
                                 const medcl_tensor *const *xs, int count) {
    medcl_status st = medcl_op_check(op, wide_role, wide, true);
    if (st != MEDCL_OK) return st;
    if (!xs || count < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %d inputs (list %s); need at least one", op,
                          count, xs ? "given" : "NULL");
    int64_t csum = 0;
    for (int j = 0; j < count; j++) {
        char role[32];
        snprintf(role, sizeof role, "xs[%d]", j);
        st = medcl_op_check(op, role, xs[j], true);
        if (st != MEDCL_OK) return st;
        st = same_but_channels(op, wide_role, wide, role, xs[j]);
        if (st != MEDCL_OK) return st;
        csum += xs[j]->shape[1];
    }
    if (csum != wide->shape[1])
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: the inputs have %lld channels in all, %s (%s) has %lld",
                          op, (long long)csum, wide_role, medcl_tensor_name(wide),
                          (long long)wide->shape[1]);
    return MEDCL_OK;
}

medcl_status medcl_concat_forward(const medcl_concat_params *p, const medcl_tensor *const *xs,
                                  int count, medcl_tensor *y) {
    const char *op = "concat_forward";
    medcl_status st = MEDCL_OK;
    medcl_concat_params q = MEDCL_CONCAT_PARAMS_INIT;
    MEDCL_TRY(concat_params(op, p, &q));
    MEDCL_TRY(concat_check(op, "y", y, xs, count));
    int64_t c0 = 0;
    for (int j = 0; j < count; j++) {
        MEDCL_TRY(chan_copy(xs[j], 0, y, c0, xs[j]->shape[1], false));
        c0 += xs[j]->shape[1];
    }
cleanup:
    return st;
}

medcl_status medcl_concat_backward(const medcl_concat_params *p, const medcl_tensor *dy,
                                   medcl_tensor *const *dxs, int count) {
    const char *op = "concat_backward";
    medcl_status st = MEDCL_OK;
    medcl_concat_params q = MEDCL_CONCAT_PARAMS_INIT;
    MEDCL_TRY(concat_params(op, p, &q));
    /* every gradient tensor is needed: the channel offsets come from their extents */
    MEDCL_TRY(medcl_op_check(op, "dy", dy, true));
    if (!dxs || count < 1)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: %d gradients (list %s); need at least one", op, count,
                   dxs ? "given" : "NULL");
    int nulls = 0;
    int64_t csum = 0;
    for (int j = 0; j < count; j++) {
        char role[32];
        snprintf(role, sizeof role, "dxs[%d]", j);
        if (!dxs[j]) {
            nulls++;
            continue;
        }
        MEDCL_TRY(medcl_op_check(op, role, dxs[j], true));
        MEDCL_TRY(same_but_channels(op, "dy", dy, role, dxs[j]));
        csum += dxs[j]->shape[1];
    }
    if (nulls > 0)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG,
                   "%s: %d of the %d gradients are NULL; pass every gradient tensor (the channel "
                   "offsets come from their extents)", op, nulls, count);
    if (csum != dy->shape[1])
        MEDCL_FAIL(MEDCL_ERR_SHAPE, "%s: the gradients have %lld channels in all, dy (%s) has %lld", op,
                   (long long)csum, medcl_tensor_name(dy), (long long)dy->shape[1]);
    int64_t c0 = 0;
    for (int j = 0; j < count; j++) {
        MEDCL_TRY(chan_copy(dy, c0, dxs[j], 0, dxs[j]->shape[1], q.accumulate));
        c0 += dxs[j]->shape[1];
    }
cleanup:
    return st;
}

static medcl_status slice_params(const char *op, const medcl_slice_params *p,
                                 medcl_slice_params *out) {
    const medcl_slice_params def = MEDCL_SLICE_PARAMS_INIT;
    return medcl_op_params(op, p, &def, sizeof def, out);
}

/* wide (N, C, ...) and narrow (N, Cn, ...): start in [0, C - Cn] */
static medcl_status slice_check(const char *op, const medcl_slice_params *q, const char *rw,
                                const medcl_tensor *wide, const char *rn, const medcl_tensor *narrow) {
    medcl_status st = medcl_op_check(op, rw, wide, true);
    if (st == MEDCL_OK) st = medcl_op_check(op, rn, narrow, true);
    if (st == MEDCL_OK) st = same_but_channels(op, rw, wide, rn, narrow);
    if (st != MEDCL_OK) return st;
    if (q->start < 0 || narrow->shape[1] > wide->shape[1] ||
        q->start > wide->shape[1] - narrow->shape[1])
        return medcl_fail(MEDCL_ERR_SHAPE,
                          "%s: params.start = %lld with %lld channels of %s (%s) does not fit the %lld "
                          "channels of %s (%s)", op, (long long)q->start, (long long)narrow->shape[1],
                          rn, medcl_tensor_name(narrow), (long long)wide->shape[1], rw,
                          medcl_tensor_name(wide));
    return MEDCL_OK;
}

medcl_status medcl_slice_forward(const medcl_slice_params *p, const medcl_tensor *x,
                                 medcl_tensor *y) {
    const char *op = "slice_forward";
    medcl_status st = MEDCL_OK;
    medcl_slice_params q = MEDCL_SLICE_PARAMS_INIT;
    MEDCL_TRY(slice_params(op, p, &q));
    MEDCL_TRY(slice_check(op, &q, "x", x, "y", y));
    MEDCL_TRY(chan_copy(x, q.start, y, 0, y->shape[1], false));
cleanup:
    return st;
}

medcl_status medcl_slice_backward(const medcl_slice_params *p, const medcl_tensor *dy,
                                  medcl_tensor *dx) {
    const char *op = "slice_backward";
    medcl_status st = MEDCL_OK;
    medcl_slice_params q = MEDCL_SLICE_PARAMS_INIT;
    MEDCL_TRY(slice_params(op, p, &q));
    MEDCL_TRY(slice_check(op, &q, "dx", dx, "dy", dy));
    if (q.accumulate) {
        MEDCL_TRY(chan_copy(dy, 0, dx, q.start, dy->shape[1], true));
    } else {
        cl_kernel k;
        MEDCL_TRY(medcl_kernel_get(dx->ctx, PROG, "", "slice_bwd", &k));
        cl_ulong N = (cl_ulong)dx->shape[0], C = (cl_ulong)dx->shape[1];
        cl_ulong S = (cl_ulong)dx->numel / (N * C);
        cl_ulong start = (cl_ulong)q.start, cy = (cl_ulong)dy->shape[1];
        cl_uint i = 0;
        MEDCL_CL(medcl_arg_tensor(k, &i, dy));
        MEDCL_CL(medcl_arg_tensor(k, &i, dx));
        MEDCL_CL(MEDCL_ARG(k, i, N)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, C)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, start)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, cy)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, S)); i++;
        MEDCL_TRY(medcl_launch_1d(dx->ctx, k, (size_t)dx->numel));
    }
cleanup:
    return st;
}

medcl_status medcl_concat_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    (void)ctx;
    return add(acc, PROG, "");
}
