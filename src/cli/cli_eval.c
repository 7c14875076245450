/* src/cli/cli_eval.c — `medcl eval`: a checkpoint of `medcl train` evaluated on one or more
 * test sets (image/label folder pairs named on the command line, or domains of the dataset of
 * a config) through the cross-domain protocol (medcl/protocol.h): metrics per case, class
 * and set with bootstrap intervals, the in-domain versus out-of-domain gap, an optional
 * severity sweep, and the report folder (report.json, report.md, SVG figures, PNG overlays).
 * Also the pieces `medcl demo` shares (declared again in cli_demo.c): the model of a
 * checkpoint as a sliding-window predictor, training curves from curves.csv, the summary
 * table (text or JSON), and `--check REPORT.json` (parses a report with cJSON: tests use it).
 *
 * Leaves out: classification models, CT normalization (needs the training set's
 * statistics), resampling test images to the training spacing. */
#define _XOPEN_SOURCE 700 /* realpath, symlink */
#include "cli.h"
#include "cli/config.h"
#include "cli/trainer.h"
#include "core/internal.h"
#include "medcl/data.h"
#include "medcl/protocol.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ================================================================== shared with cli_demo.c */

#include "cli_eval.h"
int cli_eval_check_report(const char *path, FILE *out);

struct cli_eval_model {
    medcl_context *ctx;
    medcl_graph *g;
    medcl_tensor *in, *logits;
    cli_config cfg;
    char *json;   /* medcl.model text */
    int batch;
};

medcl_status cli_eval_model_open(const char *ckpt, const char *device, int batch, cli_eval_model **out) {
    medcl_status st = MEDCL_OK;
    medcl_safetensors *f = NULL;
    cli_eval_model *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "eval: out of memory");
    cli_config_init(&m->cfg);
    m->batch = batch;
    MEDCL_TRY(medcl_safetensors_read(ckpt, &f));
    const char *model = medcl_safetensors_meta(f, "medcl.model");
    if (!model) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: no medcl.model metadata (not a checkpoint of medcl train)", ckpt);
    m->json = strdup(model);
    if (!m->json) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "eval: out of memory");
    char name[CLI_PATH_MAX + 32];
    snprintf(name, sizeof name, "%s: medcl.model", ckpt);
    MEDCL_TRY(cli_config_parse(model, strlen(model), name, NULL, 0, &m->cfg));
    medcl_safetensors_close(f);
    f = NULL;
    const cli_config *c = &m->cfg;
    if (c->task != CLI_TASK_SEGMENTATION)
        MEDCL_FAIL(MEDCL_ERR_UNSUPPORTED, "%s: $.task = \"%s\": eval handles segmentation models only", ckpt,
                   cli_task_str(c->task));
    if (!c->model.in_channels || !c->model.num_classes || !c->n_norm || !c->training.patch[1])
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: medcl.model lacks in_channels, num_classes, normalization or patch", ckpt);
    medcl_context_options co = MEDCL_CONTEXT_OPTIONS_INIT;
    co.device = device ? device : (c->device[0] ? c->device : NULL);
    MEDCL_TRY(medcl_context_create(&co, &m->ctx));
    MEDCL_TRY(medcl_graph_create(m->ctx, &m->g));
    cli_model cm;
    MEDCL_TRY(cli_model_build(m->g, c, batch, false, &cm));
    medcl_graph_compile_options gco = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
    gco.training = false;
    MEDCL_TRY(medcl_graph_compile(m->g, &gco));
    MEDCL_TRY(cli_load_weights(ckpt, m->g));
    m->in = medcl_graph_tensor(m->g, cm.image);
    m->logits = medcl_graph_tensor(m->g, cm.logits);
    *out = m;
    m = NULL;
cleanup:
    medcl_safetensors_close(f);
    cli_eval_model_close(m);
    return st;
}

void cli_eval_model_close(cli_eval_model *m) {
    if (!m) return;
    medcl_graph_destroy(m->g);
    medcl_context_destroy(m->ctx);
    cli_config_free(&m->cfg);
    free(m->json);
    free(m);
}

medcl_context *cli_eval_model_context(const cli_eval_model *m) { return m->ctx; }
const cli_config *cli_eval_model_config(const cli_eval_model *m) { return &m->cfg; }
const char *cli_eval_model_json(const cli_eval_model *m) { return m->json; }
int64_t cli_eval_model_params(const cli_eval_model *m) { return medcl_graph_param_numel(m->g); }

void cli_eval_model_infer(const cli_eval_model *m, medcl_infer_options *io) {
    medcl_infer_options d = MEDCL_INFER_OPTIONS_INIT;
    *io = d;
    memcpy(io->patch, m->cfg.training.patch, sizeof io->patch);
    io->num_classes = m->cfg.model.num_classes;
    io->step = m->cfg.validation.step;
    io->batch = m->batch;
    io->mirror_axes = m->cfg.validation.mirror ? MEDCL_INFER_MIRROR_ALL : 0u;
}

/* The predictor: the graph's input and logits have the patch batch's element counts (a 2D
 * model on 5-D input with pD = 1 sees the same bytes). */
medcl_status cli_eval_predict(void *user, const medcl_tensor *patch_batch, medcl_tensor *logits) {
    cli_eval_model *m = user;
    medcl_status st = medcl_tensor_copy(m->in, patch_batch);
    if (st == MEDCL_OK) st = medcl_graph_forward(m->g);
    if (st == MEDCL_OK) st = medcl_tensor_copy(logits, m->logits);
    return st;
}

void cli_eval_model_describe(const cli_config *c, char *buf, size_t cap, char *train, size_t tcap) {
    if (c->model.kind == CLI_MODEL_UNET)
        snprintf(buf, cap,
                 "U-Net %dD, %d levels, %d base features (max %d), %d conv-norm-activation blocks per stage, %s "
                 "normalization, %s activation, %s decoder, deep supervision %s; %d input channel(s), %d classes; "
                 "input patch %lldx%lldx%lld",
                 c->model.dims, c->model.levels, c->model.features, c->model.max_features, c->model.convs_per_stage,
                 cli_norm_str(c->model.norm), cli_activation_str(c->model.activation),
                 c->model.transposed_decoder ? "transposed-convolution" : "upsampling",
                 c->model.deep_supervision ? "on" : "off", c->model.in_channels, c->model.num_classes,
                 (long long)c->training.patch[0], (long long)c->training.patch[1], (long long)c->training.patch[2]);
    else
        snprintf(buf, cap, "classifier %dD, %d stages", c->model.dims, c->model.stages);
    if (train)
        snprintf(train, tcap,
                 "%s optimizer, initial learning rate %g, %s schedule, loss %s, augmentation %s, %d epochs x %d "
                 "steps, batch %d, seed %llu",
                 c->optimizer.kind == MEDCL_OPTIM_SGD ? "SGD" : c->optimizer.kind == MEDCL_OPTIM_ADAM ? "Adam" : "AdamW",
                 c->lr, cli_lr_kind_str(c->schedule.kind), cli_loss_str(c->loss),
                 c->augmentation_json ? "(custom pipeline)" : c->augmentation_preset, c->training.epochs,
                 c->training.iterations, c->training.batch, (unsigned long long)c->seed);
}

/* curves.csv (kind,epoch,step,loss,lr,grad_norm,dice) → series 0: training loss averaged over
 * blocks of steps (at most ~100 points), series 1: validation Dice; x = step. */
medcl_status cli_eval_curves_load(const char *csv, medcl_chart_series series[2], int *num, double **storage) {
    medcl_status st = MEDCL_OK;
    void *data = NULL;
    size_t n = 0;
    *num = 0;
    *storage = NULL;
    MEDCL_TRY(medcl_file_read_all(csv, (size_t)1 << 28, &data, &n));
    int64_t rows = 0;
    for (size_t i = 0; i < n; i++) rows += ((char *)data)[i] == '\n';
    double *buf = malloc((size_t)(4 * rows + 4) * sizeof(double));
    if (!buf) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", csv);
    *storage = buf;
    double *tx = buf, *ty = buf + rows + 1, *vx = buf + 2 * (rows + 1), *vy = buf + 3 * (rows + 1);
    int64_t nt = 0, nv = 0;
    char *s = data, *end = s + n;
    while (s < end) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        if (nl) *nl = 0;
        char kind[8] = "";
        int epoch = 0;
        long long step = 0;
        int used = 0;
        if (sscanf(s, "%7[a-z],%d,%lld,%n", kind, &epoch, &step, &used) == 3 && used > 0) {
            char *rest = s + used;
            if (!strcmp(kind, "train")) {
                tx[nt] = (double)step;
                ty[nt++] = strtod(rest, NULL);
            } else if (!strcmp(kind, "val")) {
                const char *d = strrchr(rest, ',');
                vx[nv] = (double)step;
                vy[nv++] = d ? strtod(d + 1, NULL) : NAN;
            }
        }
        s = nl ? nl + 1 : end;
    }
    int64_t block = nt > 100 ? (nt + 99) / 100 : 1, nb = 0;
    for (int64_t i = 0; i < nt; i += block) {
        double sum = 0, x = 0;
        int64_t c = 0;
        for (int64_t j = i; j < nt && j < i + block; j++, c++) {
            sum += ty[j];
            x = tx[j];
        }
        tx[nb] = x;
        ty[nb++] = sum / (double)c;
    }
    memset(series, 0, 2 * sizeof *series);
    if (nb) {
        series[*num].name = block > 1 ? "training loss (mean over steps)" : "training loss";
        series[*num].x = tx;
        series[*num].y = ty;
        series[*num].n = nb;
        (*num)++;
    }
    if (nv) {
        series[*num].name = "validation Dice";
        series[*num].x = vx;
        series[*num].y = vy;
        series[*num].n = nv;
        (*num)++;
    }
cleanup:
    free(data);
    return st;
}

/* ================================================================== summary output */

static void json_num(FILE *f, double v) {
    if (isnan(v)) fputs("null", f);
    else if (isinf(v)) fputs(v > 0 ? "\"inf\"" : "\"-inf\"", f);
    else fprintf(f, "%.6g", v);
}

static void json_ci(FILE *f, const medcl_ci *ci) {
    fputs("{\"estimate\": ", f);
    json_num(f, ci ? ci->estimate : NAN);
    fputs(", \"lower\": ", f);
    json_num(f, ci ? ci->lower : NAN);
    fputs(", \"upper\": ", f);
    json_num(f, ci ? ci->upper : NAN);
    fputs("}", f);
}

static const medcl_ci *fg(const medcl_eval_set_result *r, medcl_eval_metric m, bool gap) {
    medcl_ci *const *t = gap ? r->gap : r->mean;
    return t[m] ? &t[m][r->num_classes] : NULL;
}

void cli_eval_print(FILE *f, const medcl_eval_results *r, const medcl_eval_sweep_result *const *sw, int nsw,
                    bool json, const char *report_dir) {
    static const medcl_eval_metric cols[] = {MEDCL_EVAL_DICE, MEDCL_EVAL_HD_PERCENTILE, MEDCL_EVAL_ASSD,
                                             MEDCL_EVAL_NSD};
    char b[4][96];
    if (json) {
        fputs("{\"report\": ", f);
        cli_json_str(f, report_dir ? report_dir : "");
        fputs(", \"sets\": [", f);
        for (int s = 0; r && s < r->num_sets; s++) {
            const medcl_eval_set_result *x = &r->sets[s];
            fprintf(f, "%s\n  {\"name\": ", s ? "," : "");
            cli_json_str(f, x->name);
            fputs(", \"domain\": ", f);
            cli_json_str(f, x->domain);
            fprintf(f, ", \"in_domain\": %s, \"cases\": %lld", x->in_domain ? "true" : "false", (long long)x->num_cases);
            for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
                fprintf(f, ", \"%s\": ", medcl_eval_metric_str(cols[c]));
                json_ci(f, fg(x, cols[c], false));
            }
            fputs(", \"gap_dice\": ", f);
            if (x->gap[MEDCL_EVAL_DICE]) json_ci(f, fg(x, MEDCL_EVAL_DICE, true));
            else fputs("null", f);
            fputs("}", f);
        }
        fputs("],\n \"sweeps\": [", f);
        for (int i = 0; i < nsw; i++) {
            const medcl_eval_sweep_result *w = sw[i];
            fprintf(f, "%s\n  {\"set\": ", i ? "," : "");
            cli_json_str(f, w->set_name);
            fprintf(f, ", \"transform\": \"%s\", \"points\": [", medcl_augment_kind_str(w->kind));
            for (int k = 0; k < w->num_strengths; k++) {
                const medcl_eval_set_result *x = &w->results->sets[k];
                fprintf(f, "%s{\"strength\": ", k ? ", " : "");
                json_num(f, w->strengths[k]);
                fputs(", \"dice\": ", f);
                json_ci(f, fg(x, MEDCL_EVAL_DICE, false));
                fputs(", \"drop\": ", f);
                if (x->gap[MEDCL_EVAL_DICE]) json_ci(f, fg(x, MEDCL_EVAL_DICE, true));
                else fputs("null", f);
                fputs("}", f);
            }
            fputs("]}", f);
        }
        fputs("]}\n", f);
        return;
    }
    if (r) {
        fprintf(f, "%-22s %-16s %-4s %5s  %-24s %-22s %-22s %-22s  %s\n", "set", "domain", "in", "cases",
                "Dice [95% CI]", "HD95 mm", "ASSD mm", "NSD", "gap Dice (ref - set)");
        for (int s = 0; s < r->num_sets; s++) {
            const medcl_eval_set_result *x = &r->sets[s];
            for (size_t c = 0; c < 4; c++)
                medcl_md_format_ci(b[c], sizeof b[c], fg(x, cols[c], false), c == 0 || c == 3 ? 3 : 2);
            char gap[96] = "reference";
            if (x->gap[MEDCL_EVAL_DICE]) medcl_md_format_ci(gap, sizeof gap, fg(x, MEDCL_EVAL_DICE, true), 3);
            else if (s != r->reference_set) snprintf(gap, sizeof gap, "-");
            fprintf(f, "%-22s %-16s %-4s %5lld  %-24s %-22s %-22s %-22s  %s\n", x->name, x->domain,
                    x->in_domain ? "yes" : "no", (long long)x->num_cases, b[0], b[1], b[2], b[3], gap);
        }
    }
    for (int i = 0; i < nsw; i++) {
        const medcl_eval_sweep_result *w = sw[i];
        fprintf(f, "severity sweep of %s on %s (foreground Dice; drop vs strength %g):\n", medcl_augment_kind_str(w->kind),
                w->set_name, w->strengths[w->results->reference_set >= 0 ? w->results->reference_set : 0]);
        for (int k = 0; k < w->num_strengths; k++) {
            const medcl_eval_set_result *x = &w->results->sets[k];
            medcl_md_format_ci(b[0], sizeof b[0], fg(x, MEDCL_EVAL_DICE, false), 3);
            char drop[96] = "-";
            if (x->gap[MEDCL_EVAL_DICE]) medcl_md_format_ci(drop, sizeof drop, fg(x, MEDCL_EVAL_DICE, true), 3);
            fprintf(f, "  strength %-8g Dice %-24s drop %s\n", w->strengths[k], b[0], drop);
        }
    }
    if (report_dir) fprintf(f, "report: %s/report.md (report.json, figures)\n", report_dir);
}

/* ================================================================== --check REPORT.json */

static double jnum_at(const cJSON *o, const char *const *path, int n) {
    for (int i = 0; i < n && o; i++) o = cJSON_GetObjectItemCaseSensitive(o, path[i]);
    return cJSON_IsNumber(o) ? o->valuedouble : NAN;
}

/* Parses a report.json and checks its shape: schema, results.sets with foreground Dice in
 * [0, 1], every listed figure present next to it. Prints one line per set. Exit code 0, 4
 * (malformed) or 1 (cannot read). */
int cli_eval_check_report(const char *path, FILE *out) {
    void *data = NULL;
    size_t n = 0;
    cJSON *root = NULL;
    int rc = CLI_EXIT_DATA;
    medcl_status st = medcl_file_read_all(path, (size_t)1 << 30, &data, &n);
    if (st != MEDCL_OK) return cli_report("eval", st);
    root = cJSON_ParseWithLength(data, n);
    if (!root) {
        fprintf(stderr, "medcl eval: malformed data: %s: not valid JSON (near byte %lld)\n", path,
                (long long)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - (const char *)data : -1));
        goto done;
    }
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
    if (!cJSON_IsString(schema) || strncmp(schema->valuestring, "medcl-report/", 13)) {
        fprintf(stderr, "medcl eval: malformed data: %s: $.schema is not \"medcl-report/...\"\n", path);
        goto done;
    }
    const cJSON *sets = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "results"), "sets");
    const cJSON *sweeps = cJSON_GetObjectItemCaseSensitive(root, "sweeps");
    if (!cJSON_IsArray(sets) && !cJSON_IsArray(sweeps)) {
        fprintf(stderr, "medcl eval: malformed data: %s: neither $.results.sets nor $.sweeps is an array\n", path);
        goto done;
    }
    int i = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, sets) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "name");
        static const char *const p[] = {"metrics", "dice", "foreground_mean", "estimate"};
        double d = jnum_at(s, p, 4);
        if (!cJSON_IsString(name) || !(d >= 0 && d <= 1)) {
            fprintf(stderr, "medcl eval: malformed data: %s: $.results.sets[%d]: name or "
                    "metrics.dice.foreground_mean.estimate (%g) missing or outside [0, 1]\n", path, i, d);
            goto done;
        }
        static const char *const q[] = {"num_cases"};
        fprintf(out, "set %s: %g cases, foreground Dice %.4f\n", name->valuestring, jnum_at(s, q, 1), d);
        i++;
    }
    int nsw = cJSON_GetArraySize(sweeps);
    const cJSON *figs = cJSON_GetObjectItemCaseSensitive(root, "figures"), *fgi;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) slash[1] = 0;
    else dir[0] = 0;
    int nf = 0;
    cJSON_ArrayForEach(fgi, figs) {
        struct stat sb;
        char fp[PATH_MAX + 256];
        if (!cJSON_IsString(fgi)) continue;
        snprintf(fp, sizeof fp, "%s%s", dir, fgi->valuestring);
        if (stat(fp, &sb) != 0 || sb.st_size == 0) {
            fprintf(stderr, "medcl eval: malformed data: %s: figure %s listed but missing or empty\n", path, fp);
            goto done;
        }
        nf++;
    }
    fprintf(out, "%s: ok (%d sets, %d sweeps, %d figures)\n", path, i, nsw, nf);
    rc = CLI_EXIT_OK;
done:
    cJSON_Delete(root);
    free(data);
    return rc;
}

/* ================================================================== test sets */

typedef struct test_set {
    char name[128], domain[128];
    char images[CLI_PATH_MAX], labels[CLI_PATH_MAX]; /* folder pair, or "" for a config domain */
    char tmp[CLI_PATH_MAX + 64];                     /* generated dataset folder (removed) */
    int in_domain;
    int64_t n;
    medcl_case_data **cd;
    int32_t **lab;
    char **ids;
    medcl_eval_case *cases;
} test_set;

static void test_set_free(test_set *t) {
    for (int64_t i = 0; i < t->n; i++) {
        if (t->cd) medcl_case_free(t->cd[i]);
        if (t->lab) free(t->lab[i]);
        if (t->ids) free(t->ids[i]);
    }
    free(t->ids);
    free(t->cd);
    free(t->lab);
    free(t->cases);
    if (t->tmp[0]) {
        char p[CLI_PATH_MAX + 96];
        static const char *const sub[] = {"imagesTr", "labelsTr", "dataset.json"};
        for (int k = 0; k < 3; k++) {
            snprintf(p, sizeof p, "%s/%s", t->tmp, sub[k]);
            unlink(p);
        }
        rmdir(t->tmp);
    }
}

static bool has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static const char *ending_of(const char *name) {
    return has_suffix(name, ".nii.gz") ? ".nii.gz" : has_suffix(name, ".nii") ? ".nii"
                                                   : has_suffix(name, ".png")  ? ".png"
                                                                               : NULL;
}

/* A folder pair as an nnU-Net folder: ROOT/{imagesTr, labelsTr} links and a dataset.json with
 * the model's channels and classes (file ending from the label files). */
static medcl_status folder_dataset(test_set *t, const cli_config *c, const char *root) {
    medcl_status st = MEDCL_OK;
    DIR *d = NULL;
    char img[PATH_MAX], lab[PATH_MAX], p[CLI_PATH_MAX + 96], json[8192];
    if (!realpath(t->images, img))
        return medcl_fail(MEDCL_ERR_IO, "--test %s: image folder %s: %s", t->name, t->images, strerror(errno));
    if (!realpath(t->labels, lab))
        return medcl_fail(MEDCL_ERR_IO, "--test %s: label folder %s: %s", t->name, t->labels, strerror(errno));
    d = opendir(lab);
    if (!d) MEDCL_FAIL(MEDCL_ERR_IO, "--test %s: label folder %s: %s", t->name, lab, strerror(errno));
    int n = 0;
    const char *ending = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *en = ending_of(e->d_name);
        if (!en || e->d_name[0] == '.') continue;
        if (ending && strcmp(ending, en))
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "--test %s: label folder %s mixes %s and %s files (%s)", t->name, lab, ending,
                       en, e->d_name);
        ending = en;
        n++;
    }
    if (!n) MEDCL_FAIL(MEDCL_ERR_FORMAT, "--test %s: label folder %s has no .nii.gz, .nii or .png files", t->name, lab);
    snprintf(t->tmp, sizeof t->tmp, "%s", root);
    MEDCL_TRY(medcl_mkdir_p(root));
    const char *sub[2] = {"imagesTr", "labelsTr"}, *target[2] = {img, lab};
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/%s", root, sub[k]);
        unlink(p);
        if (symlink(target[k], p) != 0) MEDCL_FAIL(MEDCL_ERR_IO, "cannot link %s to %s: %s", p, target[k], strerror(errno));
    }
    size_t len = (size_t)snprintf(json, sizeof json, "{\"channel_names\": {");
    for (int i = 0; i < c->model.in_channels; i++)
        len += (size_t)snprintf(json + len, sizeof json - len, "%s\"%d\": \"noNorm\"", i ? ", " : "", i);
    len += (size_t)snprintf(json + len, sizeof json - len, "}, \"labels\": {\"background\": 0");
    for (int k = 1; k < c->model.num_classes && len < sizeof json; k++)
        len += (size_t)snprintf(json + len, sizeof json - len, ", \"class%d\": %d", k, k);
    len += (size_t)snprintf(json + len, sizeof json - len, "}, \"numTraining\": %d, \"file_ending\": \"%s\"}\n", n,
                            ending);
    snprintf(p, sizeof p, "%s/dataset.json", root);
    MEDCL_TRY(medcl_file_write_atomic(p, json, strlen(json)));
cleanup:
    if (d) closedir(d);
    return st;
}

/* Loads cases idx[0..n) of ds, normalized with the model's schemes. */
static medcl_status load_cases(test_set *t, const medcl_dataset *ds, const int *idx, int n, const cli_config *c) {
    medcl_status st = MEDCL_OK;
    t->cd = calloc((size_t)n, sizeof *t->cd);
    t->lab = calloc((size_t)n, sizeof *t->lab);
    t->cases = calloc((size_t)n, sizeof *t->cases);
    t->ids = calloc((size_t)n, sizeof *t->ids);
    if (!t->cd || !t->lab || !t->cases || !t->ids) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "eval: out of memory");
    t->n = n;
    medcl_norm_scheme schemes[CLI_CONFIG_MAX_CHANNELS];
    for (int k = 0; k < c->n_norm; k++) schemes[k] = (medcl_norm_scheme)c->norm_scheme[k];
    for (int i = 0; i < n; i++) {
        const medcl_case *mc = medcl_dataset_case(ds, idx[i]);
        MEDCL_TRY(medcl_case_load(ds, idx[i], false, NULL, &t->cd[i]));
        medcl_case_data *cd = t->cd[i];
        if (cd->channels != c->model.in_channels)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "--test %s: case %s has %lld channels, the model takes %d", t->name, mc->id,
                       (long long)cd->channels, c->model.in_channels);
        if (!cd->label) MEDCL_FAIL(MEDCL_ERR_FORMAT, "--test %s: case %s has no label map", t->name, mc->id);
        MEDCL_TRY(medcl_case_normalize(cd, schemes, NULL, false));
        int64_t nv = cd->dim[0] * cd->dim[1] * cd->dim[2];
        t->lab[i] = malloc((size_t)nv * sizeof(int32_t));
        if (!t->lab[i]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "eval: out of memory");
        for (int64_t v = 0; v < nv; v++) {
            float x = cd->label[v];
            if (!(x >= 0 && x < (float)c->model.num_classes) || x != floorf(x))
                MEDCL_FAIL(MEDCL_ERR_FORMAT, "--test %s: %s: label value %g at voxel %lld is not a class of the model "
                           "(0..%d)", t->name, mc->label_file, (double)x, (long long)v, c->model.num_classes - 1);
            t->lab[i][v] = (int32_t)x;
        }
        if (c->model.dims == 3 && cd->dim[0] == 1)
            MEDCL_FAIL(MEDCL_ERR_UNSUPPORTED, "--test %s: case %s is 2D but the model is 3D", t->name, mc->id);
        medcl_eval_case *ec = &t->cases[i];
        t->ids[i] = strdup(mc->id);
        if (!t->ids[i]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "eval: out of memory");
        ec->id = t->ids[i];
        ec->image = cd->image;
        ec->label = t->lab[i];
        ec->channels = cd->channels;
        memcpy(ec->shape, cd->dim, sizeof ec->shape);
        memcpy(ec->spacing, cd->spacing, sizeof ec->spacing);
    }
cleanup:
    return st;
}

/* ================================================================== the command */

static void eval_usage(FILE *f) {
    fprintf(f,
            "usage: medcl eval --checkpoint CKPT --test NAME=IMAGES_DIR:LABELS_DIR [--test ...] --out DIR [options]\n"
            "       medcl eval --checkpoint CKPT --config CONFIG.json [--test DOMAIN ...] --out DIR [options]\n"
            "       medcl eval --check REPORT.json\n"
            "\n"
            "Evaluates a `medcl train` checkpoint on test sets by sliding-window inference and writes\n"
            "the report: DIR/report.json, DIR/report.md, SVG figures (per-set metrics with 95%% intervals,\n"
            "severity sweeps, training curves when curves.csv sits next to the checkpoint) and PNG\n"
            "overlays (worst and median case per set). Prints a table of foreground means per set.\n"
            "\n"
            "test sets:\n"
            "  --test NAME=IMAGES:LABELS  a folder pair in nnU-Net naming: IMAGES/CASE_0000.ext (one file\n"
            "                      per channel, _0001, ...) and LABELS/CASE.ext; ext .png, .nii or .nii.gz.\n"
            "                      Images are normalized as the checkpoint's training data.\n"
            "  --test DOMAIN       with --config: the cases of that domain of the config's nnU-Net\n"
            "                      dataset (dataset.json \"domains\"); without any --test: every domain\n"
            "  --config FILE       a medcl train config whose dataset supplies domains\n"
            "  --shift NAME=SET:KIND=S[,KIND=S...]  a simulated scanner: a copy of test set SET with\n"
            "                      the transforms applied in order at fixed strengths (repeatable)\n"
            "  --scanners          add the built-in simulated scanners (bias_field, noise,\n"
            "                      contrast_gamma, blur_lowres) of the reference set\n"
            "  --domain-of-training NAME  the set drawn from the training domain (repeatable); it is\n"
            "                      the reference of the generalization gap (reference minus set).\n"
            "                      Default: sets whose domain is in the checkpoint's\n"
            "                      dataset.train_domains, else the first set\n"
            "\n"
            "options:\n"
            "  --checkpoint CKPT   a .safetensors file written by medcl train (required)\n"
            "  --out DIR           report folder (required; created)\n"
            "  --sweep KIND=S1,S2,...  severity sweep on the reference set: transform KIND at each\n"
            "                      strength (repeatable). KIND: gaussian_noise, rician_noise,\n"
            "                      gaussian_blur, brightness_mul, brightness_add, contrast, gamma,\n"
            "                      low_res, bias_field, ghosting, spike, motion (medcl/protocol.h)\n"
            "  --step F            sliding-window step, fraction of the patch (default: the config's)\n"
            "  --mirror            mirroring test-time augmentation\n"
            "  --batch N           patches per forward pass (default 2)\n"
            "  --bootstrap N       bootstrap resamples of the 95%% intervals (default 1000)\n"
            "  --seed N            seed of the bootstrap and the sweep's transforms (default 0)\n"
            "  --no-surface        skip Hausdorff, ASSD, MASD and NSD (faster)\n"
            "  --device SEL        device (gpu, cpu, an index, P:D or a name substring)\n"
            "  --json              print the table as JSON on stdout\n"
            "  --check REPORT.json parse a report, check every set's Dice is in [0, 1] and every\n"
            "                      listed figure exists; print one line per set\n"
            "\n"
            "exit codes: 0 done, 1 error (e.g. a missing folder or file, named), 2 bad command line\n"
            "            (e.g. --test without NAME=IMAGES:LABELS), 3 no device, 4 malformed checkpoint,\n"
            "            config, image or label file (named with the field and value)\n");
}

static int usage_error(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "medcl eval: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, " (see medcl eval --help)\n");
    return CLI_EXIT_USAGE;
}

static bool parse_kind(const char *s, size_t n, medcl_augment_kind *out) {
    for (int k = 0; k < MEDCL_AUGMENT_KIND_COUNT; k++) {
        const char *name = medcl_augment_kind_str((medcl_augment_kind)k);
        if (name && strlen(name) == n && !strncmp(name, s, n)) {
            *out = (medcl_augment_kind)k;
            return true;
        }
    }
    return false;
}

#define MAX_SETS 32
#define MAX_SWEEPS 8
#define MAX_STRENGTHS 64

int cli_eval(int argc, char **argv) {
    const char *ckpt = NULL, *out = NULL, *device = NULL, *config = NULL;
    const char *in_names[MAX_SETS];
    int n_in = 0, nsets = 0, nsweeps = 0, batch = 2, rc = CLI_EXIT_OK, nshift = 0, nlib = 0;
    bool json = false, mirror = false, surface = true, scanners = false;
    const char *shift_spec[MAX_SETS];
    double step = 0;
    long long resamples = 1000;
    unsigned long long seed = 0;
    test_set *ts = calloc(MAX_SETS, sizeof *ts);
    medcl_augment_kind sw_kind[MAX_SWEEPS];
    double sw_s[MAX_SWEEPS][MAX_STRENGTHS];
    int sw_n[MAX_SWEEPS];
    cli_eval_model *m = NULL;
    medcl_dataset *cds = NULL;
    cli_config dcfg;
    cli_config_init(&dcfg);
    medcl_eval_set sets[2 * MAX_SETS + 8];
    memset(sets, 0, sizeof sets);
    medcl_eval_results *res = NULL;
    medcl_eval_sweep_result *sweeps[MAX_SWEEPS] = {0};
    medcl_chart_series curves[2];
    double *curve_buf = NULL;
    int *idx = NULL;
    medcl_status st = MEDCL_OK;
    if (!ts) return CLI_EXIT_ERROR;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (cli_is(a, "--help", "-h")) {
            eval_usage(stdout);
            goto done;
        } else if (!strcmp(a, "--check") && has) {
            rc = cli_eval_check_report(argv[++i], stdout);
            goto done;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--mirror")) {
            mirror = true;
        } else if (!strcmp(a, "--scanners")) {
            scanners = true;
        } else if (!strcmp(a, "--shift") && has) {
            if (nshift >= MAX_SETS) {
                rc = usage_error("too many %s%s", "--shift", "");
                goto done;
            }
            shift_spec[nshift++] = argv[++i];
        } else if (!strcmp(a, "--no-surface")) {
            surface = false;
        } else if (!strcmp(a, "--checkpoint") && has) {
            ckpt = argv[++i];
        } else if (!strcmp(a, "--out") && has) {
            out = argv[++i];
        } else if (!strcmp(a, "--device") && has) {
            device = argv[++i];
        } else if (!strcmp(a, "--config") && has) {
            config = argv[++i];
        } else if (!strcmp(a, "--domain-of-training") && has) {
            if (n_in >= MAX_SETS) {
                rc = usage_error("too many %s%s", "--domain-of-training", "");
                goto done;
            }
            in_names[n_in++] = argv[++i];
        } else if (!strcmp(a, "--test") && has) {
            const char *v = argv[++i], *eq = strchr(v, '=');
            if (nsets >= MAX_SETS) {
                rc = usage_error("at most 32 test sets (%s%s)", v, "");
                goto done;
            }
            test_set *t = &ts[nsets];
            if (eq) {
                const char *colon = strchr(eq + 1, ':');
                if (eq == v || !colon || colon == eq + 1 || !colon[1] || (size_t)(eq - v) >= sizeof t->name) {
                    rc = usage_error("--test \"%s\": expected NAME=IMAGES_DIR:LABELS_DIR%s", v, "");
                    goto done;
                }
                snprintf(t->name, sizeof t->name, "%.*s", (int)(eq - v), v);
                snprintf(t->images, sizeof t->images, "%.*s", (int)(colon - eq - 1), eq + 1);
                snprintf(t->labels, sizeof t->labels, "%s", colon + 1);
            } else {
                if (!*v || strchr(v, ':') || strlen(v) >= sizeof t->name) {
                    rc = usage_error("--test \"%s\": expected NAME=IMAGES_DIR:LABELS_DIR or a domain name%s", v, "");
                    goto done;
                }
                snprintf(t->name, sizeof t->name, "%s", v);
            }
            snprintf(t->domain, sizeof t->domain, "%s", t->name);
            for (int k = 0; k < nsets; k++)
                if (!strcmp(ts[k].name, t->name)) {
                    rc = usage_error("--test: the name \"%s\" is used twice%s", t->name, "");
                    goto done;
                }
            nsets++;
        } else if (!strcmp(a, "--sweep") && has) {
            const char *v = argv[++i], *eq = strchr(v, '=');
            if (nsweeps >= MAX_SWEEPS) {
                rc = usage_error("at most 8 sweeps (%s%s)", v, "");
                goto done;
            }
            if (!eq || !parse_kind(v, (size_t)(eq - v), &sw_kind[nsweeps])) {
                rc = usage_error("--sweep \"%s\": expected KIND=S1,S2,... with KIND a transform name%s", v, "");
                goto done;
            }
            int n = 0;
            const char *p = eq + 1;
            while (*p) {
                char *end;
                double x = strtod(p, &end);
                if (end == p || (*end && *end != ',') || !isfinite(x) || n >= MAX_STRENGTHS) {
                    rc = usage_error("--sweep \"%s\": strengths must be 1 to 64 comma-separated numbers%s", v, "");
                    goto done;
                }
                sw_s[nsweeps][n++] = x;
                p = *end ? end + 1 : end;
            }
            if (!n) {
                rc = usage_error("--sweep \"%s\": no strength%s", v, "");
                goto done;
            }
            sw_n[nsweeps++] = n;
        } else if ((!strcmp(a, "--step") || !strcmp(a, "--batch") || !strcmp(a, "--bootstrap") ||
                    !strcmp(a, "--seed")) && has) {
            char *end;
            const char *v = argv[++i];
            if (!strcmp(a, "--step")) {
                step = strtod(v, &end);
                if (*end || !(step > 0 && step <= 1)) {
                    rc = usage_error("--step %s: expected a number in (0, 1]%s", v, "");
                    goto done;
                }
            } else {
                long long x = strtoll(v, &end, 10);
                bool okv = !*end && *v && x >= (strcmp(a, "--seed") ? 1 : 0) && x <= (!strcmp(a, "--batch") ? 1024 : 1000000);
                if (!okv) {
                    rc = usage_error("%s %s: expected a non-negative integer in range", a, v);
                    goto done;
                }
                if (!strcmp(a, "--batch")) batch = (int)x;
                else if (!strcmp(a, "--bootstrap")) resamples = x;
                else seed = (unsigned long long)x;
            }
        } else {
            rc = usage_error("unknown option or missing value: %s%s", a, "");
            goto done;
        }
    }
    if (!ckpt || !out || (!nsets && !config)) {
        fprintf(stderr, "medcl eval: %s\n\n", !ckpt ? "--checkpoint is required" : !out ? "--out is required"
                                                                                       : "no --test set and no --config");
        eval_usage(stderr);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    for (int s = 0; s < nsets; s++)
        if (!ts[s].images[0] && !config) {
            rc = usage_error("--test %s: a domain name needs --config (else use NAME=IMAGES_DIR:LABELS_DIR)%s",
                             ts[s].name, "");
            goto done;
        }

    /* the model */
    st = cli_eval_model_open(ckpt, device, batch, &m);
    if (st != MEDCL_OK) goto fail;
    const cli_config *mc = cli_eval_model_config(m);
    st = medcl_mkdir_p(out);
    if (st != MEDCL_OK) goto fail;

    /* domains of the config's dataset */
    if (config) {
        st = cli_config_load(config, NULL, 0, &dcfg);
        if (st != MEDCL_OK) goto fail;
        if (dcfg.dataset.kind != CLI_DATASET_NNUNET) {
            st = medcl_fail(MEDCL_ERR_UNSUPPORTED, "%s: $.dataset.kind = \"%s\": eval reads domains of \"nnunet\" "
                            "datasets only (use --test NAME=IMAGES_DIR:LABELS_DIR)", config,
                            cli_dataset_kind_str(dcfg.dataset.kind));
            goto fail;
        }
        medcl_dataset_options o = MEDCL_DATASET_OPTIONS_INIT;
        st = medcl_dataset_open(dcfg.dataset.path, &o, &cds);
        if (st != MEDCL_OK) goto fail;
        int nd = medcl_dataset_domain_count(cds);
        bool any = false;
        for (int s = 0; s < nsets; s++) any |= !ts[s].images[0];
        if (!any) /* every domain */
            for (int k = 0; k < nd && nsets < MAX_SETS; k++) {
                const char *dn = medcl_dataset_domain_name(cds, k);
                snprintf(ts[nsets].name, sizeof ts[nsets].name, "%s", dn && *dn ? dn : "all");
                snprintf(ts[nsets].domain, sizeof ts[nsets].domain, "%s", ts[nsets].name);
                nsets++;
            }
    }

    /* load every set */
    for (int s = 0; s < nsets; s++) {
        test_set *t = &ts[s];
        medcl_dataset *ds = NULL;
        if (t->images[0]) {
            char root[CLI_PATH_MAX + 64];
            snprintf(root, sizeof root, "%s/.testset_%d", out, s);
            st = folder_dataset(t, mc, root);
            medcl_dataset_options o = MEDCL_DATASET_OPTIONS_INIT;
            if (st == MEDCL_OK) st = medcl_dataset_open(root, &o, &ds);
            int n = ds ? medcl_dataset_count(ds) : 0;
            free(idx);
            idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
            if (st == MEDCL_OK && !idx) st = medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "eval: out of memory");
            for (int i = 0; st == MEDCL_OK && i < n; i++) idx[i] = i;
            if (st == MEDCL_OK) st = load_cases(t, ds, idx, n, mc);
            medcl_dataset_destroy(ds);
            if (st == MEDCL_OK && n == 0)
                st = medcl_fail(MEDCL_ERR_FORMAT, "--test %s: no case in %s", t->name, t->labels);
        } else {
            int k = medcl_dataset_domain_find(cds, t->name);
            if (k < 0 && !strcmp(t->name, "all") && medcl_dataset_domain_count(cds) == 1) k = 0;
            if (k < 0) {
                char list[1024];
                size_t len = 0;
                list[0] = 0;
                for (int j = 0; j < medcl_dataset_domain_count(cds) && len < sizeof list; j++)
                    len += (size_t)snprintf(list + len, sizeof list - len, "%s\"%s\"", j ? ", " : "",
                                            medcl_dataset_domain_name(cds, j));
                st = medcl_fail(MEDCL_ERR_FORMAT, "--test %s: no such domain in %s (domains: %s)", t->name,
                                dcfg.dataset.path, list);
                goto fail;
            }
            int n = medcl_dataset_count(cds), c = 0;
            free(idx);
            idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
            if (!idx) {
                st = medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "eval: out of memory");
                goto fail;
            }
            for (int i = 0; i < n; i++)
                if (medcl_dataset_case(cds, i)->domain == k) idx[c++] = i;
            if (!c) {
                st = medcl_fail(MEDCL_ERR_FORMAT, "--test %s: domain has no labelled case in %s", t->name,
                                dcfg.dataset.path);
                goto fail;
            }
            st = load_cases(t, cds, idx, c, mc);
        }
        if (st != MEDCL_OK) goto fail;
    }

    /* in-domain sets */
    for (int s = 0; s < nsets; s++) {
        for (int k = 0; k < n_in; k++) ts[s].in_domain |= !strcmp(in_names[k], ts[s].name);
        if (!n_in)
            for (int k = 0; k < mc->dataset.n_train_domains; k++)
                ts[s].in_domain |= !strcmp(mc->dataset.train_domains[k], ts[s].domain);
    }
    for (int k = 0; k < n_in; k++) {
        bool found = false;
        for (int s = 0; s < nsets; s++) found |= !strcmp(in_names[k], ts[s].name);
        if (!found) {
            rc = usage_error("--domain-of-training %s: no test set of that name%s", in_names[k], "");
            goto done;
        }
    }
    int ref = -1;
    for (int s = 0; s < nsets && ref < 0; s++)
        if (ts[s].in_domain) ref = s;
    if (ref < 0) {
        ts[0].in_domain = 1;
        ref = 0;
    }
    for (int s = 0; s < nsets; s++) {
        memset(&sets[s], 0, sizeof sets[s]);
        sets[s].name = ts[s].name;
        sets[s].domain = ts[s].domain;
        sets[s].in_domain = ts[s].in_domain;
        sets[s].cases = ts[s].cases;
        sets[s].num_cases = ts[s].n;
    }

    /* simulated scanners: shifted copies made by the library (released at the end) */
    medcl_context *ctx = cli_eval_model_context(m);
    for (int j = 0; j < nshift; j++) {
        const char *v = shift_spec[j], *eq = strchr(v, '='), *colon = eq ? strchr(eq, ':') : NULL;
        medcl_eval_shift sh[MEDCL_EVAL_MAX_SHIFTS];
        int nsh = 0, src = -1;
        char name[128];
        if (!eq || !colon || eq == v || (size_t)(eq - v) >= sizeof name) {
            rc = usage_error("--shift \"%s\": expected NAME=SET:KIND=S[,KIND=S...]%s", v, "");
            goto done;
        }
        snprintf(name, sizeof name, "%.*s", (int)(eq - v), v);
        for (int s = 0; s < nsets; s++)
            if (strlen(ts[s].name) == (size_t)(colon - eq - 1) && !strncmp(ts[s].name, eq + 1, (size_t)(colon - eq - 1)))
                src = s;
        if (src < 0) {
            rc = usage_error("--shift \"%s\": no --test set of that name before the ':'%s", v, "");
            goto done;
        }
        for (const char *p = colon + 1; *p;) {
            const char *e2 = strchr(p, '=');
            char *end = NULL;
            if (!e2 || nsh >= MEDCL_EVAL_MAX_SHIFTS || !parse_kind(p, (size_t)(e2 - p), &sh[nsh].kind) ||
                ((sh[nsh].strength = strtod(e2 + 1, &end)), end == e2 + 1) || (*end && *end != ',')) {
                rc = usage_error("--shift \"%s\": expected KIND=STRENGTH pairs separated by ',' (at most 8)%s", v, "");
                goto done;
            }
            nsh++;
            p = *end ? end + 1 : end;
        }
        if (!nsh) {
            rc = usage_error("--shift \"%s\": no transform%s", v, "");
            goto done;
        }
        st = medcl_eval_set_shift(ctx, &sets[src], sh, nsh, seed, name, &sets[nsets + nlib]);
        if (st != MEDCL_OK) goto fail;
        nlib++;
    }
    if (scanners) {
        int nsc = 0;
        const medcl_eval_scanner *sc = medcl_eval_scanners(&nsc);
        for (int j = 0; j < nsc; j++) {
            st = medcl_eval_set_shift(ctx, &sets[ref], sc[j].shifts, sc[j].num_shifts, seed, sc[j].name,
                                      &sets[nsets + nlib]);
            if (st != MEDCL_OK) goto fail;
            nlib++;
        }
    }

    /* evaluate */
    medcl_infer_options io;
    cli_eval_model_infer(m, &io);
    if (step > 0) io.step = step;
    if (mirror) io.mirror_axes = MEDCL_INFER_MIRROR_ALL;
    medcl_eval_options eo = MEDCL_EVAL_OPTIONS_INIT;
    eo.bootstrap.num_resamples = resamples;
    eo.bootstrap.seed = seed;
    eo.surface_metrics = surface;
    eo.reference_set = ref;
    fprintf(stderr, "medcl eval: %s on %s, %d test set%s\n", ckpt, medcl_context_device(ctx)->name, nsets + nlib,
            nsets + nlib == 1 ? "" : "s");
    st = medcl_eval_run(ctx, cli_eval_predict, m, &io, sets, nsets + nlib, &eo, &res);
    if (st != MEDCL_OK) goto fail;
    for (int w = 0; w < nsweeps; w++) {
        medcl_eval_sweep_options so = MEDCL_EVAL_SWEEP_OPTIONS_INIT;
        so.kind = sw_kind[w];
        so.strengths = sw_s[w];
        so.num_strengths = sw_n[w];
        so.seed = seed;
        fprintf(stderr, "medcl eval: severity sweep of %s on %s\n", medcl_augment_kind_str(sw_kind[w]), ts[ref].name);
        st = medcl_eval_sweep(ctx, cli_eval_predict, m, &io, &sets[ref], &so, &eo, &sweeps[w]);
        if (st != MEDCL_OK) goto fail;
    }

    /* the report */
    {
        char model_txt[1024], train_txt[1024], sources[4096], csv[PATH_MAX + 32], title[CLI_PATH_MAX + 64];
        model_txt[0] = train_txt[0] = 0;
        cli_eval_model_describe(mc, model_txt, sizeof model_txt, train_txt, sizeof train_txt);
        size_t len = (size_t)snprintf(sources, sizeof sources, "Test sets:");
        for (int s = 0; s < nsets && len < sizeof sources; s++) {
            if (ts[s].images[0])
                len += (size_t)snprintf(sources + len, sizeof sources - len, " `%s` = images `%s`, labels `%s`%s;",
                                        ts[s].name, ts[s].images, ts[s].labels, ts[s].in_domain ? " (in domain)" : "");
            else
                len += (size_t)snprintf(sources + len, sizeof sources - len, " `%s` = domain of `%s`%s;", ts[s].name,
                                        dcfg.dataset.path, ts[s].in_domain ? " (in domain)" : "");
        }
        int ncurves = 0;
        snprintf(csv, sizeof csv, "%s", ckpt);
        char *sl = strrchr(csv, '/');
        snprintf(sl ? sl + 1 : csv, sizeof csv - (size_t)(sl ? sl + 1 - csv : 0), "curves.csv");
        struct stat sb;
        if (stat(csv, &sb) == 0 && cli_eval_curves_load(csv, curves, &ncurves, &curve_buf) != MEDCL_OK) ncurves = 0;
        const char *seed_names[2] = {"training", "bootstrap_and_shifts"};
        uint64_t seeds[2] = {mc->seed, seed};
        const char *split_names[2 * MAX_SETS + 8];
        int64_t split_counts[2 * MAX_SETS + 8];
        for (int s = 0; s < nsets; s++) {
            split_names[s] = ts[s].name;
            split_counts[s] = ts[s].n;
        }
        snprintf(title, sizeof title, "medcl evaluation: %s", ckpt);
        medcl_eval_run_info info = MEDCL_EVAL_RUN_INFO_INIT;
        info.title = title;
        info.ctx = ctx;
        info.config_json = cli_eval_model_json(m);
        info.num_seeds = 2;
        info.seed_names = seed_names;
        info.seeds = seeds;
        for (int s = nsets; s < nsets + nlib; s++) {
            split_names[s] = sets[s].name;
            split_counts[s] = sets[s].num_cases;
            if (len < sizeof sources)
                len += (size_t)snprintf(sources + len, sizeof sources - len, " `%s` = simulated scanner (a shifted copy);",
                                        sets[s].name);
        }
        info.num_splits = nsets + nlib;
        info.split_names = split_names;
        info.split_counts = split_counts;
        info.data_sources = sources;
        info.preprocessing = "Each channel normalized with the checkpoint's scheme (dataset.normalization); no "
                             "resampling; sliding-window inference with Gaussian weights, argmax labels.";
        info.model = model_txt;
        info.num_parameters = cli_eval_model_params(m);
        info.training = train_txt;
        info.model_selection = "The checkpoint given on the command line.";
        info.curves = ncurves ? curves : NULL;
        info.num_curves = ncurves;
        info.curves_x_label = "step";
        info.curves_y_label = "loss / Dice";
        st = medcl_eval_report_write(out, &info, res, (const medcl_eval_sweep_result *const *)sweeps, nsweeps);
        if (st != MEDCL_OK) goto fail;
    }
    cli_eval_print(stdout, res, (const medcl_eval_sweep_result *const *)sweeps, nsweeps, json, out);
    goto done;
fail:
    rc = cli_report("eval", st);
done:
    for (int w = 0; w < MAX_SWEEPS; w++) medcl_eval_sweep_free(sweeps[w]);
    for (int j = 0; j < nlib; j++) medcl_eval_set_release(&sets[nsets + j]);
    medcl_eval_results_free(res);
    for (int s = 0; s < MAX_SETS; s++) test_set_free(&ts[s]);
    free(ts);
    free(idx);
    free(curve_buf);
    medcl_dataset_destroy(cds);
    cli_config_free(&dcfg);
    cli_eval_model_close(m);
    return rc;
}
