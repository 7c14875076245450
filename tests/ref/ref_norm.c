/* tests/ref/ref_norm.c — float64 normalization references: two-pass statistics per row,
 * y = (x - mean) / sqrt(var + eps) * gamma + beta, and the textbook backward
 * dx = rstd * (g*dy - mean(g*dy) - xhat * mean(g*dy * xhat)). */
#include "ref_norm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t ref_norm_rows(const ref_norm_cfg *c) {
    switch (c->kind) {
    case REF_NORM_BATCH: return c->C;
    case REF_NORM_INSTANCE: return c->N * c->C;
    case REF_NORM_GROUP: return c->N * c->groups;
    default: return c->N;
    }
}

int64_t ref_norm_aff_numel(const ref_norm_cfg *c) { return c->kind == REF_NORM_LAYER ? c->C * c->S : c->C; }

static int64_t row_of(const ref_norm_cfg *c, int64_t n, int64_t ch) {
    switch (c->kind) {
    case REF_NORM_BATCH: return ch;
    case REF_NORM_INSTANCE: return n * c->C + ch;
    case REF_NORM_GROUP: return n * c->groups + ch / (c->C / c->groups);
    default: return n;
    }
}

static int64_t aff_of(const ref_norm_cfg *c, int64_t ch, int64_t s) {
    return c->kind == REF_NORM_LAYER ? ch * c->S + s : ch;
}

#define FOR_ALL                                                                            \
    for (int64_t n = 0; n < c->N; n++)                                                     \
        for (int64_t ch = 0; ch < c->C; ch++)                                              \
            for (int64_t s = 0; s < c->S; s++)

static void stats(const ref_norm_cfg *c, const double *x, double *mean, double *rstd, double *cnt, double *varu) {
    int64_t R = ref_norm_rows(c);
    double *m2 = calloc((size_t)R, sizeof(double));
    for (int64_t r = 0; r < R; r++) mean[r] = 0, cnt[r] = 0;
    FOR_ALL {
        int64_t r = row_of(c, n, ch);
        mean[r] += x[(n * c->C + ch) * c->S + s];
        cnt[r] += 1;
    }
    for (int64_t r = 0; r < R; r++) mean[r] /= cnt[r];
    FOR_ALL {
        int64_t r = row_of(c, n, ch);
        double d = x[(n * c->C + ch) * c->S + s] - mean[r];
        m2[r] += d * d;
    }
    for (int64_t r = 0; r < R; r++) {
        rstd[r] = 1.0 / sqrt(m2[r] / cnt[r] + c->eps);
        if (varu) varu[r] = m2[r] / (cnt[r] - 1);
    }
    free(m2);
}

void ref_norm_forward_stats(const ref_norm_cfg *c, const double *x, const double *gamma, const double *beta,
                            const double *mean, const double *rstd, double *y) {
    FOR_ALL {
        int64_t i = (n * c->C + ch) * c->S + s, r = row_of(c, n, ch), a = aff_of(c, ch, s);
        double v = (x[i] - mean[r]) * rstd[r];
        y[i] = c->affine ? v * gamma[a] + beta[a] : v;
    }
}

void ref_norm_forward(const ref_norm_cfg *c, const double *x, const double *gamma, const double *beta,
                      double *y, double *mean, double *rstd, double *var_unbiased) {
    int64_t R = ref_norm_rows(c);
    double *m = malloc(sizeof(double) * (size_t)R), *rs = malloc(sizeof(double) * (size_t)R),
           *cnt = malloc(sizeof(double) * (size_t)R);
    stats(c, x, m, rs, cnt, var_unbiased);
    ref_norm_forward_stats(c, x, gamma, beta, m, rs, y);
    if (mean) memcpy(mean, m, sizeof(double) * (size_t)R);
    if (rstd) memcpy(rstd, rs, sizeof(double) * (size_t)R);
    free(m);
    free(rs);
    free(cnt);
}

static void backward(const ref_norm_cfg *c, const double *x, const double *gamma, const double *mean,
                     const double *rstd, const double *cnt, const double *dy, double *dx, double *dgamma,
                     double *dbeta) {
    int64_t R = ref_norm_rows(c);
    double *A = calloc((size_t)R, sizeof(double)), *B = calloc((size_t)R, sizeof(double));
    FOR_ALL {
        int64_t i = (n * c->C + ch) * c->S + s, r = row_of(c, n, ch), a = aff_of(c, ch, s);
        double xh = (x[i] - mean[r]) * rstd[r];
        double g = c->affine ? gamma[a] * dy[i] : dy[i];
        A[r] += g;
        B[r] += g * xh;
        if (dgamma) dgamma[a] += dy[i] * xh;
        if (dbeta) dbeta[a] += dy[i];
    }
    if (dx) FOR_ALL {
        int64_t i = (n * c->C + ch) * c->S + s, r = row_of(c, n, ch), a = aff_of(c, ch, s);
        double xh = (x[i] - mean[r]) * rstd[r];
        double g = c->affine ? gamma[a] * dy[i] : dy[i];
        dx[i] = cnt ? rstd[r] * (g - A[r] / cnt[r] - xh * B[r] / cnt[r]) : rstd[r] * g;
    }
    free(A);
    free(B);
}

void ref_norm_backward(const ref_norm_cfg *c, const double *x, const double *gamma, const double *dy,
                       double *dx, double *dgamma, double *dbeta) {
    int64_t R = ref_norm_rows(c);
    double *m = malloc(sizeof(double) * (size_t)R), *rs = malloc(sizeof(double) * (size_t)R),
           *cnt = malloc(sizeof(double) * (size_t)R);
    stats(c, x, m, rs, cnt, NULL);
    backward(c, x, gamma, m, rs, cnt, dy, dx, dgamma, dbeta);
    free(m);
    free(rs);
    free(cnt);
}

void ref_norm_backward_stats(const ref_norm_cfg *c, const double *x, const double *gamma, const double *mean,
                             const double *rstd, const double *dy, double *dx, double *dgamma, double *dbeta) {
    backward(c, x, gamma, mean, rstd, NULL, dy, dx, dgamma, dbeta);
}
