/* tests/test_op_upsample.c — nearest and linear (bilinear/trilinear) resizing forward and
 * backward against ref/ref_upsample.c: integer-exact tier (nearest at any size; linear at
 * 2x, whose weights are exact dyadic fractions), N(0,1) tier by normalized RMS error at
 * general, odd and down-sampling sizes, given scale factors, align_corners, finite
 * differences of the reference, and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/ops_pool.h"
#include "ref/ref_upsample.h"
#include "testutil.h"

typedef struct {
    int ndim;
    int64_t N, C, D, H, W, Do, Ho, Wo;
    double scale[3];
    int align;
} ucase;

static void check(const float *got, const double *want, int64_t n, int exact, const char *what) {
    if (tu_zero_fraction(got, (size_t)n) >= 0.8) fail_msg("%s: more than 80%% zeros", what);
    if (exact) {
        for (int64_t i = 0; i < n; i++)
            if (!((double)got[i] == want[i]))
                fail_msg("%s: element %lld = %.9g, expected %.17g", what, (long long)i, got[i], want[i]);
        print_message("  %-56s exact\n", what);
        return;
    }
    double e = tu_nrms(got, want, (size_t)n), m = tu_max_abs_diff(got, want, (size_t)n), scale = 1;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    if (!(e <= 1e-6) || !(m <= 1e-5 * scale)) fail_msg("%s: nrms %.3g, max abs diff %.3g", what, e, m);
    print_message("  %-56s nrms %.2e  max|d| %.2e\n", what, e, m);
}

static void run_case(const ucase *c, int linear, int exact, tu_rng *r) {
    int64_t xs[5], ys[5];
    if (c->ndim == 5) {
        int64_t a[5] = {c->N, c->C, c->D, c->H, c->W}, b[5] = {c->N, c->C, c->Do, c->Ho, c->Wo};
        memcpy(xs, a, sizeof a);
        memcpy(ys, b, sizeof b);
    } else {
        int64_t a[4] = {c->N, c->C, c->H, c->W}, b[4] = {c->N, c->C, c->Ho, c->Wo};
        memcpy(xs, a, sizeof a);
        memcpy(ys, b, sizeof b);
    }
    int64_t nx = c->N * c->C * c->D * c->H * c->W, ny = c->N * c->C * c->Do * c->Ho * c->Wo;
    float *x = malloc(sizeof(float) * (size_t)nx), *dy = malloc(sizeof(float) * (size_t)ny);
    if (exact) {
        tu_fill_nonzero_int(r, x, nx, 40);
        tu_fill_nonzero_int(r, dy, ny, 40);
    } else {
        tu_fill_normal(r, x, (size_t)nx);
        tu_fill_normal(r, dy, (size_t)ny);
    }
    double *xd = tu_to_double(x, nx), *dyd = tu_to_double(dy, ny);
    double *yr = malloc(sizeof(double) * (size_t)ny), *dxr = malloc(sizeof(double) * (size_t)nx);
    ref_upsample_cfg rc = {linear, c->align, c->N, c->C, c->D, c->H, c->W, c->Do, c->Ho, c->Wo,
                           {c->ndim == 4 ? 0 : c->scale[0], c->scale[1], c->scale[2]}};
    ref_upsample_forward(&rc, xd, yr);
    ref_upsample_backward(&rc, dyd, dxr);

    medcl_upsample_params p = MEDCL_UPSAMPLE_PARAMS_INIT;
    p.mode = linear ? MEDCL_UPSAMPLE_LINEAR : MEDCL_UPSAMPLE_NEAREST;
    p.align_corners = c->align;
    for (int a = 0; a < 3; a++) p.scale[a] = c->scale[a];
    medcl_tensor *tx = td_tensor(c->ndim, xs, x, "x"), *ty = td_tensor(c->ndim, ys, NULL, "y");
    medcl_tensor *tdy = td_tensor(c->ndim, ys, dy, "dy"), *tdx = td_tensor(c->ndim, xs, NULL, "dx");
    assert_int_equal(medcl_upsample_forward(&p, tx, ty), MEDCL_OK);
    assert_int_equal(medcl_upsample_backward(&p, tdy, tdx), MEDCL_OK);
    float *y = td_download(ty), *dx = td_download(tdx);
    char what[160];
    snprintf(what, sizeof what, "%s%s %dD %lldx%lldx%lld -> %lldx%lldx%lld%s", linear ? "linear" : "nearest",
             c->align ? " ac" : "", c->ndim == 5 ? 3 : 2, (long long)c->D, (long long)c->H, (long long)c->W,
             (long long)c->Do, (long long)c->Ho, (long long)c->Wo, c->scale[2] > 0 ? " (scale)" : "");
    check(y, yr, ny, exact, what);
    char w2[200];
    snprintf(w2, sizeof w2, "%s bwd", what);
    check(dx, dxr, nx, exact, w2);
    if (c->scale[2] > 0) { /* the output shape helper agrees */
        int64_t os[5];
        assert_int_equal(medcl_upsample_output_shape(&p, c->ndim, xs, os), MEDCL_OK);
        for (int i = 0; i < c->ndim; i++) assert_int_equal(os[i], ys[i]);
    }
    free(y);
    free(dx);
    medcl_tensor_destroy(tx);
    medcl_tensor_destroy(ty);
    medcl_tensor_destroy(tdy);
    medcl_tensor_destroy(tdx);
    free(x);
    free(dy);
    free(xd);
    free(dyd);
    free(yr);
    free(dxr);
}

static const ucase two_x[] = {
    {4, 2, 3, 1, 13, 10, 1, 26, 20, {0, 0, 0}, 0},
    {4, 1, 2, 1, 16, 16, 1, 32, 32, {0, 2, 2}, 0},
    {5, 2, 2, 5, 6, 7, 10, 12, 14, {0, 0, 0}, 0},
    {5, 1, 2, 8, 8, 8, 16, 16, 16, {2, 2, 2}, 0},
};

static const ucase general[] = {
    {4, 2, 3, 1, 7, 9, 1, 10, 23, {0, 0, 0}, 0},  /* non-integer ratios */
    {4, 2, 2, 1, 9, 13, 1, 6, 10, {0, 0, 0}, 0},  /* down-sampling */
    {4, 1, 2, 1, 5, 6, 1, 12, 9, {0, 2.5, 1.5}, 0}, /* given scale factors */
    {5, 1, 2, 5, 7, 6, 9, 11, 13, {0, 0, 0}, 0},
    {5, 1, 2, 6, 5, 9, 3, 10, 7, {0, 0, 0}, 0},   /* mixed up/down */
    {5, 1, 2, 4, 6, 5, 12, 9, 5, {3, 1.5, 1}, 0},  /* given scales, one axis unchanged */
};

static void test_nearest_exact(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 21);
    for (size_t i = 0; i < sizeof two_x / sizeof two_x[0]; i++) run_case(&two_x[i], 0, 1, &r);
    for (size_t i = 0; i < sizeof general / sizeof general[0]; i++) run_case(&general[i], 0, 1, &r);
}

static void test_linear_exact_2x(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 22);
    for (size_t i = 0; i < sizeof two_x / sizeof two_x[0]; i++) run_case(&two_x[i], 1, 1, &r);
}

static void test_linear_normal(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 23);
    static const ucase big[] = {
        {4, 2, 16, 1, 32, 32, 1, 64, 64, {0, 0, 0}, 0},
        {5, 1, 8, 8, 8, 8, 16, 16, 16, {0, 0, 0}, 0},
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) run_case(&big[i], 1, 0, &r);
    for (size_t i = 0; i < sizeof general / sizeof general[0]; i++) {
        run_case(&general[i], 1, 0, &r);
        ucase a = general[i];
        a.align = 1;
        a.scale[0] = a.scale[1] = a.scale[2] = 0;
        run_case(&a, 1, 0, &r);
    }
}

/* Reference backward vs central differences of the reference forward. */
static void test_reference_gradients(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 24);
    for (int linear = 0; linear < 2; linear++) {
        ref_upsample_cfg c = {linear, 0, 1, 2, 3, 5, 4, 7, 9, 6, {0, 0, 0}};
        int64_t nx = 2 * 3 * 5 * 4, ny = 2 * 7 * 9 * 6;
        double *x = malloc(sizeof(double) * (size_t)nx), *w = malloc(sizeof(double) * (size_t)ny);
        double *y = malloc(sizeof(double) * (size_t)ny), *dx = malloc(sizeof(double) * (size_t)nx);
        for (int64_t i = 0; i < nx; i++) x[i] = tu_normal(&r);
        for (int64_t i = 0; i < ny; i++) w[i] = tu_normal(&r);
        ref_upsample_backward(&c, w, dx);
        for (int t = 0; t < 12; t++) {
            int64_t i = tu_int(&r, 0, (int)nx - 1);
            double h = 1e-6, lp = 0, lm = 0, x0 = x[i];
            x[i] = x0 + h;
            ref_upsample_forward(&c, x, y);
            for (int64_t o = 0; o < ny; o++) lp += y[o] * w[o];
            x[i] = x0 - h;
            ref_upsample_forward(&c, x, y);
            for (int64_t o = 0; o < ny; o++) lm += y[o] * w[o];
            x[i] = x0;
            double fd = (lp - lm) / (2 * h);
            if (fabs(fd - dx[i]) > 1e-6 * (1 + fabs(dx[i])))
                fail_msg("upsample %s: d/dx[%lld] analytic %.10g, finite difference %.10g", linear ? "linear" : "nearest",
                         (long long)i, dx[i], fd);
        }
        free(x);
        free(w);
        free(y);
        free(dx);
    }
}

static void test_bad_input(void **state) {
    (void)state;
    int64_t xs[4] = {1, 2, 4, 4}, ys[4] = {1, 2, 8, 8}, bad[4] = {1, 3, 8, 8};
    medcl_tensor *x = td_tensor(4, xs, NULL, "lowres"), *y = td_tensor(4, ys, NULL, "hires");
    medcl_tensor *yb = td_tensor(4, bad, NULL, "badchannels");
    medcl_upsample_params p = MEDCL_UPSAMPLE_PARAMS_INIT;
    assert_int_equal(medcl_upsample_forward(&p, x, yb), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "badchannels"));
    assert_int_equal(medcl_upsample_forward(&p, NULL, y), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_upsample_forward(NULL, x, y), MEDCL_ERR_INVALID_ARG);
    medcl_upsample_params q = p;
    q.scale[2] = 3; /* 4 * 3 = 12 != 8 */
    assert_int_equal(medcl_upsample_forward(&q, x, y), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "scale[2]"));
    q = p;
    q.align_corners = 2;
    assert_int_equal(medcl_upsample_forward(&q, x, y), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "align_corners"));
    q = p;
    q.scale[1] = -1;
    assert_int_equal(medcl_upsample_backward(&q, y, x), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "scale[1]"));
    q = p;
    q.mode = (medcl_upsample_mode)7;
    assert_int_equal(medcl_upsample_forward(&q, x, y), MEDCL_ERR_INVALID_ARG);
    medcl_tensor_destroy(x);
    medcl_tensor_destroy(y);
    medcl_tensor_destroy(yb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nearest_exact),
        cmocka_unit_test(test_linear_exact_2x),
        cmocka_unit_test(test_linear_normal),
        cmocka_unit_test(test_reference_gradients),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
