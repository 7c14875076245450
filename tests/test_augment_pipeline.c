/* tests/test_augment_pipeline.c — parameter draws follow their distributions (mean and
 * range of 10000 host draws, hit fractions), the JSON form (round trip; malformed input
 * named by its JSON path), the presets, the nnU-Net preset on a batch (determinism, labels
 * keep their values), and mixup/cutmix against the reference with soft labels summing to 1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ref/ref_augment.h"

static void test_draw_distributions(void **state) {
    (void)state;
    medcl_augment_transform t = MEDCL_AUGMENT_TRANSFORM_INIT;
    t.kind = MEDCL_AUGMENT_GAUSSIAN_NOISE;
    t.p = 0.2f;
    t.range[0] = 0.25f;
    t.range[1] = 0.75f;
    aug_geom g = {1, 2, {1, 8, 8}, {1, 8, 8}};
    float b[AUG_PB];
    int hits = 0, n = 10000;
    double s = 0, lo = 1e9, hi = -1e9;
    uint64_t seed = tu_seed();
    for (int i = 0; i < n; i++) {
        aug_draw(&t, 2, &g, seed, 1, (uint32_t)i, b);
        if (b[AUG_P_APPLIED] == 0) continue;
        hits++;
        double v = b[AUG_P_CH + 1];
        assert_true(b[AUG_P_CH + 5] == b[AUG_P_CH + 1]); /* shared across channels */
        s += v;
        lo = fmin(lo, v);
        hi = fmax(hi, v);
    }
    double frac = (double)hits / n, mean = s / hits;
    printf("p=0.2: hit fraction %.4f; U(0.25, 0.75): mean %.4f, range [%.4f, %.4f]\n", frac, mean, lo, hi);
    assert_true(fabs(frac - 0.2) < 4 * sqrt(0.2 * 0.8 / n));
    assert_true(fabs(mean - 0.5) < 4 * 0.5 / sqrt(12.0 * hits));
    assert_true(lo >= 0.25 && lo < 0.26 && hi <= 0.75 && hi > 0.74);
    /* split at one: half below 1 (nnU-Net BGContrast) */
    t.p = 1;
    t.range[0] = 0.75f;
    t.range[1] = 1.25f;
    t.split_at_one = 1;
    int below = 0;
    for (int i = 0; i < n; i++) {
        aug_draw(&t, 0, &g, seed, 2, (uint32_t)i, b);
        below += b[AUG_P_CH + 1] < 1.0f;
        assert_true(b[AUG_P_CH + 1] >= 0.75f && b[AUG_P_CH + 1] <= 1.25f);
    }
    assert_true(fabs(below / (double)n - 0.5) < 0.02);
    /* spatial: rotation angle about D in [-15, 15] degrees from the matrix, p_rotation 0.3 */
    medcl_augment_transform sp = MEDCL_AUGMENT_TRANSFORM_INIT;
    sp.spatial.p_rotation = 0.3f;
    sp.spatial.rotation[0][0] = -15;
    sp.spatial.rotation[0][1] = 15;
    hits = 0;
    double amax = 0;
    for (int i = 0; i < n; i++) {
        aug_draw(&sp, 0, &g, seed, 3, (uint32_t)i, b);
        if (b[AUG_P_APPLIED] == 0) continue;
        hits++;
        double ang = atan2(b[AUG_P_MAT + 7], b[AUG_P_MAT + 4]) * 180.0 / 3.14159265358979;
        amax = fmax(amax, fabs(ang));
    }
    assert_true(fabs(hits / (double)n - 0.3) < 4 * sqrt(0.21 / n));
    assert_true(amax <= 15.0001 && amax > 14.5);
    /* Beta(1, 1) is uniform; Beta(0.4, 0.4) is U-shaped with mean 1/2 */
    double m1 = 0, m2 = 0, edge = 0;
    for (int i = 0; i < n; i++) {
        double a = aug_beta(seed, 0, (uint32_t)i, 1.0), c = aug_beta(seed, 1, (uint32_t)i, 0.4);
        assert_true(a > 0 && a < 1 && c >= 0 && c <= 1);
        m1 += a;
        m2 += c;
        edge += c < 0.1 || c > 0.9;
    }
    printf("Beta(1,1) mean %.4f; Beta(0.4,0.4) mean %.4f, mass outside [0.1, 0.9] %.3f\n", m1 / n, m2 / n, edge / n);
    assert_true(fabs(m1 / n - 0.5) < 0.015 && fabs(m2 / n - 0.5) < 0.02);
    assert_true(edge / n > 0.4); /* Beta(0.4, 0.4): about 0.46 */
}

static const char *sample_json =
    "{\"transforms\": ["
    "{\"type\": \"spatial\", \"p_rotation\": 0.2, \"rotation\": [[-30, 30], [-10, 10], [0, 0]],"
    " \"p_scale\": 0.2, \"scale\": [0.7, 1.4], \"p_elastic\": 0.1, \"elastic_points\": 7,"
    " \"elastic_max\": 7.5, \"label_interp\": \"onehot\", \"image_interp\": \"cubic\", \"border\": \"clamp\"},"
    "{\"type\": \"gaussian_noise\", \"p\": 0.1, \"sigma\": [0, 0.1]},"
    "{\"type\": \"gamma\", \"p\": 0.3, \"gamma\": [0.7, 1.5], \"invert\": true, \"retain_stats\": true,"
    " \"split_at_one\": true},"
    "{\"type\": \"coarse_dropout\", \"count\": [1, 4], \"size\": [0.05, 0.2], \"value\": 0},"
    "{\"type\": \"ghosting\", \"count\": [2, 5], \"intensity\": [0.3, 0.8], \"axis\": 1, \"restore\": 0.05}"
    "]}";

static void test_json(void **state) {
    (void)state;
    medcl_augment_pipeline *p = NULL, *q = NULL;
    assert_int_equal(medcl_augment_pipeline_from_json(sample_json, &p), MEDCL_OK);
    assert_int_equal(medcl_augment_pipeline_count(p), 5);
    const medcl_augment_transform *t0 = medcl_augment_pipeline_get(p, 0), *t2 = medcl_augment_pipeline_get(p, 2);
    assert_int_equal(t0->spatial.label_interp, MEDCL_AUGMENT_LABEL_ONEHOT);
    assert_true(t0->spatial.rotation[1][0] == -10.0f && t0->spatial.scale[1] == 1.4f);
    assert_true(t2->invert && t2->retain_stats && t2->range[0] == 0.7f);
    char *a = NULL, *b = NULL;
    assert_int_equal(medcl_augment_pipeline_to_json(p, &a), MEDCL_OK);
    assert_int_equal(medcl_augment_pipeline_from_json(a, &q), MEDCL_OK);
    assert_int_equal(medcl_augment_pipeline_to_json(q, &b), MEDCL_OK);
    assert_string_equal(a, b);
    for (int i = 0; i < 5; i++) /* padding bytes differ: compare the fields through JSON (above) and kinds */
        assert_int_equal(medcl_augment_pipeline_get(p, i)->kind, medcl_augment_pipeline_get(q, i)->kind);
    free(a), free(b);
    medcl_augment_pipeline_destroy(p);
    medcl_augment_pipeline_destroy(q);
    /* presets round trip too */
    int64_t patch[3] = {1, 256, 128};
    assert_int_equal(medcl_augment_preset("nnunet", 2, patch, &p), MEDCL_OK);
    assert_int_equal(medcl_augment_pipeline_count(p), 9);
    assert_true(medcl_augment_pipeline_get(p, 0)->spatial.rotation[0][1] == 15.0f); /* aspect 2 > 1.5 */
    assert_int_equal(medcl_augment_pipeline_to_json(p, &a), MEDCL_OK);
    assert_int_equal(medcl_augment_pipeline_from_json(a, &q), MEDCL_OK);
    assert_int_equal(medcl_augment_pipeline_to_json(q, &b), MEDCL_OK);
    assert_string_equal(a, b);
    free(a), free(b);
    medcl_augment_pipeline_destroy(p);
    medcl_augment_pipeline_destroy(q);
    assert_int_equal(medcl_augment_preset("none", 3, patch, &p), MEDCL_OK);
    assert_int_equal(medcl_augment_pipeline_count(p), 0);
    medcl_augment_pipeline_destroy(p);
    assert_int_equal(medcl_augment_preset("bogus", 3, patch, &p), MEDCL_ERR_NOT_FOUND);
    assert_null(p);
}

static void expect_json_error(const char *text, const char *path_fragment) {
    medcl_augment_pipeline *p = NULL;
    medcl_status st = medcl_augment_pipeline_from_json(text, &p);
    if (st == MEDCL_OK) fail_msg("accepted: %s", text);
    assert_null(p);
    if (!strstr(medcl_last_error(), path_fragment))
        fail_msg("error \"%s\" does not name \"%s\"", medcl_last_error(), path_fragment);
}

static void test_json_errors(void **state) {
    (void)state;
    expect_json_error("{\"transforms\": [", "$");
    expect_json_error("[]", "$");
    expect_json_error("{\"transforms\": [], \"extra\": 1}", "$.extra");
    expect_json_error("{\"transforms\": {}}", "$.transforms");
    expect_json_error("{\"transforms\": [{\"p\": 1}]}", "$.transforms[0].type");
    expect_json_error("{\"transforms\": [{\"type\": \"warp\"}]}", "$.transforms[0].type");
    expect_json_error("{\"transforms\": [{\"type\": \"gaussian_noise\"}, {\"type\": \"gaussian_noise\"},"
                      " {\"type\": \"gaussian_blur\", \"sigma\": [1]}]}",
                      "$.transforms[2].sigma: expected 2 numbers");
    expect_json_error("{\"transforms\": [{\"type\": \"gamma\", \"gamma\": [1.5, 0.7]}]}", "$.transforms[0]");
    expect_json_error("{\"transforms\": [{\"type\": \"gamma\", \"sigma\": [0, 1]}]}", "$.transforms[0].sigma: unknown key");
    expect_json_error("{\"transforms\": [{\"type\": \"spatial\", \"label_interp\": \"cubic\"}]}",
                      "$.transforms[0].label_interp");
    expect_json_error("{\"transforms\": [{\"type\": \"spatial\", \"rotation\": [[0, 1], [0, 1]]}]}",
                      "$.transforms[0].rotation");
    expect_json_error("{\"transforms\": [{\"type\": \"gaussian_noise\", \"p\": 1.5}]}", "$.transforms[0].p");
    expect_json_error("{\"transforms\": [{\"type\": \"gaussian_noise\", \"per_channel\": 1}]}",
                      "$.transforms[0].per_channel: expected true or false");
}

/* nnU-Net preset on a 3D batch: runs, deterministic, labels keep their values */
static void test_nnunet_preset(void **state) {
    (void)state;
    int64_t patch[3] = {12, 14, 16}, src[3] = {16, 18, 20};
    int64_t N = 4, vi = 16 * 18 * 20, vo = 12 * 14 * 16;
    int64_t shi[5] = {N, 2, 16, 18, 20}, sli[5] = {N, 1, 16, 18, 20}, sho[5] = {N, 2, 12, 14, 16}, slo[5] = {N, 1, 12, 14, 16};
    tu_rng r = tu_rng_make(tu_seed() + 11);
    float *x = malloc(sizeof(float) * (size_t)(N * 2 * vi)), *l = malloc(sizeof(float) * (size_t)(N * vi));
    tu_fill_normal(&r, x, (size_t)(N * 2 * vi));
    for (int64_t i = 0; i < N * vi; i++) l[i] = (float)((i / 40) % 3);
    (void)src;
    medcl_augment_pipeline *p = NULL;
    assert_int_equal(medcl_augment_preset("nnunet", 3, patch, &p), MEDCL_OK);
    medcl_tensor *ti = td_tensor(5, shi, x, "image"), *tl = td_tensor(5, sli, l, "label");
    medcl_tensor *to = td_tensor(5, sho, NULL, "image_out"), *tlo = td_tensor(5, slo, NULL, "label_out");
    float *a = NULL, *al = NULL;
    for (int rep = 0; rep < 2; rep++) {
        td_poison(to);
        assert_int_equal(medcl_augment_pipeline_apply_to(p, ti, tl, to, tlo, 42, 3, 8), MEDCL_OK);
        float *y = td_download(to), *yl = td_download(tlo);
        for (int64_t i = 0; i < N * 2 * vo; i++) assert_true(isfinite(y[i]));
        for (int64_t i = 0; i < N * vo; i++) assert_true(yl[i] == 0 || yl[i] == 1 || yl[i] == 2);
        if (rep == 0) a = y, al = yl;
        else {
            assert_memory_equal(a, y, sizeof(float) * (size_t)(N * 2 * vo));
            assert_memory_equal(al, yl, sizeof(float) * (size_t)(N * vo));
            free(y), free(yl);
        }
    }
    free(a), free(al), free(x), free(l);
    medcl_tensor_destroy(ti), medcl_tensor_destroy(tl), medcl_tensor_destroy(to), medcl_tensor_destroy(tlo);
    medcl_augment_pipeline_destroy(p);
}

static void run_mix(medcl_augment_mix_mode mode, const int64_t dhw[3]) {
    int64_t N = 5, C = 2, K = 4, V = dhw[0] * dhw[1] * dhw[2];
    int64_t shi[5] = {N, C, dhw[0], dhw[1], dhw[2]}, sl[5] = {N, 1, dhw[0], dhw[1], dhw[2]}, ss[5] = {N, K, dhw[0], dhw[1], dhw[2]};
    tu_rng r = tu_rng_make(tu_seed() + 19 + (uint64_t)mode);
    float *x = malloc(sizeof(float) * (size_t)(N * C * V)), *l = malloc(sizeof(float) * (size_t)(N * V));
    tu_fill_normal(&r, x, (size_t)(N * C * V));
    tu_fill_int(&r, l, (size_t)(N * V), 0, (int)K - 1);
    medcl_augment_mix o = MEDCL_AUGMENT_MIX_INIT;
    o.mode = mode;
    o.num_classes = (int)K;
    o.p = 0.8f;
    medcl_tensor *ti = td_tensor(5, shi, x, "image"), *tl = td_tensor(5, sl, l, "label");
    medcl_tensor *to = td_tensor(5, shi, NULL, "image_out"), *ts = td_tensor(5, ss, NULL, "soft");
    uint64_t seed = tu_seed() + 5;
    assert_int_equal(medcl_augment_mix_apply(&o, ti, tl, to, ts, seed, 2, 30), MEDCL_OK);
    float *y = td_download(to), *s = td_download(ts);
    float *blocks = calloc((size_t)N * AUG_PB, sizeof(float));
    for (int64_t n = 0; n < N; n++) aug_mix_draw(&o, N, dhw, seed, 2, 30, n, blocks + n * AUG_PB);
    double *wy = malloc(sizeof(double) * (size_t)(N * C * V)), *wsf = malloc(sizeof(double) * (size_t)(N * K * V));
    ref_aug_mix(&o, N, C, dhw, blocks, x, l, wy, wsf);
    double ey = tu_nrms(y, wy, (size_t)(N * C * V)), es = tu_nrms(s, wsf, (size_t)(N * K * V)), worst = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t v = 0; v < V; v++) {
            double sum = 0;
            for (int64_t k = 0; k < K; k++) sum += s[(n * K + k) * V + v];
            worst = fmax(worst, fabs(sum - 1));
        }
    int hit = 0;
    for (int64_t n = 0; n < N; n++) hit += blocks[n * AUG_PB] != 0;
    printf("%s %s: image nrms %.3g, soft nrms %.3g, max |sum - 1| %.3g, samples mixed %d/%lld\n",
           mode ? "cutmix" : "mixup", dhw[0] > 1 ? "3d" : "2d", ey, es, worst, hit, (long long)N);
    assert_true(ey <= 1e-6 && es <= 1e-6 && worst <= 1e-6);
    assert_true(hit > 0);
    free(x), free(l), free(y), free(s), free(blocks), free(wy), free(wsf);
    medcl_tensor_destroy(ti), medcl_tensor_destroy(tl), medcl_tensor_destroy(to), medcl_tensor_destroy(ts);
}

static void test_mix(void **state) {
    (void)state;
    int64_t d3[3] = {6, 7, 8}, d2[3] = {1, 20, 24};
    run_mix(MEDCL_AUGMENT_MIXUP, d3);
    run_mix(MEDCL_AUGMENT_MIXUP, d2);
    run_mix(MEDCL_AUGMENT_CUTMIX, d3);
    run_mix(MEDCL_AUGMENT_CUTMIX, d2);
    /* bad input: soft labels with the wrong K */
    int64_t sh[5] = {2, 1, 1, 4, 4}, ss[5] = {2, 3, 1, 4, 4};
    medcl_tensor *x = td_tensor(5, sh, NULL, "x"), *l = td_tensor(5, sh, NULL, "l"), *y = td_tensor(5, sh, NULL, "y"),
                 *s = td_tensor(5, ss, NULL, "soft3");
    medcl_augment_mix o = MEDCL_AUGMENT_MIX_INIT;
    assert_int_equal(medcl_augment_mix_apply(&o, x, l, y, s, 1, 0, 0), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "soft3"));
    o.alpha = 0;
    assert_int_equal(medcl_augment_mix_apply(&o, x, l, y, s, 1, 0, 0), MEDCL_ERR_INVALID_ARG);
    medcl_tensor_destroy(x), medcl_tensor_destroy(l), medcl_tensor_destroy(y), medcl_tensor_destroy(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_draw_distributions),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_nnunet_preset),
        cmocka_unit_test(test_mix),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
