/* tests/test_nn_ewc.c — EWC on a small compiled graph: the Fisher diagonal is the mean of
 * squared gradients (from gradients put in by hand, and from real backward passes whose
 * gradients are known: d sum(b*x)/db = x); anchors are the weights at consolidation; the
 * penalty is exactly 0 at the anchor and matches a float64 reference away from it; the
 * reference gradient matches central differences and the device gradient is added (+=) to the
 * parameter gradients; the penalty is bitwise reproducible; online mode sums Fishers; the state
 * survives a safetensors round trip; bad input. */
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

#define NW 15 /* w (3, 5) */
#define NB 7  /* b (7) */
#define NT (NW + NB)

typedef struct net {
    medcl_graph *g;
    medcl_node x, w, b, loss;
} net;

/* loss = sum(w * w) + sum(b * x) */
static net build(void) {
    net r;
    assert_int_equal(medcl_graph_create(td_ctx(), &r.g), MEDCL_OK);
    medcl_init in = MEDCL_INIT_INIT;
    in.kind = MEDCL_INIT_NORMAL;
    r.x = medcl_graph_input(r.g, "x", MEDCL_DTYPE_F32, 1, (int64_t[]){NB});
    r.w = medcl_graph_param(r.g, "w", 2, (int64_t[]){3, 5}, &in);
    r.b = medcl_graph_param(r.g, "b", 1, (int64_t[]){NB}, &in);
    r.loss = medcl_graph_add(r.g, medcl_graph_sum(r.g, medcl_graph_mul(r.g, r.w, r.w)),
                             medcl_graph_sum(r.g, medcl_graph_mul(r.g, r.b, r.x)));
    assert_int_equal(medcl_graph_set_loss(r.g, r.loss), MEDCL_OK);
    medcl_graph_compile_options o = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
    o.init_seed = 7;
    if (medcl_graph_compile(r.g, &o) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    return r;
}

/* all parameters as one vector: w then b */
static void get_all(const net *r, medcl_tensor *(*which)(const medcl_graph *, medcl_node), float *out) {
    assert_int_equal(medcl_tensor_download(which(r->g, r->w), out, NW * 4), MEDCL_OK);
    assert_int_equal(medcl_tensor_download(which(r->g, r->b), out + NW, NB * 4), MEDCL_OK);
}
static void set_all(const net *r, medcl_tensor *(*which)(const medcl_graph *, medcl_node), const float *in) {
    assert_int_equal(medcl_tensor_upload(which(r->g, r->w), in, NW * 4), MEDCL_OK);
    assert_int_equal(medcl_tensor_upload(which(r->g, r->b), in + NW, NB * 4), MEDCL_OK);
}

static double ref_penalty(const double *F, const double *th, const double *an, double lambda) {
    double s = 0.0;
    for (int i = 0; i < NT; i++) s += F[i] * (th[i] - an[i]) * (th[i] - an[i]);
    return 0.5 * lambda * s;
}

static float read1(const medcl_tensor *t) {
    float v;
    assert_int_equal(medcl_tensor_download(t, &v, sizeof v), MEDCL_OK);
    return v;
}

/* state tensor by name, downloaded */
static void state_get(const medcl_ewc *e, const char *name, float *out, int n) {
    for (int i = 0; i < medcl_ewc_state_count(e); i++) {
        const char *nm;
        medcl_tensor *t;
        assert_int_equal(medcl_ewc_state_at(e, i, &nm, &t), MEDCL_OK);
        if (strcmp(nm, name) == 0) {
            assert_int_equal((int)medcl_tensor_numel(t), n);
            assert_int_equal(medcl_tensor_download(t, out, (size_t)n * 4), MEDCL_OK);
            return;
        }
    }
    fail_msg("state tensor %s not found", name);
}

static void test_penalty_and_gradient(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    net n = build();
    medcl_ewc_config c = MEDCL_EWC_CONFIG_INIT;
    medcl_ewc *e;
    assert_int_equal(medcl_ewc_create(n.g, &c, &e), MEDCL_OK);
    assert_false(medcl_ewc_active(e));
    assert_int_equal(medcl_ewc_state_count(e), 0);
    medcl_tensor *pen = td_tensor(1, (int64_t[]){1}, NULL, "penalty");
    assert_int_equal(medcl_ewc_penalty(e, pen), MEDCL_OK);
    assert_true(read1(pen) == 0.0f); /* inactive */

    /* Fisher from three hand-made gradient sets: F = mean g^2 */
    float gk[3][NT];
    double F[NT] = {0};
    assert_int_equal(medcl_ewc_fisher_begin(e), MEDCL_OK);
    for (int k = 0; k < 3; k++) {
        tu_fill_normal(&r, gk[k], NT);
        set_all(&n, medcl_graph_grad, gk[k]);
        assert_int_equal(medcl_ewc_fisher_accumulate(e), MEDCL_OK);
        for (int i = 0; i < NT; i++) F[i] += (double)gk[k][i] * gk[k][i] / 3.0;
    }
    assert_int_equal(medcl_ewc_fisher_batches(e), 3);
    float theta_star[NT];
    get_all(&n, medcl_graph_tensor, theta_star);
    assert_int_equal(medcl_ewc_consolidate(e), MEDCL_OK);
    assert_true(medcl_ewc_active(e));
    assert_int_equal(medcl_ewc_state_count(e), 4);
    float Fd[NT], An[NT];
    state_get(e, "ewc.fisher.w", Fd, NW);
    state_get(e, "ewc.fisher.b", Fd + NW, NB);
    state_get(e, "ewc.anchor.w", An, NW);
    state_get(e, "ewc.anchor.b", An + NW, NB);
    assert_memory_equal(An, theta_star, sizeof An);
    double eF = tu_nrms(Fd, F, NT);
    assert_true(eF <= 1e-6);

    /* at the anchor: exactly zero */
    td_poison(pen);
    assert_int_equal(medcl_ewc_penalty(e, pen), MEDCL_OK);
    assert_true(read1(pen) == 0.0f);

    /* away from the anchor */
    float th[NT];
    for (int i = 0; i < NT; i++) th[i] = theta_star[i] + (float)(0.5 * tu_normal(&r));
    set_all(&n, medcl_graph_tensor, th);
    double Fdd[NT], thd[NT], and_[NT];
    for (int i = 0; i < NT; i++) Fdd[i] = Fd[i], thd[i] = th[i], and_[i] = An[i];
    double P = ref_penalty(Fdd, thd, and_, c.lambda);
    assert_int_equal(medcl_ewc_penalty(e, pen), MEDCL_OK);
    float Pd = read1(pen);
    assert_int_equal(medcl_ewc_penalty(e, pen), MEDCL_OK);
    float Pd2 = read1(pen);
    assert_memory_equal(&Pd, &Pd2, sizeof Pd); /* bitwise reproducible */
    printf("penalty %.9g, reference %.12g, relative error %.3g; Fisher nrms %.3g\n", Pd, P,
           fabs(Pd - P) / P, eF);
    assert_true(P > 0 && fabs(Pd - P) <= 1e-6 * P);

    /* reference gradient lambda F (theta - theta*) against central differences */
    double gref[NT];
    for (int i = 0; i < NT; i++) gref[i] = c.lambda * Fdd[i] * (thd[i] - and_[i]);
    for (int k = 0; k < 6; k++) {
        int i = tu_int(&r, 0, NT - 1);
        double h = 1e-6, keep = thd[i];
        thd[i] = keep + h;
        double pp = ref_penalty(Fdd, thd, and_, c.lambda);
        thd[i] = keep - h;
        double pm = ref_penalty(Fdd, thd, and_, c.lambda);
        thd[i] = keep;
        double fd = (pp - pm) / (2 * h);
        if (fabs(fd - gref[i]) > 1e-7 * (1 + fabs(gref[i])))
            fail_msg("finite differences at %d: %.12g vs analytic %.12g", i, fd, gref[i]);
    }
    /* device: grad += scale * lambda F d */
    float g0[NT], scale = 0.5f;
    tu_fill_normal(&r, g0, NT);
    set_all(&n, medcl_graph_grad, g0);
    assert_int_equal(medcl_ewc_add_grad(e, scale), MEDCL_OK);
    float gd[NT];
    get_all(&n, medcl_graph_grad, gd);
    double want[NT], delta[NT];
    float dd[NT];
    for (int i = 0; i < NT; i++) {
        want[i] = g0[i] + scale * gref[i];
        delta[i] = scale * gref[i];
        dd[i] = gd[i] - g0[i];
    }
    double eg = tu_nrms(gd, want, NT), ed = tu_nrms(dd, delta, NT);
    printf("gradient nrms %.3g (accumulated), %.3g (added part)\n", eg, ed);
    assert_true(eg <= 1e-6 && ed <= 1e-5);
    assert_true(tu_zero_fraction(dd, NT) < 0.8);

    /* lambda change */
    assert_int_equal(medcl_ewc_set_lambda(e, 2.0), MEDCL_OK);
    assert_int_equal(medcl_ewc_penalty(e, pen), MEDCL_OK);
    assert_true(fabs(read1(pen) - ref_penalty(Fdd, thd, and_, 2.0)) <= 1e-6 * ref_penalty(Fdd, thd, and_, 2.0));
    assert_int_equal(medcl_ewc_set_lambda(e, -1.0), MEDCL_ERR_INVALID_ARG);

    medcl_tensor_destroy(pen);
    medcl_ewc_destroy(e);
    medcl_graph_destroy(n.g);
}

/* Fisher from real backward passes: d loss/d b = x, d loss/d w = 2 w, so F_b = mean x^2 and
 * F_w = 4 w^2; online mode adds the next domain's Fisher. */
static void test_fisher_from_backward(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    net n = build();
    medcl_ewc_config c = MEDCL_EWC_CONFIG_INIT;
    c.online = true;
    medcl_ewc *e;
    assert_int_equal(medcl_ewc_create(n.g, &c, &e), MEDCL_OK);
    double Fb[NB] = {0};
    float w[NW];
    assert_int_equal(medcl_tensor_download(medcl_graph_tensor(n.g, n.w), w, sizeof w), MEDCL_OK);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(medcl_ewc_fisher_begin(e), MEDCL_OK);
        for (int k = 0; k < 4; k++) {
            float x[NB];
            tu_fill_normal(&r, x, NB);
            for (int i = 0; i < NB; i++) Fb[i] += (double)x[i] * x[i] / 4.0;
            assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(n.g, n.x), x, sizeof x), MEDCL_OK);
            assert_int_equal(medcl_graph_zero_grad(n.g), MEDCL_OK);
            assert_int_equal(medcl_graph_forward(n.g), MEDCL_OK);
            assert_int_equal(medcl_graph_backward(n.g, 1.0f), MEDCL_OK);
            assert_int_equal(medcl_ewc_fisher_accumulate(e), MEDCL_OK);
        }
        assert_int_equal(medcl_ewc_consolidate(e), MEDCL_OK);
        float fb[NB], fw[NW];
        double Fw[NW];
        state_get(e, "ewc.fisher.b", fb, NB);
        state_get(e, "ewc.fisher.w", fw, NW);
        for (int i = 0; i < NW; i++) Fw[i] = (round + 1) * 4.0 * (double)w[i] * w[i];
        double eb = tu_nrms(fb, Fb, NB), ew = tu_nrms(fw, Fw, NW);
        printf("round %d: Fisher nrms b %.3g, w %.3g\n", round, eb, ew);
        assert_true(eb <= 1e-6 && ew <= 1e-6);
    }
    /* consolidate without batches is a state error */
    assert_int_equal(medcl_ewc_consolidate(e), MEDCL_ERR_STATE);
    medcl_ewc_destroy(e);
    medcl_graph_destroy(n.g);
}

/* Export through safetensors and import into a fresh EWC object: same penalty bits. */
static void test_state_round_trip(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    net n = build();
    medcl_ewc *e, *e2;
    assert_int_equal(medcl_ewc_create(n.g, NULL, &e), MEDCL_OK);
    assert_int_equal(medcl_ewc_create(n.g, NULL, &e2), MEDCL_OK);
    float g[NT];
    tu_fill_normal(&r, g, NT);
    set_all(&n, medcl_graph_grad, g);
    assert_int_equal(medcl_ewc_fisher_begin(e), MEDCL_OK);
    assert_int_equal(medcl_ewc_fisher_accumulate(e), MEDCL_OK);
    assert_int_equal(medcl_ewc_consolidate(e), MEDCL_OK);
    float th[NT];
    tu_fill_normal(&r, th, NT);
    set_all(&n, medcl_graph_tensor, th);

    int ns = medcl_ewc_state_count(e);
    medcl_st_tensor st[4];
    float data[4][NW];
    for (int i = 0; i < ns; i++) {
        medcl_tensor *t;
        assert_int_equal(medcl_ewc_state_at(e, i, &st[i].name, &t), MEDCL_OK);
        st[i].dtype = MEDCL_DTYPE_F32;
        st[i].ndim = medcl_tensor_ndim(t);
        for (int k = 0; k < st[i].ndim; k++) st[i].shape[k] = medcl_tensor_dim(t, k);
        st[i].bytes = medcl_tensor_bytes(t);
        assert_int_equal(medcl_tensor_download(t, data[i], st[i].bytes), MEDCL_OK);
        st[i].data = data[i];
    }
    assert_string_equal(st[0].name, "ewc.fisher.w");
    assert_string_equal(st[1].name, "ewc.anchor.w");
    void *buf;
    size_t len;
    assert_int_equal(medcl_safetensors_serialize(st, ns, NULL, 0, &buf, &len), MEDCL_OK);
    medcl_safetensors *f;
    assert_int_equal(medcl_safetensors_parse(buf, len, "ewc.safetensors", &f), MEDCL_OK);
    assert_int_equal(medcl_ewc_load_state(e2, f), MEDCL_OK);
    medcl_tensor *p1 = td_tensor(1, (int64_t[]){1}, NULL, "p1"), *p2 = td_tensor(1, (int64_t[]){1}, NULL, "p2");
    assert_int_equal(medcl_ewc_penalty(e, p1), MEDCL_OK);
    assert_int_equal(medcl_ewc_penalty(e2, p2), MEDCL_OK);
    float a = read1(p1), b = read1(p2);
    assert_true(a > 0.0f);
    assert_memory_equal(&a, &b, sizeof a);
    medcl_safetensors_close(f);
    free(buf);

    /* the same through a file of its own */
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "ewc");
    snprintf(path, sizeof path, "%s/ewc.safetensors", dir);
    assert_int_equal(medcl_ewc_save(e, path), MEDCL_OK);
    medcl_ewc *e4;
    assert_int_equal(medcl_ewc_create(n.g, NULL, &e4), MEDCL_OK);
    assert_int_equal(medcl_ewc_save(e4, path), MEDCL_ERR_STATE); /* inactive: nothing to save */
    assert_int_equal(medcl_ewc_load(e4, path), MEDCL_OK);
    assert_int_equal(medcl_ewc_penalty(e4, p2), MEDCL_OK);
    b = read1(p2);
    assert_memory_equal(&a, &b, sizeof a);
    medcl_ewc_destroy(e4);

    /* a file without the anchors of b is rejected, naming them; nothing changes */
    assert_int_equal(medcl_safetensors_serialize(st, 3, NULL, 0, &buf, &len), MEDCL_OK);
    assert_int_equal(medcl_safetensors_parse(buf, len, "short.safetensors", &f), MEDCL_OK);
    medcl_ewc *e3;
    assert_int_equal(medcl_ewc_create(n.g, NULL, &e3), MEDCL_OK);
    assert_int_equal(medcl_ewc_load_state(e3, f), MEDCL_ERR_FORMAT);
    assert_non_null(strstr(medcl_last_error(), "missing ewc.anchor.b"));
    assert_false(medcl_ewc_active(e3));
    medcl_ewc_destroy(e3);
    medcl_safetensors_close(f);
    free(buf);
    medcl_tensor_destroy(p1);
    medcl_tensor_destroy(p2);
    medcl_ewc_destroy(e);
    medcl_ewc_destroy(e2);
    medcl_graph_destroy(n.g);
}

static void test_bad_input(void **state) {
    (void)state;
    net n = build();
    medcl_ewc *e = NULL;
    medcl_ewc_config c = MEDCL_EWC_CONFIG_INIT;
    c.lambda = NAN;
    assert_int_equal(medcl_ewc_create(n.g, &c, &e), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "lambda"));
    assert_null(e);
    c.lambda = 0.4;
    c.size = 4;
    assert_int_equal(medcl_ewc_create(n.g, &c, &e), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_ewc_create(NULL, NULL, &e), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_ewc_create(n.g, NULL, &e), MEDCL_OK);
    assert_int_equal(medcl_ewc_fisher_accumulate(e), MEDCL_ERR_STATE);
    assert_int_equal(medcl_ewc_consolidate(e), MEDCL_ERR_STATE);
    medcl_tensor *two = td_tensor(1, (int64_t[]){2}, NULL, "two");
    assert_int_equal(medcl_ewc_penalty(e, two), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "two"));
    assert_int_equal(medcl_ewc_state_at(e, 0, NULL, NULL), MEDCL_ERR_INVALID_ARG);
    medcl_tensor_destroy(two);
    medcl_ewc_destroy(e);
    medcl_ewc_destroy(NULL);
    medcl_graph_destroy(n.g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_penalty_and_gradient),
        cmocka_unit_test(test_fisher_from_backward),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
