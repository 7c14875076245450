/* src/ops/conv.c — convolution and transposed convolution (include/medcl/ops_conv.h): shape
 * rules, algorithm choice and launches of cl/conv.cl. 1x1 stride-1 unpadded convolutions go to
 * CLBlast SGEMM (forward and both backwards); everything else to the implicit-GEMM kernels.
 * Transposed convolution reuses the same three launches with the roles exchanged.
 * Backward-data with stride > 1 is split by stride phase (cl/conv.cl conv_bwd_data), so it
 * gathers no zero taps. Leaves out: algorithm choice by measurement, Winograd/FFT. */
#include "ops_internal.h"

#include "medcl/ops_conv.h"

#include <clblast_c.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define PROG "conv"
/* up to 256 chunks: a GPU with 132 units wants ~500 work-groups, and 32-channel levels have
 * only a few output tiles of dW */
#define MAX_CHUNKS 256
#define MAX_PARTIAL_FLOATS (16 * 1024 * 1024)

/* conv_tuning.c: v = TM, TN, TK, WPTM, WPTN, APAD, BWG, groups per compute unit, VEC, DBUF,
 * SHRINK */
#define CONV_TUNE_COUNT 11
bool medcl_conv_tuning_get(const medcl_device_info *info, int v[CONV_TUNE_COUNT]);

typedef struct conv_plan {
    int tm, tn, tk, wgs, bwg, gpc, vec;
    char defines[192];
} conv_plan;

/* M-tile shrink factors: the device's table entry (1), or TM halved (2) or quartered (4), same
 * work-group size, when M fits in that fraction of a tile, so small channel counts (32, 64) do
 * not compute padding; up to the device's SHRINK. VEC = 0 (GPU) divides WPTM by the same
 * factor; VEC = 1 (CPU) keeps WPTM accumulator rows per work-item and multiplies TN instead
 * (its loaders have no divisibility rules). At most three variants. */
static const int shrink_factors[3] = {1, 2, 4};

static bool shrink_ok(const int *v, int f, uint64_t local_mem) {
    int wgs = (v[0] / v[3]) * (v[1] / v[4]);
    if (v[8]) { /* VEC: TM / f rows of work-items, TN * f columns, same WPTM (cl/conv.cl) */
        uint64_t bytes = (uint64_t)(v[9] + 1) * v[2] * (uint64_t)(v[0] / f + v[1] * f + 2 * v[5]) * sizeof(float);
        return f <= v[10] && v[0] % f == 0 && (v[0] / f) % v[3] == 0 && (!local_mem || bytes <= local_mem);
    }
    return f <= v[10] && v[0] % f == 0 && v[3] % f == 0 && ((v[0] / f) * v[2]) % wgs == 0;
}

/* Tiles for a GEMM with M rows (m <= 0: the wide tile), or, with f > 0, the variant of shrink
 * factor f (medcl_conv_variants). ncols > 0: the GEMM has ncols columns in each of batch
 * independent GEMMs (groups, phases); when the grid would leave compute units idle (fewer than
 * two work-groups per unit, e.g. 512 channels at 16^2 on a GPU), TM shrinks further so more,
 * smaller work-groups share the work. */
static medcl_status plan_make(const medcl_context *ctx, int m, int f, int64_t ncols, int64_t batch, conv_plan *pl) {
    int v[CONV_TUNE_COUNT];
    if (!medcl_conv_tuning_get(&ctx->info, v))
        return medcl_fail(MEDCL_ERR_INVALID_ARG,
                          "conv: tile sizes (MEDCL_CONV_TUNE or table) invalid for device %s",
                          ctx->info.name);
    if (f <= 0) {
        f = 1;
        for (int i = 1; i < 3; i++)
            if (m > 0 && shrink_factors[i] * m <= v[0] && shrink_ok(v, shrink_factors[i], ctx->info.local_mem)) f = shrink_factors[i];
        int64_t want = 2 * (int64_t)ctx->info.compute_units;
        while (!v[8] && m > 0 && ncols > 0 && f < 4 && shrink_ok(v, 2 * f, ctx->info.local_mem)) {
            int64_t tm = v[0] / f;
            int64_t wgs = (ncols + v[1] - 1) / v[1] * ((m + tm - 1) / tm) * batch;
            if (wgs >= want) break;
            f *= 2;
        }
    } else if (!shrink_ok(v, f, ctx->info.local_mem)) {
        f = 1;
    }
    v[0] /= f;
    if (v[8]) /* VEC: the work-items' rows become columns, each keeps WPTM accumulator rows */
        v[1] *= f;
    else
        v[3] /= f;
    pl->tm = v[0];
    pl->tn = v[1];
    pl->tk = v[2];
    pl->wgs = (v[0] / v[3]) * (v[1] / v[4]);
    pl->bwg = v[6];
    pl->gpc = v[7];
    pl->vec = v[8];
    snprintf(pl->defines, sizeof pl->defines,
             "-DTM=%d -DTN=%d -DTK=%d -DWPTM=%d -DWPTN=%d -DAPAD=%d -DBWG=%d -DVEC=%d -DDBUF=%d -DFAST_FMA=%d", v[0],
             v[1], v[2], v[3], v[4], v[5], v[6], v[8], v[9], ctx->info.fast_fma ? 1 : 0);
    return MEDCL_OK;
}

static medcl_status plan_get(const medcl_context *ctx, int m, int64_t ncols, int64_t batch, conv_plan *pl) {
    return plan_make(ctx, m, 0, ncols, batch, pl);
}

/* ---- geometry and checks ---- */

/* One convolution in the forward sense: x (N, Cin, D, H, W) -> y (N, Cout, Do, Ho, Wo). */
typedef struct conv_geom {
    int N, Cin, Di, Hi, Wi, Cout, Do, Ho, Wo;
    int k[3], s[3], p[3], dil[3], groups;
} conv_geom;

static const char *axis_name[3] = {"D", "H", "W"};

static medcl_status check_params(const char *op, const medcl_conv_params *p, bool transposed) {
    if (!p) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params is NULL", op);
    if (p->size != sizeof(medcl_conv_params))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.size = %zu, expected %zu "
                          "(use MEDCL_CONV_PARAMS_INIT)", op, p->size, sizeof(medcl_conv_params));
    for (int a = 0; a < 3; a++) {
        if (p->kernel[a] < 1 || p->kernel[a] > 7)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.kernel[%d] (%s) = %d, must be 1..7",
                              op, a, axis_name[a], p->kernel[a]);
        if (p->stride[a] < 1)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.stride[%d] (%s) = %d, must be >= 1",
                              op, a, axis_name[a], p->stride[a]);
        if (p->pad[a] < 0)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.pad[%d] (%s) = %d, must be >= 0",
                              op, a, axis_name[a], p->pad[a]);
        if (p->dilation[a] < 1)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.dilation[%d] (%s) = %d, must be >= 1",
                              op, a, axis_name[a], p->dilation[a]);
        int lim = p->stride[a] > p->dilation[a] ? p->stride[a] : p->dilation[a];
        if (transposed && (p->output_pad[a] < 0 || p->output_pad[a] >= lim))
            return medcl_fail(MEDCL_ERR_INVALID_ARG,
                              "%s: params.output_pad[%d] (%s) = %d, must be in [0, max(stride, dilation) = %d)",
                              op, a, axis_name[a], p->output_pad[a], lim);
    }
    if (p->groups < 1) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.groups = %d", op, p->groups);
    if ((int)p->activation < 0 || p->activation >= MEDCL_ACT_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.activation = %d", op, (int)p->activation);
    return MEDCL_OK;
}

static int64_t out_extent(const medcl_conv_params *p, int a, int64_t in) {
    int64_t span = (int64_t)p->dilation[a] * (p->kernel[a] - 1) + 1;
    int64_t num = in + 2 * (int64_t)p->pad[a] - span;
    return num < 0 ? 0 : num / p->stride[a] + 1;
}

static int64_t tout_extent(const medcl_conv_params *p, int a, int64_t in) {
    return (in - 1) * p->stride[a] - 2 * (int64_t)p->pad[a] +
           (int64_t)p->dilation[a] * (p->kernel[a] - 1) + p->output_pad[a] + 1;
}

static medcl_status shape_common(const char *op, const medcl_conv_params *p, int ndim,
                                 const int64_t *x_shape, int64_t cout, int64_t *y_shape,
                                 bool transposed) {
    medcl_status st = check_params(op, p, transposed);
    if (st != MEDCL_OK) return st;
    if (!x_shape || !y_shape) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: NULL shape", op);
    if (ndim != 4 && ndim != 5)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: x has %d dimensions, expected 4 (N, C, H, W) or 5 (N, C, D, H, W)",
                          op, ndim);
    y_shape[0] = x_shape[0];
    y_shape[1] = cout;
    for (int a = 0; a < ndim - 2; a++) {
        int pa = a + (5 - ndim);
        int64_t in = x_shape[2 + a];
        int64_t o = transposed ? tout_extent(p, pa, in) : out_extent(p, pa, in);
        if (o < 1)
            return medcl_fail(MEDCL_ERR_SHAPE, "%s: x %s = %lld gives output %s = %lld with kernel %d, stride %d, "
                              "pad %d, dilation %d", op, axis_name[pa], (long long)in, axis_name[pa],
                              (long long)o, p->kernel[pa], p->stride[pa], p->pad[pa], p->dilation[pa]);
        y_shape[2 + a] = o;
    }
    if (ndim == 4 && (p->kernel[0] != 1 || p->pad[0] != 0 || p->output_pad[0] != 0))
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: 4-D (2D) tensors need kernel[0] = 1, pad[0] = 0 and output_pad[0] = 0 "
                          "(have %d, %d, %d)", op, p->kernel[0], p->pad[0], p->output_pad[0]);
    return MEDCL_OK;
}

medcl_status medcl_conv_output_shape(const medcl_conv_params *p, int ndim, const int64_t *x_shape,
                                     int64_t cout, int64_t *y_shape) {
    return shape_common("conv_output_shape", p, ndim, x_shape, cout, y_shape, false);
}

medcl_status medcl_conv_transpose_output_shape(const medcl_conv_params *p, int ndim,
                                               const int64_t *x_shape, int64_t cout,
                                               int64_t *y_shape) {
    return shape_common("conv_transpose_output_shape", p, ndim, x_shape, cout, y_shape, true);
}

static medcl_status check_tensor(const char *op, const char *role, const medcl_tensor *t) {
    medcl_status st = medcl_op_check(op, role, t, true);
    if (st != MEDCL_OK) return st;
    if (t->ndim != 4 && t->ndim != 5)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) has %d dimensions, expected 4 (N, C, H, W) or 5 (N, C, D, H, W)",
                          op, role, medcl_tensor_name(t), t->ndim);
    if (t->numel > INT_MAX)
        return medcl_fail(MEDCL_ERR_UNSUPPORTED, "%s: %s (%s) has %lld elements; the kernels index with 32 bits",
                          op, role, medcl_tensor_name(t), (long long)t->numel);
    return MEDCL_OK;
}

/* Builds the geometry of a convolution from its input-side tensor xs (role xr), its output-side
 * tensor ys (role yr) and w. transposed: the user's op is a transposed convolution whose input
 * is ys and output is xs. */
static medcl_status geom_make(const char *op, const medcl_conv_params *p, const char *xr,
                              const medcl_tensor *xs, const char *yr, const medcl_tensor *ys,
                              const medcl_tensor *w, bool transposed, conv_geom *g) {
    medcl_status st = MEDCL_OK;
    MEDCL_TRY(check_params(op, p, transposed));
    MEDCL_TRY(check_tensor(op, xr, xs));
    MEDCL_TRY(check_tensor(op, yr, ys));
    MEDCL_TRY(medcl_op_check(op, "w", w, true));
    if (xs->ctx != ys->ctx || xs->ctx != w->ctx)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: tensors %s, %s and w belong to different contexts", op, xr, yr);
    if (xs->ndim != ys->ndim)
        MEDCL_FAIL(MEDCL_ERR_SHAPE, "%s: %s (%s) is %d-D but %s (%s) is %d-D", op, xr, medcl_tensor_name(xs),
                   xs->ndim, yr, medcl_tensor_name(ys), ys->ndim);
    int64_t xd[5], yd[5];
    medcl_tensor_ncdhw(xs, xd);
    medcl_tensor_ncdhw(ys, yd);
    if (xd[0] != yd[0])
        MEDCL_FAIL(MEDCL_ERR_SHAPE, "%s: %s (%s) has N = %lld but %s (%s) has N = %lld", op, xr,
                   medcl_tensor_name(xs), (long long)xd[0], yr, medcl_tensor_name(ys), (long long)yd[0]);
    /* the user's channel names: conv: Cin = xs C, Cout = ys C; transposed: the reverse */
    const char *in_r = transposed ? yr : xr, *out_r = transposed ? xr : yr;
    const medcl_tensor *in_t = transposed ? ys : xs, *out_t = transposed ? xs : ys;
    int64_t cin = transposed ? yd[1] : xd[1], cout = transposed ? xd[1] : yd[1];
    if (cin % p->groups)
        MEDCL_FAIL(MEDCL_ERR_SHAPE, "%s: %s (%s) has C = %lld, not divisible by params.groups = %d", op, in_r,
                   medcl_tensor_name(in_t), (long long)cin, p->groups);
    if (cout % p->groups)
        MEDCL_FAIL(MEDCL_ERR_SHAPE, "%s: %s (%s) has C = %lld, not divisible by params.groups = %d", op, out_r,
                   medcl_tensor_name(out_t), (long long)cout, p->groups);
    /* weight: conv (Cout, Cin/g, k...), transposed (Cin, Cout/g, k...); both are (yd C, xd C/g, k) */
    int64_t want[5] = {yd[1], xd[1] / p->groups, p->kernel[0], p->kernel[1], p->kernel[2]};
    int64_t wd[5] = {0, 0, 1, 1, 1};
    if (w->ndim == 5) {
        for (int a = 0; a < 5; a++) wd[a] = w->shape[a];
    } else if (w->ndim == 4) {
        wd[0] = w->shape[0];
        wd[1] = w->shape[1];
        wd[3] = w->shape[2];
        wd[4] = w->shape[3];
    } else {
        MEDCL_FAIL(MEDCL_ERR_SHAPE, "%s: w (%s) has %d dimensions, expected 5 (Co, Ci/g, kD, kH, kW) or 4", op,
                   medcl_tensor_name(w), w->ndim);
    }
    static const char *wfield[5] = {"dim 0 (out channels)", "dim 1 (in channels / groups)", "kD", "kH", "kW"};
    for (int a = 0; a < 5; a++)
        if (wd[a] != want[a])
            MEDCL_FAIL(MEDCL_ERR_SHAPE, "%s: w (%s) %s = %lld, expected %lld", op, medcl_tensor_name(w), wfield[a],
                       (long long)wd[a], (long long)want[a]);
    for (int a = 0; a < 3; a++) {
        int64_t o = out_extent(p, a, xd[2 + a]);
        if (o < 1)
            MEDCL_FAIL(MEDCL_ERR_SHAPE, "%s: %s (%s) %s = %lld is smaller than the kernel span %d (dilation %d) "
                       "plus padding 2*%d", op, xr, medcl_tensor_name(xs), axis_name[a], (long long)xd[2 + a],
                       p->kernel[a], p->dilation[a], p->pad[a]);
        if (transposed) {
            int64_t t = tout_extent(p, a, yd[2 + a]);
            if (t != xd[2 + a])
                MEDCL_FAIL(MEDCL_ERR_SHAPE, "%s: %s (%s) %s = %lld, expected %lld from %s %s = %lld, kernel %d, "
                           "stride %d, pad %d, dilation %d, output_pad %d", op, xr, medcl_tensor_name(xs),
                           axis_name[a], (long long)xd[2 + a], (long long)t, yr, axis_name[a],
                           (long long)yd[2 + a], p->kernel[a], p->stride[a], p->pad[a], p->dilation[a],
                           p->output_pad[a]);
        } else if (o != yd[2 + a]) {
            MEDCL_FAIL(MEDCL_ERR_SHAPE, "%s: %s (%s) %s = %lld, expected %lld from %s %s = %lld, kernel %d, "
                       "stride %d, pad %d, dilation %d", op, yr, medcl_tensor_name(ys), axis_name[a],
                       (long long)yd[2 + a], (long long)o, xr, axis_name[a], (long long)xd[2 + a],
                       p->kernel[a], p->stride[a], p->pad[a], p->dilation[a]);
        }
    }
    if (xs->ndim == 4 && (p->kernel[0] != 1 || p->pad[0] != 0))
        MEDCL_FAIL(MEDCL_ERR_SHAPE, "%s: 4-D (2D) tensors need params.kernel[0] = 1 and params.pad[0] = 0", op);
    g->N = (int)xd[0];
    g->Cin = (int)xd[1];
    g->Di = (int)xd[2];
    g->Hi = (int)xd[3];
    g->Wi = (int)xd[4];
    g->Cout = (int)yd[1];
    g->Do = (int)yd[2];
    g->Ho = (int)yd[3];
    g->Wo = (int)yd[4];
    for (int a = 0; a < 3; a++) {
        g->k[a] = p->kernel[a];
        g->s[a] = p->stride[a];
        g->p[a] = p->pad[a];
        g->dil[a] = p->dilation[a];
    }
    g->groups = p->groups;
cleanup:
    return st;
}

static medcl_status check_bias(const char *op, const char *role, const medcl_tensor *b, int64_t c,
                               const medcl_context *ctx) {
    if (!b) return MEDCL_OK;
    medcl_status st = medcl_op_check(op, role, b, true);
    if (st != MEDCL_OK) return st;
    if (b->ctx != ctx) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %s is on another context", op, role);
    if (b->numel != c)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) has %lld elements, expected C = %lld", op, role,
                          medcl_tensor_name(b), (long long)b->numel, (long long)c);
    return MEDCL_OK;
}

static bool is_1x1(const conv_geom *g) {
    for (int a = 0; a < 3; a++)
        if (g->k[a] != 1 || g->s[a] != 1 || g->p[a] != 0) return false;
    return true;
}

/* ---- launches ---- */

#define ARGI(k, i, v)                                                                      \
    do {                                                                                   \
        cl_int a_ = (cl_int)(v);                                                           \
        MEDCL_CL(clSetKernelArg((k), (i)++, sizeof a_, &a_));                              \
    } while (0)
#define ARGU(k, i, v)                                                                      \
    do {                                                                                   \
        cl_uint a_ = (cl_uint)(v);                                                         \
        MEDCL_CL(clSetKernelArg((k), (i)++, sizeof a_, &a_));                              \
    } while (0)
#define ARGF(k, i, v)                                                                      \
    do {                                                                                   \
        cl_float a_ = (cl_float)(v);                                                       \
        MEDCL_CL(clSetKernelArg((k), (i)++, sizeof a_, &a_));                              \
    } while (0)

static medcl_status clblast_check(const char *op, const char *what, CLBlastStatusCode s) {
    if (s == CLBlastSuccess) return MEDCL_OK;
    return medcl_fail(MEDCL_ERR_DEVICE, "%s: CLBlast %s returned %d", op, what, (int)s);
}

/* y = act(y + b) in place */
static medcl_status bias_act(medcl_context *ctx, const conv_plan *pl, medcl_tensor *y,
                             const medcl_tensor *b, int C, int S, int act, float slope) {
    medcl_status st = MEDCL_OK;
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(ctx, PROG, pl->defines, "conv_bias_act", &k));
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(medcl_arg_tensor(k, &i, b ? b : y));
    ARGI(k, i, C);
    ARGI(k, i, S);
    ARGI(k, i, y->numel);
    ARGI(k, i, b != NULL);
    ARGI(k, i, act);
    ARGF(k, i, slope);
    MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)y->numel));
cleanup:
    return st;
}

/* Offsets table of the forward / weight gathers (conv_ktable), K = Cin/g * kernel volume. */
static medcl_status ktable(medcl_context *ctx, const conv_plan *pl, const conv_geom *g, medcl_tensor **out) {
    medcl_status st = MEDCL_OK;
    int kvol = g->k[0] * g->k[1] * g->k[2];
    int K = (g->Cin / g->groups) * kvol;
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.dtype = MEDCL_DTYPE_I32;
    d.ndim = 1;
    d.shape[0] = (int64_t)K * 4;
    d.name = "conv.ktable";
    MEDCL_TRY(medcl_tensor_create(ctx, &d, out));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(ctx, PROG, pl->defines, "conv_ktable", &k));
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, *out));
    ARGI(k, i, K);
    ARGI(k, i, kvol);
    ARGI(k, i, g->k[1]);
    ARGI(k, i, g->k[2]);
    ARGI(k, i, g->dil[0]);
    ARGI(k, i, g->dil[1]);
    ARGI(k, i, g->dil[2]);
    ARGI(k, i, g->Di * g->Hi * g->Wi);
    ARGI(k, i, g->Hi * g->Wi);
    ARGI(k, i, g->Wi);
    MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)K));
cleanup:
    return st;
}

/* Taps of one axis that serve inputs of residue r (i = r mod s) in backward-data: the kk with
 * kk*dil = r + pad (mod s). The same rule as phase_taps in cl/conv.cl. */
static int phase_tap_count(int r, int pad, int s, int dil, int kA) {
    int n = 0;
    for (int kk = 0; kk < kA; kk++)
        if ((kk * dil) % s == (r + pad) % s) n++;
    return n;
}

/* Largest tap count over the residues of axis a. */
static int phase_tap_max(const conv_geom *g, int a) {
    int best = 0;
    for (int r = 0; r < g->s[a]; r++) {
        int n = phase_tap_count(r, g->p[a], g->s[a], g->dil[a], g->k[a]);
        if (n > best) best = n;
    }
    return best;
}

/* Phase tables of backward-data (conv_ktable_phase): nph * Kmax int4 entries, then nph * Kmax
 * weight offsets, then nph per-phase K; Kmax = Cout/g * the largest phase's taps. */
static medcl_status ktable_phase(medcl_context *ctx, const conv_plan *pl, const conv_geom *g, int Kmax, int nph,
                                 medcl_tensor **out) {
    medcl_status st = MEDCL_OK;
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.dtype = MEDCL_DTYPE_I32;
    d.ndim = 1;
    d.shape[0] = (int64_t)Kmax * nph * 5 + nph;
    d.name = "conv.ktable_phase";
    MEDCL_TRY(medcl_tensor_create(ctx, &d, out));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(ctx, PROG, pl->defines, "conv_ktable_phase", &k));
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, *out));
    ARGI(k, i, Kmax);
    ARGI(k, i, nph);
    ARGI(k, i, g->Cout / g->groups);
    for (int a = 0; a < 3; a++) ARGI(k, i, g->k[a]);
    for (int a = 0; a < 3; a++) ARGI(k, i, g->s[a]);
    for (int a = 0; a < 3; a++) ARGI(k, i, g->p[a]);
    for (int a = 0; a < 3; a++) ARGI(k, i, g->dil[a]);
    ARGI(k, i, g->Do * g->Ho * g->Wo);
    ARGI(k, i, g->Ho * g->Wo);
    ARGI(k, i, g->Wo);
    ARGI(k, i, (g->Cin / g->groups) * g->k[0] * g->k[1] * g->k[2]);
    MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)Kmax * nph));
cleanup:
    return st;
}

/* Dense per-phase weight rows for the VEC backward-data kernel (cl/conv.cl conv_wphase). */
static medcl_status wphase(medcl_context *ctx, const conv_plan *pl, const conv_geom *g, const medcl_tensor *w,
                           const medcl_tensor *kt, int Kmax, int nph, medcl_tensor **out) {
    medcl_status st = MEDCL_OK;
    int Cg = g->Cin / g->groups, Cog = g->Cout / g->groups;
    int64_t total = (int64_t)nph * g->groups * Cg * Kmax;
    if (total > INT_MAX)
        return medcl_fail(MEDCL_ERR_UNSUPPORTED, "conv backward-data: %lld phase weights; the kernels index with 32 bits",
                          (long long)total);
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.ndim = 1;
    d.shape[0] = total;
    d.name = "conv.wphase";
    MEDCL_TRY(medcl_tensor_create(ctx, &d, out));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(ctx, PROG, pl->defines, "conv_wphase", &k));
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, w));
    MEDCL_CL(medcl_arg_tensor(k, &i, kt));
    MEDCL_CL(medcl_arg_tensor(k, &i, *out));
    ARGI(k, i, Kmax);
    ARGI(k, i, nph);
    ARGI(k, i, g->groups);
    ARGI(k, i, Cg);
    ARGI(k, i, Cog);
    ARGI(k, i, g->k[0] * g->k[1] * g->k[2]);
    ARGI(k, i, (int)total);
    MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)total));
cleanup:
    return st;
}

static medcl_status set_geom_args(cl_kernel k, cl_uint *ip, const conv_geom *g) {
    medcl_status st = MEDCL_OK;
    cl_uint i = *ip;
    ARGI(k, i, g->N);
    ARGI(k, i, g->Cin);
    ARGI(k, i, g->Di);
    ARGI(k, i, g->Hi);
    ARGI(k, i, g->Wi);
    ARGI(k, i, g->Cout);
    ARGI(k, i, g->Do);
    ARGI(k, i, g->Ho);
    ARGI(k, i, g->Wo);
    for (int a = 0; a < 3; a++) ARGI(k, i, g->s[a]);
    for (int a = 0; a < 3; a++) ARGI(k, i, g->p[a]);
cleanup:
    *ip = i;
    return st;
}

static size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

/* An operand of the 1x1 convolutions' CLBlast GEMMs: tensor t, element offsets per group and
 * per sample (0: shared by all samples), leading dimension. */
typedef struct gemm_operand {
    const medcl_tensor *t;
    size_t per_group, per_sample, ld;
} gemm_operand;

/* C = A . B (+ beta C) for every group and sample, groups outer and samples inner (the order
 * in which backward-weight accumulates into dW). */
static medcl_status gemm_1x1(const char *op, medcl_context *ctx, const conv_geom *g, CLBlastTranspose ta,
                             CLBlastTranspose tb, size_t M, size_t N, size_t K, const gemm_operand *A,
                             const gemm_operand *B, float beta, const gemm_operand *C) {
    medcl_status st = MEDCL_OK;
    cl_command_queue q = ctx->queue;
    for (size_t gi = 0; gi < (size_t)g->groups; gi++)
        for (size_t n = 0; n < (size_t)g->N; n++) {
            size_t ao = (size_t)A->t->offset + gi * A->per_group + n * A->per_sample;
            size_t bo = (size_t)B->t->offset + gi * B->per_group + n * B->per_sample;
            size_t co = (size_t)C->t->offset + gi * C->per_group + n * C->per_sample;
            MEDCL_TRY(clblast_check(op, "SGEMM", CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, M, N, K, 1.0f,
                                    A->t->mem, ao, A->ld, B->t->mem, bo, B->ld, beta, C->t->mem, co,
                                    C->ld, &q, NULL)));
        }
cleanup:
    return st;
}

/* y = act(conv(x, w) + b) */
static medcl_status run_fwd(const char *op, const conv_geom *g, const medcl_tensor *x,
                            const medcl_tensor *w, const medcl_tensor *b, medcl_tensor *y, int act,
                            float slope) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *kt = NULL;
    medcl_context *ctx = x->ctx;
    conv_plan pl;
    int Mg = g->Cout / g->groups, Cg = g->Cin / g->groups;
    int So = g->Do * g->Ho * g->Wo;
    MEDCL_TRY(plan_get(ctx, Mg, (int64_t)g->N * So, g->groups, &pl));
    if (is_1x1(g)) {
        /* per group: Y_n (Mg x S) = W_g (Mg x Cg) . X_n (Cg x S), batched over n */
        gemm_operand A = {w, (size_t)Mg * Cg, 0, (size_t)Cg}, B = {x, (size_t)Cg * So, (size_t)g->Cin * So, (size_t)So};
        gemm_operand C = {y, (size_t)Mg * So, (size_t)g->Cout * So, (size_t)So};
        MEDCL_TRY(gemm_1x1(op, ctx, g, CLBlastTransposeNo, CLBlastTransposeNo, (size_t)Mg, (size_t)So, (size_t)Cg, &A,
                           &B, 0.0f, &C));
        if (b || act != MEDCL_ACT_NONE) MEDCL_TRY(bias_act(ctx, &pl, y, b, g->Cout, So, act, slope));
        goto cleanup;
    }
    MEDCL_TRY(ktable(ctx, &pl, g, &kt));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(ctx, PROG, pl.defines, "conv_fwd", &k));
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, w));
    MEDCL_CL(medcl_arg_tensor(k, &i, b ? b : w));
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(medcl_arg_tensor(k, &i, kt));
    MEDCL_TRY(set_geom_args(k, &i, g));
    ARGI(k, i, g->groups);
    ARGI(k, i, Cg * g->k[0] * g->k[1] * g->k[2]);
    ARGI(k, i, b != NULL);
    ARGI(k, i, act);
    ARGF(k, i, slope);
    size_t gl[3] = {round_up((size_t)g->N * So, (size_t)pl.tn) / pl.tn * pl.wgs,
                    round_up((size_t)Mg, (size_t)pl.tm) / pl.tm, (size_t)g->groups};
    size_t lo[3] = {(size_t)pl.wgs, 1, 1};
    MEDCL_TRY(medcl_launch(ctx, k, 3, gl, lo, NULL));
cleanup:
    medcl_tensor_destroy(kt);
    return st;
}

/* dx = act(conv^T(dy, w) + b) (b, act only for the transposed convolution's forward) */
static medcl_status run_bwd_data(const char *op, const conv_geom *g, const medcl_tensor *dy,
                                 const medcl_tensor *w, const medcl_tensor *b, medcl_tensor *dx,
                                 int act, float slope) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *kt = NULL, *wp = NULL;
    medcl_context *ctx = dy->ctx;
    conv_plan pl;
    int Cog = g->Cout / g->groups, Cg = g->Cin / g->groups;
    int Si = g->Di * g->Hi * g->Wi;
    /* stride phases (below): nph GEMMs of up to N * Ts columns each */
    int nph = g->s[0] * g->s[1] * g->s[2];
    size_t Ts = (size_t)((g->Di + g->s[0] - 1) / g->s[0]) * (size_t)((g->Hi + g->s[1] - 1) / g->s[1]) *
                (size_t)((g->Wi + g->s[2] - 1) / g->s[2]);
    MEDCL_TRY(plan_get(ctx, Cg, (int64_t)g->N * (int64_t)Ts, (int64_t)g->groups * nph, &pl));
    if (is_1x1(g)) {
        /* per group: dX_n (Cg x S) = W_g^T (Cg x Cog) . dY_n (Cog x S) */
        gemm_operand A = {w, (size_t)Cog * Cg, 0, (size_t)Cg};
        gemm_operand B = {dy, (size_t)Cog * Si, (size_t)g->Cout * Si, (size_t)Si};
        gemm_operand C = {dx, (size_t)Cg * Si, (size_t)g->Cin * Si, (size_t)Si};
        MEDCL_TRY(gemm_1x1(op, ctx, g, CLBlastTransposeYes, CLBlastTransposeNo, (size_t)Cg, (size_t)Si, (size_t)Cog,
                           &A, &B, 0.0f, &C));
        if (b || act != MEDCL_ACT_NONE) MEDCL_TRY(bias_act(ctx, &pl, dx, b, g->Cin, Si, act, slope));
        goto cleanup;
    }
    /* stride-phase split: one dense GEMM per residue class of the input position mod stride,
     * over that class's taps only (all taps when the stride is 1) */
    int Kmax = Cog * phase_tap_max(g, 0) * phase_tap_max(g, 1) * phase_tap_max(g, 2);
    if (Kmax < 1) Kmax = 1;
    MEDCL_TRY(ktable_phase(ctx, &pl, g, Kmax, nph, &kt));
    if (pl.vec) MEDCL_TRY(wphase(ctx, &pl, g, w, kt, Kmax, nph, &wp));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(ctx, PROG, pl.defines, "conv_bwd_data", &k));
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, dy));
    MEDCL_CL(medcl_arg_tensor(k, &i, w));
    MEDCL_CL(medcl_arg_tensor(k, &i, b ? b : w));
    MEDCL_CL(medcl_arg_tensor(k, &i, dx));
    MEDCL_CL(medcl_arg_tensor(k, &i, kt));
    MEDCL_CL(medcl_arg_tensor(k, &i, wp ? wp : w));
    MEDCL_TRY(set_geom_args(k, &i, g));
    ARGI(k, i, g->groups);
    for (int a = 0; a < 3; a++) ARGI(k, i, g->k[a]);
    ARGI(k, i, Kmax);
    ARGI(k, i, b != NULL);
    ARGI(k, i, act);
    ARGF(k, i, slope);
    size_t gl[3] = {round_up((size_t)g->N * Ts, (size_t)pl.tn) / pl.tn * pl.wgs,
                    round_up((size_t)Cg, (size_t)pl.tm) / pl.tm, (size_t)g->groups * (size_t)nph};
    size_t lo[3] = {(size_t)pl.wgs, 1, 1};
    MEDCL_TRY(medcl_launch(ctx, k, 3, gl, lo, NULL));
cleanup:
    medcl_tensor_destroy(wp);
    medcl_tensor_destroy(kt);
    return st;
}

/* floor(n / d) = (n * m) >> s for 0 <= n < 2^31 (Granlund & Montgomery 1994, round-up method) */
static void fdiv_magic(uint32_t d, cl_uint *m, cl_uint *s) {
    int l = 0;
    while ((1ull << l) < d) l++;
    *m = (cl_uint)(((1ull << (31 + l)) + d - 1) / d);
    *s = (cl_uint)(31 + l);
}

/* Per-chunk partial weight gradients (chunks x total floats) and their fixed-order sum into dw
 * (cl/conv.cl conv_bwd_weight_reduce). */
static medcl_status weight_partials(medcl_context *ctx, int64_t n, medcl_tensor **out) {
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.ndim = 1;
    d.shape[0] = n;
    d.name = "conv.weight_partials";
    return medcl_tensor_create(ctx, &d, out);
}

/* The backward-weight kernel `name` with its leading arguments set (x, dy, out, geometry,
 * dilation, kernel, groups); *ip: the next argument index. */
static medcl_status weight_kernel(medcl_context *ctx, const conv_plan *pl, const char *name, const conv_geom *g,
                                  const medcl_tensor *x, const medcl_tensor *dy, const medcl_tensor *out,
                                  cl_kernel *kp, cl_uint *ip) {
    medcl_status st = MEDCL_OK;
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(ctx, PROG, pl->defines, name, &k));
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, dy));
    MEDCL_CL(medcl_arg_tensor(k, &i, out));
    MEDCL_TRY(set_geom_args(k, &i, g));
    for (int a = 0; a < 3; a++) ARGI(k, i, g->dil[a]);
    for (int a = 0; a < 3; a++) ARGI(k, i, g->k[a]);
    ARGI(k, i, g->groups);
    *kp = k;
    *ip = i;
cleanup:
    return st;
}

static medcl_status weight_reduce(medcl_context *ctx, const conv_plan *pl, const medcl_tensor *part,
                                  medcl_tensor *dw, int64_t total, int64_t chunks) {
    medcl_status st = MEDCL_OK;
    cl_kernel kr;
    MEDCL_TRY(medcl_kernel_get(ctx, PROG, pl->defines, "conv_bwd_weight_reduce", &kr));
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(kr, &i, part));
    MEDCL_CL(medcl_arg_tensor(kr, &i, dw));
    ARGI(kr, i, (int)total);
    ARGI(kr, i, (int)chunks);
    MEDCL_TRY(medcl_launch_1d(ctx, kr, (size_t)total));
cleanup:
    return st;
}

/* Backward-weight with few output channels on VEC devices (CPUs): the GEMM tiles of a
 * Cog x Ncol output (8 x 72 for an 8-channel 3x3 level) would be mostly padding, so
 * conv_bwd_weight_dot computes each (co, ci) pair's taps as dot products along output rows
 * instead. Taken for 2D-style kernels (kD = 1, kH * kW <= 9) when the tiles would be less
 * than half used; with kD = 3 the kernel's per-slice passes re-read dy three times and
 * measured no faster than the tiles (bench_train --small, 3D). */
static bool use_weight_dot(const conv_plan *pl, const conv_geom *g, int Cog, int Ncol) {
    if (!pl->vec || g->k[0] != 1 || g->k[1] * g->k[2] > 9) return false;
    double used = (double)Cog / (double)round_up((size_t)Cog, (size_t)pl->tm) *
                  ((double)Ncol / (double)round_up((size_t)Ncol, (size_t)pl->tn));
    return used < 0.5;
}

static medcl_status run_bwd_weight_dot(medcl_context *ctx, const conv_plan *pl, const conv_geom *g,
                                       const medcl_tensor *x, const medcl_tensor *dy, medcl_tensor *dw) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *part = NULL;
    int Cg = g->Cin / g->groups;
    int64_t pairs = (int64_t)g->Cout * Cg;
    int64_t total = (int64_t)g->Cout * Cg * g->k[0] * g->k[1] * g->k[2];
    int64_t rows = (int64_t)g->N * g->Do * g->Ho;
    /* enough work-items to fill the device (64 per compute unit), chunks of >= 4 rows; the
     * split depends only on the shape and the device */
    int64_t chunks = (64 * (int64_t)ctx->info.compute_units + pairs - 1) / pairs;
    if (chunks > rows / 4) chunks = rows / 4;
    if (chunks > MAX_CHUNKS) chunks = MAX_CHUNKS;
    if (chunks * total > MAX_PARTIAL_FLOATS) chunks = MAX_PARTIAL_FLOATS / total;
    if (chunks < 1) chunks = 1;
    int64_t per = (rows + chunks - 1) / chunks;
    chunks = (rows + per - 1) / per;
    bool direct = chunks == 1;
    if (!direct) MEDCL_TRY(weight_partials(ctx, chunks * total, &part));
    cl_kernel k;
    cl_uint i = 0;
    MEDCL_TRY(weight_kernel(ctx, pl, "conv_bwd_weight_dot", g, x, dy, direct ? dw : part, &k, &i));
    ARGI(k, i, (int)per);
    ARGI(k, i, (int)chunks);
    ARGI(k, i, direct);
    MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)(chunks * pairs)));
    if (!direct) MEDCL_TRY(weight_reduce(ctx, pl, part, dw, total, chunks));
cleanup:
    medcl_tensor_destroy(part);
    return st;
}

/* dw += dL/dw (x, dy in the forward sense), db += sum dy */
static medcl_status run_bwd_weight(const char *op, const conv_geom *g, const medcl_tensor *x,
                                   const medcl_tensor *dy, medcl_tensor *dw, medcl_tensor *db) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *part = NULL;
    medcl_context *ctx = x->ctx;
    conv_plan pl;
    int Cog = g->Cout / g->groups, Cg = g->Cin / g->groups;
    MEDCL_TRY(plan_get(ctx, Cog, 0, 1, &pl)); /* the reduction is chunked to fill the device */
    int kvol = g->k[0] * g->k[1] * g->k[2];
    int So = g->Do * g->Ho * g->Wo;
    int Ncol = Cg * kvol;
    if (db) {
        cl_kernel kb;
        MEDCL_TRY(medcl_kernel_get(ctx, PROG, pl.defines, "conv_bias_grad", &kb));
        cl_uint i = 0;
        MEDCL_CL(medcl_arg_tensor(kb, &i, dy));
        MEDCL_CL(medcl_arg_tensor(kb, &i, db));
        ARGI(kb, i, g->N);
        ARGI(kb, i, g->Cout);
        ARGI(kb, i, So);
        size_t gl = (size_t)g->Cout * pl.bwg, lo = (size_t)pl.bwg;
        MEDCL_TRY(medcl_launch(ctx, kb, 1, &gl, &lo, NULL));
    }
    if (is_1x1(g)) {
        /* per group: dW_g (Cog x Cg) += sum_n dY_n (Cog x S) . X_n^T (S x Cg), n in order */
        gemm_operand A = {dy, (size_t)Cog * So, (size_t)g->Cout * So, (size_t)So};
        gemm_operand B = {x, (size_t)Cg * So, (size_t)g->Cin * So, (size_t)So};
        gemm_operand C = {dw, (size_t)Cog * Cg, 0, (size_t)Cg};
        MEDCL_TRY(gemm_1x1(op, ctx, g, CLBlastTransposeNo, CLBlastTransposeYes, (size_t)Cog, (size_t)Cg, (size_t)So,
                           &A, &B, 1.0f, &C));
        goto cleanup;
    }
    if (use_weight_dot(&pl, g, Cog, Ncol)) {
        st = run_bwd_weight_dot(ctx, &pl, g, x, dy, dw);
        goto cleanup;
    }
    /* fixed split of the N*So reduction: depends only on the shape and the device's table */
    int64_t kred = (int64_t)g->N * So;
    int64_t tiles = (int64_t)((Cog + pl.tm - 1) / pl.tm) * ((Ncol + pl.tn - 1) / pl.tn) * g->groups;
    int64_t want = (int64_t)pl.gpc * ctx->info.compute_units;
    int64_t chunks = (want + tiles - 1) / tiles;
    int64_t max_by_len = kred / ((int64_t)pl.tk * 8);
    int64_t total = (int64_t)g->Cout * Ncol;
    if (chunks > max_by_len) chunks = max_by_len;
    if (chunks > MAX_CHUNKS) chunks = MAX_CHUNKS;
    if (chunks * total > MAX_PARTIAL_FLOATS) chunks = MAX_PARTIAL_FLOATS / total;
    if (chunks < 1) chunks = 1;
    int64_t chunk = (int64_t)round_up((size_t)((kred + chunks - 1) / chunks), (size_t)pl.tk);
    chunks = (kred + chunk - 1) / chunk;
    bool direct = chunks == 1;
    if (!direct) MEDCL_TRY(weight_partials(ctx, chunks * total, &part));
    cl_uint mS, sS, mHW, sHW, mW, sW;
    fdiv_magic((uint32_t)So, &mS, &sS);
    fdiv_magic((uint32_t)(g->Ho * g->Wo), &mHW, &sHW);
    fdiv_magic((uint32_t)g->Wo, &mW, &sW);
    cl_kernel k;
    cl_uint i = 0;
    MEDCL_TRY(weight_kernel(ctx, &pl, "conv_bwd_weight", g, x, dy, direct ? dw : part, &k, &i));
    ARGI(k, i, chunk);
    ARGU(k, i, mS);
    ARGU(k, i, sS);
    ARGU(k, i, mHW);
    ARGU(k, i, sHW);
    ARGU(k, i, mW);
    ARGU(k, i, sW);
    ARGI(k, i, direct);
    size_t gl[3] = {round_up((size_t)Ncol, (size_t)pl.tn) / pl.tn * pl.wgs,
                    round_up((size_t)Cog, (size_t)pl.tm) / pl.tm, (size_t)g->groups * (size_t)chunks};
    size_t lo[3] = {(size_t)pl.wgs, 1, 1};
    MEDCL_TRY(medcl_launch(ctx, k, 3, gl, lo, NULL));
    if (!direct) MEDCL_TRY(weight_reduce(ctx, &pl, part, dw, total, chunks));
cleanup:
    /* back to the pool; the in-order queue makes reuse safe */
    medcl_tensor_destroy(part);
    return st;
}

/* ---- public ops: convolution ---- */

medcl_status medcl_conv_forward(const medcl_tensor *x, const medcl_tensor *w, const medcl_tensor *b,
                                medcl_tensor *y, const medcl_conv_params *p) {
    const char *op = "conv_forward";
    medcl_status st = MEDCL_OK;
    conv_geom g;
    MEDCL_TRY(geom_make(op, p, "x", x, "y", y, w, false, &g));
    MEDCL_TRY(check_bias(op, "b", b, g.Cout, x->ctx));
    MEDCL_TRY(run_fwd(op, &g, x, w, b, y, (int)p->activation, p->slope));
cleanup:
    return st;
}

medcl_status medcl_conv_backward_data(const medcl_tensor *dy, const medcl_tensor *w, medcl_tensor *dx,
                                      const medcl_conv_params *p) {
    const char *op = "conv_backward_data";
    medcl_status st = MEDCL_OK;
    conv_geom g;
    MEDCL_TRY(geom_make(op, p, "dx", dx, "dy", dy, w, false, &g));
    MEDCL_TRY(run_bwd_data(op, &g, dy, w, NULL, dx, MEDCL_ACT_NONE, 0.0f));
cleanup:
    return st;
}

medcl_status medcl_conv_backward_weight(const medcl_tensor *x, const medcl_tensor *dy, medcl_tensor *dw,
                                        medcl_tensor *db, const medcl_conv_params *p) {
    const char *op = "conv_backward_weight";
    medcl_status st = MEDCL_OK;
    conv_geom g;
    MEDCL_TRY(geom_make(op, p, "x", x, "dy", dy, dw, false, &g));
    MEDCL_TRY(check_bias(op, "db", db, g.Cout, x->ctx));
    MEDCL_TRY(run_bwd_weight(op, &g, x, dy, dw, db));
cleanup:
    return st;
}

/* ---- public ops: transposed convolution (the convolution with x and y exchanged) ---- */

medcl_status medcl_conv_transpose_forward(const medcl_tensor *x, const medcl_tensor *w,
                                          const medcl_tensor *b, medcl_tensor *y,
                                          const medcl_conv_params *p) {
    const char *op = "conv_transpose_forward";
    medcl_status st = MEDCL_OK;
    conv_geom g;
    MEDCL_TRY(geom_make(op, p, "y", y, "x", x, w, true, &g));
    MEDCL_TRY(check_bias(op, "b", b, g.Cin, x->ctx));
    MEDCL_TRY(run_bwd_data(op, &g, x, w, b, y, (int)p->activation, p->slope));
cleanup:
    return st;
}

medcl_status medcl_conv_transpose_backward_data(const medcl_tensor *dy, const medcl_tensor *w,
                                                medcl_tensor *dx, const medcl_conv_params *p) {
    const char *op = "conv_transpose_backward_data";
    medcl_status st = MEDCL_OK;
    conv_geom g;
    MEDCL_TRY(geom_make(op, p, "dy", dy, "dx", dx, w, true, &g));
    MEDCL_TRY(run_fwd(op, &g, dy, w, NULL, dx, MEDCL_ACT_NONE, 0.0f));
cleanup:
    return st;
}

medcl_status medcl_conv_transpose_backward_weight(const medcl_tensor *x, const medcl_tensor *dy,
                                                  medcl_tensor *dw, medcl_tensor *db,
                                                  const medcl_conv_params *p) {
    const char *op = "conv_transpose_backward_weight";
    medcl_status st = MEDCL_OK;
    conv_geom g;
    MEDCL_TRY(geom_make(op, p, "dy", dy, "x", x, dw, true, &g));
    MEDCL_TRY(check_bias(op, "db", db, g.Cin, x->ctx));
    /* conv weight gradient with the conv's input = dy (large) and its output gradient = x;
     * the bias gradient is over the transposed op's output channels (the conv's Cin) */
    MEDCL_TRY(run_bwd_weight(op, &g, dy, x, dw, NULL));
    if (db) {
        conv_geom gb = g;
        gb.Cout = g.Cin;
        gb.Do = g.Di;
        gb.Ho = g.Hi;
        gb.Wo = g.Wi;
        conv_plan pl;
        MEDCL_TRY(plan_get(x->ctx, 0, 0, 1, &pl));
        cl_kernel kb;
        MEDCL_TRY(medcl_kernel_get(x->ctx, PROG, pl.defines, "conv_bias_grad", &kb));
        cl_uint i = 0;
        MEDCL_CL(medcl_arg_tensor(kb, &i, dy));
        MEDCL_CL(medcl_arg_tensor(kb, &i, db));
        ARGI(kb, i, gb.N);
        ARGI(kb, i, gb.Cout);
        ARGI(kb, i, gb.Do * gb.Ho * gb.Wo);
        size_t gl = (size_t)gb.Cout * pl.bwg, lo = (size_t)pl.bwg;
        MEDCL_TRY(medcl_launch(x->ctx, kb, 1, &gl, &lo, NULL));
    }
cleanup:
    return st;
}

medcl_status medcl_conv_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    medcl_status st = MEDCL_OK;
    char seen[3][192];
    int nseen = 0;
    for (int i = 0; i < 3 && st == MEDCL_OK; i++) {
        conv_plan pl;
        st = plan_make(ctx, 0, shrink_factors[i], 0, 1, &pl);
        bool dup = false;
        for (int j = 0; j < nseen; j++) dup = dup || !strcmp(seen[j], pl.defines);
        if (st != MEDCL_OK || dup) continue;
        snprintf(seen[nseen++], sizeof seen[0], "%s", pl.defines);
        st = add(acc, PROG, pl.defines);
    }
    return st;
}
