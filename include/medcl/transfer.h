/* medcl/transfer.h — transfer metrics of a continual-learning run (eval layer), from the
 * matrix R[i][j] = performance on domain j after training stage i (i, j = 0..T-1, stage i
 * trains on domain i), following Lopez-Paz & Ranzato 2017 (GEM), as Lifelong-nnU-Net reports:
 *
 *   avg_all[i]  = 1/T       sum_{j<T}  R[i][j]           (all domains after stage i)
 *   avg_seen[i] = 1/(i+1)   sum_{j<=i} R[i][j]           (domains trained so far; ACC at i=T-1)
 *   BWT         = 1/(T-1)   sum_{i<T-1} (R[T-1][i] - R[i][i])   (negative = forgetting)
 *   FWT         = 1/(T-1)   sum_{i>=1}  (R[i-1][i] - b[i])      (b[j]: a randomly initialized
 *                                                                model's result on domain j)
 *   forgetting  = 1/(T-1)   sum_{i<T-1} (max_{l<T-1} R[l][i] - R[T-1][i])  (Chaudhry et al. 2018)
 *
 * For metrics where lower is better (HD95, loss) the signs read the other way round; the
 * formulas are not changed. A NaN entry of R (e.g. Dice of an empty case) propagates to every
 * value that uses it. Leaves out: the protocol that fills R (training and evaluating every
 * stage) and the tables and heat-map figure of the report. */
#ifndef MEDCL_TRANSFER_H
#define MEDCL_TRANSFER_H

#include "medcl/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct medcl_transfer_metrics {
    size_t size;          /* sizeof(medcl_transfer_metrics) */
    double acc;           /* avg_seen[T-1] = avg_all[T-1] */
    double bwt;           /* NaN when T = 1 */
    double fwt;           /* NaN when T = 1 or without a baseline */
    double forgetting;    /* NaN when T = 1 */
} medcl_transfer_metrics;
#define MEDCL_TRANSFER_METRICS_INIT {sizeof(medcl_transfer_metrics), 0.0, 0.0, 0.0, 0.0}

/* R: T*T row-major (R[i*T + j]); baseline: T values or NULL; avg_all, avg_seen: T values each
 * or NULL. T in [1, 4096]. */
MEDCL_API medcl_status medcl_transfer_compute(const double *R, int T, const double *baseline,
                                              medcl_transfer_metrics *out, double *avg_all,
                                              double *avg_seen);

#ifdef __cplusplus
}
#endif
#endif
