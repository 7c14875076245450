/* tests/test_eval_metrics_class.c — hand-checked classification, calibration and bootstrap:
 * confusion-matrix statistics of a small example, ROC AUC against O(n²) pair counting with
 * ties, ECE/Brier/NLL by hand (including a confidence on a bin edge), the bootstrap's
 * determinism, NaN handling and interval width, and bad input. scikit-learn goldens are in
 * test_eval_metrics_golden.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/metrics.h"
#include "testutil.h"

static void test_confusion_hand(void **state)
{
    (void)state;
    const int32_t y[8] = {0, 0, 0, 1, 1, 2, 2, 2};
    const int32_t p[8] = {0, 0, 1, 1, 2, 2, 2, 0};
    int64_t cm[9];
    assert_int_equal(medcl_confusion_matrix(y, p, 8, 3, cm), MEDCL_OK);
    const int64_t want[9] = {2, 1, 0, 0, 1, 1, 1, 0, 2};
    for (int i = 0; i < 9; i++) assert_int_equal(cm[i], want[i]);
    medcl_class_stats s[3];
    medcl_class_summary sum;
    assert_int_equal(medcl_metrics_classification(cm, 3, s, &sum), MEDCL_OK);
    /* class 0: tp 2, fn 1, fp 1, tn 4 */
    assert_int_equal(s[0].tn, 4);
    assert_true(fabs(s[0].sensitivity - 2.0 / 3.0) < 1e-15);
    assert_true(fabs(s[0].specificity - 4.0 / 5.0) < 1e-15);
    assert_true(fabs(s[0].precision - 2.0 / 3.0) < 1e-15);
    assert_true(fabs(s[0].f1 - 4.0 / 6.0) < 1e-15);
    assert_true(fabs(sum.accuracy - 5.0 / 8.0) < 1e-15);
    assert_true(fabs(sum.balanced_accuracy - (2.0 / 3.0 + 0.5 + 2.0 / 3.0) / 3.0) < 1e-15);
    /* a class never true nor predicted: NaN ratios, left out of the balanced accuracy */
    int64_t cm2[9] = {3, 1, 0, 2, 4, 0, 0, 0, 0};
    assert_int_equal(medcl_metrics_classification(cm2, 3, s, &sum), MEDCL_OK);
    assert_true(isnan(s[2].sensitivity) && isnan(s[2].precision) && isnan(s[2].f1));
    assert_true(fabs(sum.balanced_accuracy - (0.75 + 4.0 / 6.0) / 2.0) < 1e-15);
}

static void test_auc_pair_counting(void **state)
{
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    for (int trial = 0; trial < 30; trial++) {
        int64_t n = tu_int(&r, 2, 80);
        float *s = malloc((size_t)n * sizeof(float));
        uint8_t *pos = malloc((size_t)n);
        for (int64_t i = 0; i < n; i++) {
            pos[i] = tu_uniform(&r) < 0.4;
            s[i] = (float)tu_int(&r, 0, 6) / 6.0f + (pos[i] ? 0.1f : 0.0f) * (float)tu_int(&r, 0, 1);
        }
        double pairs = 0, npos = 0, nneg = 0;
        for (int64_t i = 0; i < n; i++) {
            npos += pos[i];
            nneg += !pos[i];
            if (!pos[i]) continue;
            for (int64_t j = 0; j < n; j++) {
                if (pos[j]) continue;
                pairs += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
            }
        }
        double auc = -1;
        assert_int_equal(medcl_metric_roc_auc(s, pos, n, &auc), MEDCL_OK);
        if (npos == 0 || nneg == 0) assert_true(isnan(auc));
        else assert_true(fabs(auc - pairs / (npos * nneg)) < 1e-12);
        free(s);
        free(pos);
    }
}

static void test_calibration_hand(void **state)
{
    (void)state;
    /* max probs 0.5 (on the edge: bin (0.4, 0.5]), 0.875 (bin (0.8, 0.9]), 0.75 ((0.7, 0.8]) */
    const float p[6] = {0.5f, 0.5f, 0.125f, 0.875f, 0.75f, 0.25f};
    const int32_t y[3] = {0, 1, 1};
    medcl_calibration c;
    assert_int_equal(medcl_metrics_calibration(p, y, 3, 2, 10, &c), MEDCL_OK);
    /* argmax: 0 (first max on the tie), 1, 0 → correct 1, 1, 0 */
    double ece = (1 * fabs(1.0 - 0.5) + 1 * fabs(1.0 - 0.875) + 1 * fabs(0.0 - 0.75)) / 3.0;
    double brier = ((0.25 + 0.25) + (0.015625 + 0.015625) + (0.5625 + 0.5625)) / 3.0;
    double nll = -(log(0.5) + log(0.875) + log(0.25)) / 3.0;
    assert_true(fabs(c.ece - ece) < 1e-15);
    assert_true(fabs(c.brier - brier) < 1e-15);
    assert_true(fabs(c.nll - nll) < 1e-15);
    /* one bin: everything pooled */
    assert_int_equal(medcl_metrics_calibration(p, y, 3, 2, 1, &c), MEDCL_OK);
    assert_true(fabs(c.ece - fabs(2.0 / 3.0 - (0.5 + 0.875 + 0.75) / 3.0)) < 1e-15);
    /* p_y = 0 is clipped at 1e-15 */
    const float q[2] = {1.0f, 0.0f};
    const int32_t y1[1] = {1};
    assert_int_equal(medcl_metrics_calibration(q, y1, 1, 2, 10, &c), MEDCL_OK);
    assert_true(fabs(c.nll + log(1e-15)) < 1e-12);
}

static void test_bootstrap(void **state)
{
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    enum { N = 400 };
    double v[N + 3];
    double s = 0, s2 = 0;
    for (int i = 0; i < N; i++) {
        v[i] = 0.7 + 0.1 * tu_normal(&r);
        s += v[i];
        s2 += v[i] * v[i];
    }
    v[N] = v[N + 1] = v[N + 2] = NAN;
    medcl_bootstrap_options o = MEDCL_BOOTSTRAP_OPTIONS_INIT;
    o.seed = 1234;
    medcl_ci a, b, c;
    assert_int_equal(medcl_bootstrap_ci(v, N + 3, &o, &a), MEDCL_OK);
    assert_int_equal(medcl_bootstrap_ci(v, N + 3, &o, &b), MEDCL_OK);
    assert_true(a.lower == b.lower && a.upper == b.upper); /* same seed, same interval */
    assert_int_equal(a.num_used, N);
    assert_int_equal(a.num_ignored, 3);
    assert_true(fabs(a.estimate - s / N) < 1e-12);
    assert_true(a.lower < a.estimate && a.estimate < a.upper);
    /* width ≈ 2·1.96·sd/√n for a mean; 1000 resamples keep it within ±15% */
    double sd = sqrt((s2 - s * s / N) / (N - 1)), want = 2 * 1.96 * sd / sqrt((double)N);
    assert_in_range((long)(1000 * (a.upper - a.lower) / want), 850, 1150);
    o.seed = 1235;
    assert_int_equal(medcl_bootstrap_ci(v, N + 3, &o, &c), MEDCL_OK);
    assert_true(c.lower != a.lower || c.upper != a.upper);
    /* NaN must not change the interval: same values without them, same draws */
    assert_int_equal(medcl_bootstrap_ci(v, N, &(medcl_bootstrap_options){sizeof(o), 1000, 0.95, 1234}, &c), MEDCL_OK);
    assert_true(c.lower == a.lower && c.upper == a.upper);
    /* constant values: a point interval; all NaN: NaN */
    double k[5] = {0.25, 0.25, 0.25, 0.25, 0.25};
    assert_int_equal(medcl_bootstrap_ci(k, 5, NULL, &c), MEDCL_OK);
    assert_true(c.lower == 0.25 && c.upper == 0.25 && c.estimate == 0.25);
    double nn[2] = {NAN, NAN};
    assert_int_equal(medcl_bootstrap_ci(nn, 2, NULL, &c), MEDCL_OK);
    assert_true(isnan(c.estimate) && isnan(c.lower) && c.num_used == 0 && c.num_ignored == 2);
}

static void expect_error(medcl_status got, medcl_status want, const char *needle)
{
    assert_int_equal(got, want);
    if (!strstr(medcl_last_error(), needle))
        fail_msg("error \"%s\" does not name \"%s\"", medcl_last_error(), needle);
}

static void test_class_bad_input(void **state)
{
    (void)state;
    int32_t y[3] = {0, 1, 2}, p[3] = {0, 1, 1};
    int64_t cm[9];
    float pr[6] = {0.5f, 0.5f, 0.2f, 0.8f, 0.6f, 0.4f};
    medcl_calibration cal;
    double auc, macro;
    expect_error(medcl_confusion_matrix(y, p, 3, 2, cm), MEDCL_ERR_INVALID_ARG, "y_true[2]=2");
    expect_error(medcl_confusion_matrix(y, NULL, 3, 3, cm), MEDCL_ERR_INVALID_ARG, "y_pred is NULL");
    cm[0] = -1;
    expect_error(medcl_metrics_classification(cm, 3, NULL, NULL), MEDCL_ERR_INVALID_ARG, "cm[0][0]=-1");
    y[2] = 1;
    pr[3] = NAN;
    expect_error(medcl_metrics_calibration(pr, y, 3, 2, 10, &cal), MEDCL_ERR_NUMERIC, "probs[3]=nan");
    pr[3] = 1.5f;
    expect_error(medcl_metrics_calibration(pr, y, 3, 2, 10, &cal), MEDCL_ERR_INVALID_ARG, "probs[3]=1.5");
    pr[3] = 0.8f;
    expect_error(medcl_metrics_calibration(pr, y, 3, 2, 0, &cal), MEDCL_ERR_INVALID_ARG, "num_bins=0");
    y[1] = 7;
    expect_error(medcl_metric_roc_auc_ovr(pr, y, 3, 2, NULL, &macro), MEDCL_ERR_INVALID_ARG, "labels[1]=7");
    float inf_s[2] = {INFINITY, 0.0f};
    uint8_t pos[2] = {1, 0};
    expect_error(medcl_metric_roc_auc(inf_s, pos, 2, &auc), MEDCL_ERR_NUMERIC, "score[0]=inf");
    double v[2] = {1, 2};
    medcl_ci ci;
    medcl_bootstrap_options o = MEDCL_BOOTSTRAP_OPTIONS_INIT;
    o.num_resamples = 0;
    expect_error(medcl_bootstrap_ci(v, 2, &o, &ci), MEDCL_ERR_INVALID_ARG, "opt->num_resamples=0");
    o = (medcl_bootstrap_options)MEDCL_BOOTSTRAP_OPTIONS_INIT;
    o.confidence = 1.0;
    expect_error(medcl_bootstrap_ci(v, 2, &o, &ci), MEDCL_ERR_INVALID_ARG, "opt->confidence=1");
    expect_error(medcl_bootstrap_ci(NULL, 2, NULL, &ci), MEDCL_ERR_INVALID_ARG, "values is NULL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confusion_hand),
        cmocka_unit_test(test_auc_pair_counting),
        cmocka_unit_test(test_calibration_hand),
        cmocka_unit_test(test_bootstrap),
        cmocka_unit_test(test_class_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
