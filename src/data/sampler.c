/* src/data/sampler.c — patch sampling with nnU-Net's foreground oversampling: per-case
 * foreground locations (at most max_fg_locations per class, an even stride through the voxels
 * of the class), the bounding-box rule of nnU-Net v2's data loader (patches larger than the
 * image are centred with padding; a forced sample is centred on a random voxel of a random
 * foreground class present in the case), 3D patches or 2D slices along an axis, cut at the
 * source patch size. Draws come from Philox (seed, stream, epoch, global sample index), six
 * per sample at fixed positions, so a sample never depends on another. Leaves out nnU-Net's
 * "probabilistic oversampling" variant. */
#include "data_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool medcl_sampler_force_fg(int s, int batch, float fraction) {
    double cut = nearbyint((double)batch * (1.0 - (double)fraction)); /* ties to even, as Python */
    return (double)s >= cut;
}

void medcl_fg_index_free(medcl_fg_index *f) {
    if (!f) return;
    if (f->loc)
        for (int c = 0; c < f->n_classes; c++) free(f->loc[c]);
    free(f->loc);
    free(f->count);
    memset(f, 0, sizeof *f);
}

medcl_status medcl_fg_index_build(const medcl_case_data *cd, int n_classes, int ignore_label,
                                  int64_t max_per_class, medcl_fg_index *out) {
    medcl_status st = MEDCL_OK;
    int64_t *total = NULL, *seen = NULL;
    memset(out, 0, sizeof *out);
    if (!cd->label || n_classes < 2) return MEDCL_OK;
    int64_t nvox = cd->dim[0] * cd->dim[1] * cd->dim[2];
    out->n_classes = n_classes;
    out->count = calloc((size_t)n_classes, sizeof(int64_t));
    out->loc = calloc((size_t)n_classes, sizeof(int64_t *));
    total = calloc((size_t)n_classes, sizeof(int64_t));
    seen = calloc((size_t)n_classes, sizeof(int64_t));
    if (!out->count || !out->loc || !total || !seen)
        MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "fg_index: out of memory");
    for (int64_t i = 0; i < nvox; i++) {
        int c = (int)cd->label[i];
        if (c > 0 && c < n_classes && c != ignore_label) total[c]++;
    }
    for (int c = 1; c < n_classes; c++) {
        int64_t take = total[c] < max_per_class ? total[c] : max_per_class;
        if (take == 0) continue;
        out->loc[c] = malloc((size_t)take * sizeof(int64_t));
        if (!out->loc[c]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "fg_index: out of memory");
    }
    for (int64_t i = 0; i < nvox; i++) {
        int c = (int)cd->label[i];
        if (c <= 0 || c >= n_classes || c == ignore_label) continue;
        int64_t take = total[c] < max_per_class ? total[c] : max_per_class;
        int64_t j = out->count[c];
        if (j < take && seen[c] == (j * total[c]) / take) out->loc[c][out->count[c]++] = i;
        seen[c]++;
    }
cleanup:
    free(total);
    free(seen);
    if (st != MEDCL_OK) medcl_fg_index_free(out);
    return st;
}

/* uniform integer in [0, range) from one 32-bit draw (range ≤ 2^32) */
static int64_t uint_below(uint32_t u, int64_t range) {
    return (int64_t)(((uint64_t)u * (uint64_t)range) >> 32);
}

medcl_status medcl_sample_patch(const medcl_case_data *cd, const medcl_fg_index *fg,
                                const medcl_sampler_options *o, const int64_t src[3],
                                uint64_t seed, uint32_t epoch, uint32_t sample_global,
                                bool force_fg, float *img, float *lab, uint8_t *forced) {
    uint32_t u[6];
    for (int i = 0; i < 6; i++)
        u[i] = medcl_philox_at(seed, MEDCL_STREAM_SAMPLER, epoch, sample_global, (uint64_t)i);
    const int64_t *dim = cd->dim;
    int64_t H = dim[1], W = dim[2];
    /* a foreground voxel when forced and the case has one */
    int64_t vox[3] = {-1, -1, -1};
    *forced = 0;
    if (force_fg && fg && fg->n_classes > 1) {
        int present = 0;
        for (int c = 1; c < fg->n_classes; c++) present += fg->count[c] > 0;
        if (present > 0) {
            int pick = (int)uint_below(u[0], present), c = 1;
            for (;; c++)
                if (fg->count[c] > 0 && pick-- == 0) break;
            int64_t flat = fg->loc[c][uint_below(u[1], fg->count[c])];
            vox[0] = flat / (H * W);
            vox[1] = (flat / W) % H;
            vox[2] = flat % W;
            *forced = 1;
        }
    }
    /* axes of the patch in the volume: 3D all three; 2D the two besides slice_axis */
    int axes[3];
    int64_t lb[3] = {0, 0, 0}, ext[3] = {1, 1, 1};
    int na = 0;
    int sa = o->slice_axis;
    if (sa >= 0) {
        lb[sa] = *forced ? vox[sa] : uint_below(u[2], dim[sa]);
        ext[sa] = 1;
        for (int a = 0; a < 3; a++)
            if (a != sa) axes[na++] = a;
    } else {
        for (int a = 0; a < 3; a++) axes[na++] = a;
    }
    for (int j = 0; j < na; j++) {
        int a = axes[j];
        int64_t p = sa >= 0 ? src[1 + j] : src[a];
        int64_t n = dim[a];
        int64_t need = p > n ? p - n : 0;
        int64_t lbs = -(need / 2), ubs = n + need / 2 + need % 2 - p;
        if (*forced) {
            int64_t v = vox[a] - p / 2;
            lb[a] = v > lbs ? v : lbs;
        } else {
            lb[a] = lbs + uint_below(u[3 + j], ubs - lbs + 1);
        }
        ext[a] = p;
    }
    /* copy with zero padding: output (C, ext0, ext1, ext2) with ext[sa] = 1 for slices */
    int64_t nvox = dim[0] * H * W, out_n = ext[0] * ext[1] * ext[2];
    for (int64_t c = 0; c < cd->channels + (lab ? 1 : 0); c++) {
        const float *s = c < cd->channels ? cd->image + c * nvox : cd->label;
        float *dst = c < cd->channels ? img + c * out_n : lab;
        if (!s) { /* classification: no label map */
            memset(dst, 0, (size_t)out_n * sizeof(float));
            continue;
        }
        for (int64_t d = 0; d < ext[0]; d++) {
            int64_t sd = lb[0] + d;
            for (int64_t h = 0; h < ext[1]; h++) {
                int64_t sh = lb[1] + h;
                float *row = dst + (d * ext[1] + h) * ext[2];
                if (sd < 0 || sd >= dim[0] || sh < 0 || sh >= H) {
                    memset(row, 0, (size_t)ext[2] * sizeof(float));
                    continue;
                }
                const float *srow = s + (sd * H + sh) * W;
                for (int64_t w = 0; w < ext[2]; w++) {
                    int64_t sw = lb[2] + w;
                    row[w] = (sw >= 0 && sw < W) ? srow[sw] : 0.0f;
                }
            }
        }
    }
    return MEDCL_OK;
}
