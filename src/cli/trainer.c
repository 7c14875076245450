/* src/cli/trainer.c — `medcl train`'s loop (trainer.h): dataset and split from the config,
 * model graph, optimizer, poly/cosine/step schedule per epoch, loader + device augmentation,
 * one training step per batch with a NaN check, validation Dice by sliding-window inference,
 * atomic checkpoints (latest each epoch and on a signal, best, final), curves.csv, resume.
 * Generalization and continual learning (docs/CONFIG.md): simulated-scanner domains of the
 * built-in slices, dropout (per-stage rates of the U-Net builder), label smoothing, mixup and
 * cutmix into soft targets, FGSM/PGD adversarial training, the per-domain held-out protocol
 * with bootstrap intervals and robustness under FGSM/PGD (evaluation.json), and continual
 * stages with fine-tuning, EWC, LwF or replay (stage checkpoints, continual.json, R heat map).
 *
 * Determinism: batch (epoch, index) and its augmentation depend only on (seed, epoch, index),
 * the learning rate only on the epoch, and the checkpoint holds parameters, optimizer state,
 * the step and the dropout RNG step, so a resumed run repeats the bits of an uninterrupted one
 * on one device.
 *
 * Known costs (see the report): labels are converted f32 → i32 (and nearest down-sampled for
 * the deep-supervision heads) on the host, which reads the augmented labels back once per
 * step in addition to the step's statistics; resume skips the loader's earlier batches by
 * drawing them. Leaves out: classification validation metrics beyond accuracy, CT
 * normalization at validation (needs the training set's statistics), --resume of continual
 * runs, robustness of cases larger than the patch. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "cli/trainer.h"

#include "core/internal.h"
#include "medcl/augment.h"
#include "medcl/continual.h"
#include "medcl/protocol.h"
#include "medcl/transfer.h"

#include <cjson/cJSON.h>
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
 * from the files (channels from the first case's _NNNN (channel index, 0000, 0001, ...) files, classes from the config). */
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
/* The shifts of a simulated scanner (config.c lists the names): the library's four built-in
 * scanners (medcl_eval_scanners), "clean", and three site profiles for the three-domain
 * synthetic set. */
static int scanner_shifts(const char *name, medcl_eval_shift *sh) {
    if (!strcmp(name, "site_a")) { /* low contrast, mild noise */
        sh[0] = (medcl_eval_shift){MEDCL_AUGMENT_CONTRAST, 0.7};
        sh[1] = (medcl_eval_shift){MEDCL_AUGMENT_GAUSSIAN_NOISE, 0.15};
        return 2;
    }
    if (!strcmp(name, "site_b")) { /* strong bias field, brighter */
        sh[0] = (medcl_eval_shift){MEDCL_AUGMENT_BIAS_FIELD, 0.5};
        sh[1] = (medcl_eval_shift){MEDCL_AUGMENT_BRIGHTNESS_ADD, 0.5};
        return 2;
    }
    if (!strcmp(name, "site_c")) { /* gamma, blur and ghosting */
        sh[0] = (medcl_eval_shift){MEDCL_AUGMENT_GAMMA, 2.0};
        sh[1] = (medcl_eval_shift){MEDCL_AUGMENT_GAUSSIAN_BLUR, 1.0};
        sh[2] = (medcl_eval_shift){MEDCL_AUGMENT_GHOSTING, 0.3};
        return 3;
    }
    int n = 0;
    const medcl_eval_scanner *sc = medcl_eval_scanners(&n);
    for (int i = 0; i < n; i++)
        if (!strcmp(sc[i].name, name)) {
            for (int k = 0; k < sc[i].num_shifts; k++) sh[k] = sc[i].shifts[k];
            return sc[i].num_shifts;
        }
    return 0; /* "clean" */
}

static medcl_status prepare_builtin(const cli_config *c, medcl_context *ctx, const char *root, int64_t multiple,
                                    int64_t *h, int64_t *w, char *source, size_t source_cap) {
    medcl_status st = MEDCL_OK;
    medcl_slice_set *s = NULL;
    medcl_eval_set base = {0}, shifted = {0};
    char *domains = NULL;
    size_t dlen = 0, dcap = 0;
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
    int nsc = c->dataset.n_scanners ? c->dataset.n_scanners : 1;
    MEDCL_TRY(medcl_volume_create(dim, &v));
    MEDCL_TRY(medcl_volume_create(dim, &lv));
    for (medcl_volume *x = v; x; x = x == v ? lv : NULL) {
        x->nifti.pixdim[0] = 1;
        x->nifti.pixdim[1] = s->spacing[1];
        x->nifti.pixdim[2] = s->spacing[0];
        x->nifti.pixdim[3] = 1;
        x->nifti.xyzt_units = 2; /* mm */
    }
    if (c->dataset.n_scanners) MEDCL_TRY(medcl_eval_set_from_slices(s, 0, s->n, "clean", "clean", 1, &base));
    for (int k = 0; k < nsc; k++) {
        /* one copy of every slice per simulated scanner (fixed strengths, seeded) */
        const medcl_eval_set *src = NULL;
        if (c->dataset.n_scanners) {
            medcl_eval_shift sh[MEDCL_EVAL_MAX_SHIFTS];
            int nsh = scanner_shifts(c->dataset.scanners[k], sh);
            src = &base;
            if (nsh) {
                MEDCL_TRY(medcl_eval_set_shift(ctx, &base, sh, nsh, c->seed + 1000u + (uint64_t)k,
                                               c->dataset.scanners[k], &shifted));
                src = &shifted;
            }
        }
        for (int64_t i = 0; i < s->n; i++) {
            char id[96];
            if (c->dataset.n_scanners) snprintf(id, sizeof id, "%s_slice%04lld", c->dataset.scanners[k], (long long)i);
            else snprintf(id, sizeof id, "slice%04lld", (long long)i);
            memcpy(v->data, src ? src->cases[i].image : s->images + i * hw, (size_t)hw * sizeof(float));
            for (int64_t q = 0; q < hw; q++) lv->data[q] = s->labels[i * hw + q];
            snprintf(path, sizeof path, "%s/imagesTr/%s_0000.nii", root, id);
            MEDCL_TRY(medcl_nifti_write(path, v, MEDCL_NIFTI_F32, NULL));
            snprintf(path, sizeof path, "%s/labelsTr/%s.nii", root, id);
            MEDCL_TRY(medcl_nifti_write(path, lv, MEDCL_NIFTI_U8, NULL));
            if (c->dataset.n_scanners) {
                if (dlen + 200 > dcap) {
                    dcap = 2 * dcap + 4096;
                    char *nd = realloc(domains, dcap);
                    if (!nd) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
                    domains = nd;
                }
                dlen += (size_t)snprintf(domains + dlen, dcap - dlen, "%s\"%s\": \"%s\"", dlen ? ", " : "", id,
                                         c->dataset.scanners[k]);
            }
        }
        medcl_eval_set_release(&shifted);
    }
    {
        size_t jcap = dlen + 1024;
        char *json = malloc(jcap);
        if (!json) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
        snprintf(json, jcap,
                 "{\"channel_names\": {\"0\": \"noNorm\"}, \"labels\": {\"background\": 0, \"%s\": 1}, "
                 "\"numTraining\": %lld, \"file_ending\": \".nii\", \"description\": \"medcl built-in %s slices\"%s%s%s}\n",
                 c->dataset.kind == CLI_DATASET_DEMO_BRAIN ? "brain" : "phantom", (long long)s->n * nsc,
                 cli_dataset_kind_str(c->dataset.kind), domains ? ", \"domains\": {" : "", domains ? domains : "",
                 domains ? "}" : "");
        snprintf(path, sizeof path, "%s/dataset.json", root);
        st = medcl_file_write_atomic(path, json, strlen(json));
        free(json);
        MEDCL_TRY(st);
    }
cleanup:
    free(domains);
    medcl_eval_set_release(&shifted);
    medcl_eval_set_release(&base);
    medcl_volume_free(v);
    medcl_volume_free(lv);
    medcl_slice_set_free(s);
    return st;
}

/* Opens the dataset and fills the resolved fields of rc (channels, classes, normalization,
 * whole-slice patch of built-in data). */
static medcl_status open_dataset(cli_config *rc, medcl_context *ctx, medcl_dataset **out) {
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
        MEDCL_TRY(prepare_builtin(rc, ctx, root, multiple, &h, &w, source, sizeof source));
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

static bool cfg_mix(const cli_config *c) { return c->regularizers.mixup_p > 0 || c->regularizers.cutmix_p > 0; }

medcl_status cli_model_build(medcl_graph *g, const cli_config *c, int64_t B, bool training, cli_model *m) {
    return cli_model_build_ex(g, c, B, training, false, m);
}

medcl_status cli_model_build_ex(medcl_graph *g, const cli_config *c, int64_t B, bool training, bool lwf,
                                cli_model *m) {
    medcl_status st = MEDCL_OK;
    memset(m, 0, sizeof *m);
    m->soft = MEDCL_NODE_NONE;
    m->teacher_probs = MEDCL_NODE_NONE;
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
        /* nnU-Net's ConvDropoutNormReLU: the builder places a dropout node per convolution of
         * each stage whose rate is > 0 */
        for (int s = 0; s < MEDCL_UNET_MAX_LEVELS; s++) u.dropout[s] = (float)cli_dropout_at(c, s);
        u.dropout_seed = c->seed;
        MEDCL_TRY(medcl_unet_build(g, &u, m->image, &m->unet));
        m->logits = m->unet.logits;
        m->nheads = m->unet.nheads;
        if (training) {
            medcl_node tg[MEDCL_UNET_MAX_LEVELS];
            if (cfg_mix(c)) {
                /* mixup / cutmix: one full-resolution f32 soft target, down-sampled on the device */
                int64_t ss[5] = {B, c->model.num_classes, 0, 0, 0};
                for (int k = 0; k < dims; k++) ss[2 + k] = xs[2 + k];
                m->soft = medcl_graph_input(g, "soft_label", MEDCL_DTYPE_F32, dims + 2, ss);
                tg[0] = m->soft;
                for (int i = 1; i < m->nheads; i++) {
                    tg[i] = MEDCL_NODE_NONE;
                    if (m->unet.head_weights[i] == 0.0) continue;
                    medcl_downsample_params dp = MEDCL_DOWNSAMPLE_PARAMS_INIT;
                    for (int a = 0; a < 3; a++) dp.factor[a] = 1 << i;
                    char name[32];
                    snprintf(name, sizeof name, "soft_label.ds%d", i);
                    tg[i] = medcl_graph_named(g, medcl_graph_downsample_nearest(g, m->soft, &dp), name);
                }
            } else {
                for (int i = 0; i < m->nheads; i++) {
                    int nd = 0;
                    int64_t hs[MEDCL_MAX_DIMS];
                    MEDCL_TRY(medcl_graph_node_shape(g, m->unet.heads[i], &nd, hs));
                    hs[1] = 1;
                    char name[32];
                    snprintf(name, sizeof name, "label%d", i);
                    m->targets[i] = medcl_graph_input(g, name, MEDCL_DTYPE_I32, nd, hs);
                    tg[i] = m->targets[i];
                }
            }
            if (c->loss == CLI_LOSS_DICE_CE) {
                medcl_dice_ce_loss_params dc = MEDCL_DICE_CE_LOSS_PARAMS_INIT;
                dc.ce.label_smoothing = (float)c->regularizers.label_smoothing;
                m->loss = medcl_unet_loss(g, &m->unet, tg, &dc);
            } else {
                medcl_node sum = MEDCL_NODE_NONE;
                for (int i = 0; i < m->nheads; i++) {
                    double w = m->nheads == 1 ? 1.0 : m->unet.head_weights[i];
                    if (w == 0.0) continue;
                    medcl_node l;
                    if (c->loss == CLI_LOSS_CE) {
                        medcl_ce_loss_params p = MEDCL_CE_LOSS_PARAMS_INIT;
                        p.label_smoothing = (float)c->regularizers.label_smoothing;
                        l = medcl_graph_ce_loss(g, m->unet.heads[i], tg[i], &p);
                    } else {
                        medcl_dice_loss_params p = MEDCL_DICE_LOSS_PARAMS_INIT;
                        l = medcl_graph_dice_loss(g, m->unet.heads[i], tg[i], &p);
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
            p.label_smoothing = (float)c->regularizers.label_smoothing;
            m->loss = medcl_graph_ce_loss(g, m->logits, m->targets[0], &p);
        }
    }
    if (training && lwf) {
        /* LwF: lambda * T^2 * CE_soft(student / T, q) with q the previous model's softened
         * probabilities, filled every step (medcl/continual.h) */
        int nd = 0;
        int64_t ls[MEDCL_MAX_DIMS];
        MEDCL_TRY(medcl_graph_node_shape(g, m->logits, &nd, ls));
        m->teacher_probs = medcl_graph_input(g, "lwf.teacher_probs", MEDCL_DTYPE_F32, nd, ls);
        medcl_lwf_params lp = MEDCL_LWF_PARAMS_INIT;
        lp.temperature = (float)c->continual.temperature;
        medcl_node l = medcl_lwf_graph_loss(g, m->logits, m->teacher_probs, &lp, (float)c->continual.lambda);
        m->loss = medcl_graph_add(g, m->loss, l);
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

#define MAXD CLI_CONFIG_MAX_DOMAINS

typedef struct trainer {
    const cli_train_options *opt;
    cli_config rc;            /* resolved config */
    char *model_json;         /* effective config (checkpoint metadata, config.json) */
    medcl_context *ctx;
    medcl_dataset *ds;
    medcl_split split;
    /* per-domain protocol: each domain's cases split by the k-fold into training and held-out
     * test cases (the same slices of every simulated scanner are held out) */
    bool per_domain;
    int ndom;
    int *dom_train[MAXD], n_dom_train[MAXD], *dom_test[MAXD], n_dom_test[MAXD];
    medcl_eval_set sets[MAXD];          /* held-out test cases of each domain (host copies) */
    medcl_eval_case *set_cases[MAXD];
    bool sets_loaded;
    int stage;                          /* continual stage, -1 for a single run */
    /* the model of the current run / stage */
    medcl_graph *g;
    cli_model m;
    medcl_optim *o;
    medcl_augment_pipeline *pl;
    medcl_loader *loader;
    medcl_tensor *img_view;   /* graph image input viewed as (B, C, D, H, W) */
    medcl_tensor *lab_aug;    /* (B, 1, D, H, W) f32 augmented labels */
    medcl_tensor *mix_img;    /* (B, C, D, H, W) mixed images */
    medcl_tensor *soft_view;  /* soft-target input viewed as (B, K, D, H, W) */
    medcl_tensor *stats_slot; /* the optimizer's loss slot */
    int32_t *head_host[MEDCL_UNET_MAX_LEVELS];
    medcl_adversary *adv;     /* adversarial training / robustness evaluation */
    medcl_ewc *ewc;
    medcl_graph *teacher;     /* LwF: the previous stage's model */
    cli_model tm;
    int64_t patch[3], source[3];
    int64_t B, steps_per_epoch, total_steps;
    double best_metric;
    int64_t best_epoch;
    FILE *curves;
    char path_latest[CLI_PATH_MAX + 64], path_best[CLI_PATH_MAX + 64], path_final[CLI_PATH_MAX + 64];
} trainer;

static void stage_free(trainer *t) {
    medcl_loader_destroy(t->loader);
    medcl_tensor_destroy(t->img_view);
    medcl_tensor_destroy(t->lab_aug);
    medcl_tensor_destroy(t->mix_img);
    medcl_tensor_destroy(t->soft_view);
    medcl_tensor_destroy(t->stats_slot);
    for (int i = 0; i < MEDCL_UNET_MAX_LEVELS; i++) free(t->head_host[i]);
    medcl_adversary_destroy(t->adv);
    medcl_ewc_destroy(t->ewc);
    medcl_graph_destroy(t->teacher);
    medcl_augment_pipeline_destroy(t->pl);
    medcl_optim_destroy(t->o);
    medcl_graph_destroy(t->g);
    t->loader = NULL;
    t->img_view = t->lab_aug = t->mix_img = t->soft_view = t->stats_slot = NULL;
    memset(t->head_host, 0, sizeof t->head_host);
    t->adv = NULL;
    t->ewc = NULL;
    t->teacher = NULL;
    t->pl = NULL;
    t->o = NULL;
    t->g = NULL;
}

static void trainer_free(trainer *t) {
    if (t->curves) fclose(t->curves);
    stage_free(t);
    for (int d = 0; d < MAXD; d++) {
        free(t->dom_train[d]);
        free(t->dom_test[d]);
        if (t->set_cases[d])
            for (int64_t i = 0; i < t->sets[d].num_cases; i++) {
                free((void *)t->set_cases[d][i].image);
                free((void *)t->set_cases[d][i].label);
                free((void *)t->set_cases[d][i].id);
            }
        free(t->set_cases[d]);
    }
    medcl_split_free(&t->split);
    medcl_dataset_destroy(t->ds);
    medcl_context_destroy(t->ctx);
    free(t->model_json);
    cli_config_free(&t->rc);
}

static medcl_status save_checkpoint_meta(trainer *t, const char *path, int64_t step, const medcl_st_meta *more,
                                         int nmore) {
    char best[64], best_epoch[32], rng[32];
    snprintf(best, sizeof best, "%.17g", t->best_metric);
    snprintf(best_epoch, sizeof best_epoch, "%" PRId64, t->best_epoch);
    snprintf(rng, sizeof rng, "%" PRIu64, medcl_graph_rng_step(t->g));
    medcl_st_meta extra[8] = {{"cli.best_metric", best}, {"cli.best_epoch", best_epoch}, {"cli.rng_step", rng}};
    int n = 3;
    for (int i = 0; i < nmore && n < 8; i++) extra[n++] = more[i];
    medcl_checkpoint_info info = MEDCL_CHECKPOINT_INFO_INIT;
    info.model_json = t->model_json;
    info.step = step;
    info.epoch = step / t->steps_per_epoch;
    info.rng_seed = t->rc.seed;
    info.rng_counter = (uint64_t)step;
    info.extra = extra;
    info.nextra = n;
    return medcl_checkpoint_save(path, t->g, t->o, &info);
}

static medcl_status save_checkpoint(trainer *t, const char *path, int64_t step) {
    return save_checkpoint_meta(t, path, step, NULL, 0);
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
 * patch and the training graph, in evaluation mode, as the predictor). NAN when no case has
 * foreground. */
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
    MEDCL_TRY(medcl_graph_set_training(t->g, false));
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
    if (t->g) medcl_graph_set_training(t->g, true);
    free(pred);
    medcl_tensor_destroy(img);
    medcl_tensor_destroy(lab);
    medcl_case_free(cd);
    return st;
}

/* ================================================================== per-domain evaluation */

/* Splits every domain's cases by the k-fold (dataset.folds, dataset.fold) into training and
 * held-out test cases; with simulated scanners the case order is the same in every domain, so
 * the same slices are held out everywhere. */
static medcl_status domain_splits(trainer *t) {
    medcl_status st = MEDCL_OK;
    medcl_split ks = {0};
    int *idx = NULL;
    int n = medcl_dataset_count(t->ds);
    t->ndom = medcl_dataset_domain_count(t->ds);
    if (t->ndom > MAXD) MEDCL_FAIL(MEDCL_ERR_UNSUPPORTED, "dataset has %d domains (at most %d)", t->ndom, MAXD);
    idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
    if (!idx) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "split: out of memory");
    for (int d = 0; d < t->ndom; d++) {
        int nd = 0;
        for (int i = 0; i < n; i++)
            if (medcl_dataset_case(t->ds, i)->domain == d) idx[nd++] = i;
        if (nd < t->rc.dataset.folds)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "domain \"%s\" has %d cases, fewer than $.dataset.folds = %d",
                       medcl_dataset_domain_name(t->ds, d), nd, t->rc.dataset.folds);
        MEDCL_TRY(medcl_split_kfold(nd, t->rc.dataset.folds, t->rc.dataset.fold, MEDCL_KFOLD_SEED, &ks));
        t->dom_train[d] = malloc((size_t)ks.n_train * sizeof(int));
        t->dom_test[d] = malloc((size_t)(ks.n_val ? ks.n_val : 1) * sizeof(int));
        if (!t->dom_train[d] || !t->dom_test[d]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "split: out of memory");
        for (int i = 0; i < ks.n_train; i++) t->dom_train[d][i] = idx[ks.train[i]];
        for (int i = 0; i < ks.n_val; i++) t->dom_test[d][i] = idx[ks.val[i]];
        t->n_dom_train[d] = ks.n_train;
        t->n_dom_test[d] = ks.n_val;
        medcl_split_free(&ks);
    }
cleanup:
    medcl_split_free(&ks);
    free(idx);
    return st;
}

/* t->split from the per-domain lists: training = the training cases of the domains flagged in
 * use (plus extra), validation = their test cases. */
static medcl_status split_from_domains(trainer *t, const bool *use, const int *extra, int nextra) {
    medcl_split_free(&t->split);
    int ntr = nextra, nva = 0;
    for (int d = 0; d < t->ndom; d++)
        if (use[d]) {
            ntr += t->n_dom_train[d];
            nva += t->n_dom_test[d];
        }
    t->split.train = malloc((size_t)(ntr ? ntr : 1) * sizeof(int));
    t->split.val = malloc((size_t)(nva ? nva : 1) * sizeof(int));
    if (!t->split.train || !t->split.val) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "split: out of memory");
    for (int d = 0; d < t->ndom; d++)
        if (use[d]) {
            memcpy(t->split.train + t->split.n_train, t->dom_train[d], (size_t)t->n_dom_train[d] * sizeof(int));
            t->split.n_train += t->n_dom_train[d];
            memcpy(t->split.val + t->split.n_val, t->dom_test[d], (size_t)t->n_dom_test[d] * sizeof(int));
            t->split.n_val += t->n_dom_test[d];
        }
    for (int i = 0; i < nextra; i++) t->split.train[t->split.n_train++] = extra[i];
    return MEDCL_OK;
}

/* Host copies of every domain's held-out test cases (normalized as in training). */
static medcl_status load_sets(trainer *t) {
    medcl_status st = MEDCL_OK;
    medcl_case_data *cd = NULL;
    if (t->sets_loaded) return MEDCL_OK;
    medcl_norm_scheme schemes[CLI_CONFIG_MAX_CHANNELS];
    for (int c = 0; c < t->rc.n_norm; c++) schemes[c] = (medcl_norm_scheme)t->rc.norm_scheme[c];
    for (int d = 0; d < t->ndom; d++) {
        int n = t->n_dom_test[d];
        t->set_cases[d] = calloc((size_t)(n ? n : 1), sizeof(medcl_eval_case));
        if (!t->set_cases[d]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "evaluation: out of memory");
        t->sets[d].name = medcl_dataset_domain_name(t->ds, d);
        if (!t->sets[d].name[0]) t->sets[d].name = "all";
        t->sets[d].domain = t->sets[d].name;
        t->sets[d].cases = t->set_cases[d];
        t->sets[d].num_cases = n;
        for (int i = 0; i < n; i++) {
            medcl_eval_case *ec = &t->set_cases[d][i];
            MEDCL_TRY(medcl_case_load(t->ds, t->dom_test[d][i], false, NULL, &cd));
            MEDCL_TRY(medcl_case_normalize(cd, schemes, NULL, false));
            int64_t nv = cd->dim[0] * cd->dim[1] * cd->dim[2];
            float *img = malloc((size_t)(nv * cd->channels) * sizeof(float));
            int32_t *lab = malloc((size_t)nv * sizeof(int32_t));
            ec->image = img;
            ec->label = lab;
            ec->id = strdup(medcl_dataset_case(t->ds, t->dom_test[d][i])->id);
            if (!img || !lab || !ec->id) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "evaluation: out of memory");
            memcpy(img, cd->image, (size_t)(nv * cd->channels) * sizeof(float));
            for (int64_t q = 0; q < nv; q++) lab[q] = (int32_t)cd->label[q];
            ec->channels = cd->channels;
            memcpy(ec->shape, cd->dim, sizeof ec->shape);
            memcpy(ec->spacing, cd->spacing, sizeof ec->spacing);
            medcl_case_free(cd);
            cd = NULL;
        }
    }
    t->sets_loaded = true;
cleanup:
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

/* Output folder, device, dataset, the split (k-fold, by domain, or per domain), config.json. */
static medcl_status setup_data(trainer *t) {
    medcl_status st = MEDCL_OK;
    cli_config *rc = &t->rc;
    MEDCL_TRY(medcl_mkdir_p(rc->output));
    medcl_context_options co = MEDCL_CONTEXT_OPTIONS_INIT;
    co.device = rc->device[0] ? rc->device : NULL;
    MEDCL_TRY(medcl_context_create(&co, &t->ctx));
    MEDCL_TRY(open_dataset(rc, t->ctx, &t->ds));
    int n = medcl_dataset_count(t->ds);
    t->per_domain = rc->continual.method != CLI_CONTINUAL_NONE || rc->evaluation.domains ||
                    rc->evaluation.robust_method != MEDCL_ADV_NONE;
    if (t->per_domain) {
        MEDCL_TRY(domain_splits(t));
        bool use[MAXD] = {false};
        for (int d = 0; d < t->ndom; d++) use[d] = rc->dataset.n_train_domains == 0;
        for (int i = 0; i < rc->dataset.n_train_domains; i++) {
            int d = medcl_dataset_domain_find(t->ds, rc->dataset.train_domains[i]);
            if (d < 0) MEDCL_FAIL(MEDCL_ERR_FORMAT, "config: $.dataset.train_domains[%d] = \"%s\": no such domain in the "
                                  "dataset", i, rc->dataset.train_domains[i]);
            use[d] = true;
        }
        for (int i = 0; i < rc->continual.n_domains; i++)
            if (medcl_dataset_domain_find(t->ds, rc->continual.domains[i]) < 0)
                MEDCL_FAIL(MEDCL_ERR_FORMAT, "config: $.continual.domains[%d] = \"%s\": no such domain in the dataset",
                           i, rc->continual.domains[i]);
        MEDCL_TRY(split_from_domains(t, use, NULL, 0));
    } else if (rc->dataset.n_train_domains) {
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
    t->B = rc->training.batch;
    memcpy(t->patch, rc->training.patch, sizeof t->patch);
    t->steps_per_epoch = rc->training.iterations;
    t->total_steps = (int64_t)rc->training.epochs * rc->training.iterations;
    snprintf(t->path_latest, sizeof t->path_latest, "%s/latest.safetensors", rc->output);
    snprintf(t->path_best, sizeof t->path_best, "%s/best.safetensors", rc->output);
    snprintf(t->path_final, sizeof t->path_final, "%s/final.safetensors", rc->output);
cleanup:
    return st;
}

/* The model of one run or stage on t->split.train: graph (with the LwF term when teacher is a
 * checkpoint), weights from init (a checkpoint, or NULL for the seeded initialization),
 * optimizer, augmentation, loader, step buffers, adversary, EWC (state from ewc_state, or
 * NULL for an inactive one). */
static medcl_status setup_model(trainer *t, int64_t *start_step, const char *init, const char *teacher,
                                const char *ewc_state) {
    medcl_status st = MEDCL_OK;
    cli_config *rc = &t->rc;
    *start_step = 0;
    MEDCL_TRY(medcl_graph_create(t->ctx, &t->g));
    MEDCL_TRY(cli_model_build_ex(t->g, rc, t->B, true, teacher != NULL, &t->m));
    bool adv_train = rc->regularizers.adversarial.method != MEDCL_ADV_NONE;
    bool robust = rc->evaluation.robust_method != MEDCL_ADV_NONE;
    if (adv_train || robust) MEDCL_TRY(medcl_graph_input_requires_grad(t->g, t->m.image));
    medcl_graph_compile_options gco = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
    gco.init_seed = rc->seed;
    MEDCL_TRY(medcl_graph_compile(t->g, &gco));
    if (init) MEDCL_TRY(cli_load_weights(init, t->g));
    MEDCL_TRY(medcl_optim_create(t->ctx, &rc->optimizer, &t->o));
    MEDCL_TRY(medcl_optim_add_graph(t->o, t->g));
    MEDCL_TRY(medcl_tensor_view_n(medcl_optim_stats_tensor(t->o), 0, 1, &t->stats_slot));
    MEDCL_TRY(medcl_lr_check(&rc->schedule));
    if (adv_train) {
        medcl_adv_config ac = rc->regularizers.adversarial;
        ac.seed = rc->seed;
        MEDCL_TRY(medcl_adversary_create(t->g, t->m.image, &ac, &t->adv));
    }
    if (rc->continual.method == CLI_CONTINUAL_EWC) {
        medcl_ewc_config ec = MEDCL_EWC_CONFIG_INIT;
        ec.lambda = rc->continual.lambda;
        ec.online = true;
        MEDCL_TRY(medcl_ewc_create(t->g, &ec, &t->ewc));
        if (ewc_state) {
            MEDCL_TRY(medcl_ewc_load(t->ewc, ewc_state));
            MEDCL_TRY(medcl_ewc_set_lambda(t->ewc, rc->continual.lambda));
        }
    }
    if (teacher) {
        MEDCL_TRY(medcl_graph_create(t->ctx, &t->teacher));
        MEDCL_TRY(cli_model_build_ex(t->teacher, rc, t->B, false, false, &t->tm));
        medcl_graph_compile_options tco = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
        tco.training = false;
        MEDCL_TRY(medcl_graph_compile(t->teacher, &tco));
        MEDCL_TRY(cli_load_weights(teacher, t->teacher));
    }
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
    lo.seed = rc->seed + (t->stage > 0 ? (uint64_t)t->stage * 0x9e3779b9ull : 0);
    lo.sampler.slice_axis = rc->model.dims == 2 ? 0 : -1;
    memcpy(lo.sampler.patch, t->patch, sizeof t->patch);
    memcpy(lo.sampler.source_patch, t->source, sizeof t->source);
    lo.sampler.oversample_fg = (float)rc->training.oversample_foreground;
    lo.interrupt = t->opt->interrupt;
    /* resume: the checkpoint gives the step; the loader's earlier batches are drawn and dropped */
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
            const char *r = medcl_safetensors_meta(f, "cli.rng_step");
            if (b) t->best_metric = strtod(b, NULL);
            if (e) t->best_epoch = strtoll(e, NULL, 10);
            /* per-step random ops (dropout) continue where they were */
            if (r) st = medcl_graph_set_rng_step(t->g, strtoull(r, NULL, 10));
            medcl_safetensors_close(f);
            MEDCL_TRY(st);
        }
    }
    MEDCL_TRY(medcl_loader_create(t->ctx, t->ds, t->split.train, t->split.n_train, &lo, &t->loader));
    for (int64_t k = 0; k < *start_step; k++) {
        medcl_batch b;
        MEDCL_TRY(medcl_loader_next(t->loader, &b));
    }
    if (!t->curves) MEDCL_TRY(curves_open(t, *start_step));
    /* step buffers */
    int64_t vs[5] = {t->B, rc->model.in_channels, t->patch[0], t->patch[1], t->patch[2]};
    MEDCL_TRY(medcl_tensor_view_reshape(medcl_graph_tensor(t->g, t->m.image), 5, vs, &t->img_view));
    if (rc->task == CLI_TASK_SEGMENTATION) {
        int64_t ls[5] = {t->B, 1, t->patch[0], t->patch[1], t->patch[2]};
        MEDCL_TRY(medcl_tensor_create_f32(t->ctx, "train.labels", 5, ls, &t->lab_aug));
        if (t->m.soft.id >= 0) {
            MEDCL_TRY(medcl_tensor_create_f32(t->ctx, "train.mixed", 5, vs, &t->mix_img));
            int64_t ss[5] = {t->B, rc->model.num_classes, t->patch[0], t->patch[1], t->patch[2]};
            MEDCL_TRY(medcl_tensor_view_reshape(medcl_graph_tensor(t->g, t->m.soft), 5, ss, &t->soft_view));
        }
    } else {
        t->head_host[0] = malloc((size_t)t->B * sizeof(int32_t));
        if (!t->head_host[0]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "train: out of memory");
    }
cleanup:
    return st;
}

/* ================================================================== one step */

/* Label inputs from host labels (B, 1, D, H, W) f32: i32 per head by nearest down-sampling
 * (floor(o * in / out)), or one-hot soft targets on the device (mixing with p = 0). */
/* The loss targets of every head from the device label map (f32, patch size): cast to i32 and
 * down-sampled (nearest, floor rule) on the device, so no label returns to the host. */
static medcl_status set_targets(trainer *t, const medcl_tensor *lab_dev) {
    medcl_status st = MEDCL_OK;
    for (int i = 0; i < t->m.nheads; i++)
        MEDCL_TRY(medcl_labels_to_i32(lab_dev, medcl_graph_tensor(t->g, t->m.targets[i])));
cleanup:
    return st;
}

/* Targets from a host label map (robustness evaluation): uploaded, then as in training; a
 * model trained with soft targets gets the one-hot targets (mix with p = 0). */
static medcl_status set_targets_host(trainer *t, const float *labels, uint32_t epoch, uint32_t sample0) {
    medcl_status st = MEDCL_OK;
    int64_t nv = t->B * t->patch[0] * t->patch[1] * t->patch[2];
    MEDCL_TRY(medcl_tensor_upload(t->lab_aug, labels, (size_t)nv * sizeof(float)));
    if (t->m.soft.id >= 0) {
        medcl_augment_mix mx = MEDCL_AUGMENT_MIX_INIT;
        mx.p = 0.0f;
        mx.num_classes = t->rc.model.num_classes;
        MEDCL_TRY(medcl_augment_mix_apply(&mx, t->img_view, t->lab_aug, t->mix_img, t->soft_view, t->rc.seed, epoch,
                                          sample0));
    } else {
        MEDCL_TRY(set_targets(t, t->lab_aug));
    }
cleanup:
    return st;
}

/* Puts batch b, augmented (and mixed), into the graph inputs. */
static medcl_status feed(trainer *t, const medcl_batch *b) {
    medcl_status st = MEDCL_OK;
    medcl_graph *g = t->g;
    uint32_t sample0 = b->index * (uint32_t)t->B;
    bool empty = medcl_augment_pipeline_count(t->pl) == 0;
    bool cut = memcmp(t->source, t->patch, sizeof t->patch) != 0;
    bool soft = t->m.soft.id >= 0;
    if (t->rc.task == CLI_TASK_CLASSIFICATION) {
        MEDCL_TRY(medcl_tensor_copy(t->img_view, b->image_dev));
        if (!empty) MEDCL_TRY(medcl_augment_pipeline_apply(t->pl, t->img_view, NULL, t->rc.seed, b->epoch, sample0));
        for (int64_t i = 0; i < t->B; i++) t->head_host[0][i] = b->class_label[i];
        st = medcl_tensor_upload(medcl_graph_tensor(g, t->m.targets[0]), t->head_host[0],
                                 (size_t)t->B * sizeof(int32_t));
        goto cleanup;
    }
    const medcl_tensor *lab_dev = t->lab_aug;
    if (cut) {
        MEDCL_TRY(medcl_augment_pipeline_apply_to(t->pl, b->image_dev, b->label_dev, t->img_view, t->lab_aug, t->rc.seed,
                                                  b->epoch, sample0));
    } else if (!empty) {
        MEDCL_TRY(medcl_tensor_copy(t->img_view, b->image_dev));
        MEDCL_TRY(medcl_tensor_copy(t->lab_aug, b->label_dev));
        MEDCL_TRY(medcl_augment_pipeline_apply(t->pl, t->img_view, t->lab_aug, t->rc.seed, b->epoch, sample0));
    } else {
        MEDCL_TRY(medcl_tensor_copy(t->img_view, b->image_dev));
        lab_dev = b->label_dev;
    }
    if (soft) {
        /* mixup / cutmix (both on: even batches mixup, odd cutmix) into soft targets */
        const cli_config *c = &t->rc;
        bool cm = c->regularizers.cutmix_p > 0 && (c->regularizers.mixup_p <= 0 || (b->index & 1u));
        medcl_augment_mix mx = MEDCL_AUGMENT_MIX_INIT;
        mx.mode = cm ? MEDCL_AUGMENT_CUTMIX : MEDCL_AUGMENT_MIXUP;
        mx.alpha = (float)(cm ? c->regularizers.cutmix_alpha : c->regularizers.mixup_alpha);
        mx.p = (float)(cm ? c->regularizers.cutmix_p : c->regularizers.mixup_p);
        mx.num_classes = c->model.num_classes;
        MEDCL_TRY(medcl_augment_mix_apply(&mx, t->img_view, lab_dev, t->mix_img, t->soft_view, c->seed ^ 0x4d49584eull,
                                          b->epoch, sample0));
        MEDCL_TRY(medcl_tensor_copy(t->img_view, t->mix_img));
        goto cleanup;
    }
    MEDCL_TRY(set_targets(t, lab_dev));
cleanup:
    return st;
}

/* One optimizer step with every configured term (medcl/continual.h's recipe): LwF teacher
 * probabilities, clean or mixed clean/adversarial gradients, the EWC penalty gradient, the
 * update, and one read-back of the statistics. */
static medcl_status train_step(trainer *t, double lr, uint32_t step, medcl_step_stats *ss) {
    medcl_status st = MEDCL_OK;
    if (t->teacher) {
        medcl_lwf_params lp = MEDCL_LWF_PARAMS_INIT;
        lp.temperature = (float)t->rc.continual.temperature;
        MEDCL_TRY(medcl_tensor_copy(medcl_graph_tensor(t->teacher, t->tm.image), medcl_graph_tensor(t->g, t->m.image)));
        MEDCL_TRY(medcl_graph_forward(t->teacher));
        MEDCL_TRY(medcl_lwf_teacher_probs(medcl_graph_tensor(t->teacher, t->tm.logits), &lp,
                                          medcl_graph_tensor(t->g, t->m.teacher_probs)));
    }
    if (t->adv) {
        MEDCL_TRY(medcl_adversary_train_backward(t->adv, step));
    } else {
        MEDCL_TRY(medcl_graph_zero_grad(t->g));
        MEDCL_TRY(medcl_graph_forward(t->g));
        MEDCL_TRY(medcl_graph_backward(t->g, 1.0f));
    }
    if (t->ewc && medcl_ewc_active(t->ewc)) MEDCL_TRY(medcl_ewc_add_grad(t->ewc, 1.0f));
    MEDCL_TRY(medcl_optim_step(t->o, lr));
    MEDCL_TRY(medcl_tensor_copy(t->stats_slot, medcl_graph_loss_sum(t->g)));
    MEDCL_TRY(medcl_optim_read_stats(t->o, ss));
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

/* ================================================================== robustness */

/* Dice of n whole cases (each of the patch's shape) through the training graph in evaluation
 * mode, B cases per forward (the last batch padded with its final case); with an adversary the
 * input is attacked first (following d loss / d input of the training loss). vals[i]: mean
 * foreground Dice of case i. */
static medcl_status dice_batched(trainer *t, const medcl_eval_case *const *list, int64_t n, medcl_adversary *a,
                                 double *vals) {
    medcl_status st = MEDCL_OK;
    int64_t nv = t->patch[0] * t->patch[1] * t->patch[2], C = t->rc.model.in_channels;
    int K = t->rc.model.num_classes;
    float *img = malloc((size_t)(t->B * C * nv) * sizeof *img), *lab = malloc((size_t)(t->B * nv) * sizeof *lab);
    float *logits = malloc((size_t)(t->B * K * nv) * sizeof *logits);
    int32_t *pred = malloc((size_t)nv * sizeof *pred);
    if (!img || !lab || !logits || !pred) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "evaluation: out of memory");
    MEDCL_TRY(medcl_graph_set_training(t->g, false));
    medcl_tensor *in = medcl_graph_tensor(t->g, t->m.image), *out = medcl_graph_tensor(t->g, t->m.logits);
    for (int64_t b0 = 0; b0 < n; b0 += t->B) {
        for (int64_t s = 0; s < t->B; s++) {
            const medcl_eval_case *ec = list[b0 + s < n ? b0 + s : n - 1];
            memcpy(img + s * C * nv, ec->image, (size_t)(C * nv) * sizeof(float));
            for (int64_t q = 0; q < nv; q++) lab[s * nv + q] = (float)ec->label[q];
        }
        MEDCL_TRY(medcl_tensor_upload(in, img, (size_t)(t->B * C * nv) * sizeof(float)));
        if (a) {
            MEDCL_TRY(set_targets_host(t, lab, 0, (uint32_t)b0));
            MEDCL_TRY(medcl_adversary_perturb(a, (uint32_t)(b0 / t->B)));
        }
        MEDCL_TRY(medcl_graph_forward(t->g));
        MEDCL_TRY(medcl_tensor_download(out, logits, (size_t)(t->B * K * nv) * sizeof(float)));
        for (int64_t s = 0; s < t->B && b0 + s < n; s++) {
            for (int64_t q = 0; q < nv; q++) {
                int best = 0;
                for (int k = 1; k < K; k++)
                    if (logits[(s * K + k) * nv + q] > logits[(s * K + best) * nv + q]) best = k;
                pred[q] = best;
            }
            vals[b0 + s] = dice_mean(lab + s * nv, pred, nv, K);
        }
    }
cleanup:
    if (t->g) medcl_graph_set_training(t->g, true);
    free(img);
    free(lab);
    free(logits);
    free(pred);
    return st;
}

static bool whole_case(const trainer *t, const medcl_eval_case *ec) {
    return !memcmp(ec->shape, t->patch, sizeof t->patch) && ec->channels == t->rc.model.in_channels;
}

/* Mean foreground Dice of every domain's test cases with bootstrap intervals, the current
 * model in evaluation mode: batched whole cases when every case is one patch (2D slices),
 * else protocol.h's sliding-window evaluation. in_domain[d] marks the training domains. */
static medcl_status eval_domains(trainer *t, const bool *in_domain, medcl_ci *ci) {
    medcl_status st = MEDCL_OK;
    medcl_eval_results *res = NULL;
    double *vals = NULL;
    const medcl_eval_case **list = NULL;
    MEDCL_TRY(load_sets(t));
    bool whole = true;
    int64_t most = 1;
    for (int d = 0; d < t->ndom; d++) {
        t->sets[d].in_domain = in_domain ? in_domain[d] : 0;
        if (t->sets[d].num_cases > most) most = t->sets[d].num_cases;
        for (int64_t i = 0; i < t->sets[d].num_cases; i++) whole = whole && whole_case(t, &t->sets[d].cases[i]);
    }
    medcl_bootstrap_options bo = MEDCL_BOOTSTRAP_OPTIONS_INIT;
    bo.num_resamples = t->rc.evaluation.bootstrap;
    bo.seed = t->rc.seed;
    if (whole) {
        vals = malloc((size_t)most * sizeof *vals);
        list = malloc((size_t)most * sizeof *list);
        if (!vals || !list) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "evaluation: out of memory");
        for (int d = 0; d < t->ndom; d++) {
            int64_t n = t->sets[d].num_cases;
            for (int64_t i = 0; i < n; i++) list[i] = &t->sets[d].cases[i];
            if (n == 0) {
                ci[d] = (medcl_ci){NAN, NAN, NAN, 0, 0};
                continue;
            }
            MEDCL_TRY(dice_batched(t, list, n, NULL, vals));
            MEDCL_TRY(medcl_bootstrap_ci(vals, n, &bo, &ci[d]));
        }
        goto cleanup;
    }
    pred_ctx pc = {t->g, medcl_graph_tensor(t->g, t->m.image), medcl_graph_tensor(t->g, t->m.logits)};
    medcl_infer_options io = MEDCL_INFER_OPTIONS_INIT;
    memcpy(io.patch, t->patch, sizeof io.patch);
    io.num_classes = t->rc.model.num_classes;
    io.step = t->rc.validation.step;
    io.batch = (int32_t)t->B;
    medcl_eval_options eo = MEDCL_EVAL_OPTIONS_INIT;
    eo.surface_metrics = 0;
    eo.examples = 0;
    eo.bootstrap = bo;
    MEDCL_TRY(medcl_graph_set_training(t->g, false));
    MEDCL_TRY(medcl_eval_run(t->ctx, predict_cb, &pc, &io, t->sets, t->ndom, &eo, &res));
    int K = t->rc.model.num_classes;
    for (int d = 0; d < t->ndom; d++) ci[d] = res->sets[d].mean[MEDCL_EVAL_DICE][K];
cleanup:
    if (t->g) medcl_graph_set_training(t->g, true);
    medcl_eval_results_free(res);
    free(vals);
    free(list);
    return st;
}

/* Mean foreground Dice of the training domains' test cases under an attack of radius eps (0:
 * clean) on the current model in evaluation mode (whole cases only: the others are skipped and
 * counted in *skipped). */
static medcl_status eval_robust(trainer *t, medcl_adv_method method, double eps, medcl_ci *ci, int64_t *skipped) {
    medcl_status st = MEDCL_OK;
    medcl_adversary *a = NULL;
    double *vals = NULL;
    const medcl_eval_case **list = NULL;
    int64_t n = 0;
    *skipped = 0;
    MEDCL_TRY(load_sets(t));
    int64_t total = 0;
    for (int d = 0; d < t->ndom; d++) total += t->sets[d].num_cases;
    list = malloc((size_t)(total ? total : 1) * sizeof *list);
    vals = malloc((size_t)(total ? total : 1) * sizeof *vals);
    if (!list || !vals) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "robustness: out of memory");
    for (int d = 0; d < t->ndom; d++) {
        if (!t->sets[d].in_domain) continue;
        for (int64_t i = 0; i < t->sets[d].num_cases; i++) {
            if (whole_case(t, &t->sets[d].cases[i])) list[n++] = &t->sets[d].cases[i];
            else (*skipped)++;
        }
    }
    if (eps > 0) {
        medcl_adv_config ac = MEDCL_ADV_CONFIG_INIT;
        ac.method = method;
        ac.epsilon = (float)eps;
        ac.steps = method == MEDCL_ADV_PGD ? t->rc.evaluation.robust_steps : 1;
        ac.seed = t->rc.seed;
        MEDCL_TRY(medcl_adversary_create(t->g, t->m.image, &ac, &a));
    }
    if (n == 0) {
        *ci = (medcl_ci){NAN, NAN, NAN, 0, 0};
        goto cleanup;
    }
    MEDCL_TRY(dice_batched(t, list, n, a, vals));
    medcl_bootstrap_options bo = MEDCL_BOOTSTRAP_OPTIONS_INIT;
    bo.num_resamples = t->rc.evaluation.bootstrap;
    bo.seed = t->rc.seed;
    MEDCL_TRY(medcl_bootstrap_ci(vals, n, &bo, ci));
cleanup:
    medcl_adversary_destroy(a);
    free(list);
    free(vals);
    return st;
}

static cJSON *ci_json(const medcl_ci *ci) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "estimate", medcl_report_json_number(ci->estimate));
    cJSON_AddItemToObject(o, "lower", medcl_report_json_number(ci->lower));
    cJSON_AddItemToObject(o, "upper", medcl_report_json_number(ci->upper));
    cJSON_AddNumberToObject(o, "n", (double)ci->num_used);
    return o;
}

static medcl_status write_json(const char *dir, const char *name, cJSON *root) {
    char path[CLI_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *txt = cJSON_Print(root);
    if (!txt) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    medcl_status st = medcl_file_write_atomic(path, txt, strlen(txt));
    free(txt);
    return st;
}

/* evaluation.json of a single run: every domain's held-out Dice (training domains marked) and
 * the robustness curve. */
static medcl_status final_evaluation(trainer *t) {
    medcl_status st = MEDCL_OK;
    cJSON *root = cJSON_CreateObject();
    medcl_ci ci[MAXD];
    bool in[MAXD] = {false};
    if (!root) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "evaluation: out of memory");
    for (int d = 0; d < t->ndom; d++) in[d] = t->rc.dataset.n_train_domains == 0;
    for (int i = 0; i < t->rc.dataset.n_train_domains; i++)
        in[medcl_dataset_domain_find(t->ds, t->rc.dataset.train_domains[i])] = true;
    double t0 = medcl_now();
    MEDCL_TRY(eval_domains(t, in, ci));
    cJSON_AddStringToObject(root, "metric", "dice");
    cJSON *doms = cJSON_AddArrayToObject(root, "domains");
    for (int d = 0; d < t->ndom; d++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", t->sets[d].name);
        cJSON_AddBoolToObject(o, "in_domain", in[d]);
        cJSON_AddNumberToObject(o, "cases", (double)t->sets[d].num_cases);
        cJSON_AddItemToObject(o, "dice", ci_json(&ci[d]));
        cJSON_AddItemToArray(doms, o);
        fprintf(stderr, "medcl train: %s domain %s: Dice %.4f [%.4f, %.4f] (%lld cases)\n", in[d] ? "in" : "held-out",
                t->sets[d].name, ci[d].estimate, ci[d].lower, ci[d].upper, (long long)ci[d].num_used);
    }
    if (t->rc.evaluation.robust_method != MEDCL_ADV_NONE) {
        cJSON *r = cJSON_AddObjectToObject(root, "robustness");
        cJSON_AddStringToObject(r, "method", medcl_adv_method_str(t->rc.evaluation.robust_method));
        cJSON_AddNumberToObject(r, "steps", t->rc.evaluation.robust_steps);
        cJSON *arr = cJSON_AddArrayToObject(r, "results");
        for (int e = -1; e < t->rc.evaluation.n_epsilons; e++) {
            double eps = e < 0 ? 0.0 : t->rc.evaluation.epsilons[e];
            medcl_ci rci;
            int64_t skipped = 0;
            MEDCL_TRY(eval_robust(t, t->rc.evaluation.robust_method, eps, &rci, &skipped));
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "epsilon", eps);
            cJSON_AddItemToObject(o, "dice", ci_json(&rci));
            cJSON_AddNumberToObject(o, "skipped_cases", (double)skipped);
            cJSON_AddItemToArray(arr, o);
            fprintf(stderr, "medcl train: robustness %s eps %g: Dice %.4f [%.4f, %.4f]\n",
                    medcl_adv_method_str(t->rc.evaluation.robust_method), eps, rci.estimate, rci.lower, rci.upper);
        }
    }
    cJSON_AddNumberToObject(root, "seconds", medcl_now() - t0);
    MEDCL_TRY(write_json(t->rc.output, "evaluation.json", root));
cleanup:
    cJSON_Delete(root);
    return st;
}

/* ================================================================== the loop */

/* Trains t->total_steps steps from start (validation, latest/best checkpoints, curves); the
 * final checkpoints are written by the caller. */
static medcl_status train_loop(trainer *t, int64_t start) {
    medcl_status st = MEDCL_OK;
    const cli_train_options *opt = t->opt;
    const cli_config *rc = &t->rc;
    int64_t step = start;
    char stage[96] = "";
    if (t->stage >= 0)
        snprintf(stage, sizeof stage, " [stage %d/%d: %s, %s]", t->stage + 1, rc->continual.n_domains,
                 rc->continual.domains[t->stage], cli_continual_str(rc->continual.method));
    fprintf(stderr, "medcl train: %s, %s %dD, %lld parameters, %d training / %d validation cases, patch %lldx%lldx%lld, "
            "batch %lld, %d epochs x %d steps%s%s\n",
            medcl_context_device(t->ctx)->name, rc->model.kind == CLI_MODEL_UNET ? "U-Net" : "classifier", rc->model.dims,
            (long long)medcl_graph_param_numel(t->g), t->split.n_train, t->split.n_val, (long long)t->patch[0],
            (long long)t->patch[1], (long long)t->patch[2], (long long)t->B, rc->training.epochs, rc->training.iterations,
            start ? " (resumed)" : "", stage);
    if (start) fprintf(stderr, "medcl train: resuming at step %lld (epoch %lld)\n", (long long)start,
                       (long long)(start / t->steps_per_epoch));
    double t0 = medcl_now(), loss_sum = 0;
    int64_t loss_n = 0, run_steps = 0, saved_step = start;
    int log_every = rc->training.iterations >= 10 ? rc->training.iterations / 10 : 1;
    /* time this loop waited for the loader (issue: the loader must keep the device busy) */
    double wait_epoch = 0, epoch_t0 = medcl_now();
    while (step < t->total_steps) {
        int64_t epoch = step / t->steps_per_epoch, index = step % t->steps_per_epoch;
        double lr = medcl_lr_at(&rc->schedule, epoch);
        medcl_batch b;
        st = medcl_loader_next(t->loader, &b);
        if (st == MEDCL_ERR_INTERRUPTED && opt->interrupt && *opt->interrupt) {
            /* the signal stopped the loader before this step: save where we are */
            if (opt->progress) fputc('\n', stderr);
            if (saved_step != step && run_steps > 0) MEDCL_TRY(save_checkpoint(t, t->path_latest, step));
            fflush(t->curves);
            fprintf(stderr, "medcl train: interrupted after step %lld; saved %s (resume with --resume)\n",
                    (long long)step, t->path_latest);
            MEDCL_FAIL(MEDCL_ERR_INTERRUPTED, "interrupted after step %lld; %s saved", (long long)step, t->path_latest);
        }
        MEDCL_TRY(st);
        wait_epoch += b.wait_s;
        MEDCL_TRY(feed(t, &b));
        medcl_step_stats ss;
        MEDCL_TRY(train_step(t, lr, (uint32_t)step, &ss));
        if (!isfinite(ss.loss)) {
            char cases[256];
            size_t len = 0;
            cases[0] = 0;
            for (int64_t s = 0; s < t->B && len < sizeof cases; s++) {
                const medcl_case *c = medcl_dataset_case(t->ds, b.case_index[s]);
                len += (size_t)snprintf(cases + len, sizeof cases - len, "%s%s", s ? ", " : "", c ? c->id : "?");
            }
            if (opt->progress) fputc('\n', stderr);
            char kept[CLI_PATH_MAX + 128];
            if (saved_step > 0)
                snprintf(kept, sizeof kept, "%s is from step %lld", t->path_latest, (long long)saved_step);
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
        fprintf(t->curves, "train,%lld,%lld,%.9g,%.9g,%.9g,\n", (long long)epoch, (long long)step, (double)ss.loss, lr,
                (double)ss.grad_norm);
        double el = medcl_now() - t0, ips = (double)(run_steps * t->B) / (el > 0 ? el : 1e-9);
        char eta[32];
        fmt_time(eta, sizeof eta, el / (double)run_steps * (double)(t->total_steps - step));
        if (opt->progress) {
            fprintf(stderr, "\repoch %lld/%d  step %lld/%lld  loss %.4f  lr %.2e  %.1f img/s  ETA %s   ",
                    (long long)epoch + 1, rc->training.epochs, (long long)index + 1, (long long)t->steps_per_epoch,
                    (double)ss.loss, lr, ips, eta);
            fflush(stderr);
        } else if (!opt->quiet && ((index + 1) % log_every == 0)) {
            fprintf(stderr, "epoch %lld/%d step %lld/%lld loss %.4f lr %.3e %.1f img/s ETA %s\n", (long long)epoch + 1,
                    rc->training.epochs, (long long)index + 1, (long long)t->steps_per_epoch, (double)ss.loss, lr, ips,
                    eta);
        }
        bool epoch_end = step % t->steps_per_epoch == 0;
        if (epoch_end) {
            int64_t e1 = step / t->steps_per_epoch; /* epochs done */
            double metric = NAN;
            bool val = rc->task == CLI_TASK_SEGMENTATION && t->split.n_val > 0 && rc->validation.every > 0 &&
                       (e1 % rc->validation.every == 0 || step == t->total_steps);
            if (val) {
                MEDCL_TRY(validate(t, &metric));
                fprintf(t->curves, "val,%lld,%lld,,,,%.9g\n", (long long)e1 - 1, (long long)step, metric);
            }
            if (opt->progress) fputc('\n', stderr);
            fprintf(stderr, "epoch %lld/%d done: mean loss %.4f%s", (long long)e1, rc->training.epochs,
                    loss_sum / (double)(loss_n ? loss_n : 1), val ? ", validation Dice " : "");
            if (val) fprintf(stderr, "%.4f", metric);
            double ep_s = medcl_now() - epoch_t0;
            fprintf(stderr, "; waited %.2f s for data in %.1f s (%.1f%%)\n", wait_epoch, ep_s,
                    ep_s > 0 ? 100.0 * wait_epoch / ep_s : 0.0);
            wait_epoch = 0;
            epoch_t0 = medcl_now();
            loss_sum = 0;
            loss_n = 0;
            if (val && !isnan(metric) && metric > t->best_metric) {
                t->best_metric = metric;
                t->best_epoch = e1;
                MEDCL_TRY(save_checkpoint(t, t->path_best, step));
            }
            MEDCL_TRY(save_checkpoint(t, t->path_latest, step));
            saved_step = step;
            fflush(t->curves);
        }
        bool stop = (opt->interrupt && *opt->interrupt) || (opt->stop_after > 0 && run_steps >= opt->stop_after);
        if (stop && step < t->total_steps) {
            if (opt->progress) fputc('\n', stderr);
            if (saved_step != step) MEDCL_TRY(save_checkpoint(t, t->path_latest, step));
            fflush(t->curves);
            fprintf(stderr, "medcl train: interrupted after step %lld; saved %s (resume with --resume)\n",
                    (long long)step, t->path_latest);
            MEDCL_FAIL(MEDCL_ERR_INTERRUPTED, "interrupted after step %lld; %s saved", (long long)step, t->path_latest);
        }
    }
    if (saved_step != step) MEDCL_TRY(save_checkpoint(t, t->path_latest, step));
    fprintf(stderr, "medcl train: %s done in %.1f s\n", t->stage >= 0 ? "stage" : "training", medcl_now() - t0);
cleanup:
    return st;
}

/* ================================================================== continual learning */

/* EWC: the diagonal Fisher over fisher_batches batches of the stage's training cases, then
 * consolidation (online: added to the earlier domains' Fisher, anchors = current weights). */
static medcl_status ewc_consolidate(trainer *t) {
    medcl_status st = MEDCL_OK;
    MEDCL_TRY(medcl_ewc_fisher_begin(t->ewc));
    for (int k = 0; k < t->rc.continual.fisher_batches; k++) {
        medcl_batch b;
        MEDCL_TRY(medcl_loader_next(t->loader, &b));
        MEDCL_TRY(feed(t, &b));
        MEDCL_TRY(medcl_graph_zero_grad(t->g));
        MEDCL_TRY(medcl_graph_forward(t->g));
        MEDCL_TRY(medcl_graph_backward(t->g, 1.0f));
        MEDCL_TRY(medcl_ewc_fisher_accumulate(t->ewc));
    }
    MEDCL_TRY(medcl_ewc_consolidate(t->ewc));
cleanup:
    return st;
}

static medcl_status write_heatmap(const char *path, const char *title, const double *R, int rows, int cols,
                                  const char *const *row_names, const char *const *col_names) {
    medcl_heatmap h = MEDCL_HEATMAP_INIT;
    h.title = title;
    h.x_label = "evaluated on domain";
    h.y_label = "after training stage";
    h.rows = rows;
    h.cols = cols;
    h.row_names = row_names;
    h.col_names = col_names;
    h.values = R;
    h.fixed_range = true;
    h.v_min = 0.0;
    h.v_max = 1.0;
    char *svg = NULL;
    medcl_status st = medcl_chart_heatmap(&h, &svg);
    if (st == MEDCL_OK) st = medcl_chart_save(path, svg);
    free(svg);
    return st;
}

/* Stages over continual.domains: stage i trains on domain i (plus the replay buffer), starting
 * from stage i-1's weights, then every domain's test cases are evaluated: R[i][j]. Writes
 * stage<i>.safetensors (replay buffer in the metadata "cli.replay", stage and domain in
 * "cli.stage", "cli.domain"), stage<i>.ewc.safetensors (EWC), continual.json (R with
 * intervals, the random-initialization baseline, average metrics, BWT, FWT, forgetting) and
 * continual_R.svg. */
static medcl_status run_continual(trainer *t) {
    medcl_status st = MEDCL_OK;
    const cli_config *rc = &t->rc;
    int T = rc->continual.n_domains;
    int didx[MAXD];
    medcl_ci Rci[MAXD][MAXD], bci[MAXD], all[MAXD];
    double R[MAXD * MAXD], base[MAXD], avg_all[MAXD], avg_seen[MAXD], secs[MAXD];
    char prev[CLI_PATH_MAX + 64] = "", prev_ewc[CLI_PATH_MAX + 64] = "", cur[CLI_PATH_MAX + 64],
         cur_ewc[CLI_PATH_MAX + 64];
    medcl_replay *rp = NULL;
    int *extra = NULL;
    char *rjson = NULL;
    cJSON *root = NULL;
    const char *names[MAXD];
    for (int i = 0; i < T; i++) {
        didx[i] = medcl_dataset_domain_find(t->ds, rc->continual.domains[i]);
        names[i] = rc->continual.domains[i];
    }
    if (rc->continual.method == CLI_CONTINUAL_REPLAY) {
        medcl_replay_config rcfg = MEDCL_REPLAY_CONFIG_INIT;
        rcfg.fraction = rc->continual.replay_fraction;
        rcfg.seed = rc->seed;
        MEDCL_TRY(medcl_replay_create(&rcfg, &rp));
    }
    for (int i = 0; i < T; i++) {
        double ts = medcl_now();
        t->stage = i;
        bool use[MAXD] = {false};
        use[didx[i]] = true;
        int nextra = 0;
        if (rp) {
            int64_t tot = medcl_replay_total(rp);
            free(extra);
            extra = malloc((size_t)(tot ? tot : 1) * sizeof *extra);
            if (!extra) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "replay: out of memory");
            for (int64_t k = 0; k < tot; k++) {
                int dd = 0;
                int64_t ci = 0;
                MEDCL_TRY(medcl_replay_entry(rp, k, &dd, &ci));
                int ds = didx[dd]; /* replay domains are added in stage order */
                extra[nextra++] = t->dom_train[ds][ci];
            }
            if (nextra) fprintf(stderr, "medcl train: replaying %d cases of %d earlier domains\n", nextra,
                                medcl_replay_domain_count(rp));
        }
        MEDCL_TRY(split_from_domains(t, use, extra, nextra));
        bool lwf = rc->continual.method == CLI_CONTINUAL_LWF && i > 0;
        bool ewc = rc->continual.method == CLI_CONTINUAL_EWC && i > 0;
        int64_t start = 0;
        MEDCL_TRY(setup_model(t, &start, i ? prev : NULL, lwf ? prev : NULL, ewc ? prev_ewc : NULL));
        if (i == 0) {
            /* FWT baseline: the randomly initialized model on every domain */
            medcl_ci b[MAXD];
            MEDCL_TRY(eval_domains(t, NULL, b));
            for (int j = 0; j < T; j++) {
                bci[j] = b[didx[j]];
                base[j] = bci[j].estimate;
            }
        }
        MEDCL_TRY(train_loop(t, start));
        snprintf(cur, sizeof cur, "%s/stage%d.safetensors", rc->output, i);
        if (rp) MEDCL_TRY(medcl_replay_add_domain(rp, names[i], t->n_dom_train[didx[i]]));
        {
            char sidx[16];
            snprintf(sidx, sizeof sidx, "%d", i);
            medcl_st_meta meta[3] = {{"cli.stage", sidx}, {"cli.domain", names[i]}, {"cli.replay", ""}};
            int nm = 2;
            if (rp) {
                free(rjson);
                rjson = NULL;
                MEDCL_TRY(medcl_replay_to_json(rp, &rjson));
                meta[2].value = rjson;
                nm = 3;
            }
            MEDCL_TRY(save_checkpoint_meta(t, cur, t->total_steps, meta, nm));
            MEDCL_TRY(save_checkpoint_meta(t, t->path_final, t->total_steps, meta, nm));
        }
        if (t->ewc) {
            MEDCL_TRY(ewc_consolidate(t));
            snprintf(cur_ewc, sizeof cur_ewc, "%s/stage%d.ewc.safetensors", rc->output, i);
            MEDCL_TRY(medcl_ewc_save(t->ewc, cur_ewc));
            snprintf(prev_ewc, sizeof prev_ewc, "%s", cur_ewc);
        }
        medcl_ci row[MAXD];
        bool in[MAXD] = {false};
        in[didx[i]] = true;
        MEDCL_TRY(eval_domains(t, in, row));
        fprintf(stderr, "medcl train: after stage %d (%s):", i + 1, names[i]);
        for (int j = 0; j < T; j++) {
            Rci[i][j] = row[didx[j]];
            R[i * T + j] = Rci[i][j].estimate;
            fprintf(stderr, " %s %.4f", names[j], R[i * T + j]);
        }
        fputc('\n', stderr);
        snprintf(prev, sizeof prev, "%s", cur);
        stage_free(t);
        secs[i] = medcl_now() - ts;
    }
    (void)all;
    medcl_transfer_metrics tm = MEDCL_TRANSFER_METRICS_INIT;
    MEDCL_TRY(medcl_transfer_compute(R, T, base, &tm, avg_all, avg_seen));
    fprintf(stderr, "medcl train: continual %s: ACC %.4f  BWT %+.4f  FWT %+.4f  forgetting %.4f\n",
            cli_continual_str(rc->continual.method), tm.acc, tm.bwt, tm.fwt, tm.forgetting);
    root = cJSON_CreateObject();
    if (!root) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "continual: out of memory");
    cJSON_AddStringToObject(root, "method", cli_continual_str(rc->continual.method));
    cJSON_AddStringToObject(root, "metric", "dice");
    cJSON *dn = cJSON_AddArrayToObject(root, "domains");
    for (int j = 0; j < T; j++) cJSON_AddItemToArray(dn, cJSON_CreateString(names[j]));
    MEDCL_TRY(medcl_report_json_add_matrix(root, "R", R, T, T));
    cJSON *rcis = cJSON_AddArrayToObject(root, "R_ci");
    for (int i = 0; i < T; i++) {
        cJSON *row = cJSON_CreateArray();
        for (int j = 0; j < T; j++) cJSON_AddItemToArray(row, ci_json(&Rci[i][j]));
        cJSON_AddItemToArray(rcis, row);
    }
    cJSON *bl = cJSON_AddArrayToObject(root, "baseline");
    for (int j = 0; j < T; j++) cJSON_AddItemToArray(bl, medcl_report_json_number(base[j]));
    cJSON *aa = cJSON_AddArrayToObject(root, "avg_all"), *as = cJSON_AddArrayToObject(root, "avg_seen");
    cJSON *sa = cJSON_AddArrayToObject(root, "stage_seconds");
    for (int i = 0; i < T; i++) {
        cJSON_AddItemToArray(aa, medcl_report_json_number(avg_all[i]));
        cJSON_AddItemToArray(as, medcl_report_json_number(avg_seen[i]));
        cJSON_AddItemToArray(sa, cJSON_CreateNumber(secs[i]));
    }
    MEDCL_TRY(medcl_report_json_add_number(root, "acc", tm.acc));
    MEDCL_TRY(medcl_report_json_add_number(root, "bwt", tm.bwt));
    MEDCL_TRY(medcl_report_json_add_number(root, "fwt", tm.fwt));
    MEDCL_TRY(medcl_report_json_add_number(root, "forgetting", tm.forgetting));
    MEDCL_TRY(write_json(rc->output, "continual.json", root));
    {
        char path[CLI_PATH_MAX + 64], title[128];
        snprintf(path, sizeof path, "%s/continual_R.svg", rc->output);
        snprintf(title, sizeof title, "Dice R[i][j], %s", cli_continual_str(rc->continual.method));
        MEDCL_TRY(write_heatmap(path, title, R, T, T, names, names));
    }
cleanup:
    cJSON_Delete(root);
    free(rjson);
    free(extra);
    medcl_replay_destroy(rp);
    return st;
}

medcl_status cli_write_heatmap(const char *path, const char *title, const double *values, int rows, int cols,
                               const char *const *row_names, const char *const *col_names) {
    return write_heatmap(path, title, values, rows, cols, row_names, col_names);
}

/* ================================================================== entry */

medcl_status cli_train_run(const cli_config *cfg, const cli_train_options *opt) {
    medcl_status st = MEDCL_OK;
    trainer t;
    memset(&t, 0, sizeof t);
    t.opt = opt;
    t.stage = -1;
    cli_config_init(&t.rc);
    t.rc = *cfg;
    t.rc.augmentation_json = cfg->augmentation_json ? strdup(cfg->augmentation_json) : NULL;
    int64_t start = 0;
    double t0 = medcl_now();
    if (cfg->continual.method != CLI_CONTINUAL_NONE && opt->resume)
        MEDCL_FAIL(MEDCL_ERR_UNSUPPORTED, "--resume is not supported for continual runs (restart the run)");
    MEDCL_TRY(setup_data(&t));
    if (t.rc.continual.method != CLI_CONTINUAL_NONE) {
        MEDCL_TRY(run_continual(&t));
        fprintf(stderr, "medcl train: done in %.1f s; stage checkpoints, continual.json and continual_R.svg in %s\n",
                medcl_now() - t0, t.rc.output);
        goto cleanup;
    }
    MEDCL_TRY(setup_model(&t, &start, NULL, NULL, NULL));
    MEDCL_TRY(train_loop(&t, start));
    MEDCL_TRY(save_checkpoint(&t, t.path_final, t.total_steps));
    if (t.best_epoch < 0) {
        /* no validation ran: best is the final model */
        MEDCL_TRY(save_checkpoint(&t, t.path_best, t.total_steps));
    }
    if (t.per_domain) MEDCL_TRY(final_evaluation(&t));
    fprintf(stderr, "medcl train: done in %.1f s; checkpoints in %s (final.safetensors, best.safetensors%s)\n",
            medcl_now() - t0, t.rc.output, t.best_epoch >= 0 ? "" : " = final: no validation");
    if (t.best_epoch >= 0)
        fprintf(stderr, "medcl train: best validation Dice %.4f at epoch %lld\n", t.best_metric, (long long)t.best_epoch);
cleanup:
    trainer_free(&t);
    return st;
}
