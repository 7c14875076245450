/* tests/test_op_conv.c — convolution forward, backward-data, backward-weight (+ bias) on the
 * device against the float64 reference (tests/ref/ref_conv.c), in two tiers: integer inputs
 * (exact) and N(0,1) inputs (normalized RMS error). Shapes: odd sizes, stride 2, dilation 2,
 * groups 2, depthwise, 1x1 (CLBlast path), 2D (4-D tensors) and 3D, kernels 1/3/5/7 and
 * anisotropic, bias with fused ReLU / LeakyReLU / GELU; backward-data's stride phases with
 * anisotropic stride (1,2,2), stride with dilation (phases without taps), stride > kernel.
 * MEDCL_CONV_TUNE runs the same cases with other tiles (e.g. the GPU defines on PoCL). Also: finite differences of the
 * reference backward, bitwise run-to-run determinism of the weight gradient, bad shapes.
 * The case runner is shared with tests/test_op_conv_transpose.c (which includes this file
 * with CONV_TEST_NO_MAIN defined). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/ops_conv.h"
#include "ref/ref_conv.h"
#include "testutil.h"

typedef struct conv_case {
    const char *name;
    int ndim; /* 4: 2D tensors (D = 1), 5: 3D */
    int N, Cin, Cout, D, H, W;
    int k[3], s[3], p[3], dil[3], op[3];
    int groups;
    int bias;
    medcl_activation act;
} conv_case;

static double *to_double(const float *a, size_t n) {
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

static double max_abs_d(const double *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* integer tier: exact; normal tier: nrms <= tol and a per-element bound for gross bugs */
static void compare(const char *what, const conv_case *c, int tier_int, const float *got,
                    const double *want, size_t n, double tol) {
    double zf = tu_zero_fraction(got, n);
    if (zf >= 0.8) fail_msg("%s %s: %.0f%% of outputs are zero; the comparison does not count", c->name, what, zf * 100);
    if (tier_int) {
        for (size_t i = 0; i < n; i++)
            if (got[i] != (float)want[i])
                fail_msg("%s %s (integer tier): element %zu = %.9g, expected %.9g", c->name, what, i,
                         (double)got[i], want[i]);
        return;
    }
    double e = tu_nrms(got, want, n);
    double bound = 1e-4 * (1.0 + max_abs_d(want, n));
    double md = tu_max_abs_diff(got, want, n);
    if (!(e <= tol) || !(md <= bound))
        fail_msg("%s %s: nrms %.3g (limit %.1g), max |diff| %.3g (limit %.3g)", c->name, what, e, tol, md, bound);
    if (getenv("CONV_TEST_VERBOSE")) printf("  %-28s %-12s nrms %.2e\n", c->name, what, e);
}

static void fill(tu_rng *r, float *x, size_t n, int tier_int, int lo, int hi) {
    if (tier_int) tu_fill_int(r, x, n, lo, hi);
    else tu_fill_normal(r, x, n);
}

/* Runs forward, backward-data and backward-weight of one case (transposed or not) in one tier. */
static void run_case(const conv_case *c, int transposed, int tier_int, tu_rng *r) {
    medcl_conv_params p = MEDCL_CONV_PARAMS_INIT;
    for (int a = 0; a < 3; a++) {
        p.kernel[a] = c->k[a];
        p.stride[a] = c->s[a];
        p.pad[a] = c->p[a];
        p.dilation[a] = c->dil[a];
        p.output_pad[a] = c->op[a];
    }
    p.groups = c->groups;
    p.activation = c->act;
    p.slope = tier_int ? 0.25f : 0.01f;
    int nd = c->ndim;
    int64_t xs[5], ys[5], ws[5];
    if (nd == 5) {
        int64_t t[5] = {c->N, c->Cin, c->D, c->H, c->W};
        memcpy(xs, t, sizeof t);
    } else {
        int64_t t[4] = {c->N, c->Cin, c->H, c->W};
        memcpy(xs, t, sizeof t);
    }
    medcl_status st = transposed ? medcl_conv_transpose_output_shape(&p, nd, xs, c->Cout, ys)
                                 : medcl_conv_output_shape(&p, nd, xs, c->Cout, ys);
    if (st != MEDCL_OK) fail_msg("%s: output shape: %s", c->name, medcl_last_error());
    /* weight: conv (Cout, Cin/g, k), transposed (Cin, Cout/g, k) */
    ws[0] = transposed ? c->Cin : c->Cout;
    ws[1] = transposed ? c->Cout / c->groups : c->Cin / c->groups;
    int wnd = nd;
    if (nd == 5) {
        ws[2] = c->k[0];
        ws[3] = c->k[1];
        ws[4] = c->k[2];
    } else {
        ws[2] = c->k[1];
        ws[3] = c->k[2];
    }
    /* the reference convolution: for a transposed op, the conv from y's shape to x's */
    ref_conv g;
    memset(&g, 0, sizeof g);
    const int64_t *gin = transposed ? ys : xs, *gout = transposed ? xs : ys;
    g.N = c->N;
    g.Cin = (int)gin[1];
    g.Cout = (int)gout[1];
    g.Di = nd == 5 ? (int)gin[2] : 1;
    g.Hi = (int)gin[nd - 2];
    g.Wi = (int)gin[nd - 1];
    for (int a = 0; a < 3; a++) {
        g.k[a] = c->k[a];
        g.s[a] = c->s[a];
        g.p[a] = c->p[a];
        g.dil[a] = c->dil[a];
    }
    g.groups = c->groups;
    assert_true(ref_conv_init(&g));
    assert_int_equal(g.Do, nd == 5 ? gout[2] : 1);
    assert_int_equal(g.Ho, gout[nd - 2]);
    assert_int_equal(g.Wo, gout[nd - 1]);

    size_t nx = 1, ny = 1, nw = 1;
    for (int a = 0; a < nd; a++) {
        nx *= (size_t)xs[a];
        ny *= (size_t)ys[a];
    }
    for (int a = 0; a < wnd; a++) nw *= (size_t)ws[a];
    int cb = c->Cout; /* bias over the op's output channels */
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)cb * 4);
    float *dy = malloc(ny * 4), *dw0 = malloc(nw * 4), *db0 = malloc((size_t)cb * 4);
    fill(r, x, nx, tier_int, -3, 3);
    fill(r, w, nw, tier_int, -2, 2);
    fill(r, b, (size_t)cb, tier_int, -4, 4);
    fill(r, dy, ny, tier_int, -3, 3);
    fill(r, dw0, nw, tier_int, -5, 5);
    fill(r, db0, (size_t)cb, tier_int, -5, 5);
    double *xd = to_double(x, nx), *wd = to_double(w, nw), *bd = to_double(b, (size_t)cb);
    double *dyd = to_double(dy, ny);
    double *yref = malloc(ny * 8), *dxref = malloc(nx * 8), *dwref = malloc(nw * 8), *dbref = malloc((size_t)cb * 8);

    medcl_tensor *tx = td_tensor(nd, xs, x, "x"), *tw = td_tensor(wnd, ws, w, "w");
    int64_t cb64 = cb;
    medcl_tensor *tb = td_tensor(1, &cb64, b, "b"), *ty = td_tensor(nd, ys, NULL, "y");
    medcl_tensor *tdy = td_tensor(nd, ys, dy, "dy"), *tdx = td_tensor(nd, xs, NULL, "dx");
    medcl_tensor *tdw = td_tensor(wnd, ws, dw0, "dw"), *tdb = td_tensor(1, &cb64, db0, "db");

    /* forward */
    const medcl_tensor *bias = c->bias ? tb : NULL;
    st = transposed ? medcl_conv_transpose_forward(tx, tw, bias, ty, &p) : medcl_conv_forward(tx, tw, bias, ty, &p);
    if (st != MEDCL_OK) fail_msg("%s forward: %s", c->name, medcl_last_error());
    if (transposed) ref_conv_transpose_forward(&g, xd, wd, c->bias ? bd : NULL, (int)c->act, p.slope, yref);
    else ref_conv_forward(&g, xd, wd, c->bias ? bd : NULL, (int)c->act, p.slope, yref);
    float *got = td_download(ty);
    compare("forward", c, tier_int, got, yref, ny, 1e-6);
    free(got);

    /* backward-data (assigns: dx was poisoned) */
    st = transposed ? medcl_conv_transpose_backward_data(tdy, tw, tdx, &p) : medcl_conv_backward_data(tdy, tw, tdx, &p);
    if (st != MEDCL_OK) fail_msg("%s backward-data: %s", c->name, medcl_last_error());
    if (transposed) ref_conv_transpose_backward_data(&g, dyd, wd, dxref);
    else ref_conv_backward_data(&g, dyd, wd, dxref);
    got = td_download(tdx);
    compare("backward-data", c, tier_int, got, dxref, nx, 1e-6);
    free(got);

    /* backward-weight (accumulates onto dw0, db0) */
    st = transposed ? medcl_conv_transpose_backward_weight(tx, tdy, tdw, c->bias ? tdb : NULL, &p)
                    : medcl_conv_backward_weight(tx, tdy, tdw, c->bias ? tdb : NULL, &p);
    if (st != MEDCL_OK) fail_msg("%s backward-weight: %s", c->name, medcl_last_error());
    if (transposed) ref_conv_transpose_backward_weight(&g, xd, dyd, dwref, dbref);
    else ref_conv_backward_weight(&g, xd, dyd, dwref, dbref);
    for (size_t i = 0; i < nw; i++) dwref[i] += dw0[i];
    for (int i = 0; i < cb; i++) dbref[i] += db0[i];
    got = td_download(tdw);
    compare("backward-weight", c, tier_int, got, dwref, nw, 1e-5);
    free(got);
    if (c->bias) {
        got = td_download(tdb);
        compare("bias-grad", c, tier_int, got, dbref, (size_t)cb, 1e-5);
        free(got);
    }

    medcl_tensor *ts[] = {tx, tw, tb, ty, tdy, tdx, tdw, tdb};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) medcl_tensor_destroy(ts[i]);
    free(x); free(w); free(b); free(dy); free(dw0); free(db0);
    free(xd); free(wd); free(bd); free(dyd);
    free(yref); free(dxref); free(dwref); free(dbref);
}

static void run_cases(const conv_case *cs, size_t n, int transposed) {
    tu_rng r = tu_rng_make(tu_seed() + (uint64_t)transposed * 7919);
    for (size_t i = 0; i < n; i++) {
        int int_ok = cs[i].act == MEDCL_ACT_NONE || cs[i].act == MEDCL_ACT_RELU || cs[i].act == MEDCL_ACT_LEAKY_RELU;
        if (int_ok) run_case(&cs[i], transposed, 1, &r);
        run_case(&cs[i], transposed, 0, &r);
    }
}

/* Central differences of L = sum(r * f(x, w, b)) in float64 against the reference backward. */
static void fd_check(const ref_conv *g0, int transposed, uint64_t seed) {
    ref_conv g = *g0;
    assert_true(ref_conv_init(&g));
    tu_rng r = tu_rng_make(seed);
    size_t nin = transposed ? ref_conv_y_numel(&g) : ref_conv_x_numel(&g);
    size_t nout = transposed ? ref_conv_x_numel(&g) : ref_conv_y_numel(&g);
    size_t nw = ref_conv_w_numel(&g);
    int cb = transposed ? g.Cin : g.Cout;
    double *x = malloc(nin * 8), *w = malloc(nw * 8), *b = malloc((size_t)cb * 8), *rr = malloc(nout * 8);
    double *y = malloc(nout * 8), *dx = malloc(nin * 8), *dw = malloc(nw * 8), *db = malloc((size_t)cb * 8);
    for (size_t i = 0; i < nin; i++) x[i] = tu_normal(&r);
    for (size_t i = 0; i < nw; i++) w[i] = tu_normal(&r);
    for (int i = 0; i < cb; i++) b[i] = tu_normal(&r);
    for (size_t i = 0; i < nout; i++) rr[i] = tu_normal(&r);
    if (transposed) {
        ref_conv_transpose_backward_data(&g, rr, w, dx);
        ref_conv_transpose_backward_weight(&g, x, rr, dw, db);
    } else {
        ref_conv_backward_data(&g, rr, w, dx);
        ref_conv_backward_weight(&g, x, rr, dw, db);
    }
#define LOSS(out)                                                                          \
    do {                                                                                   \
        if (transposed) ref_conv_transpose_forward(&g, x, w, b, 0, 0.0, y);                \
        else ref_conv_forward(&g, x, w, b, 0, 0.0, y);                                     \
        out = 0;                                                                           \
        for (size_t q = 0; q < nout; q++) out += rr[q] * y[q];                            \
    } while (0)
    const double eps = 1e-6;
    double worst = 0;
    for (int t = 0; t < 8; t++) {
        double *arrs[3] = {x, w, b}, *grads[3] = {dx, dw, db};
        size_t ns[3] = {nin, nw, (size_t)cb};
        for (int which = 0; which < 3; which++) {
            size_t i = (size_t)tu_int(&r, 0, (int)ns[which] - 1);
            double keep = arrs[which][i], lp, lm;
            arrs[which][i] = keep + eps;
            LOSS(lp);
            arrs[which][i] = keep - eps;
            LOSS(lm);
            arrs[which][i] = keep;
            double fd = (lp - lm) / (2 * eps), an = grads[which][i];
            double err = fabs(fd - an) / fmax(1.0, fabs(an));
            if (err > worst) worst = err;
            if (err > 1e-6) fail_msg("finite differences (%s): %s[%zu] analytic %.12g, numeric %.12g",
                                     transposed ? "transposed" : "conv", which == 0 ? "x" : which == 1 ? "w" : "b", i, an, fd);
        }
    }
#undef LOSS
    if (getenv("CONV_TEST_VERBOSE")) printf("  fd %s: worst relative error %.2e\n", transposed ? "transposed" : "conv", worst);
    free(x); free(w); free(b); free(rr); free(y); free(dx); free(dw); free(db);
}

static void expect_error(medcl_status got, medcl_status want, const char *s1, const char *s2) {
    assert_int_equal(got, want);
    const char *m = medcl_last_error();
    if (s1 && !strstr(m, s1)) fail_msg("message \"%s\" does not name \"%s\"", m, s1);
    if (s2 && !strstr(m, s2)) fail_msg("message \"%s\" does not name \"%s\"", m, s2);
}

#ifndef CONV_TEST_NO_MAIN

#define K3(a, b, c) {a, b, c}
static const conv_case conv_cases[] = {
    /* name             nd  N Cin Cout D  H  W   kernel      stride      pad         dil         op  g bias act */
    {"2d 13x11 k3",      4, 2, 3, 5, 1, 13, 11, K3(1, 3, 3), K3(1, 1, 1), K3(0, 1, 1), K3(1, 1, 1), K3(0, 0, 0), 1, 1, MEDCL_ACT_RELU},
    {"2d stride 2",      4, 2, 4, 6, 1, 13, 11, K3(1, 3, 3), K3(1, 2, 2), K3(0, 1, 1), K3(1, 1, 1), K3(0, 0, 0), 1, 1, MEDCL_ACT_LEAKY_RELU},
    /* rows of >= 16 outputs: the CPU kernels' vector loads (stride 1 and every other input at
     * stride 2) next to their per-element borders */
    {"2d wide rows",     4, 2, 3, 4, 1, 5, 37,  K3(1, 3, 3), K3(1, 1, 1), K3(0, 1, 1), K3(1, 1, 1), K3(0, 0, 0), 1, 1, MEDCL_ACT_NONE},
    {"2d wide stride 2", 4, 2, 3, 4, 1, 6, 41,  K3(1, 3, 3), K3(1, 2, 2), K3(0, 1, 1), K3(1, 1, 1), K3(0, 0, 0), 1, 0, MEDCL_ACT_NONE},
    {"2d dilation 2",    4, 1, 4, 4, 1, 15, 14, K3(1, 3, 3), K3(1, 1, 1), K3(0, 2, 2), K3(1, 2, 2), K3(0, 0, 0), 1, 0, MEDCL_ACT_NONE},
    {"2d groups 2",      4, 2, 4, 6, 1, 9, 10,  K3(1, 3, 3), K3(1, 1, 1), K3(0, 1, 1), K3(1, 1, 1), K3(0, 0, 0), 2, 1, MEDCL_ACT_NONE},
    {"2d depthwise k5",  4, 2, 6, 6, 1, 12, 9,  K3(1, 5, 5), K3(1, 1, 1), K3(0, 2, 2), K3(1, 1, 1), K3(0, 0, 0), 6, 1, MEDCL_ACT_LEAKY_RELU},
    {"2d 1x1 clblast",   4, 2, 8, 12, 1, 7, 9,  K3(1, 1, 1), K3(1, 1, 1), K3(0, 0, 0), K3(1, 1, 1), K3(0, 0, 0), 1, 1, MEDCL_ACT_RELU},
    {"2d 1x1 groups 2",  4, 2, 8, 6, 1, 5, 6,   K3(1, 1, 1), K3(1, 1, 1), K3(0, 0, 0), K3(1, 1, 1), K3(0, 0, 0), 2, 0, MEDCL_ACT_NONE},
    {"2d k7",            4, 1, 2, 3, 1, 17, 15, K3(1, 7, 7), K3(1, 1, 1), K3(0, 3, 3), K3(1, 1, 1), K3(0, 0, 0), 1, 1, MEDCL_ACT_GELU},
    {"2d 40->70 tiles",  4, 1, 40, 70, 1, 10, 9, K3(1, 3, 3), K3(1, 1, 1), K3(0, 1, 1), K3(1, 1, 1), K3(0, 0, 0), 1, 1, MEDCL_ACT_NONE},
    {"3d k3",            5, 2, 3, 4, 7, 6, 5,   K3(3, 3, 3), K3(1, 1, 1), K3(1, 1, 1), K3(1, 1, 1), K3(0, 0, 0), 1, 1, MEDCL_ACT_LEAKY_RELU},
    {"3d stride 2",      5, 1, 4, 8, 9, 8, 7,   K3(3, 3, 3), K3(2, 2, 2), K3(1, 1, 1), K3(1, 1, 1), K3(0, 0, 0), 1, 1, MEDCL_ACT_RELU},
    {"3d 1x3x3",         5, 2, 3, 5, 5, 9, 8,   K3(1, 3, 3), K3(1, 1, 1), K3(0, 1, 1), K3(1, 1, 1), K3(0, 0, 0), 1, 0, MEDCL_ACT_NONE},
    {"3d mixed k/s/dil", 5, 1, 2, 4, 9, 10, 11, K3(3, 5, 2), K3(2, 1, 2), K3(1, 2, 0), K3(1, 2, 1), K3(0, 0, 0), 2, 1, MEDCL_ACT_NONE},
    {"3d 1x1x1 clblast", 5, 2, 6, 4, 3, 4, 5,   K3(1, 1, 1), K3(1, 1, 1), K3(0, 0, 0), K3(1, 1, 1), K3(0, 0, 0), 1, 1, MEDCL_ACT_LEAKY_RELU},
    {"3d 16^3 chunked",  5, 2, 4, 4, 16, 16, 16, K3(3, 3, 3), K3(1, 1, 1), K3(1, 1, 1), K3(1, 1, 1), K3(0, 0, 0), 1, 1, MEDCL_ACT_NONE},
    /* backward-data stride phases: anisotropic stride, stride with dilation (some phases get
     * no taps), stride > kernel, odd extents so phases differ in size */
    {"3d s(1,2,2) phases", 5, 2, 5, 6, 5, 9, 10, K3(3, 3, 3), K3(1, 2, 2), K3(1, 1, 1), K3(1, 1, 1), K3(0, 0, 0), 1, 1, MEDCL_ACT_NONE},
    {"2d s2 dil2 phases", 4, 2, 3, 4, 1, 13, 12, K3(1, 3, 3), K3(1, 2, 2), K3(0, 2, 1), K3(1, 2, 2), K3(0, 0, 0), 1, 0, MEDCL_ACT_NONE},
    {"2d s3 dil2 k5",    4, 1, 4, 3, 1, 17, 16, K3(1, 5, 5), K3(1, 3, 3), K3(0, 3, 2), K3(1, 2, 2), K3(0, 0, 0), 1, 0, MEDCL_ACT_NONE},
    {"3d s(2,3,1) dil",  5, 1, 3, 4, 8, 11, 7,  K3(3, 2, 3), K3(2, 3, 1), K3(1, 0, 2), K3(1, 2, 3), K3(0, 0, 0), 1, 1, MEDCL_ACT_NONE},
    {"2d k1 s2",         4, 2, 6, 5, 1, 9, 8,   K3(1, 1, 1), K3(1, 2, 2), K3(0, 0, 0), K3(1, 1, 1), K3(0, 0, 0), 1, 0, MEDCL_ACT_NONE},
};

static void test_conv_cases(void **state) {
    (void)state;
    run_cases(conv_cases, sizeof conv_cases / sizeof conv_cases[0], 0);
}

static void test_conv_finite_differences(void **state) {
    (void)state;
    ref_conv a = {.N = 2, .Cin = 2, .Cout = 3, .Di = 5, .Hi = 4, .Wi = 4, .k = {3, 3, 3}, .s = {2, 1, 2},
                  .p = {1, 1, 0}, .dil = {1, 1, 1}, .groups = 1};
    ref_conv b = {.N = 1, .Cin = 4, .Cout = 2, .Di = 1, .Hi = 9, .Wi = 8, .k = {1, 3, 3}, .s = {1, 1, 1},
                  .p = {0, 2, 1}, .dil = {1, 2, 2}, .groups = 2};
    ref_conv c = {.N = 1, .Cin = 2, .Cout = 3, .Di = 4, .Hi = 7, .Wi = 9, .k = {2, 3, 3}, .s = {1, 2, 3},
                  .p = {0, 2, 1}, .dil = {1, 2, 2}, .groups = 1};
    fd_check(&a, 0, tu_seed() + 11);
    fd_check(&b, 0, tu_seed() + 12);
    fd_check(&c, 0, tu_seed() + 13);
}

/* Same inputs twice: the chunked weight gradient must be bitwise identical. */
static void test_conv_weight_determinism(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 3);
    medcl_conv_params p = MEDCL_CONV_PARAMS_INIT;
    for (int a = 0; a < 3; a++) {
        p.kernel[a] = 3;
        p.pad[a] = 1;
    }
    int64_t xs[5] = {2, 4, 20, 20, 20}, ws[5] = {4, 4, 3, 3, 3}, ys[5];
    assert_int_equal(medcl_conv_output_shape(&p, 5, xs, 4, ys), MEDCL_OK);
    size_t nx = 2 * 4 * 8000, nw = 4 * 4 * 27;
    float *x = malloc(nx * 4), *dy = malloc(nx * 4);
    tu_fill_normal(&r, x, nx);
    tu_fill_normal(&r, dy, nx);
    medcl_tensor *tx = td_tensor(5, xs, x, "x"), *tdy = td_tensor(5, ys, dy, "dy");
    medcl_tensor *tw1 = td_tensor(5, ws, NULL, "dw1"), *tw2 = td_tensor(5, ws, NULL, "dw2");
    int64_t c = 4;
    medcl_tensor *tb1 = td_tensor(1, &c, NULL, "db1"), *tb2 = td_tensor(1, &c, NULL, "db2");
    medcl_tensor *outs[4] = {tw1, tw2, tb1, tb2};
    for (int i = 0; i < 4; i++) assert_int_equal(medcl_fill(outs[i], 0.0f), MEDCL_OK);
    assert_int_equal(medcl_conv_backward_weight(tx, tdy, tw1, tb1, &p), MEDCL_OK);
    assert_int_equal(medcl_conv_backward_weight(tx, tdy, tw2, tb2, &p), MEDCL_OK);
    float *a1 = td_download(tw1), *a2 = td_download(tw2), *b1 = td_download(tb1), *b2 = td_download(tb2);
    assert_memory_equal(a1, a2, nw * 4);
    assert_memory_equal(b1, b2, 16);
    assert_true(tu_zero_fraction(a1, nw) < 0.8);
    free(a1); free(a2); free(b1); free(b2); free(x); free(dy);
    for (int i = 0; i < 4; i++) medcl_tensor_destroy(outs[i]);
    medcl_tensor_destroy(tx);
    medcl_tensor_destroy(tdy);
}

static void test_conv_bad_input(void **state) {
    (void)state;
    medcl_conv_params p = MEDCL_CONV_PARAMS_INIT;
    p.kernel[1] = p.kernel[2] = 3;
    p.pad[1] = p.pad[2] = 1;
    int64_t xs[4] = {2, 3, 8, 8}, ws[4] = {5, 3, 3, 3}, ys[4] = {2, 5, 8, 8}, bad_y[4] = {2, 5, 8, 7};
    int64_t bad_w[4] = {5, 2, 3, 3}, c5 = 5, c4 = 4;
    medcl_tensor *x = td_tensor(4, xs, NULL, "image"), *w = td_tensor(4, ws, NULL, "kernel");
    medcl_tensor *y = td_tensor(4, ys, NULL, "feat"), *yb = td_tensor(4, bad_y, NULL, "narrow");
    medcl_tensor *wb = td_tensor(4, bad_w, NULL, "thin"), *b4 = td_tensor(1, &c4, NULL, "bias4");
    medcl_tensor *b5 = td_tensor(1, &c5, NULL, "bias5");
    expect_error(medcl_conv_forward(x, w, NULL, yb, &p), MEDCL_ERR_SHAPE, "narrow", "W = 7");
    expect_error(medcl_conv_forward(x, wb, NULL, y, &p), MEDCL_ERR_SHAPE, "thin", "dim 1");
    expect_error(medcl_conv_forward(x, w, b4, y, &p), MEDCL_ERR_SHAPE, "bias4", "4");
    expect_error(medcl_conv_forward(NULL, w, NULL, y, &p), MEDCL_ERR_INVALID_ARG, "x", "NULL");
    expect_error(medcl_conv_backward_data(y, w, NULL, &p), MEDCL_ERR_INVALID_ARG, "dx", NULL);
    expect_error(medcl_conv_backward_weight(x, yb, w, b5, &p), MEDCL_ERR_SHAPE, "narrow", NULL);
    medcl_conv_params q = p;
    q.kernel[2] = 8;
    expect_error(medcl_conv_forward(x, w, NULL, y, &q), MEDCL_ERR_INVALID_ARG, "kernel[2]", "8");
    q = p;
    q.groups = 2;
    expect_error(medcl_conv_forward(x, w, NULL, y, &q), MEDCL_ERR_SHAPE, "groups", "image");
    q = p;
    q.stride[1] = 0;
    expect_error(medcl_conv_forward(x, w, NULL, y, &q), MEDCL_ERR_INVALID_ARG, "stride[1]", NULL);
    q = p;
    q.kernel[0] = 3;
    expect_error(medcl_conv_forward(x, w, NULL, y, &q), MEDCL_ERR_SHAPE, NULL, NULL);
    /* integer tensor */
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.dtype = MEDCL_DTYPE_I32;
    d.ndim = 4;
    memcpy(d.shape, xs, sizeof xs);
    d.name = "labels";
    medcl_tensor *xi = NULL;
    assert_int_equal(medcl_tensor_create(td_ctx(), &d, &xi), MEDCL_OK);
    expect_error(medcl_conv_forward(xi, w, NULL, y, &p), MEDCL_ERR_INVALID_ARG, "labels", "i32");
    /* shape function */
    int64_t out[4];
    int64_t tiny[4] = {1, 3, 2, 2};
    q = p;
    q.pad[1] = q.pad[2] = 0;
    expect_error(medcl_conv_output_shape(&q, 4, tiny, 5, out), MEDCL_ERR_SHAPE, "H = 2", NULL);
    assert_int_equal(medcl_conv_output_shape(&p, 4, xs, 5, out), MEDCL_OK);
    assert_int_equal(out[1], 5);
    assert_int_equal(out[2], 8);
    assert_int_equal(out[3], 8);
    medcl_tensor *ts[] = {x, w, y, yb, wb, b4, b5, xi};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) medcl_tensor_destroy(ts[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_cases),
        cmocka_unit_test(test_conv_finite_differences),
        cmocka_unit_test(test_conv_weight_determinism),
        cmocka_unit_test(test_conv_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
#endif
