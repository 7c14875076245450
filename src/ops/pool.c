/* src/ops/pool.c — max and average pooling and global average pooling, forward and backward
 * (cl/pool.cl): shape rules, checks, launches. 2D is D = 1; for 4-D tensors the D entries of
 * medcl_pool_params are ignored (kernel 1, stride 1, pad 0). Not here: dilation, ceil_mode,
 * adaptive pooling other than global average. */
#include "medcl/ops_pool.h"
#include "ops_internal.h"

#include <stdio.h>

#define PROG "pool"

static void defines(const medcl_context *ctx, char *buf, size_t cap) {
    snprintf(buf, cap, "-DWG=%u", medcl_reduce_wg(ctx));
}

typedef struct {
    int k[3], s[3], p[3];
} axes;

/* Validated per-axis geometry (D entries neutral for 4-D tensors). */
static medcl_status pool_axes(const char *op, const medcl_pool_params *p, int ndim, axes *a) {
    if (!p) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params is NULL", op);
    if (p->size != sizeof(medcl_pool_params))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.size = %zu, expected %zu (use MEDCL_POOL_PARAMS_INIT)",
                          op, p->size, sizeof(medcl_pool_params));
    if ((int)p->mode < 0 || p->mode >= MEDCL_POOL_MODE_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.mode = %d", op, (int)p->mode);
    static const char *nm = "DHW";
    for (int i = 0; i < 3; i++) {
        if (i == 0 && ndim == 4) {
            a->k[0] = a->s[0] = 1;
            a->p[0] = 0;
            continue;
        }
        int k = p->kernel[i], s = p->stride[i] ? p->stride[i] : p->kernel[i], q = p->pad[i];
        if (k < 1) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.kernel[%d] (%c) = %d, must be >= 1", op, i, nm[i], k);
        if (s < 1) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.stride[%d] (%c) = %d, must be >= 0", op, i, nm[i], p->stride[i]);
        if (q < 0 || q > k / 2)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.pad[%d] (%c) = %d, must be in [0, kernel/2 = %d]",
                              op, i, nm[i], q, k / 2);
        a->k[i] = k;
        a->s[i] = s;
        a->p[i] = q;
    }
    return MEDCL_OK;
}

static medcl_status pool_out_shape(const char *op, const axes *a, int ndim, const int64_t *in, int64_t *out) {
    static const char *nm = "DHW";
    if (ndim != 4 && ndim != 5)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: input has %d dimensions, expected 4 (N, C, H, W) or 5 (N, C, D, H, W)", op, ndim);
    out[0] = in[0];
    out[1] = in[1];
    for (int i = 0; i < 3; i++) {
        if (i == 0 && ndim == 4) continue;
        int64_t v = in[ndim - 3 + i];
        if (v < 1 || v > INT32_MAX / 4)
            return medcl_fail(MEDCL_ERR_SHAPE, "%s: input %c = %lld out of range", op, nm[i], (long long)v);
        int64_t o = (v + 2 * a->p[i] - a->k[i]);
        if (o < 0)
            return medcl_fail(MEDCL_ERR_SHAPE, "%s: input %c = %lld smaller than kernel %d with pad %d", op, nm[i],
                              (long long)v, a->k[i], a->p[i]);
        out[ndim - 3 + i] = o / a->s[i] + 1;
    }
    return MEDCL_OK;
}

medcl_status medcl_pool_output_shape(const medcl_pool_params *p, int ndim, const int64_t *in_shape,
                                     int64_t *out_shape) {
    axes a;
    if (!in_shape || !out_shape) return medcl_fail(MEDCL_ERR_INVALID_ARG, "pool_output_shape: NULL shape");
    medcl_status st = pool_axes("pool_output_shape", p, ndim, &a);
    if (st != MEDCL_OK) return st;
    return pool_out_shape("pool_output_shape", &a, ndim, in_shape, out_shape);
}

/* Checks x, y shapes against the params; fills the 15 geometry ints (D H W Do Ho Wo k s p). */
static medcl_status check_geom(const char *op, const medcl_pool_params *p, const medcl_tensor *x,
                               const char *xrole, const medcl_tensor *y, const char *yrole, cl_int g[15]) {
    axes a;
    int64_t want[5];
    medcl_status st = pool_axes(op, p, x->ndim, &a);
    if (st != MEDCL_OK) return st;
    st = pool_out_shape(op, &a, x->ndim, x->shape, want);
    if (st != MEDCL_OK) return st;
    if (y->ctx != x->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %s and %s belong to different contexts", op, xrole, yrole);
    bool ok = y->ndim == x->ndim;
    for (int i = 0; ok && i < x->ndim; i++) ok = y->shape[i] == want[i];
    if (!ok) {
        int64_t ys[5];
        medcl_tensor_ncdhw(y, ys);
        int64_t w5[5] = {want[0], want[1], 1, want[x->ndim - 2], want[x->ndim - 1]};
        if (x->ndim == 5) w5[2] = want[2];
        return medcl_fail(MEDCL_ERR_SHAPE,
                          "%s: %s (%s) has shape (%lld, %lld, %lld, %lld, %lld) with %d dims, expected (%lld, %lld, %lld, %lld, %lld) with %d",
                          op, yrole, medcl_tensor_name(y), (long long)ys[0], (long long)ys[1], (long long)ys[2],
                          (long long)ys[3], (long long)ys[4], y->ndim, (long long)w5[0], (long long)w5[1],
                          (long long)w5[2], (long long)w5[3], (long long)w5[4], x->ndim);
    }
    int64_t xs[5], os[5];
    medcl_tensor_ncdhw(x, xs);
    medcl_tensor_ncdhw(y, os);
    if (xs[2] * xs[3] * xs[4] > INT32_MAX)
        return medcl_fail(MEDCL_ERR_UNSUPPORTED, "%s: %s plane of %lld elements exceeds 2^31", op, xrole,
                          (long long)(xs[2] * xs[3] * xs[4]));
    for (int i = 0; i < 3; i++) {
        g[i] = (cl_int)xs[2 + i];
        g[3 + i] = (cl_int)os[2 + i];
        g[6 + i] = a.k[i];
        g[9 + i] = a.s[i];
        g[12 + i] = a.p[i];
    }
    return MEDCL_OK;
}

/* Optional tensor argument: NULL buffer when t is NULL. */
static cl_int arg_opt(cl_kernel k, cl_uint *i, const medcl_tensor *t) {
    if (t) return medcl_arg_tensor(k, i, t);
    cl_ulong z = 0;
    cl_int e = clSetKernelArg(k, (*i)++, sizeof(cl_mem), NULL);
    if (e != CL_SUCCESS) return e;
    return clSetKernelArg(k, (*i)++, sizeof z, &z);
}

static medcl_status check_i32(const char *op, const char *role, const medcl_tensor *am, const medcl_tensor *y) {
    medcl_status st = medcl_op_check(op, role, am, false);
    if (st != MEDCL_OK) return st;
    if (am->dtype != MEDCL_DTYPE_I32)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: tensor %s (%s) has dtype %s, expected i32", op, role,
                          medcl_tensor_name(am), medcl_dtype_str(am->dtype));
    return medcl_op_same_numel(op, "y", y, role, am);
}

/* The trailing arguments of pool_fwd / pool_bwd from index i (element count, geometry, mode,
 * count_include_pad), then one work-item per element. */
static medcl_status pool_launch(medcl_context *ctx, cl_kernel k, cl_uint i, int64_t n, const cl_int g[15],
                                const medcl_pool_params *p) {
    medcl_status st = MEDCL_OK;
    cl_ulong total = (cl_ulong)n;
    cl_int mode = (cl_int)p->mode, incl = p->count_include_pad ? 1 : 0;
    MEDCL_CL(MEDCL_ARG(k, i, total));
    i++;
    for (int j = 0; j < 15; j++, i++) MEDCL_CL(MEDCL_ARG(k, i, g[j]));
    MEDCL_CL(MEDCL_ARG(k, i, mode));
    i++;
    MEDCL_CL(MEDCL_ARG(k, i, incl));
    MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)total));
cleanup:
    return st;
}

medcl_status medcl_pool_forward(const medcl_pool_params *p, const medcl_tensor *x, medcl_tensor *y,
                                medcl_tensor *argmax) {
    medcl_status st = MEDCL_OK;
    const char *op = "pool_forward";
    cl_int g[15];
    MEDCL_TRY(medcl_op_check(op, "x", x, true));
    MEDCL_TRY(medcl_op_check(op, "y", y, true));
    MEDCL_TRY(check_geom(op, p, x, "x", y, "y", g));
    if (argmax && p->mode != MEDCL_POOL_MAX)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: argmax (%s) given for average pooling", op, medcl_tensor_name(argmax));
    if (argmax) MEDCL_TRY(check_i32(op, "argmax", argmax, y));
    cl_kernel k;
    char defs[64];
    defines(x->ctx, defs, sizeof defs);
    MEDCL_TRY(medcl_kernel_get(x->ctx, PROG, defs, "pool_fwd", &k));
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(arg_opt(k, &i, argmax));
    MEDCL_TRY(pool_launch(x->ctx, k, i, y->numel, g, p));
cleanup:
    return st;
}

medcl_status medcl_pool_backward(const medcl_pool_params *p, const medcl_tensor *x,
                                 const medcl_tensor *argmax, const medcl_tensor *dy, medcl_tensor *dx) {
    medcl_status st = MEDCL_OK;
    const char *op = "pool_backward";
    cl_int g[15];
    MEDCL_TRY(medcl_op_check(op, "dy", dy, true));
    MEDCL_TRY(medcl_op_check(op, "dx", dx, true));
    MEDCL_TRY(check_geom(op, p, dx, "dx", dy, "dy", g));
    if (p->mode == MEDCL_POOL_MAX) {
        if (!argmax && !x)
            MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: max pooling needs argmax or x (both NULL)", op);
        if (argmax) MEDCL_TRY(check_i32(op, "argmax", argmax, dy));
    }
    if (x) {
        MEDCL_TRY(medcl_op_check(op, "x", x, true));
        MEDCL_TRY(medcl_op_same_numel(op, "x", x, "dx", dx));
    }
    if (p->mode != MEDCL_POOL_MAX) {
        argmax = NULL;
        x = NULL;
    } else if (argmax) {
        x = NULL;
    }
    cl_kernel k;
    char defs[64];
    defines(dx->ctx, defs, sizeof defs);
    MEDCL_TRY(medcl_kernel_get(dx->ctx, PROG, defs, "pool_bwd", &k));
    cl_uint i = 0;
    MEDCL_CL(arg_opt(k, &i, x));
    MEDCL_CL(arg_opt(k, &i, argmax));
    MEDCL_CL(medcl_arg_tensor(k, &i, dy));
    MEDCL_CL(medcl_arg_tensor(k, &i, dx));
    MEDCL_TRY(pool_launch(dx->ctx, k, i, dx->numel, g, p));
cleanup:
    return st;
}

/* x (N, C, D, H, W) and y with N * C elements, y's leading dims (N, C) */
static medcl_status check_global(const char *op, const medcl_tensor *x, const char *xr,
                                 const medcl_tensor *y, const char *yr) {
    if (x->ndim < 2)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) has %d dimensions, expected at least 2", op, xr,
                          medcl_tensor_name(x), x->ndim);
    if (x->ctx != y->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %s and %s belong to different contexts", op, xr, yr);
    if (y->numel != x->shape[0] * x->shape[1] || y->ndim < 2 || y->shape[0] != x->shape[0] ||
        y->shape[1] != x->shape[1])
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) must be (N, C[, 1...]) = (%lld, %lld), has %lld elements",
                          op, yr, medcl_tensor_name(y), (long long)x->shape[0], (long long)x->shape[1],
                          (long long)y->numel);
    return MEDCL_OK;
}

medcl_status medcl_global_avg_pool_forward(const medcl_tensor *x, medcl_tensor *y) {
    medcl_status st = MEDCL_OK;
    const char *op = "global_avg_pool_forward";
    MEDCL_TRY(medcl_op_check(op, "x", x, true));
    MEDCL_TRY(medcl_op_check(op, "y", y, true));
    MEDCL_TRY(check_global(op, x, "x", y, "y"));
    cl_kernel k;
    char defs[64];
    defines(x->ctx, defs, sizeof defs);
    MEDCL_TRY(medcl_kernel_get(x->ctx, PROG, defs, "global_avg_pool_fwd", &k));
    cl_uint i = 0;
    cl_ulong n = (cl_ulong)(x->numel / y->numel);
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(MEDCL_ARG(k, i, n));
    size_t l = medcl_reduce_wg(x->ctx), gsz = (size_t)y->numel * l;
    MEDCL_TRY(medcl_launch(x->ctx, k, 1, &gsz, &l, NULL));
cleanup:
    return st;
}

medcl_status medcl_global_avg_pool_backward(const medcl_tensor *dy, medcl_tensor *dx) {
    medcl_status st = MEDCL_OK;
    const char *op = "global_avg_pool_backward";
    MEDCL_TRY(medcl_op_check(op, "dy", dy, true));
    MEDCL_TRY(medcl_op_check(op, "dx", dx, true));
    MEDCL_TRY(check_global(op, dx, "dx", dy, "dy"));
    cl_kernel k;
    char defs[64];
    defines(dx->ctx, defs, sizeof defs);
    MEDCL_TRY(medcl_kernel_get(dx->ctx, PROG, defs, "global_avg_pool_bwd", &k));
    cl_uint i = 0;
    cl_ulong n = (cl_ulong)(dx->numel / dy->numel), total = (cl_ulong)dx->numel;
    MEDCL_CL(medcl_arg_tensor(k, &i, dy));
    MEDCL_CL(medcl_arg_tensor(k, &i, dx));
    MEDCL_CL(MEDCL_ARG(k, i, n));
    i++;
    MEDCL_CL(MEDCL_ARG(k, i, total));
    MEDCL_TRY(medcl_launch_1d(dx->ctx, k, (size_t)total));
cleanup:
    return st;
}

medcl_status medcl_pool_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    char defs[64];
    defines(ctx, defs, sizeof defs);
    return add(acc, PROG, defs);
}
