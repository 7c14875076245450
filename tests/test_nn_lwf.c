/* tests/test_nn_lwf.c — LwF distillation loss (medcl_lwf_loss_forward/backward): zero when the
 * student equals the teacher; forward and backward against a float64 reference on segmentation
 * (N, C, H, W) and classification (N, C) logits at T = 2 and T = 1; the reference backward
 * against central differences of the reference forward; the incoming dloss scalar; the
 * teacher's tempered softmax; the in-graph form (same gradient, value shifted by the teacher's
 * entropy); bad input. */
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

/* ---- float64 reference: logits (N, C, S) ---- */
static void ref_softmax_t(const double *x, int64_t C, int64_t S, double T, double *p) {
    double m = x[0];
    for (int64_t c = 1; c < C; c++) m = fmax(m, x[c * S]);
    double sum = 0.0;
    for (int64_t c = 0; c < C; c++) sum += exp((x[c * S] - m) / T);
    for (int64_t c = 0; c < C; c++) p[c] = exp((x[c * S] - m) / T) / sum;
}

static double ref_loss(const double *s, const double *t, int64_t N, int64_t C, int64_t S, double T) {
    double acc = 0.0, p[64], q[64];
    for (int64_t n = 0; n < N; n++)
        for (int64_t v = 0; v < S; v++) {
            const double *sp = s + n * C * S + v, *tp = t + n * C * S + v;
            ref_softmax_t(sp, C, S, T, p);
            ref_softmax_t(tp, C, S, T, q);
            for (int64_t c = 0; c < C; c++) acc += q[c] * (log(q[c]) - log(p[c]));
        }
    return T * T * acc / (double)(N * S);
}

static void ref_grad(const double *s, const double *t, int64_t N, int64_t C, int64_t S, double T,
                     double dl, double *ds) {
    double p[64], q[64];
    for (int64_t n = 0; n < N; n++)
        for (int64_t v = 0; v < S; v++) {
            const double *sp = s + n * C * S + v, *tp = t + n * C * S + v;
            ref_softmax_t(sp, C, S, T, p);
            ref_softmax_t(tp, C, S, T, q);
            for (int64_t c = 0; c < C; c++) ds[n * C * S + c * S + v] = dl * T / (double)(N * S) * (p[c] - q[c]);
        }
}

static double *to_double(const float *f, int64_t n) {
    double *d = malloc((size_t)n * sizeof *d);
    for (int64_t i = 0; i < n; i++) d[i] = f[i];
    return d;
}

static float read1(const medcl_tensor *t) {
    float v;
    assert_int_equal(medcl_tensor_download(t, &v, sizeof v), MEDCL_OK);
    return v;
}

static void check_case(tu_rng *r, int ndim, const int64_t *shape, float T) {
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) numel *= shape[i];
    int64_t N = shape[0], C = shape[1], S = numel / (N * C);
    float *sh = malloc((size_t)numel * 4), *th = malloc((size_t)numel * 4);
    tu_fill_normal(r, sh, (size_t)numel);
    tu_fill_normal(r, th, (size_t)numel);
    for (int64_t i = 0; i < numel; i++) sh[i] *= 2.0f, th[i] *= 2.0f;
    medcl_tensor *ts = td_tensor(ndim, shape, sh, "student"), *tt = td_tensor(ndim, shape, th, "teacher");
    medcl_tensor *loss = td_tensor(1, (int64_t[]){1}, NULL, "loss"), *ds = td_tensor(ndim, shape, NULL, "dstudent");
    medcl_lwf_params p = MEDCL_LWF_PARAMS_INIT;
    p.temperature = T;

    /* student == teacher: exactly 0, gradient exactly 0 */
    assert_int_equal(medcl_lwf_loss_forward(tt, tt, &p, loss), MEDCL_OK);
    assert_true(read1(loss) == 0.0f);
    assert_int_equal(medcl_lwf_loss_backward(tt, tt, &p, NULL, ds), MEDCL_OK);
    float *g0 = td_download(ds);
    for (int64_t i = 0; i < numel; i++) assert_true(g0[i] == 0.0f);
    free(g0);

    double *s = to_double(sh, numel), *t = to_double(th, numel), *gref = malloc((size_t)numel * 8);
    double L = ref_loss(s, t, N, C, S, T);
    td_poison(loss);
    assert_int_equal(medcl_lwf_loss_forward(ts, tt, &p, loss), MEDCL_OK);
    float Ld = read1(loss);
    double rel = fabs(Ld - L) / fabs(L);
    printf("shape N=%lld C=%lld S=%lld T=%g: loss %.9g, reference %.12g, relative error %.3g\n",
           (long long)N, (long long)C, (long long)S, (double)T, Ld, L, rel);
    assert_true(L > 0.01 && rel <= 1e-6);

    /* reference backward against central differences of the reference forward */
    ref_grad(s, t, N, C, S, T, 1.0, gref);
    for (int k = 0; k < 6; k++) {
        int64_t i = tu_int(r, 0, (int)numel - 1);
        double e = 1e-6, keep = s[i];
        s[i] = keep + e;
        double lp = ref_loss(s, t, N, C, S, T);
        s[i] = keep - e;
        double lm = ref_loss(s, t, N, C, S, T);
        s[i] = keep;
        double fd = (lp - lm) / (2 * e);
        if (fabs(fd - gref[i]) > 1e-7 * (1e-3 + fabs(gref[i])) + 1e-9)
            fail_msg("finite differences at %lld: %.12g vs analytic %.12g", (long long)i, fd, gref[i]);
    }
    /* device backward, dloss NULL (1) and a device scalar */
    assert_int_equal(medcl_lwf_loss_backward(ts, tt, &p, NULL, ds), MEDCL_OK);
    float *g = td_download(ds);
    double e1 = tu_nrms(g, gref, (size_t)numel);
    assert_true(tu_zero_fraction(g, (size_t)numel) < 0.8);
    free(g);
    float dl = -0.75f;
    medcl_tensor *tdl = td_tensor(1, (int64_t[]){1}, &dl, "dloss");
    td_poison(ds);
    assert_int_equal(medcl_lwf_loss_backward(ts, tt, &p, tdl, ds), MEDCL_OK);
    ref_grad(s, t, N, C, S, T, dl, gref);
    g = td_download(ds);
    double e2 = tu_nrms(g, gref, (size_t)numel), m2 = tu_max_abs_diff(g, gref, (size_t)numel);
    printf("backward nrms %.3g (dloss 1), %.3g (dloss %.2f), max abs %.3g\n", e1, e2, (double)dl, m2);
    assert_true(e1 <= 1e-6 && e2 <= 1e-6);
    free(g);

    /* teacher probabilities sum to 1 per voxel and match the reference */
    medcl_tensor *tq = td_tensor(ndim, shape, NULL, "q");
    assert_int_equal(medcl_lwf_teacher_probs(tt, &p, tq), MEDCL_OK);
    float *q = td_download(tq);
    double *qr = malloc((size_t)numel * 8), tmp[64];
    for (int64_t n = 0; n < N; n++)
        for (int64_t v = 0; v < S; v++) {
            ref_softmax_t(t + n * C * S + v, C, S, T, tmp);
            for (int64_t c = 0; c < C; c++) qr[n * C * S + c * S + v] = tmp[c];
        }
    assert_true(tu_nrms(q, qr, (size_t)numel) <= 1e-6);
    free(q);
    free(qr);
    medcl_tensor_destroy(tq);
    medcl_tensor_destroy(tdl);
    medcl_tensor_destroy(ts);
    medcl_tensor_destroy(tt);
    medcl_tensor_destroy(loss);
    medcl_tensor_destroy(ds);
    free(s);
    free(t);
    free(gref);
    free(sh);
    free(th);
}

static void test_segmentation(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    check_case(&r, 4, (int64_t[]){2, 4, 5, 7}, 2.0f);
    check_case(&r, 5, (int64_t[]){1, 3, 3, 4, 5}, 1.0f);
}

static void test_classification(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    check_case(&r, 2, (int64_t[]){9, 3}, 2.0f);
}

/* The in-graph form T^2 CE_soft(student / T, q): gradient equal to the LwF backward, value LwF +
 * T^2 mean_v H(q_v). The student logits are a graph input that requires grad. */
static void test_graph_form(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    int64_t shape[4] = {2, 3, 4, 5}, numel = 120, N = 2, C = 3, S = 20;
    double T = 2.0;
    medcl_graph *g;
    assert_int_equal(medcl_graph_create(td_ctx(), &g), MEDCL_OK);
    medcl_node xs = medcl_graph_input(g, "student", MEDCL_DTYPE_F32, 4, shape);
    medcl_node xq = medcl_graph_input(g, "teacher_probs", MEDCL_DTYPE_F32, 4, shape);
    medcl_lwf_params p = MEDCL_LWF_PARAMS_INIT;
    medcl_node l = medcl_lwf_graph_loss(g, xs, xq, &p, 1.0f);
    assert_int_equal(medcl_graph_set_loss(g, l), MEDCL_OK);
    assert_int_equal(medcl_graph_input_requires_grad(g, xs), MEDCL_OK);
    medcl_graph_compile_options o = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
    if (medcl_graph_compile(g, &o) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    float sh[120], th[120];
    tu_fill_normal(&r, sh, 120);
    tu_fill_normal(&r, th, 120);
    medcl_tensor *tt = td_tensor(4, shape, th, "teacher");
    assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(g, xs), sh, sizeof sh), MEDCL_OK);
    assert_int_equal(medcl_lwf_teacher_probs(tt, &p, medcl_graph_tensor(g, xq)), MEDCL_OK);
    assert_int_equal(medcl_graph_zero_grad(g), MEDCL_OK);
    assert_int_equal(medcl_graph_forward(g), MEDCL_OK);
    assert_int_equal(medcl_graph_backward(g, 1.0f), MEDCL_OK);
    float *gs = td_download(medcl_graph_grad(g, xs)), *lv = td_download(medcl_graph_tensor(g, l));
    double *s = to_double(sh, numel), *t = to_double(th, numel), gref[120], q[64];
    ref_grad(s, t, N, C, S, T, 1.0, gref);
    double H = 0.0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t v = 0; v < S; v++) {
            ref_softmax_t(t + n * C * S + v, C, S, T, q);
            for (int64_t c = 0; c < C; c++) H -= q[c] * log(q[c]);
        }
    double want = ref_loss(s, t, N, C, S, T) + T * T * H / (double)(N * S);
    double eg = tu_nrms(gs, gref, 120);
    printf("graph form: loss %.9g, reference %.12g; gradient nrms %.3g\n", lv[0], want, eg);
    assert_true(fabs(lv[0] - want) <= 1e-6 * fabs(want));
    assert_true(eg <= 1e-6);
    free(gs);
    free(lv);
    free(s);
    free(t);
    medcl_tensor_destroy(tt);
    medcl_graph_destroy(g);
}

static void test_bad_input(void **state) {
    (void)state;
    medcl_tensor *a = td_tensor(4, (int64_t[]){1, 3, 4, 4}, NULL, "stud");
    medcl_tensor *b = td_tensor(4, (int64_t[]){1, 2, 4, 4}, NULL, "teach");
    medcl_tensor *l = td_tensor(1, (int64_t[]){1}, NULL, "loss");
    medcl_tensor *l2 = td_tensor(1, (int64_t[]){2}, NULL, "loss2");
    assert_int_equal(medcl_lwf_loss_forward(a, b, NULL, l), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "teach"));
    assert_int_equal(medcl_lwf_loss_forward(a, a, NULL, l2), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "loss2"));
    medcl_lwf_params p = MEDCL_LWF_PARAMS_INIT;
    p.temperature = 0.0f;
    assert_int_equal(medcl_lwf_loss_forward(a, a, &p, l), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "temperature"));
    assert_int_equal(medcl_lwf_loss_forward(NULL, a, NULL, l), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_lwf_loss_backward(a, a, NULL, l2, a), MEDCL_ERR_SHAPE);
    assert_int_equal(medcl_lwf_loss_backward(a, a, NULL, NULL, b), MEDCL_ERR_SHAPE);
    medcl_tensor_destroy(a);
    medcl_tensor_destroy(b);
    medcl_tensor_destroy(l);
    medcl_tensor_destroy(l2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segmentation),
        cmocka_unit_test(test_classification),
        cmocka_unit_test(test_graph_form),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
