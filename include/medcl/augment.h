/* medcl/augment.h — data augmentation on the device: transform specifications, pipelines
 * (built in C, from JSON, or from the presets "nnunet" and "none"), and the batch-level
 * mixing transforms (mixup, cutmix) that produce soft labels.
 *
 * Tensors: image (N, C, D, H, W) f32, label (N, 1, D, H, W) f32 holding integer class values;
 * 2D data has D = 1 (4-D (N, C, H, W) tensors are accepted as D = 1).
 *
 * Randomness: every draw comes from Philox keyed by (seed, epoch, sample, transform index):
 * per-sample parameters are drawn on the host (stream 2t, counter (epoch, sample)), per-voxel
 * draws on the device (stream 2t + 1, same counter). The same seed gives the same output on
 * every run and every device (bitwise on one device; within rounding across devices).
 *
 * Conventions of the spatial transform (one resampling pass per sample): output voxel o with
 * centred coordinates e = o - (n_out - 1)/2, plus the elastic displacement d(o), maps to
 * source = S R R90 F (e + d(o)) + t + (n_out - 1)/2 + floor((n_in - n_out)/2)
 * with F mirroring, R90 quarter turns, R = R_w R_h R_d the rotations (about the D axis first:
 * the in-plane rotation of 2D data), S the scale (coordinates are multiplied: s > 1 shows a
 * larger field of view, as batchgenerators does) and t the translation, all in voxels.
 *
 * Left out here: intensity normalization and patch sampling (data layer), test-time
 * augmentation (eval layer), rotations inside the motion artifact (translation only). */
#ifndef MEDCL_AUGMENT_H
#define MEDCL_AUGMENT_H

#include "medcl/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MEDCL_AUGMENT_MAX_CHANNELS 16   /* image channels a pipeline handles */
#define MEDCL_AUGMENT_MAX_GRID 16       /* elastic control points per axis */
#define MEDCL_AUGMENT_MAX_BOXES 8       /* coarse-dropout boxes per sample */

typedef enum medcl_augment_kind {
    MEDCL_AUGMENT_SPATIAL = 0,          /* rotation, scaling, elastic, translation, mirror, rot90 */
    MEDCL_AUGMENT_GAUSSIAN_NOISE = 1,   /* x + sigma z, sigma ~ U(range) */
    MEDCL_AUGMENT_RICIAN_NOISE = 2,     /* sqrt((x + sigma z1)^2 + (sigma z2)^2) */
    MEDCL_AUGMENT_GAUSSIAN_BLUR = 3,    /* separable, sigma ~ U(range) per axis, truncated at 4 sigma */
    MEDCL_AUGMENT_BRIGHTNESS_MUL = 4,   /* x * f, f ~ range */
    MEDCL_AUGMENT_BRIGHTNESS_ADD = 5,   /* x + b, b ~ range */
    MEDCL_AUGMENT_CONTRAST = 6,         /* (x - mean) f + mean, clamped to [min, max] */
    MEDCL_AUGMENT_GAMMA = 7,            /* ((x - min)/range)^g range + min, optional invert/retain */
    MEDCL_AUGMENT_LOW_RES = 8,          /* zoom ~ range: nearest down, linear up */
    MEDCL_AUGMENT_BIAS_FIELD = 9,       /* x * exp(polynomial), coefficients ~ range */
    MEDCL_AUGMENT_COARSE_DROPOUT = 10,  /* boxes set to value */
    MEDCL_AUGMENT_MOTION = 11,          /* k-space segments with phase ramps (translations) */
    MEDCL_AUGMENT_GHOSTING = 12,        /* every g-th k-space plane along axis attenuated */
    MEDCL_AUGMENT_SPIKE = 13,           /* k-space spikes of intensity * max|X| */
    MEDCL_AUGMENT_KIND_COUNT
} medcl_augment_kind;

typedef enum medcl_augment_interp {
    MEDCL_AUGMENT_INTERP_LINEAR = 0,
    MEDCL_AUGMENT_INTERP_NEAREST = 1,
    MEDCL_AUGMENT_INTERP_CUBIC = 2,      /* Catmull-Rom (Keys, a = -0.5) */
    MEDCL_AUGMENT_INTERP_COUNT
} medcl_augment_interp;

typedef enum medcl_augment_label_interp {
    MEDCL_AUGMENT_LABEL_NEAREST = 0,
    MEDCL_AUGMENT_LABEL_ONEHOT = 1,      /* one-hot linear + argmax (ties: smaller class) */
    MEDCL_AUGMENT_LABEL_INTERP_COUNT
} medcl_augment_label_interp;

typedef enum medcl_augment_border {
    MEDCL_AUGMENT_BORDER_CONSTANT = 0,   /* image: fill; label: 0 */
    MEDCL_AUGMENT_BORDER_CLAMP = 1,      /* nearest edge voxel */
    MEDCL_AUGMENT_BORDER_COUNT
} medcl_augment_border;

/* The spatial transform: every part has its own probability; all the parts that hit a sample
 * are composed into one coordinate map. Angles in degrees; index 0 is the rotation about the
 * D axis (in-plane for 2D), 1 about H, 2 about W (ignored for 2D). */
typedef struct medcl_augment_spatial {
    float p_rotation;
    float rotation[3][2];
    float p_scale;
    float scale[2];
    int scale_per_axis;                  /* 0: one factor for all axes (nnU-Net) */
    float p_elastic;
    int elastic_points;                  /* control points per axis, 4..MEDCL_AUGMENT_MAX_GRID */
    float elastic_max;                   /* max displacement of a control point, voxels */
    float p_translate;
    float translate[2];                  /* voxels, per axis */
    float p_mirror[3];                   /* per axis D, H, W (D ignored for 2D) */
    float p_rot90;
    int rot90_axes[3];                   /* axes that may take part in the quarter-turn plane */
    medcl_augment_interp image_interp;
    medcl_augment_label_interp label_interp;
    medcl_augment_border border;
    float fill;                          /* image value outside (border constant) */
} medcl_augment_spatial;

/* One transform. `range` is the main parameter's range; its meaning and JSON name depend on
 * the kind: sigma (noise, blur), factor (brightness_mul, contrast), offset (brightness_add),
 * gamma, zoom (low_res), coefficient (bias_field: U(-c, c) when range = {-c, c}),
 * size (dropout: box edge as a fraction of each axis), intensity (ghosting, spike),
 * translation (motion, voxels). */
typedef struct medcl_augment_transform {
    size_t size;                         /* sizeof(medcl_augment_transform) */
    medcl_augment_kind kind;
    float p;                             /* probability per sample (spatial: ignored, see parts) */
    int per_channel;                     /* independent parameters per channel */
    float p_per_channel;                 /* probability per channel once a sample is hit */
    float range[2];
    int split_at_one;                    /* draw from [lo, 1) or [1, hi] with p = 1/2 each (nnU-Net) */
    int invert;                          /* gamma: applied to the inverted image */
    int retain_stats;                    /* gamma: mean and std restored */
    int preserve_range;                  /* contrast: clamped to the original [min, max] */
    int count[2];                        /* dropout boxes, ghosts, spikes, motion segments */
    float value;                         /* dropout fill value */
    int axis;                            /* ghosting / motion: k-space axis 0 = D, 1 = H, 2 = W */
    float restore;                       /* ghosting: central fraction of k-space kept */
    medcl_augment_spatial spatial;
} medcl_augment_transform;

/* Defaults: p = 1, shared parameters, p_per_channel = 1, range {0, 0}, nearest labels,
 * linear images, constant border with fill 0, elastic 7 points x 7.5 voxels, no spatial part. */
#define MEDCL_AUGMENT_SPATIAL_INIT                                                              \
    {0.0f, {{0.0f, 0.0f}, {0.0f, 0.0f}, {0.0f, 0.0f}}, 0.0f, {1.0f, 1.0f}, 0, 0.0f, 7, 7.5f,   \
     0.0f, {0.0f, 0.0f}, {0.0f, 0.0f, 0.0f}, 0.0f, {0, 1, 1}, MEDCL_AUGMENT_INTERP_LINEAR,      \
     MEDCL_AUGMENT_LABEL_NEAREST, MEDCL_AUGMENT_BORDER_CONSTANT, 0.0f}
#define MEDCL_AUGMENT_TRANSFORM_INIT                                                            \
    {sizeof(medcl_augment_transform), MEDCL_AUGMENT_SPATIAL, 1.0f, 0, 1.0f, {0.0f, 0.0f}, 0, 0, \
     0, 1, {1, 1}, 0.0f, 2, 0.02f, MEDCL_AUGMENT_SPATIAL_INIT}

MEDCL_API const char *medcl_augment_kind_str(medcl_augment_kind k); /* JSON "type" names */

typedef struct medcl_augment_pipeline medcl_augment_pipeline;

MEDCL_API medcl_status medcl_augment_pipeline_create(medcl_augment_pipeline **out);
MEDCL_API void medcl_augment_pipeline_destroy(medcl_augment_pipeline *p);
/* Appends a copy of t (checked: ranges ordered, probabilities in [0, 1], sizes in limits). */
MEDCL_API medcl_status medcl_augment_pipeline_add(medcl_augment_pipeline *p,
                                                  const medcl_augment_transform *t);
MEDCL_API int medcl_augment_pipeline_count(const medcl_augment_pipeline *p);
/* Transform i (0-based), or NULL. */
MEDCL_API const medcl_augment_transform *medcl_augment_pipeline_get(const medcl_augment_pipeline *p,
                                                                    int i);

/* Presets: "none" (empty) and "nnunet" (REFERENCE.md: nnU-Net v2 defaults). dims is 2 or 3;
 * patch the output patch (D, H, W) (D = 1 for 2D): 2D rotation is +-180 deg, or +-15 deg when
 * the patch's aspect ratio is above 1.5. */
MEDCL_API medcl_status medcl_augment_preset(const char *name, int dims, const int64_t patch[3],
                                            medcl_augment_pipeline **out);

/* JSON: {"transforms": [{"type": "gaussian_noise", "p": 0.1, "sigma": [0, 0.1]}, ...]}.
 * Errors name the JSON path: "$.transforms[2].sigma: expected 2 numbers". Unknown keys are
 * errors. to_json writes every field (*out malloc'd; free it). */
MEDCL_API medcl_status medcl_augment_pipeline_from_json(const char *text,
                                                        medcl_augment_pipeline **out);
MEDCL_API medcl_status medcl_augment_pipeline_to_json(const medcl_augment_pipeline *p, char **out);

/* Applies the pipeline in place to samples sample_index0 .. sample_index0 + N - 1 of
 * (seed, epoch). label may be NULL. Enqueues work and returns (like the ops). */
MEDCL_API medcl_status medcl_augment_pipeline_apply(const medcl_augment_pipeline *p,
                                                    medcl_tensor *image /* (N, C, D, H, W) */,
                                                    medcl_tensor *label /* (N, 1, D, H, W) */,
                                                    uint64_t seed, uint32_t epoch,
                                                    uint32_t sample_index0);
/* Same, from larger source patches into outputs of another spatial size (centred): the first
 * transform must then be spatial; samples it does not hit are cropped. Inputs are not changed. */
MEDCL_API medcl_status medcl_augment_pipeline_apply_to(const medcl_augment_pipeline *p,
                                                       const medcl_tensor *image,
                                                       const medcl_tensor *label,
                                                       medcl_tensor *image_out,
                                                       medcl_tensor *label_out, uint64_t seed,
                                                       uint32_t epoch, uint32_t sample_index0);

/* Batch-level mixing. Sample n is mixed with partner (n + shift) mod N, shift ~ U{1..N-1}
 * drawn per batch; lambda ~ Beta(alpha, alpha) per sample (alpha = 1: uniform). mixup:
 * image = l x_n + (1 - l) x_partner, soft label = l onehot(y_n) + (1 - l) onehot(y_partner).
 * cutmix: a box of volume fraction (1 - l) (edges scaled by (1 - l)^(1/dims)) is taken from
 * the partner, soft labels are the one-hot labels of wherever each voxel came from.
 * Samples not hit (probability 1 - p) are copied with one-hot labels. Label values outside
 * [0, K) get all-zero soft labels. */
typedef enum medcl_augment_mix_mode {
    MEDCL_AUGMENT_MIXUP = 0,
    MEDCL_AUGMENT_CUTMIX = 1,
    MEDCL_AUGMENT_MIX_MODE_COUNT
} medcl_augment_mix_mode;

typedef struct medcl_augment_mix {
    size_t size;                         /* sizeof(medcl_augment_mix) */
    medcl_augment_mix_mode mode;
    float alpha;                         /* Beta(alpha, alpha), > 0 */
    float p;                             /* probability per sample */
    int num_classes;                     /* K of the soft labels */
} medcl_augment_mix;
#define MEDCL_AUGMENT_MIX_INIT {sizeof(medcl_augment_mix), MEDCL_AUGMENT_MIXUP, 1.0f, 1.0f, 2}

MEDCL_API medcl_status medcl_augment_mix_apply(const medcl_augment_mix *opts,
                                               const medcl_tensor *image /* (N, C, D, H, W) */,
                                               const medcl_tensor *label /* (N, 1, D, H, W) */,
                                               medcl_tensor *image_out /* (N, C, D, H, W) */,
                                               medcl_tensor *soft_label /* (N, K, D, H, W) */,
                                               uint64_t seed, uint32_t epoch,
                                               uint32_t sample_index0);

#ifdef __cplusplus
}
#endif
#endif
