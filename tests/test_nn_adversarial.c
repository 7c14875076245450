/* tests/test_nn_adversarial.c — FGSM and PGD on a compiled graph (linear layer + softmax
 * cross-entropy, input gradient requested) against a float64 reference of the model:
 * FGSM moves every element by exactly ±eps in the direction of the reference input gradient
 * (max-norm eps before clipping) and raises the loss by at least the first-order gain eps*|g|_1
 * (the loss is convex in x); clipping keeps the valid range and matches the formula bit for
 * bit; PGD stays in the eps-ball, raises the loss, is deterministic per (seed, step) and differs
 * between steps; the projected sign step on hand-picked values (sign(0) = 0, NaN); the mixed
 * clean/adversarial parameter gradients for FGSM, PGD and none; bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/continual.h"
#include "testutil.h"

#define NB 4  /* batch */
#define IN 6
#define OUT 3
#define NX (NB * IN)

typedef struct model {
    medcl_graph *g;
    medcl_node x, t, w, b, loss;
    double W[OUT * IN], B[OUT];
    int32_t y[NB];
    float x0[NX];
} model;

static model build(tu_rng *r, bool input_grad) {
    model m;
    assert_int_equal(medcl_graph_create(td_ctx(), &m.g), MEDCL_OK);
    medcl_init in = MEDCL_INIT_INIT;
    in.kind = MEDCL_INIT_NORMAL;
    m.x = medcl_graph_input(m.g, "image", MEDCL_DTYPE_F32, 2, (int64_t[]){NB, IN});
    m.t = medcl_graph_input(m.g, "label", MEDCL_DTYPE_I32, 1, (int64_t[]){NB});
    m.w = medcl_graph_param(m.g, "fc.weight", 2, (int64_t[]){OUT, IN}, &in);
    m.b = medcl_graph_param(m.g, "fc.bias", 1, (int64_t[]){OUT}, &in);
    medcl_node z = medcl_graph_linear(m.g, m.x, m.w, m.b);
    m.loss = medcl_graph_ce_loss(m.g, z, m.t, NULL);
    assert_int_equal(medcl_graph_set_loss(m.g, m.loss), MEDCL_OK);
    if (input_grad) assert_int_equal(medcl_graph_input_requires_grad(m.g, m.x), MEDCL_OK);
    medcl_graph_compile_options o = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
    o.init_seed = (uint64_t)tu_int(r, 0, 1 << 30);
    if (medcl_graph_compile(m.g, &o) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    float w[OUT * IN], b[OUT];
    assert_int_equal(medcl_tensor_download(medcl_graph_tensor(m.g, m.w), w, sizeof w), MEDCL_OK);
    assert_int_equal(medcl_tensor_download(medcl_graph_tensor(m.g, m.b), b, sizeof b), MEDCL_OK);
    for (int i = 0; i < OUT * IN; i++) m.W[i] = w[i];
    for (int i = 0; i < OUT; i++) m.B[i] = b[i];
    tu_fill_normal(r, m.x0, NX);
    for (int n = 0; n < NB; n++) m.y[n] = tu_int(r, 0, OUT - 1);
    assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(m.g, m.t), m.y, sizeof m.y), MEDCL_OK);
    assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(m.g, m.x), m.x0, sizeof m.x0), MEDCL_OK);
    return m;
}

/* float64 reference: L = mean_n -log softmax(W x_n + b)[y_n]; gradients w.r.t. x, W, b
 * (any may be NULL), each scaled by s and added. */
static double ref(const model *m, const float *x, double s, double *dx, double *dW, double *dB) {
    double L = 0.0;
    for (int n = 0; n < NB; n++) {
        double z[OUT], mx = -INFINITY, sum = 0.0;
        for (int o = 0; o < OUT; o++) {
            z[o] = m->B[o];
            for (int i = 0; i < IN; i++) z[o] += m->W[o * IN + i] * x[n * IN + i];
            mx = fmax(mx, z[o]);
        }
        for (int o = 0; o < OUT; o++) sum += exp(z[o] - mx);
        L += -(z[m->y[n]] - mx - log(sum)) / NB;
        for (int o = 0; o < OUT; o++) {
            double d = (exp(z[o] - mx) / sum - (o == m->y[n])) / NB * s;
            if (dB) dB[o] += d;
            for (int i = 0; i < IN; i++) {
                if (dx) dx[n * IN + i] += m->W[o * IN + i] * d;
                if (dW) dW[o * IN + i] += d * x[n * IN + i];
            }
        }
    }
    return L;
}

static float device_loss(model *m, const float *x) {
    float l;
    assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(m->g, m->x), x, NX * 4), MEDCL_OK);
    assert_int_equal(medcl_graph_forward(m->g), MEDCL_OK);
    assert_int_equal(medcl_tensor_download(medcl_graph_tensor(m->g, m->loss), &l, 4), MEDCL_OK);
    return l;
}

static void test_fgsm(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    model m = build(&r, true);
    medcl_adv_config c = MEDCL_ADV_CONFIG_INIT;
    c.method = MEDCL_ADV_FGSM;
    c.epsilon = 0.25f;
    medcl_adversary *a;
    assert_int_equal(medcl_adversary_create(m.g, m.x, &c, &a), MEDCL_OK);
    assert_int_equal(medcl_adversary_perturb(a, 0), MEDCL_OK);
    float *xa = td_download(medcl_graph_tensor(m.g, m.x)), *xc = td_download(medcl_adversary_clean(a));
    assert_memory_equal(xc, m.x0, sizeof m.x0);
    double g[NX] = {0}, gmax = 0.0, g1 = 0.0, dmax = 0.0;
    double L0 = ref(&m, m.x0, 1.0, g, NULL, NULL);
    for (int i = 0; i < NX; i++) gmax = fmax(gmax, fabs(g[i])), g1 += fabs(g[i]);
    for (int i = 0; i < NX; i++) {
        double d = (double)xa[i] - m.x0[i];
        dmax = fmax(dmax, fabs(d));
        /* |x' - x| = eps up to the rounding of x + eps (half an ulp of |x| + eps) */
        double tol = ldexp(fabs(m.x0[i]) + c.epsilon, -23);
        if (fabs(g[i]) > 1e-6 * gmax) {
            if (fabs(fabs(d) - c.epsilon) > tol || (d > 0) != (g[i] > 0))
                fail_msg("element %d moved by %.9g, gradient %.6g, eps %g", i, d, g[i], (double)c.epsilon);
        }
    }
    double L1 = ref(&m, xa, 1.0, NULL, NULL, NULL);
    float l0 = device_loss(&m, m.x0), l1 = device_loss(&m, xa);
    printf("FGSM eps %.2f: max |x'-x| = %.9g; loss %.6g -> %.6g (device %.6g -> %.6g), first-order gain %.6g\n",
           (double)c.epsilon, dmax, L0, L1, l0, l1, c.epsilon * g1);
    assert_true(fabs(dmax - c.epsilon) <= 1e-6);
    assert_true(L1 >= L0 + 0.999 * c.epsilon * g1 && l1 > l0);
    free(xa);
    free(xc);
    medcl_adversary_destroy(a);

    /* clipping to [-1, 1]: the formula bit for bit, values in range */
    c.clip = true;
    c.lo = -1.0f;
    c.hi = 1.0f;
    assert_int_equal(medcl_adversary_create(m.g, m.x, &c, &a), MEDCL_OK);
    assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(m.g, m.x), m.x0, sizeof m.x0), MEDCL_OK);
    assert_int_equal(medcl_adversary_perturb(a, 0), MEDCL_OK);
    xa = td_download(medcl_graph_tensor(m.g, m.x));
    int clipped = 0;
    for (int i = 0; i < NX; i++) {
        float s = g[i] > 0 ? 1.0f : (g[i] < 0 ? -1.0f : 0.0f);
        float y = m.x0[i] + c.epsilon * s;
        y = fminf(fmaxf(y, m.x0[i] - c.epsilon), m.x0[i] + c.epsilon);
        float want = fminf(fmaxf(y, -1.0f), 1.0f);
        clipped += want != y;
        assert_true(xa[i] >= -1.0f && xa[i] <= 1.0f);
        if (memcmp(&xa[i], &want, 4) != 0) fail_msg("clip: element %d = %.9g, expected %.9g", i, xa[i], want);
    }
    printf("clipped %d of %d elements\n", clipped, NX);
    free(xa);
    medcl_adversary_destroy(a);
    medcl_graph_destroy(m.g);
}

static void test_pgd(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    model m = build(&r, true);
    medcl_adv_config c = MEDCL_ADV_CONFIG_INIT;
    c.method = MEDCL_ADV_PGD;
    c.epsilon = 0.2f;
    c.alpha = 0.05f;
    c.steps = 10;
    c.random_start = false;
    medcl_adversary *a;
    /* without random start the loss never decreases along the steps (convex loss, moves along
     * sign(g)), so the end point beats the clean loss by at least the first step's gain */
    assert_int_equal(medcl_adversary_create(m.g, m.x, &c, &a), MEDCL_OK);
    assert_int_equal(medcl_adversary_perturb(a, 3), MEDCL_OK);
    float *xa = td_download(medcl_graph_tensor(m.g, m.x));
    double L0 = ref(&m, m.x0, 1.0, NULL, NULL, NULL), L1 = ref(&m, xa, 1.0, NULL, NULL, NULL), dmax = 0.0;
    for (int i = 0; i < NX; i++) {
        double d = fabs((double)xa[i] - m.x0[i]);
        dmax = fmax(dmax, d);
        assert_true(d <= c.epsilon + ldexp(fabs(m.x0[i]) + c.epsilon, -23));
    }
    printf("PGD eps %.2f alpha %.2f x%d: max |x'-x| = %.9g; loss %.6g -> %.6g\n", (double)c.epsilon,
           (double)c.alpha, c.steps, dmax, L0, L1);
    assert_true(L1 > L0 && dmax > 0.5 * c.epsilon);
    free(xa);
    medcl_adversary_destroy(a);

    /* random start: in the ball, same (seed, step) → same bits, another step → other bits */
    c.random_start = true;
    c.steps = 2;
    c.seed = 99;
    assert_int_equal(medcl_adversary_create(m.g, m.x, &c, &a), MEDCL_OK);
    float *runs[3];
    uint32_t steps[3] = {5, 5, 6};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(m.g, m.x), m.x0, sizeof m.x0), MEDCL_OK);
        assert_int_equal(medcl_adversary_perturb(a, steps[k]), MEDCL_OK);
        runs[k] = td_download(medcl_graph_tensor(m.g, m.x));
        for (int i = 0; i < NX; i++)
            assert_true(fabs((double)runs[k][i] - m.x0[i]) <= c.epsilon + ldexp(fabs(m.x0[i]) + c.epsilon, -23));
    }
    assert_memory_equal(runs[0], runs[1], NX * 4);
    assert_memory_not_equal(runs[0], runs[2], NX * 4);
    for (int k = 0; k < 3; k++) free(runs[k]);
    /* restore puts the clean batch back */
    assert_int_equal(medcl_adversary_restore(a), MEDCL_OK);
    xa = td_download(medcl_graph_tensor(m.g, m.x));
    assert_memory_equal(xa, m.x0, sizeof m.x0);
    free(xa);
    medcl_adversary_destroy(a);
    medcl_graph_destroy(m.g);
}

/* The projected sign step on hand-picked values. */
static void test_step_values(void **state) {
    (void)state;
    /*              x0     x     grad */
    float x0[8] = {0.0f, 0.0f, 0.0f, 1.0f, 1.0f, 2.0f, 0.5f, 0.0f};
    float x[8] = {0.0f, 0.0f, 0.0f, 1.2f, 0.8125f, 2.0f, 0.5f, 0.0f};
    float g[8] = {3.0f, -0.5f, 0.0f, 1.0f, -1.0f, 1.0f, -7.0f, NAN};
    /* eps 0.25, alpha 0.125, clip [0, 2] */
    float want[8] = {0.125f, 0.0f, 0.0f, 1.25f, 0.75f, 2.0f, 0.375f, NAN};
    int64_t n = 8;
    medcl_tensor *t0 = td_tensor(1, &n, x0, "x0"), *tx = td_tensor(1, &n, x, "x"), *tg = td_tensor(1, &n, g, "g");
    medcl_tensor *to = td_tensor(1, &n, NULL, "out");
    medcl_adv_step_params p = MEDCL_ADV_STEP_PARAMS_INIT;
    p.epsilon = 0.25f;
    p.alpha = 0.125f;
    p.clip = true;
    p.lo = 0.0f;
    p.hi = 2.0f;
    assert_int_equal(medcl_adv_step(&p, t0, tx, tg, to), MEDCL_OK);
    float *o = td_download(to);
    for (int i = 0; i < 7; i++)
        if (o[i] != want[i]) fail_msg("element %d = %.9g, expected %.9g", i, o[i], want[i]);
    assert_true(isnan(o[7]));
    free(o);
    /* in place (out = x) */
    assert_int_equal(medcl_adv_step(&p, t0, tx, tg, tx), MEDCL_OK);
    o = td_download(tx);
    for (int i = 0; i < 7; i++) assert_true(o[i] == want[i]);
    free(o);
    int64_t m = 7;
    medcl_tensor *short_ = td_tensor(1, &m, NULL, "short");
    assert_int_equal(medcl_adv_step(&p, t0, tx, short_, to), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "short"));
    p.epsilon = -1.0f;
    assert_int_equal(medcl_adv_step(&p, t0, tx, tg, to), MEDCL_ERR_INVALID_ARG);
    medcl_tensor_destroy(short_);
    medcl_tensor_destroy(t0);
    medcl_tensor_destroy(tx);
    medcl_tensor_destroy(tg);
    medcl_tensor_destroy(to);
}

/* Parameter gradients after train_backward = (1-w) dL(x)/dtheta + w dL(x')/dtheta, with x' the
 * batch left in the graph input; the loss sum is the same mix. */
static void check_mixed(medcl_adv_method method, float weight) {
    tu_rng r = tu_rng_make(tu_seed());
    model m = build(&r, true);
    medcl_adv_config c = MEDCL_ADV_CONFIG_INIT;
    c.method = method;
    c.epsilon = 0.1f;
    c.alpha = 0.04f;
    c.steps = 3;
    c.weight = weight;
    c.seed = 5;
    medcl_adversary *a;
    assert_int_equal(medcl_adversary_create(m.g, m.x, &c, &a), MEDCL_OK);
    assert_int_equal(medcl_adversary_train_backward(a, 11), MEDCL_OK);
    float *xa = td_download(medcl_graph_tensor(m.g, m.x));
    float *gw = td_download(medcl_graph_grad(m.g, m.w)), *gb = td_download(medcl_graph_grad(m.g, m.b));
    float *ls = td_download(medcl_graph_loss_sum(m.g));
    float wc, wa;
    medcl_adv_loss_weights(&c, &wc, &wa);
    double dW[OUT * IN] = {0}, dB[OUT] = {0};
    double L = wc * ref(&m, m.x0, wc, NULL, dW, dB) + wa * ref(&m, xa, wa, NULL, dW, dB);
    double ew = tu_nrms(gw, dW, OUT * IN), eb = tu_nrms(gb, dB, OUT);
    bool moved = memcmp(xa, m.x0, sizeof m.x0) != 0;
    printf("%s weight %.2f: grad nrms W %.3g, b %.3g; loss sum %.7g vs %.7g; input perturbed: %d\n",
           medcl_adv_method_str(method), (double)weight, ew, eb, ls[0], L, moved);
    assert_true(ew <= 1e-6 && eb <= 1e-6);
    assert_true(fabs(ls[0] - L) <= 1e-6 * fabs(L));
    assert_true(moved == (method != MEDCL_ADV_NONE && weight > 0.0f));
    free(xa);
    free(gw);
    free(gb);
    free(ls);
    medcl_adversary_destroy(a);
    medcl_graph_destroy(m.g);
}

static void test_mixed_gradients(void **state) {
    (void)state;
    check_mixed(MEDCL_ADV_FGSM, 0.5f);
    check_mixed(MEDCL_ADV_FGSM, 1.0f);
    check_mixed(MEDCL_ADV_PGD, 0.5f);
    check_mixed(MEDCL_ADV_NONE, 0.5f);
}

static void test_bad_input(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    model m = build(&r, false);
    medcl_adv_config c = MEDCL_ADV_CONFIG_INIT;
    medcl_adversary *a = NULL;
    assert_int_equal(medcl_adversary_create(m.g, m.x, &c, &a), MEDCL_ERR_STATE);
    assert_non_null(strstr(medcl_last_error(), "image"));
    assert_null(a);
    c.epsilon = 0.0f;
    assert_int_equal(medcl_adv_config_check(&c), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "epsilon"));
    c = (medcl_adv_config)MEDCL_ADV_CONFIG_INIT;
    c.method = MEDCL_ADV_PGD;
    c.steps = 0;
    assert_int_equal(medcl_adv_config_check(&c), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "steps"));
    c.steps = 3;
    c.weight = 1.5f;
    assert_int_equal(medcl_adv_config_check(&c), MEDCL_ERR_INVALID_ARG);
    c.weight = 0.5f;
    c.clip = true;
    c.lo = 1.0f;
    c.hi = 0.0f;
    assert_int_equal(medcl_adv_config_check(&c), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_adversary_perturb(NULL, 0), MEDCL_ERR_INVALID_ARG);
    medcl_adversary_destroy(NULL);
    medcl_graph_destroy(m.g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fgsm),
        cmocka_unit_test(test_pgd),
        cmocka_unit_test(test_step_values),
        cmocka_unit_test(test_mixed_gradients),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
