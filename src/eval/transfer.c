/* src/eval/transfer.c — average metric per stage, backward and forward transfer and forgetting
 * from a continual-learning result matrix (definitions in medcl/transfer.h). Sums run in index
 * order in double. Leaves out: filling the matrix, confidence intervals (bootstrap.c), report
 * tables and figures. */
#include "medcl/transfer.h"
#include "core/internal.h"

#include <math.h>

medcl_status medcl_transfer_compute(const double *R, int T, const double *baseline,
                                    medcl_transfer_metrics *out, double *avg_all, double *avg_seen) {
    if (!R || !out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "transfer_compute: R or out is NULL");
    if (out->size != sizeof *out)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "transfer_compute: out size %zu, expected %zu "
                          "(initialize with MEDCL_TRANSFER_METRICS_INIT)", out->size, sizeof *out);
    if (T < 1 || T > 4096)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "transfer_compute: T = %d, must be in [1, 4096]", T);
    for (int i = 0; i < T; i++) {
        double sa = 0.0, ss = 0.0;
        for (int j = 0; j < T; j++) {
            sa += R[i * T + j];
            if (j <= i) ss += R[i * T + j];
        }
        if (avg_all) avg_all[i] = sa / T;
        if (avg_seen) avg_seen[i] = ss / (i + 1);
    }
    double acc = 0.0;
    for (int j = 0; j < T; j++) acc += R[(T - 1) * T + j];
    out->acc = acc / T;
    if (T == 1) {
        out->bwt = out->fwt = out->forgetting = NAN;
        return MEDCL_OK;
    }
    double bwt = 0.0, fwt = 0.0, fg = 0.0;
    for (int i = 0; i < T - 1; i++) {
        bwt += R[(T - 1) * T + i] - R[i * T + i];
        double best = R[i];
        for (int l = 1; l < T - 1; l++) {
            double v = R[l * T + i];
            best = (v > best || isnan(v)) ? v : best;
        }
        fg += best - R[(T - 1) * T + i];
    }
    for (int i = 1; i < T; i++) fwt += baseline ? R[(i - 1) * T + i] - baseline[i] : NAN;
    out->bwt = bwt / (T - 1);
    out->fwt = baseline ? fwt / (T - 1) : NAN;
    out->forgetting = fg / (T - 1);
    return MEDCL_OK;
}
