/* src/ops/norm.c — batch, instance, group and layer normalization forward and backward
 * (cl/norm.cl): shape rules, the row/segment layout of each kind, launches and the temporary
 * partial-sum buffers. Statistics: chunked two-pass reductions merged by Chan's formula (see
 * cl/norm.cl). Not here: fused activations, the graph-level choice of saving statistics. */
#include "medcl/ops_norm.h"
#include "ops_internal.h"

#include <math.h>
#include <stdio.h>

#define PROG "norm"
#define CHUNK_ITEMS 16 /* elements per work-item per chunk: chunk = WG * CHUNK_ITEMS */

static void defines(const medcl_context *ctx, char *buf, size_t cap) {
    snprintf(buf, cap, "-DWG=%u", medcl_reduce_wg(ctx));
}

/* Layout of one normalization over x (see cl/norm.cl for the terms). */
typedef struct {
    int64_t N, C, S;     /* S = D * H * W */
    int64_t rows;        /* statistics rows */
    int64_t L;           /* contiguous run of a row */
    int64_t nseg;        /* runs per row (batch: N) */
    int64_t sstride;     /* distance between runs (batch: C * S) */
    int64_t rmod, cpr, adiv; /* affine index (r % rmod) * cpr + j / adiv */
    int64_t aff_numel;   /* gamma/beta elements */
    int64_t count;       /* elements per row */
} layout;

static medcl_status check_params(const char *op, const medcl_norm_params *p) {
    if (!p) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params is NULL", op);
    if (p->size != sizeof(medcl_norm_params))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.size = %zu, expected %zu (use MEDCL_NORM_PARAMS_INIT)", op,
                          p->size, sizeof(medcl_norm_params));
    if ((int)p->kind < 0 || p->kind >= MEDCL_NORM_KIND_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.kind = %d", op, (int)p->kind);
    if (!(p->eps > 0.0f) || !isfinite(p->eps))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.eps = %g, must be finite and > 0", op, (double)p->eps);
    if (p->kind == MEDCL_NORM_BATCH && p->training && !(p->momentum >= 0.0f && p->momentum <= 1.0f))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.momentum = %g, must be in [0, 1]", op, (double)p->momentum);
    return MEDCL_OK;
}

static medcl_status make_layout(const char *op, const medcl_norm_params *p, const medcl_tensor *x, layout *o) {
    if (x->ndim < 2 || x->ndim > 5)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: x (%s) has %d dimensions, expected (N, C[, D], H, W)", op,
                          medcl_tensor_name(x), x->ndim);
    int64_t s[5];
    medcl_tensor_ncdhw(x, s);
    o->N = s[0];
    o->C = s[1];
    o->S = s[2] * s[3] * s[4];
    switch (p->kind) {
    case MEDCL_NORM_BATCH:
        o->rows = o->C, o->L = o->S, o->nseg = o->N, o->sstride = o->C * o->S;
        o->rmod = o->C, o->cpr = 1, o->adiv = o->S, o->aff_numel = o->C;
        break;
    case MEDCL_NORM_INSTANCE:
        o->rows = o->N * o->C, o->L = o->S, o->nseg = 1, o->sstride = 0;
        o->rmod = o->C, o->cpr = 1, o->adiv = o->S, o->aff_numel = o->C;
        break;
    case MEDCL_NORM_GROUP:
        if (p->groups < 1 || o->C % p->groups != 0)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.groups = %d must divide C = %lld of x (%s)", op,
                              p->groups, (long long)o->C, medcl_tensor_name(x));
        o->rows = o->N * p->groups, o->L = (o->C / p->groups) * o->S, o->nseg = 1, o->sstride = 0;
        o->rmod = p->groups, o->cpr = o->C / p->groups, o->adiv = o->S, o->aff_numel = o->C;
        break;
    default: /* LAYER */
        o->rows = o->N, o->L = o->C * o->S, o->nseg = 1, o->sstride = 0;
        o->rmod = 1, o->cpr = 0, o->adiv = 1, o->aff_numel = o->C * o->S;
        break;
    }
    o->count = o->L * o->nseg;
    if (o->L > INT32_MAX)
        return medcl_fail(MEDCL_ERR_UNSUPPORTED, "%s: x (%s): %lld elements per normalized run exceed 2^31", op,
                          medcl_tensor_name(x), (long long)o->L);
    if (p->kind == MEDCL_NORM_BATCH && p->training && o->count < 2)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: batch norm training needs more than 1 value per channel, x (%s) has %lld",
                          op, medcl_tensor_name(x), (long long)o->count);
    return MEDCL_OK;
}

static medcl_status check_vec(const char *op, const char *role, const medcl_tensor *t, const medcl_tensor *x,
                              int64_t n) {
    medcl_status st = medcl_op_check(op, role, t, true);
    if (st != MEDCL_OK) return st;
    if (t->ctx != x->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %s and x belong to different contexts", op, role);
    if (t->numel != n)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) has %lld elements, expected %lld", op, role,
                          medcl_tensor_name(t), (long long)t->numel, (long long)n);
    return MEDCL_OK;
}

medcl_status medcl_norm_stat_count(const medcl_norm_params *p, const medcl_tensor *x, int64_t *rows) {
    const char *op = "norm_stat_count";
    layout lo;
    medcl_status st = check_params(op, p);
    if (st != MEDCL_OK) return st;
    if (!rows) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: rows is NULL", op);
    st = medcl_op_check(op, "x", x, true);
    if (st != MEDCL_OK) return st;
    st = make_layout(op, p, x, &lo);
    if (st != MEDCL_OK) return st;
    *rows = lo.rows;
    return MEDCL_OK;
}

static medcl_status temp(medcl_context *ctx, int64_t n, const char *name, medcl_tensor **out) {
    int64_t shape[1] = {n};
    return medcl_tensor_create_f32(ctx, name, 1, shape, out);
}

/* Chunk length for runs of L elements: at least WG * CHUNK_ITEMS, grown (in multiples of WG)
 * so a run has at most MAX_CHUNKS chunks — the finalizing loops over chunks stay short. A
 * function of the device and the shape only, so the summation order is fixed. */
#define MAX_CHUNKS 64
static int64_t chunk_len(const medcl_context *ctx, int64_t L) {
    int64_t wg = (int64_t)medcl_reduce_wg(ctx), ch = wg * CHUNK_ITEMS;
    int64_t need = (L + MAX_CHUNKS - 1) / MAX_CHUNKS;
    if (need > ch) ch = (need + wg - 1) / wg * wg;
    return ch;
}

/* Grid (L, rows, nseg) launch of norm_apply / norm_bwd_dx. */
static medcl_status launch_grid(medcl_context *ctx, cl_kernel k, const layout *lo) {
    size_t local[3] = {64, 1, 1};
    if (ctx->info.max_work_group < 64) local[0] = ctx->info.max_work_group;
    size_t global[3] = {(size_t)lo->L, (size_t)lo->rows, (size_t)lo->nseg};
    return medcl_launch(ctx, k, 3, global, local, NULL);
}

static cl_int arg_opt(cl_kernel k, cl_uint *i, const medcl_tensor *t) {
    if (t) return medcl_arg_tensor(k, i, t);
    cl_ulong z = 0;
    cl_int e = clSetKernelArg(k, (*i)++, sizeof(cl_mem), NULL);
    if (e != CL_SUCCESS) return e;
    return clSetKernelArg(k, (*i)++, sizeof z, &z);
}

/* Sets the grid-layout tail (L, sstride, rmod, cpr, adiv) at *i. */
static cl_int grid_args(cl_kernel k, cl_uint *i, const layout *lo) {
    cl_uint L = (cl_uint)lo->L, adiv = (cl_uint)lo->adiv;
    cl_ulong ss = (cl_ulong)lo->sstride, rmod = (cl_ulong)lo->rmod, cpr = (cl_ulong)lo->cpr;
    cl_int e;
    if ((e = MEDCL_ARG(k, (*i)++, L)) != CL_SUCCESS) return e;
    if ((e = MEDCL_ARG(k, (*i)++, ss)) != CL_SUCCESS) return e;
    if ((e = MEDCL_ARG(k, (*i)++, rmod)) != CL_SUCCESS) return e;
    if ((e = MEDCL_ARG(k, (*i)++, cpr)) != CL_SUCCESS) return e;
    return MEDCL_ARG(k, (*i)++, adiv);
}

medcl_status medcl_norm_forward(const medcl_norm_params *p, const medcl_tensor *x, const medcl_tensor *gamma,
                                const medcl_tensor *beta, medcl_tensor *y, medcl_tensor *mean, medcl_tensor *rstd,
                                medcl_tensor *running_mean, medcl_tensor *running_var) {
    medcl_status st = MEDCL_OK;
    const char *op = "norm_forward";
    medcl_tensor *part = NULL, *tmean = NULL, *trstd = NULL;
    layout lo;
    MEDCL_TRY(check_params(op, p));
    MEDCL_TRY(medcl_op_check(op, "x", x, true));
    MEDCL_TRY(medcl_op_check(op, "y", y, true));
    MEDCL_TRY(make_layout(op, p, x, &lo));
    MEDCL_TRY(medcl_op_same_numel(op, "x", x, "y", y));
    if (p->affine) {
        MEDCL_TRY(check_vec(op, "gamma", gamma, x, lo.aff_numel));
        MEDCL_TRY(check_vec(op, "beta", beta, x, lo.aff_numel));
    }
    if (!mean != !rstd)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: mean and rstd must be given together (one is NULL)", op);
    if (mean) {
        MEDCL_TRY(check_vec(op, "mean", mean, x, lo.rows));
        MEDCL_TRY(check_vec(op, "rstd", rstd, x, lo.rows));
    }
    bool batch = p->kind == MEDCL_NORM_BATCH;
    bool use_running = batch && !p->training;
    bool update = batch && p->training;
    if (batch) {
        MEDCL_TRY(check_vec(op, "running_mean", running_mean, x, lo.C));
        MEDCL_TRY(check_vec(op, "running_var", running_var, x, lo.C));
    }
    medcl_context *ctx = x->ctx;
    char defs[64];
    defines(ctx, defs, sizeof defs);
    if (!mean) {
        MEDCL_TRY(temp(ctx, lo.rows, "norm.mean", &tmean));
        MEDCL_TRY(temp(ctx, lo.rows, "norm.rstd", &trstd));
        mean = tmean;
        rstd = trstd;
    }
    cl_float eps = p->eps, mom = p->momentum;
    cl_ulong rows = (cl_ulong)lo.rows;
    cl_kernel k;
    cl_uint i = 0;
    if (use_running) {
        MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, "norm_stats_running", &k));
        MEDCL_CL(medcl_arg_tensor(k, &i, running_mean));
        MEDCL_CL(medcl_arg_tensor(k, &i, running_var));
        MEDCL_CL(MEDCL_ARG(k, i, rows));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, eps));
        i++;
        MEDCL_CL(medcl_arg_tensor(k, &i, mean));
        MEDCL_CL(medcl_arg_tensor(k, &i, rstd));
        MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)rows));
    } else {
        int64_t ch = chunk_len(ctx, lo.L);
        cl_uint nck = (cl_uint)((lo.L + ch - 1) / ch), nseg = (cl_uint)lo.nseg;
        int64_t groups = lo.rows * lo.nseg * (int64_t)nck;
        cl_ulong L = (cl_ulong)lo.L, ss = (cl_ulong)lo.sstride, chu = (cl_ulong)ch;
        MEDCL_TRY(temp(ctx, 2 * groups, "norm.partials", &part));
        MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, "norm_stats_part", &k));
        MEDCL_CL(medcl_arg_tensor(k, &i, x));
        MEDCL_CL(MEDCL_ARG(k, i, L));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, nseg));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, ss));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, nck));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, chu));
        i++;
        MEDCL_CL(clSetKernelArg(k, i, sizeof(cl_mem), &part->mem));
        size_t wg = medcl_reduce_wg(ctx), g1 = (size_t)groups * wg;
        MEDCL_TRY(medcl_launch(ctx, k, 1, &g1, &wg, NULL));

        i = 0;
        cl_int upd = update ? 1 : 0;
        MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, "norm_stats_final", &k));
        MEDCL_CL(clSetKernelArg(k, i++, sizeof(cl_mem), &part->mem));
        MEDCL_CL(MEDCL_ARG(k, i, rows));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, L));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, nseg));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, nck));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, chu));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, eps));
        i++;
        MEDCL_CL(medcl_arg_tensor(k, &i, mean));
        MEDCL_CL(medcl_arg_tensor(k, &i, rstd));
        MEDCL_CL(arg_opt(k, &i, update ? running_mean : NULL));
        MEDCL_CL(arg_opt(k, &i, update ? running_var : NULL));
        MEDCL_CL(MEDCL_ARG(k, i, upd));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, mom));
        MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)rows));
    }

    i = 0;
    cl_int aff = p->affine ? 1 : 0;
    MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, "norm_apply", &k));
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(medcl_arg_tensor(k, &i, mean));
    MEDCL_CL(medcl_arg_tensor(k, &i, rstd));
    MEDCL_CL(arg_opt(k, &i, p->affine ? gamma : NULL));
    MEDCL_CL(arg_opt(k, &i, p->affine ? beta : NULL));
    MEDCL_CL(grid_args(k, &i, &lo));
    MEDCL_CL(MEDCL_ARG(k, i, aff));
    MEDCL_TRY(launch_grid(ctx, k, &lo));
cleanup:
    /* temporaries return to the pool; the in-order queue makes their reuse safe */
    medcl_tensor_destroy(part);
    medcl_tensor_destroy(tmean);
    medcl_tensor_destroy(trstd);
    return st;
}

medcl_status medcl_norm_backward(const medcl_norm_params *p, const medcl_tensor *x, const medcl_tensor *gamma,
                                 const medcl_tensor *mean, const medcl_tensor *rstd, const medcl_tensor *dy,
                                 medcl_tensor *dx, medcl_tensor *dgamma, medcl_tensor *dbeta) {
    medcl_status st = MEDCL_OK;
    const char *op = "norm_backward";
    medcl_tensor *part = NULL, *ab = NULL;
    layout lo;
    MEDCL_TRY(check_params(op, p));
    MEDCL_TRY(medcl_op_check(op, "x", x, true));
    MEDCL_TRY(medcl_op_check(op, "dy", dy, true));
    MEDCL_TRY(make_layout(op, p, x, &lo));
    MEDCL_TRY(medcl_op_same_numel(op, "x", x, "dy", dy));
    if (!dx && !dgamma && !dbeta) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: dx, dgamma and dbeta are all NULL", op);
    if (dx) {
        MEDCL_TRY(medcl_op_check(op, "dx", dx, true));
        MEDCL_TRY(medcl_op_same_numel(op, "x", x, "dx", dx));
    }
    if (!p->affine && (dgamma || dbeta))
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: dgamma/dbeta given but params.affine = 0", op);
    if (p->affine) MEDCL_TRY(check_vec(op, "gamma", gamma, x, lo.aff_numel));
    if (dgamma) MEDCL_TRY(check_vec(op, "dgamma", dgamma, x, lo.aff_numel));
    if (dbeta) MEDCL_TRY(check_vec(op, "dbeta", dbeta, x, lo.aff_numel));
    MEDCL_TRY(check_vec(op, "mean", mean, x, lo.rows));
    MEDCL_TRY(check_vec(op, "rstd", rstd, x, lo.rows));

    medcl_context *ctx = x->ctx;
    char defs[64];
    defines(ctx, defs, sizeof defs);
    bool layer = p->kind == MEDCL_NORM_LAYER;
    bool use_ab = !(p->kind == MEDCL_NORM_BATCH && !p->training);
    bool need_part = use_ab || (!layer && (dgamma || dbeta));
    /* segments: per (n, c) runs of S elements, or per sample for layer norm */
    int64_t Ls = layer ? lo.L : lo.S, nsegs = layer ? lo.N : lo.N * lo.C;
    int64_t ch = chunk_len(ctx, Ls);
    cl_uint nck = (cl_uint)((Ls + ch - 1) / ch);
    cl_kernel k;
    cl_uint i = 0;
    if (need_part) {
        int64_t groups = nsegs * (int64_t)nck;
        cl_ulong Lsu = (cl_ulong)Ls, chu = (cl_ulong)ch, sdiv = 1, smod = (cl_ulong)lo.rows;
        if (p->kind == MEDCL_NORM_GROUP) sdiv = (cl_ulong)lo.cpr;
        cl_int ew = (layer && p->affine) ? 1 : 0;
        MEDCL_TRY(temp(ctx, 2 * groups, "norm.partials", &part));
        MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, "norm_bwd_part", &k));
        MEDCL_CL(medcl_arg_tensor(k, &i, x));
        MEDCL_CL(medcl_arg_tensor(k, &i, dy));
        MEDCL_CL(medcl_arg_tensor(k, &i, mean));
        MEDCL_CL(medcl_arg_tensor(k, &i, rstd));
        MEDCL_CL(arg_opt(k, &i, ew ? gamma : NULL));
        MEDCL_CL(MEDCL_ARG(k, i, Lsu));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, nck));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, chu));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, sdiv));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, smod));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, ew));
        i++;
        MEDCL_CL(clSetKernelArg(k, i, sizeof(cl_mem), &part->mem));
        size_t wg = medcl_reduce_wg(ctx), g1 = (size_t)groups * wg;
        MEDCL_TRY(medcl_launch(ctx, k, 1, &g1, &wg, NULL));
    }
    if (dx && use_ab) {
        /* row means of g*dy and g*dy*xhat */
        cl_ulong rows = (cl_ulong)lo.rows, cpr = 1, tstride = 1, T = 1, C = (cl_ulong)lo.C;
        if (p->kind == MEDCL_NORM_BATCH) tstride = C, T = (cl_ulong)lo.N;
        if (p->kind == MEDCL_NORM_GROUP) cpr = (cl_ulong)lo.cpr, T = cpr;
        cl_float count = (cl_float)lo.count;
        cl_int gmode = (p->affine && !layer) ? 1 : 0;
        MEDCL_TRY(temp(ctx, 2 * lo.rows, "norm.ab", &ab));
        i = 0;
        MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, "norm_bwd_rows", &k));
        MEDCL_CL(clSetKernelArg(k, i++, sizeof(cl_mem), &part->mem));
        MEDCL_CL(MEDCL_ARG(k, i, nck));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, rows));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, cpr));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, tstride));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, T));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, C));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, count));
        i++;
        MEDCL_CL(arg_opt(k, &i, gmode ? gamma : NULL));
        MEDCL_CL(MEDCL_ARG(k, i, gmode));
        i++;
        MEDCL_CL(clSetKernelArg(k, i, sizeof(cl_mem), &ab->mem));
        MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)rows));
    }
    if (dx) {
        /* dx before the parameter update: dgamma may alias nothing we read, but keep order fixed */
        cl_int aff = p->affine ? 1 : 0, uab = use_ab ? 1 : 0;
        i = 0;
        MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, "norm_bwd_dx", &k));
        MEDCL_CL(medcl_arg_tensor(k, &i, x));
        MEDCL_CL(medcl_arg_tensor(k, &i, dy));
        MEDCL_CL(medcl_arg_tensor(k, &i, mean));
        MEDCL_CL(medcl_arg_tensor(k, &i, rstd));
        MEDCL_CL(arg_opt(k, &i, aff ? gamma : NULL));
        MEDCL_CL(clSetKernelArg(k, i++, sizeof(cl_mem), ab ? &ab->mem : NULL));
        MEDCL_CL(medcl_arg_tensor(k, &i, dx));
        MEDCL_CL(grid_args(k, &i, &lo));
        MEDCL_CL(MEDCL_ARG(k, i, aff));
        i++;
        MEDCL_CL(MEDCL_ARG(k, i, uab));
        MEDCL_TRY(launch_grid(ctx, k, &lo));
    }
    if (dgamma || dbeta) {
        i = 0;
        cl_ulong N = (cl_ulong)lo.N;
        if (layer) {
            cl_ulong L = (cl_ulong)lo.L;
            MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, "norm_bwd_param_ew", &k));
            MEDCL_CL(medcl_arg_tensor(k, &i, x));
            MEDCL_CL(medcl_arg_tensor(k, &i, dy));
            MEDCL_CL(medcl_arg_tensor(k, &i, mean));
            MEDCL_CL(medcl_arg_tensor(k, &i, rstd));
            MEDCL_CL(MEDCL_ARG(k, i, N));
            i++;
            MEDCL_CL(MEDCL_ARG(k, i, L));
            i++;
            MEDCL_CL(arg_opt(k, &i, dgamma));
            MEDCL_CL(arg_opt(k, &i, dbeta));
            MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)L));
        } else {
            cl_ulong C = (cl_ulong)lo.C;
            MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, "norm_bwd_param", &k));
            MEDCL_CL(clSetKernelArg(k, i++, sizeof(cl_mem), &part->mem));
            MEDCL_CL(MEDCL_ARG(k, i, nck));
            i++;
            MEDCL_CL(MEDCL_ARG(k, i, N));
            i++;
            MEDCL_CL(MEDCL_ARG(k, i, C));
            i++;
            MEDCL_CL(arg_opt(k, &i, dgamma));
            MEDCL_CL(arg_opt(k, &i, dbeta));
            MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)C));
        }
    }
cleanup:
    medcl_tensor_destroy(part);
    medcl_tensor_destroy(ab);
    return st;
}

medcl_status medcl_norm_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    char defs[64];
    defines(ctx, defs, sizeof defs);
    return add(acc, PROG, defs);
}
