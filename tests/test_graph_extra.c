/* tests/test_graph_extra.c — the graph kinds of src/graph/kinds_extra.c and the graph modes:
 * NumPy-broadcasting add/mul, PReLU, ReLU/LeakyReLU differentiated from their output, channel slice (used twice: a temporary gradient edge),
 * dropout (masks per layer and per step, training vs evaluation, RNG step), batch norm in
 * training and evaluation mode switched after compile, the focal / BCE / MSE / Tversky loss
 * nodes, nearest down-sampling of label maps, a 2D U-Net with deep supervision trained end to
 * end from one full-resolution target, the README's "Training from C" example, and bad input.
 * Each gradient: device against a float64 reference, the reference against central
 * differences of its own forward; integer inputs where fp32 is exact. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "medcl/nn.h"
#include "ref/ref_dropout.h"
#include "ref/ref_loss.h"
#include "ref/ref_norm.h"
#include "testutil.h"

/* ---------------------------------------------------------------- helpers */
static medcl_graph *new_graph(void) {
    medcl_graph *g = NULL;
    assert_int_equal(medcl_graph_create(td_ctx(), &g), MEDCL_OK);
    return g;
}

static void compile(medcl_graph *g, bool training, uint64_t seed) {
    medcl_graph_compile_options o = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
    o.training = training;
    o.init_seed = seed;
    if (medcl_graph_compile(g, &o) != MEDCL_OK) fail_msg("%s", medcl_last_error());
}

static void put(medcl_graph *g, medcl_node n, const void *h) {
    medcl_tensor *t = medcl_graph_tensor(g, n);
    assert_non_null(t);
    if (medcl_tensor_upload(t, h, medcl_tensor_bytes(t)) != MEDCL_OK) fail_msg("%s", medcl_last_error());
}

static float *get(medcl_graph *g, medcl_node n) {
    medcl_tensor *t = medcl_graph_tensor(g, n);
    assert_non_null(t);
    return td_download(t);
}

static float *get_grad(medcl_graph *g, medcl_node n) {
    medcl_tensor *t = medcl_graph_grad(g, n);
    assert_non_null(t);
    return td_download(t);
}

/* zero_grad, forward, backward; every program must have been built by the compile */
static void step(medcl_graph *g) {
    medcl_cache_stats c0, c1;
    medcl_context_cache_stats(td_ctx(), &c0);
    if (medcl_graph_zero_grad(g) != MEDCL_OK || medcl_graph_forward(g) != MEDCL_OK ||
        medcl_graph_backward(g, 1.0f) != MEDCL_OK || medcl_context_finish(td_ctx()) != MEDCL_OK)
        fail_msg("%s", medcl_last_error());
    medcl_context_cache_stats(td_ctx(), &c1);
    assert_int_equal(c1.misses, c0.misses);
    assert_int_equal(c1.disk_hits, c0.disk_hits);
}

static void fill(tu_rng *r, float *x, size_t n, bool integers) {
    if (integers) tu_fill_int(r, x, n, -3, 3);
    else tu_fill_normal(r, x, n);
}

static void check_exact(const char *what, const float *got, const double *want, size_t n) {
    for (size_t i = 0; i < n; i++)
        if ((double)got[i] != want[i]) fail_msg("%s[%zu] = %.9g, expected exactly %.17g", what, i, got[i], want[i]);
}

static void check_close(const char *what, const float *got, const double *want, size_t n, double tol) {
    double e = tu_nrms(got, want, n);
    printf("  %-22s nrms %.3g (max |diff| %.3g)\n", what, e, tu_max_abs_diff(got, want, n));
    assert_true(e <= tol);
    /* per-element bound for gross bugs */
    double ma = 0;
    for (size_t i = 0; i < n; i++) ma = fmax(ma, fabs(want[i]));
    assert_true(tu_max_abs_diff(got, want, n) <= 1e-3 * (ma + 1e-30) + 1e-30);
}

/* d f / d v[i] by central differences (v modified and restored) */
typedef double (*ref_fn)(void *ctx);
static double fd(ref_fn f, void *ctx, double *v, size_t i) {
    const double h = 1e-6, keep = v[i];
    v[i] = keep + h;
    double a = f(ctx);
    v[i] = keep - h;
    double b = f(ctx);
    v[i] = keep;
    return (a - b) / (2 * h);
}

static void check_fd(const char *what, ref_fn f, void *ctx, double *v, const double *grad, size_t n,
                     tu_rng *r) {
    for (int k = 0; k < 4; k++) {
        size_t i = (size_t)tu_int(r, 0, (int)n - 1);
        double d = fd(f, ctx, v, i);
        if (fabs(d - grad[i]) > 1e-6 * (1 + fabs(grad[i])))
            fail_msg("%s: reference gradient [%zu] = %.12g, finite difference %.12g", what, i, grad[i], d);
    }
}

/* ================================================================ broadcast add / mul */
/* y = x * w + b with x (2, 3, 4, 5), w (3, 1, 1), b (1, 3, 1, 1); L = sum(y * r) */
enum { BN_ = 2, BC = 3, BS = 20, BX = BN_ * BC * BS };
typedef struct bc_ref {
    double x[BX], w[BC], b[BC], r[BX];
} bc_ref;
static double bc_loss(void *c) {
    bc_ref *q = c;
    double L = 0;
    for (int i = 0; i < BX; i++) {
        int ch = (i / BS) % BC;
        L += (q->x[i] * q->w[ch] + q->b[ch]) * q->r[i];
    }
    return L;
}

static void test_broadcast_add_mul(void **state) {
    (void)state;
    tu_rng rng = tu_rng_make(tu_seed());
    for (int tier = 0; tier < 2; tier++) {
        bool ints = tier == 0;
        medcl_graph *g = new_graph();
        int64_t xs[4] = {BN_, BC, 4, 5}, ws[3] = {BC, 1, 1}, bs[4] = {1, BC, 1, 1};
        medcl_node x = medcl_graph_input(g, "x", MEDCL_DTYPE_F32, 4, xs);
        medcl_node r = medcl_graph_input(g, "r", MEDCL_DTYPE_F32, 4, xs);
        medcl_node w = medcl_graph_param(g, "w", 3, ws, NULL);
        medcl_node b = medcl_graph_param(g, "b", 4, bs, NULL);
        medcl_node xw = medcl_graph_mul(g, x, w);
        medcl_node y = medcl_graph_add(g, xw, b);
        medcl_node L = medcl_graph_sum(g, medcl_graph_mul(g, y, r));
        assert_string_equal(medcl_graph_node_kind(g, xw), "broadcast_mul");
        assert_string_equal(medcl_graph_node_kind(g, y), "broadcast_add");
        int nd;
        int64_t ys[MEDCL_MAX_DIMS];
        assert_int_equal(medcl_graph_node_shape(g, y, &nd, ys), MEDCL_OK);
        assert_int_equal(nd, 4);
        assert_int_equal(ys[1], BC);
        assert_int_equal(ys[3], 5);
        medcl_graph_mark_output(g, y);
        assert_int_equal(medcl_graph_input_requires_grad(g, x), MEDCL_OK);
        assert_int_equal(medcl_graph_set_loss(g, L), MEDCL_OK);
        compile(g, true, 1);
        float xh[BX], rh[BX], wh[BC], bh[BC];
        fill(&rng, xh, BX, ints);
        fill(&rng, rh, BX, ints);
        fill(&rng, wh, BC, ints);
        fill(&rng, bh, BC, ints);
        put(g, x, xh);
        put(g, r, rh);
        put(g, w, wh);
        put(g, b, bh);
        step(g);
        bc_ref q;
        for (int i = 0; i < BX; i++) {
            q.x[i] = xh[i];
            q.r[i] = rh[i];
        }
        for (int c = 0; c < BC; c++) {
            q.w[c] = wh[c];
            q.b[c] = bh[c];
        }
        double yr[BX], dx[BX], dw[BC] = {0}, db[BC] = {0};
        for (int i = 0; i < BX; i++) {
            int c = (i / BS) % BC;
            yr[i] = q.x[i] * q.w[c] + q.b[c];
            dx[i] = q.w[c] * q.r[i];
            dw[c] += q.x[i] * q.r[i];
            db[c] += q.r[i];
        }
        double Lr = bc_loss(&q);
        check_fd("broadcast d/dw", bc_loss, &q, q.w, dw, BC, &rng);
        check_fd("broadcast d/dx", bc_loss, &q, q.x, dx, BX, &rng);
        float *yg = get(g, y), *lg = get(g, L), *gx = get_grad(g, x), *gw = get_grad(g, w), *gb = get_grad(g, b);
        printf("broadcast (%s): loss %.9g, reference %.12g\n", ints ? "integers" : "normal", lg[0], Lr);
        assert_true(tu_zero_fraction(gx, BX) < 0.8);
        if (ints) {
            check_exact("y", yg, yr, BX);
            check_exact("dx", gx, dx, BX);
            check_exact("dw", gw, dw, BC);
            check_exact("db", gb, db, BC);
            assert_true((double)lg[0] == Lr);
        } else {
            check_close("y", yg, yr, BX, 1e-6);
            check_close("dx", gx, dx, BX, 1e-6);
            check_close("dw", gw, dw, BC, 1e-5);
            check_close("db", gb, db, BC, 1e-5);
            assert_true(fabs(lg[0] - Lr) <= 1e-5 * (1 + fabs(Lr)));
        }
        free(yg);
        free(lg);
        free(gx);
        free(gw);
        free(gb);
        medcl_graph_destroy(g);
    }
}

/* ================================================================ PReLU */
enum { PN = 2, PC = 3, PS = 25, PX = PN * PC * PS };
typedef struct pr_ref {
    double x[PX], w[PC], r[PX];
    int shared;
} pr_ref;
static double pr_loss(void *c) {
    pr_ref *q = c;
    double L = 0;
    for (int i = 0; i < PX; i++) {
        double w = q->w[q->shared ? 0 : (i / PS) % PC];
        L += (q->x[i] > 0 ? q->x[i] : w * q->x[i]) * q->r[i];
    }
    return L;
}

static void test_prelu(void **state) {
    (void)state;
    tu_rng rng = tu_rng_make(tu_seed() + 1);
    for (int tier = 0; tier < 3; tier++) {
        bool ints = tier == 0, shared = tier == 2;
        medcl_graph *g = new_graph();
        int64_t xs[4] = {PN, PC, 5, 5}, ws = shared ? 1 : PC;
        medcl_node x = medcl_graph_input(g, "x", MEDCL_DTYPE_F32, 4, xs);
        medcl_node r = medcl_graph_input(g, "r", MEDCL_DTYPE_F32, 4, xs);
        medcl_node w = medcl_graph_param(g, "prelu.weight", 1, &ws, NULL);
        medcl_node y = medcl_graph_prelu(g, x, w);
        medcl_node L = medcl_graph_sum(g, medcl_graph_mul(g, y, r));
        medcl_graph_mark_output(g, y);
        assert_int_equal(medcl_graph_input_requires_grad(g, x), MEDCL_OK);
        assert_int_equal(medcl_graph_set_loss(g, L), MEDCL_OK);
        compile(g, true, 2);
        float xh[PX], rh[PX], wh[PC];
        fill(&rng, xh, PX, ints);
        fill(&rng, rh, PX, ints);
        fill(&rng, wh, PC, ints);
        if (!ints)
            for (int i = 0; i < PX; i++)
                if (fabsf(xh[i]) < 1e-3f) xh[i] = 0.5f; /* keep finite differences off the kink */
        put(g, x, xh);
        put(g, r, rh);
        put(g, w, wh);
        step(g);
        pr_ref q;
        q.shared = shared;
        for (int i = 0; i < PX; i++) {
            q.x[i] = xh[i];
            q.r[i] = rh[i];
        }
        for (int c = 0; c < PC; c++) q.w[c] = wh[c];
        double yr[PX], dx[PX], dw[PC] = {0};
        for (int i = 0; i < PX; i++) {
            int c = shared ? 0 : (i / PS) % PC;
            yr[i] = q.x[i] > 0 ? q.x[i] : q.w[c] * q.x[i];
            dx[i] = q.x[i] > 0 ? q.r[i] : q.w[c] * q.r[i];
            if (q.x[i] <= 0) dw[c] += q.x[i] * q.r[i];
        }
        if (!ints) {
            check_fd("prelu d/dw", pr_loss, &q, q.w, dw, (size_t)ws, &rng);
            check_fd("prelu d/dx", pr_loss, &q, q.x, dx, PX, &rng);
        }
        float *yg = get(g, y), *gx = get_grad(g, x), *gw = get_grad(g, w);
        printf("prelu (%s%s):\n", ints ? "integers" : "normal", shared ? ", one shared slope" : "");
        assert_true(tu_zero_fraction(gx, PX) < 0.8);
        if (ints) {
            check_exact("y", yg, yr, PX);
            check_exact("dx", gx, dx, PX);
            check_exact("dw", gw, dw, (size_t)ws);
        } else {
            check_close("y", yg, yr, PX, 1e-6);
            check_close("dx", gx, dx, PX, 1e-6);
            check_close("dw", gw, dw, (size_t)ws, 1e-5);
        }
        free(yg);
        free(gx);
        free(gw);
        medcl_graph_destroy(g);
    }
}

/* ================================================================ activations */
/* ReLU and LeakyReLU run their backward from the output (graph kinds_net.c): on integers
 * with zeros (the kink) the gradient must be exactly PyTorch's: relu'(0) = 0, leaky'(0) = slope.
 * Sigmoid still reads its input. */
static void test_activation_backward_from_output(void **state) {
    (void)state;
    tu_rng rng = tu_rng_make(tu_seed() + 7);
    enum { X = 2 * 3 * 16 };
    static const medcl_activation acts[3] = {MEDCL_ACT_RELU, MEDCL_ACT_LEAKY_RELU, MEDCL_ACT_SIGMOID};
    for (int k = 0; k < 3; k++) {
        medcl_graph *g = new_graph();
        int64_t xs[4] = {2, 3, 4, 4};
        medcl_node x = medcl_graph_input(g, "x", MEDCL_DTYPE_F32, 4, xs);
        medcl_node r = medcl_graph_input(g, "r", MEDCL_DTYPE_F32, 4, xs);
        medcl_activation_params ap = MEDCL_ACTIVATION_PARAMS_INIT;
        ap.act = acts[k];
        ap.slope = 0.25f;
        /* scale first so the activation's input is a planned tensor, not the graph input */
        medcl_node y = medcl_graph_activation(g, medcl_graph_scale(g, x, 1.0f), &ap);
        medcl_node L = medcl_graph_sum(g, medcl_graph_mul(g, y, r));
        medcl_graph_mark_output(g, y);
        assert_int_equal(medcl_graph_input_requires_grad(g, x), MEDCL_OK);
        assert_int_equal(medcl_graph_set_loss(g, L), MEDCL_OK);
        compile(g, true, 8);
        float xh[X], rh[X];
        tu_fill_int(&rng, xh, X, -2, 2);
        tu_fill_int(&rng, rh, X, -3, 3);
        put(g, x, xh);
        put(g, r, rh);
        step(g);
        double yr[X], dx[X];
        for (int i = 0; i < X; i++) {
            double v = xh[i], s = 1 / (1 + exp(-v));
            yr[i] = k == 0 ? (v > 0 ? v : 0) : k == 1 ? (v > 0 ? v : 0.25 * v) : s;
            dx[i] = rh[i] * (k == 0 ? (v > 0 ? 1 : 0) : k == 1 ? (v > 0 ? 1 : 0.25) : s * (1 - s));
        }
        float *yg = get(g, y), *gx = get_grad(g, x);
        printf("activation %d:\n", (int)acts[k]);
        if (k < 2) {
            check_exact("y", yg, yr, X);
            check_exact("dx", gx, dx, X);
        } else {
            check_close("y", yg, yr, X, 1e-6);
            check_close("dx", gx, dx, X, 1e-6);
        }
        assert_true(tu_zero_fraction(gx, X) < 0.8);
        free(yg);
        free(gx);
        medcl_graph_destroy(g);
    }
}

/* ================================================================ slice */
/* y1 = x[:, 1:3], y2 = x[:, 3:6]; L = sum(y1 r1) + sum(y2 r2): x's gradient comes from two
 * edges (the second through a temporary and an add); channel 0 gets none. */
static void test_slice(void **state) {
    (void)state;
    tu_rng rng = tu_rng_make(tu_seed() + 2);
    enum { N = 2, C = 6, S = 9, X = N * C * S };
    medcl_graph *g = new_graph();
    int64_t xs[4] = {N, C, 3, 3}, r1s[4] = {N, 2, 3, 3}, r2s[4] = {N, 3, 3, 3};
    medcl_node x = medcl_graph_input(g, "x", MEDCL_DTYPE_F32, 4, xs);
    medcl_node r1 = medcl_graph_input(g, "r1", MEDCL_DTYPE_F32, 4, r1s);
    medcl_node r2 = medcl_graph_input(g, "r2", MEDCL_DTYPE_F32, 4, r2s);
    medcl_node y1 = medcl_graph_slice(g, x, 1, 2), y2 = medcl_graph_slice(g, x, 3, 3);
    medcl_node L = medcl_graph_add(g, medcl_graph_sum(g, medcl_graph_mul(g, y1, r1)),
                                   medcl_graph_sum(g, medcl_graph_mul(g, y2, r2)));
    medcl_graph_mark_output(g, y1);
    medcl_graph_mark_output(g, y2);
    assert_int_equal(medcl_graph_input_requires_grad(g, x), MEDCL_OK);
    assert_int_equal(medcl_graph_set_loss(g, L), MEDCL_OK);
    compile(g, true, 3);
    float xh[X], r1h[N * 2 * S], r2h[N * 3 * S];
    tu_fill_int(&rng, xh, X, -9, 9);
    tu_fill_int(&rng, r1h, N * 2 * S, -9, 9);
    tu_fill_int(&rng, r2h, N * 3 * S, -9, 9);
    put(g, x, xh);
    put(g, r1, r1h);
    put(g, r2, r2h);
    step(g);
    double y1r[N * 2 * S], y2r[N * 3 * S], dx[X];
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int s = 0; s < S; s++) {
                int i = (n * C + c) * S + s;
                dx[i] = 0;
                if (c >= 1 && c < 3) {
                    y1r[(n * 2 + c - 1) * S + s] = xh[i];
                    dx[i] = r1h[(n * 2 + c - 1) * S + s];
                }
                if (c >= 3) {
                    y2r[(n * 3 + c - 3) * S + s] = xh[i];
                    dx[i] = r2h[(n * 3 + c - 3) * S + s];
                }
            }
    float *a = get(g, y1), *b = get(g, y2), *gx = get_grad(g, x);
    check_exact("y1", a, y1r, N * 2 * S);
    check_exact("y2", b, y2r, N * 3 * S);
    check_exact("dx", gx, dx, X);
    assert_true(tu_zero_fraction(gx, X) < 0.8);
    free(a);
    free(b);
    free(gx);
    medcl_graph_destroy(g);
}

/* ================================================================ dropout and modes */
static void dropout_expect(const float *x, const float *r, float *y, float *dx, int64_t n, int64_t S,
                           uint32_t step_no, bool on) {
    /* layer 1: p 0.3 element-wise, stream 5; layer 2: p 0.5 channel-wise, stream 5 + 1 */
    float *t = malloc((size_t)n * 4), *d = malloc((size_t)n * 4);
    if (on) {
        ref_dropout_apply(x, t, n, S, 42, 5, step_no, 0.3f, false);
        ref_dropout_apply(t, y, n, S, 42, 6, step_no, 0.5f, true);
        ref_dropout_apply(r, d, n, S, 42, 6, step_no, 0.5f, true);
        ref_dropout_apply(d, dx, n, S, 42, 5, step_no, 0.3f, false);
    } else {
        memcpy(y, x, (size_t)n * 4);
        memcpy(dx, r, (size_t)n * 4);
    }
    free(t);
    free(d);
}

static void test_dropout_modes(void **state) {
    (void)state;
    tu_rng rng = tu_rng_make(tu_seed() + 3);
    enum { N = 2, C = 4, S = 36, X = N * C * S };
    medcl_graph *g = new_graph();
    int64_t xs[4] = {N, C, 6, 6};
    medcl_node x = medcl_graph_input(g, "x", MEDCL_DTYPE_F32, 4, xs);
    medcl_node r = medcl_graph_input(g, "r", MEDCL_DTYPE_F32, 4, xs);
    medcl_dropout_params p = MEDCL_DROPOUT_PARAMS_INIT;
    p.p = 0.3f;
    p.seed = 42;
    p.stream = 5;
    p.step = 999; /* ignored: the graph's RNG step counts */
    medcl_node d1 = medcl_graph_dropout(g, x, &p);
    p.p = 0.5f;
    p.channelwise = true;
    medcl_node d2 = medcl_graph_dropout(g, d1, &p);
    medcl_node L = medcl_graph_sum(g, medcl_graph_mul(g, d2, r));
    medcl_graph_mark_output(g, d2);
    assert_int_equal(medcl_graph_input_requires_grad(g, x), MEDCL_OK);
    assert_int_equal(medcl_graph_set_loss(g, L), MEDCL_OK);
    assert_int_equal(medcl_graph_set_training(g, false), MEDCL_ERR_STATE); /* not compiled */
    compile(g, true, 4);
    assert_true(medcl_graph_is_training(g));
    assert_int_equal(medcl_graph_rng_step(g), 0);
    float xh[X], rh[X], want_y[X], want_dx[X], y0[X];
    tu_fill_normal(&rng, xh, X);
    tu_fill_normal(&rng, rh, X);
    put(g, x, xh);
    put(g, r, rh);
    for (int k = 0; k < 4; k++) {
        /* steps 0 and 1 in training mode, then evaluation, then back to step 0 */
        bool on = k != 2;
        if (k == 2) assert_int_equal(medcl_graph_set_training(g, false), MEDCL_OK);
        if (k == 3) {
            assert_int_equal(medcl_graph_set_training(g, true), MEDCL_OK);
            assert_int_equal(medcl_graph_set_rng_step(g, 0), MEDCL_OK);
        }
        uint32_t sn = k == 1 ? 1 : 0;
        step(g);
        dropout_expect(xh, rh, want_y, want_dx, X, S, sn, on);
        float *yg = get(g, d2), *gx = get_grad(g, x);
        assert_memory_equal(yg, want_y, sizeof want_y);
        assert_memory_equal(gx, want_dx, sizeof want_dx);
        double zf = tu_zero_fraction(yg, X);
        printf("dropout k=%d (%s, step %u): %.0f%% zeros, rng step now %llu\n", k, on ? "training" : "evaluation",
               sn, 100 * zf, (unsigned long long)medcl_graph_rng_step(g));
        if (on) assert_true(zf > 0.4 && zf < 0.9); /* 1 - 0.7 * 0.5 = 0.65 expected */
        if (k == 0) memcpy(y0, yg, sizeof y0);
        if (k == 1) assert_memory_not_equal(yg, y0, sizeof y0); /* a fresh mask per step */
        if (k == 3) assert_memory_equal(yg, y0, sizeof y0);
        free(yg);
        free(gx);
        assert_int_equal(medcl_graph_rng_step(g), k < 2 ? k + 1 : k == 2 ? 2 : 1);
    }
    medcl_graph_destroy(g);
}

/* batch norm in both modes of one compiled graph */
typedef struct bnr {
    ref_norm_cfg c;
    double *x, *ga, *be, *r, *y;
} bnr;
static double bn_loss(void *u) {
    bnr *q = u;
    ref_norm_forward(&q->c, q->x, q->ga, q->be, q->y, NULL, NULL, NULL);
    double L = 0;
    for (int64_t i = 0; i < q->c.N * q->c.C * q->c.S; i++) L += q->y[i] * q->r[i];
    return L;
}

static void test_batchnorm_modes(void **state) {
    (void)state;
    tu_rng rng = tu_rng_make(tu_seed() + 4);
    enum { N = 4, C = 3, S = 25, X = N * C * S };
    medcl_graph *g = new_graph();
    int64_t xs[4] = {N, C, 5, 5}, cs = C;
    medcl_init one = MEDCL_INIT_INIT;
    one.kind = MEDCL_INIT_ONES;
    medcl_node x = medcl_graph_input(g, "x", MEDCL_DTYPE_F32, 4, xs);
    medcl_node r = medcl_graph_input(g, "r", MEDCL_DTYPE_F32, 4, xs);
    medcl_node ga = medcl_graph_param(g, "bn.weight", 1, &cs, &one);
    medcl_node be = medcl_graph_param(g, "bn.bias", 1, &cs, NULL);
    medcl_node rm = medcl_graph_buffer(g, "bn.running_mean", 1, &cs, NULL);
    medcl_node rv = medcl_graph_buffer(g, "bn.running_var", 1, &cs, &one);
    medcl_norm_params np = MEDCL_NORM_PARAMS_INIT;
    np.kind = MEDCL_NORM_BATCH;
    medcl_node y = medcl_graph_norm(g, x, ga, be, rm, rv, &np);
    medcl_node L = medcl_graph_sum(g, medcl_graph_mul(g, y, r));
    medcl_graph_mark_output(g, y);
    assert_int_equal(medcl_graph_input_requires_grad(g, x), MEDCL_OK);
    assert_int_equal(medcl_graph_set_loss(g, L), MEDCL_OK);
    compile(g, true, 5);
    float xh[X], rh[X], gah[C], beh[C], rmh[C], rvh[C];
    tu_fill_normal(&rng, xh, X);
    for (int i = 0; i < X; i++) xh[i] = 2.0f * xh[i] + 0.5f;
    tu_fill_normal(&rng, rh, X);
    tu_fill_normal(&rng, gah, C);
    tu_fill_normal(&rng, beh, C);
    tu_fill_normal(&rng, rmh, C);
    for (int c = 0; c < C; c++) rvh[c] = 0.5f + (float)tu_uniform(&rng);
    put(g, x, xh);
    put(g, r, rh);
    put(g, ga, gah);
    put(g, be, beh);
    put(g, rm, rmh);
    put(g, rv, rvh);
    ref_norm_cfg cfg = {REF_NORM_BATCH, N, C, S, 1, 1e-5, 1};
    double *xd = tu_to_double(xh, X), *rd = tu_to_double(rh, X), *gad = tu_to_double(gah, C), *bed = tu_to_double(beh, C);
    double yr[X], dx[X], mean[C], rstd[C], var_u[C], dga[C] = {0}, dbe[C] = {0};
    /* evaluation: running statistics, as constants in the backward; buffers untouched */
    assert_int_equal(medcl_graph_set_training(g, false), MEDCL_OK);
    assert_false(medcl_graph_is_training(g));
    step(g);
    for (int c = 0; c < C; c++) {
        mean[c] = rmh[c];
        rstd[c] = 1.0 / sqrt((double)rvh[c] + 1e-5);
    }
    ref_norm_forward_stats(&cfg, xd, gad, bed, mean, rstd, yr);
    ref_norm_backward_stats(&cfg, xd, gad, mean, rstd, rd, dx, dga, dbe);
    float *yg = get(g, y), *gx = get_grad(g, x), *gg = get_grad(g, ga), *rmg = get(g, rm), *rvg = get(g, rv);
    printf("batch norm, evaluation mode:\n");
    check_close("y", yg, yr, X, 1e-6);
    check_close("dx", gx, dx, X, 1e-6);
    check_close("dgamma", gg, dga, C, 1e-5);
    assert_memory_equal(rmg, rmh, sizeof rmh);
    assert_memory_equal(rvg, rvh, sizeof rvh);
    free(yg);
    free(gx);
    free(gg);
    free(rmg);
    free(rvg);
    /* training: batch statistics, running update with momentum 0.1 */
    assert_int_equal(medcl_graph_set_training(g, true), MEDCL_OK);
    step(g);
    double dga2[C] = {0}, dbe2[C] = {0}, yb[X];
    ref_norm_forward(&cfg, xd, gad, bed, yr, mean, rstd, var_u);
    ref_norm_backward(&cfg, xd, gad, rd, dx, dga2, dbe2);
    bnr q = {cfg, xd, gad, bed, rd, yb};
    check_fd("batch norm d/dx", bn_loss, &q, xd, dx, X, &rng);
    check_fd("batch norm d/dgamma", bn_loss, &q, gad, dga2, C, &rng);
    double rmr[C], rvr[C];
    for (int c = 0; c < C; c++) {
        rmr[c] = 0.9 * rmh[c] + 0.1 * mean[c];
        rvr[c] = 0.9 * rvh[c] + 0.1 * var_u[c];
    }
    yg = get(g, y);
    gx = get_grad(g, x);
    gg = get_grad(g, ga);
    rmg = get(g, rm);
    rvg = get(g, rv);
    printf("batch norm, training mode:\n");
    check_close("y", yg, yr, X, 1e-6);
    check_close("dx", gx, dx, X, 1e-6);
    check_close("dgamma", gg, dga2, C, 1e-5);
    check_close("running_mean", rmg, rmr, C, 1e-6);
    check_close("running_var", rvg, rvr, C, 1e-6);
    free(yg);
    free(gx);
    free(gg);
    free(rmg);
    free(rvg);
    free(xd);
    free(rd);
    free(gad);
    free(bed);
    medcl_graph_destroy(g);
}

/* ================================================================ losses */
typedef struct lossr {
    int kind; /* 0 focal, 1 bce, 2 mse, 3 tversky */
    ref_loss_in in;
    ref_xent_params xp;
    ref_region_params rp;
} lossr;
static double loss_ref(void *u) {
    lossr *q = u;
    switch (q->kind) {
    case 0: return ref_focal_forward(&q->in, &q->xp);
    case 1: return ref_bce_forward(&q->in, NULL, 0);
    case 2: return ref_mse_forward(&q->in, 0);
    default: return ref_region_forward(&q->in, &q->rp);
    }
}
static void loss_ref_grad(lossr *q, double *dx) {
    switch (q->kind) {
    case 0: ref_focal_backward(&q->in, &q->xp, 1.0, dx); break;
    case 1: ref_bce_backward(&q->in, NULL, 0, 1.0, dx); break;
    case 2: ref_mse_backward(&q->in, 0, 1.0, dx); break;
    default: ref_region_backward(&q->in, &q->rp, 1.0, dx); break;
    }
}

static void test_losses(void **state) {
    (void)state;
    tu_rng rng = tu_rng_make(tu_seed() + 5);
    static const char *names[4] = {"focal", "bce", "mse", "tversky"};
    for (int kind = 0; kind < 4; kind++) {
        enum { N = 2, C = 3, S = 16, X = N * C * S };
        bool labels = kind == 0 || kind == 3;
        medcl_graph *g = new_graph();
        int64_t xs[4] = {N, C, 4, 4}, ts[4] = {N, 1, 4, 4}, ms[2] = {N * C, S};
        int nd = kind == 2 ? 2 : 4; /* MSE on a rank-2 prediction */
        medcl_node x = medcl_graph_input(g, "pred", MEDCL_DTYPE_F32, nd, kind == 2 ? ms : xs);
        medcl_node t = labels ? medcl_graph_input(g, "target", MEDCL_DTYPE_I32, 4, ts)
                              : medcl_graph_input(g, "target", MEDCL_DTYPE_F32, nd, kind == 2 ? ms : xs);
        medcl_focal_loss_params fp = MEDCL_FOCAL_LOSS_PARAMS_INIT;
        fp.gamma = 2.0f;
        fp.alpha = 0.25f;
        medcl_tversky_loss_params tp = MEDCL_TVERSKY_LOSS_PARAMS_INIT;
        tp.alpha = 0.3f;
        tp.beta = 0.7f;
        medcl_node L = kind == 0   ? medcl_graph_focal_loss(g, x, t, &fp)
                       : kind == 1 ? medcl_graph_bce_loss(g, x, t, NULL)
                       : kind == 2 ? medcl_graph_mse_loss(g, x, t, NULL)
                                   : medcl_graph_tversky_loss(g, x, t, &tp);
        assert_int_equal(medcl_graph_input_requires_grad(g, x), MEDCL_OK);
        if (medcl_graph_set_loss(g, L) != MEDCL_OK) fail_msg("%s", medcl_last_error());
        compile(g, true, 6);
        float xh[X], soft[X];
        int32_t lab[N * S];
        tu_fill_normal(&rng, xh, X);
        for (int i = 0; i < X; i++) soft[i] = (float)tu_uniform(&rng);
        for (int i = 0; i < N * S; i++) lab[i] = tu_int(&rng, 0, C - 1);
        put(g, x, xh);
        put(g, t, labels ? (const void *)lab : (const void *)soft);
        step(g);
        lossr q;
        memset(&q, 0, sizeof q);
        q.kind = kind;
        double *xd = tu_to_double(xh, X), *sd = tu_to_double(soft, X);
        int il[N * S];
        for (int i = 0; i < N * S; i++) il[i] = lab[i];
        q.in = (ref_loss_in){N, C, S, xd, labels ? il : NULL, labels ? NULL : sd};
        if (kind == 2) q.in = (ref_loss_in){N * C, S, 1, xd, NULL, sd}; /* (N*C, S): C = S, S = 1 */
        q.xp = (ref_xent_params){NULL, -100, 0.0, 2.0, 0.25, 0};
        q.rp = (ref_region_params){2, 1, 0, 0, -100, 1e-5, 1e-5, 0.0, 0.3, 0.7};
        double Lr = loss_ref(&q), dx[X];
        loss_ref_grad(&q, dx);
        check_fd(names[kind], loss_ref, &q, xd, dx, X, &rng);
        float *lg = get(g, L), *gx = get_grad(g, x);
        printf("%s loss %.9g, reference %.12g\n", names[kind], lg[0], Lr);
        assert_true(fabs(lg[0] - Lr) <= 1e-6 * fabs(Lr) + 1e-7);
        check_close("d/dpred", gx, dx, X, 1e-6);
        assert_true(tu_zero_fraction(gx, X) < 0.8);
        free(lg);
        free(gx);
        free(xd);
        free(sd);
        medcl_graph_destroy(g);
    }
}

/* ================================================================ down-sampling */
/* Many planes and rows (4400 planes: more than the 2048-slice chunks of the rectangular copies
 * this node once used; now one kernel). */
static void test_downsample_many_slices(void **state) {
    (void)state;
    tu_rng rng = tu_rng_make(tu_seed() + 16);
    medcl_graph *g = new_graph();
    int64_t sa[5] = {3, 1, 64, 48, 4}, sb[5] = {1, 2, 4400, 2, 2};
    medcl_node a = medcl_graph_input(g, "many_rows", MEDCL_DTYPE_I32, 5, sa);
    medcl_node b = medcl_graph_input(g, "many_planes", MEDCL_DTYPE_I32, 5, sb);
    medcl_downsample_params p = MEDCL_DOWNSAMPLE_PARAMS_INIT; /* exact: source o + f i, o = f / 2 */
    p.factor[0] = p.factor[1] = p.factor[2] = 2;
    medcl_node ya = medcl_graph_downsample_nearest(g, a, &p);
    p.factor[1] = p.factor[2] = 1;
    medcl_node yb = medcl_graph_downsample_nearest(g, b, &p);
    assert_int_equal(medcl_graph_mark_output(g, ya), MEDCL_OK);
    assert_int_equal(medcl_graph_mark_output(g, yb), MEDCL_OK);
    compile(g, false, 0);
    size_t na = 3 * 64 * 48 * 4, nb = 2 * 4400 * 2 * 2;
    int32_t *la = malloc(na * 4), *lb = malloc(nb * 4), *ga = malloc(na / 8 * 4), *gb = malloc(nb / 2 * 4);
    for (size_t i = 0; i < na; i++) la[i] = tu_int(&rng, 0, 1 << 20);
    for (size_t i = 0; i < nb; i++) lb[i] = tu_int(&rng, 0, 1 << 20);
    put(g, a, la);
    put(g, b, lb);
    assert_int_equal(medcl_graph_forward(g), MEDCL_OK);
    assert_int_equal(medcl_tensor_download(medcl_graph_tensor(g, ya), ga, na / 8 * 4), MEDCL_OK);
    assert_int_equal(medcl_tensor_download(medcl_graph_tensor(g, yb), gb, nb / 2 * 4), MEDCL_OK);
    size_t k = 0;
    for (int n = 0; n < 3; n++)
        for (int d = 0; d < 32; d++)
            for (int h = 0; h < 24; h++)
                for (int w = 0; w < 2; w++, k++)
                    assert_int_equal(ga[k], la[((n * 64 + 1 + 2 * d) * 48 + 1 + 2 * h) * 4 + 1 + 2 * w]);
    k = 0;
    for (int c = 0; c < 2; c++)
        for (int d = 0; d < 2200; d++)
            for (int hw = 0; hw < 4; hw++, k++) assert_int_equal(gb[k], lb[(c * 4400 + 1 + 2 * d) * 4 + hw]);
    free(la);
    free(lb);
    free(ga);
    free(gb);
    medcl_graph_destroy(g);
}

/* u8 maps take the 1-byte kernel: nearest-exact and nearest, 4-D and 5-D. */
static void test_downsample_u8(void **state) {
    (void)state;
    tu_rng rng = tu_rng_make(tu_seed() + 17);
    medcl_graph *g = new_graph();
    int64_t s2[4] = {2, 1, 6, 9}, s3[5] = {1, 2, 4, 4, 6};
    medcl_node a = medcl_graph_input(g, "u8_2d", MEDCL_DTYPE_U8, 4, s2);
    medcl_node b = medcl_graph_input(g, "u8_3d", MEDCL_DTYPE_U8, 5, s3);
    medcl_downsample_params p = MEDCL_DOWNSAMPLE_PARAMS_INIT;
    p.factor[1] = 2;
    p.factor[2] = 3;
    medcl_node ya = medcl_graph_downsample_nearest(g, a, &p); /* exact: o = (1, 1) */
    p.exact = false;
    p.factor[0] = 2;
    p.factor[1] = 4;
    p.factor[2] = 2;
    medcl_node yb = medcl_graph_downsample_nearest(g, b, &p);
    assert_int_equal(medcl_graph_mark_output(g, ya), MEDCL_OK);
    assert_int_equal(medcl_graph_mark_output(g, yb), MEDCL_OK);
    compile(g, false, 0);
    uint8_t la[2 * 6 * 9], lb[2 * 4 * 4 * 6], ga[2 * 3 * 3], gb[2 * 2 * 1 * 3];
    for (size_t i = 0; i < sizeof la; i++) la[i] = (uint8_t)tu_int(&rng, 0, 255);
    for (size_t i = 0; i < sizeof lb; i++) lb[i] = (uint8_t)tu_int(&rng, 0, 255);
    put(g, a, la);
    put(g, b, lb);
    assert_int_equal(medcl_graph_forward(g), MEDCL_OK);
    assert_int_equal(medcl_tensor_download(medcl_graph_tensor(g, ya), ga, sizeof ga), MEDCL_OK);
    assert_int_equal(medcl_tensor_download(medcl_graph_tensor(g, yb), gb, sizeof gb), MEDCL_OK);
    for (int n = 0; n < 2; n++)
        for (int h = 0; h < 3; h++)
            for (int w = 0; w < 3; w++) assert_int_equal(ga[(n * 3 + h) * 3 + w], la[(n * 6 + 2 * h + 1) * 9 + 3 * w + 1]);
    for (int c = 0; c < 2; c++)
        for (int d = 0; d < 2; d++)
            for (int w = 0; w < 3; w++) assert_int_equal(gb[(c * 2 + d) * 3 + w], lb[((c * 4 + 2 * d) * 4) * 6 + 2 * w]);
    medcl_graph_destroy(g);
}

static void test_downsample_labels(void **state) {
    (void)state;
    tu_rng rng = tu_rng_make(tu_seed() + 6);
    medcl_graph *g = new_graph();
    int64_t s2[4] = {2, 1, 8, 12}, s3[5] = {1, 2, 4, 8, 6};
    medcl_node a = medcl_graph_input(g, "lab2d", MEDCL_DTYPE_I32, 4, s2);
    medcl_node b = medcl_graph_input(g, "map3d", MEDCL_DTYPE_F32, 5, s3);
    medcl_downsample_params p = MEDCL_DOWNSAMPLE_PARAMS_INIT;
    p.factor[1] = 2;
    p.factor[2] = 4;
    medcl_node a_ex = medcl_graph_downsample_nearest(g, a, &p);
    p.exact = false;
    medcl_node a_nn = medcl_graph_downsample_nearest(g, a, &p);
    p.exact = true;
    p.factor[0] = 2;
    p.factor[1] = 2;
    p.factor[2] = 3;
    medcl_node b_ex = medcl_graph_downsample_nearest(g, b, &p);
    /* the same between planned tensors (input and output in one arena): 2 x, then x / 2 */
    medcl_node b_pl = medcl_graph_scale(g, medcl_graph_downsample_nearest(g, medcl_graph_scale(g, b, 2.0f), &p), 0.5f);
    medcl_node outs[4] = {a_ex, a_nn, b_ex, b_pl};
    for (int i = 0; i < 4; i++) assert_int_equal(medcl_graph_mark_output(g, outs[i]), MEDCL_OK);
    compile(g, false, 0);
    int32_t la[2 * 8 * 12];
    float mb[2 * 4 * 8 * 6];
    for (size_t i = 0; i < sizeof la / 4; i++) la[i] = tu_int(&rng, -100, 1000);
    tu_fill_normal(&rng, mb, sizeof mb / 4);
    put(g, a, la);
    put(g, b, mb);
    assert_int_equal(medcl_graph_forward(g), MEDCL_OK);
    int32_t ga[2 * 4 * 3], gn[2 * 4 * 3];
    float gb[2 * 2 * 4 * 2];
    assert_int_equal(medcl_tensor_download(medcl_graph_tensor(g, a_ex), ga, sizeof ga), MEDCL_OK);
    assert_int_equal(medcl_tensor_download(medcl_graph_tensor(g, a_nn), gn, sizeof gn), MEDCL_OK);
    assert_int_equal(medcl_tensor_download(medcl_graph_tensor(g, b_ex), gb, sizeof gb), MEDCL_OK);
    float gp[2 * 2 * 4 * 2];
    assert_int_equal(medcl_tensor_download(medcl_graph_tensor(g, b_pl), gp, sizeof gp), MEDCL_OK);
    assert_memory_equal(gp, gb, sizeof gb);
    for (int n = 0; n < 2; n++)
        for (int h = 0; h < 4; h++)
            for (int w = 0; w < 3; w++) {
                int o = (n * 4 + h) * 3 + w;
                assert_int_equal(ga[o], la[(n * 8 + 2 * h + 1) * 12 + 4 * w + 2]); /* nearest-exact */
                assert_int_equal(gn[o], la[(n * 8 + 2 * h) * 12 + 4 * w]);         /* nearest */
            }
    for (int c = 0; c < 2; c++)
        for (int d = 0; d < 2; d++)
            for (int h = 0; h < 4; h++)
                for (int w = 0; w < 2; w++) {
                    float want = mb[((c * 4 + 2 * d + 1) * 8 + 2 * h + 1) * 6 + 3 * w + 1];
                    assert_memory_equal(&gb[((c * 2 + d) * 4 + h) * 2 + w], &want, 4);
                }
    medcl_graph_destroy(g);
}

/* ================================================================ deep supervision */
static void make_disks(tu_rng *r, int64_t N, int64_t S, float *img, int32_t *lab) {
    for (int64_t n = 0; n < N; n++) {
        double cy = 4 + tu_uniform(r) * (double)(S - 8), cx = 4 + tu_uniform(r) * (double)(S - 8);
        double rad = 2.5 + tu_uniform(r) * (double)S / 6.0;
        for (int64_t i = 0; i < S * S; i++) {
            int64_t y = i / S, x = i % S;
            int in = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= rad * rad;
            img[n * S * S + i] = (float)(0.3 * tu_normal(r) + in);
            lab[n * S * S + i] = in;
        }
    }
}

/* nnU-Net Dice + CE of one head on the host (float64), labels (N, S) */
static double host_dice_ce(const float *logits, const int32_t *lab, int N, long S) {
    double *x = tu_to_double(logits, (size_t)(N * 2 * S));
    int *l = malloc((size_t)(N * S) * sizeof *l);
    for (long i = 0; i < N * S; i++) l[i] = lab[i];
    ref_loss_in in = {N, 2, S, x, l, NULL};
    ref_xent_params xp = {NULL, -100, 0.0, 0.0, -1.0, 0};
    ref_region_params rp = {0, 0, 0, 0, -100, 1e-5, 1e-5, 1e-8, 0.5, 0.5};
    double v = ref_ce_forward(&in, &xp) + ref_region_forward(&in, &rp);
    free(x);
    free(l);
    return v;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void test_unet_deep_supervision_learns(void **state) {
    (void)state;
    const int64_t N = 4, S = 32;
    double t0 = now_s();
    medcl_graph *g = new_graph();
    int64_t xs[4] = {N, 1, S, S};
    medcl_node x = medcl_graph_input(g, "image", MEDCL_DTYPE_F32, 4, xs);
    medcl_node t = medcl_graph_input(g, "label", MEDCL_DTYPE_I32, 4, xs);
    medcl_unet_config c = MEDCL_UNET_CONFIG_INIT;
    c.dims = 2;
    c.levels = 4;
    c.base_features = 8;
    c.max_features = 32;
    c.num_classes = 2;
    c.deep_supervision = true;
    medcl_unet u;
    if (medcl_unet_build(g, &c, x, &u) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    assert_int_equal(u.nheads, 3);
    medcl_node loss = medcl_unet_loss_target(g, &u, t, NULL);
    /* head 2 has weight 0: only label.ds1 exists */
    medcl_node ds1 = medcl_graph_find(g, "label.ds1");
    assert_true(ds1.id >= 0);
    assert_true(medcl_graph_find(g, "label.ds2").id < 0);
    assert_string_equal(medcl_graph_node_kind(g, ds1), "downsample_nearest");
    medcl_graph_mark_output(g, ds1);
    medcl_graph_mark_output(g, u.heads[0]);
    medcl_graph_mark_output(g, u.heads[1]);
    if (medcl_graph_set_loss(g, loss) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    compile(g, true, 7);
    medcl_optim_config oc = MEDCL_OPTIM_CONFIG_INIT;
    oc.kind = MEDCL_OPTIM_ADAMW;
    oc.weight_decay = 1e-4;
    oc.clip_norm = 12.0;
    medcl_optim *o = NULL;
    assert_int_equal(medcl_optim_create(td_ctx(), &oc, &o), MEDCL_OK);
    assert_int_equal(medcl_optim_add_graph(o, g), MEDCL_OK);
    float *img = malloc((size_t)(N * S * S) * 4);
    int32_t *lab = malloc((size_t)(N * S * S) * 4);
    tu_rng r = tu_rng_make(11);
    /* step 0 forward: derived targets and the weighted loss against the host */
    make_disks(&r, N, S, img, lab);
    put(g, x, img);
    put(g, t, lab);
    assert_int_equal(medcl_graph_forward(g), MEDCL_OK);
    {
        const int64_t H = S / 2;
        int32_t *d1 = malloc((size_t)(N * H * H) * 4);
        assert_int_equal(medcl_tensor_download(medcl_graph_tensor(g, ds1), d1, (size_t)(N * H * H) * 4), MEDCL_OK);
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < H * H; i++)
                assert_int_equal(d1[n * H * H + i], lab[n * S * S + (2 * (i / H) + 1) * S + 2 * (i % H) + 1]);
        float *h0 = get(g, u.heads[0]), *h1 = get(g, u.heads[1]), *lv = get(g, loss);
        double want = u.head_weights[0] * host_dice_ce(h0, lab, (int)N, (long)(S * S)) +
                      u.head_weights[1] * host_dice_ce(h1, d1, (int)N, (long)(H * H));
        printf("deep supervision: weights %.4f %.4f %.4f, loss %.9g, host %.12g\n", u.head_weights[0],
               u.head_weights[1], u.head_weights[2], lv[0], want);
        assert_true(fabs(lv[0] - want) <= 1e-5 * fabs(want));
        free(h0);
        free(h1);
        free(lv);
        free(d1);
    }
    double t1 = now_s();
    float first = 0, last = 0;
    const int steps = 40;
    for (int k = 0; k < steps; k++) {
        if (k) make_disks(&r, N, S, img, lab);
        put(g, x, img);
        put(g, t, lab);
        medcl_step_stats st;
        if (medcl_train_step(g, o, 1e-2, &st) != MEDCL_OK) fail_msg("%s", medcl_last_error());
        assert_false(st.skipped);
        if (k == 0) first = st.loss;
        last = st.loss;
    }
    double t2 = now_s();
    /* held-out Dice of the full-resolution head */
    tu_rng h = tu_rng_make(987654321);
    double tp = 0, fp = 0, fn = 0;
    for (int b = 0; b < 2; b++) {
        make_disks(&h, N, S, img, lab);
        put(g, x, img);
        assert_int_equal(medcl_graph_forward(g), MEDCL_OK);
        float *lg = get(g, u.heads[0]);
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < S * S; i++) {
                int pred = lg[(n * 2 + 1) * S * S + i] > lg[n * 2 * S * S + i], tl = lab[n * S * S + i];
                tp += pred && tl;
                fp += pred && !tl;
                fn += !pred && tl;
            }
        free(lg);
    }
    double dice = 2 * tp / (2 * tp + fp + fn);
    printf("2D U-Net with deep supervision (%lld params): compile %.2f s, %d steps %.2f s, loss %.4f -> %.4f, "
           "held-out Dice %.4f\n", (long long)medcl_graph_param_numel(g), t1 - t0, steps, t2 - t1, first, last, dice);
    assert_true(dice > 0.9);
    free(img);
    free(lab);
    medcl_optim_destroy(o);
    medcl_graph_destroy(g);
}

/* ================================================================ README example */
/* ---- begin README example ---- */
/* Train a 2D U-Net (nnU-Net layout, deep supervision) on 64 x 64 images, batch 2. */
#define CHECK(call) do { if ((st = (call)) != MEDCL_OK) goto cleanup; } while (0)
static medcl_status train_unet_example(medcl_context *ctx, int steps, const float *images,
                                       const int32_t *labels, float *last_loss) {
    medcl_status st = MEDCL_OK;
    medcl_graph *g = NULL;
    medcl_optim *opt = NULL;
    CHECK(medcl_graph_create(ctx, &g));
    int64_t shape[4] = {2, 1, 64, 64}; /* (N, C, H, W) */
    medcl_node image = medcl_graph_input(g, "image", MEDCL_DTYPE_F32, 4, shape);
    medcl_node label = medcl_graph_input(g, "label", MEDCL_DTYPE_I32, 4, shape);

    medcl_unet_config cfg = MEDCL_UNET_CONFIG_INIT; /* InstanceNorm, LeakyReLU, 2 convs/stage */
    cfg.dims = 2;
    cfg.levels = 4;
    cfg.base_features = 8;
    cfg.max_features = 64;
    cfg.num_classes = 2;
    cfg.deep_supervision = true;
    medcl_unet net;
    CHECK(medcl_unet_build(g, &cfg, image, &net));
    /* Dice + CE over the heads; per-head targets down-sampled from `label` on the device */
    medcl_node loss = medcl_unet_loss_target(g, &net, label, NULL);
    CHECK(medcl_graph_set_loss(g, loss));
    CHECK(medcl_graph_mark_output(g, net.logits));

    medcl_graph_compile_options co = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
    co.init_seed = 42;
    CHECK(medcl_graph_compile(g, &co)); /* plan memory, init weights, build kernels */

    medcl_optim_config oc = MEDCL_OPTIM_CONFIG_NNUNET; /* SGD Nesterov 0.99, wd 3e-5, clip 12 */
    CHECK(medcl_optim_create(ctx, &oc, &opt));
    CHECK(medcl_optim_add_graph(opt, g));
    medcl_lr_schedule lr = MEDCL_LR_SCHEDULE_INIT;
    lr.kind = MEDCL_LR_POLY;
    lr.lr0 = 1e-2;
    lr.total = steps;

    for (int s = 0; s < steps; s++) {
        const size_t n = 2 * 64 * 64;
        CHECK(medcl_tensor_upload(medcl_graph_tensor(g, image), images + s * n, n * sizeof(float)));
        CHECK(medcl_tensor_upload(medcl_graph_tensor(g, label), labels + s * n, n * sizeof(int32_t)));
        medcl_step_stats stats; /* zero_grad, forward, backward, SGD step, one read-back */
        CHECK(medcl_train_step(g, opt, medcl_lr_at(&lr, s), &stats));
        printf("step %d: loss %.4f, grad norm %.3f\n", s, stats.loss, stats.grad_norm);
        *last_loss = stats.loss;
    }
    CHECK(medcl_checkpoint_save("unet.safetensors", g, opt, NULL));
cleanup:
    medcl_optim_destroy(opt);
    medcl_graph_destroy(g);
    return st;
}
/* ---- end README example ---- */

static void test_readme_example(void **state) {
    (void)state;
    char dir[512], cwd[1024];
    tu_tmpdir(dir, sizeof dir, "readme");
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    const int steps = 3;
    const int64_t n = 2 * 64 * 64;
    float *img = malloc((size_t)(steps * n) * 4);
    int32_t *lab = malloc((size_t)(steps * n) * 4);
    tu_rng r = tu_rng_make(5);
    for (int s = 0; s < steps; s++) make_disks(&r, 2, 64, img + s * n, lab + s * n);
    float last = NAN;
    medcl_status st = train_unet_example(td_ctx(), steps, img, lab, &last);
    if (st != MEDCL_OK) fail_msg("%s", medcl_last_error());
    assert_true(isfinite(last));
    medcl_safetensors *f = NULL;
    assert_int_equal(medcl_safetensors_read("unet.safetensors", &f), MEDCL_OK);
    assert_non_null(medcl_safetensors_find(f, "enc0.conv0.weight"));
    assert_non_null(medcl_safetensors_find(f, "seg1.weight"));
    medcl_safetensors_close(f);
    assert_int_equal(chdir(cwd), 0);
    free(img);
    free(lab);
}

/* ================================================================ bad input */
static void expect_sticky(medcl_graph *g, medcl_status code, const char *a, const char *b) {
    medcl_clear_error();
    assert_int_equal(medcl_graph_status(g), code);
    const char *m = medcl_last_error();
    printf("  error: %s\n", m);
    if (a) assert_non_null(strstr(m, a));
    if (b) assert_non_null(strstr(m, b));
    medcl_graph_destroy(g);
}

static void test_bad_input(void **state) {
    (void)state;
    int64_t s4[4] = {2, 3, 4, 4}, s3[3] = {2, 3, 4}, c4 = 4, c3 = 3, l4[4] = {2, 1, 4, 5}, odd[4] = {1, 1, 6, 7};
    medcl_graph *g = new_graph();
    medcl_node x = medcl_graph_input(g, "feat", MEDCL_DTYPE_F32, 4, s4);
    medcl_node y = medcl_graph_input(g, "other", MEDCL_DTYPE_F32, 3, s3);
    assert_true(medcl_graph_add(g, x, y).id < 0); /* (2,3,4,4) + (2,3,4): 3 vs 4 */
    expect_sticky(g, MEDCL_ERR_SHAPE, "feat", "other");

    g = new_graph();
    x = medcl_graph_input(g, "feat", MEDCL_DTYPE_F32, 4, s4);
    medcl_node w = medcl_graph_param(g, "act.slope", 1, &c4, NULL);
    assert_true(medcl_graph_prelu(g, x, w).id < 0);
    expect_sticky(g, MEDCL_ERR_SHAPE, "act.slope", "prelu");

    g = new_graph();
    x = medcl_graph_input(g, "feat", MEDCL_DTYPE_F32, 4, s4);
    medcl_node not_param = medcl_graph_input(g, "slope_in", MEDCL_DTYPE_F32, 1, &c3);
    assert_true(medcl_graph_prelu(g, x, not_param).id < 0);
    expect_sticky(g, MEDCL_ERR_INVALID_ARG, "slope_in", "parameter");

    g = new_graph();
    x = medcl_graph_input(g, "feat", MEDCL_DTYPE_F32, 4, s4);
    assert_true(medcl_graph_slice(g, x, 2, 2).id < 0);
    expect_sticky(g, MEDCL_ERR_SHAPE, "feat", "count = 2");

    g = new_graph();
    x = medcl_graph_input(g, "feat", MEDCL_DTYPE_F32, 4, s4);
    medcl_node lab = medcl_graph_input(g, "seg", MEDCL_DTYPE_I32, 4, l4);
    assert_true(medcl_graph_focal_loss(g, x, lab, NULL).id < 0);
    expect_sticky(g, MEDCL_ERR_SHAPE, "seg", "(2, 1, 4, 5)");

    g = new_graph();
    medcl_node lo = medcl_graph_input(g, "labels_odd", MEDCL_DTYPE_I32, 4, odd);
    assert_true(medcl_graph_downsample_nearest(g, lo, NULL).id < 0);
    expect_sticky(g, MEDCL_ERR_SHAPE, "labels_odd", "extent 7");

    g = new_graph();
    x = medcl_graph_input(g, "feat", MEDCL_DTYPE_F32, 4, s4);
    medcl_dropout_params dp = MEDCL_DROPOUT_PARAMS_INIT;
    dp.p = 1.5f;
    assert_true(medcl_graph_dropout(g, x, &dp).id < 0);
    expect_sticky(g, MEDCL_ERR_INVALID_ARG, "p = 1.5", "dropout");

    assert_int_equal(medcl_graph_set_training(NULL, true), MEDCL_ERR_INVALID_ARG);
    assert_false(medcl_graph_is_training(NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broadcast_add_mul),
        cmocka_unit_test(test_prelu),
        cmocka_unit_test(test_activation_backward_from_output),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_dropout_modes),
        cmocka_unit_test(test_batchnorm_modes),
        cmocka_unit_test(test_losses),
        cmocka_unit_test(test_downsample_labels),
        cmocka_unit_test(test_downsample_many_slices),
        cmocka_unit_test(test_downsample_u8),
        cmocka_unit_test(test_unet_deep_supervision_learns),
        cmocka_unit_test(test_readme_example),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
