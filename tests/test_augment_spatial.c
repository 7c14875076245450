/* tests/test_augment_spatial.c — the spatial transform against the float64 reference
 * (tests/ref/ref_augment.c) with the same drawn parameters: 3D with rotation, scaling,
 * elastic deformation, translation, mirroring and rot90 from a larger source patch (linear
 * image, nearest labels); 2D in place (cubic image, one-hot argmax labels); exact mirroring;
 * labels never gain a value; probability 0 is the identity (bitwise); determinism.
 * Tolerances: image nrms <= 1e-5 (linear/cubic; taps identical, fp32 sums of 8 or 16
 * products), labels exact (same float coordinates as the kernel). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ref/ref_augment.h"

static medcl_augment_transform spatial_all(void) {
    medcl_augment_transform t = MEDCL_AUGMENT_TRANSFORM_INIT;
    t.kind = MEDCL_AUGMENT_SPATIAL;
    medcl_augment_spatial *s = &t.spatial;
    s->p_rotation = 1;
    for (int a = 0; a < 3; a++) s->rotation[a][0] = -30, s->rotation[a][1] = 30;
    s->p_scale = 1;
    s->scale[0] = 0.7f;
    s->scale[1] = 1.4f;
    s->p_elastic = 1;
    s->elastic_points = 5;
    s->elastic_max = 2.5f;
    s->p_translate = 1;
    s->translate[0] = -2;
    s->translate[1] = 2;
    s->p_mirror[0] = s->p_mirror[1] = s->p_mirror[2] = 0.5f;
    s->p_rot90 = 0.5f;
    return t;
}

static void fill_labels(tu_rng *r, float *l, int64_t n) {
    /* blocky labels with values {0, 2, 3, 5} so interpolation has structure */
    static const float vals[4] = {0, 2, 3, 5};
    for (int64_t i = 0; i < n; i++) l[i] = vals[((i / 3) * 7 + tu_int(r, 0, 1)) % 4];
}

static void check_labels_subset(const float *lab, int64_t n, const float *src, int64_t ns) {
    bool seen[16] = {false};
    for (int64_t i = 0; i < ns; i++) seen[(int)src[i]] = true;
    seen[0] = true; /* the fill value outside */
    for (int64_t i = 0; i < n; i++) {
        assert_true(lab[i] >= 0 && lab[i] < 16 && lab[i] == floorf(lab[i]));
        if (!seen[(int)lab[i]]) fail_msg("label %lld = %g is not an input value", (long long)i, lab[i]);
    }
}

static void run_case(int64_t N, int64_t C, const int64_t in[3], const int64_t out[3],
                     medcl_augment_transform t, bool inplace, const char *what) {
    tu_rng r = tu_rng_make(tu_seed() + (uint64_t)in[2]);
    uint64_t seed = tu_seed() ^ 0x5A5Au;
    uint32_t epoch = 3, s0 = 11;
    int64_t vi = in[0] * in[1] * in[2], vo = out[0] * out[1] * out[2];
    int64_t shi[5] = {N, C, in[0], in[1], in[2]}, sho[5] = {N, C, out[0], out[1], out[2]};
    int64_t sli[5] = {N, 1, in[0], in[1], in[2]}, slo[5] = {N, 1, out[0], out[1], out[2]};
    float *x = malloc(sizeof(float) * (size_t)(N * C * vi)), *l = malloc(sizeof(float) * (size_t)(N * vi));
    tu_fill_normal(&r, x, (size_t)(N * C * vi));
    fill_labels(&r, l, N * vi);
    medcl_augment_pipeline *p = NULL;
    assert_int_equal(medcl_augment_pipeline_create(&p), MEDCL_OK);
    assert_int_equal(medcl_augment_pipeline_add(p, &t), MEDCL_OK);
    medcl_tensor *ti = td_tensor(5, shi, x, "image"), *tl = td_tensor(5, sli, l, "label");
    medcl_tensor *to = inplace ? ti : td_tensor(5, sho, NULL, "image_out");
    medcl_tensor *tlo = inplace ? tl : td_tensor(5, slo, NULL, "label_out");
    if (inplace) assert_int_equal(medcl_augment_pipeline_apply(p, ti, tl, seed, epoch, s0), MEDCL_OK);
    else assert_int_equal(medcl_augment_pipeline_apply_to(p, ti, tl, to, tlo, seed, epoch, s0), MEDCL_OK);
    float *gy = td_download(to), *gl = td_download(tlo);
    /* reference with the same draws */
    aug_geom g = {N, C, {in[0], in[1], in[2]}, {out[0], out[1], out[2]}};
    float *blocks = calloc((size_t)N * AUG_PB, sizeof(float));
    for (int64_t n = 0; n < N; n++) aug_draw(&t, 0, &g, seed, epoch, s0 + (uint32_t)n, blocks + n * AUG_PB);
    double *wy = malloc(sizeof(double) * (size_t)(N * C * vo));
    float *wl = malloc(sizeof(float) * (size_t)(N * vo));
    ref_aug_spatial(&t, 0, &g, blocks, seed, epoch, s0, x, l, wy, wl);
    double e = tu_nrms(gy, wy, (size_t)(N * C * vo));
    int64_t bad = 0;
    for (int64_t i = 0; i < N * vo; i++) bad += gl[i] != wl[i];
    printf("%s: image nrms %.3g, label mismatches %lld of %lld, zero fraction %.2f\n", what, e,
           (long long)bad, (long long)(N * vo), tu_zero_fraction(gy, (size_t)(N * C * vo)));
    assert_true(tu_zero_fraction(gy, (size_t)(N * C * vo)) < 0.8);
    assert_true(e <= 1e-5);
    assert_true(bad == 0);
    check_labels_subset(gl, N * vo, l, N * vi);
    /* determinism: a second run gives the same bits */
    if (!inplace) {
        td_poison(to);
        assert_int_equal(medcl_augment_pipeline_apply_to(p, ti, tl, to, tlo, seed, epoch, s0), MEDCL_OK);
        float *g2 = td_download(to);
        assert_memory_equal(g2, gy, sizeof(float) * (size_t)(N * C * vo));
        free(g2);
        medcl_tensor_destroy(to);
        medcl_tensor_destroy(tlo);
    }
    medcl_tensor_destroy(ti);
    medcl_tensor_destroy(tl);
    medcl_augment_pipeline_destroy(p);
    free(x), free(l), free(gy), free(gl), free(blocks), free(wy), free(wl);
}

static void test_spatial_3d_crop(void **state) {
    (void)state;
    int64_t in[3] = {14, 16, 18}, out[3] = {10, 12, 13};
    run_case(3, 2, in, out, spatial_all(), false, "3d linear/nearest, crop");
}

static void test_spatial_3d_onehot_clamp(void **state) {
    (void)state;
    medcl_augment_transform t = spatial_all();
    t.spatial.label_interp = MEDCL_AUGMENT_LABEL_ONEHOT;
    t.spatial.border = MEDCL_AUGMENT_BORDER_CLAMP;
    int64_t in[3] = {9, 10, 11};
    run_case(2, 1, in, in, t, false, "3d linear/onehot, clamp");
}

static void test_spatial_2d_cubic_inplace(void **state) {
    (void)state;
    medcl_augment_transform t = spatial_all();
    t.spatial.image_interp = MEDCL_AUGMENT_INTERP_CUBIC;
    t.spatial.label_interp = MEDCL_AUGMENT_LABEL_ONEHOT;
    t.spatial.rotation[0][0] = -180;
    t.spatial.rotation[0][1] = 180;
    int64_t in[3] = {1, 40, 37};
    run_case(4, 3, in, in, t, true, "2d cubic/onehot, in place");
    t.spatial.image_interp = MEDCL_AUGMENT_INTERP_NEAREST;
    t.spatial.fill = 0.5f;
    run_case(2, 1, in, in, t, true, "2d nearest, fill 0.5");
}

/* mirroring alone is an index permutation: exact */
static void test_mirror_exact(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 77);
    int64_t sh[5] = {1, 1, 5, 6, 7};
    float x[210], want[210];
    tu_fill_normal(&r, x, 210);
    medcl_augment_transform t = MEDCL_AUGMENT_TRANSFORM_INIT;
    t.spatial.p_mirror[0] = t.spatial.p_mirror[2] = 1.0f;
    medcl_augment_pipeline *p = NULL;
    assert_int_equal(medcl_augment_pipeline_create(&p), MEDCL_OK);
    assert_int_equal(medcl_augment_pipeline_add(p, &t), MEDCL_OK);
    medcl_tensor *tx = td_tensor(5, sh, x, "image");
    assert_int_equal(medcl_augment_pipeline_apply(p, tx, NULL, 1, 0, 0), MEDCL_OK);
    float *got = td_download(tx);
    for (int d = 0; d < 5; d++)
        for (int h = 0; h < 6; h++)
            for (int w = 0; w < 7; w++) want[(d * 6 + h) * 7 + w] = x[((4 - d) * 6 + h) * 7 + (6 - w)];
    assert_memory_equal(got, want, sizeof want);
    free(got);
    medcl_tensor_destroy(tx);
    medcl_augment_pipeline_destroy(p);
}

/* every probability 0: the output is the input, bit for bit; a hit changes it */
static void test_p0_identity_and_seed(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 5);
    int64_t sh[5] = {2, 2, 6, 7, 8}, sl[5] = {2, 1, 6, 7, 8};
    float x[2 * 2 * 336], l[2 * 336];
    tu_fill_normal(&r, x, 2 * 2 * 336);
    fill_labels(&r, l, 2 * 336);
    medcl_augment_transform t = spatial_all();
    t.spatial.p_rotation = t.spatial.p_scale = t.spatial.p_elastic = t.spatial.p_translate = 0;
    t.spatial.p_rot90 = t.spatial.p_mirror[0] = t.spatial.p_mirror[1] = t.spatial.p_mirror[2] = 0;
    medcl_augment_pipeline *p = NULL;
    assert_int_equal(medcl_augment_pipeline_create(&p), MEDCL_OK);
    assert_int_equal(medcl_augment_pipeline_add(p, &t), MEDCL_OK);
    medcl_tensor *tx = td_tensor(5, sh, x, "image"), *tl = td_tensor(5, sl, l, "label");
    assert_int_equal(medcl_augment_pipeline_apply(p, tx, tl, 9, 1, 2), MEDCL_OK);
    float *gx = td_download(tx), *gl = td_download(tl);
    assert_memory_equal(gx, x, sizeof x);
    assert_memory_equal(gl, l, sizeof l);
    free(gx), free(gl);
    medcl_augment_pipeline_destroy(p);
    /* different seeds give different outputs */
    medcl_augment_transform t2 = spatial_all();
    assert_int_equal(medcl_augment_pipeline_create(&p), MEDCL_OK);
    assert_int_equal(medcl_augment_pipeline_add(p, &t2), MEDCL_OK);
    assert_int_equal(medcl_augment_pipeline_apply(p, tx, tl, 1, 0, 0), MEDCL_OK);
    float *a = td_download(tx);
    assert_int_equal(medcl_tensor_upload(tx, x, sizeof x), MEDCL_OK);
    assert_int_equal(medcl_augment_pipeline_apply(p, tx, tl, 2, 0, 0), MEDCL_OK);
    float *b = td_download(tx);
    assert_true(memcmp(a, b, sizeof x) != 0);
    free(a), free(b);
    medcl_tensor_destroy(tx);
    medcl_tensor_destroy(tl);
    medcl_augment_pipeline_destroy(p);
}

static void test_bad_input(void **state) {
    (void)state;
    int64_t sh[5] = {2, 1, 4, 4, 4}, sl[5] = {2, 1, 4, 4, 5}, so[5] = {2, 1, 3, 3, 3};
    medcl_tensor *x = td_tensor(5, sh, NULL, "img"), *l = td_tensor(5, sl, NULL, "lab"), *o = td_tensor(5, so, NULL, "small");
    medcl_augment_pipeline *p = NULL;
    assert_int_equal(medcl_augment_pipeline_create(&p), MEDCL_OK);
    assert_int_equal(medcl_augment_pipeline_apply(p, x, l, 1, 0, 0), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "lab"));
    /* a size change needs a spatial first transform */
    assert_int_equal(medcl_augment_pipeline_apply_to(p, x, NULL, o, NULL, 1, 0, 0), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "small"));
    assert_int_equal(medcl_augment_pipeline_apply(NULL, x, NULL, 1, 0, 0), MEDCL_ERR_INVALID_ARG);
    medcl_augment_transform t = spatial_all();
    t.spatial.elastic_points = 2;
    assert_int_equal(medcl_augment_pipeline_add(p, &t), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "elastic_points"));
    medcl_augment_pipeline_destroy(p);
    medcl_tensor_destroy(x);
    medcl_tensor_destroy(l);
    medcl_tensor_destroy(o);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spatial_3d_crop),
        cmocka_unit_test(test_spatial_3d_onehot_clamp),
        cmocka_unit_test(test_spatial_2d_cubic_inplace),
        cmocka_unit_test(test_mirror_exact),
        cmocka_unit_test(test_p0_identity_and_seed),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
