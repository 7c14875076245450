/* medcl/protocol.h — the cross-domain evaluation protocol of the eval layer and the report
 * that presents it: test sets (named lists of cases, one domain each), evaluation of a model
 * given as the sliding-window predictor callback of medcl/infer.h (per case and class: Dice,
 * IoU, Hausdorff, HD95, ASSD, MASD, NSD, sensitivity, specificity, precision and the voxel
 * counts), means over cases with percentile-bootstrap 95% intervals, the generalization gap
 * (in-domain mean minus each out-of-domain mean, with a bootstrap interval of the
 * difference), severity sweeps of an intensity or artifact transform, "simulated scanner"
 * domains derived from a test set, and the report folder (report.json, report.md, SVG
 * figures, PNG overlays). docs/REFERENCE.md gives the metric conventions and the reporting
 * items (CLAIM 2020 / TRIPOD+AI).
 *
 * Data flow per case: host image (or device tensor) → device → optional shift transforms
 * (medcl/augment.h, probability 1, one fixed strength, seeded) → medcl_infer_sliding_window
 * with argmax labels → host label map → medcl/metrics.h. Nothing is trained here.
 *
 * Left out: reading test sets from files (the CLI does that with medcl/data_io.h), the
 * classification task (class probabilities per case: use medcl_metrics_classification,
 * medcl_metric_roc_auc_ovr and medcl_metrics_calibration directly), domains that span
 * several sets (give one set per domain), and paired (same-case) comparisons. */
#ifndef MEDCL_PROTOCOL_H
#define MEDCL_PROTOCOL_H

#include "medcl/augment.h"
#include "medcl/infer.h"
#include "medcl/metrics.h"
#include "medcl/report.h"
#include "medcl/sample_data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------- test sets ---------------- */

/* One case. The image is either host memory (image, C-order (C, D, H, W)) or a device tensor
 * (tensor: f32 (1, C, H, W) or (1, C, D, H, W), not modified); image wins when both are set.
 * A host image with D = 1 goes to the predictor as 4-D patches (B, C, pH, pW) (a 2D model),
 * otherwise as 5-D. label: host (D, H, W) reference classes in [0, K). */
typedef struct medcl_eval_case {
    const char *id;             /* case identifier (copied into the results; NULL: "case_<i>") */
    const float *image;         /* host (C, D, H, W), or NULL */
    const medcl_tensor *tensor; /* device (1, C, [D,] H, W), or NULL */
    const int32_t *label;       /* host (D, H, W) */
    int64_t channels;           /* C >= 1 */
    int64_t shape[3];           /* (D, H, W); D = 1 for 2D */
    double spacing[3];          /* mm along (D, H, W); spacing[0] is unused when D = 1 */
} medcl_eval_case;

/* A test set: the cases of one domain (hospital, scanner, protocol or simulated shift). */
typedef struct medcl_eval_set {
    const char *name;           /* "test", "scanner_B" (used in file names, sanitized) */
    const char *domain;         /* domain name; NULL: the set's name */
    int in_domain;              /* non-zero: drawn from the training domain */
    const medcl_eval_case *cases;
    int64_t num_cases;          /* >= 1 */
    void *storage;              /* memory owned by sets the library made; NULL for the caller's */
} medcl_eval_set;

/* Frees what a library-made set owns (medcl_eval_set_from_slices, medcl_eval_set_shift) and
 * zeroes *s. Accepts NULL and caller-made sets (storage NULL: nothing is freed). */
MEDCL_API void medcl_eval_set_release(medcl_eval_set *s);

/* Slices [first, first + count) of a medcl_slice_set (medcl/sample_data.h) as a 2D test set
 * (C = 1, D = 1, spacing (1, s->spacing[0], s->spacing[1])), images and labels copied, ids
 * "<name>_slice<source index>". */
MEDCL_API medcl_status medcl_eval_set_from_slices(const medcl_slice_set *s, int64_t first,
                                                  int64_t count, const char *name,
                                                  const char *domain, int in_domain,
                                                  medcl_eval_set *out);

/* ---------------- shifts (severity sweeps and simulated scanners) ---------------- */

#define MEDCL_EVAL_MAX_SHIFTS 8

/* One transform at one strength. The strength is the transform's main parameter, used as a
 * fixed value (range [s, s]) with probability 1 on every channel:
 *   gaussian_noise, rician_noise: sigma (intensity units)   identity 0
 *   gaussian_blur: sigma in voxels on every in-plane/3D axis identity 0
 *   brightness_mul, contrast: factor                        identity 1
 *   brightness_add: offset                                  identity 0
 *   gamma: exponent                                         identity 1
 *   low_res: zoom in (0, 1]                                 identity 1
 *   bias_field: coefficient bound c; coefficients are c (2u - 1) with u fixed by the seed
 *     and the case index, so the log-field of a case scales linearly with c  identity 0
 *   ghosting: intensity, 4 ghosts along H                   identity 0
 *   spike: intensity, 1 spike                               identity 0
 *   motion: translation bound t voxels (U(-t, t)), 2 movements along H  identity 0
 * The identity strength applies nothing (the image is bitwise unchanged). spatial and
 * coarse_dropout are MEDCL_ERR_UNSUPPORTED. */
typedef struct medcl_eval_shift {
    medcl_augment_kind kind;
    double strength;
} medcl_eval_shift;

/* The transform of a shift; *identity (may be NULL) is set to 1 for the identity strength. */
MEDCL_API medcl_status medcl_eval_shift_transform(const medcl_eval_shift *shift,
                                                  medcl_augment_transform *t, int *identity);

/* A shifted copy of src: every image goes through the shifts in order on the device (case i
 * is augmentation sample i of (seed, epoch 0)) and comes back to the host; labels, ids and
 * spacing are copied. out->name = out->domain = name, out->in_domain = 0. */
MEDCL_API medcl_status medcl_eval_set_shift(medcl_context *ctx, const medcl_eval_set *src,
                                            const medcl_eval_shift *shifts, int num_shifts,
                                            uint64_t seed, const char *name, medcl_eval_set *out);

/* A simulated scanner: a named combination of shifts at set strengths. */
typedef struct medcl_eval_scanner {
    const char *name;
    const char *description;
    int num_shifts;
    medcl_eval_shift shifts[MEDCL_EVAL_MAX_SHIFTS];
} medcl_eval_scanner;

/* The built-in scanners for z-scored images (the demo's out-of-domain sets): "bias_field"
 * (coefficient 0.3), "noise" (Gaussian sigma 0.3), "contrast_gamma" (contrast 0.6, then
 * gamma 1.8) and "blur_lowres" (blur sigma 1.2, then low resolution zoom 0.5). */
MEDCL_API const medcl_eval_scanner *medcl_eval_scanners(int *count);

/* ---------------- metrics per case and their aggregates ---------------- */

typedef enum medcl_eval_metric {
    MEDCL_EVAL_DICE = 0,
    MEDCL_EVAL_IOU = 1,
    MEDCL_EVAL_HD = 2,            /* Hausdorff distance, mm */
    MEDCL_EVAL_HD_PERCENTILE = 3, /* HD95 (the options' percentile), mm */
    MEDCL_EVAL_ASSD = 4,          /* mm */
    MEDCL_EVAL_MASD = 5,          /* mm */
    MEDCL_EVAL_NSD = 6,           /* at surface.tolerance_mm[0] */
    MEDCL_EVAL_SENSITIVITY = 7,   /* TP / (TP + FN), NaN when the reference is empty */
    MEDCL_EVAL_SPECIFICITY = 8,   /* TN / (TN + FP) */
    MEDCL_EVAL_PRECISION = 9,     /* TP / (TP + FP), NaN when the prediction is empty */
    MEDCL_EVAL_METRIC_COUNT
} medcl_eval_metric;

/* "dice", "iou", "hd", "hd_percentile", "assd", "masd", "nsd", "sensitivity",
 * "specificity", "precision" (the report's JSON keys); NULL out of range. */
MEDCL_API const char *medcl_eval_metric_str(medcl_eval_metric m);
/* 1 for overlap-type metrics (higher is better), 0 for distances. */
MEDCL_API int medcl_eval_metric_higher_is_better(medcl_eval_metric m);

typedef medcl_status (*medcl_eval_progress_fn)(void *user, const char *set_name,
                                               int64_t case_index, int64_t num_cases);

typedef struct medcl_eval_options {
    size_t size;                       /* sizeof(medcl_eval_options) */
    medcl_empty_mode overlap_empty;    /* Dice/IoU both-empty: MEDCL_EMPTY_NAN (nnU-Net) */
    medcl_surface_options surface;     /* voxel boundaries, MONAI empty rules, 95, {1 mm} */
    medcl_bootstrap_options bootstrap; /* 1000 resamples, 0.95, seed 0 */
    int surface_metrics;               /* 1; 0: distance and NSD tables are NaN (faster) */
    int reference_set;                 /* gap reference: -1 = the first in-domain set */
    int examples;                      /* 1: keep the worst and median case slice per set */
    medcl_eval_progress_fn progress;   /* after each case, or NULL; non-OK stops the run */
    void *progress_user;
} medcl_eval_options;
#define MEDCL_EVAL_OPTIONS_INIT                                                              \
    { sizeof(medcl_eval_options), MEDCL_EMPTY_NAN, MEDCL_SURFACE_OPTIONS_INIT,               \
      MEDCL_BOOTSTRAP_OPTIONS_INIT, 1, -1, 1, NULL, NULL }

/* A 2D slice of one case kept for the overlay figures. */
typedef struct medcl_eval_example {
    int64_t case_index;     /* -1: none */
    int64_t slice;          /* index along D (medcl_overlay_pick_slice of the reference) */
    int64_t height, width;
    float *image;           /* (H, W): channel 0 of the (shifted) input */
    int32_t *ref, *pred;    /* (H, W) */
} medcl_eval_example;

/* Results of one test set. Per-case tables are (num_cases, K + 1) row-major: columns
 * 0..K-1 are the classes (background included), column K is the case's foreground mean
 * (mean over classes 1..K-1 ignoring NaN, NaN when all are NaN; class 0 when K = 1). */
typedef struct medcl_eval_set_result {
    char name[128], domain[128];
    int in_domain;
    int64_t num_cases;
    int32_t num_classes;                        /* K */
    char **case_ids;                            /* [num_cases] */
    double *values[MEDCL_EVAL_METRIC_COUNT];    /* per-case tables */
    medcl_overlap_counts *counts;               /* (num_cases, K) */
    medcl_surface_result *surface;              /* (num_cases, K), every NSD tolerance */
    /* [K + 1] mean over cases ignoring NaN with its bootstrap interval (medcl_bootstrap_ci) */
    medcl_ci *mean[MEDCL_EVAL_METRIC_COUNT];
    /* [K + 1] reference-set mean minus this set's mean; interval: percentile bootstrap of
     * the difference with both sets resampled independently (reference draws as
     * medcl_bootstrap_ci, this set's from stream 0x67617000 + set index); NaN bounds when
     * either side has an infinite value; num_used/num_ignored are this set's. NULL for the
     * reference set itself and when there is no reference. */
    medcl_ci *gap[MEDCL_EVAL_METRIC_COUNT];
    int64_t worst_case, median_case;            /* by foreground Dice (lower median), -1: none */
    medcl_eval_example worst, median;           /* when options.examples */
    double seconds;                             /* wall time of inference and metrics */
} medcl_eval_set_result;

typedef struct medcl_eval_results {
    int num_sets;
    medcl_eval_set_result *sets;
    int reference_set;                          /* -1: none */
    medcl_eval_options options;                 /* as used (progress cleared) */
    medcl_infer_options infer;                  /* as used (output = labels) */
    double seconds;
} medcl_eval_results;

MEDCL_API void medcl_eval_results_free(medcl_eval_results *r); /* accepts NULL */

/* Evaluates every set: inference of each case with medcl_infer_sliding_window (infer's output
 * is replaced by MEDCL_INFER_OUTPUT_LABELS; infer->num_classes is K), the per-case metrics,
 * the means with intervals and the gaps. opt NULL: defaults. *out is NULL on failure. */
MEDCL_API medcl_status medcl_eval_run(medcl_context *ctx, medcl_infer_predict_fn predict,
                                      void *user, const medcl_infer_options *infer,
                                      const medcl_eval_set *sets, int num_sets,
                                      const medcl_eval_options *opt, medcl_eval_results **out);

/* ---------------- severity sweep ---------------- */

typedef struct medcl_eval_sweep_options {
    size_t size;               /* sizeof(medcl_eval_sweep_options) */
    medcl_augment_kind kind;   /* the transform swept (see medcl_eval_shift) */
    const double *strengths;   /* [num_strengths], e.g. bias_field 0, 0.2, 0.4, 0.6 */
    int num_strengths;         /* 1..64 */
    uint64_t seed;             /* shift seed: the same draws at every strength */
} medcl_eval_sweep_options;
#define MEDCL_EVAL_SWEEP_OPTIONS_INIT                                                       \
    { sizeof(medcl_eval_sweep_options), MEDCL_AUGMENT_GAUSSIAN_NOISE, NULL, 0, 0 }

typedef struct medcl_eval_sweep_result {
    medcl_augment_kind kind;
    char set_name[128];
    uint64_t seed;             /* the shift seed used */
    int num_strengths;
    double *strengths;
    /* one set per strength, named "<set> <kind>=<strength>", same domain as the set; the gap
     * reference is the first identity strength, else the first strength. The gap ("drop")
     * estimate is still the difference of the NaN-ignoring means, but its interval is a
     * paired bootstrap (the same cases at every strength: one index draw per resample picks
     * the same case on both sides, over the cases defined on both) */
    medcl_eval_results *results;
} medcl_eval_sweep_result;

MEDCL_API void medcl_eval_sweep_free(medcl_eval_sweep_result *s); /* accepts NULL */

/* Evaluates set at each strength (medcl_eval_run on shifted copies made on the fly). */
MEDCL_API medcl_status medcl_eval_sweep(medcl_context *ctx, medcl_infer_predict_fn predict,
                                        void *user, const medcl_infer_options *infer,
                                        const medcl_eval_set *set,
                                        const medcl_eval_sweep_options *sweep,
                                        const medcl_eval_options *opt,
                                        medcl_eval_sweep_result **out);

/* ---------------- the report ---------------- */

/* Facts the caller knows (training side); every pointer may be NULL ("not reported"). Text
 * fields are Markdown, copied into report.md as paragraphs and into report.json as strings. */
typedef struct medcl_eval_run_info {
    size_t size;                        /* sizeof(medcl_eval_run_info) */
    const char *title;                  /* NULL: "medcl evaluation report" */
    medcl_context *ctx;                 /* device, driver and kernel hash; NULL: not recorded */
    const char *config_json;            /* the run's configuration as JSON text ("config") */
    int num_seeds;
    const char *const *seed_names;      /* [num_seeds] */
    const uint64_t *seeds;              /* [num_seeds] */
    int num_splits;                     /* case counts per split (train, validation, test) */
    const char *const *split_names;
    const int64_t *split_counts;
    const char *const *class_names;     /* [K]; NULL: "class 0", "class 1", ... */
    const char *data_sources;           /* data sources and domains */
    const char *preprocessing;
    const char *labels;                 /* annotation and label definitions */
    const char *model;                  /* architecture */
    int64_t num_parameters;             /* -1: unknown */
    const char *training;               /* optimizer, schedule, augmentation, epochs */
    const char *model_selection;        /* how the final checkpoint was chosen */
    const char *compute;                /* extra compute facts (hosts, wall time) */
    double train_seconds;               /* < 0: unknown */
    const medcl_chart_series *curves;   /* training curves (x = epoch or step) */
    int num_curves;                     /* 0..32 */
    const char *curves_x_label, *curves_y_label;
    int num_failure_cases;              /* worst cases listed in report.md: 5 */
} medcl_eval_run_info;
#define MEDCL_EVAL_RUN_INFO_INIT                                                              \
    { sizeof(medcl_eval_run_info), NULL, NULL, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL, \
      NULL, NULL, NULL, -1, NULL, NULL, NULL, -1.0, NULL, 0, NULL, NULL, 5 }

/* Kernel hash of the device: 16 hex digits of FNV-1a over every program variant the library
 * uses there (medcl_library_variants: program name, defines and source text). buf >= 17. */
MEDCL_API medcl_status medcl_eval_kernel_hash(medcl_context *ctx, char *buf, size_t cap);

/* Writes the report folder dir (created): report.json, report.md, fig_training_curves.svg
 * (when curves are given), fig_domains_dice.svg and fig_domains_distance.svg (foreground
 * means per set with interval bars; the second only when surface metrics were computed), fig_sweep_<i>_<kind>.svg per sweep, and
 * overlay_<set>_{worst,median}.png per set with examples. Every file is written atomically;
 * the same input gives the same bytes (wall times and the device are part of the input).
 * results may be NULL only when num_sweeps > 0. */
MEDCL_API medcl_status medcl_eval_report_write(const char *dir, const medcl_eval_run_info *info,
                                               const medcl_eval_results *results,
                                               const medcl_eval_sweep_result *const *sweeps,
                                               int num_sweeps);

#ifdef __cplusplus
}
#endif
#endif
