/* medcl/data.h — datasets, splits, preprocessing, patch sampling and background loading.
 *
 * Datasets (host, no OpenCL):
 * - the nnU-Net v2 raw layout: DIR/dataset.json, DIR/imagesTr/CASE_NNNN<ending> (NNNN = channel index),
 *   DIR/labelsTr/CASE<ending>, optional DIR/imagesTs/CASE_NNNN<ending> (NNNN = channel index). Training cases are
 *   the files of labelsTr (as nnU-Net finds them), sorted by case id. A case has one image
 *   file per suffix _0000, _0001, ... (contiguous); the channels of all its files together
 *   (a PNG RGB file gives 3) must number as many as channel_names. dataset.json keys:
 *     channel_names (required) {"0": "T2", "1": "ADC"}: keys "0".."n-1"; the name picks the
 *       normalization as nnU-Net does: "CT" → CT, "noNorm" → none, "rescale_to_0_1" → rescale,
 *       "rgb_to_0_1" → divide by 255, anything else → z-score. "modality" (nnU-Net v1) is
 *       accepted as a synonym.
 *     labels (required) {"background": 0, "tumour": 1, ...}: integers, "background" must be 0,
 *       values unique and consecutive 0..K-1; an "ignore" entry must hold the largest value
 *       (nnU-Net's ignore label). Region lists are rejected (unsupported).
 *     numTraining (required): integer, must equal the number of files in labelsTr.
 *     file_ending (required): ".nii.gz", ".nii" or ".png".
 *     domains (optional, medcl's extension): {"CASE": "siteA", ...}: the domain (site,
 *       scanner) of each training case; when present it must name every training case and
 *       nothing else. Without it every case is in domain "" (index 0).
 *     informative keys accepted and ignored: name, description, reference, licence, license,
 *       release, tensorImageSize, overwrite_image_reader_writer, converted_by, numTest, dim.
 *   Any other key is an error unless allow_unknown_keys is set. Every error names the JSON
 *   path ("$.labels.background: expected an integer, got string").
 * - the classification layout: a CSV file with a header row naming the columns file, label
 *   and optionally domain (any order, no other columns); file paths are relative to the CSV's
 *   folder (or image_dir); fields may be double-quoted ("" is a quote). Labels that are all
 *   non-negative integers are used as class indices; otherwise the distinct label strings
 *   sorted by strcmp become classes 0..K-1 (as torchvision's ImageFolder). Errors name the
 *   line and column. Images are PNG (.png) or NIfTI (.nii, .nii.gz), chosen by extension.
 *
 * Splits: seeded k-fold (nnU-Net: 5 folds over the case list sorted by id, shuffled, seed
 * 12345; the shuffle is a Fisher–Yates driven by Philox, so fold membership differs from
 * sklearn's KFold bits but the fold sizes follow KFold: the first n % k folds get one more),
 * by-domain (train on listed domains, the rest is held out) and leave-one-domain-out.
 *
 * Preprocessing: normalization and foreground cropping run on the HOST (in loader threads or
 * by the caller); resampling to a target spacing runs on the DEVICE (cl/preprocess.cl).
 *
 * Sampling and loading: patches (3D, or 2D slices of 3D volumes along a chosen axis) with
 * nnU-Net's foreground oversampling, cut at a "source patch size" ≥ the final patch so that a
 * spatial augmentation can crop back; a loader with worker threads, a bounded prefetch queue,
 * pinned staging buffers and asynchronous uploads. Every batch is a pure function of (seed,
 * epoch, batch index): the same bits whatever the number of threads.
 *
 * Layout conventions: a volume of NIfTI dims (x, y, z) is the tensor (D = z, H = y, W = x),
 * so host data needs no transposition. Labels are f32 holding integer classes.
 *
 * Left out: nnU-Net's "dataset" key (explicit file lists), region-based labels, resampling
 * inside the loader threads (resample once with medcl_case_resample or the loader's
 * preload), the nnU-Net preprocessed-folder format, and reading DICOM. */
#ifndef MEDCL_DATA_H
#define MEDCL_DATA_H

#include "medcl/data_io.h"
#include "medcl/tensor.h"

#include <signal.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- datasets */

typedef enum medcl_dataset_kind {
    MEDCL_DATASET_SEGMENTATION = 0,   /* nnU-Net raw layout */
    MEDCL_DATASET_CLASSIFICATION = 1, /* folder of images + CSV */
    MEDCL_DATASET_KIND_COUNT
} medcl_dataset_kind;

/* Intensity normalization of one channel (nnU-Net's schemes). */
typedef enum medcl_norm_scheme {
    MEDCL_NORM_ZSCORE = 0,       /* (x - mean) / max(std, 1e-8), per image */
    MEDCL_NORM_CT = 1,           /* clip to foreground percentiles 0.5/99.5, z-score with
                                  * foreground statistics of the training set */
    MEDCL_NORM_RESCALE = 2,      /* (x - min) / (max - min) per image; constant image → 0 */
    MEDCL_NORM_NONE = 3,
    MEDCL_NORM_RGB_TO_01 = 4,    /* x / 255 */
    MEDCL_NORM_SCHEME_COUNT
} medcl_norm_scheme;
MEDCL_API const char *medcl_norm_scheme_str(medcl_norm_scheme s);

/* One case as listed (nothing is read until medcl_case_load). Strings owned by the dataset. */
typedef struct medcl_case {
    const char *id;            /* case identifier (file stem without _NNNN and ending) */
    int n_files;               /* image files (one per _NNNN channel suffix; 1 for classification) */
    const char *const *files;  /* image file paths */
    const char *label_file;    /* segmentation label map; NULL for test and classification */
    int class_label;           /* classification class; -1 for segmentation */
    int domain;                /* index into the dataset's domains */
} medcl_case;

typedef struct medcl_dataset medcl_dataset;

typedef struct medcl_dataset_options {
    size_t size;               /* sizeof(medcl_dataset_options) */
    int allow_unknown_keys;    /* 0 (default): unknown dataset.json keys are an error */
    int check_files;           /* 1 (default): every listed file must exist (stat) */
    const char *image_dir;     /* CSV layout: folder file paths are relative to (NULL: the
                                * CSV's folder) */
} medcl_dataset_options;
#define MEDCL_DATASET_OPTIONS_INIT {sizeof(medcl_dataset_options), 0, 1, NULL}

/* Opens path: a folder with dataset.json (nnU-Net), or a .csv file (classification). */
MEDCL_API medcl_status medcl_dataset_open(const char *path, const medcl_dataset_options *opt,
                                          medcl_dataset **out);
/* Parses a dataset.json document from memory without touching files (for validation and the
 * fuzzer): the returned dataset has channels, labels, domain names and no cases; domains
 * listed in the document are kept (their case names are not checked). name is used in
 * messages (NULL: "dataset.json"). */
MEDCL_API medcl_status medcl_dataset_parse_json(const char *text, size_t n, const char *name,
                                                const medcl_dataset_options *opt,
                                                medcl_dataset **out);
/* Parses a classification CSV from memory; files are not checked. dir prefixes the paths. */
MEDCL_API medcl_status medcl_dataset_parse_csv(const char *text, size_t n, const char *name,
                                               const char *dir, medcl_dataset **out);
MEDCL_API void medcl_dataset_destroy(medcl_dataset *d);

MEDCL_API medcl_dataset_kind medcl_dataset_kind_of(const medcl_dataset *d);
MEDCL_API const char *medcl_dataset_root(const medcl_dataset *d);
MEDCL_API int medcl_dataset_count(const medcl_dataset *d);        /* training cases */
MEDCL_API const medcl_case *medcl_dataset_case(const medcl_dataset *d, int i); /* NULL if out of range */
MEDCL_API int medcl_dataset_test_count(const medcl_dataset *d);   /* imagesTs cases */
MEDCL_API const medcl_case *medcl_dataset_test_case(const medcl_dataset *d, int i);
/* Index of the training case with that id, or -1. */
MEDCL_API int medcl_dataset_find(const medcl_dataset *d, const char *id);
MEDCL_API int medcl_dataset_channel_count(const medcl_dataset *d);
MEDCL_API const char *medcl_dataset_channel_name(const medcl_dataset *d, int c);
MEDCL_API medcl_norm_scheme medcl_dataset_channel_norm(const medcl_dataset *d, int c);
/* Segmentation: label classes including background (ignore excluded); classification: the
 * number of classes. */
MEDCL_API int medcl_dataset_class_count(const medcl_dataset *d);
MEDCL_API const char *medcl_dataset_class_name(const medcl_dataset *d, int k);
MEDCL_API int medcl_dataset_ignore_label(const medcl_dataset *d); /* -1 when none */
MEDCL_API const char *medcl_dataset_file_ending(const medcl_dataset *d);
MEDCL_API int medcl_dataset_domain_count(const medcl_dataset *d);
MEDCL_API const char *medcl_dataset_domain_name(const medcl_dataset *d, int k);
/* Index of a domain name, or -1. */
MEDCL_API int medcl_dataset_domain_find(const medcl_dataset *d, const char *name);

/* ---------------------------------------------------------------- loaded cases */

/* A case in memory: image (C, D, H, W) channel-major with W = NIfTI x fastest; label
 * (D, H, W) integer classes as f32 or NULL. */
typedef struct medcl_case_data {
    int64_t channels;
    int64_t dim[3];            /* D, H, W  (= NIfTI z, y, x) */
    float *image;
    float *label;
    double spacing[3];         /* mm along D, H, W */
    double affine[4][4];       /* of the first image file (NIfTI voxel (x,y,z) → world) */
    medcl_nifti_geometry nifti;/* to write predictions with the source geometry */
    int64_t crop_lo[3];        /* foreground crop origin in the source volume (D, H, W) */
    int64_t source_dim[3];     /* D, H, W before cropping and resampling */
    int class_label;
    int domain;
} medcl_case_data;

typedef struct medcl_geometry_tolerance {
    double spacing_rel;        /* relative difference allowed on spacing (default 1e-4) */
    double affine_abs;         /* absolute difference allowed on affine entries, mm (1e-3) */
} medcl_geometry_tolerance;
#define MEDCL_GEOMETRY_TOLERANCE_INIT {1e-4, 1e-3}

/* Reads every file of case i (training; test cases with test = true), stacks the channels,
 * reads the label and checks that every file has the same dims, spacing and affine within
 * tol (NULL: defaults); a mismatch is MEDCL_ERR_FORMAT listing each differing field with
 * both values and both file names. A channel count different from the dataset's is an error. */
MEDCL_API medcl_status medcl_case_load(const medcl_dataset *d, int i, bool test,
                                       const medcl_geometry_tolerance *tol,
                                       medcl_case_data **out);
MEDCL_API void medcl_case_free(medcl_case_data *c);
/* Compares two volumes' geometry: MEDCL_OK, or MEDCL_ERR_FORMAT naming the differing fields
 * (dims, spacing, affine) and the two names. */
MEDCL_API medcl_status medcl_volume_check_geometry(const medcl_volume *a, const char *name_a,
                                                   const medcl_volume *b, const char *name_b,
                                                   const medcl_geometry_tolerance *tol);

/* ---------------------------------------------------------------- splits */

typedef struct medcl_split {
    int n_train, n_val;
    int *train;                /* case indices, ascending */
    int *val;
} medcl_split;
MEDCL_API void medcl_split_free(medcl_split *s); /* frees the arrays; s itself is the caller's */

#define MEDCL_KFOLD_SEED 12345ULL
/* Fold `fold` (0..k-1) of a shuffled k-fold over n cases (2 ≤ k ≤ n). */
MEDCL_API medcl_status medcl_split_kfold(int n, int k, int fold, uint64_t seed, medcl_split *out);
/* Train on the cases whose domain is one of names[0..count); validate on all others. Unknown
 * names are an error listing the dataset's domains. */
MEDCL_API medcl_status medcl_split_by_domain(const medcl_dataset *d, const char *const *names,
                                             int count, medcl_split *out);
/* Validate on domain `domain`, train on every other domain. */
MEDCL_API medcl_status medcl_split_leave_one_domain_out(const medcl_dataset *d, int domain,
                                                        medcl_split *out);

/* ---------------------------------------------------------------- preprocessing (host) */

/* Foreground intensity statistics of a CT channel (nnU-Net's dataset fingerprint). */
typedef struct medcl_ct_stats {
    double mean, std;          /* of the foreground values (not clipped) */
    double p005, p995;         /* 0.5 and 99.5 percentiles (linear interpolation, numpy's) */
} medcl_ct_stats;

/* (x - mean) / max(std, 1e-8) over n values, statistics in double. With mask (non-NULL): the
 * statistics come from the voxels where mask != 0, those are normalized and the others set to
 * 0 (nnU-Net's use_mask_for_norm). An empty mask → MEDCL_ERR_INVALID_ARG. */
MEDCL_API medcl_status medcl_normalize_zscore(float *x, int64_t n, const uint8_t *mask);
/* clip to [p005, p995], then (x - mean) / max(std, 1e-8). */
MEDCL_API medcl_status medcl_normalize_ct(float *x, int64_t n, const medcl_ct_stats *s);
/* (x - min) / (max - min); a constant image becomes 0. */
MEDCL_API medcl_status medcl_normalize_rescale(float *x, int64_t n);
/* Statistics of n values (sorted copy; percentiles by linear interpolation). n ≥ 1. */
MEDCL_API medcl_status medcl_ct_stats_compute(const float *values, int64_t n, medcl_ct_stats *out);
/* Foreground values of channel c of a case (voxels with label > 0), at most max_values taken
 * at an even stride (nnU-Net samples 10000 per case); appended to *values (realloc'd). */
MEDCL_API medcl_status medcl_case_foreground_values(const medcl_case_data *cd, int c,
                                                    int64_t max_values, float **values,
                                                    int64_t *count);
/* Normalizes each channel of a case with its scheme; ct may be NULL when no channel is CT,
 * else ct[c] is used for CT channels. use_mask: z-score inside the nonzero mask. */
MEDCL_API medcl_status medcl_case_normalize(medcl_case_data *cd, const medcl_norm_scheme *schemes,
                                            const medcl_ct_stats *ct, bool use_mask);
/* Bounding box [lo, hi) over (D, H, W) of the voxels where any channel is nonzero. An all-zero
 * image gives the whole volume. */
MEDCL_API void medcl_case_nonzero_bbox(const medcl_case_data *cd, int64_t lo[3], int64_t hi[3]);
/* Crops image and label to [lo, hi) and records the origin in crop_lo (nnU-Net's
 * crop_to_nonzero, without its -1 labels outside the mask). */
MEDCL_API medcl_status medcl_case_crop(medcl_case_data *cd, const int64_t lo[3],
                                       const int64_t hi[3]);

/* ---------------------------------------------------------------- resampling (device) */

typedef enum medcl_resample_interp {
    MEDCL_RESAMPLE_LINEAR = 0,   /* images: (tri)linear, edges clamped */
    MEDCL_RESAMPLE_NEAREST = 1,  /* labels */
    MEDCL_RESAMPLE_INTERP_COUNT
} medcl_resample_interp;

typedef struct medcl_resample_params {
    size_t size;
    medcl_resample_interp interp;
} medcl_resample_params;
#define MEDCL_RESAMPLE_PARAMS_INIT {sizeof(medcl_resample_params), MEDCL_RESAMPLE_LINEAR}

/* Output extents for a target spacing: round(n * spacing / target), at least 1 (D, H, W). */
MEDCL_API void medcl_resample_shape(const int64_t in[3], const double spacing[3],
                                    const double target[3], int64_t out[3]);
/* y = x resampled, pixel centres aligned (source coordinate of output o along an axis:
 * (o + 0.5) * n_in / n_out - 0.5, computed exactly as ((2o + 1) n_in - n_out) / (2 n_out)).
 * x (N, C, D, H, W) (4-D as D = 1), y (N, C, D', H', W') with the same N*C. */
MEDCL_API medcl_status medcl_resample_forward(const medcl_tensor *x, medcl_tensor *y,
                                              const medcl_resample_params *p);
/* Resamples a loaded case to target spacing on the device (image linear, label nearest). */
MEDCL_API medcl_status medcl_case_resample(medcl_context *ctx, medcl_case_data *cd,
                                           const double target[3]);

/* ---------------------------------------------------------------- sampling */

typedef struct medcl_sampler_options {
    size_t size;
    int slice_axis;            /* -1: 3D patches; 0, 1, 2: 2D slices across D, H or W */
    int64_t patch[3];          /* final patch (D, H, W); for 2D slices patch[0] = 1 and the
                                * two in-plane extents are patch[1], patch[2] */
    int64_t source_patch[3];   /* size cut from the volume, ≥ patch (0: equal to patch) */
    float oversample_fg;       /* fraction of each batch centred on foreground (0.33) */
    int64_t max_fg_locations;  /* foreground voxels kept per class and case (10000) */
} medcl_sampler_options;
#define MEDCL_SAMPLER_OPTIONS_INIT \
    {sizeof(medcl_sampler_options), -1, {1, 64, 64}, {0, 0, 0}, 0.33f, 10000}

/* True when sample s of a batch of b is forced onto foreground (nnU-Net's
 * _oversample_last_XX_percent: s ≥ round(b (1 - fraction)), ties to even). */
MEDCL_API bool medcl_sampler_force_fg(int s, int batch, float fraction);

/* ---------------------------------------------------------------- loader */

typedef struct medcl_loader medcl_loader;

typedef struct medcl_loader_options {
    size_t size;
    int batch_size;            /* samples per batch (2) */
    int threads;               /* worker threads (2); results never depend on it */
    int prefetch;              /* batches prepared ahead of the consumer (4) */
    int batches_per_epoch;     /* 250 (nnU-Net) */
    uint64_t seed;
    medcl_sampler_options sampler;
    bool crop_foreground;      /* crop each case to its nonzero box on load (true) */
    bool norm_use_mask;        /* z-score inside the nonzero mask (false) */
    const medcl_norm_scheme *schemes; /* per channel; NULL: the dataset's from channel_names */
    const medcl_ct_stats *ct;  /* per channel (used for CT channels); NULL: computed from the
                                * loader's cases at create */
    double target_spacing[3];  /* > 0: resample every case on the device at create (needs ctx;
                                * all cases are then loaded at create); 0: keep */
    volatile sig_atomic_t *interrupt; /* polled: nonzero stops the loader (signal handlers set
                                * it); NULL: none */
} medcl_loader_options;
#define MEDCL_LOADER_OPTIONS_INIT                                                        \
    {sizeof(medcl_loader_options), 2, 2, 4, 250, 0, MEDCL_SAMPLER_OPTIONS_INIT, true, false, \
     NULL, NULL, {0, 0, 0}, NULL}

/* One batch as handed to the consumer. Host arrays stay valid until the next
 * medcl_loader_next or destroy; device tensors until the second next call after this one. */
typedef struct medcl_batch {
    int64_t shape[5];          /* image (B, C, D, H, W) at the source patch size; 2D slices
                                * have D = 1 */
    const float *image;        /* host copy (pinned staging) */
    const float *label;        /* (B, 1, D, H, W) or NULL (classification) */
    medcl_tensor *image_dev;   /* device copies; NULL without a context */
    medcl_tensor *label_dev;
    const int *case_index;     /* (B) dataset case indices */
    const int *class_label;    /* (B) classification classes (-1 for segmentation) */
    const int *domain;         /* (B) */
    const uint8_t *forced_fg;  /* (B) 1 where the sample was centred on foreground */
    uint32_t epoch, index;     /* batch `index` of epoch `epoch` */
    double wait_s;             /* time this call waited for the workers */
} medcl_batch;

typedef struct medcl_loader_stats {
    uint64_t batches;          /* handed out */
    double wait_s;             /* total time medcl_loader_next waited for workers */
    double upload_wait_s;      /* total time it waited for uploads to finish */
    double max_wait_s;
} medcl_loader_stats;

/* Creates a loader over cases[0..n) of d (NULL: every training case) and starts its threads.
 * ctx may be NULL (host batches only). */
MEDCL_API medcl_status medcl_loader_create(medcl_context *ctx, const medcl_dataset *d,
                                           const int *cases, int n,
                                           const medcl_loader_options *opt, medcl_loader **out);
/* The next batch in order (epoch 0 batch 0, 1, ..., then epoch 1 ...). Errors of a worker
 * (with the file name) are returned here; after an error or a stop every call fails. */
MEDCL_API medcl_status medcl_loader_next(medcl_loader *l, medcl_batch *out);
/* Asks the workers to stop (thread-safe; from a signal handler set opt.interrupt instead).
 * Later next calls return MEDCL_ERR_INTERRUPTED. */
MEDCL_API void medcl_loader_stop(medcl_loader *l);
/* Stops, joins the threads and frees everything. NULL accepted. */
MEDCL_API void medcl_loader_destroy(medcl_loader *l);
MEDCL_API void medcl_loader_stats_get(const medcl_loader *l, medcl_loader_stats *out);
/* The source patch size (D, H, W) batches are cut at, and the final patch. */
MEDCL_API void medcl_loader_patch(const medcl_loader *l, int64_t source[3], int64_t final_[3]);
/* Computes batch (epoch, index) on the calling thread into caller arrays of the loader's batch
 * shape (label may be NULL): the same bits the workers produce. */
MEDCL_API medcl_status medcl_loader_batch_host(medcl_loader *l, uint32_t epoch, uint32_t index,
                                               float *image, float *label, int *case_index);

#ifdef __cplusplus
}
#endif
#endif
