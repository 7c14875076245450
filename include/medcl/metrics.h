/* medcl/metrics.h — host-side evaluation metrics (eval layer): overlap (Dice, IoU, counts)
 * on label maps, surface distances in millimetres (Hausdorff, HD95, ASSD, MASD, NSD) in
 * voxel and surfel boundary modes, an exact Euclidean distance transform, classification
 * and calibration metrics (confusion matrix, sensitivity, specificity, precision, F1,
 * accuracy, balanced accuracy, ROC AUC, ECE, Brier, NLL) and percentile-bootstrap
 * confidence intervals over cases.
 *
 * Definitions and empty-case conventions follow docs/REFERENCE.md ("Overlap metrics",
 * "Surface metrics", "Classification and calibration"); each convention on which the
 * reference implementations disagree is a named mode. Golden vectors from MONAI, DeepMind
 * surface-distance and scikit-learn are in tests/data/metrics/golden.json.
 *
 * Volumes are dense, C-order arrays of shape (D, H, W); a 2D image is D = 1 and is then
 * treated as two-dimensional (boundaries, erosion and surfels in the H-W plane only).
 * Spacing is (D, H, W) in millimetres; every entry must be finite and > 0 (spacing[0] is
 * checked but unused when D = 1). Nothing here touches a device; every call is thread-safe.
 * Results that are undefined by convention are NaN, one-sided empty distances +inf. */
#ifndef MEDCL_METRICS_H
#define MEDCL_METRICS_H

#include "medcl/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------- overlap ---------------- */

/* What Dice and IoU give when reference and prediction are both empty for a class.
 * (Empty reference with a non-empty prediction gives 0 in both modes.) */
typedef enum medcl_empty_mode {
    MEDCL_EMPTY_NAN = 0, /* NaN, excluded from means (nnU-Net, DeepMind; the default) */
    MEDCL_EMPTY_ONE = 1, /* 1 (Metrics Reloaded) */
    MEDCL_EMPTY_MODE_COUNT
} medcl_empty_mode;

/* Voxel counts for one class, one-vs-rest. */
typedef struct medcl_overlap_counts {
    int64_t tp, fp, fn, tn;
} medcl_overlap_counts;

/* Per-class counts of two label maps. ref, pred: (D, H, W) labels in [0, num_classes);
 * counts: [num_classes]. A label outside the range is MEDCL_ERR_INVALID_ARG. */
MEDCL_API medcl_status medcl_metric_counts(const int32_t *ref, const int32_t *pred,
                                           const int64_t shape[3], int32_t num_classes,
                                           medcl_overlap_counts *counts);
/* Dice = 2TP / (2TP + FP + FN); IoU = TP / (TP + FP + FN); both-empty by mode. */
MEDCL_API medcl_status medcl_metric_dice_from_counts(const medcl_overlap_counts *c,
                                                     medcl_empty_mode mode, double *out);
MEDCL_API medcl_status medcl_metric_iou_from_counts(const medcl_overlap_counts *c,
                                                    medcl_empty_mode mode, double *out);
/* Per-class Dice / IoU of two label maps; out: [num_classes], background (0) included. */
MEDCL_API medcl_status medcl_metric_dice(const int32_t *ref, const int32_t *pred,
                                         const int64_t shape[3], int32_t num_classes,
                                         medcl_empty_mode mode, double *out);
MEDCL_API medcl_status medcl_metric_iou(const int32_t *ref, const int32_t *pred,
                                        const int64_t shape[3], int32_t num_classes,
                                        medcl_empty_mode mode, double *out);

/* Mean over cases of a (num_cases, num_classes) row-major table, NaN ignored (nanmean):
 * mean[c] is NaN when every case is NaN for c; count[c] (may be NULL) is the number of
 * values used. +inf values are kept (the mean is then +inf). */
MEDCL_API medcl_status medcl_metrics_nanmean(const double *values, int64_t num_cases,
                                             int32_t num_classes, double *mean,
                                             int64_t *count);
/* Foreground mean as nnU-Net's summary: plain mean of per_class[1 .. num_classes-1]
 * (NaN propagates, as np.mean does); needs num_classes >= 2. */
MEDCL_API medcl_status medcl_metrics_foreground_mean(const double *per_class,
                                                     int32_t num_classes, double *out);

/* ---------------- distance transform ---------------- */

/* Exact Euclidean distance transform (Felzenszwalb & Huttenlocher 2012, separable, O(n)
 * per axis) with per-axis spacing: dist[i] = distance in mm from voxel i to the nearest
 * voxel whose feature value is non-zero (0 on feature voxels, +inf everywhere when there
 * is none). scipy's distance_transform_edt(~feature, sampling=spacing) gives the same.
 * D = 1 is a 2D transform. */
MEDCL_API medcl_status medcl_edt_compute(const uint8_t *feature, const int64_t shape[3],
                                         const double spacing[3], double *dist);

/* ---------------- surface distances ---------------- */

typedef enum medcl_boundary_mode {
    /* Boundary voxels = mask XOR binary erosion with the cross (4-/6-connected) element;
     * outside the volume counts as background (scipy border_value = 0), so foreground on
     * the volume border is boundary. Distances by the exact EDT between boundary voxel
     * centres; HD at a percentile by linear interpolation (numpy); plain means. (MONAI) */
    MEDCL_BOUNDARY_VOXEL = 0,
    /* Surface elements on voxel corners from each 2x2(x2) neighbourhood code, with lengths
     * (2D) or areas (3D) from the spacing; distances between corner points; percentile =
     * first sorted distance whose cumulative area fraction >= p; area-weighted means.
     * (DeepMind surface-distance) */
    MEDCL_BOUNDARY_SURFEL = 1,
    MEDCL_BOUNDARY_MODE_COUNT
} medcl_boundary_mode;

/* Empty-mask conventions. One mask empty: HD, HD_p, ASSD, MASD = +inf and NSD = 0 in both
 * modes. Both empty: */
typedef enum medcl_surface_empty {
    MEDCL_SURFACE_EMPTY_MONAI = 0,    /* all NaN (the default) */
    MEDCL_SURFACE_EMPTY_RELOADED = 1, /* distances 0, NSD 1 (Metrics Reloaded) */
    MEDCL_SURFACE_EMPTY_COUNT
} medcl_surface_empty;

#define MEDCL_SURFACE_MAX_TOLERANCES 8

typedef struct medcl_surface_options {
    size_t size;                  /* sizeof(medcl_surface_options) */
    medcl_boundary_mode boundary; /* MEDCL_BOUNDARY_VOXEL */
    medcl_surface_empty empty;    /* MEDCL_SURFACE_EMPTY_MONAI */
    double percentile;            /* robust Hausdorff percentile in [0, 100]: 95 */
    int32_t num_tolerances;       /* NSD tolerances used, 0..MEDCL_SURFACE_MAX_TOLERANCES: 1 */
    double tolerance_mm[MEDCL_SURFACE_MAX_TOLERANCES]; /* each finite, >= 0: {1.0} */
} medcl_surface_options;
#define MEDCL_SURFACE_OPTIONS_INIT                                                        \
    { sizeof(medcl_surface_options), MEDCL_BOUNDARY_VOXEL, MEDCL_SURFACE_EMPTY_MONAI, 95.0, \
      1, { 1.0 } }

typedef struct medcl_surface_result {
    double hd;            /* Hausdorff distance: max of the two directed maxima (mm) */
    double hd_percentile; /* HD95 by default: max of the two directed percentiles (mm) */
    double assd;          /* mean of both directed distance sets pooled together (mm) */
    double masd;          /* mean of the two directed means (mm) */
    double nsd[MEDCL_SURFACE_MAX_TOLERANCES]; /* normalized surface Dice per tolerance */
} medcl_surface_result;

/* Surface metrics of two binary masks (non-zero = foreground). opt NULL = defaults. */
MEDCL_API medcl_status medcl_metrics_surface(const uint8_t *ref, const uint8_t *pred,
                                             const int64_t shape[3], const double spacing[3],
                                             const medcl_surface_options *opt,
                                             medcl_surface_result *out);
/* The same per class of two label maps in [0, num_classes); out: [num_classes]. */
MEDCL_API medcl_status medcl_metrics_surface_labels(const int32_t *ref, const int32_t *pred,
                                                    const int64_t shape[3],
                                                    const double spacing[3],
                                                    int32_t num_classes,
                                                    const medcl_surface_options *opt,
                                                    medcl_surface_result *out);

/* ---------------- classification and calibration ---------------- */

/* cm[t * num_classes + p] = number of samples with true class t predicted as p. */
MEDCL_API medcl_status medcl_confusion_matrix(const int32_t *y_true, const int32_t *y_pred,
                                              int64_t n, int32_t num_classes, int64_t *cm);

/* One-vs-rest statistics of one class. A ratio whose denominator is 0 is NaN
 * (scikit-learn with zero_division=nan). */
typedef struct medcl_class_stats {
    int64_t tp, fp, fn, tn;
    double sensitivity; /* recall, TP / (TP + FN) */
    double specificity; /* TN / (TN + FP) */
    double precision;   /* TP / (TP + FP) */
    double f1;          /* 2TP / (2TP + FP + FN) */
} medcl_class_stats;

typedef struct medcl_class_summary {
    double accuracy;          /* trace / total */
    double balanced_accuracy; /* mean recall over classes with at least one true sample */
    double macro_sensitivity, macro_specificity, macro_precision, macro_f1; /* NaN ignored */
} medcl_class_summary;

/* From a confusion matrix; per_class [num_classes] or NULL, summary or NULL. */
MEDCL_API medcl_status medcl_metrics_classification(const int64_t *cm, int32_t num_classes,
                                                    medcl_class_stats *per_class,
                                                    medcl_class_summary *summary);

/* Binary ROC AUC by the Mann–Whitney rank formula with average ranks for ties:
 * (R_pos − n_pos(n_pos+1)/2) / (n_pos n_neg). NaN when either class has no sample.
 * score: [n] finite; positive: [n], non-zero = positive. */
MEDCL_API medcl_status medcl_metric_roc_auc(const float *score, const uint8_t *positive,
                                            int64_t n, double *auc);
/* One-vs-rest AUC of each class from probs (n, num_classes) row-major and labels [n];
 * per_class [num_classes] or NULL; macro = mean of the non-NaN per-class values. */
MEDCL_API medcl_status medcl_metric_roc_auc_ovr(const float *probs, const int32_t *labels,
                                                int64_t n, int32_t num_classes,
                                                double *per_class, double *macro);

typedef struct medcl_calibration {
    /* Expected calibration error over num_bins equal-width bins (l, u] of the max
     * probability, edges k/num_bins; accuracy = (argmax == label), first max on ties:
     * ECE = Σ_b n_b |acc_b − conf_b| / Σ_b n_b. */
    double ece;
    double brier; /* mean over samples of Σ_k (p_k − [y = k])² (for K = 2 twice sklearn's) */
    double nll;   /* −mean ln max(p_y, 1e-15) */
} medcl_calibration;
/* probs (n, num_classes) row-major, each in [0, 1]; labels [n]; num_bins >= 1 (10 is the
 * Metrics Reloaded default). */
MEDCL_API medcl_status medcl_metrics_calibration(const float *probs, const int32_t *labels,
                                                 int64_t n, int32_t num_classes,
                                                 int32_t num_bins, medcl_calibration *out);

/* ---------------- bootstrap confidence intervals ---------------- */

typedef struct medcl_bootstrap_options {
    size_t size;           /* sizeof(medcl_bootstrap_options) */
    int64_t num_resamples; /* >= 1: 1000 */
    double confidence;     /* in (0, 1): 0.95 */
    uint64_t seed;         /* Philox key: same seed, same interval */
} medcl_bootstrap_options;
#define MEDCL_BOOTSTRAP_OPTIONS_INIT { sizeof(medcl_bootstrap_options), 1000, 0.95, 0 }

typedef struct medcl_ci {
    double estimate;     /* mean of the values used */
    double lower, upper; /* percentile interval of the resampled means */
    int64_t num_used;    /* values used (not NaN) */
    int64_t num_ignored; /* NaN values dropped */
} medcl_ci;

/* Percentile bootstrap CI of the mean of a per-case metric. NaN values are dropped first
 * (as nanmean does) and the remaining m cases are resampled m at a time with replacement;
 * resample b, draw j uses Philox (seed, stream 0x6d657472, counter b) element j, mapped to
 * a case index by (u * m) >> 32. The bounds are the (1−c)/2 and (1+c)/2 quantiles of the
 * resampled means, linearly interpolated (numpy). +inf values are kept. No value used:
 * everything NaN, MEDCL_OK. */
MEDCL_API medcl_status medcl_bootstrap_ci(const double *values, int64_t n,
                                          const medcl_bootstrap_options *opt, medcl_ci *out);

#ifdef __cplusplus
}
#endif
#endif
