/* tests/test_op_activation.c — activations (ReLU, LeakyReLU, sigmoid, tanh, GELU) and PReLU,
 * forward and backward, against the float64 references in tests/ref/ref_act.c: integer inputs
 * bit-exact where the op is exact on integers, N(0,1) inputs by normalized RMS error, the
 * reference backward against central differences, ranks 1..5 at odd sizes, views, a reshape
 * view, determinism of the slope gradient and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/ops_act.h"
#include "ops/ops_internal.h"
#include "ref/ref_act.h"
#include "testutil.h"

/* the variant lists of this family of ops (src/ops/registry.c collects them) */
medcl_status medcl_activation_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_softmax_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_concat_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_broadcast_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_linear_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_dropout_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);

static const char *act_name[] = {"none", "relu", "leaky_relu", "sigmoid", "tanh", "gelu"};

/* shapes of rank 1..5 with odd extents */
static const int64_t shapes[][5] = {{1001}, {7, 13}, {3, 5, 67}, {2, 3, 9, 11}, {3, 5, 3, 7, 11}};
static const int ranks[] = {1, 2, 3, 4, 5};

static int64_t numel_of(int r, const int64_t *s) {
    int64_t n = 1;
    for (int k = 0; k < r; k++) n *= s[k];
    return n;
}

static float *fresh(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    return p;
}

/* ReLU, LeakyReLU (slopes 0.25 and 0.01) and identity are exact on integer inputs. */
static void test_act_integer_exact(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 11);
    const int acts[] = {MEDCL_ACT_NONE, MEDCL_ACT_RELU, MEDCL_ACT_LEAKY_RELU, MEDCL_ACT_LEAKY_RELU};
    const float slopes[] = {0.0f, 0.0f, 0.25f, 0.01f};
    for (size_t si = 0; si < sizeof ranks / sizeof ranks[0]; si++) {
        int64_t n = numel_of(ranks[si], shapes[si]);
        float *x = fresh((size_t)n), *dy = fresh((size_t)n);
        tu_fill_int(&r, x, (size_t)n, -9, 9);
        tu_fill_int(&r, dy, (size_t)n, -9, 9);
        for (int64_t i = 0; i < n; i++) {
            if (x[i] == 0) x[i] = 1; /* keep the zero fraction of the outputs low */
            if (dy[i] == 0) dy[i] = -1;
        }
        double *xd = ref_to_double(x, (size_t)n), *dyd = ref_to_double(dy, (size_t)n);
        double *want = malloc((size_t)n * sizeof *want);
        medcl_tensor *tx = td_tensor(ranks[si], shapes[si], x, "x");
        medcl_tensor *tdy = td_tensor(ranks[si], shapes[si], dy, "dy");
        medcl_tensor *ty = td_tensor(ranks[si], shapes[si], NULL, "y");
        for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
            medcl_activation_params p = MEDCL_ACTIVATION_PARAMS_INIT;
            p.act = (medcl_activation)acts[a];
            p.slope = slopes[a];
            td_poison(ty);
            assert_int_equal(medcl_activation_forward(&p, tx, ty), MEDCL_OK);
            float *got = td_download(ty);
            ref_act_forward(acts[a], (double)slopes[a], xd, want, (size_t)n);
            tu_expect_exact(got, want, n, act_name[acts[a]]);
            free(got);
            td_poison(ty);
            assert_int_equal(medcl_activation_backward(&p, tx, tdy, ty), MEDCL_OK);
            got = td_download(ty);
            ref_act_backward(acts[a], (double)slopes[a], xd, dyd, want, (size_t)n);
            tu_expect_exact(got, want, n, act_name[acts[a]]);
            free(got);
        }
        medcl_tensor_destroy(tx);
        medcl_tensor_destroy(tdy);
        medcl_tensor_destroy(ty);
        free(x);
        free(dy);
        free(xd);
        free(dyd);
        free(want);
    }
}

/* Every activation on N(0,1) inputs (scaled by 3 to reach the tails), forward and backward. */
static void test_act_normal(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 12);
    for (int act = 0; act < MEDCL_ACT_COUNT; act++) {
        for (size_t si = 0; si < sizeof ranks / sizeof ranks[0]; si += 2) {
            int64_t n = numel_of(ranks[si], shapes[si]);
            float *x = fresh((size_t)n), *dy = fresh((size_t)n);
            tu_fill_normal(&r, x, (size_t)n);
            for (int64_t i = 0; i < n; i++) x[i] *= 3.0f;
            tu_fill_normal(&r, dy, (size_t)n);
            double *xd = ref_to_double(x, (size_t)n), *dyd = ref_to_double(dy, (size_t)n);
            double *want = malloc((size_t)n * sizeof *want);
            medcl_tensor *tx = td_tensor(ranks[si], shapes[si], x, "x");
            medcl_tensor *tdy = td_tensor(ranks[si], shapes[si], dy, "dy");
            medcl_tensor *ty = td_tensor(ranks[si], shapes[si], NULL, "y");
            medcl_activation_params p = MEDCL_ACTIVATION_PARAMS_INIT;
            p.act = (medcl_activation)act;
            p.slope = 0.01f;
            char what[64];
            assert_int_equal(medcl_activation_forward(&p, tx, ty), MEDCL_OK);
            float *got = td_download(ty);
            ref_act_forward(act, (double)p.slope, xd, want, (size_t)n);
            snprintf(what, sizeof what, "%s forward rank %d", act_name[act], ranks[si]);
            tu_expect_close(got, want, n, 1e-6, 1e-5, what);
            free(got);
            td_poison(ty);
            assert_int_equal(medcl_activation_backward(&p, tx, tdy, ty), MEDCL_OK);
            got = td_download(ty);
            ref_act_backward(act, (double)p.slope, xd, dyd, want, (size_t)n);
            snprintf(what, sizeof what, "%s backward rank %d", act_name[act], ranks[si]);
            tu_expect_close(got, want, n, 1e-6, 1e-5, what);
            free(got);
            /* in place: y = act(y) */
            assert_int_equal(medcl_tensor_upload(ty, x, (size_t)n * 4), MEDCL_OK);
            assert_int_equal(medcl_activation_forward(&p, ty, ty), MEDCL_OK);
            got = td_download(ty);
            ref_act_forward(act, (double)p.slope, xd, want, (size_t)n);
            tu_expect_close(got, want, n, 1e-6, 1e-5, "in place");
            free(got);
            medcl_tensor_destroy(tx);
            medcl_tensor_destroy(tdy);
            medcl_tensor_destroy(ty);
            free(x);
            free(dy);
            free(xd);
            free(dyd);
            free(want);
        }
    }
}

typedef struct {
    int act;
    double slope;
    size_t n;
} act_fd_ctx;

static void act_fd_fn(const double *x, double *y, void *c) {
    act_fd_ctx *a = c;
    ref_act_forward(a->act, a->slope, x, y, a->n);
}

/* The float64 reference backward against central differences of the reference forward. */
static void test_act_gradcheck(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 13);
    enum { N = 64 };
    double x[N], dy[N], dx[N];
    for (int act = 0; act < MEDCL_ACT_COUNT; act++) {
        for (int i = 0; i < N; i++) {
            x[i] = 3 * tu_normal(&r);
            if (fabs(x[i]) < 1e-3) x[i] = 0.5; /* away from the kink of relu */
            dy[i] = tu_normal(&r);
        }
        act_fd_ctx c = {act, 0.01, N};
        ref_act_backward(act, 0.01, x, dy, dx, N);
        double worst = 0;
        for (int t = 0; t < 8; t++) {
            size_t i = (size_t)tu_int(&r, 0, N - 1);
            double fd = ref_fd_grad(act_fd_fn, &c, x, N, dy, i, 1e-6);
            double e = fabs(fd - dx[i]) / (1.0 + fabs(dx[i]));
            if (e > worst) worst = e;
        }
        print_message("  %-12s reference backward vs central differences: %.2e\n", act_name[act], worst);
        assert_true(worst < 1e-7);
    }
}

/* PReLU, per-channel and shared slope: integer tier exact, N(0,1) tier, accumulation into dw,
 * determinism, and the reference against central differences (dx and dw). */
typedef struct {
    const double *w, *x;
    int64_t cw, s, n;
    bool wrt_w;
} prelu_fd_ctx;

static void prelu_fd_fn(const double *v, double *y, void *c) {
    prelu_fd_ctx *p = c;
    if (p->wrt_w)
        ref_prelu_forward(p->x, v, p->cw, p->s, p->n, y);
    else
        ref_prelu_forward(v, p->w, p->cw, p->s, p->n, y);
}

static void prelu_case(tu_rng *r, int rank, const int64_t *shape, bool shared, bool integer) {
    int64_t n = numel_of(rank, shape);
    int64_t cw = shared ? 1 : shape[1];
    int64_t s = shared ? n : n / (shape[0] * shape[1]);
    float *x = fresh((size_t)n), *dy = fresh((size_t)n), *w = fresh((size_t)cw), *dw0 = fresh((size_t)cw);
    if (integer) {
        tu_fill_int(r, x, (size_t)n, -7, 7);
        tu_fill_int(r, dy, (size_t)n, -7, 7);
        for (int64_t i = 0; i < n; i++) {
            if (x[i] == 0) x[i] = -2;
            if (dy[i] == 0) dy[i] = 3;
        }
        for (int64_t c = 0; c < cw; c++) {
            w[c] = (float)tu_int(r, -8, 8) / 4.0f;
            dw0[c] = (float)tu_int(r, -50, 50);
        }
    } else {
        tu_fill_normal(r, x, (size_t)n);
        tu_fill_normal(r, dy, (size_t)n);
        tu_fill_normal(r, w, (size_t)cw);
        tu_fill_normal(r, dw0, (size_t)cw);
    }
    double *xd = ref_to_double(x, (size_t)n), *dyd = ref_to_double(dy, (size_t)n);
    double *wd = ref_to_double(w, (size_t)cw), *dwd = ref_to_double(dw0, (size_t)cw);
    double *want = malloc((size_t)n * sizeof *want);
    int64_t wshape = cw;
    medcl_tensor *tx = td_tensor(rank, shape, x, "x"), *tdy = td_tensor(rank, shape, dy, "dy");
    medcl_tensor *ty = td_tensor(rank, shape, NULL, "y"), *tw = td_tensor(1, &wshape, w, "w");
    medcl_tensor *tdw = td_tensor(1, &wshape, dw0, "dw");
    char what[96];
    snprintf(what, sizeof what, "prelu %s %s rank %d", shared ? "shared" : "per-channel",
             integer ? "int" : "normal", rank);

    assert_int_equal(medcl_prelu_forward(tx, tw, ty), MEDCL_OK);
    float *got = td_download(ty);
    ref_prelu_forward(xd, wd, cw, s, n, want);
    if (integer)
        tu_expect_exact(got, want, n, what);
    else
        tu_expect_close(got, want, n, 1e-6, 1e-5, what);
    free(got);

    td_poison(ty);
    assert_int_equal(medcl_prelu_backward(tx, tw, tdy, ty, tdw), MEDCL_OK);
    got = td_download(ty);
    float *gw = td_download(tdw);
    ref_prelu_backward(xd, wd, dyd, cw, s, n, want, dwd);
    if (integer) {
        tu_expect_exact(got, want, n, what);
        tu_expect_exact(gw, dwd, cw, what);
    } else {
        tu_expect_close(got, want, n, 1e-6, 1e-5, what);
        /* dw is dw0 plus a long sum that may cancel: bound each element's error by the sum
         * of its terms' magnitudes (the same reduction over |x dy| and |dw0|) */
        double *sw = calloc((size_t)cw, sizeof *sw), *ady = malloc((size_t)n * 8);
        for (int64_t i = 0; i < n; i++) ady[i] = fabs(dyd[i]);
        /* terms x |dy| over x <= 0 are all <= 0: |their sum| = sum of |x dy| */
        ref_prelu_backward(xd, wd, ady, cw, s, n, NULL, sw);
        double rel = 0;
        for (int64_t c = 0; c < cw; c++) {
            double scale = fabs(sw[c]) + fabs((double)dw0[c]);
            rel = fmax(rel, fabs((double)gw[c] - dwd[c]) / (scale > 0 ? scale : 1));
        }
        print_message("  %-32s max|d|/sum|terms| %.2e\n", "prelu dw (+=)", rel);
        assert_true(rel <= 1e-5);
        if (cw >= 8) tu_expect_close(gw, dwd, cw, 1e-5, 1e-3, "prelu dw (+=)");
        free(sw);
        free(ady);
    }
    /* determinism: the same accumulation from the same start gives the same bits */
    assert_int_equal(medcl_tensor_upload(tdw, dw0, (size_t)cw * 4), MEDCL_OK);
    assert_int_equal(medcl_prelu_backward(tx, tw, tdy, NULL, tdw), MEDCL_OK);
    float *gw2 = td_download(tdw);
    assert_memory_equal(gw, gw2, (size_t)cw * 4);
    free(gw2);

    if (!integer) {
        /* reference backward against central differences, for x and for w */
        double *g0 = calloc((size_t)cw, sizeof *g0), *gx = malloc((size_t)n * sizeof *gx);
        ref_prelu_backward(xd, wd, dyd, cw, s, n, gx, g0);
        prelu_fd_ctx c = {wd, xd, cw, s, n, false};
        double worst = 0;
        for (int t = 0; t < 6; t++) {
            size_t i = (size_t)tu_int(r, 0, (int)n - 1);
            if (fabs(xd[i]) < 1e-3) continue;
            double fd = ref_fd_grad(prelu_fd_fn, &c, xd, (size_t)n, dyd, i, 1e-6);
            double e = fabs(fd - gx[i]) / (1 + fabs(gx[i]));
            if (e > worst) worst = e;
        }
        c.wrt_w = true;
        for (int64_t k = 0; k < cw && k < 4; k++) {
            double fd = ref_fd_grad(prelu_fd_fn, &c, wd, (size_t)n, dyd, (size_t)k, 1e-6);
            double e = fabs(fd - g0[k]) / (1 + fabs(g0[k]));
            if (e > worst) worst = e;
        }
        print_message("  %-32s reference vs central differences %.2e\n", what, worst);
        assert_true(worst < 1e-6);
        free(g0);
        free(gx);
    }
    free(got);
    free(gw);
    medcl_tensor_destroy(tx);
    medcl_tensor_destroy(tdy);
    medcl_tensor_destroy(ty);
    medcl_tensor_destroy(tw);
    medcl_tensor_destroy(tdw);
    free(x);
    free(dy);
    free(w);
    free(dw0);
    free(xd);
    free(dyd);
    free(wd);
    free(dwd);
    free(want);
}

static void test_prelu(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 14);
    const int64_t s4[4] = {2, 3, 41, 53}; /* 4346 per channel: several groups per slope */
    const int64_t s5[5] = {3, 5, 3, 7, 11};
    const int64_t s2[2] = {7, 13};
    for (int integer = 0; integer < 2; integer++) {
        prelu_case(&r, 4, s4, false, integer);
        prelu_case(&r, 4, s4, true, integer);
        prelu_case(&r, 5, s5, false, integer);
        prelu_case(&r, 2, s2, false, integer);
        prelu_case(&r, 2, s2, true, integer);
    }
}

/* Ops on a reshape view (flatten) and on views along N touch only their elements. */
static void test_views(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 15);
    int64_t shape[4] = {4, 3, 5, 7}, flat[2] = {4, 105};
    float x[420], y0[420];
    tu_fill_normal(&r, x, 420);
    tu_fill_normal(&r, y0, 420);
    medcl_tensor *tx = td_tensor(4, shape, x, "x"), *ty = td_tensor(4, shape, y0, "y");
    medcl_tensor *fx = NULL, *vx = NULL, *vy = NULL;
    assert_int_equal(medcl_tensor_view_reshape(tx, 2, flat, &fx), MEDCL_OK);
    assert_int_equal(medcl_tensor_dim(fx, 1), 105);
    medcl_activation_params p = MEDCL_ACTIVATION_PARAMS_INIT;
    p.act = MEDCL_ACT_TANH;
    assert_int_equal(medcl_activation_forward(&p, fx, ty), MEDCL_OK);
    float *got = td_download(ty);
    double want[420];
    for (int i = 0; i < 420; i++) want[i] = tanh((double)x[i]);
    tu_expect_close(got, want, 420, 1e-6, 1e-5, "tanh on a reshape view");
    free(got);
    /* views along N: samples 1..2 of x into samples 2..3 of y */
    assert_int_equal(medcl_tensor_upload(ty, y0, sizeof y0), MEDCL_OK);
    assert_int_equal(medcl_tensor_view_n(tx, 1, 2, &vx), MEDCL_OK);
    assert_int_equal(medcl_tensor_view_n(ty, 2, 2, &vy), MEDCL_OK);
    p.act = MEDCL_ACT_RELU;
    assert_int_equal(medcl_activation_forward(&p, vx, vy), MEDCL_OK);
    got = td_download(ty);
    for (int i = 0; i < 420; i++) {
        float w = i >= 210 ? (x[i - 105] > 0 ? x[i - 105] : 0.0f) : y0[i];
        assert_memory_equal(&got[i], &w, 4);
    }
    free(got);
    medcl_tensor_destroy(fx);
    medcl_tensor_destroy(vx);
    medcl_tensor_destroy(vy);
    medcl_tensor_destroy(tx);
    medcl_tensor_destroy(ty);
}

static void test_bad_input(void **state) {
    (void)state;
    int64_t s1[2] = {4, 6}, s2[2] = {4, 7}, c5 = 5, c6 = 6;
    medcl_tensor *x = td_tensor(2, s1, NULL, "xin"), *y = td_tensor(2, s2, NULL, "yout");
    medcl_tensor *w5 = td_tensor(1, &c5, NULL, "slopes5"), *w6 = td_tensor(1, &c6, NULL, "slopes6");
    medcl_activation_params p = MEDCL_ACTIVATION_PARAMS_INIT;
    assert_int_equal(medcl_activation_forward(&p, x, y), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "yout"));
    assert_int_equal(medcl_activation_forward(&p, NULL, y), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "x"));
    assert_int_equal(medcl_activation_backward(&p, x, x, y), MEDCL_ERR_SHAPE);
    p.act = MEDCL_ACT_COUNT;
    assert_int_equal(medcl_activation_forward(&p, x, x), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "params.act"));
    p.act = MEDCL_ACT_RELU;
    p.size = 3;
    assert_int_equal(medcl_activation_forward(&p, x, x), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "params.size"));
    /* PReLU: slope count must be 1 or C */
    assert_int_equal(medcl_prelu_forward(x, w5, x), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "slopes5"));
    assert_int_equal(medcl_prelu_forward(x, w6, x), MEDCL_OK);
    assert_int_equal(medcl_prelu_backward(x, w6, x, x, w5), MEDCL_ERR_SHAPE);
    assert_int_equal(medcl_prelu_backward(x, NULL, x, x, NULL), MEDCL_ERR_INVALID_ARG);
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.dtype = MEDCL_DTYPE_I32;
    d.ndim = 2;
    d.shape[0] = 4;
    d.shape[1] = 6;
    d.name = "ints";
    medcl_tensor *ti = NULL;
    assert_int_equal(medcl_tensor_create(td_ctx(), &d, &ti), MEDCL_OK);
    assert_int_equal(medcl_activation_forward(NULL, ti, x), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "ints"));
    medcl_tensor_destroy(ti);
    medcl_tensor_destroy(x);
    medcl_tensor_destroy(y);
    medcl_tensor_destroy(w5);
    medcl_tensor_destroy(w6);
}

static medcl_status build_variant(void *acc, const char *program, const char *defines) {
    (*(int *)acc)++;
    print_message("  variant %s [%s]\n", program, defines);
    return medcl_context_build_program(td_ctx(), program, defines);
}

/* Every listed variant builds, and each family lists at least one. */
static void test_variants(void **state) {
    (void)state;
    medcl_variants_fn fns[] = {medcl_activation_variants, medcl_softmax_variants,
                               medcl_concat_variants,     medcl_broadcast_variants,
                               medcl_linear_variants,     medcl_dropout_variants};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        int count = 0;
        medcl_status st = fns[i](td_ctx(), build_variant, &count);
        if (st != MEDCL_OK) fail_msg("variants %zu: %s", i, medcl_last_error());
        assert_true(count >= 1);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_act_integer_exact),
        cmocka_unit_test(test_act_normal),
        cmocka_unit_test(test_act_gradcheck),
        cmocka_unit_test(test_prelu),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_variants),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
