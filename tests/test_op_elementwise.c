/* tests/test_op_elementwise.c — fill, copy, add, mul, scale, axpy against host references at
 * sizes that are not multiples of the work-group size, on views with offsets, and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const int64_t sizes[] = {1, 7, 63, 65, 1000, 4099, 100003};

static void check_exact(const float *got, const float *want, int64_t n, const char *what) {
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&got[i], &want[i], sizeof(float)) != 0)
            fail_msg("%s: element %lld = %.9g, expected %.9g", what, (long long)i, got[i], want[i]);
}

static void test_binary_and_unary(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t n = sizes[s];
        float *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4), *want = malloc((size_t)n * 4);
        tu_fill_normal(&r, a, (size_t)n);
        tu_fill_normal(&r, b, (size_t)n);
        medcl_tensor *ta = td_tensor(1, &n, a, "a"), *tb = td_tensor(1, &n, b, "b");
        medcl_tensor *ty = td_tensor(1, &n, NULL, "y");
        float alpha = (float)tu_normal(&r);

        assert_int_equal(medcl_add(ta, tb, ty), MEDCL_OK);
        float *got = td_download(ty);
        for (int64_t i = 0; i < n; i++) want[i] = a[i] + b[i];
        check_exact(got, want, n, "add");
        free(got);

        td_poison(ty);
        assert_int_equal(medcl_mul(ta, tb, ty), MEDCL_OK);
        got = td_download(ty);
        for (int64_t i = 0; i < n; i++) want[i] = a[i] * b[i];
        check_exact(got, want, n, "mul");
        free(got);

        td_poison(ty);
        assert_int_equal(medcl_scale(ta, alpha, ty), MEDCL_OK);
        got = td_download(ty);
        for (int64_t i = 0; i < n; i++) want[i] = alpha * a[i];
        check_exact(got, want, n, "scale");
        free(got);

        assert_int_equal(medcl_copy(ty, tb), MEDCL_OK);
        assert_int_equal(medcl_axpy(alpha, ta, ty), MEDCL_OK);
        got = td_download(ty);
        for (int64_t i = 0; i < n; i++) {
            float p = alpha * a[i];
            want[i] = b[i] + p;
        }
        check_exact(got, want, n, "axpy");
        free(got);

        assert_int_equal(medcl_fill(ty, 3.25f), MEDCL_OK);
        got = td_download(ty);
        for (int64_t i = 0; i < n; i++) want[i] = 3.25f;
        check_exact(got, want, n, "fill");
        free(got);

        medcl_tensor_destroy(ta);
        medcl_tensor_destroy(tb);
        medcl_tensor_destroy(ty);
        free(a);
        free(b);
        free(want);
    }
}

/* Ops on views along N touch only the view's elements. */
static void test_views(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 1);
    int64_t shape[2] = {5, 37};
    float a[5 * 37], y0[5 * 37];
    tu_fill_normal(&r, a, 5 * 37);
    tu_fill_normal(&r, y0, 5 * 37);
    medcl_tensor *ta = td_tensor(2, shape, a, "a"), *ty = td_tensor(2, shape, y0, "y");
    medcl_tensor *va = NULL, *vy = NULL;
    assert_int_equal(medcl_tensor_view_n(ta, 1, 3, &va), MEDCL_OK);
    assert_int_equal(medcl_tensor_view_n(ty, 2, 3, &vy), MEDCL_OK);
    assert_int_equal(medcl_scale(va, 2.0f, vy), MEDCL_OK);
    float *got = td_download(ty);
    for (int i = 0; i < 5 * 37; i++) {
        float want = (i >= 2 * 37) ? 2.0f * a[i - 37] : y0[i];
        assert_true(memcmp(&got[i], &want, 4) == 0);
    }
    free(got);
    medcl_tensor_destroy(va);
    medcl_tensor_destroy(vy);
    medcl_tensor_destroy(ta);
    medcl_tensor_destroy(ty);
}

static void test_bad_input(void **state) {
    (void)state;
    int64_t n1 = 10, n2 = 11;
    medcl_tensor *a = td_tensor(1, &n1, NULL, "alpha"), *b = td_tensor(1, &n2, NULL, "beta");
    assert_int_equal(medcl_add(a, b, a), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "beta"));
    assert_non_null(strstr(medcl_last_error(), "11"));
    assert_int_equal(medcl_add(a, NULL, a), MEDCL_ERR_INVALID_ARG);
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.dtype = MEDCL_DTYPE_I32;
    d.ndim = 1;
    d.shape[0] = 10;
    d.name = "ints";
    medcl_tensor *ti = NULL;
    assert_int_equal(medcl_tensor_create(td_ctx(), &d, &ti), MEDCL_OK);
    assert_int_equal(medcl_scale(ti, 2.0f, a), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "ints"));
    medcl_tensor_destroy(ti);
    medcl_tensor_destroy(a);
    medcl_tensor_destroy(b);
}

/* Labels to i32 with nearest (floor-rule) down-sampling: every element against the host. */
static void test_labels_to_i32(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 3);
    int64_t xs[5] = {2, 1, 7, 9, 13}, ys[5] = {2, 1, 3, 4, 13};
    float x[2 * 7 * 9 * 13];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = (float)tu_int(&r, 0, 1000);
    medcl_tensor *tx = td_tensor(5, xs, x, "labels");
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.dtype = MEDCL_DTYPE_I32;
    d.ndim = 5;
    memcpy(d.shape, ys, sizeof ys);
    d.name = "targets";
    medcl_tensor *ty = NULL;
    assert_int_equal(medcl_tensor_create(td_ctx(), &d, &ty), MEDCL_OK);
    assert_int_equal(medcl_tensor_fill(ty, -1), MEDCL_OK);
    assert_int_equal(medcl_labels_to_i32(tx, ty), MEDCL_OK);
    int32_t y[2 * 3 * 4 * 13];
    assert_int_equal(medcl_tensor_download(ty, y, sizeof y), MEDCL_OK);
    int64_t q = 0;
    for (int64_t s = 0; s < 2; s++)
        for (int64_t z = 0; z < 3; z++)
            for (int64_t h = 0; h < 4; h++)
                for (int64_t w = 0; w < 13; w++, q++) {
                    int64_t sz = z * 7 / 3, sh = h * 9 / 4, sw = w;
                    assert_int_equal(y[q], (int32_t)x[((s * 7 + sz) * 9 + sh) * 13 + sw]);
                }
    /* a larger output is refused with the axis and sizes */
    int64_t big[5] = {2, 1, 8, 9, 13};
    memcpy(d.shape, big, sizeof big);
    medcl_tensor *tb = NULL;
    assert_int_equal(medcl_tensor_create(td_ctx(), &d, &tb), MEDCL_OK);
    assert_int_equal(medcl_labels_to_i32(tx, tb), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "D = 8"));
    medcl_tensor_destroy(tb);
    medcl_tensor_destroy(ty);
    medcl_tensor_destroy(tx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_and_unary),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_labels_to_i32),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
