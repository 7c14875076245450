/* tests/test_eval_protocol.c — the cross-domain evaluation protocol (medcl/protocol.h) with a
 * probe predictor whose labels are known exactly (logits (0, x - 0.5): label = x > 0.5 for
 * integer-valued images, so sliding-window averaging cannot change a label): per-case tables
 * against a direct host computation with medcl/metrics.h and against closed-form Dice of a
 * crafted set, 2D and 3D; means against nanmean and inside their intervals; the gap as the
 * difference of means; a severity sweep whose identity strength equals the unshifted run
 * bitwise and whose Dice falls monotonically with Gaussian noise; shifted copies and the
 * built-in scanners; the report folder (report.json parsed back with cJSON, report.md
 * sections, SVGs well-formed, PNGs readable); determinism and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/data_io.h"
#include "medcl/protocol.h"
#include "testutil.h"


static void assert_svg_file(const char *path) {
    void *data = NULL;
    size_t n = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) fail_msg("missing %s", path);
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    data = calloc(1, (size_t)sz + 1);
    n = fread(data, 1, (size_t)sz, fp);
    fclose(fp);
    assert_int_equal(n, (size_t)sz);
    int el = 0;
    const char *m = tu_xml_check(data, &el);
    if (m) fail_msg("%s: not well-formed: %s", path, m);
    assert_true(el > 5);
    free(data);
}

/* ---- the probe predictor: logits (0, x - 0.5) per voxel of channel 0, on the host ---- */
typedef struct probe_user {
    int ndim;         /* 4 or 5 expected */
    int64_t calls;
    int64_t fail_at;  /* -1: never */
} probe_user;

static medcl_status probe_predict(void *user, const medcl_tensor *in, medcl_tensor *out) {
    probe_user *u = user;
    if (u->calls++ == u->fail_at) return MEDCL_ERR_NUMERIC;
    assert_int_equal(medcl_tensor_ndim(in), u->ndim);
    assert_int_equal(medcl_tensor_dim(out, 1), 2);
    int64_t B = medcl_tensor_dim(in, 0), C = medcl_tensor_dim(in, 1);
    int64_t pv = medcl_tensor_numel(in) / (B * C);
    float *x = td_download(in);
    float *y = malloc((size_t)(B * 2 * pv) * sizeof *y);
    for (int64_t b = 0; b < B; b++)
        for (int64_t v = 0; v < pv; v++) {
            y[(b * 2) * pv + v] = 0.0f;
            y[(b * 2 + 1) * pv + v] = x[(b * C) * pv + v] - 0.5f;
        }
    medcl_status st = medcl_tensor_upload(out, y, medcl_tensor_bytes(out));
    free(x);
    free(y);
    return st;
}

/* ---- a crafted set: label = an ellipse, image = label with fp pixels turned on outside and
 * fn pixels turned off inside; the predicted label is image > 0.5 ---- */
typedef struct crafted {
    medcl_eval_case *cases;
    float **images;
    int32_t **labels;
    char **ids;
    int64_t n;
    int64_t *fp, *fn, *fg; /* flips and foreground size per case */
    medcl_eval_set set;
} crafted;

static void crafted_make(tu_rng *r, int64_t n, int64_t D, int64_t H, int64_t W, int C, const char *name,
                         int in_domain, crafted *cs) {
    memset(cs, 0, sizeof *cs);
    cs->n = n;
    cs->cases = calloc((size_t)n, sizeof *cs->cases);
    cs->images = calloc((size_t)n, sizeof *cs->images);
    cs->labels = calloc((size_t)n, sizeof *cs->labels);
    cs->ids = calloc((size_t)n, sizeof *cs->ids);
    cs->fp = calloc((size_t)n, sizeof(int64_t));
    cs->fn = calloc((size_t)n, sizeof(int64_t));
    cs->fg = calloc((size_t)n, sizeof(int64_t));
    int64_t V = D * H * W;
    for (int64_t i = 0; i < n; i++) {
        float *img = calloc((size_t)(C * V), sizeof *img);
        int32_t *lab = calloc((size_t)V, sizeof *lab);
        double cy = H / 2.0 + tu_normal(r), cx = W / 2.0 + tu_normal(r), cz = (D - 1) / 2.0;
        double ry = H / 4.0 + tu_int(r, 0, (int)(H / 6)), rx = W / 4.0 + tu_int(r, 0, (int)(W / 6)), rz = D / 2.0 + 0.5;
        for (int64_t z = 0; z < D; z++)
            for (int64_t y = 0; y < H; y++)
                for (int64_t x = 0; x < W; x++) {
                    double e = ((y - cy) / ry) * ((y - cy) / ry) + ((x - cx) / rx) * ((x - cx) / rx) +
                               (D > 1 ? ((z - cz) / rz) * ((z - cz) / rz) : 0.0);
                    int64_t v = (z * H + y) * W + x;
                    lab[v] = e <= 1.0;
                    img[v] = (float)lab[v];
                    cs->fg[i] += lab[v];
                }
        /* flips at distinct random voxels: 0 → 1 (false positives), 1 → 0 (false negatives) */
        int nfp = tu_int(r, 0, 12), nfn = tu_int(r, 0, 12);
        for (int k = 0; k < nfp + nfn; k++) {
            for (;;) {
                int64_t v = tu_int(r, 0, (int)(V - 1));
                if (img[v] != (float)lab[v]) continue; /* already flipped */
                if (k < nfp && lab[v] == 0) { img[v] = 2.0f; cs->fp[i]++; break; }
                if (k >= nfp && lab[v] == 1) { img[v] = -1.0f; cs->fn[i]++; break; }
            }
        }
        for (int c = 1; c < C; c++) /* other channels: noise the probe ignores */
            for (int64_t v = 0; v < V; v++) img[c * V + v] = (float)tu_normal(r);
        char id[32];
        snprintf(id, sizeof id, "%s_%03lld", name, (long long)i);
        cs->ids[i] = strdup(id);
        cs->images[i] = img;
        cs->labels[i] = lab;
        cs->cases[i] = (medcl_eval_case){cs->ids[i], img, NULL, lab, C, {D, H, W}, {2.0, 0.8, 1.2}};
    }
    cs->set = (medcl_eval_set){name, name, in_domain, cs->cases, n, NULL};
}

static void crafted_free(crafted *cs) {
    for (int64_t i = 0; i < cs->n; i++) {
        free(cs->images[i]);
        free(cs->labels[i]);
        free(cs->ids[i]);
    }
    free(cs->cases);
    free(cs->images);
    free(cs->labels);
    free(cs->ids);
    free(cs->fp);
    free(cs->fn);
    free(cs->fg);
}

static medcl_infer_options infer_opts(int64_t pd, int64_t ph, int64_t pw) {
    medcl_infer_options o = MEDCL_INFER_OPTIONS_INIT;
    o.patch[0] = pd;
    o.patch[1] = ph;
    o.patch[2] = pw;
    o.num_classes = 2;
    o.step = 0.5;
    o.batch = 2;
    return o;
}

static medcl_eval_options eval_opts(uint64_t seed) {
    medcl_eval_options o = MEDCL_EVAL_OPTIONS_INIT;
    o.bootstrap.num_resamples = 400;
    o.bootstrap.seed = seed;
    return o;
}

static int same_double(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

/* Every per-case table of r against metrics.h on (label, image > 0.5) and against the
 * closed form of the crafted flips. Returns the largest |Dice - closed form|. */
static double check_tables(const crafted *cs, const medcl_eval_set_result *r, const medcl_eval_options *o) {
    double worst = 0.0;
    assert_int_equal(r->num_cases, cs->n);
    assert_int_equal(r->num_classes, 2);
    for (int64_t i = 0; i < cs->n; i++) {
        const medcl_eval_case *c = &cs->cases[i];
        int64_t V = c->shape[0] * c->shape[1] * c->shape[2];
        int32_t *pred = malloc((size_t)V * sizeof *pred);
        for (int64_t v = 0; v < V; v++) pred[v] = c->image[v] > 0.5f;
        double dice[2], iou[2];
        medcl_surface_result sr[2];
        assert_int_equal(medcl_metric_dice(c->label, pred, c->shape, 2, o->overlap_empty, dice), MEDCL_OK);
        assert_int_equal(medcl_metric_iou(c->label, pred, c->shape, 2, o->overlap_empty, iou), MEDCL_OK);
        assert_int_equal(medcl_metrics_surface_labels(c->label, pred, c->shape, c->spacing, 2, &o->surface, sr), MEDCL_OK);
        for (int k = 0; k < 2; k++) {
            assert_true(same_double(r->values[MEDCL_EVAL_DICE][i * 3 + k], dice[k]));
            assert_true(same_double(r->values[MEDCL_EVAL_IOU][i * 3 + k], iou[k]));
            assert_true(same_double(r->values[MEDCL_EVAL_HD][i * 3 + k], sr[k].hd));
            assert_true(same_double(r->values[MEDCL_EVAL_HD_PERCENTILE][i * 3 + k], sr[k].hd_percentile));
            assert_true(same_double(r->values[MEDCL_EVAL_ASSD][i * 3 + k], sr[k].assd));
            assert_true(same_double(r->values[MEDCL_EVAL_MASD][i * 3 + k], sr[k].masd));
            assert_true(same_double(r->values[MEDCL_EVAL_NSD][i * 3 + k], sr[k].nsd[0]));
        }
        /* foreground column = class 1 for K = 2 */
        for (int m = 0; m < MEDCL_EVAL_METRIC_COUNT; m++)
            assert_true(same_double(r->values[m][i * 3 + 2], r->values[m][i * 3 + 1]));
        /* closed form from the flips */
        int64_t tp = cs->fg[i] - cs->fn[i];
        const medcl_overlap_counts *k1 = &r->counts[i * 2 + 1];
        assert_int_equal(k1->tp, tp);
        assert_int_equal(k1->fp, cs->fp[i]);
        assert_int_equal(k1->fn, cs->fn[i]);
        assert_int_equal(k1->tn, V - cs->fg[i] - cs->fp[i]);
        double want = 2.0 * tp / (2.0 * tp + cs->fp[i] + cs->fn[i]);
        double d = fabs(r->values[MEDCL_EVAL_DICE][i * 3 + 1] - want);
        if (d > worst) worst = d;
        assert_true(same_double(r->values[MEDCL_EVAL_SENSITIVITY][i * 3 + 1], (double)tp / (double)cs->fg[i]));
        assert_true(same_double(r->values[MEDCL_EVAL_PRECISION][i * 3 + 1], (double)tp / (double)(tp + cs->fp[i])));
        free(pred);
    }
    return worst;
}

/* Means equal nanmean of the columns and lie inside their intervals. */
static void check_means(const medcl_eval_set_result *r) {
    int64_t cols = r->num_classes + 1;
    for (int m = 0; m < MEDCL_EVAL_METRIC_COUNT; m++)
        for (int64_t k = 0; k < cols; k++) {
            double s = 0.0;
            int64_t n = 0;
            for (int64_t i = 0; i < r->num_cases; i++) {
                double v = r->values[m][i * cols + k];
                if (!isnan(v)) s += v, n++;
            }
            const medcl_ci *ci = &r->mean[m][k];
            assert_int_equal(ci->num_used, n);
            assert_int_equal(ci->num_ignored, r->num_cases - n);
            if (!n) {
                assert_true(isnan(ci->estimate));
                continue;
            }
            assert_true(same_double(ci->estimate, s / (double)n));
            if (isfinite(ci->estimate)) {
                assert_true(ci->lower <= ci->estimate + 1e-12);
                assert_true(ci->upper >= ci->estimate - 1e-12);
            }
        }
}

static void test_run_2d(void **state) {
    (void)state;
    uint64_t seed = tu_seed();
    tu_rng r = tu_rng_make(seed);
    crafted a, b;
    crafted_make(&r, 7, 1, 24, 22, 1, "site_A", 1, &a);
    crafted_make(&r, 6, 1, 24, 22, 1, "site_B", 0, &b);
    /* site B: more false negatives so that its Dice is lower on average */
    medcl_eval_set sets[2] = {a.set, b.set};
    medcl_infer_options io = infer_opts(1, 16, 16);
    medcl_eval_options eo = eval_opts(seed);
    probe_user u = {4, 0, -1};
    medcl_eval_results *res = NULL;
    medcl_status st = medcl_eval_run(td_ctx(), probe_predict, &u, &io, sets, 2, &eo, &res);
    if (st != MEDCL_OK) fail_msg("eval_run: %s", medcl_last_error());
    assert_int_equal(res->num_sets, 2);
    assert_int_equal(res->reference_set, 0);
    double e1 = check_tables(&a, &res->sets[0], &eo);
    double e2 = check_tables(&b, &res->sets[1], &eo);
    printf("  2D: max |Dice - closed form| = %.3g, %.3g\n", e1, e2);
    assert_true(e1 < 1e-15 && e2 < 1e-15);
    check_means(&res->sets[0]);
    check_means(&res->sets[1]);
    /* the gap is the difference of the means, its interval brackets it */
    assert_null(res->sets[0].gap[0]);
    for (int m = 0; m < MEDCL_EVAL_METRIC_COUNT; m++)
        for (int k = 0; k < 3; k++) {
            const medcl_ci *g = &res->sets[1].gap[m][k];
            double want = res->sets[0].mean[m][k].estimate - res->sets[1].mean[m][k].estimate;
            assert_true(same_double(g->estimate, want));
            if (isfinite(g->estimate)) {
                assert_true(g->lower <= g->estimate + 1e-12 && g->upper >= g->estimate - 1e-12);
                assert_true(g->upper > g->lower || g->upper == g->lower);
            }
        }
    const medcl_ci *gd = &res->sets[1].gap[MEDCL_EVAL_DICE][2];
    printf("  gap Dice %.4f [%.4f, %.4f]\n", gd->estimate, gd->lower, gd->upper);
    /* worst and median examples: the slices of those cases */
    const medcl_eval_set_result *s0 = &res->sets[0];
    assert_true(s0->worst_case >= 0 && s0->median_case >= 0);
    for (int64_t i = 0; i < s0->num_cases; i++)
        assert_true(s0->values[MEDCL_EVAL_DICE][s0->worst_case * 3 + 2] <= s0->values[MEDCL_EVAL_DICE][i * 3 + 2]);
    assert_int_equal(s0->worst.case_index, s0->worst_case);
    assert_int_equal(s0->worst.height, 24);
    assert_int_equal(s0->worst.width, 22);
    assert_memory_equal(s0->worst.image, a.images[s0->worst_case], 24 * 22 * sizeof(float));
    assert_memory_equal(s0->worst.ref, a.labels[s0->worst_case], 24 * 22 * sizeof(int32_t));
    for (int64_t v = 0; v < 24 * 22; v++) assert_int_equal(s0->worst.pred[v], a.images[s0->worst_case][v] > 0.5f);
    assert_string_equal(s0->case_ids[2], a.ids[2]);

    /* determinism: the same run gives the same numbers bitwise */
    medcl_eval_results *res2 = NULL;
    assert_int_equal(medcl_eval_run(td_ctx(), probe_predict, &u, &io, sets, 2, &eo, &res2), MEDCL_OK);
    for (int s = 0; s < 2; s++)
        for (int m = 0; m < MEDCL_EVAL_METRIC_COUNT; m++) {
            assert_memory_equal(res->sets[s].mean[m], res2->sets[s].mean[m], 3 * sizeof(medcl_ci));
            if (s) assert_memory_equal(res->sets[s].gap[m], res2->sets[s].gap[m], 3 * sizeof(medcl_ci));
        }
    medcl_eval_results_free(res2);
    medcl_eval_results_free(res);
    crafted_free(&a);
    crafted_free(&b);
}

static void test_run_3d_device_tensor(void **state) {
    (void)state;
    uint64_t seed = tu_seed();
    tu_rng r = tu_rng_make(seed);
    crafted a;
    crafted_make(&r, 3, 5, 12, 11, 2, "vol", 1, &a);
    /* case 1 comes as a device tensor instead of host memory */
    int64_t shp[5] = {1, 2, 5, 12, 11};
    medcl_tensor *t = td_tensor(5, shp, a.images[1], "case1");
    a.cases[1].image = NULL;
    a.cases[1].tensor = t;
    medcl_infer_options io = infer_opts(4, 8, 8);
    medcl_eval_options eo = eval_opts(seed);
    eo.surface.boundary = MEDCL_BOUNDARY_SURFEL;
    eo.surface.num_tolerances = 2;
    eo.surface.tolerance_mm[1] = 2.0;
    probe_user u = {5, 0, -1};
    medcl_eval_results *res = NULL;
    medcl_status st = medcl_eval_run(td_ctx(), probe_predict, &u, &io, &a.set, 1, &eo, &res);
    if (st != MEDCL_OK) fail_msg("eval_run 3D: %s", medcl_last_error());
    a.cases[1].image = a.images[1]; /* for the host check */
    double e = check_tables(&a, &res->sets[0], &eo);
    printf("  3D (surfel): max |Dice - closed form| = %.3g\n", e);
    assert_true(e < 1e-15);
    assert_int_equal(res->reference_set, 0);
    assert_null(res->sets[0].gap[0]);
    check_means(&res->sets[0]);
    /* the example slice is the one with the most reference foreground */
    int64_t sl = -1;
    const medcl_eval_example *w = &res->sets[0].worst;
    assert_int_equal(medcl_overlay_pick_slice(a.labels[w->case_index], a.cases[0].shape, -1, &sl), MEDCL_OK);
    assert_int_equal(w->slice, sl);
    medcl_eval_results_free(res);
    medcl_tensor_destroy(t);
    crafted_free(&a);
}

/* Sweep: the identity strength equals the unshifted run bitwise; Gaussian noise lowers Dice
 * monotonically (the same normal draws scaled by sigma flip a growing set of voxels). */
static void test_sweep_noise(void **state) {
    (void)state;
    uint64_t seed = tu_seed();
    tu_rng r = tu_rng_make(seed);
    crafted a;
    crafted_make(&r, 4, 1, 20, 20, 1, "test", 1, &a);
    medcl_infer_options io = infer_opts(1, 16, 16);
    medcl_eval_options eo = eval_opts(seed);
    probe_user u = {4, 0, -1};
    medcl_eval_results *base = NULL;
    assert_int_equal(medcl_eval_run(td_ctx(), probe_predict, &u, &io, &a.set, 1, &eo, &base), MEDCL_OK);
    const double strengths[5] = {0.0, 0.15, 0.3, 0.5, 0.8};
    medcl_eval_sweep_options so = MEDCL_EVAL_SWEEP_OPTIONS_INIT;
    so.kind = MEDCL_AUGMENT_GAUSSIAN_NOISE;
    so.strengths = strengths;
    so.num_strengths = 5;
    so.seed = seed ^ 0x5eed;
    medcl_eval_sweep_result *sw = NULL;
    medcl_status st = medcl_eval_sweep(td_ctx(), probe_predict, &u, &io, &a.set, &so, &eo, &sw);
    if (st != MEDCL_OK) fail_msg("sweep: %s", medcl_last_error());
    assert_int_equal(sw->num_strengths, 5);
    assert_int_equal(sw->results->reference_set, 0);
    const medcl_eval_set_result *s0 = &sw->results->sets[0];
    for (int m = 0; m < MEDCL_EVAL_METRIC_COUNT; m++) {
        for (int64_t j = 0; j < a.n * 3; j++) assert_true(same_double(s0->values[m][j], base->sets[0].values[m][j]));
        assert_memory_equal(s0->mean[m], base->sets[0].mean[m], 3 * sizeof(medcl_ci));
    }
    assert_string_equal(s0->name, "test gaussian_noise=0");
    printf("  noise sweep Dice:");
    double prev = INFINITY;
    for (int i = 0; i < 5; i++) {
        const medcl_eval_set_result *si = &sw->results->sets[i];
        double d = si->mean[MEDCL_EVAL_DICE][2].estimate;
        printf(" %.4f", d);
        assert_true(d <= prev);
        for (int64_t c = 0; c < a.n; c++)  /* per case too */
            if (i > 0) assert_true(si->values[MEDCL_EVAL_DICE][c * 3 + 1] <= sw->results->sets[i - 1].values[MEDCL_EVAL_DICE][c * 3 + 1]);
        prev = d;
        if (i > 0) {
            const medcl_ci *g = &si->gap[MEDCL_EVAL_DICE][2];
            assert_true(same_double(g->estimate, s0->mean[MEDCL_EVAL_DICE][2].estimate - d));
            assert_true(g->estimate >= 0);
            /* paired interval: every case drops, so every resampled drop is >= 0 */
            assert_true(g->lower >= -1e-12 && g->lower <= g->estimate + 1e-12 && g->upper >= g->estimate - 1e-12);
        }
        check_means(si);
    }
    printf("\n");
    assert_true(sw->results->sets[4].mean[MEDCL_EVAL_DICE][2].estimate < s0->mean[MEDCL_EVAL_DICE][2].estimate - 0.05);
    medcl_eval_sweep_free(sw);
    medcl_eval_results_free(base);
    crafted_free(&a);
}

/* Shifted copies: identity strengths copy bitwise, a noise shift changes images but not
 * labels, and each built-in scanner runs. */
static void test_shift_and_scanners(void **state) {
    (void)state;
    uint64_t seed = tu_seed();
    tu_rng r = tu_rng_make(seed);
    crafted a;
    crafted_make(&r, 3, 1, 20, 18, 1, "src", 1, &a);
    medcl_eval_set id = {0}, nz = {0};
    medcl_eval_shift ident[3] = {{MEDCL_AUGMENT_GAMMA, 1.0}, {MEDCL_AUGMENT_BIAS_FIELD, 0.0}, {MEDCL_AUGMENT_LOW_RES, 1.0}};
    assert_int_equal(medcl_eval_set_shift(td_ctx(), &a.set, ident, 3, seed, "same", &id), MEDCL_OK);
    assert_string_equal(id.name, "same");
    assert_int_equal(id.num_cases, 3);
    for (int64_t i = 0; i < 3; i++) {
        assert_memory_equal(id.cases[i].image, a.images[i], 20 * 18 * sizeof(float));
        assert_memory_equal(id.cases[i].label, a.labels[i], 20 * 18 * sizeof(int32_t));
        assert_string_equal(id.cases[i].id, a.ids[i]);
    }
    medcl_eval_shift n1 = {MEDCL_AUGMENT_GAUSSIAN_NOISE, 0.4};
    assert_int_equal(medcl_eval_set_shift(td_ctx(), &a.set, &n1, 1, seed, "noisy", &nz), MEDCL_OK);
    double diff2 = 0.0;
    int64_t V = 20 * 18;
    for (int64_t i = 0; i < 3; i++)
        for (int64_t v = 0; v < V; v++) diff2 += (nz.cases[i].image[v] - a.images[i][v]) * (double)(nz.cases[i].image[v] - a.images[i][v]);
    double sd = sqrt(diff2 / (3.0 * V));
    printf("  noise 0.4: measured sigma %.4f\n", sd);
    assert_in_range((long)(sd * 1000), 340, 460);
    medcl_eval_set_release(&nz);
    medcl_eval_set_release(&id);
    assert_null(id.storage);
    medcl_eval_set_release(&a.set); /* caller-made: nothing freed */

    int ns = 0;
    const medcl_eval_scanner *sc = medcl_eval_scanners(&ns);
    assert_int_equal(ns, 4);
    medcl_infer_options io = infer_opts(1, 16, 16);
    medcl_eval_options eo = eval_opts(seed);
    eo.surface_metrics = 0;
    eo.examples = 0;
    medcl_eval_set sets[5];
    sets[0] = (medcl_eval_set){"src", NULL, 1, a.cases, a.n, NULL};
    for (int i = 0; i < ns; i++) {
        medcl_status st = medcl_eval_set_shift(td_ctx(), &sets[0], sc[i].shifts, sc[i].num_shifts, seed, sc[i].name, &sets[i + 1]);
        if (st != MEDCL_OK) fail_msg("scanner %s: %s", sc[i].name, medcl_last_error());
    }
    probe_user u = {4, 0, -1};
    medcl_eval_results *res = NULL;
    assert_int_equal(medcl_eval_run(td_ctx(), probe_predict, &u, &io, sets, 5, &eo, &res), MEDCL_OK);
    assert_string_equal(res->sets[0].domain, "src");
    for (int s = 0; s < 5; s++) {
        double d = res->sets[s].mean[MEDCL_EVAL_DICE][2].estimate;
        printf("  %-16s Dice %.4f\n", res->sets[s].name, d);
        assert_true(d >= 0.0 && d <= 1.0);
        assert_true(isnan(res->sets[s].mean[MEDCL_EVAL_HD][2].estimate)); /* surface metrics off */
        assert_int_equal(res->sets[s].worst.case_index, -1);
    }
    medcl_eval_results_free(res);
    for (int i = 1; i <= ns; i++) medcl_eval_set_release(&sets[i]);
    crafted_free(&a);
}

static void test_from_slices(void **state) {
    (void)state;
    medcl_slice_set *ss = NULL;
    assert_int_equal(medcl_sample_phantom(tu_seed(), 5, 32, &ss), MEDCL_OK);
    medcl_eval_set s;
    assert_int_equal(medcl_eval_set_from_slices(ss, 1, 3, "phantom", NULL, 1, &s), MEDCL_OK);
    assert_int_equal(s.num_cases, 3);
    assert_string_equal(s.domain, "phantom");
    assert_true(s.in_domain);
    for (int64_t i = 0; i < 3; i++) {
        assert_int_equal(s.cases[i].shape[1], ss->h);
        assert_memory_equal(s.cases[i].image, ss->images + (i + 1) * ss->h * ss->w, (size_t)(ss->h * ss->w) * sizeof(float));
        for (int64_t v = 0; v < ss->h * ss->w; v++) assert_int_equal(s.cases[i].label[v], ss->labels[(i + 1) * ss->h * ss->w + v]);
        assert_true(s.cases[i].spacing[1] == ss->spacing[0] && s.cases[i].spacing[2] == ss->spacing[1]);
    }
    medcl_eval_set bad;
    assert_int_equal(medcl_eval_set_from_slices(ss, 3, 3, "x", NULL, 0, &bad), MEDCL_ERR_INVALID_ARG);
    medcl_eval_set_release(&s);
    medcl_slice_set_free(ss);
}

static int count_str(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static char *read_text(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) fail_msg("missing %s", path);
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *t = calloc(1, (size_t)sz + 1);
    assert_int_equal(fread(t, 1, (size_t)sz, fp), (size_t)sz);
    fclose(fp);
    return t;
}

static void test_report(void **state) {
    (void)state;
    uint64_t seed = tu_seed();
    tu_rng r = tu_rng_make(seed);
    crafted a, b;
    crafted_make(&r, 5, 1, 24, 24, 1, "in domain", 1, &a);
    crafted_make(&r, 4, 1, 24, 24, 1, "scanner/B", 0, &b);
    medcl_eval_set sets[2] = {a.set, b.set};
    medcl_infer_options io = infer_opts(1, 16, 16);
    medcl_eval_options eo = eval_opts(seed);
    probe_user u = {4, 0, -1};
    medcl_eval_results *res = NULL;
    assert_int_equal(medcl_eval_run(td_ctx(), probe_predict, &u, &io, sets, 2, &eo, &res), MEDCL_OK);
    const double strengths[3] = {0.0, 0.3, 0.6};
    medcl_eval_sweep_options so = MEDCL_EVAL_SWEEP_OPTIONS_INIT;
    so.kind = MEDCL_AUGMENT_BIAS_FIELD;
    so.strengths = strengths;
    so.num_strengths = 3;
    so.seed = 7;
    medcl_eval_sweep_result *sw = NULL;
    medcl_status st = medcl_eval_sweep(td_ctx(), probe_predict, &u, &io, &a.set, &so, &eo, &sw);
    if (st != MEDCL_OK) fail_msg("bias sweep: %s", medcl_last_error());

    double ex[6] = {0, 1, 2, 3, 4, 5}, loss[6] = {1.0, 0.7, 0.5, 0.4, 0.35, 0.33}, vd[6] = {0.2, 0.6, 0.8, 0.85, NAN, 0.9};
    medcl_chart_series curves[2] = {{"train loss", ex, loss, NULL, NULL, 6}, {"val Dice", ex, vd, NULL, NULL, 6}};
    const char *seed_names[2] = {"train", "split"};
    const uint64_t seeds[2] = {12345, 18446744073709551615ull};
    const char *split_names[3] = {"train", "validation", "test"};
    const int64_t split_counts[3] = {40, 10, 5};
    const char *classes[2] = {"background", "brain"};
    medcl_eval_run_info info = MEDCL_EVAL_RUN_INFO_INIT;
    info.title = "Protocol test report";
    info.ctx = td_ctx();
    info.config_json = "{\"model\": {\"arch\": \"unet2d\", \"features\": [8, 16]}, \"epochs\": 3}";
    info.num_seeds = 2;
    info.seed_names = seed_names;
    info.seeds = seeds;
    info.num_splits = 3;
    info.split_names = split_names;
    info.split_counts = split_counts;
    info.class_names = classes;
    info.data_sources = "Crafted ellipses | pipes escaped.";
    info.model = "threshold probe";
    info.num_parameters = 0;
    info.training = "none";
    info.train_seconds = 12.5;
    info.curves = curves;
    info.num_curves = 2;
    info.num_failure_cases = 3;
    char dir[512];
    assert_non_null(tu_tmpdir(dir, sizeof dir, "report"));
    const medcl_eval_sweep_result *sws[1] = {sw};
    st = medcl_eval_report_write(dir, &info, res, sws, 1);
    if (st != MEDCL_OK) fail_msg("report: %s", medcl_last_error());
    printf("  report in %s\n", dir);

    char path[1024];
    snprintf(path, sizeof path, "%s/report.json", dir);
    char *text = read_text(path);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    const char *keys[] = {"schema", "library_version", "title", "config", "seeds", "case_counts", "device", "kernel_hash",
                          "metric_conventions", "inference", "data", "model", "training", "compute", "results",
                          "sweeps", "figures"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!cJSON_GetObjectItemCaseSensitive(root, keys[i])) fail_msg("report.json: no key %s", keys[i]);
    cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "config");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cfg, "epochs")->valueint, 3);
    cJSON *sd = cJSON_GetObjectItemCaseSensitive(root, "seeds");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(sd, "split")->valuestring, "18446744073709551615");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(sd, "sweep_0_bias_field"));
    cJSON *cc = cJSON_GetObjectItemCaseSensitive(root, "case_counts");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cc, "splits"), "validation")->valueint, 10);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cc, "domains"), "scanner/B")->valueint, 4);
    char hash[32];
    assert_int_equal(medcl_eval_kernel_hash(td_ctx(), hash, sizeof hash), MEDCL_OK);
    assert_int_equal(strlen(hash), 16);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "kernel_hash")->valuestring, hash);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "device"), "name")->valuestring,
                        medcl_context_device(td_ctx())->name);
    cJSON *jres = cJSON_GetObjectItemCaseSensitive(root, "results");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(jres, "reference_set")->valuestring, "in domain");
    cJSON *js = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(jres, "sets"), 1);
    cJSON *gap = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(js, "gap"), "dice");
    cJSON *gfg = cJSON_GetObjectItemCaseSensitive(gap, "foreground_mean");
    double ge = cJSON_GetObjectItemCaseSensitive(gfg, "estimate")->valuedouble;
    assert_true(fabs(ge - res->sets[1].gap[MEDCL_EVAL_DICE][2].estimate) < 1e-12);
    cJSON *md = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(js, "metrics"), "dice");
    cJSON *brain = cJSON_GetObjectItemCaseSensitive(md, "brain");
    assert_non_null(brain);
    assert_true(fabs(cJSON_GetObjectItemCaseSensitive(brain, "lower")->valuedouble - res->sets[1].mean[MEDCL_EVAL_DICE][1].lower) < 1e-12);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(js, "cases")), 4);
    cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(js, "cases"), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c0, "dice")), 3);
    cJSON *jsw = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "sweeps"), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(jsw, "transform")->valuestring, "bias_field");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(jsw, "strengths")), 3);
    cJSON *conv = cJSON_GetObjectItemCaseSensitive(root, "metric_conventions");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(conv, "surface_boundary")->valuestring, "voxel");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(conv, "generalization_gap"));

    /* every figure listed exists and is well-formed */
    cJSON *figs = cJSON_GetObjectItemCaseSensitive(root, "figures");
    int nsvg = 0, npng = 0;
    for (int i = 0; i < cJSON_GetArraySize(figs); i++) {
        const char *f = cJSON_GetArrayItem(figs, i)->valuestring;
        snprintf(path, sizeof path, "%s/%s", dir, f);
        if (strstr(f, ".svg")) {
            assert_svg_file(path);
            nsvg++;
        } else {
            medcl_image2d *im = NULL;
            if (medcl_png_read(path, NULL, &im) != MEDCL_OK) fail_msg("%s: %s", f, medcl_last_error());
            assert_int_equal(im->channels, 3);
            assert_int_equal(im->height, 24 * 4);          /* scale 4 below 48 px */
            assert_int_equal(im->width, (3 * 24 + 2 * 2) * 4); /* three panels, two gaps */
            medcl_image2d_free(im);
            npng++;
        }
    }
    printf("  %d SVG and %d PNG figures\n", nsvg, npng);
    assert_int_equal(nsvg, 4); /* curves, overlap bars, distance bars, sweep */
    assert_int_equal(npng, 4); /* worst and median of two sets */
    snprintf(path, sizeof path, "%s/overlay_1_scanner_B_worst.png", dir);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fclose(fp);

    snprintf(path, sizeof path, "%s/report.md", dir);
    char *mdt = read_text(path);
    const char *sections[] = {"# Protocol test report\n", "## Data sources and domains\n", "## Case counts\n",
                              "## Preprocessing\n", "## Labels\n", "## Model\n", "## Training\n",
                              "## Model selection\n", "## Metrics and conventions\n", "## Results per domain\n",
                              "## Generalization gap\n", "## Severity sweeps\n", "## Failure cases\n", "## Compute\n",
                              "## Software\n"};
    const char *prev = mdt;
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        const char *p = strstr(mdt, sections[i]);
        if (!p) fail_msg("report.md: no section %s", sections[i]);
        assert_true(p >= prev); /* in order */
        prev = p;
    }
    assert_true(strstr(mdt, hash) != NULL);
    assert_true(strstr(mdt, "fig_sweep_0_bias_field.svg") != NULL);
    assert_true(strstr(mdt, "fig_training_curves.svg") != NULL);
    assert_int_equal(count_str(mdt, "overlay_"), 4 * 2); /* alt text and path of each */
    /* the failure table lists 3 cases of each set */
    assert_true(strstr(mdt, a.ids[res->sets[0].worst_case]) != NULL);
    free(mdt);

    /* same input, same bytes: report.json written again is identical */
    char dir2[512];
    assert_non_null(tu_tmpdir(dir2, sizeof dir2, "report2"));
    assert_int_equal(medcl_eval_report_write(dir2, &info, res, sws, 1), MEDCL_OK);
    snprintf(path, sizeof path, "%s/report.json", dir2);
    char *text2 = read_text(path);
    assert_string_equal(text, text2);
    free(text2);

    /* sweeps only, no context, no info texts */
    medcl_eval_run_info bare = MEDCL_EVAL_RUN_INFO_INIT;
    assert_non_null(tu_tmpdir(dir2, sizeof dir2, "report3"));
    assert_int_equal(medcl_eval_report_write(dir2, &bare, NULL, sws, 1), MEDCL_OK);
    snprintf(path, sizeof path, "%s/report.md", dir2);
    mdt = read_text(path);
    assert_true(strstr(mdt, "## Generalization gap") != NULL);
    assert_true(strstr(mdt, "Kernel hash: not recorded") != NULL);
    free(mdt);

    /* a bad config is a format error naming the field */
    info.config_json = "{\"epochs\": 3,";
    assert_int_equal(medcl_eval_report_write(dir2, &info, res, sws, 1), MEDCL_ERR_FORMAT);
    assert_non_null(strstr(medcl_last_error(), "config_json"));

    cJSON_Delete(root);
    free(text);
    medcl_eval_sweep_free(sw);
    medcl_eval_results_free(res);
    crafted_free(&a);
    crafted_free(&b);
}

static medcl_status stop_after_two(void *user, const char *set, int64_t i, int64_t n) {
    (void)set;
    (void)n;
    int *calls = user;
    (*calls)++;
    return i >= 1 ? MEDCL_ERR_INTERRUPTED : MEDCL_OK;
}

static void test_bad_input(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    crafted a;
    crafted_make(&r, 3, 1, 12, 12, 1, "bad", 1, &a);
    medcl_infer_options io = infer_opts(1, 8, 8);
    medcl_eval_options eo = eval_opts(1);
    probe_user u = {4, 0, -1};
    medcl_eval_results *res = (medcl_eval_results *)1;
    assert_int_equal(medcl_eval_run(td_ctx(), NULL, &u, &io, &a.set, 1, &eo, &res), MEDCL_ERR_INVALID_ARG);
    assert_null(res);
    assert_int_equal(medcl_eval_run(td_ctx(), probe_predict, &u, &io, &a.set, 0, &eo, &res), MEDCL_ERR_INVALID_ARG);
    eo.reference_set = 3;
    assert_int_equal(medcl_eval_run(td_ctx(), probe_predict, &u, &io, &a.set, 1, &eo, &res), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "reference_set"));
    eo.reference_set = -1;
    /* a label outside [0, K) names the set, the case and the voxel */
    a.labels[1][5] = 2;
    assert_int_equal(medcl_eval_run(td_ctx(), probe_predict, &u, &io, &a.set, 1, &eo, &res), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "bad_001"));
    assert_non_null(strstr(medcl_last_error(), "label[5] = 2"));
    a.labels[1][5] = 0;
    /* a failing predictor's status comes back with the case named */
    u.fail_at = 3;
    assert_int_equal(medcl_eval_run(td_ctx(), probe_predict, &u, &io, &a.set, 1, &eo, &res), MEDCL_ERR_NUMERIC);
    assert_non_null(strstr(medcl_last_error(), "set 'bad' case"));
    assert_null(res);
    u.fail_at = -1;
    /* the progress callback can stop the run */
    int calls = 0;
    eo.progress = stop_after_two;
    eo.progress_user = &calls;
    assert_int_equal(medcl_eval_run(td_ctx(), probe_predict, &u, &io, &a.set, 1, &eo, &res), MEDCL_ERR_INTERRUPTED);
    assert_int_equal(calls, 2);
    eo.progress = NULL;
    /* a device tensor of the wrong shape */
    int64_t shp[4] = {1, 1, 12, 11};
    medcl_tensor *t = td_tensor(4, shp, NULL, "wrong");
    a.cases[0].image = NULL;
    a.cases[0].tensor = t;
    assert_int_equal(medcl_eval_run(td_ctx(), probe_predict, &u, &io, &a.set, 1, &eo, &res), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "wrong"));
    a.cases[0].image = a.images[0];
    medcl_tensor_destroy(t);
    /* shifts */
    medcl_augment_transform tr;
    int ident = 0;
    medcl_eval_shift sp = {MEDCL_AUGMENT_SPATIAL, 1.0};
    assert_int_equal(medcl_eval_shift_transform(&sp, &tr, &ident), MEDCL_ERR_UNSUPPORTED);
    medcl_eval_shift lr = {MEDCL_AUGMENT_LOW_RES, 1.5};
    assert_int_equal(medcl_eval_shift_transform(&lr, &tr, &ident), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "zoom 1.5"));
    medcl_eval_shift bf = {MEDCL_AUGMENT_BIAS_FIELD, 0.4};
    assert_int_equal(medcl_eval_shift_transform(&bf, &tr, &ident), MEDCL_OK);
    assert_false(ident);
    assert_true(tr.range[0] == -0.4f && tr.range[1] == 0.4f && tr.p == 1.0f);
    const double bad_s[2] = {0.0, -1.0};
    medcl_eval_sweep_options so = MEDCL_EVAL_SWEEP_OPTIONS_INIT;
    so.kind = MEDCL_AUGMENT_GAUSSIAN_BLUR;
    so.strengths = bad_s;
    so.num_strengths = 2;
    medcl_eval_sweep_result *sw = (medcl_eval_sweep_result *)1;
    assert_int_equal(medcl_eval_sweep(td_ctx(), probe_predict, &u, &io, &a.set, &so, &eo, &sw), MEDCL_ERR_INVALID_ARG);
    assert_null(sw);
    assert_int_equal(u.calls, 0 + u.calls); /* nothing else to check: no inference ran for the sweep */
    medcl_eval_run_info info = MEDCL_EVAL_RUN_INFO_INIT;
    assert_int_equal(medcl_eval_report_write("/tmp", &info, NULL, NULL, 0), MEDCL_ERR_INVALID_ARG);
    info.size = 3;
    assert_int_equal(medcl_eval_report_write("/tmp", &info, NULL, NULL, 0), MEDCL_ERR_INVALID_ARG);
    assert_null(medcl_eval_metric_str(MEDCL_EVAL_METRIC_COUNT));
    assert_string_equal(medcl_eval_metric_str(MEDCL_EVAL_HD_PERCENTILE), "hd_percentile");
    crafted_free(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_2d),
        cmocka_unit_test(test_run_3d_device_tensor),
        cmocka_unit_test(test_sweep_noise),
        cmocka_unit_test(test_shift_and_scanners),
        cmocka_unit_test(test_from_slices),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
