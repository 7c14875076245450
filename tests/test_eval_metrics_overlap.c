/* tests/test_eval_metrics_overlap.c — hand-checked overlap metrics: TP/FP/FN/TN of a small
 * label map, Dice and IoU with both empty modes, random label maps against direct counting,
 * the nanmean and foreground-mean aggregation, and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/metrics.h"
#include "testutil.h"

static void test_counts_and_dice_hand(void **state)
{
    (void)state;
    /* 1 x 3 x 4, classes 0..3; class 1: ref 4 voxels, pred 6, overlap 3;
     * class 2 only in pred; class 3 in neither */
    const int32_t ref[12] = {1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    const int32_t pred[12] = {1, 1, 1, 0, 1, 1, 1, 2, 0, 0, 0, 0};
    int64_t sh[3] = {1, 3, 4};
    medcl_overlap_counts c[4];
    assert_int_equal(medcl_metric_counts(ref, pred, sh, 4, c), MEDCL_OK);
    assert_int_equal(c[1].tp, 3);
    assert_int_equal(c[1].fp, 3);
    assert_int_equal(c[1].fn, 1);
    assert_int_equal(c[1].tn, 5);
    assert_int_equal(c[0].tp, 4);
    assert_int_equal(c[0].fp, 1);
    assert_int_equal(c[0].fn, 4);
    assert_int_equal(c[2].fp, 1);
    assert_int_equal(c[3].tn, 12);
    double d[4], iou[4];
    assert_int_equal(medcl_metric_dice(ref, pred, sh, 4, MEDCL_EMPTY_NAN, d), MEDCL_OK);
    assert_int_equal(medcl_metric_iou(ref, pred, sh, 4, MEDCL_EMPTY_NAN, iou), MEDCL_OK);
    assert_true(fabs(d[1] - 6.0 / 10.0) < 1e-15);
    assert_true(fabs(iou[1] - 3.0 / 7.0) < 1e-15);
    assert_true(d[2] == 0.0 && iou[2] == 0.0); /* empty reference, non-empty prediction */
    assert_true(isnan(d[3]) && isnan(iou[3]));
    assert_int_equal(medcl_metric_dice(ref, pred, sh, 4, MEDCL_EMPTY_ONE, d), MEDCL_OK);
    assert_int_equal(medcl_metric_iou(ref, pred, sh, 4, MEDCL_EMPTY_ONE, iou), MEDCL_OK);
    assert_true(d[3] == 1.0 && iou[3] == 1.0 && d[2] == 0.0);
    double one;
    assert_int_equal(medcl_metric_dice_from_counts(&c[1], MEDCL_EMPTY_NAN, &one), MEDCL_OK);
    assert_true(fabs(one - 0.6) < 1e-15);
}

static void test_random_vs_direct(void **state)
{
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    for (int trial = 0; trial < 20; trial++) {
        int64_t sh[3] = {tu_int(&r, 1, 6), tu_int(&r, 1, 9), tu_int(&r, 1, 9)};
        int64_t n = sh[0] * sh[1] * sh[2];
        int32_t k = tu_int(&r, 1, 5);
        int32_t *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4);
        for (int64_t i = 0; i < n; i++) a[i] = tu_int(&r, 0, k - 1), b[i] = tu_int(&r, 0, k - 1);
        double *d = malloc((size_t)k * sizeof(double));
        assert_int_equal(medcl_metric_dice(a, b, sh, k, MEDCL_EMPTY_NAN, d), MEDCL_OK);
        for (int32_t c = 0; c < k; c++) {
            int64_t inter = 0, sa = 0, sb = 0;
            for (int64_t i = 0; i < n; i++) {
                inter += a[i] == c && b[i] == c;
                sa += a[i] == c;
                sb += b[i] == c;
            }
            if (sa + sb == 0) assert_true(isnan(d[c]));
            else assert_true(fabs(d[c] - 2.0 * (double)inter / (double)(sa + sb)) < 1e-15);
        }
        free(a);
        free(b);
        free(d);
    }
}

static void test_aggregation(void **state)
{
    (void)state;
    /* 3 cases x 3 classes */
    const double v[9] = {0.9, 0.5, NAN, 0.7, NAN, NAN, 0.8, 0.3, NAN};
    double mean[3];
    int64_t cnt[3];
    assert_int_equal(medcl_metrics_nanmean(v, 3, 3, mean, cnt), MEDCL_OK);
    assert_true(fabs(mean[0] - 0.8) < 1e-15 && fabs(mean[1] - 0.4) < 1e-15 && isnan(mean[2]));
    assert_true(cnt[0] == 3 && cnt[1] == 2 && cnt[2] == 0);
    double fg;
    const double pc[3] = {0.99, 0.6, 0.8};
    assert_int_equal(medcl_metrics_foreground_mean(pc, 3, &fg), MEDCL_OK);
    assert_true(fabs(fg - 0.7) < 1e-15);
    assert_int_equal(medcl_metrics_foreground_mean(mean, 3, &fg), MEDCL_OK);
    assert_true(isnan(fg)); /* nnU-Net: np.mean propagates an all-NaN class */
}

static void expect_error(medcl_status got, medcl_status want, const char *needle)
{
    assert_int_equal(got, want);
    if (!strstr(medcl_last_error(), needle))
        fail_msg("error \"%s\" does not name \"%s\"", medcl_last_error(), needle);
}

static void test_overlap_bad_input(void **state)
{
    (void)state;
    int32_t a[6] = {0, 1, 0, 1, 0, 1}, b[6] = {0, 1, 3, 1, 0, 1};
    int64_t sh[3] = {1, 2, 3};
    double d[3];
    medcl_overlap_counts c[3];
    expect_error(medcl_metric_counts(a, b, sh, 3, c), MEDCL_ERR_INVALID_ARG, "pred[2]=3");
    b[2] = 0;
    a[4] = -2;
    expect_error(medcl_metric_dice(a, b, sh, 3, MEDCL_EMPTY_NAN, d), MEDCL_ERR_INVALID_ARG, "ref[4]=-2");
    a[4] = 0;
    expect_error(medcl_metric_dice(a, b, sh, 3, (medcl_empty_mode)5, d), MEDCL_ERR_INVALID_ARG, "mode=5");
    expect_error(medcl_metric_iou(a, b, sh, 0, MEDCL_EMPTY_NAN, d), MEDCL_ERR_INVALID_ARG, "num_classes=0");
    expect_error(medcl_metric_counts(NULL, b, sh, 3, c), MEDCL_ERR_INVALID_ARG, "ref is NULL");
    expect_error(medcl_metric_dice(a, b, sh, 3, MEDCL_EMPTY_NAN, NULL), MEDCL_ERR_INVALID_ARG, "out is NULL");
    int64_t bad[3] = {1, -1, 3};
    expect_error(medcl_metric_counts(a, b, bad, 3, c), MEDCL_ERR_SHAPE, "shape[1]=-1");
    expect_error(medcl_metrics_foreground_mean(d, 1, d), MEDCL_ERR_INVALID_ARG, "num_classes=1");
    expect_error(medcl_metrics_nanmean(d, -1, 3, d, NULL), MEDCL_ERR_INVALID_ARG, "num_cases=-1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_dice_hand),
        cmocka_unit_test(test_random_vs_direct),
        cmocka_unit_test(test_aggregation),
        cmocka_unit_test(test_overlap_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
