/* tests/test_eval_metrics_surface.c — hand-checked cases for the distance transform and the
 * surface metrics: EDT against brute force on random masks with anisotropic spacing,
 * voxel-mode metrics against a brute-force boundary and pairwise distances, two single
 * voxels at a known distance (2D and 3D), objects filling the volume (border convention),
 * the empty-mask conventions, and bad input. Reference-library goldens are in
 * test_eval_metrics_golden.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/metrics.h"
#include "testutil.h"

static void random_shape(tu_rng *r, int64_t shape[3], double sp[3])
{
    shape[0] = tu_int(r, 0, 2) == 0 ? 1 : tu_int(r, 2, 7);
    shape[1] = tu_int(r, 1, 9);
    shape[2] = tu_int(r, 1, 10);
    for (int a = 0; a < 3; a++) sp[a] = 0.3 + 2.7 * tu_uniform(r);
}

static void test_edt_brute_force(void **state)
{
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    for (int trial = 0; trial < 60; trial++) {
        int64_t sh[3];
        double sp[3];
        random_shape(&r, sh, sp);
        int64_t n = sh[0] * sh[1] * sh[2];
        uint8_t *m = malloc((size_t)n);
        double *d = malloc((size_t)n * sizeof(double));
        double density = trial % 10 == 0 ? 0.0 : tu_uniform(&r) * 0.5;
        for (int64_t i = 0; i < n; i++) m[i] = tu_uniform(&r) < density;
        for (int64_t i = 0; i < n; i++) d[i] = -1.0; /* poison */
        assert_int_equal(medcl_edt_compute(m, sh, sp, d), MEDCL_OK);
        for (int64_t i = 0; i < n; i++) {
            int64_t z = i / (sh[1] * sh[2]), y = (i / sh[2]) % sh[1], x = i % sh[2];
            double best = INFINITY;
            for (int64_t j = 0; j < n; j++) {
                if (!m[j]) continue;
                int64_t zj = j / (sh[1] * sh[2]), yj = (j / sh[2]) % sh[1], xj = j % sh[2];
                double dz = (double)(z - zj) * sp[0], dy = (double)(y - yj) * sp[1],
                       dx = (double)(x - xj) * sp[2];
                double v = sqrt(dz * dz + dy * dy + dx * dx);
                if (v < best) best = v;
            }
            if (isinf(best)) assert_true(isinf(d[i]) && d[i] > 0);
            else assert_true(fabs(d[i] - best) <= 1e-12 * fmax(1.0, best));
        }
        free(m);
        free(d);
    }
}

/* Brute force of the voxel mode: boundary by direct neighbour checks (outside = 0). */
static int is_boundary(const uint8_t *m, const int64_t sh[3], int64_t z, int64_t y, int64_t x)
{
    if (!m[(z * sh[1] + y) * sh[2] + x]) return 0;
    const int64_t off[6][3] = {{0, -1, 0}, {0, 1, 0}, {0, 0, -1}, {0, 0, 1}, {-1, 0, 0}, {1, 0, 0}};
    int nn = sh[0] == 1 ? 4 : 6;
    for (int k = 0; k < nn; k++) {
        int64_t a = z + off[k][0], b = y + off[k][1], c = x + off[k][2];
        if (a < 0 || b < 0 || c < 0 || a >= sh[0] || b >= sh[1] || c >= sh[2]) return 1;
        if (!m[(a * sh[1] + b) * sh[2] + c]) return 1;
    }
    return 0;
}

static int64_t directed_brute(const uint8_t *from, const uint8_t *to, const int64_t sh[3],
                              const double sp[3], double *out)
{
    int64_t k = 0;
    for (int64_t z = 0; z < sh[0]; z++)
        for (int64_t y = 0; y < sh[1]; y++)
            for (int64_t x = 0; x < sh[2]; x++) {
                if (!is_boundary(from, sh, z, y, x)) continue;
                double best = INFINITY;
                for (int64_t c = 0; c < sh[0]; c++)
                    for (int64_t b = 0; b < sh[1]; b++)
                        for (int64_t a = 0; a < sh[2]; a++) {
                            if (!is_boundary(to, sh, c, b, a)) continue;
                            double dz = (double)(z - c) * sp[0], dy = (double)(y - b) * sp[1],
                                   dx = (double)(x - a) * sp[2];
                            best = fmin(best, sqrt(dz * dz + dy * dy + dx * dx));
                        }
                out[k++] = best;
            }
    return k;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double perc(double *v, int64_t n, double q)
{
    qsort(v, (size_t)n, sizeof(double), cmp_d);
    double h = (double)(n - 1) * q / 100.0;
    int64_t lo = (int64_t)floor(h);
    if (lo >= n - 1) return v[n - 1];
    return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

static void test_voxel_mode_brute_force(void **state)
{
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 1);
    int compared = 0;
    for (int trial = 0; trial < 40; trial++) {
        int64_t sh[3];
        double sp[3];
        random_shape(&r, sh, sp);
        int64_t n = sh[0] * sh[1] * sh[2];
        uint8_t *a = malloc((size_t)n), *b = malloc((size_t)n);
        double *da = malloc((size_t)n * sizeof(double)), *db = malloc((size_t)n * sizeof(double));
        int any_a = 0, any_b = 0;
        for (int64_t i = 0; i < n; i++) {
            a[i] = tu_uniform(&r) < 0.55;
            b[i] = tu_uniform(&r) < 0.45;
            any_a |= a[i];
            any_b |= b[i];
        }
        if (any_a && any_b) {
            medcl_surface_options o = MEDCL_SURFACE_OPTIONS_INIT;
            o.num_tolerances = 2;
            o.tolerance_mm[0] = 0.7;
            o.tolerance_mm[1] = 1.9;
            medcl_surface_result res;
            assert_int_equal(medcl_metrics_surface(a, b, sh, sp, &o, &res), MEDCL_OK);
            int64_t na = directed_brute(a, b, sh, sp, da), nb = directed_brute(b, a, sh, sp, db);
            double sa = 0, sb = 0, hd = 0;
            int64_t ina[2] = {0, 0};
            for (int64_t i = 0; i < na; i++) {
                sa += da[i];
                hd = fmax(hd, da[i]);
                ina[0] += da[i] <= 0.7;
                ina[1] += da[i] <= 1.9;
            }
            for (int64_t i = 0; i < nb; i++) {
                sb += db[i];
                hd = fmax(hd, db[i]);
                ina[0] += db[i] <= 0.7;
                ina[1] += db[i] <= 1.9;
            }
            double hd95 = fmax(perc(da, na, 95.0), perc(db, nb, 95.0));
            assert_true(fabs(res.hd - hd) <= 1e-12 * fmax(1, hd));
            assert_true(fabs(res.hd_percentile - hd95) <= 1e-12 * fmax(1, hd95));
            assert_true(fabs(res.assd - (sa + sb) / (double)(na + nb)) <= 1e-12);
            assert_true(fabs(res.masd - 0.5 * (sa / (double)na + sb / (double)nb)) <= 1e-12);
            assert_true(fabs(res.nsd[0] - (double)ina[0] / (double)(na + nb)) <= 1e-15);
            assert_true(fabs(res.nsd[1] - (double)ina[1] / (double)(na + nb)) <= 1e-15);
            compared++;
        }
        free(a);
        free(b);
        free(da);
        free(db);
    }
    assert_true(compared >= 30);
}

static void test_two_voxels_known_distance(void **state)
{
    (void)state;
    /* 3D: (2,3,4) vs (5,3,9), spacing (2, 1, 0.5): sqrt(6² + 2.5²) = 6.5 mm */
    int64_t sh[3] = {8, 6, 12};
    double sp[3] = {2.0, 1.0, 0.5};
    uint8_t *a = calloc(8 * 6 * 12, 1), *b = calloc(8 * 6 * 12, 1);
    a[(2 * 6 + 3) * 12 + 4] = 1;
    b[(5 * 6 + 3) * 12 + 9] = 1;
    medcl_surface_options o = MEDCL_SURFACE_OPTIONS_INIT;
    o.num_tolerances = 2;
    o.tolerance_mm[0] = 6.49;
    o.tolerance_mm[1] = 6.5;
    medcl_surface_result res;
    assert_int_equal(medcl_metrics_surface(a, b, sh, sp, &o, &res), MEDCL_OK);
    assert_true(res.hd == 6.5 && res.hd_percentile == 6.5 && res.assd == 6.5 && res.masd == 6.5);
    assert_true(res.nsd[0] == 0.0 && res.nsd[1] == 1.0);
    free(a);
    free(b);

    /* 2D (D = 1, spacing[0] unused): (1,1) vs (4,5), spacing (0.5, 2): sqrt(1.5² + 8²) */
    int64_t sh2[3] = {1, 6, 7};
    double sp2[3] = {9.0, 0.5, 2.0};
    uint8_t a2[42] = {0}, b2[42] = {0};
    a2[1 * 7 + 1] = 1;
    b2[4 * 7 + 5] = 1;
    assert_int_equal(medcl_metrics_surface(a2, b2, sh2, sp2, NULL, &res), MEDCL_OK);
    double want = sqrt(1.5 * 1.5 + 8.0 * 8.0);
    assert_true(fabs(res.hd - want) <= 1e-12 && fabs(res.assd - want) <= 1e-12);
    assert_true(res.nsd[0] == 0.0);
}

/* Foreground filling the volume: the volume border is boundary (scipy border_value = 0). */
static void test_border_is_boundary(void **state)
{
    (void)state;
    int64_t sh[3] = {4, 5, 6};
    double sp[3] = {1.5, 2.0, 2.0};
    uint8_t a[120], b[120];
    memset(a, 1, sizeof a);
    memset(b, 1, sizeof b);
    for (int i = 3 * 30; i < 120; i++) b[i] = 0; /* drop the last slice */
    medcl_surface_result res;
    for (int mode = 0; mode < MEDCL_BOUNDARY_MODE_COUNT; mode++) {
        medcl_surface_options o = MEDCL_SURFACE_OPTIONS_INIT;
        o.boundary = (medcl_boundary_mode)mode;
        assert_int_equal(medcl_metrics_surface(a, a, sh, sp, &o, &res), MEDCL_OK);
        assert_true(res.hd == 0.0 && res.assd == 0.0 && res.nsd[0] == 1.0);
        assert_int_equal(medcl_metrics_surface(a, b, sh, sp, &o, &res), MEDCL_OK);
        assert_true(fabs(res.hd - 1.5) <= 1e-12); /* the dropped face moved by one slice */
        assert_true(res.assd > 0.0 && res.assd < 1.5);
    }
}

static void test_empty_conventions(void **state)
{
    (void)state;
    int64_t sh[3] = {3, 4, 5};
    double sp[3] = {1, 1, 1};
    uint8_t z[60] = {0}, m[60] = {0};
    m[(1 * 4 + 2) * 5 + 2] = 1;
    medcl_surface_result res;
    for (int mode = 0; mode < MEDCL_BOUNDARY_MODE_COUNT; mode++) {
        medcl_surface_options o = MEDCL_SURFACE_OPTIONS_INIT;
        o.boundary = (medcl_boundary_mode)mode;
        o.empty = MEDCL_SURFACE_EMPTY_MONAI;
        assert_int_equal(medcl_metrics_surface(z, z, sh, sp, &o, &res), MEDCL_OK);
        assert_true(isnan(res.hd) && isnan(res.hd_percentile) && isnan(res.assd) &&
                    isnan(res.masd) && isnan(res.nsd[0]));
        o.empty = MEDCL_SURFACE_EMPTY_RELOADED;
        assert_int_equal(medcl_metrics_surface(z, z, sh, sp, &o, &res), MEDCL_OK);
        assert_true(res.hd == 0 && res.hd_percentile == 0 && res.assd == 0 && res.masd == 0 &&
                    res.nsd[0] == 1.0);
        for (int e = 0; e < MEDCL_SURFACE_EMPTY_COUNT; e++) {
            o.empty = (medcl_surface_empty)e;
            assert_int_equal(medcl_metrics_surface(z, m, sh, sp, &o, &res), MEDCL_OK);
            assert_true(isinf(res.hd) && isinf(res.hd_percentile) && isinf(res.assd) &&
                        isinf(res.masd) && res.nsd[0] == 0.0);
            assert_int_equal(medcl_metrics_surface(m, z, sh, sp, &o, &res), MEDCL_OK);
            assert_true(isinf(res.hd) && res.nsd[0] == 0.0);
        }
    }
}

static void expect_error(medcl_status got, medcl_status want, const char *needle)
{
    assert_int_equal(got, want);
    if (!strstr(medcl_last_error(), needle))
        fail_msg("error \"%s\" does not name \"%s\"", medcl_last_error(), needle);
}

static void test_surface_bad_input(void **state)
{
    (void)state;
    int64_t sh[3] = {2, 3, 4};
    double sp[3] = {1, 1, 1};
    uint8_t a[24] = {1}, b[24] = {1};
    int32_t la[24] = {0}, lb[24] = {0};
    medcl_surface_result res[2];
    double dist[24];
    double bad[3] = {1.0, 0.0, 1.0};
    expect_error(medcl_metrics_surface(a, b, sh, bad, NULL, res), MEDCL_ERR_INVALID_ARG, "spacing[1]=0");
    bad[1] = NAN;
    expect_error(medcl_metrics_surface(a, b, sh, bad, NULL, res), MEDCL_ERR_INVALID_ARG, "spacing[1]=nan");
    bad[1] = 1.0;
    bad[2] = -2.0;
    expect_error(medcl_metrics_surface(a, b, sh, bad, NULL, res), MEDCL_ERR_INVALID_ARG, "spacing[2]=-2");
    expect_error(medcl_edt_compute(a, sh, bad, dist), MEDCL_ERR_INVALID_ARG, "spacing[2]");
    expect_error(medcl_metrics_surface(a, b, sh, NULL, NULL, res), MEDCL_ERR_INVALID_ARG, "spacing is NULL");
    expect_error(medcl_metrics_surface(NULL, b, sh, sp, NULL, res), MEDCL_ERR_INVALID_ARG, "ref is NULL");
    expect_error(medcl_metrics_surface(a, NULL, sh, sp, NULL, res), MEDCL_ERR_INVALID_ARG, "pred is NULL");
    expect_error(medcl_metrics_surface(a, b, sh, sp, NULL, NULL), MEDCL_ERR_INVALID_ARG, "out is NULL");
    expect_error(medcl_metrics_surface(a, b, NULL, sp, NULL, res), MEDCL_ERR_INVALID_ARG, "shape is NULL");
    int64_t sh0[3] = {2, 0, 4};
    expect_error(medcl_metrics_surface(a, b, sh0, sp, NULL, res), MEDCL_ERR_SHAPE, "shape[1]=0");
    medcl_surface_options o = MEDCL_SURFACE_OPTIONS_INIT;
    o.boundary = (medcl_boundary_mode)7;
    expect_error(medcl_metrics_surface(a, b, sh, sp, &o, res), MEDCL_ERR_INVALID_ARG, "opt->boundary=7");
    o = (medcl_surface_options)MEDCL_SURFACE_OPTIONS_INIT;
    o.empty = MEDCL_SURFACE_EMPTY_COUNT;
    expect_error(medcl_metrics_surface(a, b, sh, sp, &o, res), MEDCL_ERR_INVALID_ARG, "opt->empty");
    o = (medcl_surface_options)MEDCL_SURFACE_OPTIONS_INIT;
    o.percentile = 101;
    expect_error(medcl_metrics_surface(a, b, sh, sp, &o, res), MEDCL_ERR_INVALID_ARG, "opt->percentile=101");
    o = (medcl_surface_options)MEDCL_SURFACE_OPTIONS_INIT;
    o.tolerance_mm[0] = -1;
    expect_error(medcl_metrics_surface(a, b, sh, sp, &o, res), MEDCL_ERR_INVALID_ARG, "opt->tolerance_mm[0]=-1");
    o = (medcl_surface_options)MEDCL_SURFACE_OPTIONS_INIT;
    o.num_tolerances = 9;
    expect_error(medcl_metrics_surface(a, b, sh, sp, &o, res), MEDCL_ERR_INVALID_ARG, "opt->num_tolerances=9");
    o = (medcl_surface_options)MEDCL_SURFACE_OPTIONS_INIT;
    o.size = 8;
    expect_error(medcl_metrics_surface(a, b, sh, sp, &o, res), MEDCL_ERR_INVALID_ARG, "opt->size=8");
    lb[5] = 2;
    expect_error(medcl_metrics_surface_labels(la, lb, sh, sp, 2, NULL, res), MEDCL_ERR_INVALID_ARG, "pred[5]=2");
    lb[5] = 0;
    la[3] = -1;
    expect_error(medcl_metrics_surface_labels(la, lb, sh, sp, 2, NULL, res), MEDCL_ERR_INVALID_ARG, "ref[3]=-1");
    expect_error(medcl_metrics_surface_labels(la, lb, sh, sp, 0, NULL, res), MEDCL_ERR_INVALID_ARG, "num_classes=0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edt_brute_force),
        cmocka_unit_test(test_voxel_mode_brute_force),
        cmocka_unit_test(test_two_voxels_known_distance),
        cmocka_unit_test(test_border_is_boundary),
        cmocka_unit_test(test_empty_conventions),
        cmocka_unit_test(test_surface_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
