/* src/cli/trainer.c — `medcl train`'s loop (trainer.h): dataset and split from the config,
 * model graph, optimizer, poly/cosine/step schedule per epoch, loader + device augmentation,
 * one training step per batch with a NaN check, validation Dice by sliding-window inference,
 * atomic checkpoints (latest each epoch and on a signal, best, final), curves.csv, resume.
 *
 * Determinism: batch (epoch, index) and its augmentation depend only on (seed, epoch, index),
 * the learning rate only on the epoch, and the checkpoint holds parameters, optimizer state
 * and the step, so a resumed run repeats the bits of an uninterrupted one on one device.
 *
 * Known costs (see the report): labels are converted f32 → i32 (and nearest down-sampled for
 * the deep-supervision heads) on the host, which reads the augmented labels back once per
 * step in addition to the step's statistics; resume skips the loader's earlier batches by
 * drawing them. Leaves out: classification validation metrics beyond accuracy, CT
 * normalization at validation (needs the training set's statistics). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "cli/trainer.h"

#include "core/internal.h"
#include "medcl/augment.h"
#include "medcl/data.h"
#include "medcl/infer.h"
#include "medcl/sample_data.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ================================================================== datasets */

static bool has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static const char *ending_of(const char *name) {
    if (has_suffix(name, ".nii.gz")) return ".nii.gz";
    if (has_suffix(name, ".nii")) return ".nii";
    if (has_suffix(name, ".png")) return ".png";
    return NULL;
}

/* `folders`: OUT/dataset/{imagesTr,labelsTr} link to the two folders, dataset.json generated
 * from the files (channels from the first case's _XXXX files, classes from the config). */
static medcl_status prepare_folders(const cli_config *c, const char *root) {
    medcl_status st = MEDCL_OK;
    DIR *d = NULL;
    char img[PATH_MAX], lab[PATH_MAX], link[PATH_MAX + 32], json[8192];
    if (!realpath(c->dataset.images, img))
        return medcl_fail(MEDCL_ERR_IO, "dataset.images %s: %s", c->dataset.images, strerror(errno));
    if (!realpath(c->dataset.labels, lab))
        return medcl_fail(MEDCL_ERR_IO, "dataset.labels %s: %s", c->dataset.labels, strerror(errno));
    MEDCL_TRY(medcl_mkdir_p(root));
    d = opendir(lab);
    if (!d) MEDCL_FAIL(MEDCL_ERR_IO, "dataset.labels %s: %s", lab, strerror(errno));
    int n = 0;
    const char *ending = NULL;
    char first[512] = "";
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *en = ending_of(e->d_name);
        if (!en || e->d_name[0] == '.') continue;
        if (ending && strcmp(ending, en))
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "dataset.labels %s: mixes %s and %s files (%s)", lab, ending, en, e->d_name);
        ending = en;
        if (!first[0] || strcmp(e->d_name, first) < 0) snprintf(first, sizeof first, "%s", e->d_name);
        n++;
    }
    if (!n) MEDCL_FAIL(MEDCL_ERR_FORMAT, "dataset.labels %s: no .nii.gz, .nii or .png label files", lab);
    first[strlen(first) - strlen(ending)] = 0;
    int channels = 0;
    for (;; channels++) {
        char f[PATH_MAX + 600];
        struct stat sb;
        snprintf(f, sizeof f, "%s/%s_%04d%s", img, first, channels, ending);
        if (stat(f, &sb) != 0) break;
    }
    if (!channels)
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "dataset.images %s: no image %s_0000%s for label file %s%s", img, first, ending,
                   first, ending);
    const char *sub[2] = {"imagesTr", "labelsTr"};
    const char *target[2] = {img, lab};
    for (int k = 0; k < 2; k++) {
        snprintf(link, sizeof link, "%s/%s", root, sub[k]);
        unlink(link);
        if (symlink(target[k], link) != 0)
            MEDCL_FAIL(MEDCL_ERR_IO, "cannot link %s to %s: %s", link, target[k], strerror(errno));
    }
    size_t len = (size_t)snprintf(json, sizeof json, "{\"channel_names\": {");
    for (int i = 0; i < channels; i++)
        len += (size_t)snprintf(json + len, sizeof json - len, "%s\"%d\": \"image%d\"", i ? ", " : "", i, i);
    len += (size_t)snprintf(json + len, sizeof json - len, "}, \"labels\": {\"background\": 0");
    for (int k = 1; k < c->dataset.num_classes && len < sizeof json; k++)
        len += (size_t)snprintf(json + len, sizeof json - len, ", \"class%d\": %d", k, k);
    len += (size_t)snprintf(json + len, sizeof json - len, "}, \"numTraining\": %d, \"file_ending\": \"%s\"}\n", n, ending);
    snprintf(link, sizeof link, "%s/dataset.json", root);
    MEDCL_TRY(medcl_file_write_atomic(link, json, strlen(json)));
cleanup:
    if (d) closedir(d);
    return st;
}

/* Built-in slices (demo-brain, phantom) written once as a small nnU-Net folder of 2D NIfTI
 * files (already z-scored: channel "noNorm"), so one data path serves every kind. */
static medcl_status prepare_builtin(const cli_config *c, const char *root, int64_t multiple, int64_t *h, int64_t *w,
                                    char *source, size_t source_cap) {
    medcl_status st = MEDCL_OK;
    medcl_slice_set *s = NULL;
    medcl_volume *v = NULL, *lv = NULL;
    char path[PATH_MAX + 64];
    if (c->dataset.kind == CLI_DATASET_DEMO_BRAIN) {
        medcl_sample_brain_options o = MEDCL_SAMPLE_BRAIN_OPTIONS_INIT;
        o.downsample = c->dataset.downsample;
        o.multiple = (int)(multiple > 16 ? multiple : 16);
        st = medcl_sample_brain(&o, &s);
        if (st == MEDCL_ERR_NOT_FOUND) {
            fprintf(stderr, "medcl train: %s; using the synthetic phantom instead\n", medcl_last_error());
            st = medcl_sample_phantom(c->seed, c->dataset.cases, 128, &s);
        }
        MEDCL_TRY(st);
    } else {
        if (c->dataset.size % multiple)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "dataset.size = %d must be divisible by 2^(levels-1) = %lld", c->dataset.size,
                       (long long)multiple);
        MEDCL_TRY(medcl_sample_phantom(c->seed, c->dataset.cases, c->dataset.size, &s));
    }
    *h = s->h;
    *w = s->w;
    snprintf(source, source_cap, "%s", s->source);
    char sub[PATH_MAX + 32];
    snprintf(sub, sizeof sub, "%s/imagesTr", root);
    MEDCL_TRY(medcl_mkdir_p(sub));
    snprintf(sub, sizeof sub, "%s/labelsTr", root);
    MEDCL_TRY(medcl_mkdir_p(sub));
    int64_t dim[4] = {s->w, s->h, 1, 1}, hw = s->h * s->w;
    MEDCL_TRY(medcl_volume_create(dim, &v));
    MEDCL_TRY(medcl_volume_create(dim, &lv));
    for (medcl_volume *x = v; x; x = x == v ? lv : NULL) {
        x->nifti.pixdim[0] = 1;
        x->nifti.pixdim[1] = s->spacing[1];
        x->nifti.pixdim[2] = s->spacing[0];
        x->nifti.pixdim[3] = 1;
        x->nifti.xyzt_units = 2; /* mm */
    }
    for (int64_t i = 0; i < s->n; i++) {
        memcpy(v->data, s->images + i * hw, (size_t)hw * sizeof(float));
        for (int64_t k = 0; k < hw; k++) lv->data[k] = s->labels[i * hw + k];
        snprintf(path, sizeof path, "%s/imagesTr/slice%04lld_0000.nii", root, (long long)i);
        MEDCL_TRY(medcl_nifti_write(path, v, MEDCL_NIFTI_F32, NULL));
        snprintf(path, sizeof path, "%s/labelsTr/slice%04lld.nii", root, (long long)i);
        MEDCL_TRY(medcl_nifti_write(path, lv, MEDCL_NIFTI_U8, NULL));
    }
    char json[512];
    snprintf(json, sizeof json,
             "{\"channel_names\": {\"0\": \"noNorm\"}, \"labels\": {\"background\": 0, \"%s\": 1}, "
             "\"numTraining\": %lld, \"file_ending\": \".nii\", \"description\": \"medcl built-in %s slices\"}\n",
             c->dataset.kind == CLI_DATASET_DEMO_BRAIN ? "brain" : "phantom", (long long)s->n,
             cli_dataset_kind_str(c->dataset.kind));
    snprintf(path, sizeof path, "%s/dataset.json", root);
    MEDCL_TRY(medcl_file_write_atomic(path, json, strlen(json)));
cleanup:
    medcl_volume_free(v);
    medcl_volume_free(lv);
    medcl_slice_set_free(s);
    return st;
}

/* Opens the dataset and fills the resolved fields of rc (channels, classes, normalization,
 * whole-slice patch of built-in data). */
static medcl_status open_dataset(cli_config *rc, medcl_dataset **out) {
    medcl_status st = MEDCL_OK;
    char root[CLI_PATH_MAX + 32];
    const char *path = rc->dataset.path;
    int64_t multiple = rc->model.kind == CLI_MODEL_UNET ? (int64_t)1 << (rc->model.levels - 1) : 1;
    *out = NULL;
    snprintf(root, sizeof root, "%s/dataset", rc->output);
    if (rc->dataset.kind == CLI_DATASET_FOLDERS) {
        MEDCL_TRY(prepare_folders(rc, root));
        path = root;
    } else if (rc->dataset.kind == CLI_DATASET_DEMO_BRAIN || rc->dataset.kind == CLI_DATASET_PHANTOM) {
        int64_t h = 0, w = 0;
        char source[512];
        MEDCL_TRY(prepare_builtin(rc, root, multiple, &h, &w, source, sizeof source));
        fprintf(stderr, "medcl train: data: %s\n", source);
        if (rc->training.patch[1] == 0) {
            rc->training.patch[0] = 1;
            rc->training.patch[1] = h;
            rc->training.patch[2] = w;
        }
        path = root;
    }
    medcl_dataset_options o = MEDCL_DATASET_OPTIONS_INIT;
    MEDCL_TRY(medcl_dataset_open(path, &o, out));
    int ch = medcl_dataset_channel_count(*out), k = medcl_dataset_class_count(*out);
    if (rc->model.in_channels && rc->model.in_channels != ch)
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "config: $.model.in_channels = %d but dataset %s has %d channels",
                   rc->model.in_channels, path, ch);
    if (rc->model.num_classes && rc->model.num_classes != k)
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "config: $.model.num_classes = %d but dataset %s has %d classes",
                   rc->model.num_classes, path, k);
    if (ch > CLI_CONFIG_MAX_CHANNELS) MEDCL_FAIL(MEDCL_ERR_UNSUPPORTED, "dataset %s: %d channels (at most %d)", path, ch,
                                                 CLI_CONFIG_MAX_CHANNELS);
    if (k < 2) MEDCL_FAIL(MEDCL_ERR_FORMAT, "dataset %s: %d class (need at least 2)", path, k);
    rc->model.in_channels = ch;
    rc->model.num_classes = k;
    if (!rc->n_norm) {
        rc->n_norm = ch;
        for (int i = 0; i < ch; i++) rc->norm_scheme[i] = (int)medcl_dataset_channel_norm(*out, i);
    } else if (rc->n_norm != ch) {
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "config: $.dataset.normalization has %d entries, dataset %s has %d channels",
                   rc->n_norm, path, ch);
    }
cleanup:
    if (st != MEDCL_OK) {
        medcl_dataset_destroy(*out);
        *out = NULL;
    }
    return st;
}

/* ================================================================== model */

medcl_status cli_model_build(medcl_graph *g, const cli_config *c, int64_t B, bool training, cli_model *m) {
    medcl_status st = MEDCL_OK;
    memset(m, 0, sizeof *m);
    int dims = c->model.dims;
    int64_t xs[5] = {B, c->model.in_channels, 0, 0, 0};
    for (int k = 0; k < dims; k++) xs[2 + k] = c->training.patch[3 - dims + k];
    m->image = medcl_graph_input(g, "image", MEDCL_DTYPE_F32, dims + 2, xs);
    if (c->model.kind == CLI_MODEL_UNET) {
        medcl_unet_config u = MEDCL_UNET_CONFIG_INIT;
        u.dims = dims;
        u.in_channels = c->model.in_channels;
        u.num_classes = c->model.num_classes;
        u.levels = c->model.levels;
        u.base_features = c->model.features;
        u.max_features = c->model.max_features;
        u.convs_per_stage = c->model.convs_per_stage;
        u.norm = c->model.norm;
        u.act = c->model.activation;
        u.slope = (float)c->model.slope;
        u.transposed_decoder = c->model.transposed_decoder;
        u.deep_supervision = c->model.deep_supervision;
        u.residual_encoder = c->model.residual;
        MEDCL_TRY(medcl_unet_build(g, &u, m->image, &m->unet));
        m->logits = m->unet.logits;
        m->nheads = m->unet.nheads;
        if (training) {
            for (int i = 0; i < m->nheads; i++) {
                int nd = 0;
                int64_t hs[MEDCL_MAX_DIMS];
                MEDCL_TRY(medcl_graph_node_shape(g, m->unet.heads[i], &nd, hs));
                hs[1] = 1;
                char name[32];
                snprintf(name, sizeof name, "label%d", i);
                m->targets[i] = medcl_graph_input(g, name, MEDCL_DTYPE_I32, nd, hs);
            }
            if (c->loss == CLI_LOSS_DICE_CE) {
                m->loss = medcl_unet_loss(g, &m->unet, m->targets, NULL);
            } else {
                medcl_node sum = MEDCL_NODE_NONE;
                for (int i = 0; i < m->nheads; i++) {
                    double w = m->nheads == 1 ? 1.0 : m->unet.head_weights[i];
                    if (w == 0.0) continue;
                    medcl_node l;
                    if (c->loss == CLI_LOSS_CE) {
                        medcl_ce_loss_params p = MEDCL_CE_LOSS_PARAMS_INIT;
                        l = medcl_graph_ce_loss(g, m->unet.heads[i], m->targets[i], &p);
                    } else {
                        medcl_dice_loss_params p = MEDCL_DICE_LOSS_PARAMS_INIT;
                        l = medcl_graph_dice_loss(g, m->unet.heads[i], m->targets[i], &p);
                    }
                    if (w != 1.0) l = medcl_graph_scale(g, l, (float)w);
                    sum = sum.id < 0 ? l : medcl_graph_add(g, sum, l);
                }
                m->loss = sum;
            }
        }
    } else {
        medcl_classifier_config k = MEDCL_CLASSIFIER_CONFIG_INIT;
        k.dims = dims;
        k.in_channels = c->model.in_channels;
        k.num_classes = c->model.num_classes;
        k.stages = c->model.stages;
        k.base_features = c->model.features;
        k.blocks_per_stage = c->model.blocks_per_stage;
        k.norm = c->model.norm;
        k.act = c->model.activation;
        k.slope = (float)c->model.slope;
        MEDCL_TRY(medcl_classifier_build(g, &k, m->image, &m->logits));
        if (training) {
            int64_t ts[1] = {B};
            m->nheads = 1;
            m->targets[0] = medcl_graph_input(g, "label0", MEDCL_DTYPE_I32, 1, ts);
            medcl_ce_loss_params p = MEDCL_CE_LOSS_PARAMS_INIT;
            m->loss = medcl_graph_ce_loss(g, m->logits, m->targets[0], &p);
        }
    }
    MEDCL_TRY(medcl_graph_mark_output(g, m->logits));
    if (training) MEDCL_TRY(medcl_graph_set_loss(g, m->loss));
    st = medcl_graph_status(g);
cleanup:
    return st;
}

medcl_status cli_load_weights(const char *path, medcl_graph *g) {
    medcl_status st = MEDCL_OK;
    medcl_safetensors *f = NULL;
    MEDCL_TRY(medcl_safetensors_read(path, &f));
    int n = medcl_graph_param_count(g);
    for (int i = 0; i < n; i++) {
        medcl_node p = medcl_graph_param_at(g, i);
        const char *name = medcl_graph_node_name(g, p);
        medcl_tensor *t = medcl_graph_tensor(g, p);
        const medcl_st_tensor *s = medcl_safetensors_find(f, name);
        if (!s) MEDCL_FAIL(MEDCL_ERR_FORMAT, "checkpoint %s: tensor %s is missing", path, name);
        bool same = s->dtype == medcl_tensor_dtype(t) && s->ndim == medcl_tensor_ndim(t);
        for (int d = 0; same && d < s->ndim; d++) same = s->shape[d] == medcl_tensor_dim(t, d);
        if (!same) MEDCL_FAIL(MEDCL_ERR_FORMAT, "checkpoint %s: tensor %s has another shape or dtype than the model's",
                              path, name);
        MEDCL_TRY(medcl_tensor_upload(t, s->data, s->bytes));
    }
cleanup:
    medcl_safetensors_close(f);
    return st;
}

/* ================================================================== trainer state */

typedef struct trainer {
    const cli_train_options *opt;
    cli_config rc;            /* resolved config */
    char *model_json;         /* effective config (checkpoint metadata, config.json) */
    medcl_context *ctx;
    medcl_dataset *ds;
    medcl_split split;
    medcl_graph *g;
    cli_model m;
    medcl_optim *o;
    medcl_augment_pipeline *pl;
    medcl_loader *loader;
    medcl_tensor *img_view;   /* graph image input viewed as (B, C, D, H, W) */
    medcl_tensor *lab_aug;    /* (B, 1, D, H, W) f32 augmented labels */
    float *lab_host;
    int32_t *head_host[MEDCL_UNET_MAX_LEVELS];
    int64_t patch[3], source[3];
    int64_t B, steps_per_epoch, total_steps;
    double best_metric;
    int64_t best_epoch;
    FILE *curves;
    char path_latest[CLI_PATH_MAX + 64], path_best[CLI_PATH_MAX + 64], path_final[CLI_PATH_MAX + 64];
} trainer;

static void trainer_free(trainer *t) {
    if (t->curves) fclose(t->curves);
    medcl_loader_destroy(t->loader);
    medcl_tensor_destroy(t->img_view);
    medcl_tensor_destroy(t->lab_aug);
    free(t->lab_host);
    for (int i = 0; i < MEDCL_UNET_MAX_LEVELS; i++) free(t->head_host[i]);
    medcl_augment_pipeline_destroy(t->pl);
    medcl_optim_destroy(t->o);
    medcl_graph_destroy(t->g);
    medcl_split_free(&t->split);
    medcl_dataset_destroy(t->ds);
    medcl_context_destroy(t->ctx);
    free(t->model_json);
    cli_config_free(&t->rc);
}

static medcl_status save_checkpoint(trainer *t, const char *path, int64_t step) {
    char best[64], best_epoch[32];
    snprintf(best, sizeof best, "%.17g", t->best_metric);
    snprintf(best_epoch, sizeof best_epoch, "%" PRId64, t->best_epoch);
    medcl_st_meta extra[2] = {{"cli.best_metric", best}, {"cli.best_epoch", best_epoch}};
    medcl_checkpoint_info info = MEDCL_CHECKPOINT_INFO_INIT;
    info.model_json = t->model_json;
    info.step = step;
    info.epoch = step / t->steps_per_epoch;
    info.rng_seed = t->rc.seed;
    info.rng_counter = (uint64_t)step;
    info.extra = extra;
    info.nextra = 2;
    return medcl_checkpoint_save(path, t->g, t->o, &info);
}

/* ================================================================== validation */

typedef struct pred_ctx {
    medcl_graph *g;
    medcl_tensor *in, *logits;
} pred_ctx;

static medcl_status predict_cb(void *user, const medcl_tensor *patch_batch, medcl_tensor *logits) {
    pred_ctx *p = user;
    medcl_status st = medcl_tensor_copy(p->in, patch_batch);
    if (st == MEDCL_OK) st = medcl_graph_forward(p->g);
    if (st == MEDCL_OK) st = medcl_tensor_copy(logits, p->logits);
    return st;
}

/* Mean foreground Dice (classes present in reference or prediction) of one label map. */
static double dice_mean(const float *ref, const int32_t *pred, int64_t n, int K) {
    double sum = 0;
    int cnt = 0;
    for (int k = 1; k < K; k++) {
        int64_t tp = 0, fp = 0, fn = 0;
        for (int64_t i = 0; i < n; i++) {
            bool r = (int)ref[i] == k, p = pred[i] == k;
            tp += r && p;
            fp += !r && p;
            fn += r && !p;
        }
        if (tp + fp + fn == 0) continue;
        sum += 2.0 * (double)tp / (double)(2 * tp + fp + fn);
        cnt++;
    }
    return cnt ? sum / cnt : NAN;
}

/* Mean Dice over the validation cases (whole volumes, sliding window with the training
 * patch and the training graph as the predictor). NAN when no case has foreground. */
static medcl_status validate(trainer *t, double *metric) {
    medcl_status st = MEDCL_OK;
    medcl_case_data *cd = NULL;
    medcl_tensor *img = NULL, *lab = NULL;
    int32_t *pred = NULL;
    *metric = NAN;
    int n = t->split.n_val;
    if (t->rc.validation.max_cases && n > t->rc.validation.max_cases) n = t->rc.validation.max_cases;
    double sum = 0;
    int cnt = 0;
    pred_ctx pc = {t->g, medcl_graph_tensor(t->g, t->m.image), medcl_graph_tensor(t->g, t->m.logits)};
    medcl_norm_scheme schemes[CLI_CONFIG_MAX_CHANNELS];
    for (int c = 0; c < t->rc.n_norm; c++) schemes[c] = (medcl_norm_scheme)t->rc.norm_scheme[c];
    for (int i = 0; i < n; i++) {
        MEDCL_TRY(medcl_case_load(t->ds, t->split.val[i], false, NULL, &cd));
        MEDCL_TRY(medcl_case_normalize(cd, schemes, NULL, false));
        int64_t is[5] = {1, cd->channels, cd->dim[0], cd->dim[1], cd->dim[2]};
        int64_t ls[5] = {1, 1, cd->dim[0], cd->dim[1], cd->dim[2]};
        MEDCL_TRY(medcl_tensor_create_f32(t->ctx, "val.image", 5, is, &img));
        MEDCL_TRY(medcl_tensor_upload(img, cd->image, medcl_tensor_bytes(img)));
        {
            medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
            d.name = "val.labels";
            d.dtype = MEDCL_DTYPE_I32;
            d.ndim = 5;
            memcpy(d.shape, ls, sizeof ls);
            MEDCL_TRY(medcl_tensor_create(t->ctx, &d, &lab));
        }
        medcl_infer_options io = MEDCL_INFER_OPTIONS_INIT;
        memcpy(io.patch, t->patch, sizeof io.patch);
        io.num_classes = t->rc.model.num_classes;
        io.step = t->rc.validation.step;
        io.batch = (int32_t)t->B;
        io.mirror_axes = t->rc.validation.mirror ? MEDCL_INFER_MIRROR_ALL : 0u;
        io.output = MEDCL_INFER_OUTPUT_LABELS;
        MEDCL_TRY(medcl_infer_sliding_window(img, &io, predict_cb, &pc, lab, NULL));
        int64_t nv = cd->dim[0] * cd->dim[1] * cd->dim[2];
        pred = malloc((size_t)nv * sizeof *pred);
        if (!pred) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "validation: out of memory");
        MEDCL_TRY(medcl_tensor_download(lab, pred, (size_t)nv * sizeof *pred));
        double d = dice_mean(cd->label, pred, nv, t->rc.model.num_classes);
        if (!isnan(d)) {
            sum += d;
            cnt++;
        }
        free(pred);
        pred = NULL;
        medcl_tensor_destroy(img);
        medcl_tensor_destroy(lab);
        img = lab = NULL;
        medcl_case_free(cd);
        cd = NULL;
    }
    if (cnt) *metric = sum / cnt;
cleanup:
    free(pred);
    medcl_tensor_destroy(img);
    medcl_tensor_destroy(lab);
    medcl_case_free(cd);
    return st;
}

/* ================================================================== curves */

/* curves.csv: kind,epoch,step,loss,lr,grad_norm,dice. On resume the rows after the resumed
 * step are dropped (they belong to the interrupted tail). */
static medcl_status curves_open(trainer *t, int64_t keep_step) {
    char path[CLI_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/curves.csv", t->rc.output);
    const char *header = "kind,epoch,step,loss,lr,grad_norm,dice\n";
    if (keep_step > 0) {
        void *data = NULL;
        size_t n = 0;
        if (medcl_file_read_all(path, (size_t)1 << 30, &data, &n) == MEDCL_OK) {
            char *out = malloc(n + strlen(header) + 1), *s = data;
            size_t len = 0;
            if (!out) {
                free(data);
                return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "curves: out of memory");
            }
            char *end = s + n;
            while (s < end) {
                char *nl = memchr(s, '\n', (size_t)(end - s));
                size_t ll = nl ? (size_t)(nl - s) + 1 : (size_t)(end - s);
                long long step = -1;
                int epoch = 0;
                char kind[8] = "";
                if (sscanf(s, "%7[a-z],%d,%lld,", kind, &epoch, &step) == 3 && step <= keep_step) {
                    memcpy(out + len, s, ll);
                    len += ll;
                } else if (!strncmp(s, "kind,", 5)) {
                    memcpy(out + len, s, ll);
                    len += ll;
                }
                s += ll;
            }
            medcl_status st = medcl_file_write_atomic(path, out, len);
            free(out);
            free(data);
            if (st != MEDCL_OK) return st;
            t->curves = fopen(path, "a");
            if (!t->curves) return medcl_fail(MEDCL_ERR_IO, "%s: %s", path, strerror(errno));
            return MEDCL_OK;
        }
    }
    t->curves = fopen(path, "w");
    if (!t->curves) return medcl_fail(MEDCL_ERR_IO, "%s: %s", path, strerror(errno));
    fputs(header, t->curves);
    return MEDCL_OK;
}

/* ================================================================== setup */

static medcl_status setup(trainer *t, int64_t *start_step) {
    medcl_status st = MEDCL_OK;
    cli_config *rc = &t->rc;
    *start_step = 0;
    MEDCL_TRY(medcl_mkdir_p(rc->output));
    MEDCL_TRY(open_dataset(rc, &t->ds));
    int n = medcl_dataset_count(t->ds);
    if (rc->dataset.n_train_domains) {
        const char *names[CLI_CONFIG_MAX_DOMAINS];
        for (int i = 0; i < rc->dataset.n_train_domains; i++) names[i] = rc->dataset.train_domains[i];
        MEDCL_TRY(medcl_split_by_domain(t->ds, names, rc->dataset.n_train_domains, &t->split));
    } else {
        if (n < rc->dataset.folds)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "dataset has %d training cases, fewer than $.dataset.folds = %d", n,
                              rc->dataset.folds);
        MEDCL_TRY(medcl_split_kfold(n, rc->dataset.folds, rc->dataset.fold, MEDCL_KFOLD_SEED, &t->split));
    }
    if (t->split.n_train < 1) MEDCL_FAIL(MEDCL_ERR_FORMAT, "the split leaves no training case");
    {
        /* OUT/config.json: the effective config; the checkpoints' copy leaves out the output
         * folder (and the device), so runs in different folders write identical files */
        char path[CLI_PATH_MAX + 32], *json = NULL;
        snprintf(path, sizeof path, "%s/config.json", rc->output);
        MEDCL_TRY(cli_config_to_json(rc, &json));
        st = medcl_file_write_atomic(path, json, strlen(json));
        free(json);
        MEDCL_TRY(st);
        cli_config mc = *rc;
        mc.output[0] = 0;
        mc.device[0] = 0;
        MEDCL_TRY(cli_config_to_json(&mc, &t->model_json));
    }
    medcl_context_options co = MEDCL_CONTEXT_OPTIONS_INIT;
    co.device = rc->device[0] ? rc->device : NULL;
    MEDCL_TRY(medcl_context_create(&co, &t->ctx));
    t->B = rc->training.batch;
    memcpy(t->patch, rc->training.patch, sizeof t->patch);
    t->steps_per_epoch = rc->training.iterations;
    t->total_steps = (int64_t)rc->training.epochs * rc->training.iterations;
    /* model, optimizer */
    MEDCL_TRY(medcl_graph_create(t->ctx, &t->g));
    MEDCL_TRY(cli_model_build(t->g, rc, t->B, true, &t->m));
    medcl_graph_compile_options gco = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
    gco.init_seed = rc->seed;
    MEDCL_TRY(medcl_graph_compile(t->g, &gco));
    MEDCL_TRY(medcl_optim_create(t->ctx, &rc->optimizer, &t->o));
    MEDCL_TRY(medcl_optim_add_graph(t->o, t->g));
    MEDCL_TRY(medcl_lr_check(&rc->schedule));
    /* augmentation: the patch is cut larger when a spatial transform comes first */
    if (rc->augmentation_json) MEDCL_TRY(medcl_augment_pipeline_from_json(rc->augmentation_json, &t->pl));
    else MEDCL_TRY(medcl_augment_preset(rc->augmentation_preset, rc->model.dims, t->patch, &t->pl));
    memcpy(t->source, t->patch, sizeof t->source);
    const medcl_augment_transform *t0 = medcl_augment_pipeline_get(t->pl, 0);
    if (t0 && t0->kind == MEDCL_AUGMENT_SPATIAL && rc->task == CLI_TASK_SEGMENTATION)
        for (int k = 3 - rc->model.dims; k < 3; k++) t->source[k] = t->patch[k] + 2 * ((t->patch[k] * 21 + 99) / 100);
    /* loader */
    medcl_loader_options lo = MEDCL_LOADER_OPTIONS_INIT;
    lo.batch_size = (int)t->B;
    lo.threads = rc->training.threads;
    lo.prefetch = rc->training.prefetch;
    lo.batches_per_epoch = rc->training.iterations;
    lo.seed = rc->seed;
    lo.sampler.slice_axis = rc->model.dims == 2 ? 0 : -1;
    memcpy(lo.sampler.patch, t->patch, sizeof t->patch);
    memcpy(lo.sampler.source_patch, t->source, sizeof t->source);
    lo.sampler.oversample_fg = (float)rc->training.oversample_foreground;
    lo.interrupt = t->opt->interrupt;
    /* resume: the checkpoint gives the step; the loader's earlier batches are drawn and dropped */
    snprintf(t->path_latest, sizeof t->path_latest, "%s/latest.safetensors", rc->output);
    snprintf(t->path_best, sizeof t->path_best, "%s/best.safetensors", rc->output);
    snprintf(t->path_final, sizeof t->path_final, "%s/final.safetensors", rc->output);
    t->best_metric = -INFINITY;
    t->best_epoch = -1;
    if (t->opt->resume) {
        struct stat sb;
        if (stat(t->path_latest, &sb) != 0)
            MEDCL_FAIL(MEDCL_ERR_NOT_FOUND, "--resume: %s: %s", t->path_latest, strerror(errno));
        medcl_checkpoint_info info = MEDCL_CHECKPOINT_INFO_INIT;
        MEDCL_TRY(medcl_checkpoint_load(t->path_latest, t->g, t->o, &info));
        if (info.rng_seed != rc->seed)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "--resume: %s was trained with seed %" PRIu64 ", the config says %" PRIu64,
                              t->path_latest, info.rng_seed, rc->seed);
        *start_step = info.step;
        medcl_safetensors *f = NULL;
        if (medcl_safetensors_read(t->path_latest, &f) == MEDCL_OK) {
            const char *b = medcl_safetensors_meta(f, "cli.best_metric"), *e = medcl_safetensors_meta(f, "cli.best_epoch");
            if (b) t->best_metric = strtod(b, NULL);
            if (e) t->best_epoch = strtoll(e, NULL, 10);
            medcl_safetensors_close(f);
        }
    }
    MEDCL_TRY(medcl_loader_create(t->ctx, t->ds, t->split.train, t->split.n_train, &lo, &t->loader));
    for (int64_t k = 0; k < *start_step; k++) {
        medcl_batch b;
        MEDCL_TRY(medcl_loader_next(t->loader, &b));
    }
    MEDCL_TRY(curves_open(t, *start_step));
    /* step buffers */
    int64_t vs[5] = {t->B, rc->model.in_channels, t->patch[0], t->patch[1], t->patch[2]};
    MEDCL_TRY(medcl_tensor_view_reshape(medcl_graph_tensor(t->g, t->m.image), 5, vs, &t->img_view));
    if (rc->task == CLI_TASK_SEGMENTATION) {
        int64_t ls[5] = {t->B, 1, t->patch[0], t->patch[1], t->patch[2]};
        MEDCL_TRY(medcl_tensor_create_f32(t->ctx, "train.labels", 5, ls, &t->lab_aug));
        int64_t nv = t->B * t->patch[0] * t->patch[1] * t->patch[2];
        t->lab_host = malloc((size_t)nv * sizeof(float));
        if (!t->lab_host) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "train: out of memory");
        for (int i = 0; i < t->m.nheads; i++) {
            t->head_host[i] = malloc((size_t)nv * sizeof(int32_t));
            if (!t->head_host[i]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "train: out of memory");
        }
    } else {
        t->head_host[0] = malloc((size_t)t->B * sizeof(int32_t));
        if (!t->head_host[0]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "train: out of memory");
    }
cleanup:
    return st;
}

/* ================================================================== one step */

/* Puts batch b, augmented, into the graph inputs. */
static medcl_status feed(trainer *t, const medcl_batch *b) {
    medcl_status st = MEDCL_OK;
    medcl_graph *g = t->g;
    uint32_t sample0 = b->index * (uint32_t)t->B;
    bool empty = medcl_augment_pipeline_count(t->pl) == 0;
    bool cut = memcmp(t->source, t->patch, sizeof t->patch) != 0;
    if (t->rc.task == CLI_TASK_CLASSIFICATION) {
        MEDCL_TRY(medcl_tensor_copy(t->img_view, b->image_dev));
        if (!empty) MEDCL_TRY(medcl_augment_pipeline_apply(t->pl, t->img_view, NULL, t->rc.seed, b->epoch, sample0));
        for (int64_t i = 0; i < t->B; i++) t->head_host[0][i] = b->class_label[i];
        st = medcl_tensor_upload(medcl_graph_tensor(g, t->m.targets[0]), t->head_host[0],
                                 (size_t)t->B * sizeof(int32_t));
        goto cleanup;
    }
    const float *labels = t->lab_host;
    int64_t nv = t->B * t->patch[0] * t->patch[1] * t->patch[2];
    if (cut) {
        MEDCL_TRY(medcl_augment_pipeline_apply_to(t->pl, b->image_dev, b->label_dev, t->img_view, t->lab_aug, t->rc.seed,
                                                  b->epoch, sample0));
        MEDCL_TRY(medcl_tensor_download(t->lab_aug, t->lab_host, (size_t)nv * sizeof(float)));
    } else if (!empty) {
        MEDCL_TRY(medcl_tensor_copy(t->img_view, b->image_dev));
        MEDCL_TRY(medcl_tensor_copy(t->lab_aug, b->label_dev));
        MEDCL_TRY(medcl_augment_pipeline_apply(t->pl, t->img_view, t->lab_aug, t->rc.seed, b->epoch, sample0));
        MEDCL_TRY(medcl_tensor_download(t->lab_aug, t->lab_host, (size_t)nv * sizeof(float)));
    } else {
        MEDCL_TRY(medcl_tensor_copy(t->img_view, b->image_dev));
        labels = b->label;
    }
    /* f32 labels → i32 per head, nearest down-sampling (floor(o * in / out)) */
    for (int i = 0; i < t->m.nheads; i++) {
        medcl_tensor *tt = medcl_graph_tensor(g, t->m.targets[i]);
        int nd = medcl_tensor_ndim(tt);
        int64_t o[3] = {1, 1, 1};
        for (int k = 0; k < nd - 2; k++) o[3 - (nd - 2) + k] = medcl_tensor_dim(tt, 2 + k);
        int32_t *dst = t->head_host[i];
        int64_t q = 0;
        for (int64_t s = 0; s < t->B; s++)
            for (int64_t z = 0; z < o[0]; z++)
                for (int64_t y = 0; y < o[1]; y++)
                    for (int64_t x = 0; x < o[2]; x++) {
                        int64_t sz = z * t->patch[0] / o[0], sy = y * t->patch[1] / o[1], sx = x * t->patch[2] / o[2];
                        dst[q++] = (int32_t)labels[((s * t->patch[0] + sz) * t->patch[1] + sy) * t->patch[2] + sx];
                    }
        MEDCL_TRY(medcl_tensor_upload(tt, dst, (size_t)q * sizeof(int32_t)));
    }
cleanup:
    return st;
}

static void fmt_time(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 1e8) {
        snprintf(buf, n, "--:--");
        return;
    }
    long long x = (long long)(s + 0.5);
    if (x >= 3600) snprintf(buf, n, "%lld:%02lld:%02lld", x / 3600, x / 60 % 60, x % 60);
    else snprintf(buf, n, "%02lld:%02lld", x / 60, x % 60);
}

/* ================================================================== the loop */

medcl_status cli_train_run(const cli_config *cfg, const cli_train_options *opt) {
    medcl_status st = MEDCL_OK;
    trainer t;
    memset(&t, 0, sizeof t);
    t.opt = opt;
    cli_config_init(&t.rc);
    t.rc = *cfg;
    t.rc.augmentation_json = cfg->augmentation_json ? strdup(cfg->augmentation_json) : NULL;
    int64_t step = 0, start = 0;
    MEDCL_TRY(setup(&t, &start));
    step = start;
    const cli_config *rc = &t.rc;
    fprintf(stderr, "medcl train: %s, %s %dD, %lld parameters, %d training / %d validation cases, patch %lldx%lldx%lld, "
            "batch %lld, %d epochs x %d steps%s\n",
            medcl_context_device(t.ctx)->name, rc->model.kind == CLI_MODEL_UNET ? "U-Net" : "classifier", rc->model.dims,
            (long long)medcl_graph_param_numel(t.g), t.split.n_train, t.split.n_val, (long long)t.patch[0],
            (long long)t.patch[1], (long long)t.patch[2], (long long)t.B, rc->training.epochs, rc->training.iterations,
            start ? " (resumed)" : "");
    if (start) fprintf(stderr, "medcl train: resuming at step %lld (epoch %lld)\n", (long long)start,
                       (long long)(start / t.steps_per_epoch));
    double t0 = now_s(), loss_sum = 0;
    int64_t loss_n = 0, run_steps = 0, saved_step = start;
    int log_every = rc->training.iterations >= 10 ? rc->training.iterations / 10 : 1;
    while (step < t.total_steps) {
        int64_t epoch = step / t.steps_per_epoch, index = step % t.steps_per_epoch;
        double lr = medcl_lr_at(&rc->schedule, epoch);
        medcl_batch b;
        st = medcl_loader_next(t.loader, &b);
        if (st == MEDCL_ERR_INTERRUPTED && opt->interrupt && *opt->interrupt) {
            /* the signal stopped the loader before this step: save where we are */
            if (opt->progress) fputc('\n', stderr);
            if (saved_step != step && run_steps > 0) MEDCL_TRY(save_checkpoint(&t, t.path_latest, step));
            fflush(t.curves);
            fprintf(stderr, "medcl train: interrupted after step %lld; saved %s (resume with --resume)\n",
                    (long long)step, t.path_latest);
            MEDCL_FAIL(MEDCL_ERR_INTERRUPTED, "interrupted after step %lld; %s saved", (long long)step, t.path_latest);
        }
        MEDCL_TRY(st);
        MEDCL_TRY(feed(&t, &b));
        medcl_step_stats ss;
        MEDCL_TRY(medcl_train_step(t.g, t.o, lr, &ss));
        if (!isfinite(ss.loss)) {
            char cases[256];
            size_t len = 0;
            cases[0] = 0;
            for (int64_t s = 0; s < t.B && len < sizeof cases; s++) {
                const medcl_case *c = medcl_dataset_case(t.ds, b.case_index[s]);
                len += (size_t)snprintf(cases + len, sizeof cases - len, "%s%s", s ? ", " : "", c ? c->id : "?");
            }
            if (opt->progress) fputc('\n', stderr);
            char kept[CLI_PATH_MAX + 128];
            if (saved_step > 0)
                snprintf(kept, sizeof kept, "%s is from step %lld", t.path_latest, (long long)saved_step);
            else
                snprintf(kept, sizeof kept, "no checkpoint was written");
            MEDCL_FAIL(MEDCL_ERR_NUMERIC, "step %lld (epoch %lld, batch %lld): the loss is %g (gradient norm %g) on "
                       "cases %s; stopped without saving (%s)", (long long)step + 1, (long long)epoch + 1,
                       (long long)index + 1, (double)ss.loss, (double)ss.grad_norm, cases, kept);
        }
        if (ss.skipped)
            fprintf(stderr, "%smedcl train: step %lld: gradient norm %g is not finite; update skipped\n",
                    opt->progress ? "\n" : "", (long long)step, (double)ss.grad_norm);
        step++;
        run_steps++;
        loss_sum += ss.loss;
        loss_n++;
        fprintf(t.curves, "train,%lld,%lld,%.9g,%.9g,%.9g,\n", (long long)epoch, (long long)step, (double)ss.loss, lr,
                (double)ss.grad_norm);
        double el = now_s() - t0, ips = (double)(run_steps * t.B) / (el > 0 ? el : 1e-9);
        char eta[32];
        fmt_time(eta, sizeof eta, el / (double)run_steps * (double)(t.total_steps - step));
        if (opt->progress) {
            fprintf(stderr, "\repoch %lld/%d  step %lld/%lld  loss %.4f  lr %.2e  %.1f img/s  ETA %s   ",
                    (long long)epoch + 1, rc->training.epochs, (long long)index + 1, (long long)t.steps_per_epoch,
                    (double)ss.loss, lr, ips, eta);
            fflush(stderr);
        } else if (!opt->quiet && ((index + 1) % log_every == 0)) {
            fprintf(stderr, "epoch %lld/%d step %lld/%lld loss %.4f lr %.3e %.1f img/s ETA %s\n", (long long)epoch + 1,
                    rc->training.epochs, (long long)index + 1, (long long)t.steps_per_epoch, (double)ss.loss, lr, ips,
                    eta);
        }
        bool epoch_end = step % t.steps_per_epoch == 0;
        if (epoch_end) {
            int64_t e1 = step / t.steps_per_epoch; /* epochs done */
            double metric = NAN;
            bool val = rc->task == CLI_TASK_SEGMENTATION && t.split.n_val > 0 && rc->validation.every > 0 &&
                       (e1 % rc->validation.every == 0 || step == t.total_steps);
            if (val) {
                MEDCL_TRY(validate(&t, &metric));
                fprintf(t.curves, "val,%lld,%lld,,,,%.9g\n", (long long)e1 - 1, (long long)step, metric);
            }
            if (opt->progress) fputc('\n', stderr);
            fprintf(stderr, "epoch %lld/%d done: mean loss %.4f%s", (long long)e1, rc->training.epochs,
                    loss_sum / (double)(loss_n ? loss_n : 1), val ? ", validation Dice " : "");
            if (val) fprintf(stderr, "%.4f", metric);
            fputc('\n', stderr);
            loss_sum = 0;
            loss_n = 0;
            if (val && !isnan(metric) && metric > t.best_metric) {
                t.best_metric = metric;
                t.best_epoch = e1;
                MEDCL_TRY(save_checkpoint(&t, t.path_best, step));
            }
            MEDCL_TRY(save_checkpoint(&t, t.path_latest, step));
            saved_step = step;
            fflush(t.curves);
        }
        bool stop = (opt->interrupt && *opt->interrupt) || (opt->stop_after > 0 && run_steps >= opt->stop_after);
        if (stop && step < t.total_steps) {
            if (opt->progress) fputc('\n', stderr);
            if (saved_step != step) MEDCL_TRY(save_checkpoint(&t, t.path_latest, step));
            fflush(t.curves);
            fprintf(stderr, "medcl train: interrupted after step %lld; saved %s (resume with --resume)\n",
                    (long long)step, t.path_latest);
            MEDCL_FAIL(MEDCL_ERR_INTERRUPTED, "interrupted after step %lld; %s saved", (long long)step, t.path_latest);
        }
    }
    if (saved_step != step) MEDCL_TRY(save_checkpoint(&t, t.path_latest, step));
    MEDCL_TRY(save_checkpoint(&t, t.path_final, step));
    if (t.best_epoch < 0) {
        /* no validation ran: best is the final model */
        MEDCL_TRY(save_checkpoint(&t, t.path_best, step));
    }
    fprintf(stderr, "medcl train: done in %.1f s; checkpoints in %s (final.safetensors, best.safetensors%s)\n",
            now_s() - t0, rc->output, t.best_epoch >= 0 ? "" : " = final: no validation");
    if (t.best_epoch >= 0)
        fprintf(stderr, "medcl train: best validation Dice %.4f at epoch %lld\n", t.best_metric, (long long)t.best_epoch);
cleanup:
    trainer_free(&t);
    return st;
}
