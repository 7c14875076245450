/* tests/testutil.h — helpers shared by the tests: random data, error metrics (RELIABILITY.md),
 * temporary folders. Device helpers are in testdev.h. */
#ifndef MEDCL_TESTUTIL_H
#define MEDCL_TESTUTIL_H
#include <stddef.h>
#include <stdint.h>

/* Fresh seed per run (time and pid) unless MEDCL_TEST_SEED is set; printed once. */
uint64_t tu_seed(void);
/* xorshift-based host RNG for test data (independent of the library's Philox). */
typedef struct tu_rng { uint64_t s; } tu_rng;
tu_rng tu_rng_make(uint64_t seed);
double tu_uniform(tu_rng *r);              /* [0, 1) */
double tu_normal(tu_rng *r);               /* N(0, 1) */
int tu_int(tu_rng *r, int lo, int hi);     /* [lo, hi] */
void tu_fill_normal(tu_rng *r, float *x, size_t n);
void tu_fill_int(tu_rng *r, float *x, size_t n, int lo, int hi);

/* sqrt(sum (a-b)^2) / (sqrt(n) * max(max|a|, max|b|)); 0 when both are all zero. */
double tu_nrms(const float *a, const double *b, size_t n);
double tu_nrms_ff(const float *a, const float *b, size_t n);
/* largest |a-b| */
double tu_max_abs_diff(const float *a, const double *b, size_t n);
/* fraction of exactly-zero values in a */
double tu_zero_fraction(const float *a, size_t n);

/* A fresh folder under MEDCL_TEST_TMP (or /tmp) for this test; returned string is static
 * per call site via the buffer given. */
const char *tu_tmpdir(char *buf, size_t cap, const char *tag);
/* A small XML well-formedness check (one root, balanced tags, quoted unique attributes, valid
 * entities) for the SVG writers' tests: NULL when well-formed, else what is wrong; *elements
 * counts the elements. */
const char *tu_xml_check(const char *s, int *elements);

/* ---- device helpers (context chosen by MEDCL_DEVICE, acquired once per test program) ---- */
#include "medcl/medcl.h"
/* cmocka group setup/teardown: create / destroy the shared context. */
int td_group_setup(void **state);
int td_group_teardown(void **state);
medcl_context *td_ctx(void);
/* f32 tensor with the given shape; data uploaded when non-NULL, else poisoned with NaN. */
medcl_tensor *td_tensor(int ndim, const int64_t *shape, const float *data, const char *name);
/* Fills a tensor with NaN so an unwritten output element fails the comparison. */
void td_poison(medcl_tensor *t);
/* Downloads an f32 tensor into a fresh malloc'd array. */
float *td_download(const medcl_tensor *t);

/* ---- comparison helpers (RELIABILITY.md tiers) ---- */
double *tu_to_double(const float *a, size_t n);                 /* malloc'd copy as double */
void tu_fill_nonzero_int(tu_rng *r, float *x, size_t n, int hi); /* ±[1, hi] integers */
/* Tier 1: every element equals the float rounding of the reference, bit for bit. */
void tu_expect_exact(const float *got, const double *want, size_t n, const char *what);
/* Tier 2: normalized RMS error <= tol, every |d| <= elem_tol, fewer than 80% zeros. */
void tu_expect_close(const float *got, const double *want, size_t n, double tol, double elem_tol,
                     const char *what);
/* Tier 2 for sums that may cancel: each |d| bounded relative to the sum of its terms'
 * magnitudes (abssum), nrms asserted where n >= 8. */
void tu_expect_close_terms(const float *got, const double *want, const double *abssum, size_t n,
                           double tol, const char *what);

#endif
