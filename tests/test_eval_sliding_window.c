/* tests/test_eval_sliding_window.c — sliding-window inference on the device against the
 * float64 reference (tests/ref/ref_infer.c) with a deterministic probe predictor: 2D and 3D,
 * odd sizes, volumes smaller than the patch, steps 0.5 / 0.75 / 1.0, Gaussian and constant
 * weights, mirroring with a probe that is not mirror-symmetric, logits, probabilities and
 * labels, partial last batches; tile positions against nnU-Net's formula (golden values
 * computed with nnU-Net's Python expression), the Gaussian map against its formula, memory
 * bounds, determinism and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/infer.h"
#include "ref/ref_infer.h"
#include "testutil.h"

/* ---- the probe predictor: downloads the patch batch, runs ref_probe_predict in double,
 * uploads the logits. Checks the batch shape it is given. ---- */
typedef struct probe_user {
    const ref_probe *s;
    int64_t p[3];
    int ndim, B;
    int64_t calls;
    int64_t fail_at; /* return MEDCL_ERR_NUMERIC at this call (-1: never) */
} probe_user;

static medcl_status probe_predict(void *user, const medcl_tensor *in, medcl_tensor *out) {
    probe_user *u = user;
    const ref_probe *s = u->s;
    if (u->calls++ == u->fail_at) return MEDCL_ERR_NUMERIC;
    assert_int_equal(medcl_tensor_ndim(in), u->ndim);
    assert_int_equal(medcl_tensor_ndim(out), u->ndim);
    assert_int_equal(medcl_tensor_dim(in, 0), u->B);
    assert_int_equal(medcl_tensor_dim(in, 1), s->C);
    assert_int_equal(medcl_tensor_dim(out, 1), s->K);
    assert_int_equal(medcl_tensor_dim(in, u->ndim - 1), u->p[2]);
    assert_int_equal(medcl_tensor_dim(in, u->ndim - 2), u->p[1]);
    int64_t pv = u->p[0] * u->p[1] * u->p[2];
    float *x = td_download(in);
    float *y = malloc((size_t)(u->B * s->K * pv) * sizeof(float));
    double *xd = malloc((size_t)(s->C * pv) * sizeof(double));
    double *yd = malloc((size_t)(s->K * pv) * sizeof(double));
    for (int b = 0; b < u->B; b++) {
        for (int64_t i = 0; i < s->C * pv; i++) xd[i] = x[b * s->C * pv + i];
        ref_probe_predict(s, xd, u->p, yd);
        for (int64_t i = 0; i < s->K * pv; i++) y[b * s->K * pv + i] = (float)yd[i];
    }
    medcl_status st = medcl_tensor_upload(out, y, medcl_tensor_bytes(out));
    free(x);
    free(y);
    free(xd);
    free(yd);
    return st;
}

static void probe_make(tu_rng *r, int C, int K, ref_probe *s) {
    memset(s, 0, sizeof *s);
    s->C = C;
    s->K = K;
    for (int k = 0; k < K; k++) {
        for (int c = 0; c < C; c++) s->coef[k][c] = tu_normal(r);
        s->gamma[k] = tu_normal(r);
        s->bias[k] = 0.2 * tu_normal(r);
        s->beta[k] = tu_normal(r);
    }
}

typedef struct sw_case {
    const char *name;
    int ndim, C, K;
    int64_t ext[3];
    int64_t patch[3];
    double step;
    int gaussian;
    unsigned mirror;
    int B;
    medcl_infer_output output;
} sw_case;

typedef struct sw_result {
    float *got;        /* f32 outputs (logits or probabilities), NULL for labels */
    int32_t *labels;   /* labels output */
    double *want;      /* reference logits (softmaxed for PROBS) (K, V) */
    int64_t V;
    medcl_infer_stats stats;
    size_t peak_delta; /* pool high-water mark above what was in use before the call */
} sw_result;

static void result_free(sw_result *r) {
    free(r->got);
    free(r->labels);
    free(r->want);
}

static void run_case(const sw_case *c, uint64_t seed, sw_result *res) {
    tu_rng r = tu_rng_make(seed);
    ref_probe s;
    probe_make(&r, c->C, c->K, &s);
    if (c->output == MEDCL_INFER_OUTPUT_LABELS)
        /* evenly spaced directions in the (x, x next along W) plane: every class wins about
         * 1/K of the voxels, so the label comparison is not dominated by one class */
        for (int k = 0; k < c->K; k++) {
            s.coef[k][0] = 2.0 * cos(6.283185307179586 * k / c->K);
            s.gamma[k] = 2.0 * sin(6.283185307179586 * k / c->K);
            s.bias[k] = 0.0;
            s.beta[k] *= 0.3;
        }
    int64_t V = c->ext[0] * c->ext[1] * c->ext[2];
    float *img = malloc((size_t)(c->C * V) * sizeof(float));
    tu_fill_normal(&r, img, (size_t)(c->C * V));
    int64_t shape[5], oshape[5];
    shape[0] = oshape[0] = 1;
    shape[1] = c->C;
    oshape[1] = c->output == MEDCL_INFER_OUTPUT_LABELS ? 1 : c->K;
    int i = 2;
    if (c->ndim == 5) shape[i] = oshape[i] = c->ext[0], i++;
    shape[i] = oshape[i] = c->ext[1];
    shape[i + 1] = oshape[i + 1] = c->ext[2];
    medcl_tensor *timg = td_tensor(c->ndim, shape, img, "image");
    medcl_tensor *tout = NULL;
    if (c->output == MEDCL_INFER_OUTPUT_LABELS) {
        medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
        d.dtype = MEDCL_DTYPE_I32;
        d.ndim = c->ndim;
        d.name = "labels";
        for (int a = 0; a < c->ndim; a++) d.shape[a] = oshape[a];
        assert_int_equal(medcl_tensor_create(td_ctx(), &d, &tout), MEDCL_OK);
        assert_int_equal(medcl_tensor_fill(tout, -7), MEDCL_OK);
    } else {
        tout = td_tensor(c->ndim, oshape, NULL, "out");
    }
    medcl_infer_options o = MEDCL_INFER_OPTIONS_INIT;
    memcpy(o.patch, c->patch, sizeof o.patch);
    o.num_classes = c->K;
    o.step = c->step;
    o.batch = c->B;
    o.weight = c->gaussian ? MEDCL_INFER_WEIGHT_GAUSSIAN : MEDCL_INFER_WEIGHT_CONSTANT;
    o.mirror_axes = c->mirror;
    o.output = c->output;
    probe_user u = {&s, {c->patch[0], c->patch[1], c->patch[2]}, c->ndim, c->B, 0, -1};

    medcl_memory_stats m0, m1;
    assert_int_equal(medcl_context_finish(td_ctx()), MEDCL_OK);
    medcl_context_reset_peak(td_ctx());
    medcl_context_memory_stats(td_ctx(), &m0);
    medcl_status st = medcl_infer_sliding_window(timg, &o, probe_predict, &u, tout, &res->stats);
    if (st != MEDCL_OK) fail_msg("%s: %s", c->name, medcl_last_error());
    medcl_context_memory_stats(td_ctx(), &m1);
    res->peak_delta = m1.peak - m0.in_use;
    assert_int_equal(u.calls, res->stats.predict_calls);

    res->V = V;
    res->got = NULL;
    res->labels = NULL;
    if (c->output == MEDCL_INFER_OUTPUT_LABELS) {
        res->labels = malloc((size_t)V * sizeof(int32_t));
        assert_int_equal(medcl_tensor_download(tout, res->labels, (size_t)V * 4), MEDCL_OK);
    } else {
        res->got = td_download(tout);
    }
    res->want = malloc((size_t)(c->K * V) * sizeof(double));
    ref_infer_opts ro = {{c->patch[0], c->patch[1], c->patch[2]}, c->step, c->gaussian, 0.125,
                         c->mirror, &s};
    ref_sliding_window(img, c->ext, &ro, res->want);
    if (c->output == MEDCL_INFER_OUTPUT_PROBS) ref_softmax(res->want, c->K, V);
    medcl_tensor_destroy(timg);
    medcl_tensor_destroy(tout);
    free(img);
}

/* Compares and prints the error; returns the nrms (or the label agreement). */
static double check_case(const sw_case *c, uint64_t seed) {
    sw_result res;
    run_case(c, seed, &res);
    double figure;
    int64_t n = c->K * res.V;
    if (c->output == MEDCL_INFER_OUTPUT_LABELS) {
        int32_t *wl = malloc((size_t)res.V * sizeof(int32_t));
        ref_argmax(res.want, c->K, res.V, wl);
        int64_t agree = 0, bad = 0;
        for (int64_t v = 0; v < res.V; v++) {
            if (res.labels[v] == wl[v]) {
                agree++;
                continue;
            }
            /* a disagreement is acceptable only at a near-tie of the reference logits */
            double a = res.want[(int64_t)wl[v] * res.V + v];
            double b = (res.labels[v] >= 0 && res.labels[v] < c->K)
                           ? res.want[(int64_t)res.labels[v] * res.V + v]
                           : -INFINITY;
            if (!(a - b < 1e-5)) bad++;
        }
        int hist[REF_PROBE_MAX] = {0};
        for (int64_t v = 0; v < res.V; v++)
            if (wl[v] >= 0 && wl[v] < REF_PROBE_MAX) hist[wl[v]]++;
        int maxc = 0;
        for (int k = 0; k < c->K; k++) maxc = hist[k] > maxc ? hist[k] : maxc;
        printf("  largest class fraction %.3f\n", (double)maxc / (double)res.V);
        assert_true(maxc < 0.6 * (double)res.V); /* labels not (nearly) all one class */
        figure = (double)agree / (double)res.V;
        printf("  %-28s tiles %lld calls %lld labels agree %.5f, off-tie mismatches %lld, device bytes %zu\n",
               c->name, (long long)res.stats.num_tiles, (long long)res.stats.predict_calls, figure,
               (long long)bad, res.stats.device_bytes);
        assert_int_equal(bad, 0);
        assert_true(figure >= 0.999);
        free(wl);
    } else {
        figure = tu_nrms(res.got, res.want, (size_t)n);
        double maxd = tu_max_abs_diff(res.got, res.want, (size_t)n);
        printf("  %-28s tiles %lld calls %lld nrms %.3e max|d| %.3e, device bytes %zu\n", c->name,
               (long long)res.stats.num_tiles, (long long)res.stats.predict_calls, figure, maxd,
               res.stats.device_bytes);
        assert_true(tu_zero_fraction(res.got, (size_t)n) < 0.8);
        assert_true(figure <= 1e-6);
        assert_true(maxd <= 1e-4);
        if (c->output == MEDCL_INFER_OUTPUT_PROBS)
            for (int64_t v = 0; v < res.V; v++) {
                double sum = 0;
                for (int k = 0; k < c->K; k++) sum += res.got[k * res.V + v];
                assert_true(fabs(sum - 1.0) < 1e-5);
            }
    }
    /* pool high-water mark of the call is exactly what it reports (the probe allocates none) */
    assert_true(res.peak_delta == res.stats.device_bytes);
    result_free(&res);
    return figure;
}

/* ---- tile positions and the Gaussian map ---- */

static void test_tile_positions(void **state) {
    (void)state;
    /* (size, patch, step) → positions, from nnU-Net v2's compute_steps_for_sliding_window
     * evaluated in Python (np.round = round half to even) */
    static const struct {
        int64_t size, patch;
        double step;
        int n;
        int64_t pos[8];
    } gold[] = {
        {37, 16, 0.5, 4, {0, 7, 14, 21}},
        {160, 128, 0.5, 2, {0, 32}},
        {100, 32, 0.5, 6, {0, 14, 27, 41, 54, 68}},
        {101, 32, 0.75, 4, {0, 23, 46, 69}},
        {64, 64, 0.5, 1, {0}},
        {10, 16, 0.5, 1, {0}},
        {97, 20, 1.0, 5, {0, 19, 38, 58, 77}},
        {250, 96, 0.5, 5, {0, 38, 77, 116, 154}},
        {33, 8, 0.5, 8, {0, 4, 7, 11, 14, 18, 21, 25}},
        {512, 160, 0.5, 6, {0, 70, 141, 211, 282, 352}},
        {9, 4, 1.0, 3, {0, 2, 5}},   /* 2.5 rounds to 2 (half to even) */
        {11, 4, 1.0, 3, {0, 4, 7}},  /* 3.5 rounds to 4 */
        {7, 1, 0.5, 7, {0, 1, 2, 3, 4, 5, 6}}, /* extent 1: every slice */
    };
    for (size_t g = 0; g < sizeof gold / sizeof gold[0]; g++) {
        int64_t pos[16], n = -1;
        assert_int_equal(medcl_infer_tile_positions(gold[g].size, gold[g].patch, gold[g].step, pos, 16, &n),
                         MEDCL_OK);
        assert_int_equal(n, gold[g].n);
        for (int i = 0; i < gold[g].n; i++) assert_int_equal(pos[i], gold[g].pos[i]);
    }
    /* a sweep against the reference implementation; properties of every result */
    static const double steps[] = {0.25, 0.5, 0.75, 1.0, 0.3};
    for (int64_t patch = 1; patch <= 24; patch += 3)
        for (int64_t size = 1; size <= 90; size += 7)
            for (size_t si = 0; si < 5; si++) {
                int64_t pos[400], want[400], n = 0;
                assert_int_equal(medcl_infer_tile_positions(size, patch, steps[si], pos, 400, &n), MEDCL_OK);
                int64_t wn = ref_infer_positions(size, patch, steps[si], want);
                assert_int_equal(n, wn);
                int64_t s = size > patch ? size : patch;
                assert_int_equal(pos[0], 0);
                assert_int_equal(pos[n - 1], s - patch);
                for (int64_t i = 0; i < n; i++) {
                    assert_int_equal(pos[i], want[i]);
                    if (i > 0) {
                        assert_true(pos[i] > pos[i - 1]);
                        assert_true(pos[i] - pos[i - 1] <= (int64_t)ceil(steps[si] * (double)patch));
                    }
                }
            }
    int64_t n = 0, pos[2];
    assert_int_equal(medcl_infer_tile_positions(100, 32, 0.5, pos, 2, &n), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "cap"));
    assert_int_equal(medcl_infer_tile_positions(100, 32, 0.0, NULL, 0, &n), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "step"));
    assert_int_equal(medcl_infer_tile_positions(100, 32, NAN, NULL, 0, &n), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_infer_tile_positions(0, 32, 0.5, NULL, 0, &n), MEDCL_ERR_INVALID_ARG);
}

static void test_gaussian_map(void **state) {
    (void)state;
    static const int64_t patches[][3] = {{1, 16, 12}, {5, 7, 9}, {8, 8, 8}, {1, 1, 1}, {3, 40, 6}};
    static const double scales[] = {0.125, 0.125, 0.125, 0.125, 1.0 / 32.0};
    for (size_t pi = 0; pi < 5; pi++) {
        const int64_t *p = patches[pi];
        int64_t n = p[0] * p[1] * p[2];
        float *w = malloc((size_t)n * sizeof(float));
        double *want = malloc((size_t)n * sizeof(double));
        assert_int_equal(medcl_infer_gaussian(p, scales[pi], w), MEDCL_OK);
        ref_infer_gaussian(p, scales[pi], want);
        double maxv = 0, maxd = 0, mn = INFINITY;
        for (int64_t i = 0; i < n; i++) {
            maxv = fmax(maxv, w[i]);
            mn = fmin(mn, w[i]);
            maxd = fmax(maxd, fabs(w[i] - want[i]) / want[i]);
            assert_true(w[i] > 0.0f);
        }
        /* the centre (patch // 2) is the maximum, exactly 1 */
        int64_t c = ((p[0] / 2) * p[1] + p[1] / 2) * p[2] + p[2] / 2;
        assert_true(w[c] == 1.0f);
        assert_true(maxv == 1.0);
        printf("  gaussian (%lld, %lld, %lld) sigma %.4g*patch: max rel err %.2e, min %.3e\n",
               (long long)p[0], (long long)p[1], (long long)p[2], scales[pi], maxd, mn);
        assert_true(maxd < 1e-7);
        if (pi == 2) {
            /* (8,8,8), sigma 1: value at (0, 4, 4) = exp(-16/2) */
            assert_true(fabs(w[(0 * 8 + 4) * 8 + 4] - exp(-8.0)) < 1e-7 * exp(-8.0) + 1e-12);
            /* corner (0,0,0) = exp(-3*16/2) */
            assert_true(fabs(w[0] - exp(-24.0)) <= 1e-7 * exp(-24.0));
        }
        if (pi == 4) {
            /* sigma (0.094, 1.25, 0.19): radii (0, 5, 1), so the corner and every voxel off
             * the D centre are truncated and hold the smallest non-zero value */
            float far = w[(0 * 40 + 0) * 6 + 0], near_edge = w[(0 * 40 + 15) * 6 + 0];
            assert_true(far == near_edge);
            assert_true(far == (float)mn);
        }
        free(w);
        free(want);
    }
    int64_t bad[3] = {0, 4, 4};
    float w[16];
    assert_int_equal(medcl_infer_gaussian(bad, 0.125, w), MEDCL_ERR_INVALID_ARG);
    int64_t ok[3] = {1, 4, 4};
    assert_int_equal(medcl_infer_gaussian(ok, 0.0, w), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "sigma_scale"));
}

/* ---- device vs reference ---- */

static void test_sw_2d(void **state) {
    (void)state;
    uint64_t seed = tu_seed();
    const sw_case cases[] = {
        {"2d gauss s0.5 B3 logits", 4, 2, 3, {1, 37, 29}, {1, 16, 12}, 0.5, 1, 0, 3, MEDCL_INFER_OUTPUT_LOGITS},
        {"2d const s1.0 B1 logits", 4, 1, 2, {1, 33, 20}, {1, 8, 8}, 1.0, 0, 0, 1, MEDCL_INFER_OUTPUT_LOGITS},
        {"2d gauss s0.75 B4 probs", 4, 3, 4, {1, 23, 41}, {1, 10, 16}, 0.75, 1, 0, 4, MEDCL_INFER_OUTPUT_PROBS},
        {"2d small H<patch s0.5", 4, 1, 2, {1, 5, 30}, {1, 12, 12}, 0.5, 1, 0, 2, MEDCL_INFER_OUTPUT_LOGITS},
        {"2d smaller both B2", 4, 2, 3, {1, 7, 6}, {1, 16, 11}, 0.5, 1, 0, 2, MEDCL_INFER_OUTPUT_LOGITS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i], seed + i);
}

static void test_sw_3d(void **state) {
    (void)state;
    uint64_t seed = tu_seed() + 100;
    const sw_case cases[] = {
        {"3d gauss s0.5 B2 logits", 5, 2, 3, {11, 13, 9}, {6, 8, 5}, 0.5, 1, 0, 2, MEDCL_INFER_OUTPUT_LOGITS},
        {"3d const s1.0 B1 probs", 5, 1, 2, {9, 10, 7}, {4, 5, 4}, 1.0, 0, 0, 1, MEDCL_INFER_OUTPUT_PROBS},
        {"3d smaller D,W s0.5 B3", 5, 1, 3, {5, 20, 3}, {8, 8, 8}, 0.5, 1, 0, 3, MEDCL_INFER_OUTPUT_LOGITS},
        {"2d model on 3d (pD=1)", 5, 1, 2, {3, 17, 15}, {1, 8, 8}, 0.5, 1, 0, 4, MEDCL_INFER_OUTPUT_LOGITS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i], seed + i);
}

static void test_sw_mirroring(void **state) {
    (void)state;
    uint64_t seed = tu_seed() + 200;
    const sw_case cases[] = {
        {"2d mirror H,W gauss B2", 4, 2, 3, {1, 21, 18}, {1, 12, 10}, 0.5, 1, MEDCL_INFER_MIRROR_ALL, 2,
         MEDCL_INFER_OUTPUT_LOGITS},
        {"3d mirror all B3", 5, 1, 2, {7, 9, 11}, {4, 6, 6}, 0.5, 1, MEDCL_INFER_MIRROR_ALL, 3,
         MEDCL_INFER_OUTPUT_LOGITS},
        {"3d mirror W only probs", 5, 2, 3, {6, 7, 9}, {4, 4, 6}, 1.0, 0, MEDCL_INFER_MIRROR_W, 1,
         MEDCL_INFER_OUTPUT_PROBS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_case(&cases[i], seed + i);
        /* the averaging matters: the mirrored result is far from the unmirrored one */
        sw_case plain = cases[i];
        plain.mirror = 0;
        sw_result a, b;
        run_case(&cases[i], seed + i, &a);
        run_case(&plain, seed + i, &b);
        int32_t nm = a.stats.num_mirrors;
        assert_int_equal(nm, i == 0 ? 4 : i == 1 ? 8 : 2);
        assert_int_equal(b.stats.num_mirrors, 1);
        assert_int_equal(a.stats.predict_calls, b.stats.predict_calls * nm);
        double d = tu_nrms_ff(a.got, b.got, (size_t)(cases[i].K * a.V));
        printf("  %-28s mirrored vs plain nrms %.3e (must be large)\n", cases[i].name, d);
        assert_true(d > 1e-2);
        result_free(&a);
        result_free(&b);
    }
}

static void test_sw_labels(void **state) {
    (void)state;
    uint64_t seed = tu_seed() + 300;
    const sw_case cases[] = {
        {"2d labels K4 mirror", 4, 2, 4, {1, 31, 27}, {1, 12, 12}, 0.5, 1, MEDCL_INFER_MIRROR_ALL, 3,
         MEDCL_INFER_OUTPUT_LABELS},
        {"3d labels K3", 5, 1, 3, {9, 11, 10}, {5, 6, 6}, 0.5, 1, 0, 2, MEDCL_INFER_OUTPUT_LABELS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i], seed + i);
}

/* The same call twice gives the same bits. */
static void test_sw_deterministic(void **state) {
    (void)state;
    const sw_case c = {"3d determinism", 5, 2, 3, {9, 10, 11}, {4, 6, 6}, 0.5, 1, MEDCL_INFER_MIRROR_H, 3,
                       MEDCL_INFER_OUTPUT_PROBS};
    uint64_t seed = tu_seed() + 400;
    sw_result a, b;
    run_case(&c, seed, &a);
    run_case(&c, seed, &b);
    assert_memory_equal(a.got, b.got, (size_t)(c.K * a.V) * sizeof(float));
    result_free(&a);
    result_free(&b);
}

/* Device memory: bounded by the patch batch plus the accumulator, whatever the number of
 * tiles; the exact high-water mark matches the reported bytes (checked in check_case). */
static void test_sw_memory(void **state) {
    (void)state;
    uint64_t seed = tu_seed() + 500;
    /* same volume, many tiles (step 0.25) and few tiles (step 1.0) */
    sw_case many = {"2d many tiles", 4, 1, 2, {1, 64, 64}, {1, 16, 16}, 0.25, 1, 0, 2, MEDCL_INFER_OUTPUT_LOGITS};
    sw_case few = many;
    few.name = "2d few tiles";
    few.step = 1.0;
    sw_result a, b;
    run_case(&many, seed, &a);
    run_case(&few, seed, &b);
    printf("  tiles %lld vs %lld: device bytes %zu vs %zu\n", (long long)a.stats.num_tiles,
           (long long)b.stats.num_tiles, a.stats.device_bytes, b.stats.device_bytes);
    assert_int_equal(a.stats.num_tiles, 13 * 13);
    assert_int_equal(b.stats.num_tiles, 4 * 4);
    assert_int_equal(a.stats.predict_calls, (13 * 13 + 1) / 2);
    /* only the tile table (12 bytes a tile) may differ, within one pool size class */
    size_t diff = a.stats.device_bytes - b.stats.device_bytes;
    assert_true(a.stats.device_bytes >= b.stats.device_bytes);
    assert_true(diff <= (size_t)(13 * 13 * 12) * 2);
    /* the bound: patch batch in + out, weight map, tiles, weight sum (no K x V temporary:
     * logits accumulate in out), each rounded up to a pool class (< 1.5x, >= 256 bytes) */
    int64_t pv = 16 * 16, V = 64 * 64;
    double bound = 1.5 * (double)((2 * 1 * pv + 2 * 2 * pv + pv + 13 * 13 * 3 + V) * 4) + 5 * 256;
    assert_true((double)a.stats.device_bytes <= bound);
    assert_true(a.stats.device_bytes < (size_t)(2 * V * 4) + (size_t)(8 * pv * 4) + 4096);
    result_free(&a);
    result_free(&b);
    /* labels need the K x V accumulator on top */
    sw_case lab = many;
    lab.output = MEDCL_INFER_OUTPUT_LABELS;
    lab.K = 3;
    run_case(&lab, seed, &a);
    assert_true(a.stats.device_bytes >= (size_t)(3 * V * 4));
    assert_true((double)a.stats.device_bytes <=
                1.5 * (double)((2 * 1 * pv + 2 * 3 * pv + pv + 13 * 13 * 3 + V + 3 * V) * 4) + 6 * 256);
    assert_int_equal(a.stats.padded[1], 64);
    assert_int_equal(a.stats.pad_before[1], 0);
    result_free(&a);
}

static void test_sw_bad_input(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 600);
    ref_probe s;
    probe_make(&r, 1, 2, &s);
    int64_t shape[4] = {1, 1, 20, 20}, oshape[4] = {1, 2, 20, 20}, wrong[4] = {1, 2, 20, 19};
    float img[400];
    tu_fill_normal(&r, img, 400);
    medcl_tensor *ti = td_tensor(4, shape, img, "scan"), *to = td_tensor(4, oshape, NULL, "probmap");
    medcl_tensor *tw = td_tensor(4, wrong, NULL, "short_out");
    medcl_infer_options o = MEDCL_INFER_OPTIONS_INIT;
    o.patch[0] = 1;
    o.patch[1] = 8;
    o.patch[2] = 8;
    o.num_classes = 2;
    probe_user u = {&s, {1, 8, 8}, 4, 1, 0, -1};
    assert_int_equal(medcl_infer_sliding_window(ti, &o, probe_predict, &u, to, NULL), MEDCL_OK);

    assert_int_equal(medcl_infer_sliding_window(NULL, &o, probe_predict, &u, to, NULL), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_infer_sliding_window(ti, NULL, probe_predict, &u, to, NULL), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_infer_sliding_window(ti, &o, NULL, &u, to, NULL), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "predict"));
    assert_int_equal(medcl_infer_sliding_window(ti, &o, probe_predict, &u, tw, NULL), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "short_out"));
    medcl_infer_options b = o;
    b.patch[0] = 2;
    assert_int_equal(medcl_infer_sliding_window(ti, &b, probe_predict, &u, to, NULL), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "patch[0]"));
    b = o;
    b.step = 1.5;
    assert_int_equal(medcl_infer_sliding_window(ti, &b, probe_predict, &u, to, NULL), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "step = 1.5"));
    b = o;
    b.num_classes = 3;
    assert_int_equal(medcl_infer_sliding_window(ti, &b, probe_predict, &u, to, NULL), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "probmap"));
    b = o;
    b.batch = 0;
    assert_int_equal(medcl_infer_sliding_window(ti, &b, probe_predict, &u, to, NULL), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "batch"));
    b = o;
    b.mirror_axes = 9;
    assert_int_equal(medcl_infer_sliding_window(ti, &b, probe_predict, &u, to, NULL), MEDCL_ERR_INVALID_ARG);
    b = o;
    b.output = MEDCL_INFER_OUTPUT_LABELS; /* f32 out for labels */
    assert_int_equal(medcl_infer_sliding_window(ti, &b, probe_predict, &u, to, NULL), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "i32"));
    b = o;
    b.size = 8;
    assert_int_equal(medcl_infer_sliding_window(ti, &b, probe_predict, &u, to, NULL), MEDCL_ERR_INVALID_ARG);
    /* the predictor's failure is returned as is, with where it happened */
    u.calls = 0;
    u.fail_at = 2;
    assert_int_equal(medcl_infer_sliding_window(ti, &o, probe_predict, &u, to, NULL), MEDCL_ERR_NUMERIC);
    assert_non_null(strstr(medcl_last_error(), "predict"));
    /* and the context still works */
    u.fail_at = -1;
    assert_int_equal(medcl_infer_sliding_window(ti, &o, probe_predict, &u, to, NULL), MEDCL_OK);
    medcl_tensor_destroy(ti);
    medcl_tensor_destroy(to);
    medcl_tensor_destroy(tw);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tile_positions),
        cmocka_unit_test(test_gaussian_map),
        cmocka_unit_test(test_sw_2d),
        cmocka_unit_test(test_sw_3d),
        cmocka_unit_test(test_sw_mirroring),
        cmocka_unit_test(test_sw_labels),
        cmocka_unit_test(test_sw_deterministic),
        cmocka_unit_test(test_sw_memory),
        cmocka_unit_test(test_sw_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
