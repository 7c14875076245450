/* tests/test_op_dropout.c — inverted dropout, element-wise and channel-wise, forward and
 * backward: the device mask equals the host computation with medcl_philox_at bit for bit
 * (tests/ref/ref_dropout.c), the backward pass regenerates the same mask, the keep rate
 * matches 1 - p, p = 0, evaluation mode and p = 1, a new step gives a new mask, in place, the
 * reference backward against central differences, and bad input. Dropout is one multiply per
 * element, so every comparison is bit-exact (no tolerance tier needed). */
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
#include "ref/ref_dropout.h"
#include "testutil.h"

static const int64_t shapes[][5] = {{1001}, {7, 13}, {3, 5, 67}, {2, 3, 9, 11}, {3, 5, 3, 7, 11}};
static const int ranks[] = {1, 2, 3, 4, 5};

static int64_t numel_of(int r, const int64_t *s) {
    int64_t n = 1;
    for (int k = 0; k < r; k++) n *= s[k];
    return n;
}

static void expect_bits(const float *got, const float *want, int64_t n, const char *what) {
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&got[i], &want[i], 4) != 0)
            fail_msg("%s: element %lld = %.9g, expected %.9g", what, (long long)i, got[i], want[i]);
}

static void test_mask_matches_host(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 61);
    const float ps[] = {0.1f, 0.5f, 0.9f, 0.3f};
    for (size_t si = 0; si < sizeof ranks / sizeof ranks[0]; si++) {
        int rank = ranks[si];
        int64_t n = numel_of(rank, shapes[si]);
        float *x = malloc((size_t)n * 4), *dy = malloc((size_t)n * 4), *want = malloc((size_t)n * 4);
        tu_fill_normal(&r, x, (size_t)n);
        tu_fill_normal(&r, dy, (size_t)n);
        medcl_tensor *tx = td_tensor(rank, shapes[si], x, "x"), *ty = td_tensor(rank, shapes[si], NULL, "y");
        medcl_tensor *tdy = td_tensor(rank, shapes[si], dy, "dy");
        for (int cw = 0; cw < 2; cw++) {
            if (cw && rank < 2) continue;
            int64_t S = cw ? n / (shapes[si][0] * shapes[si][1]) : 1;
            for (size_t pi = 0; pi < sizeof ps / sizeof ps[0]; pi++) {
                medcl_dropout_params p = MEDCL_DROPOUT_PARAMS_INIT;
                p.p = ps[pi];
                p.channelwise = cw;
                p.seed = tu_seed() ^ 0xD50F;
                p.stream = (uint32_t)(7 + pi);
                p.step = (uint32_t)(1000 + si);
                char what[96];
                snprintf(what, sizeof what, "dropout %s p=%.1f rank %d", cw ? "channel" : "element",
                         (double)p.p, rank);
                td_poison(ty);
                assert_int_equal(medcl_dropout_forward(&p, tx, ty), MEDCL_OK);
                float *got = td_download(ty);
                ref_dropout_apply(x, want, n, S, p.seed, p.stream, p.step, p.p, cw);
                expect_bits(got, want, n, what);
                /* zeros are what is compared here (the mask, bit-exact); still, with enough
                 * draws most outputs must be non-zero */
                if (p.p <= 0.5f && n / S >= 50) assert_true(tu_zero_fraction(got, (size_t)n) < 0.8);
                free(got);
                /* backward: the same mask, regenerated */
                td_poison(ty);
                assert_int_equal(medcl_dropout_backward(&p, tdy, ty), MEDCL_OK);
                got = td_download(ty);
                ref_dropout_apply(dy, want, n, S, p.seed, p.stream, p.step, p.p, cw);
                expect_bits(got, want, n, what);
                free(got);
            }
        }
        medcl_tensor_destroy(tx);
        medcl_tensor_destroy(ty);
        medcl_tensor_destroy(tdy);
        free(x);
        free(dy);
        free(want);
    }
}

/* Keep rate within 5 standard deviations of 1 - p; a new step draws a new mask; the same key
 * draws the same mask; channel-wise masks are constant over each (n, c). */
static void test_statistics_and_keys(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 62);
    int64_t shape[4] = {4, 8, 31, 101}, n = 4 * 8 * 31 * 101, S = 31 * 101;
    float *x = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) x[i] = 1.0f + (float)tu_uniform(&r);
    medcl_tensor *tx = td_tensor(4, shape, x, "x"), *ty = td_tensor(4, shape, NULL, "y");
    medcl_dropout_params p = MEDCL_DROPOUT_PARAMS_INIT;
    p.p = 0.3f;
    p.seed = tu_seed();
    assert_int_equal(medcl_dropout_forward(&p, tx, ty), MEDCL_OK);
    float *a = td_download(ty);
    double kept = 1.0 - tu_zero_fraction(a, (size_t)n), sd = sqrt(0.3 * 0.7 / (double)n);
    print_message("  keep rate %.5f (expected 0.7, sd %.5f)\n", kept, sd);
    assert_true(fabs(kept - 0.7) < 5 * sd);
    assert_int_equal(medcl_dropout_forward(&p, tx, ty), MEDCL_OK);
    float *b = td_download(ty);
    assert_memory_equal(a, b, (size_t)n * 4);
    free(b);
    p.step = 1;
    assert_int_equal(medcl_dropout_forward(&p, tx, ty), MEDCL_OK);
    b = td_download(ty);
    int64_t differ = 0;
    for (int64_t i = 0; i < n; i++) differ += (a[i] == 0) != (b[i] == 0);
    print_message("  masks of step 0 and 1 differ in %.3f of the elements\n", (double)differ / (double)n);
    assert_true(differ > n / 4);
    free(b);
    p.channelwise = true;
    assert_int_equal(medcl_dropout_forward(&p, tx, ty), MEDCL_OK);
    b = td_download(ty);
    int64_t dropped = 0;
    for (int64_t nc = 0; nc < 32; nc++) {
        bool z = b[nc * S] == 0;
        dropped += z;
        for (int64_t s = 0; s < S; s++) assert_true((b[nc * S + s] == 0) == z);
    }
    assert_true(dropped > 0 && dropped < 32);
    free(b);
    free(a);
    free(x);
    medcl_tensor_destroy(tx);
    medcl_tensor_destroy(ty);
}

/* p = 0 and evaluation mode: y = x bit for bit (in place too); p = 1: y = 0. */
static void test_identity_cases(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 63);
    int64_t shape[3] = {3, 4, 37}, n = 3 * 4 * 37;
    float x[3 * 4 * 37];
    tu_fill_normal(&r, x, (size_t)n);
    medcl_tensor *tx = td_tensor(3, shape, x, "x"), *ty = td_tensor(3, shape, NULL, "y");
    medcl_dropout_params p = MEDCL_DROPOUT_PARAMS_INIT;
    p.p = 0.0f;
    assert_int_equal(medcl_dropout_forward(&p, tx, ty), MEDCL_OK);
    float *got = td_download(ty);
    expect_bits(got, x, n, "p = 0");
    free(got);
    p.p = 0.5f;
    p.training = false;
    td_poison(ty);
    assert_int_equal(medcl_dropout_forward(&p, tx, ty), MEDCL_OK);
    got = td_download(ty);
    expect_bits(got, x, n, "evaluation mode");
    free(got);
    assert_int_equal(medcl_dropout_backward(&p, tx, tx), MEDCL_OK); /* in place, identity */
    got = td_download(tx);
    expect_bits(got, x, n, "evaluation mode, in place");
    free(got);
    p.training = true;
    p.p = 1.0f;
    assert_int_equal(medcl_dropout_forward(&p, tx, ty), MEDCL_OK);
    got = td_download(ty);
    for (int64_t i = 0; i < n; i++) assert_true(got[i] == 0.0f);
    free(got);
    /* in place with p = 0.5 equals out of place */
    p.p = 0.5f;
    assert_int_equal(medcl_dropout_forward(&p, tx, ty), MEDCL_OK);
    assert_int_equal(medcl_dropout_forward(&p, tx, tx), MEDCL_OK);
    got = td_download(tx);
    float *want = td_download(ty);
    expect_bits(got, want, n, "in place");
    free(got);
    free(want);
    medcl_tensor_destroy(tx);
    medcl_tensor_destroy(ty);
}

typedef struct {
    const double *mask; /* keep * scale */
    size_t n;
} dr_ctx;

static void dr_fn(const double *x, double *y, void *c) {
    dr_ctx *d = c;
    for (size_t i = 0; i < d->n; i++) y[i] = d->mask[i] * x[i];
}

static void test_gradcheck(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 64);
    enum { N = 50 };
    double x[N], dy[N], dx[N], mask[N];
    float ones[N], m[N];
    for (int i = 0; i < N; i++) {
        x[i] = tu_normal(&r);
        dy[i] = tu_normal(&r);
        ones[i] = 1.0f;
    }
    ref_dropout_apply(ones, m, N, 1, 99, 1, 2, 0.4f, false);
    for (int i = 0; i < N; i++) {
        mask[i] = m[i];
        dx[i] = mask[i] * dy[i]; /* the reference backward: the same mask and scale */
    }
    dr_ctx c = {mask, N};
    double worst = 0;
    for (int t = 0; t < 8; t++) {
        size_t i = (size_t)tu_int(&r, 0, N - 1);
        double fd = ref_fd_grad(dr_fn, &c, x, N, dy, i, 1e-6);
        worst = fmax(worst, fabs(fd - dx[i]));
    }
    print_message("  dropout reference backward vs central differences: %.2e\n", worst);
    assert_true(worst < 1e-8);
}

static void test_bad_input(void **state) {
    (void)state;
    int64_t s1 = 10, s2 = 11;
    medcl_tensor *a = td_tensor(1, &s1, NULL, "acts"), *b = td_tensor(1, &s2, NULL, "other");
    medcl_dropout_params p = MEDCL_DROPOUT_PARAMS_INIT;
    assert_int_equal(medcl_dropout_forward(&p, a, b), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "other"));
    p.p = 1.5f;
    assert_int_equal(medcl_dropout_forward(&p, a, a), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "params.p"));
    p.p = NAN;
    assert_int_equal(medcl_dropout_backward(&p, a, a), MEDCL_ERR_INVALID_ARG);
    p.p = 0.5f;
    p.channelwise = true;
    assert_int_equal(medcl_dropout_forward(&p, a, a), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "acts"));
    assert_int_equal(medcl_dropout_forward(&p, NULL, a), MEDCL_ERR_INVALID_ARG);
    medcl_tensor_destroy(a);
    medcl_tensor_destroy(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_matches_host),
        cmocka_unit_test(test_statistics_and_keys),
        cmocka_unit_test(test_identity_cases),
        cmocka_unit_test(test_gradcheck),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
