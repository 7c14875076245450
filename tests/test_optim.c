/* tests/test_optim.c — optimizers on the device against float64 host references of PyTorch's
 * update rules over several steps (SGD plain / momentum / dampening / Nesterov / weight decay,
 * Adam, AdamW), global gradient-norm clipping, skipping of non-finite steps, learning-rate
 * schedules against their formulas, and bad configurations. The references live here (they
 * are short and used by this file only). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/nn.h"
#include "testutil.h"

#define NP 2     /* parameters per test, of different sizes */
#define STEPS 6

/* float64 reference state of one parameter */
typedef struct ref {
    double *p, *s1, *s2;
    int64_t n;
} ref;

/* torch.optim.SGD / Adam / AdamW step on doubles; coef from clipping */
static void ref_step(const medcl_optim_config *c, ref *r, const float *g, double coef, double lr,
                     int64_t step /* 0-based */) {
    for (int64_t i = 0; i < r->n; i++) {
        double gi = (double)g[i] * coef, p = r->p[i];
        if (c->kind == MEDCL_OPTIM_SGD) {
            if (c->weight_decay != 0.0) gi += c->weight_decay * p;
            if (c->momentum != 0.0) {
                double b = step == 0 ? gi : c->momentum * r->s1[i] + (1.0 - c->dampening) * gi;
                r->s1[i] = b;
                gi = c->nesterov ? gi + c->momentum * b : b;
            }
            r->p[i] = p - lr * gi;
        } else {
            if (c->kind == MEDCL_OPTIM_ADAMW) p *= 1.0 - lr * c->weight_decay;
            else gi += c->weight_decay * p;
            r->s1[i] = c->beta1 * r->s1[i] + (1.0 - c->beta1) * gi;
            r->s2[i] = c->beta2 * r->s2[i] + (1.0 - c->beta2) * gi * gi;
            double t = (double)(step + 1);
            double bc1 = 1.0 - pow(c->beta1, t), bc2 = 1.0 - pow(c->beta2, t);
            double denom = sqrt(r->s2[i]) / sqrt(bc2) + c->eps;
            r->p[i] = p - (lr / bc1) * r->s1[i] / denom;
        }
    }
}

/* Runs STEPS steps of config c on the device and the reference; returns the worst nrms. */
static double run_config(const medcl_optim_config *c, double lr, double gscale, tu_rng *rng,
                         double *worst_norm_rel) {
    const int64_t sizes[NP] = {1000, 37};
    medcl_optim *o = NULL;
    assert_int_equal(medcl_optim_create(td_ctx(), c, &o), MEDCL_OK);
    medcl_tensor *tp[NP], *tg[NP];
    ref r[NP];
    float *host[NP], *gh[NP];
    for (int k = 0; k < NP; k++) {
        int64_t n = sizes[k];
        host[k] = malloc((size_t)n * 4);
        gh[k] = malloc((size_t)n * 4);
        tu_fill_normal(rng, host[k], (size_t)n);
        r[k].n = n;
        r[k].p = malloc((size_t)n * 8);
        r[k].s1 = calloc((size_t)n, 8);
        r[k].s2 = calloc((size_t)n, 8);
        for (int64_t i = 0; i < n; i++) r[k].p[i] = host[k][i];
        tp[k] = td_tensor(1, &n, host[k], "param");
        tg[k] = td_tensor(1, &n, NULL, "grad");
        char name[16];
        snprintf(name, sizeof name, "w%d", k);
        assert_int_equal(medcl_optim_add_param(o, name, tp[k], tg[k]), MEDCL_OK);
    }
    double worst = 0.0;
    *worst_norm_rel = 0.0;
    for (int s = 0; s < STEPS; s++) {
        double sq = 0.0;
        for (int k = 0; k < NP; k++) {
            for (int64_t i = 0; i < sizes[k]; i++) gh[k][i] = (float)(gscale * tu_normal(rng));
            assert_int_equal(medcl_tensor_upload(tg[k], gh[k], (size_t)sizes[k] * 4), MEDCL_OK);
            for (int64_t i = 0; i < sizes[k]; i++) sq += (double)gh[k][i] * gh[k][i];
        }
        double norm = sqrt(sq), coef = 1.0;
        if (c->clip_norm > 0.0) coef = fmin(1.0, c->clip_norm / (norm + 1e-6));
        assert_int_equal(medcl_optim_step(o, lr), MEDCL_OK);
        medcl_step_stats stt;
        assert_int_equal(medcl_optim_read_stats(o, &stt), MEDCL_OK);
        double rel = fabs(stt.grad_norm - norm) / norm;
        if (rel > *worst_norm_rel) *worst_norm_rel = rel;
        assert_true(rel < 1e-5);
        assert_false(stt.skipped);
        assert_true(fabs(stt.clip_coef - coef) <= 1e-5 * coef);
        for (int k = 0; k < NP; k++) {
            ref_step(c, &r[k], gh[k], coef, lr, s);
            float *got = td_download(tp[k]);
            double e = tu_nrms(got, r[k].p, (size_t)sizes[k]);
            /* per-element bound for gross bugs */
            assert_true(tu_max_abs_diff(got, r[k].p, (size_t)sizes[k]) < 1e-4);
            if (e > worst) worst = e;
            free(got);
        }
    }
    assert_int_equal(medcl_optim_steps(o), STEPS);
    for (int k = 0; k < NP; k++) {
        medcl_tensor_destroy(tp[k]);
        medcl_tensor_destroy(tg[k]);
        free(host[k]);
        free(gh[k]);
        free(r[k].p);
        free(r[k].s1);
        free(r[k].s2);
    }
    medcl_optim_destroy(o);
    return worst;
}

static void test_sgd(void **state) {
    (void)state;
    tu_rng rng = tu_rng_make(tu_seed());
    struct { double mom, damp, wd; bool nest; } cases[] = {
        {0.0, 0.0, 0.0, false}, {0.9, 0.0, 0.0, false}, {0.9, 0.1, 1e-2, false},
        {0.99, 0.0, 3e-5, true}, {0.0, 0.0, 0.1, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        medcl_optim_config c = MEDCL_OPTIM_CONFIG_INIT;
        c.kind = MEDCL_OPTIM_SGD;
        c.momentum = cases[i].mom;
        c.dampening = cases[i].damp;
        c.weight_decay = cases[i].wd;
        c.nesterov = cases[i].nest;
        double nr, e = run_config(&c, 0.05, 1.0, &rng, &nr);
        printf("sgd mom=%g damp=%g wd=%g nesterov=%d: nrms %.3g, norm rel err %.3g\n", c.momentum,
               c.dampening, c.weight_decay, c.nesterov, e, nr);
        assert_true(e <= 1e-6);
    }
}

static void test_adam_adamw(void **state) {
    (void)state;
    tu_rng rng = tu_rng_make(tu_seed() + 1);
    for (int kind = MEDCL_OPTIM_ADAM; kind <= MEDCL_OPTIM_ADAMW; kind++)
        for (int w = 0; w < 2; w++) {
            medcl_optim_config c = MEDCL_OPTIM_CONFIG_INIT;
            c.kind = (medcl_optim_kind)kind;
            c.weight_decay = w ? 1e-2 : 0.0;
            double nr, e = run_config(&c, 1e-2, 1.0, &rng, &nr);
            printf("%s wd=%g: nrms %.3g\n", medcl_optim_kind_str(c.kind), c.weight_decay, e);
            assert_true(e <= 1e-6);
        }
}

/* nnU-Net's recipe with gradients large enough that clipping at 12 is active every step */
static void test_clipping(void **state) {
    (void)state;
    tu_rng rng = tu_rng_make(tu_seed() + 2);
    medcl_optim_config c = MEDCL_OPTIM_CONFIG_NNUNET;
    double nr, e = run_config(&c, 1e-2, 3.0, &rng, &nr); /* norm ~ 3 sqrt(1037) ~ 97 > 12 */
    printf("nnU-Net SGD with clipping 12: nrms %.3g, norm rel err %.3g\n", e, nr);
    assert_true(e <= 1e-6);
    c.kind = MEDCL_OPTIM_ADAMW;
    c.clip_norm = 1.0;
    e = run_config(&c, 1e-3, 1.0, &rng, &nr);
    printf("AdamW with clipping 1: nrms %.3g\n", e);
    assert_true(e <= 1e-6);
}

/* A NaN gradient: the update is skipped on the device, parameters and state unchanged. */
static void test_skip_nonfinite(void **state) {
    (void)state;
    tu_rng rng = tu_rng_make(tu_seed() + 3);
    medcl_optim_config c = MEDCL_OPTIM_CONFIG_NNUNET;
    medcl_optim *o = NULL;
    assert_int_equal(medcl_optim_create(td_ctx(), &c, &o), MEDCL_OK);
    int64_t n = 300;
    float p0[300], g[300];
    tu_fill_normal(&rng, p0, 300);
    tu_fill_normal(&rng, g, 300);
    g[123] = NAN;
    medcl_tensor *tp = td_tensor(1, &n, p0, "p"), *tg = td_tensor(1, &n, g, "g");
    assert_int_equal(medcl_optim_add_param(o, "p", tp, tg), MEDCL_OK);
    assert_int_equal(medcl_optim_step(o, 0.1), MEDCL_OK);
    medcl_step_stats s;
    assert_int_equal(medcl_optim_read_stats(o, &s), MEDCL_OK);
    assert_true(s.skipped);
    assert_true(isnan(s.grad_norm));
    float *got = td_download(tp);
    assert_memory_equal(got, p0, sizeof p0);
    free(got);
    medcl_tensor_destroy(tp);
    medcl_tensor_destroy(tg);
    medcl_optim_destroy(o);
}

static void test_schedules(void **state) {
    (void)state;
    medcl_lr_schedule s = MEDCL_LR_SCHEDULE_INIT;
    s.lr0 = 1e-2;
    assert_true(medcl_lr_at(&s, 0) == 1e-2 && medcl_lr_at(&s, 999) == 1e-2);
    s.kind = MEDCL_LR_STEP;
    s.step_size = 30;
    s.gamma = 0.1;
    assert_true(medcl_lr_at(&s, 29) == 1e-2);
    assert_true(fabs(medcl_lr_at(&s, 30) - 1e-3) < 1e-18);
    assert_true(fabs(medcl_lr_at(&s, 65) - 1e-2 * 0.01) < 1e-18);
    /* nnU-Net PolyLRScheduler: initial_lr * (1 - epoch / max_epochs) ** 0.9 */
    s.kind = MEDCL_LR_POLY;
    s.total = 1000;
    s.exponent = 0.9;
    for (int e = 0; e < 1000; e += 37)
        assert_true(fabs(medcl_lr_at(&s, e) - 1e-2 * pow(1.0 - e / 1000.0, 0.9)) < 1e-17);
    assert_true(medcl_lr_at(&s, 1000) == 0.0);
    /* cosine with linear warm-up */
    s.kind = MEDCL_LR_COSINE;
    s.total = 100;
    s.warmup = 10;
    s.lr_min = 1e-4;
    assert_true(fabs(medcl_lr_at(&s, 0) - 1e-3) < 1e-18);
    assert_true(fabs(medcl_lr_at(&s, 9) - 1e-2) < 1e-18);
    assert_true(fabs(medcl_lr_at(&s, 10) - 1e-2) < 1e-18);
    assert_true(fabs(medcl_lr_at(&s, 55) - (1e-4 + (1e-2 - 1e-4) * 0.5)) < 1e-15);
    assert_true(fabs(medcl_lr_at(&s, 100) - 1e-4) < 1e-18);
    for (int t = 10; t < 100; t += 7) {
        double want = 1e-4 + (1e-2 - 1e-4) * 0.5 * (1.0 + cos(3.14159265358979323846 * (t - 10) / 90.0));
        assert_true(fabs(medcl_lr_at(&s, t) - want) < 1e-16);
    }
    s.warmup = 100;
    assert_int_equal(medcl_lr_check(&s), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "warmup"));
    assert_true(isnan(medcl_lr_at(&s, 3)));
}

static void test_bad_config(void **state) {
    (void)state;
    medcl_optim *o = NULL;
    medcl_optim_config c = MEDCL_OPTIM_CONFIG_INIT;
    c.momentum = 1.5;
    assert_int_equal(medcl_optim_create(td_ctx(), &c, &o), MEDCL_ERR_INVALID_ARG);
    assert_null(o);
    assert_non_null(strstr(medcl_last_error(), "momentum"));
    c.momentum = 0.0;
    c.nesterov = true;
    assert_int_equal(medcl_optim_create(td_ctx(), &c, &o), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "nesterov"));
    c = (medcl_optim_config)MEDCL_OPTIM_CONFIG_INIT;
    assert_int_equal(medcl_optim_create(td_ctx(), &c, &o), MEDCL_OK);
    int64_t n1 = 4, n2 = 5;
    medcl_tensor *a = td_tensor(1, &n1, NULL, "weights"), *b = td_tensor(1, &n2, NULL, "grads");
    assert_int_equal(medcl_optim_add_param(o, "x", a, b), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "grads"));
    assert_int_equal(medcl_optim_step(o, 0.1), MEDCL_ERR_STATE);
    assert_int_equal(medcl_optim_add_param(o, "x", a, a), MEDCL_OK);
    assert_int_equal(medcl_optim_step(o, NAN), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "lr"));
    medcl_tensor_destroy(a);
    medcl_tensor_destroy(b);
    medcl_optim_destroy(o);
    medcl_optim_destroy(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd),          cmocka_unit_test(test_adam_adamw),
        cmocka_unit_test(test_clipping),     cmocka_unit_test(test_skip_nonfinite),
        cmocka_unit_test(test_schedules),    cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
