/* src/eval/overlay.c — PNG overlays of an image slice with reference and prediction
 * contours (medcl/report.h): intensity window from percentiles, contours as the voxel
 * boundary (a pixel of the class with a 4-neighbour outside it), side-by-side panels or one
 * blended panel, optional translucent fill, integer up-scaling; and the choice of the slice
 * to show from a 3D label map.
 *
 * Left out: colour images, resampling to isotropic pixels, text annotations (the report's
 * Markdown names each figure). */
#include "medcl/report.h"
#include "medcl/data_io.h"
#include "core/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile with linear interpolation over sorted v[n] */
static double percentile(const float *v, size_t n, double p) {
    double pos = p / 100.0 * (double)(n - 1);
    size_t i = (size_t)floor(pos);
    if (i + 1 >= n) return v[n - 1];
    double f = pos - (double)i;
    return (double)v[i] + ((double)v[i + 1] - (double)v[i]) * f;
}

static bool in_class(int32_t v, int32_t label) { return label < 0 ? v != 0 : v == label; }

/* contour[i] = 1 where the pixel is in the class and a 4-neighbour is not (border = outside) */
static void contour(const int32_t *lab, int64_t w, int64_t h, int32_t label, uint8_t *out) {
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            int64_t i = y * w + x;
            int32_t v = lab[i];
            bool in = in_class(v, label);
            bool edge = in && (x == 0 || y == 0 || x == w - 1 || y == h - 1 || !in_class(lab[i - 1], label) ||
                               !in_class(lab[i + 1], label) || !in_class(lab[i - w], label) ||
                               !in_class(lab[i + w], label));
            /* multi-class: a boundary between two foreground classes is a contour too */
            if (in && !edge && label < 0)
                edge = lab[i - 1] != v || lab[i + 1] != v || lab[i - w] != v || lab[i + w] != v;
            out[i] = edge ? 1 : 0;
        }
}

static uint8_t blend(uint8_t g, uint8_t c, double a) { return (uint8_t)lround((1.0 - a) * g + a * c); }

medcl_status medcl_overlay_render(const float *image, const int32_t *ref, const int32_t *pred,
                                  int64_t width, int64_t height, const medcl_overlay_options *opt,
                                  uint8_t **rgb, int64_t *out_width, int64_t *out_height) {
    medcl_status st = MEDCL_OK;
    float *sorted = NULL;
    uint8_t *gray = NULL, *cref = NULL, *cpred = NULL, *img = NULL;
    medcl_overlay_options def = MEDCL_OVERLAY_OPTIONS_INIT;
    if (!rgb || !out_width || !out_height) return medcl_fail(MEDCL_ERR_INVALID_ARG, "overlay: NULL output argument");
    *rgb = NULL;
    *out_width = *out_height = 0;
    if (!opt) opt = &def;
    if (!image) return medcl_fail(MEDCL_ERR_INVALID_ARG, "overlay: image is NULL");
    if (opt->size < sizeof(medcl_overlay_options))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "overlay: options.size = %zu, expected %zu", opt->size,
                          sizeof(medcl_overlay_options));
    if (width < 1 || height < 1 || width > 100000 || height > 100000)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "overlay: width x height = %lld x %lld (each must be 1..100000)",
                          (long long)width, (long long)height);
    if ((int)opt->layout < 0 || opt->layout >= MEDCL_OVERLAY_LAYOUT_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "overlay: layout = %d is not a medcl_overlay_layout", (int)opt->layout);
    if (!(opt->window_lo >= 0 && opt->window_lo <= opt->window_hi && opt->window_hi <= 100))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "overlay: window percentiles [%g, %g] (need 0 <= lo <= hi <= 100)",
                          opt->window_lo, opt->window_hi);
    if (!(opt->fill_alpha >= 0 && opt->fill_alpha <= 1))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "overlay: fill_alpha = %g (must be in [0, 1])", opt->fill_alpha);
    if (opt->scale < 1 || opt->scale > 16)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "overlay: scale = %d (must be 1..16)", (int)opt->scale);
    if (opt->gap < 0 || opt->gap > 1000)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "overlay: gap = %d (must be 0..1000)", (int)opt->gap);
    size_t n = (size_t)(width * height);

    /* intensity window */
    sorted = malloc(n * sizeof(float));
    gray = malloc(n);
    if (!sorted || !gray) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "overlay: out of memory");
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(image[i])) sorted[m++] = image[i];
    double lo = 0, hi = 0;
    if (m > 0) {
        qsort(sorted, m, sizeof(float), cmp_float);
        lo = percentile(sorted, m, opt->window_lo);
        hi = percentile(sorted, m, opt->window_hi);
    }
    for (size_t i = 0; i < n; i++) {
        double v = image[i];
        double g = (isfinite(v) && hi > lo) ? 255.0 * (v - lo) / (hi - lo) : 0.0;
        gray[i] = (uint8_t)(g <= 0 ? 0 : g >= 255 ? 255 : lround(g));
    }
    if (ref) {
        cref = malloc(n);
        if (!cref) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "overlay: out of memory");
        contour(ref, width, height, opt->label, cref);
    }
    if (pred) {
        cpred = malloc(n);
        if (!cpred) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "overlay: out of memory");
        contour(pred, width, height, opt->label, cpred);
    }

    /* panels: 0 plain, 1 reference, 2 prediction, 3 both */
    int panels[3], np = 0;
    if (opt->layout == MEDCL_OVERLAY_BLENDED) {
        panels[np++] = 3;
    } else {
        panels[np++] = 0;
        if (ref) panels[np++] = 1;
        if (pred) panels[np++] = 2;
    }
    int64_t s = opt->scale, gap = opt->gap;
    int64_t ow = (np * width + (np - 1) * gap) * s, oh = height * s;
    if (ow > 1000000 || oh > 1000000)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "overlay: output %lld x %lld pixels exceeds 1000000 per side", (long long)ow,
                   (long long)oh);
    img = calloc((size_t)(ow * oh), 3);
    if (!img) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "overlay: out of memory");
    for (int p = 0; p < np; p++) {
        int kind = panels[p];
        bool show_ref = (kind == 1 || kind == 3) && ref, show_pred = (kind == 2 || kind == 3) && pred;
        int64_t x0 = p * (width + gap);
        for (int64_t y = 0; y < height; y++)
            for (int64_t x = 0; x < width; x++) {
                int64_t i = y * width + x;
                uint8_t g = gray[i], c[3] = {g, g, g};
                bool r_in = show_ref && in_class(ref[i], opt->label), p_in = show_pred && in_class(pred[i], opt->label);
                bool r_edge = show_ref && cref[i], p_edge = show_pred && cpred[i];
                if (opt->fill_alpha > 0) {
                    /* fill: prediction over reference */
                    const uint8_t *fc = p_in ? opt->pred_rgb : r_in ? opt->ref_rgb : NULL;
                    if (fc)
                        for (int k = 0; k < 3; k++) c[k] = blend(g, fc[k], opt->fill_alpha);
                }
                const uint8_t *ec = (r_edge && p_edge) ? opt->both_rgb : p_edge ? opt->pred_rgb : r_edge ? opt->ref_rgb : NULL;
                if (ec) memcpy(c, ec, 3);
                for (int64_t dy = 0; dy < s; dy++)
                    for (int64_t dx = 0; dx < s; dx++) {
                        uint8_t *o = img + 3 * ((y * s + dy) * ow + (x0 + x) * s + dx);
                        memcpy(o, c, 3);
                    }
            }
    }
    *rgb = img;
    img = NULL;
    *out_width = ow;
    *out_height = oh;
cleanup:
    free(img);
    free(sorted);
    free(gray);
    free(cref);
    free(cpred);
    return st;
}

medcl_status medcl_overlay_write_png(const char *path, const float *image, const int32_t *ref,
                                     const int32_t *pred, int64_t width, int64_t height,
                                     const medcl_overlay_options *opt) {
    if (!path) return medcl_fail(MEDCL_ERR_INVALID_ARG, "overlay: path is NULL");
    uint8_t *rgb = NULL;
    int64_t w = 0, h = 0;
    medcl_status st = medcl_overlay_render(image, ref, pred, width, height, opt, &rgb, &w, &h);
    if (st == MEDCL_OK) st = medcl_png_write_rgb8(path, w, h, rgb);
    free(rgb);
    return st;
}

medcl_status medcl_overlay_pick_slice(const int32_t *labels, const int64_t shape[3], int32_t label,
                                      int64_t *slice) {
    if (!labels || !shape || !slice) return medcl_fail(MEDCL_ERR_INVALID_ARG, "overlay: pick slice: NULL argument");
    if (shape[0] < 1 || shape[1] < 1 || shape[2] < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "overlay: pick slice: shape (%lld, %lld, %lld) (each must be >= 1)",
                          (long long)shape[0], (long long)shape[1], (long long)shape[2]);
    int64_t plane = shape[1] * shape[2], best = -1, best_area = 0;
    for (int64_t z = 0; z < shape[0]; z++) {
        int64_t area = 0;
        for (int64_t i = 0; i < plane; i++) area += in_class(labels[z * plane + i], label);
        if (area > best_area) best_area = area, best = z;
    }
    *slice = best >= 0 ? best : shape[0] / 2;
    return MEDCL_OK;
}
