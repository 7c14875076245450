/* tests/test_graph_basic.c — the graph layer on the always-present ops: loss and gradients of
 * a small graph (a parameter used twice, an activation used twice, an input gradient) against
 * a float64 reference and central finite differences; gradient accumulation over
 * micro-batches; the memory plan (planned peak below the naive sum, same bits as unplanned);
 * no program compiled after medcl_graph_compile; sticky errors naming the node; inference
 * compile; named parameters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/graph.h"
#include "testutil.h"

#define N 24

typedef struct built {
    medcl_graph *g;
    medcl_node x, w, b, loss;
} built;

/* loss = mean(0.5 (x*w + b)^2) + 0.01 sum(w*w) */
static built build(bool plan, bool input_grad) {
    built r;
    int64_t shape[3] = {2, 3, 4};
    assert_int_equal(medcl_graph_create(td_ctx(), &r.g), MEDCL_OK);
    medcl_graph *g = r.g;
    medcl_init in = MEDCL_INIT_INIT;
    in.kind = MEDCL_INIT_NORMAL;
    in.std = 1.0;
    r.x = medcl_graph_input(g, "x", MEDCL_DTYPE_F32, 3, shape);
    r.w = medcl_graph_param(g, "w", 3, shape, &in);
    in.kind = MEDCL_INIT_UNIFORM;
    in.lo = -1.0;
    in.hi = 1.0;
    r.b = medcl_graph_param(g, "b", 3, shape, &in);
    medcl_node z = medcl_graph_add(g, medcl_graph_mul(g, r.x, r.w), r.b);
    medcl_node l1 = medcl_graph_mean(g, medcl_graph_scale(g, medcl_graph_mul(g, z, z), 0.5f));
    medcl_node l2 = medcl_graph_scale(g, medcl_graph_sum(g, medcl_graph_mul(g, r.w, r.w)), 0.01f);
    r.loss = medcl_graph_named(g, medcl_graph_add(g, l1, l2), "loss");
    assert_int_equal(medcl_graph_set_loss(g, r.loss), MEDCL_OK);
    if (input_grad) assert_int_equal(medcl_graph_input_requires_grad(g, r.x), MEDCL_OK);
    medcl_graph_compile_options o = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
    o.init_seed = 1234;
    o.plan_memory = plan;
    if (medcl_graph_compile(g, &o) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    return r;
}

static double ref_loss(const double *x, const double *w, const double *b) {
    double s1 = 0.0, s2 = 0.0;
    for (int i = 0; i < N; i++) {
        double z = x[i] * w[i] + b[i];
        s1 += 0.5 * z * z;
        s2 += w[i] * w[i];
    }
    return s1 / N + 0.01 * s2;
}

static void ref_grads(const double *x, const double *w, const double *b, double *dx, double *dw,
                      double *db) {
    for (int i = 0; i < N; i++) {
        double z = x[i] * w[i] + b[i];
        dx[i] = w[i] * z / N;
        dw[i] = x[i] * z / N + 0.02 * w[i];
        db[i] = z / N;
    }
}

static void to_double(const float *f, double *d) {
    for (int i = 0; i < N; i++) d[i] = f[i];
}

static void test_gradients(void **state) {
    (void)state;
    tu_rng rng = tu_rng_make(tu_seed());
    built r = build(true, true);
    float xh[N];
    tu_fill_normal(&rng, xh, N);
    assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(r.g, r.x), xh, sizeof xh), MEDCL_OK);
    assert_int_equal(medcl_graph_zero_grad(r.g), MEDCL_OK);
    assert_int_equal(medcl_graph_forward(r.g), MEDCL_OK);
    assert_int_equal(medcl_graph_backward(r.g, 1.0f), MEDCL_OK);
    float *wf = td_download(medcl_graph_tensor(r.g, r.w)), *bf = td_download(medcl_graph_tensor(r.g, r.b));
    float *loss = td_download(medcl_graph_tensor(r.g, r.loss));
    float *gx = td_download(medcl_graph_grad(r.g, r.x)), *gw = td_download(medcl_graph_grad(r.g, r.w));
    float *gb = td_download(medcl_graph_grad(r.g, r.b));
    double x[N], w[N], b[N], dx[N], dw[N], db[N];
    to_double(xh, x);
    to_double(wf, w);
    to_double(bf, b);
    /* He/normal init from Philox: same numbers as the host twin */
    float wn[N];
    medcl_philox_fill_normal(1234, 0, 0, 0, wn, N);
    assert_memory_equal(wn, wf, sizeof wn);
    double L = ref_loss(x, w, b);
    printf("loss %.9g, reference %.12g\n", loss[0], L);
    assert_true(fabs(loss[0] - L) <= 1e-6 * fabs(L));
    ref_grads(x, w, b, dx, dw, db);
    /* the analytic float64 gradients against central differences of the float64 forward */
    for (int k = 0; k < 4; k++) {
        int i = tu_int(&rng, 0, N - 1);
        double e = 1e-6, wp[N], fd;
        memcpy(wp, w, sizeof wp);
        wp[i] += e;
        fd = ref_loss(x, wp, b);
        wp[i] -= 2 * e;
        fd = (fd - ref_loss(x, wp, b)) / (2 * e);
        assert_true(fabs(fd - dw[i]) < 1e-7 * (1 + fabs(dw[i])));
        double xp[N];
        memcpy(xp, x, sizeof xp);
        xp[i] += e;
        fd = ref_loss(xp, w, b);
        xp[i] -= 2 * e;
        fd = (fd - ref_loss(xp, w, b)) / (2 * e);
        assert_true(fabs(fd - dx[i]) < 1e-7 * (1 + fabs(dx[i])));
    }
    double ex = tu_nrms(gx, dx, N), ew = tu_nrms(gw, dw, N), eb = tu_nrms(gb, db, N);
    printf("nrms: d/dx %.3g, d/dw %.3g, d/db %.3g\n", ex, ew, eb);
    assert_true(ex <= 1e-6 && ew <= 1e-6 && eb <= 1e-6);
    assert_true(tu_zero_fraction(gw, N) < 0.8);
    /* accumulation: two micro-batches at scale 1/2 give the same bits as one at scale 1 where a
     * gradient has one contribution (b); w has two per pass, so only rounding may differ */
    assert_int_equal(medcl_graph_zero_grad(r.g), MEDCL_OK);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(medcl_graph_forward(r.g), MEDCL_OK);
        assert_int_equal(medcl_graph_backward(r.g, 0.5f), MEDCL_OK);
    }
    float *gw2 = td_download(medcl_graph_grad(r.g, r.w)), *ls = td_download(medcl_graph_loss_sum(r.g));
    float *gb2 = td_download(medcl_graph_grad(r.g, r.b));
    assert_memory_equal(gb2, gb, sizeof(float) * N);
    assert_true(tu_nrms(gw2, dw, N) <= 1e-6);
    free(gb2);
    assert_true(ls[0] == loss[0]);
    free(gw2);
    free(ls);
    free(wf);
    free(bf);
    free(loss);
    free(gx);
    free(gw);
    free(gb);
    medcl_graph_destroy(r.g);
}

/* The plan reuses memory and changes no bit; the first step compiles nothing. */
static void test_plan_and_programs(void **state) {
    (void)state;
    tu_rng rng = tu_rng_make(tu_seed() + 1);
    float xh[N];
    tu_fill_normal(&rng, xh, N);
    float *res[2][2];
    for (int plan = 0; plan < 2; plan++) {
        built r = build(plan, false);
        medcl_graph_memory m = MEDCL_GRAPH_MEMORY_INIT;
        assert_int_equal(medcl_graph_memory_report(r.g, &m), MEDCL_OK);
        printf("plan %d: %d planned tensors, peak %zu bytes, naive %zu bytes, %d arenas, persistent %zu\n",
               plan, m.planned_tensors, m.planned_peak, m.naive_sum, m.arenas, m.persistent);
        if (plan) assert_true(m.planned_peak < m.naive_sum);
        medcl_cache_stats c0, c1;
        medcl_context_cache_stats(td_ctx(), &c0);
        assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(r.g, r.x), xh, sizeof xh), MEDCL_OK);
        assert_int_equal(medcl_graph_zero_grad(r.g), MEDCL_OK);
        assert_int_equal(medcl_graph_forward(r.g), MEDCL_OK);
        assert_int_equal(medcl_graph_backward(r.g, 1.0f), MEDCL_OK);
        assert_int_equal(medcl_context_finish(td_ctx()), MEDCL_OK);
        medcl_context_cache_stats(td_ctx(), &c1);
        assert_int_equal(c1.misses, c0.misses);
        assert_int_equal(c1.disk_hits, c0.disk_hits);
        res[plan][0] = td_download(medcl_graph_grad(r.g, r.w));
        res[plan][1] = td_download(medcl_graph_tensor(r.g, r.loss));
        assert_null(medcl_graph_grad(r.g, r.x)); /* not requested */
        medcl_graph_destroy(r.g);
    }
    assert_memory_equal(res[0][0], res[1][0], sizeof(float) * N);
    assert_memory_equal(res[0][1], res[1][1], sizeof(float));
    for (int i = 0; i < 2; i++) {
        free(res[i][0]);
        free(res[i][1]);
    }
}

/* A long chain for inference: buffers are reused as soon as they die. */
static void test_inference_chain(void **state) {
    (void)state;
    medcl_graph *g = NULL;
    assert_int_equal(medcl_graph_create(td_ctx(), &g), MEDCL_OK);
    int64_t shape[2] = {4, 1000};
    medcl_node x = medcl_graph_input(g, "x", MEDCL_DTYPE_F32, 2, shape);
    medcl_node y = x;
    for (int i = 0; i < 20; i++) y = medcl_graph_scale(g, y, 1.5f);
    medcl_graph_mark_output(g, y);
    medcl_graph_compile_options o = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
    o.training = false;
    assert_int_equal(medcl_graph_compile(g, &o), MEDCL_OK);
    medcl_graph_memory m = MEDCL_GRAPH_MEMORY_INIT;
    assert_int_equal(medcl_graph_memory_report(g, &m), MEDCL_OK);
    printf("inference chain: peak %zu, naive %zu (%.0f%%)\n", m.planned_peak, m.naive_sum,
           100.0 * (double)m.planned_peak / (double)m.naive_sum);
    assert_true(m.planned_peak * 5 <= m.naive_sum); /* 2 live buffers of 19 */
    float *h = malloc(4000 * 4);
    for (int i = 0; i < 4000; i++) h[i] = (float)(i % 7) - 3.0f;
    assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(g, x), h, 4000 * 4), MEDCL_OK);
    assert_int_equal(medcl_graph_forward(g), MEDCL_OK);
    float *out = td_download(medcl_graph_tensor(g, y));
    for (int i = 0; i < 4000; i++) {
        float v = h[i];
        for (int k = 0; k < 20; k++) v = 1.5f * v;
        assert_true(out[i] == v);
    }
    assert_int_equal(medcl_graph_backward(g, 1.0f), MEDCL_ERR_STATE);
    free(h);
    free(out);
    medcl_graph_destroy(g);
}

static void test_sticky_errors_and_names(void **state) {
    (void)state;
    medcl_graph *g = NULL;
    assert_int_equal(medcl_graph_create(td_ctx(), &g), MEDCL_OK);
    int64_t s1[2] = {2, 3}, s2[2] = {3, 2};
    medcl_node a = medcl_graph_input(g, "image", MEDCL_DTYPE_F32, 2, s1);
    medcl_node p = medcl_graph_param(g, "head.weight", 2, s2, NULL);
    assert_int_equal(medcl_graph_param_count(g), 1);
    assert_string_equal(medcl_graph_node_name(g, medcl_graph_param_at(g, 0)), "head.weight");
    assert_int_equal(medcl_graph_param_numel(g), 6);
    medcl_node bad = medcl_graph_add(g, a, p);
    assert_true(bad.id < 0);
    /* later builders do nothing; the first error is kept */
    medcl_node later = medcl_graph_scale(g, bad, 2.0f);
    assert_true(later.id < 0);
    assert_true(medcl_graph_input(g, "other", MEDCL_DTYPE_F32, 2, s1).id < 0);
    medcl_clear_error();
    assert_int_equal(medcl_graph_status(g), MEDCL_ERR_SHAPE);
    const char *msg = medcl_last_error();
    printf("sticky: %s\n", msg);
    assert_non_null(strstr(msg, "add#2"));
    assert_non_null(strstr(msg, "image"));
    assert_non_null(strstr(msg, "head.weight"));
    assert_int_equal(medcl_graph_compile(g, NULL), MEDCL_ERR_SHAPE);
    medcl_graph_destroy(g);

    assert_int_equal(medcl_graph_create(td_ctx(), &g), MEDCL_OK);
    medcl_graph_param(g, "w", 2, s1, NULL);
    assert_true(medcl_graph_param(g, "w", 2, s1, NULL).id < 0);
    assert_int_equal(medcl_graph_status(g), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "w"));
    medcl_graph_destroy(g);

    /* training without a loss; a loss of several elements */
    assert_int_equal(medcl_graph_create(td_ctx(), &g), MEDCL_OK);
    medcl_node w = medcl_graph_param(g, "w", 2, s1, NULL);
    assert_int_equal(medcl_graph_set_loss(g, w), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "w"));
    assert_int_equal(medcl_graph_compile(g, NULL), MEDCL_ERR_STATE);
    assert_non_null(strstr(medcl_last_error(), "loss"));
    medcl_graph_destroy(g);
    medcl_graph_destroy(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_plan_and_programs),
        cmocka_unit_test(test_inference_chain),
        cmocka_unit_test(test_sticky_errors_and_names),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
