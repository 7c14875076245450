/* medcl/ops_loss.h — training losses on the device, each a forward (scalar loss into a
 * 1-element f32 tensor, no host read) and a backward (d loss / d logits, assigned, scaled by an
 * incoming scalar gradient): softmax cross-entropy, softmax focal, binary cross-entropy with
 * logits, mean squared error, soft Dice (nnU-Net and MONAI forms), Tversky and Dice + CE.
 * Definitions follow PyTorch, MONAI and nnU-Net v2 (docs/REFERENCE.md); each deviation is
 * named where the parameter is declared. Deep supervision (a weighted sum over scales) is left
 * to the nn layer; per-voxel loss maps are not provided.
 *
 * Tensors
 *   logits  (N, C, D, H, W) f32; 2D as (N, C, H, W), classification as (N, C). C >= 1.
 *   target  one of
 *           - class indices: an i32 tensor (N, 1, D, H, W) or (N, D, H, W) (the logits' shape
 *             with C = 1 or without the C axis); labels are 0..C-1 or ignore_index. An f32
 *             label map is rejected: convert it to i32 (the data layer does).
 *           - soft targets / probabilities: an f32 tensor of the logits' shape (mixup, label
 *             smoothing done by the caller, MSE/BCE regression targets).
 *   loss    (1) f32, written by the forward (or accumulated where a field says so).
 *   dloss   (1) f32 incoming gradient, or NULL for 1.
 *   dlogits the logits' shape, f32; assigned (never accumulated).
 *
 * Labels outside [0, C) that are not ignore_index cannot be seen by the host without a read.
 * The loss kernels turn every such voxel into NaN (the loss is NaN, and so is that voxel's
 * gradient), so the training loop's NaN check catches it at its next read of the loss;
 * medcl_loss_labels_check then names the count, the first position and the value (it reads
 * back, so call it when a loss is NaN or once per data set, not every step).
 *
 * Reductions run in a fixed order (bitwise reproducible on one device); no atomics. */
#ifndef MEDCL_OPS_LOSS_H
#define MEDCL_OPS_LOSS_H

#include "medcl/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum medcl_loss_reduction {
    MEDCL_LOSS_REDUCTION_MEAN = 0, /* see each loss for the denominator */
    MEDCL_LOSS_REDUCTION_SUM = 1,
    MEDCL_LOSS_REDUCTION_COUNT
} medcl_loss_reduction;

/* Probabilities from logits for the region losses (Dice, Tversky). */
typedef enum medcl_loss_nonlin {
    MEDCL_LOSS_NONLIN_SOFTMAX = 0, /* over C (nnU-Net, MONAI softmax=True) */
    MEDCL_LOSS_NONLIN_SIGMOID = 1, /* per element (nnU-Net regions, MONAI sigmoid=True) */
    MEDCL_LOSS_NONLIN_COUNT
} medcl_loss_nonlin;

/* ---- softmax cross-entropy (torch.nn.functional.cross_entropy) ----
 * Class indices: l_v = (1-e) w[y_v] (-log p_{y_v}) + (e/C) sum_c w_c (-log p_c), voxels with
 * y_v = ignore_index skipped; mean = sum_v l_v / sum_v w[y_v] over the kept voxels (w = 1 when
 * no weight). Soft targets: l_v = -sum_c w_c t'_c log p_c with t' = (1-e) t + e/C; mean divides
 * by the voxel count N*D*H*W. Deviation: when every voxel is ignored the mean is 0 (gradient 0),
 * not PyTorch's NaN — nnU-Net's DC_and_CE_loss also skips CE then. */
typedef struct medcl_ce_loss_params {
    size_t size;                  /* sizeof(medcl_ce_loss_params) */
    const medcl_tensor *weight;   /* (C) f32 class weights, or NULL */
    int ignore_index;             /* class-index targets only; -100 as in PyTorch */
    float label_smoothing;        /* e in [0, 1] */
    medcl_loss_reduction reduction;
} medcl_ce_loss_params;
#define MEDCL_CE_LOSS_PARAMS_INIT \
    {sizeof(medcl_ce_loss_params), NULL, -100, 0.0f, MEDCL_LOSS_REDUCTION_MEAN}

/* p NULL means the defaults. */
MEDCL_API medcl_status medcl_ce_loss_forward(const medcl_tensor *logits /* (N, C, D, H, W) */,
                                             const medcl_tensor *target /* labels or soft */,
                                             const medcl_ce_loss_params *p,
                                             medcl_tensor *loss /* (1) */);
MEDCL_API medcl_status medcl_ce_loss_backward(const medcl_tensor *logits /* (N, C, D, H, W) */,
                                              const medcl_tensor *target,
                                              const medcl_ce_loss_params *p,
                                              const medcl_tensor *dloss /* (1) or NULL */,
                                              medcl_tensor *dlogits /* (N, C, D, H, W) */);

/* ---- softmax focal loss (Lin et al. 2017; MONAI FocalLoss(use_softmax=True)) ----
 * l_v = -sum_c a_c t_c (1 - p_c)^gamma log p_c, t one-hot or soft; a_c = 1 - alpha for class 0
 * and alpha for the others when alpha >= 0 (MONAI's convention), else 1; times weight[c] when
 * given. Mean divides by the number of kept voxels (N*D*H*W less the ignored ones); MONAI's
 * mean also divides by C (its loss = ours / C with include_background=True). */
typedef struct medcl_focal_loss_params {
    size_t size;                  /* sizeof(medcl_focal_loss_params) */
    float gamma;                  /* >= 0; 0 gives cross-entropy */
    float alpha;                  /* in [0, 1], or < 0 for none */
    const medcl_tensor *weight;   /* (C) f32 class weights, or NULL */
    int ignore_index;             /* class-index targets only */
    medcl_loss_reduction reduction;
} medcl_focal_loss_params;
#define MEDCL_FOCAL_LOSS_PARAMS_INIT \
    {sizeof(medcl_focal_loss_params), 2.0f, -1.0f, NULL, -100, MEDCL_LOSS_REDUCTION_MEAN}

MEDCL_API medcl_status medcl_focal_loss_forward(const medcl_tensor *logits, const medcl_tensor *target,
                                                const medcl_focal_loss_params *p, medcl_tensor *loss);
MEDCL_API medcl_status medcl_focal_loss_backward(const medcl_tensor *logits,
                                                 const medcl_tensor *target,
                                                 const medcl_focal_loss_params *p,
                                                 const medcl_tensor *dloss, medcl_tensor *dlogits);

/* ---- binary cross-entropy with logits (torch.nn.BCEWithLogitsLoss) ----
 * l = (1 - t) x + (1 + (pw - 1) t) (log(1 + exp(-|x|)) + max(-x, 0)) per element, the
 * numerically stable form; t soft (f32, logits' shape) or one-hot of class indices (no
 * ignore_index: every label must be in [0, C)). pos_weight is per channel (dim 1), i.e.
 * PyTorch's pos_weight of shape (C, 1, 1, 1). Mean divides by N*C*D*H*W. */
typedef struct medcl_bce_loss_params {
    size_t size;                    /* sizeof(medcl_bce_loss_params) */
    const medcl_tensor *pos_weight; /* (C) f32, or NULL */
    medcl_loss_reduction reduction;
} medcl_bce_loss_params;
#define MEDCL_BCE_LOSS_PARAMS_INIT {sizeof(medcl_bce_loss_params), NULL, MEDCL_LOSS_REDUCTION_MEAN}

MEDCL_API medcl_status medcl_bce_loss_forward(const medcl_tensor *logits, const medcl_tensor *target,
                                              const medcl_bce_loss_params *p, medcl_tensor *loss);
MEDCL_API medcl_status medcl_bce_loss_backward(const medcl_tensor *logits, const medcl_tensor *target,
                                               const medcl_bce_loss_params *p,
                                               const medcl_tensor *dloss, medcl_tensor *dlogits);

/* ---- mean squared error (torch.nn.MSELoss): mean or sum of (x - t)^2 over all elements ----
 * x is the prediction (any f32 tensor), t soft of the same shape (or one-hot class indices). */
typedef struct medcl_mse_loss_params {
    size_t size; /* sizeof(medcl_mse_loss_params) */
    medcl_loss_reduction reduction;
} medcl_mse_loss_params;
#define MEDCL_MSE_LOSS_PARAMS_INIT {sizeof(medcl_mse_loss_params), MEDCL_LOSS_REDUCTION_MEAN}

MEDCL_API medcl_status medcl_mse_loss_forward(const medcl_tensor *x, const medcl_tensor *target,
                                              const medcl_mse_loss_params *p, medcl_tensor *loss);
MEDCL_API medcl_status medcl_mse_loss_backward(const medcl_tensor *x, const medcl_tensor *target,
                                               const medcl_mse_loss_params *p,
                                               const medcl_tensor *dloss, medcl_tensor *dx);

/* ---- soft Dice (docs/REFERENCE.md "Soft Dice loss") ----
 * p = softmax (or sigmoid) of the logits, g = one-hot labels or soft targets, m = 0 on voxels
 * labelled ignore_index (nnU-Net's loss_mask) else 1. Per sample n and class c (or per class
 * summed over the batch with batch_dice): I = sum p g m, G = sum g m, P = sum p m;
 * dc = (2 I + smooth_nr) / max(G + P + smooth_dr, clip_min); mean over the kept (n, c) or c.
 *   nnU-Net (MemoryEfficientSoftDiceLoss): loss = -mean(dc); smooth 1e-5 both, clip 1e-8,
 *            background excluded; batch_dice comes from the plan (2D: on) — off here.
 *   MONAI (DiceLoss, softmax=True, to_onehot_y=True): loss = 1 - mean(dc) = mean(1 - dc);
 *            smooth_nr = smooth_dr = 1e-5, no clip, background included, batch=False.
 * Empty masks (G = 0) give dc = smooth_nr / (P + smooth_dr): finite loss and gradient. */
typedef enum medcl_dice_form {
    MEDCL_DICE_FORM_NNUNET = 0, /* loss = -mean(dc) */
    MEDCL_DICE_FORM_MONAI = 1,  /* loss = 1 - mean(dc) */
    MEDCL_DICE_FORM_COUNT
} medcl_dice_form;

typedef struct medcl_dice_loss_params {
    size_t size;                /* sizeof(medcl_dice_loss_params) */
    medcl_dice_form form;
    int include_background;     /* 0: class 0 left out of the mean (needs C >= 2) */
    int batch_dice;             /* 1: sums over the batch before the ratio */
    float smooth_nr, smooth_dr; /* added to numerator and denominator */
    float clip_min;             /* denominator clipped >= clip_min (0: no clip) */
    medcl_loss_nonlin nonlin;
    int ignore_index;           /* class-index targets only: masked voxels */
} medcl_dice_loss_params;
#define MEDCL_DICE_LOSS_PARAMS_NNUNET_INIT                                                   \
    {sizeof(medcl_dice_loss_params), MEDCL_DICE_FORM_NNUNET, 0, 0, 1e-5f, 1e-5f, 1e-8f,     \
     MEDCL_LOSS_NONLIN_SOFTMAX, -100}
#define MEDCL_DICE_LOSS_PARAMS_MONAI_INIT                                                    \
    {sizeof(medcl_dice_loss_params), MEDCL_DICE_FORM_MONAI, 1, 0, 1e-5f, 1e-5f, 0.0f,       \
     MEDCL_LOSS_NONLIN_SOFTMAX, -100}
#define MEDCL_DICE_LOSS_PARAMS_INIT MEDCL_DICE_LOSS_PARAMS_NNUNET_INIT

MEDCL_API medcl_status medcl_dice_loss_forward(const medcl_tensor *logits, const medcl_tensor *target,
                                               const medcl_dice_loss_params *p, medcl_tensor *loss);
MEDCL_API medcl_status medcl_dice_loss_backward(const medcl_tensor *logits,
                                                const medcl_tensor *target,
                                                const medcl_dice_loss_params *p,
                                                const medcl_tensor *dloss, medcl_tensor *dlogits);

/* ---- Tversky (MONAI TverskyLoss) ----
 * TI = (I + smooth_nr) / (I + alpha (P - I) + beta (G - I) + smooth_dr), loss = 1 - mean(TI),
 * with I, G, P and the mean as for Dice (alpha = weight of false positives, beta of false
 * negatives; alpha = beta = 0.5 is Dice with smoothing halved). */
typedef struct medcl_tversky_loss_params {
    size_t size;                /* sizeof(medcl_tversky_loss_params) */
    float alpha, beta;
    int include_background;
    int batch;                  /* sums over the batch before the ratio */
    float smooth_nr, smooth_dr;
    medcl_loss_nonlin nonlin;
    int ignore_index;
} medcl_tversky_loss_params;
#define MEDCL_TVERSKY_LOSS_PARAMS_INIT                                                       \
    {sizeof(medcl_tversky_loss_params), 0.5f, 0.5f, 1, 0, 1e-5f, 1e-5f,                      \
     MEDCL_LOSS_NONLIN_SOFTMAX, -100}

MEDCL_API medcl_status medcl_tversky_loss_forward(const medcl_tensor *logits,
                                                  const medcl_tensor *target,
                                                  const medcl_tversky_loss_params *p,
                                                  medcl_tensor *loss);
MEDCL_API medcl_status medcl_tversky_loss_backward(const medcl_tensor *logits,
                                                   const medcl_tensor *target,
                                                   const medcl_tversky_loss_params *p,
                                                   const medcl_tensor *dloss, medcl_tensor *dlogits);

/* ---- Dice + CE (nnU-Net DC_and_CE_loss): weight_ce * CE + weight_dice * Dice ----
 * With the nnU-Net Dice form this is CE - mean(dc). Give ce and dice the same ignore_index
 * (nnU-Net passes its ignore label to both). A zero weight skips that term. */
typedef struct medcl_dice_ce_loss_params {
    size_t size;                  /* sizeof(medcl_dice_ce_loss_params) */
    medcl_ce_loss_params ce;
    medcl_dice_loss_params dice;
    float weight_ce, weight_dice; /* 1, 1 */
} medcl_dice_ce_loss_params;
#define MEDCL_DICE_CE_LOSS_PARAMS_INIT                                                       \
    {sizeof(medcl_dice_ce_loss_params), MEDCL_CE_LOSS_PARAMS_INIT,                          \
     MEDCL_DICE_LOSS_PARAMS_NNUNET_INIT, 1.0f, 1.0f}

MEDCL_API medcl_status medcl_dice_ce_loss_forward(const medcl_tensor *logits,
                                                  const medcl_tensor *target,
                                                  const medcl_dice_ce_loss_params *p,
                                                  medcl_tensor *loss);
MEDCL_API medcl_status medcl_dice_ce_loss_backward(const medcl_tensor *logits,
                                                   const medcl_tensor *target,
                                                   const medcl_dice_ce_loss_params *p,
                                                   const medcl_tensor *dloss, medcl_tensor *dlogits);

/* Validates class indices: each label in [0, num_classes) or equal to ignore_index. Reads back
 * (waits for the queue). On failure MEDCL_ERR_INVALID_ARG with the tensor's name, the count of
 * bad labels, the first bad position and its value. */
MEDCL_API medcl_status medcl_loss_labels_check(const medcl_tensor *labels /* i32 */,
                                               int num_classes, int ignore_index);

#ifdef __cplusplus
}
#endif
#endif
