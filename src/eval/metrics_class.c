/* src/eval/metrics_class.c — classification and calibration metrics on the host:
 * confusion matrix; one-vs-rest sensitivity, specificity, precision, F1; accuracy and
 * balanced accuracy; ROC AUC by the Mann–Whitney rank formula with average ranks for ties
 * (binary and macro one-vs-rest); ECE over equal-width bins of the max probability, Brier
 * score and NLL. Definitions: REFERENCE.md "Classification and calibration"; the bin rule
 * (l, u] with edges k/num_bins follows Metrics Reloaded's expectation_calibration_error,
 * balanced accuracy and the NaN-for-0/0 rule follow scikit-learn (zero_division=nan).
 * Leaves out ROC/PR curves, thresholds other than argmax, and the device reductions. */
#include "eval/metrics_internal.h"

#include <math.h>
#include <stdlib.h>

MEDCL_API medcl_status medcl_confusion_matrix(const int32_t *y_true, const int32_t *y_pred,
                                              int64_t n, int32_t num_classes, int64_t *cm)
{
    static const char fn[] = "medcl_confusion_matrix";
    if (n < 0) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: n=%lld must be >= 0", fn, (long long)n);
    if (num_classes < 1 || num_classes > 65536)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: num_classes=%d must be in [1, 65536]", fn,
                          (int)num_classes);
    if (n > 0 && !y_true) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: y_true is NULL", fn);
    if (n > 0 && !y_pred) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: y_pred is NULL", fn);
    if (!cm) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: cm is NULL", fn);
    for (int64_t i = 0; i < n; i++) {
        if (y_true[i] < 0 || y_true[i] >= num_classes)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: y_true[%lld]=%d outside [0, num_classes=%d)",
                              fn, (long long)i, (int)y_true[i], (int)num_classes);
        if (y_pred[i] < 0 || y_pred[i] >= num_classes)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: y_pred[%lld]=%d outside [0, num_classes=%d)",
                              fn, (long long)i, (int)y_pred[i], (int)num_classes);
    }
    for (int64_t k = 0; k < (int64_t)num_classes * num_classes; k++) cm[k] = 0;
    for (int64_t i = 0; i < n; i++) cm[(int64_t)y_true[i] * num_classes + y_pred[i]]++;
    return MEDCL_OK;
}

static double ratio(int64_t a, int64_t b) { return b ? (double)a / (double)b : NAN; }

MEDCL_API medcl_status medcl_metrics_classification(const int64_t *cm, int32_t num_classes,
                                                    medcl_class_stats *per_class,
                                                    medcl_class_summary *summary)
{
    static const char fn[] = "medcl_metrics_classification";
    if (!cm) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: cm is NULL", fn);
    if (num_classes < 1 || num_classes > 65536)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: num_classes=%d must be in [1, 65536]", fn,
                          (int)num_classes);
    const int64_t K = num_classes;
    int64_t total = 0, trace = 0;
    for (int64_t t = 0; t < K; t++)
        for (int64_t p = 0; p < K; p++) {
            int64_t v = cm[t * K + p];
            if (v < 0)
                return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: cm[%lld][%lld]=%lld is negative", fn,
                                  (long long)t, (long long)p, (long long)v);
            total += v;
            if (t == p) trace += v;
        }
    double s_sens = 0, s_spec = 0, s_prec = 0, s_f1 = 0, s_bal = 0;
    int64_t n_sens = 0, n_spec = 0, n_prec = 0, n_f1 = 0;
    for (int64_t c = 0; c < K; c++) {
        int64_t row = 0, col = 0;
        for (int64_t j = 0; j < K; j++) {
            row += cm[c * K + j];
            col += cm[j * K + c];
        }
        medcl_class_stats s;
        s.tp = cm[c * K + c];
        s.fn = row - s.tp;
        s.fp = col - s.tp;
        s.tn = total - row - col + s.tp;
        s.sensitivity = ratio(s.tp, s.tp + s.fn);
        s.specificity = ratio(s.tn, s.tn + s.fp);
        s.precision = ratio(s.tp, s.tp + s.fp);
        s.f1 = ratio(2 * s.tp, 2 * s.tp + s.fp + s.fn);
        if (per_class) per_class[c] = s;
        if (!isnan(s.sensitivity)) s_sens += s.sensitivity, s_bal += s.sensitivity, n_sens++;
        if (!isnan(s.specificity)) s_spec += s.specificity, n_spec++;
        if (!isnan(s.precision)) s_prec += s.precision, n_prec++;
        if (!isnan(s.f1)) s_f1 += s.f1, n_f1++;
    }
    if (summary) {
        summary->accuracy = ratio(trace, total);
        summary->balanced_accuracy = n_sens ? s_bal / (double)n_sens : NAN;
        summary->macro_sensitivity = n_sens ? s_sens / (double)n_sens : NAN;
        summary->macro_specificity = n_spec ? s_spec / (double)n_spec : NAN;
        summary->macro_precision = n_prec ? s_prec / (double)n_prec : NAN;
        summary->macro_f1 = n_f1 ? s_f1 / (double)n_f1 : NAN;
    }
    return MEDCL_OK;
}

/* ---- ROC AUC ---- */

typedef struct score_idx {
    double s;
    int64_t i;
} score_idx;

static int cmp_score(const void *pa, const void *pb)
{
    const score_idx *a = pa, *b = pb;
    if (a->s != b->s) return (a->s > b->s) - (a->s < b->s);
    return (a->i > b->i) - (a->i < b->i);
}

/* Mann–Whitney: ranks 1..n by score, ties get the mean of their ranks. work: [n]. */
static double auc_ranks(const float *score, int64_t stride, const uint8_t *pos_u8,
                        const int32_t *labels, int32_t cls, int64_t n, score_idx *work)
{
    for (int64_t i = 0; i < n; i++) work[i] = (score_idx){score[i * stride], i};
    qsort(work, (size_t)n, sizeof(*work), cmp_score);
    double r_pos = 0.0;
    int64_t n_pos = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j < n && work[j].s == work[i].s) j++;
        double avg = 0.5 * (double)(i + 1 + j); /* mean of ranks i+1 .. j */
        for (int64_t k = i; k < j; k++) {
            int64_t idx = work[k].i;
            int pos = pos_u8 ? pos_u8[idx] != 0 : labels[idx] == cls;
            if (pos) r_pos += avg, n_pos++;
        }
        i = j;
    }
    int64_t n_neg = n - n_pos;
    if (n_pos == 0 || n_neg == 0) return NAN;
    return (r_pos - 0.5 * (double)n_pos * (double)(n_pos + 1)) / ((double)n_pos * (double)n_neg);
}

static medcl_status check_scores(const char *fn, const char *name, const float *x, int64_t count,
                                 int prob)
{
    for (int64_t i = 0; i < count; i++) {
        if (!isfinite(x[i]))
            return medcl_fail(MEDCL_ERR_NUMERIC, "%s: %s[%lld]=%g is not finite", fn, name,
                              (long long)i, (double)x[i]);
        if (prob && (x[i] < 0.0f || x[i] > 1.0f))
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %s[%lld]=%g is not a probability in [0, 1]",
                              fn, name, (long long)i, (double)x[i]);
    }
    return MEDCL_OK;
}

static medcl_status check_labels(const char *fn, const int32_t *labels, int64_t n, int32_t k)
{
    for (int64_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= k)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: labels[%lld]=%d outside [0, num_classes=%d)",
                              fn, (long long)i, (int)labels[i], (int)k);
    return MEDCL_OK;
}

MEDCL_API medcl_status medcl_metric_roc_auc(const float *score, const uint8_t *positive,
                                            int64_t n, double *auc)
{
    static const char fn[] = "medcl_metric_roc_auc";
    if (n < 0) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: n=%lld must be >= 0", fn, (long long)n);
    if (n > 0 && !score) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: score is NULL", fn);
    if (n > 0 && !positive) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: positive is NULL", fn);
    if (!auc) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: auc is NULL", fn);
    medcl_status st = check_scores(fn, "score", score, n, 0);
    if (st != MEDCL_OK) return st;
    score_idx *w = malloc((size_t)(n ? n : 1) * sizeof(*w));
    if (!w) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: ranks of %lld samples", fn, (long long)n);
    *auc = auc_ranks(score, 1, positive, NULL, 0, n, w);
    free(w);
    return MEDCL_OK;
}

MEDCL_API medcl_status medcl_metric_roc_auc_ovr(const float *probs, const int32_t *labels,
                                                int64_t n, int32_t num_classes,
                                                double *per_class, double *macro)
{
    static const char fn[] = "medcl_metric_roc_auc_ovr";
    if (n < 0) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: n=%lld must be >= 0", fn, (long long)n);
    if (num_classes < 2)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: num_classes=%d must be >= 2", fn, (int)num_classes);
    if (n > 0 && !probs) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: probs is NULL", fn);
    if (n > 0 && !labels) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: labels is NULL", fn);
    if (!macro) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: macro is NULL", fn);
    int64_t count = 0;
    if (!medcl_mul_i64(n, num_classes, &count))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: n=%lld x num_classes=%d overflows", fn,
                          (long long)n, (int)num_classes);
    medcl_status st = check_scores(fn, "probs", probs, count, 0);
    if (st == MEDCL_OK) st = check_labels(fn, labels, n, num_classes);
    if (st != MEDCL_OK) return st;
    score_idx *w = malloc((size_t)(n ? n : 1) * sizeof(*w));
    if (!w) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: ranks of %lld samples", fn, (long long)n);
    double s = 0.0;
    int m = 0;
    for (int32_t c = 0; c < num_classes; c++) {
        double a = auc_ranks(probs + c, num_classes, NULL, labels, c, n, w);
        if (per_class) per_class[c] = a;
        if (!isnan(a)) s += a, m++;
    }
    *macro = m ? s / m : NAN;
    free(w);
    return MEDCL_OK;
}

/* ---- calibration ---- */

MEDCL_API medcl_status medcl_metrics_calibration(const float *probs, const int32_t *labels,
                                                 int64_t n, int32_t num_classes,
                                                 int32_t num_bins, medcl_calibration *out)
{
    static const char fn[] = "medcl_metrics_calibration";
    medcl_status st = MEDCL_OK;
    double *bin = NULL;
    if (n < 1) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: n=%lld must be >= 1", fn, (long long)n);
    if (num_classes < 2)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: num_classes=%d must be >= 2", fn, (int)num_classes);
    if (num_bins < 1 || num_bins > 100000)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: num_bins=%d must be in [1, 100000]", fn,
                          (int)num_bins);
    if (!probs) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: probs is NULL", fn);
    if (!labels) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: labels is NULL", fn);
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: out is NULL", fn);
    int64_t count = 0;
    if (!medcl_mul_i64(n, num_classes, &count))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: n=%lld x num_classes=%d overflows", fn,
                          (long long)n, (int)num_classes);
    if ((st = check_scores(fn, "probs", probs, count, 1)) != MEDCL_OK) return st;
    if ((st = check_labels(fn, labels, n, num_classes)) != MEDCL_OK) return st;

    /* per bin: count, Σ correct, Σ confidence */
    bin = calloc((size_t)num_bins * 3, sizeof(*bin));
    if (!bin) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: %d bins", fn, (int)num_bins);
    const double step = 1.0 / num_bins;
    double brier = 0.0, nll = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float *p = probs + i * num_classes;
        int32_t am = 0;
        for (int32_t k = 1; k < num_classes; k++)
            if (p[k] > p[am]) am = k;
        double conf = p[am];
        /* bin b holds (b·step, (b+1)·step] with edges as np.arange(0, 1.00001, step) makes
         * them; conf = 0 is in no bin (Metrics Reloaded) */
        int b = (int)ceil(conf * num_bins) - 1;
        if (b > num_bins - 1) b = num_bins - 1;
        if (b < 0) b = 0;
        while (b > 0 && !(conf > b * step)) b--;
        while (b < num_bins - 1 && conf > (b + 1) * step) b++;
        if (conf > b * step && conf <= (b + 1) * step) {
            bin[3 * b] += 1.0;
            bin[3 * b + 1] += am == labels[i];
            bin[3 * b + 2] += conf;
        }
        double sq = 0.0;
        for (int32_t k = 0; k < num_classes; k++) {
            double e = (double)p[k] - (k == labels[i] ? 1.0 : 0.0);
            sq += e * e;
        }
        brier += sq;
        nll -= log(fmax((double)p[labels[i]], 1e-15));
    }
    double num = 0.0, tot = 0.0;
    for (int b = 0; b < num_bins; b++) {
        double nb = bin[3 * b];
        if (nb == 0.0) continue;
        num += nb * fabs(bin[3 * b + 1] / nb - bin[3 * b + 2] / nb);
        tot += nb;
    }
    out->ece = tot > 0.0 ? num / tot : NAN;
    out->brier = brier / (double)n;
    out->nll = nll / (double)n;
cleanup:
    free(bin);
    return st;
}
