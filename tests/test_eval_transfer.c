/* tests/test_eval_transfer.c — continual-learning transfer metrics (medcl/transfer.h) against
 * matrices computed by hand: average per stage (all and seen domains), BWT, FWT (Lopez-Paz &
 * Ranzato 2017), forgetting; T = 1, no baseline, NaN propagation, bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "medcl/transfer.h"

#define TOL 1e-12

static void test_hand_matrix(void **state) {
    (void)state;
    /* rows: after stage i; columns: domain j */
    const double R[9] = {0.80, 0.30, 0.20,
                         0.70, 0.85, 0.40,
                         0.60, 0.75, 0.90};
    const double b[3] = {0.10, 0.20, 0.15};
    double all[3], seen[3];
    medcl_transfer_metrics m = MEDCL_TRANSFER_METRICS_INIT;
    assert_int_equal(medcl_transfer_compute(R, 3, b, &m, all, seen), MEDCL_OK);
    /* by hand: rows sum to 1.30, 1.95, 2.25 */
    assert_true(fabs(all[0] - 1.30 / 3) < TOL && fabs(all[1] - 0.65) < TOL && fabs(all[2] - 0.75) < TOL);
    assert_true(fabs(seen[0] - 0.80) < TOL && fabs(seen[1] - 0.775) < TOL && fabs(seen[2] - 0.75) < TOL);
    assert_true(fabs(m.acc - 0.75) < TOL);
    /* BWT = ((0.60 - 0.80) + (0.75 - 0.85)) / 2 = -0.15 */
    assert_true(fabs(m.bwt - -0.15) < TOL);
    /* FWT = ((0.30 - 0.20) + (0.40 - 0.15)) / 2 = 0.175 */
    assert_true(fabs(m.fwt - 0.175) < TOL);
    /* forgetting = ((0.80 - 0.60) + (0.85 - 0.75)) / 2 = 0.15 */
    assert_true(fabs(m.forgetting - 0.15) < TOL);
}

/* Four stages, integer-valued entries (exact in double): a domain improved later gives positive
 * backward transfer; a peak reached before the diagonal counts for forgetting. */
static void test_hand_matrix_4(void **state) {
    (void)state;
    const double R[16] = {50, 10, 20, 30,
                          40, 60, 30, 20,
                          45, 70, 80, 50,
                          55, 50, 70, 90};
    const double b[4] = {5, 10, 10, 20};
    medcl_transfer_metrics m = MEDCL_TRANSFER_METRICS_INIT;
    double all[4], seen[4];
    assert_int_equal(medcl_transfer_compute(R, 4, b, &m, all, seen), MEDCL_OK);
    /* BWT = ((55-50) + (50-60) + (70-80)) / 3 = -15/3 = -5 */
    assert_true(fabs(m.bwt - -5.0) < TOL);
    /* FWT = ((10-10) + (30-10) + (50-20)) / 3 = 50/3 */
    assert_true(fabs(m.fwt - 50.0 / 3.0) < TOL);
    /* forgetting: d0 max(50,40,45)=50 → -5; d1 max(10,60,70)=70 → 20; d2 max(20,30,80)=80 → 10: 25/3 */
    assert_true(fabs(m.forgetting - 25.0 / 3.0) < TOL);
    assert_true(fabs(all[1] - 37.5) < TOL && fabs(seen[2] - 65.0) < TOL && fabs(m.acc - 66.25) < TOL);
}

static void test_edge_cases(void **state) {
    (void)state;
    medcl_transfer_metrics m = MEDCL_TRANSFER_METRICS_INIT;
    const double one = 0.5;
    assert_int_equal(medcl_transfer_compute(&one, 1, NULL, &m, NULL, NULL), MEDCL_OK);
    assert_true(m.acc == 0.5 && isnan(m.bwt) && isnan(m.fwt) && isnan(m.forgetting));
    const double R[4] = {1, 2, 3, 4};
    assert_int_equal(medcl_transfer_compute(R, 2, NULL, &m, NULL, NULL), MEDCL_OK);
    assert_true(isnan(m.fwt) && fabs(m.bwt - 2.0) < TOL);
    const double Rn[4] = {NAN, 2, 3, 4};
    assert_int_equal(medcl_transfer_compute(Rn, 2, NULL, &m, NULL, NULL), MEDCL_OK);
    assert_true(isnan(m.bwt) && isnan(m.forgetting) && m.acc == 3.5);
    assert_int_equal(medcl_transfer_compute(R, 0, NULL, &m, NULL, NULL), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "T = 0"));
    assert_int_equal(medcl_transfer_compute(NULL, 2, NULL, &m, NULL, NULL), MEDCL_ERR_INVALID_ARG);
    medcl_transfer_metrics bad = MEDCL_TRANSFER_METRICS_INIT;
    bad.size = 3;
    assert_int_equal(medcl_transfer_compute(R, 2, NULL, &bad, NULL, NULL), MEDCL_ERR_INVALID_ARG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_matrix),
        cmocka_unit_test(test_hand_matrix_4),
        cmocka_unit_test(test_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
