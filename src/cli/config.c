/* src/cli/config.c — parses, overrides and validates the `medcl train` configuration (JSON
 * through cJSON) into cli_config, and writes the effective configuration back as JSON.
 * Every message names the file, the JSON path and the offending value (config.h).
 * Leaves out: anything that opens datasets or devices (trainer.c). */
#include "cli/config.h"

#include "core/internal.h"
#include "medcl/augment.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ names */

static const char *const TASKS[] = {"segmentation", "classification", NULL};
static const char *const DATASET_KINDS[] = {"nnunet", "folders", "classification-csv", "demo-brain",
                                            "phantom", NULL};
static const char *const MODEL_KINDS[] = {"unet", "classifier", NULL};
static const char *const NORMS[] = {"batch", "instance", "group", "layer", NULL};
static const char *const ACTS[] = {"none", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", NULL};
static const char *const LOSSES[] = {"dice_ce", "ce", "dice", NULL};
static const char *const OPTIMS[] = {"sgd", "adam", "adamw", NULL};
static const char *const LR_KINDS[] = {"constant", "step", "poly", "cosine", NULL};
static const char *const DECODERS[] = {"upsample", "transposed", NULL}; /* index = transposed */
/* medcl_norm_scheme order (data.h) */
static const char *const NORM_SCHEMES[] = {"zscore", "CT", "rescale_to_0_1", "noNorm", "rgb_to_0_1", NULL};
static const char *const CONTINUAL[] = {"none", "finetune", "ewc", "lwf", "replay", NULL};
static const char *const ADV[] = {"none", "fgsm", "pgd", NULL}; /* medcl_adv_method order */
/* simulated scanners of built-in data (trainer.c applies them) */
static const char *const SCANNERS[] = {"clean", "bias_field", "noise", "contrast_gamma", "blur_lowres",
                                       "site_a", "site_b", "site_c", NULL};

const char *cli_task_str(cli_task t) { return (unsigned)t < CLI_TASK_COUNT ? TASKS[t] : "?"; }
const char *cli_dataset_kind_str(cli_dataset_kind k) {
    return (unsigned)k < CLI_DATASET_KIND_COUNT ? DATASET_KINDS[k] : "?";
}
const char *cli_norm_str(medcl_norm_kind k) { return (unsigned)k < MEDCL_NORM_KIND_COUNT ? NORMS[k] : "?"; }
const char *cli_activation_str(medcl_activation a) { return (unsigned)a < MEDCL_ACT_COUNT ? ACTS[a] : "?"; }
const char *cli_loss_str(cli_loss l) { return (unsigned)l < CLI_LOSS_COUNT ? LOSSES[l] : "?"; }
const char *cli_lr_kind_str(medcl_lr_kind k) { return (unsigned)k < MEDCL_LR_KIND_COUNT ? LR_KINDS[k] : "?"; }
const char *cli_continual_str(cli_continual_method m) {
    return (unsigned)m < CLI_CONTINUAL_COUNT ? CONTINUAL[m] : "?";
}
double cli_dropout_at(const cli_config *c, int s) {
    if (c->regularizers.n_dropout <= 0) return 0.0;
    if (c->regularizers.n_dropout == 1) return c->regularizers.dropout[0];
    return s < c->regularizers.n_dropout ? c->regularizers.dropout[s] : 0.0;
}

/* ------------------------------------------------------------------ defaults */

void cli_config_init(cli_config *c) {
    memset(c, 0, sizeof *c);
    c->task = CLI_TASK_SEGMENTATION;
    c->dataset.kind = CLI_DATASET_KIND_COUNT; /* unset: required */
    c->dataset.fold = 0;
    c->dataset.folds = 5;
    c->dataset.cases = 48;
    c->dataset.size = 64;
    c->dataset.downsample = 2;
    c->model.kind = CLI_MODEL_UNET;
    c->model.dims = 2;
    c->model.levels = 5;
    c->model.features = 32;
    c->model.max_features = 512;
    c->model.convs_per_stage = 2;
    c->model.norm = MEDCL_NORM_INSTANCE;
    c->model.activation = MEDCL_ACT_LEAKY_RELU;
    c->model.slope = 0.01;
    c->model.transposed_decoder = true;
    c->model.deep_supervision = true;
    c->model.residual = false;
    c->model.stages = 3;
    c->model.blocks_per_stage = 1;
    snprintf(c->augmentation_preset, sizeof c->augmentation_preset, "nnunet");
    /* static: padding bytes are zero, so configs compare with memcmp */
    static const medcl_optim_config oc = MEDCL_OPTIM_CONFIG_NNUNET;
    memcpy(&c->optimizer, &oc, sizeof oc);
    c->lr = 1e-2;
    static const medcl_lr_schedule s = MEDCL_LR_SCHEDULE_INIT;
    memcpy(&c->schedule, &s, sizeof s);
    c->schedule.kind = MEDCL_LR_POLY;
    c->schedule.exponent = 0.9;
    c->loss = CLI_LOSS_DICE_CE;
    c->training.epochs = 1000;
    c->training.iterations = 250;
    c->training.batch = 2;
    c->training.oversample_foreground = 0.33;
    c->training.threads = 2;
    c->training.prefetch = 4;
    c->validation.every = 1;
    c->validation.step = 0.5;
    c->validation.mirror = false;
    c->validation.max_cases = 0;
    static const medcl_adv_config ac = MEDCL_ADV_CONFIG_INIT;
    memcpy(&c->regularizers.adversarial, &ac, sizeof ac);
    c->regularizers.adversarial.method = MEDCL_ADV_NONE;
    c->regularizers.adversarial.steps = 3;
    c->regularizers.mixup_alpha = 0.4;
    c->regularizers.cutmix_alpha = 1.0;
    c->continual.method = CLI_CONTINUAL_NONE;
    c->continual.lambda = 1.0;
    c->continual.temperature = 2.0;
    c->continual.replay_fraction = 0.25;
    c->continual.fisher_batches = 8;
    c->evaluation.bootstrap = 1000;
    c->evaluation.robust_method = MEDCL_ADV_NONE;
    c->evaluation.robust_steps = 3;
    c->seed = 0;
}

void cli_config_free(cli_config *c) {
    if (!c) return;
    free(c->augmentation_json);
    c->augmentation_json = NULL;
}

/* ------------------------------------------------------------------ helpers */

typedef struct pctx {
    const char *name; /* file name for messages */
} pctx;

/* "name: path = value (why)"; the value printed compactly, long values shortened. */
static medcl_status bad_value(const pctx *p, const char *path, const cJSON *v, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static medcl_status bad_value(const pctx *p, const char *path, const cJSON *v, const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    char *txt = v ? cJSON_PrintUnformatted(v) : NULL;
    char shown[96];
    snprintf(shown, sizeof shown, "%s", txt ? txt : "?");
    if (txt && strlen(txt) >= sizeof shown) memcpy(shown + sizeof shown - 4, "...", 4);
    free(txt);
    return medcl_fail(MEDCL_ERR_FORMAT, "%s: %s = %s (%s)", p->name, path, shown, why);
}

static void join(char *dst, size_t n, const char *path, const char *key) { snprintf(dst, n, "%s.%s", path, key); }

static medcl_status check_keys(const pctx *p, const cJSON *obj, const char *path,
                               const char *const *allowed) {
    if (!cJSON_IsObject(obj)) return bad_value(p, path, obj, "expected an object");
    for (const cJSON *it = obj->child; it; it = it->next) {
        bool ok = false;
        for (int i = 0; allowed[i] && !ok; i++) ok = !strcmp(it->string, allowed[i]);
        if (ok) continue;
        char list[512];
        size_t len = 0;
        list[0] = 0;
        for (int i = 0; allowed[i] && len < sizeof list; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", allowed[i]);
        return medcl_fail(MEDCL_ERR_FORMAT, "%s: %s.%s: unknown key (expected one of: %s)", p->name, path,
                          it->string, list);
    }
    /* duplicate keys: cJSON keeps both; the second would be silently ignored */
    for (const cJSON *it = obj->child; it; it = it->next)
        for (const cJSON *jt = it->next; jt; jt = jt->next)
            if (!strcmp(it->string, jt->string))
                return medcl_fail(MEDCL_ERR_FORMAT, "%s: %s.%s: duplicate key", p->name, path, it->string);
    return MEDCL_OK;
}

static medcl_status get_int(const pctx *p, const cJSON *obj, const char *path, const char *key, int *dst,
                            int lo, int hi) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return MEDCL_OK;
    char jp[256];
    join(jp, sizeof jp, path, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble))
        return bad_value(p, jp, v, "expected an integer");
    if (v->valuedouble < lo || v->valuedouble > hi) {
        if (hi == 2147483647) return bad_value(p, jp, v, "must be >= %d", lo);
        return bad_value(p, jp, v, "must be in %d..%d", lo, hi);
    }
    *dst = (int)v->valuedouble;
    return MEDCL_OK;
}

/* Number in [lo, hi] (lo_open: > lo). */
static medcl_status get_num(const pctx *p, const cJSON *obj, const char *path, const char *key, double *dst,
                            double lo, bool lo_open, double hi) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return MEDCL_OK;
    char jp[256];
    join(jp, sizeof jp, path, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return bad_value(p, jp, v, "expected a number");
    double x = v->valuedouble;
    if (lo_open ? !(x > lo) : !(x >= lo)) {
        if (hi == INFINITY) return bad_value(p, jp, v, "must be %s %g", lo_open ? ">" : ">=", lo);
        return bad_value(p, jp, v, "must be in %s%g, %g]", lo_open ? "(" : "[", lo, hi);
    }
    if (x > hi) return bad_value(p, jp, v, "must be in %s%g, %g]", lo_open ? "(" : "[", lo, hi);
    *dst = x;
    return MEDCL_OK;
}

static medcl_status get_bool(const pctx *p, const cJSON *obj, const char *path, const char *key, bool *dst) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return MEDCL_OK;
    char jp[256];
    join(jp, sizeof jp, path, key);
    if (!cJSON_IsBool(v)) return bad_value(p, jp, v, "expected true or false");
    *dst = cJSON_IsTrue(v);
    return MEDCL_OK;
}

static medcl_status get_str(const pctx *p, const cJSON *obj, const char *path, const char *key, char *dst,
                            size_t n) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return MEDCL_OK;
    char jp[256];
    join(jp, sizeof jp, path, key);
    if (!cJSON_IsString(v)) return bad_value(p, jp, v, "expected a string");
    if (!v->valuestring[0]) return bad_value(p, jp, v, "must not be empty");
    if (strlen(v->valuestring) >= n) return bad_value(p, jp, v, "longer than %zu characters", n - 1);
    snprintf(dst, n, "%s", v->valuestring);
    return MEDCL_OK;
}

static medcl_status enum_of(const pctx *p, const cJSON *v, const char *jp, const char *const *names, int *dst) {
    if (!cJSON_IsString(v)) return bad_value(p, jp, v, "expected a string");
    for (int i = 0; names[i]; i++)
        if (!strcmp(v->valuestring, names[i])) {
            *dst = i;
            return MEDCL_OK;
        }
    char list[256];
    size_t len = 0;
    list[0] = 0;
    for (int i = 0; names[i] && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s\"%s\"", i ? ", " : "", names[i]);
    return bad_value(p, jp, v, "expected one of %s", list);
}

static medcl_status get_enum(const pctx *p, const cJSON *obj, const char *path, const char *key,
                             const char *const *names, int *dst) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return MEDCL_OK;
    char jp[256];
    join(jp, sizeof jp, path, key);
    return enum_of(p, v, jp, names, dst);
}

static medcl_status missing(const pctx *p, const char *path, const char *why) {
    return medcl_fail(MEDCL_ERR_FORMAT, "%s: %s: missing (%s)", p->name, path, why);
}

#define TRY(x)                          \
    do {                                \
        medcl_status st_ = (x);         \
        if (st_ != MEDCL_OK) return st_; \
    } while (0)

/* ------------------------------------------------------------------ sections */

static medcl_status parse_dataset(const pctx *p, const cJSON *d, cli_config *c) {
    static const char *const keys[] = {"kind", "path", "images", "labels", "num_classes", "fold", "folds",
                                       "train_domains", "cases", "size", "downsample", "normalization", "scanners",
                                       NULL};
    const char *path = "$.dataset";
    TRY(check_keys(p, d, path, keys));
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(d, "kind");
    if (!k)
        return missing(p, "$.dataset.kind",
                       "required: \"nnunet\", \"folders\", \"classification-csv\", \"demo-brain\" or \"phantom\"");
    int kind = 0;
    TRY(enum_of(p, k, "$.dataset.kind", DATASET_KINDS, &kind));
    c->dataset.kind = (cli_dataset_kind)kind;
    TRY(get_str(p, d, path, "path", c->dataset.path, sizeof c->dataset.path));
    TRY(get_str(p, d, path, "images", c->dataset.images, sizeof c->dataset.images));
    TRY(get_str(p, d, path, "labels", c->dataset.labels, sizeof c->dataset.labels));
    TRY(get_int(p, d, path, "num_classes", &c->dataset.num_classes, 2, 255));
    TRY(get_int(p, d, path, "folds", &c->dataset.folds, 2, 1000));
    TRY(get_int(p, d, path, "fold", &c->dataset.fold, 0, 999));
    if (c->dataset.fold >= c->dataset.folds)
        return bad_value(p, "$.dataset.fold", cJSON_GetObjectItemCaseSensitive(d, "fold"),
                         "must be < folds = %d", c->dataset.folds);
    TRY(get_int(p, d, path, "cases", &c->dataset.cases, 4, 100000));
    TRY(get_int(p, d, path, "size", &c->dataset.size, 8, 4096));
    TRY(get_int(p, d, path, "downsample", &c->dataset.downsample, 1, 4));
    if (c->dataset.downsample == 3)
        return bad_value(p, "$.dataset.downsample", cJSON_GetObjectItemCaseSensitive(d, "downsample"),
                         "must be 1, 2 or 4");
    const cJSON *td = cJSON_GetObjectItemCaseSensitive(d, "train_domains");
    if (td) {
        if (!cJSON_IsArray(td) || cJSON_GetArraySize(td) < 1 || cJSON_GetArraySize(td) > CLI_CONFIG_MAX_DOMAINS)
            return bad_value(p, "$.dataset.train_domains", td, "expected an array of 1..%d domain names",
                             CLI_CONFIG_MAX_DOMAINS);
        int i = 0;
        for (const cJSON *it = td->child; it; it = it->next, i++) {
            char jp[64];
            snprintf(jp, sizeof jp, "$.dataset.train_domains[%d]", i);
            if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) >= 64)
                return bad_value(p, jp, it, "expected a domain name (1..63 characters)");
            snprintf(c->dataset.train_domains[i], 64, "%s", it->valuestring);
        }
        c->dataset.n_train_domains = i;
    }
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(d, "scanners");
    if (sc) {
        if (!cJSON_IsArray(sc) || cJSON_GetArraySize(sc) < 1 || cJSON_GetArraySize(sc) > CLI_CONFIG_MAX_SCANNERS)
            return bad_value(p, "$.dataset.scanners", sc, "expected an array of 1..%d scanner names",
                             CLI_CONFIG_MAX_SCANNERS);
        int i = 0;
        for (const cJSON *it = sc->child; it; it = it->next, i++) {
            char jp[64];
            int si = 0;
            snprintf(jp, sizeof jp, "$.dataset.scanners[%d]", i);
            TRY(enum_of(p, it, jp, SCANNERS, &si));
            for (int j = 0; j < i; j++)
                if (!strcmp(c->dataset.scanners[j], SCANNERS[si])) return bad_value(p, jp, it, "listed twice");
            snprintf(c->dataset.scanners[i], sizeof c->dataset.scanners[i], "%s", SCANNERS[si]);
        }
        c->dataset.n_scanners = i;
    }
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(d, "normalization");
    if (nm) {
        if (!cJSON_IsArray(nm) || cJSON_GetArraySize(nm) < 1 || cJSON_GetArraySize(nm) > CLI_CONFIG_MAX_CHANNELS)
            return bad_value(p, "$.dataset.normalization", nm, "expected an array of 1..%d scheme names",
                             CLI_CONFIG_MAX_CHANNELS);
        int i = 0;
        for (const cJSON *it = nm->child; it; it = it->next, i++) {
            char jp[64];
            snprintf(jp, sizeof jp, "$.dataset.normalization[%d]", i);
            TRY(enum_of(p, it, jp, NORM_SCHEMES, &c->norm_scheme[i]));
        }
        c->n_norm = i;
    }
    /* kind-specific requirements */
    switch (c->dataset.kind) {
    case CLI_DATASET_NNUNET:
        if (!c->dataset.path[0]) return missing(p, "$.dataset.path", "required for dataset kind \"nnunet\": the raw dataset folder");
        break;
    case CLI_DATASET_CSV:
        if (!c->dataset.path[0])
            return missing(p, "$.dataset.path", "required for dataset kind \"classification-csv\": the CSV file");
        break;
    case CLI_DATASET_FOLDERS:
        if (!c->dataset.images[0]) return missing(p, "$.dataset.images", "required for dataset kind \"folders\"");
        if (!c->dataset.labels[0]) return missing(p, "$.dataset.labels", "required for dataset kind \"folders\"");
        if (!c->dataset.num_classes)
            return missing(p, "$.dataset.num_classes", "required for dataset kind \"folders\": classes including background");
        break;
    default: break;
    }
    return MEDCL_OK;
}

static medcl_status parse_model(const pctx *p, const cJSON *m, cli_config *c, bool *max_given) {
    static const char *const keys[] = {"kind", "dims", "in_channels", "num_classes", "levels", "features",
                                       "max_features", "convs_per_stage", "norm", "activation", "slope",
                                       "decoder", "deep_supervision", "residual", "stages", "blocks_per_stage",
                                       NULL};
    const char *path = "$.model";
    TRY(check_keys(p, m, path, keys));
    int v = 0;
    v = (int)c->model.kind;
    TRY(get_enum(p, m, path, "kind", MODEL_KINDS, &v));
    c->model.kind = (cli_model_kind)v;
    TRY(get_int(p, m, path, "dims", &c->model.dims, 2, 3));
    TRY(get_int(p, m, path, "in_channels", &c->model.in_channels, 1, CLI_CONFIG_MAX_CHANNELS));
    TRY(get_int(p, m, path, "num_classes", &c->model.num_classes, 2, 255));
    TRY(get_int(p, m, path, "levels", &c->model.levels, 2, MEDCL_UNET_MAX_LEVELS));
    TRY(get_int(p, m, path, "features", &c->model.features, 1, 4096));
    *max_given = cJSON_GetObjectItemCaseSensitive(m, "max_features") != NULL;
    TRY(get_int(p, m, path, "max_features", &c->model.max_features, 1, 8192));
    TRY(get_int(p, m, path, "convs_per_stage", &c->model.convs_per_stage, 1, 8));
    v = (int)c->model.norm;
    TRY(get_enum(p, m, path, "norm", NORMS, &v));
    c->model.norm = (medcl_norm_kind)v;
    v = (int)c->model.activation;
    TRY(get_enum(p, m, path, "activation", ACTS, &v));
    c->model.activation = (medcl_activation)v;
    TRY(get_num(p, m, path, "slope", &c->model.slope, 0.0, false, 1.0));
    v = c->model.transposed_decoder ? 1 : 0;
    TRY(get_enum(p, m, path, "decoder", DECODERS, &v));
    c->model.transposed_decoder = v == 1;
    TRY(get_bool(p, m, path, "deep_supervision", &c->model.deep_supervision));
    TRY(get_bool(p, m, path, "residual", &c->model.residual));
    TRY(get_int(p, m, path, "stages", &c->model.stages, 1, 8));
    TRY(get_int(p, m, path, "blocks_per_stage", &c->model.blocks_per_stage, 1, 16));
    return MEDCL_OK;
}

static medcl_status parse_optimizer(const pctx *p, const cJSON *o, cli_config *c) {
    static const char *const keys[] = {"kind", "lr", "momentum", "dampening", "nesterov", "weight_decay", "beta1",
                                       "beta2", "eps", "clip_norm", "skip_nonfinite", NULL};
    const char *path = "$.optimizer";
    TRY(check_keys(p, o, path, keys));
    int v = (int)c->optimizer.kind;
    TRY(get_enum(p, o, path, "kind", OPTIMS, &v));
    c->optimizer.kind = (medcl_optim_kind)v;
    if (c->optimizer.kind != MEDCL_OPTIM_SGD) {
        /* Adam defaults (PyTorch) unless given: no momentum/nesterov */
        c->optimizer.momentum = 0.0;
        c->optimizer.nesterov = false;
    }
    TRY(get_num(p, o, path, "lr", &c->lr, 0.0, true, INFINITY));
    TRY(get_num(p, o, path, "momentum", &c->optimizer.momentum, 0.0, false, 0.999999));
    TRY(get_num(p, o, path, "dampening", &c->optimizer.dampening, 0.0, false, 1.0));
    TRY(get_bool(p, o, path, "nesterov", &c->optimizer.nesterov));
    TRY(get_num(p, o, path, "weight_decay", &c->optimizer.weight_decay, 0.0, false, INFINITY));
    TRY(get_num(p, o, path, "beta1", &c->optimizer.beta1, 0.0, false, 0.999999));
    TRY(get_num(p, o, path, "beta2", &c->optimizer.beta2, 0.0, false, 0.999999));
    TRY(get_num(p, o, path, "eps", &c->optimizer.eps, 0.0, true, INFINITY));
    TRY(get_num(p, o, path, "clip_norm", &c->optimizer.clip_norm, 0.0, false, INFINITY));
    TRY(get_bool(p, o, path, "skip_nonfinite", &c->optimizer.skip_nonfinite));
    if (c->optimizer.kind == MEDCL_OPTIM_SGD && c->optimizer.nesterov &&
        !(c->optimizer.momentum > 0.0 && c->optimizer.dampening == 0.0)) {
        const cJSON *nv = cJSON_GetObjectItemCaseSensitive(o, "nesterov");
        if (nv)
            return bad_value(p, "$.optimizer.nesterov", nv, "needs momentum > 0 and dampening = 0; momentum is %g, "
                             "dampening %g", c->optimizer.momentum, c->optimizer.dampening);
        return medcl_fail(MEDCL_ERR_FORMAT, "%s: $.optimizer: momentum %g, dampening %g with Nesterov (the default "
                          "for SGD): Nesterov needs momentum > 0 and dampening = 0; set \"nesterov\": false",
                          p->name, c->optimizer.momentum, c->optimizer.dampening);
    }
    return MEDCL_OK;
}

static medcl_status parse_schedule(const pctx *p, const cJSON *s, cli_config *c) {
    static const char *const keys[] = {"kind", "exponent", "step_size", "gamma", "warmup", "lr_min", NULL};
    const char *path = "$.schedule";
    TRY(check_keys(p, s, path, keys));
    int v = (int)c->schedule.kind;
    TRY(get_enum(p, s, path, "kind", LR_KINDS, &v));
    c->schedule.kind = (medcl_lr_kind)v;
    TRY(get_num(p, s, path, "exponent", &c->schedule.exponent, 0.0, true, INFINITY));
    int ss = (int)c->schedule.step_size, wu = (int)c->schedule.warmup;
    TRY(get_int(p, s, path, "step_size", &ss, 1, 2147483647));
    TRY(get_int(p, s, path, "warmup", &wu, 0, 2147483647));
    c->schedule.step_size = ss;
    c->schedule.warmup = wu;
    TRY(get_num(p, s, path, "gamma", &c->schedule.gamma, 0.0, true, INFINITY));
    TRY(get_num(p, s, path, "lr_min", &c->schedule.lr_min, 0.0, false, INFINITY));
    return MEDCL_OK;
}

static medcl_status parse_training(const pctx *p, const cJSON *t, cli_config *c, const cJSON **patch) {
    static const char *const keys[] = {"epochs", "iterations", "batch", "patch", "oversample_foreground",
                                       "threads", "prefetch", NULL};
    const char *path = "$.training";
    TRY(check_keys(p, t, path, keys));
    TRY(get_int(p, t, path, "epochs", &c->training.epochs, 1, 1000000));
    TRY(get_int(p, t, path, "iterations", &c->training.iterations, 1, 1000000));
    TRY(get_int(p, t, path, "batch", &c->training.batch, 1, 4096));
    TRY(get_num(p, t, path, "oversample_foreground", &c->training.oversample_foreground, 0.0, false, 1.0));
    TRY(get_int(p, t, path, "threads", &c->training.threads, 1, 64));
    TRY(get_int(p, t, path, "prefetch", &c->training.prefetch, 1, 1024));
    *patch = cJSON_GetObjectItemCaseSensitive(t, "patch");
    return MEDCL_OK;
}

static medcl_status parse_validation(const pctx *p, const cJSON *v, cli_config *c) {
    static const char *const keys[] = {"every", "step", "mirror", "max_cases", NULL};
    const char *path = "$.validation";
    TRY(check_keys(p, v, path, keys));
    TRY(get_int(p, v, path, "every", &c->validation.every, 0, 1000000));
    TRY(get_num(p, v, path, "step", &c->validation.step, 0.0, true, 1.0));
    TRY(get_bool(p, v, path, "mirror", &c->validation.mirror));
    TRY(get_int(p, v, path, "max_cases", &c->validation.max_cases, 0, 2147483647));
    return MEDCL_OK;
}

static medcl_status parse_augmentation(const pctx *p, const cJSON *a, cli_config *c) {
    if (cJSON_IsString(a)) {
        if (strcmp(a->valuestring, "nnunet") && strcmp(a->valuestring, "none"))
            return bad_value(p, "$.augmentation", a,
                             "expected a preset (\"nnunet\" or \"none\") or a pipeline object {\"transforms\": [...]}");
        snprintf(c->augmentation_preset, sizeof c->augmentation_preset, "%s", a->valuestring);
        return MEDCL_OK;
    }
    if (!cJSON_IsObject(a))
        return bad_value(p, "$.augmentation", a,
                         "expected a preset (\"nnunet\" or \"none\") or a pipeline object {\"transforms\": [...]}");
    char *txt = cJSON_PrintUnformatted(a);
    if (!txt) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: $.augmentation: out of memory", p->name);
    medcl_augment_pipeline *pl = NULL;
    medcl_status st = medcl_augment_pipeline_from_json(txt, &pl);
    medcl_augment_pipeline_destroy(pl);
    if (st != MEDCL_OK) {
        free(txt);
        /* the pipeline's message has its own "$." paths relative to the pipeline object */
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", medcl_last_error());
        if (!strncmp(keep, "$.", 2)) return medcl_fail(MEDCL_ERR_FORMAT, "%s: $.augmentation%s", p->name, keep + 1);
        return medcl_fail(MEDCL_ERR_FORMAT, "%s: $.augmentation: %s", p->name, keep);
    }
    free(c->augmentation_json);
    c->augmentation_json = txt;
    c->augmentation_preset[0] = 0;
    return MEDCL_OK;
}

/* Patch: dims numbers (2D: [H, W] or [1, H, W]); each extent divisible by 2^(levels-1) for U-Nets. */
static medcl_status parse_patch(const pctx *p, const cJSON *a, cli_config *c) {
    const char *jp = "$.training.patch";
    int dims = c->model.dims;
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (n != dims && !(dims == 2 && n == 3))
        return bad_value(p, jp, a, "expected %d positive integers for model.dims = %d", dims, dims);
    int64_t e[3] = {1, 1, 1};
    int i = 3 - n;
    for (const cJSON *it = a->child; it; it = it->next, i++) {
        if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) || it->valuedouble < 1 ||
            it->valuedouble > 65536)
            return bad_value(p, jp, a, "expected %d integers in 1..65536", dims);
        e[i] = (int64_t)it->valuedouble;
    }
    if (dims == 2 && e[0] != 1) return bad_value(p, jp, a, "a 2D patch has D = 1");
    if (c->model.kind == CLI_MODEL_UNET) {
        int64_t m = (int64_t)1 << (c->model.levels - 1);
        for (int k = 3 - dims; k < 3; k++)
            if (e[k] % m)
                return bad_value(p, jp, a, "each extent must be divisible by 2^(levels-1) = %lld for a U-Net of %d levels",
                                 (long long)m, c->model.levels);
    }
    memcpy(c->training.patch, e, sizeof e);
    return MEDCL_OK;
}

/* ------------------------------------------------------------------ overrides */

static medcl_status apply_set(const pctx *p, cJSON *root, const char *set) {
    const char *eq = strchr(set, '=');
    if (!eq || eq == set)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "--set %s: expected KEY=VALUE (e.g. optimizer.lr=0.001)", set);
    char key[256];
    size_t kl = (size_t)(eq - set);
    if (kl >= sizeof key) return medcl_fail(MEDCL_ERR_INVALID_ARG, "--set %s: key too long", set);
    memcpy(key, set, kl);
    key[kl] = 0;
    const char *value = eq + 1;
    cJSON *v = cJSON_ParseWithOpts(value, NULL, 1);
    if (!v) v = cJSON_CreateString(value);
    if (!v) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "--set: out of memory");
    cJSON *obj = root;
    char path[300] = "$";
    char *save = NULL;
    char *tok = strtok_r(key, ".", &save);
    while (tok) {
        char *next = strtok_r(NULL, ".", &save);
        size_t pl = strlen(path);
        snprintf(path + pl, sizeof path - pl, ".%s", tok);
        if (!next) {
            cJSON_DeleteItemFromObjectCaseSensitive(obj, tok);
            cJSON_AddItemToObject(obj, tok, v);
            return MEDCL_OK;
        }
        cJSON *child = cJSON_GetObjectItemCaseSensitive(obj, tok);
        if (!child) {
            child = cJSON_AddObjectToObject(obj, tok);
        } else if (!cJSON_IsObject(child)) {
            cJSON_Delete(v);
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "--set %s: %s (in %s) is not an object", set, path, p->name);
        }
        obj = child;
        tok = next;
    }
    cJSON_Delete(v);
    return medcl_fail(MEDCL_ERR_INVALID_ARG, "--set %s: empty key", set);
}

/* {"alpha": a, "p": p} of mixup / cutmix */
static medcl_status parse_mix(const pctx *p, const cJSON *m, const char *path, double *alpha, double *prob) {
    static const char *const keys[] = {"alpha", "p", NULL};
    TRY(check_keys(p, m, path, keys));
    TRY(get_num(p, m, path, "alpha", alpha, 0.0, true, 1000.0));
    *prob = 1.0;
    TRY(get_num(p, m, path, "p", prob, 0.0, false, 1.0));
    return MEDCL_OK;
}

static medcl_status parse_regularizers(const pctx *p, const cJSON *r, cli_config *c) {
    static const char *const keys[] = {"dropout", "label_smoothing", "mixup", "cutmix", "adversarial", NULL};
    const char *path = "$.regularizers";
    TRY(check_keys(p, r, path, keys));
    const cJSON *dr = cJSON_GetObjectItemCaseSensitive(r, "dropout");
    if (dr) {
        if (cJSON_IsNumber(dr)) {
            if (!(dr->valuedouble >= 0.0 && dr->valuedouble < 1.0))
                return bad_value(p, "$.regularizers.dropout", dr, "must be in [0, 1)");
            c->regularizers.n_dropout = 1;
            c->regularizers.dropout[0] = dr->valuedouble;
        } else if (cJSON_IsArray(dr) && cJSON_GetArraySize(dr) >= 1 && cJSON_GetArraySize(dr) <= MEDCL_UNET_MAX_LEVELS) {
            int i = 0;
            for (const cJSON *it = dr->child; it; it = it->next, i++) {
                char jp[64];
                snprintf(jp, sizeof jp, "$.regularizers.dropout[%d]", i);
                if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0.0 && it->valuedouble < 1.0))
                    return bad_value(p, jp, it, "expected a rate in [0, 1)");
                c->regularizers.dropout[i] = it->valuedouble;
            }
            c->regularizers.n_dropout = i;
        } else {
            return bad_value(p, "$.regularizers.dropout", dr, "expected a rate in [0, 1) or an array of 1..%d rates "
                             "(one per U-Net stage)", MEDCL_UNET_MAX_LEVELS);
        }
    }
    TRY(get_num(p, r, path, "label_smoothing", &c->regularizers.label_smoothing, 0.0, false, 0.999));
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(r, "mixup");
    if (mx) TRY(parse_mix(p, mx, "$.regularizers.mixup", &c->regularizers.mixup_alpha, &c->regularizers.mixup_p));
    const cJSON *cm = cJSON_GetObjectItemCaseSensitive(r, "cutmix");
    if (cm) TRY(parse_mix(p, cm, "$.regularizers.cutmix", &c->regularizers.cutmix_alpha, &c->regularizers.cutmix_p));
    const cJSON *ad = cJSON_GetObjectItemCaseSensitive(r, "adversarial");
    if (ad) {
        static const char *const akeys[] = {"method", "epsilon", "alpha", "steps", "weight", "random_start", NULL};
        const char *ap = "$.regularizers.adversarial";
        medcl_adv_config *a = &c->regularizers.adversarial;
        TRY(check_keys(p, ad, ap, akeys));
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(ad, "method");
        if (!m) return missing(p, "$.regularizers.adversarial.method", "required: \"fgsm\", \"pgd\" or \"none\"");
        int v = 0;
        TRY(enum_of(p, m, "$.regularizers.adversarial.method", ADV, &v));
        a->method = (medcl_adv_method)v;
        double eps = a->epsilon, alpha = a->alpha, w = a->weight;
        TRY(get_num(p, ad, ap, "epsilon", &eps, 0.0, true, 100.0));
        TRY(get_num(p, ad, ap, "alpha", &alpha, 0.0, false, 100.0));
        TRY(get_int(p, ad, ap, "steps", &a->steps, 1, 1000));
        TRY(get_num(p, ad, ap, "weight", &w, 0.0, false, 1.0));
        TRY(get_bool(p, ad, ap, "random_start", &a->random_start));
        a->epsilon = (float)eps;
        a->alpha = (float)alpha;
        a->weight = (float)w;
    }
    return MEDCL_OK;
}

static medcl_status parse_continual(const pctx *p, const cJSON *k, cli_config *c) {
    static const char *const keys[] = {"method", "lambda", "temperature", "replay_fraction", "fisher_batches",
                                       "domains", NULL};
    const char *path = "$.continual";
    TRY(check_keys(p, k, path, keys));
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(k, "method");
    if (!m) return missing(p, "$.continual.method", "required: \"finetune\", \"ewc\", \"lwf\" or \"replay\"");
    int v = 0;
    TRY(enum_of(p, m, "$.continual.method", CONTINUAL, &v));
    if (v == CLI_CONTINUAL_NONE)
        return bad_value(p, "$.continual.method", m, "expected one of \"finetune\", \"ewc\", \"lwf\", \"replay\" "
                         "(leave out the section for one training run)");
    c->continual.method = (cli_continual_method)v;
    TRY(get_num(p, k, path, "lambda", &c->continual.lambda, 0.0, false, 1e12));
    TRY(get_num(p, k, path, "temperature", &c->continual.temperature, 0.0, true, 1000.0));
    TRY(get_num(p, k, path, "replay_fraction", &c->continual.replay_fraction, 0.0, false, 1.0));
    TRY(get_int(p, k, path, "fisher_batches", &c->continual.fisher_batches, 1, 100000));
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(k, "domains");
    if (!d) return missing(p, "$.continual.domains", "required: the domains in training order (at least 2)");
    if (!cJSON_IsArray(d) || cJSON_GetArraySize(d) < 2 || cJSON_GetArraySize(d) > CLI_CONFIG_MAX_DOMAINS)
        return bad_value(p, "$.continual.domains", d, "expected an array of 2..%d domain names", CLI_CONFIG_MAX_DOMAINS);
    int i = 0;
    for (const cJSON *it = d->child; it; it = it->next, i++) {
        char jp[64];
        snprintf(jp, sizeof jp, "$.continual.domains[%d]", i);
        if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) >= 64)
            return bad_value(p, jp, it, "expected a domain name (1..63 characters)");
        for (int j = 0; j < i; j++)
            if (!strcmp(c->continual.domains[j], it->valuestring)) return bad_value(p, jp, it, "listed twice");
        snprintf(c->continual.domains[i], 64, "%s", it->valuestring);
    }
    c->continual.n_domains = i;
    return MEDCL_OK;
}

static medcl_status parse_evaluation(const pctx *p, const cJSON *e, cli_config *c) {
    static const char *const keys[] = {"domains", "bootstrap", "robustness", NULL};
    const char *path = "$.evaluation";
    TRY(check_keys(p, e, path, keys));
    TRY(get_bool(p, e, path, "domains", &c->evaluation.domains));
    TRY(get_int(p, e, path, "bootstrap", &c->evaluation.bootstrap, 10, 1000000));
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(e, "robustness");
    if (r) {
        static const char *const rkeys[] = {"method", "epsilon", "steps", NULL};
        const char *rp = "$.evaluation.robustness";
        TRY(check_keys(p, r, rp, rkeys));
        int v = MEDCL_ADV_FGSM;
        TRY(get_enum(p, r, rp, "method", ADV, &v));
        c->evaluation.robust_method = (medcl_adv_method)v;
        TRY(get_int(p, r, rp, "steps", &c->evaluation.robust_steps, 1, 1000));
        const cJSON *ep = cJSON_GetObjectItemCaseSensitive(r, "epsilon");
        if (!ep) return missing(p, "$.evaluation.robustness.epsilon", "required: an array of radii > 0");
        if (!cJSON_IsArray(ep) || cJSON_GetArraySize(ep) < 1 || cJSON_GetArraySize(ep) > CLI_CONFIG_MAX_EPSILONS)
            return bad_value(p, "$.evaluation.robustness.epsilon", ep, "expected an array of 1..%d radii",
                             CLI_CONFIG_MAX_EPSILONS);
        int i = 0;
        for (const cJSON *it = ep->child; it; it = it->next, i++) {
            char jp[64];
            snprintf(jp, sizeof jp, "$.evaluation.robustness.epsilon[%d]", i);
            if (!cJSON_IsNumber(it) || !(it->valuedouble > 0.0 && it->valuedouble <= 100.0))
                return bad_value(p, jp, it, "expected a radius in (0, 100]");
            c->evaluation.epsilons[i] = it->valuedouble;
        }
        c->evaluation.n_epsilons = i;
    }
    return MEDCL_OK;
}

/* ------------------------------------------------------------------ top level */

static medcl_status parse_root(const pctx *p, cJSON *root, cli_config *c) {
    static const char *const keys[] = {"task", "dataset", "model", "augmentation", "optimizer", "schedule",
                                       "loss", "training", "validation", "seed", "device", "output", "regularizers",
                                       "continual", "evaluation", NULL};
    TRY(check_keys(p, root, "$", keys));
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "task");
    if (!t) return missing(p, "$.task", "required: \"segmentation\" or \"classification\"");
    int v = 0;
    TRY(enum_of(p, t, "$.task", TASKS, &v));
    c->task = (cli_task)v;
    if (c->task == CLI_TASK_CLASSIFICATION) {
        c->model.kind = CLI_MODEL_CLASSIFIER;
        c->loss = CLI_LOSS_CE;
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "dataset");
    if (!d) return missing(p, "$.dataset", "required: an object with \"kind\"");
    TRY(parse_dataset(p, d, c));
    bool max_given = false;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (m) TRY(parse_model(p, m, c, &max_given));
    if (!max_given && c->model.dims == 3) c->model.max_features = 320;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "augmentation");
    if (a) TRY(parse_augmentation(p, a, c));
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "optimizer");
    if (o) TRY(parse_optimizer(p, o, c));
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "schedule");
    if (s) TRY(parse_schedule(p, s, c));
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(root, "loss");
    if (l) {
        v = 0;
        TRY(enum_of(p, l, "$.loss", LOSSES, &v));
        c->loss = (cli_loss)v;
    }
    const cJSON *patch = NULL;
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(root, "training");
    if (tr) TRY(parse_training(p, tr, c, &patch));
    const cJSON *va = cJSON_GetObjectItemCaseSensitive(root, "validation");
    if (va) TRY(parse_validation(p, va, c));
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(root, "seed");
    if (sd) {
        if (!cJSON_IsNumber(sd) || sd->valuedouble != floor(sd->valuedouble) || sd->valuedouble < 0 ||
            sd->valuedouble > 9007199254740992.0)
            return bad_value(p, "$.seed", sd, "expected an integer in 0..2^53");
        c->seed = (uint64_t)sd->valuedouble;
    }
    const cJSON *rg = cJSON_GetObjectItemCaseSensitive(root, "regularizers");
    if (rg) TRY(parse_regularizers(p, rg, c));
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(root, "continual");
    if (ct) TRY(parse_continual(p, ct, c));
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(root, "evaluation");
    if (ev) TRY(parse_evaluation(p, ev, c));
    const cJSON *dv = cJSON_GetObjectItemCaseSensitive(root, "device");
    if (dv && !cJSON_IsNull(dv)) TRY(get_str(p, root, "$", "device", c->device, sizeof c->device));
    TRY(get_str(p, root, "$", "output", c->output, sizeof c->output));

    /* cross-field rules */
    if (c->task == CLI_TASK_SEGMENTATION) {
        if (c->model.kind != CLI_MODEL_UNET)
            return bad_value(p, "$.model.kind", cJSON_GetObjectItemCaseSensitive(m, "kind"),
                             "task \"segmentation\" needs \"unet\"");
        if (c->dataset.kind == CLI_DATASET_CSV)
            return bad_value(p, "$.dataset.kind", cJSON_GetObjectItemCaseSensitive(d, "kind"),
                             "task \"segmentation\" needs \"nnunet\", \"folders\", \"demo-brain\" or \"phantom\"");
    } else {
        if (c->model.kind != CLI_MODEL_CLASSIFIER)
            return bad_value(p, "$.model.kind", cJSON_GetObjectItemCaseSensitive(m, "kind"),
                             "task \"classification\" needs \"classifier\"");
        if (c->dataset.kind != CLI_DATASET_CSV)
            return bad_value(p, "$.dataset.kind", cJSON_GetObjectItemCaseSensitive(d, "kind"),
                             "task \"classification\" needs \"classification-csv\"");
        if (c->loss != CLI_LOSS_CE)
            return bad_value(p, "$.loss", l, "task \"classification\" needs \"ce\"");
    }
    bool builtin = c->dataset.kind == CLI_DATASET_DEMO_BRAIN || c->dataset.kind == CLI_DATASET_PHANTOM;
    if (builtin && c->model.dims != 2)
        return bad_value(p, "$.model.dims", cJSON_GetObjectItemCaseSensitive(m, "dims"),
                         "dataset kind \"%s\" holds 2D slices: dims must be 2", cli_dataset_kind_str(c->dataset.kind));
    if (patch) {
        TRY(parse_patch(p, patch, c));
    } else if (!builtin) {
        return missing(p, "$.training.patch", "required: [H, W] for 2D or [D, H, W] for 3D models");
    }
    if (c->training.batch * c->training.oversample_foreground > 0 && c->task == CLI_TASK_CLASSIFICATION)
        c->training.oversample_foreground = 0.0;
    if (!(c->schedule.lr_min <= c->lr) && c->schedule.kind == MEDCL_LR_COSINE)
        return bad_value(p, "$.schedule.lr_min", cJSON_GetObjectItemCaseSensitive(s, "lr_min"),
                         "must be <= optimizer.lr = %g", c->lr);
    if (c->schedule.kind == MEDCL_LR_COSINE && c->schedule.warmup >= c->training.epochs)
        return bad_value(p, "$.schedule.warmup", cJSON_GetObjectItemCaseSensitive(s, "warmup"),
                         "must be < training.epochs = %d", c->training.epochs);
    if (c->n_norm && c->model.in_channels && c->n_norm != c->model.in_channels)
        return bad_value(p, "$.dataset.normalization", cJSON_GetObjectItemCaseSensitive(d, "normalization"),
                         "has %d entries, model.in_channels is %d", c->n_norm, c->model.in_channels);
    if (c->dataset.n_scanners && !builtin)
        return bad_value(p, "$.dataset.scanners", cJSON_GetObjectItemCaseSensitive(d, "scanners"),
                         "simulated scanners need dataset kind \"demo-brain\" or \"phantom\"");
    bool mix = c->regularizers.mixup_p > 0 || c->regularizers.cutmix_p > 0;
    if (c->task == CLI_TASK_CLASSIFICATION) {
        if (mix)
            return bad_value(p, "$.regularizers", rg, "mixup and cutmix are implemented for segmentation only");
        if (c->regularizers.n_dropout)
            return bad_value(p, "$.regularizers.dropout", cJSON_GetObjectItemCaseSensitive(rg, "dropout"),
                             "dropout is placed in the U-Net stages (segmentation only)");
    }
    if (c->regularizers.n_dropout > 1 && c->regularizers.n_dropout != c->model.levels)
        return bad_value(p, "$.regularizers.dropout", cJSON_GetObjectItemCaseSensitive(rg, "dropout"),
                         "has %d rates, model.levels is %d (one rate per stage, or one number)",
                         c->regularizers.n_dropout, c->model.levels);
    if (c->regularizers.label_smoothing > 0 && c->loss == CLI_LOSS_DICE)
        return bad_value(p, "$.regularizers.label_smoothing",
                         cJSON_GetObjectItemCaseSensitive(rg, "label_smoothing"),
                         "applies to the cross-entropy; loss \"dice\" has none");
    if (c->continual.method != CLI_CONTINUAL_NONE && c->dataset.n_train_domains)
        return bad_value(p, "$.dataset.train_domains", cJSON_GetObjectItemCaseSensitive(d, "train_domains"),
                         "cannot be combined with a continual section (its domains are the stages)");
    if (c->evaluation.robust_method != MEDCL_ADV_NONE && c->task != CLI_TASK_SEGMENTATION)
        return bad_value(p, "$.evaluation.robustness", cJSON_GetObjectItemCaseSensitive(ev, "robustness"),
                         "robustness evaluation is implemented for segmentation only");
    c->schedule.lr0 = c->lr;
    c->schedule.total = c->training.epochs;
    return MEDCL_OK;
}

medcl_status cli_config_parse(const char *text, size_t n, const char *name, const char *const *sets, int nsets,
                              cli_config *out) {
    if (!text || !out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "config: NULL argument");
    pctx p = {name ? name : "config"};
    cli_config_free(out);
    cli_config_init(out);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!root) {
        /* line and column of the first error */
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        const char *e = cJSON_GetErrorPtr();
        if (e && e >= text && e <= text + n) off = (size_t)(e - text);
        int line = 1, col = 1;
        for (size_t i = 0; i < off && i < n; i++) {
            if (text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return medcl_fail(MEDCL_ERR_FORMAT, "%s: line %d, column %d: malformed JSON", p.name, line, col);
    }
    medcl_status st = MEDCL_OK;
    for (int i = 0; i < nsets && st == MEDCL_OK; i++) st = apply_set(&p, root, sets[i]);
    if (st == MEDCL_OK) st = parse_root(&p, root, out);
    cJSON_Delete(root);
    if (st != MEDCL_OK) {
        cli_config_free(out);
        char keep[2048];
        snprintf(keep, sizeof keep, "%s", medcl_last_error());
        cli_config_init(out);
        medcl_fail(st, "%s", keep);
    }
    return st;
}

medcl_status cli_config_load(const char *path, const char *const *sets, int nsets, cli_config *out) {
    if (!path || !out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "config: NULL argument");
    FILE *f = fopen(path, "rb");
    if (!f) return medcl_fail(MEDCL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    const size_t cap = (size_t)4 << 20;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, cap + 1, f);
    bool err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return medcl_fail(MEDCL_ERR_IO, "%s: read error", path);
    }
    if (n > cap) {
        free(buf);
        return medcl_fail(MEDCL_ERR_FORMAT, "%s: larger than 4 MiB; not a config file", path);
    }
    buf[n] = 0;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    medcl_status st = cli_config_parse(buf, n, base, sets, nsets, out);
    free(buf);
    if (st != MEDCL_OK) {
        /* name the path as given, not only its base name */
        if (strcmp(base, path)) {
            char keep[2048];
            snprintf(keep, sizeof keep, "%s", medcl_last_error());
            size_t bl = strlen(base);
            if (!strncmp(keep, base, bl)) return medcl_fail(st, "%s%s", path, keep + bl);
        }
        return st;
    }
    if (!out->output[0]) {
        char stem[256];
        snprintf(stem, sizeof stem, "%s", base);
        char *dot = strrchr(stem, '.');
        if (dot && dot != stem) *dot = 0;
        snprintf(out->output, sizeof out->output, "runs/%s", stem);
    }
    return MEDCL_OK;
}

/* ------------------------------------------------------------------ to JSON */

medcl_status cli_config_to_json(const cli_config *c, char **out) {
    if (!c || !out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "config to json: NULL argument");
    *out = NULL;
    cJSON *r = cJSON_CreateObject();
    if (!r) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "config to json: out of memory");
    cJSON_AddStringToObject(r, "task", cli_task_str(c->task));
    cJSON *d = cJSON_AddObjectToObject(r, "dataset");
    cJSON_AddStringToObject(d, "kind", cli_dataset_kind_str(c->dataset.kind));
    if (c->dataset.path[0]) cJSON_AddStringToObject(d, "path", c->dataset.path);
    if (c->dataset.images[0]) cJSON_AddStringToObject(d, "images", c->dataset.images);
    if (c->dataset.labels[0]) cJSON_AddStringToObject(d, "labels", c->dataset.labels);
    if (c->dataset.num_classes) cJSON_AddNumberToObject(d, "num_classes", c->dataset.num_classes);
    cJSON_AddNumberToObject(d, "fold", c->dataset.fold);
    cJSON_AddNumberToObject(d, "folds", c->dataset.folds);
    if (c->dataset.n_train_domains) {
        cJSON *a = cJSON_AddArrayToObject(d, "train_domains");
        for (int i = 0; i < c->dataset.n_train_domains; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(c->dataset.train_domains[i]));
    }
    cJSON_AddNumberToObject(d, "cases", c->dataset.cases);
    cJSON_AddNumberToObject(d, "size", c->dataset.size);
    cJSON_AddNumberToObject(d, "downsample", c->dataset.downsample);
    if (c->dataset.n_scanners) {
        cJSON *a = cJSON_AddArrayToObject(d, "scanners");
        for (int i = 0; i < c->dataset.n_scanners; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(c->dataset.scanners[i]));
    }
    if (c->n_norm) {
        cJSON *a = cJSON_AddArrayToObject(d, "normalization");
        for (int i = 0; i < c->n_norm; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(NORM_SCHEMES[c->norm_scheme[i]]));
    }
    cJSON *m = cJSON_AddObjectToObject(r, "model");
    cJSON_AddStringToObject(m, "kind", MODEL_KINDS[c->model.kind]);
    cJSON_AddNumberToObject(m, "dims", c->model.dims);
    if (c->model.in_channels) cJSON_AddNumberToObject(m, "in_channels", c->model.in_channels);
    if (c->model.num_classes) cJSON_AddNumberToObject(m, "num_classes", c->model.num_classes);
    cJSON_AddNumberToObject(m, "levels", c->model.levels);
    cJSON_AddNumberToObject(m, "features", c->model.features);
    cJSON_AddNumberToObject(m, "max_features", c->model.max_features);
    cJSON_AddNumberToObject(m, "convs_per_stage", c->model.convs_per_stage);
    cJSON_AddStringToObject(m, "norm", cli_norm_str(c->model.norm));
    cJSON_AddStringToObject(m, "activation", cli_activation_str(c->model.activation));
    cJSON_AddNumberToObject(m, "slope", c->model.slope);
    cJSON_AddStringToObject(m, "decoder", c->model.transposed_decoder ? "transposed" : "upsample");
    cJSON_AddBoolToObject(m, "deep_supervision", c->model.deep_supervision);
    cJSON_AddBoolToObject(m, "residual", c->model.residual);
    cJSON_AddNumberToObject(m, "stages", c->model.stages);
    cJSON_AddNumberToObject(m, "blocks_per_stage", c->model.blocks_per_stage);
    if (c->augmentation_json) {
        cJSON *a = cJSON_Parse(c->augmentation_json);
        if (a) cJSON_AddItemToObject(r, "augmentation", a);
    } else {
        cJSON_AddStringToObject(r, "augmentation", c->augmentation_preset);
    }
    cJSON *o = cJSON_AddObjectToObject(r, "optimizer");
    cJSON_AddStringToObject(o, "kind", OPTIMS[c->optimizer.kind]);
    cJSON_AddNumberToObject(o, "lr", c->lr);
    cJSON_AddNumberToObject(o, "momentum", c->optimizer.momentum);
    cJSON_AddNumberToObject(o, "dampening", c->optimizer.dampening);
    cJSON_AddBoolToObject(o, "nesterov", c->optimizer.nesterov);
    cJSON_AddNumberToObject(o, "weight_decay", c->optimizer.weight_decay);
    cJSON_AddNumberToObject(o, "beta1", c->optimizer.beta1);
    cJSON_AddNumberToObject(o, "beta2", c->optimizer.beta2);
    cJSON_AddNumberToObject(o, "eps", c->optimizer.eps);
    cJSON_AddNumberToObject(o, "clip_norm", c->optimizer.clip_norm);
    cJSON_AddBoolToObject(o, "skip_nonfinite", c->optimizer.skip_nonfinite);
    cJSON *s = cJSON_AddObjectToObject(r, "schedule");
    cJSON_AddStringToObject(s, "kind", cli_lr_kind_str(c->schedule.kind));
    cJSON_AddNumberToObject(s, "exponent", c->schedule.exponent);
    cJSON_AddNumberToObject(s, "step_size", (double)c->schedule.step_size);
    cJSON_AddNumberToObject(s, "gamma", c->schedule.gamma);
    cJSON_AddNumberToObject(s, "warmup", (double)c->schedule.warmup);
    cJSON_AddNumberToObject(s, "lr_min", c->schedule.lr_min);
    cJSON_AddStringToObject(r, "loss", cli_loss_str(c->loss));
    cJSON *t = cJSON_AddObjectToObject(r, "training");
    cJSON_AddNumberToObject(t, "epochs", c->training.epochs);
    cJSON_AddNumberToObject(t, "iterations", c->training.iterations);
    cJSON_AddNumberToObject(t, "batch", c->training.batch);
    if (c->training.patch[1] > 0) {
        cJSON *pa = cJSON_AddArrayToObject(t, "patch");
        for (int k = 3 - c->model.dims; k < 3; k++)
            cJSON_AddItemToArray(pa, cJSON_CreateNumber((double)c->training.patch[k]));
    }
    cJSON_AddNumberToObject(t, "oversample_foreground", c->training.oversample_foreground);
    cJSON_AddNumberToObject(t, "threads", c->training.threads);
    cJSON_AddNumberToObject(t, "prefetch", c->training.prefetch);
    cJSON *v = cJSON_AddObjectToObject(r, "validation");
    cJSON_AddNumberToObject(v, "every", c->validation.every);
    cJSON_AddNumberToObject(v, "step", c->validation.step);
    cJSON_AddBoolToObject(v, "mirror", c->validation.mirror);
    cJSON_AddNumberToObject(v, "max_cases", c->validation.max_cases);
    cJSON *rg = cJSON_AddObjectToObject(r, "regularizers");
    if (c->regularizers.n_dropout == 1) {
        cJSON_AddNumberToObject(rg, "dropout", c->regularizers.dropout[0]);
    } else if (c->regularizers.n_dropout > 1) {
        cJSON *a = cJSON_AddArrayToObject(rg, "dropout");
        for (int i = 0; i < c->regularizers.n_dropout; i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(c->regularizers.dropout[i]));
    }
    cJSON_AddNumberToObject(rg, "label_smoothing", c->regularizers.label_smoothing);
    cJSON *mx = cJSON_AddObjectToObject(rg, "mixup");
    cJSON_AddNumberToObject(mx, "alpha", c->regularizers.mixup_alpha);
    cJSON_AddNumberToObject(mx, "p", c->regularizers.mixup_p);
    cJSON *cm = cJSON_AddObjectToObject(rg, "cutmix");
    cJSON_AddNumberToObject(cm, "alpha", c->regularizers.cutmix_alpha);
    cJSON_AddNumberToObject(cm, "p", c->regularizers.cutmix_p);
    const medcl_adv_config *ac = &c->regularizers.adversarial;
    cJSON *ad = cJSON_AddObjectToObject(rg, "adversarial");
    cJSON_AddStringToObject(ad, "method", ADV[ac->method]);
    cJSON_AddNumberToObject(ad, "epsilon", ac->epsilon);
    cJSON_AddNumberToObject(ad, "alpha", ac->alpha);
    cJSON_AddNumberToObject(ad, "steps", ac->steps);
    cJSON_AddNumberToObject(ad, "weight", ac->weight);
    cJSON_AddBoolToObject(ad, "random_start", ac->random_start);
    if (c->continual.method != CLI_CONTINUAL_NONE) {
        cJSON *k = cJSON_AddObjectToObject(r, "continual");
        cJSON_AddStringToObject(k, "method", CONTINUAL[c->continual.method]);
        cJSON_AddNumberToObject(k, "lambda", c->continual.lambda);
        cJSON_AddNumberToObject(k, "temperature", c->continual.temperature);
        cJSON_AddNumberToObject(k, "replay_fraction", c->continual.replay_fraction);
        cJSON_AddNumberToObject(k, "fisher_batches", c->continual.fisher_batches);
        cJSON *a = cJSON_AddArrayToObject(k, "domains");
        for (int i = 0; i < c->continual.n_domains; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(c->continual.domains[i]));
    }
    cJSON *ev = cJSON_AddObjectToObject(r, "evaluation");
    cJSON_AddBoolToObject(ev, "domains", c->evaluation.domains);
    cJSON_AddNumberToObject(ev, "bootstrap", c->evaluation.bootstrap);
    if (c->evaluation.robust_method != MEDCL_ADV_NONE) {
        cJSON *rb = cJSON_AddObjectToObject(ev, "robustness");
        cJSON_AddStringToObject(rb, "method", ADV[c->evaluation.robust_method]);
        cJSON_AddNumberToObject(rb, "steps", c->evaluation.robust_steps);
        cJSON *a = cJSON_AddArrayToObject(rb, "epsilon");
        for (int i = 0; i < c->evaluation.n_epsilons; i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(c->evaluation.epsilons[i]));
    }
    cJSON_AddNumberToObject(r, "seed", (double)c->seed);
    if (c->device[0]) cJSON_AddStringToObject(r, "device", c->device);
    else cJSON_AddNullToObject(r, "device");
    if (c->output[0]) cJSON_AddStringToObject(r, "output", c->output);
    *out = cJSON_Print(r);
    cJSON_Delete(r);
    return *out ? MEDCL_OK : medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "config to json: out of memory");
}
