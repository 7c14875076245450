/* src/cli/config.h — the training configuration of `medcl train` (a JSON file, overridden by
 * command-line flags): the schema as a C struct, its parser and validator, and the effective
 * configuration written back as JSON (into the output folder and into checkpoints, where
 * `medcl predict` reads the model from it). The schema is documented in docs/CONFIG.md.
 *
 * Every error is MEDCL_ERR_FORMAT with the file name, the JSON path and the value:
 *   config.json: $.optimizer.lr = -1 (must be > 0)
 *   config.json: $.optimizer.lrr: unknown key (expected one of: kind, lr, momentum, ...)
 *   config.json: $.dataset.path: missing (required for dataset kind "nnunet")
 *
 * Pure C over cJSON: nothing here touches files other than the config itself (dataset paths
 * are checked when the dataset is opened), and nothing needs OpenCL.
 * Leaves out: building the model, data and optimizer from the struct (trainer.c). */
#ifndef MEDCL_CLI_CONFIG_H
#define MEDCL_CLI_CONFIG_H

#include "medcl/continual.h"
#include "medcl/nn.h"

#include <stdbool.h>
#include <stdint.h>

#define CLI_PATH_MAX 1024
#define CLI_CONFIG_MAX_DOMAINS 16
#define CLI_CONFIG_MAX_CHANNELS 16
#define CLI_CONFIG_MAX_SCANNERS 8
#define CLI_CONFIG_MAX_EPSILONS 8

typedef enum cli_task {
    CLI_TASK_SEGMENTATION = 0,
    CLI_TASK_CLASSIFICATION = 1,
    CLI_TASK_COUNT
} cli_task;

typedef enum cli_dataset_kind {
    CLI_DATASET_NNUNET = 0,     /* path: nnU-Net raw folder (dataset.json, imagesTr, labelsTr) */
    CLI_DATASET_FOLDERS = 1,    /* images + labels folders, CASE_0000.ext / CASE.ext */
    CLI_DATASET_CSV = 2,        /* path: classification CSV (file,label[,domain]) */
    CLI_DATASET_DEMO_BRAIN = 3, /* built-in ch2 T1 axial slices with brain mask */
    CLI_DATASET_PHANTOM = 4,    /* built-in synthetic head phantom slices */
    CLI_DATASET_KIND_COUNT
} cli_dataset_kind;

typedef enum cli_model_kind {
    CLI_MODEL_UNET = 0,
    CLI_MODEL_CLASSIFIER = 1,
    CLI_MODEL_KIND_COUNT
} cli_model_kind;

typedef enum cli_loss {
    CLI_LOSS_DICE_CE = 0,
    CLI_LOSS_CE = 1,
    CLI_LOSS_DICE = 2,
    CLI_LOSS_COUNT
} cli_loss;

typedef enum cli_continual_method {
    CLI_CONTINUAL_NONE = 0,     /* one training run (no "continual" section) */
    CLI_CONTINUAL_FINETUNE = 1, /* stages in sequence, nothing kept */
    CLI_CONTINUAL_EWC = 2,      /* elastic weight consolidation (medcl/continual.h) */
    CLI_CONTINUAL_LWF = 3,      /* learning without forgetting */
    CLI_CONTINUAL_REPLAY = 4,   /* experience replay */
    CLI_CONTINUAL_COUNT
} cli_continual_method;

typedef struct cli_config {
    cli_task task;
    struct {
        cli_dataset_kind kind;
        char path[CLI_PATH_MAX];        /* nnunet folder / CSV file */
        char images[CLI_PATH_MAX];      /* folders */
        char labels[CLI_PATH_MAX];      /* folders */
        int num_classes;                /* folders: classes including background (required) */
        int fold, folds;                /* k-fold split (nnU-Net: 5 folds, seed 12345) */
        int n_train_domains;            /* > 0: train on these domains, validate on the rest */
        char train_domains[CLI_CONFIG_MAX_DOMAINS][64];
        int cases;                      /* phantom: slices (48) */
        int size;                       /* phantom: slice edge (64) */
        int downsample;                 /* demo-brain: in-plane factor (2) */
        int n_scanners;                 /* built-in data: simulated-scanner domains (0: one) */
        char scanners[CLI_CONFIG_MAX_SCANNERS][32];
    } dataset;
    struct {
        cli_model_kind kind;
        int dims;                       /* 2 or 3 */
        int in_channels, num_classes;   /* 0: from the dataset (resolved before saving) */
        int levels, features, max_features, convs_per_stage;
        medcl_norm_kind norm;
        medcl_activation activation;
        double slope;
        bool transposed_decoder;        /* "decoder": "transposed" | "upsample" */
        bool deep_supervision;
        bool residual;
        int stages, blocks_per_stage;   /* classifier */
    } model;
    char *augmentation_json;            /* pipeline JSON ({"transforms": [...]}) or NULL */
    char augmentation_preset[32];       /* "nnunet" | "none" when augmentation_json is NULL */
    medcl_optim_config optimizer;
    double lr;
    medcl_lr_schedule schedule;         /* lr0 = lr, total = epochs (per epoch, as nnU-Net) */
    cli_loss loss;
    struct {
        int n_dropout;                  /* 0: none; 1: one rate for every stage; else per stage */
        double dropout[MEDCL_UNET_MAX_LEVELS];
        double label_smoothing;         /* CE label smoothing in [0, 1) */
        double mixup_alpha, mixup_p;    /* p = 0: off */
        double cutmix_alpha, cutmix_p;  /* p = 0: off */
        medcl_adv_config adversarial;   /* method NONE: off */
    } regularizers;
    struct {
        cli_continual_method method;
        double lambda;                  /* EWC penalty weight / LwF loss weight */
        double temperature;             /* LwF */
        double replay_fraction;         /* replay */
        int fisher_batches;             /* EWC: batches for the Fisher estimate */
        int n_domains;                  /* the stages, in order (>= 2) */
        char domains[CLI_CONFIG_MAX_DOMAINS][64];
    } continual;
    struct {
        bool domains;                   /* per-domain held-out evaluation (evaluation.json) */
        int bootstrap;                  /* resamples of the intervals */
        medcl_adv_method robust_method; /* NONE: no robustness evaluation */
        int n_epsilons;
        double epsilons[CLI_CONFIG_MAX_EPSILONS];
        int robust_steps;               /* PGD steps */
    } evaluation;
    struct {
        int epochs, iterations, batch;
        int64_t patch[3];               /* (D, H, W); D = 1 for 2D; 0: whole slice (demo, phantom) */
        double oversample_foreground;
        int threads, prefetch;
    } training;
    struct {
        int every;                      /* epochs; 0: never */
        double step;                    /* sliding-window step fraction */
        bool mirror;                    /* mirroring test-time augmentation */
        int max_cases;                  /* 0: every validation case */
    } validation;
    int n_norm;                         /* resolved per-channel normalization, saved for predict */
    int norm_scheme[CLI_CONFIG_MAX_CHANNELS];
    uint64_t seed;
    char device[128];                   /* "" : MEDCL_DEVICE or the default */
    char output[CLI_PATH_MAX];
} cli_config;

/* Defaults (nnU-Net v2 recipe) with task segmentation and no dataset. */
void cli_config_init(cli_config *c);
void cli_config_free(cli_config *c);

/* Parses JSON text, applies overrides ("a.b.c=VALUE": VALUE is JSON when it parses as JSON,
 * else a string; a missing object on the path is created) and validates. name is used in
 * messages. On failure *out is left freed and re-initialized. */
medcl_status cli_config_parse(const char *text, size_t n, const char *name,
                              const char *const *sets, int nsets, cli_config *out);
/* Reads the file at path (at most 4 MiB) and parses it; default output "runs/<stem>". */
medcl_status cli_config_load(const char *path, const char *const *sets, int nsets,
                             cli_config *out);
/* The effective configuration as JSON text with every field (malloc'd). Parsing it gives the
 * same struct back. */
medcl_status cli_config_to_json(const cli_config *c, char **out);

const char *cli_task_str(cli_task t);
const char *cli_dataset_kind_str(cli_dataset_kind k);
const char *cli_norm_str(medcl_norm_kind k);
const char *cli_activation_str(medcl_activation a);
const char *cli_loss_str(cli_loss l);
const char *cli_lr_kind_str(medcl_lr_kind k);
const char *cli_continual_str(cli_continual_method m);
/* Dropout rate of U-Net stage s (0 when none). */
double cli_dropout_at(const cli_config *c, int s);

#endif
