/* tests/ref/ref_norm.h — float64 references for batch, instance, group and layer norm,
 * forward (training statistics or given running statistics), the running-statistics update,
 * and the analytic backward. Naive loops over (n, c, s), s the flat D*H*W position. */
#ifndef MEDCL_REF_NORM_H
#define MEDCL_REF_NORM_H
#include <stdint.h>

enum { REF_NORM_BATCH = 0, REF_NORM_INSTANCE = 1, REF_NORM_GROUP = 2, REF_NORM_LAYER = 3 };

typedef struct ref_norm_cfg {
    int kind;        /* REF_NORM_* (same values as medcl_norm_kind) */
    int64_t N, C, S; /* S = D * H * W */
    int groups;
    double eps;
    int affine;
} ref_norm_cfg;

int64_t ref_norm_rows(const ref_norm_cfg *c);
int64_t ref_norm_aff_numel(const ref_norm_cfg *c);
/* Batch statistics; mean, rstd (rows) may be NULL. var_unbiased (rows) may be NULL. */
void ref_norm_forward(const ref_norm_cfg *c, const double *x, const double *gamma, const double *beta,
                      double *y, double *mean, double *rstd, double *var_unbiased);
/* Given statistics (mean and rstd per row; batch evaluation). */
void ref_norm_forward_stats(const ref_norm_cfg *c, const double *x, const double *gamma, const double *beta,
                            const double *mean, const double *rstd, double *y);
/* Training backward (statistics depend on x): dx assigned, dgamma/dbeta += (each may be NULL). */
void ref_norm_backward(const ref_norm_cfg *c, const double *x, const double *gamma, const double *dy,
                       double *dx, double *dgamma, double *dbeta);
/* Backward with constant statistics (batch evaluation). */
void ref_norm_backward_stats(const ref_norm_cfg *c, const double *x, const double *gamma, const double *mean,
                             const double *rstd, const double *dy, double *dx, double *dgamma, double *dbeta);
#endif
