/* src/augment/pipeline.c — the pipeline object (an ordered list of transform specifications),
 * checks of a specification, and apply: geometry checks, one upload of every per-sample
 * parameter block, then the transforms in order on the device. Samples a transform misses
 * are not written (in place) or copied exactly (resampling to another size). The JSON form
 * and the presets are in json.c; the launches in spatial.c, intensity.c, mix.c. */
#include "augment_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_names[MEDCL_AUGMENT_KIND_COUNT] = {
    "spatial", "gaussian_noise", "rician_noise", "gaussian_blur", "brightness_mul",
    "brightness_add", "contrast", "gamma", "low_res", "bias_field", "coarse_dropout",
    "motion", "ghosting", "spike"};

const char *medcl_augment_kind_str(medcl_augment_kind k) {
    return (int)k >= 0 && k < MEDCL_AUGMENT_KIND_COUNT ? kind_names[k] : "?";
}

medcl_status medcl_augment_pipeline_create(medcl_augment_pipeline **out) {
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "augment_pipeline_create: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "augment_pipeline_create: out of memory");
    return MEDCL_OK;
}

void medcl_augment_pipeline_destroy(medcl_augment_pipeline *p) {
    if (!p) return;
    free(p->t);
    free(p);
}

int medcl_augment_pipeline_count(const medcl_augment_pipeline *p) { return p ? p->n : 0; }

const medcl_augment_transform *medcl_augment_pipeline_get(const medcl_augment_pipeline *p, int i) {
    return p && i >= 0 && i < p->n ? &p->t[i] : NULL;
}

static bool prob_ok(float p) { return p >= 0.0f && p <= 1.0f; }
static bool range_ok(const float r[2]) { return isfinite(r[0]) && isfinite(r[1]) && r[0] <= r[1]; }

medcl_status aug_transform_check(const medcl_augment_transform *t, const char *w) {
    if (!t) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: transform is NULL", w);
    if (t->size < sizeof *t)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: size = %zu, expected %zu", w, t->size, sizeof *t);
    if ((int)t->kind < 0 || t->kind >= MEDCL_AUGMENT_KIND_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.type: kind = %d is not a medcl_augment_kind", w, (int)t->kind);
    if (t->kind == MEDCL_AUGMENT_SPATIAL) {
        const medcl_augment_spatial *s = &t->spatial;
        const float ps[] = {s->p_rotation, s->p_scale, s->p_elastic, s->p_translate, s->p_rot90,
                            s->p_mirror[0], s->p_mirror[1], s->p_mirror[2]};
        for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
            if (!prob_ok(ps[i])) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: probability %g not in [0, 1]", w, ps[i]);
        for (int a = 0; a < 3; a++)
            if (!range_ok(s->rotation[a])) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.rotation[%d]: range [%g, %g] is not ordered and finite", w, a, s->rotation[a][0], s->rotation[a][1]);
        if (!range_ok(s->scale) || s->scale[0] <= 0.0f)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.scale: range [%g, %g] must be ordered and > 0", w, s->scale[0], s->scale[1]);
        if (!range_ok(s->translate))
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.translate: range [%g, %g] is not ordered", w, s->translate[0], s->translate[1]);
        if (s->elastic_points < 4 || s->elastic_points > MEDCL_AUGMENT_MAX_GRID)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.elastic_points: %d not in 4..%d", w, s->elastic_points, MEDCL_AUGMENT_MAX_GRID);
        if (!(s->elastic_max >= 0.0f) || !isfinite(s->elastic_max))
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.elastic_max: %g must be >= 0", w, s->elastic_max);
        if ((int)s->image_interp < 0 || s->image_interp >= MEDCL_AUGMENT_INTERP_COUNT ||
            (int)s->label_interp < 0 || s->label_interp >= MEDCL_AUGMENT_LABEL_INTERP_COUNT ||
            (int)s->border < 0 || s->border >= MEDCL_AUGMENT_BORDER_COUNT)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: interpolation or border enum out of range", w);
        return MEDCL_OK;
    }
    if (!prob_ok(t->p)) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.p: %g not in [0, 1]", w, t->p);
    if (!prob_ok(t->p_per_channel))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.p_per_channel: %g not in [0, 1]", w, t->p_per_channel);
    if (!range_ok(t->range))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: range [%g, %g] is not ordered and finite", w, t->range[0], t->range[1]);
    if (t->count[0] < 0 || t->count[0] > t->count[1])
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.count: [%d, %d] is not an ordered range >= 0", w, t->count[0], t->count[1]);
    switch (t->kind) {
    case MEDCL_AUGMENT_GAUSSIAN_NOISE:
    case MEDCL_AUGMENT_RICIAN_NOISE:
        if (t->range[0] < 0) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.sigma: %g < 0", w, t->range[0]);
        break;
    case MEDCL_AUGMENT_GAUSSIAN_BLUR:
        if (t->range[0] <= 0 || t->range[1] > 16)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.sigma: [%g, %g] must lie in (0, 16]", w, t->range[0], t->range[1]);
        break;
    case MEDCL_AUGMENT_GAMMA:
        if (t->range[0] <= 0) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.gamma: %g must be > 0", w, t->range[0]);
        break;
    case MEDCL_AUGMENT_LOW_RES:
        if (t->range[0] <= 0 || t->range[1] > 1)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.zoom: [%g, %g] must lie in (0, 1]", w, t->range[0], t->range[1]);
        break;
    case MEDCL_AUGMENT_COARSE_DROPOUT:
        if (t->count[1] > MEDCL_AUGMENT_MAX_BOXES || t->range[0] < 0 || t->range[1] > 1)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: count [%d, %d] must be <= %d and size within [0, 1]", w, t->count[0], t->count[1], MEDCL_AUGMENT_MAX_BOXES);
        break;
    case MEDCL_AUGMENT_MOTION:
    case MEDCL_AUGMENT_GHOSTING:
    case MEDCL_AUGMENT_SPIKE:
        if (t->axis < 0 || t->axis > 2) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.axis: %d not in 0..2", w, t->axis);
        if (t->kind == MEDCL_AUGMENT_MOTION && t->count[1] > AUG_MAX_SEG - 1)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.count: at most %d movements", w, AUG_MAX_SEG - 1);
        if (t->kind == MEDCL_AUGMENT_SPIKE && t->count[1] > AUG_MAX_SPIKE)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.count: at most %d spikes", w, AUG_MAX_SPIKE);
        if (t->kind == MEDCL_AUGMENT_GHOSTING && t->count[0] < 1)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s.count: ghosts must be >= 1", w);
        break;
    default: break;
    }
    return MEDCL_OK;
}

medcl_status medcl_augment_pipeline_add(medcl_augment_pipeline *p, const medcl_augment_transform *t) {
    if (!p) return medcl_fail(MEDCL_ERR_INVALID_ARG, "augment_pipeline_add: pipeline is NULL");
    char where[48];
    snprintf(where, sizeof where, "augment transform %d", p->n);
    medcl_status st = aug_transform_check(t, where);
    if (st != MEDCL_OK) return st;
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 8;
        medcl_augment_transform *g = realloc(p->t, (size_t)cap * sizeof *g);
        if (!g) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "augment_pipeline_add: out of memory");
        p->t = g;
        p->cap = cap;
    }
    p->t[p->n] = *t;
    p->t[p->n].size = sizeof *t;
    p->n++;
    return MEDCL_OK;
}

/* (N, C, D, H, W) of a 5-D or 4-D tensor */
static medcl_status shape5(const char *role, const medcl_tensor *t, int64_t s[5]) {
    medcl_status st = medcl_op_check("augment", role, t, true);
    if (st != MEDCL_OK) return st;
    if (t->ndim != 5 && t->ndim != 4)
        return medcl_fail(MEDCL_ERR_SHAPE, "augment: %s (%s) has %d dimensions, expected (N, C, D, H, W) or (N, C, H, W)",
                          role, medcl_tensor_name(t), t->ndim);
    medcl_tensor_ncdhw(t, s);
    return MEDCL_OK;
}

static medcl_status make(medcl_context *ctx, const char *name, int64_t n, medcl_tensor **out) {
    return medcl_tensor_create_f32(ctx, name, 1, &n, out);
}

medcl_status medcl_augment_pipeline_apply_to(const medcl_augment_pipeline *p, const medcl_tensor *image,
                                             const medcl_tensor *label, medcl_tensor *image_out,
                                             medcl_tensor *label_out, uint64_t seed, uint32_t epoch,
                                             uint32_t sample_index0) {
    medcl_status st = MEDCL_OK;
    float *blocks = NULL;
    medcl_tensor *params = NULL, *scratch = NULL, *scratch2 = NULL, *stats = NULL, *stats2 = NULL;
    if (!p) return medcl_fail(MEDCL_ERR_INVALID_ARG, "augment: pipeline is NULL");
    int64_t si[5], so[5], sl[5], slo[5];
    MEDCL_TRY(shape5("image", image, si));
    MEDCL_TRY(shape5("image_out", image_out, so));
    if ((label == NULL) != (label_out == NULL))
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "augment: label and label_out must both be given or both be NULL");
    if (si[0] != so[0] || si[1] != so[1])
        MEDCL_FAIL(MEDCL_ERR_SHAPE, "augment: image_out (%s) has N=%lld C=%lld, image (%s) N=%lld C=%lld",
                   medcl_tensor_name(image_out), (long long)so[0], (long long)so[1], medcl_tensor_name(image),
                   (long long)si[0], (long long)si[1]);
    if (si[1] > MEDCL_AUGMENT_MAX_CHANNELS)
        MEDCL_FAIL(MEDCL_ERR_UNSUPPORTED, "augment: image (%s) has C=%lld channels, at most %d", medcl_tensor_name(image),
                   (long long)si[1], MEDCL_AUGMENT_MAX_CHANNELS);
    if (label) {
        MEDCL_TRY(shape5("label", label, sl));
        MEDCL_TRY(shape5("label_out", label_out, slo));
        for (int a = 0; a < 5; a++)
            if (sl[a] != (a == 1 ? 1 : si[a]) || slo[a] != (a == 1 ? 1 : so[a]))
                MEDCL_FAIL(MEDCL_ERR_SHAPE, "augment: label (%s) / label_out (%s) dimension %d = %lld / %lld, expected %lld / %lld",
                           medcl_tensor_name(label), medcl_tensor_name(label_out), a, (long long)sl[a], (long long)slo[a],
                           (long long)(a == 1 ? 1 : si[a]), (long long)(a == 1 ? 1 : so[a]));
    }
    bool resize = si[2] != so[2] || si[3] != so[3] || si[4] != so[4];
    if (resize && (p->n == 0 || p->t[0].kind != MEDCL_AUGMENT_SPATIAL))
        MEDCL_FAIL(MEDCL_ERR_SHAPE, "augment: image (%s) and image_out (%s) differ in size: the first transform must be spatial",
                   medcl_tensor_name(image), medcl_tensor_name(image_out));
    if ((si[2] == 1) != (so[2] == 1))
        MEDCL_FAIL(MEDCL_ERR_SHAPE, "augment: image D=%lld and image_out D=%lld: 2D and 3D cannot mix", (long long)si[2], (long long)so[2]);
    medcl_context *ctx = image->ctx;
    aug_geom g = {si[0], si[1], {si[2], si[3], si[4]}, {so[2], so[3], so[4]}};
    int64_t N = g.n, C = g.c, Vo = so[2] * so[3] * so[4];
    /* draw every block; skip transforms that hit no sample */
    size_t nb = (size_t)(p->n ? p->n : 1) * (size_t)N * AUG_PB;
    blocks = calloc(nb, sizeof *blocks);
    if (!blocks) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "augment: out of host memory for %zu parameters", nb);
    bool any_hit[256] = {false}, need_kspace = false;
    if (p->n > 256) MEDCL_FAIL(MEDCL_ERR_UNSUPPORTED, "augment: %d transforms, at most 256", p->n);
    for (int ti = 0; ti < p->n; ti++) {
        aug_geom gt = g;
        if (ti > 0 || p->t[ti].kind != MEDCL_AUGMENT_SPATIAL)
            for (int a = 0; a < 3; a++) gt.in[a] = g.out[a];
        for (int64_t n = 0; n < N; n++) {
            float *b = blocks + ((size_t)ti * (size_t)N + (size_t)n) * AUG_PB;
            aug_draw(&p->t[ti], ti, &gt, seed, epoch, sample_index0 + (uint32_t)n, b);
            if (b[AUG_P_APPLIED] != 0.0f) any_hit[ti] = true;
        }
        medcl_augment_kind k = p->t[ti].kind;
        if (any_hit[ti] && (k == MEDCL_AUGMENT_MOTION || k == MEDCL_AUGMENT_GHOSTING || k == MEDCL_AUGMENT_SPIKE))
            need_kspace = true;
    }
    MEDCL_TRY(make(ctx, "augment.params", (int64_t)nb, &params));
    MEDCL_TRY(medcl_tensor_upload(params, blocks, nb * sizeof *blocks));
    MEDCL_TRY(make(ctx, "augment.scratch", N * C * Vo, &scratch));
    MEDCL_TRY(make(ctx, "augment.stats", N * C * 4, &stats));
    MEDCL_TRY(make(ctx, "augment.stats2", N * C * 4, &stats2));
    if (need_kspace) MEDCL_TRY(make(ctx, "augment.kspace", 4 * N * C * Vo, &scratch2));
    bool done_first = false;
    for (int ti = 0; ti < p->n; ti++) {
        const medcl_augment_transform *t = &p->t[ti];
        bool first_resize = ti == 0 && t->kind == MEDCL_AUGMENT_SPATIAL && (resize || image != image_out);
        if (!any_hit[ti] && !first_resize) continue;
        int64_t off = (int64_t)ti * N * AUG_PB;
        medcl_tensor *view = NULL;
        int64_t shp[2] = {(int64_t)p->n * N, AUG_PB};
        medcl_tensor *p2 = NULL;
        MEDCL_TRY(medcl_tensor_view_reshape(params, 2, shp, &p2));
        st = medcl_tensor_view_n(p2, off / AUG_PB, N, &view);
        medcl_tensor_destroy(p2);
        if (st != MEDCL_OK) goto cleanup;
        aug_run r = {ctx, &g, t, ti, seed, epoch, sample_index0, view, scratch, scratch2, stats, stats2};
        if (t->kind == MEDCL_AUGMENT_SPATIAL) {
            aug_geom gt = g;
            const medcl_tensor *xin = done_first ? image_out : image, *lin = done_first ? label_out : label;
            if (done_first || !resize)
                for (int a = 0; a < 3; a++) gt.in[a] = g.out[a];
            r.g = &gt;
            st = aug_spatial_run(&r, xin, lin, image_out, label_out);
        } else {
            if (!done_first && image != image_out) {
                st = medcl_copy(image_out, image);
                if (st == MEDCL_OK && label) st = medcl_copy(label_out, label);
                if (st != MEDCL_OK) {
                    medcl_tensor_destroy(view);
                    goto cleanup;
                }
            }
            if (t->kind == MEDCL_AUGMENT_MOTION || t->kind == MEDCL_AUGMENT_GHOSTING || t->kind == MEDCL_AUGMENT_SPIKE)
                st = aug_kspace_run(&r, image_out);
            else
                st = aug_intensity_run(&r, image_out);
        }
        done_first = true;
        medcl_tensor_destroy(view);
        if (st != MEDCL_OK) goto cleanup;
    }
    if (!done_first && image != image_out) {
        MEDCL_TRY(medcl_copy(image_out, image));
        if (label) MEDCL_TRY(medcl_copy(label_out, label));
    }
cleanup:
    medcl_tensor_destroy(params);
    medcl_tensor_destroy(scratch);
    medcl_tensor_destroy(scratch2);
    medcl_tensor_destroy(stats);
    medcl_tensor_destroy(stats2);
    free(blocks);
    return st;
}

medcl_status medcl_augment_pipeline_apply(const medcl_augment_pipeline *p, medcl_tensor *image,
                                          medcl_tensor *label, uint64_t seed, uint32_t epoch,
                                          uint32_t sample_index0) {
    return medcl_augment_pipeline_apply_to(p, image, label, image, label, seed, epoch, sample_index0);
}
