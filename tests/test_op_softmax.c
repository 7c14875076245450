/* tests/test_op_softmax.c — softmax and log-softmax over channels, forward and backward,
 * against tests/ref/ref_act.c on N(0,1) inputs (exp is not exact, so there is no integer
 * tier), on inputs far from 0 (max subtraction), in place, the reference backward against
 * central differences, and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/ops_act.h"
#include "ref/ref_act.h"
#include "testutil.h"

static const int64_t shapes[][5] = {{7, 13}, {3, 5, 67}, {2, 4, 9, 11}, {2, 3, 3, 7, 11}, {5, 1, 17}};
static const int ranks[] = {2, 3, 4, 5, 3};

static void run_case(tu_rng *r, int rank, const int64_t *shape, bool log_out, double scale,
                     double offset) {
    int64_t n = 1;
    for (int k = 0; k < rank; k++) n *= shape[k];
    int64_t N = shape[0], C = shape[1], S = n / (N * C);
    float *x = malloc((size_t)n * 4), *dy = malloc((size_t)n * 4), *yf = malloc((size_t)n * 4);
    tu_fill_normal(r, x, (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = (float)(x[i] * scale + offset);
    tu_fill_normal(r, dy, (size_t)n);
    double *xd = ref_to_double(x, (size_t)n), *dyd = ref_to_double(dy, (size_t)n);
    double *want = malloc((size_t)n * sizeof *want);
    medcl_tensor *tx = td_tensor(rank, shape, x, "x"), *ty = td_tensor(rank, shape, NULL, "y");
    medcl_tensor *tdy = td_tensor(rank, shape, dy, "dy"), *tdx = td_tensor(rank, shape, NULL, "dx");
    medcl_softmax_params p = MEDCL_SOFTMAX_PARAMS_INIT;
    p.log = log_out;
    char what[96];
    snprintf(what, sizeof what, "%s fwd rank %d (C=%lld, x*%g%+g)", log_out ? "log_softmax" : "softmax",
             rank, (long long)C, scale, offset);
    assert_int_equal(medcl_softmax_forward(&p, tx, ty), MEDCL_OK);
    float *got = td_download(ty);
    ref_softmax_forward(log_out, xd, N, C, S, want);
    /* C = 1: softmax is all ones, log-softmax all zeros (exactly) */
    if (C == 1 && log_out) {
        for (int64_t i = 0; i < n; i++) assert_true(got[i] == 0.0f);
    } else {
        tu_expect_close(got, want, n, 1e-6, 1e-5 * (log_out ? 1 + fabs(offset) + 10 * scale : 1), what);
    }
    free(got);
    /* backward from the reference forward output (rounded to float) */
    for (int64_t i = 0; i < n; i++) yf[i] = (float)want[i];
    double *yd = ref_to_double(yf, (size_t)n);
    assert_int_equal(medcl_tensor_upload(ty, yf, (size_t)n * 4), MEDCL_OK);
    assert_int_equal(medcl_softmax_backward(&p, ty, tdy, tdx), MEDCL_OK);
    got = td_download(tdx);
    ref_softmax_backward(log_out, yd, dyd, N, C, S, want);
    snprintf(what, sizeof what, "%s bwd rank %d (C=%lld)", log_out ? "log_softmax" : "softmax", rank,
             (long long)C);
    if (C == 1) { /* dx = 0 for both */
        for (int64_t i = 0; i < n; i++) assert_true(got[i] == 0.0f);
    } else {
        tu_expect_close(got, want, n, 1e-6, 1e-5, what);
    }
    free(got);
    /* in place: x -> x, dy -> dy */
    assert_int_equal(medcl_softmax_forward(&p, tx, tx), MEDCL_OK);
    float *a = td_download(tx);
    assert_int_equal(medcl_tensor_upload(tx, x, (size_t)n * 4), MEDCL_OK);
    assert_int_equal(medcl_softmax_forward(&p, tx, ty), MEDCL_OK);
    float *b = td_download(ty);
    assert_memory_equal(a, b, (size_t)n * 4);
    free(a);
    free(b);
    assert_int_equal(medcl_softmax_backward(&p, ty, tdy, tdy), MEDCL_OK);
    a = td_download(tdy);
    assert_int_equal(medcl_softmax_backward(&p, ty, tdx, tdx), MEDCL_OK); /* just runs */
    assert_int_equal(medcl_tensor_upload(tdy, dy, (size_t)n * 4), MEDCL_OK);
    assert_int_equal(medcl_softmax_backward(&p, ty, tdy, tdx), MEDCL_OK);
    b = td_download(tdx);
    assert_memory_equal(a, b, (size_t)n * 4);
    free(a);
    free(b);
    medcl_tensor_destroy(tx);
    medcl_tensor_destroy(ty);
    medcl_tensor_destroy(tdy);
    medcl_tensor_destroy(tdx);
    free(x);
    free(dy);
    free(yf);
    free(xd);
    free(dyd);
    free(yd);
    free(want);
}

static void test_softmax_normal(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 21);
    for (int lg = 0; lg < 2; lg++)
        for (size_t s = 0; s < sizeof ranks / sizeof ranks[0]; s++)
            run_case(&r, ranks[s], shapes[s], lg, 1.0, 0.0);
}

/* Far from 0 (exp would overflow without the max subtraction) and with large spreads. */
static void test_softmax_stable(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 22);
    for (int lg = 0; lg < 2; lg++) {
        run_case(&r, ranks[1], shapes[1], lg, 3.0, 1000.0);
        run_case(&r, ranks[3], shapes[3], lg, 10.0, -500.0);
    }
    /* softmax rows sum to 1 */
    int64_t shape[3] = {3, 9, 31}, n = 3 * 9 * 31;
    float x[3 * 9 * 31];
    tu_fill_normal(&r, x, (size_t)n);
    medcl_tensor *tx = td_tensor(3, shape, x, "x"), *ty = td_tensor(3, shape, NULL, "y");
    assert_int_equal(medcl_softmax_forward(NULL, tx, ty), MEDCL_OK);
    float *y = td_download(ty);
    double worst = 0;
    for (int64_t nn = 0; nn < 3; nn++)
        for (int64_t s = 0; s < 31; s++) {
            double sum = 0;
            for (int64_t c = 0; c < 9; c++) sum += y[(nn * 9 + c) * 31 + s];
            if (fabs(sum - 1) > worst) worst = fabs(sum - 1);
        }
    print_message("  softmax: largest |sum - 1| %.2e\n", worst);
    assert_true(worst < 1e-6);
    free(y);
    medcl_tensor_destroy(tx);
    medcl_tensor_destroy(ty);
}

typedef struct {
    bool log_out;
    int64_t N, C, S;
} sm_ctx;

static void sm_fn(const double *x, double *y, void *c) {
    sm_ctx *s = c;
    ref_softmax_forward(s->log_out, x, s->N, s->C, s->S, y);
}

static void test_softmax_gradcheck(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 23);
    enum { N = 2, C = 5, S = 7, NE = N * C * S };
    double x[NE], y[NE], dy[NE], dx[NE];
    for (int lg = 0; lg < 2; lg++) {
        for (int i = 0; i < NE; i++) {
            x[i] = 2 * tu_normal(&r);
            dy[i] = tu_normal(&r);
        }
        sm_ctx c = {lg, N, C, S};
        ref_softmax_forward(lg, x, N, C, S, y);
        ref_softmax_backward(lg, y, dy, N, C, S, dx);
        double worst = 0;
        for (int t = 0; t < 10; t++) {
            size_t i = (size_t)tu_int(&r, 0, NE - 1);
            double fd = ref_fd_grad(sm_fn, &c, x, NE, dy, i, 1e-6);
            double e = fabs(fd - dx[i]) / (1 + fabs(dx[i]));
            if (e > worst) worst = e;
        }
        print_message("  %s reference backward vs central differences: %.2e\n",
                      lg ? "log_softmax" : "softmax", worst);
        assert_true(worst < 1e-7);
    }
}

static void test_bad_input(void **state) {
    (void)state;
    int64_t s1 = 12, s2[2] = {3, 4}, s3[2] = {4, 3};
    medcl_tensor *v = td_tensor(1, &s1, NULL, "vec"), *a = td_tensor(2, s2, NULL, "a34");
    medcl_tensor *b = td_tensor(2, s3, NULL, "b43");
    assert_int_equal(medcl_softmax_forward(NULL, v, v), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "vec"));
    assert_int_equal(medcl_softmax_forward(NULL, a, b), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "b43"));
    assert_int_equal(medcl_softmax_backward(NULL, a, a, b), MEDCL_ERR_SHAPE);
    assert_int_equal(medcl_softmax_backward(NULL, a, NULL, a), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "dy"));
    medcl_softmax_params p = MEDCL_SOFTMAX_PARAMS_INIT;
    p.size = 1;
    assert_int_equal(medcl_softmax_forward(&p, a, a), MEDCL_ERR_INVALID_ARG);
    medcl_tensor_destroy(v);
    medcl_tensor_destroy(a);
    medcl_tensor_destroy(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax_normal),
        cmocka_unit_test(test_softmax_stable),
        cmocka_unit_test(test_softmax_gradcheck),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
