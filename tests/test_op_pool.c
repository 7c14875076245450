/* tests/test_op_pool.c — max, average and global average pooling, forward and backward,
 * against the float64 references in ref/ref_pool.c: integer-exact tier (max pooling with
 * ties, average pooling with power-of-two windows), N(0,1) tier by normalized RMS error,
 * finite differences of the reference, odd sizes, stride, padding, 2D (4-D tensors) and 3D,
 * both max-backward paths (stored argmax, recomputed), and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/ops_pool.h"
#include "ref/ref_pool.h"
#include "testutil.h"

typedef struct {
    int ndim;              /* 4 or 5 */
    int64_t N, C, D, H, W; /* D = 1 when ndim == 4 */
    int k[3], s[3], p[3];
} pcase;

static void check_exact(const float *got, const double *want, int64_t n, const char *what) {
    for (int64_t i = 0; i < n; i++)
        if (!((double)got[i] == want[i]))
            fail_msg("%s: element %lld = %.9g, expected %.17g", what, (long long)i, got[i], want[i]);
}

static void check_nrms(const float *got, const double *want, int64_t n, double tol, const char *what) {
    double e = tu_nrms(got, want, (size_t)n), m = tu_max_abs_diff(got, want, (size_t)n);
    double scale = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    if (!(e <= tol) || !(m <= 1e-5 * (scale > 1 ? scale : 1)))
        fail_msg("%s: nrms %.3g (tol %.1g), max abs diff %.3g", what, e, tol, m);
    if (tu_zero_fraction(got, (size_t)n) >= 0.8) fail_msg("%s: more than 80%% zeros", what);
    print_message("  %-40s nrms %.2e  max|d| %.2e\n", what, e, m);
}

static medcl_pool_params params_of(const pcase *c, medcl_pool_mode mode, int incl) {
    medcl_pool_params p = MEDCL_POOL_PARAMS_INIT;
    p.mode = mode;
    p.count_include_pad = incl;
    for (int a = 0; a < 3; a++) p.kernel[a] = c->k[a], p.stride[a] = c->s[a], p.pad[a] = c->p[a];
    return p;
}

static ref_pool_geom geom_of(const pcase *c) {
    ref_pool_geom g = {c->N, c->C, c->D, c->H, c->W, {0}, {0}, {0}, 0, 0, 0};
    for (int a = 0; a < 3; a++) g.k[a] = c->k[a], g.s[a] = c->s[a], g.p[a] = c->p[a];
    if (c->ndim == 4) g.k[0] = g.s[0] = 1, g.p[0] = 0;
    ref_pool_geom_finish(&g);
    return g;
}

static void shapes(const pcase *c, const ref_pool_geom *g, int64_t xs[5], int64_t ys[5]) {
    if (c->ndim == 5) {
        int64_t a[5] = {c->N, c->C, c->D, c->H, c->W}, b[5] = {c->N, c->C, g->Do, g->Ho, g->Wo};
        memcpy(xs, a, sizeof a);
        memcpy(ys, b, sizeof b);
    } else {
        int64_t a[4] = {c->N, c->C, c->H, c->W}, b[4] = {c->N, c->C, g->Ho, g->Wo};
        memcpy(xs, a, sizeof a);
        memcpy(ys, b, sizeof b);
    }
}

static medcl_tensor *i32_tensor(int ndim, const int64_t *shape, const char *name) {
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.dtype = MEDCL_DTYPE_I32;
    d.ndim = ndim;
    for (int i = 0; i < ndim; i++) d.shape[i] = shape[i];
    d.name = name;
    medcl_tensor *t = NULL;
    assert_int_equal(medcl_tensor_create(td_ctx(), &d, &t), MEDCL_OK);
    assert_int_equal(medcl_tensor_fill(t, -7), MEDCL_OK);
    return t;
}

/* One case: forward and backward on the device against the reference. exact: integer data. */
static void run_case(const pcase *c, medcl_pool_mode mode, int incl, int exact, tu_rng *r) {
    ref_pool_geom g = geom_of(c);
    int64_t xs[5], ys[5];
    shapes(c, &g, xs, ys);
    int64_t nx = c->N * c->C * c->D * c->H * c->W, ny = c->N * c->C * g.Do * g.Ho * g.Wo;
    float *x = malloc(sizeof(float) * (size_t)nx), *dy = malloc(sizeof(float) * (size_t)ny);
    if (exact) {
        tu_fill_int(r, x, (size_t)nx, -6, 6); /* many ties: the scan order decides */
        tu_fill_nonzero_int(r, dy, ny, 9);
    } else {
        tu_fill_normal(r, x, (size_t)nx);
        tu_fill_normal(r, dy, (size_t)ny);
    }
    double *xd = tu_to_double(x, nx), *dyd = tu_to_double(dy, ny);
    double *yr = malloc(sizeof(double) * (size_t)ny), *dxr = malloc(sizeof(double) * (size_t)nx);
    int32_t *amr = malloc(sizeof(int32_t) * (size_t)ny);
    medcl_pool_params p = params_of(c, mode, incl);
    medcl_tensor *tx = td_tensor(c->ndim, xs, x, "x"), *ty = td_tensor(c->ndim, ys, NULL, "y");
    medcl_tensor *tdy = td_tensor(c->ndim, ys, dy, "dy"), *tdx = td_tensor(c->ndim, xs, NULL, "dx");
    medcl_tensor *tam = mode == MEDCL_POOL_MAX ? i32_tensor(c->ndim, ys, "argmax") : NULL;
    char what[160];
    snprintf(what, sizeof what, "%s %dD %lldx%lldx%lld k%d%d%d s%d%d%d p%d%d%d%s", mode == MEDCL_POOL_MAX ? "max" : "avg",
             c->ndim == 5 ? 3 : 2, (long long)c->D, (long long)c->H, (long long)c->W, g.k[0], g.k[1], g.k[2], g.s[0],
             g.s[1], g.s[2], g.p[0], g.p[1], g.p[2], mode == MEDCL_POOL_AVG ? (incl ? " incl" : " excl") : "");

    int64_t want_shape[5];
    assert_int_equal(medcl_pool_output_shape(&p, c->ndim, xs, want_shape), MEDCL_OK);
    for (int i = 0; i < c->ndim; i++) assert_int_equal(want_shape[i], ys[i]);

    assert_int_equal(medcl_pool_forward(&p, tx, ty, tam), MEDCL_OK);
    float *y = td_download(ty);
    if (mode == MEDCL_POOL_MAX) {
        ref_maxpool_forward(&g, xd, yr, amr);
        int32_t *am = malloc(sizeof(int32_t) * (size_t)ny);
        assert_int_equal(medcl_tensor_download(tam, am, sizeof(int32_t) * (size_t)ny), MEDCL_OK);
        for (int64_t i = 0; i < ny; i++)
            if (am[i] != amr[i]) fail_msg("%s: argmax[%lld] = %d, expected %d", what, (long long)i, am[i], amr[i]);
        free(am);
        check_exact(y, yr, ny, what); /* max is exact for any data */
        ref_maxpool_backward(&g, amr, dyd, dxr);
    } else {
        ref_avgpool_forward(&g, incl, xd, yr);
        ref_avgpool_backward(&g, incl, dyd, dxr);
        if (exact) check_exact(y, yr, ny, what);
        else check_nrms(y, yr, ny, 1e-6, what);
    }
    /* backward: with argmax, and (max) recomputing from x */
    for (int path = 0; path < (mode == MEDCL_POOL_MAX ? 2 : 1); path++) {
        td_poison(tdx);
        if (mode == MEDCL_POOL_MAX)
            assert_int_equal(medcl_pool_backward(&p, path ? tx : NULL, path ? NULL : tam, tdy, tdx), MEDCL_OK);
        else
            assert_int_equal(medcl_pool_backward(&p, NULL, NULL, tdy, tdx), MEDCL_OK);
        float *dx = td_download(tdx);
        char w2[200];
        snprintf(w2, sizeof w2, "%s backward%s", what, mode == MEDCL_POOL_MAX ? (path ? " (recompute)" : " (argmax)") : "");
        if (exact) {
            check_exact(dx, dxr, nx, w2);
            /* max-pooling gradients are sparse by nature with stride >= 2 in 3D: the dense
             * cases (stride 1, overlapping) carry the < 80% zeros rule; here every element is
             * compared exactly and the non-zeros must be exactly the reference's */
            double zf = tu_zero_fraction(dx, (size_t)nx);
            if (mode != MEDCL_POOL_MAX && zf >= 0.8) fail_msg("%s: more than 80%% zeros", w2);
            if (zf >= 1.0) fail_msg("%s: all zeros", w2);
            print_message("  %-52s exact (%.0f%% zeros)\n", w2, 100 * zf);
        } else if (mode == MEDCL_POOL_MAX) {
            /* overlapping windows add in float: same positions, values within rounding */
            for (int64_t j = 0; j < nx; j++)
                if ((dx[j] == 0.0f) != (dxr[j] == 0.0))
                    fail_msg("%s: element %lld = %.9g, expected %.17g", w2, (long long)j, dx[j], dxr[j]);
            double e = tu_nrms(dx, dxr, (size_t)nx);
            if (!(e <= 1e-6)) fail_msg("%s: nrms %.3g", w2, e);
            print_message("  %-52s nrms %.2e (%.0f%% zeros)\n", w2, e, 100 * tu_zero_fraction(dx, (size_t)nx));
        } else {
            check_nrms(dx, dxr, nx, 1e-6, w2);
        }
        free(dx);
    }
    free(y);
    medcl_tensor_destroy(tx);
    medcl_tensor_destroy(ty);
    medcl_tensor_destroy(tdy);
    medcl_tensor_destroy(tdx);
    medcl_tensor_destroy(tam);
    free(x);
    free(dy);
    free(xd);
    free(dyd);
    free(yr);
    free(dxr);
    free(amr);
}

/* Overlapping or padded windows keep max-pooling gradients dense enough (< 80% zeros). */
static const pcase max_cases[] = {
    {4, 2, 3, 1, 16, 16, {0, 2, 2}, {0, 2, 2}, {0, 0, 0}},      /* 2D 2x2 s2 */
    {4, 2, 3, 1, 17, 13, {0, 3, 3}, {0, 2, 2}, {0, 1, 1}},      /* 2D 3x3 s2 p1, odd */
    {4, 1, 2, 1, 9, 11, {0, 3, 3}, {0, 1, 1}, {0, 1, 1}},       /* 2D 3x3 s1 p1 */
    {5, 2, 2, 7, 9, 8, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}},        /* 3D 3x3x3 s2 p1 */
    {5, 1, 3, 6, 6, 6, {2, 2, 2}, {1, 1, 1}, {0, 0, 0}},        /* 3D 2x2x2 s1 */
    {5, 1, 2, 5, 8, 7, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}},        /* 3D anisotropic */
};

static void test_max_exact(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 11);
    for (size_t i = 0; i < sizeof max_cases / sizeof max_cases[0]; i++)
        run_case(&max_cases[i], MEDCL_POOL_MAX, 1, 1, &r);
}

static void test_max_normal(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 12);
    for (size_t i = 0; i < sizeof max_cases / sizeof max_cases[0]; i++)
        run_case(&max_cases[i], MEDCL_POOL_MAX, 1, 0, &r);
}

static void test_avg_exact_pow2(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 13);
    static const pcase cs[] = {
        {4, 2, 3, 1, 16, 20, {0, 2, 2}, {0, 2, 2}, {0, 0, 0}},
        {4, 2, 2, 1, 17, 15, {0, 4, 2}, {0, 2, 1}, {0, 0, 0}}, /* overlapping, odd sizes */
        {5, 2, 2, 6, 8, 10, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}},
        {5, 1, 2, 5, 7, 9, {2, 2, 2}, {1, 2, 1}, {0, 0, 0}},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) run_case(&cs[i], MEDCL_POOL_AVG, 1, 1, &r);
}

static void test_avg_normal(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 14);
    static const pcase cs[] = {
        {4, 2, 8, 1, 33, 31, {0, 3, 3}, {0, 2, 2}, {0, 1, 1}},
        {4, 2, 4, 1, 64, 64, {0, 2, 2}, {0, 2, 2}, {0, 0, 0}},
        {5, 2, 4, 9, 11, 10, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}},
        {5, 1, 3, 16, 16, 16, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}},
        {5, 1, 2, 7, 6, 9, {3, 2, 3}, {1, 1, 2}, {1, 0, 1}},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        run_case(&cs[i], MEDCL_POOL_AVG, 1, 0, &r);
        run_case(&cs[i], MEDCL_POOL_AVG, 0, 0, &r);
    }
}

/* Reference backward against central differences of the reference forward (loss = sum y*w). */
static void test_reference_gradients(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 15);
    static const pcase cs[] = {
        {5, 1, 2, 5, 6, 7, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}},
        {4, 2, 2, 1, 9, 8, {0, 3, 2}, {0, 1, 2}, {0, 1, 1}},
    };
    for (size_t ci = 0; ci < sizeof cs / sizeof cs[0]; ci++)
        for (int mode = 0; mode < 3; mode++) { /* max, avg incl, avg excl */
            ref_pool_geom g = geom_of(&cs[ci]);
            int64_t nx = g.N * g.C * g.D * g.H * g.W, ny = g.N * g.C * g.Do * g.Ho * g.Wo;
            double *x = malloc(sizeof(double) * (size_t)nx), *w = malloc(sizeof(double) * (size_t)ny);
            double *y = malloc(sizeof(double) * (size_t)ny), *dx = malloc(sizeof(double) * (size_t)nx);
            int32_t *am = malloc(sizeof(int32_t) * (size_t)ny);
            for (int64_t i = 0; i < nx; i++) x[i] = tu_normal(&r);
            for (int64_t i = 0; i < ny; i++) w[i] = tu_normal(&r);
            if (mode == 0) {
                ref_maxpool_forward(&g, x, y, am);
                ref_maxpool_backward(&g, am, w, dx);
            } else {
                ref_avgpool_backward(&g, mode == 1, w, dx);
            }
            for (int t = 0; t < 12; t++) {
                int64_t i = tu_int(&r, 0, (int)nx - 1);
                double h = 1e-6, lp = 0, lm = 0, x0 = x[i];
                x[i] = x0 + h;
                if (mode == 0) ref_maxpool_forward(&g, x, y, NULL);
                else ref_avgpool_forward(&g, mode == 1, x, y);
                for (int64_t o = 0; o < ny; o++) lp += y[o] * w[o];
                x[i] = x0 - h;
                if (mode == 0) ref_maxpool_forward(&g, x, y, NULL);
                else ref_avgpool_forward(&g, mode == 1, x, y);
                for (int64_t o = 0; o < ny; o++) lm += y[o] * w[o];
                x[i] = x0;
                double fd = (lp - lm) / (2 * h);
                if (fabs(fd - dx[i]) > 1e-6 * (1 + fabs(dx[i])))
                    fail_msg("pool mode %d case %zu: d/dx[%lld] analytic %.10g, finite difference %.10g", mode, ci,
                             (long long)i, dx[i], fd);
            }
            free(x);
            free(w);
            free(y);
            free(dx);
            free(am);
        }
}

static void test_global_avg(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 16);
    struct { int ndim; int64_t s[5]; int exact; } cs[] = {
        {5, {2, 32, 16, 16, 16}, 0},
        {4, {3, 5, 37, 29, 1}, 0},
        {4, {2, 4, 8, 16, 1}, 1}, /* plane of 128: exact for integers */
    };
    for (size_t ci = 0; ci < sizeof cs / sizeof cs[0]; ci++) {
        int64_t planes = cs[ci].s[0] * cs[ci].s[1], nx = 1;
        for (int i = 0; i < cs[ci].ndim; i++) nx *= cs[ci].s[i];
        int64_t n = nx / planes;
        float *x = malloc(sizeof(float) * (size_t)nx), *dy = malloc(sizeof(float) * (size_t)planes);
        if (cs[ci].exact) {
            tu_fill_nonzero_int(&r, x, nx, 50);
            tu_fill_nonzero_int(&r, dy, planes, 50);
        } else {
            tu_fill_normal(&r, x, (size_t)nx);
            tu_fill_normal(&r, dy, (size_t)planes);
        }
        double *xd = tu_to_double(x, nx), *dyd = tu_to_double(dy, planes);
        double *yr = malloc(sizeof(double) * (size_t)planes), *dxr = malloc(sizeof(double) * (size_t)nx);
        ref_global_avg_forward(planes, n, xd, yr);
        ref_global_avg_backward(planes, n, dyd, dxr);
        int64_t ys[5] = {cs[ci].s[0], cs[ci].s[1], 1, 1, 1};
        medcl_tensor *tx = td_tensor(cs[ci].ndim, cs[ci].s, x, "x"), *ty = td_tensor(5, ys, NULL, "y");
        medcl_tensor *tdy = td_tensor(5, ys, dy, "dy"), *tdx = td_tensor(cs[ci].ndim, cs[ci].s, NULL, "dx");
        assert_int_equal(medcl_global_avg_pool_forward(tx, ty), MEDCL_OK);
        assert_int_equal(medcl_global_avg_pool_backward(tdy, tdx), MEDCL_OK);
        float *y = td_download(ty), *dx = td_download(tdx);
        if (cs[ci].exact) {
            check_exact(y, yr, planes, "global avg forward (int)");
            check_exact(dx, dxr, nx, "global avg backward (int)");
        } else {
            check_nrms(y, yr, planes, 1e-6, "global avg forward");
            check_nrms(dx, dxr, nx, 1e-6, "global avg backward");
        }
        /* reference gradient check: d(sum y*w)/dx_i = w[plane] / n */
        for (int t = 0; t < 4; t++) {
            int64_t i = tu_int(&r, 0, (int)nx - 1);
            double h = 1e-6, x0 = xd[i], lp, lm;
            xd[i] = x0 + h;
            ref_global_avg_forward(planes, n, xd, yr);
            lp = yr[i / n] * dyd[i / n];
            xd[i] = x0 - h;
            ref_global_avg_forward(planes, n, xd, yr);
            lm = yr[i / n] * dyd[i / n];
            xd[i] = x0;
            assert_true(fabs((lp - lm) / (2 * h) - dxr[i]) <= 1e-6 * (1 + fabs(dxr[i])));
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
}

static void test_bad_input(void **state) {
    (void)state;
    int64_t xs[4] = {1, 2, 8, 8}, ys[4] = {1, 2, 4, 4}, bad[4] = {1, 2, 4, 5};
    medcl_tensor *x = td_tensor(4, xs, NULL, "img"), *y = td_tensor(4, ys, NULL, "pooled");
    medcl_tensor *yb = td_tensor(4, bad, NULL, "wrongsize");
    medcl_pool_params p = MEDCL_POOL_PARAMS_INIT;
    assert_int_equal(medcl_pool_forward(&p, x, yb, NULL), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "wrongsize"));
    assert_int_equal(medcl_pool_forward(&p, NULL, y, NULL), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "x"));
    assert_int_equal(medcl_pool_forward(NULL, x, y, NULL), MEDCL_ERR_INVALID_ARG);
    medcl_pool_params q = p;
    q.pad[2] = 2;
    assert_int_equal(medcl_pool_forward(&q, x, y, NULL), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "pad"));
    q = p;
    q.kernel[1] = 0;
    assert_int_equal(medcl_pool_forward(&q, x, y, NULL), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "kernel"));
    q = p;
    q.size = 4;
    assert_int_equal(medcl_pool_forward(&q, x, y, NULL), MEDCL_ERR_INVALID_ARG);
    /* argmax must be i32 of y's size */
    assert_int_equal(medcl_pool_forward(&p, x, y, yb), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "i32"));
    /* max backward needs argmax or x */
    assert_int_equal(medcl_pool_backward(&p, NULL, NULL, y, x), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "argmax"));
    /* input smaller than the kernel */
    int64_t tiny[4] = {1, 1, 1, 1};
    medcl_tensor *t = td_tensor(4, tiny, NULL, "tiny");
    assert_int_equal(medcl_pool_forward(&p, t, y, NULL), MEDCL_ERR_SHAPE);
    /* global pooling: y must have N * C elements */
    assert_int_equal(medcl_global_avg_pool_forward(x, y), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "pooled"));
    medcl_tensor_destroy(t);
    medcl_tensor_destroy(x);
    medcl_tensor_destroy(y);
    medcl_tensor_destroy(yb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_exact),
        cmocka_unit_test(test_max_normal),
        cmocka_unit_test(test_avg_exact_pow2),
        cmocka_unit_test(test_avg_normal),
        cmocka_unit_test(test_reference_gradients),
        cmocka_unit_test(test_global_avg),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
