/* tests/test_op_reduce.c — sum, mean, max, min and the non-finite count against float64 host
 * references at sizes that are not multiples of the work-group size; exact on small integers;
 * bitwise reproducible run to run; NaN propagation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const int64_t sizes[] = {1, 3, 255, 257, 1023, 4099, 65537, 1000003};

static void test_against_host(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t n = sizes[s];
        float *x = malloc((size_t)n * 4);
        tu_fill_normal(&r, x, (size_t)n);
        medcl_tensor *t = td_tensor(1, &n, x, "x");
        double sum = 0, mx = -INFINITY, mn = INFINITY, asum = 0;
        for (int64_t i = 0; i < n; i++) {
            sum += x[i];
            asum += fabs(x[i]);
            mx = fmax(mx, x[i]);
            mn = fmin(mn, x[i]);
        }
        double v;
        assert_int_equal(medcl_reduce_to_host(t, MEDCL_REDUCE_SUM, &v), MEDCL_OK);
        /* float accumulation error bound relative to sum |x| */
        if (fabs(v - sum) > 1e-6 * asum + 1e-6) fail_msg("sum n=%lld: %.9g vs %.9g", (long long)n, v, sum);
        assert_int_equal(medcl_reduce_to_host(t, MEDCL_REDUCE_MEAN, &v), MEDCL_OK);
        if (fabs(v - sum / n) > (1e-6 * asum + 1e-6) / n) fail_msg("mean n=%lld", (long long)n);
        assert_int_equal(medcl_reduce_to_host(t, MEDCL_REDUCE_MAX, &v), MEDCL_OK);
        assert_true(v == mx);
        assert_int_equal(medcl_reduce_to_host(t, MEDCL_REDUCE_MIN, &v), MEDCL_OK);
        assert_true(v == mn);
        assert_int_equal(medcl_reduce_to_host(t, MEDCL_REDUCE_NONFINITE, &v), MEDCL_OK);
        assert_true(v == 0);
        medcl_tensor_destroy(t);
        free(x);
    }
}

/* Small integers: every partial sum is an exactly representable integer, so the sum is exact. */
static void test_integer_exact(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 5);
    int64_t n = 1000003;
    float *x = malloc((size_t)n * 4);
    tu_fill_int(&r, x, (size_t)n, -8, 8);
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += x[i];
    medcl_tensor *t = td_tensor(1, &n, x, "x");
    double v;
    assert_int_equal(medcl_reduce_to_host(t, MEDCL_REDUCE_SUM, &v), MEDCL_OK);
    assert_true(v == sum);
    medcl_tensor_destroy(t);
    free(x);
}

static void test_deterministic(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 9);
    int64_t n = 777777;
    float *x = malloc((size_t)n * 4);
    tu_fill_normal(&r, x, (size_t)n);
    medcl_tensor *t = td_tensor(1, &n, x, "x");
    double first = 0;
    for (int i = 0; i < 5; i++) {
        double v;
        assert_int_equal(medcl_reduce_to_host(t, MEDCL_REDUCE_SUM, &v), MEDCL_OK);
        if (i == 0) first = v;
        assert_memory_equal(&v, &first, sizeof v);
    }
    medcl_tensor_destroy(t);
    free(x);
}

static void test_nonfinite(void **state) {
    (void)state;
    int64_t n = 5003;
    float *x = malloc((size_t)n * 4);
    tu_rng r = tu_rng_make(tu_seed() + 2);
    tu_fill_normal(&r, x, (size_t)n);
    x[0] = NAN;
    x[17] = INFINITY;
    x[4000] = -INFINITY;
    x[5002] = NAN;
    medcl_tensor *t = td_tensor(1, &n, x, "x");
    double v;
    assert_int_equal(medcl_reduce_to_host(t, MEDCL_REDUCE_NONFINITE, &v), MEDCL_OK);
    assert_true(v == 4);
    assert_int_equal(medcl_reduce_to_host(t, MEDCL_REDUCE_MAX, &v), MEDCL_OK);
    assert_true(isnan(v));
    assert_int_equal(medcl_reduce_to_host(t, MEDCL_REDUCE_MIN, &v), MEDCL_OK);
    assert_true(isnan(v));
    medcl_tensor_destroy(t);
    free(x);
}

static void test_bad_output(void **state) {
    (void)state;
    int64_t n = 10, two = 2;
    medcl_tensor *x = td_tensor(1, &n, NULL, "x"), *y = td_tensor(1, &two, NULL, "result2");
    assert_int_equal(medcl_reduce_sum(x, y), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "result2"));
    medcl_tensor_destroy(x);
    medcl_tensor_destroy(y);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_host), cmocka_unit_test(test_integer_exact),
        cmocka_unit_test(test_deterministic), cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_bad_output),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
