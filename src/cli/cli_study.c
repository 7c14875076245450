/* src/cli/cli_study.c — `medcl demo --study generalization [--quick]`: a small study of
 * generalization and continual learning driven through the trainer (trainer.c) with one
 * config per run, and its report folder.
 *
 *   1. regularizers (domain generalization): baseline, dropout, mixup, cutmix and FGSM
 *      adversarial training, each trained on the source domain and tested on every domain
 *      (held-out test slices; the other domains are simulated scanners of the same slices),
 *      with bootstrap intervals and the Dice under FGSM at two radii;
 *   2. leave-one-domain-out on the three-domain synthetic set (sites a, b, c): train on two
 *      sites, test on the third (and the in-domain test slices);
 *   3. continual learning over a domain sequence: fine-tuning, EWC, LwF, replay → R[i][j],
 *      ACC, BWT, FWT, forgetting, and a heat map of R per method.
 * Data: the ch2 demo slices (medcl/sample_data.h; the phantom when absent) with the simulated
 * scanners clean, bias_field, noise, contrast_gamma, blur_lowres, and the phantom with the
 * three site profiles. Output: OUT/report.md, OUT/report.json, OUT/fig_*.svg, OUT/runs/<run>/.
 * --quick runs the phantom parts only at toy sizes (a smoke test of the whole path).
 * Leaves out: several seeds per run, intervals for BWT/FWT (one run per method). */
#include "cli.h"
#include "cli/config.h"
#include "cli/trainer.h"

#include "core/internal.h"
#include "medcl/report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct study {
    bool quick;
    const char *out;
    const char *device;
    uint64_t seed;
    char base_brain[2048];  /* common config parts per data set */
    char base_phantom[2048];
    cJSON *report;          /* report.json */
    medcl_md *md;
    int runs;
    double train_seconds;
} study;

/* Runs one training from config text (JSON); returns the run folder in dir. */
static medcl_status run_one(study *s, const char *name, const char *json, char *dir, size_t cap) {
    cli_config c;
    cli_config_init(&c);
    snprintf(dir, cap, "%s/runs/%s", s->out, name);
    medcl_status st = cli_config_parse(json, strlen(json), name, NULL, 0, &c);
    if (st != MEDCL_OK) return st;
    snprintf(c.output, sizeof c.output, "%s", dir);
    if (s->device) snprintf(c.device, sizeof c.device, "%s", s->device);
    cli_train_options o = {false, false, true, NULL, 0};
    fprintf(stderr, "medcl study: run %d: %s\n", ++s->runs, name);
    double t0 = medcl_now();
    st = cli_train_run(&c, &o);
    s->train_seconds += medcl_now() - t0;
    cli_config_free(&c);
    return st;
}

static cJSON *read_json(const char *dir, const char *file) {
    char path[2400];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    void *data = NULL;
    size_t n = 0;
    if (medcl_file_read_all(path, (size_t)64 << 20, &data, &n) != MEDCL_OK) return NULL;
    cJSON *j = cJSON_ParseWithLength(data, n);
    free(data);
    if (!j) medcl_fail(MEDCL_ERR_FORMAT, "%s: malformed JSON", path);
    return j;
}

static double jnum(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void fmt_ci(char *buf, size_t cap, const cJSON *ci) {
    medcl_ci c = {jnum(ci, "estimate"), jnum(ci, "lower"), jnum(ci, "upper"), (int64_t)jnum(ci, "n"), 0};
    if (!ci) snprintf(buf, cap, "n/a");
    else medcl_md_format_ci(buf, cap, &c, 3);
}

/* ------------------------------------------------------------------ 1. regularizers */

typedef struct variant {
    const char *name, *what, *json;
} variant;

static const variant VARIANTS[] = {
    {"baseline", "no regularizer", ""},
    {"dropout", "dropout 0.2 in every stage", ", \"regularizers\": {\"dropout\": 0.2}"},
    {"mixup", "mixup alpha 0.4, p 0.5", ", \"regularizers\": {\"mixup\": {\"alpha\": 0.4, \"p\": 0.5}}"},
    {"cutmix", "cutmix alpha 1, p 0.5", ", \"regularizers\": {\"cutmix\": {\"alpha\": 1.0, \"p\": 0.5}}"},
    {"adversarial_fgsm", "FGSM training eps 0.05, weight 0.5",
     ", \"regularizers\": {\"adversarial\": {\"method\": \"fgsm\", \"epsilon\": 0.05, \"weight\": 0.5}}"},
};
#define NVARIANTS ((int)(sizeof VARIANTS / sizeof VARIANTS[0]))

static medcl_status study_regularizers(study *s, const char *tag, const char *set, const char *base, const char *source) {
    medcl_status st = MEDCL_OK;
    char json[8192], dir[2400], name[128];
    cJSON *ev[NVARIANTS] = {NULL};
    char **cells = NULL;
    char key[64];
    snprintf(key, sizeof key, "regularizers_%s", tag);
    cJSON *arr = cJSON_AddArrayToObject(s->report, key);
    for (int v = 0; v < NVARIANTS; v++) {
        snprintf(json, sizeof json,
                 "{%s, \"dataset\": {%s, \"train_domains\": [\"%s\"]}, \"evaluation\": {\"domains\": true, "
                 "\"robustness\": {\"method\": \"fgsm\", \"epsilon\": [0.05, 0.1]}}%s}",
                 base, set, source, VARIANTS[v].json);
        /* set is the dataset members; base the rest (task, model, training, ...) */
        snprintf(name, sizeof name, "%s_%s", tag, VARIANTS[v].name);
        MEDCL_TRY(run_one(s, name, json, dir, sizeof dir));
        ev[v] = read_json(dir, "evaluation.json");
        if (!ev[v]) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s/evaluation.json missing or malformed", dir);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "variant", VARIANTS[v].name);
        cJSON_AddStringToObject(o, "description", VARIANTS[v].what);
        cJSON_AddItemToObject(o, "evaluation", cJSON_Duplicate(ev[v], 1));
        cJSON_AddItemToArray(arr, o);
    }
    /* table: variant x domain, then mean over held-out domains and FGSM robustness */
    const cJSON *doms = cJSON_GetObjectItemCaseSensitive(ev[0], "domains");
    int nd = cJSON_GetArraySize(doms);
    int cols = 1 + nd + 3;
    const char *header[32];
    char hbuf[32][80];
    header[0] = "variant";
    for (int j = 0; j < nd && j < 24; j++) {
        const cJSON *d = cJSON_GetArrayItem(doms, j);
        snprintf(hbuf[j], sizeof hbuf[j], "%s%s", cJSON_GetObjectItemCaseSensitive(d, "name")->valuestring,
                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "in_domain")) ? " (source)" : "");
        header[1 + j] = hbuf[j];
    }
    header[1 + nd] = "mean held-out";
    header[2 + nd] = "FGSM eps 0.05";
    header[3 + nd] = "FGSM eps 0.1";
    cells = calloc((size_t)(NVARIANTS * cols), sizeof *cells);
    if (!cells) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "study: out of memory");
    for (int v = 0; v < NVARIANTS; v++) {
        char buf[128];
        cells[v * cols] = strdup(VARIANTS[v].name);
        const cJSON *dv = cJSON_GetObjectItemCaseSensitive(ev[v], "domains");
        double sum = 0;
        int cnt = 0;
        for (int j = 0; j < nd; j++) {
            const cJSON *d = cJSON_GetArrayItem(dv, j), *ci = cJSON_GetObjectItemCaseSensitive(d, "dice");
            fmt_ci(buf, sizeof buf, ci);
            cells[v * cols + 1 + j] = strdup(buf);
            if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "in_domain")) && isfinite(jnum(ci, "estimate"))) {
                sum += jnum(ci, "estimate");
                cnt++;
            }
        }
        medcl_md_format_number(buf, sizeof buf, cnt ? sum / cnt : NAN, 3);
        cells[v * cols + 1 + nd] = strdup(buf);
        const cJSON *rb = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev[v], "robustness"), "results");
        for (int e = 0; e < 2; e++) {
            const cJSON *r = cJSON_GetArrayItem(rb, e + 1);
            fmt_ci(buf, sizeof buf, r ? cJSON_GetObjectItemCaseSensitive(r, "dice") : NULL);
            cells[v * cols + 2 + nd + e] = strdup(buf);
        }
    }
    char title[256];
    snprintf(title, sizeof title, "Regularizers, %s data: trained on \"%s\", Dice on held-out test slices of every domain",
             !strcmp(tag, "demo") ? "demo (ch2 slices, simulated scanners)" : "synthetic three-site", source);
    MEDCL_TRY(medcl_md_heading(s->md, 2, title));
    MEDCL_TRY(medcl_md_table(s->md, NVARIANTS, cols, header, (const char *const *)cells, NULL));
    MEDCL_TRY(medcl_md_paragraph(s->md, "Mean foreground Dice with 95%% percentile-bootstrap intervals over the test "
                                 "slices; the FGSM columns attack the source domain's test slices."));
cleanup:
    if (cells)
        for (int i = 0; i < NVARIANTS * cols; i++) free(cells[i]);
    free(cells);
    for (int v = 0; v < NVARIANTS; v++) cJSON_Delete(ev[v]);
    return st;
}

/* ------------------------------------------------------------------ 2. leave one domain out */

static medcl_status study_lodo(study *s, const char *set, const char *base, const char *const *domains, int n) {
    medcl_status st = MEDCL_OK;
    char json[8192], dir[2400], name[128], buf[128];
    cJSON *arr = cJSON_AddArrayToObject(s->report, "leave_one_domain_out");
    char *cells[16 * 3] = {NULL};
    for (int h = 0; h < n; h++) {
        char train[512] = "";
        size_t len = 0;
        for (int j = 0; j < n; j++)
            if (j != h) len += (size_t)snprintf(train + len, sizeof train - len, "%s\"%s\"", len ? ", " : "", domains[j]);
        snprintf(json, sizeof json, "{%s, \"dataset\": {%s, \"train_domains\": [%s]}, \"evaluation\": {\"domains\": true}}",
                 base, set, train);
        snprintf(name, sizeof name, "lodo_%s", domains[h]);
        MEDCL_TRY(run_one(s, name, json, dir, sizeof dir));
        cJSON *ev = read_json(dir, "evaluation.json");
        if (!ev) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s/evaluation.json missing or malformed", dir);
        const cJSON *dv = cJSON_GetObjectItemCaseSensitive(ev, "domains");
        double in_sum = 0;
        int in_n = 0;
        cells[h * 3] = strdup(domains[h]);
        for (int j = 0; j < cJSON_GetArraySize(dv); j++) {
            const cJSON *d = cJSON_GetArrayItem(dv, j), *ci = cJSON_GetObjectItemCaseSensitive(d, "dice");
            if (!strcmp(cJSON_GetObjectItemCaseSensitive(d, "name")->valuestring, domains[h])) {
                fmt_ci(buf, sizeof buf, ci);
                cells[h * 3 + 1] = strdup(buf);
            } else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "in_domain"))) {
                in_sum += jnum(ci, "estimate");
                in_n++;
            }
        }
        medcl_md_format_number(buf, sizeof buf, in_n ? in_sum / in_n : NAN, 3);
        cells[h * 3 + 2] = strdup(buf);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "held_out", domains[h]);
        cJSON_AddItemToObject(o, "evaluation", ev);
        cJSON_AddItemToArray(arr, o);
    }
    const char *header[3] = {"held-out domain", "Dice on held-out [95% CI]", "mean in-domain Dice"};
    MEDCL_TRY(medcl_md_heading(s->md, 2, "Leave one domain out (synthetic three-site set, baseline model)"));
    MEDCL_TRY(medcl_md_table(s->md, n, 3, header, (const char *const *)cells, NULL));
cleanup:
    for (int i = 0; i < 16 * 3; i++) free(cells[i]);
    return st;
}

/* ------------------------------------------------------------------ 3. continual */

static const char *const METHODS[] = {"finetune", "ewc", "lwf", "replay"};
#define NMETHODS 4

static medcl_status study_continual(study *s, const char *tag, const char *set, const char *base,
                                    const char *const *domains, int n) {
    medcl_status st = MEDCL_OK;
    char json[8192], dir[2400], name[128], seq[512] = "", buf[64];
    size_t len = 0;
    char *cells[NMETHODS * 5] = {NULL};
    for (int j = 0; j < n; j++) len += (size_t)snprintf(seq + len, sizeof seq - len, "%s\"%s\"", len ? ", " : "", domains[j]);
    char key[64];
    snprintf(key, sizeof key, "continual_%s", tag);
    cJSON *arr = cJSON_AddArrayToObject(s->report, key);
    char title[256];
    snprintf(title, sizeof title, "Continual learning, %s: %s", tag, seq);
    MEDCL_TRY(medcl_md_heading(s->md, 2, title));
    for (int m = 0; m < NMETHODS; m++) {
        const char *extra = m == 1 ? ", \"lambda\": 50.0" : m == 2 ? ", \"lambda\": 1.0, \"temperature\": 2.0"
                                                        : m == 3 ? ", \"replay_fraction\": 0.25" : "";
        snprintf(json, sizeof json, "{%s, \"dataset\": {%s}, \"continual\": {\"method\": \"%s\", \"domains\": [%s]%s}}",
                 base, set, METHODS[m], seq, extra);
        snprintf(name, sizeof name, "continual_%s_%s", tag, METHODS[m]);
        MEDCL_TRY(run_one(s, name, json, dir, sizeof dir));
        cJSON *cj = read_json(dir, "continual.json");
        if (!cj) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s/continual.json missing or malformed", dir);
        /* heat map of R into the report folder */
        const cJSON *R = cJSON_GetObjectItemCaseSensitive(cj, "R");
        double vals[16 * 16];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                const cJSON *x = cJSON_GetArrayItem(cJSON_GetArrayItem(R, i), j);
                vals[i * n + j] = cJSON_IsNumber(x) ? x->valuedouble : NAN;
            }
        char path[2400], fig[128], t2[160];
        snprintf(fig, sizeof fig, "fig_continual_%s_%s.svg", tag, METHODS[m]);
        snprintf(path, sizeof path, "%s/%s", s->out, fig);
        snprintf(t2, sizeof t2, "Dice R[i][j], %s, %s", METHODS[m], tag);
        MEDCL_TRY(cli_write_heatmap(path, t2, vals, n, n, domains, domains));
        MEDCL_TRY(medcl_md_image(s->md, t2, fig));
        cells[m * 5] = strdup(METHODS[m]);
        const char *k[4] = {"acc", "bwt", "fwt", "forgetting"};
        for (int q = 0; q < 4; q++) {
            medcl_md_format_number(buf, sizeof buf, jnum(cj, k[q]), 3);
            cells[m * 5 + 1 + q] = strdup(buf);
        }
        cJSON_AddStringToObject(cj, "figure", fig);
        cJSON_AddItemToArray(arr, cj);
    }
    const char *header[5] = {"method", "ACC (mean Dice after the last stage)", "BWT", "FWT", "forgetting"};
    MEDCL_TRY(medcl_md_table(s->md, NMETHODS, 5, header, (const char *const *)cells, NULL));
    MEDCL_TRY(medcl_md_paragraph(s->md, "R[i][j]: mean Dice on domain j's test slices after stage i (intervals per "
                                 "entry in report.json). BWT < 0 means forgetting; FWT is measured against the "
                                 "randomly initialized model (Lopez-Paz & Ranzato 2017)."));
cleanup:
    for (int i = 0; i < NMETHODS * 5; i++) free(cells[i]);
    return st;
}

/* ------------------------------------------------------------------ entry */

int cli_study(int argc, char **argv) {
    study s;
    memset(&s, 0, sizeof s);
    const char *name = NULL;
    s.out = "study_generalization";
    for (int i = 1; i < argc; i++) {
        if (cli_is(argv[i], "--help", "-h")) {
            printf("usage: medcl demo --study generalization [--quick] [--out DIR] [--device SEL] [--seed N]\n"
                   "Trains and compares the baseline, regularizers (dropout, mixup, cutmix, FGSM adversarial\n"
                   "training) and continual-learning methods (fine-tuning, EWC, LwF, replay) on the demo slices\n"
                   "with simulated scanners and on a three-site synthetic set; writes DIR/report.md,\n"
                   "DIR/report.json and heat maps. --quick: toy sizes, synthetic data only.\n");
            return CLI_EXIT_OK;
        } else if (cli_is(argv[i], "--study", NULL) && i + 1 < argc) {
            name = argv[++i];
        } else if (cli_is(argv[i], "--quick", NULL)) {
            s.quick = true;
        } else if (cli_is(argv[i], "--out", "-o") && i + 1 < argc) {
            s.out = argv[++i];
        } else if (cli_is(argv[i], "--device", "-d") && i + 1 < argc) {
            s.device = argv[++i];
        } else if (cli_is(argv[i], "--seed", NULL) && i + 1 < argc) {
            s.seed = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "generalization") && !name) {
            name = argv[i];
        } else {
            fprintf(stderr, "medcl demo --study: unknown option \"%s\"\n", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    if (name && strcmp(name, "generalization")) {
        fprintf(stderr, "medcl demo --study: unknown study \"%s\" (available: generalization)\n", name);
        return CLI_EXIT_USAGE;
    }
    double t0 = medcl_now();
    medcl_status st = MEDCL_OK;
    MEDCL_TRY(medcl_mkdir_p(s.out));
    MEDCL_TRY(medcl_report_json_root(&s.report));
    MEDCL_TRY(medcl_md_create(&s.md));
    /* small settings: 2 CPU cores, PoCL */
    const char *model = s.quick ? "\"model\": {\"levels\": 3, \"features\": 4, \"convs_per_stage\": 1, \"deep_supervision\": false}"
                                : "\"model\": {\"levels\": 4, \"features\": 8, \"convs_per_stage\": 2, \"deep_supervision\": true}";
    const char *training = s.quick ? "\"training\": {\"epochs\": 1, \"iterations\": 3, \"batch\": 2, \"threads\": 1, \"prefetch\": 2}"
                                   : "\"training\": {\"epochs\": 3, \"iterations\": 20, \"batch\": 4, \"threads\": 1, \"prefetch\": 2}";
    snprintf(s.base_phantom, sizeof s.base_phantom,
             "\"task\": \"segmentation\", %s, %s, \"augmentation\": \"none\", \"optimizer\": {\"kind\": \"adam\", "
             "\"lr\": 0.003, \"weight_decay\": 0.0001}, \"validation\": {\"every\": 0}, \"seed\": %llu",
             model, training, (unsigned long long)s.seed);
    snprintf(s.base_brain, sizeof s.base_brain, "%s", s.base_phantom);
    const char *phantom_set = s.quick ? "\"kind\": \"phantom\", \"cases\": 12, \"size\": 32, \"folds\": 4, "
                                        "\"scanners\": [\"site_a\", \"site_b\", \"site_c\"]"
                                      : "\"kind\": \"phantom\", \"cases\": 32, \"size\": 64, \"folds\": 4, "
                                        "\"scanners\": [\"site_a\", \"site_b\", \"site_c\"]";
    const char *brain_set = "\"kind\": \"demo-brain\", \"downsample\": 4, \"folds\": 4, "
                            "\"scanners\": [\"clean\", \"bias_field\", \"noise\", \"contrast_gamma\", \"blur_lowres\"]";
    const char *sites[3] = {"site_a", "site_b", "site_c"};
    const char *brain_seq[4] = {"clean", "noise", "contrast_gamma", "bias_field"};
    MEDCL_TRY(medcl_md_heading(s.md, 1, "medcl study: generalization and continual learning"));
    MEDCL_TRY(medcl_md_paragraph(s.md, "%s settings. Models: 2D U-Net (%s); Adam lr 0.003, no augmentation; every run "
                                 "is a `medcl train` config (runs/<name>/config.json). Domains are simulated "
                                 "scanners applied at fixed strengths to the same slices; a 4-fold split of each "
                                 "domain's slices holds out the same test slices in every domain.",
                                 s.quick ? "Quick (toy)" : "Small", model));
    if (!s.quick) MEDCL_TRY(study_regularizers(&s, "demo", brain_set, s.base_brain, "clean"));
    MEDCL_TRY(study_regularizers(&s, "synthetic", phantom_set, s.base_phantom, "site_a"));
    MEDCL_TRY(study_lodo(&s, phantom_set, s.base_phantom, sites, 3));
    MEDCL_TRY(study_continual(&s, "synthetic", phantom_set, s.base_phantom, sites, 3));
    if (!s.quick) MEDCL_TRY(study_continual(&s, "demo", brain_set, s.base_brain, brain_seq, 4));
    double wall = medcl_now() - t0;
    MEDCL_TRY(medcl_md_heading(s.md, 2, "Compute"));
    MEDCL_TRY(medcl_md_paragraph(s.md, "%d training runs; wall time %.1f s (training and evaluation %.1f s).", s.runs,
                                 wall, s.train_seconds));
    cJSON_AddStringToObject(s.report, "study", "generalization");
    cJSON_AddBoolToObject(s.report, "quick", s.quick);
    cJSON_AddNumberToObject(s.report, "runs", s.runs);
    cJSON_AddNumberToObject(s.report, "wall_seconds", wall);
    {
        char path[2400];
        snprintf(path, sizeof path, "%s/report.json", s.out);
        MEDCL_TRY(medcl_report_json_write(s.report, path));
        snprintf(path, sizeof path, "%s/report.md", s.out);
        MEDCL_TRY(medcl_md_write(s.md, path));
    }
    printf("study: %d runs in %.1f s; report in %s/report.md\n", s.runs, wall, s.out);
cleanup:
    cJSON_Delete(s.report);
    medcl_md_destroy(s.md);
    return st == MEDCL_OK ? CLI_EXIT_OK : cli_report("demo --study", st);
}
