/* tests/test_nn_replay.c — the experience-replay buffer: configured composition per domain
 * (round-half-up fraction, minimum per domain, empty domains), the documented Philox selection
 * rule recomputed here, determinism (same seed → same indices; another seed → others; order
 * of domains irrelevant), entry enumeration, JSON round trip and rejected documents. */
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

typedef struct dom { const char *name; int64_t n, want; } dom;
/* fraction 0.25: 2.5 → 3 (half up), 1.75 → 2, 0.25 → 0 → min 1, 0 cases → 0, 25 */
static const dom doms[] = {{"siteA", 10, 3}, {"siteB", 7, 2}, {"tiny", 1, 1}, {"empty", 0, 0},
                           {"large", 100, 25}};
#define ND ((int)(sizeof doms / sizeof doms[0]))

static medcl_replay *make(uint64_t seed, double fraction, bool reverse) {
    medcl_replay_config c = MEDCL_REPLAY_CONFIG_INIT;
    c.seed = seed;
    c.fraction = fraction;
    medcl_replay *r;
    assert_int_equal(medcl_replay_create(&c, &r), MEDCL_OK);
    for (int i = 0; i < ND; i++) {
        const dom *d = &doms[reverse ? ND - 1 - i : i];
        if (medcl_replay_add_domain(r, d->name, d->n) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    }
    return r;
}

/* The rule from the header, written out independently: k smallest Philox keys, ties by index. */
static void reference_select(uint64_t seed, const char *name, int64_t n, int64_t k, int64_t *out) {
    uint32_t stream = (uint32_t)medcl_hash64(name, strlen(name), MEDCL_HASH64_INIT);
    char *taken = calloc((size_t)n + 1, 1);
    for (int64_t t = 0; t < k; t++) {
        int64_t best = -1;
        uint32_t bk = 0;
        for (int64_t i = 0; i < n; i++) {
            uint32_t key = medcl_philox_at(seed, stream, 0, 0, (uint64_t)i);
            if (!taken[i] && (best < 0 || key < bk)) {
                best = i;
                bk = key;
            }
        }
        if (best < 0) break;
        taken[best] = 1;
    }
    int64_t j = 0;
    for (int64_t i = 0; i < n; i++)
        if (taken[i]) out[j++] = i;
    free(taken);
}

static void test_composition(void **state) {
    (void)state;
    uint64_t seed = tu_seed();
    medcl_replay *r = make(seed, 0.25, false);
    assert_int_equal(medcl_replay_domain_count(r), ND);
    int64_t total = 0;
    for (int d = 0; d < ND; d++) {
        assert_string_equal(medcl_replay_domain_name(r, d), doms[d].name);
        assert_int_equal(medcl_replay_domain_cases(r, d), doms[d].n);
        assert_int_equal(medcl_replay_domain_kept(r, d), doms[d].want);
        const int64_t *idx = medcl_replay_domain_indices(r, d);
        int64_t want[100];
        reference_select(seed, doms[d].name, doms[d].n, doms[d].want, want);
        for (int64_t j = 0; j < doms[d].want; j++) {
            assert_true(idx[j] >= 0 && idx[j] < doms[d].n);
            if (j) assert_true(idx[j] > idx[j - 1]);
            assert_int_equal(idx[j], want[j]);
        }
        total += doms[d].want;
    }
    assert_int_equal(medcl_replay_total(r), total);
    assert_int_equal(medcl_replay_find(r, "siteB"), 1);
    assert_int_equal(medcl_replay_find(r, "nope"), -1);
    /* entries: domains in order, indices ascending */
    int64_t k = 0;
    for (int d = 0; d < ND; d++)
        for (int64_t j = 0; j < doms[d].want; j++, k++) {
            int dd;
            int64_t ci;
            assert_int_equal(medcl_replay_entry(r, k, &dd, &ci), MEDCL_OK);
            assert_int_equal(dd, d);
            assert_int_equal(ci, medcl_replay_domain_indices(r, d)[j]);
        }
    int dd;
    int64_t ci;
    assert_int_equal(medcl_replay_entry(r, total, &dd, &ci), MEDCL_ERR_INVALID_ARG);
    medcl_replay_destroy(r);

    /* fraction 1 keeps everything; fraction 0 with no minimum keeps nothing */
    r = make(seed, 1.0, false);
    assert_int_equal(medcl_replay_domain_kept(r, 4), 100);
    assert_int_equal(medcl_replay_domain_indices(r, 4)[99], 99);
    medcl_replay_destroy(r);
    medcl_replay_config c = MEDCL_REPLAY_CONFIG_INIT;
    c.fraction = 0.0;
    c.min_per_domain = 0;
    assert_int_equal(medcl_replay_create(&c, &r), MEDCL_OK);
    assert_int_equal(medcl_replay_add_domain(r, "x", 50), MEDCL_OK);
    assert_int_equal(medcl_replay_total(r), 0);
    medcl_replay_destroy(r);
}

static bool same_buffers(const medcl_replay *a, const medcl_replay *b) {
    if (medcl_replay_domain_count(a) != medcl_replay_domain_count(b)) return false;
    for (int d = 0; d < medcl_replay_domain_count(a); d++) {
        int e = medcl_replay_find(b, medcl_replay_domain_name(a, d));
        if (e < 0 || medcl_replay_domain_kept(a, d) != medcl_replay_domain_kept(b, e) ||
            medcl_replay_domain_cases(a, d) != medcl_replay_domain_cases(b, e))
            return false;
        if (medcl_replay_domain_kept(a, d) &&
            memcmp(medcl_replay_domain_indices(a, d), medcl_replay_domain_indices(b, e),
                   (size_t)medcl_replay_domain_kept(a, d) * sizeof(int64_t)) != 0)
            return false;
    }
    return true;
}

static void test_determinism(void **state) {
    (void)state;
    uint64_t seed = tu_seed();
    medcl_replay *a = make(seed, 0.25, false), *b = make(seed, 0.25, false);
    medcl_replay *rev = make(seed, 0.25, true), *other = make(seed + 1, 0.25, false);
    assert_true(same_buffers(a, b));
    assert_true(same_buffers(a, rev)); /* order of domains does not matter */
    /* another seed: 25 of 100 chosen again identically has probability 1/C(100,25) */
    const int64_t *ia = medcl_replay_domain_indices(a, 4), *io = medcl_replay_domain_indices(other, 4);
    assert_true(memcmp(ia, io, 25 * sizeof(int64_t)) != 0);
    assert_false(same_buffers(a, other));
    medcl_replay_destroy(a);
    medcl_replay_destroy(b);
    medcl_replay_destroy(rev);
    medcl_replay_destroy(other);
}

static void test_json(void **state) {
    (void)state;
    medcl_replay *a = make(0xFFFFFFFFFFFFFFF1ull, 0.25, false), *b = NULL;
    char *js = NULL;
    assert_int_equal(medcl_replay_to_json(a, &js), MEDCL_OK);
    assert_non_null(strstr(js, "\"seed\":\"18446744073709551601\""));
    assert_int_equal(medcl_replay_from_json(js, &b), MEDCL_OK);
    assert_true(same_buffers(a, b));
    assert_true(medcl_replay_get_config(b)->seed == 0xFFFFFFFFFFFFFFF1ull);
    assert_true(medcl_replay_get_config(b)->fraction == 0.25);
    char *js2 = NULL;
    assert_int_equal(medcl_replay_to_json(b, &js2), MEDCL_OK);
    assert_string_equal(js, js2);
    free(js2);
    medcl_replay_destroy(b);
    b = NULL;

    static const struct { const char *doc, *path; } bad[] = {
        {"[1]", "$"},
        {"{\"format\":\"medcl.replay\",\"version\":1,\"fraction\":0.25,\"seed\":\"1\",\"min_per_domain\":1,"
         "\"domains\":[],\"extra\":1}", "$.extra"},
        {"{\"format\":\"medcl.replay\",\"version\":2,\"fraction\":0.25,\"seed\":\"1\",\"min_per_domain\":1,"
         "\"domains\":[]}", "$.version"},
        {"{\"format\":\"medcl.replay\",\"version\":1,\"fraction\":0.25,\"seed\":\"x1\",\"min_per_domain\":1,"
         "\"domains\":[]}", "$.seed"},
        {"{\"format\":\"medcl.replay\",\"version\":1,\"fraction\":0.25,\"seed\":\"1\",\"min_per_domain\":1,"
         "\"domains\":[{\"name\":\"a\",\"cases\":4,\"kept\":[0,4]}]}", "$.domains[0].kept[1]"},
        {"{\"format\":\"medcl.replay\",\"version\":1,\"fraction\":0.25,\"seed\":\"1\",\"min_per_domain\":1,"
         "\"domains\":[{\"name\":\"a\",\"cases\":4,\"kept\":[2,1]}]}", "$.domains[0].kept[1]"},
        {"{\"format\":\"medcl.replay\",\"version\":1,\"fraction\":0.25,\"seed\":\"1\",\"min_per_domain\":1,"
         "\"domains\":[{\"name\":\"a\",\"cases\":4,\"kept\":[1]},{\"name\":\"a\",\"cases\":4,\"kept\":[]}]}",
         "$.domains[1].name"},
        {"{\"format\":\"medcl.replay\",\"version\":1,\"fraction\":0.25,\"seed\":\"1\",\"min_per_domain\":1,"
         "\"domains\":[{\"name\":\"a\",\"kept\":[1]}]}", "$.domains[0].cases"},
        {"{\"format\":\"medcl.replay\",\"version\":1,\"fraction\":1.5,\"seed\":\"1\",\"min_per_domain\":1,"
         "\"domains\":[]}", "$.fraction"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        medcl_status s = medcl_replay_from_json(bad[i].doc, &b);
        if (s != MEDCL_ERR_FORMAT || !strstr(medcl_last_error(), bad[i].path))
            fail_msg("document %zu: status %d, message '%s', expected path %s", i, (int)s,
                     medcl_last_error(), bad[i].path);
        assert_null(b);
    }
    free(js);
    medcl_replay_destroy(a);
}

static void test_bad_input(void **state) {
    (void)state;
    medcl_replay *r = NULL;
    medcl_replay_config c = MEDCL_REPLAY_CONFIG_INIT;
    c.fraction = 1.5;
    assert_int_equal(medcl_replay_create(&c, &r), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "fraction"));
    assert_null(r);
    assert_int_equal(medcl_replay_create(NULL, &r), MEDCL_OK);
    assert_int_equal(medcl_replay_add_domain(r, "a", 5), MEDCL_OK);
    assert_int_equal(medcl_replay_add_domain(r, "a", 5), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "a"));
    assert_int_equal(medcl_replay_add_domain(r, "b", -1), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_replay_add_domain(r, NULL, 1), MEDCL_ERR_INVALID_ARG);
    assert_null(medcl_replay_domain_indices(r, 7));
    medcl_replay_destroy(r);
    medcl_replay_destroy(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_composition),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
