/* tests/test_op_norm.c — batch (training and evaluation), instance, group and layer norm,
 * forward and backward, against ref/ref_norm.c: N(0,1) tier by normalized RMS error at
 * realistic sizes (32 channels x 64x64, 3D 16^3) and odd sizes, saved statistics, running
 * statistics, gamma/beta gradients accumulating (+=), finite differences of the reference,
 * bitwise determinism, and bad input. There is no integer-exact tier: normalization
 * divides by a square root, so no fp32 result is exact. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/ops_norm.h"
#include "ref/ref_norm.h"
#include "testutil.h"

static const char *kind_name[] = {"batch", "instance", "group", "layer"};

static void check(const float *got, const double *want, int64_t n, double tol, const char *what,
                  const char *part) {
    double e = tu_nrms(got, want, (size_t)n), m = tu_max_abs_diff(got, want, (size_t)n), scale = 1e-30;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    if (!(e <= tol) || !(m <= 20 * tol * scale))
        fail_msg("%s %s: nrms %.3g (tol %.1g), max abs diff %.3g (max |ref| %.3g)", what, part, e, tol, m, scale);
    if (tu_zero_fraction(got, (size_t)n) >= 0.8) fail_msg("%s %s: more than 80%% zeros", what, part);
    print_message("  %-44s %-8s nrms %.2e  max|d| %.2e\n", what, part, e, m);
}

typedef struct {
    medcl_norm_kind kind;
    int training, affine, groups, ndim;
    int64_t N, C, D, H, W;
} ncase;

static void run_case(const ncase *c, tu_rng *r) {
    int64_t S = c->D * c->H * c->W, nx = c->N * c->C * S;
    int64_t xs[5];
    if (c->ndim == 5) {
        int64_t a[5] = {c->N, c->C, c->D, c->H, c->W};
        memcpy(xs, a, sizeof a);
    } else {
        int64_t a[4] = {c->N, c->C, c->H, c->W};
        memcpy(xs, a, sizeof a);
    }
    ref_norm_cfg rc = {(int)c->kind, c->N, c->C, S, c->groups, 1e-5, c->affine};
    int64_t R = ref_norm_rows(&rc), A = ref_norm_aff_numel(&rc);
    float *x = malloc(sizeof(float) * (size_t)nx), *dy = malloc(sizeof(float) * (size_t)nx);
    float *g = malloc(sizeof(float) * (size_t)A), *b = malloc(sizeof(float) * (size_t)A);
    float *dg0 = malloc(sizeof(float) * (size_t)A), *db0 = malloc(sizeof(float) * (size_t)A);
    float rm0[512], rv0[512];
    tu_fill_normal(r, x, (size_t)nx);
    tu_fill_normal(r, dy, (size_t)nx);
    for (int64_t i = 0; i < A; i++) {
        g[i] = (float)(1 + 0.5 * tu_normal(r));
        b[i] = (float)tu_normal(r);
        dg0[i] = (float)tu_normal(r); /* gradients accumulate onto these */
        db0[i] = (float)tu_normal(r);
    }
    assert_true(c->C <= 512);
    for (int64_t i = 0; i < c->C; i++) {
        rm0[i] = (float)(0.3 * tu_normal(r));
        rv0[i] = (float)(0.5 + tu_uniform(r));
    }
    double *xd = tu_to_double(x, nx), *dyd = tu_to_double(dy, nx), *gd = tu_to_double(g, A), *bd = tu_to_double(b, A);
    double *yr = malloc(sizeof(double) * (size_t)nx), *dxr = malloc(sizeof(double) * (size_t)nx);
    double *dgr = tu_to_double(dg0, A), *dbr = tu_to_double(db0, A);
    double *mr = malloc(sizeof(double) * (size_t)R), *rr = malloc(sizeof(double) * (size_t)R);
    double *vu = malloc(sizeof(double) * (size_t)R), rmr[512], rvr[512];
    bool eval = c->kind == MEDCL_NORM_BATCH && !c->training;
    if (eval) {
        for (int64_t i = 0; i < R; i++) mr[i] = rm0[i], rr[i] = 1.0 / sqrt((double)rv0[i] + 1e-5);
        ref_norm_forward_stats(&rc, xd, gd, bd, mr, rr, yr);
        ref_norm_backward_stats(&rc, xd, gd, mr, rr, dyd, dxr, c->affine ? dgr : NULL, c->affine ? dbr : NULL);
    } else {
        ref_norm_forward(&rc, xd, gd, bd, yr, mr, rr, vu);
        ref_norm_backward(&rc, xd, gd, dyd, dxr, c->affine ? dgr : NULL, c->affine ? dbr : NULL);
    }
    for (int64_t i = 0; i < c->C; i++) {
        rmr[i] = rm0[i], rvr[i] = rv0[i];
        if (c->kind == MEDCL_NORM_BATCH && c->training) {
            rmr[i] = 0.9 * rm0[i] + 0.1 * mr[i];
            rvr[i] = 0.9 * rv0[i] + 0.1 * vu[i];
        }
    }

    medcl_norm_params p = MEDCL_NORM_PARAMS_INIT;
    p.kind = c->kind;
    p.training = c->training;
    p.affine = c->affine;
    p.groups = c->groups;
    int64_t rows = 0;
    medcl_tensor *tx = td_tensor(c->ndim, xs, x, "x");
    assert_int_equal(medcl_norm_stat_count(&p, tx, &rows), MEDCL_OK);
    assert_int_equal(rows, R);
    int64_t as[5] = {c->C, c->D, c->H, c->W}, an = c->kind == MEDCL_NORM_LAYER ? c->ndim - 1 : 1;
    if (c->kind == MEDCL_NORM_LAYER && c->ndim == 4) as[1] = c->H, as[2] = c->W;
    medcl_tensor *ty = td_tensor(c->ndim, xs, NULL, "y"), *tdy = td_tensor(c->ndim, xs, dy, "dy");
    medcl_tensor *tdx = td_tensor(c->ndim, xs, NULL, "dx");
    medcl_tensor *tg = td_tensor((int)an, as, g, "gamma"), *tb = td_tensor((int)an, as, b, "beta");
    medcl_tensor *tdg = td_tensor((int)an, as, dg0, "dgamma"), *tdb = td_tensor((int)an, as, db0, "dbeta");
    medcl_tensor *tm = td_tensor(1, &R, NULL, "mean"), *trs = td_tensor(1, &R, NULL, "rstd");
    medcl_tensor *trm = td_tensor(1, &c->C, rm0, "running_mean"), *trv = td_tensor(1, &c->C, rv0, "running_var");
    bool batch = c->kind == MEDCL_NORM_BATCH;
    assert_int_equal(medcl_norm_forward(&p, tx, c->affine ? tg : NULL, c->affine ? tb : NULL, ty, tm, trs,
                                        batch ? trm : NULL, batch ? trv : NULL),
                     MEDCL_OK);
    assert_int_equal(medcl_norm_backward(&p, tx, c->affine ? tg : NULL, tm, trs, tdy, tdx, c->affine ? tdg : NULL,
                                         c->affine ? tdb : NULL),
                     MEDCL_OK);
    char what[160];
    snprintf(what, sizeof what, "%s%s%s %dD %lldx%lld %lldx%lldx%lld", kind_name[c->kind],
             batch ? (c->training ? "/train" : "/eval") : "", c->affine ? "" : " noaff", c->ndim == 5 ? 3 : 2,
             (long long)c->N, (long long)c->C, (long long)c->D, (long long)c->H, (long long)c->W);
    float *y = td_download(ty), *dx = td_download(tdx), *m = td_download(tm), *rs = td_download(trs);
    check(y, yr, nx, 1e-6, what, "y");
    /* means of N(0,1) rows are near 0, so their nrms is relative to a tiny maximum: bound
     * the absolute error instead, against the data's scale (|x| ~ 1) */
    double em = tu_max_abs_diff(m, mr, (size_t)R);
    if (!(em <= 1e-6)) fail_msg("%s mean: max abs diff %.3g > 1e-6", what, em);
    check(rs, rr, R, 1e-6, what, "rstd");
    check(dx, dxr, nx, 1e-6, what, "dx");
    if (c->affine) {
        float *dg = td_download(tdg), *db = td_download(tdb);
        check(dg, dgr, A, 1e-5, what, "dgamma");
        check(db, dbr, A, 1e-5, what, "dbeta");
        free(dg);
        free(db);
    }
    if (batch) {
        float *rm = td_download(trm), *rv = td_download(trv);
        check(rm, rmr, c->C, 1e-6, what, "run_mean");
        check(rv, rvr, c->C, 1e-6, what, "run_var");
        free(rm);
        free(rv);
    }
    /* bitwise determinism: the same call again gives the same bits */
    if (!batch || !c->training) {
        td_poison(ty);
        td_poison(tdx);
        assert_int_equal(medcl_norm_forward(&p, tx, c->affine ? tg : NULL, c->affine ? tb : NULL, ty, tm, trs,
                                            batch ? trm : NULL, batch ? trv : NULL),
                         MEDCL_OK);
        assert_int_equal(medcl_norm_backward(&p, tx, c->affine ? tg : NULL, tm, trs, tdy, tdx, NULL, NULL), MEDCL_OK);
        float *y2 = td_download(ty), *dx2 = td_download(tdx);
        assert_memory_equal(y, y2, sizeof(float) * (size_t)nx);
        assert_memory_equal(dx, dx2, sizeof(float) * (size_t)nx);
        free(y2);
        free(dx2);
    }
    free(y);
    free(dx);
    free(m);
    free(rs);
    medcl_tensor *ts[] = {tx, ty, tdy, tdx, tg, tb, tdg, tdb, tm, trs, trm, trv};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) medcl_tensor_destroy(ts[i]);
    void *hs[] = {x, dy, g, b, dg0, db0, xd, dyd, gd, bd, yr, dxr, dgr, dbr, mr, rr, vu};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) free(hs[i]);
}

static void test_instance(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 31);
    static const ncase cs[] = {
        {MEDCL_NORM_INSTANCE, 1, 1, 1, 4, 2, 32, 1, 64, 64},
        {MEDCL_NORM_INSTANCE, 1, 1, 1, 5, 2, 8, 16, 16, 16},
        {MEDCL_NORM_INSTANCE, 1, 1, 1, 5, 3, 5, 7, 9, 5},
        {MEDCL_NORM_INSTANCE, 1, 0, 1, 4, 2, 3, 1, 17, 13},
        {MEDCL_NORM_INSTANCE, 1, 1, 1, 5, 1, 2, 40, 40, 40}, /* rows of 64000: many chunks */
        {MEDCL_NORM_INSTANCE, 1, 1, 1, 5, 1, 1, 70, 70, 70}, /* 343000: chunks grow past WG*16 */
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) run_case(&cs[i], &r);
}

static void test_batch(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 32);
    static const ncase cs[] = {
        {MEDCL_NORM_BATCH, 1, 1, 1, 4, 2, 32, 1, 64, 64},
        {MEDCL_NORM_BATCH, 1, 1, 1, 5, 2, 8, 16, 16, 16},
        {MEDCL_NORM_BATCH, 1, 1, 1, 5, 3, 5, 7, 9, 5},
        {MEDCL_NORM_BATCH, 0, 1, 1, 4, 2, 32, 1, 64, 64},
        {MEDCL_NORM_BATCH, 0, 1, 1, 5, 3, 5, 7, 9, 5},
        {MEDCL_NORM_BATCH, 1, 0, 1, 4, 4, 3, 1, 11, 7},
        {MEDCL_NORM_BATCH, 1, 1, 1, 5, 2, 2, 70, 66, 60}, /* long runs: grown chunks */
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) run_case(&cs[i], &r);
}

static void test_group_layer(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 33);
    static const ncase cs[] = {
        {MEDCL_NORM_GROUP, 1, 1, 8, 4, 2, 32, 1, 64, 64},
        {MEDCL_NORM_GROUP, 1, 1, 2, 5, 2, 8, 16, 16, 16},
        {MEDCL_NORM_GROUP, 1, 1, 3, 5, 2, 6, 7, 9, 5},
        {MEDCL_NORM_GROUP, 1, 0, 1, 4, 3, 4, 1, 9, 11},
        {MEDCL_NORM_LAYER, 1, 1, 1, 4, 2, 32, 1, 64, 64},
        {MEDCL_NORM_LAYER, 1, 1, 1, 5, 2, 8, 16, 16, 16},
        {MEDCL_NORM_LAYER, 1, 1, 1, 5, 3, 5, 7, 9, 5},
        {MEDCL_NORM_LAYER, 1, 0, 1, 4, 2, 3, 1, 13, 9},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) run_case(&cs[i], &r);
}

/* Reference backward vs central differences of the reference forward, loss = sum y * w. */
static void test_reference_gradients(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 34);
    for (int kind = 0; kind < 4; kind++)
        for (int eval = 0; eval < (kind == 0 ? 2 : 1); eval++) {
            ref_norm_cfg c = {kind, 3, 4, 10, 2, 1e-5, 1};
            int64_t n = c.N * c.C * c.S, A = ref_norm_aff_numel(&c), R = ref_norm_rows(&c);
            double *x = malloc(sizeof(double) * (size_t)n), *w = malloc(sizeof(double) * (size_t)n);
            double *y = malloc(sizeof(double) * (size_t)n), *dx = malloc(sizeof(double) * (size_t)n);
            double *g = malloc(sizeof(double) * (size_t)A), *b = malloc(sizeof(double) * (size_t)A);
            double *dg = calloc((size_t)A, sizeof(double)), *db = calloc((size_t)A, sizeof(double));
            double *m = malloc(sizeof(double) * (size_t)R), *rs = malloc(sizeof(double) * (size_t)R);
            for (int64_t i = 0; i < n; i++) x[i] = tu_normal(&r), w[i] = tu_normal(&r);
            for (int64_t i = 0; i < A; i++) g[i] = 1 + 0.5 * tu_normal(&r), b[i] = tu_normal(&r);
            for (int64_t i = 0; i < R; i++) m[i] = 0.3 * tu_normal(&r), rs[i] = 1 / sqrt(0.5 + tu_uniform(&r));
            if (eval) ref_norm_backward_stats(&c, x, g, m, rs, w, dx, dg, db);
            else ref_norm_backward(&c, x, g, w, dx, dg, db);
            for (int t = 0; t < 24; t++) {
                int which = t % 3; /* x, gamma, beta */
                double *v = which == 0 ? x : which == 1 ? g : b, *an = which == 0 ? dx : which == 1 ? dg : db;
                int64_t i = tu_int(&r, 0, (int)(which == 0 ? n : A) - 1);
                double h = 1e-6, v0 = v[i], l[2];
                for (int sgn = 0; sgn < 2; sgn++) {
                    v[i] = v0 + (sgn ? -h : h);
                    if (eval) ref_norm_forward_stats(&c, x, g, b, m, rs, y);
                    else ref_norm_forward(&c, x, g, b, y, NULL, NULL, NULL);
                    l[sgn] = 0;
                    for (int64_t o = 0; o < n; o++) l[sgn] += y[o] * w[o];
                }
                v[i] = v0;
                double fd = (l[0] - l[1]) / (2 * h);
                if (fabs(fd - an[i]) > 1e-5 * (1 + fabs(an[i])))
                    fail_msg("%s%s: d/d%s[%lld] analytic %.10g, finite difference %.10g", kind_name[kind],
                             eval ? "/eval" : "", which == 0 ? "x" : which == 1 ? "gamma" : "beta", (long long)i,
                             an[i], fd);
            }
            void *hs[] = {x, w, y, dx, g, b, dg, db, m, rs};
            for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) free(hs[i]);
        }
}

static void test_bad_input(void **state) {
    (void)state;
    int64_t xs[4] = {2, 6, 5, 5}, c6 = 6, c5 = 5, r12 = 12;
    medcl_tensor *x = td_tensor(4, xs, NULL, "feat"), *y = td_tensor(4, xs, NULL, "out");
    medcl_tensor *g = td_tensor(1, &c6, NULL, "gamma"), *b = td_tensor(1, &c6, NULL, "beta");
    medcl_tensor *g5 = td_tensor(1, &c5, NULL, "gamma5");
    medcl_tensor *m = td_tensor(1, &r12, NULL, "mean"), *rs = td_tensor(1, &r12, NULL, "rstd");
    medcl_norm_params p = MEDCL_NORM_PARAMS_INIT;
    assert_int_equal(medcl_norm_forward(&p, x, g5, b, y, m, rs, NULL, NULL), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "gamma5"));
    assert_int_equal(medcl_norm_forward(&p, x, g, b, y, m, NULL, NULL, NULL), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_norm_forward(&p, x, NULL, b, y, m, rs, NULL, NULL), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "gamma"));
    medcl_norm_params q = p;
    q.kind = MEDCL_NORM_GROUP;
    q.groups = 4;
    assert_int_equal(medcl_norm_forward(&q, x, g, b, y, NULL, NULL, NULL, NULL), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "groups"));
    q = p;
    q.eps = 0;
    assert_int_equal(medcl_norm_forward(&q, x, g, b, y, NULL, NULL, NULL, NULL), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "eps"));
    q = p;
    q.kind = MEDCL_NORM_BATCH; /* running statistics are required */
    assert_int_equal(medcl_norm_forward(&q, x, g, b, y, NULL, NULL, NULL, NULL), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "running_mean"));
    /* batch training with one value per channel */
    int64_t one[4] = {1, 6, 1, 1};
    medcl_tensor *x1 = td_tensor(4, one, NULL, "single"), *y1 = td_tensor(4, one, NULL, "single_out");
    assert_int_equal(medcl_norm_forward(&q, x1, g, b, y1, NULL, NULL, g, b), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "single"));
    /* backward: wrong mean size, nothing to compute */
    assert_int_equal(medcl_norm_backward(&p, x, g, g, rs, y, y, NULL, NULL), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "mean"));
    assert_int_equal(medcl_norm_backward(&p, x, g, m, rs, y, NULL, NULL, NULL), MEDCL_ERR_INVALID_ARG);
    medcl_tensor *ts[] = {x, y, g, b, g5, m, rs, x1, y1};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) medcl_tensor_destroy(ts[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instance),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_group_layer),
        cmocka_unit_test(test_reference_gradients),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
