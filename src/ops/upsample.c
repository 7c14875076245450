/* src/ops/upsample.c — nearest and linear (bilinear/trilinear) resizing forward and backward
 * (cl/upsample.cl): shape rules, PyTorch's scale rules, launches. 2D is D = 1; for 4-D
 * tensors scale[0] is ignored. Not here: bicubic, area, antialias. */
#include "medcl/ops_pool.h"
#include "ops_internal.h"

#include <math.h>

#define PROG "upsample"

static medcl_status check_params(const char *op, const medcl_upsample_params *p) {
    if (!p) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params is NULL", op);
    if (p->size != sizeof(medcl_upsample_params))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.size = %zu, expected %zu (use MEDCL_UPSAMPLE_PARAMS_INIT)",
                          op, p->size, sizeof(medcl_upsample_params));
    if ((int)p->mode < 0 || p->mode >= MEDCL_UPSAMPLE_MODE_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.mode = %d", op, (int)p->mode);
    if (p->align_corners != 0 && p->align_corners != 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.align_corners = %d, expected 0 or 1", op, p->align_corners);
    for (int i = 0; i < 3; i++)
        if (!(p->scale[i] >= 0.0) || !isfinite(p->scale[i]))
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.scale[%d] = %g, must be finite and >= 0", op, i,
                              p->scale[i]);
    return MEDCL_OK;
}

medcl_status medcl_upsample_output_shape(const medcl_upsample_params *p, int ndim, const int64_t *in_shape,
                                         int64_t *out_shape) {
    const char *op = "upsample_output_shape";
    medcl_status st = check_params(op, p);
    if (st != MEDCL_OK) return st;
    if (!in_shape || !out_shape) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: NULL shape", op);
    if (ndim != 4 && ndim != 5)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %d dimensions, expected 4 or 5", op, ndim);
    out_shape[0] = in_shape[0];
    out_shape[1] = in_shape[1];
    if (ndim == 5) out_shape[2] = in_shape[2];
    for (int i = 5 - ndim; i < 3; i++) {
        int ax = ndim - 3 + i;
        if (!(p->scale[i] > 0.0))
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.scale[%d] = %g, must be > 0", op, i, p->scale[i]);
        double o = floor((double)in_shape[ax] * p->scale[i]);
        if (o < 1 || o > INT32_MAX / 4)
            return medcl_fail(MEDCL_ERR_SHAPE, "%s: axis %d: %lld * %g gives extent %g", op, ax,
                              (long long)in_shape[ax], p->scale[i], o);
        out_shape[ax] = (int64_t)o;
    }
    return MEDCL_OK;
}

/* Checks small (input) and big (output) shapes; fills extents and PyTorch's float scales. */
static medcl_status prepare(const char *op, const medcl_upsample_params *p, const medcl_tensor *in,
                            const char *inr, const medcl_tensor *out, const char *outr, cl_int ext[6],
                            cl_float sc[3]) {
    medcl_status st = check_params(op, p);
    if (st != MEDCL_OK) return st;
    if (in->ctx != out->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %s and %s belong to different contexts", op, inr, outr);
    if (in->ndim != 4 && in->ndim != 5)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) has %d dimensions, expected 4 (N, C, H, W) or 5 (N, C, D, H, W)",
                          op, inr, medcl_tensor_name(in), in->ndim);
    if (out->ndim != in->ndim || out->shape[0] != in->shape[0] || out->shape[1] != in->shape[1])
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) must have %d dimensions and N, C = %lld, %lld of %s (%s)",
                          op, outr, medcl_tensor_name(out), in->ndim, (long long)in->shape[0],
                          (long long)in->shape[1], inr, medcl_tensor_name(in));
    int64_t a[5], b[5];
    medcl_tensor_ncdhw(in, a);
    medcl_tensor_ncdhw(out, b);
    static const char *nm = "DHW";
    for (int i = 0; i < 3; i++) {
        if (a[2 + i] > INT32_MAX / 4 || b[2 + i] > INT32_MAX / 4)
            return medcl_fail(MEDCL_ERR_UNSUPPORTED, "%s: extent %c too large", op, nm[i]);
        int64_t n = a[2 + i], o = b[2 + i];
        ext[i] = (cl_int)n;
        ext[3 + i] = (cl_int)o;
        double s = (in->ndim == 4 && i == 0) ? 0.0 : p->scale[i];
        if (s > 0.0 && (int64_t)floor((double)n * s) != o)
            return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) axis %c = %lld, but params.scale[%d] = %g gives floor(%lld * %g) = %lld",
                              op, outr, medcl_tensor_name(out), nm[i], (long long)o, i, s, (long long)n, s,
                              (long long)floor((double)n * s));
        /* PyTorch: area_pixel_compute_scale / compute_scales_value, in float */
        if (p->mode == MEDCL_UPSAMPLE_LINEAR && p->align_corners)
            sc[i] = o > 1 ? (float)(n - 1) / (float)(o - 1) : 0.0f;
        else
            sc[i] = s > 0.0 ? (float)(1.0 / s) : (float)n / (float)o;
    }
    if (a[2] * a[3] * a[4] > INT32_MAX || b[2] * b[3] * b[4] > INT32_MAX)
        return medcl_fail(MEDCL_ERR_UNSUPPORTED, "%s: plane exceeds 2^31 elements", op);
    return MEDCL_OK;
}

static medcl_status run(const char *op, const char *kname, const medcl_upsample_params *p,
                        const medcl_tensor *src, const medcl_tensor *dst, const cl_int ext[6],
                        const cl_float sc[3]) {
    medcl_status st = MEDCL_OK;
    cl_kernel k;
    (void)op;
    MEDCL_TRY(medcl_kernel_get(dst->ctx, PROG, "", kname, &k));
    cl_uint i = 0;
    cl_ulong total = (cl_ulong)dst->numel;
    cl_int align = p->align_corners, mode = (cl_int)p->mode;
    MEDCL_CL(medcl_arg_tensor(k, &i, src));
    MEDCL_CL(medcl_arg_tensor(k, &i, dst));
    MEDCL_CL(MEDCL_ARG(k, i, total));
    i++;
    for (int j = 0; j < 6; j++, i++) MEDCL_CL(MEDCL_ARG(k, i, ext[j]));
    for (int j = 0; j < 3; j++, i++) MEDCL_CL(MEDCL_ARG(k, i, sc[j]));
    MEDCL_CL(MEDCL_ARG(k, i, align));
    i++;
    MEDCL_CL(MEDCL_ARG(k, i, mode));
    MEDCL_TRY(medcl_launch_1d(dst->ctx, k, (size_t)total));
cleanup:
    return st;
}

medcl_status medcl_upsample_forward(const medcl_upsample_params *p, const medcl_tensor *x, medcl_tensor *y) {
    medcl_status st = MEDCL_OK;
    const char *op = "upsample_forward";
    cl_int ext[6];
    cl_float sc[3];
    MEDCL_TRY(medcl_op_check(op, "x", x, true));
    MEDCL_TRY(medcl_op_check(op, "y", y, true));
    MEDCL_TRY(prepare(op, p, x, "x", y, "y", ext, sc));
    MEDCL_TRY(run(op, "upsample_fwd", p, x, y, ext, sc));
cleanup:
    return st;
}

medcl_status medcl_upsample_backward(const medcl_upsample_params *p, const medcl_tensor *dy, medcl_tensor *dx) {
    medcl_status st = MEDCL_OK;
    const char *op = "upsample_backward";
    cl_int ext[6];
    cl_float sc[3];
    MEDCL_TRY(medcl_op_check(op, "dy", dy, true));
    MEDCL_TRY(medcl_op_check(op, "dx", dx, true));
    MEDCL_TRY(prepare(op, p, dx, "dx", dy, "dy", ext, sc));
    MEDCL_TRY(run(op, "upsample_bwd", p, dy, dx, ext, sc));
cleanup:
    return st;
}

medcl_status medcl_upsample_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    (void)ctx;
    return add(acc, PROG, "");
}
