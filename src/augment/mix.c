/* src/augment/mix.c — batch-level mixing (mixup, cutmix) into images and (N, K, D, H, W)
 * soft labels (cl/augment_batch.cl); partners, lambdas and boxes drawn on the host. */
#include "augment_internal.h"

#include <stdlib.h>

medcl_status medcl_augment_mix_apply(const medcl_augment_mix *o, const medcl_tensor *image,
                                     const medcl_tensor *label, medcl_tensor *image_out,
                                     medcl_tensor *soft_label, uint64_t seed, uint32_t epoch,
                                     uint32_t sample_index0) {
    medcl_status st = MEDCL_OK;
    float *blocks = NULL;
    medcl_tensor *params = NULL;
    if (!o) return medcl_fail(MEDCL_ERR_INVALID_ARG, "augment_mix: options are NULL");
    if (o->size < sizeof *o) return medcl_fail(MEDCL_ERR_INVALID_ARG, "augment_mix: options.size = %zu, expected %zu", o->size, sizeof *o);
    if ((int)o->mode < 0 || o->mode >= MEDCL_AUGMENT_MIX_MODE_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "augment_mix: mode = %d", (int)o->mode);
    if (!(o->alpha > 0.0f) || !(o->p >= 0.0f && o->p <= 1.0f) || o->num_classes < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "augment_mix: alpha = %g (> 0), p = %g ([0, 1]), num_classes = %d (>= 1)",
                          o->alpha, o->p, o->num_classes);
    const medcl_tensor *ts[4] = {image, label, image_out, soft_label};
    const char *roles[4] = {"image", "label", "image_out", "soft_label"};
    int64_t s[4][5];
    for (int i = 0; i < 4; i++) {
        MEDCL_TRY(medcl_op_check("augment_mix", roles[i], ts[i], true));
        if (ts[i]->ndim != 5 && ts[i]->ndim != 4)
            MEDCL_FAIL(MEDCL_ERR_SHAPE, "augment_mix: %s (%s) must be (N, C, D, H, W) or (N, C, H, W)", roles[i], medcl_tensor_name(ts[i]));
        medcl_tensor_ncdhw(ts[i], s[i]);
    }
    int64_t want_c[4] = {s[0][1], 1, s[0][1], o->num_classes};
    for (int i = 1; i < 4; i++)
        for (int a = 0; a < 5; a++)
            if (s[i][a] != (a == 1 ? want_c[i] : s[0][a]))
                MEDCL_FAIL(MEDCL_ERR_SHAPE, "augment_mix: %s (%s) dimension %d = %lld, expected %lld", roles[i],
                           medcl_tensor_name(ts[i]), a, (long long)s[i][a], (long long)(a == 1 ? want_c[i] : s[0][a]));
    if (image_out == image) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "augment_mix: image_out must not be image (samples read each other)");
    int64_t N = s[0][0];
    blocks = calloc((size_t)N * AUG_PB, sizeof *blocks);
    if (!blocks) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "augment_mix: out of host memory");
    for (int64_t n = 0; n < N; n++) aug_mix_draw(o, N, &s[0][2], seed, epoch, sample_index0, n, blocks + n * AUG_PB);
    int64_t nb = N * AUG_PB;
    MEDCL_TRY(medcl_tensor_create_f32(image->ctx, "augment_mix.params", 1, &nb, &params));
    MEDCL_TRY(medcl_tensor_upload(params, blocks, (size_t)nb * sizeof *blocks));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(image->ctx, "augment_batch", "", "aug_mix", &k));
    cl_uint i = 0;
    const cl_uint u[6] = {(cl_uint)N, (cl_uint)s[0][1], (cl_uint)o->num_classes, (cl_uint)s[0][2], (cl_uint)s[0][3], (cl_uint)s[0][4]};
    cl_int mode = (cl_int)o->mode;
    MEDCL_CL(medcl_arg_tensor(k, &i, image));
    MEDCL_CL(medcl_arg_tensor(k, &i, label));
    MEDCL_CL(medcl_arg_tensor(k, &i, image_out));
    MEDCL_CL(medcl_arg_tensor(k, &i, soft_label));
    MEDCL_CL(medcl_arg_tensor(k, &i, params));
    for (int a = 0; a < 6; a++) {
        MEDCL_CL(MEDCL_ARG(k, i, u[a]));
        i++;
    }
    MEDCL_CL(MEDCL_ARG(k, i, mode));
    MEDCL_TRY(medcl_launch_1d(image->ctx, k, (size_t)(N * s[0][2] * s[0][3] * s[0][4])));
cleanup:
    medcl_tensor_destroy(params);
    free(blocks);
    return st;
}
