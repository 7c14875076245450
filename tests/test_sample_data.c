/* tests/test_sample_data.c — the demo's default data: ch2 slices (skipped without
 * mricron-data) and the synthetic phantom: shapes, labels, normalization, determinism. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "medcl/sample_data.h"
#include "testutil.h"

static void test_brain(void **state) {
    (void)state;
    medcl_slice_set *s = NULL;
    medcl_status st = medcl_sample_brain(NULL, &s);
    if (st == MEDCL_ERR_NOT_FOUND) {
        skip();
        return;
    }
    assert_int_equal(st, MEDCL_OK);
    assert_true(s->n > 100 && s->n <= 181);
    assert_int_equal(s->h % 16, 0);
    assert_int_equal(s->w % 16, 0);
    assert_true(s->h >= 108 && s->w >= 90);
    int64_t fg = 0;
    double sum = 0;
    for (int64_t i = 0; i < s->n * s->h * s->w; i++) {
        assert_true(s->labels[i] <= 1);
        assert_true(isfinite(s->images[i]));
        fg += s->labels[i];
        sum += s->images[i];
    }
    double frac = (double)fg / (double)(s->n * s->h * s->w);
    assert_true(frac > 0.1 && frac < 0.6);
    /* brain is brighter than the background padding on average */
    double in = 0, out = 0;
    int64_t ni = 0, no = 0;
    for (int64_t i = 0; i < s->n * s->h * s->w; i++) {
        if (s->labels[i]) { in += s->images[i]; ni++; } else { out += s->images[i]; no++; }
    }
    assert_true(in / ni > out / no + 0.5);
    assert_true(s->spacing[0] == 2.0 && s->spacing[1] == 2.0);
    medcl_slice_set_free(s);
    medcl_sample_brain_options o = MEDCL_SAMPLE_BRAIN_OPTIONS_INIT;
    o.downsample = 3;
    assert_int_equal(medcl_sample_brain(&o, &s), MEDCL_ERR_INVALID_ARG);
    o.downsample = 2;
    o.dir = "/nonexistent";
    assert_int_equal(medcl_sample_brain(&o, &s), MEDCL_ERR_NOT_FOUND);
    assert_non_null(strstr(medcl_last_error(), "/nonexistent/ch2.nii.gz"));
}

static void test_phantom(void **state) {
    (void)state;
    medcl_slice_set *a = NULL, *b = NULL;
    assert_int_equal(medcl_sample_phantom(7, 5, 64, &a), MEDCL_OK);
    assert_int_equal(medcl_sample_phantom(7, 5, 64, &b), MEDCL_OK);
    assert_memory_equal(a->images, b->images, 5 * 64 * 64 * sizeof(float));
    int64_t fg = 0;
    for (int64_t i = 0; i < 5 * 64 * 64; i++) fg += a->labels[i];
    assert_true(fg > 5 * 64 * 64 / 10 && fg < 5 * 64 * 64 / 2);
    medcl_slice_set_free(b);
    assert_int_equal(medcl_sample_phantom(8, 5, 64, &b), MEDCL_OK);
    assert_true(memcmp(a->images, b->images, 5 * 64 * 64 * sizeof(float)) != 0);
    medcl_slice_set_free(a);
    medcl_slice_set_free(b);
    assert_int_equal(medcl_sample_phantom(1, 0, 64, &a), MEDCL_ERR_INVALID_ARG);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_brain), cmocka_unit_test(test_phantom)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
