/* medcl/nn.h — training machinery above the graph: optimizers as device kernels (SGD with
 * momentum/Nesterov/weight decay, Adam, AdamW — PyTorch's update rules), global gradient-norm
 * clipping, learning-rate schedules, the training step (one host synchronization), safetensors
 * files and checkpoints, and model builders (U-Net 2D/3D, CNN classifier).
 * Leaves out: data loading and augmentation (data, augment), evaluation (eval). */
#ifndef MEDCL_NN_H
#define MEDCL_NN_H

#include "medcl/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================== optimizers ===================================== */
typedef enum medcl_optim_kind {
    MEDCL_OPTIM_SGD = 0,   /* torch.optim.SGD */
    MEDCL_OPTIM_ADAM = 1,  /* torch.optim.Adam (L2 weight decay added to the gradient) */
    MEDCL_OPTIM_ADAMW = 2, /* torch.optim.AdamW (decoupled weight decay) */
    MEDCL_OPTIM_KIND_COUNT
} medcl_optim_kind;

typedef struct medcl_optim_config {
    size_t size;              /* sizeof(medcl_optim_config) */
    medcl_optim_kind kind;
    double momentum;          /* SGD */
    double dampening;         /* SGD */
    bool nesterov;            /* SGD: needs momentum > 0 and dampening = 0 */
    double weight_decay;
    double beta1, beta2, eps; /* Adam, AdamW */
    double clip_norm;         /* global L2 norm clipping (torch clip_grad_norm_); 0: off */
    bool skip_nonfinite;      /* non-finite gradient norm: the update is skipped on the device */
} medcl_optim_config;
#define MEDCL_OPTIM_CONFIG_INIT                                                            \
    {sizeof(medcl_optim_config), MEDCL_OPTIM_SGD, 0.0, 0.0, false, 0.0, 0.9, 0.999, 1e-8, 0.0, true}
/* nnU-Net v2: SGD, Nesterov momentum 0.99, weight decay 3e-5, clipping at 12. */
#define MEDCL_OPTIM_CONFIG_NNUNET                                                          \
    {sizeof(medcl_optim_config), MEDCL_OPTIM_SGD, 0.99, 0.0, true, 3e-5, 0.9, 0.999, 1e-8, 12.0, true}

typedef struct medcl_optim medcl_optim;

MEDCL_API const char *medcl_optim_kind_str(medcl_optim_kind k);
MEDCL_API medcl_status medcl_optim_create(medcl_context *ctx, const medcl_optim_config *cfg,
                                          medcl_optim **out);
MEDCL_API void medcl_optim_destroy(medcl_optim *o);
/* Registers one parameter and its gradient (same element count); state tensors (momentum,
 * first and second moments) are created and zeroed here, named "optim.<state>.<name>". */
MEDCL_API medcl_status medcl_optim_add_param(medcl_optim *o, const char *name, medcl_tensor *param,
                                             medcl_tensor *grad);
/* Every trainable parameter of a compiled training graph, by name. */
MEDCL_API medcl_status medcl_optim_add_graph(medcl_optim *o, medcl_graph *g);
/* Enqueues the global gradient norm (fixed-order, deterministic), the clip coefficient and
 * one update of every parameter at learning rate lr; no host synchronization. */
MEDCL_API medcl_status medcl_optim_step(medcl_optim *o, double lr);
/* Number of steps taken (PyTorch's `step` state: Adam's bias correction uses step + 1). */
MEDCL_API int64_t medcl_optim_steps(const medcl_optim *o);
MEDCL_API void medcl_optim_set_steps(medcl_optim *o, int64_t steps);
MEDCL_API const medcl_optim_config *medcl_optim_get_config(const medcl_optim *o);

/* Device scalars of the last step: [0] loss (filled by medcl_train_step), [1] gradient norm,
 * [2] clip coefficient, [3] 1 if the update was skipped. */
typedef struct medcl_step_stats {
    float loss, grad_norm, clip_coef;
    bool skipped;
} medcl_step_stats;
MEDCL_API medcl_tensor *medcl_optim_stats_tensor(const medcl_optim *o);
/* Reads the stats back (waits for the queue). */
MEDCL_API medcl_status medcl_optim_read_stats(const medcl_optim *o, medcl_step_stats *out);

/* Optimizer state for checkpoints: count, and (name, tensor) at index i. */
MEDCL_API int medcl_optim_state_count(const medcl_optim *o);
MEDCL_API medcl_status medcl_optim_state_at(const medcl_optim *o, int i, const char **name,
                                            medcl_tensor **t);
/* The configuration as a JSON object (malloc'd text). */
MEDCL_API medcl_status medcl_optim_config_json(const medcl_optim *o, char **out);

/* ===================================== learning rates ==================================== */
typedef enum medcl_lr_kind {
    MEDCL_LR_CONSTANT = 0, /* lr0 */
    MEDCL_LR_STEP = 1,     /* lr0 * gamma^floor(t / step_size) */
    MEDCL_LR_POLY = 2,     /* nnU-Net: lr0 * (1 - t / total)^exponent */
    MEDCL_LR_COSINE = 3,   /* t < warmup: lr0 * (t + 1) / warmup; then
                            * lr_min + (lr0 - lr_min) (1 + cos(pi (t - warmup) / (total - warmup))) / 2 */
    MEDCL_LR_KIND_COUNT
} medcl_lr_kind;

typedef struct medcl_lr_schedule {
    size_t size;        /* sizeof(medcl_lr_schedule) */
    medcl_lr_kind kind;
    double lr0;
    int64_t total;      /* epochs (or steps) of the run: POLY, COSINE */
    int64_t step_size;  /* STEP */
    double gamma;       /* STEP */
    double exponent;    /* POLY: 0.9 */
    int64_t warmup;     /* COSINE */
    double lr_min;      /* COSINE */
} medcl_lr_schedule;
#define MEDCL_LR_SCHEDULE_INIT                                                             \
    {sizeof(medcl_lr_schedule), MEDCL_LR_CONSTANT, 1e-2, 1000, 100, 0.1, 0.9, 0, 0.0}

MEDCL_API medcl_status medcl_lr_check(const medcl_lr_schedule *s);
/* Learning rate at epoch (or step) t >= 0; t >= total gives the final value (0 for POLY). */
MEDCL_API double medcl_lr_at(const medcl_lr_schedule *s, int64_t t);

/* ===================================== training step ===================================== */
/* zero_grad, forward, backward (scale 1), optimizer step at lr, and ONE read-back of the loss,
 * gradient norm and skip flag. stats may be NULL (then nothing is read back). */
MEDCL_API medcl_status medcl_train_step(medcl_graph *g, medcl_optim *o, double lr,
                                        medcl_step_stats *stats);

/* ====================================== safetensors ====================================== */
/* A tensor of a safetensors file: dtype F32, I32 or U8 here; data is little-endian. */
#define MEDCL_ST_MAX_DIMS 8
typedef struct medcl_st_tensor {
    const char *name;
    medcl_dtype dtype;
    int ndim;                          /* 0 (scalar) .. MEDCL_ST_MAX_DIMS */
    int64_t shape[MEDCL_ST_MAX_DIMS];
    const void *data;
    size_t bytes;
} medcl_st_tensor;

typedef struct medcl_st_meta {
    const char *key;
    const char *value;
} medcl_st_meta;

/* The file's bytes exactly as the reference implementation (safetensors 0.4+) writes them:
 * tensors ordered by dtype (larger alignment first) then name, metadata keys sorted, compact
 * JSON, header padded with spaces to a multiple of 8. *out malloc'd. */
MEDCL_API medcl_status medcl_safetensors_serialize(const medcl_st_tensor *t, int n,
                                                   const medcl_st_meta *meta, int nmeta,
                                                   void **out, size_t *len);
/* Serialize and write atomically (temporary file, fsync, rename, fsync folder). */
MEDCL_API medcl_status medcl_safetensors_write(const char *path, const medcl_st_tensor *t, int n,
                                               const medcl_st_meta *meta, int nmeta);

typedef struct medcl_safetensors medcl_safetensors;
/* Parses and validates a whole file (RELIABILITY.md): header length beyond the file or above
 * 100 MB, malformed JSON, duplicate keys, unknown dtypes, shape x dtype overflow, offsets that
 * overlap, leave gaps or do not cover the data → MEDCL_ERR_FORMAT with every problem found,
 * the file named. */
MEDCL_API medcl_status medcl_safetensors_read(const char *path, medcl_safetensors **out);
/* The same over bytes in memory (copied); name is used in messages. */
MEDCL_API medcl_status medcl_safetensors_parse(const void *data, size_t len, const char *name,
                                               medcl_safetensors **out);
MEDCL_API void medcl_safetensors_close(medcl_safetensors *f);
MEDCL_API int medcl_safetensors_count(const medcl_safetensors *f);
MEDCL_API const medcl_st_tensor *medcl_safetensors_at(const medcl_safetensors *f, int i);
MEDCL_API const medcl_st_tensor *medcl_safetensors_find(const medcl_safetensors *f,
                                                        const char *name);
MEDCL_API int medcl_safetensors_meta_count(const medcl_safetensors *f);
MEDCL_API const medcl_st_meta *medcl_safetensors_meta_at(const medcl_safetensors *f, int i);
/* Value of a metadata key, or NULL. */
MEDCL_API const char *medcl_safetensors_meta(const medcl_safetensors *f, const char *key);

/* ====================================== checkpoints ====================================== */
typedef struct medcl_checkpoint_info {
    size_t size;              /* sizeof(medcl_checkpoint_info) */
    const char *model_json;   /* model configuration (JSON text) or NULL */
    int64_t step, epoch;
    uint64_t rng_seed;        /* the run's seed */
    uint64_t rng_counter;     /* position in the run's random streams */
    const medcl_st_meta *extra; /* more metadata (keys must not start with "medcl.") */
    int nextra;
} medcl_checkpoint_info;
#define MEDCL_CHECKPOINT_INFO_INIT {sizeof(medcl_checkpoint_info), NULL, 0, 0, 0, 0, NULL, 0}

/* Parameters and buffers of g under their names, optimizer state under "optim.<state>.<name>"
 * (o may be NULL), metadata: medcl.version, medcl.model, medcl.optimizer, medcl.step,
 * medcl.epoch, medcl.optim_steps, medcl.rng_seed, medcl.rng_counter. Written atomically. */
MEDCL_API medcl_status medcl_checkpoint_save(const char *path, const medcl_graph *g,
                                             const medcl_optim *o, const medcl_checkpoint_info *info);
/* Loads into a compiled graph (and optimizer): every tensor must be present with its shape and
 * dtype and no other tensor may be in the file; otherwise MEDCL_ERR_FORMAT listing every
 * missing, extra and mis-shaped tensor, naming the file, and nothing is changed. info (may be
 * NULL) receives step, epoch and RNG state; its model_json points into a buffer valid until the
 * next load on this thread. */
MEDCL_API medcl_status medcl_checkpoint_load(const char *path, medcl_graph *g, medcl_optim *o,
                                             medcl_checkpoint_info *info);

/* ======================================== models ========================================= */
/* U-Net as nnU-Net's PlainConvUNet: stage s has min(base * 2^s, max) features and
 * convs_per_stage (conv 3 + norm + activation) blocks, the first strided by 2 for s > 0; the
 * decoder up-samples (transposed conv 2/2, or nearest up-sampling + 1x1 conv), concatenates
 * the skip and runs convs_per_stage blocks; 1x1 segmentation heads. Parameters are He-normal
 * (neg_slope 1e-2, InitWeights_He), biases 0, norm weight 1 / bias 0. Names:
 * enc{s}.conv{k}.weight|bias, enc{s}.norm{k}.weight|bias, dec{s}.up.weight|bias,
 * dec{s}.conv{k}..., dec{s}.norm{k}..., seg{i}.weight|bias (seg0: full resolution). */
#define MEDCL_UNET_MAX_LEVELS 8
typedef struct medcl_unet_config {
    size_t size;               /* sizeof(medcl_unet_config) */
    int dims;                  /* 2 or 3 */
    int in_channels, num_classes;
    int levels;                /* stages including the bottleneck, >= 2 */
    int base_features;         /* 32 */
    int max_features;          /* 320 (3D) / 512 (2D) */
    int convs_per_stage;       /* 2 */
    medcl_norm_kind norm;      /* INSTANCE (eps 1e-5, affine) */
    medcl_activation act;      /* LEAKY_RELU */
    float slope;               /* 0.01 */
    bool transposed_decoder;   /* true: transposed conv; false: nearest up-sampling + 1x1 conv */
    bool deep_supervision;     /* heads on every decoder stage */
    bool residual_encoder;     /* each encoder stage adds its first block's output to its last */
    /* dropout rate of the convolutions of stage s (encoder and decoder alike), placed
     * conv → dropout → norm → activation as nnU-Net's ConvDropoutNormReLU; 0: no node */
    float dropout[MEDCL_UNET_MAX_LEVELS];
    uint64_t dropout_seed;     /* Philox seed of the dropout masks */
} medcl_unet_config;
#define MEDCL_UNET_CONFIG_INIT                                                               \
    {sizeof(medcl_unet_config), 3, 1, 2, 5, 32, 320, 2, MEDCL_NORM_INSTANCE,                 \
     MEDCL_ACT_LEAKY_RELU, 0.01f, true, false, false, {0}, 0}

typedef struct medcl_unet {
    medcl_node logits;                          /* full resolution (N, classes, ...) */
    int nheads;                                 /* 1, or levels - 1 with deep supervision */
    medcl_node heads[MEDCL_UNET_MAX_LEVELS];    /* heads[0] = logits, then coarser */
    double head_weights[MEDCL_UNET_MAX_LEVELS]; /* nnU-Net: 1/2^i, coarsest 0, sum 1 */
} medcl_unet;

/* Builds the network on input x (N, in_channels, [D,] H, W); the spatial extents must be
 * divisible by 2^(levels-1). */
MEDCL_API medcl_status medcl_unet_build(medcl_graph *g, const medcl_unet_config *c, medcl_node x,
                                        medcl_unet *out);
/* Loss over the heads: sum_i w_i * L(head_i, targets[i]) with L = Dice + CE (nnU-Net
 * defaults; dc may be NULL); targets[i] has head i's spatial shape (nearest down-sampled labels,
 * i32). Heads with weight 0 are left out. */
MEDCL_API medcl_node medcl_unet_loss(medcl_graph *g, const medcl_unet *u, const medcl_node *targets,
                                     const medcl_dice_ce_loss_params *dc);
/* The same from ONE full-resolution target (i32 labels (N, 1, ...) or f32 soft targets): the
 * target of head i > 0 is its nearest down-sampling by 2^i per spatial axis
 * (medcl_graph_downsample_nearest, 'nearest-exact' as nnU-Net v2), computed on the device in
 * every forward; heads with weight 0 get none. */
MEDCL_API medcl_node medcl_unet_loss_target(medcl_graph *g, const medcl_unet *u, medcl_node target,
                                            const medcl_dice_ce_loss_params *dc);
/* The configuration as JSON (for checkpoints); malloc'd. */
MEDCL_API medcl_status medcl_unet_config_json(const medcl_unet_config *c, char **out);

/* CNN classifier: stem (conv 3 + norm + act), stages of residual blocks (the first block of a
 * stage s > 0 strided by 2; block = act(x + norm(conv(act(norm(conv(x))))))), global average
 * pooling, linear head. Names: stem.*, stage{s}.block{b}.conv{k}.*, stage{s}.block{b}.norm{k}.*,
 * stage{s}.down.* (strided conv), head.weight|bias. */
typedef struct medcl_classifier_config {
    size_t size;            /* sizeof(medcl_classifier_config) */
    int dims;               /* 2 or 3 */
    int in_channels, num_classes;
    int stages;             /* >= 1 */
    int base_features;      /* features double per stage */
    int blocks_per_stage;   /* residual blocks per stage, >= 1 */
    medcl_norm_kind norm;   /* INSTANCE or GROUP (groups = 4 when divisible) */
    medcl_activation act;
    float slope;
} medcl_classifier_config;
#define MEDCL_CLASSIFIER_CONFIG_INIT                                                         \
    {sizeof(medcl_classifier_config), 2, 1, 2, 3, 16, 1, MEDCL_NORM_INSTANCE,                \
     MEDCL_ACT_LEAKY_RELU, 0.01f}

/* logits (N, num_classes) */
MEDCL_API medcl_status medcl_classifier_build(medcl_graph *g, const medcl_classifier_config *c,
                                              medcl_node x, medcl_node *logits);

#ifdef __cplusplus
}
#endif
#endif
