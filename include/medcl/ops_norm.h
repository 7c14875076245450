/* medcl/ops_norm.h — normalization layers on f32 NCDHW tensors (4-D (N, C, H, W) taken as
 * D = 1): batch norm (training and evaluation), instance norm, group norm, layer norm over
 * (C, D, H, W), each with forward and backward. Statistics are computed by fixed-order
 * reductions (no atomics): bitwise reproducible on a device. Each chunk of a row is reduced
 * in two passes (mean, then centred squares) and chunks are merged by Chan's formula, so the
 * variance stays accurate for large rows. Not here: RMS norm, local response norm, fused
 * activation epilogues. */
#ifndef MEDCL_OPS_NORM_H
#define MEDCL_OPS_NORM_H

#include "medcl/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum medcl_norm_kind {
    MEDCL_NORM_BATCH = 0,    /* statistics per channel over (N, D, H, W) */
    MEDCL_NORM_INSTANCE = 1, /* per (n, c) over (D, H, W) — the nnU-Net default */
    MEDCL_NORM_GROUP = 2,    /* per (n, group) over (C / groups, D, H, W) */
    MEDCL_NORM_LAYER = 3,    /* per n over (C, D, H, W), elementwise affine */
    MEDCL_NORM_KIND_COUNT
} medcl_norm_kind;

typedef struct medcl_norm_params {
    size_t size;        /* sizeof(medcl_norm_params) */
    medcl_norm_kind kind;
    int groups;         /* GROUP: number of groups, divides C */
    float eps;          /* added to the variance: 1e-5 (PyTorch and nnU-Net default) */
    float momentum;     /* BATCH training: running = (1 - m) * running + m * batch; 0.1 */
    int training;       /* BATCH: 1 batch statistics (and running update), 0 running statistics.
                           Other kinds always use the sample's own statistics. */
    int affine;         /* 1: y = xhat * gamma + beta; 0: y = xhat (gamma, beta unused) */
} medcl_norm_params;
#define MEDCL_NORM_PARAMS_INIT {sizeof(medcl_norm_params), MEDCL_NORM_INSTANCE, 1, 1e-5f, 0.1f, 1, 1}

/* Number of statistics rows R for x: BATCH C, INSTANCE N * C, GROUP N * groups, LAYER N. */
MEDCL_API medcl_status medcl_norm_stat_count(const medcl_norm_params *p, const medcl_tensor *x,
                                             int64_t *rows);

/* y = (x - mean) * rstd * gamma + beta, rstd = 1 / sqrt(var + eps), var biased.
 * mean and rstd (R elements each) receive the statistics used, for the backward; they may be
 * NULL when no backward follows. BATCH training also updates running_mean and running_var
 * (unbiased variance) with the momentum; BATCH evaluation reads them (and writes mean and
 * rstd from them when given). running_* are unused (may be NULL) for the other kinds. */
MEDCL_API medcl_status medcl_norm_forward(const medcl_norm_params *p,
                                          const medcl_tensor *x,      /* (N, C, D, H, W) */
                                          const medcl_tensor *gamma,  /* (C); LAYER (C, D, H, W); NULL if !affine */
                                          const medcl_tensor *beta,   /* same as gamma */
                                          medcl_tensor *y,            /* (N, C, D, H, W) */
                                          medcl_tensor *mean,         /* (R) or NULL */
                                          medcl_tensor *rstd,         /* (R) or NULL */
                                          medcl_tensor *running_mean, /* BATCH: (C) */
                                          medcl_tensor *running_var); /* BATCH: (C) */

/* dx (assigned) and dgamma, dbeta (accumulated +=) from dy, with the mean and rstd the
 * forward wrote. BATCH evaluation treats the statistics as constants (dx = dy * gamma * rstd).
 * dx, dgamma, dbeta may each be NULL to skip it (not all three). */
MEDCL_API medcl_status medcl_norm_backward(const medcl_norm_params *p,
                                           const medcl_tensor *x,     /* (N, C, D, H, W) */
                                           const medcl_tensor *gamma, /* (C) / (C, D, H, W) or NULL */
                                           const medcl_tensor *mean,  /* (R) from the forward */
                                           const medcl_tensor *rstd,  /* (R) from the forward */
                                           const medcl_tensor *dy,    /* (N, C, D, H, W) */
                                           medcl_tensor *dx,          /* (N, C, D, H, W) or NULL */
                                           medcl_tensor *dgamma,      /* like gamma, or NULL */
                                           medcl_tensor *dbeta);      /* like gamma, or NULL */

#ifdef __cplusplus
}
#endif
#endif
