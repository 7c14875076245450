/* tests/test_op_broadcast.c — add and mul with NumPy broadcasting, forward and backward,
 * against tests/ref/ref_broadcast.c: integer inputs bit-exact (forward and the gradient sums),
 * N(0,1) inputs exact forward (one correctly rounded op) and by normalized RMS error for the
 * gradient sums, both reduction paths (few and many terms per element), accumulation,
 * determinism, the reference backward against central differences, and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/ops_act.h"
#include "ref/ref_act.h"
#include "ref/ref_broadcast.h"
#include "testutil.h"

typedef struct {
    int ra, rb, ry;
    int64_t as[5], bs[5], ys[5];
} bc_case;

static const bc_case cases[] = {
    {5, 5, 5, {3, 5, 3, 7, 11}, {1, 5, 1, 1, 1}, {3, 5, 3, 7, 11}}, /* per-channel, many terms */
    {5, 4, 5, {3, 5, 3, 7, 11}, {5, 1, 1, 1}, {3, 5, 3, 7, 11}},    /* rank 4 against rank 5 */
    {4, 4, 4, {2, 1, 9, 11}, {2, 6, 1, 11}, {2, 6, 9, 11}},         /* both broadcast */
    {2, 1, 2, {7, 13}, {13}, {7, 13}},                              /* bias of a linear layer */
    {2, 2, 2, {4, 1}, {1, 5}, {4, 5}},                              /* outer product */
    {1, 3, 3, {1}, {2, 3, 4}, {2, 3, 4}},                           /* scalar */
    {4, 4, 4, {2, 4, 40, 50}, {1, 4, 1, 1}, {2, 4, 40, 50}},        /* several groups per element */
    {2, 2, 2, {5, 7}, {5, 7}, {5, 7}},                              /* no broadcasting */
    {5, 5, 5, {3, 5, 3, 7, 11}, {3, 5, 3, 7, 1}, {3, 5, 3, 7, 11}}, /* innermost axis */
    {5, 5, 5, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1}},   /* one element */
};

static int64_t numel_of(int r, const int64_t *s) {
    int64_t n = 1;
    for (int k = 0; k < r; k++) n *= s[k];
    return n;
}

static void fill(tu_rng *r, float *x, int64_t n, bool integer) {
    if (integer) {
        tu_fill_int(r, x, (size_t)n, -6, 6);
        for (int64_t i = 0; i < n; i++)
            if (x[i] == 0) x[i] = 1;
    } else {
        tu_fill_normal(r, x, (size_t)n);
    }
}

static void run_case(tu_rng *r, const bc_case *c, bool integer, int mul) {
    int64_t na = numel_of(c->ra, c->as), nb = numel_of(c->rb, c->bs), ny = numel_of(c->ry, c->ys);
    float *a = malloc((size_t)na * 4), *b = malloc((size_t)nb * 4), *dy = malloc((size_t)ny * 4);
    float *da0 = malloc((size_t)na * 4);
    fill(r, a, na, integer);
    fill(r, b, nb, integer);
    fill(r, dy, ny, integer);
    fill(r, da0, na, integer);
    double *ad = ref_to_double(a, (size_t)na), *bd = ref_to_double(b, (size_t)nb);
    double *dyd = ref_to_double(dy, (size_t)ny);
    double *yd = malloc((size_t)ny * sizeof *yd), *dad = malloc((size_t)na * sizeof *dad);
    double *dbd = malloc((size_t)nb * sizeof *dbd);
    medcl_tensor *ta = td_tensor(c->ra, c->as, a, "a"), *tb = td_tensor(c->rb, c->bs, b, "b");
    medcl_tensor *ty = td_tensor(c->ry, c->ys, NULL, "y"), *tdy = td_tensor(c->ry, c->ys, dy, "dy");
    medcl_tensor *tda = td_tensor(c->ra, c->as, NULL, "da"), *tdb = td_tensor(c->rb, c->bs, NULL, "db");
    char what[128];
    snprintf(what, sizeof what, "%s %s y=%lld a=%lld b=%lld", mul ? "mul" : "add",
             integer ? "int" : "normal", (long long)ny, (long long)na, (long long)nb);

    medcl_status st = (mul ? medcl_broadcast_mul_forward : medcl_broadcast_add_forward)(ta, tb, ty);
    if (st != MEDCL_OK) fail_msg("%s: %s", what, medcl_last_error());
    float *got = td_download(ty);
    ref_broadcast_forward(mul, ad, c->ra, c->as, bd, c->rb, c->bs, yd, c->ry, c->ys);
    tu_expect_exact(got, yd, ny, what); /* one correctly rounded op: exact in both tiers */
    free(got);

    st = mul ? medcl_broadcast_mul_backward(NULL, ta, tb, tdy, tda, tdb)
             : medcl_broadcast_add_backward(NULL, tdy, tda, tdb);
    if (st != MEDCL_OK) fail_msg("%s: %s", what, medcl_last_error());
    ref_broadcast_backward(mul, ad, c->ra, c->as, bd, c->rb, c->bs, dyd, c->ry, c->ys, dad, dbd);
    /* the same sums over |terms|, for the error bound */
    double *aa = malloc((size_t)na * 8), *ab = malloc((size_t)nb * 8), *ady = malloc((size_t)ny * 8);
    double *sa = malloc((size_t)na * 8), *sb = malloc((size_t)nb * 8);
    for (int64_t i = 0; i < na; i++) aa[i] = fabs(ad[i]);
    for (int64_t i = 0; i < nb; i++) ab[i] = fabs(bd[i]);
    for (int64_t i = 0; i < ny; i++) ady[i] = fabs(dyd[i]);
    ref_broadcast_backward(mul, aa, c->ra, c->as, ab, c->rb, c->bs, ady, c->ry, c->ys, sa, sb);
    float *ga = td_download(tda), *gb = td_download(tdb);
    if (integer) {
        tu_expect_exact(ga, dad, na, what);
        tu_expect_exact(gb, dbd, nb, what);
    } else {
        char w2[160];
        snprintf(w2, sizeof w2, "%s: da", what);
        tu_expect_close_terms(ga, dad, sa, na, 1e-6, w2);
        snprintf(w2, sizeof w2, "%s: db", what);
        tu_expect_close_terms(gb, dbd, sb, nb, 1e-6, w2);
    }
    /* determinism, and accumulate: da = da0 + grad, db untouched when NULL */
    assert_int_equal(medcl_tensor_upload(tda, da0, (size_t)na * 4), MEDCL_OK);
    medcl_broadcast_params p = MEDCL_BROADCAST_PARAMS_INIT;
    p.accumulate = true;
    if (mul)
        assert_int_equal(medcl_broadcast_mul_backward(&p, ta, tb, tdy, tda, NULL), MEDCL_OK);
    else
        assert_int_equal(medcl_broadcast_add_backward(&p, tdy, tda, NULL), MEDCL_OK);
    float *ga2 = td_download(tda), *gb2 = td_download(tdb);
    for (int64_t i = 0; i < na; i++) {
        float w = da0[i] + ga[i];
        if (memcmp(&ga2[i], &w, 4) != 0)
            fail_msg("%s: accumulate element %lld = %.9g, expected %.9g", what, (long long)i, ga2[i], w);
    }
    assert_memory_equal(gb, gb2, (size_t)nb * 4);
    free(aa);
    free(ab);
    free(ady);
    free(sa);
    free(sb);
    free(ga);
    free(gb);
    free(ga2);
    free(gb2);
    medcl_tensor_destroy(ta);
    medcl_tensor_destroy(tb);
    medcl_tensor_destroy(ty);
    medcl_tensor_destroy(tdy);
    medcl_tensor_destroy(tda);
    medcl_tensor_destroy(tdb);
    free(a);
    free(b);
    free(dy);
    free(da0);
    free(ad);
    free(bd);
    free(dyd);
    free(yd);
    free(dad);
    free(dbd);
}

static void test_broadcast_integer(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 41);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int mul = 0; mul < 2; mul++) run_case(&r, &cases[i], true, mul);
}

static void test_broadcast_normal(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 42);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int mul = 0; mul < 2; mul++) run_case(&r, &cases[i], false, mul);
}

/* y may alias an operand of y's shape (in-place bias add). */
static void test_in_place(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 43);
    int64_t ys[4] = {2, 3, 5, 7}, bs[4] = {1, 3, 1, 1};
    float y[210], b[3];
    tu_fill_normal(&r, y, 210);
    tu_fill_normal(&r, b, 3);
    medcl_tensor *ty = td_tensor(4, ys, y, "y"), *tb = td_tensor(4, bs, b, "b");
    assert_int_equal(medcl_broadcast_add_forward(ty, tb, ty), MEDCL_OK);
    float *got = td_download(ty);
    for (int i = 0; i < 210; i++) {
        float w = y[i] + b[(i / 35) % 3];
        assert_memory_equal(&got[i], &w, 4);
    }
    free(got);
    medcl_tensor_destroy(ty);
    medcl_tensor_destroy(tb);
}

typedef struct {
    const bc_case *c;
    const double *a, *b;
    int mul, wrt_b;
} fd_ctx;

static void bc_fn(const double *v, double *y, void *k) {
    fd_ctx *f = k;
    const bc_case *c = f->c;
    ref_broadcast_forward(f->mul, f->wrt_b ? f->a : v, c->ra, c->as, f->wrt_b ? v : f->b, c->rb,
                          c->bs, y, c->ry, c->ys);
}

static void test_gradcheck(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 44);
    const bc_case *c = &cases[2]; /* (2,1,9,11) and (2,6,1,11) */
    int64_t na = numel_of(c->ra, c->as), nb = numel_of(c->rb, c->bs), ny = numel_of(c->ry, c->ys);
    double *a = malloc((size_t)na * 8), *b = malloc((size_t)nb * 8), *dy = malloc((size_t)ny * 8);
    double *da = malloc((size_t)na * 8), *db = malloc((size_t)nb * 8);
    for (int64_t i = 0; i < na; i++) a[i] = tu_normal(&r);
    for (int64_t i = 0; i < nb; i++) b[i] = tu_normal(&r);
    for (int64_t i = 0; i < ny; i++) dy[i] = tu_normal(&r);
    double worst = 0;
    for (int mul = 0; mul < 2; mul++) {
        ref_broadcast_backward(mul, a, c->ra, c->as, b, c->rb, c->bs, dy, c->ry, c->ys, da, db);
        for (int wrt_b = 0; wrt_b < 2; wrt_b++) {
            fd_ctx f = {c, a, b, mul, wrt_b};
            for (int t = 0; t < 6; t++) {
                int64_t n = wrt_b ? nb : na;
                size_t i = (size_t)tu_int(&r, 0, (int)n - 1);
                double an = wrt_b ? db[i] : da[i];
                double fd = ref_fd_grad(bc_fn, &f, wrt_b ? b : a, (size_t)ny, dy, i, 1e-6);
                double e = fabs(fd - an) / (1 + fabs(an));
                if (e > worst) worst = e;
            }
        }
    }
    print_message("  broadcast reference backward vs central differences: %.2e\n", worst);
    assert_true(worst < 1e-7);
    free(a);
    free(b);
    free(dy);
    free(da);
    free(db);
}

static void test_bad_input(void **state) {
    (void)state;
    int64_t s34[2] = {3, 4}, s54[2] = {5, 4}, s4[1] = {4}, s234[3] = {2, 3, 4}, s35[2] = {3, 5};
    medcl_tensor *a = td_tensor(2, s34, NULL, "mat34"), *b = td_tensor(2, s54, NULL, "mat54");
    medcl_tensor *v = td_tensor(1, s4, NULL, "vec4"), *t3 = td_tensor(3, s234, NULL, "cube");
    medcl_tensor *c = td_tensor(2, s35, NULL, "mat35");
    assert_int_equal(medcl_broadcast_add_forward(a, b, a), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "mat54"));
    assert_int_equal(medcl_broadcast_add_forward(a, v, c), MEDCL_ERR_SHAPE); /* y not the broadcast */
    assert_non_null(strstr(medcl_last_error(), "mat35"));
    assert_int_equal(medcl_broadcast_mul_forward(a, v, t3), MEDCL_ERR_SHAPE); /* rank of y too high */
    assert_non_null(strstr(medcl_last_error(), "cube"));
    assert_int_equal(medcl_broadcast_mul_forward(t3, v, a), MEDCL_ERR_SHAPE); /* operand rank above y */
    assert_int_equal(medcl_broadcast_add_forward(a, NULL, a), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_broadcast_add_backward(NULL, a, NULL, b), MEDCL_ERR_SHAPE);
    assert_int_equal(medcl_broadcast_mul_backward(NULL, a, v, a, a, c), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "db"));
    medcl_broadcast_params p = MEDCL_BROADCAST_PARAMS_INIT;
    p.size = 0;
    assert_int_equal(medcl_broadcast_add_backward(&p, a, a, NULL), MEDCL_ERR_INVALID_ARG);
    medcl_tensor_destroy(a);
    medcl_tensor_destroy(b);
    medcl_tensor_destroy(v);
    medcl_tensor_destroy(t3);
    medcl_tensor_destroy(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broadcast_integer),
        cmocka_unit_test(test_broadcast_normal),
        cmocka_unit_test(test_in_place),
        cmocka_unit_test(test_gradcheck),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
