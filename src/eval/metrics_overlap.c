/* src/eval/metrics_overlap.c — overlap metrics on integer label maps: per-class TP/FP/FN/TN,
 * Dice and IoU with the two both-empty conventions, and the aggregation helpers (nanmean
 * over cases, nnU-Net's foreground mean). Definitions: REFERENCE.md "Overlap metrics"
 * (Dice = 2TP/(2TP+FP+FN), IoU = TP/(TP+FP+FN); both empty → NaN as nnU-Net/DeepMind, or 1
 * as Metrics Reloaded). Leaves out surface metrics (metrics_surface.c) and soft Dice
 * (a loss, in the ops layer). */
#include "eval/metrics_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

MEDCL_API medcl_status medcl_metric_counts(const int32_t *ref, const int32_t *pred,
                                           const int64_t shape[3], int32_t num_classes,
                                           medcl_overlap_counts *counts)
{
    static const char fn[] = "medcl_metric_counts";
    int64_t n = 0;
    medcl_status st = medcl_metrics_check_shape(fn, shape, &n);
    if (st != MEDCL_OK) return st;
    if (!ref) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: ref is NULL", fn);
    if (!pred) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: pred is NULL", fn);
    if (!counts) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: counts is NULL", fn);
    if (num_classes < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: num_classes=%d must be >= 1", fn,
                          (int)num_classes);
    /* One pass over a (ref, pred) joint histogram would need K² counters; per-class
     * TP, |ref = c| and |pred = c| give everything with 3K. */
    int64_t *buf = calloc((size_t)num_classes * 3, sizeof(*buf));
    if (!buf)
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: counters for %d classes", fn,
                          (int)num_classes);
    int64_t *tp = buf, *nref = buf + num_classes, *npred = buf + 2 * num_classes;
    for (int64_t i = 0; i < n; i++) {
        int32_t r = ref[i], p = pred[i];
        if (r < 0 || r >= num_classes || p < 0 || p >= num_classes) {
            free(buf);
            int bad_ref = r < 0 || r >= num_classes;
            return medcl_fail(MEDCL_ERR_INVALID_ARG,
                              "%s: %s[%lld]=%d outside the labels [0, num_classes=%d)", fn,
                              bad_ref ? "ref" : "pred", (long long)i, (int)(bad_ref ? r : p),
                              (int)num_classes);
        }
        nref[r]++;
        npred[p]++;
        if (r == p) tp[r]++;
    }
    for (int32_t c = 0; c < num_classes; c++) {
        counts[c].tp = tp[c];
        counts[c].fp = npred[c] - tp[c];
        counts[c].fn = nref[c] - tp[c];
        counts[c].tn = n - nref[c] - npred[c] + tp[c];
    }
    free(buf);
    return MEDCL_OK;
}

static medcl_status overlap_from_counts(const char *fn, const medcl_overlap_counts *c,
                                        medcl_empty_mode mode, int dice, double *out)
{
    if (!c) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: counts is NULL", fn);
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: out is NULL", fn);
    if ((int)mode < 0 || mode >= MEDCL_EMPTY_MODE_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: mode=%d is not a medcl_empty_mode", fn,
                          (int)mode);
    if (c->tp < 0 || c->fp < 0 || c->fn < 0)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: negative count (tp=%lld fp=%lld fn=%lld)",
                          fn, (long long)c->tp, (long long)c->fp, (long long)c->fn);
    int64_t den = (dice ? 2 * c->tp : c->tp) + c->fp + c->fn;
    if (den == 0)
        *out = mode == MEDCL_EMPTY_ONE ? 1.0 : NAN;
    else
        *out = (double)(dice ? 2 * c->tp : c->tp) / (double)den;
    return MEDCL_OK;
}

MEDCL_API medcl_status medcl_metric_dice_from_counts(const medcl_overlap_counts *c,
                                                     medcl_empty_mode mode, double *out)
{
    return overlap_from_counts("medcl_metric_dice_from_counts", c, mode, 1, out);
}

MEDCL_API medcl_status medcl_metric_iou_from_counts(const medcl_overlap_counts *c,
                                                    medcl_empty_mode mode, double *out)
{
    return overlap_from_counts("medcl_metric_iou_from_counts", c, mode, 0, out);
}

static medcl_status overlap_labels(const char *fn, const int32_t *ref, const int32_t *pred,
                                   const int64_t shape[3], int32_t num_classes,
                                   medcl_empty_mode mode, int dice, double *out)
{
    medcl_status st = MEDCL_OK;
    medcl_overlap_counts *c = NULL;
    if (!out) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: out is NULL", fn);
    if ((int)mode < 0 || mode >= MEDCL_EMPTY_MODE_COUNT)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: mode=%d is not a medcl_empty_mode", fn, (int)mode);
    if (num_classes < 1)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: num_classes=%d must be >= 1", fn, (int)num_classes);
    c = malloc((size_t)num_classes * sizeof(*c));
    if (!c) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: counts for %d classes", fn, (int)num_classes);
    st = medcl_metric_counts(ref, pred, shape, num_classes, c);
    if (st != MEDCL_OK) {
        medcl_error_prefix("%s", fn);
        goto cleanup;
    }
    for (int32_t k = 0; k < num_classes; k++)
        MEDCL_TRY(overlap_from_counts(fn, &c[k], mode, dice, &out[k]));
cleanup:
    free(c);
    return st;
}

MEDCL_API medcl_status medcl_metric_dice(const int32_t *ref, const int32_t *pred,
                                         const int64_t shape[3], int32_t num_classes,
                                         medcl_empty_mode mode, double *out)
{
    return overlap_labels("medcl_metric_dice", ref, pred, shape, num_classes, mode, 1, out);
}

MEDCL_API medcl_status medcl_metric_iou(const int32_t *ref, const int32_t *pred,
                                        const int64_t shape[3], int32_t num_classes,
                                        medcl_empty_mode mode, double *out)
{
    return overlap_labels("medcl_metric_iou", ref, pred, shape, num_classes, mode, 0, out);
}

MEDCL_API medcl_status medcl_metrics_nanmean(const double *values, int64_t num_cases,
                                             int32_t num_classes, double *mean, int64_t *count)
{
    static const char fn[] = "medcl_metrics_nanmean";
    if (num_cases < 0)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: num_cases=%lld must be >= 0", fn,
                          (long long)num_cases);
    if (num_classes < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: num_classes=%d must be >= 1", fn,
                          (int)num_classes);
    if (!values && num_cases > 0) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: values is NULL", fn);
    if (!mean) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: mean is NULL", fn);
    for (int32_t c = 0; c < num_classes; c++) {
        double s = 0.0;
        int64_t m = 0;
        for (int64_t i = 0; i < num_cases; i++) {
            double v = values[i * num_classes + c];
            if (isnan(v)) continue;
            s += v;
            m++;
        }
        mean[c] = m ? s / (double)m : NAN;
        if (count) count[c] = m;
    }
    return MEDCL_OK;
}

MEDCL_API medcl_status medcl_metrics_foreground_mean(const double *per_class,
                                                     int32_t num_classes, double *out)
{
    static const char fn[] = "medcl_metrics_foreground_mean";
    if (!per_class) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: per_class is NULL", fn);
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: out is NULL", fn);
    if (num_classes < 2)
        return medcl_fail(MEDCL_ERR_INVALID_ARG,
                          "%s: num_classes=%d must be >= 2 (class 0 is background)", fn,
                          (int)num_classes);
    double s = 0.0;
    for (int32_t c = 1; c < num_classes; c++) s += per_class[c];
    *out = s / (double)(num_classes - 1);
    return MEDCL_OK;
}
