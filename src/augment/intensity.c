/* src/augment/intensity.c — launches of the intensity transforms (cl/augment_intensity.cl)
 * and of the k-space artifacts (cl/augment_kspace.cl: to complex, three DFT passes, modify,
 * three inverse passes, real part back for the samples and channels hit). */
#include "augment_internal.h"

#include <stdio.h>

#define PROG "augment_intensity"
#define KPROG "augment_kspace"

static void wg_defs(medcl_context *ctx, char *b, size_t cap) { snprintf(b, cap, "-DWG=%u", medcl_reduce_wg(ctx)); }

/* per-(n, c) mean, std, min, max of x into st */
static medcl_status stats(const aug_run *r, const medcl_tensor *x, medcl_tensor *out) {
    medcl_status st = MEDCL_OK;
    char defs[32];
    wg_defs(r->ctx, defs, sizeof defs);
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(r->ctx, PROG, defs, "aug_stats", &k));
    cl_uint i = 0;
    cl_ulong V = (cl_ulong)(r->g->out[0] * r->g->out[1] * r->g->out[2]);
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, out));
    MEDCL_CL(MEDCL_ARG(k, i, V));
    size_t wg = medcl_reduce_wg(r->ctx), gl = (size_t)(r->g->n * r->g->c) * wg;
    MEDCL_TRY(medcl_launch(r->ctx, k, 1, &gl, &wg, NULL));
cleanup:
    return st;
}

static medcl_status pointwise(const aug_run *r, medcl_tensor *x, int kind) {
    medcl_status st = MEDCL_OK;
    char defs[32];
    wg_defs(r->ctx, defs, sizeof defs);
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(r->ctx, PROG, defs, "aug_pointwise", &k));
    const aug_geom *g = r->g;
    cl_uint i = 0, N = (cl_uint)g->n, C = (cl_uint)g->c, D = (cl_uint)g->out[0], H = (cl_uint)g->out[1],
            W = (cl_uint)g->out[2], stream = AUG_STREAM_DEV(r->ti), ep = r->epoch, s0 = r->sample0;
    cl_int kd = kind, inv = r->t->invert, ret = r->t->retain_stats, pres = r->t->preserve_range;
    cl_float value = r->t->value;
    cl_ulong seed = r->seed;
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, r->params));
    MEDCL_CL(medcl_arg_tensor(k, &i, r->stats));
    MEDCL_CL(medcl_arg_tensor(k, &i, r->stats2));
    const cl_uint u[5] = {N, C, D, H, W};
    for (int a = 0; a < 5; a++) {
        MEDCL_CL(MEDCL_ARG(k, i, u[a]));
        i++;
    }
    MEDCL_CL(MEDCL_ARG(k, i, kd)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, inv)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, ret)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, pres)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, value)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, seed)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, stream)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, ep)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, s0)); i++;
    MEDCL_TRY(medcl_launch_1d(r->ctx, k, (size_t)(g->n * g->c * D * H * W)));
cleanup:
    return st;
}

/* x -> y through kernel kname (blur pass along axis, or low resolution when axis < 0) */
static medcl_status xy_pass(const aug_run *r, const char *kname, const medcl_tensor *x, medcl_tensor *y,
                            int axis) {
    medcl_status st = MEDCL_OK;
    char defs[32];
    wg_defs(r->ctx, defs, sizeof defs);
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(r->ctx, PROG, defs, kname, &k));
    const aug_geom *g = r->g;
    cl_uint i = 0;
    const cl_uint u[5] = {(cl_uint)g->n, (cl_uint)g->c, (cl_uint)g->out[0], (cl_uint)g->out[1], (cl_uint)g->out[2]};
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(medcl_arg_tensor(k, &i, r->params));
    for (int a = 0; a < 5; a++) {
        MEDCL_CL(MEDCL_ARG(k, i, u[a]));
        i++;
    }
    if (axis >= 0) {
        cl_int ax = axis;
        MEDCL_CL(MEDCL_ARG(k, i, ax));
    }
    MEDCL_TRY(medcl_launch_1d(r->ctx, k, (size_t)(g->n * g->c * g->out[0] * g->out[1] * g->out[2])));
cleanup:
    return st;
}

medcl_status aug_intensity_run(const aug_run *r, medcl_tensor *img) {
    medcl_status st = MEDCL_OK;
    const medcl_augment_transform *t = r->t;
    switch (t->kind) {
    case MEDCL_AUGMENT_CONTRAST:
        MEDCL_TRY(stats(r, img, r->stats));
        MEDCL_TRY(pointwise(r, img, (int)t->kind));
        break;
    case MEDCL_AUGMENT_GAMMA:
        MEDCL_TRY(stats(r, img, r->stats));
        MEDCL_TRY(pointwise(r, img, (int)t->kind));
        if (t->retain_stats) {
            MEDCL_TRY(stats(r, img, r->stats2));
            MEDCL_TRY(pointwise(r, img, 100));
        }
        break;
    case MEDCL_AUGMENT_GAUSSIAN_BLUR: {
        /* passes alternate img -> scratch -> img; an odd count ends with a copy back */
        medcl_tensor *a = img, *b = r->scratch;
        int passes = 0;
        for (int ax = r->g->out[0] > 1 ? 0 : 1; ax < 3; ax++) {
            MEDCL_TRY(xy_pass(r, "aug_blur_axis", a, b, ax));
            medcl_tensor *tmp = a;
            a = b;
            b = tmp;
            passes++;
        }
        if (passes % 2) MEDCL_TRY(medcl_copy(img, r->scratch));
        break;
    }
    case MEDCL_AUGMENT_LOW_RES:
        MEDCL_TRY(xy_pass(r, "aug_lowres", img, r->scratch, -1));
        MEDCL_TRY(medcl_copy(img, r->scratch));
        break;
    default: MEDCL_TRY(pointwise(r, img, (int)t->kind)); break;
    }
cleanup:
    return st;
}

static medcl_status dft(const aug_run *r, const medcl_tensor *zi, medcl_tensor *zo, int axis, float sign) {
    medcl_status st = MEDCL_OK;
    char defs[32];
    wg_defs(r->ctx, defs, sizeof defs);
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(r->ctx, KPROG, defs, "aug_dft_axis", &k));
    const aug_geom *g = r->g;
    cl_uint i = 0, D = (cl_uint)g->out[0], H = (cl_uint)g->out[1], W = (cl_uint)g->out[2];
    cl_ulong NC = (cl_ulong)(g->n * g->c);
    cl_int ax = axis;
    cl_float sg = sign;
    MEDCL_CL(medcl_arg_tensor(k, &i, zi));
    MEDCL_CL(medcl_arg_tensor(k, &i, zo));
    MEDCL_CL(MEDCL_ARG(k, i, NC)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, D)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, H)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, W)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, ax)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, sg)); i++;
    MEDCL_TRY(medcl_launch_1d(r->ctx, k, (size_t)(NC * D * H * W)));
cleanup:
    return st;
}

medcl_status aug_kspace_run(const aug_run *r, medcl_tensor *img) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *za = NULL, *zb = NULL;
    const aug_geom *g = r->g;
    medcl_context *ctx = r->ctx;
    char defs[32];
    wg_defs(ctx, defs, sizeof defs);
    int64_t V = g->out[0] * g->out[1] * g->out[2], n = g->n * g->c * V;
    /* two complex buffers in scratch2: [0, 2n) and [2n, 4n) */
    int64_t shp[2] = {2, 2 * n};
    medcl_tensor *z2 = NULL;
    MEDCL_TRY(medcl_tensor_view_reshape(r->scratch2, 2, shp, &z2));
    st = medcl_tensor_view_n(z2, 0, 1, &za);
    if (st == MEDCL_OK) st = medcl_tensor_view_n(z2, 1, 1, &zb);
    medcl_tensor_destroy(z2);
    if (st != MEDCL_OK) goto cleanup;
    cl_kernel k;
    cl_uint i = 0;
    cl_ulong nn = (cl_ulong)n;
    MEDCL_TRY(medcl_kernel_get(ctx, KPROG, defs, "aug_to_complex", &k));
    MEDCL_CL(medcl_arg_tensor(k, &i, img));
    MEDCL_CL(medcl_arg_tensor(k, &i, za));
    MEDCL_CL(MEDCL_ARG(k, i, nn));
    MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)n));
    medcl_tensor *a = za, *b = zb;
    for (int ax = 0; ax < 3; ax++) {
        if (g->out[ax] == 1) continue;
        MEDCL_TRY(dft(r, a, b, ax, -1.0f));
        medcl_tensor *tmp = a;
        a = b;
        b = tmp;
    }
    if (r->t->kind == MEDCL_AUGMENT_SPIKE) {
        MEDCL_TRY(medcl_kernel_get(ctx, KPROG, defs, "aug_cabsmax", &k));
        i = 0;
        cl_ulong vv = (cl_ulong)V;
        MEDCL_CL(medcl_arg_tensor(k, &i, a));
        MEDCL_CL(medcl_arg_tensor(k, &i, r->stats));
        MEDCL_CL(MEDCL_ARG(k, i, vv));
        size_t wg = medcl_reduce_wg(ctx), gl = (size_t)(g->n * g->c) * wg;
        MEDCL_TRY(medcl_launch(ctx, k, 1, &gl, &wg, NULL));
    }
    MEDCL_TRY(medcl_kernel_get(ctx, KPROG, defs, "aug_kspace_modify", &k));
    i = 0;
    const cl_uint u[5] = {(cl_uint)g->n, (cl_uint)g->c, (cl_uint)g->out[0], (cl_uint)g->out[1], (cl_uint)g->out[2]};
    cl_int kind = (cl_int)r->t->kind, axis = r->t->axis;
    cl_float restore = r->t->restore;
    MEDCL_CL(medcl_arg_tensor(k, &i, a));
    MEDCL_CL(medcl_arg_tensor(k, &i, r->params));
    MEDCL_CL(medcl_arg_tensor(k, &i, r->stats));
    for (int q = 0; q < 5; q++) {
        MEDCL_CL(MEDCL_ARG(k, i, u[q]));
        i++;
    }
    MEDCL_CL(MEDCL_ARG(k, i, kind)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, axis)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, restore)); i++;
    MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)n));
    for (int ax = 0; ax < 3; ax++) {
        if (g->out[ax] == 1) continue;
        MEDCL_TRY(dft(r, a, b, ax, 1.0f));
        medcl_tensor *tmp = a;
        a = b;
        b = tmp;
    }
    MEDCL_TRY(medcl_kernel_get(ctx, KPROG, defs, "aug_from_complex", &k));
    i = 0;
    cl_uint N = (cl_uint)g->n, C = (cl_uint)g->c;
    cl_ulong vv = (cl_ulong)V;
    MEDCL_CL(medcl_arg_tensor(k, &i, a));
    MEDCL_CL(medcl_arg_tensor(k, &i, img));
    MEDCL_CL(medcl_arg_tensor(k, &i, r->params));
    MEDCL_CL(MEDCL_ARG(k, i, N)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, C)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, vv)); i++;
    MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)n));
cleanup:
    medcl_tensor_destroy(za);
    medcl_tensor_destroy(zb);
    return st;
}
