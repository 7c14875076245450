/* tests/test_philox.c — Philox-4x32-10 known answers (Random123's kat_vectors), the portable
 * float math against libm, the distribution of uniform and normal draws, and device streams
 * equal to host streams bit for bit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "testutil.h"

static void test_known_answers(void **state) {
    (void)state;
    /* Salmon et al. / Random123 kat_vectors for philox4x32_10 */
    struct { uint32_t ctr[4], key[2], out[4]; } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        medcl_philox_ctr c;
        medcl_philox_key k;
        memcpy(c.c, kat[i].ctr, sizeof c.c);
        memcpy(k.k, kat[i].key, sizeof k.k);
        medcl_philox_ctr r = medcl_philox4x32_10(c, k);
        for (int j = 0; j < 4; j++) assert_true(r.c[j] == kat[i].out[j]);
    }
}

static void test_portable_math(void **state) {
    (void)state;
    double worst_log = 0, worst_sqrt = 0, worst_sc = 0;
    for (int i = 1; i <= 100000; i++) {
        float u = (float)i / 100000.0f;
        worst_log = fmax(worst_log, fabs(medcl_pfloat_log(u) - log((double)u)));
        float x = u * 50.0f;
        worst_sqrt = fmax(worst_sqrt, fabs(medcl_pfloat_sqrt(x) - sqrt((double)x)) / sqrt((double)x));
        float s, c;
        medcl_pfloat_sincos_2pi(u, &s, &c);
        worst_sc = fmax(worst_sc, fabs(s - sin(6.283185307179586 * u)));
        worst_sc = fmax(worst_sc, fabs(c - cos(6.283185307179586 * u)));
    }
    assert_true(worst_log < 2e-6);
    assert_true(worst_sqrt < 3e-7);
    assert_true(worst_sc < 2e-6);
    assert_true(medcl_pfloat_log(1.0f) == 0.0f);
    assert_true(fabs(medcl_pfloat_log(5.9604645e-08f) - log(5.9604645e-08)) < 1e-5);
}

static void test_distributions(void **state) {
    (void)state;
    const size_t n = 200000;
    float *u = malloc(n * sizeof *u), *z = malloc(n * sizeof *z);
    medcl_philox_fill_uniform(tu_seed(), 3, 1, 2, u, n);
    medcl_philox_fill_normal(tu_seed(), 4, 1, 2, z, n);
    double mu = 0, m2 = 0, zm = 0, z2 = 0, z4 = 0;
    size_t below = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(u[i] > 0.0f && u[i] <= 1.0f);
        mu += u[i];
        m2 += (double)u[i] * u[i];
        below += u[i] <= 0.25f;
        zm += z[i];
        z2 += (double)z[i] * z[i];
        z4 += (double)z[i] * z[i] * z[i] * z[i];
    }
    mu /= n;
    m2 /= n;
    zm /= n;
    z2 /= n;
    z4 /= n;
    /* 5+ standard errors of slack: a wrong generator misses by far more */
    assert_in_range((long)(mu * 1e4), 4970, 5030);
    assert_in_range((long)((m2 - mu * mu) * 1e5), 8233 - 60, 8333 + 60);
    assert_in_range((long)((double)below / n * 1e4), 2470, 2530);
    assert_true(fabs(zm) < 0.012);
    assert_true(fabs(z2 - 1.0) < 0.02);
    assert_true(fabs(z4 - 3.0) < 0.1);
    free(u);
    free(z);
}

static void test_device_matches_host(void **state) {
    (void)state;
    const int64_t sizes[] = {1, 5, 4097, 100001};
    for (size_t s = 0; s < 4; s++) {
        int64_t n = sizes[s];
        uint64_t seed = tu_seed() ^ (uint64_t)s << 40;
        medcl_tensor *t = td_tensor(1, &n, NULL, "rng");
        float *host = malloc((size_t)n * sizeof *host);

        assert_int_equal(medcl_random_uniform(t, seed, 7, 11, 13, 0.0f, 1.0f), MEDCL_OK);
        float *dev = td_download(t);
        medcl_philox_fill_uniform(seed, 7, 11, 13, host, (size_t)n);
        assert_memory_equal(dev, host, (size_t)n * sizeof(float));
        free(dev);

        td_poison(t);
        assert_int_equal(medcl_random_normal(t, seed, 8, 11, 13, 0.0f, 1.0f), MEDCL_OK);
        dev = td_download(t);
        medcl_philox_fill_normal(seed, 8, 11, 13, host, (size_t)n);
        assert_memory_equal(dev, host, (size_t)n * sizeof(float));
        free(dev);

        /* scaled forms: same formula on both sides */
        assert_int_equal(medcl_random_uniform(t, seed, 9, 0, 0, -2.0f, 3.0f), MEDCL_OK);
        dev = td_download(t);
        medcl_philox_fill_uniform(seed, 9, 0, 0, host, (size_t)n);
        for (int64_t i = 0; i < n; i++) {
            float p = (3.0f - -2.0f) * host[i];
            float w = -2.0f + p;
            assert_true(memcmp(&w, &dev[i], 4) == 0);
        }
        free(dev);
        free(host);
        medcl_tensor_destroy(t);
    }
}

static void test_streams_differ(void **state) {
    (void)state;
    /* different seed, stream or counter words give different draws */
    uint32_t a = medcl_philox_at(1, 0, 0, 0, 0), b = medcl_philox_at(2, 0, 0, 0, 0),
             c = medcl_philox_at(1, 1, 0, 0, 0), d = medcl_philox_at(1, 0, 1, 0, 0),
             e = medcl_philox_at(1, 0, 0, 1, 0), f = medcl_philox_at(1, 0, 0, 0, 1);
    assert_true(a != b && a != c && a != d && a != e && a != f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers), cmocka_unit_test(test_portable_math),
        cmocka_unit_test(test_distributions), cmocka_unit_test(test_device_matches_host),
        cmocka_unit_test(test_streams_differ),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
