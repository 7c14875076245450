/* src/eval/protocol.c — the cross-domain evaluation protocol (medcl/protocol.h): test sets
 * made by the library (from demo slices, shifted copies), the shift transforms of severity
 * sweeps and simulated scanners, the evaluation loop (device inference per case, host
 * metrics), means with bootstrap intervals and the generalization gap with a two-sample
 * bootstrap of the difference of means. Leaves out the report files (protocol_report.c)
 * and every metric definition (metrics_*.c, bootstrap.c). */
#include "eval/metrics_internal.h"
#include "medcl/protocol.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Philox stream of the out-of-domain side of the gap bootstrap ("gap" + set index); the
 * reference side uses the bootstrap stream of bootstrap.c, so its resampled means are those
 * of its own interval. */
#define BOOTSTRAP_STREAM 0x6d657472u
#define GAP_STREAM 0x67617000u

/* ---------------- library-owned sets ---------------- */

/* Every allocation of a derived set, freed together. */
typedef struct set_store {
    void **blocks;
    int64_t n, cap;
} set_store;

static void *store_alloc(set_store *s, size_t bytes) {
    if (s->n == s->cap) {
        int64_t cap = s->cap ? 2 * s->cap : 64;
        void **g = realloc(s->blocks, (size_t)cap * sizeof *g);
        if (!g) return NULL;
        s->blocks = g;
        s->cap = cap;
    }
    void *p = calloc(1, bytes ? bytes : 1);
    if (p) s->blocks[s->n++] = p;
    return p;
}

static char *store_strdup(set_store *s, const char *text) {
    size_t n = strlen(text) + 1;
    char *p = store_alloc(s, n);
    if (p) memcpy(p, text, n);
    return p;
}

static void store_free(set_store *s) {
    if (!s) return;
    for (int64_t i = 0; i < s->n; i++) free(s->blocks[i]);
    free(s->blocks);
    free(s);
}

void medcl_eval_set_release(medcl_eval_set *s) {
    if (!s) return;
    store_free(s->storage);
    memset(s, 0, sizeof *s);
}

medcl_status medcl_eval_set_from_slices(const medcl_slice_set *s, int64_t first, int64_t count,
                                        const char *name, const char *domain, int in_domain,
                                        medcl_eval_set *out) {
    static const char fn[] = "eval_set_from_slices";
    medcl_status st = MEDCL_OK;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: out is NULL", fn);
    memset(out, 0, sizeof *out);
    if (!s || !name) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: slice set or name is NULL", fn);
    if (first < 0 || count < 1 || first > s->n - count)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: slices [%lld, %lld) outside the %lld slices of the set",
                          fn, (long long)first, (long long)(first + count), (long long)s->n);
    set_store *store = calloc(1, sizeof *store);
    if (!store) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    int64_t hw = s->h * s->w;
    medcl_eval_case *cases = store_alloc(store, (size_t)count * sizeof *cases);
    out->name = store_strdup(store, name);
    out->domain = store_strdup(store, domain ? domain : name);
    if (!cases || !out->name || !out->domain) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    for (int64_t i = 0; i < count; i++) {
        int64_t k = first + i;
        float *img = store_alloc(store, (size_t)hw * sizeof *img);
        int32_t *lab = store_alloc(store, (size_t)hw * sizeof *lab);
        char id[192];
        snprintf(id, sizeof id, "%s_slice%d", name, s->index ? s->index[k] : (int)k);
        char *cid = store_strdup(store, id);
        if (!img || !lab || !cid) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
        memcpy(img, s->images + k * hw, (size_t)hw * sizeof *img);
        for (int64_t v = 0; v < hw; v++) lab[v] = s->labels[k * hw + v];
        cases[i] = (medcl_eval_case){cid, img, NULL, lab, 1, {1, s->h, s->w}, {1.0, s->spacing[0], s->spacing[1]}};
    }
    out->cases = cases;
    out->num_cases = count;
    out->in_domain = in_domain;
    out->storage = store;
    store = NULL;
cleanup:
    if (st != MEDCL_OK) memset(out, 0, sizeof *out);
    store_free(store);
    return st;
}

/* ---------------- shifts ---------------- */

medcl_status medcl_eval_shift_transform(const medcl_eval_shift *shift, medcl_augment_transform *t,
                                        int *identity) {
    static const char fn[] = "eval_shift_transform";
    if (!shift || !t) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: shift or t is NULL", fn);
    double s = shift->strength;
    const char *kn = medcl_augment_kind_str(shift->kind);
    if (!kn) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: kind %d out of range", fn, (int)shift->kind);
    if (!isfinite(s)) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %s strength %g is not finite", fn, kn, s);
    medcl_augment_transform d = MEDCL_AUGMENT_TRANSFORM_INIT;
    d.kind = shift->kind;
    d.p = 1.0f;
    d.p_per_channel = 1.0f;
    d.range[0] = d.range[1] = (float)s;
    double id = 0.0;
    switch (shift->kind) {
    case MEDCL_AUGMENT_GAUSSIAN_NOISE:
    case MEDCL_AUGMENT_RICIAN_NOISE:
    case MEDCL_AUGMENT_GAUSSIAN_BLUR:
    case MEDCL_AUGMENT_SPIKE:
    case MEDCL_AUGMENT_GHOSTING:
        if (s < 0) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %s strength %g must be >= 0", fn, kn, s);
        if (shift->kind == MEDCL_AUGMENT_GAUSSIAN_BLUR && s > 16)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: gaussian_blur sigma %g must be <= 16", fn, s);
        if (shift->kind == MEDCL_AUGMENT_GHOSTING) d.count[0] = d.count[1] = 4, d.axis = 1;
        if (shift->kind == MEDCL_AUGMENT_SPIKE) d.count[0] = d.count[1] = 1;
        break;
    case MEDCL_AUGMENT_BRIGHTNESS_ADD: break;
    case MEDCL_AUGMENT_BRIGHTNESS_MUL:
    case MEDCL_AUGMENT_CONTRAST:
        id = 1.0;
        d.preserve_range = 0;
        break;
    case MEDCL_AUGMENT_GAMMA:
        id = 1.0;
        if (s <= 0) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: gamma strength %g must be > 0", fn, s);
        break;
    case MEDCL_AUGMENT_LOW_RES:
        id = 1.0;
        if (s <= 0 || s > 1) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: low_res zoom %g must be in (0, 1]", fn, s);
        break;
    case MEDCL_AUGMENT_BIAS_FIELD:
    case MEDCL_AUGMENT_MOTION:
        if (s < 0) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %s strength %g must be >= 0", fn, kn, s);
        d.range[0] = (float)-s;
        if (shift->kind == MEDCL_AUGMENT_MOTION) d.count[0] = d.count[1] = 2, d.axis = 1;
        break;
    default:
        return medcl_fail(MEDCL_ERR_UNSUPPORTED, "%s: %s is not a shift (intensity and artifact transforms only)", fn, kn);
    }
    *t = d;
    if (identity) *identity = s == id;
    return MEDCL_OK;
}

static const medcl_eval_scanner scanners[] = {
    {"bias_field", "smooth multiplicative intensity inhomogeneity (bias field, coefficient 0.3)", 1,
     {{MEDCL_AUGMENT_BIAS_FIELD, 0.3}}},
    {"noise", "additive Gaussian noise (sigma 0.3 of the z-scored intensities)", 1,
     {{MEDCL_AUGMENT_GAUSSIAN_NOISE, 0.3}}},
    {"contrast_gamma", "lower contrast (factor 0.6) and a gamma curve (1.8)", 2,
     {{MEDCL_AUGMENT_CONTRAST, 0.6}, {MEDCL_AUGMENT_GAMMA, 1.8}}},
    {"blur_lowres", "blurring (sigma 1.2 voxels) and half resolution (zoom 0.5)", 2,
     {{MEDCL_AUGMENT_GAUSSIAN_BLUR, 1.2}, {MEDCL_AUGMENT_LOW_RES, 0.5}}},
};

const medcl_eval_scanner *medcl_eval_scanners(int *count) {
    if (count) *count = (int)(sizeof scanners / sizeof scanners[0]);
    return scanners;
}

/* A pipeline of the non-identity shifts; *out NULL when all are identities. */
static medcl_status shift_pipeline(const medcl_eval_shift *shifts, int n, medcl_augment_pipeline **out) {
    medcl_status st = MEDCL_OK;
    medcl_augment_pipeline *p = NULL;
    *out = NULL;
    if (n < 0 || n > MEDCL_EVAL_MAX_SHIFTS || (n > 0 && !shifts))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "eval shift: %d shifts (at most %d, non-NULL)", n, MEDCL_EVAL_MAX_SHIFTS);
    for (int i = 0; i < n; i++) {
        medcl_augment_transform t;
        int ident = 0;
        MEDCL_TRY(medcl_eval_shift_transform(&shifts[i], &t, &ident));
        if (ident) continue;
        if (!p) MEDCL_TRY(medcl_augment_pipeline_create(&p));
        MEDCL_TRY(medcl_augment_pipeline_add(p, &t));
    }
    *out = p;
    p = NULL;
cleanup:
    medcl_augment_pipeline_destroy(p);
    return st;
}

/* ---------------- one case on the device ---------------- */

static medcl_status check_case(const medcl_eval_set *set, int64_t i, int32_t K) {
    const medcl_eval_case *c = &set->cases[i];
    const char *id = c->id ? c->id : "(no id)";
    if (!c->label)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "eval: set '%s' case %lld (%s): label is NULL", set->name,
                          (long long)i, id);
    if (!c->image && !c->tensor)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "eval: set '%s' case %lld (%s): image and tensor are both NULL",
                          set->name, (long long)i, id);
    if (c->channels < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "eval: set '%s' case %lld (%s): channels = %lld, must be >= 1",
                          set->name, (long long)i, id, (long long)c->channels);
    for (int a = 0; a < 3; a++)
        if (c->shape[a] < 1)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "eval: set '%s' case %lld (%s): shape[%d] = %lld, must be >= 1",
                              set->name, (long long)i, id, a, (long long)c->shape[a]);
    int64_t V = c->shape[0] * c->shape[1] * c->shape[2];
    for (int64_t v = 0; v < V; v++)
        if (c->label[v] < 0 || c->label[v] >= K)
            return medcl_fail(MEDCL_ERR_INVALID_ARG,
                              "eval: set '%s' case %lld (%s): label[%lld] = %d outside [0, %d) (infer num_classes)",
                              set->name, (long long)i, id, (long long)v, c->label[v], K);
    return MEDCL_OK;
}

/* The case's image on the device, shifted when pipe is set. *img is either owned (*owned = 1)
 * or the caller's tensor. */
static medcl_status case_image(medcl_context *ctx, const medcl_eval_set *set, int64_t i,
                               const medcl_augment_pipeline *pipe, uint64_t seed,
                               medcl_tensor **img, int *owned) {
    medcl_status st = MEDCL_OK;
    const medcl_eval_case *c = &set->cases[i];
    medcl_tensor *t = NULL;
    *img = NULL;
    *owned = 0;
    if (c->image) {
        int64_t shape[5] = {1, c->channels, c->shape[0], c->shape[1], c->shape[2]};
        if (c->shape[0] == 1) {
            int64_t s4[4] = {1, c->channels, c->shape[1], c->shape[2]};
            MEDCL_TRY(medcl_tensor_create_f32(ctx, "eval.image", 4, s4, &t));
        } else {
            MEDCL_TRY(medcl_tensor_create_f32(ctx, "eval.image", 5, shape, &t));
        }
        MEDCL_TRY(medcl_tensor_upload(t, c->image, medcl_tensor_bytes(t)));
    } else {
        const medcl_tensor *src = c->tensor;
        int nd = medcl_tensor_ndim(src);
        int ok = (nd == 4 || nd == 5) && medcl_tensor_dtype(src) == MEDCL_DTYPE_F32 &&
                 medcl_tensor_dim(src, 0) == 1 && medcl_tensor_dim(src, 1) == c->channels &&
                 medcl_tensor_dim(src, nd - 1) == c->shape[2] && medcl_tensor_dim(src, nd - 2) == c->shape[1] &&
                 (nd == 4 ? c->shape[0] == 1 : medcl_tensor_dim(src, 2) == c->shape[0]);
        if (!ok)
            MEDCL_FAIL(MEDCL_ERR_SHAPE,
                       "eval: set '%s' case %lld: tensor %s is not f32 (1, %lld, %lld, %lld, %lld) as the case says",
                       set->name, (long long)i, medcl_tensor_name(src), (long long)c->channels,
                       (long long)c->shape[0], (long long)c->shape[1], (long long)c->shape[2]);
        if (!pipe) {
            *img = (medcl_tensor *)src; /* read only: inference does not write its input */
            return MEDCL_OK;
        }
        medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
        d.ndim = nd;
        d.name = "eval.image";
        for (int a = 0; a < nd; a++) d.shape[a] = medcl_tensor_dim(src, a);
        MEDCL_TRY(medcl_tensor_create(ctx, &d, &t));
        MEDCL_TRY(medcl_tensor_copy(t, src));
    }
    if (pipe) MEDCL_TRY(medcl_augment_pipeline_apply(pipe, t, NULL, seed, 0, (uint32_t)i));
    *img = t;
    *owned = 1;
    t = NULL;
cleanup:
    medcl_tensor_destroy(t);
    return st;
}

medcl_status medcl_eval_set_shift(medcl_context *ctx, const medcl_eval_set *src,
                                  const medcl_eval_shift *shifts, int num_shifts, uint64_t seed,
                                  const char *name, medcl_eval_set *out) {
    static const char fn[] = "eval_set_shift";
    medcl_status st = MEDCL_OK;
    medcl_augment_pipeline *pipe = NULL;
    medcl_tensor *img = NULL;
    int owned = 0;
    set_store *store = NULL;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: out is NULL", fn);
    memset(out, 0, sizeof *out);
    if (!ctx || !src || !name || !src->cases || src->num_cases < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: ctx, src, name or src->cases is NULL or empty", fn);
    MEDCL_TRY(shift_pipeline(shifts, num_shifts, &pipe));
    store = calloc(1, sizeof *store);
    if (!store) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    medcl_eval_case *cases = store_alloc(store, (size_t)src->num_cases * sizeof *cases);
    out->name = store_strdup(store, name);
    out->domain = out->name;
    if (!cases || !out->name) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    for (int64_t i = 0; i < src->num_cases; i++) {
        const medcl_eval_case *c = &src->cases[i];
        if ((!c->image && !c->tensor) || !c->label || c->channels < 1 || c->shape[0] < 1 || c->shape[1] < 1 ||
            c->shape[2] < 1)
            MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: set '%s' case %lld: image/tensor, label, channels or shape missing",
                       fn, src->name ? src->name : "", (long long)i);
        int64_t V = c->shape[0] * c->shape[1] * c->shape[2];
        float *im = store_alloc(store, (size_t)(V * c->channels) * sizeof *im);
        int32_t *lab = store_alloc(store, (size_t)V * sizeof *lab);
        char idb[32];
        snprintf(idb, sizeof idb, "case_%lld", (long long)i);
        char *id = store_strdup(store, c->id ? c->id : idb);
        if (!im || !lab || !id) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
        MEDCL_TRY(case_image(ctx, src, i, pipe, seed, &img, &owned));
        MEDCL_TRY(medcl_tensor_download(img, im, (size_t)(V * c->channels) * sizeof *im));
        if (owned) medcl_tensor_destroy(img);
        img = NULL;
        memcpy(lab, c->label, (size_t)V * sizeof *lab);
        cases[i] = *c;
        cases[i].id = id;
        cases[i].image = im;
        cases[i].tensor = NULL;
        cases[i].label = lab;
    }
    out->cases = cases;
    out->num_cases = src->num_cases;
    out->in_domain = 0;
    out->storage = store;
    store = NULL;
cleanup:
    if (owned) medcl_tensor_destroy(img);
    medcl_augment_pipeline_destroy(pipe);
    if (st != MEDCL_OK) memset(out, 0, sizeof *out);
    store_free(store);
    return st;
}

/* ---------------- metrics of one case ---------------- */

static const char *const metric_names[MEDCL_EVAL_METRIC_COUNT] = {
    "dice", "iou", "hd", "hd_percentile", "assd", "masd", "nsd", "sensitivity", "specificity", "precision"};

const char *medcl_eval_metric_str(medcl_eval_metric m) {
    return (int)m >= 0 && m < MEDCL_EVAL_METRIC_COUNT ? metric_names[m] : NULL;
}

int medcl_eval_metric_higher_is_better(medcl_eval_metric m) {
    return !(m == MEDCL_EVAL_HD || m == MEDCL_EVAL_HD_PERCENTILE || m == MEDCL_EVAL_ASSD || m == MEDCL_EVAL_MASD);
}

static double ratio(int64_t a, int64_t b) { return b > 0 ? (double)a / (double)b : NAN; }

/* Fills row i of every table of r from the reference and predicted label maps. */
static medcl_status case_metrics(const medcl_eval_options *o, const medcl_eval_case *c, const int32_t *pred,
                                 medcl_eval_set_result *r, int64_t i) {
    medcl_status st = MEDCL_OK;
    int32_t K = r->num_classes;
    int64_t cols = K + 1;
    medcl_overlap_counts *cnt = r->counts + i * K;
    medcl_surface_result *sr = r->surface + i * K;
    double sp[3] = {c->spacing[0], c->spacing[1], c->spacing[2]};
    if (c->shape[0] == 1 && !(sp[0] > 0 && isfinite(sp[0]))) sp[0] = 1.0; /* unused in 2D */
    MEDCL_TRY(medcl_metric_counts(c->label, pred, c->shape, K, cnt));
    if (o->surface_metrics) {
        MEDCL_TRY(medcl_metrics_surface_labels(c->label, pred, c->shape, sp, K, &o->surface, sr));
    } else {
        for (int32_t k = 0; k < K; k++) {
            sr[k].hd = sr[k].hd_percentile = sr[k].assd = sr[k].masd = NAN;
            for (int t = 0; t < MEDCL_SURFACE_MAX_TOLERANCES; t++) sr[k].nsd[t] = NAN;
        }
    }
    for (int32_t k = 0; k < K; k++) {
        double *row[MEDCL_EVAL_METRIC_COUNT];
        for (int m = 0; m < MEDCL_EVAL_METRIC_COUNT; m++) row[m] = r->values[m] + i * cols + k;
        MEDCL_TRY(medcl_metric_dice_from_counts(&cnt[k], o->overlap_empty, row[MEDCL_EVAL_DICE]));
        MEDCL_TRY(medcl_metric_iou_from_counts(&cnt[k], o->overlap_empty, row[MEDCL_EVAL_IOU]));
        *row[MEDCL_EVAL_HD] = sr[k].hd;
        *row[MEDCL_EVAL_HD_PERCENTILE] = sr[k].hd_percentile;
        *row[MEDCL_EVAL_ASSD] = sr[k].assd;
        *row[MEDCL_EVAL_MASD] = sr[k].masd;
        *row[MEDCL_EVAL_NSD] = o->surface.num_tolerances > 0 ? sr[k].nsd[0] : NAN;
        *row[MEDCL_EVAL_SENSITIVITY] = ratio(cnt[k].tp, cnt[k].tp + cnt[k].fn);
        *row[MEDCL_EVAL_SPECIFICITY] = ratio(cnt[k].tn, cnt[k].tn + cnt[k].fp);
        *row[MEDCL_EVAL_PRECISION] = ratio(cnt[k].tp, cnt[k].tp + cnt[k].fp);
    }
    /* foreground mean of the case: nanmean over classes 1..K-1 (class 0 alone when K = 1) */
    int32_t k0 = K > 1 ? 1 : 0;
    for (int m = 0; m < MEDCL_EVAL_METRIC_COUNT; m++) {
        const double *row = r->values[m] + i * cols;
        double s = 0.0;
        int64_t n = 0;
        for (int32_t k = k0; k < K; k++)
            if (!isnan(row[k])) s += row[k], n++;
        r->values[m][i * cols + K] = n ? s / (double)n : NAN;
    }
cleanup:
    return st;
}

/* ---------------- the loop over cases ---------------- */

typedef struct eval_job {
    medcl_context *ctx;
    medcl_infer_predict_fn predict;
    void *user;
    medcl_infer_options io;
    medcl_eval_options o;
} eval_job;

static void example_free(medcl_eval_example *e) {
    free(e->image);
    free(e->ref);
    free(e->pred);
    memset(e, 0, sizeof *e);
    e->case_index = -1;
}

static void set_result_free(medcl_eval_set_result *r) {
    if (r->case_ids)
        for (int64_t i = 0; i < r->num_cases; i++) free(r->case_ids[i]);
    free(r->case_ids);
    for (int m = 0; m < MEDCL_EVAL_METRIC_COUNT; m++) {
        free(r->values[m]);
        free(r->mean[m]);
        free(r->gap[m]);
    }
    free(r->counts);
    free(r->surface);
    example_free(&r->worst);
    example_free(&r->median);
}

static void copy_name(char *dst, size_t cap, const char *src) {
    snprintf(dst, cap, "%s", src ? src : "");
}

static medcl_status set_result_alloc(medcl_eval_set_result *r, const medcl_eval_set *set, int32_t K) {
    int64_t n = set->num_cases, cols = K + 1;
    r->num_cases = n;
    r->num_classes = K;
    r->worst_case = r->median_case = -1;
    r->worst.case_index = r->median.case_index = -1;
    copy_name(r->name, sizeof r->name, set->name);
    copy_name(r->domain, sizeof r->domain, set->domain ? set->domain : set->name);
    r->in_domain = set->in_domain != 0;
    r->case_ids = calloc((size_t)n, sizeof *r->case_ids);
    r->counts = calloc((size_t)(n * K), sizeof *r->counts);
    r->surface = calloc((size_t)(n * K), sizeof *r->surface);
    int ok = r->case_ids && r->counts && r->surface;
    for (int m = 0; ok && m < MEDCL_EVAL_METRIC_COUNT; m++) {
        r->values[m] = malloc((size_t)(n * cols) * sizeof(double));
        r->mean[m] = calloc((size_t)cols, sizeof(medcl_ci));
        ok = r->values[m] && r->mean[m];
        for (int64_t j = 0; ok && j < n * cols; j++) r->values[m][j] = NAN;
    }
    for (int64_t i = 0; ok && i < n; i++) {
        char b[32];
        snprintf(b, sizeof b, "case_%lld", (long long)i);
        r->case_ids[i] = strdup(set->cases[i].id ? set->cases[i].id : b);
        ok = r->case_ids[i] != NULL;
    }
    return ok ? MEDCL_OK : medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "eval: set '%s': out of memory for %lld cases", r->name, (long long)n);
}

/* The slice kept for an overlay: channel 0 of the (shifted) input on the device. */
static medcl_status example_take(const medcl_eval_case *c, const medcl_tensor *img, const int32_t *pred,
                                 int64_t i, medcl_eval_example *e) {
    medcl_status st = MEDCL_OK;
    int64_t H = c->shape[1], W = c->shape[2], hw = H * W, s = 0;
    MEDCL_TRY(medcl_overlay_pick_slice(c->label, c->shape, -1, &s));
    e->image = malloc((size_t)hw * sizeof *e->image);
    e->ref = malloc((size_t)hw * sizeof *e->ref);
    e->pred = malloc((size_t)hw * sizeof *e->pred);
    if (!e->image || !e->ref || !e->pred) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "eval: example slice: out of memory");
    MEDCL_TRY(medcl_tensor_download_range(img, s * hw, hw, e->image));
    memcpy(e->ref, c->label + s * hw, (size_t)hw * sizeof *e->ref);
    memcpy(e->pred, pred + s * hw, (size_t)hw * sizeof *e->pred);
    e->case_index = i;
    e->slice = s;
    e->height = H;
    e->width = W;
cleanup:
    if (st != MEDCL_OK) example_free(e);
    return st;
}

/* Worst (lowest foreground Dice, first on ties) and lower-median case of the non-NaN ones. */
static void pick_examples(medcl_eval_set_result *r, int64_t *worst, int64_t *median) {
    int64_t n = r->num_cases, cols = r->num_classes + 1, m = 0;
    const double *d = r->values[MEDCL_EVAL_DICE];
    int64_t *idx = malloc((size_t)n * sizeof *idx);
    *worst = *median = -1;
    if (!idx) return;
    for (int64_t i = 0; i < n; i++)
        if (!isnan(d[i * cols + cols - 1])) idx[m++] = i;
    /* insertion sort by (Dice, index): stable and small */
    for (int64_t a = 1; a < m; a++) {
        int64_t v = idx[a], b = a;
        while (b > 0) {
            double x = d[idx[b - 1] * cols + cols - 1], y = d[v * cols + cols - 1];
            if (x < y || (x == y && idx[b - 1] < v)) break;
            idx[b] = idx[b - 1];
            b--;
        }
        idx[b] = v;
    }
    if (m > 0) {
        *worst = idx[0];
        *median = idx[(m - 1) / 2];
    } else if (n > 0) {
        *worst = *median = 0;
    }
    free(idx);
}

static medcl_status eval_set(const eval_job *job, const medcl_eval_set *set, int set_index,
                             const medcl_augment_pipeline *pipe, uint64_t seed, medcl_eval_set_result *r) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *img = NULL, *lab = NULL;
    int owned = 0;
    int32_t *pred = NULL;
    medcl_eval_example *ex = NULL;
    int32_t K = job->io.num_classes;
    double t0 = medcl_now();
    if (!set->cases || set->num_cases < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "eval: set %d ('%s') has no cases", set_index, set->name ? set->name : "");
    MEDCL_TRY(set_result_alloc(r, set, K));
    if (job->o.examples) {
        ex = calloc((size_t)set->num_cases, sizeof *ex);
        if (!ex) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "eval: set '%s': out of memory", r->name);
    }
    for (int64_t i = 0; i < set->num_cases; i++) {
        const medcl_eval_case *c = &set->cases[i];
        MEDCL_TRY(check_case(set, i, K));
        int64_t V = c->shape[0] * c->shape[1] * c->shape[2];
        MEDCL_TRY(case_image(job->ctx, set, i, pipe, seed, &img, &owned));
        int nd = medcl_tensor_ndim(img);
        medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
        d.dtype = MEDCL_DTYPE_I32;
        d.ndim = nd;
        d.name = "eval.labels";
        d.shape[0] = 1;
        d.shape[1] = 1;
        for (int a = 2; a < nd; a++) d.shape[a] = medcl_tensor_dim(img, a);
        MEDCL_TRY(medcl_tensor_create(job->ctx, &d, &lab));
        st = medcl_infer_sliding_window(img, &job->io, job->predict, job->user, lab, NULL);
        if (st != MEDCL_OK) {
            medcl_error_prefix("eval: set '%s' case %lld (%s)", r->name, (long long)i, r->case_ids[i]);
            goto cleanup;
        }
        free(pred);
        pred = malloc((size_t)V * sizeof *pred);
        if (!pred) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "eval: out of memory for %lld labels", (long long)V);
        MEDCL_TRY(medcl_tensor_download(lab, pred, (size_t)V * sizeof *pred));
        MEDCL_TRY(case_metrics(&job->o, c, pred, r, i));
        if (ex) MEDCL_TRY(example_take(c, img, pred, i, &ex[i]));
        medcl_tensor_destroy(lab);
        lab = NULL;
        if (owned) medcl_tensor_destroy(img);
        img = NULL;
        owned = 0;
        if (job->o.progress) {
            st = job->o.progress(job->o.progress_user, r->name, i, set->num_cases);
            if (st != MEDCL_OK) {
                medcl_error_prefix("eval: stopped by the progress callback after set '%s' case %lld", r->name,
                                   (long long)i);
                goto cleanup;
            }
        }
    }
    pick_examples(r, &r->worst_case, &r->median_case);
    if (ex && r->worst_case >= 0) {
        r->worst = ex[r->worst_case];
        memset(&ex[r->worst_case], 0, sizeof *ex);
        if (r->median_case != r->worst_case) {
            r->median = ex[r->median_case];
            memset(&ex[r->median_case], 0, sizeof *ex);
        } else {
            /* one case: the same slice serves as both examples */
            medcl_eval_example *w = &r->worst, *m = &r->median;
            size_t hw = (size_t)(w->height * w->width);
            *m = *w;
            m->image = malloc(hw * sizeof *m->image);
            m->ref = malloc(hw * sizeof *m->ref);
            m->pred = malloc(hw * sizeof *m->pred);
            if (!m->image || !m->ref || !m->pred) {
                example_free(m);
                MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "eval: out of memory");
            }
            memcpy(m->image, w->image, hw * sizeof *m->image);
            memcpy(m->ref, w->ref, hw * sizeof *m->ref);
            memcpy(m->pred, w->pred, hw * sizeof *m->pred);
        }
    }
    r->seconds = medcl_now() - t0;
cleanup:
    if (ex)
        for (int64_t i = 0; i < set->num_cases; i++) example_free(&ex[i]);
    free(ex);
    free(pred);
    medcl_tensor_destroy(lab);
    if (owned) medcl_tensor_destroy(img);
    return st;
}

/* ---------------- aggregates ---------------- */

/* Mean difference (ref - x) with a percentile interval from independent resamples. */
/* paired (a sweep: the same cases at every strength): one index draw per resample picks
 * the same case on both sides, over the cases where both values are not NaN. */
static medcl_status gap_ci(const double *ref, int64_t nr, const double *x, int64_t nx,
                           const medcl_bootstrap_options *b, uint32_t stream, int paired, medcl_ci *out) {
    medcl_status st = MEDCL_OK;
    double *kr = malloc((size_t)(nr ? nr : 1) * sizeof *kr), *kx = malloc((size_t)(nx ? nx : 1) * sizeof *kx);
    double *diff = NULL;
    if (!kr || !kx) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "eval gap: out of memory");
    int64_t mr = 0, mx = 0;
    double sr = 0.0, sx = 0.0;
    int finite = 1;
    for (int64_t i = 0; i < nr; i++)
        if (!isnan(ref[i])) kr[mr++] = ref[i], sr += ref[i], finite &= isfinite(ref[i]) != 0;
    for (int64_t i = 0; i < nx; i++)
        if (!isnan(x[i])) kx[mx++] = x[i], sx += x[i], finite &= isfinite(x[i]) != 0;
    out->num_used = mx;
    out->num_ignored = nx - mx;
    out->lower = out->upper = NAN;
    if (!mr || !mx) {
        out->estimate = NAN;
        goto cleanup;
    }
    out->estimate = sr / (double)mr - sx / (double)mx;
    if (!finite) goto cleanup;
    diff = malloc((size_t)b->num_resamples * sizeof *diff);
    if (!diff) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "eval gap: out of memory");
    if (paired) { /* kr, kx become the pairs where both are defined */
        mr = 0;
        for (int64_t i = 0; i < nr; i++)
            if (!isnan(ref[i]) && !isnan(x[i])) kr[mr] = ref[i], kx[mr] = x[i], mr++;
        mx = mr;
        if (!mr) goto cleanup;
    }
    for (int64_t k = 0; k < b->num_resamples && paired; k++) {
        uint32_t c2 = (uint32_t)k, c3 = (uint32_t)((uint64_t)k >> 32);
        double a = 0.0, z = 0.0;
        for (int64_t j = 0; j < mr; j++) {
            uint64_t i = ((uint64_t)medcl_philox_at(b->seed, BOOTSTRAP_STREAM, c2, c3, (uint64_t)j) * (uint64_t)mr) >> 32;
            a += kr[i];
            z += kx[i];
        }
        diff[k] = a / (double)mr - z / (double)mr;
    }
    for (int64_t k = 0; k < b->num_resamples && !paired; k++) {
        uint32_t c2 = (uint32_t)k, c3 = (uint32_t)((uint64_t)k >> 32);
        double a = 0.0, z = 0.0;
        for (int64_t j = 0; j < mr; j++) {
            uint32_t u = medcl_philox_at(b->seed, BOOTSTRAP_STREAM, c2, c3, (uint64_t)j);
            a += kr[((uint64_t)u * (uint64_t)mr) >> 32];
        }
        for (int64_t j = 0; j < mx; j++) {
            uint32_t u = medcl_philox_at(b->seed, stream, c2, c3, (uint64_t)j);
            z += kx[((uint64_t)u * (uint64_t)mx) >> 32];
        }
        diff[k] = a / (double)mr - z / (double)mx;
    }
    qsort(diff, (size_t)b->num_resamples, sizeof *diff, medcl_cmp_double);
    double alpha = 100.0 * (1.0 - b->confidence) / 2.0;
    out->lower = medcl_percentile_sorted(diff, b->num_resamples, alpha);
    out->upper = medcl_percentile_sorted(diff, b->num_resamples, 100.0 - alpha);
cleanup:
    free(kr);
    free(kx);
    free(diff);
    return st;
}

static medcl_status aggregate(medcl_eval_results *res, int paired) {
    medcl_status st = MEDCL_OK;
    const medcl_bootstrap_options *b = &res->options.bootstrap;
    double *col = NULL, *rcol = NULL;
    int64_t maxn = 1;
    for (int s = 0; s < res->num_sets; s++)
        if (res->sets[s].num_cases > maxn) maxn = res->sets[s].num_cases;
    col = malloc((size_t)maxn * sizeof *col);
    rcol = malloc((size_t)maxn * sizeof *rcol);
    if (!col || !rcol) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "eval: out of memory");
    for (int s = 0; s < res->num_sets; s++) {
        medcl_eval_set_result *r = &res->sets[s];
        int64_t cols = r->num_classes + 1;
        for (int m = 0; m < MEDCL_EVAL_METRIC_COUNT; m++)
            for (int64_t k = 0; k < cols; k++) {
                for (int64_t i = 0; i < r->num_cases; i++) col[i] = r->values[m][i * cols + k];
                MEDCL_TRY(medcl_bootstrap_ci(col, r->num_cases, b, &r->mean[m][k]));
            }
    }
    if (res->reference_set < 0) goto cleanup;
    const medcl_eval_set_result *ref = &res->sets[res->reference_set];
    for (int s = 0; s < res->num_sets; s++) {
        if (s == res->reference_set) continue;
        medcl_eval_set_result *r = &res->sets[s];
        int64_t cols = r->num_classes + 1;
        for (int m = 0; m < MEDCL_EVAL_METRIC_COUNT; m++) {
            r->gap[m] = calloc((size_t)cols, sizeof(medcl_ci));
            if (!r->gap[m]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "eval: out of memory");
            for (int64_t k = 0; k < cols; k++) {
                for (int64_t i = 0; i < ref->num_cases; i++) rcol[i] = ref->values[m][i * cols + k];
                for (int64_t i = 0; i < r->num_cases; i++) col[i] = r->values[m][i * cols + k];
                MEDCL_TRY(gap_ci(rcol, ref->num_cases, col, r->num_cases, b, GAP_STREAM + (uint32_t)s,
                                 paired && r->num_cases == ref->num_cases, &r->gap[m][k]));
            }
        }
    }
cleanup:
    free(col);
    free(rcol);
    return st;
}

void medcl_eval_results_free(medcl_eval_results *r) {
    if (!r) return;
    if (r->sets)
        for (int s = 0; s < r->num_sets; s++) set_result_free(&r->sets[s]);
    free(r->sets);
    free(r);
}

/* Checks and copies the options into job. */
static medcl_status job_init(eval_job *job, medcl_context *ctx, medcl_infer_predict_fn predict, void *user,
                             const medcl_infer_options *infer, const medcl_eval_options *opt) {
    static const char fn[] = "eval";
    const medcl_eval_options defaults = MEDCL_EVAL_OPTIONS_INIT;
    if (!ctx || !predict || !infer)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: ctx, predict or infer options is NULL", fn);
    if (infer->size != sizeof *infer)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: infer->size = %zu, expected %zu (MEDCL_INFER_OPTIONS_INIT)", fn,
                          infer->size, sizeof *infer);
    if (opt && opt->size != sizeof *opt)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: opt->size = %zu, expected %zu (MEDCL_EVAL_OPTIONS_INIT)", fn,
                          opt->size, sizeof *opt);
    const medcl_eval_options *o = opt ? opt : &defaults;
    if (infer->num_classes < 1 || infer->num_classes > 1024)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: infer->num_classes = %d, must be in [1, 1024]", fn, infer->num_classes);
    if ((int)o->overlap_empty < 0 || o->overlap_empty >= MEDCL_EMPTY_MODE_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: opt->overlap_empty = %d out of range", fn, (int)o->overlap_empty);
    if (o->surface.size != sizeof(medcl_surface_options))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: opt->surface.size = %zu (MEDCL_SURFACE_OPTIONS_INIT)", fn, o->surface.size);
    if (o->bootstrap.size < sizeof(medcl_bootstrap_options) || o->bootstrap.num_resamples < 1 ||
        !(o->bootstrap.confidence > 0 && o->bootstrap.confidence < 1))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: opt->bootstrap: resamples %lld, confidence %g (MEDCL_BOOTSTRAP_OPTIONS_INIT)",
                          fn, (long long)o->bootstrap.num_resamples, o->bootstrap.confidence);
    job->ctx = ctx;
    job->predict = predict;
    job->user = user;
    job->io = *infer;
    job->io.output = MEDCL_INFER_OUTPUT_LABELS;
    job->o = *o;
    return MEDCL_OK;
}

static medcl_status results_new(const eval_job *job, int num_sets, medcl_eval_results **out) {
    medcl_eval_results *r = calloc(1, sizeof *r);
    if (r) r->sets = calloc((size_t)num_sets, sizeof *r->sets);
    if (!r || !r->sets) {
        free(r);
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "eval: out of memory");
    }
    r->num_sets = num_sets;
    r->reference_set = -1;
    r->options = job->o;
    r->options.progress = NULL;
    r->options.progress_user = NULL;
    r->infer = job->io;
    for (int s = 0; s < num_sets; s++) r->sets[s].worst.case_index = r->sets[s].median.case_index = -1;
    *out = r;
    return MEDCL_OK;
}

medcl_status medcl_eval_run(medcl_context *ctx, medcl_infer_predict_fn predict, void *user,
                            const medcl_infer_options *infer, const medcl_eval_set *sets, int num_sets,
                            const medcl_eval_options *opt, medcl_eval_results **out) {
    medcl_status st = MEDCL_OK;
    medcl_eval_results *res = NULL;
    eval_job job;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "eval_run: out is NULL");
    *out = NULL;
    MEDCL_TRY(job_init(&job, ctx, predict, user, infer, opt));
    if (!sets || num_sets < 1 || num_sets > 4096)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "eval_run: %d test sets (sets %s), need 1..4096", num_sets, sets ? "given" : "NULL");
    int ref = job.o.reference_set;
    if (ref >= num_sets || ref < -1)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "eval_run: opt->reference_set = %d, must be -1 or < %d sets", ref, num_sets);
    if (ref < 0)
        for (int s = 0; s < num_sets && ref < 0; s++)
            if (sets[s].in_domain) ref = s;
    for (int s = 0; s < num_sets; s++)
        if (!sets[s].name || !sets[s].name[0])
            MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "eval_run: sets[%d].name is empty", s);
    MEDCL_TRY(results_new(&job, num_sets, &res));
    res->reference_set = ref;
    double t0 = medcl_now();
    for (int s = 0; s < num_sets; s++) MEDCL_TRY(eval_set(&job, &sets[s], s, NULL, 0, &res->sets[s]));
    MEDCL_TRY(aggregate(res, 0));
    res->seconds = medcl_now() - t0;
    *out = res;
    res = NULL;
cleanup:
    medcl_eval_results_free(res);
    return st;
}

/* ---------------- severity sweep ---------------- */

void medcl_eval_sweep_free(medcl_eval_sweep_result *s) {
    if (!s) return;
    free(s->strengths);
    medcl_eval_results_free(s->results);
    free(s);
}

medcl_status medcl_eval_sweep(medcl_context *ctx, medcl_infer_predict_fn predict, void *user,
                              const medcl_infer_options *infer, const medcl_eval_set *set,
                              const medcl_eval_sweep_options *sweep, const medcl_eval_options *opt,
                              medcl_eval_sweep_result **out) {
    static const char fn[] = "eval_sweep";
    medcl_status st = MEDCL_OK;
    medcl_eval_sweep_result *sw = NULL;
    medcl_augment_pipeline *pipe = NULL;
    eval_job job;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: out is NULL", fn);
    *out = NULL;
    MEDCL_TRY(job_init(&job, ctx, predict, user, infer, opt));
    if (!set || !set->name || !sweep)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: set, set->name or sweep is NULL", fn);
    if (sweep->size != sizeof *sweep)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: sweep->size = %zu, expected %zu (MEDCL_EVAL_SWEEP_OPTIONS_INIT)", fn,
                   sweep->size, sizeof *sweep);
    if (sweep->num_strengths < 1 || sweep->num_strengths > 64 || !sweep->strengths)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: num_strengths = %d (strengths %s), need 1..64", fn, sweep->num_strengths,
                   sweep->strengths ? "given" : "NULL");
    int S = sweep->num_strengths, ref = -1;
    for (int i = 0; i < S; i++) { /* every strength checked before any work */
        medcl_augment_transform t;
        int ident = 0;
        medcl_eval_shift sh = {sweep->kind, sweep->strengths[i]};
        MEDCL_TRY(medcl_eval_shift_transform(&sh, &t, &ident));
        if (ident && ref < 0) ref = i;
    }
    sw = calloc(1, sizeof *sw);
    if (sw) sw->strengths = malloc((size_t)S * sizeof *sw->strengths);
    if (!sw || !sw->strengths) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    sw->kind = sweep->kind;
    sw->seed = sweep->seed;
    copy_name(sw->set_name, sizeof sw->set_name, set->name);
    sw->num_strengths = S;
    memcpy(sw->strengths, sweep->strengths, (size_t)S * sizeof *sw->strengths);
    MEDCL_TRY(results_new(&job, S, &sw->results));
    sw->results->reference_set = ref >= 0 ? ref : 0;
    double t0 = medcl_now();
    for (int i = 0; i < S; i++) {
        medcl_eval_shift sh = {sweep->kind, sweep->strengths[i]};
        MEDCL_TRY(shift_pipeline(&sh, 1, &pipe));
        medcl_eval_set_result *r = &sw->results->sets[i];
        MEDCL_TRY(eval_set(&job, set, i, pipe, sweep->seed, r));
        snprintf(r->name, sizeof r->name, "%s %s=%g", set->name, medcl_augment_kind_str(sweep->kind), sweep->strengths[i]);
        medcl_augment_pipeline_destroy(pipe);
        pipe = NULL;
    }
    MEDCL_TRY(aggregate(sw->results, 1));
    sw->results->seconds = medcl_now() - t0;
    *out = sw;
    sw = NULL;
cleanup:
    medcl_augment_pipeline_destroy(pipe);
    medcl_eval_sweep_free(sw);
    return st;
}
