/* tests/test_op_loss.c — the losses (include/medcl/ops_loss.h) against the float64 references in
 * tests/ref/ref_loss.c: scalar loss by relative error, d loss / d logits by normalized RMS error
 * (RELIABILITY.md) at N(0,1) logits with a random incoming gradient, and the reference backward
 * against central differences of the reference forward. 2D, 3D and (N, C) shapes, odd sizes,
 * several reduction groups. Also: ignored voxels excluded exactly, all-ignored and empty-mask
 * cases finite, class weights, label smoothing, soft targets, determinism, an integer tier for
 * MSE, bad input, bad labels (NaN loss + medcl_loss_labels_check naming the value), and golden
 * values from PyTorch/MONAI when tools/golden/gen_loss_golden.py has been run.
 * Not covered here: timing (perf/), half precision. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/ops_loss.h"
#include "ref/ref_loss.h"
#include "testutil.h"

#define TOL_LOSS 1e-6  /* relative error of the scalar loss */
#define TOL_GRAD 1e-6  /* nrms of the gradient */
#define TOL_FD 1e-6    /* |fd - analytic| / max |analytic| for the reference (step 1e-4) */

/* worst figures per test, printed at the end of each test for the report */
static double worst_loss, worst_grad, worst_fd;

/* ---- fixture: logits, target, loss, dloss, dlogits on the device and in float64 ---------- */

enum { T_LABELS = 0, T_LABELS_NOC = 1, T_SOFT = 2 };

typedef struct lcase {
    int ndim;
    int64_t shape[5];   /* logits */
    int target;         /* T_* */
    double ignore_frac; /* labels: fraction set to the ignore value */
    int ignore;
    int all_label;      /* >= 0: every label is this class (empty masks) */
} lcase;

typedef struct lfix {
    int N, C;
    long S, n;
    float *xf;
    double *xd, *softd;
    int *lab;
    medcl_tensor *x, *t, *loss, *dloss, *dx;
    double g;
    ref_loss_in rin;
} lfix;

static medcl_tensor *i32_tensor(int ndim, const int64_t *shape, const int *data, const char *name) {
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.dtype = MEDCL_DTYPE_I32;
    d.ndim = ndim;
    for (int i = 0; i < ndim; i++) d.shape[i] = shape[i];
    d.name = name;
    medcl_tensor *t = NULL;
    if (medcl_tensor_create(td_ctx(), &d, &t) != MEDCL_OK) fail_msg("create %s: %s", name, medcl_last_error());
    if (medcl_tensor_upload(t, data, medcl_tensor_bytes(t)) != MEDCL_OK)
        fail_msg("upload %s: %s", name, medcl_last_error());
    return t;
}

static void fix_make(lfix *f, const lcase *c, tu_rng *r) {
    memset(f, 0, sizeof *f);
    int64_t s5[5] = {1, 1, 1, 1, 1};
    if (c->ndim == 5) memcpy(s5, c->shape, sizeof s5);
    else if (c->ndim == 4) { s5[0] = c->shape[0]; s5[1] = c->shape[1]; s5[3] = c->shape[2]; s5[4] = c->shape[3]; }
    else { s5[0] = c->shape[0]; s5[1] = c->shape[1]; }
    f->N = (int)s5[0];
    f->C = (int)s5[1];
    f->S = (long)(s5[2] * s5[3] * s5[4]);
    f->n = (long)f->N * f->C * f->S;
    f->xf = malloc((size_t)f->n * sizeof *f->xf);
    f->xd = malloc((size_t)f->n * sizeof *f->xd);
    tu_fill_normal(r, f->xf, (size_t)f->n);
    for (long i = 0; i < f->n; i++) f->xd[i] = f->xf[i];
    f->x = td_tensor(c->ndim, c->shape, f->xf, "logits");
    f->rin.N = f->N;
    f->rin.C = f->C;
    f->rin.S = f->S;
    f->rin.x = f->xd;
    if (c->target == T_SOFT) {
        float *sf = malloc((size_t)f->n * sizeof *sf);
        f->softd = malloc((size_t)f->n * sizeof *f->softd);
        for (int n = 0; n < f->N; n++)
            for (long s = 0; s < f->S; s++) {
                double tot = 0;
                for (int k = 0; k < f->C; k++) tot += sf[((long)n * f->C + k) * f->S + s] = (float)(tu_uniform(r) + 0.05);
                for (int k = 0; k < f->C; k++) {
                    long i = ((long)n * f->C + k) * f->S + s;
                    sf[i] = (float)(sf[i] / tot);
                }
            }
        for (long i = 0; i < f->n; i++) f->softd[i] = sf[i];
        f->t = td_tensor(c->ndim, c->shape, sf, "soft_target");
        f->rin.soft = f->softd;
        free(sf);
    } else {
        long nl = (long)f->N * f->S;
        f->lab = malloc((size_t)nl * sizeof *f->lab);
        for (long i = 0; i < nl; i++) {
            f->lab[i] = c->all_label >= 0 ? c->all_label : tu_int(r, 0, f->C - 1);
            if (tu_uniform(r) < c->ignore_frac) f->lab[i] = c->ignore;
        }
        int64_t ls[5];
        int lnd;
        if (c->target == T_LABELS) {
            lnd = c->ndim;
            memcpy(ls, c->shape, sizeof ls);
            ls[1] = 1;
        } else {
            lnd = c->ndim - 1;
            ls[0] = c->shape[0];
            for (int i = 2; i < c->ndim; i++) ls[i - 1] = c->shape[i];
        }
        f->t = i32_tensor(lnd, ls, f->lab, "labels");
        f->rin.labels = f->lab;
    }
    int64_t one = 1;
    f->loss = td_tensor(1, &one, NULL, "loss");
    f->g = 0.5 + tu_uniform(r);
    float gf = (float)f->g;
    f->g = gf;
    f->dloss = td_tensor(1, &one, &gf, "dloss");
    f->dx = td_tensor(c->ndim, c->shape, NULL, "dlogits");
}

static void fix_free(lfix *f) {
    medcl_tensor_destroy(f->x);
    medcl_tensor_destroy(f->t);
    medcl_tensor_destroy(f->loss);
    medcl_tensor_destroy(f->dloss);
    medcl_tensor_destroy(f->dx);
    free(f->xf);
    free(f->xd);
    free(f->softd);
    free(f->lab);
}

static double read_loss(const medcl_tensor *t) {
    float v;
    if (medcl_tensor_download(t, &v, sizeof v) != MEDCL_OK) fail_msg("download loss: %s", medcl_last_error());
    return v;
}

/* ---- one loss through forward, backward and the finite-difference check ------------------ */

typedef struct lops {
    const char *name;
    medcl_status (*fwd)(const medcl_tensor *, const medcl_tensor *, const void *, medcl_tensor *);
    medcl_status (*bwd)(const medcl_tensor *, const medcl_tensor *, const void *, const medcl_tensor *,
                        medcl_tensor *);
    double (*rfwd)(const ref_loss_in *, const void *);
    void (*rbwd)(const ref_loss_in *, const void *, double, double *);
} lops;

typedef struct lresult {
    double loss_dev, loss_ref, loss_rel, grad_nrms, grad_max, fd_err, zero_frac;
    int finite;
} lresult;

static lresult run_loss(const lops *o, lfix *f, const void *p, const void *rp, tu_rng *r) {
    lresult res = {0};
    td_poison(f->loss);
    if (o->fwd(f->x, f->t, p, f->loss) != MEDCL_OK) fail_msg("%s forward: %s", o->name, medcl_last_error());
    res.loss_dev = read_loss(f->loss);
    res.loss_ref = o->rfwd(&f->rin, rp);
    res.loss_rel = fabs(res.loss_dev - res.loss_ref) / fmax(fabs(res.loss_ref), 1e-30);
    if (res.loss_dev == res.loss_ref) res.loss_rel = 0;

    td_poison(f->dx);
    if (o->bwd(f->x, f->t, p, f->dloss, f->dx) != MEDCL_OK)
        fail_msg("%s backward: %s", o->name, medcl_last_error());
    float *got = td_download(f->dx);
    double *want = malloc((size_t)f->n * sizeof *want);
    o->rbwd(&f->rin, rp, f->g, want);
    res.grad_nrms = tu_nrms(got, want, (size_t)f->n);
    double gmax = 0;
    for (long i = 0; i < f->n; i++) gmax = fmax(gmax, fabs(want[i]));
    res.grad_max = gmax > 0 ? tu_max_abs_diff(got, want, (size_t)f->n) / gmax : tu_max_abs_diff(got, want, (size_t)f->n);
    res.zero_frac = tu_zero_fraction(got, (size_t)f->n);
    res.finite = isfinite(res.loss_dev);
    for (long i = 0; i < f->n; i++) res.finite &= isfinite(got[i]) != 0;

    /* reference backward against central differences of the reference forward */
    double e = 0;
    for (int k = 0; k < 6; k++) {
        long i = (long)tu_int(r, 0, (int)f->n - 1);
        double fd = ref_loss_fd(o->rfwd, &f->rin, rp, i, 1e-4) * f->g;
        e = fmax(e, fabs(fd - want[i]) / fmax(gmax, 1e-300));
    }
    res.fd_err = e;
    free(got);
    free(want);
    return res;
}

/* the usual assertions; zero_ok: a case where most gradients are legitimately zero */
static void expect_good(const char *what, const lresult *r, double tol_loss, int zero_ok) {
    fprintf(stderr, "  %-44s loss %+.9e rel %.2e | grad nrms %.2e max %.2e | fd %.2e\n", what,
            r->loss_dev, r->loss_rel, r->grad_nrms, r->grad_max, r->fd_err);
    if (!r->finite) fail_msg("%s: non-finite loss or gradient", what);
    if (r->loss_rel > tol_loss) fail_msg("%s: loss %.9g vs %.9g (rel %.3g)", what, r->loss_dev, r->loss_ref, r->loss_rel);
    if (r->grad_nrms > TOL_GRAD) fail_msg("%s: gradient nrms %.3g", what, r->grad_nrms);
    if (r->grad_max > 1e-4) fail_msg("%s: gradient max error %.3g of max |grad|", what, r->grad_max);
    if (r->fd_err > TOL_FD) fail_msg("%s: reference gradient vs central differences %.3g", what, r->fd_err);
    if (!zero_ok && r->zero_frac >= 0.8) fail_msg("%s: %.0f%% of gradients are zero", what, 100 * r->zero_frac);
    worst_loss = fmax(worst_loss, r->loss_rel);
    worst_grad = fmax(worst_grad, r->grad_nrms);
    worst_fd = fmax(worst_fd, r->fd_err);
}

static void report(const char *test) {
    fprintf(stderr, "%s: worst loss rel %.2e, grad nrms %.2e, ref-vs-fd %.2e\n", test, worst_loss,
            worst_grad, worst_fd);
    worst_loss = worst_grad = worst_fd = 0;
}

/* shapes: (N, C), 2D (N, C, H, W) and 3D (N, C, D, H, W), odd sizes; the 2D 33x65 and 3D
 * 17x19x23 cases need several reduction groups */
static const lcase shapes[] = {
    {2, {7, 5}, T_LABELS_NOC, 0, -100, -1},
    {4, {2, 3, 7, 9}, T_LABELS, 0, -100, -1},
    {4, {2, 3, 33, 65}, T_LABELS_NOC, 0, -100, -1},
    {5, {2, 4, 5, 6, 7}, T_LABELS, 0, -100, -1},
    {5, {1, 3, 17, 19, 23}, T_LABELS, 0, -100, -1},
};
#define NSHAPES (int)(sizeof shapes / sizeof shapes[0])

/* ---- wrappers binding each loss to the lops signature -------------------------------------- */
#define WRAP(name, dev_fwd, dev_bwd, ptype)                                                         \
    static medcl_status name##_f(const medcl_tensor *x, const medcl_tensor *t, const void *p,      \
                                 medcl_tensor *l) { return dev_fwd(x, t, (const ptype *)p, l); }   \
    static medcl_status name##_b(const medcl_tensor *x, const medcl_tensor *t, const void *p,      \
                                 const medcl_tensor *g, medcl_tensor *dx) {                         \
        return dev_bwd(x, t, (const ptype *)p, g, dx);                                              \
    }
WRAP(ce, medcl_ce_loss_forward, medcl_ce_loss_backward, medcl_ce_loss_params)
WRAP(focal, medcl_focal_loss_forward, medcl_focal_loss_backward, medcl_focal_loss_params)
WRAP(bce, medcl_bce_loss_forward, medcl_bce_loss_backward, medcl_bce_loss_params)
WRAP(mse, medcl_mse_loss_forward, medcl_mse_loss_backward, medcl_mse_loss_params)
WRAP(dice, medcl_dice_loss_forward, medcl_dice_loss_backward, medcl_dice_loss_params)
WRAP(tversky, medcl_tversky_loss_forward, medcl_tversky_loss_backward, medcl_tversky_loss_params)
WRAP(dicece, medcl_dice_ce_loss_forward, medcl_dice_ce_loss_backward, medcl_dice_ce_loss_params)

static double rce_f(const ref_loss_in *in, const void *p) { return ref_ce_forward(in, p); }
static void rce_b(const ref_loss_in *in, const void *p, double g, double *dx) { ref_ce_backward(in, p, g, dx); }
static double rfocal_f(const ref_loss_in *in, const void *p) { return ref_focal_forward(in, p); }
static void rfocal_b(const ref_loss_in *in, const void *p, double g, double *dx) { ref_focal_backward(in, p, g, dx); }

typedef struct rbce { const double *pw; int sum; } rbce;
static double rbce_f(const ref_loss_in *in, const void *p) {
    const rbce *b = p;
    return ref_bce_forward(in, b->pw, b->sum);
}
static void rbce_b(const ref_loss_in *in, const void *p, double g, double *dx) {
    const rbce *b = p;
    ref_bce_backward(in, b->pw, b->sum, g, dx);
}
static double rmse_f(const ref_loss_in *in, const void *p) { return ref_mse_forward(in, *(const int *)p); }
static void rmse_b(const ref_loss_in *in, const void *p, double g, double *dx) {
    ref_mse_backward(in, *(const int *)p, g, dx);
}
static double rregion_f(const ref_loss_in *in, const void *p) { return ref_region_forward(in, p); }
static void rregion_b(const ref_loss_in *in, const void *p, double g, double *dx) {
    ref_region_backward(in, p, g, dx);
}

/* nnU-Net DC_and_CE_loss: weight_ce * CE + weight_dice * Dice */
typedef struct rdicece { ref_xent_params ce; ref_region_params dice; double wce, wdc; } rdicece;
static double rdicece_f(const ref_loss_in *in, const void *p) {
    const rdicece *d = p;
    return d->wce * ref_ce_forward(in, &d->ce) + d->wdc * ref_region_forward(in, &d->dice);
}
static void rdicece_b(const ref_loss_in *in, const void *p, double g, double *dx) {
    const rdicece *d = p;
    long n = (long)in->N * in->C * in->S;
    double *a = malloc((size_t)n * sizeof *a);
    ref_ce_backward(in, &d->ce, g * d->wce, dx);
    ref_region_backward(in, &d->dice, g * d->wdc, a);
    for (long i = 0; i < n; i++) dx[i] += a[i];
    free(a);
}

static const lops OPS_CE = {"ce", ce_f, ce_b, rce_f, rce_b};
static const lops OPS_FOCAL = {"focal", focal_f, focal_b, rfocal_f, rfocal_b};
static const lops OPS_BCE = {"bce", bce_f, bce_b, rbce_f, rbce_b};
static const lops OPS_MSE = {"mse", mse_f, mse_b, rmse_f, rmse_b};
static const lops OPS_DICE = {"dice", dice_f, dice_b, rregion_f, rregion_b};
static const lops OPS_TVERSKY = {"tversky", tversky_f, tversky_b, rregion_f, rregion_b};
static const lops OPS_DICECE = {"dice_ce", dicece_f, dicece_b, rdicece_f, rdicece_b};

/* class weights in [0.5, 2] on the device and in float64 */
static medcl_tensor *class_weights(tu_rng *r, int C, double *wd) {
    float wf[64];
    for (int c = 0; c < C; c++) {
        wf[c] = (float)(0.5 + 1.5 * tu_uniform(r));
        wd[c] = wf[c];
    }
    int64_t sh = C;
    return td_tensor(1, &sh, wf, "class_weight");
}

/* ---- cross-entropy ------------------------------------------------------------------------ */

static void test_ce_labels(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 11);
    for (int si = 0; si < NSHAPES; si++)
        for (int variant = 0; variant < 4; variant++) {
            lcase c = shapes[si];
            c.ignore_frac = 0.1;
            c.ignore = variant == 3 ? 255 : -100;
            lfix f;
            fix_make(&f, &c, &r);
            double wd[64];
            medcl_tensor *w = NULL;
            medcl_ce_loss_params p = MEDCL_CE_LOSS_PARAMS_INIT;
            ref_xent_params rp = {NULL, c.ignore, 0, 0, -1, 0};
            p.ignore_index = c.ignore;
            if (variant >= 1) { /* class weights */
                w = class_weights(&r, f.C, wd);
                p.weight = w;
                rp.w = wd;
            }
            if (variant >= 2) p.label_smoothing = 0.1f, rp.eps = (double)0.1f;
            if (variant == 3) p.reduction = MEDCL_LOSS_REDUCTION_SUM, rp.sum = 1;
            char what[96];
            snprintf(what, sizeof what, "ce labels shape %d variant %d", si, variant);
            lresult res = run_loss(&OPS_CE, &f, &p, &rp, &r);
            expect_good(what, &res, TOL_LOSS, 0);
            medcl_tensor_destroy(w);
            fix_free(&f);
        }
    report("test_ce_labels");
}

static void test_ce_soft(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 12);
    for (int si = 0; si < NSHAPES; si++)
        for (int variant = 0; variant < 3; variant++) {
            lcase c = shapes[si];
            c.target = T_SOFT;
            lfix f;
            fix_make(&f, &c, &r);
            double wd[64];
            medcl_tensor *w = NULL;
            medcl_ce_loss_params p = MEDCL_CE_LOSS_PARAMS_INIT;
            ref_xent_params rp = {NULL, -100, 0, 0, -1, 0};
            if (variant >= 1) p.label_smoothing = 0.2f, rp.eps = (double)0.2f;
            if (variant == 2) {
                w = class_weights(&r, f.C, wd);
                p.weight = w;
                rp.w = wd;
                p.reduction = MEDCL_LOSS_REDUCTION_SUM;
                rp.sum = 1;
            }
            char what[96];
            snprintf(what, sizeof what, "ce soft shape %d variant %d", si, variant);
            lresult res = run_loss(&OPS_CE, &f, &p, &rp, &r);
            expect_good(what, &res, TOL_LOSS, 0);
            medcl_tensor_destroy(w);
            fix_free(&f);
        }
    report("test_ce_soft");
}

/* Ignored voxels: their logits do not change the loss or the other gradients by a single bit,
 * their gradient is exactly 0; all voxels ignored gives loss 0 and gradient 0. */
static void test_ce_ignore_exact(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 13);
    lcase c = {4, {2, 3, 9, 11}, T_LABELS, 0.3, 7, -1};
    lfix f;
    fix_make(&f, &c, &r);
    medcl_ce_loss_params p = MEDCL_CE_LOSS_PARAMS_INIT;
    p.ignore_index = 7;
    p.label_smoothing = 0.05f;
    assert_int_equal(medcl_ce_loss_forward(f.x, f.t, &p, f.loss), MEDCL_OK);
    assert_int_equal(medcl_ce_loss_backward(f.x, f.t, &p, f.dloss, f.dx), MEDCL_OK);
    float l0 = (float)read_loss(f.loss);
    float *g0 = td_download(f.dx);
    /* scramble the logits of ignored voxels */
    float *x2 = malloc((size_t)f.n * sizeof *x2);
    memcpy(x2, f.xf, (size_t)f.n * sizeof *x2);
    int nign = 0;
    for (int n = 0; n < f.N; n++)
        for (long s = 0; s < f.S; s++)
            if (f.lab[(long)n * f.S + s] == 7) {
                nign++;
                for (int k = 0; k < f.C; k++) x2[((long)n * f.C + k) * f.S + s] = (float)(50 * tu_normal(&r));
            }
    assert_true(nign > 0);
    assert_int_equal(medcl_tensor_upload(f.x, x2, (size_t)f.n * 4), MEDCL_OK);
    assert_int_equal(medcl_ce_loss_forward(f.x, f.t, &p, f.loss), MEDCL_OK);
    assert_int_equal(medcl_ce_loss_backward(f.x, f.t, &p, f.dloss, f.dx), MEDCL_OK);
    float l1 = (float)read_loss(f.loss);
    float *g1 = td_download(f.dx);
    assert_memory_equal(&l0, &l1, sizeof l0);
    assert_memory_equal(g0, g1, (size_t)f.n * 4);
    for (int n = 0; n < f.N; n++)
        for (long s = 0; s < f.S; s++)
            if (f.lab[(long)n * f.S + s] == 7)
                for (int k = 0; k < f.C; k++) assert_true(g1[((long)n * f.C + k) * f.S + s] == 0.0f);
    free(g0);
    free(g1);
    free(x2);
    fix_free(&f);

    /* every voxel ignored: 0 and 0 (PyTorch would give NaN; nnU-Net skips CE) */
    lcase call = {4, {1, 3, 5, 5}, T_LABELS, 1.0, -100, -1};
    fix_make(&f, &call, &r);
    assert_int_equal(medcl_ce_loss_forward(f.x, f.t, NULL, f.loss), MEDCL_OK);
    assert_true(read_loss(f.loss) == 0.0);
    assert_int_equal(medcl_ce_loss_backward(f.x, f.t, NULL, f.dloss, f.dx), MEDCL_OK);
    float *g = td_download(f.dx);
    for (long i = 0; i < f.n; i++) assert_true(g[i] == 0.0f);
    free(g);
    fix_free(&f);
}

/* Same inputs, same device: bitwise identical loss and gradient. */
static void test_determinism(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 14);
    lcase c = {5, {2, 3, 9, 10, 11}, T_LABELS, 0.05, -100, -1};
    lfix f;
    fix_make(&f, &c, &r);
    medcl_dice_ce_loss_params p = MEDCL_DICE_CE_LOSS_PARAMS_INIT;
    float l[2];
    float *g[2];
    for (int k = 0; k < 2; k++) {
        assert_int_equal(medcl_dice_ce_loss_forward(f.x, f.t, &p, f.loss), MEDCL_OK);
        l[k] = (float)read_loss(f.loss);
        td_poison(f.dx);
        assert_int_equal(medcl_dice_ce_loss_backward(f.x, f.t, &p, f.dloss, f.dx), MEDCL_OK);
        g[k] = td_download(f.dx);
    }
    assert_memory_equal(&l[0], &l[1], sizeof l[0]);
    assert_memory_equal(g[0], g[1], (size_t)f.n * 4);
    free(g[0]);
    free(g[1]);
    fix_free(&f);
}

/* ---- focal, BCE, MSE ------------------------------------------------------------------------ */

static void test_focal(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 21);
    for (int si = 1; si < NSHAPES; si++)
        for (int variant = 0; variant < 4; variant++) {
            lcase c = shapes[si];
            if (variant == 2) c.target = T_SOFT;
            c.ignore_frac = variant == 3 ? 0.1 : 0;
            lfix f;
            fix_make(&f, &c, &r);
            medcl_focal_loss_params p = MEDCL_FOCAL_LOSS_PARAMS_INIT;
            ref_xent_params rp = {NULL, -100, 0, 2.0, -1, 0};
            if (variant == 1) p.alpha = 0.25f, rp.alpha = (double)0.25f;
            if (variant == 2) p.gamma = 0.5f, rp.gamma = 0.5; /* (1-p)^(gamma-1) unbounded near p = 1 */
            if (variant == 3) p.gamma = 0.0f, rp.gamma = 0, p.reduction = MEDCL_LOSS_REDUCTION_SUM, rp.sum = 1;
            char what[96];
            snprintf(what, sizeof what, "focal shape %d variant %d", si, variant);
            lresult res = run_loss(&OPS_FOCAL, &f, &p, &rp, &r);
            expect_good(what, &res, TOL_LOSS, 0);
            fix_free(&f);
        }
    report("test_focal");
}

static void test_bce(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 31);
    for (int si = 0; si < NSHAPES; si++)
        for (int variant = 0; variant < 3; variant++) {
            lcase c = shapes[si];
            if (variant != 1) c.target = T_SOFT;
            lfix f;
            fix_make(&f, &c, &r);
            double pw[64];
            medcl_tensor *tpw = NULL;
            medcl_bce_loss_params p = MEDCL_BCE_LOSS_PARAMS_INIT;
            rbce rp = {NULL, 0};
            if (variant >= 1) {
                tpw = class_weights(&r, f.C, pw);
                p.pos_weight = tpw;
                rp.pw = pw;
            }
            if (variant == 2) p.reduction = MEDCL_LOSS_REDUCTION_SUM, rp.sum = 1;
            char what[96];
            snprintf(what, sizeof what, "bce shape %d variant %d", si, variant);
            lresult res = run_loss(&OPS_BCE, &f, &p, &rp, &r);
            expect_good(what, &res, TOL_LOSS, 0);
            medcl_tensor_destroy(tpw);
            fix_free(&f);
        }
    report("test_bce");
}

static void test_mse(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 41);
    for (int si = 0; si < NSHAPES; si++)
        for (int sum = 0; sum < 2; sum++) {
            lcase c = shapes[si];
            c.target = T_SOFT;
            lfix f;
            fix_make(&f, &c, &r);
            medcl_mse_loss_params p = MEDCL_MSE_LOSS_PARAMS_INIT;
            p.reduction = sum ? MEDCL_LOSS_REDUCTION_SUM : MEDCL_LOSS_REDUCTION_MEAN;
            char what[96];
            snprintf(what, sizeof what, "mse shape %d %s", si, sum ? "sum" : "mean");
            lresult res = run_loss(&OPS_MSE, &f, &p, &sum, &r);
            expect_good(what, &res, TOL_LOSS, 0);
            fix_free(&f);
        }
    report("test_mse");

    /* integer tier: small integers, sum of squares < 2^24, so the sum and the mean (one
     * correctly rounded division) and the sum-reduction gradient 2 (x - t) are exact */
    int64_t sh[4] = {2, 3, 11, 13};
    long n = 2 * 3 * 11 * 13;
    float *x = malloc((size_t)n * 4), *t = malloc((size_t)n * 4);
    tu_fill_int(&r, x, (size_t)n, -20, 20);
    tu_fill_int(&r, t, (size_t)n, -20, 20);
    double want = 0;
    for (long i = 0; i < n; i++) want += (double)(x[i] - t[i]) * (x[i] - t[i]);
    medcl_tensor *tx = td_tensor(4, sh, x, "x"), *tt = td_tensor(4, sh, t, "t");
    int64_t one = 1;
    medcl_tensor *tl = td_tensor(1, &one, NULL, "loss"), *tdx = td_tensor(4, sh, NULL, "dx");
    medcl_mse_loss_params p = MEDCL_MSE_LOSS_PARAMS_INIT;
    assert_int_equal(medcl_mse_loss_forward(tx, tt, &p, tl), MEDCL_OK);
    assert_true(read_loss(tl) == (double)(float)(want / (double)n));
    p.reduction = MEDCL_LOSS_REDUCTION_SUM;
    assert_int_equal(medcl_mse_loss_forward(tx, tt, &p, tl), MEDCL_OK);
    assert_true(read_loss(tl) == want);
    assert_int_equal(medcl_mse_loss_backward(tx, tt, &p, NULL, tdx), MEDCL_OK);
    float *g = td_download(tdx);
    for (long i = 0; i < n; i++) assert_true(g[i] == 2.0f * (x[i] - t[i]));
    free(g);
    free(x);
    free(t);
    medcl_tensor_destroy(tx);
    medcl_tensor_destroy(tt);
    medcl_tensor_destroy(tl);
    medcl_tensor_destroy(tdx);
}

/* ---- region losses -------------------------------------------------------------------------- */

static void test_dice_nnunet(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 51);
    for (int si = 1; si < NSHAPES; si++)
        for (int variant = 0; variant < 5; variant++) {
            lcase c = shapes[si];
            medcl_dice_loss_params p = MEDCL_DICE_LOSS_PARAMS_NNUNET_INIT;
            ref_region_params rp = {0, 0, 0, 0, -100, (double)1e-5f, (double)1e-5f, (double)1e-8f, 0, 0};
            if (variant == 1) p.batch_dice = 1, rp.batch = 1;
            if (variant == 2) c.ignore_frac = 0.15, c.ignore = 9, p.ignore_index = 9, rp.ignore = 9;
            if (variant == 3) c.target = T_SOFT;
            if (variant == 4) p.nonlin = MEDCL_LOSS_NONLIN_SIGMOID, rp.sigmoid = 1, p.batch_dice = 1, rp.batch = 1;
            lfix f;
            fix_make(&f, &c, &r);
            char what[96];
            snprintf(what, sizeof what, "dice nnunet shape %d variant %d", si, variant);
            lresult res = run_loss(&OPS_DICE, &f, &p, &rp, &r);
            expect_good(what, &res, TOL_LOSS, 0);
            fix_free(&f);
        }
    report("test_dice_nnunet");
}

static void test_dice_monai(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 52);
    for (int si = 1; si < NSHAPES; si++)
        for (int variant = 0; variant < 3; variant++) {
            lcase c = shapes[si];
            medcl_dice_loss_params p = MEDCL_DICE_LOSS_PARAMS_MONAI_INIT;
            ref_region_params rp = {1, 1, 0, 0, -100, (double)1e-5f, (double)1e-5f, 0, 0, 0};
            if (variant == 1) p.batch_dice = 1, rp.batch = 1, p.include_background = 0, rp.include_bg = 0;
            if (variant == 2) {
                c.target = T_SOFT;
                p.smooth_nr = 0.5f, rp.snr = 0.5, p.smooth_dr = 2.0f, rp.sdr = 2.0;
            }
            lfix f;
            fix_make(&f, &c, &r);
            char what[96];
            snprintf(what, sizeof what, "dice monai shape %d variant %d", si, variant);
            lresult res = run_loss(&OPS_DICE, &f, &p, &rp, &r);
            expect_good(what, &res, TOL_LOSS, 0);
            fix_free(&f);
        }
    report("test_dice_monai");
}

/* All voxels background: every foreground mask empty. Loss and gradients finite and equal to
 * the reference. The nnU-Net loss is then about -1e-5 / P (tiny), so its relative error is
 * judged against the foreground dc scale (1e-6 absolute) instead. */
static void test_dice_empty(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 53);
    for (int form = 0; form < 2; form++)
        for (int batch = 0; batch < 2; batch++) {
            lcase c = {5, {2, 3, 5, 6, 7}, T_LABELS, 0, -100, 0};
            lfix f;
            fix_make(&f, &c, &r);
            medcl_dice_loss_params p = MEDCL_DICE_LOSS_PARAMS_NNUNET_INIT;
            ref_region_params rp = {0, 0, batch, 0, -100, (double)1e-5f, (double)1e-5f, (double)1e-8f, 0, 0};
            if (form == 1) {
                medcl_dice_loss_params m = MEDCL_DICE_LOSS_PARAMS_MONAI_INIT;
                p = m;
                rp.kind = 1, rp.include_bg = 1, rp.clip = 0;
            }
            p.batch_dice = batch;
            char what[96];
            snprintf(what, sizeof what, "dice empty masks form %d batch %d", form, batch);
            lresult res = run_loss(&OPS_DICE, &f, &p, &rp, &r);
            if (form == 0) {
                assert_true(fabs(res.loss_dev - res.loss_ref) < 1e-9);
                res.loss_rel = 0;
            }
            expect_good(what, &res, TOL_LOSS, 0);
            fix_free(&f);
        }
    /* ignore everything, soft targets all zero: every denominator is smooth only */
    lcase c = {4, {1, 3, 5, 7}, T_LABELS, 1.0, -1, 0};
    lfix f;
    fix_make(&f, &c, &r);
    medcl_dice_loss_params p = MEDCL_DICE_LOSS_PARAMS_NNUNET_INIT;
    p.ignore_index = -1;
    assert_int_equal(medcl_dice_loss_forward(f.x, f.t, &p, f.loss), MEDCL_OK);
    double l = read_loss(f.loss);
    assert_true(fabs(l - (-1.0)) < 1e-6); /* dc = smooth / smooth = 1 per class */
    assert_int_equal(medcl_dice_loss_backward(f.x, f.t, &p, f.dloss, f.dx), MEDCL_OK);
    float *g = td_download(f.dx);
    for (long i = 0; i < f.n; i++) assert_true(g[i] == 0.0f);
    free(g);
    fix_free(&f);
    report("test_dice_empty");
}

static void test_tversky(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 61);
    for (int si = 1; si < NSHAPES; si++)
        for (int variant = 0; variant < 3; variant++) {
            lcase c = shapes[si];
            medcl_tversky_loss_params p = MEDCL_TVERSKY_LOSS_PARAMS_INIT;
            p.alpha = 0.3f;
            p.beta = 0.7f;
            ref_region_params rp = {2, 1, 0, 0, -100, (double)1e-5f, (double)1e-5f, 0, (double)0.3f, (double)0.7f};
            if (variant == 1) p.batch = 1, rp.batch = 1, p.include_background = 0, rp.include_bg = 0;
            if (variant == 2) c.target = T_SOFT, p.nonlin = MEDCL_LOSS_NONLIN_SIGMOID, rp.sigmoid = 1;
            lfix f;
            fix_make(&f, &c, &r);
            char what[96];
            snprintf(what, sizeof what, "tversky shape %d variant %d", si, variant);
            lresult res = run_loss(&OPS_TVERSKY, &f, &p, &rp, &r);
            expect_good(what, &res, TOL_LOSS, 0);
            fix_free(&f);
        }
    report("test_tversky");
}

static void test_dice_ce(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 71);
    for (int si = 1; si < NSHAPES; si++)
        for (int variant = 0; variant < 3; variant++) {
            lcase c = shapes[si];
            medcl_dice_ce_loss_params p = MEDCL_DICE_CE_LOSS_PARAMS_INIT;
            rdicece rp = {{NULL, -100, 0, 0, -1, 0},
                          {0, 0, 0, 0, -100, (double)1e-5f, (double)1e-5f, (double)1e-8f, 0, 0},
                          1, 1};
            if (variant == 1) { /* nnU-Net with an ignore label, batch dice */
                c.ignore_frac = 0.1, c.ignore = 4;
                p.ce.ignore_index = p.dice.ignore_index = 4;
                rp.ce.ignore = rp.dice.ignore = 4;
                p.dice.batch_dice = rp.dice.batch = 1;
            }
            if (variant == 2) {
                p.weight_ce = 0.5f, rp.wce = 0.5;
                p.weight_dice = 2.0f, rp.wdc = 2.0;
                c.target = T_SOFT;
            }
            lfix f;
            fix_make(&f, &c, &r);
            char what[96];
            snprintf(what, sizeof what, "dice+ce shape %d variant %d", si, variant);
            lresult res = run_loss(&OPS_DICECE, &f, &p, &rp, &r);
            /* the two terms may cancel (0.5 CE - 2 dc): relative to the terms' magnitudes */
            double scale = fabs(rp.wce * ref_ce_forward(&f.rin, &rp.ce)) +
                           fabs(rp.wdc * ref_region_forward(&f.rin, &rp.dice));
            res.loss_rel = fabs(res.loss_dev - res.loss_ref) / scale;
            expect_good(what, &res, TOL_LOSS, 0);
            fix_free(&f);
        }
    report("test_dice_ce");
}

/* ---- golden values from PyTorch / MONAI (float64) ------------------------------------------ */

typedef struct lgolden {
    int shape, id;
    double loss;
    long gi[3];
    double g[3];
} lgolden;

/* tools/golden/gen_loss_golden.py; shape 0 = (2, 3, 5, 7), 1 = (1, 3, 3, 4, 5) */
static const lgolden goldens[] = {
    {0, 0, 1.6288844820644488, {0, 106, 209}, {-0.013946580174464178, -0.0059977990826910847, 0.0045660124100772807}}, /* ce mean */
    {0, 1, 1.5675594219869511, {0, 106, 209}, {-0.0061245181945962721, -0.0018636850793744557, 0.0015466462827545436}}, /* ce weight+ignore+smoothing */
    {0, 2, 1.5927892444196163, {0, 106, 209}, {-0.0097799134989277718, -0.0018311324071546796, 0.0040898219267910133}}, /* ce soft+smoothing */
    {0, 3, 0.69791812783922458, {0, 106, 209}, {-0.0003162957225964947, -0.0031593659463608815, 2.6217722634835082e-05}}, /* monai dice */
    {0, 4, 0.69797161443655897, {0, 106, 209}, {-0.00030848063988312779, -0.0032420963925204834, 5.6965602096242642e-05}}, /* monai dice batch */
    {0, 5, 0.70515989246245958, {0, 106, 209}, {-8.4755572400391121e-05, -0.00074089161946587728, -8.5219815228284982e-05}}, /* monai dice no background */
    {0, 6, -0.29484010753754042, {0, 106, 209}, {-8.4755572400391121e-05, -0.00074089161946587728, -8.5219815228284982e-05}}, /* nnunet dice (= monai no bg - 1) */
    {0, 7, 2.3268026099036732, {0, 106, 209}, {-0.014262875897060672, -0.0091571650290519658, 0.0045922301327121157}}, /* monai dice+ce */
    {0, 8, 0.92419200384866051, {0, 106, 209}, {-0.0012689087641971175, 0.00076830038480656235, 0.0032028905874663238}}, /* bce pos_weight */
    {0, 9, 1.1848326254067398, {0, 106, 209}, {-0.01571038616276145, -0.0026480608319866573, 0.0051434700637891517}}, /* focal gamma 2 (monai * C) */
    {1, 0, 1.1417656078094844, {0, 91, 179}, {-0.010661223381726797, -0.011122944042631311, -0.011549165699286627}}, /* ce mean */
    {1, 1, 1.1354119313408437, {0, 91, 179}, {-0.0041335684114024163, -0.0093726968849001252, -0.020128410296258649}}, /* ce weight+ignore+smoothing */
    {1, 2, 1.1266156080821341, {0, 91, 179}, {-0.0058001122602676569, -0.00626183292117217, -0.010438054571618669}}, /* ce soft+smoothing */
    {1, 3, 0.66152622245513903, {0, 91, 179}, {-0.0037860308762218873, -0.003722686089015667, -0.0035759178540933764}}, /* monai dice */
    {1, 4, 0.66152622245513903, {0, 91, 179}, {-0.0037860308762218873, -0.003722686089015667, -0.0035759178540933764}}, /* monai dice batch */
    {1, 5, 0.65980106200469479, {0, 91, 179}, {-0.00099085269331340839, -0.0050934974446305162, -0.0049110589525765023}}, /* monai dice no background */
    {1, 6, -0.34019893799530521, {0, 91, 179}, {-0.00099085269331340839, -0.0050934974446305162, -0.0049110589525765023}}, /* nnunet dice (= monai no bg - 1) */
    {1, 7, 1.8032918302646235, {0, 91, 179}, {-0.014447254257948685, -0.014845630131646978, -0.015125083553380003}}, /* monai dice+ce */
    {1, 8, 0.89215558077444135, {0, 91, 179}, {-0.0014803935582299705, -0.0016657444336118602, -0.0035405140920167183}}, /* bce pos_weight */
    {1, 9, 0.55078245351405952, {0, 91, 179}, {-0.0093789721722491899, -0.010389822395780301, -0.011348607362112836}}, /* focal gamma 2 (monai * C) */
};

static void test_loss_golden(void **state) {
    (void)state;
    static const int64_t gshape[2][5] = {{2, 3, 5, 7}, {1, 3, 3, 4, 5}};
    static const int gnd[2] = {4, 5};
    double worst_l = 0, worst_g = 0;
    for (size_t k = 0; k < sizeof goldens / sizeof goldens[0]; k++) {
        const lgolden *G = &goldens[k];
        const int64_t *sh = gshape[G->shape];
        int nd = gnd[G->shape];
        int N = (int)sh[0], C = (int)sh[1];
        long S = 1;
        for (int i = 2; i < nd; i++) S *= (long)sh[i];
        long n = (long)N * C * S, nv = (long)N * S;
        float *x = malloc((size_t)n * 4), *t = calloc((size_t)n, 4);
        int *y = malloc((size_t)nv * sizeof *y);
        for (long i = 0; i < n; i++) x[i] = (float)((double)((37 * i + 11) % 101) / 25.0 - 2.0);
        for (long j = 0; j < nv; j++) {
            y[j] = (int)((7 * j + 3) % C);
            if (G->id == 1 && j % 11 == 5) y[j] = -100;
            long nn = j / S, s = j % S;
            t[(nn * C + (7 * j + 3) % C) * S + s] += 0.75f;
            t[(nn * C + (5 * j + 1) % C) * S + s] += 0.25f;
        }
        int64_t ls[5];
        memcpy(ls, sh, sizeof ls);
        ls[1] = 1;
        medcl_tensor *tx = td_tensor(nd, sh, x, "logits"), *tt = td_tensor(nd, sh, t, "soft");
        medcl_tensor *ty = i32_tensor(nd, ls, y, "labels");
        int64_t one = 1, c3 = 3;
        float wv[3] = {0.5f, 1.0f, 2.0f};
        medcl_tensor *tl = td_tensor(1, &one, NULL, "loss"), *tdx = td_tensor(nd, sh, NULL, "dlogits");
        medcl_tensor *tw = td_tensor(1, &c3, wv, "weight");
        medcl_ce_loss_params ce = MEDCL_CE_LOSS_PARAMS_INIT;
        medcl_dice_loss_params dm = MEDCL_DICE_LOSS_PARAMS_MONAI_INIT, dn = MEDCL_DICE_LOSS_PARAMS_NNUNET_INIT;
        medcl_dice_ce_loss_params dce = MEDCL_DICE_CE_LOSS_PARAMS_INIT;
        medcl_bce_loss_params bce = MEDCL_BCE_LOSS_PARAMS_INIT;
        medcl_focal_loss_params fo = MEDCL_FOCAL_LOSS_PARAMS_INIT;
        medcl_status s1 = MEDCL_OK, s2 = MEDCL_OK;
        switch (G->id) {
        case 0:
            s1 = medcl_ce_loss_forward(tx, ty, &ce, tl);
            s2 = medcl_ce_loss_backward(tx, ty, &ce, NULL, tdx);
            break;
        case 1:
        case 2:
            ce.label_smoothing = 0.1f;
            if (G->id == 1) ce.weight = tw;
            s1 = medcl_ce_loss_forward(tx, G->id == 1 ? ty : tt, &ce, tl);
            s2 = medcl_ce_loss_backward(tx, G->id == 1 ? ty : tt, &ce, NULL, tdx);
            break;
        case 3:
        case 4:
        case 5:
        case 6:
            if (G->id == 4) dm.batch_dice = 1;
            if (G->id == 5) dm.include_background = 0;
            s1 = medcl_dice_loss_forward(tx, ty, G->id == 6 ? &dn : &dm, tl);
            s2 = medcl_dice_loss_backward(tx, ty, G->id == 6 ? &dn : &dm, NULL, tdx);
            break;
        case 7:
            dce.dice = dm;
            s1 = medcl_dice_ce_loss_forward(tx, ty, &dce, tl);
            s2 = medcl_dice_ce_loss_backward(tx, ty, &dce, NULL, tdx);
            break;
        case 8:
            bce.pos_weight = tw;
            s1 = medcl_bce_loss_forward(tx, tt, &bce, tl);
            s2 = medcl_bce_loss_backward(tx, tt, &bce, NULL, tdx);
            break;
        default:
            s1 = medcl_focal_loss_forward(tx, ty, &fo, tl);
            s2 = medcl_focal_loss_backward(tx, ty, &fo, NULL, tdx);
            break;
        }
        if (s1 != MEDCL_OK || s2 != MEDCL_OK) fail_msg("golden %zu: %s", k, medcl_last_error());
        double l = read_loss(tl);
        float *g = td_download(tdx);
        double rel = fabs(l - G->loss) / fabs(G->loss), gm = 0, ge = 0;
        for (int i = 0; i < 3; i++) gm = fmax(gm, fabs(G->g[i]));
        for (int i = 0; i < 3; i++) ge = fmax(ge, fabs(g[G->gi[i]] - G->g[i]) / gm);
        if (rel > TOL_LOSS || ge > 1e-6)
            fail_msg("golden shape %d id %d: loss %.9g vs %.9g (rel %.3g), gradient error %.3g", G->shape,
                     G->id, l, G->loss, rel, ge);
        worst_l = fmax(worst_l, rel);
        worst_g = fmax(worst_g, ge);
        free(g);
        free(x);
        free(t);
        free(y);
        medcl_tensor_destroy(tx);
        medcl_tensor_destroy(tt);
        medcl_tensor_destroy(ty);
        medcl_tensor_destroy(tl);
        medcl_tensor_destroy(tdx);
        medcl_tensor_destroy(tw);
    }
    fprintf(stderr, "test_loss_golden: worst loss rel %.2e, gradient error %.2e (of max |g|)\n", worst_l, worst_g);
}

/* ---- bad input ------------------------------------------------------------------------------ */

#define EXPECT_ERR(call, code, needle)                                                             \
    do {                                                                                           \
        assert_int_equal((call), (code));                                                          \
        if (!strstr(medcl_last_error(), (needle)))                                                 \
            fail_msg("message \"%s\" does not name \"%s\"", medcl_last_error(), (needle));        \
    } while (0)

static void test_bad_input(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 81);
    lcase c = {4, {2, 3, 5, 7}, T_LABELS, 0, -100, -1};
    lfix f;
    fix_make(&f, &c, &r);
    /* label map of another size */
    int lab[2 * 5 * 6] = {0};
    int64_t ls[4] = {2, 1, 5, 6};
    medcl_tensor *bad = i32_tensor(4, ls, lab, "short_labels");
    EXPECT_ERR(medcl_ce_loss_forward(f.x, bad, NULL, f.loss), MEDCL_ERR_SHAPE, "short_labels");
    EXPECT_ERR(medcl_dice_loss_backward(f.x, bad, NULL, NULL, f.dx), MEDCL_ERR_SHAPE, "(2, 1, 5, 6)");
    medcl_tensor_destroy(bad);
    /* f32 label map instead of i32 */
    float lf[2 * 5 * 7] = {0};
    int64_t lfs[4] = {2, 1, 5, 7};
    bad = td_tensor(4, lfs, lf, "float_labels");
    EXPECT_ERR(medcl_ce_loss_forward(f.x, bad, NULL, f.loss), MEDCL_ERR_SHAPE, "i32");
    medcl_tensor_destroy(bad);
    /* NULLs, non-scalar loss, wrong dtype, wrong weight size, wrong params */
    EXPECT_ERR(medcl_ce_loss_forward(NULL, f.t, NULL, f.loss), MEDCL_ERR_INVALID_ARG, "logits");
    EXPECT_ERR(medcl_ce_loss_forward(f.x, NULL, NULL, f.loss), MEDCL_ERR_INVALID_ARG, "target");
    EXPECT_ERR(medcl_ce_loss_forward(f.x, f.t, NULL, f.dx), MEDCL_ERR_SHAPE, "loss");
    EXPECT_ERR(medcl_ce_loss_backward(f.x, f.t, NULL, f.dx, f.dx), MEDCL_ERR_SHAPE, "dloss");
    EXPECT_ERR(medcl_ce_loss_backward(f.x, f.t, NULL, NULL, f.loss), MEDCL_ERR_SHAPE, "dlogits");
    EXPECT_ERR(medcl_ce_loss_forward(f.t, f.t, NULL, f.loss), MEDCL_ERR_INVALID_ARG, "labels");
    int64_t four = 4;
    medcl_tensor *w = td_tensor(1, &four, NULL, "w4");
    medcl_ce_loss_params p = MEDCL_CE_LOSS_PARAMS_INIT;
    p.weight = w;
    EXPECT_ERR(medcl_ce_loss_forward(f.x, f.t, &p, f.loss), MEDCL_ERR_SHAPE, "w4");
    medcl_bce_loss_params pb = MEDCL_BCE_LOSS_PARAMS_INIT;
    pb.pos_weight = w;
    EXPECT_ERR(medcl_bce_loss_forward(f.x, f.t, &pb, f.loss), MEDCL_ERR_SHAPE, "pos_weight");
    medcl_tensor_destroy(w);
    medcl_ce_loss_params p2 = MEDCL_CE_LOSS_PARAMS_INIT;
    p2.label_smoothing = 1.5f;
    EXPECT_ERR(medcl_ce_loss_forward(f.x, f.t, &p2, f.loss), MEDCL_ERR_INVALID_ARG, "label_smoothing");
    p2.label_smoothing = 0;
    p2.size = 8;
    EXPECT_ERR(medcl_ce_loss_forward(f.x, f.t, &p2, f.loss), MEDCL_ERR_INVALID_ARG, "params.size");
    medcl_focal_loss_params pf = MEDCL_FOCAL_LOSS_PARAMS_INIT;
    pf.gamma = -1;
    EXPECT_ERR(medcl_focal_loss_forward(f.x, f.t, &pf, f.loss), MEDCL_ERR_INVALID_ARG, "gamma");
    medcl_mse_loss_params pm = MEDCL_MSE_LOSS_PARAMS_INIT;
    pm.reduction = (medcl_loss_reduction)7;
    EXPECT_ERR(medcl_mse_loss_forward(f.x, f.x, &pm, f.loss), MEDCL_ERR_INVALID_ARG, "reduction");
    /* background excluded needs C >= 2 */
    int64_t s1[4] = {2, 1, 5, 7};
    medcl_tensor *x1 = td_tensor(4, s1, NULL, "one_class_logits");
    EXPECT_ERR(medcl_dice_loss_forward(x1, f.t, NULL, f.loss), MEDCL_ERR_SHAPE, "include_background");
    medcl_tensor_destroy(x1);
    fix_free(&f);
}

/* A label outside [0, C): the loss and that voxel's gradient become NaN on the device (no
 * read needed), and medcl_loss_labels_check names the count, position and value. */
static void test_bad_labels(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 82);
    lcase c = {4, {2, 3, 5, 7}, T_LABELS, 0, -100, -1};
    lfix f;
    fix_make(&f, &c, &r);
    assert_int_equal(medcl_loss_labels_check(f.t, 3, -100), MEDCL_OK);
    f.lab[17] = 5;
    f.lab[40] = -3;
    assert_int_equal(medcl_tensor_upload(f.t, f.lab, (size_t)(f.N * f.S) * 4), MEDCL_OK);
    EXPECT_ERR(medcl_loss_labels_check(f.t, 3, -100), MEDCL_ERR_INVALID_ARG, "first is 5 at element 17");
    assert_non_null(strstr(medcl_last_error(), "2 label(s)"));
    assert_non_null(strstr(medcl_last_error(), "labels"));
    assert_int_equal(medcl_ce_loss_forward(f.x, f.t, NULL, f.loss), MEDCL_OK);
    assert_true(isnan(read_loss(f.loss)));
    assert_int_equal(medcl_dice_ce_loss_forward(f.x, f.t, NULL, f.loss), MEDCL_OK);
    assert_true(isnan(read_loss(f.loss)));
    assert_int_equal(medcl_dice_loss_forward(f.x, f.t, NULL, f.loss), MEDCL_OK);
    assert_true(isnan(read_loss(f.loss)));
    assert_int_equal(medcl_ce_loss_backward(f.x, f.t, NULL, NULL, f.dx), MEDCL_OK);
    float *g = td_download(f.dx);
    assert_true(isnan(g[17]));   /* (n 0, c 0, s 17) */
    free(g);
    fix_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ce_labels),   cmocka_unit_test(test_ce_soft),
        cmocka_unit_test(test_ce_ignore_exact), cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_focal),       cmocka_unit_test(test_bce),
        cmocka_unit_test(test_mse),         cmocka_unit_test(test_dice_nnunet),
        cmocka_unit_test(test_dice_monai),  cmocka_unit_test(test_dice_empty),
        cmocka_unit_test(test_tversky),     cmocka_unit_test(test_dice_ce),
        cmocka_unit_test(test_loss_golden), cmocka_unit_test(test_bad_input),   cmocka_unit_test(test_bad_labels),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
