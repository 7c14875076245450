/* tests/test_op_linear.c — the fully connected layer on CLBlast against
 * tests/ref/ref_linear.c: integer inputs bit-exact (sums below 2^24), N(0,1) inputs by
 * normalized RMS error (forward and backward-data <= 1e-6, backward-weight <= 1e-5), with and
 * without bias, a flattened (N, C, H, W) input, views with offsets (CLBlast buffer offsets),
 * accumulation into dw and db, determinism, the reference backward against central
 * differences, and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/ops_linear.h"
#include "ref/ref_act.h"
#include "ref/ref_linear.h"
#include "testutil.h"

static double *abs_copy(const double *x, int64_t n) {
    double *a = malloc((size_t)(n ? n : 1) * sizeof *a);
    for (int64_t i = 0; i < n; i++) a[i] = fabs(x[i]);
    return a;
}

static void fill(tu_rng *r, float *x, int64_t n, bool integer) {
    if (integer) {
        tu_fill_int(r, x, (size_t)n, -4, 4);
        for (int64_t i = 0; i < n; i++)
            if (x[i] == 0) x[i] = 2;
    } else {
        tu_fill_normal(r, x, (size_t)n);
    }
}

/* x has shape xs (rank xr) with N = xs[0], IN = the rest. view: x, dx and y live in samples
 * 1..N of larger tensors (element offsets) */
static void run_case(tu_rng *r, int xr, const int64_t *xs, int64_t OUT, bool bias, bool integer,
                     bool view) {
    int64_t N = xs[0], IN = 1;
    for (int k = 1; k < xr; k++) IN *= xs[k];
    int64_t nx = N * IN, ny = N * OUT, nw = OUT * IN;
    float *x = malloc((size_t)nx * 4), *w = malloc((size_t)nw * 4), *b = malloc((size_t)OUT * 4);
    float *dy = malloc((size_t)ny * 4), *dw0 = malloc((size_t)nw * 4), *db0 = malloc((size_t)OUT * 4);
    fill(r, x, nx, integer);
    fill(r, w, nw, integer);
    fill(r, b, OUT, integer);
    fill(r, dy, ny, integer);
    fill(r, dw0, nw, integer);
    fill(r, db0, OUT, integer);
    double *xd = ref_to_double(x, (size_t)nx), *wd = ref_to_double(w, (size_t)nw);
    double *bd = ref_to_double(b, (size_t)OUT), *dyd = ref_to_double(dy, (size_t)ny);
    double *dwd = ref_to_double(dw0, (size_t)nw), *dbd = ref_to_double(db0, (size_t)OUT);
    double *yd = malloc((size_t)ny * 8), *dxd = malloc((size_t)nx * 8);
    /* sums of |terms| of every output, for the tier-2 bound */
    double *ax = abs_copy(xd, nx), *aw = abs_copy(wd, nw), *ab = abs_copy(bd, OUT);
    double *ady = abs_copy(dyd, ny), *sw = abs_copy(dwd, nw), *sb = abs_copy(dbd, OUT);
    double *sy = malloc((size_t)ny * 8), *sx = malloc((size_t)nx * 8);
    ref_linear_forward(ax, aw, bias ? ab : NULL, N, IN, OUT, sy);
    ref_linear_backward_data(ady, aw, N, IN, OUT, sx);
    ref_linear_backward_weight(ax, ady, N, IN, OUT, sw, bias ? sb : NULL);

    int64_t ys[2] = {N, OUT}, wsh[2] = {OUT, IN}, bsh[1] = {OUT};
    medcl_tensor *px = NULL, *py = NULL, *pdx = NULL, *tx, *ty, *tdx;
    if (view) {
        /* parents with one extra sample in front; the views start at sample 1 */
        int64_t bx[5], by[2] = {N + 1, OUT};
        memcpy(bx, xs, (size_t)xr * sizeof *bx);
        bx[0] = N + 1;
        px = td_tensor(xr, bx, NULL, "x.parent");
        py = td_tensor(2, by, NULL, "y.parent");
        pdx = td_tensor(xr, bx, NULL, "dx.parent");
        assert_int_equal(medcl_tensor_view_n(px, 1, N, &tx), MEDCL_OK);
        assert_int_equal(medcl_tensor_view_n(py, 1, N, &ty), MEDCL_OK);
        assert_int_equal(medcl_tensor_view_n(pdx, 1, N, &tdx), MEDCL_OK);
        assert_int_equal(medcl_tensor_upload(tx, x, (size_t)nx * 4), MEDCL_OK);
    } else {
        tx = td_tensor(xr, xs, x, "x");
        ty = td_tensor(2, ys, NULL, "y");
        tdx = td_tensor(xr, xs, NULL, "dx");
    }
    medcl_tensor *tw = td_tensor(2, wsh, w, "w"), *tb = td_tensor(1, bsh, b, "b");
    medcl_tensor *tdy = td_tensor(2, ys, dy, "dy"), *tdw = td_tensor(2, wsh, dw0, "dw");
    medcl_tensor *tdb = td_tensor(1, bsh, db0, "db");
    char what[128];
    snprintf(what, sizeof what, "%s N=%lld IN=%lld OUT=%lld%s%s", integer ? "int" : "normal",
             (long long)N, (long long)IN, (long long)OUT, bias ? " +b" : "", view ? " view" : "");

    assert_int_equal(medcl_linear_forward(tx, tw, bias ? tb : NULL, ty), MEDCL_OK);
    float *got = td_download(ty);
    ref_linear_forward(xd, wd, bias ? bd : NULL, N, IN, OUT, yd);
    char w2[160];
    snprintf(w2, sizeof w2, "fwd %s", what);
    if (integer) tu_expect_exact(got, yd, ny, w2);
    else tu_expect_close_terms(got, yd, sy, ny, 1e-6, w2);
    free(got);

    assert_int_equal(medcl_linear_backward_data(tdy, tw, tdx), MEDCL_OK);
    got = td_download(tdx);
    ref_linear_backward_data(dyd, wd, N, IN, OUT, dxd);
    snprintf(w2, sizeof w2, "bwd data %s", what);
    if (integer) tu_expect_exact(got, dxd, nx, w2);
    else tu_expect_close_terms(got, dxd, sx, nx, 1e-6, w2);
    free(got);

    assert_int_equal(medcl_linear_backward_weight(tx, tdy, tdw, bias ? tdb : NULL), MEDCL_OK);
    float *gw = td_download(tdw), *gb = td_download(tdb);
    ref_linear_backward_weight(xd, dyd, N, IN, OUT, dwd, bias ? dbd : NULL);
    snprintf(w2, sizeof w2, "bwd weight %s", what);
    if (integer) {
        tu_expect_exact(gw, dwd, nw, w2);
        tu_expect_exact(gb, dbd, OUT, w2);
    } else {
        tu_expect_close_terms(gw, dwd, sw, nw, 1e-5, w2);
        snprintf(w2, sizeof w2, "bwd bias %s", what);
        tu_expect_close_terms(gb, dbd, sb, OUT, 1e-5, w2);
    }
    /* determinism: the same accumulation again from the same start */
    assert_int_equal(medcl_tensor_upload(tdw, dw0, (size_t)nw * 4), MEDCL_OK);
    assert_int_equal(medcl_tensor_upload(tdb, db0, (size_t)OUT * 4), MEDCL_OK);
    assert_int_equal(medcl_linear_backward_weight(tx, tdy, tdw, bias ? tdb : NULL), MEDCL_OK);
    float *gw2 = td_download(tdw), *gb2 = td_download(tdb);
    assert_memory_equal(gw, gw2, (size_t)nw * 4);
    assert_memory_equal(gb, gb2, (size_t)OUT * 4);
    if (view) {
        /* the parents' sample 0 is untouched (still NaN) */
        float *p = td_download(py);
        for (int64_t i = 0; i < OUT; i++) assert_true(isnan(p[i]));
        free(p);
        p = td_download(pdx);
        for (int64_t i = 0; i < IN; i++) assert_true(isnan(p[i]));
        free(p);
    }
    free(gw);
    free(gb);
    free(gw2);
    free(gb2);
    medcl_tensor_destroy(tx);
    medcl_tensor_destroy(ty);
    medcl_tensor_destroy(tdx);
    medcl_tensor_destroy(px);
    medcl_tensor_destroy(py);
    medcl_tensor_destroy(pdx);
    medcl_tensor_destroy(tw);
    medcl_tensor_destroy(tb);
    medcl_tensor_destroy(tdy);
    medcl_tensor_destroy(tdw);
    medcl_tensor_destroy(tdb);
    free(x);
    free(w);
    free(b);
    free(dy);
    free(dw0);
    free(db0);
    free(xd);
    free(wd);
    free(bd);
    free(dyd);
    free(dwd);
    free(dbd);
    free(yd);
    free(dxd);
    free(ax);
    free(aw);
    free(ab);
    free(ady);
    free(sw);
    free(sb);
    free(sy);
    free(sx);
}

static void test_linear(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 51);
    const int64_t s2[2] = {7, 33}, s4[4] = {5, 3, 6, 7}, s1[2] = {1, 1}, big[2] = {64, 300};
    for (int integer = 1; integer >= 0; integer--) {
        run_case(&r, 2, s2, 11, true, integer, false);
        run_case(&r, 2, s2, 11, false, integer, false);
        run_case(&r, 4, s4, 10, true, integer, false); /* flattened feature map, IN = 126 */
        run_case(&r, 2, s2, 5, true, integer, true);   /* views: CLBlast buffer offsets */
        run_case(&r, 2, s1, 1, true, integer, false);
        run_case(&r, 2, big, 129, true, integer, false);
    }
}

typedef struct {
    const double *x, *w, *b;
    int64_t N, IN, OUT;
    int which; /* 0: wrt x, 1: wrt w, 2: wrt b */
} lin_ctx;

static void lin_fn(const double *v, double *y, void *c) {
    lin_ctx *l = c;
    ref_linear_forward(l->which == 0 ? v : l->x, l->which == 1 ? v : l->w, l->which == 2 ? v : l->b,
                       l->N, l->IN, l->OUT, y);
}

static void test_gradcheck(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 52);
    enum { N = 3, IN = 5, OUT = 4 };
    double x[N * IN], w[OUT * IN], b[OUT], dy[N * OUT], dx[N * IN], dw[OUT * IN] = {0}, db[OUT] = {0};
    for (int i = 0; i < N * IN; i++) x[i] = tu_normal(&r);
    for (int i = 0; i < OUT * IN; i++) w[i] = tu_normal(&r);
    for (int i = 0; i < OUT; i++) b[i] = tu_normal(&r);
    for (int i = 0; i < N * OUT; i++) dy[i] = tu_normal(&r);
    ref_linear_backward_data(dy, w, N, IN, OUT, dx);
    ref_linear_backward_weight(x, dy, N, IN, OUT, dw, db);
    double worst = 0;
    for (int which = 0; which < 3; which++) {
        lin_ctx c = {x, w, b, N, IN, OUT, which};
        double *v = which == 0 ? x : which == 1 ? w : b, *g = which == 0 ? dx : which == 1 ? dw : db;
        int n = which == 0 ? N * IN : which == 1 ? OUT * IN : OUT;
        for (int t = 0; t < 6; t++) {
            size_t i = (size_t)tu_int(&r, 0, n - 1);
            double fd = ref_fd_grad(lin_fn, &c, v, N * OUT, dy, i, 1e-6);
            double e = fabs(fd - g[i]) / (1 + fabs(g[i]));
            if (e > worst) worst = e;
        }
    }
    print_message("  linear reference backward vs central differences: %.2e\n", worst);
    assert_true(worst < 1e-7);
}

static void test_bad_input(void **state) {
    (void)state;
    int64_t xs[2] = {4, 6}, ws[2] = {3, 7}, ys[2] = {4, 3}, bs[1] = {4}, v[1] = {24};
    medcl_tensor *x = td_tensor(2, xs, NULL, "feat"), *w = td_tensor(2, ws, NULL, "weight7");
    medcl_tensor *y = td_tensor(2, ys, NULL, "logits"), *b = td_tensor(1, bs, NULL, "bias4");
    medcl_tensor *flat = td_tensor(1, v, NULL, "flat");
    assert_int_equal(medcl_linear_forward(x, w, NULL, y), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "weight7"));
    medcl_tensor_destroy(w);
    ws[1] = 6;
    w = td_tensor(2, ws, NULL, "weight6");
    assert_int_equal(medcl_linear_forward(x, w, b, y), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "bias4"));
    assert_int_equal(medcl_linear_forward(flat, w, NULL, y), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "flat"));
    assert_int_equal(medcl_linear_forward(x, w, NULL, x), MEDCL_ERR_SHAPE);
    assert_int_equal(medcl_linear_forward(x, NULL, NULL, y), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_linear_backward_data(y, w, y), MEDCL_ERR_SHAPE);
    assert_int_equal(medcl_linear_backward_weight(x, y, w, b), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "bias4"));
    medcl_tensor_destroy(x);
    medcl_tensor_destroy(w);
    medcl_tensor_destroy(y);
    medcl_tensor_destroy(b);
    medcl_tensor_destroy(flat);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_gradcheck),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
