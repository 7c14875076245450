/* tests/test_op_concat.c — concat and slice along channels, forward and backward (assign and
 * accumulate), against tests/ref/ref_concat.c at ranks 2..5 with odd sizes. These ops copy
 * (or add once), so every comparison is bit-exact on N(0,1) data — the integer tier adds
 * nothing; the accumulate path is checked exactly against the float sum. Also: the reference
 * backward against central differences, and bad input. */
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
#include "ref/ref_concat.h"
#include "testutil.h"

static const int64_t spatial[][3] = {{1, 1, 1}, {1, 1, 67}, {1, 9, 11}, {3, 7, 11}};
static const int ranks[] = {2, 3, 4, 5};

/* shape (N, C, spatial...) of the given rank */
static void make_shape(int rank, int64_t N, int64_t C, const int64_t *sp, int64_t *out) {
    out[0] = N;
    out[1] = C;
    for (int k = 2; k < rank; k++) out[k] = sp[3 - (rank - k)];
}

static void expect_bits(const float *got, const float *want, int64_t n, const char *what) {
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&got[i], &want[i], 4) != 0)
            fail_msg("%s: element %lld = %.9g, expected %.9g", what, (long long)i, got[i], want[i]);
}

static void test_concat(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 31);
    const int64_t cs[3] = {2, 5, 1};
    for (size_t ri = 0; ri < sizeof ranks / sizeof ranks[0]; ri++) {
        int rank = ranks[ri];
        int64_t N = 3, S = spatial[ri][0] * spatial[ri][1] * spatial[ri][2], C = 8;
        int64_t shp[5];
        float *xs[3], *dx0[3];
        double *xd[3], *dxd[3];
        medcl_tensor *tx[3], *tdx[3];
        for (int i = 0; i < 3; i++) {
            size_t n = (size_t)(N * cs[i] * S);
            xs[i] = malloc(n * 4);
            dx0[i] = malloc(n * 4);
            tu_fill_normal(&r, xs[i], n);
            tu_fill_normal(&r, dx0[i], n);
            xd[i] = ref_to_double(xs[i], n);
            dxd[i] = malloc(n * sizeof(double));
            make_shape(rank, N, cs[i], spatial[ri], shp);
            tx[i] = td_tensor(rank, shp, xs[i], "x_i");
            tdx[i] = td_tensor(rank, shp, NULL, "dx_i");
        }
        size_t ny = (size_t)(N * C * S);
        double *yd = malloc(ny * sizeof *yd);
        float *want = malloc(ny * 4), *dy = malloc(ny * 4);
        tu_fill_normal(&r, dy, ny);
        double *dyd = ref_to_double(dy, ny);
        make_shape(rank, N, C, spatial[ri], shp);
        medcl_tensor *ty = td_tensor(rank, shp, NULL, "y"), *tdy = td_tensor(rank, shp, dy, "dy");

        assert_int_equal(medcl_concat_forward(NULL, (const medcl_tensor *const *)tx, 3, ty), MEDCL_OK);
        float *got = td_download(ty);
        ref_concat_forward((const double *const *)xd, cs, 3, N, S, yd);
        for (size_t i = 0; i < ny; i++) want[i] = (float)yd[i];
        expect_bits(got, want, (int64_t)ny, "concat forward");
        free(got);

        assert_int_equal(medcl_concat_backward(NULL, tdy, tdx, 3), MEDCL_OK);
        ref_concat_backward(dyd, cs, 3, N, S, dxd);
        for (int i = 0; i < 3; i++) {
            size_t n = (size_t)(N * cs[i] * S);
            got = td_download(tdx[i]);
            float *w = malloc(n * 4);
            for (size_t j = 0; j < n; j++) w[j] = (float)dxd[i][j];
            expect_bits(got, w, (int64_t)n, "concat backward");
            free(got);
            assert_int_equal(medcl_tensor_upload(tdx[i], dx0[i], n * 4), MEDCL_OK);
            free(w);
        }
        medcl_concat_params p = MEDCL_CONCAT_PARAMS_INIT;
        p.accumulate = true;
        assert_int_equal(medcl_concat_backward(&p, tdy, tdx, 3), MEDCL_OK);
        for (int i = 0; i < 3; i++) {
            size_t n = (size_t)(N * cs[i] * S);
            got = td_download(tdx[i]);
            float *w = malloc(n * 4);
            for (size_t j = 0; j < n; j++) w[j] = dx0[i][j] + (float)dxd[i][j];
            expect_bits(got, w, (int64_t)n, "concat backward, accumulate");
            free(got);
            free(w);
        }
        for (int i = 0; i < 3; i++) {
            medcl_tensor_destroy(tx[i]);
            medcl_tensor_destroy(tdx[i]);
            free(xs[i]);
            free(dx0[i]);
            free(xd[i]);
            free(dxd[i]);
        }
        medcl_tensor_destroy(ty);
        medcl_tensor_destroy(tdy);
        free(yd);
        free(want);
        free(dy);
        free(dyd);
    }
}

static void test_slice(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 32);
    const int64_t C = 9;
    const int64_t ranges[][2] = {{0, 9}, {0, 4}, {3, 5}, {8, 1}};
    for (size_t ri = 0; ri < sizeof ranks / sizeof ranks[0]; ri++) {
        int rank = ranks[ri];
        int64_t N = 2, S = spatial[ri][0] * spatial[ri][1] * spatial[ri][2];
        for (size_t q = 0; q < sizeof ranges / sizeof ranges[0]; q++) {
            int64_t start = ranges[q][0], cy = ranges[q][1];
            size_t nx = (size_t)(N * C * S), ny = (size_t)(N * cy * S);
            float *x = malloc(nx * 4), *dx0 = malloc(nx * 4), *dy = malloc(ny * 4);
            float *wx = malloc(nx * 4), *wy = malloc(ny * 4);
            tu_fill_normal(&r, x, nx);
            tu_fill_normal(&r, dx0, nx);
            tu_fill_normal(&r, dy, ny);
            double *xd = ref_to_double(x, nx), *dyd = ref_to_double(dy, ny);
            double *yd = malloc(ny * sizeof *yd), *dxd = malloc(nx * sizeof *dxd);
            int64_t sx[5], sy[5];
            make_shape(rank, N, C, spatial[ri], sx);
            make_shape(rank, N, cy, spatial[ri], sy);
            medcl_tensor *tx = td_tensor(rank, sx, x, "x"), *ty = td_tensor(rank, sy, NULL, "y");
            medcl_tensor *tdy = td_tensor(rank, sy, dy, "dy"), *tdx = td_tensor(rank, sx, NULL, "dx");
            medcl_slice_params p = MEDCL_SLICE_PARAMS_INIT;
            p.start = start;
            assert_int_equal(medcl_slice_forward(&p, tx, ty), MEDCL_OK);
            float *got = td_download(ty);
            ref_slice_forward(xd, N, C, S, start, cy, yd);
            for (size_t i = 0; i < ny; i++) wy[i] = (float)yd[i];
            expect_bits(got, wy, (int64_t)ny, "slice forward");
            free(got);
            assert_int_equal(medcl_slice_backward(&p, tdy, tdx), MEDCL_OK);
            got = td_download(tdx);
            ref_slice_backward(dyd, N, C, S, start, cy, dxd);
            for (size_t i = 0; i < nx; i++) wx[i] = (float)dxd[i];
            expect_bits(got, wx, (int64_t)nx, "slice backward (zeros outside)");
            free(got);
            p.accumulate = true;
            assert_int_equal(medcl_tensor_upload(tdx, dx0, nx * 4), MEDCL_OK);
            assert_int_equal(medcl_slice_backward(&p, tdy, tdx), MEDCL_OK);
            got = td_download(tdx);
            for (size_t i = 0; i < nx; i++) wx[i] = dx0[i] + (float)dxd[i];
            expect_bits(got, wx, (int64_t)nx, "slice backward, accumulate");
            free(got);
            medcl_tensor_destroy(tx);
            medcl_tensor_destroy(ty);
            medcl_tensor_destroy(tdy);
            medcl_tensor_destroy(tdx);
            free(x);
            free(dx0);
            free(dy);
            free(wx);
            free(wy);
            free(xd);
            free(dyd);
            free(yd);
            free(dxd);
        }
    }
}

/* Reference backward of concat and slice against central differences. */
typedef struct {
    int which; /* 0 concat (x = all inputs back to back), 1 slice */
} cs_ctx;

static const int64_t g_cs[2] = {2, 3};
enum { GN = 2, GS = 5, GC = 5 };

static void cs_fn(const double *x, double *y, void *c) {
    cs_ctx *k = c;
    if (k->which == 0) {
        const double *xs[2] = {x, x + GN * g_cs[0] * GS};
        ref_concat_forward(xs, g_cs, 2, GN, GS, y);
    } else {
        ref_slice_forward(x, GN, GC, GS, 1, 3, y);
    }
}

static void test_gradcheck(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 33);
    double x[GN * GC * GS], dyv[GN * GC * GS], dx[GN * GC * GS];
    for (int i = 0; i < GN * GC * GS; i++) {
        x[i] = tu_normal(&r);
        dyv[i] = tu_normal(&r);
    }
    double worst = 0;
    for (int which = 0; which < 2; which++) {
        cs_ctx c = {which};
        size_t ny;
        if (which == 0) {
            double *dxs[2] = {dx, dx + GN * g_cs[0] * GS};
            ref_concat_backward(dyv, g_cs, 2, GN, GS, dxs);
            ny = GN * GC * GS;
        } else {
            ref_slice_backward(dyv, GN, GC, GS, 1, 3, dx);
            ny = GN * 3 * GS;
        }
        for (int t = 0; t < 10; t++) {
            size_t i = (size_t)tu_int(&r, 0, GN * GC * GS - 1);
            double fd = ref_fd_grad(cs_fn, &c, x, ny, dyv, i, 1e-6);
            double e = fabs(fd - dx[i]);
            if (e > worst) worst = e;
        }
    }
    print_message("  concat/slice reference backward vs central differences: %.2e\n", worst);
    assert_true(worst < 1e-8);
}

static void test_bad_input(void **state) {
    (void)state;
    int64_t a[3] = {2, 3, 5}, b[3] = {2, 4, 6}, y[3] = {2, 7, 5}, y2[3] = {2, 8, 5};
    medcl_tensor *ta = td_tensor(3, a, NULL, "left"), *tb = td_tensor(3, b, NULL, "right");
    medcl_tensor *ty = td_tensor(3, y, NULL, "joined"), *ty2 = td_tensor(3, y2, NULL, "joined8");
    const medcl_tensor *xs[2] = {ta, tb};
    assert_int_equal(medcl_concat_forward(NULL, xs, 2, ty), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "right"));
    assert_non_null(strstr(medcl_last_error(), "axis 2"));
    const medcl_tensor *xs2[2] = {ta, ta};
    assert_int_equal(medcl_concat_forward(NULL, xs2, 2, ty), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "joined"));
    assert_int_equal(medcl_concat_forward(NULL, xs2, 0, ty), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_concat_forward(NULL, NULL, 2, ty), MEDCL_ERR_INVALID_ARG);
    const medcl_tensor *xs3[2] = {ta, NULL};
    assert_int_equal(medcl_concat_forward(NULL, xs3, 2, ty), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "xs[1]"));
    medcl_tensor *dxs[2] = {ta, NULL};
    assert_int_equal(medcl_concat_backward(NULL, ty2, dxs, 2), MEDCL_ERR_INVALID_ARG);
    medcl_slice_params p = MEDCL_SLICE_PARAMS_INIT;
    p.start = 5;
    assert_int_equal(medcl_slice_forward(&p, ty, ta), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "params.start = 5"));
    p.start = -1;
    assert_int_equal(medcl_slice_backward(&p, ta, ty), MEDCL_ERR_SHAPE);
    p.start = 0;
    assert_int_equal(medcl_slice_forward(&p, ta, ty), MEDCL_ERR_SHAPE); /* 7 channels from 3 */
    assert_int_equal(medcl_slice_forward(&p, tb, ta), MEDCL_ERR_SHAPE); /* spatial differs */
    medcl_tensor_destroy(ta);
    medcl_tensor_destroy(tb);
    medcl_tensor_destroy(ty);
    medcl_tensor_destroy(ty2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_gradcheck),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
