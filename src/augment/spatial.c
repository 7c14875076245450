/* src/augment/spatial.c — launches of the spatial transform (cl/augment_spatial.cl): the
 * elastic control grid (Philox on the device), then one resampling pass over every output
 * voxel of every sample. In-place calls resample into scratch and copy back. */
#include "augment_internal.h"

#include <stdio.h>

#define PROG "augment_spatial"

medcl_status aug_spatial_run(const aug_run *r, const medcl_tensor *img_in, const medcl_tensor *lab_in,
                             medcl_tensor *img_out, medcl_tensor *lab_out) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *grid = NULL, *lab_tmp = NULL, *img_tmp = NULL;
    const medcl_augment_spatial *s = &r->t->spatial;
    const aug_geom *g = r->g;
    medcl_context *ctx = r->ctx;
    cl_uint N = (cl_uint)g->n, C = (cl_uint)g->c, G = (cl_uint)s->elastic_points;
    int dims = (g->in[0] > 1 || g->out[0] > 1) ? 3 : 2;
    int64_t Vo = g->out[0] * g->out[1] * g->out[2];
    /* elastic grid for every sample (unused entries cost little: G^3 x 3 floats) */
    int64_t ng = (int64_t)N * 3 * G * G * G;
    MEDCL_TRY(medcl_tensor_create_f32(ctx, "augment.elastic_grid", 1, &ng, &grid));
    if (s->p_elastic > 0.0f) {
        cl_kernel k;
        MEDCL_TRY(medcl_kernel_get(ctx, PROG, "", "aug_elastic_grid", &k));
        cl_uint i = 0, stream = AUG_STREAM_DEV(r->ti), ep = r->epoch, s0 = r->sample0;
        cl_int dm = dims;
        cl_float maxd = s->elastic_max;
        cl_ulong seed = r->seed;
        MEDCL_CL(medcl_arg_tensor(k, &i, grid));
        MEDCL_CL(MEDCL_ARG(k, i, N)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, G)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, dm)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, maxd)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, seed)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, stream)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, ep)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, s0)); i++;
        MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)ng));
    }
    medcl_tensor *xo = img_out, *lo = lab_out;
    bool inplace = img_in == img_out;
    if (inplace) {
        int64_t n = g->n * g->c * Vo;
        MEDCL_TRY(medcl_tensor_create_f32(ctx, "augment.image_tmp", 1, &n, &img_tmp));
        xo = img_tmp;
        if (lab_in) {
            n = g->n * Vo;
            MEDCL_TRY(medcl_tensor_create_f32(ctx, "augment.label_tmp", 1, &n, &lab_tmp));
            lo = lab_tmp;
        }
    }
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(ctx, PROG, "", "aug_spatial", &k));
    cl_uint i = 0;
    cl_uint dimsv[6] = {(cl_uint)g->in[0], (cl_uint)g->in[1], (cl_uint)g->in[2],
                        (cl_uint)g->out[0], (cl_uint)g->out[1], (cl_uint)g->out[2]};
    cl_int has_label = lab_in != NULL, interp = (cl_int)s->image_interp, lmode = (cl_int)s->label_interp,
           border = (cl_int)s->border;
    cl_float fill = s->fill;
    MEDCL_CL(medcl_arg_tensor(k, &i, img_in));
    MEDCL_CL(medcl_arg_tensor(k, &i, lab_in ? lab_in : img_in));
    MEDCL_CL(medcl_arg_tensor(k, &i, xo));
    MEDCL_CL(medcl_arg_tensor(k, &i, lo ? lo : xo));
    MEDCL_CL(medcl_arg_tensor(k, &i, grid));
    MEDCL_CL(medcl_arg_tensor(k, &i, r->params));
    MEDCL_CL(MEDCL_ARG(k, i, N)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, C)); i++;
    for (int a = 0; a < 6; a++) {
        MEDCL_CL(MEDCL_ARG(k, i, dimsv[a]));
        i++;
    }
    MEDCL_CL(MEDCL_ARG(k, i, G)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, has_label)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, interp)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, lmode)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, border)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, fill)); i++;
    MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)(g->n * Vo)));
    if (inplace) {
        MEDCL_TRY(medcl_copy(img_out, img_tmp));
        if (lab_in) MEDCL_TRY(medcl_copy(lab_out, lab_tmp));
    }
cleanup:
    medcl_tensor_destroy(grid);
    medcl_tensor_destroy(img_tmp);
    medcl_tensor_destroy(lab_tmp);
    return st;
}

medcl_status medcl_augment_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    medcl_status st = MEDCL_OK;
    char defs[32];
    snprintf(defs, sizeof defs, "-DWG=%u", medcl_reduce_wg(ctx));
    MEDCL_TRY(add(acc, PROG, ""));
    MEDCL_TRY(add(acc, "augment_intensity", defs));
    MEDCL_TRY(add(acc, "augment_kspace", defs));
    MEDCL_TRY(add(acc, "augment_batch", ""));
cleanup:
    return st;
}
