/* medcl/infer.h — sliding-window inference on the device (eval layer), 2D and 3D: tile
 * positions as nnU-Net v2 computes them, nnU-Net's Gaussian importance map or constant
 * weights, weighted accumulation of logits and weights on the device in a fixed order,
 * mirroring test-time augmentation over every combination of the chosen axes, and averaged
 * logits, softmax probabilities or argmax labels as output (docs/REFERENCE.md,
 * "Sliding-window inference").
 *
 * The network is a callback (medcl_infer_predict_fn): any model, or a fixed test model, plugs in.
 * Device memory used by one call is bounded by the patch batch, the weight map, the tile
 * table and the output accumulator (volume x K), never by volume x number of tiles.
 *
 * Left out: reading and writing files (see medcl/data_io.h), resampling to the training
 * spacing, intensity normalization, and batching several volumes in one call. */
#ifndef MEDCL_INFER_H
#define MEDCL_INFER_H

#include "medcl/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The model: logits = model(patch_batch). patch_batch is (B, Cin, pD, pH, pW) when the input
 * is 5-D and (B, Cin, pH, pW) when it is 4-D; logits has the same layout with K channels
 * (B, K, ...). Both tensors belong to the inference call and stay valid only during the
 * callback; the callback enqueues its work on the context's compute queue (or finishes it)
 * and must write every element of logits. B is always the configured batch size: when fewer
 * tiles remain, the unused slots hold copies of the last tile and their logits are ignored.
 * A 2D model used on 5-D input with pD = 1 can view (B, Cin, 1, pH, pW) as 4-D through
 * medcl_tensor_view_reshape. A status other than MEDCL_OK stops the inference and is
 * returned as is. */
typedef medcl_status (*medcl_infer_predict_fn)(void *user,
                                               const medcl_tensor *patch_batch /* (B, Cin, [pD,] pH, pW) */,
                                               medcl_tensor *logits /* (B, K, [pD,] pH, pW) */);

typedef enum medcl_infer_weight {
    MEDCL_INFER_WEIGHT_GAUSSIAN = 0, /* nnU-Net: sigma = sigma_scale * patch per axis */
    MEDCL_INFER_WEIGHT_CONSTANT = 1, /* every patch voxel weight 1 (MONAI "constant") */
    MEDCL_INFER_WEIGHT_COUNT
} medcl_infer_weight;

typedef enum medcl_infer_output {
    MEDCL_INFER_OUTPUT_LOGITS = 0, /* averaged logits, f32 (1, K, [D,] H, W) */
    MEDCL_INFER_OUTPUT_PROBS = 1,  /* softmax over K of the averaged logits, f32 (1, K, ...) */
    MEDCL_INFER_OUTPUT_LABELS = 2, /* argmax over K (first maximum on ties), i32 (1, 1, ...) */
    MEDCL_INFER_OUTPUT_COUNT
} medcl_infer_output;

/* Mirror axes are the spatial axes of the input: bit 0 = D, bit 1 = H, bit 2 = W (for 4-D
 * input only H and W exist). nnU-Net mirrors over all of them: MEDCL_INFER_MIRROR_ALL. */
#define MEDCL_INFER_MIRROR_D 1u
#define MEDCL_INFER_MIRROR_H 2u
#define MEDCL_INFER_MIRROR_W 4u
#define MEDCL_INFER_MIRROR_ALL 7u

typedef struct medcl_infer_options {
    size_t size;               /* sizeof(medcl_infer_options) */
    int64_t patch[3];          /* (pD, pH, pW); pD = 1 for 4-D input. Required, each >= 1 */
    int32_t num_classes;       /* K >= 1 (K logits per voxel). Required */
    double step;               /* tile step as a fraction of the patch, in (0, 1]: 0.5
                                * (nnU-Net); MONAI's overlap 0.25 is step 0.75 */
    int32_t batch;             /* patch batch size B >= 1: 1 */
    medcl_infer_weight weight; /* MEDCL_INFER_WEIGHT_GAUSSIAN */
    double sigma_scale;        /* Gaussian sigma / patch extent, > 0: 1/8 */
    unsigned mirror_axes;      /* mirroring TTA over all subsets of these axes: 0 (off) */
    medcl_infer_output output; /* MEDCL_INFER_OUTPUT_LOGITS */
} medcl_infer_options;
#define MEDCL_INFER_OPTIONS_INIT                                                            \
    { sizeof(medcl_infer_options), {0, 0, 0}, 0, 0.5, 1, MEDCL_INFER_WEIGHT_GAUSSIAN,        \
      0.125, 0u, MEDCL_INFER_OUTPUT_LOGITS }

typedef struct medcl_infer_stats {
    int64_t padded[3];         /* (D, H, W) after padding to at least the patch */
    int64_t pad_before[3];     /* zeros added before the volume on each axis ((P - S) / 2) */
    int64_t tiles_per_axis[3]; /* tile positions per axis */
    int64_t num_tiles;         /* product of tiles_per_axis */
    int32_t num_mirrors;       /* 2^(number of mirror axes present) */
    int64_t predict_calls;     /* ceil(num_tiles / B) * num_mirrors */
    size_t device_bytes;       /* device memory this call allocated, in the pool's size
                                * classes: patch batch in and out, weight map, tile table
                                * (12 bytes per tile), weight sum (volume), and the K x volume
                                * accumulator unless the output tensor serves as it (logits
                                * and probabilities accumulate in out) */
} medcl_infer_stats;

/* Tile start positions along one axis, nnU-Net v2's compute_steps_for_sliding_window:
 * with S = max(size, patch), n = ceil((S - patch) / (patch * step)) + 1 positions
 * round((S - patch) / (n - 1) * i) (round half to even, as np.round), i = 0 .. n-1; one
 * position 0 when n = 1. A patch of extent 1 visits every index (one tile per slice, as
 * nnU-Net's 2D prediction of a 3D volume). pos may be NULL to get the count only; otherwise
 * it holds cap entries and cap < count is MEDCL_ERR_INVALID_ARG. Positions are in the padded
 * frame (see medcl_infer_stats.pad_before). */
MEDCL_API medcl_status medcl_infer_tile_positions(int64_t size, int64_t patch, double step,
                                                  int64_t *pos, int64_t cap, int64_t *count);

/* The weight map (pD, pH, pW), C order: nnU-Net's compute_gaussian — a unit impulse at the
 * centre (patch // 2 per axis) smoothed by scipy.ndimage.gaussian_filter with
 * sigma = sigma_scale * patch per axis (truncate 4, constant mode), divided by its maximum,
 * zeros (beyond the truncation radius or underflow) replaced by the smallest non-zero value.
 * Equivalently w = prod_a exp(-(i_a - c_a)^2 / (2 sigma_a^2)) for |i_a - c_a| <=
 * floor(4 sigma_a + 0.5), 0 beyond; computed in double, stored as float. */
MEDCL_API medcl_status medcl_infer_gaussian(const int64_t patch[3], double sigma_scale,
                                            float *out);

/* Sliding-window inference of one volume.
 * image: f32 on the device, (1, Cin, D, H, W) or (1, Cin, H, W) (then pD must be 1).
 * out: f32 (1, K, [D,] H, W) for logits and probabilities, i32 (1, 1, [D,] H, W) for labels.
 * Volumes smaller than the patch are padded with zeros (half before, half after, as
 * nnU-Net's pad_nd_image) and the result is cropped back. For each batch of tiles, in tile
 * order (D outermost, W innermost), and each mirror combination in order (identity first,
 * then bitmask order): extract the (flipped) patches, call predict, flip the logits back
 * and add w / num_mirrors * logits to the accumulator (one tile after another); the weight
 * sum gets w once per tile. Finally out = accumulator / weight sum, then softmax or argmax.
 * The call waits for its device work before it returns (its temporaries go back to the
 * pool). stats may be NULL. */
MEDCL_API medcl_status medcl_infer_sliding_window(const medcl_tensor *image,
                                                  const medcl_infer_options *opt,
                                                  medcl_infer_predict_fn predict, void *user,
                                                  medcl_tensor *out, medcl_infer_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
