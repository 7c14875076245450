/* src/data/split.c — train/validation splits: seeded shuffled k-fold (nnU-Net: k = 5, seed
 * 12345), by-domain and leave-one-domain-out.
 *
 * The k-fold shuffle is Fisher–Yates driven by Philox (stream "KFLD", draw i for position
 * n-1-i, index = floor(u32 * (i + 1) / 2^32), a bias below 2^-32 * n): deterministic on every
 * machine, but not the bits of numpy's RandomState, so folds differ from sklearn's KFold for
 * the same seed. Fold sizes follow KFold: the first n % k folds hold n / k + 1 cases.
 * Leaves out stratified and grouped k-fold. */
#include "data_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_KFOLD 0x4B464C44u

void medcl_split_free(medcl_split *s) {
    if (!s) return;
    free(s->train);
    free(s->val);
    s->train = s->val = NULL;
    s->n_train = s->n_val = 0;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static medcl_status split_alloc(int n, medcl_split *out) {
    out->train = malloc(((size_t)n + 1) * sizeof(int));
    out->val = malloc(((size_t)n + 1) * sizeof(int));
    out->n_train = out->n_val = 0;
    if (!out->train || !out->val) {
        medcl_split_free(out);
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "split: out of memory");
    }
    return MEDCL_OK;
}

medcl_status medcl_split_kfold(int n, int k, int fold, uint64_t seed, medcl_split *out) {
    medcl_status st = MEDCL_OK;
    int *perm = NULL;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "split_kfold: out is NULL");
    memset(out, 0, sizeof *out);
    if (k < 2 || n < k)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "split_kfold: k = %d folds need 2 <= k <= n "
                          "cases (n = %d)", k, n);
    if (fold < 0 || fold >= k)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "split_kfold: fold = %d outside 0..%d", fold,
                          k - 1);
    perm = malloc((size_t)n * sizeof *perm);
    if (!perm) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "split_kfold: out of memory");
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        uint32_t u = medcl_philox_at(seed, STREAM_KFOLD, 0, 0, (uint64_t)(n - 1 - i));
        int j = (int)(((uint64_t)u * (uint64_t)(i + 1)) >> 32);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    MEDCL_TRY(split_alloc(n, out));
    int base = n / k, extra = n % k, start = 0;
    for (int f = 0; f < fold; f++) start += base + (f < extra);
    int len = base + (fold < extra);
    for (int i = 0; i < n; i++) {
        if (i >= start && i < start + len)
            out->val[out->n_val++] = perm[i];
        else
            out->train[out->n_train++] = perm[i];
    }
    qsort(out->train, (size_t)out->n_train, sizeof(int), cmp_int);
    qsort(out->val, (size_t)out->n_val, sizeof(int), cmp_int);
cleanup:
    free(perm);
    return st;
}

medcl_status medcl_split_by_domain(const medcl_dataset *d, const char *const *names, int count,
                                   medcl_split *out) {
    medcl_status st = MEDCL_OK;
    bool *in = NULL;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "split_by_domain: out is NULL");
    memset(out, 0, sizeof *out);
    if (!d || (!names && count > 0) || count < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "split_by_domain: need a dataset and at least "
                          "one domain name");
    in = calloc((size_t)d->n_domains + 1, sizeof *in);
    if (!in) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "split_by_domain: out of memory");
    for (int i = 0; i < count; i++) {
        int k = medcl_dataset_domain_find(d, names[i]);
        if (k < 0) {
            char list[512];
            size_t len = 0;
            list[0] = 0;
            for (int j = 0; j < d->n_domains && len < sizeof list; j++) {
                int w = snprintf(list + len, sizeof list - len, "%s\"%s\"", j ? ", " : "",
                                 d->domain_names[j]);
                if (w > 0) len += (size_t)w;
            }
            MEDCL_FAIL(MEDCL_ERR_NOT_FOUND, "split_by_domain: %s: no domain \"%s\" (domains: %s)",
                       d->name, names[i] ? names[i] : "(null)", list);
        }
        in[k] = true;
    }
    MEDCL_TRY(split_alloc(d->n_cases, out));
    for (int i = 0; i < d->n_cases; i++) {
        if (in[d->cases[i].domain])
            out->train[out->n_train++] = i;
        else
            out->val[out->n_val++] = i;
    }
cleanup:
    free(in);
    return st;
}

medcl_status medcl_split_leave_one_domain_out(const medcl_dataset *d, int domain,
                                              medcl_split *out) {
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "split_leave_one_domain_out: out is NULL");
    memset(out, 0, sizeof *out);
    if (!d || domain < 0 || domain >= d->n_domains)
        return medcl_fail(MEDCL_ERR_INVALID_ARG,
                          "split_leave_one_domain_out: domain %d outside 0..%d", domain,
                          d ? d->n_domains - 1 : -1);
    if (d->n_domains < 2)
        return medcl_fail(MEDCL_ERR_INVALID_ARG,
                          "split_leave_one_domain_out: %s has a single domain", d->name);
    medcl_status st = split_alloc(d->n_cases, out);
    if (st != MEDCL_OK) return st;
    for (int i = 0; i < d->n_cases; i++) {
        if (d->cases[i].domain == domain)
            out->val[out->n_val++] = i;
        else
            out->train[out->n_train++] = i;
    }
    return MEDCL_OK;
}
