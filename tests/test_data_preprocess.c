/* tests/test_data_preprocess.c — host normalization (z-score with and without the nonzero mask,
 * CT clipping and foreground statistics, rescale, rgb) against hand computation in double;
 * the nonzero bounding box and cropping; device resampling (cl/preprocess.cl) against the
 * float64 reference in tests/ref/ref_preprocess.c (linear by nrms, nearest exact, identity
 * exact); medcl_case_resample on a case; bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/data.h"
#include "ref/ref_preprocess.h"
#include "testutil.h"

static void test_zscore(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    enum { N = 1000 };
    float x[N], y[N];
    uint8_t mask[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)(3.0 + 2.5 * tu_normal(&r));
        mask[i] = (uint8_t)(tu_uniform(&r) < 0.6);
    }
    /* whole image */
    memcpy(y, x, sizeof x);
    assert_int_equal(medcl_normalize_zscore(y, N, NULL), MEDCL_OK);
    double m = 0, s = 0;
    for (int i = 0; i < N; i++) m += x[i];
    m /= N;
    for (int i = 0; i < N; i++) s += (x[i] - m) * (x[i] - m);
    s = sqrt(s / N);
    for (int i = 0; i < N; i++) assert_true(fabs(y[i] - (x[i] - m) / s) <= 1e-6);
    /* inside the mask: statistics from the mask, outside set to 0 */
    memcpy(y, x, sizeof x);
    assert_int_equal(medcl_normalize_zscore(y, N, mask), MEDCL_OK);
    m = 0;
    s = 0;
    int cnt = 0;
    for (int i = 0; i < N; i++)
        if (mask[i]) m += x[i], cnt++;
    m /= cnt;
    for (int i = 0; i < N; i++)
        if (mask[i]) s += (x[i] - m) * (x[i] - m);
    s = sqrt(s / cnt);
    for (int i = 0; i < N; i++) {
        double want = mask[i] ? (x[i] - m) / s : 0.0;
        assert_true(fabs(y[i] - want) <= 1e-6);
    }
    /* constant image: std clipped at 1e-8, result 0 */
    float c[4] = {7, 7, 7, 7};
    assert_int_equal(medcl_normalize_zscore(c, 4, NULL), MEDCL_OK);
    for (int i = 0; i < 4; i++) assert_true(c[i] == 0.0f);
    uint8_t none[4] = {0};
    assert_int_equal(medcl_normalize_zscore(c, 4, none), MEDCL_ERR_INVALID_ARG);
}

static void test_ct(void **state) {
    (void)state;
    /* values 1..200: numpy percentile(0.5) = 1 + 0.005*199 = 1.995, 99.5 → 1 + 0.995*199 */
    enum { N = 200 };
    float v[N];
    for (int i = 0; i < N; i++) v[(i * 7) % N] = (float)(i + 1); /* unsorted */
    medcl_ct_stats s;
    assert_int_equal(medcl_ct_stats_compute(v, N, &s), MEDCL_OK);
    assert_true(fabs(s.p005 - 1.995) < 1e-12);
    assert_true(fabs(s.p995 - 199.005) < 1e-9);
    assert_true(fabs(s.mean - 100.5) < 1e-12);
    assert_true(fabs(s.std - sqrt((N * N - 1) / 12.0)) < 1e-9);
    float x[5] = {-1000.0f, 1.0f, 100.5f, 150.0f, 5000.0f};
    assert_int_equal(medcl_normalize_ct(x, 5, &s), MEDCL_OK);
    double want[5] = {(1.995 - 100.5) / s.std, (1.995 - 100.5) / s.std, 0.0,
                      (150.0 - 100.5) / s.std, (199.005 - 100.5) / s.std};
    for (int i = 0; i < 5; i++) assert_true(fabs(x[i] - want[i]) <= 1e-6 * (1 + fabs(want[i])));
    medcl_ct_stats bad = {NAN, 1, 0, 1};
    assert_int_equal(medcl_normalize_ct(x, 5, &bad), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_ct_stats_compute(v, 0, &s), MEDCL_ERR_INVALID_ARG);

    /* foreground values of a case: label > 0, even stride when capped */
    medcl_case_data cd = {0};
    float img[10], lab[10];
    for (int i = 0; i < 10; i++) {
        img[i] = (float)(10 * i);
        lab[i] = (float)(i % 2);
    }
    cd.channels = 1;
    cd.dim[0] = 1;
    cd.dim[1] = 2;
    cd.dim[2] = 5;
    cd.image = img;
    cd.label = lab;
    float *vals = NULL;
    int64_t cnt = 0;
    assert_int_equal(medcl_case_foreground_values(&cd, 0, 100, &vals, &cnt), MEDCL_OK);
    assert_int_equal(cnt, 5);
    for (int i = 0; i < 5; i++) assert_true(vals[i] == (float)(10 * (2 * i + 1)));
    assert_int_equal(medcl_case_foreground_values(&cd, 0, 2, &vals, &cnt), MEDCL_OK);
    assert_int_equal(cnt, 7); /* appended: fg voxels 0 and 2 of 5 (stride 5/2) */
    assert_true(vals[5] == 10.0f && vals[6] == 50.0f);
    free(vals);
}

static void test_rescale_rgb_and_case_normalize(void **state) {
    (void)state;
    float x[4] = {2, 4, 6, 10};
    assert_int_equal(medcl_normalize_rescale(x, 4), MEDCL_OK);
    assert_true(x[0] == 0.0f && x[1] == 0.25f && x[2] == 0.5f && x[3] == 1.0f);
    float c[3] = {5, 5, 5};
    assert_int_equal(medcl_normalize_rescale(c, 3), MEDCL_OK);
    assert_true(c[0] == 0.0f && c[2] == 0.0f);

    /* a 3-channel case: z-score, rgb/255, none */
    medcl_case_data cd = {0};
    float img[12] = {1, 2, 3, 4, 0, 51, 255, 102, 9, 8, 7, 6};
    cd.channels = 3;
    cd.dim[0] = 1;
    cd.dim[1] = 2;
    cd.dim[2] = 2;
    cd.image = img;
    medcl_norm_scheme sc[3] = {MEDCL_NORM_ZSCORE, MEDCL_NORM_RGB_TO_01, MEDCL_NORM_NONE};
    assert_int_equal(medcl_case_normalize(&cd, sc, NULL, false), MEDCL_OK);
    double sd = sqrt(1.25);
    assert_true(fabs(img[0] - (1 - 2.5) / sd) < 1e-6 && fabs(img[3] - (4 - 2.5) / sd) < 1e-6);
    assert_true(img[4] == 0.0f && img[5] == 0.2f && img[6] == 1.0f && img[7] == 0.4f);
    assert_true(img[8] == 9 && img[11] == 6);
    medcl_norm_scheme ct[3] = {MEDCL_NORM_CT, MEDCL_NORM_NONE, MEDCL_NORM_NONE};
    assert_int_equal(medcl_case_normalize(&cd, ct, NULL, false), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "CT"));
}

static void test_bbox_crop(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 3);
    medcl_case_data *cd = calloc(1, sizeof *cd);
    int64_t D = 5, H = 6, W = 7, n = D * H * W;
    cd->channels = 2;
    cd->dim[0] = D;
    cd->dim[1] = H;
    cd->dim[2] = W;
    cd->image = calloc((size_t)(2 * n), sizeof(float));
    cd->label = calloc((size_t)n, sizeof(float));
    /* channel 0 nonzero at (1,2,3), channel 1 at (3,4,1) and (2,5,5) */
    cd->image[(1 * H + 2) * W + 3] = 1.0f;
    cd->image[n + (3 * H + 4) * W + 1] = -2.0f;
    cd->image[n + (2 * H + 5) * W + 5] = 0.5f;
    for (int64_t i = 0; i < n; i++) cd->label[i] = (float)tu_int(&r, 0, 3);
    float *lab0 = malloc((size_t)n * sizeof(float));
    memcpy(lab0, cd->label, (size_t)n * sizeof(float));
    int64_t lo[3], hi[3];
    medcl_case_nonzero_bbox(cd, lo, hi);
    assert_int_equal(lo[0], 1);
    assert_int_equal(hi[0], 4);
    assert_int_equal(lo[1], 2);
    assert_int_equal(hi[1], 6);
    assert_int_equal(lo[2], 1);
    assert_int_equal(hi[2], 6);
    assert_int_equal(medcl_case_crop(cd, lo, hi), MEDCL_OK);
    assert_int_equal(cd->dim[0], 3);
    assert_int_equal(cd->dim[1], 4);
    assert_int_equal(cd->dim[2], 5);
    assert_int_equal(cd->crop_lo[2], 1);
    int64_t m = 3 * 4 * 5;
    assert_true(cd->image[(0 * 4 + 0) * 5 + 2] == 1.0f);
    assert_true(cd->image[m + (2 * 4 + 2) * 5 + 0] == -2.0f);
    for (int64_t d = 0; d < 3; d++)
        for (int64_t h = 0; h < 4; h++)
            for (int64_t w = 0; w < 5; w++)
                assert_true(cd->label[(d * 4 + h) * 5 + w] ==
                            lab0[((d + 1) * H + h + 2) * W + w + 1]);
    int64_t bad_hi[3] = {9, 4, 5};
    assert_int_equal(medcl_case_crop(cd, lo, bad_hi), MEDCL_ERR_INVALID_ARG);
    free(lab0);
    medcl_case_free(cd);
}

/* device resampling vs the float64 reference */
static void check_resample(tu_rng *r, int64_t nc, const int64_t in[3], const int64_t out[3]) {
    int64_t n_in = nc * in[0] * in[1] * in[2], n_out = nc * out[0] * out[1] * out[2];
    float *x = malloc((size_t)n_in * sizeof(float));
    double *ref = malloc((size_t)n_out * sizeof(double));
    int64_t xs[5] = {1, nc, in[0], in[1], in[2]}, ys[5] = {1, nc, out[0], out[1], out[2]};
    medcl_resample_params p = MEDCL_RESAMPLE_PARAMS_INIT;
    /* linear on N(0,1) */
    tu_fill_normal(r, x, (size_t)n_in);
    medcl_tensor *tx = td_tensor(5, xs, x, "x"), *ty = td_tensor(5, ys, NULL, "y");
    assert_int_equal(medcl_resample_forward(tx, ty, &p), MEDCL_OK);
    float *got = td_download(ty);
    ref_resample(x, nc, in[0], in[1], in[2], out[0], out[1], out[2], 0, ref);
    double e = tu_nrms(got, ref, (size_t)n_out);
    double mx = tu_max_abs_diff(got, ref, (size_t)n_out);
    assert_true(tu_zero_fraction(got, (size_t)n_out) < 0.8);
    if (in[0] == out[0] && in[1] == out[1] && in[2] == out[2]) /* identity: exact */
        assert_memory_equal(got, x, (size_t)n_in * sizeof(float));
    if (!(e <= 1e-6) || !(mx <= 1e-5))
        fail_msg("linear %lldx%lldx%lld -> %lldx%lldx%lld: nrms %.3g max %.3g", (long long)in[0],
                 (long long)in[1], (long long)in[2], (long long)out[0], (long long)out[1],
                 (long long)out[2], e, mx);
    printf("resample linear %lldx%lldx%lld -> %lldx%lldx%lld: nrms %.3g, max abs %.3g\n",
           (long long)in[0], (long long)in[1], (long long)in[2], (long long)out[0],
           (long long)out[1], (long long)out[2], e, mx);
    free(got);
    /* nearest on integer labels: exact */
    tu_fill_int(r, x, (size_t)n_in, 0, 5);
    medcl_tensor_destroy(tx);
    tx = td_tensor(5, xs, x, "labels");
    td_poison(ty);
    p.interp = MEDCL_RESAMPLE_NEAREST;
    assert_int_equal(medcl_resample_forward(tx, ty, &p), MEDCL_OK);
    got = td_download(ty);
    ref_resample(x, nc, in[0], in[1], in[2], out[0], out[1], out[2], 1, ref);
    for (int64_t i = 0; i < n_out; i++)
        if (got[i] != (float)ref[i]) fail_msg("nearest: element %lld = %g, expected %g", (long long)i,
                                              got[i], ref[i]);
    free(got);
    medcl_tensor_destroy(tx);
    medcl_tensor_destroy(ty);
    free(x);
    free(ref);
}

static void test_resample_device(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 4);
    const int64_t cases[][6] = {
        {9, 10, 11, 17, 5, 23},  /* mixed up/down */
        {16, 16, 16, 8, 8, 8},   /* halving */
        {7, 13, 5, 7, 13, 5},    /* identity */
        {1, 31, 29, 1, 64, 43},  /* 2D, upsampling */
        {4, 3, 2, 11, 1, 9},     /* an axis to 1 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_resample(&r, i % 2 ? 2 : 1, cases[i], cases[i] + 3);
    /* identity on integers: exact for linear too */
    int64_t s5[5] = {1, 1, 4, 5, 6};
    float x[120];
    tu_fill_int(&r, x, 120, -50, 50);
    medcl_tensor *tx = td_tensor(5, s5, x, "x"), *ty = td_tensor(5, s5, NULL, "y");
    medcl_resample_params p = MEDCL_RESAMPLE_PARAMS_INIT;
    assert_int_equal(medcl_resample_forward(tx, ty, &p), MEDCL_OK);
    float *got = td_download(ty);
    assert_memory_equal(got, x, sizeof x);
    free(got);
    /* bad input: N*C differs, NULL params */
    int64_t s6[5] = {1, 2, 4, 5, 6};
    medcl_tensor *tz = td_tensor(5, s6, NULL, "two_channels");
    assert_int_equal(medcl_resample_forward(tx, tz, &p), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "two_channels"));
    assert_int_equal(medcl_resample_forward(tx, ty, NULL), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_resample_forward(NULL, ty, &p), MEDCL_ERR_INVALID_ARG);
    medcl_tensor_destroy(tx);
    medcl_tensor_destroy(ty);
    medcl_tensor_destroy(tz);
}

static void test_case_resample(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 5);
    medcl_case_data *cd = calloc(1, sizeof *cd);
    int64_t D = 6, H = 8, W = 10, n = D * H * W;
    cd->channels = 2;
    cd->dim[0] = D;
    cd->dim[1] = H;
    cd->dim[2] = W;
    cd->spacing[0] = 3.0;
    cd->spacing[1] = 1.0;
    cd->spacing[2] = 0.5;
    for (int i = 0; i < 4; i++) cd->affine[i][i] = 1.0;
    cd->affine[0][0] = 0.5; /* x = W */
    cd->affine[2][2] = 3.0; /* z = D */
    cd->image = malloc((size_t)(2 * n) * sizeof(float));
    cd->label = malloc((size_t)n * sizeof(float));
    tu_fill_normal(&r, cd->image, (size_t)(2 * n));
    tu_fill_int(&r, cd->label, (size_t)n, 0, 2);
    float *img0 = malloc((size_t)(2 * n) * sizeof(float)), *lab0 = malloc((size_t)n * sizeof(float));
    memcpy(img0, cd->image, (size_t)(2 * n) * sizeof(float));
    memcpy(lab0, cd->label, (size_t)n * sizeof(float));
    double target[3] = {1.5, 1.0, 1.0};
    assert_int_equal(medcl_case_resample(td_ctx(), cd, target), MEDCL_OK);
    assert_int_equal(cd->dim[0], 12);
    assert_int_equal(cd->dim[1], 8);
    assert_int_equal(cd->dim[2], 5);
    assert_true(fabs(cd->spacing[0] - 1.5) < 1e-12 && fabs(cd->spacing[2] - 1.0) < 1e-12);
    assert_true(fabs(cd->affine[0][0] - 1.0) < 1e-12 && fabs(cd->affine[2][2] - 1.5) < 1e-12);
    /* world position of new voxel 0 along x: old voxel (s - 1)/2 = 0.5 → 0.25 mm */
    assert_true(fabs(cd->affine[0][3] - 0.25) < 1e-12);
    assert_true(fabs(cd->affine[2][3] - (-0.75)) < 1e-12);
    int64_t m = 12 * 8 * 5;
    double *ref = malloc((size_t)(2 * m) * sizeof(double));
    ref_resample(img0, 2, D, H, W, 12, 8, 5, 0, ref);
    double e = tu_nrms(cd->image, ref, (size_t)(2 * m));
    assert_true(e <= 1e-6);
    ref_resample(lab0, 1, D, H, W, 12, 8, 5, 1, ref);
    for (int64_t i = 0; i < m; i++) assert_true(cd->label[i] == (float)ref[i]);
    double bad[3] = {1, 0, 1};
    assert_int_equal(medcl_case_resample(td_ctx(), cd, bad), MEDCL_ERR_INVALID_ARG);
    int64_t in3[3] = {100, 200, 50}, out3[3];
    double sp[3] = {2.0, 0.7, 1.0}, tg[3] = {1.0, 1.4, 3.0};
    medcl_resample_shape(in3, sp, tg, out3);
    assert_int_equal(out3[0], 200);
    assert_int_equal(out3[1], 100);
    assert_int_equal(out3[2], 17);
    free(ref);
    free(img0);
    free(lab0);
    medcl_case_free(cd);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zscore),
        cmocka_unit_test(test_ct),
        cmocka_unit_test(test_rescale_rgb_and_case_normalize),
        cmocka_unit_test(test_bbox_crop),
        cmocka_unit_test(test_resample_device),
        cmocka_unit_test(test_case_resample),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
