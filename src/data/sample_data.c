/* src/data/sample_data.c — the demo's default data: axial slices of the ch2 T1 MRI and its
 * brain mask from mricron-data, down-sampled, z-scored over the head and padded; and a
 * synthetic phantom when the package is missing. No augmentation or domain shift here (the
 * augment layer simulates scanners). */
#include "core/internal.h"
#include "medcl/data_io.h"
#include "medcl/sample_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void medcl_slice_set_free(medcl_slice_set *s) {
    if (!s) return;
    free(s->images);
    free(s->labels);
    free(s->index);
    free(s);
}

static medcl_slice_set *alloc_set(int64_t n, int64_t h, int64_t w) {
    medcl_slice_set *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    size_t vox = (size_t)(n * h * w);
    s->n = n;
    s->h = h;
    s->w = w;
    s->images = calloc(vox ? vox : 1, sizeof *s->images);
    s->labels = calloc(vox ? vox : 1, 1);
    s->index = calloc((size_t)(n ? n : 1), sizeof *s->index);
    if (!s->images || !s->labels || !s->index) {
        medcl_slice_set_free(s);
        return NULL;
    }
    return s;
}

medcl_status medcl_sample_brain(const medcl_sample_brain_options *opt, medcl_slice_set **out) {
    medcl_status st = MEDCL_OK;
    medcl_sample_brain_options def = MEDCL_SAMPLE_BRAIN_OPTIONS_INIT;
    medcl_volume *img = NULL, *bet = NULL;
    medcl_slice_set *s = NULL;
    int *keep = NULL;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_sample_brain: out is NULL");
    *out = NULL;
    if (!opt) opt = &def;
    const char *dir = opt->dir ? opt->dir : medcl_env("MEDCL_DEMO_DATA_DIR");
    if (!dir) dir = "/usr/share/mricron/templates";
    int ds = opt->downsample;
    if (ds != 1 && ds != 2 && ds != 4)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "sample_brain: downsample = %d (must be 1, 2 or 4)", ds);
    int mult = opt->multiple > 0 ? opt->multiple : 1;
    char pi[1024], pm[1024];
    snprintf(pi, sizeof pi, "%s/ch2.nii.gz", dir);
    snprintf(pm, sizeof pm, "%s/ch2bet.nii.gz", dir);
    struct stat sb;
    if (stat(pi, &sb) != 0 || stat(pm, &sb) != 0)
        return medcl_fail(MEDCL_ERR_NOT_FOUND,
                          "%s or %s not found (install the Debian package mricron-data)", pi, pm);
    MEDCL_TRY(medcl_nifti_read(pi, NULL, &img));
    MEDCL_TRY(medcl_nifti_read(pm, NULL, &bet));
    for (int i = 0; i < 3; i++)
        if (img->dim[i] != bet->dim[i])
            MEDCL_FAIL(MEDCL_ERR_SHAPE, "%s: dim[%d] = %lld differs from %s: %lld", pm, i + 1,
                       (long long)bet->dim[i], pi, (long long)img->dim[i]);
    int64_t X = img->dim[0], Y = img->dim[1], Z = img->dim[2];
    /* z-score over the head (voxels above 5% of the maximum), whole volume */
    double mx = 0;
    for (int64_t i = 0; i < X * Y * Z; i++)
        if (isfinite(img->data[i]) && img->data[i] > mx) mx = img->data[i];
    double sum = 0, sq = 0;
    int64_t cnt = 0;
    for (int64_t i = 0; i < X * Y * Z; i++) {
        double v = img->data[i];
        if (isfinite(v) && v > 0.05 * mx) {
            sum += v;
            sq += v * v;
            cnt++;
        }
    }
    if (cnt < 2) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: no head voxels above 5%% of the maximum", pi);
    double mean = sum / (double)cnt, sd = sqrt(fmax(sq / (double)cnt - mean * mean, 1e-12));
    int64_t h0 = Y / ds, w0 = X / ds;
    int64_t H = (h0 + mult - 1) / mult * mult, W = (w0 + mult - 1) / mult * mult;
    int64_t oy = (H - h0) / 2, ox = (W - w0) / 2;
    keep = calloc((size_t)Z, sizeof *keep);
    if (!keep) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "sample_brain: out of memory");
    int64_t nk = 0;
    for (int64_t z = 0; z < Z; z++) {
        int64_t b = 0;
        for (int64_t i = 0; i < X * Y; i++) b += bet->data[z * X * Y + i] > 0;
        if ((double)b > opt->min_brain_fraction * (double)(X * Y)) {
            keep[z] = 1;
            nk++;
        }
    }
    if (nk == 0) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: no axial slice holds brain", pm);
    s = alloc_set(nk, H, W);
    if (!s) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "sample_brain: out of memory");
    int64_t k = 0;
    for (int64_t z = 0; z < Z; z++) {
        if (!keep[z]) continue;
        float *im = s->images + k * H * W;
        uint8_t *lb = s->labels + k * H * W;
        for (int64_t i = 0; i < H * W; i++) im[i] = (float)((0.0 - mean) / sd);
        for (int64_t y = 0; y < h0; y++) {
            for (int64_t x = 0; x < w0; x++) {
                double a = 0, m = 0;
                for (int dy = 0; dy < ds; dy++)
                    for (int dx = 0; dx < ds; dx++) {
                        /* image rows run from anterior (top) to posterior: flip y */
                        int64_t sy = Y - 1 - (y * ds + dy), sx = x * ds + dx;
                        int64_t src = z * X * Y + sy * X + sx;
                        double v = img->data[src];
                        a += isfinite(v) ? v : 0.0;
                        m += bet->data[src] > 0;
                    }
                a /= ds * ds;
                m /= ds * ds;
                im[(y + oy) * W + x + ox] = (float)((a - mean) / sd);
                lb[(y + oy) * W + x + ox] = m >= 0.5;
            }
        }
        s->index[k] = (int)z;
        k++;
    }
    s->spacing[0] = img->spacing[1] * ds;
    s->spacing[1] = img->spacing[0] * ds;
    snprintf(s->source, sizeof s->source,
             "%.200s (Colin27 T1, %lldx%lldx%lld, %.1f mm) with brain mask %.200s > 0; axial slices "
             "down-sampled %dx, padded to %lldx%lld",
             pi, (long long)X, (long long)Y, (long long)Z, img->spacing[0], pm, ds, (long long)H,
             (long long)W);
    *out = s;
    s = NULL;
cleanup:
    medcl_slice_set_free(s);
    medcl_volume_free(img);
    medcl_volume_free(bet);
    free(keep);
    return st;
}

static double draw(uint64_t seed, uint32_t c2, uint64_t i) {
    return medcl_philox_u01(medcl_philox_at(seed, 0x5a4d, c2, 0, i));
}

medcl_status medcl_sample_phantom(uint64_t seed, int64_t n, int64_t size, medcl_slice_set **out) {
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_sample_phantom: out is NULL");
    *out = NULL;
    if (n < 1 || size < 16 || size > 4096)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "sample_phantom: n = %lld, size = %lld (need n >= 1, "
                          "16 <= size <= 4096)", (long long)n, (long long)size);
    medcl_slice_set *s = alloc_set(n, size, size);
    if (!s) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "sample_phantom: out of memory");
    for (int64_t k = 0; k < n; k++) {
        uint32_t c = (uint32_t)k;
        double cx = 0.5 + 0.06 * (draw(seed, c, 0) - 0.5), cy = 0.5 + 0.06 * (draw(seed, c, 1) - 0.5);
        double ax = 0.28 + 0.1 * draw(seed, c, 2), ay = 0.33 + 0.1 * draw(seed, c, 3);
        double rot = 0.6 * (draw(seed, c, 4) - 0.5);
        double brain = 0.8 + 0.4 * draw(seed, c, 5), skull = 2.0 + 0.5 * draw(seed, c, 6);
        double vx = cx + 0.12 * (draw(seed, c, 7) - 0.5), vy = cy + 0.1 * (draw(seed, c, 8) - 0.5);
        double cr = cos(rot), sr = sin(rot);
        for (int64_t y = 0; y < size; y++) {
            for (int64_t x = 0; x < size; x++) {
                double u = (double)x / (double)size - cx, v = (double)y / (double)size - cy;
                double ru = cr * u + sr * v, rv = -sr * u + cr * v;
                double r = sqrt((ru / ax) * (ru / ax) + (rv / ay) * (rv / ay));
                double val = -1.0, lab = 0;
                if (r < 1.0) {
                    lab = 1;
                    val = brain;
                    /* ventricles: darker blob inside */
                    double dv = sqrt((u + cx - vx) * (u + cx - vx) * 40 + (v + cy - vy) * (v + cy - vy) * 25);
                    if (dv < 0.5) val = 0.2;
                } else if (r < 1.18) {
                    val = skull;
                }
                double noise = 0.15 * (draw(seed, c + 0x10000u, (uint64_t)(y * size + x)) - 0.5) * 2.0;
                s->images[(k * size + y) * size + x] = (float)(val + noise);
                s->labels[(k * size + y) * size + x] = (uint8_t)lab;
            }
        }
        s->index[k] = (int)k;
    }
    s->spacing[0] = s->spacing[1] = 2.0;
    snprintf(s->source, sizeof s->source,
             "synthetic phantom (seed %llu): %lld slices of %lldx%lld, elliptical brain in a skull ring",
             (unsigned long long)seed, (long long)n, (long long)size, (long long)size);
    *out = s;
    return MEDCL_OK;
}
