/* src/data/preprocess.c — preprocessing of loaded cases. On the HOST: intensity normalization
 * (nnU-Net's z-score, CT, rescale, none, rgb/255; statistics in double), CT foreground
 * statistics, the nonzero bounding box and cropping. On the DEVICE: resampling to a target
 * spacing (cl/preprocess.cl: images linear, labels nearest) and medcl_preprocess_variants.
 * Leaves out nnU-Net's cubic/separate-z resampling and hole filling of the nonzero mask. */
#include "data_internal.h"
#include "ops/ops_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PROG "preprocess"

/* ---------------------------------------------------------------- normalization */

medcl_status medcl_normalize_zscore(float *x, int64_t n, const uint8_t *mask) {
    if (!x || n < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "normalize_zscore: x is NULL or n = %lld < 1",
                          (long long)n);
    double sum = 0.0, sq = 0.0;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (!mask || mask[i]) {
            sum += x[i];
            m++;
        }
    if (m == 0)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "normalize_zscore: the mask selects no voxel");
    double mean = sum / (double)m;
    for (int64_t i = 0; i < n; i++)
        if (!mask || mask[i]) {
            double dlt = x[i] - mean;
            sq += dlt * dlt;
        }
    double sd = sqrt(sq / (double)m);
    if (sd < 1e-8) sd = 1e-8;
    for (int64_t i = 0; i < n; i++)
        x[i] = (!mask || mask[i]) ? (float)((x[i] - mean) / sd) : 0.0f;
    return MEDCL_OK;
}

medcl_status medcl_normalize_ct(float *x, int64_t n, const medcl_ct_stats *s) {
    if (!x || !s || n < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "normalize_ct: x or stats NULL, or n < 1");
    if (!isfinite(s->mean) || !isfinite(s->std) || !(s->p005 <= s->p995))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "normalize_ct: bad statistics (mean %g, std %g, "
                          "p0.5 %g, p99.5 %g)", s->mean, s->std, s->p005, s->p995);
    double sd = s->std < 1e-8 ? 1e-8 : s->std;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        v = v < s->p005 ? s->p005 : v > s->p995 ? s->p995 : v;
        x[i] = (float)((v - s->mean) / sd);
    }
    return MEDCL_OK;
}

medcl_status medcl_normalize_rescale(float *x, int64_t n) {
    if (!x || n < 1) return medcl_fail(MEDCL_ERR_INVALID_ARG, "normalize_rescale: x NULL or n < 1");
    double lo = x[0], hi = x[0];
    for (int64_t i = 1; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    double r = hi - lo < 1e-8 ? 1e-8 : hi - lo;
    for (int64_t i = 0; i < n; i++) x[i] = (float)((x[i] - lo) / r);
    return MEDCL_OK;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static double percentile_sorted(const float *a, int64_t n, double p) {
    double pos = p / 100.0 * (double)(n - 1);
    int64_t lo = (int64_t)floor(pos), hi = lo + 1 < n ? lo + 1 : n - 1;
    return a[lo] + ((double)a[hi] - (double)a[lo]) * (pos - (double)lo);
}

medcl_status medcl_ct_stats_compute(const float *values, int64_t n, medcl_ct_stats *out) {
    if (!values || !out || n < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "ct_stats_compute: no foreground values (n = %lld)",
                          (long long)n);
    float *s = malloc((size_t)n * sizeof *s);
    if (!s) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "ct_stats_compute: out of memory");
    memcpy(s, values, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_float);
    double sum = 0.0, sq = 0.0;
    for (int64_t i = 0; i < n; i++) sum += s[i];
    double mean = sum / (double)n;
    for (int64_t i = 0; i < n; i++) sq += (s[i] - mean) * (s[i] - mean);
    out->mean = mean;
    out->std = sqrt(sq / (double)n);
    out->p005 = percentile_sorted(s, n, 0.5);
    out->p995 = percentile_sorted(s, n, 99.5);
    free(s);
    return MEDCL_OK;
}

medcl_status medcl_case_foreground_values(const medcl_case_data *cd, int c, int64_t max_values,
                                          float **values, int64_t *count) {
    if (!cd || !values || !count || c < 0 || c >= cd->channels || !cd->label || max_values < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "case_foreground_values: need a case with a "
                          "label, channel %d in range and max_values >= 1", c);
    int64_t nvox = cd->dim[0] * cd->dim[1] * cd->dim[2], nfg = 0;
    for (int64_t i = 0; i < nvox; i++) nfg += cd->label[i] > 0.0f;
    if (nfg == 0) return MEDCL_OK;
    int64_t take = nfg < max_values ? nfg : max_values;
    float *g = realloc(*values, (size_t)(*count + take) * sizeof(float));
    if (!g) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "case_foreground_values: out of memory");
    *values = g;
    const float *img = cd->image + (int64_t)c * nvox;
    /* the j-th kept value is foreground voxel floor(j * nfg / take): an even stride */
    int64_t seen = 0, j = 0;
    for (int64_t i = 0; i < nvox && j < take; i++) {
        if (!(cd->label[i] > 0.0f)) continue;
        if (seen == (j * nfg) / take) g[*count + j++] = img[i];
        seen++;
    }
    *count += j;
    return MEDCL_OK;
}

void medcl_case_nonzero_bbox(const medcl_case_data *cd, int64_t lo[3], int64_t hi[3]) {
    int64_t D = cd->dim[0], H = cd->dim[1], W = cd->dim[2], nvox = D * H * W;
    for (int a = 0; a < 3; a++) {
        lo[a] = cd->dim[a];
        hi[a] = 0;
    }
    for (int64_t i = 0; i < nvox; i++) {
        bool nz = false;
        for (int64_t c = 0; c < cd->channels && !nz; c++) nz = cd->image[c * nvox + i] != 0.0f;
        if (!nz) continue;
        int64_t p[3] = {i / (H * W), (i / W) % H, i % W};
        for (int a = 0; a < 3; a++) {
            if (p[a] < lo[a]) lo[a] = p[a];
            if (p[a] + 1 > hi[a]) hi[a] = p[a] + 1;
        }
    }
    if (hi[0] == 0)
        for (int a = 0; a < 3; a++) {
            lo[a] = 0;
            hi[a] = cd->dim[a];
        }
}

medcl_status medcl_case_crop(medcl_case_data *cd, const int64_t lo[3], const int64_t hi[3]) {
    if (!cd || !lo || !hi) return medcl_fail(MEDCL_ERR_INVALID_ARG, "case_crop: NULL argument");
    for (int a = 0; a < 3; a++)
        if (lo[a] < 0 || hi[a] > cd->dim[a] || lo[a] >= hi[a])
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "case_crop: axis %d box [%lld, %lld) outside "
                              "0..%lld", a, (long long)lo[a], (long long)hi[a],
                              (long long)cd->dim[a]);
    int64_t D = cd->dim[0], H = cd->dim[1], W = cd->dim[2];
    int64_t nd = hi[0] - lo[0], nh = hi[1] - lo[1], nw = hi[2] - lo[2];
    int64_t nv = nd * nh * nw;
    float *img = malloc((size_t)(nv * cd->channels) * sizeof(float));
    float *lab = cd->label ? malloc((size_t)nv * sizeof(float)) : NULL;
    if (!img || (cd->label && !lab)) {
        free(img);
        free(lab);
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "case_crop: out of memory");
    }
    for (int64_t c = 0; c < cd->channels + (cd->label ? 1 : 0); c++) {
        const float *src = c < cd->channels ? cd->image + c * D * H * W : cd->label;
        float *dst = c < cd->channels ? img + c * nv : lab;
        for (int64_t d = 0; d < nd; d++)
            for (int64_t h = 0; h < nh; h++)
                memcpy(dst + (d * nh + h) * nw, src + ((d + lo[0]) * H + h + lo[1]) * W + lo[2],
                       (size_t)nw * sizeof(float));
    }
    free(cd->image);
    free(cd->label);
    cd->image = img;
    cd->label = lab;
    for (int a = 0; a < 3; a++) cd->crop_lo[a] += lo[a];
    cd->dim[0] = nd;
    cd->dim[1] = nh;
    cd->dim[2] = nw;
    return MEDCL_OK;
}

medcl_status medcl_case_normalize(medcl_case_data *cd, const medcl_norm_scheme *schemes,
                                  const medcl_ct_stats *ct, bool use_mask) {
    medcl_status st = MEDCL_OK;
    uint8_t *mask = NULL;
    if (!cd || !schemes) return medcl_fail(MEDCL_ERR_INVALID_ARG, "case_normalize: NULL argument");
    int64_t nvox = cd->dim[0] * cd->dim[1] * cd->dim[2];
    if (use_mask) {
        mask = calloc((size_t)nvox, 1);
        if (!mask) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "case_normalize: out of memory");
        for (int64_t c = 0; c < cd->channels; c++)
            for (int64_t i = 0; i < nvox; i++) mask[i] |= cd->image[c * nvox + i] != 0.0f;
    }
    for (int64_t c = 0; c < cd->channels; c++) {
        float *x = cd->image + c * nvox;
        switch (schemes[c]) {
        case MEDCL_NORM_ZSCORE: MEDCL_TRY(medcl_normalize_zscore(x, nvox, mask)); break;
        case MEDCL_NORM_CT:
            if (!ct)
                MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "case_normalize: channel %lld is CT but no "
                           "statistics were given", (long long)c);
            MEDCL_TRY(medcl_normalize_ct(x, nvox, &ct[c]));
            break;
        case MEDCL_NORM_RESCALE: MEDCL_TRY(medcl_normalize_rescale(x, nvox)); break;
        case MEDCL_NORM_RGB_TO_01:
            for (int64_t i = 0; i < nvox; i++) x[i] = (float)((double)x[i] / 255.0);
            break;
        case MEDCL_NORM_NONE: break;
        default:
            MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "case_normalize: channel %lld: scheme %d unknown",
                       (long long)c, (int)schemes[c]);
        }
    }
cleanup:
    free(mask);
    return st;
}

/* ---------------------------------------------------------------- resampling (device) */

void medcl_resample_shape(const int64_t in[3], const double spacing[3], const double target[3],
                          int64_t out[3]) {
    for (int a = 0; a < 3; a++) {
        double v = (double)in[a] * spacing[a] / target[a];
        int64_t r = (int64_t)llround(v);
        out[a] = r < 1 ? 1 : r;
    }
}

medcl_status medcl_resample_forward(const medcl_tensor *x, medcl_tensor *y,
                                    const medcl_resample_params *p) {
    medcl_status st = MEDCL_OK;
    const char *op = "resample_forward";
    MEDCL_TRY(medcl_op_check(op, "x", x, true));
    MEDCL_TRY(medcl_op_check(op, "y", y, true));
    if (!p || p->interp < 0 || p->interp >= MEDCL_RESAMPLE_INTERP_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params NULL or interp %d unknown", op,
                          p ? (int)p->interp : -1);
    if (x->ctx != y->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: x and y belong to different contexts", op);
    int64_t xs[5], ys[5];
    medcl_tensor_ncdhw(x, xs);
    medcl_tensor_ncdhw(y, ys);
    if (xs[0] * xs[1] != ys[0] * ys[1])
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: x (%s) has N*C = %lld volumes, y (%s) has %lld", op,
                          medcl_tensor_name(x), (long long)(xs[0] * xs[1]), medcl_tensor_name(y),
                          (long long)(ys[0] * ys[1]));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(y->ctx, PROG, "",
                               p->interp == MEDCL_RESAMPLE_LINEAR ? "resample_linear"
                                                                  : "resample_nearest",
                               &k));
    cl_uint i = 0;
    cl_ulong nc = (cl_ulong)(xs[0] * xs[1]);
    cl_long D = xs[2], H = xs[3], W = xs[4], Do = ys[2], Ho = ys[3], Wo = ys[4];
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(MEDCL_ARG(k, i, nc)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, D)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, H)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, W)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, Do)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, Ho)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, Wo)); i++;
    MEDCL_TRY(medcl_launch_1d(y->ctx, k, (size_t)y->numel));
cleanup:
    return st;
}

static medcl_status resample_host_array(medcl_context *ctx, const float *src, int64_t nc,
                                        const int64_t in[3], const int64_t outd[3],
                                        medcl_resample_interp interp, float **dst) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *tx = NULL, *ty = NULL;
    float *buf = NULL;
    int64_t xs[5] = {1, nc, in[0], in[1], in[2]}, ys[5] = {1, nc, outd[0], outd[1], outd[2]};
    medcl_resample_params p = MEDCL_RESAMPLE_PARAMS_INIT;
    p.interp = interp;
    MEDCL_TRY(medcl_tensor_create_f32(ctx, "resample_in", 5, xs, &tx));
    MEDCL_TRY(medcl_tensor_create_f32(ctx, "resample_out", 5, ys, &ty));
    MEDCL_TRY(medcl_tensor_upload(tx, src, medcl_tensor_bytes(tx)));
    MEDCL_TRY(medcl_resample_forward(tx, ty, &p));
    buf = malloc(medcl_tensor_bytes(ty));
    if (!buf) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "case_resample: out of memory");
    MEDCL_TRY(medcl_tensor_download(ty, buf, medcl_tensor_bytes(ty)));
    *dst = buf;
    buf = NULL;
cleanup:
    free(buf);
    medcl_tensor_destroy(tx);
    medcl_tensor_destroy(ty);
    return st;
}

medcl_status medcl_case_resample(medcl_context *ctx, medcl_case_data *cd, const double target[3]) {
    medcl_status st = MEDCL_OK;
    float *img = NULL, *lab = NULL;
    if (!ctx || !cd || !target)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "case_resample: NULL argument");
    for (int a = 0; a < 3; a++)
        if (!(target[a] > 0.0) || !isfinite(target[a]))
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "case_resample: target spacing[%d] = %g "
                              "(must be > 0)", a, target[a]);
    int64_t nd[3];
    medcl_resample_shape(cd->dim, cd->spacing, target, nd);
    MEDCL_TRY(resample_host_array(ctx, cd->image, cd->channels, cd->dim, nd,
                                  MEDCL_RESAMPLE_LINEAR, &img));
    if (cd->label)
        MEDCL_TRY(resample_host_array(ctx, cd->label, 1, cd->dim, nd, MEDCL_RESAMPLE_NEAREST,
                                      &lab));
    /* affine: new voxel j ↦ old voxel s j + (s - 1)/2 with s = n_in / n_out per axis; the
     * affine is in NIfTI order (x = W, y = H, z = D). */
    for (int ax = 0; ax < 3; ax++) {
        int a = 2 - ax;
        double s = (double)cd->dim[a] / (double)nd[a];
        for (int r = 0; r < 3; r++) {
            cd->affine[r][3] += cd->affine[r][ax] * (s - 1.0) / 2.0;
            cd->affine[r][ax] *= s;
        }
    }
    free(cd->image);
    free(cd->label);
    cd->image = img;
    cd->label = lab;
    img = lab = NULL;
    for (int a = 0; a < 3; a++) {
        cd->spacing[a] = cd->spacing[a] * (double)cd->dim[a] / (double)nd[a];
        cd->dim[a] = nd[a];
    }
cleanup:
    free(img);
    free(lab);
    return st;
}

medcl_status medcl_preprocess_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_preprocess_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    (void)ctx;
    return add(acc, PROG, "");
}
