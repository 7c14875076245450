/* src/ops/loss.c — host side of the losses (include/medcl/ops_loss.h, kernels in cl/loss.cl):
 * shape and parameter checks, the fixed chunking of the deterministic reductions, launches.
 * Order: shared checks and helpers; cross-entropy and focal; BCE and MSE; the region losses
 * (Dice, Tversky) and Dice + CE; the label check; the variant list.
 * Every loss is stateless: the backward recomputes what it needs from logits and target
 * (softmax statistics, denominators, Dice sums), so no forward state has to be kept.
 * Left out: deep supervision (nn layer), per-voxel loss maps. */
#include "ops_internal.h"
#include "medcl/ops_loss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "loss"
#define MAX_GROUPS 256   /* partials of the voxel and element reductions */
#define REGION_MAX_G 64  /* chunks per (n, c) row of the region statistics */

static void defines(const medcl_context *ctx, char *buf, size_t cap) {
    snprintf(buf, cap, "-DWG=%u", medcl_reduce_wg(ctx));
}

/* Fixed chunking of n items: depends only on n and WG, so the summation order is fixed. */
static cl_ulong chunk_groups(cl_ulong n, unsigned wg, cl_ulong max_groups, cl_ulong *chunk) {
    cl_ulong groups = (n + (cl_ulong)wg * 4 - 1) / ((cl_ulong)wg * 4);
    if (groups > max_groups) groups = max_groups;
    if (groups < 1) groups = 1;
    *chunk = (n + groups - 1) / groups;
    return groups;
}

/* ---- checks ------------------------------------------------------------------------------ */

typedef struct loss_in {
    const char *op;
    medcl_context *ctx;
    const medcl_tensor *x;      /* (N, C, D, H, W) */
    const medcl_tensor *target; /* i32 (N, [1,] D, H, W) or f32 like x */
    cl_uint N, C;
    cl_ulong S;                 /* D*H*W */
    cl_int use_labels;
} loss_in;

static void shape_str(const medcl_tensor *t, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = 0;
    k += (size_t)snprintf(buf + k, cap - k, "(");
    for (int i = 0; i < t->ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, ")");
}

static bool labels_fit(const medcl_tensor *x, const medcl_tensor *t) {
    if (t->ndim == x->ndim) {
        if (t->shape[0] != x->shape[0] || t->shape[1] != 1) return false;
        for (int i = 2; i < x->ndim; i++)
            if (t->shape[i] != x->shape[i]) return false;
        return true;
    }
    if (t->ndim != x->ndim - 1 || t->shape[0] != x->shape[0]) return false;
    for (int i = 2; i < x->ndim; i++)
        if (t->shape[i - 1] != x->shape[i]) return false;
    return true;
}

/* logits and target: dtypes, contexts, shapes. allow_labels false: f32 target only. */
static medcl_status check_inputs(const char *op, const medcl_tensor *x, const medcl_tensor *t,
                                 bool allow_labels, bool min2d, loss_in *in) {
    medcl_status st = medcl_op_check(op, "logits", x, true);
    if (st != MEDCL_OK) return st;
    st = medcl_op_check(op, "target", t, false);
    if (st != MEDCL_OK) return st;
    if (x->ctx != t->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: logits and target belong to different contexts", op);
    if (min2d && x->ndim < 2)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: logits (%s) has %d dimension(s), expected (N, C, ...)",
                          op, medcl_tensor_name(x), x->ndim);
    int64_t s5[5];
    medcl_tensor_ncdhw(x, s5);
    if (s5[0] > UINT32_MAX || s5[1] > UINT32_MAX)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: logits (%s) N=%lld or C=%lld too large", op,
                          medcl_tensor_name(x), (long long)s5[0], (long long)s5[1]);
    char xs[96], ts[96];
    shape_str(x, xs, sizeof xs);
    shape_str(t, ts, sizeof ts);
    if (t->dtype == MEDCL_DTYPE_I32) {
        if (!allow_labels)
            return medcl_fail(MEDCL_ERR_INVALID_ARG,
                              "%s: target (%s) is i32 class indices; this loss takes an f32 target of "
                              "the logits' shape %s", op, medcl_tensor_name(t), xs);
        if (x->ndim < 2 || !labels_fit(x, t))
            return medcl_fail(MEDCL_ERR_SHAPE,
                              "%s: class-index target (%s) has shape %s, logits (%s) has %s; expected "
                              "the logits' shape with C = 1 or without the C axis", op,
                              medcl_tensor_name(t), ts, medcl_tensor_name(x), xs);
        in->use_labels = 1;
    } else if (t->dtype == MEDCL_DTYPE_F32) {
        bool same = t->ndim == x->ndim;
        for (int i = 0; same && i < x->ndim; i++) same = t->shape[i] == x->shape[i];
        if (!same)
            return medcl_fail(MEDCL_ERR_SHAPE,
                              "%s: f32 target (%s) has shape %s, logits (%s) has %s; soft targets need "
                              "the logits' shape (pass class indices as an i32 tensor)", op,
                              medcl_tensor_name(t), ts, medcl_tensor_name(x), xs);
        in->use_labels = 0;
    } else {
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: target (%s) has dtype %s, expected i32 or f32", op,
                          medcl_tensor_name(t), medcl_dtype_str(t->dtype));
    }
    in->op = op;
    in->ctx = x->ctx;
    in->x = x;
    in->target = t;
    in->N = (cl_uint)s5[0];
    in->C = (cl_uint)s5[1];
    in->S = (cl_ulong)(s5[2] * s5[3] * s5[4]);
    return MEDCL_OK;
}

static medcl_status check_scalar(const loss_in *in, const char *role, const medcl_tensor *t) {
    medcl_status st = medcl_op_check(in->op, role, t, true);
    if (st != MEDCL_OK) return st;
    if (t->ctx != in->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %s (%s) belongs to another context", in->op, role,
                          medcl_tensor_name(t));
    if (t->numel != 1)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) has %lld elements, expected 1", in->op, role,
                          medcl_tensor_name(t), (long long)t->numel);
    return MEDCL_OK;
}

/* optional per-class vector (weight, pos_weight): f32, C elements */
static medcl_status check_class_vec(const loss_in *in, const char *role, const medcl_tensor *w) {
    if (!w) return MEDCL_OK;
    medcl_status st = medcl_op_check(in->op, role, w, true);
    if (st != MEDCL_OK) return st;
    if (w->ctx != in->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %s (%s) belongs to another context", in->op, role,
                          medcl_tensor_name(w));
    if (w->numel != (int64_t)in->C)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) has %lld elements, logits have C = %u", in->op,
                          role, medcl_tensor_name(w), (long long)w->numel, in->C);
    return MEDCL_OK;
}

static medcl_status check_grad_out(const loss_in *in, const medcl_tensor *dloss,
                                   const medcl_tensor *dx) {
    medcl_status st = MEDCL_OK;
    if (dloss && (st = check_scalar(in, "dloss", dloss)) != MEDCL_OK) return st;
    if ((st = medcl_op_check(in->op, "dlogits", dx, true)) != MEDCL_OK) return st;
    return medcl_op_same_numel(in->op, "logits", in->x, "dlogits", dx);
}

static medcl_status check_size(const char *op, size_t got, size_t want, const char *init) {
    if (got != want)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.size = %zu, expected %zu (start from %s)",
                          op, got, want, init);
    return MEDCL_OK;
}

static medcl_status check_reduction(const char *op, medcl_loss_reduction r) {
    if ((int)r < 0 || r >= MEDCL_LOSS_REDUCTION_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.reduction = %d", op, (int)r);
    return MEDCL_OK;
}

/* Sets the target's two buffers (labels as int*, soft as float*; the unused one aliases). */
static cl_int arg_target(cl_kernel k, cl_uint *i, const loss_in *in) {
    cl_int e = medcl_arg_tensor(k, i, in->target);
    if (e != CL_SUCCESS) return e;
    return medcl_arg_tensor(k, i, in->target);
}

/* optional tensor: the tensor, or `dflt` (never read) */
static cl_int arg_opt(cl_kernel k, cl_uint *i, const medcl_tensor *t, const medcl_tensor *dflt) {
    return medcl_arg_tensor(k, i, t ? t : dflt);
}

static medcl_status scratch(medcl_context *ctx, medcl_dtype dt, int64_t n, const char *name,
                            medcl_tensor **out) {
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.dtype = dt;
    d.ndim = 1;
    d.shape[0] = n;
    d.name = name;
    return medcl_tensor_create(ctx, &d, out);
}

/* loss_finish: r = (mode 0: s0/s1, 1: s0/div, 2: 1/s1, 3: 1/div) * alpha * g; y = r or y + r */
static medcl_status finish(const loss_in *in, const medcl_tensor *part, cl_uint groups, cl_int mode,
                           float div, float alpha, const medcl_tensor *g, cl_int beta,
                           medcl_tensor *y) {
    medcl_status st = MEDCL_OK;
    char defs[64];
    defines(in->ctx, defs, sizeof defs);
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(in->ctx, PROG, defs, "loss_finish", &k));
    const medcl_tensor *pt = part ? part : y;
    cl_uint i = 0;
    cl_int use_g = g != NULL;
    if (!part) groups = 0;
    MEDCL_CL(clSetKernelArg(k, i++, sizeof(cl_mem), &pt->mem));
    MEDCL_CL(MEDCL_ARG(k, i, groups)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, mode)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, div)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, alpha)); i++;
    MEDCL_CL(arg_opt(k, &i, g, y));
    MEDCL_CL(MEDCL_ARG(k, i, use_g)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, beta)); i++;
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    size_t wg = medcl_reduce_wg(in->ctx);
    MEDCL_TRY(medcl_launch(in->ctx, k, 1, &wg, &wg, NULL));
cleanup:
    return st;
}

/* ---- cross-entropy and focal ---------------------------------------------------------------- */

typedef struct xent_cfg {
    const medcl_tensor *w; /* (C) or NULL */
    cl_int ignore;
    float eps, gamma, alpha;
    cl_int weighted_den;   /* mean divides by sum w[y] (CE with class indices) */
    bool mean;
} xent_cfg;

static cl_int xent_args(cl_kernel k, cl_uint *i, const loss_in *in, const xent_cfg *c) {
    cl_int e, use_w = c->w != NULL;
#define A(v) if ((e = MEDCL_ARG(k, *i, v)) != CL_SUCCESS) return e; (*i)++
    if ((e = medcl_arg_tensor(k, i, in->x)) != CL_SUCCESS) return e;
    if ((e = arg_target(k, i, in)) != CL_SUCCESS) return e;
    if ((e = arg_opt(k, i, c->w, in->x)) != CL_SUCCESS) return e;
    A(in->N); A(in->C); A(in->S); A(in->use_labels); A(use_w); A(c->ignore); A(c->eps);
    A(c->gamma); A(c->alpha);
#undef A
    return CL_SUCCESS;
}

/* partials (sum l_v, sum den_v) into *part (2 x groups) */
static medcl_status xent_partial(const loss_in *in, const xent_cfg *c, medcl_tensor **part,
                                 cl_uint *groups) {
    medcl_status st = MEDCL_OK;
    char defs[64];
    defines(in->ctx, defs, sizeof defs);
    unsigned wg = medcl_reduce_wg(in->ctx);
    cl_ulong chunk, g = chunk_groups((cl_ulong)in->N * in->S, wg, MAX_GROUPS, &chunk);
    MEDCL_TRY(scratch(in->ctx, MEDCL_DTYPE_F32, (int64_t)(2 * g), "loss.partials", part));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(in->ctx, PROG, defs, "xent_partial", &k));
    cl_uint i = 0;
    MEDCL_CL(xent_args(k, &i, in, c));
    MEDCL_CL(MEDCL_ARG(k, i, c->weighted_den)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, chunk)); i++;
    MEDCL_CL(clSetKernelArg(k, i, sizeof(cl_mem), &(*part)->mem));
    size_t gl = (size_t)g * wg, l = wg;
    MEDCL_TRY(medcl_launch(in->ctx, k, 1, &gl, &l, NULL));
    *groups = (cl_uint)g;
cleanup:
    return st;
}

/* loss (or y + weight * loss with beta) */
static medcl_status xent_forward(const loss_in *in, const xent_cfg *c, float weight, cl_int beta,
                                 medcl_tensor *loss) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *part = NULL;
    cl_uint groups;
    MEDCL_TRY(xent_partial(in, c, &part, &groups));
    MEDCL_TRY(finish(in, part, groups, c->mean ? 0 : 1, 1.0f, weight, NULL, beta, loss));
cleanup:
    medcl_tensor_destroy(part);
    return st;
}

/* dx = (or +=) weight * g * d loss / d x */
static medcl_status xent_backward(const loss_in *in, const xent_cfg *c, float weight,
                                  const medcl_tensor *g, cl_int beta, medcl_tensor *dx) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *part = NULL, *coef = NULL;
    cl_uint groups = 0;
    MEDCL_TRY(scratch(in->ctx, MEDCL_DTYPE_F32, 1, "loss.coef", &coef));
    if (c->mean) MEDCL_TRY(xent_partial(in, c, &part, &groups));
    MEDCL_TRY(finish(in, part, groups, c->mean ? 2 : 3, 1.0f, weight, g, 0, coef));
    cl_kernel k;
    char defs[64];
    defines(in->ctx, defs, sizeof defs);
    MEDCL_TRY(medcl_kernel_get(in->ctx, PROG, defs, "xent_bwd", &k));
    cl_uint i = 0;
    MEDCL_CL(xent_args(k, &i, in, c));
    MEDCL_CL(medcl_arg_tensor(k, &i, coef));
    MEDCL_CL(MEDCL_ARG(k, i, beta)); i++;
    MEDCL_CL(medcl_arg_tensor(k, &i, dx));
    MEDCL_TRY(medcl_launch_1d(in->ctx, k, (size_t)((cl_ulong)in->N * in->S)));
cleanup:
    medcl_tensor_destroy(part);
    medcl_tensor_destroy(coef);
    return st;
}

/* The public forward/backward pair of a loss with one setup and one kernel family: check the
 * parameters and tensors (setup), then the output, then run. */
#define LOSS_PAIR(name, ptype, cfgtype, setup, fwd, bwd)                                       \
    medcl_status medcl_##name##_loss_forward(const medcl_tensor *logits, const medcl_tensor *target, \
                                             const ptype *p, medcl_tensor *loss) {             \
        loss_in in;                                                                            \
        cfgtype c;                                                                             \
        medcl_status st = setup(#name "_loss_forward", logits, target, p, &in, &c);            \
        if (st == MEDCL_OK) st = check_scalar(&in, "loss", loss);                              \
        if (st == MEDCL_OK) st = fwd(&in, &c, 1.0f, 0, loss);                                  \
        return st;                                                                             \
    }                                                                                          \
    medcl_status medcl_##name##_loss_backward(const medcl_tensor *logits, const medcl_tensor *target, \
                                              const ptype *p, const medcl_tensor *dloss,       \
                                              medcl_tensor *dlogits) {                         \
        loss_in in;                                                                            \
        cfgtype c;                                                                             \
        medcl_status st = setup(#name "_loss_backward", logits, target, p, &in, &c);           \
        if (st == MEDCL_OK) st = check_grad_out(&in, dloss, dlogits);                          \
        if (st == MEDCL_OK) st = bwd(&in, &c, 1.0f, dloss, 0, dlogits);                        \
        return st;                                                                             \
    }

static medcl_status ce_setup(const char *op, const medcl_tensor *x, const medcl_tensor *t,
                             const medcl_ce_loss_params *pp, loss_in *in, xent_cfg *c) {
    medcl_ce_loss_params d = MEDCL_CE_LOSS_PARAMS_INIT;
    const medcl_ce_loss_params *p = pp ? pp : &d;
    medcl_status st = check_size(op, p->size, sizeof *p, "MEDCL_CE_LOSS_PARAMS_INIT");
    if (st == MEDCL_OK) st = check_reduction(op, p->reduction);
    if (st != MEDCL_OK) return st;
    if (!(p->label_smoothing >= 0.0f && p->label_smoothing <= 1.0f))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.label_smoothing = %g, expected [0, 1]", op,
                          (double)p->label_smoothing);
    if ((st = check_inputs(op, x, t, true, true, in)) != MEDCL_OK) return st;
    if ((st = check_class_vec(in, "weight", p->weight)) != MEDCL_OK) return st;
    c->w = p->weight;
    c->ignore = p->ignore_index;
    c->eps = p->label_smoothing;
    c->gamma = 0.0f;
    c->alpha = -1.0f;
    c->weighted_den = in->use_labels;
    c->mean = p->reduction == MEDCL_LOSS_REDUCTION_MEAN;
    return MEDCL_OK;
}

LOSS_PAIR(ce, medcl_ce_loss_params, xent_cfg, ce_setup, xent_forward, xent_backward)

static medcl_status focal_setup(const char *op, const medcl_tensor *x, const medcl_tensor *t,
                                const medcl_focal_loss_params *pp, loss_in *in, xent_cfg *c) {
    medcl_focal_loss_params d = MEDCL_FOCAL_LOSS_PARAMS_INIT;
    const medcl_focal_loss_params *p = pp ? pp : &d;
    medcl_status st = check_size(op, p->size, sizeof *p, "MEDCL_FOCAL_LOSS_PARAMS_INIT");
    if (st == MEDCL_OK) st = check_reduction(op, p->reduction);
    if (st != MEDCL_OK) return st;
    if (!(p->gamma >= 0.0f && isfinite(p->gamma)))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.gamma = %g, expected >= 0", op,
                          (double)p->gamma);
    if (!(p->alpha <= 1.0f)) /* NaN fails too */
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.alpha = %g, expected [0, 1] or < 0", op,
                          (double)p->alpha);
    if ((st = check_inputs(op, x, t, true, true, in)) != MEDCL_OK) return st;
    if ((st = check_class_vec(in, "weight", p->weight)) != MEDCL_OK) return st;
    c->w = p->weight;
    c->ignore = p->ignore_index;
    c->eps = 0.0f;
    c->gamma = p->gamma;
    c->alpha = p->alpha < 0.0f ? -1.0f : p->alpha;
    c->weighted_den = 0;
    c->mean = p->reduction == MEDCL_LOSS_REDUCTION_MEAN;
    return MEDCL_OK;
}

LOSS_PAIR(focal, medcl_focal_loss_params, xent_cfg, focal_setup, xent_forward, xent_backward)

/* ---- binary cross-entropy and squared error ------------------------------------------------- */

#define ELEM_BCE 0
#define ELEM_MSE 1

static cl_int elem_args(cl_kernel k, cl_uint *i, const loss_in *in, const medcl_tensor *pw,
                        cl_int kind) {
    cl_int e, use_pw = pw != NULL;
    cl_ulong n = (cl_ulong)in->x->numel;
#define A(v) if ((e = MEDCL_ARG(k, *i, v)) != CL_SUCCESS) return e; (*i)++
    if ((e = medcl_arg_tensor(k, i, in->x)) != CL_SUCCESS) return e;
    if ((e = arg_target(k, i, in)) != CL_SUCCESS) return e;
    if ((e = arg_opt(k, i, pw, in->x)) != CL_SUCCESS) return e;
    A(in->C); A(in->S); A(n); A(in->use_labels); A(use_pw); A(kind);
#undef A
    return CL_SUCCESS;
}

static medcl_status elem_forward(const loss_in *in, const medcl_tensor *pw, cl_int kind, bool mean,
                                 medcl_tensor *loss) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *part = NULL;
    char defs[64];
    defines(in->ctx, defs, sizeof defs);
    unsigned wg = medcl_reduce_wg(in->ctx);
    cl_ulong chunk, g = chunk_groups((cl_ulong)in->x->numel, wg, MAX_GROUPS, &chunk);
    MEDCL_TRY(scratch(in->ctx, MEDCL_DTYPE_F32, (int64_t)(2 * g), "loss.partials", &part));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(in->ctx, PROG, defs, "elem_partial", &k));
    cl_uint i = 0;
    MEDCL_CL(elem_args(k, &i, in, pw, kind));
    MEDCL_CL(MEDCL_ARG(k, i, chunk)); i++;
    MEDCL_CL(clSetKernelArg(k, i, sizeof(cl_mem), &part->mem));
    size_t gl = (size_t)g * wg, l = wg;
    MEDCL_TRY(medcl_launch(in->ctx, k, 1, &gl, &l, NULL));
    MEDCL_TRY(finish(in, part, (cl_uint)g, 1, mean ? (float)in->x->numel : 1.0f, 1.0f, NULL, 0,
                     loss));
cleanup:
    medcl_tensor_destroy(part);
    return st;
}

static medcl_status elem_backward(const loss_in *in, const medcl_tensor *pw, cl_int kind, bool mean,
                                  const medcl_tensor *g, medcl_tensor *dx) {
    medcl_status st = MEDCL_OK;
    char defs[64];
    defines(in->ctx, defs, sizeof defs);
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(in->ctx, PROG, defs, "elem_bwd", &k));
    cl_uint i = 0;
    cl_int use_g = g != NULL;
    float div = mean ? (float)in->x->numel : 1.0f;
    MEDCL_CL(elem_args(k, &i, in, pw, kind));
    MEDCL_CL(arg_opt(k, &i, g, in->x));
    MEDCL_CL(MEDCL_ARG(k, i, use_g)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, div)); i++;
    MEDCL_CL(medcl_arg_tensor(k, &i, dx));
    MEDCL_TRY(medcl_launch_1d(in->ctx, k, (size_t)in->x->numel));
cleanup:
    return st;
}

static medcl_status bce_setup(const char *op, const medcl_tensor *x, const medcl_tensor *t,
                              const medcl_bce_loss_params *pp, loss_in *in,
                              const medcl_tensor **pw, bool *mean) {
    medcl_bce_loss_params d = MEDCL_BCE_LOSS_PARAMS_INIT;
    const medcl_bce_loss_params *p = pp ? pp : &d;
    medcl_status st = check_size(op, p->size, sizeof *p, "MEDCL_BCE_LOSS_PARAMS_INIT");
    if (st == MEDCL_OK) st = check_reduction(op, p->reduction);
    if (st == MEDCL_OK) st = check_inputs(op, x, t, true, true, in);
    if (st == MEDCL_OK) st = check_class_vec(in, "pos_weight", p->pos_weight);
    *pw = p->pos_weight;
    *mean = p->reduction == MEDCL_LOSS_REDUCTION_MEAN;
    return st;
}

medcl_status medcl_bce_loss_forward(const medcl_tensor *logits, const medcl_tensor *target,
                                    const medcl_bce_loss_params *p, medcl_tensor *loss) {
    loss_in in;
    const medcl_tensor *pw;
    bool mean;
    medcl_status st = bce_setup("bce_loss_forward", logits, target, p, &in, &pw, &mean);
    if (st == MEDCL_OK) st = check_scalar(&in, "loss", loss);
    if (st == MEDCL_OK) st = elem_forward(&in, pw, ELEM_BCE, mean, loss);
    return st;
}

medcl_status medcl_bce_loss_backward(const medcl_tensor *logits, const medcl_tensor *target,
                                     const medcl_bce_loss_params *p, const medcl_tensor *dloss,
                                     medcl_tensor *dlogits) {
    loss_in in;
    const medcl_tensor *pw;
    bool mean;
    medcl_status st = bce_setup("bce_loss_backward", logits, target, p, &in, &pw, &mean);
    if (st == MEDCL_OK) st = check_grad_out(&in, dloss, dlogits);
    if (st == MEDCL_OK) st = elem_backward(&in, pw, ELEM_BCE, mean, dloss, dlogits);
    return st;
}

static medcl_status mse_setup(const char *op, const medcl_tensor *x, const medcl_tensor *t,
                              const medcl_mse_loss_params *pp, loss_in *in, bool *mean) {
    medcl_mse_loss_params d = MEDCL_MSE_LOSS_PARAMS_INIT;
    const medcl_mse_loss_params *p = pp ? pp : &d;
    medcl_status st = check_size(op, p->size, sizeof *p, "MEDCL_MSE_LOSS_PARAMS_INIT");
    if (st == MEDCL_OK) st = check_reduction(op, p->reduction);
    if (st == MEDCL_OK) st = check_inputs(op, x, t, true, false, in);
    *mean = p->reduction == MEDCL_LOSS_REDUCTION_MEAN;
    return st;
}

medcl_status medcl_mse_loss_forward(const medcl_tensor *x, const medcl_tensor *target,
                                    const medcl_mse_loss_params *p, medcl_tensor *loss) {
    loss_in in;
    bool mean;
    medcl_status st = mse_setup("mse_loss_forward", x, target, p, &in, &mean);
    if (st == MEDCL_OK) st = check_scalar(&in, "loss", loss);
    if (st == MEDCL_OK) st = elem_forward(&in, NULL, ELEM_MSE, mean, loss);
    return st;
}

medcl_status medcl_mse_loss_backward(const medcl_tensor *x, const medcl_tensor *target,
                                     const medcl_mse_loss_params *p, const medcl_tensor *dloss,
                                     medcl_tensor *dx) {
    loss_in in;
    bool mean;
    medcl_status st = mse_setup("mse_loss_backward", x, target, p, &in, &mean);
    if (st == MEDCL_OK) st = check_grad_out(&in, dloss, dx);
    if (st == MEDCL_OK) st = elem_backward(&in, NULL, ELEM_MSE, mean, dloss, dx);
    return st;
}

/* ---- region losses: Dice, Tversky, Dice + CE ------------------------------------------------ */

/* r = (kI I + snr) / max(dI I + dP P + dG G + sdr, clip); loss = c0 + sign * mean(r) */
typedef struct region_cfg {
    cl_uint c_first;
    cl_int batch, sigmoid, ignore;
    float kI, dI, dP, dG, snr, sdr, clip, c0, sign;
} region_cfg;

/* probabilities, then the per-(n, c) chunk partials of (I, G, P): *part has N*C*G*3 */
static medcl_status region_stats(const loss_in *in, const region_cfg *c, medcl_tensor **part,
                                 cl_uint *G) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *p = NULL;
    char defs[64];
    defines(in->ctx, defs, sizeof defs);
    unsigned wg = medcl_reduce_wg(in->ctx);
    MEDCL_TRY(scratch(in->ctx, MEDCL_DTYPE_F32, in->x->numel, "loss.probs", &p));
    cl_kernel kp, k;
    MEDCL_TRY(medcl_kernel_get(in->ctx, PROG, defs, "region_probs", &kp));
    MEDCL_TRY(medcl_kernel_get(in->ctx, PROG, defs, "region_partial", &k));
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(kp, &i, in->x));
    MEDCL_CL(MEDCL_ARG(kp, i, in->N)); i++;
    MEDCL_CL(MEDCL_ARG(kp, i, in->C)); i++;
    MEDCL_CL(MEDCL_ARG(kp, i, in->S)); i++;
    MEDCL_CL(MEDCL_ARG(kp, i, c->sigmoid)); i++;
    MEDCL_CL(medcl_arg_tensor(kp, &i, p));
    MEDCL_TRY(medcl_launch_1d(in->ctx, kp, (size_t)((cl_ulong)in->N * in->S)));

    cl_ulong chunk, g = chunk_groups(in->S, wg, REGION_MAX_G, &chunk);
    cl_ulong rows = (cl_ulong)in->N * in->C;
    MEDCL_TRY(scratch(in->ctx, MEDCL_DTYPE_F32, (int64_t)(rows * g * 3), "loss.region_partials", part));
    cl_uint gu = (cl_uint)g;
    i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, p));
    MEDCL_CL(arg_target(k, &i, in));
    MEDCL_CL(MEDCL_ARG(k, i, in->C)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, in->S)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, in->use_labels)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, c->ignore)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, gu)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, chunk)); i++;
    MEDCL_CL(clSetKernelArg(k, i, sizeof(cl_mem), &(*part)->mem));
    size_t gl = (size_t)(rows * g) * wg, l = wg;
    MEDCL_TRY(medcl_launch(in->ctx, k, 1, &gl, &l, NULL));
    *G = gu;
cleanup:
    medcl_tensor_destroy(p);
    return st;
}

static medcl_status region_finish(const loss_in *in, const region_cfg *c, const medcl_tensor *part,
                                  cl_uint G, float weight, const medcl_tensor *g, cl_int beta,
                                  medcl_tensor *loss, medcl_tensor *coef) {
    medcl_status st = MEDCL_OK;
    char defs[64];
    defines(in->ctx, defs, sizeof defs);
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(in->ctx, PROG, defs, "region_finish", &k));
    cl_int use_g = g != NULL, wl = loss != NULL, wc = coef != NULL;
    const medcl_tensor *y = loss ? loss : part;
    cl_uint i = 0;
    MEDCL_CL(clSetKernelArg(k, i++, sizeof(cl_mem), &part->mem));
#define A(v) MEDCL_CL(MEDCL_ARG(k, i, v)); i++
    A(in->N); A(in->C); A(G); A(c->c_first); A(c->batch); A(c->kI); A(c->dI); A(c->dP); A(c->dG);
    A(c->snr); A(c->sdr); A(c->clip); A(c->c0); A(c->sign); A(weight);
    MEDCL_CL(arg_opt(k, &i, g, part));
    A(use_g); A(wl); A(beta);
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    A(wc);
#undef A
    MEDCL_CL(clSetKernelArg(k, i, sizeof(cl_mem), coef ? &coef->mem : &part->mem));
    size_t one = 1;
    MEDCL_TRY(medcl_launch(in->ctx, k, 1, &one, &one, NULL));
cleanup:
    return st;
}

static medcl_status region_forward(const loss_in *in, const region_cfg *c, float weight,
                                   cl_int beta, medcl_tensor *loss) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *part = NULL;
    cl_uint G;
    MEDCL_TRY(region_stats(in, c, &part, &G));
    MEDCL_TRY(region_finish(in, c, part, G, weight, NULL, beta, loss, NULL));
cleanup:
    medcl_tensor_destroy(part);
    return st;
}

static medcl_status region_backward(const loss_in *in, const region_cfg *c, float weight,
                                    const medcl_tensor *g, cl_int beta, medcl_tensor *dx) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *part = NULL, *coef = NULL;
    cl_uint G;
    char defs[64];
    defines(in->ctx, defs, sizeof defs);
    MEDCL_TRY(region_stats(in, c, &part, &G));
    MEDCL_TRY(scratch(in->ctx, MEDCL_DTYPE_F32, (int64_t)in->N * in->C * 2, "loss.region_coef", &coef));
    MEDCL_TRY(region_finish(in, c, part, G, weight, g, 0, NULL, coef));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(in->ctx, PROG, defs, "region_bwd", &k));
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, in->x));
    MEDCL_CL(arg_target(k, &i, in));
#define A(v) MEDCL_CL(MEDCL_ARG(k, i, v)); i++
    A(in->N); A(in->C); A(in->S); A(in->use_labels); A(c->ignore); A(c->sigmoid);
#undef A
    MEDCL_CL(clSetKernelArg(k, i++, sizeof(cl_mem), &coef->mem));
    MEDCL_CL(MEDCL_ARG(k, i, beta)); i++;
    MEDCL_CL(medcl_arg_tensor(k, &i, dx));
    MEDCL_TRY(medcl_launch_1d(in->ctx, k, (size_t)((cl_ulong)in->N * in->S)));
cleanup:
    medcl_tensor_destroy(part);
    medcl_tensor_destroy(coef);
    return st;
}

static medcl_status region_common(const char *op, const medcl_tensor *x, const medcl_tensor *t,
                                  int include_bg, float snr, float sdr, medcl_loss_nonlin nonlin,
                                  loss_in *in, region_cfg *c) {
    medcl_status st = check_inputs(op, x, t, true, true, in);
    if (st != MEDCL_OK) return st;
    if ((int)nonlin < 0 || nonlin >= MEDCL_LOSS_NONLIN_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.nonlin = %d", op, (int)nonlin);
    if (!(snr >= 0.0f && isfinite(snr)) || !(sdr >= 0.0f && isfinite(sdr)))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.smooth_nr = %g, smooth_dr = %g, expected >= 0",
                          op, (double)snr, (double)sdr);
    if (!include_bg && in->C < 2)
        return medcl_fail(MEDCL_ERR_SHAPE,
                          "%s: include_background = 0 needs C >= 2, logits (%s) have C = %u", op,
                          medcl_tensor_name(x), in->C);
    memset(c, 0, sizeof *c);
    c->c_first = include_bg ? 0 : 1;
    c->sigmoid = nonlin == MEDCL_LOSS_NONLIN_SIGMOID;
    c->snr = snr;
    c->sdr = sdr;
    c->sign = -1.0f;
    return MEDCL_OK;
}

static medcl_status dice_setup(const char *op, const medcl_tensor *x, const medcl_tensor *t,
                               const medcl_dice_loss_params *pp, loss_in *in, region_cfg *c) {
    medcl_dice_loss_params d = MEDCL_DICE_LOSS_PARAMS_INIT;
    const medcl_dice_loss_params *p = pp ? pp : &d;
    medcl_status st = check_size(op, p->size, sizeof *p, "MEDCL_DICE_LOSS_PARAMS_NNUNET_INIT");
    if (st != MEDCL_OK) return st;
    if ((int)p->form < 0 || p->form >= MEDCL_DICE_FORM_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.form = %d", op, (int)p->form);
    if (!(p->clip_min >= 0.0f && isfinite(p->clip_min)))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.clip_min = %g, expected >= 0", op,
                          (double)p->clip_min);
    st = region_common(op, x, t, p->include_background, p->smooth_nr, p->smooth_dr, p->nonlin, in, c);
    if (st != MEDCL_OK) return st;
    c->batch = p->batch_dice != 0;
    c->ignore = p->ignore_index;
    c->kI = 2.0f;
    c->dI = 0.0f;
    c->dP = 1.0f;
    c->dG = 1.0f;
    c->clip = p->clip_min;
    c->c0 = p->form == MEDCL_DICE_FORM_MONAI ? 1.0f : 0.0f;
    return MEDCL_OK;
}

LOSS_PAIR(dice, medcl_dice_loss_params, region_cfg, dice_setup, region_forward, region_backward)

static medcl_status tversky_setup(const char *op, const medcl_tensor *x, const medcl_tensor *t,
                                  const medcl_tversky_loss_params *pp, loss_in *in, region_cfg *c) {
    medcl_tversky_loss_params d = MEDCL_TVERSKY_LOSS_PARAMS_INIT;
    const medcl_tversky_loss_params *p = pp ? pp : &d;
    medcl_status st = check_size(op, p->size, sizeof *p, "MEDCL_TVERSKY_LOSS_PARAMS_INIT");
    if (st != MEDCL_OK) return st;
    if (!(p->alpha >= 0.0f && isfinite(p->alpha)) || !(p->beta >= 0.0f && isfinite(p->beta)))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.alpha = %g, beta = %g, expected >= 0", op,
                          (double)p->alpha, (double)p->beta);
    st = region_common(op, x, t, p->include_background, p->smooth_nr, p->smooth_dr, p->nonlin, in, c);
    if (st != MEDCL_OK) return st;
    c->batch = p->batch != 0;
    c->ignore = p->ignore_index;
    /* den = I + a (P - I) + b (G - I) + s = (1 - a - b) I + a P + b G + s */
    c->kI = 1.0f;
    c->dI = (1.0f - p->alpha) - p->beta;
    c->dP = p->alpha;
    c->dG = p->beta;
    c->clip = 0.0f;
    c->c0 = 1.0f;
    return MEDCL_OK;
}

LOSS_PAIR(tversky, medcl_tversky_loss_params, region_cfg, tversky_setup, region_forward, region_backward)

static medcl_status dice_ce_setup(const char *op, const medcl_tensor *x, const medcl_tensor *t,
                                  const medcl_dice_ce_loss_params *pp, loss_in *in, xent_cfg *xc,
                                  region_cfg *rc, float *wce, float *wdc) {
    medcl_dice_ce_loss_params d = MEDCL_DICE_CE_LOSS_PARAMS_INIT;
    const medcl_dice_ce_loss_params *p = pp ? pp : &d;
    medcl_status st = check_size(op, p->size, sizeof *p, "MEDCL_DICE_CE_LOSS_PARAMS_INIT");
    if (st != MEDCL_OK) return st;
    if (!isfinite(p->weight_ce) || !isfinite(p->weight_dice))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.weight_ce = %g, weight_dice = %g", op,
                          (double)p->weight_ce, (double)p->weight_dice);
    if ((st = ce_setup(op, x, t, &p->ce, in, xc)) != MEDCL_OK) return st;
    if ((st = dice_setup(op, x, t, &p->dice, in, rc)) != MEDCL_OK) return st;
    *wce = p->weight_ce;
    *wdc = p->weight_dice;
    return MEDCL_OK;
}

medcl_status medcl_dice_ce_loss_forward(const medcl_tensor *logits, const medcl_tensor *target,
                                        const medcl_dice_ce_loss_params *p, medcl_tensor *loss) {
    loss_in in;
    xent_cfg xc;
    region_cfg rc;
    float wce = 0.0f, wdc = 0.0f;
    medcl_status st = dice_ce_setup("dice_ce_loss_forward", logits, target, p, &in, &xc, &rc, &wce, &wdc);
    if (st == MEDCL_OK) st = check_scalar(&in, "loss", loss);
    if (st != MEDCL_OK) return st;
    if (wce != 0.0f || wdc == 0.0f) st = xent_forward(&in, &xc, wce, 0, loss);
    if (st == MEDCL_OK && wdc != 0.0f) st = region_forward(&in, &rc, wdc, wce != 0.0f, loss);
    return st;
}

medcl_status medcl_dice_ce_loss_backward(const medcl_tensor *logits, const medcl_tensor *target,
                                         const medcl_dice_ce_loss_params *p,
                                         const medcl_tensor *dloss, medcl_tensor *dlogits) {
    loss_in in;
    xent_cfg xc;
    region_cfg rc;
    float wce = 0.0f, wdc = 0.0f;
    medcl_status st = dice_ce_setup("dice_ce_loss_backward", logits, target, p, &in, &xc, &rc, &wce, &wdc);
    if (st == MEDCL_OK) st = check_grad_out(&in, dloss, dlogits);
    if (st != MEDCL_OK) return st;
    if (wdc != 0.0f) st = region_backward(&in, &rc, wdc, dloss, 0, dlogits);
    if (st == MEDCL_OK && (wce != 0.0f || wdc == 0.0f))
        st = xent_backward(&in, &xc, wce, dloss, wdc != 0.0f, dlogits);
    return st;
}

/* ---- label check ---------------------------------------------------------------------------- */

medcl_status medcl_loss_labels_check(const medcl_tensor *labels, int num_classes, int ignore_index) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *out = NULL;
    uint32_t *h = NULL;
    const char *op = "loss_labels_check";
    MEDCL_TRY(medcl_op_check(op, "labels", labels, false));
    if (labels->dtype != MEDCL_DTYPE_I32)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: labels (%s) has dtype %s, expected i32", op,
                   medcl_tensor_name(labels), medcl_dtype_str(labels->dtype));
    if (num_classes < 1)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: num_classes = %d", op, num_classes);
    medcl_context *ctx = labels->ctx;
    char defs[64];
    defines(ctx, defs, sizeof defs);
    unsigned wg = medcl_reduce_wg(ctx);
    cl_ulong n = (cl_ulong)labels->numel, chunk, g = chunk_groups(n, wg, MAX_GROUPS, &chunk);
    MEDCL_TRY(scratch(ctx, MEDCL_DTYPE_I32, (int64_t)(4 * g), "loss.label_check", &out));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, "label_check", &k));
    cl_uint i = 0;
    cl_int C = num_classes, ign = ignore_index;
    MEDCL_CL(medcl_arg_tensor(k, &i, labels));
    MEDCL_CL(MEDCL_ARG(k, i, n)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, C)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, ign)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, chunk)); i++;
    MEDCL_CL(clSetKernelArg(k, i, sizeof(cl_mem), &out->mem));
    size_t gl = (size_t)g * wg, l = wg;
    MEDCL_TRY(medcl_launch(ctx, k, 1, &gl, &l, NULL));
    h = malloc((size_t)(4 * g) * sizeof *h);
    if (!h) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", op);
    MEDCL_TRY(medcl_tensor_download(out, h, (size_t)(4 * g) * sizeof *h));
    uint64_t count = 0;
    for (cl_ulong j = 0; j < g; j++) {
        if (h[4 * j] && !count) {
            uint64_t first = (uint64_t)h[4 * j + 1] | ((uint64_t)h[4 * j + 2] << 32);
            count += h[4 * j];
            for (cl_ulong r = j + 1; r < g; r++) count += h[4 * r];
            MEDCL_FAIL(MEDCL_ERR_INVALID_ARG,
                       "%s: labels (%s) has %llu label(s) outside [0, %d) other than ignore_index %d; "
                       "the first is %d at element %llu", op, medcl_tensor_name(labels),
                       (unsigned long long)count, num_classes, ignore_index, (int32_t)h[4 * j + 3],
                       (unsigned long long)first);
        }
    }
cleanup:
    free(h);
    medcl_tensor_destroy(out);
    return st;
}

/* ---- variants ------------------------------------------------------------------------------- */

medcl_status medcl_loss_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    char defs[64];
    defines(ctx, defs, sizeof defs);
    return add(acc, PROG, defs);
}
