/* src/eval/sliding_window.c — sliding-window inference on the device (medcl/infer.h): tile
 * positions (nnU-Net v2's compute_steps_for_sliding_window), the Gaussian importance map
 * (nnU-Net's compute_gaussian), and the driver that extracts patch batches, calls the
 * predictor, accumulates weighted logits and weights one tile at a time (cl/infer.cl), and
 * normalizes into logits, probabilities or labels.
 *
 * Left out: the network (a callback), file output, resampling and normalization of the
 * image, several volumes per call. Device memory is bounded by the patch batch plus the
 * accumulator: tiles are never materialized all at once. */
#include "medcl/infer.h"
#include "ops/ops_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#define PROG "infer"

medcl_status medcl_infer_tile_positions(int64_t size, int64_t patch, double step, int64_t *pos,
                                        int64_t cap, int64_t *count) {
    if (!count) return medcl_fail(MEDCL_ERR_INVALID_ARG, "infer: tile positions: count is NULL");
    *count = 0;
    if (size < 1 || patch < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "infer: tile positions: size = %lld, patch = %lld (each must be >= 1)",
                          (long long)size, (long long)patch);
    if (!(step > 0.0 && step <= 1.0))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "infer: step = %g (must be in (0, 1])", step);
    int64_t s = size > patch ? size : patch;
    int64_t n;
    double actual = 0.0;
    if (patch == 1) {
        n = s; /* one tile per slice */
        actual = 1.0;
    } else {
        double target = (double)patch * step;
        n = (int64_t)ceil((double)(s - patch) / target) + 1;
        if (n > 1) actual = (double)(s - patch) / (double)(n - 1);
    }
    *count = n;
    if (!pos) return MEDCL_OK;
    if (cap < n)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "infer: tile positions: cap = %lld < %lld positions",
                          (long long)cap, (long long)n);
    for (int64_t i = 0; i < n; i++) pos[i] = (int64_t)nearbyint(actual * (double)i); /* half even */
    return MEDCL_OK;
}

medcl_status medcl_infer_gaussian(const int64_t patch[3], double sigma_scale, float *out) {
    if (!patch || !out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "infer: gaussian: NULL argument");
    if (!(sigma_scale > 0.0) || !isfinite(sigma_scale))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "infer: sigma_scale = %g (must be finite and > 0)",
                          sigma_scale);
    double *g[3] = {NULL, NULL, NULL};
    medcl_status st = MEDCL_OK;
    for (int a = 0; a < 3; a++) {
        if (patch[a] < 1 || patch[a] > INT32_MAX)
            MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "infer: gaussian: patch[%d] = %lld (must be 1..2^31-1)", a,
                       (long long)patch[a]);
        g[a] = malloc((size_t)patch[a] * sizeof(double));
        if (!g[a]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "infer: gaussian: out of host memory");
        int64_t c = patch[a] / 2;
        double sigma = sigma_scale * (double)patch[a];
        int64_t radius = (int64_t)(4.0 * sigma + 0.5); /* scipy: int(truncate * sd + 0.5) */
        for (int64_t i = 0; i < patch[a]; i++) {
            double d = (double)(i - c);
            g[a][i] = (llabs(i - c) <= radius) ? exp(-0.5 * d * d / (sigma * sigma)) : 0.0;
        }
    }
    float min_nz = INFINITY;
    int64_t n = 0;
    for (int64_t z = 0; z < patch[0]; z++)
        for (int64_t y = 0; y < patch[1]; y++)
            for (int64_t x = 0; x < patch[2]; x++) {
                float v = (float)(g[0][z] * g[1][y] * g[2][x]);
                out[n++] = v;
                if (v > 0.0f && v < min_nz) min_nz = v;
            }
    for (int64_t i = 0; i < n; i++)
        if (out[i] == 0.0f) out[i] = min_nz; /* the centre is 1, so min_nz is finite */
cleanup:
    for (int a = 0; a < 3; a++) free(g[a]);
    return st;
}

/* ---- the driver ---- */

typedef struct {
    medcl_context *ctx;
    int ndim;                 /* 4 or 5 */
    int C, K, B;
    int D, H, W;              /* volume */
    int pD, pH, pW;           /* patch */
    int oD, oH, oW;           /* pad before */
    int64_t V, pvol;
} sw_geom;

static medcl_tensor *sw_tensor(sw_geom *g, medcl_dtype dt, int ndim, const int64_t *shape,
                               const char *name, size_t *bytes, medcl_status *st) {
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.dtype = dt;
    d.ndim = ndim;
    d.name = name;
    for (int i = 0; i < ndim; i++) d.shape[i] = shape[i];
    medcl_tensor *t = NULL;
    *st = medcl_tensor_create(g->ctx, &d, &t);
    if (*st == MEDCL_OK) *bytes += t->class_bytes; /* what the pool holds for it */
    return t;
}

/* Shape (n, c, [pD,] pH, pW) or (n, c, [D,] H, W) in the input's layout. */
static void sw_shape(const sw_geom *g, int64_t n, int64_t c, bool patch, int64_t *shape) {
    shape[0] = n;
    shape[1] = c;
    int i = 2;
    if (g->ndim == 5) shape[i++] = patch ? g->pD : g->D;
    shape[i++] = patch ? g->pH : g->H;
    shape[i] = patch ? g->pW : g->W;
}

static medcl_status sw_check(const medcl_tensor *image, const medcl_infer_options *opt,
                             medcl_infer_predict_fn predict, const medcl_tensor *out,
                             sw_geom *g) {
    medcl_status st = medcl_op_check("sliding_window", "image", image, true);
    if (st != MEDCL_OK) return st;
    if (!opt) return medcl_fail(MEDCL_ERR_INVALID_ARG, "sliding_window: options are NULL");
    if (opt->size < sizeof(medcl_infer_options))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "sliding_window: options.size = %zu, expected %zu",
                          opt->size, sizeof(medcl_infer_options));
    if (!predict) return medcl_fail(MEDCL_ERR_INVALID_ARG, "sliding_window: predict is NULL");
    const char *in = medcl_tensor_name(image);
    if (image->ndim != 4 && image->ndim != 5)
        return medcl_fail(MEDCL_ERR_SHAPE, "sliding_window: image (%s) has ndim = %d, expected 4 (1, C, H, W) or 5 (1, C, D, H, W)",
                          in, image->ndim);
    if (image->shape[0] != 1)
        return medcl_fail(MEDCL_ERR_SHAPE, "sliding_window: image (%s) has N = %lld, expected 1", in,
                          (long long)image->shape[0]);
    static const char *axis[3] = {"D", "H", "W"};
    for (int a = 0; a < 3; a++)
        if (opt->patch[a] < 1 || opt->patch[a] > (1 << 20))
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "sliding_window: patch[%d] (%s) = %lld (must be 1..2^20)", a,
                              axis[a], (long long)opt->patch[a]);
    if (image->ndim == 4 && opt->patch[0] != 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "sliding_window: patch[0] (D) = %lld for 4-D image %s (must be 1)",
                          (long long)opt->patch[0], in);
    if (opt->num_classes < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "sliding_window: num_classes = %d (must be >= 1)",
                          (int)opt->num_classes);
    if (!(opt->step > 0.0 && opt->step <= 1.0))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "sliding_window: step = %g (must be in (0, 1])", opt->step);
    if (opt->batch < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "sliding_window: batch = %d (must be >= 1)", (int)opt->batch);
    if ((int)opt->weight < 0 || opt->weight >= MEDCL_INFER_WEIGHT_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "sliding_window: weight = %d is not a medcl_infer_weight",
                          (int)opt->weight);
    if (opt->weight == MEDCL_INFER_WEIGHT_GAUSSIAN && !(opt->sigma_scale > 0.0 && isfinite(opt->sigma_scale)))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "sliding_window: sigma_scale = %g (must be finite and > 0)",
                          opt->sigma_scale);
    if (opt->mirror_axes & ~MEDCL_INFER_MIRROR_ALL)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "sliding_window: mirror_axes = 0x%x (only bits 0..2: D, H, W)",
                          opt->mirror_axes);
    if ((int)opt->output < 0 || opt->output >= MEDCL_INFER_OUTPUT_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "sliding_window: output = %d is not a medcl_infer_output",
                          (int)opt->output);

    int64_t ext[3] = {image->ndim == 5 ? image->shape[2] : 1, image->shape[image->ndim - 2],
                      image->shape[image->ndim - 1]};
    if (image->shape[1] > INT32_MAX) return medcl_fail(MEDCL_ERR_SHAPE, "sliding_window: image (%s) C too large", in);
    for (int a = 0; a < 3; a++)
        if (ext[a] > INT32_MAX / 2)
            return medcl_fail(MEDCL_ERR_SHAPE, "sliding_window: image (%s) %s = %lld is too large", in, axis[a],
                              (long long)ext[a]);
    g->ctx = image->ctx;
    g->ndim = image->ndim;
    g->C = (int)image->shape[1];
    g->K = opt->num_classes;
    g->B = opt->batch;
    g->D = (int)ext[0];
    g->H = (int)ext[1];
    g->W = (int)ext[2];
    g->pD = (int)opt->patch[0];
    g->pH = (int)opt->patch[1];
    g->pW = (int)opt->patch[2];
    g->V = ext[0] * ext[1] * ext[2];
    g->pvol = opt->patch[0] * opt->patch[1] * opt->patch[2];
    int64_t p3[3] = {g->pD, g->pH, g->pW};
    int *o[3] = {&g->oD, &g->oH, &g->oW};
    for (int a = 0; a < 3; a++) *o[a] = ext[a] < p3[a] ? (int)((p3[a] - ext[a]) / 2) : 0;

    /* the output */
    st = medcl_op_check("sliding_window", "out", out, false);
    if (st != MEDCL_OK) return st;
    const char *on = medcl_tensor_name(out);
    if (out->ctx != image->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "sliding_window: out (%s) and image (%s) belong to different contexts",
                          on, in);
    bool labels = opt->output == MEDCL_INFER_OUTPUT_LABELS;
    medcl_dtype want = labels ? MEDCL_DTYPE_I32 : MEDCL_DTYPE_F32;
    if (out->dtype != want)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "sliding_window: out (%s) has dtype %s, expected %s", on,
                          medcl_dtype_str(out->dtype), medcl_dtype_str(want));
    int64_t shape[5];
    sw_shape(g, 1, labels ? 1 : g->K, false, shape);
    bool same = out->ndim == image->ndim;
    for (int i = 0; same && i < out->ndim; i++) same = out->shape[i] == shape[i];
    if (!same) {
        if (out->ndim == 5)
            return medcl_fail(MEDCL_ERR_SHAPE, "sliding_window: out (%s) has shape (%lld, %lld, %lld, %lld, %lld), expected (1, %lld, %d, %d, %d)",
                              on, (long long)out->shape[0], (long long)out->shape[1], (long long)out->shape[2],
                              (long long)out->shape[3], (long long)out->shape[4], (long long)shape[1], g->D,
                              g->H, g->W);
        return medcl_fail(MEDCL_ERR_SHAPE, "sliding_window: out (%s) has ndim %d, expected %d with shape (1, %lld, %s%d, %d)",
                          on, out->ndim, image->ndim, (long long)shape[1], image->ndim == 5 ? "D, " : "",
                          g->H, g->W);
    }
    return MEDCL_OK;
}

static medcl_status sw_extract(const sw_geom *g, cl_kernel k, const medcl_tensor *image,
                               const medcl_tensor *tiles, int first, int n_valid, int flip,
                               medcl_tensor *patches) {
    medcl_status st = MEDCL_OK;
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, image));
    MEDCL_CL(MEDCL_ARG(k, i++, g->C));
    MEDCL_CL(MEDCL_ARG(k, i++, g->D));
    MEDCL_CL(MEDCL_ARG(k, i++, g->H));
    MEDCL_CL(MEDCL_ARG(k, i++, g->W));
    MEDCL_CL(MEDCL_ARG(k, i++, g->oD));
    MEDCL_CL(MEDCL_ARG(k, i++, g->oH));
    MEDCL_CL(MEDCL_ARG(k, i++, g->oW));
    MEDCL_CL(medcl_arg_tensor(k, &i, tiles));
    MEDCL_CL(MEDCL_ARG(k, i++, first));
    MEDCL_CL(MEDCL_ARG(k, i++, n_valid));
    MEDCL_CL(MEDCL_ARG(k, i++, g->B));
    MEDCL_CL(MEDCL_ARG(k, i++, g->pD));
    MEDCL_CL(MEDCL_ARG(k, i++, g->pH));
    MEDCL_CL(MEDCL_ARG(k, i++, g->pW));
    MEDCL_CL(MEDCL_ARG(k, i++, flip));
    MEDCL_CL(medcl_arg_tensor(k, &i, patches));
    MEDCL_TRY(medcl_launch_1d(g->ctx, k, (size_t)patches->numel));
cleanup:
    return st;
}

static medcl_status sw_accumulate(const sw_geom *g, cl_kernel k, const medcl_tensor *logits, int b,
                                  int flip, const medcl_tensor *w, float scale,
                                  const medcl_tensor *tiles, int t, medcl_tensor *acc,
                                  medcl_tensor *wsum, int add_weight) {
    medcl_status st = MEDCL_OK;
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, logits));
    MEDCL_CL(MEDCL_ARG(k, i++, b));
    MEDCL_CL(MEDCL_ARG(k, i++, g->K));
    MEDCL_CL(MEDCL_ARG(k, i++, g->pD));
    MEDCL_CL(MEDCL_ARG(k, i++, g->pH));
    MEDCL_CL(MEDCL_ARG(k, i++, g->pW));
    MEDCL_CL(MEDCL_ARG(k, i++, flip));
    MEDCL_CL(medcl_arg_tensor(k, &i, w));
    MEDCL_CL(MEDCL_ARG(k, i++, scale));
    MEDCL_CL(medcl_arg_tensor(k, &i, tiles));
    MEDCL_CL(MEDCL_ARG(k, i++, t));
    MEDCL_CL(MEDCL_ARG(k, i++, g->D));
    MEDCL_CL(MEDCL_ARG(k, i++, g->H));
    MEDCL_CL(MEDCL_ARG(k, i++, g->W));
    MEDCL_CL(MEDCL_ARG(k, i++, g->oD));
    MEDCL_CL(MEDCL_ARG(k, i++, g->oH));
    MEDCL_CL(MEDCL_ARG(k, i++, g->oW));
    MEDCL_CL(medcl_arg_tensor(k, &i, acc));
    MEDCL_CL(medcl_arg_tensor(k, &i, wsum));
    MEDCL_CL(MEDCL_ARG(k, i++, add_weight));
    MEDCL_TRY(medcl_launch_1d(g->ctx, k, (size_t)(g->K * g->pvol)));
cleanup:
    return st;
}

/* normalize / softmax / argmax of acc (K, V) with wsum (V) into out */
static medcl_status sw_finish(const sw_geom *g, medcl_infer_output mode, const medcl_tensor *acc,
                              const medcl_tensor *wsum, medcl_tensor *out) {
    medcl_status st = MEDCL_OK;
    cl_kernel k;
    cl_uint i = 0;
    cl_ulong V = (cl_ulong)g->V;
    if (mode == MEDCL_INFER_OUTPUT_LABELS) {
        MEDCL_TRY(medcl_kernel_get(g->ctx, PROG, "", "infer_argmax", &k));
        MEDCL_CL(medcl_arg_tensor(k, &i, acc));
        MEDCL_CL(medcl_arg_tensor(k, &i, wsum));
        MEDCL_CL(MEDCL_ARG(k, i++, g->K));
        MEDCL_CL(MEDCL_ARG(k, i++, V));
        MEDCL_CL(medcl_arg_tensor(k, &i, out));
        MEDCL_TRY(medcl_launch_1d(g->ctx, k, (size_t)V));
        goto cleanup;
    }
    MEDCL_TRY(medcl_kernel_get(g->ctx, PROG, "", "infer_normalize", &k));
    MEDCL_CL(medcl_arg_tensor(k, &i, acc));
    MEDCL_CL(medcl_arg_tensor(k, &i, wsum));
    MEDCL_CL(MEDCL_ARG(k, i++, g->K));
    MEDCL_CL(MEDCL_ARG(k, i++, V));
    MEDCL_CL(medcl_arg_tensor(k, &i, out));
    MEDCL_TRY(medcl_launch_1d(g->ctx, k, (size_t)(g->K * g->V)));
    if (mode == MEDCL_INFER_OUTPUT_PROBS) {
        MEDCL_TRY(medcl_kernel_get(g->ctx, PROG, "", "infer_softmax", &k));
        i = 0;
        MEDCL_CL(medcl_arg_tensor(k, &i, out));
        MEDCL_CL(MEDCL_ARG(k, i++, g->K));
        MEDCL_CL(MEDCL_ARG(k, i++, V));
        MEDCL_TRY(medcl_launch_1d(g->ctx, k, (size_t)V));
    }
cleanup:
    return st;
}

medcl_status medcl_infer_sliding_window(const medcl_tensor *image, const medcl_infer_options *opt,
                                        medcl_infer_predict_fn predict, void *user,
                                        medcl_tensor *out, medcl_infer_stats *stats) {
    medcl_status st = MEDCL_OK;
    sw_geom g = {0};
    int64_t *pos[3] = {NULL, NULL, NULL};
    int32_t *table = NULL;
    float *wmap = NULL;
    medcl_tensor *tiles = NULL, *w = NULL, *pin = NULL, *pout = NULL, *wsum = NULL, *acc_tmp = NULL;
    size_t bytes = 0;
    if (stats) *stats = (medcl_infer_stats){{0, 0, 0}, {0, 0, 0}, {0, 0, 0}, 0, 0, 0, 0};
    MEDCL_TRY(sw_check(image, opt, predict, out, &g));

    /* tile table (num_tiles, 3) in the padded frame, D outermost */
    int64_t ext[3] = {g.D, g.H, g.W}, p3[3] = {g.pD, g.pH, g.pW}, n[3];
    for (int a = 0; a < 3; a++) {
        MEDCL_TRY(medcl_infer_tile_positions(ext[a], p3[a], opt->step, NULL, 0, &n[a]));
        pos[a] = malloc((size_t)n[a] * sizeof(int64_t));
        if (!pos[a]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "sliding_window: out of host memory");
        MEDCL_TRY(medcl_infer_tile_positions(ext[a], p3[a], opt->step, pos[a], n[a], &n[a]));
    }
    int64_t ntiles = n[0] * n[1] * n[2];
    if (ntiles > INT32_MAX / 3)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "sliding_window: %lld tiles (too many; raise step)", (long long)ntiles);
    table = malloc((size_t)ntiles * 3 * sizeof(int32_t));
    if (!table) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "sliding_window: out of host memory");
    {
        int64_t t = 0;
        for (int64_t z = 0; z < n[0]; z++)
            for (int64_t y = 0; y < n[1]; y++)
                for (int64_t x = 0; x < n[2]; x++, t++) {
                    table[3 * t] = (int32_t)pos[0][z];
                    table[3 * t + 1] = (int32_t)pos[1][y];
                    table[3 * t + 2] = (int32_t)pos[2][x];
                }
    }

    /* weight map */
    wmap = malloc((size_t)g.pvol * sizeof(float));
    if (!wmap) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "sliding_window: out of host memory");
    if (opt->weight == MEDCL_INFER_WEIGHT_GAUSSIAN) {
        MEDCL_TRY(medcl_infer_gaussian(p3, opt->sigma_scale, wmap));
    } else {
        for (int64_t i = 0; i < g.pvol; i++) wmap[i] = 1.0f;
    }

    /* mirror combinations: subsets of the requested axes that exist and have extent > 1 */
    unsigned eff = 0;
    for (int a = 0; a < 3; a++)
        if ((opt->mirror_axes & (1u << a)) && p3[a] > 1) eff |= 1u << a;
    int masks[8], nm = 0;
    for (int m = 0; m < 8; m++)
        if ((m & ~(int)eff) == 0) masks[nm++] = m;
    float scale = 1.0f / (float)nm;

    /* device buffers */
    int64_t sh[5];
    sh[0] = ntiles;
    sh[1] = 3;
    tiles = sw_tensor(&g, MEDCL_DTYPE_I32, 2, sh, "sliding_window.tiles", &bytes, &st);
    if (st != MEDCL_OK) goto cleanup;
    MEDCL_TRY(medcl_tensor_upload(tiles, table, (size_t)ntiles * 3 * sizeof(int32_t)));
    sh[0] = g.pvol;
    w = sw_tensor(&g, MEDCL_DTYPE_F32, 1, sh, "sliding_window.weights", &bytes, &st);
    if (st != MEDCL_OK) goto cleanup;
    MEDCL_TRY(medcl_tensor_upload(w, wmap, (size_t)g.pvol * sizeof(float)));
    sw_shape(&g, g.B, g.C, true, sh);
    pin = sw_tensor(&g, MEDCL_DTYPE_F32, g.ndim, sh, "sliding_window.patches", &bytes, &st);
    if (st != MEDCL_OK) goto cleanup;
    sw_shape(&g, g.B, g.K, true, sh);
    pout = sw_tensor(&g, MEDCL_DTYPE_F32, g.ndim, sh, "sliding_window.logits", &bytes, &st);
    if (st != MEDCL_OK) goto cleanup;
    sh[0] = g.V;
    wsum = sw_tensor(&g, MEDCL_DTYPE_F32, 1, sh, "sliding_window.weight_sum", &bytes, &st);
    if (st != MEDCL_OK) goto cleanup;
    medcl_tensor *acc = out;
    if (opt->output == MEDCL_INFER_OUTPUT_LABELS) {
        sh[0] = g.K;
        sh[1] = g.V;
        acc_tmp = sw_tensor(&g, MEDCL_DTYPE_F32, 2, sh, "sliding_window.accumulator", &bytes, &st);
        if (st != MEDCL_OK) goto cleanup;
        acc = acc_tmp;
    }
    MEDCL_TRY(medcl_fill(acc, 0.0f));
    MEDCL_TRY(medcl_fill(wsum, 0.0f));

    cl_kernel kext, kacc;
    MEDCL_TRY(medcl_kernel_get(g.ctx, PROG, "", "infer_extract", &kext));
    MEDCL_TRY(medcl_kernel_get(g.ctx, PROG, "", "infer_accumulate", &kacc));
    int64_t calls = 0;
    for (int64_t first = 0; first < ntiles; first += g.B) {
        int n_valid = (int)(ntiles - first < g.B ? ntiles - first : g.B);
        for (int m = 0; m < nm; m++) {
            MEDCL_TRY(sw_extract(&g, kext, image, tiles, (int)first, n_valid, masks[m], pin));
            st = predict(user, pin, pout);
            calls++;
            if (st != MEDCL_OK) {
                medcl_error_prefix("sliding_window: predict (tiles %lld..%lld, mirror %d)", (long long)first,
                                   (long long)(first + n_valid - 1), masks[m]);
                goto cleanup;
            }
            MEDCL_TRY(medcl_context_check(g.ctx));
            for (int b = 0; b < n_valid; b++)
                MEDCL_TRY(sw_accumulate(&g, kacc, pout, b, masks[m], w, scale, tiles, (int)first + b, acc,
                                        wsum, m == 0));
        }
    }
    MEDCL_TRY(sw_finish(&g, opt->output, acc, wsum, out));
    MEDCL_TRY(medcl_context_finish(g.ctx));

    if (stats) {
        int o[3] = {g.oD, g.oH, g.oW};
        for (int a = 0; a < 3; a++) {
            stats->padded[a] = ext[a] > p3[a] ? ext[a] : p3[a];
            stats->pad_before[a] = o[a];
            stats->tiles_per_axis[a] = n[a];
        }
        stats->num_tiles = ntiles;
        stats->num_mirrors = nm;
        stats->predict_calls = calls;
        stats->device_bytes = bytes;
    }
cleanup:
    if (st != MEDCL_OK && g.ctx && !medcl_context_is_broken(g.ctx)) {
        /* let queued kernels that use the temporaries drain before they return to the pool */
        medcl_status keep = st;
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", medcl_last_error());
        (void)medcl_context_finish(g.ctx);
        st = medcl_fail(keep, "%s", msg);
    }
    medcl_tensor_destroy(acc_tmp);
    medcl_tensor_destroy(wsum);
    medcl_tensor_destroy(pout);
    medcl_tensor_destroy(pin);
    medcl_tensor_destroy(w);
    medcl_tensor_destroy(tiles);
    free(wmap);
    free(table);
    for (int a = 0; a < 3; a++) free(pos[a]);
    return st;
}

medcl_status medcl_infer_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_infer_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    (void)ctx;
    return add(acc, PROG, "");
}
