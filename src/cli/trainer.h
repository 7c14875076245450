/* src/cli/trainer.h — the training loop of `medcl train` around the library: the dataset from
 * the config (nnU-Net folder, image/label folder pair, built-in slices written as a small
 * nnU-Net folder), the split, the model graph, optimizer and schedule, the background loader
 * and device augmentation, steps with NaN checks, validation (sliding-window Dice), atomic
 * checkpoints (latest every epoch, best, final), training curves, signals and resume; and
 * the model side shared with `medcl predict` (building a U-Net or classifier from a config).
 * Leaves out: argument parsing and signal installation (cli_train.c), evaluation reports. */
#ifndef MEDCL_CLI_TRAINER_H
#define MEDCL_CLI_TRAINER_H

#include "cli/config.h"
#include "medcl/medcl.h"

#include <signal.h>
#include <stdbool.h>

typedef struct cli_train_options {
    bool resume;                      /* continue from OUTPUT/latest.safetensors */
    bool progress;                    /* one rewritten progress line (a terminal) */
    bool quiet;                       /* no per-step log lines */
    volatile sig_atomic_t *interrupt; /* signal number once SIGINT/SIGTERM arrived, else 0 */
    int64_t stop_after;               /* > 0: behave as if interrupted after this many steps
                                       * of this run (tests) */
} cli_train_options;

/* Runs the whole training. Returns MEDCL_OK when finished, MEDCL_ERR_INTERRUPTED when it
 * stopped on a signal after writing latest.safetensors, or the error. */
medcl_status cli_train_run(const cli_config *cfg, const cli_train_options *opt);

/* A model of a (resolved) config on a graph: input (B, C, [D,] H, W) → logits node. */
typedef struct cli_model {
    medcl_node image;       /* input (f32) */
    medcl_node logits;      /* (B, K, ...) or (B, K) */
    medcl_unet unet;        /* segmentation */
    int nheads;
    medcl_node targets[MEDCL_UNET_MAX_LEVELS]; /* i32 label inputs per head (training) */
    medcl_node loss;        /* training only */
    medcl_node soft;        /* f32 soft-target input (mixup / cutmix), else MEDCL_NODE_NONE */
    medcl_node teacher_probs; /* LwF teacher probabilities input, else MEDCL_NODE_NONE */
} cli_model;

/* Builds the model (and with training, its label inputs and loss) for batch B and the
 * config's patch; cfg must have model.in_channels and model.num_classes resolved. */
medcl_status cli_model_build(medcl_graph *g, const cli_config *cfg, int64_t batch, bool training,
                             cli_model *out);
/* The same with the regularizers of the config (dropout nodes when a rate is > 0, label
 * smoothing, a soft-target input when mixup or cutmix is on) and, with lwf, the LwF
 * distillation term weighted by continual.lambda (an input "lwf.teacher_probs"). */
medcl_status cli_model_build_ex(medcl_graph *g, const cli_config *cfg, int64_t batch, bool training, bool lwf,
                                cli_model *out);

/* A heat map of a (rows, cols) matrix in [0, 1] (report.h's medcl_chart_heatmap) saved to path:
 * the continual-learning matrix R[i][j]. */
medcl_status cli_write_heatmap(const char *path, const char *title, const double *values, int rows, int cols,
                               const char *const *row_names, const char *const *col_names);

/* Copies every parameter and buffer of g from a checkpoint file by name, ignoring optimizer
 * state ("optim.*"); a missing or mis-shaped tensor is MEDCL_ERR_FORMAT naming it. */
medcl_status cli_load_weights(const char *path, medcl_graph *g);

#endif
